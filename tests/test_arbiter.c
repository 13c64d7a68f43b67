/*
 * test_arbiter: A/B arbitration. A fake owner records which sequence numbers were
 * applied and which packet handles came back; every handle must come back exactly
 * once, every sequence number be applied at most once and in increasing order.
 * Negative and edge cases first (duplicates, stray sessions, window full, expiry,
 * heartbeats), then seeded random schedules (usage: test_arbiter [seed], or FH_SEED):
 * loss on one line with duplicates and reordering on both must apply 1..N exactly;
 * loss on both must apply every delivered message once, and applied + gap = N.
 * Then recovery mode (holes handed to recover(), replies on ARBITER_LINE_RECOVERY,
 * give-ups, a full hold, joins) and snapshot mode (everything held until the snapshot's
 * sequence is known), case by case and as seeded random schedules against what the
 * test knows was offered and given up.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed/arbiter.h"
#include "tests/check.h"

#define MESSAGES_MAX 200000

struct owner {
	const struct arbiter *arbiter;		/* whose bad_sequence counts tell a refusal */
	uint64_t bad_seen;			/* the sum of those counts at the last release */
	void (*refused)(uint64_t seq, uint32_t count);	/* optional: a packet refused (bad_sequence) */
	uint64_t applied[MESSAGES_MAX + 1];	/* times each sequence number was applied */
	uint64_t last_applied;
	uint64_t applied_total;
	bool out_of_order;
	uint32_t released[MESSAGES_MAX * 4];	/* times each handle came back */
	uint32_t handles;
	uint32_t session_starts;
};

static struct owner owner;
static uint64_t handle_seq[MESSAGES_MAX * 4];	/* what each handle carried */
static uint32_t handle_count[MESSAGES_MAX * 4];

static uint64_t bad_sequence_total(const struct arbiter *a)
{
	uint64_t total = 0;

	for (int line = 0; line < ARBITER_LINES; line++)
		total += a->stats.lines[line].bad_sequence;
	return total;
}

static void owner_apply(void *context, const struct arbiter_packet *p, uint32_t skip)
{
	(void)context;
	for (uint64_t s = p->seq + skip; s < p->seq + p->count; s++) {
		if (s <= owner.last_applied)
			owner.out_of_order = true;
		owner.last_applied = s;
		if (s <= MESSAGES_MAX)
			owner.applied[s]++;
		owner.applied_total++;
	}
}

/*
 * A refused packet is released right after its bad_sequence count goes up (the tests
 * that watch for it offer no heartbeat that could be refused without a release).
 */
static void owner_release(void *context, void *packet)
{
	uint32_t h = (uint32_t)((uintptr_t)packet - 1);

	(void)context;
	owner.released[h]++;
	if (owner.arbiter != NULL && bad_sequence_total(owner.arbiter) != owner.bad_seen) {
		owner.bad_seen = bad_sequence_total(owner.arbiter);
		if (owner.refused != NULL)
			owner.refused(handle_seq[h], handle_count[h]);
	}
}

static void owner_session_start(void *context)
{
	(void)context;
	owner.session_starts++;
	owner.last_applied = 0;
}

static void arbiter_start(struct arbiter *a, uint32_t held_max, uint64_t window_ns)
{
	memset(&owner, 0, sizeof(owner));
	arbiter_init(a, held_max, window_ns, 1, owner_apply, owner_release, owner_session_start, NULL);
	owner.arbiter = a;
}

/* Offers a packet of `count` messages from `seq` on `line` at time `now`. */
static void offer(struct arbiter *a, const char *session, enum decoder_frame_kind kind,
		  uint64_t seq, uint32_t count, uint8_t line, uint64_t now)
{
	struct decoder_frame f = { .kind = kind, .seq = seq, .count = count, .session_len = 10 };
	struct arbiter_packet p = {
		.seq = seq, .count = count, .line = line, .kind = (uint8_t)kind,
		.packet = (void *)(uintptr_t)(++owner.handles),
	};

	handle_seq[owner.handles - 1] = seq;
	handle_count[owner.handles - 1] = count;
	memcpy(f.session, session, 10);
	arbiter_offer(a, &f, &p, now);
}

static bool handles_all_released_once(void)
{
	for (uint32_t h = 0; h < owner.handles; h++)
		if (owner.released[h] != 1)
			return false;
	return true;
}

static bool applied_exactly(uint64_t first, uint64_t last)
{
	for (uint64_t s = 1; s <= MESSAGES_MAX; s++)
		if (owner.applied[s] != (s >= first && s <= last))
			return false;
	return !owner.out_of_order;
}

static void test_edges(void)
{
	struct arbiter a;
	const char *S = "SESSION001", *T = "SESSION002";

	printf("duplicates, fills from the other line, overlaps\n");
	arbiter_start(&a, 8, 1000);
	offer(&a, S, DECODER_FRAME_DATA, 1, 3, 0, 0);
	offer(&a, S, DECODER_FRAME_DATA, 1, 3, 1, 0);	/* B copy: duplicate */
	offer(&a, S, DECODER_FRAME_DATA, 7, 2, 0, 0);	/* future: held */
	CHECK(a.held_count == 1);
	offer(&a, S, DECODER_FRAME_DATA, 4, 3, 1, 0);	/* B fills 4..6 */
	CHECK(a.held_count == 0 && a.expected == 9);
	offer(&a, S, DECODER_FRAME_DATA, 8, 4, 1, 0);	/* overlaps: 9..11 applied */
	CHECK(applied_exactly(1, 11));
	CHECK(a.stats.lines[1].duplicates == 1 && a.stats.gaps == 0);

	printf("stray sessions are dropped, real session changes adopted\n");
	offer(&a, T, DECODER_FRAME_DATA, 500, 1, 0, 0);
	CHECK(a.stats.lines[0].wrong_session == 1 && a.expected == 12);
	offer(&a, S, DECODER_FRAME_END, 12, 0, 0, 0);
	offer(&a, S, DECODER_FRAME_END, 12, 0, 1, 0);
	CHECK(a.stats.session_ends == 1);
	offer(&a, T, DECODER_FRAME_DATA, 1, 2, 1, 0);	/* new session after the end */
	CHECK(a.stats.session_changes == 1 && owner.session_starts == 1 && a.expected == 3);
	offer(&a, T, DECODER_FRAME_END, 3, 0, 0, 0);
	offer(&a, T, DECODER_FRAME_DATA, 1, 2, 0, 0);	/* same name from 1 after its end: restart */
	CHECK(a.stats.session_changes == 2 && owner.session_starts == 2);
	arbiter_fini(&a);
	CHECK(handles_all_released_once());

	printf("window full forces a gap; time expiry declares one\n");
	arbiter_start(&a, 2, 1000);
	offer(&a, S, DECODER_FRAME_DATA, 1, 1, 0, 0);
	offer(&a, S, DECODER_FRAME_DATA, 5, 1, 0, 10);
	offer(&a, S, DECODER_FRAME_DATA, 6, 1, 0, 20);
	offer(&a, S, DECODER_FRAME_DATA, 7, 1, 0, 30);	/* window of 2 is full: 2..4 lost */
	CHECK(a.stats.gaps == 1 && a.stats.gap_messages == 3 && a.stats.window_full == 1);
	CHECK(a.gap_log[0].first == 2 && a.gap_log[0].count == 3);
	CHECK(applied_exactly(1, 1) == false && owner.applied[5] && owner.applied[6] && owner.applied[7]);
	offer(&a, S, DECODER_FRAME_DATA, 3, 1, 1, 40);	/* too late: duplicate */
	CHECK(owner.applied[3] == 0 && a.stats.lines[1].duplicates == 1);
	offer(&a, S, DECODER_FRAME_DATA, 10, 1, 0, 100);
	arbiter_expire(&a, 50);	/* a clock behind the hole's start expires nothing */
	CHECK(a.stats.gaps == 1);
	arbiter_expire(&a, 1099);
	CHECK(a.stats.gaps == 1);
	arbiter_expire(&a, 1100);
	CHECK(a.stats.gaps == 2 && owner.applied[10] == 1 && a.expected == 11);
	printf("a heartbeat ahead opens a hole the window then declares\n");
	offer(&a, S, DECODER_FRAME_HEARTBEAT, 15, 0, 0, 2000);
	CHECK(a.held_count == 1);
	arbiter_flush(&a, 5000);
	CHECK(a.stats.gaps == 3 && a.expected == 15 && a.held_count == 0);
	arbiter_fini(&a);
	CHECK(handles_all_released_once());
}

struct schedule_item {
	uint64_t seq;
	uint32_t count;
	uint8_t line;
	double at;	/* arrival order key */
};

static int schedule_compare(const void *x, const void *y)
{
	const struct schedule_item *a = x, *b = y;

	return a->at < b->at ? -1 : a->at > b->at;
}

/*
 * One random session of n messages in packets of 1..8, copied to both lines with
 * per-line loss, duplicates and local reordering, and B skewed behind A.
 */
