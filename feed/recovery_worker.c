/*
 * recovery_worker: the MoldUDP64 re-request client (see recovery_worker.h).
 *
 * The thread runs recovery_worker_pass in a loop: each pass acts at the time it is
 * given, then waits up to RECOVERY_POLL_MS for a datagram, a snapshot byte or a want.
 * Its clock is CLOCK_MONOTONIC: the timeouts are wall time on a live feed and in a
 * replay alike. A test or a simulation creates the worker without the thread and
 * runs the passes itself, on a clock of its own.
 */
#include "feed/recovery_worker.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "book/util/clock.h"
#include "book/util/wire.h"
#include "feed/soupbin.h"

#define RECOVERY_POLL_MS 1
#define RECOVERY_REQUESTS_MAX 64	/* cfg in_flight's maximum */
#define RECOVERY_DATAGRAMS_PER_PASS 64	/* datagrams read per feed per pass */
#define MOLD_HEADER 20			/* session 10, sequence 8, count 2 */
#define SNAPSHOT_HEARTBEAT_NS 1000000000ull	/* a client heartbeat after 1 s of our silence */
#define SNAPSHOT_RETRY_NS 500000000ull		/* wait before a new login, times the attempts */
#define SNAPSHOT_PACKETS_PER_PASS 4096		/* SoupBinTCP packets handled per pass */

enum snapshot_phase {
	SNAPSHOT_IDLE,
	SNAPSHOT_WAIT,		/* a new login at retry_ns */
	SNAPSHOT_CONNECTING,
	SNAPSHOT_LOGIN,		/* Login Request sent, waiting for Accepted */
	SNAPSHOT_STREAM,	/* taking the snapshot, until End of Snapshot */
	SNAPSHOT_FAILING,	/* every attempt failed; telling the RX lcore */
};

/* A GLIMPSE session over SoupBinTCP: login, the snapshot's messages, End of Snapshot. */
struct snapshot_client {
	const struct cfg_snapshot *cfg;
	int fd;
	enum snapshot_phase phase;
	uint32_t attempts;		/* logins of this snapshot */
	uint64_t retry_ns;
	uint64_t silence_deadline_ns;	/* the server said nothing since: the attempt fails */
	uint64_t end_deadline_ns;	/* the attempt fails then without End of Snapshot (max_ms) */
	uint64_t sent_ns;		/* when we last sent (client heartbeats) */
	uint32_t id;			/* the RX lcore's snapshot_id of the snapshot being taken */
	uint8_t session_len;		/* the last Login Accepted's session, spaces trimmed */
	char session[DECODER_SESSION_MAX];
	struct soupbin_buffer in;
	struct recovery_reply batch;	/* messages for the RX lcore, framed as MoldUDP64 */
	uint16_t batch_count;
};

struct recovery_request {
	uint64_t first;			/* still wanted: [first, first + count) */
	uint32_t count;
	uint32_t tries;			/* sends so far */
	uint64_t deadline_ns;
	bool used;
};

struct recovery_client {
	struct feed *feed;
	const struct cfg_recovery *cfg;
	int fd;
	struct sockaddr_in server;
	bool active;			/* a hole is being asked for */
	bool answered;			/* the server sent a good reply for it */
	uint64_t want_first, want_end;	/* the hole */
	uint64_t next;			/* first sequence number not yet in a request */
	uint64_t quiet_deadline_ns;	/* all asked and answered, the hole still open: ask again then */
	uint64_t quiet_applied;		/* the feed's applied at the last such re-ask */
	uint32_t quiet_rounds;		/* re-asks in a row after which the feed had not moved */
	/*
	 * A give-up counted and owed to the RX lcore, waiting for room in its queue: the
	 * hole is no longer asked for, and it is neither counted nor timed out again.
	 */
	bool give_up_pending;
	bool give_up_silent;
	uint64_t give_up_first, give_up_count;
	uint8_t session_len;
	char session[DECODER_SESSION_MAX];
	struct recovery_request requests[RECOVERY_REQUESTS_MAX];
	struct recovery_reply reply;	/* the entry being built */
	struct snapshot_client snap;
	uint8_t datagram[RECOVERY_PAYLOAD_MAX + 1];	/* one past the most a reply may hold */
};

struct recovery_worker {
	pthread_t thread;
	bool threaded;			/* thread runs recovery_worker_main (start, not create alone) */
	volatile bool quit;
	uint32_t count;
	struct recovery_client clients[CFG_FEEDS_MAX];
	struct pollfd fds[3 * CFG_FEEDS_MAX];	/* each client's UDP socket, TCP socket, wake-up eventfd */
};

