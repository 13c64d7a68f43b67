/*
 * clock: every clock fh reads, and the one conversion from TSC ticks to nanoseconds.
 *
 * The control path (stats intervals, journal flushes and rotation, ring generations,
 * timeouts in the tools) reads clock_gettime in ns. The data path reads the TSC,
 * which costs a few ns and never enters the kernel, and converts ticks to ns with one
 * multiply by a 32.32 fixed-point factor computed once at start. Every TSC-to-ns
 * figure in fh (event publish deltas, latency histograms, the live reorder-window
 * clock, the live journal's epoch mapping) goes through clock_tsc_to_ns with the same
 * factor, so two figures taken from the same ticks always agree.
 */
#ifndef FH_BOOK_UTIL_CLOCK_H
#define FH_BOOK_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_timespec_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

/* CLOCK_MONOTONIC in ns: intervals and deadlines on the control path. */
static inline uint64_t clock_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return clock_timespec_ns(&ts);
}

/* CLOCK_MONOTONIC_COARSE in ns: a timeout polled in a loop (a few ms of resolution). */
static inline uint64_t clock_monotonic_coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return clock_timespec_ns(&ts);
}

/* CLOCK_REALTIME in ns since the epoch: what files and segments are stamped with. */
static inline uint64_t clock_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return clock_timespec_ns(&ts);
}

/* The TSC, the data path's clock (invariant TSC: constant rate across cores and states). */
static inline uint64_t clock_tsc(void)
{
	return __builtin_ia32_rdtsc();
}

/*
 * ns per TSC tick as 32.32 fixed point, for clock_tsc_to_ns. A 0 Hz TSC gives 0 (every
 * time reads as 0) rather than a division by zero.
 */
static inline uint64_t clock_tsc_q32(uint64_t tsc_hz)
{
	return tsc_hz != 0 ? (uint64_t)((1000000000ull << 32) / tsc_hz) : 0;
}

/*
 * ticks in ns. The product is taken in 128 bits: ticks since boot (2^50 after months)
 * times a factor below 2^36 (a TSC above 60 MHz) cannot overflow it.
 */
static inline uint64_t clock_tsc_to_ns(uint64_t ticks, uint64_t ns_per_tick_q32)
{
	return (uint64_t)(((__uint128_t)ticks * ns_per_tick_q32) >> 32);
}

#endif
