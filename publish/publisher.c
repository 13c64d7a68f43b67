/*
 * publisher: book changes into ring events (see publisher.h).
 */
#include "publish/publisher.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "book/util/memory.h"

void publisher_init(struct publisher *pub, struct pub_ring *ring, uint8_t feed, uint64_t tsc_hz)
{
	memset(pub, 0, sizeof(*pub));	/* also prefaults the scratch tables */
	pub->ring = ring;
	pub->feed = feed;
	pub->views = PUBLISHER_VIEWS_ALL;
	pub->generation = 1;	/* hash slots of generation 0 are free */
	pub->ns_per_tsc_q32 = clock_tsc_q32(tsc_hz);
}

int publisher_states_make(struct publisher_states *states, uint32_t instruments_max)
{
	memset(states, 0, sizeof(*states));
	states->state = memory_alloc(instruments_max > 0 ? instruments_max : 1);
	if (states->state == NULL)
		return -ENOMEM;
	states->instruments_max = instruments_max;
	return 0;
}

void publisher_states_free(struct publisher_states *states)
{
	if (states->state != NULL)
		memory_free(states->state, states->instruments_max > 0 ? states->instruments_max : 1);
	memset(states, 0, sizeof(*states));
}

void publisher_states_set(struct publisher *pub, const struct publisher_states *states,
			  const struct book *book)
{
	assert(states == NULL || book != NULL);
	pub->states = states;
	pub->book = book;
}

uint8_t publisher_instrument_flags(const struct publisher *pub, uint32_t key)
{
	int32_t index = book_instrument_find(pub->book, key);
	uint8_t own;

	if (index < 0 || (uint32_t)index >= pub->states->instruments_max)
		return pub->state_flags;	/* an event about no instrument the book holds */
	own = (uint8_t)(pub->states->state[index] << FH_FLAG_BOOK_SHIFT);
	return own > pub->state_flags ? own : pub->state_flags;
}

void publisher_view_set(struct publisher *pub, struct pub_conflated *view, uint32_t slot_base,
			const struct book *book)
{
	pub->view = (pub->views & PUBLISHER_VIEW_LEVELS) ? view : NULL;
	pub->slot_base = slot_base;
	pub->book = book;
}

void publisher_views_set(struct publisher *pub, uint8_t views)
{
	assert(views != 0 && (views & ~PUBLISHER_VIEWS_ALL) == 0);
	assert(pub->levels_count == 0 && pub->instruments_count == 0);	/* between packets */
	pub->views = views;
	if (!(views & PUBLISHER_VIEW_LEVELS))
		pub->view = NULL;
}

/* --- the per-packet scratch: a hash over (instrument, kind, price) into two tables --- */

static uint32_t publisher_hash(uint16_t instrument, uint8_t kind, int64_t price)
{
	uint64_t h = ((uint64_t)price * 0x9e3779b97f4a7c15ull) ^
		     (((uint64_t)instrument << 2 | kind) * 0xc2b2ae3d27d4eb4full);

	return (uint32_t)(h >> 40) & (PUBLISHER_HASH_SLOTS - 1);
}

static bool publisher_slot_is(const struct publisher *pub, const struct publisher_slot *slot,
			      uint16_t instrument, uint8_t kind, int64_t price)
{
	if (slot->kind != kind)
		return false;
	if (kind == BOOK_SIDES)
		return pub->instruments[slot->entry].instrument == instrument;
	return pub->levels[slot->entry].instrument == instrument &&
	       pub->levels[slot->entry].price == price;
}

/*
 * The slot holding (instrument, kind, price) in this generation, or the free slot
 * where it goes. The table is at most 3/8 full, so the probe ends within its size.
 */
