/*
 * rx: the RX lcore loop (see rx.h). The loop's only unbounded part is the run loop
 * itself; each pass polls every queue once for at most RX_BURST frames.
 */
#include "feed/rx.h"

#include <errno.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_ring_elem.h>

#include "feed/journal_lcore.h"

/* A replay that has had nothing for this long has lost packets inside the PMD. */
#define RX_REPLAY_IDLE_NS (2ull * 1000 * 1000 * 1000)

int rx_lcore_queue_add(struct rx_lcore *rx, uint16_t port_id, uint16_t queue, uint64_t expected)
{
	for (uint32_t i = 0; i < rx->queues_count; i++)
		if (rx->queues[i].port_id == port_id && rx->queues[i].queue == queue)
			return 0;
	if (rx->queues_count >= RX_QUEUES_MAX)
		return -ENOSPC;
	rx->queues[rx->queues_count].port_id = port_id;
	rx->queues[rx->queues_count].queue = queue;
	rx->queues[rx->queues_count].expected = expected;
	rx->queues_count++;
	return 0;
}

static void rx_mbuf_free(void *packet)
{
	rte_pktmbuf_free(packet);
}

/*
 * Hands a burst's references to the journal lcore. What the ring cannot take is
 * counted on its line and given back at once: the journal never holds RX up.
 */
static void rx_journal_hand_over(struct rx_lcore *rx, struct journal_entry *entries,
				 const struct feed_route **routes, uint32_t n)
{
	uint32_t taken = rte_ring_sp_enqueue_burst_elem(rx->journal, entries, sizeof(entries[0]),
							 n, NULL);

	for (uint32_t i = taken; i < n; i++) {
		if (routes[i] != NULL)
			routes[i]->feed->lines[routes[i]->line].journal_dropped++;
		else
			rx->set.unrouted_journal_dropped++;
		rte_pktmbuf_free(entries[i].mbuf);
	}
}

static inline uint64_t rx_tsc_ns(uint64_t tsc, uint64_t hz)
{
	return (uint64_t)((__uint128_t)tsc * 1000000000u / hz);
}

/* A replay queue is done when the PMD has delivered or dropped every capture packet. */
static bool rx_queue_replay_done(struct rx_queue *q)
{
	struct rte_eth_stats stats;

	if (q->packets >= q->expected)
		return true;
	if (rte_eth_stats_get(q->port_id, &stats) == 0 && q->packets + stats.rx_nombuf >= q->expected)
		return true;
	return false;
}

int rx_lcore_run(void *arg)
{
	struct rx_lcore *rx = arg;
	uint64_t hz = rte_get_tsc_hz(), last_rx_tsc = rte_rdtsc(), now_ns = 0;
	struct rte_mbuf *burst[RX_BURST];
	struct journal_entry journal[RX_BURST];
	const struct feed_route *routes[RX_BURST];
	uint32_t done = 0;

	while (!*rx->quit) {
		uint32_t received = 0;

		feed_set_service(&rx->set);	/* the main lcore may be waiting for histograms */
		for (uint32_t qi = 0; qi < rx->queues_count; qi++) {
			struct rx_queue *q = &rx->queues[qi];
			uint16_t n;

			if (q->done)
				continue;
			n = rte_eth_rx_burst(q->port_id, q->queue, burst, RX_BURST);
			if (n == 0) {
				if (q->expected > 0 && (rx->idle_polls & 1023) == 0 && rx_queue_replay_done(q)) {
					q->done = true;
					done++;
				}
				continue;
			}
			received += n;
			q->packets += n;
			if (!rx->replay)
				now_ns = rx_tsc_ns(rte_rdtsc(), hz);
			uint32_t journaled = 0;

			for (uint16_t i = 0; i < n; i++) {
				struct rte_mbuf *m = burst[i];
				uint64_t rx_ns = now_ns + rx->journal_epoch_ns;

				if (i + 1 < n)
					rte_prefetch0(rte_pktmbuf_mtod(burst[i + 1], void *));
				/* Capture time, never going backwards even where the capture does. */
				if (rx->replay && (m->ol_flags & rx->timestamp_flag)) {
					uint64_t t = *RTE_MBUF_DYNFIELD(m, rx->timestamp_offset, uint64_t *) *
						     rx->timestamp_to_ns;

					now_ns = t > now_ns ? t : now_ns;
					rx_ns = t;	/* the journal keeps each frame's own time */
				}
				if (m->nb_segs != 1) {
					/* Feeds fit one segment; a chained frame is counted as cut. */
					rx->set.unrouted[PACKET_TRUNCATED]++;
					rte_pktmbuf_free(m);
					continue;
				}
				/* The journal's own reference, taken before the feed may free the mbuf. */
				if (rx->journal != NULL)
					rte_mbuf_refcnt_update(m, 1);
				routes[journaled] = feed_set_packet_handle(&rx->set,
						rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m),
						m, now_ns, rx_mbuf_free);
				if (rx->journal == NULL)
					continue;
				journal[journaled].mbuf = m;
				journal[journaled].rx_ns = rx_ns;
				journal[journaled].interface = routes[journaled] != NULL ?
					routes[journaled]->journal_interface : rx->journal_unrouted;
				journaled++;
			}
			if (journaled > 0)
				rx_journal_hand_over(rx, journal, routes, journaled);
			if (q->expected > 0 && q->packets >= q->expected) {
				q->done = true;
				done++;
			}
		}
		if (received > 0) {
			rx->bursts++;
			last_rx_tsc = rte_rdtsc();
			if (rx->first_rx_tsc == 0)
				rx->first_rx_tsc = last_rx_tsc;
			rx->last_rx_tsc = last_rx_tsc;
			continue;
		}
		rx->idle_polls++;
		if (rx->replay && rx->queues[0].expected > 0) {
			if (done == rx->queues_count)
				break;
			if (rx_tsc_ns(rte_rdtsc() - last_rx_tsc, hz) > RX_REPLAY_IDLE_NS) {
				rx->stalled = true;
				break;
			}
		} else if ((rx->idle_polls & 255) == 0) {
			feed_set_expire(&rx->set, rx_tsc_ns(rte_rdtsc(), hz));
		}
	}
	/* The captures are over (or we were told to stop): nothing will fill the holes. */
	feed_set_flush(&rx->set, now_ns);
	rx->finished = true;
	return 0;
}
