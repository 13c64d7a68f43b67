/*
 * test_stats: the stats segment is fhd's output, never its input. A local user who
 * could write the segment (as one could when fhd adopted a squatted one) forges the
 * feed count (0xffffffff crashed the Prometheus writer), the names and the seqlock;
 * the next interval must neither crash nor show any of it: the Prometheus file is
 * made from fhd's own copy, and the segment is rewritten whole from it.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "feed/stats.h"
#include "publish/output_file.h"
#include "tests/check.h"

static void packet_free(void *packet)
{
	(void)packet;
}

/* Lines of FILE that contain text. */
static int lines_with(const char *file, const char *text)
{
	char line[512];
	int n = 0;
	FILE *in = fopen(file, "r");

	if (in == NULL)
		return -1;
	while (fgets(line, sizeof(line), in) != NULL)
		n += strstr(line, text) != NULL;
	fclose(in);
	return n;
}

int main(void)
{
	static struct cfg cfg;
	static struct stats s;
	static const volatile bool finished = true;
	const volatile bool *finished_list[1] = { &finished };
	struct feed *feeds[1];
	struct output_dir prometheus_dir;
	const char *prometheus_name;
	char err[CFG_ERROR_MAX], dir[] = "/tmp/fh-test-stats.XXXXXX", segment[64], path[96];
	struct stat st;

	CHECK(cfg_load_default(&cfg, err, sizeof(err)) == 0);
	cfg.feeds[0].book.instruments_max = 16;
	cfg.feeds[0].book.orders_max = 1024;
	cfg.feeds[0].book.levels_max = 64;
	feeds[0] = feed_create(&cfg.feeds[0], packet_free, err, sizeof(err));
	CHECK(feeds[0] != NULL && mkdtemp(dir) != NULL);
	snprintf(cfg.stats.prometheus_file, sizeof(cfg.stats.prometheus_file), "%s/fh.prom", dir);
	cfg.stats.log = false;
	snprintf(segment, sizeof(segment), "fh-test-stats-%d", getpid());
	snprintf(path, sizeof(path), "/dev/shm/%s", segment);

	printf("the stats segment is new, whole and shared read-only\n");
	CHECK(stats_open(&s, &cfg.stats, segment, 0644, true, feeds, finished_list, 1) == 0);
	/* As fhd does: the Prometheus file's directory opened and checked by the caller. */
	CHECK(output_dir_open_parent(&prometheus_dir, cfg.stats.prometheus_file, &prometheus_name,
				     err, sizeof(err)) == 0);
	stats_prometheus_file_set(&s, &prometheus_dir, prometheus_name);
	CHECK(lstat(path, &st) == 0 && (st.st_mode & 0777) == 0644 && st.st_uid == geteuid());
	CHECK(s.segment->magic == FH_STATS_MAGIC && s.segment->feeds_count == 1 && (s.segment->seq & 1) == 0);

	printf("forged feeds_count, names and seq: no crash, nothing of it shown\n");
	s.segment->feeds_count = 0xffffffffu;
	snprintf(s.segment->feeds[0].name, FH_STATS_NAME_MAX, "PWNED");
	snprintf(s.segment->feeds[1].name, FH_STATS_NAME_MAX, "PWNED2");
	snprintf(s.segment->latency_names[0], FH_STATS_NAME_MAX, "PWNED");
	s.segment->seq = 12345;
	stats_tick(&s, 1000000000ull, false);
	CHECK(lines_with(cfg.stats.prometheus_file, "PWNED") == 0);
	CHECK(lines_with(cfg.stats.prometheus_file, "fh_packets_total{") == 1);
	CHECK(lines_with(cfg.stats.prometheus_file, "fh_packets_total{feed=\"itch\"} 0") == 1);
	CHECK(s.segment->feeds_count == 1 && strcmp(s.segment->feeds[0].name, "itch") == 0);
	CHECK(s.segment->seq == s.seq && (s.seq & 1) == 0 && s.seq != 12346);
	stats_tick(&s, 2000000000ull, true);
	CHECK(s.segment->state == FH_STATS_STATE_STOPPED && s.segment->seq == s.seq);

	printf("a per-run segment is removed at close\n");
	stats_close(&s);
	CHECK(lstat(path, &st) != 0);
	feed_destroy(feeds[0]);
	output_dir_close(&prometheus_dir);
	unlink(cfg.stats.prometheus_file);
	rmdir(dir);
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
