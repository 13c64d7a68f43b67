/*
 * test_book: the order table and the books. Negative cases first (unknown orders,
 * duplicates, every capacity refusal leaving the book unchanged), then semantics, the
 * price format and dump order, then a seeded random differential run against a naive
 * reference kept in this file (a flat array of orders; levels aggregated by brute
 * force at each comparison). Usage: test_book [seed] (or FH_SEED).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/book.h"
#include "tests/check.h"

static void test_unknown_and_duplicate(void)
{
	struct book *book = book_create(4, 16, 4);
	int32_t i = book_instrument_get(book, 7, 4);

	printf("unknown orders and duplicates change nothing\n");
	CHECK(book_order_reduce(book, 99, 1, NULL) == -ENOENT);
	CHECK(book_order_delete(book, 99, NULL) == -ENOENT);
	CHECK(book_order_replace(book, 99, 100, 5, 5, NULL) == -ENOENT);
	CHECK(book->stats.unknown_order == 3);
	CHECK(book_order_add(book, i, 1, BOOK_SIDE_BID, 100, 10, NULL) == 0);
	CHECK(book_order_add(book, i, 1, BOOK_SIDE_ASK, 200, 10, NULL) == -EEXIST);
	CHECK(book->stats.duplicate_order == 1);
	CHECK(strcmp(check_dump(book, "f"), "f #7 B 0.0100 10 1\n") == 0);
	CHECK(book_check(book));
	book_destroy(book);
}

static void test_capacities(void)
{
	struct book *book = book_create(2, 3, 2);
	int32_t i = book_instrument_get(book, 1, 4);
	char before[4096];

	printf("capacity refusals leave the book unchanged\n");
	CHECK(book_instrument_get(book, 2, 4) == 1);
	CHECK(book_instrument_get(book, 3, 4) == -1);
	CHECK(book->stats.instruments_full == 1);
	CHECK(book_instrument_get(book, BOOK_INSTRUMENT_KEYS, 4) == -1);
	CHECK(book_order_add(book, i, 1, BOOK_SIDE_BID, 100, 1, NULL) == 0);
	CHECK(book_order_add(book, i, 2, BOOK_SIDE_BID, 101, 1, NULL) == 0);
	snprintf(before, sizeof(before), "%s", check_dump(book, "f"));
	CHECK(book_order_add(book, i, 3, BOOK_SIDE_BID, 102, 1, NULL) == -ENOSPC); /* third level */
	CHECK(book->stats.levels_full == 1);
	CHECK(strcmp(before, check_dump(book, "f")) == 0 && book_check(book));
	CHECK(book_order_add(book, i, 3, BOOK_SIDE_BID, 101, 1, NULL) == 0);	/* same level: fits */
	CHECK(book_order_add(book, i, 4, BOOK_SIDE_BID, 100, 1, NULL) == -ENOSPC); /* 3 live orders */
	CHECK(book->stats.orders_full == 1);
	CHECK(book->orders.count == 3);
	CHECK(book_check(book));
	book_destroy(book);
	CHECK(book_create(0, 1, 1) == NULL);
	CHECK(book_create(1, 0, 1) == NULL);
	CHECK(book_create(1, 1, 0) == NULL);
}