static void run_schedule(uint64_t n, double loss_a, double loss_b, bool both_lost_never)
{
	static struct schedule_item items[MESSAGES_MAX * 3];
	size_t count = 0;
	struct arbiter a;
	uint64_t seq = 1, index = 0;

	arbiter_start(&a, 64, UINT64_MAX / 2);
	while (seq <= n) {
		uint32_t c = (uint32_t)(1 + check_rng() % 8);
		bool lost[2];

		if (seq + c - 1 > n)
			c = (uint32_t)(n - seq + 1);
		lost[0] = (double)(check_rng() % 10000) / 10000 < loss_a;
		lost[1] = (double)(check_rng() % 10000) / 10000 < loss_b;
		if (both_lost_never && lost[0] && lost[1])
			lost[1] = false;
		for (uint8_t line = 0; line < 2; line++) {
			int copies = lost[line] ? 0 : (check_rng() % 20 == 0 ? 2 : 1);

			for (int k = 0; k < copies; k++) {
				double jitter = check_rng() % 5 == 0 ? (double)(check_rng() % 4) : 0; /* reorder <= 3 */

				items[count++] = (struct schedule_item){
					seq, c, line, (double)index + jitter + line * 5.5 + k * 0.1 };
			}
		}
		seq += c;
		index++;
	}
	qsort(items, count, sizeof(items[0]), schedule_compare);
	for (size_t i = 0; i < count; i++)
		offer(&a, "RANDOM0001", DECODER_FRAME_DATA, items[i].seq, items[i].count, items[i].line, i);
	arbiter_flush(&a, count);
	if (both_lost_never) {
		CHECK(applied_exactly(1, n));
		CHECK(a.stats.gaps == 0);
	} else {
		bool once = !owner.out_of_order;

		for (uint64_t s = 1; s <= n; s++)
			once = once && owner.applied[s] <= 1;
		CHECK(once);
		CHECK(owner.applied_total + a.stats.gap_messages == owner.last_applied);
	}
	arbiter_fini(&a);
	CHECK(handles_all_released_once());
}

/*
 * Recovery and snapshot modes. The recorder below sees every callback and checks, as
 * they happen, that what the arbiter applies and declares is strictly sequential: each
 * applied message is the one after the last applied or declared, each gap starts there.
 */
#define REC_GAPS 4096

enum rec_phase { PHASE_OFFER, PHASE_EXPIRE, PHASE_GIVE_UP, PHASE_OTHER };

struct recorder {
	uint64_t next;			/* the next sequence number due (applied or declared) */
	bool broken;			/* something applied or declared out of sequence */
	uint32_t recovers, recovered;
	uint64_t recover_first, recover_count;
	uint32_t gaps;
	struct arbiter_gap gap[REC_GAPS];
	uint64_t newly_lost[REC_GAPS];	/* what gap() said was counted for the first time */
	enum rec_phase gap_phase[REC_GAPS];
	enum rec_phase phase;
	uint32_t confirmed, unconfirmed;	/* snapshot_confirmed(), snapshot_unconfirmed() */
	bool rejoin;			/* after snapshot_unconfirmed(): the next applied starts anywhere */
};

static struct recorder rec;

static void rec_apply(void *context, const struct arbiter_packet *p, uint32_t skip)
{
	if (rec.rejoin)
		rec.rejoin = false;	/* a refused snapshot: the lines say where the session is */
	else if (p->seq + skip != rec.next)
		rec.broken = true;
	rec.next = p->seq + p->count;
	owner_apply(context, p, skip);
}

static void rec_gap(void *context, uint64_t first, uint64_t count, uint64_t newly_lost)
{
	(void)newly_lost;
	(void)context;
	if (newly_lost > count)
		rec.broken = true;
	if (first != rec.next || count == 0)
		rec.broken = true;
	rec.next = first + count;
	if (rec.gaps < REC_GAPS) {
		rec.gap[rec.gaps] = (struct arbiter_gap){ .first = first, .count = count };
		rec.newly_lost[rec.gaps] = newly_lost;
		rec.gap_phase[rec.gaps] = rec.phase;
	}
	rec.gaps++;
}

static void rec_recover(void *context, uint64_t first, uint64_t count)
{
	(void)context;
	if (first != rec.next || count == 0)
		rec.broken = true;
	rec.recovers++;
	rec.recover_first = first;
	rec.recover_count = count;
}

static void rec_recovered(void *context)
{
	(void)context;
	rec.recovered++;
}

static void rec_snapshot_confirmed(void *context)
{
	(void)context;
	rec.confirmed++;
}

static void rec_snapshot_unconfirmed(void *context)
{
	(void)context;
	rec.unconfirmed++;
	rec.rejoin = true;
}

/* An arbiter with recovery on (recover set) or off, recording into `rec`. */
static void rec_start(struct arbiter *a, uint32_t held_max, uint64_t window_ns, bool recovery,
		      uint64_t join_recover_max)
{
	memset(&owner, 0, sizeof(owner));
	memset(&rec, 0, sizeof(rec));
	rec.next = 1;
	arbiter_init(a, held_max, window_ns, 1, rec_apply, owner_release, owner_session_start, NULL);
	owner.arbiter = a;
	a->gap = rec_gap;
	a->snapshot_confirmed = rec_snapshot_confirmed;
	a->snapshot_unconfirmed = rec_snapshot_unconfirmed;
	if (recovery) {
		a->recover = rec_recover;
		a->recovered = rec_recovered;
	}
	a->join_recover_max = join_recover_max;
}

/* True if exactly the sequence numbers in [first, last] minus [hole_first, hole_last] were applied. */
static bool applied_except(uint64_t first, uint64_t last, uint64_t hole_first, uint64_t hole_last)
{
	for (uint64_t s = 1; s <= 1000; s++) {
		bool want = s >= first && s <= last && !(s >= hole_first && s <= hole_last);

		if (owner.applied[s] != want)
			return false;
	}
	return !owner.out_of_order && !rec.broken;
}

