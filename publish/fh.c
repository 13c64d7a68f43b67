/*
 * fh: publish ring consumer (see fh.h and ring_layout.h for the protocol).
 */
#include "publish/fh.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "publish/conflated_layout.h"
#include "publish/ring_layout.h"

struct fh_consumer {
	char name[256];
	const struct ring_header *header;
	const struct fh_event *records;
	size_t size;
	uint64_t capacity;
	uint64_t mask;
	uint64_t generation;
	uint64_t next;			/* sequence number wanted next */
	uint64_t lost_pending;		/* a lap seen while returning events; reported next */
	const struct conflated_header *view;	/* NULL: no conflated view */
	size_t view_size;
	uint64_t lost_last;
	uint64_t lost_total;
	dev_t dev;			/* the inode mapped: a restarted fhd makes a new one */
	ino_t ino;
	uint64_t replaced_checked_ns;	/* when fh_replaced last looked */
};

#define FH_REPLACED_CHECK_NS 10000000ull	/* a live ring's name is looked up every 10 ms at most */

/*
 * Whether the ring's name now holds another inode than the one mapped: fhd restarted
 * (it always creates a new segment). Looked up at most every 10 ms while the ring is
 * live (idle polls stay cheap), every time once it is stopped.
 */
static bool fh_replaced(struct fh_consumer *c)
{
	char path[300];
	struct timespec now;
	struct stat st;
	uint64_t now_ns;

	if (__atomic_load_n(&c->header->state, __ATOMIC_ACQUIRE) != RING_STATE_STOPPED) {
		clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
		now_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
		if (now_ns - c->replaced_checked_ns < FH_REPLACED_CHECK_NS)
			return false;
		c->replaced_checked_ns = now_ns;
	}
	snprintf(path, sizeof(path), "/dev/shm%s", c->name);
	return fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       (st.st_dev != c->dev || st.st_ino != c->ino);
}

static int fh_map(struct fh_consumer *c, char *err, size_t err_size)
{
	const struct ring_header *h;
	struct stat st;
	void *map;
	int fd = shm_open(c->name, O_RDONLY, 0);

	if (fd < 0) {
		int rc = -errno;

		snprintf(err, err_size, "ring %s: %s", c->name,
			 errno == ENOENT ? "no such ring (is fhd running?)" : strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) != 0 || (size_t)st.st_size < RING_HEADER_SIZE) {
		close(fd);
		snprintf(err, err_size, "ring %s: not initialised yet", c->name);
		return -ENOENT;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		snprintf(err, err_size, "ring %s: mmap: %s", c->name, strerror(errno));
		return -errno;
	}
	h = map;
	if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != RING_MAGIC) {
		uint64_t magic = __atomic_load_n(&h->magic, __ATOMIC_ACQUIRE);

		munmap(map, (size_t)st.st_size);
		/* 0: a producer is (re)initialising it right now; try again shortly. */
		snprintf(err, err_size, "ring %s: %s", c->name,
			 magic == 0 ? "not initialised yet" : "not an fh ring (bad magic)");
		return magic == 0 ? -ENOENT : -EINVAL;
	}
	if (h->layout_version != FH_EVENT_LAYOUT_VERSION || h->record_size != sizeof(struct fh_event)) {
		snprintf(err, err_size,
			 "ring %s: event layout version %u (%u-byte records), this program was built "
			 "for version %u (%zu bytes): rebuild it against the installed fh headers",
			 c->name, h->layout_version, h->record_size, FH_EVENT_LAYOUT_VERSION,
			 sizeof(struct fh_event));
		munmap(map, (size_t)st.st_size);
		return -EPROTO;
	}
	if (RING_HEADER_SIZE + h->capacity * sizeof(struct fh_event) > (size_t)st.st_size) {
		munmap(map, (size_t)st.st_size);
		snprintf(err, err_size, "ring %s: segment smaller than its capacity", c->name);
		return -EINVAL;
	}
	c->header = h;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->records = (const struct fh_event *)((const uint8_t *)map + RING_HEADER_SIZE);
	c->size = (size_t)st.st_size;
	c->capacity = h->capacity;
	c->mask = h->capacity - 1;
	c->generation = __atomic_load_n(&h->generation, __ATOMIC_ACQUIRE);
	return 0;
}

