/*
 * test_mdp3_book: the CME MDP 3.0 books (book/mdp3/), fed through the decoder's
 * mdp3_apply, against cases worked by hand from docs/cme-mdp3.md §7.2-7.4 and
 * book-dump.md's MDP3 section, decoded 46/47/52 messages, then mdp3_book_check
 * shown to refuse each kind of corruption, then a seeded random differential run
 * against a naive model kept in this file (per side a plain array of depth slots
 * shifted by memmove, an update out of price order found by sorting-check of the whole
 * side after the fact and undone; orders in a flat array searched linearly). Negative
 * cases first. Usage: test_mdp3_book [seed] (or FH_SEED).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/mdp3/mdp3_book.h"
#include "book/util/memory.h"
#include "decoders/cme_mdp3/mdp3_apply.h"
#include "tests/check.h"
#include "tests/mdp3_build.h"

#define P(units) ((int64_t)(units) * 1000000000ll)	/* a whole price as a PRICE9 mantissa */

static struct mdp3_book *make_book(uint32_t instruments, uint32_t orders, uint8_t depth, uint8_t implied)
{
	struct mdp3_book_config config = { .instruments_max = instruments, .orders_max = orders,
					   .depth_max = depth, .implied_depth_max = implied };
	struct mdp3_book *book = mdp3_book_create(&config);

	if (book == NULL) {
		printf("  FAIL: mdp3_book_create\n");
		exit(1);
	}
	return book;
}

/* A 46 book entry. */
static struct mdp3_md_entry level_entry(char type, uint8_t action, uint8_t level, int64_t price, uint64_t size,
					uint32_t orders)
{
	return (struct mdp3_md_entry){
		.present = MDP3_HAS_PRICE | MDP3_HAS_SIZE | MDP3_HAS_ORDERS | MDP3_HAS_LEVEL | MDP3_HAS_SECURITY_ID,
		.price = price, .size = size, .orders = orders, .level = level, .action = action, .entry_type = type,
	};
}

static int apply(struct mdp3_book *book, int32_t i, char type, uint8_t action, uint8_t level, int64_t price,
		 uint64_t size, uint32_t orders)
{
	struct mdp3_md_entry e = level_entry(type, action, level, price, size, orders);

	return mdp3_apply_entry(book, i, &e);
}

/* A 47 entry. */
static int order(struct mdp3_book *book, int32_t i, uint8_t action, char type, uint64_t id, int64_t price,
		 uint64_t qty, uint64_t priority)
{
	struct mdp3_order o = {
		.present = MDP3_HAS_ORDER_ID | MDP3_HAS_PRICE | MDP3_HAS_QUANTITY | MDP3_HAS_SECURITY_ID |
			   (priority != UINT64_MAX ? MDP3_HAS_PRIORITY : 0),
		.order_id = id, .priority = priority, .price = price, .quantity = qty, .action = action,
		.entry_type = type,
	};

	return mdp3_apply_order(book, i, &o, NULL);
}

static const char *dump(struct mdp3_book *book, int kind)
{
	static char text[1 << 16];
	const char *name = "f";
	FILE *out;

	memset(text, 0, sizeof(text));
	out = fmemopen(text, sizeof(text), "w");
	if (kind == 2)
		mdp3_book_orders_dump_write(out, &book, &name, 1);
	else
		mdp3_book_dump_write(out, &book, &name, 1, (enum mdp3_book_kind)kind);
	fclose(out);
	return text;
}

static void define(struct mdp3_book *book, int32_t security_id, const char *symbol, int8_t depth, int8_t implied,
		   char action)
{
	struct mdp3_definition d = { .security_id = security_id, .depth = depth, .implied_depth = implied,
				     .update_action = action };

	memcpy(d.symbol, symbol, strlen(symbol));
	CHECK(mdp3_apply_definition(book, &d) == 0);
}

/* A book of 8 instruments and 16 orders with one instrument defined, *i its index. */
static struct mdp3_book *defined_book(int32_t security_id, const char *symbol, int8_t depth, int32_t *i)
{
	struct mdp3_book *book = make_book(8, 16, 10, 2);

	define(book, security_id, symbol, depth, 0, 'A');
	*i = mdp3_book_instrument_find(book, security_id);
	return book;
}

static void test_refusals(void)
{
	struct mdp3_book *book = make_book(4, 4, 10, 2);
	int32_t i = mdp3_book_instrument_get(book, 7);
	struct mdp3_md_entry null_price = level_entry('0', MDP3_ACTION_NEW, 1, 0, 5, 1);
	struct mdp3_book_config bad = { .instruments_max = 4, .orders_max = 4, .depth_max = 128 };

	printf("refusals change nothing and are counted\n");
	CHECK(mdp3_book_create(&bad) == NULL);
	bad = (struct mdp3_book_config){ .instruments_max = 0, .orders_max = 4 };
	CHECK(mdp3_book_create(&bad) == NULL);
	CHECK(apply(book, i, '0', MDP3_ACTION_NEW, 1, P(100), 5, 1) == 0);
	null_price.present &= ~(uint32_t)MDP3_HAS_PRICE;
	CHECK(mdp3_apply_entry(book, i, &null_price) == -EINVAL && book->stats.null_price == 1);
	null_price.action = MDP3_ACTION_CHANGE;
	CHECK(mdp3_apply_entry(book, i, &null_price) == -EINVAL && book->stats.null_price == 2);
	CHECK(apply(book, i, '0', MDP3_ACTION_NEW, 0, P(99), 5, 1) == -EINVAL);
	CHECK(apply(book, i, '0', MDP3_ACTION_NEW, 11, P(99), 5, 1) == -EINVAL);
	CHECK(apply(book, i, '0', MDP3_ACTION_DELETE, 11, 0, 0, 0) == -EINVAL);
	CHECK(apply(book, i, '0', MDP3_ACTION_CHANGE, 0, P(99), 5, 1) == -EINVAL);
	CHECK(book->stats.bad_level == 4);
	/* Out of price order: a bid at level 2 above level 1, an equal price, a bid at 1 below 2. */
	CHECK(apply(book, i, '0', MDP3_ACTION_NEW, 2, P(101), 5, 1) == -EINVAL);
	CHECK(apply(book, i, '0', MDP3_ACTION_NEW, 2, P(100), 5, 1) == -EINVAL);
	CHECK(apply(book, i, '0', MDP3_ACTION_NEW, 2, P(99), 5, 1) == 0);
	CHECK(apply(book, i, '0', MDP3_ACTION_CHANGE, 1, P(98), 5, 1) == -EINVAL);
	CHECK(apply(book, i, '1', MDP3_ACTION_NEW, 1, P(110), 5, 1) == 0);
	CHECK(apply(book, i, '1', MDP3_ACTION_NEW, 2, P(109), 5, 1) == -EINVAL);
	CHECK(book->stats.out_of_order == 4);
	CHECK(apply(book, i, '0', 6, 1, P(100), 5, 1) == -EINVAL && book->stats.bad_action == 1);
	CHECK(apply(book, i, '2', MDP3_ACTION_NEW, 1, P(100), 5, 1) == 0 && book->stats.other_type == 1);
	CHECK(strcmp(dump(book, 0), "f #7 B 100.000000000 5 1\nf #7 B 99.000000000 5 1\nf #7 S 110.000000000 5 1\n") == 0);
	CHECK(mdp3_book_check(book));
	mdp3_book_destroy(book);
}

