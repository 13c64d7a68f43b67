/*
 * test_publisher: the publisher's per-packet contract and the conflated view's
 * incremental refresh, on a ring and a view in private memory, driven by real book
 * operations. Checked: one LEVEL_CHANGED per level per packet with its final state,
 * one TOP_OF_BOOK only when the top at the end differs from the start, END_OF_PACKET
 * last; a packet touching more levels than the scratch holds is published in parts,
 * each level's last event still its final state (counted in flushes_early); the
 * views choice; and the view rewrites a side only for a change at or better than
 * its Nth level, leaving an untouched side's bytes alone. Book states: after
 * publisher_book_state every event carries the state in its flags (a trade keeps its
 * own flags beside it), BOOK_STATE's body, the view's per-feed state; and
 * publisher_book_recovered: per instrument a clear, then exactly the book's orders and
 * levels (books rebuilt from the events alone equal the book as its reader API gives
 * it), nothing of a view that is off. And the events of random packets against a
 * model of the test's own (test_packet_model), on packets shaped for the publisher's
 * switch from scanning to its hash (4/5 instruments, 8/9 levels of one). Usage:
 * test_publisher [seed] (or FH_SEED).
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
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

/*
 * The view against the book after random packets: adds, executions, deletes and
 * replaces over three instruments in a narrow band of prices, so that levels come and
 * go inside the depth, at its edge and beyond it, several in one packet. Every entry
 * must then hold its sides' top TEST_DEPTH levels exactly, as the book gives them.
 */
static void test_view_random(void)
{
	static uint64_t live[4096];
	uint32_t live_count = 0, mismatches = 0, packets = 20000;
	uint64_t rng = 0x9e3779b97f4a7c15ull, next_ref = 1;
	int32_t index[3];

	printf("conflated view against the book, %u random packets\n", packets);
	test_setup(PUBLISHER_VIEWS_ALL);
	index[0] = instrument;
	index[1] = book_instrument_get(book, TEST_KEY + 1, 4);
	index[2] = book_instrument_get(book, TEST_KEY + 2, 4);
	for (uint32_t p = 0; p < packets; p++) {
		uint32_t ops;

		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		ops = 1 + (uint32_t)(rng % 6);
		publisher_packet_begin(&pub, p, 0);
		for (uint32_t k = 0; k < ops; k++) {
			struct book_result result;
			struct decoded_message d = { .applied = true, .instrument_defined = -1,
						     .book = &result, .exchange_ts_ns = p };
			uint32_t pick, what;
			int rc;

			rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
			what = (uint32_t)(rng % 100);
			pick = live_count > 0 ? (uint32_t)((rng >> 20) % live_count) : 0;
			if (live_count == 0 || (what < 45 && live_count < 4000)) {
				int i = (int)((rng >> 8) % 3);
				enum book_side side = (rng >> 12) & 1 ? BOOK_SIDE_ASK : BOOK_SIDE_BID;
				int64_t price = (side == BOOK_SIDE_BID ? 90 : 101) + (int64_t)((rng >> 16) % 10);

				d.instrument_key = TEST_KEY + (uint32_t)i;
				d.order = DECODED_ORDER_ADDED;
				d.ref = next_ref;
				rc = book_order_add(book, index[i], next_ref, side, price,
						    1 + (uint32_t)((rng >> 40) % 20), &result);
				live[live_count++] = next_ref++;
			} else if (what < 65) {
				d.order = DECODED_ORDER_REDUCED;
				d.ref = live[pick];
				rc = book_order_reduce(book, live[pick], 1 + (uint32_t)((rng >> 40) % 10), &result);
			} else if (what < 90) {
				d.order = DECODED_ORDER_DELETED;
				d.ref = live[pick];
				rc = book_order_delete(book, live[pick], &result);
			} else {
				d.order = DECODED_ORDER_REPLACED;
				d.ref = live[pick];
				d.new_ref = next_ref;
				rc = book_order_replace(book, live[pick], next_ref,
							90 + (int64_t)((rng >> 30) % 21),
							1 + (uint32_t)((rng >> 40) % 20), &result);
				live[pick] = next_ref++;
			}
			if (rc == 0) {
				d.instrument_key = book->instruments[result.order.instrument].key;
				publisher_message(&pub, book, &d);
			}
			/* Orders gone from the book (reduced to nothing, deleted) leave the list. */
			if (what >= 45 && live_count > 0 && (rc != 0 || result.order.remaining == 0))
				live[pick] = live[--live_count];
		}
		publisher_packet_end(&pub, p + 1);
		for (int i = 0; i < 3; i++) {
			const struct conflated_entry *e = pub_conflated_entry(&view, (uint32_t)index[i]);

			for (int side = 0; side < BOOK_SIDES; side++) {
				struct book_level_info want[TEST_DEPTH];
				uint32_t n = book_side_levels(book, index[i], (enum book_side)side, want, TEST_DEPTH);
				uint32_t held = side == BOOK_SIDE_BID ? e->bid_count : e->ask_count;
				bool same = held == n;

				for (uint32_t l = 0; same && l < n; l++) {
					const struct conflated_level *got = &e->levels[side * TEST_DEPTH + l];

					same = got->price == want[l].price && got->shares == want[l].shares &&
					       got->orders == want[l].orders;
				}
				mismatches += !same;
			}
		}
	}
	CHECK(mismatches == 0);
}

