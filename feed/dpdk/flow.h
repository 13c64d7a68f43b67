/*
 * flow: rte_flow on the DPDK ports fhd configures. Each feed line's datagrams
 * (IPv4 destination its group, UDP destination its port) are steered by the NIC to
 * the RX queue the line names, the queue its feed's RX lcore polls. A PMD without
 * rte_flow (every software vdev: net_pcap, net_af_packet, net_af_xdp, net_null)
 * gets one line saying so at start, and every line is received on queue 0 (fhd sets
 * up no RSS). ports[].flow_isolate asks rte_flow_isolate, so only what the rules
 * steer reaches fhd; a PMD that cannot isolate is refused at start.
 */
#ifndef FH_FEED_DPDK_FLOW_H
#define FH_FEED_DPDK_FLOW_H

#include <stddef.h>
#include <stdint.h>

/* One line's rule: ETH / IPV4 dst group_ip / UDP dst udp_port -> QUEUE queue. */
struct flow_line {
	uint32_t group_ip;	/* host byte order */
	uint16_t udp_port;
	uint16_t queue;
	const char *label;	/* "feed itch line A", for messages */
};

/*
 * rte_flow_isolate(port_id, on), before the port is configured. 0, or -errno with
 * err naming the port (label) and the PMD's reason.
 */
int flow_isolate(uint16_t port_id, const char *label, char *err, size_t err_size);

/*
 * Validates then creates one rule per line on the started port_id. A PMD without
 * rte_flow: one info line (and a warning per line on a queue other than 0, which
 * then receives nothing), 0 rules. A rule the PMD refuses: a warning naming the
 * line; the line's datagrams go where the NIC's default puts them. Returns the
 * rules created; flow_release removes them.
 */
uint32_t flow_lines_steer(uint16_t port_id, const char *label, const struct flow_line *lines, uint32_t count);

/*
 * On an isolated port where fhd answers IGMP queries itself (igmp: fhd): one rule
 * steering IPv4 protocol 2 to queue (one an RX lcore polls), since isolation would
 * otherwise keep every query from fhd. A refusal is a warning naming the port. 0 or
 * -errno.
 */
int flow_igmp_steer(uint16_t port_id, const char *label, uint16_t queue);

/* Removes every rule on port_id (rte_flow_flush), before it is stopped. */
void flow_release(uint16_t port_id);

#endif
