/*
 * publisher: the one place fh_events are built. One per feed, on the RX lcore that
 * owns the feed; the feed layer hands it what each message did (a decoder's
 * venue-neutral struct decoded_message, with the book operation's result) and the
 * packet, gap and session boundaries. It turns the order, trade and status a message
 * reports into their events at once; the levels the book operations changed it
 * coalesces over the exchange packet, and at the packet's end publishes one
 * LEVEL_CHANGED per level with its final state, one TOP_OF_BOOK per instrument whose
 * best price or size is not what it was when the packet began, and refreshes the
 * conflated view where its top N changed. Which views a feed publishes (orders,
 * levels) is the config's choice. Publishing is a few stores into a prefaulted ring
 * and a fixed scratch table: no allocation, no lock, no waiting.
 */
#ifndef FH_PUBLISH_PUBLISHER_H
#define FH_PUBLISH_PUBLISHER_H

#include <assert.h>
#include <stdint.h>

#include "book/book.h"
#include "book/util/clock.h"
#include "decoders/decoder.h"
#include "publish/conflated.h"
#include "publish/ring.h"

/*
 * The per-packet scratch: levels and instruments whose events wait for the packet's
 * end. A packet that touches more (a jumbo frame of deletes) is published in parts:
 * the pending events are flushed before the message that would not fit (still exact
 * final states per part, just less coalesced), counted in flushes_early.
 */
#define PUBLISHER_LEVELS_MAX 256	/* distinct levels pending at once */
#define PUBLISHER_INSTRUMENTS_MAX 128	/* distinct instruments pending at once */
#define PUBLISHER_HASH_SLOTS 1024	/* open addressing over both tables, load <= 3/8 */
#define PUBLISHER_NONE UINT16_MAX	/* no level (end of an instrument's list) */
#define PUBLISHER_SCAN_INSTRUMENTS 4	/* pending instruments found by a scan, more: the hash */
#define PUBLISHER_SCAN_LEVELS 8		/* an instrument's levels found by a scan, more: the hash */

_Static_assert((PUBLISHER_HASH_SLOTS & (PUBLISHER_HASH_SLOTS - 1)) == 0 &&
	       PUBLISHER_HASH_SLOTS >= 2 * (PUBLISHER_LEVELS_MAX + PUBLISHER_INSTRUMENTS_MAX),
	       "the hash is a power of two, at most half full");
_Static_assert(PUBLISHER_LEVELS_MAX >= BOOK_CHANGES_MAX, "one operation always fits");

/* The views a feed can publish (config: feeds[].publish.views). */
enum publisher_view {
	PUBLISHER_VIEW_ORDERS = 1 << 0,	/* ORDER_ADDED/REDUCED/REPLACED/DELETED */
	PUBLISHER_VIEW_LEVELS = 1 << 1,	/* LEVEL_CHANGED, TOP_OF_BOOK, the conflated view */
	PUBLISHER_VIEWS_ALL = PUBLISHER_VIEW_ORDERS | PUBLISHER_VIEW_LEVELS,
};

/* A level the pending events touched, as the last operation on it left it. */
struct publisher_level {
	int64_t price;
	uint64_t shares;
	uint64_t exchange_ts_ns;	/* of the last message that changed it */
	uint32_t orders;		/* 0: the level is gone */
	uint16_t instrument;		/* index in the book */
	uint16_t pending;		/* its instrument's entry in instruments[] */
	uint16_t next;			/* its instrument's next level, PUBLISHER_NONE: last */
	uint8_t side;
};

/* An instrument the pending events touched. */
struct publisher_instrument {
	struct book_top top_before;	/* before the first change (valid if top_known, set
					 * once a change fell on a best level) */
	struct pub_conflated_change view;	/* what the conflated view must catch up on */
	uint64_t exchange_ts_ns;	/* of the last message that changed its book */
	uint16_t first_level;		/* its levels in levels[], linked by next */
	uint16_t last_level;		/* PUBLISHER_NONE: none yet */
	uint16_t instrument;		/* index in the book */
	uint16_t levels_count;		/* in its list; past PUBLISHER_SCAN_LEVELS, also in the hash */
	uint8_t top_known;
	uint8_t best;			/* a change fell on a best level (cleared once published) */
};