/* A trade message (an execution of a resting bid) as the decoder reports it. */
static void test_trade(uint64_t match)
{
	struct decoded_message d = { .applied = true, .instrument_key = TEST_KEY,
				     .instrument_defined = -1, .exchange_ts_ns = match };

	d.trade.kind = DECODED_TRADE_EXECUTION;
	d.trade.side = BOOK_SIDE_BID;
	d.trade.match = match;
	d.trade.price = 100;
	d.trade.shares = 1;
	publisher_message(&pub, book, &d);
}

/*
 * publish_delta_ns per message: one clock read for all of a message's events (an
 * execution's ORDER_REDUCED and TRADE share it), a fresh one for the next message,
 * and last_delta_ns the stamp of the last event committed (the feed's latency
 * histograms take it instead of reading the clock).
 */
static void test_message_stamps(void)
{
	struct book_result result;
	struct decoded_message d = { .applied = true, .instrument_key = TEST_KEY,
				     .instrument_defined = -1, .order = DECODED_ORDER_REDUCED,
				     .ref = 1, .book = &result, .exchange_ts_ns = 2 };
	const struct fh_event *reduced, *trade, *added;
	uint32_t spins = 0;

	printf("publish_delta_ns: one clock read per message, a new one for the next\n");
	test_setup(PUBLISHER_VIEWS_ALL);
	publisher_packet_begin(&pub, 0, clock_tsc());
	test_add(1, BOOK_SIDE_BID, 100, 10);
	CHECK(test_type_is(test_next(), FH_EVENT_ORDER_ADDED));
	CHECK(book_order_reduce(book, 1, 3, &result) == 0);
	d.trade.kind = DECODED_TRADE_EXECUTION;
	d.trade.side = BOOK_SIDE_BID;
	d.trade.match = 5;
	d.trade.price = 100;
	d.trade.shares = 3;
	publisher_message(&pub, book, &d);
	reduced = test_next();
	trade = test_next();
	CHECK(test_type_is(reduced, FH_EVENT_ORDER_REDUCED) && test_type_is(trade, FH_EVENT_TRADE));
	if (reduced == NULL || trade == NULL)
		return;
	CHECK(reduced->publish_delta_ns == trade->publish_delta_ns &&
	      pub.last_delta_ns == trade->publish_delta_ns && trade->publish_delta_ns != PUBLISHER_DELTA_NONE);
	/* Until the clock has moved on (the TSC only grows; bounded all the same). */
	while (publisher_delta_ns(&pub) == trade->publish_delta_ns && spins < (1u << 30))
		spins++;
	test_add(2, BOOK_SIDE_BID, 99, 1);
	added = test_next();
	CHECK(test_type_is(added, FH_EVENT_ORDER_ADDED));
	CHECK(added != NULL && added->publish_delta_ns > trade->publish_delta_ns &&
	      pub.last_delta_ns == added->publish_delta_ns);
	publisher_packet_end(&pub, 3);
}

