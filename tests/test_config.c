/*
 * test_config: checks that config rejects each class of bad YAML with a message
 * pointing at the exact line:column and key path, then that the built-in default
 * and a minimal file relying on defaults load to the expected values. Negative
 * cases come first. Run from the repository root; exits 0 on pass, 1 on failure.
 */
#include "config/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A valid minimal config, in pieces that cases replace one at a time. */
#define LCORES "lcores:\n  main: 0\n  rx: [1]\n"			/* lines 1-3 */
#define PORTS "ports:\n  - name: p0\n    device: net_null0\n"		/* lines 4-6 */
#define FEED_HEAD "feeds:\n  - name: f\n    protocol: itch50-moldudp64\n    lcore: 1\n" /* 7-10 */
#define LINES "    lines:\n      A: { group: 239.1.1.1, udp_port: 1000, port: p0 }\n" /* 11-12 */
#define MINIMAL LCORES PORTS FEED_HEAD LINES
/* A snapshot section's required keys, then the key a case tries (line 13). */
#define SNAPSHOT "    snapshot: { server: \"1.2.3.4:80\", username: fh, password: pw"
#define RECOVERY "    recovery: { server: \"1.2.3.4:80\""

struct bad_case {
	const char *name;
	const char *yaml;
	const char *prefix;	/* the message must start with this: "t:LINE:COL: PATH: expected" */
};

