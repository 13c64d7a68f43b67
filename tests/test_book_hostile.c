/*
 * test_book_hostile: the book against input chosen to hurt it, every operation checked.
 * test_book covers the common shapes; this one goes to the edges the pooled, chunked
 * book of issue 11 has: level capacities below, at and just past a chunk (1, 2, 29,
 * 30, 31, 59, 60, 61), one instrument, one order, prices at the ends of int64 and of
 * ITCH's uint32, sawtooth inserts and removals that split and merge chunks at their
 * edges, levels whose hash home slots coincide (and wrap the table), book_reset in
 * the middle of a session, price-level books (book_level_set) filling the level pool,
 * the prefetch stages on stale slots and arbitrary bytes (run under ASan+UBSan by
 * `make test`), a chunk split at each of its ranks and merged both ways with keys up
 * to INT64_MAX (the padding's key), and book_check shown to refuse each kind of
 * broken side (padding, base, side list, a level naming the wrong chunk). The
 * reference here keeps levels as a flat list updated per operation, so every
 * operation's return code, result and refusal is checked against it, and the book's
 * sides after it. Usage: test_book_hostile [seed] (or FH_SEED).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/book.h"
#include "decoders/nasdaq/itch50.h"
#include "tests/check.h"

#define REF_ORDERS_MAX 4096
#define REF_LEVELS_MAX 4096
#define REF_DEPTH_MAX 4096

struct ref_order {
	uint64_t ref;
	int32_t instrument;
	int side;
	int64_t price;
	uint32_t shares;
};

struct ref_level {
	int32_t instrument;
	int side;
	int64_t price;
	uint64_t shares;
	uint32_t orders;
};

/* The reference book: orders and the levels they make, both unordered lists. */
static struct ref_order ref_orders[REF_ORDERS_MAX];
static uint32_t ref_orders_count;
static struct ref_level ref_levels[REF_LEVELS_MAX];
static uint32_t ref_levels_count;

static void ref_clear(void)
{
	ref_orders_count = ref_levels_count = 0;
}

static struct ref_order *ref_order_find(uint64_t ref)
{
	for (uint32_t i = 0; i < ref_orders_count; i++)
		if (ref_orders[i].ref == ref)
			return &ref_orders[i];
	return NULL;
}

static struct ref_level *ref_level_find(int32_t instrument, int side, int64_t price)
{
	for (uint32_t i = 0; i < ref_levels_count; i++)
		if (ref_levels[i].instrument == instrument && ref_levels[i].side == side &&
		    ref_levels[i].price == price)
			return &ref_levels[i];
	return NULL;
}

static uint32_t ref_depth(int32_t instrument, int side)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < ref_levels_count; i++)
		n += ref_levels[i].instrument == instrument && ref_levels[i].side == side;
	return n;
}

/* Adds (or, negative, takes) shares and orders at a level; a level left with no order goes. */
static void ref_level_change(int32_t instrument, int side, int64_t price, int64_t shares,
			     int32_t orders)
{
	struct ref_level *l = ref_level_find(instrument, side, price);

	if (l == NULL) {
		l = &ref_levels[ref_levels_count++];
		*l = (struct ref_level){ instrument, side, price, 0, 0 };
	}
	l->shares = (uint64_t)((int64_t)l->shares + shares);
	l->orders = (uint32_t)((int32_t)l->orders + orders);
	if (l->orders == 0)
		*l = ref_levels[--ref_levels_count];
}

static void ref_order_remove(struct ref_order *o)
{
	ref_level_change(o->instrument, o->side, o->price, -(int64_t)o->shares, -1);
	*o = ref_orders[--ref_orders_count];
}

static int ref_level_better(const void *a, const void *b)
{
	const struct ref_level *x = a, *y = b;

	/* Best first: bids descending, asks ascending. */
	if (x->price == y->price)
		return 0;
	return (x->side == BOOK_SIDE_BID) == (x->price > y->price) ? -1 : 1;
}

/* Every side of every instrument, its count and its top, equal the reference's. */
static bool ref_matches(const struct book *book, uint32_t instruments)
{
	static struct book_level_info got[REF_DEPTH_MAX];
	static struct ref_level want[REF_DEPTH_MAX];

	for (uint32_t in = 0; in < instruments; in++) {
		struct book_top top;

		book_top_get(book, (int32_t)in, &top);
		for (int side = 0; side < BOOK_SIDES; side++) {
			uint32_t n = 0, count;

			for (uint32_t i = 0; i < ref_levels_count; i++)
				if (ref_levels[i].instrument == (int32_t)in && ref_levels[i].side == side)
					want[n++] = ref_levels[i];
			qsort(want, n, sizeof(want[0]), ref_level_better);
			count = book_side_levels(book, (int32_t)in, (enum book_side)side, got, REF_DEPTH_MAX);
			if (count != n || book_side_count(book, (int32_t)in, (enum book_side)side) != n)
				return false;
			for (uint32_t l = 0; l < n; l++)
				if (got[l].price != want[l].price || got[l].shares != want[l].shares ||
				    got[l].orders != want[l].orders)
					return false;
			if (top.price[side] != (n ? want[0].price : INT64_MIN) ||
			    top.shares[side] != (n ? want[0].shares : 0))
				return false;
		}
	}
	return true;
}

/* What a refused operation must leave alone: everything a reader or the pools can see. */
struct book_snapshot {
	char dump[1 << 16];
	uint32_t levels_live;
	uint32_t orders;
	uint32_t chunks_used;
};

