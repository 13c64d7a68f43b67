/*
 * config: fhd's run configuration, loaded from YAML with libyaml and validated as a
 * whole before DPDK starts. Every error names file:line:column, the key, and what
 * was expected; the caller prints it and exits with status 2. The struct below is
 * plain data with fixed capacities so it can be copied and kept for the whole run.
 */
#ifndef FH_CONFIG_H
#define FH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CFG_NAME_MAX 32		/* feed and port names, including the NUL */
#define CFG_DEVICE_MAX 256	/* PCI address or vdev string, including the NUL */
#define CFG_ARG_MAX 256		/* one EAL argument, including the NUL */
#define CFG_EAL_ARGS_MAX 32
#define CFG_PORTS_MAX 8
#define CFG_FEEDS_MAX 16
#define CFG_RX_LCORES_MAX 16
#define CFG_LCORE_ID_MAX 127	/* lcore ids accepted: 0..CFG_LCORE_ID_MAX */
#define CFG_ERROR_MAX 512

enum cfg_protocol {
	CFG_PROTOCOL_NONE = 0,
	CFG_PROTOCOL_ITCH50_MOLDUDP64, /* YAML: itch50-moldudp64 */
};

enum cfg_line_id { CFG_LINE_A = 0, CFG_LINE_B = 1, CFG_LINES_MAX = 2 };

struct cfg_line {
	bool present;
	uint32_t group_ip;	/* multicast group, host byte order; YAML key: group */
	uint16_t udp_port;	/* YAML key: udp_port (1..65535) */
	bool source_present;
	uint32_t source_ip;	/* host byte order; YAML key: source (optional) */
	uint16_t port_index;	/* index into cfg.ports; YAML key: port (a port name) */
	uint16_t queue;		/* RX queue on that port; YAML key: queue (default 0) */
};

struct cfg_book {
	uint32_t instruments_max;	/* YAML: instruments, 1..65536 */
	uint32_t orders_max;		/* YAML: orders, 1..(1 << 28) live orders */
	uint32_t levels_max;		/* YAML: levels, 1..65536 price levels per side */
};

/*
 * The views a feed publishes: orders = ORDER_ADDED/REDUCED/REPLACED/DELETED; levels =
 * LEVEL_CHANGED, TOP_OF_BOOK and the conflated view. Trades, status, gaps, packet
 * ends, BOOK_CLEARED and INSTRUMENT_DEFINED are always published.
 */
enum cfg_view {
	CFG_VIEW_ORDERS = 1 << 0,
	CFG_VIEW_LEVELS = 1 << 1,
	CFG_VIEWS_ALL = CFG_VIEW_ORDERS | CFG_VIEW_LEVELS,
};

/*
 * MoldUDP64 re-request (YAML: feeds[].recovery, optional): a hole both lines lost is
 * asked for again from the server by unicast UDP, while later packets are held.
 */
struct cfg_recovery {
	bool enabled;			/* the section is present */
	uint32_t server_ip;		/* YAML: server, "A.B.C.D:PORT" (required in the section) */
	uint16_t server_port;
	uint32_t timeout_ms;		/* YAML: timeout_ms, a request's first reply timeout, 1..60000, default 1000 */
	uint32_t retries;		/* YAML: retries, re-sends of an unanswered request, 0..100, default 5 */
	uint32_t backoff;		/* YAML: backoff, timeout factor per retry, 1..8, default 2 */
	uint32_t timeout_max_ms;	/* YAML: timeout_max_ms, cap of a backed-off timeout, default 8000 */
	uint32_t in_flight;		/* YAML: in_flight, requests outstanding per feed, 1..64, default 8 */
	uint32_t request_messages;	/* YAML: request_messages, most messages asked for in one request,
					 * 1..65534, default 200 */
	uint32_t hold;			/* YAML: hold, packets held while a hole is recovered,
					 * reorder_window.packets..1048576, default 65536 */
};