static void test_book_state(void)
{
	const struct fh_event *e;
	uint32_t events = 0;

	test_setup(PUBLISHER_VIEWS_ALL);
	CHECK(view.header->feed_state[0] == FH_BOOK_OK);
	publisher_book_state(&pub, FH_BOOK_STALE, FH_BOOK_REASON_LOST, 10, 3);
	e = test_next();
	CHECK(test_type_is(e, FH_EVENT_BOOK_STATE) && fh_event_book_state(e) == FH_BOOK_STALE &&
	      e->body.state.state == FH_BOOK_STALE && e->body.state.reason == FH_BOOK_REASON_LOST &&
	      e->body.state.first == 10 && e->body.state.count == 3);
	CHECK(view.header->feed_state[0] == FH_BOOK_STALE);
	publisher_packet_begin(&pub, 1, 0);
	test_add(1, BOOK_SIDE_BID, 100, 10);
	test_trade(77);
	test_add(2, BOOK_SIDE_ASK, 110, 5);
	publisher_packet_end(&pub, 3);
	while ((e = test_next()) != NULL) {	/* orders, trade, levels, top, end of packet */
		events++;
		CHECK(fh_event_book_state(e) == FH_BOOK_STALE);
		CHECK(e->type != FH_EVENT_TRADE || (e->flags & FH_FLAG_TRADE_MASK) == FH_FLAG_TRADE_EXECUTION);
	}
	CHECK(events == 7);
	publisher_book_state(&pub, FH_BOOK_RECOVERING, FH_BOOK_REASON_RECOVERING, 11, 1);
	CHECK(fh_event_book_state(test_next()) == FH_BOOK_RECOVERING);
	publisher_book_state(&pub, FH_BOOK_OK, FH_BOOK_REASON_NEW_SESSION, 0, 0);
	e = test_next();
	CHECK(test_type_is(e, FH_EVENT_BOOK_STATE) && e->flags == 0 &&
	      e->body.state.reason == FH_BOOK_REASON_NEW_SESSION && e->body.state.first == 0);
	CHECK(view.header->feed_state[0] == FH_BOOK_OK);
	test_packet_adds(3, BOOK_SIDE_BID, 99, 1);
	while ((e = test_next()) != NULL)
		CHECK(e->flags == 0);
	/* Without the levels view the feed keeps no conflated entries, nor their state. */
	test_setup(PUBLISHER_VIEW_ORDERS);
	publisher_book_state(&pub, FH_BOOK_STALE, FH_BOOK_REASON_LOST, 1, 1);
	CHECK(view.header->feed_state[0] == FH_BOOK_OK);
	CHECK(test_type_is(test_next(), FH_EVENT_BOOK_STATE));
}

/* An add on instrument `key` (made if new) as the decoder would report it. */
static void test_add_key(uint32_t key, uint64_t ref, enum book_side side, int64_t price, uint32_t shares)
{
	struct book_result result;
	int32_t index = book_instrument_get(book, key, 4);
	struct decoded_message d = { .applied = true, .instrument_key = key,
				     .instrument_defined = -1, .order = DECODED_ORDER_ADDED,
				     .ref = ref, .book = &result, .exchange_ts_ns = ref };

	CHECK(index >= 0 && book_order_add(book, index, ref, side, price, shares, &result) == 0);
	publisher_message(&pub, book, &d);
}

/*
 * Per-instrument states: one instrument RECOVERING while another flows. Its events
 * (orders, levels, top) carry RECOVERING, the other's OK, END_OF_PACKET the feed's OK;
 * BOOK_STATE scope INSTRUMENT names it; its view entry holds its state, the other's
 * not; a feed STALE overrides both (the worse); back to OK, every flag clear.
 */