static void book_snapshot_take(struct book *book, struct book_snapshot *s)
{
	snprintf(s->dump, sizeof(s->dump), "%s", check_dump(book, "f"));
	s->levels_live = book->levels_live;
	s->orders = book->orders.count;
	s->chunks_used = book->chunks_used;
}

static bool book_snapshot_same(struct book *book, const struct book_snapshot *s)
{
	return strcmp(s->dump, check_dump(book, "f")) == 0 && s->levels_live == book->levels_live &&
	       s->orders == book->orders.count && book_check(book);
}

/* The shape of a hostile random run. */
struct hostile_shape {
	const char *name;
	uint32_t instruments;
	uint32_t orders_max;
	uint32_t levels_max;
	uint32_t ticks;		/* distinct prices near the touch per side */
	bool extremes;		/* also prices at the ends of int64 and uint32 */
	int ops;
	int check_every;	/* whole-book comparisons (every result is checked) */
};

static const int64_t extreme_prices[] = {
	0, 1, -1, UINT32_MAX, (int64_t)UINT32_MAX - 1, INT64_MAX, INT64_MAX - 1, INT64_MIN + 1,
	INT64_MIN + 2, (int64_t)1 << 62, -((int64_t)1 << 62),
};

static int64_t hostile_price(const struct hostile_shape *shape)
{
	if (shape->extremes && check_rng() % 4 == 0)
		return extreme_prices[check_rng() % (sizeof(extreme_prices) / sizeof(extreme_prices[0]))];
	return 1000000 + (int64_t)(check_rng() % shape->ticks) * 100;
}

/* The rc the book must give an add, from the reference. */
static int ref_add_expected(const struct hostile_shape *shape, uint64_t ref, int32_t in, int side,
			    int64_t price)
{
	if (ref_order_find(ref) != NULL)
		return -EEXIST;
	if (ref_orders_count >= shape->orders_max)
		return -ENOSPC;
	if (ref_level_find(in, side, price) == NULL && ref_depth(in, side) >= shape->levels_max)
		return -ENOSPC;
	return 0;
}

/* The one change an add or a reduce reports: the level as the reference has it now. */
static bool result_level_is(const struct book_result *r, uint32_t at, int32_t in, int side, int64_t price)
{
	const struct ref_level *l = ref_level_find(in, side, price);
	const struct book_change *c = &r->changes[at];

	return at < r->changes_count && c->instrument == in && c->side == side && c->price == price &&
	       c->orders == (l ? l->orders : 0) && (l == NULL || c->shares == l->shares);
}

static void hostile_add(struct book *book, const struct hostile_shape *shape, uint64_t ref, int *bad)
{
	static struct book_snapshot before;
	int32_t in = (int32_t)(check_rng() % shape->instruments);
	int side = (int)(check_rng() % 2);
	int64_t price = hostile_price(shape);
	uint32_t shares = (uint32_t)(check_rng() % 1000);
	int expected = ref_add_expected(shape, ref, in, side, price);
	struct book_result r;
	int rc;

	if (expected != 0)
		book_snapshot_take(book, &before);
	rc = book_order_add(book, in, ref, (enum book_side)side, price, shares, &r);
	if (rc != expected) {
		(*bad)++;
		return;
	}
	if (rc != 0) {
		*bad += !book_snapshot_same(book, &before) || r.changes_count != 0;
		return;
	}
	ref_orders[ref_orders_count++] = (struct ref_order){ ref, in, side, price, shares };
	ref_level_change(in, side, price, shares, 1);
	*bad += r.changes_count != 1 || !result_level_is(&r, 0, in, side, price) ||
		r.order.price != price || r.order.shares != shares || r.order.remaining != shares;
}

static void hostile_reduce(struct book *book, uint64_t ref, bool all, int *bad)
{
	struct ref_order *o = ref_order_find(ref);
	uint32_t shares = all ? UINT32_MAX : (uint32_t)(check_rng() % 600);
	struct book_result r;
	struct ref_order was;
	int rc = all ? book_order_delete(book, ref, &r) : book_order_reduce(book, ref, shares, &r);

	if (o == NULL) {
		*bad += rc != -ENOENT || r.changes_count != 0;
		return;
	}
	was = *o;
	if (shares >= o->shares) {
		ref_order_remove(o);
	} else {
		o->shares -= shares;
		ref_level_change(o->instrument, o->side, o->price, -(int64_t)shares, 0);
	}
	*bad += rc != 0 || r.changes_count != 1 || !result_level_is(&r, 0, was.instrument, was.side, was.price) ||
		r.order.price != was.price || r.order.shares != was.shares ||
		r.order.remaining != (shares >= was.shares ? 0 : was.shares - shares);
}

/* A replace: the old order leaves first; a refused new order leaves the result a delete. */
static void hostile_replace(struct book *book, const struct hostile_shape *shape, uint64_t old_ref,
			    uint64_t new_ref, int *bad)
{
	struct ref_order *o = ref_order_find(old_ref);
	int64_t price = check_rng() % 3 == 0 && o ? o->price : hostile_price(shape);
	uint32_t shares = (uint32_t)(check_rng() % 1000);
	struct book_result r;
	struct ref_order was;
	int rc = book_order_replace(book, old_ref, new_ref, price, shares, &r), expected;

	if (o == NULL) {
		*bad += rc != -ENOENT || r.changes_count != 0;
		return;
	}
	was = *o;
	ref_order_remove(o);
	expected = ref_add_expected(shape, new_ref, was.instrument, was.side, price);
	if (rc != expected) {
		(*bad)++;
		return;
	}
	if (rc != 0) {
		*bad += r.changes_count != 1 || r.order.price != was.price || r.order.shares != was.shares ||
			r.order.remaining != 0 || !result_level_is(&r, 0, was.instrument, was.side, was.price);
		return;
	}
	ref_orders[ref_orders_count++] = (struct ref_order){ new_ref, was.instrument, was.side, price, shares };
	ref_level_change(was.instrument, was.side, price, shares, 1);
	*bad += r.changes_count != 2 || !result_level_is(&r, 1, was.instrument, was.side, price) ||
		(was.price != price && !result_level_is(&r, 0, was.instrument, was.side, was.price)) ||
		r.order.price != price || r.order.shares != shares;
}

