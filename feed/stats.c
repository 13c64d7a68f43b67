/*
 * stats: per-feed counters and latency, refreshed on the main lcore (see stats.h).
 */
#include "feed/stats.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "book/util/clock.h"
#include "book/util/logline.h"
#include "fh_build_version.h"

#define STATS_SWAP_WAIT_US 20000	/* an RX lcore services its swap within a loop pass */
#define STATS_SWAP_POLL_US 100

/*
 * Copies src over dst under dst's seqlock, seq being dst's count (even: no write under
 * way): odd while the rest of dst is rewritten, even again after. src's own seq is not
 * copied. A reader copies dst and keeps its copy only if it saw the same even seq
 * before and after (fh_stats_copy).
 */
static void stats_seqlock_write(struct fh_stats_segment *dst, const struct fh_stats_segment *src, uint64_t *seq)
{
	const size_t at = offsetof(struct fh_stats_segment, seq), after = at + sizeof(dst->seq);

	assert((*seq & 1) == 0);
	__atomic_store_n(&dst->seq, ++*seq, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(dst, src, at);
	memcpy((char *)dst + after, (const char *)src + after, sizeof(*dst) - after);
	__atomic_store_n(&dst->seq, ++*seq, __ATOMIC_RELEASE);
	assert((*seq & 1) == 0);
}

int stats_open(struct stats *s, const struct cfg_stats *cfg, const char *segment, mode_t mode,
	       bool remove, struct feed *const *feeds, const volatile bool *const *writer_finished,
	       uint32_t count)
{
	struct fh_stats_segment *image = &s->image;
	char name[SHM_SEGMENT_NAME_MAX], err[512];
	int rc;

	assert(count <= CFG_FEEDS_MAX && CFG_FEEDS_MAX <= FH_STATS_FEEDS_MAX);
	memset(s, 0, sizeof(*s));
	s->shm.fd = -1;
	s->cfg = cfg;
	s->feeds_count = count;
	for (uint32_t i = 0; i < count; i++) {
		s->feeds[i].feed = feeds[i];
		s->feeds[i].writer_finished = writer_finished[i];
		for (int k = 0; k < FEED_LATENCY_KINDS; k++) {
			hist_reset(&s->feeds[i].interval[k]);
			hist_reset(&s->feeds[i].total[k]);
		}
	}
	image->magic = FH_STATS_MAGIC;
	image->version = FH_STATS_VERSION;
	image->feeds_count = count;
	image->pid = (uint64_t)getpid();
	image->interval_ms = cfg->interval_ms;
	image->state = FH_STATS_STATE_RUNNING;
	for (int k = 0; k < FEED_LATENCY_KINDS; k++)
		snprintf(image->latency_names[k], FH_STATS_NAME_MAX, "%s", feed_latency_names[k]);
	for (uint32_t i = 0; i < count; i++)
		snprintf(image->feeds[i].name, FH_STATS_NAME_MAX, "%s", feeds[i]->cfg->name);
	stats_seqlock_write(&s->published, image, &s->published_seq);
	if (segment == NULL)
		return 0;
	snprintf(name, sizeof(name), "/%s", segment);
	rc = shm_segment_create(&s->shm, "stats segment", name, sizeof(*s->segment), err, sizeof(err));
	if (rc == 0) {
		/* A new inode only we can open yet: whole before anyone can read it. */
		s->segment = s->shm.map;
		s->seq = 2;
		image->seq = s->seq;
		memcpy(s->segment, image, sizeof(*image));
		rc = shm_segment_share(&s->shm, "stats segment", mode, (gid_t)-1, err, sizeof(err));
		if (rc != 0) {
			shm_segment_remove(&s->shm);
			s->segment = NULL;
		}
	}
	if (rc != 0) {
		logline(LOG_ERR, "fhd: %s\n", err);
		return rc;
	}
	s->segment_remove = remove;
	return 0;
}

bool stats_due(const struct stats *s, uint64_t now_ns)
{
	return now_ns - s->last_tick_ns >= (uint64_t)s->cfg->interval_ms * 1000000;
}

/* Takes a feed's histograms of the interval (waits briefly for its RX lcore). */
static bool stats_feed_swap(struct stats_feed *f)
{
	struct hist_recorder *r = &f->feed->latency->recorder;
	struct hist *taken = NULL;

	if (!f->pending) {
		hist_recorder_request(r);
		f->pending = true;
	}
	for (uint32_t waited = 0; waited <= STATS_SWAP_WAIT_US; waited += STATS_SWAP_POLL_US) {
		taken = hist_recorder_take(r, __atomic_load_n(f->writer_finished, __ATOMIC_ACQUIRE));
		if (taken != NULL)
			break;
		usleep(STATS_SWAP_POLL_US);
	}
	if (taken == NULL)
		return false;	/* try again next interval; nothing is lost meanwhile */
	f->pending = false;
	for (int k = 0; k < FEED_LATENCY_KINDS; k++) {
		hist_reset(&f->interval[k]);
		hist_add(&f->interval[k], &taken[k]);
		hist_add(&f->total[k], &taken[k]);
		hist_reset(&taken[k]);
	}
	return true;
}

static void stats_latency_fill(struct fh_stats_latency *l, const struct hist *h)
{
	l->count = h->total;
	l->p50_ns = hist_percentile(h, 50);
	l->p90_ns = hist_percentile(h, 90);
	l->p99_ns = hist_percentile(h, 99);
	l->p999_ns = hist_percentile(h, 99.9);
	l->p9999_ns = hist_percentile(h, 99.99);
	l->max_ns = h->total ? h->max : 0;
	l->mean_ns = hist_mean(h);
}

static void stats_us(char *out, size_t size, uint64_t ns)
{
	if (ns < 10000)
		snprintf(out, size, "%.2fus", (double)ns / 1000.0);
	else if (ns < 10000000)
		snprintf(out, size, "%.0fus", (double)ns / 1000.0);
	else
		snprintf(out, size, "%.1fms", (double)ns / 1e6);
}

/* One status line: rates, losses, and the interval's RX → publish percentiles. */
static void stats_line_print(const struct fh_stats_feed *f)
{
	const struct fh_stats_latency *l = &f->interval[FEED_LATENCY_PACKET];
	char p50[16], p99[16], p999[16], max[16];

	stats_us(p50, sizeof(p50), l->p50_ns);
	stats_us(p99, sizeof(p99), l->p99_ns);
	stats_us(p999, sizeof(p999), l->p999_ns);
	stats_us(max, sizeof(max), l->max_ns);
	logline(LOG_INFO, "fhd: %s: %.0f pkt/s %.0f msg/s  gaps %" PRIu64 " (%" PRIu64 " msgs)  dup %" PRIu64
		"  drops %" PRIu64 "  rx->pub p50 %s p99 %s p99.9 %s max %s (%" PRIu64 " pkts)\n", f->name,
		f->packets_per_s, f->messages_per_s, f->gaps, f->gap_messages, f->duplicates,
		f->dropped + f->skipped_messages + f->journal_dropped, p50, p99, p999, max, l->count);
}

/*
 * One metric family of a type, a sample per feed; field: offset of its uint64_t in
 * fh_stats_feed; ns: the field counts nanoseconds, shown in seconds (Prometheus's base
 * unit).
 */
static void stats_family_write(FILE *out, const struct fh_stats_segment *seg, const char *metric,
			       const char *type, const char *help, size_t field, bool ns)
{
	fprintf(out, "# HELP fh_%s %s\n# TYPE fh_%s %s\n", metric, help, metric, type);
	for (uint32_t i = 0; i < seg->feeds_count; i++) {
		uint64_t v;

		memcpy(&v, (const char *)&seg->feeds[i] + field, sizeof(v));
		if (ns)
			fprintf(out, "fh_%s{feed=\"%s\"} %.9f\n", metric, seg->feeds[i].name, (double)v / 1e9);
		else
			fprintf(out, "fh_%s{feed=\"%s\"} %" PRIu64 "\n", metric, seg->feeds[i].name, v);
	}
}

static void stats_counter_write(FILE *out, const struct fh_stats_segment *seg, const char *metric,
				const char *help, size_t field)
{
	stats_family_write(out, seg, metric, "counter", help, field, false);
}

/*
 * The book state, and the recovery counters by their one vocabulary (fh_stats_counters
 * in stats_layout.h): fh_<group prefix><word>_total, or no suffix for a gauge, or
 * _seconds for a duration. Every group for every feed: a counter a feed cannot move
 * stays 0, so each family has a sample per feed.
 */
static void stats_prometheus_recovery_write(FILE *out, const struct fh_stats_segment *seg)
{
	static const char *const suffixes[] = {
		[FH_STATS_COUNTER] = "_total", [FH_STATS_GAUGE] = "", [FH_STATS_DURATION] = "_seconds",
	};
	static const char *const types[] = {
		[FH_STATS_COUNTER] = "counter", [FH_STATS_GAUGE] = "gauge", [FH_STATS_DURATION] = "gauge",
	};
	char metric[96];

	stats_family_write(out, seg, "book_state", "gauge", "The feed's book state: 0 ok (the books follow the "
			   "session), 1 recovering (a hole is being filled: right but behind), 2 stale (messages were "
			   "lost: the books may be wrong until a snapshot or a new session).",
			   offsetof(struct fh_stats_feed, recovery.book_state), false);
	for (size_t i = 0; i < FH_STATS_COUNTERS; i++) {
		const struct fh_stats_counter *c = &fh_stats_counters[i];

		snprintf(metric, sizeof(metric), "%s%s%s", fh_stats_group_prefixes[c->group], c->word, suffixes[c->kind]);
		stats_family_write(out, seg, metric, types[c->kind], c->help, c->offset, c->kind == FH_STATS_DURATION);
	}
}

/* A label value as the text format wants it: backslash, double quote and newline escaped. */
static void stats_label_write(FILE *out, const char *value)
{
	for (const char *c = value; *c != '\0'; c++) {
		if (*c == '\\' || *c == '"')
			fputc('\\', out);
		if (*c == '\n')
			fputs("\\n", out);
		else
			fputc(*c, out);
	}
}

/*
 * The book's refusals (one family, by what ran out), the instruments per book state,
 * each line's counters, and the
 * ports' counters with fhd's pool_low.
 */
static void stats_prometheus_refusals_write(FILE *out, const struct fh_stats_segment *seg)
{
	static const struct { const char *name; size_t field; } ports[] = {
		{ "port_packets_total", offsetof(struct fh_stats_port, received) },
		{ "port_missed_total", offsetof(struct fh_stats_port, missed) },
		{ "port_no_mbuf_total", offsetof(struct fh_stats_port, no_mbuf) },
		{ "port_errors_total", offsetof(struct fh_stats_port, errors) },
		{ "port_pool_low_total", offsetof(struct fh_stats_port, pool_low) },
	};
	static const char *const port_helps[] = {
		"Frames the port's driver delivered.", "Frames the NIC dropped (no RX descriptor).",
		"Frames the driver dropped for want of an mbuf (not counted by every virtual driver).",
		"Receive errors the driver counted.",
		"Times fhd found fewer free mbufs than one RX burst while polling the port.",
	};

	fprintf(out, "# HELP fh_book_refused_total Book operations refused because a capacity was reached "
		"(what: instruments, orders or levels; raise feeds[].book.<what>).\n"
		"# TYPE fh_book_refused_total counter\n");
	for (uint32_t i = 0; i < seg->feeds_count; i++) {
		const struct fh_stats_feed *f = &seg->feeds[i];

		fprintf(out, "fh_book_refused_total{feed=\"%s\",what=\"instruments\"} %" PRIu64 "\n"
			"fh_book_refused_total{feed=\"%s\",what=\"orders\"} %" PRIu64 "\n"
			"fh_book_refused_total{feed=\"%s\",what=\"levels\"} %" PRIu64 "\n", f->name,
			f->instruments_full, f->name, f->orders_full, f->name, f->levels_full);
	}
	fprintf(out, "# HELP fh_instruments Instruments the feed's books define, by the book state their events "
		"carry (the worse of the feed's and the instrument's own).\n# TYPE fh_instruments gauge\n");
	for (uint32_t i = 0; i < seg->feeds_count; i++)
		for (unsigned st = 0; st < FH_BOOK_STATES; st++)
			fprintf(out, "fh_instruments{feed=\"%s\",state=\"%s\"} %" PRIu64 "\n", seg->feeds[i].name,
				fh_book_state_name(st), seg->feeds[i].instruments[st]);
	for (size_t c = 0; c < FH_STATS_LINE_COUNTERS; c++) {
		const struct fh_stats_line_counter *lc = &fh_stats_line_counters[c];

		fprintf(out, "# HELP fh_%s_total %s\n# TYPE fh_%s_total counter\n", lc->word, lc->help, lc->word);
		for (uint32_t i = 0; i < seg->feeds_count; i++)
			for (unsigned l = 0; l < FH_STATS_LINES; l++)
				fprintf(out, "fh_%s_total{feed=\"%s\",line=\"%s\"} %" PRIu64 "\n", lc->word,
					seg->feeds[i].name, fh_stats_line_names[l],
					fh_stats_line_value(&seg->feeds[i], lc, l));
	}
	if (seg->ports_count == 0)
		return;
	for (size_t k = 0; k < sizeof(ports) / sizeof(ports[0]); k++) {
		fprintf(out, "# HELP fh_%s %s\n# TYPE fh_%s counter\n", ports[k].name, port_helps[k], ports[k].name);
		for (uint32_t p = 0; p < seg->ports_count && p < FH_STATS_PORTS_MAX; p++) {
			uint64_t v;

			memcpy(&v, (const char *)&seg->ports[p] + ports[k].field, sizeof(v));
			fprintf(out, "fh_%s{port=\"", ports[k].name);
			stats_label_write(out, seg->ports[p].name);
			fprintf(out, "\"} %" PRIu64 "\n", v);
		}
	}
}

void stats_ports_set(struct stats *s, const struct fh_stats_port *ports, uint32_t count)
{
	assert(count <= FH_STATS_PORTS_MAX);
	memcpy(s->image.ports, ports, sizeof(ports[0]) * count);
	for (uint32_t p = 0; p < count; p++)
		s->image.ports[p].name[FH_STATS_NAME_MAX - 1] = '\0';
	s->image.ports_count = count;
}

void stats_prometheus_file_set(struct stats *s, const struct output_dir *dir, const char *name)
{
	s->prometheus_dir = dir;
	s->prometheus_name = name;
}

/* A refresh of the Prometheus file failed: counted, and said when a run of failures starts. */
static void stats_prometheus_failed(struct stats *s, const char *what)
{
	if (s->prometheus_failures++ == 0)
		logline(LOG_WARNING, "fhd: stats.prometheus_file: %s; not refreshed (counted; said once)\n", what);
}

/* The Prometheus text exposition of the segment to out: what the file and /metrics carry. */
static void stats_prometheus_text_write(FILE *out, const struct fh_stats_segment *seg)
{
	static const double quantiles[] = { 0.5, 0.9, 0.99, 0.999, 0.9999 };

	/* Which fhd wrote the file: the build's version and git revision ("" outside git). */
	fprintf(out, "# HELP fh_build_info The fhd build writing this file (always 1).\n# TYPE fh_build_info gauge\n"
		"fh_build_info{version=\"%s\",revision=\"%s\"} 1\n", FH_BUILD_VERSION, FH_BUILD_REVISION);
	stats_counter_write(out, seg, "packets_total", "Framed packets received, both lines.",
			    offsetof(struct fh_stats_feed, packets));
	stats_counter_write(out, seg, "messages_total", "Messages applied to the books.",
			    offsetof(struct fh_stats_feed, messages));
	stats_counter_write(out, seg, "gaps_total", "Sequence gaps declared.", offsetof(struct fh_stats_feed, gaps));
	stats_counter_write(out, seg, "gap_messages_total", "Messages lost in gaps.",
			    offsetof(struct fh_stats_feed, gap_messages));
	stats_counter_write(out, seg, "duplicates_total", "Packets already applied from the other line.",
			    offsetof(struct fh_stats_feed, duplicates));
	stats_counter_write(out, seg, "dropped_packets_total", "Packets dropped whole (bad L3/L4, framing, source).",
			    offsetof(struct fh_stats_feed, dropped));
	stats_counter_write(out, seg, "skipped_messages_total", "Messages skipped (unknown type, bad length or field).",
			    offsetof(struct fh_stats_feed, skipped_messages));
	stats_counter_write(out, seg, "journal_dropped_total", "Packets not journaled: the journal ring was full.",
			    offsetof(struct fh_stats_feed, journal_dropped));
	stats_counter_write(out, seg, "feed_delay_negative_total",
			    "Packets stamped by the exchange after their RX time (clocks disagree), not timed.",
			    offsetof(struct fh_stats_feed, feed_delay_negative));
	stats_counter_write(out, seg, "feed_delay_out_of_range_total",
			    "Packets whose feed delay exceeds 68.7 s (clocks disagree), not timed.",
			    offsetof(struct fh_stats_feed, feed_delay_out_of_range));
	stats_prometheus_recovery_write(out, seg);
	stats_prometheus_refusals_write(out, seg);
	fprintf(out, "# HELP fh_latency_seconds Latency per feed over the last interval (quantiles) "
		"and since start (sum, count).\n# TYPE fh_latency_seconds summary\n");
	for (uint32_t i = 0; i < seg->feeds_count; i++) {
		const struct fh_stats_feed *f = &seg->feeds[i];

		for (int k = 0; k < FH_STATS_LATENCIES; k++) {
			const struct fh_stats_latency *l = &f->interval[k];
			const uint64_t values[] = { l->p50_ns, l->p90_ns, l->p99_ns, l->p999_ns, l->p9999_ns };

			for (int q = 0; q < 5; q++)
				fprintf(out, "fh_latency_seconds{feed=\"%s\",kind=\"%s\",quantile=\"%g\"} %.9f\n",
					f->name, seg->latency_names[k], quantiles[q], (double)values[q] / 1e9);
			fprintf(out, "fh_latency_seconds_sum{feed=\"%s\",kind=\"%s\"} %.9f\n", f->name,
				seg->latency_names[k], f->total[k].mean_ns * (double)f->total[k].count / 1e9);
			fprintf(out, "fh_latency_seconds_count{feed=\"%s\",kind=\"%s\"} %" PRIu64 "\n", f->name,
				seg->latency_names[k], f->total[k].count);
		}
	}
}

/*
 * The Prometheus text exposition of the segment, to "<name>.tmp" in the checked
 * directory (created fresh, never through a link) renamed over name.
 */
static void stats_prometheus_write(struct stats *s, const struct fh_stats_segment *seg)
{
	char tmp[NAME_MAX + 1], err[OUTPUT_FILE_ERROR_MAX];
	FILE *out;
	int rc;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", s->prometheus_name) >= sizeof(tmp)) {
		stats_prometheus_failed(s, "file name too long for its .tmp");
		return;
	}
	out = output_file_fopen(s->prometheus_dir, tmp, 0644, err, sizeof(err));
	if (out == NULL) {
		stats_prometheus_failed(s, err);
		return;
	}
	stats_prometheus_text_write(out, seg);
	if (fclose(out) != 0) {
		output_file_unlink(s->prometheus_dir, tmp);
		stats_prometheus_failed(s, "cannot write its .tmp");
		return;
	}
	rc = output_file_rename(s->prometheus_dir, tmp, s->prometheus_name);
	if (rc != 0) {
		snprintf(err, sizeof(err), "cannot rename %s over %s: %s", tmp, s->prometheus_name, strerror(-rc));
		stats_prometheus_failed(s, err);
	}
}

