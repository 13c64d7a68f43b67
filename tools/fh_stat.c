/*
 * fh stat: a running (or just stopped) fhd's live counters and latency percentiles,
 * read from its stats segment (/dev/shm/<stats.segment>, publish/stats_layout.h),
 * as a table or as JSON. Needs read access to the segment only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "publish/stats_layout.h"
#include "tools/fh_commands.h"

static void fh_stat_latency_json(const char *name, const struct fh_stats_latency *l, bool comma)
{
	printf("\"%s\":{\"count\":%" PRIu64 ",\"p50_ns\":%" PRIu64 ",\"p90_ns\":%" PRIu64 ",\"p99_ns\":%" PRIu64
	       ",\"p999_ns\":%" PRIu64 ",\"p9999_ns\":%" PRIu64 ",\"max_ns\":%" PRIu64 ",\"mean_ns\":%.1f}%s",
	       name, l->count, l->p50_ns, l->p90_ns, l->p99_ns, l->p999_ns, l->p9999_ns, l->max_ns, l->mean_ns,
	       comma ? "," : "");
}

static void fh_stat_json(const struct fh_stats_segment *s)
{
	printf("{\"pid\":%" PRIu64 ",\"state\":\"%s\",\"updated_ns\":%" PRIu64 ",\"interval_ms\":%u,\"feeds\":[",
	       s->pid, s->state == FH_STATS_STATE_RUNNING ? "running" : "stopped", s->updated_ns, s->interval_ms);
	for (uint32_t i = 0; i < s->feeds_count; i++) {
		const struct fh_stats_feed *f = &s->feeds[i];

		printf("%s{\"name\":\"%s\",\"packets\":%" PRIu64 ",\"messages\":%" PRIu64 ",\"gaps\":%" PRIu64
		       ",\"gap_messages\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"dropped\":%" PRIu64
		       ",\"skipped_messages\":%" PRIu64 ",\"journal_dropped\":%" PRIu64
		       ",\"packets_per_s\":%.1f,\"messages_per_s\":%.1f,\"interval\":{", i ? "," : "", f->name,
		       f->packets, f->messages, f->gaps, f->gap_messages, f->duplicates, f->dropped,
		       f->skipped_messages, f->journal_dropped, f->packets_per_s, f->messages_per_s);
		for (int k = 0; k < FH_STATS_LATENCIES; k++)
			fh_stat_latency_json(s->latency_names[k], &f->interval[k], k + 1 < FH_STATS_LATENCIES);
		printf("},\"total\":{");
		for (int k = 0; k < FH_STATS_LATENCIES; k++)
			fh_stat_latency_json(s->latency_names[k], &f->total[k], k + 1 < FH_STATS_LATENCIES);
		printf("}}");
	}
	printf("]}\n");
}

static void fh_stat_table(const struct fh_stats_segment *s)
{
	struct timespec now;
	double age;

	clock_gettime(CLOCK_REALTIME, &now);
	age = ((double)now.tv_sec * 1e9 + (double)now.tv_nsec - (double)s->updated_ns) / 1e9;
	printf("fhd pid %" PRIu64 ", %s, updated %.1f s ago (every %u ms)\n", s->pid,
	       s->state == FH_STATS_STATE_RUNNING ? "running" : "stopped", age, s->interval_ms);
	for (uint32_t i = 0; i < s->feeds_count; i++) {
		const struct fh_stats_feed *f = &s->feeds[i];

		printf("feed %s: %.0f pkt/s  %.0f msg/s  packets %" PRIu64 "  messages %" PRIu64 "  gaps %" PRIu64
		       " (%" PRIu64 " msgs)  duplicates %" PRIu64 "  dropped %" PRIu64 "  skipped %" PRIu64
		       "  journal_dropped %" PRIu64 "\n", f->name, f->packets_per_s, f->messages_per_s,
		       f->packets, f->messages, f->gaps, f->gap_messages, f->duplicates, f->dropped,
		       f->skipped_messages, f->journal_dropped);
		printf("  %-22s %-9s %10s %9s %9s %9s %9s %9s %9s   (us)\n", "latency", "window", "count", "p50",
		       "p90", "p99", "p99.9", "p99.99", "max");
		for (int k = 0; k < FH_STATS_LATENCIES; k++)
			for (int w = 0; w < 2; w++) {
				const struct fh_stats_latency *l = w ? &f->total[k] : &f->interval[k];

				printf("  %-22s %-9s %10" PRIu64 " %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f\n",
				       w ? "" : s->latency_names[k], w ? "total" : "interval", l->count,
				       (double)l->p50_ns / 1e3, (double)l->p90_ns / 1e3, (double)l->p99_ns / 1e3,
				       (double)l->p999_ns / 1e3, (double)l->p9999_ns / 1e3, (double)l->max_ns / 1e3);
			}
	}
}

/*
 * With no --segment: the one stats segment in /dev/shm. fhd names its segment
 * stats.segment, <ring>-stats or fh-stats-<pid>; only names are looked at, nothing
 * is opened. 0 with the name in out; 1 (none) or 2 (several, listed) after a message.
 */
