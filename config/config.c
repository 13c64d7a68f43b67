/*
 * config: loads fhd's YAML run configuration with libyaml's document API and
 * validates all of it (types, ranges, names, cross-references between lines,
 * ports and lcores) before anything else starts, so a bad file stops the run
 * with one precise line instead of a surprise on the data path. The document
 * tree keeps the mark of every node, which is how each error names
 * file:line:column. Fields are read in a fixed order (lcores, ports, then
 * feeds) whatever the order in the file, so references can be resolved as they
 * are read. Nothing here prints or keeps global state: the caller owns the
 * message buffer and the result.
 */
#include "config/config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#define CFG_PATH_MAX 128		/* longest key path in a message */
#define CFG_SHOWN_MAX 40		/* characters of a bad value quoted in a message */
#define CFG_FILE_SIZE_MAX (1 << 20)	/* a config is a few hundred bytes; refuse huge files */
#define CFG_DEFAULT_NAME "<default>/config/default.yaml"
#define CFG_PROTOCOL_ITCH50_MOLDUDP64_NAME "itch50-moldudp64"

#define CFG_RX_QUEUES_MAX 64
#define CFG_RX_DESCRIPTORS_MIN 64
#define CFG_RX_DESCRIPTORS_MAX 16384
#define CFG_MBUFS_MIN 1024
#define CFG_MBUFS_MAX (1u << 24)
#define CFG_REORDER_PACKETS_MAX 65536
#define CFG_REORDER_US_MAX 10000000
#define CFG_BOOK_INSTRUMENTS_MAX 65536
#define CFG_BOOK_ORDERS_MAX (1u << 28)
#define CFG_BOOK_LEVELS_MAX 65536

#define CFG_RX_QUEUES_DEFAULT 1
#define CFG_RX_DESCRIPTORS_DEFAULT 1024
#define CFG_MBUFS_DEFAULT 16383
#define CFG_REORDER_PACKETS_DEFAULT 1024
#define CFG_REORDER_US_DEFAULT 5000
#define CFG_BOOK_INSTRUMENTS_DEFAULT 4096
#define CFG_BOOK_ORDERS_DEFAULT 1048576
#define CFG_BOOK_LEVELS_DEFAULT 1024
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
#define CFG_PUBLISH_DEPTH_MAX 64		/* the conflated segment's CONFLATED_DEPTH_MAX */
#define CFG_STATS_INTERVAL_MS_MIN 10
#define CFG_STATS_INTERVAL_MS_MAX 3600000	/* an hour */
#define CFG_STATS_INTERVAL_MS_DEFAULT 1000
#define CFG_UTC_OFFSET_MINUTES_MIN (-720)	/* UTC-12:00 */
#define CFG_UTC_OFFSET_MINUTES_MAX 840		/* UTC+14:00 */

_Static_assert(CFG_LCORE_ID_MAX <= UINT16_MAX, "lcore ids are stored in uint16_t");
_Static_assert(CFG_PORTS_MAX <= UINT16_MAX, "port indexes are stored in uint16_t");
_Static_assert(CFG_RX_QUEUES_MAX <= UINT16_MAX, "queues are stored in uint16_t");
_Static_assert(CFG_RX_DESCRIPTORS_MAX <= UINT16_MAX, "descriptors are stored in uint16_t");
_Static_assert(CFG_MBUFS_DEFAULT >= CFG_MBUFS_MIN && CFG_MBUFS_DEFAULT <= CFG_MBUFS_MAX,
	       "mbufs default in range");

extern const char cfg_default_yaml_start[];
extern const char cfg_default_yaml_end[];

/* State of one load: where messages go and what has been read so far. */
struct cfg_parser {
	const char *name;
	yaml_document_t *document;
	struct cfg *cfg;
	char *err;
	size_t err_size;
	size_t port_name_lines[CFG_PORTS_MAX];	/* 1-based, for duplicate-name messages */
	size_t feed_name_lines[CFG_FEEDS_MAX];
};

/* One expected key of a mapping and the nodes found for it (NULL if absent). */
struct cfg_key {
	const char *name;
	yaml_node_t *key;
	yaml_node_t *value;
};

/*
 * Writes "NAME:LINE:COLUMN: PATH: " and the formatted rest into the error
 * buffer. Always returns -EINVAL so callers can `return cfg_fail(...)`.
 */
