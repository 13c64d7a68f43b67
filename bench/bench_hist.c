/*
 * bench-hist: the cost of recording a latency sample, as the RX lcore pays it: 100M
 * values of a realistic latency mix (mostly 100 ns..5 us, a long tail), precomputed
 * so the generator is not measured, recorded into one histogram; best of 5. Also the
 * cost of the writer's swap check per loop pass, and of reading percentiles (the
 * control lcore's side). Usage: bench-hist [SAMPLES] (default 100M; `make bench
 * QUICK=1` takes 1M). Never fails on time.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "book/util/clock.h"
#include "book/util/hist.h"

#define BENCH_VALUES (1u << 20)
#define BENCH_RECORDS 100000000u	/* samples a pass records, unless told */
#define BENCH_PASSES 5

int main(int argc, char **argv)
{
	static struct hist h, sets[2][1];
	static struct hist_recorder r;
	static uint64_t values[BENCH_VALUES];
	uint64_t seed = 42, best = UINT64_MAX, start, sink = 0;
	uint32_t records = BENCH_RECORDS;
	char *end;
	double p;

	if (argc > 1) {
		unsigned long n = strtoul(argv[1], &end, 10);

		if (argc > 2 || *end != '\0' || n == 0 || n > UINT32_MAX) {
			fprintf(stderr, "usage: bench-hist [SAMPLES]  (1 to %u; default %u)\n", UINT32_MAX,
				BENCH_RECORDS);
			return 2;
		}
		records = (uint32_t)n;
	}

	for (uint32_t i = 0; i < BENCH_VALUES; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		p = ((double)(seed >> 11) + 1.0) / 9007199254740993.0;
		values[i] = (uint64_t)(100.0 / pow(p, 1.0 / 1.5));	/* Pareto from 100 ns */
	}
	for (int pass = 0; pass < BENCH_PASSES; pass++) {
		hist_reset(&h);
		start = clock_monotonic_ns();
		for (uint32_t i = 0; i < records; i++)
			hist_record(&h, values[i & (BENCH_VALUES - 1)]);
		start = clock_monotonic_ns() - start;
		best = start < best ? start : best;
	}
	printf("  hist_record: %.2f ns/sample (%u samples, best of %d; p50 %" PRIu64 " p99 %" PRIu64 " ns)\n",
	       (double)best / records, records, BENCH_PASSES, hist_percentile(&h, 50),
	       hist_percentile(&h, 99));
	hist_recorder_init(&r, sets[0], sets[1], 1);
	best = UINT64_MAX;
	for (int pass = 0; pass < BENCH_PASSES; pass++) {
		start = clock_monotonic_ns();
		for (uint32_t i = 0; i < records; i++) {
			hist_record(hist_recorder_active(&r), values[i & (BENCH_VALUES - 1)]);
			hist_recorder_service(&r);
		}
		start = clock_monotonic_ns() - start;
		best = start < best ? start : best;
	}
	printf("  hist_record through a recorder + swap check each sample: %.2f ns/sample\n",
	       (double)best / records);
	start = clock_monotonic_ns();
	for (int i = 0; i < 100; i++)
		sink += hist_percentile(&h, 99.9);
	printf("  hist_percentile (control side): %.1f us a call%s\n",
	       (double)(clock_monotonic_ns() - start) / 100 / 1000, sink ? "" : " ");
	return 0;
}
