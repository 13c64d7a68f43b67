/*
 * mdp3_book: the books of one CME MDP 3.0 feed (docs/cme-mdp3.md §7.2-7.4, 7.10, 7.11),
 * what the decoder applies decoded entries to. Per instrument, found by its 32-bit
 * SecurityID through security_map:
 * - the multiple-depth price-level book (MBP, MDEntryType '0'/'1'), MarketDepth deep
 *   (the definition's GBX depth, 10 without one), level_book;
 * - the implied book ('E'/'F'), apart, GBI deep (2 without one), level_book;
 * - the order-by-order book (MBOFD), order_book, shared pool;
 * - the symbol of its definition (54/55/56).
 * Everything is sized by mdp3_book_create from the config and allocated there; the
 * apply functions allocate nothing, take no lock and never block. A capacity reached
 * (instruments, orders) is refused with -ENOSPC and counted: the caller makes the
 * instrument's state visible (STALE), the book now missing what was refused. Bad input
 * (a level past the depth, a null price, an update out of price order, an unknown
 * order) is counted and changes nothing. Prices are PRICE9 mantissas; the decoder has
 * refused INT64_MIN before, and a null price (absent from `present`) is never a level.
 *
 * The API speaks the book's terms (a side, a level, an action); what a decoded entry
 * of the wire means for it (entry types, nulls, ReferenceID) is the decoder's, in
 * decoders/cme_mdp3/mdp3_apply.c, so book/ depends on nothing above it. RptSeq, gaps
 * and recovery are the feed's: this layer applies what it is given.
 */
#ifndef FH_BOOK_MDP3_MDP3_BOOK_H
#define FH_BOOK_MDP3_MDP3_BOOK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "book/mdp3/level_book.h"
#include "book/mdp3/order_book.h"
#include "book/mdp3/security_map.h"

#define MDP3_BOOK_DEPTH_DEFAULT 10		/* MBP depth without a definition (book-dump.md) */
#define MDP3_BOOK_IMPLIED_DEPTH_DEFAULT 2	/* implied depth without a definition (§7.3) */
#define MDP3_BOOK_SYMBOL_MAX 20			/* Symbol is char[20] in 54/55/56 */

/* The capacities, from the config; 0 in a depth: its default. */
struct mdp3_book_config {
	uint32_t instruments_max;	/* SecurityIDs of the feed */
	uint32_t orders_max;		/* live MBO orders of all instruments together */
	uint8_t depth_max;		/* MBP levels a side kept at most (a deeper MarketDepth is cut) */
	uint8_t implied_depth_max;	/* implied levels a side kept at most */
};

/* What the books refused or did, per feed. */
struct mdp3_book_stats {
	uint64_t entries_applied;	/* MBP and implied entries that changed a book */
	uint64_t bad_level;		/* MDPriceLevel 0 or past the depth (or null in a 52) */
	uint64_t out_of_order;		/* New/Change whose price would break the side's order */
	uint64_t null_price;		/* New/Change/order with a null price */
	uint64_t bad_action;		/* MDUpdateAction outside 0..5 (orders: 0..2) */
	uint64_t other_type;		/* entries of types the books do not hold (ignored; counted by the decoder) */
	uint64_t book_resets;		/* 'J' entries */
	uint64_t depth_cut;		/* definitions deeper than the capacity */
	uint64_t instruments_full;	/* SecurityIDs refused (map full or probe bound) */
	uint64_t orders_added;
	uint64_t orders_replaced;	/* New of a live OrderID, Update */
	uint64_t orders_removed;
	uint64_t unknown_order;		/* Update (then added) or Delete of an order not live */
	uint64_t orders_full;		/* orders refused: capacity or probe bound */
	uint64_t bad_reference;		/* 46 order entries whose ReferenceID names no bid/offer entry (the decoder's) */
	uint64_t null_order_id;		/* 47 entries without an OrderID (the decoder's) */
};

struct mdp3_instrument {
	struct level_book mbp;
	struct level_book implied;
	int32_t security_id;
	uint8_t defined;		/* a definition gave the symbol and depths */
	uint8_t symbol_len;		/* trailing NULs and spaces removed */
	char symbol[MDP3_BOOK_SYMBOL_MAX];
};

struct mdp3_book {
	struct security_map map;
	struct mdp3_instrument *instruments;
	uint32_t instruments_count;
	uint32_t instruments_max;
	uint8_t depth_max;
	uint8_t implied_depth_max;
	struct level_book_level *levels;	/* every instrument's MBP and implied slots */
	size_t levels_bytes;
	struct order_book orders;
	struct mdp3_book_stats stats;
};

/* Allocates and prefaults the books; NULL on bad capacities (depths above 127) or no memory. */
struct mdp3_book *mdp3_book_create(const struct mdp3_book_config *config);
void mdp3_book_destroy(struct mdp3_book *book);

/*
 * A channel reset (template 4, §7.10): every instrument's MBP, implied and MBO books
 * emptied; instruments, definitions (symbol, depth) and statistics are kept.
 */
void mdp3_book_clear(struct mdp3_book *book);

/* The index of the instrument with this SecurityID, or -1. */
static inline int32_t mdp3_book_instrument_find(const struct mdp3_book *book, int32_t security_id)
{
	uint32_t index = security_map_find(&book->map, security_id);

	return index == SECURITY_MAP_NONE ? -1 : (int32_t)index;
}

