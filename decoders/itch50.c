/*
 * itch50: ITCH 5.0 message decoding (see itch50.h). Field offsets are those of the
 * ITCH 5.0 specification, section 4 (shared/docs/itch50-moldudp64.md): every message
 * opens with Message Type (1), Stock Locate (2), Tracking Number (2), Timestamp (6).
 */
#include "decoders/itch50.h"

#include <errno.h>
#include <string.h>

#include "decoders/moldudp64.h"
#include "book/util/clock.h"
#include "book/util/wire.h"
#include "book/util/hist.h"
#include "publish/publisher.h"

/* Message lengths by type byte (ITCH 5.0 §4); 0 = not an ITCH 5.0 type. */
static const uint8_t itch50_lengths[256] = {
	['S'] = 12, ['R'] = 39, ['H'] = 25, ['Y'] = 20, ['L'] = 26, ['V'] = 35,
	['W'] = 12, ['K'] = 28, ['J'] = 35, ['h'] = 21, ['A'] = 36, ['F'] = 40,
	['E'] = 31, ['C'] = 36, ['X'] = 23, ['D'] = 19, ['U'] = 35, ['P'] = 44,
	['Q'] = 40, ['B'] = 19, ['I'] = 50, ['N'] = 20, ['O'] = 48,
};

uint32_t itch50_message_length(uint8_t type)
{
	return itch50_lengths[type];
}

/* The 6-byte Timestamp of the common header: nanoseconds since midnight. */
static inline uint64_t itch50_timestamp(const uint8_t *m)
{
	return ((uint64_t)wire_be16(m + 5) << 32) | wire_be32(m + 7);
}

/* An order event: header, then body.order (ref, price, remaining). */
static void itch50_order_event(struct publisher *pub, const struct book *book, const uint8_t *m,
			       uint8_t type, uint64_t ref, uint32_t quantity)
{
	const struct book_order_info *o = &book->last_order;
	struct fh_event *e = publisher_claim(pub, type, book->instruments[o->instrument].key,
					     o->side, itch50_timestamp(m));

	e->quantity = quantity;
	e->body.order.ref = ref;
	e->body.order.price = o->price;
	e->body.order.remaining = o->remaining;
	e->body.order.reserved = 0;
	publisher_commit(pub, e);
}

/* A trade event; side is the resting order's (FH_SIDE_NONE for a cross). */
static void itch50_trade_event(struct publisher *pub, const uint8_t *m, uint32_t instrument,
			       uint8_t side, uint8_t flags, uint64_t match, int64_t price,
			       uint64_t shares)
{
	struct fh_event *e = publisher_claim(pub, FH_EVENT_TRADE, instrument, side, itch50_timestamp(m));

	e->flags = flags;
	e->quantity = shares > UINT32_MAX ? UINT32_MAX : (uint32_t)shares;
	e->body.trade.match = match;
	e->body.trade.price = price;
	e->body.trade.reserved = 0;
	publisher_commit(pub, e);
}

/* Order Executed 'E' (§4.4.1) and with price 'C' (§4.4.2), Order Cancel 'X' (§4.5.1). */
static void itch50_reduce(struct book *book, struct publisher *pub, const uint8_t *m)
{
	uint64_t ref = wire_be64(m + 11);
	uint32_t shares = wire_be32(m + 19);
	const struct book_order_info *o = &book->last_order;
	uint32_t taken;

	if (book_order_reduce(book, ref, shares) != 0) {
		/* A 'C' carries its own price: it traded even if the order is unknown here. */
		if (m[0] == 'C' && pub != NULL)
			itch50_trade_event(pub, m, wire_be16(m + 1), FH_SIDE_NONE, FH_FLAG_TRADE_EXECUTION,
					   wire_be64(m + 23), wire_be32(m + 32), shares);
		return;
	}
	if (pub == NULL)
		return;
	taken = shares < o->shares ? shares : o->shares;	/* more than resting: all of it */
	itch50_order_event(pub, book, m, FH_EVENT_ORDER_REDUCED, ref, taken);
	/* The trade is what the exchange executed, even beyond what rested here. */
	if (m[0] != 'X')
		itch50_trade_event(pub, m, book->instruments[o->instrument].key, o->side,
				   FH_FLAG_TRADE_EXECUTION, wire_be64(m + 23),
				   m[0] == 'C' ? (int64_t)wire_be32(m + 32) : o->price, shares);
	publisher_levels(pub, book, itch50_timestamp(m));
}