/* A hash slot: valid in the generation that wrote it; entry indexes levels or instruments. */
struct publisher_slot {
	uint32_t generation;
	uint16_t entry;
	uint8_t kind;			/* a side (level) or BOOK_SIDES (instrument) */
};

/*
 * The book state of each instrument of a feed, beside the feed's own (fh_event.h, "Per
 * instrument"): for a venue whose losses name instruments. Sized from the book's
 * instruments_max at start and allocated then (publisher_states_make); a change is a
 * store and two counts. The feed owns it (its stats read the counts from another
 * thread: whole 64-bit stores); its publisher reads it for every event's flags.
 */
struct publisher_states {
	uint8_t *state;			/* by book index: enum fh_book_state (0: OK) */
	uint32_t instruments_max;
	uint32_t marked;		/* instruments whose own state is not OK */
	uint64_t count[FH_BOOK_STATES];	/* instruments by own state; [FH_BOOK_OK] unkept (0) */
};

/* Allocates (prefaulted, all OK) the states of instruments_max instruments. 0 or -ENOMEM. */
int publisher_states_make(struct publisher_states *states, uint32_t instruments_max);

/* Frees what publisher_states_make gave; a zeroed struct is left alone. */
void publisher_states_free(struct publisher_states *states);

/*
 * Sets instrument `index`'s own state; true if it changed (the counts follow). index
 * must be below instruments_max (the book's bound: an index the book gave).
 */
static inline bool publisher_states_change(struct publisher_states *states, uint32_t index, uint8_t state)
{
	uint8_t was;

	assert(index < states->instruments_max && state < FH_BOOK_STATES);
	was = states->state[index];
	if (was == state)
		return false;
	states->state[index] = state;
	if (was != FH_BOOK_OK)
		__atomic_store_n(&states->count[was], states->count[was] - 1, __ATOMIC_RELAXED);
	if (state != FH_BOOK_OK)
		__atomic_store_n(&states->count[state], states->count[state] + 1, __ATOMIC_RELAXED);
	states->marked = (uint32_t)(states->count[FH_BOOK_RECOVERING] + states->count[FH_BOOK_STALE]);
	assert(states->marked <= states->instruments_max);
	return true;
}

/*
 * The `defined` instruments by state as their events carry it (the worse of the feed's
 * `feed_state` and each one's own), into out[FH_BOOK_STATES]. Another thread may call
 * it: it reads the counts whole, and clamps what a change in flight could skew.
 */
static inline void publisher_states_counts(const struct publisher_states *states, uint8_t feed_state,
					   uint64_t defined, uint64_t out[FH_BOOK_STATES])
{
	uint64_t own[FH_BOOK_STATES], marked;

	own[FH_BOOK_RECOVERING] = __atomic_load_n(&states->count[FH_BOOK_RECOVERING], __ATOMIC_RELAXED);
	own[FH_BOOK_STALE] = __atomic_load_n(&states->count[FH_BOOK_STALE], __ATOMIC_RELAXED);
	own[FH_BOOK_STALE] = own[FH_BOOK_STALE] < defined ? own[FH_BOOK_STALE] : defined;
	marked = own[FH_BOOK_RECOVERING] + own[FH_BOOK_STALE];
	if (marked > defined)
		own[FH_BOOK_RECOVERING] = defined - own[FH_BOOK_STALE], marked = defined;
	own[FH_BOOK_OK] = defined - marked;
	for (int s = 0; s < FH_BOOK_STATES; s++)
		out[s] = 0;
	/* An instrument at or below the feed's state shows the feed's. */
	for (int s = 0; s < FH_BOOK_STATES; s++)
		out[s > feed_state ? s : feed_state] += own[s];
}