static void test_hostile_random(uint64_t seed, const struct hostile_shape *shape)
{
	struct book *book = book_create(shape->instruments, shape->orders_max, shape->levels_max);
	uint64_t next_ref = 1;
	int bad = 0, first_bad = -1;

	printf("hostile run %s: %u instruments, %u orders, %u levels, seed %" PRIu64 "\n", shape->name,
	       shape->instruments, shape->orders_max, shape->levels_max, seed);
	CHECK(book != NULL);
	if (book == NULL)
		return;
	check_rng_state = seed;
	ref_clear();
	for (uint32_t in = 0; in < shape->instruments; in++)
		CHECK(book_instrument_get(book, 65535 - in * 7, 4) == (int32_t)in);
	for (int op = 0; op < shape->ops && bad == 0; op++) {
		unsigned kind = (unsigned)(check_rng() % 100);
		struct ref_order *o = ref_orders_count ? &ref_orders[check_rng() % ref_orders_count] : NULL;
		uint64_t ref = o && check_rng() % 16 ? o->ref : next_ref + check_rng() % 4;

		if (kind < 45) {
			/* Now and then a reference already live: a duplicate. */
			hostile_add(book, shape, o && kind < 2 ? o->ref : next_ref, &bad);
			next_ref += 1 + check_rng() % 2;
		} else if (kind < 70) {
			hostile_reduce(book, ref, false, &bad);
		} else if (kind < 88) {
			hostile_reduce(book, ref, true, &bad);
		} else {
			/* The new reference is sometimes the old one, sometimes another live one. */
			uint64_t new_ref = kind < 90 ? ref : kind < 92 && o ? ref_orders[0].ref : next_ref++;

			hostile_replace(book, shape, ref, new_ref, &bad);
		}
		if (bad == 0 && op % shape->check_every == 0 &&
		    !(ref_matches(book, shape->instruments) && book_check(book)))
			bad++;
		if (bad && first_bad < 0)
			first_bad = op;
	}
	if (first_bad >= 0)
		printf("  FAIL: the book left the reference at op %d (seed %" PRIu64 ")\n", first_bad, seed);
	failures += bad;
	CHECK(ref_matches(book, shape->instruments) && book_check(book));
	CHECK(book->orders.count == ref_orders_count && book->levels_live == ref_levels_count);
	/* The run reached the capacity it is shaped for. */
	CHECK(book->stats.levels_full + book->stats.orders_full > 0 && book->stats.duplicate_order > 0);
	book_destroy(book);
}

/* Fills a side in a given order, then empties it in another, checking after every step. */
static void sawtooth(struct book *book, int32_t in, int side, uint32_t n, uint64_t *ref, int *bad)
{
	for (uint32_t pass = 0; pass < 4; pass++) {
		/* pass 0: ascending; 1: descending; 2: a stride of 11 from the middle; 3: even then odd */
		for (uint32_t i = 0; i < n; i++) {
			uint32_t tick = pass == 0 ? i : pass == 1 ? n - 1 - i : pass == 2 ? (i * 11 + n / 2) % n :
					(i < (n + 1) / 2 ? 2 * i : 2 * (i - (n + 1) / 2) + 1);

			*bad += book_order_add(book, in, (*ref)++, (enum book_side)side, 500 + tick, 1, NULL) != 0;
			*bad += !book_check(book);
		}
		*bad += book_side_count(book, in, (enum book_side)side) != n;
		/* Remove with a stride that crosses chunk edges, then the rest from the top. */
		for (uint64_t r = *ref - n; r < *ref; r += 3) {
			*bad += book_order_delete(book, r, NULL) != 0;
			*bad += !book_check(book);
		}
		for (uint64_t r = *ref; r-- > *ref - n;) {
			if (book_order_delete(book, r, NULL) == 0)
				*bad += !book_check(book);
		}
		*bad += book_side_count(book, in, (enum book_side)side) != 0 || book->levels_live != 0;
	}
}

static void test_sawtooth(void)
{
	static const uint32_t depths[] = { 1, 2, 15, 16, 29, 30, 31, 45, 46, 59, 60, 61, 91, 300 };
	int bad = 0;

	printf("sawtooth fills and drains: chunks split and merge at their edges\n");
	for (size_t d = 0; d < sizeof(depths) / sizeof(depths[0]); d++) {
		struct book *book = book_create(1, depths[d], depths[d]);
		int32_t in = book_instrument_get(book, 1, 4);
		uint64_t ref = 1;

		for (int side = 0; side < BOOK_SIDES; side++)
			sawtooth(book, in, side, depths[d], &ref, &bad);
		/* Both chunk pools went back: a second fill needs no new chunk. */
		CHECK(book->chunks_free != BOOK_NONE || book->chunks_used == 0);
		book_destroy(book);
	}
	CHECK(bad == 0);
}