static const struct bad_case bad_cases[] = {
	{ "syntax error", "lcores: [1, 2\nports: x\n",
	  "t:2:6: <yaml>: expected valid YAML, got a syntax error: did not find expected ','" },
	{ "empty document", "", "t:1:1: <top>: expected a mapping" },
	{ "two documents", MINIMAL "---\nx: 1\n", "t:14:1: <top>: expected one YAML document" },
	{ "top level not a mapping", "- 1\n", "t:1:1: <top>: expected a mapping" },
	{ "unknown top key", MINIMAL "bogus: 1\n", "t:13:1: bogus: expected one of " },
	{ "unknown nested key",
	  LCORES "ports:\n  - name: p0\n    device: x\n    speed: 10\n" FEED_HEAD LINES,
	  "t:7:5: ports[0].speed: expected one of " },
	{ "unknown line key",
	  LCORES PORTS FEED_HEAD
	  "    lines:\n      A: { group: 239.1.1.1, udp_port: 1000, port: p0, vlan: 3 }\n",
	  "t:12:56: feeds[0].lines.A.vlan: expected one of " },
	{ "unknown line name",
	  MINIMAL "      C: { group: 239.1.1.2, udp_port: 1000, port: p0 }\n",
	  "t:13:7: feeds[0].lines.C: expected one of A, B" },
	{ "duplicate key", "lcores:\n  main: 0\n  main: 2\n  rx: [1]\n" PORTS FEED_HEAD LINES,
	  "t:3:3: lcores.main: expected each key once" },
	{ "string for integer",
	  LCORES PORTS FEED_HEAD
	  "    lines:\n      A: { group: 239.1.1.1, udp_port: abc, port: p0 }\n",
	  "t:12:40: feeds[0].lines.A.udp_port: expected a decimal integer in 1..65535" },
	{ "quoted integer", MINIMAL "mbufs: \"2048\"\n", "t:13:8: mbufs: expected a decimal integer" },
	{ "list for mapping", "lcores: [0, 1]\n" PORTS FEED_HEAD LINES,
	  "t:1:9: lcores: expected a mapping, got a list" },
	{ "mapping for string",
	  LCORES "ports:\n  - name: { a: 1 }\n    device: x\n" FEED_HEAD LINES,
	  "t:5:11: ports[0].name: expected a string" },
	{ "integer out of range",
	  LCORES "ports:\n  - name: p0\n    device: x\n    rx_queues: 65\n" FEED_HEAD LINES,
	  "t:7:16: ports[0].rx_queues: expected a decimal integer in 1..64" },
	{ "negative integer", MINIMAL "mbufs: -2048\n", "t:13:8: mbufs: expected a decimal integer" },
	{ "signed integer", MINIMAL "mbufs: +2048\n", "t:13:8: mbufs: expected a decimal integer" },
	{ "trailing junk", MINIMAL "mbufs: 2048k\n", "t:13:8: mbufs: expected a decimal integer" },
	{ "hex integer", MINIMAL "mbufs: 0x800\n", "t:13:8: mbufs: expected a decimal integer" },
	{ "leading zero", MINIMAL "mbufs: 02048\n", "t:13:8: mbufs: expected a decimal integer" },
	{ "integer overflow", MINIMAL "mbufs: 99999999999999999999999\n",
	  "t:13:8: mbufs: expected a decimal integer in 1024..16777216" },
	{ "lcore id too big", "lcores:\n  main: 128\n  rx: [1]\n" PORTS FEED_HEAD LINES,
	  "t:2:9: lcores.main: expected a decimal integer in 0..127" },
	{ "unknown view", MINIMAL "    publish: { views: [orders, quotes] }\n",
	  "t:13:32: feeds[0].publish.views[1]: expected 'orders' or 'levels', got 'quotes'" },
	{ "view twice", MINIMAL "    publish: { views: [levels, levels] }\n",
	  "t:13:32: feeds[0].publish.views[1]: expected each view once, got 'levels' again" },
	{ "no view", MINIMAL "    publish: { views: [] }\n",
	  "t:13:23: feeds[0].publish.views: expected " },
	{ "views not a list", MINIMAL "    publish: { views: orders }\n",
	  "t:13:23: feeds[0].publish.views: expected " },
	{ "view not a string", MINIMAL "    publish: { views: [{ a: 1 }] }\n",
	  "t:13:24: feeds[0].publish.views[0]: expected 'orders' or 'levels'" },
	{ "unknown feed publish key", MINIMAL "    publish: { depth: 3 }\n",
	  "t:13:16: feeds[0].publish.depth: expected " },
	{ "bad IPv4 address",
	  LCORES PORTS FEED_HEAD
	  "    lines:\n      A: { group: 239.1.1, udp_port: 1000, port: p0 }\n",
	  "t:12:19: feeds[0].lines.A.group: expected an IPv4 address" },
	{ "IPv4 octet too big",
	  LCORES PORTS FEED_HEAD
	  "    lines:\n      A: { group: 239.1.1.256, udp_port: 1000, port: p0 }\n",
	  "t:12:19: feeds[0].lines.A.group: expected an IPv4 address" },
	{ "group not multicast",
	  LCORES PORTS FEED_HEAD
	  "    lines:\n      A: { group: 10.0.0.1, udp_port: 1000, port: p0 }\n",
	  "t:12:19: feeds[0].lines.A.group: expected a multicast IPv4 address" },
	{ "bad source address",
	  LCORES PORTS FEED_HEAD
	  "    lines:\n      A: { group: 239.1.1.1, udp_port: 1000, port: p0, source: x }\n",
	  "t:12:64: feeds[0].lines.A.source: expected an IPv4 address" },
	{ "unknown protocol",
	  LCORES PORTS "feeds:\n  - name: f\n    protocol: itch41\n    lcore: 1\n" LINES,
	  "t:9:15: feeds[0].protocol: expected 'itch50-moldudp64', got 'itch41'" },
	{ "name too long",
	  LCORES "ports:\n  - name: p0123456789012345678901234567890\n    device: x\n"
	  FEED_HEAD LINES,
	  "t:5:11: ports[0].name: expected a string of 1..31 characters, got 32 characters" },
	{ "name empty",
	  LCORES PORTS "feeds:\n  - name: \"\"\n    protocol: itch50-moldudp64\n    lcore: 1\n"
	  LINES,
	  "t:8:11: feeds[0].name: expected a string of 1..31 characters, got an empty string" },
	{ "device with a newline (it reaches the log lines)",
	  LCORES "ports:\n  - name: p0\n    device: \"kernel:lo\\n<0>fake\"\n" FEED_HEAD LINES,
	  "t:6:13: ports[0].device: expected printable ASCII without spaces (a PCI address, a vdev "
	  "or kernel:IFACE), got another character at position 10" },
	{ "duplicate port name",
	  LCORES PORTS "  - name: p0\n    device: y\n" FEED_HEAD LINES,
	  "t:7:11: ports[1].name: expected a unique port name, got 'p0' again" },
	{ "duplicate feed name",
	  MINIMAL "  - name: f\n    protocol: itch50-moldudp64\n    lcore: 1\n"
	  "    lines:\n      A: { group: 239.1.1.2, udp_port: 1000, port: p0 }\n",
	  "t:13:11: feeds[1].name: expected a unique feed name, got 'f' again" },
	{ "rx_descriptors not a power of two",
	  LCORES "ports:\n  - name: p0\n    device: x\n    rx_descriptors: 1000\n"
	  FEED_HEAD LINES,
	  "t:7:21: ports[0].rx_descriptors: expected a power of two in 64..16384, got 1000" },
	{ "line port does not exist",
	  LCORES PORTS FEED_HEAD
	  "    lines:\n      A: { group: 239.1.1.1, udp_port: 1000, port: p9 }\n",
	  "t:12:52: feeds[0].lines.A.port: expected the name of an entry in ports, got 'p9'" },
	{ "line queue beyond rx_queues",
	  LCORES PORTS FEED_HEAD
	  "    lines:\n      A: { group: 239.1.1.1, udp_port: 1000, port: p0, queue: 1 }\n",
	  "t:12:63: feeds[0].lines.A.queue: expected a queue below rx_queues of port 'p0' (1), got 1" },
	{ "feed lcore not in lcores.rx",
	  LCORES PORTS "feeds:\n  - name: f\n    protocol: itch50-moldudp64\n    lcore: 2\n" LINES,
	  "t:10:12: feeds[0].lcore: expected an lcore listed in lcores.rx, got 2" },
	{ "main lcore also rx", "lcores:\n  main: 0\n  rx: [1, 0]\n" PORTS FEED_HEAD LINES,
	  "t:3:11: lcores.rx[1]: expected an lcore other than lcores.main, got 0" },
	{ "rx lcore twice", "lcores:\n  main: 0\n  rx: [1, 2, 1]\n" PORTS FEED_HEAD LINES,
	  "t:3:14: lcores.rx[2]: expected each lcore once, got 1 again" },
	{ "no rx lcores", "lcores:\n  main: 0\n  rx: []\n" PORTS FEED_HEAD LINES,
	  "t:3:7: lcores.rx: expected a list of 1..16 lcore ids, got 0" },
	{ "same group and udp_port on two feeds",
	  MINIMAL "  - name: g\n    protocol: itch50-moldudp64\n    lcore: 1\n"
	  "    lines:\n      A: { group: 239.1.1.1, udp_port: 1000, port: p0 }\n",
	  "t:17:19: feeds[1].lines.A.group: expected a group:udp_port unique across lines, "
	  "got 239.1.1.1:1000 again (also feeds[0].lines.A)" },
	{ "same group and udp_port on A and B",
	  MINIMAL "      B: { group: 239.1.1.1, udp_port: 1000, port: p0 }\n",
	  "t:13:19: feeds[0].lines.B.group: expected a group:udp_port unique across lines" },
	{ "missing lines.A",
	  LCORES PORTS FEED_HEAD
	  "    lines:\n      B: { group: 239.1.1.1, udp_port: 1000, port: p0 }\n",
	  "t:12:7: feeds[0].lines.A: expected a mapping (required key), got nothing" },
	{ "missing required key",
	  LCORES "ports:\n  - name: p0\n" FEED_HEAD LINES,
	  "t:5:5: ports[0].device: expected a string (required key), got nothing" },
	{ "missing ports", LCORES FEED_HEAD LINES,
	  "t:1:1: ports: expected a list of ports (required key), got nothing" },
	{ "missing feeds", LCORES PORTS,
	  "t:1:1: feeds: expected a list of feeds (required key), got nothing" },
	{ "no feeds", LCORES PORTS "feeds: []\n",
	  "t:7:8: feeds: expected a list of 1..16 feeds, got 0" },
	{ "no ports", LCORES "ports: []\n" FEED_HEAD LINES,
	  "t:4:8: ports: expected a list of 1..8 ports, got 0" },
	{ "eal not strings", "eal: [\"-m\", [1]]\n" MINIMAL,
	  "t:1:13: eal[1]: expected a string of 1..255 characters, got a list" },
	{ "feed name with '/'",
	  LCORES PORTS "feeds:\n  - name: ../../x\n    protocol: itch50-moldudp64\n    lcore: 1\n" LINES,
	  "t:8:11: feeds[0].name: expected a name of [A-Za-z0-9_.-] not starting with '.' (it names file names), "
	  "got \"../../x\" (a name starting with '.')" },
	{ "feed name with '/' inside",
	  LCORES PORTS "feeds:\n  - name: a/b\n    protocol: itch50-moldudp64\n    lcore: 1\n" LINES,
	  "t:8:11: feeds[0].name: expected a name of [A-Za-z0-9_.-] not starting with '.' (it names file names), "
	  "got \"a/b\" (a name with '/')" },
	{ "feed name '..'",
	  LCORES PORTS "feeds:\n  - name: \"..\"\n    protocol: itch50-moldudp64\n    lcore: 1\n" LINES,
	  "t:8:11: feeds[0].name: expected a name of [A-Za-z0-9_.-] not starting with '.'" },
	{ "feed name with a quote",
	  LCORES PORTS "feeds:\n  - name: 'a\"b'\n    protocol: itch50-moldudp64\n    lcore: 1\n" LINES,
	  "t:8:11: feeds[0].name: expected a name of [A-Za-z0-9_.-] not starting with '.' (it names file names), "
	  "got \"a\"b\" (a name with a quote)" },
	{ "feed name with a control character",
	  LCORES PORTS "feeds:\n  - name: \"a\\nb\"\n    protocol: itch50-moldudp64\n    lcore: 1\n" LINES,
	  "t:8:11: feeds[0].name: expected a name of [A-Za-z0-9_.-] not starting with '.' (it names file names), "
	  "got \"a?b\" (a name with a control character)" },
	{ "feed name with a space",
	  LCORES PORTS "feeds:\n  - name: a b\n    protocol: itch50-moldudp64\n    lcore: 1\n" LINES,
	  "t:8:11: feeds[0].name: expected a name of [A-Za-z0-9_.-]" },
	{ "publish ring with '..'", MINIMAL "publish:\n  ring: ..\n",
	  "t:14:9: publish.ring: expected a name of [A-Za-z0-9_.-] not starting with '.' (it names /dev/shm segments)" },
	{ "publish ring with a newline", MINIMAL "publish:\n  ring: \"x\\ny\"\n",
	  "t:14:9: publish.ring: expected a name of [A-Za-z0-9_.-] not starting with '.' (it names /dev/shm segments), "
	  "got \"x?y\" (a name with a control character)" },
	{ "stats segment with '/'", MINIMAL "stats:\n  segment: a/../b\n",
	  "t:14:12: stats.segment: expected a name of [A-Za-z0-9_.-] not starting with '.' (it names a /dev/shm segment), "
	  "got \"a/../b\" (a name with '/')" },
	{ "publish mode world-writable", MINIMAL "publish:\n  ring: r\n  mode: \"0666\"\n",
	  "t:15:9: publish.mode: expected a mode writable by the owner alone (like \"0640\"), got \"0666\" (world-writable)" },
	{ "publish mode group-writable", MINIMAL "publish:\n  ring: r\n  mode: \"0660\"\n",
	  "t:15:9: publish.mode: expected a mode writable by the owner alone (like \"0640\"), got \"0660\" (group-writable)" },
	{ "publish mode other-writable only", MINIMAL "publish:\n  ring: r\n  mode: \"0602\"\n",
	  "t:15:9: publish.mode: expected a mode writable by the owner alone" },
	{ "nesting too deep in a flow list", MINIMAL "publish: " "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
	  "t:13:73: <yaml>: expected collections nested at most 64 deep, got deeper" },
	{ "nesting too deep in flow mappings", MINIMAL "x: " "{a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: {a: 1}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}\n",
	  "t:13:" },
	{ "newline in a quoted value stays out of the message",
	  LCORES PORTS FEED_HEAD
	  "    lines:\n      A: { group: 239.1.1.1, udp_port: 1000, port: \"p\\n\\x1b[2Jx\" }\n",
	  "t:12:52: feeds[0].lines.A.port: expected the name of an entry in ports, got 'p??[2Jx'" },
	{ "journal without dir", MINIMAL "journal:\n  ring: 1024\n",
	  "t:14:3: journal.dir: expected a string (required key), got nothing" },
	{ "journal dir missing", MINIMAL "journal:\n  dir: /nonexistent/fh-journal\n",
	  "t:14:8: journal.dir: expected a writable directory, got \"/nonexistent/fh-journal\" (No such file or directory)" },
	{ "journal dir not a directory", MINIMAL "journal:\n  dir: /etc/hostname\n",
	  "t:14:8: journal.dir: expected a writable directory, got \"/etc/hostname\" (not a directory)" },
	{ "journal ring not a power of two", MINIMAL "journal:\n  dir: /tmp\n  ring: 1000\n",
	  "t:15:9: journal.ring: expected a power of two, got 1000" },
	{ "journal lcore is an rx lcore", MINIMAL "journal:\n  dir: /tmp\n  lcore: 1\n",
	  "t:15:10: journal.lcore: expected an lcore not in lcores.rx, got 1" },
	{ "journal lcore is main", MINIMAL "journal:\n  dir: /tmp\n  lcore: 0\n",
	  "t:15:10: journal.lcore: expected an lcore other than lcores.main, got 0" },
	{ "journal two fsync policies", MINIMAL "journal:\n  dir: /tmp\n  fsync_mb: 4\n  fsync_ms: 10\n",
	  "t:16:3: journal.fsync_ms: expected one fsync policy, got fsync_mb as well (line 15)" },
	{ "journal o_direct not a boolean", MINIMAL "journal:\n  dir: /tmp\n  o_direct: yes\n",
	  "t:15:13: journal.o_direct: expected true or false, got 'yes'" },
	{ "journal buffer not whole pages", MINIMAL "journal:\n  dir: /tmp\n  buffer_kb: 130\n",
	  "t:15:14: journal.buffer_kb: expected a multiple of 4" },
	{ "journal ring starves RX of mbufs", MINIMAL "mbufs: 4096\njournal:\n  dir: /tmp\n  ring: 4096\n",
	  "t:13:8: mbufs: expected at least 7424, what can hold mbufs at once (feed holds 1024, the largest "
	  "feeds[0].reorder_window.packets 1024; RX descriptors 1024; journal rings 4160; lcore caches 1152; "
	  "RX bursts 64), got 4096: raise mbufs to 7424 or more (or leave it out: fhd sizes the pool), or "
	  "lower journal.ring" },
	/* Issue 20: held packets keep their mbuf; a hold the pool cannot back is refused at load. */
	{ "recovery hold beyond mbufs, no journal", MINIMAL RECOVERY ", hold: 1048576 }\nmbufs: 4095\n",
	  "t:14:8: mbufs: expected at least 1050432, what can hold mbufs at once (feed holds 1048576, the "
	  "largest feeds[0].recovery.hold 1048576; RX descriptors 1024; journal rings 0; lcore caches 768; "
	  "RX bursts 64), got 4095: raise mbufs to 1050432 or more (or leave it out: fhd sizes the pool), "
	  "or lower feeds[0].recovery.hold" },
	{ "default recovery hold beyond the old default mbufs", MINIMAL RECOVERY " }\nmbufs: 16383\n",
	  "t:14:8: mbufs: expected at least 67392, what can hold mbufs at once (feed holds 65536, the largest "
	  "feeds[0].recovery.hold 65536;" },
	{ "snapshot hold beyond mbufs", MINIMAL SNAPSHOT ", hold: 100000 }\nmbufs: 65535\n",
	  "t:14:8: mbufs: expected at least 101856, what can hold mbufs at once (feed holds 100000, the largest "
	  "feeds[0].snapshot.hold 100000;" },
	{ "every feed's hold counts",
	  MINIMAL RECOVERY ", hold: 40000 }\n"
	  "  - name: g\n    protocol: itch50-moldudp64\n    lcore: 1\n"
	  "    lines:\n      A: { group: 239.1.1.2, udp_port: 1000, port: p0 }\n" SNAPSHOT ", hold: 30000 }\n"
	  "mbufs: 65535\n",
	  "t:20:8: mbufs: expected at least 71856, what can hold mbufs at once (feed holds 70000, the largest "
	  "feeds[0].recovery.hold 40000;" },
	{ "snapshot.hold below the reorder window", MINIMAL SNAPSHOT ", hold: 8 }\n",
	  "t:13:73: feeds[0].snapshot.hold: expected a decimal integer in 1024..1048576, got '8'" },
	{ "snapshot.hold above 1048576", MINIMAL SNAPSHOT ", hold: 1048577 }\n",
	  "t:13:73: feeds[0].snapshot.hold: expected a decimal integer in 1024..1048576, got '1048577'" },
	{ "snapshot.confirm_ms 0", MINIMAL SNAPSHOT ", confirm_ms: 0 }\n",
	  "t:13:79: feeds[0].snapshot.confirm_ms: expected a decimal integer in 1..600000, got '0'" },
	{ "snapshot.confirm_ms above 600000", MINIMAL SNAPSHOT ", confirm_ms: 600001 }\n",
	  "t:13:79: feeds[0].snapshot.confirm_ms: expected a decimal integer in 1..600000, got '600001'" },
	{ "snapshot.resync_backoff_ms above 600000", MINIMAL SNAPSHOT ", resync_backoff_ms: 600001 }\n",
	  "t:13:86: feeds[0].snapshot.resync_backoff_ms: expected a decimal integer in 0..600000, got '600001'" },
	{ "snapshot.resyncs above 1000", MINIMAL SNAPSHOT ", resyncs: 1001 }\n",
	  "t:13:76: feeds[0].snapshot.resyncs: expected a decimal integer in 0..1000, got '1001'" },
	{ "snapshot.resyncs not a number", MINIMAL SNAPSHOT ", resyncs: many }\n",
	  "t:13:76: feeds[0].snapshot.resyncs: expected a decimal integer in 0..1000" },
};

