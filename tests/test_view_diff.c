/*
 * test_view_diff: a hostile differential of the conflated view against the books.
 * The view is updated level by level from a packet's changed levels against the
 * producer's private mirror of each entry (publish/conflated.c); this drives two
 * feeds (their own books, rings and publishers, one view, the second feed's slots
 * partly past the view's end) with random packets and, after every packet, compares
 * every entry with its book's top N as book_side_levels gives it. What the random
 * packets hold, so that every path of the incremental update is taken: order books
 * (adds, executions, deletes, replaces that move an order across the depth's edge)
 * and price-level books (book_level_set, a level set to 0 and set again in one
 * packet), a few hot instruments so that levels come and go inside the depth, at
 * its edge and beyond it; now and then a packet over every instrument, past what the
 * publisher's scratch holds (early flushes, counted); renames; new sessions (the
 * instruments defined again in another order, so slots change hands); snapshot
 * recoveries (books rebuilt unpublished, then publisher_book_recovered) followed by
 * incremental packets; prices near INT64_MAX and INT64_MIN; depths 1, 2, 5 and 64
 * (the mirror's uint8_t counts). Meanwhile a reader thread copies entries as libfh's
 * fh_top_read does (two equal even versions around the copy): every copy it keeps
 * must be a top N (counts within the depth, levels live, prices strictly best first),
 * which a level written outside the seqlock breaks while the entry moves under it.
 * The seed is argv[1] or FH_SEED.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/check.h"

#include "publish/conflated.h"
#include "publish/publisher.h"
#include "tests/pub_memory.h"

#define DIFF_FEEDS 2u
#define DIFF_INSTRUMENTS 180u		/* defined per feed: more than a packet's scratch holds */
#define DIFF_INSTRUMENTS_MAX 200u	/* per book, and each feed's share of the view's slots */
#define DIFF_SLOTS (DIFF_INSTRUMENTS_MAX + 120u)	/* the second feed's last instruments have none */
#define DIFF_ORDERS 16384u
#define DIFF_LEVELS 128u		/* per side per instrument */
#define DIFF_RING 65536u
#define DIFF_BAND 14			/* prices a side of an instrument takes */

struct diff_order {
	uint64_t ref;
	uint16_t instrument;
	uint8_t side;
};

struct diff_feed {
	struct pub_ring ring;
	struct pub_conflated ring_view;	/* pub_memory_make's, unused */
	struct publisher pub;
	struct book *book;
	struct diff_order live[DIFF_ORDERS];
	uint32_t live_count;
	uint64_t next_ref;
	uint32_t hot[3];		/* keys most packets touch */
};

static struct diff_feed feeds[DIFF_FEEDS];
static struct pub_conflated view;
static uint64_t flushes, sessions, snapshots, refused;
static int reader_stop;
static uint64_t reader_copies, reader_torn;

/* True if a side of a copied entry is a top N: levels live, prices strictly best first. */
static bool diff_side_sane(const struct conflated_level *l, uint32_t n, enum book_side side)
{
	for (uint32_t i = 0; i < n; i++) {
		if (l[i].orders == 0 || l[i].shares == 0)
			return false;
		if (i > 0 && (side == BOOK_SIDE_BID ? l[i].price >= l[i - 1].price : l[i].price <= l[i - 1].price))
			return false;
	}
	return true;
}

/* The reader: entries copied under their seqlock, as fh_top_read, until told to stop. */
static void *diff_reader(void *arg)
{
	static uint8_t copy[sizeof(struct conflated_entry) + 2 * CONFLATED_DEPTH_MAX * sizeof(struct conflated_level)];
	const struct conflated_entry *c = (const struct conflated_entry *)copy;
	uint32_t depth = view.depth;
	size_t size = sizeof(struct conflated_entry) + 2 * depth * sizeof(struct conflated_level);

	(void)arg;
	/* Each pass reads every slot once; passes end when the writer is done. */
	while (!__atomic_load_n(&reader_stop, __ATOMIC_ACQUIRE)) {
		for (uint32_t s = 0; s < view.slots; s++) {
			const struct conflated_entry *e = pub_conflated_entry(&view, s);
			uint64_t before = __atomic_load_n(&e->version, __ATOMIC_ACQUIRE);

			if (before & 1)
				continue;
			memcpy(copy, e, size);
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (__atomic_load_n(&e->version, __ATOMIC_RELAXED) != before)
				continue;
			reader_copies++;
			reader_torn += c->bid_count > depth || c->ask_count > depth ||
				       !diff_side_sane(c->levels, c->bid_count, BOOK_SIDE_BID) ||
				       !diff_side_sane(c->levels + depth, c->ask_count, BOOK_SIDE_ASK);
		}
	}
	return NULL;
}

