/*
 * fh stat: a running (or just stopped) fhd's live counters and latency percentiles,
 * read from its stats segment (/dev/shm/<stats.segment>, publish/stats_layout.h),
 * as a table or as JSON. Needs read access to the segment only. The segment is opened
 * under libfh's trust rules and sized before it is mapped; every field is validated
 * or bounded before use, and whether fhd is still alive is checked, not assumed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "book/util/clock.h"
#include "publish/libfh/fh.h"
#include "publish/libfh/stats_layout.h"
#include "tools/fh/cli.h"

/* How fhd is doing, from the segment's state, its pid and the age of its last update. */
enum stat_liveness {
	STAT_RUNNING,
	STAT_STOPPED,	/* stopped cleanly */
	STAT_GONE,		/* says running, but its pid is gone: killed */
	STAT_STALE,		/* says running, pid alive, but no update for many intervals */
};

static const char *const stat_liveness_names[] = {
	[STAT_RUNNING] = "running",
	[STAT_STOPPED] = "stopped",
	[STAT_GONE] = "gone",
	[STAT_STALE] = "stale",
};

/* Seconds since the segment's last update (< 0: never updated, or a future stamp). */
static double stat_age_s(const struct fh_stats_segment *s)
{
	/* In double: a stamp from the segment may lie ahead of now, or be any 64-bit value. */
	if (s->updated_ns == 0)
		return -1;
	return ((double)clock_realtime_ns() - (double)s->updated_ns) / 1e9;
}

/* True unless kill(pid, 0) says no such process (EPERM: alive, another user's). */
static bool stat_pid_alive(uint64_t pid)
{
	/* 0 and negative pids name process groups: never probe those. */
	if (pid == 0 || pid > INT32_MAX)
		return false;
	return kill((pid_t)pid, 0) == 0 || errno != ESRCH;
}

static enum stat_liveness stat_liveness(const struct fh_stats_segment *s)
{
	double age = stat_age_s(s);

	if (s->state == FH_STATS_STATE_STOPPED)
		return STAT_STOPPED;
	if (!stat_pid_alive(s->pid))
		return STAT_GONE;
	/* fhd rewrites it every interval: three missed, and at least 2 s, is not running. */
	if (age > 2.0 && age * 1000.0 > 3.0 * s->interval_ms)
		return STAT_STALE;
	return STAT_RUNNING;
}

/* A name from the segment as a JSON string, quotes included. */
static void stat_json_name(const char *name)
{
	char text[FH_STATS_NAME_MAX * 6 + 1];

	cli_text_escape(text, sizeof(text), name, true);
	printf("\"%s\"", text);
}

static void stat_latency_json(const char *name, const struct fh_stats_latency *l, bool comma)
{
	stat_json_name(name);
	printf(":{\"count\":%" PRIu64 ",\"p50_ns\":%" PRIu64 ",\"p90_ns\":%" PRIu64 ",\"p99_ns\":%" PRIu64
	       ",\"p999_ns\":%" PRIu64 ",\"p9999_ns\":%" PRIu64 ",\"max_ns\":%" PRIu64 ",\"mean_ns\":%.1f}%s",
	       l->count, l->p50_ns, l->p90_ns, l->p99_ns, l->p999_ns, l->p9999_ns, l->max_ns, l->mean_ns,
	       comma ? "," : "");
}

/*
 * The feed's book state and the recovery groups it has, by the vocabulary fhd's exit
 * report and Prometheus share (fh_stats_counters, stats_layout.h). Text: the lines
 * fhd's exit report prints. JSON members: book_state and the book group's words, then
 * a "recovery" and a "snapshot" object where the feed has them (durations in ns).
 */
static void stat_recovery_print(const struct fh_stats_feed *f, bool json)
{
	if (!json) {
		fh_stats_counters_print(stdout, f, cli_book_state_name(f->recovery.book_state));
		return;
	}
	printf(",\"book_state\":\"%s\"", cli_book_state_name(f->recovery.book_state));
	for (unsigned g = 0; g < FH_STATS_GROUPS; g++) {
		bool first = true;

		if (!fh_stats_group_shown(f, g))
			continue;
		if (g != FH_STATS_GROUP_BOOK)
			printf(",\"%s\":{", fh_stats_group_names[g]);
		for (size_t i = 0; i < FH_STATS_COUNTERS; i++) {
			const struct fh_stats_counter *c = &fh_stats_counters[i];

			if (c->group != g)
				continue;
			printf("%s\"%s%s\":%" PRIu64, first && g != FH_STATS_GROUP_BOOK ? "" : ",", c->word,
			       c->kind == FH_STATS_DURATION ? "_ns" : "", fh_stats_counter_value(f, c));
			first = false;
		}
		if (g != FH_STATS_GROUP_BOOK)
			printf("}");
	}
}

