/*
 * order_table: the live orders of one feed, keyed by the exchange's order reference.
 * An open-addressing table with linear probing, sized at creation to twice the
 * configured live-order capacity and never resized. Exchanges hand out order
 * references in increasing order, so the home slot is the reference itself masked to
 * the table size: consecutive orders land in consecutive slots, and the working set
 * of a busy session stays in a few cache lines instead of being scattered by a hash.
 *
 * Consecutive references make one long run of occupied slots, each order at its home.
 * Plain linear probing would walk such a run to its end for every lookup of an
 * unknown reference and every deletion. The table is therefore kept in Robin Hood
 * order: an insert takes the place of the first order nearer its home than the new
 * one would be (shifting the rest of the run on by one). A lookup stops at the
 * first order nearer its home than the probe has come (the reference cannot lie
 * beyond it), and a deletion shifts back only the displaced orders after the hole,
 * stopping at the first order at its home or an empty slot. No tombstones: lookups
 * stay short however long the session runs.
 */
#ifndef FH_BOOK_ORDER_TABLE_H
#define FH_BOOK_ORDER_TABLE_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ORDER_FREE 0		/* order.level of an empty slot */
#define ORDER_CLAIMED UINT32_MAX	/* order.level between claim and the caller's fill */

/*
 * A live order: 16 bytes, four to a cache line, none across two. Its price, side and
 * instrument are its level's; the level index doubles as the used mark, so the
 * book's level pool never hands out index ORDER_FREE.
 */
struct order {
	uint64_t ref;		/* exchange order reference */
	uint32_t level;		/* its price level in the book's pool; ORDER_FREE: slot empty */
	uint32_t shares;	/* displayed quantity still resting */
};
_Static_assert(sizeof(struct order) == 16, "order slot layout");

static inline bool order_used(const struct order *order)
{
	return order->level != ORDER_FREE;
}

struct order_table {
	struct order *slots;
	uint64_t mask;		/* slots - 1; slots is a power of two */
	uint32_t count;		/* live orders */
	uint32_t count_max;	/* live orders accepted; the rest is probing headroom */
	uint64_t touched_lo;	/* slots [touched_lo, touched_hi] may be used; lo > hi: none */
	uint64_t touched_hi;
};

/* Allocates and prefaults room for count_max live orders. 0 or -ENOMEM/-EINVAL. */
int order_table_init(struct order_table *table, uint32_t count_max);
void order_table_fini(struct order_table *table);

/* How far slot i lies past the home slot of the order in it. */
static inline uint64_t order_table_distance(const struct order_table *table, uint64_t i,
					    const struct order *slot)
{
	return (i - (slot->ref & table->mask)) & table->mask;
}

/*
 * The live order with this reference, or NULL. The probe ends at an empty slot or at
 * an order nearer its home than the probe has come; at most half the slots are used:
 * a walk of the whole table means a broken count.
 */
static inline struct order *order_table_find(struct order_table *table, uint64_t ref)
{
	const uint64_t mask = table->mask;
	struct order *const slots = table->slots;
	uint64_t i = ref & mask;

	for (uint64_t probes = 0; probes <= mask; probes++) {
		struct order *slot = &slots[i];

		if (!order_used(slot) || order_table_distance(table, i, slot) < probes)
			return NULL;
		if (slot->ref == ref)
			return slot;
		i = (i + 1) & mask;
	}
	assert(!"order_table_find: no empty slot in the table");
	return NULL;
}

/*
 * Claims the slot for a new order with this reference and marks it used (level
 * ORDER_CLAIMED: the caller fills the level and shares). Returns NULL when the reference is already live
 * (*existed = true) or when count_max orders are live (*existed = false).
 */
struct order *order_table_claim(struct order_table *table, uint64_t ref, bool *existed);

/* Empties the table; costs the span of slots used since the last clear. */
void order_table_clear(struct order_table *table);

/* Removes a live order; slot must come from find or claim and is invalid afterwards. */
void order_table_remove(struct order_table *table, struct order *slot);

#endif
