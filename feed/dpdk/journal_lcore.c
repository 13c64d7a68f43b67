/*
 * journal_lcore: the journal side lcore's loop (see journal_lcore.h). Bounded work a
 * pass: at most JOURNAL_LCORE_BURST entries from each ring, then the writer's clocks.
 */
#include "feed/dpdk/journal_lcore.h"
#include <time.h>
#include <unistd.h>

#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "book/util/clock.h"
#include "config/config.h"

_Static_assert(JOURNAL_LCORE_BURST <= CFG_JOURNAL_BATCH_MAX, "the pool proof counts the journal's batch");

/* Takes one burst off a ring into the journal; returns how many entries it took. */
static uint32_t journal_lcore_drain(struct journal_lcore *jl, struct rte_ring *ring, uint64_t now_ns)
{
	struct journal_entry entries[JOURNAL_LCORE_BURST];
	unsigned int available = 0;
	uint32_t n = rte_ring_sc_dequeue_burst_elem(ring, entries, sizeof(entries[0]),
						    JOURNAL_LCORE_BURST, &available);

	if (n + available > jl->backlog_max)
		jl->backlog_max = n + available;
	for (uint32_t i = 0; i < n; i++) {
		struct rte_mbuf *m = entries[i].mbuf;

		journal_append(&jl->journal, entries[i].interface, entries[i].rx_ns,
			       rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m), now_ns);
		rte_pktmbuf_free(m);
	}
	return n;
}

int journal_lcore_run(void *arg)
{
	struct journal_lcore *jl = arg;
	uint64_t now_ns = clock_monotonic_ns();

	for (;;) {
		uint32_t taken = 0;
		bool stopping = jl->stop;	/* read first: after it, the rings only shrink */

		for (uint32_t r = 0; r < jl->rings_count; r++)
			taken += journal_lcore_drain(jl, jl->rings[r], now_ns);
		now_ns = clock_monotonic_ns();
		journal_poll(&jl->journal, now_ns);
		if (taken == 0 && stopping)
			break;
		/* Idle: the journal lcore may share its CPU with main; the rings absorb the nap. */
		if (taken == 0)
			usleep(JOURNAL_LCORE_IDLE_US);
	}
	journal_close(&jl->journal);
	jl->finished = true;
	return 0;
}

uint64_t journal_lcore_backlog(const struct journal_lcore *jl)
{
	uint64_t backlog = 0;

	for (uint32_t r = 0; r < jl->rings_count; r++)
		backlog += rte_ring_count(jl->rings[r]);
	return backlog;
}
