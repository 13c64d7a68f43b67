/*
 * feed: routing, counting and arbitration of received frames (see feed.h).
 */
#include "feed/feed.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "book/util/clock.h"
#include "book/util/memory.h"
#include "publish/libfh/stats_layout.h"

#define FEED_DAY_NS (86400ull * 1000000000ull)

_Static_assert((int)CFG_VIEW_ORDERS == (int)PUBLISHER_VIEW_ORDERS &&
	       (int)CFG_VIEW_LEVELS == (int)PUBLISHER_VIEW_LEVELS,
	       "a feed's configured views are its publisher's");

const char *const feed_latency_names[FEED_LATENCY_KINDS] = {
	[FEED_LATENCY_PACKET] = "rx_to_publish_packet",
	[FEED_LATENCY_MESSAGE] = "rx_to_publish_message",
	[FEED_LATENCY_FEED_DELAY] = "feed_delay",
	[FEED_LATENCY_PROCESSING] = "processing",
};

_Static_assert((int)FEED_BOOK_OK == (int)FH_BOOK_OK && (int)FEED_BOOK_RECOVERING == (int)FH_BOOK_RECOVERING &&
	       (int)FEED_BOOK_STALE == (int)FH_BOOK_STALE && (int)FEED_BOOK_STATES == (int)FH_BOOK_STATES,
	       "a feed's book state is its events' state");

const char *const feed_book_state_names[FEED_BOOK_STATES] = {
	[FEED_BOOK_OK] = "ok",
	[FEED_BOOK_RECOVERING] = "recovering",
	[FEED_BOOK_STALE] = "stale",
};

/*
 * RX → now, for the latency histograms. Publishing, "now" is the moment the last
 * event was committed, the publish_delta_ns consumers read in it: the publisher has
 * just read the clock, and reading it again (11 ns here) would only time the
 * histogram's own call. Otherwise, or if nothing was committed, the clock.
 */
static uint64_t feed_published_ns(const struct feed *feed, uint64_t rx_tsc)
{
	if (feed->pub != NULL && feed->pub->last_delta_ns != PUBLISHER_DELTA_NONE)
		return feed->pub->last_delta_ns;
	return clock_tsc_to_ns(clock_tsc() - rx_tsc, feed->latency->ns_per_tsc_q32);
}

/*
 * After a packet was applied: its RX → publish time, and the feed delay from the
 * exchange's timestamp of its first message (ns since the exchange's midnight) to
 * the RX time of day in the exchange's time zone. Both are times of day, so their
 * difference is taken within ±12 h (a packet stamped just before midnight and
 * received just after is late by little, not early by a day). A negative delay, or
 * one beyond HIST_VALUE_MAX (68.7 s), says the clocks or exchange_utc_offset_min
 * disagree, not how late the packet is: it is counted apart and kept out of the
 * histogram, where it would land in the top bucket and become every percentile.
 */
static void feed_packet_timed(struct feed *feed, const struct arbiter_packet *packet)
{
	struct feed_latency *fl = feed->latency;
	struct hist *h = hist_recorder_active(&fl->recorder);
	int64_t day_ns, delay_ns;

	uint64_t rx_to_publish_ns = feed_published_ns(feed, packet->rx_tsc);
	/* The wait, RX stamp → the feed on it, taken out: ≤ rx_to_publish_ns, as ticks are. */
	uint64_t wait_ns = clock_tsc_to_ns(packet->feed_tsc - packet->rx_tsc, fl->ns_per_tsc_q32);

	hist_record(&h[FEED_LATENCY_PACKET], rx_to_publish_ns);
	hist_record(&h[FEED_LATENCY_PROCESSING], rx_to_publish_ns - wait_ns);
	uint64_t exchange_ts_ns = feed->timing.exchange_ts_ns;

	if (exchange_ts_ns == UINT64_MAX)
		return;
	day_ns = (int64_t)(((uint64_t)((int64_t)packet->rx_ns + fl->rx_epoch_offset_ns +
				       fl->exchange_offset_ns)) % FEED_DAY_NS);
	delay_ns = day_ns - (int64_t)(exchange_ts_ns % FEED_DAY_NS);
	if (delay_ns > (int64_t)FEED_DAY_NS / 2)
		delay_ns -= (int64_t)FEED_DAY_NS;
	else if (delay_ns < -(int64_t)FEED_DAY_NS / 2)
		delay_ns += (int64_t)FEED_DAY_NS;
	if (delay_ns < 0)
		fl->feed_delay_negative++;
	else if ((uint64_t)delay_ns > HIST_VALUE_MAX)
		fl->feed_delay_out_of_range++;
	else
		hist_record(&h[FEED_LATENCY_FEED_DELAY], (uint64_t)delay_ns);
}

/*
 * The decoder's listener: what a message did is published, and the message is timed
 * from its packet's RX (every message the packet carried, skipped ones too).
 */
static void feed_message_decoded(void *context, const struct decoded_message *message)
{
	struct feed *feed = context;
	struct feed_packet_timing *t = &feed->timing;

	if (feed->pub != NULL) {
		feed->pub->last_delta_ns = PUBLISHER_DELTA_NONE;
		publisher_message(feed->pub, feed->book, message);
	}
	if (feed->latency == NULL)
		return;
	hist_record(t->message_ns, feed_published_ns(feed, t->rx_tsc));
	if (t->exchange_ts_ns == UINT64_MAX)
		t->exchange_ts_ns = message->exchange_ts_ns;
}

static void feed_capacity_refused(struct feed *feed);

/* Everything the book has refused: instruments, orders and levels over capacity. */
static inline uint64_t feed_book_refusals(const struct feed *feed)
{
	const struct book_stats *b = &feed->book->stats;

	return b->orders_full + b->levels_full + b->instruments_full;
}

/* Did the book refuse anything since last seen? Three loads and a compare. */
static inline bool feed_capacity_refusing(const struct feed *feed)
{
	return __builtin_expect(feed_book_refusals(feed) != feed->capacity_seen, 0);
}

static void feed_packet_apply(void *context, const struct arbiter_packet *packet, uint32_t skip)
{
	struct feed *feed = context;
	const struct decoder_listener *listener = feed->pub != NULL ? &feed->listener :
						  feed->latency != NULL ? &feed->timer : NULL;
	bool capacity_refused;

	assert(packet->payload != NULL && packet->count > 0 && skip < packet->count);
	if (feed->latency != NULL) {
		feed->timing.message_ns = &hist_recorder_active(&feed->latency->recorder)[FEED_LATENCY_MESSAGE];
		feed->timing.rx_tsc = packet->rx_tsc;
		feed->timing.exchange_ts_ns = UINT64_MAX;
	}
	if (feed->pub != NULL)
		publisher_packet_begin(feed->pub, packet->rx_ns, packet->rx_tsc);
	if (packet->line == ARBITER_LINE_RECOVERY)
		feed->recovery_rx.recovered_messages += packet->count - skip;
	feed->decoder->frame_apply(feed->book, &feed->messages, listener, packet->payload,
				   packet->len, skip,
				   feed->pipeline != NULL && feed->pipeline->count > 0 ? feed->pipeline : NULL);
	/*
	 * A refusal in this packet: its levels, tops and END_OF_PACKET already say STALE;
	 * BOOK_STATE follows between packets.
	 */
	capacity_refused = feed_capacity_refusing(feed);
	if (capacity_refused && feed->pub != NULL)
		publisher_state_mark(feed->pub, FEED_BOOK_STALE);
	if (feed->pub != NULL)
		publisher_packet_end(feed->pub, packet->seq + packet->count - 1);
	if (capacity_refused)
		feed_capacity_refused(feed);
	if (feed->latency != NULL)
		feed_packet_timed(feed, packet);
}

