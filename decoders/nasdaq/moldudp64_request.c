/*
 * moldudp64_request: NASDAQ's way to recover a hole, the MoldUDP64 re-request client
 * (see moldudp64_request.h), one per feed, run by feed/'s recovery worker.
 */
#include "decoders/nasdaq/moldudp64_request.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "book/util/wire.h"
#include "config/config.h"
#include "decoders/nasdaq/moldudp64.h"

#define RECOVERY_REQUESTS_MAX 64	/* cfg in_flight's maximum */
#define RECOVERY_DATAGRAMS_PER_PASS 64	/* datagrams read per feed per pass */

struct recovery_request {
	uint64_t first;			/* still wanted: [first, first + count) */
	uint32_t count;
	uint32_t tries;			/* sends so far */
	uint64_t deadline_ns;
	bool used;
};

struct recovery_client {
	const struct recovery_link *link;
	const struct cfg_recovery *cfg;	/* NULL: no server asked */
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
	uint8_t datagram[RECOVERY_PAYLOAD_MAX + 1];	/* one past the most a reply may hold */
};


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
	uint8_t packet[MOLDUDP64_HEADER_LEN];

	assert(r->count > 0 && r->count <= UINT16_MAX - 1);
	memset(packet, ' ', 10);
	memcpy(packet, c->session, c->session_len < 10 ? c->session_len : 10);
	wire_put_be64(packet + 10, r->first);
	wire_put_be16(packet + 18, (uint16_t)r->count);
	r->tries++;
	r->deadline_ns = now_ns + recovery_timeout_ns(c->cfg, r->tries);
	recovery_counter_add(&c->link->io->requests, 1);
	recovery_counter_add(&c->link->io->requested_messages, r->count);
	if (send(c->fd, packet, sizeof(packet), 0) != (ssize_t)sizeof(packet))
		recovery_counter_add(&c->link->io->send_errors, 1);
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
	if (c->link->hand(c->link, reply, false))
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
	recovery_counter_add(&c->link->io->give_ups, 1);
	c->give_up_pending = true;
	c->give_up_silent = !c->answered;
	c->give_up_first = c->want_first;
	c->give_up_count = c->want_end - c->want_first;
	recovery_client_give_up_flush(c);
}

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
	uint32_t at = MOLDUDP64_HEADER_LEN;
	uint16_t kept = 0;

	assert(reply->len >= MOLDUDP64_HEADER_LEN && reply->len <= RECOVERY_PAYLOAD_MAX && count > 0);
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

	recovery_counter_add(&c->link->io->replies, 1);
	memset(session, ' ', sizeof(session));
	memcpy(session, c->session, c->session_len < 10 ? c->session_len : 10);
	if (!c->active || from->sin_addr.s_addr != c->server.sin_addr.s_addr || from->sin_port != c->server.sin_port ||
	    len < MOLDUDP64_HEADER_LEN || len > RECOVERY_PAYLOAD_MAX || memcmp(data, session, sizeof(session)) != 0)
		goto bad;
	/*
	 * Framed as the RX lcore will frame it: a count that disagrees with the payload
	 * would otherwise retire a request the RX lcore then refuses, and be asked again
	 * for ever (a replay waits for recovery: it would hang).
	 */
	if (c->link->decoder->frame_parse(data, len, &frame) != 0 || frame.kind != DECODER_FRAME_DATA)
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
	if (!c->link->hand(c->link, reply, true)) {
		recovery_counter_add(&c->link->io->handoff_full, 1);
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
	recovery_counter_add(&c->link->io->replies_bad, 1);
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
	uint64_t applied = __atomic_load_n(c->link->applied, __ATOMIC_ACQUIRE);
	uint32_t in_flight = 0;

	recovery_client_give_up_flush(c);
	if (!c->active)
		return;
	if (applied >= c->want_end || !__atomic_load_n(c->link->recovering, __ATOMIC_ACQUIRE)) {
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
			recovery_counter_add(&c->link->io->timeouts, 1);
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


static void moldudp64_request_pass(void *hole, uint64_t now_ns)
{
	struct recovery_client *c = hole;

	if (c->fd < 0)
		return;
	recovery_client_receive(c, now_ns);
	recovery_client_run(c, now_ns);
}

static void moldudp64_request_want(void *hole, const struct recovery_want *want)
{
	recovery_client_hole(hole, want);
}

/*
 * A UDP socket connected to link->recovery's server (none without it). Its own
 * address, once connected, is noted in the link: where the feed's replies are
 * journaled to.
 */
static int moldudp64_request_open(void *hole, const struct recovery_link *link, char *err, size_t err_size)
{
	struct recovery_client *c = hole;
	struct sockaddr_in local = { .sin_family = AF_INET };
	socklen_t local_len = sizeof(local);

	c->link = link;
	c->cfg = link->recovery;
	c->fd = -1;
	if (c->cfg == NULL)
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
		snprintf(err, err_size, "feed %s: recovery socket: %s", link->feed_name, strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		return -1;
	}
	*link->local_ip = ntohl(local.sin_addr.s_addr);
	*link->local_port = ntohs(local.sin_port);
	return 0;
}

static void moldudp64_request_poll(const void *hole, struct pollfd *pfd)
{
	const struct recovery_client *c = hole;

	*pfd = (struct pollfd){ .fd = c->fd, .events = POLLIN };
}

static void moldudp64_request_close(void *hole)
{
	struct recovery_client *c = hole;

	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

const struct recovery_hole_ops moldudp64_request_ops = {
	.size = sizeof(struct recovery_client),
	.open = moldudp64_request_open,
	.want = moldudp64_request_want,
	.pass = moldudp64_request_pass,
	.poll = moldudp64_request_poll,
	.close = moldudp64_request_close,
};
