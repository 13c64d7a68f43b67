/*
 * recovery: the interface through which a venue recovers what the lines lost, beside
 * struct decoder_ops (decoder.h) and reached from it (decoder_ops.recovery).
 *
 * feed/ keeps what every venue shares: line routing and A/B arbitration on the
 * packet sequence, holding packets behind a hole, declaring losses and book states,
 * and the recovery worker, one thread of the control core that owns the two
 * lock-free queues between each feed's RX lcore and the venue's clients. The RX lcore
 * never calls a venue's recovery: it queues wants (a hole, a snapshot, a cancel) and
 * takes replies; the worker hands each want to the venue's clients below and runs
 * them once per pass. A venue supplies:
 *   - how a hole is recovered (hole): NASDAQ re-requests it from a MoldUDP64 server
 *     (decoders/nasdaq/moldudp64_request.c). NULL: the venue re-requests nothing;
 *   - how a snapshot is taken (snapshot): NASDAQ logs in to GLIMPSE over SoupBinTCP
 *     (decoders/nasdaq/glimpse.c); a venue with a snapshot loop listens to it. NULL:
 *     the venue has no snapshot;
 *   - what a loss affects (scope): the whole feed (ITCH: one sequence orders every
 *     instrument), or only the instruments it names (MDP3: RptSeq per instrument).
 *
 * A client's replies are packets in the venue's own framing (decoder_ops.frame_parse
 * accepts them), so the RX lcore offers them to its sequence path like a line's, and
 * applies a snapshot's messages with decoder_ops.frame_apply.
 *
 * The clients run on the worker's thread, never on an RX lcore: they may use sockets,
 * but never block (every socket non-blocking, every loop bounded per pass), and their
 * state is allocated once, by the worker, before the RX lcores start.
 */
#ifndef FH_DECODERS_RECOVERY_H
#define FH_DECODERS_RECOVERY_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decoders/decoder.h"

struct cfg_recovery;
struct cfg_snapshot;

/* The feed's recovery counters written by the venue's clients (on the worker's thread). */
struct feed_recovery_io {
	uint64_t requests;		/* request packets sent */
	uint64_t requested_messages;	/* messages asked for in them */
	uint64_t timeouts;		/* requests unanswered in time (each then retried or given up) */
	uint64_t give_ups;		/* ranges given up on (retries exhausted) */
	uint64_t replies;		/* datagrams received on the recovery socket */
	uint64_t replies_bad;		/* of those, malformed, another session, another source, or unasked for */
	uint64_t send_errors;		/* sendto failures */
	uint64_t handoff_full;		/* replies dropped because the RX lcore's reply ring was full */
	uint64_t snapshot_attempts;	/* snapshot logins (or joins) tried */
	uint64_t snapshot_failures;	/* rejected, disconnected or timed out */
};

/* Adds to a counter that other threads read for stats (torn-free, no ordering). */
static inline void recovery_counter_add(uint64_t *counter, uint64_t n)
{
	__atomic_store_n(counter, *counter + n, __ATOMIC_RELAXED);
}

#define RECOVERY_PAYLOAD_MAX 2048	/* a reply: one packet in the venue's framing, MTU-sized */

/* What the RX lcore wants of recovery (through the worker's queue). */
enum recovery_want_kind {
	RECOVERY_WANT_HOLE = 0,
	RECOVERY_WANT_SNAPSHOT = 1,		/* take snapshot snapshot_id (a new login) */
	RECOVERY_WANT_SNAPSHOT_CANCEL = 2,	/* the feed no longer wants snapshot_id: close it */
};

struct recovery_want {
	uint32_t kind;			/* enum recovery_want_kind */
	uint32_t snapshot_id;		/* SNAPSHOT, SNAPSHOT_CANCEL: which snapshot (the RX lcore numbers them) */
	uint64_t first;			/* HOLE: first missing sequence number */
	uint64_t count;			/* and how many */
	uint8_t session_len;
	char session[DECODER_SESSION_MAX];
};

/* What a venue's client hands the RX lcore. */
enum recovery_reply_kind {
	RECOVERY_REPLY_DATA = 1,	/* a reply packet, in the venue's framing */
	RECOVERY_REPLY_GIVE_UP = 2,	/* [first, first + count) will not come */
	RECOVERY_SNAPSHOT_DATA = 3,	/* snapshot messages, framed as the venue's packet */
	RECOVERY_SNAPSHOT_RESTART = 4,	/* the snapshot starts over (a new login): reset the books */
	RECOVERY_SNAPSHOT_END = 5,	/* complete; first: the sequence the session goes on from */
	RECOVERY_SNAPSHOT_FAILED = 6,	/* every login failed: no snapshot */
};

