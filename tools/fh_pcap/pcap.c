/*
 * pcap: classic (libpcap 2.4) capture files, written and read by fh-pcap itself so
 * that its output is the same bytes on any host and its input is checked byte by
 * byte. Output is little-endian with microsecond timestamps and Ethernet framing;
 * input may be either byte order, micro- or nanosecond, or pcapng (read by pcapng.c).
 * Output files are opened with out_file_open, which refuses what someone else may have
 * left at the name.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fh_pcap.h"

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du
#define PCAP_SNAPLEN 65535
#define PCAP_LINKTYPE_ETHERNET 1

/*
 * Opens an output file to be written from its start. The path may be in a directory
 * others can write (/tmp), where they can leave anything at the name first: never
 * through a symbolic link, never a FIFO or device, never another user's file or one
 * with other names (each would be truncated for whoever it belongs to). A stream, or
 * NULL with a message printed.
 */
FILE *out_file_open(const char *path)
{
	struct stat st;
	FILE *f;
	int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);

	if (fd < 0) {
		/* ENXIO: a FIFO nobody reads, opened without waiting for one. */
		fprintf(stderr, "fh-pcap: cannot create %s: %s\n", path,
			errno == ELOOP ? "a symbolic link: refused" :
			errno == ENXIO ? "a FIFO: refused" : strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1) {
		fprintf(stderr, "fh-pcap: %s: refused: not a regular file of uid %u with one name (remove "
			"what is there, or write elsewhere)\n", path, (unsigned)geteuid());
		close(fd);
		return NULL;
	}
	if (ftruncate(fd, 0) != 0 || fcntl(fd, F_SETFL, 0) != 0 || (f = fdopen(fd, "wb")) == NULL) {
		fprintf(stderr, "fh-pcap: %s: %s\n", path, strerror(errno));
		close(fd);
		return NULL;
	}
	return f;
}

/*
 * Creates path and writes the file header, little-endian byte by byte so output is
 * host independent. Returns 0, or -EPERM / -EIO after printing why; w->path is set
 * only once the file is ours, so a caller removes it on failure only then.
 */
int pcap_writer_open(struct pcap_writer *w, const char *path)
{
	uint8_t header[24] = { 0 };

	w->path = NULL;		/* set once the file is ours: only then is it removed on failure */
	w->packets = 0;
	w->file = out_file_open(path);
	if (!w->file)
		return -EPERM;
	w->path = path;
	put_le32(header, PCAP_MAGIC_US);
	header[4] = 2;			/* version 2.4 */
	header[6] = 4;
	put_le32(header + 16, PCAP_SNAPLEN);
	put_le32(header + 20, PCAP_LINKTYPE_ETHERNET);
	if (fwrite(header, sizeof(header), 1, w->file) != 1) {
		fprintf(stderr, "fh-pcap: write %s: %s\n", path, strerror(errno));
		return -EIO;
	}
	return 0;
}

/* Appends one record (caplen bytes of frame captured, wire_len on the wire). 0 or -EIO. */
int pcap_writer_put(struct pcap_writer *w, uint64_t ts_us, const uint8_t *frame,
		    uint32_t caplen, uint32_t wire_len)
{
	uint8_t record[16];

	assert(caplen <= wire_len || wire_len == 0);
	put_le32(record, (uint32_t)(ts_us / 1000000));
	put_le32(record + 4, (uint32_t)(ts_us % 1000000));
	put_le32(record + 8, caplen);
	put_le32(record + 12, wire_len);
	if (fwrite(record, sizeof(record), 1, w->file) != 1 ||
	    (caplen && fwrite(frame, caplen, 1, w->file) != 1)) {
		fprintf(stderr, "fh-pcap: write %s: %s\n", w->path, strerror(errno));
		return -EIO;
	}
	w->packets++;
	return 0;
}

/* Closes the file if open (a second call does nothing). 0 or -EIO after printing why. */
int pcap_writer_close(struct pcap_writer *w)
{
	if (!w->file)
		return 0;
	if (fclose(w->file) != 0) {
		w->file = NULL;
		fprintf(stderr, "fh-pcap: close %s: %s\n", w->path, strerror(errno));
		return -EIO;
	}
	w->file = NULL;
	return 0;
}