int feed_latency_start(struct feed *feed, uint64_t tsc_hz, int64_t rx_epoch_offset_ns)
{
	struct feed_latency *fl = memory_alloc(sizeof(*fl));

	if (fl == NULL)
		return -ENOMEM;
	hist_recorder_init(&fl->recorder, fl->sets[0], fl->sets[1], FEED_LATENCY_KINDS);
	fl->ns_per_tsc_q32 = clock_tsc_q32(tsc_hz);
	fl->rx_epoch_offset_ns = rx_epoch_offset_ns;
	fl->exchange_offset_ns = (int64_t)feed->cfg->exchange_utc_offset_min * 60 * 1000000000;
	feed->latency = fl;
	return 0;
}

void feed_book_state_set(struct feed *feed, uint8_t state, uint8_t reason, uint64_t first,
			 uint64_t count)
{
	assert(state < FEED_BOOK_STATES && reason < FH_BOOK_REASONS);
	if (feed->recovery_rx.state == state)
		return;
	/* Stats read it from another thread: a whole 64-bit store. */
	__atomic_store_n(&feed->recovery_rx.state, state, __ATOMIC_RELAXED);
	if (feed->pub != NULL)
		publisher_book_state(feed->pub, state, reason, first, count);
}

void feed_instrument_state_set(struct feed *feed, uint32_t index, uint8_t state, uint8_t reason,
			       uint64_t first, uint64_t count)
{
	assert(state < FEED_BOOK_STATES && reason < FH_BOOK_REASONS);
	assert(index < feed->book->instruments_count);
	if (!publisher_states_change(&feed->instrument_states, index, state))
		return;
	if (feed->pub != NULL)
		publisher_instrument_state(feed->pub, index, state, reason, first, count);
}

/*
 * The books follow the session again (a filled hole, a confirmed snapshot, a new
 * session), unless the book refused something since it was last emptied: then they
 * stay STALE for capacity, whatever else recovered.
 */
static void feed_book_ok(struct feed *feed, uint8_t reason, uint64_t first, uint64_t count)
{
	if (feed->capacity_exceeded)
		feed_book_state_set(feed, FEED_BOOK_STALE, FH_BOOK_REASON_CAPACITY, 0, 0);
	else
		feed_book_state_set(feed, FEED_BOOK_OK, reason, first, count);
}

/*
 * The book refused an instrument, an order or a level (its capacity from the config):
 * from now on its books may be wrong, so the whole feed is STALE (an ITCH message may
 * name any instrument) until the books are emptied (a new session, a snapshot).
 */
static void __attribute__((noinline)) feed_capacity_refused(struct feed *feed)
{
	uint64_t refused = feed_book_refusals(feed);
	struct feed_recovery_rx *rx = &feed->recovery_rx;

	__atomic_store_n(&rx->capacity_refusals, rx->capacity_refusals + (refused - feed->capacity_seen),
			 __ATOMIC_RELAXED);
	feed->capacity_seen = refused;
	feed->capacity_exceeded = true;
	feed_book_state_set(feed, FEED_BOOK_STALE, FH_BOOK_REASON_CAPACITY, 0, 0);
}

/* After the book changed between packets (a snapshot): did it refuse anything? */
static void feed_capacity_check(struct feed *feed)
{
	if (feed_capacity_refusing(feed))
		feed_capacity_refused(feed);
}

/* The books were emptied: what they refused before no longer matters. */
static void feed_book_emptied(struct feed *feed)
{
	book_reset(feed->book);
	feed->capacity_seen = feed_book_refusals(feed);
	feed->capacity_exceeded = false;
}

/*
 * Why a hole is being declared: what the recovery service said (retries exhausted, the
 * server silent), else a join (the session's first hole, nothing applied yet), a full
 * hold (recovery on), or a loss the lines made and nothing recovered.
 */
static uint8_t feed_gap_reason(struct feed *feed, uint64_t first)
{
	const struct arbiter *a = &feed->arbiter;
	uint8_t reason = feed->gap_reason;

	feed->gap_reason = FH_BOOK_REASON_NONE;
	if (reason != FH_BOOK_REASON_NONE)
		return reason;
	if (first == a->first_seq && !a->session_applied)
		return FH_BOOK_REASON_LATE_JOIN;
	if (feed->recovery != NULL && a->gap_full) {
		__atomic_store_n(&feed->recovery_rx.hold_full, feed->recovery_rx.hold_full + 1, __ATOMIC_RELAXED);
		return FH_BOOK_REASON_HOLD_FULL;
	}
	return FH_BOOK_REASON_LOST;
}

/*
 * The books are wrong (a declared loss, a refused snapshot): with a snapshot server
 * they are re-synced, after a backoff that doubles with each re-sync in a row
 * (snapshot.resync_backoff_ms), at most snapshot.resyncs times a session. Not after a
 * snapshot failed whole (no login loop), nor while one is being taken. A lagging or
 * lying server thus costs a bounded number of logins, and the feed stays STALE.
 */
static void feed_resync_want(struct feed *feed)
{
	const struct cfg_snapshot *cfg = &feed->cfg->snapshot;
	struct feed_recovery *r = feed->recovery;
	uint32_t shift;

	if (!cfg->enabled || feed->arbiter.snapshot_pending || r->snapshot_failed || r->snapshot_wanted)
		return;
	if (r->resyncs_session >= cfg->resyncs_max) {
		__atomic_store_n(&feed->recovery_rx.resyncs_exhausted, feed->recovery_rx.resyncs_exhausted + 1,
				 __ATOMIC_RELAXED);
		return;
	}
	shift = r->resyncs_in_row < 6 ? r->resyncs_in_row : 6;	/* at most 64 times the backoff */
	r->resyncs_session++;
	r->resyncs_in_row++;
	__atomic_store_n(&feed->recovery_rx.resyncs, feed->recovery_rx.resyncs + 1, __ATOMIC_RELAXED);
	r->resync_at_ns = clock_monotonic_ns() + ((uint64_t)cfg->resync_backoff_ms << shift) * 1000000;
	r->snapshot_wanted = true;
}

/*
 * A hole declared lost: the whole feed is STALE (any instrument may be wrong), then
 * GAP, so the GAP event already carries the state. newly_lost: the messages of the
 * hole no earlier loss or applied packet of the session covered (the arbiter's
 * counted_end), so a range is never counted lost twice.
 */
static void feed_gap(void *context, uint64_t first, uint64_t count, uint64_t newly_lost)
{
	struct feed *feed = context;
	struct feed_recovery_rx *rx = &feed->recovery_rx;

	if (feed->recovery != NULL)
		__atomic_store_n(&feed->recovery->recovering, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&rx->losses, rx->losses + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&rx->lost_messages, rx->lost_messages + newly_lost, __ATOMIC_RELAXED);
	__atomic_store_n(&rx->lost_first, first, __ATOMIC_RELAXED);
	__atomic_store_n(&rx->lost_count, count, __ATOMIC_RELAXED);
	feed_book_state_set(feed, FEED_BOOK_STALE, feed_gap_reason(feed, first), first, count);
	if (feed->pub != NULL)
		publisher_gap(feed->pub, first, count);
	if (feed->recovery != NULL)
		feed_resync_want(feed);
}

/* A packet leaves the arbiter: a recovery reply's copy goes back to the feed's stack. */
static void feed_packet_release(void *context, void *packet)
{
	struct feed *feed = context;
	struct feed_recovery *r = feed->recovery;

	if (r != NULL && (uintptr_t)packet >= (uintptr_t)r->buffers &&
	    (uintptr_t)packet < (uintptr_t)(r->buffers + RECOVERY_BUFFERS)) {
		assert(r->free_count < RECOVERY_BUFFERS);
		r->free[r->free_count++] = (uint32_t)((struct recovery_buffer *)packet - r->buffers);
		return;
	}
	feed->packet_free(packet);
}