static void recovery_counter_add(uint64_t *counter, uint64_t n)
{
	__atomic_store_n(counter, *counter + n, __ATOMIC_RELAXED);
}

/* The timeout of a request's next wait: timeout_ms x backoff^(tries - 1), capped. */
static uint64_t recovery_timeout_ns(const struct cfg_recovery *cfg, uint32_t tries)
{
	uint64_t ms = cfg->timeout_ms;

	for (uint32_t i = 1; i < tries && ms < cfg->timeout_max_ms; i++)
		ms *= cfg->backoff;
	if (ms > cfg->timeout_max_ms)
		ms = cfg->timeout_max_ms;
	return ms * 1000000;
}

static void recovery_request_send(struct recovery_client *c, struct recovery_request *r, uint64_t now_ns)
{
	uint8_t packet[MOLD_HEADER];

	assert(r->count > 0 && r->count <= UINT16_MAX - 1);
	memset(packet, ' ', 10);
	memcpy(packet, c->session, c->session_len < 10 ? c->session_len : 10);
	wire_put_be64(packet + 10, r->first);
	wire_put_be16(packet + 18, (uint16_t)r->count);
	r->tries++;
	r->deadline_ns = now_ns + recovery_timeout_ns(c->cfg, r->tries);
	recovery_counter_add(&c->feed->recovery_io.requests, 1);
	recovery_counter_add(&c->feed->recovery_io.requested_messages, r->count);
	if (send(c->fd, packet, sizeof(packet), 0) != (ssize_t)sizeof(packet))
		recovery_counter_add(&c->feed->recovery_io.send_errors, 1);
}

/*
 * Hands the RX lcore the give-up it is owed, if any (a plain push: the queue's last
 * RECOVERY_REPLIES_CONTROL entries are kept for it and the snapshot's control
 * entries, so replies a server sends ahead of the hole cannot hold it out). A full
 * queue keeps it pending for the next pass: counted once, whatever the wait.
 */
static void recovery_client_give_up_flush(struct recovery_client *c)
{
	struct recovery_reply *reply = &c->reply;

	if (!c->give_up_pending)
		return;
	memset(reply, 0, offsetof(struct recovery_reply, payload));
	reply->kind = RECOVERY_REPLY_GIVE_UP;
	reply->silent = c->give_up_silent;
	reply->first = c->give_up_first;
	reply->count = c->give_up_count;
	if (recovery_queue_push(&c->feed->recovery->replies, reply))
		c->give_up_pending = false;
}

/*
 * Ends the hole's recovery; give_up: the RX lcore is told to declare it lost (once:
 * give_ups counts ranges given up on, not attempts to say so).
 */
static void recovery_client_end(struct recovery_client *c, bool give_up)
{
	assert(c->active && !c->give_up_pending);
	c->active = false;
	memset(c->requests, 0, sizeof(c->requests));
	if (!give_up)
		return;
	recovery_counter_add(&c->feed->recovery_io.give_ups, 1);
	c->give_up_pending = true;
	c->give_up_silent = !c->answered;
	c->give_up_first = c->want_first;
	c->give_up_count = c->want_end - c->want_first;
	recovery_client_give_up_flush(c);
}

static void snapshot_start(struct recovery_client *c, uint32_t id);
static void snapshot_cancel(struct recovery_client *c, uint32_t id);

/* A new hole from the RX lcore: it replaces the one asked for, if any. */
static void recovery_client_hole(struct recovery_client *c, const struct recovery_want *want)
{
	/* The RX lcore has moved on: an old hole's give-up would only confuse the new one. */
	c->give_up_pending = false;
	c->active = want->count > 0 && c->fd >= 0;
	c->answered = false;
	c->want_first = want->first;
	c->want_end = want->first + want->count;
	c->next = want->first;
	c->quiet_deadline_ns = 0;
	c->quiet_applied = want->first;
	c->quiet_rounds = 0;
	c->session_len = want->session_len <= DECODER_SESSION_MAX ? want->session_len : 0;
	memcpy(c->session, want->session, sizeof(c->session));
	memset(c->requests, 0, sizeof(c->requests));
}

