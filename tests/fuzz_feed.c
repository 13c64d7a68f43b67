/*
 * fuzz_feed: libFuzzer target for the whole per-packet path after rx_burst (L2-L4
 * parsing, routing, MoldUDP64 framing, A/B arbitration, ITCH decoding, books). The
 * input is a sequence of records [2-byte big-endian length][frame], so packets
 * interact through sequence state and books. Afterwards every packet handle must have
 * come back exactly once and the books must pass book_check; otherwise it aborts.
 * The input's length modulo 3 picks who listens to the decoder, so each path is
 * fuzzed: nobody (0), the publisher with its conflated view and the latency
 * histograms (1: every field of struct decoded_message read, the publisher's asserts
 * armed), or the latency histograms alone (2: book_results false). The ring and view
 * are plain memory here, not shared segments: the publisher only writes them. With
 * the publisher, the view must end up saying what the books say: every instrument's
 * entry in use, with the book's best levels to the view's depth. Half the inputs go
 * through the RX lcore's burst pipeline (feed_set_burst_scan, then _packet, then
 * _end) and once more one by one through a second feed, and both must have counted
 * and applied the same; the pipeline's look-ahead reads the burst's frames, so ASan
 * sees any read of one the feed already released.
 * Every other input (by size / 6) replays a journal: the feed has recovery, takes it
 * from the capture, and frames from 10.0.0.1:40001 (line A's source in the bundled
 * capture) that are addressed to no line are its recovery replies.
 * Linked with tests/fuzz_replay.c instead of libFuzzer, it runs over files (no
 * libFuzzer needed), which is how the seed corpus is replayed under gcc's ASan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "feed/feed.h"
#include "publish/publisher.h"
#include "tests/pub_memory.h"

#define FUZZ_RING_CAPACITY 1024
#define FUZZ_VIEW_DEPTH 4

static struct cfg config;
static struct cfg_feed replay_recovery_feed;	/* feeds[0] with recovery from the capture */
static uint64_t freed;

static struct pub_conflated view;

/* A ring and a conflated view of `slots` entries in private memory, made once. */
static void fuzz_publisher_attach(struct feed *feed, uint32_t slots)
{
	static struct pub_ring ring;
	static struct publisher pub;

	if (ring.records == NULL)
		pub_memory_make(&ring, FUZZ_RING_CAPACITY, &view, slots, FUZZ_VIEW_DEPTH);
	publisher_init(&pub, &ring, 0, 1000000000);
	publisher_view_set(&pub, &view, 0, feed->book);
	/* A new feed is a new session: the view is updated incrementally from empty. */
	pub_conflated_clear(&view, 0, slots);
	feed->pub = &pub;
}

/* The handle is the frame itself: a use after release or a double release is an ASan report. */
static void fuzz_packet_free(void *packet)
{
	free(packet);
	freed++;
}

/* True if every instrument of the book has its entry in the view, levels as in the book. */
static bool fuzz_view_matches(const struct book *book)
{
	for (uint32_t i = 0; i < book->instruments_count; i++) {
		const struct book_instrument *in = &book->instruments[i];
		const struct conflated_entry *e = pub_conflated_entry(&view, i);

		if (!e->used || e->instrument != in->key || (e->version & 1) != 0)
			return false;
		for (int side = 0; side < BOOK_SIDES; side++) {
			struct book_level_info levels[CONFLATED_DEPTH_MAX];
			uint32_t n = book_side_levels(book, (int32_t)i, (enum book_side)side, levels,
						      view.depth);

			if ((side == BOOK_SIDE_BID ? e->bid_count : e->ask_count) != n)
				return false;
			for (uint32_t l = 0; l < n; l++) {
				const struct conflated_level *got = &e->levels[side * view.depth + l];

				if (got->price != levels[l].price || got->shares != levels[l].shares ||
				    got->orders != levels[l].orders)
					return false;
			}
		}
	}
	return true;
}

/* The next record of the input as a frame of its own (ASan sees any read past it); NULL at the end. */
static uint8_t *fuzz_frame_next(const uint8_t *data, size_t size, size_t *at, uint32_t *len)
{
	size_t n;
	uint8_t *frame;

	if (*at + 2 > size)
		return NULL;
	n = ((size_t)data[*at] << 8) | data[*at + 1];
	*at += 2;
	if (n > size - *at)
		n = size - *at;
	frame = malloc(n ? n : 1);
	if (frame == NULL)
		abort();
	memcpy(frame, data + *at, n);
	*at += n;
	*len = (uint32_t)n;
	return frame;
}

/* The frames handed one by one (feed_set_packet_handle). Returns how many. */
static uint64_t fuzz_run_packets(struct feed_set *set, const uint8_t *data, size_t size)
{
	uint64_t handed = 0;
	size_t at = 0;
	uint32_t len;
	uint8_t *frame;

	while ((frame = fuzz_frame_next(data, size, &at, &len)) != NULL) {
		feed_set_packet_handle(set, frame, len, frame, handed * 1000, fuzz_packet_free);
		handed++;
	}
	return handed;
}

/*
 * The frames in bursts of `burst`, as the RX lcore hands them: every frame of a burst
 * scanned, then each handed, then the burst ended. Returns how many.
 */