/* The book's capacity refusals and each line's counters (fh_stats_line_counters). */
static void stat_refusals_print(const struct fh_stats_feed *f, bool json)
{
	if (json)
		printf(",\"instruments_full\":%" PRIu64 ",\"orders_full\":%" PRIu64 ",\"levels_full\":%" PRIu64,
		       f->instruments_full, f->orders_full, f->levels_full);
	else
		printf("  book refused (capacity): instruments_full %" PRIu64 "  orders_full %" PRIu64
		       "  levels_full %" PRIu64 "%s\n", f->instruments_full, f->orders_full, f->levels_full,
		       f->instruments_full + f->orders_full + f->levels_full > 0 ?
		       "  (raise feeds[].book.instruments, orders or levels)" : "");
	/* JSON: "word":{"A":N,"B":N,"recovery":N}; text: "  word: A N  B N  recovery N". */
	for (size_t i = 0; i < FH_STATS_LINE_COUNTERS; i++) {
		printf(json ? ",\"%s\":{" : "  %s:", fh_stats_line_counters[i].word);
		for (unsigned l = 0; l < FH_STATS_LINES; l++)
			printf(json ? "%s\"%s\":%" PRIu64 : "%s%s %" PRIu64,
			       l == 0 ? (json ? "" : " ") : (json ? "," : "  "), fh_stats_line_names[l],
			       fh_stats_line_value(f, &fh_stats_line_counters[i], l));
		printf(json ? "}" : "\n");
	}
}

/*
 * The instruments per book state (the worse of the feed's and each one's own). Text:
 * "  instruments: ok N  recovering N  stale N"; JSON "instruments":{"ok":N,...}.
 */
static void stat_instruments_print(const struct fh_stats_feed *f, bool json)
{
	printf(json ? ",\"instruments\":{" : "  instruments:");
	for (unsigned st = 0; st < FH_BOOK_STATES; st++)
		printf(json ? "%s\"%s\":%" PRIu64 : "%s%s %" PRIu64, st == 0 ? (json ? "" : " ") : (json ? "," : "  "),
		       fh_book_state_name(st), f->instruments[st]);
	printf(json ? "}" : "\n");
}

/* The ports' counters: pool_low beside no_mbuf (not every driver counts a missing mbuf). */
static void stat_ports_print(const struct fh_stats_segment *s, bool json)
{
	char name[FH_STATS_NAME_MAX * 6 + 1];

	for (uint32_t p = 0; p < s->ports_count; p++) {
		const struct fh_stats_port *port = &s->ports[p];

		if (json) {
			printf("%s{\"name\":", p ? "," : "");
			stat_json_name(port->name);
			printf(",\"received\":%" PRIu64 ",\"missed\":%" PRIu64 ",\"no_mbuf\":%" PRIu64
			       ",\"pool_low\":%" PRIu64 ",\"errors\":%" PRIu64 "}", port->received, port->missed,
			       port->no_mbuf, port->pool_low, port->errors);
			continue;
		}
		cli_text_escape(name, sizeof(name), port->name, false);
		printf("port %s: received %" PRIu64 "  missed %" PRIu64 "  no_mbuf %" PRIu64 "  pool_low %" PRIu64
		       "  errors %" PRIu64 "\n", name, port->received, port->missed, port->no_mbuf, port->pool_low,
		       port->errors);
	}
}

