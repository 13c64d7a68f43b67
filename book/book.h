/*
 * book: the order books of one feed: its instruments, its live orders and the price
 * levels per instrument and side. Everything is allocated by book_create from the
 * config's capacities; afterwards no operation allocates, and running out of a
 * capacity is counted and refused without touching the book, so a full book is
 * incomplete but never inconsistent.
 *
 * Prices are 64-bit integers in units of 10^-price_decimals (ITCH Price(4): 4), so
 * venues with other scales (CME: 64-bit mantissa and exponent) fit unchanged. Ask
 * prices are stored negated (the level's key) so both sides share one ascending code
 * path, best last. A price is above INT64_MIN: that value has no negation and marks
 * an empty side in book_top. ITCH's 32-bit prices cannot reach it; a decoder of
 * 64-bit prices must refuse it before the book.
 *
 * The common operations do not search:
 * - Levels live in one pool per feed. A live order holds its level's index, so an
 *   execution, cancel or delete goes from order to level in O(1).
 * - An add finds its level through a hash of (instrument, side, price) in one probe,
 *   which the decoder can prefetch messages ahead (book_prefetch_*).
 * - Only creating or removing a level touches the ordered side: a short array of
 *   chunks, each a sorted run of at most BOOK_CHUNK_LEVELS levels. A new level finds
 *   its chunk by a binary search over the side's chunk bounds, a leaving one takes the
 *   chunk it names, and an insert or removal moves at most one chunk's entries, however
 *   deep the book: a level far from the touch costs what one near it does. A full
 *   chunk splits in two; a chunk that, with a neighbour, holds at most half a chunk
 *   merges into it, so a side of n levels never has more than 4n/BOOK_CHUNK_LEVELS + 1
 *   chunks.
 *
 * Order-by-order venues use book_order_*; price-level venues (book per level with no
 * order ids) use book_level_set on the same levels.
 */
#ifndef FH_BOOK_BOOK_H
#define FH_BOOK_BOOK_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "book/order_table.h"

#define BOOK_SYMBOL_MAX 16		/* symbol bytes kept, without NUL */
#define BOOK_INSTRUMENT_KEYS 65536	/* instrument keys are 16-bit (ITCH stock locate) */
#define BOOK_INSTRUMENTS_MAX 65536

enum book_side { BOOK_SIDE_BID = 0, BOOK_SIDE_ASK = 1, BOOK_SIDES = 2 };

enum book_symbol_source {
	BOOK_SYMBOL_NONE = 0,
	BOOK_SYMBOL_FROM_ORDER,		/* first order seen for the instrument */
	BOOK_SYMBOL_FROM_DIRECTORY,	/* the venue's instrument definition */
};

/* What a feed's books refused or could not apply: bad input, or a capacity reached. */
struct book_stats {
	uint64_t orders_added;
	uint64_t orders_removed;
	uint64_t unknown_order;		/* execute/cancel/delete/replace of an order not in the book */
	uint64_t duplicate_order;	/* add of a reference that is already live */
	uint64_t orders_full;		/* add refused: live-order capacity reached */
	uint64_t levels_full;		/* add refused: levels-per-side capacity reached */
	uint64_t instruments_full;	/* instrument refused: instrument capacity reached */
};

#define BOOK_NONE UINT32_MAX		/* no level, no chunk */
#define BOOK_CHUNK_LEVELS 30		/* keys per chunk: a chunk is six cache lines */

/* A price level in the feed's pool; a free one (orders 0) links the free list through chunk. */
struct book_level {
	int64_t key;		/* price (bid) or -price (ask) */
	uint64_t shares;	/* displayed shares resting at the level */
	uint32_t orders;	/* orders resting at the level; 0: free */
	uint32_t chunk;		/* the chunk of its side that holds it */
	uint16_t instrument;	/* index in the instrument table */
	uint8_t side;		/* enum book_side */
	uint8_t spare[3];
};
_Static_assert(sizeof(struct book_level) == 32, "two levels per cache line");