static void test_map_full(void)
{
	struct mdp3_book *book = make_book(4, 4, 10, 2);
	struct security_map map;
	int32_t same_home[SECURITY_MAP_PROBE_MAX + 1];
	uint32_t found = 0;

	printf("the SecurityID map refuses past its capacity and past its probe bound\n");
	for (int32_t s = 0; s < 4; s++)
		CHECK(mdp3_book_instrument_get(book, 1000000 + s * 7919) == s);
	CHECK(mdp3_book_instrument_get(book, 1000000) == 0);
	CHECK(mdp3_book_instrument_get(book, -5) == -1 && book->stats.instruments_full == 1);
	CHECK(mdp3_book_instrument_find(book, -5) == -1);
	CHECK(book->instruments_count == 4 && mdp3_book_check(book));
	mdp3_book_destroy(book);

	/* 33 keys of one home in a 256-slot map with room for 128: the 33rd passes the bound. */
	CHECK(security_map_init(&map, 128) == 0 && map.mask == 255);
	for (int32_t key = 1; found < SECURITY_MAP_PROBE_MAX + 1 && key < 100000000; key++) {
		if (security_map_home(&map, key) == 17)
			same_home[found++] = key;
	}
	CHECK(found == SECURITY_MAP_PROBE_MAX + 1);
	for (uint32_t k = 0; k < SECURITY_MAP_PROBE_MAX; k++)
		CHECK(security_map_insert(&map, same_home[k], k) == 0);
	CHECK(security_map_insert(&map, same_home[0], 99) == -EEXIST);
	CHECK(security_map_insert(&map, same_home[SECURITY_MAP_PROBE_MAX], 99) == -ENOSPC);
	CHECK(map.refused_probe == 1 && map.count == SECURITY_MAP_PROBE_MAX);
	CHECK(security_map_find(&map, same_home[SECURITY_MAP_PROBE_MAX - 1]) == SECURITY_MAP_PROBE_MAX - 1);
	CHECK(security_map_find(&map, same_home[SECURITY_MAP_PROBE_MAX]) == SECURITY_MAP_NONE);
	CHECK(security_map_check(&map));
	security_map_fini(&map);
}

/* Orders of one home slot: the probe bound refuses the 65th; removals shift the rest back. */
static void test_order_collisions(void)
{
	struct order_book ob;
	uint64_t ids[ORDER_BOOK_PROBE_MAX + 1];
	uint32_t found = 0;
	struct order_book_entry entry = { .price = P(1), .quantity = 1, .priority = 1 };

	printf("the order table refuses past its probe bound; removals keep colliding orders findable\n");
	CHECK(order_book_init(&ob, 1024, 2) == 0);
	for (uint64_t id = 1; found < ORDER_BOOK_PROBE_MAX + 1 && id < 100000000; id++) {
		if (order_book_home(&ob, 1, id) == 5)
			ids[found++] = id;
	}
	CHECK(found == ORDER_BOOK_PROBE_MAX + 1);
	for (uint32_t k = 0; k < ORDER_BOOK_PROBE_MAX; k++) {
		entry.order_id = ids[k];
		CHECK(order_book_put(&ob, 1, &entry) == 0);
	}
	entry.order_id = ids[ORDER_BOOK_PROBE_MAX];
	CHECK(order_book_put(&ob, 1, &entry) == -ENOSPC && ob.count == ORDER_BOOK_PROBE_MAX);
	/* The same OrderID in instrument 0 has another home. */
	CHECK(order_book_put(&ob, 0, &entry) == 0);
	/* Every other one leaves, from the middle of the run: the rest stay findable. */
	for (uint32_t k = 0; k < ORDER_BOOK_PROBE_MAX; k += 2)
		CHECK(order_book_remove(&ob, 1, ids[k]) == 0);
	for (uint32_t k = 0; k < ORDER_BOOK_PROBE_MAX; k++)
		CHECK((order_book_find(&ob, 1, ids[k]) != ORDER_BOOK_NONE) == (k % 2 == 1));
	CHECK(order_book_check(&ob, 2) && ob.counts[1] == ORDER_BOOK_PROBE_MAX / 2 && ob.counts[0] == 1);
	entry.order_id = ids[ORDER_BOOK_PROBE_MAX];
	CHECK(order_book_put(&ob, 1, &entry) == 0 && order_book_check(&ob, 2));
	order_book_instrument_clear(&ob, 1);
	CHECK(ob.count == 1 && ob.counts[1] == 0 && order_book_check(&ob, 2));
	order_book_clear(&ob);
	CHECK(ob.count == 0 && ob.counts[0] == 0 && order_book_check(&ob, 2));
	order_book_fini(&ob);
}

