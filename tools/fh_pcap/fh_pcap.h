/*
 * fh_pcap.h: the shared interfaces of fh-pcap, the offline capture tool for testing
 * fh without a live exchange. Each subcommand is one file (gen.c, convert.c,
 * inject.c) and main.c only picks one. What they share is declared here: the seeded
 * random numbers (rng.c), classic pcap files in and out (pcap.c), Ethernet/IPv4/UDP
 * frames (frame.c), writing a packet on line A then line B with a realistic capture
 * clock (line_pair.c), the MoldUDP64 packetiser (mold_packer.c), fh-pcap's own ITCH
 * 5.0 tables (itch50.c), the ITCH session generator (itch50_session.c), the output of
 * a message stream as pcap or NASDAQ binary file (session_output.c) and the command
 * line (cli.c). A venue's generator is one more file beside itch50_session.c: it
 * draws from rng.c and writes its packets through line_pair.c, as the CME MDP 3.0
 * generator (mdp3_session.c) does. fh-pcap includes no decoder code from decoders/:
 * it must not share a decoder's bugs, since the tests cross-check fhd against its
 * output. The one exception is the MDP3 layout constants of mdp3_templates.h (field
 * offsets only, checked against CME's schema), and tests/ref_mdp3.py, written from
 * the doc alone, reads every capture the generator writes.
 */
#ifndef FH_TOOLS_FH_PCAP_H
#define FH_TOOLS_FH_PCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "book/util/wire.h"

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

#define PCAP_RECORD_MAX 262144		/* larger records mean a corrupt file */

#define GEN_SYMBOLS_DEFAULT 8
#define GEN_SYMBOLS_MAX 10000

_Static_assert(GEN_SYMBOLS_MAX < 65536, "locates are 16 bit");

enum line_id { LINE_A = 0, LINE_B = 1, LINE_COUNT = 2, LINE_OTHER = 2 };

/* ---- byte writers (big-endian unless named _le); loads come from book/util/wire.h */

static inline void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static inline void put_u32(uint8_t *p, uint32_t v)
{
	put_u16(p, v >> 16);
	put_u16(p + 2, v);
}

static inline void put_u48(uint8_t *p, uint64_t v)
{
	put_u16(p, v >> 32);
	put_u32(p + 2, v);
}

static inline void put_u64(uint8_t *p, uint64_t v)
{
	put_u32(p, v >> 32);
	put_u32(p + 4, v);
}

static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, v);
	put_le16(p + 2, v >> 16);
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, v);
	put_le32(p + 4, v >> 32);
}

static inline uint16_t load_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t load_le32(const uint8_t *p)
{
	return load_le16(p) | (uint32_t)load_le16(p + 2) << 16;
}

/* An alphanumeric field: s left-justified, space-padded (or cut) to width bytes. */
static inline void put_alpha(uint8_t *p, const char *s, size_t width)
{
	size_t n = strlen(s);

	memset(p, ' ', width);
	memcpy(p, s, n < width ? n : width);
}

/* ---- rng.c: deterministic random numbers (splitmix64) ----------------- */

struct rng {
	uint64_t state;
};

void rng_seed(struct rng *rng, uint64_t seed, uint64_t stream);
uint64_t rng_next(struct rng *rng);
uint64_t rng_range(struct rng *rng, uint64_t lo, uint64_t hi);
bool rng_chance(struct rng *rng, double p);
uint8_t rng_pick(struct rng *rng, const char *choices);

/* ---- pcap.c: classic pcap output and input (pcapng input: pcapng.c) ---- */

struct pcap_writer {
	FILE *file;
	const char *path;
	uint64_t packets;
};

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

FILE *out_file_open(const char *path);
int pcap_writer_open(struct pcap_writer *w, const char *path);
int pcap_writer_put(struct pcap_writer *w, uint64_t ts_us, const uint8_t *frame,
		    uint32_t caplen, uint32_t wire_len);
int pcap_writer_close(struct pcap_writer *w);
int pcap_capture_load(struct pcap_capture *cap, const char *path);
void pcap_capture_free(struct pcap_capture *cap);

