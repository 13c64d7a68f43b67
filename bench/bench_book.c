/*
 * bench-book: decode + book cost per message on one core, without DPDK or packets:
 * a NASDAQ binary ITCH file (2-byte length + message; zero prefixes are resolved from
 * the message type) is loaded into memory, then applied to fresh books several times.
 * Prints the best pass: "N messages, X ns/msg, Y msgs/s". Never fails on time.
 *
 * --publish K: every message is also published as fhd publishes it (both views, a
 * conflated view of depth 10, packets of K messages) onto a ring of
 * 2^20 events in private memory that nobody reads: the publisher's cost per message
 * is the difference from a run without it, on the same file in the same run. The
 * publisher has per-instrument states, all OK, as fhd gives every feed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "book/book.h"
#include "book/util/clock.h"
#include "decoders/nasdaq/itch50.h"
#include "publish/publisher.h"
#include "tests/pub_memory.h"

#define BENCH_PASSES 5
#define BENCH_RING_EVENTS (1u << 20)
#define BENCH_VIEW_DEPTH 10

/* The publishing run's ring, view and publisher (private memory, made once). */
static struct pub_ring bench_ring;
static struct pub_conflated bench_view;
static struct publisher bench_pub;
static struct publisher_states bench_states;	/* as fhd gives every feed, all OK (ITCH) */

static void bench_message_published(void *context, const struct decoded_message *message)
{
	struct publisher *pub = context;

	publisher_message(pub, pub->book, message);
}

/* The TSC's rate, from 50 ms of the monotonic clock: the publisher's stamps need it. */
static uint64_t bench_tsc_hz(void)
{
	uint64_t ns0 = clock_monotonic_ns(), tsc0 = clock_tsc(), ns;

	while ((ns = clock_monotonic_ns()) - ns0 < 50000000)
		;
	return (clock_tsc() - tsc0) * 1000000000ull / (ns - ns0);
}

struct bench_message {
	const uint8_t *data;
	uint32_t length;
};

/* Message i, after the stages for those further on, as the data path runs them over a burst. */
static inline void bench_apply(struct book *book, struct decoder_stats *stats,
			       const struct decoder_listener *listener,
			       const struct bench_message *messages, size_t count, size_t i)
{
	if (i + DECODER_PREFETCH_AHEAD_0 < count)
		itch50_message_prefetch(book, messages[i + DECODER_PREFETCH_AHEAD_0].data,
					messages[i + DECODER_PREFETCH_AHEAD_0].length);
	if (i + DECODER_PREFETCH_AHEAD_1 < count)
		itch50_message_prefetch_level(book, messages[i + DECODER_PREFETCH_AHEAD_1].data,
					      messages[i + DECODER_PREFETCH_AHEAD_1].length);
	if (i + DECODER_PREFETCH_AHEAD_2 < count)
		itch50_message_prefetch_chunk(book, messages[i + DECODER_PREFETCH_AHEAD_2].data,
					      messages[i + DECODER_PREFETCH_AHEAD_2].length);
	itch50_message_apply(book, stats, listener, messages[i].data, messages[i].length);
}

static uint8_t *bench_file_read(const char *path, size_t *size)
{
	FILE *in = fopen(path, "rb");
	uint8_t *data;
	long end;

	if (in == NULL || fseek(in, 0, SEEK_END) != 0 || (end = ftell(in)) < 0 ||
	    fseek(in, 0, SEEK_SET) != 0) {
		perror(path);
		exit(2);
	}
	data = malloc((size_t)end + 1);
	if (data == NULL || fread(data, 1, (size_t)end, in) != (size_t)end) {
		fprintf(stderr, "%s: cannot read\n", path);
		exit(2);
	}
	fclose(in);
	*size = (size_t)end;
	return data;
}

