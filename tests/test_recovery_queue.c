/*
 * test_recovery_queue: the SPSC queues between a feed's RX lcore and its recovery
 * worker (feed/recovery.c). One thread first: push until full (and no further), peek
 * without taking, pop in order, the indexes wrapping many times round the ring. Then
 * two threads, a producer and a consumer, each entry carrying its sequence number and
 * a checksum of its bytes: every entry must arrive, once, in order, whole. And the
 * reserve that keeps a queue's last entries for control entries (issue 20).
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "feed/recovery.h"
#include "tests/check.h"

struct entry {
	uint64_t seq;
	uint64_t check;		/* a function of seq and the filler */
	uint8_t filler[40];
};

static void entry_make(struct entry *e, uint64_t seq)
{
	e->seq = seq;
	for (size_t i = 0; i < sizeof(e->filler); i++)
		e->filler[i] = (uint8_t)(seq * 31 + i);
	e->check = seq * 0x9e3779b97f4a7c15ull ^ e->filler[sizeof(e->filler) - 1];
}

static bool entry_good(const struct entry *e, uint64_t seq)
{
	struct entry want;

	entry_make(&want, seq);
	return memcmp(e, &want, sizeof(want)) == 0;
}

static void test_single(void)
{
	struct recovery_queue q;
	struct entry e;
	uint64_t pushed = 0, popped = 0;
	bool ok = true;

	printf("push until full, peek, pop in order, wrapping round\n");
	CHECK(recovery_queue_init(&q, 8, sizeof(struct entry)) == 0);
	CHECK(recovery_queue_peek(&q) == NULL);
	for (int i = 0; i < 8; i++) {
		entry_make(&e, pushed);
		ok = ok && recovery_queue_push(&q, &e);
		pushed++;
	}
	CHECK(ok);
	entry_make(&e, 999);
	CHECK(!recovery_queue_push(&q, &e));	/* full: refused, nothing overwritten */
	CHECK(entry_good(recovery_queue_peek(&q), 0));
	CHECK(recovery_queue_peek(&q) == recovery_queue_peek(&q));	/* peek takes nothing */
	/* Entries are copies: changing ours after the push changes nothing queued. */
	memset(&e, 0, sizeof(e));
	CHECK(entry_good(recovery_queue_peek(&q), 0));
	/* Many rounds of uneven push/pop: the indexes wrap the 8 slots hundreds of times. */
	check_rng_state = 5;
	for (int round = 0; round < 2000; round++) {
		uint64_t pops = check_rng() % 9, pushes = check_rng() % 9;

		for (uint64_t k = 0; k < pops; k++) {
			struct entry *got = recovery_queue_peek(&q);

			if (popped == pushed) {
				ok = ok && got == NULL;
				break;
			}
			ok = ok && got != NULL && entry_good(got, popped);
			recovery_queue_pop(&q);
			popped++;
		}
		for (uint64_t k = 0; k < pushes; k++) {
			bool room = pushed - popped < 8;

			entry_make(&e, pushed);
			if (recovery_queue_push(&q, &e) != room)
				ok = false;
			pushed += room;
		}
	}
	CHECK(ok && pushed > 1000);
	while (popped < pushed) {
		ok = ok && entry_good(recovery_queue_peek(&q), popped);
		recovery_queue_pop(&q);
		popped++;
	}
	CHECK(ok && recovery_queue_peek(&q) == NULL);
	recovery_queue_fini(&q);
}