/* Takes what the RX lcore wants, in order: holes and snapshots (taken or cancelled). */
static void recovery_client_wants(struct recovery_client *c)
{
	struct recovery_want *want;

	for (uint32_t i = 0; i < RECOVERY_WANTS && (want = recovery_queue_peek(&c->feed->recovery->wants)); i++) {
		switch (want->kind) {
		case RECOVERY_WANT_SNAPSHOT:
			snapshot_start(c, want->snapshot_id);
			break;
		case RECOVERY_WANT_SNAPSHOT_CANCEL:
			snapshot_cancel(c, want->snapshot_id);
			break;
		default:
			assert(want->kind == RECOVERY_WANT_HOLE);
			recovery_client_hole(c, want);
			break;
		}
		recovery_queue_pop(&c->feed->recovery->wants);
	}
}

/*
 * The outstanding request a reply [seq, seq + count) answers: one whose range
 * contains seq. NULL if none (a late or unasked-for reply).
 */
static struct recovery_request *recovery_request_find(struct recovery_client *c, uint64_t seq)
{
	for (uint32_t i = 0; i < c->cfg->in_flight; i++) {
		struct recovery_request *r = &c->requests[i];

		if (r->used && seq >= r->first && seq < r->first + r->count)
			return r;
	}
	return NULL;
}

/*
 * Cuts the MoldUDP64 packet in reply->payload (reply->len bytes, framing checked by
 * the decoder: `count` messages from `seq`) after its last message below `end`, the
 * hole's end, rewriting the header's count and reply->len: a server that sends past
 * the hole gives the feed nothing it did not ask for (the lines' copies of the rest
 * would count as duplicates). Returns the messages kept, 0 if none is below end.
 * Only the tail is cut: what the reply repeats below the hole the feed has applied
 * is a duplicate the arbiter skips.
 */
static uint16_t recovery_reply_trim(struct recovery_reply *reply, uint64_t seq, uint16_t count, uint64_t end)
{
	uint32_t at = MOLD_HEADER;
	uint16_t kept = 0;

	assert(reply->len >= MOLD_HEADER && reply->len <= RECOVERY_PAYLOAD_MAX && count > 0);
	if (seq >= end)
		return 0;
	/* Bounded by count; each block lies within len (the decoder walked them all). */
	while (kept < count && seq + kept < end) {
		assert(at + 2 <= reply->len);
		at += 2u + wire_be16(reply->payload + at);
		assert(at <= reply->len);
		kept++;
	}
	assert(kept == count ? at == reply->len : at < reply->len);
	wire_put_be16(reply->payload + 18, kept);
	reply->len = at;
	return kept;
}

/* One datagram off the socket: checked, cut to the hole, forwarded, its request advanced. */
static void recovery_datagram(struct recovery_client *c, const uint8_t *data, uint32_t len,
			      const struct sockaddr_in *from, uint64_t now_ns)
{
	struct decoder_frame frame;
	struct recovery_reply *reply;
	struct recovery_request *r;
	uint64_t seq, end;
	uint16_t count;
	char session[10];

	recovery_counter_add(&c->feed->recovery_io.replies, 1);
	memset(session, ' ', sizeof(session));
	memcpy(session, c->session, c->session_len < 10 ? c->session_len : 10);
	if (!c->active || from->sin_addr.s_addr != c->server.sin_addr.s_addr || from->sin_port != c->server.sin_port ||
	    len < MOLD_HEADER || len > RECOVERY_PAYLOAD_MAX || memcmp(data, session, sizeof(session)) != 0)
		goto bad;
	/*
	 * Framed as the RX lcore will frame it: a count that disagrees with the payload
	 * would otherwise retire a request the RX lcore then refuses, and be asked again
	 * for ever (a replay waits for recovery: it would hang).
	 */
	if (c->feed->decoder->frame_parse(data, len, &frame) != 0 || frame.kind != DECODER_FRAME_DATA)
		goto bad;
	seq = frame.seq;
	r = recovery_request_find(c, seq);
	if (r == NULL)
		goto bad;
	reply = &c->reply;
	memset(reply, 0, offsetof(struct recovery_reply, payload));
	reply->kind = RECOVERY_REPLY_DATA;
	reply->len = len;
	memcpy(reply->payload, data, len);
	/* Requests lie within the hole: a reply wholly past it matched none (bad above). */
	count = recovery_reply_trim(reply, seq, (uint16_t)frame.count, c->want_end);
	assert(count > 0 && seq + count <= c->want_end);
	/* Data leaves the control entries their room: a give-up always gets through. */
	if (!recovery_queue_push_reserve(&c->feed->recovery->replies, reply, RECOVERY_REPLIES_CONTROL)) {
		recovery_counter_add(&c->feed->recovery_io.handoff_full, 1);
		return;	/* the request stays as it was: its timeout asks again */
	}
	c->answered = true;
	/* What the reply carried is no longer wanted from this request; ask for the rest. */
	end = seq + count;
	if (seq == r->first && end < r->first + r->count) {
		r->count -= (uint32_t)(end - r->first);
		r->first = end;
		r->tries = 0;
		recovery_request_send(c, r, now_ns);
	} else if (seq == r->first) {
		r->used = false;
	}
	return;
bad:
	recovery_counter_add(&c->feed->recovery_io.replies_bad, 1);
}

