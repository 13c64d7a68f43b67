/*
 * test_recovery_venue: the recovery worker (feed/recovery_worker.c) speaks to a venue
 * only through struct recovery_ops (decoders/recovery.h). A venue the test makes up,
 * whose clients only record what they are asked, stands in for NASDAQ's on a real
 * feed, and the test plays the RX lcore. What must hold (issue 23):
 *   - each want reaches the venue's client it is for, in the order queued: a hole
 *     the hole client, a snapshot and a cancel the snapshot client;
 *   - every pass runs the hole client, then the snapshot client, once each;
 *   - the link shows the client its feed: its config sections (no recovery section
 *     when the replay takes the replies from its capture), its decoder, how far it has
 *     applied, its counters, where to note the socket's address;
 *   - hand() queues for the RX lcore and never blocks: data stops short of the
 *     queue's last RECOVERY_REPLIES_CONTROL entries, control entries fill it;
 *   - a venue with no snapshot client leaves snapshot wants unanswered, and one with
 *     no hole client leaves holes so; a client that fails to open fails the worker's
 *     creation with its message, and what opened before it is closed.
 * Exit 0 pass, 1 fail.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "decoders/decoder.h"
#include "decoders/recovery.h"
#include "feed/feed.h"
#include "feed/recovery.h"
#include "feed/recovery_worker.h"
#include "tests/check.h"

#define LOG_MAX 64

/* What the made-up venue's clients were asked, in order, as text. */
static char calls[LOG_MAX][48];
static uint32_t calls_count;
static const struct recovery_link *hole_link, *snapshot_link;
static uint32_t opens, closes;
static bool hole_open_fails;

/* Records "what N" (and "+M" when count is not UINT64_MAX). */
static void call(const char *what, uint64_t n, uint64_t count)
{
	if (calls_count >= LOG_MAX)
		return;
	if (count == UINT64_MAX)
		snprintf(calls[calls_count++], sizeof(calls[0]), "%s %llu", what, (unsigned long long)n);
	else
		snprintf(calls[calls_count++], sizeof(calls[0]), "%s %llu+%llu", what, (unsigned long long)n,
			 (unsigned long long)count);
}

static bool called(uint32_t i, const char *text)
{
	return i < calls_count && strcmp(calls[i], text) == 0;
}

struct fake_state {
	int fd;
};

static int fake_hole_open(void *hole, const struct recovery_link *link, char *err, size_t err_size)
{
	struct fake_state *s = hole;

	if (hole_open_fails) {
		snprintf(err, err_size, "feed %s: no such server", link->feed_name);
		return -1;
	}
	opens++;
	s->fd = -1;
	hole_link = link;
	*link->local_ip = 0x7f000001;
	*link->local_port = 4242;
	return 0;
}

static void fake_hole_want(void *hole, const struct recovery_want *want)
{
	(void)hole;
	call("hole", want->first, want->count);
}

static void fake_hole_pass(void *hole, uint64_t now_ns)
{
	(void)hole;
	call("hole pass", now_ns, UINT64_MAX);
}

static void fake_poll(const void *state, struct pollfd *pfd)
{
	*pfd = (struct pollfd){ .fd = ((const struct fake_state *)state)->fd, .events = POLLIN };
}

static void fake_close(void *state)
{
	(void)state;
	closes++;
}

static int fake_snapshot_open(void *snapshot, const struct recovery_link *link, char *err, size_t err_size)
{
	struct fake_state *s = snapshot;

	(void)err;
	(void)err_size;
	opens++;
	s->fd = -1;
	snapshot_link = link;
	return 0;
}

static void fake_snapshot_start(void *snapshot, uint32_t id)
{
	(void)snapshot;
	call("start", id, UINT64_MAX);
}

static void fake_snapshot_cancel(void *snapshot, uint32_t id)
{
	(void)snapshot;
	call("cancel", id, UINT64_MAX);
}

static void fake_snapshot_pass(void *snapshot, uint64_t now_ns)
{
	(void)snapshot;
	call("snapshot pass", now_ns, UINT64_MAX);
}

static const struct recovery_hole_ops fake_hole = {
	.size = sizeof(struct fake_state),
	.open = fake_hole_open,
	.want = fake_hole_want,
	.pass = fake_hole_pass,
	.poll = fake_poll,
	.close = fake_close,
};

