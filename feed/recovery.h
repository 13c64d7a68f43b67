/*
 * recovery: what a feed does about the messages both lines lost, and what it tells
 * consumers about its books meanwhile (issue 12).
 *
 * A feed's books are in one of three states, kept by the RX lcore and published with
 * every event (publisher), in the conflated view, the stats segment and Prometheus:
 *   OK          the books follow the session without a hole;
 *   RECOVERING  a hole is being recovered (NASDAQ: re-requested over MoldUDP64) or
 *               the books are being built from a snapshot (NASDAQ: GLIMPSE): nothing
 *               past the hole is applied or published until it is filled, so the
 *               books are right but behind;
 *   STALE       messages were declared lost (retries exhausted, server silent, hold
 *               full, or a mid-session join without a snapshot): the books may be
 *               wrong. Only a snapshot or a new session brings them back to OK.
 *
 * The counters are split by writer: the RX lcore writes feed_recovery_rx, the
 * venue's recovery clients on the control lcore's worker write feed_recovery_io
 * (decoders/recovery.h, with the entries of the queues); each is read by the other
 * threads only for stats.
 */
#ifndef FH_FEED_RECOVERY_H
#define FH_FEED_RECOVERY_H

#include <stdbool.h>
#include <stdint.h>

#include "decoders/decoder.h"
#include "decoders/recovery.h"

enum feed_book_state {
	FEED_BOOK_OK = 0,
	FEED_BOOK_RECOVERING = 1,
	FEED_BOOK_STALE = 2,
	FEED_BOOK_STATES
};

/* Names for logs, `fh stat` and Prometheus labels, by enum feed_book_state. */
extern const char *const feed_book_state_names[FEED_BOOK_STATES];

/* Written by the RX lcore. */
struct feed_recovery_rx {
	uint64_t state;			/* enum feed_book_state (64-bit: read torn-free by stats) */
	uint64_t recoveries;		/* holes handed to recovery */
	uint64_t recovered;		/* of those, filled */
	uint64_t recovered_messages;	/* messages applied from recovery replies */
	uint64_t reply_packets;		/* reply packets offered to the sequence path */
	uint64_t reply_duplicates;	/* replies carrying nothing new */
	uint64_t reply_bad;		/* replies whose framing the decoder refused */
	uint64_t losses;		/* holes declared lost after recovery gave up or the hold filled */
	uint64_t lost_messages;
	uint64_t lost_first;		/* the last declared loss: first sequence number */
	uint64_t lost_count;		/* and how many */
	uint64_t hold_full;		/* losses declared because the hold was full */
	uint64_t snapshots;		/* snapshots applied */
	uint64_t snapshot_messages;	/* messages applied from snapshots */
	uint64_t recovery_ns_last;	/* the last filled hole: handed to the worker -> filled (CLOCK_MONOTONIC) */
	uint64_t recovery_ns_max;
	uint64_t snapshot_ns_last;	/* the last snapshot: asked for -> applied */
	uint64_t reply_dropped;		/* replies ahead of the hole dropped: every RX copy was held
					 * (the worker asks again, or gives the hole up) */
	uint64_t snapshot_stale;	/* snapshot entries of a snapshot no longer wanted: dropped */
	uint64_t snapshots_refused;	/* snapshots refused: unconfirmed, another session, or too big */
	uint64_t resyncs;		/* re-syncs (snapshots after a loss) asked for */
	uint64_t resyncs_exhausted;	/* losses left STALE: the session's re-syncs were used up */
	uint64_t capacity_refusals;	/* times the book refused an instrument, order or level */
	uint64_t started_ns;		/* when the current hole or snapshot was handed over (last: not a statistic) */
};

/*
 * The hand-off between a feed's RX lcore and the recovery worker (which runs the
 * venue's clients, decoders/recovery.h): two single-producer
 * single-consumer queues of fixed-size entries, preallocated, never blocking either
 * side (a full queue is the producer's to count). The RX lcore asks for a hole
 * (recovery_want) and takes replies and give-ups (recovery_reply); the worker reads
 * how far the feed has applied (applied) to stop asking for what came after all.
 */
