/*
 * recovery_worker: the thread that runs every feed's recovery clients (see
 * recovery_worker.h). The clients are the venue's (decoder_ops.recovery,
 * decoders/recovery.h); the worker owns what every venue shares: the thread, the
 * queues' consumer and producer ends on this side, the wake-ups and the poll.
 *
 * The thread runs recovery_worker_pass in a loop: each pass acts at the time it is
 * given, then waits up to RECOVERY_POLL_MS for a datagram, a snapshot byte or a want.
 * Its clock is CLOCK_MONOTONIC: the timeouts are wall time on a live feed and in a
 * replay alike. A test or a simulation creates the worker without the thread and
 * runs the passes itself, on a clock of its own.
 */
#include "feed/recovery_worker.h"

#include <assert.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "book/util/clock.h"

#define RECOVERY_POLL_MS 1

/* One feed's recovery: the venue's clients and what they see of the feed. */
struct recovery_client {
	struct feed *feed;
	const struct recovery_hole_ops *hole_ops;		/* NULL: the venue re-requests nothing */
	const struct recovery_snapshot_ops *snapshot_ops;	/* NULL: the venue has no snapshot */
	void *hole;			/* hole_ops' state */
	void *snapshot;			/* snapshot_ops' state */
	struct recovery_link link;
};

struct recovery_worker {
	pthread_t thread;
	bool threaded;			/* thread runs recovery_worker_main (start, not create alone) */
	volatile bool quit;
	uint32_t count;
	struct recovery_client clients[CFG_FEEDS_MAX];
	struct pollfd fds[3 * CFG_FEEDS_MAX];	/* each client's hole socket, snapshot socket, wake-up eventfd */
};

/* Hands the feed's RX lcore a client's entry: data leaves the control entries their room. */
static bool recovery_hand(const struct recovery_link *link, const struct recovery_reply *reply, bool data)
{
	struct feed_recovery *r = link->context;

	return data ? recovery_queue_push_reserve(&r->replies, reply, RECOVERY_REPLIES_CONTROL) :
		      recovery_queue_push(&r->replies, reply);
}

/* Takes what the RX lcore wants, in order: holes and snapshots (taken or cancelled). */
static void recovery_client_wants(struct recovery_client *c)
{
	struct recovery_want *want;

	for (uint32_t i = 0; i < RECOVERY_WANTS && (want = recovery_queue_peek(&c->feed->recovery->wants)); i++) {
		switch (want->kind) {
		case RECOVERY_WANT_SNAPSHOT:
			if (c->snapshot != NULL)
				c->snapshot_ops->start(c->snapshot, want->snapshot_id);
			break;
		case RECOVERY_WANT_SNAPSHOT_CANCEL:
			if (c->snapshot != NULL)
				c->snapshot_ops->cancel(c->snapshot, want->snapshot_id);
			break;
		default:
			assert(want->kind == RECOVERY_WANT_HOLE);
			if (c->hole != NULL)
				c->hole_ops->want(c->hole, want);
			break;
		}
		recovery_queue_pop(&c->feed->recovery->wants);
	}
}

static void recovery_client_poll(const struct recovery_client *c, struct pollfd *hole, struct pollfd *snapshot)
{
	*hole = (struct pollfd){ .fd = -1 };
	*snapshot = (struct pollfd){ .fd = -1 };
	if (c->hole != NULL)
		c->hole_ops->poll(c->hole, hole);
	if (c->snapshot != NULL)
		c->snapshot_ops->poll(c->snapshot, snapshot);
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
		if (c->hole != NULL)
			c->hole_ops->pass(c->hole, now_ns);
		if (c->snapshot != NULL)
			c->snapshot_ops->pass(c->snapshot, now_ns);
	}
	for (uint32_t i = 0; i < w->count; i++)
		recovery_client_poll(&w->clients[i], &w->fds[i], &w->fds[w->count + i]);
	(void)poll(w->fds, 3 * w->count, poll_timeout_ms);
}

static void *recovery_worker_main(void *arg)
{
	struct recovery_worker *w = arg;

	while (!w->quit)
		recovery_worker_pass(w, clock_monotonic_ns(), RECOVERY_POLL_MS);
	return NULL;
}

/* A client's state, allocated and opened; NULL with err filled on failure. */
static void *recovery_state_open(size_t size, int (*open)(void *, const struct recovery_link *, char *, size_t),
				 const struct recovery_link *link, char *err, size_t err_size)
{
	void *state = calloc(1, size);

	if (state == NULL) {
		snprintf(err, err_size, "feed %s: recovery: out of memory", link->feed_name);
		return NULL;
	}
	if (open(state, link, err, err_size) != 0) {
		free(state);
		return NULL;
	}
	return state;
}

/*
 * The clients of a feed with recovery and/or a snapshot, as its venue makes them. A
 * feed that recovers from a replay's capture (feed_recovery.from_capture) asks no
 * server for holes: its hole client gets no recovery config. The hole client's socket
 * address, once connected, is the feed's (feed_recovery.local_ip, local_port): where
 * its replies are journaled to.
 */
static int recovery_client_open(struct recovery_client *c, struct feed *feed, char *err, size_t err_size)
{
	const struct recovery_ops *ops = feed->decoder->recovery;

	c->feed = feed;
	c->link = (struct recovery_link){
		.feed_name = feed->cfg->name,
		.decoder = feed->decoder,
		.recovery = feed->cfg->recovery.enabled && !feed->recovery->from_capture ? &feed->cfg->recovery : NULL,
		.snapshot = feed->cfg->snapshot.enabled ? &feed->cfg->snapshot : NULL,
		.io = &feed->recovery_io,
		.applied = &feed->recovery->applied,
		.recovering = &feed->recovery->recovering,
		.local_ip = &feed->recovery->local_ip,
		.local_port = &feed->recovery->local_port,
		.hand = recovery_hand,
		.context = feed->recovery,
	};
	/* feed_create refused a feed whose recovery or snapshot its venue cannot do. */
	assert(ops != NULL);
	c->hole_ops = ops->hole;
	c->snapshot_ops = ops->snapshot;
	if (c->hole_ops != NULL &&
	    (c->hole = recovery_state_open(c->hole_ops->size, c->hole_ops->open, &c->link, err, err_size)) == NULL)
		return -1;
	if (c->snapshot_ops != NULL &&
	    (c->snapshot = recovery_state_open(c->snapshot_ops->size, c->snapshot_ops->open, &c->link, err,
					       err_size)) == NULL)
		return -1;
	return 0;
}

static void recovery_client_close(struct recovery_client *c)
{
	if (c->hole != NULL)
		c->hole_ops->close(c->hole);
	if (c->snapshot != NULL)
		c->snapshot_ops->close(c->snapshot);
	free(c->hole);
	free(c->snapshot);
	c->hole = NULL;
	c->snapshot = NULL;
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
		/* Counted first: stop closes what this one opened before it failed. */
		w->count++;
		if (recovery_client_open(&w->clients[w->count - 1], feeds[i], err, err_size) != 0) {
			recovery_worker_stop(w);
			return NULL;
		}
	}
	if (w->count == 0) {
		free(w);
		return NULL;
	}
	for (uint32_t i = 0; i < w->count; i++) {
		recovery_client_poll(&w->clients[i], &w->fds[i], &w->fds[w->count + i]);
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
	for (uint32_t i = 0; i < w->count; i++)
		recovery_client_close(&w->clients[i]);
	free(w);
}