static void test_instrument_state(void)
{
	struct publisher_states states;
	const struct fh_event *e;
	uint32_t recovering = 0, ok = 0, ends = 0;
	int32_t other;

	test_setup(PUBLISHER_VIEWS_ALL);
	other = book_instrument_get(book, TEST_KEY + 1, 4);
	CHECK(other == 1);
	CHECK(publisher_states_make(&states, book->instruments_max) == 0);
	publisher_states_set(&pub, &states, book);
	CHECK(!publisher_states_change(&states, (uint32_t)other, FH_BOOK_OK));
	CHECK(publisher_states_change(&states, (uint32_t)other, FH_BOOK_RECOVERING));
	CHECK(states.marked == 1 && states.count[FH_BOOK_RECOVERING] == 1);
	publisher_instrument_state(&pub, (uint32_t)other, FH_BOOK_RECOVERING, FH_BOOK_REASON_RECOVERING, 5, 2);
	e = test_next();
	CHECK(test_type_is(e, FH_EVENT_BOOK_STATE) && fh_event_state_instrument(e) &&
	      e->instrument == TEST_KEY + 1 && fh_event_book_state(e) == FH_BOOK_RECOVERING &&
	      e->body.state.state == FH_BOOK_RECOVERING && e->body.state.reason == FH_BOOK_REASON_RECOVERING &&
	      e->body.state.first == 5 && e->body.state.count == 2);
	CHECK(view.header->feed_state[0] == FH_BOOK_OK);
	CHECK(pub_conflated_entry(&view, (uint32_t)other)->state == FH_BOOK_RECOVERING &&
	      pub_conflated_entry(&view, (uint32_t)instrument)->state == FH_BOOK_OK);
	publisher_packet_begin(&pub, 1, 0);
	test_add_key(TEST_KEY, 1, BOOK_SIDE_BID, 100, 10);
	test_add_key(TEST_KEY + 1, 2, BOOK_SIDE_BID, 200, 10);
	test_add_key(TEST_KEY, 3, BOOK_SIDE_ASK, 110, 10);
	publisher_packet_end(&pub, 3);
	while ((e = test_next()) != NULL) {
		if (e->type == FH_EVENT_END_OF_PACKET) {
			ends++;
			CHECK(e->flags == 0);
		} else if (e->instrument == TEST_KEY + 1) {
			recovering++;
			CHECK(fh_event_book_state(e) == FH_BOOK_RECOVERING);
		} else {
			ok++;
			CHECK(e->instrument == TEST_KEY && e->flags == 0);
		}
	}
	/* Its add, level, top; the other's two adds, two levels, top. */
	CHECK(recovering == 3 && ok == 5 && ends == 1);
	/* The feed STALE: the worse of the two, both instruments. */
	publisher_book_state(&pub, FH_BOOK_STALE, FH_BOOK_REASON_LOST, 9, 1);
	CHECK(test_next() != NULL);
	publisher_packet_begin(&pub, 2, 0);
	test_add_key(TEST_KEY, 4, BOOK_SIDE_BID, 99, 1);
	test_add_key(TEST_KEY + 1, 5, BOOK_SIDE_BID, 199, 1);
	publisher_packet_end(&pub, 5);
	while ((e = test_next()) != NULL)
		CHECK(fh_event_book_state(e) == FH_BOOK_STALE);
	publisher_book_state(&pub, FH_BOOK_OK, FH_BOOK_REASON_NEW_SESSION, 0, 0);
	e = test_next();
	CHECK(test_type_is(e, FH_EVENT_BOOK_STATE) && !fh_event_state_instrument(e) && e->instrument == 0);
	/* Back to OK: the instrument's BOOK_STATE says so, and nothing is flagged. */
	CHECK(publisher_states_change(&states, (uint32_t)other, FH_BOOK_OK) && states.marked == 0 &&
	      states.count[FH_BOOK_RECOVERING] == 0);
	publisher_instrument_state(&pub, (uint32_t)other, FH_BOOK_OK, FH_BOOK_REASON_SNAPSHOT, 0, 0);
	e = test_next();
	CHECK(test_type_is(e, FH_EVENT_BOOK_STATE) && fh_event_state_instrument(e) && e->flags == 0 &&
	      e->instrument == TEST_KEY + 1 && e->body.state.reason == FH_BOOK_REASON_SNAPSHOT);
	CHECK(pub_conflated_entry(&view, (uint32_t)other)->state == FH_BOOK_OK);
	test_packet_adds(10, BOOK_SIDE_BID, 98, 1);
	while ((e = test_next()) != NULL)
		CHECK(e->flags == 0);
	publisher_states_set(&pub, NULL, book);
	publisher_states_free(&states);
}

#define TEST_INSTRUMENTS 3
#define TEST_ORDERS 40
#define TEST_LEVELS_MAX 64

/* Books as a consumer rebuilds them from events: orders by ref, levels by side. */
struct test_rebuilt {
	uint32_t key;
	bool cleared;
	uint32_t tops;
	uint32_t levels_count[BOOK_SIDES];
	struct book_level_info levels[BOOK_SIDES][TEST_LEVELS_MAX];
	struct book_top top;
};

static struct {
	uint64_t ref;
	int64_t price;
	uint32_t shares;	/* 0: not in the book */
	uint32_t key;
	uint8_t side;
	bool seen;
} test_orders[TEST_ORDERS];

/* The book: three instruments (the last with no order), orders on both sides, some reduced. */
static void test_recovered_book(void)
{
	static const uint32_t keys[TEST_INSTRUMENTS] = { TEST_KEY, 3, 9 };

	for (uint32_t i = 1; i < TEST_INSTRUMENTS; i++)
		CHECK(book_instrument_get(book, keys[i], 4) == (int32_t)i);
	CHECK(book_instrument_symbol_set(book, 1, "ABC", 3, BOOK_SYMBOL_FROM_DIRECTORY));
	for (uint32_t n = 0; n < TEST_ORDERS; n++) {
		uint32_t in = n % 2;	/* instruments 0 and 1 */
		uint8_t side = (n / 2) % 2;

		test_orders[n].ref = 1000 + n + (n / 10) * 50;	/* runs of neighbours in the table */
		test_orders[n].price = 100 + (int64_t)(n % 5) * (side ? 1 : -1);
		test_orders[n].shares = 10 + n;
		test_orders[n].key = keys[in];
		test_orders[n].side = side;
		CHECK(book_order_add(book, (int32_t)in, test_orders[n].ref, (enum book_side)side,
				     test_orders[n].price, test_orders[n].shares, NULL) == 0);
	}
	for (uint32_t n = 0; n < TEST_ORDERS; n += 3) {	/* some leave, some shrink */
		uint32_t take = n % 2 ? test_orders[n].shares : 4;

		CHECK(book_order_reduce(book, test_orders[n].ref, take, NULL) == 0);
		test_orders[n].shares -= take;
	}
}