static void test_level_shifting(void)
{
	int32_t i;
	struct mdp3_book *book = defined_book(42, "ESZ6", 3, &i);

	printf("MBP levels: New at depth pushes out, Delete shifts up, Change overwrites\n");
	CHECK(i == 0 && book->instruments[i].mbp.depth == 3 && book->instruments[i].implied.depth == 2);
	/* Bids 102 101 100, the book full at depth 3. */
	CHECK(apply(book, i, '0', MDP3_ACTION_NEW, 1, P(100), 10, 1) == 0);
	CHECK(apply(book, i, '0', MDP3_ACTION_NEW, 1, P(102), 30, 3) == 0);
	CHECK(apply(book, i, '0', MDP3_ACTION_NEW, 2, P(101), 20, 2) == 0);
	CHECK(strcmp(dump(book, 0), "f ESZ6 B 102.000000000 30 3\nf ESZ6 B 101.000000000 20 2\n"
				    "f ESZ6 B 100.000000000 10 1\n") == 0);
	/* New at level 1 pushes 100 past the depth: dropped, no delete sent for it. */
	CHECK(apply(book, i, '0', MDP3_ACTION_NEW, 1, P(103), 40, 4) == 0);
	CHECK(strcmp(dump(book, 0), "f ESZ6 B 103.000000000 40 4\nf ESZ6 B 102.000000000 30 3\n"
				    "f ESZ6 B 101.000000000 20 2\n") == 0);
	/* New at the last level replaces it the same way. */
	CHECK(apply(book, i, '0', MDP3_ACTION_NEW, 3, P(101) + 500000000, 25, 5) == 0);
	CHECK(strcmp(dump(book, 0), "f ESZ6 B 103.000000000 40 4\nf ESZ6 B 102.000000000 30 3\n"
				    "f ESZ6 B 101.500000000 25 5\n") == 0);
	/* Delete level 1: the others move up, the last slot empties. */
	CHECK(apply(book, i, '0', MDP3_ACTION_DELETE, 1, 0, 0, 0) == 0);
	CHECK(strcmp(dump(book, 0), "f ESZ6 B 102.000000000 30 3\nf ESZ6 B 101.500000000 25 5\n") == 0);
	CHECK(book->instruments[i].mbp.count[BOOK_SIDE_BID] == 2);
	/* Change overwrites quantity and orders at the level. */
	CHECK(apply(book, i, '0', MDP3_ACTION_CHANGE, 2, P(101) + 500000000, 7, 1) == 0);
	CHECK(strcmp(dump(book, 0), "f ESZ6 B 102.000000000 30 3\nf ESZ6 B 101.500000000 7 1\n") == 0);
	/* A New at level 3 with nothing at 3 (after the Delete) brings a level in below. */
	CHECK(apply(book, i, '0', MDP3_ACTION_NEW, 3, P(100), 9, 2) == 0);
	CHECK(strcmp(dump(book, 0), "f ESZ6 B 102.000000000 30 3\nf ESZ6 B 101.500000000 7 1\n"
				    "f ESZ6 B 100.000000000 9 2\n") == 0);
	/* A shallower definition cuts the levels past its depth; a deeper one adds empty slots. */
	define(book, 42, "ESZ6", 2, 0, 'M');
	CHECK(strcmp(dump(book, 0), "f ESZ6 B 102.000000000 30 3\nf ESZ6 B 101.500000000 7 1\n") == 0);
	define(book, 42, "ESZ6", 11, 0, 'M');
	CHECK(book->instruments[i].mbp.depth == 10 && book->stats.depth_cut == 1);
	CHECK(mdp3_book_check(book));
	mdp3_book_destroy(book);
}

/* Bids 105..101 and offers 106..110 at depth 5. */
static void fill_five(struct mdp3_book *book, int32_t i)
{
	for (int k = 0; k < 5; k++) {
		CHECK(apply(book, i, '0', MDP3_ACTION_NEW, (uint8_t)(k + 1), P(105 - k), 1, 1) == 0);
		CHECK(apply(book, i, '1', MDP3_ACTION_NEW, (uint8_t)(k + 1), P(106 + k), 1, 1) == 0);
	}
}

static void test_delete_thru_from(void)
{
	int32_t i;
	struct mdp3_book *book = defined_book(9, "NQH7", 5, &i);

	printf("DeleteThru empties the side, DeleteFrom N removes the top N\n");
	fill_five(book, i);
	/* DeleteThru: the level is ignored, the other side stays. */
	CHECK(apply(book, i, '0', MDP3_ACTION_DELETE_THRU, 4, 0, 0, 0) == 0);
	CHECK(strcmp(dump(book, 0), "f NQH7 S 106.000000000 1 1\nf NQH7 S 107.000000000 1 1\nf NQH7 S 108.000000000 1 1\n"
				    "f NQH7 S 109.000000000 1 1\nf NQH7 S 110.000000000 1 1\n") == 0);
	/* DeleteFrom 0: nothing. */
	CHECK(apply(book, i, '1', MDP3_ACTION_DELETE_FROM, 0, 0, 0, 0) == 0);
	CHECK(book->instruments[i].mbp.count[BOOK_SIDE_ASK] == 5);
	/* DeleteFrom 2: 106 and 107 go, 108 becomes the best. */
	CHECK(apply(book, i, '1', MDP3_ACTION_DELETE_FROM, 2, 0, 0, 0) == 0);
	CHECK(strcmp(dump(book, 0), "f NQH7 S 108.000000000 1 1\nf NQH7 S 109.000000000 1 1\n"
				    "f NQH7 S 110.000000000 1 1\n") == 0);
	/* More than there are, more than the depth: the side empties. */
	CHECK(apply(book, i, '1', MDP3_ACTION_DELETE_FROM, 4, 0, 0, 0) == 0);
	CHECK(strcmp(dump(book, 0), "") == 0);
	fill_five(book, i);
	CHECK(apply(book, i, '0', MDP3_ACTION_DELETE_FROM, 200, 0, 0, 0) == 0);
	CHECK(book->instruments[i].mbp.count[BOOK_SIDE_BID] == 0 && book->instruments[i].mbp.count[BOOK_SIDE_ASK] == 5);
	CHECK(mdp3_book_check(book));
	mdp3_book_destroy(book);
}

