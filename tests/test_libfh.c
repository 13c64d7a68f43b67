/*
 * test_libfh: libfh on bad and hostile segments, crafted byte by byte from the layout
 * headers (never through fhd's producer code). Refusals first: a header whose
 * capacity wraps the size check, is 0 or not a power of two; a segment still being
 * sized; a FIFO, a directory or a symbolic link at the name; a segment that another
 * user owns or that others may write (and FH_PRODUCER_UID trusting one). Then what a
 * consumer reads back after attach: feed names without a terminator, a conflated view
 * whose entry size, depth or slot count lies (at attach and rewritten afterwards), a
 * torn ring whose slots never settle (FH_POLL_BROKEN, never an endless "lapped: lost
 * 0"), and a ring removed or replaced under an attached consumer with its generation
 * unchanged (kill -9, rm, restart: FH_POLL_RESTARTED). SIGALRM fails a test that hangs.
 * Usage: test_libfh [header|file|trust|names|view|torn|replaced] (default: all).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "publish/libfh/conflated_layout.h"
#include "publish/libfh/fh.h"
#include "publish/libfh/ring_layout.h"
#include "tests/check.h"

static char name[64], view_name[72], path[96];
static const char *stage = "";

static void test_alarm(int signo)
{
	(void)signo;
	if (write(STDOUT_FILENO, "  FAIL: hung in ", 16) < 0 || write(STDOUT_FILENO, stage, strlen(stage)) < 0 ||
	    write(STDOUT_FILENO, "\n", 1) < 0)
		_exit(2);
	_exit(1);
}

/* Writes /dev/shm<segment> afresh: size bytes of data (zero-filled past `len`), mode. */
static void segment_write(const char *segment, const void *data, size_t len, size_t size, mode_t mode)
{
	int fd;

	shm_unlink(segment);
	fd = shm_open(segment, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || fchmod(fd, mode) != 0 || ftruncate(fd, (off_t)size) != 0 ||
	    (len > 0 && pwrite(fd, data, len < size ? len : size, 0) < 0)) {
		perror(segment);
		exit(1);
	}
	close(fd);
}

/* A well-formed ring of `capacity` slots holding events 1..head (INSTRUMENT_DEFINED). */
static uint8_t *ring_make(uint64_t capacity, uint64_t head, size_t *size)
{
	uint8_t *ring;
	struct ring_header *h;

	*size = RING_HEADER_SIZE + capacity * sizeof(struct fh_event);
	ring = calloc(1, *size);
	h = (struct ring_header *)ring;
	h->magic = RING_MAGIC;
	h->layout_version = FH_EVENT_LAYOUT_VERSION;
	h->record_size = sizeof(struct fh_event);
	h->capacity = capacity;
	h->generation = 77;
	h->state = RING_STATE_LIVE;
	h->head = head;
	snprintf(h->feed_names[0], RING_FEED_NAME_MAX, "itch");
	for (uint64_t s = head > capacity ? head - capacity + 1 : 1; s <= head; s++) {
		struct fh_event *e = (struct fh_event *)(ring + RING_HEADER_SIZE) + ((s - 1) & (capacity - 1));

		e->seq = s;
		e->type = FH_EVENT_INSTRUMENT_DEFINED;
		e->instrument = (uint32_t)s;
	}
	return ring;
}

static int attach(struct fh_consumer **c, char *err, size_t err_size)
{
	err[0] = '\0';
	return fh_attach(name, FH_START_OLDEST, c, err, err_size);
}

