/*
 * order_book: a feed's CME MDP 3.0 order-by-order books (MBOFD, docs/cme-mdp3.md
 * §7.4), all instruments in one pool of orders allocated at start. An order is keyed
 * by (instrument, OrderID) and carries its side, price, display quantity and
 * MDOrderPriority; each instrument links its orders in a list, so that a book reset
 * or a snapshot (53) empties one instrument in the time of its own orders.
 *
 * The key -> order index is an open-addressing table of 2^k slots, at least twice the
 * order capacity (load <= 0.5), linear probing bounded by ORDER_BOOK_PROBE_MAX, and
 * deletion by shifting back the displaced orders after the hole (no tombstones), so
 * every key stays within the bound of its home. A new order past the capacity, or one
 * whose probe would pass the bound, is refused with -ENOSPC and counted: the caller
 * makes the instrument's state visible (STALE), as the book is now incomplete.
 *
 * The order of a side's queue (price best first, then MDOrderPriority ascending, lower
 * is earlier) is not kept on the data path: nobody on it reads the queue. A reader
 * that wants it (the dump) sorts.
 */
#ifndef FH_BOOK_MDP3_ORDER_BOOK_H
#define FH_BOOK_MDP3_ORDER_BOOK_H

#include <stdbool.h>
#include <stdint.h>

#define ORDER_BOOK_NONE UINT32_MAX	/* no order: an empty slot, the end of a list */
#define ORDER_BOOK_PROBE_MAX 64		/* slots a probe visits at most */
#define ORDER_BOOK_ORDERS_MAX (1u << 26)	/* orders a feed's pool can hold */
#define ORDER_BOOK_PRIORITY_NULL UINT64_MAX	/* MDOrderPriority null: queued last */

/* An order in the pool; a free one links the free list through next. */
struct order_book_order {
	uint64_t order_id;
	uint64_t priority;	/* MDOrderPriority; ORDER_BOOK_PRIORITY_NULL: none given */
	int64_t price;		/* PRICE9 mantissa */
	uint64_t quantity;	/* MDDisplayQty */
	uint32_t instrument;	/* index of its instrument; ORDER_BOOK_NONE: free */
	uint32_t next;		/* the instrument's list (or the free list) */
	uint32_t prev;
	uint8_t side;		/* enum book_side */
	uint8_t spare[3];
};

struct order_book {
	struct order_book_order *orders;	/* the pool, orders_max entries */
	uint32_t *slots;	/* order index, ORDER_BOOK_NONE: empty; mask + 1 entries */
	uint32_t *heads;	/* per instrument: its first order, ORDER_BOOK_NONE: none */
	uint32_t *counts;	/* per instrument: its live orders */
	uint64_t mask;
	uint32_t shift;		/* 64 - log2(slots) */
	uint32_t orders_max;
	uint32_t instruments_max;
	uint32_t count;		/* live orders */
	uint32_t free;		/* free list head */
	uint32_t used;		/* pool entries [0, used) handed out since the last clear */
};

/* An order as the updates give it. */
struct order_book_entry {
	uint64_t order_id;
	uint64_t priority;	/* ORDER_BOOK_PRIORITY_NULL: none given */
	int64_t price;
	uint64_t quantity;
	uint8_t side;		/* enum book_side */
};

/* Allocates and prefaults room for orders_max orders of instruments_max instruments. 0, -EINVAL, -ENOMEM. */
int order_book_init(struct order_book *book, uint32_t orders_max, uint32_t instruments_max);
void order_book_fini(struct order_book *book);

/* Empties every instrument's book. Costs the pool entries used since the last clear, not the capacity. */
void order_book_clear(struct order_book *book);

/* Empties one instrument's book, in the time of its orders. */
void order_book_instrument_clear(struct order_book *book, uint32_t instrument);

/* The home slot of a key: a multiplicative mix of both halves, its top bits. */
static inline uint64_t order_book_home(const struct order_book *book, uint32_t instrument, uint64_t order_id)
{
	uint64_t x = order_id * 0x9e3779b97f4a7c15ull + ((uint64_t)instrument + 1) * 0xc2b2ae3d27d4eb4full;

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	return x >> book->shift;
}

/* The order's pool index, or ORDER_BOOK_NONE. */
uint32_t order_book_find(const struct order_book *book, uint32_t instrument, uint64_t order_id);

/*
 * Adds an order, or replaces the live one with the same OrderID in the instrument
 * (its side, price, quantity and priority all taken from entry; a null priority keeps
 * the old one on a replace). 0 added, 1 replaced, -ENOSPC refused (capacity or probe
 * bound; nothing changes).
 */
int order_book_put(struct order_book *book, uint32_t instrument, const struct order_book_entry *entry);

/* Removes an order. 0, or -ENOENT when it is not live. */
int order_book_remove(struct order_book *book, uint32_t instrument, uint64_t order_id);

/*
 * Checks the pool, the table and the lists against each other: every live order found
 * from its key within the probe bound, in its instrument's list exactly once, the
 * counts right, no null price. False if broken.
 */
bool order_book_check(const struct order_book *book, uint32_t instruments_count);

#endif
