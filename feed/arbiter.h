/*
 * arbiter: A/B line arbitration and gap detection for one feed. Both lines carry the
 * same sequenced session; each sequence number is applied exactly once, in order,
 * from whichever line delivers it first. A packet from the future waits in a bounded
 * reorder window (packets and time) while the other line may still fill the hole;
 * when the window runs out the hole is declared a gap, counted and logged, and the
 * feed moves on. Nothing here blocks, allocates after init or knows about DPDK: the
 * owner hands every packet over with offer() and gets it back exactly once, through
 * apply() (its messages are due now) and then release() (the owner may free it).
 *
 * With recovery (recover set), a hole that outlives the window is not declared: it is
 * handed to recover() once, and the packets after it stay held (up to held_max, the
 * feed's recovery hold) until the replies, offered on ARBITER_LINE_RECOVERY like any
 * line's packets, fill it (recovered() is called), or until the owner gives up on it
 * (arbiter_recovery_lost) or the hold fills: then it is declared a gap.
 *
 * Issue 20: a hole is only declared or recovered before a packet something confirms
 * (another line's copy, the packet after it held, a recovery reply); one nothing
 * confirms while the lines went on below it is a bad sequence number and is dropped,
 * so one corrupt packet cannot end the session. A snapshot is trusted once a line
 * packet reaches its sequence (confirm_ns), and no lost range is counted twice.
 */
#ifndef FH_FEED_ARBITER_H
#define FH_FEED_ARBITER_H

#include <stdbool.h>
#include <stdint.h>

#include "decoders/decoder.h"

#define ARBITER_LINES 3		/* A, B, and the recovery replies */
#define ARBITER_LINE_RECOVERY 2	/* the line recovery replies are offered on */
#define ARBITER_GAP_LOG 64	/* most recent gaps kept for the control lcore */
#define ARBITER_HELD_MAX (1u << 24)	/* a hold's largest size (the config allows 1 << 20) */

struct arbiter_packet {
	uint64_t seq;
	uint32_t count;
	uint8_t line;
	uint8_t kind;		/* enum decoder_frame_kind */
	void *packet;		/* owner's handle (an mbuf), given back in apply/release */
	const uint8_t *payload;
	uint32_t len;
	uint64_t rx_ns;		/* when it was received (the window's clock) */
	uint64_t rx_tsc;	/* the port's earliest stamp of it as TSC, for RX->publish latency */
	uint64_t feed_tsc;	/* the TSC when the feed started on it (>= rx_tsc): processing */
};

/* A held packet, and what arrived of it since: whether it can be trusted (issue 20). */
struct arbiter_held {
	struct arbiter_packet packet;
	uint64_t offered;	/* the arbiter's `offered` when it came: its arrival order */
	uint64_t line_end;	/* where the session stood when it came: expected, or its line's end past it */
	uint8_t lines;		/* bit (1 << line) of each line a copy came from */
};

struct arbiter_line_stats {
	uint64_t packets_won;	/* packets whose messages were (partly) applied from this line */
	uint64_t duplicates;	/* packets wholly applied already from either line */
	uint64_t heartbeats;
	uint64_t wrong_session;	/* packets of another session, not a session start: dropped */
	uint64_t bad_sequence;	/* a jump ahead no line confirmed (the old sequence went on): dropped */
};

struct arbiter_stats {
	uint64_t gaps;			/* holes declared after the reorder window ran out */
	uint64_t gap_messages;		/* sequence numbers lost in those holes */
	uint64_t session_changes;	/* a new session adopted (new name, or restart from 1 after its end) */
	uint64_t session_ends;		/* end-of-session packets seen */
	uint64_t held;			/* packets that waited in the reorder window */
	uint64_t held_max;		/* most packets waiting at once */
	uint64_t window_full;		/* gaps declared because the window (or recovery hold) was full */
	uint64_t recoveries;		/* holes handed to recover() */
	uint64_t joins_unrecovered;	/* a session joined past its start, too far to re-request */
	uint64_t snapshot_dropped;	/* packets dropped (oldest first) from a full hold during a snapshot */
	uint64_t snapshots_confirmed;	/* snapshots whose sequence a line packet reached */
	uint64_t snapshots_unconfirmed;	/* snapshots refused: no line reached them in time, or another session */
	struct arbiter_line_stats lines[ARBITER_LINES];
};

