/*
 * journal_lcore: the side lcore that journals every received frame. Each RX lcore
 * hands it references to its mbufs (refcount raised, no copy) through its own
 * single-producer ring; when that ring is full the RX lcore counts the frame as
 * journal_dropped on its line and carries on, so the journal can never hold RX back.
 * The journal lcore copies each frame into the writer's buffers (publish/journal.h),
 * and gives the mbuf back; the writer counts per interface what it journaled and
 * what it lost once it had stopped on an error.
 */
#ifndef FH_FEED_JOURNAL_LCORE_H
#define FH_FEED_JOURNAL_LCORE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ring.h>

#include "config/config.h"
#include "publish/journal/journal.h"

#define JOURNAL_LCORE_BURST 64
#define JOURNAL_LCORE_IDLE_US 50	/* a few hundred frames at line rate: far below any ring */

/* What an RX lcore hands over for one frame (an rte_ring element of this size). */
struct journal_entry {
	void *mbuf;		/* a reference of its own: the journal lcore frees it */
	uint64_t rx_ns;		/* RX time, ns since the epoch */
	uint32_t interface;	/* interface in the journal files */
	uint32_t reserved;
};

_Static_assert(sizeof(struct journal_entry) % 4 == 0, "rte_ring elements are whole words");

struct journal_lcore {
	struct journal journal;
	struct rte_ring *rings[CFG_RX_LCORES_MAX];	/* one per RX lcore */
	uint32_t rings_count;
	uint32_t interfaces_count;
	const char *names[JOURNAL_INTERFACES_MAX];
	uint64_t backlog_max;				/* most entries waiting in one ring */
	volatile bool stop;		/* set by main once every RX lcore has finished */
	volatile bool finished;
} __attribute__((aligned(64)));

/* The lcore entry point; arg is a struct journal_lcore whose journal is open. */
int journal_lcore_run(void *arg);

/* Entries waiting in the rings now: the journal's backlog. */
uint64_t journal_lcore_backlog(const struct journal_lcore *jl);

#endif
