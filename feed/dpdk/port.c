/*
 * port: ethdev configuration (see port.h).
 */
#include "feed/dpdk/port.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <rte_ethdev.h>

int port_open(const char *name, uint16_t rx_queues, uint16_t rx_descriptors, uint16_t tx_queues,
	      struct rte_mempool *pool, uint16_t *port_id, char *err, size_t err_size)
{
	uint16_t tx_descriptors = PORT_TX_DESCRIPTORS;
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	int rc;

	memset(&conf, 0, sizeof(conf));
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
	assert(tx_queues <= 1);
	rc = rte_eth_dev_configure(*port_id, rx_queues, tx_queues, &conf);
	if (rc != 0) {
		snprintf(err, err_size, "port %s: configure: %s", name, strerror(-rc));
		return rc;
	}
	for (uint16_t q = 0; q < rx_queues; q++) {
		rc = rte_eth_rx_queue_setup(*port_id, q, rx_descriptors,
					    rte_eth_dev_socket_id(*port_id), NULL, pool);
		if (rc != 0) {
			snprintf(err, err_size, "port %s: RX queue %u: %s", name, q, strerror(-rc));
			return rc;
		}
	}
	if (tx_queues > 0) {
		/* The PMD's own limits (minimum, alignment) on the few descriptors fhd needs. */
		(void)rte_eth_dev_adjust_nb_rx_tx_desc(*port_id, NULL, &tx_descriptors);
		rc = rte_eth_tx_queue_setup(*port_id, 0, tx_descriptors, rte_eth_dev_socket_id(*port_id), NULL);
		if (rc != 0) {
			snprintf(err, err_size, "port %s: TX queue (for IGMP): %s", name, strerror(-rc));
			return rc;
		}
	}
	rc = rte_eth_dev_start(*port_id);
	if (rc != 0) {
		snprintf(err, err_size, "port %s: start: %s", name, strerror(-rc));
		return rc;
	}
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

void port_stats_print(FILE *out, uint16_t port_id, const char *label, uint64_t pool_low)
{
	struct rte_eth_stats stats;

	if (rte_eth_stats_get(port_id, &stats) != 0)
		return;
	/* pool_low beside no_mbuf: not every driver counts the mbufs it could not get. */
	fprintf(out, "port %s: received %" PRIu64 "  missed %" PRIu64 "  no_mbuf %" PRIu64
		"  pool_low %" PRIu64 "  errors %" PRIu64 "\n", label, stats.ipackets, stats.imissed,
		stats.rx_nombuf, pool_low, stats.ierrors);
}