static void test_semantics(void)
{
	struct book *book = book_create(8, 64, 16);
	int32_t i = book_instrument_get(book, 3, 4);

	printf("execute, cancel, replace, symbols\n");
	book_instrument_symbol_set(book, i, "ABC     ", 8, BOOK_SYMBOL_FROM_ORDER);
	book_instrument_symbol_set(book, i, "XYZ     ", 8, BOOK_SYMBOL_FROM_ORDER);
	CHECK(book_order_add(book, i, 1, BOOK_SIDE_BID, 1234500, 100, NULL) == 0);
	CHECK(book_order_add(book, i, 2, BOOK_SIDE_BID, 1234500, 50, NULL) == 0);
	CHECK(book_order_add(book, i, 3, BOOK_SIDE_ASK, 1240000, 10, NULL) == 0);
	CHECK(book_order_reduce(book, 1, 30, NULL) == 0);		/* partial */
	CHECK(book_order_reduce(book, 3, 99, NULL) == 0);		/* over: removed */
	CHECK(book_order_replace(book, 2, 4, 1235000, 60, NULL) == 0);	/* keeps side */
	CHECK(strcmp(check_dump(book, "f"), "f ABC B 123.5000 60 1\nf ABC B 123.4500 70 1\n") == 0);
	book_instrument_symbol_set(book, i, "DIR     ", 8, BOOK_SYMBOL_FROM_DIRECTORY);
	book_instrument_symbol_set(book, i, "ORD     ", 8, BOOK_SYMBOL_FROM_ORDER);
	CHECK(strncmp(check_dump(book, "f"), "f DIR B", 7) == 0);
	CHECK(book_order_reduce(book, 4, 60, NULL) == 0);		/* exactly all: removed */
	CHECK(book_order_delete(book, 1, NULL) == 0);
	CHECK(strcmp(check_dump(book, "f"), "") == 0 && book_check(book));
	book_destroy(book);
}

static void test_price_and_dump_order(void)
{
	struct book *book = book_create(8, 64, 16);
	int32_t b = book_instrument_get(book, 2, 4), a = book_instrument_get(book, 1, 4);
	int32_t n = book_instrument_get(book, 9, 4);
	char text[BOOK_PRICE_TEXT_MAX];

	printf("price format and dump order\n");
	book_price_format(text, sizeof(text), 0, 4);
	CHECK(strcmp(text, "0.0000") == 0);
	book_price_format(text, sizeof(text), 1234500, 4);
	CHECK(strcmp(text, "123.4500") == 0);
	book_price_format(text, sizeof(text), -5, 4);
	CHECK(strcmp(text, "-0.0005") == 0);
	book_price_format(text, sizeof(text), 42, 0);
	CHECK(strcmp(text, "42") == 0);
	book_price_format(text, sizeof(text), 123456789, 8);
	CHECK(strcmp(text, "1.23456789") == 0);
	book_instrument_symbol_set(book, a, "BB", 2, BOOK_SYMBOL_FROM_DIRECTORY);
	book_instrument_symbol_set(book, b, "AB", 2, BOOK_SYMBOL_FROM_DIRECTORY);
	book_order_add(book, a, 1, BOOK_SIDE_ASK, 30000, 1, NULL);
	book_order_add(book, a, 2, BOOK_SIDE_ASK, 20000, 2, NULL);
	book_order_add(book, a, 3, BOOK_SIDE_BID, 10000, 3, NULL);
	book_order_add(book, a, 4, BOOK_SIDE_BID, 15000, 4, NULL);
	book_order_add(book, b, 5, BOOK_SIDE_BID, 10000, 5, NULL);
	book_order_add(book, n, 6, BOOK_SIDE_BID, 10000, 6, NULL);
	CHECK(strcmp(check_dump(book, "f"), "f #9 B 1.0000 6 1\n"
				    "f AB B 1.0000 5 1\n"
				    "f BB B 1.5000 4 1\n"
				    "f BB B 1.0000 3 1\n"
				    "f BB S 2.0000 2 1\n"
				    "f BB S 3.0000 1 1\n") == 0);
	book_destroy(book);
}

static void test_order_table_collisions(void)
{
	struct order_table table;
	bool existed;
	uint64_t slots;

	printf("order table: colliding references, wrap-around, backward shift\n");
	CHECK(order_table_init(&table, 4) == 0);
	slots = table.mask + 1;
	/* refs equal modulo the table size, starting at the last slot: chains wrap */
	for (uint64_t k = 0; k < 4; k++)
		CHECK(order_table_claim(&table, (slots - 1) + k * slots, &existed) != NULL);
	CHECK(order_table_claim(&table, 12345, &existed) == NULL && !existed);
	CHECK(order_table_claim(&table, slots - 1, &existed) == NULL && existed);
	order_table_remove(&table, order_table_find(&table, (slots - 1) + slots));
	for (uint64_t k = 0; k < 4; k++)
		CHECK((order_table_find(&table, (slots - 1) + k * slots) != NULL) == (k != 1));
	order_table_remove(&table, order_table_find(&table, slots - 1));
	CHECK(order_table_find(&table, (slots - 1) + 2 * slots) != NULL);
	CHECK(order_table_find(&table, (slots - 1) + 3 * slots) != NULL);
	order_table_clear(&table);
	CHECK(table.count == 0 && order_table_find(&table, (slots - 1) + 2 * slots) == NULL);
	order_table_fini(&table);
}