/* Maps NAME-top, the conflated view, if fhd publishes one. */
static void fh_view_map(struct fh_consumer *c)
{
	char name[300];
	struct stat st;
	void *map;
	int fd;

	if (c->view != NULL)
		munmap((void *)c->view, c->view_size);
	c->view = NULL;
	snprintf(name, sizeof(name), "%s-top", c->name);
	fd = shm_open(name, O_RDONLY, 0);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && (size_t)st.st_size >= CONFLATED_HEADER_SIZE) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
		if (map != MAP_FAILED) {
			const struct conflated_header *h = map;

			if (h->magic == CONFLATED_MAGIC && h->version == CONFLATED_VERSION &&
			    CONFLATED_HEADER_SIZE + (size_t)h->slots * h->entry_size <= (size_t)st.st_size &&
			    h->depth <= FH_TOP_DEPTH_MAX) {
				c->view = h;
				c->view_size = (size_t)st.st_size;
			} else {
				munmap(map, (size_t)st.st_size);
			}
		}
	}
	close(fd);
}

uint32_t fh_top_slots(struct fh_consumer *c)
{
	/* Attached before fhd had created the view: look again. */
	if (c->view == NULL)
		fh_view_map(c);
	return c->view != NULL ? c->view->slots : 0;
}

int fh_top_read(struct fh_consumer *c, uint32_t slot, struct fh_top *top)
{
	const struct conflated_entry *e;
	uint32_t depth;

	if (c->view == NULL || slot >= c->view->slots)
		return -ENOENT;
	depth = c->view->depth;
	e = (const struct conflated_entry *)((const uint8_t *)c->view + CONFLATED_HEADER_SIZE +
					     (size_t)slot * c->view->entry_size);
	for (int attempt = 0; attempt < 1000; attempt++) {
		uint64_t before = __atomic_load_n(&e->version, __ATOMIC_ACQUIRE), after;
		uint32_t nb, na;

		if (before & 1)
			continue;
		top->ring_seq = e->ring_seq;
		top->instrument = e->instrument;
		top->feed = e->feed;
		top->price_decimals = e->price_decimals;
		memcpy(top->symbol, e->symbol, 16);
		top->symbol[16] = '\0';
		nb = e->bid_count < depth ? e->bid_count : depth;
		na = e->ask_count < depth ? e->ask_count : depth;
		for (uint32_t i = 0; i < nb; i++) {
			top->bids[i].price = e->levels[i].price;
			top->bids[i].shares = e->levels[i].shares;
			top->bids[i].orders = e->levels[i].orders;
		}
		for (uint32_t i = 0; i < na; i++) {
			top->asks[i].price = e->levels[depth + i].price;
			top->asks[i].shares = e->levels[depth + i].shares;
			top->asks[i].orders = e->levels[depth + i].orders;
		}
		top->bid_count = nb;
		top->ask_count = na;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		after = __atomic_load_n(&e->version, __ATOMIC_RELAXED);
		if (after == before)
			return e->used ? 0 : -ENOENT;
	}
	return -EAGAIN;
}

static uint64_t fh_oldest(const struct fh_consumer *c, uint64_t head)
{
	return head >= c->capacity ? head - c->capacity + 1 : 1;
}

int fh_attach(const char *name, enum fh_start start, struct fh_consumer **consumer,
	      char *err, size_t err_size)
{
	struct fh_consumer *c = calloc(1, sizeof(*c));
	uint64_t head;
	int rc;

	if (c == NULL)
		return -ENOMEM;
	snprintf(c->name, sizeof(c->name), "%s%s", name[0] == '/' ? "" : "/", name);
	rc = fh_map(c, err, err_size);
	if (rc != 0) {
		free(c);
		return rc;
	}
	head = __atomic_load_n(&c->header->head, __ATOMIC_ACQUIRE);
	c->next = start == FH_START_NOW ? head + 1 : fh_oldest(c, head);
	fh_view_map(c);
	*consumer = c;
	return 0;
}

