/*
 * port: DPDK ethdev setup for fhd: RX queues only (fhd never transmits on the feed
 * ports), all-multicast on, started before the RX lcores launch.
 */
#ifndef FH_FEED_PORT_H
#define FH_FEED_PORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct rte_mempool;

/*
 * Opens the ethdev called `name` (a vdev name like net_pcap0, or a PCI address) with
 * rx_queues queues of rx_descriptors each, and NIC RX timestamps on where the PMD
 * offers them. 0 and *port_id, or -errno and err set.
 */
int port_open(const char *name, uint16_t rx_queues, uint16_t rx_descriptors,
	      struct rte_mempool *pool, uint16_t *port_id, char *err, size_t err_size);

void port_close(uint16_t port_id);

/*
 * One line of the port's own counters (received, missed by the NIC, no mbuf, errors)
 * and pool_low, fhd's count of times the packet pool ran low while polling it.
 */
void port_stats_print(FILE *out, uint16_t port_id, const char *label, uint64_t pool_low);

#endif