/*
 * The arbiter's hole outlived the window: the worker asks the server for it; or,
 * replaying a capture that holds the feed's replies, the hole waits for them there.
 */
static void feed_recover(void *context, uint64_t first, uint64_t count)
{
	struct feed *feed = context;
	struct feed_recovery *r = feed->recovery;
	struct recovery_want want = { .first = first, .count = count };

	want.session_len = feed->arbiter.session_len;
	memcpy(want.session, feed->arbiter.session, sizeof(want.session));
	feed->recovery_rx.recoveries++;
	feed->recovery_rx.started_ns = clock_monotonic_ns();
	__atomic_store_n(&r->applied, feed->arbiter.expected, __ATOMIC_RELEASE);
	__atomic_store_n(&r->recovering, 1, __ATOMIC_RELEASE);
	/* The worker drains RECOVERY_WANTS entries, one per hole: full means it is gone. */
	if (!r->from_capture && !feed_recovery_want(r, &want))
		r->want_lost = true;
	if (feed->recovery_rx.state == FEED_BOOK_OK)
		feed_book_state_set(feed, FEED_BOOK_RECOVERING, FH_BOOK_REASON_RECOVERING, first, count);
}

/* The hole the worker had is filled. */
static void feed_recovered(void *context)
{
	struct feed *feed = context;
	struct feed_recovery_rx *rx = &feed->recovery_rx;

	rx->recovered++;
	rx->recovery_ns_last = clock_monotonic_ns() - rx->started_ns;
	if (rx->recovery_ns_last > rx->recovery_ns_max)
		rx->recovery_ns_max = rx->recovery_ns_last;
	__atomic_store_n(&feed->recovery->recovering, 0, __ATOMIC_RELEASE);
	/* A snapshot not yet confirmed by a line keeps the feed RECOVERING. */
	if (feed->recovery_rx.state == FEED_BOOK_RECOVERING && !feed->arbiter.confirming)
		feed_book_ok(feed, FH_BOOK_REASON_RECOVERED, 0, 0);
}

/* Hands the worker a want for the snapshot in progress; false if its queue is full. */
static bool feed_snapshot_tell(struct feed *feed, uint32_t kind)
{
	struct recovery_want want = { .kind = kind, .snapshot_id = feed->recovery->snapshot_id };

	return feed_recovery_want(feed->recovery, &want);
}

/* A line packet reached the snapshot's sequence: the books follow the lines. */
static void feed_snapshot_confirmed(void *context)
{
	struct feed *feed = context;

	feed->recovery->resyncs_in_row = 0;
	if (feed->recovery_rx.state == FEED_BOOK_RECOVERING && !feed->arbiter.recovering)
		feed_book_ok(feed, FH_BOOK_REASON_SNAPSHOT, feed->arbiter.confirm_seq, 0);
}

/*
 * The snapshot in the books was refused (no line reached its sequence in time, or it
 * was another session's): the books are emptied on both sides (STALE first, then
 * BOOK_CLEARED), the lines go on from their next packet into empty books, and a
 * re-sync is asked for within its bounds.
 */
static void feed_snapshot_refused(void *context)
{
	struct feed *feed = context;

	__atomic_store_n(&feed->recovery_rx.snapshots_refused, feed->recovery_rx.snapshots_refused + 1,
			 __ATOMIC_RELAXED);
	/* A recovery the refusal cancelled ends here: no recovered() or gap() follows. */
	__atomic_store_n(&feed->recovery->recovering, 0, __ATOMIC_RELEASE);
	feed_book_emptied(feed);
	feed_book_state_set(feed, FEED_BOOK_STALE, FH_BOOK_REASON_SNAPSHOT_UNCONFIRMED, 0, 0);
	if (feed->pub != NULL)
		publisher_cleared(feed->pub);
	feed_resync_want(feed);
}

/* A new session: yesterday's orders and instruments mean nothing any more. */
static void feed_session_start(void *context)
{
	struct feed *feed = context;
	struct feed_recovery *r = feed->recovery;

	feed_book_emptied(feed);
	if (feed->pub != NULL)
		publisher_cleared(feed->pub);
	if (r != NULL) {
		/*
		 * A snapshot of the old session, in progress or wanted, is abandoned: what
		 * the worker still sends of it carries an id no longer current (dropped),
		 * and the worker is told to close it. A new session may take snapshots again.
		 */
		(void)feed_snapshot_tell(feed, RECOVERY_WANT_SNAPSHOT_CANCEL);	/* full: its entries are dropped */
		r->snapshot_id++;
		r->snapshot_failed = false;
		r->snapshot_wanted = false;
		r->resyncs_session = 0;
		r->resyncs_in_row = 0;
	}
	feed_book_ok(feed, FH_BOOK_REASON_NEW_SESSION, 0, 0);
}

static void feed_recovery_free(struct feed *feed)
{
	if (feed->recovery == NULL)
		return;
	feed_recovery_fini(feed->recovery);
	free(feed->recovery);
	feed->recovery = NULL;
}

/*
 * What the feed's config asks of recovery that its venue (decoder_ops.recovery) cannot
 * do, or NULL. A venue whose losses are per instrument is refused recovery: feed/
 * holds and declares losses for the whole feed only, as yet.
 */
static const char *feed_recovery_unsupported(const struct cfg_feed *cfg, const struct decoder_ops *decoder)
{
	const struct recovery_ops *ops = decoder->recovery;

	if (!cfg->recovery.enabled && !cfg->snapshot.enabled)
		return NULL;
	if (ops == NULL || ops->scope != RECOVERY_SCOPE_FEED)
		return "recovers losses per instrument, which feed/ does not do yet";
	if (cfg->recovery.enabled && ops->hole == NULL)
		return "has no re-request for a recovery section";
	if (cfg->snapshot.enabled && ops->snapshot == NULL)
		return "has no snapshot for a snapshot section";
	return NULL;
}

/* Recovery and snapshots, as the feed's config asks. 0 or -ENOMEM/-errno. */
static int feed_recovery_setup(struct feed *feed)
{
	const struct cfg_feed *cfg = feed->cfg;
	int rc;

	if (!cfg->recovery.enabled && !cfg->snapshot.enabled)
		return 0;
	feed->recovery = malloc(sizeof(*feed->recovery));
	if (feed->recovery == NULL)
		return -ENOMEM;
	rc = feed_recovery_init(feed->recovery);
	if (rc != 0)
		return rc;
	if (cfg->recovery.enabled) {
		feed->arbiter.recover = feed_recover;
		feed->arbiter.recovered = feed_recovered;
		feed->arbiter.join_recover_max = FEED_JOIN_RECOVER_MAX;
	}
	if (cfg->snapshot.enabled) {
		/* A late join: the books come from a snapshot, the lines wait for it. */
		feed->recovery->snapshot_wanted = true;
		feed->arbiter.snapshot_held_max = cfg->snapshot.hold;
		feed->arbiter.confirm_ns = (uint64_t)cfg->snapshot.confirm_ms * 1000000;
		feed->arbiter.snapshot_confirmed = feed_snapshot_confirmed;
		feed->arbiter.snapshot_unconfirmed = feed_snapshot_refused;
		arbiter_snapshot_begin(&feed->arbiter);
	}
	return 0;
}

