/*
 * fh_pcap: offline capture tool for testing the fh feed handler without a live
 * exchange. "gen" synthesises a deterministic ITCH 5.0 session (system event,
 * stock directory, then a realistic order flow kept consistent by a live-order
 * model), "convert" wraps a NASDAQ binary ITCH file, and both packetise into
 * MoldUDP64 and write every packet twice, as line A then line B, into a classic
 * microsecond pcap with Ethernet/IPv4/UDP multicast framing. "inject" reads such
 * a capture and applies seeded per-line faults (loss, duplicates, reordering,
 * malformed packets) so arbitration and gap handling can be exercised
 * reproducibly. Everything is deterministic from the command line: the same
 * arguments give byte-identical output on any host.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MOLD_SESSION_LEN 10
#define MOLD_HEADER_LEN 20		/* session(10) sequence(8) count(2) */
#define MOLD_PAYLOAD_MAX 1400		/* UDP payload bytes per packet */
#define MOLD_END_OF_SESSION 0xffff
#define MOLD_DEFAULT_SESSION "FHGEN00001"

#define ETH_HEADER_LEN 14
#define VLAN_TAG_LEN 4
#define ETH_TYPE_IPV4 0x0800
#define ETH_TYPE_VLAN 0x8100
#define IPV4_HEADER_LEN 20
#define IPV4_PROTO_UDP 17
#define UDP_HEADER_LEN 8
#define FRAME_HEADERS_MAX (ETH_HEADER_LEN + VLAN_TAG_LEN + IPV4_HEADER_LEN + UDP_HEADER_LEN)
#define MALFORMED_EXTRA_MAX 1600	/* growth of a corrupted copy over its source */
#define RANDOM_PAYLOAD_MAX 1500

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du
#define PCAP_SNAPLEN 65535
#define PCAP_RECORD_MAX 262144		/* larger records mean a corrupt file */
#define PCAP_LINKTYPE_ETHERNET 1
#define PCAP_T0_S 1577698200ull		/* 2019-12-30 09:30:00 UTC */
#define PCAP_PACKET_MIN_GAP_US 4	/* between packets of one line */
#define PCAP_WIRE_DELAY_US 20		/* exchange to capture, plus up to the jitter */
#define PCAP_WIRE_JITTER_US 30
#define PCAP_LINE_B_DELAY_US 3

#define PER_PACKET_RANDOM_MAX 8
#define GEN_SYMBOLS_DEFAULT 8
#define GEN_SYMBOLS_MAX 10000
#define GEN_ORDERS_MAX (1u << 16)	/* live orders kept by the generator model */
#define GEN_TICK 100			/* one cent in Price(4) */
#define GEN_TOUCH_TICKS_MAX 20
#define GEN_PRICE_MIN (5 * 10000)
#define GEN_PRICE_MAX (1000 * 10000)
#define GEN_UNKNOWN_REF_BASE 0x4000000000000000ull
#define GEN_START_NS (34200ull * 1000000000ull)	/* 09:30:00 */
#define CONVERT_SEED_DEFAULT 1
#define REORDER_DEPTH_DEFAULT 3
#define MALFORMED_KINDS 9

_Static_assert(PCAP_LINE_B_DELAY_US < PCAP_PACKET_MIN_GAP_US, "B copy must precede next A");
_Static_assert(GEN_SYMBOLS_MAX < 65536, "locates are 16 bit");

enum line_id { LINE_A = 0, LINE_B = 1, LINE_COUNT = 2, LINE_OTHER = 2 };

static const char *const line_names[] = { "A", "B", "other" };

/* ---- byte order and small helpers -------------------------------------- */

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	put_u16(p, v >> 16);
	put_u16(p + 2, v);
}

static void put_u48(uint8_t *p, uint64_t v)
{
	put_u16(p, v >> 32);
	put_u32(p + 2, v);
}

static void put_u64(uint8_t *p, uint64_t v)
{
	put_u32(p, v >> 32);
	put_u32(p + 4, v);
}

static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)get_u16(p) << 16 | get_u16(p + 2);
}

static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static void put_alpha(uint8_t *p, const char *s, size_t width)
{
	size_t n = strlen(s);

	memset(p, ' ', width);
	memcpy(p, s, n < width ? n : width);
}

/* ---- deterministic random numbers (splitmix64) -------------------------- */

struct rng {
	uint64_t state;
};

/* Seeds independent streams from one user seed so each fault draws its own. */
static void rng_seed(struct rng *rng, uint64_t seed, uint64_t stream)
{
	rng->state = seed ^ (stream * 0xd1b54a32d192ed03ull);
}