static void recovery_client_receive(struct recovery_client *c, uint64_t now_ns)
{
	for (uint32_t i = 0; i < RECOVERY_DATAGRAMS_PER_PASS; i++) {
		struct sockaddr_in from;
		socklen_t from_len = sizeof(from);
		ssize_t n = recvfrom(c->fd, c->datagram, sizeof(c->datagram), MSG_DONTWAIT, (struct sockaddr *)&from, &from_len);

		if (n < 0)
			return;
		recovery_datagram(c, c->datagram, (uint32_t)n, &from, now_ns);
	}
}

/* Retires what the feed has applied, re-sends what timed out, fills the window. */
static void recovery_client_run(struct recovery_client *c, uint64_t now_ns)
{
	uint64_t applied = __atomic_load_n(&c->feed->recovery->applied, __ATOMIC_ACQUIRE);
	uint32_t in_flight = 0;

	recovery_client_give_up_flush(c);
	if (!c->active)
		return;
	if (applied >= c->want_end || !__atomic_load_n(&c->feed->recovery->recovering, __ATOMIC_ACQUIRE)) {
		recovery_client_end(c, false);	/* filled (by replies or a late line) or declared */
		return;
	}
	for (uint32_t i = 0; i < c->cfg->in_flight; i++) {
		struct recovery_request *r = &c->requests[i];

		if (r->used && r->first + r->count <= applied)
			r->used = false;
		if (!r->used)
			continue;
		if (now_ns >= r->deadline_ns) {
			recovery_counter_add(&c->feed->recovery_io.timeouts, 1);
			if (r->tries > c->cfg->retries) {
				recovery_client_end(c, true);
				return;
			}
			recovery_request_send(c, r, now_ns);
		}
		in_flight++;
	}
	if (c->next < applied)
		c->next = applied;
	for (uint32_t i = 0; i < c->cfg->in_flight && c->next < c->want_end; i++) {
		struct recovery_request *r = &c->requests[i];
		uint64_t left = c->want_end - c->next;

		if (r->used)
			continue;
		*r = (struct recovery_request){ .first = c->next, .used = true };
		r->count = left < c->cfg->request_messages ? (uint32_t)left : c->cfg->request_messages;
		c->next += r->count;
		recovery_request_send(c, r, now_ns);
		in_flight++;
	}
	/*
	 * Everything asked for was answered, yet the feed has not got there (a reply it
	 * refused, or one lost in the hand-off): after a timeout, ask again from there.
	 */
	if (in_flight == 0) {
		if (c->quiet_deadline_ns == 0)
			c->quiet_deadline_ns = now_ns + recovery_timeout_ns(c->cfg, 1);
		else if (now_ns >= c->quiet_deadline_ns) {
			/* Asking again without the feed moving counts as a retry: bounded too. */
			c->quiet_rounds = applied > c->quiet_applied ? 0 : c->quiet_rounds + 1;
			c->quiet_applied = applied;
			if (c->quiet_rounds > c->cfg->retries) {
				recovery_client_end(c, true);
				return;
			}
			c->next = applied;
			c->quiet_deadline_ns = 0;
		}
	} else {
		c->quiet_deadline_ns = 0;
	}
}

/* ---- GLIMPSE snapshot over SoupBinTCP ---- */

static bool snapshot_send(struct snapshot_client *s, const uint8_t *bytes, size_t len, uint64_t now_ns)
{
	if (send(s->fd, bytes, len, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)len)
		return false;
	s->sent_ns = now_ns;
	return true;
}

/*
 * Hands the RX lcore an entry of the snapshot without payload (RESTART, END with the
 * sequence to go on from and the Login Accepted's session, FAILED); false if its
 * queue is full. A plain push: these may take the entries data leaves free.
 */
