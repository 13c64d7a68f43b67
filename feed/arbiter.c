/*
 * arbiter: A/B arbitration with a bounded reorder window (see arbiter.h).
 *
 * The held packets are kept sorted by sequence number in a preallocated array; the
 * newest packet usually belongs at or near the end, so insertion moves few entries.
 */
#include "feed/arbiter.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int arbiter_init(struct arbiter *arbiter, uint32_t held_max, uint64_t window_ns, uint64_t first_seq,
		 void (*apply)(void *, const struct arbiter_packet *, uint32_t),
		 void (*release)(void *, void *), void (*session_start)(void *), void *context)
{
	assert(arbiter != NULL && apply != NULL && release != NULL);
	memset(arbiter, 0, sizeof(*arbiter));
	if (held_max == 0)
		return -EINVAL;
	arbiter->held = calloc(held_max, sizeof(arbiter->held[0]));
	if (arbiter->held == NULL)
		return -ENOMEM;
	arbiter->held_max = held_max;
	arbiter->window_ns = window_ns;
	arbiter->first_seq = first_seq;
	arbiter->expected = first_seq;
	arbiter->apply = apply;
	arbiter->release = release;
	arbiter->session_start = session_start;
	arbiter->context = context;
	return 0;
}

void arbiter_fini(struct arbiter *arbiter)
{
	for (uint32_t i = 0; i < arbiter->held_count; i++)
		if (arbiter->held[i].packet != NULL)
			arbiter->release(arbiter->context, arbiter->held[i].packet);
	free(arbiter->held);
	arbiter->held = NULL;
	arbiter->held_count = 0;
}

static void arbiter_release(struct arbiter *arbiter, const struct arbiter_packet *packet)
{
	if (packet->packet != NULL)
		arbiter->release(arbiter->context, packet->packet);
}

/* Applies what a packet has beyond `expected`, or counts it a duplicate; then releases it. */
static void arbiter_deliver(struct arbiter *arbiter, const struct arbiter_packet *packet)
{
	struct arbiter_line_stats *line = &arbiter->stats.lines[packet->line];

	if (packet->kind != DECODER_FRAME_DATA) {
		/* A heartbeat marker: it only told us where the session had got to. */
	} else if (packet->seq + packet->count <= arbiter->expected) {
		line->duplicates++;
	} else {
		/* Some of it is new and none of it is ahead: skip is below count. */
		assert(packet->seq <= arbiter->expected && arbiter->expected - packet->seq < packet->count);
		line->packets_won++;
		arbiter->apply(arbiter->context, packet, (uint32_t)(arbiter->expected - packet->seq));
		arbiter->expected = packet->seq + packet->count;
		arbiter->session_applied = true;
	}
	arbiter_release(arbiter, packet);
}

/* The hole with recover() is filled once what is applied reaches its end. */
static void arbiter_recovery_check(struct arbiter *arbiter)
{
	if (!arbiter->recovering || arbiter->expected < arbiter->recover_end)
		return;
	arbiter->recovering = false;
	if (arbiter->recovered != NULL)
		arbiter->recovered(arbiter->context);
}

/* Delivers held packets that are no longer in the future. */
static void arbiter_drain(struct arbiter *arbiter, uint64_t now_ns)
{
	uint32_t n = 0;
	uint64_t before = arbiter->expected;

	while (n < arbiter->held_count && arbiter->held[n].seq <= arbiter->expected)
		arbiter_deliver(arbiter, &arbiter->held[n++]);
	if (n > 0) {
		arbiter->held_count -= n;
		memmove(arbiter->held, arbiter->held + n, arbiter->held_count * sizeof(arbiter->held[0]));
	}
	if (arbiter->expected != before)
		arbiter->hole_since_ns = now_ns;
	/* What stays held is still ahead of what is expected. */
	assert(arbiter->held_count == 0 || arbiter->held[0].seq > arbiter->expected);
	arbiter_recovery_check(arbiter);
}

