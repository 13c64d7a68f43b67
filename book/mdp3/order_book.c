/*
 * order_book: the order-by-order books of a CME MDP 3.0 feed (see order_book.h): a pool
 * of orders, a bounded open-addressing table keyed by (instrument, OrderID), and a list
 * of orders per instrument.
 */
#include "book/mdp3/order_book.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>

#include "book/book.h"
#include "book/util/memory.h"

static size_t order_book_slot_bytes(const struct order_book *book)
{
	return (size_t)(book->mask + 1) * sizeof(*book->slots);
}

int order_book_init(struct order_book *book, uint32_t orders_max, uint32_t instruments_max)
{
	uint32_t bits = 1;

	*book = (struct order_book){ 0 };
	if (orders_max == 0 || orders_max > ORDER_BOOK_ORDERS_MAX || instruments_max == 0 ||
	    instruments_max >= ORDER_BOOK_NONE)
		return -EINVAL;
	while ((1ull << bits) < 2ull * orders_max)
		bits++;
	book->mask = (1ull << bits) - 1;
	book->shift = 64 - bits;
	book->orders_max = orders_max;
	book->instruments_max = instruments_max;
	book->orders = memory_alloc((size_t)orders_max * sizeof(*book->orders));
	book->slots = memory_alloc(order_book_slot_bytes(book));
	book->heads = memory_alloc((size_t)instruments_max * sizeof(*book->heads));
	book->counts = memory_alloc((size_t)instruments_max * sizeof(*book->counts));
	if (book->orders == NULL || book->slots == NULL || book->heads == NULL || book->counts == NULL) {
		order_book_fini(book);
		return -ENOMEM;
	}
	for (uint64_t i = 0; i <= book->mask; i++)
		book->slots[i] = ORDER_BOOK_NONE;
	for (uint32_t i = 0; i < instruments_max; i++)
		book->heads[i] = ORDER_BOOK_NONE;
	book->free = ORDER_BOOK_NONE;
	for (uint32_t i = 0; i < orders_max; i++)
		book->orders[i].instrument = ORDER_BOOK_NONE;
	return 0;
}

void order_book_fini(struct order_book *book)
{
	if (book->orders != NULL)
		memory_free(book->orders, (size_t)book->orders_max * sizeof(*book->orders));
	if (book->slots != NULL)
		memory_free(book->slots, order_book_slot_bytes(book));
	if (book->heads != NULL)
		memory_free(book->heads, (size_t)book->instruments_max * sizeof(*book->heads));
	if (book->counts != NULL)
		memory_free(book->counts, (size_t)book->instruments_max * sizeof(*book->counts));
	*book = (struct order_book){ 0 };
}

/* Distance of slot i from the home of the order in it. */
static uint64_t order_book_distance(const struct order_book *book, uint64_t i)
{
	const struct order_book_order *o = &book->orders[book->slots[i]];

	return (i - order_book_home(book, o->instrument, o->order_id)) & book->mask;
}

/*
 * The slot holding the key, or, with *found false, the first empty slot of its probe
 * (ORDER_BOOK_NONE as a slot: none within the bound).
 */
static uint64_t order_book_probe(const struct order_book *book, uint32_t instrument, uint64_t order_id,
				 bool *found)
{
	uint64_t i = order_book_home(book, instrument, order_id);

	*found = false;
	for (uint32_t probe = 0; probe < ORDER_BOOK_PROBE_MAX; probe++) {
		uint32_t index = book->slots[i];

		if (index == ORDER_BOOK_NONE)
			return i;
		if (book->orders[index].order_id == order_id && book->orders[index].instrument == instrument) {
			*found = true;
			return i;
		}
		i = (i + 1) & book->mask;
	}
	return ORDER_BOOK_NONE;
}

uint32_t order_book_find(const struct order_book *book, uint32_t instrument, uint64_t order_id)
{
	bool found;
	uint64_t i = order_book_probe(book, instrument, order_id, &found);

	return found ? book->slots[i] : ORDER_BOOK_NONE;
}

static void order_book_unlink(struct order_book *book, uint32_t index)
{
	struct order_book_order *o = &book->orders[index];

	if (o->prev != ORDER_BOOK_NONE)
		book->orders[o->prev].next = o->next;
	else
		book->heads[o->instrument] = o->next;
	if (o->next != ORDER_BOOK_NONE)
		book->orders[o->next].prev = o->prev;
	book->counts[o->instrument]--;
}

/* Empties slot i and shifts back the orders after it that the hole displaced. */
static void order_book_slot_remove(struct order_book *book, uint64_t hole)
{
	uint64_t j = hole;

	book->slots[hole] = ORDER_BOOK_NONE;
	/* An order further than the bound from the hole cannot have its home at or before it. */
	for (uint32_t step = 1; step < ORDER_BOOK_PROBE_MAX; step++) {
		j = (j + 1) & book->mask;
		if (book->slots[j] == ORDER_BOOK_NONE)
			return;
		if (order_book_distance(book, j) >= ((j - hole) & book->mask)) {
			book->slots[hole] = book->slots[j];
			book->slots[j] = ORDER_BOOK_NONE;
			hole = j;
			step = 0;
		}
	}
}

