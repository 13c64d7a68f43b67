/*
 * test_instrument_state: one instrument's book state held apart from its feed's (issue
 * 23 item 2), end to end from the feed's hook to a consumer. A feed publishes three
 * instruments on a ring and conflated view in /dev/shm; feed_instrument_state_set
 * makes the second RECOVERING. A libfh consumer must then see: one BOOK_STATE of
 * scope INSTRUMENT naming it; RECOVERING in the flags of its events only (the
 * others' and END_OF_PACKET stay OK), nothing flagged before; its conflated slot
 * RECOVERING through fh_top_read, the others OK; and the feed's stats counting 2 ok,
 * 1 recovering. A feed STALE over it shows in every event and slot (the worse of the
 * two); back to OK, nothing is flagged and the counts are 3 ok.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "feed/feed.h"
#include "publish/conflated.h"
#include "publish/libfh/fh.h"
#include "publish/libfh/stats_layout.h"
#include "tests/check.h"

#define TEST_INSTRUMENTS 3
#define TEST_KEY0 11u		/* keys 11, 12, 13: book indexes 0, 1, 2 */
#define TEST_MARKED 1u		/* the instrument made RECOVERING, by index */
#define TEST_EVENTS_MAX 256

static struct pub_ring ring;
static struct pub_conflated view;
static struct publisher pub;
static struct feed *feed;
static uint64_t next_ref = 1;

static void packet_free(void *packet)
{
	(void)packet;
}

/* One packet of an add per instrument, as a decoder reports them to the publisher. */
static void test_packet(int64_t price)
{
	publisher_packet_begin(&pub, 1, 0);
	for (uint32_t i = 0; i < TEST_INSTRUMENTS; i++) {
		struct book_result result;
		struct decoded_message d = { .applied = true, .instrument_key = TEST_KEY0 + i,
					     .instrument_defined = -1, .order = DECODED_ORDER_ADDED,
					     .ref = next_ref, .book = &result, .exchange_ts_ns = next_ref };

		CHECK(book_order_add(feed->book, (int32_t)i, next_ref++, BOOK_SIDE_BID, price, 10, &result) == 0);
		publisher_message(&pub, feed->book, &d);
	}
	publisher_packet_end(&pub, next_ref);
}

/*
 * Reads every new event through libfh: per event the state it carries, checked
 * against `marked_state` for the marked instrument's and `feed_state` for the rest.
 * Returns the BOOK_STATE events of scope INSTRUMENT seen (their last in *state_event).
 */
static uint32_t test_consume(struct fh_consumer *c, uint8_t feed_state, uint8_t marked_state,
			     struct fh_event *state_event, uint32_t *marked_events)
{
	static struct fh_event events[TEST_EVENTS_MAX];
	uint32_t instrument_states = 0;
	int n = fh_poll(c, events, TEST_EVENTS_MAX);

	CHECK(n > 0 && n < TEST_EVENTS_MAX);
	*marked_events = 0;
	for (int i = 0; i < n; i++) {
		const struct fh_event *e = &events[i];
		bool marked = e->instrument == TEST_KEY0 + TEST_MARKED;

		if (fh_event_state_instrument(e)) {
			instrument_states++;
			*state_event = *e;
		}
		*marked_events += marked;
		if (fh_event_book_state(e) != (marked ? marked_state : feed_state)) {
			printf("  FAIL: event %" PRIu64 " type %u instrument %u carries state %u\n", e->seq, e->type,
			       e->instrument, fh_event_book_state(e));
			failures++;
		}
	}
	return instrument_states;
}

/* fh_top_read's state of every slot against the expected one. */
static void test_view_states(struct fh_consumer *c, uint8_t feed_state, uint8_t marked_state)
{
	static struct fh_top top;

	CHECK(fh_top_slots(c) >= TEST_INSTRUMENTS);
	for (uint32_t slot = 0; slot < TEST_INSTRUMENTS; slot++) {
		CHECK(fh_top_read(c, slot, &top) == 0 && top.instrument == TEST_KEY0 + slot);
		CHECK(top.state == (slot == TEST_MARKED ? marked_state : feed_state));
	}
}

static void test_counts(uint64_t ok, uint64_t recovering, uint64_t stale)
{
	static struct fh_stats_feed stats;

	feed_stats_fill(feed, &stats);
	CHECK(stats.instruments[FH_BOOK_OK] == ok && stats.instruments[FH_BOOK_RECOVERING] == recovering &&
	      stats.instruments[FH_BOOK_STALE] == stale);
}

