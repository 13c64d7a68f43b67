/*
 * publisher: book changes into ring events (see publisher.h).
 */
#include "publish/publisher.h"

#include <assert.h>
#include <string.h>

void publisher_init(struct publisher *pub, struct pub_ring *ring, uint8_t feed, uint64_t tsc_hz)
{
	memset(pub, 0, sizeof(*pub));
	pub->ring = ring;
	pub->feed = feed;
	pub->ns_per_tsc_q32 = clock_tsc_q32(tsc_hz);
}

void publisher_view_set(struct publisher *pub, struct pub_conflated *view, uint32_t slot_base,
			const struct book *book)
{
	pub->view = view;
	pub->slot_base = slot_base;
	pub->book = book;
}

/* Remembers an instrument the packet touched, for the conflated view. */
static void publisher_dirty(struct publisher *pub, uint16_t instrument)
{
	for (uint32_t i = pub->dirty_count; i > 0; i--)
		if (pub->dirty[i - 1] == instrument)
			return;
	if (pub->dirty_count == PUBLISHER_DIRTY_MAX)
		pub->dirty_overflow = true;
	else
		pub->dirty[pub->dirty_count++] = instrument;
}

static uint32_t publisher_saturate(uint64_t shares)
{
	return shares > UINT32_MAX ? UINT32_MAX : (uint32_t)shares;
}

/* True if a top says what another said: prices, and shares as published (saturated). */
static bool publisher_top_same(const struct book_top *a, const struct book_top *b)
{
	for (int side = 0; side < BOOK_SIDES; side++)
		if (a->price[side] != b->price[side] ||
		    publisher_saturate(a->shares[side]) != publisher_saturate(b->shares[side]))
			return false;
	return true;
}

/* TOP_OF_BOOK for an instrument whose best level changed, unless its top is as it was. */
static void publisher_top(struct publisher *pub, const struct book *book,
			  const struct book_result *result, int32_t index, uint64_t exchange_ts_ns)
{
	struct book_top now;
	struct fh_event *e;

	book_top_get(book, index, &now);
	/* A replace in place, or an order of 0 shares, leaves price and size as they were. */
	if (result->top_before.instrument == index && publisher_top_same(&now, &result->top_before))
		return;
	e = publisher_claim(pub, FH_EVENT_TOP_OF_BOOK, book->instruments[index].key, FH_SIDE_NONE,
			    exchange_ts_ns);
	e->body.top.bid_price = now.price[BOOK_SIDE_BID];
	e->body.top.ask_price = now.price[BOOK_SIDE_ASK];
	e->body.top.bid_shares = publisher_saturate(now.shares[BOOK_SIDE_BID]);
	e->body.top.ask_shares = publisher_saturate(now.shares[BOOK_SIDE_ASK]);
	publisher_commit(pub, e);
}

/* LEVEL_CHANGED for every level an operation changed, then TOP_OF_BOOK if a best one moved. */
static void publisher_levels(struct publisher *pub, const struct book *book,
			     const struct book_result *result, uint64_t exchange_ts_ns)
{
	int32_t top = -1;

	assert(result->changes_count <= BOOK_CHANGES_MAX);
	for (uint32_t i = 0; i < result->changes_count; i++) {
		const struct book_change *c = &result->changes[i];
		struct fh_event *e = publisher_claim(pub, FH_EVENT_LEVEL_CHANGED,
						     book->instruments[c->instrument].key, c->side,
						     exchange_ts_ns);

		assert(c->instrument < book->instruments_count && c->side < BOOK_SIDES);
		e->body.level.price = c->price;
		e->body.level.shares = c->shares;
		e->body.level.orders = c->orders;
		e->body.level.reserved = 0;
		publisher_commit(pub, e);
		if (c->best)
			top = c->instrument;
		if (pub->view != NULL)
			publisher_dirty(pub, c->instrument);
	}
	if (top >= 0)
		publisher_top(pub, book, result, top, exchange_ts_ns);
}

/* INSTRUMENT_DEFINED for an instrument whose symbol changed. */
static void publisher_instrument(struct publisher *pub, const struct book *book, int32_t index,
				 uint64_t exchange_ts_ns)
{
	const struct book_instrument *in = &book->instruments[index];
	struct fh_event *e;

	assert(index >= 0 && (uint32_t)index < book->instruments_count);
	e = publisher_claim(pub, FH_EVENT_INSTRUMENT_DEFINED, in->key, FH_SIDE_NONE, exchange_ts_ns);
	memset(&e->body, 0, sizeof(e->body));
	memcpy(e->body.instrument.symbol, in->symbol, in->symbol_len);
	e->body.instrument.price_decimals = in->price_decimals;
	publisher_commit(pub, e);
	/* A new name with no level change must still reach the conflated view. */
	if (pub->view != NULL)
		publisher_dirty(pub, (uint16_t)index);
}

_Static_assert((int)FH_SIDE_BID == (int)BOOK_SIDE_BID && (int)FH_SIDE_ASK == (int)BOOK_SIDE_ASK &&
	       (int)FH_SIDE_NONE == (int)DECODED_SIDE_NONE,
	       "a book side is its event side");

