/*
 * rx: the RX lcore. A pinned, never-blocking loop that polls its (port, queue) pairs
 * in bursts of RX_BURST and hands every frame to its feed_set. In a replay it stops
 * by itself once every capture has been read to the end; live, it runs until quit.
 */
#ifndef FH_FEED_RX_H
#define FH_FEED_RX_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ring.h>

#include "feed/feed.h"

#define RX_BURST 32
#define RX_QUEUES_MAX 32

struct rx_queue {
	uint16_t port_id;
	uint16_t queue;
	uint64_t expected;	/* replay: packets in the capture; 0 live or looping */
	uint64_t packets;	/* frames taken off the queue */
	bool done;
};

struct rx_lcore {
	struct feed_set set;
	struct rx_queue queues[RX_QUEUES_MAX];
	uint32_t queues_count;
	bool replay;			/* the reorder window runs on capture time */
	int timestamp_offset;		/* mbuf dynfield with the capture time, or -1 */
	uint64_t timestamp_flag;
	uint64_t timestamp_to_ns;	/* multiplier from the dynfield's unit to ns */
	const volatile bool *quit;
	uint64_t first_rx_tsc;		/* first and last burst with packets */
	uint64_t last_rx_tsc;
	uint64_t bursts;
	uint64_t idle_polls;
	bool stalled;			/* replay ended on the idle timeout, not on its count */
	struct rte_ring *journal;	/* references to every frame go here, or NULL */
	uint32_t journal_unrouted;	/* journal interface of frames addressed to no line */
	int64_t journal_epoch_ns;	/* live: RX clock to ns since the epoch */
	volatile bool finished;
} __attribute__((aligned(64)));

/* The lcore entry point (rte_eal_remote_launch); arg is a struct rx_lcore. */
int rx_lcore_run(void *arg);

/* Adds a (port, queue) pair unless the lcore polls it already. 0 or -ENOSPC. */
int rx_lcore_queue_add(struct rx_lcore *rx, uint16_t port_id, uint16_t queue, uint64_t expected);

#endif
