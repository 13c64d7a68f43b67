/*
 * bench-ring: the publish ring against DPDK's rte_ring (SPSC, 64-byte elements) on the
 * same records, in the same run. Prints, for each: producer cost per event and events/s
 * with nobody reading; then the hand-off latency to a consumer on the other core,
 * measured as a round trip on the producer's own TSC (cores' TSCs on a VM need not
 * agree, so no figure here subtracts one core's TSC from another's): the producer
 * publishes one event and spins until the consumer acknowledges it through a cache
 * line; one-way is half the round trip. Beside it, the floor from the same run: two
 * threads bouncing a counter through one cache line. p50, p99, p99.9, max, and the
 * ratio of each p50 to the floor's. Never fails on time.
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "book/util/clock.h"
#include "publish/libfh/fh.h"
#include "publish/ring.h"

#define BENCH_EVENTS (1u << 24)
#define BENCH_BLOCKS 10		/* interleaved blocks per path */
#define BENCH_BLOCK 10000		/* round trips sampled per block */
#define BENCH_WARMUP 500		/* round trips not sampled at a block's start */
#define BENCH_RTT_RING (1u << 16)	/* records in the round trips' publish ring */
#define BENCH_STUCK_S 10		/* a spin this long means an event was lost: a bug */

/* How the consumer receives the producer's round-trip number i. */
enum rtt_path {
	RTT_FLOOR,	/* the ack line itself: producer writes 2i-1, consumer answers 2i */
	RTT_FH,		/* an event on the publish ring, read with fh_poll; ack i */
	RTT_DPDK,	/* an event on the rte_ring SPSC; ack i */
};

/* The one cache line the consumer acknowledges through, alone on its line. */
static struct {
	_Alignas(64) uint64_t value;
	char pad[64 - sizeof(uint64_t)];
} ack;

static char name[64];
static struct rte_ring *dpdk_ring;
static struct pub_ring rtt_ring;
static struct fh_consumer *rtt_consumer;	/* attached once: its mapping stays warm */
static uint32_t block_total;			/* round trips in the current block */
static volatile int consumer_ready;
static uint64_t stuck_cycles;
static uint64_t samples[RTT_DPDK + 1][BENCH_BLOCKS * BENCH_BLOCK];

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* Spins until the ack line holds `want`; a spin past BENCH_STUCK_S exits (lost event). */
static void ack_wait(uint64_t want)
{
	uint64_t start = clock_tsc();

	while (__atomic_load_n(&ack.value, __ATOMIC_ACQUIRE) != want) {
		if (clock_tsc() - start > stuck_cycles) {
			fprintf(stderr, "bench-ring: no acknowledgement of %" PRIu64 " (lost event?)\n", want);
			exit(2);
		}
	}
}

static void ack_store(uint64_t value)
{
	__atomic_store_n(&ack.value, value, __ATOMIC_RELEASE);
}

/* Consumer, core 0: answers round trips 1..total on `path`, one at a time. */
static void *rtt_consumer_thread(void *arg)
{
	enum rtt_path path = (enum rtt_path)(uintptr_t)arg;
	uint64_t total = block_total, done = 0;
	struct fh_consumer *c = rtt_consumer;
	struct fh_event ev[32];

	pin(0);
	consumer_ready = 1;
	while (done < total) {
		uint64_t start = clock_tsc();
		int got = 0;

		while (got == 0) {
			if (path == RTT_FLOOR)
				got = __atomic_load_n(&ack.value, __ATOMIC_ACQUIRE) == 2 * done + 1;
			else if (path == RTT_FH)
				got = fh_poll(c, ev, 32);
			else
				got = (int)rte_ring_dequeue_burst_elem(dpdk_ring, ev, sizeof(ev[0]), 32, NULL);
			if (got == 0 && clock_tsc() - start > stuck_cycles) {
				fprintf(stderr, "bench-ring: consumer saw nothing after %" PRIu64 " round trips\n", done);
				exit(2);
			}
		}
		/* One event is in flight at a time: got is 1 (fh_poll's results < 0 are bugs here). */
		if (got != 1 || (path != RTT_FLOOR && ev[0].quantity != done + 1)) {
			fprintf(stderr, "bench-ring: round trip %" PRIu64 ": got %d events\n", done + 1, got);
			exit(2);
		}
		done++;
		ack_store(path == RTT_FLOOR ? 2 * done : done);
	}
	return NULL;
}

