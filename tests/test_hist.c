/*
 * test_hist: the latency histograms against exact percentiles of the raw values
 * (sorted with qsort) on known distributions: uniform, long-tailed (Pareto, up to
 * tens of seconds), constant, extreme values, one and two samples. A percentile read
 * back must lie in the bucket of the exact percentile (so within 1/1024 of it), min
 * and max must be exact. Then the interval swap with a concurrent writer thread:
 * nothing lost, nothing counted twice, bucket for bucket. Then the percentile text
 * format: monotonic rows, the 100% row, the footer; the count lines a .hgrm carries,
 * hostile ones refused.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "book/util/hist.h"
#include "tests/check.h"

#define VALUES_MAX 2000000

static uint64_t values[VALUES_MAX];
static struct hist h, single;

static int u64_compare(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The exact percentile as HdrHistogram defines it: the value of rank ceil(p% of n), at least 1. */
static uint64_t exact_percentile(const uint64_t *sorted, uint64_t n, double p)
{
	uint64_t rank = (uint64_t)(p / 100.0 * (double)n + 0.5);

	rank = rank < 1 ? 1 : rank > n ? n : rank;
	return sorted[rank - 1];
}

static void distribution_check(const char *what, uint64_t n)
{
	static const double percentiles[] = { 0, 1, 25, 50, 90, 99, 99.9, 99.99, 100 };
	uint64_t min = UINT64_MAX, max = 0, sum = 0;
	int bad = 0;

	hist_reset(&h);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t v = values[i] > HIST_VALUE_MAX ? HIST_VALUE_MAX : values[i];

		hist_record(&h, values[i]);
		min = v < min ? v : min;
		max = v > max ? v : max;
		sum += v;
	}
	qsort(values, n, sizeof(values[0]), u64_compare);
	for (size_t k = 0; k < sizeof(percentiles) / sizeof(percentiles[0]); k++) {
		uint64_t exact = exact_percentile(values, n, percentiles[k]);
		uint64_t got = hist_percentile(&h, percentiles[k]);

		if (exact > HIST_VALUE_MAX)
			exact = HIST_VALUE_MAX;
		/* same bucket as the exact value, never above the exact max */
		if (got < hist_lowest_equivalent(exact) || got > hist_highest_equivalent(exact) ||
		    (exact > 0 && fabs((double)got - (double)exact) / (double)exact > 1.0 / 1024)) {
			printf("  FAIL %s p%g: exact %lu, histogram %lu\n", what, percentiles[k],
			       (unsigned long)exact, (unsigned long)got);
			bad++;
		}
	}
	CHECK(bad == 0);
	CHECK(h.total == n && h.min == min && h.max == max && h.sum == sum);
	CHECK(fabs(hist_mean(&h) - (double)sum / (double)n) < 1e-6 * (double)max + 1e-9);
	printf("  %-40s n=%-8lu p50 %lu  p99 %lu  p99.9 %lu  max %lu ns%s\n", what, (unsigned long)n,
	       (unsigned long)hist_percentile(&h, 50), (unsigned long)hist_percentile(&h, 99),
	       (unsigned long)hist_percentile(&h, 99.9), (unsigned long)h.max, bad ? "  WRONG" : "");
}