static void stat_json(const struct fh_stats_segment *s)
{
	enum stat_liveness live = stat_liveness(s);

	printf("{\"pid\":%" PRIu64 ",\"state\":\"%s\",\"pid_alive\":%s,\"updated_ns\":%" PRIu64
	       ",\"interval_ms\":%u,\"feeds\":[", s->pid, stat_liveness_names[live],
	       stat_pid_alive(s->pid) ? "true" : "false", s->updated_ns, s->interval_ms);
	for (uint32_t i = 0; i < s->feeds_count; i++) {
		const struct fh_stats_feed *f = &s->feeds[i];

		printf("%s{\"name\":", i ? "," : "");
		stat_json_name(f->name);
		printf(",\"packets\":%" PRIu64 ",\"messages\":%" PRIu64 ",\"gaps\":%" PRIu64
		       ",\"gap_messages\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"dropped\":%" PRIu64
		       ",\"skipped_messages\":%" PRIu64 ",\"journal_dropped\":%" PRIu64
		       ",\"feed_delay_negative\":%" PRIu64 ",\"feed_delay_out_of_range\":%" PRIu64
		       ",\"packets_per_s\":%.1f,\"messages_per_s\":%.1f,\"interval\":{",
		       f->packets, f->messages, f->gaps, f->gap_messages, f->duplicates, f->dropped,
		       f->skipped_messages, f->journal_dropped, f->feed_delay_negative, f->feed_delay_out_of_range,
		       f->packets_per_s, f->messages_per_s);
		for (int k = 0; k < FH_STATS_LATENCIES; k++)
			stat_latency_json(s->latency_names[k], &f->interval[k], k + 1 < FH_STATS_LATENCIES);
		printf("},\"total\":{");
		for (int k = 0; k < FH_STATS_LATENCIES; k++)
			stat_latency_json(s->latency_names[k], &f->total[k], k + 1 < FH_STATS_LATENCIES);
		printf("}");
		stat_recovery_print(f, true);
		stat_instruments_print(f, true);
		stat_refusals_print(f, true);
		printf("}");
	}
	printf("],\"ports\":[");
	stat_ports_print(s, true);
	printf("]}\n");
}

static void stat_table(const struct fh_stats_segment *s)
{
	double age = stat_age_s(s);
	char updated[64], name[FH_STATS_NAME_MAX], kind[FH_STATS_NAME_MAX];

	if (age < 0)
		snprintf(updated, sizeof(updated), "not updated yet");
	else
		snprintf(updated, sizeof(updated), "updated %.1f s ago", age);
	switch (stat_liveness(s)) {
	case STAT_RUNNING:
		printf("fhd pid %" PRIu64 ", running, %s (every %u ms)\n", s->pid, updated, s->interval_ms);
		break;
	case STAT_STOPPED:
		printf("fhd pid %" PRIu64 ", stopped, %s (every %u ms)\n", s->pid, updated, s->interval_ms);
		break;
	case STAT_GONE:
		printf("fhd pid %" PRIu64 ", not running (pid %" PRIu64 " gone without stopping cleanly), "
		       "%s (every %u ms)\n", s->pid, s->pid, updated, s->interval_ms);
		break;
	case STAT_STALE:
		printf("fhd pid %" PRIu64 ", not updating (pid alive, but %s, every %u ms expected)\n",
		       s->pid, updated, s->interval_ms);
		break;
	}
	stat_ports_print(s, false);
	for (uint32_t i = 0; i < s->feeds_count; i++) {
		const struct fh_stats_feed *f = &s->feeds[i];

		cli_text_escape(name, sizeof(name), f->name, false);

		printf("feed %s: %.0f pkt/s  %.0f msg/s  packets %" PRIu64 "  messages %" PRIu64 "  gaps %" PRIu64
		       " (%" PRIu64 " msgs)  duplicates %" PRIu64 "  dropped %" PRIu64 "  skipped %" PRIu64
		       "  journal_dropped %" PRIu64 "\n", name, f->packets_per_s, f->messages_per_s,
		       f->packets, f->messages, f->gaps, f->gap_messages, f->duplicates, f->dropped,
		       f->skipped_messages, f->journal_dropped);
		stat_recovery_print(f, false);
		stat_instruments_print(f, false);
		stat_refusals_print(f, false);
		if (f->feed_delay_negative > 0 || f->feed_delay_out_of_range > 0)
			printf("  feed_delay not timed (clocks disagree): negative %" PRIu64 "  out_of_range %" PRIu64
			       "\n", f->feed_delay_negative, f->feed_delay_out_of_range);
		printf("  %-22s %-9s %10s %9s %9s %9s %9s %9s %9s   (us)\n", "latency", "window", "count", "p50",
		       "p90", "p99", "p99.9", "p99.99", "max");
		for (int k = 0; k < FH_STATS_LATENCIES; k++)
			for (int w = 0; w < 2; w++) {
				const struct fh_stats_latency *l = w ? &f->total[k] : &f->interval[k];

				cli_text_escape(kind, sizeof(kind), w ? "" : s->latency_names[k], false);
				printf("  %-22s %-9s %10" PRIu64 " %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f\n", kind,
				       w ? "total" : "interval", l->count,
				       (double)l->p50_ns / 1e3, (double)l->p90_ns / 1e3, (double)l->p99_ns / 1e3,
				       (double)l->p999_ns / 1e3, (double)l->p9999_ns / 1e3, (double)l->max_ns / 1e3);
			}
	}
}