int main(int argc, char **argv)
{
	uint32_t instruments = 65536, orders = 4u << 20, levels = 1024, per_packet = 0;
	struct decoder_listener listener = { .message = bench_message_published,
					     .context = &bench_pub, .book_results = true };
	struct bench_message *messages;
	size_t size, count = 0, capacity = 1 << 20, at = 0;
	uint64_t best_ns = UINT64_MAX;
	struct decoder_stats stats;
	uint8_t *data;

	if (argc > 2 && strcmp(argv[1], "--publish") == 0) {
		char *end;

		per_packet = (uint32_t)strtoul(argv[2], &end, 10);
		if (*end != '\0' || per_packet == 0 || per_packet > 1000) {
			fprintf(stderr, "bench-book: --publish wants 1..1000 messages a packet\n");
			return 2;
		}
		argv += 2, argc -= 2;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: bench-book [--publish MESSAGES_PER_PACKET] ITCHFILE [orders_max] [levels_max]\n");
		return 2;
	}
	if (argc > 2)
		orders = (uint32_t)strtoul(argv[2], NULL, 10);
	if (argc > 3)
		levels = (uint32_t)strtoul(argv[3], NULL, 10);
	data = bench_file_read(argv[1], &size);
	messages = malloc(capacity * sizeof(*messages));
	while (messages != NULL && at + 3 <= size) {
		uint32_t length = ((uint32_t)data[at] << 8) | data[at + 1];

		if (length == 0)
			length = itch50_message_length(data[at + 2]);
		if (length == 0 || at + 2 + length > size) {
			fprintf(stderr, "%s: bad record at byte %zu\n", argv[1], at);
			return 2;
		}
		if (count == capacity)
			messages = realloc(messages, (capacity *= 2) * sizeof(*messages));
		messages[count].data = data + at + 2;
		messages[count].length = length;
		count++;
		at += 2 + length;
	}
	if (messages == NULL || count == 0) {
		fprintf(stderr, "%s: no messages\n", argv[1]);
		return 2;
	}
	/* Room for every stock locate the file uses, not the whole 16-bit space. */
	instruments = 1;
	for (size_t i = 0; i < count; i++) {
		uint32_t locate = messages[i].length >= 3 ?
			((uint32_t)messages[i].data[1] << 8) | messages[i].data[2] : 0;

		if (locate + 1 > instruments)
			instruments = locate + 1;
	}
	if (per_packet > 0) {
		pub_memory_make(&bench_ring, BENCH_RING_EVENTS, &bench_view, instruments, BENCH_VIEW_DEPTH);
		publisher_init(&bench_pub, &bench_ring, 0, bench_tsc_hz());
		if (publisher_states_make(&bench_states, instruments) != 0) {
			fprintf(stderr, "cannot allocate instrument states\n");
			return 2;
		}
	}
	for (int pass = 0; pass < BENCH_PASSES; pass++) {
		struct book *book = book_create(instruments, orders, levels);
		uint64_t start, elapsed;

		if (book == NULL) {
			fprintf(stderr, "cannot allocate books\n");
			return 2;
		}
		memset(&stats, 0, sizeof(stats));
		if (per_packet > 0) {
			pub_conflated_clear(&bench_view, 0, bench_view.slots);
			publisher_view_set(&bench_pub, &bench_view, 0, book);
			publisher_states_set(&bench_pub, &bench_states, book);
		}
		start = clock_monotonic_ns();
		for (size_t i = 0; i < count; i++) {
			if (per_packet == 0) {
				bench_apply(book, &stats, NULL, messages, count, i);
				continue;
			}
			if (i % per_packet == 0)
				publisher_packet_begin(&bench_pub, i, clock_tsc());
			bench_apply(book, &stats, &listener, messages, count, i);
			if (i % per_packet == per_packet - 1 || i + 1 == count)
				publisher_packet_end(&bench_pub, i + 1);
		}
		elapsed = clock_monotonic_ns() - start;
		if (elapsed < best_ns)
			best_ns = elapsed;
		if (pass == BENCH_PASSES - 1)
			fprintf(stderr, "bench-book: live orders %u, instruments %u, unknown_order %" PRIu64
				", levels_full %" PRIu64 ", orders_full %" PRIu64 "\n",
				book->orders.count, book->instruments_count, book->stats.unknown_order,
				book->stats.levels_full, book->stats.orders_full);
		book_destroy(book);
	}
	printf("%zu messages, %.1f ns/msg, %.0f msgs/s\n", count, (double)best_ns / (double)count,
	       (double)count * 1e9 / (double)best_ns);
	free(messages);
	free(data);
	return 0;
}