static bool snapshot_tell(struct recovery_client *c, uint32_t kind, uint64_t first)
{
	struct snapshot_client *s = &c->snap;
	struct recovery_reply *r = &c->reply;

	memset(r, 0, offsetof(struct recovery_reply, payload));
	r->kind = kind;
	r->snapshot_id = s->id;
	r->first = first;
	if (kind == RECOVERY_SNAPSHOT_END) {
		r->session_len = s->session_len;
		memcpy(r->session, s->session, sizeof(r->session));
	}
	return recovery_queue_push(&c->feed->recovery->replies, r);
}

static void snapshot_close(struct snapshot_client *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->in.len = 0;
	s->batch_count = 0;
}

/* Snapshot `id` is wanted: a new login soon, whatever the last one was doing. */
static void snapshot_start(struct recovery_client *c, uint32_t id)
{
	struct snapshot_client *s = &c->snap;

	if (s->cfg == NULL)
		return;
	snapshot_close(s);
	s->phase = SNAPSHOT_WAIT;
	s->id = id;
	s->attempts = 0;
	s->retry_ns = 0;
	s->session_len = 0;
}

/*
 * The RX lcore no longer wants snapshot `id`: if it is the one being taken (or whose
 * failure is still to be told), the connection is closed (after a Logout if logged in)
 * and nothing more is said of it. A cancel of another id (one already replaced) does
 * nothing.
 */
static void snapshot_cancel(struct recovery_client *c, uint32_t id)
{
	struct snapshot_client *s = &c->snap;
	uint8_t logout[3];

	if (s->cfg == NULL || s->phase == SNAPSHOT_IDLE || s->id != id)
		return;
	if (s->phase == SNAPSHOT_LOGIN || s->phase == SNAPSHOT_STREAM) {
		soupbin_empty_build(logout, 'O');
		(void)snapshot_send(s, logout, sizeof(logout), s->sent_ns);
	}
	snapshot_close(s);
	s->phase = SNAPSHOT_IDLE;
}

/* The server showed progress (or the wait is ours): the silence that fails it restarts. */
static void snapshot_heard(struct snapshot_client *s, uint64_t now_ns)
{
	s->silence_deadline_ns = now_ns + (uint64_t)s->cfg->timeout_ms * 1000000;
}

/* The attempt failed: another login after a pause, or, with none left, no snapshot. */
static void snapshot_fail(struct recovery_client *c, uint64_t now_ns)
{
	struct snapshot_client *s = &c->snap;

	snapshot_close(s);
	recovery_counter_add(&c->feed->recovery_io.snapshot_failures, 1);
	if (s->attempts <= s->cfg->retries) {
		s->phase = SNAPSHOT_WAIT;
		s->retry_ns = now_ns + SNAPSHOT_RETRY_NS * s->attempts;
	} else {
		s->phase = SNAPSHOT_FAILING;
	}
}

static void snapshot_connect(struct recovery_client *c, uint64_t now_ns)
{
	struct snapshot_client *s = &c->snap;
	struct sockaddr_in server = { .sin_family = AF_INET, .sin_port = htons(s->cfg->server_port),
				      .sin_addr.s_addr = htonl(s->cfg->server_ip) };

	s->attempts++;
	recovery_counter_add(&c->feed->recovery_io.snapshot_attempts, 1);
	/* A new login sends the snapshot from its start: what the last one gave goes. */
	if (s->attempts > 1 && !snapshot_tell(c, RECOVERY_SNAPSHOT_RESTART, 0)) {
		s->attempts--;
		return;	/* the next pass tries again */
	}
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || (connect(s->fd, (const struct sockaddr *)&server, sizeof(server)) != 0 &&
			  errno != EINPROGRESS)) {
		snapshot_fail(c, now_ns);
		return;
	}
	s->phase = SNAPSHOT_CONNECTING;
	snapshot_heard(s, now_ns);
	s->end_deadline_ns = now_ns + (uint64_t)s->cfg->max_ms * 1000000;
}

/* The connection is up (or failed): log in for sequence 1, as GLIMPSE wants. */
static void snapshot_connected(struct recovery_client *c, uint64_t now_ns)
{
	struct snapshot_client *s = &c->snap;
	struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };
	uint8_t login[SOUPBIN_LOGIN_LEN];
	socklen_t len = sizeof(int);
	int error = 0;

	if (poll(&pfd, 1, 0) != 1)
		return;
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) {
		snapshot_fail(c, now_ns);
		return;
	}
	soupbin_login_build(login, s->cfg->username, s->cfg->password, 1);
	if (!snapshot_send(s, login, sizeof(login), now_ns)) {
		snapshot_fail(c, now_ns);
		return;
	}
	s->phase = SNAPSHOT_LOGIN;
}