#define CFG_SOUP_USERNAME_MAX 7		/* SoupBinTCP: 6 characters, and the NUL */
#define CFG_SOUP_PASSWORD_MAX 11	/* 10 characters, and the NUL */

/* GLIMPSE snapshot over SoupBinTCP (YAML: feeds[].snapshot, optional). */
struct cfg_snapshot {
	bool enabled;
	uint32_t server_ip;		/* YAML: server, "A.B.C.D:PORT" (required in the section) */
	uint16_t server_port;
	char username[CFG_SOUP_USERNAME_MAX];	/* YAML: username, up to 6 characters (required) */
	char password[CFG_SOUP_PASSWORD_MAX];	/* YAML: password, up to 10 characters (required) */
	uint32_t timeout_ms;		/* YAML: timeout_ms, silence that ends a login or snapshot, default 15000 */
	uint32_t retries;		/* YAML: retries, new logins after a failed one, 0..100, default 3 */
	uint32_t max_ms;		/* YAML: max_ms, longest a login may take to End of Snapshot,
					 * 1000..86400000, default 600000 (a server that trickles) */
	uint32_t hold;			/* YAML: hold, line packets held while a snapshot is taken
					 * (the oldest dropped past it), reorder_window.packets..1048576,
					 * default 65536 */
	uint32_t confirm_ms;		/* YAML: confirm_ms, how long (the feed's clock) a line packet may
					 * take to reach an End of Snapshot's sequence before the snapshot
					 * is refused, 1..600000, default 2000 */
	uint32_t resync_backoff_ms;	/* YAML: resync_backoff_ms, wait before a re-sync after a loss,
					 * doubled per re-sync in a row, 0..600000, default 1000 */
	uint32_t resyncs_max;		/* YAML: resyncs, re-syncs per session before the feed stays
					 * STALE until a new session, 0..1000, default 5 */
};

struct cfg_feed {
	char name[CFG_NAME_MAX];
	enum cfg_protocol protocol;
	struct cfg_line lines[CFG_LINES_MAX];	/* YAML: lines: {A: {...}, B: {...}}; A required */
	uint16_t lcore;				/* RX lcore owning the feed; must be in lcores.rx */
	uint32_t reorder_packets_max;		/* YAML: reorder_window.packets, 1..65536, default 1024 */
	uint32_t reorder_window_us;		/* YAML: reorder_window.us, 0..10000000, default 5000 */
	int32_t exchange_utc_offset_min;	/* YAML: exchange_utc_offset_min, -720..840, default 0:
						 * the UTC offset of the day the exchange's timestamps count
						 * from (ITCH: ns since midnight, US/Eastern: -300 or -240) */
	struct cfg_book book;
	uint8_t publish_views;			/* YAML: publish.views, a list of orders and/or levels
						 * (enum cfg_view bits), default both */
	struct cfg_recovery recovery;
	struct cfg_snapshot snapshot;
};

#define CFG_RX_QUEUES_MAX 64	/* a port's RX queues at most */

/* How a port's lines join their groups (YAML: ports[].igmp). */
enum cfg_igmp_mode {
	CFG_IGMP_AUTO = 0,	/* kernel where the kernel owns the interface, fhd on PCI ports, else off */
	CFG_IGMP_FHD,		/* fhd sends IGMPv3 reports and answers queries itself (DPDK ports) */
	CFG_IGMP_KERNEL,	/* the kernel joins, through a socket per line (kernel-owned interfaces) */
	CFG_IGMP_OFF,		/* nobody joins: the network delivers the groups without (static joins) */
};

