/*
 * test_itch50: ITCH 5.0 message decoding. The length table is typed in here again
 * from the spec (shared/docs/itch50-moldudp64.md) as a cross-check of the decoder's.
 * Wrong lengths for every type, unknown types, an empty message and a bad side come
 * first; then each book-changing type, the Stock Directory, and every other type
 * counted without touching the book.
 */
#include <stdio.h>
#include <string.h>

#include "decoders/itch50.h"
#include "tests/check.h"

static const struct {
	char type;
	uint32_t length;
} spec[] = {
	{ 'S', 12 }, { 'R', 39 }, { 'H', 25 }, { 'Y', 20 }, { 'L', 26 }, { 'V', 35 },
	{ 'W', 12 }, { 'K', 28 }, { 'J', 35 }, { 'h', 21 }, { 'A', 36 }, { 'F', 40 },
	{ 'E', 31 }, { 'C', 36 }, { 'X', 23 }, { 'D', 19 }, { 'U', 35 }, { 'P', 44 },
	{ 'Q', 40 }, { 'B', 19 }, { 'I', 50 }, { 'N', 20 }, { 'O', 48 },
};

static void put(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

/* A message of `type` with header (locate 5) and zeroed body. */
static uint32_t message(uint8_t *m, char type)
{
	uint32_t n = itch50_message_length((uint8_t)type);

	memset(m, 0, 64);
	m[0] = (uint8_t)type;
	put(m + 1, 5, 2);
	return n;
}

static uint32_t add(uint8_t *m, char type, uint64_t ref, char side, uint32_t shares,
		    const char *stock, uint32_t price)
{
	uint32_t n = message(m, type);

	put(m + 11, ref, 8);
	m[19] = (uint8_t)side;
	put(m + 20, shares, 4);
	memcpy(m + 24, stock, 8);
	put(m + 32, price, 4);
	return n;
}

int main(void)
{
	struct book *book = book_create(8, 64, 16);
	struct decoder_stats stats;
	uint8_t m[64];
	uint32_t n;

	memset(&stats, 0, sizeof(stats));
	printf("length table equals the spec; wrong lengths and unknown types skipped\n");
	for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++) {
		CHECK(itch50_message_length((uint8_t)spec[i].type) == spec[i].length);
		message(m, spec[i].type);
		itch50_message_apply(book, &stats, NULL, m, spec[i].length - 1);
		itch50_message_apply(book, &stats, NULL, m, spec[i].length + 1);
	}
	CHECK(stats.bad_length == 2 * sizeof(spec) / sizeof(spec[0]) && stats.messages == 0);
	for (int t = 0; t < 256; t++) {
		bool known = false;

		for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++)
			known = known || spec[i].type == t;
		if (!known)
			CHECK(itch50_message_length((uint8_t)t) == 0);
	}
	m[0] = 'Z';
	itch50_message_apply(book, &stats, NULL, m, 20);
	itch50_message_apply(book, &stats, NULL, m, 0);
	CHECK(stats.unknown_type == 2);
	n = add(m, 'A', 1, 'Z', 100, "ABC     ", 1234500);
	itch50_message_apply(book, &stats, NULL, m, n);
	CHECK(stats.bad_field == 1 && book->orders.count == 0);

	printf("order messages change the book\n");
	itch50_message_apply(book, &stats, NULL, m, add(m, 'A', 1, 'B', 100, "ABC     ", 1234500));
	itch50_message_apply(book, &stats, NULL, m, add(m, 'F', 2, 'S', 50, "ABC     ", 1240000));
	itch50_message_apply(book, &stats, NULL, m, add(m, 'A', 3, 'B', 10, "ABC     ", 1234500));
	CHECK(strcmp(check_dump(book, "itch"), "itch ABC B 123.4500 110 2\nitch ABC S 124.0000 50 1\n") == 0);
	n = message(m, 'E'); put(m + 11, 1, 8); put(m + 19, 40, 4);
	itch50_message_apply(book, &stats, NULL, m, n);			/* 1: 60 left */
	n = message(m, 'C'); put(m + 11, 2, 8); put(m + 19, 50, 4);
	itch50_message_apply(book, &stats, NULL, m, n);			/* 2: gone */
	n = message(m, 'X'); put(m + 11, 3, 8); put(m + 19, 4, 4);
	itch50_message_apply(book, &stats, NULL, m, n);			/* 3: 6 left */
	CHECK(strcmp(check_dump(book, "itch"), "itch ABC B 123.4500 66 2\n") == 0);
	n = message(m, 'U'); put(m + 11, 1, 8); put(m + 19, 9, 8); put(m + 27, 70, 4);
	put(m + 31, 1230000, 4);
	itch50_message_apply(book, &stats, NULL, m, n);			/* 1 -> 9 */
	n = message(m, 'D'); put(m + 11, 3, 8);
	itch50_message_apply(book, &stats, NULL, m, n);
	CHECK(strcmp(check_dump(book, "itch"), "itch ABC B 123.0000 70 1\n") == 0);
	n = message(m, 'R'); memcpy(m + 11, "ABCD    ", 8);
	itch50_message_apply(book, &stats, NULL, m, n);
	CHECK(strcmp(check_dump(book, "itch"), "itch ABCD B 123.0000 70 1\n") == 0);
	n = message(m, 'D'); put(m + 11, 777, 8);
	itch50_message_apply(book, &stats, NULL, m, n);
	CHECK(book->stats.unknown_order == 1);

	printf("every other type is counted and leaves the book alone\n");
	for (const char *t = "SHYLVWKJhPQBINO"; *t; t++) {
		uint64_t before = stats.by_type[(uint8_t)*t];

		n = message(m, *t);
		put(m + 11, 9, 8);	/* would name order 9 if misread as an order message */
		itch50_message_apply(book, &stats, NULL, m, n);
		CHECK(stats.by_type[(uint8_t)*t] == before + 1);
	}
	CHECK(strcmp(check_dump(book, "itch"), "itch ABCD B 123.0000 70 1\n") == 0 && book_check(book));
	book_destroy(book);
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