/* Prices of a side whose level hash home is `home`, found by scanning upwards from start. */
static uint32_t colliding_prices(const struct book *book, int32_t in, int side, uint64_t home,
				 int64_t start, int64_t *out, uint32_t want)
{
	uint32_t owner = book_level_owner(in, side), n = 0;

	for (int64_t p = start; n < want && p < start + (int64_t)100000000; p++)
		if (book_level_home(book, owner, side == BOOK_SIDE_BID ? p : -p) == home)
			out[n++] = p;
	return n;
}

static void test_hash_collisions(void)
{
	/* 800 levels in the pool, 2048 hash slots. */
	struct book *book = book_create(2, 1000, 200);
	int32_t a = book_instrument_get(book, 10, 4), b = book_instrument_get(book, 11, 4);
	static int64_t bids[120], asks[120], others[60];
	uint64_t last = book->hash_mask;
	uint32_t nb, na, no, wrapped = 0;
	uint64_t ref = 1;
	int bad = 0;

	printf("levels whose hash home slots coincide, wrapping the table's end\n");
	nb = colliding_prices(book, a, BOOK_SIDE_BID, last, 1, bids, 120);
	na = colliding_prices(book, a, BOOK_SIDE_ASK, last, 1, asks, 120);
	no = colliding_prices(book, b, BOOK_SIDE_BID, last, 1, others, 60);
	CHECK(nb == 120 && na == 120 && no == 60);
	for (uint32_t i = 0; i < nb; i++) {
		bad += book_order_add(book, a, ref++, BOOK_SIDE_BID, bids[i], 1, NULL) != 0;
		if (i < na)
			bad += book_order_add(book, a, ref++, BOOK_SIDE_ASK, asks[i], 2, NULL) != 0;
		if (i < no)
			bad += book_order_add(book, b, ref++, BOOK_SIDE_BID, others[i], 3, NULL) != 0;
	}
	CHECK(bad == 0 && book_check(book));
	/* The probe chain ran past the last slot into the first ones. */
	for (uint64_t s = 0; s < 16; s++)
		wrapped += book->hash[s].owner != 0;
	CHECK(wrapped == 16);
	/* Take them out in an order that moves entries back across the wrap, adding some again. */
	for (uint64_t r = 1; r < ref; r += 2) {
		bad += book_order_delete(book, r, NULL) != 0;
		bad += !book_check(book);
	}
	for (uint32_t i = 0; i < 40; i++)
		bad += book_order_add(book, a, ref++, BOOK_SIDE_BID, bids[i], 5, NULL) != 0;
	for (uint64_t r = 2; r < ref; r += 2) {
		if (book_order_delete(book, r, NULL) == 0)
			bad += !book_check(book);
	}
	for (uint64_t r = 1; r < ref; r += 2)
		book_order_delete(book, r, NULL);
	CHECK(bad == 0 && book_check(book) && book->levels_live == 0);
	for (uint64_t s = 0; s <= book->hash_mask; s++)
		bad += book->hash[s].owner != 0;
	CHECK(bad == 0);
	book_destroy(book);
}

/* A fixed sequence of adds and removals, the same on any book with these capacities. */
static void reset_session(struct book *book, uint64_t seed)
{
	check_rng_state = seed;
	for (uint32_t in = 0; in < 3; in++)
		book_instrument_get(book, 100 + in, 4);
	for (int op = 0; op < 3000; op++) {
		uint64_t ref = 1 + check_rng() % 700;
		int32_t in = (int32_t)(check_rng() % 3);

		if (check_rng() % 3)
			book_order_add(book, in, ref, (enum book_side)(ref & 1), 100 + (int64_t)(check_rng() % 90),
				       1 + (uint32_t)(check_rng() % 9), NULL);
		else
			book_order_delete(book, ref, NULL);
	}
}

static void test_reset_mid_session(void)
{
	struct book *book = book_create(3, 512, 64), *fresh = book_create(3, 512, 64);
	static char dumped[1 << 16];
	uint32_t used = 0;

	printf("book_reset mid-session empties every pool; the book then behaves as a new one\n");
	reset_session(book, 7);
	CHECK(book_check(book) && book->levels_live > 0);
	book_reset(book);
	CHECK(book->instruments_count == 0 && book->orders.count == 0 && book->levels_live == 0);
	CHECK(book->levels_used == ORDER_FREE + 1 && book->levels_free == BOOK_NONE);
	CHECK(book->chunks_used == 0 && book->chunks_free == BOOK_NONE);
	for (uint64_t s = 0; s <= book->hash_mask; s++)
		used += book->hash[s].owner != 0;
	for (uint32_t k = 0; k < BOOK_INSTRUMENT_KEYS; k++)
		used += book->slot_by_key[k] != 0;
	for (uint64_t s = 0; s <= book->orders.mask; s++)
		used += order_used(&book->orders.slots[s]);
	CHECK(used == 0);
	CHECK(book_order_delete(book, 5, NULL) == -ENOENT);
	CHECK(strcmp(check_dump(book, "f"), "") == 0 && book_check(book));
	/* The same second session on the reset book and on a new one. */
	reset_session(book, 8);
	reset_session(fresh, 8);
	snprintf(dumped, sizeof(dumped), "%s", check_dump(fresh, "f"));
	CHECK(strcmp(dumped, check_dump(book, "f")) == 0 && book_check(book));
	CHECK(book->levels_used == fresh->levels_used && book->chunks_used == fresh->chunks_used);
	/* A reset right after another, and of an empty book. */
	book_reset(book);
	book_reset(book);
	CHECK(book->levels_live == 0 && book_check(book));
	book_destroy(book);
	book_destroy(fresh);
}