/* Applies one recovered event to the rebuilt books (a consumer's job). */
static void test_rebuild(struct test_rebuilt *r, const struct fh_event *e)
{
	struct test_rebuilt *in = NULL;

	for (int i = 0; i < TEST_INSTRUMENTS; i++)
		if (r[i].key == e->instrument)
			in = &r[i];
	if (e->type == FH_EVENT_END_OF_PACKET)
		return;
	CHECK(in != NULL && in->cleared);	/* content only after its clear */
	if (in == NULL)
		return;
	if (e->type == FH_EVENT_ORDER_ADDED) {
		bool found = false;

		for (int n = 0; n < TEST_ORDERS; n++)
			if (test_orders[n].ref == e->body.order.ref) {
				CHECK(!test_orders[n].seen && test_orders[n].shares == e->quantity &&
				      e->body.order.remaining == e->quantity &&
				      test_orders[n].price == e->body.order.price &&
				      test_orders[n].key == e->instrument && test_orders[n].side == e->side);
				test_orders[n].seen = found = true;
			}
		CHECK(found);
	} else if (e->type == FH_EVENT_LEVEL_CHANGED) {
		uint32_t *n = &in->levels_count[e->side % BOOK_SIDES];

		CHECK(e->side < BOOK_SIDES && *n < TEST_LEVELS_MAX && in->tops == 0);
		if (e->side < BOOK_SIDES && *n < TEST_LEVELS_MAX)
			in->levels[e->side][(*n)++] = (struct book_level_info){
				e->body.level.price, e->body.level.shares, e->body.level.orders };
	} else {
		CHECK(e->type == FH_EVENT_TOP_OF_BOOK);
		in->tops++;
		in->top.price[BOOK_SIDE_BID] = e->body.top.bid_price;
		in->top.price[BOOK_SIDE_ASK] = e->body.top.ask_price;
		in->top.shares[BOOK_SIDE_BID] = e->body.top.bid_shares;
		in->top.shares[BOOK_SIDE_ASK] = e->body.top.ask_shares;
	}
}

/* The rebuilt books against the book through its reader API, and the conflated view. */
static void test_rebuilt_check(const struct test_rebuilt *r, uint8_t views)
{
	static struct book_level_info want[TEST_LEVELS_MAX];

	for (int n = 0; n < TEST_ORDERS; n++)
		CHECK(test_orders[n].seen == ((views & PUBLISHER_VIEW_ORDERS) && test_orders[n].shares > 0));
	for (int32_t i = 0; i < TEST_INSTRUMENTS; i++) {
		struct book_top top;

		CHECK(r[i].cleared);
		book_top_get(book, i, &top);
		for (int side = 0; side < BOOK_SIDES; side++) {
			uint32_t n = book_side_levels(book, i, (enum book_side)side, want, TEST_LEVELS_MAX);
			const struct conflated_entry *e = pub_conflated_entry(&view, (uint32_t)i);

			if (!(views & PUBLISHER_VIEW_LEVELS)) {
				CHECK(r[i].levels_count[side] == 0 && r[i].tops == 0);
				continue;
			}
			CHECK(r[i].levels_count[side] == n && book_side_count(book, i, (enum book_side)side) == n);
			CHECK(memcmp(r[i].levels[side], want, n * sizeof(want[0])) == 0);
			CHECK(r[i].tops == 1 && r[i].top.price[side] == top.price[side] &&
			      r[i].top.shares[side] == top.shares[side]);
			CHECK(e->used && e->instrument == r[i].key &&
			      (side ? e->ask_count : e->bid_count) == (n < TEST_DEPTH ? n : TEST_DEPTH));
			for (uint32_t l = 0; l < n && l < TEST_DEPTH; l++)
				CHECK(e->levels[side * TEST_DEPTH + l].price == want[l].price &&
				      e->levels[side * TEST_DEPTH + l].shares == want[l].shares);
		}
	}
	if (views & PUBLISHER_VIEW_LEVELS)
		CHECK(strcmp(pub_conflated_entry(&view, 1)->symbol, "ABC") == 0);
	else	/* a view that is off keeps no entry */
		for (uint32_t i = 0; i < TEST_INSTRUMENTS; i++)
			CHECK(pub_conflated_entry(&view, i)->used == 0);
}

