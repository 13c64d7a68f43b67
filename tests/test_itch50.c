/*
 * test_itch50: ITCH 5.0 message decoding. The length table is typed in here again
 * from the spec (NASDAQ TotalView-ITCH 5.0, section 4) as a cross-check of the decoder's.
 * Wrong lengths for every type, unknown types, an empty message and a bad side come
 * first; then each book-changing type, the Stock Directory, and every other type
 * counted without touching the book. Last, what a listener hears: each message's
 * venue-neutral decoded values, checked against the fields the test wrote.
 */
#include <stdio.h>
#include <string.h>

#include "decoders/nasdaq/itch50.h"
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

/* A listener that keeps the last message it heard, with a copy of its book result. */
struct heard {
	bool book_results;	/* the listener asked for every field */
	uint32_t count;
	struct decoded_message last;
	struct book_result book;
};

static void heard_message(void *context, const struct decoded_message *message)
{
	struct heard *h = context;

	h->count++;
	if (!h->book_results) {	/* only these two are promised */
		h->last.applied = message->applied;
		h->last.exchange_ts_ns = message->exchange_ts_ns;
		return;
	}
	h->last = *message;
	if (message->applied && message->book != NULL) {
		h->book = *message->book;
		h->last.book = &h->book;
	}
}

/* Applies one message and returns what the listener heard of it. */
static const struct decoded_message *hear(struct book *book, struct decoder_stats *stats,
					  struct heard *h, const uint8_t *m, uint32_t n)
{
	const struct decoder_listener listener = { heard_message, h, true };
	uint32_t before = h->count;

	memset(&h->last, 0xa5, sizeof(h->last));	/* nothing left from the message before */
	itch50_message_apply(book, stats, &listener, m, n);
	CHECK(h->count == before + 1);
	return &h->last;
}

