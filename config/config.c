/*
 * config: fhd's configuration schema. It reads the YAML run configuration through
 * config/yaml_reader (which loads the document and reads typed values with
 * file:line:column messages) and validates all of it (ranges, names, cross-references
 * between lines, ports and lcores) before anything else starts, so a bad file stops
 * the run with one precise line instead of a surprise on the data path. Sections are
 * read in a fixed order (lcores, ports, then feeds, then publish, journal and stats)
 * whatever the order in the file, so references can be resolved as they are read.
 * Nothing here prints or keeps global state: the caller owns the message buffer and
 * the result.
 */
#include "config/config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/yaml_reader.h"

#define CFG_FILE_SIZE_MAX (1 << 20)	/* a config is a few hundred bytes; refuse huge files */
#define CFG_DEFAULT_NAME "<default>/config/default.yaml"

#define CFG_RX_DESCRIPTORS_MIN 64
#define CFG_RX_DESCRIPTORS_MAX 16384
#define CFG_MBUFS_MIN 1024
#define CFG_MBUFS_MAX (1u << 24)
#define CFG_REORDER_PACKETS_MAX 65536
#define CFG_REORDER_US_MAX 10000000
#define CFG_BOOK_INSTRUMENTS_MAX 65536
#define CFG_BOOK_ORDERS_MAX (1u << 28)
#define CFG_BOOK_LEVELS_MAX 65536
#define CFG_HOLD_MAX (1u << 20)		/* recovery.hold and snapshot.hold: packets, each an mbuf */
#define CFG_HOLD_DEFAULT 65536

#define CFG_RX_QUEUES_DEFAULT 1
#define CFG_RX_DESCRIPTORS_DEFAULT 1024
#define CFG_REORDER_PACKETS_DEFAULT 1024
#define CFG_REORDER_US_DEFAULT 5000
/*
 * A full NASDAQ day (issue 20): book.c maps a stock locate to an instrument through a
 * table, so instruments counts the locates seen: over 8,000 (NASDAQ's 12302019 sample
 * has locates up to 8,879 or more); orders a day's peak of live orders, a few million, below
 * 2^22 so the level pool (orders + 2 x instruments) keeps its hash at 2^23 slots;
 * levels a side's depth, twice the old 1,024 (each level of depth costs every
 * instrument 0.8 B of side list). fhd's RSS with them: 0.8 GB (0.3 GB before).
 */
#define CFG_BOOK_INSTRUMENTS_DEFAULT 16384
#define CFG_BOOK_ORDERS_DEFAULT 4000000
#define CFG_BOOK_LEVELS_DEFAULT 2048
#define CFG_JOURNAL_RING_MIN 64
#define CFG_JOURNAL_RING_MAX (1u << 20)
#define CFG_JOURNAL_RING_DEFAULT 8192
#define CFG_JOURNAL_BUFFER_KB_MIN 128
#define CFG_JOURNAL_BUFFER_KB_MAX 65536
#define CFG_JOURNAL_BUFFER_KB_DEFAULT 1024
#define CFG_JOURNAL_BUFFERS_MIN 2
#define CFG_JOURNAL_BUFFERS_MAX 64
#define CFG_JOURNAL_BUFFERS_DEFAULT 8
#define CFG_JOURNAL_ROTATE_MB_DEFAULT 1024
#define CFG_JOURNAL_ROTATE_MB_MAX (1u << 20)
#define CFG_JOURNAL_ROTATE_S_DEFAULT 3600
#define CFG_JOURNAL_ROTATE_S_MAX (7 * 86400)	/* a week */
#define CFG_JOURNAL_FSYNC_MB_MAX (1u << 20)
#define CFG_JOURNAL_FSYNC_MS_MAX 3600000	/* an hour */
#define CFG_PUBLISH_CAPACITY_MIN 1024
#define CFG_PUBLISH_CAPACITY_MAX (1u << 26)
#define CFG_STATS_INTERVAL_MS_MIN 10
#define CFG_STATS_INTERVAL_MS_MAX 3600000	/* an hour */
#define CFG_STATS_INTERVAL_MS_DEFAULT 1000
#define CFG_UTC_OFFSET_MINUTES_MIN (-720)	/* UTC-12:00 */
#define CFG_UTC_OFFSET_MINUTES_MAX 840		/* UTC+14:00 */

_Static_assert(CFG_LCORE_ID_MAX <= UINT16_MAX, "lcore ids are stored in uint16_t");
_Static_assert(CFG_PORTS_MAX <= UINT16_MAX, "port indexes are stored in uint16_t");
_Static_assert(CFG_RX_QUEUES_MAX <= UINT16_MAX, "queues are stored in uint16_t");
_Static_assert(CFG_RX_DESCRIPTORS_MAX <= UINT16_MAX, "descriptors are stored in uint16_t");
_Static_assert(CFG_MBUFS_DEFAULT_MIN >= CFG_MBUFS_MIN && CFG_MBUFS_DEFAULT_MIN <= CFG_MBUFS_MAX,
	       "mbufs default in range");
_Static_assert(((CFG_MBUFS_DEFAULT_MIN + 1) & CFG_MBUFS_DEFAULT_MIN) == 0, "the default is 2^n - 1");

extern const char cfg_default_yaml_start[];
extern const char cfg_default_yaml_end[];

/* The protocols as YAML names them, indexed by enum cfg_protocol. */
static const char *const cfg_igmp_mode_names[] = {
	[CFG_IGMP_AUTO] = "auto", [CFG_IGMP_FHD] = "fhd", [CFG_IGMP_KERNEL] = "kernel", [CFG_IGMP_OFF] = "off",
};
#define CFG_IGMP_MODES_COUNT (sizeof(cfg_igmp_mode_names) / sizeof(cfg_igmp_mode_names[0]))

const char *cfg_igmp_mode_name(enum cfg_igmp_mode mode)
{
	return (size_t)mode < CFG_IGMP_MODES_COUNT ? cfg_igmp_mode_names[mode] : "?";
}

static const char *const cfg_protocol_names[] = {
	[CFG_PROTOCOL_NONE] = "none",
	[CFG_PROTOCOL_ITCH50_MOLDUDP64] = "itch50-moldudp64",
};
#define CFG_PROTOCOLS_COUNT (sizeof(cfg_protocol_names) / sizeof(cfg_protocol_names[0]))

/* The keys of each section, in the order the unknown-key message lists them. */
enum cfg_root_key {
	ROOT_KEY_EAL, ROOT_KEY_LCORES, ROOT_KEY_MBUFS, ROOT_KEY_PORTS, ROOT_KEY_FEEDS,
	ROOT_KEY_PUBLISH, ROOT_KEY_JOURNAL, ROOT_KEY_STATS, ROOT_KEY_USER, ROOT_KEY_GROUP, ROOT_KEYS
};
enum cfg_port_key { PORT_KEY_NAME, PORT_KEY_DEVICE, PORT_KEY_RX_QUEUES, PORT_KEY_RX_DESCRIPTORS,
		    PORT_KEY_RCVBUF_BYTES, PORT_KEY_IGMP, PORT_KEY_IGMP_SOURCE, PORT_KEY_FLOW_ISOLATE, PORT_KEYS };
enum cfg_feed_key {
	FEED_KEY_NAME, FEED_KEY_PROTOCOL, FEED_KEY_LCORE, FEED_KEY_REORDER_WINDOW, FEED_KEY_LINES,
	FEED_KEY_BOOK, FEED_KEY_UTC_OFFSET, FEED_KEY_PUBLISH, FEED_KEY_RECOVERY, FEED_KEY_SNAPSHOT,
	FEED_KEYS
};
enum cfg_line_key { LINE_KEY_GROUP, LINE_KEY_UDP_PORT, LINE_KEY_SOURCE, LINE_KEY_PORT,
		    LINE_KEY_QUEUE, LINE_KEYS };
enum cfg_publish_key { PUBLISH_KEY_RING, PUBLISH_KEY_CAPACITY, PUBLISH_KEY_MODE,
		       PUBLISH_KEY_GROUP, PUBLISH_KEY_DEPTH, PUBLISH_KEYS };
enum cfg_journal_key {
	JOURNAL_KEY_DIR, JOURNAL_KEY_LCORE, JOURNAL_KEY_CPU, JOURNAL_KEY_RING,
	JOURNAL_KEY_BUFFER_KB, JOURNAL_KEY_BUFFERS, JOURNAL_KEY_O_DIRECT, JOURNAL_KEY_FSYNC_MB,
	JOURNAL_KEY_FSYNC_MS, JOURNAL_KEY_ROTATE_MB, JOURNAL_KEY_ROTATE_S, JOURNAL_KEYS
};
enum cfg_stats_key { STATS_KEY_INTERVAL, STATS_KEY_LOG, STATS_KEY_SEGMENT,
		     STATS_KEY_PROMETHEUS, STATS_KEY_HTTP, STATS_KEY_HIST_OUT, STATS_KEYS };

/* State of one load: the document being read and what has been read so far. */
struct cfg_parser {
	struct yaml_reader *reader;
	struct cfg *cfg;
	size_t port_name_lines[CFG_PORTS_MAX];	/* 1-based, for duplicate-name messages */
	size_t feed_name_lines[CFG_FEEDS_MAX];
};

