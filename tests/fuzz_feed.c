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
 * entry in use, with the book's best levels to the view's depth.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct feed_set set;
	char err[CFG_ERROR_MAX];
	struct feed *feed;
	uint64_t handed = 0;
	size_t at = 0;

	if (config.feeds_count == 0) {
		if (cfg_load_default(&config, err, sizeof(err)) != 0)
			abort();
		config.feeds[0].book.instruments_max = 64;
		config.feeds[0].book.orders_max = 4096;
		config.feeds[0].book.levels_max = 64;
		config.feeds[0].reorder_packets_max = 16;
	}
	memset(&set, 0, sizeof(set));
	freed = 0;
	feed = feed_create(&config.feeds[0], fuzz_packet_free, err, sizeof(err));
	if (feed == NULL || feed_set_add(&set, feed) != 0)
		abort();
	if (size % 3 == 1)
		fuzz_publisher_attach(feed, config.feeds[0].book.instruments_max);
	if (size % 3 != 0 && feed_latency_start(feed, 1000000000, 0) != 0)
		abort();
	while (at + 2 <= size) {
		size_t len = ((size_t)data[at] << 8) | data[at + 1];
		uint8_t *frame;

		at += 2;
		if (len > size - at)
			len = size - at;
		/* A copy of exactly len bytes: ASan sees any read past the frame. */
		frame = malloc(len ? len : 1);
		memcpy(frame, data + at, len);
		feed_set_packet_handle(&set, frame, (uint32_t)len, frame, handed * 1000,
				       fuzz_packet_free);
		handed++;
		at += len;
	}
	feed_set_flush(&set, UINT64_MAX / 2);
	if (freed != handed || !book_check(feed->book))
		abort();
	if (feed->pub != NULL && !fuzz_view_matches(feed->book))
		abort();
	feed_destroy(feed);
	return 0;
}