static void test_recovery(void)
{
	struct arbiter a;
	const char *S = "SESSION001", *T = "SESSION002";

	printf("recovery: a hole outliving the window is handed over once, later packets held\n");
	rec_start(&a, 8, 1000, true, 100);
	offer(&a, S, DECODER_FRAME_DATA, 1, 2, 0, 0);
	offer(&a, S, DECODER_FRAME_DATA, 6, 2, 0, 10);	/* 3..5 lost on both lines */
	offer(&a, S, DECODER_FRAME_DATA, 8, 1, 1, 20);
	arbiter_expire(&a, 1009);
	CHECK(rec.recovers == 0 && a.stats.recoveries == 0);
	arbiter_expire(&a, 1010);
	CHECK(rec.recovers == 1 && rec.recover_first == 3 && rec.recover_count == 3);
	CHECK(a.recovering && a.recover_end == 6 && a.stats.recoveries == 1);
	arbiter_expire(&a, 1000000);	/* no second hand-over, no gap while recovering */
	offer(&a, S, DECODER_FRAME_DATA, 9, 1, 0, 1000000);
	arbiter_expire(&a, 2000000);
	CHECK(rec.recovers == 1 && rec.gaps == 0 && a.stats.gaps == 0 && a.held_count == 3);
	CHECK(applied_exactly(1, 2));
	printf("recovery: replies fill it in any order, duplicates counted, recovered() once\n");
	offer(&a, S, DECODER_FRAME_DATA, 5, 1, ARBITER_LINE_RECOVERY, 2000001);	/* out of order: held */
	offer(&a, S, DECODER_FRAME_DATA, 5, 1, ARBITER_LINE_RECOVERY, 2000002);	/* its copy */
	CHECK(a.stats.lines[ARBITER_LINE_RECOVERY].duplicates == 1 && applied_exactly(1, 2));
	offer(&a, S, DECODER_FRAME_DATA, 3, 1, ARBITER_LINE_RECOVERY, 2000003);
	CHECK(applied_exactly(1, 3) && a.recovering && rec.recovered == 0);
	offer(&a, S, DECODER_FRAME_DATA, 3, 1, ARBITER_LINE_RECOVERY, 2000004);	/* applied already */
	CHECK(a.stats.lines[ARBITER_LINE_RECOVERY].duplicates == 2);
	offer(&a, S, DECODER_FRAME_DATA, 4, 1, ARBITER_LINE_RECOVERY, 2000005);
	CHECK(applied_exactly(1, 9) && !a.recovering && rec.recovered == 1 && a.held_count == 0);
	CHECK(a.stats.gaps == 0 && rec.gaps == 0 && a.stats.lines[ARBITER_LINE_RECOVERY].packets_won == 3);
	arbiter_recovery_lost(&a, 3, 3, 2000006);	/* a stale give-up: filled already */
	CHECK(a.stats.gaps == 0 && rec.gaps == 0 && a.expected == 10);
	arbiter_fini(&a);
	CHECK(handles_all_released_once());

	printf("recovery: a partial reply, then the give-up declares exactly what is left\n");
	rec_start(&a, 8, 1000, true, 100);
	offer(&a, S, DECODER_FRAME_DATA, 1, 2, 0, 0);
	offer(&a, S, DECODER_FRAME_DATA, 10, 2, 0, 0);	/* 3..9 lost */
	arbiter_expire(&a, 1000);
	CHECK(rec.recovers == 1 && rec.recover_first == 3 && rec.recover_count == 7);
	offer(&a, S, DECODER_FRAME_DATA, 3, 3, ARBITER_LINE_RECOVERY, 1001);	/* fewer than asked */
	CHECK(applied_exactly(1, 5) && a.recovering);
	arbiter_recovery_lost(&a, 20, 5, 1002);	/* not this hole's range: nothing */
	arbiter_recovery_lost(&a, 1, 2, 1002);	/* ends before what is due: nothing */
	CHECK(a.stats.gaps == 0 && a.recovering);
	arbiter_recovery_lost(&a, 3, 7, 1003);
	CHECK(rec.gaps == 1 && rec.gap[0].first == 6 && rec.gap[0].count == 4);
	CHECK(a.stats.gaps == 1 && a.stats.gap_messages == 4 && !a.recovering && rec.recovered == 0);
	CHECK(applied_except(1, 11, 6, 9));
	arbiter_recovery_lost(&a, 3, 7, 1004);	/* the same give-up again: nothing */
	offer(&a, S, DECODER_FRAME_DATA, 6, 4, ARBITER_LINE_RECOVERY, 1005);	/* a reply after it */
	CHECK(a.stats.gaps == 1 && a.stats.lines[ARBITER_LINE_RECOVERY].duplicates == 1);
	CHECK(applied_except(1, 11, 6, 9));
	arbiter_fini(&a);
	CHECK(handles_all_released_once());

	printf("recovery: a full hold declares the hole (window_full)\n");
	rec_start(&a, 3, 1000, true, 100);
	offer(&a, S, DECODER_FRAME_DATA, 1, 1, 0, 0);
	offer(&a, S, DECODER_FRAME_DATA, 5, 1, 0, 0);	/* 2..4 lost */
	arbiter_expire(&a, 1000);
	CHECK(rec.recovers == 1 && rec.recover_first == 2 && rec.recover_count == 3);
	offer(&a, S, DECODER_FRAME_DATA, 6, 1, 0, 1001);
	offer(&a, S, DECODER_FRAME_DATA, 7, 1, 0, 1002);
	CHECK(a.stats.gaps == 0 && a.held_count == 3);
	offer(&a, S, DECODER_FRAME_DATA, 8, 1, 0, 1003);	/* no room */
	CHECK(a.stats.window_full == 1 && rec.gaps == 1 && rec.gap[0].first == 2 && rec.gap[0].count == 3);
	CHECK(!a.recovering && rec.recovered == 0 && applied_except(1, 8, 2, 4));
	arbiter_recovery_lost(&a, 2, 3, 1004);	/* the worker's give-up, after the fact */
	CHECK(a.stats.gaps == 1);
	arbiter_fini(&a);
	CHECK(handles_all_released_once());

	printf("recovery: a long join is declared (joins_unrecovered), a short one recovered\n");
	rec_start(&a, 8, 1000, true, 100);
	offer(&a, S, DECODER_FRAME_DATA, 500, 2, 0, 0);	/* fhd started mid-session */
	arbiter_expire(&a, 1000);
	CHECK(rec.recovers == 0 && a.stats.joins_unrecovered == 1 && rec.gaps == 1);
	CHECK(rec.gap[0].first == 1 && rec.gap[0].count == 499 && applied_exactly(500, 501));
	offer(&a, S, DECODER_FRAME_DATA, 510, 1, 0, 1001);	/* a later hole is not a join */
	arbiter_expire(&a, 2001);
	CHECK(rec.recovers == 1 && rec.recover_first == 502 && rec.recover_count == 8);
	CHECK(a.stats.joins_unrecovered == 1);
	arbiter_fini(&a);
	CHECK(handles_all_released_once());
	rec_start(&a, 8, 1000, true, 100);
	offer(&a, S, DECODER_FRAME_DATA, 101, 1, 0, 0);	/* 1..100: exactly join_recover_max */
	arbiter_expire(&a, 1000);
	CHECK(rec.recovers == 1 && rec.recover_first == 1 && rec.recover_count == 100);
	CHECK(a.stats.joins_unrecovered == 0 && rec.gaps == 0);
	offer(&a, S, DECODER_FRAME_DATA, 1, 100, ARBITER_LINE_RECOVERY, 1001);
	CHECK(applied_exactly(1, 101) && rec.recovered == 1);
	arbiter_fini(&a);
	CHECK(handles_all_released_once());

	printf("recovery: arbiter_recover_now starts it without waiting\n");
	rec_start(&a, 8, 1000000, true, 100);
	CHECK(!arbiter_recover_now(&a, 0));	/* nothing held: nothing to recover */
	offer(&a, S, DECODER_FRAME_DATA, 1, 1, 0, 0);
	offer(&a, S, DECODER_FRAME_DATA, 4, 1, 0, 0);
	CHECK(arbiter_recover_now(&a, 1));
	CHECK(rec.recovers == 1 && rec.recover_first == 2 && rec.recover_count == 2);
	CHECK(arbiter_recover_now(&a, 2) && rec.recovers == 1);	/* under way: not again */
	offer(&a, S, DECODER_FRAME_DATA, 2, 2, ARBITER_LINE_RECOVERY, 3);
	CHECK(!arbiter_recover_now(&a, 4) && applied_exactly(1, 4) && rec.recovered == 1);
	arbiter_fini(&a);
	CHECK(handles_all_released_once());
	rec_start(&a, 8, 1000000, false, 100);	/* without recover(): nothing to start */
	offer(&a, S, DECODER_FRAME_DATA, 1, 1, 0, 0);
	offer(&a, S, DECODER_FRAME_DATA, 4, 1, 0, 0);
	CHECK(!arbiter_recover_now(&a, 1) && rec.gaps == 0 && a.held_count == 1);
	arbiter_fini(&a);
	CHECK(handles_all_released_once());

	printf("recovery: a new session cancels it; the old session's replies are strays\n");
	rec_start(&a, 8, 1000, true, 100);
	offer(&a, S, DECODER_FRAME_DATA, 1, 1, 0, 0);
	offer(&a, S, DECODER_FRAME_DATA, 4, 1, 0, 0);
	arbiter_expire(&a, 1000);
	CHECK(a.recovering && rec.recovers == 1);
	offer(&a, S, DECODER_FRAME_END, 5, 0, 0, 1001);
	offer(&a, T, DECODER_FRAME_DATA, 1, 2, 1, 1002);
	CHECK(!a.recovering && a.stats.session_changes == 1 && owner.session_starts == 1);
	CHECK(rec.recovered == 0 && a.expected == 3);
	offer(&a, S, DECODER_FRAME_DATA, 2, 2, ARBITER_LINE_RECOVERY, 1003);
	CHECK(a.stats.lines[ARBITER_LINE_RECOVERY].wrong_session == 1 && a.expected == 3);
	arbiter_recovery_lost(&a, 2, 2, 1004);
	CHECK(a.expected == 3 && a.held_count == 0);
	arbiter_fini(&a);
	CHECK(handles_all_released_once());
}

