/*
 * book: instruments, live orders and price levels of one feed (see book.h).
 */
#include "book/book.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "book/util/memory.h"

static int64_t book_level_price(const struct book_levels *levels, enum book_side side, uint32_t i);

static size_t book_level_bytes(const struct book *book)
{
	return (size_t)book->instruments_max * BOOK_SIDES * book->levels_max;
}

struct book *book_create(uint32_t instruments_max, uint32_t orders_max, uint32_t levels_max)
{
	struct book *book;
	size_t levels;

	if (instruments_max == 0 || instruments_max > BOOK_INSTRUMENTS_MAX || levels_max == 0 ||
	    levels_max > 65536)
		return NULL;
	book = memory_alloc(sizeof(*book));
	if (book == NULL)
		return NULL;
	book->instruments_max = instruments_max;
	book->levels_max = levels_max;
	levels = book_level_bytes(book);
	book->slot_by_key = memory_alloc(BOOK_INSTRUMENT_KEYS * sizeof(uint16_t));
	book->instruments = memory_alloc(instruments_max * sizeof(struct book_instrument));
	book->level_keys = memory_alloc(levels * sizeof(int64_t));
	book->level_shares = memory_alloc(levels * sizeof(uint64_t));
	book->level_orders = memory_alloc(levels * sizeof(uint32_t));
	if (book->slot_by_key == NULL || book->instruments == NULL || book->level_keys == NULL ||
	    book->level_shares == NULL || book->level_orders == NULL ||
	    order_table_init(&book->orders, orders_max) != 0) {
		book_destroy(book);
		return NULL;
	}
	return book;
}

void book_destroy(struct book *book)
{
	size_t levels;

	if (book == NULL)
		return;
	levels = book_level_bytes(book);
	order_table_fini(&book->orders);
	memory_free(book->level_orders, levels * sizeof(uint32_t));
	memory_free(book->level_shares, levels * sizeof(uint64_t));
	memory_free(book->level_keys, levels * sizeof(int64_t));
	memory_free(book->instruments, book->instruments_max * sizeof(struct book_instrument));
	memory_free(book->slot_by_key, BOOK_INSTRUMENT_KEYS * sizeof(uint16_t));
	memory_free(book, sizeof(*book));
}

void book_reset(struct book *book)
{
	for (uint32_t i = 0; i < book->instruments_count; i++) {
		book->slot_by_key[book->instruments[i].key] = 0;
		memset(&book->instruments[i], 0, sizeof(book->instruments[i]));
	}
	book->instruments_count = 0;
	order_table_clear(&book->orders);
}

int32_t book_instrument_get(struct book *book, uint32_t key, uint8_t price_decimals)
{
	struct book_instrument *instrument;
	int32_t index = book_instrument_find(book, key);
	size_t base;

	if (index >= 0)
		return index;
	if (key >= BOOK_INSTRUMENT_KEYS || book->instruments_count >= book->instruments_max) {
		book->stats.instruments_full++;
		return -1;
	}
	index = (int32_t)book->instruments_count++;
	instrument = &book->instruments[index];
	instrument->key = key;
	instrument->price_decimals = price_decimals;
	for (int side = 0; side < BOOK_SIDES; side++) {
		base = ((size_t)index * BOOK_SIDES + side) * book->levels_max;
		instrument->sides[side].key = &book->level_keys[base];
		instrument->sides[side].shares = &book->level_shares[base];
		instrument->sides[side].orders = &book->level_orders[base];
		instrument->sides[side].count = 0;
	}
	book->slot_by_key[key] = (uint16_t)(index + 1);
	return index;
}

bool book_instrument_symbol_set(struct book *book, int32_t index, const char *symbol,
				uint32_t len, enum book_symbol_source source)
{
	struct book_instrument *instrument = &book->instruments[index];
	bool changed;

	assert(index >= 0 && (uint32_t)index < book->instruments_count);
	if (source < BOOK_SYMBOL_FROM_DIRECTORY && instrument->symbol_source >= source)
		return false;
	while (len > 0 && symbol[len - 1] == ' ')
		len--;
	if (len > BOOK_SYMBOL_MAX)
		len = BOOK_SYMBOL_MAX;
	changed = instrument->symbol_len != len || memcmp(instrument->symbol, symbol, len) != 0 ||
		  instrument->symbol_source == BOOK_SYMBOL_NONE;
	memcpy(instrument->symbol, symbol, len);
	instrument->symbol_len = (uint8_t)len;
	instrument->symbol_source = (uint8_t)source;
	return changed;
}

