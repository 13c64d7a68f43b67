/*
 * fh_event: the records fhd publishes to strategy processes, one 64-byte cache line
 * each. The layout is versioned (FH_EVENT_LAYOUT_VERSION); a consumer built against
 * another version is refused at attach. Every event carries the ring sequence number,
 * its type, feed and instrument, three timestamps, a quantity and a type-specific
 * body. Prices are integers in units of 10^-price_decimals of the instrument (given by
 * FH_EVENT_INSTRUMENT_DEFINED; ITCH: 4).
 *
 * Per exchange packet: order, trade, status and instrument events come per message,
 * in message order. The aggregated view is coalesced over the packet and comes at its
 * end: one LEVEL_CHANGED per (instrument, side, price) level the packet changed, in
 * the order of its first change, with the level's state at the packet's end; then one
 * TOP_OF_BOOK per instrument whose top at the end differs from its top at the start;
 * then END_OF_PACKET. Applying a packet's LEVEL_CHANGED events to books kept from the
 * earlier ones gives fhd's books. (A packet touching more than fhd's scratch holds,
 * 256 levels or 128 instruments, is published in parts, each exact; standard-MTU
 * ITCH packets never do.) A feed may publish only one of the two views (config
 * feeds[].publish.views): without `orders` no ORDER_* events, without `levels` no
 * LEVEL_CHANGED, TOP_OF_BOOK or conflated view entries.
 *
 * Book state. Every event carries its book state as it was when the event was
 * published, in two flag bits (fh_event_book_state): OK, the books follow the session
 * without a hole; RECOVERING, a hole is being filled (nothing past it is published
 * until it is, so what was published is right but behind); STALE, messages were
 * declared lost and the feed's books may be wrong. A change of state is published as
 * BOOK_STATE (why, and which sequence numbers). A loss makes the whole feed STALE
 * (on ITCH a lost message can touch any instrument); only a new session
 * (BOOK_CLEARED, then BOOK_STATE ok) or a snapshot brings it back to OK. A snapshot
 * is published per instrument as BOOK_RECOVERED: clear that instrument's book; what
 * follows up to the next END_OF_PACKET is its content. Exactly: a BOOK_RECOVERED for
 * every instrument the books define (body.instrument names it), then the live orders
 * of all of them as ORDER_ADDED (orders view; in no particular order across
 * instruments), then per instrument, in the order of the BOOK_RECOVERED events, its
 * levels as LEVEL_CHANGED (bids best first, then asks best first) and one TOP_OF_BOOK
 * (levels view), then one END_OF_PACKET (last_seq 0, messages 0); a BOOK_STATE ok
 * follows when the books are whole. A consumer that applies events alone (clear on
 * BOOK_CLEARED and BOOK_RECOVERED, apply the rest) ends with fhd's books.
 *
 * Per instrument. A venue whose losses name instruments (CME MDP3, by RptSeq) holds a
 * state per instrument beside the feed's: one instrument RECOVERING while the others
 * flow. An event about an instrument carries the worse of its feed's state and its
 * own; an event about none (END_OF_PACKET, GAP) the feed's. A change of an
 * instrument's own state is a BOOK_STATE with body.state.scope
 * FH_BOOK_SCOPE_INSTRUMENT naming it in `instrument` (its flags: the instrument's
 * state, as ever the worse of the two); a feed's change has scope FH_BOOK_SCOPE_FEED
 * and instrument 0. ITCH holds whole-feed states only (scope FEED always).
 */
#ifndef FH_PUBLISH_FH_EVENT_H
#define FH_PUBLISH_FH_EVENT_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The headers are C (C11 or later) and C++ (C++11 or later) alike: compile-time
 * checks and casts are the language's own, and every declaration has C linkage.
 */