/* A message with no position (the file itself is refused): "err = fmt ...", if err. */
__attribute__((format(printf, 3, 4)))
static void cfg_error_set(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;

	if (!err || err_size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
}

/* A string that becomes part of a file or segment name and is not safe as one (why). */
static int cfg_name_fail(struct cfg_parser *p, const yaml_node_t *node, const char *path,
			 const char *names, const char *why)
{
	char shown[YAML_READER_SHOWN_SIZE];

	yaml_reader_scalar_show(node, shown, sizeof(shown));
	return yaml_reader_fail(p->reader, &node->start_mark, path, "expected a name of "
				"[A-Za-z0-9_.-] not starting with '.' (it names %s), got \"%s\" (%s)",
				names, shown, why);
}

static bool cfg_ipv4_is_multicast(uint32_t ip)
{
	return (ip >> 28) == 0xe;	/* 224.0.0.0/4, RFC 5771 */
}

static int cfg_eal_read(struct cfg_parser *p, yaml_node_t *node)
{
	struct cfg *cfg = p->cfg;
	char path[YAML_READER_PATH_MAX];
	size_t i, count;
	int ret;

	ret = yaml_reader_list_read(p->reader, node, "eal", 0, CFG_EAL_ARGS_MAX, "strings", &count);
	if (ret)
		return ret;
	for (i = 0; i < count; i++) {
		yaml_reader_path_index(path, sizeof(path), "eal", i);
		ret = yaml_reader_string_parse(p->reader, yaml_reader_list_item(p->reader, node, i),
					       path, cfg->eal_args[i], CFG_ARG_MAX);
		if (ret)
			return ret;
	}
	cfg->eal_args_count = (uint16_t)count;
	return 0;
}

/* lcores: {main, rx: [...]}; every lcore id is used at most once. */
static int cfg_lcores_read(struct cfg_parser *p, yaml_node_t *node)
{
	struct yaml_reader_key keys[] = { { .name = "main" }, { .name = "rx" } };
	struct cfg *cfg = p->cfg;
	char path[YAML_READER_PATH_MAX];
	size_t i, j, count;
	uint32_t v;
	int ret;

	ret = yaml_reader_map_read(p->reader, node, "lcores", keys, 2);
	if (ret)
		return ret;
	ret = yaml_reader_uint_get(p->reader, node, "lcores", &keys[0], true, 0, 0, CFG_LCORE_ID_MAX,
				   &v);
	if (ret)
		return ret;
	cfg->main_lcore = (uint16_t)v;
	if (!keys[1].value)
		return yaml_reader_missing_fail(p->reader, node, "lcores", &keys[1],
						"a list of lcore ids");
	ret = yaml_reader_list_read(p->reader, keys[1].value, "lcores.rx", 1, CFG_RX_LCORES_MAX,
				    "lcore ids", &count);
	if (ret)
		return ret;
	for (i = 0; i < count; i++) {
		yaml_node_t *item = yaml_reader_list_item(p->reader, keys[1].value, i);

		yaml_reader_path_index(path, sizeof(path), "lcores.rx", i);
		ret = yaml_reader_uint_parse(p->reader, item, path, 0, CFG_LCORE_ID_MAX, &v);
		if (ret)
			return ret;
		if (v == cfg->main_lcore)
			return yaml_reader_fail(p->reader, &item->start_mark, path,
						"expected an lcore other than lcores.main, got %u", v);
		for (j = 0; j < i; j++)
			if (cfg->rx_lcores[j] == v)
				return yaml_reader_fail(p->reader, &item->start_mark, path,
							"expected each lcore once, got %u again (also lcores.rx[%zu])",
							v, j);
		cfg->rx_lcores[i] = (uint16_t)v;
	}
	cfg->rx_lcores_count = (uint16_t)count;
	return 0;
}

static int cfg_port_read(struct cfg_parser *p, yaml_node_t *node, size_t index)
{
	struct yaml_reader_key keys[PORT_KEYS] = {
		[PORT_KEY_NAME] = { .name = "name" }, [PORT_KEY_DEVICE] = { .name = "device" },
		[PORT_KEY_RX_QUEUES] = { .name = "rx_queues" },
		[PORT_KEY_RX_DESCRIPTORS] = { .name = "rx_descriptors" },
		[PORT_KEY_RCVBUF_BYTES] = { .name = "rcvbuf_bytes" },
		[PORT_KEY_IGMP] = { .name = "igmp" }, [PORT_KEY_IGMP_SOURCE] = { .name = "igmp_source" },
		[PORT_KEY_FLOW_ISOLATE] = { .name = "flow_isolate" },
	};
	struct cfg_port *port = &p->cfg->ports[index];
	char path[YAML_READER_PATH_MAX];
	char value_path[YAML_READER_PATH_MAX];
	uint32_t v;
	size_t i;
	int ret;

	yaml_reader_path_index(path, sizeof(path), "ports", index);
	ret = yaml_reader_map_read(p->reader, node, path, keys, PORT_KEYS);
	if (ret)
		return ret;
	ret = yaml_reader_string_get(p->reader, node, path, &keys[PORT_KEY_NAME], port->name,
				     CFG_NAME_MAX);
	if (ret)
		return ret;
	for (i = 0; i < index; i++)
		if (!strcmp(p->cfg->ports[i].name, port->name)) {
			yaml_reader_path_key(value_path, sizeof(value_path), path, "name");
			return yaml_reader_fail(p->reader, &keys[PORT_KEY_NAME].value->start_mark,
						value_path, "expected a unique port name, got '%s' again "
						"(ports[%zu], line %zu)",
						port->name, i, p->port_name_lines[i]);
		}
	p->port_name_lines[index] = keys[PORT_KEY_NAME].value->start_mark.line + 1;
	ret = yaml_reader_string_get(p->reader, node, path, &keys[PORT_KEY_DEVICE], port->device,
				     CFG_DEVICE_MAX);
	if (ret)
		return ret;
	/*
	 * A PCI address, a vdev's arguments or an interface name has no space or control
	 * character; the device goes into DPDK's arguments and fhd's log lines, where a
	 * newline would start a line of its own.
	 */
	for (i = 0; port->device[i] != '\0'; i++)
		if ((unsigned char)port->device[i] <= ' ' || (unsigned char)port->device[i] >= 0x7f) {
			yaml_reader_path_key(value_path, sizeof(value_path), path, "device");
			return yaml_reader_fail(p->reader, &keys[PORT_KEY_DEVICE].value->start_mark, value_path,
						"expected printable ASCII without spaces (a PCI address, a vdev "
						"or kernel:IFACE), got another character at position %zu", i + 1);
		}
	ret = yaml_reader_uint_get(p->reader, node, path, &keys[PORT_KEY_RX_QUEUES], false,
				   CFG_RX_QUEUES_DEFAULT, 1, CFG_RX_QUEUES_MAX, &v);
	if (ret)
		return ret;
	port->rx_queues = (uint16_t)v;
	ret = yaml_reader_uint_get(p->reader, node, path, &keys[PORT_KEY_RX_DESCRIPTORS], false,
				   CFG_RX_DESCRIPTORS_DEFAULT, CFG_RX_DESCRIPTORS_MIN,
				   CFG_RX_DESCRIPTORS_MAX, &v);
	if (ret)
		return ret;
	if (v & (v - 1)) {
		yaml_reader_path_key(value_path, sizeof(value_path), path, "rx_descriptors");
		return yaml_reader_fail(p->reader, &keys[PORT_KEY_RX_DESCRIPTORS].value->start_mark,
					value_path, "expected a power of two in %u..%u, got %u",
					CFG_RX_DESCRIPTORS_MIN, CFG_RX_DESCRIPTORS_MAX, v);
	}
	port->rx_descriptors = (uint16_t)v;
	/* A kernel port's socket buffer; the DPDK ports have descriptors instead. */
	ret = yaml_reader_uint_get(p->reader, node, path, &keys[PORT_KEY_RCVBUF_BYTES], false,
				   CFG_RCVBUF_BYTES_DEFAULT, CFG_RCVBUF_BYTES_MIN, CFG_RCVBUF_BYTES_MAX,
				   &port->rcvbuf_bytes);
	if (ret)
		return ret;
	port->igmp = CFG_IGMP_AUTO;
	if (keys[PORT_KEY_IGMP].value) {
		size_t mode;

		ret = yaml_reader_choice_get(p->reader, node, path, &keys[PORT_KEY_IGMP], cfg_igmp_mode_names,
					     CFG_IGMP_MODES_COUNT, &mode);
		if (ret)
			return ret;
		port->igmp = (enum cfg_igmp_mode)mode;
	}
	port->igmp_source_ip = 0;
	if (keys[PORT_KEY_IGMP_SOURCE].value) {
		yaml_reader_path_key(value_path, sizeof(value_path), path, "igmp_source");
		ret = yaml_reader_ipv4_parse(p->reader, keys[PORT_KEY_IGMP_SOURCE].value, value_path,
					     &port->igmp_source_ip);
		if (ret)
			return ret;
		if (cfg_ipv4_is_multicast(port->igmp_source_ip))
			return yaml_reader_type_fail(p->reader, keys[PORT_KEY_IGMP_SOURCE].value, value_path,
						     "a unicast IPv4 address");
	}
	if (!keys[PORT_KEY_FLOW_ISOLATE].value)
		return 0;
	/* rte_flow_isolate: a DPDK port's; the kernel's own stack has no such thing. */
	yaml_reader_path_key(value_path, sizeof(value_path), path, "flow_isolate");
	ret = yaml_reader_bool_parse(p->reader, keys[PORT_KEY_FLOW_ISOLATE].value, value_path,
				     &port->flow_isolate);
	if (ret == 0 && port->flow_isolate && strncmp(port->device, "kernel:", 7) == 0)
		return yaml_reader_fail(p->reader, &keys[PORT_KEY_FLOW_ISOLATE].value->start_mark, value_path,
					"expected flow_isolate on a DPDK port only, got it on device '%s'",
					port->device);
	return ret;
}

static int cfg_ports_read(struct cfg_parser *p, yaml_node_t *node)
{
	size_t i, count;
	int ret;

	ret = yaml_reader_list_read(p->reader, node, "ports", 1, CFG_PORTS_MAX, "ports", &count);
	if (ret)
		return ret;
	for (i = 0; i < count; i++) {
		ret = cfg_port_read(p, yaml_reader_list_item(p->reader, node, i), i);
		if (ret)
			return ret;
		p->cfg->ports_count = (uint16_t)(i + 1);
	}
	return 0;
}

/* A line's group (multicast, required), udp_port (required) and source (unicast, optional). */
static int cfg_line_addresses_read(struct cfg_parser *p, yaml_node_t *node, const char *path,
				   const struct yaml_reader_key *keys, struct cfg_line *line)
{
	yaml_node_t *source = keys[LINE_KEY_SOURCE].value;
	char value_path[YAML_READER_PATH_MAX];
	uint32_t v;
	int ret;

	if (!keys[LINE_KEY_GROUP].value)
		return yaml_reader_missing_fail(p->reader, node, path, &keys[LINE_KEY_GROUP],
						"an IPv4 multicast group");
	yaml_reader_path_key(value_path, sizeof(value_path), path, "group");
	ret = yaml_reader_ipv4_parse(p->reader, keys[LINE_KEY_GROUP].value, value_path,
				     &line->group_ip);
	if (ret)
		return ret;
	if (!cfg_ipv4_is_multicast(line->group_ip))
		return yaml_reader_type_fail(p->reader, keys[LINE_KEY_GROUP].value, value_path,
					     "a multicast IPv4 address (224.0.0.0/4)");
	ret = yaml_reader_uint_get(p->reader, node, path, &keys[LINE_KEY_UDP_PORT], true, 1, 1,
				   UINT16_MAX, &v);
	if (ret)
		return ret;
	line->udp_port = (uint16_t)v;
	if (!source)
		return 0;
	yaml_reader_path_key(value_path, sizeof(value_path), path, "source");
	ret = yaml_reader_ipv4_parse(p->reader, source, value_path, &line->source_ip);
	if (ret)
		return ret;
	if (cfg_ipv4_is_multicast(line->source_ip))
		return yaml_reader_type_fail(p->reader, source, value_path,
					     "a unicast IPv4 source address");
	line->source_present = true;
	return 0;
}

/* A line's port (the name of an entry in ports) and queue (one that port has). */
static int cfg_line_port_read(struct cfg_parser *p, yaml_node_t *node, const char *path,
			      const struct yaml_reader_key *keys, struct cfg_line *line)
{
	const struct cfg *cfg = p->cfg;
	char value_path[YAML_READER_PATH_MAX];
	char port_name[CFG_NAME_MAX];
	uint32_t v;
	size_t i;
	int ret;

	ret = yaml_reader_string_get(p->reader, node, path, &keys[LINE_KEY_PORT], port_name,
				     sizeof(port_name));
	if (ret)
		return ret;
	for (i = 0; i < cfg->ports_count; i++)
		if (!strcmp(cfg->ports[i].name, port_name))
			break;
	if (i == cfg->ports_count) {
		yaml_reader_path_key(value_path, sizeof(value_path), path, "port");
		return yaml_reader_fail(p->reader, &keys[LINE_KEY_PORT].value->start_mark, value_path,
					"expected the name of an entry in ports, got '%s'", port_name);
	}
	line->port_index = (uint16_t)i;
	ret = yaml_reader_uint_get(p->reader, node, path, &keys[LINE_KEY_QUEUE], false, 0, 0,
				   CFG_RX_QUEUES_MAX - 1, &v);
	if (ret)
		return ret;
	if (v >= cfg->ports[i].rx_queues) {
		yaml_reader_path_key(value_path, sizeof(value_path), path, "queue");
		return yaml_reader_fail(p->reader, &keys[LINE_KEY_QUEUE].value->start_mark, value_path,
					"expected a queue below rx_queues of port '%s' (%u), got %u",
					cfg->ports[i].name, cfg->ports[i].rx_queues, v);
	}
	line->queue = (uint16_t)v;
	return 0;
}

/*
 * group:udp_port of line line_id of feed feed_index must not be taken by any line read
 * before: a packet could not tell which line it belongs to. group is its node.
 */
static int cfg_line_unique_check(struct cfg_parser *p, const yaml_node_t *group,
				 const char *path, size_t feed_index, enum cfg_line_id line_id)
{
	const struct cfg *cfg = p->cfg;
	const struct cfg_line *line = &cfg->feeds[feed_index].lines[line_id];
	char value_path[YAML_READER_PATH_MAX];
	char ip[INET_ADDRSTRLEN];
	struct in_addr addr;
	size_t f, l;

	for (f = 0; f <= feed_index; f++)
		for (l = 0; l < CFG_LINES_MAX; l++) {
			const struct cfg_line *other = &cfg->feeds[f].lines[l];

			if (f == feed_index && l == (size_t)line_id)
				continue;
			if (!other->present || other->group_ip != line->group_ip ||
			    other->udp_port != line->udp_port)
				continue;
			addr.s_addr = htonl(line->group_ip);
			inet_ntop(AF_INET, &addr, ip, sizeof(ip));
			yaml_reader_path_key(value_path, sizeof(value_path), path, "group");
			return yaml_reader_fail(p->reader, &group->start_mark, value_path,
						"expected a group:udp_port unique across lines, got %s:%u again (also feeds[%zu].lines.%c)",
						ip, line->udp_port, f, l == CFG_LINE_A ? 'A' : 'B');
		}
	return 0;
}

/*
 * One line of a feed: {group, udp_port, source, port, queue}. The port must exist, the
 * queue must exist on it, and group:udp_port must be unique across lines.
 */
static int cfg_line_read(struct cfg_parser *p, yaml_node_t *node, const char *path,
			 size_t feed_index, enum cfg_line_id line_id)
{
	struct yaml_reader_key keys[LINE_KEYS] = {
		[LINE_KEY_GROUP] = { .name = "group" }, [LINE_KEY_UDP_PORT] = { .name = "udp_port" },
		[LINE_KEY_SOURCE] = { .name = "source" }, [LINE_KEY_PORT] = { .name = "port" },
		[LINE_KEY_QUEUE] = { .name = "queue" },
	};
	struct cfg_line *line = &p->cfg->feeds[feed_index].lines[line_id];
	int ret;

	ret = yaml_reader_map_read(p->reader, node, path, keys, LINE_KEYS);
	if (ret)
		return ret;
	ret = cfg_line_addresses_read(p, node, path, keys, line);
	if (ret)
		return ret;
	ret = cfg_line_port_read(p, node, path, keys, line);
	if (ret)
		return ret;
	ret = cfg_line_unique_check(p, keys[LINE_KEY_GROUP].value, path, feed_index, line_id);
	if (ret)
		return ret;
	line->present = true;
	return 0;
}

static int cfg_lines_read(struct cfg_parser *p, yaml_node_t *node, const char *parent,
			  size_t feed_index)
{
	struct yaml_reader_key keys[] = { { .name = "A" }, { .name = "B" } };
	char path[YAML_READER_PATH_MAX];
	char line_path[YAML_READER_PATH_MAX];
	int ret;

	yaml_reader_path_key(path, sizeof(path), parent, "lines");
	ret = yaml_reader_map_read(p->reader, node, path, keys, 2);
	if (ret)
		return ret;
	if (!keys[0].value)
		return yaml_reader_missing_fail(p->reader, node, path, &keys[0], "a mapping");
	yaml_reader_path_key(line_path, sizeof(line_path), path, "A");
	ret = cfg_line_read(p, keys[0].value, line_path, feed_index, CFG_LINE_A);
	if (ret || !keys[1].value)
		return ret;
	yaml_reader_path_key(line_path, sizeof(line_path), path, "B");
	return cfg_line_read(p, keys[1].value, line_path, feed_index, CFG_LINE_B);
}

static int cfg_reorder_read(struct cfg_parser *p, yaml_node_t *node, const char *parent,
			    struct cfg_feed *feed)
{
	struct yaml_reader_key keys[] = { { .name = "packets" }, { .name = "us" } };
	char path[YAML_READER_PATH_MAX];
	int ret;

	feed->reorder_packets_max = CFG_REORDER_PACKETS_DEFAULT;
	feed->reorder_window_us = CFG_REORDER_US_DEFAULT;
	if (!node)
		return 0;
	yaml_reader_path_key(path, sizeof(path), parent, "reorder_window");
	ret = yaml_reader_map_read(p->reader, node, path, keys, 2);
	if (ret)
		return ret;
	ret = yaml_reader_uint_get(p->reader, node, path, &keys[0], false,
				   CFG_REORDER_PACKETS_DEFAULT, 1, CFG_REORDER_PACKETS_MAX,
				   &feed->reorder_packets_max);
	if (ret)
		return ret;
	return yaml_reader_uint_get(p->reader, node, path, &keys[1], false, CFG_REORDER_US_DEFAULT,
				    0, CFG_REORDER_US_MAX, &feed->reorder_window_us);
}

static int cfg_book_read(struct cfg_parser *p, yaml_node_t *node, const char *parent,
			 struct cfg_book *book)
{
	struct yaml_reader_key keys[] = {
		{ .name = "instruments" }, { .name = "orders" }, { .name = "levels" },
	};
	char path[YAML_READER_PATH_MAX];
	int ret;

	book->instruments_max = CFG_BOOK_INSTRUMENTS_DEFAULT;
	book->orders_max = CFG_BOOK_ORDERS_DEFAULT;
	book->levels_max = CFG_BOOK_LEVELS_DEFAULT;
	if (!node)
		return 0;
	yaml_reader_path_key(path, sizeof(path), parent, "book");
	ret = yaml_reader_map_read(p->reader, node, path, keys, 3);
	if (ret)
		return ret;
	ret = yaml_reader_uint_get(p->reader, node, path, &keys[0], false,
				   CFG_BOOK_INSTRUMENTS_DEFAULT, 1, CFG_BOOK_INSTRUMENTS_MAX,
				   &book->instruments_max);
	if (ret)
		return ret;
	ret = yaml_reader_uint_get(p->reader, node, path, &keys[1], false, CFG_BOOK_ORDERS_DEFAULT,
				   1, CFG_BOOK_ORDERS_MAX, &book->orders_max);
	if (ret)
		return ret;
	return yaml_reader_uint_get(p->reader, node, path, &keys[2], false, CFG_BOOK_LEVELS_DEFAULT,
				    1, CFG_BOOK_LEVELS_MAX, &book->levels_max);
}

/* One entry of a feed's publish.views: orders or levels, each at most once. */
static int cfg_view_read(struct cfg_parser *p, yaml_node_t *node, const char *path,
			 uint8_t *views)
{
	static const char *const names[] = { "orders", "levels" };
	static const uint8_t bits[] = { CFG_VIEW_ORDERS, CFG_VIEW_LEVELS };
	char name[16];
	int ret;

	if (node->type != YAML_SCALAR_NODE || node->data.scalar.length >= sizeof(name))
		return yaml_reader_type_fail(p->reader, node, path, "'orders' or 'levels'");
	ret = yaml_reader_string_parse(p->reader, node, path, name, sizeof(name));
	if (ret)
		return ret;
	for (size_t i = 0; i < 2; i++) {
		if (strcmp(name, names[i]) != 0)
			continue;
		if (*views & bits[i])
			return yaml_reader_fail(p->reader, &node->start_mark, path,
						"expected each view once, got '%s' again", name);
		*views |= bits[i];
		return 0;
	}
	return yaml_reader_type_fail(p->reader, node, path, "'orders' or 'levels'");
}

/* A feed's optional publish section: {views: [orders, levels]} (default both). */
static int cfg_feed_publish_read(struct cfg_parser *p, yaml_node_t *node, const char *parent,
				 struct cfg_feed *feed)
{
	struct yaml_reader_key keys[] = { { .name = "views" } };
	char path[YAML_READER_PATH_MAX], views_path[YAML_READER_PATH_MAX];
	char item_path[YAML_READER_PATH_MAX];
	yaml_node_t *list;
	uint8_t views = 0;
	size_t count;
	int ret;

	feed->publish_views = CFG_VIEWS_ALL;
	if (!node)
		return 0;
	yaml_reader_path_key(path, sizeof(path), parent, "publish");
	ret = yaml_reader_map_read(p->reader, node, path, keys, 1);
	if (ret || !keys[0].value)
		return ret;
	list = keys[0].value;
	yaml_reader_path_key(views_path, sizeof(views_path), path, "views");
	ret = yaml_reader_list_read(p->reader, list, views_path, 1, 2, "views", &count);
	for (size_t i = 0; ret == 0 && i < count; i++) {
		yaml_reader_path_index(item_path, sizeof(item_path), views_path, i);
		ret = cfg_view_read(p, yaml_reader_list_item(p->reader, list, i), item_path, &views);
	}
	if (ret == 0)
		feed->publish_views = views;
	return ret;
}

/*
 * A section's required server: "A.B.C.D:PORT" of one host. 0.0.0.0 (which Linux sends
 * to loopback, from where no reply matches it), broadcast and multicast are refused.
 */
static int cfg_server_read(struct cfg_parser *p, yaml_node_t *node, const char *path,
			   const struct yaml_reader_key *key, uint32_t *ip, uint16_t *port)
{
	char value_path[YAML_READER_PATH_MAX];
	int ret;

	if (!key->value)
		return yaml_reader_missing_fail(p->reader, node, path, key, "\"A.B.C.D:PORT\"");
	yaml_reader_path_key(value_path, sizeof(value_path), path, key->name);
	ret = yaml_reader_ipv4_port_parse(p->reader, key->value, value_path, ip, port);
	if (ret == 0 && (*ip == 0 || *ip == 0xFFFFFFFFu || (*ip >> 28) == 0xE))
		return yaml_reader_type_fail(p->reader, key->value, value_path,
					     "\"A.B.C.D:PORT\" of one server (not 0.0.0.0, broadcast or multicast)");
	return ret;
}

/*
 * A SoupBinTCP login field: the username alphanumeric, the password printable ASCII
 * without spaces (spaces pad the field; anything else would go to the server as is).
 * The error never shows the value: it may be a password.
 */
static int cfg_soup_field_read(struct cfg_parser *p, yaml_node_t *node, const char *path,
			       const struct yaml_reader_key *key, char *out, size_t size, bool alnum)
{
	char value_path[YAML_READER_PATH_MAX];
	int ret = yaml_reader_string_get(p->reader, node, path, key, out, size);

	for (size_t i = 0; ret == 0 && out[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)out[i];

		if (alnum ? isalnum(ch) : (ch > ' ' && ch < 0x7f))
			continue;
		yaml_reader_path_key(value_path, sizeof(value_path), path, key->name);
		memset(out, 0, size);
		return yaml_reader_fail(p->reader, &key->value->start_mark, value_path,
					"expected %s, got another character at position %zu",
					alnum ? "letters and digits" : "printable ASCII without spaces", i + 1);
	}
	return ret;
}

enum {
	RECOVERY_KEY_SERVER, RECOVERY_KEY_TIMEOUT, RECOVERY_KEY_RETRIES, RECOVERY_KEY_BACKOFF,
	RECOVERY_KEY_TIMEOUT_MAX, RECOVERY_KEY_IN_FLIGHT, RECOVERY_KEY_MESSAGES, RECOVERY_KEY_HOLD,
	RECOVERY_KEYS
};

/* A feed's optional recovery section (struct cfg_recovery). Read after reorder_window. */
static int cfg_recovery_read(struct cfg_parser *p, yaml_node_t *node, const char *parent,
			     struct cfg_feed *feed)
{
	struct yaml_reader_key keys[RECOVERY_KEYS] = {
		[RECOVERY_KEY_SERVER] = { .name = "server" }, [RECOVERY_KEY_TIMEOUT] = { .name = "timeout_ms" },
		[RECOVERY_KEY_RETRIES] = { .name = "retries" }, [RECOVERY_KEY_BACKOFF] = { .name = "backoff" },
		[RECOVERY_KEY_TIMEOUT_MAX] = { .name = "timeout_max_ms" },
		[RECOVERY_KEY_IN_FLIGHT] = { .name = "in_flight" },
		[RECOVERY_KEY_MESSAGES] = { .name = "request_messages" }, [RECOVERY_KEY_HOLD] = { .name = "hold" },
	};
	const struct { int key; uint32_t def, min, max; uint32_t *out; } ranges[] = {
		{ RECOVERY_KEY_TIMEOUT, 1000, 1, 60000, &feed->recovery.timeout_ms },
		{ RECOVERY_KEY_RETRIES, 5, 0, 100, &feed->recovery.retries },
		{ RECOVERY_KEY_BACKOFF, 2, 1, 8, &feed->recovery.backoff },
		{ RECOVERY_KEY_TIMEOUT_MAX, 8000, 1, 600000, &feed->recovery.timeout_max_ms },
		{ RECOVERY_KEY_IN_FLIGHT, 8, 1, 64, &feed->recovery.in_flight },
		{ RECOVERY_KEY_MESSAGES, 200, 1, 65534, &feed->recovery.request_messages },
		{ RECOVERY_KEY_HOLD, CFG_HOLD_DEFAULT, feed->reorder_packets_max, CFG_HOLD_MAX, &feed->recovery.hold },
	};
	char path[YAML_READER_PATH_MAX];
	int ret;

	if (!node)
		return 0;
	yaml_reader_path_key(path, sizeof(path), parent, "recovery");
	ret = yaml_reader_map_read(p->reader, node, path, keys, RECOVERY_KEYS);
	if (ret)
		return ret;
	ret = cfg_server_read(p, node, path, &keys[RECOVERY_KEY_SERVER], &feed->recovery.server_ip,
			      &feed->recovery.server_port);
	for (size_t i = 0; ret == 0 && i < sizeof(ranges) / sizeof(ranges[0]); i++)
		ret = yaml_reader_uint_get(p->reader, node, path, &keys[ranges[i].key], false, ranges[i].def,
					   ranges[i].min, ranges[i].max, ranges[i].out);
	feed->recovery.enabled = ret == 0;
	return ret;
}

enum {
	SNAPSHOT_KEY_SERVER, SNAPSHOT_KEY_USERNAME, SNAPSHOT_KEY_PASSWORD, SNAPSHOT_KEY_TIMEOUT,
	SNAPSHOT_KEY_RETRIES, SNAPSHOT_KEY_MAX, SNAPSHOT_KEY_HOLD, SNAPSHOT_KEY_CONFIRM,
	SNAPSHOT_KEY_RESYNC_BACKOFF, SNAPSHOT_KEY_RESYNCS, SNAPSHOT_KEYS
};

/*
 * A feed's optional snapshot section (struct cfg_snapshot, which gives each key's
 * range and default). Read after reorder_window: the hold is at least the window.
 */
static int cfg_snapshot_read(struct cfg_parser *p, yaml_node_t *node, const char *parent,
			     struct cfg_feed *feed)
{
	struct yaml_reader_key keys[SNAPSHOT_KEYS] = {
		[SNAPSHOT_KEY_SERVER] = { .name = "server" }, [SNAPSHOT_KEY_USERNAME] = { .name = "username" },
		[SNAPSHOT_KEY_PASSWORD] = { .name = "password" }, [SNAPSHOT_KEY_TIMEOUT] = { .name = "timeout_ms" },
		[SNAPSHOT_KEY_RETRIES] = { .name = "retries" }, [SNAPSHOT_KEY_MAX] = { .name = "max_ms" },
		[SNAPSHOT_KEY_HOLD] = { .name = "hold" }, [SNAPSHOT_KEY_CONFIRM] = { .name = "confirm_ms" },
		[SNAPSHOT_KEY_RESYNC_BACKOFF] = { .name = "resync_backoff_ms" },
		[SNAPSHOT_KEY_RESYNCS] = { .name = "resyncs" },
	};
	struct cfg_snapshot *snap = &feed->snapshot;
	const struct { int key; uint32_t def, min, max; uint32_t *out; } ranges[] = {
		{ SNAPSHOT_KEY_TIMEOUT, 15000, 100, 600000, &snap->timeout_ms },
		{ SNAPSHOT_KEY_RETRIES, 3, 0, 100, &snap->retries },
		{ SNAPSHOT_KEY_MAX, 600000, 1000, 86400000, &snap->max_ms },
		{ SNAPSHOT_KEY_HOLD, CFG_HOLD_DEFAULT, feed->reorder_packets_max, CFG_HOLD_MAX, &snap->hold },
		{ SNAPSHOT_KEY_CONFIRM, 2000, 1, 600000, &snap->confirm_ms },
		{ SNAPSHOT_KEY_RESYNC_BACKOFF, 1000, 0, 600000, &snap->resync_backoff_ms },
		{ SNAPSHOT_KEY_RESYNCS, 5, 0, 1000, &snap->resyncs_max },
	};
	char path[YAML_READER_PATH_MAX];
	int ret;

	if (!node)
		return 0;
	yaml_reader_path_key(path, sizeof(path), parent, "snapshot");
	ret = yaml_reader_map_read(p->reader, node, path, keys, SNAPSHOT_KEYS);
	if (ret)
		return ret;
	ret = cfg_server_read(p, node, path, &keys[SNAPSHOT_KEY_SERVER], &snap->server_ip, &snap->server_port);
	if (ret == 0)
		ret = cfg_soup_field_read(p, node, path, &keys[SNAPSHOT_KEY_USERNAME], snap->username,
					  sizeof(snap->username), true);
	if (ret == 0)
		ret = cfg_soup_field_read(p, node, path, &keys[SNAPSHOT_KEY_PASSWORD], snap->password,
					  sizeof(snap->password), false);
	for (size_t i = 0; ret == 0 && i < sizeof(ranges) / sizeof(ranges[0]); i++)
		ret = yaml_reader_uint_get(p->reader, node, path, &keys[ranges[i].key], false, ranges[i].def,
					   ranges[i].min, ranges[i].max, ranges[i].out);
	snap->enabled = ret == 0;
	return ret;
}

/* Feed index's name: required, safe as a file name, unlike any feed's before it. */
static int cfg_feed_name_read(struct cfg_parser *p, yaml_node_t *node, const char *path,
			      const struct yaml_reader_key *key, size_t index)
{
	struct cfg_feed *feed = &p->cfg->feeds[index];
	char value_path[YAML_READER_PATH_MAX];
	const char *why;
	size_t i;
	int ret;

	ret = yaml_reader_string_get(p->reader, node, path, key, feed->name, CFG_NAME_MAX);
	if (ret)
		return ret;
	yaml_reader_path_key(value_path, sizeof(value_path), path, "name");
	if (cfg_name_check(feed->name, CFG_NAME_MAX, &why) != 0)
		return cfg_name_fail(p, key->value, value_path, "file names", why);
	for (i = 0; i < index; i++)
		if (!strcmp(p->cfg->feeds[i].name, feed->name))
			return yaml_reader_fail(p->reader, &key->value->start_mark, value_path,
						"expected a unique feed name, got '%s' again (feeds[%zu], line %zu)",
						feed->name, i, p->feed_name_lines[i]);
	p->feed_name_lines[index] = key->value->start_mark.line + 1;
	return 0;
}

/* A feed's lcore: required, one of lcores.rx. */
static int cfg_feed_lcore_read(struct cfg_parser *p, yaml_node_t *node, const char *path,
			       const struct yaml_reader_key *key, struct cfg_feed *feed)
{
	const struct cfg *cfg = p->cfg;
	char value_path[YAML_READER_PATH_MAX];
	uint32_t v;
	size_t i;
	int ret;

	ret = yaml_reader_uint_get(p->reader, node, path, key, true, 0, 0, CFG_LCORE_ID_MAX, &v);
	if (ret)
		return ret;
	for (i = 0; i < cfg->rx_lcores_count; i++)
		if (cfg->rx_lcores[i] == v)
			break;
	if (i == cfg->rx_lcores_count) {
		yaml_reader_path_key(value_path, sizeof(value_path), path, "lcore");
		return yaml_reader_fail(p->reader, &key->value->start_mark, value_path,
					"expected an lcore listed in lcores.rx, got %u", v);
	}
	feed->lcore = (uint16_t)v;
	return 0;
}

static int cfg_feed_read(struct cfg_parser *p, yaml_node_t *node, size_t index)
{
	struct yaml_reader_key keys[FEED_KEYS] = {
		[FEED_KEY_NAME] = { .name = "name" }, [FEED_KEY_PROTOCOL] = { .name = "protocol" },
		[FEED_KEY_LCORE] = { .name = "lcore" },
		[FEED_KEY_REORDER_WINDOW] = { .name = "reorder_window" },
		[FEED_KEY_LINES] = { .name = "lines" }, [FEED_KEY_BOOK] = { .name = "book" },
		[FEED_KEY_UTC_OFFSET] = { .name = "exchange_utc_offset_min" },
		[FEED_KEY_PUBLISH] = { .name = "publish" },
		[FEED_KEY_RECOVERY] = { .name = "recovery" }, [FEED_KEY_SNAPSHOT] = { .name = "snapshot" },
	};
	struct cfg_feed *feed = &p->cfg->feeds[index];
	char path[YAML_READER_PATH_MAX];
	char value_path[YAML_READER_PATH_MAX];
	size_t protocol;
	int ret;

	yaml_reader_path_index(path, sizeof(path), "feeds", index);
	ret = yaml_reader_map_read(p->reader, node, path, keys, FEED_KEYS);
	if (ret)
		return ret;
	if (keys[FEED_KEY_UTC_OFFSET].value) {
		yaml_reader_path_key(value_path, sizeof(value_path), path, "exchange_utc_offset_min");
		ret = yaml_reader_int_parse(p->reader, keys[FEED_KEY_UTC_OFFSET].value, value_path,
					    CFG_UTC_OFFSET_MINUTES_MIN, CFG_UTC_OFFSET_MINUTES_MAX,
					    &feed->exchange_utc_offset_min);
		if (ret)
			return ret;
	}
	ret = cfg_feed_name_read(p, node, path, &keys[FEED_KEY_NAME], index);
	if (ret)
		return ret;
	/* every protocol but none */
	ret = yaml_reader_choice_get(p->reader, node, path, &keys[FEED_KEY_PROTOCOL],
				     cfg_protocol_names + 1, CFG_PROTOCOLS_COUNT - 1, &protocol);
	if (ret)
		return ret;
	feed->protocol = (enum cfg_protocol)(protocol + 1);
	ret = cfg_feed_lcore_read(p, node, path, &keys[FEED_KEY_LCORE], feed);
	if (ret)
		return ret;
	ret = cfg_reorder_read(p, keys[FEED_KEY_REORDER_WINDOW].value, path, feed);
	if (ret)
		return ret;
	if (!keys[FEED_KEY_LINES].value)
		return yaml_reader_missing_fail(p->reader, node, path, &keys[FEED_KEY_LINES],
						"a mapping with lines A and B");
	ret = cfg_lines_read(p, keys[FEED_KEY_LINES].value, path, index);
	if (ret)
		return ret;
	ret = cfg_book_read(p, keys[FEED_KEY_BOOK].value, path, &feed->book);
	if (ret)
		return ret;
	ret = cfg_feed_publish_read(p, keys[FEED_KEY_PUBLISH].value, path, feed);
	if (ret)
		return ret;
	ret = cfg_recovery_read(p, keys[FEED_KEY_RECOVERY].value, path, feed);
	if (ret)
		return ret;
	return cfg_snapshot_read(p, keys[FEED_KEY_SNAPSHOT].value, path, feed);
}

static int cfg_feeds_read(struct cfg_parser *p, yaml_node_t *node)
{
	size_t i, count;
	int ret;

	ret = yaml_reader_list_read(p->reader, node, "feeds", 1, CFG_FEEDS_MAX, "feeds", &count);
	if (ret)
		return ret;
	for (i = 0; i < count; i++) {
		ret = cfg_feed_read(p, yaml_reader_list_item(p->reader, node, i), i);
		if (ret)
			return ret;
		p->cfg->feeds_count = (uint16_t)(i + 1);
	}
	return 0;
}

/*
 * publish.mode: an octal string ("0640") the owner can read and no one else can write:
 * anyone who can write a segment can forge what strategies trade on.
 */
static int cfg_publish_mode_read(struct cfg_parser *p, yaml_node_t *node, uint32_t *out)
{
	char mode[8], *end;
	uint32_t v;
	int ret;

	ret = yaml_reader_string_parse(p->reader, node, "publish.mode", mode, sizeof(mode));
	if (ret)
		return ret;
	v = (uint32_t)strtoul(mode, &end, 8);
	if (*end != '\0' || mode[0] != '0' || v > 0777 || (v & 0400) == 0)
		return yaml_reader_fail(p->reader, &node->start_mark, "publish.mode",
					"expected an octal mode like \"0640\" readable by the owner, got \"%s\"",
					mode);
	if ((v & 022) != 0)
		return yaml_reader_fail(p->reader, &node->start_mark, "publish.mode",
					"expected a mode writable by the owner alone (like \"0640\"), "
					"got \"%s\" (%s-writable)", mode, (v & 002) ? "world" : "group");
	*out = v;
	return 0;
}

/* The optional publish section: the shared-memory rings strategies read. */
static int cfg_publish_read(struct cfg_parser *p, yaml_node_t *node)
{
	struct yaml_reader_key keys[PUBLISH_KEYS] = {
		[PUBLISH_KEY_RING] = { .name = "ring" }, [PUBLISH_KEY_CAPACITY] = { .name = "capacity" },
		[PUBLISH_KEY_MODE] = { .name = "mode" }, [PUBLISH_KEY_GROUP] = { .name = "group" },
		[PUBLISH_KEY_DEPTH] = { .name = "depth" },
	};
	struct cfg_publish *pub = &p->cfg->publish;
	const char *why;
	int ret;

	ret = yaml_reader_map_read(p->reader, node, "publish", keys, PUBLISH_KEYS);
	if (ret)
		return ret;
	pub->enabled = true;
	ret = yaml_reader_string_get(p->reader, node, "publish", &keys[PUBLISH_KEY_RING], pub->ring,
				     sizeof(pub->ring));
	if (ret)
		return ret;
	if (cfg_name_check(pub->ring, sizeof(pub->ring), &why) != 0)
		return cfg_name_fail(p, keys[PUBLISH_KEY_RING].value, "publish.ring",
				     "/dev/shm segments", why);
	ret = yaml_reader_uint_get(p->reader, node, "publish", &keys[PUBLISH_KEY_CAPACITY], false,
				   CFG_PUBLISH_CAPACITY_DEFAULT, CFG_PUBLISH_CAPACITY_MIN,
				   CFG_PUBLISH_CAPACITY_MAX, &pub->capacity);
	if (ret)
		return ret;
	if (pub->capacity & (pub->capacity - 1))
		return yaml_reader_fail(p->reader, &keys[PUBLISH_KEY_CAPACITY].value->start_mark,
					"publish.capacity", "expected a power of two, got %u",
					pub->capacity);
	pub->mode = CFG_PUBLISH_MODE_DEFAULT;
	if (keys[PUBLISH_KEY_MODE].value) {
		ret = cfg_publish_mode_read(p, keys[PUBLISH_KEY_MODE].value, &pub->mode);
		if (ret)
			return ret;
	}
	if (keys[PUBLISH_KEY_GROUP].value) {
		ret = yaml_reader_string_parse(p->reader, keys[PUBLISH_KEY_GROUP].value, "publish.group",
					       pub->group, sizeof(pub->group));
		if (ret)
			return ret;
	}
	return yaml_reader_uint_get(p->reader, node, "publish", &keys[PUBLISH_KEY_DEPTH], false,
				    CFG_PUBLISH_DEPTH_DEFAULT, 1, CFG_PUBLISH_DEPTH_MAX, &pub->depth);
}

void cfg_journal_defaults(const struct cfg *cfg, struct cfg_journal *journal)
{
	uint16_t highest = cfg->main_lcore;

	for (uint16_t i = 0; i < cfg->rx_lcores_count; i++)
		if (cfg->rx_lcores[i] > highest)
			highest = cfg->rx_lcores[i];
	memset(journal, 0, sizeof(*journal));
	journal->lcore = (uint16_t)(highest + 1);
	journal->cpu = cfg->main_lcore;
	journal->ring = CFG_JOURNAL_RING_DEFAULT;
	journal->buffer_kb = CFG_JOURNAL_BUFFER_KB_DEFAULT;
	journal->buffers = CFG_JOURNAL_BUFFERS_DEFAULT;
	journal->rotate_mb = CFG_JOURNAL_ROTATE_MB_DEFAULT;
	journal->rotate_s = CFG_JOURNAL_ROTATE_S_DEFAULT;
}

int cfg_name_check(const char *name, size_t max, const char **why)
{
	size_t len = strnlen(name, max);

	if (len == 0) {
		*why = "an empty name";
		return -EINVAL;
	}
	if (len >= max) {
		*why = "a name too long";
		return -EINVAL;
	}
	if (name[0] == '.') {
		*why = "a name starting with '.'";
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '.' || c == '-')
			continue;
		*why = c == '/' ? "a name with '/'" : c < 0x20 || c == 0x7f ? "a name with a control character" :
		       c == '"' || c == '\'' || c == '`' ? "a name with a quote" :
		       c >= 0x80 ? "a name with a non-ASCII byte" : "a name with a character other than [A-Za-z0-9_.-]";
		return -EINVAL;
	}
	return 0;
}