static int failures;

static void report(const char *name, bool ok, const char *detail)
{
	printf("%-40s %s", name, ok ? "PASS" : "FAIL");
	if (!ok && detail)
		printf(" (%s)", detail);
	printf("\n");
	if (!ok)
		failures++;
}

static void bad_case_run(const struct bad_case *c)
{
	char err[CFG_ERROR_MAX] = "";
	struct cfg *cfg = calloc(1, sizeof(*cfg));
	int ret;

	if (!cfg) {
		report(c->name, false, "out of memory");
		return;
	}
	ret = cfg_load_text("t", c->yaml, strlen(c->yaml), cfg, err, sizeof(err));
	if (ret != -EINVAL)
		report(c->name, false, ret ? err : "accepted");
	else if (strncmp(err, c->prefix, strlen(c->prefix)) || strchr(err, '\n'))
		report(c->name, false, err);
	else
		report(c->name, true, NULL);
	free(cfg);
}

static bool line_is(const struct cfg_line *line, uint32_t group, uint16_t udp_port)
{
	return line->present && line->group_ip == group && line->udp_port == udp_port;
}

static void default_case_run(void)
{
	char err[CFG_ERROR_MAX] = "";
	struct cfg *cfg = calloc(1, sizeof(*cfg));
	const struct cfg_feed *feed;
	const char *text;
	size_t len = 0;
	bool ok;
	int ret;

	if (!cfg) {
		report("default config", false, "out of memory");
		return;
	}
	ret = cfg_load_default(cfg, err, sizeof(err));
	feed = &cfg->feeds[0];
	ok = ret == 0 && cfg->feeds_count == 1 && !strcmp(feed->name, "itch") &&
	     feed->protocol == CFG_PROTOCOL_ITCH50_MOLDUDP64 &&
	     !strcmp(cfg_protocol_name(feed->protocol), "itch50-moldudp64") &&
	     line_is(&feed->lines[CFG_LINE_A], 0xe9360c6f, 26477) &&	/* 233.54.12.111 */
	     line_is(&feed->lines[CFG_LINE_B], 0xe931c46f, 26477) &&	/* 233.49.196.111 */
	     feed->lcore == 1 && cfg->main_lcore == 0 &&
	     cfg->rx_lcores_count == 1 && cfg->rx_lcores[0] == 1 &&
	     cfg->ports_count == 1 && !strcmp(cfg->ports[0].name, "p0") &&
	     cfg->eal_args_count == 6 && !strcmp(cfg->eal_args[0], "--no-huge") &&
	     /* a full NASDAQ day: over 8,000 locates, a few million live orders */
	     feed->book.instruments_max == 16384 && feed->book.orders_max == 4000000 &&
	     feed->book.levels_max == 2048 &&
	     !strcmp(cfg->source, "<default>/config/default.yaml");
	report("default config", ok, ret ? err : "wrong values");

	text = cfg_default_text(&len);
	ok = len > 0 && text[len] == '\0' && strlen(text) == len &&
	     strstr(text, "itch50-moldudp64");
	report("default text", ok, "not the embedded default.yaml");
	free(cfg);
}

