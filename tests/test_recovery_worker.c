/*
 * test_recovery_worker: the recovery worker (feed/recovery_worker.c) driven pass by
 * pass on a clock of the test's own (recovery_worker_create, recovery_worker_pass,
 * no thread), against a MoldUDP64 server and a GLIMPSE server the test plays itself
 * on loopback sockets, while it plays the RX lcore too: it queues wants and reads
 * what the worker queues back, or stalls and reads nothing. What must hold (issue 20):
 *   - an RX lcore that stalls with its reply queue full of data still gets the
 *     give-up: data never takes the queue's last RECOVERY_REPLIES_CONTROL entries,
 *     and a give-up that finds the queue full waits, counted once, with no timeout
 *     counted meanwhile;
 *   - a reply that runs past the hole is cut at the hole's end (header count and
 *     length rewritten), so the feed takes only what it asked for;
 *   - every snapshot entry carries the snapshot_id of the want that started it; End
 *     of Snapshot carries the Login Accepted's session, spaces trimmed; a cancel of
 *     the current snapshot closes its connection and says nothing more, a cancel of
 *     another does nothing.
 * Exit 0 pass, 1 fail.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "book/util/wire.h"
#include "config/config.h"
#include "decoders/nasdaq/soupbin.h"
#include "feed/feed.h"
#include "feed/recovery.h"
#include "feed/recovery_worker.h"
#include "tests/check.h"

#define MS 1000000ull			/* ns */
#define SESSION "TESTSESS01"
#define MESSAGE_LEN 12			/* bytes of each fake message (the worker reads no ITCH) */
#define PUMP_PASSES 200			/* passes (1 ms real waits each) for loopback bytes to land */

/* A feed with recovery and snapshot, its worker, and the two servers the test plays. */
struct rig {
	struct cfg cfg;
	struct feed *feed;
	struct recovery_worker *worker;
	int mold;			/* UDP: the MoldUDP64 re-request server */
	int glimpse;			/* TCP listener: the GLIMPSE server */
	int conn;			/* its accepted connection, -1 if none */
	uint64_t now_ns;
};

static void packet_free(void *packet)
{
	(void)packet;
}

static uint16_t socket_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	getsockname(fd, (struct sockaddr *)&a, &len);
	return ntohs(a.sin_port);
}

static int socket_loopback(int type)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || (type == SOCK_STREAM && listen(fd, 4) != 0))
		return -1;
	return fd;
}

static struct rig *rig_open(uint32_t in_flight, uint32_t request_messages)
{
	static struct rig rig;
	struct cfg_feed *f;
	char err[CFG_ERROR_MAX];
	struct feed *feeds[1];

	memset(&rig, 0, sizeof(rig));
	rig.conn = -1;
	rig.now_ns = 1000 * MS;
	rig.mold = socket_loopback(SOCK_DGRAM);
	rig.glimpse = socket_loopback(SOCK_STREAM);
	CHECK(rig.mold >= 0 && rig.glimpse >= 0);
	CHECK(cfg_load_default(&rig.cfg, err, sizeof(err)) == 0);
	f = &rig.cfg.feeds[0];
	f->book.instruments_max = 16;
	f->book.orders_max = 1024;
	f->book.levels_max = 64;
	f->recovery = (struct cfg_recovery){
		.enabled = true, .server_ip = INADDR_LOOPBACK, .server_port = socket_port(rig.mold),
		.timeout_ms = 10, .retries = 2, .backoff = 2, .timeout_max_ms = 1000,
		.in_flight = in_flight, .request_messages = request_messages, .hold = 65536,
	};
	f->snapshot = (struct cfg_snapshot){
		.enabled = true, .server_ip = INADDR_LOOPBACK, .server_port = socket_port(rig.glimpse),
		.username = "fh", .password = "secret", .timeout_ms = 100, .retries = 1, .max_ms = 60000,
		.hold = 65536, .confirm_ms = 2000, .resyncs_max = 5,
	};
	rig.feed = feed_create(f, packet_free, err, sizeof(err));
	CHECK(rig.feed != NULL && rig.feed->recovery != NULL);
	feeds[0] = rig.feed;
	rig.worker = recovery_worker_create(feeds, 1, err, sizeof(err));
	CHECK(rig.worker != NULL);
	if (rig.worker == NULL)
		printf("  recovery_worker_create: %s\n", err);
	return &rig;
}