struct arbiter_gap {
	uint64_t first;		/* first missing sequence number */
	uint64_t count;		/* how many */
	uint64_t at_ns;		/* when it was declared */
};

struct arbiter {
	uint64_t expected;		/* next sequence number to apply */
	uint64_t first_seq;		/* the protocol's first sequence number of a session */
	uint64_t hole_since_ns;		/* when the current hole started waiting */
	uint64_t window_ns;
	uint32_t held_head;		/* the first (lowest) held packet's slot in held[] */
	uint32_t held_count;
	uint32_t held_max;
	struct arbiter_held *held;	/* a ring of held_max slots, sorted by seq from held_head */
	uint64_t offered;		/* packets offered so far, in any session */
	/*
	 * Each line's latest packet: its `offered`, its seq and its end (seq + count; a
	 * heartbeat's seq): has the session gone on without a held packet (issue 20)?
	 */
	uint64_t line_offered[ARBITER_LINE_RECOVERY];
	uint64_t line_seq[ARBITER_LINE_RECOVERY];
	uint64_t line_end[ARBITER_LINE_RECOVERY];
	uint64_t line_end_before;	/* the offered packet's line's line_end before it */
	bool session_known;
	bool session_ended;
	uint64_t session_end_seq;	/* the first End of Session's sequence (valid with session_ended) */
	bool session_applied;		/* something of the current session was applied */
	bool recovering;		/* the hole before recover_end is with recover() */
	bool snapshot_pending;		/* a snapshot is being taken: hold everything */
	uint32_t snapshot_held_max;	/* the hold's bound while a snapshot is taken (<= held_max) */
	/*
	 * A snapshot applied, its sequence (confirm_seq) not yet reached by a line packet
	 * (issue 20): until one is, the feed says RECOVERING; confirm_ns after
	 * confirm_since_ns (the feed's clock) with none, snapshot_unconfirmed() refuses it.
	 */
	bool confirming;
	uint64_t confirm_seq;
	uint64_t confirm_since_ns;	/* 0 with the session unknown: starts at its first packet */
	uint64_t confirm_ns;		/* 0: confirmation not asked for (unit tests of other things) */
	bool rejoin;			/* a refused snapshot: the next line data packet is applied from its start */
	uint64_t counted_end;		/* losses are counted past this only: no range is counted twice */
	uint64_t start_seq;		/* a snapshot's next sequence, for a session not seen yet (0: none) */
	uint8_t start_session_len;	/* and its session (Login Accepted), to match the lines' */
	char start_session[DECODER_SESSION_MAX];
	uint64_t seen_end;		/* one past the highest sequence confirmed data of the session carried
					 * (applied, or held and confirmed: never a packet later refused) */
	bool gap_full;			/* during gap(): the window (or hold) is full, that is why */
	uint64_t recover_end;
	uint64_t join_recover_max;	/* a session's first hole longer than this is a join: not recovered */
	uint8_t session_len;
	char session[DECODER_SESSION_MAX];
	void *context;
	void (*apply)(void *context, const struct arbiter_packet *packet, uint32_t skip);
	void (*release)(void *context, void *packet);
	void (*session_start)(void *context);	/* a new session replaces an old one */
	/*
	 * Optional: [first, first + count) declared a gap; newly_lost (<= count) is what of it
	 * was never counted before (neither applied nor declared since the session began).
	 */
	void (*gap)(void *context, uint64_t first, uint64_t count, uint64_t newly_lost);
	void (*recover)(void *context, uint64_t first, uint64_t count);	/* optional: recovery on */
	void (*recovered)(void *context);	/* the hole given to recover() is filled */
	void (*snapshot_confirmed)(void *context);	/* optional: a line packet reached confirm_seq */
	void (*snapshot_unconfirmed)(void *context);	/* optional: the snapshot is refused (see confirming) */
	struct arbiter_stats stats;
	uint64_t gap_log_head;		/* gaps ever logged; entry i at gap_log[i % ARBITER_GAP_LOG] */
	struct arbiter_gap gap_log[ARBITER_GAP_LOG];
};

