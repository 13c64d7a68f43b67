/*
 * recovery_worker: the MoldUDP64 re-request client of every feed with a recovery
 * section, on one thread of the control core. It never touches a book: the RX lcore
 * hands it holes (recovery_want) and takes back the server's replies and give-ups
 * through the queues of struct feed_recovery. Per feed it keeps one hole, asks for it
 * in requests of at most recovery.request_messages messages, at most
 * recovery.in_flight of them outstanding, each re-sent after a timeout that grows by
 * recovery.backoff up to recovery.timeout_max_ms, and gives the hole up after
 * recovery.retries re-sends of one request. A reply holding fewer messages than asked
 * for is followed at once by a request for the rest.
 *
 * A datagram is forwarded only if it comes from the configured server, parses as a
 * MoldUDP64 data packet of the hole's session, and starts in a request outstanding;
 * anything else is counted (recovery_io.replies_bad) and dropped. What it carries past
 * the hole's end is cut off (header count and length rewritten): the feed takes only
 * what it asked for. The RX lcore's sequence path then treats the reply as it would a
 * line's packet.
 *
 * It is also the GLIMPSE client of every feed with a snapshot section: a
 * RECOVERY_WANT_SNAPSHOT logs in (again after a failed login, up to snapshot.retries
 * times) and hands the snapshot over as RECOVERY_SNAPSHOT_DATA entries, then END (with
 * the Login Accepted's session, spaces trimmed) or FAILED; each entry carries the
 * want's snapshot_id. A RECOVERY_WANT_SNAPSHOT_CANCEL of that id closes the connection
 * and says nothing more.
 *
 * Data entries (replies, snapshot messages) never take the reply queue's last
 * RECOVERY_REPLIES_CONTROL entries: however much a server sends, a give-up or a
 * snapshot's control entry finds room once the RX lcore takes any, in order behind
 * the data before it. One that finds the queue full waits for the next pass, counted
 * once (give_ups counts ranges given up on).
 */
#ifndef FH_FEED_RECOVERY_WORKER_H
#define FH_FEED_RECOVERY_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "feed/feed.h"

struct recovery_worker;

/*
 * Opens a UDP socket for each feed of feeds[] that has recovery (others are skipped,
 * and so is one recovering from a replay's capture), connected to its server, its
 * own address noted in the feed's recovery (local_ip, local_port: the journal names
 * it as the replies' destination), and nothing else: no thread runs; the caller drives the
 * worker with recovery_worker_pass (a test, a deterministic simulation). NULL with a
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
 * bounded (wants, datagrams and SoupBinTCP packets per feed per pass), so a pass
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
