/*
 * feed: the per-packet data path of one RX lcore, without DPDK: a received frame is
 * parsed (packet), routed to its feed line by destination group and port, framed by
 * the feed's decoder, arbitrated between lines A and B (arbiter) and applied to the
 * feed's books. Recovery replies come from the worker (feed_set_recovery_service),
 * or, replaying a journal, from the capture, routed by source to their feed. Every packet that does not make it is counted where a user looks for
 * it: per feed and line when it was addressed to a line, per lcore otherwise. The
 * same code runs under the DPDK RX loop (feed/rx.c), the unit tests and the fuzzer.
 */
#ifndef FH_FEED_FEED_H
#define FH_FEED_FEED_H

#include <stdint.h>
#include <stdio.h>

#include "book/book.h"
#include "config/config.h"
#include "decoders/decoder.h"
#include "feed/arbiter.h"
#include "feed/packet.h"
#include "feed/recovery.h"
#include "book/util/hist.h"
#include "publish/publisher.h"

#define FEED_ROUTES_MAX (CFG_FEEDS_MAX * CFG_LINES_MAX)

_Static_assert(ARBITER_LINE_RECOVERY == CFG_LINES_MAX, "a feed's lines, then its recovery replies");

/*
 * Per line, and for the recovery replies (lines[ARBITER_LINE_RECOVERY]: those the RX
 * lcore took from the worker, or in a replay from the capture).
 */
struct feed_line_stats {
	uint64_t packets;			/* framed packets received (before arbitration) */
	uint64_t bytes;				/* UDP payload bytes of those */
	uint64_t bad_packet[PACKET_VERDICTS];	/* dropped: broken L3/L4, by verdict */
	uint64_t bad_frame;			/* dropped whole: protocol framing invalid */
	uint64_t wrong_source;			/* dropped: not from the configured source */
	uint64_t journal_dropped;		/* not journaled: the journal ring was full */
	uint64_t kernel_dropped;		/* a kernel port's socket overflowed (SO_RXQ_OVFL): lost */
};

/* The latency histograms every feed keeps (one recorder set, swapped together). */
enum feed_latency_kind {
	FEED_LATENCY_PACKET,		/* RX stamp → packet applied and published, per packet */
	FEED_LATENCY_MESSAGE,		/* RX stamp → message applied and published, per message */
	FEED_LATENCY_FEED_DELAY,	/* exchange timestamp → RX time, per packet (first message) */
	FEED_LATENCY_PROCESSING,	/* the feed started on the packet → published, per packet */
	FEED_LATENCY_KINDS,
};

_Static_assert(FEED_LATENCY_KINDS <= HIST_SET_MAX, "a feed's histograms fit one recorder");

/* Names for files and metrics, by enum feed_latency_kind. */
extern const char *const feed_latency_names[FEED_LATENCY_KINDS];

struct feed_latency {
	struct hist_recorder recorder;
	struct hist sets[2][FEED_LATENCY_KINDS];	/* the RX lcore writes one, main reads the other */
	uint64_t feed_delay_negative;	/* exchange time after RX time: clocks disagree, not recorded */
	uint64_t feed_delay_out_of_range;	/* delay above HIST_VALUE_MAX: clocks disagree, not recorded */
	uint64_t ns_per_tsc_q32;
	int64_t rx_epoch_offset_ns;	/* added to RX time to get ns since the epoch (live) */
	int64_t exchange_offset_ns;	/* the exchange's UTC offset */
};

/* The packet being applied, for timing each of its messages. */
struct feed_packet_timing {
	struct hist *message_ns;	/* the active RX → message histogram */
	uint64_t rx_tsc;		/* the packet's RX TSC */
	uint64_t exchange_ts_ns;	/* its first message's exchange time; UINT64_MAX: none yet */
};

struct feed {
	const struct cfg_feed *cfg;
	const struct decoder_ops *decoder;
	struct book *book;
	struct decoder_stats messages;
	struct decoder_listener listener;	/* this feed, publishing and timing what each message did */
	struct decoder_listener timer;		/* this feed, only timing each message (not publishing) */
	struct feed_packet_timing timing;
	struct arbiter arbiter;
	struct feed_line_stats lines[ARBITER_LINES];	/* A, B, recovery (ARBITER_LINE_RECOVERY) */
	void (*packet_free)(void *packet);
	/*
	 * Journals a recovery reply the RX lcore took from the worker (its payload, in
	 * the venue's framing, len <= RECOVERY_PAYLOAD_MAX, at the feed's clock
	 * now_ns), before it is parsed; NULL when not journaling. Never blocks: what
	 * it cannot journal it counts in lines[ARBITER_LINE_RECOVERY].journal_dropped.
	 */
	void (*reply_journal)(void *context, const uint8_t *payload, uint32_t len, uint64_t now_ns);
	void *reply_journal_context;
	struct publisher *pub;		/* NULL: not publishing */
	struct decoder_pipeline *pipeline;	/* its set's burst pipeline; NULL: none */
	struct feed_latency *latency;	/* NULL: not timing (unit tests, fuzzing) */
	struct feed_recovery *recovery;	/* NULL: neither recovery nor snapshot configured */
	uint8_t gap_reason;		/* why the gap being declared is (enum fh_book_reason; 0: find out) */
	bool capacity_exceeded;		/* the book refused something since it was last emptied: STALE */
	uint64_t capacity_seen;		/* the book's refusals (orders, levels, instruments full) seen so far */
	struct decoder_stats snapshot_stats;	/* messages of snapshots (not in `messages`) */
	struct publisher_states instrument_states;	/* each instrument's own book state (its books' instruments_max) */
	struct feed_recovery_rx recovery_rx;	/* book state and recovery counters (RX lcore) */
	struct feed_recovery_io recovery_io __attribute__((aligned(64)));	/* (recovery worker) */
} __attribute__((aligned(64)));

