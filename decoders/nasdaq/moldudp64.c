/*
 * moldudp64: framing validation (see moldudp64.h). Nothing in a packet is trusted
 * until the whole of it has been walked and found consistent.
 */
#include "decoders/nasdaq/moldudp64.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "book/util/wire.h"

int moldudp64_frame_parse(const uint8_t *payload, uint32_t len, struct decoder_frame *frame)
{
	const uint8_t *p, *end = payload + len;
	uint32_t count;

	if (len < MOLDUDP64_HEADER_LEN)
		return -EBADMSG;
	count = wire_be16(payload + 18);
	frame->seq = wire_be64(payload + 10);
	frame->session_len = MOLDUDP64_SESSION_LEN;
	memcpy(frame->session, payload, MOLDUDP64_SESSION_LEN);
	if (count == 0 || count == MOLDUDP64_COUNT_END) {
		if (len != MOLDUDP64_HEADER_LEN)
			return -EBADMSG;
		frame->kind = count == 0 ? DECODER_FRAME_HEARTBEAT : DECODER_FRAME_END;
		frame->count = 0;
		return 0;
	}
	/* A sequence range that wraps is not a real session. */
	if (frame->seq == 0 || frame->seq + count < frame->seq)
		return -EBADMSG;
	p = payload + MOLDUDP64_HEADER_LEN;
	for (uint32_t i = 0; i < count; i++) {
		uint32_t length;

		if (end - p < 2)
			return -EBADMSG;
		length = ((uint32_t)p[0] << 8) | p[1];
		if ((uint32_t)(end - p - 2) < length)
			return -EBADMSG;
		p += 2 + length;
	}
	if (p != end)
		return -EBADMSG;
	/* A data packet: 1..0xFFFE messages filling the payload exactly, seq + count no wrap. */
	assert(count > 0 && count < MOLDUDP64_COUNT_END && frame->seq + count > frame->seq);
	frame->kind = DECODER_FRAME_DATA;
	frame->count = count;
	return 0;
}
