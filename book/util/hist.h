/*
 * hist: fixed-memory log-linear latency histograms, HdrHistogram's layout with 3
 * significant digits: values from 0 to HIST_VALUE_MAX (2^36 - 1 ns, 68.7 s) fall in
 * buckets whose width is at most 1/1024 of their value, so any percentile read back
 * is within 0.1% of the true one. Recording is an index computed with one clz and an
 * increment: no allocation, no lock, no atomic. A value above the range is counted in
 * the top bucket and in `overflow`, never dropped.
 *
 * hist_recorder swaps sets of histograms between one writer thread (an RX lcore) and
 * one reader thread (the control lcore) without any atomic read-modify-write or fence
 * on the writer's side: the reader asks for a swap, the writer flips to the other set
 * at its next service point (once per RX loop pass) and says so with a release store;
 * the reader then owns the set the writer left, reads it, and clears it.
 *
 * Output: the HdrHistogram "percentile distribution" text format, which HdrHistogram's
 * own plotting tools read.
 */
#ifndef FH_BOOK_UTIL_HIST_H
#define FH_BOOK_UTIL_HIST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define HIST_SUB_BUCKET_BITS 11				/* 2048 sub-buckets: 3 digits */
#define HIST_SUB_BUCKETS (1u << HIST_SUB_BUCKET_BITS)
#define HIST_HALF_BITS (HIST_SUB_BUCKET_BITS - 1)
#define HIST_HALF (1u << HIST_HALF_BITS)
#define HIST_VALUE_BITS 36
#define HIST_VALUE_MAX ((1ull << HIST_VALUE_BITS) - 1)	/* 68.7 s in ns */
#define HIST_BUCKETS (HIST_VALUE_BITS - HIST_SUB_BUCKET_BITS + 1)	/* 26 */
#define HIST_COUNTS ((HIST_BUCKETS + 1) * HIST_HALF)	/* 27648 */
#define HIST_SET_MAX 4		/* histograms swapped together by one recorder */

struct hist {
	uint64_t total;		/* values recorded */
	uint64_t overflow;	/* of those, above HIST_VALUE_MAX (counted as HIST_VALUE_MAX) */
	uint64_t min;		/* exact; UINT64_MAX when empty */
	uint64_t max;		/* exact, clamped to HIST_VALUE_MAX */
	uint64_t sum;		/* of the recorded (clamped) values */
	uint64_t counts[HIST_COUNTS];
};

/* The bucket of a value: 0 below HIST_SUB_BUCKETS, then one per power of two. */
static inline uint32_t hist_bucket(uint64_t value)
{
	return (uint32_t)(63 - HIST_HALF_BITS) - (uint32_t)__builtin_clzll(value | (HIST_SUB_BUCKETS - 1));
}

/* The counts index of a value (clamped to the range). */
static inline uint32_t hist_index(uint64_t value)
{
	uint32_t bucket = hist_bucket(value);

	return ((bucket + 1) << HIST_HALF_BITS) + (uint32_t)(value >> bucket) - HIST_HALF;
}

static inline void hist_record_n(struct hist *h, uint64_t value, uint64_t count)
{
	if (__builtin_expect(value > HIST_VALUE_MAX, 0)) {
		value = HIST_VALUE_MAX;
		h->overflow += count;
	}
	h->counts[hist_index(value)] += count;
	h->total += count;
	h->sum += value * count;
	h->min = value < h->min ? value : h->min;
	h->max = value > h->max ? value : h->max;
}

static inline void hist_record(struct hist *h, uint64_t value)
{
	hist_record_n(h, value, 1);
}

/* Empties a histogram. */
void hist_reset(struct hist *h);

/* dst += src. */
void hist_add(struct hist *dst, const struct hist *src);

/* The smallest and largest value that share value's bucket. */
uint64_t hist_lowest_equivalent(uint64_t value);
uint64_t hist_highest_equivalent(uint64_t value);