static void test_snapshot(void)
{
	struct arbiter a;
	const char *S = "SESSION001";

	printf("snapshot: everything held while pending, then applied from its sequence on\n");
	rec_start(&a, 8, 1000, false, 100);
	arbiter_snapshot_begin(&a);
	offer(&a, S, DECODER_FRAME_DATA, 1, 3, 0, 0);	/* at what is expected: held all the same */
	offer(&a, S, DECODER_FRAME_DATA, 1, 3, 1, 0);	/* its copy */
	offer(&a, S, DECODER_FRAME_DATA, 4, 3, 1, 0);	/* 4..6 straddles 5 */
	offer(&a, S, DECODER_FRAME_DATA, 7, 2, 0, 0);
	offer(&a, S, DECODER_FRAME_HEARTBEAT, 9, 0, 0, 0);
	CHECK(owner.applied_total == 0 && a.held_count == 3 && a.stats.lines[1].duplicates == 1);
	arbiter_expire(&a, 1000000);	/* no window while pending */
	CHECK(owner.applied_total == 0 && rec.gaps == 0);
	rec.next = 5;	/* the snapshot carries the session up to 4 */
	arbiter_snapshot_end(&a, 5, NULL, 0, 1000001);
	CHECK(applied_exactly(5, 8) && !rec.broken);
	CHECK(a.stats.lines[0].duplicates == 1 && a.stats.lines[1].duplicates == 1);
	CHECK(a.expected == 9 && a.held_count == 0 && rec.gaps == 0 && !a.snapshot_pending);
	arbiter_fini(&a);
	CHECK(handles_all_released_once());

	printf("snapshot: ended before any packet, the session starts at its sequence\n");
	rec_start(&a, 8, 1000, false, 100);
	arbiter_snapshot_begin(&a);
	arbiter_snapshot_end(&a, 50, NULL, 0, 0);
	rec.next = 50;
	offer(&a, S, DECODER_FRAME_DATA, 40, 5, 0, 1);	/* below it: a duplicate */
	offer(&a, S, DECODER_FRAME_DATA, 50, 2, 0, 2);
	CHECK(applied_exactly(50, 51) && a.stats.lines[0].duplicates == 1 && rec.gaps == 0);
	arbiter_fini(&a);
	CHECK(handles_all_released_once());

	printf("snapshot: a hole after its sequence is recovered (not a join), or declared\n");
	rec_start(&a, 8, 1000, true, 5);
	arbiter_snapshot_begin(&a);
	arbiter_snapshot_end(&a, 50, NULL, 0, 0);
	rec.next = 50;
	offer(&a, S, DECODER_FRAME_DATA, 60, 1, 0, 1);
	arbiter_expire(&a, 1001);
	CHECK(rec.recovers == 1 && rec.recover_first == 50 && rec.recover_count == 10);
	CHECK(a.stats.joins_unrecovered == 0);
	offer(&a, S, DECODER_FRAME_DATA, 50, 10, ARBITER_LINE_RECOVERY, 1002);
	CHECK(applied_exactly(50, 60) && rec.recovered == 1 && !rec.broken);
	arbiter_fini(&a);
	CHECK(handles_all_released_once());
	rec_start(&a, 8, 1000, true, 5);	/* a session seen before the snapshot ends */
	arbiter_snapshot_begin(&a);
	offer(&a, S, DECODER_FRAME_DATA, 60, 1, 0, 1);
	arbiter_snapshot_end(&a, 50, NULL, 0, 2);
	rec.next = 50;
	arbiter_expire(&a, 1001);
	CHECK(rec.recovers == 0);
	arbiter_expire(&a, 1002);
	CHECK(rec.recovers == 1 && rec.recover_first == 50 && rec.recover_count == 10);
	arbiter_fini(&a);
	CHECK(handles_all_released_once());
	rec_start(&a, 8, 1000, false, 5);
	arbiter_snapshot_begin(&a);
	offer(&a, S, DECODER_FRAME_DATA, 60, 1, 0, 1);
	arbiter_snapshot_end(&a, 50, NULL, 0, 2);
	rec.next = 50;
	arbiter_expire(&a, 1002);
	CHECK(rec.gaps == 1 && rec.gap[0].first == 50 && rec.gap[0].count == 10 && applied_exactly(60, 60));
	arbiter_fini(&a);
	CHECK(handles_all_released_once());

	printf("snapshot: a full hold drops its oldest and keeps the newest\n");
	rec_start(&a, 4, 1000, false, 5);
	arbiter_snapshot_begin(&a);
	for (uint64_t s = 1; s <= 6; s++)
		offer(&a, S, DECODER_FRAME_DATA, s, 1, 0, s);
	CHECK(a.stats.snapshot_dropped == 2 && a.stats.window_full == 0 && rec.gaps == 0);
	CHECK(a.held_count == 4 && arbiter_held_get(&a, 0)->seq == 3 && arbiter_held_get(&a, 3)->seq == 6);
	CHECK(owner.released[0] == 1 && owner.released[1] == 1 && owner.released[2] == 0);
	arbiter_snapshot_end(&a, 2, NULL, 0, 7);	/* 2 was dropped: a hole, declared after the window */
	rec.next = 2;
	CHECK(owner.applied_total == 0);
	arbiter_expire(&a, 1007);
	CHECK(rec.gaps == 1 && rec.gap[0].first == 2 && rec.gap[0].count == 1 && applied_exactly(3, 6));
	arbiter_fini(&a);
	CHECK(handles_all_released_once());

	printf("snapshot: failed, the feed goes on from what it holds\n");
	rec_start(&a, 8, 1000, true, 5);
	arbiter_snapshot_begin(&a);
	offer(&a, S, DECODER_FRAME_DATA, 5, 2, 0, 1);
	offer(&a, S, DECODER_FRAME_DATA, 7, 2, 1, 2);
	arbiter_snapshot_failed(&a, 3);
	CHECK(rec.gaps == 1 && rec.gap[0].first == 1 && rec.gap[0].count == 4 && rec.recovers == 0);
	CHECK(applied_exactly(5, 8) && !a.snapshot_pending && !rec.broken);
	offer(&a, S, DECODER_FRAME_DATA, 9, 1, 0, 4);	/* and goes on as usual */
	CHECK(applied_exactly(5, 9));
	printf("snapshot: a re-sync mid-session, failed, applies what was held in order\n");
	arbiter_snapshot_begin(&a);
	offer(&a, S, DECODER_FRAME_DATA, 11, 1, 0, 5);
	offer(&a, S, DECODER_FRAME_DATA, 10, 1, 0, 6);	/* due now, held all the same */
	CHECK(applied_exactly(5, 9) && a.held_count == 2);
	arbiter_snapshot_failed(&a, 7);
	CHECK(applied_exactly(5, 11) && rec.gaps == 1 && !rec.broken);
	arbiter_fini(&a);
	CHECK(handles_all_released_once());

	/* Found by fuzz_recovery: flush (shutdown, a replay's end) applies what is held even mid-snapshot. */
	printf("snapshot: a flush while pending applies what is held, in order\n");
	rec_start(&a, 8, 1000, true, 5);
	arbiter_snapshot_begin(&a);
	offer(&a, S, DECODER_FRAME_DATA, 3, 2, 0, 1);
	offer(&a, S, DECODER_FRAME_DATA, 1, 2, 1, 2);
	offer(&a, S, DECODER_FRAME_DATA, 8, 1, 0, 3);
	CHECK(owner.applied_total == 0);
	arbiter_flush(&a, 4);
	CHECK(applied_except(1, 8, 5, 7) && rec.gaps == 1 && rec.gap[0].first == 5 && rec.gap[0].count == 3);
	CHECK(a.held_count == 0 && rec.recovers == 0);
	arbiter_fini(&a);
	CHECK(handles_all_released_once());
}

/* The end of a case: every handle came back exactly once. */
static void rec_finish(struct arbiter *a)
{
	arbiter_fini(a);
	CHECK(handles_all_released_once());
}

/* A recording arbiter (window 1000) whose snapshots are confirmed within 10000 of the feed's clock. */
static void confirm_start(struct arbiter *a, uint32_t held_max, bool recovery)
{
	rec_start(a, held_max, 1000, recovery, 100);
	a->confirm_ns = 10000;
}

/*
 * Issue 20. The hold is a ring: the first packet leaves (a drain, a snapshot's drop)
 * without the others moving, and an insert shifts the shorter side; a held packet's
 * slot stays put while packets before it leave (a memmove per packet did not).
 */
static void test_hold_ring(void)
{
	struct arbiter a;
	const char *S = "SESSION001";
	const struct arbiter_packet *p;

	printf("hold: a snapshot's drop of its oldest moves no other packet\n");
	rec_start(&a, 8, 1000, false, 100);
	arbiter_snapshot_begin(&a);
	for (uint64_t s = 1; s <= 8; s++)
		offer(&a, S, DECODER_FRAME_DATA, s, 1, 0, s);
	p = arbiter_held_get(&a, 7);
	CHECK(p->seq == 8);
	offer(&a, S, DECODER_FRAME_DATA, 9, 1, 0, 9);	/* full: 1 goes */
	CHECK(a.stats.snapshot_dropped == 1 && a.held_count == 8 && arbiter_held_get(&a, 0)->seq == 2);
	CHECK(arbiter_held_get(&a, 6) == p && p->seq == 8);
	for (uint64_t s = 10; s <= 20; s++)	/* around the ring and more */
		offer(&a, S, DECODER_FRAME_DATA, s, 1, 0, s);
	CHECK(a.held_count == 8 && a.stats.snapshot_dropped == 12);
	for (uint32_t i = 0; i < 8; i++)
		CHECK(arbiter_held_get(&a, i)->seq == 13 + i);
	rec.next = 13;
	arbiter_snapshot_end(&a, 13, NULL, 0, 21);
	CHECK(applied_exactly(13, 20) && a.held_count == 0 && !rec.broken);
	rec_finish(&a);

	printf("hold: a drain takes the first packets, the rest stay where they are\n");
	rec_start(&a, 8, 1000, false, 100);
	offer(&a, S, DECODER_FRAME_DATA, 1, 1, 0, 0);
	offer(&a, S, DECODER_FRAME_DATA, 3, 1, 0, 1);
	offer(&a, S, DECODER_FRAME_DATA, 4, 1, 0, 2);
	offer(&a, S, DECODER_FRAME_DATA, 7, 1, 0, 3);
	p = arbiter_held_get(&a, 2);
	CHECK(p->seq == 7);
	offer(&a, S, DECODER_FRAME_DATA, 2, 1, 1, 4);	/* 2..4 applied, 7 stays */
	CHECK(a.held_count == 1 && arbiter_held_get(&a, 0) == p && applied_exactly(1, 4));
	rec_finish(&a);

	printf("hold: inserts anywhere in a wrapped ring keep it sorted (seed below)\n");
	for (int round = 0; round < 50; round++) {
		uint64_t seqs[16];

		rec_start(&a, 16, UINT64_MAX / 2, false, 100);
		/* Move the head to a random slot: hold k packets after a hole, then fill it. */
		uint64_t k = check_rng() % 16, base = 2 + k;

		for (uint64_t s = 2; s < base; s++)
			offer(&a, S, DECODER_FRAME_DATA, s, 1, 0, 0);
		offer(&a, S, DECODER_FRAME_DATA, 1, 1, 1, 0);
		CHECK(a.held_count == 0 && a.expected == base);
		/* A hole at base, then 16 packets after it in a random order. */
		for (int i = 0; i < 16; i++)
			seqs[i] = base + 1 + (uint64_t)i;
		for (int i = 15; i > 0; i--) {
			int j = (int)(check_rng() % (uint64_t)(i + 1));
			uint64_t t = seqs[i];

			seqs[i] = seqs[j];
			seqs[j] = t;
		}
		for (int i = 0; i < 16; i++) {
			offer(&a, S, DECODER_FRAME_DATA, seqs[i], 1, 0, 0);
			for (uint32_t h = 1; h < a.held_count; h++)
				CHECK(arbiter_held_get(&a, h - 1)->seq < arbiter_held_get(&a, h)->seq);
		}
		CHECK(a.held_count == 16 && arbiter_held_get(&a, 0)->seq == base + 1);
		offer(&a, S, DECODER_FRAME_DATA, base, 1, 1, 0);
		CHECK(applied_exactly(1, base + 16) && a.held_count == 0 && a.stats.gaps == 0 && !rec.broken);
		rec_finish(&a);
	}
}