static struct publisher_slot *publisher_slot_find(struct publisher *pub, uint16_t instrument,
						  uint8_t kind, int64_t price)
{
	uint32_t h = publisher_hash(instrument, kind, price);

	for (uint32_t probe = 0; probe < PUBLISHER_HASH_SLOTS; probe++) {
		struct publisher_slot *slot = &pub->hash[(h + probe) & (PUBLISHER_HASH_SLOTS - 1)];

		if (slot->generation != pub->generation ||
		    publisher_slot_is(pub, slot, instrument, kind, price))
			return slot;
	}
	assert(!"publisher hash full");	/* bounded by the tables' sizes: a bug */
	return NULL;
}

/* Marks a free hash slot as holding entry `entry` (of levels or, kind BOOK_SIDES, instruments). */
static void publisher_slot_take(struct publisher *pub, struct publisher_slot *slot, uint8_t kind,
				uint16_t entry)
{
	assert(slot->generation != pub->generation);
	slot->generation = pub->generation;
	slot->kind = kind;
	slot->entry = entry;
}

/*
 * Past PUBLISHER_SCAN_INSTRUMENTS pending instruments, instruments are looked up in the
 * hash: those pending so far are entered into it once, later ones as they come. Out
 * of line: at most once a packet, and inlined it costs publisher_instrument_pending,
 * called per operation, registers saved on every call.
 */
static __attribute__((noinline)) void publisher_instruments_hash(struct publisher *pub)
{
	assert(pub->instruments_count == PUBLISHER_SCAN_INSTRUMENTS + 1);
	for (uint32_t i = 0; i < pub->instruments_count; i++)
		publisher_slot_take(pub, publisher_slot_find(pub, pub->instruments[i].instrument,
							     BOOK_SIDES, 0),
				    BOOK_SIDES, (uint16_t)i);
}

/* The same for an instrument's levels, past PUBLISHER_SCAN_LEVELS of them. */
static void publisher_levels_hash(struct publisher *pub, struct publisher_instrument *pi)
{
	assert(pi->levels_count == PUBLISHER_SCAN_LEVELS + 1);
	/* Each step goes to a later entry: bounded by levels_count. */
	for (uint16_t l = pi->first_level; l != PUBLISHER_NONE; l = pub->levels[l].next) {
		const struct publisher_level *pl = &pub->levels[l];

		assert(l < pub->levels_count);
		publisher_slot_take(pub, publisher_slot_find(pub, pl->instrument, pl->side, pl->price),
				    pl->side, l);
	}
}

/*
 * The pending entry of an instrument, or NULL with *slot where a new one goes (NULL
 * while instruments are scanned). The few entries a packet usually touches are
 * scanned, on cache lines just written, where the hash's slots are spread over 8 KB.
 */
static struct publisher_instrument *publisher_instrument_find(struct publisher *pub,
							      uint16_t instrument,
							      struct publisher_slot **slot)
{
	*slot = NULL;
	if (!publisher_instruments_hashed(pub)) {
		for (uint32_t i = 0; i < pub->instruments_count; i++)
			if (pub->instruments[i].instrument == instrument)
				return &pub->instruments[i];
		return NULL;
	}
	*slot = publisher_slot_find(pub, instrument, BOOK_SIDES, 0);
	return (*slot)->generation == pub->generation ? &pub->instruments[(*slot)->entry] : NULL;
}

/* The pending entry of an instrument, made if new (the caller checked there is room). */
static struct publisher_instrument *publisher_instrument_pending(struct publisher *pub,
								 uint16_t instrument)
{
	struct publisher_slot *slot;
	struct publisher_instrument *pi = publisher_instrument_find(pub, instrument, &slot);
	uint16_t entry = (uint16_t)pub->instruments_count;

	if (pi != NULL)
		return pi;
	assert(pub->instruments_count < PUBLISHER_INSTRUMENTS_MAX);
	if (slot != NULL)
		publisher_slot_take(pub, slot, BOOK_SIDES, entry);
	pi = &pub->instruments[pub->instruments_count++];
	pi->instrument = instrument;
	pi->top_known = 0;
	pi->best = 0;
	pi->exchange_ts_ns = 0;
	pi->first_level = pi->last_level = PUBLISHER_NONE;
	pi->levels_count = 0;
	pub_conflated_change_init(&pi->view);
	if (pub->instruments_count == PUBLISHER_SCAN_INSTRUMENTS + 1)
		publisher_instruments_hash(pub);	/* the switch: from now on, the hash */
	return pi;
}