int cfg_dir_check(const char *dir, const char **why)
{
	struct stat st;

	if (stat(dir, &st) != 0) {
		*why = strerror(errno);
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		*why = "not a directory";
		return -ENOTDIR;
	}
	if (access(dir, W_OK | X_OK) != 0) {
		*why = strerror(errno);
		return -errno;
	}
	return 0;
}

/*
 * journal.lcore (default: one past the highest lcore used) must be a free one: not
 * lcores.main, not in lcores.rx; then journal.cpu (default: lcores.main's).
 */
static int cfg_journal_lcore_read(struct cfg_parser *p, yaml_node_t *node,
				  const struct yaml_reader_key *keys, struct cfg_journal *j)
{
	const struct cfg *cfg = p->cfg;
	const yaml_node_t *at = keys[JOURNAL_KEY_LCORE].value ? keys[JOURNAL_KEY_LCORE].value : node;
	uint32_t v;
	int ret;

	ret = yaml_reader_uint_get(p->reader, node, "journal", &keys[JOURNAL_KEY_LCORE], false,
				   j->lcore, 0, CFG_LCORE_ID_MAX, &v);
	if (ret)
		return ret;
	j->lcore = (uint16_t)v;
	if (j->lcore == cfg->main_lcore)
		return yaml_reader_fail(p->reader, &at->start_mark, "journal.lcore",
					"expected an lcore other than lcores.main, got %u", v);
	for (uint16_t i = 0; i < cfg->rx_lcores_count; i++)
		if (cfg->rx_lcores[i] == j->lcore)
			return yaml_reader_fail(p->reader, &at->start_mark, "journal.lcore",
						"expected an lcore not in lcores.rx, got %u", v);
	ret = yaml_reader_uint_get(p->reader, node, "journal", &keys[JOURNAL_KEY_CPU], false,
				   j->cpu, 0, CFG_LCORE_ID_MAX, &v);
	if (ret)
		return ret;
	j->cpu = (uint16_t)v;
	return 0;
}

