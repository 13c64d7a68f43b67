/*
 * mdp3_book: a CME MDP 3.0 feed's books (see mdp3_book.h): the instrument table behind
 * the SecurityID map, each instrument's MBP and implied level_books over one slot pool,
 * the shared order_book, and what turns decoded entries into their updates.
 */
#include "book/mdp3/mdp3_book.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "book/util/memory.h"

/* The slots of an instrument in the pool: MBP bid and offer, then implied bid and offer. */
static size_t mdp3_book_instrument_slots(const struct mdp3_book *book)
{
	return 2u * ((size_t)book->depth_max + book->implied_depth_max);
}

static uint8_t mdp3_book_depth_default(const struct mdp3_book *book)
{
	return book->depth_max < MDP3_BOOK_DEPTH_DEFAULT ? book->depth_max : MDP3_BOOK_DEPTH_DEFAULT;
}

static uint8_t mdp3_book_implied_depth_default(const struct mdp3_book *book)
{
	return book->implied_depth_max < MDP3_BOOK_IMPLIED_DEPTH_DEFAULT ? book->implied_depth_max
									 : MDP3_BOOK_IMPLIED_DEPTH_DEFAULT;
}

struct mdp3_book *mdp3_book_create(const struct mdp3_book_config *config)
{
	struct mdp3_book *book;
	uint8_t depth_max = config->depth_max ? config->depth_max : MDP3_BOOK_DEPTH_DEFAULT;
	uint8_t implied_max = config->implied_depth_max ? config->implied_depth_max : MDP3_BOOK_IMPLIED_DEPTH_DEFAULT;

	if (config->instruments_max == 0 || config->instruments_max > SECURITY_MAP_COUNT_MAX ||
	    depth_max > LEVEL_BOOK_DEPTH_MAX || implied_max > LEVEL_BOOK_DEPTH_MAX)
		return NULL;
	book = calloc(1, sizeof(*book));
	if (book == NULL)
		return NULL;
	book->instruments_max = config->instruments_max;
	book->depth_max = depth_max;
	book->implied_depth_max = implied_max;
	book->levels_bytes = (size_t)config->instruments_max * mdp3_book_instrument_slots(book) *
			     sizeof(struct level_book_level);
	book->instruments = memory_alloc((size_t)config->instruments_max * sizeof(*book->instruments));
	book->levels = memory_alloc(book->levels_bytes);
	if (book->instruments == NULL || book->levels == NULL ||
	    security_map_init(&book->map, config->instruments_max) != 0 ||
	    order_book_init(&book->orders, config->orders_max, config->instruments_max) != 0) {
		mdp3_book_destroy(book);
		return NULL;
	}
	return book;
}

void mdp3_book_destroy(struct mdp3_book *book)
{
	if (book == NULL)
		return;
	if (book->instruments != NULL)
		memory_free(book->instruments, (size_t)book->instruments_max * sizeof(*book->instruments));
	if (book->levels != NULL)
		memory_free(book->levels, book->levels_bytes);
	security_map_fini(&book->map);
	order_book_fini(&book->orders);
	free(book);
}

void mdp3_book_clear(struct mdp3_book *book)
{
	for (uint32_t i = 0; i < book->instruments_count; i++) {
		level_book_clear(&book->instruments[i].mbp);
		level_book_clear(&book->instruments[i].implied);
	}
	order_book_clear(&book->orders);
}

int32_t mdp3_book_instrument_get(struct mdp3_book *book, int32_t security_id)
{
	int32_t found = mdp3_book_instrument_find(book, security_id);
	struct mdp3_instrument *instrument;
	struct level_book_level *slots;
	uint32_t index = book->instruments_count;

	if (found >= 0)
		return found;
	if (index >= book->instruments_max || security_map_insert(&book->map, security_id, index) != 0) {
		book->stats.instruments_full++;
		return -1;
	}
	instrument = &book->instruments[index];
	slots = &book->levels[index * mdp3_book_instrument_slots(book)];
	*instrument = (struct mdp3_instrument){ .security_id = security_id };
	level_book_init(&instrument->mbp, slots, book->depth_max, mdp3_book_depth_default(book));
	level_book_init(&instrument->implied, slots + 2u * book->depth_max, book->implied_depth_max,
			mdp3_book_implied_depth_default(book));
	book->instruments_count++;
	return (int32_t)index;
}

/* A definition's depth against the capacity: a MarketDepth under 1 keeps `current`. */
static uint8_t mdp3_book_depth_of(struct mdp3_book *book, int8_t wire, uint8_t current, uint8_t capacity)
{
	if (wire < 1)
		return current;
	if ((uint8_t)wire > capacity) {
		book->stats.depth_cut++;
		return capacity;
	}
	return (uint8_t)wire;
}