static void test_ring_header_refused(void)
{
	struct fh_consumer *c;
	char err[512];
	size_t size;
	uint8_t *ring = ring_make(8, 3, &size);
	struct ring_header *h = (struct ring_header *)ring;
	static const uint64_t capacities[] = { 1ull << 58, 0, 1, 12, 16, (1ull << 63) + 8 };

	printf("C1: ring capacity that wraps the size check, 0, 1, not a power of two, too big\n");
	stage = "C1";
	for (size_t i = 0; i < sizeof(capacities) / sizeof(capacities[0]); i++) {
		h->capacity = capacities[i];
		segment_write(name, ring, size, size, 0600);
		CHECK(attach(&c, err, sizeof(err)) == -EINVAL);
		CHECK(strstr(err, "capacity") != NULL);
	}
	printf("  (%s)\n", err);
	h->capacity = 8;
	h->generation = 0;
	segment_write(name, ring, size, size, 0600);
	CHECK(attach(&c, err, sizeof(err)) == -EINVAL);
	h->generation = 77;
	h->state = 9;
	segment_write(name, ring, size, size, 0600);
	CHECK(attach(&c, err, sizeof(err)) == -EINVAL);
	h->state = RING_STATE_LIVE;

	printf("C4: a ring still being sized (0 and 100 bytes) is not there yet\n");
	segment_write(name, ring, 0, 0, 0600);
	CHECK(attach(&c, err, sizeof(err)) == -ENOENT && strstr(err, "not initialised") != NULL);
	segment_write(name, ring, 100, 100, 0600);
	CHECK(attach(&c, err, sizeof(err)) == -ENOENT && strstr(err, "not initialised") != NULL);
	free(ring);
}

static void test_not_a_file(void)
{
	struct fh_consumer *c;
	char err[512];

	printf("C6: a FIFO, a directory, a symbolic link at the name\n");
	stage = "C6: FIFO";
	shm_unlink(name);
	CHECK(mkfifo(path, 0600) == 0);
	alarm(5);
	CHECK(attach(&c, err, sizeof(err)) == -EINVAL && strstr(err, "FIFO") != NULL);
	alarm(0);
	printf("  (%s)\n", err);
	unlink(path);
	CHECK(mkdir(path, 0700) == 0);
	CHECK(attach(&c, err, sizeof(err)) == -EINVAL && strstr(err, "directory") != NULL);
	rmdir(path);
	CHECK(symlink("/etc/passwd", path) == 0);
	CHECK(attach(&c, err, sizeof(err)) == -EPERM && strstr(err, "symbolic link") != NULL);
	unlink(path);
}

static void test_trust(void)
{
	struct fh_consumer *c;
	char err[512];
	size_t size;
	uint8_t *ring = ring_make(8, 3, &size);

	printf("trust: group- or other-writable segments, owners, FH_PRODUCER_UID\n");
	stage = "trust";
	unsetenv("FH_PRODUCER_UID");
	segment_write(name, ring, size, size, 0666);
	CHECK(attach(&c, err, sizeof(err)) == -EPERM && strstr(err, "mode 0666") != NULL);
	printf("  (%s)\n", err);
	segment_write(name, ring, size, size, 0620);
	CHECK(attach(&c, err, sizeof(err)) == -EPERM);
	segment_write(name, ring, size, size, 0644);
	CHECK(attach(&c, err, sizeof(err)) == 0);
	fh_detach(c);
	setenv("FH_PRODUCER_UID", "no-such-user-fhtest", 1);
	CHECK(attach(&c, err, sizeof(err)) == -EINVAL && strstr(err, "FH_PRODUCER_UID") != NULL);
	unsetenv("FH_PRODUCER_UID");
	if (geteuid() != 0) {
		printf("  (not root: the foreign owner cases are skipped)\n");
		free(ring);
		return;
	}
	/* Another user's segment: refused by name, unless FH_PRODUCER_UID names that user. */
	CHECK(chown(path, 65533, (gid_t)-1) == 0);
	CHECK(attach(&c, err, sizeof(err)) == -EPERM && strstr(err, "owned by uid 65533") != NULL);
	printf("  (%s)\n", err);
	setenv("FH_PRODUCER_UID", "65533", 1);
	CHECK(attach(&c, err, sizeof(err)) == 0);
	fh_detach(c);
	setenv("FH_PRODUCER_UID", "65532", 1);
	CHECK(attach(&c, err, sizeof(err)) == -EPERM && strstr(err, "FH_PRODUCER_UID") != NULL);
	unsetenv("FH_PRODUCER_UID");
	free(ring);
}

