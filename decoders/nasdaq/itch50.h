/*
 * itch50: NASDAQ TotalView-ITCH 5.0 messages into book operations. Every message type
 * of the specification is recognised and length-checked; the order messages (A F E C
 * X D U) change the book, the Stock Directory (R) names instruments, the rest is
 * counted. A message of unknown type or with a length other than its type's is
 * counted and skipped; nothing in it is used.
 */
#ifndef FH_DECODERS_NASDAQ_ITCH50_H
#define FH_DECODERS_NASDAQ_ITCH50_H

#include <stdbool.h>
#include <stdint.h>

#include "book/book.h"
#include "decoders/decoder.h"
#include "book/util/wire.h"

#define ITCH50_PRICE_DECIMALS 4	/* Price(4) */

/* The length of a message of this type, or 0 for a type ITCH 5.0 does not have. */
uint32_t itch50_message_length(uint8_t type);

/*
 * Decodes one message and applies it to the book, counting the outcome, and tells
 * listener (NULL: nobody listens) what it did.
 */
void itch50_message_apply(struct book *book, struct decoder_stats *stats,
			  const struct decoder_listener *listener, const uint8_t *message,
			  uint32_t length);

/*
 * Prefetching a few messages ahead, in three stages (book.h): applying a message costs
 * mostly cache misses on its order, then its level, then, when a level comes or goes,
 * its side's chunk. Stage 1 loads what the message names (its order's slot; for an
 * add, the hash slot of its level); stage 2, on a nearer message, what stage 1 brought
 * in points at (the level, or the side a new level goes in); stage 3, nearer still,
 * the chunk an emptied level leaves. All read the message only within length.
 */
static inline __attribute__((always_inline)) void itch50_message_prefetch(const struct book *book, const uint8_t *m,
					   uint32_t length)
{
	if (length < 19)
		return;
	switch (m[0]) {
	case 'U':
		if (length >= 27)
			book_prefetch_order(book, wire_be64(m + 19));
		/* fall through */
	case 'E':
	case 'C':
	case 'X':
	case 'D':
		book_prefetch_order(book, wire_be64(m + 11));
		break;
	case 'A':
	case 'F':
		book_prefetch_order(book, wire_be64(m + 11));
		if (length >= 36)
			book_prefetch_level_slot(book, wire_be16(m + 1), m[19] == 'S', wire_be32(m + 32));
		break;
	default:
		break;
	}
}

/* True for a message that names a live order at offset 11: E C X D U. */
static inline bool itch50_names_order(const uint8_t *m, uint32_t length)
{
	return length >= 19 && (m[0] == 'E' || m[0] == 'C' || m[0] == 'X' || m[0] == 'D' || m[0] == 'U');
}

static inline __attribute__((always_inline)) void itch50_message_prefetch_level(const struct book *book,
									    const uint8_t *m,
									    uint32_t length)
{
	if (itch50_names_order(m, length))
		book_prefetch_order_level(book, wire_be64(m + 11));
	else if (length >= 36 && (m[0] == 'A' || m[0] == 'F'))
		book_prefetch_level(book, wire_be16(m + 1), m[19] == 'S', wire_be32(m + 32));
}

static inline __attribute__((always_inline)) void itch50_message_prefetch_chunk(const struct book *book,
									    const uint8_t *m,
									    uint32_t length)
{
	if (itch50_names_order(m, length)) {
		book_prefetch_order_chunk(book, wire_be64(m + 11));
		if (m[0] == 'U' && length >= 35)
			book_prefetch_replace_slot(book, wire_be64(m + 11), wire_be32(m + 31));
	} else if (length >= 36 && (m[0] == 'A' || m[0] == 'F'))
		book_prefetch_new_level_chunk(book, wire_be16(m + 1), m[19] == 'S', wire_be32(m + 32));
}

extern const struct decoder_ops itch50_moldudp64_decoder;

#endif