struct feed *feed_create(const struct cfg_feed *cfg, void (*packet_free)(void *packet),
			 char *err, size_t err_size)
{
	const char *hold_key, *unsupported;
	struct feed *feed;
	int rc;

	feed = aligned_alloc(64, sizeof(*feed));
	if (feed == NULL) {
		snprintf(err, err_size, "feed %s: out of memory", cfg->name);
		return NULL;
	}
	memset(feed, 0, sizeof(*feed));
	feed->cfg = cfg;
	feed->packet_free = packet_free;
	feed->decoder = decoder_find(cfg_protocol_name(cfg->protocol));
	if (feed->decoder == NULL) {
		snprintf(err, err_size, "feed %s: no decoder for protocol %s", cfg->name,
			 cfg_protocol_name(cfg->protocol));
		free(feed);
		return NULL;
	}
	unsupported = feed_recovery_unsupported(cfg, feed->decoder);
	if (unsupported != NULL) {
		snprintf(err, err_size, "feed %s: protocol %s %s", cfg->name, feed->decoder->protocol, unsupported);
		free(feed);
		return NULL;
	}
	feed->book = book_create(cfg->book.instruments_max, cfg->book.orders_max,
				 cfg->book.levels_max);
	if (feed->book == NULL) {
		snprintf(err, err_size,
			 "feed %s: cannot allocate books for %u instruments, %u orders, %u levels per side",
			 cfg->name, cfg->book.instruments_max, cfg->book.orders_max,
			 cfg->book.levels_max);
		free(feed);
		return NULL;
	}
	if (publisher_states_make(&feed->instrument_states, feed->book->instruments_max) != 0) {
		snprintf(err, err_size, "feed %s: cannot allocate the states of %u instruments", cfg->name,
			 cfg->book.instruments_max);
		book_destroy(feed->book);
		free(feed);
		return NULL;
	}
	feed->listener.message = feed_message_decoded;
	feed->listener.context = feed;
	feed->listener.book_results = true;
	feed->timer = feed->listener;
	feed->timer.book_results = false;
	/* The config proved every feed's hold can be held at once from the mbuf pool. */
	rc = arbiter_init(&feed->arbiter, cfg_feed_hold(cfg, &hold_key), (uint64_t)cfg->reorder_window_us * 1000,
			  feed->decoder->first_seq, feed_packet_apply, feed_packet_release, feed_session_start, feed);
	feed->arbiter.gap = feed_gap;
	if (rc == 0)
		rc = feed_recovery_setup(feed);
	if (rc != 0) {
		snprintf(err, err_size, "feed %s: reorder window: %s", cfg->name, strerror(-rc));
		arbiter_fini(&feed->arbiter);
		feed_recovery_free(feed);
		publisher_states_free(&feed->instrument_states);
		book_destroy(feed->book);
		free(feed);
		return NULL;
	}
	return feed;
}

void feed_destroy(struct feed *feed)
{
	if (feed == NULL)
		return;
	arbiter_fini(&feed->arbiter);
	feed_recovery_free(feed);
	publisher_states_free(&feed->instrument_states);
	book_destroy(feed->book);
	if (feed->latency != NULL)
		memory_free(feed->latency, sizeof(*feed->latency));
	free(feed);
}

int feed_set_add(struct feed_set *set, struct feed *feed)
{
	if (set->feeds_count >= CFG_FEEDS_MAX)
		return -ENOSPC;
	set->feeds[set->feeds_count++] = feed;
	set->recovery_feeds += feed->recovery != NULL;
	feed->pipeline = &set->pipeline;
	for (uint8_t l = 0; l < CFG_LINES_MAX; l++) {
		const struct cfg_line *line = &feed->cfg->lines[l];
		struct feed_route *route;

		if (!line->present)
			continue;
		if (set->routes_count >= FEED_ROUTES_MAX)
			return -ENOSPC;
		route = &set->routes[set->routes_count++];
		route->dst_ip = line->group_ip;
		route->dst_port = line->udp_port;
		route->line = l;
		route->source_present = line->source_present;
		route->source_ip = line->source_ip;
		route->feed = feed;
	}
	if (feed->recovery != NULL && feed->cfg->recovery.enabled) {
		struct feed_route *route;

		if (set->recovery_routes_count >= CFG_FEEDS_MAX)
			return -ENOSPC;
		route = &set->recovery_routes[set->recovery_routes_count++];
		memset(route, 0, sizeof(*route));
		route->line = ARBITER_LINE_RECOVERY;
		route->source_present = 1;
		route->source_ip = feed->cfg->recovery.server_ip;
		route->source_port = feed->cfg->recovery.server_port;
		route->feed = feed;
	}
	return 0;
}

/*
 * The route for a destination. A handful of lines per lcore: a linear scan over one
 * or two cache lines beats any hash. Without ports (a fragment, a cut UDP header) the
 * group alone decides, as groups are not shared between lines in practice.
 */
static inline struct feed_route *feed_route_find(struct feed_set *set, const struct packet_udp *udp)
{
	for (uint32_t i = 0; i < set->routes_count; i++) {
		struct feed_route *route = &set->routes[i];

		if (route->dst_ip == udp->dst_ip && (!udp->has_ports || route->dst_port == udp->dst_port))
			return route;
	}
	return NULL;
}

/*
 * Replaying: the recovery route of a frame addressed to no line, by its source (the
 * feed's recovery.server, address and port). NULL if none.
 */
static struct feed_route *feed_recovery_route_find(struct feed_set *set, const struct packet_udp *udp)
{
	for (uint32_t i = 0; i < set->recovery_routes_count; i++) {
		struct feed_route *route = &set->recovery_routes[i];

		if (route->source_ip == udp->src_ip && route->source_port == udp->src_port)
			return route;
	}
	return NULL;
}

/* Reads a frame: its headers, its line (or recovery route), its framing. Changes nothing. */
static inline void feed_set_scan(struct feed_set *set, const uint8_t *frame, uint32_t len,
				 struct feed_scan *scan)
{
	enum packet_verdict verdict = packet_udp_parse(frame, len, &scan->udp);

	scan->verdict = (uint8_t)verdict;
	scan->route = NULL;
	scan->wrong_source = false;
	scan->framed = false;
	if (verdict != PACKET_NOT_IPV4 && verdict != PACKET_NOT_UDP &&
	    !(verdict == PACKET_TRUNCATED && scan->udp.dst_ip == 0))
		scan->route = feed_route_find(set, &scan->udp);
	if (__builtin_expect(scan->route == NULL && set->replay_recovery && scan->udp.has_ports, 0))
		scan->route = feed_recovery_route_find(set, &scan->udp);
	if (scan->route == NULL || verdict != PACKET_UDP)
		return;
	scan->wrong_source = scan->route->source_present && scan->udp.src_ip != scan->route->source_ip;
	assert(!scan->wrong_source || scan->route->line != ARBITER_LINE_RECOVERY);
	if (!scan->wrong_source)
		scan->framed = scan->route->feed->decoder->frame_parse(scan->udp.payload, scan->udp.payload_len,
								       &scan->frame) == 0;
}

static void feed_recovery_capture(struct feed *feed, const struct feed_scan *scan, void *packet, uint64_t now_ns);

/*
 * Counts and hands over a scanned frame; takes ownership of packet. rx_tsc: the port's
 * earliest stamp of it (UINT64_MAX: none, the feed's own start stands in).
 */
static const struct feed_route *feed_set_scanned_handle(struct feed_set *set, const struct feed_scan *scan,
							void *packet, uint64_t now_ns, uint64_t rx_tsc,
							void (*free_unrouted)(void *packet))
{
	struct feed_route *route = scan->route;
	struct feed_line_stats *line;
	struct arbiter_packet held;
	struct feed *feed;

	if (route == NULL) {
		set->unrouted[scan->verdict]++;
		free_unrouted(packet);
		return NULL;
	}
	feed = route->feed;
	line = &feed->lines[route->line];
	if (scan->verdict != PACKET_UDP) {
		line->bad_packet[scan->verdict]++;
		feed->packet_free(packet);
		return route;
	}
	if (scan->wrong_source) {
		line->wrong_source++;
		feed->packet_free(packet);
		return route;
	}
	if (route->line == ARBITER_LINE_RECOVERY) {
		feed_recovery_capture(feed, scan, packet, now_ns);
		return route;
	}
	if (!scan->framed) {
		line->bad_frame++;
		feed->packet_free(packet);
		return route;
	}
	line->packets++;
	line->bytes += scan->udp.payload_len;
	held.seq = scan->frame.seq;
	held.count = scan->frame.count;
	held.line = route->line;
	held.kind = (uint8_t)scan->frame.kind;
	held.packet = packet;
	held.payload = scan->udp.payload;
	held.len = scan->udp.payload_len;
	held.rx_ns = now_ns;
	held.feed_tsc = clock_tsc();
	held.rx_tsc = rx_tsc < held.feed_tsc ? rx_tsc : held.feed_tsc;
	arbiter_offer(&feed->arbiter, &scan->frame, &held, now_ns);
	return route;
}