/* A pending level of instrument pi (its list scanned, or the hash), as publisher_instrument_find. */
static struct publisher_level *publisher_level_find(struct publisher *pub,
						    const struct publisher_instrument *pi,
						    const struct book_change *c,
						    struct publisher_slot **slot)
{
	*slot = NULL;
	if (!publisher_levels_hashed(pi)) {
		/* At most PUBLISHER_SCAN_LEVELS steps, each to a later entry. */
		for (uint16_t l = pi->first_level; l != PUBLISHER_NONE; l = pub->levels[l].next) {
			struct publisher_level *pl = &pub->levels[l];

			assert(l < pub->levels_count && pl->instrument == c->instrument);
			if (pl->price == c->price && pl->side == c->side)
				return pl;
		}
		return NULL;
	}
	*slot = publisher_slot_find(pub, c->instrument, c->side, c->price);
	return (*slot)->generation == pub->generation ? &pub->levels[(*slot)->entry] : NULL;
}

/* Notes a level's state after an operation: a new pending level, or its newer state. */
static void publisher_level_pending(struct publisher *pub, const struct book_change *c,
				    uint16_t pending, uint64_t exchange_ts_ns)
{
	struct publisher_instrument *pi = &pub->instruments[pending];
	struct publisher_slot *slot;
	struct publisher_level *pl = publisher_level_find(pub, pi, c, &slot);
	uint16_t entry = (uint16_t)pub->levels_count;

	if (pl != NULL) {
		pl->shares = c->shares;
		pl->orders = c->orders;
		pl->exchange_ts_ns = exchange_ts_ns;
		return;
	}
	assert(pub->levels_count < PUBLISHER_LEVELS_MAX);
	if (slot != NULL)
		publisher_slot_take(pub, slot, c->side, entry);
	/* Written whole at once: the compiler need not reload around byte stores. */
	pub->levels[entry] = (struct publisher_level){
		.price = c->price, .shares = c->shares, .exchange_ts_ns = exchange_ts_ns,
		.orders = c->orders, .instrument = c->instrument, .pending = pending,
		.next = PUBLISHER_NONE, .side = c->side };
	pub->levels_count++;
	/* Each instrument's levels in a list, for the conflated view. */
	if (pi->last_level == PUBLISHER_NONE)
		pi->first_level = entry;
	else
		pub->levels[pi->last_level].next = entry;
	pi->last_level = entry;
	if (++pi->levels_count == PUBLISHER_SCAN_LEVELS + 1)
		publisher_levels_hash(pub, pi);	/* the switch: from now on, the hash */
}

/* Empties the scratch: a new generation frees every hash slot at once. */
static void publisher_scratch_reset(struct publisher *pub)
{
	pub->levels_count = 0;
	pub->instruments_count = 0;
	pub->named_first = false;
	if (++pub->generation == 0) {
		/* Once in 2^32 packets: slots of a generation this old must not match. */
		memset(pub->hash, 0, sizeof(pub->hash));
		pub->generation = 1;
	}
}

/* --- events --- */

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

/* TOP_OF_BOOK for a pending instrument whose top is not what it was when it was first changed. */
static void publisher_top(struct publisher *pub, const struct book *book,
			  const struct publisher_instrument *pi, uint32_t delta_ns)
{
	struct book_top now;
	struct fh_event *e;

	assert(pi->top_known && pi->top_before.instrument == pi->instrument);
	book_top_get(book, pi->instrument, &now);
	/* Back where it began (or a replace in place, an order of 0 shares): nothing to say. */
	if (publisher_top_same(&now, &pi->top_before))
		return;
	e = publisher_claim(pub, FH_EVENT_TOP_OF_BOOK, book->instruments[pi->instrument].key,
			    FH_SIDE_NONE, pi->exchange_ts_ns);
	e->body.top.bid_price = now.price[BOOK_SIDE_BID];
	e->body.top.ask_price = now.price[BOOK_SIDE_ASK];
	e->body.top.bid_shares = publisher_saturate(now.shares[BOOK_SIDE_BID]);
	e->body.top.ask_shares = publisher_saturate(now.shares[BOOK_SIDE_ASK]);
	publisher_commit_at(pub, e, delta_ns);
}

