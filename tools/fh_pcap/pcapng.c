/*
 * pcapng: reads pcapng captures (IETF draft "PCAP Now Generic"), fhd's own journal
 * among them, into the same packets a classic pcap gives (pcap_capture_load picks the
 * reader by the file's first bytes). Every section may have its own byte order and
 * interfaces; each interface its link type, snapshot length and timestamp resolution
 * (if_tsresol, decimal or binary) and offset (if_tsoffset). Enhanced and Simple Packet
 * Blocks carry packets; every other block is skipped by its length. Nothing in the
 * file is trusted: every length is checked against the block it is in, the block
 * against the file, and a packet's interface against the section's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fh_pcap.h"

#define PCAPNG_SHB 0x0a0d0d0au
#define PCAPNG_IDB 1u
#define PCAPNG_SPB 3u
#define PCAPNG_EPB 6u
#define PCAPNG_BYTE_ORDER_MAGIC 0x1a2b3c4du
#define PCAPNG_OPT_END 0
#define PCAPNG_OPT_IF_TSRESOL 9
#define PCAPNG_OPT_IF_TSOFFSET 14
#define PCAPNG_LINKTYPE_ETHERNET 1
#define PCAPNG_INTERFACES_MAX 4096	/* per section: more means a corrupt file */
#define PCAPNG_BLOCK_MAX (PCAP_RECORD_MAX + 65536)	/* a packet and its options */

struct pcapng_interface {
	uint16_t link_type;
	uint32_t snaplen;		/* 0: none */
	bool binary;			/* resolution 2^-exponent, else 10^-exponent seconds */
	uint8_t exponent;
	int64_t offset_s;		/* if_tsoffset: seconds added to every timestamp */
};

struct pcapng_reader {
	FILE *file;
	const char *path;
	uint64_t size;			/* of the file */
	uint64_t offset;		/* of the block being read */
	bool big_endian;		/* the current section's */
	struct pcapng_interface *interfaces;
	uint32_t interfaces_count;
	uint8_t *block;			/* the current block's body (after type and length) */
};

static uint32_t pcapng_u32(const struct pcapng_reader *r, const uint8_t *p)
{
	if (r->big_endian)
		return wire_be32(p);
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t pcapng_u16(const struct pcapng_reader *r, const uint8_t *p)
{
	return r->big_endian ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[0] | p[1] << 8);
}

static int pcapng_corrupt(const struct pcapng_reader *r, const char *what)
{
	fprintf(stderr, "fh-pcap: %s: pcapng block at byte offset %" PRIu64 ": %s: corrupt file\n", r->path,
		r->offset, what);
	return -EINVAL;
}

/*
 * An interface's options: if_tsresol and if_tsoffset, the rest skipped. opts[0..len)
 * is the option list; each option's value is padded to 4 bytes. 0 or -EINVAL.
 */
static int pcapng_idb_options(struct pcapng_reader *r, struct pcapng_interface *in, const uint8_t *opts,
			      size_t len)
{
	size_t at = 0;

	while (at + 4 <= len) {
		uint16_t code = pcapng_u16(r, opts + at), size = pcapng_u16(r, opts + at + 2);
		const uint8_t *value = opts + at + 4;

		if (code == PCAPNG_OPT_END)
			return 0;
		if (size > len - at - 4)
			return pcapng_corrupt(r, "an interface option longer than its block");
		if (code == PCAPNG_OPT_IF_TSRESOL && size == 1) {
			in->binary = value[0] & 0x80;
			in->exponent = value[0] & 0x7f;
			/* beyond these, a tick is below a femtosecond: nothing captures that finely */
			if (in->exponent > (in->binary ? 63 : 18))
				return pcapng_corrupt(r, "if_tsresol beyond 10^-18 or 2^-63 seconds");
		}
		if (code == PCAPNG_OPT_IF_TSOFFSET && size == 8) {
			uint64_t hi = pcapng_u32(r, value), lo = pcapng_u32(r, value + 4);

			in->offset_s = (int64_t)(r->big_endian ? hi << 32 | lo : lo << 32 | hi);
		}
		at += 4 + (((size_t)size + 3) & ~(size_t)3);
	}
	return 0;
}

