/*
 * telemetry: /fh/feeds and /fh/latency on DPDK's telemetry socket. The callbacks run on
 * DPDK's telemetry threads (one per connected client), so they take a seqlocked copy of
 * the stats image (stats_copy) and build the reply from it: nothing here touches a
 * feed, and the main lcore never waits for a client. DPDK 22.11 passes a callback no
 * context, hence the one file-scope pointer to the stats.
 */
#include "feed/dpdk/telemetry.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <rte_eal.h>
#include <rte_telemetry.h>

#include "feed/dpdk/fhd_log.h"
#include "publish/libfh/fh_event.h"

static const struct stats *telemetry_stats;

/* A feed's own counters outside fh_stats_counters: name, offset in fh_stats_feed. */
static const struct {
	const char *name;
	size_t offset;
} telemetry_feed_fields[] = {
	{ "packets", offsetof(struct fh_stats_feed, packets) },
	{ "messages", offsetof(struct fh_stats_feed, messages) },
	{ "gaps", offsetof(struct fh_stats_feed, gaps) },
	{ "gap_messages", offsetof(struct fh_stats_feed, gap_messages) },
	{ "duplicates", offsetof(struct fh_stats_feed, duplicates) },
	{ "dropped", offsetof(struct fh_stats_feed, dropped) },
	{ "skipped_messages", offsetof(struct fh_stats_feed, skipped_messages) },
	{ "journal_dropped", offsetof(struct fh_stats_feed, journal_dropped) },
	{ "feed_delay_negative", offsetof(struct fh_stats_feed, feed_delay_negative) },
	{ "feed_delay_out_of_range", offsetof(struct fh_stats_feed, feed_delay_out_of_range) },
	{ "instruments_full", offsetof(struct fh_stats_feed, instruments_full) },
	{ "orders_full", offsetof(struct fh_stats_feed, orders_full) },
	{ "levels_full", offsetof(struct fh_stats_feed, levels_full) },
};

/*
 * The feeds a command answers for: all, or the one its parameter names (`/fh/feeds,itch`).
 * A copy taken, *first and *end set: 0; -EAGAIN when the image kept changing through
 * every try; -EINVAL for a feed fhd does not have.
 */
static int telemetry_feeds_select(const char *params, struct fh_stats_segment *copy, uint32_t *first,
				  uint32_t *end)
{
	const struct stats *s = __atomic_load_n(&telemetry_stats, __ATOMIC_ACQUIRE);

	if (s == NULL || !stats_copy(s, copy))
		return -EAGAIN;
	*first = 0;
	*end = copy->feeds_count < FH_STATS_FEEDS_MAX ? copy->feeds_count : FH_STATS_FEEDS_MAX;
	if (params == NULL || params[0] == '\0')
		return 0;
	for (uint32_t i = *first; i < *end; i++)
		if (strncmp(copy->feeds[i].name, params, FH_STATS_NAME_MAX) == 0) {
			*first = i;
			*end = i + 1;
			return 0;
		}
	return -EINVAL;
}

/*
 * The reply's entry for feed f: a dict of its name and what fill adds, handed over to
 * the reply. DPDK 22.11 takes only [A-Za-z0-9_/] in a name: the entry's key is the
 * feed's name with any '.' or '-' made '_', and "name" inside has it as configured.
 */
static int telemetry_feed_add(struct rte_tel_data *info, const struct fh_stats_segment *copy,
			      const struct fh_stats_feed *f,
			      void (*fill)(struct rte_tel_data *, const struct fh_stats_segment *,
					   const struct fh_stats_feed *))
{
	struct rte_tel_data *d = rte_tel_data_alloc();
	char name[FH_STATS_NAME_MAX];

	if (d == NULL)
		return -ENOMEM;
	rte_tel_data_start_dict(d);
	/* terminated whatever the copy holds, and of the only characters DPDK takes in a name */
	snprintf(name, sizeof(name), "%s", f->name);
	rte_tel_data_add_dict_string(d, "name", name);
	fill(d, copy, f);
	for (char *c = name; *c != '\0'; c++)
		if (!isalnum((unsigned char)*c) && *c != '_')
			*c = '_';
	if (rte_tel_data_add_dict_container(info, name, d, 0) != 0) {
		rte_tel_data_free(d);
		return -ENOSPC;
	}
	return 0;
}

