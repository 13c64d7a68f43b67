/*
 * itch50: ITCH 5.0 message decoding (see itch50.h). Field offsets are those of the
 * ITCH 5.0 specification, section 4 (shared/docs/itch50-moldudp64.md): every message
 * opens with Message Type (1), Stock Locate (2), Tracking Number (2), Timestamp (6).
 */
#include "decoders/itch50.h"

#include "decoders/moldudp64.h"
#include "decoders/wire.h"

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

/* Add Order 'A' and 'F' (§4.3.1, §4.3.2): the Stock field names the instrument if nothing else has. */
static void itch50_add(struct book *book, struct decoder_stats *stats, const uint8_t *m)
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
	if (book->instruments[instrument].symbol_source == BOOK_SYMBOL_NONE)
		book_instrument_symbol_set(book, instrument, (const char *)m + 24, 8,
					   BOOK_SYMBOL_FROM_ORDER);
	book_order_add(book, instrument, wire_be64(m + 11), side, wire_be32(m + 32),
		       wire_be32(m + 20));
}

void itch50_message_apply(struct book *book, struct decoder_stats *stats, const uint8_t *m,
			  uint32_t length)
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
	switch (type) {
	case 'A':
	case 'F':
		itch50_add(book, stats, m);
		break;
	case 'E': /* Order Executed §4.4.1 */
	case 'C': /* Order Executed With Price §4.4.2 */
	case 'X': /* Order Cancel §4.5.1 */
		book_order_reduce(book, wire_be64(m + 11), wire_be32(m + 19));
		break;
	case 'D': /* Order Delete §4.5.2 */
		book_order_delete(book, wire_be64(m + 11));
		break;
	case 'U': /* Order Replace §4.5.3 */
		book_order_replace(book, wire_be64(m + 11), wire_be64(m + 19), wire_be32(m + 31),
				   wire_be32(m + 27));
		break;
	case 'R': /* Stock Directory §4.2.1 */
		instrument = book_instrument_get(book, wire_be16(m + 1), ITCH50_PRICE_DECIMALS);
		if (instrument >= 0)
			book_instrument_symbol_set(book, instrument, (const char *)m + 11, 8,
						   BOOK_SYMBOL_FROM_DIRECTORY);
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
};

static void itch50_block_apply(void *context, const uint8_t *message, uint32_t length)
{
	struct itch50_apply_context *c = context;

	itch50_message_apply(c->book, c->stats, message, length);
}

static void itch50_block_prefetch(void *context, const uint8_t *message, uint32_t length)
{
	struct itch50_apply_context *c = context;

	itch50_message_prefetch(c->book, message, length);
}

/* Prefetches every message's order first, then applies: the misses overlap. */
static uint32_t itch50_frame_apply(struct book *book, struct decoder_stats *stats,
				   const uint8_t *payload, uint32_t len, uint32_t skip)
{
	struct itch50_apply_context context = { book, stats };
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