/* --- naive reference for the random differential run --- */

struct naive_order {
	uint64_t ref;
	int32_t instrument;
	int side;
	int64_t price;
	uint32_t shares;
};

static struct naive_order *naive;
static size_t naive_count;

static struct naive_order *naive_find(uint64_t ref)
{
	for (size_t i = 0; i < naive_count; i++)
		if (naive[i].ref == ref)
			return &naive[i];
	return NULL;
}

static void naive_remove(struct naive_order *o)
{
	*o = naive[--naive_count];
}

/* The book's levels must equal the reference's orders aggregated by brute force. */
static bool compare_with_naive(struct book *book, int32_t instruments)
{
	for (int32_t in = 0; in < instruments; in++) {
		for (int side = 0; side < BOOK_SIDES; side++) {
			static struct book_level_info levels[65536];
			uint32_t count = book_side_levels(book, in, (enum book_side)side, levels, 65536);
			uint32_t expected_levels = 0;

			if (count != book_side_count(book, in, (enum book_side)side))
				return false;
			for (uint32_t l = 0; l < count; l++) {
				int64_t price = levels[l].price;
				uint64_t shares = 0;
				uint32_t orders = 0;

				for (size_t o = 0; o < naive_count; o++)
					if (naive[o].instrument == in && naive[o].side == side &&
					    naive[o].price == price) {
						shares += naive[o].shares;
						orders++;
					}
				if (orders == 0 || shares != levels[l].shares || orders != levels[l].orders)
					return false;
				if (l > 0 && !(side == BOOK_SIDE_BID ? price < levels[l - 1].price
								     : price > levels[l - 1].price))
					return false;
			}
			/* and no reference level is missing from the book */
			for (size_t o = 0; o < naive_count; o++) {
				bool first = true;

				if (naive[o].instrument != in || naive[o].side != side)
					continue;
				for (size_t p = 0; p < o; p++)
					if (naive[p].instrument == in && naive[p].side == side &&
					    naive[p].price == naive[o].price)
						first = false;
				expected_levels += first;
			}
			if (expected_levels != count)
				return false;
		}
	}
	return true;
}

/*
 * What an operation reported (struct book_result) against the reference after it:
 * the last change of each level holds the reference's total shares and orders at
 * that price (orders 0: the reference has none left there), and the top before it
 * is the changed instrument's.
 */
static bool result_matches_naive(const struct book_result *r)
{
	for (uint32_t i = 0; i < r->changes_count; i++) {
		const struct book_change *c = &r->changes[i];
		uint64_t shares = 0;
		uint32_t orders = 0;

		for (size_t o = 0; o < naive_count; o++)
			if (naive[o].instrument == c->instrument && naive[o].side == c->side &&
			    naive[o].price == c->price) {
				shares += naive[o].shares;
				orders++;
			}
		bool later = false;

		/* Changes come in order: a replace at the same price leaves, then returns. */
		for (uint32_t j = i + 1; j < r->changes_count; j++)
			later = later || (r->changes[j].side == c->side && r->changes[j].price == c->price);
		if (!later && (orders != c->orders || (orders > 0 && shares != c->shares)))
			return false;
		if (r->top_before.instrument != c->instrument)
			return false;
	}
	return true;
}

/* The reference's top of an instrument: best price and the shares at it, per side. */
static void naive_top(int32_t in, struct book_top *top)
{
	for (int side = 0; side < BOOK_SIDES; side++) {
		top->price[side] = INT64_MIN;
		top->shares[side] = 0;
	}
	top->instrument = in;
	for (size_t o = 0; o < naive_count; o++) {
		const struct naive_order *n = &naive[o];
		int64_t *best = &top->price[n->side];

		if (n->instrument != in)
			continue;
		if (*best == INT64_MIN || (n->side == BOOK_SIDE_BID ? n->price > *best : n->price < *best)) {
			*best = n->price;
			top->shares[n->side] = 0;
		}
		if (n->price == *best)
			top->shares[n->side] += n->shares;
	}
}

