/*
 * bench-journal: the journal writer's throughput, io_uring against plain pwrite(2) of
 * the same buffers in the same run, page cache and O_DIRECT, with the file synced at
 * the end (fdatasync every 64 MB and at close) so the figure includes the disk. The
 * frames are ITCH-sized (a mix of 60..400 bytes, about 230 on average, as MoldUDP64
 * packets of a few messages are). Prints MB/s and packets/s, best of 3 runs per mode.
 * Usage: bench-journal DIR [MB per run]. Never fails on time.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "book/util/clock.h"
#include "publish/journal/journal.h"

#define BENCH_RUNS 3
#define BENCH_SIZES 1024

static void bench_dir_clean(const char *dir)
{
	char path[4096];
	struct dirent *e;
	DIR *d = opendir(dir);

	while (d != NULL && (e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "fh-", 3) == 0) {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
	if (d != NULL)
		closedir(d);
}

/* One run: bytes of frames through a journal; returns packets written, *ns the time. */
static uint64_t bench_run(const char *dir, bool plain, bool direct, uint64_t bytes,
			  const uint32_t *sizes, const uint8_t *frame, uint64_t *ns)
{
	static struct journal j;
	static const char *names[] = { "bench.A", "bench.B" };
	static struct output_dir out;
	struct journal_options o = {
		.dir = &out, .buffer_bytes = 1 << 20, .buffers = 8, .o_direct = direct,
		.plain_write = plain, .fsync_bytes = 64ull << 20, .rotate_bytes = 1ull << 30,
	};
	uint64_t packets = 0, written = 0, start;
	char err[512];

	bench_dir_clean(dir);
	if (output_dir_open(&out, dir, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench-journal: %s\n", err);
		exit(1);
	}
	start = clock_monotonic_ns();
	if (journal_open(&j, &o, names, 2, start, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench-journal: %s\n", err);
		exit(1);
	}
	while (written < bytes) {
		uint32_t len = sizes[packets % BENCH_SIZES];

		if (journal_append(&j, (uint32_t)(packets & 1), packets, frame, len, 0) != 0)
			break;
		written += len + 32;
		packets++;
		if ((packets & 255) == 0)
			journal_poll(&j, clock_monotonic_ns());
	}
	if (journal_close(&j) != 0) {
		fprintf(stderr, "bench-journal: %s\n", j.error_text);
		exit(1);
	}
	*ns = clock_monotonic_ns() - start;
	output_dir_close(&out);
	bench_dir_clean(dir);
	return packets;
}

int main(int argc, char **argv)
{
	static uint8_t frame[2048];
	uint32_t sizes[BENCH_SIZES];
	uint64_t bytes, seed = 42;
	const char *dir;

	if (argc < 2) {
		fprintf(stderr, "usage: bench-journal DIR [MB per run]\n");
		return 2;
	}
	dir = argv[1];
	bytes = (argc > 2 ? strtoull(argv[2], NULL, 10) : 512) << 20;
	for (uint32_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 31);
	for (uint32_t i = 0; i < BENCH_SIZES; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		sizes[i] = 60 + (uint32_t)((seed >> 33) % 341);
	}
	for (int direct = 0; direct <= 1; direct++) {
		for (int plain = 0; plain <= 1; plain++) {
			uint64_t best_ns = UINT64_MAX, packets = 0, ns;

			for (int r = 0; r < BENCH_RUNS; r++) {
				packets = bench_run(dir, plain, direct, bytes, sizes, frame, &ns);
				if (ns < best_ns)
					best_ns = ns;
			}
			printf("  %-9s %-10s %" PRIu64 " MB: %7.0f MB/s, %6.2f M packets/s\n",
			       plain ? "pwrite(2)" : "io_uring", direct ? "O_DIRECT" : "page cache",
			       bytes >> 20, (double)bytes / 1e6 / ((double)best_ns / 1e9),
			       (double)packets / 1e6 / ((double)best_ns / 1e9));
		}
	}
	return 0;
}