static void test_book_recovered(uint8_t views)
{
	struct test_rebuilt r[TEST_INSTRUMENTS];
	const struct fh_event *e;
	uint32_t clears = 0;

	test_setup(views);
	test_recovered_book();
	memset(r, 0, sizeof(r));
	for (int n = 0; n < TEST_ORDERS; n++)
		test_orders[n].seen = false;
	publisher_book_state(&pub, FH_BOOK_RECOVERING, FH_BOOK_REASON_SNAPSHOT_STARTED, 0, 0);
	CHECK(test_type_is(test_next(), FH_EVENT_BOOK_STATE));
	publisher_book_recovered(&pub, book);
	/* First the clears, one per instrument in index order, naming it. */
	for (int32_t i = 0; i < TEST_INSTRUMENTS; i++) {
		e = test_next();
		CHECK(test_type_is(e, FH_EVENT_BOOK_RECOVERED) && e->instrument == book->instruments[i].key &&
		      e->body.instrument.price_decimals == 4 &&
		      strcmp(e->body.instrument.symbol, i == 1 ? "ABC" : "") == 0);
		if (e == NULL)
			return;
		r[i].key = e->instrument;
		r[i].cleared = true;
		clears++;
	}
	while ((e = test_next()) != NULL && e->type != FH_EVENT_END_OF_PACKET) {
		CHECK(fh_event_book_state(e) == FH_BOOK_RECOVERING);
		test_rebuild(r, e);
	}
	CHECK(test_type_is(e, FH_EVENT_END_OF_PACKET) && test_next() == NULL);
	CHECK(clears == TEST_INSTRUMENTS);
	test_rebuilt_check(r, views);
}

/*
 * The per-packet events against a model of this test's own (orders in a list, levels
 * and tops summed from them, not from the book or the publisher), on packets shaped
 * for the publisher's lookups: 3 to 8 instruments a packet (4 and 5 often: the scan of
 * pending instruments and its switch to the hash), 6 to 11 prices an instrument (8 and
 * 9: the scan of an instrument's levels and its switch), the same level changed many
 * times, levels born and gone, replaces that move an order between levels, and now and
 * then an instrument named (INSTRUMENT_DEFINED) before its levels change or between
 * them. Expected per packet: one LEVEL_CHANGED per level in order of first change,
 * with its final state, then one TOP_OF_BOOK per instrument whose top at the end
 * differs from the start, in the order of the instruments' first changed level.
 */
#define MODEL_KEYS 12u
#define MODEL_ORDERS 1024u
#define MODEL_TOUCHED 256u

struct model_order {
	uint64_t ref;
	int32_t in;
	int side;
	int64_t price;
	uint32_t shares;
};

static struct model_order model_orders[MODEL_ORDERS];
static uint32_t model_count;

/* A level's totals in the model: shares and orders at (in, side, price). */
static void model_level(int32_t in, int side, int64_t price, uint64_t *shares, uint32_t *orders)
{
	*shares = 0;
	*orders = 0;
	for (uint32_t i = 0; i < model_count; i++) {
		const struct model_order *o = &model_orders[i];

		if (o->in == in && o->side == side && o->price == price) {
			*shares += o->shares;
			(*orders)++;
		}
	}
}

/* The model's top of an instrument: best price per side (INT64_MIN: empty) and its shares. */
static void model_top(int32_t in, int64_t price[2], uint64_t shares[2])
{
	for (int side = 0; side < BOOK_SIDES; side++) {
		uint32_t orders;

		price[side] = INT64_MIN;
		for (uint32_t i = 0; i < model_count; i++) {
			const struct model_order *o = &model_orders[i];

			if (o->in == in && o->side == side &&
			    (price[side] == INT64_MIN || (side == BOOK_SIDE_BID ? o->price > price[side] :
							  o->price < price[side])))
				price[side] = o->price;
		}
		model_level(in, side, price[side], &shares[side], &orders);
	}
}

struct model_touch {
	int32_t in;
	int side;
	int64_t price;
};

static struct model_touch touched[MODEL_TOUCHED];
static uint32_t touched_count;

static void model_touch(int32_t in, int side, int64_t price)
{
	for (uint32_t i = 0; i < touched_count; i++)
		if (touched[i].in == in && touched[i].side == side && touched[i].price == price)
			return;
	assert(touched_count < MODEL_TOUCHED);
	touched[touched_count++] = (struct model_touch){ in, side, price };
}