static inline int64_t book_side_key(enum book_side side, int64_t price)
{
	return side == BOOK_SIDE_BID ? price : -price;
}

/*
 * Index of the level with this key, or of the position where it would be inserted
 * (*found false). A branchless lower bound: the position of an order's level is
 * data-dependent, and a linear scan from the touch paid a mispredicted exit on most
 * executions and deletes, which land anywhere in the book.
 */
static inline uint32_t book_levels_seek(const struct book_levels *levels, int64_t key, bool *found)
{
	const int64_t *base = levels->key;
	uint32_t n = levels->count, i;

	if (n == 0) {
		*found = false;
		return 0;
	}
	while (n > 1) {
		uint32_t half = n / 2;

		base = base[half] < key ? base + half : base;
		n -= half;
	}
	i = (uint32_t)(base - levels->key) + (*base < key);
	*found = i < levels->count && levels->key[i] == key;
	return i;
}

void book_top_get(const struct book *book, int32_t instrument, struct book_top *top)
{
	const struct book_instrument *in = &book->instruments[instrument];

	for (int side = 0; side < BOOK_SIDES; side++) {
		const struct book_levels *levels = &in->sides[side];

		bool empty = levels->count == 0;

		top->price[side] = empty ? INT64_MIN : book_level_price(levels, (enum book_side)side, 0);
		top->shares[side] = empty ? 0 : levels->shares[levels->count - 1];
	}
	top->instrument = instrument;
}

/* A public operation starts its result afresh. */
static inline void book_result_begin(struct book_result *result)
{
	if (result != NULL)
		result->changes_count = 0;
}

/* Before a level change: the first of an operation notes the instrument's top as it was. */
static inline void book_change_begin(const struct book *book, struct book_result *result,
				     int32_t instrument)
{
	if (result != NULL && result->changes_count == 0)
		book_top_get(book, instrument, &result->top_before);
}

/* Notes a level as it is now (orders 0: gone) for whoever follows the book. */
static inline void book_change_record(struct book_result *result, int32_t instrument, int side,
				      int64_t key, uint64_t shares, uint32_t orders, bool best)
{
	struct book_change *change;

	if (result == NULL)
		return;
	/* An operation changes at most BOOK_CHANGES_MAX levels (a replace: 2). */
	assert(result->changes_count < BOOK_CHANGES_MAX);
	assert(result->changes_count == 0 || result->top_before.instrument == instrument);
	change = &result->changes[result->changes_count++];
	change->price = book_side_key((enum book_side)side, key);
	change->shares = shares;
	change->orders = orders;
	change->instrument = (uint16_t)instrument;
	change->side = (uint8_t)side;
	change->best = best;
}

static int book_levels_add(struct book *book, struct book_result *result, int32_t instrument,
			   int side, int64_t key, uint64_t shares, uint32_t orders)
{
	struct book_levels *levels = &book->instruments[instrument].sides[side];
	bool found;
	uint32_t i = book_levels_seek(levels, key, &found);
	uint32_t tail;

	book_change_begin(book, result, instrument);

	if (found) {
		levels->shares[i] += shares;
		levels->orders[i] += orders;
		book_change_record(result, instrument, side, key, levels->shares[i], levels->orders[i],
				   i == levels->count - 1);
		return 0;
	}
	if (levels->count >= book->levels_max) {
		book->stats.levels_full++;
		return -ENOSPC;
	}
	tail = levels->count - i;
	memmove(&levels->key[i + 1], &levels->key[i], tail * sizeof(levels->key[0]));
	memmove(&levels->shares[i + 1], &levels->shares[i], tail * sizeof(levels->shares[0]));
	memmove(&levels->orders[i + 1], &levels->orders[i], tail * sizeof(levels->orders[0]));
	levels->key[i] = key;
	levels->shares[i] = shares;
	levels->orders[i] = orders;
	levels->count++;
	assert(levels->count <= book->levels_max);
	book_change_record(result, instrument, side, key, shares, orders, i == levels->count - 1);
	return 0;
}