int stats_metrics_text_keep(struct stats *s, size_t size_max)
{
	assert(s->metrics_text[0] == NULL && size_max > 0);
	for (int i = 0; i < 2; i++) {
		s->metrics_text[i] = malloc(size_max);
		if (s->metrics_text[i] == NULL) {
			free(s->metrics_text[0]);
			s->metrics_text[0] = NULL;
			return -ENOMEM;
		}
		memset(s->metrics_text[i], 0, size_max);	/* every page touched now */
	}
	s->metrics_text_max = size_max;
	s->metrics_text_len = 0;
	return 0;
}

const char *stats_metrics_text(const struct stats *s, size_t *len)
{
	*len = s->metrics_text_len;
	return s->metrics_text[0] != NULL && s->metrics_text_len > 0 ? s->metrics_text[0] : NULL;
}

/* Renders the exposition into the back buffer; swaps it to the front when it fit. */
static void stats_metrics_text_render(struct stats *s, const struct fh_stats_segment *seg)
{
	FILE *out = fmemopen(s->metrics_text[1], s->metrics_text_max, "w");
	char *front;
	long len = -1;

	if (out != NULL) {
		stats_prometheus_text_write(out, seg);
		fflush(out);
		len = ferror(out) ? -1 : ftell(out);
		if (fclose(out) != 0)
			len = -1;
	}
	/* Whole only if it left room for fmemopen's NUL: a full buffer may be cut short. */
	if (len <= 0 || (size_t)len >= s->metrics_text_max - 1) {
		if (s->metrics_text_failures++ == 0)
			logline(LOG_WARNING, "fhd: stats.http: the metrics did not fit in %zu bytes; /metrics serves "
				"the last whole one (counted; said once)\n", s->metrics_text_max);
		return;
	}
	front = s->metrics_text[0];
	s->metrics_text[0] = s->metrics_text[1];
	s->metrics_text[1] = front;
	s->metrics_text_len = (size_t)len;
}