/* One random operation on instrument in: bids at 1000 + 0..spread-1, asks at 2000 + 0..spread-1. */
static void model_op(struct publisher *p, struct book *b, int32_t in,
		     uint32_t spread, uint64_t *next_ref, uint64_t ts)
{
	struct book_result result;
	struct decoded_message d = { .applied = true, .instrument_defined = -1, .book = &result,
				     .exchange_ts_ns = ts, .instrument_key = b->instruments[in].key };
	uint32_t what = (uint32_t)(check_rng() % 100), mine[MODEL_ORDERS], n = 0;
	int side = (int)(check_rng() & 1);
	int64_t price = (side == BOOK_SIDE_BID ? 1000 : 2000) + (int64_t)(check_rng() % spread);
	struct model_order *o;

	for (uint32_t i = 0; i < model_count; i++)
		if (model_orders[i].in == in)
			mine[n++] = i;
	if ((n == 0 || what < 45) && model_count < MODEL_ORDERS) {
		uint32_t shares = 1 + (uint32_t)(check_rng() % 50);

		CHECK(book_order_add(b, in, *next_ref, (enum book_side)side, price, shares, &result) == 0);
		model_orders[model_count++] = (struct model_order){ *next_ref, in, side, price, shares };
		d.order = DECODED_ORDER_ADDED;
		d.ref = (*next_ref)++;
		model_touch(in, side, price);
		publisher_message(p, b, &d);
		return;
	}
	if (n == 0)
		return;	/* the model is full and holds none of this instrument */
	o = &model_orders[mine[check_rng() % n]];
	d.ref = o->ref;
	model_touch(o->in, o->side, o->price);
	if (what < 70) {
		uint32_t take = 1 + (uint32_t)(check_rng() % 60);

		d.order = DECODED_ORDER_REDUCED;
		CHECK(book_order_reduce(b, o->ref, take, &result) == 0);
		o->shares = take >= o->shares ? 0 : o->shares - take;
	} else if (what < 85) {
		d.order = DECODED_ORDER_DELETED;
		CHECK(book_order_delete(b, o->ref, &result) == 0);
		o->shares = 0;
	} else {
		/* A replace: the order moves to another level of its side (or stays at its own). */
		price = (o->side == BOOK_SIDE_BID ? 1000 : 2000) + (int64_t)(check_rng() % spread);
		d.order = DECODED_ORDER_REPLACED;
		d.new_ref = *next_ref;
		CHECK(book_order_replace(b, o->ref, *next_ref, price, 1 + (uint32_t)(check_rng() % 50),
					 &result) == 0);
		o->ref = (*next_ref)++;
		o->price = price;
		o->shares = result.order.shares;
		model_touch(o->in, o->side, price);
	}
	publisher_message(p, b, &d);
	if (o->shares == 0)
		*o = model_orders[--model_count];
}

/* INSTRUMENT_DEFINED for instrument in, its symbol changed to one naming the packet. */
static void model_name(struct publisher *p, struct book *b, int32_t in, uint32_t packet)
{
	struct decoded_message d = { .applied = true, .instrument_defined = in,
				     .instrument_key = b->instruments[in].key };
	char symbol[16];
	int len = snprintf(symbol, sizeof(symbol), "S%u", packet);

	if (book_instrument_symbol_set(b, in, symbol, (uint32_t)len, BOOK_SYMBOL_FROM_DIRECTORY))
		publisher_message(p, b, &d);
}