static void test_implied(void)
{
	struct mdp3_book *book = make_book(8, 16, 10, 2);
	int32_t i = mdp3_book_instrument_get(book, 5);

	printf("the implied book is two deep and kept apart from the outright one\n");
	CHECK(apply(book, i, 'E', MDP3_ACTION_NEW, 1, P(50), 3, 0) == 0);
	CHECK(apply(book, i, 'E', MDP3_ACTION_NEW, 1, P(51), 4, 0) == 0);
	CHECK(apply(book, i, 'E', MDP3_ACTION_NEW, 1, P(52), 5, 0) == 0);
	CHECK(apply(book, i, 'E', MDP3_ACTION_NEW, 3, P(49), 5, 0) == -EINVAL && book->stats.bad_level == 1);
	CHECK(apply(book, i, 'F', MDP3_ACTION_NEW, 1, P(53), 6, 0) == 0);
	CHECK(apply(book, i, '0', MDP3_ACTION_NEW, 1, P(51), 1, 1) == 0);
	CHECK(strcmp(dump(book, 1), "f #5 B 52.000000000 5 0\nf #5 B 51.000000000 4 0\nf #5 S 53.000000000 6 0\n") == 0);
	CHECK(strcmp(dump(book, 0), "f #5 B 51.000000000 1 1\n") == 0);
	/* A book reset ('J') empties every book of the instrument. */
	CHECK(order(book, i, MDP3_ACTION_NEW, '0', 77, P(51), 1, 9) == 0);
	CHECK(apply(book, i, 'J', MDP3_ACTION_NEW, 0, 0, 0, 0) == 0 && book->stats.book_resets == 1);
	CHECK(strcmp(dump(book, 0), "") == 0 && strcmp(dump(book, 1), "") == 0 && strcmp(dump(book, 2), "") == 0);
	CHECK(mdp3_book_check(book));
	mdp3_book_destroy(book);
}

static void test_orders(void)
{
	struct mdp3_book *book = make_book(8, 3, 10, 2);
	int32_t i = mdp3_book_instrument_get(book, 300), j = mdp3_book_instrument_get(book, 301);
	struct mdp3_md_entry ref = level_entry('1', MDP3_ACTION_NEW, 1, P(7), 2, 1);
	struct mdp3_order by_ref = { .present = MDP3_HAS_ORDER_ID | MDP3_HAS_QUANTITY | MDP3_HAS_REFERENCE,
				     .order_id = 5, .quantity = 2, .reference_id = 1, .action = MDP3_ACTION_NEW };

	printf("MBO: add, update with a new priority, delete, capacity\n");
	CHECK(order(book, i, MDP3_ACTION_DELETE, '0', 1, P(10), 0, UINT64_MAX) == -EINVAL && book->stats.unknown_order == 1);
	CHECK(order(book, i, MDP3_ACTION_NEW, '0', 1, P(10), 5, 100) == 0);
	CHECK(order(book, i, MDP3_ACTION_NEW, '0', 2, P(10), 6, 90) == 0);
	/* The same OrderID in another instrument is another order. */
	CHECK(order(book, j, MDP3_ACTION_NEW, '1', 1, P(11), 1, UINT64_MAX) == 0);
	CHECK(strcmp(dump(book, 2), "f #300 B 10.000000000 6 90 2\nf #300 B 10.000000000 5 100 1\n"
				    "f #301 S 11.000000000 1 - 1\n") == 0);
	/* Full: a fourth order is refused and the books do not change. */
	CHECK(order(book, i, MDP3_ACTION_NEW, '1', 3, P(12), 1, 1) == -ENOSPC && book->stats.orders_full == 1);
	/* An update of a live order at capacity is not a new one: quantity up, a new (worse) priority. */
	CHECK(order(book, i, MDP3_ACTION_CHANGE, '0', 2, P(10), 8, 120) == 0);
	CHECK(strcmp(dump(book, 2), "f #300 B 10.000000000 5 100 1\nf #300 B 10.000000000 8 120 2\n"
				    "f #301 S 11.000000000 1 - 1\n") == 0);
	/* A null priority keeps the old one. */
	CHECK(order(book, i, MDP3_ACTION_CHANGE, '0', 2, P(9), 4, UINT64_MAX) == 0);
	CHECK(strcmp(dump(book, 2), "f #300 B 10.000000000 5 100 1\nf #300 B 9.000000000 4 120 2\n"
				    "f #301 S 11.000000000 1 - 1\n") == 0);
	CHECK(order(book, i, MDP3_ACTION_DELETE, '0', 1, 0, 0, UINT64_MAX) == 0);
	/* 46's order entry takes side and price from the entry its ReferenceID names. */
	CHECK(mdp3_apply_order(book, j, &by_ref, &ref) == 0);
	CHECK(strcmp(dump(book, 2), "f #300 B 9.000000000 4 120 2\nf #301 S 7.000000000 2 - 5\n"
				    "f #301 S 11.000000000 1 - 1\n") == 0);
	/* Update of an unknown order adds it (counted); at capacity it is refused. */
	CHECK(order(book, i, MDP3_ACTION_CHANGE, '1', 9, P(12), 1, 1) == -ENOSPC && book->stats.unknown_order == 2);
	CHECK(order(book, j, MDP3_ACTION_DELETE, '1', 1, 0, 0, UINT64_MAX) == 0);
	CHECK(order(book, i, MDP3_ACTION_CHANGE, '1', 9, P(12), 1, 1) == 0 && book->stats.unknown_order == 3);
	/* A null price is never a level, nor an order's. */
	by_ref.present &= ~(uint32_t)MDP3_HAS_REFERENCE;
	by_ref.entry_type = '0';
	CHECK(mdp3_apply_order(book, i, &by_ref, NULL) == -EINVAL && book->stats.null_price == 1);
	CHECK(mdp3_book_check(book) && book->orders.count == 3);
	/* A channel reset empties the books and keeps the instruments. */
	mdp3_book_clear(book);
	CHECK(strcmp(dump(book, 2), "") == 0 && book->instruments_count == 2 && mdp3_book_check(book));
	mdp3_book_destroy(book);
}

