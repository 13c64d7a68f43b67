/*
 * port: ethdev configuration (see port.h).
 */
#include "feed/dpdk/port.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/if_packet.h>
#include <linux/if_xdp.h>

#include <rte_ethdev.h>

/* The sockets of this process's family sockets scanned at most, beyond one port's. */
#define PORT_SOCKETS_SCAN_MAX 1024

/*
 * This process's open sockets of family, in fds (at most max, in descriptor order
 * of /proc/self/fd); their count. 0 where /proc is not mounted.
 */
static uint16_t port_sockets_list(int family, int *fds, uint16_t max)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *entry;
	uint16_t count = 0;

	if (dir == NULL)
		return 0;
	while (count < max && (entry = readdir(dir)) != NULL) {
		char *end;
		long fd = strtol(entry->d_name, &end, 10);
		int domain;
		socklen_t len = sizeof(domain);

		if (end == entry->d_name || *end != '\0' || fd < 0 || fd == dirfd(dir))
			continue;
		if (getsockopt((int)fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == family)
			fds[count++] = (int)fd;
	}
	closedir(dir);
	assert(count <= max);
	return count;
}

/* net_af_packet's sockets: made when EAL probed the vdev, each bound to its interface. */
static void port_kernel_packet_find(struct port_kernel *kernel, uint32_t if_index)
{
	int fds[PORT_SOCKETS_SCAN_MAX];
	uint16_t count = port_sockets_list(AF_PACKET, fds, PORT_SOCKETS_SCAN_MAX);

	for (uint16_t i = 0; i < count && kernel->count < PORT_KERNEL_SOCKETS_MAX; i++) {
		struct sockaddr_ll address;
		socklen_t len = sizeof(address);

		memset(&address, 0, sizeof(address));
		if (getsockname(fds[i], (struct sockaddr *)&address, &len) == 0 &&
		    (uint32_t)address.sll_ifindex == if_index)
			kernel->fds[kernel->count++] = fds[i];
	}
	if (kernel->count > 0)
		kernel->family = AF_PACKET;
}

/*
 * net_af_xdp's sockets: made by its RX queue setup, and AF_XDP has no getsockname to
 * say their interface; so those that were not open before (before[0..before_count)).
 */
static void port_kernel_xdp_find(struct port_kernel *kernel, const int *before, uint16_t before_count)
{
	int fds[PORT_SOCKETS_SCAN_MAX];
	uint16_t count = port_sockets_list(AF_XDP, fds, PORT_SOCKETS_SCAN_MAX);

	for (uint16_t i = 0; i < count && kernel->count < PORT_KERNEL_SOCKETS_MAX; i++) {
		bool old = false;

		for (uint16_t j = 0; j < before_count && !old; j++)
			old = before[j] == fds[i];
		if (!old)
			kernel->fds[kernel->count++] = fds[i];
	}
	if (kernel->count > 0)
		kernel->family = AF_XDP;
}

uint64_t port_kernel_dropped(struct port_kernel *kernel)
{
	uint64_t ring_full = 0;

	for (uint16_t i = 0; i < kernel->count; i++) {
		if (kernel->family == AF_PACKET) {
			struct tpacket_stats_v3 stats;	/* the kernel fills what the ring's version has */
			socklen_t len = sizeof(stats);

			memset(&stats, 0, sizeof(stats));
			if (getsockopt(kernel->fds[i], SOL_PACKET, PACKET_STATISTICS, &stats, &len) == 0)
				kernel->dropped += stats.tp_drops;
		} else {
			/* Cumulative. rx_dropped (too large for a frame, no fill) is already imissed. */
			struct xdp_statistics stats;
			socklen_t len = sizeof(stats);

			memset(&stats, 0, sizeof(stats));
			if (getsockopt(kernel->fds[i], SOL_XDP, XDP_STATISTICS, &stats, &len) == 0)
				ring_full += stats.rx_ring_full;
		}
	}
	return kernel->family == AF_XDP ? ring_full : kernel->dropped;
}