/* The hole before the first held packet will not be filled: count it and move on. */
static void arbiter_gap_declare(struct arbiter *arbiter, uint64_t now_ns)
{
	struct arbiter_gap *gap;
	uint64_t first = arbiter->expected, next = arbiter->held[0].seq;

	assert(arbiter->held_count > 0 && next > first);
	arbiter->recovering = false;	/* a hole with recovery is declared: it is lost */
	gap = &arbiter->gap_log[arbiter->gap_log_head % ARBITER_GAP_LOG];
	gap->first = first;
	gap->count = next - first;
	gap->at_ns = now_ns;
	__atomic_store_n(&arbiter->gap_log_head, arbiter->gap_log_head + 1, __ATOMIC_RELEASE);
	arbiter->stats.gaps++;
	arbiter->stats.gap_messages += next - first;
	if (arbiter->gap != NULL)
		arbiter->gap(arbiter->context, first, next - first, next - first);
	arbiter->expected = next;
	arbiter_drain(arbiter, now_ns);
}

/*
 * A full hold while a snapshot is taken: the lowest sequence goes, as the snapshot is
 * more likely to cover it than the highest.
 */
static void arbiter_hold_drop_first(struct arbiter *arbiter)
{
	assert(arbiter->held_count > 0);
	arbiter->stats.snapshot_dropped++;
	arbiter_release(arbiter, &arbiter->held[0]);
	arbiter->held_count--;
	memmove(arbiter->held, arbiter->held + 1, arbiter->held_count * sizeof(arbiter->held[0]));
}

/* Holds a packet from the future; a second copy of a held packet is a duplicate. */
static void arbiter_hold(struct arbiter *arbiter, const struct arbiter_packet *packet,
			 uint64_t now_ns)
{
	uint32_t i = arbiter->held_count;

	while (i > 0 && arbiter->held[i - 1].seq > packet->seq)
		i--;
	if (i > 0 && arbiter->held[i - 1].seq == packet->seq &&
	    arbiter->held[i - 1].count >= packet->count) {
		if (packet->kind == DECODER_FRAME_DATA)
			arbiter->stats.lines[packet->line].duplicates++;
		arbiter_release(arbiter, packet);
		return;
	}
	/*
	 * A full window: the oldest hole is declared a gap until this packet fits or is
	 * due. Each declaration delivers at least the packet after the hole, so this ends.
	 */
	if (arbiter->snapshot_pending && arbiter->held_count == arbiter->held_max) {
		arbiter_hold_drop_first(arbiter);
		i = arbiter->held_count;
		while (i > 0 && arbiter->held[i - 1].seq > packet->seq)
			i--;
	}
	while (arbiter->held_count == arbiter->held_max) {
		uint32_t before = arbiter->held_count;

		arbiter->stats.window_full++;
		arbiter->gap_full = true;
		arbiter_gap_declare(arbiter, now_ns);
		arbiter->gap_full = false;
		assert(arbiter->held_count < before);
		if (packet->seq <= arbiter->expected) {
			arbiter_deliver(arbiter, packet);
			arbiter_drain(arbiter, now_ns);
			return;
		}
		i = arbiter->held_count;
		while (i > 0 && arbiter->held[i - 1].seq > packet->seq)
			i--;
	}
	if (arbiter->held_count == 0)
		arbiter->hole_since_ns = now_ns;
	/* Room for one more, inserted in order: the memmove stays inside held[]. */
	assert(arbiter->held_count < arbiter->held_max && i <= arbiter->held_count);
	assert(i == arbiter->held_count || arbiter->held[i].seq > packet->seq);
	memmove(&arbiter->held[i + 1], &arbiter->held[i],
		(arbiter->held_count - i) * sizeof(arbiter->held[0]));
	arbiter->held[i] = *packet;
	if (packet->kind != DECODER_FRAME_DATA)
		arbiter->held[i].packet = NULL;
	arbiter->held_count++;
	arbiter->stats.held++;
	if (arbiter->held_count > arbiter->stats.held_max)
		arbiter->stats.held_max = arbiter->held_count;
	if (packet->kind != DECODER_FRAME_DATA)
		arbiter_release(arbiter, packet);
}