/*
 * A level in a chunk: its key and its index in the pool side by side (12 bytes, keys
 * 4-byte aligned), so creating or removing a level shifts one run of entries and
 * touches the lines of that run, not those of a key array and of a level array.
 */
struct book_chunk_entry {
	int64_t key;
	uint32_t level;
} __attribute__((packed, aligned(4)));
_Static_assert(sizeof(struct book_chunk_entry) == 12, "packed entries");

#define BOOK_CHUNK_PAD INT64_MAX	/* the key of every entry past a chunk's count */

/*
 * A sorted run of a side's levels, keys ascending; the count is in the first line.
 * The entries from count to the last, one more than a chunk holds, are padding whose
 * key no key is below, so finding a key's rank is five compares whatever the count.
 */
struct book_chunk {
	uint32_t count;		/* 1..BOOK_CHUNK_LEVELS while on a side; free: next free chunk in entry[0].level */
	struct book_chunk_entry entry[BOOK_CHUNK_LEVELS + 1];
	uint32_t spare[2];
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct book_chunk) == 384, "six cache lines");

/* One probe of the level hash: (instrument, side, key) -> level index. */
struct book_level_slot {
	int64_t key;
	uint32_t owner;		/* instrument * 2 + side + 1; 0: empty */
	uint32_t level;
};

/*
 * A side's chunk: its lowest key beside its index in the chunk pool (12 bytes), so
 * the line a search over the bounds ends in also says which chunk it found.
 */
struct book_side_entry {
	int64_t low;
	uint32_t chunk;
} __attribute__((packed, aligned(4)));
_Static_assert(sizeof(struct book_side_entry) == 12, "packed entries");

/*
 * The ordered levels of a side: its chunks, best (highest keys) last. The chunk list
 * lives in the book's side_chunks (book_side_chunks), so that an instrument, both
 * sides and its name, is one cache line.
 */
struct book_levels {
	uint32_t count;		/* levels on the side */
	uint32_t chunks;	/* chunks on the side */
	uint32_t best;		/* level index of the best level, BOOK_NONE: side empty */
	uint32_t base;		/* its chunks_max entries in side_chunks start here */
};

struct book_instrument {
	struct book_levels sides[BOOK_SIDES];
	uint32_t key;			/* venue's instrument key (ITCH stock locate) */
	uint8_t price_decimals;
	uint8_t symbol_source;		/* enum book_symbol_source */
	uint8_t symbol_len;
	char symbol[BOOK_SYMBOL_MAX];
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct book_instrument) == 64, "an instrument is one cache line");

#define BOOK_CHANGES_MAX 4	/* level changes one operation can make (replace: 2) */

/* A level as it is after an operation: what a price-level view needs to follow. */
struct book_change {
	int64_t price;
	uint64_t shares;	/* total at the level now */
	uint32_t orders;	/* orders at the level now; 0: the level is gone */
	uint16_t instrument;	/* index in the instrument table */
	uint8_t side;		/* enum book_side */
	uint8_t best;		/* the level is, or was until now, the best of its side */
};

/* The best level of each side of an instrument (price INT64_MIN, shares 0: side empty). */
struct book_top {
	int64_t price[BOOK_SIDES];
	uint64_t shares[BOOK_SIDES];
	int32_t instrument;	/* index in the instrument table */
};

/* The order an operation touched, as it was before (an add: as it entered). */
struct book_order_info {
	int64_t price;
	uint32_t shares;	/* resting before the operation */
	uint32_t remaining;	/* resting after (0: it left the book) */
	uint16_t instrument;
	uint8_t side;
};

/*
 * What one operation did, for whoever follows the book (a publisher): the order it
 * touched and every level it changed, each as it is after the operation, and the
 * instrument's top before the operation, so a follower can tell whether the top
 * moved. The top is read only when a change has `best` set: a change to any other
 * level leaves the top as it was, so it is the same top whenever it is read before
 * the first best change. Each book_order_* / book_level_set call given one starts it
 * afresh.
 */
