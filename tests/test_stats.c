/*
 * test_stats: the stats segment is fhd's output, never its input. A local user who
 * could write the segment (as one could when fhd adopted a squatted one) forges the
 * feed count (0xffffffff crashed the Prometheus writer), the names and the seqlock;
 * the next interval must neither crash nor show any of it: the Prometheus file is
 * made from fhd's own copy, and the segment is rewritten whole from it. The book
 * state and every recovery counter reach the segment, each in its own field, and
 * Prometheus, each in one sample (fh_book_state a gauge).
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "feed/stats.h"
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

/* Every field of the RX lcore's but started_ns (its last: a clock, not a statistic). */
#define RX_FIELDS (sizeof(struct feed_recovery_rx) / sizeof(uint64_t) - 1)
#define IO_FIELDS (sizeof(struct feed_recovery_io) / sizeof(uint64_t))
_Static_assert(offsetof(struct feed_recovery_rx, started_ns) == RX_FIELDS * sizeof(uint64_t),
	       "started_ns is the RX lcore's last field");
/* After them, the arbiter's two (reply_won, joins_unrecovered) and the config's (configured). */
_Static_assert(sizeof(struct fh_stats_recovery) == (RX_FIELDS + IO_FIELDS + 3) * sizeof(uint64_t),
	       "the segment has a field for every recovery counter");
_Static_assert(offsetof(struct fh_stats_recovery, reply_won) == (RX_FIELDS + IO_FIELDS) * sizeof(uint64_t),
	       "the arbiter's after the worker's");

/*
 * Gives every recovery field its own value (state: stale), then checks the segment
 * holds each in its place (the RX lcore's fields, then the worker's, in their order)
 * and the Prometheus file has each value in exactly one sample.
 */
static void stats_recovery_check(struct stats *s, struct feed *feed, const char *prometheus)
{
	uint64_t *rx = (uint64_t *)&feed->recovery_rx, *io = (uint64_t *)&feed->recovery_io;
	const uint64_t *seg = (const uint64_t *)&s->segment->feeds[0].recovery;
	char text[64];

	feed_book_state_set(feed, FEED_BOOK_STALE, FH_BOOK_REASON_LOST, 10, 4);
	CHECK(feed->recovery_rx.state == FEED_BOOK_STALE);
	for (size_t i = 1; i < RX_FIELDS; i++)
		rx[i] = 1000 + i;
	for (size_t i = 0; i < IO_FIELDS; i++)
		io[i] = 2000 + i;
	feed->arbiter.stats.lines[ARBITER_LINE_RECOVERY].packets_won = 2500;
	feed->arbiter.stats.joins_unrecovered = 2501;
	stats_tick(s, 1500000000ull, false);
	CHECK(s->segment->feeds[0].recovery.reply_won == 2500 && s->segment->feeds[0].recovery.joins_unrecovered == 2501);
	CHECK(lines_with(prometheus, "fh_recovery_reply_won_total{feed=\"itch\"} 2500\n") == 1);
	CHECK(lines_with(prometheus, "fh_recovery_joins_unrecovered_total{feed=\"itch\"} 2501\n") == 1);
	/* the vocabulary's renames: the worker's datagrams, the losses without a recovery_ prefix */
	CHECK(lines_with(prometheus, "fh_recovery_datagrams_total{feed=\"itch\"} ") == 1);
	CHECK(lines_with(prometheus, "fh_losses_total{feed=\"itch\"} ") == 1);
	CHECK(lines_with(prometheus, "fh_recovery_replies_total") == 0 && lines_with(prometheus, "fh_recovery_losses") == 0);
	CHECK(seg[0] == FEED_BOOK_STALE);
	for (size_t i = 1; i < RX_FIELDS; i++)
		CHECK(seg[i] == 1000 + i);
	for (size_t i = 0; i < IO_FIELDS; i++)
		CHECK(seg[RX_FIELDS + i] == 2000 + i);
	CHECK(lines_with(prometheus, "# TYPE fh_book_state gauge") == 1);
	CHECK(lines_with(prometheus, "fh_book_state{feed=\"itch\"} 2\n") == 1);
	CHECK(lines_with(prometheus, "fh_recovery_requests_total{feed=\"itch\"} 2000\n") == 1);
	for (size_t i = 1; i < RX_FIELDS + IO_FIELDS; i++) {
		size_t v = i < RX_FIELDS ? 1000 + i : 2000 + i - RX_FIELDS;
		bool ns = i * 8 == offsetof(struct fh_stats_recovery, recovery_ns_last) ||
			  i * 8 == offsetof(struct fh_stats_recovery, recovery_ns_max) ||
			  i * 8 == offsetof(struct fh_stats_recovery, snapshot_ns_last);

		/* durations in seconds, Prometheus's base unit (promtool refuses _ns) */
		if (ns)
			snprintf(text, sizeof(text), "_seconds{feed=\"itch\"} %.9f\n", (double)v / 1e9);
		else
			snprintf(text, sizeof(text), "\"} %zu\n", v);
		CHECK(lines_with(prometheus, text) == 1);
	}
	CHECK(lines_with(prometheus, "_ns{") == 0 && lines_with(prometheus, "lost_count{") == 0);
}