static void test_feed_names(void)
{
	struct fh_consumer *c;
	char err[512];
	size_t size;
	uint8_t *ring = ring_make(8, 3, &size);
	struct ring_header *h = (struct ring_header *)ring;

	printf("C5: feed names without a terminator, with control characters\n");
	stage = "C5";
	memset(h->feed_names, 'A', sizeof(h->feed_names));
	memcpy(h->feed_names[3], "a\033[2Jb\0", 7);
	segment_write(name, ring, size, size, 0600);
	CHECK(attach(&c, err, sizeof(err)) == 0);
	CHECK(strlen(fh_feed_name(c, 0)) == RING_FEED_NAME_MAX - 1);
	CHECK(strlen(fh_feed_name(c, 15)) == RING_FEED_NAME_MAX - 1);
	CHECK(strcmp(fh_feed_name(c, 3), "a?[2Jb") == 0);
	CHECK(strcmp(fh_feed_name(c, 16), "") == 0 && strcmp(fh_feed_name(c, 255), "") == 0);
	fh_detach(c);
	free(ring);
}

/* A view of `slots` entries of `depth` levels; entry 0 holds instrument 70000. */
static uint8_t *view_make(uint32_t depth, uint32_t slots, uint32_t entry_size, size_t *size)
{
	uint32_t exact = (uint32_t)((48 + 48 * depth + 63) & ~63u);
	uint8_t *view;
	struct conflated_header *h;

	*size = CONFLATED_HEADER_SIZE + (size_t)slots * exact;
	view = calloc(1, *size);
	h = (struct conflated_header *)view;
	h->magic = CONFLATED_MAGIC;
	h->version = CONFLATED_VERSION;
	h->depth = depth;
	h->slots = slots;
	h->entry_size = entry_size;
	for (uint32_t s = 0; s < slots; s++) {
		struct conflated_entry *e = (struct conflated_entry *)(view + CONFLATED_HEADER_SIZE + (size_t)s * exact);

		e->instrument = s == 0 ? 70000 : s;
		e->feed = s == 2 ? 255 : 0;	/* the last feed index: its state is in the header too */
		e->used = 1;
		e->bid_count = 1000;	/* more than depth: clamped */
		e->ask_count = UINT32_MAX;
		memcpy(e->symbol, "0123456789abcdef", 16);	/* no terminator */
	}
	return view;
}