void stats_tick(struct stats *s, uint64_t now_ns, bool final)
{
	static struct fh_stats_feed feeds[CFG_FEEDS_MAX];
	double seconds = (double)(now_ns - s->last_tick_ns) / 1e9;

	for (uint32_t i = 0; i < s->feeds_count; i++) {
		struct stats_feed *f = &s->feeds[i];
		struct fh_stats_feed *out = &feeds[i];

		if (f->feed->latency != NULL && !stats_feed_swap(f))
			logline(LOG_WARNING, "fhd: %s: RX lcore did not hand over its histograms; next interval\n",
				f->feed->cfg->name);
		snprintf(out->name, sizeof(out->name), "%s", f->feed->cfg->name);
		feed_stats_fill(f->feed, out);
		out->packets_per_s = s->last_tick_ns && seconds > 0 ? (double)(out->packets - f->last_packets) / seconds : 0;
		out->messages_per_s = s->last_tick_ns && seconds > 0 ? (double)(out->messages - f->last_messages) / seconds : 0;
		f->last_packets = out->packets;
		f->last_messages = out->messages;
		for (int k = 0; k < FEED_LATENCY_KINDS; k++) {
			stats_latency_fill(&out->interval[k], &f->interval[k]);
			stats_latency_fill(&out->total[k], &f->total[k]);
		}
		if (s->cfg->log && !final && s->last_tick_ns != 0)
			stats_line_print(out);
	}
	s->last_tick_ns = now_ns;
	memcpy(s->image.feeds, feeds, sizeof(feeds[0]) * s->feeds_count);
	s->image.updated_ns = clock_realtime_ns();
	s->image.state = final ? FH_STATS_STATE_STOPPED : FH_STATS_STATE_RUNNING;
	stats_seqlock_write(&s->published, &s->image, &s->published_seq);
	if (s->segment != NULL) {
		/* The seqlock from our own count; the segment is written, never read back. */
		stats_seqlock_write(s->segment, &s->image, &s->seq);
		s->image.seq = s->seq;
	}
	/* From fhd's own image: nothing in the shared segment is read back. */
	if (s->prometheus_dir != NULL)
		stats_prometheus_write(s, &s->image);
	if (s->metrics_text[0] != NULL)
		stats_metrics_text_render(s, &s->image);
	if (final && s->prometheus_failures > 0)
		logline(LOG_WARNING, "fhd: stats.prometheus_file: %" PRIu64 " refreshes could not be written\n",
			s->prometheus_failures);
}