int mdp3_book_definition_set(struct mdp3_book *book, int32_t security_id, const char *symbol, uint32_t len,
			     int8_t depth, int8_t implied_depth)
{
	int32_t index = mdp3_book_instrument_get(book, security_id);
	struct mdp3_instrument *instrument;

	if (index < 0)
		return -ENOSPC;
	instrument = &book->instruments[index];
	if (len > MDP3_BOOK_SYMBOL_MAX)
		len = MDP3_BOOK_SYMBOL_MAX;
	while (len > 0 && (symbol[len - 1] == '\0' || symbol[len - 1] == ' '))
		len--;
	memcpy(instrument->symbol, symbol, len);
	instrument->symbol_len = (uint8_t)len;
	instrument->defined = 1;
	level_book_depth_set(&instrument->mbp, mdp3_book_depth_of(book, depth, instrument->mbp.depth, book->depth_max));
	level_book_depth_set(&instrument->implied,
			     mdp3_book_depth_of(book, implied_depth, instrument->implied.depth, book->implied_depth_max));
	return 0;
}

int mdp3_book_definition_delete(struct mdp3_book *book, int32_t security_id)
{
	int32_t index = mdp3_book_instrument_get(book, security_id);
	struct mdp3_instrument *instrument;

	if (index < 0)
		return -ENOSPC;
	instrument = &book->instruments[index];
	instrument->defined = 0;
	instrument->symbol_len = 0;
	mdp3_book_instrument_clear(book, index);
	level_book_depth_set(&instrument->mbp, mdp3_book_depth_default(book));
	level_book_depth_set(&instrument->implied, mdp3_book_implied_depth_default(book));
	return 0;
}

void mdp3_book_instrument_clear(struct mdp3_book *book, int32_t instrument)
{
	assert(instrument >= 0 && (uint32_t)instrument < book->instruments_count);
	level_book_clear(&book->instruments[instrument].mbp);
	level_book_clear(&book->instruments[instrument].implied);
	order_book_instrument_clear(&book->orders, (uint32_t)instrument);
}

/* Counts a level_book refusal; -EINVAL for any. */
static int mdp3_book_refused(struct mdp3_book *book, int rc)
{
	if (rc == -ERANGE)
		book->stats.bad_level++;
	else if (rc == -EDOM)
		book->stats.out_of_order++;
	return -EINVAL;
}

static struct level_book *mdp3_book_levels(struct mdp3_book *book, int32_t instrument, enum mdp3_book_kind kind)
{
	assert(instrument >= 0 && (uint32_t)instrument < book->instruments_count);
	return kind == MDP3_BOOK_IMPLIED ? &book->instruments[instrument].implied : &book->instruments[instrument].mbp;
}

int mdp3_book_level_apply(struct mdp3_book *book, int32_t instrument, enum mdp3_book_kind kind,
			  enum book_side side, const struct mdp3_book_update *update)
{
	struct level_book *levels = mdp3_book_levels(book, instrument, kind);
	int rc = 0;

	switch (update->action) {
	case MDP3_BOOK_NEW:
	case MDP3_BOOK_CHANGE:
	case MDP3_BOOK_OVERLAY:
		if (!update->has_price) {
			book->stats.null_price++;
			return -EINVAL;
		}
		rc = update->action == MDP3_BOOK_NEW
			     ? level_book_new(levels, side, update->level, update->price, update->shares, update->orders)
			     : level_book_change(levels, side, update->level, update->price, update->shares,
						 update->orders);
		break;
	case MDP3_BOOK_DELETE:
		rc = level_book_delete(levels, side, update->level);
		break;
	case MDP3_BOOK_DELETE_THRU:
		level_book_delete_thru(levels, side);
		break;
	case MDP3_BOOK_DELETE_FROM:
		level_book_delete_from(levels, side, update->level);
		break;
	default:
		book->stats.bad_action++;
		return -EINVAL;
	}
	if (rc != 0)
		return mdp3_book_refused(book, rc);
	book->stats.entries_applied++;
	return 0;
}

void mdp3_book_snapshot_begin(struct mdp3_book *book, int32_t instrument)
{
	level_book_clear(mdp3_book_levels(book, instrument, MDP3_BOOK_MBP));
	level_book_clear(mdp3_book_levels(book, instrument, MDP3_BOOK_IMPLIED));
}

