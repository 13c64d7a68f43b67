/*
 * glimpse: NASDAQ's way to take a snapshot, a GLIMPSE session over SoupBinTCP (see
 * glimpse.h), one per feed, run by feed/'s recovery worker: login, the snapshot's
 * messages, End of Snapshot.
 */
#include "decoders/nasdaq/glimpse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "book/util/wire.h"
#include "config/config.h"
#include "decoders/nasdaq/moldudp64.h"
#include "decoders/nasdaq/soupbin.h"

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

struct snapshot_client {
	const struct recovery_link *link;
	const struct cfg_snapshot *cfg;		/* NULL: no snapshot configured */
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
	struct recovery_reply reply;	/* the control entry being built */
	struct recovery_reply batch;	/* messages for the RX lcore, framed as MoldUDP64 */
	uint16_t batch_count;
};

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
static bool snapshot_tell(struct snapshot_client *s, uint32_t kind, uint64_t first)
{
	struct recovery_reply *r = &s->reply;

	memset(r, 0, offsetof(struct recovery_reply, payload));
	r->kind = kind;
	r->snapshot_id = s->id;
	r->first = first;
	if (kind == RECOVERY_SNAPSHOT_END) {
		r->session_len = s->session_len;
		memcpy(r->session, s->session, sizeof(r->session));
	}
	return s->link->hand(s->link, r, false);
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
static void snapshot_start(struct snapshot_client *s, uint32_t id)
{

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
static void snapshot_cancel(struct snapshot_client *s, uint32_t id)
{
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
static void snapshot_fail(struct snapshot_client *s, uint64_t now_ns)
{

	snapshot_close(s);
	recovery_counter_add(&s->link->io->snapshot_failures, 1);
	if (s->attempts <= s->cfg->retries) {
		s->phase = SNAPSHOT_WAIT;
		s->retry_ns = now_ns + SNAPSHOT_RETRY_NS * s->attempts;
	} else {
		s->phase = SNAPSHOT_FAILING;
	}
}

static void snapshot_connect(struct snapshot_client *s, uint64_t now_ns)
{
	struct sockaddr_in server = { .sin_family = AF_INET, .sin_port = htons(s->cfg->server_port),
				      .sin_addr.s_addr = htonl(s->cfg->server_ip) };

	s->attempts++;
	recovery_counter_add(&s->link->io->snapshot_attempts, 1);
	/* A new login sends the snapshot from its start: what the last one gave goes. */
	if (s->attempts > 1 && !snapshot_tell(s, RECOVERY_SNAPSHOT_RESTART, 0)) {
		s->attempts--;
		return;	/* the next pass tries again */
	}
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || (connect(s->fd, (const struct sockaddr *)&server, sizeof(server)) != 0 &&
			  errno != EINPROGRESS)) {
		snapshot_fail(s, now_ns);
		return;
	}
	s->phase = SNAPSHOT_CONNECTING;
	snapshot_heard(s, now_ns);
	s->end_deadline_ns = now_ns + (uint64_t)s->cfg->max_ms * 1000000;
}

/* The connection is up (or failed): log in for sequence 1, as GLIMPSE wants. */
static void snapshot_connected(struct snapshot_client *s, uint64_t now_ns)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };
	uint8_t login[SOUPBIN_LOGIN_LEN];
	socklen_t len = sizeof(int);
	int error = 0;

	if (poll(&pfd, 1, 0) != 1)
		return;
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) {
		snapshot_fail(s, now_ns);
		return;
	}
	soupbin_login_build(login, s->cfg->username, s->cfg->password, 1);
	if (!snapshot_send(s, login, sizeof(login), now_ns)) {
		snapshot_fail(s, now_ns);
		return;
	}
	s->phase = SNAPSHOT_LOGIN;
}

/* Hands the batch of snapshot messages over; false if the RX lcore's queue is full. */
static bool snapshot_batch_flush(struct snapshot_client *s)
{

	if (s->batch_count == 0)
		return true;
	s->batch.kind = RECOVERY_SNAPSHOT_DATA;
	s->batch.snapshot_id = s->id;
	memset(s->batch.payload, ' ', 10);
	wire_put_be64(s->batch.payload + 10, 1);	/* MoldUDP64 numbers from 1; the RX lcore ignores it */
	wire_put_be16(s->batch.payload + 18, s->batch_count);
	/* Data: the control entries' room stays free (End of Snapshot comes after it). */
	if (!s->link->hand(s->link, &s->batch, true))
		return false;
	s->batch_count = 0;
	return true;
}

/*
 * One Sequenced Data packet of the snapshot: an ITCH message into the batch, or End of
 * Snapshot. 1 taken, 0 not now (the RX lcore's queue is full), -1 the session is bad.
 */
