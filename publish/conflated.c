/*
 * conflated: top-of-book snapshots in shared memory (see conflated.h).
 */
#include "publish/conflated.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The edge of a side that holds fewer levels than the view: every price reaches it. */
static int64_t pub_conflated_edge_open(enum book_side side)
{
	return side == BOOK_SIDE_BID ? INT64_MIN : INT64_MAX;
}

/* An empty entry: nothing held, so every change shows; no name yet. */
static void pub_conflated_own_reset(struct pub_conflated *view, uint32_t slot)
{
	struct pub_conflated_own *own = pub_conflated_own(view, slot);

	for (int side = 0; side < BOOK_SIDES; side++) {
		own->edge[side] = pub_conflated_edge_open((enum book_side)side);
		own->count[side] = 0;
	}
	own->open = own->refill = 0;
	own->named = false;
}

/* The mirror of a side of slot's entry: what the entry holds, best first. */
static struct conflated_level *pub_conflated_mirror(struct pub_conflated *view, uint32_t slot,
						    enum book_side side)
{
	return (struct conflated_level *)(pub_conflated_own(view, slot) + 1) + (size_t)side * view->depth;
}

void pub_conflated_own_free(struct pub_conflated *view)
{
	free(view->versions);
	free(view->own);
	view->versions = NULL;
	view->own = NULL;
}

int pub_conflated_own_make(struct pub_conflated *view, uint32_t slots, uint32_t depth)
{
	size_t stride = sizeof(struct pub_conflated_own) + (size_t)BOOK_SIDES * depth * sizeof(struct conflated_level);

	view->own_stride = (stride + 63) & ~(size_t)63;
	view->depth = depth;
	view->versions = calloc(slots, sizeof(*view->versions));
	view->own = aligned_alloc(64, (size_t)slots * view->own_stride);
	if (view->versions == NULL || view->own == NULL) {
		pub_conflated_own_free(view);
		return -ENOMEM;
	}
	/* Prefaulted; the versions (the shared ones are written, never read) start even. */
	memset(view->versions, 0, (size_t)slots * sizeof(*view->versions));
	memset(view->own, 0, (size_t)slots * view->own_stride);
	for (uint32_t s = 0; s < slots; s++)
		pub_conflated_own_reset(view, s);
	return 0;
}

int pub_conflated_create(struct pub_conflated *view, const char *name, uint32_t slots,
			 uint32_t depth, uint64_t generation, mode_t mode, gid_t gid,
			 char *err, size_t err_size)
{
	uint32_t entry_size = (uint32_t)(sizeof(struct conflated_entry) +
					 2 * depth * sizeof(struct conflated_level));
	struct conflated_header *header;
	size_t size;
	int rc;

	assert(view != NULL && name != NULL);
	memset(view, 0, sizeof(*view));
	view->segment.fd = -1;
	if (depth == 0 || depth > CONFLATED_DEPTH_MAX || slots == 0) {
		snprintf(err, err_size, "%s: depth %u or slots %u out of range", name, depth, slots);
		return -EINVAL;
	}
	entry_size = (entry_size + 63) & ~63u;	/* entries on their own cache lines */
	size = CONFLATED_HEADER_SIZE + (size_t)slots * entry_size;
	rc = pub_conflated_own_make(view, slots, depth);
	if (rc != 0)
		snprintf(err, err_size, "%s: no memory for %u entries", name, slots);
	if (rc == 0)
		rc = shm_segment_create(&view->segment, "conflated view", name, size, err, err_size);
	if (rc != 0) {
		pub_conflated_own_free(view);
		return rc;
	}
	header = view->segment.map;
	header->version = CONFLATED_VERSION;
	header->depth = depth;
	header->slots = slots;
	header->entry_size = entry_size;
	header->generation = generation;
	__atomic_store_n(&header->magic, CONFLATED_MAGIC, __ATOMIC_RELEASE);
	view->header = header;
	view->entries = (uint8_t *)header + CONFLATED_HEADER_SIZE;
	view->depth = depth;
	view->entry_size = entry_size;
	view->slots = slots;
	view->size = size;
	rc = shm_segment_share(&view->segment, "conflated view", mode, gid, err, err_size);
	if (rc != 0) {
		shm_segment_remove(&view->segment);
		pub_conflated_close(view);
		return rc;
	}
	/* Whole, cache-aligned entries that hold both sides at full depth, all in the segment. */
	assert(entry_size % 64 == 0 &&
	       entry_size >= sizeof(struct conflated_entry) + 2 * depth * sizeof(struct conflated_level));
	assert(view->segment.size == size && CONFLATED_HEADER_SIZE + (size_t)slots * entry_size <= size);
	return 0;
}