static void test_packet_model(uint64_t seed)
{
	static struct pub_ring mring;
	static struct pub_conflated mview;
	static struct publisher mpub;
	static const uint32_t widths[] = { 3, 4, 4, 4, 5, 5, 5, 6, 8 };
	static const uint32_t spreads[] = { 6, 7, 8, 8, 9, 9, 10, 11 };
	struct book *b = book_create(MODEL_KEYS, 2 * MODEL_ORDERS, 64);
	uint64_t next_ref = 1, read, mismatches = 0, named = 0, hashed = 0, levels_hashed = 0;
	const uint64_t packets = 3000;
	int32_t index[MODEL_KEYS];

	printf("events against a model: %" PRIu64 " packets of 3..8 instruments, 6..11 prices each\n",
	       packets);
	check_rng_state = seed;
	model_count = 0;
	pub_memory_make(&mring, 1u << 14, &mview, MODEL_KEYS, 4);
	publisher_init(&mpub, &mring, 0, 1000000000);
	publisher_views_set(&mpub, PUBLISHER_VIEWS_ALL);
	publisher_view_set(&mpub, &mview, 0, b);
	read = mring.head;
	for (uint32_t k = 0; k < MODEL_KEYS; k++)
		index[k] = book_instrument_get(b, 100 + k, 4);
	for (uint64_t pk = 0; pk < packets; pk++) {
		uint32_t width = widths[check_rng() % 9], spread[MODEL_KEYS], ops;
		int32_t chosen[MODEL_KEYS];
		int64_t before_price[MODEL_KEYS][2];
		uint64_t before_shares[MODEL_KEYS][2];
		const struct fh_event *e;
		uint32_t at = 0, tops = 0, seen[MODEL_KEYS] = { 0 }, order[MODEL_KEYS], orders = 0;

		/* width distinct instruments, each with its own band of prices this packet */
		for (uint32_t k = 0; k < MODEL_KEYS; k++)
			chosen[k] = index[k];
		for (uint32_t k = 0; k < width; k++) {
			uint32_t pick = k + (uint32_t)(check_rng() % (MODEL_KEYS - k));
			int32_t t = chosen[k];

			chosen[k] = chosen[pick];
			chosen[pick] = t;
			spread[k] = spreads[check_rng() % 8];
		}
		for (uint32_t k = 0; k < MODEL_KEYS; k++)
			model_top(index[k], before_price[k], before_shares[k]);
		touched_count = 0;
		ops = width * (4 + (uint32_t)(check_rng() % 12));
		publisher_packet_begin(&mpub, pk + 1, 0);
		for (uint32_t op = 0; op < ops; op++) {
			uint32_t k = (uint32_t)(check_rng() % width);

			/* Named: another of the packet's instruments, so its levels may come later. */
			if (check_rng() % 30 == 0) {
				model_name(&mpub, b, chosen[check_rng() % width], (uint32_t)pk);
				named++;
			}
			model_op(&mpub, b, chosen[k], spread[k], &next_ref, pk);
		}
		hashed += publisher_instruments_hashed(&mpub);
		for (uint32_t i = 0; i < mpub.instruments_count; i++)
			levels_hashed += publisher_levels_hashed(&mpub.instruments[i]);
		publisher_packet_end(&mpub, pk + 1);
		/* The instruments in the order of their first changed level. */
		for (uint32_t t = 0; t < touched_count; t++) {
			if (!seen[touched[t].in]++)
				order[orders++] = (uint32_t)touched[t].in;
		}
		for (; read < mring.head; read++) {
			e = &mring.records[read & mring.mask];
			if (e->type == FH_EVENT_LEVEL_CHANGED) {
				uint64_t shares;
				uint32_t n;

				if (at >= touched_count || tops > 0) {
					mismatches++;
					continue;
				}
				model_level(touched[at].in, touched[at].side, touched[at].price, &shares, &n);
				mismatches += e->instrument != b->instruments[touched[at].in].key ||
					      e->side != touched[at].side || e->body.level.price != touched[at].price ||
					      e->body.level.shares != shares || e->body.level.orders != n;
				at++;
			} else if (e->type == FH_EVENT_TOP_OF_BOOK) {
				int64_t price[2];
				uint64_t shares[2];
				uint32_t in = 0;

				/* the next instrument, in first-level order, whose top moved */
				for (; tops < orders; tops++) {
					in = order[tops];
					model_top((int32_t)in, price, shares);
					if (price[0] != before_price[in][0] || price[1] != before_price[in][1] ||
					    shares[0] != before_shares[in][0] || shares[1] != before_shares[in][1])
						break;
				}
				if (tops == orders) {
					mismatches++;
					continue;
				}
				mismatches += e->instrument != b->instruments[in].key ||
					      e->body.top.bid_price != price[0] || e->body.top.ask_price != price[1] ||
					      e->body.top.bid_shares != shares[0] || e->body.top.ask_shares != shares[1];
				tops++;
			}
		}
		/* Every level had its event; no instrument whose top moved was left out. */
		mismatches += at != touched_count;
		for (; tops < orders; tops++) {
			int64_t price[2];
			uint64_t shares[2];
			uint32_t in = order[tops];

			model_top((int32_t)in, price, shares);
			mismatches += price[0] != before_price[in][0] || price[1] != before_price[in][1] ||
				      shares[0] != before_shares[in][0] || shares[1] != before_shares[in][1];
		}
		if (mismatches > 0) {
			printf("  FAIL: packet %" PRIu64 " (seed %" PRIu64 ") differs from the model\n", pk, seed);
			break;
		}
	}
	CHECK(mismatches == 0 && mpub.flushes_early == 0);
	/* The shapes it is for were reached: named instruments, both hashes. */
	CHECK(named > 0 && hashed > 0 && levels_hashed > 0);
	CHECK(book_check(b));
	book_destroy(b);
}

int main(int argc, char **argv)
{
	test_book_state();
	test_instrument_state();
	test_book_recovered(PUBLISHER_VIEWS_ALL);
	test_book_recovered(PUBLISHER_VIEW_ORDERS);
	test_book_recovered(PUBLISHER_VIEW_LEVELS);
	test_coalesced();
	test_flush_early();
	test_views();
	test_view_incremental();
	test_view_random();
	test_message_stamps();
	test_packet_model(check_seed(argc, argv));
	book_destroy(book);
	printf("test_publisher: %s\n", failures ? "FAIL" : "ok");
	return failures ? 1 : 0;
}