/* Issue 20: while a snapshot is taken the hold is bounded by snapshot_held_max. */
static void test_snapshot_hold(void)
{
	struct arbiter a;
	const char *S = "SESSION001";

	printf("snapshot hold: snapshot_held_max bounds it while pending, held_max after\n");
	rec_start(&a, 8, 1000, false, 100);
	a.snapshot_held_max = 3;
	arbiter_snapshot_begin(&a);
	for (uint64_t s = 1; s <= 6; s++)
		offer(&a, S, DECODER_FRAME_DATA, s, 1, 0, s);
	CHECK(a.held_count == 3 && a.stats.snapshot_dropped == 3 && arbiter_held_get(&a, 0)->seq == 4);
	CHECK(owner.released[0] == 1 && owner.released[2] == 1 && owner.released[3] == 0);
	rec.next = 4;
	arbiter_snapshot_end(&a, 4, NULL, 0, 7);
	CHECK(applied_exactly(4, 6) && a.held_count == 0);
	for (uint64_t s = 10; s <= 17; s++)	/* a hole: the whole held_max holds */
		offer(&a, S, DECODER_FRAME_DATA, s, 1, 0, 8);
	CHECK(a.held_count == 8 && a.stats.window_full == 0 && a.stats.snapshot_dropped == 3);
	rec_finish(&a);

	printf("snapshot hold: a hold already past the bound when a snapshot begins drops to it\n");
	rec_start(&a, 8, 1000, false, 100);
	a.snapshot_held_max = 2;
	offer(&a, S, DECODER_FRAME_DATA, 1, 1, 0, 0);
	for (uint64_t s = 3; s <= 7; s++)
		offer(&a, S, DECODER_FRAME_DATA, s, 1, 0, 1);
	CHECK(a.held_count == 5);
	arbiter_snapshot_begin(&a);
	offer(&a, S, DECODER_FRAME_DATA, 8, 1, 0, 2);
	CHECK(a.held_count == 2 && a.stats.snapshot_dropped == 4 && arbiter_held_get(&a, 0)->seq == 7);
	rec_finish(&a);

	printf("snapshot hold: 0, or past held_max, is held_max\n");
	for (uint32_t bound = 0; bound <= 100; bound += 100) {
		rec_start(&a, 4, 1000, false, 100);
		a.snapshot_held_max = bound;
		arbiter_snapshot_begin(&a);
		for (uint64_t s = 1; s <= 6; s++)
			offer(&a, S, DECODER_FRAME_DATA, s, 1, 0, s);
		CHECK(a.held_count == 4 && a.stats.snapshot_dropped == 2);
		rec_finish(&a);
	}
}

/*
 * Issue 20's reproduced bug: one copy of packet 1000, on line A, carrying sequence
 * 10^9 while the real 1000 came on line B. With lines A and B and 2000 packets, a pause
 * longer than the window at `pause_after` (after both copies of that sequence number),
 * B's copies first or second: every packet applied, no gap, one bad_sequence on A, and
 * seen_end never past the session.
 */
static void run_bad_sequence(uint64_t pause_after, bool b_first, bool recovery)
{
	struct arbiter a;
	const char *S = "SESSION001";
	uint64_t now = 0;

	rec_start(&a, 64, 1000, recovery, 100);
	for (uint64_t s = 1; s <= 2000; s++) {
		for (int k = 0; k < 2; k++) {
			uint8_t line = (uint8_t)(b_first ? 1 - k : k);

			offer(&a, S, DECODER_FRAME_DATA, line == 0 && s == 1000 ? 1000000000 : s, 1, line, ++now);
		}
		arbiter_expire(&a, now);
		if (s == pause_after) {
			now += 5000;
			arbiter_expire(&a, now);
			CHECK(a.stats.gaps == 0 && a.held_count == 0 && a.stats.lines[0].bad_sequence == 1);
		}
	}
	arbiter_expire(&a, now + 5000);
	arbiter_flush(&a, now + 5000);
	CHECK(applied_exactly(1, 2000) && !rec.broken && a.expected == 2001);
	CHECK(a.stats.gaps == 0 && rec.gaps == 0 && rec.recovers == 0 && a.stats.window_full == 0);
	CHECK(a.stats.lines[0].bad_sequence == 1 && a.stats.lines[1].bad_sequence == 0);
	CHECK(a.seen_end == 2001);
	rec_finish(&a);
}

static void test_bad_sequence(void)
{
	struct arbiter a;
	const char *S = "SESSION001";

	printf("bad sequence: a far-future packet no line confirms does not end the session\n");
	/* A first: the pause may come right after B's 1000 (A has sent nothing since). */
	run_bad_sequence(1000, false, false);
	run_bad_sequence(1001, false, false);
	run_bad_sequence(1500, false, false);
	run_bad_sequence(2000, false, false);
	run_bad_sequence(1001, true, false);	/* B first: A's 1001 shows A went on */
	run_bad_sequence(1700, true, false);
	run_bad_sequence(1000, false, true);	/* with recovery: never handed to recover() */
	run_bad_sequence(1500, true, true);

	printf("bad sequence: a loss then one packet and silence is still declared (expiry, flush)\n");
	for (int flush = 0; flush < 2; flush++) {
		rec_start(&a, 8, 1000, false, 100);
		for (uint64_t s = 1; s <= 10; s++) {
			offer(&a, S, DECODER_FRAME_DATA, s, 1, 0, s);
			offer(&a, S, DECODER_FRAME_DATA, s, 1, 1, s);
		}
		offer(&a, S, DECODER_FRAME_DATA, 20, 1, 0, 20);	/* 11..19 lost on both, 20 on A only */
		if (flush)
			arbiter_flush(&a, 21);
		else
			arbiter_expire(&a, 1020);
		CHECK(rec.gaps == 1 && rec.gap[0].first == 11 && rec.gap[0].count == 9 && applied_except(1, 20, 11, 19));
		CHECK(a.stats.lines[0].bad_sequence == 0 && a.seen_end == 21);
		rec_finish(&a);
	}
	rec_start(&a, 8, 1000, false, 100);	/* B lagging: its last packets come after A's 20 */
	for (uint64_t s = 1; s <= 10; s++)
		offer(&a, S, DECODER_FRAME_DATA, s, 1, 0, s);
	offer(&a, S, DECODER_FRAME_DATA, 20, 1, 0, 20);
	for (uint64_t s = 1; s <= 10; s++)
		offer(&a, S, DECODER_FRAME_DATA, s, 1, 1, 21);
	arbiter_expire(&a, 1020);
	CHECK(rec.gaps == 1 && rec.gap[0].first == 11 && applied_except(1, 20, 11, 19));
	CHECK(a.stats.lines[0].bad_sequence == 0);
	rec_finish(&a);

	printf("bad sequence: a second line's copy or the next packet held confirms a packet\n");
	rec_start(&a, 8, 1000, false, 100);
	offer(&a, S, DECODER_FRAME_DATA, 1, 40, 0, 0);
	offer(&a, S, DECODER_FRAME_DATA, 50, 1, 0, 1);	/* 41..49 late on A and B, 50 on both */
	offer(&a, S, DECODER_FRAME_DATA, 50, 1, 1, 2);
	offer(&a, S, DECODER_FRAME_DATA, 41, 5, 0, 3);	/* the lines go on below it */
	offer(&a, S, DECODER_FRAME_DATA, 41, 5, 1, 4);
	arbiter_expire(&a, 1004);
	CHECK(rec.gaps == 1 && rec.gap[0].first == 46 && rec.gap[0].count == 4 && applied_except(1, 50, 46, 49));
	CHECK(a.stats.lines[0].bad_sequence == 0 && a.seen_end == 51);
	rec_finish(&a);
	rec_start(&a, 8, 1000, false, 100);
	offer(&a, S, DECODER_FRAME_DATA, 1, 40, 0, 0);
	offer(&a, S, DECODER_FRAME_DATA, 51, 1, 1, 1);	/* B's 51 first, then A's 50: its continuation */
	offer(&a, S, DECODER_FRAME_DATA, 50, 1, 0, 2);
	offer(&a, S, DECODER_FRAME_DATA, 41, 5, 0, 3);
	offer(&a, S, DECODER_FRAME_DATA, 41, 5, 1, 4);
	arbiter_expire(&a, 1004);
	CHECK(rec.gaps == 1 && rec.gap[0].first == 46 && applied_except(1, 51, 46, 49));
	CHECK(a.stats.lines[0].bad_sequence == 0 && a.stats.lines[1].bad_sequence == 0);
	rec_finish(&a);

	printf("bad sequence: a heartbeat the lines went on without is refused too\n");
	rec_start(&a, 8, 1000, false, 100);
	offer(&a, S, DECODER_FRAME_DATA, 1, 10, 0, 0);
	offer(&a, S, DECODER_FRAME_HEARTBEAT, 5000, 0, 1, 1);
	offer(&a, S, DECODER_FRAME_DATA, 11, 1, 1, 2);
	offer(&a, S, DECODER_FRAME_DATA, 11, 1, 0, 3);
	arbiter_expire(&a, 1003);
	CHECK(rec.gaps == 0 && a.held_count == 0 && a.stats.lines[1].bad_sequence == 1 && applied_exactly(1, 11));
	rec_finish(&a);

	printf("bad sequence: a hole handed over before the lines went on is given up without a gap\n");
	rec_start(&a, 8, 1000, true, 100);
	offer(&a, S, DECODER_FRAME_DATA, 1, 999, 0, 0);
	offer(&a, S, DECODER_FRAME_DATA, 1, 999, 1, 0);
	offer(&a, S, DECODER_FRAME_DATA, 100000, 1, 0, 1);	/* then silence: a hole like any */
	arbiter_expire(&a, 1001);
	CHECK(rec.recovers == 1 && rec.recover_first == 1000 && a.recovering);
	for (uint64_t s = 1000; s <= 1100; s++) {	/* the lines go on: applied as they come */
		offer(&a, S, DECODER_FRAME_DATA, s, 1, 1, 1001 + s);
		offer(&a, S, DECODER_FRAME_DATA, s, 1, 0, 1001 + s);
	}
	CHECK(applied_exactly(1, 1100) && rec.recovered == 0);
	if (a.recovering)
		arbiter_recovery_lost(&a, 1000, 100000 - 1000, 3000);	/* the server gives up */
	CHECK(rec.gaps == 0 && !a.recovering && rec.recovered == 1 && a.held_count == 0);
	CHECK(a.stats.lines[0].bad_sequence == 1 && a.expected == 1101 && !rec.broken);
	rec_finish(&a);

	printf("bad sequence: mid-session, a lone packet further ahead than the hold could carry is refused\n");
	rec_start(&a, 8, 1000, true, 100);
	offer(&a, S, DECODER_FRAME_DATA, 1, 999, 0, 0);
	offer(&a, S, DECODER_FRAME_DATA, 1, 999, 1, 0);
	offer(&a, S, DECODER_FRAME_DATA, 1000000000, 1, 0, 1);	/* then silence: 8 x 65,535 is far less */
	arbiter_expire(&a, 1001);
	CHECK(rec.recovers == 0 && !a.recovering && rec.gaps == 0 && a.held_count == 0);
	CHECK(a.stats.lines[0].bad_sequence == 1 && a.expected == 1000 && !rec.broken);
	rec_finish(&a);
}