struct book_result {
	struct book_order_info order;	/* a replace: the new order, or the old if the new was refused */
	struct book_top top_before;	/* instrument: valid when changes_count > 0; prices and
					 * shares: when top_taken */
	bool top_taken;			/* a change has best set, and top_before was read before it */
	uint32_t changes_count;
	struct book_change changes[BOOK_CHANGES_MAX];
};

struct book {
	uint16_t *slot_by_key;		/* instrument index + 1, 0 = none; BOOK_INSTRUMENT_KEYS entries */
	struct book_instrument *instruments;
	uint32_t instruments_count;
	uint32_t instruments_max;
	uint32_t levels_max;		/* per side per instrument */
	uint32_t chunks_max;		/* per side: 4 * levels_max / BOOK_CHUNK_LEVELS + 2 */
	struct book_level *levels;	/* the pool */
	uint32_t levels_capacity;	/* levels in all books together, + 1: entry 0 is never used */
	uint32_t levels_used;		/* entries [1, levels_used) handed out since the reset */
	uint32_t levels_free;		/* free list head, BOOK_NONE: empty */
	uint32_t levels_live;
	struct book_chunk *chunks;	/* the chunk pool */
	uint32_t chunks_capacity;
	uint32_t chunks_used;
	uint32_t chunks_free;
	struct book_level_slot *hash;	/* 2^k slots, at least twice levels_capacity */
	uint64_t hash_mask;
	uint32_t hash_shift;		/* 64 - k */
	struct book_side_entry *side_chunks;	/* every side's chunk list, chunks_max entries a side */
	struct order_table orders;
	struct book_stats stats;
};

/* A side's chunks, ascending keys: room for chunks_max, levels->chunks used. */
static inline struct book_side_entry *book_side_chunks(const struct book *book,
							const struct book_levels *levels)
{
	return &book->side_chunks[levels->base];
}

/*
 * Allocates and prefaults a book: instruments_max instruments (at most 65535: one
 * per key but one, as slot_by_key holds index + 1 in 16 bits), orders_max live
 * orders, levels_max price levels per side. The level pool holds
 * min(instruments_max * 2 * levels_max, orders_max + 2 * instruments_max) levels in
 * all: an order-by-order book has no level without an order. Returns NULL on bad
 * capacities or no memory.
 */
struct book *book_create(uint32_t instruments_max, uint32_t orders_max, uint32_t levels_max);
void book_destroy(struct book *book);

/*
 * Empties the book for a new session: no instruments, orders or levels; statistics
 * are kept. Costs the instruments and order slots used, not the capacity.
 */
void book_reset(struct book *book);

/* The index of the instrument with this key, or -1 if none was created. */
static inline int32_t book_instrument_find(const struct book *book, uint32_t key)
{
	if (key >= BOOK_INSTRUMENT_KEYS)
		return -1;
	return (int32_t)book->slot_by_key[key] - 1;
}

/* A price as a side stores it: bids as they are, asks negated, so best is highest. */
static inline int64_t book_side_key(enum book_side side, int64_t price)
{
	return side == BOOK_SIDE_BID ? price : -price;
}

/* Position on the side of the chunk that holds key or would: the last whose lowest key is <= key. */
static inline uint32_t book_side_chunk_seek(const struct book *book, const struct book_levels *levels,
					    int64_t key)
{
	const struct book_side_entry *list = book_side_chunks(book, levels), *base = list;
	uint32_t n = levels->chunks;

	assert(n > 0);
	while (n > 1) {
		uint32_t half = n / 2;

		base = base[half].low <= key ? base + half : base;
		n -= half;
	}
	return (uint32_t)(base - list);
}

/* The hash's owner code of an instrument's side: never 0, which marks an empty slot. */
static inline uint32_t book_level_owner(int32_t instrument, int side)
{
	return (uint32_t)instrument * BOOK_SIDES + (uint32_t)side + 1;
}

/* The home slot of a level in the hash: a multiplicative hash, its high bits. */
static inline uint64_t book_level_home(const struct book *book, uint32_t owner, int64_t key)
{
	uint64_t x = (uint64_t)key * 0x9e3779b97f4a7c15ull + (uint64_t)owner * 0xc2b2ae3d27d4eb4full;

	/* The top k bits of x: below 2^k, the slot count, with no mask (hash_shift is 64 - k). */
	return x >> book->hash_shift;
}

