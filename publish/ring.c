/*
 * ring: publish ring producer (see ring.h and ring_layout.h).
 */
#include "publish/ring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int pub_ring_create(struct pub_ring *ring, const char *name, uint64_t capacity, mode_t mode,
		    gid_t gid, char *err, size_t err_size)
{
	struct ring_header *header;
	struct timespec now;
	struct stat st;
	size_t size;
	void *map;
	int fd, rc;

	memset(ring, 0, sizeof(*ring));
	if (capacity < 2 || (capacity & (capacity - 1)) != 0) {
		snprintf(err, err_size, "ring %s: capacity %llu is not a power of two >= 2", name,
			 (unsigned long long)capacity);
		return -EINVAL;
	}
	size = RING_HEADER_SIZE + capacity * sizeof(struct fh_event);
	fd = shm_open(name, O_RDWR | O_CREAT, mode);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, err_size, "ring %s: shm_open: %s", name, strerror(errno));
		return rc;
	}
	/*
	 * Taking over a segment: its mode and group follow the config, not the past, and it
	 * never shrinks: a consumer still mapping the old size must not fault on it.
	 */
	if (fchmod(fd, mode) != 0 || (gid != (gid_t)-1 && fchown(fd, (uid_t)-1, gid) != 0) ||
	    fstat(fd, &st) != 0 || ftruncate(fd, (off_t)(size > (size_t)st.st_size ? size : (size_t)st.st_size)) != 0) {
		rc = -errno;
		snprintf(err, err_size, "ring %s: %s", name, strerror(errno));
		close(fd);
		return rc;
	}
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		rc = -errno;
		snprintf(err, err_size, "ring %s: mmap of %zu bytes: %s", name, size, strerror(errno));
		return rc;
	}
	header = map;
	/*
	 * A consumer of the previous generation may be reading: retire it first (no magic
	 * while we work, a new generation, head 0), then clear the records, then publish
	 * the new layout and, last, the magic that says it is ready.
	 */
	__atomic_store_n(&header->magic, 0, __ATOMIC_RELEASE);
	clock_gettime(CLOCK_REALTIME, &now);
	__atomic_store_n(&header->generation,
			 ((uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec) | 1,
			 __ATOMIC_RELEASE);
	__atomic_store_n(&header->head, 0, __ATOMIC_RELEASE);
	memset((uint8_t *)map + RING_HEADER_SIZE, 0, size - RING_HEADER_SIZE);
	header->layout_version = FH_EVENT_LAYOUT_VERSION;
	header->record_size = sizeof(struct fh_event);
	header->capacity = capacity;
	header->producer_pid = (uint32_t)getpid();
	__atomic_store_n(&header->state, RING_STATE_LIVE, __ATOMIC_RELEASE);
	__atomic_store_n(&header->magic, RING_MAGIC, __ATOMIC_RELEASE);
	ring->header = header;
	ring->records = (struct fh_event *)((uint8_t *)map + RING_HEADER_SIZE);
	ring->mask = capacity - 1;
	ring->size = size;
	return 0;
}

void pub_ring_feed_name_set(struct pub_ring *ring, uint8_t feed, const char *name)
{
	if (feed < RING_FEEDS_MAX)
		snprintf(ring->header->feed_names[feed], RING_FEED_NAME_MAX, "%s", name);
}

void pub_ring_close(struct pub_ring *ring)
{
	if (ring->header == NULL)
		return;
	__atomic_store_n(&ring->header->state, RING_STATE_STOPPED, __ATOMIC_RELEASE);
	munmap(ring->header, ring->size);
	memset(ring, 0, sizeof(*ring));
}
