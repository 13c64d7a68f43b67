/*
 * fh: publish ring consumer (see fh.h and ring_layout.h for the protocol). The
 * segments are written by another process, so nothing in them is trusted: the header
 * is validated once at map time and its fields are kept here, and what is read back
 * from the live mapping later is only compared, masked or clamped before use. The
 * asserts here are on libfh's own state (the validated copies, its buffers), never
 * on what the segments hold: bad segment data is refused, not a crash.
 */
#define FH_LIBRARY_BUILD	/* fh.h: declare the exported fh_attach, not the inline one */
#include "publish/libfh/fh.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "book/util/clock.h"
#include "publish/libfh/conflated_layout.h"
#include "publish/libfh/ring_layout.h"

/* Bounds a hostile view could otherwise push to 2^32 (16 feeds x 65536 instruments fit). */
#define FH_VIEW_SLOTS_MAX (1u << 24)
#define FH_NAME_MAX 255

_Static_assert(FH_TOP_DEPTH_MAX == CONFLATED_DEPTH_MAX, "fh_top holds a whole view entry");
_Static_assert(sizeof(struct conflated_entry) == 48 && sizeof(struct conflated_level) == 24,
	       "view entry layout");

struct fh_consumer {
	char name[FH_NAME_MAX + 2];	/* "/NAME" for shm_open */
	char path[FH_NAME_MAX + 16];	/* "/dev/shm/NAME" for the restart check */
	const struct ring_header *header;
	const struct fh_event *records;
	size_t size;
	uint64_t capacity;		/* validated copies of the header's fields */
	uint64_t mask;
	uint64_t generation;
	dev_t dev;			/* the file mapped: another one at path is a restart */
	ino_t ino;
	uint64_t next;			/* sequence number wanted next */
	uint64_t path_checked_ns;	/* CLOCK_MONOTONIC_COARSE of the last restart check */
	uint64_t stall_since_ns;	/* 0, or when event `next` was first found unreadable */
	const struct conflated_header *view;	/* NULL: no conflated view */
	size_t view_size;
	uint32_t view_slots, view_depth, view_entry_size;
	dev_t view_dev;
	ino_t view_ino;
	uint64_t view_checked_ns;
	uint64_t lost_last;
	uint64_t lost_total;
	char error[640];
	/* fh_feed_name's copies; written through this pointer from a const consumer. */
	char (*names)[RING_FEED_NAME_MAX];
	char names_storage[RING_FEEDS_MAX][RING_FEED_NAME_MAX];
};

/* "uid N (user)" or "uid N". */
static void fh_uid_text(char *out, size_t size, uid_t uid)
{
	struct passwd pw, *found = NULL;
	char buffer[1024];

	if (getpwuid_r(uid, &pw, buffer, sizeof(buffer), &found) == 0 && found != NULL)
		snprintf(out, size, "uid %u (%s)", (unsigned)uid, found->pw_name);
	else
		snprintf(out, size, "uid %u", (unsigned)uid);
}

/*
 * The producer uid named by FH_PRODUCER_UID (a number or a user name): 0 and *uid,
 * -ENOENT (not set), or -EINVAL (set to something that is neither).
 */
static int fh_producer_uid_get(uid_t *uid)
{
	const char *text = getenv("FH_PRODUCER_UID");
	struct passwd pw, *found = NULL;
	char buffer[1024], *end;
	unsigned long value;

	if (text == NULL || text[0] == '\0')
		return -ENOENT;
	errno = 0;
	value = strtoul(text, &end, 10);
	if (*end == '\0' && errno == 0 && value < (uid_t)-1) {
		*uid = (uid_t)value;
		return 0;
	}
	if (getpwnam_r(text, &pw, buffer, sizeof(buffer), &found) == 0 && found != NULL) {
		*uid = found->pw_uid;
		return 0;
	}
	return -EINVAL;
}

/*
 * Opens "/NAME" under the trust rules (fh.h): the descriptor and its fstat, or -errno
 * with a message naming /dev/shm/NAME.
 */