int main(void)
{
	static struct cfg cfg;
	char err[CFG_ERROR_MAX], ring_name[64], view_name[80];
	struct fh_consumer *c;
	struct fh_event state_event;
	uint32_t marked_events;

	snprintf(ring_name, sizeof(ring_name), "/fh-test-istate-%d", getpid());
	snprintf(view_name, sizeof(view_name), "%s-top", ring_name);
	CHECK(cfg_load_default(&cfg, err, sizeof(err)) == 0);
	cfg.feeds[0].book.instruments_max = 8;
	cfg.feeds[0].book.orders_max = 1024;
	cfg.feeds[0].book.levels_max = 64;
	feed = feed_create(&cfg.feeds[0], packet_free, err, sizeof(err));
	CHECK(feed != NULL);
	if (feed == NULL)
		return 1;
	CHECK(pub_conflated_create(&view, view_name, 8, 3, 0, 0600, (gid_t)-1, err, sizeof(err)) == 0);
	CHECK(pub_ring_create(&ring, ring_name, 1024, 0600, (gid_t)-1, err, sizeof(err)) == 0);
	pub_conflated_generation_set(&view, ring.generation);
	pub_conflated_clear(&view, 0, view.slots);
	pub_ring_feed_name_set(&ring, 0, "cme");
	publisher_init(&pub, &ring, 0, 1000000000);
	publisher_view_set(&pub, &view, 0, feed->book);
	publisher_states_set(&pub, &feed->instrument_states, feed->book);
	feed->pub = &pub;
	for (uint32_t i = 0; i < TEST_INSTRUMENTS; i++)
		CHECK(book_instrument_get(feed->book, TEST_KEY0 + i, 2) == (int32_t)i);
	CHECK(fh_attach(ring_name, FH_START_OLDEST, &c, err, sizeof(err)) == 0);

	printf("every instrument OK: nothing flagged, 3 ok\n");
	test_packet(100);
	CHECK(test_consume(c, FH_BOOK_OK, FH_BOOK_OK, &state_event, &marked_events) == 0 && marked_events > 0);
	test_view_states(c, FH_BOOK_OK, FH_BOOK_OK);
	test_counts(3, 0, 0);

	printf("one instrument RECOVERING: its BOOK_STATE, its events, its slot, the counts\n");
	feed_instrument_state_set(feed, TEST_MARKED, FEED_BOOK_RECOVERING, FH_BOOK_REASON_RECOVERING, 40, 2);
	feed_instrument_state_set(feed, TEST_MARKED, FEED_BOOK_RECOVERING, FH_BOOK_REASON_RECOVERING, 40, 2);
	test_packet(101);
	CHECK(test_consume(c, FH_BOOK_OK, FH_BOOK_RECOVERING, &state_event, &marked_events) == 1);
	CHECK(state_event.type == FH_EVENT_BOOK_STATE && state_event.instrument == TEST_KEY0 + TEST_MARKED &&
	      state_event.body.state.scope == FH_BOOK_SCOPE_INSTRUMENT &&
	      state_event.body.state.state == FH_BOOK_RECOVERING &&
	      state_event.body.state.reason == FH_BOOK_REASON_RECOVERING &&
	      state_event.body.state.first == 40 && state_event.body.state.count == 2);
	CHECK(marked_events >= 3);	/* its BOOK_STATE, add, level, top */
	test_view_states(c, FH_BOOK_OK, FH_BOOK_RECOVERING);
	test_counts(2, 1, 0);

	printf("the feed STALE over it: every event and slot stale, 3 stale\n");
	feed_book_state_set(feed, FEED_BOOK_STALE, FH_BOOK_REASON_LOST, 50, 1);
	test_packet(102);
	CHECK(test_consume(c, FH_BOOK_STALE, FH_BOOK_STALE, &state_event, &marked_events) == 0);
	test_view_states(c, FH_BOOK_STALE, FH_BOOK_STALE);
	test_counts(0, 0, 3);

	printf("both back to OK: nothing flagged, 3 ok\n");
	feed_book_state_set(feed, FEED_BOOK_OK, FH_BOOK_REASON_NEW_SESSION, 0, 0);
	feed_instrument_state_set(feed, TEST_MARKED, FEED_BOOK_OK, FH_BOOK_REASON_SNAPSHOT, 0, 0);
	test_packet(103);
	CHECK(test_consume(c, FH_BOOK_OK, FH_BOOK_OK, &state_event, &marked_events) == 1);
	CHECK(state_event.body.state.state == FH_BOOK_OK && state_event.flags == 0 &&
	      state_event.body.state.reason == FH_BOOK_REASON_SNAPSHOT);
	test_view_states(c, FH_BOOK_OK, FH_BOOK_OK);
	test_counts(3, 0, 0);

	fh_detach(c);
	pub_ring_close(&ring);
	pub_conflated_close(&view);
	shm_unlink(ring_name);
	shm_unlink(view_name);
	feed->pub = NULL;
	feed_destroy(feed);
	printf("test_instrument_state: %s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
