/*
 * bench_arbiter: what one packet costs the arbiter's hold as the hold grows (issue 20:
 * a memmove of the whole hold per packet was 90 us at 65,536 held and 5 ms at
 * 1,048,576). For holds of 1,024, 65,536 and 1,048,576 packets, ns per packet:
 *   snapshot: a snapshot being taken with the hold full, every packet arriving drops
 *             the oldest (arbiter_snapshot_begin, then offers past held_max);
 *   drain:    a full hold behind one hole, drained when the hole is filled (ns per
 *             packet delivered);
 *   holes:    a full hold of every other sequence number, the holes filled one by
 *             one, each fill delivering one held packet (ns per hole filled);
 * and each figure's ratio to the 1,024 hold's in the same run: a cost per packet that
 * does not grow with the hold shows as ratios near 1. Each case runs for at least
 * FH_BENCH_ARBITER_MS (default 200) of packets, or its whole hold. Only the arbiter's
 * public API is used, so an older arbiter.c builds it too (bench/run.sh says how).
 * Usage: bench-arbiter. Prints figures; never fails on time.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feed/arbiter.h"

#define BENCH_HOLDS 3
#define BENCH_CHECK_EVERY 64	/* packets between clock reads */

static const uint32_t bench_holds[BENCH_HOLDS] = { 1024, 65536, 1048576 };

static uint64_t bench_applied;	/* messages applied: keeps the work observable */

static uint64_t bench_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void bench_apply(void *context, const struct arbiter_packet *packet, uint32_t skip)
{
	(void)context;
	bench_applied += packet->count - skip;
}

static void bench_release(void *context, void *packet)
{
	(void)context;
	(void)packet;
}

static void bench_offer(struct arbiter *a, uint64_t seq)
{
	struct decoder_frame frame = { .kind = DECODER_FRAME_DATA, .seq = seq, .count = 1, .session_len = 10 };
	struct arbiter_packet packet = {
		.seq = seq, .count = 1, .line = 0, .kind = DECODER_FRAME_DATA, .packet = NULL,
	};

	memcpy(frame.session, "BENCH00001", 10);
	arbiter_offer(a, &frame, &packet, 0);
}

static void bench_start(struct arbiter *a, uint32_t hold)
{
	if (arbiter_init(a, hold, UINT64_MAX / 2, 1, bench_apply, bench_release, NULL, NULL) != 0) {
		fprintf(stderr, "bench-arbiter: arbiter_init(%u): out of memory\n", hold);
		exit(1);
	}
}

/* Snapshot mode, hold full: ns per packet arriving (each drops the oldest). */
static double bench_snapshot(uint32_t hold, uint64_t budget_ns)
{
	struct arbiter a;
	uint64_t seq = 1, start, elapsed = 0, packets = 0;

	bench_start(&a, hold);
	arbiter_snapshot_begin(&a);
	while (seq <= hold)
		bench_offer(&a, seq++);
	start = bench_now_ns();
	/* At least a budget's time; at most 1 << 24 packets. */
	while (elapsed < budget_ns && packets < (1u << 24)) {
		for (int i = 0; i < BENCH_CHECK_EVERY; i++)
			bench_offer(&a, seq++);
		packets += BENCH_CHECK_EVERY;
		elapsed = bench_now_ns() - start;
	}
	arbiter_fini(&a);
	return (double)elapsed / (double)packets;
}

/* A full hold behind one hole, filled: ns per packet delivered by the drain. */
static double bench_drain(uint32_t hold, uint64_t budget_ns)
{
	struct arbiter a;
	uint64_t seq = 1, elapsed = 0, packets = 0;

	bench_start(&a, hold);
	/* At least a budget's time (the holds are refilled untimed); at most 1 << 12 drains. */
	for (uint32_t round = 0; round < (1u << 12) && elapsed < budget_ns; round++) {
		uint64_t hole = seq++, start;

		while (seq <= hole + hold)
			bench_offer(&a, seq++);
		start = bench_now_ns();
		bench_offer(&a, hole);
		elapsed += bench_now_ns() - start;
		packets += hold + 1u;
	}
	arbiter_fini(&a);
	return (double)elapsed / (double)packets;
}

/* A full hold of every other sequence number, its holes filled in order: ns per hole. */
static double bench_holes(uint32_t hold, uint64_t budget_ns)
{
	struct arbiter a;
	uint64_t start, elapsed = 0, filled = 0;

	bench_start(&a, hold);
	bench_offer(&a, 1);
	for (uint64_t i = 0; i < hold; i++)
		bench_offer(&a, 3 + 2 * i);
	start = bench_now_ns();
	/* At least a budget's time; at most the hold's holes. */
	while (elapsed < budget_ns && filled + BENCH_CHECK_EVERY <= hold) {
		for (int i = 0; i < BENCH_CHECK_EVERY; i++)
			bench_offer(&a, 2 + 2 * filled++);
		elapsed = bench_now_ns() - start;
	}
	arbiter_fini(&a);
	return (double)elapsed / (double)filled;
}

int main(void)
{
	const char *env = getenv("FH_BENCH_ARBITER_MS");
	uint64_t budget_ns = (env != NULL ? strtoull(env, NULL, 10) : 200) * 1000000u;
	double figures[BENCH_HOLDS][3];

	bench_snapshot(bench_holds[0], budget_ns / 4);	/* warm up: clocks, page faults */
	for (int h = 0; h < BENCH_HOLDS; h++) {
		figures[h][0] = bench_snapshot(bench_holds[h], budget_ns);
		figures[h][1] = bench_drain(bench_holds[h], budget_ns);
		figures[h][2] = bench_holes(bench_holds[h], budget_ns);
	}
	printf("%-9s %-32s %-32s %s\n", "hold", "snapshot, hold full (ns/packet)", "drain of a full hold (ns/packet)",
	       "holes one by one (ns/hole)");
	for (int h = 0; h < BENCH_HOLDS; h++) {
		printf("%-9u", bench_holds[h]);
		for (int c = 0; c < 3; c++)
			printf(" %12.1f (%5.2fx of 1024)%*s", figures[h][c], figures[h][c] / figures[0][c], c < 2 ? 6 : 0,
			       "");
		printf("\n");
	}
	fprintf(stderr, "bench-arbiter: %" PRIu64 " messages applied\n", bench_applied);
	return 0;
}