int mdp3_book_snapshot_level(struct mdp3_book *book, int32_t instrument, enum mdp3_book_kind kind,
			     enum book_side side, const struct mdp3_book_update *update)
{
	int rc;

	if (!update->has_price) {
		book->stats.null_price++;
		return -EINVAL;
	}
	rc = level_book_change(mdp3_book_levels(book, instrument, kind), side, update->level, update->price,
			       update->shares, update->orders);
	if (rc != 0)
		return mdp3_book_refused(book, rc);
	book->stats.entries_applied++;
	return 0;
}

int mdp3_book_order_apply(struct mdp3_book *book, int32_t instrument, enum mdp3_book_order_action action,
			  const struct order_book_entry *entry, bool has_price)
{
	int rc;

	assert(instrument >= 0 && (uint32_t)instrument < book->instruments_count);
	switch (action) {
	case MDP3_BOOK_ORDER_NEW:
	case MDP3_BOOK_ORDER_UPDATE:
		if (!has_price) {
			book->stats.null_price++;
			return -EINVAL;
		}
		if (action == MDP3_BOOK_ORDER_UPDATE &&
		    order_book_find(&book->orders, (uint32_t)instrument, entry->order_id) == ORDER_BOOK_NONE)
			book->stats.unknown_order++;
		rc = order_book_put(&book->orders, (uint32_t)instrument, entry);
		if (rc < 0) {
			book->stats.orders_full++;
			return rc;
		}
		if (rc == 0)
			book->stats.orders_added++;
		else
			book->stats.orders_replaced++;
		return 0;
	case MDP3_BOOK_ORDER_DELETE:
		if (order_book_remove(&book->orders, (uint32_t)instrument, entry->order_id) != 0) {
			book->stats.unknown_order++;
			return -EINVAL;
		}
		book->stats.orders_removed++;
		return 0;
	default:
		book->stats.bad_action++;
		return -EINVAL;
	}
}

void mdp3_book_order_snapshot_begin(struct mdp3_book *book, int32_t instrument)
{
	assert(instrument >= 0 && (uint32_t)instrument < book->instruments_count);
	order_book_instrument_clear(&book->orders, (uint32_t)instrument);
}

bool mdp3_book_check(const struct mdp3_book *book)
{
	if (book->instruments_count > book->instruments_max || book->map.count != book->instruments_count ||
	    !security_map_check(&book->map))
		return false;
	for (uint32_t i = 0; i < book->instruments_count; i++) {
		const struct mdp3_instrument *in = &book->instruments[i];
		const struct level_book_level *slots = &book->levels[i * mdp3_book_instrument_slots(book)];

		if (security_map_find(&book->map, in->security_id) != i || in->symbol_len > MDP3_BOOK_SYMBOL_MAX ||
		    in->mbp.levels != slots || in->mbp.capacity != book->depth_max ||
		    in->implied.levels != slots + 2u * book->depth_max ||
		    in->implied.capacity != book->implied_depth_max || !level_book_check(&in->mbp) ||
		    !level_book_check(&in->implied))
			return false;
	}
	return order_book_check(&book->orders, book->instruments_count);
}

/* An instrument of a feed in dump order. */
struct mdp3_dump_entry {
	const char *feed;
	const struct mdp3_book *book;
	const struct mdp3_instrument *instrument;
	uint32_t index;
	char symbol[MDP3_BOOK_SYMBOL_MAX + 16];
};

static int mdp3_dump_entry_compare(const void *a, const void *b)
{
	const struct mdp3_dump_entry *x = a, *y = b;
	int c = strcmp(x->feed, y->feed);

	if (c == 0)
		c = strcmp(x->symbol, y->symbol);
	if (c == 0)
		c = (x->instrument->security_id > y->instrument->security_id) -
		    (x->instrument->security_id < y->instrument->security_id);
	return c;
}

/* Every instrument of the feeds, sorted; NULL (no memory) or an array of *n (freed by the caller). */
static struct mdp3_dump_entry *mdp3_dump_entries(struct mdp3_book *const *books, const char *const *names,
						 uint32_t count, size_t *n)
{
	struct mdp3_dump_entry *entries;
	size_t total = 0;

	for (uint32_t b = 0; b < count; b++)
		total += books[b]->instruments_count;
	entries = calloc(total ? total : 1, sizeof(*entries));
	if (entries == NULL)
		return NULL;
	*n = 0;
	for (uint32_t b = 0; b < count; b++) {
		for (uint32_t i = 0; i < books[b]->instruments_count; i++) {
			const struct mdp3_instrument *in = &books[b]->instruments[i];
			struct mdp3_dump_entry *e = &entries[(*n)++];

			*e = (struct mdp3_dump_entry){ .feed = names[b], .book = books[b], .instrument = in, .index = i };
			/* An empty symbol would leave the line a field short. */
			if (in->defined && in->symbol_len > 0)
				snprintf(e->symbol, sizeof(e->symbol), "%.*s", (int)in->symbol_len, in->symbol);
			else
				snprintf(e->symbol, sizeof(e->symbol), "#%" PRId32, in->security_id);
		}
	}
	qsort(entries, *n, sizeof(*entries), mdp3_dump_entry_compare);
	return entries;
}

