/*
 * test_ring: the publish ring and libfh. Attach errors first (no ring, another layout
 * version, not a ring, bad capacity), then wrap-around, the exact lapping arithmetic,
 * a producer restart under an attached consumer, the segment's mode, and a stress
 * test: a producer thread publishing checksummed records as fast as it can while a
 * consumer thread reads them with random pauses; every record read must be whole (its
 * payload matches its sequence number), in order, and read + lost must account for
 * every sequence number. Usage: test_ring [seed] (or FH_SEED).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "publish/libfh/fh.h"
#include "publish/ring.h"
#include "tests/check.h"

static char name[64];

static void event_fill(struct fh_event *e, uint64_t seq)
{
	memset(e, 0, sizeof(*e));
	e->type = FH_EVENT_TRADE;
	for (int i = 0; i < 24; i++)
		e->body.raw[i] = (uint8_t)(seq * 31 + (uint64_t)i * 7);
	e->quantity = (uint32_t)(seq * 2654435761u);
	e->exchange_ts_ns = seq ^ 0x5555555555555555ull;
}

static bool event_whole(const struct fh_event *e)
{
	struct fh_event want;

	event_fill(&want, e->seq);
	return e->type == want.type && e->quantity == want.quantity &&
	       e->exchange_ts_ns == want.exchange_ts_ns && memcmp(e->body.raw, want.body.raw, 24) == 0;
}

static void publish_n(struct pub_ring *ring, uint64_t n)
{
	struct fh_event e;

	for (uint64_t i = 0; i < n; i++) {
		event_fill(&e, ring->head + 1);
		pub_ring_publish(ring, &e);
	}
}

/*
 * A consumer whose struct fh_abi differs from the library's in any field that sizes
 * or means what the library copies out is refused with -EPROTO and a message naming
 * both, before the ring (there, and good) is looked at; the version alone does not
 * matter, nor a longer descriptor (a newer fh.h's) whose known fields agree.
 */
static void abi_errors(void)
{
	const struct fh_abi good = FH_ABI_INIT;
	struct fh_abi bad;
	struct fh_consumer *c;
	char err[512];
	uint32_t *fields[] = { &bad.abi_major, &bad.layout_version, &bad.event_size,
			       &bad.top_size, &bad.top_level_size, &bad.top_depth_max };

	CHECK(good.size == sizeof(struct fh_abi) && good.event_size == 64 && good.layout_version == FH_EVENT_LAYOUT_VERSION);
	CHECK(fh_attach_abi(&good, name, FH_START_OLDEST, &c, err, sizeof(err)) == 0);
	fh_detach(c);
	bad = good;
	bad.version++;
	CHECK(fh_attach_abi(&bad, name, FH_START_OLDEST, &c, err, sizeof(err)) == 0);
	fh_detach(c);
	bad = good;
	bad.size += 8;	/* a newer fh.h's, longer: the fields known here are what count */
	CHECK(fh_attach_abi(&bad, name, FH_START_OLDEST, &c, err, sizeof(err)) == 0);
	fh_detach(c);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		bad = good;
		(*fields[i])++;
		err[0] = '\0';
		CHECK(fh_attach_abi(&bad, name, FH_START_OLDEST, &c, err, sizeof(err)) == -EPROTO);
		CHECK(strstr(err, "refused") != NULL && strstr(err, "built against fh headers") != NULL);
		if (i == 2)
			printf("  (%s)\n", err);
	}
	bad = good;
	bad.size = 4;	/* a descriptor shorter than this library's: its other fields are not read */
	CHECK(fh_attach_abi(&bad, name, FH_START_OLDEST, &c, err, sizeof(err)) == -EPROTO);
	CHECK(strstr(err, "4-byte struct fh_abi") != NULL);
	/* Each shorter descriptor in an allocation of exactly its size: ASan sees a read past it. */
	for (uint32_t size = 4; size < sizeof(good); size += 4) {
		struct fh_abi *cut = malloc(size);

		CHECK(cut != NULL);
		memcpy(cut, &good, size);
		memcpy(cut, &size, sizeof(size));
		CHECK(fh_attach_abi(cut, name, FH_START_OLDEST, &c, err, sizeof(err)) == -EPROTO);
		free(cut);
	}
	CHECK(fh_attach_abi(NULL, name, FH_START_OLDEST, &c, err, sizeof(err)) == -EINVAL);
	CHECK(strcmp(fh_version(), FH_VERSION_STRING) == 0);
}