static void test_reserve(void)
{
	struct recovery_queue q;
	struct entry e;
	uint64_t data = 0, control = 0;

	printf("push_reserve leaves `reserve` entries free; a plain push takes them\n");
	CHECK(recovery_queue_init(&q, 16, sizeof(struct entry)) == 0);
	/* Data (reserve 4) fills 12 of 16 entries and no more, however often it tries. */
	for (int i = 0; i < 40; i++) {
		entry_make(&e, data + control);
		data += recovery_queue_push_reserve(&q, &e, 4);
	}
	CHECK(data == 12);
	/* Control takes the 4 kept for it, then the queue is full for everyone. */
	for (int i = 0; i < 10; i++) {
		entry_make(&e, data + control);
		control += recovery_queue_push(&q, &e);
	}
	CHECK(control == 4);
	CHECK(!recovery_queue_push_reserve(&q, &e, 0) && !recovery_queue_push_reserve(&q, &e, 4));
	/* In order, data then control: FIFO whatever the reserve. */
	for (uint64_t seq = 0; seq < 16; seq++) {
		CHECK(entry_good(recovery_queue_peek(&q), seq));
		recovery_queue_pop(&q);
	}
	/* One popped of a full queue frees room for control, not for data with reserve 4. */
	for (int i = 0; i < 16; i++)
		CHECK(recovery_queue_push(&q, &e));
	recovery_queue_pop(&q);
	CHECK(!recovery_queue_push_reserve(&q, &e, 4) && recovery_queue_push_reserve(&q, &e, 0));
	recovery_queue_fini(&q);
}

#define STRESS_ENTRIES 2000000ull

static struct recovery_queue stress_q;
static uint64_t producer_full;

static void *stress_producer(void *arg)
{
	struct entry e;

	(void)arg;
	for (uint64_t seq = 0; seq < STRESS_ENTRIES; seq++) {
		entry_make(&e, seq);
		/* Bounded by the consumer's progress: it pops all STRESS_ENTRIES. */
		while (!recovery_queue_push(&stress_q, &e)) {
			producer_full++;
			sched_yield();
		}
	}
	return NULL;
}

static void test_threads(void)
{
	pthread_t producer;
	uint64_t next = 0, empty = 0;
	bool ok = true;

	printf("two threads: %llu entries, none lost, reordered or torn\n", STRESS_ENTRIES);
	CHECK(recovery_queue_init(&stress_q, 16, sizeof(struct entry)) == 0);
	CHECK(pthread_create(&producer, NULL, stress_producer, NULL) == 0);
	while (next < STRESS_ENTRIES) {
		const struct entry *got = recovery_queue_peek(&stress_q);

		if (got == NULL) {
			empty++;
			if (empty % 64 == 0)
				sched_yield();
			continue;
		}
		if (!entry_good(got, next)) {
			ok = false;
			printf("    entry %" PRIu64 ": got seq %" PRIu64 "\n", next, got->seq);
			break;
		}
		recovery_queue_pop(&stress_q);
		next++;
	}
	if (!ok)	/* let the producer finish: drain without checking */
		while (next < STRESS_ENTRIES)
			if (recovery_queue_peek(&stress_q) != NULL) {
				recovery_queue_pop(&stress_q);
				next++;
			}
	pthread_join(producer, NULL);
	CHECK(ok && recovery_queue_peek(&stress_q) == NULL);
	printf("  consumer found it empty %" PRIu64 " times, producer full %" PRIu64 " times\n", empty,
	       producer_full);
	recovery_queue_fini(&stress_q);
}

static void test_feed_recovery(void)
{
	struct feed_recovery r;
	bool distinct = true;

	printf("feed_recovery: both queues and every buffer free\n");
	CHECK(feed_recovery_init(&r) == 0);
	CHECK(r.free_count == RECOVERY_BUFFERS && r.buffers != NULL);
	for (uint32_t i = 0; i < RECOVERY_BUFFERS; i++)
		distinct = distinct && r.free[i] == RECOVERY_BUFFERS - 1 - i;
	CHECK(distinct);
	CHECK(recovery_queue_peek(&r.wants) == NULL && recovery_queue_peek(&r.replies) == NULL);
	CHECK(r.wants.size == sizeof(struct recovery_want) && r.wants.mask + 1 == RECOVERY_WANTS);
	CHECK(r.replies.size == sizeof(struct recovery_reply) && r.replies.mask + 1 == RECOVERY_REPLIES);
	feed_recovery_fini(&r);
}

int main(void)
{
	test_single();
	test_reserve();
	test_threads();
	test_feed_recovery();
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
