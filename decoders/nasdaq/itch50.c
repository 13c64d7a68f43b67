/*
 * itch50: ITCH 5.0 message decoding (see itch50.h). Field offsets are those of the
 * NASDAQ TotalView-ITCH 5.0 specification, section 4: every message
 * opens with Message Type (1), Stock Locate (2), Tracking Number (2), Timestamp (6).
 */
#include "decoders/nasdaq/itch50.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "book/util/wire.h"
#include "decoders/nasdaq/glimpse.h"
#include "decoders/nasdaq/moldudp64.h"
#include "decoders/nasdaq/moldudp64_request.h"
#include "decoders/recovery.h"

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

/* A message no book operation changed: nothing but its time and instrument so far. */
static inline void itch50_decoded_init(struct decoded_message *d, const uint8_t *m)
{
	d->applied = true;
	d->exchange_ts_ns = itch50_timestamp(m);
	d->instrument_key = wire_be16(m + 1);
	d->instrument_defined = -1;
	d->order = DECODED_ORDER_NONE;
	d->book = NULL;
	d->trade.kind = DECODED_TRADE_NONE;
	d->status.present = false;
}

/* An order operation that succeeded: the order event is about the book's order. */
static inline void itch50_decoded_order(struct decoded_message *d, const struct book *book,
					const struct book_result *r, uint8_t order, uint64_t ref)
{
	assert(r->order.instrument < book->instruments_count && r->order.side < BOOK_SIDES);
	d->order = order;
	d->ref = ref;
	d->book = r;
	d->instrument_key = book->instruments[r->order.instrument].key;
}

static inline void itch50_decoded_trade(struct decoded_message *d, uint8_t kind, uint8_t side,
					uint64_t match, int64_t price, uint64_t shares)
{
	d->trade.kind = kind;
	d->trade.side = side;
	d->trade.match = match;
	d->trade.price = price;
	d->trade.shares = shares;
}

/* Order Executed 'E' (§4.4.1) and with price 'C' (§4.4.2), Order Cancel 'X' (§4.5.1). */
static void itch50_reduce(struct book *book, struct book_result *r, struct decoded_message *d,
			  const uint8_t *m)
{
	uint64_t ref = wire_be64(m + 11);
	uint32_t shares = wire_be32(m + 19);

	if (book_order_reduce(book, ref, shares, r) != 0) {
		/* A 'C' carries its own price: it traded even if the order is unknown here. */
		if (m[0] == 'C')
			itch50_decoded_trade(d, DECODED_TRADE_EXECUTION, DECODED_SIDE_NONE,
					     wire_be64(m + 23), wire_be32(m + 32), shares);
		return;
	}
	if (r == NULL)
		return;
	itch50_decoded_order(d, book, r, DECODED_ORDER_REDUCED, ref);
	/* The trade is what the exchange executed, even beyond what rested here. */
	if (m[0] != 'X')
		itch50_decoded_trade(d, DECODED_TRADE_EXECUTION, r->order.side, wire_be64(m + 23),
				     m[0] == 'C' ? (int64_t)wire_be32(m + 32) : r->order.price,
				     shares);
}

/* Add Order 'A' and 'F' (§4.3.1, §4.3.2): the Stock field names the instrument if nothing else has. */
static void itch50_add(struct book *book, struct decoder_stats *stats, struct book_result *r,
		       struct decoded_message *d, const uint8_t *m)
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
				       BOOK_SYMBOL_FROM_ORDER))
		d->instrument_defined = instrument;
	if (book_order_add(book, instrument, wire_be64(m + 11), side, wire_be32(m + 32),
			   wire_be32(m + 20), r) == 0 && r != NULL)
		itch50_decoded_order(d, book, r, DECODED_ORDER_ADDED, wire_be64(m + 11));
}

/* Order Replace 'U' (§4.5.3): the old order leaves, the new one enters on the same side. */
static void itch50_replace(struct book *book, struct book_result *r, struct decoded_message *d,
			   const uint8_t *m)
{
	uint64_t old_ref = wire_be64(m + 11), new_ref = wire_be64(m + 19);
	int rc = book_order_replace(book, old_ref, new_ref, wire_be32(m + 31), wire_be32(m + 27), r);

	if (rc == -ENOENT || r == NULL)
		return;
	/* A refused new order: only the old one's leaving happened. */
	itch50_decoded_order(d, book, r, rc == 0 ? DECODED_ORDER_REPLACED : DECODED_ORDER_DELETED,
			     old_ref);
	d->new_ref = new_ref;
}