__attribute__((format(printf, 4, 5)))
static int cfg_fail(struct cfg_parser *p, const yaml_mark_t *mark, const char *path,
		    const char *fmt, ...)
{
	va_list ap;
	int used;

	if (!p->err || p->err_size == 0)
		return -EINVAL;
	used = snprintf(p->err, p->err_size, "%s:%zu:%zu: %s: ", p->name,
			mark->line + 1, mark->column + 1, path[0] ? path : "<top>");
	if (used >= 0 && (size_t)used < p->err_size) {
		va_start(ap, fmt);
		vsnprintf(p->err + used, p->err_size - used, fmt, ap);
		va_end(ap);
	}
	/*
	 * Values quoted from the file may hold newlines or escape sequences: the message
	 * stays one printable line whatever the file holds.
	 */
	for (char *c = p->err; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return -EINVAL;
}

/* Copies at most CFG_SHOWN_MAX bytes of s, replacing anything unprintable, into out. */
static void cfg_text_show(const unsigned char *s, size_t len, char *out, size_t size)
{
	size_t i, n = 0;

	assert(size > CFG_SHOWN_MAX + 4);
	for (i = 0; i < len && i < CFG_SHOWN_MAX; i++)
		out[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
	if (len > CFG_SHOWN_MAX) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

static bool cfg_scalar_is_null(const yaml_node_t *node)
{
	const char *v = (const char *)node->data.scalar.value;

	if (node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return node->data.scalar.length == 0 || !strcmp(v, "~") || !strcmp(v, "null") ||
	       !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/* Describes a node for the "got ..." half of a message. */
static const char *cfg_node_describe(const yaml_node_t *node, char *out, size_t size)
{
	char shown[CFG_SHOWN_MAX + 8];

	switch (node->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_SCALAR_NODE:
		if (cfg_scalar_is_null(node))
			return "null";
		cfg_text_show(node->data.scalar.value, node->data.scalar.length, shown,
			      sizeof(shown));
		if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
			snprintf(out, size, "'%s'", shown);
		else
			snprintf(out, size, "quoted string \"%s\"", shown);
		return out;
	default:
		return "nothing";
	}
}

/*
 * Key paths are bounded by the schema (nesting depth 4, short key names, shown
 * unknown keys cut at CFG_SHOWN_MAX), so CFG_PATH_MAX always holds them.
 */
static void cfg_path_key(char *out, size_t size, const char *parent, const char *key)
{
	int n;

	if (parent[0])
		n = snprintf(out, size, "%s.%s", parent, key);
	else
		n = snprintf(out, size, "%s", key);
	assert(n >= 0 && (size_t)n < size);
}

static void cfg_path_index(char *out, size_t size, const char *parent, size_t index)
{
	int n = snprintf(out, size, "%s[%zu]", parent, index);

	assert(n >= 0 && (size_t)n < size);
}

/* A string that becomes part of a file or segment name and is not safe as one (why). */
static int cfg_name_fail(struct cfg_parser *p, const yaml_node_t *node, const char *path,
			 const char *names, const char *why)
{
	char shown[CFG_SHOWN_MAX + 8];

	cfg_text_show(node->data.scalar.value, node->data.scalar.length, shown, sizeof(shown));
	return cfg_fail(p, &node->start_mark, path, "expected a name of [A-Za-z0-9_.-] not starting "
			"with '.' (it names %s), got \"%s\" (%s)", names, shown, why);
}

static int cfg_type_fail(struct cfg_parser *p, const yaml_node_t *node, const char *path,
			 const char *expected)
{
	char got[CFG_SHOWN_MAX + 32];

	return cfg_fail(p, &node->start_mark, path, "expected %s, got %s", expected,
			cfg_node_describe(node, got, sizeof(got)));
}

/* A required key is absent: the message points at the mapping that lacks it. */
static int cfg_missing_fail(struct cfg_parser *p, const yaml_node_t *map, const char *parent,
			    const struct cfg_key *key, const char *expected)
{
	char path[CFG_PATH_MAX];

	cfg_path_key(path, sizeof(path), parent, key->name);
	return cfg_fail(p, &map->start_mark, path, "expected %s (required key), got nothing",
			expected);
}

/*
 * Matches the keys of mapping node against keys[0..count): every key must be
 * a scalar, known and used once. Fills keys[i].key/value for those present.
 * Returns 0 or -EINVAL naming the first offending key.
 */
static int cfg_map_read(struct cfg_parser *p, yaml_node_t *node, const char *path,
			struct cfg_key *keys, size_t count)
{
	yaml_node_pair_t *pair;
	char known[256];
	char shown[CFG_SHOWN_MAX + 8];
	char key_path[CFG_PATH_MAX];
	size_t i, used = 0;

	if (node->type != YAML_MAPPING_NODE)
		return cfg_type_fail(p, node, path, "a mapping");
	for (i = 0; i < count; i++) {
		keys[i].key = NULL;
		keys[i].value = NULL;
	}
	for (pair = node->data.mapping.pairs.start; pair < node->data.mapping.pairs.top; pair++) {
		yaml_node_t *key = yaml_document_get_node(p->document, pair->key);
		yaml_node_t *value = yaml_document_get_node(p->document, pair->value);
		const char *text;
		size_t len;

		assert(key && value);
		if (key->type != YAML_SCALAR_NODE)
			return cfg_type_fail(p, key, path, "a plain key");
		text = (const char *)key->data.scalar.value;
		len = key->data.scalar.length;
		for (i = 0; i < count; i++)
			if (strlen(keys[i].name) == len && !memcmp(keys[i].name, text, len))
				break;
		if (i == count) {
			cfg_text_show(key->data.scalar.value, len, shown, sizeof(shown));
			cfg_path_key(key_path, sizeof(key_path), path, shown);
			used = 0;
			known[0] = '\0';
			for (i = 0; i < count && used < sizeof(known); i++)
				used += snprintf(known + used, sizeof(known) - used, "%s%s",
						 i ? ", " : "", keys[i].name);
			return cfg_fail(p, &key->start_mark, key_path,
					"expected one of %s, got unknown key '%s'", known, shown);
		}
		if (keys[i].key) {
			cfg_path_key(key_path, sizeof(key_path), path, keys[i].name);
			return cfg_fail(p, &key->start_mark, key_path,
					"expected each key once, got '%s' again (first at line %zu)",
					keys[i].name, keys[i].key->start_mark.line + 1);
		}
		keys[i].key = key;
		keys[i].value = value;
	}
	return 0;
}

/*
 * Checks that node is a list of min..max entries and gives its items.
 * what names one entry ("ports") for the message.
 */
static int cfg_list_read(struct cfg_parser *p, yaml_node_t *node, const char *path,
			 size_t min, size_t max, const char *what,
			 yaml_node_item_t **items, size_t *count)
{
	char expected[96];
	size_t n;

	snprintf(expected, sizeof(expected), "a list of %zu..%zu %s", min, max, what);
	if (node->type != YAML_SEQUENCE_NODE)
		return cfg_type_fail(p, node, path, expected);
	n = node->data.sequence.items.top - node->data.sequence.items.start;
	if (n < min || n > max)
		return cfg_fail(p, &node->start_mark, path, "expected %s, got %zu", expected, n);
	*items = node->data.sequence.items.start;
	*count = n;
	return 0;
}

/*
 * Reads a plain decimal integer in min..max: digits only, no sign, no leading
 * zero (YAML 1.1 would read 010 as octal), no suffix; overflow is out of range.
 */
static int cfg_uint_parse(struct cfg_parser *p, yaml_node_t *node, const char *path,
			  uint32_t min, uint32_t max, uint32_t *out)
{
	char expected[64];
	const unsigned char *s;
	uint64_t v = 0;
	size_t i, len;

	snprintf(expected, sizeof(expected), "a decimal integer in %u..%u", min, max);
	if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return cfg_type_fail(p, node, path, expected);
	s = node->data.scalar.value;
	len = node->data.scalar.length;
	if (len == 0 || (len > 1 && s[0] == '0'))
		return cfg_type_fail(p, node, path, expected);
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return cfg_type_fail(p, node, path, expected);
		if (v <= UINT32_MAX)	/* keep going to reject junk, but stop growing */
			v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return cfg_type_fail(p, node, path, expected);
	*out = (uint32_t)v;
	return 0;
}

/* Reads a plain decimal integer in min..max, with an optional leading '-'. */
static int cfg_int_parse(struct cfg_parser *p, yaml_node_t *node, const char *path,
			 int32_t min, int32_t max, int32_t *out)
{
	char expected[64];
	const char *s = (const char *)node->data.scalar.value;
	int64_t v = 0;
	size_t i, len;
	bool negative;

	snprintf(expected, sizeof(expected), "a decimal integer in %d..%d", min, max);
	if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return cfg_type_fail(p, node, path, expected);
	len = node->data.scalar.length;
	negative = len > 0 && s[0] == '-';
	i = negative ? 1 : 0;
	if (len == i || (len > i + 1 && s[i] == '0'))
		return cfg_type_fail(p, node, path, expected);
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > INT32_MAX)
			return cfg_type_fail(p, node, path, expected);
		v = v * 10 + (s[i] - '0');
	}
	v = negative ? -v : v;
	if (v < min || v > max)
		return cfg_type_fail(p, node, path, expected);
	*out = (int32_t)v;
	return 0;
}

/* Reads key of map as an integer in min..max; absent means def, or an error if required. */
static int cfg_uint_get(struct cfg_parser *p, yaml_node_t *map, const char *parent,
			const struct cfg_key *key, bool required, uint32_t def,
			uint32_t min, uint32_t max, uint32_t *out)
{
	char path[CFG_PATH_MAX];

	assert(def >= min && def <= max);
	if (!key->value) {
		if (required)
			return cfg_missing_fail(p, map, parent, key, "an integer");
		*out = def;
		return 0;
	}
	cfg_path_key(path, sizeof(path), parent, key->name);
	return cfg_uint_parse(p, key->value, path, min, max, out);
}

/* Reads a non-empty string shorter than size into out (NUL-terminated). */
static int cfg_string_parse(struct cfg_parser *p, yaml_node_t *node, const char *path,
			    char *out, size_t size)
{
	char expected[64];
	size_t len;

	snprintf(expected, sizeof(expected), "a string of 1..%zu characters", size - 1);
	if (node->type != YAML_SCALAR_NODE || cfg_scalar_is_null(node))
		return cfg_type_fail(p, node, path, expected);
	len = node->data.scalar.length;
	if (len == 0)
		return cfg_fail(p, &node->start_mark, path, "expected %s, got an empty string",
				expected);
	if (len >= size)
		return cfg_fail(p, &node->start_mark, path, "expected %s, got %zu characters",
				expected, len);
	if (strlen((const char *)node->data.scalar.value) != len)
		return cfg_fail(p, &node->start_mark, path, "expected %s, got a NUL character",
				expected);
	memcpy(out, node->data.scalar.value, len + 1);
	return 0;
}

static int cfg_string_get(struct cfg_parser *p, yaml_node_t *map, const char *parent,
			  const struct cfg_key *key, char *out, size_t size)
{
	char path[CFG_PATH_MAX];

	if (!key->value)
		return cfg_missing_fail(p, map, parent, key, "a string");
	cfg_path_key(path, sizeof(path), parent, key->name);
	return cfg_string_parse(p, key->value, path, out, size);
}

/* Reads a dotted-quad IPv4 address into *out, host byte order. */
static int cfg_ipv4_parse(struct cfg_parser *p, yaml_node_t *node, const char *path,
			  uint32_t *out)
{
	struct in_addr addr;
	char text[16];

	if (node->type != YAML_SCALAR_NODE || node->data.scalar.length >= sizeof(text) ||
	    strlen((const char *)node->data.scalar.value) != node->data.scalar.length)
		return cfg_type_fail(p, node, path, "an IPv4 address");
	memcpy(text, node->data.scalar.value, node->data.scalar.length + 1);
	if (inet_pton(AF_INET, text, &addr) != 1)
		return cfg_type_fail(p, node, path, "an IPv4 address");
	*out = ntohl(addr.s_addr);
	return 0;
}

static bool cfg_ipv4_is_multicast(uint32_t ip)
{
	return (ip >> 28) == 0xe;	/* 224.0.0.0/4, RFC 5771 */
}

static int cfg_eal_read(struct cfg_parser *p, yaml_node_t *node)
{
	struct cfg *cfg = p->cfg;
	yaml_node_item_t *items;
	char path[CFG_PATH_MAX];
	size_t i, count;
	int ret;

	ret = cfg_list_read(p, node, "eal", 0, CFG_EAL_ARGS_MAX, "strings", &items, &count);
	if (ret)
		return ret;
	for (i = 0; i < count; i++) {
		cfg_path_index(path, sizeof(path), "eal", i);
		ret = cfg_string_parse(p, yaml_document_get_node(p->document, items[i]), path,
				       cfg->eal_args[i], CFG_ARG_MAX);
		if (ret)
			return ret;
	}
	cfg->eal_args_count = (uint16_t)count;
	return 0;
}

/* lcores: {main, rx: [...]}; every lcore id is used at most once. */
static int cfg_lcores_read(struct cfg_parser *p, yaml_node_t *node)
{
	struct cfg_key keys[] = { { .name = "main" }, { .name = "rx" } };
	struct cfg *cfg = p->cfg;
	yaml_node_item_t *items;
	char path[CFG_PATH_MAX];
	size_t i, j, count;
	uint32_t v;
	int ret;

	ret = cfg_map_read(p, node, "lcores", keys, 2);
	if (ret)
		return ret;
	ret = cfg_uint_get(p, node, "lcores", &keys[0], true, 0, 0, CFG_LCORE_ID_MAX, &v);
	if (ret)
		return ret;
	cfg->main_lcore = (uint16_t)v;
	if (!keys[1].value)
		return cfg_missing_fail(p, node, "lcores", &keys[1], "a list of lcore ids");
	ret = cfg_list_read(p, keys[1].value, "lcores.rx", 1, CFG_RX_LCORES_MAX, "lcore ids",
			    &items, &count);
	if (ret)
		return ret;
	for (i = 0; i < count; i++) {
		yaml_node_t *item = yaml_document_get_node(p->document, items[i]);

		cfg_path_index(path, sizeof(path), "lcores.rx", i);
		ret = cfg_uint_parse(p, item, path, 0, CFG_LCORE_ID_MAX, &v);
		if (ret)
			return ret;
		if (v == cfg->main_lcore)
			return cfg_fail(p, &item->start_mark, path,
					"expected an lcore other than lcores.main, got %u", v);
		for (j = 0; j < i; j++)
			if (cfg->rx_lcores[j] == v)
				return cfg_fail(p, &item->start_mark, path,
						"expected each lcore once, got %u again (also lcores.rx[%zu])",
						v, j);
		cfg->rx_lcores[i] = (uint16_t)v;
	}
	cfg->rx_lcores_count = (uint16_t)count;
	return 0;
}

static int cfg_port_read(struct cfg_parser *p, yaml_node_t *node, size_t index)
{
	struct cfg_key keys[] = {
		{ .name = "name" }, { .name = "device" },
		{ .name = "rx_queues" }, { .name = "rx_descriptors" },
	};
	struct cfg_port *port = &p->cfg->ports[index];
	char path[CFG_PATH_MAX];
	char value_path[CFG_PATH_MAX];
	uint32_t v;
	size_t i;
	int ret;

	cfg_path_index(path, sizeof(path), "ports", index);
	ret = cfg_map_read(p, node, path, keys, 4);
	if (ret)
		return ret;
	ret = cfg_string_get(p, node, path, &keys[0], port->name, CFG_NAME_MAX);
	if (ret)
		return ret;
	for (i = 0; i < index; i++)
		if (!strcmp(p->cfg->ports[i].name, port->name)) {
			cfg_path_key(value_path, sizeof(value_path), path, "name");
			return cfg_fail(p, &keys[0].value->start_mark, value_path,
					"expected a unique port name, got '%s' again (ports[%zu], line %zu)",
					port->name, i, p->port_name_lines[i]);
		}
	p->port_name_lines[index] = keys[0].value->start_mark.line + 1;
	ret = cfg_string_get(p, node, path, &keys[1], port->device, CFG_DEVICE_MAX);
	if (ret)
		return ret;
	ret = cfg_uint_get(p, node, path, &keys[2], false, CFG_RX_QUEUES_DEFAULT, 1,
			   CFG_RX_QUEUES_MAX, &v);
	if (ret)
		return ret;
	port->rx_queues = (uint16_t)v;
	ret = cfg_uint_get(p, node, path, &keys[3], false, CFG_RX_DESCRIPTORS_DEFAULT,
			   CFG_RX_DESCRIPTORS_MIN, CFG_RX_DESCRIPTORS_MAX, &v);
	if (ret)
		return ret;
	if (v & (v - 1)) {
		cfg_path_key(value_path, sizeof(value_path), path, "rx_descriptors");
		return cfg_fail(p, &keys[3].value->start_mark, value_path,
				"expected a power of two in %u..%u, got %u",
				CFG_RX_DESCRIPTORS_MIN, CFG_RX_DESCRIPTORS_MAX, v);
	}
	port->rx_descriptors = (uint16_t)v;
	return 0;
}

static int cfg_ports_read(struct cfg_parser *p, yaml_node_t *node)
{
	yaml_node_item_t *items;
	size_t i, count;
	int ret;

	ret = cfg_list_read(p, node, "ports", 1, CFG_PORTS_MAX, "ports", &items, &count);
	if (ret)
		return ret;
	for (i = 0; i < count; i++) {
		ret = cfg_port_read(p, yaml_document_get_node(p->document, items[i]), i);
		if (ret)
			return ret;
		p->cfg->ports_count = (uint16_t)(i + 1);
	}
	return 0;
}

/*
 * One line of a feed: {group, udp_port, port, queue, source}. The port must
 * exist, the queue must exist on it, and group:udp_port must not be taken by
 * any line read before (a packet could not tell which line it belongs to).
 */
static int cfg_line_read(struct cfg_parser *p, yaml_node_t *node, const char *path,
			 size_t feed_index, enum cfg_line_id line_id)
{
	struct cfg_key keys[] = {
		{ .name = "group" }, { .name = "udp_port" }, { .name = "source" },
		{ .name = "port" }, { .name = "queue" },
	};
	struct cfg *cfg = p->cfg;
	struct cfg_line *line = &cfg->feeds[feed_index].lines[line_id];
	char value_path[CFG_PATH_MAX];
	char port_name[CFG_NAME_MAX];
	struct in_addr addr;
	char ip[INET_ADDRSTRLEN];
	size_t f, l, i;
	uint32_t v;
	int ret;

	ret = cfg_map_read(p, node, path, keys, 5);
	if (ret)
		return ret;

	if (!keys[0].value)
		return cfg_missing_fail(p, node, path, &keys[0], "an IPv4 multicast group");
	cfg_path_key(value_path, sizeof(value_path), path, "group");
	ret = cfg_ipv4_parse(p, keys[0].value, value_path, &line->group_ip);
	if (ret)
		return ret;
	if (!cfg_ipv4_is_multicast(line->group_ip))
		return cfg_type_fail(p, keys[0].value, value_path,
				     "a multicast IPv4 address (224.0.0.0/4)");

	ret = cfg_uint_get(p, node, path, &keys[1], true, 1, 1, UINT16_MAX, &v);
	if (ret)
		return ret;
	line->udp_port = (uint16_t)v;

	if (keys[2].value) {
		cfg_path_key(value_path, sizeof(value_path), path, "source");
		ret = cfg_ipv4_parse(p, keys[2].value, value_path, &line->source_ip);
		if (ret)
			return ret;
		if (cfg_ipv4_is_multicast(line->source_ip))
			return cfg_type_fail(p, keys[2].value, value_path,
					     "a unicast IPv4 source address");
		line->source_present = true;
	}

	ret = cfg_string_get(p, node, path, &keys[3], port_name, sizeof(port_name));
	if (ret)
		return ret;
	for (i = 0; i < cfg->ports_count; i++)
		if (!strcmp(cfg->ports[i].name, port_name))
			break;
	if (i == cfg->ports_count) {
		cfg_path_key(value_path, sizeof(value_path), path, "port");
		return cfg_fail(p, &keys[3].value->start_mark, value_path,
				"expected the name of an entry in ports, got '%s'", port_name);
	}
	line->port_index = (uint16_t)i;

	ret = cfg_uint_get(p, node, path, &keys[4], false, 0, 0, CFG_RX_QUEUES_MAX - 1, &v);
	if (ret)
		return ret;
	if (v >= cfg->ports[i].rx_queues) {
		cfg_path_key(value_path, sizeof(value_path), path, "queue");
		return cfg_fail(p, &keys[4].value->start_mark, value_path,
				"expected a queue below rx_queues of port '%s' (%u), got %u",
				cfg->ports[i].name, cfg->ports[i].rx_queues, v);
	}
	line->queue = (uint16_t)v;

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
			cfg_path_key(value_path, sizeof(value_path), path, "group");
			return cfg_fail(p, &keys[0].value->start_mark, value_path,
					"expected a group:udp_port unique across lines, got %s:%u again (also feeds[%zu].lines.%c)",
					ip, line->udp_port, f, l == CFG_LINE_A ? 'A' : 'B');
		}
	line->present = true;
	return 0;
}

static int cfg_lines_read(struct cfg_parser *p, yaml_node_t *node, const char *parent,
			  size_t feed_index)
{
	struct cfg_key keys[] = { { .name = "A" }, { .name = "B" } };
	char path[CFG_PATH_MAX];
	char line_path[CFG_PATH_MAX];
	int ret;

	cfg_path_key(path, sizeof(path), parent, "lines");
	ret = cfg_map_read(p, node, path, keys, 2);
	if (ret)
		return ret;
	if (!keys[0].value)
		return cfg_missing_fail(p, node, path, &keys[0], "a mapping");
	cfg_path_key(line_path, sizeof(line_path), path, "A");
	ret = cfg_line_read(p, keys[0].value, line_path, feed_index, CFG_LINE_A);
	if (ret || !keys[1].value)
		return ret;
	cfg_path_key(line_path, sizeof(line_path), path, "B");
	return cfg_line_read(p, keys[1].value, line_path, feed_index, CFG_LINE_B);
}

static int cfg_reorder_read(struct cfg_parser *p, yaml_node_t *node, const char *parent,
			    struct cfg_feed *feed)
{
	struct cfg_key keys[] = { { .name = "packets" }, { .name = "us" } };
	char path[CFG_PATH_MAX];
	int ret;

	feed->reorder_packets_max = CFG_REORDER_PACKETS_DEFAULT;
	feed->reorder_window_us = CFG_REORDER_US_DEFAULT;
	if (!node)
		return 0;
	cfg_path_key(path, sizeof(path), parent, "reorder_window");
	ret = cfg_map_read(p, node, path, keys, 2);
	if (ret)
		return ret;
	ret = cfg_uint_get(p, node, path, &keys[0], false, CFG_REORDER_PACKETS_DEFAULT, 1,
			   CFG_REORDER_PACKETS_MAX, &feed->reorder_packets_max);
	if (ret)
		return ret;
	return cfg_uint_get(p, node, path, &keys[1], false, CFG_REORDER_US_DEFAULT, 0,
			    CFG_REORDER_US_MAX, &feed->reorder_window_us);
}

static int cfg_book_read(struct cfg_parser *p, yaml_node_t *node, const char *parent,
			 struct cfg_book *book)
{
	struct cfg_key keys[] = {
		{ .name = "instruments" }, { .name = "orders" }, { .name = "levels" },
	};
	char path[CFG_PATH_MAX];
	int ret;

	book->instruments_max = CFG_BOOK_INSTRUMENTS_DEFAULT;
	book->orders_max = CFG_BOOK_ORDERS_DEFAULT;
	book->levels_max = CFG_BOOK_LEVELS_DEFAULT;
	if (!node)
		return 0;
	cfg_path_key(path, sizeof(path), parent, "book");
	ret = cfg_map_read(p, node, path, keys, 3);
	if (ret)
		return ret;
	ret = cfg_uint_get(p, node, path, &keys[0], false, CFG_BOOK_INSTRUMENTS_DEFAULT, 1,
			   CFG_BOOK_INSTRUMENTS_MAX, &book->instruments_max);
	if (ret)
		return ret;
	ret = cfg_uint_get(p, node, path, &keys[1], false, CFG_BOOK_ORDERS_DEFAULT, 1,
			   CFG_BOOK_ORDERS_MAX, &book->orders_max);
	if (ret)
		return ret;
	return cfg_uint_get(p, node, path, &keys[2], false, CFG_BOOK_LEVELS_DEFAULT, 1,
			    CFG_BOOK_LEVELS_MAX, &book->levels_max);
}

static int cfg_feed_read(struct cfg_parser *p, yaml_node_t *node, size_t index)
{
	struct cfg_key keys[] = {
		{ .name = "name" }, { .name = "protocol" }, { .name = "lcore" },
		{ .name = "reorder_window" }, { .name = "lines" }, { .name = "book" },
		{ .name = "exchange_utc_offset_min" },
	};
	struct cfg *cfg = p->cfg;
	struct cfg_feed *feed = &cfg->feeds[index];
	char path[CFG_PATH_MAX];
	char value_path[CFG_PATH_MAX];
	char protocol[CFG_NAME_MAX];
	const char *why;
	uint32_t v;
	size_t i;
	int ret;

	cfg_path_index(path, sizeof(path), "feeds", index);
	ret = cfg_map_read(p, node, path, keys, 7);
	if (ret)
		return ret;
	if (keys[6].value) {
		cfg_path_key(value_path, sizeof(value_path), path, "exchange_utc_offset_min");
		ret = cfg_int_parse(p, keys[6].value, value_path, CFG_UTC_OFFSET_MINUTES_MIN,
				    CFG_UTC_OFFSET_MINUTES_MAX, &feed->exchange_utc_offset_min);
		if (ret)
			return ret;
	}

	ret = cfg_string_get(p, node, path, &keys[0], feed->name, CFG_NAME_MAX);
	if (ret)
		return ret;
	if (cfg_name_check(feed->name, CFG_NAME_MAX, &why) != 0) {
		cfg_path_key(value_path, sizeof(value_path), path, "name");
		return cfg_name_fail(p, keys[0].value, value_path, "file names", why);
	}
	for (i = 0; i < index; i++)
		if (!strcmp(cfg->feeds[i].name, feed->name)) {
			cfg_path_key(value_path, sizeof(value_path), path, "name");
			return cfg_fail(p, &keys[0].value->start_mark, value_path,
					"expected a unique feed name, got '%s' again (feeds[%zu], line %zu)",
					feed->name, i, p->feed_name_lines[i]);
		}
	p->feed_name_lines[index] = keys[0].value->start_mark.line + 1;

	if (!keys[1].value)
		return cfg_missing_fail(p, node, path, &keys[1],
					"'" CFG_PROTOCOL_ITCH50_MOLDUDP64_NAME "'");
	cfg_path_key(value_path, sizeof(value_path), path, "protocol");
	if (keys[1].value->type != YAML_SCALAR_NODE ||
	    keys[1].value->data.scalar.length >= sizeof(protocol) ||
	    strlen((const char *)keys[1].value->data.scalar.value) !=
	    keys[1].value->data.scalar.length)
		return cfg_type_fail(p, keys[1].value, value_path,
				     "'" CFG_PROTOCOL_ITCH50_MOLDUDP64_NAME "'");
	memcpy(protocol, keys[1].value->data.scalar.value, keys[1].value->data.scalar.length + 1);
	if (strcmp(protocol, CFG_PROTOCOL_ITCH50_MOLDUDP64_NAME))
		return cfg_type_fail(p, keys[1].value, value_path,
				     "'" CFG_PROTOCOL_ITCH50_MOLDUDP64_NAME "'");
	feed->protocol = CFG_PROTOCOL_ITCH50_MOLDUDP64;

	ret = cfg_uint_get(p, node, path, &keys[2], true, 0, 0, CFG_LCORE_ID_MAX, &v);
	if (ret)
		return ret;
	for (i = 0; i < cfg->rx_lcores_count; i++)
		if (cfg->rx_lcores[i] == v)
			break;
	if (i == cfg->rx_lcores_count) {
		cfg_path_key(value_path, sizeof(value_path), path, "lcore");
		return cfg_fail(p, &keys[2].value->start_mark, value_path,
				"expected an lcore listed in lcores.rx, got %u", v);
	}
	feed->lcore = (uint16_t)v;

	ret = cfg_reorder_read(p, keys[3].value, path, feed);
	if (ret)
		return ret;
	if (!keys[4].value)
		return cfg_missing_fail(p, node, path, &keys[4], "a mapping with lines A and B");
	ret = cfg_lines_read(p, keys[4].value, path, index);
	if (ret)
		return ret;
	return cfg_book_read(p, keys[5].value, path, &feed->book);
}

static int cfg_feeds_read(struct cfg_parser *p, yaml_node_t *node)
{
	yaml_node_item_t *items;
	size_t i, count;
	int ret;

	ret = cfg_list_read(p, node, "feeds", 1, CFG_FEEDS_MAX, "feeds", &items, &count);
	if (ret)
		return ret;
	for (i = 0; i < count; i++) {
		ret = cfg_feed_read(p, yaml_document_get_node(p->document, items[i]), i);
		if (ret)
			return ret;
		p->cfg->feeds_count = (uint16_t)(i + 1);
	}
	return 0;
}

/* The optional publish section: the shared-memory rings strategies read. */
static int cfg_publish_read(struct cfg_parser *p, yaml_node_t *node)
{
	struct cfg_key keys[] = {
		{ .name = "ring" }, { .name = "capacity" }, { .name = "mode" },
		{ .name = "group" }, { .name = "depth" },
	};
	struct cfg_publish *pub = &p->cfg->publish;
	char mode[8], *end;
	const char *why;
	int ret;

	ret = cfg_map_read(p, node, "publish", keys, 5);
	if (ret)
		return ret;
	pub->enabled = true;
	ret = cfg_string_get(p, node, "publish", &keys[0], pub->ring, sizeof(pub->ring));
	if (ret)
		return ret;
	if (cfg_name_check(pub->ring, sizeof(pub->ring), &why) != 0)
		return cfg_name_fail(p, keys[0].value, "publish.ring", "/dev/shm segments", why);
	ret = cfg_uint_get(p, node, "publish", &keys[1], false, CFG_PUBLISH_CAPACITY_DEFAULT,
			   CFG_PUBLISH_CAPACITY_MIN, CFG_PUBLISH_CAPACITY_MAX, &pub->capacity);
	if (ret)
		return ret;
	if (pub->capacity & (pub->capacity - 1))
		return cfg_fail(p, &keys[1].value->start_mark, "publish.capacity",
				"expected a power of two, got %u", pub->capacity);
	pub->mode = CFG_PUBLISH_MODE_DEFAULT;
	if (keys[2].value) {
		ret = cfg_string_parse(p, keys[2].value, "publish.mode", mode, sizeof(mode));
		if (ret)
			return ret;
		pub->mode = (uint32_t)strtoul(mode, &end, 8);
		if (*end != '\0' || mode[0] != '0' || pub->mode > 0777 || (pub->mode & 0400) == 0)
			return cfg_fail(p, &keys[2].value->start_mark, "publish.mode",
					"expected an octal mode like \"0640\" readable by the owner, got \"%s\"",
					mode);
		/* Anyone who can write a segment can forge what strategies trade on. */
		if ((pub->mode & 022) != 0)
			return cfg_fail(p, &keys[2].value->start_mark, "publish.mode",
					"expected a mode writable by the owner alone (like \"0640\"), "
					"got \"%s\" (%s-writable)", mode,
					(pub->mode & 002) ? "world" : "group");
	}
	if (keys[3].value) {
		ret = cfg_string_parse(p, keys[3].value, "publish.group", pub->group, sizeof(pub->group));
		if (ret)
			return ret;
	}
	return cfg_uint_get(p, node, "publish", &keys[4], false, CFG_PUBLISH_DEPTH_DEFAULT, 1,
			    CFG_PUBLISH_DEPTH_MAX, &pub->depth);
}

/* Reads a YAML boolean: plain true or false (YAML 1.1's yes/no/on/off are refused). */
static int cfg_bool_parse(struct cfg_parser *p, yaml_node_t *node, const char *path, bool *out)
{
	const char *v = (const char *)node->data.scalar.value;

	if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
	    (strcmp(v, "true") != 0 && strcmp(v, "false") != 0))
		return cfg_type_fail(p, node, path, "true or false");
	*out = v[0] == 't';
	return 0;
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
 * The optional journal section. Read after lcores, ports and feeds: its lcore must be
 * a free one, and the mbufs must cover the references it may hold on top of every RX
 * ring and reorder window, or a slow disk would starve RX of buffers.
 */
static int cfg_journal_read(struct cfg_parser *p, yaml_node_t *node)
{
	enum { DIR_, LCORE, CPU, RING, BUFFER_KB, BUFFERS, O_DIRECT_, FSYNC_MB, FSYNC_MS,
	       ROTATE_MB, ROTATE_S, KEYS };
	struct cfg_key keys[KEYS] = {
		{ .name = "dir" }, { .name = "lcore" }, { .name = "cpu" }, { .name = "ring" },
		{ .name = "buffer_kb" }, { .name = "buffers" }, { .name = "o_direct" },
		{ .name = "fsync_mb" }, { .name = "fsync_ms" }, { .name = "rotate_mb" },
		{ .name = "rotate_s" },
	};
	struct cfg *cfg = p->cfg;
	struct cfg_journal *j = &cfg->journal;
	uint64_t held = 0;
	const char *why;
	uint32_t v;
	int ret;

	ret = cfg_map_read(p, node, "journal", keys, KEYS);
	if (ret)
		return ret;
	cfg_journal_defaults(cfg, j);
	j->enabled = true;
	ret = cfg_string_get(p, node, "journal", &keys[DIR_], j->dir, sizeof(j->dir));
	if (ret)
		return ret;
	if (cfg_dir_check(j->dir, &why) != 0)
		return cfg_fail(p, &keys[DIR_].value->start_mark, "journal.dir",
				"expected a writable directory, got \"%s\" (%s)", j->dir, why);
	ret = cfg_uint_get(p, node, "journal", &keys[LCORE], false, j->lcore, 0, CFG_LCORE_ID_MAX, &v);
	if (ret)
		return ret;
	j->lcore = (uint16_t)v;
	if (j->lcore == cfg->main_lcore)
		return cfg_fail(p, keys[LCORE].value ? &keys[LCORE].value->start_mark : &node->start_mark,
				"journal.lcore", "expected an lcore other than lcores.main, got %u", v);
	for (uint16_t i = 0; i < cfg->rx_lcores_count; i++)
		if (cfg->rx_lcores[i] == j->lcore)
			return cfg_fail(p, keys[LCORE].value ? &keys[LCORE].value->start_mark
							     : &node->start_mark,
					"journal.lcore", "expected an lcore not in lcores.rx, got %u", v);
	ret = cfg_uint_get(p, node, "journal", &keys[CPU], false, j->cpu, 0, CFG_LCORE_ID_MAX, &v);
	if (ret)
		return ret;
	j->cpu = (uint16_t)v;
	ret = cfg_uint_get(p, node, "journal", &keys[RING], false, CFG_JOURNAL_RING_DEFAULT,
			   CFG_JOURNAL_RING_MIN, CFG_JOURNAL_RING_MAX, &j->ring);
	if (ret)
		return ret;
	if (j->ring & (j->ring - 1))
		return cfg_fail(p, &keys[RING].value->start_mark, "journal.ring",
				"expected a power of two, got %u", j->ring);
	ret = cfg_uint_get(p, node, "journal", &keys[BUFFER_KB], false, CFG_JOURNAL_BUFFER_KB_DEFAULT,
			   CFG_JOURNAL_BUFFER_KB_MIN, CFG_JOURNAL_BUFFER_KB_MAX, &j->buffer_kb);
	if (ret)
		return ret;
	if (j->buffer_kb % 4 != 0)
		return cfg_fail(p, &keys[BUFFER_KB].value->start_mark, "journal.buffer_kb",
				"expected a multiple of 4 (whole pages for O_DIRECT), got %u", j->buffer_kb);
	ret = cfg_uint_get(p, node, "journal", &keys[BUFFERS], false, CFG_JOURNAL_BUFFERS_DEFAULT,
			   CFG_JOURNAL_BUFFERS_MIN, CFG_JOURNAL_BUFFERS_MAX, &j->buffers);
	if (ret)
		return ret;
	if (keys[O_DIRECT_].value) {
		ret = cfg_bool_parse(p, keys[O_DIRECT_].value, "journal.o_direct", &j->o_direct);
		if (ret)
			return ret;
	}
	ret = cfg_uint_get(p, node, "journal", &keys[FSYNC_MB], false, 0, 0, CFG_JOURNAL_FSYNC_MB_MAX,
			   &j->fsync_mb);
	if (ret)
		return ret;
	ret = cfg_uint_get(p, node, "journal", &keys[FSYNC_MS], false, 0, 0, CFG_JOURNAL_FSYNC_MS_MAX,
			   &j->fsync_ms);
	if (ret)
		return ret;
	if (j->fsync_mb != 0 && j->fsync_ms != 0)
		return cfg_fail(p, &keys[FSYNC_MS].key->start_mark, "journal.fsync_ms",
				"expected one fsync policy, got fsync_mb as well (line %zu)",
				keys[FSYNC_MB].key->start_mark.line + 1);
	ret = cfg_uint_get(p, node, "journal", &keys[ROTATE_MB], false, CFG_JOURNAL_ROTATE_MB_DEFAULT,
			   1, CFG_JOURNAL_ROTATE_MB_MAX, &j->rotate_mb);
	if (ret)
		return ret;
	ret = cfg_uint_get(p, node, "journal", &keys[ROTATE_S], false, CFG_JOURNAL_ROTATE_S_DEFAULT,
			   0, CFG_JOURNAL_ROTATE_S_MAX, &j->rotate_s);
	if (ret)
		return ret;
	held = (uint64_t)j->ring * cfg->rx_lcores_count;
	for (uint16_t i = 0; i < cfg->ports_count; i++)
		held += (uint64_t)cfg->ports[i].rx_queues * cfg->ports[i].rx_descriptors;
	for (uint16_t f = 0; f < cfg->feeds_count; f++)
		held += cfg->feeds[f].reorder_packets_max;
	if (held >= cfg->mbufs)
		return cfg_fail(p, keys[RING].value ? &keys[RING].value->start_mark : &node->start_mark,
				"journal.ring", "expected journal rings, RX descriptors and reorder "
				"windows to hold fewer than mbufs (%u) together, got %" PRIu64
				" (lower journal.ring or raise mbufs)", cfg->mbufs, held);
	return 0;
}

void cfg_stats_defaults(struct cfg_stats *stats)
{
	memset(stats, 0, sizeof(*stats));
	stats->interval_ms = CFG_STATS_INTERVAL_MS_DEFAULT;
	stats->log = true;
	/* segment stays empty: fhd names it per instance (<ring>-stats, or fh-stats-<pid>). */
}

/* The optional stats section: status lines, the stats segment, metrics, histogram files. */
static int cfg_stats_read(struct cfg_parser *p, yaml_node_t *node)
{
	enum { INTERVAL, LOG, SEGMENT, PROMETHEUS, HTTP, HIST_OUT, KEYS };
	struct cfg_key keys[KEYS] = {
		{ .name = "interval_ms" }, { .name = "log" }, { .name = "segment" },
		{ .name = "prometheus_file" }, { .name = "http" }, { .name = "hist_out" },
	};
	struct cfg_stats *st = &p->cfg->stats;
	char text[CFG_PATH_TEXT_MAX], *slash;
	const char *why;
	int ret;

	ret = cfg_map_read(p, node, "stats", keys, KEYS);
	if (ret)
		return ret;
	ret = cfg_uint_get(p, node, "stats", &keys[INTERVAL], false, CFG_STATS_INTERVAL_MS_DEFAULT,
			   CFG_STATS_INTERVAL_MS_MIN, CFG_STATS_INTERVAL_MS_MAX, &st->interval_ms);
	if (ret)
		return ret;
	if (keys[LOG].value) {
		ret = cfg_bool_parse(p, keys[LOG].value, "stats.log", &st->log);
		if (ret)
			return ret;
	}
	if (keys[SEGMENT].value) {
		ret = cfg_string_parse(p, keys[SEGMENT].value, "stats.segment", st->segment, sizeof(st->segment));
		if (ret)
			return ret;
		if (cfg_name_check(st->segment, sizeof(st->segment), &why) != 0)
			return cfg_name_fail(p, keys[SEGMENT].value, "stats.segment", "a /dev/shm segment", why);
	}
	if (keys[PROMETHEUS].value) {
		ret = cfg_string_parse(p, keys[PROMETHEUS].value, "stats.prometheus_file", st->prometheus_file,
				       sizeof(st->prometheus_file));
		if (ret)
			return ret;
		snprintf(text, sizeof(text), "%s", st->prometheus_file);
		slash = strrchr(text, '/');
		if (slash != NULL)
			*slash = '\0';
		if (cfg_dir_check(slash == NULL ? "." : text[0] ? text : "/", &why) != 0)
			return cfg_fail(p, &keys[PROMETHEUS].value->start_mark, "stats.prometheus_file",
					"expected a file in a writable directory, got \"%s\" (%s)",
					st->prometheus_file, why);
	}
	/* Refused rather than ignored until fhd serves it. */
	if (keys[HTTP].value)
		return cfg_type_fail(p, keys[HTTP].value, "stats.http",
				     "no http endpoint (not built yet; use stats.prometheus_file with "
				     "node_exporter's textfile collector)");
	if (keys[HIST_OUT].value) {
		ret = cfg_string_parse(p, keys[HIST_OUT].value, "stats.hist_out", st->hist_out,
				       sizeof(st->hist_out));
		if (ret)
			return ret;
		if (cfg_dir_check(st->hist_out, &why) != 0)
			return cfg_fail(p, &keys[HIST_OUT].value->start_mark, "stats.hist_out",
					"expected a writable directory, got \"%s\" (%s)", st->hist_out, why);
	}
	return 0;
}

static int cfg_root_read(struct cfg_parser *p, yaml_node_t *root)
{
	struct cfg_key keys[] = {
		{ .name = "eal" }, { .name = "lcores" }, { .name = "mbufs" },
		{ .name = "ports" }, { .name = "feeds" }, { .name = "publish" },
		{ .name = "journal" }, { .name = "stats" },
	};
	uint32_t v;
	int ret;

	cfg_stats_defaults(&p->cfg->stats);
	ret = cfg_map_read(p, root, "", keys, 8);
	if (ret)
		return ret;
	if (keys[0].value) {
		ret = cfg_eal_read(p, keys[0].value);
		if (ret)
			return ret;
	}
	if (!keys[1].value)
		return cfg_missing_fail(p, root, "", &keys[1], "a mapping");
	ret = cfg_lcores_read(p, keys[1].value);
	if (ret)
		return ret;
	ret = cfg_uint_get(p, root, "", &keys[2], false, CFG_MBUFS_DEFAULT, CFG_MBUFS_MIN,
			   CFG_MBUFS_MAX, &v);
	if (ret)
		return ret;
	p->cfg->mbufs = v;
	if (!keys[3].value)
		return cfg_missing_fail(p, root, "", &keys[3], "a list of ports");
	ret = cfg_ports_read(p, keys[3].value);
	if (ret)
		return ret;
	if (!keys[4].value)
		return cfg_missing_fail(p, root, "", &keys[4], "a list of feeds");
	ret = cfg_feeds_read(p, keys[4].value);
	if (ret)
		return ret;
	if (keys[5].value) {
		ret = cfg_publish_read(p, keys[5].value);
		if (ret)
			return ret;
	}
	if (keys[6].value) {
		ret = cfg_journal_read(p, keys[6].value);
		if (ret)
			return ret;
	}
	return keys[7].value ? cfg_stats_read(p, keys[7].value) : 0;
}

/* Reports a libyaml parse failure with its problem text and position. */
static int cfg_syntax_fail(struct cfg_parser *p, const yaml_parser_t *parser,
			   const char *text, size_t len)
{
	yaml_mark_t mark = parser->problem_mark;
	size_t i;

	if (parser->error == YAML_MEMORY_ERROR) {
		if (p->err && p->err_size)
			snprintf(p->err, p->err_size, "%s: out of memory parsing YAML", p->name);
		return -ENOMEM;
	}
	if (parser->error == YAML_READER_ERROR) {
		/* reader errors carry a byte offset, not a mark */
		memset(&mark, 0, sizeof(mark));
		for (i = 0; i < parser->problem_offset && i < len; i++) {
			if (text[i] == '\n') {
				mark.line++;
				mark.column = 0;
			} else {
				mark.column++;
			}
		}
	}
	if (parser->context)
		return cfg_fail(p, &mark, "<yaml>", "expected valid YAML, got a syntax error: %s (%s)",
				parser->problem ? parser->problem : "unknown", parser->context);
	return cfg_fail(p, &mark, "<yaml>", "expected valid YAML, got a syntax error: %s",
			parser->problem ? parser->problem : "unknown");
}

/*
 * Refuses collections nested deeper than CFG_DEPTH_MAX, and more than CFG_ANCHORS_MAX
 * anchors, before the document is built. libyaml's scanner keeps one simple-key slot
 * per open flow collection and walks all of them for every token, so "[[[[...]]]]"
 * costs time quadratic in its depth (80k levels: 25 s); its loader compares every new
 * anchor with all the earlier ones (140k anchors in under 1 MiB: 61 s). This pass
 * reads events, which the scanner produces lazily and which register no anchor, and
 * stops at the first collection too deep or anchor too many, having scanned only a
 * bounded stretch past it. A syntax error is left to the load that follows, which
 * reports it. 0 or -EINVAL/-ENOMEM.
 */
static int cfg_depth_check(struct cfg_parser *p, const char *text, size_t len)
{
	yaml_parser_t parser;
	yaml_event_t event;
	uint32_t depth = 0, anchors = 0;
	int ret = 0;
	bool done = false;

	if (!yaml_parser_initialize(&parser)) {
		if (p->err && p->err_size)
			snprintf(p->err, p->err_size, "%s: out of memory", p->name);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	/* bounded: each event consumes input, and the stream ends or fails */
	while (!done && ret == 0) {
		if (!yaml_parser_parse(&parser, &event))
			break;
		if (((event.type == YAML_SCALAR_EVENT && event.data.scalar.anchor) ||
		     (event.type == YAML_SEQUENCE_START_EVENT && event.data.sequence_start.anchor) ||
		     (event.type == YAML_MAPPING_START_EVENT && event.data.mapping_start.anchor)) &&
		    ++anchors > CFG_ANCHORS_MAX) {
			ret = cfg_fail(p, &event.start_mark, "<yaml>", "expected at most %d anchors, got more",
				       CFG_ANCHORS_MAX);
			yaml_event_delete(&event);
			break;
		}
		switch (event.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > CFG_DEPTH_MAX)
				ret = cfg_fail(p, &event.start_mark, "<yaml>",
					       "expected collections nested at most %d deep, got deeper",
					       CFG_DEPTH_MAX);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			assert(depth > 0);
			depth--;
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&event);
	}
	yaml_parser_delete(&parser);
	return ret;
}

int cfg_load_text(const char *name, const char *text, size_t len, struct cfg *out,
		  char *err, size_t err_size)
{
	struct cfg_parser p = { .name = name, .err = err, .err_size = err_size };
	yaml_parser_t parser;
	yaml_document_t document, extra;
	yaml_node_t *root;
	struct cfg *cfg;
	int ret;

	assert(name && text && out);
	if (err && err_size)
		err[0] = '\0';
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		if (err && err_size)
			snprintf(err, err_size, "%s: out of memory", name);
		return -ENOMEM;
	}
	snprintf(cfg->source, sizeof(cfg->source), "%s", name);
	p.cfg = cfg;

	if (!yaml_parser_initialize(&parser)) {
		free(cfg);
		if (err && err_size)
			snprintf(err, err_size, "%s: out of memory", name);
		return -ENOMEM;
	}
	ret = cfg_depth_check(&p, text, len);
	if (ret)
		goto out_parser;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &document)) {
		ret = cfg_syntax_fail(&p, &parser, text, len);
		goto out_parser;
	}
	p.document = &document;
	root = yaml_document_get_root_node(&document);
	if (!root) {
		yaml_mark_t start = { 0 };

		ret = cfg_fail(&p, &start, "", "expected a mapping, got an empty document");
		goto out_document;
	}

	/* a stream with a second document is a mistake, not something to ignore */
	if (!yaml_parser_load(&parser, &extra)) {
		ret = cfg_syntax_fail(&p, &parser, text, len);
		goto out_document;
	}
	root = yaml_document_get_root_node(&extra);
	if (root) {
		ret = cfg_fail(&p, &root->start_mark, "", "expected one YAML document, got a second");
		yaml_document_delete(&extra);
		goto out_document;
	}
	yaml_document_delete(&extra);

	ret = cfg_root_read(&p, yaml_document_get_root_node(&document));
	if (!ret) {
		assert(cfg->ports_count >= 1 && cfg->feeds_count >= 1 && cfg->rx_lcores_count >= 1);
		*out = *cfg;
	}