/*
 * With no --segment: the one stats segment in /dev/shm. fhd names its segment
 * stats.segment, <ring>-stats or fh-stats-<pid>. Anyone can create files there, so a
 * name counts only if fh_segment_open accepts it (a regular file of a trusted owner,
 * opened non-blocking, nothing read): another user's file neither hides the real one
 * nor is chosen; how many were passed over is said. Names are printed escaped (they
 * are whoever made them's: a terminal escape sequence is one name). 0 with the name
 * in out; 1 (none) or 2 (several, listed) after a message.
 */
static int stat_segment_find(char *out, size_t size)
{
	DIR *dir = opendir("/dev/shm");
	struct dirent *d;
	char shown[sizeof(d->d_name)], err[512];
	int found = 0, untrusted = 0, fd;
	uint64_t bytes;

	if (dir == NULL) {
		fprintf(stderr, "fh stat: /dev/shm: %s\n", strerror(errno));
		return 1;
	}
	while ((d = readdir(dir)) != NULL) {
		size_t len = strlen(d->d_name);

		if (d->d_type != DT_REG || (strncmp(d->d_name, "fh-stats", 8) != 0 &&
					    (len <= 6 || strcmp(d->d_name + len - 6, "-stats") != 0)))
			continue;
		fd = fh_segment_open(d->d_name, &bytes, err, sizeof(err));
		if (fd < 0) {
			untrusted += fd != -ENOENT;	/* gone meanwhile: not there */
			continue;
		}
		close(fd);
		if (found++ == 0) {
			snprintf(out, size, "%s", d->d_name);
			continue;
		}
		if (found == 2) {
			cli_text_escape(shown, sizeof(shown), out, false);
			fprintf(stderr, "fh stat: several stats segments in /dev/shm; choose one with --segment:\n  %s\n",
				shown);
		}
		cli_text_escape(shown, sizeof(shown), d->d_name, false);
		fprintf(stderr, "  %s\n", shown);
	}
	closedir(dir);
	if (untrusted > 0)
		fprintf(stderr, "fh stat: %d file(s) in /dev/shm named like a stats segment passed over: not "
			"a regular file of root, you or FH_PRODUCER_UID (--segment NAME says why)\n", untrusted);
	if (found == 0)
		fprintf(stderr, "fh stat: no stats segment in /dev/shm (is fhd running?); or give --segment NAME\n");
	return found == 0 ? 1 : found == 1 ? 0 : 2;
}

/*
 * Copies the stats segment /dev/shm/NAME into copy: opened under libfh's trust rules,
 * sized before it is mapped, taken consistent (or as it is, if fhd died mid-update),
 * checked for magic, version and feed count, and its names terminated. 0, or 1 after
 * saying why on stderr.
 */
static int stat_segment_copy(const char *name, struct fh_stats_segment *copy)
{
	char err[512];
	bool consistent;
	uint64_t size;
	void *map;
	int fd;

	fd = fh_segment_open(name, &size, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "fh stat: %s%s\n", err, fd == -ENOENT ? " (is fhd running with that stats.segment?)" : "");
		return 1;
	}
	/* Mapping past the end of the file would turn every read into SIGBUS: size it first. */
	if (size < sizeof(*copy)) {
		close(fd);
		fprintf(stderr, "fh stat: /dev/shm/%s: %" PRIu64 " bytes, not an fh stats segment of %zu "
			"(or fhd is still creating it)\n", name, size, sizeof(*copy));
		return 1;
	}
	map = mmap(NULL, sizeof(*copy), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		fprintf(stderr, "fh stat: /dev/shm/%s: %s\n", name, strerror(errno));
		return 1;
	}
	consistent = fh_stats_copy(map, copy);
	if (!consistent)	/* fhd killed mid-update leaves seq odd for good */
		memcpy(copy, map, sizeof(*copy));
	munmap(map, sizeof(*copy));
	if (copy->magic != FH_STATS_MAGIC || copy->version != FH_STATS_VERSION ||
	    copy->feeds_count > FH_STATS_FEEDS_MAX || copy->ports_count > FH_STATS_PORTS_MAX) {
		fprintf(stderr, "fh stat: /dev/shm/%s: not an fh stats segment of version %d\n", name,
			FH_STATS_VERSION);
		return 1;
	}
	if (!consistent && stat_pid_alive(copy->pid)) {
		fprintf(stderr, "fh stat: /dev/shm/%s: fhd kept rewriting it through every try; try again\n",
			name);
		return 1;
	}
	if (!consistent)
		fprintf(stderr, "fh stat: /dev/shm/%s: fhd (pid %" PRIu64 ") died while updating it: the "
			"figures may mix two intervals\n", name, copy->pid);
	/* Names are printed: terminated here whatever the segment held. */
	for (int k = 0; k < FH_STATS_LATENCIES; k++)
		copy->latency_names[k][FH_STATS_NAME_MAX - 1] = '\0';
	for (uint32_t i = 0; i < copy->feeds_count; i++)
		copy->feeds[i].name[FH_STATS_NAME_MAX - 1] = '\0';
	for (uint32_t i = 0; i < copy->ports_count; i++)
		copy->ports[i].name[FH_STATS_NAME_MAX - 1] = '\0';
	return 0;
}