void pub_conflated_generation_set(struct pub_conflated *view, uint64_t generation)
{
	assert(view->header != NULL);
	__atomic_store_n(&view->header->generation, generation, __ATOMIC_RELEASE);
}

void pub_conflated_close(struct pub_conflated *view)
{
	shm_segment_close(&view->segment);
	pub_conflated_own_free(view);
	memset(view, 0, sizeof(*view));
	view->segment.fd = -1;
}

/* Opens an entry's seqlock (odd) from the private version: nothing is read back. */
static void pub_conflated_write_begin(struct pub_conflated *view, uint32_t slot,
				      struct conflated_entry *e)
{
	assert(slot < view->slots && (view->versions[slot] & 1) == 0);	/* not open already */
	__atomic_store_n(&e->version, ++view->versions[slot], __ATOMIC_RELAXED);	/* odd */
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void pub_conflated_write_end(struct pub_conflated *view, uint32_t slot,
				    struct conflated_entry *e)
{
	assert(slot < view->slots && (view->versions[slot] & 1) == 1);	/* opened by write_begin */
	__atomic_store_n(&e->version, ++view->versions[slot], __ATOMIC_RELEASE);	/* even */
}

/* True if a change at price `best` reaches a side whose entry's edge is `edge`. */
static bool pub_conflated_side_stale(enum book_side side, int64_t best, int64_t edge)
{
	return side == BOOK_SIDE_BID ? best >= edge : best <= edge;
}

static void pub_conflated_name_write(struct conflated_entry *e, const struct book_instrument *in,
				     uint8_t feed)
{
	/* The symbol is copied into a fixed field: never more than it holds. */
	assert(in->symbol_len <= sizeof(e->symbol));
	e->instrument = in->key;
	e->feed = feed;
	e->used = 1;
	e->price_decimals = in->price_decimals;
	memset(e->symbol, 0, sizeof(e->symbol));
	memcpy(e->symbol, in->symbol, in->symbol_len);
}

bool pub_conflated_update_begin(struct pub_conflated *view, uint32_t slot, uint8_t feed,
				const struct book *book, int32_t index, uint64_t ring_seq,
				const struct pub_conflated_change *change)
{
	struct pub_conflated_own *own;
	struct conflated_entry *e;
	uint8_t reached = 0;

	/* An index into the book's instrument array, used or not. */
	assert(index >= 0 && (uint32_t)index < book->instruments_max);
	assert(view->depth <= CONFLATED_DEPTH_MAX && (change->sides & ~3u) == 0);
	if (slot >= view->slots)
		return false;
	own = pub_conflated_own(view, slot);
	assert(own->open == 0);	/* the last update ended */
	for (int side = 0; side < BOOK_SIDES; side++)	/* untouched sides are still true */
		if ((change->sides & (1u << side)) &&
		    pub_conflated_side_stale((enum book_side)side, change->best_price[side], own->edge[side]))
			reached |= (uint8_t)(1u << side);
	if (reached == 0 && !change->named)
		return false;
	e = pub_conflated_entry(view, slot);
	pub_conflated_write_begin(view, slot, e);
	e->ring_seq = ring_seq;
	/* Renamed, or new in this session (its entry was cleared): the name fields too. */
	if (change->named || !own->named)
		pub_conflated_name_write(e, &book->instruments[index], feed);
	own->named = true;
	own->open = reached;
	own->refill = 0;
	own->dirty_from[BOOK_SIDE_BID] = own->dirty_from[BOOK_SIDE_ASK] = (uint8_t)view->depth;
	return true;
}

/* True if price is strictly better than against on side. */
static bool pub_conflated_better(enum book_side side, int64_t price, int64_t against)
{
	return side == BOOK_SIDE_BID ? price > against : price < against;
}

void pub_conflated_update_level(struct pub_conflated *view, uint32_t slot, enum book_side side,
				int64_t price, uint64_t shares, uint32_t orders)
{
	struct pub_conflated_own *own = pub_conflated_own(view, slot);
	struct conflated_level *m;
	uint32_t n, i = 0;

	assert(slot < view->slots && side < BOOK_SIDES);
	if (!(own->open & (1u << side)) || (own->refill & (1u << side)))
		return;	/* not reached, or read whole at the end anyway */
	m = pub_conflated_mirror(view, slot, side);
	n = own->count[side];
	assert(n <= view->depth);
	while (i < n && pub_conflated_better(side, m[i].price, price))
		i++;
	if (i < n && m[i].price == price) {
		if (orders > 0) {
			m[i].shares = shares;
			m[i].orders = orders;
		} else if (n == view->depth) {
			/* A full entry lost a level: the next one is only in the book. */
			own->refill |= (uint8_t)(1u << side);
			return;
		} else {
			/* The entry held the whole side: it still does. */
			memmove(&m[i], &m[i + 1], (n - i - 1) * sizeof(*m));
			own->count[side] = (uint8_t)(n - 1);
		}
	} else if (orders > 0 && i < view->depth) {
		/* A new level inside the depth: the worst one held falls off a full entry. */
		uint32_t kept = n < view->depth ? n : view->depth - 1;

		memmove(&m[i + 1], &m[i], (kept - i) * sizeof(*m));
		m[i] = (struct conflated_level){ .price = price, .shares = shares, .orders = orders };
		own->count[side] = (uint8_t)(kept + 1);
	} else {
		return;	/* beyond the depth, or gone from beyond it (or born and gone) */
	}
	if (i < own->dirty_from[side])
		own->dirty_from[side] = (uint8_t)i;
}

void pub_conflated_update_end(struct pub_conflated *view, uint32_t slot, const struct book *book,
			      int32_t index)
{
	struct pub_conflated_own *own = pub_conflated_own(view, slot);
	struct conflated_entry *e = pub_conflated_entry(view, slot);

	assert(slot < view->slots && (view->versions[slot] & 1) == 1);	/* begun */
	for (int side = 0; side < BOOK_SIDES; side++) {
		struct conflated_level *m = pub_conflated_mirror(view, slot, (enum book_side)side);
		struct conflated_level *out = &e->levels[side * view->depth];
		uint32_t from = own->dirty_from[side], n;

		if (!(own->open & (1u << side)))
			continue;
		if (own->refill & (1u << side)) {
			struct book_level_info levels[CONFLATED_DEPTH_MAX];

			n = book_side_levels(book, index, (enum book_side)side, levels, view->depth);
			for (uint32_t i = 0; i < n; i++)
				m[i] = (struct conflated_level){ .price = levels[i].price,
								 .shares = levels[i].shares,
								 .orders = levels[i].orders };
			own->count[side] = (uint8_t)n;
			from = 0;
		}
		n = own->count[side];
		assert(n <= view->depth);
		if (from < n)
			memcpy(&out[from], &m[from], (n - from) * sizeof(*m));
		if (side == BOOK_SIDE_BID)
			e->bid_count = n;
		else
			e->ask_count = n;
		own->edge[side] = n < view->depth ? pub_conflated_edge_open((enum book_side)side) :
				  m[n - 1].price;
	}
	own->open = own->refill = 0;
	pub_conflated_write_end(view, slot, e);
}

void pub_conflated_refresh(struct pub_conflated *view, uint32_t slot, uint8_t feed,
			   const struct book *book, int32_t index, uint64_t ring_seq,
			   const struct pub_conflated_change *change)
{
	struct pub_conflated_own *own;

	if (!pub_conflated_update_begin(view, slot, feed, book, index, ring_seq, change))
		return;
	own = pub_conflated_own(view, slot);
	own->refill = own->open;
	pub_conflated_update_end(view, slot, book, index);
}

void pub_conflated_clear(struct pub_conflated *view, uint32_t first, uint32_t count)
{
	for (uint32_t s = first; s < first + count && s < view->slots; s++) {
		struct conflated_entry *e = pub_conflated_entry(view, s);

		pub_conflated_write_begin(view, s, e);
		e->used = 0;
		e->bid_count = e->ask_count = 0;
		pub_conflated_write_end(view, s, e);
		pub_conflated_own_reset(view, s);
	}
}

void pub_conflated_instrument_state_set(struct pub_conflated *view, uint32_t slot, uint8_t state)
{
	struct conflated_entry *e;

	assert(state < FH_BOOK_STATES);
	if (slot >= view->slots)
		return;
	e = pub_conflated_entry(view, slot);
	pub_conflated_write_begin(view, slot, e);
	e->state = state;
	pub_conflated_write_end(view, slot, e);
}