static const struct recovery_snapshot_ops fake_snapshot = {
	.size = sizeof(struct fake_state),
	.open = fake_snapshot_open,
	.start = fake_snapshot_start,
	.cancel = fake_snapshot_cancel,
	.pass = fake_snapshot_pass,
	.poll = fake_poll,
	.close = fake_close,
};

static struct recovery_ops venue_ops = { .scope = RECOVERY_SCOPE_FEED };
static struct decoder_ops venue_decoder;

static void packet_free(void *packet)
{
	(void)packet;
}

struct rig {
	struct cfg cfg;
	struct feed *feed;
	struct recovery_worker *worker;
	char err[CFG_ERROR_MAX];
};

/*
 * A feed with recovery and snapshot sections, made by feed_create as for NASDAQ, then
 * given the made-up venue (hole, snapshot: its clients or NULL) before the worker is.
 */
static struct rig *rig_open(const struct recovery_hole_ops *hole, const struct recovery_snapshot_ops *snapshot,
			    bool from_capture)
{
	static struct rig rig;
	struct cfg_feed *f;
	struct feed *feeds[1];

	memset(&rig, 0, sizeof(rig));
	calls_count = opens = closes = 0;
	hole_link = snapshot_link = NULL;
	CHECK(cfg_load_default(&rig.cfg, rig.err, sizeof(rig.err)) == 0);
	f = &rig.cfg.feeds[0];
	f->book.instruments_max = 16;
	f->book.orders_max = 1024;
	f->book.levels_max = 64;
	f->recovery = (struct cfg_recovery){
		.enabled = true, .server_ip = INADDR_LOOPBACK, .server_port = 9, .timeout_ms = 10, .retries = 2,
		.backoff = 2, .timeout_max_ms = 1000, .in_flight = 4, .request_messages = 100, .hold = 65536,
	};
	f->snapshot = (struct cfg_snapshot){
		.enabled = true, .server_ip = INADDR_LOOPBACK, .server_port = 9, .username = "fh", .password = "x",
		.timeout_ms = 100, .retries = 1, .max_ms = 60000, .hold = 65536, .confirm_ms = 2000, .resyncs_max = 5,
	};
	rig.feed = feed_create(f, packet_free, rig.err, sizeof(rig.err));
	CHECK(rig.feed != NULL && rig.feed->recovery != NULL);
	venue_decoder = *rig.feed->decoder;
	venue_ops.hole = hole;
	venue_ops.snapshot = snapshot;
	venue_decoder.recovery = &venue_ops;
	rig.feed->decoder = &venue_decoder;
	rig.feed->recovery->from_capture = from_capture;
	feeds[0] = rig.feed;
	rig.worker = recovery_worker_create(feeds, 1, rig.err, sizeof(rig.err));
	return &rig;
}

static void rig_close(struct rig *rig)
{
	recovery_worker_stop(rig->worker);
	feed_destroy(rig->feed);
}

static void rig_want(struct rig *rig, uint32_t kind, uint64_t first, uint64_t count, uint32_t id)
{
	struct recovery_want want = { .kind = kind, .first = first, .count = count, .snapshot_id = id };

	CHECK(feed_recovery_want(rig->feed->recovery, &want));
}

static uint64_t rig_queued(struct rig *rig)
{
	struct recovery_queue *q = &rig->feed->recovery->replies;

	return __atomic_load_n(&q->head, __ATOMIC_ACQUIRE) - q->tail;
}

static void test_wants_and_passes(void)
{
	struct rig *rig = rig_open(&fake_hole, &fake_snapshot, false);

	printf("wants reach the venue's clients in order; a pass runs each once\n");
	CHECK(rig->worker != NULL && opens == 2);
	rig_want(rig, RECOVERY_WANT_HOLE, 5, 3, 0);
	rig_want(rig, RECOVERY_WANT_SNAPSHOT, 0, 0, 7);
	rig_want(rig, RECOVERY_WANT_SNAPSHOT_CANCEL, 0, 0, 7);
	rig_want(rig, RECOVERY_WANT_HOLE, 9, 1, 0);
	recovery_worker_pass(rig->worker, 1000, 0);
	CHECK(calls_count == 6);
	CHECK(called(0, "hole 5+3") && called(1, "start 7") && called(2, "cancel 7") && called(3, "hole 9+1"));
	CHECK(called(4, "hole pass 1000") && called(5, "snapshot pass 1000"));
	recovery_worker_pass(rig->worker, 2000, 0);
	CHECK(calls_count == 8 && called(6, "hole pass 2000") && called(7, "snapshot pass 2000"));
	rig_close(rig);
	CHECK(closes == 2);
}

