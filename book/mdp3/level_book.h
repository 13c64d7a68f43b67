/*
 * level_book: one instrument's price-level book of fixed depth, the shape of CME MDP
 * 3.0's multiple-depth book (docs/cme-mdp3.md §7.2) and of its implied book (§7.3):
 * per side an array of `depth` slots addressed by MDPriceLevel (1 = best), whose
 * storage (`capacity` slots a side) is a slice of a pool allocated at start. The
 * operations move at most `depth` slots and allocate nothing.
 *
 * MDP3's level semantics live here and nowhere else:
 * - New inserts at the level and shifts the slots at and below it down one; what is
 *   pushed past the depth is dropped (CME sends no delete for it).
 * - Change (and Overlay) overwrites the level, price too; on an empty slot it
 *   creates the level.
 * - Delete removes the level and shifts the slots below it up one.
 * - DeleteThru empties the side, whatever the level.
 * - DeleteFrom N removes the top N levels and shifts the rest up: N = 0 removes
 *   nothing, N >= depth empties the side (§7.2's handler consensus, not "from level N
 *   down").
 *
 * A slot may be empty below a filled one: MDPriceLevel addresses slots directly, and
 * a New or Change at a level past the last filled one fills that slot and leaves the
 * ones above it empty (the reference model tests/ref_mdp3.md, item 8, does the same).
 * What never happens: a level past the depth, a null price as a level, or two filled
 * slots out of price order (bids strictly descending, offers strictly ascending). An
 * update that would break the order is refused (-EDOM) and changes nothing, so a
 * hostile or corrupt feed leaves the book incomplete but never inconsistent.
 */
#ifndef FH_BOOK_MDP3_LEVEL_BOOK_H
#define FH_BOOK_MDP3_LEVEL_BOOK_H

#include <stdbool.h>
#include <stdint.h>

#include "book/book.h"

#define LEVEL_BOOK_DEPTH_MAX 127	/* MarketDepth is an Int8 on the wire */

/* A slot: a price level, or empty (used 0). */
struct level_book_level {
	int64_t price;		/* PRICE9 mantissa */
	uint64_t shares;	/* MDEntrySize (null: 0) */
	uint32_t orders;	/* NumberOfOrders (null: 0) */
	uint32_t used;		/* 1: a level; 0: an empty slot */
};

struct level_book {
	struct level_book_level *levels;	/* capacity slots of the bid side, then of the offer side */
	uint8_t capacity;	/* slots a side in the pool, 1..LEVEL_BOOK_DEPTH_MAX */
	uint8_t depth;		/* slots in use a side, 1..capacity: MarketDepth */
	uint8_t count[BOOK_SIDES];	/* filled slots of each side */
};

/* The slots of a side: depth of them in use. */
static inline struct level_book_level *level_book_side(const struct level_book *book, enum book_side side)
{
	return &book->levels[(uint32_t)side * book->capacity];
}

/* Binds a book to its slice of the pool (2 * capacity zeroed slots), empty, of the given depth. */
void level_book_init(struct level_book *book, struct level_book_level *levels, uint8_t capacity,
		     uint8_t depth);

/* Empties both sides; the depth stays. */
void level_book_clear(struct level_book *book);

/*
 * Sets the depth (1..capacity): a shallower book drops the levels past it, a deeper
 * one gains empty slots.
 */
void level_book_depth_set(struct level_book *book, uint8_t depth);

/*
 * The updates, `level` 1-based. 0; -ERANGE when level is 0 or past the depth; -EDOM
 * when the price would not keep the side in strict price order. Refused: nothing
 * changes. The caller refuses null prices before (a null price is never a level).
 */
int level_book_new(struct level_book *book, enum book_side side, uint32_t level, int64_t price,
		   uint64_t shares, uint32_t orders);
int level_book_change(struct level_book *book, enum book_side side, uint32_t level, int64_t price,
		      uint64_t shares, uint32_t orders);
int level_book_delete(struct level_book *book, enum book_side side, uint32_t level);
void level_book_delete_thru(struct level_book *book, enum book_side side);
void level_book_delete_from(struct level_book *book, enum book_side side, uint32_t top);

/*
 * The structural check: depth within the capacity, no level past the depth, no
 * unused slot holding data, filled slots in strict price order with prices that are
 * not the null or INT64_MIN, and the counts equal to the filled slots. False if broken.
 */
bool level_book_check(const struct level_book *book);

#endif
