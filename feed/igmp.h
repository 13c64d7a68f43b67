/*
 * igmp: the host side of IGMPv3 (RFC 3376) for ports whose NIC DPDK owns, where no
 * kernel joins groups for fhd: the membership of a port's lines, the frames that
 * announce it (Membership Reports, with IGMPv2 Reports and Leaves for an older
 * querier, RFC 3376 §7), the decoding of Membership Queries with every length and
 * checksum checked, and the timers that answer them (RFC 3376 §5). Pure: no DPDK, no
 * clock and no I/O of its own; the control lcore's glue (feed/dpdk/igmp_port.c)
 * feeds it frames and the time, and sends what it writes.
 */
#ifndef FH_FEED_IGMP_H
#define FH_FEED_IGMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IGMP_GROUPS_MAX 32		/* groups per port: every line of every feed (CFG_FEEDS_MAX x 2) */
#define IGMP_SOURCES_MAX 32		/* sources per group (one per line at most) */
#define IGMP_FRAME_MAX 1514		/* one Ethernet frame; a report of every group fits */
#define IGMP_ALL_HOSTS 0xe0000001u	/* 224.0.0.1: general queries (RFC 3376 §4.1.12) */
#define IGMP_ALL_ROUTERS 0xe0000002u	/* 224.0.0.2: IGMPv2 Leave Group (RFC 2236 §3) */
#define IGMP_V3_ROUTERS 0xe0000016u	/* 224.0.0.22: IGMPv3 reports (RFC 3376 §4.2.14) */
#define IGMP_ROBUSTNESS 2		/* reports repeated (RFC 3376 §8.1's default) */
#define IGMP_UNSOLICITED_INTERVAL_NS 1000000000ull	/* between repeats (RFC 3376 §8.11) */
/* Older Version Querier Present Timeout: robustness x 125 s + 10 s (RFC 3376 §8.12). */
#define IGMP_OLDER_QUERIER_NS (260ull * 1000000000ull)
/*
 * Answers to queries per second, at most: a query flood cannot make the control lcore
 * transmit without end. An answer over the budget stays due and goes out when the
 * budget allows; queries meanwhile only move its time earlier.
 */
#define IGMP_ANSWERS_PER_S 10
/*
 * An answer is due this much before the end of Max Resp Time at the latest: the
 * control loop that sends it wakes every 10 ms, and the answer must still be in time.
 */
#define IGMP_ANSWER_MARGIN_NS 50000000ull

/* One group a port is a member of, as its lines ask (see igmp_membership_add). */
struct igmp_group {
	uint32_t group_ip;		/* host byte order */
	bool exclude;			/* EXCLUDE {} (any source); else INCLUDE {sources} */
	uint16_t sources_count;
	uint32_t sources[IGMP_SOURCES_MAX];
};

struct igmp_membership {
	struct igmp_group groups[IGMP_GROUPS_MAX];
	uint32_t groups_count;
};

/*
 * Adds a line's wish to m: group_ip from any source (has_source false), or from
 * source_ip alone. A group already in m merges (RFC 3376 §3.2): any source wins over
 * a list; two sources make a list of both. 0, or -ENOSPC past IGMP_GROUPS_MAX groups
 * or IGMP_SOURCES_MAX sources.
 */
int igmp_membership_add(struct igmp_membership *m, uint32_t group_ip, bool has_source, uint32_t source_ip);

/* What a report says of its groups (RFC 3376 §4.2.12). */
enum igmp_report_kind {
	IGMP_REPORT_CURRENT = 0,	/* MODE_IS_EXCLUDE {} / MODE_IS_INCLUDE {S}: answers to queries */
	IGMP_REPORT_JOIN,		/* CHANGE_TO_EXCLUDE {} / ALLOW_NEW_SOURCES {S}: at start */
	IGMP_REPORT_LEAVE,		/* CHANGE_TO_INCLUDE {} / BLOCK_OLD_SOURCES {S}: at stop */
};

/* The sender of fhd's frames: the port's MAC and the configured source address. */
struct igmp_sender {
	uint8_t mac[6];
	uint32_t ip;			/* host byte order; 0.0.0.0 is allowed (RFC 3376 §4.2.13) */
};

/*
 * Writes into frame (size bytes) an Ethernet frame to 01:00:5e:00:00:16 carrying an
 * IPv4 packet to 224.0.0.22 (TTL 1, Router Alert, RFC 3376 §4) with an IGMPv3
 * Membership Report of m's groups, every one (group < 0) or groups[group] alone, each
 * record of kind. Checksums right. Returns the frame's length, or 0 when it does not
 * fit size (nothing meaningful written).
 */
uint32_t igmp_v3_report_write(uint8_t *frame, size_t size, const struct igmp_sender *from,
			      const struct igmp_membership *m, int32_t group, enum igmp_report_kind kind);

/*
 * An IGMPv2 message (RFC 2236 §2) in the same kind of frame: a Membership Report
 * (leave false) to the group itself, or a Leave Group to 224.0.0.2. For an older
 * querier, which has no source lists: the whole group is joined. Returns the length,
 * or 0 when it does not fit.
 */
uint32_t igmp_v2_message_write(uint8_t *frame, size_t size, const struct igmp_sender *from,
			       uint32_t group_ip, bool leave);