static uint64_t rng_next(struct rng *rng)
{
	uint64_t z = (rng->state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi]; the modulo bias is irrelevant at these ranges. */
static uint64_t rng_range(struct rng *rng, uint64_t lo, uint64_t hi)
{
	assert(lo <= hi);
	if (hi - lo == UINT64_MAX)
		return rng_next(rng);
	return lo + rng_next(rng) % (hi - lo + 1);
}

static bool rng_chance(struct rng *rng, double p)
{
	if (p <= 0.0)
		return false;
	return (double)(rng_next(rng) >> 11) * 0x1.0p-53 < p;
}

static uint8_t rng_pick(struct rng *rng, const char *choices)
{
	return (uint8_t)choices[rng_range(rng, 0, strlen(choices) - 1)];
}

/* ---- ITCH 5.0 message lengths (itch50-moldudp64.md, message table) ------ */

static unsigned itch_message_len(uint8_t type)
{
	switch (type) {
	case 'S': return 12;
	case 'R': return 39;
	case 'H': return 25;
	case 'Y': return 20;
	case 'L': return 26;
	case 'V': return 35;
	case 'W': return 12;
	case 'K': return 28;
	case 'J': return 35;
	case 'h': return 21;
	case 'A': return 36;
	case 'F': return 40;
	case 'E': return 31;
	case 'C': return 36;
	case 'X': return 23;
	case 'D': return 19;
	case 'U': return 35;
	case 'P': return 44;
	case 'Q': return 40;
	case 'B': return 19;
	case 'I': return 50;
	case 'N': return 20;
	case 'O': return 48;
	default: return 0;
	}
}

/* ---- classic pcap output ------------------------------------------------ */

struct pcap_writer {
	FILE *file;
	const char *path;
	uint64_t packets;
};

/*
 * Opens an output file to be written from its start. The path may be in a directory
 * others can write (/tmp), where they can leave anything at the name first: never
 * through a symbolic link, never a FIFO or device, never another user's file or one
 * with other names (each would be truncated for whoever it belongs to). A stream, or
 * NULL with a message printed.
 */
static FILE *out_file_open(const char *path)
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

/* Little-endian header written byte by byte so output is host independent. */
static int pcap_writer_open(struct pcap_writer *w, const char *path)
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

static int pcap_writer_put(struct pcap_writer *w, uint64_t ts_us, const uint8_t *frame,
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

static int pcap_writer_close(struct pcap_writer *w)
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

/* ---- classic pcap input ------------------------------------------------- */

struct pcap_packet {
	uint64_t ts_us;
	uint32_t caplen;
	uint32_t wire_len;
	uint8_t *data;
};

struct pcap_capture {
	struct pcap_packet *packets;
	size_t count;
	size_t capacity;
};

static uint32_t read_u32_order(const uint8_t *p, bool big_endian)
{
	if (big_endian)
		return get_u32(p);
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/*
 * Loads a whole classic pcap (either byte order, micro- or nanosecond
 * timestamps, Ethernet only). Nothing in the file is trusted: a record longer
 * than the file's snapshot length (or PCAP_RECORD_MAX) or cut short is an error;
 * an original length below the captured length, which no capture can have, is
 * taken as the captured length (as fhd does) and the count of such records
 * printed. Returns 0 or -errno after printing the reason.
 */
static int pcap_capture_load(struct pcap_capture *cap, const char *path)
{
	uint8_t header[24], record[16];
	bool big_endian, nanoseconds;
	uint64_t offset = 24, short_wire = 0;
	uint32_t magic, snaplen;
	FILE *f;
	int err = -EINVAL;

	memset(cap, 0, sizeof(*cap));
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "fh-pcap: cannot open %s: %s\n", path, strerror(errno));
		return -errno;
	}
	if (fread(header, sizeof(header), 1, f) != 1) {
		fprintf(stderr, "fh-pcap: %s: short pcap file header\n", path);
		goto out;
	}
	magic = read_u32_order(header, false);
	big_endian = magic != PCAP_MAGIC_US && magic != PCAP_MAGIC_NS;
	if (big_endian)
		magic = read_u32_order(header, true);
	if (magic != PCAP_MAGIC_US && magic != PCAP_MAGIC_NS) {
		fprintf(stderr, "fh-pcap: %s: not a classic pcap file (pcapng is not supported)\n",
			path);
		goto out;
	}
	nanoseconds = magic == PCAP_MAGIC_NS;
	snaplen = read_u32_order(header + 16, big_endian);
	if (snaplen == 0 || snaplen > PCAP_RECORD_MAX)	/* unset or unusual: the absolute bound */
		snaplen = PCAP_RECORD_MAX;
	if ((read_u32_order(header + 20, big_endian) & 0xffff) != PCAP_LINKTYPE_ETHERNET) {
		fprintf(stderr, "fh-pcap: %s: link type %u is not Ethernet\n", path,
			read_u32_order(header + 20, big_endian));
		goto out;
	}
	for (;;) {
		struct pcap_packet *pkt;
		size_t n = fread(record, 1, sizeof(record), f);
		uint32_t caplen;

		if (n == 0)
			break;
		if (n != sizeof(record)) {
			fprintf(stderr, "fh-pcap: %s: truncated record header at byte offset %" PRIu64 "\n",
				path, offset);
			goto out;
		}
		caplen = read_u32_order(record + 8, big_endian);
		if (caplen > snaplen) {
			fprintf(stderr, "fh-pcap: %s: record length %u at byte offset %" PRIu64 " exceeds the "
				"snapshot length %u: corrupt file\n", path, caplen, offset, snaplen);
			goto out;
		}
		if (cap->count == cap->capacity) {
			size_t capacity = cap->capacity ? cap->capacity * 2 : 1024;
			void *grown = realloc(cap->packets, capacity * sizeof(*cap->packets));

			if (!grown) {
				err = -ENOMEM;
				fprintf(stderr, "fh-pcap: out of memory reading %s\n", path);
				goto out;
			}
			cap->packets = grown;
			cap->capacity = capacity;
		}
		pkt = &cap->packets[cap->count];
		pkt->ts_us = (uint64_t)read_u32_order(record, big_endian) * 1000000 +
			     read_u32_order(record + 4, big_endian) / (nanoseconds ? 1000 : 1);
		pkt->caplen = caplen;
		pkt->wire_len = read_u32_order(record + 12, big_endian);
		if (pkt->wire_len < caplen) {
			pkt->wire_len = caplen;
			short_wire++;
		}
		pkt->data = malloc(caplen ? caplen : 1);
		if (!pkt->data) {
			err = -ENOMEM;
			fprintf(stderr, "fh-pcap: out of memory reading %s\n", path);
			goto out;
		}
		cap->count++;
		if (caplen && fread(pkt->data, caplen, 1, f) != 1) {
			fprintf(stderr, "fh-pcap: %s: truncated packet data at byte offset %" PRIu64 "\n",
				path, offset);
			goto out;
		}
		offset += sizeof(record) + caplen;
	}
	if (ferror(f)) {
		fprintf(stderr, "fh-pcap: read %s: %s\n", path, strerror(errno));
		err = -EIO;
		goto out;
	}
	if (short_wire > 0)
		fprintf(stderr, "fh-pcap: %s: %" PRIu64 " records with an original length below their captured "
			"length, taken as the captured length\n", path, short_wire);
	err = 0;
out:
	fclose(f);
	return err;
}

static void pcap_capture_free(struct pcap_capture *cap)
{
	for (size_t i = 0; i < cap->count; i++)
		free(cap->packets[i].data);
	free(cap->packets);
	memset(cap, 0, sizeof(*cap));
}

/* ---- Ethernet / IPv4 / UDP framing -------------------------------------- */

struct net_config {
	uint32_t group[LINE_COUNT];		/* host order */
	uint32_t source_ip[LINE_COUNT];
	uint16_t source_port[LINE_COUNT];
	uint16_t dest_port;
	int vlan_id;				/* -1: untagged */
};

static void net_config_default(struct net_config *net)
{
	net->group[LINE_A] = 233u << 24 | 54u << 16 | 12u << 8 | 111u;
	net->group[LINE_B] = 233u << 24 | 49u << 16 | 196u << 8 | 111u;
	net->source_ip[LINE_A] = 10u << 24 | 1u;
	net->source_ip[LINE_B] = 10u << 24 | 2u;
	net->source_port[LINE_A] = 40001;
	net->source_port[LINE_B] = 40002;
	net->dest_port = 26477;
	net->vlan_id = -1;
}

static uint32_t checksum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += get_u16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t checksum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void ipv4_set_checksum(uint8_t *ip)
{
	put_u16(ip + 10, 0);
	put_u16(ip + 10, checksum_fold(checksum_add(0, ip, IPV4_HEADER_LEN)));
}

/* RFC 768 checksum over the pseudo-header; a computed 0 is sent as 0xffff. */
static void udp_set_checksum(const uint8_t *ip, uint8_t *udp, size_t udp_len)
{
	uint32_t sum = 0;
	uint16_t folded;

	put_u16(udp + 6, 0);
	sum = checksum_add(sum, ip + 12, 8);
	sum += IPV4_PROTO_UDP + (uint32_t)udp_len;
	sum = checksum_add(sum, udp, udp_len);
	folded = checksum_fold(sum);
	put_u16(udp + 6, folded ? folded : 0xffff);
}

/*
 * Builds one Ethernet II [802.1Q] / IPv4 / UDP frame for the given line into
 * frame (at least FRAME_HEADERS_MAX + payload_len bytes). Returns its length.
 */
static size_t frame_build(uint8_t *frame, const struct net_config *net, int line,
			  uint16_t ip_id, const uint8_t *payload, size_t payload_len)
{
	uint32_t group = net->group[line];
	uint8_t *ip, *udp;
	size_t off = 12;

	assert(line == LINE_A || line == LINE_B);
	assert(payload_len <= 65535 - IPV4_HEADER_LEN - UDP_HEADER_LEN);
	/* RFC 1112 §6.4: 01:00:5e + low 23 bits of the group. */
	frame[0] = 0x01;
	frame[1] = 0x00;
	frame[2] = 0x5e;
	frame[3] = (group >> 16) & 0x7f;
	frame[4] = group >> 8;
	frame[5] = group;
	memcpy(frame + 6, "\x02\x00\x00\x00\x00", 5);
	frame[11] = line == LINE_A ? 0x0a : 0x0b;
	if (net->vlan_id >= 0) {
		put_u16(frame + off, ETH_TYPE_VLAN);
		put_u16(frame + off + 2, (uint16_t)net->vlan_id);
		off += VLAN_TAG_LEN;
	}
	put_u16(frame + off, ETH_TYPE_IPV4);
	off += 2;

	ip = frame + off;
	ip[0] = 0x45;
	ip[1] = 0;
	put_u16(ip + 2, (uint16_t)(IPV4_HEADER_LEN + UDP_HEADER_LEN + payload_len));
	put_u16(ip + 4, ip_id);
	put_u16(ip + 6, 0x4000);		/* DF */
	ip[8] = 64;
	ip[9] = IPV4_PROTO_UDP;
	put_u32(ip + 12, net->source_ip[line]);
	put_u32(ip + 16, group);
	ipv4_set_checksum(ip);

	udp = ip + IPV4_HEADER_LEN;
	put_u16(udp, net->source_port[line]);
	put_u16(udp + 2, net->dest_port);
	put_u16(udp + 4, (uint16_t)(UDP_HEADER_LEN + payload_len));
	memcpy(udp + UDP_HEADER_LEN, payload, payload_len);
	udp_set_checksum(ip, udp, UDP_HEADER_LEN + payload_len);
	return off + IPV4_HEADER_LEN + UDP_HEADER_LEN + payload_len;
}

struct frame_info {
	size_t ip_off;
	size_t udp_off;
	size_t payload_off;
	size_t payload_len;
	uint32_t dest_ip;
	uint16_t dest_port;
	bool vlan;
};

/* True if frame is a complete, unfragmented IPv4/UDP datagram; fills info. */
static bool frame_parse(const uint8_t *frame, size_t len, struct frame_info *info)
{
	size_t off = 12, ip_len, udp_len;
	uint16_t type;

	memset(info, 0, sizeof(*info));
	if (len < ETH_HEADER_LEN)
		return false;
	type = get_u16(frame + off);
	if (type == ETH_TYPE_VLAN) {
		if (len < ETH_HEADER_LEN + VLAN_TAG_LEN)
			return false;
		info->vlan = true;
		off += VLAN_TAG_LEN;
		type = get_u16(frame + off);
	}
	off += 2;
	if (type != ETH_TYPE_IPV4 || len < off + IPV4_HEADER_LEN + UDP_HEADER_LEN)
		return false;
	if (frame[off] != 0x45 || frame[off + 9] != IPV4_PROTO_UDP)
		return false;
	if (get_u16(frame + off + 6) & 0x3fff)	/* MF or fragment offset */
		return false;
	ip_len = get_u16(frame + off + 2);
	if (ip_len < IPV4_HEADER_LEN + UDP_HEADER_LEN || off + ip_len > len)
		return false;
	udp_len = get_u16(frame + off + IPV4_HEADER_LEN + 4);
	if (udp_len != ip_len - IPV4_HEADER_LEN)
		return false;
	info->ip_off = off;
	info->udp_off = off + IPV4_HEADER_LEN;
	info->payload_off = info->udp_off + UDP_HEADER_LEN;
	info->payload_len = udp_len - UDP_HEADER_LEN;
	info->dest_ip = get_u32(frame + off + 16);
	info->dest_port = get_u16(frame + info->udp_off + 2);
	return true;
}

/* Rewrites IPv4/UDP lengths and checksums after the payload became len bytes. */
static size_t frame_set_payload_len(uint8_t *frame, const struct frame_info *info, size_t len)
{
	uint8_t *ip = frame + info->ip_off, *udp = frame + info->udp_off;

	put_u16(ip + 2, (uint16_t)(IPV4_HEADER_LEN + UDP_HEADER_LEN + len));
	ipv4_set_checksum(ip);
	put_u16(udp + 4, (uint16_t)(UDP_HEADER_LEN + len));
	udp_set_checksum(ip, udp, UDP_HEADER_LEN + len);
	return info->payload_off + len;
}

/* ---- MoldUDP64 packetiser ----------------------------------------------- */

struct mold_packer {
	char session[MOLD_SESSION_LEN];
	uint64_t next_seq;		/* sequence of the first message being packed */
	uint8_t payload[MOLD_PAYLOAD_MAX];
	size_t len;
	unsigned count;
	unsigned target;		/* messages wanted in the current packet */
	unsigned per_packet;		/* 0: random 1..PER_PACKET_RANDOM_MAX */
	struct rng rng;
	struct pcap_writer *out;
	FILE *itch_out;			/* --format itch: raw records instead of packets */
	const struct net_config *net;
	uint64_t packets;		/* MoldUDP64 packets, each written once per line */
	uint64_t messages;
	uint64_t last_ts_ns;		/* ITCH timestamp of the newest message packed */
	uint64_t last_emit_us;		/* capture time of the last packet written */
};

static void mold_packer_init(struct mold_packer *p, const char *session, unsigned per_packet,
			     uint64_t seed, struct pcap_writer *out, const struct net_config *net)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->session, session, MOLD_SESSION_LEN);
	p->next_seq = 1;
	p->len = MOLD_HEADER_LEN;
	p->per_packet = per_packet;
	rng_seed(&p->rng, seed, 0x7061636b);
	p->out = out;
	p->net = net;
}