static void test_snapshot_and_dump(void)
{
	struct mdp3_book *book = make_book(8, 16, 10, 2);
	int32_t a, b, c;
	struct mdp3_md_entry e;
	struct mdp3_order o = { .present = MDP3_HAS_ORDER_ID | MDP3_HAS_PRICE | MDP3_HAS_QUANTITY | MDP3_HAS_PRIORITY,
				.order_id = 4, .priority = 3, .price = P(-2), .quantity = 1, .entry_type = '1' };

	printf("snapshots replace the books; the dump's symbols, order and prices\n");
	define(book, 20, "ZZZ\0\0\0", 0, 0, 'A');
	define(book, 21, "AAA  ", 0, 0, 'A');
	c = mdp3_book_instrument_get(book, 3);
	a = mdp3_book_instrument_find(book, 21);
	b = mdp3_book_instrument_find(book, 20);
	CHECK(apply(book, a, '0', MDP3_ACTION_NEW, 1, P(1), 1, 1) == 0);
	mdp3_book_snapshot_begin(book, a);
	e = level_entry('1', MDP3_ACTION_NEW, 2, P(-1) - 500000000, 3, 2);
	CHECK(mdp3_apply_snapshot_entry(book, a, &e) == 0);
	e = level_entry('1', MDP3_ACTION_NEW, 1, P(-1), 4, 1);
	CHECK(mdp3_apply_snapshot_entry(book, a, &e) == -EINVAL && book->stats.out_of_order == 1);
	e = level_entry('0', MDP3_ACTION_NEW, 1, P(-2), 5, 2);
	e.present &= ~(uint32_t)(MDP3_HAS_ORDERS | MDP3_HAS_SIZE);
	CHECK(mdp3_apply_snapshot_entry(book, b, &e) == 0);
	e.present &= ~(uint32_t)MDP3_HAS_LEVEL;
	CHECK(mdp3_apply_snapshot_entry(book, b, &e) == -EINVAL);
	e = level_entry('6', MDP3_ACTION_NEW, 1, P(4), 5, 2);
	CHECK(mdp3_apply_snapshot_entry(book, c, &e) == 0);
	CHECK(apply(book, c, '1', MDP3_ACTION_NEW, 1, 123456789, 1, 0) == 0);
	mdp3_book_order_snapshot_begin(book, a);
	CHECK(mdp3_apply_order(book, a, &o, NULL) == 0);
	/* By symbol (byte order), #SecurityID first ('#' < 'A'); a null order count prints 0. */
	CHECK(strcmp(dump(book, 0), "f #3 S 0.123456789 1 0\nf AAA S -1.500000000 3 2\nf ZZZ B -2.000000000 0 0\n") == 0);
	CHECK(strcmp(dump(book, 2), "f AAA S -2.000000000 1 3 4\n") == 0);
	/* 'D' forgets the symbol and the books. */
	define(book, 21, "AAA", 0, 0, 'D');
	CHECK(strcmp(dump(book, 0), "f #3 S 0.123456789 1 0\nf ZZZ B -2.000000000 0 0\n") == 0);
	CHECK(strcmp(dump(book, 2), "") == 0 && mdp3_book_check(book));
	mdp3_book_destroy(book);
}

/* Walks a built packet: every 46/47 entry and order, or every 52 entry, applied as the feed will. */
static void apply_packet(struct mdp3_book *book, const struct build *b)
{
	struct mdp3_stats stats = { 0 };
	struct mdp3_packet packet;
	struct mdp3_message m;
	struct mdp3_md_entry e, reference;
	struct mdp3_order o;
	struct mdp3_snapshot snapshot;

	CHECK(mdp3_packet_open(&packet, b->b, b->n, &stats) == 0);
	while (mdp3_packet_next(&packet, &stats, &m)) {
		uint32_t entries = m.template_id == MDP3_ORDER_BOOK ? 0 : mdp3_md_entries(&m);
		int32_t i = -1;

		if (m.template_id == MDP3_SNAPSHOT) {
			CHECK(mdp3_snapshot_read(&m, &snapshot, &stats));
			i = mdp3_book_instrument_get(book, snapshot.security_id);
			mdp3_book_snapshot_begin(book, i);
		}

		for (uint32_t k = 0; k < entries; k++) {
			CHECK(mdp3_md_entry_read(&m, k, &e, &stats));
			if (m.template_id == MDP3_SNAPSHOT) {
				mdp3_apply_snapshot_entry(book, i, &e);
			} else {
				mdp3_apply_entry(book, mdp3_book_instrument_get(book, e.security_id), &e);
			}
		}
		for (uint32_t k = 0; m.template_id != MDP3_SNAPSHOT && k < mdp3_orders(&m); k++) {
			CHECK(mdp3_order_read(&m, k, &o, &stats));
			if (m.template_id == MDP3_ORDER_BOOK)
				mdp3_apply_order(book, mdp3_book_instrument_get(book, o.security_id), &o, NULL);
			else if (mdp3_apply_order_reference(book, &m, &o, &reference, &stats))
				mdp3_apply_order(book, mdp3_book_instrument_get(book, reference.security_id), &o,
						      &reference);
		}
	}
	CHECK(stats.messages > 0 && stats.bad_length == 0 && stats.bad_field == 0 && stats.bad_framing == 0);
}

/* A 46 book entry (cme-mdp3.md §5: 32 bytes, v9). */
static void put_book_entry(uint8_t *e, int64_t price, int32_t size, int32_t security_id, int32_t orders,
			   uint8_t level, uint8_t action, char type)
{
	put64(e + 0, (uint64_t)price);
	put32(e + 8, (uint32_t)size);
	put32(e + 12, (uint32_t)security_id);
	put32(e + 16, 1);
	put32(e + 20, (uint32_t)orders);
	e[24] = level;
	e[25] = action;
	e[26] = (uint8_t)type;
}

/* A 46 order entry (24 bytes) naming NoMDEntries entry `reference`. */
static void put_book_order(uint8_t *e, uint64_t id, uint64_t priority, int32_t qty, uint8_t reference, uint8_t action)
{
	put64(e + 0, id);
	put64(e + 8, priority);
	put32(e + 16, (uint32_t)qty);
	e[20] = reference;
	e[21] = action;
}

/* A 52 entry (22 bytes). */
static void put_snapshot_entry(uint8_t *e, int64_t price, int32_t size, int32_t orders, uint8_t level, char type)
{
	put64(e, (uint64_t)price);
	put32(e + 8, (uint32_t)size);
	put32(e + 12, (uint32_t)orders);
	e[16] = level;
	e[21] = (uint8_t)type;
}