/*
 * Issue 20: a lost range is counted once per session. A lagging re-sync (End of
 * Snapshot at 500, 1..999 applied before, the lines held from 1100) declares the hole
 * [500, 1100) as it is, but only 1000..1099 are newly lost.
 */
static void test_lost_once(void)
{
	struct arbiter a;
	const char *S = "SESSION001";

	printf("lost once: a lagging snapshot's hole counts only what was never applied\n");
	rec_start(&a, 64, 1000, false, 100);
	for (uint64_t s = 1; s <= 999; s++)
		offer(&a, S, DECODER_FRAME_DATA, s, 1, s % 2, s);
	CHECK(a.expected == 1000 && a.counted_end == 1000);
	arbiter_snapshot_begin(&a);
	for (uint64_t s = 1100; s <= 1110; s++) {
		offer(&a, S, DECODER_FRAME_DATA, s, 1, 0, 2000);
		offer(&a, S, DECODER_FRAME_DATA, s, 1, 1, 2000);
	}
	arbiter_snapshot_end(&a, 500, NULL, 0, 2001);
	rec.next = 500;
	arbiter_expire(&a, 3001);
	CHECK(rec.gaps == 1 && rec.gap[0].first == 500 && rec.gap[0].count == 600 && rec.newly_lost[0] == 100);
	CHECK(a.stats.gap_messages == 100 && a.gap_log[0].count == 600 && a.counted_end == 1111);
	offer(&a, S, DECODER_FRAME_DATA, 1120, 1, 0, 3002);	/* a new loss past it: all of it */
	arbiter_flush(&a, 3003);
	CHECK(rec.gaps == 2 && rec.newly_lost[1] == 9 && a.stats.gap_messages == 109 && !rec.broken);
	rec_finish(&a);
}

/*
 * Issue 20: a snapshot is trusted once a line packet reaches its sequence. The feed's
 * clock runs the confirmation (confirm_ns); a snapshot no line reaches, or another
 * session's, is refused and the lines' next data packet starts the books.
 */