static void minimal_case_run(void)
{
	static const char yaml[] = "eal: []\n" MINIMAL;
	char err[CFG_ERROR_MAX] = "";
	struct cfg *cfg = calloc(1, sizeof(*cfg));
	const struct cfg_feed *feed;
	bool ok;
	int ret;

	if (!cfg) {
		report("minimal config with defaults", false, "out of memory");
		return;
	}
	ret = cfg_load_text("min", yaml, strlen(yaml), cfg, err, sizeof(err));
	feed = &cfg->feeds[0];
	ok = ret == 0 && cfg->eal_args_count == 0 && cfg->mbufs == 16383 &&
	     cfg->ports[0].rx_queues == 1 && cfg->ports[0].rx_descriptors == 1024 &&
	     !strcmp(cfg->ports[0].device, "net_null0") &&
	     line_is(&feed->lines[CFG_LINE_A], 0xef010101, 1000) &&
	     feed->lines[CFG_LINE_A].queue == 0 && feed->lines[CFG_LINE_A].port_index == 0 &&
	     !feed->lines[CFG_LINE_A].source_present && !feed->lines[CFG_LINE_B].present &&
	     feed->reorder_packets_max == 1024 && feed->reorder_window_us == 5000 &&
	     feed->book.instruments_max == 16384 && feed->book.orders_max == 4000000 &&
	     feed->book.levels_max == 2048 && feed->publish_views == CFG_VIEWS_ALL &&
	     !strcmp(cfg->source, "min");
	report("minimal config with defaults", ok, ret ? err : "wrong values");
	free(cfg);
}