/*
 * Writes the current payload as line A then line B, 3 us apart. The capture time
 * follows the exchange: the day of PCAP_T0_S, at the ITCH time of the packet's last
 * message (taken as UTC), plus a wire delay of 20..49 us, so a replay's feed delay
 * (exchange timestamp to RX time) is realistic. Packets stay in order, at least
 * PCAP_PACKET_MIN_GAP_US apart.
 */
static int mold_packer_emit(struct mold_packer *p, uint16_t count)
{
	uint8_t frame[FRAME_HEADERS_MAX + MOLD_PAYLOAD_MAX];
	uint64_t wire_us = PCAP_WIRE_DELAY_US + ((p->packets * 2654435761u) >> 16) % PCAP_WIRE_JITTER_US;
	uint64_t ts_us = (PCAP_T0_S - PCAP_T0_S % 86400) * 1000000 + p->last_ts_ns / 1000 + wire_us;
	int err;

	if (p->packets > 0 && ts_us < p->last_emit_us + PCAP_PACKET_MIN_GAP_US)
		ts_us = p->last_emit_us + PCAP_PACKET_MIN_GAP_US;
	if (p->last_ts_ns == 0)		/* no timestamped message yet */
		ts_us = PCAP_T0_S * 1000000 + p->packets * PCAP_PACKET_MIN_GAP_US;
	p->last_emit_us = ts_us;

	memcpy(p->payload, p->session, MOLD_SESSION_LEN);
	put_u64(p->payload + 10, p->next_seq);
	put_u16(p->payload + 18, count);
	for (int line = LINE_A; line < LINE_COUNT; line++) {
		size_t n = frame_build(frame, p->net, line, (uint16_t)p->packets, p->payload, p->len);

		err = pcap_writer_put(p->out, ts_us + (line == LINE_B ? PCAP_LINE_B_DELAY_US : 0),
				      frame, (uint32_t)n, (uint32_t)n);
		if (err)
			return err;
	}
	p->packets++;
	return 0;
}

static int mold_packer_flush(struct mold_packer *p)
{
	int err;

	if (p->count == 0)
		return 0;
	err = mold_packer_emit(p, (uint16_t)p->count);
	p->next_seq += p->count;
	p->len = MOLD_HEADER_LEN;
	p->count = 0;
	return err;
}

/* Appends one message block, closing the packet first if it is full. */
static int mold_packer_add(struct mold_packer *p, const uint8_t *msg, size_t len)
{
	int err;

	assert(len > 0 && MOLD_HEADER_LEN + 2 + len <= MOLD_PAYLOAD_MAX);
	if (p->itch_out) {
		uint8_t prefix[2];

		put_u16(prefix, (uint16_t)len);
		p->messages++;
		if (fwrite(prefix, 1, 2, p->itch_out) != 2 || fwrite(msg, 1, len, p->itch_out) != len)
			return -EIO;
		return 0;
	}
	if (p->count && (p->count >= p->target || p->len + 2 + len > MOLD_PAYLOAD_MAX)) {
		err = mold_packer_flush(p);
		if (err)
			return err;
	}
	if (p->count == 0)
		p->target = p->per_packet ? p->per_packet :
			    (unsigned)rng_range(&p->rng, 1, PER_PACKET_RANDOM_MAX);
	if (len >= 11)	/* type, locate, tracking number, 6-byte timestamp */
		p->last_ts_ns = (uint64_t)msg[5] << 40 | (uint64_t)msg[6] << 32 | (uint64_t)msg[7] << 24 |
				(uint64_t)msg[8] << 16 | (uint64_t)msg[9] << 8 | msg[10];
	put_u16(p->payload + p->len, (uint16_t)len);
	memcpy(p->payload + p->len + 2, msg, len);
	p->len += 2 + len;
	p->count++;
	p->messages++;
	return 0;
}

/* Flushes the last packet and sends end of session (count 0xFFFF, seq = next). */
static int mold_packer_finish(struct mold_packer *p)
{
	if (p->itch_out)
		return 0;
	int err = mold_packer_flush(p);

	if (err)
		return err;
	p->len = MOLD_HEADER_LEN;
	return mold_packer_emit(p, MOLD_END_OF_SESSION);
}

/* ---- synthetic ITCH 5.0 session ----------------------------------------- */

/* The distinct prices of one side's live orders, ascending, with their order counts. */
struct gen_levels {
	uint32_t *prices;
	uint32_t *orders;
	uint32_t count, capacity;
};

struct gen_symbol {
	char name[9];
	uint32_t mid_price;		/* Price(4), whole cents */
	struct gen_levels sides[2];	/* GEN_BID, GEN_ASK */
};

enum { GEN_BID = 0, GEN_ASK = 1 };

struct gen_order {
	uint64_t ref;
	uint32_t shares;
	uint32_t price;
	uint16_t locate;
	uint8_t side;
};

struct generator {
	struct rng rng;
	struct gen_symbol *symbols;	/* index locate - 1 */
	unsigned symbol_count;
	struct gen_order *orders;	/* live orders, unordered */
	size_t order_count;
	uint64_t next_ref;
	uint64_t next_match;
	uint64_t timestamp_ns;
	struct mold_packer *packer;
};

/* Relative frequency per 1000 order-flow messages. */
static const struct {
	char type;
	unsigned weight;
} gen_mix[] = {
	{ 'A', 360 }, { 'F', 40 }, { 'E', 110 }, { 'C', 30 }, { 'X', 80 }, { 'D', 230 },
	{ 'U', 120 }, { 'P', 15 }, { 'Q', 5 }, { 'I', 8 }, { 'H', 2 },
};

static void gen_symbols_name(struct generator *g)
{
	static const char consonants[] = "BCDFGHJKLMNPRSTVWZ";
	static const char vowels[] = "AEIOU";

	for (unsigned i = 0; i < g->symbol_count; i++) {
		struct gen_symbol *sym = &g->symbols[i];
		bool unique = false;

		for (unsigned attempt = 0; attempt < 100 && !unique; attempt++) {
			unsigned len = (unsigned)rng_range(&g->rng, 3, 5);

			for (unsigned c = 0; c < len; c++)
				sym->name[c] = (char)rng_pick(&g->rng, c & 1 ? vowels : consonants);
			sym->name[len] = '\0';
			unique = true;
			for (unsigned j = 0; j < i && unique; j++)
				unique = strcmp(g->symbols[j].name, sym->name) != 0;
		}
		if (!unique)	/* digits never clash with the letter-only names */
			snprintf(sym->name, sizeof(sym->name), "Z%07u", (i + 1) % 10000000u);
		sym->mid_price = (uint32_t)rng_range(&g->rng, 10 * 100, 500 * 100) * GEN_TICK;
	}
}

/* Writes the common header: type, locate, tracking number 0, timestamp. */
static void gen_header(struct generator *g, uint8_t *msg, uint8_t type, uint16_t locate)
{
	g->timestamp_ns += rng_range(&g->rng, 1, 20000);
	msg[0] = type;
	put_u16(msg + 1, locate);
	put_u16(msg + 3, 0);
	put_u48(msg + 5, g->timestamp_ns);
}

