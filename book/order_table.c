/*
 * order_table: live orders keyed by order reference, in one preallocated array.
 * See order_table.h for the layout and why the home slot is the reference itself.
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

struct order *order_table_claim(struct order_table *table, uint64_t ref, bool *existed)
{
	uint64_t i = ref & table->mask, probes;

	assert(table->count <= table->count_max);
	*existed = false;
	/* Bounded as in order_table_find: an empty slot comes within the table. */
	for (probes = 0; probes <= table->mask; probes++) {
		struct order *slot = &table->slots[i];

		if (!order_used(slot))
			break;
		if (slot->ref == ref) {
			*existed = true;
			return NULL;
		}
		i = (i + 1) & table->mask;
	}
	assert(probes <= table->mask);
	if (table->count >= table->count_max)
		return NULL;
	table->count++;
	if (i < table->touched_lo)
		table->touched_lo = i;
	if (i > table->touched_hi)
		table->touched_hi = i;
	table->slots[i].ref = ref;
	table->slots[i].level = ORDER_CLAIMED;
	return &table->slots[i];
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
	uint64_t hole = (uint64_t)(slot - table->slots);
	uint64_t i = hole;

	/* A slot of this table: a pointer from elsewhere gives an index outside it. */
	assert(hole <= table->mask);
	assert(order_used(slot) && table->count > 0);
	table->count--;
	/*
	 * Backward-shift deletion: walk the rest of the probe chain and move back every
	 * entry whose home slot does not lie cyclically in (hole, i], so no lookup ever
	 * meets an empty slot before its key. Bounded as in order_table_find.
	 */
	for (uint64_t probes = 0; probes <= table->mask; probes++) {
		struct order *next;
		uint64_t home;

		i = (i + 1) & table->mask;
		next = &table->slots[i];
		if (!order_used(next))
			break;
		home = next->ref & table->mask;
		if (((i - home) & table->mask) >= ((i - hole) & table->mask)) {
			table->slots[hole] = *next;
			hole = i;
		}
	}
	assert(!order_used(&table->slots[i]));	/* the chain ended */
	table->slots[hole].level = ORDER_FREE;
}