static void test_link(void)
{
	struct rig *rig = rig_open(&fake_hole, &fake_snapshot, false);
	struct feed *feed = rig->feed;

	printf("the link shows the client its feed\n");
	CHECK(hole_link != NULL && hole_link == snapshot_link);
	if (hole_link == NULL) {
		rig_close(rig);
		return;
	}
	CHECK(hole_link->recovery == &feed->cfg->recovery && hole_link->snapshot == &feed->cfg->snapshot);
	CHECK(hole_link->decoder == &venue_decoder && strcmp(hole_link->feed_name, feed->cfg->name) == 0);
	CHECK(hole_link->io == &feed->recovery_io);
	__atomic_store_n(&feed->recovery->applied, 1234, __ATOMIC_RELEASE);
	__atomic_store_n(&feed->recovery->recovering, 1, __ATOMIC_RELEASE);
	CHECK(__atomic_load_n(hole_link->applied, __ATOMIC_ACQUIRE) == 1234);
	CHECK(__atomic_load_n(hole_link->recovering, __ATOMIC_ACQUIRE) == 1);
	CHECK(feed->recovery->local_ip == 0x7f000001 && feed->recovery->local_port == 4242);
	rig_close(rig);

	printf("a replay that takes replies from its capture gives the hole client no server\n");
	rig = rig_open(&fake_hole, &fake_snapshot, true);
	CHECK(hole_link != NULL && hole_link->recovery == NULL && hole_link->snapshot != NULL);
	rig_close(rig);
}

static void test_hand(void)
{
	struct rig *rig = rig_open(&fake_hole, &fake_snapshot, false);
	struct recovery_reply reply = { .kind = RECOVERY_REPLY_DATA, .len = 20 };
	uint64_t data = 0, control = 0;

	printf("hand(): data stops %u short of full, control entries fill the queue\n",
	       RECOVERY_REPLIES_CONTROL);
	CHECK(hole_link != NULL);
	if (hole_link == NULL) {
		rig_close(rig);
		return;
	}
	while (data < 2 * RECOVERY_REPLIES && hole_link->hand(hole_link, &reply, true))
		data++;
	CHECK(data == RECOVERY_REPLIES - RECOVERY_REPLIES_CONTROL);
	reply.kind = RECOVERY_REPLY_GIVE_UP;
	while (control < 2 * RECOVERY_REPLIES && hole_link->hand(hole_link, &reply, false))
		control++;
	CHECK(control == RECOVERY_REPLIES_CONTROL && rig_queued(rig) == RECOVERY_REPLIES);
	rig_close(rig);
}

static void test_missing_clients(void)
{
	struct rig *rig;

	printf("a venue without a snapshot client leaves snapshot wants unanswered\n");
	rig = rig_open(&fake_hole, NULL, false);
	CHECK(rig->worker != NULL && opens == 1);
	rig_want(rig, RECOVERY_WANT_SNAPSHOT, 0, 0, 3);
	rig_want(rig, RECOVERY_WANT_HOLE, 5, 1, 0);
	recovery_worker_pass(rig->worker, 10, 0);
	CHECK(calls_count == 2 && called(0, "hole 5+1") && called(1, "hole pass 10"));
	rig_close(rig);
	CHECK(closes == 1);

	printf("a venue without a hole client leaves holes unanswered\n");
	rig = rig_open(NULL, &fake_snapshot, false);
	CHECK(rig->worker != NULL && opens == 1);
	rig_want(rig, RECOVERY_WANT_HOLE, 5, 1, 0);
	rig_want(rig, RECOVERY_WANT_SNAPSHOT, 0, 0, 3);
	recovery_worker_pass(rig->worker, 10, 0);
	CHECK(calls_count == 2 && called(0, "start 3") && called(1, "snapshot pass 10"));
	rig_close(rig);

	printf("a client that fails to open fails the worker, with its message\n");
	hole_open_fails = true;
	rig = rig_open(&fake_hole, &fake_snapshot, false);
	hole_open_fails = false;
	CHECK(rig->worker == NULL && strstr(rig->err, "no such server") != NULL);
	CHECK(opens == 0 && closes == 0);
	rig_close(rig);
}

int main(void)
{
	test_wants_and_passes();
	test_link();
	test_hand();
	test_missing_clients();
	if (failures) {
		printf("test_recovery_venue: %d failure(s)\n", failures);
		return 1;
	}
	printf("test_recovery_venue: ok\n");
	return 0;
}