struct recovery_queue {
	uint64_t head __attribute__((aligned(64)));	/* written by the producer */
	uint64_t tail __attribute__((aligned(64)));	/* written by the consumer */
	uint32_t mask;
	uint32_t size;			/* bytes per entry */
	uint8_t *entries;
};

#define RECOVERY_WANTS 64		/* RX -> worker entries */
#define RECOVERY_REPLIES 256		/* worker -> RX entries */
#define RECOVERY_BUFFERS 256		/* RX-side copies of replies the sequence path may hold */
/*
 * Entries of the reply queue that data (RECOVERY_REPLY_DATA, RECOVERY_SNAPSHOT_DATA)
 * may never take: a give-up or a snapshot's control entry always finds room, however
 * many replies a server sends ahead of the hole (issue 20).
 */
#define RECOVERY_REPLIES_CONTROL 16
_Static_assert(RECOVERY_REPLIES_CONTROL < RECOVERY_REPLIES, "data keeps most of the queue");

struct recovery_buffer {
	uint32_t len;
	uint8_t payload[RECOVERY_PAYLOAD_MAX];
};

/* A feed's recovery state shared by its RX lcore and the worker (feed->recovery). */
struct feed_recovery {
	struct recovery_queue wants;	/* RX -> worker */
	struct recovery_queue replies;	/* worker -> RX */
	uint64_t applied __attribute__((aligned(64)));	/* next sequence the feed needs (RX writes) */
	uint64_t recovering;		/* 1 while a hole is with the worker (RX writes) */
	int wake_fd;			/* eventfd: the RX lcore wakes the worker for a want (non-blocking) */
	bool want_lost;			/* a want found its queue full: give the hole up (RX only) */
	bool snapshot_wanted;		/* take a snapshot at the next service (RX only) */
	bool snapshot_failed;		/* the last snapshot failed whole: none until a new session (RX only) */
	uint32_t snapshot_id;		/* the snapshot being taken (its want's id); replies of others are stale */
	uint32_t resyncs_in_row;	/* re-syncs since the books were last confirmed OK (RX only) */
	uint32_t resyncs_session;	/* re-syncs of this session, bounded by snapshot.resyncs (RX only) */
	uint64_t resync_at_ns;		/* the wanted snapshot is asked for from then (CLOCK_MONOTONIC) */
	/*
	 * A replay whose captures hold this feed's replies (frames from recovery.server)
	 * takes recovery from them: a hole is handed to nobody, it waits in the hold for
	 * the replies later in the capture. Set by fhd before the RX lcores start.
	 */
	bool from_capture;
	/*
	 * The worker's socket's own address, host order (getsockname once connected):
	 * the destination of the replies journaled. Written by recovery_worker_create
	 * before the RX lcores start; 0 with no socket.
	 */
	uint32_t local_ip;
	uint16_t local_port;
	struct recovery_buffer *buffers;	/* RX only: copies the arbiter may hold */
	uint32_t free[RECOVERY_BUFFERS];	/* free buffer indexes, a stack */
	uint32_t free_count;
};

int recovery_queue_init(struct recovery_queue *q, uint32_t entries, uint32_t size);
void recovery_queue_fini(struct recovery_queue *q);
/* Copies an entry in; false if the queue is full. Producer only. */
bool recovery_queue_push(struct recovery_queue *q, const void *entry);
/* As recovery_queue_push, but false unless `reserve` entries stay free after it. */
bool recovery_queue_push_reserve(struct recovery_queue *q, const void *entry, uint32_t reserve);
/* The oldest entry, or NULL if none; stays queued until recovery_queue_pop. Consumer only. */
void *recovery_queue_peek(struct recovery_queue *q);
void recovery_queue_pop(struct recovery_queue *q);

int feed_recovery_init(struct feed_recovery *r);
/* Queues a want for the worker and wakes it; false if the queue is full. RX lcore only. */
bool feed_recovery_want(struct feed_recovery *r, const struct recovery_want *want);
void feed_recovery_fini(struct feed_recovery *r);

#endif
