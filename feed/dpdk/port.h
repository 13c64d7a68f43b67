/*
 * port: DPDK ethdev setup for fhd: the RX queues, and one TX queue where fhd sends
 * IGMP itself (never data), the multicast MAC filter; started before the RX lcores
 * launch.
 */
#ifndef FH_FEED_PORT_H
#define FH_FEED_PORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct rte_mempool;
struct rte_ether_addr;

#define PORT_TX_DESCRIPTORS 64		/* the IGMP TX queue: a few reports at a time */
#define PORT_MAC_FILTER_MAX 64		/* multicast MACs programmed on one port */

/*
 * Opens and starts the ethdev called `name` (a vdev name like net_pcap0, or a PCI
 * address) with rx_queues queues of rx_descriptors each and tx_queues (0 or 1) TX
 * queues, which the main lcore alone uses. No multicast filter is set (see below).
 * 0 and *port_id, or -errno and err set.
 */
int port_open(const char *name, uint16_t rx_queues, uint16_t rx_descriptors, uint16_t tx_queues,
	      struct rte_mempool *pool, uint16_t *port_id, char *err, size_t err_size);

/* Lets every multicast frame in: allmulticast, else promiscuous (a replay's port). */
void port_multicast_open(uint16_t port_id);

/*
 * The port's multicast filter: the count MACs (the groups', RFC 1112 §6.4) with
 * rte_eth_dev_set_mc_addr_list; where the PMD refuses that (or count is 0),
 * allmulticast, else promiscuous. What was done, and why, into said for the one log
 * line the caller writes.
 */
void port_mac_filter_set(uint16_t port_id, struct rte_ether_addr *macs, uint32_t count, char *said,
			 size_t said_size);

void port_close(uint16_t port_id);

/*
 * One line of the port's own counters (received, missed by the NIC, no mbuf, errors)
 * and pool_low, fhd's count of times the packet pool ran low while polling it.
 */
void port_stats_print(FILE *out, uint16_t port_id, const char *label, uint64_t pool_low);

#endif
