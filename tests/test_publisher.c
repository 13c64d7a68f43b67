/*
 * test_publisher: the publisher's per-packet contract and the conflated view's
 * incremental refresh, on a ring and a view in private memory, driven by real book
 * operations. Checked: one LEVEL_CHANGED per level per packet with its final state,
 * one TOP_OF_BOOK only when the top at the end differs from the start, END_OF_PACKET
 * last; a packet touching more levels than the scratch holds is published in parts,
 * each level's last event still its final state (counted in flushes_early); the
 * views choice; and the view rewrites a side only for a change at or better than
 * its Nth level, leaving an untouched side's bytes alone.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "tests/check.h"

#include "publish/conflated.h"
#include "publish/publisher.h"
#include "tests/pub_memory.h"

#define TEST_RING_CAPACITY 4096u
#define TEST_DEPTH 3u
#define TEST_KEY 7u

static struct pub_ring ring;
static struct pub_conflated view;
static struct publisher pub;
static struct book *book;
static int32_t instrument;
static uint64_t read_seq;	/* events of the ring already looked at */

static void test_setup(uint8_t views)
{
	if (ring.records == NULL)
		pub_memory_make(&ring, TEST_RING_CAPACITY, &view, 4, TEST_DEPTH);
	if (book != NULL)
		book_destroy(book);
	book = book_create(4, 4096, 1024);
	if (book == NULL)
		abort();
	instrument = book_instrument_get(book, TEST_KEY, 4);
	assert(instrument == 0);
	pub_conflated_clear(&view, 0, view.slots);
	publisher_init(&pub, &ring, 0, 1000000000);
	publisher_views_set(&pub, views);
	publisher_view_set(&pub, &view, 0, book);
	read_seq = ring.head;
}

/* An add as the decoder would report it to the publisher. */
static void test_add(uint64_t ref, enum book_side side, int64_t price, uint32_t shares)
{
	struct book_result result;
	struct decoded_message d = { .applied = true, .instrument_key = TEST_KEY,
				     .instrument_defined = -1, .order = DECODED_ORDER_ADDED,
				     .ref = ref, .book = &result, .exchange_ts_ns = ref };

	CHECK(book_order_add(book, instrument, ref, side, price, shares, &result) == 0);
	publisher_message(&pub, book, &d);
}

static void test_delete(uint64_t ref)
{
	struct book_result result;
	struct decoded_message d = { .applied = true, .instrument_key = TEST_KEY,
				     .instrument_defined = -1, .order = DECODED_ORDER_DELETED,
				     .ref = ref, .book = &result, .exchange_ts_ns = ref };

	CHECK(book_order_delete(book, ref, &result) == 0);
	publisher_message(&pub, book, &d);
}

/* The next unread event of the ring (NULL: none). */
static const struct fh_event *test_next(void)
{
	if (read_seq == ring.head)
		return NULL;
	return &ring.records[read_seq++ & ring.mask];
}

static bool test_level_is(const struct fh_event *e, int side, int64_t price, uint64_t shares,
			  uint32_t orders)
{
	return e != NULL && e->type == FH_EVENT_LEVEL_CHANGED && e->side == side &&
	       e->body.level.price == price && e->body.level.shares == shares &&
	       e->body.level.orders == orders;
}

static bool test_type_is(const struct fh_event *e, uint8_t type)
{
	return e != NULL && e->type == type;
}

static void test_coalesced(void)
{
	const struct fh_event *e;

	test_setup(PUBLISHER_VIEWS_ALL);
	publisher_packet_begin(&pub, 1, 0);
	test_add(1, BOOK_SIDE_BID, 100, 10);
	test_add(2, BOOK_SIDE_ASK, 110, 5);
	test_add(3, BOOK_SIDE_BID, 100, 7);
	test_add(4, BOOK_SIDE_BID, 101, 1);
	test_delete(4);
	publisher_packet_end(&pub, 5);
	for (int i = 0; i < 5; i++)
		CHECK(test_type_is(test_next(), i == 4 ? FH_EVENT_ORDER_DELETED :
				   FH_EVENT_ORDER_ADDED));
	CHECK(test_level_is(test_next(), BOOK_SIDE_BID, 100, 17, 2));
	CHECK(test_level_is(test_next(), BOOK_SIDE_ASK, 110, 5, 1));
	e = test_next();
	CHECK(test_level_is(e, BOOK_SIDE_BID, 101, 0, 0));	/* born and gone */
	CHECK(e != NULL && e->exchange_ts_ns == 4);		/* the last message on it */
	e = test_next();
	CHECK(test_type_is(e, FH_EVENT_TOP_OF_BOOK) && e->body.top.bid_price == 100 &&
	      e->body.top.bid_shares == 17 && e->body.top.ask_price == 110);
	CHECK(test_type_is(test_next(), FH_EVENT_END_OF_PACKET));
	CHECK(test_next() == NULL);

	/* Back where it began: the level says so, no top. */
	publisher_packet_begin(&pub, 2, 0);
	test_add(5, BOOK_SIDE_BID, 100, 3);
	test_delete(5);
	publisher_packet_end(&pub, 7);
	CHECK(test_type_is(test_next(), FH_EVENT_ORDER_ADDED));
	CHECK(test_type_is(test_next(), FH_EVENT_ORDER_DELETED));
	CHECK(test_level_is(test_next(), BOOK_SIDE_BID, 100, 17, 2));
	CHECK(test_type_is(test_next(), FH_EVENT_END_OF_PACKET));
	CHECK(pub.flushes_early == 0);
}