struct publisher {
	struct pub_ring *ring;
	uint8_t feed;			/* feed index in events */
	uint8_t views;			/* enum publisher_view bits */
	uint8_t state_flags;		/* the feed's book state as event flags (FH_FLAG_BOOK_*) */
	uint64_t rx_ts_ns;		/* of the packet being applied */
	uint64_t rx_tsc;		/* TSC when it was received */
	uint64_t ns_per_tsc_q32;	/* ns per TSC tick, 32.32 fixed point */
	uint32_t messages;		/* applied from the current packet */
	/*
	 * publish_delta_ns of the last event committed: the feed's latency histograms
	 * take it instead of reading the clock again. PUBLISHER_DELTA_NONE: nothing
	 * committed since the caller set it so (or a delta past UINT32_MAX ns).
	 */
	uint32_t last_delta_ns;
	uint32_t message_delta_ns;	/* the message being published: its events' stamp */
	struct pub_conflated *view;	/* NULL: no conflated view */
	uint32_t slot_base;		/* this feed's first slot in the view */
	const struct book *book;	/* the feed's books */
	const struct publisher_states *states;	/* per instrument; NULL: the feed's state alone */
	uint64_t flushes_early;		/* packets published in parts (scratch full) */
	uint32_t generation;		/* of the pending scratch; hash slots of others are free */
	bool named_first;		/* an instrument was made pending by its name, not a level */
	uint32_t levels_count;
	uint32_t instruments_count;	/* past PUBLISHER_SCAN_INSTRUMENTS, also in the hash */
	struct publisher_level levels[PUBLISHER_LEVELS_MAX];	/* in order of first touch */
	struct publisher_instrument instruments[PUBLISHER_INSTRUMENTS_MAX];
	struct publisher_slot hash[PUBLISHER_HASH_SLOTS];
};

/* Adds the conflated view: the feed's instruments use slots slot_base + index. */
void publisher_view_set(struct publisher *pub, struct pub_conflated *view, uint32_t slot_base,
			const struct book *book);

/*
 * Gives the publisher the feed's per-instrument states (book: the feed's books, whose
 * keys events name): from now on an event about an instrument carries the worse of
 * the feed's state and the instrument's own.
 */
void publisher_states_set(struct publisher *pub, const struct publisher_states *states,
			  const struct book *book);

/* Sets up a feed's publisher on an RX lcore's ring; tsc_hz: the TSC frequency. Both views. */
void publisher_init(struct publisher *pub, struct pub_ring *ring, uint8_t feed, uint64_t tsc_hz);

/*
 * Chooses the views (enum publisher_view bits, at least one). Without the levels
 * view the conflated view is not kept for the feed (its entries stay empty).
 */
void publisher_views_set(struct publisher *pub, uint8_t views);

/* Pending instruments are found in the hash, not by a scan (set at the switch, kept to the reset). */
static inline bool publisher_instruments_hashed(const struct publisher *pub)
{
	return pub->instruments_count > PUBLISHER_SCAN_INSTRUMENTS;
}

/* The same for an instrument's pending levels. */
static inline bool publisher_levels_hashed(const struct publisher_instrument *pi)
{
	return pi->levels_count > PUBLISHER_SCAN_LEVELS;
}

/* Starts a packet: its receive time (the clock events report) and TSC. */
static inline void publisher_packet_begin(struct publisher *pub, uint64_t rx_ts_ns, uint64_t rx_tsc)
{
	pub->rx_ts_ns = rx_ts_ns;
	pub->rx_tsc = rx_tsc;
	pub->messages = 0;
	assert(pub->levels_count == 0 && pub->instruments_count == 0);	/* the last packet ended */
}

/*
 * The flags of an event about instrument `key` when some instrument holds a state of
 * its own: the worse of the feed's and the instrument's (the flag bits are the state
 * shifted, so the worse is the larger). Out of line: only venues that hold
 * per-instrument states, and only while one is not OK, come here.
 */
uint8_t publisher_instrument_flags(const struct publisher *pub, uint32_t key);

/* A claimed event with the common fields filled; publisher_commit sends it. */
static inline struct fh_event *publisher_claim(struct publisher *pub, uint8_t type,
					       uint32_t instrument, uint8_t side,
					       uint64_t exchange_ts_ns)
{
	struct fh_event *e = pub_ring_claim(pub->ring);

	e->type = type;
	e->side = side;
	e->feed = pub->feed;
	/* Every event says what its books are worth. */
	e->flags = pub->states == NULL || pub->states->marked == 0 ? pub->state_flags :
		   publisher_instrument_flags(pub, instrument);
	e->instrument = instrument;
	e->exchange_ts_ns = exchange_ts_ns;
	e->rx_ts_ns = pub->rx_ts_ns;
	e->quantity = 0;
	return e;
}

#define PUBLISHER_DELTA_NONE UINT32_MAX