static int fh_segment_open_stat(const char *name, struct stat *st, char *err, size_t err_size)
{
	char owner[300], producer[300] = "";
	bool producer_set;
	uid_t uid = 0;
	int fd, rc;

	if (name[0] != '/' || name[1] == '\0' || strchr(name + 1, '/') != NULL ||
	    strlen(name) > FH_NAME_MAX) {
		snprintf(err, err_size, "segment name '%.64s': not a plain name", name);
		return -EINVAL;
	}
	rc = fh_producer_uid_get(&uid);
	producer_set = rc == 0;
	if (rc == -EINVAL) {
		snprintf(err, err_size, "FH_PRODUCER_UID '%.64s': neither a uid nor a user name",
			 getenv("FH_PRODUCER_UID"));
		return -EINVAL;
	}
	/* Non-blocking: a FIFO planted at the name must not hang open(). */
	fd = shm_open(name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, err_size, "/dev/shm%s: %s", name,
			 errno == ELOOP ? "a symbolic link: refused" : strerror(errno));
		return rc == -ELOOP ? -EPERM : rc;
	}
	if (fstat(fd, st) != 0) {
		rc = -errno;
		snprintf(err, err_size, "/dev/shm%s: %s", name, strerror(errno));
		close(fd);
		return rc;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, err_size, "/dev/shm%s: not a regular file (%s): refused", name,
			 S_ISFIFO(st->st_mode) ? "a FIFO" : S_ISDIR(st->st_mode) ? "a directory" :
			 S_ISSOCK(st->st_mode) ? "a socket" : "a device");
		close(fd);
		return -EINVAL;
	}
	if (st->st_uid != 0 && st->st_uid != geteuid() && (!producer_set || st->st_uid != uid)) {
		fh_uid_text(owner, sizeof(owner), st->st_uid);
		if (producer_set)
			fh_uid_text(producer, sizeof(producer), uid);
		snprintf(err, err_size,
			 "/dev/shm%s: owned by %s, not by root, you (uid %u)%s%s: refused (if that "
			 "user runs fhd, set FH_PRODUCER_UID=%u)", name, owner, (unsigned)geteuid(),
			 producer_set ? " or FH_PRODUCER_UID's " : "", producer, (unsigned)st->st_uid);
		close(fd);
		return -EPERM;
	}
	if ((st->st_mode & 022) != 0) {
		fh_uid_text(owner, sizeof(owner), st->st_uid);
		snprintf(err, err_size, "/dev/shm%s: mode %04o lets users other than its owner (%s) "
			 "write it: refused", name, (unsigned)(st->st_mode & 07777), owner);
		close(fd);
		return -EPERM;
	}
	return fd;
}

int fh_segment_open(const char *name, uint64_t *size, char *err, size_t err_size)
{
	char slashed[FH_NAME_MAX + 2];
	struct stat st;
	int fd;

	assert(name != NULL && size != NULL);
	if (strlen(name) > FH_NAME_MAX) {
		snprintf(err, err_size, "segment name '%.64s...': too long", name);
		return -EINVAL;
	}
	snprintf(slashed, sizeof(slashed), "%s%s", name[0] == '/' ? "" : "/", name);
	fd = fh_segment_open_stat(slashed, &st, err, err_size);
	if (fd >= 0)
		*size = (uint64_t)st.st_size;
	return fd;
}