/* The keys an instrument of a feed may have: 1..DIFF_INSTRUMENTS. */
static bool diff_level_venue(uint32_t key)
{
	return key % 4 == 3;	/* price-level: book_level_set only */
}

/* The middle of an instrument's prices: ordinary, by INT64_MAX, by INT64_MIN. */
static int64_t diff_base(uint32_t key)
{
	switch (key % 3) {
	case 0:
		return 10000;
	case 1:
		return INT64_MAX - 2 * DIFF_BAND;
	default:
		return INT64_MIN + 2 * DIFF_BAND;
	}
}

/* A random price of a side: bids below the base, asks at it and above (never crossed). */
static int64_t diff_price(uint32_t key, enum book_side side)
{
	int64_t off = (int64_t)(check_rng() % DIFF_BAND);

	return side == BOOK_SIDE_BID ? diff_base(key) - 1 - off : diff_base(key) + off;
}

/* Defines the feed's instruments in a random order: indexes change hands. */
static void diff_define(struct diff_feed *f)
{
	uint32_t keys[DIFF_INSTRUMENTS];

	for (uint32_t i = 0; i < DIFF_INSTRUMENTS; i++)
		keys[i] = i + 1;
	for (uint32_t i = DIFF_INSTRUMENTS - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(check_rng() % (i + 1)), t = keys[i];

		keys[i] = keys[j];
		keys[j] = t;
	}
	for (uint32_t i = 0; i < DIFF_INSTRUMENTS; i++) {
		int32_t index = book_instrument_get(f->book, keys[i], 4);
		char symbol[8];
		int len = snprintf(symbol, sizeof(symbol), "S%u", keys[i]);

		CHECK(index == (int32_t)i);
		book_instrument_symbol_set(f->book, index, symbol, (uint32_t)len, BOOK_SYMBOL_FROM_ORDER);
	}
	for (int h = 0; h < 3; h++)
		f->hot[h] = 1 + (uint32_t)(check_rng() % DIFF_INSTRUMENTS);
	f->live_count = 0;
}

/*
 * One random operation on the feed's book, given to the publisher if `publish`
 * (a snapshot's are not). key 0: a hot instrument or any, at random.
 */