/*
 * Publishes what is pending: LEVEL_CHANGED per level (order of first change, final
 * state), then TOP_OF_BOOK per instrument whose best moved, in the order of the
 * instruments' first changed level, all stamped delta_ns. The scratch stays for the
 * conflated view (publisher_view_refresh) until publisher_scratch_reset.
 */
static void publisher_pending_publish(struct publisher *pub, const struct book *book,
				      uint32_t delta_ns)
{
	assert(pub->levels_count <= PUBLISHER_LEVELS_MAX &&
	       pub->instruments_count <= PUBLISHER_INSTRUMENTS_MAX);
	for (uint32_t i = 0; i < pub->levels_count; i++) {
		const struct publisher_level *pl = &pub->levels[i];
		struct fh_event *e;

		assert(pl->instrument < book->instruments_count && pl->side < BOOK_SIDES);
		e = publisher_claim(pub, FH_EVENT_LEVEL_CHANGED, book->instruments[pl->instrument].key,
				    pl->side, pl->exchange_ts_ns);
		e->body.level.price = pl->price;
		e->body.level.shares = pl->shares;
		e->body.level.orders = pl->orders;
		e->body.level.reserved = 0;
		publisher_commit_at(pub, e, delta_ns);
	}
	/*
	 * Instruments are made as their first level is noted, so instruments[] is in
	 * the order of first levels; unless one was named first (its levels came later).
	 */
	if (!pub->named_first) {
		for (uint32_t i = 0; i < pub->instruments_count; i++) {
			struct publisher_instrument *pi = &pub->instruments[i];

			assert(!pi->best || pi->first_level != PUBLISHER_NONE);
			if (pi->best)
				publisher_top(pub, book, pi, delta_ns);
			pi->best = 0;
		}
		return;
	}
	for (uint32_t i = 0; i < pub->levels_count; i++) {
		struct publisher_instrument *pi = &pub->instruments[pub->levels[i].pending];

		assert(pub->levels[i].pending < pub->instruments_count);
		if (pi->best)
			publisher_top(pub, book, pi, delta_ns);
		pi->best = 0;	/* one top per instrument */
	}
}

/*
 * The conflated view catches up on the pending instruments, as of the ring's head:
 * each entry is given the levels of its instrument that changed, in their final state.
 */
static void publisher_view_refresh(struct publisher *pub)
{
	if (pub->view == NULL)
		return;
	for (uint32_t i = 0; i < pub->instruments_count; i++) {
		const struct publisher_instrument *pi = &pub->instruments[i];
		uint32_t slot = pub->slot_base + pi->instrument;

		if (!pub_conflated_update_begin(pub->view, slot, pub->feed, pub->book, pi->instrument,
						pub->ring->head, &pi->view))
			continue;
		for (uint16_t l = pi->first_level; l != PUBLISHER_NONE; l = pub->levels[l].next) {
			const struct publisher_level *pl = &pub->levels[l];

			assert(l < pub->levels_count && pl->pending == i);
			pub_conflated_update_level(pub->view, slot, (enum book_side)pl->side, pl->price,
						   pl->shares, pl->orders);
		}
		pub_conflated_update_end(pub->view, slot, pub->book, pi->instrument);
	}
}

/*
 * Publishes what is pending now, to make room: a packet that touched more than the
 * scratch holds is published in parts (each part exact, the packet less coalesced).
 * Out of line: the per-message check below stays a compare.
 */