static int snapshot_message(struct snapshot_client *s, const uint8_t *msg, uint16_t len)
{
	uint64_t next_seq;
	uint8_t logout[3];

	if (len == 0)
		return -1;
	if (msg[0] == 'G') {
		/* End of Snapshot: message type, then the sequence to go on from (20 ASCII). */
		if (len < 21 || soupbin_number_parse(msg + 1, 20, &next_seq) != 0 || next_seq == 0)
			return -1;
		if (!snapshot_batch_flush(s) || !snapshot_tell(s, RECOVERY_SNAPSHOT_END, next_seq))
			return 0;
		soupbin_empty_build(logout, 'O');
		(void)snapshot_send(s, logout, sizeof(logout), s->sent_ns);
		snapshot_close(s);
		s->phase = SNAPSHOT_IDLE;
		return 1;
	}
	if (len > RECOVERY_PAYLOAD_MAX - MOLDUDP64_HEADER_LEN - 2)
		return -1;
	if (s->batch_count == 0)
		s->batch.len = MOLDUDP64_HEADER_LEN;
	if (s->batch.len + 2u + len > RECOVERY_PAYLOAD_MAX || s->batch_count == UINT16_MAX - 1) {
		if (!snapshot_batch_flush(s))
			return 0;
		s->batch.len = MOLDUDP64_HEADER_LEN;
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
static void snapshot_receive(struct snapshot_client *s, uint64_t now_ns)
{
	uint32_t room = (uint32_t)sizeof(s->in.bytes) - s->in.len, handled = 0;
	/* A full buffer waits for the RX lcore to take what it holds (recv of 0 bytes is no EOF). */
	ssize_t n = room == 0 ? -1 : recv(s->fd, s->in.bytes + s->in.len, room, MSG_DONTWAIT);

	if (room == 0)
		errno = EAGAIN;
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
		snapshot_fail(s, now_ns);	/* the server closed: mid-snapshot, or after a rejection */
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
			snapshot_fail(s, now_ns);	/* rejected, ended before the snapshot did, or garbage */
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
			snapshot_fail(s, now_ns);	/* not a Login Accepted: garbage */
			return;
		}
		if (type == 'S') {
			rc = snapshot_message(s, payload, len);
			if (rc < 0) {
				snapshot_fail(s, now_ns);
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

static void snapshot_run(struct snapshot_client *s, uint64_t now_ns)
{
	uint8_t heartbeat[3];

	switch (s->phase) {
	case SNAPSHOT_IDLE:
		return;
	case SNAPSHOT_WAIT:
		if (now_ns >= s->retry_ns)
			snapshot_connect(s, now_ns);
		return;
	case SNAPSHOT_FAILING:
		if (snapshot_tell(s, RECOVERY_SNAPSHOT_FAILED, 0))
			s->phase = SNAPSHOT_IDLE;
		return;
	case SNAPSHOT_CONNECTING:
		snapshot_connected(s, now_ns);
		break;
	case SNAPSHOT_LOGIN:
	case SNAPSHOT_STREAM:
		snapshot_receive(s, now_ns);
		break;
	}
	if (s->fd < 0)
		return;
	/* Silent, or never ending (data trickling in): the attempt fails either way. */
	if (now_ns >= s->silence_deadline_ns || now_ns >= s->end_deadline_ns) {
		snapshot_fail(s, now_ns);
		return;
	}
	soupbin_empty_build(heartbeat, 'R');
	if (s->phase != SNAPSHOT_CONNECTING && now_ns - s->sent_ns >= SNAPSHOT_HEARTBEAT_NS &&
	    !snapshot_send(s, heartbeat, sizeof(heartbeat), now_ns))
		snapshot_fail(s, now_ns);
}


static int glimpse_open(void *snapshot, const struct recovery_link *link, char *err, size_t err_size)
{
	struct snapshot_client *s = snapshot;

	(void)err;
	(void)err_size;
	s->link = link;
	s->cfg = link->snapshot;
	s->fd = -1;
	return 0;
}

static void glimpse_start(void *snapshot, uint32_t id)
{
	snapshot_start(snapshot, id);
}

static void glimpse_cancel(void *snapshot, uint32_t id)
{
	snapshot_cancel(snapshot, id);
}

static void glimpse_pass(void *snapshot, uint64_t now_ns)
{
	snapshot_run(snapshot, now_ns);
}

static void glimpse_poll(const void *snapshot, struct pollfd *pfd)
{
	const struct snapshot_client *s = snapshot;

	/* A full buffer waits for the RX lcore, not the socket: no busy poll. */
	*pfd = (struct pollfd){ .fd = s->fd, .events = s->phase == SNAPSHOT_CONNECTING ? POLLOUT :
						      s->in.len == sizeof(s->in.bytes) ? 0 : POLLIN };
}

static void glimpse_close(void *snapshot)
{
	snapshot_close(snapshot);
}

const struct recovery_snapshot_ops glimpse_snapshot_ops = {
	.size = sizeof(struct snapshot_client),
	.open = glimpse_open,
	.start = glimpse_start,
	.cancel = glimpse_cancel,
	.pass = glimpse_pass,
	.poll = glimpse_poll,
	.close = glimpse_close,
};