int mdp3_book_dump_write(FILE *out, struct mdp3_book *const *books, const char *const *names,
			 uint32_t count, enum mdp3_book_kind kind)
{
	size_t n;
	struct mdp3_dump_entry *entries = mdp3_dump_entries(books, names, count, &n);
	char price[BOOK_PRICE_TEXT_MAX];

	if (entries == NULL)
		return -ENOMEM;
	for (size_t e = 0; e < n; e++) {
		const struct level_book *levels = kind == MDP3_BOOK_IMPLIED ? &entries[e].instrument->implied
									    : &entries[e].instrument->mbp;

		for (int side = 0; side < BOOK_SIDES; side++) {
			const struct level_book_level *slots = level_book_side(levels, (enum book_side)side);

			/* Slot order is price order, best first (level_book_check). */
			for (uint32_t i = 0; i < levels->depth; i++) {
				if (!slots[i].used)
					continue;
				book_price_format(price, sizeof(price), slots[i].price, 9);
				fprintf(out, "%s %s %c %s %" PRIu64 " %" PRIu32 "\n", entries[e].feed, entries[e].symbol,
					side == BOOK_SIDE_BID ? 'B' : 'S', price, slots[i].shares, slots[i].orders);
			}
		}
	}
	free(entries);
	return ferror(out) ? -EIO : 0;
}

/* An order in dump order: its instrument's place, then side, price best first, priority, OrderID. */
struct mdp3_dump_order {
	size_t rank;		/* the instrument's place among the dump entries */
	const struct order_book_order *order;
};

static int mdp3_dump_order_compare(const void *a, const void *b)
{
	const struct mdp3_dump_order *x = a, *y = b;
	const struct order_book_order *p = x->order, *q = y->order;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (p->side != q->side)
		return p->side < q->side ? -1 : 1;
	if (p->price != q->price)
		return (p->side == BOOK_SIDE_BID ? p->price > q->price : p->price < q->price) ? -1 : 1;
	if (p->priority != q->priority)
		return p->priority < q->priority ? -1 : 1;
	return (p->order_id > q->order_id) - (p->order_id < q->order_id);
}

int mdp3_book_orders_dump_write(FILE *out, struct mdp3_book *const *books, const char *const *names,
				uint32_t count)
{
	size_t n, total = 0, k = 0;
	struct mdp3_dump_entry *entries = mdp3_dump_entries(books, names, count, &n);
	struct mdp3_dump_order *orders;
	char price[BOOK_PRICE_TEXT_MAX];

	if (entries == NULL)
		return -ENOMEM;
	for (uint32_t b = 0; b < count; b++)
		total += books[b]->orders.count;
	orders = calloc(total ? total : 1, sizeof(*orders));
	if (orders == NULL) {
		free(entries);
		return -ENOMEM;
	}
	for (size_t e = 0; e < n; e++) {
		const struct order_book *ob = &entries[e].book->orders;

		for (uint32_t o = ob->heads[entries[e].index]; o != ORDER_BOOK_NONE; o = ob->orders[o].next) {
			assert(k < total);
			orders[k++] = (struct mdp3_dump_order){ .rank = e, .order = &ob->orders[o] };
		}
	}
	qsort(orders, k, sizeof(*orders), mdp3_dump_order_compare);
	for (size_t i = 0; i < k; i++) {
		const struct order_book_order *o = orders[i].order;
		const struct mdp3_dump_entry *e = &entries[orders[i].rank];

		book_price_format(price, sizeof(price), o->price, 9);
		fprintf(out, "%s %s %c %s %" PRIu64 " ", e->feed, e->symbol, o->side == BOOK_SIDE_BID ? 'B' : 'S',
			price, o->quantity);
		if (o->priority == ORDER_BOOK_PRIORITY_NULL)
			fprintf(out, "- %" PRIu64 "\n", o->order_id);
		else
			fprintf(out, "%" PRIu64 " %" PRIu64 "\n", o->priority, o->order_id);
	}
	free(orders);
	free(entries);
	return ferror(out) ? -EIO : 0;
}