int port_open(const char *name, uint16_t rx_queues, uint16_t rx_descriptors, uint16_t igmp_tx_queues,
	      struct rte_mempool *pool, uint16_t *port_id, struct port_kernel *kernel,
	      char *err, size_t err_size)
{
	uint16_t tx_descriptors = PORT_TX_DESCRIPTORS;
	int xdp_before[PORT_SOCKETS_SCAN_MAX];
	uint16_t xdp_before_count = 0;
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	uint16_t tx_queues = 0;
	bool af_xdp;
	int rc;

	memset(&conf, 0, sizeof(conf));
	memset(&info, 0, sizeof(info));	/* driver_name NULL if info_get fails */
	memset(kernel, 0, sizeof(*kernel));
	rc = rte_eth_dev_get_port_by_name(name, port_id);
	if (rc != 0) {
		snprintf(err, err_size, "port %s: no such DPDK device (is it bound, or the vdev given?)", name);
		return rc;
	}
	rc = rte_eth_dev_info_get(*port_id, &info);
	if (rc == 0 && rx_queues > info.max_rx_queues) {
		snprintf(err, err_size, "port %s: %u RX queues asked, the device has %u", name,
			 rx_queues, info.max_rx_queues);
		return -EINVAL;
	}
	/* NIC RX timestamps where the PMD has them: rx_to_publish can start there (rx.h). */
	if ((info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP) != 0)
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TIMESTAMP;
	/*
	 * RX, and one TX queue for fhd's IGMP where it sends its own (igmp_tx_queues), except
	 * where the PMD refuses that: net_af_xdp binds one XSK socket per queue pair and
	 * wants as many TX queues as RX (its configure fails with -EINVAL otherwise). It
	 * gets them, set up and unused but for IGMP on queue 0. Asked by name, not by
	 * trying: a refused configure logs a DPDK error line an operator would take for a
	 * fault.
	 */
	assert(igmp_tx_queues <= 1);
	tx_queues = igmp_tx_queues;
	af_xdp = info.driver_name != NULL && strcmp(info.driver_name, "net_af_xdp") == 0;
	if (af_xdp) {
		tx_queues = rx_queues > tx_queues ? rx_queues : tx_queues;
		xdp_before_count = port_sockets_list(AF_XDP, xdp_before, PORT_SOCKETS_SCAN_MAX);
	}
	rc = rte_eth_dev_configure(*port_id, rx_queues, tx_queues, &conf);
	if (rc != 0) {
		snprintf(err, err_size, "port %s: configure (%u RX, %u TX queues): %s", name, rx_queues,
			 tx_queues, strerror(-rc));
		return rc;
	}
	for (uint16_t q = 0; q < rx_queues; q++) {
		rc = rte_eth_rx_queue_setup(*port_id, q, rx_descriptors,
					    rte_eth_dev_socket_id(*port_id), NULL, pool);
		if (rc != 0) {
			/* net_af_xdp says only -EINVAL; libbpf and libxdp have printed the reason. */
			snprintf(err, err_size, "port %s: RX queue %u: %s%s", name, q, strerror(-rc),
				 af_xdp ? " (the XDP program or its XSK socket could not be set up: the"
					  " libbpf and libxdp lines above say why)" : "");
			return rc;
		}
	}
	/* The PMD's own limits (minimum, alignment) on the few descriptors IGMP needs. */
	if (!af_xdp)
		(void)rte_eth_dev_adjust_nb_rx_tx_desc(*port_id, NULL, &tx_descriptors);
	for (uint16_t q = 0; q < tx_queues; q++) {
		rc = rte_eth_tx_queue_setup(*port_id, q, af_xdp ? rx_descriptors : tx_descriptors,
					    rte_eth_dev_socket_id(*port_id), NULL);
		if (rc != 0) {
			snprintf(err, err_size, "port %s: TX queue %u (%s): %s", name, q,
				 q < igmp_tx_queues ? "for IGMP" : "paired with RX, unused", strerror(-rc));
			return rc;
		}
	}
	rc = rte_eth_dev_start(*port_id);
	if (rc != 0) {
		snprintf(err, err_size, "port %s: start: %s", name, strerror(-rc));
		return rc;
	}
	if (af_xdp)
		port_kernel_xdp_find(kernel, xdp_before, xdp_before_count);
	else if (info.driver_name != NULL && strcmp(info.driver_name, "net_af_packet") == 0)
		port_kernel_packet_find(kernel, info.if_index);
	return 0;
}

void port_multicast_open(uint16_t port_id)
{
	if (rte_eth_allmulticast_enable(port_id) != 0)
		rte_eth_promiscuous_enable(port_id);
}

void port_mac_filter_set(uint16_t port_id, struct rte_ether_addr *macs, uint32_t count, char *said,
			 size_t said_size)
{
	int rc = count > 0 ? rte_eth_dev_set_mc_addr_list(port_id, macs, count) : -EINVAL;
	int all;

	assert(count <= PORT_MAC_FILTER_MAX);
	if (rc == 0) {
		snprintf(said, said_size, "multicast address list of %u (rte_eth_dev_set_mc_addr_list)", count);
		return;
	}
	all = rte_eth_allmulticast_enable(port_id);
	if (all == 0) {
		snprintf(said, said_size, "allmulticast (the PMD refused the address list: %s)", strerror(-rc));
		return;
	}
	if (rte_eth_promiscuous_enable(port_id) == 0) {
		snprintf(said, said_size, "promiscuous (the PMD refused the address list: %s, and allmulticast: %s)",
			 strerror(-rc), strerror(-all));
		return;
	}
	snprintf(said, said_size, "none: the PMD refused the address list (%s), allmulticast (%s) and "
		 "promiscuous; it receives what it receives", strerror(-rc), strerror(-all));
}

void port_close(uint16_t port_id)
{
	rte_eth_dev_stop(port_id);
	rte_eth_dev_close(port_id);
}

void port_stats_print(FILE *out, uint16_t port_id, const char *label, uint64_t pool_low,
		      struct port_kernel *kernel)
{
	struct rte_eth_stats stats;
	uint64_t kernel_dropped = port_kernel_dropped(kernel);

	if (rte_eth_stats_get(port_id, &stats) != 0)
		return;
	/* pool_low beside no_mbuf: not every driver counts the mbufs it could not get. */
	fprintf(out, "port %s: received %" PRIu64 "  missed %" PRIu64 "  no_mbuf %" PRIu64
		"  pool_low %" PRIu64 "  errors %" PRIu64, label, stats.ipackets, stats.imissed + kernel_dropped,
		stats.rx_nombuf, pool_low, stats.ierrors);
	/* The part of missed the kernel dropped on the PMD's sockets, where it has them. */
	if (kernel->family != 0)
		fprintf(out, "  kernel_dropped %" PRIu64, kernel_dropped);
	fputc('\n', out);
}
