/*
 * pub_memory: a publish ring and a conflated view in private memory, for tests that
 * drive the publisher without shared segments (the publisher only writes them).
 */
#ifndef FH_TESTS_PUB_MEMORY_H
#define FH_TESTS_PUB_MEMORY_H

#include <stdlib.h>
#include <string.h>

#include "publish/conflated.h"
#include "publish/ring.h"

/*
 * Makes ring (capacity events, a power of two) and view (slots entries of depth
 * levels per side, all empty); aborts when out of memory. Made once per process:
 * nothing is freed.
 */
static inline void pub_memory_make(struct pub_ring *ring, uint32_t capacity,
				   struct pub_conflated *view, uint32_t slots, uint32_t depth)
{
	uint32_t entry_size = (uint32_t)(sizeof(struct conflated_entry) +
					 2 * depth * sizeof(struct conflated_level));

	ring->header = calloc(1, sizeof(*ring->header));
	ring->records = calloc(capacity, sizeof(*ring->records));
	ring->capacity = capacity;
	ring->mask = capacity - 1;
	view->depth = depth;
	view->entry_size = (entry_size + 63) & ~63u;
	view->slots = slots;
	view->header = calloc(1, CONFLATED_HEADER_SIZE);
	view->entries = calloc(slots, view->entry_size);
	if (ring->header == NULL || ring->records == NULL || view->header == NULL || view->entries == NULL ||
	    pub_conflated_own_make(view, slots, depth) != 0)
		abort();
	pub_conflated_clear(view, 0, slots);
}

/* Frees what pub_memory_make gave a view (its ring is the caller's to free). */
static inline void pub_memory_free(struct pub_conflated *view)
{
	free(view->header);
	free(view->entries);
	pub_conflated_own_free(view);
	memset(view, 0, sizeof(*view));
}

#endif