/* The i-th held packet, i < held_count (0: the first, the lowest sequence number). */
static inline const struct arbiter_packet *arbiter_held_get(const struct arbiter *arbiter, uint32_t i)
{
	uint32_t slot = arbiter->held_head + i;	/* both below held_max <= ARBITER_HELD_MAX: no wrap */

	if (slot >= arbiter->held_max)
		slot -= arbiter->held_max;
	return &arbiter->held[slot].packet;
}

/*
 * Sets up an arbiter whose window holds held_max packets for window_ns, for a protocol
 * whose sessions count from first_seq (the decoder's first_seq). session_start
 * (may be NULL) is called when a new session replaces the current one, after what
 * was held of the old one has been applied. 0, -EINVAL (held_max 0 or past
 * ARBITER_HELD_MAX) or -ENOMEM.
 */
int arbiter_init(struct arbiter *arbiter, uint32_t held_max, uint64_t window_ns, uint64_t first_seq,
		 void (*apply)(void *, const struct arbiter_packet *, uint32_t),
		 void (*release)(void *, void *), void (*session_start)(void *), void *context);
void arbiter_fini(struct arbiter *arbiter);

/* Hands a framed packet over; it comes back through apply and/or release. */
void arbiter_offer(struct arbiter *arbiter, const struct decoder_frame *frame,
		   const struct arbiter_packet *packet, uint64_t now_ns);

/*
 * Whether a reply [seq, seq + count) the worker did not check (one taken from a
 * capture) stays inside a hole: a held packet lies at or after its start, and it ends
 * at or before the first such one. So it cannot run past a hole's end into what the
 * lines hold, nor open a hole beyond everything the lines have shown.
 */
bool arbiter_reply_fits(struct arbiter *arbiter, uint64_t seq, uint64_t count);

/*
 * Declares the current hole a gap (or hands it to recover()) if it has waited
 * window_ns, and refuses a snapshot being confirmed for confirm_ns (feed clock) with
 * no line packet at its sequence (snapshot_unconfirmed). Call when idle too.
 */
void arbiter_expire(struct arbiter *arbiter, uint64_t now_ns);

/*
 * Hands the current hole to recover() now, without waiting for the window (the end of
 * a replay: nothing more will come from the lines). True if a recovery is under way.
 */
bool arbiter_recover_now(struct arbiter *arbiter, uint64_t now_ns);

/*
 * The owner gave up recovering [first, first + count): if that is still the hole being
 * recovered, it is declared a gap (what replies filled of it stays applied).
 */
void arbiter_recovery_lost(struct arbiter *arbiter, uint64_t first, uint64_t count, uint64_t now_ns);

/*
 * A snapshot is being taken (late join, re-sync): from now on every packet is held,
 * none applied; a hold at snapshot_held_max (0: held_max) drops its oldest (the
 * snapshot will cover them, or the hole after it is recovered like any other). A
 * snapshot still being confirmed is replaced: it is neither confirmed nor refused.
 */
void arbiter_snapshot_begin(struct arbiter *arbiter);

/*
 * The snapshot is applied and the session continues at next_seq: what is held below
 * it is a duplicate, the rest is applied in order (a hole before it is recovered or
 * declared as usual). Before any packet of a session, the session starts there, if
 * the lines' session is `session` (session_len 0: any; spaces either side do not
 * count); otherwise the snapshot is refused (snapshot_unconfirmed) when the first
 * line packet shows another, or at once if the session is known and another. With
 * confirm_ns, until a line packet reaches next_seq (data past it, a heartbeat or end
 * at or past it; one held already counts) the arbiter is confirming: then
 * snapshot_confirmed(), or after confirm_ns with none (arbiter_expire, or
 * arbiter_flush) the snapshot is refused. A refused snapshot releases what is held
 * and the next line data packet is applied from its start, with no gap.
 */
void arbiter_snapshot_end(struct arbiter *arbiter, uint64_t next_seq, const char *session,
			  uint8_t session_len, uint64_t now_ns);

/*
 * The snapshot failed: the feed goes on from what it holds, past a declared gap (none
 * after a refused snapshot: the first held packet says where the session is).
 */
void arbiter_snapshot_failed(struct arbiter *arbiter, uint64_t now_ns);

/*
 * Declares every remaining hole and applies everything held (end of a replay); a
 * snapshot still being confirmed is refused first (no line packet will reach it).
 */
void arbiter_flush(struct arbiter *arbiter, uint64_t now_ns);

#endif
