/*
 * test_arbiter: A/B arbitration. A fake owner records which sequence numbers were
 * applied and which packet handles came back; every handle must come back exactly
 * once, every sequence number be applied at most once and in increasing order.
 * Negative and edge cases first (duplicates, stray sessions, window full, expiry,
 * heartbeats), then seeded random schedules (usage: test_arbiter [seed], or FH_SEED):
 * loss on one line with duplicates and reordering on both must apply 1..N exactly;
 * loss on both must apply every delivered message once, and applied + gap = N.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed/arbiter.h"
#include "tests/check.h"

#define MESSAGES_MAX 200000

struct owner {
	uint64_t applied[MESSAGES_MAX + 1];	/* times each sequence number was applied */
	uint64_t last_applied;
	uint64_t applied_total;
	bool out_of_order;
	uint32_t released[MESSAGES_MAX * 4];	/* times each handle came back */
	uint32_t handles;
	uint32_t session_starts;
};

static struct owner owner;

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

static void owner_release(void *context, void *packet)
{
	(void)context;
	owner.released[(uintptr_t)packet - 1]++;
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
	printf("%s (seed %" PRIu64 ")\n", failures ? "FAIL" : "PASS", seed);
	return failures ? 1 : 0;
}