static void book_levels_remove_at(struct book_levels *levels, uint32_t i)
{
	uint32_t tail = levels->count - i - 1;

	memmove(&levels->key[i], &levels->key[i + 1], tail * sizeof(levels->key[0]));
	memmove(&levels->shares[i], &levels->shares[i + 1], tail * sizeof(levels->shares[0]));
	memmove(&levels->orders[i], &levels->orders[i + 1], tail * sizeof(levels->orders[0]));
	levels->count--;
}

/* Takes shares and orders off an existing level; the level goes when no order is left. */
static void book_levels_sub(struct book *book, struct book_result *result, int32_t instrument,
			    int side, int64_t key, uint64_t shares, uint32_t orders)
{
	struct book_levels *levels = &book->instruments[instrument].sides[side];
	bool found;
	uint32_t i = book_levels_seek(levels, key, &found);

	assert(found && levels->orders[i] >= orders && levels->shares[i] >= shares);
	book_change_begin(book, result, instrument);
	levels->shares[i] -= shares;
	levels->orders[i] -= orders;
	book_change_record(result, instrument, side, key, levels->shares[i], levels->orders[i],
			   i == levels->count - 1);
	if (levels->orders[i] == 0)
		book_levels_remove_at(levels, i);
}

/* Notes the order an operation touched, as it was, and what it has left. */
static inline void book_order_note(struct book_result *result, const struct order *order,
				   uint32_t remaining)
{
	if (result == NULL)
		return;
	result->order.price = order->price;
	result->order.shares = order->shares;
	result->order.remaining = remaining;
	result->order.instrument = order->instrument;
	result->order.side = order->side;
}

/* book_order_add within an operation (a replace's second half): the result goes on. */
static int book_order_insert(struct book *book, int32_t instrument, uint64_t ref,
			     enum book_side side, int64_t price, uint32_t shares,
			     struct book_result *result)
{
	struct order *order;
	bool existed;

	assert(instrument >= 0 && (uint32_t)instrument < book->instruments_count);
	assert(side == BOOK_SIDE_BID || side == BOOK_SIDE_ASK);
	order = order_table_claim(&book->orders, ref, &existed);
	if (order == NULL) {
		if (existed)
			book->stats.duplicate_order++;
		else
			book->stats.orders_full++;
		return existed ? -EEXIST : -ENOSPC;
	}
	if (book_levels_add(book, result, instrument, side, book_side_key(side, price), shares, 1) != 0) {
		order_table_remove(&book->orders, order);
		return -ENOSPC;
	}
	order->price = price;
	order->shares = shares;
	order->instrument = (uint16_t)instrument;
	order->side = (uint8_t)side;
	book_order_note(result, order, shares);
	book->stats.orders_added++;
	return 0;
}

int book_order_add(struct book *book, int32_t instrument, uint64_t ref, enum book_side side,
		   int64_t price, uint32_t shares, struct book_result *result)
{
	book_result_begin(result);
	return book_order_insert(book, instrument, ref, side, price, shares, result);
}

static void book_order_remove(struct book *book, struct book_result *result, struct order *order)
{
	book_levels_sub(book, result, order->instrument, order->side, book_side_key(order->side, order->price),
			order->shares, 1);
	order_table_remove(&book->orders, order);
	book->stats.orders_removed++;
}

int book_order_reduce(struct book *book, uint64_t ref, uint32_t shares, struct book_result *result)
{
	struct order *order = order_table_find(&book->orders, ref);

	book_result_begin(result);
	if (order == NULL) {
		book->stats.unknown_order++;
		return -ENOENT;
	}
	if (shares >= order->shares) {
		book_order_note(result, order, 0);
		book_order_remove(book, result, order);
		return 0;
	}
	book_order_note(result, order, order->shares - shares);
	book_levels_sub(book, result, order->instrument, order->side, book_side_key(order->side, order->price),
			shares, 0);
	order->shares -= shares;
	return 0;
}