static int gen_send(struct generator *g, const uint8_t *msg)
{
	assert(itch_message_len(msg[0]) != 0);
	return mold_packer_add(g->packer, msg, itch_message_len(msg[0]));
}

static uint16_t gen_random_locate(struct generator *g)
{
	return (uint16_t)rng_range(&g->rng, 1, g->symbol_count);
}

/*
 * The generator keeps, per symbol and side, the prices of its live orders, so that
 * it never sends a book that is crossed or locked: a real exchange would have
 * matched such an order instead of resting it.
 */

/* Index of the first level at or above price. */
static uint32_t gen_levels_find(const struct gen_levels *l, uint32_t price)
{
	uint32_t lo = 0, hi = l->count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (l->prices[mid] < price)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* One more live order at price. Returns 0 or -ENOMEM. */
static int gen_levels_add(struct gen_levels *l, uint32_t price)
{
	uint32_t i = gen_levels_find(l, price);

	if (i < l->count && l->prices[i] == price) {
		l->orders[i]++;
		return 0;
	}
	if (l->count == l->capacity) {
		uint32_t capacity = l->capacity ? l->capacity * 2 : 64;
		uint32_t *prices = realloc(l->prices, capacity * sizeof(*prices));

		if (!prices)
			return -ENOMEM;
		l->prices = prices;
		prices = realloc(l->orders, capacity * sizeof(*prices));
		if (!prices)
			return -ENOMEM;
		l->orders = prices;
		l->capacity = capacity;
	}
	memmove(l->prices + i + 1, l->prices + i, (l->count - i) * sizeof(*l->prices));
	memmove(l->orders + i + 1, l->orders + i, (l->count - i) * sizeof(*l->orders));
	l->prices[i] = price;
	l->orders[i] = 1;
	l->count++;
	return 0;
}

/* One live order at price fewer; it must be there. */
static void gen_levels_remove(struct gen_levels *l, uint32_t price)
{
	uint32_t i = gen_levels_find(l, price);

	assert(i < l->count && l->prices[i] == price && l->orders[i] > 0);
	if (--l->orders[i] > 0)
		return;
	memmove(l->prices + i, l->prices + i + 1, (l->count - i - 1) * sizeof(*l->prices));
	memmove(l->orders + i, l->orders + i + 1, (l->count - i - 1) * sizeof(*l->orders));
	l->count--;
}

static struct gen_levels *gen_order_levels(struct generator *g, const struct gen_order *order)
{
	return &g->symbols[order->locate - 1].sides[order->side == 'B' ? GEN_BID : GEN_ASK];
}

/* The best live bid (0: none) and ask (UINT32_MAX: none) of a symbol. */
static void gen_touch(const struct gen_symbol *sym, uint32_t *bid, uint32_t *ask)
{
	const struct gen_levels *b = &sym->sides[GEN_BID], *a = &sym->sides[GEN_ASK];

	*bid = b->count ? b->prices[b->count - 1] : 0;
	*ask = a->count ? a->prices[0] : UINT32_MAX;
}

/*
 * Random-walks the symbol's mid by at most one tick, keeps it strictly inside the
 * live spread where there is room (so quotes and trades follow the book), and
 * returns it.
 */
static uint32_t gen_mid_walk(struct generator *g, uint16_t locate)
{
	struct gen_symbol *sym = &g->symbols[locate - 1];
	uint64_t r = rng_range(&g->rng, 0, 9);
	uint32_t bid, ask;

	if (r == 0 && sym->mid_price > GEN_PRICE_MIN)
		sym->mid_price -= GEN_TICK;
	else if (r == 1 && sym->mid_price < GEN_PRICE_MAX)
		sym->mid_price += GEN_TICK;
	gen_touch(sym, &bid, &ask);
	if (bid != 0 && sym->mid_price <= bid && (ask == UINT32_MAX || ask - bid > GEN_TICK))
		sym->mid_price = bid + GEN_TICK;
	else if (ask != UINT32_MAX && sym->mid_price >= ask && ask - bid > GEN_TICK)
		sym->mid_price = ask - GEN_TICK;
	return sym->mid_price;
}

/*
 * A resting price 1..20 ticks on the passive side of the mid, and always strictly
 * below the best live ask (a bid) or above the best live bid (an ask): never
 * crossing or locking the book.
 */
static uint32_t gen_touch_price(struct generator *g, uint16_t locate, uint8_t side)
{
	uint32_t mid = gen_mid_walk(g, locate), bid, ask, price;
	uint32_t away = (uint32_t)rng_range(&g->rng, 1, GEN_TOUCH_TICKS_MAX) * GEN_TICK;

	gen_touch(&g->symbols[locate - 1], &bid, &ask);
	if (side == 'B') {
		price = mid > away ? mid - away : GEN_TICK;
		if (price >= ask)
			price = ask - GEN_TICK;
		assert(price > 0 && price < ask);
	} else {
		price = mid + away;
		if (price <= bid)
			price = bid + GEN_TICK;
		assert(price > bid);
	}
	return price;
}

static uint32_t gen_shares(struct generator *g)
{
	if (rng_chance(&g->rng, 0.8))
		return (uint32_t)rng_range(&g->rng, 1, 10) * 100;
	return (uint32_t)rng_range(&g->rng, 1, 499);
}

static void gen_stock(struct generator *g, uint8_t *p, uint16_t locate)
{
	put_alpha(p, g->symbols[locate - 1].name, 8);
}

static int gen_directory(struct generator *g)
{
	uint8_t msg[64];
	int err;

	gen_header(g, msg, 'S', 0);
	msg[11] = 'O';			/* start of messages */
	err = gen_send(g, msg);
	for (unsigned i = 0; i < g->symbol_count && !err; i++) {
		uint16_t locate = (uint16_t)(i + 1);

		gen_header(g, msg, 'R', locate);
		gen_stock(g, msg + 11, locate);
		msg[19] = 'Q';		/* market category */
		msg[20] = 'N';		/* financial status */
		put_u32(msg + 21, 100);	/* round lot size */
		msg[25] = 'N';		/* round lots only */
		msg[26] = 'C';		/* issue classification */
		put_alpha(msg + 27, "Z", 2);
		msg[29] = 'P';		/* authenticity */
		msg[30] = 'N';		/* short sale threshold */
		msg[31] = 'N';		/* IPO flag */
		msg[32] = '1';		/* LULD tier */
		msg[33] = 'N';		/* ETP flag */
		put_u32(msg + 34, 0);	/* ETP leverage */
		msg[38] = 'N';		/* inverse */
		err = gen_send(g, msg);
	}
	return err;
}

static int gen_add(struct generator *g, bool attributed)
{
	uint8_t msg[64];
	struct gen_order order;

	order.locate = gen_random_locate(g);
	order.side = rng_chance(&g->rng, 0.5) ? 'B' : 'S';
	order.shares = gen_shares(g);
	order.price = gen_touch_price(g, order.locate, order.side);
	order.ref = g->next_ref++;
	if (gen_levels_add(gen_order_levels(g, &order), order.price) != 0)
		return -ENOMEM;
	gen_header(g, msg, attributed ? 'F' : 'A', order.locate);
	put_u64(msg + 11, order.ref);
	msg[19] = order.side;
	put_u32(msg + 20, order.shares);
	gen_stock(g, msg + 24, order.locate);
	put_u32(msg + 32, order.price);
	if (attributed)
		put_alpha(msg + 36, rng_chance(&g->rng, 0.5) ? "GSCO" : "MSCO", 4);
	assert(g->order_count < GEN_ORDERS_MAX);
	g->orders[g->order_count++] = order;
	return gen_send(g, msg);
}

static void gen_order_remove(struct generator *g, size_t index)
{
	assert(index < g->order_count);
	gen_levels_remove(gen_order_levels(g, &g->orders[index]), g->orders[index].price);
	g->orders[index] = g->orders[--g->order_count];
}

/*
 * Messages naming an existing order: E, C, X, D, U. About 1% name a reference
 * that was never issued and 2% of executes/cancels exceed the remaining shares,
 * so the decoder's and book's error paths see traffic too.
 */
static int gen_order_event(struct generator *g, char type)
{
	size_t index = (size_t)rng_range(&g->rng, 0, g->order_count - 1);
	struct gen_order *order = &g->orders[index];
	bool unknown = rng_chance(&g->rng, 0.01);
	uint64_t ref = unknown ? GEN_UNKNOWN_REF_BASE + rng_range(&g->rng, 0, UINT32_MAX) :
				 order->ref;
	uint16_t locate = unknown ? gen_random_locate(g) : order->locate;
	uint32_t shares = 0;
	bool gone = false;
	uint8_t msg[64];

	if (type == 'E' || type == 'C' || type == 'X') {
		if (unknown) {
			shares = gen_shares(g);
		} else if (rng_chance(&g->rng, 0.02)) {
			shares = order->shares + (uint32_t)rng_range(&g->rng, 1, 100);
			gone = true;
		} else if (order->shares > 1 && rng_chance(&g->rng, type == 'X' ? 0.8 : 0.5)) {
			shares = (uint32_t)rng_range(&g->rng, 1, order->shares - 1);
		} else {
			shares = order->shares;
			gone = true;
		}
	}
	gen_header(g, msg, (uint8_t)type, locate);
	put_u64(msg + 11, ref);
	switch (type) {
	case 'E':
		put_u32(msg + 19, shares);
		put_u64(msg + 23, g->next_match++);
		break;
	case 'C':
		put_u32(msg + 19, shares);
		put_u64(msg + 23, g->next_match++);
		msg[31] = rng_chance(&g->rng, 0.9) ? 'Y' : 'N';
		put_u32(msg + 32, unknown ? g->symbols[locate - 1].mid_price : order->price);
		break;
	case 'X':
		put_u32(msg + 19, shares);
		break;
	case 'D':
		gone = true;
		break;
	case 'U': {
		struct gen_order replaced;

		replaced.ref = g->next_ref++;
		replaced.locate = locate;
		replaced.side = unknown ? 'B' : order->side;
		replaced.shares = gen_shares(g);
		/* the replaced order leaves the book first: its price no longer bounds the new one */
		if (!unknown)
			gen_levels_remove(gen_order_levels(g, order), order->price);
		replaced.price = gen_touch_price(g, locate, replaced.side);
		if (!unknown && gen_levels_add(gen_order_levels(g, &replaced), replaced.price) != 0)
			return -ENOMEM;
		put_u64(msg + 19, replaced.ref);
		put_u32(msg + 27, replaced.shares);
		put_u32(msg + 31, replaced.price);
		if (!unknown)
			*order = replaced;
		break;
	}
	default:
		assert(!"not an order event");
	}
	if (unknown)
		return gen_send(g, msg);
	if (gone)
		gen_order_remove(g, index);
	else if (type != 'U')
		order->shares -= shares;
	return gen_send(g, msg);
}

static int gen_other_event(struct generator *g, char type)
{
	uint16_t locate = gen_random_locate(g);
	uint32_t mid = gen_mid_walk(g, locate);
	uint8_t msg[64];

	gen_header(g, msg, (uint8_t)type, locate);
	switch (type) {
	case 'P':			/* non-displayable order execution */
		put_u64(msg + 11, 0);
		msg[19] = rng_chance(&g->rng, 0.5) ? 'B' : 'S';
		put_u32(msg + 20, gen_shares(g));
		gen_stock(g, msg + 24, locate);
		put_u32(msg + 32, mid + (uint32_t)rng_range(&g->rng, 0, 4) * GEN_TICK);
		put_u64(msg + 36, g->next_match++);
		break;
	case 'Q':
		put_u64(msg + 11, rng_range(&g->rng, 1, 500) * 100);
		gen_stock(g, msg + 19, locate);
		put_u32(msg + 27, mid);
		put_u64(msg + 31, g->next_match++);
		msg[39] = rng_pick(&g->rng, "OCHI");
		break;
	case 'I':
		put_u64(msg + 11, rng_range(&g->rng, 0, 100) * 100);
		put_u64(msg + 19, rng_range(&g->rng, 0, 50) * 100);
		msg[27] = rng_pick(&g->rng, "BSNO");
		gen_stock(g, msg + 28, locate);
		put_u32(msg + 36, mid + (uint32_t)rng_range(&g->rng, 0, 10) * GEN_TICK);
		put_u32(msg + 40, mid + (uint32_t)rng_range(&g->rng, 0, 5) * GEN_TICK);
		put_u32(msg + 44, mid);
		msg[48] = rng_pick(&g->rng, "OCH");
		msg[49] = rng_pick(&g->rng, "L123456789ABC ");
		break;
	case 'H':			/* stays trading: a halt would stall the mix */
		gen_stock(g, msg + 11, locate);
		msg[19] = 'T';
		msg[20] = ' ';
		put_alpha(msg + 21, "", 4);
		break;
	default:
		assert(!"not a standalone event");
	}
	return gen_send(g, msg);
}

static int gen_flow_message(struct generator *g)
{
	unsigned pick = (unsigned)rng_range(&g->rng, 0, 999), acc = 0;
	char type = 'A';

	for (size_t i = 0; i < sizeof(gen_mix) / sizeof(gen_mix[0]); i++) {
		acc += gen_mix[i].weight;
		if (pick < acc) {
			type = gen_mix[i].type;
			break;
		}
	}
	if (strchr("ECXDU", type)) {
		if (g->order_count == 0)
			type = 'A';
		else
			return gen_order_event(g, type);
	}
	if (type == 'A' || type == 'F') {
		if (g->order_count >= GEN_ORDERS_MAX)
			return gen_order_event(g, 'D');
		return gen_add(g, type == 'F');
	}
	return gen_other_event(g, type);
}

static int gen_run(uint64_t seed, uint64_t messages, unsigned symbols,
		   struct mold_packer *packer)
{
	struct generator g;
	int err;

	memset(&g, 0, sizeof(g));
	rng_seed(&g.rng, seed, 0x69746368);
	g.symbol_count = symbols;
	g.next_ref = 1;
	g.next_match = 1;
	g.timestamp_ns = GEN_START_NS;
	g.packer = packer;
	g.symbols = calloc(symbols, sizeof(*g.symbols));
	g.orders = calloc(GEN_ORDERS_MAX, sizeof(*g.orders));
	if (!g.symbols || !g.orders) {
		fprintf(stderr, "fh-pcap: out of memory\n");
		err = -ENOMEM;
		goto out;
	}
	gen_symbols_name(&g);
	err = gen_directory(&g);
	for (uint64_t i = 1 + symbols; i < messages && !err; i++)
		err = gen_flow_message(&g);
	if (!err)
		err = mold_packer_finish(packer);
	assert(err || packer->messages == messages);
out:
	for (unsigned i = 0; g.symbols && i < symbols; i++)
		for (int side = GEN_BID; side <= GEN_ASK; side++) {
			free(g.symbols[i].sides[side].prices);
			free(g.symbols[i].sides[side].orders);
		}
	free(g.symbols);
	free(g.orders);
	return err;
}

/* ---- NASDAQ binary file conversion -------------------------------------- */

/*
 * Streams a file of (2-byte big-endian length, message) records into the
 * packer. A zero length takes the length from the type byte, as in files that
 * leave the prefix empty. Returns 0 or -errno after naming the byte offset.
 */
static int convert_run(const char *path, uint64_t limit, struct mold_packer *packer)
{
	uint8_t msg[65536], prefix[2];
	uint64_t offset = 0, count = 0;
	int err = 0;
	FILE *f = fopen(path, "rb");

	if (!f) {
		fprintf(stderr, "fh-pcap: cannot open %s: %s\n", path, strerror(errno));
		return -errno;
	}
	while (!err && (limit == 0 || count < limit)) {
		size_t n = fread(prefix, 1, 2, f), have, len;

		if (n == 0)
			break;
		if (n == 1) {
			fprintf(stderr, "fh-pcap: %s: truncated length prefix at byte offset %" PRIu64 "\n",
				path, offset);
			err = -EINVAL;
			break;
		}
		len = get_u16(prefix);
		have = 0;
		if (len == 0) {
			if (fread(msg, 1, 1, f) != 1) {
				fprintf(stderr, "fh-pcap: %s: truncated record at byte offset %" PRIu64 ": zero length prefix and no type byte\n",
					path, offset);
				err = -EINVAL;
				break;
			}
			len = itch_message_len(msg[0]);
			if (len == 0) {
				fprintf(stderr, "fh-pcap: %s: unknown message type 0x%02x with zero length prefix at byte offset %" PRIu64 "\n",
					path, msg[0], offset);
				err = -EINVAL;
				break;
			}
			have = 1;
		}
		if (MOLD_HEADER_LEN + 2 + len > MOLD_PAYLOAD_MAX) {
			fprintf(stderr, "fh-pcap: %s: record of %zu bytes at byte offset %" PRIu64 " does not fit a %d byte MoldUDP64 packet\n",
				path, len, offset, MOLD_PAYLOAD_MAX);
			err = -EINVAL;
			break;
		}
		n = fread(msg + have, 1, len - have, f);
		if (n != len - have) {
			fprintf(stderr, "fh-pcap: %s: truncated record at byte offset %" PRIu64 ": need %zu message bytes, file has %zu\n",
				path, offset, len, have + n);
			err = -EINVAL;
			break;
		}
		err = mold_packer_add(packer, msg, len);
		offset += 2 + (have ? len - 1 : len);
		count++;
	}
	if (!err && ferror(f)) {
		fprintf(stderr, "fh-pcap: read %s: %s\n", path, strerror(errno));
		err = -EIO;
	}
	fclose(f);
	if (!err)
		err = mold_packer_finish(packer);
	return err;
}

/* ---- fault injection ---------------------------------------------------- */

struct inject_options {
	uint64_t seed;
	double loss[LINE_COUNT];
	double dup;
	double reorder;
	unsigned reorder_depth;
	double malformed;
	bool vlan_strip;
};

struct inject_item {
	uint64_t key;			/* slot in the source capture, x16 + sub-slot */
	uint64_t order;			/* creation order: stable tie break */
	uint64_t ts_us;
	uint8_t *data;
	uint32_t caplen;
	uint32_t wire_len;
	bool owned;
};

struct inject_stats {
	uint64_t in, out, dropped, protected, duplicated, reordered, malformed;
};

struct inject_state {
	struct inject_item *items;
	size_t count;
	size_t capacity;
	struct inject_stats stats[LINE_COUNT + 1];
};

static int inject_push(struct inject_state *s, uint64_t key, const struct pcap_packet *pkt,
		       uint8_t *data, uint32_t caplen, uint32_t wire_len, bool owned)
{
	struct inject_item *item;

	if (s->count == s->capacity) {
		size_t capacity = s->capacity ? s->capacity * 2 : 1024;
		void *grown = realloc(s->items, capacity * sizeof(*s->items));

		if (!grown) {
			if (owned)
				free(data);
			fprintf(stderr, "fh-pcap: out of memory\n");
			return -ENOMEM;
		}
		s->items = grown;
		s->capacity = capacity;
	}
	item = &s->items[s->count];
	item->key = key;
	item->order = s->count;
	item->ts_us = pkt->ts_us;
	item->data = data;
	item->caplen = caplen;
	item->wire_len = wire_len;
	item->owned = owned;
	s->count++;
	return 0;
}

static int inject_item_compare(const void *a, const void *b)
{
	const struct inject_item *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Offset of the last MoldUDP64 block in payload, or 0 if there is none. */
static size_t mold_last_block(const uint8_t *payload, size_t len)
{
	size_t off = MOLD_HEADER_LEN, last = 0;
	unsigned count;

	if (len < MOLD_HEADER_LEN)
		return 0;
	count = get_u16(payload + 18);
	if (count == MOLD_END_OF_SESSION)
		return 0;
	for (unsigned i = 0; i < count && off + 2 <= len; i++) {
		size_t block = get_u16(payload + off);

		if (off + 2 + block > len)
			break;
		last = off;
		off += 2 + block;
	}
	return last;
}

/*
 * Builds a corrupted copy of src (a parsed line packet) of the given kind into
 * out (src_len + MALFORMED_EXTRA_MAX bytes). Returns the captured length and
 * sets *wire_len. Kinds cycle so every decoder check gets hit.
 */
static size_t malformed_build(uint8_t *out, const uint8_t *src, size_t src_len,
			      const struct frame_info *info, unsigned kind, struct rng *rng,
			      uint32_t *wire_len)
{
	uint8_t *payload = out + info->payload_off;
	uint8_t *ip = out + info->ip_off, *udp = out + info->udp_off;
	size_t plen = info->payload_len, last, len = info->payload_off + plen;
	uint16_t count;

	memcpy(out, src, src_len);
	last = mold_last_block(payload, plen);
	count = plen >= MOLD_HEADER_LEN ? get_u16(payload + 18) : 0;
	switch (kind) {
	case 0: {			/* UDP payload cut in the middle of a message */
		size_t cut;

		if (last) {
			size_t block = get_u16(payload + last);

			cut = last + 2 + (block > 1 ? (size_t)rng_range(rng, 1, block - 1) : 0);
			if (cut == last + 2)
				cut = last + 1;
		} else {
			cut = plen > 1 ? (size_t)rng_range(rng, 1, (plen < MOLD_HEADER_LEN ? plen : MOLD_HEADER_LEN) - 1) : 0;
		}
		len = frame_set_payload_len(out, info, cut);
		break;
	}
	case 1:				/* message count larger than blocks present */
		if (plen < MOLD_HEADER_LEN)
			break;
		if (count == MOLD_END_OF_SESSION)
			count = 0;
		count = (uint16_t)(count + rng_range(rng, 1, 5));
		if (count >= MOLD_END_OF_SESSION)
			count = MOLD_END_OF_SESSION - 1;
		put_u16(payload + 18, count);
		len = frame_set_payload_len(out, info, plen);
		break;
	case 2:				/* block length overrunning the payload */
		if (last) {
			put_u16(payload + last, (uint16_t)(plen - last - 2 + rng_range(rng, 1, 100)));
		} else if (plen >= MOLD_HEADER_LEN) {
			put_u16(payload + 18, 1);
			put_u16(payload + MOLD_HEADER_LEN, 40);
			memset(payload + MOLD_HEADER_LEN + 2, 'A', 10);
			plen = MOLD_HEADER_LEN + 12;
		}
		len = frame_set_payload_len(out, info, plen);
		break;
	case 3: {			/* trailing garbage after the last block */
		size_t extra = (size_t)rng_range(rng, 1, 32);

		for (size_t i = 0; i < extra; i++)
			payload[plen + i] = (uint8_t)rng_next(rng);
		len = frame_set_payload_len(out, info, plen + extra);
		break;
	}
	case 4:				/* IPv4 total length beyond the frame */
		put_u16(ip + 2, (uint16_t)(get_u16(ip + 2) + rng_range(rng, 1, 200)));
		ipv4_set_checksum(ip);
		break;
	case 5: {			/* UDP length disagrees with IPv4 */
		uint16_t udp_len = get_u16(udp + 4);

		uint16_t room = (uint16_t)(udp_len - UDP_HEADER_LEN - 1);

		if (udp_len > UDP_HEADER_LEN + 1 && rng_chance(rng, 0.5))
			udp_len = (uint16_t)(udp_len - rng_range(rng, 1, room < 7 ? room : 7));
		else
			udp_len = (uint16_t)(udp_len + rng_range(rng, 1, 50));
		put_u16(udp + 4, udp_len);
		put_u16(udp + 6, 0);	/* no checksum can be right */
		break;
	}
	case 6:				/* first fragment: MF set, offset 0 */
		put_u16(ip + 6, 0x2000);
		ipv4_set_checksum(ip);
		break;
	case 7: {			/* random payload that cannot be this session */
		size_t n = (size_t)rng_range(rng, 0, RANDOM_PAYLOAD_MAX);

		for (size_t i = 0; i < n; i++)
			payload[i] = (uint8_t)rng_next(rng);
		if (n >= MOLD_SESSION_LEN && plen >= MOLD_SESSION_LEN &&
		    memcmp(payload, src + info->payload_off, MOLD_SESSION_LEN) == 0)
			payload[0] ^= 0xff;
		len = frame_set_payload_len(out, info, n);
		break;
	}
	case 8:				/* shorter than Ethernet + IPv4 headers */
		len = (size_t)rng_range(rng, 1, info->ip_off + IPV4_HEADER_LEN - 1);
		break;
	default:
		assert(!"unknown malformed kind");
	}
	assert(len <= src_len + MALFORMED_EXTRA_MAX);
	*wire_len = (uint32_t)len;
	return len;
}

static int line_of(const struct net_config *net, const struct pcap_packet *pkt,
		   struct frame_info *info)
{
	if (!frame_parse(pkt->data, pkt->caplen, info) || info->dest_port != net->dest_port)
		return LINE_OTHER;
	if (info->dest_ip == net->group[LINE_A])
		return LINE_A;
	if (info->dest_ip == net->group[LINE_B])
		return LINE_B;
	return LINE_OTHER;
}

/* MoldUDP64 identity (sequence, count) of a payload, for pairing A with B. */
static uint64_t mold_identity(const uint8_t *frame, const struct frame_info *info)
{
	const uint8_t *payload = frame + info->payload_off;

	if (info->payload_len < MOLD_HEADER_LEN)
		return UINT64_MAX;
	return get_u64(payload + 10) << 16 | get_u16(payload + 18);
}

static int u64_compare(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Applies the faults of one line. Packets of that line are at indexes[0..n)
 * in the capture. A B packet whose A copy was dropped (listed in a_dropped) is
 * never dropped, so one line always carries every message.
 */
static int inject_line(struct inject_state *s, const struct pcap_capture *cap,
		       const struct net_config *net, const struct inject_options *opt, int line,
		       const size_t *indexes, size_t n, uint64_t *a_dropped, size_t *a_dropped_count)
{
	struct inject_stats *st = &s->stats[line];
	struct rng loss, dup, reorder, malformed;
	unsigned kind = 0;
	int err;

	rng_seed(&loss, opt->seed, 0x100 + line);
	rng_seed(&dup, opt->seed, 0x200 + line);
	rng_seed(&reorder, opt->seed, 0x300 + line);
	rng_seed(&malformed, opt->seed, 0x400 + line);
	for (size_t j = 0; j < n; j++) {
		const struct pcap_packet *pkt = &cap->packets[indexes[j]];
		uint64_t key = (uint64_t)indexes[j] * 16;
		struct frame_info info;

		st->in++;
		line_of(net, pkt, &info);
		if (rng_chance(&loss, opt->loss[line])) {
			uint64_t id = mold_identity(pkt->data, &info);

			if (line == LINE_B && bsearch(&id, a_dropped, *a_dropped_count,
						      sizeof(*a_dropped), u64_compare)) {
				st->protected++;
			} else {
				if (line == LINE_A)
					a_dropped[(*a_dropped_count)++] = id;
				st->dropped++;
				goto faults_after;
			}
		}
		if (rng_chance(&reorder, opt->reorder)) {
			size_t target = j + (size_t)rng_range(&reorder, 1, opt->reorder_depth);

			if (target >= n)
				target = n - 1;
			if (target > j) {
				key = (uint64_t)indexes[target] * 16 + 8;
				st->reordered++;
			}
		}
		err = inject_push(s, key, pkt, pkt->data, pkt->caplen, pkt->wire_len, false);
		if (err)
			return err;
		st->out++;
		if (rng_chance(&dup, opt->dup)) {
			err = inject_push(s, (uint64_t)indexes[j] * 16 + 1, pkt, pkt->data,
					  pkt->caplen, pkt->wire_len, false);
			if (err)
				return err;
			st->duplicated++;
			st->out++;
		}
faults_after:
		if (rng_chance(&malformed, opt->malformed)) {
			uint8_t *bad = malloc(pkt->caplen + MALFORMED_EXTRA_MAX);
			uint32_t wire_len;
			size_t len;

			if (!bad) {
				fprintf(stderr, "fh-pcap: out of memory\n");
				return -ENOMEM;
			}
			len = malformed_build(bad, pkt->data, pkt->caplen, &info,
					      kind++ % MALFORMED_KINDS, &malformed, &wire_len);
			err = inject_push(s, (uint64_t)indexes[j] * 16 + 2, pkt, bad,
					  (uint32_t)len, wire_len, true);
			if (err)
				return err;
			st->malformed++;
			st->out++;
		}
	}
	return 0;
}

static int inject_run(const char *in_path, const char *out_path, const struct net_config *net,
		      const struct inject_options *opt)
{
	struct pcap_capture cap;
	struct inject_state s;
	struct pcap_writer out = { 0 };
	size_t *indexes[LINE_COUNT] = { NULL, NULL }, counts[LINE_COUNT] = { 0, 0 };
	uint64_t *a_dropped = NULL, last_ts = 0;
	size_t a_dropped_count = 0;
	int err;

	memset(&s, 0, sizeof(s));
	err = pcap_capture_load(&cap, in_path);
	if (err)
		goto out;
	err = -ENOMEM;
	indexes[LINE_A] = malloc((cap.count + 1) * sizeof(size_t));
	indexes[LINE_B] = malloc((cap.count + 1) * sizeof(size_t));
	a_dropped = malloc((cap.count + 1) * sizeof(uint64_t));
	if (!indexes[LINE_A] || !indexes[LINE_B] || !a_dropped) {
		fprintf(stderr, "fh-pcap: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < cap.count; i++) {
		struct frame_info info;
		int line = line_of(net, &cap.packets[i], &info);

		if (line == LINE_OTHER) {
			s.stats[LINE_OTHER].in++;
			s.stats[LINE_OTHER].out++;
			err = inject_push(&s, (uint64_t)i * 16, &cap.packets[i], cap.packets[i].data,
					  cap.packets[i].caplen, cap.packets[i].wire_len, false);
			if (err)
				goto out;
			continue;
		}
		indexes[line][counts[line]++] = i;
	}
	err = inject_line(&s, &cap, net, opt, LINE_A, indexes[LINE_A], counts[LINE_A],
			  a_dropped, &a_dropped_count);
	if (err)
		goto out;
	qsort(a_dropped, a_dropped_count, sizeof(*a_dropped), u64_compare);
	err = inject_line(&s, &cap, net, opt, LINE_B, indexes[LINE_B], counts[LINE_B],
			  a_dropped, &a_dropped_count);
	if (err)
		goto out;

	if (s.count > 0)	/* qsort's base may not be NULL, which it is with no packets */
		qsort(s.items, s.count, sizeof(*s.items), inject_item_compare);
	else
		fprintf(stderr, "fh-pcap: %s: no packets; %s will hold none\n", in_path, out_path);
	err = pcap_writer_open(&out, out_path);
	for (size_t i = 0; i < s.count && !err; i++) {
		struct inject_item *item = &s.items[i];
		static uint8_t stripped[PCAP_RECORD_MAX];
		const uint8_t *data = item->data;
		uint32_t caplen = item->caplen, wire_len = item->wire_len;

		/* Moved and inserted packets take the clock of their new slot. */
		if (item->ts_us > last_ts)
			last_ts = item->ts_us;
		if (opt->vlan_strip && caplen >= ETH_HEADER_LEN + VLAN_TAG_LEN &&
		    get_u16(data + 12) == ETH_TYPE_VLAN) {
			memcpy(stripped, data, 12);
			memcpy(stripped + 12, data + 16, caplen - 16);
			data = stripped;
			caplen -= VLAN_TAG_LEN;
			wire_len = wire_len >= VLAN_TAG_LEN ? wire_len - VLAN_TAG_LEN : 0;
		}
		err = pcap_writer_put(&out, last_ts, data, caplen, wire_len);
	}
	if (!err)
		err = pcap_writer_close(&out);

	fprintf(stderr, "fh-pcap inject: seed %" PRIu64 "\n", opt->seed);
	for (int line = LINE_A; line <= LINE_OTHER; line++) {
		const struct inject_stats *st = &s.stats[line];

		fprintf(stderr, "  line %-5s in %" PRIu64 " out %" PRIu64 " dropped %" PRIu64
			" duplicated %" PRIu64 " reordered %" PRIu64 " malformed %" PRIu64
			" loss-protected %" PRIu64 "\n", line_names[line], st->in, st->out,
			st->dropped, st->duplicated, st->reordered, st->malformed, st->protected);
	}
out:
	pcap_writer_close(&out);
	for (size_t i = 0; i < s.count; i++)
		if (s.items[i].owned)
			free(s.items[i].data);
	free(s.items);
	free(indexes[LINE_A]);
	free(indexes[LINE_B]);
	free(a_dropped);
	pcap_capture_free(&cap);
	return err;
}

/* ---- command line ------------------------------------------------------- */

static const char usage_text[] =
	"usage: fh-pcap <command> [options]\n"
	"\n"
	"  fh-pcap gen --seed N --messages M --out FILE.pcap [--symbols S] [--per-packet K]\n"
	"      synthetic ITCH 5.0 session: 1 system event, S stock directory messages,\n"
	"      then order flow up to M messages in total (default S 8, K random 1..8)\n"
	"  fh-pcap convert --in ITCHFILE --out FILE.pcap [--per-packet K] [--limit N]\n"
	"                  [--session NAME] [--seed N]\n"
	"      wrap a NASDAQ binary ITCH file (2-byte length + message; a 0 length is\n"
	"      taken from the message type)\n"
	"  fh-pcap inject --in IN.pcap --out OUT.pcap --seed N [--loss-a P] [--loss-b P]\n"
	"                 [--dup P] [--reorder P] [--reorder-depth D] [--malformed P]\n"
	"                 [--vlan-strip]\n"
	"      seeded per-line faults; P is a probability in [0,1], D defaults to 3\n"
	"\n"
	"  gen and convert also take --format itch: write the messages as a NASDAQ\n"
	"  binary ITCH file (2-byte length + message) instead of a pcap.\n"
	"  gen and convert also take: --session NAME (10 chars, default FHGEN00001),\n"
	"  --vlan ID; all commands take --group-a IP (233.54.12.111), --group-b IP\n"
	"  (233.49.196.111), --udp-port P (26477).\n"
	"  Each MoldUDP64 packet is written as line A then line B, 10 us apart per\n"
	"  packet, B 3 us after A. Exit status: 0 ok, 1 failure, 2 usage error.\n";

static int usage_error(const char *command, const char *fmt, const char *arg)
{
	fprintf(stderr, "fh-pcap%s%s: ", *command ? " " : "", command);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nrun 'fh-pcap --help' for usage\n");
	return 2;
}

static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_probability(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0.0 && v <= 1.0))
		return false;
	*out = v;
	return true;
}

static bool parse_group(const char *s, uint32_t *out)
{
	struct in_addr addr;

	if (inet_pton(AF_INET, s, &addr) != 1)
		return false;
	*out = ntohl(addr.s_addr);
	return (*out >> 28) == 0xe;	/* 224.0.0.0/4 */
}

enum option_id {
	OPT_SEED = 256, OPT_MESSAGES, OPT_SYMBOLS, OPT_OUT, OPT_IN, OPT_PER_PACKET,
	OPT_LIMIT, OPT_SESSION, OPT_VLAN, OPT_GROUP_A, OPT_GROUP_B, OPT_UDP_PORT,
	OPT_LOSS_A, OPT_LOSS_B, OPT_DUP, OPT_REORDER, OPT_REORDER_DEPTH, OPT_MALFORMED,
	OPT_VLAN_STRIP, OPT_FORMAT, OPT_HELP,
};

static const struct option long_options[] = {
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "messages", required_argument, NULL, OPT_MESSAGES },
	{ "symbols", required_argument, NULL, OPT_SYMBOLS },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "in", required_argument, NULL, OPT_IN },
	{ "per-packet", required_argument, NULL, OPT_PER_PACKET },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "session", required_argument, NULL, OPT_SESSION },
	{ "vlan", required_argument, NULL, OPT_VLAN },
	{ "group-a", required_argument, NULL, OPT_GROUP_A },
	{ "group-b", required_argument, NULL, OPT_GROUP_B },
	{ "udp-port", required_argument, NULL, OPT_UDP_PORT },
	{ "loss-a", required_argument, NULL, OPT_LOSS_A },
	{ "loss-b", required_argument, NULL, OPT_LOSS_B },
	{ "dup", required_argument, NULL, OPT_DUP },
	{ "reorder", required_argument, NULL, OPT_REORDER },
	{ "reorder-depth", required_argument, NULL, OPT_REORDER_DEPTH },
	{ "malformed", required_argument, NULL, OPT_MALFORMED },
	{ "vlan-strip", no_argument, NULL, OPT_VLAN_STRIP },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* Options each command accepts, by option id; anything else is a usage error. */
