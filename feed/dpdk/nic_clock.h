/*
 * nic_clock: a NIC's own clock, the one its RX timestamps count in. DPDK 22.11 has
 * rte_eth_read_clock as an experimental symbol; this file alone opts in to it, so the
 * rest of fhd builds against the stable ABI only.
 */
#ifndef FH_FEED_DPDK_NIC_CLOCK_H
#define FH_FEED_DPDK_NIC_CLOCK_H

#include <stdint.h>

/* The NIC clock of port_id now, into *clock. 0, or -errno (-ENOTSUP: the PMD has none). */
int nic_clock_read(uint16_t port_id, uint64_t *clock);

#endif