/*
 * Prefetching, for a decoder that looks a few messages ahead. Applying a message
 * costs mostly cache misses: the order's slot, then its level, then, when a level
 * comes or goes, its side's chunk. The first stage needs only the message; each later
 * one reads what the one before brought in. All are hints: a stale or wrong guess
 * costs a wasted load, never a wrong book, and every read is bounded by a count or a
 * mask.
 */

/* Stage 1 of anything naming an order: its slot in the order table. */
static inline __attribute__((always_inline)) void book_prefetch_order(const struct book *book, uint64_t ref)
{
	__builtin_prefetch(&book->orders.slots[ref & book->orders.mask], 1);
}

/*
 * The live order at its home slot, or NULL: what a later stage reads of what stage 1
 * brought in. An order further down its probe chain goes unhelped.
 */
static inline const struct order *book_prefetch_home_order(const struct book *book, uint64_t ref)
{
	const struct order *order = &book->orders.slots[ref & book->orders.mask];

	if (order->ref != ref || !order_used(order) || order->level >= book->levels_used)
		return NULL;
	return order;
}

/*
 * The home slot in the level hash of (venue instrument key, side, price), or NULL
 * when the book has no such instrument; *instrument is its index.
 */
static inline const struct book_level_slot *book_prefetch_home_slot(const struct book *book,
								    uint32_t instrument_key, int side,
								    int64_t price, int32_t *instrument)
{
	*instrument = book_instrument_find(book, instrument_key);
	if (*instrument < 0)
		return NULL;
	return &book->hash[book_level_home(book, book_level_owner(*instrument, side),
					   book_side_key((enum book_side)side, price))];
}

/* Stage 1 of an add: the hash slot of the level it will join (instrument by venue key). */
static inline __attribute__((always_inline)) void book_prefetch_level_slot(const struct book *book,
									uint32_t instrument_key,
									int side, int64_t price)
{
	int32_t instrument;
	const struct book_level_slot *slot = book_prefetch_home_slot(book, instrument_key, side, price,
								     &instrument);

	if (slot != NULL)
		__builtin_prefetch(slot);
}

/* Stage 2 of an execute, cancel, delete or replace: the level of the order, if it is live. */
static inline __attribute__((always_inline)) void book_prefetch_order_level(const struct book *book, uint64_t ref)
{
	const struct order *order = book_prefetch_home_order(book, ref);

	if (order != NULL)
		__builtin_prefetch(&book->levels[order->level], 1);
}

/* The side's chunk bounds and chunk list: what creating or removing a level searches first. */
static inline __attribute__((always_inline)) void book_prefetch_side(const struct book *book,
								 int32_t instrument, int side)
{
	const struct book_levels *levels = &book->instruments[instrument].sides[side];
	const uint8_t *list = (const uint8_t *)book_side_chunks(book, levels);
	uint32_t bytes = levels->chunks * (uint32_t)sizeof(struct book_side_entry);

	/* The list's lines (five entries and some to a line), up to the four a seek reads first. */
	__builtin_prefetch(list);
	if (bytes > 64)
		__builtin_prefetch(list + 64);
	if (bytes > 128)
		__builtin_prefetch(list + 128);
	if (bytes > 192)
		__builtin_prefetch(list + 192);
}

/*
 * Stage 2 of an add: the level it will join if the level exists and sits at its home
 * slot; if the home slot is empty (a new level), the side it will be inserted in.
 */
static inline __attribute__((always_inline)) void book_prefetch_level(const struct book *book,
								  uint32_t instrument_key, int side,
								  int64_t price)
{
	int32_t instrument;
	const struct book_level_slot *slot = book_prefetch_home_slot(book, instrument_key, side, price,
								     &instrument);

	if (slot == NULL)
		return;
	if (slot->owner == book_level_owner(instrument, side) &&
	    slot->key == book_side_key((enum book_side)side, price) && slot->level < book->levels_used)
		__builtin_prefetch(&book->levels[slot->level], 1);
	else if (slot->owner == 0)
		book_prefetch_side(book, instrument, side);
}