/* journal.ring (a power of two), buffer_kb (whole pages), buffers and o_direct. */
static int cfg_journal_buffers_read(struct cfg_parser *p, yaml_node_t *node,
				    const struct yaml_reader_key *keys, struct cfg_journal *j)
{
	int ret;

	ret = yaml_reader_uint_get(p->reader, node, "journal", &keys[JOURNAL_KEY_RING], false,
				   CFG_JOURNAL_RING_DEFAULT, CFG_JOURNAL_RING_MIN,
				   CFG_JOURNAL_RING_MAX, &j->ring);
	if (ret)
		return ret;
	if (j->ring & (j->ring - 1))
		return yaml_reader_fail(p->reader, &keys[JOURNAL_KEY_RING].value->start_mark,
					"journal.ring", "expected a power of two, got %u", j->ring);
	ret = yaml_reader_uint_get(p->reader, node, "journal", &keys[JOURNAL_KEY_BUFFER_KB], false,
				   CFG_JOURNAL_BUFFER_KB_DEFAULT, CFG_JOURNAL_BUFFER_KB_MIN,
				   CFG_JOURNAL_BUFFER_KB_MAX, &j->buffer_kb);
	if (ret)
		return ret;
	if (j->buffer_kb % 4 != 0)
		return yaml_reader_fail(p->reader, &keys[JOURNAL_KEY_BUFFER_KB].value->start_mark,
					"journal.buffer_kb",
					"expected a multiple of 4 (whole pages for O_DIRECT), got %u",
					j->buffer_kb);
	ret = yaml_reader_uint_get(p->reader, node, "journal", &keys[JOURNAL_KEY_BUFFERS], false,
				   CFG_JOURNAL_BUFFERS_DEFAULT, CFG_JOURNAL_BUFFERS_MIN,
				   CFG_JOURNAL_BUFFERS_MAX, &j->buffers);
	if (ret || !keys[JOURNAL_KEY_O_DIRECT].value)
		return ret;
	return yaml_reader_bool_parse(p->reader, keys[JOURNAL_KEY_O_DIRECT].value,
				      "journal.o_direct", &j->o_direct);
}