static void rig_close(struct rig *rig)
{
	recovery_worker_stop(rig->worker);
	feed_destroy(rig->feed);
	close(rig->mold);
	close(rig->glimpse);
	if (rig->conn >= 0)
		close(rig->conn);
}

/* What the RX lcore would do when it hands over a hole (feed_recover). */
static void rig_hole(struct rig *rig, uint64_t first, uint64_t count)
{
	struct recovery_want want = { .kind = RECOVERY_WANT_HOLE, .first = first, .count = count,
				      .session_len = 10 };

	memcpy(want.session, SESSION, 10);
	__atomic_store_n(&rig->feed->recovery->applied, first, __ATOMIC_RELEASE);
	__atomic_store_n(&rig->feed->recovery->recovering, 1, __ATOMIC_RELEASE);
	CHECK(feed_recovery_want(rig->feed->recovery, &want));
}

static void rig_want_snapshot(struct rig *rig, uint32_t kind, uint32_t id)
{
	struct recovery_want want = { .kind = kind, .snapshot_id = id };

	CHECK(feed_recovery_want(rig->feed->recovery, &want));
}

/* Replies the worker has queued for the RX lcore (none taken). */
static uint64_t rig_queued(struct rig *rig)
{
	struct recovery_queue *q = &rig->feed->recovery->replies;

	return __atomic_load_n(&q->head, __ATOMIC_ACQUIRE) - q->tail;
}

/* The nth queued reply from the oldest (n < rig_queued). */
static const struct recovery_reply *rig_reply(struct rig *rig, uint64_t n)
{
	struct recovery_queue *q = &rig->feed->recovery->replies;

	return (const struct recovery_reply *)(q->entries + (size_t)((q->tail + n) & q->mask) * q->size);
}

/* The next request the MoldUDP64 server received: 1, or 0 if none. */
static int mold_request(struct rig *rig, uint64_t *first, uint16_t *count, struct sockaddr_in *from)
{
	uint8_t req[64];
	socklen_t len = sizeof(*from);
	ssize_t n = recvfrom(rig->mold, req, sizeof(req), 0, (struct sockaddr *)from, &len);

	if (n != 20)
		return 0;
	CHECK(memcmp(req, SESSION, 10) == 0);
	*first = wire_be64(req + 10);
	*count = wire_be16(req + 18);
	return 1;
}

/* Writes messages [seq, seq + count) as a MoldUDP64 packet; returns its length. */
static uint32_t mold_packet(uint8_t *out, uint64_t seq, uint16_t count)
{
	uint32_t at = 20;

	memcpy(out, SESSION, 10);
	wire_put_be64(out + 10, seq);
	wire_put_be16(out + 18, count);
	for (uint16_t i = 0; i < count; i++) {
		wire_put_be16(out + at, MESSAGE_LEN);
		memset(out + at + 2, (int)((seq + i) & 0x7f), MESSAGE_LEN);
		at += 2 + MESSAGE_LEN;
	}
	return at;
}

static void mold_send(struct rig *rig, const struct sockaddr_in *to, uint64_t seq, uint16_t count)
{
	uint8_t packet[RECOVERY_PAYLOAD_MAX];
	uint32_t len = mold_packet(packet, seq, count);

	CHECK(sendto(rig->mold, packet, len, 0, (const struct sockaddr *)to, sizeof(*to)) == (ssize_t)len);
}

/* Passes 1 ms apart on the test's clock, for ms of it, the server answering as `answer` says. */
enum mold_answer { MOLD_SILENT, MOLD_AHEAD };

static void rig_run(struct rig *rig, uint64_t ms, enum mold_answer answer)
{
	for (uint64_t t = 0; t < ms; t++) {
		uint64_t first;
		uint16_t count;
		struct sockaddr_in from;

		recovery_worker_pass(rig->worker, rig->now_ns, 0);
		rig->now_ns += MS;
		/* A request (F, C) answered with F+1..F+C-1, one message a packet, never F. */
		while (mold_request(rig, &first, &count, &from))
			for (uint16_t i = 1; answer == MOLD_AHEAD && i < count; i++)
				mold_send(rig, &from, first + i, 1);
	}
}