static int fh_map(struct fh_consumer *c, char *err, size_t err_size)
{
	const struct ring_header *h;
	uint64_t magic, capacity, generation;
	uint32_t layout_version, record_size, state;
	struct stat st;
	size_t size;
	void *map;
	int fd = fh_segment_open_stat(c->name, &st, err, err_size);

	if (fd < 0) {
		if (fd == -ENOENT)
			snprintf(err, err_size, "ring %s: no such ring (is fhd running?)", c->name);
		return fd;
	}
	/* Smaller than a header: fhd is between creating the file and sizing it. */
	if ((uint64_t)st.st_size < RING_HEADER_SIZE || (uint64_t)st.st_size > SIZE_MAX) {
		close(fd);
		snprintf(err, err_size, "ring %s: not initialised yet (%lld bytes)", c->name,
			 (long long)st.st_size);
		return -ENOENT;
	}
	size = (size_t)st.st_size;
	map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		int rc = -errno;

		snprintf(err, err_size, "ring %s: mmap: %s", c->name, strerror(errno));
		return rc;
	}
	h = map;
	/* Each field read once: what is checked is what is used. */
	magic = __atomic_load_n(&h->magic, __ATOMIC_ACQUIRE);
	layout_version = __atomic_load_n(&h->layout_version, __ATOMIC_RELAXED);
	record_size = __atomic_load_n(&h->record_size, __ATOMIC_RELAXED);
	capacity = __atomic_load_n(&h->capacity, __ATOMIC_RELAXED);
	generation = __atomic_load_n(&h->generation, __ATOMIC_ACQUIRE);
	state = __atomic_load_n(&h->state, __ATOMIC_RELAXED);
	if (magic != RING_MAGIC) {
		munmap(map, size);
		/* 0: a producer is (re)initialising it right now; try again shortly. */
		snprintf(err, err_size, "ring %s: %s", c->name,
			 magic == 0 ? "not initialised yet" : "not an fh ring (bad magic)");
		return magic == 0 ? -ENOENT : -EINVAL;
	}
	if (layout_version != FH_EVENT_LAYOUT_VERSION || record_size != sizeof(struct fh_event)) {
		snprintf(err, err_size,
			 "ring %s: event layout version %u (%u-byte records), this libfh and the program "
			 "were built for version %u (%zu bytes): run the fhd and libfh of one release",
			 c->name, layout_version, record_size, FH_EVENT_LAYOUT_VERSION,
			 sizeof(struct fh_event));
		munmap(map, size);
		return -EPROTO;
	}
	/* Divided, not multiplied: capacity * 64 must not wrap past the check. */
	if (capacity < 2 || (capacity & (capacity - 1)) != 0 ||
	    capacity > (size - RING_HEADER_SIZE) / sizeof(struct fh_event)) {
		munmap(map, size);
		snprintf(err, err_size, "ring %s: capacity %llu is not a power of two >= 2 that fits "
			 "the %zu-byte segment", c->name, (unsigned long long)capacity, size);
		return -EINVAL;
	}
	if (generation == 0 || (state != RING_STATE_LIVE && state != RING_STATE_STOPPED)) {
		munmap(map, size);
		snprintf(err, err_size, "ring %s: malformed header (generation %llu, state %u)",
			 c->name, (unsigned long long)generation, state);
		return -EINVAL;
	}
	c->header = h;
	c->records = (const struct fh_event *)((const uint8_t *)map + RING_HEADER_SIZE);
	c->size = size;
	c->capacity = capacity;
	c->mask = capacity - 1;
	c->generation = generation;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->path_checked_ns = clock_monotonic_coarse_ns();
	c->stall_since_ns = 0;
	c->error[0] = '\0';
	/* The kept copies: every masked index lands on a record inside the mapping. */
	assert(c->mask + 1 == c->capacity && (c->capacity & c->mask) == 0);
	assert(c->capacity <= (c->size - RING_HEADER_SIZE) / sizeof(struct fh_event));
	return 0;
}

static void fh_view_unmap(struct fh_consumer *c)
{
	if (c->view != NULL)
		munmap((void *)c->view, c->view_size);
	c->view = NULL;
	c->view_slots = 0;
}

/* Maps NAME-top, the conflated view, if fhd publishes one and it is well formed. */
static void fh_view_map(struct fh_consumer *c)
{
	const struct conflated_header *h;
	uint32_t depth, slots, entry_size;
	char name[sizeof(c->name) + 8], err[480];
	struct stat st;
	void *map;
	int fd;

	fh_view_unmap(c);
	c->view_checked_ns = clock_monotonic_coarse_ns();
	snprintf(name, sizeof(name), "%s-top", c->name);
	fd = fh_segment_open_stat(name, &st, err, sizeof(err));
	if (fd < 0) {
		if (fd != -ENOENT)
			snprintf(c->error, sizeof(c->error), "conflated view: %s", err);
		return;
	}
	if ((uint64_t)st.st_size < CONFLATED_HEADER_SIZE || (uint64_t)st.st_size > SIZE_MAX) {
		close(fd);
		return;		/* not sized yet */
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return;
	h = map;
	depth = __atomic_load_n(&h->depth, __ATOMIC_RELAXED);
	slots = __atomic_load_n(&h->slots, __ATOMIC_RELAXED);
	entry_size = __atomic_load_n(&h->entry_size, __ATOMIC_RELAXED);
	/* The entry size is exactly the producer's (conflated.c): a whole entry, 64-byte aligned. */
	if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != CONFLATED_MAGIC ||
	    __atomic_load_n(&h->version, __ATOMIC_RELAXED) != CONFLATED_VERSION ||
	    depth == 0 || depth > FH_TOP_DEPTH_MAX || slots == 0 || slots > FH_VIEW_SLOTS_MAX ||
	    entry_size != ((sizeof(struct conflated_entry) + 2 * depth * sizeof(struct conflated_level) + 63) & ~(size_t)63) ||
	    CONFLATED_HEADER_SIZE + (uint64_t)slots * entry_size > (uint64_t)st.st_size) {
		if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != 0)	/* 0: being set up */
			snprintf(c->error, sizeof(c->error),
				 "conflated view /dev/shm%s: malformed header (depth %u, slots %u, entry "
				 "size %u, %lld bytes): not used", name, depth, slots, entry_size,
				 (long long)st.st_size);
		munmap(map, (size_t)st.st_size);
		return;
	}
	c->view = h;
	c->view_size = (size_t)st.st_size;
	c->view_slots = slots;
	c->view_depth = depth;
	c->view_entry_size = entry_size;
	c->view_dev = st.st_dev;
	c->view_ino = st.st_ino;
	/* fh_top_read relies on these: levels fit struct fh_top, entries fit the mapping. */
	assert(c->view_depth >= 1 && c->view_depth <= FH_TOP_DEPTH_MAX);
	assert(CONFLATED_HEADER_SIZE + (uint64_t)c->view_slots * c->view_entry_size <= c->view_size);
}