/*
 * Issue 20: the book's capacity refusals, the snapshot counters, each line's
 * bad_sequence and kernel_dropped and the ports' counters (pool_low beside no_mbuf) reach the segment
 * and Prometheus while fhd runs, not only its exit report.
 */
static void stats_refusals_check(struct stats *s, struct feed *feed, const char *prometheus)
{
	const struct fh_stats_feed *seg = &s->segment->feeds[0];
	struct fh_stats_port ports[2] = {
		{ .name = "p0", .received = 7001, .missed = 7002, .no_mbuf = 7003, .errors = 7004, .pool_low = 7005 },
		{ .name = "a\"b\\c", .pool_low = 7006 },
	};
	static const char *const samples[] = {
		"# TYPE fh_book_refused_total counter\n",
		"fh_book_refused_total{feed=\"itch\",what=\"instruments\"} 3001\n",
		"fh_book_refused_total{feed=\"itch\",what=\"orders\"} 3002\n",
		"fh_book_refused_total{feed=\"itch\",what=\"levels\"} 3003\n",
		"fh_snapshot_dropped_packets_total{feed=\"itch\"} 3004\n",
		"fh_snapshot_confirmed_total{feed=\"itch\"} 3005\n",
		"fh_snapshot_unconfirmed_total{feed=\"itch\"} 3006\n",
		"fh_bad_sequence_total{feed=\"itch\",line=\"A\"} 3007\n",
		"fh_bad_sequence_total{feed=\"itch\",line=\"recovery\"} 3009\n",
		"# TYPE fh_kernel_dropped_total counter\n",
		"fh_kernel_dropped_total{feed=\"itch\",line=\"A\"} 3010\n",
		"fh_kernel_dropped_total{feed=\"itch\",line=\"B\"} 3011\n",
		"fh_port_pool_low_total{port=\"p0\"} 7005\n",
		"fh_port_no_mbuf_total{port=\"p0\"} 7003\n",
	};

	feed->book->stats.instruments_full = 3001;
	feed->book->stats.orders_full = 3002;
	feed->book->stats.levels_full = 3003;
	feed->arbiter.stats.snapshot_dropped = 3004;
	feed->arbiter.stats.snapshots_confirmed = 3005;
	feed->arbiter.stats.snapshots_unconfirmed = 3006;
	for (int l = 0; l < ARBITER_LINES; l++)
		feed->arbiter.stats.lines[l].bad_sequence = 3007 + (uint64_t)l;
	feed->lines[0].kernel_dropped = 3010;
	feed->lines[1].kernel_dropped = 3011;
	stats_ports_set(s, ports, 2);
	stats_tick(s, 1700000000ull, false);
	CHECK(seg->instruments_full == 3001 && seg->orders_full == 3002 && seg->levels_full == 3003);
	CHECK(seg->snapshot_dropped == 3004 && seg->snapshots_confirmed == 3005 && seg->snapshots_unconfirmed == 3006);
	CHECK(seg->bad_sequence[0] == 3007 && seg->bad_sequence[1] == 3008 && seg->bad_sequence[2] == 3009);
	CHECK(seg->kernel_dropped[0] == 3010 && seg->kernel_dropped[1] == 3011 && seg->kernel_dropped[2] == 0);
	CHECK(s->segment->ports_count == 2 && !strcmp(s->segment->ports[0].name, "p0") &&
	      s->segment->ports[0].pool_low == 7005 && s->segment->ports[0].no_mbuf == 7003);
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
		CHECK(lines_with(prometheus, samples[i]) == 1);
	CHECK(lines_with(prometheus, "fh_port_pool_low_total{port=\"a\\\"b\\\\c\"} 7006\n") == 1);
}