/* journal.fsync_mb or fsync_ms (one policy at most), then rotate_mb and rotate_s. */
static int cfg_journal_files_read(struct cfg_parser *p, yaml_node_t *node,
				  const struct yaml_reader_key *keys, struct cfg_journal *j)
{
	int ret;

	ret = yaml_reader_uint_get(p->reader, node, "journal", &keys[JOURNAL_KEY_FSYNC_MB], false,
				   0, 0, CFG_JOURNAL_FSYNC_MB_MAX, &j->fsync_mb);
	if (ret)
		return ret;
	ret = yaml_reader_uint_get(p->reader, node, "journal", &keys[JOURNAL_KEY_FSYNC_MS], false,
				   0, 0, CFG_JOURNAL_FSYNC_MS_MAX, &j->fsync_ms);
	if (ret)
		return ret;
	if (j->fsync_mb != 0 && j->fsync_ms != 0)
		return yaml_reader_fail(p->reader, &keys[JOURNAL_KEY_FSYNC_MS].key->start_mark,
					"journal.fsync_ms",
					"expected one fsync policy, got fsync_mb as well (line %zu)",
					keys[JOURNAL_KEY_FSYNC_MB].key->start_mark.line + 1);
	ret = yaml_reader_uint_get(p->reader, node, "journal", &keys[JOURNAL_KEY_ROTATE_MB], false,
				   CFG_JOURNAL_ROTATE_MB_DEFAULT, 1, CFG_JOURNAL_ROTATE_MB_MAX,
				   &j->rotate_mb);
	if (ret)
		return ret;
	return yaml_reader_uint_get(p->reader, node, "journal", &keys[JOURNAL_KEY_ROTATE_S], false,
				    CFG_JOURNAL_ROTATE_S_DEFAULT, 0, CFG_JOURNAL_ROTATE_S_MAX,
				    &j->rotate_s);
}