/* A feed's publish.views: each list gives its own views, in any order. */
static void views_case_run(void)
{
	static const struct { const char *list; uint8_t views; } cases[] = {
		{ "[levels]", CFG_VIEW_LEVELS }, { "[orders]", CFG_VIEW_ORDERS },
		{ "[levels, orders]", CFG_VIEWS_ALL }, { "[\"orders\", levels]", CFG_VIEWS_ALL },
	};
	struct cfg *cfg = calloc(1, sizeof(*cfg));
	char yaml[512], err[CFG_ERROR_MAX] = "";
	bool ok = cfg != NULL;

	for (size_t i = 0; ok && i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(yaml, sizeof(yaml), "%s    publish: { views: %s }\n", MINIMAL, cases[i].list);
		ok = cfg_load_text("v", yaml, strlen(yaml), cfg, err, sizeof(err)) == 0 &&
		     cfg->feeds[0].publish_views == cases[i].views;
	}
	report("feed publish.views", ok, err[0] ? err : "wrong views");
	free(cfg);
}

/* The snapshot section's keys: their defaults, and each value given read into its field. */
static void snapshot_case_run(void)
{
	static const char given[] = MINIMAL SNAPSHOT ", timeout_ms: 500, retries: 7, max_ms: 5000, hold: 4096, "
		"confirm_ms: 600000, resync_backoff_ms: 0, resyncs: 1000 }\n";
	static const char defaults[] = MINIMAL SNAPSHOT " }\n";
	struct cfg *cfg = calloc(1, sizeof(*cfg));
	const struct cfg_snapshot *snap;
	char err[CFG_ERROR_MAX] = "";
	bool ok;

	if (!cfg) {
		report("snapshot defaults", false, "out of memory");
		return;
	}
	snap = &cfg->feeds[0].snapshot;
	ok = cfg_load_text("s", defaults, strlen(defaults), cfg, err, sizeof(err)) == 0 && snap->enabled &&
	     snap->timeout_ms == 15000 && snap->retries == 3 && snap->max_ms == 600000 &&
	     snap->hold == 65536 && snap->confirm_ms == 2000 && snap->resync_backoff_ms == 1000 &&
	     snap->resyncs_max == 5 && !strcmp(snap->username, "fh");
	report("snapshot defaults", ok, err[0] ? err : "wrong values");
	ok = cfg_load_text("s", given, strlen(given), cfg, err, sizeof(err)) == 0 && snap->enabled &&
	     snap->timeout_ms == 500 && snap->retries == 7 && snap->max_ms == 5000 && snap->hold == 4096 &&
	     snap->confirm_ms == 600000 && snap->resync_backoff_ms == 0 && snap->resyncs_max == 1000;
	report("snapshot keys given", ok, err[0] ? err : "wrong values");
	free(cfg);
}