static void test_from_wire(void)
{
	struct mdp3_book *book = make_book(8, 16, 10, 2);
	struct build b;
	uint8_t *e;

	printf("decoded 46, 47 and 52 messages applied to the books\n");
	/* 46: a bid, an offer and an implied bid; orders naming the bid, the offer, the implied one. */
	packet_begin(&b, 1, 0);
	message_begin(&b, 11, 46, 1, 9);
	e = group3(&b, 32, 3);
	put_book_entry(e, 4500250000000, 10, 77, 2, 1, 0, '0');
	put_book_entry(e + 32, 4500500000000, 5, 77, 1, 1, 0, '1');
	put_book_entry(e + 64, 4500000000000, 3, 77, INT32_MAX, 1, 0, 'E');
	e = group8(&b, 24, 4);
	put_book_order(e, 1001, 5, 10, 1, 0);
	put_book_order(e + 24, 1002, UINT64_MAX, 5, 2, 0);
	put_book_order(e + 48, 1003, 1, 3, 3, 0);
	put_book_order(e + 72, 1004, 1, 3, 4, 0);
	message_end(&b);
	/* 47: order 1001 updated (quantity up, priority 9). */
	message_begin(&b, 11, 47, 1, 9);
	e = group3(&b, 40, 1);
	put64(e + 0, 1001);
	put64(e + 8, 9);
	put64(e + 16, 4500250000000);
	put32(e + 24, 12);
	put32(e + 28, 77);
	e[32] = 1;
	e[33] = '0';
	message_end(&b);
	apply_packet(book, &b);
	CHECK(strcmp(dump(book, 0), "f #77 B 4500.250000000 10 2\nf #77 S 4500.500000000 5 1\n") == 0);
	CHECK(strcmp(dump(book, 1), "f #77 B 4500.000000000 3 0\n") == 0);
	CHECK(strcmp(dump(book, 2), "f #77 B 4500.250000000 12 9 1001\nf #77 S 4500.500000000 5 - 1002\n") == 0);
	CHECK(book->stats.bad_reference == 2);
	/* 52 for SecurityID 77: the bid at level 1, an offer at level 2 (level 1 empty). */
	packet_begin(&b, 1, 0);
	e = message_begin(&b, 59, 52, 1, 9);
	put32(e + 8, 77);
	put64(e + 35, (uint64_t)INT64_MAX);
	put64(e + 43, (uint64_t)INT64_MAX);
	put64(e + 51, (uint64_t)INT64_MAX);
	e = group3(&b, 22, 2);
	put_snapshot_entry(e, 4499750000000, 7, 3, 1, '0');
	put_snapshot_entry(e + 22, 4501000000000, 1, 1, 2, '1');
	message_end(&b);
	apply_packet(book, &b);
	CHECK(strcmp(dump(book, 0), "f #77 B 4499.750000000 7 3\nf #77 S 4501.000000000 1 1\n") == 0);
	CHECK(strcmp(dump(book, 1), "") == 0);
	CHECK(mdp3_book_check(book));
	mdp3_book_destroy(book);
}

/* Breaks one thing at a time; the check must see each, and pass again once it is put back. */
static void test_check_catches(void)
{
	int32_t i;
	struct mdp3_book *book = defined_book(11, "X", 5, &i);
	struct mdp3_instrument *in;
	struct level_book_level *bids, *asks, saved;
	struct order_book_order saved_order;
	uint32_t saved_index;

	printf("mdp3_book_check refuses broken books\n");
	in = &book->instruments[i];
	fill_five(book, i);
	CHECK(apply(book, i, '0', MDP3_ACTION_DELETE, 3, 0, 0, 0) == 0);	/* bids 105 104 102 101 */
	CHECK(order(book, i, MDP3_ACTION_NEW, '0', 1, P(105), 1, 1) == 0);
	CHECK(order(book, i, MDP3_ACTION_NEW, '0', 2, P(105), 1, 2) == 0);
	CHECK(mdp3_book_check(book));
	bids = level_book_side(&in->mbp, BOOK_SIDE_BID);
	asks = level_book_side(&in->mbp, BOOK_SIDE_ASK);

	/* Two bids out of order. */
	saved = bids[0];
	bids[0] = bids[1];
	bids[1] = saved;
	CHECK(!mdp3_book_check(book));
	bids[1] = bids[0];
	bids[0] = saved;
	CHECK(mdp3_book_check(book));
	/* Equal prices on a side. */
	saved = asks[1];
	asks[1].price = asks[0].price;
	CHECK(!mdp3_book_check(book));
	asks[1] = saved;
	/* Offers descending. */
	saved = asks[4];
	asks[4].price = P(100);
	CHECK(!mdp3_book_check(book));
	asks[4] = saved;
	/* A count that disagrees with the slots. */
	in->mbp.count[BOOK_SIDE_BID]++;
	CHECK(!mdp3_book_check(book));
	in->mbp.count[BOOK_SIDE_BID]--;
	/* A level past the depth (slot 6 of a 5-deep book within a 10-slot capacity). */
	bids[6] = (struct level_book_level){ .price = P(1), .shares = 1, .orders = 1, .used = 1 };
	in->mbp.count[BOOK_SIDE_BID]++;
	CHECK(!mdp3_book_check(book));
	bids[6] = (struct level_book_level){ 0 };
	in->mbp.count[BOOK_SIDE_BID]--;
	/* An empty slot holding a stale level. */
	bids[4].price = P(1);
	CHECK(!mdp3_book_check(book));
	bids[4].price = 0;
	/* The null price as a level. */
	saved = bids[3];
	bids[3].price = INT64_MAX;
	CHECK(!mdp3_book_check(book));
	bids[3] = saved;
	/* A depth past the capacity. */
	in->mbp.depth = 11;
	CHECK(!mdp3_book_check(book));
	in->mbp.depth = 5;
	/* An implied book pointing at another's slots. */
	in->implied.levels = in->mbp.levels;
	CHECK(!mdp3_book_check(book));
	in->implied.levels = in->mbp.levels + 2 * 10;
	CHECK(mdp3_book_check(book));
	/* The map naming the wrong instrument. */
	in->security_id = 12;
	CHECK(!mdp3_book_check(book));
	in->security_id = 11;
	/* An order's price made null, its instrument changed, a list count off, a slot lost. */
	saved_order = book->orders.orders[0];
	book->orders.orders[0].price = INT64_MAX;
	CHECK(!mdp3_book_check(book));
	book->orders.orders[0] = saved_order;
	book->orders.counts[i]++;
	CHECK(!mdp3_book_check(book));
	book->orders.counts[i]--;
	for (uint64_t s = 0; s <= book->orders.mask; s++) {
		if (book->orders.slots[s] == 0) {
			saved_index = book->orders.slots[s];
			book->orders.slots[s] = ORDER_BOOK_NONE;
			CHECK(!mdp3_book_check(book));
			book->orders.slots[s] = saved_index;
		}
	}
	CHECK(mdp3_book_check(book));
	mdp3_book_destroy(book);
}

/* --- the naive model: plain arrays, memmove, brute-force checks --- */

#define NAIVE_INSTRUMENTS 6
#define NAIVE_DEPTH_MAX 12
#define NAIVE_ORDERS_MAX 96

struct naive_level {
	int64_t price;
	uint64_t shares;
	uint32_t orders;
	int used;
};