static inline __attribute__((always_inline)) void book_prefetch_chunk(const struct book *book,
								  uint32_t chunk)
{
	const uint8_t *at = (const uint8_t *)&book->chunks[chunk];

	/* Written out: as a loop, the compiler kept the counter and the compare (2.5% of a deep run). */
	_Static_assert(sizeof(struct book_chunk) == 6 * 64, "one prefetch per line");
	__builtin_prefetch(at, 1);
	__builtin_prefetch(at + 64, 1);
	__builtin_prefetch(at + 128, 1);
	__builtin_prefetch(at + 192, 1);
	__builtin_prefetch(at + 256, 1);
	__builtin_prefetch(at + 320, 1);
}

/*
 * Stage 3 of an execute, cancel or delete: when the order is the last of its level,
 * the chunk, side and hash slot the level will leave.
 */
static inline __attribute__((always_inline)) void book_prefetch_order_chunk(const struct book *book,
									uint64_t ref)
{
	const struct order *order = book_prefetch_home_order(book, ref);
	const struct book_level *l;

	if (order == NULL)
		return;
	l = &book->levels[order->level];
	if (l->orders != 1 || l->chunk >= book->chunks_used || l->instrument >= book->instruments_count ||
	    l->side >= BOOK_SIDES)
		return;
	book_prefetch_chunk(book, l->chunk);
	book_prefetch_side(book, l->instrument, l->side);
	__builtin_prefetch(&book->hash[book_level_home(book, book_level_owner(l->instrument, l->side),
						       l->key)], 1);
}

/*
 * Stage 3 of a replace: the hash slot of the level its new order joins, on the old
 * order's instrument and side (its level, which stage 2 brought in, says which).
 */
static inline __attribute__((always_inline)) void book_prefetch_replace_slot(const struct book *book,
									 uint64_t old_ref, int64_t price)
{
	const struct order *order = book_prefetch_home_order(book, old_ref);
	const struct book_level *l;

	if (order == NULL)
		return;
	l = &book->levels[order->level];
	if (l->instrument >= book->instruments_count || l->side >= BOOK_SIDES)
		return;
	__builtin_prefetch(&book->hash[book_level_home(book, book_level_owner(l->instrument, l->side),
						       book_side_key((enum book_side)l->side, price))]);
}

/*
 * Stage 3 of an add that will create its level (its home slot is empty): the chunk
 * of the side it goes in, found in the side's bounds that stage 2 brought in.
 */
static inline __attribute__((always_inline)) void book_prefetch_new_level_chunk(const struct book *book,
									    uint32_t instrument_key,
									    int side, int64_t price)
{
	const struct book_levels *levels;
	int32_t instrument;
	const struct book_level_slot *slot = book_prefetch_home_slot(book, instrument_key, side, price,
								     &instrument);
	uint32_t j, chunk;

	if (slot == NULL || slot->owner != 0)
		return;
	levels = &book->instruments[instrument].sides[side];
	if (levels->chunks == 0 || levels->chunks > book->chunks_max)
		return;
	j = book_side_chunk_seek(book, levels, book_side_key((enum book_side)side, price));
	chunk = book_side_chunks(book, levels)[j].chunk;
	if (chunk < book->chunks_used)
		book_prefetch_chunk(book, chunk);
}

/* As find, creating the instrument; -1 (counted in instruments_full) when full. */
int32_t book_instrument_get(struct book *book, uint32_t key, uint8_t price_decimals);

/*
 * Sets the symbol (trailing spaces dropped) unless the instrument already has one
 * from a source at least as authoritative. True if the symbol changed.
 */
bool book_instrument_symbol_set(struct book *book, int32_t instrument, const char *symbol,
				uint32_t len, enum book_symbol_source source);

/*
 * The operations. Each fills *result (NULL: nobody follows the book, nothing is
 * recorded) with what it did; a refused operation leaves the book unchanged and
 * records no change.
 */

