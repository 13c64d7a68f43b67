/*
 * port: DPDK ethdev setup for fhd: RX queues only (fhd never transmits on the feed
 * ports; net_af_xdp, which pairs each RX queue with a TX queue, gets TX queues it never
 * uses), all-multicast on, started before the RX lcores launch.
 */
#ifndef FH_FEED_PORT_H
#define FH_FEED_PORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct rte_mempool;

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
 * Opens the ethdev called `name` (a vdev name like net_pcap0, or a PCI address) with
 * rx_queues queues of rx_descriptors each, and finds its kernel sockets (*kernel).
 * 0 and *port_id, or -errno and err set.
 */
int port_open(const char *name, uint16_t rx_queues, uint16_t rx_descriptors,
	      struct rte_mempool *pool, uint16_t *port_id, struct port_kernel *kernel,
	      char *err, size_t err_size);

/*
 * The frames the kernel dropped on the port's sockets since it opened (0 for a port
 * without). Control path only: an AF_PACKET read resets the socket's count, so every
 * reader goes through here, one thread at a time.
 */
uint64_t port_kernel_dropped(struct port_kernel *kernel);

void port_close(uint16_t port_id);

/*
 * One line of the port's own counters (received, missed by the NIC, no mbuf, errors),
 * pool_low, fhd's count of times the packet pool ran low while polling it, and on a
 * port with kernel sockets what the kernel dropped on them.
 */
void port_stats_print(FILE *out, uint16_t port_id, const char *label, uint64_t pool_low,
		      struct port_kernel *kernel);

#endif
