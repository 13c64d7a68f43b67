/*
 * publisher: the one place fh_events are built. One per feed, on the RX lcore that
 * owns the feed; the feed layer hands it what each message did (a decoder's
 * venue-neutral struct decoded_message, with the book operation's result) and the
 * packet, gap and session boundaries. It turns the order, trade and status a message
 * reports into their events, the levels the book operation changed into LEVEL_CHANGED
 * events, and one TOP_OF_BOOK when a best price or size moved, and keeps the
 * conflated view current. Publishing is a few stores into a prefaulted ring: no
 * allocation, no lock, no waiting.
 */
#ifndef FH_PUBLISH_PUBLISHER_H
#define FH_PUBLISH_PUBLISHER_H

#include <stdint.h>

#include "book/book.h"
#include "book/util/clock.h"
#include "decoders/decoder.h"
#include "publish/conflated.h"
#include "publish/ring.h"

#define PUBLISHER_DIRTY_MAX 64	/* instruments one packet can touch before all are refreshed */

struct publisher {
	struct pub_ring *ring;
	uint8_t feed;			/* feed index in events */
	uint64_t rx_ts_ns;		/* of the packet being applied */
	uint64_t rx_tsc;		/* TSC when it was received */
	uint64_t ns_per_tsc_q32;	/* ns per TSC tick, 32.32 fixed point */
	uint32_t messages;		/* applied from the current packet */
	struct pub_conflated *view;	/* NULL: no conflated view */
	uint32_t slot_base;		/* this feed's first slot in the view */
	uint32_t dirty_count;		/* instruments touched by the current packet */
	bool dirty_overflow;
	const struct book *book;	/* the feed's books, for the view */
	uint16_t dirty[PUBLISHER_DIRTY_MAX];
};

/* Adds the conflated view: the feed's instruments use slots slot_base + index. */
void publisher_view_set(struct publisher *pub, struct pub_conflated *view, uint32_t slot_base,
			const struct book *book);

/* Sets up a feed's publisher on an RX lcore's ring; tsc_hz: the TSC frequency. */
void publisher_init(struct publisher *pub, struct pub_ring *ring, uint8_t feed, uint64_t tsc_hz);

/* Starts a packet: its receive time (the clock events report) and TSC. */
static inline void publisher_packet_begin(struct publisher *pub, uint64_t rx_ts_ns, uint64_t rx_tsc)
{
	pub->rx_ts_ns = rx_ts_ns;
	pub->rx_tsc = rx_tsc;
	pub->messages = 0;
	pub->dirty_count = 0;
	pub->dirty_overflow = false;
}

/* A claimed event with the common fields filled; publisher_commit sends it. */
static inline struct fh_event *publisher_claim(struct publisher *pub, uint8_t type,
					       uint32_t instrument, uint8_t side,
					       uint64_t exchange_ts_ns)
{
	struct fh_event *e = pub_ring_claim(pub->ring);

	e->type = type;
	e->side = side;
	e->feed = pub->feed;
	e->flags = 0;
	e->instrument = instrument;
	e->exchange_ts_ns = exchange_ts_ns;
	e->rx_ts_ns = pub->rx_ts_ns;
	e->quantity = 0;
	return e;
}

static inline void publisher_commit(struct publisher *pub, struct fh_event *e)
{
	uint64_t ns = clock_tsc_to_ns(clock_tsc() - pub->rx_tsc, pub->ns_per_tsc_q32);

	e->publish_delta_ns = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
	pub_ring_commit(pub->ring, e);
}

/*
 * The events of one message that book (the feed's books) now reflects, in this order:
 * INSTRUMENT_DEFINED for a renamed instrument; the order event; TRADE;
 * TRADING_STATUS; LEVEL_CHANGED for each level the book operation changed; and
 * TOP_OF_BOOK if a best price or size is not what it was before the operation. A
 * skipped message publishes nothing.
 */
void publisher_message(struct publisher *pub, const struct book *book,
		       const struct decoded_message *message);

/* END_OF_PACKET: the books now reflect the packet whose last message is last_seq. */
void publisher_packet_end(struct publisher *pub, uint64_t last_seq);

/* GAP: messages first..first+count-1 were lost; the feed's books may be stale. */
void publisher_gap(struct publisher *pub, uint64_t first, uint64_t count);

/* BOOK_CLEARED: a new session emptied the feed's books. */
void publisher_cleared(struct publisher *pub);

#endif