/*
 * The optional journal section. Read after lcores, ports and feeds: its lcore must be
 * a free one. The mbufs its rings may hold are counted with the rest (cfg_mbufs_size).
 */
static int cfg_journal_read(struct cfg_parser *p, yaml_node_t *node)
{
	struct yaml_reader_key keys[JOURNAL_KEYS] = {
		[JOURNAL_KEY_DIR] = { .name = "dir" }, [JOURNAL_KEY_LCORE] = { .name = "lcore" },
		[JOURNAL_KEY_CPU] = { .name = "cpu" }, [JOURNAL_KEY_RING] = { .name = "ring" },
		[JOURNAL_KEY_BUFFER_KB] = { .name = "buffer_kb" },
		[JOURNAL_KEY_BUFFERS] = { .name = "buffers" },
		[JOURNAL_KEY_O_DIRECT] = { .name = "o_direct" },
		[JOURNAL_KEY_FSYNC_MB] = { .name = "fsync_mb" },
		[JOURNAL_KEY_FSYNC_MS] = { .name = "fsync_ms" },
		[JOURNAL_KEY_ROTATE_MB] = { .name = "rotate_mb" },
		[JOURNAL_KEY_ROTATE_S] = { .name = "rotate_s" },
	};
	struct cfg_journal *j = &p->cfg->journal;
	const char *why;
	int ret;

	ret = yaml_reader_map_read(p->reader, node, "journal", keys, JOURNAL_KEYS);
	if (ret)
		return ret;
	cfg_journal_defaults(p->cfg, j);
	j->enabled = true;
	ret = yaml_reader_string_get(p->reader, node, "journal", &keys[JOURNAL_KEY_DIR], j->dir,
				     sizeof(j->dir));
	if (ret)
		return ret;
	if (cfg_dir_check(j->dir, &why) != 0)
		return yaml_reader_fail(p->reader, &keys[JOURNAL_KEY_DIR].value->start_mark,
					"journal.dir", "expected a writable directory, got \"%s\" (%s)",
					j->dir, why);
	ret = cfg_journal_lcore_read(p, node, keys, j);
	if (ret)
		return ret;
	ret = cfg_journal_buffers_read(p, node, keys, j);
	if (ret)
		return ret;
	return cfg_journal_files_read(p, node, keys, j);
}

