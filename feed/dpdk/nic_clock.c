/*
 * nic_clock: see nic_clock.h.
 */
#define ALLOW_EXPERIMENTAL_API	/* rte_eth_read_clock, experimental in DPDK 22.11 */

#include "feed/dpdk/nic_clock.h"

#include <rte_ethdev.h>

int nic_clock_read(uint16_t port_id, uint64_t *clock)
{
	return rte_eth_read_clock(port_id, clock);
}