#ifdef __cplusplus
#define FH_STATIC_ASSERT(condition, why) static_assert(condition, why)
#define FH_CAST(type, value) static_cast<type>(value)
extern "C" {
#else
#define FH_STATIC_ASSERT(condition, why) _Static_assert(condition, why)
#define FH_CAST(type, value) ((type)(value))
#endif

#define FH_EVENT_LAYOUT_VERSION 2

enum fh_event_type {
	FH_EVENT_NONE = 0,
	/* order-by-order view */
	FH_EVENT_ORDER_ADDED = 1,	/* body.order; quantity = shares */
	FH_EVENT_ORDER_REDUCED = 2,	/* body.order; quantity = shares taken off, body.order.remaining left */
	FH_EVENT_ORDER_REPLACED = 3,	/* body.replace; quantity = new shares */
	FH_EVENT_ORDER_DELETED = 4,	/* body.order; quantity = shares that were resting */
	/* aggregated view: enough to keep depth without tracking orders */
	FH_EVENT_LEVEL_CHANGED = 5,	/* body.level, the level's state at the packet's end;
					   orders 0 = no level there (also one born and gone
					   within the packet); once per level per packet */
	FH_EVENT_TOP_OF_BOOK = 6,	/* body.top; at the end of a packet that changed the best bid
					   or ask price or shares (once per instrument; never with
					   both as they were when the packet began) */
	FH_EVENT_TRADE = 7,		/* body.trade; quantity = shares executed; includes non-displayed
					   and cross; side: the resting order's (NONE: cross, or
					   'C' on an order not in the book) */
	FH_EVENT_TRADING_STATUS = 8,	/* body.status */
	FH_EVENT_INSTRUMENT_DEFINED = 9,/* body.instrument */
	FH_EVENT_GAP = 10,		/* body.gap: feed lost messages; its books may be stale */
	FH_EVENT_BOOK_RECOVERED = 11,	/* body.instrument: clear this instrument's book; what
					   follows up to END_OF_PACKET is its content (file head) */
	FH_EVENT_END_OF_PACKET = 12,	/* body.packet: books are consistent with one exchange packet;
					   after its LEVEL_CHANGED and TOP_OF_BOOK events */
	FH_EVENT_STOP = 13,		/* fhd stops cleanly; nothing follows from this generation */
	FH_EVENT_BOOK_CLEARED = 14,	/* a new session or a failed snapshot: every book of the feed is empty */
	FH_EVENT_BOOK_STATE = 15,	/* body.state: the feed's (scope FEED) or the named
					   instrument's (scope INSTRUMENT) book state changed */
	FH_EVENT_TYPES
};

enum fh_event_side { FH_SIDE_BID = 0, FH_SIDE_ASK = 1, FH_SIDE_NONE = 2 };

enum fh_event_flag {
	FH_FLAG_TRADE_CROSS = 1 << 0,		/* cross trade (ITCH 'Q') */
	FH_FLAG_TRADE_NON_DISPLAYED = 1 << 1,	/* against a non-displayed order (ITCH 'P') */
	FH_FLAG_TRADE_EXECUTION = 1 << 2,	/* execution of a displayed order (ITCH 'E'/'C') */
	FH_FLAG_TRADE_MASK = 7,
	FH_FLAG_BOOK_RECOVERING = 1 << 6,	/* on every event: its books are recovering */
	FH_FLAG_BOOK_STALE = 1 << 7,		/* on every event: its books may be wrong */
	FH_FLAG_BOOK_MASK = FH_FLAG_BOOK_RECOVERING | FH_FLAG_BOOK_STALE,
};

/* A feed's book state (the flag bits hold it shifted by FH_FLAG_BOOK_SHIFT). */
enum fh_book_state {
	FH_BOOK_OK = 0,		/* the books follow the session without a hole */
	FH_BOOK_RECOVERING = 1,	/* a hole is being filled: right, but behind */
	FH_BOOK_STALE = 2,	/* messages were lost: the books may be wrong */
	FH_BOOK_STATES
};
#define FH_FLAG_BOOK_SHIFT 6
FH_STATIC_ASSERT(FH_FLAG_BOOK_RECOVERING == FH_BOOK_RECOVERING << FH_FLAG_BOOK_SHIFT &&
	       FH_FLAG_BOOK_STALE == FH_BOOK_STALE << FH_FLAG_BOOK_SHIFT,
	       "the flag bits are the state, shifted");

/* What a BOOK_STATE is about (body.state.scope). */
enum fh_book_scope {
	FH_BOOK_SCOPE_FEED = 0,		/* the whole feed (instrument 0) */
	FH_BOOK_SCOPE_INSTRUMENT = 1,	/* the instrument the event names, alone */
	FH_BOOK_SCOPES
};

/* Why a feed's book state changed (BOOK_STATE body.state.reason). */
enum fh_book_reason {
	FH_BOOK_REASON_NONE = 0,
	FH_BOOK_REASON_RECOVERING = 1,	/* a hole handed to recovery (RECOVERING) */
	FH_BOOK_REASON_RECOVERED = 2,	/* the hole was filled (OK) */
	FH_BOOK_REASON_LOST = 3,		/* a gap declared lost (STALE): no recovery configured */
	FH_BOOK_REASON_RETRIES_EXHAUSTED = 4,	/* recovery gave up (STALE) */
	FH_BOOK_REASON_SERVER_SILENT = 5,	/* the recovery server did not answer (STALE) */
	FH_BOOK_REASON_HOLD_FULL = 6,		/* the hold behind the hole filled up (STALE) */
	FH_BOOK_REASON_LATE_JOIN = 7,		/* joined mid-session without a snapshot (STALE) */
	FH_BOOK_REASON_NEW_SESSION = 8,		/* a new session started with empty books (OK) */
	FH_BOOK_REASON_SNAPSHOT = 9,		/* a snapshot was applied (OK) */
	FH_BOOK_REASON_SNAPSHOT_STARTED = 10,	/* the books are being built from a snapshot */
	FH_BOOK_REASON_SNAPSHOT_FAILED = 11,	/* the snapshot was refused, cut or timed out (STALE) */
	FH_BOOK_REASON_CAPACITY = 12,		/* the book refused an instrument, order or level (STALE) */
	FH_BOOK_REASON_SNAPSHOT_APPLIED = 13,	/* a snapshot is in the books, no line confirmed it yet (RECOVERING) */
	FH_BOOK_REASON_SNAPSHOT_UNCONFIRMED = 14,	/* no line reached the snapshot's sequence in time, or its
						 * session was not the lines' (STALE) */
	FH_BOOK_REASONS
};

struct fh_event {
	uint64_t seq;			/* ring sequence number, 1 = first event of the generation */
	uint8_t type;			/* enum fh_event_type */
	uint8_t side;			/* enum fh_event_side */
	uint8_t feed;			/* index of the feed in fhd's config */
	uint8_t flags;			/* enum fh_event_flag */
	uint32_t instrument;		/* the venue's instrument key (ITCH stock locate) */
	uint64_t exchange_ts_ns;	/* the exchange's timestamp (ITCH: ns since midnight) */
	uint64_t rx_ts_ns;		/* when fhd received the packet (capture time in a replay) */
	uint32_t publish_delta_ns;	/* publish time - rx time on fhd's clock (saturated); the
					   events of a packet's end share the time it began */
	uint32_t quantity;		/* shares, per type (see above) */
	union {
		struct {
			uint64_t ref;		/* order reference */
			int64_t price;
			uint32_t remaining;	/* REDUCED: shares left (0: the order left) */
			uint32_t reserved;
		} order;
		struct {
			uint64_t old_ref;
			uint64_t new_ref;
			int64_t price;		/* new price */
		} replace;
		struct {
			int64_t price;
			uint64_t shares;	/* total at the level after the change */
			uint32_t orders;	/* orders at the level; 0 = level removed */
			uint32_t reserved;
		} level;
		struct {
			int64_t bid_price;	/* INT64_MIN: no bid */
			int64_t ask_price;	/* INT64_MIN: no ask */
			uint32_t bid_shares;	/* saturated at UINT32_MAX */
			uint32_t ask_shares;
		} top;
		struct {
			uint64_t match;		/* match number */
			int64_t price;
			uint64_t reserved;
		} trade;
		struct {
			char state;		/* ITCH: H halted, P paused, Q quotation only, T trading */
			char reason[4];
			uint8_t reserved[19];
		} status;
		struct {
			char symbol[16];	/* space-free, NUL padded */
			uint8_t price_decimals;
			uint8_t reserved[7];
		} instrument;
		struct {
			uint64_t first;		/* first missing exchange sequence number */
			uint64_t count;		/* how many */
			uint64_t reserved;
		} gap;
		struct {
			uint8_t state;		/* enum fh_book_state, as of this event (scope
						   INSTRUMENT: the instrument's own state) */
			uint8_t reason;		/* enum fh_book_reason */
			uint8_t scope;		/* enum fh_book_scope (0.3; before, 0: the feed) */
			uint8_t reserved[5];
			uint64_t first;		/* the exchange sequence numbers concerned, */
			uint64_t count;		/* first..first+count-1 (0, 0: none) */
		} state;
		struct {
			uint64_t last_seq;	/* exchange sequence number of the packet's last message */
			uint32_t messages;	/* messages applied from the packet */
			uint32_t reserved[3];
		} packet;
		uint8_t raw[24];
	} body;
};

FH_STATIC_ASSERT(sizeof(struct fh_event) == 64, "an event is one cache line");

/*
 * The book state of the event's instrument when the event was published (the worse of
 * its feed's and its own; an event about no instrument: the feed's).
 */
static inline enum fh_book_state fh_event_book_state(const struct fh_event *e)
{
	return FH_CAST(enum fh_book_state, (e->flags & FH_FLAG_BOOK_MASK) >> FH_FLAG_BOOK_SHIFT);
}

/* True if a BOOK_STATE is about the instrument it names alone, not the whole feed. */
static inline bool fh_event_state_instrument(const struct fh_event *e)
{
	return e->type == FH_EVENT_BOOK_STATE && e->body.state.scope == FH_BOOK_SCOPE_INSTRUMENT;
}

/*
 * Names to print a book state or a BOOK_STATE reason by ("ok", "new_session"), as fh tail
 * prints them; "?" for a value this header does not know (a newer fhd, or a bad byte).
 */
static inline const char *fh_book_state_name(unsigned state)
{
	switch (state) {
	case FH_BOOK_OK: return "ok";
	case FH_BOOK_RECOVERING: return "recovering";
	case FH_BOOK_STALE: return "stale";
	default: return "?";
	}
}

static inline const char *fh_book_reason_name(unsigned reason)
{
	switch (reason) {
	case FH_BOOK_REASON_NONE: return "none";
	case FH_BOOK_REASON_RECOVERING: return "recovering";
	case FH_BOOK_REASON_RECOVERED: return "recovered";
	case FH_BOOK_REASON_LOST: return "lost";
	case FH_BOOK_REASON_RETRIES_EXHAUSTED: return "retries_exhausted";
	case FH_BOOK_REASON_SERVER_SILENT: return "server_silent";
	case FH_BOOK_REASON_HOLD_FULL: return "hold_full";
	case FH_BOOK_REASON_LATE_JOIN: return "late_join";
	case FH_BOOK_REASON_NEW_SESSION: return "new_session";
	case FH_BOOK_REASON_SNAPSHOT: return "snapshot";
	case FH_BOOK_REASON_SNAPSHOT_STARTED: return "snapshot_started";
	case FH_BOOK_REASON_SNAPSHOT_FAILED: return "snapshot_failed";
	case FH_BOOK_REASON_CAPACITY: return "capacity";
	case FH_BOOK_REASON_SNAPSHOT_APPLIED: return "snapshot_applied";
	case FH_BOOK_REASON_SNAPSHOT_UNCONFIRMED: return "snapshot_unconfirmed";
	default: return "?";
	}
}

#ifdef __cplusplus
}
#endif

#endif