/* Add Order 'A' and 'F' (§4.3.1, §4.3.2): the Stock field names the instrument if nothing else has. */
static void itch50_add(struct book *book, struct decoder_stats *stats, struct publisher *pub,
		       const uint8_t *m)
{
	uint8_t side_code = m[19];
	int32_t instrument;
	enum book_side side;

	if (side_code == 'B')
		side = BOOK_SIDE_BID;
	else if (side_code == 'S')
		side = BOOK_SIDE_ASK;
	else {
		stats->bad_field++;
		return;
	}
	instrument = book_instrument_get(book, wire_be16(m + 1), ITCH50_PRICE_DECIMALS);
	if (instrument < 0)
		return;
	if (book->instruments[instrument].symbol_source == BOOK_SYMBOL_NONE &&
	    book_instrument_symbol_set(book, instrument, (const char *)m + 24, 8,
				       BOOK_SYMBOL_FROM_ORDER) && pub != NULL)
		publisher_instrument(pub, book, instrument, itch50_timestamp(m));
	if (book_order_add(book, instrument, wire_be64(m + 11), side, wire_be32(m + 32),
			   wire_be32(m + 20)) != 0 || pub == NULL)
		return;
	itch50_order_event(pub, book, m, FH_EVENT_ORDER_ADDED, wire_be64(m + 11), wire_be32(m + 20));
	publisher_levels(pub, book, itch50_timestamp(m));
}

/* Order Replace 'U' (§4.5.3): the old order leaves, the new one enters on the same side. */
static void itch50_replace(struct book *book, struct publisher *pub, const uint8_t *m)
{
	uint64_t old_ref = wire_be64(m + 11), new_ref = wire_be64(m + 19);
	uint32_t shares = wire_be32(m + 27), price = wire_be32(m + 31);
	int rc = book_order_replace(book, old_ref, new_ref, price, shares);
	struct fh_event *e;

	if (rc == -ENOENT || pub == NULL)
		return;
	if (rc != 0) {	/* the old order left, the new one was refused */
		itch50_order_event(pub, book, m, FH_EVENT_ORDER_DELETED, old_ref, book->last_order.shares);
	} else {
		e = publisher_claim(pub, FH_EVENT_ORDER_REPLACED,
				    book->instruments[book->last_order.instrument].key,
				    book->last_order.side, itch50_timestamp(m));
		e->quantity = shares;
		e->body.replace.old_ref = old_ref;
		e->body.replace.new_ref = new_ref;
		e->body.replace.price = price;
		publisher_commit(pub, e);
	}
	publisher_levels(pub, book, itch50_timestamp(m));
}

/* Stock Trading Action 'H' (§4.2.3). */
static void itch50_status(struct publisher *pub, const uint8_t *m)
{
	struct fh_event *e = publisher_claim(pub, FH_EVENT_TRADING_STATUS, wire_be16(m + 1),
					     FH_SIDE_NONE, itch50_timestamp(m));

	memset(&e->body, 0, sizeof(e->body));
	e->body.status.state = (char)m[19];
	memcpy(e->body.status.reason, m + 21, 4);
	publisher_commit(pub, e);
}