static void diff_op(struct diff_feed *f, uint32_t key, bool publish)
{
	struct book_result result;
	struct decoded_message d = { .applied = true, .instrument_defined = -1, .book = &result };
	uint32_t what = (uint32_t)(check_rng() % 100), pick = 0;
	int32_t index;
	int rc;

	if (key == 0)
		key = check_rng() % 4 ? f->hot[check_rng() % 3] : 1 + (uint32_t)(check_rng() % DIFF_INSTRUMENTS);
	index = book_instrument_find(f->book, key);
	CHECK(index >= 0);
	d.instrument_key = key;
	if (diff_level_venue(key)) {
		enum book_side side = (enum book_side)(check_rng() & 1);
		uint32_t orders = (uint32_t)(check_rng() % 4);	/* 0: gone */

		rc = book_level_set(f->book, index, side, diff_price(key, side),
				    orders == 0 ? 0 : 1 + check_rng() % 1000, orders, &result);
	} else if (f->live_count > 0 && what >= 45) {
		struct diff_order *o;

		pick = (uint32_t)(check_rng() % f->live_count);
		o = &f->live[pick];
		d.ref = o->ref;
		d.instrument_key = f->book->instruments[o->instrument].key;
		if (what < 65) {
			d.order = DECODED_ORDER_REDUCED;
			rc = book_order_reduce(f->book, o->ref, 1 + (uint32_t)(check_rng() % 10), &result);
		} else if (what < 88) {
			d.order = DECODED_ORDER_DELETED;
			rc = book_order_delete(f->book, o->ref, &result);
		} else {
			d.order = DECODED_ORDER_REPLACED;
			d.new_ref = f->next_ref;
			rc = book_order_replace(f->book, o->ref, f->next_ref++,
						diff_price(d.instrument_key, (enum book_side)o->side),
						1 + (uint32_t)(check_rng() % 20), &result);
			o->ref = d.new_ref;
		}
		/* Gone from the book (reduced to nothing, deleted, a refused replace). */
		if (rc != 0 || result.order.remaining == 0)
			f->live[pick] = f->live[--f->live_count];
	} else if (f->live_count < DIFF_ORDERS) {
		enum book_side side = (enum book_side)(check_rng() & 1);

		d.order = DECODED_ORDER_ADDED;
		d.ref = f->next_ref;
		rc = book_order_add(f->book, index, f->next_ref, side, diff_price(key, side),
				    1 + (uint32_t)(check_rng() % 20), &result);
		if (rc == 0)
			f->live[f->live_count++] = (struct diff_order){ f->next_ref, (uint16_t)index, side };
		f->next_ref++;
	} else {
		return;
	}
	refused += rc != 0;
	if (rc != 0 || !publish)
		return;
	if (check_rng() % 64 == 0) {	/* a rename in the same message */
		char symbol[16];
		int len = snprintf(symbol, sizeof(symbol), "R%" PRIu64, check_rng() % 100000);

		if (book_instrument_symbol_set(f->book, index, symbol, (uint32_t)len, BOOK_SYMBOL_FROM_DIRECTORY))
			d.instrument_defined = index;
	}
	publisher_message(&f->pub, f->book, &d);
}

/* Every entry of the view against its book: top N, counts, name, version even. */
static void diff_check(uint32_t depth, uint64_t packet)
{
	for (uint32_t fi = 0; fi < DIFF_FEEDS; fi++) {
		const struct diff_feed *f = &feeds[fi];

		for (uint32_t i = 0; i < DIFF_INSTRUMENTS_MAX; i++) {
			uint32_t slot = fi * DIFF_INSTRUMENTS_MAX + i;
			const struct conflated_entry *e;
			bool same = true;

			if (slot >= view.slots)
				break;
			e = pub_conflated_entry(&view, slot);
			same = (e->version & 1) == 0 && e->version == view.versions[slot];
			for (int side = 0; side < BOOK_SIDES && i < f->book->instruments_count; side++) {
				struct book_level_info want[CONFLATED_DEPTH_MAX];
				uint32_t n = book_side_levels(f->book, (int32_t)i, (enum book_side)side, want, depth);
				uint32_t held = side == BOOK_SIDE_BID ? e->bid_count : e->ask_count;

				same = same && held == n;
				for (uint32_t l = 0; same && l < n; l++) {
					const struct conflated_level *got = &e->levels[side * depth + l];

					same = got->price == want[l].price && got->shares == want[l].shares &&
					       got->orders == want[l].orders;
				}
			}
			/* A used entry names its instrument; one the book has not defined is empty. */
			if (i < f->book->instruments_count && e->used)
				same = same && e->instrument == f->book->instruments[i].key && e->feed == fi &&
				       memcmp(e->symbol, f->book->instruments[i].symbol,
					      f->book->instruments[i].symbol_len) == 0;
			if (i >= f->book->instruments_count)
				same = same && !e->used && e->bid_count == 0 && e->ask_count == 0;
			if (!same)
				printf("  depth %u packet %" PRIu64 ": feed %u instrument %u (slot %u) differs\n",
				       depth, packet, fi, i, slot);
			CHECK(same);
			if (!same)
				return;
		}
	}
}