static void test_confirmation(void)
{
	struct arbiter a;
	const char *S = "SESSION001", *T = "SESSION002";

	printf("confirmation: an End at 2^64-2 before any line packet is refused after confirm_ns\n");
	confirm_start(&a, 8, false);
	arbiter_snapshot_begin(&a);
	arbiter_snapshot_end(&a, UINT64_MAX - 1, NULL, 0, 0);
	CHECK(a.confirming && a.confirm_seq == UINT64_MAX - 1 && a.confirm_since_ns == 0);
	arbiter_expire(&a, 1000000);	/* no line packet yet: its clock has not started */
	CHECK(a.confirming && rec.unconfirmed == 0);
	for (uint64_t s = 1; s <= 5; s++)
		offer(&a, S, DECODER_FRAME_DATA, s, 1, 0, 1000000 + s);
	offer(&a, S, DECODER_FRAME_HEARTBEAT, 6, 0, 1, 1000006);
	CHECK(a.confirming && a.confirm_since_ns == 1000001 && owner.applied_total == 0);
	CHECK(a.stats.lines[0].duplicates == 5);
	arbiter_expire(&a, 1010000);
	CHECK(a.confirming && rec.unconfirmed == 0);
	arbiter_expire(&a, 1010001);
	CHECK(!a.confirming && rec.unconfirmed == 1 && a.stats.snapshots_unconfirmed == 1 && a.rejoin);
	CHECK(rec.confirmed == 0 && a.stats.snapshots_confirmed == 0);
	offer(&a, S, DECODER_FRAME_DATA, 6, 2, 0, 1010002);	/* the lines start the books */
	offer(&a, S, DECODER_FRAME_DATA, 6, 2, 1, 1010002);
	offer(&a, S, DECODER_FRAME_DATA, 8, 1, 1, 1010003);
	CHECK(applied_exactly(6, 8) && !a.rejoin && rec.gaps == 0 && !rec.broken);
	rec_finish(&a);

	printf("confirmation: an End 60,000 ahead of the lines is refused, held packets released\n");
	confirm_start(&a, 64, false);
	for (uint64_t s = 1; s <= 1000; s++)
		offer(&a, S, DECODER_FRAME_DATA, s, 1, 0, 0);
	arbiter_snapshot_begin(&a);
	for (uint64_t s = 1001; s <= 1010; s++)
		offer(&a, S, DECODER_FRAME_DATA, s, 1, 0, 1);
	arbiter_snapshot_end(&a, 61001, S, 10, 2);
	rec.next = 61001;
	CHECK(a.confirming && a.held_count == 0 && a.stats.lines[0].duplicates == 10);
	for (uint64_t s = 1011; s <= 1020; s++)
		offer(&a, S, DECODER_FRAME_DATA, s, 1, 0, 3 + s);
	offer(&a, S, DECODER_FRAME_DATA, 61500, 1, ARBITER_LINE_RECOVERY, 9500);	/* the server's word is not a line's */
	CHECK(a.confirming && a.held_count == 1);
	arbiter_expire(&a, 10001);
	CHECK(a.confirming);
	arbiter_expire(&a, 10002);
	CHECK(!a.confirming && rec.unconfirmed == 1 && a.held_count == 0 && rec.gaps == 0);
	offer(&a, S, DECODER_FRAME_DATA, 1021, 1, 1, 10003);
	offer(&a, S, DECODER_FRAME_DATA, 1022, 1, 1, 10004);
	CHECK(applied_except(1, 1022, 1001, 1020));	/* the lines' next data packet starts the books */
	CHECK(a.expected == 1023 && !rec.broken && rec.confirmed == 0);
	rec_finish(&a);

	printf("confirmation: an honest End is confirmed by what is held, or by a later line packet\n");
	confirm_start(&a, 64, false);
	offer(&a, S, DECODER_FRAME_DATA, 1, 100, 0, 0);
	arbiter_snapshot_begin(&a);
	offer(&a, S, DECODER_FRAME_DATA, 101, 10, 1, 1);
	rec.next = 105;
	arbiter_snapshot_end(&a, 105, S, 10, 2);	/* 101..110 from B reaches past it */
	CHECK(!a.confirming && rec.confirmed == 1 && a.stats.snapshots_confirmed == 1);
	CHECK(applied_except(1, 110, 101, 104));
	arbiter_snapshot_begin(&a);
	rec.next = 120;
	arbiter_snapshot_end(&a, 120, S, 10, 3);
	CHECK(a.confirming);
	offer(&a, S, DECODER_FRAME_DATA, 111, 8, 0, 4);	/* 111..118: below it */
	offer(&a, S, DECODER_FRAME_HEARTBEAT, 119, 0, 1, 5);	/* says 119 is next: below it */
	CHECK(a.confirming);
	offer(&a, S, DECODER_FRAME_HEARTBEAT, 120, 0, 1, 6);	/* says 120 is next: it is reached */
	CHECK(!a.confirming && rec.confirmed == 2 && rec.unconfirmed == 0);
	arbiter_snapshot_begin(&a);
	rec.next = 130;
	arbiter_snapshot_end(&a, 130, S, 10, 7);
	offer(&a, S, DECODER_FRAME_DATA, 125, 6, 0, 8);	/* 125..130: its last reaches it */
	CHECK(!a.confirming && rec.confirmed == 3 && owner.applied[130] == 1 && owner.applied[129] == 0);
	arbiter_expire(&a, 100000);
	CHECK(rec.unconfirmed == 0 && !rec.broken);
	rec_finish(&a);

	printf("confirmation: lines far past the End confirm it; the hole after it is recovered\n");
	confirm_start(&a, 64, true);
	offer(&a, S, DECODER_FRAME_DATA, 1, 100, 0, 0);
	arbiter_snapshot_begin(&a);
	offer(&a, S, DECODER_FRAME_DATA, 200, 5, 0, 1);
	offer(&a, S, DECODER_FRAME_DATA, 200, 5, 1, 1);
	arbiter_snapshot_end(&a, 150, S, 10, 2);
	rec.next = 150;
	CHECK(!a.confirming && rec.confirmed == 1 && a.held_count == 1);
	arbiter_expire(&a, 1002);
	CHECK(rec.recovers == 1 && rec.recover_first == 150 && rec.recover_count == 50);
	offer(&a, S, DECODER_FRAME_DATA, 150, 50, ARBITER_LINE_RECOVERY, 1003);
	CHECK(owner.applied[150] == 1 && owner.applied[204] == 1 && rec.recovered == 1 && !rec.broken);
	rec_finish(&a);

	printf("confirmation: another session's snapshot is refused, known session or not\n");
	confirm_start(&a, 64, false);
	offer(&a, S, DECODER_FRAME_DATA, 1, 100, 0, 0);
	arbiter_snapshot_begin(&a);
	offer(&a, S, DECODER_FRAME_DATA, 101, 10, 0, 1);
	arbiter_snapshot_end(&a, 105, T, 10, 2);	/* the lines are S */
	CHECK(!a.confirming && rec.unconfirmed == 1 && rec.confirmed == 0 && a.held_count == 0 && a.rejoin);
	offer(&a, S, DECODER_FRAME_DATA, 111, 2, 1, 3);	/* applied from its start: no gap */
	CHECK(owner.applied[111] == 1 && owner.applied[112] == 1 && owner.applied[105] == 0);
	CHECK(rec.gaps == 0 && a.stats.session_changes == 0 && !rec.broken);
	rec_finish(&a);
	confirm_start(&a, 64, false);	/* before any packet: the first packet shows it */
	arbiter_snapshot_begin(&a);
	arbiter_snapshot_end(&a, 50, T, 10, 0);
	CHECK(a.confirming && a.start_seq == 50 && a.start_session_len == 10);
	offer(&a, S, DECODER_FRAME_DATA, 40, 2, 0, 1);	/* below 50, yet applied: the snapshot is not S's */
	CHECK(!a.confirming && rec.unconfirmed == 1 && owner.applied[40] == 1 && owner.applied[41] == 1);
	CHECK(a.start_seq == 0 && a.start_session_len == 0 && rec.gaps == 0);
	offer(&a, S, DECODER_FRAME_DATA, 42, 1, 1, 2);
	CHECK(applied_exactly(40, 42) && !rec.broken);
	rec_finish(&a);
	confirm_start(&a, 64, false);	/* the same name but for spaces: not another */
	arbiter_snapshot_begin(&a);
	arbiter_snapshot_end(&a, 50, "   SESS01", 9, 0);
	rec.next = 50;
	offer(&a, "SESS01    ", DECODER_FRAME_DATA, 40, 20, 0, 1);
	CHECK(!a.confirming && rec.confirmed == 1 && rec.unconfirmed == 0);
	CHECK(owner.applied[50] == 1 && owner.applied[49] == 0 && owner.applied[59] == 1);
	rec_finish(&a);

	printf("confirmation: a flush (a replay's end) refuses what no line reached\n");
	confirm_start(&a, 64, false);
	offer(&a, S, DECODER_FRAME_DATA, 1, 10, 0, 0);
	arbiter_snapshot_begin(&a);
	offer(&a, S, DECODER_FRAME_DATA, 11, 1, 0, 1);
	arbiter_snapshot_end(&a, 20, S, 10, 2);
	offer(&a, S, DECODER_FRAME_DATA, 25, 1, ARBITER_LINE_RECOVERY, 3);
	arbiter_flush(&a, 4);
	CHECK(!a.confirming && rec.unconfirmed == 1 && a.held_count == 0 && rec.gaps == 0);
	CHECK(owner.applied[25] == 0 && applied_exactly(1, 10));
	rec_finish(&a);

	/*
	 * A mutation the review found: a new session keeps nothing of the old one's
	 * sequence state (seen_end, counted_end, a snapshot being confirmed, its rejoin),
	 * or an End of Snapshot bounded by the old session's end, or its losses, would be
	 * judged against the old session.
	 */
	printf("new session: nothing of the old one's snapshot, seen_end or counted_end is kept\n");
	confirm_start(&a, 64, false);
	offer(&a, S, DECODER_FRAME_DATA, 1, 900, 0, 0);
	arbiter_snapshot_begin(&a);
	arbiter_snapshot_end(&a, 1000, S, 10, 1);
	CHECK(a.confirming && a.seen_end == 901 && a.counted_end == 901);
	offer(&a, S, DECODER_FRAME_END, 901, 0, 0, 2);
	offer(&a, T, DECODER_FRAME_DATA, 1, 2, 1, 3);
	CHECK(a.stats.session_changes == 1 && !a.confirming && !a.rejoin && a.start_seq == 0);
	CHECK(a.start_session_len == 0 && a.seen_end == 3 && a.counted_end == 3 && a.expected == 3);
	arbiter_expire(&a, 1000000);	/* the old snapshot's clock is gone with it */
	CHECK(rec.unconfirmed == 0 && rec.confirmed == 0 && !a.rejoin);
	offer(&a, T, DECODER_FRAME_DATA, 10, 1, 1, 1000001);	/* 3..9 lost in T: all newly */
	arbiter_expire(&a, 1002001);
	CHECK(rec.gaps == 1 && rec.gap[0].first == 3 && rec.gap[0].count == 7 && rec.newly_lost[0] == 7);
	CHECK(a.seen_end == 11 && owner.applied[10] == 2);	/* once in each session */
	rec_finish(&a);

	printf("new session: a refused snapshot's rejoin is not carried over\n");
	rec_start(&a, 64, 1000, false, 100);
	a.confirm_ns = 10;
	offer(&a, S, DECODER_FRAME_DATA, 1, 5, 0, 0);
	arbiter_snapshot_begin(&a);
	arbiter_snapshot_end(&a, 500, S, 10, 1);
	arbiter_expire(&a, 100);
	CHECK(a.rejoin && rec.unconfirmed == 1);
	offer(&a, S, DECODER_FRAME_END, 6, 0, 0, 101);
	offer(&a, T, DECODER_FRAME_HEARTBEAT, 1, 0, 1, 102);	/* T begins, nothing applied yet */
	CHECK(!a.rejoin && a.expected == 1 && a.stats.session_changes == 1);
	offer(&a, T, DECODER_FRAME_DATA, 3, 1, 1, 103);	/* a hole in T (1..2), not a rejoin */
	CHECK(a.held_count == 1 && a.expected == 1 && owner.applied[3] == 1);	/* 3 of S only */
	rec_finish(&a);
}

/*
 * The randomized differential: lines losing, duplicating and reordering packets, a
 * recovery server whose replies come late, out of order and twice, and (unreliable)
 * lose some replies and give up, with stale give-ups thrown in. The reference is what
 * the test itself knows: which sequence numbers were ever offered, which ranges were
 * given up, when the hold was full. Applied and declared must be 1..N in order, each
 * once; a declared gap never holds a message that was offered before it, and only
 * comes from a give-up (inside its range) or a full hold (window_full).
 */
#define SIM_EVENTS (1 << 16)

struct sim_event {
	uint64_t due;
	uint64_t first, count;	/* a reply's messages, or the range given up */
	bool give_up;
};

static struct {
	uint64_t now, n;
	bool unreliable;
	bool overflow;
	uint32_t events_count;
	struct sim_event events[SIM_EVENTS];
	uint64_t give_up_first, give_up_count;	/* the give-up being handed over */
	uint64_t past_first[1024], past_count[1024];	/* ranges recover() asked for */
	uint32_t past;
} sim;

/* Copies of each sequence number offered since it was last refused (bad_sequence): the arbiter has them. */
static uint32_t offered[MESSAGES_MAX + 2];

/*
 * A refused packet's messages are the arbiter's no more: they may be asked for or
 * declared. That happens to a real packet rarely (a lone copy after a hole that
 * straggling packets partly fill; see arbiter_held_overtaken), and is counted. Only
 * one line's copies can have been offered (two lines' confirm it), and a second copy
 * from that line was a duplicate of the held one: it goes with it.
 */
static void sim_refused(uint64_t seq, uint32_t count)
{
	for (uint64_t s = seq; s < seq + count && s <= MESSAGES_MAX; s++)
		offered[s] = 0;
}

