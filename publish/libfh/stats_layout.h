/*
 * stats_layout: the shared-memory stats segment fhd's main lcore rewrites every
 * interval (/dev/shm/<stats.segment>) and `fh stat` reads: per feed counters, rates
 * and latency percentiles, of the last interval and since start. A seqlock guards
 * it: seq is odd while fhd writes; a reader copies and retries until it saw the same
 * even seq before and after. Header-only: fhd and fh share this file.
 */
#ifndef FH_PUBLISH_STATS_LAYOUT_H
#define FH_PUBLISH_STATS_LAYOUT_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "publish/libfh/fh_event.h"	/* FH_STATIC_ASSERT */

#ifdef __cplusplus
extern "C" {
#endif

#define FH_STATS_MAGIC 0x3154415453484646ull	/* "FFHSTAT1" little-endian */
#define FH_STATS_VERSION 7	/* 3: book refusals, snapshot and bad_sequence counters, ports;
				 * 4: which recovery a feed has, replies won, joins unrecovered;
				 * 5: a fourth latency, processing;
				 * 6: kernel_dropped per line;
				 * 7: instruments per book state */
#define FH_STATS_FEEDS_MAX 16
#define FH_STATS_LATENCIES 4
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

/* fh_stats_recovery.configured: the recovery sections a feed has in fhd's config. */
#define FH_STATS_HAS_RECOVERY 1u	/* feeds[].recovery: holes re-requested */
#define FH_STATS_HAS_SNAPSHOT 2u	/* feeds[].snapshot: books taken from a snapshot */

/*
 * A feed's book state and recovery counters (fhd's feed/recovery.h, copied each
 * interval): book_state is enum fh_book_state (0 ok, 1 recovering, 2 stale).
 * fh_stats_counters below names each.
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
	/* the arbiter's, and the config's */
	uint64_t reply_won, joins_unrecovered;
	uint64_t configured;				/* FH_STATS_HAS_* */
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
	uint64_t kernel_dropped[FH_STATS_LINES];	/* per line: the kernel port's socket overflowed */
	/*
	 * The instruments the books define, by book state (enum fh_book_state): each at
	 * the worse of the feed's state and its own (fh_event.h, "Per instrument"), as
	 * its events say. A whole-feed venue (ITCH) has them all at book_state.
	 */
	uint64_t instruments[FH_BOOK_STATES];
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

/*
 * The one vocabulary of the book state and recovery counters, for fhd's exit report,
 * `fh stat` (text and JSON) and the Prometheus file alike. Each counter has a group
 * and a word; the group is shown only where the feed has it (FH_STATS_HAS_*), the book
 * group always. Text: a line per group, "  book_state ok  losses 0 ...",
 * "  recovery: holes 3  filled 3 ...", "  snapshot: applied 1 ..."; a duration's word
 * takes its unit (fill_last_us). JSON: the book group's words as the feed's members,
 * the others in "recovery" and "snapshot" objects (durations in ns: fill_last_ns).
 * Prometheus: fh_<prefix><word>_total for a counter, fh_<prefix><word> for a gauge,
 * fh_<prefix><word>_seconds for a duration, the prefix being the group's
 * (fh_stats_group_prefixes): fh_recovery_holes_total, fh_snapshot_last_seconds.
 */
enum fh_stats_group { FH_STATS_GROUP_BOOK, FH_STATS_GROUP_RECOVERY, FH_STATS_GROUP_SNAPSHOT, FH_STATS_GROUPS };
enum fh_stats_kind { FH_STATS_COUNTER, FH_STATS_GAUGE, FH_STATS_DURATION };

struct fh_stats_counter {
	uint8_t group;		/* enum fh_stats_group */
	uint8_t kind;		/* enum fh_stats_kind */
	const char *word;
	size_t offset;		/* of its uint64_t in struct fh_stats_feed */
	const char *help;	/* what it counts, one sentence (Prometheus's HELP) */
};

/* The groups' names in text and JSON, and their prefixes in Prometheus. */
static const char *const fh_stats_group_names[FH_STATS_GROUPS] = { "book", "recovery", "snapshot" };
static const char *const fh_stats_group_prefixes[FH_STATS_GROUPS] = { "", "recovery_", "snapshot_" };
/* The lines of fh_stats_feed.bad_sequence, as the config and every output name them. */
static const char *const fh_stats_line_names[FH_STATS_LINES] = { "A", "B", "recovery" };
/*
 * The per-line counters of a feed (fh_stats_feed arrays of FH_STATS_LINES), one
 * vocabulary for every output: fh stat's text line "  <word>: A N  B N  recovery N"
 * and JSON "<word>": {"A": N, ...}, Prometheus fh_<word>_total{feed,line}, and
 * telemetry's line_<line>_<word>.
 */
struct fh_stats_line_counter {
	const char *word;
	size_t offset;		/* of its uint64_t[FH_STATS_LINES] in struct fh_stats_feed */
	const char *help;	/* what it counts, one sentence (Prometheus's HELP) */
};

static const struct fh_stats_line_counter fh_stats_line_counters[] = {
	{ "bad_sequence", offsetof(struct fh_stats_feed, bad_sequence),
	  "Packets dropped per line: a sequence jump ahead no line confirmed." },
	{ "kernel_dropped", offsetof(struct fh_stats_feed, kernel_dropped),
	  "Datagrams the kernel dropped per line: the kernel port's socket buffer was full (SO_RXQ_OVFL)." },
};
#define FH_STATS_LINE_COUNTERS (sizeof(fh_stats_line_counters) / sizeof(fh_stats_line_counters[0]))

/* A per-line counter's value for line (0..FH_STATS_LINES-1) in a feed's copy. */
static inline uint64_t fh_stats_line_value(const struct fh_stats_feed *f, const struct fh_stats_line_counter *c,
					   unsigned line)
{
	const void *base = f;	/* through void: a static_cast in C++ */
	uint64_t v;

	memcpy(&v, FH_CAST(const char *, base) + c->offset + line * sizeof(uint64_t), sizeof(v));
	return v;
}

/* A duration's unit in text: recovery fills take microseconds, snapshots milliseconds. */
static const char *const fh_stats_group_units[FH_STATS_GROUPS] = { "us", "us", "ms" };
static const double fh_stats_group_unit_ns[FH_STATS_GROUPS] = { 1e3, 1e3, 1e6 };

#define FH_STATS_R(field) offsetof(struct fh_stats_feed, recovery.field)
#define FH_STATS_F(field) offsetof(struct fh_stats_feed, field)
static const struct fh_stats_counter fh_stats_counters[] = {
	{ FH_STATS_GROUP_BOOK, FH_STATS_COUNTER, "losses", FH_STATS_R(losses),
	  "Holes declared lost (no recovery, recovery gave up, or the hold filled)." },
	{ FH_STATS_GROUP_BOOK, FH_STATS_COUNTER, "lost_messages", FH_STATS_R(lost_messages),
	  "Messages in holes declared lost." },
	{ FH_STATS_GROUP_BOOK, FH_STATS_COUNTER, "losses_hold_full", FH_STATS_R(hold_full),
	  "Losses declared because the hold behind a hole was full." },
	{ FH_STATS_GROUP_BOOK, FH_STATS_GAUGE, "last_loss_first", FH_STATS_R(lost_first),
	  "First sequence number of the last loss declared (0: none)." },
	{ FH_STATS_GROUP_BOOK, FH_STATS_GAUGE, "last_loss_messages", FH_STATS_R(lost_count),
	  "Messages of the last loss declared." },
	{ FH_STATS_GROUP_BOOK, FH_STATS_COUNTER, "book_capacity_refusals", FH_STATS_R(capacity_refusals),
	  "Instruments, orders or levels the book refused (book.instruments/orders/levels): the feed is stale." },

	{ FH_STATS_GROUP_RECOVERY, FH_STATS_COUNTER, "holes", FH_STATS_R(recoveries), "Holes handed to recovery." },
	{ FH_STATS_GROUP_RECOVERY, FH_STATS_COUNTER, "filled", FH_STATS_R(recovered), "Holes recovery filled." },
	{ FH_STATS_GROUP_RECOVERY, FH_STATS_COUNTER, "messages", FH_STATS_R(recovered_messages),
	  "Messages applied from recovery replies." },
	{ FH_STATS_GROUP_RECOVERY, FH_STATS_COUNTER, "give_ups", FH_STATS_R(give_ups),
	  "Ranges recovery gave up on (retries exhausted)." },
	{ FH_STATS_GROUP_RECOVERY, FH_STATS_COUNTER, "requests", FH_STATS_R(requests), "Recovery request packets sent." },
	{ FH_STATS_GROUP_RECOVERY, FH_STATS_COUNTER, "requested_messages", FH_STATS_R(requested_messages),
	  "Messages asked for in recovery requests." },
	{ FH_STATS_GROUP_RECOVERY, FH_STATS_COUNTER, "timeouts", FH_STATS_R(timeouts),
	  "Recovery requests unanswered in time." },
	{ FH_STATS_GROUP_RECOVERY, FH_STATS_COUNTER, "send_errors", FH_STATS_R(send_errors),
	  "Recovery requests the socket refused." },
	{ FH_STATS_GROUP_RECOVERY, FH_STATS_COUNTER, "datagrams", FH_STATS_R(replies),
	  "Datagrams received on the recovery socket." },
	{ FH_STATS_GROUP_RECOVERY, FH_STATS_COUNTER, "datagrams_bad", FH_STATS_R(replies_bad),
	  "Recovery datagrams dropped: malformed, another session or source, or not asked for." },
	{ FH_STATS_GROUP_RECOVERY, FH_STATS_COUNTER, "handoff_full", FH_STATS_R(handoff_full),
	  "Recovery replies dropped: the RX lcore's reply ring was full." },
	{ FH_STATS_GROUP_RECOVERY, FH_STATS_COUNTER, "reply_packets", FH_STATS_R(reply_packets),
	  "Recovery reply packets offered to the sequence path." },
	{ FH_STATS_GROUP_RECOVERY, FH_STATS_COUNTER, "reply_won", FH_STATS_R(reply_won),
	  "Recovery replies whose messages were (partly) applied." },
	{ FH_STATS_GROUP_RECOVERY, FH_STATS_COUNTER, "reply_duplicates", FH_STATS_R(reply_duplicates),
	  "Recovery replies carrying nothing new." },
	{ FH_STATS_GROUP_RECOVERY, FH_STATS_COUNTER, "reply_bad", FH_STATS_R(reply_bad),
	  "Recovery replies whose MoldUDP64 framing was refused." },
	{ FH_STATS_GROUP_RECOVERY, FH_STATS_COUNTER, "reply_dropped", FH_STATS_R(reply_dropped),
	  "Recovery replies ahead of the hole dropped: every RX copy was held." },
	{ FH_STATS_GROUP_RECOVERY, FH_STATS_COUNTER, "joins_unrecovered", FH_STATS_R(joins_unrecovered),
	  "Sessions joined past their start, too far back to re-request." },
	{ FH_STATS_GROUP_RECOVERY, FH_STATS_DURATION, "fill_last", FH_STATS_R(recovery_ns_last),
	  "The last hole filled: handed to recovery -> filled." },
	{ FH_STATS_GROUP_RECOVERY, FH_STATS_DURATION, "fill_max", FH_STATS_R(recovery_ns_max),
	  "The longest fill since start." },

	{ FH_STATS_GROUP_SNAPSHOT, FH_STATS_COUNTER, "applied", FH_STATS_R(snapshots), "Snapshots applied." },
	{ FH_STATS_GROUP_SNAPSHOT, FH_STATS_COUNTER, "messages", FH_STATS_R(snapshot_messages),
	  "Messages applied from snapshots." },
	{ FH_STATS_GROUP_SNAPSHOT, FH_STATS_COUNTER, "logins", FH_STATS_R(snapshot_attempts),
	  "Snapshot (GLIMPSE) logins tried." },
	{ FH_STATS_GROUP_SNAPSHOT, FH_STATS_COUNTER, "failures", FH_STATS_R(snapshot_failures),
	  "Snapshot logins rejected, disconnected or timed out." },
	{ FH_STATS_GROUP_SNAPSHOT, FH_STATS_DURATION, "last", FH_STATS_R(snapshot_ns_last),
	  "The last snapshot: asked for -> applied." },
	{ FH_STATS_GROUP_SNAPSHOT, FH_STATS_COUNTER, "confirmed", FH_STATS_F(snapshots_confirmed),
	  "Snapshots whose sequence a line packet reached." },
	{ FH_STATS_GROUP_SNAPSHOT, FH_STATS_COUNTER, "unconfirmed", FH_STATS_F(snapshots_unconfirmed),
	  "Snapshots refused: no line packet reached their sequence in time." },
	{ FH_STATS_GROUP_SNAPSHOT, FH_STATS_COUNTER, "refused", FH_STATS_R(snapshots_refused),
	  "Snapshots refused: unconfirmed, of another session, or too big." },
	{ FH_STATS_GROUP_SNAPSHOT, FH_STATS_COUNTER, "stale_entries", FH_STATS_R(snapshot_stale),
	  "Entries of a snapshot no longer wanted, dropped." },
	{ FH_STATS_GROUP_SNAPSHOT, FH_STATS_COUNTER, "dropped_packets", FH_STATS_F(snapshot_dropped),
	  "Line packets dropped (oldest first) from a full hold while a snapshot was taken." },
	{ FH_STATS_GROUP_SNAPSHOT, FH_STATS_COUNTER, "resyncs", FH_STATS_R(resyncs),
	  "Re-syncs (snapshots after a loss) asked for." },
	{ FH_STATS_GROUP_SNAPSHOT, FH_STATS_COUNTER, "resyncs_exhausted", FH_STATS_R(resyncs_exhausted),
	  "Losses left stale: the session's re-syncs (snapshot.resyncs) were used up." },
};
#undef FH_STATS_R
#undef FH_STATS_F
#define FH_STATS_COUNTERS (sizeof(fh_stats_counters) / sizeof(fh_stats_counters[0]))
/* Every field of fh_stats_recovery is named, bar book_state and configured; and the arbiter's three. */
FH_STATIC_ASSERT(FH_STATS_COUNTERS == sizeof(struct fh_stats_recovery) / sizeof(uint64_t) - 2 + 3,
	       "fh_stats_counters names every recovery counter");

/* A counter's value in a feed's copy. */
static inline uint64_t fh_stats_counter_value(const struct fh_stats_feed *f, const struct fh_stats_counter *c)
{
	const void *base = f;	/* through void: a static_cast in C++ */
	uint64_t v;

	memcpy(&v, FH_CAST(const char *, base) + c->offset, sizeof(v));
	return v;
}

/* Whether a feed has a group: the book group always, the others as its config says. */
static inline bool fh_stats_group_shown(const struct fh_stats_feed *f, unsigned group)
{
	return group == FH_STATS_GROUP_BOOK ||
	       (group == FH_STATS_GROUP_RECOVERY && (f->recovery.configured & FH_STATS_HAS_RECOVERY)) ||
	       (group == FH_STATS_GROUP_SNAPSHOT && (f->recovery.configured & FH_STATS_HAS_SNAPSHOT));
}

/*
 * The text lines of a feed's book state (its name given: the segment's number is
 * fhd's enum, the caller names it) and of each group it has, as fhd's exit report
 * and fh stat print them.
 */
static inline void fh_stats_counters_print(FILE *out, const struct fh_stats_feed *f, const char *book_state)
{
	for (unsigned g = 0; g < FH_STATS_GROUPS; g++) {
		if (!fh_stats_group_shown(f, g))
			continue;
		if (g == FH_STATS_GROUP_BOOK)
			fprintf(out, "  book_state %s", book_state);
		else
			fprintf(out, "  %s:", fh_stats_group_names[g]);
		for (size_t i = 0, n = 0; i < FH_STATS_COUNTERS; i++) {
			const struct fh_stats_counter *c = &fh_stats_counters[i];
			uint64_t v = fh_stats_counter_value(f, c);
			const char *space;

			if (c->group != g)
				continue;
			space = n++ > 0 || g == FH_STATS_GROUP_BOOK ? "  " : " ";
			if (c->kind == FH_STATS_DURATION)
				fprintf(out, "%s%s_%s %.1f", space, c->word, fh_stats_group_units[g],
					FH_CAST(double, v) / fh_stats_group_unit_ns[g]);
			else
				fprintf(out, "%s%s %" PRIu64, space, c->word, v);
		}
		fprintf(out, "\n");
	}
}

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
