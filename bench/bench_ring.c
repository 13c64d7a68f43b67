/*
 * bench-ring: the publish ring against DPDK's rte_ring (SPSC, 64-byte elements) on the
 * same records, in the same run. Prints, for each: producer cost per event and events/s
 * with nobody reading; then one-way latency from publish to a consumer on the other
 * core (TSC in the record, events paced so the figure is the hand-off, not queueing):
 * p50, p99, p99.9, max. Never fails on time.
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

#include "publish/libfh/fh.h"
#include "publish/ring.h"

#define BENCH_EVENTS (1u << 24)
#define BENCH_SAMPLES 200000
#define BENCH_PACE_CYCLES 2000		/* between latency samples */

static char name[64];
static struct rte_ring *dpdk_ring;
static volatile int consumer_ready, producer_done;
static uint64_t samples[BENCH_SAMPLES];
static uint64_t skewed;		/* samples whose receive TSC was below the send TSC */

/* now - sent, or 0 (counted) when the cores' TSCs disagree (seen on VMs). */
static uint64_t sample(uint64_t now, uint64_t sent)
{
	if (now < sent) {
		skewed++;
		return 0;
	}
	return now - sent;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t n, double hz)
{
	qsort(samples, n, sizeof(samples[0]), compare_u64);
	printf("  %-28s one-way latency ns: p50 %.0f  p99 %.0f  p99.9 %.0f  max %.0f  (%" PRIu64
	       " samples%s)\n", what, samples[n / 2] * 1e9 / hz, samples[n * 99 / 100] * 1e9 / hz,
	       samples[n * 999 / 1000] * 1e9 / hz, samples[n - 1] * 1e9 / hz, n,
	       skewed ? ", some with TSC skew between cores counted as 0" : "");
	skewed = 0;
}

static void *fh_consumer_thread(void *arg)
{
	struct fh_consumer *c;
	struct fh_event ev[32];
	char err[256];
	uint64_t n = 0;

	(void)arg;
	pin(0);
	if (fh_attach(name, FH_START_NOW, &c, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		exit(2);
	}
	consumer_ready = 1;
	while (n < BENCH_SAMPLES) {
		int got = fh_poll(c, ev, 32);
		uint64_t now = rte_rdtsc();

		for (int i = 0; i < got && n < BENCH_SAMPLES; i++)
			samples[n++] = sample(now, ev[i].exchange_ts_ns);
	}
	fh_detach(c);
	return NULL;
}

static void *dpdk_consumer_thread(void *arg)
{
	struct fh_event ev[32];
	uint64_t n = 0;

	(void)arg;
	pin(0);
	consumer_ready = 1;
	while (n < BENCH_SAMPLES) {
		unsigned got = rte_ring_dequeue_burst_elem(dpdk_ring, ev, sizeof(ev[0]), 32, NULL);
		uint64_t now = rte_rdtsc();

		for (unsigned i = 0; i < got && n < BENCH_SAMPLES; i++)
			samples[n++] = sample(now, ev[i].exchange_ts_ns);
	}
	return NULL;
}

static void latency_run(int dpdk, double hz)
{
	static struct pub_ring ring;
	pthread_t consumer;
	struct fh_event e;
	char err[256];

	memset(&e, 0, sizeof(e));
	e.type = FH_EVENT_TRADE;
	if (!dpdk && pub_ring_create(&ring, name, 1 << 16, 0600, (gid_t)-1, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		exit(2);
	}
	consumer_ready = 0;
	pthread_create(&consumer, NULL, dpdk ? dpdk_consumer_thread : fh_consumer_thread, NULL);
	while (!consumer_ready)
		;
	for (uint32_t i = 0; i < BENCH_SAMPLES; i++) {
		uint64_t t = rte_rdtsc();

		while (rte_rdtsc() - t < BENCH_PACE_CYCLES)
			;
		e.exchange_ts_ns = rte_rdtsc();
		if (dpdk)
			while (rte_ring_enqueue_elem(dpdk_ring, &e, sizeof(e)) != 0)
				;
		else
			pub_ring_publish(&ring, &e);
	}
	pthread_join(consumer, NULL);
	report(dpdk ? "rte_ring SPSC (64-byte elems)" : "fh publish ring", BENCH_SAMPLES, hz);
	if (!dpdk)
		pub_ring_close(&ring);
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

	printf("== publish -> consumer on the other core (paced, %u cycles apart)\n", BENCH_PACE_CYCLES);
	latency_run(0, hz);
	latency_run(1, hz);
	shm_unlink(name);
	rte_eal_cleanup();
	return 0;
}