struct naive_book {
	int depth;
	struct naive_level side[2][NAIVE_DEPTH_MAX];
};

struct naive_order {
	int instrument;
	uint64_t id, priority, quantity;
	int64_t price;
	int side;
};

static struct naive_book naive_mbp[NAIVE_INSTRUMENTS], naive_implied[NAIVE_INSTRUMENTS];
static struct naive_order naive_orders[NAIVE_ORDERS_MAX];
static int naive_orders_count;

/* Whether a side's filled slots are strictly in price order: every pair compared. */
static int naive_sorted(const struct naive_book *nb, int side)
{
	for (int a = 0; a < NAIVE_DEPTH_MAX; a++) {
		for (int b = a + 1; b < NAIVE_DEPTH_MAX; b++) {
			if (!nb->side[side][a].used || !nb->side[side][b].used)
				continue;
			if (side == 0 ? nb->side[side][a].price <= nb->side[side][b].price
				      : nb->side[side][a].price >= nb->side[side][b].price)
				return 0;
		}
	}
	return 1;
}

/* The naive book's answer to an entry: 0 applied, -1 refused. */
static int naive_apply(struct naive_book *nb, int side, int action, int level, int64_t price, uint64_t shares,
		       uint32_t orders)
{
	struct naive_book before = *nb;
	struct naive_level *s = nb->side[side];
	int d = nb->depth;

	if ((action <= 2 || action == 5) && (level < 1 || level > d))
		return -1;
	switch (action) {
	case 0:
		memmove(&s[level], &s[level - 1], (size_t)(d - level) * sizeof(*s));
		s[level - 1] = (struct naive_level){ price, shares, orders, 1 };
		break;
	case 1:
	case 5:
		s[level - 1] = (struct naive_level){ price, shares, orders, 1 };
		break;
	case 2:
		memmove(&s[level - 1], &s[level], (size_t)(d - level) * sizeof(*s));
		memset(&s[d - 1], 0, sizeof(*s));
		break;
	case 3:
		memset(s, 0, sizeof(nb->side[side]));
		break;
	case 4:
		for (int k = 0; k < level; k++) {
			memmove(&s[0], &s[1], (size_t)(d - 1) * sizeof(*s));
			memset(&s[d - 1], 0, sizeof(*s));
		}
		break;
	}
	if (!naive_sorted(nb, side)) {
		*nb = before;
		return -1;
	}
	return 0;
}

static void naive_depth(struct naive_book *nb, int depth)
{
	for (int side = 0; side < 2; side++)
		for (int k = depth; k < NAIVE_DEPTH_MAX; k++)
			memset(&nb->side[side][k], 0, sizeof(nb->side[side][k]));
	nb->depth = depth;
}

static int naive_order_find(int instrument, uint64_t id)
{
	for (int k = 0; k < naive_orders_count; k++)
		if (naive_orders[k].instrument == instrument && naive_orders[k].id == id)
			return k;
	return -1;
}

static void naive_order_remove_at(int k)
{
	naive_orders[k] = naive_orders[--naive_orders_count];
}

static void naive_instrument_orders_clear(int instrument)
{
	for (int k = naive_orders_count; k-- > 0;)
		if (naive_orders[k].instrument == instrument)
			naive_order_remove_at(k);
}

static int compare_with_naive(const struct mdp3_book *book)
{
	for (int n = 0; n < NAIVE_INSTRUMENTS; n++) {
		const struct mdp3_instrument *in = &book->instruments[n];
		const struct naive_book *nbs[2] = { &naive_mbp[n], &naive_implied[n] };
		const struct level_book *lbs[2] = { &in->mbp, &in->implied };

		for (int b = 0; b < 2; b++) {
			if (lbs[b]->depth != nbs[b]->depth)
				return 0;
			for (int side = 0; side < 2; side++) {
				const struct level_book_level *slots = level_book_side(lbs[b], (enum book_side)side);

				for (int k = 0; k < nbs[b]->depth; k++) {
					const struct naive_level *l = &nbs[b]->side[side][k];

					if ((int)slots[k].used != l->used ||
					    (l->used && (slots[k].price != l->price || slots[k].shares != l->shares ||
							 slots[k].orders != l->orders)))
						return 0;
				}
			}
		}
	}
	if ((int)book->orders.count != naive_orders_count)
		return 0;
	for (int k = 0; k < naive_orders_count; k++) {
		const struct naive_order *no = &naive_orders[k];
		uint32_t index = order_book_find(&book->orders, (uint32_t)no->instrument, no->id);
		const struct order_book_order *o;

		if (index == ORDER_BOOK_NONE)
			return 0;
		o = &book->orders.orders[index];
		if (o->price != no->price || o->quantity != no->quantity || o->priority != no->priority ||
		    o->side != no->side)
			return 0;
	}
	return 1;
}

/*
 * A price for an entry at `level` of a side: mostly one that fits between the
 * neighbours the action leaves it (accepted), sometimes any price of the band.
 */
static int64_t random_price(const struct naive_book *nb, int side, int action, int level)
{
	int64_t base = side == 0 ? P(1000) : P(1001), p = base;

	for (int tries = 0; tries < 6; tries++) {
		int a = level - 2, b = action == 0 ? level - 1 : level, ok = 1;

		p = side == 0 ? base - (int64_t)(check_rng() % 60) * 1000000 : base + (int64_t)(check_rng() % 60) * 1000000;
		if (check_rng() % 8 == 0)
			return p;
		while (a >= 0 && !nb->side[side][a].used)
			a--;
		while (b >= 0 && b < nb->depth && !nb->side[side][b].used)
			b++;
		if (a >= 0 && (side == 0 ? nb->side[side][a].price <= p : nb->side[side][a].price >= p))
			ok = 0;
		if (b >= 0 && b < nb->depth - (action == 0) &&
		    (side == 0 ? nb->side[side][b].price >= p : nb->side[side][b].price <= p))
			ok = 0;
		if (ok)
			return p;
	}
	return p;
}

