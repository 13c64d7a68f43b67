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
 * RptSeq, gaps and recovery are the feed's: this layer applies what it is given.
 */
#ifndef FH_BOOK_MDP3_MDP3_BOOK_H
#define FH_BOOK_MDP3_MDP3_BOOK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "book/mdp3/level_book.h"
#include "book/mdp3/order_book.h"
#include "book/mdp3/security_map.h"
#include "decoders/cme_mdp3/mdp3_sbe.h"

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
	uint64_t other_type;		/* entries of types the books do not hold (ignored) */
	uint64_t book_resets;		/* 'J' entries */
	uint64_t depth_cut;		/* definitions deeper than the capacity */
	uint64_t instruments_full;	/* SecurityIDs refused (map full or probe bound) */
	uint64_t orders_added;
	uint64_t orders_replaced;	/* New of a live OrderID, Update */
	uint64_t orders_removed;
	uint64_t unknown_order;		/* Update (then added) or Delete of an order not live */
	uint64_t orders_full;		/* orders refused: capacity or probe bound */
	uint64_t bad_reference;		/* 46 order entries whose ReferenceID names no bid/offer entry */
	uint64_t null_order_id;		/* 47 entries without an OrderID */
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
 * A definition (54/55/56): the symbol and the depths (a MarketDepth under 1 leaves a
 * depth as it is; one past the capacity is cut, counted). 'D' forgets the symbol,
 * empties the books and goes back to the default depths. 0 or -ENOSPC (instrument refused).
 */
int mdp3_book_definition_apply(struct mdp3_book *book, const struct mdp3_definition *definition);

/*
 * A NoMDEntries entry of 46 or 64 of this instrument: '0'/'1' to the MBP book, 'E'/'F'
 * to the implied one by MDUpdateAction (level_book.h), 'J' empties all three books;
 * other types are counted and ignored. 0 (applied or ignored), -EINVAL (refused and
 * counted: bad level, null price, out of order, bad action).
 */
int mdp3_book_entry_apply(struct mdp3_book *book, int32_t instrument, const struct mdp3_md_entry *entry);

/*
 * An order update: a 47 entry (reference NULL: the order gives its price and type), or
 * a NoOrderIDEntries entry of 46/64 with the NoMDEntries entry its ReferenceID names
 * (reference: its side and price). New adds (or replaces a live one), Update replaces
 * (adds an unknown one, counted), Delete removes (unknown: counted). 0; -EINVAL
 * (refused: null price, bad type or action, unknown delete); -ENOSPC (orders full:
 * the instrument's MBO book is incomplete).
 */
int mdp3_book_order_apply(struct mdp3_book *book, int32_t instrument, const struct mdp3_order *order,
			  const struct mdp3_md_entry *reference);

/*
 * The resolution of a 46 order entry's ReferenceID against its message: the 1-based
 * NoMDEntries entry, read into *reference. False (bad_reference counted) when null, out
 * of range, unreadable or not a bid/offer entry.
 */
bool mdp3_book_order_reference(struct mdp3_book *book, const struct mdp3_message *message,
			       const struct mdp3_order *order, struct mdp3_md_entry *reference,
			       struct mdp3_stats *stats);

/*
 * A snapshot (52) of an instrument: begin empties its MBP and implied books; each
 * entry '0'/'1'/'E'/'F' then sets the slot its MDPriceLevel names; other types are
 * ignored. 0 or -EINVAL (counted: null or bad level, null price, out of order).
 */
void mdp3_book_snapshot_begin(struct mdp3_book *book, int32_t instrument);
int mdp3_book_snapshot_entry(struct mdp3_book *book, int32_t instrument, const struct mdp3_md_entry *entry);

/*
 * An order snapshot (53) of an instrument: begin empties its MBO book (once, before
 * the first chunk); each entry adds an order. 0, -EINVAL, -ENOSPC as order_apply.
 */
void mdp3_book_order_snapshot_begin(struct mdp3_book *book, int32_t instrument);
int mdp3_book_order_snapshot_entry(struct mdp3_book *book, int32_t instrument, const struct mdp3_order *order);

/* Checks every invariant of every book, the map and the order pool; false if broken. */
bool mdp3_book_check(const struct mdp3_book *book);

/* Which price-level book a dump shows. */
enum mdp3_book_kind { MDP3_BOOK_MBP = 0, MDP3_BOOK_IMPLIED = 1 };

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
