/*
 * rng: fh-pcap's deterministic random numbers (splitmix64). Every choice fh-pcap
 * makes is drawn from here, seeded from the command line, so the same arguments give
 * byte-identical output on any host; each consumer seeds its own stream.
 */
#include <assert.h>

#include "fh_pcap.h"

/* Seeds independent streams from one user seed so each fault draws its own. */
void rng_seed(struct rng *rng, uint64_t seed, uint64_t stream)
{
	rng->state = seed ^ (stream * 0xd1b54a32d192ed03ull);
}

uint64_t rng_next(struct rng *rng)
{
	uint64_t z = (rng->state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi]; the modulo bias is irrelevant at these ranges. */
uint64_t rng_range(struct rng *rng, uint64_t lo, uint64_t hi)
{
	assert(lo <= hi);
	if (hi - lo == UINT64_MAX)
		return rng_next(rng);
	return lo + rng_next(rng) % (hi - lo + 1);
}

/* True with probability p (never for p <= 0). */
bool rng_chance(struct rng *rng, double p)
{
	if (p <= 0.0)
		return false;
	return (double)(rng_next(rng) >> 11) * 0x1.0p-53 < p;
}

/* One of the characters of choices (not empty), uniformly. */
uint8_t rng_pick(struct rng *rng, const char *choices)
{
	assert(*choices);
	return (uint8_t)choices[rng_range(rng, 0, strlen(choices) - 1)];
}