/* The producer lapped us: continue half a ring behind its head; count what we skip. */
static uint64_t fh_resync(struct fh_consumer *c)
{
	uint64_t head = __atomic_load_n(&c->header->head, __ATOMIC_ACQUIRE);
	uint64_t next = head > c->capacity / 2 ? head - c->capacity / 2 + 1 : 1;
	uint64_t lost;

	if (next < c->next)
		next = c->next;
	lost = next - c->next;
	c->next = next;
	return lost;
}

static int fh_lapped(struct fh_consumer *c, uint64_t lost)
{
	c->lost_last = lost;
	c->lost_total += lost;
	return FH_POLL_LAPPED;
}

int fh_poll(struct fh_consumer *c, struct fh_event *events, int max)
{
	uint64_t head;
	int n = 0;

	if (c->header == NULL)	/* a reattach that failed: it is still to be done */
		return FH_POLL_RESTARTED;
	if (c->lost_pending > 0) {
		uint64_t lost = c->lost_pending;

		c->lost_pending = 0;
		return fh_lapped(c, lost);
	}
	if (__atomic_load_n(&c->header->generation, __ATOMIC_ACQUIRE) != c->generation)
		return FH_POLL_RESTARTED;
	head = __atomic_load_n(&c->header->head, __ATOMIC_ACQUIRE);
	if (c->next > head && fh_replaced(c))
		return FH_POLL_RESTARTED;
	if (c->next + c->capacity <= head)
		return fh_lapped(c, fh_resync(c));
	while (n < max && c->next <= head) {
		const struct fh_event *slot = &c->records[(c->next - 1) & c->mask];
		uint64_t before = __atomic_load_n(&slot->seq, __ATOMIC_ACQUIRE), after;

		if (before == c->next) {
			memcpy(&events[n], slot, sizeof(events[n]));
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			after = __atomic_load_n(&slot->seq, __ATOMIC_RELAXED);
			if (after == before) {
				events[n].seq = before;
				n++;
				c->next++;
				continue;
			}
		}
		/* Overwritten under us (or being written for a later lap). */
		if (n == 0)
			return fh_lapped(c, fh_resync(c));
		c->lost_pending = fh_resync(c);
		break;
	}
	return n;
}

uint64_t fh_lost_last(const struct fh_consumer *c)
{
	return c->lost_last;
}

uint64_t fh_lost_total(const struct fh_consumer *c)
{
	return c->lost_total;
}

int fh_reattach(struct fh_consumer *c, char *err, size_t err_size)
{
	int rc;

	if (c->header != NULL)
		munmap((void *)c->header, c->size);
	c->header = NULL;
	c->next = 1;
	c->lost_pending = 0;
	rc = fh_map(c, err, err_size);
	if (rc == 0)
		fh_view_map(c);
	return rc;
}

bool fh_stopped(const struct fh_consumer *c)
{
	return c->header != NULL &&
	       __atomic_load_n(&c->header->state, __ATOMIC_ACQUIRE) == RING_STATE_STOPPED &&
	       c->next > __atomic_load_n(&c->header->head, __ATOMIC_ACQUIRE);
}

const char *fh_feed_name(const struct fh_consumer *c, uint8_t feed)
{
	return c->header != NULL && feed < RING_FEEDS_MAX ? c->header->feed_names[feed] : "";
}

uint64_t fh_next_seq(const struct fh_consumer *c)
{
	return c->next;
}

void fh_detach(struct fh_consumer *c)
{
	if (c == NULL)
		return;
	if (c->header != NULL)
		munmap((void *)c->header, c->size);
	if (c->view != NULL)
		munmap((void *)c->view, c->view_size);
	free(c);
}
