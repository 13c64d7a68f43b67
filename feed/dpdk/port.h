/*
 * port: DPDK ethdev setup for fhd: the RX queues, one TX queue where fhd sends IGMP
 * itself (never data; net_af_xdp, which pairs each RX queue with a TX queue, gets TX
 * queues it never uses otherwise), the multicast MAC filter, and the PMD's kernel
 * sockets where it has them; started before the RX lcores launch.
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

/* A port's kernel sockets: one per RX queue (config: rx_queues at most 64). */
#define PORT_KERNEL_SOCKETS_MAX 64

/*
 * The kernel sockets under a net_af_packet or net_af_xdp port, and what the kernel
 * dropped on them: frames that found the socket's ring full (AF_PACKET tp_drops, AF_XDP
 * rx_ring_full) while the RX lcore was late. DPDK 22.11's PMDs count neither in
 * imissed, so without this a stalled RX lcore loses frames that no port counter shows.
 */
struct port_kernel {
	int fds[PORT_KERNEL_SOCKETS_MAX];
	uint16_t count;
	int family;		/* AF_PACKET or AF_XDP; 0: no kernel sockets (any other PMD) */
	uint64_t dropped;	/* AF_PACKET: tp_drops read so far (a read resets the socket's) */
};

/*
 * Opens and starts the ethdev called `name` (a vdev name like net_pcap0, or a PCI
 * address) with rx_queues queues of rx_descriptors each and igmp_tx_queues (0 or 1)
 * TX queues, which the main lcore alone uses, and finds its kernel sockets (*kernel).
 * NIC RX timestamps are turned on where the PMD offers them. No multicast filter is
 * set (see below). 0 and *port_id, or -errno and err set.
 */
int port_open(const char *name, uint16_t rx_queues, uint16_t rx_descriptors, uint16_t igmp_tx_queues,
	      struct rte_mempool *pool, uint16_t *port_id, struct port_kernel *kernel,
	      char *err, size_t err_size);

/*
 * The frames the kernel dropped on the port's sockets since it opened (0 for a port
 * without). Control path only: an AF_PACKET read resets the socket's count, so every
 * reader goes through here, one thread at a time.
 */
uint64_t port_kernel_dropped(struct port_kernel *kernel);

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
 * One line of the port's own counters (received, missed by the NIC, no mbuf, errors),
 * pool_low, fhd's count of times the packet pool ran low while polling it, and on a
 * port with kernel sockets what the kernel dropped on them.
 */
void port_stats_print(FILE *out, uint16_t port_id, const char *label, uint64_t pool_low,
		      struct port_kernel *kernel);

#endif