const struct feed_route *feed_set_packet_handle(struct feed_set *set, const uint8_t *frame,
						uint32_t len, void *packet, uint64_t now_ns,
						void (*free_unrouted)(void *packet))
{
	struct feed_scan scan;

	feed_set_scan(set, frame, len, &scan);
	return feed_set_scanned_handle(set, &scan, packet, now_ns, UINT64_MAX, free_unrouted);
}

void feed_set_burst_scan(struct feed_set *set, uint32_t index, const uint8_t *frame, uint32_t len)
{
	struct feed_scan *scan;

	if (index >= FEED_BURST_MAX)
		return;
	/* Frames are scanned in burst order, each once. */
	assert(index == set->burst_count);
	scan = &set->scans[index];
	feed_set_scan(set, frame, len, scan);
	set->burst_first[index] = set->pipeline.count;
	set->burst_count = index + 1;
	if (scan->framed && scan->frame.kind == DECODER_FRAME_DATA && scan->route->feed->decoder->frame_messages &&
	    scan->route->feed->book->orders.count >= set->pipeline_orders_min)
		scan->route->feed->decoder->frame_messages(scan->udp.payload, scan->udp.payload_len,
							   scan->route->feed->book, &set->pipeline);
}

const struct feed_route *feed_set_burst_packet(struct feed_set *set, uint32_t index, void *packet,
					       uint64_t now_ns, uint64_t rx_tsc,
					       void (*free_unrouted)(void *packet))
{
	assert(index < set->burst_count);
	if (index == 0)
		decoder_pipeline_start(&set->pipeline);
	set->pipeline.cursor = set->burst_first[index];
	return feed_set_scanned_handle(set, &set->scans[index], packet, now_ns, rx_tsc, free_unrouted);
}

void feed_set_expire(struct feed_set *set, uint64_t now_ns)
{
	for (uint32_t i = 0; i < set->feeds_count; i++)
		arbiter_expire(&set->feeds[i]->arbiter, now_ns);
}

/* A recovery reply, framed, offered like a line's packet; packet: its handle (NULL: none to free). */
static void feed_recovery_offer(struct feed *feed, const struct decoder_frame *frame, void *packet,
				const uint8_t *payload, uint32_t len, uint64_t now_ns)
{
	struct arbiter *a = &feed->arbiter;
	struct arbiter_packet held = {
		.seq = frame->seq, .count = frame->count, .line = ARBITER_LINE_RECOVERY,
		.kind = (uint8_t)frame->kind, .packet = packet, .payload = payload,
		.len = len, .rx_ns = now_ns, .rx_tsc = clock_tsc(),
	};

	held.feed_tsc = held.rx_tsc;	/* taken off the worker's queue: no port stamp */

	assert(frame->kind == DECODER_FRAME_DATA);
	arbiter_offer(a, frame, &held, now_ns);
	feed->recovery_rx.reply_duplicates = a->stats.lines[ARBITER_LINE_RECOVERY].duplicates;
}

/*
 * A reply from the worker, journaled first (a bad one too, as a line's frame is),
 * then offered like a line's packet. One due now is applied straight from the
 * queue's entry; one ahead of the hole is copied, so the arbiter may hold it. With
 * every copy held (a server sending far ahead of what the feed needs), it is dropped
 * and counted: the worker asks again or gives the hole up, and the queue behind it,
 * where a give-up may wait, keeps moving.
 */
static void feed_recovery_reply(struct feed *feed, const struct recovery_reply *reply, uint64_t now_ns)
{
	struct feed_line_stats *line = &feed->lines[ARBITER_LINE_RECOVERY];
	struct feed_recovery *r = feed->recovery;
	struct arbiter *a = &feed->arbiter;
	struct recovery_buffer *buffer = NULL;
	struct decoder_frame frame;
	const uint8_t *payload = reply->payload;

	assert(reply->len <= RECOVERY_PAYLOAD_MAX);
	if (feed->reply_journal != NULL)
		feed->reply_journal(feed->reply_journal_context, reply->payload, reply->len, now_ns);
	feed->recovery_rx.reply_packets++;
	if (feed->decoder->frame_parse(reply->payload, reply->len, &frame) != 0) {
		line->bad_frame++;
		feed->recovery_rx.reply_bad++;
		return;
	}
	line->packets++;
	line->bytes += reply->len;
	if (frame.kind != DECODER_FRAME_DATA) {
		feed->recovery_rx.reply_bad++;
		return;
	}
	if (frame.seq > a->expected || a->snapshot_pending || a->rejoin) {
		if (r->free_count == 0) {
			__atomic_store_n(&feed->recovery_rx.reply_dropped, feed->recovery_rx.reply_dropped + 1,
					 __ATOMIC_RELAXED);
			return;
		}
		buffer = &r->buffers[r->free[--r->free_count]];
		buffer->len = reply->len;
		memcpy(buffer->payload, reply->payload, reply->len);
		payload = buffer->payload;
	}
	feed_recovery_offer(feed, &frame, buffer, payload, reply->len, now_ns);
}

/*
 * Replaying (feed_set.replay_recovery): a frame from the feed's recovery.server,
 * counted as the worker's replies are and, when the feed takes its recovery from the
 * capture, offered the same way; the arbiter may hold its mbuf itself, as a line's.
 */
static void feed_recovery_capture(struct feed *feed, const struct feed_scan *scan, void *packet, uint64_t now_ns)
{
	struct feed_line_stats *line = &feed->lines[ARBITER_LINE_RECOVERY];
	struct arbiter *a = &feed->arbiter;

	assert(scan->verdict == PACKET_UDP && feed->recovery != NULL);
	feed->recovery_rx.reply_packets++;
	if (scan->framed) {
		line->packets++;
		line->bytes += scan->udp.payload_len;
	} else {
		line->bad_frame++;
	}
	/* Not the capture the feed takes recovery from (fhd found no reply in it at start): refused. */
	if (!scan->framed || scan->frame.kind != DECODER_FRAME_DATA || !feed->recovery->from_capture) {
		feed->recovery_rx.reply_bad++;
		feed->packet_free(packet);
		return;
	}
	/*
	 * A reply into the hole not handed to recovery yet: the run journaled had handed
	 * it by the reply's time (its window ran out at the end of a burst this replay
	 * cuts elsewhere, or the captures had ended), or the worker would not have asked.
	 * Handed now, the hole is recovered as it was then, and counted so.
	 */
	if (!a->recovering && a->held_count > 0 && scan->frame.seq < arbiter_held_get(a, 0)->seq &&
	    scan->frame.seq + scan->frame.count > a->expected)
		(void)arbiter_recover_now(a, now_ns);
	/*
	 * What the worker lets through live, and no more: a reply inside a hole, not past
	 * its end (the worker cuts replies there; fhd's own journal holds them cut). A
	 * reply for a later hole of the capture waits in the hold like a line packet. One
	 * in a crafted capture that runs past its hole, or lies beyond everything the lines
	 * have shown (a far-future sequence), would be taken as the server's word and is
	 * refused instead.
	 */
	if (!arbiter_reply_fits(a, scan->frame.seq, scan->frame.count)) {
		feed->recovery_rx.reply_bad++;
		feed->packet_free(packet);
		return;
	}
	feed_recovery_offer(feed, &scan->frame, packet, scan->udp.payload, scan->udp.payload_len, now_ns);
}