/* Hands the batch of snapshot messages over; false if the RX lcore's queue is full. */
static bool snapshot_batch_flush(struct recovery_client *c)
{
	struct snapshot_client *s = &c->snap;

	if (s->batch_count == 0)
		return true;
	s->batch.kind = RECOVERY_SNAPSHOT_DATA;
	s->batch.snapshot_id = s->id;
	memset(s->batch.payload, ' ', 10);
	wire_put_be64(s->batch.payload + 10, 1);	/* MoldUDP64 numbers from 1; the RX lcore ignores it */
	wire_put_be16(s->batch.payload + 18, s->batch_count);
	/* Data: the control entries' room stays free (End of Snapshot comes after it). */
	if (!recovery_queue_push_reserve(&c->feed->recovery->replies, &s->batch, RECOVERY_REPLIES_CONTROL))
		return false;
	s->batch_count = 0;
	return true;
}

/*
 * One Sequenced Data packet of the snapshot: an ITCH message into the batch, or End of
 * Snapshot. 1 taken, 0 not now (the RX lcore's queue is full), -1 the session is bad.
 */
static int snapshot_message(struct recovery_client *c, const uint8_t *msg, uint16_t len)
{
	struct snapshot_client *s = &c->snap;
	uint64_t next_seq;
	uint8_t logout[3];

	if (len == 0)
		return -1;
	if (msg[0] == 'G') {
		/* End of Snapshot: message type, then the sequence to go on from (20 ASCII). */
		if (len < 21 || soupbin_number_parse(msg + 1, 20, &next_seq) != 0 || next_seq == 0)
			return -1;
		if (!snapshot_batch_flush(c) || !snapshot_tell(c, RECOVERY_SNAPSHOT_END, next_seq))
			return 0;
		soupbin_empty_build(logout, 'O');
		(void)snapshot_send(s, logout, sizeof(logout), s->sent_ns);
		snapshot_close(s);
		s->phase = SNAPSHOT_IDLE;
		return 1;
	}
	if (len > RECOVERY_PAYLOAD_MAX - MOLD_HEADER - 2)
		return -1;
	if (s->batch_count == 0)
		s->batch.len = MOLD_HEADER;
	if (s->batch.len + 2u + len > RECOVERY_PAYLOAD_MAX || s->batch_count == UINT16_MAX - 1) {
		if (!snapshot_batch_flush(c))
			return 0;
		s->batch.len = MOLD_HEADER;
	}
	wire_put_be16(s->batch.payload + s->batch.len, len);
	memcpy(s->batch.payload + s->batch.len + 2, msg, len);
	s->batch.len += 2u + len;
	s->batch_count++;
	return 1;
}

/*
 * Login Accepted (SoupBinTCP 3.00): Session (10, alpha, left-padded with spaces), then
 * Sequence Number (20). The session, spaces trimmed, goes with End of Snapshot (the
 * RX lcore matches it with the lines'); the sequence is not used (GLIMPSE's End of
 * Snapshot says where the feed goes on from). 0, or -EPROTO for a short one.
 */
static int snapshot_accepted(struct snapshot_client *s, const uint8_t *payload, uint16_t len)
{
	uint32_t first = 0, end = 10;

	if (len < 30)
		return -EPROTO;
	while (first < end && payload[first] == ' ')
		first++;
	while (end > first && payload[end - 1] == ' ')
		end--;
	_Static_assert(DECODER_SESSION_MAX >= 10, "a SoupBinTCP session fits");
	s->session_len = (uint8_t)(end - first);
	memset(s->session, 0, sizeof(s->session));
	memcpy(s->session, payload + first, end - first);
	s->phase = SNAPSHOT_STREAM;
	return 0;
}