static bool top_equal(const struct book_top *a, const struct book_top *b)
{
	return a->price[0] == b->price[0] && a->price[1] == b->price[1] && a->shares[0] == b->shares[0] &&
	       a->shares[1] == b->shares[1];
}

/*
 * The top an operation reports against the reference's: when a change is at a best
 * level, top_before was read and is the top before the operation; when none is, the
 * operation left the top as it was (why the book may skip reading it).
 */
static bool result_top_matches_naive(const struct book_result *r, const struct book_top *before)
{
	bool best = false;
	struct book_top after;

	for (uint32_t i = 0; i < r->changes_count; i++)
		best = best || r->changes[i].best;
	if (r->changes_count == 0)
		return true;	/* refused: it may have read the top before it found no room */
	if (best)
		return r->top_taken && top_equal(&r->top_before, before);
	naive_top(before->instrument, &after);
	return top_equal(&after, before);
}

/* The shape of a random run: how many price ticks a side spreads over, and the capacities. */
struct random_shape {
	const char *name;
	uint32_t ticks;		/* distinct prices per side */
	uint32_t levels_max;	/* below ticks: some adds are refused for levels_full */
	uint32_t orders_max;
	int ops;
	int check_every;
};

/* True if the reference has an order at this price on the side. */
static bool naive_level_exists(int32_t in, int side, int64_t price)
{
	for (size_t o = 0; o < naive_count; o++)
		if (naive[o].instrument == in && naive[o].side == side && naive[o].price == price)
			return true;
	return false;
}

/* Distinct prices the reference has on a side (prices are 10000 + 100 * tick, tick < 65536). */
static uint32_t naive_levels(int32_t in, int side)
{
	static uint8_t seen[65536];
	uint32_t levels = 0;

	memset(seen, 0, sizeof(seen));
	for (size_t o = 0; o < naive_count; o++) {
		uint32_t tick = (uint32_t)((naive[o].price - 10000) / 100) & 65535;

		if (naive[o].instrument == in && naive[o].side == side && !seen[tick]) {
			seen[tick] = 1;
			levels++;
		}
	}
	return levels;
}

/* Whether the book must take a new order: room for the order and, if new, for its level. */
static int naive_add_expected(const struct random_shape *shape, int32_t in, int side, int64_t price)
{
	if (naive_count >= shape->orders_max)
		return -ENOSPC;
	if (!naive_level_exists(in, side, price) && naive_levels(in, side) >= shape->levels_max)
		return -ENOSPC;
	return 0;
}

static int64_t random_price(const struct random_shape *shape)
{
	return 10000 + (int64_t)(check_rng() % shape->ticks) * 100;
}

