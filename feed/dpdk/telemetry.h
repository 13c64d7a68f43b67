/*
 * telemetry: fhd's commands on DPDK's telemetry socket, beside DPDK's own (/ethdev/stats):
 * /fh/feeds, each feed's counters, per line where they are kept, and its book state;
 * /fh/latency, each feed's latency percentiles since start. Both answer from the stats
 * image the main lcore publishes each interval (stats_copy), never from the data path,
 * so a client costs the RX lcores nothing.
 */
#ifndef FH_FEED_DPDK_TELEMETRY_H
#define FH_FEED_DPDK_TELEMETRY_H

#include "feed/stats.h"

/*
 * Registers the commands, answering from s (which must outlive every telemetry client:
 * DPDK's telemetry threads run until the process exits), and says where the socket is
 * when EAL made one. Once per process, after rte_eal_init. 0, or -errno from
 * rte_telemetry_register_cmd with a message printed.
 */
int telemetry_commands_register(const struct stats *s);

#endif
