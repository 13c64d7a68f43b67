/*
 * recovery: what a feed does about the messages both lines lost, and what it tells
 * consumers about its books meanwhile (issue 12).
 *
 * A feed's books are in one of three states, kept by the RX lcore and published with
 * every event (publisher), in the conflated view, the stats segment and Prometheus:
 *   OK          the books follow the session without a hole;
 *   RECOVERING  a hole is being re-requested (MoldUDP64) or the books are being built
 *               from a snapshot (GLIMPSE): nothing past the hole is applied or
 *               published until it is filled, so the books are right but behind;
 *   STALE       messages were declared lost (retries exhausted, server silent, hold
 *               full, or a mid-session join without a snapshot): the books may be
 *               wrong. Only a snapshot or a new session brings them back to OK.
 *
 * The counters are split by writer: the RX lcore writes feed_recovery_rx, the
 * control lcore's recovery worker writes feed_recovery_io; each is read by the other
 * threads only for stats.
 */
#ifndef FH_FEED_RECOVERY_H
#define FH_FEED_RECOVERY_H

#include <stdint.h>

enum feed_book_state {
	FEED_BOOK_OK = 0,
	FEED_BOOK_RECOVERING = 1,
	FEED_BOOK_STALE = 2,
	FEED_BOOK_STATES
};

/* Names for logs, `fh stat` and Prometheus labels, by enum feed_book_state. */
extern const char *const feed_book_state_names[FEED_BOOK_STATES];

/* Written by the RX lcore. */
struct feed_recovery_rx {
	uint64_t state;			/* enum feed_book_state (64-bit: read torn-free by stats) */
	uint64_t recoveries;		/* holes handed to recovery */
	uint64_t recovered;		/* of those, filled */
	uint64_t recovered_messages;	/* messages applied from recovery replies */
	uint64_t reply_packets;		/* reply packets offered to the sequence path */
	uint64_t reply_duplicates;	/* replies carrying nothing new */
	uint64_t losses;		/* holes declared lost after recovery gave up or the hold filled */
	uint64_t lost_messages;
	uint64_t lost_first;		/* the last declared loss: first sequence number */
	uint64_t lost_count;		/* and how many */
	uint64_t hold_full;		/* losses declared because the hold was full */
	uint64_t snapshots;		/* snapshots applied */
	uint64_t snapshot_messages;	/* messages applied from snapshots */
};

/* Written by the recovery worker (control lcore). */
struct feed_recovery_io {
	uint64_t requests;		/* request packets sent */
	uint64_t requested_messages;	/* messages asked for in them */
	uint64_t timeouts;		/* requests unanswered in time (each then retried or given up) */
	uint64_t give_ups;		/* ranges given up on (retries exhausted) */
	uint64_t replies;		/* datagrams received on the recovery socket */
	uint64_t replies_bad;		/* of those, malformed, another session, another source, or unasked for */
	uint64_t send_errors;		/* sendto failures */
	uint64_t handoff_full;		/* replies dropped because the RX lcore's reply ring was full */
	uint64_t snapshot_attempts;	/* GLIMPSE logins tried */
	uint64_t snapshot_failures;	/* rejected, disconnected or timed out */
};

#endif