/* As find, creating the instrument (empty books, default depths); -1 when refused (instruments_full). */
int32_t mdp3_book_instrument_get(struct mdp3_book *book, int32_t security_id);

/*
 * A definition (54/55/56): the symbol (trailing NULs and spaces dropped) and the depths
 * (a depth under 1 leaves that depth as it is; one past the capacity is cut, counted).
 * 0 or -ENOSPC (instrument refused).
 */
int mdp3_book_definition_set(struct mdp3_book *book, int32_t security_id, const char *symbol, uint32_t len,
			     int8_t depth, int8_t implied_depth);

/* A definition deleted ('D'): the symbol forgotten, the books emptied, the default depths. 0 or -ENOSPC. */
int mdp3_book_definition_delete(struct mdp3_book *book, int32_t security_id);

/* MDUpdateAction's level semantics (cme-mdp3.md §7.2; the wire's values). */
enum mdp3_book_action {
	MDP3_BOOK_NEW = 0,
	MDP3_BOOK_CHANGE = 1,
	MDP3_BOOK_DELETE = 2,
	MDP3_BOOK_DELETE_THRU = 3,
	MDP3_BOOK_DELETE_FROM = 4,
	MDP3_BOOK_OVERLAY = 5,
};

/* Which price-level book of an instrument. */
enum mdp3_book_kind { MDP3_BOOK_MBP = 0, MDP3_BOOK_IMPLIED = 1 };

/* A level update: the action, the 1-based level (DeleteFrom: how many), the values. */
struct mdp3_book_update {
	int64_t price;
	uint64_t shares;	/* MDEntrySize (null: 0) */
	uint32_t orders;	/* NumberOfOrders (null: 0) */
	uint8_t level;
	uint8_t action;		/* enum mdp3_book_action */
	bool has_price;		/* false: the wire's null */
};

/*
 * Applies a level update to the instrument's MBP or implied book (level_book.h).
 * 0, or -EINVAL (refused and counted: bad level, null price on New/Change/Overlay,
 * out of order, action outside 0..5).
 */
int mdp3_book_level_apply(struct mdp3_book *book, int32_t instrument, enum mdp3_book_kind kind,
			  enum book_side side, const struct mdp3_book_update *update);

/*
 * A snapshot (52) of an instrument: begin empties its MBP and implied books; each
 * level then sets the slot it names (whatever the action). 0 or -EINVAL (counted: bad
 * level, null price, out of order).
 */
void mdp3_book_snapshot_begin(struct mdp3_book *book, int32_t instrument);
int mdp3_book_snapshot_level(struct mdp3_book *book, int32_t instrument, enum mdp3_book_kind kind,
			     enum book_side side, const struct mdp3_book_update *update);

/* Book reset ('J', §7.2): the instrument's MBP, implied and MBO books emptied. */
void mdp3_book_instrument_clear(struct mdp3_book *book, int32_t instrument);

/* OrderUpdateAction (46) and MDUpdateAction (47): the wire's values. */
enum mdp3_book_order_action {
	MDP3_BOOK_ORDER_NEW = 0,
	MDP3_BOOK_ORDER_UPDATE = 1,
	MDP3_BOOK_ORDER_DELETE = 2,
};

/*
 * An order update of the instrument's MBO book: New adds (or replaces a live one with
 * the same OrderID), Update replaces (adds an unknown one, counted), Delete removes
 * (unknown: counted). entry->priority ORDER_BOOK_PRIORITY_NULL: none given (an update
 * keeps the old). 0; -EINVAL (refused: null price on New/Update, unknown delete, bad
 * action); -ENOSPC (orders full: the instrument's MBO book is incomplete).
 */
int mdp3_book_order_apply(struct mdp3_book *book, int32_t instrument, enum mdp3_book_order_action action,
			  const struct order_book_entry *entry, bool has_price);

/* An order snapshot (53): begin empties the instrument's MBO book (once, before the first chunk). */
void mdp3_book_order_snapshot_begin(struct mdp3_book *book, int32_t instrument);

/* Checks every invariant of every book, the map and the order pool; false if broken. */
bool mdp3_book_check(const struct mdp3_book *book);

/*
 * The canonical dump (docs/book-dump.md, MDP3 section) of several feeds, names[i]
 * the name of books[i]: one line a level, `FEED SYMBOL SIDE PRICE SHARES ORDERS`,
 * symbol from the definition or #SecurityID, price with 9 decimals, by feed, symbol,
 * SecurityID, side (B first), price best first. MDP3_BOOK_IMPLIED writes the implied
 * book the same way. Control path (allocates). 0 or -errno.
 */
int mdp3_book_dump_write(FILE *out, struct mdp3_book *const *books, const char *const *names,
			 uint32_t count, enum mdp3_book_kind kind);

/*
 * The order books, one order a line, `FEED SYMBOL SIDE PRICE QTY PRIORITY ORDERID`
 * (priority `-` when null), by feed, symbol, SecurityID, side, price best first,
 * priority ascending (null last), OrderID. Control path (allocates). 0 or -errno.
 */
int mdp3_book_orders_dump_write(FILE *out, struct mdp3_book *const *books, const char *const *names,
				uint32_t count);

#endif