struct recovery_reply {
	uint32_t kind;			/* enum recovery_reply_kind */
	uint32_t len;			/* DATA: payload bytes */
	uint32_t silent;		/* GIVE_UP: the server answered nothing for the hole */
	uint32_t snapshot_id;		/* SNAPSHOT_*: the want's snapshot_id it belongs to */
	uint64_t first, count;		/* GIVE_UP: the range given up on; SNAPSHOT_END: first */
	uint8_t session_len;		/* SNAPSHOT_END: the snapshot's session, spaces trimmed */
	char session[DECODER_SESSION_MAX];
	uint8_t payload[RECOVERY_PAYLOAD_MAX];	/* DATA: the packet as received */
};

/*
 * What a venue's client sees of its feed, filled by the worker before the RX lcores
 * start. The client reads the feed's progress, writes io, and hands replies over with
 * hand(): data (DATA, SNAPSHOT_DATA) never takes the queue's last entries, so a
 * give-up or a snapshot's control entry always finds room behind it. hand() never
 * blocks: false, the queue is full; the client keeps the entry for a later pass or
 * counts it dropped.
 */
struct recovery_link {
	const char *feed_name;
	const struct decoder_ops *decoder;
	const struct cfg_recovery *recovery;	/* NULL: ask no server (none configured, or the
						 * replay takes the replies from its capture) */
	const struct cfg_snapshot *snapshot;	/* NULL: no snapshot configured */
	struct feed_recovery_io *io;
	const uint64_t *applied;	/* next sequence the feed needs (RX writes; load acquire) */
	const uint64_t *recovering;	/* 1 while a hole is with recovery (RX writes; load acquire) */
	uint32_t *local_ip;		/* the hole client's socket address, host order, noted at */
	uint16_t *local_port;		/* open: the journal names it as the replies' destination */
	bool (*hand)(const struct recovery_link *link, const struct recovery_reply *reply, bool data);
	void *context;			/* hand()'s */
};

/*
 * How a venue recovers a hole, per feed. The worker allocates size bytes (zeroed) of
 * state per feed and calls open once before anything else, close once at the end.
 */
struct recovery_hole_ops {
	size_t size;
	/* Opens what link->recovery asks for (nothing if NULL). 0, or -1 with err filled. */
	int (*open)(void *hole, const struct recovery_link *link, char *err, size_t err_size);
	/* A new hole (want->kind RECOVERY_WANT_HOLE): it replaces the one being recovered. */
	void (*want)(void *hole, const struct recovery_want *want);
	/* One pass at now_ns: reads what the server sent, sends what is due, gives up what is late. */
	void (*pass)(void *hole, uint64_t now_ns);
	/* What the worker's poll waits for (fd -1: nothing). */
	void (*poll)(const void *hole, struct pollfd *pfd);
	void (*close)(void *hole);
};

/* How a venue takes a snapshot, per feed: as recovery_hole_ops, with start and cancel. */
struct recovery_snapshot_ops {
	size_t size;
	/* Prepares for what link->snapshot asks (nothing if NULL). 0, or -1 with err filled. */
	int (*open)(void *snapshot, const struct recovery_link *link, char *err, size_t err_size);
	/* Snapshot id is wanted: start over (a new login), whatever the last one was doing. */
	void (*start)(void *snapshot, uint32_t id);
	/* Snapshot id is no longer wanted: stop it and say nothing more of it (another id: nothing). */
	void (*cancel)(void *snapshot, uint32_t id);
	void (*pass)(void *snapshot, uint64_t now_ns);
	void (*poll)(const void *snapshot, struct pollfd *pfd);
	void (*close)(void *snapshot);
};

/* What one loss affects. */
enum recovery_scope {
	RECOVERY_SCOPE_FEED = 0,	/* every book of the feed (one sequence orders them all: ITCH) */
	RECOVERY_SCOPE_INSTRUMENT = 1,	/* only the instruments it names (a sequence per instrument:
					 * MDP3's RptSeq); feed/ does not hold these apart yet and
					 * refuses recovery for such a venue */
};

/* A venue's recovery, named by its decoder_ops.recovery. */
struct recovery_ops {
	enum recovery_scope scope;
	const struct recovery_hole_ops *hole;		/* NULL: no re-request */
	const struct recovery_snapshot_ops *snapshot;	/* NULL: no snapshot */
};

#endif
