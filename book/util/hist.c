/*
 * hist: queries, output and the interval swap of the latency histograms (see hist.h).
 */
#include "book/util/hist.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(HIST_COUNTS == (HIST_BUCKETS + 1) * HIST_HALF, "counts cover every bucket");
_Static_assert(sizeof(struct hist_recorder) == 3 * 64, "recorder fields on their own lines");

void hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void hist_add(struct hist *dst, const struct hist *src)
{
	if (src->total == 0)
		return;
	for (uint32_t i = 0; i < HIST_COUNTS; i++)
		dst->counts[i] += src->counts[i];
	dst->total += src->total;
	dst->overflow += src->overflow;
	dst->sum += src->sum;
	dst->min = src->min < dst->min ? src->min : dst->min;
	dst->max = src->max > dst->max ? src->max : dst->max;
}

/* The bucket of an index, and the value its counts[] slot starts at. */
static uint32_t hist_index_bucket(uint32_t index)
{
	uint32_t bucket = (index >> HIST_HALF_BITS);

	return bucket == 0 ? 0 : bucket - 1;
}

static uint64_t hist_index_value(uint32_t index)
{
	uint32_t bucket = hist_index_bucket(index);
	uint64_t sub = index - ((uint64_t)(bucket + 1) << HIST_HALF_BITS) + HIST_HALF;

	if (index < HIST_SUB_BUCKETS)
		return index;
	return sub << bucket;
}

uint64_t hist_lowest_equivalent(uint64_t value)
{
	uint32_t bucket = hist_bucket(value);

	return (value >> bucket) << bucket;
}

uint64_t hist_highest_equivalent(uint64_t value)
{
	uint32_t bucket = hist_bucket(value);

	return hist_lowest_equivalent(value) + (1ull << bucket) - 1;
}