static void test_give_up_queue_full(void)
{
	struct rig *rig = rig_open(8, 200);
	const struct feed_recovery_io *io = &rig->feed->recovery_io;
	struct recovery_reply junk = { .kind = RECOVERY_SNAPSHOT_RESTART };
	const struct recovery_reply *last;

	printf("a give-up that finds the reply queue full waits: counted once, no timeout meanwhile\n");
	/* The RX lcore stalled: every entry of its queue taken, nothing read. */
	for (int i = 0; i < RECOVERY_REPLIES; i++)
		CHECK(recovery_queue_push(&rig->feed->recovery->replies, &junk));
	rig_hole(rig, 100, 5);
	/* 10 + 20 + 40 ms of timeouts, then the give-up; then 10 s of waiting for room. */
	rig_run(rig, 10000, MOLD_SILENT);
	printf("  requests %" PRIu64 " timeouts %" PRIu64 " give_ups %" PRIu64 "\n", io->requests, io->timeouts,
	       io->give_ups);
	CHECK(io->requests == 3 && io->timeouts == 3 && io->give_ups == 1);
	CHECK(rig_queued(rig) == RECOVERY_REPLIES);
	recovery_queue_pop(&rig->feed->recovery->replies);	/* room for one */
	rig_run(rig, 10, MOLD_SILENT);
	CHECK(rig_queued(rig) == RECOVERY_REPLIES);
	last = rig_reply(rig, RECOVERY_REPLIES - 1);
	CHECK(last->kind == RECOVERY_REPLY_GIVE_UP && last->first == 100 && last->count == 5 && last->silent == 1);
	CHECK(io->requests == 3 && io->timeouts == 3 && io->give_ups == 1);
	rig_close(rig);
}

static void test_give_up_after_data(void)
{
	struct rig *rig = rig_open(2, 200);
	const struct feed_recovery_io *io = &rig->feed->recovery_io;
	uint64_t queued, data = 0;

	printf("replies ahead of the hole fill the queue but its control entries: the give-up gets in\n");
	rig_hole(rig, 1000, 400);
	rig_run(rig, 2000, MOLD_AHEAD);
	queued = rig_queued(rig);
	for (uint64_t i = 0; i < queued && rig_reply(rig, i)->kind == RECOVERY_REPLY_DATA; i++)
		data++;
	printf("  queued %" PRIu64 " (data %" PRIu64 ")  handoff_full %" PRIu64 "  timeouts %" PRIu64
	       "  give_ups %" PRIu64 "\n", queued, data, io->handoff_full, io->timeouts, io->give_ups);
	CHECK(data == RECOVERY_REPLIES - RECOVERY_REPLIES_CONTROL && io->handoff_full > 0);
	CHECK(queued == data + 1 && rig_reply(rig, data)->kind == RECOVERY_REPLY_GIVE_UP);
	CHECK(rig_reply(rig, data)->first == 1000 && rig_reply(rig, data)->count == 400 &&
	      rig_reply(rig, data)->silent == 0);
	/* Each of the 2 requests sent 1 + retries times, each send timed out once at most. */
	CHECK(io->give_ups == 1 && io->timeouts <= 2 * 3);
	rig_close(rig);
}