/* Reads what the server sent and handles its whole packets. */
static void snapshot_receive(struct recovery_client *c, uint64_t now_ns)
{
	struct snapshot_client *s = &c->snap;
	uint32_t room = (uint32_t)sizeof(s->in.bytes) - s->in.len, handled = 0;
	/* A full buffer waits for the RX lcore to take what it holds (recv of 0 bytes is no EOF). */
	ssize_t n = room == 0 ? -1 : recv(s->fd, s->in.bytes + s->in.len, room, MSG_DONTWAIT);

	if (room == 0)
		errno = EAGAIN;
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
		snapshot_fail(c, now_ns);	/* the server closed: mid-snapshot, or after a rejection */
		return;
	}
	if (n > 0)
		s->in.len += (uint32_t)n;
	while (s->fd >= 0 && handled++ < SNAPSHOT_PACKETS_PER_PASS) {
		const uint8_t *payload;
		uint16_t len;
		uint8_t type;
		int rc = soupbin_packet_peek(&s->in, &type, &payload, &len);

		if (rc == 0)
			return;
		if (rc < 0 || type == 'J' || type == 'Z' || (type == 'S' && s->phase != SNAPSHOT_STREAM)) {
			snapshot_fail(c, now_ns);	/* rejected, ended before the snapshot did, or garbage */
			return;
		}
		/*
		 * Only a login's answer or the snapshot's data is progress: a server that
		 * sends heartbeats alone would otherwise keep a snapshot (and a replay,
		 * which waits for it) pending for ever.
		 */
		if (type == 'A' || type == 'S')
			snapshot_heard(s, now_ns);
		if (type == 'A' && snapshot_accepted(s, payload, len) != 0) {
			snapshot_fail(c, now_ns);	/* not a Login Accepted: garbage */
			return;
		}
		if (type == 'S') {
			rc = snapshot_message(c, payload, len);
			if (rc < 0) {
				snapshot_fail(c, now_ns);
				return;
			}
			if (rc == 0) {
				/* The RX lcore is behind: not the server's silence. Keep the packet. */
				snapshot_heard(s, now_ns);
				return;
			}
			if (s->fd < 0)
				return;	/* End of Snapshot: done */
		}
		soupbin_packet_consume(&s->in);
	}
}

static void snapshot_run(struct recovery_client *c, uint64_t now_ns)
{
	struct snapshot_client *s = &c->snap;
	uint8_t heartbeat[3];

	switch (s->phase) {
	case SNAPSHOT_IDLE:
		return;
	case SNAPSHOT_WAIT:
		if (now_ns >= s->retry_ns)
			snapshot_connect(c, now_ns);
		return;
	case SNAPSHOT_FAILING:
		if (snapshot_tell(c, RECOVERY_SNAPSHOT_FAILED, 0))
			s->phase = SNAPSHOT_IDLE;
		return;
	case SNAPSHOT_CONNECTING:
		snapshot_connected(c, now_ns);
		break;
	case SNAPSHOT_LOGIN:
	case SNAPSHOT_STREAM:
		snapshot_receive(c, now_ns);
		break;
	}
	if (s->fd < 0)
		return;
	/* Silent, or never ending (data trickling in): the attempt fails either way. */
	if (now_ns >= s->silence_deadline_ns || now_ns >= s->end_deadline_ns) {
		snapshot_fail(c, now_ns);
		return;
	}
	soupbin_empty_build(heartbeat, 'R');
	if (s->phase != SNAPSHOT_CONNECTING && now_ns - s->sent_ns >= SNAPSHOT_HEARTBEAT_NS &&
	    !snapshot_send(s, heartbeat, sizeof(heartbeat), now_ns))
		snapshot_fail(c, now_ns);
}

void recovery_worker_pass(struct recovery_worker *w, uint64_t now_ns, int poll_timeout_ms)
{
	assert(w != NULL && w->count > 0 && w->count <= CFG_FEEDS_MAX && poll_timeout_ms >= 0);
	for (uint32_t i = 0; i < w->count; i++) {
		struct recovery_client *c = &w->clients[i];

		/* The last pass's poll saw a want: the counter is reset, or poll wakes at once. */
		if (w->fds[2 * w->count + i].revents & POLLIN) {
			uint64_t wakes;

			(void)!read(c->feed->recovery->wake_fd, &wakes, sizeof(wakes));
			w->fds[2 * w->count + i].revents = 0;
		}
		recovery_client_wants(c);
		if (c->fd >= 0) {
			recovery_client_receive(c, now_ns);
			recovery_client_run(c, now_ns);
		}
		snapshot_run(c, now_ns);
	}
	for (uint32_t i = 0; i < w->count; i++) {
		w->fds[w->count + i].fd = w->clients[i].snap.fd;
		/* A full buffer waits for the RX lcore, not the socket: no busy poll. */
		w->fds[w->count + i].events = w->clients[i].snap.phase == SNAPSHOT_CONNECTING ? POLLOUT :
					      w->clients[i].snap.in.len == sizeof(w->clients[i].snap.in.bytes) ? 0 :
					      POLLIN;
	}
	(void)poll(w->fds, 3 * w->count, poll_timeout_ms);
}