/*
 * mbufs left out: the pool is what the config can hold at once, rounded up to 2^n - 1,
 * at least 16383; given, exactly the need is enough.
 */
static void mbufs_case_run(void)
{
	static const struct { const char *name, *yaml; uint32_t mbufs; } cases[] = {
		{ "mbufs left out: 16383 at least", MINIMAL, 16383 },
		{ "mbufs left out: sized for the recovery hold", MINIMAL RECOVERY " }\n", 131071 },
		{ "mbufs left out: the largest of a feed's holds",
		  MINIMAL RECOVERY ", hold: 70000 }\n" SNAPSHOT ", hold: 200000 }\n", 262143 },
		{ "mbufs left out: the journal counts",
		  MINIMAL "journal:\n  dir: /tmp\n  ring: 65536\n", 131071 },
		{ "mbufs given: the need itself is enough", MINIMAL RECOVERY " }\nmbufs: 67392\n", 67392 },
	};
	struct cfg *cfg = calloc(1, sizeof(*cfg));
	char err[CFG_ERROR_MAX];
	int ret;

	for (size_t i = 0; cfg != NULL && i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		ret = cfg_load_text("m", cases[i].yaml, strlen(cases[i].yaml), cfg, err, sizeof(err));
		report(cases[i].name, ret == 0 && cfg->mbufs == cases[i].mbufs, ret ? err : "wrong mbufs");
	}
	/* fhd's replay ports: counted again, and refused at the mbufs key when given. */
	ret = cfg_load_text("m", MINIMAL "mbufs: 4096\n", strlen(MINIMAL "mbufs: 4096\n"), cfg, err, sizeof(err));
	ret = ret ? ret : cfg_mbufs_size(cfg, 8 * 1024, "8 replay ports", err, sizeof(err));
	report("replay ports counted again", ret == -EINVAL && strstr(err, "m:13:8: mbufs: expected at least "
	       "10048, what can hold mbufs at once (feed holds 1024, the largest feeds[0].reorder_window.packets "
	       "1024; RX descriptors 8192 of 8 replay ports;") == err && strstr(err, "lower the --replay captures"),
	       err);
	ret = cfg_load_text("m", MINIMAL, strlen(MINIMAL), cfg, err, sizeof(err));
	ret = ret ? ret : cfg_mbufs_size(cfg, 20000, "replay ports", err, sizeof(err));
	report("replay ports size a pool left out", ret == 0 && cfg->mbufs == 32767, err);
	free(cfg);
}