out_document:
	yaml_document_delete(&document);
out_parser:
	yaml_parser_delete(&parser);
	free(cfg);
	assert(ret <= 0);
	return ret;
}

int cfg_load_file(const char *path, struct cfg *out, char *err, size_t err_size)
{
	char *text;
	size_t len = 0, got;
	struct stat st;
	FILE *f;
	int ret, fd;

	assert(path && out);
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
		if (err && err_size)
			snprintf(err, err_size, "%s: cannot open: %s", path, strerror(-ret));
		return ret;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		if (err && err_size)
			snprintf(err, err_size, "%s: not a regular file, not a config file", path);
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
		if (err && err_size)
			snprintf(err, err_size, "%s: refused: %s (owner uid %u, mode %04o); the config can "
				 "load code into fhd (eal: -d), so it must belong to root or fhd's user (uid %u) "
				 "and be writable by no one else", path,
				 st.st_uid != 0 && st.st_uid != geteuid() ? "owned by another user" :
				 "writable by group or others", (unsigned)st.st_uid,
				 (unsigned)(st.st_mode & 07777), (unsigned)geteuid());
		return -EPERM;
	}
	f = fcntl(fd, F_SETFL, 0) == 0 ? fdopen(fd, "rb") : NULL;
	if (!f) {
		ret = -errno;
		close(fd);
		if (err && err_size)
			snprintf(err, err_size, "%s: cannot open: %s", path, strerror(-ret));
		return ret;
	}
	text = malloc(CFG_FILE_SIZE_MAX + 1);
	if (!text) {
		fclose(f);
		if (err && err_size)
			snprintf(err, err_size, "%s: out of memory", path);
		return -ENOMEM;
	}
	/* bounded: at most CFG_FILE_SIZE_MAX + 1 bytes are read */
	while (len <= CFG_FILE_SIZE_MAX) {
		got = fread(text + len, 1, CFG_FILE_SIZE_MAX + 1 - len, f);
		if (got == 0)
			break;
		len += got;
	}
	if (ferror(f)) {
		ret = -EIO;
		if (err && err_size)
			snprintf(err, err_size, "%s: cannot read", path);
	} else if (len > CFG_FILE_SIZE_MAX) {
		ret = -EFBIG;
		if (err && err_size)
			snprintf(err, err_size, "%s: larger than %d bytes, not a config file",
				 path, CFG_FILE_SIZE_MAX);
	} else {
		ret = cfg_load_text(path, text, len, out, err, err_size);
	}
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
	switch (protocol) {
	case CFG_PROTOCOL_ITCH50_MOLDUDP64:
		return CFG_PROTOCOL_ITCH50_MOLDUDP64_NAME;
	default:
		return "none";
	}
}