/* The order event of a message: the book's order as the operation left it. */
static void publisher_order(struct publisher *pub, const struct decoded_message *d)
{
	const struct book_order_info *o = &d->book->order;
	struct fh_event *e;

	if (d->order == DECODED_ORDER_REPLACED) {
		e = publisher_claim(pub, FH_EVENT_ORDER_REPLACED, d->instrument_key, o->side,
				    d->exchange_ts_ns);
		e->quantity = o->shares;
		e->body.replace.old_ref = d->ref;
		e->body.replace.new_ref = d->new_ref;
		e->body.replace.price = o->price;
		publisher_commit(pub, e);
		return;
	}
	assert(d->order == DECODED_ORDER_ADDED || d->order == DECODED_ORDER_REDUCED ||
	       d->order == DECODED_ORDER_DELETED);
	assert(o->remaining <= o->shares);
	e = publisher_claim(pub, d->order == DECODED_ORDER_ADDED ? FH_EVENT_ORDER_ADDED :
			    d->order == DECODED_ORDER_REDUCED ? FH_EVENT_ORDER_REDUCED :
			    FH_EVENT_ORDER_DELETED, d->instrument_key, o->side, d->exchange_ts_ns);
	/* Added: the shares it entered with; reduced: what was taken; deleted: what rested. */
	e->quantity = d->order == DECODED_ORDER_REDUCED ? o->shares - o->remaining : o->shares;
	e->body.order.ref = d->ref;
	e->body.order.price = o->price;
	e->body.order.remaining = o->remaining;
	e->body.order.reserved = 0;
	publisher_commit(pub, e);
}

static void publisher_trade(struct publisher *pub, const struct decoded_message *d)
{
	static const uint8_t flags[] = {
		[DECODED_TRADE_EXECUTION] = FH_FLAG_TRADE_EXECUTION,
		[DECODED_TRADE_NON_DISPLAYED] = FH_FLAG_TRADE_NON_DISPLAYED,
		[DECODED_TRADE_CROSS] = FH_FLAG_TRADE_CROSS,
	};
	struct fh_event *e;

	assert(d->trade.kind > DECODED_TRADE_NONE && d->trade.kind <= DECODED_TRADE_CROSS);
	assert(d->trade.side <= DECODED_SIDE_NONE);
	e = publisher_claim(pub, FH_EVENT_TRADE, d->instrument_key, d->trade.side, d->exchange_ts_ns);
	e->flags = flags[d->trade.kind];
	e->quantity = publisher_saturate(d->trade.shares);
	e->body.trade.match = d->trade.match;
	e->body.trade.price = d->trade.price;
	e->body.trade.reserved = 0;
	publisher_commit(pub, e);
}

static void publisher_status(struct publisher *pub, const struct decoded_message *d)
{
	struct fh_event *e = publisher_claim(pub, FH_EVENT_TRADING_STATUS, d->instrument_key,
					     FH_SIDE_NONE, d->exchange_ts_ns);

	_Static_assert(sizeof(e->body.status.reason) == DECODED_STATUS_REASON_MAX,
		       "a status reason is the decoder's");
	memset(&e->body, 0, sizeof(e->body));
	e->body.status.state = d->status.state;
	memcpy(e->body.status.reason, d->status.reason, sizeof(e->body.status.reason));
	publisher_commit(pub, e);
}

void publisher_message(struct publisher *pub, const struct book *book,
		       const struct decoded_message *d)
{
	if (!d->applied)
		return;
	pub->messages++;
	if (d->instrument_defined >= 0)
		publisher_instrument(pub, book, d->instrument_defined, d->exchange_ts_ns);
	if (d->order != DECODED_ORDER_NONE)
		publisher_order(pub, d);
	if (d->trade.kind != DECODED_TRADE_NONE)
		publisher_trade(pub, d);
	if (d->status.present)
		publisher_status(pub, d);
	if (d->book != NULL)
		publisher_levels(pub, book, d->book, d->exchange_ts_ns);
}

void publisher_packet_end(struct publisher *pub, uint64_t last_seq)
{
	struct fh_event *e = publisher_claim(pub, FH_EVENT_END_OF_PACKET, 0, FH_SIDE_NONE, 0);

	memset(&e->body, 0, sizeof(e->body));
	e->body.packet.last_seq = last_seq;
	e->body.packet.messages = pub->messages;
	publisher_commit(pub, e);
	if (pub->view == NULL)
		return;
	/* The books are consistent with the packet: refresh what it touched. */
	if (pub->dirty_overflow) {
		for (uint32_t i = 0; i < pub->book->instruments_count; i++)
			pub_conflated_update(pub->view, pub->slot_base + i, pub->feed, pub->book,
					     (int32_t)i, pub->ring->head);
	} else {
		for (uint32_t i = 0; i < pub->dirty_count; i++)
			pub_conflated_update(pub->view, pub->slot_base + pub->dirty[i], pub->feed,
					     pub->book, pub->dirty[i], pub->ring->head);
	}
	pub->dirty_count = 0;
	pub->dirty_overflow = false;
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
	if (pub->view != NULL)
		pub_conflated_clear(pub->view, pub->slot_base, pub->book->instruments_max);
	pub->dirty_count = 0;
}