static void sim_event_add(uint64_t due, uint64_t first, uint64_t count, bool give_up)
{
	if (sim.events_count == SIM_EVENTS) {
		sim.overflow = true;
		return;
	}
	sim.events[sim.events_count++] = (struct sim_event){ due, first, count, give_up };
}

static void sim_gap(void *context, uint64_t first, uint64_t count, uint64_t newly_lost)
{
	(void)newly_lost;
	for (uint64_t s = first; s < first + count && s <= MESSAGES_MAX; s++)
		if (offered[s])
			rec.broken = true;	/* it was delivered: it is not lost */
	if (rec.phase == PHASE_GIVE_UP &&
	    (first < sim.give_up_first || first + count > sim.give_up_first + sim.give_up_count))
		rec.broken = true;
	if (rec.phase == PHASE_EXPIRE || rec.phase == PHASE_OTHER)
		rec.broken = true;	/* with recover() and no join, expiry declares nothing */
	rec_gap(context, first, count, newly_lost);
}

/* The server answers a request: in chunks, late, out of order, some twice, some lost. */
static void sim_recover(void *context, uint64_t first, uint64_t count)
{
	bool dropped = false;

	for (uint64_t s = first; s < first + count && s <= MESSAGES_MAX; s++)
		if (offered[s])
			rec.broken = true;	/* asking for what was delivered */
	rec_recover(context, first, count);
	sim.past_first[sim.past % 1024] = first;
	sim.past_count[sim.past % 1024] = count;
	sim.past++;
	for (uint64_t s = first; s < first + count;) {
		uint64_t c = 1 + check_rng() % 5;

		if (c > first + count - s)
			c = first + count - s;
		if (sim.unreliable && check_rng() % 10 < 3)
			dropped = true;
		else
			sim_event_add(sim.now + 1 + check_rng() % 400, s, c, false);
		if (check_rng() % 10 == 0)
			sim_event_add(sim.now + 1 + check_rng() % 800, s, c, false);
		s += c;
	}
	if (dropped)
		sim_event_add(sim.now + 300 + check_rng() % 300, first, count, true);
}

static void sim_offer(struct arbiter *a, enum decoder_frame_kind kind, uint64_t seq, uint32_t count,
		      uint8_t line)
{
	uint64_t full = a->stats.window_full;
	uint32_t gaps = rec.gaps;

	rec.phase = PHASE_OFFER;
	offer(a, "RANDOM0001", kind, seq, count, line, sim.now);
	if (rec.gaps - gaps != a->stats.window_full - full)
		rec.broken = true;	/* a gap while offering only from a full hold */
	for (uint64_t s = seq; s < seq + count && s <= MESSAGES_MAX; s++)
		offered[s]++;
	rec.phase = PHASE_OTHER;
}

/* Everything due by now, then the window's expiry and now and then a stale give-up. */
static void sim_step(struct arbiter *a)
{
	for (uint32_t i = 0; i < sim.events_count;) {
		struct sim_event e = sim.events[i];

		if (e.due > sim.now) {
			i++;
			continue;
		}
		sim.events[i] = sim.events[--sim.events_count];
		if (e.give_up) {
			rec.phase = PHASE_GIVE_UP;
			sim.give_up_first = e.first;
			sim.give_up_count = e.count;
			arbiter_recovery_lost(a, e.first, e.count, sim.now);
			rec.phase = PHASE_OTHER;
		} else {
			sim_offer(a, DECODER_FRAME_DATA, e.first, (uint32_t)e.count, ARBITER_LINE_RECOVERY);
		}
	}
	rec.phase = PHASE_EXPIRE;
	arbiter_expire(a, sim.now);
	rec.phase = PHASE_OTHER;
	if (sim.past > 0 && check_rng() % 20 == 0) {
		uint32_t k = (uint32_t)(check_rng() % (sim.past < 1024 ? sim.past : 1024));
		uint64_t gaps = a->stats.gaps;

		if (sim.past_first[k] + sim.past_count[k] <= a->expected) {
			arbiter_recovery_lost(a, sim.past_first[k], sim.past_count[k], sim.now);
			CHECK(a->stats.gaps == gaps);	/* stale: changes nothing */
		}
	}
}

static void run_recovery_schedule(uint64_t n, double loss, bool unreliable, uint32_t hold)
{
	static struct schedule_item items[MESSAGES_MAX * 3];
	size_t count = 0;
	struct arbiter a;
	uint64_t seq = 1, index = 0, applied = 0, declared = 0;

	rec_start(&a, hold, 50, true, UINT64_MAX);
	a.gap = sim_gap;
	a.recover = sim_recover;
	owner.refused = sim_refused;
	memset(&sim, 0, sizeof(sim));
	memset(offered, 0, sizeof(offered));
	sim.n = n;
	sim.unreliable = unreliable;
	while (seq <= n) {
		uint32_t c = (uint32_t)(1 + check_rng() % 8);

		if (seq + c - 1 > n)
			c = (uint32_t)(n - seq + 1);
		for (uint8_t line = 0; line < 2; line++) {
			int copies = (double)(check_rng() % 10000) / 10000 < loss ? 0 : (check_rng() % 20 == 0 ? 2 : 1);

			for (int k = 0; k < copies; k++) {
				double jitter = check_rng() % 5 == 0 ? (double)(check_rng() % 4) : 0;

				items[count++] = (struct schedule_item){
					seq, c, line, (double)index + jitter + line * 2.5 + k * 0.1 };
			}
		}
		seq += c;
		index++;
	}
	qsort(items, count, sizeof(items[0]), schedule_compare);
	for (size_t i = 0; i < count; i++) {
		sim.now += 10;
		sim_offer(&a, DECODER_FRAME_DATA, items[i].seq, items[i].count, items[i].line);
		sim_step(&a);
	}
	/* The session's end names n + 1: a lost tail is a hole like any other. */
	sim.now += 10;
	sim_offer(&a, DECODER_FRAME_HEARTBEAT, n + 1, 0, 0);
	for (int i = 0; i < 100000 && (sim.events_count > 0 || a.held_count > 0); i++) {
		sim.now += 10;
		sim_step(&a);
	}
	CHECK(!sim.overflow && sim.events_count == 0 && a.held_count == 0 && !a.recovering);
	rec.phase = PHASE_OTHER;
	arbiter_flush(&a, sim.now);	/* nothing left to declare */
	for (uint64_t s = 1; s <= n; s++)
		applied += owner.applied[s];
	for (uint32_t g = 0; g < rec.gaps && g < REC_GAPS; g++)
		declared += rec.gap[g].count;
	CHECK(!rec.broken && !owner.out_of_order && rec.next == n + 1 && a.expected == n + 1);
	CHECK(applied == owner.applied_total && applied + declared == n && rec.gaps < REC_GAPS);
	CHECK(declared == a.stats.gap_messages && rec.gaps == a.stats.gaps);
	CHECK(a.stats.recoveries == rec.recovers && a.stats.joins_unrecovered == 0);
	if (!unreliable)	/* a hold big enough and a server that always answers: nothing lost */
		CHECK(a.stats.window_full == 0 && declared == 0 && rec.recovered == rec.recovers);
	printf("  n %" PRIu64 ": %u recoveries, %u recovered, %" PRIu64 " reply duplicates, %u gaps (%" PRIu64
	       " messages, %" PRIu64 " hold full), %" PRIu64 " refused%s\n", n, rec.recovers, rec.recovered,
	       a.stats.lines[ARBITER_LINE_RECOVERY].duplicates, rec.gaps, declared, a.stats.window_full,
	       bad_sequence_total(&a), rec.broken ? " BROKEN" : "");
	CHECK(owner.bad_seen == bad_sequence_total(&a));	/* each refusal seen by the oracle */
	arbiter_fini(&a);
	CHECK(handles_all_released_once());
}

int main(int argc, char **argv)
{
	uint64_t seed = check_seed(argc, argv);

	test_edges();
	check_rng_state = seed;
	printf("random schedules, loss on one line (seed %" PRIu64 ")\n", seed);
	for (int i = 0; i < 10; i++)
		run_schedule(10000 + check_rng() % 40000, i % 2 ? 0.3 : 0, i % 2 ? 0 : 0.3, true);
	printf("random schedules, loss on both lines (seed %" PRIu64 ")\n", seed);
	for (int i = 0; i < 5; i++)
		run_schedule(20000, 0.2, 0.2, false);
	test_recovery();
	test_snapshot();
	test_hold_ring();
	test_snapshot_hold();
	test_bad_sequence();
	test_lost_once();
	test_confirmation();
	printf("random schedules with recovery, a server that always answers (seed %" PRIu64 ")\n", seed);
	for (int i = 0; i < 6; i++)
		run_recovery_schedule(5000 + check_rng() % 20000, i % 2 ? 0.2 : 0.05, false, 4096);
	printf("random schedules with recovery, give-ups and a small hold (seed %" PRIu64 ")\n", seed);
	for (int i = 0; i < 6; i++)
		run_recovery_schedule(5000 + check_rng() % 20000, i % 2 ? 0.3 : 0.1, true, 8 + (uint32_t)(check_rng() % 56));
	printf("%s (seed %" PRIu64 ")\n", failures ? "FAIL" : "PASS", seed);
	return failures ? 1 : 0;
}
