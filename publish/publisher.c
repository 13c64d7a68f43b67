/*
 * publisher: book changes into ring events (see publisher.h).
 */
#include "publish/publisher.h"

#include <string.h>

void publisher_init(struct publisher *pub, struct pub_ring *ring, uint8_t feed, uint64_t tsc_hz)
{
	memset(pub, 0, sizeof(*pub));
	pub->ring = ring;
	pub->feed = feed;
	pub->ns_per_tsc_q32 = tsc_hz ? (uint64_t)((1000000000ull << 32) / tsc_hz) : 0;
}

static uint32_t publisher_saturate(uint64_t shares)
{
	return shares > UINT32_MAX ? UINT32_MAX : (uint32_t)shares;
}

static void publisher_top(struct publisher *pub, const struct book *book, int32_t index,
			  uint64_t exchange_ts_ns)
{
	const struct book_instrument *in = &book->instruments[index];
	const struct book_levels *bid = &in->sides[BOOK_SIDE_BID], *ask = &in->sides[BOOK_SIDE_ASK];
	struct fh_event *e = publisher_claim(pub, FH_EVENT_TOP_OF_BOOK, in->key, FH_SIDE_NONE,
					     exchange_ts_ns);

	e->body.top.bid_price = bid->count ? book_level_price(bid, BOOK_SIDE_BID, 0) : INT64_MIN;
	e->body.top.ask_price = ask->count ? book_level_price(ask, BOOK_SIDE_ASK, 0) : INT64_MIN;
	e->body.top.bid_shares = bid->count ? publisher_saturate(bid->shares[bid->count - 1]) : 0;
	e->body.top.ask_shares = ask->count ? publisher_saturate(ask->shares[ask->count - 1]) : 0;
	publisher_commit(pub, e);
}

void publisher_levels(struct publisher *pub, struct book *book, uint64_t exchange_ts_ns)
{
	int32_t top = -1;

	for (uint32_t i = 0; i < book->changes_count; i++) {
		const struct book_change *c = &book->changes[i];
		struct fh_event *e = publisher_claim(pub, FH_EVENT_LEVEL_CHANGED,
						     book->instruments[c->instrument].key, c->side,
						     exchange_ts_ns);

		e->body.level.price = c->price;
		e->body.level.shares = c->shares;
		e->body.level.orders = c->orders;
		e->body.level.reserved = 0;
		publisher_commit(pub, e);
		if (c->best)
			top = c->instrument;
	}
	book->changes_count = 0;
	if (top >= 0)
		publisher_top(pub, book, top, exchange_ts_ns);
}

void publisher_instrument(struct publisher *pub, const struct book *book, int32_t index,
			  uint64_t exchange_ts_ns)
{
	const struct book_instrument *in = &book->instruments[index];
	struct fh_event *e = publisher_claim(pub, FH_EVENT_INSTRUMENT_DEFINED, in->key, FH_SIDE_NONE,
					     exchange_ts_ns);

	memset(&e->body, 0, sizeof(e->body));
	memcpy(e->body.instrument.symbol, in->symbol, in->symbol_len);
	e->body.instrument.price_decimals = in->price_decimals;
	publisher_commit(pub, e);
}

void publisher_packet_end(struct publisher *pub, uint64_t last_seq)
{
	struct fh_event *e = publisher_claim(pub, FH_EVENT_END_OF_PACKET, 0, FH_SIDE_NONE, 0);

	memset(&e->body, 0, sizeof(e->body));
	e->body.packet.last_seq = last_seq;
	e->body.packet.messages = pub->messages;
	publisher_commit(pub, e);
}

void publisher_gap(struct publisher *pub, uint64_t first, uint64_t count)
{
	struct fh_event *e = publisher_claim(pub, FH_EVENT_GAP, 0, FH_SIDE_NONE, 0);

	memset(&e->body, 0, sizeof(e->body));
	e->body.gap.first = first;
	e->body.gap.count = count;
	publisher_commit(pub, e);
}

void publisher_cleared(struct publisher *pub)
{
	struct fh_event *e = publisher_claim(pub, FH_EVENT_BOOK_CLEARED, 0, FH_SIDE_NONE, 0);

	memset(&e->body, 0, sizeof(e->body));
	publisher_commit(pub, e);
}

void publisher_stop(struct pub_ring *ring)
{
	struct fh_event *e = pub_ring_claim(ring);

	memset((uint8_t *)e + sizeof(e->seq), 0, sizeof(*e) - sizeof(e->seq));
	e->type = FH_EVENT_STOP;
	pub_ring_commit(ring, e);
}
