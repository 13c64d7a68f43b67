/*
 * decoder: the interface between the feed layer and one wire protocol. The feed layer
 * owns packets, lines and sequence arbitration; a decoder knows the protocol's packet
 * framing (session, first sequence number, message count), applies each message to
 * the feed's books through book operations, and says what the message did in
 * venue-neutral terms (struct decoded_message) to whoever listens: the feed layer,
 * which times it and hands it to the publisher, which alone builds events. A decoder
 * includes book/ and its own wire helpers, nothing from publish/, feed/ or config/.
 * A protocol is one more `struct decoder_ops`, listed in decoder.c and chosen from
 * the config at start; nothing else in the data path changes.
 */
#ifndef FH_DECODERS_DECODER_H
#define FH_DECODERS_DECODER_H

#include <stdbool.h>
#include <stdint.h>

#include "book/book.h"

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

/* What a message did to the order it names (none: no order event). */
enum decoded_order {
	DECODED_ORDER_NONE = 0,
	DECODED_ORDER_ADDED,		/* book->order entered the book */
	DECODED_ORDER_REDUCED,		/* shares were taken off book->order (executed or cancelled) */
	DECODED_ORDER_DELETED,		/* book->order left the book */
	DECODED_ORDER_REPLACED,		/* ref left the book and new_ref (book->order) entered it */
};

/* What kind of trade a message reports (none: no trade). */
enum decoded_trade {
	DECODED_TRADE_NONE = 0,
	DECODED_TRADE_EXECUTION,	/* a displayed order executed */
	DECODED_TRADE_NON_DISPLAYED,	/* against an order the book does not show */
	DECODED_TRADE_CROSS,		/* an auction's cross */
};

#define DECODED_SIDE_NONE BOOK_SIDES	/* a trade with no resting side (a cross) */
#define DECODED_STATUS_REASON_MAX 4

/*
 * What one message did, in venue-neutral terms. A decoder fills it after applying the
 * message; each part is present or not, and a listener reports them in this order:
 * the instrument's definition, the order, the trade, the trading status, the levels.
 */
struct decoded_message {
	bool applied;			/* false: malformed and skipped (counted in decoder_stats) */
	uint64_t exchange_ts_ns;	/* the venue's time of the message; UINT64_MAX: none readable */
	uint32_t instrument_key;	/* the venue's key of the instrument the message is about */
	int32_t instrument_defined;	/* index of an instrument whose name changed; -1: none */
	uint8_t order;			/* enum decoded_order */
	uint64_t ref;			/* the order's reference (a replace: the old one) */
	uint64_t new_ref;		/* a replace: the new order's reference */
	const struct book_result *book;	/* what the book operation did; NULL: no operation changed the book */
	struct {
		uint8_t kind;		/* enum decoded_trade */
		uint8_t side;		/* the resting order's enum book_side, or DECODED_SIDE_NONE */
		uint64_t match;		/* the venue's match number */
		int64_t price;
		uint64_t shares;
	} trade;
	struct {
		bool present;
		char state;		/* the venue's trading state code */
		char reason[DECODED_STATUS_REASON_MAX];
	} status;
};

/*
 * Who hears what each message did: message() is called once per message the decoder
 * visits, in order. A listener that only times messages leaves book_results false:
 * it then gets applied and exchange_ts_ns alone, and the decoder spares the book the
 * work of recording what each operation changed.
 */
struct decoder_listener {
	void (*message)(void *context, const struct decoded_message *message);
	void *context;
	bool book_results;	/* fill every field of decoded_message */
};

/*
 * The pipeline over a burst: the messages of a burst of packets, found before any of
 * them is applied, so that applying one message can prefetch, in stages, what the
 * messages a few places further on will touch (book.h: the order's slot, then its
 * level, then the chunk). The RX lcore fills it per burst; the decoder steps it once
 * per message it applies. A packet the arbiter holds or drops only makes the hints
 * less exact: a stage is a hint that reads nothing unchecked.
 */
#define DECODER_PIPELINE_MAX 1024	/* messages of one burst looked ahead; the rest go unhelped */
#define DECODER_PREFETCH_STAGES 3
/* How far ahead of the message being applied each stage runs, in messages. */
#define DECODER_PREFETCH_AHEAD_0 16
#define DECODER_PREFETCH_AHEAD_1 8
#define DECODER_PREFETCH_AHEAD_2 4

typedef void (*decoder_prefetch_fn)(const struct book *book, const uint8_t *message,
				    uint32_t length, unsigned stage);