uint64_t cfg_rx_descriptors(const struct cfg *cfg)
{
	uint64_t descriptors = 0;

	for (uint16_t i = 0; i < cfg->ports_count; i++)
		descriptors += (uint64_t)cfg->ports[i].rx_queues * cfg->ports[i].rx_descriptors;
	return descriptors;
}

uint32_t cfg_feed_hold(const struct cfg_feed *feed, const char **key)
{
	/* The arbiter's one hold serves the window, a recovery and a snapshot in turn. */
	uint32_t hold = feed->reorder_packets_max;

	*key = "reorder_window.packets";
	if (feed->recovery.enabled && feed->recovery.hold > hold) {
		hold = feed->recovery.hold;
		*key = "recovery.hold";
	}
	if (feed->snapshot.enabled && feed->snapshot.hold > hold) {
		hold = feed->snapshot.hold;
		*key = "snapshot.hold";
	}
	return hold;
}

void cfg_mbufs_need(const struct cfg *cfg, uint64_t rx_descriptors, struct cfg_mbufs_need *need)
{
	/* main, the RX lcores and the journal's: the lcores whose mempool cache may fill */
	uint32_t caching = 1u + cfg->rx_lcores_count + (cfg->journal.enabled ? 1u : 0u);

	memset(need, 0, sizeof(*need));
	for (uint16_t f = 0; f < cfg->feeds_count; f++) {
		const char *key;
		uint32_t hold = cfg_feed_hold(&cfg->feeds[f], &key);

		need->holds += hold;
		if (hold > need->hold) {
			need->hold = hold;
			need->hold_feed = f;
			need->hold_key = key;
		}
	}
	need->rx_descriptors = rx_descriptors;
	/*
	 * Each RX lcore's ring, and the batch the journal lcore holds while it writes.
	 * The recovery replies journaled take an mbuf each from the pool too, but the RX
	 * lcore gets one only to put it on its ring at once (or free it, the ring full):
	 * between its replies it holds none, and none outside its ring or the journal's
	 * batch. So they share the ring's count with the line frames; the one in hand,
	 * taken between bursts, fits the RX burst's count, which no burst holds then.
	 */
	need->journal = cfg->journal.enabled ?
		(uint64_t)cfg->journal.ring * cfg->rx_lcores_count + CFG_JOURNAL_BATCH_MAX : 0;
	need->caches = (uint64_t)CFG_MBUF_CACHE_HELD * caching;
	need->bursts = (uint64_t)CFG_RX_BURST_MAX * cfg->rx_lcores_count;
	need->total = need->holds + need->rx_descriptors + need->journal + need->caches + need->bursts;
	assert(cfg->feeds_count == 0 || need->hold_key != NULL);
}

/* What to lower when the pool is too small: the largest part one key sets. */
static void cfg_mbufs_lower_what(const struct cfg_mbufs_need *need, const char *rx_what, char *out,
				 size_t size)
{
	if (need->journal > need->holds && need->journal > need->rx_descriptors)
		snprintf(out, size, "journal.ring");
	else if (need->rx_descriptors > need->holds)
		snprintf(out, size, "%s", rx_what ? "the --replay captures" : "ports[].rx_queues or rx_descriptors");
	else
		snprintf(out, size, "feeds[%u].%s", need->hold_feed, need->hold_key);
}

int cfg_mbufs_size(struct cfg *cfg, uint64_t rx_descriptors, const char *rx_what, char *err,
		   size_t err_size)
{
	struct cfg_mbufs_need need;
	char lower[64];
	uint64_t size = 1;

	cfg_mbufs_need(cfg, rx_descriptors, &need);
	cfg_mbufs_lower_what(&need, rx_what, lower, sizeof(lower));
	if (cfg->mbufs_line != 0 && need.total <= cfg->mbufs)
		return 0;
	if (cfg->mbufs_line != 0) {
		cfg_error_set(err, err_size, "%s:%u:%u: mbufs: expected at least %" PRIu64 ", what can hold "
			      "mbufs at once (feed holds %" PRIu64 ", the largest feeds[%u].%s %u; RX descriptors "
			      "%" PRIu64 "%s%s; journal rings %" PRIu64 "; lcore caches %" PRIu64 "; RX bursts %"
			      PRIu64 "), got %u: raise mbufs to %" PRIu64 " or more (or leave it out: fhd sizes "
			      "the pool), or lower %s", cfg->source, cfg->mbufs_line, cfg->mbufs_column,
			      need.total, need.holds, need.hold_feed, need.hold_key, need.hold,
			      need.rx_descriptors, rx_what ? " of " : "", rx_what ? rx_what : "", need.journal,
			      need.caches, need.bursts, cfg->mbufs, need.total, lower);
		return -EINVAL;
	}
	while (size < need.total + 1)
		size <<= 1;
	if (size - 1 > CFG_MBUFS_MAX) {
		cfg_error_set(err, err_size, "%s:1:1: mbufs: expected what can hold mbufs at once to fit "
			      "the largest pool, %u, got %" PRIu64 " (feed holds %" PRIu64 ", RX descriptors %"
			      PRIu64 ", journal rings %" PRIu64 "): lower %s", cfg->source, CFG_MBUFS_MAX,
			      need.total, need.holds, need.rx_descriptors, need.journal, lower);
		return -EINVAL;
	}
	cfg->mbufs = size - 1 > CFG_MBUFS_DEFAULT_MIN ? (uint32_t)(size - 1) : CFG_MBUFS_DEFAULT_MIN;
	assert(cfg->mbufs >= need.total && ((cfg->mbufs + 1) & cfg->mbufs) == 0);
	return 0;
}

void cfg_stats_defaults(struct cfg_stats *stats)
{
	memset(stats, 0, sizeof(*stats));
	stats->interval_ms = CFG_STATS_INTERVAL_MS_DEFAULT;
	stats->log = true;
	/* segment stays empty: fhd names it per instance (<ring>-stats, or fh-stats-<pid>). */
}

/* stats.prometheus_file: a file in a directory fhd can write (the file may not exist yet). */
static int cfg_stats_prometheus_read(struct cfg_parser *p, yaml_node_t *node,
				     struct cfg_stats *st)
{
	char text[CFG_PATH_TEXT_MAX], *slash;
	const char *why;
	int ret;

	ret = yaml_reader_string_parse(p->reader, node, "stats.prometheus_file",
				       st->prometheus_file, sizeof(st->prometheus_file));
	if (ret)
		return ret;
	snprintf(text, sizeof(text), "%s", st->prometheus_file);
	slash = strrchr(text, '/');
	if (slash != NULL)
		*slash = '\0';
	if (cfg_dir_check(slash == NULL ? "." : text[0] ? text : "/", &why) != 0)
		return yaml_reader_fail(p->reader, &node->start_mark, "stats.prometheus_file",
					"expected a file in a writable directory, got \"%s\" (%s)",
					st->prometheus_file, why);
	return 0;
}

/* The optional stats section: status lines, the stats segment, metrics, histogram files. */
static int cfg_stats_read(struct cfg_parser *p, yaml_node_t *node)
{
	struct yaml_reader_key keys[STATS_KEYS] = {
		[STATS_KEY_INTERVAL] = { .name = "interval_ms" }, [STATS_KEY_LOG] = { .name = "log" },
		[STATS_KEY_SEGMENT] = { .name = "segment" },
		[STATS_KEY_PROMETHEUS] = { .name = "prometheus_file" },
		[STATS_KEY_HTTP] = { .name = "http" }, [STATS_KEY_HIST_OUT] = { .name = "hist_out" },
	};
	struct cfg_stats *st = &p->cfg->stats;
	yaml_node_t *value;
	const char *why;
	int ret;

	ret = yaml_reader_map_read(p->reader, node, "stats", keys, STATS_KEYS);
	if (ret)
		return ret;
	ret = yaml_reader_uint_get(p->reader, node, "stats", &keys[STATS_KEY_INTERVAL], false,
				   CFG_STATS_INTERVAL_MS_DEFAULT, CFG_STATS_INTERVAL_MS_MIN,
				   CFG_STATS_INTERVAL_MS_MAX, &st->interval_ms);
	if (ret)
		return ret;
	value = keys[STATS_KEY_LOG].value;
	if (value) {
		ret = yaml_reader_bool_parse(p->reader, value, "stats.log", &st->log);
		if (ret)
			return ret;
	}
	value = keys[STATS_KEY_SEGMENT].value;
	if (value) {
		ret = yaml_reader_string_parse(p->reader, value, "stats.segment", st->segment,
					       sizeof(st->segment));
		if (ret)
			return ret;
		if (cfg_name_check(st->segment, sizeof(st->segment), &why) != 0)
			return cfg_name_fail(p, value, "stats.segment", "a /dev/shm segment", why);
	}
	value = keys[STATS_KEY_PROMETHEUS].value;
	if (value) {
		ret = cfg_stats_prometheus_read(p, value, st);
		if (ret)
			return ret;
	}
	/* stats.http: where fhd serves /metrics; an address of this host (0.0.0.0: all of them). */
	value = keys[STATS_KEY_HTTP].value;
	if (value) {
		ret = yaml_reader_ipv4_port_parse(p->reader, value, "stats.http", &st->http_ip, &st->http_port);
		if (ret)
			return ret;
		if (st->http_ip == 0xFFFFFFFFu || (st->http_ip >> 28) == 0xE)
			return yaml_reader_type_fail(p->reader, value, "stats.http",
						     "\"A.B.C.D:PORT\" of this host to listen on (not broadcast or multicast)");
		st->http = true;
	}
	value = keys[STATS_KEY_HIST_OUT].value;
	if (value) {
		ret = yaml_reader_string_parse(p->reader, value, "stats.hist_out", st->hist_out,
					       sizeof(st->hist_out));
		if (ret)
			return ret;
		if (cfg_dir_check(st->hist_out, &why) != 0)
			return yaml_reader_fail(p->reader, &value->start_mark, "stats.hist_out",
						"expected a writable directory, got \"%s\" (%s)",
						st->hist_out, why);
	}
	return 0;
}