int book_order_delete(struct book *book, uint64_t ref, struct book_result *result)
{
	struct order *order = order_table_find(&book->orders, ref);

	book_result_begin(result);
	if (order == NULL) {
		book->stats.unknown_order++;
		return -ENOENT;
	}
	book_order_note(result, order, 0);
	book_order_remove(book, result, order);
	return 0;
}

int book_order_replace(struct book *book, uint64_t old_ref, uint64_t new_ref, int64_t price,
		       uint32_t shares, struct book_result *result)
{
	struct order *order = order_table_find(&book->orders, old_ref);
	int32_t instrument;
	enum book_side side;

	book_result_begin(result);
	if (order == NULL) {
		book->stats.unknown_order++;
		return -ENOENT;
	}
	instrument = order->instrument;
	side = (enum book_side)order->side;
	book_order_note(result, order, 0);
	book_order_remove(book, result, order);
	return book_order_insert(book, instrument, new_ref, side, price, shares, result);
}

int book_level_set(struct book *book, int32_t instrument, enum book_side side, int64_t price,
		   uint64_t shares, uint32_t orders, struct book_result *result)
{
	struct book_levels *levels = &book->instruments[instrument].sides[side];
	int64_t key = book_side_key(side, price);
	bool found;
	uint32_t i = book_levels_seek(levels, key, &found);

	assert(instrument >= 0 && (uint32_t)instrument < book->instruments_count);
	book_result_begin(result);
	if (found) {
		book_change_begin(book, result, instrument);
		book_change_record(result, instrument, side, key, shares, orders, i == levels->count - 1);
		if (orders == 0)
			book_levels_remove_at(levels, i);
		else {
			levels->shares[i] = shares;
			levels->orders[i] = orders;
		}
		return 0;
	}
	if (orders == 0)
		return 0;
	return book_levels_add(book, result, instrument, side, key, shares, orders);
}

static int64_t book_level_price(const struct book_levels *levels, enum book_side side, uint32_t i)
{
	assert(i < levels->count);
	return book_side_key(side, levels->key[levels->count - 1 - i]);
}

uint32_t book_side_count(const struct book *book, int32_t instrument, enum book_side side)
{
	assert(instrument >= 0 && (uint32_t)instrument < book->instruments_count);
	return book->instruments[instrument].sides[side].count;
}

uint32_t book_side_levels(const struct book *book, int32_t instrument, enum book_side side,
			  struct book_level_info *out, uint32_t max)
{
	const struct book_levels *levels;
	uint32_t n;

	assert(instrument >= 0 && (uint32_t)instrument < book->instruments_count);
	levels = &book->instruments[instrument].sides[side];
	n = levels->count < max ? levels->count : max;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t at = levels->count - 1 - i;

		out[i].price = book_side_key(side, levels->key[at]);
		out[i].shares = levels->shares[at];
		out[i].orders = levels->orders[at];
	}
	return n;
}

/* --- canonical dump (control path: allocation allowed) --- */

struct book_dump_entry {
	const char *feed;
	const struct book_instrument *instrument;
	char symbol[BOOK_SYMBOL_MAX + 8];
};

static int book_dump_entry_compare(const void *a, const void *b)
{
	const struct book_dump_entry *x = a, *y = b;
	int c = strcmp(x->feed, y->feed);

	if (c != 0)
		return c;
	c = strcmp(x->symbol, y->symbol);
	if (c != 0)
		return c;
	return x->instrument->key < y->instrument->key ? -1 : x->instrument->key > y->instrument->key;
}

void book_price_format(char *out, size_t size, int64_t price, uint8_t decimals)
{
	uint64_t magnitude = price < 0 ? -(uint64_t)price : (uint64_t)price;
	char digits[48];
	size_t n = 0, o = 0;

	assert(size >= BOOK_PRICE_TEXT_MAX && decimals <= 18);
	/* Least significant digit first, at least decimals + 1 of them. */
	do {
		digits[n++] = (char)('0' + magnitude % 10);
		magnitude /= 10;
	} while (magnitude > 0 || n <= decimals);
	if (price < 0)
		out[o++] = '-';
	while (n > 0) {
		if (n == decimals)
			out[o++] = '.';
		out[o++] = digits[--n];
	}
	out[o] = '\0';
}