static void test_replace_edges(void)
{
	struct book *book = book_create(1, 8, 2);
	int32_t in = book_instrument_get(book, 1, 4);
	struct book_result r;

	printf("replace onto the same price, and refused for levels_full\n");
	CHECK(book_order_add(book, in, 1, BOOK_SIDE_ASK, 100, 10, NULL) == 0);
	/* Its level's only order, replaced at the same price: the level leaves, then returns. */
	CHECK(book_order_replace(book, 1, 2, 100, 7, &r) == 0);
	CHECK(r.changes_count == 2 && r.changes[0].orders == 0 && r.changes[1].orders == 1 &&
	      r.changes[1].shares == 7 && r.changes[0].best && r.top_before.shares[BOOK_SIDE_ASK] == 10);
	CHECK(strcmp(check_dump(book, "f"), "f #1 S 0.0100 7 1\n") == 0 && book_check(book));
	/* Replace onto itself (new ref = old ref). */
	CHECK(book_order_replace(book, 2, 2, 101, 8, &r) == 0);
	CHECK(strcmp(check_dump(book, "f"), "f #1 S 0.0101 8 1\n") == 0 && book_check(book));
	CHECK(book_order_add(book, in, 3, BOOK_SIDE_ASK, 102, 1, NULL) == 0);
	CHECK(book_order_add(book, in, 4, BOOK_SIDE_ASK, 102, 1, NULL) == 0);
	/* Two levels on the side, the old one keeping another order: no room for a third. */
	CHECK(book_order_replace(book, 4, 6, 104, 1, &r) == -ENOSPC);
	CHECK(book->stats.levels_full == 1);
	CHECK(r.changes_count == 1 && r.changes[0].orders == 1 && r.changes[0].price == 102 &&
	      r.order.price == 102 && r.order.shares == 1 && r.order.remaining == 0);
	CHECK(book_order_delete(book, 4, NULL) == -ENOENT && book_order_delete(book, 6, NULL) == -ENOENT);
	CHECK(strcmp(check_dump(book, "f"), "f #1 S 0.0101 8 1\nf #1 S 0.0102 1 1\n") == 0 &&
	      book_check(book));
	/* The old order was its level's last: its level went, so the new one fits. */
	CHECK(book_order_replace(book, 2, 5, 103, 1, &r) == 0);
	CHECK(strcmp(check_dump(book, "f"), "f #1 S 0.0102 1 1\nf #1 S 0.0103 1 1\n") == 0 &&
	      book_check(book));
	/* A replace onto a reference that is live: the old order is gone, the other stays. */
	CHECK(book_order_replace(book, 3, 5, 102, 9, &r) == -EEXIST);
	CHECK(r.changes_count == 1 && r.changes[0].orders == 0 && r.order.remaining == 0);
	CHECK(strcmp(check_dump(book, "f"), "f #1 S 0.0103 1 1\n") == 0 && book_check(book));
	book_destroy(book);
}

/* Price-level books: the reference holds only levels; the pool is min(I*2*L, orders + 2I). */
static void test_level_set_random(uint64_t seed, uint32_t instruments, uint32_t orders_max,
				  uint32_t levels_max, uint32_t ticks, int ops)
{
	struct book *book = book_create(instruments, orders_max, levels_max);
	uint64_t pool = (uint64_t)instruments * 2 * levels_max;
	int bad = 0, first_bad = -1;

	if (pool > (uint64_t)orders_max + 2 * instruments)
		pool = (uint64_t)orders_max + 2 * instruments;
	printf("book_level_set: %u instruments, %u levels a side, pool %" PRIu64 ", seed %" PRIu64 "\n",
	       instruments, levels_max, pool, seed);
	check_rng_state = seed;
	ref_clear();
	for (uint32_t in = 0; in < instruments; in++)
		book_instrument_get(book, in, 2);
	for (int op = 0; op < ops && bad == 0; op++) {
		int32_t in = (int32_t)(check_rng() % instruments);
		int side = (int)(check_rng() % 2);
		int64_t price = 5000 + (int64_t)(check_rng() % ticks) - (int64_t)ticks / 2;
		uint32_t orders = check_rng() % 3 == 0 ? 0 : 1 + (uint32_t)(check_rng() % 4);
		uint64_t shares = check_rng() % 10000;
		struct ref_level *l = ref_level_find(in, side, price);
		int expected = 0;
		struct book_result r;
		int rc;

		if (l == NULL && orders > 0 &&
		    (ref_depth(in, side) >= levels_max || ref_levels_count >= pool))
			expected = -ENOSPC;
		rc = book_level_set(book, in, (enum book_side)side, price, shares, orders, &r);
		bad += rc != expected;
		/* Nothing to remove, or refused: no change reported. */
		bad += (l == NULL && (orders == 0 || expected != 0)) != (r.changes_count == 0);
		if (rc == 0 && orders == 0 && l != NULL)
			*l = ref_levels[--ref_levels_count];
		else if (rc == 0 && orders > 0 && l != NULL)
			*l = (struct ref_level){ in, side, price, shares, orders };
		else if (rc == 0 && orders > 0)
			ref_levels[ref_levels_count++] = (struct ref_level){ in, side, price, shares, orders };
		bad += r.changes_count == 1 && (r.changes[0].orders != orders || r.changes[0].price != price);
		bad += !ref_matches(book, instruments) || book->levels_live != ref_levels_count;
		if (bad && first_bad < 0)
			first_bad = op;
	}
	if (first_bad >= 0)
		printf("  FAIL: the book left the reference at op %d (seed %" PRIu64 ")\n", first_bad, seed);
	failures += bad;
	book_destroy(book);
}

