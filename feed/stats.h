/*
 * stats: the main lcore's view of every feed, refreshed each stats interval. It swaps
 * the feeds' latency histograms out of the RX lcores (hist_recorder), keeps the last
 * interval and the whole run, and shows them where people look: one status line per
 * feed in the log, the shared-memory stats segment `fh stat` reads, a Prometheus text
 * file, and at exit the HdrHistogram percentile distributions (log and --hist-out
 * files) and a per-feed latency table. Control path only: it may print and allocate.
 */
#ifndef FH_FEED_STATS_H
#define FH_FEED_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"
#include "feed/feed.h"
#include "publish/shm_segment.h"
#include "publish/output_file.h"
#include "publish/libfh/stats_layout.h"

struct stats_feed {
	struct feed *feed;
	const volatile bool *writer_finished;	/* the owning RX lcore's finished flag */
	bool pending;				/* a swap asked for and not yet made */
	struct hist interval[FEED_LATENCY_KINDS];
	struct hist total[FEED_LATENCY_KINDS];
	uint64_t last_packets, last_messages;
	uint64_t last_ns;
};

struct stats {
	const struct cfg_stats *cfg;
	struct stats_feed feeds[CFG_FEEDS_MAX];
	uint32_t feeds_count;
	/*
	 * What the segment holds, fhd's own copy: every output (the segment, the Prometheus
	 * file) is made from it, and nothing is ever read back from the shared segment.
	 */
	struct fh_stats_segment image;
	uint64_t seq;				/* the segment's seqlock, privately */
	struct fh_stats_segment *segment;	/* shared, written only; NULL: none */
	/*
	 * The image again, under its own seqlock (published.seq), for readers on other
	 * threads of this process (DPDK's telemetry thread, stats_copy): they never see the
	 * image half rewritten, and the main lcore never waits for them.
	 */
	struct fh_stats_segment published;
	uint64_t published_seq;
	struct shm_segment shm;
	bool segment_remove;			/* unlink it at stats_close (a per-run name) */
	uint64_t last_tick_ns;
	const struct output_dir *prometheus_dir;	/* NULL: no Prometheus file */
	const char *prometheus_name;			/* its name in prometheus_dir */
	uint64_t prometheus_failures;			/* refreshes that could not be written */
	/*
	 * stats.http: the same exposition kept in memory each tick for /metrics, rendered
	 * into the back buffer and swapped to the front when whole (NULL: not kept).
	 */
	char *metrics_text[2];				/* [0] served, [1] rendered into */
	size_t metrics_text_len;			/* of [0]; 0: no tick yet */
	size_t metrics_text_max;			/* each buffer's size */
	uint64_t metrics_text_failures;			/* renders that did not fit */
};

/*
 * Sets up the view of count feeds (writer_finished[i]: feed i's RX lcore flag) and the
 * stats segment /dev/shm/<segment> (NULL: none), created fresh (shm_segment_create:
 * a name owned by another user, or by a running fhd, is refused) with mode `mode`
 * (0644: fh stat needs no privilege). remove: unlink it at stats_close (a name nobody
 * could find after the run). 0, or -errno with a message printed.
 */
int stats_open(struct stats *s, const struct cfg_stats *cfg, const char *segment, mode_t mode,
	       bool remove, struct feed *const *feeds, const volatile bool *const *writer_finished,
	       uint32_t count);

/* Takes this interval's histograms and refreshes every output; final: the run is over. */
void stats_tick(struct stats *s, uint64_t now_ns, bool final);

/*
 * The ports' counters for the next stats_tick (the segment and Prometheus): count
 * entries, at most FH_STATS_PORTS_MAX. fhd reads them from DPDK; stats knows no DPDK.
 */
void stats_ports_set(struct stats *s, const struct fh_stats_port *ports, uint32_t count);

/* Whether the next interval is due at now_ns. */
bool stats_due(const struct stats *s, uint64_t now_ns);

/*
 * A consistent copy of the image as of the last stats_tick (or stats_open: names, no
 * counters yet), for a thread other than the main lcore's: the seqlock read of
 * fh_stats_copy, its tries bounded. true, or false when every try met a rewrite.
 */
bool stats_copy(const struct stats *s, struct fh_stats_segment *out);

/* At exit: each feed's percentile distributions, then the per-feed latency table. */
void stats_report(FILE *out, const struct stats *s);

/*
 * Where stats_tick writes the Prometheus file (cfg->prometheus_file, opened and checked
 * by the caller with output_dir_open_parent; dir outlives s): name in dir, through
 * "name.tmp" renamed over it. A refresh that fails is counted and said once a run of
 * failures.
 */
void stats_prometheus_file_set(struct stats *s, const struct output_dir *dir, const char *name);

/*
 * Keeps each tick's Prometheus exposition (the file's text) in memory for fhd's
 * /metrics: two buffers of size_max bytes, allocated and prefaulted now, so a tick
 * allocates no more than the file's refresh does. A render that does not fit keeps
 * the last one (counted; said once). 0, or -ENOMEM.
 */
int stats_metrics_text_keep(struct stats *s, size_t size_max);

/* The last tick's exposition and its length in *len; NULL: none yet (or not kept). */
const char *stats_metrics_text(const struct stats *s, size_t *len);

/*
 * Writes <feed>.<latency>.hgrm in dir for every feed and latency (created as
 * output_file_create says: a link or another user's file there is refused). 0 or -errno.
 */
int stats_hist_files_write(const struct stats *s, const struct output_dir *dir);

/* Unmaps and unlocks the segment (the file stays for a last fh stat, unless remove);
 * frees the kept exposition. */
void stats_close(struct stats *s);

#endif
