/*
 * fuzz_feed: libFuzzer target for the whole per-packet path after rx_burst (L2-L4
 * parsing, routing, MoldUDP64 framing, A/B arbitration, ITCH decoding, books). The
 * input is a sequence of records [2-byte big-endian length][frame], so packets
 * interact through sequence state and books. Afterwards every packet handle must have
 * come back exactly once and the books must pass book_check; otherwise it aborts.
 * Linked with tests/fuzz_replay.c instead of libFuzzer, it runs over files (no
 * libFuzzer needed), which is how the seed corpus is replayed under gcc's ASan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "feed/feed.h"

static struct cfg config;
static uint64_t freed;

/* The handle is the frame itself: a use after release or a double release is an ASan report. */
static void fuzz_packet_free(void *packet)
{
	free(packet);
	freed++;
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
	feed_destroy(feed);
	return 0;
}