static bool option_allowed(const char *command, int id)
{
	static const int gen[] = { OPT_SEED, OPT_MESSAGES, OPT_SYMBOLS, OPT_OUT, OPT_PER_PACKET,
				   OPT_SESSION, OPT_VLAN, OPT_GROUP_A, OPT_GROUP_B, OPT_UDP_PORT,
				   OPT_FORMAT, 0 };
	static const int convert[] = { OPT_IN, OPT_OUT, OPT_PER_PACKET, OPT_LIMIT, OPT_SEED, OPT_FORMAT,
				       OPT_SESSION, OPT_VLAN, OPT_GROUP_A, OPT_GROUP_B,
				       OPT_UDP_PORT, 0 };
	static const int inject[] = { OPT_IN, OPT_OUT, OPT_SEED, OPT_LOSS_A, OPT_LOSS_B, OPT_DUP,
				      OPT_REORDER, OPT_REORDER_DEPTH, OPT_MALFORMED,
				      OPT_VLAN_STRIP, OPT_GROUP_A, OPT_GROUP_B, OPT_UDP_PORT, 0 };
	const int *list = !strcmp(command, "gen") ? gen : !strcmp(command, "convert") ? convert : inject;

	for (; *list; list++)
		if (*list == id)
			return true;
	return false;
}