struct cfg_port {
	char name[CFG_NAME_MAX];
	char device[CFG_DEVICE_MAX];	/* PCI address (0000:01:00.0) or vdev string (net_af_packet0,iface=x) */
	uint16_t rx_queues;		/* 1..CFG_RX_QUEUES_MAX, default 1 */
	uint16_t rx_descriptors;	/* 64..16384, power of two, default 1024 */
	uint32_t rcvbuf_bytes;		/* device "kernel:IFACE": each line socket's receive buffer,
					 * CFG_RCVBUF_BYTES_MIN..MAX, default CFG_RCVBUF_BYTES_DEFAULT */
	enum cfg_igmp_mode igmp;	/* YAML: igmp, auto|fhd|kernel|off, default auto */
	uint32_t igmp_source_ip;	/* YAML: igmp_source, fhd's reports' IPv4 source, host order,
					 * default 0.0.0.0 (RFC 3376 §4.2.13 allows it) */
	bool flow_isolate;		/* rte_flow_isolate before configure (DPDK ports), default false */
};

/* 32 MiB holds about 0.4 s of a 100,000 packets/s feed of 300-byte datagrams (with the kernel's overhead). */
#define CFG_RCVBUF_BYTES_DEFAULT (32u << 20)
#define CFG_RCVBUF_BYTES_MIN (64u << 10)
#define CFG_RCVBUF_BYTES_MAX (1u << 30)

#define CFG_RING_NAME_MAX 48	/* publish ring name, including the NUL */
/* What publish gets when the config leaves a key out (or fhd --publish gives no section). */
#define CFG_PUBLISH_CAPACITY_DEFAULT (1u << 20)	/* events per ring */
#define CFG_PUBLISH_MODE_DEFAULT 0640
#define CFG_PUBLISH_DEPTH_DEFAULT 10		/* conflated levels per side */
#define CFG_PUBLISH_DEPTH_MAX 64		/* the conflated view's CONFLATED_DEPTH_MAX (asserted in fhd.c) */

struct cfg_publish {
	bool enabled;			/* the section is present (or fhd --publish) */
	char ring[CFG_RING_NAME_MAX];	/* YAML: ring; segments /dev/shm/<ring>-lcore<N> */
	uint32_t capacity;		/* YAML: capacity, events per ring, power of two, default
					 * CFG_PUBLISH_CAPACITY_DEFAULT */
	uint32_t mode;			/* YAML: mode, octal string, default "0640"; never group- or
					 * other-writable (mode & 022 is refused) */
	char group[CFG_NAME_MAX];	/* YAML: group (optional): the segments' group */
	uint32_t depth;			/* YAML: depth, conflated levels per side, 1..64, default 10 */
};

#define CFG_PATH_TEXT_MAX 256	/* a directory path, including the NUL */

/*
 * The packet journal (YAML: journal, optional; or fhd --journal DIR): every received
 * frame in pcapng files under dir, written by a journal lcore with io_uring.
 */
struct cfg_journal {
	bool enabled;
	char dir[CFG_PATH_TEXT_MAX];	/* YAML: dir, an existing writable directory */
	uint16_t lcore;			/* YAML: lcore (default: one past the highest lcore used) */
	uint16_t cpu;			/* YAML: cpu it runs on (default: lcores.main's) */
	uint32_t ring;			/* YAML: ring, packet references per RX lcore, power of two, default 8192 */
	uint32_t buffer_kb;		/* YAML: buffer_kb, one write buffer, multiple of 4, default 1024 */
	uint32_t buffers;		/* YAML: buffers, 2..64, default 8 */
	bool o_direct;			/* YAML: o_direct, default false */
	uint32_t fsync_mb;		/* YAML: fsync_mb, fsync every N MB written (0: never) */
	uint32_t fsync_ms;		/* YAML: fsync_ms, fsync every N ms (0: never); not with fsync_mb */
	uint32_t rotate_mb;		/* YAML: rotate_mb, new file past N MB, default 1024 */
	uint32_t rotate_s;		/* YAML: rotate_s, new file every N s (0: never), default 3600 */
};

#define CFG_STATS_NAME_MAX 48	/* stats segment name, including the NUL */