/*
 * A new packet at the end of cap with room for caplen bytes of data (counted in cap
 * at once, so pcap_capture_free frees it), or NULL after saying "out of memory".
 */
struct pcap_packet *pcap_capture_add(struct pcap_capture *cap, const char *path, uint32_t caplen);

/* ---- pcapng.c: pcapng input (fhd's journal among others) ---------------- */

/*
 * Reads the pcapng capture f (path for messages), positioned at its start, into cap:
 * its Enhanced and Simple Packet Blocks, timestamps in microseconds whatever each
 * interface's resolution, Ethernet interfaces only. 0, or -errno after saying why.
 */
int pcapng_capture_read(struct pcap_capture *cap, FILE *f, const char *path);

/* ---- frame.c: Ethernet / IPv4 / UDP framing ---------------------------- */

struct net_config {
	uint32_t group[LINE_COUNT];		/* host order */
	uint32_t source_ip[LINE_COUNT];
	uint16_t source_port[LINE_COUNT];
	uint16_t dest_port[LINE_COUNT];
	int vlan_id;				/* -1: untagged */
};

struct frame_info {
	size_t ip_off;
	size_t udp_off;
	size_t payload_off;
	size_t payload_len;
	uint32_t dest_ip;
	uint16_t dest_port;
	bool vlan;
};

void net_config_default(struct net_config *net);
void ipv4_set_checksum(uint8_t *ip);
size_t frame_build(uint8_t *frame, const struct net_config *net, int line,
		   uint16_t ip_id, const uint8_t *payload, size_t payload_len);
bool frame_parse(const uint8_t *frame, size_t len, struct frame_info *info);
size_t frame_set_payload_len(uint8_t *frame, const struct frame_info *info, size_t len);

/* ---- line_pair.c: one packet on both lines, on a realistic capture clock - */

struct line_pair {
	struct pcap_writer *out;
	const struct net_config *net;
	uint64_t packets;		/* packets written, each once per line */
	uint64_t last_emit_us;		/* capture time of the last packet written */
};

void line_pair_init(struct line_pair *lp, struct pcap_writer *out, const struct net_config *net);
int line_pair_write(struct line_pair *lp, uint64_t exchange_ns, const uint8_t *payload,
		    size_t len);
int line_pair_write_on(struct line_pair *lp, const struct net_config *net, uint64_t exchange_ns,
		       const uint8_t *payload, size_t len);

/* ---- mold_packer.c: MoldUDP64 packetiser ------------------------------- */

struct mold_packer {
	char session[MOLD_SESSION_LEN];
	uint64_t next_seq;		/* sequence of the first message being packed */
	uint8_t payload[MOLD_PAYLOAD_MAX];
	size_t len;
	unsigned count;
	unsigned target;		/* messages wanted in the current packet */
	unsigned per_packet;		/* 0: random 1..PER_PACKET_RANDOM_MAX */
	struct rng rng;
	struct line_pair lines;		/* MoldUDP64 packets written, on both lines */
	FILE *itch_out;			/* --format itch: raw records instead of packets */
	uint64_t messages;
	uint64_t last_ts_ns;		/* ITCH timestamp of the newest message packed */
};

void mold_packer_init(struct mold_packer *p, const char *session, unsigned per_packet,
		      uint64_t seed, struct pcap_writer *out, const struct net_config *net);
int mold_packer_add(struct mold_packer *p, const uint8_t *msg, size_t len);
int mold_packer_finish(struct mold_packer *p);

/* ---- itch50.c: fh-pcap's own ITCH 5.0 tables and header encoder -------- */

#define ITCH_HEADER_LEN 11		/* type, locate, tracking number, timestamp */

unsigned itch_message_len(uint8_t type);
void itch_header_put(uint8_t *msg, uint8_t type, uint16_t locate, uint64_t timestamp_ns);
uint64_t itch_timestamp_ns(const uint8_t *msg);

/* ---- itch50_session.c: the synthetic ITCH 5.0 session ------------------ */

/* shallow: today's small books with seeded errors; deep: benchmark-sized, no errors */
enum gen_profile_id { GEN_PROFILE_SHALLOW = 0, GEN_PROFILE_DEEP = 1 };