/* An Interface Description Block's body (len bytes): the section's next interface. 0 or -errno. */
static int pcapng_idb_read(struct pcapng_reader *r, const uint8_t *body, size_t len)
{
	struct pcapng_interface *in, *grown;

	if (len < 8)
		return pcapng_corrupt(r, "an interface description shorter than 8 bytes");
	if (r->interfaces_count >= PCAPNG_INTERFACES_MAX)
		return pcapng_corrupt(r, "more than 4096 interfaces in a section");
	grown = realloc(r->interfaces, (r->interfaces_count + 1) * sizeof(*r->interfaces));
	if (grown == NULL) {
		fprintf(stderr, "fh-pcap: out of memory reading %s\n", r->path);
		return -ENOMEM;
	}
	r->interfaces = grown;
	in = &r->interfaces[r->interfaces_count++];
	*in = (struct pcapng_interface){ .link_type = pcapng_u16(r, body), .snaplen = pcapng_u32(r, body + 4),
					 .exponent = 6 };	/* the default: microseconds */
	return pcapng_idb_options(r, in, body + 8, len - 8);
}

/*
 * A timestamp of `ticks` on interface in, in microseconds since the epoch (truncated).
 * 0 or -EINVAL for one before the epoch or past 2^64 us.
 */
static int pcapng_time_us(const struct pcapng_reader *r, const struct pcapng_interface *in, uint64_t ticks,
			  uint64_t *us)
{
	unsigned __int128 t = (unsigned __int128)ticks * 1000000u;
	__int128 total;

	if (in->binary) {
		t >>= in->exponent;
	} else {
		for (uint8_t e = in->exponent; e > 0; e--)
			t /= 10;
	}
	total = (__int128)t + (__int128)in->offset_s * 1000000;
	if (total < 0 || total > (__int128)UINT64_MAX)
		return pcapng_corrupt(r, "a timestamp before the epoch or beyond 2^64 us");
	*us = (uint64_t)total;
	return 0;
}

/*
 * A packet of interface `id`, caplen bytes at data (room bytes left in its block),
 * into cap. 0 or -errno.
 */
static int pcapng_packet_add(struct pcapng_reader *r, struct pcap_capture *cap, uint32_t id, uint64_t ticks,
			     const uint8_t *data, uint32_t caplen, uint32_t wire_len, size_t room)
{
	const struct pcapng_interface *in;
	struct pcap_packet *pkt;
	uint64_t us;

	if (id >= r->interfaces_count)
		return pcapng_corrupt(r, "a packet of an interface the section does not describe");
	in = &r->interfaces[id];
	if (caplen > room || caplen > PCAP_RECORD_MAX || (in->snaplen != 0 && caplen > in->snaplen))
		return pcapng_corrupt(r, "a packet longer than its block or its interface's snapshot length");
	if (in->link_type != PCAPNG_LINKTYPE_ETHERNET) {
		fprintf(stderr, "fh-pcap: %s: interface %u: link type %u is not Ethernet\n", r->path, id,
			in->link_type);
		return -EINVAL;
	}
	if (pcapng_time_us(r, in, ticks, &us) != 0)
		return -EINVAL;
	pkt = pcap_capture_add(cap, r->path, caplen);
	if (pkt == NULL)
		return -ENOMEM;
	pkt->ts_us = us;
	pkt->wire_len = wire_len < caplen ? caplen : wire_len;
	memcpy(pkt->data, data, caplen);
	return 0;
}

/* A Section Header Block from its first 12 bytes: the new section's byte order. 0 or -EINVAL. */
static int pcapng_shb_start(struct pcapng_reader *r, const uint8_t head[12])
{
	if (wire_be32(head + 8) == PCAPNG_BYTE_ORDER_MAGIC)
		r->big_endian = true;
	else if (head[8] == 0x4d && head[9] == 0x3c && head[10] == 0x2b && head[11] == 0x1a)
		r->big_endian = false;
	else
		return pcapng_corrupt(r, "a section header without the byte-order magic");
	r->interfaces_count = 0;	/* a section's interfaces are its own */
	return 0;
}