/*
 * Where a frame goes: a feed line, by destination (source checked if configured); or,
 * replaying, a feed's recovery replies, by source (line ARBITER_LINE_RECOVERY).
 */
struct feed_route {
	uint32_t dst_ip;
	uint16_t dst_port;
	uint8_t line;			/* CFG_LINE_A, CFG_LINE_B, or ARBITER_LINE_RECOVERY */
	uint8_t source_present;
	uint32_t source_ip;
	uint16_t source_port;		/* a recovery route: the server's port */
	uint32_t journal_interface;	/* the line's interface in journal files */
	struct feed *feed;
};

#define FEED_BURST_MAX 64	/* frames one burst scan covers */
/*
 * Live orders from which fhd sends a feed's messages through the burst pipeline
 * (feed_set.pipeline_orders_min; 0, as the fuzz target leaves it, is always). Below it
 * the book fits the caches, and the look-ahead cost more than it hid: on fh-pcap's
 * shallow capture (65k live orders) the full path ran 0.85-0.92x with it than with
 * the per-packet prefetch alone (issue 11). Above it bench-book gains 1.5-1.8x.
 */
#define FEED_PIPELINE_ORDERS_MIN 262144

/*
 * A session's first hole, with nothing of it applied yet, is a join (fhd started
 * mid-session) when it is longer than this many messages: it is not re-requested
 * (a snapshot is the way in), and the feed is STALE without one.
 */
#define FEED_JOIN_RECOVER_MAX 65536

/* What feed_set_burst_scan read from a frame, so feed_set_burst_packet need not again. */
struct feed_scan {
	struct packet_udp udp;
	struct feed_route *route;	/* NULL: addressed to no line */
	struct decoder_frame frame;	/* valid when framed */
	uint8_t verdict;		/* enum packet_verdict */
	bool wrong_source;		/* a UDP packet for the line from another source */
	bool framed;			/* from the line's source, its framing accepted by the decoder */
};

/* Everything one RX lcore owns: its feeds and the routes to their lines. */
struct feed_set {
	struct feed *feeds[CFG_FEEDS_MAX];
	uint32_t feeds_count;
	struct feed_route routes[FEED_ROUTES_MAX];
	uint32_t routes_count;
	uint64_t unrouted[PACKET_VERDICTS];	/* addressed to no line, by how far they parsed */
	uint64_t unrouted_journal_dropped;	/* of those, not journaled: the journal ring was full */
	uint32_t burst_count;			/* frames of the burst scanned */
	uint32_t pipeline_orders_min;		/* fhd: FEED_PIPELINE_ORDERS_MIN; 0 (tests): always */
	uint32_t recovery_feeds;		/* feeds with recovery configured */
	/*
	 * Replaying (fhd sets it): frames for no line from a feed's recovery.server are
	 * that feed's recovery replies, routed by recovery_routes (one per feed with
	 * recovery configured). Live they come through the worker's socket only.
	 */
	bool replay_recovery;
	struct feed_route recovery_routes[CFG_FEEDS_MAX];
	uint32_t recovery_routes_count;
	struct feed_scan scans[FEED_BURST_MAX];
	uint32_t burst_first[FEED_BURST_MAX];	/* each frame's first message in the pipeline */
	struct decoder_pipeline pipeline;
} __attribute__((aligned(64)));

/*
 * Creates a feed's runtime (books, reorder window) from its config; packet_free gives
 * a packet handle back to its owner. NULL with a message in err on failure.
 */
struct feed *feed_create(const struct cfg_feed *cfg, void (*packet_free)(void *packet),
			 char *err, size_t err_size);
void feed_destroy(struct feed *feed);

/*
 * Starts timing a feed: latency histograms, with the TSC frequency and the offset
 * from RX time to the epoch (0 when RX time is capture time). 0 or -ENOMEM.
 */
int feed_latency_start(struct feed *feed, uint64_t tsc_hz, int64_t rx_epoch_offset_ns);

/* The RX lcore's service point for its feeds' histogram swaps (once a loop pass). */
static inline void feed_set_service(struct feed_set *set)
{
	for (uint32_t i = 0; i < set->feeds_count; i++)
		if (set->feeds[i]->latency != NULL)
			hist_recorder_service(&set->feeds[i]->latency->recorder);
}