/* A snapshot: the book rebuilt unpublished, then cleared and recovered as the feed does. */
static void diff_snapshot(struct diff_feed *f)
{
	uint32_t ops = 200 + (uint32_t)(check_rng() % 2000);

	book_reset(f->book);
	diff_define(f);
	for (uint32_t k = 0; k < ops; k++)
		diff_op(f, 1 + (uint32_t)(check_rng() % DIFF_INSTRUMENTS), false);
	publisher_cleared(&f->pub);
	publisher_book_recovered(&f->pub, f->book);
	snapshots++;
}

static void diff_run(uint32_t depth, uint32_t packets)
{
	pthread_t reader;

	pub_memory_make(&feeds[0].ring, DIFF_RING, &view, DIFF_SLOTS, depth);
	reader_stop = 0;
	if (pthread_create(&reader, NULL, diff_reader, NULL) != 0)
		abort();
	for (uint32_t fi = 0; fi < DIFF_FEEDS; fi++) {
		struct diff_feed *f = &feeds[fi];

		if (fi > 0)
			pub_memory_make(&f->ring, DIFF_RING, &f->ring_view, 1, 1);
		f->book = book_create(DIFF_INSTRUMENTS_MAX, DIFF_ORDERS, DIFF_LEVELS);
		if (f->book == NULL)
			abort();
		f->next_ref = 1;
		diff_define(f);
		publisher_init(&f->pub, &f->ring, (uint8_t)fi, 1000000000);
		publisher_view_set(&f->pub, &view, fi * DIFF_INSTRUMENTS_MAX, f->book);
	}
	for (uint64_t p = 0; p < packets; p++) {
		struct diff_feed *f = &feeds[check_rng() % DIFF_FEEDS];
		uint32_t chance = (uint32_t)(check_rng() % 1000), ops;

		if (chance < 2) {	/* a new session */
			book_reset(f->book);
			publisher_cleared(&f->pub);
			diff_define(f);
			sessions++;
		} else if (chance < 4) {
			diff_snapshot(f);
		}
		/* Mostly a few messages; 1 in 40 over every instrument, past the scratch. */
		ops = chance < 25 ? 300 + (uint32_t)(check_rng() % 500) : 1 + (uint32_t)(check_rng() % 12);
		publisher_packet_begin(&f->pub, p, 0);
		for (uint32_t k = 0; k < ops; k++)
			diff_op(f, chance < 25 ? 1 + (uint32_t)(check_rng() % DIFF_INSTRUMENTS) : 0, true);
		publisher_packet_end(&f->pub, p + 1);
		diff_check(depth, p);
		if (failures > 0)
			break;
	}
	__atomic_store_n(&reader_stop, 1, __ATOMIC_RELEASE);
	pthread_join(reader, NULL);
	for (uint32_t fi = 0; fi < DIFF_FEEDS; fi++) {
		flushes += feeds[fi].pub.flushes_early;
		book_destroy(feeds[fi].book);
		free(feeds[fi].ring.header);
		free(feeds[fi].ring.records);
		if (fi > 0)
			pub_memory_free(&feeds[fi].ring_view);
	}
	pub_memory_free(&view);
}

int main(int argc, char **argv)
{
	static const uint32_t depths[] = { 1, 2, 5, CONFLATED_DEPTH_MAX };
	uint64_t seed = check_seed(argc, argv);

	check_rng_state = seed;
	printf("test_view_diff: seed %" PRIu64 "\n", seed);
	for (size_t d = 0; d < sizeof(depths) / sizeof(depths[0]) && failures == 0; d++)
		diff_run(depths[d], 6000);
	printf("  %" PRIu64 " early flushes, %" PRIu64 " sessions, %" PRIu64 " snapshots, %" PRIu64
	       " operations refused; reader: %" PRIu64 " consistent copies, %" PRIu64 " torn\n",
	       flushes, sessions, snapshots, refused, reader_copies, reader_torn);
	CHECK(flushes > 0 && sessions > 0 && snapshots > 0);
	CHECK(reader_torn == 0);
	printf("test_view_diff: %s\n", failures ? "FAIL" : "ok");
	return failures ? 1 : 0;
}