/* The blocks of r->file, from its first (a Section Header Block), into cap. 0 or -errno. */
static int pcapng_blocks_read(struct pcapng_reader *r, struct pcap_capture *cap)
{
	uint8_t head[12];
	int err = 0;

	for (;;) {
		size_t n = fread(head, 1, 8, r->file);
		uint32_t type, length;
		size_t body;

		if (n == 0)
			return 0;
		if (n != 8)
			return pcapng_corrupt(r, "a block header cut short");
		type = pcapng_u32(r, head);
		if (type == PCAPNG_SHB) {
			if (fread(head + 8, 1, 4, r->file) != 4)
				return pcapng_corrupt(r, "a section header cut short");
			if (pcapng_shb_start(r, head) != 0)
				return -EINVAL;
		} else if (r->offset == 0) {
			return pcapng_corrupt(r, "no section header first");
		}
		type = pcapng_u32(r, head);
		length = pcapng_u32(r, head + 4);
		if (length < 12 || length % 4 != 0 || (type == PCAPNG_SHB && length < 28))
			return pcapng_corrupt(r, "a block length below 12 (28 for a section) or not a multiple of 4");
		if (length > r->size - r->offset)
			return pcapng_corrupt(r, "a block past the end of the file");
		body = length - 12;		/* between the length and the trailing length */
		if (type != PCAPNG_SHB && type != PCAPNG_IDB && type != PCAPNG_EPB && type != PCAPNG_SPB) {
			/* a block fh-pcap has no use for: skipped whole, its trailing length included */
			if (fseek(r->file, (long)body + 4, SEEK_CUR) != 0)
				return pcapng_corrupt(r, "a block past the end of the file");
		} else {
			size_t skip = type == PCAPNG_SHB ? 4 : 0;	/* the byte-order magic, read */
			uint8_t trailer[4];

			if (body > PCAPNG_BLOCK_MAX)
				return pcapng_corrupt(r, "a block of more than 256 KiB + 64 KiB");
			if (fread(r->block, 1, body - skip, r->file) != body - skip ||
			    fread(trailer, 1, 4, r->file) != 4)
				return pcapng_corrupt(r, "a block cut short by the end of the file");
			if (pcapng_u32(r, trailer) != length)
				return pcapng_corrupt(r, "a block whose trailing length is not its length");
			if (type == PCAPNG_SHB && pcapng_u16(r, r->block) != 1) {
				fprintf(stderr, "fh-pcap: %s: pcapng version %u.%u: only 1.x is read\n", r->path,
					pcapng_u16(r, r->block), pcapng_u16(r, r->block + 2));
				return -EINVAL;
			}
			if (type == PCAPNG_IDB) {
				err = pcapng_idb_read(r, r->block, body);
			} else if (type == PCAPNG_EPB) {
				if (body < 20)
					return pcapng_corrupt(r, "an enhanced packet block shorter than 32 bytes");
				err = pcapng_packet_add(r, cap, pcapng_u32(r, r->block),
							(uint64_t)pcapng_u32(r, r->block + 4) << 32 |
								pcapng_u32(r, r->block + 8),
							r->block + 20, pcapng_u32(r, r->block + 12),
							pcapng_u32(r, r->block + 16), body - 20);
			} else if (type == PCAPNG_SPB) {
				/* interface 0, no time; the captured length is what the block and snaplen hold */
				uint32_t wire = body >= 4 ? pcapng_u32(r, r->block) : 0;
				uint32_t room = (uint32_t)(body >= 4 ? body - 4 : 0), caplen = wire < room ? wire : room;

				if (body < 4)
					return pcapng_corrupt(r, "a simple packet block shorter than 16 bytes");
				if (r->interfaces_count > 0 && r->interfaces[0].snaplen != 0 &&
				    caplen > r->interfaces[0].snaplen)
					caplen = r->interfaces[0].snaplen;
				err = pcapng_packet_add(r, cap, 0, 0, r->block + 4, caplen, wire, room);
			}
			if (err != 0)
				return err;
		}
		r->offset += length;
	}
}

int pcapng_capture_read(struct pcap_capture *cap, FILE *f, const char *path)
{
	struct pcapng_reader r = { .file = f, .path = path };
	struct stat st;
	int err;

	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "fh-pcap: %s: not a regular file\n", path);
		return -EINVAL;
	}
	r.size = (uint64_t)st.st_size;
	r.block = malloc(PCAPNG_BLOCK_MAX);
	if (r.block == NULL) {
		fprintf(stderr, "fh-pcap: out of memory reading %s\n", path);
		return -ENOMEM;
	}
	err = pcapng_blocks_read(&r, cap);
	free(r.block);
	free(r.interfaces);
	return err;
}
