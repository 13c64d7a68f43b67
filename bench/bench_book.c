/*
 * bench-book: decode + book cost per message on one core, without DPDK or packets:
 * a NASDAQ binary ITCH file (2-byte length + message; zero prefixes are resolved from
 * the message type) is loaded into memory, then applied to fresh books several times.
 * Prints the best pass: "N messages, X ns/msg, Y msgs/s". Never fails on time.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "book/book.h"
#include "book/util/clock.h"
#include "decoders/itch50.h"

#define BENCH_PASSES 5

struct bench_message {
	const uint8_t *data;
	uint32_t length;
};

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
	uint32_t instruments = 65536, orders = 4u << 20, levels = 1024;
	struct bench_message *messages;
	size_t size, count = 0, capacity = 1 << 20, at = 0;
	uint64_t best_ns = UINT64_MAX;
	struct decoder_stats stats;
	uint8_t *data;

	if (argc < 2) {
		fprintf(stderr, "usage: bench-book ITCHFILE [orders_max] [levels_max]\n");
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
	for (int pass = 0; pass < BENCH_PASSES; pass++) {
		struct book *book = book_create(instruments, orders, levels);
		uint64_t start, elapsed;

		if (book == NULL) {
			fprintf(stderr, "cannot allocate books\n");
			return 2;
		}
		memset(&stats, 0, sizeof(stats));
		start = clock_monotonic_ns();
		for (size_t i = 0; i < count; i++) {
			/* The stages, as the data path runs them over a burst of packets. */
			if (i + DECODER_PREFETCH_AHEAD_0 < count)
				itch50_message_prefetch(book, messages[i + DECODER_PREFETCH_AHEAD_0].data,
							messages[i + DECODER_PREFETCH_AHEAD_0].length);
			if (i + DECODER_PREFETCH_AHEAD_1 < count)
				itch50_message_prefetch_level(book, messages[i + DECODER_PREFETCH_AHEAD_1].data,
							      messages[i + DECODER_PREFETCH_AHEAD_1].length);
			if (i + DECODER_PREFETCH_AHEAD_2 < count)
				itch50_message_prefetch_chunk(book, messages[i + DECODER_PREFETCH_AHEAD_2].data,
							      messages[i + DECODER_PREFETCH_AHEAD_2].length);
			itch50_message_apply(book, &stats, NULL, messages[i].data, messages[i].length);
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
