/*
 * bench-pmd: the PMD alone, the ceiling of fhd's full path. It replays a capture as
 * `fhd -c CONFIG --replay CAPTURE --replay-loop` does (the config's EAL arguments and
 * mbuf count, the same net_pcap vdev with infinite_rx=1 and data room, the same port
 * setup: one RX queue of 1024 descriptors) and polls it on the config's first RX lcore
 * for a few seconds with rte_eth_rx_burst and rte_pktmbuf_free_bulk, nothing else.
 * It prints one line,
 *   pmd: 11.90 M frames/s (47600000 frames in 4.000 s)
 * which bench/run.sh prints before the full path, so that every full-path figure also
 * reads as a fraction of this limit. Never fails on time.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "book/util/clock.h"
#include "config/config.h"
#include "feed/dpdk/port.h"
#include "feed/dpdk/replay.h"
#include "feed/dpdk/rx.h"

#define BENCH_PMD_ARGS_MAX (CFG_EAL_ARGS_MAX + 8)
#define BENCH_PMD_ARG_MAX 128
#define BENCH_PMD_MBUF_CACHE 256	/* as fhd's pool */
#define BENCH_PMD_DESCRIPTORS 1024	/* as fhd's replay ports */
#define BENCH_PMD_CLOCK_EVERY 64	/* bursts between two reads of the clock */

static struct cfg cfg;
static char eal_dir[PATH_MAX];

/* EAL's runtime directory, once its own exit handlers have removed their sockets. */
static void bench_pmd_runtime_dir_remove(void)
{
	if (eal_dir[0] != '\0')
		rmdir(eal_dir);
}

/*
 * EAL's command line: the config's arguments, the config's first RX lcore as the only
 * (main) lcore, the capture's vdev as fhd builds it, and a prefix of our own. The
 * strings live in store. Returns the count, or -E2BIG.
 */
static int bench_pmd_eal_args(const struct replay_capture *capture, char **args,
			      char (*store)[BENCH_PMD_ARG_MAX])
{
	int count = 0;

	args[count++] = "bench-pmd";
	for (uint16_t i = 0; i < cfg.eal_args_count; i++)
		args[count++] = cfg.eal_args[i];
	args[count++] = "--lcores";
	snprintf(store[0], BENCH_PMD_ARG_MAX, "%u", cfg.rx_lcores[0]);
	args[count++] = store[0];
	if (replay_capture_vdev(capture, 0, true, store[1], BENCH_PMD_ARG_MAX) != 0)
		return -E2BIG;
	args[count++] = store[1];
	args[count++] = "--file-prefix";
	snprintf(store[2], BENCH_PMD_ARG_MAX, "bench-pmd-%ld", (long)getpid());
	args[count++] = store[2];
	args[count] = NULL;
	return count;
}

/*
 * Polls the port's queue 0 for seconds: rx_burst and free, nothing else. Returns the
 * frames received; *elapsed_ns the time they took.
 */
static uint64_t bench_pmd_poll(uint16_t port_id, double seconds, uint64_t *elapsed_ns)
{
	struct rte_mbuf *burst[RX_BURST];
	uint64_t frames = 0, polls = 0, start = clock_monotonic_ns(), now = start;
	uint64_t deadline = start + (uint64_t)(seconds * 1e9);
	uint16_t n;

	/* Bounded by the deadline: the clock is read every BENCH_PMD_CLOCK_EVERY bursts. */
	while (now < deadline) {
		n = rte_eth_rx_burst(port_id, 0, burst, RX_BURST);
		rte_pktmbuf_free_bulk(burst, n);
		frames += n;
		if (++polls % BENCH_PMD_CLOCK_EVERY == 0)
			now = clock_monotonic_ns();
	}
	*elapsed_ns = now - start;
	return frames;
}

/* SECONDS: finite and at least 1 ms (the poll's clock granularity). 0 or -EINVAL. */
static int bench_pmd_seconds_parse(const char *arg, double *seconds)
{
	char *end;

	*seconds = strtod(arg, &end);
	return *end == '\0' && end != arg && isfinite(*seconds) && *seconds >= 1e-3 ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	char *args[BENCH_PMD_ARGS_MAX], store[3][BENCH_PMD_ARG_MAX], err[512];
	struct replay_capture capture;
	struct rte_mempool *pool;
	uint64_t frames, elapsed_ns;
	double seconds = 4;
	uint16_t port_id;
	struct port_kernel kernel;	/* none under net_pcap */
	int count;

	if ((argc != 3 && argc != 4) || (argc == 4 && bench_pmd_seconds_parse(argv[3], &seconds) != 0)) {
		fprintf(stderr, "usage: bench-pmd CONFIG CAPTURE [SECONDS]  (default 4 s)\n");
		return 2;
	}
	if (cfg_load_file(argv[1], &cfg, err, sizeof(err)) != 0 ||
	    replay_capture_open(&capture, argv[2], NULL, 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench-pmd: %s\n", err);
		return 2;
	}
	if (capture.packets == 0) {
		fprintf(stderr, "bench-pmd: capture %s: no readable packet to loop\n", argv[2]);
		return 2;
	}
	count = bench_pmd_eal_args(&capture, args, store);
	atexit(bench_pmd_runtime_dir_remove);
	if (count < 0 || rte_eal_init(count, args) < 0) {
		fprintf(stderr, "bench-pmd: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	snprintf(eal_dir, sizeof(eal_dir), "%s", rte_eal_get_runtime_dir());
	pool = rte_pktmbuf_pool_create("bench_pmd_mbufs", cfg.mbufs, BENCH_PMD_MBUF_CACHE, 0,
				       replay_data_room(&capture, 1), (int)rte_socket_id());
	if (pool == NULL) {
		fprintf(stderr, "bench-pmd: cannot create %u mbufs: %s\n", cfg.mbufs,
			rte_strerror(rte_errno));
		rte_eal_cleanup();
		return 1;
	}
	if (port_open("net_pcap0", 1, BENCH_PMD_DESCRIPTORS, 0, pool, &port_id, &kernel, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench-pmd: %s\n", err);
		rte_eal_cleanup();
		return 1;
	}
	port_multicast_open(port_id);
	frames = bench_pmd_poll(port_id, seconds, &elapsed_ns);
	printf("pmd: %.2f M frames/s (%" PRIu64 " frames in %.3f s)\n",
	       (double)frames * 1e3 / (double)elapsed_ns, frames, (double)elapsed_ns / 1e9);
	port_close(port_id);
	replay_capture_close(&capture);
	rte_eal_cleanup();
	return 0;
}
