/*
 * conflated: top-of-book snapshots in shared memory (see conflated.h).
 */
#include "publish/conflated.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int pub_conflated_create(struct pub_conflated *view, const char *name, uint32_t slots,
			 uint32_t depth, uint64_t generation, mode_t mode, gid_t gid,
			 char *err, size_t err_size)
{
	uint32_t entry_size = (uint32_t)(sizeof(struct conflated_entry) +
					 2 * depth * sizeof(struct conflated_level));
	size_t size;
	struct stat st;
	void *map;
	int fd, rc;

	memset(view, 0, sizeof(*view));
	if (depth == 0 || depth > CONFLATED_DEPTH_MAX || slots == 0) {
		snprintf(err, err_size, "%s: depth %u or slots %u out of range", name, depth, slots);
		return -EINVAL;
	}
	entry_size = (entry_size + 63) & ~63u;	/* entries on their own cache lines */
	size = CONFLATED_HEADER_SIZE + (size_t)slots * entry_size;
	fd = shm_open(name, O_RDWR | O_CREAT, mode);
	if (fd < 0 || fchmod(fd, mode) != 0 || (gid != (gid_t)-1 && fchown(fd, (uid_t)-1, gid) != 0) ||
	    fstat(fd, &st) != 0 ||
	    ftruncate(fd, (off_t)(size > (size_t)st.st_size ? size : (size_t)st.st_size)) != 0) {
		rc = -errno;
		snprintf(err, err_size, "%s: %s", name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		snprintf(err, err_size, "%s: mmap: %s", name, strerror(errno));
		return -errno;
	}
	view->header = map;
	__atomic_store_n(&view->header->magic, 0, __ATOMIC_RELEASE);
	memset((uint8_t *)map + CONFLATED_HEADER_SIZE, 0, size - CONFLATED_HEADER_SIZE);
	view->header->version = CONFLATED_VERSION;
	view->header->depth = depth;
	view->header->slots = slots;
	view->header->entry_size = entry_size;
	view->header->generation = generation;
	__atomic_store_n(&view->header->magic, CONFLATED_MAGIC, __ATOMIC_RELEASE);
	view->entries = (uint8_t *)map + CONFLATED_HEADER_SIZE;
	view->depth = depth;
	view->entry_size = entry_size;
	view->slots = slots;
	view->size = size;
	return 0;
}

void pub_conflated_close(struct pub_conflated *view)
{
	if (view->header != NULL)
		munmap(view->header, view->size);
	memset(view, 0, sizeof(*view));
}

static void pub_conflated_write_begin(struct conflated_entry *e)
{
	__atomic_store_n(&e->version, e->version + 1, __ATOMIC_RELAXED);	/* odd */
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void pub_conflated_write_end(struct conflated_entry *e)
{
	__atomic_store_n(&e->version, e->version + 1, __ATOMIC_RELEASE);	/* even */
}

void pub_conflated_update(struct pub_conflated *view, uint32_t slot, uint8_t feed,
			  const struct book *book, int32_t index, uint64_t ring_seq)
{
	const struct book_instrument *in = &book->instruments[index];
	struct conflated_entry *e;

	if (slot >= view->slots)
		return;
	e = pub_conflated_entry(view, slot);
	pub_conflated_write_begin(e);
	e->ring_seq = ring_seq;
	e->instrument = in->key;
	e->feed = feed;
	e->used = 1;
	e->price_decimals = in->price_decimals;
	memset(e->symbol, 0, sizeof(e->symbol));
	memcpy(e->symbol, in->symbol, in->symbol_len);
	for (int side = 0; side < BOOK_SIDES; side++) {
		const struct book_levels *levels = &in->sides[side];
		struct conflated_level *out = &e->levels[side * view->depth];
		uint32_t n = levels->count < view->depth ? levels->count : view->depth;

		for (uint32_t i = 0; i < n; i++) {
			out[i].price = book_level_price(levels, (enum book_side)side, i);
			out[i].shares = levels->shares[levels->count - 1 - i];
			out[i].orders = levels->orders[levels->count - 1 - i];
		}
		if (side == BOOK_SIDE_BID)
			e->bid_count = n;
		else
			e->ask_count = n;
	}
	pub_conflated_write_end(e);
}

void pub_conflated_clear(struct pub_conflated *view, uint32_t first, uint32_t count)
{
	for (uint32_t s = first; s < first + count && s < view->slots; s++) {
		struct conflated_entry *e = pub_conflated_entry(view, s);

		pub_conflated_write_begin(e);
		e->used = 0;
		e->bid_count = e->ask_count = 0;
		pub_conflated_write_end(e);
	}
}