/* Every instrument key in use at the largest capacity: each instrument created stays findable. */
static void test_instruments_every_key(void)
{
	struct book *book = book_create(BOOK_INSTRUMENTS_MAX, 4, 1);
	uint32_t lost = 0, created = 0;

	printf("the largest instrument capacity, every key used\n");
	CHECK(book != NULL);
	if (book == NULL)
		return;
	for (uint32_t key = 0; key < BOOK_INSTRUMENT_KEYS; key++) {
		int32_t in = book_instrument_get(book, key, 4);

		created += in >= 0;
		/* Found again: the same instrument, not a refusal, not a new one. */
		lost += in >= 0 && (book_instrument_find(book, key) != in || book_instrument_get(book, key, 4) != in);
	}
	CHECK(lost == 0 && created == book->instruments_count);
	CHECK(book->stats.instruments_full == BOOK_INSTRUMENT_KEYS - created);
	CHECK(book_order_add(book, (int32_t)created - 1, 1, BOOK_SIDE_BID, 1, 1, NULL) == 0 && book_check(book));
	book_reset(book);
	CHECK(book_instrument_find(book, BOOK_INSTRUMENT_KEYS - 1) == -1 && book_check(book));
	book_destroy(book);
}

/* The stages read only what lies in the book's allocations, for any reference or bytes. */
static void test_prefetch_hostile(uint64_t seed)
{
	struct book *book = book_create(4, 64, 40);
	uint8_t m[64];
	uint64_t ref = 1;

	printf("prefetch stages on stale slots and arbitrary bytes\n");
	check_rng_state = seed;
	for (int round = 0; round < 3; round++) {
		for (uint32_t in = 0; in < 4; in++)
			book_instrument_get(book, in * 3, 4);
		for (int op = 0; op < 400; op++) {
			if (check_rng() % 3)
				book_order_add(book, (int32_t)(check_rng() % 4), ref++, (enum book_side)(check_rng() % 2),
					       (int64_t)(check_rng() % 60), 1, NULL);
			else
				book_order_delete(book, check_rng() % ref, NULL);
		}
		/* Every slot, stale or live, by references that hit it or only its home. */
		for (uint64_t r = 0; r < 4 * (book->orders.mask + 1); r++) {
			book_prefetch_order(book, r);
			book_prefetch_order_level(book, r);
			book_prefetch_order_chunk(book, r | (check_rng() << 32));
			book_prefetch_order_chunk(book, r);
		}
		for (uint32_t k = 0; k < BOOK_INSTRUMENT_KEYS + 8; k += 1 + (k < 64 ? 0 : 997)) {
			int64_t price = extreme_prices[k % (sizeof(extreme_prices) / sizeof(extreme_prices[0]))];

			for (int side = 0; side < BOOK_SIDES; side++) {
				book_prefetch_level_slot(book, k, side, price);
				book_prefetch_level(book, k, side, price);
				book_prefetch_level(book, k, side, (int64_t)(check_rng() % 60));
			}
		}
		/* Arbitrary bytes of every length, the type byte one of the order messages. */
		for (int n = 0; n < 20000; n++) {
			static const char types[] = "AFECXDUPQ";
			uint32_t length = (uint32_t)(check_rng() % (sizeof(m) + 1));

			for (size_t b = 0; b < sizeof(m); b++)
				m[b] = (uint8_t)check_rng();
			m[0] = (uint8_t)types[check_rng() % (sizeof(types) - 1)];
			if (check_rng() % 2)
				memcpy(m + 11, (uint8_t[8]){ 0, 0, 0, 0, 0, 0, 0, (uint8_t)(check_rng() % 64) }, 8);
			itch50_message_prefetch(book, m, length);
			itch50_message_prefetch_level(book, m, length);
			itch50_message_prefetch_chunk(book, m, length);
		}
		if (round == 1)
			book_reset(book);	/* the slots and levels are all stale now */
	}
	CHECK(book_check(book));
	book_destroy(book);
}

/* The pipeline steps past its entries, and past a full pipeline, without reading beyond them. */
static int pipeline_calls;

static void pipeline_count(const struct book *book, const uint8_t *message, uint32_t length, unsigned stage)
{
	(void)book;
	(void)message;
	(void)length;
	(void)stage;
	pipeline_calls++;
}

/* A decoder's own dispatch, as itch50_entry_stage is: its entries directly, others through theirs. */
static void pipeline_own_stage(const struct decoder_pipeline_entry *e, unsigned stage)
{
	if (e->prefetch == pipeline_count)
		pipeline_count(e->book, e->message, e->length, stage);
	else
		decoder_pipeline_entry_stage(e, stage);
}

