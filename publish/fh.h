/*
 * fh: the client library for strategy processes (libfh). Attach to a publish ring by
 * name, poll events with a count limit, detach. It needs no DPDK and no root: the ring
 * is mapped read-only, so a consumer can never disturb fhd or another consumer, and
 * fhd never waits for it. A consumer that falls a whole ring behind is told so, with
 * the exact number of events it lost, and continues from a recent point; one whose
 * fhd restarted is told so and reattaches. Build with `pkg-config --cflags --libs fh`.
 */
#ifndef FH_PUBLISH_FH_H
#define FH_PUBLISH_FH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fh_event.h"	/* beside this file, in the tree (publish/) and installed (fh/) */

/* fh_poll results other than an event count (>= 0). */
#define FH_POLL_LAPPED (-1)	/* events were lost: fh_lost_last() says how many */
#define FH_POLL_RESTARTED (-2)	/* fhd restarted: call fh_reattach() */

enum fh_start {
	FH_START_OLDEST,	/* from the oldest event the ring still holds */
	FH_START_NOW,		/* from the next event published */
};

struct fh_consumer;

/*
 * Attaches to the ring /dev/shm/NAME. 0 and *consumer, or -ENOENT (no such ring yet),
 * -EPROTO (built against another event layout: err says which), -EINVAL (not a ring),
 * or another -errno; err gets a one-line message.
 */
int fh_attach(const char *name, enum fh_start start, struct fh_consumer **consumer,
	      char *err, size_t err_size);

/*
 * Copies up to `max` events, oldest first, into events[]. Returns how many (0: none
 * new), FH_POLL_LAPPED (the producer overwrote events before they were read; polling
 * again continues from a recent event), or FH_POLL_RESTARTED.
 */
int fh_poll(struct fh_consumer *consumer, struct fh_event *events, int max);

/* Events lost at the last FH_POLL_LAPPED, and over the whole attachment. */
uint64_t fh_lost_last(const struct fh_consumer *consumer);
uint64_t fh_lost_total(const struct fh_consumer *consumer);

/* After FH_POLL_RESTARTED: maps the new generation and starts from its beginning. 0 or -errno. */
int fh_reattach(struct fh_consumer *consumer, char *err, size_t err_size);

/* True once fhd has marked the ring stopped and every event has been read. */
bool fh_stopped(const struct fh_consumer *consumer);

/* The name of feed `feed` (event.feed) as configured in fhd, or "" if none. */
const char *fh_feed_name(const struct fh_consumer *consumer, uint8_t feed);

/* --- the conflated view: current top N levels of every instrument --- */

#define FH_TOP_DEPTH_MAX 64

struct fh_top_level {
	int64_t price;
	uint64_t shares;
	uint32_t orders;
};

struct fh_top {
	uint64_t ring_seq;		/* the last ring event this snapshot reflects */
	uint32_t instrument;		/* venue key */
	uint8_t feed;
	uint8_t price_decimals;
	char symbol[17];
	uint32_t bid_count, ask_count;	/* best first */
	struct fh_top_level bids[FH_TOP_DEPTH_MAX];
	struct fh_top_level asks[FH_TOP_DEPTH_MAX];
};

/* Slots in the ring's conflated view (0: fhd publishes none, or not yet). */
uint32_t fh_top_slots(struct fh_consumer *consumer);

/*
 * A consistent copy of slot `slot`: 0, -ENOENT (no instrument in it), or -EAGAIN (it
 * kept changing under us; try again).
 */
int fh_top_read(struct fh_consumer *consumer, uint32_t slot, struct fh_top *top);

/* The sequence number of the next event this consumer will read. */
uint64_t fh_next_seq(const struct fh_consumer *consumer);

void fh_detach(struct fh_consumer *consumer);

#endif