bool stats_copy(const struct stats *s, struct fh_stats_segment *out)
{
	return fh_stats_copy(&s->published, out);
}

void stats_report(FILE *out, const struct stats *s)
{
	for (uint32_t i = 0; i < s->feeds_count; i++)
		for (int k = 0; k < FEED_LATENCY_KINDS; k++) {
			fprintf(out, "latency %s %s (us), percentile distribution:\n",
				s->feeds[i].feed->cfg->name, feed_latency_names[k]);
			hist_percentiles_write(out, &s->feeds[i].total[k], 1000.0, 5);
		}
	fprintf(out, "latency per feed (us)        %10s %9s %9s %9s %9s %9s %9s\n", "count", "p50", "p90",
		"p99", "p99.9", "p99.99", "max");
	for (uint32_t i = 0; i < s->feeds_count; i++)
		for (int k = 0; k < FEED_LATENCY_KINDS; k++) {
			const struct hist *h = &s->feeds[i].total[k];

			fprintf(out, "  %-8s %-21s %10" PRIu64 " %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f\n",
				s->feeds[i].feed->cfg->name, feed_latency_names[k], h->total,
				(double)hist_percentile(h, 50) / 1000, (double)hist_percentile(h, 90) / 1000,
				(double)hist_percentile(h, 99) / 1000, (double)hist_percentile(h, 99.9) / 1000,
				(double)hist_percentile(h, 99.99) / 1000, h->total ? (double)h->max / 1000 : 0.0);
		}
	for (uint32_t i = 0; i < s->feeds_count; i++) {
		const struct feed_latency *fl = s->feeds[i].feed->latency;

		if (fl != NULL && fl->feed_delay_negative > 0)
			fprintf(out, "  %-8s feed_delay: %" PRIu64 " packets stamped by the exchange after "
				"their RX time (clocks or exchange_utc_offset_min disagree), not recorded\n",
				s->feeds[i].feed->cfg->name, fl->feed_delay_negative);
		if (fl != NULL && fl->feed_delay_out_of_range > 0)
			fprintf(out, "  %-8s feed_delay: %" PRIu64 " packets stamped by the exchange more than "
				"%.1f s before their RX time (clocks or exchange_utc_offset_min disagree), "
				"not recorded\n", s->feeds[i].feed->cfg->name, fl->feed_delay_out_of_range,
				(double)HIST_VALUE_MAX / 1e9);
	}
}