/* Adds a feed and its lines to a set. 0, or -ENOSPC. */
int feed_set_add(struct feed_set *set, struct feed *feed);

/*
 * The pipeline over a burst (decoders/decoder.h), in three calls: scan every frame of
 * the burst (parsing it once, finding the messages of the feeds whose books hold at
 * least pipeline_orders_min live orders), then hand each over with
 * feed_set_burst_packet in the same order, then end the burst. A frame not scanned
 * (the burst's index past FEED_BURST_MAX) goes through feed_set_packet_handle.
 * rx_tsc: the port's earliest stamp of the frame as TSC (the NIC's, or the TSC read
 * as the burst came off the queue), where rx_to_publish starts; the processing
 * histogram starts when the feed takes the frame here. UINT64_MAX: no stamp, both
 * start here (as in feed_set_packet_handle).
 */
void feed_set_burst_scan(struct feed_set *set, uint32_t index, const uint8_t *frame, uint32_t len);
const struct feed_route *feed_set_burst_packet(struct feed_set *set, uint32_t index, void *packet,
					       uint64_t now_ns, uint64_t rx_tsc,
					       void (*free_unrouted)(void *packet));
static inline void feed_set_burst_end(struct feed_set *set)
{
	set->burst_count = 0;
	set->pipeline.count = 0;
}

/*
 * Handles one received frame; takes ownership of `packet` (freed through the feed's
 * packet_free, now or when it leaves the reorder window, or by the caller's
 * free_unrouted when it is no feed's). now_ns: the clock the reorder window runs on.
 * Returns the route (feed line) the frame was addressed to, or NULL for none.
 */
const struct feed_route *feed_set_packet_handle(struct feed_set *set, const uint8_t *frame, uint32_t len,
			    void *packet, uint64_t now_ns, void (*free_unrouted)(void *packet));

/*
 * Sets the feed's book state (enum feed_book_state) for `reason` (enum fh_book_reason)
 * about sequence numbers first..first+count-1 (0, 0: none): recovery_rx.state, and,
 * when publishing, BOOK_STATE and the flags of every later event. Nothing if the
 * state is already that. RX lcore, between packets.
 */
void feed_book_state_set(struct feed *feed, uint8_t state, uint8_t reason, uint64_t first,
			 uint64_t count);

/*
 * Sets instrument `index`'s own book state (enum fh_book_state), beside the feed's,
 * for `reason` (enum fh_book_reason) about its sequence numbers first..first+count-1
 * (0, 0: none): for a venue whose losses name instruments (fh_event.h, "Per
 * instrument"). When publishing, BOOK_STATE naming it and the flags of every later
 * event about it. Nothing if its state is already that. index: an instrument the book
 * defines. RX lcore, inside a packet or between packets; bounded, allocates nothing.
 */
void feed_instrument_state_set(struct feed *feed, uint32_t index, uint8_t state, uint8_t reason,
			       uint64_t first, uint64_t count);

/* Runs every feed's reorder-window clock (call when the lcore is idle). */
void feed_set_expire(struct feed_set *set, uint64_t now_ns);

/*
 * Recovery on the RX lcore, once a loop pass: takes the worker's replies and give-ups
 * into the sequence path and tells the worker how far the feed has got.
 */
void feed_set_recovery_service(struct feed_set *set, uint64_t now_ns);

/*
 * Whether any feed of the set waits for the recovery worker: a hole with it, or a
 * snapshot. A feed recovering from the capture (feed_recovery.from_capture) does not:
 * the replay reads on to its replies.
 */
bool feed_set_recovering(const struct feed_set *set);

/*
 * The end of a replay: hands every feed's remaining hole to recovery now (the lines
 * will bring nothing more). True while some feed is recovering: keep servicing. A
 * feed recovering from the capture is skipped: nothing more will come for it, and
 * feed_set_flush declares what is left.
 */
bool feed_set_recover_rest(struct feed_set *set, uint64_t now_ns);

/* Declares every remaining hole and applies what is held (end of a replay). */
void feed_set_flush(struct feed_set *set, uint64_t now_ns);

/* Prints a feed's counters (per feed and per line) and its gap log. */
void feed_stats_print(FILE *out, const struct feed *feed);

struct fh_stats_feed;

/*
 * The feed's counters as the stats segment holds them (publish/libfh/stats_layout.h):
 * summed over its lines where they are per line, each loaded whole (each has one
 * writer). The name, rates and latencies are not touched.
 */
void feed_stats_fill(const struct feed *feed, struct fh_stats_feed *out);

/* Prints a set's counters for packets that reached no feed. */
void feed_set_stats_print(FILE *out, const struct feed_set *set);

/* The canonical book dump of several feeds. 0 or -errno. */
int feed_books_dump(FILE *out, struct feed *const *feeds, uint32_t count);

#define FEED_TOP_DEPTH_MAX 64

/* Prints the top `depth` (at most FEED_TOP_DEPTH_MAX) levels of up to `instruments` books of a feed. */
void feed_books_top_print(FILE *out, const struct feed *feed, uint32_t instruments, uint32_t depth);

#endif