static void test_view(void)
{
	static struct fh_top top;
	struct fh_consumer *c;
	char err[512];
	size_t ring_size, view_size;
	uint8_t *ring = ring_make(8, 3, &ring_size), *view;
	struct conflated_header *live;
	int fd;

	printf("C3: conflated view entry size 0, too small, not exact; depth 65; too many slots\n");
	stage = "C3";
	segment_write(name, ring, ring_size, ring_size, 0600);
	static const uint32_t bad[][3] = {	/* depth, slots, entry size */
		{ 2, 4, 0 }, { 2, 4, 64 }, { 2, 4, 160 }, { 2, 4, 129 }, { 65, 4, 3200 }, { 0, 4, 64 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		view = view_make(bad[i][0], bad[i][1], bad[i][2], &view_size);
		segment_write(view_name, view, view_size, view_size, 0600);
		CHECK(attach(&c, err, sizeof(err)) == 0);
		CHECK(fh_top_slots(c) == 0);
		CHECK(fh_top_read(c, 0, &top) == -ENOENT && fh_top_read(c, 3, &top) == -ENOENT);
		CHECK(strstr(fh_error(c), "malformed") != NULL);
		fh_detach(c);
		free(view);
	}
	view = view_make(2, 4, 192, &view_size);
	((struct conflated_header *)view)->slots = 5;	/* one more than the file holds */
	segment_write(view_name, view, view_size, view_size, 0600);
	CHECK(attach(&c, err, sizeof(err)) == 0);
	CHECK(fh_top_slots(c) == 0);
	fh_detach(c);
	((struct conflated_header *)view)->slots = 4;
	segment_write(view_name, view, view_size, view_size, 0600);
	CHECK(attach(&c, err, sizeof(err)) == 0);
	CHECK(fh_top_slots(c) == 4);
	CHECK(fh_top_read(c, 0, &top) == 0 && top.instrument == 70000 && top.bid_count == 2 &&
	      top.ask_count == 2 && strlen(top.symbol) == 16);
	printf("C3: the view rewritten after attach (slots 2^32 - 1, depth 64, entry size 0)\n");
	fd = shm_open(view_name, O_RDWR, 0);
	live = mmap(NULL, CONFLATED_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	live->slots = UINT32_MAX;
	live->depth = 64;
	live->entry_size = 0;
	CHECK(fh_top_slots(c) == 4);
	CHECK(fh_top_read(c, 3, &top) == 0 && top.bid_count == 2);
	CHECK(fh_top_read(c, 100000, &top) == -ENOENT);
	printf("C3: an entry reads its feed's book state, whatever byte the view holds\n");
	CHECK(fh_top_read(c, 1, &top) == 0 && top.feed == 0 && top.state == FH_BOOK_OK);
	live->feed_state[0] = FH_BOOK_STALE;
	live->feed_state[1] = FH_BOOK_RECOVERING;
	CHECK(fh_top_read(c, 1, &top) == 0 && top.state == FH_BOOK_STALE);
	live->feed_state[255] = 77;	/* no state: passed on as it is, for the caller to judge */
	CHECK(fh_top_read(c, 2, &top) == 0 && top.feed == 255 && top.state == 77);
	live->feed_state[0] = FH_BOOK_OK;
	CHECK(fh_top_read(c, 1, &top) == 0 && top.state == FH_BOOK_OK);
	printf("C3: an entry's own state (issue 23): the worse of it and its feed's, that entry alone\n");
	{
		uint8_t own = FH_BOOK_RECOVERING;
		off_t at = CONFLATED_HEADER_SIZE + 1 * 192 + (off_t)offsetof(struct conflated_entry, state);

		fd = shm_open(view_name, O_RDWR, 0);
		CHECK(fd >= 0 && pwrite(fd, &own, 1, at) == 1);
		CHECK(fh_top_read(c, 1, &top) == 0 && top.state == FH_BOOK_RECOVERING);
		CHECK(fh_top_read(c, 0, &top) == 0 && top.feed == 0 && top.state == FH_BOOK_OK);
		live->feed_state[0] = FH_BOOK_STALE;
		CHECK(fh_top_read(c, 1, &top) == 0 && top.state == FH_BOOK_STALE);
		live->feed_state[0] = FH_BOOK_OK;
		own = FH_BOOK_OK;
		CHECK(pwrite(fd, &own, 1, at) == 1);
		CHECK(fh_top_read(c, 1, &top) == 0 && top.state == FH_BOOK_OK);
		close(fd);
	}
	munmap(live, CONFLATED_HEADER_SIZE);
	fh_detach(c);
	shm_unlink(view_name);
	free(view);
	free(ring);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_torn(void)
{
	struct fh_consumer *c;
	struct fh_event ev[16];
	char err[512];
	size_t size;
	uint8_t *ring = ring_make(8, 6, &size);
	struct ring_header *h = (struct ring_header *)ring;
	uint64_t start, laps_lost_nothing = 0, polls = 0;
	int rc = 0;

	printf("C7: a torn ring (head 6, slots 3.. never settle): FH_POLL_BROKEN, no lap loop\n");
	stage = "C7";
	for (int s = 2; s < 8; s++)	/* events 1 and 2 readable, then seq 0 for good */
		((struct fh_event *)(ring + RING_HEADER_SIZE))[s].seq = 0;
	segment_write(name, ring, size, size, 0600);
	CHECK(attach(&c, err, sizeof(err)) == 0);
	CHECK(fh_poll(c, ev, 16) == 2 && ev[0].seq == 1 && ev[1].seq == 2);
	alarm(10);
	for (start = now_ms(); now_ms() - start < 2000; polls++) {
		rc = fh_poll(c, ev, 16);
		if (rc == FH_POLL_LAPPED && fh_lost_last(c) == 0)
			laps_lost_nothing++;
		if (rc == FH_POLL_BROKEN || laps_lost_nothing > 1000)
			break;
		usleep(1000);
	}
	alarm(0);
	printf("  (%" PRIu64 " polls; %s)\n", polls, fh_error(c));
	CHECK(laps_lost_nothing == 0);
	CHECK(rc == FH_POLL_BROKEN && strstr(fh_error(c), "event 3") != NULL);
	CHECK(fh_next_seq(c) == 3);
	fh_detach(c);

	printf("C7: head near 2^64 and seqs that disagree: a lap or two, then no more\n");
	h = (struct ring_header *)ring;
	h->head = UINT64_MAX - 1;
	segment_write(name, ring, size, size, 0600);
	CHECK(attach(&c, err, sizeof(err)) == 0);
	laps_lost_nothing = 0;
	for (int i = 0; i < 50; i++) {
		rc = fh_poll(c, ev, 16);
		laps_lost_nothing += rc == FH_POLL_LAPPED && fh_lost_last(c) == 0;
	}
	CHECK(laps_lost_nothing == 0);
	fh_detach(c);
	free(ring);
}

static void test_replaced(void)
{
	struct fh_consumer *c;
	struct fh_event ev[16];
	char err[512];
	size_t size;
	uint8_t *ring = ring_make(8, 4, &size);
	uint64_t start;
	int rc = 0;

	printf("L4: the ring removed, then recreated with the same generation, under a consumer\n");
	stage = "L4";
	segment_write(name, ring, size, size, 0600);
	CHECK(attach(&c, err, sizeof(err)) == 0);
	CHECK(fh_poll(c, ev, 16) == 4);
	shm_unlink(name);	/* kill -9 of fhd, then rm /dev/shm/NAME-* */
	alarm(10);
	for (start = now_ms(); now_ms() - start < 2000 && (rc = fh_poll(c, ev, 16)) == 0;)
		usleep(1000);
	CHECK(rc == FH_POLL_RESTARTED);
	CHECK(fh_reattach(c, err, sizeof(err)) == -ENOENT);
	CHECK(fh_poll(c, ev, 16) == FH_POLL_RESTARTED);
	/*
	 * The new fhd: the same bytes, generation included; only the file is new. It has
	 * published two events so far: slots 3 and 4 hold nothing yet.
	 */
	((struct ring_header *)ring)->head = 2;
	((struct fh_event *)(ring + RING_HEADER_SIZE))[2].seq = 0;
	((struct fh_event *)(ring + RING_HEADER_SIZE))[3].seq = 0;
	segment_write(name, ring, size, size, 0600);
	CHECK(fh_reattach(c, err, sizeof(err)) == 0);
	CHECK(fh_poll(c, ev, 16) == 2 && ev[0].seq == 1);
	/* Replaced again while attached: noticed from the inode alone. */
	segment_write(name, ring, size, size, 0600);
	for (start = now_ms(); now_ms() - start < 2000 && (rc = fh_poll(c, ev, 16)) == 0;)
		usleep(1000);
	alarm(0);
	CHECK(rc == FH_POLL_RESTARTED);
	CHECK(fh_reattach(c, err, sizeof(err)) == 0 && fh_poll(c, ev, 16) == 2);
	fh_detach(c);
	free(ring);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*run)(void);
	} tests[] = {
		{ "header", test_ring_header_refused }, { "file", test_not_a_file }, { "trust", test_trust },
		{ "names", test_feed_names }, { "view", test_view }, { "torn", test_torn },
		{ "replaced", test_replaced },
	};

	snprintf(name, sizeof(name), "/fh-test-libfh-%d-1", getpid());
	snprintf(view_name, sizeof(view_name), "%s-top", name);
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	setvbuf(stdout, NULL, _IOLBF, 0);	/* what ran before a hang is shown */
	signal(SIGALRM, test_alarm);
	unsetenv("FH_PRODUCER_UID");
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (argc < 2 || strcmp(argv[1], tests[i].name) == 0)
			tests[i].run();
	shm_unlink(name);
	shm_unlink(view_name);
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