static void telemetry_feed_counters_fill(struct rte_tel_data *d, const struct fh_stats_segment *copy,
					 const struct fh_stats_feed *f)
{
	char name[64];

	(void)copy;
	rte_tel_data_add_dict_string(d, "book_state", fh_book_state_name((unsigned)f->recovery.book_state));
	for (size_t i = 0; i < sizeof(telemetry_feed_fields) / sizeof(telemetry_feed_fields[0]); i++) {
		uint64_t v;

		memcpy(&v, (const char *)f + telemetry_feed_fields[i].offset, sizeof(v));
		rte_tel_data_add_dict_u64(d, telemetry_feed_fields[i].name, v);
	}
	/* The vocabulary of fh stat and Prometheus: recovery_holes, snapshot_applied, losses. */
	for (size_t i = 0; i < FH_STATS_COUNTERS; i++) {
		const struct fh_stats_counter *c = &fh_stats_counters[i];

		if (!fh_stats_group_shown(f, c->group))
			continue;
		snprintf(name, sizeof(name), "%s%s%s", fh_stats_group_prefixes[c->group], c->word,
			 c->kind == FH_STATS_DURATION ? "_ns" : "");
		rte_tel_data_add_dict_u64(d, name, fh_stats_counter_value(f, c));
	}
	for (size_t c = 0; c < FH_STATS_LINE_COUNTERS; c++)
		for (unsigned l = 0; l < FH_STATS_LINES; l++) {
			snprintf(name, sizeof(name), "line_%s_%s", fh_stats_line_names[l], fh_stats_line_counters[c].word);
			rte_tel_data_add_dict_u64(d, name, fh_stats_line_value(f, &fh_stats_line_counters[c], l));
		}
}

static void telemetry_feed_latency_fill(struct rte_tel_data *d, const struct fh_stats_segment *copy,
					const struct fh_stats_feed *f)
{
	static const char *const stats[] = { "count", "p50_ns", "p90_ns", "p99_ns", "p999_ns", "p9999_ns", "max_ns" };
	char name[FH_STATS_NAME_MAX + 16], kind[FH_STATS_NAME_MAX];

	for (int k = 0; k < FH_STATS_LATENCIES; k++) {
		const struct fh_stats_latency *l = &f->total[k];
		const uint64_t values[] = { l->count, l->p50_ns, l->p90_ns, l->p99_ns, l->p999_ns, l->p9999_ns,
					    l->max_ns };

		_Static_assert(sizeof(values) / sizeof(values[0]) == sizeof(stats) / sizeof(stats[0]),
			       "a name per value");
		snprintf(kind, sizeof(kind), "%s", copy->latency_names[k]);
		for (size_t v = 0; v < sizeof(stats) / sizeof(stats[0]); v++) {
			snprintf(name, sizeof(name), "%s_%s", kind, stats[v]);
			rte_tel_data_add_dict_u64(d, name, values[v]);
		}
	}
}

/* A command's reply: a dict with an entry per selected feed. 0, or -errno (DPDK answers null). */
static int telemetry_feeds_reply(const char *params, struct rte_tel_data *info,
				 void (*fill)(struct rte_tel_data *, const struct fh_stats_segment *,
					      const struct fh_stats_feed *))
{
	struct fh_stats_segment copy;
	uint32_t first, end;
	int rc;

	rc = telemetry_feeds_select(params, &copy, &first, &end);
	if (rc != 0)
		return rc;
	rte_tel_data_start_dict(info);
	for (uint32_t i = first; i < end && rc == 0; i++)
		rc = telemetry_feed_add(info, &copy, &copy.feeds[i], fill);
	return rc;
}

static int telemetry_feeds_command(const char *cmd, const char *params, struct rte_tel_data *info)
{
	(void)cmd;
	return telemetry_feeds_reply(params, info, telemetry_feed_counters_fill);
}

static int telemetry_latency_command(const char *cmd, const char *params, struct rte_tel_data *info)
{
	(void)cmd;
	return telemetry_feeds_reply(params, info, telemetry_feed_latency_fill);
}

int telemetry_commands_register(const struct stats *s)
{
	char path[PATH_MAX];
	struct stat st;
	int rc;

	assert(s != NULL && telemetry_stats == NULL);
	__atomic_store_n(&telemetry_stats, s, __ATOMIC_RELEASE);
	rc = rte_telemetry_register_cmd("/fh/feeds", telemetry_feeds_command,
					"Counters per feed and line, and the book state, as of the last stats "
					"interval. Parameters: a feed's name (optional)");
	if (rc == 0)
		rc = rte_telemetry_register_cmd("/fh/latency", telemetry_latency_command,
						"Latency percentiles per feed since start (ns), as of the last "
						"stats interval. Parameters: a feed's name (optional)");
	if (rc != 0) {
		fhd_log(LOG_WARNING, "fhd: cannot register the /fh telemetry commands: %s\n", strerror(-rc));
		return rc;
	}
	/* Where EAL made its socket (none under --no-telemetry, or when it could not). */
	if ((size_t)snprintf(path, sizeof(path), "%s/dpdk_telemetry.v2", rte_eal_get_runtime_dir()) < sizeof(path) &&
	    lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		fhd_log(LOG_INFO, "fhd: DPDK telemetry on %s (/fh/feeds, /fh/latency: tools/fh_telemetry.py --socket %s "
			"/fh/feeds)\n", path, path);
	return 0;
}