static void test_random_differential(uint64_t seed, const struct random_shape *shape)
{
	const int32_t instruments = 4;
	struct book *book = book_create(instruments, shape->orders_max, shape->levels_max);
	uint64_t next_ref = 1;
	int mismatches = 0, result_mismatches = 0;
	struct book_result result;

	printf("random differential against a naive reference, %s sides, seed %" PRIu64 "\n",
	       shape->name, seed);
	check_rng_state = seed;
	naive = calloc(shape->orders_max, sizeof(*naive));
	naive_count = 0;
	for (int32_t in = 0; in < instruments; in++)
		book_instrument_get(book, (uint32_t)in * 11 + 1, 4);
	for (int op = 0; op < shape->ops; op++) {
		uint64_t r = check_rng();
		unsigned kind = (unsigned)(r % 100);
		struct naive_order *o = naive_count ? &naive[check_rng() % naive_count] : NULL;
		uint64_t ref = (o && check_rng() % 50) ? o->ref : (check_rng() % 2 ? next_ref + 7 : 1u << 30);
		struct naive_order *touched = naive_find(ref);
		struct book_top before;

		if (kind < 40 || naive_count == 0) {
			int32_t in = (int32_t)(check_rng() % instruments);
			int side = (int)(check_rng() % 2);
			int64_t price = random_price(shape);
			uint32_t shares = (uint32_t)(check_rng() % 500);
			int expected = naive_add_expected(shape, in, side, price);
			int rc;

			naive_top(in, &before);
			rc = book_order_add(book, in, next_ref, (enum book_side)side, price, shares, &result);

			CHECK(rc == expected);
			if (rc == 0)
				naive[naive_count++] = (struct naive_order){ next_ref, in, side, price, shares };
			next_ref += 1 + check_rng() % 3;
		} else if (naive_top(touched ? touched->instrument : 0, &before), kind < 70) {
			uint32_t shares = (uint32_t)(check_rng() % 300);
			struct naive_order *n = naive_find(ref);
			int rc = book_order_reduce(book, ref, shares, &result);

			CHECK(rc == (n ? 0 : -ENOENT));
			CHECK(rc != 0 || (result.order.shares == n->shares && result.order.price == n->price &&
					  result.order.remaining == (shares >= n->shares ? 0 : n->shares - shares)));
			if (n && shares >= n->shares)
				naive_remove(n);
			else if (n)
				n->shares -= shares;
		} else if (kind < 85) {
			struct naive_order *n = naive_find(ref);

			CHECK(book_order_delete(book, ref, &result) == (n ? 0 : -ENOENT));
			CHECK(n == NULL || (result.order.shares == n->shares && result.order.remaining == 0));
			if (n)
				naive_remove(n);
		} else {
			struct naive_order *n = naive_find(ref);
			int64_t price = random_price(shape);
			uint32_t shares = (uint32_t)(check_rng() % 500);
			int rc = book_order_replace(book, ref, next_ref, price, shares, &result);

			if (n == NULL) {
				CHECK(rc == -ENOENT);
			} else {
				struct naive_order moved = { next_ref, n->instrument, n->side, price, shares };

				naive_remove(n);	/* the old order leaves first */
				CHECK(rc == naive_add_expected(shape, moved.instrument, moved.side, price));
				if (rc == 0)
					naive[naive_count++] = moved;
			}
			next_ref += 1;
		}
		/* A refused or unknown operation reports no change. */
		if (!(result_matches_naive(&result) && result_top_matches_naive(&result, &before)) &&
		    result_mismatches++ == 0)
			printf("  FAIL: an operation's result differs from the reference at op %d (seed %" PRIu64 ")\n",
			       op, seed);
		if (op % shape->check_every == 0 && !(compare_with_naive(book, instruments) && book_check(book)) &&
		    mismatches++ == 0)
			printf("  FAIL: books differ from the reference at op %d (seed %" PRIu64 ")\n", op, seed);
	}
	CHECK(compare_with_naive(book, instruments) && book_check(book));
	CHECK(book->orders.count == naive_count);
	/* The run reached what it is meant to: a deep side runs into its level capacity. */
	CHECK(shape->levels_max >= shape->ticks || book->stats.levels_full > 0);
	CHECK(book_side_count(book, 0, BOOK_SIDE_BID) > shape->ticks / 2 ||
	      book_side_count(book, 0, BOOK_SIDE_BID) > shape->levels_max / 2);
	failures += mismatches + result_mismatches;
	free(naive);
	book_destroy(book);
}

int main(int argc, char **argv)
{
	uint64_t seed = check_seed(argc, argv);

	test_unknown_and_duplicate();
	test_capacities();
	test_semantics();
	test_price_and_dump_order();
	test_order_table_collisions();
	/* Shallow: 40 ticks, a chunk or two per side. Deep: hundreds of levels, many chunks
	 * splitting and merging, and a level capacity the sides reach. */
	static const struct random_shape shallow = { "shallow", 40, 256, 2048, 200000, 5000 };
	static const struct random_shape deep = { "deep", 1200, 300, 4096, 100000, 1999 };

	test_random_differential(seed, &shallow);
	test_random_differential(seed ^ 0x5eed, &deep);
	printf("%s (seed %" PRIu64 ")\n", failures ? "FAIL" : "PASS", seed);
	return failures ? 1 : 0;
}