/* True if /dev/shm/NAME<suffix> no longer names the file dev/ino. */
static bool fh_path_moved(const struct fh_consumer *c, const char *suffix, dev_t dev, ino_t ino)
{
	char path[sizeof(c->path) + 8];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s", c->path, suffix);
	if (lstat(path, &st) != 0)
		return errno == ENOENT;
	return st.st_dev != dev || st.st_ino != ino;
}

uint32_t fh_top_slots(struct fh_consumer *c)
{
	uint64_t now = clock_monotonic_coarse_ns();

	/*
	 * Attached before fhd had created the view, or fhd replaced it: look again, at
	 * most every FH_PATH_CHECK_MS (callers ask once per slot).
	 */
	if (now - c->view_checked_ns >= (uint64_t)FH_PATH_CHECK_MS * 1000000u) {
		c->view_checked_ns = now;
		if (c->view == NULL || fh_path_moved(c, "-top", c->view_dev, c->view_ino))
			fh_view_map(c);
	}
	return c->view_slots;
}

int fh_top_read(struct fh_consumer *c, uint32_t slot, struct fh_top *top)
{
	const struct conflated_entry *e;
	uint32_t depth = c->view_depth;

	assert(top != NULL);
	if (c->view == NULL || slot >= c->view_slots)
		return -ENOENT;
	/* The depth kept at map time bounds the copies into top->bids and top->asks. */
	assert(depth >= 1 && depth <= FH_TOP_DEPTH_MAX);
	e = (const struct conflated_entry *)((const uint8_t *)c->view + CONFLATED_HEADER_SIZE +
					     (size_t)slot * c->view_entry_size);
	for (int attempt = 0; attempt < 1000; attempt++) {
		uint64_t before = __atomic_load_n(&e->version, __ATOMIC_ACQUIRE), after;
		uint32_t nb, na;
		uint8_t own;

		if (before & 1)
			continue;
		top->ring_seq = e->ring_seq;
		top->instrument = e->instrument;
		top->feed = e->feed;
		top->price_decimals = e->price_decimals;
		memcpy(top->symbol, e->symbol, 16);
		top->symbol[16] = '\0';
		/* Read once, then clamped: the counts index levels[]. */
		nb = __atomic_load_n(&e->bid_count, __ATOMIC_RELAXED);
		na = __atomic_load_n(&e->ask_count, __ATOMIC_RELAXED);
		nb = nb < depth ? nb : depth;
		na = na < depth ? na : depth;
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
		/* Between the copy and the check (conflated_layout.h says why). */
		own = __atomic_load_n(&e->state, __ATOMIC_RELAXED);
		top->state = __atomic_load_n(&c->view->feed_state[top->feed], __ATOMIC_ACQUIRE);
		if (own > top->state)	/* the worse of the feed's and the instrument's own */
			top->state = own;
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

/* What this library was built with. */
static const struct fh_abi fh_abi_library = FH_ABI_INIT;

const char *fh_version(void)
{
	return FH_VERSION_STRING;
}

/* "headers 0.2.0 (libfh.so.1, event layout 2, 64-byte events, ...)" of a descriptor. */
static void fh_abi_text(char *out, size_t size, const struct fh_abi *abi)
{
	snprintf(out, size, "%" PRIu32 ".%" PRIu32 ".%" PRIu32 " (libfh.so.%" PRIu32 ", event layout %"
		 PRIu32 ", %" PRIu32 "-byte events, %" PRIu32 "-byte fh_top of %" PRIu32 " %" PRIu32
		 "-byte levels)", abi->version / 10000, abi->version / 100 % 100, abi->version % 100,
		 abi->abi_major, abi->layout_version, abi->event_size, abi->top_size,
		 abi->top_depth_max, abi->top_level_size);
}

/*
 * The consumer's descriptor against the library's: 0, or -EPROTO with a message
 * naming both (or -EINVAL: no descriptor). Every field but version must be equal:
 * the events and tops this library copies out must have the size and meaning the
 * consumer reads them with. A shorter descriptor than ours (an older fh.h) is refused
 * with the sizes it has; a longer one (newer) is compared on the fields known here.
 */
static int fh_abi_check(const struct fh_abi *abi, char *err, size_t err_size)
{
	char mine[200], theirs[200];

	if (abi == NULL) {
		snprintf(err, err_size, "fh_attach_abi: no struct fh_abi given");
		return -EINVAL;
	}
	if (abi->size >= sizeof(*abi) && abi->abi_major == fh_abi_library.abi_major &&
	    abi->layout_version == fh_abi_library.layout_version &&
	    abi->event_size == fh_abi_library.event_size && abi->top_size == fh_abi_library.top_size &&
	    abi->top_level_size == fh_abi_library.top_level_size &&
	    abi->top_depth_max == fh_abi_library.top_depth_max)
		return 0;
	fh_abi_text(mine, sizeof(mine), &fh_abi_library);
	if (abi->size >= sizeof(*abi))
		fh_abi_text(theirs, sizeof(theirs), abi);
	else
		snprintf(theirs, sizeof(theirs), "with a %" PRIu32 "-byte struct fh_abi (this one has %zu)",
			 abi->size, sizeof(*abi));
	snprintf(err, err_size, "this program was built against fh headers %s, but the libfh it loaded "
		 "is %s: refused; rebuild the program against the installed headers "
		 "(pkg-config --cflags --libs fh), or run it with the libfh it was built with",
		 theirs, mine);
	return -EPROTO;
}

int fh_attach(const char *name, enum fh_start start, struct fh_consumer **consumer,
	      char *err, size_t err_size)
{
	return fh_attach_abi(&fh_abi_library, name, start, consumer, err, err_size);
}

int fh_attach_abi(const struct fh_abi *abi, const char *name, enum fh_start start,
		  struct fh_consumer **consumer, char *err, size_t err_size)
{
	struct fh_consumer *c;
	uint64_t head;
	int rc;

	assert(consumer != NULL);
	rc = fh_abi_check(abi, err, err_size);
	if (rc != 0)
		return rc;
	if (name == NULL || strlen(name) > FH_NAME_MAX) {
		snprintf(err, err_size, "ring name: missing or longer than %d bytes", FH_NAME_MAX);
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->names = c->names_storage;
	snprintf(c->name, sizeof(c->name), "%s%s", name[0] == '/' ? "" : "/", name);
	snprintf(c->path, sizeof(c->path), "/dev/shm%s", c->name);
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

/*
 * Nothing to return: the producer may be gone and its ring removed or replaced
 * (kill -9, rm, restart leaves the generation of an orphaned mapping unchanged).
 * Looks at the path at most every FH_PATH_CHECK_MS. FH_POLL_RESTARTED or `idle`.
 */
static int fh_idle(struct fh_consumer *c, int idle)
{
	uint64_t now = clock_monotonic_coarse_ns();

	if (now - c->path_checked_ns < (uint64_t)FH_PATH_CHECK_MS * 1000000u)
		return idle;
	c->path_checked_ns = now;
	return fh_path_moved(c, "", c->dev, c->ino) ? FH_POLL_RESTARTED : idle;
}

/*
 * Event c->next is published (head says so) but its slot holds another sequence
 * number, and the producer is not a ring ahead: a write in flight, a restart in
 * progress, or a ring that contradicts itself. 0 (not yet), FH_POLL_RESTARTED, or
 * FH_POLL_BROKEN once it has lasted FH_STALL_MS.
 */
static int fh_stall(struct fh_consumer *c, uint64_t seq, uint64_t head)
{
	uint64_t now = clock_monotonic_coarse_ns();

	if (__atomic_load_n(&c->header->generation, __ATOMIC_ACQUIRE) != c->generation ||
	    __atomic_load_n(&c->header->magic, __ATOMIC_ACQUIRE) != RING_MAGIC)
		return FH_POLL_RESTARTED;
	if (c->stall_since_ns == 0) {
		c->stall_since_ns = now;
		return 0;
	}
	if (now - c->stall_since_ns < (uint64_t)FH_STALL_MS * 1000000u)
		return fh_idle(c, 0);
	snprintf(c->error, sizeof(c->error),
		 "ring %s: event %llu is published (head %llu) but its slot holds sequence %llu, "
		 "for %d ms: the producer is broken or is not fhd", c->name,
		 (unsigned long long)c->next, (unsigned long long)head, (unsigned long long)seq,
		 FH_STALL_MS);
	return fh_idle(c, FH_POLL_BROKEN);
}

/* Copies the events whose slots hold the next sequence numbers, up to max. */
static int fh_take(struct fh_consumer *c, struct fh_event *events, int max)
{
	int n = 0;

	while (n < max) {
		const struct fh_event *slot = &c->records[(c->next - 1) & c->mask];
		uint64_t before = __atomic_load_n(&slot->seq, __ATOMIC_ACQUIRE);

		if (before != c->next)
			break;
		memcpy(&events[n], slot, sizeof(events[n]));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&slot->seq, __ATOMIC_RELAXED) != before)
			break;	/* overwritten while copied: the slow path sorts it out */
		events[n].seq = before;
		n++;
		c->next++;
		c->stall_since_ns = 0;
	}
	return n;
}

int fh_poll(struct fh_consumer *c, struct fh_event *events, int max)
{
	uint64_t head, seq, now, lost;
	int n;

	assert(events != NULL || max <= 0);
	if (c->header == NULL)	/* a reattach that failed: it is still to be done */
		return FH_POLL_RESTARTED;
	/* The slot index below is masked by the kept copy: mask must match capacity. */
	assert(c->mask + 1 == c->capacity);
	if (__atomic_load_n(&c->header->generation, __ATOMIC_ACQUIRE) != c->generation)
		return FH_POLL_RESTARTED;
	/*
	 * The fast path reads the slots alone: a slot whose seq is the next sequence
	 * number holds that event (sequence numbers are never reused), so the head's
	 * cache line, which the producer writes for every event, is only read when the
	 * next slot does not hold it yet (idle, lapped or a write in flight).
	 */
	n = fh_take(c, events, max);
	if (n > 0)
		return n;
	head = __atomic_load_n(&c->header->head, __ATOMIC_ACQUIRE);
	/* Written so that a head near 2^64 cannot wrap the comparison. */
	if (head >= c->next && head - c->next >= c->capacity) {
		c->stall_since_ns = 0;
		return fh_lapped(c, fh_resync(c));
	}
	if (c->next > head)
		return fh_idle(c, 0);
	/* Published, say the head: the write may have ended since the first look. */
	n = fh_take(c, events, max);
	if (n > 0)
		return n;
	/*
	 * Overwritten under us, or being written for a later lap? Only if the producer
	 * has reached the slot again: a write of next + capacity starts after head
	 * reached next + capacity - 1. Otherwise (or if the resync would skip nothing)
	 * the ring is not ahead of us: see fh_stall.
	 */
	seq = __atomic_load_n(&c->records[(c->next - 1) & c->mask].seq, __ATOMIC_ACQUIRE);
	now = __atomic_load_n(&c->header->head, __ATOMIC_ACQUIRE);
	lost = now >= c->next && now - c->next >= c->capacity - 1 ? fh_resync(c) : 0;
	if (lost == 0)
		return fh_stall(c, seq, now);
	c->stall_since_ns = 0;
	return fh_lapped(c, lost);
}

const char *fh_error(const struct fh_consumer *c)
{
	return c->error;
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
	char *out;

	if (c->header == NULL || feed >= RING_FEEDS_MAX)
		return "";
	/* Copied each time (fhd names feeds after the ring is live), bounded, terminated. */
	out = c->names[feed];
	memcpy(out, c->header->feed_names[feed], RING_FEED_NAME_MAX);
	out[RING_FEED_NAME_MAX - 1] = '\0';
	for (char *p = out; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return out;
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
	fh_view_unmap(c);
	free(c);
}
