/*
 * level_book: the fixed-depth price-level book of CME MDP 3.0 (see level_book.h), one
 * instrument's MBP or implied book.
 */
#include "book/mdp3/level_book.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

void level_book_init(struct level_book *book, struct level_book_level *levels, uint8_t capacity,
		     uint8_t depth)
{
	assert(capacity >= 1 && capacity <= LEVEL_BOOK_DEPTH_MAX && depth >= 1 && depth <= capacity);
	book->levels = levels;
	book->capacity = capacity;
	book->depth = depth;
	level_book_clear(book);
}

void level_book_clear(struct level_book *book)
{
	memset(book->levels, 0, 2u * book->capacity * sizeof(*book->levels));
	book->count[BOOK_SIDE_BID] = 0;
	book->count[BOOK_SIDE_ASK] = 0;
}

void level_book_depth_set(struct level_book *book, uint8_t depth)
{
	assert(depth >= 1 && depth <= book->capacity);
	for (int side = 0; side < BOOK_SIDES; side++) {
		struct level_book_level *slots = level_book_side(book, (enum book_side)side);

		for (uint32_t i = depth; i < book->depth; i++) {
			book->count[side] -= (uint8_t)slots[i].used;
			slots[i] = (struct level_book_level){ 0 };
		}
	}
	book->depth = depth;
	assert(level_book_check(book));
}

/* a is strictly better than b on the side: higher for bids, lower for offers. */
static bool level_book_better(enum book_side side, int64_t a, int64_t b)
{
	return side == BOOK_SIDE_BID ? a > b : a < b;
}

/*
 * Whether price fits between the nearest filled slot above `above_end` (exclusive)
 * and the nearest filled slot in [below_start, below_end): strictly worse than the one,
 * strictly better than the other.
 */
static bool level_book_fits(const struct level_book_level *slots, enum book_side side, uint32_t above_end,
			    uint32_t below_start, uint32_t below_end, int64_t price)
{
	for (uint32_t i = above_end; i-- > 0;) {
		if (slots[i].used) {
			if (!level_book_better(side, slots[i].price, price))
				return false;
			break;
		}
	}
	for (uint32_t i = below_start; i < below_end; i++) {
		if (slots[i].used)
			return level_book_better(side, price, slots[i].price);
	}
	return true;
}

int level_book_new(struct level_book *book, enum book_side side, uint32_t level, int64_t price,
		   uint64_t shares, uint32_t orders)
{
	struct level_book_level *slots = level_book_side(book, side);
	uint32_t at = level - 1, depth = book->depth;

	if (level == 0 || level > depth)
		return -ERANGE;
	/* After the shift, the slot at `at` has below it what was at at..depth-2. */
	if (!level_book_fits(slots, side, at, at, depth - 1, price))
		return -EDOM;
	book->count[side] -= (uint8_t)slots[depth - 1].used;
	memmove(&slots[at + 1], &slots[at], (depth - 1 - at) * sizeof(*slots));
	slots[at] = (struct level_book_level){ .price = price, .shares = shares, .orders = orders, .used = 1 };
	book->count[side]++;
	return 0;
}

int level_book_change(struct level_book *book, enum book_side side, uint32_t level, int64_t price,
		      uint64_t shares, uint32_t orders)
{
	struct level_book_level *slots = level_book_side(book, side);
	uint32_t at = level - 1;

	if (level == 0 || level > book->depth)
		return -ERANGE;
	if (!level_book_fits(slots, side, at, at + 1, book->depth, price))
		return -EDOM;
	book->count[side] += (uint8_t)!slots[at].used;
	slots[at] = (struct level_book_level){ .price = price, .shares = shares, .orders = orders, .used = 1 };
	return 0;
}

int level_book_delete(struct level_book *book, enum book_side side, uint32_t level)
{
	struct level_book_level *slots = level_book_side(book, side);
	uint32_t at = level - 1, depth = book->depth;

	if (level == 0 || level > depth)
		return -ERANGE;
	/* The slot goes, filled or not: the ones below it move up (holes too). */
	book->count[side] -= (uint8_t)slots[at].used;
	memmove(&slots[at], &slots[at + 1], (depth - 1 - at) * sizeof(*slots));
	slots[depth - 1] = (struct level_book_level){ 0 };
	return 0;
}

void level_book_delete_thru(struct level_book *book, enum book_side side)
{
	memset(level_book_side(book, side), 0, book->depth * sizeof(struct level_book_level));
	book->count[side] = 0;
}

void level_book_delete_from(struct level_book *book, enum book_side side, uint32_t top)
{
	struct level_book_level *slots = level_book_side(book, side);
	uint32_t depth = book->depth;

	if (top >= depth) {
		level_book_delete_thru(book, side);
		return;
	}
	for (uint32_t i = 0; i < top; i++)
		book->count[side] -= (uint8_t)slots[i].used;
	memmove(&slots[0], &slots[top], (depth - top) * sizeof(*slots));
	memset(&slots[depth - top], 0, top * sizeof(*slots));
}

bool level_book_check(const struct level_book *book)
{
	if (book->capacity < 1 || book->capacity > LEVEL_BOOK_DEPTH_MAX || book->depth < 1 ||
	    book->depth > book->capacity)
		return false;
	for (int side = 0; side < BOOK_SIDES; side++) {
		const struct level_book_level *slots = level_book_side(book, (enum book_side)side);
		const struct level_book_level *last = NULL;
		uint32_t filled = 0;

		for (uint32_t i = 0; i < book->capacity; i++) {
			const struct level_book_level *l = &slots[i];

			if (!l->used) {
				/* An empty slot holds nothing, so a stale value can never resurface. */
				if (l->price != 0 || l->shares != 0 || l->orders != 0)
					return false;
				continue;
			}
			if (l->used != 1 || i >= book->depth || l->price == INT64_MAX || l->price == INT64_MIN ||
			    (last != NULL && !level_book_better((enum book_side)side, last->price, l->price)))
				return false;
			last = l;
			filled++;
		}
		if (filled != book->count[side])
			return false;
	}
	return true;
}