static const char *option_name(int id)
{
	for (const struct option *o = long_options; o->name; o++)
		if (o->val == id)
			return o->name;
	return "?";
}

int main(int argc, char **argv)
{
	const char *command, *in_path = NULL, *out_path = NULL, *session = MOLD_DEFAULT_SESSION;
	uint64_t seed = 0, messages = 0, symbols = GEN_SYMBOLS_DEFAULT, per_packet = 0;
	uint64_t limit = 0, value;
	bool have_seed = false, have_messages = false, itch_format = false;
	struct inject_options inject = { .reorder_depth = REORDER_DEPTH_DEFAULT };
	struct net_config net;
	struct pcap_writer out = { 0 };
	struct mold_packer *packer;
	int opt, err;

	net_config_default(&net);
	if (argc < 2)
		return usage_error("", "missing command%s", "");
	command = argv[1];
	if (!strcmp(command, "--help") || !strcmp(command, "-h") || !strcmp(command, "help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(command, "gen") && strcmp(command, "convert") && strcmp(command, "inject"))
		return usage_error("", "unknown command '%s'", command);

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc - 1, argv + 1, "", long_options, NULL)) != -1) {
		const char *arg = optarg;
		bool ok = true;

		if (opt == OPT_HELP) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (opt == '?' || opt == ':')
			return usage_error(command, "unknown option or missing value near '%s'",
					   argv[optind < argc ? optind : argc - 1]);
		if (!option_allowed(command, opt))
			return usage_error(command, "option --%s does not apply here",
					   option_name(opt));
		switch (opt) {
		case OPT_SEED:
			ok = parse_u64(arg, 0, UINT64_MAX, &seed);
			have_seed = true;
			break;
		case OPT_MESSAGES:
			ok = parse_u64(arg, 1, 1000000000000ull, &messages);
			have_messages = true;
			break;
		case OPT_SYMBOLS:
			ok = parse_u64(arg, 1, GEN_SYMBOLS_MAX, &symbols);
			break;
		case OPT_OUT:
			out_path = arg;
			break;
		case OPT_IN:
			in_path = arg;
			break;
		case OPT_PER_PACKET:
			ok = parse_u64(arg, 1, MOLD_PAYLOAD_MAX, &per_packet);
			break;
		case OPT_LIMIT:
			ok = parse_u64(arg, 1, UINT64_MAX, &limit);
			break;
		case OPT_SESSION:
			ok = strlen(arg) == MOLD_SESSION_LEN;
			session = arg;
			break;
		case OPT_VLAN:
			ok = parse_u64(arg, 0, 4095, &value);
			net.vlan_id = (int)value;
			break;
		case OPT_GROUP_A:
			ok = parse_group(arg, &net.group[LINE_A]);
			break;
		case OPT_GROUP_B:
			ok = parse_group(arg, &net.group[LINE_B]);
			break;
		case OPT_UDP_PORT:
			ok = parse_u64(arg, 1, 65535, &value);
			net.dest_port = (uint16_t)value;
			break;
		case OPT_LOSS_A:
			ok = parse_probability(arg, &inject.loss[LINE_A]);
			break;
		case OPT_LOSS_B:
			ok = parse_probability(arg, &inject.loss[LINE_B]);
			break;
		case OPT_DUP:
			ok = parse_probability(arg, &inject.dup);
			break;
		case OPT_REORDER:
			ok = parse_probability(arg, &inject.reorder);
			break;
		case OPT_REORDER_DEPTH:
			ok = parse_u64(arg, 1, 1000, &value);
			inject.reorder_depth = (unsigned)value;
			break;
		case OPT_MALFORMED:
			ok = parse_probability(arg, &inject.malformed);
			break;
		case OPT_VLAN_STRIP:
			inject.vlan_strip = true;
			break;
		case OPT_FORMAT:
			ok = !strcmp(arg, "pcap") || !strcmp(arg, "itch");
			itch_format = !strcmp(arg, "itch");
			break;
		}
		if (!ok)
			return usage_error(command, "bad value '%s'", arg);
	}
	if (optind + 1 < argc)
		return usage_error(command, "unexpected argument '%s'", argv[optind + 1]);
	if (!out_path)
		return usage_error(command, "--out FILE is required%s", "");
	if (net.group[LINE_A] == net.group[LINE_B])
		return usage_error(command, "line A and line B need different groups%s", "");

	if (!strcmp(command, "inject")) {
		if (!in_path || !have_seed)
			return usage_error(command, "--in and --seed are required%s", "");
		inject.seed = seed;
		return inject_run(in_path, out_path, &net, &inject) ? 1 : 0;
	}
	if (!strcmp(command, "gen")) {
		if (!have_seed || !have_messages)
			return usage_error(command, "--seed and --messages are required%s", "");
		if (messages < symbols + 1)
			return usage_error(command, "--messages must cover the system event and one directory message per symbol%s", "");
	} else {
		if (!in_path)
			return usage_error(command, "--in is required%s", "");
		if (!have_seed)
			seed = CONVERT_SEED_DEFAULT;
	}

	packer = malloc(sizeof(*packer));
	if (!packer) {
		fprintf(stderr, "fh-pcap: out of memory\n");
		return 1;
	}
	if (itch_format) {
		FILE *itch = out_file_open(out_path);

		if (!itch) {
			free(packer);
			return 1;
		}
		mold_packer_init(packer, session, (unsigned)per_packet, seed, NULL, &net);
		packer->itch_out = itch;
		err = !strcmp(command, "gen") ? gen_run(seed, messages, (unsigned)symbols, packer)
					      : convert_run(in_path, limit, packer);
		if (fclose(itch) != 0)
			err = err ? err : -EIO;
		if (err)
			remove(out_path);
		else
			fprintf(stderr, "fh-pcap %s: %" PRIu64 " messages written to %s (ITCH binary)\n",
				command, packer->messages, out_path);
		free(packer);
		return err ? 1 : 0;
	}
	err = pcap_writer_open(&out, out_path);
	if (!err) {
		mold_packer_init(packer, session, (unsigned)per_packet, seed, &out, &net);
		if (!strcmp(command, "gen"))
			err = gen_run(seed, messages, (unsigned)symbols, packer);
		else
			err = convert_run(in_path, limit, packer);
	}
	if (!err)
		err = pcap_writer_close(&out);
	pcap_writer_close(&out);
	if (!err)
		fprintf(stderr, "fh-pcap %s: %" PRIu64 " messages in %" PRIu64
			" MoldUDP64 packets (+1 end of session), %" PRIu64 " frames written to %s\n",
			command, packer->messages, packer->packets - 1, out.packets, out_path);
	else if (out.path)
		remove(out_path);
	free(packer);
	return err ? 1 : 0;
}