static void file_cases_run(void)
{
	static const char missing[] = "/nonexistent/fh-test-config.yaml";
	char err[CFG_ERROR_MAX] = "";
	struct cfg *cfg = calloc(1, sizeof(*cfg));
	int ret;

	if (!cfg) {
		report("missing file", false, "out of memory");
		return;
	}
	ret = cfg_load_file(missing, cfg, err, sizeof(err));
	report("missing file", ret == -ENOENT && strstr(err, missing), err);

	ret = cfg_load_file("config/default.yaml", cfg, err, sizeof(err));
	report("default.yaml from file", ret == 0 &&
	       !strcmp(cfg->source, "config/default.yaml") && cfg->feeds_count == 1, err);
	free(cfg);
}

/*
 * The nesting bomb of issue 9 (L8): "publish:" then 100000 '[' and as many ']'. Before the
 * depth cap libyaml took minutes; now the load stops at depth 65. No timing is asserted:
 * tests/test_config_errors.sh runs fhd on it under timeout.
 */
static void nesting_bomb_run(void)
{
	enum { DEPTH = 100000 };
	static const char head[] = MINIMAL "publish: ";
	size_t len = strlen(head) + 2 * DEPTH + 1;
	char *text = malloc(len + 1), err[CFG_ERROR_MAX] = "";
	struct cfg *cfg = calloc(1, sizeof(*cfg));
	int ret;

	if (text == NULL || cfg == NULL) {
		report("nesting bomb", false, "out of memory");
		free(text);
		free(cfg);
		return;
	}
	memcpy(text, head, strlen(head));
	memset(text + strlen(head), '[', DEPTH);
	memset(text + strlen(head) + DEPTH, ']', DEPTH);
	text[len - 1] = '\n';
	text[len] = '\0';
	ret = cfg_load_text("t", text, len, cfg, err, sizeof(err));
	report("nesting bomb (100000 levels)", ret == -EINVAL &&
	       !strcmp(err, "t:13:73: <yaml>: expected collections nested at most 64 deep, got deeper"), err);
	free(text);
	free(cfg);
}

