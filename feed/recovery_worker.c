/*
 * recovery_worker: the MoldUDP64 re-request client (see recovery_worker.h).
 *
 * The thread wakes at least every RECOVERY_POLL_MS to look at its queues and its
 * deadlines, and at once when a datagram arrives. Its clock is CLOCK_MONOTONIC: the
 * timeouts are wall time on a live feed and in a replay alike.
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

#define RECOVERY_POLL_MS 1
#define RECOVERY_REQUESTS_MAX 64	/* cfg in_flight's maximum */
#define RECOVERY_DATAGRAMS_PER_PASS 64	/* datagrams read per feed per pass */
#define MOLD_HEADER 20			/* session 10, sequence 8, count 2 */

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
	uint64_t want_first, want_end;	/* the hole */
	uint64_t next;			/* first sequence number not yet in a request */
	uint64_t quiet_deadline_ns;	/* all asked and answered, the hole still open: ask again then */
	uint8_t session_len;
	char session[DECODER_SESSION_MAX];
	struct recovery_request requests[RECOVERY_REQUESTS_MAX];
	struct recovery_reply reply;	/* the entry being built */
	uint8_t datagram[RECOVERY_PAYLOAD_MAX + 1];	/* one past the most a reply may hold */
};

struct recovery_worker {
	pthread_t thread;
	volatile bool quit;
	uint32_t count;
	struct recovery_client clients[CFG_FEEDS_MAX];
	struct pollfd fds[CFG_FEEDS_MAX];
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
	if (sendto(c->fd, packet, sizeof(packet), 0, (const struct sockaddr *)&c->server, sizeof(c->server)) !=
	    (ssize_t)sizeof(packet))
		recovery_counter_add(&c->feed->recovery_io.send_errors, 1);
}

/* Ends the hole's recovery; give_up: the RX lcore is told to declare it lost. */
static void recovery_client_end(struct recovery_client *c, bool give_up)
{
	if (give_up) {
		struct recovery_reply *reply = &c->reply;

		reply->kind = RECOVERY_REPLY_GIVE_UP;
		reply->len = 0;
		reply->first = c->want_first;
		reply->count = c->want_end - c->want_first;
		recovery_counter_add(&c->feed->recovery_io.give_ups, 1);
		/* The queue holds RECOVERY_REPLIES; a full one keeps it for the next pass. */
		if (!recovery_queue_push(&c->feed->recovery->replies, reply))
			return;
	}
	c->active = false;
	memset(c->requests, 0, sizeof(c->requests));
}

/* Takes a new hole from the RX lcore (the newest replaces an older one). */
static void recovery_client_wants(struct recovery_client *c)
{
	struct recovery_want *want;

	for (uint32_t i = 0; i < RECOVERY_WANTS && (want = recovery_queue_peek(&c->feed->recovery->wants)); i++) {
		c->active = want->count > 0;
		c->want_first = want->first;
		c->want_end = want->first + want->count;
		c->next = want->first;
		c->quiet_deadline_ns = 0;
		c->session_len = want->session_len <= DECODER_SESSION_MAX ? want->session_len : 0;
		memcpy(c->session, want->session, sizeof(c->session));
		memset(c->requests, 0, sizeof(c->requests));
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

/* One datagram off the socket: checked, forwarded, and its request advanced. */
static void recovery_datagram(struct recovery_client *c, const uint8_t *data, uint32_t len,
			      const struct sockaddr_in *from, uint64_t now_ns)
{
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
	seq = wire_be64(data + 10);
	count = wire_be16(data + 18);
	r = recovery_request_find(c, seq);
	if (count == 0 || count == 0xFFFF || r == NULL)
		goto bad;
	reply = &c->reply;
	reply->kind = RECOVERY_REPLY_DATA;
	reply->len = len;
	memcpy(reply->payload, data, len);
	if (!recovery_queue_push(&c->feed->recovery->replies, reply)) {
		recovery_counter_add(&c->feed->recovery_io.handoff_full, 1);
		return;	/* the request stays as it was: its timeout asks again */
	}
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
			c->next = applied;
			c->quiet_deadline_ns = 0;
		}
	} else {
		c->quiet_deadline_ns = 0;
	}
}

static void *recovery_worker_main(void *arg)
{
	struct recovery_worker *w = arg;

	while (!w->quit) {
		uint64_t now_ns;

		(void)poll(w->fds, w->count, RECOVERY_POLL_MS);
		now_ns = clock_monotonic_ns();
		for (uint32_t i = 0; i < w->count; i++) {
			struct recovery_client *c = &w->clients[i];

			recovery_client_wants(c);
			recovery_client_receive(c, now_ns);
			recovery_client_run(c, now_ns);
		}
	}
	return NULL;
}

static int recovery_client_open(struct recovery_client *c, struct feed *feed, char *err, size_t err_size)
{
	struct sockaddr_in local = { .sin_family = AF_INET };

	c->feed = feed;
	c->cfg = &feed->cfg->recovery;
	c->server = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(c->cfg->server_port),
					  .sin_addr.s_addr = htonl(c->cfg->server_ip) };
	c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || bind(c->fd, (const struct sockaddr *)&local, sizeof(local)) != 0) {
		snprintf(err, err_size, "feed %s: recovery socket: %s", feed->cfg->name, strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

struct recovery_worker *recovery_worker_start(struct feed *const *feeds, uint32_t count, int cpu,
					      char *err, size_t err_size)
{
	struct recovery_worker *w = calloc(1, sizeof(*w));
	int rc;

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
		w->fds[w->count] = (struct pollfd){ .fd = w->clients[w->count].fd, .events = POLLIN };
		w->count++;
	}
	if (w->count == 0) {
		free(w);
		return NULL;
	}
	rc = pthread_create(&w->thread, NULL, recovery_worker_main, w);
	if (rc != 0) {
		snprintf(err, err_size, "recovery worker: %s", strerror(rc));
		w->thread = 0;
		recovery_worker_stop(w);
		return NULL;
	}
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
	if (w->thread != 0)
		pthread_join(w->thread, NULL);
	for (uint32_t i = 0; i < w->count; i++)
		if (w->clients[i].fd >= 0)
			close(w->clients[i].fd);
	free(w);
}