int itch50_session_generate(uint64_t seed, uint64_t messages, unsigned symbols,
			    enum gen_profile_id profile, struct mold_packer *packer);

/* ---- mdp3_session.c: the synthetic CME MDP 3.0 session ------------------ */

#define MDP3_GEN_CHANNEL 310
#define MDP3_GEN_INSTRUMENTS_DEFAULT 8
#define MDP3_GEN_INSTRUMENTS_MAX 200

struct mdp3_gen_options {
	uint64_t seed, messages;
	unsigned instruments;
	bool snapshot_loop;
	const char *books_path;		/* NULL: no true books written */
	const char *orders_path;	/* NULL: no true order books written */
};

/* Channel 310's lines (cme-mdp3.md section 8): incremental, snapshot, snapshot MBO. */
void mdp3_net_incremental(struct net_config *net);
int mdp3_session_write(const struct mdp3_gen_options *opt, const char *out_path, int vlan_id);

/* ---- cli.c: the command line shared by every subcommand ---------------- */

enum option_id {
	OPT_SEED = 256, OPT_MESSAGES, OPT_SYMBOLS, OPT_OUT, OPT_IN, OPT_PER_PACKET,
	OPT_LIMIT, OPT_SESSION, OPT_VLAN, OPT_GROUP_A, OPT_GROUP_B, OPT_UDP_PORT,
	OPT_LOSS_A, OPT_LOSS_B, OPT_DUP, OPT_REORDER, OPT_REORDER_DEPTH, OPT_MALFORMED,
	OPT_VLAN_STRIP, OPT_FORMAT, OPT_PROFILE, OPT_PROTOCOL, OPT_INSTRUMENTS, OPT_BOOKS,
	OPT_ORDERS, OPT_SNAPSHOT_LOOP, OPT_HELP,
};

/* The venue whose packets gen writes and inject pairs and corrupts. */
enum fh_pcap_protocol { PROTOCOL_ITCH = 0, PROTOCOL_MDP3 = 1 };

#define REORDER_DEPTH_DEFAULT 3

struct inject_options {
	uint64_t seed;
	double loss[LINE_COUNT];
	double dup;
	double reorder;
	unsigned reorder_depth;
	double malformed;
	bool vlan_strip;
	enum fh_pcap_protocol protocol;
};

/* Everything the command line said; what a subcommand does not take stays default. */
struct fh_pcap_args {
	const char *command;
	const char *in_path, *out_path, *session;
	const char *books_path, *orders_path;
	uint64_t seed, messages, symbols, per_packet, limit, instruments;
	bool have_seed, have_messages, itch_format, have_net, have_instruments, snapshot_loop;
	enum fh_pcap_protocol protocol;
	enum gen_profile_id profile;
	struct inject_options inject;
	struct net_config net;
};

/* One subcommand: its name, the options it accepts (0-terminated), what runs it. */
struct fh_pcap_command {
	const char *name;
	const int *options;
	int (*run)(const struct fh_pcap_args *args);	/* the exit status */
};

#define CLI_RUN (-1)			/* cli_parse: the options are good, run the command */

void cli_usage_print(void);
int cli_usage_error(const char *command, const char *fmt, const char *arg);
int cli_parse(int argc, char **argv, const struct fh_pcap_command *command,
	      struct fh_pcap_args *args);

/* ---- session_output.c: a gen or convert message stream to its output file */

typedef int (*session_produce_fn)(const struct fh_pcap_args *args, struct mold_packer *packer);

int session_output_write(const struct fh_pcap_args *args, uint64_t seed,
			 session_produce_fn produce);

/* ---- the subcommands: gen.c, convert.c, inject.c (with malformed.c) ------ */

extern const struct fh_pcap_command gen_command, convert_command, inject_command;

#define MALFORMED_EXTRA_MAX 1600	/* growth of a corrupted copy over its source */
#define MALFORMED_KINDS 9

size_t malformed_build(uint8_t *out, const uint8_t *src, size_t src_len,
		       const struct frame_info *info, unsigned kind, struct rng *rng,
		       enum fh_pcap_protocol protocol, uint32_t *wire_len);

#endif
