/*
 * conflated: the current top N levels per side of every instrument, in shared memory
 * next to a publish ring (/dev/shm/<ring>-<lcore>-top), for consumers that join late
 * or were lapped: they take the books as they are now instead of replaying history.
 * One entry per (feed, instrument) slot, each its own seqlock: at the end of an
 * exchange packet the RX lcore writes, in the entries whose top N the packet changed,
 * the levels that changed and those that moved, nothing else (version odd while
 * writing); a reader copies an entry and keeps it only if the version was even and
 * unchanged. No lock, no waiting on either side.
 */
#ifndef FH_PUBLISH_CONFLATED_H
#define FH_PUBLISH_CONFLATED_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "book/book.h"

#include "publish/libfh/conflated_layout.h"
#include "publish/shm_segment.h"

/*
 * What the producer remembers of an entry it wrote, so it never reads the entry back:
 * its levels are in the view's private mirror, this says how many and what an update
 * in progress (pub_conflated_update_*) must write.
 */
struct pub_conflated_own {
	int64_t edge[BOOK_SIDES];	/* the price of the depth-th level as written, or the
					 * side's worst price if it held fewer (every change shows) */
	uint8_t count[BOOK_SIDES];	/* levels the entry holds per side (at most depth) */
	uint8_t dirty_from[BOOK_SIDES];	/* updating: the first level to write (depth: none) */
	uint8_t open;			/* updating: bit (1 << side) per side the change reaches */
	uint8_t refill;			/* of those, sides to read again whole from the book */
	bool named;			/* the name fields are written and current */
};

/* The producer's state: its own copies of everything; the shared side is written only. */
struct pub_conflated {
	struct conflated_header *header;	/* shared: written only */
	uint8_t *entries;			/* shared: written only */
	uint64_t *versions;			/* each entry's seqlock version, by slot */
	/*
	 * By slot, own_stride bytes each (whole cache lines): its pub_conflated_own, then
	 * its mirror, depth bids and depth asks as the entry holds them, so that an
	 * update's first look at a slot brings its best levels with it.
	 */
	uint8_t *own;
	size_t own_stride;
	uint32_t depth;
	uint32_t entry_size;
	uint32_t slots;
	size_t size;
	struct shm_segment segment;
};

/*
 * Creates /dev/shm/NAME, a new inode (see shm_segment_create for what happens to a
 * previous one), with `slots` entries of `depth` levels per side, mode `mode`, group
 * `gid` (-1: unchanged). 0 or -errno with a message in err.
 */
int pub_conflated_create(struct pub_conflated *view, const char *name, uint32_t slots,
			 uint32_t depth, uint64_t generation, mode_t mode, gid_t gid,
			 char *err, size_t err_size);

/* Says which ring generation the view belongs to (set once the ring exists). */
void pub_conflated_generation_set(struct pub_conflated *view, uint64_t generation);

/* Unmaps and unlocks the view (the file stays); a zeroed or closed view is left alone. */
void pub_conflated_close(struct pub_conflated *view);

_Static_assert(sizeof(struct pub_conflated_own) % _Alignof(struct conflated_level) == 0,
	       "a slot's mirror follows its pub_conflated_own");

/*
 * Allocates and prefaults the producer's own records for `slots` entries of `depth`
 * levels a side (pub_conflated_create does; so may a view in private memory).
 * 0 or -ENOMEM.
 */
int pub_conflated_own_make(struct pub_conflated *view, uint32_t slots, uint32_t depth);

/* Frees what pub_conflated_own_make gave (pub_conflated_close does it too). */
void pub_conflated_own_free(struct pub_conflated *view);

static inline struct pub_conflated_own *pub_conflated_own(const struct pub_conflated *view, uint32_t slot)
{
	return (struct pub_conflated_own *)(view->own + (size_t)slot * view->own_stride);
}