/* Stock Directory 'R' (§4.2.1): the authoritative name of an instrument. */
static void itch50_directory(struct book *book, struct decoded_message *d, const uint8_t *m)
{
	int32_t instrument = book_instrument_get(book, wire_be16(m + 1), ITCH50_PRICE_DECIMALS);

	if (instrument >= 0 &&
	    book_instrument_symbol_set(book, instrument, (const char *)m + 11, 8,
				       BOOK_SYMBOL_FROM_DIRECTORY))
		d->instrument_defined = instrument;
}

/*
 * Applies one message whose length its type allows; r NULL: nobody listens, so
 * nothing but the book is kept up to date. Inlined at both of its calls, so the path
 * without a listener is compiled with r == NULL folded away.
 */
static inline __attribute__((always_inline)) void itch50_message_dispatch(struct book *book, struct decoder_stats *stats,
				    struct book_result *r, struct decoded_message *d,
				    const uint8_t *m)
{
	switch (m[0]) {
	case 'A':
	case 'F':
		itch50_add(book, stats, r, d, m);
		break;
	case 'E':
	case 'C':
	case 'X':
		itch50_reduce(book, r, d, m);
		break;
	case 'D': /* Order Delete §4.5.2 */
		if (book_order_delete(book, wire_be64(m + 11), r) == 0 && r != NULL)
			itch50_decoded_order(d, book, r, DECODED_ORDER_DELETED, wire_be64(m + 11));
		break;
	case 'U':
		itch50_replace(book, r, d, m);
		break;
	case 'R':
		itch50_directory(book, d, m);
		break;
	case 'H': /* Stock Trading Action §4.2.3 */
		d->status.present = true;
		d->status.state = (char)m[19];
		memcpy(d->status.reason, m + 21, DECODED_STATUS_REASON_MAX);
		break;
	case 'P': /* Trade (non-cross) §4.6.1: against a non-displayed order */
		itch50_decoded_trade(d, DECODED_TRADE_NON_DISPLAYED,
				     m[19] == 'B' ? BOOK_SIDE_BID : BOOK_SIDE_ASK, wire_be64(m + 36),
				     wire_be32(m + 32), wire_be32(m + 20));
		break;
	case 'Q': /* Cross Trade §4.6.2 */
		itch50_decoded_trade(d, DECODED_TRADE_CROSS, DECODED_SIDE_NONE, wire_be64(m + 31),
				     wire_be32(m + 27), wire_be64(m + 11));
		break;
	default: /* no effect on an order-by-order book */
		break;
	}
}

void itch50_message_apply(struct book *book, struct decoder_stats *stats,
			  const struct decoder_listener *listener, const uint8_t *m,
			  uint32_t length)
{
	struct decoded_message d;
	struct book_result r;
	uint8_t type = length > 0 ? m[0] : 0;

	if (length == 0 || length != itch50_lengths[type]) {
		if (length == 0 || itch50_lengths[type] == 0)
			stats->unknown_type++;
		else
			stats->bad_length++;
		if (listener == NULL)
			return;
		/* Skipped, but still a message the packet carried: the listener times it. */
		d.applied = false;
		d.exchange_ts_ns = length >= 11 ? itch50_timestamp(m) : UINT64_MAX;
		listener->message(listener->context, &d);
		return;
	}
	if (listener == NULL || !listener->book_results) {
		itch50_message_dispatch(book, stats, NULL, &d, m);
		d.applied = true;
		d.exchange_ts_ns = itch50_timestamp(m);
	} else {
		itch50_decoded_init(&d, m);
		itch50_message_dispatch(book, stats, &r, &d, m);
	}
	stats->messages++;
	stats->by_type[type]++;
	if (listener != NULL)
		listener->message(listener->context, &d);
}