static void test_random_differential(uint64_t seed, int ops)
{
	struct mdp3_book *book = make_book(NAIVE_INSTRUMENTS, NAIVE_ORDERS_MAX, NAIVE_DEPTH_MAX, 3);
	uint64_t allocations;
	int mismatches = 0, refused = 0, applied = 0, full = 0;

	printf("random differential against the naive model, %d operations (seed %" PRIu64 ")\n", ops, seed);
	check_rng_state = seed;
	memset(naive_mbp, 0, sizeof(naive_mbp));
	memset(naive_implied, 0, sizeof(naive_implied));
	naive_orders_count = 0;
	for (int n = 0; n < NAIVE_INSTRUMENTS; n++) {
		CHECK(mdp3_book_instrument_get(book, 5000 + n * 13) == n);
		naive_mbp[n].depth = 10;
		naive_implied[n].depth = 2;
	}
	allocations = memory_allocations();
	for (int op = 0; op < ops; op++) {
		int n = (int)(check_rng() % NAIVE_INSTRUMENTS);
		uint64_t r = check_rng() % 1000;
		int rc, expect;

		if (r < 6) {
			/* A definition: new depths (0: unchanged; past the capacity: cut). */
			int8_t depth = (int8_t)(check_rng() % 15), implied = (int8_t)(check_rng() % 5);
			struct mdp3_definition d = { .security_id = 5000 + n * 13, .depth = depth, .implied_depth = implied,
						     .update_action = 'M', .symbol = "S" };

			CHECK(mdp3_apply_definition(book, &d) == 0);
			if (depth >= 1)
				naive_depth(&naive_mbp[n], depth > NAIVE_DEPTH_MAX ? NAIVE_DEPTH_MAX : depth);
			if (implied >= 1)
				naive_depth(&naive_implied[n], implied > 3 ? 3 : implied);
		} else if (r < 8) {
			struct mdp3_md_entry e = level_entry('J', 0, 0, 0, 0, 0);

			CHECK(mdp3_apply_entry(book, n, &e) == 0);
			memset(naive_mbp[n].side, 0, sizeof(naive_mbp[n].side));
			memset(naive_implied[n].side, 0, sizeof(naive_implied[n].side));
			naive_instrument_orders_clear(n);
		} else if (r < 9) {
			mdp3_book_clear(book);
			for (int k = 0; k < NAIVE_INSTRUMENTS; k++) {
				memset(naive_mbp[k].side, 0, sizeof(naive_mbp[k].side));
				memset(naive_implied[k].side, 0, sizeof(naive_implied[k].side));
			}
			naive_orders_count = 0;
		} else if (r < 600) {
			/* A level update: mostly New, Change and Delete, some DeleteThru/From/Overlay. */
			int implied = check_rng() % 4 == 0, side = (int)(check_rng() % 2);
			struct naive_book *nb = implied ? &naive_implied[n] : &naive_mbp[n];
			uint64_t a = check_rng() % 100;
			int action = a < 45 ? 0 : a < 70 ? 1 : a < 92 ? 2 : a < 95 ? 3 : a < 98 ? 4 : 5;
			int level = check_rng() % 10 == 0 ? (int)(check_rng() % (uint64_t)(nb->depth + 2))
							  : 1 + (int)(check_rng() % (uint64_t)nb->depth);
			int64_t price = random_price(nb, side, action, level);
			uint64_t shares = check_rng() % 500;
			uint32_t orders = (uint32_t)(check_rng() % 30);
			char type = implied ? (side ? 'F' : 'E') : (side ? '1' : '0');

			expect = naive_apply(nb, side, action, level, price, shares, orders);
			rc = apply(book, n, type, (uint8_t)action, (uint8_t)level, price, shares, orders);
			if ((rc == 0) != (expect == 0) && mismatches++ == 0)
				printf("  FAIL: op %d: entry %c action %d level %d: %d, the model %d (seed %" PRIu64 ")\n", op,
				       type, action, level, rc, expect, seed);
			refused += rc != 0;
			applied += rc == 0;
		} else {
			/* An order update of one of 64 ids: New, Update or Delete. */
			uint64_t id = check_rng() % 64, a = check_rng() % 3;
			int side = (int)(check_rng() % 2), k = naive_order_find(n, id);
			int64_t price = side == 0 ? P(1000) - (int64_t)(check_rng() % 10) : P(1001) + (int64_t)(check_rng() % 10);
			uint64_t qty = check_rng() % 100, priority = check_rng() % 5 == 0 ? UINT64_MAX : check_rng() % 1000;

			rc = order(book, n, (uint8_t)a, side ? '1' : '0', id, price, qty, priority);
			if (a == 2) {
				expect = k >= 0 ? 0 : -EINVAL;
				if (k >= 0)
					naive_order_remove_at(k);
			} else if (k >= 0) {
				expect = 0;
				naive_orders[k].side = side;
				naive_orders[k].price = price;
				naive_orders[k].quantity = qty;
				if (priority != UINT64_MAX)
					naive_orders[k].priority = priority;
			} else if (naive_orders_count == NAIVE_ORDERS_MAX) {
				expect = -ENOSPC;
			} else {
				expect = 0;
				naive_orders[naive_orders_count++] = (struct naive_order){ n, id, priority, qty, price, side };
			}
			full += rc == -ENOSPC;
			if (rc != expect && mismatches++ == 0)
				printf("  FAIL: op %d: order %" PRIu64 " action %" PRIu64 ": %d, the model %d (seed %" PRIu64 ")\n",
				       op, id, a, rc, expect, seed);
		}
		if (op % 97 == 0 && !(compare_with_naive(book) && mdp3_book_check(book)) && mismatches++ == 0)
			printf("  FAIL: books differ from the model at op %d (seed %" PRIu64 ")\n", op, seed);
	}
	CHECK(mismatches == 0);
	CHECK(compare_with_naive(book) && mdp3_book_check(book));
	CHECK(memory_allocations() == allocations);
	/* The run must have exercised both outcomes and the capacity. */
	printf("  %d level updates applied, %d refused (%" PRIu64 " bad level, %" PRIu64 " out of order), %d orders refused at capacity\n",
	       applied, refused, book->stats.bad_level, book->stats.out_of_order, full);
	CHECK(applied > ops / 10 && refused > ops / 100 && full > 0);
	mdp3_book_destroy(book);
}

int main(int argc, char **argv)
{
	uint64_t seed = check_seed(argc, argv);

	test_refusals();
	test_map_full();
	test_order_collisions();
	test_level_shifting();
	test_delete_thru_from();
	test_implied();
	test_orders();
	test_snapshot_and_dump();
	test_from_wire();
	test_check_catches();
	test_random_differential(seed, 200000);
	test_random_differential(seed ^ 0x5eed, 200000);
	printf("%s (seed %" PRIu64 ")\n", failures ? "FAIL" : "PASS", seed);
	return failures ? 1 : 0;
}