uint64_t hist_percentile(const struct hist *h, double percentile)
{
	uint64_t wanted, seen = 0;

	if (h->total == 0)
		return 0;
	percentile = percentile < 0 ? 0 : percentile > 100 ? 100 : percentile;
	wanted = (uint64_t)(percentile / 100.0 * (double)h->total + 0.5);
	wanted = wanted < 1 ? 1 : wanted > h->total ? h->total : wanted;
	for (uint32_t i = 0; i < HIST_COUNTS; i++) {
		seen += h->counts[i];
		if (seen >= wanted) {
			uint64_t v = hist_highest_equivalent(hist_index_value(i));

			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}

double hist_mean(const struct hist *h)
{
	return h->total ? (double)h->sum / (double)h->total : 0.0;
}

double hist_stddev(const struct hist *h)
{
	double mean = hist_mean(h), sq = 0;

	if (h->total == 0)
		return 0.0;
	for (uint32_t i = 0; i < HIST_COUNTS; i++) {
		if (h->counts[i] == 0)
			continue;
		double lo = (double)hist_index_value(i);
		double mid = (lo + (double)hist_highest_equivalent(hist_index_value(i))) / 2.0;

		sq += (double)h->counts[i] * (mid - mean) * (mid - mean);
	}
	return sqrt(sq / (double)h->total);
}

/*
 * HdrHistogram's percentile iteration: rows at percentile levels that get denser
 * toward the tail, ticks_per_half rows for each halving of what is left above.
 * Values are their bucket's highest, capped at the exact max, as hist_percentile.
 */
int hist_percentiles_write(FILE *out, const struct hist *h, double scale, uint32_t ticks_per_half)
{
	double level = 0.0;
	uint64_t seen = 0;

	assert(scale > 0 && ticks_per_half > 0);
	fprintf(out, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)");
	for (uint32_t i = 0; i < HIST_COUNTS && h->total > 0; i++) {
		if (h->counts[i] == 0)
			continue;
		seen += h->counts[i];
		while (seen < h->total && 100.0 * (double)seen / (double)h->total >= level) {
			uint64_t top = hist_highest_equivalent(hist_index_value(i));
			double value = (double)(top < h->max ? top : h->max) / scale;

			fprintf(out, "%12.3f %2.12f %10lu %14.2f\n", value, level / 100.0,
				(unsigned long)seen, 1.0 / (1.0 - level / 100.0));
			double half = pow(2.0, floor(log2(100.0 / (100.0 - level))) + 1.0);

			level += 100.0 / ((double)ticks_per_half * half);
		}
	}
	if (h->total > 0)	/* the 100% row: the exact max, which lies in the last bucket */
		fprintf(out, "%12.3f %2.12f %10lu\n", (double)h->max / scale, 1.0, (unsigned long)h->total);
	fprintf(out, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", hist_mean(h) / scale,
		hist_stddev(h) / scale);
	fprintf(out, "#[Max     = %12.3f, Total count    = %12lu]\n", (double)h->max / scale,
		(unsigned long)h->total);
	fprintf(out, "#[Buckets = %12u, SubBuckets     = %12u]\n", HIST_BUCKETS, HIST_SUB_BUCKETS);
	return ferror(out) ? -EIO : 0;
}

int hist_counts_write(FILE *out, const struct hist *h)
{
	for (uint32_t i = 0; i < HIST_COUNTS && h->total > 0; i++)
		if (h->counts[i] != 0)
			fprintf(out, "#[Count %u %" PRIu64 "]\n", i, h->counts[i]);
	return ferror(out) ? -EIO : 0;
}

/*
 * A whole number at *p, decimal digits only, *p moved past it. false for no digit or
 * beyond UINT64_MAX: sscanf's %u and %llu take "-1" as a huge number, a sign, leading
 * blanks, and wrap or saturate what does not fit (4294967296 as index 0), all of
 * which would read as a histogram.
 */
static bool hist_number_read(const char **p, uint64_t *value)
{
	char *end;

	if (**p < '0' || **p > '9')
		return false;
	errno = 0;
	*value = strtoull(*p, &end, 10);
	*p = end;
	return errno == 0;
}

int hist_count_line_read(struct hist *h, const char *line)
{
	const char *p = line + 8;
	uint64_t index, count;

	if (strncmp(line, "#[Count ", 8) != 0)
		return 0;
	if (!hist_number_read(&p, &index) || *p++ != ' ' || !hist_number_read(&p, &count) || *p != ']' ||
	    index >= HIST_COUNTS || count > UINT64_MAX - h->total)
		return -EINVAL;
	h->counts[index] += count;
	h->total += count;
	return 1;
}

bool hist_counts_check(const struct hist *h, uint64_t total)
{
	uint32_t last = HIST_COUNTS;

	for (uint32_t i = HIST_COUNTS; i-- > 0;)
		if (h->counts[i] != 0) {
			last = i;
			break;
		}
	return h->total == total && total > 0 && last < HIST_COUNTS && h->max <= HIST_VALUE_MAX &&
	       hist_index(h->max) == last;
}

void hist_recorder_init(struct hist_recorder *r, struct hist *set0, struct hist *set1, uint32_t count)
{
	assert(count >= 1 && count <= HIST_SET_MAX);
	memset(r, 0, sizeof(*r));
	r->sets[0] = set0;
	r->sets[1] = set1;
	r->count = count;
	for (uint32_t i = 0; i < count; i++) {
		hist_reset(&set0[i]);
		hist_reset(&set1[i]);
	}
}

void hist_recorder_request(struct hist_recorder *r)
{
	uint64_t done = __atomic_load_n(&r->done, __ATOMIC_ACQUIRE);

	assert(r->request == done);	/* one swap at a time */
	__atomic_store_n(&r->request, done + 1, __ATOMIC_RELEASE);
}

struct hist *hist_recorder_take(struct hist_recorder *r, bool writer_stopped)
{
	uint64_t done = __atomic_load_n(&r->done, __ATOMIC_ACQUIRE);

	if (done != r->request) {
		if (!writer_stopped)
			return NULL;
		/* The writer is gone: its last records are visible (the caller joined it). */
		r->active ^= 1;
		__atomic_store_n(&r->done, r->request, __ATOMIC_RELEASE);
	}
	/* Swap k (k = 1, 2, ...) left set (k - 1) & 1 behind. */
	return r->sets[(r->request - 1) & 1];
}