/* Forwards one reply for the hole [50, 60) and checks what the worker made of it. */
static void trim_case(const char *what, uint64_t seq, uint16_t count, uint16_t kept)
{
	struct rig *rig = rig_open(1, 200);
	const struct feed_recovery_io *io = &rig->feed->recovery_io;
	uint8_t want[RECOVERY_PAYLOAD_MAX];
	uint64_t first;
	uint16_t asked;
	struct sockaddr_in from;

	printf("  %s: [%" PRIu64 ", %" PRIu64 ") for the hole [50, 60): %u kept\n", what, seq, seq + count, kept);
	rig_hole(rig, 50, 10);
	recovery_worker_pass(rig->worker, rig->now_ns, 0);
	CHECK(mold_request(rig, &first, &asked, &from) && first == 50 && asked == 10);
	mold_send(rig, &from, seq, count);
	for (int i = 0; i < PUMP_PASSES && io->replies == 0; i++)
		recovery_worker_pass(rig->worker, rig->now_ns, 1);
	if (kept == 0) {
		CHECK(io->replies_bad == 1 && rig_queued(rig) == 0);
	} else {
		uint32_t len = mold_packet(want, seq, kept);
		const struct recovery_reply *r = rig_reply(rig, 0);

		CHECK(io->replies_bad == 0 && rig_queued(rig) == 1);
		CHECK(r->kind == RECOVERY_REPLY_DATA && r->len == len && memcmp(r->payload, want, len) == 0);
	}
	rig_close(rig);
}

static void test_trim(void)
{
	printf("a reply is cut at the hole's end: the feed takes only what it asked for\n");
	trim_case("wholly past the hole", 60, 5, 0);
	trim_case("from the hole's first, 6 past its end", 50, 16, 10);
	trim_case("from inside the hole, past its end", 53, 13, 7);
	trim_case("the last message only", 59, 3, 1);
	trim_case("within the hole", 52, 4, 4);
}

/* Runs passes (the clock still) until cond holds or PUMP_PASSES passes went by. */
#define PUMP(rig, cond)                                                              \
	do {                                                                         \
		for (int pump_ = 0; pump_ < PUMP_PASSES && !(cond); pump_++)         \
			recovery_worker_pass((rig)->worker, (rig)->now_ns, 1);       \
	} while (0)