static uint32_t read_u32_order(const uint8_t *p, bool big_endian)
{
	if (big_endian)
		return wire_be32(p);
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* What the file header of a capture says about its records. */
struct pcap_format {
	bool big_endian;
	bool nanoseconds;
	uint32_t snaplen;		/* bound on a record's captured length */
};

/* Reads and checks the file header of f. 0, or -EINVAL after printing why. */
static int pcap_header_read(FILE *f, const char *path, struct pcap_format *fmt)
{
	uint8_t header[24];
	uint32_t magic;

	if (fread(header, sizeof(header), 1, f) != 1) {
		fprintf(stderr, "fh-pcap: %s: short pcap file header\n", path);
		return -EINVAL;
	}
	magic = read_u32_order(header, false);
	fmt->big_endian = magic != PCAP_MAGIC_US && magic != PCAP_MAGIC_NS;
	if (fmt->big_endian)
		magic = read_u32_order(header, true);
	if (magic != PCAP_MAGIC_US && magic != PCAP_MAGIC_NS) {
		fprintf(stderr, "fh-pcap: %s: neither a classic pcap nor a pcapng file\n", path);
		return -EINVAL;
	}
	fmt->nanoseconds = magic == PCAP_MAGIC_NS;
	fmt->snaplen = read_u32_order(header + 16, fmt->big_endian);
	if (fmt->snaplen == 0 || fmt->snaplen > PCAP_RECORD_MAX)	/* unset or unusual: the absolute bound */
		fmt->snaplen = PCAP_RECORD_MAX;
	if ((read_u32_order(header + 20, fmt->big_endian) & 0xffff) != PCAP_LINKTYPE_ETHERNET) {
		fprintf(stderr, "fh-pcap: %s: link type %u is not Ethernet\n", path,
			read_u32_order(header + 20, fmt->big_endian));
		return -EINVAL;
	}
	return 0;
}

struct pcap_packet *pcap_capture_add(struct pcap_capture *cap, const char *path, uint32_t caplen)
{
	struct pcap_packet *pkt;

	if (cap->count == cap->capacity) {
		size_t capacity = cap->capacity ? cap->capacity * 2 : 1024;
		void *grown = realloc(cap->packets, capacity * sizeof(*cap->packets));

		if (!grown) {
			fprintf(stderr, "fh-pcap: out of memory reading %s\n", path);
			return NULL;
		}
		cap->packets = grown;
		cap->capacity = capacity;
	}
	pkt = &cap->packets[cap->count];
	memset(pkt, 0, sizeof(*pkt));
	pkt->caplen = caplen;
	pkt->data = malloc(caplen ? caplen : 1);
	if (!pkt->data) {
		fprintf(stderr, "fh-pcap: out of memory reading %s\n", path);
		return NULL;
	}
	cap->count++;
	return pkt;
}

/*
 * Reads the records of f after its header into cap; counts in *short_wire those whose
 * original length was below the captured length. 0, or -errno after printing why.
 */
static int pcap_records_read(struct pcap_capture *cap, FILE *f, const char *path,
			     const struct pcap_format *fmt, uint64_t *short_wire)
{
	uint8_t record[16];
	uint64_t offset = 24;

	for (;;) {
		struct pcap_packet *pkt;
		size_t n = fread(record, 1, sizeof(record), f);
		uint32_t caplen;

		if (n == 0)
			break;
		if (n != sizeof(record)) {
			fprintf(stderr, "fh-pcap: %s: truncated record header at byte offset %" PRIu64 "\n",
				path, offset);
			return -EINVAL;
		}
		caplen = read_u32_order(record + 8, fmt->big_endian);
		if (caplen > fmt->snaplen) {
			fprintf(stderr, "fh-pcap: %s: record length %u at byte offset %" PRIu64 " exceeds the "
				"snapshot length %u: corrupt file\n", path, caplen, offset, fmt->snaplen);
			return -EINVAL;
		}
		pkt = pcap_capture_add(cap, path, caplen);
		if (!pkt)
			return -ENOMEM;
		pkt->ts_us = (uint64_t)read_u32_order(record, fmt->big_endian) * 1000000 +
			     read_u32_order(record + 4, fmt->big_endian) / (fmt->nanoseconds ? 1000 : 1);
		pkt->wire_len = read_u32_order(record + 12, fmt->big_endian);
		if (pkt->wire_len < caplen) {
			pkt->wire_len = caplen;
			(*short_wire)++;
		}
		if (caplen && fread(pkt->data, caplen, 1, f) != 1) {
			fprintf(stderr, "fh-pcap: %s: truncated packet data at byte offset %" PRIu64 "\n",
				path, offset);
			return -EINVAL;
		}
		offset += sizeof(record) + caplen;
	}
	return 0;
}

/* Whether f starts with a pcapng Section Header Block; f is left at its start. */
static bool pcap_file_is_pcapng(FILE *f)
{
	uint8_t magic[4];
	bool pcapng = fread(magic, 1, sizeof(magic), f) == sizeof(magic) && wire_be32(magic) == 0x0a0d0d0au;

	rewind(f);
	return pcapng;
}

/*
 * Loads a whole capture: a classic pcap (either byte order, micro- or nanosecond
 * timestamps, Ethernet only) or a pcapng (pcapng.c). Nothing in the file is trusted: a record longer
 * than the file's snapshot length (or PCAP_RECORD_MAX) or cut short is an error;
 * an original length below the captured length, which no capture can have, is
 * taken as the captured length (as fhd does) and the count of such records
 * printed. Returns 0 or -errno after printing the reason; cap is to be freed with
 * pcap_capture_free either way.
 */
int pcap_capture_load(struct pcap_capture *cap, const char *path)
{
	struct pcap_format fmt;
	uint64_t short_wire = 0;
	FILE *f;
	int err;

	memset(cap, 0, sizeof(*cap));
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "fh-pcap: cannot open %s: %s\n", path, strerror(errno));
		return -errno;
	}
	/* pcapng begins with a Section Header Block, the same bytes in either byte order. */
	if (pcap_file_is_pcapng(f)) {
		err = pcapng_capture_read(cap, f, path);
	} else {
		err = pcap_header_read(f, path, &fmt);
		if (!err)
			err = pcap_records_read(cap, f, path, &fmt, &short_wire);
	}
	if (!err && ferror(f)) {
		fprintf(stderr, "fh-pcap: read %s: %s\n", path, strerror(errno));
		err = -EIO;
	}
	if (!err && short_wire > 0)
		fprintf(stderr, "fh-pcap: %s: %" PRIu64 " records with an original length below their captured "
			"length, taken as the captured length\n", path, short_wire);
	fclose(f);
	return err;
}

void pcap_capture_free(struct pcap_capture *cap)
{
	for (size_t i = 0; i < cap->count; i++)
		free(cap->packets[i].data);
	free(cap->packets);
	memset(cap, 0, sizeof(*cap));
}
