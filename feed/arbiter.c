/*
 * arbiter: A/B arbitration with a bounded reorder window (see arbiter.h).
 *
 * The held packets are a ring of held_max slots (held_head, held_count), sorted by
 * sequence number from its head: the first one leaves in O(1) (a drain, a snapshot's
 * drop of its oldest), and a packet goes in by shifting the shorter side, which for
 * the usual newest packet (at the tail) is nothing. With a hold of a million packets
 * a memmove of the whole hold per packet cost milliseconds (issue 20).
 */
#include "feed/arbiter.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A held entry is confirmed by two copies; the line bits fit in held.lines. */
_Static_assert(ARBITER_LINES <= 8, "arbiter_held.lines has a bit per line");
/* held_head + i stays below 2 * held_max: no uint32_t wrap. */
_Static_assert(ARBITER_HELD_MAX <= UINT32_MAX / 2, "held slots are uint32_t");

int arbiter_init(struct arbiter *arbiter, uint32_t held_max, uint64_t window_ns, uint64_t first_seq,
		 void (*apply)(void *, const struct arbiter_packet *, uint32_t),
		 void (*release)(void *, void *), void (*session_start)(void *), void *context)
{
	assert(arbiter != NULL && apply != NULL && release != NULL);
	memset(arbiter, 0, sizeof(*arbiter));
	if (held_max == 0 || held_max > ARBITER_HELD_MAX)
		return -EINVAL;
	arbiter->held = malloc((size_t)held_max * sizeof(arbiter->held[0]));
	if (arbiter->held == NULL)
		return -ENOMEM;
	/* Prefaulted: a deep hold (a snapshot's) must not fault pages in on the data path. */
	memset(arbiter->held, 0, (size_t)held_max * sizeof(arbiter->held[0]));
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

/* The held entry at position i (0: the first), i <= held_count < held_max for a free slot. */
static struct arbiter_held *arbiter_held_at(struct arbiter *arbiter, uint32_t i)
{
	uint32_t slot = arbiter->held_head + i;

	assert(i < arbiter->held_max);
	if (slot >= arbiter->held_max)
		slot -= arbiter->held_max;
	return &arbiter->held[slot];
}

/* The first held entry (held_count > 0): arbiter_held_at(arbiter, 0), on the drain's path. */
static struct arbiter_held *arbiter_held_first(struct arbiter *arbiter)
{
	return &arbiter->held[arbiter->held_head];
}

static void arbiter_release(struct arbiter *arbiter, const struct arbiter_packet *packet)
{
	if (packet->packet != NULL)
		arbiter->release(arbiter->context, packet->packet);
}

/* Takes the first held entry out of the ring (the caller delivered or released it): O(1). */
static void arbiter_held_pop(struct arbiter *arbiter)
{
	assert(arbiter->held_count > 0);
	arbiter->held_head = arbiter->held_head + 1 == arbiter->held_max ? 0 : arbiter->held_head + 1;
	arbiter->held_count--;
}

void arbiter_fini(struct arbiter *arbiter)
{
	/* Each round takes one entry out: held_count rounds. */
	while (arbiter->held_count > 0) {
		arbiter_release(arbiter, &arbiter_held_first(arbiter)->packet);
		arbiter_held_pop(arbiter);
	}
	free(arbiter->held);
	arbiter->held = NULL;
	arbiter->held_head = 0;
}

/*
 * The position of the first held packet at or past seq from position `from` on
 * (held_count if none): at the tail, where a newest packet goes, in O(1), else a
 * binary search, O(log held_count).
 */
static uint32_t arbiter_held_find(struct arbiter *arbiter, uint64_t seq, uint32_t from)
{
	uint32_t low = from, high = arbiter->held_count;

	if (low >= high || arbiter_held_at(arbiter, high - 1)->packet.seq < seq)
		return high;
	while (low < high) {
		uint32_t middle = low + (high - low) / 2;

		if (arbiter_held_at(arbiter, middle)->packet.seq < seq)
			low = middle + 1;
		else
			high = middle;
	}
	return low;
}

/* The position after every held packet of sequence seq or below: where a packet of seq goes. */
static uint32_t arbiter_held_after(struct arbiter *arbiter, uint64_t seq)
{
	return seq == UINT64_MAX ? arbiter->held_count : arbiter_held_find(arbiter, seq + 1, 0);
}

/*
 * Opens slot i (0..held_count) of the ring for a new entry, keeping the order: the
 * entries on the shorter side of it move by one (none for a newest packet, at the
 * tail), at most held_count / 2 moves. Returns the slot.
 */
static struct arbiter_held *arbiter_held_open(struct arbiter *arbiter, uint32_t i)
{
	assert(arbiter->held_count < arbiter->held_max && i <= arbiter->held_count);
	if (i < arbiter->held_count - i) {
		/* Fewer before it: those move one slot towards the head, which moves back one. */
		arbiter->held_head = arbiter->held_head == 0 ? arbiter->held_max - 1 : arbiter->held_head - 1;
		for (uint32_t k = 0; k < i; k++)
			*arbiter_held_at(arbiter, k) = *arbiter_held_at(arbiter, k + 1);
	} else {
		for (uint32_t k = arbiter->held_count; k > i; k--)
			*arbiter_held_at(arbiter, k) = *arbiter_held_at(arbiter, k - 1);
	}
	arbiter->held_count++;
	return arbiter_held_at(arbiter, i);
}

bool arbiter_reply_fits(struct arbiter *arbiter, uint64_t seq, uint64_t count)
{
	uint32_t next = arbiter_held_find(arbiter, seq, 0);

	return next < arbiter->held_count && seq + count <= arbiter_held_at(arbiter, next)->packet.seq;
}

/* Confirmed data reached `end` (one past its last sequence number). */
static void arbiter_seen_raise(struct arbiter *arbiter, uint64_t end)
{
	if (end > arbiter->seen_end)
		arbiter->seen_end = end;
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
		arbiter_seen_raise(arbiter, arbiter->expected);
		/* An applied range is not lost, even if a re-sync later goes back over it. */
		if (arbiter->expected > arbiter->counted_end)
			arbiter->counted_end = arbiter->expected;
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

/* Delivers held packets that are no longer in the future: O(1) each. */
static bool arbiter_held_confirmed(struct arbiter *arbiter, uint32_t i);
static bool arbiter_held_overtaken(const struct arbiter *arbiter, const struct arbiter_held *held);

/*
 * The packet that ends the hole being recovered (recover_end), judged again as the
 * lines fill the hole: a corrupt far-future copy believed when the hole was handed
 * over (nothing had contradicted it yet) is refused once the lines go on without it,
 * and the hole shrinks to the first packet held, so the worker is not left asking
 * for, and then giving up, what never was (attack review, sim seed 7295). Only the
 * last held entry can end the hole: a real end has its successors held after it.
 */
static void arbiter_recovery_end_check(struct arbiter *arbiter)
{
	uint32_t last;
	struct arbiter_held *tail;

	if (arbiter->held_count == 0)
		return;
	last = arbiter->held_count - 1;
	tail = arbiter_held_at(arbiter, last);
	if (tail->packet.seq != arbiter->recover_end || arbiter_held_confirmed(arbiter, last) ||
	    !arbiter_held_overtaken(arbiter, tail))
		return;
	arbiter->stats.lines[tail->packet.line].bad_sequence++;
	arbiter_release(arbiter, &tail->packet);
	arbiter->held_count--;	/* the ring's last entry: O(1) */
	arbiter->recover_end = arbiter->held_count > 0 ? arbiter_held_first(arbiter)->packet.seq : arbiter->expected;
}

static void arbiter_drain(struct arbiter *arbiter, uint64_t now_ns)
{
	uint64_t before = arbiter->expected;

	/* Each round takes the first entry out: at most held_count rounds. */
	while (arbiter->held_count > 0) {
		struct arbiter_held *first = arbiter_held_first(arbiter);

		if (first->packet.seq > arbiter->expected)
			break;
		arbiter_deliver(arbiter, &first->packet);
		arbiter_held_pop(arbiter);
	}
	if (arbiter->expected != before)
		arbiter->hole_since_ns = now_ns;
	/* What stays held is still ahead of what is expected. */
	assert(arbiter->held_count == 0 || arbiter_held_first(arbiter)->packet.seq > arbiter->expected);
	if (arbiter->recovering && arbiter->expected != before)
		arbiter_recovery_end_check(arbiter);
	arbiter_recovery_check(arbiter);
}

/*
 * Whether a held entry is confirmed: copies from two lines, a recovery reply (the
 * server's word), or its continuation held (an entry after it, data or heartbeat
 * marker, starting where it ends: the sequence really goes on from it).
 */
static bool arbiter_held_confirmed(struct arbiter *arbiter, uint32_t i)
{
	const struct arbiter_held *held = arbiter_held_at(arbiter, i);
	uint64_t end = held->packet.seq + held->packet.count;
	uint32_t next;

	if ((held->lines & (1u << ARBITER_LINE_RECOVERY)) || __builtin_popcount(held->lines) >= 2)
		return true;
	next = arbiter_held_find(arbiter, end, i + 1);
	return next < arbiter->held_count && arbiter_held_at(arbiter, next)->packet.seq == end;
}

/*
 * Whether the lines went on without a held entry, judged from each line's latest
 * packet that came after it. If one is at or past the entry, the session has got
 * there: no. Otherwise, if one starts below it and ends past where the session stood
 * when it came (expected, and where its own line was), the old sequence went on
 * without it: yes. A real packet after a loss is followed on the lines by the ones
 * after it, or by nothing; a corrupt sequence number by the old sequence going on. A
 * line lagging behind or reordering a few packets may fill part of the hole before a
 * real packet and be judged so, but only while it has not passed it: rarely by the
 * end of the window, and then the range is recovered (or declared) with the hole.
 */
static bool arbiter_held_overtaken(const struct arbiter *arbiter, const struct arbiter_held *held)
{
	bool overtaken = false;

	for (uint32_t line = 0; line < ARBITER_LINE_RECOVERY; line++) {
		if (arbiter->line_offered[line] <= held->offered)
			continue;	/* nothing from it since */
		if (arbiter->line_seq[line] >= held->packet.seq)
			return false;
		if (arbiter->line_end[line] > held->line_end)
			overtaken = true;
	}
	return overtaken;
}

/* The hole with recover() is filled: its end was a refused packet, so what came is all of it. */
static void arbiter_recovery_cut(struct arbiter *arbiter, uint64_t now_ns)
{
	if (!arbiter->recovering)
		return;
	if (arbiter->held_count > 0 && arbiter_held_first(arbiter)->packet.seq <= arbiter->recover_end)
		return;
	arbiter->recover_end = arbiter->expected;
	arbiter->hole_since_ns = now_ns;	/* a hole before what is held now waits its own window */
	arbiter_recovery_check(arbiter);
}

/*
 * The hole before the first held packet is about to be declared or handed to
 * recover(): that packet says where the session has got to, so it must be believable.
 * One not confirmed (arbiter_held_confirmed) that the lines went on without
 * (arbiter_held_overtaken) is a bad sequence number (a corrupt packet: one copy, the
 * old sequence going on past it): counted, released, and the next one is judged the
 * same way. An unconfirmed packet nothing contradicts (a loss, then a lone packet) is
 * believed, as before issue 20. True if a held packet, ahead of expected, is left.
 */
static bool arbiter_hole_check(struct arbiter *arbiter, uint64_t now_ns)
{
	/* Each round but the last releases the first entry: at most held_count rounds. */
	for (uint32_t rounds = arbiter->held_count; rounds > 0; rounds--) {
		struct arbiter_held *first = arbiter_held_first(arbiter);

		assert(first->packet.seq > arbiter->expected);
		/* Data at or past the session's End of Session is no part of it (nor a hole's end). */
		bool past_end = arbiter->session_ended && first->packet.kind == DECODER_FRAME_DATA &&
				first->packet.seq >= arbiter->session_end_seq &&
				!(first->lines & (1u << ARBITER_LINE_RECOVERY));
		bool confirmed = arbiter_held_confirmed(arbiter, 0);
		/*
		 * Mid-session, a lone packet further ahead than the whole hold could ever carry
		 * (held_max packets of 65,535 messages) is no loss the lines made but a corrupt
		 * sequence number, even with nothing after it to overtake it (the last packet
		 * before silence: attack review, sim seeds 8656, 11904). A join (nothing of the
		 * session applied yet) may be that far ahead.
		 */
		bool beyond = !confirmed && arbiter->session_applied &&
			      first->packet.seq - arbiter->expected > (uint64_t)arbiter->held_max * UINT16_MAX;

		if (!past_end && !beyond && (confirmed || !arbiter_held_overtaken(arbiter, first)))
			break;
		arbiter->stats.lines[first->packet.line].bad_sequence++;
		arbiter_release(arbiter, &first->packet);
		arbiter_held_pop(arbiter);
	}
	arbiter_recovery_cut(arbiter, now_ns);
	return arbiter->held_count > 0;
}

/*
 * The hole before the first held packet will not be filled: logged and reported with
 * its real extent, counted (stats.gap_messages, newly_lost) only above counted_end, so
 * a range applied or declared before in the session (a lagging snapshot's re-sync goes
 * back over it) is not lost twice; then the feed moves on.
 */
static void arbiter_gap_declare(struct arbiter *arbiter, uint64_t now_ns)
{
	struct arbiter_gap *gap;
	uint64_t first = arbiter->expected, next = arbiter_held_first(arbiter)->packet.seq;
	uint64_t counted_from = first > arbiter->counted_end ? first : arbiter->counted_end;
	uint64_t newly_lost = next > counted_from ? next - counted_from : 0;

	assert(arbiter->held_count > 0 && next > first);
	arbiter->recovering = false;	/* a hole with recovery is declared: it is lost */
	gap = &arbiter->gap_log[arbiter->gap_log_head % ARBITER_GAP_LOG];
	gap->first = first;
	gap->count = next - first;
	gap->at_ns = now_ns;
	__atomic_store_n(&arbiter->gap_log_head, arbiter->gap_log_head + 1, __ATOMIC_RELEASE);
	arbiter->stats.gaps++;
	arbiter->stats.gap_messages += newly_lost;
	if (next > arbiter->counted_end)
		arbiter->counted_end = next;
	if (arbiter->gap != NULL)
		arbiter->gap(arbiter->context, first, next - first, newly_lost);
	arbiter->expected = next;
	arbiter_drain(arbiter, now_ns);
}

/*
 * A snapshot's hold bound: snapshot_held_max (0: held_max), never past held_max. A
 * snapshot may take long; what it holds is what the lines sent meanwhile, and the
 * owner may want it smaller than the recovery hold.
 */
static uint32_t arbiter_snapshot_hold_max(const struct arbiter *arbiter)
{
	if (arbiter->snapshot_held_max != 0 && arbiter->snapshot_held_max < arbiter->held_max)
		return arbiter->snapshot_held_max;
	return arbiter->held_max;
}

/*
 * A hold at its bound while a snapshot is taken: the lowest sequence goes, as the
 * snapshot is more likely to cover it than the highest. O(1).
 */
static void arbiter_hold_drop_first(struct arbiter *arbiter)
{
	assert(arbiter->held_count > 0);
	arbiter->stats.snapshot_dropped++;
	arbiter_release(arbiter, &arbiter_held_first(arbiter)->packet);
	arbiter_held_pop(arbiter);
}

/*
 * A copy of a held entry came from `line`: a second line's (or the server's) copy
 * confirms it, and with it the sequence its data reaches.
 */
static void arbiter_held_copy(struct arbiter *arbiter, struct arbiter_held *held, uint8_t line)
{
	held->lines |= (uint8_t)(1u << line);
	if (held->packet.kind == DECODER_FRAME_DATA &&
	    ((held->lines & (1u << ARBITER_LINE_RECOVERY)) || __builtin_popcount(held->lines) >= 2))
		arbiter_seen_raise(arbiter, held->packet.seq + held->packet.count);
}

/*
 * Holds a packet from the future; a second copy of a held packet is a duplicate (its
 * line is noted: it confirms the held one). A full hold while a snapshot is taken
 * drops its oldest; otherwise the oldest hole is declared a gap (or its first packet
 * refused, arbiter_hole_check) until this packet fits or is due.
 */
static void arbiter_hold(struct arbiter *arbiter, const struct arbiter_packet *packet,
			 uint64_t now_ns)
{
	uint32_t i = arbiter_held_after(arbiter, packet->seq);
	struct arbiter_held *held;

	if (i > 0) {
		struct arbiter_held *twin = arbiter_held_at(arbiter, i - 1);

		if (twin->packet.seq == packet->seq && twin->packet.count >= packet->count) {
			arbiter_held_copy(arbiter, twin, packet->line);
			if (packet->kind == DECODER_FRAME_DATA)
				arbiter->stats.lines[packet->line].duplicates++;
			arbiter_release(arbiter, packet);
			return;
		}
	}
	if (arbiter->snapshot_pending) {
		uint32_t hold_max = arbiter_snapshot_hold_max(arbiter);

		/* Each round drops one: at most held_count rounds (more than one if the bound shrank). */
		while (arbiter->held_count >= hold_max)
			arbiter_hold_drop_first(arbiter);
	}
	/* Each round releases or delivers at least the first held packet, so this ends. */
	while (arbiter->held_count == arbiter->held_max) {
		uint32_t before = arbiter->held_count;

		assert(!arbiter->snapshot_pending);
		if (arbiter_hole_check(arbiter, now_ns) && arbiter->held_count == before) {
			arbiter->stats.window_full++;
			arbiter->gap_full = true;
			arbiter_gap_declare(arbiter, now_ns);
			arbiter->gap_full = false;
		}
		assert(arbiter->held_count < before);
		if (packet->seq <= arbiter->expected) {
			arbiter_deliver(arbiter, packet);
			arbiter_drain(arbiter, now_ns);
			return;
		}
	}
	if (arbiter->held_count == 0)
		arbiter->hole_since_ns = now_ns;
	i = arbiter_held_after(arbiter, packet->seq);
	held = arbiter_held_open(arbiter, i);
	held->packet = *packet;
	held->offered = arbiter->offered;
	held->line_end = arbiter->line_end_before > arbiter->expected ? arbiter->line_end_before : arbiter->expected;
	held->lines = (uint8_t)(1u << packet->line);
	if (packet->kind != DECODER_FRAME_DATA) {
		held->packet.packet = NULL;
		arbiter_release(arbiter, packet);
	}
	/* The order is kept; an equal sequence (a shorter copy) comes first. */
	assert(i == 0 || arbiter_held_at(arbiter, i - 1)->packet.seq <= packet->seq);
	assert(i + 1 == arbiter->held_count || arbiter_held_at(arbiter, i + 1)->packet.seq > packet->seq);
	/* A longer copy of a held packet confirms the shorter one (not the other way round). */
	if (i > 0 && arbiter_held_at(arbiter, i - 1)->packet.seq == packet->seq)
		arbiter_held_copy(arbiter, arbiter_held_at(arbiter, i - 1), packet->line);
	if (packet->kind == DECODER_FRAME_DATA) {
		const struct arbiter_held *before = i > 0 ? arbiter_held_at(arbiter, i - 1) : NULL;

		/* Confirmed data: its own copies, or the packet before it ends where it starts. */
		if (__builtin_popcount(held->lines) >= 2 || packet->line == ARBITER_LINE_RECOVERY)
			arbiter_seen_raise(arbiter, packet->seq + packet->count);
		if (before != NULL && before->packet.kind == DECODER_FRAME_DATA &&
		    before->packet.seq + before->packet.count == packet->seq)
			arbiter_seen_raise(arbiter, packet->seq);
		if (i + 1 < arbiter->held_count &&
		    arbiter_held_at(arbiter, i + 1)->packet.seq == packet->seq + packet->count)
			arbiter_seen_raise(arbiter, packet->seq + packet->count);
	}
	arbiter->stats.held++;
	if (arbiter->held_count > arbiter->stats.held_max)
		arbiter->stats.held_max = arbiter->held_count;
}

/* A snapshot's sequence is reached by a line: the feed's books are right. */
static void arbiter_snapshot_confirm(struct arbiter *arbiter)
{
	assert(arbiter->confirming);
	arbiter->confirming = false;
	arbiter->stats.snapshots_confirmed++;
	if (arbiter->snapshot_confirmed != NULL)
		arbiter->snapshot_confirmed(arbiter->context);
}

/*
 * The snapshot is refused (no line packet reached its sequence in time, or it is
 * another session's): what is held is released unapplied (it was to go on the
 * snapshot's books), a hole with recover() is dropped with it, and the next line data
 * packet is applied from its start (rejoin), not declared: the owner is told by
 * snapshot_unconfirmed() and decides what the books are worth.
 */
static void arbiter_snapshot_refuse(struct arbiter *arbiter)
{
	arbiter->confirming = false;
	arbiter->stats.snapshots_unconfirmed++;
	arbiter->rejoin = true;
	arbiter->recovering = false;
	arbiter->start_seq = 0;	/* before any packet: the session does not start at it either */
	arbiter->start_session_len = 0;
	/* Each round takes one entry out: held_count rounds. */
	while (arbiter->held_count > 0) {
		arbiter_release(arbiter, &arbiter_held_first(arbiter)->packet);
		arbiter_held_pop(arbiter);
	}
	if (arbiter->snapshot_unconfirmed != NULL)
		arbiter->snapshot_unconfirmed(arbiter->context);
}

/*
 * Whether a line packet [seq, end) reaches a snapshot's sequence S: it shows the lines
 * at S or past it. A packet that holds S, ends at S (the lines' next sequence is S:
 * nothing may follow a session's last message but its End of Session) or is a marker
 * naming S does. One wholly past S does only if the lines' own sequence vouches for
 * it: it continues its line's previous packet (prev_end), or another line is past S
 * too. So a lone copy with a corrupt far-future sequence never confirms a snapshot
 * that lies as far ahead.
 */
static bool arbiter_snapshot_reached(const struct arbiter *arbiter, uint64_t seq, uint64_t end,
				     uint64_t prev_end, uint8_t line)
{
	uint64_t s = arbiter->confirm_seq;

	assert(line < ARBITER_LINE_RECOVERY);
	if (end < s)
		return false;
	if (seq <= s || seq == prev_end)
		return true;
	for (uint8_t l = 0; l < ARBITER_LINE_RECOVERY; l++)
		if (l != line && arbiter->line_end[l] >= s && arbiter->line_seq[l] <= s)
			return true;
	return false;
}

/* The same for a held entry: one wholly past S must be confirmed by the lines (arbiter_held_confirmed). */
static bool arbiter_snapshot_reached_held(struct arbiter *arbiter, uint32_t i)
{
	const struct arbiter_held *held = arbiter_held_at(arbiter, i);
	uint64_t end = held->packet.seq + held->packet.count;

	if (!(held->lines & ((1u << ARBITER_LINE_RECOVERY) - 1)) || end < arbiter->confirm_seq)
		return false;	/* only the server said so, or below it */
	return held->packet.seq <= arbiter->confirm_seq || arbiter_held_confirmed(arbiter, i);
}

/* Trims the spaces either side of a session name (SoupBinTCP pads its fields). */
static void arbiter_session_trim(const char **name, uint8_t *len)
{
	while (*len > 0 && (*name)[0] == ' ') {
		(*name)++;
		(*len)--;
	}
	while (*len > 0 && (*name)[*len - 1] == ' ')
		(*len)--;
}

/* Whether two session names are the same but for spaces either side. */
static bool arbiter_session_alike(const char *x, uint8_t x_len, const char *y, uint8_t y_len)
{
	arbiter_session_trim(&x, &x_len);
	arbiter_session_trim(&y, &y_len);
	return x_len == y_len && memcmp(x, y, x_len) == 0;
}

/*
 * Another session name: adopted when it starts from the protocol's first sequence or
 * the old session has ended; anything else is a stray packet and is dropped, so a
 * corrupt or foreign packet cannot reset the books' sequence state. The same name
 * starting again from the first sequence after its end of session is a restart (a
 * replay looping, an exchange restart). A new session keeps nothing of the old one's
 * (seen_end, counted_end, a snapshot being confirmed or waiting for its session). The
 * first session after a snapshot ended starts at the snapshot's sequence, unless the
 * snapshot named another session: then it is refused and the lines start the books.
 */
static bool arbiter_session_accept(struct arbiter *arbiter, const struct decoder_frame *frame,
				   uint8_t line, uint64_t now_ns)
{
	bool same = arbiter->session_known && frame->session_len == arbiter->session_len &&
		    memcmp(frame->session, arbiter->session, frame->session_len) == 0;
	bool other;

	/*
	 * A recovery reply is part of the session it was asked for: it never starts or
	 * restarts one (a late reply for sequence 1 after End of Session would have
	 * emptied the books and said OK over one message).
	 */
	if (line == ARBITER_LINE_RECOVERY) {
		if (same)
			return true;
		arbiter->stats.lines[line].wrong_session++;
		return false;
	}

	if (same && !(arbiter->session_ended && frame->seq == arbiter->first_seq &&
		      frame->kind == DECODER_FRAME_DATA))
		return true;
	if (arbiter->session_known && frame->seq != arbiter->first_seq && !arbiter->session_ended) {
		arbiter->stats.lines[line].wrong_session++;
		return false;
	}
	if (arbiter->session_known) {
		/* A new session starts empty: nothing to wait for, no snapshot of the old one to confirm. */
		arbiter->snapshot_pending = false;
		arbiter->start_seq = 0;
		arbiter->start_session_len = 0;
		arbiter->confirming = false;
		arbiter->rejoin = false;
		arbiter_flush(arbiter, now_ns);
		arbiter->stats.session_changes++;
		if (arbiter->session_start != NULL)
			arbiter->session_start(arbiter->context);
	}
	arbiter->session_known = true;
	arbiter->session_ended = false;
	arbiter->seen_end = 0;
	arbiter->counted_end = 0;
	memset(arbiter->line_end, 0, sizeof(arbiter->line_end));	/* where the lines stand in it */
	arbiter->recovering = false;
	arbiter->session_len = frame->session_len;
	assert(frame->session_len <= sizeof(arbiter->session));
	memcpy(arbiter->session, frame->session, frame->session_len);
	/* A snapshot of another session is refused: this packet starts the books (rejoin). */
	other = arbiter->start_seq != 0 && arbiter->start_session_len > 0 &&
		!arbiter_session_alike(arbiter->start_session, arbiter->start_session_len, frame->session,
				       frame->session_len);
	if (other)
		arbiter->start_seq = 0;
	arbiter->expected = arbiter->start_seq != 0 ? arbiter->start_seq : arbiter->first_seq;
	arbiter->session_applied = arbiter->start_seq != 0;	/* the snapshot was its start */
	arbiter->start_seq = 0;
	arbiter->start_session_len = 0;
	if (other)
		arbiter_snapshot_refuse(arbiter);
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
	arbiter->offered++;
	if (packet->line != ARBITER_LINE_RECOVERY) {
		/* Where the line stood before this packet: a held one remembers it (arbiter_held_overtaken). */
		arbiter->line_end_before = arbiter->line_end[packet->line];
		arbiter->line_offered[packet->line] = arbiter->offered;
		arbiter->line_seq[packet->line] = frame->seq;
		arbiter->line_end[packet->line] = frame->seq + frame->count;
		if (arbiter->confirming) {
			if (arbiter->confirm_since_ns == 0)
				arbiter->confirm_since_ns = now_ns;	/* the session was not known at the End */
			if (arbiter_snapshot_reached(arbiter, frame->seq, frame->seq + frame->count,
						     arbiter->line_end_before, packet->line))
				arbiter_snapshot_confirm(arbiter);
		}
	}
	if (frame->kind != DECODER_FRAME_DATA) {
		if (frame->kind == DECODER_FRAME_END) {
			/* Once per session, however many lines say so; the first names its end. */
			arbiter->stats.session_ends += !arbiter->session_ended;
			if (!arbiter->session_ended) {
				arbiter->session_end_seq = frame->seq;
				arbiter->session_ended = true;
				/* Data held past the end (a corrupt far-future copy) goes now, with the hole it made. */
				if (arbiter->held_count > 0 && !arbiter->snapshot_pending &&
				    arbiter_held_first(arbiter)->packet.seq >= frame->seq)
					(void)arbiter_hole_check(arbiter, now_ns);
			}
		} else {
			arbiter->stats.lines[packet->line].heartbeats++;
		}
		/* It names the next sequence number: anything before it is owed to us (not while rejoining). */
		if (frame->seq > arbiter->expected && !arbiter->snapshot_pending && !arbiter->rejoin)
			arbiter_hold(arbiter, packet, now_ns);
		else
			arbiter_release(arbiter, packet);
		return;
	}
	/*
	 * Nothing of a session lies at or past its End of Session: a line packet there
	 * (a corrupt far-future copy after the end) is refused, not held as a hole.
	 */
	if (arbiter->session_ended && frame->seq >= arbiter->session_end_seq && packet->line != ARBITER_LINE_RECOVERY) {
		arbiter->stats.lines[packet->line].bad_sequence++;
		arbiter_release(arbiter, packet);
		return;
	}
	if (arbiter->rejoin && packet->line != ARBITER_LINE_RECOVERY && !arbiter->snapshot_pending) {
		/* A refused snapshot: the lines say where the session is, from this packet on. */
		arbiter->rejoin = false;
		arbiter->expected = frame->seq;
		arbiter->hole_since_ns = now_ns;
	}
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
 * for). A join, or an arbiter without recover(), declares the hole a gap. Either only
 * before a believable packet (arbiter_hole_check).
 */
static void arbiter_recovery_start(struct arbiter *arbiter, uint64_t now_ns)
{
	uint64_t first = arbiter->expected, count;

	assert(arbiter->held_count > 0 && !arbiter->recovering);
	if (!arbiter_hole_check(arbiter, now_ns))
		return;
	count = arbiter_held_first(arbiter)->packet.seq - first;
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
	arbiter->recover_end = arbiter_held_first(arbiter)->packet.seq;
	arbiter->stats.recoveries++;
	arbiter->recover(arbiter->context, first, count);
}

bool arbiter_recover_now(struct arbiter *arbiter, uint64_t now_ns)
{
	if (!arbiter->recovering && !arbiter->snapshot_pending && arbiter->held_count > 0 &&
	    arbiter_held_first(arbiter)->packet.seq > arbiter->expected && arbiter->recover != NULL)
		arbiter_recovery_start(arbiter, now_ns);
	return arbiter->recovering || arbiter->snapshot_pending;
}

void arbiter_recovery_lost(struct arbiter *arbiter, uint64_t first, uint64_t count, uint64_t now_ns)
{
	/* A give-up for a hole since filled or declared (an old message) changes nothing. */
	if (!arbiter->recovering || first >= arbiter->recover_end || first + count <= arbiter->expected)
		return;
	assert(arbiter->held_count > 0 && arbiter_held_first(arbiter)->packet.seq > arbiter->expected);
	/* Its end refused, the hole was the lines' delay, not a loss: nothing to declare. */
	if (!arbiter_hole_check(arbiter, now_ns) || !arbiter->recovering)
		return;
	arbiter_gap_declare(arbiter, now_ns);
}

void arbiter_expire(struct arbiter *arbiter, uint64_t now_ns)
{
	/* A clock behind the start (capture time going backwards) expires nothing. */
	if (arbiter->confirming && arbiter->confirm_since_ns != 0 && now_ns >= arbiter->confirm_since_ns &&
	    now_ns - arbiter->confirm_since_ns >= arbiter->confirm_ns)
		arbiter_snapshot_refuse(arbiter);
	if (arbiter->held_count > 0 && !arbiter->recovering && !arbiter->snapshot_pending &&
	    now_ns >= arbiter->hole_since_ns &&
	    now_ns - arbiter->hole_since_ns >= arbiter->window_ns)
		arbiter_recovery_start(arbiter, now_ns);
}

void arbiter_snapshot_begin(struct arbiter *arbiter)
{
	arbiter->snapshot_pending = true;
	arbiter->recovering = false;	/* the snapshot covers any hole being recovered */
	arbiter->confirming = false;	/* and replaces a snapshot not yet confirmed */
}

void arbiter_snapshot_end(struct arbiter *arbiter, uint64_t next_seq, const char *session,
			  uint8_t session_len, uint64_t now_ns)
{
	assert(arbiter->snapshot_pending && next_seq > 0);
	assert((session != NULL || session_len == 0) && session_len <= sizeof(arbiter->start_session));
	arbiter->snapshot_pending = false;
	arbiter->confirm_seq = next_seq;
	arbiter->rejoin = false;	/* the snapshot says where the session is (unless refused below) */
	if (!arbiter->session_known) {
		/* The first packet of the lines says whether it is their session (arbiter_session_accept). */
		arbiter->start_seq = next_seq;
		arbiter->start_session_len = session_len;
		if (session_len > 0)
			memcpy(arbiter->start_session, session, session_len);
		arbiter->confirming = arbiter->confirm_ns != 0;
		arbiter->confirm_since_ns = 0;
		return;
	}
	if (session_len > 0 && !arbiter_session_alike(session, session_len, arbiter->session, arbiter->session_len)) {
		arbiter_snapshot_refuse(arbiter);
		return;
	}
	arbiter->expected = next_seq;
	arbiter->session_applied = true;
	arbiter->hole_since_ns = now_ns;
	if (arbiter->confirm_ns != 0) {
		arbiter->confirming = true;
		arbiter->confirm_since_ns = now_ns;
		/*
		 * The lines may be there already: the last packet of a line (a marker the
		 * snapshot's hold did not keep, too), or a packet held meanwhile, the last ones
		 * likeliest.
		 */
		for (uint8_t l = 0; l < ARBITER_LINE_RECOVERY && arbiter->confirming; l++)
			if (arbiter->line_offered[l] > 0 && arbiter->line_seq[l] <= next_seq &&
			    arbiter->line_end[l] >= next_seq)
				arbiter_snapshot_confirm(arbiter);
		for (uint32_t i = arbiter->held_count; i > 0 && arbiter->confirming; i--) {
			if (arbiter_snapshot_reached_held(arbiter, i - 1)) {
				arbiter_snapshot_confirm(arbiter);
				break;
			}
		}
	}
	arbiter_drain(arbiter, now_ns);
}

/* After a refused snapshot, the first held packet says where the session is (no gap before it). */
static void arbiter_rejoin_held(struct arbiter *arbiter)
{
	if (!arbiter->rejoin || arbiter->held_count == 0)
		return;
	arbiter->rejoin = false;
	arbiter->expected = arbiter_held_first(arbiter)->packet.seq;
}

void arbiter_snapshot_failed(struct arbiter *arbiter, uint64_t now_ns)
{
	arbiter->snapshot_pending = false;
	arbiter->hole_since_ns = now_ns;
	arbiter_rejoin_held(arbiter);
	/* What the lines gave meanwhile is applied from its first (believable) packet on. */
	if (arbiter->held_count > 0 && arbiter_held_first(arbiter)->packet.seq > arbiter->expected) {
		if (arbiter_hole_check(arbiter, now_ns))
			arbiter_gap_declare(arbiter, now_ns);
	} else if (arbiter->held_count > 0) {
		arbiter_drain(arbiter, now_ns);
	}
}

void arbiter_flush(struct arbiter *arbiter, uint64_t now_ns)
{
	/* Nothing more will come from the lines: a snapshot they did not reach is refused. */
	if (arbiter->confirming)
		arbiter_snapshot_refuse(arbiter);
	arbiter_rejoin_held(arbiter);
	/* Each round releases or delivers at least the first held packet: at most held_count rounds. */
	while (arbiter->held_count > 0) {
		uint32_t before = arbiter->held_count;

		if (arbiter_held_first(arbiter)->packet.seq <= arbiter->expected)
			arbiter_drain(arbiter, now_ns);
		else if (arbiter_hole_check(arbiter, now_ns) && arbiter->held_count == before)
			arbiter_gap_declare(arbiter, now_ns);
		assert(arbiter->held_count < before);
	}
}