static uint64_t fuzz_run_bursts(struct feed_set *set, const uint8_t *data, size_t size, uint32_t burst)
{
	uint8_t *frames[FEED_BURST_MAX];
	uint32_t lens[FEED_BURST_MAX], n;
	uint64_t handed = 0;
	size_t at = 0;

	do {
		for (n = 0; n < burst && (frames[n] = fuzz_frame_next(data, size, &at, &lens[n])) != NULL; n++)
			feed_set_burst_scan(set, n, frames[n], lens[n]);
		for (uint32_t i = 0; i < n; i++) {
			feed_set_burst_packet(set, i, frames[i], handed * 1000, UINT64_MAX, fuzz_packet_free);
			handed++;
		}
		feed_set_burst_end(set);
	} while (n == burst);
	return handed;
}

/* The canonical dump of a book, in memory the caller frees. */
static char *fuzz_dump(struct book *book, size_t *len)
{
	static const char *const name = "f";
	char *text = NULL;
	FILE *out = open_memstream(&text, len);

	if (out == NULL || book_dump_write(out, &book, &name, 1) != 0 || fclose(out) != 0)
		abort();
	return text;
}

/* Whatever the feed counted and applied: the same whether frames came one by one or in bursts. */
static bool fuzz_feeds_same(const struct feed_set *a_set, struct feed *a, const struct feed_set *b_set,
			    struct feed *b)
{
	size_t a_len, b_len;
	char *a_dump = fuzz_dump(a->book, &a_len), *b_dump = fuzz_dump(b->book, &b_len);
	bool same = a_len == b_len && memcmp(a_dump, b_dump, a_len) == 0 &&
		    memcmp(&a->book->stats, &b->book->stats, sizeof(a->book->stats)) == 0 &&
		    memcmp(&a->messages, &b->messages, sizeof(a->messages)) == 0 &&
		    memcmp(a->lines, b->lines, sizeof(a->lines)) == 0 &&
		    memcmp(&a->arbiter.stats, &b->arbiter.stats, sizeof(a->arbiter.stats)) == 0 &&
		    memcmp(a_set->unrouted, b_set->unrouted, sizeof(a_set->unrouted)) == 0;

	free(a_dump);
	free(b_dump);
	return same;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A feed for the input, added to set: with recovery taken from the capture when
 * replaying recovery (its replies routed by source), as fhd replaying a journal.
 */
static struct feed *fuzz_feed_make(struct feed_set *set, bool replay_recovery)
{
	char err[CFG_ERROR_MAX];
	struct feed *feed;

	memset(set, 0, sizeof(*set));
	feed = feed_create(replay_recovery ? &replay_recovery_feed : &config.feeds[0], fuzz_packet_free, err,
			   sizeof(err));
	if (feed == NULL || feed_set_add(set, feed) != 0)
		abort();
	if (replay_recovery) {
		set->replay_recovery = true;
		feed->recovery->from_capture = true;
	}
	return feed;
}

/*
 * An odd input (by size / 3, so each listener of size % 3 gets both) goes in bursts of
 * 1..FEED_BURST_MAX frames through the RX lcore's pipeline, and once more one by one
 * through a second feed: both must end up having counted and applied the same.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct feed_set set, reference_set;
	char err[CFG_ERROR_MAX];
	struct feed *feed, *reference = NULL;
	bool bursts = (size / 3) % 2 == 1, replay_recovery = (size / 6) % 2 == 1;
	uint64_t handed;

	if (config.feeds_count == 0) {
		if (cfg_load_default(&config, err, sizeof(err)) != 0)
			abort();
		config.feeds[0].book.instruments_max = 64;
		config.feeds[0].book.orders_max = 4096;
		config.feeds[0].book.levels_max = 64;
		config.feeds[0].reorder_packets_max = 16;
		replay_recovery_feed = config.feeds[0];
		replay_recovery_feed.recovery.enabled = true;
		replay_recovery_feed.recovery.hold = 64;
		replay_recovery_feed.recovery.server_ip = 0x0a000001;
		replay_recovery_feed.recovery.server_port = 40001;
	}
	freed = 0;
	feed = fuzz_feed_make(&set, replay_recovery);
	if (size % 3 == 1)
		fuzz_publisher_attach(feed, config.feeds[0].book.instruments_max);
	if (size % 3 != 0 && feed_latency_start(feed, 1000000000, 0) != 0)
		abort();
	if (bursts)
		handed = fuzz_run_bursts(&set, data, size, 1 + (uint32_t)(size / 6) % FEED_BURST_MAX);
	else
		handed = fuzz_run_packets(&set, data, size);
	feed_set_flush(&set, UINT64_MAX / 2);
	if (freed != handed || !book_check(feed->book))
		abort();
	if (feed->pub != NULL && !fuzz_view_matches(feed->book))
		abort();
	if (bursts) {
		reference = fuzz_feed_make(&reference_set, replay_recovery);
		handed += fuzz_run_packets(&reference_set, data, size);
		feed_set_flush(&reference_set, UINT64_MAX / 2);
		if (freed != handed || !fuzz_feeds_same(&set, feed, &reference_set, reference))
			abort();
		feed_destroy(reference);
	}
	feed_destroy(feed);
	return 0;
}
