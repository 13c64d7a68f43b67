/*
 * flow: rte_flow rules for the lines of DPDK ports (see flow.h).
 */
#include "feed/dpdk/flow.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_flow.h>

#include "feed/dpdk/fhd_log.h"

/* The PMD's driver name, for the messages ("net_af_packet"). */
static const char *flow_driver(uint16_t port_id)
{
	struct rte_eth_dev_info info;

	return rte_eth_dev_info_get(port_id, &info) == 0 && info.driver_name != NULL ? info.driver_name : "?";
}

/* The PMD's reason: its message where it gave one, else errno's text. */
static const char *flow_reason(const struct rte_flow_error *error, int rc)
{
	return error->message != NULL ? error->message : strerror(-rc);
}

int flow_isolate(uint16_t port_id, const char *label, char *err, size_t err_size)
{
	struct rte_flow_error error = { 0 };
	int rc = rte_flow_isolate(port_id, 1, &error);

	if (rc != 0)
		snprintf(err, err_size, "port %s: flow_isolate: the PMD (%s) cannot isolate: %s (remove "
			 "flow_isolate from the port, or give fhd a NIC whose PMD has rte_flow)", label,
			 flow_driver(port_id), flow_reason(&error, rc));
	else
		fhd_log(LOG_INFO, "fhd: port %s: isolated (rte_flow_isolate): only the lines' rules reach fhd\n",
			label);
	return rc;
}

/*
 * Validates, then creates, an ingress rule steering what pattern matches to queue;
 * -errno with error set when the PMD refuses it.
 */
static int flow_rule_to_queue(uint16_t port_id, const struct rte_flow_item *pattern, uint16_t queue,
			      struct rte_flow_error *error)
{
	const struct rte_flow_attr attr = { .ingress = 1 };
	const struct rte_flow_action_queue to = { .index = queue };
	const struct rte_flow_action actions[] = {
		{ .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &to },
		{ .type = RTE_FLOW_ACTION_TYPE_END },
	};
	int rc = rte_flow_validate(port_id, &attr, pattern, actions, error);

	if (rc != 0)
		return rc;
	if (rte_flow_create(port_id, &attr, pattern, actions, error) == NULL)
		return rte_errno != 0 ? -rte_errno : -EIO;
	return 0;
}

/* Line's rule: ETH / IPV4 dst group / UDP dst udp_port -> its queue (flow_rule_to_queue). */
static int flow_line_create(uint16_t port_id, const struct flow_line *line, struct rte_flow_error *error)
{
	const struct rte_flow_item_ipv4 ip_spec = { .hdr.dst_addr = htonl(line->group_ip) };
	const struct rte_flow_item_ipv4 ip_mask = { .hdr.dst_addr = UINT32_MAX };
	const struct rte_flow_item_udp udp_spec = { .hdr.dst_port = htons(line->udp_port) };
	const struct rte_flow_item_udp udp_mask = { .hdr.dst_port = UINT16_MAX };
	const struct rte_flow_item pattern[] = {
		{ .type = RTE_FLOW_ITEM_TYPE_ETH },
		{ .type = RTE_FLOW_ITEM_TYPE_IPV4, .spec = &ip_spec, .mask = &ip_mask },
		{ .type = RTE_FLOW_ITEM_TYPE_UDP, .spec = &udp_spec, .mask = &udp_mask },
		{ .type = RTE_FLOW_ITEM_TYPE_END },
	};

	return flow_rule_to_queue(port_id, pattern, line->queue, error);
}

uint32_t flow_lines_steer(uint16_t port_id, const char *label, const struct flow_line *lines, uint32_t count)
{
	uint32_t created = 0;

	for (uint32_t i = 0; i < count; i++) {
		struct rte_flow_error error = { 0 };
		char group[INET_ADDRSTRLEN];
		struct in_addr g = { .s_addr = htonl(lines[i].group_ip) };
		int rc = flow_line_create(port_id, &lines[i], &error);

		inet_ntop(AF_INET, &g, group, sizeof(group));
		if (rc == -ENOSYS) {
			/* No rte_flow at all: said once for the port, then what it means per line. */
			fhd_log(LOG_INFO, "fhd: port %s: no rte_flow on this PMD (%s): all lines on queue 0, "
				"as received\n", label, flow_driver(port_id));
			for (uint32_t j = 0; j < count; j++)
				if (lines[j].queue != 0)
					fhd_log(LOG_WARNING, "fhd: warning: port %s: %s is on queue %u, which "
						"receives nothing without rte_flow\n", label, lines[j].label,
						lines[j].queue);
			return 0;
		}
		if (rc != 0) {
			fhd_log(LOG_WARNING, "fhd: warning: port %s: rte_flow rule for %s (%s:%u -> queue %u) "
				"refused by the PMD (%s): %s; its datagrams go where the NIC puts them\n", label,
				lines[i].label, group, lines[i].udp_port, lines[i].queue, flow_driver(port_id),
				flow_reason(&error, rc));
			continue;
		}
		created++;
	}
	if (count > 0)
		fhd_log(LOG_INFO, "fhd: port %s: rte_flow steers %u of %u lines to their queues\n", label, created,
			count);
	return created;
}

int flow_igmp_steer(uint16_t port_id, const char *label, uint16_t queue)
{
	const struct rte_flow_item_ipv4 ip_spec = { .hdr.next_proto_id = IPPROTO_IGMP };
	const struct rte_flow_item_ipv4 ip_mask = { .hdr.next_proto_id = UINT8_MAX };
	const struct rte_flow_item pattern[] = {
		{ .type = RTE_FLOW_ITEM_TYPE_ETH },
		{ .type = RTE_FLOW_ITEM_TYPE_IPV4, .spec = &ip_spec, .mask = &ip_mask },
		{ .type = RTE_FLOW_ITEM_TYPE_END },
	};
	struct rte_flow_error error = { 0 };
	int rc = flow_rule_to_queue(port_id, pattern, queue, &error);

	if (rc != 0)
		fhd_log(LOG_WARNING, "fhd: warning: port %s: isolated, and the rte_flow rule for IGMP (IPv4 "
			"protocol 2 -> queue %u) refused by the PMD (%s): %s; queries will not reach fhd, "
			"which still sends its unsolicited reports\n", label, queue, flow_driver(port_id),
			flow_reason(&error, rc));
	else
		fhd_log(LOG_INFO, "fhd: port %s: rte_flow steers IGMP to queue %u (the port is isolated)\n",
			label, queue);
	return rc;
}

void flow_release(uint16_t port_id)
{
	struct rte_flow_error error;

	(void)rte_flow_flush(port_id, &error);
}