void itch50_message_apply(struct book *book, struct decoder_stats *stats, struct publisher *pub,
			  const uint8_t *m, uint32_t length)
{
	uint8_t type;
	int32_t instrument;

	if (length == 0) {
		stats->unknown_type++;
		return;
	}
	type = m[0];
	if (length != itch50_lengths[type]) {
		if (itch50_lengths[type] == 0)
			stats->unknown_type++;
		else
			stats->bad_length++;
		return;
	}
	if (pub != NULL) {
		book->changes_count = 0;
		pub->messages++;
	}
	switch (type) {
	case 'A':
	case 'F':
		itch50_add(book, stats, pub, m);
		break;
	case 'E':
	case 'C':
	case 'X':
		itch50_reduce(book, pub, m);
		break;
	case 'D': /* Order Delete §4.5.2 */
		if (book_order_delete(book, wire_be64(m + 11)) == 0 && pub != NULL) {
			itch50_order_event(pub, book, m, FH_EVENT_ORDER_DELETED, wire_be64(m + 11),
					   book->last_order.shares);
			publisher_levels(pub, book, itch50_timestamp(m));
		}
		break;
	case 'U':
		itch50_replace(book, pub, m);
		break;
	case 'R': /* Stock Directory §4.2.1 */
		instrument = book_instrument_get(book, wire_be16(m + 1), ITCH50_PRICE_DECIMALS);
		if (instrument >= 0 &&
		    book_instrument_symbol_set(book, instrument, (const char *)m + 11, 8,
					       BOOK_SYMBOL_FROM_DIRECTORY) && pub != NULL)
			publisher_instrument(pub, book, instrument, itch50_timestamp(m));
		break;
	case 'H':
		if (pub != NULL)
			itch50_status(pub, m);
		break;
	case 'P': /* Trade (non-cross) §4.6.1: against a non-displayed order */
		if (pub != NULL)
			itch50_trade_event(pub, m, wire_be16(m + 1), m[19] == 'B' ? FH_SIDE_BID : FH_SIDE_ASK,
					   FH_FLAG_TRADE_NON_DISPLAYED, wire_be64(m + 36),
					   wire_be32(m + 32), wire_be32(m + 20));
		break;
	case 'Q': /* Cross Trade §4.6.2 */
		if (pub != NULL)
			itch50_trade_event(pub, m, wire_be16(m + 1), FH_SIDE_NONE, FH_FLAG_TRADE_CROSS,
					   wire_be64(m + 31), wire_be32(m + 27), wire_be64(m + 11));
		break;
	default: /* no effect on an order-by-order book */
		break;
	}
	stats->messages++;
	stats->by_type[type]++;
}

struct itch50_apply_context {
	struct book *book;
	struct decoder_stats *stats;
	struct publisher *pub;
	struct decoder_latency *latency;
};

static void itch50_block_apply(void *context, const uint8_t *message, uint32_t length)
{
	struct itch50_apply_context *c = context;
	struct decoder_latency *l = c->latency;

	itch50_message_apply(c->book, c->stats, c->pub, message, length);
	if (l == NULL)
		return;
	hist_record(l->message_ns, clock_tsc_to_ns(clock_tsc() - l->rx_tsc, l->ns_per_tsc_q32));
	if (l->exchange_ts_ns == UINT64_MAX && length >= 11)	/* type, locate, tracking, timestamp */
		l->exchange_ts_ns = itch50_timestamp(message);
}

static void itch50_block_prefetch(void *context, const uint8_t *message, uint32_t length)
{
	struct itch50_apply_context *c = context;

	itch50_message_prefetch(c->book, message, length);
}

/* Prefetches every message's order first, then applies: the misses overlap. */
static uint32_t itch50_frame_apply(struct book *book, struct decoder_stats *stats,
				   struct publisher *pub, struct decoder_latency *latency,
				   const uint8_t *payload, uint32_t len, uint32_t skip)
{
	struct itch50_apply_context context = { book, stats, pub, latency };
	uint32_t count = ((uint32_t)payload[18] << 8) | payload[19];

	(void)len;
	if (count > 1)
		moldudp64_blocks_walk(payload, skip, count, itch50_block_prefetch, &context);
	return moldudp64_blocks_walk(payload, skip, count, itch50_block_apply, &context);
}

const struct decoder_ops itch50_moldudp64_decoder = {
	.protocol = "itch50-moldudp64",
	.price_decimals = ITCH50_PRICE_DECIMALS,
	.frame_parse = moldudp64_frame_parse,
	.frame_apply = itch50_frame_apply,
};
