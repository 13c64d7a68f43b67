/*
 * fhd: the feed handler daemon. The main lcore loads and validates the config (before
 * DPDK starts), brings up EAL, ports, books and reorder windows, launches the pinned
 * RX lcores, and waits: for a signal, or in a replay for every capture to be read.
 * Then it prints the counters and writes the book dump. main reads as that list of
 * steps, each a function taking the run's state (struct fhd_run), and fhd_run_close
 * is the one cleanup path whichever step stopped the run.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>

#include <pcap/pcap.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_malloc.h>
#include <rte_mbuf_dyn.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "book/util/clock.h"
#include "fh_build_version.h"
#include "config/config.h"
#include "feed/feed.h"
#include "feed/dpdk/fhd_log.h"
#include "feed/dpdk/flow.h"
#include "feed/dpdk/igmp_port.h"
#include "feed/dpdk/journal_lcore.h"
#include "feed/dpdk/kernel_port.h"
#include "feed/dpdk/nic_clock.h"
#include "feed/dpdk/metrics_http.h"
#include "feed/dpdk/port.h"
#include "feed/dpdk/privileges.h"
#include "feed/dpdk/replay.h"
#include "feed/preflight.h"
#include "feed/dpdk/rx.h"
#include "feed/dpdk/service_notify.h"
#include "feed/dpdk/telemetry.h"
#include "feed/recovery_worker.h"
#include "feed/stats.h"
#include "publish/output_file.h"
#include "publish/publisher.h"
#include "publish/ring.h"
#include "publish/shm_segment.h"

_Static_assert(CFG_PUBLISH_DEPTH_MAX == CONFLATED_DEPTH_MAX, "the config allows what the conflated view holds");
_Static_assert(CFG_MBUF_CACHE <= RTE_MEMPOOL_CACHE_MAX_SIZE, "the config counts the cache the pool gets");
_Static_assert(IGMP_GROUPS_MAX >= CFG_FEEDS_MAX * CFG_LINES_MAX, "a port's membership holds every line's group");
_Static_assert(IGMP_SOURCES_MAX >= CFG_FEEDS_MAX * CFG_LINES_MAX, "a group's sources: one per line at most");
_Static_assert(PORT_MAC_FILTER_MAX >= CFG_FEEDS_MAX * CFG_LINES_MAX + 1, "every group's MAC and all-hosts'");

#define FHD_REPLAY_MAX 8
#define FHD_ARGS_MAX 128
#define FHD_REPLAY_RX_DESCRIPTORS 1024	/* each replay port's one RX queue */
#define FHD_EXIT_CONFIG 2
/*
 * The /metrics text's buffer: the build info and port families, then per feed its
 * counters, recovery, refusals and latency summaries (about 10 KiB a feed); a render
 * that does not fit is said and the last whole one served.
 */
#define FHD_METRICS_TEXT_BASE_MAX (64 * 1024)
#define FHD_METRICS_TEXT_FEED_MAX (32 * 1024)

struct fhd_options {
	const char *config_path;
	const char *replay[FHD_REPLAY_MAX];
	uint32_t replay_count;
	const char *dump_path;
	bool replay_loop;	/* loop the captures in memory (net_pcap infinite_rx) */
	double duration_s;	/* stop after this long; 0: at the end of the replay or on a signal */
	uint32_t top_books;	/* print the top of this many books per feed at exit */
	const char *publish;	/* --publish NAME: publish rings NAME-<lcore> */
	const char *journal;	/* --journal DIR: journal every frame into DIR */
	const char *hist_out;	/* --hist-out DIR: percentile distribution files at exit */
	bool check;		/* --check: validate the config and what it names, then exit */
	int eal_argc;		/* arguments after "--" */
	char **eal_argv;
};

static volatile bool fhd_quit;

static void fhd_signal(int signo)
{
	(void)signo;
	fhd_quit = true;
}

/*
 * SIGINT, SIGTERM and SIGHUP all stop fhd cleanly: the RX lcores finish, the
 * counters are printed, consumers get STOP and the journal file is finalised. fhd
 * has nothing to reload or reopen on SIGHUP (restart it for a new config; the
 * journal rotates by itself), and a hangup of the terminal it ran in must not lose
 * the run's counters and journal. SA_RESTART: the main loop's sleeps and writes
 * simply go on, and the loop sees the flag.
 */
static void fhd_signals_install(void)
{
	static const int stops[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fhd_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++)
		sigaction(stops[i], &sa, NULL);
}

static void fhd_mbuf_free(void *packet)
{
	rte_pktmbuf_free(packet);
}

static void fhd_usage(FILE *out)
{
	fprintf(out,
		"usage: fhd [-c CONFIG] [--replay PCAP]... [--dump-books FILE] [-- EAL args]\n"
		"  -c, --config FILE      YAML config (default: the built-in config/default.yaml)\n"
		"  --replay PCAP          replay a capture through the data path (repeatable; pcap or\n"
		"                         pcapng of Ethernet, raw IPv4 or Linux cooked frames);\n"
		"                         fhd stops by itself when every capture is read\n"
		"  --dump-books FILE      write the canonical book dump at exit\n"
		"  --replay-loop          loop the captures from memory (benchmarks; with --duration):\n"
		"                         every frame is kept in an mbuf, so mbufs must hold them\n"
		"  --duration SECONDS     stop after this long and print throughput\n"
		"  --top N                print the best 5 levels of N books per feed at exit\n"
		"  --publish NAME         publish book events on shared-memory rings NAME-<lcore>\n"
		"                         (or the config's publish section); read them with fh tail\n"
		"  --journal DIR          journal every received frame into pcapng files in DIR\n"
		"                         (or the config's journal section)\n"
		"  --hist-out DIR         write each feed's latency percentile distributions\n"
		"                         (HdrHistogram text, <feed>.<latency>.hgrm) at exit\n"
		"  --check                check the config and the files and directories it names\n"
		"                         (as fhd would at start, creating nothing, without DPDK);\n"
		"                         prints \"config OK\" and exits 0, or exits 2\n"
		"  --print-default-config print the built-in config and exit\n"
		"  --version              print fhd's version and exit\n"
		"Without -c, fhd runs the built-in config: one ITCH feed received on the network\n"
		"interface fh0 (an AF_PACKET port). To try fhd without one: fhd --replay FILE.\n"
		"fhd stops cleanly on SIGINT, SIGTERM or SIGHUP.\n");
}

/* --top N: a number of books, 0..UINT32_MAX. 0, or -EINVAL with the reason printed. */
static int fhd_top_parse(const char *arg, uint32_t *books)
{
	unsigned long number;
	char *end;

	errno = 0;
	number = strtoul(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end != '\0' || errno != 0 || number > UINT32_MAX) {
		fhd_log(LOG_ERR, "fhd: --top wants a number of books, got '%s'\n", arg);
		return -EINVAL;
	}
	*books = (uint32_t)number;
	return 0;
}

/* --duration SECONDS: finite and positive. 0, or -EINVAL with the reason printed. */
static int fhd_duration_parse(const char *arg, double *seconds)
{
	char *end;

	*seconds = strtod(arg, &end);
	/* NaN compares false with everything: it would have meant "never". */
	if (*end != '\0' || end == arg || !isfinite(*seconds) || !(*seconds > 0)) {
		fhd_log(LOG_ERR, "fhd: --duration wants a positive number of seconds\n");
		return -EINVAL;
	}
	return 0;
}

/*
 * Applies one option, c as getopt_long returns it, with its argument arg. 0, or
 * -EINVAL with the reason printed. --print-default-config and --help exit here.
 */
static int fhd_option_set(struct fhd_options *o, int c, const char *arg)
{
	size_t len;

	switch (c) {
	case 'c':
		o->config_path = arg;
		break;
	case 'r':
		if (o->replay_count >= FHD_REPLAY_MAX) {
			fhd_log(LOG_ERR, "fhd: at most %d --replay files\n", FHD_REPLAY_MAX);
			return -EINVAL;
		}
		o->replay[o->replay_count++] = arg;
		break;
	case 'd':
		o->dump_path = arg;
		break;
	case 'l':
		o->replay_loop = true;
		break;
	case 'b':
		return fhd_top_parse(arg, &o->top_books);
	case 'P':
		o->publish = arg;
		break;
	case 'j':
		o->journal = arg;
		break;
	case 'H':
		o->hist_out = arg;
		break;
	case 't':
		return fhd_duration_parse(arg, &o->duration_s);
	case 'k':
		o->check = true;
		break;
	case 'p':
		fputs(cfg_default_text(&len), stdout);
		exit(0);
	case 'h':
		fhd_usage(stdout);
		exit(0);
	case 'V':
		printf("fhd %s\n", FH_BUILD_VERSION_TEXT);
		exit(0);
	default:
		fhd_usage(fhd_log_stream(LOG_ERR));
		fflush(fhd_log_stream(LOG_ERR));
		return -EINVAL;
	}
	return 0;
}