/* The GLIMPSE server accepts the worker's connection and reads its Login Request. */
static void glimpse_accept(struct rig *rig)
{
	uint8_t login[SOUPBIN_LOGIN_LEN];
	ssize_t got = 0;

	for (int i = 0; i < PUMP_PASSES && rig->conn < 0; i++) {
		recovery_worker_pass(rig->worker, rig->now_ns, 1);
		rig->conn = accept4(rig->glimpse, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	}
	CHECK(rig->conn >= 0);
	for (int i = 0; i < PUMP_PASSES && got < (ssize_t)sizeof(login); i++) {
		ssize_t n = recv(rig->conn, login + got, sizeof(login) - (size_t)got, 0);

		if (n > 0)
			got += n;
		recovery_worker_pass(rig->worker, rig->now_ns, 1);
	}
	CHECK(got == sizeof(login) && login[2] == 'L');
}

static void glimpse_send(struct rig *rig, uint8_t type, const void *payload, uint16_t len)
{
	uint8_t packet[64];

	wire_put_be16(packet, (uint16_t)(len + 1));
	packet[2] = type;
	memcpy(packet + 3, payload, len);
	CHECK(send(rig->conn, packet, 3u + len, MSG_NOSIGNAL) == 3 + len);
}

/* Login Accepted: the session left-padded with spaces to 10, the sequence (1) to 20. */
static void glimpse_accepted(struct rig *rig, const char *session)
{
	char payload[31];

	snprintf(payload, sizeof(payload), "%10s%20d", session, 1);
	glimpse_send(rig, 'A', payload, 30);
}

/* What the server reads now: 1 bytes came, 0 the worker closed, -1 nothing yet. */
static int glimpse_read(struct rig *rig)
{
	uint8_t bytes[256];
	ssize_t n = recv(rig->conn, bytes, sizeof(bytes), MSG_DONTWAIT);

	return n > 0 ? 1 : n == 0 ? 0 : -1;
}

static void glimpse_close(struct rig *rig)
{
	close(rig->conn);
	rig->conn = -1;
}

static void test_snapshot_id_session(void)
{
	struct rig *rig = rig_open(1, 200);
	const struct recovery_reply *data, *end;
	static const uint8_t message[5] = { 'S', 0, 1, 0, 0 };

	printf("a snapshot's entries carry its id; End of Snapshot the session, spaces trimmed\n");
	rig_want_snapshot(rig, RECOVERY_WANT_SNAPSHOT, 7);
	glimpse_accept(rig);
	glimpse_accepted(rig, "SESS0001");
	glimpse_send(rig, 'S', message, sizeof(message));
	glimpse_send(rig, 'S', message, sizeof(message));
	glimpse_send(rig, 'S', "G00000000000000000042", 21);
	PUMP(rig, rig_queued(rig) == 2);
	CHECK(rig_queued(rig) == 2);
	data = rig_reply(rig, 0);
	end = rig_reply(rig, 1);
	CHECK(data->kind == RECOVERY_SNAPSHOT_DATA && data->snapshot_id == 7 && wire_be16(data->payload + 18) == 2);
	CHECK(end->kind == RECOVERY_SNAPSHOT_END && end->snapshot_id == 7 && end->first == 42);
	CHECK(end->session_len == 8 && memcmp(end->session, "SESS0001", 8) == 0);
	glimpse_close(rig);
	rig_close(rig);
}

static void test_snapshot_failed_ids(void)
{
	struct rig *rig = rig_open(1, 200);

	printf("a snapshot whose logins are all rejected: RESTART and FAILED carry its id\n");
	rig_want_snapshot(rig, RECOVERY_WANT_SNAPSHOT, 10);
	for (uint32_t login = 0; login < 2; login++) {	/* 1 + retries */
		glimpse_accept(rig);
		glimpse_send(rig, 'J', "A", 1);
		glimpse_close(rig);
		PUMP(rig, rig->feed->recovery_io.snapshot_failures == login + 1);
		rig->now_ns += 2000 * MS;	/* past the pause before the next login */
	}
	PUMP(rig, rig_queued(rig) == 2);
	CHECK(rig_queued(rig) == 2 && rig->feed->recovery_io.snapshot_attempts == 2);
	CHECK(rig_reply(rig, 0)->kind == RECOVERY_SNAPSHOT_RESTART && rig_reply(rig, 0)->snapshot_id == 10);
	CHECK(rig_reply(rig, 1)->kind == RECOVERY_SNAPSHOT_FAILED && rig_reply(rig, 1)->snapshot_id == 10);
	rig_close(rig);
}

static void test_snapshot_cancel(void)
{
	struct rig *rig = rig_open(1, 200);
	const struct feed_recovery_io *io = &rig->feed->recovery_io;
	static const uint8_t message[5] = { 'S', 0, 1, 0, 0 };
	int closed = -1;

	printf("a cancel of another snapshot does nothing; of this one closes it, and nothing follows\n");
	rig_want_snapshot(rig, RECOVERY_WANT_SNAPSHOT, 8);
	glimpse_accept(rig);
	glimpse_accepted(rig, "SESS0001");
	glimpse_send(rig, 'S', message, sizeof(message));
	rig_want_snapshot(rig, RECOVERY_WANT_SNAPSHOT_CANCEL, 9);
	PUMP(rig, false);
	CHECK(glimpse_read(rig) == -1);	/* still connected: no logout, no close */
	rig_want_snapshot(rig, RECOVERY_WANT_SNAPSHOT_CANCEL, 8);
	for (int i = 0; i < PUMP_PASSES && closed != 0; i++) {
		recovery_worker_pass(rig->worker, rig->now_ns, 1);
		closed = glimpse_read(rig);
	}
	CHECK(closed == 0);
	/* Long past the silence timeout and every retry: no new login, nothing told. */
	for (int i = 0; i < 100; i++) {
		rig->now_ns += 100 * MS;
		recovery_worker_pass(rig->worker, rig->now_ns, 0);
	}
	CHECK(accept4(rig->glimpse, NULL, NULL, SOCK_NONBLOCK) < 0 && errno == EAGAIN);
	CHECK(rig_queued(rig) == 0 && io->snapshot_attempts == 1 && io->snapshot_failures == 0);
	glimpse_close(rig);
	rig_close(rig);
}

int main(void)
{
	test_give_up_queue_full();
	test_give_up_after_data();
	test_trim();
	test_snapshot_id_session();
	test_snapshot_failed_ids();
	test_snapshot_cancel();
	if (failures) {
		printf("test_recovery_worker: %d failure(s)\n", failures);
		return 1;
	}
	printf("test_recovery_worker: ok\n");
	return 0;
}