/*
 * Another session name: adopted when it starts from the protocol's first sequence or
 * the old session has ended; anything else is a stray packet and is dropped, so a
 * corrupt or foreign packet cannot reset the books' sequence state. The same name
 * starting again from the first sequence after its end of session is a restart (a
 * replay looping, an exchange restart).
 */
static bool arbiter_session_accept(struct arbiter *arbiter, const struct decoder_frame *frame,
				   uint8_t line, uint64_t now_ns)
{
	bool same = arbiter->session_known && frame->session_len == arbiter->session_len &&
		    memcmp(frame->session, arbiter->session, frame->session_len) == 0;

	if (same && !(arbiter->session_ended && frame->seq == arbiter->first_seq &&
		      frame->kind == DECODER_FRAME_DATA))
		return true;
	if (arbiter->session_known && frame->seq != arbiter->first_seq && !arbiter->session_ended) {
		arbiter->stats.lines[line].wrong_session++;
		return false;
	}
	if (arbiter->session_known) {
		arbiter->snapshot_pending = false;	/* a new session starts empty: nothing to wait for */
		arbiter->start_seq = 0;
		arbiter_flush(arbiter, now_ns);
		arbiter->stats.session_changes++;
		if (arbiter->session_start != NULL)
			arbiter->session_start(arbiter->context);
	}
	arbiter->session_known = true;
	arbiter->session_ended = false;
	arbiter->seen_end = 0;
	arbiter->session_applied = false;
	arbiter->recovering = false;
	arbiter->session_len = frame->session_len;
	assert(frame->session_len <= sizeof(arbiter->session));
	memcpy(arbiter->session, frame->session, frame->session_len);
	arbiter->expected = arbiter->start_seq != 0 ? arbiter->start_seq : arbiter->first_seq;
	arbiter->session_applied = arbiter->start_seq != 0;	/* the snapshot was its start */
	arbiter->start_seq = 0;
	return true;
}

void arbiter_offer(struct arbiter *arbiter, const struct decoder_frame *frame,
		   const struct arbiter_packet *packet, uint64_t now_ns)
{
	/* The packet is the frame's (feed.c copies it); a data frame's range does not wrap. */
	assert(packet->line < ARBITER_LINES && packet->seq == frame->seq && packet->count == frame->count &&
	       packet->kind == (uint8_t)frame->kind);
	assert(frame->kind != DECODER_FRAME_DATA || frame->seq + frame->count > frame->seq);
	assert(arbiter->held_count <= arbiter->held_max);
	if (!arbiter_session_accept(arbiter, frame, packet->line, now_ns)) {
		arbiter_release(arbiter, packet);
		return;
	}
	if (frame->kind != DECODER_FRAME_DATA) {
		if (frame->kind == DECODER_FRAME_END) {
			/* Once per session, however many lines say so. */
			arbiter->stats.session_ends += !arbiter->session_ended;
			arbiter->session_ended = true;
		} else {
			arbiter->stats.lines[packet->line].heartbeats++;
		}
		/* It names the next sequence number: anything before it is owed to us. */
		if (frame->seq > arbiter->expected && !arbiter->snapshot_pending)
			arbiter_hold(arbiter, packet, now_ns);
		else
			arbiter_release(arbiter, packet);
		return;
	}
	if (frame->seq + frame->count > arbiter->seen_end)
		arbiter->seen_end = frame->seq + frame->count;
	if (frame->seq > arbiter->expected || arbiter->snapshot_pending) {
		arbiter_hold(arbiter, packet, now_ns);
		return;
	}
	arbiter_deliver(arbiter, packet);
	if (arbiter->held_count > 0)
		arbiter_drain(arbiter, now_ns);
	else
		arbiter_recovery_check(arbiter);
}

/*
 * The current hole goes to recover(), unless it is a join: the session's first hole,
 * with nothing of the session applied yet, longer than join_recover_max (fhd started
 * mid-session; re-requesting the whole session is not what a re-request server is
 * for). A join, or an arbiter without recover(), declares the hole a gap.
 */
