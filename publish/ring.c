/*
 * ring: publish ring producer (see ring.h and ring_layout.h).
 */
#include "publish/ring.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "book/util/clock.h"

int pub_ring_create(struct pub_ring *ring, const char *name, uint64_t capacity, mode_t mode,
		    gid_t gid, char *err, size_t err_size)
{
	struct ring_header *header;
	size_t size;
	int rc;

	assert(ring != NULL && name != NULL);
	memset(ring, 0, sizeof(*ring));
	ring->segment.fd = -1;
	if (capacity < 2 || (capacity & (capacity - 1)) != 0 ||
	    capacity > (SIZE_MAX - RING_HEADER_SIZE) / sizeof(struct fh_event)) {
		snprintf(err, err_size, "ring %s: capacity %llu is not a power of two >= 2", name,
			 (unsigned long long)capacity);
		return -EINVAL;
	}
	size = RING_HEADER_SIZE + capacity * sizeof(struct fh_event);
	rc = shm_segment_create(&ring->segment, "ring", name, size, err, err_size);
	if (rc != 0)
		return rc;
	/* A new, zero-filled inode only we can open: fill it, magic last, then share it. */
	header = ring->segment.map;
	ring->generation = clock_realtime_ns() | 1;
	ring->capacity = capacity;
	ring->mask = capacity - 1;
	ring->head = 0;
	ring->header = header;
	ring->records = (struct fh_event *)((uint8_t *)header + RING_HEADER_SIZE);
	header->layout_version = FH_EVENT_LAYOUT_VERSION;
	header->record_size = sizeof(struct fh_event);
	header->capacity = ring->capacity;
	header->generation = ring->generation;
	header->producer_pid = (uint32_t)getpid();
	__atomic_store_n(&header->head, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&header->state, RING_STATE_LIVE, __ATOMIC_RELEASE);
	__atomic_store_n(&header->magic, RING_MAGIC, __ATOMIC_RELEASE);
	rc = shm_segment_share(&ring->segment, "ring", mode, gid, err, err_size);
	if (rc != 0) {
		shm_segment_remove(&ring->segment);
		memset(ring, 0, sizeof(*ring));
		ring->segment.fd = -1;
		return rc;
	}
	assert(ring->segment.size == size && ring->mask + 1 == ring->capacity && (ring->mask & ring->capacity) == 0);
	assert(ring->generation != 0 && ring->head == 0);
	return 0;
}

void pub_ring_feed_name_set(struct pub_ring *ring, uint8_t feed, const char *name)
{
	assert(ring->header != NULL && name != NULL);
	if (feed < RING_FEEDS_MAX)
		snprintf(ring->header->feed_names[feed], RING_FEED_NAME_MAX, "%s", name);
}

void pub_ring_close(struct pub_ring *ring)
{
	if (ring->header == NULL)
		return;
	__atomic_store_n(&ring->header->state, RING_STATE_STOPPED, __ATOMIC_RELEASE);
	shm_segment_close(&ring->segment);
	memset(ring, 0, sizeof(*ring));
	ring->segment.fd = -1;
	assert(ring->header == NULL && ring->records == NULL);
}

void pub_ring_stop(struct pub_ring *ring)
{
	struct fh_event *e = pub_ring_claim(ring);

	memset((uint8_t *)e + sizeof(e->seq), 0, sizeof(*e) - sizeof(e->seq));
	e->type = FH_EVENT_STOP;
	pub_ring_commit(ring, e);
}