static int fh_stat_segment_find(char *out, size_t size)
{
	DIR *dir = opendir("/dev/shm");
	struct dirent *d;
	int found = 0;

	if (dir == NULL) {
		fprintf(stderr, "fh stat: /dev/shm: %s\n", strerror(errno));
		return 1;
	}
	while ((d = readdir(dir)) != NULL) {
		size_t len = strlen(d->d_name);

		if (d->d_type != DT_REG || (strncmp(d->d_name, "fh-stats", 8) != 0 &&
					    (len <= 6 || strcmp(d->d_name + len - 6, "-stats") != 0)))
			continue;
		if (found++ == 0) {
			snprintf(out, size, "%s", d->d_name);
			continue;
		}
		if (found == 2)
			fprintf(stderr, "fh stat: several stats segments in /dev/shm; choose one with --segment:\n  %s\n",
				out);
		fprintf(stderr, "  %s\n", d->d_name);
	}
	closedir(dir);
	if (found == 0)
		fprintf(stderr, "fh stat: no stats segment in /dev/shm (is fhd running?); or give --segment NAME\n");
	return found == 0 ? 1 : found == 1 ? 0 : 2;
}

int fh_stat_main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "segment", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct fh_stats_segment copy;
	const char *name = NULL;
	char path[300], found[256];
	bool json = false;
	void *map;
	int c, fd;

	while ((c = getopt_long(argc, argv, "s:jh", longs, NULL)) != -1) {
		switch (c) {
		case 's':
			name = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			printf("usage: fh stat [--segment NAME] [--json]\n"
			       "  a running fhd's counters and latency percentiles from /dev/shm/NAME: stats.segment,\n"
			       "  else <publish.ring>-stats, else fh-stats-<pid> (fhd prints it at start); without\n"
			       "  --segment, the only stats segment in /dev/shm\n");
			return 0;
		default:
			return 2;
		}
	}
	if (name == NULL) {
		int rc = fh_stat_segment_find(found, sizeof(found));

		if (rc != 0)
			return rc;
		name = found;
	}
	snprintf(path, sizeof(path), "/%s", name);
	fd = shm_open(path, O_RDONLY, 0);
	if (fd < 0) {
		fprintf(stderr, "fh stat: /dev/shm%s: %s (is fhd running with stats.segment %s?)\n", path,
			strerror(errno), name);
		return 1;
	}
	map = mmap(NULL, sizeof(copy), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		fprintf(stderr, "fh stat: /dev/shm%s: %s\n", path, strerror(errno));
		return 1;
	}
	if (!fh_stats_copy(map, &copy) || copy.magic != FH_STATS_MAGIC || copy.version != FH_STATS_VERSION ||
	    copy.feeds_count > FH_STATS_FEEDS_MAX) {
		fprintf(stderr, "fh stat: /dev/shm%s: not an fh stats segment of version %d\n", path,
			FH_STATS_VERSION);
		munmap(map, sizeof(copy));
		return 1;
	}
	munmap(map, sizeof(copy));
	if (json)
		fh_stat_json(&copy);
	else
		fh_stat_table(&copy);
	return 0;
}