/* Producer, core 1: round trip i, timed on this core's TSC only. */
static uint64_t rtt_once(enum rtt_path path, uint32_t i)
{
	uint64_t t0 = clock_tsc();

	if (path == RTT_FLOOR) {
		ack_store(2 * (uint64_t)i - 1);
		ack_wait(2 * (uint64_t)i);
	} else if (path == RTT_FH) {
		struct fh_event *slot = pub_ring_claim(&rtt_ring);

		slot->type = FH_EVENT_TRADE;
		slot->quantity = i;
		pub_ring_commit(&rtt_ring, slot);
		ack_wait(i);
	} else {
		struct fh_event e = { .type = FH_EVENT_TRADE, .quantity = i };

		while (rte_ring_enqueue_elem(dpdk_ring, &e, sizeof(e)) != 0)
			;	/* one in flight in a ring of 65536: never full */
		ack_wait(i);
	}
	return clock_tsc() - t0;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Half a sorted round trip in ns. */
static double one_way_ns(uint64_t round_trip, uint64_t q32)
{
	return clock_tsc_to_ns(round_trip, q32) / 2.0;
}

/*
 * One block on `path`: `warmup` round trips, then `n` sampled into `out`. The consumer
 * thread lives for the block only.
 */
static void rtt_block(enum rtt_path path, uint32_t warmup, uint64_t *out, uint32_t n)
{
	pthread_t consumer;

	block_total = warmup + n;
	ack_store(0);
	consumer_ready = 0;
	pthread_create(&consumer, NULL, rtt_consumer_thread, (void *)(uintptr_t)path);
	while (!consumer_ready)
		;
	for (uint32_t i = 1; i <= warmup; i++)
		rtt_once(path, i);
	for (uint32_t i = 0; i < n; i++)
		out[i] = rtt_once(path, warmup + 1 + i);
	pthread_join(consumer, NULL);
}

/* Sorts one path's samples and prints its one-way percentiles; returns p50 ns. */
static double rtt_report(const char *what, uint64_t *s, uint64_t q32, double floor_p50)
{
	const uint32_t n = BENCH_BLOCKS * BENCH_BLOCK;
	double p50;

	qsort(s, n, sizeof(s[0]), compare_u64);
	p50 = one_way_ns(s[n / 2], q32);
	printf("  %-30s one-way ns: p50 %.0f  p99 %.0f  p99.9 %.0f  max %.0f", what, p50,
	       one_way_ns(s[n * 99 / 100], q32), one_way_ns(s[n * 999 / 1000], q32),
	       one_way_ns(s[n - 1], q32));
	if (floor_p50 > 0)
		printf("  (p50 %.2fx the floor)", p50 / floor_p50);
	printf("\n");
	return p50;
}

/*
 * The three paths in interleaved blocks (floor, fh, rte_ring, floor, ...), so a
 * neighbour's load on this shared machine lands on all three alike, not on one. The
 * fh consumer attaches once and first goes once round the whole ring unsampled, so
 * the samples see a consumer in its steady state, not its first touch of each page
 * (rte_ring's memory was touched at EAL init).
 */
static void rtt_run_all(uint64_t q32)
{
	char err[256];
	double floor_p50;

	if (pub_ring_create(&rtt_ring, name, BENCH_RTT_RING, 0600, (gid_t)-1, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		exit(2);
	}
	if (fh_attach(name, FH_START_NOW, &rtt_consumer, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		exit(2);
	}
	rtt_block(RTT_FH, BENCH_RTT_RING, NULL, 0);
	for (uint32_t b = 0; b < BENCH_BLOCKS; b++)
		for (int path = RTT_FLOOR; path <= RTT_DPDK; path++)
			rtt_block(path, BENCH_WARMUP, &samples[path][b * BENCH_BLOCK], BENCH_BLOCK);
	fh_detach(rtt_consumer);
	pub_ring_close(&rtt_ring);
	floor_p50 = rtt_report("core-to-core ping-pong floor", samples[RTT_FLOOR], q32, 0);
	rtt_report("fh publish ring -> fh_poll", samples[RTT_FH], q32, floor_p50);
	rtt_report("rte_ring SPSC (64-byte elems)", samples[RTT_DPDK], q32, floor_p50);
}

int main(int argc, char **argv)
{
	char *eal[] = { argv[0], "--no-huge", "--no-shconf", "-m", "256", "--no-pci", "-l", "0,1",
			"--log-level=lib.eal:error", NULL };
	static struct pub_ring ring;
	struct fh_event e;
	char err[256];
	double hz;
	uint64_t t0, t1;

	(void)argc;
	if (rte_eal_init(9, eal) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 2;
	}
	hz = (double)rte_get_tsc_hz();
	snprintf(name, sizeof(name), "/fh-bench-ring-%d", getpid());
	pin(1);
	memset(&e, 0, sizeof(e));
	e.type = FH_EVENT_LEVEL_CHANGED;

	printf("== producer cost, nobody reading (%u events of 64 bytes)\n", BENCH_EVENTS);
	pub_ring_create(&ring, name, 1 << 20, 0600, (gid_t)-1, err, sizeof(err));
	t0 = rte_rdtsc();
	for (uint32_t i = 0; i < BENCH_EVENTS; i++) {
		e.quantity = i;
		pub_ring_publish(&ring, &e);
	}
	t1 = rte_rdtsc();
	printf("  %-28s %.2f ns/event, %.1f M events/s\n", "fh publish ring",
	       (t1 - t0) * 1e9 / hz / BENCH_EVENTS, BENCH_EVENTS / ((t1 - t0) / hz) / 1e6);
	pub_ring_close(&ring);
	dpdk_ring = rte_ring_create_elem("bench", sizeof(struct fh_event), 1 << 16, 0,
					 RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (dpdk_ring == NULL) {
		fprintf(stderr, "rte_ring_create_elem failed\n");
		return 2;
	}
	t0 = rte_rdtsc();
	for (uint32_t i = 0; i < BENCH_EVENTS; i++) {
		struct fh_event sink[32];

		e.quantity = i;
		if (rte_ring_enqueue_elem(dpdk_ring, &e, sizeof(e)) != 0)	/* full: drain, as a reader would */
			rte_ring_dequeue_burst_elem(dpdk_ring, sink, sizeof(e), 32, NULL),
				rte_ring_enqueue_elem(dpdk_ring, &e, sizeof(e));
	}
	t1 = rte_rdtsc();
	printf("  %-28s %.2f ns/event, %.1f M events/s (drained inline when full: it cannot overwrite)\n",
	       "rte_ring SPSC", (t1 - t0) * 1e9 / hz / BENCH_EVENTS, BENCH_EVENTS / ((t1 - t0) / hz) / 1e6);
	rte_ring_reset(dpdk_ring);

	printf("== round trip producer (core 1) -> consumer (core 0) -> ack cache line, on the producer's TSC; one-way = half (%u samples each, %u interleaved blocks)\n",
	       BENCH_BLOCKS * BENCH_BLOCK, BENCH_BLOCKS);
	stuck_cycles = BENCH_STUCK_S * rte_get_tsc_hz();
	rtt_run_all(clock_tsc_q32(rte_get_tsc_hz()));
	shm_unlink(name);
	rte_eal_cleanup();
	return 0;
}