/*
 * Issue 23: instruments per book state, each at the worse of the feed's and its own:
 * four instruments, one RECOVERING and one STALE of their own, under a feed OK, then
 * RECOVERING; the segment and fh_instruments{feed,state} say so.
 */
static void stats_instruments_check(struct stats *s, struct feed *feed, const char *prometheus)
{
	const struct fh_stats_feed *seg = &s->segment->feeds[0];

	for (uint32_t key = 1; key <= 4; key++)
		CHECK(book_instrument_get(feed->book, key, 4) == (int32_t)key - 1);
	feed_book_state_set(feed, FEED_BOOK_OK, FH_BOOK_REASON_NEW_SESSION, 0, 0);
	feed_instrument_state_set(feed, 1, FEED_BOOK_RECOVERING, FH_BOOK_REASON_RECOVERING, 5, 1);
	feed_instrument_state_set(feed, 2, FEED_BOOK_STALE, FH_BOOK_REASON_LOST, 6, 1);
	stats_tick(s, 1800000000ull, false);
	CHECK(seg->instruments[FH_BOOK_OK] == 2 && seg->instruments[FH_BOOK_RECOVERING] == 1 &&
	      seg->instruments[FH_BOOK_STALE] == 1);
	CHECK(lines_with(prometheus, "# TYPE fh_instruments gauge\n") == 1);
	CHECK(lines_with(prometheus, "fh_instruments{feed=\"itch\",state=\"ok\"} 2\n") == 1);
	CHECK(lines_with(prometheus, "fh_instruments{feed=\"itch\",state=\"recovering\"} 1\n") == 1);
	CHECK(lines_with(prometheus, "fh_instruments{feed=\"itch\",state=\"stale\"} 1\n") == 1);
	feed_book_state_set(feed, FEED_BOOK_RECOVERING, FH_BOOK_REASON_RECOVERING, 7, 1);
	stats_tick(s, 1900000000ull, false);
	CHECK(seg->instruments[FH_BOOK_OK] == 0 && seg->instruments[FH_BOOK_RECOVERING] == 3 &&
	      seg->instruments[FH_BOOK_STALE] == 1);
	CHECK(lines_with(prometheus, "fh_instruments{feed=\"itch\",state=\"recovering\"} 3\n") == 1);
	feed_book_state_set(feed, FEED_BOOK_OK, FH_BOOK_REASON_RECOVERED, 7, 1);
	feed_instrument_state_set(feed, 1, FEED_BOOK_OK, FH_BOOK_REASON_SNAPSHOT, 0, 0);
	feed_instrument_state_set(feed, 2, FEED_BOOK_OK, FH_BOOK_REASON_SNAPSHOT, 0, 0);
	stats_tick(s, 1950000000ull, false);
	CHECK(seg->instruments[FH_BOOK_OK] == 4 && seg->instruments[FH_BOOK_RECOVERING] == 0 &&
	      seg->instruments[FH_BOOK_STALE] == 0);
}

int main(void)
{
	static struct cfg cfg;
	static struct stats s;
	static const volatile bool finished = true;
	const volatile bool *finished_list[1] = { &finished };
	struct feed *feeds[1];
	char err[CFG_ERROR_MAX], dir[] = "/tmp/fh-test-stats.XXXXXX", segment[64], path[96];
	struct output_dir prometheus;
	const char *prometheus_name;
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
	CHECK(output_dir_open_parent(&prometheus, cfg.stats.prometheus_file, &prometheus_name, err,
				     sizeof(err)) == 0);
	stats_prometheus_file_set(&s, &prometheus, prometheus_name);
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
	printf("the book state and every recovery counter: segment and Prometheus\n");
	stats_recovery_check(&s, feeds[0], cfg.stats.prometheus_file);
	printf("book refusals, snapshot counters, bad_sequence and ports: segment and Prometheus\n");
	stats_refusals_check(&s, feeds[0], cfg.stats.prometheus_file);
	printf("instruments per book state: segment and Prometheus\n");
	stats_instruments_check(&s, feeds[0], cfg.stats.prometheus_file);
	stats_tick(&s, 2000000000ull, true);
	CHECK(s.segment->state == FH_STATS_STATE_STOPPED && s.segment->seq == s.seq);

	printf("a per-run segment is removed at close\n");
	stats_close(&s);
	CHECK(lstat(path, &st) != 0);
	feed_destroy(feeds[0]);
	output_dir_close(&prometheus);
	unlink(cfg.stats.prometheus_file);
	rmdir(dir);
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