static inline struct conflated_entry *pub_conflated_entry(struct pub_conflated *view, uint32_t slot)
{
	return (struct conflated_entry *)(view->entries + (size_t)slot * view->entry_size);
}

/* What a packet changed of an instrument, for pub_conflated_refresh. */
struct pub_conflated_change {
	int64_t best_price[BOOK_SIDES];	/* the most aggressive price changed, per side */
	uint8_t sides;			/* bit (1 << side) per side with a change */
	uint8_t named;			/* the instrument's name or decimals changed */
};

/* A change that changed nothing yet: no side, prices at their worst. */
static inline void pub_conflated_change_init(struct pub_conflated_change *change)
{
	change->best_price[BOOK_SIDE_BID] = INT64_MIN;
	change->best_price[BOOK_SIDE_ASK] = INT64_MAX;
	change->sides = 0;
	change->named = 0;
}

/* Notes a change at a price on a side. */
static inline void pub_conflated_change_note(struct pub_conflated_change *change,
					     enum book_side side, int64_t price)
{
	int64_t *best = &change->best_price[side];

	change->sides |= (uint8_t)(1u << side);
	if (side == BOOK_SIDE_BID ? price > *best : price < *best)
		*best = price;
}

/*
 * Brings slot's entry up to date with the book's instrument `index` of feed `feed`
 * after a packet whose `change` the publisher noted, in three steps:
 * - update_begin: a side is reached if the change's best price is at or better than
 *   the side's depth-th level as the entry holds it (or the entry holds fewer levels
 *   than depth). A change strictly worse left the depth levels at or better than it as
 *   they were, so the entry is still exact. False, and nothing written (version and
 *   ring_seq too: ring_seq is the last event that changed it), if neither side is
 *   reached and the name is current; otherwise the entry's seqlock is open.
 * - update_level, once per level the packet changed (its final state; orders 0:
 *   gone): on a reached side, a level the entry holds is updated in place or taken
 *   out, a new one inside the depth is put in place. Only the entry's levels from the
 *   first that changed are written again, never the book read, except where a level
 *   left a full entry: the side is then read again from the book at update_end.
 * - update_end: that read, the counts, the seqlock closed.
 * Every level the packet changed must be given, in any order, with the book as the
 * packet left it.
 */
bool pub_conflated_update_begin(struct pub_conflated *view, uint32_t slot, uint8_t feed,
				const struct book *book, int32_t index, uint64_t ring_seq,
				const struct pub_conflated_change *change);
void pub_conflated_update_level(struct pub_conflated *view, uint32_t slot, enum book_side side,
				int64_t price, uint64_t shares, uint32_t orders);
void pub_conflated_update_end(struct pub_conflated *view, uint32_t slot, const struct book *book,
			      int32_t index);

/* The entry's reached sides rewritten whole from the book (a snapshot's books). */
void pub_conflated_refresh(struct pub_conflated *view, uint32_t slot, uint8_t feed,
			   const struct book *book, int32_t index, uint64_t ring_seq,
			   const struct pub_conflated_change *change);

/*
 * Shows feed `feed`'s book state (enum fh_book_state) with every entry of the feed:
 * call it before writing entries past a loss, and with OK only after the entries were
 * rewritten whole (see conflated_layout.h). One store.
 */
static inline void pub_conflated_state_set(struct pub_conflated *view, uint8_t feed, uint8_t state)
{
	__atomic_store_n(&view->header->feed_state[feed], state, __ATOMIC_RELEASE);
}

/*
 * Shows an instrument's own book state in its slot's entry (kept through clears and
 * rewrites until set again): inside the entry's seqlock, so a reader pairs it with
 * the levels written after it. Same ordering rule as pub_conflated_state_set.
 */
void pub_conflated_instrument_state_set(struct pub_conflated *view, uint32_t slot, uint8_t state);

/* Marks slots [first, first + count) empty (a new session cleared the books); also makes a view's first use. */
void pub_conflated_clear(struct pub_conflated *view, uint32_t first, uint32_t count);

#endif