/* More levels than the scratch holds: in parts, each level's last event final. */
static void test_flush_early(void)
{
	const uint32_t count = PUBLISHER_LEVELS_MAX + 40;
	static uint32_t events_of[PUBLISHER_LEVELS_MAX + 40];
	const struct fh_event *e;
	uint32_t levels = 0;

	test_setup(PUBLISHER_VIEW_LEVELS);
	publisher_packet_begin(&pub, 1, 0);
	for (uint32_t i = 0; i < count; i++)
		test_add(i + 1, BOOK_SIDE_ASK, 1000 + i, 1);
	test_add(count + 1, BOOK_SIDE_ASK, 1000, 4);	/* the first level again, after a flush */
	publisher_packet_end(&pub, count + 1);
	CHECK(pub.flushes_early == 1);
	memset(events_of, 0, sizeof(events_of));
	while ((e = test_next()) != NULL && e->type != FH_EVENT_END_OF_PACKET) {
		CHECK(e->type == FH_EVENT_LEVEL_CHANGED || e->type == FH_EVENT_TOP_OF_BOOK);
		if (e->type != FH_EVENT_LEVEL_CHANGED)
			continue;
		levels++;
		CHECK(e->body.level.price >= 1000 && e->body.level.price < 1000 + count);
		events_of[e->body.level.price - 1000]++;
		CHECK(e->body.level.shares == (e->body.level.price == 1000 &&
					       events_of[0] == 2 ? 5u : 1u));
	}
	CHECK(test_type_is(e, FH_EVENT_END_OF_PACKET));
	CHECK(levels == count + 1 && events_of[0] == 2);
}

/* orders alone: no level or top event, and the view is not kept. */
static void test_views(void)
{
	const struct fh_event *e;

	test_setup(PUBLISHER_VIEW_ORDERS);
	publisher_packet_begin(&pub, 1, 0);
	test_add(1, BOOK_SIDE_BID, 100, 10);
	publisher_packet_end(&pub, 1);
	CHECK(test_type_is(test_next(), FH_EVENT_ORDER_ADDED));
	CHECK(test_type_is(test_next(), FH_EVENT_END_OF_PACKET));
	CHECK(test_next() == NULL);
	CHECK(pub_conflated_entry(&view, 0)->used == 0);
	test_setup(PUBLISHER_VIEW_LEVELS);
	publisher_packet_begin(&pub, 1, 0);
	test_add(1, BOOK_SIDE_BID, 100, 10);
	publisher_packet_end(&pub, 1);
	e = test_next();
	CHECK(test_level_is(e, BOOK_SIDE_BID, 100, 10, 1));
	CHECK(pub_conflated_entry(&view, 0)->used == 1);
}

/* One packet of adds, for the view's tests. */
static void test_packet_adds(uint64_t ref, enum book_side side, int64_t price, uint32_t shares)
{
	publisher_packet_begin(&pub, 1, 0);
	test_add(ref, side, price, shares);
	publisher_packet_end(&pub, ref);
}

static void test_view_incremental(void)
{
	struct conflated_entry *e;
	uint64_t version;

	test_setup(PUBLISHER_VIEWS_ALL);
	e = pub_conflated_entry(&view, 0);
	for (uint64_t i = 0; i < 5; i++)	/* bids 100..96: the view holds 100, 99, 98 */
		test_packet_adds(i + 1, BOOK_SIDE_BID, 100 - (int64_t)i, 10);
	CHECK(e->used == 1 && e->bid_count == TEST_DEPTH && e->levels[2].price == 98);
	version = e->version;
	test_packet_adds(6, BOOK_SIDE_BID, 97, 1);	/* below the 3rd: not rewritten */
	CHECK(e->version == version);
	test_packet_adds(7, BOOK_SIDE_BID, 98, 2);	/* at the 3rd: rewritten */
	CHECK(e->version == version + 2 && e->levels[2].shares == 12);
	/* A change on the asks leaves the bids' bytes alone. */
	e->levels[0].shares = 12345;
	test_packet_adds(8, BOOK_SIDE_ASK, 200, 3);
	CHECK(e->levels[0].shares == 12345 && e->ask_count == 1 &&
	      e->levels[TEST_DEPTH].price == 200);
	/* Fewer asks than the depth: any ask change shows, however far. */
	test_packet_adds(9, BOOK_SIDE_ASK, 900, 3);
	CHECK(e->ask_count == 2 && e->levels[TEST_DEPTH + 1].price == 900);
}

int main(void)
{
	test_coalesced();
	test_flush_early();
	test_views();
	test_view_incremental();
	book_destroy(book);
	printf("test_publisher: %s\n", failures ? "FAIL" : "ok");
	return failures ? 1 : 0;
}
