/*
 * itch50: NASDAQ TotalView-ITCH 5.0 messages into book operations. Every message type
 * of the specification is recognised and length-checked; the order messages (A F E C
 * X D U) change the book, the Stock Directory (R) names instruments, the rest is
 * counted. A message of unknown type or with a length other than its type's is
 * counted and skipped; nothing in it is used.
 */
#ifndef FH_DECODERS_ITCH50_H
#define FH_DECODERS_ITCH50_H

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
 * Starts loading the order-table slots a message will touch. Applying a message costs
 * mostly one cache miss on its order; issuing the loads of the next few messages
 * before applying the current one overlaps those misses.
 */
static inline void itch50_message_prefetch(const struct book *book, const uint8_t *m,
					   uint32_t length)
{
	uint64_t ref;

	if (length < 19)
		return;
	switch (m[0]) {
	case 'U':
		if (length >= 27)
			__builtin_prefetch(&book->orders.slots[wire_be64(m + 19) &
					   book->orders.mask], 1);
		/* fall through */
	case 'A':
	case 'F':
	case 'E':
	case 'C':
	case 'X':
	case 'D':
		ref = wire_be64(m + 11);
		__builtin_prefetch(&book->orders.slots[ref & book->orders.mask], 1);
		break;
	default:
		break;
	}
}

extern const struct decoder_ops itch50_moldudp64_decoder;

#endif