static void test_pipeline_bounds(void)
{
	static struct decoder_pipeline p;
	static const uint8_t message[1];
	int steps = 0;

	printf("the burst pipeline never reaches past its entries\n");
	p.count = 0;
	decoder_pipeline_start(&p);
	decoder_pipeline_step(&p, pipeline_own_stage);
	CHECK(pipeline_calls == 0);
	for (uint32_t i = 0; i < DECODER_PIPELINE_MAX + 5; i++)
		CHECK(decoder_pipeline_add(&p, NULL, pipeline_count, message, 1) == (i < DECODER_PIPELINE_MAX));
	CHECK(p.count == DECODER_PIPELINE_MAX);
	decoder_pipeline_start(&p);
	CHECK(pipeline_calls == DECODER_PREFETCH_AHEAD_0);
	/* More messages applied than the pipeline holds (the rest went unhelped). */
	/* Half the steps as the entries' own decoder (a direct call), half as another's. */
	for (int i = 0; i < DECODER_PIPELINE_MAX * 2; i++, steps++)
		decoder_pipeline_step(&p, i % 2 ? pipeline_own_stage : decoder_pipeline_entry_stage);
	/* Each stage runs once per entry it reaches: stage 0 on all (its first 16 at start). */
	CHECK(pipeline_calls == DECODER_PIPELINE_MAX * DECODER_PREFETCH_STAGES -
				DECODER_PREFETCH_AHEAD_1 - DECODER_PREFETCH_AHEAD_2);
	CHECK(steps == DECODER_PIPELINE_MAX * 2);
	decoder_pipeline_step(NULL, decoder_pipeline_entry_stage);
}

/*
 * Puts an order of `shares` at the level of price (the level made if new) or, shares
 * 0, takes every order of that level, in the book and the reference alike;
 * each step is checked: the return, book_check (which checks an order book whole: a
 * price-level book's levels have no orders to sum, so book_check refuses it) and the
 * sides against the reference.
 */
static void edge_set(struct book *book, int32_t in, int side, int64_t price, uint32_t shares, int *bad)
{
	static uint64_t next_ref = 1;

	if (shares > 0) {
		*bad += book_order_add(book, in, next_ref, (enum book_side)side, price, shares, NULL) != 0;
		ref_orders[ref_orders_count++] = (struct ref_order){ next_ref, in, side, price, shares };
		ref_level_change(in, side, price, shares, 1);
		next_ref++;
	} else {
		for (uint32_t i = ref_orders_count; i-- > 0;) {
			if (ref_orders[i].instrument != in || ref_orders[i].side != side || ref_orders[i].price != price)
				continue;
			*bad += book_order_delete(book, ref_orders[i].ref, NULL) != 0;
			ref_order_remove(&ref_orders[i]);
		}
	}
	*bad += !book_check(book) || !ref_matches(book, 1);
}

/* The price of a side whose key is key (asks are stored negated). */
static int64_t edge_price(int side, int64_t key)
{
	return side == BOOK_SIDE_BID ? key : -key;
}

/*
 * The chunk edges at the ends of the key range: keys lo..lo + 30 (lo + 30 may be
 * INT64_MAX, the padding's key; an ask's key is its price negated), on both sides. A full chunk split by a key at each
 * of its 31 ranks; a chunk of 15 beside one of 1 losing a key that is not its lowest
 * (it must merge: 14 + 1 is half a chunk), and the mirror, merging leftwards; the
 * lowest key of a chunk removed (its bound changes); the side emptied and grown again.
 */
static void test_chunk_edges(void)
{
	static const int64_t lows[] = { 0, INT64_MAX - BOOK_CHUNK_LEVELS, INT64_MIN + 1 };
	int bad = 0;

	printf("chunk edges at the ends of int64: splits at every rank, merges both ways\n");
	for (size_t b = 0; b < sizeof(lows) / sizeof(lows[0]); b++) {
		int64_t lo = lows[b];

		for (int side = 0; side < BOOK_SIDES; side++) {
			struct book *book = book_create(1, 64, 64);
			int32_t in = book_instrument_get(book, 1, 4);

			ref_clear();
			/* Split at every rank: the 30 keys of lo..lo + 30 but one, then that one. */
			for (uint32_t rank = 0; rank <= BOOK_CHUNK_LEVELS; rank++) {
				for (uint32_t k = 0; k <= BOOK_CHUNK_LEVELS; k++)
					if (k != rank)
						edge_set(book, in, side, edge_price(side, lo + k), 1, &bad);
				bad += book->instruments[in].sides[side].chunks != 1;
				edge_set(book, in, side, edge_price(side, lo + rank), 2, &bad);	/* splits */
				bad += book->instruments[in].sides[side].chunks != 2;
				/* The lowest key of each chunk goes first (bounds change), then the rest. */
				edge_set(book, in, side, edge_price(side, lo), 0, &bad);
				edge_set(book, in, side, edge_price(side, lo + BOOK_CHUNK_LEVELS / 2), 0, &bad);
				for (uint32_t k = 0; k <= BOOK_CHUNK_LEVELS; k++)
					edge_set(book, in, side, edge_price(side, lo + (k * 7) % 31), 0, &bad);
				bad += book->instruments[in].sides[side].chunks != 0 || book->levels_live != 0;
			}
			/* 0..29, then 30 splits it: [0..14] [15..30]. */
			for (uint32_t k = 0; k <= BOOK_CHUNK_LEVELS; k++)
				edge_set(book, in, side, edge_price(side, lo + k), 1, &bad);
			/* Rightwards: the right chunk down to its lowest, then the left loses a middle key. */
			for (uint32_t k = 16; k <= BOOK_CHUNK_LEVELS; k++)
				edge_set(book, in, side, edge_price(side, lo + k), 0, &bad);
			bad += book->instruments[in].sides[side].chunks != 2;
			edge_set(book, in, side, edge_price(side, lo + 5), 0, &bad);
			bad += book->instruments[in].sides[side].chunks != 1;
			/* Empty, regrow, then leftwards: the left chunk down to one, the right loses two. */
			for (uint32_t k = 0; k <= BOOK_CHUNK_LEVELS; k++)
				edge_set(book, in, side, edge_price(side, lo + k), 0, &bad);
			for (uint32_t k = 0; k <= BOOK_CHUNK_LEVELS; k++)
				edge_set(book, in, side, edge_price(side, lo + k), 3, &bad);
			for (uint32_t k = 1; k < BOOK_CHUNK_LEVELS / 2; k++)
				edge_set(book, in, side, edge_price(side, lo + k), 0, &bad);
			edge_set(book, in, side, edge_price(side, lo + 20), 0, &bad);
			bad += book->instruments[in].sides[side].chunks != 2;
			edge_set(book, in, side, edge_price(side, lo + 21), 0, &bad);
			bad += book->instruments[in].sides[side].chunks != 1;
			book_destroy(book);
		}
	}
	ref_clear();
	CHECK(bad == 0);
}