static void accuracy(void)
{
	uint64_t n;

	/* negative and edge cases first */
	hist_reset(&h);
	CHECK(hist_percentile(&h, 50) == 0 && h.total == 0 && hist_mean(&h) == 0);
	values[0] = 777;
	distribution_check("one sample", 1);
	values[0] = 5;
	values[1] = 1000000;
	distribution_check("two samples", 2);
	hist_reset(&h);
	hist_record(&h, HIST_VALUE_MAX + 12345);
	hist_record(&h, UINT64_MAX);
	CHECK(h.overflow == 2 && h.total == 2 && h.max == HIST_VALUE_MAX);
	CHECK(hist_percentile(&h, 100) == HIST_VALUE_MAX);
	for (n = 0; n < 100000; n++) {
		uint64_t pick = check_rng() % 6;

		values[n] = pick == 0 ? 0 : pick == 1 ? 1 : pick == 2 ? HIST_VALUE_MAX :
			    pick == 3 ? 60000000000ull : pick == 4 ? 2047 : 2048;
	}
	distribution_check("extremes: 0, 1, 2047, 2048, 60 s, max", n);
	for (n = 0; n < 200000; n++)
		values[n] = 12345;
	distribution_check("constant 12345 ns", n);
	for (n = 0; n < VALUES_MAX; n++)
		values[n] = 100 + check_rng() % 99901;
	distribution_check("uniform 100 ns .. 100 us", n);
	for (n = 0; n < VALUES_MAX; n++) {
		/* Pareto, alpha 1.2, from 200 ns: a long tail reaching seconds */
		double u = ((double)(check_rng() >> 11) + 1.0) / 9007199254740993.0;

		values[n] = (uint64_t)(200.0 / pow(u, 1.0 / 1.2));
	}
	distribution_check("Pareto a=1.2 from 200 ns", n);
	for (n = 0; n < 500000; n++)
		values[n] = check_rng() % (HIST_VALUE_MAX + 1000000000ull);	/* some overflow */
	distribution_check("uniform over the whole range and past it", n);
	CHECK(h.overflow > 0);
}

/* ---- the interval swap under a concurrent writer ---- */

#define SWAP_VALUES 3000000
#define SWAP_SERVICE_EVERY 64

static struct hist sets[2][2];
static struct hist_recorder recorder;
static volatile int writer_done;

static uint64_t swap_value(uint64_t i)
{
	return (i * 2654435761u) % 5000000 + (i % 7 == 0 ? 0 : 30);
}

static void *writer(void *arg)
{
	(void)arg;
	for (uint64_t i = 0; i < SWAP_VALUES; i++) {
		struct hist *active = hist_recorder_active(&recorder);

		hist_record(&active[0], swap_value(i));
		hist_record(&active[1], 1);
		if (i % SWAP_SERVICE_EVERY == 0)
			hist_recorder_service(&recorder);
	}
	__atomic_store_n(&writer_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void interval_swap(void)
{
	static struct hist total[2];
	struct hist *taken;
	pthread_t thread;
	uint64_t swaps = 0, empty = 0;

	hist_recorder_init(&recorder, sets[0], sets[1], 2);
	hist_reset(&total[0]);
	hist_reset(&total[1]);
	hist_reset(&single);
	for (uint64_t i = 0; i < SWAP_VALUES; i++)
		hist_record(&single, swap_value(i));
	writer_done = 0;
	CHECK(pthread_create(&thread, NULL, writer, NULL) == 0);
	while (!__atomic_load_n(&writer_done, __ATOMIC_ACQUIRE)) {
		hist_recorder_request(&recorder);
		while ((taken = hist_recorder_take(&recorder, false)) == NULL &&
		       !__atomic_load_n(&writer_done, __ATOMIC_ACQUIRE))
			;
		if (taken == NULL) {
			/* the writer ended between the request and a service: join, then take */
			pthread_join(thread, NULL);
			taken = hist_recorder_take(&recorder, true);
			thread = 0;
		}
		empty += taken[0].total == 0;
		hist_add(&total[0], &taken[0]);
		hist_add(&total[1], &taken[1]);
		hist_reset(&taken[0]);
		hist_reset(&taken[1]);
		swaps++;
	}
	if (thread != 0)
		pthread_join(thread, NULL);
	hist_recorder_request(&recorder);
	taken = hist_recorder_take(&recorder, true);
	CHECK(taken != NULL);
	hist_add(&total[0], &taken[0]);
	hist_add(&total[1], &taken[1]);
	CHECK(total[0].total == SWAP_VALUES && total[1].total == SWAP_VALUES);
	CHECK(total[0].sum == single.sum && total[0].min == single.min && total[0].max == single.max);
	CHECK(memcmp(total[0].counts, single.counts, sizeof(single.counts)) == 0);
	CHECK(total[1].counts[1] == SWAP_VALUES);
	printf("  interval swap: %lu values in %lu swaps (%lu empty), all accounted for bucket by bucket: %s\n",
	       (unsigned long)SWAP_VALUES, (unsigned long)swaps, (unsigned long)empty,
	       total[0].total == SWAP_VALUES ? "yes" : "NO");
	CHECK(swaps > 1);
}

/* ---- the percentile distribution text ---- */

static void text_format(void)
{
	char line[256];
	double last_value = -1, last_pct = -1, value, pct, mean = 0, max = 0;
	unsigned long count, last_count = 0, total = 0;
	int rows = 0, final = 0;
	FILE *f = tmpfile();

	hist_reset(&h);
	for (uint64_t i = 0; i < 100000; i++)
		hist_record(&h, 1000 + check_rng() % 50000);
	CHECK(hist_percentiles_write(f, &h, 1000.0, 5) == 0);
	rewind(f);
	CHECK(fgets(line, sizeof(line), f) && strstr(line, "Value") && strstr(line, "1/(1-Percentile)"));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lf %lf %lu", &value, &pct, &count) == 3 && line[0] != '#') {
			CHECK(value >= last_value && pct >= last_pct && count >= last_count);
			last_value = value, last_pct = pct, last_count = count;
			rows++;
			final += pct == 1.0;
		}
		sscanf(line, "#[Mean    = %lf", &mean);
		sscanf(line, "#[Max     = %lf, Total count    = %lu", &max, &total);
	}
	fclose(f);
	CHECK(rows > 50 && final == 1 && last_count == 100000 && total == 100000);
	CHECK(fabs(mean - hist_mean(&h) / 1000.0) < 0.001 && fabs(max - (double)h.max / 1000.0) < 0.001);
	printf("  percentile text: %d rows, last 1.000000000000 at %lu values, footer mean %.3f max %.3f us\n",
	       rows, last_count, mean, max);
}