static void arbiter_recovery_start(struct arbiter *arbiter, uint64_t now_ns)
{
	uint64_t first = arbiter->expected, count;

	assert(arbiter->held_count > 0 && !arbiter->recovering);
	count = arbiter->held[0].seq - first;
	if (arbiter->recover == NULL) {
		arbiter_gap_declare(arbiter, now_ns);
		return;
	}
	if (!arbiter->session_applied && first == arbiter->first_seq && count > arbiter->join_recover_max) {
		arbiter->stats.joins_unrecovered++;
		arbiter_gap_declare(arbiter, now_ns);
		return;
	}
	arbiter->recovering = true;
	arbiter->recover_end = arbiter->held[0].seq;
	arbiter->stats.recoveries++;
	arbiter->recover(arbiter->context, first, count);
}

bool arbiter_recover_now(struct arbiter *arbiter, uint64_t now_ns)
{
	if (!arbiter->recovering && !arbiter->snapshot_pending && arbiter->held_count > 0 &&
	    arbiter->held[0].seq > arbiter->expected && arbiter->recover != NULL)
		arbiter_recovery_start(arbiter, now_ns);
	return arbiter->recovering || arbiter->snapshot_pending;
}

void arbiter_recovery_lost(struct arbiter *arbiter, uint64_t first, uint64_t count, uint64_t now_ns)
{
	/* A give-up for a hole since filled or declared (an old message) changes nothing. */
	if (!arbiter->recovering || first >= arbiter->recover_end || first + count <= arbiter->expected)
		return;
	assert(arbiter->held_count > 0 && arbiter->held[0].seq > arbiter->expected);
	arbiter_gap_declare(arbiter, now_ns);
}

void arbiter_expire(struct arbiter *arbiter, uint64_t now_ns)
{
	/* A clock behind the hole's start (capture time going backwards) expires nothing. */
	if (arbiter->held_count > 0 && !arbiter->recovering && !arbiter->snapshot_pending &&
	    now_ns >= arbiter->hole_since_ns &&
	    now_ns - arbiter->hole_since_ns >= arbiter->window_ns)
		arbiter_recovery_start(arbiter, now_ns);
}

void arbiter_snapshot_begin(struct arbiter *arbiter)
{
	arbiter->snapshot_pending = true;
	arbiter->recovering = false;	/* the snapshot covers any hole being recovered */
}

void arbiter_snapshot_end(struct arbiter *arbiter, uint64_t next_seq, const char *session,
			  uint8_t session_len, uint64_t now_ns)
{
	(void)session;
	(void)session_len;
	assert(arbiter->snapshot_pending && next_seq > 0);
	arbiter->snapshot_pending = false;
	if (!arbiter->session_known) {
		arbiter->start_seq = next_seq;
		return;
	}
	arbiter->expected = next_seq;
	arbiter->session_applied = true;
	arbiter->hole_since_ns = now_ns;
	arbiter_drain(arbiter, now_ns);
}

void arbiter_snapshot_failed(struct arbiter *arbiter, uint64_t now_ns)
{
	arbiter->snapshot_pending = false;
	arbiter->hole_since_ns = now_ns;
	/* What the lines gave meanwhile is applied from its first packet on. */
	if (arbiter->held_count > 0 && arbiter->held[0].seq > arbiter->expected)
		arbiter_gap_declare(arbiter, now_ns);
	else if (arbiter->held_count > 0)
		arbiter_drain(arbiter, now_ns);
}

void arbiter_flush(struct arbiter *arbiter, uint64_t now_ns)
{
	/* Each round delivers at least the first held packet: at most held_count rounds. */
	while (arbiter->held_count > 0) {
		uint32_t before = arbiter->held_count;

		if (arbiter->held[0].seq > arbiter->expected)
			arbiter_gap_declare(arbiter, now_ns);
		else
			arbiter_drain(arbiter, now_ns);
		assert(arbiter->held_count < before);
	}
}