/*
 * The value at a percentile (0..100): the largest value of the bucket in which the
 * cumulative count first reaches percentile% of the total (at least one value),
 * capped at the exact max. 0 when empty.
 */
uint64_t hist_percentile(const struct hist *h, double percentile);

double hist_mean(const struct hist *h);
double hist_stddev(const struct hist *h);

/*
 * Writes the HdrHistogram percentile distribution of h: values divided by scale
 * (1000: ns recorded, microseconds shown with 3 decimals), ticks_per_half rows per
 * halving of the remaining tail (HdrHistogram's default is 5). 0 or -errno.
 */
int hist_percentiles_write(FILE *out, const struct hist *h, double scale, uint32_t ticks_per_half);

/*
 * The rows above are HdrHistogram's iteration, which lands on no exact percentile (no
 * row sits at 99%, and 90% is reached by summing floats): read back, they would give
 * other percentiles than hist_percentile. So the file also carries the histogram
 * itself, after its footer, as comment lines HdrHistogram's tools skip: one
 * "#[Count INDEX COUNT]" per non-empty counts[] slot. hist_count_line_read reads one
 * line of such a file into h (reset by the caller): 1 when it was a Count line (added
 * to counts and total), 0 for any other line, -EINVAL for a Count line out of range
 * (an index past HIST_COUNTS, a count that would wrap the total) or not written as
 * hist_counts_write does (decimal digits only, one space between). The caller sets max
 * (the file's "#[Max" line, which hist_percentile caps at) and checks
 * hist_counts_check before asking for percentiles.
 */
int hist_count_line_read(struct hist *h, const char *line);

/*
 * Writes those "#[Count INDEX COUNT]" lines of h (after hist_percentiles_write, in a
 * .hgrm file; fhd's exit report, read by people, has the rows alone). 0 or -errno.
 */
int hist_counts_write(FILE *out, const struct hist *h);

/*
 * Whether h, read back with hist_count_line_read and given max (in ns), is a
 * histogram hist_percentiles_write could have written: total as the file says, and
 * max inside the last non-empty slot.
 */
bool hist_counts_check(const struct hist *h, uint64_t total);

/*
 * The interval swap. sets[0] and sets[1] each hold `count` histograms; the writer
 * records into hist_recorder_active(r)[i].
 */
struct hist_recorder {
	struct hist *sets[2];
	uint32_t count;
	uint32_t active;		/* the writer's set; written by the writer only */
	uint8_t pad0[64 - 2 * sizeof(struct hist *) - 8];
	volatile uint64_t request;	/* swaps asked for; written by the reader */
	uint8_t pad1[64 - 8];
	volatile uint64_t done;		/* swaps made; written by the writer */
	uint8_t pad2[64 - 8];
};

/* Sets up a recorder over two sets of count empty histograms (the caller's memory). */
void hist_recorder_init(struct hist_recorder *r, struct hist *set0, struct hist *set1, uint32_t count);

/* Writer: where to record now. */
static inline struct hist *hist_recorder_active(struct hist_recorder *r)
{
	return r->sets[r->active];
}

/* Writer: honours a pending swap. One load when there is none. */
static inline void hist_recorder_service(struct hist_recorder *r)
{
	uint64_t request = __atomic_load_n(&r->request, __ATOMIC_ACQUIRE);

	if (__builtin_expect(request != r->done, 0)) {
		r->active ^= 1;
		__atomic_store_n(&r->done, request, __ATOMIC_RELEASE);
	}
}

/* Reader: asks for a swap; hist_recorder_take then says when it happened. */
void hist_recorder_request(struct hist_recorder *r);

/*
 * Reader: after a request, the set the writer left (count histograms) once the
 * writer has swapped, else NULL. The reader must hist_reset them before its next
 * request. writer_stopped: the writer will never service again (its thread ended),
 * so the reader swaps itself.
 */
struct hist *hist_recorder_take(struct hist_recorder *r, bool writer_stopped);

#endif
