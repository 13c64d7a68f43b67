/*
 * moldudp64: NASDAQ MoldUDP64 packet framing (downstream packets). A packet is a
 * 20-byte header (Session 10, Sequence Number 8, Message Count 2) and Message Count
 * blocks of 2-byte length + message. Count 0 is a heartbeat, 0xFFFF end of session.
 */
#ifndef FH_DECODERS_NASDAQ_MOLDUDP64_H
#define FH_DECODERS_NASDAQ_MOLDUDP64_H

#include <assert.h>
#include <stdint.h>

#include "decoders/decoder.h"

#define MOLDUDP64_HEADER_LEN 20
#define MOLDUDP64_SESSION_LEN 10
#define MOLDUDP64_COUNT_END 0xFFFF
#define MOLDUDP64_FIRST_SEQ 1	/* a session's first message */

/*
 * Validates a whole packet: header present; heartbeat and end of session carry
 * nothing after the header; otherwise exactly `count` blocks that end exactly at len.
 * 0 and *frame filled, or -EBADMSG.
 */
int moldudp64_frame_parse(const uint8_t *payload, uint32_t len, struct decoder_frame *frame);

/*
 * Calls apply(context, message, length) for the blocks of a valid packet after the
 * first `skip`. Returns the number of blocks visited.
 */
static inline uint32_t moldudp64_blocks_walk(const uint8_t *payload, uint32_t skip,
					     uint32_t count,
					     void (*apply)(void *context, const uint8_t *message,
							   uint32_t length),
					     void *context)
{
	const uint8_t *p = payload + MOLDUDP64_HEADER_LEN;
	uint32_t i;

	/* A packet frame_parse accepted as data; what the other line delivered is a prefix. */
	assert(count > 0 && count < MOLDUDP64_COUNT_END && skip < count);
	for (i = 0; i < count; i++) {
		uint32_t length = ((uint32_t)p[0] << 8) | p[1];

		if (i >= skip)
			apply(context, p + 2, length);
		p += 2 + length;
	}
	return count > skip ? count - skip : 0;
}

#endif