/* Statistics and latency reporting (YAML: stats, optional; all keys optional). */
struct cfg_stats {
	uint32_t interval_ms;		/* YAML: interval_ms, status line and refresh period, default 1000 */
	bool log;			/* YAML: log, one status line per feed each interval, default true */
	char segment[CFG_STATS_NAME_MAX];	/* YAML: segment, /dev/shm/<segment> for fh stat; default ""
						 * (fhd picks <publish.ring>-stats, else fh-stats-<pid>) */
	char prometheus_file[CFG_PATH_TEXT_MAX];	/* YAML: prometheus_file, refreshed each interval */
	bool http;			/* YAML: http, "A.B.C.D:PORT" where fhd serves /metrics; default off */
	uint32_t http_ip;		/* host order */
	uint16_t http_port;		/* 1..65535 */
	char hist_out[CFG_PATH_TEXT_MAX];	/* YAML: hist_out, directory for percentile files at exit */
};

struct cfg {
	char source[CFG_DEVICE_MAX];	/* the file name the config came from, for messages */

	char eal_args[CFG_EAL_ARGS_MAX][CFG_ARG_MAX];	/* YAML: eal: [strings] */
	uint16_t eal_args_count;

	uint16_t main_lcore;				/* YAML: lcores.main */
	uint16_t rx_lcores[CFG_RX_LCORES_MAX];		/* YAML: lcores.rx: [ids], at least one */
	uint16_t rx_lcores_count;

	uint32_t mbufs;			/* YAML: mbufs, 1024..(1 << 24); default: what the config can
					 * hold at once (cfg_mbufs_size), at least CFG_MBUFS_DEFAULT_MIN */
	uint32_t mbufs_line;		/* where mbufs was given (1-based), for messages; 0: not given */
	uint32_t mbufs_column;

	struct cfg_port ports[CFG_PORTS_MAX];
	uint16_t ports_count;

	struct cfg_feed feeds[CFG_FEEDS_MAX];
	uint16_t feeds_count;

	struct cfg_publish publish;	/* YAML: publish (optional) */
	struct cfg_journal journal;	/* YAML: journal (optional) */
	struct cfg_stats stats;		/* YAML: stats (optional) */
	char user[CFG_NAME_MAX];	/* YAML: user (optional): fhd drops root to it once set up */
	char group[CFG_NAME_MAX];	/* YAML: group (optional; default: the user's own group) */
};

/*
 * The packet pool (mbufs) must hold at once everything that can keep an mbuf, or one
 * feed's hold takes the buffers another feed's lines need, and the port drops without
 * a count. What can: every feed's arbiter (held packets keep their mbuf), every RX
 * descriptor, the journal's rings, a full mempool cache per lcore that caches, and the
 * burst each RX lcore has taken off its queue.
 */
#define CFG_MBUFS_DEFAULT_MIN 16383		/* the pool when the config needs less */
#define CFG_MBUF_CACHE 256			/* fhd's per-lcore mempool cache size */
#define CFG_MBUF_CACHE_HELD (CFG_MBUF_CACHE * 3 / 2)	/* what one cache can keep: DPDK flushes
							 * it past 1.5 times its size */
#define CFG_RX_BURST_MAX 64			/* most frames an RX lcore holds from one burst */
#define CFG_JOURNAL_BATCH_MAX 64		/* most frames the journal lcore holds while it writes */

struct cfg_mbufs_need {
	uint64_t holds;		/* per feed max(reorder_window.packets, recovery.hold, snapshot.hold) */
	uint64_t rx_descriptors;	/* every RX queue's descriptors */
	uint64_t journal;	/* journal.ring per RX lcore; 0 without a journal */
	uint64_t caches;	/* CFG_MBUF_CACHE_HELD per lcore: main, RX, journal */
	uint64_t bursts;	/* CFG_RX_BURST_MAX per RX lcore */
	uint64_t total;
	uint16_t hold_feed;	/* the feed with the largest hold, and its key */
	const char *hold_key;	/* "reorder_window.packets", "recovery.hold" or "snapshot.hold" */
	uint32_t hold;
};