/*
 * The "#[Count INDEX COUNT]" lines: hostile ones first (a sign, a number that does
 * not fit the index or the count and would wrap or saturate into range, blanks,
 * junk), each refused without touching the histogram; then fhd's own lines read
 * back give the same histogram, slot for slot.
 */
static void count_lines(void)
{
	static const char *const refused[] = {
		"#[Count -1 5]", "#[Count 0 -1]", "#[Count +0 5]", "#[Count 0 +5]", "#[Count 4294967296 5]",
		"#[Count 18446744073709551616 5]", "#[Count 0 18446744073709551616]",
		"#[Count 0 99999999999999999999999]", "#[Count  0 5]", "#[Count 0  5]", "#[Count 0 5 ]",
		"#[Count 0 5", "#[Count 0]", "#[Count 0x1 5]", "#[Count 1e3 5]", "#[Count  5]",
	};
	static struct hist back;
	char line[256];
	FILE *f = tmpfile();
	int read = 0;

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		hist_reset(&back);
		if (hist_count_line_read(&back, refused[i]) != -EINVAL || back.total != 0) {
			printf("  FAIL count line '%s' taken\n", refused[i]);
			failures++;
		}
	}
	hist_reset(&back);
	CHECK(hist_count_line_read(&back, "#[Count 3 18446744073709551615]") == 1);
	CHECK(hist_count_line_read(&back, "#[Count 4 1]") == -EINVAL && back.total == UINT64_MAX);
	hist_reset(&back);
	CHECK(hist_count_line_read(&back, "#[Max     =        0.000, Total count    =            5]") == 0);
	hist_reset(&h);
	for (uint64_t i = 0; i < 100000; i++)
		hist_record(&h, check_rng() % 100000000);
	CHECK(hist_counts_write(f, &h) == 0);
	rewind(f);
	while (fgets(line, sizeof(line), f))
		read += hist_count_line_read(&back, line) == 1;
	fclose(f);
	back.max = h.max;
	CHECK(read > 100 && back.total == h.total && memcmp(back.counts, h.counts, sizeof(h.counts)) == 0);
	CHECK(hist_counts_check(&back, h.total) && !hist_counts_check(&back, h.total + 1));
	printf("  count lines: %zu hostile ones tried, %d read back to the same histogram\n",
	       sizeof(refused) / sizeof(refused[0]), read);
}

int main(int argc, char **argv)
{
	uint64_t seed = check_seed(argc, argv);

	check_rng_state = seed;
	printf("test_hist: seed %lu\n", (unsigned long)seed);
	accuracy();
	interval_swap();
	text_format();
	count_lines();
	printf("test_hist: %s\n", failures ? "FAIL" : "ok");
	return failures ? 1 : 0;
}