#define STAT_WATCH_S_MAX 86400u	/* --watch: at most a day between refreshes */

static void stat_usage_print(void)
{
	printf("usage: fh stat [--segment NAME] [--json] [--watch [SECONDS]]\n"
	       "  a running fhd's counters and latency percentiles from /dev/shm/NAME: stats.segment,\n"
	       "  else <publish.ring>-stats, else fh-stats-<pid> (fhd prints it at start); without\n"
	       "  --segment, the only stats segment in /dev/shm\n"
	       "  --watch [SECONDS]: again every SECONDS (default 1) until interrupted; on a terminal\n"
	       "  the screen is redrawn, otherwise (and with --json) one report follows another\n"
	       "  The recovery: and snapshot: lines appear for feeds whose config has those sections.\n");
}

struct stat_options {
	const char *name;
	bool json;
	uint64_t watch_s;	/* 0: once */
};

/*
 * Reads fh stat's options into o. --watch takes an optional number of seconds, also
 * as the next argument ("--watch 2"). -1 to go on, or the exit status: 0 after --help,
 * 2 for a usage error (said).
 */
static int stat_options_parse(int argc, char **argv, struct stat_options *o)
{
	static const struct option longs[] = {
		{ "segment", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "watch", optional_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *seconds;
	int c;

	while ((c = getopt_long(argc, argv, "s:jw::h", longs, NULL)) != -1) {
		switch (c) {
		case 's':
			o->name = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'w':
			seconds = optarg;
			if (seconds == NULL && optind < argc && argv[optind][0] != '-')
				seconds = argv[optind++];
			o->watch_s = 1;
			if (seconds != NULL && cli_number_parse("stat", "watch", seconds, 1, STAT_WATCH_S_MAX, &o->watch_s) != 0)
				return 2;
			break;
		case 'h':
			stat_usage_print();
			return 0;
		default:
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "fh stat: unexpected argument '%s' (fh stat --help)\n", argv[optind]);
		return 2;
	}
	return -1;
}

/* One report: the segment copied and printed. 0, or 1 after saying why. */
static int stat_report(const char *name, const struct stat_options *o, bool terminal)
{
	static struct fh_stats_segment copy;
	int rc = stat_segment_copy(name, &copy);

	if (rc != 0)
		return rc;
	if (o->watch_s > 0 && !o->json)
		printf(terminal ? "\033[H\033[2J" : "\n");
	if (o->json)
		stat_json(&copy);
	else
		stat_table(&copy);
	fflush(stdout);
	return 0;
}

int stat_main(int argc, char **argv)
{
	struct stat_options o = { 0 };
	bool terminal = isatty(STDOUT_FILENO);
	char found[256];
	int rc;

	rc = stat_options_parse(argc, argv, &o);
	if (rc >= 0)
		return rc;
	if (o.name == NULL) {
		rc = stat_segment_find(found, sizeof(found));
		if (rc != 0)
			return rc;
		o.name = found;
	}
	if (o.watch_s == 0)
		return stat_report(o.name, &o, terminal);
	/* Watching: a segment missing or refused for a while (fhd restarting) is waited for. */
	cli_signals_catch();
	while (!cli_quit) {
		stat_report(o.name, &o, terminal);
		for (uint64_t slept_ms = 0; slept_ms < o.watch_s * 1000 && !cli_quit; slept_ms += 50)
			usleep(50000);
	}
	return 0;
}