static __attribute__((noinline)) void publisher_flush_early(struct publisher *pub,
							     const struct book *book)
{
	pub->flushes_early++;
	/* The message's events after the flush take a stamp of their own: never older. */
	pub->message_delta_ns = PUBLISHER_DELTA_NONE;
	publisher_pending_publish(pub, book, publisher_delta_ns(pub));
	publisher_view_refresh(pub);
	publisher_scratch_reset(pub);
}

/* Room for one more message's changes, flushing early if the scratch is full (rare). */
static inline void publisher_room_make(struct publisher *pub, const struct book *book)
{
	if (pub->levels_count + BOOK_CHANGES_MAX > PUBLISHER_LEVELS_MAX ||
	    pub->instruments_count >= PUBLISHER_INSTRUMENTS_MAX)
		publisher_flush_early(pub, book);
}

/* Notes the levels an operation changed; their events wait for the packet's end. */
static void publisher_levels(struct publisher *pub, const struct book *book,
			     const struct book_result *result, uint64_t exchange_ts_ns)
{
	struct publisher_instrument *pi;

	assert(result->changes_count <= BOOK_CHANGES_MAX);
	if (result->changes_count == 0)
		return;
	publisher_room_make(pub, book);
	/* One operation changes one instrument (book_change_record asserts it). */
	pi = publisher_instrument_pending(pub, result->changes[0].instrument);
	pi->exchange_ts_ns = exchange_ts_ns;
	for (uint32_t i = 0; i < result->changes_count; i++) {
		const struct book_change *c = &result->changes[i];

		assert(c->instrument == pi->instrument && c->side < BOOK_SIDES);
		publisher_level_pending(pub, c, (uint16_t)(pi - pub->instruments), exchange_ts_ns);
		pi->best |= c->best;
		pub_conflated_change_note(&pi->view, (enum book_side)c->side, c->price);
	}
	/*
	 * The top when the packet began, kept at the first operation that changed a best
	 * level: the operations before it changed no best level, so left the top as it
	 * was. An instrument whose best levels the packet never touched needs none.
	 */
	if (pi->best && !pi->top_known) {
		assert(result->top_taken);	/* this operation's change set best */
		pi->top_before = result->top_before;
		pi->top_known = 1;
	}
}

/*
 * Sends an event of the message being published. A message's events share one clock
 * read, taken when the first of them goes out: an execution's ORDER_REDUCED and TRADE
 * carry the same publish_delta_ns (an early flush between them reads it again, so
 * that stamps on the ring never go back).
 */
static void publisher_message_commit(struct publisher *pub, struct fh_event *e)
{
	if (pub->message_delta_ns == PUBLISHER_DELTA_NONE)
		pub->message_delta_ns = publisher_delta_ns(pub);
	publisher_commit_at(pub, e, pub->message_delta_ns);
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
	publisher_message_commit(pub, e);
	/* A new name with no level change must still reach the conflated view. */
	if (pub->view != NULL) {
		publisher_room_make(pub, book);
		publisher_instrument_pending(pub, (uint16_t)index)->view.named = 1;
		pub->named_first = true;
	}
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
		publisher_message_commit(pub, e);
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
	publisher_message_commit(pub, e);
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
	e->flags |= flags[d->trade.kind];
	e->quantity = publisher_saturate(d->trade.shares);
	e->body.trade.match = d->trade.match;
	e->body.trade.price = d->trade.price;
	e->body.trade.reserved = 0;
	publisher_message_commit(pub, e);
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
	publisher_message_commit(pub, e);
}

void publisher_message(struct publisher *pub, const struct book *book,
		       const struct decoded_message *d)
{
	if (!d->applied)
		return;
	pub->messages++;
	pub->message_delta_ns = PUBLISHER_DELTA_NONE;	/* no clock read yet */
	if (d->instrument_defined >= 0)
		publisher_instrument(pub, book, d->instrument_defined, d->exchange_ts_ns);
	if (d->order != DECODED_ORDER_NONE && (pub->views & PUBLISHER_VIEW_ORDERS))
		publisher_order(pub, d);
	if (d->trade.kind != DECODED_TRADE_NONE)
		publisher_trade(pub, d);
	if (d->status.present)
		publisher_status(pub, d);
	if (d->book != NULL && (pub->views & PUBLISHER_VIEW_LEVELS))
		publisher_levels(pub, book, d->book, d->exchange_ts_ns);
}

