/*
 * conflated: the current top N levels per side of every instrument, in shared memory
 * next to a publish ring (/dev/shm/<ring>-<lcore>-top), for consumers that join late
 * or were lapped: they take the books as they are now instead of replaying history.
 * One entry per (feed, instrument) slot, each its own seqlock: the RX lcore rewrites
 * the entries an exchange packet touched at the end of that packet (version odd while
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

/* The producer's state: its own copies of everything; the shared side is written only. */
struct pub_conflated {
	struct conflated_header *header;	/* shared: written only */
	uint8_t *entries;			/* shared: written only */
	uint64_t *versions;			/* each entry's seqlock version, by slot */
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

static inline struct conflated_entry *pub_conflated_entry(struct pub_conflated *view, uint32_t slot)
{
	return (struct conflated_entry *)(view->entries + (size_t)slot * view->entry_size);
}

/* Rewrites a slot from the book's instrument `index` of feed `feed`. */
void pub_conflated_update(struct pub_conflated *view, uint32_t slot, uint8_t feed,
			  const struct book *book, int32_t index, uint64_t ring_seq);

/* Marks slots [first, first + count) empty (a new session cleared the books). */
void pub_conflated_clear(struct pub_conflated *view, uint32_t first, uint32_t count);

#endif