/* How far a received IGMP frame got (igmp_query_decode); every one is counted. */
enum igmp_verdict {
	IGMP_QUERY = 0,		/* a Membership Query, decoded */
	IGMP_NOT_IGMP,		/* not IPv4 protocol 2 */
	IGMP_TRUNCATED,		/* shorter than its headers or its length claims */
	IGMP_BAD_IP,		/* IPv4 version, header length, total length or checksum invalid; a fragment */
	IGMP_BAD_CHECKSUM,	/* the IGMP checksum is wrong */
	IGMP_BAD_LENGTH,	/* a query of 9..11 bytes (RFC 3376 §7.1) or sources past its end */
	IGMP_BAD_GROUP,		/* a group-specific query for an address that is not a group */
	IGMP_OTHER,		/* a valid IGMP message that is no query (another host's report) */
	IGMP_VERDICTS
};

/* A decoded Membership Query. */
struct igmp_query {
	uint32_t src_ip;	/* host byte order */
	uint32_t dst_ip;
	uint32_t group_ip;	/* 0: a general query */
	uint32_t max_resp_ds;	/* Max Resp Time, tenths of a second (RFC 3376 §4.1.1) */
	uint8_t version;	/* 1, 2 or 3 (RFC 3376 §7.1) */
	uint16_t sources_count;	/* a v3 group-and-source-specific query's sources */
};

/*
 * Decodes the Ethernet frame[0..len) (one 802.1Q tag allowed) as an IGMP query:
 * IPv4 header (version, length, checksum, no fragment), then the message, its
 * checksum over the IP payload, its length (8: v1 when Max Resp is 0, else v2; 12
 * and more: v3 with room for its sources; RFC 3376 §7.1). Never reads past len.
 */
enum igmp_verdict igmp_query_decode(const uint8_t *frame, uint32_t len, struct igmp_query *q);

/* Whether frame[0..len) is an IPv4 packet of protocol 2 (IGMP): the RX lcore's cheap test. */
bool igmp_frame_is_igmp(const uint8_t *frame, uint32_t len);

/* A short name for a verdict, for counters ("bad_checksum", ...). */
const char *igmp_verdict_name(enum igmp_verdict verdict);

/* One frame the host should send now (igmp_host_next). */
struct igmp_send {
	bool v2;		/* an IGMPv2 Report (an older querier is present); else IGMPv3 */
	int32_t group;		/* index into the membership; -1: every group (v3 only) */
	enum igmp_report_kind kind;
	bool answer;		/* an answer to a query (else an unsolicited report) */
	bool general;		/* an answer to a general query (v2: one frame per group, group 0 first) */
};

/* A port's host state: its membership and what is due when (RFC 3376 §5). */
struct igmp_host {
	struct igmp_membership membership;
	uint32_t unsolicited_left;	/* unsolicited reports still to send */
	uint64_t unsolicited_ns;	/* when the next is due */
	uint64_t general_ns;		/* a general query's answer due then; 0: none */
	uint64_t group_ns[IGMP_GROUPS_MAX];	/* a group-specific answer due; 0: none */
	uint64_t v2_until_ns;		/* an older querier was heard: v2 reports until then */
	uint32_t v2_next;		/* v2 answer to a general query: the next group to report */
	uint64_t budget_start_ns;	/* the current second of the answer budget */
	uint32_t budget_used;
	uint64_t random;		/* xorshift state for the answer delays */
	uint64_t queries;		/* queries taken (valid, for this host) */
	uint64_t queries_ignored;	/* group-specific queries for a group not joined */
	uint64_t older_querier;		/* v1/v2 queries, which switch to v2 reports */
};

/* Starts a host with m at now_ns: IGMP_ROBUSTNESS unsolicited join reports, the first now. */
void igmp_host_start(struct igmp_host *h, const struct igmp_membership *m, uint64_t now_ns, uint64_t seed);

/*
 * Takes a decoded query at now_ns (RFC 3376 §5.2): its answer is due at a random time
 * within Max Resp Time (a v1 query's 10 s), unless an answer already due sooner covers
 * it. A v1 or v2 query switches the host to IGMPv2 reports for IGMP_OLDER_QUERIER_NS.
 */
void igmp_host_query(struct igmp_host *h, const struct igmp_query *q, uint64_t now_ns);

/*
 * The next frame due at now_ns into *out: true, and the caller writes and sends it
 * (igmp_v3_report_write or igmp_v2_message_write), then calls again; false: nothing
 * more is due now. Answers count against IGMP_ANSWERS_PER_S. Bounded: each call
 * clears what it returns.
 */
bool igmp_host_next(struct igmp_host *h, uint64_t now_ns, struct igmp_send *out);

/*
 * The log lines of answers (and of frames not sent) per port: IGMP_LOG_BURST at once,
 * then one per IGMP_LOG_REFILL_NS. IGMP_ANSWERS_PER_S bounds the frames, but a query
 * flood at that rate would still fill the journal with a line each, and journald's
 * per-service rate limit would then drop fhd's other lines. A querier asks every
 * 125 s (RFC 3376 §8.2): its answers are always logged. The lines held back are
 * counted, and the next line logged says how many.
 */
#define IGMP_LOG_BURST 10
#define IGMP_LOG_REFILL_NS (10ull * 1000000000ull)

struct igmp_log_budget {
	uint32_t tokens;	/* lines that may be logged now */
	uint64_t refill_ns;	/* when the next token comes */
	uint64_t held;		/* lines held back since the last one logged */
};

/* A full budget at now_ns. */
void igmp_log_budget_start(struct igmp_log_budget *b, uint64_t now_ns);

/*
 * Whether a line may be logged at now_ns: true, with *held the lines held back before
 * it (the count starts again); false, and the line counts as held back.
 */
bool igmp_log_budget_take(struct igmp_log_budget *b, uint64_t now_ns, uint64_t *held);

#endif
