/*
 * recovery_worker: the thread on the control core that runs the recovery clients of
 * every feed with a recovery or snapshot section. The clients are the venue's
 * (decoder_ops.recovery, decoders/recovery.h: NASDAQ's MoldUDP64 re-request and
 * GLIMPSE clients are in decoders/nasdaq/); the worker is what every venue shares. It
 * never touches a book: the RX lcore hands it wants (recovery_want: a hole, a
 * snapshot, a cancel) through the queues of struct feed_recovery, the worker gives
 * each to the feed's client, and the clients hand back replies, give-ups and
 * snapshots through the other queue.
 *
 * Data entries (replies, snapshot messages) never take the reply queue's last
 * RECOVERY_REPLIES_CONTROL entries: however much a server sends, a give-up or a
 * snapshot's control entry finds room once the RX lcore takes any, in order behind
 * the data before it.
 */
#ifndef FH_FEED_RECOVERY_WORKER_H
#define FH_FEED_RECOVERY_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "feed/feed.h"

struct recovery_worker;

/*
 * Opens the venue's clients for each feed of feeds[] that has recovery or a snapshot
 * (others are skipped; one recovering from a replay's capture asks no server for
 * holes): for NASDAQ, a UDP socket connected to the recovery server, its own address
 * noted in the feed's recovery (local_ip, local_port: the journal names it as the
 * replies' destination). Nothing else: no thread runs; the caller drives the worker
 * with recovery_worker_pass (a test, a deterministic simulation). NULL with a
 * message in err on failure; NULL and err empty if no feed has recovery.
 */
struct recovery_worker *recovery_worker_create(struct feed *const *feeds, uint32_t count, char *err,
					       size_t err_size);

/*
 * One pass over every feed, as if the time were now_ns (CLOCK_MONOTONIC on a live
 * feed; any clock that never goes back in a simulation): takes the feeds' wants,
 * reads what the servers sent, sends what is due, times out what is late and hands
 * the RX lcores what they are owed. Then waits up to poll_timeout_ms (>= 0; 0: not
 * at all) for a datagram, a snapshot byte or a want, and returns. Every loop in it is
 * bounded (wants per feed per pass, and within each venue's client), so a pass
 * ends however much a server sends. Not to be called on a worker that
 * recovery_worker_start gave (its own thread runs the passes).
 */
void recovery_worker_pass(struct recovery_worker *worker, uint64_t now_ns, int poll_timeout_ms);

/*
 * recovery_worker_create, then a thread that runs recovery_worker_pass on
 * CLOCK_MONOTONIC until recovery_worker_stop, on CPU `cpu` if cpu >= 0. NULL with a
 * message in err on failure; NULL and err empty if no feed has recovery.
 */
struct recovery_worker *recovery_worker_start(struct feed *const *feeds, uint32_t count, int cpu,
					      char *err, size_t err_size);

/* Stops the thread if it has one, and closes the sockets. NULL is fine. */
void recovery_worker_stop(struct recovery_worker *worker);

#endif
