/*
 * moldudp64_request: how NASDAQ recovers a hole, the MoldUDP64 re-request client of a
 * feed with a recovery section (recovery_hole_ops, decoders/recovery.h). It never
 * touches a book: the worker hands it the RX lcore's holes (recovery_want) and it
 * hands back the server's replies and give-ups. Per feed it keeps one hole, asks for
 * it in requests of at most recovery.request_messages messages, at most
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
 * Replies are data: they never take the reply queue's last entries, so however much
 * a server sends, a give-up finds room once the RX lcore takes any, in order behind
 * the data before it. One that finds the queue full waits for the next pass, counted
 * once (give_ups counts ranges given up on).
 */
#ifndef FH_DECODERS_NASDAQ_MOLDUDP64_REQUEST_H
#define FH_DECODERS_NASDAQ_MOLDUDP64_REQUEST_H

#include "decoders/recovery.h"

extern const struct recovery_hole_ops moldudp64_request_ops;

#endif