int stats_hist_files_write(const struct stats *s, const struct output_dir *dir)
{
	char name[NAME_MAX + 1], err[OUTPUT_FILE_ERROR_MAX];
	FILE *out;
	bool bad;
	int rc = 0;

	for (uint32_t i = 0; i < s->feeds_count; i++)
		for (int k = 0; k < FEED_LATENCY_KINDS; k++) {
			/* the config allows feed names of [A-Za-z0-9_.-] only: one file name */
			snprintf(name, sizeof(name), "%s.%s.hgrm", s->feeds[i].feed->cfg->name,
				 feed_latency_names[k]);
			out = output_file_fopen(dir, name, 0644, err, sizeof(err));
			if (out == NULL) {
				logline(LOG_ERR, "fhd: --hist-out %s\n", err);
				rc = -EIO;
				continue;
			}
			bad = hist_percentiles_write(out, &s->feeds[i].total[k], 1000.0, 5) != 0;
			bad = hist_counts_write(out, &s->feeds[i].total[k]) != 0 || bad;
			bad = fclose(out) != 0 || bad;
			if (bad) {
				logline(LOG_ERR, "fhd: --hist-out %s/%s: %s\n", dir->path, name, strerror(errno));
				rc = -EIO;
			}
		}
	return rc;
}

void stats_close(struct stats *s)
{
	if (s->segment_remove)
		shm_segment_remove(&s->shm);
	else
		shm_segment_close(&s->shm);
	s->segment = NULL;
	for (int i = 0; i < 2; i++) {
		free(s->metrics_text[i]);
		s->metrics_text[i] = NULL;
	}
	s->metrics_text_len = 0;
}
