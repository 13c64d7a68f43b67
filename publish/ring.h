/*
 * ring: the producer side of a publish ring (one per RX lcore). A broadcast ring in
 * shared memory (/dev/shm/NAME) that never waits for a consumer: it overwrites the
 * oldest record, and a consumer that falls a whole ring behind learns on its next poll
 * exactly how many records it lost. Created before the RX lcores start, prefaulted;
 * publishing allocates nothing and takes no lock.
 */
#ifndef FH_PUBLISH_RING_H
#define FH_PUBLISH_RING_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "publish/libfh/fh_event.h"
#include "publish/libfh/ring_layout.h"
#include "publish/shm_segment.h"

/*
 * The producer's state. Everything it needs is kept here, privately: the shared header
 * is only ever written, never read back, since whatever is in shared memory may not be
 * what fhd put there.
 */
struct pub_ring {
	struct ring_header *header;	/* shared: written only */
	struct fh_event *records;	/* shared: written only */
	uint64_t mask;
	uint64_t head;			/* the head published (header->head is its copy) */
	uint64_t capacity;
	uint64_t generation;		/* what header->generation says */
	struct shm_segment segment;
};

/*
 * Creates the segment /dev/shm/NAME, a new inode (shm_segment_create: a previous one
 * of fhd's user is replaced, one of another user or of a running fhd refused), with
 * `capacity` records (a power of two), then gives it mode `mode` and group `gid`
 * (-1: unchanged). Consumers attached to a previous segment notice that the name now
 * holds another inode and reattach. 0 or -errno, with a message in err.
 */
int pub_ring_create(struct pub_ring *ring, const char *name, uint64_t capacity, mode_t mode,
		    gid_t gid, char *err, size_t err_size);

/* Names feed index `feed` for consumers (set before publishing). */
void pub_ring_feed_name_set(struct pub_ring *ring, uint8_t feed, const char *name);

/* Marks the ring stopped, unmaps and unlocks it; the segment stays for consumers to drain. */
void pub_ring_close(struct pub_ring *ring);

/* Publishes STOP: fhd stops cleanly, nothing follows from this generation. */
void pub_ring_stop(struct pub_ring *ring);

/* The slot for the next record; fill it (all but seq), then pub_ring_commit. */
static inline struct fh_event *pub_ring_claim(struct pub_ring *ring)
{
	/* mask is capacity - 1, fixed at create (asserted there): the index stays inside. */
	struct fh_event *slot = &ring->records[ring->head & ring->mask];

	__atomic_store_n(&slot->seq, 0, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	return slot;
}

/* Publishes the claimed slot; returns its sequence number. */
static inline uint64_t pub_ring_commit(struct pub_ring *ring, struct fh_event *slot)
{
	uint64_t seq;

	/* Exactly the slot claimed last: head has not moved since (no double commit). */
	assert(slot == &ring->records[ring->head & ring->mask]);
	seq = ++ring->head;

	__atomic_store_n(&slot->seq, seq, __ATOMIC_RELEASE);
	__atomic_store_n(&ring->header->head, seq, __ATOMIC_RELEASE);
	return seq;
}

/* Copies a whole event into the ring (its seq is set); returns the sequence number. */
static inline uint64_t pub_ring_publish(struct pub_ring *ring, const struct fh_event *event)
{
	struct fh_event *slot = pub_ring_claim(ring);

	slot->type = event->type;
	slot->side = event->side;
	slot->feed = event->feed;
	slot->flags = event->flags;
	slot->instrument = event->instrument;
	slot->exchange_ts_ns = event->exchange_ts_ns;
	slot->rx_ts_ns = event->rx_ts_ns;
	slot->publish_delta_ns = event->publish_delta_ns;
	slot->quantity = event->quantity;
	slot->body = event->body;
	return pub_ring_commit(ring, slot);
}

#endif