/* Snapshot messages (framed as the venue's packets by its client) go into the books, unpublished. */
static void feed_snapshot_data(struct feed *feed, const struct recovery_reply *reply)
{
	struct decoder_frame frame;

	if (reply->len > RECOVERY_PAYLOAD_MAX ||
	    feed->decoder->frame_parse(reply->payload, reply->len, &frame) != 0 || frame.count == 0) {
		feed->recovery_rx.reply_bad++;
		return;
	}
	feed->recovery_rx.snapshot_messages +=
		feed->decoder->frame_apply(feed->book, &feed->snapshot_stats, NULL, reply->payload, reply->len, 0, NULL);
}

/*
 * The snapshot is whole: consumers get it (all books cleared, then each instrument's
 * content) before anything the lines held past it is applied and published. The feed
 * is RECOVERING until a line packet reaches the snapshot's sequence (the arbiter
 * confirms it, or refuses it in time), STALE if the book could not hold it all.
 */
static void feed_snapshot_end(struct feed *feed, const struct recovery_reply *reply, uint64_t now_ns)
{
	feed->recovery_rx.snapshots++;
	feed->recovery_rx.snapshot_ns_last = clock_monotonic_ns() - feed->recovery_rx.started_ns;
	if (feed->pub != NULL) {
		publisher_cleared(feed->pub);
		publisher_book_recovered(feed->pub, feed->book);
	}
	feed_capacity_check(feed);
	if (feed->capacity_exceeded)
		feed_book_state_set(feed, FEED_BOOK_STALE, FH_BOOK_REASON_CAPACITY, 0, 0);
	else
		feed_book_state_set(feed, FEED_BOOK_RECOVERING, FH_BOOK_REASON_SNAPSHOT_APPLIED, reply->first, 0);
	arbiter_snapshot_end(&feed->arbiter, reply->first, reply->session,
			     reply->session_len <= DECODER_SESSION_MAX ? reply->session_len : 0, now_ns);
	/* Confirmed at once (the lines were past it), or asked for no confirmation. */
	if (!feed->arbiter.confirming && feed->arbiter.confirm_ns == 0)
		feed_snapshot_confirmed(feed);
}

/*
 * What the worker sent about a snapshot. Only the snapshot being taken counts: an
 * entry of another (one a new session abandoned) or one after it ended is dropped.
 */
static void feed_snapshot_reply(struct feed *feed, const struct recovery_reply *reply, uint64_t now_ns)
{
	if (!feed->arbiter.snapshot_pending || reply->snapshot_id != feed->recovery->snapshot_id) {
		__atomic_store_n(&feed->recovery_rx.snapshot_stale, feed->recovery_rx.snapshot_stale + 1,
				 __ATOMIC_RELAXED);
		return;
	}
	switch (reply->kind) {
	case RECOVERY_SNAPSHOT_DATA:
		feed_snapshot_data(feed, reply);
		break;
	case RECOVERY_SNAPSHOT_RESTART:
		feed_book_emptied(feed);
		break;
	case RECOVERY_SNAPSHOT_END:
		if (reply->first != 0) {
			feed_snapshot_end(feed, reply, now_ns);
			break;
		}
		feed->recovery_rx.reply_bad++;
		/* fall through */
	case RECOVERY_SNAPSHOT_FAILED:
		/*
		 * What a failed login left in the books is part of a snapshot: worth nothing.
		 * The books are empty now, so consumers' are emptied too (BOOK_CLEARED, the
		 * conflated view with them, after the state says STALE): what follows is
		 * applied to empty books on both sides, STALE until a new session or snapshot.
		 */
		feed_book_emptied(feed);
		feed->recovery->snapshot_failed = true;
		feed_book_state_set(feed, FEED_BOOK_STALE, FH_BOOK_REASON_SNAPSHOT_FAILED, 0, 0);
		if (feed->pub != NULL)
			publisher_cleared(feed->pub);
		arbiter_snapshot_failed(&feed->arbiter, now_ns);
		break;
	}
}

/* A snapshot is wanted (start, or a declared loss): the books are rebuilt from it. */
static void feed_snapshot_begin(struct feed *feed)
{
	struct feed_recovery *r = feed->recovery;

	r->snapshot_id++;
	if (!feed_snapshot_tell(feed, RECOVERY_WANT_SNAPSHOT)) {
		r->snapshot_id--;
		return;	/* the worker is behind: the next pass asks again */
	}
	r->snapshot_wanted = false;
	feed->recovery_rx.started_ns = clock_monotonic_ns();
	/* A join is RECOVERING (nothing published yet); a re-sync stays STALE until it ends. */
	if (feed->recovery_rx.state == FEED_BOOK_OK)
		feed_book_state_set(feed, FEED_BOOK_RECOVERING, FH_BOOK_REASON_SNAPSHOT_STARTED, 0, 0);
	feed_book_emptied(feed);
	arbiter_snapshot_begin(&feed->arbiter);
	__atomic_store_n(&r->recovering, 0, __ATOMIC_RELEASE);
}

static void feed_recovery_service(struct feed *feed, uint64_t now_ns)
{
	struct feed_recovery *r = feed->recovery;
	struct arbiter *a = &feed->arbiter;

	if (r->snapshot_wanted && (r->resync_at_ns == 0 || clock_monotonic_ns() >= r->resync_at_ns))
		feed_snapshot_begin(feed);
	arbiter_expire(a, now_ns);	/* a replay too: its window runs on capture time */
	if (r->want_lost) {
		r->want_lost = false;
		if (a->recovering)
			arbiter_recovery_lost(a, a->expected, a->recover_end - a->expected, now_ns);
	}
	/*
	 * At most a queue's worth a pass, and never stopping at an entry: a reply that
	 * finds every copy held is dropped, so the give-ups and snapshot entries behind
	 * it always get through.
	 */
	for (uint32_t i = 0; i < RECOVERY_REPLIES; i++) {
		const struct recovery_reply *reply = recovery_queue_peek(&r->replies);

		if (reply == NULL)
			break;
		if (reply->kind == RECOVERY_REPLY_GIVE_UP) {
			feed->gap_reason = reply->silent ? FH_BOOK_REASON_SERVER_SILENT :
							   FH_BOOK_REASON_RETRIES_EXHAUSTED;
			arbiter_recovery_lost(a, reply->first, reply->count, now_ns);
			feed->gap_reason = FH_BOOK_REASON_NONE;	/* an old give-up declares nothing */
		} else if (reply->kind == RECOVERY_REPLY_DATA) {
			feed_recovery_reply(feed, reply, now_ns);
		} else {
			feed_snapshot_reply(feed, reply, now_ns);
		}
		recovery_queue_pop(&r->replies);
	}
	__atomic_store_n(&r->applied, a->expected, __ATOMIC_RELEASE);
}

void feed_set_recovery_service(struct feed_set *set, uint64_t now_ns)
{
	for (uint32_t i = 0; i < set->feeds_count; i++)
		if (set->feeds[i]->recovery != NULL)
			feed_recovery_service(set->feeds[i], now_ns);
}

bool feed_set_recovering(const struct feed_set *set)
{
	for (uint32_t i = 0; i < set->feeds_count; i++) {
		const struct feed *feed = set->feeds[i];

		/* A snapshot waits for the session's first packet: its End is checked against it. */
		if ((feed->arbiter.recovering && !(feed->recovery != NULL && feed->recovery->from_capture)) ||
		    (feed->arbiter.snapshot_pending && feed->arbiter.session_known) ||
		    (feed->recovery != NULL && feed->recovery->snapshot_wanted))
			return true;
	}
	return false;
}

