/*
 * port: ethdev configuration (see port.h).
 */
#include "feed/dpdk/port.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <rte_ethdev.h>

int port_open(const char *name, uint16_t rx_queues, uint16_t rx_descriptors,
	      struct rte_mempool *pool, uint16_t *port_id, char *err, size_t err_size)
{
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
	/* NIC RX timestamps where the PMD has them: rx_to_publish can start there (rx.h). */
	if (rc == 0 && (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP) != 0)
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TIMESTAMP;
	rc = rte_eth_dev_configure(*port_id, rx_queues, 0, &conf);
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
	rc = rte_eth_dev_start(*port_id);
	if (rc != 0) {
		snprintf(err, err_size, "port %s: start: %s", name, strerror(-rc));
		return rc;
	}
	/* Feeds are multicast; a PMD that cannot filter them is opened wide. */
	if (rte_eth_allmulticast_enable(*port_id) != 0)
		rte_eth_promiscuous_enable(*port_id);
	return 0;
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