/*
 * The anchor bomb: libyaml's loader compares each anchor with every earlier one, so
 * 140k anchors in under 1 MiB took 61 s. The load stops at anchor 257, before the
 * document is built. No timing is asserted: test_config_errors.sh runs fhd on it.
 */
static void anchor_bomb_run(void)
{
	enum { ANCHORS = 100000 };
	static const char head[] = MINIMAL "x: [";
	size_t size = strlen(head) + ANCHORS * 12 + 4, len;
	char *text = malloc(size), err[CFG_ERROR_MAX] = "";
	struct cfg *cfg = calloc(1, sizeof(*cfg));
	int ret;

	if (text == NULL || cfg == NULL) {
		report("anchor bomb", false, "out of memory");
		free(text);
		free(cfg);
		return;
	}
	len = (size_t)snprintf(text, size, "%s", head);
	for (int i = 0; i < ANCHORS; i++)
		len += (size_t)snprintf(text + len, size - len, "&a%d 0,", i);
	len += (size_t)snprintf(text + len, size - len, "]\n");
	ret = cfg_load_text("t", text, len, cfg, err, sizeof(err));
	report("anchor bomb (100000 anchors)", ret == -EINVAL &&
	       strstr(err, "t:13:") == err && strstr(err, "<yaml>: expected at most 256 anchors, got more"), err);
	/* a few anchors and aliases are still YAML like any other */
	snprintf(text, size, "%s", MINIMAL "mbufs: &m 4096\n");
	ret = cfg_load_text("t", text, strlen(text), cfg, err, sizeof(err));
	report("an anchor within the limit", ret == 0 && cfg->mbufs == 4096, err);
	free(text);
	free(cfg);
}

int main(void)
{
	size_t i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		bad_case_run(&bad_cases[i]);
	views_case_run();
	nesting_bomb_run();
	anchor_bomb_run();
	default_case_run();
	minimal_case_run();
	snapshot_case_run();
	mbufs_case_run();
	file_cases_run();
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