/* The RX descriptors of the configured ports: rx_queues x rx_descriptors, summed. */
uint64_t cfg_rx_descriptors(const struct cfg *cfg);

/* What cfg can hold at once with rx_descriptors on its RX queues (cfg's ports, or a replay's). */
void cfg_mbufs_need(const struct cfg *cfg, uint64_t rx_descriptors, struct cfg_mbufs_need *need);

/*
 * The most packets a feed's arbiter holds at once: the largest of its reorder window,
 * its recovery hold and its snapshot hold (where those sections are), with the key
 * that sets it in *key (for messages).
 */
uint32_t cfg_feed_hold(const struct cfg_feed *feed, const char **key);

/*
 * Sizes or checks cfg->mbufs against cfg_mbufs_need(cfg, rx_descriptors): not given,
 * it becomes the need rounded up to 2^n - 1 (the mempool's best size), at least
 * CFG_MBUFS_DEFAULT_MIN; given and too small, -EINVAL with the message at the mbufs
 * key ("FILE:LINE:COLUMN: mbufs: expected at least N ..., got M: raise ... or lower
 * ..."). rx_what (NULL: the ports) says where the descriptors come from. Run at load
 * with the ports, and by fhd again when a replay or --journal changes the count.
 */
int cfg_mbufs_size(struct cfg *cfg, uint64_t rx_descriptors, const char *rx_what, char *err,
		   size_t err_size);

/* The stats defaults: status lines each second, a segment named per instance, nothing else. */
void cfg_stats_defaults(struct cfg_stats *stats);

/* Journal defaults, for a journal switched on by fhd --journal DIR alone. */
void cfg_journal_defaults(const struct cfg *cfg, struct cfg_journal *journal);

/*
 * Whether name is safe as one component of a file or shared-memory segment name
 * (feed names in --hist-out files, publish ring and stats segment names): 1..max-1
 * characters of [A-Za-z0-9_.-], not starting with '.' (so never "." or ".."), no '/',
 * quote or control character. 0, or -EINVAL with the reason in why.
 */
int cfg_name_check(const char *name, size_t max, const char **why);

/*
 * Whether dir is an existing directory fhd can create files in (journal, histogram
 * files): 0, or -errno with a
 * reason in why ("not a directory", strerror) for the caller's message.
 */
int cfg_dir_check(const char *dir, const char **why);

/*
 * Loads and validates YAML text. name is what error messages call the file.
 * Returns 0 and fills *out, or -EINVAL with a one-line message in err
 * ("FILE:LINE:COLUMN: KEY: expected ..., got ..."), never touching stdout/stderr.
 */
int cfg_load_text(const char *name, const char *text, size_t len, struct cfg *out,
		  char *err, size_t err_size);

/*
 * As cfg_load_text, reading the file at path. An unreadable file is -errno with err
 * set; anything but a regular file (a FIFO, a device, a directory) is -EINVAL, without
 * waiting for a FIFO's writer; one owned by a user other than root and the effective
 * one, or writable by group or others, is -EPERM (the config can load code: eal: -d);
 * a file over 1 MiB is -EFBIG.
 */
int cfg_load_file(const char *path, struct cfg *out, char *err, size_t err_size);

/* The built-in config/default.yaml, used when fhd gets no -c. */
int cfg_load_default(struct cfg *out, char *err, size_t err_size);

/* The text of the built-in default config (for `fhd --print-default-config`). */
const char *cfg_default_text(size_t *len);

/* Name of an igmp mode as written in YAML ("auto", "fhd", "kernel", "off"). */
const char *cfg_igmp_mode_name(enum cfg_igmp_mode mode);

/* Name of a protocol as written in YAML, or "none". */
const char *cfg_protocol_name(enum cfg_protocol protocol);

#endif