/*
 * Adds a live order. 0, or -EEXIST (duplicate_order), -ENOSPC (orders_full or
 * levels_full).
 */
int book_order_add(struct book *book, int32_t instrument, uint64_t ref, enum book_side side,
		   int64_t price, uint32_t shares, struct book_result *result);

/*
 * Takes shares off a live order (execution or cancel); the order leaves the book when
 * nothing is left. 0, or -ENOENT (unknown_order).
 */
int book_order_reduce(struct book *book, uint64_t ref, uint32_t shares, struct book_result *result);

/* Removes a live order. 0, or -ENOENT (unknown_order). */
int book_order_delete(struct book *book, uint64_t ref, struct book_result *result);

/*
 * Replaces old_ref by new_ref with the same instrument and side and a new price and
 * shares. -ENOENT when old_ref is not live (nothing changes); otherwise the old order
 * leaves the book and the result is that of adding the new one (a refused new order
 * leaves result->order as the old one).
 */
int book_order_replace(struct book *book, uint64_t old_ref, uint64_t new_ref, int64_t price,
		       uint32_t shares, struct book_result *result);

/*
 * Price-level venues: sets a level's totals; orders == 0 removes it.
 * 0, or -ENOSPC (levels_full).
 */
int book_level_set(struct book *book, int32_t instrument, enum book_side side, int64_t price,
		   uint64_t shares, uint32_t orders, struct book_result *result);

/* A price level as a reader sees it. */
struct book_level_info {
	int64_t price;
	uint64_t shares;
	uint32_t orders;
};

/* Levels on a side of an instrument. */
uint32_t book_side_count(const struct book *book, int32_t instrument, enum book_side side);

/*
 * The best `max` levels (or all, if fewer) of a side, best first, into out. Returns
 * how many were written. Costs the levels written, not the side's depth.
 */
uint32_t book_side_levels(const struct book *book, int32_t instrument, enum book_side side,
			  struct book_level_info *out, uint32_t max);

/*
 * A walk over a side's levels, best first, one level a step, for a reader that has no
 * room for them all (publisher_book_recovered); nothing may change the book meanwhile.
 */
struct book_level_walk {
	int32_t instrument;
	uint8_t side;
	uint32_t chunk;		/* chunks of the side not yet entered */
	uint32_t index;		/* levels of the current chunk not yet given */
};

void book_side_walk_start(const struct book *book, int32_t instrument, enum book_side side,
			  struct book_level_walk *walk);

/* The next level of the walk into *out: true, or false when the side is done. O(1). */
bool book_side_walk_next(const struct book *book, struct book_level_walk *walk,
			 struct book_level_info *out);

/* A live order as a reader sees it. */
struct book_order_entry {
	uint64_t ref;
	int64_t price;
	uint32_t shares;	/* resting */
	uint16_t instrument;	/* index in the instrument table */
	uint8_t side;		/* enum book_side */
};

/*
 * The first live order at or after slot *cursor of the order table into *out, and
 * *cursor past it: true, or false when there is none. From *cursor = 0, a walk gives
 * every live order once (nothing may change the book meanwhile), in table order, and
 * costs the table's span of slots used since the last reset (at most twice the order
 * capacity), not instruments x orders.
 */
bool book_order_next(const struct book *book, uint64_t *cursor, struct book_order_entry *out);

/* The best level of each side of an instrument, as it is now. */
void book_top_get(const struct book *book, int32_t instrument, struct book_top *top);

#define BOOK_PRICE_TEXT_MAX 48	/* a formatted price, with sign, point and NUL */

/* Formats a price with exactly `decimals` digits after the point (ITCH 4: 1234500 -> 123.4500). */
void book_price_format(char *out, size_t size, int64_t price, uint8_t decimals);

/*
 * Writes the canonical book dump (docs/book-dump.md) of several feeds:
 * names[i] is the name of books[i]. Returns 0 or -errno from the stream.
 */
int book_dump_write(FILE *out, struct book *const *books, const char *const *names,
		    uint32_t count);

/* Checks every invariant of a book (level totals equal the orders); false if broken. */
bool book_check(const struct book *book);

#endif