static void *recovery_worker_main(void *arg)
{
	struct recovery_worker *w = arg;

	while (!w->quit)
		recovery_worker_pass(w, clock_monotonic_ns(), RECOVERY_POLL_MS);
	return NULL;
}

/*
 * The client of a feed with recovery (a UDP socket) and/or a snapshot server. A feed
 * that recovers from a replay's capture (feed_recovery.from_capture) gets no socket:
 * its server is never asked. The socket's own address, once connected, is the
 * feed's (feed_recovery.local_ip, local_port): where its replies are journaled to.
 */
static int recovery_client_open(struct recovery_client *c, struct feed *feed, char *err, size_t err_size)
{
	struct sockaddr_in local = { .sin_family = AF_INET };
	socklen_t local_len = sizeof(local);

	c->feed = feed;
	c->cfg = &feed->cfg->recovery;
	c->fd = -1;
	c->snap.fd = -1;
	c->snap.cfg = feed->cfg->snapshot.enabled ? &feed->cfg->snapshot : NULL;
	if (!c->cfg->enabled || feed->recovery->from_capture)
		return 0;
	c->server = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(c->cfg->server_port),
					  .sin_addr.s_addr = htonl(c->cfg->server_ip) };
	c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/*
	 * Connected to the server: the kernel delivers the server's datagrams only, so a
	 * local user's flood at this port never reaches the socket's buffer (where it
	 * would crowd out the replies) nor this thread. The source check stays.
	 */
	if (c->fd < 0 || bind(c->fd, (const struct sockaddr *)&local, sizeof(local)) != 0 ||
	    connect(c->fd, (const struct sockaddr *)&c->server, sizeof(c->server)) != 0 ||
	    getsockname(c->fd, (struct sockaddr *)&local, &local_len) != 0) {
		snprintf(err, err_size, "feed %s: recovery socket: %s", feed->cfg->name, strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		return -1;
	}
	feed->recovery->local_ip = ntohl(local.sin_addr.s_addr);
	feed->recovery->local_port = ntohs(local.sin_port);
	return 0;
}

struct recovery_worker *recovery_worker_create(struct feed *const *feeds, uint32_t count, char *err,
					       size_t err_size)
{
	struct recovery_worker *w = calloc(1, sizeof(*w));

	assert(err != NULL && err_size > 0);
	err[0] = '\0';
	if (w == NULL) {
		snprintf(err, err_size, "recovery worker: out of memory");
		return NULL;
	}
	for (uint32_t i = 0; i < count && w->count < CFG_FEEDS_MAX; i++) {
		if (feeds[i]->recovery == NULL)
			continue;
		if (recovery_client_open(&w->clients[w->count], feeds[i], err, err_size) != 0) {
			recovery_worker_stop(w);
			return NULL;
		}
		w->count++;
	}
	if (w->count == 0) {
		free(w);
		return NULL;
	}
	for (uint32_t i = 0; i < w->count; i++) {
		w->fds[i] = (struct pollfd){ .fd = w->clients[i].fd, .events = POLLIN };
		w->fds[w->count + i] = (struct pollfd){ .fd = -1 };
		w->fds[2 * w->count + i] = (struct pollfd){ .fd = w->clients[i].feed->recovery->wake_fd, .events = POLLIN };
	}
	return w;
}

struct recovery_worker *recovery_worker_start(struct feed *const *feeds, uint32_t count, int cpu,
					      char *err, size_t err_size)
{
	struct recovery_worker *w = recovery_worker_create(feeds, count, err, err_size);
	int rc;

	if (w == NULL)
		return NULL;
	rc = pthread_create(&w->thread, NULL, recovery_worker_main, w);
	if (rc != 0) {
		snprintf(err, err_size, "recovery worker: %s", strerror(rc));
		recovery_worker_stop(w);
		return NULL;
	}
	w->threaded = true;
	pthread_setname_np(w->thread, "fh-recovery");
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		(void)pthread_setaffinity_np(w->thread, sizeof(set), &set);
	}
	return w;
}

void recovery_worker_stop(struct recovery_worker *w)
{
	if (w == NULL)
		return;
	w->quit = true;
	if (w->threaded)
		pthread_join(w->thread, NULL);
	for (uint32_t i = 0; i < w->count; i++) {
		if (w->clients[i].fd >= 0)
			close(w->clients[i].fd);
		snapshot_close(&w->clients[i].snap);
	}
	free(w);
}