static void test_attach_errors(void)
{
	struct pub_ring ring;
	struct fh_consumer *c;
	char err[256];
	int fd;
	struct ring_header *h;

	printf("attach errors\n");
	CHECK(fh_attach("/fh-test-does-not-exist", FH_START_OLDEST, &c, err, sizeof(err)) == -ENOENT);
	CHECK(pub_ring_create(&ring, name, 12, 0640, (gid_t)-1, err, sizeof(err)) == -EINVAL);
	CHECK(pub_ring_create(&ring, name, 16, 0640, (gid_t)-1, err, sizeof(err)) == 0);
	fd = shm_open(name, O_RDWR, 0);
	h = mmap(NULL, RING_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	h->layout_version = FH_EVENT_LAYOUT_VERSION + 1;
	CHECK(fh_attach(name, FH_START_OLDEST, &c, err, sizeof(err)) == -EPROTO);
	CHECK(strstr(err, "layout version") != NULL);
	printf("  (%s)\n", err);
	h->layout_version = FH_EVENT_LAYOUT_VERSION;
	abi_errors();
	h->magic = 0;		/* a producer (re)initialising it: not ready yet */
	CHECK(fh_attach(name, FH_START_OLDEST, &c, err, sizeof(err)) == -ENOENT);
	h->magic = 0x1234;	/* something else */
	CHECK(fh_attach(name, FH_START_OLDEST, &c, err, sizeof(err)) == -EINVAL);
	munmap(h, RING_HEADER_SIZE);
	pub_ring_close(&ring);
}

static void test_wrap_and_lap(void)
{
	struct pub_ring ring;
	struct fh_consumer *c, *late;
	struct fh_event ev[64];
	char err[256];
	uint64_t expect = 1, got = 0;
	int rc = 0;
	struct stat st;
	char path[96];

	printf("wrap-around, lapping arithmetic, start points\n");
	CHECK(pub_ring_create(&ring, name, 8, 0640, (gid_t)-1, err, sizeof(err)) == 0);
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
	CHECK(fh_attach(name, FH_START_OLDEST, &c, err, sizeof(err)) == 0);
	CHECK(fh_poll(c, ev, 64) == 0);
	for (int round = 0; round < 10; round++) {	/* 30 events through 8 slots */
		int n;

		publish_n(&ring, 3);
		n = fh_poll(c, ev, 64);
		CHECK(n == 3);
		for (int i = 0; i < n; i++) {
			CHECK(ev[i].seq == expect && event_whole(&ev[i]));
			expect++;
		}
	}
	/* 100 more while the consumer sleeps: lapped, exactly 100 - what it can still read */
	publish_n(&ring, 100);
	CHECK(fh_poll(c, ev, 64) == FH_POLL_LAPPED);
	CHECK(fh_lost_last(c) == fh_next_seq(c) - expect);
	for (int n; (n = fh_poll(c, ev, 64)) > 0;)
		for (int i = 0; i < n; i++) {
			CHECK(ev[i].seq == fh_next_seq(c) - (uint64_t)n + (uint64_t)i && event_whole(&ev[i]));
			got++;
		}
	CHECK(fh_lost_total(c) + got == 100);
	CHECK(fh_attach(name, FH_START_NOW, &late, err, sizeof(err)) == 0);
	CHECK(fh_next_seq(late) == ring.head + 1);
	fh_detach(late);
	CHECK(fh_attach(name, FH_START_OLDEST, &late, err, sizeof(err)) == 0);
	CHECK(fh_next_seq(late) == ring.head - 8 + 1);
	fh_detach(late);

	printf("producer restart under an attached consumer\n");
	pub_ring_close(&ring);	/* the first fhd is gone; its successor makes a new segment */
	CHECK(pub_ring_create(&ring, name, 16, 0640, (gid_t)-1, err, sizeof(err)) == 0);
	publish_n(&ring, 5);
	/* The old mapping is orphaned: the consumer sees the new inode at its next path check. */
	for (int i = 0; i < 2000 && (rc = fh_poll(c, ev, 64)) == 0; i++)
		usleep(1000);
	CHECK(rc == FH_POLL_RESTARTED);
	CHECK(fh_reattach(c, err, sizeof(err)) == 0);
	CHECK(fh_poll(c, ev, 64) == 5 && ev[0].seq == 1 && ev[4].seq == 5);
	CHECK(!fh_stopped(c));

	printf("the producer never reads its header back: forged head, capacity, generation\n");
	ring.header->head = 1ull << 60;
	ring.header->capacity = 2;
	ring.header->generation = 7;
	ring.header->state = RING_STATE_STOPPED;
	publish_n(&ring, 20);	/* through all 16 slots: a forged capacity would misplace them */
	CHECK(ring.head == 25 && ring.header->head == 25 && ring.capacity == 16 && ring.mask == 15);
	for (uint64_t s = 10; s <= 25; s++)
		CHECK(ring.records[(s - 1) & 15].seq == s && event_whole(&ring.records[(s - 1) & 15]));
	ring.header->capacity = 16;
	ring.header->generation = ring.generation;
	ring.header->state = RING_STATE_LIVE;
	pub_ring_close(&ring);
	for (int i = 0; i < 10; i++)	/* lapped once, then the rest */
		fh_poll(c, ev, 64);
	CHECK(fh_stopped(c));
	fh_detach(c);
}

struct stress {
	struct pub_ring ring;
	uint64_t events;
	volatile int done;
	uint64_t seed;
};

static void *stress_producer(void *arg)
{
	struct stress *s = arg;

	publish_n(&s->ring, s->events);
	s->done = 1;
	return NULL;
}

static void test_torn_reads(uint64_t seed)
{
	static struct stress s;
	struct fh_consumer *c;
	struct fh_event ev[32];
	pthread_t producer;
	char err[256];
	uint64_t read = 0, last = 0, laps = 0, torn = 0, disorder = 0;

	printf("concurrent writer stress, checksummed records (seed %" PRIu64 ")\n", seed);
	check_rng_state = seed;
	s.events = 3000000;
	CHECK(pub_ring_create(&s.ring, name, 1024, 0640, (gid_t)-1, err, sizeof(err)) == 0);
	CHECK(fh_attach(name, FH_START_OLDEST, &c, err, sizeof(err)) == 0);
	pthread_create(&producer, NULL, stress_producer, &s);
	while (!s.done || fh_next_seq(c) <= s.events) {
		int n = fh_poll(c, ev, 1 + (int)(check_rng() % 32));

		if (n == FH_POLL_LAPPED) {
			laps++;
			continue;
		}
		for (int i = 0; i < n; i++) {
			torn += !event_whole(&ev[i]);
			disorder += ev[i].seq != last + 1 && last != 0 && ev[i].seq <= last;
			last = ev[i].seq;
			read++;
		}
		if (check_rng() % 64 == 0)
			for (volatile int spin = 0; spin < (int)(check_rng() % 20000); spin++)
				;
	}
	pthread_join(producer, NULL);
	printf("  read %" PRIu64 ", lost %" PRIu64 " in %" PRIu64 " laps, torn %" PRIu64 "\n", read,
	       fh_lost_total(c), laps, torn);
	CHECK(torn == 0 && disorder == 0);
	CHECK(read + fh_lost_total(c) == s.events);
	fh_detach(c);
	pub_ring_close(&s.ring);
}

int main(int argc, char **argv)
{
	uint64_t seed = check_seed(argc, argv);

	snprintf(name, sizeof(name), "/fh-test-ring-%d", getpid());
	test_attach_errors();
	test_wrap_and_lap();
	test_torn_reads(seed);
	shm_unlink(name);
	printf("%s (seed %" PRIu64 ")\n", failures ? "FAIL" : "PASS", seed);
	return failures ? 1 : 0;
}