/*
 * book_check must see what a wrong change to the chunked sides leaves: each mutation
 * below is made on a sound book (two sides of several chunks), must fail the check,
 * and is undone (the check passes again).
 */
static void test_check_catches(void)
{
	struct book *book = book_create(3, 400, 100);
	int32_t in0 = book_instrument_get(book, 1, 4), in1 = book_instrument_get(book, 2, 4);
	struct book_levels *bids = &book->instruments[in1].sides[BOOK_SIDE_BID];
	struct book_side_entry *list, saved;
	struct book_chunk *chunk;
	uint64_t ref = 1;
	uint32_t base, level, chunk_of;
	int caught = 0, sound = 0;

	printf("book_check catches broken padding, bases, side lists and chunk names\n");
	for (int64_t p = 0; p < 80; p++) {
		book_order_add(book, in0, ref++, BOOK_SIDE_ASK, 500 + p * 3, 1, NULL);
		book_order_add(book, in1, ref++, BOOK_SIDE_BID, 100 + p * 7 % 80, 1, NULL);
	}
	list = book_side_chunks(book, bids);
	CHECK(book_check(book) && bids->chunks >= 3);
	/* The padding: its key, its level, and the extra entry past a full chunk. */
	chunk = &book->chunks[list[1].chunk];
	chunk->entry[chunk->count].key = chunk->entry[chunk->count - 1].key + 1;
	caught += !book_check(book);
	chunk->entry[chunk->count].key = BOOK_CHUNK_PAD;
	sound += book_check(book);
	chunk->entry[BOOK_CHUNK_LEVELS].level = chunk->entry[0].level;
	caught += !book_check(book);
	chunk->entry[BOOK_CHUNK_LEVELS].level = BOOK_NONE;
	sound += book_check(book);
	/* A side's base: off by one, and another side's. */
	base = bids->base;
	bids->base = base + 1;
	caught += !book_check(book);
	bids->base = book->instruments[in1].sides[BOOK_SIDE_ASK].base;
	caught += !book_check(book);
	/* A true copy of its list, in the room of an instrument not made yet: the base alone is wrong. */
	bids->base = 2 * BOOK_SIDES * book->chunks_max;
	memcpy(book_side_chunks(book, bids), list, bids->chunks * sizeof(list[0]));
	caught += !book_check(book);
	bids->base = base;
	sound += book_check(book);
	/* The side list out of order: two chunks swapped. */
	saved = list[0];
	list[0] = list[1];
	list[1] = saved;
	caught += !book_check(book);
	list[1] = list[0];
	list[0] = saved;
	sound += book_check(book);
	/* A chunk's bound that is not its lowest key. */
	list[2].low--;
	caught += !book_check(book);
	list[2].low++;
	sound += book_check(book);
	/* A level that names a chunk other than the one that holds it. */
	level = book->chunks[list[2].chunk].entry[3].level;
	chunk_of = book->levels[level].chunk;
	book->levels[level].chunk = list[1].chunk;
	caught += !book_check(book);
	book->levels[level].chunk = chunk_of;
	sound += book_check(book);
	CHECK(caught == 8 && sound == 6);
	book_destroy(book);
}

int main(int argc, char **argv)
{
	uint64_t seed = check_seed(argc, argv);
	static const struct hostile_shape shapes[] = {
		{ "one-order", 1, 1, 1, 3, true, 3000, 1 },
		{ "one-level", 1, 8, 1, 4, true, 5000, 1 },
		{ "two-levels", 2, 16, 2, 6, false, 5000, 1 },
		{ "chunk-29", 1, 200, 29, 70, true, 12000, 1 },
		{ "chunk-30", 1, 200, 30, 70, false, 12000, 1 },
		{ "chunk-31", 2, 300, 31, 80, true, 12000, 2 },
		{ "chunks-60", 1, 400, 60, 150, false, 12000, 3 },
		{ "chunks-61", 1, 400, 61, 130, true, 12000, 3 },
		{ "deep", 1, 1500, 700, 1200, true, 12000, 50 },
	};

	setvbuf(stdout, NULL, _IOLBF, 0);	/* what ran before a crash is shown */
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
		test_hostile_random(seed + s, &shapes[s]);
	test_sawtooth();
	test_hash_collisions();
	test_reset_mid_session();
	test_replace_edges();
	test_chunk_edges();
	test_check_catches();
	/* The pool, not levels_max, binds: few orders allowed, many levels a side. */
	test_level_set_random(seed, 3, 10, 40, 90, 10000);
	test_level_set_random(seed + 1, 1, 1, 31, 70, 5000);
	test_level_set_random(seed + 2, 2, 4000, 61, 150, 6000);
	test_instruments_every_key();
	test_prefetch_hostile(seed);
	test_pipeline_bounds();
	printf("%s (seed %" PRIu64 ")\n", failures ? "FAIL" : "PASS", seed);
	return failures ? 1 : 0;
}