bool feed_set_recover_rest(struct feed_set *set, uint64_t now_ns)
{
	bool recovering = false;

	for (uint32_t i = 0; i < set->feeds_count; i++) {
		struct feed *feed = set->feeds[i];

		if (feed->recovery == NULL || !feed->recovery->from_capture)
			recovering |= arbiter_recover_now(&feed->arbiter, now_ns);
		else
			recovering |= feed->arbiter.snapshot_pending;
	}
	return recovering;
}

void feed_set_flush(struct feed_set *set, uint64_t now_ns)
{
	for (uint32_t i = 0; i < set->feeds_count; i++)
		arbiter_flush(&set->feeds[i]->arbiter, now_ns);
}

/* The feed's book state and recovery counters, each written by one thread: loaded whole. */
static void feed_recovery_stats_fill(struct fh_stats_recovery *out, const struct feed *feed)
{
	const struct feed_recovery_rx *rx = &feed->recovery_rx;
	const struct feed_recovery_io *io = &feed->recovery_io;

#define FEED_LOAD(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)
	out->book_state = FEED_LOAD(rx->state);
	out->recoveries = FEED_LOAD(rx->recoveries);
	out->recovered = FEED_LOAD(rx->recovered);
	out->recovered_messages = FEED_LOAD(rx->recovered_messages);
	out->reply_packets = FEED_LOAD(rx->reply_packets);
	out->reply_duplicates = FEED_LOAD(rx->reply_duplicates);
	out->reply_bad = FEED_LOAD(rx->reply_bad);
	out->losses = FEED_LOAD(rx->losses);
	out->lost_messages = FEED_LOAD(rx->lost_messages);
	out->lost_first = FEED_LOAD(rx->lost_first);
	out->lost_count = FEED_LOAD(rx->lost_count);
	out->hold_full = FEED_LOAD(rx->hold_full);
	out->snapshots = FEED_LOAD(rx->snapshots);
	out->snapshot_messages = FEED_LOAD(rx->snapshot_messages);
	out->recovery_ns_last = FEED_LOAD(rx->recovery_ns_last);
	out->recovery_ns_max = FEED_LOAD(rx->recovery_ns_max);
	out->snapshot_ns_last = FEED_LOAD(rx->snapshot_ns_last);
	out->reply_dropped = FEED_LOAD(rx->reply_dropped);
	out->snapshot_stale = FEED_LOAD(rx->snapshot_stale);
	out->snapshots_refused = FEED_LOAD(rx->snapshots_refused);
	out->resyncs = FEED_LOAD(rx->resyncs);
	out->resyncs_exhausted = FEED_LOAD(rx->resyncs_exhausted);
	out->capacity_refusals = FEED_LOAD(rx->capacity_refusals);
	/* started_ns is the RX lcore's own clock of the hole in hand: not a statistic. */
	out->requests = FEED_LOAD(io->requests);
	out->requested_messages = FEED_LOAD(io->requested_messages);
	out->timeouts = FEED_LOAD(io->timeouts);
	out->give_ups = FEED_LOAD(io->give_ups);
	out->replies = FEED_LOAD(io->replies);
	out->replies_bad = FEED_LOAD(io->replies_bad);
	out->send_errors = FEED_LOAD(io->send_errors);
	out->handoff_full = FEED_LOAD(io->handoff_full);
	out->snapshot_attempts = FEED_LOAD(io->snapshot_attempts);
	out->snapshot_failures = FEED_LOAD(io->snapshot_failures);
	out->reply_won = FEED_LOAD(feed->arbiter.stats.lines[ARBITER_LINE_RECOVERY].packets_won);
	out->joins_unrecovered = FEED_LOAD(feed->arbiter.stats.joins_unrecovered);
	out->configured = (feed->cfg->recovery.enabled ? FH_STATS_HAS_RECOVERY : 0) |
			  (feed->cfg->snapshot.enabled ? FH_STATS_HAS_SNAPSHOT : 0);
#undef FEED_LOAD
}

void feed_stats_fill(const struct feed *feed, struct fh_stats_feed *out)
{
	const struct arbiter_stats *a = &feed->arbiter.stats;
	const struct book_stats *b = &feed->book->stats;

	out->packets = out->duplicates = out->dropped = out->journal_dropped = 0;
	for (int l = 0; l < CFG_LINES_MAX; l++) {
		const struct feed_line_stats *ls = &feed->lines[l];

		out->packets += ls->packets;
		out->duplicates += a->lines[l].duplicates;
		out->dropped += ls->bad_frame + ls->wrong_source;
		for (int v = PACKET_NOT_IPV4; v < PACKET_VERDICTS; v++)
			out->dropped += ls->bad_packet[v];
		out->journal_dropped += ls->journal_dropped;
	}
	/* The recovery replies' frames the journal missed count with the lines'. */
	out->journal_dropped += feed->lines[ARBITER_LINE_RECOVERY].journal_dropped;
	out->messages = feed->messages.messages;
	out->skipped_messages = feed->messages.unknown_type + feed->messages.bad_length +
				feed->messages.bad_field;
	out->gaps = a->gaps;
	out->gap_messages = a->gap_messages;
	out->feed_delay_negative = feed->latency != NULL ? feed->latency->feed_delay_negative : 0;
	out->feed_delay_out_of_range = feed->latency != NULL ? feed->latency->feed_delay_out_of_range : 0;
	feed_recovery_stats_fill(&out->recovery, feed);
	publisher_states_counts(&feed->instrument_states,
				(uint8_t)__atomic_load_n(&feed->recovery_rx.state, __ATOMIC_RELAXED),
				__atomic_load_n(&feed->book->instruments_count, __ATOMIC_RELAXED), out->instruments);
	/*
	 * What must be seen while fhd runs, not only in its exit report: the book's
	 * capacity refusals (a session larger than the config), snapshot holds that
	 * overflowed, snapshots refused, and packets of a sequence no line confirmed.
	 */
	_Static_assert(FH_STATS_LINES == ARBITER_LINES, "a bad_sequence per arbiter line");
	out->instruments_full = __atomic_load_n(&b->instruments_full, __ATOMIC_RELAXED);
	out->orders_full = __atomic_load_n(&b->orders_full, __ATOMIC_RELAXED);
	out->levels_full = __atomic_load_n(&b->levels_full, __ATOMIC_RELAXED);
	out->snapshot_dropped = __atomic_load_n(&a->snapshot_dropped, __ATOMIC_RELAXED);
	out->snapshots_confirmed = __atomic_load_n(&a->snapshots_confirmed, __ATOMIC_RELAXED);
	out->snapshots_unconfirmed = __atomic_load_n(&a->snapshots_unconfirmed, __ATOMIC_RELAXED);
	for (int l = 0; l < ARBITER_LINES; l++) {
		out->bad_sequence[l] = __atomic_load_n(&a->lines[l].bad_sequence, __ATOMIC_RELAXED);
		out->kernel_dropped[l] = __atomic_load_n(&feed->lines[l].kernel_dropped, __ATOMIC_RELAXED);
	}
}

/* The book state always; each recovery group the feed has (fh_stats_counters' words). */
static void feed_recovery_stats_print(FILE *out, const struct feed *feed)
{
	struct fh_stats_feed counters = { 0 };
	uint64_t state = __atomic_load_n(&feed->recovery_rx.state, __ATOMIC_RELAXED);

	feed_stats_fill(feed, &counters);
	fh_stats_counters_print(out, &counters, state < FEED_BOOK_STATES ? feed_book_state_names[state] : "?");
}

