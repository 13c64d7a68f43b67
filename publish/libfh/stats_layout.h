/*
 * stats_layout: the shared-memory stats segment fhd's main lcore rewrites every
 * interval (/dev/shm/<stats.segment>) and `fh stat` reads: per feed counters, rates
 * and latency percentiles, of the last interval and since start. A seqlock guards
 * it: seq is odd while fhd writes; a reader copies and retries until it saw the same
 * even seq before and after. Header-only: fhd and fh share this file.
 */
#ifndef FH_PUBLISH_STATS_LAYOUT_H
#define FH_PUBLISH_STATS_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FH_STATS_MAGIC 0x3154415453484646ull	/* "FFHSTAT1" little-endian */
#define FH_STATS_VERSION 3	/* 3: book refusals, snapshot and bad_sequence counters, ports */
#define FH_STATS_FEEDS_MAX 16
#define FH_STATS_LATENCIES 3
#define FH_STATS_NAME_MAX 32
#define FH_STATS_LINES 3		/* A, B, and the recovery replies */
#define FH_STATS_PORTS_MAX 8
#define FH_STATS_STATE_RUNNING 1
#define FH_STATS_STATE_STOPPED 2

struct fh_stats_latency {
	uint64_t count;
	uint64_t p50_ns, p90_ns, p99_ns, p999_ns, p9999_ns, max_ns;
	double mean_ns;
};

/*
 * A feed's book state and recovery counters (fhd's feed/recovery.h, copied each
 * interval): book_state is enum fh_book_state (0 ok, 1 recovering, 2 stale).
 */
struct fh_stats_recovery {
	uint64_t book_state;
	/* the RX lcore's */
	uint64_t recoveries, recovered, recovered_messages, reply_packets, reply_duplicates, reply_bad;
	uint64_t losses, lost_messages, lost_first, lost_count, hold_full;
	uint64_t snapshots, snapshot_messages;
	uint64_t recovery_ns_last, recovery_ns_max;	/* a hole handed over -> filled */
	uint64_t snapshot_ns_last;			/* a snapshot asked for -> applied */
	uint64_t reply_dropped, snapshot_stale, snapshots_refused, resyncs, resyncs_exhausted;
	uint64_t capacity_refusals;
	/* the recovery worker's */
	uint64_t requests, requested_messages, timeouts, give_ups, replies, replies_bad;
	uint64_t send_errors, handoff_full, snapshot_attempts, snapshot_failures;
};

struct fh_stats_feed {
	char name[FH_STATS_NAME_MAX];
	uint64_t packets;		/* framed packets, both lines */
	uint64_t messages;		/* applied */
	uint64_t gaps, gap_messages;
	uint64_t duplicates;		/* packets already applied from the other line */
	uint64_t dropped;		/* packets dropped whole: bad L3/L4, bad framing, wrong source */
	uint64_t skipped_messages;	/* unknown type, bad length, bad field */
	uint64_t journal_dropped;
	uint64_t feed_delay_negative;
	double packets_per_s, messages_per_s;	/* over the last interval */
	struct fh_stats_latency interval[FH_STATS_LATENCIES];
	struct fh_stats_latency total[FH_STATS_LATENCIES];
	uint64_t feed_delay_out_of_range;	/* feed delay above the histogram's range: a clock problem */
	struct fh_stats_recovery recovery;
	/* the book refused, its capacity reached (feeds[].book.instruments, orders, levels) */
	uint64_t instruments_full, orders_full, levels_full;
	uint64_t snapshot_dropped;	/* line packets dropped (oldest first) from a full hold during a snapshot */
	uint64_t snapshots_confirmed;	/* snapshots whose sequence a line packet reached */
	uint64_t snapshots_unconfirmed;	/* snapshots refused: no line reached them in time */
	uint64_t bad_sequence[FH_STATS_LINES];	/* per line: a jump ahead no line confirmed, dropped */
};

/* A port's own counters, and fhd's count of times the packet pool ran low while polling it. */
struct fh_stats_port {
	char name[FH_STATS_NAME_MAX];
	uint64_t received, missed, no_mbuf, errors;
	uint64_t pool_low;		/* fewer free mbufs than one RX burst, once per time */
};

struct fh_stats_segment {
	uint64_t magic;
	uint32_t version;
	uint32_t feeds_count;
	volatile uint64_t seq;
	uint64_t pid;
	uint64_t updated_ns;		/* CLOCK_REALTIME of the last update */
	uint32_t interval_ms;
	uint32_t state;			/* FH_STATS_STATE_* */
	char latency_names[FH_STATS_LATENCIES][FH_STATS_NAME_MAX];
	struct fh_stats_feed feeds[FH_STATS_FEEDS_MAX];
	uint32_t ports_count;
	uint32_t spare;
	struct fh_stats_port ports[FH_STATS_PORTS_MAX];
};

/* A consistent copy of a live segment; false if fhd kept writing through every try. */
static inline bool fh_stats_copy(const struct fh_stats_segment *seg, struct fh_stats_segment *out)
{
	for (int attempt = 0; attempt < 1000; attempt++) {
		uint64_t before = __atomic_load_n(&seg->seq, __ATOMIC_ACQUIRE);

		if (before & 1)
			continue;
		memcpy(out, seg, sizeof(*out));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&seg->seq, __ATOMIC_RELAXED) == before)
			return true;
	}
	return false;
}

#ifdef __cplusplus
}
#endif

#endif