void publisher_packet_end(struct publisher *pub, uint64_t last_seq)
{
	/* One clock read for the packet's end: its events go out together. */
	uint32_t delta_ns = publisher_delta_ns(pub);
	struct fh_event *e;

	publisher_pending_publish(pub, pub->book, delta_ns);
	e = publisher_claim(pub, FH_EVENT_END_OF_PACKET, 0, FH_SIDE_NONE, 0);
	memset(&e->body, 0, sizeof(e->body));
	e->body.packet.last_seq = last_seq;
	e->body.packet.messages = pub->messages;
	publisher_commit_at(pub, e, delta_ns);
	/* The books are consistent with the packet: the view catches up on what it touched. */
	publisher_view_refresh(pub);
	publisher_scratch_reset(pub);
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
	/* Between packets (the arbiter starts a session there): nothing is pending. */
	assert(pub->levels_count == 0 && pub->instruments_count == 0);
}

/* BOOK_STATE about instrument `key` (0: the feed) in `scope` (enum fh_book_scope). */
static void publisher_state_event(struct publisher *pub, uint32_t key, uint8_t scope, uint8_t state,
				  uint8_t reason, uint64_t first, uint64_t count)
{
	struct fh_event *e = publisher_claim(pub, FH_EVENT_BOOK_STATE, key, FH_SIDE_NONE, 0);

	assert(state < FH_BOOK_STATES && reason < FH_BOOK_REASONS && scope < FH_BOOK_SCOPES);
	memset(&e->body, 0, sizeof(e->body));
	e->body.state.state = state;
	e->body.state.reason = reason;
	e->body.state.scope = scope;
	e->body.state.first = first;
	e->body.state.count = count;
	publisher_commit(pub, e);
}

void publisher_book_state(struct publisher *pub, uint8_t state, uint8_t reason, uint64_t first,
			  uint64_t count)
{
	assert(state < FH_BOOK_STATES);
	assert(pub->levels_count == 0 && pub->instruments_count == 0);	/* between packets */
	pub->state_flags = (uint8_t)(state << FH_FLAG_BOOK_SHIFT);
	publisher_state_event(pub, 0, FH_BOOK_SCOPE_FEED, state, reason, first, count);
	if (pub->view != NULL)
		pub_conflated_state_set(pub->view, pub->feed, state);
}

void publisher_instrument_state(struct publisher *pub, uint32_t index, uint8_t state, uint8_t reason,
				uint64_t first, uint64_t count)
{
	assert(pub->states != NULL && index < pub->states->instruments_max &&
	       pub->states->state[index] == state);	/* the caller changed it first */
	assert(index < pub->book->instruments_count);	/* an instrument the book defines */
	publisher_state_event(pub, pub->book->instruments[index].key, FH_BOOK_SCOPE_INSTRUMENT, state,
			      reason, first, count);
	if (pub->view != NULL)
		pub_conflated_instrument_state_set(pub->view, pub->slot_base + index, state);
}

/* The clears: BOOK_RECOVERED per defined instrument, naming it. */
static void publisher_recovered_clears(struct publisher *pub, const struct book *book)
{
	for (uint32_t i = 0; i < book->instruments_count; i++) {
		const struct book_instrument *in = &book->instruments[i];
		struct fh_event *e = publisher_claim(pub, FH_EVENT_BOOK_RECOVERED, in->key, FH_SIDE_NONE, 0);

		memset(&e->body, 0, sizeof(e->body));
		assert(in->symbol_len <= sizeof(e->body.instrument.symbol));
		memcpy(e->body.instrument.symbol, in->symbol, in->symbol_len);
		e->body.instrument.price_decimals = in->price_decimals;
		publisher_commit(pub, e);
	}
}