static void listener_check(void)
{
	struct book *book = book_create(8, 64, 16);
	struct decoder_stats stats;
	struct heard h = { .book_results = true };
	const struct decoded_message *d;
	uint8_t m[64];
	uint32_t n;

	memset(&stats, 0, sizeof(stats));
	printf("a listener hears each message in venue-neutral terms\n");
	n = add(m, 'A', 11, 'B', 100, "XYZ     ", 1000000);
	put(m + 5, 0x123456789aull, 6);
	d = hear(book, &stats, &h, m, n);
	CHECK(d->applied && d->exchange_ts_ns == 0x123456789aull && d->instrument_key == 5);
	CHECK(d->instrument_defined == 0 && d->order == DECODED_ORDER_ADDED && d->ref == 11);
	CHECK(d->book != NULL && d->book->order.shares == 100 && d->book->order.remaining == 100 &&
	      d->book->order.price == 1000000 && d->book->order.side == BOOK_SIDE_BID);
	CHECK(d->book->changes_count == 1 && d->book->changes[0].price == 1000000 &&
	      d->book->changes[0].shares == 100 && d->book->changes[0].orders == 1 &&
	      d->book->changes[0].best && d->book->top_before.price[BOOK_SIDE_BID] == INT64_MIN);
	CHECK(d->trade.kind == DECODED_TRADE_NONE && !d->status.present);
	d = hear(book, &stats, &h, m, add(m, 'A', 12, 'B', 5, "XYZ     ", 999900));
	CHECK(d->instrument_defined == -1 && d->book->changes_count == 1 && !d->book->changes[0].best);

	n = message(m, 'E'); put(m + 11, 11, 8); put(m + 19, 30, 4); put(m + 23, 777, 8);
	d = hear(book, &stats, &h, m, n);
	CHECK(d->order == DECODED_ORDER_REDUCED && d->ref == 11 && d->book->order.shares == 100 &&
	      d->book->order.remaining == 70);
	CHECK(d->trade.kind == DECODED_TRADE_EXECUTION && d->trade.side == BOOK_SIDE_BID &&
	      d->trade.match == 777 && d->trade.price == 1000000 && d->trade.shares == 30);
	CHECK(d->book->changes_count == 1 && d->book->changes[0].shares == 70 &&
	      d->book->top_before.shares[BOOK_SIDE_BID] == 100);

	n = message(m, 'C'); put(m + 11, 999, 8); put(m + 19, 8, 4); put(m + 23, 778, 8);
	put(m + 32, 1000100, 4);
	d = hear(book, &stats, &h, m, n);	/* unknown order: the trade still happened */
	CHECK(d->applied && d->order == DECODED_ORDER_NONE && d->book == NULL);
	CHECK(d->trade.kind == DECODED_TRADE_EXECUTION && d->trade.side == DECODED_SIDE_NONE &&
	      d->trade.price == 1000100 && d->trade.shares == 8 && d->trade.match == 778);

	n = message(m, 'X'); put(m + 11, 11, 8); put(m + 19, 500, 4);
	d = hear(book, &stats, &h, m, n);	/* more than rests: all of it */
	CHECK(d->order == DECODED_ORDER_REDUCED && d->book->order.shares == 70 &&
	      d->book->order.remaining == 0 && d->trade.kind == DECODED_TRADE_NONE);
	CHECK(d->book->changes_count == 1 && d->book->changes[0].orders == 0 && d->book->changes[0].best);

	n = message(m, 'U'); put(m + 11, 12, 8); put(m + 19, 13, 8); put(m + 27, 9, 4);
	put(m + 31, 1000200, 4);
	d = hear(book, &stats, &h, m, n);
	CHECK(d->order == DECODED_ORDER_REPLACED && d->ref == 12 && d->new_ref == 13 &&
	      d->book->order.shares == 9 && d->book->order.price == 1000200);
	CHECK(d->book->changes_count == 2 && d->book->changes[0].orders == 0 &&
	      d->book->changes[1].price == 1000200 && d->book->changes[1].best);

	n = message(m, 'D'); put(m + 11, 13, 8);
	d = hear(book, &stats, &h, m, n);
	CHECK(d->order == DECODED_ORDER_DELETED && d->ref == 13 && d->book->order.shares == 9 &&
	      d->book->order.remaining == 0 && book->orders.count == 0);
	n = message(m, 'D'); put(m + 11, 13, 8);
	d = hear(book, &stats, &h, m, n);	/* gone already */
	CHECK(d->applied && d->order == DECODED_ORDER_NONE && d->book == NULL);

	n = message(m, 'H'); m[19] = 'T'; memcpy(m + 21, "MWCB", 4);
	d = hear(book, &stats, &h, m, n);
	CHECK(d->status.present && d->status.state == 'T' && memcmp(d->status.reason, "MWCB", 4) == 0);
	n = message(m, 'P'); m[19] = 'S'; put(m + 20, 300, 4); put(m + 32, 1000300, 4);
	put(m + 36, 779, 8);
	d = hear(book, &stats, &h, m, n);
	CHECK(d->trade.kind == DECODED_TRADE_NON_DISPLAYED && d->trade.side == BOOK_SIDE_ASK &&
	      d->trade.shares == 300 && d->trade.price == 1000300 && d->trade.match == 779);
	n = message(m, 'Q'); put(m + 11, 5000000000ull, 8); put(m + 27, 1000400, 4);
	put(m + 31, 780, 8);
	d = hear(book, &stats, &h, m, n);
	CHECK(d->trade.kind == DECODED_TRADE_CROSS && d->trade.side == DECODED_SIDE_NONE &&
	      d->trade.shares == 5000000000ull && d->trade.price == 1000400 && d->trade.match == 780);
	n = message(m, 'R'); memcpy(m + 11, "XYZW    ", 8);
	d = hear(book, &stats, &h, m, n);
	CHECK(d->instrument_defined == 0 && d->order == DECODED_ORDER_NONE && d->book == NULL);

	n = message(m, 'S'); put(m + 5, 42, 6);
	d = hear(book, &stats, &h, m, n - 1);	/* skipped, but still heard and timed */
	CHECK(!d->applied && d->exchange_ts_ns == 42);
	d = hear(book, &stats, &h, m, 3);
	CHECK(!d->applied && d->exchange_ts_ns == UINT64_MAX);

	printf("a listener that only times hears each message and its time\n");
	{
		const struct decoder_listener timer = { heard_message, &h, false };
		uint32_t before = h.count;

		h.book_results = false;
		n = add(m, 'A', 21, 'S', 7, "XYZ     ", 1000500);
		put(m + 5, 43, 6);
		itch50_message_apply(book, &stats, &timer, m, n);
		CHECK(h.count == before + 1 && h.last.applied && h.last.exchange_ts_ns == 43);
		CHECK(book->orders.count == 1 && book_check(book));
	}
	book_destroy(book);
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
	listener_check();
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