/* user and group: names fhd drops root to once set up (resolved by fhd, not here). */
static int cfg_privileges_read(struct cfg_parser *p, yaml_node_t *user, yaml_node_t *group)
{
	int ret = 0;

	if (user)
		ret = yaml_reader_string_parse(p->reader, user, "user", p->cfg->user, sizeof(p->cfg->user));
	if (ret == 0 && group)
		ret = yaml_reader_string_parse(p->reader, group, "group", p->cfg->group, sizeof(p->cfg->group));
	return ret;
}

static int cfg_root_read(struct cfg_parser *p, yaml_node_t *root)
{
	struct yaml_reader_key keys[ROOT_KEYS] = {
		[ROOT_KEY_EAL] = { .name = "eal" }, [ROOT_KEY_LCORES] = { .name = "lcores" },
		[ROOT_KEY_MBUFS] = { .name = "mbufs" }, [ROOT_KEY_PORTS] = { .name = "ports" },
		[ROOT_KEY_FEEDS] = { .name = "feeds" }, [ROOT_KEY_PUBLISH] = { .name = "publish" },
		[ROOT_KEY_JOURNAL] = { .name = "journal" }, [ROOT_KEY_STATS] = { .name = "stats" },
		[ROOT_KEY_USER] = { .name = "user" }, [ROOT_KEY_GROUP] = { .name = "group" },
	};
	int ret;

	cfg_stats_defaults(&p->cfg->stats);
	ret = yaml_reader_map_read(p->reader, root, "", keys, ROOT_KEYS);
	if (ret)
		return ret;
	if (keys[ROOT_KEY_EAL].value) {
		ret = cfg_eal_read(p, keys[ROOT_KEY_EAL].value);
		if (ret)
			return ret;
	}
	if (!keys[ROOT_KEY_LCORES].value)
		return yaml_reader_missing_fail(p->reader, root, "", &keys[ROOT_KEY_LCORES], "a mapping");
	ret = cfg_lcores_read(p, keys[ROOT_KEY_LCORES].value);
	if (ret)
		return ret;
	/* Sized by cfg_mbufs_size once everything that holds mbufs is read. */
	ret = yaml_reader_uint_get(p->reader, root, "", &keys[ROOT_KEY_MBUFS], false,
				   CFG_MBUFS_DEFAULT_MIN, CFG_MBUFS_MIN, CFG_MBUFS_MAX, &p->cfg->mbufs);
	if (ret)
		return ret;
	if (keys[ROOT_KEY_MBUFS].value) {
		p->cfg->mbufs_line = (uint32_t)keys[ROOT_KEY_MBUFS].value->start_mark.line + 1;
		p->cfg->mbufs_column = (uint32_t)keys[ROOT_KEY_MBUFS].value->start_mark.column + 1;
	}
	if (!keys[ROOT_KEY_PORTS].value)
		return yaml_reader_missing_fail(p->reader, root, "", &keys[ROOT_KEY_PORTS],
						"a list of ports");
	ret = cfg_ports_read(p, keys[ROOT_KEY_PORTS].value);
	if (ret)
		return ret;
	if (!keys[ROOT_KEY_FEEDS].value)
		return yaml_reader_missing_fail(p->reader, root, "", &keys[ROOT_KEY_FEEDS],
						"a list of feeds");
	ret = cfg_feeds_read(p, keys[ROOT_KEY_FEEDS].value);
	if (ret)
		return ret;
	if (keys[ROOT_KEY_PUBLISH].value) {
		ret = cfg_publish_read(p, keys[ROOT_KEY_PUBLISH].value);
		if (ret)
			return ret;
	}
	if (keys[ROOT_KEY_JOURNAL].value) {
		ret = cfg_journal_read(p, keys[ROOT_KEY_JOURNAL].value);
		if (ret)
			return ret;
	}
	if (keys[ROOT_KEY_STATS].value) {
		ret = cfg_stats_read(p, keys[ROOT_KEY_STATS].value);
		if (ret)
			return ret;
	}
	ret = cfg_privileges_read(p, keys[ROOT_KEY_USER].value, keys[ROOT_KEY_GROUP].value);
	if (ret)
		return ret;
	return cfg_mbufs_size(p->cfg, cfg_rx_descriptors(p->cfg), NULL, p->reader->err,
			      p->reader->err_size);
}

int cfg_load_text(const char *name, const char *text, size_t len, struct cfg *out,
		  char *err, size_t err_size)
{
	struct yaml_reader reader;
	struct cfg_parser p = { .reader = &reader };
	struct cfg *cfg;
	int ret;

	assert(name && text && out);
	if (err && err_size)
		err[0] = '\0';
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		cfg_error_set(err, err_size, "%s: out of memory", name);
		return -ENOMEM;
	}
	snprintf(cfg->source, sizeof(cfg->source), "%s", name);
	p.cfg = cfg;
	ret = yaml_reader_load(&reader, name, text, len, err, err_size);
	if (ret == 0) {
		ret = cfg_root_read(&p, yaml_reader_root(&reader));
		yaml_reader_close(&reader);
	}
	if (ret == 0) {
		assert(cfg->ports_count >= 1 && cfg->feeds_count >= 1 && cfg->rx_lcores_count >= 1);
		*out = *cfg;
	}
	free(cfg);
	assert(ret <= 0);
	return ret;
}

/*
 * Opens the config file at path for reading, refusing what is not a regular file and
 * what someone other than root or fhd's user could have written. 0 and *file, or
 * -errno with err set.
 */
static int cfg_file_open(const char *path, FILE **file, char *err, size_t err_size)
{
	struct stat st;
	int ret, fd;

	/*
	 * O_NONBLOCK: a FIFO must not hang the start in open() waiting for a writer; it
	 * is refused below with every other file that is not a regular file (a device
	 * such as /dev/zero, a directory).
	 */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		cfg_error_set(err, err_size, "%s: cannot open: %s", path, strerror(-ret));
		return ret;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		cfg_error_set(err, err_size, "%s: not a regular file, not a config file", path);
		return -EINVAL;
	}
	/*
	 * The config is code: its eal: list can load shared objects (-d) into fhd, and it
	 * names the directories fhd writes. So, as for the output directories: the file
	 * read (whatever a path or link led to) is root's or fhd's own user's, and no one
	 * else can write it.
	 */
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022) != 0) {
		close(fd);
		cfg_error_set(err, err_size, "%s: refused: %s (owner uid %u, mode %04o); the config can "
			      "load code into fhd (eal: -d), so it must belong to root or fhd's user (uid %u) "
			      "and be writable by no one else", path,
			      st.st_uid != 0 && st.st_uid != geteuid() ? "owned by another user" :
			      "writable by group or others", (unsigned)st.st_uid,
			      (unsigned)(st.st_mode & 07777), (unsigned)geteuid());
		return -EPERM;
	}
	*file = fcntl(fd, F_SETFL, 0) == 0 ? fdopen(fd, "rb") : NULL;
	if (!*file) {
		ret = -errno;
		close(fd);
		cfg_error_set(err, err_size, "%s: cannot open: %s", path, strerror(-ret));
		return ret;
	}
	return 0;
}

/*
 * Reads all of f (the file at path) into text, which holds CFG_FILE_SIZE_MAX + 1
 * bytes: 0 and *len, or -EIO / -EFBIG (over CFG_FILE_SIZE_MAX) with err set.
 */
static int cfg_file_read(FILE *f, const char *path, char *text, size_t *len, char *err,
			 size_t err_size)
{
	size_t got, n = 0;

	/* bounded: at most CFG_FILE_SIZE_MAX + 1 bytes are read */
	while (n <= CFG_FILE_SIZE_MAX) {
		got = fread(text + n, 1, CFG_FILE_SIZE_MAX + 1 - n, f);
		if (got == 0)
			break;
		n += got;
	}
	if (ferror(f)) {
		cfg_error_set(err, err_size, "%s: cannot read", path);
		return -EIO;
	}
	if (n > CFG_FILE_SIZE_MAX) {
		cfg_error_set(err, err_size, "%s: larger than %d bytes, not a config file", path,
			      CFG_FILE_SIZE_MAX);
		return -EFBIG;
	}
	*len = n;
	return 0;
}

/*
 * A config that holds a snapshot password must not be readable by others (its group
 * may read it: a trading group), as ssh refuses a private key others can read.
 */
static int cfg_secret_check(FILE *f, const char *path, const struct cfg *cfg, char *err, size_t err_size)
{
	struct stat st;

	if (fstat(fileno(f), &st) != 0 || (st.st_mode & S_IROTH) == 0)
		return 0;
	for (uint32_t i = 0; i < cfg->feeds_count; i++) {
		if (!cfg->feeds[i].snapshot.enabled)
			continue;
		cfg_error_set(err, err_size, "%s: refused: it holds feed %s's snapshot password and is "
			      "readable by others (mode %04o); chmod o-r it", path, cfg->feeds[i].name,
			      (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

int cfg_load_file(const char *path, struct cfg *out, char *err, size_t err_size)
{
	char *text;
	size_t len = 0;
	FILE *f;
	int ret;

	assert(path && out);
	ret = cfg_file_open(path, &f, err, err_size);
	if (ret)
		return ret;
	text = malloc(CFG_FILE_SIZE_MAX + 1);
	if (!text) {
		fclose(f);
		cfg_error_set(err, err_size, "%s: out of memory", path);
		return -ENOMEM;
	}
	ret = cfg_file_read(f, path, text, &len, err, err_size);
	if (ret == 0)
		ret = cfg_load_text(path, text, len, out, err, err_size);
	if (ret == 0)
		ret = cfg_secret_check(f, path, out, err, err_size);
	free(text);
	fclose(f);
	return ret;
}

const char *cfg_default_text(size_t *len)
{
	if (len)
		*len = (size_t)(cfg_default_yaml_end - cfg_default_yaml_start);
	return cfg_default_yaml_start;
}

int cfg_load_default(struct cfg *out, char *err, size_t err_size)
{
	size_t len;
	const char *text = cfg_default_text(&len);

	return cfg_load_text(CFG_DEFAULT_NAME, text, len, out, err, err_size);
}

const char *cfg_protocol_name(enum cfg_protocol protocol)
{
	if ((size_t)protocol >= CFG_PROTOCOLS_COUNT)
		return cfg_protocol_names[CFG_PROTOCOL_NONE];
	return cfg_protocol_names[protocol];
}