/* ORDER_ADDED per live order, in one walk of the order table. */
static void publisher_recovered_orders(struct publisher *pub, const struct book *book)
{
	struct book_order_entry o;
	uint64_t cursor = 0;

	/* Each step gives one order and moves the cursor past it: bounded by the table. */
	while (book_order_next(book, &cursor, &o)) {
		struct fh_event *e;

		assert(o.instrument < book->instruments_count && o.side < BOOK_SIDES);
		e = publisher_claim(pub, FH_EVENT_ORDER_ADDED, book->instruments[o.instrument].key,
				    o.side, 0);
		e->quantity = o.shares;
		e->body.order.ref = o.ref;
		e->body.order.price = o.price;
		e->body.order.remaining = o.shares;
		e->body.order.reserved = 0;
		publisher_commit(pub, e);
	}
}

/* LEVEL_CHANGED per level of an instrument, best first per side, then its TOP_OF_BOOK. */
static void publisher_recovered_levels(struct publisher *pub, const struct book *book, int32_t index)
{
	uint32_t key = book->instruments[index].key;
	struct book_level_info level;
	struct book_top top;
	struct fh_event *e;

	for (int side = 0; side < BOOK_SIDES; side++) {
		struct book_level_walk walk;

		book_side_walk_start(book, index, (enum book_side)side, &walk);
		while (book_side_walk_next(book, &walk, &level)) {	/* one level a step */
			e = publisher_claim(pub, FH_EVENT_LEVEL_CHANGED, key, (uint8_t)side, 0);
			e->body.level.price = level.price;
			e->body.level.shares = level.shares;
			e->body.level.orders = level.orders;
			e->body.level.reserved = 0;
			publisher_commit(pub, e);
		}
	}
	book_top_get(book, index, &top);
	e = publisher_claim(pub, FH_EVENT_TOP_OF_BOOK, key, FH_SIDE_NONE, 0);
	e->body.top.bid_price = top.price[BOOK_SIDE_BID];
	e->body.top.ask_price = top.price[BOOK_SIDE_ASK];
	e->body.top.bid_shares = publisher_saturate(top.shares[BOOK_SIDE_BID]);
	e->body.top.ask_shares = publisher_saturate(top.shares[BOOK_SIDE_ASK]);
	publisher_commit(pub, e);
}

void publisher_book_recovered(struct publisher *pub, const struct book *book)
{
	struct pub_conflated_change whole;
	struct fh_event *e;

	assert(pub->levels_count == 0 && pub->instruments_count == 0);	/* between packets */
	assert(book->instruments_count <= book->instruments_max);
	publisher_recovered_clears(pub, book);
	if (pub->views & PUBLISHER_VIEW_ORDERS)
		publisher_recovered_orders(pub, book);
	if (pub->views & PUBLISHER_VIEW_LEVELS)
		for (uint32_t i = 0; i < book->instruments_count; i++)
			publisher_recovered_levels(pub, book, (int32_t)i);
	e = publisher_claim(pub, FH_EVENT_END_OF_PACKET, 0, FH_SIDE_NONE, 0);
	memset(&e->body, 0, sizeof(e->body));
	publisher_commit(pub, e);
	if (pub->view == NULL)
		return;
	/* Both sides changed at their best, and the name: the refresh rewrites it all. */
	pub_conflated_change_init(&whole);
	pub_conflated_change_note(&whole, BOOK_SIDE_BID, INT64_MAX);
	pub_conflated_change_note(&whole, BOOK_SIDE_ASK, INT64_MIN);
	whole.named = 1;
	for (uint32_t i = 0; i < book->instruments_count; i++)
		pub_conflated_refresh(pub->view, pub->slot_base + i, pub->feed, book, (int32_t)i,
				      pub->ring->head, &whole);
}
