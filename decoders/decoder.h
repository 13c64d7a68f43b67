/*
 * decoder: the interface between the feed layer and one wire protocol. The feed layer
 * owns packets, lines and sequence arbitration; a decoder knows the protocol's packet
 * framing (session, first sequence number, message count) and turns messages into
 * book operations. A protocol is one more `struct decoder_ops`, chosen from the
 * config at start; nothing else in the data path changes.
 */
#ifndef FH_DECODERS_DECODER_H
#define FH_DECODERS_DECODER_H

#include <stdbool.h>
#include <stdint.h>

#include "book/book.h"
#include "config/config.h"

struct publisher;
struct hist;

#define DECODER_SESSION_MAX 16

enum decoder_frame_kind {
	DECODER_FRAME_DATA,		/* carries count messages from seq on */
	DECODER_FRAME_HEARTBEAT,	/* no messages; seq is the next expected */
	DECODER_FRAME_END,		/* end of session; seq is the next expected */
};

struct decoder_frame {
	enum decoder_frame_kind kind;
	uint64_t seq;		/* sequence number of the first message (or next expected) */
	uint32_t count;		/* messages in the packet (0 for heartbeat and end) */
	uint8_t session_len;
	char session[DECODER_SESSION_MAX];
};

/* Message outcomes per feed; book refusals are counted in struct book_stats. */
struct decoder_stats {
	uint64_t messages;		/* messages decoded and applied */
	uint64_t unknown_type;		/* skipped: type not in the protocol */
	uint64_t bad_length;		/* skipped: length does not match the type */
	uint64_t bad_field;		/* skipped: a field value the protocol does not allow */
	uint64_t by_type[256];		/* messages applied, by type byte */
};

/* Per-message timing a decoder records when the feed layer asks for it. */
struct decoder_latency {
	struct hist *message_ns;	/* RX → message applied and published, one value a message */
	uint64_t rx_tsc;		/* the packet's RX TSC */
	uint64_t ns_per_tsc_q32;	/* ns per TSC tick, 32.32 fixed point */
	uint64_t exchange_ts_ns;	/* out: the first applied message's exchange timestamp,
					 * UINT64_MAX if none applied */
};

struct decoder_ops {
	const char *protocol;		/* as written in the config */
	uint8_t price_decimals;		/* scale of the prices it produces */
	/*
	 * Validates the framing of a whole packet (counts and lengths agree exactly)
	 * before anything in it is used. 0 and *frame filled, or -EBADMSG.
	 */
	int (*frame_parse)(const uint8_t *payload, uint32_t len, struct decoder_frame *frame);
	/*
	 * Applies the messages of a packet that frame_parse accepted, skipping the first
	 * `skip` (already applied from the other line), publishes what changed through
	 * pub (NULL: not publishing) and times each message into latency (NULL: not
	 * timing). Returns messages applied.
	 */
	uint32_t (*frame_apply)(struct book *book, struct decoder_stats *stats,
				struct publisher *pub, struct decoder_latency *latency,
				const uint8_t *payload, uint32_t len, uint32_t skip);
};

/* The decoder for a configured protocol, or NULL. */
const struct decoder_ops *decoder_find(enum cfg_protocol protocol);

#endif