void order_book_instrument_clear(struct order_book *book, uint32_t instrument)
{
	assert(instrument < book->instruments_max);
	/* Bounded by the orders held: each step frees one. */
	for (uint32_t n = book->counts[instrument]; n > 0; n--) {
		uint32_t index = book->heads[instrument];
		int removed = order_book_remove(book, instrument, book->orders[index].order_id);

		assert(removed == 0);
		(void)removed;
	}
	assert(book->heads[instrument] == ORDER_BOOK_NONE);
}

void order_book_clear(struct order_book *book)
{
	/* Each live order leaves by its key (the table stays valid throughout): costs the orders used, not the capacity. */
	for (uint32_t i = 0; i < book->used; i++) {
		struct order_book_order *o = &book->orders[i];

		if (o->instrument != ORDER_BOOK_NONE) {
			int removed = order_book_remove(book, o->instrument, o->order_id);

			assert(removed == 0);
			(void)removed;
		}
		*o = (struct order_book_order){ .instrument = ORDER_BOOK_NONE };
	}
	assert(book->count == 0);
	book->used = 0;
	book->free = ORDER_BOOK_NONE;
}

int order_book_put(struct order_book *book, uint32_t instrument, const struct order_book_entry *entry)
{
	bool found;
	uint64_t i;
	uint32_t index;
	struct order_book_order *o;

	assert(instrument < book->instruments_max && entry->side < BOOK_SIDES);
	i = order_book_probe(book, instrument, entry->order_id, &found);
	if (found) {
		o = &book->orders[book->slots[i]];
		o->side = entry->side;
		o->price = entry->price;
		o->quantity = entry->quantity;
		if (entry->priority != ORDER_BOOK_PRIORITY_NULL)
			o->priority = entry->priority;
		return 1;
	}
	if (i == ORDER_BOOK_NONE || book->count >= book->orders_max)
		return -ENOSPC;
	if (book->free != ORDER_BOOK_NONE) {
		index = book->free;
		book->free = book->orders[index].next;
	} else {
		assert(book->used < book->orders_max);
		index = book->used++;
	}
	o = &book->orders[index];
	*o = (struct order_book_order){
		.order_id = entry->order_id, .priority = entry->priority, .price = entry->price,
		.quantity = entry->quantity, .instrument = instrument, .side = entry->side,
		.prev = ORDER_BOOK_NONE, .next = book->heads[instrument],
	};
	if (o->next != ORDER_BOOK_NONE)
		book->orders[o->next].prev = index;
	book->heads[instrument] = index;
	book->counts[instrument]++;
	book->slots[i] = index;
	book->count++;
	return 0;
}

int order_book_remove(struct order_book *book, uint32_t instrument, uint64_t order_id)
{
	bool found;
	uint64_t i = order_book_probe(book, instrument, order_id, &found);
	uint32_t index;

	if (!found)
		return -ENOENT;
	index = book->slots[i];
	order_book_slot_remove(book, i);
	order_book_unlink(book, index);
	book->orders[index] = (struct order_book_order){ .instrument = ORDER_BOOK_NONE, .next = book->free };
	book->free = index;
	book->count--;
	return 0;
}

bool order_book_check(const struct order_book *book, uint32_t instruments_count)
{
	uint32_t live = 0, listed = 0, slotted = 0;

	for (uint32_t i = 0; i < book->used; i++) {
		const struct order_book_order *o = &book->orders[i];

		if (o->instrument == ORDER_BOOK_NONE)
			continue;
		live++;
		if (o->instrument >= instruments_count || o->side >= BOOK_SIDES || o->price == INT64_MAX ||
		    o->price == INT64_MIN || order_book_find(book, o->instrument, o->order_id) != i)
			return false;
	}
	for (uint64_t s = 0; s <= book->mask; s++) {
		if (book->slots[s] == ORDER_BOOK_NONE)
			continue;
		slotted++;
		if (book->slots[s] >= book->used || book->orders[book->slots[s]].instrument == ORDER_BOOK_NONE ||
		    order_book_distance(book, s) >= ORDER_BOOK_PROBE_MAX)
			return false;
	}
	for (uint32_t n = 0; n < instruments_count; n++) {
		uint32_t previous = ORDER_BOOK_NONE, count = 0;

		/* A list longer than its count is broken (or loops): stop there. */
		for (uint32_t index = book->heads[n]; index != ORDER_BOOK_NONE; index = book->orders[index].next) {
			if (index >= book->used || count >= book->counts[n] || book->orders[index].instrument != n ||
			    book->orders[index].prev != previous)
				return false;
			previous = index;
			count++;
		}
		if (count != book->counts[n])
			return false;
		listed += count;
	}
	return live == book->count && slotted == live && listed == live && live <= book->orders_max;
}