/* The three stages of one message, as the pipeline calls them. */
static inline void itch50_message_prefetch_stage(const struct book *book, const uint8_t *message,
					  uint32_t length, unsigned stage)
{
	if (stage == 0)
		itch50_message_prefetch(book, message, length);
	else if (stage == 1)
		itch50_message_prefetch_level(book, message, length);
	else
		itch50_message_prefetch_chunk(book, message, length);
}

/* A stage of a pipeline entry: ITCH's own inlined, another decoder's called. */
static inline __attribute__((always_inline)) void itch50_entry_stage(const struct decoder_pipeline_entry *e,
								     unsigned stage)
{
	if (e->prefetch != itch50_message_prefetch_stage)
		decoder_pipeline_entry_stage(e, stage);
	else if (stage == 0)
		itch50_message_prefetch(e->book, e->message, e->length);
	else if (stage == 1)
		itch50_message_prefetch_level(e->book, e->message, e->length);
	else
		itch50_message_prefetch_chunk(e->book, e->message, e->length);
}

struct itch50_apply_context {
	struct book *book;
	struct decoder_stats *stats;
	const struct decoder_listener *listener;
	struct decoder_pipeline *pipeline;
};

static void itch50_block_apply(void *context, const uint8_t *message, uint32_t length)
{
	struct itch50_apply_context *c = context;

	decoder_pipeline_step(c->pipeline, itch50_entry_stage);
	itch50_message_apply(c->book, c->stats, c->listener, message, length);
}

static void itch50_block_prefetch(void *context, const uint8_t *message, uint32_t length)
{
	struct itch50_apply_context *c = context;

	itch50_message_prefetch(c->book, message, length);
}

/*
 * With the burst's pipeline, each message applied prefetches for those further on;
 * a packet on its own prefetches every message's order first, then applies.
 */
static uint32_t itch50_frame_apply(struct book *book, struct decoder_stats *stats,
				   const struct decoder_listener *listener, const uint8_t *payload,
				   uint32_t len, uint32_t skip, struct decoder_pipeline *pipeline)
{
	struct itch50_apply_context context = { book, stats, listener, pipeline };
	uint32_t count = wire_be16(payload + 18);

	assert(len >= MOLDUDP64_HEADER_LEN && count != MOLDUDP64_COUNT_END);
	(void)len;
	if (count > 1 && pipeline == NULL)
		moldudp64_blocks_walk(payload, skip, count, itch50_block_prefetch, &context);
	decoder_pipeline_skip(pipeline, skip);
	return moldudp64_blocks_walk(payload, skip, count, itch50_block_apply, &context);
}

struct itch50_messages_context {
	const struct book *book;
	struct decoder_pipeline *pipeline;
};

static void itch50_block_collect(void *context, const uint8_t *message, uint32_t length)
{
	struct itch50_messages_context *c = context;

	decoder_pipeline_add(c->pipeline, c->book, itch50_message_prefetch_stage, message, length);
}

static void itch50_frame_messages(const uint8_t *payload, uint32_t len, const struct book *book,
				  struct decoder_pipeline *pipeline)
{
	struct itch50_messages_context context = { book, pipeline };
	uint32_t count = wire_be16(payload + 18);

	assert(len >= MOLDUDP64_HEADER_LEN);
	(void)len;
	if (count > 0 && count != MOLDUDP64_COUNT_END)
		moldudp64_blocks_walk(payload, 0, count, itch50_block_collect, &context);
}

/*
 * NASDAQ's recovery: one sequence orders every instrument, so a loss is the feed's;
 * a hole is re-requested over MoldUDP64, a snapshot is a GLIMPSE login.
 */
static const struct recovery_ops itch50_recovery = {
	.scope = RECOVERY_SCOPE_FEED,
	.hole = &moldudp64_request_ops,
	.snapshot = &glimpse_snapshot_ops,
};

const struct decoder_ops itch50_moldudp64_decoder = {
	.protocol = "itch50-moldudp64",
	.recovery = &itch50_recovery,
	.price_decimals = ITCH50_PRICE_DECIMALS,
	.first_seq = MOLDUDP64_FIRST_SEQ,
	.frame_parse = moldudp64_frame_parse,
	.frame_apply = itch50_frame_apply,
	.frame_messages = itch50_frame_messages,
};