/* The command line into o: fhd's options, then EAL's after "--". 0 or -EINVAL. */
static int fhd_options_parse(int argc, char **argv, struct fhd_options *o)
{
	static const struct option longs[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "replay", required_argument, NULL, 'r' },
		{ "dump-books", required_argument, NULL, 'd' },
		{ "print-default-config", no_argument, NULL, 'p' },
		{ "replay-loop", no_argument, NULL, 'l' },
		{ "duration", required_argument, NULL, 't' },
		{ "top", required_argument, NULL, 'b' },
		{ "publish", required_argument, NULL, 'P' },
		{ "journal", required_argument, NULL, 'j' },
		{ "hist-out", required_argument, NULL, 'H' },
		{ "check", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	opterr = 0;	/* getopt's own message would reach stderr without a severity: fhd says it */
	while ((c = getopt_long(argc, argv, "+c:h", longs, NULL)) != -1) {
		if (c == '?' || c == ':')
			fhd_log(LOG_ERR, "fhd: %s: unknown option, or its argument is missing\n", argv[optind - 1]);
		if (fhd_option_set(o, c, optarg) != 0)
			return -EINVAL;
	}
	assert(o->replay_count <= FHD_REPLAY_MAX);
	o->eal_argc = argc - optind;
	o->eal_argv = argv + optind;
	if (o->eal_argc > 0 && strcmp(argv[optind - 1], "--") != 0) {
		fhd_log(LOG_ERR, "fhd: unexpected argument '%s' (EAL arguments go after --)\n",
			argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/*
 * Opens and counts every --replay capture before DPDK starts (see feed/replay.h),
 * with the frames each holds from every feed's recovery server: a capture libpcap
 * cannot open, of an unsupported link type, or with nothing to loop is refused here.
 * A damaged one is replayed up to the damage, and said so now.
 */
static int fhd_captures_open(const struct cfg *cfg, const struct fhd_options *o, struct replay_capture *captures)
{
	struct replay_source sources[REPLAY_SOURCES_MAX] = { { 0 } };
	char err[512];

	_Static_assert(REPLAY_SOURCES_MAX == CFG_FEEDS_MAX, "a source per feed");
	for (uint16_t f = 0; f < cfg->feeds_count; f++)
		sources[f] = (struct replay_source){ .ip = cfg->feeds[f].recovery.server_ip,
						     .port = cfg->feeds[f].recovery.server_port,
						     .present = cfg->feeds[f].recovery.enabled };
	for (uint32_t i = 0; i < o->replay_count; i++) {
		struct replay_capture *c = &captures[i];
		int rc = replay_capture_open(c, o->replay[i], sources, cfg->feeds_count, err, sizeof(err));

		if (rc == 0 && o->replay_loop && c->packets == 0) {
			snprintf(err, sizeof(err), "capture %s: no readable packet to loop%s%s", c->path,
				 c->damaged ? ": " : "", c->damaged ? c->reason : "");
			replay_capture_close(c);
			rc = -EINVAL;
		}
		if (rc != 0) {
			fhd_log(LOG_ERR, "fhd: %s\n", err);
			while (i-- > 0)
				replay_capture_close(&captures[i]);
			return rc;
		}
		if (c->damaged)
			fhd_log(LOG_WARNING, "fhd: warning: capture %s is unreadable after packet %" PRIu64
				" (libpcap: %s): replaying the %" PRIu64 " packets before it\n", c->path,
				c->packets, c->reason, c->packets);
		else if (c->packets == 0)
			fhd_log(LOG_WARNING, "fhd: warning: capture %s holds no packets\n", c->path);
	}
	return 0;
}

/* rte_pktmbuf_init, and in IOVA-as-VA mode the buffer's IOVA (its address) set right. */
static void fhd_mbuf_init(struct rte_mempool *pool, void *arg, void *object, unsigned index)
{
	struct rte_mbuf *m = object;

	rte_pktmbuf_init(pool, arg, object, index);
	m->buf_iova = rte_eal_iova_mode() == RTE_IOVA_VA ? (rte_iova_t)(uintptr_t)m->buf_addr : RTE_BAD_IOVA;
}

/*
 * mbufs of room bytes, as rte_pktmbuf_pool_create makes them; but without hugepages
 * (--no-huge: the default config, replays, tests) an object may cross a 4 KiB page.
 * There, rte_pktmbuf_pool_create gives every 2,368-byte mbuf a page of its own, so a
 * pool took 1.7 times its size of EAL memory (16,383 mbufs: 64 MiB, 131,071: 512 MiB,
 * more than -m 512). No DMA runs without hugepages, and the virtual devices copy
 * frames in, so page-contiguous objects buy nothing there.
 */
static struct rte_mempool *fhd_pool_make(uint32_t mbufs, uint16_t room)
{
	struct rte_pktmbuf_pool_private priv = { .mbuf_data_room_size = room, .mbuf_priv_size = 0 };
	struct rte_mempool *pool;

	if (rte_eal_has_hugepages())
		return rte_pktmbuf_pool_create("fhd_mbufs", mbufs, CFG_MBUF_CACHE, 0, room, (int)rte_socket_id());
	pool = rte_mempool_create_empty("fhd_mbufs", mbufs, sizeof(struct rte_mbuf) + room, CFG_MBUF_CACHE,
					sizeof(priv), (int)rte_socket_id(), RTE_MEMPOOL_F_NO_IOVA_CONTIG);
	if (pool == NULL)
		return NULL;
	if (rte_mempool_set_ops_byname(pool, rte_mbuf_best_mempool_ops(), NULL) != 0) {
		rte_mempool_free(pool);
		return NULL;
	}
	rte_pktmbuf_pool_init(pool, &priv);
	if (rte_mempool_populate_default(pool) != (int)mbufs) {
		rte_mempool_free(pool);
		rte_errno = ENOMEM;
		return NULL;
	}
	rte_mempool_obj_iter(pool, fhd_mbuf_init, NULL);
	return pool;
}

/*
 * The packet pool. A replay's larger mbufs fall back to the default size when the
 * memory is not there: its jumbo frames are then counted as segmented, and said so.
 */
static struct rte_mempool *fhd_pool_create(const struct cfg *cfg, uint16_t room)
{
	struct rte_mempool *pool = fhd_pool_make(cfg->mbufs, room);

	if (pool == NULL && room > RTE_MBUF_DEFAULT_BUF_SIZE) {
		fhd_log(LOG_WARNING, "fhd: warning: no memory for %u mbufs of %u bytes (%s): frames over %u "
			"bytes will be counted as segmented, not decoded (raise EAL -m or lower mbufs)\n",
			cfg->mbufs, room, rte_strerror(rte_errno), RTE_MBUF_DEFAULT_DATAROOM);
		pool = fhd_pool_make(cfg->mbufs, RTE_MBUF_DEFAULT_BUF_SIZE);
	}
	return pool;
}

/* One line per capture: what was read, received, lost, and why it stopped. */
static void fhd_captures_report(FILE *out, const struct fhd_options *o,
				const struct replay_capture *captures, const struct rx_lcore *rx,
				const uint16_t *port_ids, uint32_t ports_open)
{
	for (uint32_t i = 0; i < ports_open; i++)
		for (uint32_t q = 0; q < rx->queues_count; q++)
			if (rx->queues[q].port_id == port_ids[i])
				replay_capture_report(out, &captures[i], &rx->queues[q], rx->stalled,
						      o->replay_loop);
}

static bool fhd_device_is_vdev(const char *device)
{
	return strncmp(device, "net_", 4) == 0 || strncmp(device, "eth_", 4) == 0;
}

/* The ethdev name of a configured device: a vdev's name before its first comma. */
static void fhd_device_name(const char *device, char *name, size_t size)
{
	size_t n = strcspn(device, ",");

	snprintf(name, size, "%.*s", (int)n, device);
}

static int fhd_args_push(char **args, int *count, const char *arg)
{
	if (*count >= FHD_ARGS_MAX - 1)
		return -E2BIG;
	args[(*count)++] = strdup(arg);
	args[*count] = NULL;
	return 0;
}

/* Whether any argument contains text (a log type in a --log-level pattern). */
static bool fhd_args_mention(char *const *args, int count, const char *text)
{
	for (int i = 0; i < count; i++)
		if (strstr(args[i], text) != NULL)
			return true;
	return false;
}

static bool fhd_args_have(char *const *args, int count, const char *option)
{
	size_t len = strlen(option);

	for (int i = 0; i < count; i++)
		if (strncmp(args[i], option, len) == 0 && (args[i][len] == '\0' || args[i][len] == '='))
			return true;
	return false;
}

/*
 * What tells this fhd from others on the host, for EAL's --file-prefix: fh-<ring>
 * when it publishes (the ring name is already unique to one live fhd), else
 * fhd-<pid> (a replay or a test: nothing to find again later; swept once dead).
 */
static void fhd_instance_name(const struct cfg *cfg, const struct fhd_options *o, char *name,
			      size_t size)
{
	const char *ring = o->publish != NULL ? o->publish : cfg->publish.enabled ? cfg->publish.ring : NULL;

	if (ring != NULL)
		snprintf(name, size, "fh-%s", ring);
	else
		snprintf(name, size, "fhd-%ld", (long)getpid());	/* never an fh-<ring> */
}

/*
 * EAL keeps a runtime directory: /var/run/dpdk/<prefix> for root, and for anyone else
 * $XDG_RUNTIME_DIR/dpdk or else /tmp/dpdk, which the first user to run DPDK owns (0700)
 * so every other user fails there. A user without a usable XDG_RUNTIME_DIR of their
 * own gets a private directory instead (RUNTIME_DIRECTORY, which EAL reads first),
 * removed at exit. 0, or -errno with a message printed. dir: that directory, or "".
 */
static int fhd_runtime_dir_setup(char *dir, size_t size)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;

	dir[0] = '\0';
	if (getuid() == 0 || getenv("RUNTIME_DIRECTORY") != NULL)
		return 0;
	if (xdg != NULL && lstat(xdg, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid() &&
	    (st.st_mode & 022) == 0)
		return 0;
	snprintf(dir, size, "/tmp/fhd-%u.XXXXXX", (unsigned)getuid());
	if (mkdtemp(dir) == NULL || setenv("RUNTIME_DIRECTORY", dir, 1) != 0) {
		fhd_log(LOG_ERR, "fhd: cannot make a private DPDK runtime directory %s: %s\n", dir,
			strerror(errno));
		dir[0] = '\0';
		return -errno;
	}
	return 0;
}

/* The runtime directories to remove at exit: EAL's own, and the private one we made. */
static char fhd_eal_dir[PATH_MAX], fhd_private_dir[64];

/*
 * Removes what EAL left of its runtime directories (empty once its telemetry socket is
 * gone). An atexit handler registered before rte_eal_init, so that it runs after EAL's
 * own exit handlers have removed their sockets.
 */
static void fhd_runtime_dir_remove(void)
{
	char path[PATH_MAX];

	if (fhd_eal_dir[0] != '\0')
		rmdir(fhd_eal_dir);
	if (fhd_private_dir[0] != '\0') {
		snprintf(path, sizeof(path), "%s/dpdk", fhd_private_dir);
		rmdir(path);
		rmdir(fhd_private_dir);
	}
}

/*
 * What a per-run name (EAL's fhd-<pid> runtime directory, the fh-stats-<pid> segment,
 * or fh-stats-<pid>-<hex> when the first was taken) leaves behind when its fhd was killed: in dir, each "<prefix><pid>" of fhd's own
 * user whose process is gone is removed (a directory with the files in it). Nobody
 * else's, nothing live, nothing followed: bounded by the directory's entries.
 */
static void fhd_stale_sweep(const char *dir, const char *prefix)
{
	size_t len = strlen(prefix);
	struct dirent *d, *e;
	struct stat st;
	char *end;
	DIR *in = opendir(dir), *sub;
	long pid;
	int fd;

	if (in == NULL)
		return;
	while ((d = readdir(in)) != NULL) {
		if (strncmp(d->d_name, prefix, len) != 0 || d->d_name[len] == '\0')
			continue;
		pid = strtol(d->d_name + len, &end, 10);
		if (*end == '-' && end[1] != '\0' && strspn(end + 1, "0123456789abcdef") == strlen(end + 1))
			end += strlen(end);	/* <pid>-<hex>: a per-run name chosen unguessable */
		if (*end != '\0' || pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (fstatat(dirfd(in), d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_uid != geteuid())
			continue;
		if (S_ISREG(st.st_mode)) {
			/* A segment: only if no producer holds it (a configured name may look alike). */
			fd = openat(dirfd(in), d->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
			if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
				unlinkat(dirfd(in), d->d_name, 0);
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (!S_ISDIR(st.st_mode))
			continue;
		fd = openat(dirfd(in), d->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		sub = fd >= 0 ? fdopendir(fd) : NULL;
		if (sub == NULL) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		while ((e = readdir(sub)) != NULL)
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				unlinkat(fd, e->d_name, 0);	/* sockets and files; a subdirectory stays */
		closedir(sub);
		unlinkat(dirfd(in), d->d_name, AT_REMOVEDIR);
	}
	closedir(in);
}

/*
 * The EAL command line: the config's arguments, lcores, devices, then the user's.
 * 0, or -E2BIG (said so) when it would pass FHD_ARGS_MAX.
 */
static int fhd_eal_args_build(const struct cfg *cfg, const struct fhd_options *o,
			      const struct replay_capture *captures, char **args, int *count)
{
	char arg[CFG_DEVICE_MAX + 64], list[256];
	size_t used;
	int rc = 0;

	*count = 0;
	rc |= fhd_args_push(args, count, "fhd");
	for (uint16_t i = 0; i < cfg->eal_args_count; i++)
		rc |= fhd_args_push(args, count, cfg->eal_args[i]);
	used = (size_t)snprintf(list, sizeof(list), "%u", cfg->main_lcore);
	for (uint16_t i = 0; i < cfg->rx_lcores_count && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, ",%u", cfg->rx_lcores[i]);
	/* lcore N runs on CPU N, but the journal lcore on the CPU it is given. */
	if (cfg->journal.enabled && used < sizeof(list))
		snprintf(list + used, sizeof(list) - used, ",%u@%u", cfg->journal.lcore, cfg->journal.cpu);
	rc |= fhd_args_push(args, count, "--lcores");
	rc |= fhd_args_push(args, count, list);
	snprintf(arg, sizeof(arg), "--main-lcore=%u", cfg->main_lcore);
	rc |= fhd_args_push(args, count, arg);
	if (o->replay_count > 0) {
		for (uint32_t i = 0; i < o->replay_count; i++) {
			rc |= replay_capture_vdev(&captures[i], i, o->replay_loop, arg, sizeof(arg));
			rc |= fhd_args_push(args, count, arg);
		}
	} else {
		for (uint16_t i = 0; i < cfg->ports_count; i++) {
			const char *device = cfg->ports[i].device;

			if (kernel_device_iface(device) != NULL)
				continue;	/* the kernel's own stack: no DPDK device */
			snprintf(arg, sizeof(arg), "%s%s", fhd_device_is_vdev(device) ? "--vdev=" : "-a",
				 device);
			/* net_af_packet's ring is its framecnt, not the RX descriptors: 512 frames
			 * unless told, which a few ms of descheduling overflows at 100k frames/s
			 * (bench/colo.sh). rx_descriptors sizes it, as it sizes every other ring. */
			if (strncmp(device, "net_af_packet", 13) == 0 && strstr(device, "framecnt=") == NULL) {
				size_t used = strlen(arg);

				snprintf(arg + used, sizeof(arg) - used, ",framecnt=%u", cfg->ports[i].rx_descriptors);
				fhd_log(LOG_INFO, "fhd: port %s: net_af_packet ring of %u frames (framecnt, from "
					"rx_descriptors)\n", cfg->ports[i].name, cfg->ports[i].rx_descriptors);
			}
			rc |= fhd_args_push(args, count, arg);
		}
	}
	for (int i = 0; i < o->eal_argc; i++)
		rc |= fhd_args_push(args, count, o->eal_argv[i]);
	/* DPDK's telemetry says at WARNING level, every start, that it made no socket for the
	 * legacy (v1) protocol nobody registered for; the v2 socket, the one fh's commands
	 * and /ethdev/stats answer on, is unaffected. Its errors still show. A level the
	 * config or the command line gives lib.telemetry is left to rule (EAL keeps the
	 * first pattern matching a type registered after the arguments are read). */
	if (!fhd_args_mention(args, *count, "lib.telemetry"))
		rc |= fhd_args_push(args, count, "--log-level=lib.telemetry:error");
	if (!fhd_args_have(args, *count, "--file-prefix")) {
		fhd_instance_name(cfg, o, arg, sizeof(arg));
		rc |= fhd_args_push(args, count, "--file-prefix");
		rc |= fhd_args_push(args, count, arg);
	}
	if (rc != 0) {
		fhd_log(LOG_ERR, "fhd: too many EAL arguments\n");
		return -E2BIG;
	}
	return 0;
}

/* Packets and messages per second between each lcore's first and last busy burst. */
static void fhd_throughput_print(FILE *out, struct rx_lcore *const *rx, const struct cfg *cfg,
				 struct feed *const *feeds)
{
	uint64_t packets = 0, messages = 0, first = UINT64_MAX, last = 0;
	double seconds;

	for (uint16_t i = 0; i < cfg->rx_lcores_count; i++) {
		for (uint32_t q = 0; q < rx[i]->queues_count; q++)
			packets += rx[i]->queues[q].packets;
		if (rx[i]->first_rx_tsc != 0 && rx[i]->first_rx_tsc < first)
			first = rx[i]->first_rx_tsc;
		if (rx[i]->last_rx_tsc > last)
			last = rx[i]->last_rx_tsc;
	}
	for (uint16_t f = 0; f < cfg->feeds_count; f++)
		messages += feeds[f]->messages.messages;
	if (packets == 0 || last <= first)
		return;
	seconds = (double)(last - first) / (double)rte_get_tsc_hz();
	fprintf(out, "throughput: %" PRIu64 " packets, %" PRIu64 " messages in %.3f s: "
		"%.0f packets/s, %.0f messages/s\n", packets, messages, seconds,
		(double)packets / seconds, (double)messages / seconds);
}

/*
 * One publish ring per RX lcore, NAME-<lcore>, and a publisher per feed on its lcore's
 * ring. Created before the RX lcores start: publishing allocates nothing afterwards.
 */
static int fhd_publish_setup(const struct cfg *cfg, struct rx_lcore *const *rx,
			     struct pub_ring *rings,
			     struct pub_conflated *views, struct publisher *publishers)
{
	const struct cfg_publish *pub = &cfg->publish;
	gid_t gid = (gid_t)-1;
	char name[CFG_RING_NAME_MAX + 16], err[256];
	uint32_t slots;

	if (pub->group[0] != '\0') {
		struct group *g = getgrnam(pub->group);

		if (g == NULL) {
			fhd_log(LOG_ERR, "fhd: publish.group %s: no such group\n", pub->group);
			return -EINVAL;
		}
		gid = g->gr_gid;
	}
	for (uint16_t i = 0; i < cfg->rx_lcores_count; i++) {
		if (rx[i]->set.feeds_count == 0)
			continue;
		slots = 0;
		for (uint32_t f = 0; f < rx[i]->set.feeds_count; f++)
			slots += rx[i]->set.feeds[f]->cfg->book.instruments_max;
		snprintf(name, sizeof(name), "/%s-%u-top", pub->ring, cfg->rx_lcores[i]);
		if (pub_conflated_create(&views[i], name, slots, pub->depth, 0,
					 pub->mode, gid, err, sizeof(err)) != 0) {
			fhd_log(LOG_ERR, "fhd: %s\n", err);
			return -EIO;
		}
		snprintf(name, sizeof(name), "/%s-%u", pub->ring, cfg->rx_lcores[i]);
		if (pub_ring_create(&rings[i], name, pub->capacity, pub->mode, gid, err, sizeof(err)) != 0) {
			fhd_log(LOG_ERR, "fhd: %s\n", err);
			return -EIO;
		}
		pub_conflated_generation_set(&views[i], rings[i].generation);
		fhd_log(LOG_INFO, "fhd: publishing on /dev/shm%s (%u events, mode %04o), top %u "
			"levels on /dev/shm%s-top\n", name, pub->capacity, pub->mode, pub->depth, name);
		slots = 0;
		for (uint32_t f = 0; f < rx[i]->set.feeds_count; f++) {
			struct feed *feed = rx[i]->set.feeds[f];
			uint8_t index = (uint8_t)(feed->cfg - cfg->feeds);

			assert(index < cfg->feeds_count);	/* a feed of this config: its publisher slot */

			pub_ring_feed_name_set(&rings[i], index, feed->cfg->name);
			publisher_init(&publishers[index], &rings[i], index, rte_get_tsc_hz());
			publisher_views_set(&publishers[index], feed->cfg->publish_views);
			publisher_view_set(&publishers[index], &views[i], slots, feed->book);
			publisher_states_set(&publishers[index], &feed->instrument_states, feed->book);
			slots += feed->cfg->book.instruments_max;
			feed->pub = &publishers[index];
		}
	}
	return 0;
}

/*
 * The stats segment's name: stats.segment when the config gives one; else, publishing,
 * <ring>-stats (one per instance, as its ring is); else fh-stats-<pid>. Returns whether
 * the name is this run's alone (nobody could find it again): removed at exit.
 */
static bool fhd_stats_segment_name(const struct cfg *cfg, char *name, size_t size)
{
	if (cfg->stats.segment[0] != '\0') {
		snprintf(name, size, "%s", cfg->stats.segment);
		return false;
	}
	if (cfg->publish.enabled) {
		snprintf(name, size, "%s-stats", cfg->publish.ring);
		return false;
	}
	snprintf(name, size, "fh-stats-%ld", (long)getpid());
	return true;
}

/*
 * A per-run stats name another user made first (pids are predictable, and /dev/shm is
 * anyone's): fh-stats-<pid>-<16 random hex digits> instead, which nobody can make in
 * advance. 0, or -errno if no random bytes could be had.
 */
static int fhd_stats_segment_name_unguessable(char *name, size_t size)
{
	uint64_t random;

	if (getrandom(&random, sizeof(random), 0) != (ssize_t)sizeof(random))
		return -EIO;
	snprintf(name, size, "fh-stats-%ld-%016" PRIx64, (long)getpid(), random);
	return 0;
}

/* What to add to the live RX clock (the TSC in ns) to get ns since the epoch. */
static int64_t fhd_rx_epoch_offset_ns(void)
{
	return (int64_t)clock_realtime_ns() -
	       (int64_t)clock_tsc_to_ns(clock_tsc(), clock_tsc_q32(rte_get_tsc_hz()));
}

/*
 * The journal's interfaces: for each feed, in config order, "<feed>.<line>" for each
 * of its lines and "<feed>.recovery" for its recovery replies if it has recovery;
 * then "unrouted" for frames addressed to no line. Fills jl->names and
 * interface_of[feed][line] (line ARBITER_LINE_RECOVERY: the replies'); returns the
 * interfaces' count (jl->interfaces_count).
 */
static uint32_t fhd_journal_interfaces_name(const struct cfg *cfg, struct journal_lcore *jl,
					    uint32_t interface_of[CFG_FEEDS_MAX][ARBITER_LINES])
{
	static char names[JOURNAL_INTERFACES_MAX][CFG_NAME_MAX + sizeof(".recovery")];
	uint32_t n = 0;

	_Static_assert(CFG_FEEDS_MAX * ARBITER_LINES + 1 <= JOURNAL_INTERFACES_MAX,
		       "a journal interface for every feed line, every feed's replies and unrouted frames");
	for (uint16_t f = 0; f < cfg->feeds_count; f++) {
		for (int l = 0; l < CFG_LINES_MAX; l++)
			if (cfg->feeds[f].lines[l].present) {
				snprintf(names[n], sizeof(names[n]), "%s.%c", cfg->feeds[f].name, 'A' + l);
				jl->names[n] = names[n];
				interface_of[f][l] = n++;
			}
		if (cfg->feeds[f].recovery.enabled) {
			snprintf(names[n], sizeof(names[n]), "%s.recovery", cfg->feeds[f].name);
			jl->names[n] = names[n];
			interface_of[f][ARBITER_LINE_RECOVERY] = n++;
		}
	}
	snprintf(names[n], sizeof(names[n]), "unrouted");
	jl->names[n] = names[n];
	jl->interfaces_count = ++n;
	assert(n <= JOURNAL_INTERFACES_MAX);
	return n;
}

/*
 * A journaling RX lcore's routes and feeds get their interfaces: each line route its
 * line's, each recovery route (a replay's) and each feed's reply_journal hook (the
 * worker's replies) its feed's "<feed>.recovery".
 */
static void fhd_journal_interfaces_set(const struct cfg *cfg, struct rx_lcore *rx,
				       uint32_t interface_of[CFG_FEEDS_MAX][ARBITER_LINES])
{
	for (uint32_t r = 0; r < rx->set.routes_count; r++) {
		struct feed_route *route = &rx->set.routes[r];

		route->journal_interface = interface_of[route->feed->cfg - cfg->feeds][route->line];
	}
	for (uint32_t r = 0; r < rx->set.recovery_routes_count; r++) {
		struct feed_route *route = &rx->set.recovery_routes[r];

		route->journal_interface = interface_of[route->feed->cfg - cfg->feeds][ARBITER_LINE_RECOVERY];
	}
	for (uint32_t f = 0; f < rx->set.feeds_count; f++) {
		struct feed *feed = rx->set.feeds[f];

		if (feed->recovery == NULL || !feed->cfg->recovery.enabled)
			continue;
		rx->reply_journals[f] = (struct rx_reply_journal){
			.rx = rx, .feed = feed,
			.interface = interface_of[feed->cfg - cfg->feeds][ARBITER_LINE_RECOVERY],
		};
		feed->reply_journal = rx_reply_journal;
		feed->reply_journal_context = &rx->reply_journals[f];
	}
}

/*
 * The journal: one interface per feed line ("<feed>.<line>"), one per feed's recovery
 * replies ("<feed>.recovery") and one for frames addressed to no line, a reference
 * ring per RX lcore, the writer open on its first file. Everything is allocated here,
 * before the RX lcores start.
 */
static int fhd_journal_setup(const struct cfg *cfg, const struct output_dir *dir,
			     struct rx_lcore *const *rx, struct journal_lcore *jl)
{
	uint32_t interface_of[CFG_FEEDS_MAX][ARBITER_LINES];
	const struct cfg_journal *c = &cfg->journal;
	struct journal_options o = {
		.dir = dir,
		.buffer_bytes = c->buffer_kb * 1024,
		.buffers = c->buffers,
		.o_direct = c->o_direct,
		.fsync_bytes = (uint64_t)c->fsync_mb << 20,
		.fsync_ns = (uint64_t)c->fsync_ms * 1000000,
		.rotate_bytes = (uint64_t)c->rotate_mb << 20,
		.rotate_ns = (uint64_t)c->rotate_s * 1000000000,
	};
	char err[512], ring_name[32];
	uint32_t n, refused;
	int repaired;

	n = fhd_journal_interfaces_name(cfg, jl, interface_of);
	repaired = journal_repair_dir(dir, fhd_log_stream(LOG_WARNING), &refused);
	fflush(fhd_log_stream(LOG_WARNING));
	if (repaired < 0) {
		fhd_log(LOG_ERR, "fhd: journal %s: %s\n", c->dir, strerror(-repaired));
		return repaired;
	}
	if (refused > 0)
		fhd_log(LOG_WARNING, "fhd: journal %s: %u unfinished file name(s) left alone: not regular "
			"files of fhd's user (see above)\n", c->dir, refused);
	if (journal_open(&jl->journal, &o, jl->names, n, clock_monotonic_ns(), err, sizeof(err)) != 0) {
		fhd_log(LOG_ERR, "fhd: %s\n", err);
		return -EIO;
	}
	for (uint16_t i = 0; i < cfg->rx_lcores_count; i++) {
		if (rx[i]->queues_count == 0)
			continue;
		snprintf(ring_name, sizeof(ring_name), "fhd_journal_%u", cfg->rx_lcores[i]);
		rx[i]->journal = rte_ring_create_elem(ring_name, sizeof(struct journal_entry), c->ring,
						      (int)rte_lcore_to_socket_id(cfg->journal.lcore),
						      RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
		if (rx[i]->journal == NULL) {
			fhd_log(LOG_ERR, "fhd: journal ring of %u: %s\n", c->ring, rte_strerror(rte_errno));
			journal_close(&jl->journal);
			return -ENOMEM;
		}
		assert(jl->rings_count < CFG_RX_LCORES_MAX);
		jl->rings[jl->rings_count++] = rx[i]->journal;
		rx[i]->journal_unrouted = n - 1;
		/* Live RX time is the TSC in ns; the files want the epoch. */
		rx[i]->journal_epoch_ns = rx[i]->replay ? 0 : fhd_rx_epoch_offset_ns();
		fhd_journal_interfaces_set(cfg, rx[i], interface_of);
	}
	fhd_log(LOG_INFO, "fhd: journaling every frame into %s (%s; lcore %u on CPU %u, ring %u)\n",
		jl->journal.path, c->o_direct ? "io_uring, O_DIRECT" : "io_uring", c->lcore, c->cpu, c->ring);
	return 0;
}

/* The journal's counters: files and bytes, and per interface journaled, dropped, lost. */
static void fhd_journal_stats_print(FILE *out, const struct journal_lcore *jl, struct rx_lcore *const *rx,
				    const struct cfg *cfg)
{
	const struct journal_stats *s = &jl->journal.stats;
	uint64_t dropped[JOURNAL_INTERFACES_MAX] = { 0 };

	for (uint16_t i = 0; i < cfg->rx_lcores_count; i++) {
		for (uint32_t r = 0; r < rx[i]->set.routes_count; r++) {
			const struct feed_route *route = &rx[i]->set.routes[r];

			dropped[route->journal_interface] += route->feed->lines[route->line].journal_dropped;
		}
		/* A feed's replies, whether the worker's or (replaying) the capture's: one counter. */
		for (uint32_t f = 0; f < rx[i]->set.feeds_count; f++)
			if (rx[i]->reply_journals[f].feed != NULL)
				dropped[rx[i]->reply_journals[f].interface] +=
					rx[i]->set.feeds[f]->lines[ARBITER_LINE_RECOVERY].journal_dropped;
		dropped[jl->interfaces_count - 1] += rx[i]->set.unrouted_journal_dropped;
	}
	fprintf(out, "journal %s: files %" PRIu64 "  packets %" PRIu64 "  bytes %" PRIu64
		"  writes %" PRIu64 "  failed_writes %" PRIu64 "  unwritten_bytes %" PRIu64 "  fsyncs %" PRIu64
		"  buffer_waits %" PRIu64 "  backlog_max %" PRIu64 "%s%s\n", cfg->journal.dir, s->files, s->blocks,
		s->bytes, s->writes, s->failed_writes, s->unwritten_bytes, s->fsyncs,
		s->buffer_waits, jl->backlog_max, jl->journal.error ? "  STOPPED: " : "",
		jl->journal.error ? jl->journal.error_text : "");
	for (uint32_t i = 0; i < jl->interfaces_count; i++)
		fprintf(out, "  %s: journaled %" PRIu64 "  dropped %" PRIu64 "  lost %" PRIu64 "\n",
			jl->names[i], jl->journal.journaled[i], dropped[i], jl->journal.lost[i]);
}

/* The directories fhd writes into, each opened and checked once at start. */
struct fhd_outputs {
	struct output_dir journal;	/* cfg journal.dir or --journal */
	struct output_dir hist;		/* stats.hist_out or --hist-out */
	struct output_dir prometheus;	/* the directory of stats.prometheus_file */
	struct output_dir dump;		/* the directory of --dump-books FILE */
	const char *prometheus_name;
	const char *dump_name;
};

/*
 * Opens every output directory (output_dir_open: fhd's own, writable by nobody else)
 * before DPDK starts, so a refused one stops the run at once with exit status 2.
 */
static int fhd_outputs_open(const struct cfg *cfg, const struct fhd_options *o, struct fhd_outputs *out)
{
	char err[OUTPUT_FILE_ERROR_MAX];
	int rc = 0;

	out->journal.fd = out->hist.fd = out->prometheus.fd = out->dump.fd = -1;
	if (cfg->journal.enabled && (rc = output_dir_open(&out->journal, cfg->journal.dir, err, sizeof(err))) != 0) {
		fhd_log(LOG_ERR, "fhd: journal directory %s\n", err);
		return rc;
	}
	if (cfg->stats.hist_out[0] != '\0' &&
	    (rc = output_dir_open(&out->hist, cfg->stats.hist_out, err, sizeof(err))) != 0) {
		fhd_log(LOG_ERR, "fhd: --hist-out directory %s\n", err);
		return rc;
	}
	if (cfg->stats.prometheus_file[0] != '\0' &&
	    (rc = output_dir_open_parent(&out->prometheus, cfg->stats.prometheus_file, &out->prometheus_name,
					 err, sizeof(err))) != 0) {
		fhd_log(LOG_ERR, "fhd: stats.prometheus_file %s: directory %s\n", cfg->stats.prometheus_file, err);
		return rc;
	}
	if (o->dump_path != NULL &&
	    (rc = output_dir_open_parent(&out->dump, o->dump_path, &out->dump_name, err, sizeof(err))) != 0) {
		fhd_log(LOG_ERR, "fhd: --dump-books %s: directory %s\n", o->dump_path, err);
		return rc;
	}
	return 0;
}

static void fhd_outputs_close(struct fhd_outputs *out)
{
	output_dir_close(&out->journal);
	output_dir_close(&out->hist);
	output_dir_close(&out->prometheus);
	output_dir_close(&out->dump);
}

static struct rx_lcore *fhd_rx_for(struct rx_lcore *const *rx, const struct cfg *cfg, uint16_t lcore)
{
	for (uint16_t i = 0; i < cfg->rx_lcores_count; i++)
		if (cfg->rx_lcores[i] == lcore)
			return rx[i];
	return NULL;
}

/*
 * Everything one run of fhd holds, from the options to the counters it prints: what
 * main used to keep in locals. Each step of main fills its part and fhd_run_close
 * undoes what was done. One, static: the books' config and the rings are large.
 */
struct fhd_run {
	struct fhd_options o;
	struct cfg cfg;
	struct fhd_outputs outputs;
	struct replay_capture captures[FHD_REPLAY_MAX];
	bool captures_open;		/* every --replay capture is open */
	bool replay;
	char *eal_args[FHD_ARGS_MAX];
	int eal_count;
	bool eal_running;		/* rte_eal_init succeeded: DPDK state to clean up */
	struct rte_mempool *pool;
	struct rx_lcore *rx[CFG_RX_LCORES_MAX];
	struct feed *feeds[CFG_FEEDS_MAX];
	const volatile bool *finished[CFG_FEEDS_MAX];	/* the RX lcore of each feed is done */
	uint16_t port_ids[CFG_PORTS_MAX > FHD_REPLAY_MAX ? CFG_PORTS_MAX : FHD_REPLAY_MAX];
	uint32_t ports_open;		/* port_ids[0..ports_open) are started */
	struct port_kernel port_kernels[CFG_PORTS_MAX > FHD_REPLAY_MAX ? CFG_PORTS_MAX : FHD_REPLAY_MAX];
	/* The lines' multicast memberships on kernel-owned interfaces (kernel_port.h). */
	struct kernel_join joins[CFG_FEEDS_MAX * CFG_LINES_MAX];
	char join_labels[CFG_FEEDS_MAX * CFG_LINES_MAX][CFG_NAME_MAX * 2 + 16];
	uint32_t joins_count;
	/* fhd's own IGMP on the ports with igmp: fhd (igmp_port.h), on the main lcore. */
	struct igmp_port igmp_ports[CFG_PORTS_MAX];
	uint32_t igmp_ports_count;
	struct rte_mempool *igmp_pool;
	struct pub_ring rings[CFG_RX_LCORES_MAX];
	struct publisher publishers[CFG_FEEDS_MAX];
	struct pub_conflated views[CFG_RX_LCORES_MAX];
	struct stats stats;
	struct journal_lcore journal;
	bool journal_running;		/* the journal lcore is launched */
	struct recovery_worker *recovery;	/* the MoldUDP64 re-request client, or NULL */
	struct metrics_http *http;	/* stats.http's /metrics, or NULL */
	struct privileges privileges;	/* user: and group:, dropped to once set up */
};

/*
 * What a replay's ports keep in mbufs besides their descriptors: a looping net_pcap
 * (--replay-loop) reads its whole capture into mbufs when its queue is set up and keeps
 * them for the run, a frame per mbuf; a capture read once keeps none.
 */
static uint64_t fhd_replay_frames_kept(const struct fhd_run *run)
{
	uint64_t frames = 0;

	for (uint32_t i = 0; run->o.replay_loop && i < run->o.replay_count; i++)
		frames += run->captures[i].packets;
	return frames;
}

/*
 * The pool once more, for what the command line changed: a replay polls its own ports
 * (one queue of FHD_REPLAY_RX_DESCRIPTORS per capture, and with --replay-loop every
 * frame of the captures) instead of the config's, and --journal adds the journal's
 * rings. Run once the captures are counted, before DPDK starts: a pool too small for a
 * looped capture is refused here, naming the mbufs value to set, rather than by the
 * PMD. 0, or -EINVAL with the reason printed.
 */
static int fhd_mbufs_size(struct fhd_run *run)
{
	const struct fhd_options *o = &run->o;
	uint64_t kept = fhd_replay_frames_kept(run);
	char err[CFG_ERROR_MAX], what[160];
	int rc;

	if (o->replay_count > 0) {
		snprintf(what, sizeof(what), "%u replay port(s) of %u%s", o->replay_count, FHD_REPLAY_RX_DESCRIPTORS,
			 kept > 0 ? ", and the captures' frames --replay-loop keeps in mbufs" : "");
		rc = cfg_mbufs_size(&run->cfg, (uint64_t)o->replay_count * FHD_REPLAY_RX_DESCRIPTORS + kept, what,
				    err, sizeof(err));
	} else {
		rc = cfg_mbufs_size(&run->cfg, cfg_rx_descriptors(&run->cfg), NULL, err, sizeof(err));
	}
	if (rc != 0) {
		fhd_log(LOG_ERR, "fhd: config error: %s\n", err);
		if (kept > 0)
			fhd_log(LOG_ERR, "fhd: --replay-loop keeps all %" PRIu64 " frames of the captures in mbufs: "
				"set the config's mbufs to the value above, or leave it out and fhd sizes the pool%s\n",
				kept, o->config_path == NULL ? " (the built-in config sets it: write your own with "
				"fhd --print-default-config >fhd.yaml, change mbufs, run fhd -c fhd.yaml)" : "");
	}
	return rc;
}

/*
 * What fhd does without a config, said before anything else happens: the built-in
 * config receives on the network interface fh0, which a newcomer's host lacks.
 */
static void fhd_default_config_say(const struct fhd_run *run)
{
	if (run->o.config_path != NULL || run->o.replay_count > 0 || run->o.check)
		return;
	fhd_log(LOG_INFO, "fhd: no -c CONFIG: running the built-in config, which receives one ITCH feed on the "
		"network interface fh0 (ports: net_af_packet0,iface=fh0)\n"
		"fhd: to replay a capture instead: fhd --replay FILE; for your own interfaces and feeds: "
		"fhd -c CONFIG (fhd --print-default-config prints the built-in one to start from)\n");
}

/* Whether the kernel owns device's interface: a kernel: port, or net_af_packet / net_af_xdp with iface=. */
static bool fhd_device_kernel_owned(const char *device)
{
	char iface[IF_NAMESIZE + 1];

	return kernel_device_iface(device) != NULL || kernel_owned_iface(device, iface, sizeof(iface));
}

/* Who joins port's groups (ports[].igmp, auto resolved: docs/config.md). */
static enum cfg_igmp_mode fhd_port_igmp_mode(const struct cfg_port *port)
{
	if (port->igmp != CFG_IGMP_AUTO)
		return port->igmp;
	if (fhd_device_kernel_owned(port->device))
		return CFG_IGMP_KERNEL;
	return fhd_device_is_vdev(port->device) ? CFG_IGMP_OFF : CFG_IGMP_FHD;
}

/*
 * A port's igmp mode its device cannot do: kernel joins where the kernel does not own
 * the interface, fhd's reports (or none) on a kernel: port, which receives through
 * its joins. 0, or -EINVAL with the reason printed.
 */
static int fhd_igmp_modes_check(const struct cfg *cfg)
{
	for (uint16_t p = 0; p < cfg->ports_count; p++) {
		const struct cfg_port *port = &cfg->ports[p];
		enum cfg_igmp_mode mode = fhd_port_igmp_mode(port);
		const char *why = NULL;

		if (mode == CFG_IGMP_KERNEL && !fhd_device_kernel_owned(port->device))
			why = "the kernel does not own its interface (kernel: ports, net_af_packet and "
			      "net_af_xdp with iface= are the ones it does): use fhd or off";
		else if (mode != CFG_IGMP_KERNEL && kernel_device_iface(port->device) != NULL)
			why = "a kernel: port receives through the kernel's joins: use kernel or auto";
		if (why != NULL) {
			fhd_log(LOG_ERR, "fhd: %s: port %s (%s): igmp: %s: %s\n", cfg->source, port->name,
				port->device, cfg_igmp_mode_name(mode), why);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Live ports on an AF_PACKET or AF_XDP vdev receive on a network interface
 * (iface=NAME): one the host does not have is refused here, before DPDK starts and
 * says it its own way (net_af_xdp: a failed probe, then "no such DPDK device").
 * 0, or -ENODEV with the reason printed.
 */
static int fhd_interfaces_check(const struct fhd_run *run)
{
	const struct cfg *cfg = &run->cfg;
	char iface[IF_NAMESIZE + 1];
	/* Each port's interface, and whether the PMD takes its frames from the kernel. */
	char ifaces[CFG_PORTS_MAX][IF_NAMESIZE + 1] = { { 0 } };
	bool takes[CFG_PORTS_MAX] = { false };

	if (!run->replay && fhd_igmp_modes_check(cfg) != 0)
		return -EINVAL;
	assert(cfg->ports_count <= CFG_PORTS_MAX);
	for (uint16_t p = 0; p < cfg->ports_count && !run->replay; p++) {
		const char *device = cfg->ports[p].device, *at = strstr(device, ",iface=");
		size_t len;

		if (kernel_device_iface(device) != NULL)
			at = kernel_device_iface(device) - strlen(",iface=");
		else if ((strncmp(device, "net_af_packet", 13) != 0 && strncmp(device, "net_af_xdp", 10) != 0) ||
			 at == NULL)
			continue;
		at += strlen(",iface=");
		len = strcspn(at, ",");
		snprintf(iface, sizeof(iface), "%.*s", (int)(len < IF_NAMESIZE ? len : IF_NAMESIZE), at);
		/*
		 * Two DPDK ports on one interface (net_af_packet, net_af_xdp) split or steal
		 * each other's frames (one fanout group; XDP redirects before any socket), and
		 * net_af_xdp takes a kernel: port's frames before the kernel's stack sees them.
		 */
		snprintf(ifaces[p], sizeof(ifaces[p]), "%s", iface);
		takes[p] = kernel_device_iface(device) == NULL;
		for (uint16_t q = 0; q < p; q++)
			if (strcmp(ifaces[q], iface) == 0 &&
			    ((takes[p] && takes[q]) || strncmp(device, "net_af_xdp", 10) == 0 ||
			     strncmp(cfg->ports[q].device, "net_af_xdp", 10) == 0)) {
				fhd_log(LOG_ERR, "fhd: %s: ports %s and %s are both on interface %s, where they would "
					"split or take each other's frames: give each its own interface\n", cfg->source,
					cfg->ports[q].name, cfg->ports[p].name, iface);
				return -EINVAL;
			}
		if (len < IF_NAMESIZE && if_nametoindex(iface) != 0)
			continue;
		/* --check may run where the config is written, not where it runs: said, not refused. */
		fhd_log(run->o.check ? LOG_WARNING : LOG_ERR, "fhd: %sport %s (%s): no network interface %s on this host (ip link lists them)\n",
			run->o.check ? "warning: " : "", cfg->ports[p].name, device, iface);
		if (!run->o.check)
			return -ENODEV;
	}
	return 0;
}

/*
 * The config, with the command line's overrides (--journal, --hist-out) applied and
 * --publish's name checked. 0, or -EINVAL with the reason printed.
 */
static int fhd_config_setup(struct fhd_run *run)
{
	const struct fhd_options *o = &run->o;
	struct cfg *cfg = &run->cfg;
	char err[CFG_ERROR_MAX];
	const char *why;

	if ((o->config_path ? cfg_load_file(o->config_path, cfg, err, sizeof(err))
			    : cfg_load_default(cfg, err, sizeof(err))) != 0) {
		fhd_log(LOG_ERR, "fhd: config error: %s\n", err);
		return -EINVAL;
	}
	if (o->journal != NULL) {
		if (cfg_dir_check(o->journal, &why) != 0) {
			fhd_log(LOG_ERR, "fhd: --journal %s: expected a writable directory: %s\n", o->journal, why);
			return -EINVAL;
		}
		if (!cfg->journal.enabled)
			cfg_journal_defaults(cfg, &cfg->journal);
		cfg->journal.enabled = true;
		snprintf(cfg->journal.dir, sizeof(cfg->journal.dir), "%s", o->journal);
	}
	if (o->hist_out != NULL) {
		if (cfg_dir_check(o->hist_out, &why) != 0) {
			fhd_log(LOG_ERR, "fhd: --hist-out %s: expected a writable directory: %s\n", o->hist_out, why);
			return -EINVAL;
		}
		snprintf(cfg->stats.hist_out, sizeof(cfg->stats.hist_out), "%s", o->hist_out);
	}
	if (o->publish != NULL && cfg_name_check(o->publish, CFG_RING_NAME_MAX, &why) != 0) {
		fhd_log(LOG_ERR, "fhd: --publish: expected a name of [A-Za-z0-9_.-] not starting with '.' "
			"(it names /dev/shm segments), got %s\n", why);
		return -EINVAL;
	}
	return 0;
}

/*
 * Starts DPDK: a private runtime directory when needed (removed at exit), EAL, a sweep
 * of what killed fhds left behind, and the stop signals. 0, or -errno with the
 * reason printed.
 */
static int fhd_eal_start(struct fhd_run *run)
{
	char parent[PATH_MAX];
	int rc;

	rc = fhd_runtime_dir_setup(fhd_private_dir, sizeof(fhd_private_dir));
	if (rc != 0)
		return rc;
	atexit(fhd_runtime_dir_remove);
	if (rte_eal_init(run->eal_count, run->eal_args) < 0) {
		fhd_log(LOG_ERR, "fhd: DPDK EAL init failed: %s\n", rte_strerror(rte_errno));
		return rte_errno > 0 ? -rte_errno : -EIO;
	}
	run->eal_running = true;
	snprintf(fhd_eal_dir, sizeof(fhd_eal_dir), "%s", rte_eal_get_runtime_dir());
	snprintf(parent, sizeof(parent), "%s", fhd_eal_dir);
	if (strrchr(parent, '/') != NULL)
		*strrchr(parent, '/') = '\0';
	fhd_stale_sweep(parent, "fhd-");
	fhd_stale_sweep(SHM_SEGMENT_DIR, "fh-stats-");
	fhd_signals_install();
	return 0;
}

static void fhd_pool_bytes_add(struct rte_mempool *pool, void *bytes, struct rte_mempool_memhdr *chunk,
			       unsigned index)
{
	(void)pool;
	(void)index;
	*(uint64_t *)bytes += chunk->len;
}

/*
 * The packet pool, sized for the captures' largest frame in a replay, and said: how
 * many mbufs, the memory they take, and what the config says can hold them at once.
 * 0 or -ENOMEM.
 */
static int fhd_mbufs_create(struct fhd_run *run)
{
	const struct cfg *cfg = &run->cfg;
	struct cfg_mbufs_need need;
	uint64_t bytes = 0;

	run->pool = fhd_pool_create(cfg, run->replay ? replay_data_room(run->captures, run->o.replay_count)
						     : RTE_MBUF_DEFAULT_BUF_SIZE);
	if (run->pool == NULL) {
		fhd_log(LOG_ERR, "fhd: cannot create %u mbufs: %s (raise EAL -m or lower mbufs)\n",
			cfg->mbufs, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	rte_mempool_mem_iter(run->pool, fhd_pool_bytes_add, &bytes);
	cfg_mbufs_need(cfg, run->replay ? (uint64_t)run->o.replay_count * FHD_REPLAY_RX_DESCRIPTORS
					: cfg_rx_descriptors(cfg), &need);
	fhd_log(LOG_INFO, "fhd: packet pool: %u mbufs of %u bytes, %.1f MiB of EAL memory (%s); at most %" PRIu64 " held at "
		"once: feed holds %" PRIu64 ", RX descriptors %" PRIu64 ", journal rings %" PRIu64
		", lcore caches %" PRIu64 ", RX bursts %" PRIu64 "\n", run->pool->size,
		run->pool->header_size + run->pool->elt_size + run->pool->trailer_size, (double)bytes / (1 << 20),
		cfg->mbufs_line != 0 ? "mbufs from the config" : "sized by fhd: no mbufs in the config",
		need.total, need.holds, need.rx_descriptors, need.journal, need.caches, need.bursts);
	return 0;
}

/* Each RX lcore's state, on its own socket. 0 or -ENOMEM. */
static int fhd_lcores_setup(struct fhd_run *run)
{
	const struct cfg *cfg = &run->cfg;

	assert(cfg->rx_lcores_count <= CFG_RX_LCORES_MAX);
	for (uint16_t i = 0; i < cfg->rx_lcores_count; i++) {
		struct rx_lcore *rx = rte_zmalloc_socket("rx_lcore", sizeof(*rx), 64,
							 (int)rte_lcore_to_socket_id(cfg->rx_lcores[i]));

		run->rx[i] = rx;
		if (rx == NULL) {
			fhd_log(LOG_ERR, "fhd: out of memory for RX lcore state\n");
			return -ENOMEM;
		}
		rx->quit = &fhd_quit;
		rx->pool = run->pool;
		rx->replay = run->replay;
		rx->timestamp_offset = -1;
		rx->set.pipeline_orders_min = FEED_PIPELINE_ORDERS_MIN;
	}
	return 0;
}

/*
 * A replay routes frames from a feed's recovery.server to that feed as its recovery
 * replies. A feed whose replies are in the captures (a journal of a recovered run:
 * replay_capture_open counted them) takes its recovery from there, and says so: its
 * holes wait in the hold for the replies later in the capture, the replay reading on,
 * and its server is never asked (so the replay gives the books of the run journaled,
 * whatever the server says today). Feeds whose replies are not in the captures ask
 * the server, the replay pausing for it, as before.
 */
static void fhd_replay_recovery_setup(struct fhd_run *run)
{
	const struct cfg *cfg = &run->cfg;

	assert(run->replay);
	run->rx[0]->set.replay_recovery = true;
	for (uint16_t f = 0; f < cfg->feeds_count; f++) {
		const struct cfg_recovery *rc = &cfg->feeds[f].recovery;
		struct in_addr addr = { .s_addr = htonl(rc->server_ip) };
		char ip[INET_ADDRSTRLEN];
		uint64_t replies = 0;

		for (uint32_t i = 0; i < run->o.replay_count; i++)
			replies += run->captures[i].source_frames[f];
		if (!rc->enabled || replies == 0 || run->feeds[f]->recovery == NULL)
			continue;
		inet_ntop(AF_INET, &addr, ip, sizeof(ip));
		/*
		 * Replies are told apart by their source: two feeds sharing a server could
		 * not be (the first would take the other's). Those ask the server instead.
		 */
		bool shared = false;

		for (uint16_t g = 0; g < cfg->feeds_count; g++)
			shared |= g != f && cfg->feeds[g].recovery.enabled &&
				  cfg->feeds[g].recovery.server_ip == rc->server_ip &&
				  cfg->feeds[g].recovery.server_port == rc->server_port;
		if (shared) {
			fhd_log(LOG_WARNING, "fhd: feed %s: the capture holds replies from %s:%u, but another feed "
				"has the same recovery.server: they cannot be told apart, the server is asked\n",
				cfg->feeds[f].name, ip, rc->server_port);
			continue;
		}
		run->feeds[f]->recovery->from_capture = true;
		fhd_log(LOG_INFO, "fhd: feed %s: recovery from the capture: it holds %" PRIu64 " replies from "
			"%s:%u (recovery.server); holes wait for them (up to recovery.hold %u packets), "
			"the recovery server is not asked (a snapshot server still is)\n", cfg->feeds[f].name, replies, ip,
			rc->server_port, rc->hold);
	}
}

/*
 * Books and reorder windows: everything the data path will touch, allocated now, each
 * feed placed on its RX lcore (a replay's on the first). 0 or -EINVAL.
 */
static int fhd_feeds_setup(struct fhd_run *run)
{
	const struct cfg *cfg = &run->cfg;
	char err[CFG_ERROR_MAX];

	assert(cfg->feeds_count <= CFG_FEEDS_MAX);
	for (uint16_t f = 0; f < cfg->feeds_count; f++) {
		struct rx_lcore *owner = run->replay ? run->rx[0] : fhd_rx_for(run->rx, cfg, cfg->feeds[f].lcore);
		struct feed *feed = feed_create(&cfg->feeds[f], fhd_mbuf_free, err, sizeof(err));

		run->feeds[f] = feed;
		if (feed == NULL || owner == NULL || feed_set_add(&owner->set, feed) != 0 ||
		    feed_latency_start(feed, rte_get_tsc_hz(), run->replay ? 0 : fhd_rx_epoch_offset_ns()) != 0) {
			fhd_log(LOG_ERR, "fhd: %s\n", feed ? "feed placement or histograms failed" : err);
			return -EINVAL;
		}
		run->finished[f] = &owner->finished;
	}
	if (run->replay)
		fhd_replay_recovery_setup(run);
	return 0;
}

/* A replay's ports: one net_pcap per capture, all polled by the first RX lcore. */
static int fhd_ports_replay_open(struct fhd_run *run)
{
	struct rx_lcore *rx = run->rx[0];
	char name[CFG_DEVICE_MAX], err[CFG_ERROR_MAX];
	bool loop = run->o.replay_loop;

	assert(run->o.replay_count <= FHD_REPLAY_MAX);
	for (uint32_t i = 0; i < run->o.replay_count; i++, run->ports_open++) {
		snprintf(name, sizeof(name), "net_pcap%u", i);
		if (port_open(name, 1, FHD_REPLAY_RX_DESCRIPTORS, 0, run->pool, &run->port_ids[i],
			      &run->port_kernels[i], err, sizeof(err)) != 0 ||
		    rx_lcore_replay_queue_add(rx, run->port_ids[i], !loop, loop ? 0 : run->captures[i].packets,
					      run->captures[i].link) != 0) {
			fhd_log(LOG_ERR, "fhd: %s\n", err);
			return -EIO;
		}
		port_multicast_open(run->port_ids[i]);
	}
	if (rte_mbuf_dyn_rx_timestamp_register(&rx->timestamp_offset, &rx->timestamp_flag) != 0)
		rx->timestamp_flag = 0;
	/* net_pcap stamps mbufs with the capture time in microseconds. */
	rx->timestamp_to_ns = 1000;
	return 0;
}

/*
 * The report name of configured port p on the kernel's stack: above any ethdev's id,
 * so the per-queue sums find its sockets and no ethdev call is made with it.
 */
#define FHD_KERNEL_PORT_ID(p) ((uint16_t)(RTE_MAX_ETHPORTS + (p)))
#define FHD_PORT_IS_KERNEL(id) ((id) >= RTE_MAX_ETHPORTS)

/*
 * Line l of feed f on a kernel-owned interface: on a kernel port, its socket, polled
 * by owner (1); on net_af_packet or net_af_xdp, a socket holding the membership (0,
 * the ethdev queue still to add). 0 too for any other port; -errno with the reason
 * printed.
 */
static int fhd_line_join(struct fhd_run *run, struct rx_lcore *owner, uint16_t f, int l)
{
	const struct cfg *cfg = &run->cfg;
	const struct cfg_line *line = &cfg->feeds[f].lines[l];
	const struct cfg_port *port = &cfg->ports[line->port_index];
	const char *kernel = kernel_device_iface(port->device);
	char iface[IF_NAMESIZE + 1], err[CFG_ERROR_MAX], text[sizeof(run->join_labels[0])];
	struct kernel_join *j = &run->joins[run->joins_count];
	char *label = run->join_labels[run->joins_count];

	if (kernel != NULL)
		snprintf(iface, sizeof(iface), "%s", kernel);
	else if (fhd_port_igmp_mode(port) != CFG_IGMP_KERNEL || !kernel_owned_iface(port->device, iface, sizeof(iface)))
		return 0;
	assert(run->joins_count < sizeof(run->joins) / sizeof(run->joins[0]));
	snprintf(text, sizeof(text), "port %s, feed %s line %c", port->name, cfg->feeds[f].name, 'A' + l);
	memcpy(label, text, sizeof(text));
	if (kernel_join(j, label, iface, line->group_ip, line->udp_port, line->source_present,
			line->source_ip, kernel != NULL, port->rcvbuf_bytes, err, sizeof(err)) != 0) {
		fhd_log(LOG_ERR, "fhd: %s\n", err);
		return -EIO;
	}
	run->joins_count++;
	if (kernel == NULL)
		return 0;
	if (rx_lcore_kernel_queue_add(owner, run->port_ids[line->port_index], j->fd, line->group_ip,
				      line->udp_port, &run->feeds[f]->lines[l].kernel_dropped) != 0) {
		fhd_log(LOG_ERR, "fhd: too many queues on lcore %u\n", cfg->feeds[f].lcore);
		return -ENOSPC;
	}
	return 1;
}

/* A live DPDK port's NIC clock against the TSC (rx_lcore_nic_clock_set's arguments). */
struct fhd_nic_clock {
	uint64_t nic0, tsc0, tsc_per_nic_q32;	/* tsc_per_nic_q32 0: no NIC stamps */
};

/*
 * Where a live DPDK port's rx_to_publish starts, said once at start: the NIC's RX
 * timestamps where port_open could turn them on and the NIC clock can be read
 * (nic_clock_read; its rate against the TSC measured over 20 ms here, refined by
 * the RX lcore as it runs), else the TSC read as rte_eth_rx_burst returns.
 */
static void fhd_port_clock_start(const char *name, uint16_t port_id, struct fhd_nic_clock *c)
{
	struct rte_eth_dev_info info;
	uint64_t nic1, tsc1;
	const char *why = "the PMD offers no NIC RX timestamp";

	memset(c, 0, sizeof(*c));
	if (rte_eth_dev_info_get(port_id, &info) == 0 && (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP) != 0) {
		/* port_open turned them on (it does where the PMD offers them). */
		why = "the PMD offers NIC RX timestamps but its clock cannot be read";
		if (nic_clock_read(port_id, &c->nic0) == 0) {
			c->tsc0 = rte_rdtsc();
			rte_delay_ms(20);
			if (nic_clock_read(port_id, &nic1) == 0 && (tsc1 = rte_rdtsc()) > c->tsc0 && nic1 > c->nic0)
				c->tsc_per_nic_q32 = (uint64_t)(((__uint128_t)(tsc1 - c->tsc0) << 32) / (nic1 - c->nic0));
		}
	}
	if (c->tsc_per_nic_q32 != 0)
		fhd_log(LOG_INFO, "fhd: port %s: rx_to_publish starts at: NIC timestamp (its clock %.3f MHz, "
			"mapped to the TSC)\n", name, (double)rte_get_tsc_hz() / ((double)c->tsc_per_nic_q32 / 4294967296.0) / 1e6);
	else
		fhd_log(LOG_INFO, "fhd: port %s: rx_to_publish starts at: TSC after rx_burst (%s)\n", name, why);
}

/* The RX lcores' queues of ports with NIC RX stamps start rx_to_publish there. 0 or -1. */
static int fhd_ports_nic_clocks_set(struct fhd_run *run, const struct fhd_nic_clock *clocks)
{
	int offset = -1;
	uint64_t flag = 0;

	for (uint16_t p = 0; p < run->cfg.ports_count; p++) {
		if (clocks[p].tsc_per_nic_q32 == 0)
			continue;
		if (flag == 0 && rte_mbuf_dyn_rx_timestamp_register(&offset, &flag) != 0) {
			fhd_log(LOG_ERR, "fhd: the mbuf timestamp field: %s\n", rte_strerror(rte_errno));
			return -1;
		}
		for (uint16_t i = 0; i < run->cfg.rx_lcores_count; i++)
			rx_lcore_nic_clock_set(run->rx[i], run->port_ids[p], offset, flag, clocks[p].nic0, clocks[p].tsc0,
					       clocks[p].tsc_per_nic_q32);
	}
	return 0;
}

/* The interface a live DPDK port receives on (iface=), else its device, into iface. */
static void fhd_port_iface(const struct cfg_port *port, char *iface, size_t size)
{
	if (!kernel_owned_iface(port->device, iface, size))
		snprintf(iface, size, "%s", port->device);
}

/*
 * Port p's groups: their MACs for the filter (with all-hosts' when fhd answers
 * queries), and the membership fhd reports (igmp: fhd).
 */
static uint32_t fhd_port_groups(const struct cfg *cfg, uint16_t p, struct igmp_membership *m,
				struct rte_ether_addr *macs)
{
	uint32_t count = 0;

	memset(m, 0, sizeof(*m));
	for (uint16_t f = 0; f < cfg->feeds_count; f++)
		for (int l = 0; l < CFG_LINES_MAX; l++) {
			const struct cfg_line *line = &cfg->feeds[f].lines[l];

			/* The asserts hold: at most CFG_FEEDS_MAX x CFG_LINES_MAX lines (see above). */
			if (line->present && line->port_index == p)
				RTE_VERIFY(igmp_membership_add(m, line->group_ip, line->source_present,
							       line->source_ip) == 0);
		}
	for (uint32_t g = 0; g < m->groups_count; g++)
		packet_group_mac(m->groups[g].group_ip, macs[count++].addr_bytes);
	if (fhd_port_igmp_mode(&cfg->ports[p]) == CFG_IGMP_FHD)
		packet_group_mac(IGMP_ALL_HOSTS, macs[count++].addr_bytes);
	assert(count <= PORT_MAC_FILTER_MAX);
	return count;
}

/*
 * An RX lcore's queues on ports with igmp: fhd copy their IGMP frames to its igmp
 * ring (rx.h), made here for the lcores that have such a queue. 0 or -ENOMEM.
 */
static int fhd_igmp_rings_create(struct fhd_run *run)
{
	const struct cfg *cfg = &run->cfg;
	char name[RTE_RING_NAMESIZE];

	for (uint16_t i = 0; i < cfg->rx_lcores_count; i++) {
		struct rx_lcore *rx = run->rx[i];

		for (uint32_t q = 0; q < rx->queues_count; q++)
			for (uint16_t p = 0; p < cfg->ports_count; p++)
				if (rx->queues[q].fd < 0 && rx->queues[q].port_id == run->port_ids[p] &&
				    fhd_port_igmp_mode(&cfg->ports[p]) == CFG_IGMP_FHD)
					rx->queues[q].igmp = true;
		for (uint32_t q = 0; q < rx->queues_count && rx->igmp == NULL; q++) {
			if (!rx->queues[q].igmp)
				continue;
			snprintf(name, sizeof(name), "fh_igmp_%u", cfg->rx_lcores[i]);
			rx->igmp = rte_ring_create_elem(name, sizeof(struct rx_igmp_frame), RX_IGMP_RING,
							rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (rx->igmp == NULL) {
				fhd_log(LOG_ERR, "fhd: IGMP ring of lcore %u: %s\n", cfg->rx_lcores[i],
					rte_strerror(rte_errno));
				return -ENOMEM;
			}
		}
	}
	return 0;
}

/*
 * The DPDK ports' queues, each polled by one RX lcore (two lcores polling one queue
 * would race in the PMD and take each other's frames); then each port's lines
 * steered to their queues by rte_flow where the PMD has it (flow.h). 0 or -EINVAL.
 */
static int fhd_ports_steer(struct fhd_run *run)
{
	const struct cfg *cfg = &run->cfg;
	struct flow_line lines[CFG_FEEDS_MAX * CFG_LINES_MAX];
	char labels[CFG_FEEDS_MAX * CFG_LINES_MAX][CFG_NAME_MAX + 16];

	for (uint16_t p = 0; p < cfg->ports_count; p++) {
		uint32_t count = 0;
		uint16_t owner[CFG_RX_QUEUES_MAX] = { 0 };	/* lcore + 1 polling each queue, 0: none */

		if (FHD_PORT_IS_KERNEL(run->port_ids[p]))
			continue;
		for (uint16_t f = 0; f < cfg->feeds_count; f++)
			for (int l = 0; l < CFG_LINES_MAX; l++) {
				const struct cfg_line *line = &cfg->feeds[f].lines[l];

				if (!line->present || line->port_index != p)
					continue;
				assert(line->queue < CFG_RX_QUEUES_MAX && count < sizeof(lines) / sizeof(lines[0]));
				if (owner[line->queue] != 0 && owner[line->queue] != cfg->feeds[f].lcore + 1) {
					fhd_log(LOG_ERR, "fhd: port %s: queue %u is polled by lcores %u and %u: give "
						"each RX lcore's lines queues of their own (lines' queue)\n",
						cfg->ports[p].name, line->queue, owner[line->queue] - 1,
						cfg->feeds[f].lcore);
					return -EINVAL;
				}
				owner[line->queue] = (uint16_t)(cfg->feeds[f].lcore + 1);
				snprintf(labels[count], sizeof(labels[count]), "feed %s line %c", cfg->feeds[f].name,
					 'A' + l);
				lines[count] = (struct flow_line){ .group_ip = line->group_ip, .udp_port = line->udp_port,
								   .queue = line->queue, .label = labels[count] };
				count++;
			}
		flow_lines_steer(run->port_ids[p], cfg->ports[p].name, lines, count);
		if (cfg->ports[p].flow_isolate && fhd_port_igmp_mode(&cfg->ports[p]) == CFG_IGMP_FHD)
			for (uint16_t q = 0; q < CFG_RX_QUEUES_MAX; q++)
				if (owner[q] != 0) {
					(void)flow_igmp_steer(run->port_ids[p], cfg->ports[p].name, q);
					break;
				}
	}
	return 0;
}

/*
 * Each live DPDK port's multicast filter, said in one line with who joins its groups;
 * and on the ports with igmp: fhd, fhd's own IGMP (igmp_port.h): its TX pool, the RX
 * lcores' rings, each port's host. 0, or -errno with the reason printed.
 */
static int fhd_multicast_setup(struct fhd_run *run)
{
	const struct cfg *cfg = &run->cfg;
	struct rte_ether_addr macs[PORT_MAC_FILTER_MAX];
	struct igmp_membership m;
	char said[256], iface[CFG_DEVICE_MAX], label[CFG_NAME_MAX + 8], err[CFG_ERROR_MAX];
	static const char *const joins[] = {
		[CFG_IGMP_AUTO] = "?", [CFG_IGMP_FHD] = "fhd sends IGMPv3 reports and answers queries",
		[CFG_IGMP_KERNEL] = "the kernel joins", [CFG_IGMP_OFF] = "nobody joins (igmp: off)",
	};

	for (uint16_t p = 0; p < cfg->ports_count; p++) {
		enum cfg_igmp_mode mode = fhd_port_igmp_mode(&cfg->ports[p]);
		uint32_t count;

		if (FHD_PORT_IS_KERNEL(run->port_ids[p]))
			continue;
		count = fhd_port_groups(cfg, p, &m, macs);
		port_mac_filter_set(run->port_ids[p], macs, count, said, sizeof(said));
		fhd_port_iface(&cfg->ports[p], iface, sizeof(iface));
		fhd_log(LOG_INFO, "fhd: port %s (%s): MAC filter: %s; %s\n", cfg->ports[p].name, iface, said,
			joins[mode]);
		if (mode != CFG_IGMP_FHD)
			continue;
		if (run->igmp_pool == NULL && (run->igmp_pool = igmp_port_pool_create()) == NULL) {
			fhd_log(LOG_ERR, "fhd: IGMP TX pool: %s\n", rte_strerror(rte_errno));
			return -ENOMEM;
		}
		snprintf(label, sizeof(label), "port %s", cfg->ports[p].name);
		if (igmp_port_start(&run->igmp_ports[run->igmp_ports_count], run->port_ids[p], label, iface,
				    cfg->ports[p].igmp_source_ip, &m, run->igmp_pool, clock_monotonic_ns(), err,
				    sizeof(err)) != 0) {
			fhd_log(LOG_ERR, "fhd: %s\n", err);
			return -EIO;
		}
		run->igmp_ports_count++;
	}
	return run->igmp_ports_count > 0 ? fhd_igmp_rings_create(run) : 0;
}

/*
 * The control loop's IGMP: what the RX lcores copied, then what is due on each port.
 * Bounded per pass (IGMP_PORT_DRAIN_MAX per ring, igmp_port_service).
 */
static void fhd_igmp_poll(struct fhd_run *run, uint64_t now_ns)
{
	for (uint16_t i = 0; i < run->cfg.rx_lcores_count; i++)
		if (run->rx[i]->igmp != NULL)
			(void)igmp_port_drain(run->igmp_ports, run->igmp_ports_count, run->rx[i]->igmp, now_ns);
	for (uint32_t p = 0; p < run->igmp_ports_count; p++)
		igmp_port_service(&run->igmp_ports[p], now_ns);
}

/* Live ports: the configured devices, and each feed line's queue on its feed's lcore. */
static int fhd_ports_live_open(struct fhd_run *run)
{
	const struct cfg *cfg = &run->cfg;
	char name[CFG_DEVICE_MAX], err[CFG_ERROR_MAX];
	struct fhd_nic_clock clocks[CFG_PORTS_MAX] = { 0 };
	int rc;

	assert(cfg->ports_count <= CFG_PORTS_MAX);
	for (uint16_t p = 0; p < cfg->ports_count; p++, run->ports_open++) {
		if (kernel_device_iface(cfg->ports[p].device) != NULL) {
			run->port_ids[p] = FHD_KERNEL_PORT_ID(p);	/* no ethdev: a name for the reports */
			fhd_log(LOG_INFO, "fhd: port %s: rx_to_publish starts at: kernel RX timestamp "
				"(SO_TIMESTAMPING, software)\n", cfg->ports[p].name);
			continue;
		}
		fhd_device_name(cfg->ports[p].device, name, sizeof(name));
		if (cfg->ports[p].flow_isolate && rte_eth_dev_get_port_by_name(name, &run->port_ids[p]) == 0 &&
		    flow_isolate(run->port_ids[p], cfg->ports[p].name, err, sizeof(err)) != 0) {
			fhd_log(LOG_ERR, "fhd: %s\n", err);
			return -EIO;
		}
		if (port_open(name, cfg->ports[p].rx_queues, cfg->ports[p].rx_descriptors,
			      fhd_port_igmp_mode(&cfg->ports[p]) == CFG_IGMP_FHD ? 1 : 0, run->pool,
			      &run->port_ids[p], &run->port_kernels[p], err, sizeof(err)) != 0) {
			fhd_log(LOG_ERR, "fhd: %s\n", err);
			return -EIO;
		}
		fhd_port_clock_start(cfg->ports[p].name, run->port_ids[p], &clocks[p]);
	}
	for (uint16_t f = 0; f < cfg->feeds_count; f++) {
		struct rx_lcore *owner = fhd_rx_for(run->rx, cfg, cfg->feeds[f].lcore);

		for (int l = 0; l < CFG_LINES_MAX; l++) {
			const struct cfg_line *line = &cfg->feeds[f].lines[l];

			if (!line->present)
				continue;
			/* The config checked both: a line's port is configured, its lcore polls. */
			assert(owner != NULL && line->port_index < run->ports_open);
			rc = fhd_line_join(run, owner, f, l);
			if (rc < 0)
				return rc;
			if (rc == 0 &&
			    rx_lcore_queue_add(owner, run->port_ids[line->port_index], line->queue, 0) != 0) {
				fhd_log(LOG_ERR, "fhd: too many queues on lcore %u\n", cfg->feeds[f].lcore);
				return -ENOSPC;
			}
		}
	}
	if (fhd_ports_nic_clocks_set(run, clocks) != 0)
		return -EIO;
	rc = fhd_ports_steer(run);
	return rc != 0 ? rc : fhd_multicast_setup(run);
}

/* Ports: each replay capture, or the configured devices. 0 or -errno. */
static int fhd_ports_setup(struct fhd_run *run)
{
	return run->replay ? fhd_ports_replay_open(run) : fhd_ports_live_open(run);
}

/*
 * Publishing, when the config or --publish asks for it (--publish NAME alone gets the
 * config's publish defaults). 0 or -errno.
 */
static int fhd_publish_start(struct fhd_run *run)
{
	struct cfg *cfg = &run->cfg;

	if (run->o.publish != NULL) {
		cfg->publish.enabled = true;
		snprintf(cfg->publish.ring, sizeof(cfg->publish.ring), "%s", run->o.publish);
		if (cfg->publish.capacity == 0) {
			cfg->publish.capacity = CFG_PUBLISH_CAPACITY_DEFAULT;
			cfg->publish.mode = CFG_PUBLISH_MODE_DEFAULT;
			cfg->publish.depth = CFG_PUBLISH_DEPTH_DEFAULT;
		}
	}
	if (!cfg->publish.enabled)
		return 0;
	return fhd_publish_setup(cfg, run->rx, run->rings, run->views, run->publishers);
}

/* Port port_id's kernel sockets: datagrams received, dropped by the kernel, truncated. */
static void fhd_kernel_port_counts(const struct fhd_run *run, uint16_t port_id, uint64_t *received,
				   uint64_t *dropped, uint64_t *truncated)
{
	*received = *dropped = *truncated = 0;
	for (uint16_t i = 0; i < run->cfg.rx_lcores_count; i++)
		for (uint32_t q = 0; q < run->rx[i]->queues_count; q++) {
			const struct rx_queue *rq = &run->rx[i]->queues[q];

			if (rq->port_id != port_id)
				continue;
			*received += __atomic_load_n(&rq->packets, __ATOMIC_RELAXED);
			*dropped += __atomic_load_n(&rq->kernel_dropped, __ATOMIC_RELAXED);
			*truncated += __atomic_load_n(&rq->truncated, __ATOMIC_RELAXED);
		}
}

/* Times the RX lcores found the pool low while polling port_id's queues. */
static uint64_t fhd_port_pool_low(const struct fhd_run *run, uint16_t port_id)
{
	uint64_t pool_low = 0;

	for (uint16_t i = 0; i < run->cfg.rx_lcores_count; i++)
		for (uint32_t q = 0; q < run->rx[i]->queues_count; q++)
			if (run->rx[i]->queues[q].port_id == port_id)
				pool_low += __atomic_load_n(&run->rx[i]->queues[q].pool_low, __ATOMIC_RELAXED);
	return pool_low;
}

/* Port p's name in reports: the config's, or in a replay its capture's file name. */
static const char *fhd_port_label(const struct fhd_run *run, uint32_t p, bool short_name)
{
	const char *slash;

	if (!run->replay)
		return run->cfg.ports[p].name;
	slash = strrchr(run->o.replay[p], '/');
	return short_name && slash != NULL ? slash + 1 : run->o.replay[p];
}

/* The ports' counters for the stats segment and Prometheus, before each stats tick. */
static void fhd_ports_stats_set(struct fhd_run *run)
{
	struct fh_stats_port ports[FH_STATS_PORTS_MAX];
	struct rte_eth_stats eth;
	uint32_t count = 0;

	for (uint32_t p = 0; p < run->ports_open && count < FH_STATS_PORTS_MAX; p++, count++) {
		memset(&ports[count], 0, sizeof(ports[count]));
		snprintf(ports[count].name, sizeof(ports[count].name), "%s", fhd_port_label(run, p, true));
		if (FHD_PORT_IS_KERNEL(run->port_ids[p])) {
			/* The kernel's drops (SO_RXQ_OVFL) are its port's misses. */
			fhd_kernel_port_counts(run, run->port_ids[p], &ports[count].received,
					       &ports[count].missed, &ports[count].errors);
		} else if (rte_eth_stats_get(run->port_ids[p], &eth) == 0) {
			ports[count].received = eth.ipackets;
			ports[count].missed = eth.imissed + port_kernel_dropped(&run->port_kernels[p]);
			ports[count].no_mbuf = eth.rx_nombuf;
			ports[count].errors = eth.ierrors;
		}
		ports[count].pool_low = fhd_port_pool_low(run, run->port_ids[p]);
	}
	stats_ports_set(&run->stats, ports, count);
}

/*
 * The stats segment (a fresh unguessable name when this run's own was taken), with
 * its Prometheus file, and its first tick. 0, or -errno from stats_open.
 */
static int fhd_stats_start(struct fhd_run *run)
{
	const struct cfg *cfg = &run->cfg;
	char segment[SHM_SEGMENT_NAME_MAX];
	bool per_run;
	int rc;

	per_run = fhd_stats_segment_name(cfg, segment, sizeof(segment));
	rc = stats_open(&run->stats, &cfg->stats, segment, 0644, per_run, run->feeds, run->finished,
			cfg->feeds_count);
	if (rc == -EPERM && per_run && fhd_stats_segment_name_unguessable(segment, sizeof(segment)) == 0) {
		fhd_log(LOG_WARNING, "fhd: this run's own stats segment name was taken: using %s instead\n", segment);
		rc = stats_open(&run->stats, &cfg->stats, segment, 0644, per_run, run->feeds, run->finished,
				cfg->feeds_count);
	}
	if (rc != 0)
		return rc;
	fhd_log(LOG_INFO, "fhd: statistics on /dev/shm/%s (fh stat --segment %s)%s\n", segment, segment,
		per_run ? ", removed at exit" : "");
	if (run->outputs.prometheus.fd >= 0)
		stats_prometheus_file_set(&run->stats, &run->outputs.prometheus, run->outputs.prometheus_name);
	if (run->http != NULL) {
		rc = stats_metrics_text_keep(&run->stats, FHD_METRICS_TEXT_BASE_MAX +
						  (size_t)cfg->feeds_count * FHD_METRICS_TEXT_FEED_MAX);
		if (rc != 0) {
			fhd_log(LOG_ERR, "fhd: stats.http: no memory for the metrics text\n");
			return rc;
		}
	}
	fhd_ports_stats_set(run);
	run->stats.last_tick_ns = clock_monotonic_ns();
	/* Only a missing command: the run goes on without (the message said why). */
	(void)telemetry_commands_register(&run->stats);
	return 0;
}

/*
 * stats.http: listens now, before DPDK, so that an address or port fhd cannot have
 * stops it at once (FHD_EXIT_CONFIG); it serves once the stats are open. 0, or -1
 * with the reason printed.
 */
static int fhd_http_start(struct fhd_run *run)
{
	const struct cfg_stats *st = &run->cfg.stats;
	char err[256];

	if (!st->http)
		return 0;
	run->http = metrics_http_start(st->http_ip, st->http_port, &run->stats, err, sizeof(err));
	if (run->http == NULL) {
		fhd_log(LOG_ERR, "fhd: stats.http: %s\n", err);
		return -1;
	}
	fhd_log(LOG_INFO, "fhd: metrics on http://%u.%u.%u.%u:%u/metrics\n", st->http_ip >> 24,
		(st->http_ip >> 16) & 0xFF, (st->http_ip >> 8) & 0xFF, st->http_ip & 0xFF, st->http_port);
	return 0;
}

/* The journal, when enabled: its writer and rings, and its lcore launched. 0 or -errno. */
static int fhd_journal_start(struct fhd_run *run)
{
	const struct cfg *cfg = &run->cfg;
	int rc;

	if (!cfg->journal.enabled)
		return 0;
	rc = fhd_journal_setup(cfg, &run->outputs.journal, run->rx, &run->journal);
	if (rc != 0)
		return rc;
	rc = rte_eal_remote_launch(journal_lcore_run, &run->journal, cfg->journal.lcore);
	if (rc != 0) {
		fhd_log(LOG_ERR, "fhd: cannot launch the journal lcore %u: %s\n", cfg->journal.lcore,
			strerror(-rc));
		journal_close(&run->journal.journal);
		return rc;
	}
	run->journal_running = true;
	return 0;
}

/*
 * Launches every RX lcore that polls a queue (one with none is finished at once).
 * A launch that fails stops the others: fhd still waits for them and reports.
 * 0, or the -errno of the failed launch.
 */
/*
 * The recovery worker, for feeds with a recovery section, on the main lcore's CPU
 * (the control core). A mid-session join is STALE without a snapshot server: said
 * here, before it happens. 0 or -1 with the reason printed.
 */
static int fhd_recovery_start(struct fhd_run *run)
{
	const struct cfg *cfg = &run->cfg;
	char err[256];

	for (uint16_t f = 0; f < cfg->feeds_count; f++)
		if (!cfg->feeds[f].snapshot.enabled)
			fhd_log(LOG_WARNING, "fhd: feed %s: no snapshot server: if it joins mid-session, its "
				"books are STALE until the next session\n", cfg->feeds[f].name);
	run->recovery = recovery_worker_start(run->feeds, cfg->feeds_count,
					      (int)rte_lcore_to_cpu_id((int)cfg->main_lcore), err, sizeof(err));
	if (run->recovery == NULL && err[0] != '\0') {
		fhd_log(LOG_ERR, "fhd: %s\n", err);
		return -1;
	}
	return 0;
}

static int fhd_rx_launch(struct fhd_run *run)
{
	const struct cfg *cfg = &run->cfg;
	int rc;

	for (uint16_t i = 0; i < cfg->rx_lcores_count; i++) {
		if (run->rx[i]->queues_count == 0) {
			run->rx[i]->finished = true;
			continue;
		}
		rc = rte_eal_remote_launch(rx_lcore_run, run->rx[i], cfg->rx_lcores[i]);
		if (rc != 0) {
			fhd_log(LOG_ERR, "fhd: cannot launch RX lcore %u: %s\n", cfg->rx_lcores[i],
				strerror(-rc));
			fhd_quit = true;
			return rc;
		}
	}
	return 0;
}

/*
 * The watchdog's due ping, sent only if every RX lcore still running has turned its
 * loop since the last one (loops_seen: their counts then): a wedged RX lcore stops
 * the pings, and the service manager restarts fhd when its timeout runs out. Said
 * once when held (naming the lcores) and once when the pings resume.
 */
static void fhd_watchdog_ping(struct fhd_run *run, struct service_watchdog *w, uint64_t now_ns,
			      uint64_t *loops_seen)
{
	const struct cfg *cfg = &run->cfg;
	char stuck[64] = "";
	size_t used = 0;
	int change;

	for (uint16_t i = 0; i < cfg->rx_lcores_count && used < sizeof(stuck); i++) {
		uint64_t loops = __atomic_load_n(&run->rx[i]->loops, __ATOMIC_RELAXED);

		if (loops == loops_seen[i] && !run->rx[i]->finished)
			used += (size_t)snprintf(stuck + used, sizeof(stuck) - used, "%s%u", used ? ", " : "",
						 cfg->rx_lcores[i]);
	}
	change = service_watchdog_ping(w, now_ns, stuck[0] == '\0');
	if (stuck[0] == '\0')
		for (uint16_t i = 0; i < cfg->rx_lcores_count; i++)
			loops_seen[i] = __atomic_load_n(&run->rx[i]->loops, __ATOMIC_RELAXED);
	if (change > 0)
		fhd_log(LOG_ERR, "fhd: RX lcore(s) %s made no progress since the last watchdog ping: "
			"not pinging (the service manager restarts fhd when its timeout runs out)\n", stuck);
	else if (change < 0)
		fhd_log(LOG_WARNING, "fhd: warning: every RX lcore makes progress again: watchdog pings resume\n");
}

/*
 * Waits for the run's end (every RX lcore finished, a signal, or --duration), ticking
 * the stats meanwhile; then for the lcores, the journal's last writes, and tells the
 * consumers that this generation ends cleanly.
 */
static void fhd_wait(struct fhd_run *run)
{
	const struct cfg *cfg = &run->cfg;
	struct service_watchdog watchdog;
	uint64_t started_tsc, now_ns, loops_seen[CFG_RX_LCORES_MAX] = { 0 };
	char status[128];
	bool all;

	snprintf(status, sizeof(status), "running: %u feed(s) on %u RX lcore(s)%s", cfg->feeds_count,
		 cfg->rx_lcores_count, run->replay ? ", replaying" : "");
	fhd_log(LOG_INFO, "fhd: %s%s\n", status, run->replay ? "" : "; SIGINT/SIGTERM to stop");
	/* Ports, lcores and segments are up (a failed launch has set fhd_quit): ready. */
	if (!fhd_quit)
		service_notify_ready(status);
	if (service_watchdog_start(&watchdog, clock_monotonic_ns()))
		fhd_log(LOG_INFO, "fhd: service manager watchdog: pinging every %.1f s\n",
			(double)watchdog.interval_ns / 1e9);
	started_tsc = rte_rdtsc();
	for (;;) {
		all = true;
		for (uint16_t i = 0; i < cfg->rx_lcores_count; i++)
			all = all && run->rx[i]->finished;
		if (all || fhd_quit)
			break;
		if (run->o.duration_s > 0 &&
		    (double)(rte_rdtsc() - started_tsc) / (double)rte_get_tsc_hz() >= run->o.duration_s)
			fhd_quit = true;
		now_ns = clock_monotonic_ns();
		if (service_watchdog_due(&watchdog, now_ns))
			fhd_watchdog_ping(run, &watchdog, now_ns, loops_seen);
		if (stats_due(&run->stats, now_ns)) {
			fhd_ports_stats_set(run);
			stats_tick(&run->stats, now_ns, false);
		}
		if (run->http != NULL)
			metrics_http_poll(run->http);	/* the control lcore's: never an RX lcore */
		if (run->igmp_ports_count > 0)
			fhd_igmp_poll(run, now_ns);	/* the control lcore's too: RX only copies */
		usleep(10000);
	}
	snprintf(status, sizeof(status), "stopping: %s", all ? "every RX lcore finished" : "signal or --duration");
	fhd_log(LOG_INFO, "fhd: %s\n", status);
	service_notify_stopping(status);
	for (uint16_t i = 0; i < cfg->rx_lcores_count; i++)
		rte_eal_wait_lcore(cfg->rx_lcores[i]);
	/* The RX lcores are done: the journal takes what is left in its rings and closes. */
	if (run->journal_running) {
		run->journal.stop = true;
		rte_eal_wait_lcore(cfg->journal.lcore);
	}
	fhd_ports_stats_set(run);
	stats_tick(&run->stats, clock_monotonic_ns(), true);	/* the RX lcores are done: the last interval */
	/* ... and consumers learn that this generation ends cleanly. */
	for (uint16_t i = 0; i < cfg->rx_lcores_count; i++)
		if (run->rings[i].header != NULL)
			pub_ring_stop(&run->rings[i]);
}

/* --dump-books FILE: the canonical book dump. 0, or -EIO with the reason printed. */
static int fhd_books_dump(struct fhd_run *run)
{
	char why[OUTPUT_FILE_ERROR_MAX];
	FILE *out = output_file_fopen(&run->outputs.dump, run->outputs.dump_name, 0644, why, sizeof(why));
	bool bad = out == NULL;

	if (out != NULL) {
		bad = feed_books_dump(out, run->feeds, run->cfg.feeds_count) != 0;
		bad = fclose(out) != 0 || bad;
		snprintf(why, sizeof(why), "%s: %s", run->o.dump_path, strerror(errno));
	}
	if (bad) {
		fhd_log(LOG_ERR, "fhd: --dump-books %s\n", why);
		return -EIO;
	}
	return 0;
}

/* The RX lcores' own counters: a replay's idle-timeout end, and frames not decoded. */
static void fhd_lcores_report(FILE *out, const struct fhd_run *run)
{
	const struct cfg *cfg = &run->cfg;

	for (uint16_t i = 0; i < cfg->rx_lcores_count; i++) {
		const struct rx_lcore *rx = run->rx[i];

		if (rx->stalled)
			fhd_log(LOG_WARNING, "fhd: warning: lcore %u: replay ended on idle timeout before "
				"every capture packet was received\n", cfg->rx_lcores[i]);
		if (rx->segmented > 0)
			fprintf(out, "rx lcore %u: segmented %" PRIu64 " (frames larger than one "
				"mbuf, not decoded%s)\n", cfg->rx_lcores[i], rx->segmented,
				rx->journal != NULL ? " nor journaled" : "");
	}
}

/*
 * A kernel port's lines: each socket's datagrams, the kernel's drops (its buffer was
 * full: lost on that line), the truncated ones and those whose kernel RX stamp was
 * unusable (rx_to_publish started at the TSC for them), then the port's sums.
 */
static void fhd_kernel_port_print(FILE *out, const struct fhd_run *run, uint32_t p)
{
	uint16_t id = run->port_ids[p];
	uint64_t received, dropped, truncated;

	fhd_kernel_port_counts(run, id, &received, &dropped, &truncated);
	fprintf(out, "port %s: received %" PRIu64 "  kernel_dropped %" PRIu64 "  truncated %" PRIu64
		"  pool_low %" PRIu64 "\n", fhd_port_label(run, p, false), received, dropped, truncated,
		fhd_port_pool_low(run, id));
	for (uint16_t i = 0; i < run->cfg.rx_lcores_count; i++)
		for (uint32_t q = 0; q < run->rx[i]->queues_count; q++) {
			const struct rx_queue *rq = &run->rx[i]->queues[q];
			struct in_addr g = { .s_addr = htonl(rq->group_ip) };
			char group[INET_ADDRSTRLEN];

			if (rq->port_id != id)
				continue;
			inet_ntop(AF_INET, &g, group, sizeof(group));
			fprintf(out, "  socket %s:%u: received %" PRIu64 "  kernel_dropped %" PRIu64
				"  truncated %" PRIu64 "  stamps_rejected %" PRIu64 "\n", group, rq->udp_port,
				rq->packets, rq->kernel_dropped, rq->truncated, rq->stamps_rejected);
		}
}

/* A port with NIC RX stamps: the frames whose stamp could not be used (rx.c). */
static void fhd_port_nic_stamps_print(FILE *out, const struct fhd_run *run, uint16_t port_id)
{
	uint64_t rejected = 0;
	bool stamped = false;

	for (uint16_t i = 0; i < run->cfg.rx_lcores_count; i++)
		for (uint32_t q = 0; q < run->rx[i]->queues_count; q++) {
			const struct rx_queue *rq = &run->rx[i]->queues[q];

			if (rq->port_id != port_id || rq->tsc_per_nic_q32 == 0)
				continue;
			stamped = true;
			rejected += __atomic_load_n(&rq->stamps_rejected, __ATOMIC_RELAXED);
		}
	if (stamped)
		fprintf(out, "  NIC RX stamps: stamps_rejected %" PRIu64 "\n", rejected);
}

/* A port's IGMP counters, with what its queues copied to (or dropped at) the igmp rings. */
static void fhd_igmp_port_print(FILE *out, const struct fhd_run *run, const struct igmp_port *ip)
{
	uint64_t taken = 0, dropped = 0;

	for (uint16_t i = 0; i < run->cfg.rx_lcores_count; i++)
		for (uint32_t q = 0; q < run->rx[i]->queues_count; q++)
			if (run->rx[i]->queues[q].port_id == ip->port_id) {
				taken += __atomic_load_n(&run->rx[i]->queues[q].igmp_taken, __ATOMIC_RELAXED);
				dropped += __atomic_load_n(&run->rx[i]->queues[q].igmp_dropped, __ATOMIC_RELAXED);
			}
	igmp_port_print(out, ip, taken, dropped);
}

/*
 * The run's counters on stdout: throughput, lcores, captures, ports, feeds, journal,
 * stats; then the latency distributions and the book dump. 0, or -EIO when a file
 * could not be written.
 */
static int fhd_report(struct fhd_run *run)
{
	const struct cfg *cfg = &run->cfg;
	char name[CFG_DEVICE_MAX];
	int rc = 0;

	if (!run->replay)
		for (uint16_t i = 0; i < cfg->rx_lcores_count; i++)
			if (run->rx[i] != NULL)
				rx_lcore_kernel_drops_settle(run->rx[i]);
	fhd_throughput_print(stdout, run->rx, cfg, run->feeds);
	fhd_lcores_report(stdout, run);
	if (run->replay)
		fhd_captures_report(stdout, &run->o, run->captures, run->rx[0], run->port_ids, run->ports_open);
	for (uint32_t p = 0; p < run->ports_open; p++) {
		snprintf(name, sizeof(name), "%s", fhd_port_label(run, p, false));
		if (FHD_PORT_IS_KERNEL(run->port_ids[p]))
			fhd_kernel_port_print(stdout, run, p);
		else
			port_stats_print(stdout, run->port_ids[p], name,
					 fhd_port_pool_low(run, run->port_ids[p]), &run->port_kernels[p]);
		fhd_port_nic_stamps_print(stdout, run, run->port_ids[p]);
	}
	for (uint32_t p = 0; p < run->igmp_ports_count; p++)
		fhd_igmp_port_print(stdout, run, &run->igmp_ports[p]);
	for (uint16_t i = 0; i < cfg->rx_lcores_count; i++)
		if (run->rx[i]->set.feeds_count > 0)
			feed_set_stats_print(stdout, &run->rx[i]->set);
	for (uint16_t f = 0; f < cfg->feeds_count; f++) {
		feed_stats_print(stdout, run->feeds[f]);
		if (run->o.top_books > 0)
			feed_books_top_print(stdout, run->feeds[f], run->o.top_books, 5);
	}
	if (run->journal_running)
		fhd_journal_stats_print(stdout, &run->journal, run->rx, cfg);
	stats_report(stdout, &run->stats);
	if (run->outputs.hist.fd >= 0 && stats_hist_files_write(&run->stats, &run->outputs.hist) != 0)
		rc = -EIO;
	if (run->o.dump_path != NULL && fhd_books_dump(run) != 0)
		rc = -EIO;
	return rc;
}

/*
 * The one cleanup path: undoes whatever the steps did, in reverse, whichever step
 * stopped the run. DPDK's part only once EAL is up.
 */
static void fhd_run_close(struct fhd_run *run)
{
	const struct cfg *cfg = &run->cfg;

	metrics_http_stop(run->http);		/* it reads the stats */
	run->http = NULL;
	recovery_worker_stop(run->recovery);	/* it reads the feeds */
	if (run->eal_running) {
		stats_close(&run->stats);
		for (uint16_t i = 0; i < cfg->rx_lcores_count; i++)
			if (run->rx[i] != NULL && run->rx[i]->journal != NULL)
				rte_ring_free(run->rx[i]->journal);
		for (uint16_t i = 0; i < CFG_RX_LCORES_MAX; i++) {
			pub_conflated_close(&run->views[i]);
			pub_ring_close(&run->rings[i]);
		}
		/* The leaves go out while the ports still run. */
		for (uint32_t p = 0; p < run->igmp_ports_count; p++)
			igmp_port_stop(&run->igmp_ports[p]);
		for (uint32_t p = 0; p < run->ports_open; p++)
			if (!FHD_PORT_IS_KERNEL(run->port_ids[p])) {
				if (!run->replay)
					flow_release(run->port_ids[p]);
				port_close(run->port_ids[p]);
				run->port_kernels[p].count = 0;	/* the PMD closed them */
			}
		for (uint16_t i = 0; i < cfg->rx_lcores_count; i++)
			if (run->rx[i] != NULL)
				rte_ring_free(run->rx[i]->igmp);
	}
	if (run->captures_open)
		for (uint32_t i = 0; i < run->o.replay_count; i++)
			replay_capture_close(&run->captures[i]);
	/* The RX lcores have stopped reading them: the groups are left. */
	for (uint32_t i = 0; i < run->joins_count; i++)
		kernel_leave(&run->joins[i], run->join_labels[i]);
	if (run->eal_running) {
		for (uint16_t f = 0; f < cfg->feeds_count; f++)
			feed_destroy(run->feeds[f]);
		for (uint16_t i = 0; i < cfg->rx_lcores_count; i++) {
			if (run->rx[i] != NULL)
				rx_lcore_kernel_release(run->rx[i]);
			rte_free(run->rx[i]);
		}
		rte_eal_cleanup();
	}
	fhd_outputs_close(&run->outputs);
}

/*
 * fhd: before DPDK, the options, config, output directories, captures and EAL's
 * command line (a failure there exits FHD_EXIT_CONFIG); then EAL, the lcores' state,
 * feeds, ports, publishing, stats and journal (a failure exits 1); then the run
 * itself, its wait and its report.
 */
int main(int argc, char **argv)
{
	static struct fhd_run run = {
		.outputs = { .journal.fd = -1, .hist.fd = -1, .prometheus.fd = -1, .dump.fd = -1 },
	};
	int status = FHD_EXIT_CONFIG;

	fhd_log_init();
	fhd_log_route();
	if (fhd_options_parse(argc, argv, &run.o) != 0)
		goto out;
	run.replay = run.o.replay_count > 0;
	fhd_default_config_say(&run);
	if (fhd_config_setup(&run) != 0 || fhd_interfaces_check(&run) != 0 ||
	    fhd_outputs_open(&run.cfg, &run.o, &run.outputs) != 0)
		goto out;
	if (fhd_captures_open(&run.cfg, &run.o, run.captures) != 0 || fhd_http_start(&run) != 0)
		goto out;
	run.captures_open = true;
	if (privileges_resolve(&run.cfg, run.replay, run.cfg.stats.segment[0] != '\0' || run.cfg.publish.enabled ||
			       run.o.publish != NULL, run.o.dump_path != NULL, &run.privileges) != 0)
		goto out;
	if (fhd_mbufs_size(&run) != 0 || fhd_eal_args_build(&run.cfg, &run.o, run.captures, run.eal_args, &run.eal_count) != 0)
		goto out;
	(void)preflight_check(fhd_log_stream(LOG_WARNING), &run.cfg, run.replay, run.eal_args, run.eal_count, "");
	fflush(fhd_log_stream(LOG_WARNING));
	if (run.o.check) {
		/* Everything fhd checks before DPDK passed; --check stops here, DPDK unstarted. */
		printf("config OK\n");
		status = 0;
		goto out;
	}
	status = 1;
	if (fhd_eal_start(&run) != 0 || fhd_mbufs_create(&run) != 0 || fhd_lcores_setup(&run) != 0 ||
	    fhd_feeds_setup(&run) != 0 || fhd_ports_setup(&run) != 0 || fhd_publish_start(&run) != 0 ||
	    fhd_stats_start(&run) != 0 || fhd_journal_start(&run) != 0 || fhd_recovery_start(&run) != 0 ||
	    privileges_drop(&run.privileges, &run.cfg) != 0)
		goto out;
	status = fhd_rx_launch(&run) != 0;
	fhd_wait(&run);
	if (fhd_report(&run) != 0)
		status = 1;
out:
	fhd_run_close(&run);
	return status;
}