int book_dump_write(FILE *out, struct book *const *books, const char *const *names,
		    uint32_t count)
{
	struct book_dump_entry *entries;
	size_t total = 0, n = 0;
	char price[BOOK_PRICE_TEXT_MAX];

	for (uint32_t b = 0; b < count; b++)
		total += books[b]->instruments_count;
	entries = calloc(total ? total : 1, sizeof(*entries));
	if (entries == NULL)
		return -ENOMEM;
	for (uint32_t b = 0; b < count; b++) {
		for (uint32_t i = 0; i < books[b]->instruments_count; i++) {
			const struct book_instrument *instrument = &books[b]->instruments[i];
			struct book_dump_entry *entry = &entries[n++];

			entry->feed = names[b];
			entry->instrument = instrument;
			if (instrument->symbol_source == BOOK_SYMBOL_NONE)
				snprintf(entry->symbol, sizeof(entry->symbol), "#%u", instrument->key);
			else
				snprintf(entry->symbol, sizeof(entry->symbol), "%.*s",
					 (int)instrument->symbol_len, instrument->symbol);
		}
	}
	qsort(entries, n, sizeof(*entries), book_dump_entry_compare);
	for (size_t e = 0; e < n; e++) {
		const struct book_instrument *instrument = entries[e].instrument;

		for (int side = 0; side < BOOK_SIDES; side++) {
			const struct book_levels *levels = &instrument->sides[side];

			for (uint32_t i = 0; i < levels->count; i++) {
				uint32_t at = levels->count - 1 - i;

				if (levels->orders[at] == 0)
					continue;
				book_price_format(price, sizeof(price),
						  book_level_price(levels, (enum book_side)side, i),
						  instrument->price_decimals);
				fprintf(out, "%s %s %c %s %" PRIu64 " %" PRIu32 "\n", entries[e].feed,
					entries[e].symbol, side == BOOK_SIDE_BID ? 'B' : 'S', price,
					levels->shares[at], levels->orders[at]);
			}
		}
	}
	free(entries);
	return ferror(out) ? -EIO : 0;
}

bool book_check(const struct book *book)
{
	const struct order_table *table = &book->orders;
	uint64_t *shares = calloc(book_level_bytes(book) + 1, sizeof(uint64_t));
	uint32_t *orders = calloc(book_level_bytes(book) + 1, sizeof(uint32_t));
	uint32_t live = 0;
	bool ok = shares != NULL && orders != NULL;

	for (uint64_t s = 0; ok && s <= table->mask; s++) {
		const struct order *order = &table->slots[s];
		const struct book_levels *levels;
		bool found;
		uint32_t i;

		if (!order->used)
			continue;
		live++;
		if (order_table_find((struct order_table *)table, order->ref) != order ||
		    order->instrument >= book->instruments_count) {
			ok = false;
			break;
		}
		levels = &book->instruments[order->instrument].sides[order->side];
		i = book_levels_seek(levels, book_side_key(order->side, order->price), &found);
		if (!found) {
			ok = false;
			break;
		}
		shares[&levels->key[i] - book->level_keys] += order->shares;
		orders[&levels->key[i] - book->level_keys]++;
	}
	ok = ok && live == table->count;
	for (uint32_t n = 0; ok && n < book->instruments_count; n++) {
		for (int side = 0; ok && side < BOOK_SIDES; side++) {
			const struct book_levels *levels = &book->instruments[n].sides[side];

			for (uint32_t i = 0; ok && i < levels->count; i++) {
				size_t at = (size_t)(&levels->key[i] - book->level_keys);

				ok = levels->orders[i] > 0 && levels->orders[i] == orders[at] &&
				     levels->shares[i] == shares[at] &&
				     (i == 0 || levels->key[i - 1] < levels->key[i]);
			}
		}
	}
	free(shares);
	free(orders);
	return ok;
}