void feed_stats_print(FILE *out, const struct feed *feed)
{
	const struct arbiter_stats *a = &feed->arbiter.stats;
	const struct decoder_stats *m = &feed->messages;
	const struct book_stats *b = &feed->book->stats;
	uint64_t head = __atomic_load_n(&feed->arbiter.gap_log_head, __ATOMIC_ACQUIRE);

	fprintf(out, "feed %s (%s)\n", feed->cfg->name, feed->decoder->protocol);
	fprintf(out, "  messages %" PRIu64 "  unknown_type %" PRIu64 "  bad_length %" PRIu64
		"  bad_field %" PRIu64 "\n", m->messages, m->unknown_type, m->bad_length, m->bad_field);
	fprintf(out, "  gaps %" PRIu64 " (%" PRIu64 " messages)  window_full %" PRIu64
		"  held %" PRIu64 " (max %" PRIu64 " at once)  session_changes %" PRIu64
		"  session_ends %" PRIu64 "  next_seq %" PRIu64 "\n", a->gaps, a->gap_messages,
		a->window_full, a->held, a->held_max, a->session_changes, a->session_ends,
		feed->arbiter.expected);
	fprintf(out, "  book: instruments %u  live_orders %u  added %" PRIu64 "  removed %" PRIu64
		"  unknown_order %" PRIu64 "  duplicate_order %" PRIu64 "  orders_full %" PRIu64
		"  levels_full %" PRIu64 "  instruments_full %" PRIu64 "\n",
		feed->book->instruments_count, feed->book->orders.count, b->orders_added,
		b->orders_removed, b->unknown_order, b->duplicate_order, b->orders_full,
		b->levels_full, b->instruments_full);
	/* A refusal left the books wrong (STALE): say which key holds too few. */
	if (b->instruments_full > 0)
		fprintf(out, "  capacity: %" PRIu64 " instruments refused: raise feeds[%s].book.instruments (now %u)\n",
			b->instruments_full, feed->cfg->name, feed->cfg->book.instruments_max);
	if (b->orders_full > 0)
		fprintf(out, "  capacity: %" PRIu64 " orders refused: raise feeds[%s].book.orders (now %u)\n",
			b->orders_full, feed->cfg->name, feed->cfg->book.orders_max);
	if (b->levels_full > 0)
		fprintf(out, "  capacity: %" PRIu64 " levels refused: raise feeds[%s].book.levels (now %u per side)\n",
			b->levels_full, feed->cfg->name, feed->cfg->book.levels_max);
	for (int l = 0; l < CFG_LINES_MAX; l++) {
		const struct feed_line_stats *s = &feed->lines[l];
		const struct arbiter_line_stats *al = &a->lines[l];

		if (!feed->cfg->lines[l].present)
			continue;
		fprintf(out, "  line %c: packets %" PRIu64 "  bytes %" PRIu64 "  won %" PRIu64
			"  duplicates %" PRIu64 "  heartbeats %" PRIu64 "  wrong_session %" PRIu64
			"  bad_frame %" PRIu64 "  wrong_source %" PRIu64 "  bad_sequence %" PRIu64 "  journal_dropped %" PRIu64
			"  kernel_dropped %" PRIu64,
			'A' + l, s->packets, s->bytes, al->packets_won, al->duplicates, al->heartbeats,
			al->wrong_session, s->bad_frame, s->wrong_source, al->bad_sequence, s->journal_dropped,
			s->kernel_dropped);
		for (int v = PACKET_NOT_IPV4; v < PACKET_VERDICTS; v++)
			fprintf(out, "  %s %" PRIu64, packet_verdict_name(v), s->bad_packet[v]);
		fprintf(out, "\n");
	}
	if (feed->cfg->recovery.enabled) {
		/* The replies as frames: what the journal's "<feed>.recovery" holds, and what it missed. */
		const struct feed_line_stats *s = &feed->lines[ARBITER_LINE_RECOVERY];

		fprintf(out, "  line recovery: packets %" PRIu64 "  bytes %" PRIu64 "  bad_frame %" PRIu64
			"  journal_dropped %" PRIu64, s->packets, s->bytes, s->bad_frame, s->journal_dropped);
		for (int v = PACKET_NOT_IPV4; v < PACKET_VERDICTS; v++)
			fprintf(out, "  %s %" PRIu64, packet_verdict_name(v), s->bad_packet[v]);
		fprintf(out, "%s\n", feed->recovery != NULL && feed->recovery->from_capture ? "  (from the capture)" : "");
	}
	feed_recovery_stats_print(out, feed);
	for (uint64_t g = head > ARBITER_GAP_LOG ? head - ARBITER_GAP_LOG : 0; g < head; g++) {
		const struct arbiter_gap *gap = &feed->arbiter.gap_log[g % ARBITER_GAP_LOG];

		fprintf(out, "  gap: seq %" PRIu64 "..%" PRIu64 " (%" PRIu64 " messages)\n",
			gap->first, gap->first + gap->count - 1, gap->count);
	}
}

void feed_set_stats_print(FILE *out, const struct feed_set *set)
{
	fprintf(out, "unrouted (no feed line):");
	for (int v = 0; v < PACKET_VERDICTS; v++)
		fprintf(out, "  %s %" PRIu64, packet_verdict_name(v), set->unrouted[v]);
	fprintf(out, "  journal_dropped %" PRIu64 "\n", set->unrouted_journal_dropped);
}

int feed_books_dump(FILE *out, struct feed *const *feeds, uint32_t count)
{
	struct book *books[CFG_FEEDS_MAX];
	const char *names[CFG_FEEDS_MAX];

	assert(count <= CFG_FEEDS_MAX);
	for (uint32_t i = 0; i < count; i++) {
		books[i] = feeds[i]->book;
		names[i] = feeds[i]->cfg->name;
	}
	return book_dump_write(out, books, names, count);
}

void feed_books_top_print(FILE *out, const struct feed *feed, uint32_t instruments, uint32_t depth)
{
	const struct book *book = feed->book;
	char symbol[BOOK_SYMBOL_MAX + 1];
	uint32_t shown = 0;

	if (depth > FEED_TOP_DEPTH_MAX)
		depth = FEED_TOP_DEPTH_MAX;
	for (uint32_t n = 0; n < book->instruments_count && shown < instruments; n++) {
		const struct book_instrument *in = &book->instruments[n];
		struct book_level_info bid[FEED_TOP_DEPTH_MAX], ask[FEED_TOP_DEPTH_MAX];
		uint32_t bids = book_side_levels(book, (int32_t)n, BOOK_SIDE_BID, bid, depth);
		uint32_t asks = book_side_levels(book, (int32_t)n, BOOK_SIDE_ASK, ask, depth);

		if (bids == 0 && asks == 0)
			continue;
		shown++;
		/* The symbol is the exchange's bytes: only printable ASCII reaches the terminal. */
		for (uint32_t i = 0; i < in->symbol_len; i++)
			symbol[i] = in->symbol[i] >= 0x20 && in->symbol[i] < 0x7f ? in->symbol[i] : '?';
		symbol[in->symbol_len] = '\0';
		fprintf(out, "  %-8s %10s %12s | %-12s %s\n", symbol, "bid size", "bid", "ask", "ask size");
		for (uint32_t i = 0; i < bids || i < asks; i++) {
			char b[BOOK_PRICE_TEXT_MAX] = "", bs[32] = "", a[BOOK_PRICE_TEXT_MAX] = "", as[32] = "";

			if (i < bids) {
				book_price_format(b, sizeof(b), bid[i].price, in->price_decimals);
				snprintf(bs, sizeof(bs), "%" PRIu64, bid[i].shares);
			}
			if (i < asks) {
				book_price_format(a, sizeof(a), ask[i].price, in->price_decimals);
				snprintf(as, sizeof(as), "%" PRIu64, ask[i].shares);
			}
			fprintf(out, "  %-8s %10s %12s | %-12s %s\n", "", bs, b, a, as);
		}
	}
}
