/*
 * order_table: live orders keyed by order reference, in one preallocated array.
 * See order_table.h for the layout, why the home slot is the reference itself and why
 * the table is kept in Robin Hood order.
 */
#include "book/order_table.h"

#include <assert.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "book/util/memory.h"

int order_table_init(struct order_table *table, uint32_t count_max)
{
	uint64_t slots = 1;

	if (count_max == 0 || count_max > (1u << 28))
		return -EINVAL;
	/* At most half full: linear probe chains stay a few slots long. */
	while (slots < 2ull * count_max)
		slots <<= 1;
	table->slots = memory_alloc(slots * sizeof(struct order));
	if (table->slots == NULL)
		return -ENOMEM;
	table->mask = slots - 1;
	table->count = 0;
	table->count_max = count_max;
	table->touched_lo = slots;
	table->touched_hi = 0;
	/* A power of two, at least twice count_max: probe chains always end at an empty slot. */
	assert((slots & table->mask) == 0 && slots >= 2ull * count_max);
	return 0;
}

void order_table_fini(struct order_table *table)
{
	if (table->slots != NULL)
		memory_free(table->slots, (table->mask + 1) * sizeof(struct order));
	memset(table, 0, sizeof(*table));
}

/* Slots [lo, hi] (cyclically) may now be used: widen the span order_table_clear empties. */
static void order_table_touch(struct order_table *table, uint64_t lo, uint64_t hi)
{
	if (hi < lo) {	/* wrapped past the end of the table */
		table->touched_lo = 0;
		table->touched_hi = table->mask;
		return;
	}
	if (lo < table->touched_lo)
		table->touched_lo = lo;
	if (hi > table->touched_hi)
		table->touched_hi = hi;
}

struct order *order_table_claim(struct order_table *table, uint64_t ref, bool *existed)
{
	const uint64_t mask = table->mask;
	uint64_t at = ref & mask, end, probes;

	assert(table->count <= table->count_max);
	*existed = order_table_find(table, ref) != NULL;
	if (*existed || table->count >= table->count_max)
		return NULL;
	/* Its place: the first empty slot, or the first order nearer its home than it. */
	for (probes = 0; probes <= mask; probes++) {
		const struct order *slot = &table->slots[at];

		if (!order_used(slot) || order_table_distance(table, at, slot) < probes)
			break;
		at = (at + 1) & mask;
	}
	/* The orders from there to the next empty slot move on by one, in order. */
	end = at;
	for (probes = 0; probes <= mask && order_used(&table->slots[end]); probes++)
		end = (end + 1) & mask;
	assert(!order_used(&table->slots[end]));	/* at most half the slots are used */
	order_table_touch(table, at, end);
	for (uint64_t i = end; i != at; i = (i - 1) & mask)
		table->slots[i] = table->slots[(i - 1) & mask];
	table->count++;
	table->slots[at].ref = ref;
	table->slots[at].level = ORDER_CLAIMED;
	table->slots[at].shares = 0;
	return &table->slots[at];
}

void order_table_clear(struct order_table *table)
{
	/* The span cleared lies in the table. */
	assert(table->touched_lo > table->touched_hi || table->touched_hi <= table->mask);
	if (table->touched_lo <= table->touched_hi)
		memset(&table->slots[table->touched_lo], 0,
		       (table->touched_hi - table->touched_lo + 1) * sizeof(struct order));
	table->count = 0;
	table->touched_lo = table->mask + 1;
	table->touched_hi = 0;
}

void order_table_remove(struct order_table *table, struct order *slot)
{
	const uint64_t mask = table->mask;
	uint64_t hole = (uint64_t)(slot - table->slots);

	/* A slot of this table: a pointer from elsewhere gives an index outside it. */
	assert(hole <= mask);
	assert(order_used(slot) && table->count > 0);
	table->count--;
	/*
	 * Backward shift, Robin Hood style: the displaced orders after the hole each move
	 * back one slot, up to the first order at its home or an empty slot. Bounded as
	 * in order_table_find.
	 */
	for (uint64_t probes = 0; probes <= mask; probes++) {
		uint64_t i = (hole + 1) & mask;
		struct order *next = &table->slots[i];

		if (!order_used(next) || order_table_distance(table, i, next) == 0)
			break;
		table->slots[hole] = *next;
		hole = i;
	}
	table->slots[hole].level = ORDER_FREE;
}