/* publish_delta_ns for events sent now: time since the packet's RX, saturated. */
static inline uint32_t publisher_delta_ns(const struct publisher *pub)
{
	uint64_t ns = clock_tsc_to_ns(clock_tsc() - pub->rx_tsc, pub->ns_per_tsc_q32);

	return ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

/* Sends a claimed event stamped delta_ns (the events of a packet's end share one). */
static inline void publisher_commit_at(struct publisher *pub, struct fh_event *e, uint32_t delta_ns)
{
	e->publish_delta_ns = delta_ns;
	pub->last_delta_ns = delta_ns;
	pub_ring_commit(pub->ring, e);
}

static inline void publisher_commit(struct publisher *pub, struct fh_event *e)
{
	publisher_commit_at(pub, e, publisher_delta_ns(pub));
}

/*
 * The events of one message that book (the feed's books) now reflects, in this order:
 * INSTRUMENT_DEFINED for a renamed instrument; the order event (orders view); TRADE;
 * TRADING_STATUS. The levels the book operation changed wait for the packet's end
 * (levels view). A skipped message publishes nothing.
 */
void publisher_message(struct publisher *pub, const struct book *book,
		       const struct decoded_message *message);

/*
 * The packet's end (the books now reflect the packet whose last message is last_seq):
 * LEVEL_CHANGED for each level its messages changed, in order of first change, with
 * the level's state now; then TOP_OF_BOOK for each instrument (in order of first
 * change) whose top is not what it was when the packet began; then END_OF_PACKET;
 * then the conflated view's entries whose top N changed.
 */
void publisher_packet_end(struct publisher *pub, uint64_t last_seq);

/* GAP: messages first..first+count-1 were lost; the feed's books may be stale. */
void publisher_gap(struct publisher *pub, uint64_t first, uint64_t count);

/* BOOK_CLEARED: a new session emptied the feed's books. */
void publisher_cleared(struct publisher *pub);

/*
 * The feed's book state changed to `state` (enum fh_book_state) because of `reason`
 * (enum fh_book_reason), concerning sequence numbers first..first+count-1 (0, 0:
 * none): every later event carries it in its flags, BOOK_STATE says so now (itself
 * carrying the new state), and the conflated view's entries of the feed show it.
 * Between packets.
 */
/*
 * Marks the events still to come with `state` (FH_FLAG_BOOK_*), inside a packet: what
 * the packet changed is published at its end already saying what the books are worth.
 * The BOOK_STATE event itself follows between packets (publisher_book_state).
 */
static inline void publisher_state_mark(struct publisher *pub, uint8_t state)
{
	assert(state < FH_BOOK_STATES);
	pub->state_flags = (uint8_t)(state << FH_FLAG_BOOK_SHIFT);
}

void publisher_book_state(struct publisher *pub, uint8_t state, uint8_t reason, uint64_t first,
			  uint64_t count);

/*
 * Instrument `index`'s own state changed to `state` (the caller changed it in the
 * states given to publisher_states_set) because of `reason`, concerning its sequence
 * numbers first..first+count-1 (0, 0: none): BOOK_STATE scope INSTRUMENT naming it
 * now, carrying its state (the worse of the feed's and its own) in its flags like
 * every later event about it; and its conflated entry shows its own state. Inside a
 * packet or between packets: what the packet changed of the instrument is published
 * at its end with the new state. Store the worse state before writing the book past
 * a loss, OK only once the instrument's book is whole again (and republished).
 */
void publisher_instrument_state(struct publisher *pub, uint32_t index, uint8_t state, uint8_t reason,
				uint64_t first, uint64_t count);

/*
 * The books are to be taken afresh from `book` (a snapshot was applied): for every
 * instrument the book defines, in index order, BOOK_RECOVERED (body.instrument: its
 * symbol and decimals); then every live order as ORDER_ADDED in order-table order
 * (orders view); then per instrument in index order its bids and asks as
 * LEVEL_CHANGED, best first, and one TOP_OF_BOOK (levels view); then one
 * END_OF_PACKET (last_seq 0, messages 0), stamped exchange time 0; and every
 * instrument's conflated entry is rewritten whole. The events carry the state as it
 * is: call publisher_book_state(OK) after it. Costs the instruments, the order
 * table's used span and the levels; allocates nothing (a slow consumer is lapped by
 * the ring as ever). Between packets.
 */
void publisher_book_recovered(struct publisher *pub, const struct book *book);

#endif