struct decoder_pipeline_entry {
	const uint8_t *message;
	const struct book *book;
	decoder_prefetch_fn prefetch;
	uint32_t length;
};

struct decoder_pipeline {
	uint32_t count;		/* entries of this burst */
	uint32_t cursor;	/* the entry of the message being applied */
	struct decoder_pipeline_entry entries[DECODER_PIPELINE_MAX];
};

/* Appends a message; false when the pipeline is full. */
static inline bool decoder_pipeline_add(struct decoder_pipeline *p, const struct book *book,
					decoder_prefetch_fn prefetch, const uint8_t *message,
					uint32_t length)
{
	struct decoder_pipeline_entry *e;

	if (p->count >= DECODER_PIPELINE_MAX)
		return false;
	e = &p->entries[p->count++];
	e->message = message;
	e->book = book;
	e->prefetch = prefetch;
	e->length = length;
	return true;
}

/* Runs one stage of an entry; a decoder may pass one that inlines its own entries'. */
typedef void (*decoder_stage_fn)(const struct decoder_pipeline_entry *e, unsigned stage);

/* A stage of an entry through the prefetch function of the decoder that added it. */
static inline void decoder_pipeline_entry_stage(const struct decoder_pipeline_entry *e, unsigned stage)
{
	e->prefetch(e->book, e->message, e->length, stage);
}

/*
 * One message is being applied: run each stage on the message its distance ahead,
 * through stage (decoder_pipeline_entry_stage, or a decoder's own inlined dispatch).
 */
static inline __attribute__((always_inline)) void decoder_pipeline_step(struct decoder_pipeline *p,
									decoder_stage_fn stage)
{
	uint32_t at;

	if (p == NULL)
		return;
	at = p->cursor++;
	if (at + DECODER_PREFETCH_AHEAD_0 < p->count)
		stage(&p->entries[at + DECODER_PREFETCH_AHEAD_0], 0);
	if (at + DECODER_PREFETCH_AHEAD_1 < p->count)
		stage(&p->entries[at + DECODER_PREFETCH_AHEAD_1], 1);
	if (at + DECODER_PREFETCH_AHEAD_2 < p->count)
		stage(&p->entries[at + DECODER_PREFETCH_AHEAD_2], 2);
}

/*
 * The first n messages of the packet being applied are not (the other line applied
 * them): the cursor passes over them, so that once a packet is applied the cursor is
 * past all of its entries. The arbiter releases the packet next and may then apply
 * held ones; their steps must not look into the released packet's messages.
 */
static inline void decoder_pipeline_skip(struct decoder_pipeline *p, uint32_t n)
{
	if (p != NULL)
		p->cursor += n;
}

/* Before the burst's first message: stage 0 for the messages the first steps will not reach. */
static inline void decoder_pipeline_start(struct decoder_pipeline *p)
{
	for (uint32_t at = 0; at < DECODER_PREFETCH_AHEAD_0 && at < p->count; at++)
		decoder_pipeline_entry_stage(&p->entries[at], 0);
	p->cursor = 0;
}

struct recovery_ops;

struct decoder_ops {
	const char *protocol;		/* as written in the config */
	const struct recovery_ops *recovery;	/* how the venue recovers losses (recovery.h); NULL: it does not */
	uint8_t price_decimals;		/* scale of the prices it produces */
	uint64_t first_seq;		/* the sequence number a session starts from */
	/*
	 * Validates the framing of a whole packet (counts and lengths agree exactly)
	 * before anything in it is used. 0 and *frame filled, or -EBADMSG.
	 */
	int (*frame_parse)(const uint8_t *payload, uint32_t len, struct decoder_frame *frame);
	/*
	 * Applies the messages of a packet that frame_parse accepted, skipping the first
	 * `skip` (already applied from the other line), and tells listener (NULL: nobody
	 * listens, nothing is built) what each did. Returns the messages visited.
	 */
	uint32_t (*frame_apply)(struct book *book, struct decoder_stats *stats,
				const struct decoder_listener *listener, const uint8_t *payload,
				uint32_t len, uint32_t skip, struct decoder_pipeline *pipeline);
	/*
	 * Appends the messages of a packet frame_parse accepted to the burst's pipeline,
	 * for book (as many as fit). frame_apply then steps it (pipeline NULL: a packet
	 * on its own, prefetched within itself).
	 */
	void (*frame_messages)(const uint8_t *payload, uint32_t len, const struct book *book,
			       struct decoder_pipeline *pipeline);
};

/* The decoder for a protocol named as in the config, or NULL. */
const struct decoder_ops *decoder_find(const char *protocol);

#endif
