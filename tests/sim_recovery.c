/*
 * sim_recovery: a seeded, deterministic simulation of one ITCH 5.0 / MoldUDP64 feed's
 * whole recovery path, in the manner of TigerBeetle's VOPR. A seed runs on one thread
 * on a simulated clock. An exchange written here generates sessions of ITCH messages
 * (Stock Directory, Add Order with and without MPID, Executed, Cancel, Delete,
 * Replace) for a handful of instruments, several to a MoldUDP64 packet, with
 * heartbeats in its pauses and End of Session between sessions. Lines A and B carry
 * them as Ethernet/IPv4/UDP frames to the lines' groups, with loss on each line and
 * on both, reordering, duplicates and, rarely, a copy whose sequence number is far in
 * the future. The real feed takes them (feed_create from a cfg_feed filled here, a
 * feed_set, feed_set_packet_handle, _expire, _recovery_service, _recover_rest,
 * _flush), its publisher writing to a private ring. The recovery worker is replaced by
 * one written here after feed/recovery_worker.c (as issue 20 makes it: snapshot ids,
 * cancels, replies cut at the hole's end, data entries leaving the control reserve):
 * it reads the feed's wants and answers through its reply queue from a simulated
 * MoldUDP64 re-request server (honest, slow, reversed, ahead, silent, past the hole)
 * and a simulated GLIMPSE server (honest, lagging, lying, another session's,
 * disconnecting then honest, always failing). Sessions change at random points, the
 * feed may join late, and some seeds give the books less room than a session needs.
 *
 * After every step (a frame handed over, a service pass, an expiry) the invariants are
 * checked against a reference book model written here from the ITCH 5.0 specification
 * (per instrument, each side's price levels with their shares and orders), which
 * shares no code with book/:
 *   1. the ring's events are in order: ring sequence numbers consecutive, packet-end
 *      sequence numbers increasing between two BOOK_CLEARED events;
 *   2. whenever the feed says OK, its books are the reference books at the sequence
 *      before the arbiter's next expected one, in the session the lines carry; and at
 *      every END_OF_PACKET whose flags say OK, the books a consumer builds from the
 *      events alone (LEVEL_CHANGED, BOOK_RECOVERED, BOOK_CLEARED) are the reference
 *      books at that packet's last sequence;
 *   3. once the ring is read to its end, the state the events' flags last said is the
 *      feed's state, and the consumer's books are fhd's (unless a snapshot is being
 *      taken, which fhd builds out of the consumers' sight);
 *   4. after the last line packet, recovery ends within the bound the config sets;
 *   5. with a correct re-request server, a correct snapshot server (or none), books
 *      big enough and a hold that cannot fill, the feed ends OK with the whole last
 *      session's books.
 * The invariants say what the feed is meant to do (issue 20: a snapshot is confirmed
 * by the lines or refused, far-future packets no line confirms are refused), not only
 * what it did when they were written.
 *
 * Two limits of the model, so that what it checks has one right answer: End of
 * Session always reaches one line (a feed that missed it and the new session's first
 * packet on both lines cannot tell a new session from a stray packet), and a late
 * join comes before the first session's last packet. The config's re-sync backoff is
 * 0: feed_resync_want reads CLOCK_MONOTONIC, not the feed's clock, and any other
 * value would make a run depend on wall time.
 *
 * Usage: sim_recovery [--seed N] [--seeds COUNT | --seconds S] [-v]
 * Runs seeds N, N+1, ... (COUNT of them, or as many as S seconds of wall time allow;
 * one by default; N from the clock when not given), each in a process of its own when
 * there are several (an assertion of fhd's fails that seed only), printing each and a
 * summary. A failure names the seed, the step and what differed; `sim_recovery --seed
 * N` replays that seed exactly, in this process, and -v traces it. Exits 0 when every
 * seed passed, 1 otherwise.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "book/book.h"
#include "book/util/clock.h"
#include "book/util/wire.h"
#include "config/config.h"
#include "decoders/nasdaq/soupbin.h"
#include "feed/feed.h"
#include "feed/recovery.h"
#include "publish/libfh/fh_event.h"
#include "publish/publisher.h"
#include "tests/check.h"
#include "tests/pub_memory.h"

#define SIM_INSTRUMENTS_MAX 6
#define SIM_SESSIONS_MAX 3
#define SIM_SESSION_MESSAGES_MAX 3000
#define SIM_PACKET_MESSAGES_MAX 8
#define SIM_MESSAGE_MAX 40		/* the longest message generated (Stock Directory: 39) */
#define SIM_PAYLOAD_MAX 1400		/* a MoldUDP64 packet that fits an Ethernet MTU */
#define SIM_MOLD_HEADER 20		/* session 10, sequence 8, count 2 */
#define SIM_FRAME_HEADERS 42		/* Ethernet 14, IPv4 20, UDP 8 */
#define SIM_SPREAD_TICKS 20		/* prices within this many ticks of an instrument's mid */
#define SIM_TICK_PRICE 100		/* $0.01 in Price(4) */
#define SIM_LEVELS_MAX 64		/* levels per side the models hold: above 2 x the spread */
#define SIM_CONSUMER_INSTRUMENTS_MAX 32
#define SIM_US 1000ull
#define SIM_MS 1000000ull
#define SIM_STEP_NS (500 * SIM_US)	/* the RX loop's step when nothing happens sooner */
#define SIM_HEARTBEAT_NS (20 * SIM_MS)	/* the exchange's heartbeat while it has nothing to send */
#define SIM_TAIL_HEARTBEATS 5		/* after the last packet, before the lines go quiet */
#define SIM_VIEW_SLOTS 16		/* the conflated view's entries: the most instruments configured */
#define SIM_RING_CAPACITY (1u << 17)	/* events: above what a drained hold publishes at once */
#define SIM_FAR_SEQ_MIN (1ull << 40)	/* a far-future copy's sequence: no session reaches it */
#define SIM_LIE_AHEAD 1000000		/* a lying End of Snapshot: this far past the session */
/* The recovery worker's constants (feed/recovery_worker.c), mirrored. */
#define SIM_REQUESTS_MAX 64
#define SIM_DATAGRAMS_PER_PASS 64
#define SIM_SOUP_PER_PASS 4096
#define SIM_SNAPSHOT_RETRY_NS (500 * SIM_MS)
#define SIM_ITERATIONS_MAX 20000000ull	/* a loop that runs past this is a bug of the simulation */

_Static_assert(SIM_LEVELS_MAX > 2 * SIM_SPREAD_TICKS + 2, "a side of the models holds every price");
_Static_assert(SIM_MOLD_HEADER + SIM_PACKET_MESSAGES_MAX * (2 + SIM_MESSAGE_MAX) <= SIM_PAYLOAD_MAX,
	       "a line packet fits the MTU");

/* ---- the scenario: what the seed chose ---- */

enum sim_recovery_kind {
	SIM_RECOVERY_NONE,	/* no recovery section */
	SIM_RECOVERY_HONEST,
	SIM_RECOVERY_SLOW,	/* honest, after a delay near the request timeout */
	SIM_RECOVERY_REVERSED,	/* one message a packet, last first */
	SIM_RECOVERY_AHEAD,	/* answers (F, C) with F+1..F+C-1, never F */
	SIM_RECOVERY_SILENT,	/* never answers */
	SIM_RECOVERY_PAST,	/* answers with more than asked, past the hole */
	SIM_RECOVERY_KINDS
};

static const char *const sim_recovery_names[SIM_RECOVERY_KINDS] = {
	"none", "honest", "slow", "reversed", "ahead", "silent", "past",
};

enum sim_snapshot_kind {
	SIM_SNAPSHOT_NONE,	/* no snapshot section */
	SIM_SNAPSHOT_HONEST,	/* End = the exchange's next sequence, the books at it */
	SIM_SNAPSHOT_LAGGING,	/* a true snapshot of an earlier sequence */
	SIM_SNAPSHOT_LYING,	/* End far past anything the session reaches */
	SIM_SNAPSHOT_LYING_MAX,	/* End 2^64 - 2 */
	SIM_SNAPSHOT_OTHER,	/* another session's snapshot */
	SIM_SNAPSHOT_RESTART,	/* disconnects mid-way, then (within the retries) honest */
	SIM_SNAPSHOT_FAILED,	/* every login fails */
	SIM_SNAPSHOT_KINDS
};

static const char *const sim_snapshot_names[SIM_SNAPSHOT_KINDS] = {
	"none", "honest", "lagging", "lying", "lying-max", "other-session", "restart", "failed",
};

enum sim_capacity { SIM_CAPACITY_NONE, SIM_CAPACITY_INSTRUMENTS, SIM_CAPACITY_ORDERS, SIM_CAPACITY_LEVELS,
		    SIM_CAPACITIES };

static const char *const sim_capacity_names[SIM_CAPACITIES] = { "none", "instruments", "orders", "levels" };

static const char *const sim_state_names[FH_BOOK_STATES] = { "OK", "RECOVERING", "STALE" };

static const char *const sim_reason_names[FH_BOOK_REASONS] = {
	"none", "recovering", "recovered", "lost", "retries_exhausted", "server_silent", "hold_full",
	"late_join", "new_session", "snapshot", "snapshot_started", "snapshot_failed", "capacity",
	"snapshot_applied", "snapshot_unconfirmed",
};

struct sim_scenario {
	uint32_t sessions;
	uint32_t loss_ppm[CFG_LINES_MAX];
	uint32_t both_loss_ppm;		/* lost upstream of the lines: on both */
	uint32_t duplicate_ppm;
	uint32_t reorder_ppm;
	uint32_t far_ppm;		/* a copy's sequence replaced by a far-future one */
	uint64_t latency_ns[CFG_LINES_MAX];
	uint64_t jitter_ns;
	uint64_t reorder_ns;		/* a reordered copy is late by up to this */
	uint64_t join_ns;		/* the feed starts then (0: with the exchange) */
	uint64_t network_ns;		/* one way, worker <-> servers */
	uint64_t slow_ns;		/* SIM_RECOVERY_SLOW's extra delay */
	uint64_t glimpse_message_ns;	/* the GLIMPSE server's pace */
	uint32_t lag;			/* SIM_SNAPSHOT_LAGGING: End this far behind */
	uint32_t past;			/* SIM_RECOVERY_PAST: up to this many messages past the hole */
	uint32_t disconnects;		/* logins that fail before one succeeds (RESTART, FAILED) */
	uint8_t recovery;		/* enum sim_recovery_kind */
	uint8_t snapshot;		/* enum sim_snapshot_kind */
	uint8_t capacity;		/* enum sim_capacity */
	bool padded_names;		/* session names padded with spaces */
	bool clean;			/* invariant 5 applies */
};

/* ---- the exchange: sessions of ITCH messages in MoldUDP64 packets ---- */

struct sim_packet {
	uint64_t emit_ns;
	uint32_t first;			/* sequence number of its first message */
	uint16_t count;
};

struct sim_session {
	char name[10];
	uint32_t count;			/* messages: sequence numbers 1..count */
	uint8_t *bytes;
	uint32_t *offsets;		/* message seq at bytes + offsets[seq - 1]; count + 1 entries */
	struct sim_packet *packets;
	uint32_t packets_count;
	uint32_t instruments;
	uint16_t locates[SIM_INSTRUMENTS_MAX];
	uint32_t mids[SIM_INSTRUMENTS_MAX];
	uint64_t ref_base;		/* order references ref_base .. ref_base + refs - 1 */
	uint32_t refs;
	uint32_t peak_orders;		/* what its books need at most: live orders, */
	uint32_t peak_levels;		/* levels on one side */
};

enum sim_emit_kind { SIM_EMIT_DATA, SIM_EMIT_HEARTBEAT, SIM_EMIT_END };

/* Something the exchange sends on both lines. */
struct sim_emit {
	uint64_t ns;
	uint8_t kind;			/* enum sim_emit_kind */
	uint8_t session;
	uint32_t packet;		/* DATA: index in the session's packets */
	uint64_t seq;			/* HEARTBEAT, END: the next sequence number */
};

/* A copy of an emit as one line delivers it. */
struct sim_frame {
	uint64_t arrive_ns;
	uint32_t order;			/* creation order: ties keep it */
	uint8_t line;
	uint8_t kind;			/* enum sim_emit_kind */
	uint8_t session;
	uint32_t packet;
	uint64_t seq;			/* as sent (a far-future copy's is changed) */
};

/* ---- models: the reference books (from the spec) and the consumer's (from events) ---- */

struct sim_level {
	int64_t price;
	uint64_t shares;
	uint32_t orders;
};

struct sim_side {
	uint32_t count;
	struct sim_level levels[SIM_LEVELS_MAX];
};

struct sim_ref_order {
	uint32_t price;
	uint32_t shares;
	uint8_t instrument;
	uint8_t side;
	bool live;
};

/* A session's books after its messages 1..applied, by the ITCH 5.0 specification. */
struct sim_ref {
	const struct sim_session *session;	/* NULL: nothing applied */
	uint32_t applied;
	bool defined[SIM_INSTRUMENTS_MAX];	/* a Stock Directory named it */
	struct sim_side sides[SIM_INSTRUMENTS_MAX][BOOK_SIDES];
	struct sim_ref_order *orders;		/* by reference - ref_base: the session's refs */
	uint32_t orders_size;			/* allocated */
	bool broken;				/* the session asked for something the model cannot hold */
};

/* The books a consumer builds from the ring's events alone. */
struct sim_consumer {
	uint32_t count;
	uint32_t keys[SIM_CONSUMER_INSTRUMENTS_MAX];
	struct sim_side sides[SIM_CONSUMER_INSTRUMENTS_MAX][BOOK_SIDES];
	bool broken;
};

/* ---- the simulated recovery worker and its servers ---- */

struct sim_request {
	uint64_t first;
	uint32_t count;
	uint32_t tries;
	uint64_t deadline_ns;
	bool used;
};

/* A reply datagram on its way from the re-request server to the worker. */
struct sim_datagram {
	uint64_t at_ns;
	uint32_t order;
	uint32_t len;
	uint8_t *payload;
};

/* A SoupBinTCP packet of the GLIMPSE connection, arriving at at_ns. */
struct sim_soup {
	uint64_t at_ns;
	uint8_t type;			/* 'A' Login Accepted, 'S' data, 'J' rejected, 0: the server closed */
	uint16_t len;
	uint32_t offset;		/* its payload in the connection's bytes */
};

enum sim_snapshot_phase { SIM_SNAP_IDLE, SIM_SNAP_WAIT, SIM_SNAP_CONNECTED, SIM_SNAP_FAILING };

struct sim_worker {
	/* The MoldUDP64 re-request client (recovery_client). */
	bool active;
	bool answered;
	uint64_t want_first, want_end;
	uint64_t next;
	uint64_t quiet_deadline_ns;
	uint64_t quiet_applied;
	uint32_t quiet_rounds;
	bool give_up_pending;		/* a give-up counted, waiting for room in the reply queue */
	bool give_up_silent;
	uint64_t give_up_first, give_up_count;
	char session[10];
	struct sim_request requests[SIM_REQUESTS_MAX];
	struct recovery_reply reply;
	/* The GLIMPSE client (snapshot_client). */
	uint8_t phase;			/* enum sim_snapshot_phase */
	uint32_t snapshot_id;		/* the want's id its entries carry */
	uint32_t attempts;
	uint64_t retry_ns;
	uint64_t silence_deadline_ns;
	uint64_t end_deadline_ns;
	bool logged_in;
	char login_session[10];		/* Login Accepted's, as sent (left-padded) */
	struct recovery_reply batch;
	uint16_t batch_count;
	struct sim_soup *soup;		/* the connection: what the server sends */
	uint32_t soup_count, soup_next, soup_size;
	uint8_t *soup_bytes;
	uint32_t soup_bytes_len, soup_bytes_size;
};

/* ---- totals over every seed, for the summary ---- */

struct sim_totals {
	uint64_t seeds, failed, steps, frames, packet_ends_checked;
	uint64_t lost, duplicated, reordered, far_future, session_changes, late_joins, padded;
	uint64_t recovery[SIM_RECOVERY_KINDS], snapshot[SIM_SNAPSHOT_KINDS], capacity[SIM_CAPACITIES];
	uint64_t requests, datagrams, give_ups, logins, disconnects, snapshot_ends, snapshot_failed;
	uint64_t cancels, clean;
	uint64_t reached[FH_BOOK_STATES], final[FH_BOOK_STATES], reasons[FH_BOOK_REASONS];
};

struct sim {
	uint64_t seed;
	bool verbose;
	struct sim_scenario sc;
	struct cfg_feed cfg;
	struct feed *feed;
	uint64_t now_ns;
	uint64_t step;
	const char *doing;		/* what the step was, for a failure's message */
	bool failed;
	/* the exchange and its lines */
	struct sim_session sessions[SIM_SESSIONS_MAX];
	uint32_t sessions_count;
	struct sim_emit *emits;
	uint32_t emits_count, emits_size;
	struct sim_frame *frames;
	uint32_t frames_count, frames_size, frames_next;
	uint64_t frames_out;		/* handed to the feed, not yet given back */
	/* the worker and its servers */
	struct sim_worker worker;
	struct sim_datagram *datagrams;	/* sorted by (at_ns, order) */
	uint32_t datagrams_count, datagrams_size, datagrams_order;
	/* the models and what the checks remember */
	struct sim_ref check_ref, snapshot_ref, final_ref;
	struct sim_consumer consumer;
	uint64_t ring_read;		/* events of the ring read */
	uint64_t packet_end;		/* the last packet end's sequence since BOOK_CLEARED */
	uint8_t consumer_state;		/* the state the last event said */
	int ring_session;		/* the session the events read are of (sim_session_of_feed) */
	uint64_t packet_ends_checked;
	uint64_t fingerprint;		/* of what the book checks looked at last */
	bool reached[FH_BOOK_STATES];
};

static struct pub_ring ring;
static struct pub_conflated view;	/* the publisher keeps one; not checked here */
static struct publisher pub;
static struct feed_set set;
static struct sim sim;
static struct sim_totals *totals;	/* shared with every seed's process (sim_seed_fork) */

/* ---- small helpers ---- */

static uint64_t sim_below(uint64_t n)
{
	return n == 0 ? 0 : check_rng() % n;
}

/* lo..hi, both included. */
static uint64_t sim_range(uint64_t lo, uint64_t hi)
{
	assert(lo <= hi);
	return lo + sim_below(hi - lo + 1);
}

static bool sim_ppm(uint32_t ppm)
{
	return sim_below(1000000) < ppm;
}

static void sim_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void sim_put48(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 6; i++)
		p[i] = (uint8_t)(v >> (40 - 8 * i));
}

static void *sim_grow(void *array, uint32_t *size, uint32_t need, size_t entry)
{
	if (need <= *size)
		return array;
	*size = need > 2 * *size ? need : 2 * *size;
	array = realloc(array, (size_t)*size * entry);
	if (array == NULL)
		abort();
	return array;
}

static void sim_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void sim_trace(const char *fmt, ...)
{
	va_list ap;

	if (!sim.verbose)
		return;
	printf("  [%9.3f ms] ", sim.now_ns / 1e6);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static void sim_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The first failure of a seed: its seed, step and what differed. */
static void sim_fail(const char *fmt, ...)
{
	va_list ap;

	if (sim.failed)
		return;
	sim.failed = true;
	printf("seed %" PRIu64 ": FAIL at step %" PRIu64 " (t=%.3f ms, after %s): ", sim.seed, sim.step,
	       sim.now_ns / 1e6, sim.doing);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* ---- the exchange ---- */

static void sim_message_header(uint8_t *m, uint8_t type, uint16_t locate, uint64_t ts_ns)
{
	m[0] = type;
	wire_put_be16(m + 1, locate);
	wire_put_be16(m + 3, 0);
	sim_put48(m + 5, ts_ns);
}

static void sim_stock(uint8_t *field, uint16_t locate)
{
	char text[9];

	snprintf(text, sizeof(text), "S%04u   ", locate % 10000);
	memcpy(field, text, 8);
}

/* Stock Directory 'R' (39 bytes, ITCH 5.0 §4.2.1). */
static uint32_t sim_directory(uint8_t *m, uint16_t locate, uint64_t ts_ns)
{
	memset(m, ' ', 39);
	sim_message_header(m, 'R', locate, ts_ns);
	sim_stock(m + 11, locate);
	m[19] = 'Q';
	m[20] = 'N';
	sim_put32(m + 21, 100);
	m[25] = 'N';
	m[26] = 'C';
	m[29] = 'P';
	m[30] = 'N';
	m[31] = 'N';
	m[32] = '1';
	m[33] = 'N';
	sim_put32(m + 34, 0);
	m[38] = 'N';
	return 39;
}

/* Add Order 'A' (36 bytes, §4.3.1), or with MPID 'F' (40, §4.3.2). */
static uint32_t sim_add(uint8_t *m, bool mpid, uint16_t locate, uint64_t ts_ns, uint64_t ref, uint8_t side,
			uint32_t shares, uint32_t price)
{
	sim_message_header(m, mpid ? 'F' : 'A', locate, ts_ns);
	wire_put_be64(m + 11, ref);
	m[19] = side == BOOK_SIDE_BID ? 'B' : 'S';
	sim_put32(m + 20, shares);
	sim_stock(m + 24, locate);
	sim_put32(m + 32, price);
	if (!mpid)
		return 36;
	memcpy(m + 36, "SIMX", 4);
	return 40;
}

/* A live order of the exchange's own book, which the generator keeps to stay valid. */
struct sim_gen_order {
	uint64_t ref;
	uint32_t price;
	uint32_t shares;
	uint8_t instrument;
	uint8_t side;
	uint8_t ticks;
};

/* The exchange's levels, only to know how many levels its books need at most. */
struct sim_gen_levels {
	uint16_t orders[SIM_INSTRUMENTS_MAX][BOOK_SIDES][SIM_SPREAD_TICKS + 1];
	uint32_t count[SIM_INSTRUMENTS_MAX][BOOK_SIDES];
};

static void sim_gen_level(struct sim_gen_levels *g, struct sim_session *s, const struct sim_gen_order *o, int delta)
{
	uint16_t *n = &g->orders[o->instrument][o->side][o->ticks];

	if (delta > 0 && (*n)++ == 0 && ++g->count[o->instrument][o->side] > s->peak_levels)
		s->peak_levels = g->count[o->instrument][o->side];
	if (delta < 0 && --(*n) == 0)
		g->count[o->instrument][o->side]--;
}

static void sim_gen_price(const struct sim_session *s, struct sim_gen_order *o)
{
	o->ticks = (uint8_t)sim_range(1, SIM_SPREAD_TICKS);
	o->price = o->side == BOOK_SIDE_BID ? s->mids[o->instrument] - o->ticks * SIM_TICK_PRICE :
					      s->mids[o->instrument] + o->ticks * SIM_TICK_PRICE;
}

/*
 * One session's messages: the directory first, then order flow that only ever names
 * live orders (executions and cancels below what rests, replaces on the same side).
 */
static void sim_session_messages(struct sim_session *s)
{
	static struct sim_gen_order live[SIM_SESSION_MESSAGES_MAX];
	static struct sim_gen_levels levels;
	uint32_t live_count = 0, at = 0;
	uint64_t ts_ns = 34200ull * 1000000000ull, match = 1;

	memset(&levels, 0, sizeof(levels));
	s->bytes = malloc((size_t)s->count * SIM_MESSAGE_MAX);
	s->offsets = malloc(((size_t)s->count + 1) * sizeof(s->offsets[0]));
	if (s->bytes == NULL || s->offsets == NULL)
		abort();
	s->refs = 0;
	s->peak_orders = 0;
	s->peak_levels = 0;
	for (uint32_t seq = 1; seq <= s->count; seq++) {
		uint8_t *m = s->bytes + at;
		uint32_t pick = (uint32_t)sim_below(100), len;
		struct sim_gen_order *o;

		ts_ns += sim_range(100, 50000);
		s->offsets[seq - 1] = at;
		if (seq <= s->instruments) {
			at += sim_directory(m, s->locates[seq - 1], ts_ns);
			continue;
		}
		if (live_count == 0 || pick < 40) {
			o = &live[live_count++];
			o->ref = s->ref_base + s->refs++;
			o->instrument = (uint8_t)sim_below(s->instruments);
			o->side = (uint8_t)sim_below(2);
			o->shares = (uint32_t)sim_range(1, 10) * 100;
			sim_gen_price(s, o);
			sim_gen_level(&levels, s, o, 1);
			if (live_count > s->peak_orders)
				s->peak_orders = live_count;
			at += sim_add(m, sim_below(10) == 0, s->locates[o->instrument], ts_ns, o->ref, o->side,
				      o->shares, o->price);
			continue;
		}
		o = &live[sim_below(live_count)];
		if (pick < 55) {
			/* Order Executed 'E' (§4.4.1): part or all of what rests. */
			uint32_t shares = (uint32_t)sim_range(1, o->shares);

			sim_message_header(m, 'E', s->locates[o->instrument], ts_ns);
			wire_put_be64(m + 11, o->ref);
			sim_put32(m + 19, shares);
			wire_put_be64(m + 23, match++);
			len = 31;
			o->shares -= shares;
		} else if (pick < 65 && o->shares > 1) {
			/* Order Cancel 'X' (§4.5.1): part of what rests. */
			uint32_t shares = (uint32_t)sim_range(1, o->shares - 1);

			sim_message_header(m, 'X', s->locates[o->instrument], ts_ns);
			wire_put_be64(m + 11, o->ref);
			sim_put32(m + 19, shares);
			len = 23;
			o->shares -= shares;
		} else if (pick < 88) {
			/* Order Delete 'D' (§4.5.2). */
			sim_message_header(m, 'D', s->locates[o->instrument], ts_ns);
			wire_put_be64(m + 11, o->ref);
			len = 19;
			o->shares = 0;
		} else {
			/* Order Replace 'U' (§4.5.3): a new reference, price and size, the same side. */
			sim_message_header(m, 'U', s->locates[o->instrument], ts_ns);
			wire_put_be64(m + 11, o->ref);
			sim_gen_level(&levels, s, o, -1);
			o->ref = s->ref_base + s->refs++;
			o->shares = (uint32_t)sim_range(1, 10) * 100;
			sim_gen_price(s, o);
			sim_gen_level(&levels, s, o, 1);
			wire_put_be64(m + 19, o->ref);
			sim_put32(m + 27, o->shares);
			sim_put32(m + 31, o->price);
			len = 35;
		}
		at += len;
		if (o->shares == 0) {
			sim_gen_level(&levels, s, o, -1);
			*o = live[--live_count];
		}
	}
	s->offsets[s->count] = at;
}

/* The session's packets: 1..SIM_PACKET_MESSAGES_MAX messages each, emitted from start_ns. */
static uint64_t sim_session_packets(struct sim_session *s, uint64_t start_ns)
{
	uint64_t ns = start_ns;

	s->packets = malloc((size_t)s->count * sizeof(s->packets[0]));
	if (s->packets == NULL)
		abort();
	s->packets_count = 0;
	for (uint32_t seq = 1; seq <= s->count;) {
		struct sim_packet *p = &s->packets[s->packets_count++];
		uint32_t n = (uint32_t)sim_range(1, SIM_PACKET_MESSAGES_MAX);

		if (seq + n - 1 > s->count)
			n = s->count - seq + 1;
		p->first = seq;
		p->count = (uint16_t)n;
		p->emit_ns = ns;
		seq += n;
		/* Mostly a steady flow; now and then a pause the exchange fills with heartbeats. */
		ns += sim_below(150) == 0 ? sim_range(20, 300) * SIM_MS : sim_range(10, 150) * SIM_US;
	}
	return s->packets[s->packets_count - 1].emit_ns;
}

static void sim_emit_add(uint64_t ns, uint8_t kind, uint8_t session, uint32_t packet, uint64_t seq)
{
	sim.emits = sim_grow(sim.emits, &sim.emits_size, sim.emits_count + 1, sizeof(sim.emits[0]));
	sim.emits[sim.emits_count++] = (struct sim_emit){ .ns = ns, .kind = kind, .session = session,
							 .packet = packet, .seq = seq };
}

/*
 * The day: each session's packets, heartbeats in its pauses, End of Session and a
 * quiet time between sessions, heartbeats after the last packet.
 */
static void sim_exchange_make(void)
{
	uint64_t ns = 1 * SIM_MS;

	for (uint32_t k = 0; k < sim.sessions_count; k++) {
		struct sim_session *s = &sim.sessions[k];
		uint64_t last_ns;

		char name[32];
		size_t len;

		/* MoldUDP64: 10 alphanumeric characters, a shorter name padded on the right. */
		if (sim.sc.padded_names)
			len = (size_t)snprintf(name, sizeof(name), "S%u%03u", k, (unsigned)sim_below(1000));
		else
			len = (size_t)snprintf(name, sizeof(name), "SIM%u%06u", k, (unsigned)sim_below(1000000));
		assert(len <= sizeof(s->name));
		memset(s->name, ' ', sizeof(s->name));
		memcpy(s->name, name, len);
		s->count = (uint32_t)sim_range(300, SIM_SESSION_MESSAGES_MAX);
		s->instruments = (uint32_t)sim_range(2, SIM_INSTRUMENTS_MAX);
		for (uint32_t i = 0; i < s->instruments; i++) {
			bool taken;

			do {
				s->locates[i] = (uint16_t)sim_range(1, 9999);
				taken = false;
				for (uint32_t j = 0; j < i; j++)
					taken |= s->locates[j] == s->locates[i];
			} while (taken);
			s->mids[i] = (uint32_t)sim_range(1000, 5000) * SIM_TICK_PRICE;
		}
		s->ref_base = sim_range(1, 1ull << 40);
		sim_session_messages(s);
		last_ns = sim_session_packets(s, ns);
		for (uint32_t p = 0; p < s->packets_count; p++) {
			const struct sim_packet *packet = &s->packets[p];
			uint64_t hb_ns = packet->emit_ns + SIM_HEARTBEAT_NS;

			sim_emit_add(packet->emit_ns, SIM_EMIT_DATA, (uint8_t)k, p, packet->first);
			for (; p + 1 < s->packets_count && hb_ns < s->packets[p + 1].emit_ns; hb_ns += SIM_HEARTBEAT_NS)
				sim_emit_add(hb_ns, SIM_EMIT_HEARTBEAT, (uint8_t)k, 0, packet->first + packet->count);
		}
		if (k + 1 < sim.sessions_count) {
			for (uint32_t i = 1; i <= 3; i++)
				sim_emit_add(last_ns + i * SIM_MS, SIM_EMIT_END, (uint8_t)k, 0, s->count + 1);
			ns = last_ns + sim_range(5, 50) * SIM_MS;
		} else {
			for (uint32_t i = 1; i <= SIM_TAIL_HEARTBEATS; i++)
				sim_emit_add(last_ns + i * SIM_HEARTBEAT_NS, SIM_EMIT_HEARTBEAT, (uint8_t)k, 0,
					     s->count + 1);
		}
	}
}

/*
 * What the exchange has at `ns`: its current session (a session is current from its
 * first packet until the next one's; the first from the start of the day) and the
 * next sequence number it will send.
 */
static void sim_exchange_at(uint64_t ns, uint32_t *session, uint64_t *next)
{
	uint32_t k = 0, lo = 0, hi;
	const struct sim_session *s;

	while (k + 1 < sim.sessions_count && sim.sessions[k + 1].packets[0].emit_ns <= ns)
		k++;
	s = &sim.sessions[k];
	hi = s->packets_count;
	while (lo < hi) {	/* packets emitted by ns: [0, lo) */
		uint32_t mid = (lo + hi) / 2;

		if (s->packets[mid].emit_ns <= ns)
			lo = mid + 1;
		else
			hi = mid;
	}
	*session = k;
	*next = lo == 0 ? 1 : s->packets[lo - 1].first + s->packets[lo - 1].count;
}

/*
 * A MoldUDP64 packet of `session` from `first`: at most max_count messages, as many
 * as fit max_len bytes and the session has. Returns its length; *count what it holds.
 */
static uint32_t sim_mold_build(uint8_t *out, uint32_t max_len, const struct sim_session *s, uint64_t first,
			       uint32_t max_count, uint16_t *count)
{
	uint32_t len = SIM_MOLD_HEADER, n = 0;

	memcpy(out, s->name, 10);
	wire_put_be64(out + 10, first);
	while (n < max_count && first + n <= s->count) {
		uint32_t at = s->offsets[first + n - 1], size = s->offsets[first + n] - at;

		if (len + 2 + size > max_len)
			break;
		wire_put_be16(out + len, (uint16_t)size);
		memcpy(out + len + 2, s->bytes + at, size);
		len += 2 + size;
		n++;
	}
	wire_put_be16(out + 18, (uint16_t)n);
	*count = (uint16_t)n;
	return len;
}

/* ---- lines A and B ---- */

static void sim_frame_add(const struct sim_emit *e, uint8_t line, uint64_t arrive_ns, uint64_t seq)
{
	sim.frames = sim_grow(sim.frames, &sim.frames_size, sim.frames_count + 1, sizeof(sim.frames[0]));
	sim.frames[sim.frames_count] = (struct sim_frame){
		.arrive_ns = arrive_ns, .order = sim.frames_count, .line = line, .kind = e->kind,
		.session = e->session, .packet = e->packet, .seq = seq,
	};
	sim.frames_count++;
}

static int sim_frame_compare(const void *x, const void *y)
{
	const struct sim_frame *a = x, *b = y;

	if (a->arrive_ns != b->arrive_ns)
		return a->arrive_ns < b->arrive_ns ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

/*
 * What each line delivers, and when: per copy a latency with jitter, some copies late
 * enough to be reordered, some lost, some twice, and rarely one whose sequence number
 * is far in the future. End of Session always gets through on one line: a feed that
 * missed both it and the new session's first packet could not tell a new session from
 * a stray packet (arbiter_session_accept), which is not what is tested here.
 */
static void sim_lines_make(void)
{
	for (uint32_t i = 0; i < sim.emits_count; i++) {
		const struct sim_emit *e = &sim.emits[i];
		uint8_t safe = (uint8_t)sim_below(2);
		bool both_lost = e->kind != SIM_EMIT_END && sim_ppm(sim.sc.both_loss_ppm);

		for (uint8_t line = 0; line < CFG_LINES_MAX; line++) {
			uint32_t copies = 1;

			if (!(e->kind == SIM_EMIT_END && line == safe) && (both_lost || sim_ppm(sim.sc.loss_ppm[line]))) {
				totals->lost++;
				continue;
			}
			if (e->kind == SIM_EMIT_DATA && sim_ppm(sim.sc.duplicate_ppm)) {
				copies = 2;
				totals->duplicated++;
			}
			for (uint32_t c = 0; c < copies; c++) {
				uint64_t at = e->ns + sim.sc.latency_ns[line] + sim_below(sim.sc.jitter_ns + 1), seq = e->seq;

				if (c > 0)
					at += sim_range(1, 2000) * SIM_US;
				if (sim_ppm(sim.sc.reorder_ppm)) {
					at += sim_range(1, sim.sc.reorder_ns);
					totals->reordered++;
				}
				if (e->kind == SIM_EMIT_DATA && sim_ppm(sim.sc.far_ppm)) {
					seq = sim_range(SIM_FAR_SEQ_MIN, 1ull << 62);
					totals->far_future++;
				}
				sim_frame_add(e, line, at, seq);
			}
		}
	}
	qsort(sim.frames, sim.frames_count, sizeof(sim.frames[0]), sim_frame_compare);
}

/* The frame as the NIC would hand it over: Ethernet, IPv4, UDP to the line's group:port. */
static uint8_t *sim_frame_build(const struct sim_frame *f, uint32_t *len)
{
	const struct sim_session *s = &sim.sessions[f->session];
	const struct cfg_line *line = &sim.cfg.lines[f->line];
	uint8_t *frame = malloc(SIM_FRAME_HEADERS + SIM_PAYLOAD_MAX), *ip = frame + 14, *udp = ip + 20;
	uint8_t *payload = udp + 8;
	uint32_t payload_len;
	uint16_t count;

	if (frame == NULL)
		abort();
	if (f->kind == SIM_EMIT_DATA) {
		const struct sim_packet *p = &s->packets[f->packet];

		payload_len = sim_mold_build(payload, SIM_PAYLOAD_MAX, s, p->first, p->count, &count);
		assert(count == p->count);
		wire_put_be64(payload + 10, f->seq);
	} else {
		memcpy(payload, s->name, 10);
		wire_put_be64(payload + 10, f->seq);
		wire_put_be16(payload + 18, f->kind == SIM_EMIT_END ? 0xffff : 0);
		payload_len = SIM_MOLD_HEADER;
	}
	/* Ethernet: the group's multicast MAC (RFC 1112 §6.4), IPv4. */
	frame[0] = 0x01;
	frame[1] = 0x00;
	frame[2] = 0x5e;
	frame[3] = (uint8_t)((line->group_ip >> 16) & 0x7f);
	frame[4] = (uint8_t)(line->group_ip >> 8);
	frame[5] = (uint8_t)line->group_ip;
	memcpy(frame + 6, "\x02\x00\x00\x00\x00\x01", 6);
	wire_put_be16(frame + 12, 0x0800);
	/* IPv4 (RFC 791): no options, not fragmented, UDP. */
	memset(ip, 0, 20);
	ip[0] = 0x45;
	wire_put_be16(ip + 2, (uint16_t)(20 + 8 + payload_len));
	ip[8] = 64;
	ip[9] = 17;
	sim_put32(ip + 12, 0x0a000001);
	sim_put32(ip + 16, line->group_ip);
	/* UDP (RFC 768): no checksum. */
	wire_put_be16(udp, 40000);
	wire_put_be16(udp + 2, line->udp_port);
	wire_put_be16(udp + 4, (uint16_t)(8 + payload_len));
	wire_put_be16(udp + 6, 0);
	*len = SIM_FRAME_HEADERS + payload_len;
	return frame;
}

static void sim_frame_free(void *packet)
{
	assert(sim.frames_out > 0);
	sim.frames_out--;
	free(packet);
}

static void sim_unrouted_free(void *packet)
{
	sim_fail("a frame reached no line");
	sim_frame_free(packet);
}

/* ---- the models ---- */

/*
 * The level at `price`, or where it would go: a side keeps its levels in ascending
 * price order, so that reading them best first costs no sort.
 */
static uint32_t sim_side_seek(const struct sim_side *s, int64_t price)
{
	uint32_t lo = 0, hi = s->count;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (s->levels[mid].price < price)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The level at `price`, made (empty) if absent; NULL if the side is full. */
static struct sim_level *sim_side_level(struct sim_side *s, int64_t price)
{
	uint32_t i = sim_side_seek(s, price);

	if (i < s->count && s->levels[i].price == price)
		return &s->levels[i];
	if (s->count == SIM_LEVELS_MAX)
		return NULL;
	memmove(&s->levels[i + 1], &s->levels[i], (s->count - i) * sizeof(s->levels[0]));
	s->count++;
	s->levels[i] = (struct sim_level){ .price = price };
	return &s->levels[i];
}

static void sim_side_remove(struct sim_side *s, const struct sim_level *l)
{
	uint32_t i = (uint32_t)(l - s->levels);

	assert(i < s->count);
	memmove(&s->levels[i], &s->levels[i + 1], (s->count - i - 1) * sizeof(s->levels[0]));
	s->count--;
}

/* Adds shares and orders to a level (negative: takes them off); false if the side is full. */
static bool sim_side_change(struct sim_side *s, int64_t price, int64_t shares, int32_t orders)
{
	struct sim_level *l = sim_side_level(s, price);

	if (l == NULL)
		return false;
	assert((int64_t)l->shares + shares >= 0 && (int64_t)l->orders + orders >= 0);
	l->shares = (uint64_t)((int64_t)l->shares + shares);
	l->orders = (uint32_t)((int64_t)l->orders + orders);
	if (l->orders == 0)
		sim_side_remove(s, l);
	return true;
}

/* Sets a level as a LEVEL_CHANGED event says (orders 0: no level); false if the side is full. */
static bool sim_side_set(struct sim_side *s, int64_t price, uint64_t shares, uint32_t orders)
{
	struct sim_level *l = sim_side_level(s, price);

	if (l == NULL)
		return false;
	*l = (struct sim_level){ .price = price, .shares = shares, .orders = orders };
	if (orders == 0)
		sim_side_remove(s, l);
	return true;
}

/* A side's levels best first (bids highest, asks lowest), as book_side_levels gives them. */
static uint32_t sim_side_sorted(const struct sim_side *s, int side, struct sim_level *out)
{
	for (uint32_t i = 0; i < s->count; i++)
		out[i] = s->levels[side == BOOK_SIDE_BID ? s->count - 1 - i : i];
	return s->count;
}

static int sim_ref_instrument(const struct sim_ref *ref, uint16_t locate)
{
	for (uint32_t i = 0; i < ref->session->instruments; i++)
		if (ref->session->locates[i] == locate)
			return (int)i;
	return -1;
}

static struct sim_ref_order *sim_ref_order(struct sim_ref *ref, uint64_t number)
{
	if (number < ref->session->ref_base || number - ref->session->ref_base >= ref->session->refs)
		return NULL;
	return &ref->orders[number - ref->session->ref_base];
}

static void sim_ref_order_add(struct sim_ref *ref, uint64_t number, int instrument, uint8_t side, uint32_t shares,
			      uint32_t price)
{
	struct sim_ref_order *o = sim_ref_order(ref, number);

	if (o == NULL || o->live || instrument < 0) {
		ref->broken = true;
		return;
	}
	*o = (struct sim_ref_order){ .price = price, .shares = shares, .instrument = (uint8_t)instrument,
				     .side = side, .live = true };
	if (!sim_side_change(&ref->sides[instrument][side], price, shares, 1))
		ref->broken = true;
}

/* Takes shares off a live order; all of them (or more) take it out of the book. */
static void sim_ref_order_reduce(struct sim_ref *ref, uint64_t number, uint32_t shares)
{
	struct sim_ref_order *o = sim_ref_order(ref, number);

	if (o == NULL || !o->live) {
		ref->broken = true;
		return;
	}
	if (shares >= o->shares) {
		sim_side_change(&ref->sides[o->instrument][o->side], o->price, -(int64_t)o->shares, -1);
		o->live = false;
		return;
	}
	sim_side_change(&ref->sides[o->instrument][o->side], o->price, -(int64_t)shares, 0);
	o->shares -= shares;
}

/* One message, as ITCH 5.0 §4 says it changes an order-by-order book. */
static void sim_ref_apply(struct sim_ref *ref, const uint8_t *m)
{
	int instrument = sim_ref_instrument(ref, wire_be16(m + 1));
	struct sim_ref_order *o;

	switch (m[0]) {
	case 'R':
		if (instrument >= 0)
			ref->defined[instrument] = true;
		break;
	case 'A':
	case 'F':
		sim_ref_order_add(ref, wire_be64(m + 11), instrument, m[19] == 'B' ? BOOK_SIDE_BID : BOOK_SIDE_ASK,
				  wire_be32(m + 20), wire_be32(m + 32));
		break;
	case 'E':
	case 'X':
		sim_ref_order_reduce(ref, wire_be64(m + 11), wire_be32(m + 19));
		break;
	case 'D':
		sim_ref_order_reduce(ref, wire_be64(m + 11), UINT32_MAX);
		break;
	case 'U':
		/* The original order leaves; the new one enters on its side and instrument. */
		o = sim_ref_order(ref, wire_be64(m + 11));
		if (o == NULL || !o->live) {
			ref->broken = true;
			break;
		}
		instrument = o->instrument;
		sim_ref_order_reduce(ref, wire_be64(m + 11), UINT32_MAX);
		sim_ref_order_add(ref, wire_be64(m + 19), instrument, o->side, wire_be32(m + 27), wire_be32(m + 31));
		break;
	default:
		break;
	}
}

/* Moves the model to `session`'s books after messages 1..seq (from scratch if behind). */
static void sim_ref_seek(struct sim_ref *ref, const struct sim_session *session, uint32_t seq)
{
	assert(seq <= session->count);
	if (ref->session != session || ref->applied > seq) {
		ref->session = session;
		ref->applied = 0;
		ref->broken = false;
		memset(ref->defined, 0, sizeof(ref->defined));
		memset(ref->sides, 0, sizeof(ref->sides));
		ref->orders = sim_grow(ref->orders, &ref->orders_size, session->refs + 1, sizeof(ref->orders[0]));
		memset(ref->orders, 0, (size_t)session->refs * sizeof(ref->orders[0]));
	}
	for (; ref->applied < seq; ref->applied++)
		sim_ref_apply(ref, session->bytes + session->offsets[ref->applied]);
}

static void sim_ref_free(struct sim_ref *ref)
{
	free(ref->orders);
	memset(ref, 0, sizeof(*ref));
}

static int sim_consumer_instrument(struct sim_consumer *c, uint32_t key, bool create)
{
	for (uint32_t i = 0; i < c->count; i++)
		if (c->keys[i] == key)
			return (int)i;
	if (!create)
		return -1;
	if (c->count == SIM_CONSUMER_INSTRUMENTS_MAX) {
		c->broken = true;
		return -1;
	}
	c->keys[c->count] = key;
	memset(c->sides[c->count], 0, sizeof(c->sides[c->count]));
	return (int)c->count++;
}

/* ---- comparing books ---- */

/* Two sides, best first; false with what differed in why. */
static bool sim_levels_equal(const struct sim_level *want, uint32_t want_count, const struct book_level_info *got,
			     uint32_t got_count, char *why, size_t why_size)
{
	for (uint32_t i = 0; i < want_count || i < got_count; i++) {
		if (i < want_count && i < got_count && want[i].price == got[i].price &&
		    want[i].shares == got[i].shares && want[i].orders == got[i].orders)
			continue;
		if (i >= got_count)
			snprintf(why, why_size, "level %u: want %" PRId64 " x %" PRIu64 " (%u orders), fhd has none", i,
				 want[i].price, want[i].shares, want[i].orders);
		else if (i >= want_count)
			snprintf(why, why_size, "level %u: want none, fhd has %" PRId64 " x %" PRIu64 " (%u orders)", i,
				 got[i].price, got[i].shares, got[i].orders);
		else
			snprintf(why, why_size, "level %u: want %" PRId64 " x %" PRIu64 " (%u orders), fhd has %" PRId64
				 " x %" PRIu64 " (%u orders)", i, want[i].price, want[i].shares, want[i].orders,
				 got[i].price, got[i].shares, got[i].orders);
		return false;
	}
	return true;
}

/* fhd's levels of an instrument's side (none if it has no such instrument). */
static uint32_t sim_fhd_levels(const struct book *book, uint32_t key, int side, struct book_level_info *out)
{
	int32_t index = book_instrument_find(book, key);

	return index < 0 ? 0 : book_side_levels(book, index, (enum book_side)side, out, SIM_LEVELS_MAX + 1);
}

/*
 * fhd's books against a model's: `sides` gives, per key in `keys`, the model's sides;
 * every instrument fhd has that the model does not must have no level.
 */
static bool sim_books_equal(const struct book *book, const uint32_t *keys, uint32_t keys_count,
			    const struct sim_side (*sides)[BOOK_SIDES], char *why, size_t why_size)
{
	struct sim_level want[SIM_LEVELS_MAX];
	struct book_level_info got[SIM_LEVELS_MAX + 1];
	char detail[256];

	for (uint32_t i = 0; i < keys_count; i++)
		for (int side = 0; side < BOOK_SIDES; side++) {
			uint32_t n = sim_side_sorted(&sides[i][side], side, want);
			uint32_t m = sim_fhd_levels(book, keys[i], side, got);

			if (!sim_levels_equal(want, n, got, m, detail, sizeof(detail))) {
				snprintf(why, why_size, "instrument %u %s %s", keys[i], side == BOOK_SIDE_BID ? "bid" : "ask",
					 detail);
				return false;
			}
		}
	for (uint32_t n = 0; n < book->instruments_count; n++) {
		uint32_t key = book->instruments[n].key;
		bool known = false;

		for (uint32_t i = 0; i < keys_count; i++)
			known |= keys[i] == key;
		for (int side = 0; side < BOOK_SIDES && !known; side++)
			if (book_side_count(book, (int32_t)n, (enum book_side)side) > 0) {
				snprintf(why, why_size, "instrument %u: fhd has %s levels, want none", key,
					 side == BOOK_SIDE_BID ? "bid" : "ask");
				return false;
			}
	}
	return true;
}

static bool sim_books_equal_ref(const struct book *book, const struct sim_ref *ref, char *why, size_t why_size)
{
	uint32_t keys[SIM_INSTRUMENTS_MAX] = { 0 };

	if (ref->session == NULL)
		return sim_books_equal(book, keys, 0, NULL, why, why_size);
	for (uint32_t i = 0; i < ref->session->instruments; i++)
		keys[i] = ref->session->locates[i];
	return sim_books_equal(book, keys, ref->session->instruments, ref->sides, why, why_size);
}

/* The consumer's books against the reference's; false with what differed in why. */
static bool sim_consumer_equal_ref(const struct sim_consumer *c, const struct sim_ref *ref, char *why,
				   size_t why_size)
{
	struct sim_level want[SIM_LEVELS_MAX], got[SIM_LEVELS_MAX];

	for (uint32_t i = 0; i < c->count; i++)
		for (int side = 0; side < BOOK_SIDES; side++) {
			int r = -1;
			uint32_t n = 0, m = sim_side_sorted(&c->sides[i][side], side, got);

			for (uint32_t j = 0; j < ref->session->instruments; j++)
				if (ref->session->locates[j] == c->keys[i])
					r = (int)j;
			if (r >= 0)
				n = sim_side_sorted(&ref->sides[r][side], side, want);
			for (uint32_t l = 0; l < n || l < m; l++) {
				if (l < n && l < m && want[l].price == got[l].price && want[l].shares == got[l].shares &&
				    want[l].orders == got[l].orders)
					continue;
				snprintf(why, why_size, "instrument %u %s level %u: want %" PRId64 " x %" PRIu64
					 ", the consumer has %" PRId64 " x %" PRIu64, c->keys[i],
					 side == BOOK_SIDE_BID ? "bid" : "ask", l, l < n ? want[l].price : 0,
					 l < n ? want[l].shares : 0, l < m ? got[l].price : 0, l < m ? got[l].shares : 0);
				return false;
			}
		}
	for (uint32_t j = 0; j < ref->session->instruments; j++) {
		bool known = false;

		for (uint32_t i = 0; i < c->count; i++)
			known |= c->keys[i] == ref->session->locates[j];
		if (!known && (ref->sides[j][BOOK_SIDE_BID].count > 0 || ref->sides[j][BOOK_SIDE_ASK].count > 0)) {
			snprintf(why, why_size, "instrument %u: the consumer has no levels", ref->session->locates[j]);
			return false;
		}
	}
	return true;
}

/* ---- the simulated recovery worker (feed/recovery_worker.c, on the simulated clock) ---- */

static void sim_counter_add(uint64_t *counter, uint64_t n)
{
	__atomic_store_n(counter, *counter + n, __ATOMIC_RELAXED);
}

/* A reply datagram the worker will find at at_ns. */
static void sim_datagram_send(uint64_t at_ns, const uint8_t *payload, uint32_t len)
{
	struct sim_datagram d = { .at_ns = at_ns, .order = sim.datagrams_order++, .len = len };
	uint32_t i = sim.datagrams_count;

	d.payload = malloc(len);
	if (d.payload == NULL)
		abort();
	memcpy(d.payload, payload, len);
	sim.datagrams = sim_grow(sim.datagrams, &sim.datagrams_size, sim.datagrams_count + 1, sizeof(d));
	while (i > 0 && sim.datagrams[i - 1].at_ns > at_ns)
		i--;
	memmove(&sim.datagrams[i + 1], &sim.datagrams[i], (sim.datagrams_count - i) * sizeof(d));
	sim.datagrams[i] = d;
	sim.datagrams_count++;
	totals->datagrams++;
}

/*
 * The MoldUDP64 re-request server gets (session, first, count) at arrive_ns and answers
 * as its kind says, from what the exchange has then: nothing for another session or
 * for what it has not sent yet. An honest answer is one packet of at most an MTU,
 * from first; the client asks again for the rest.
 */
static void sim_server_request(const char *session, uint64_t first, uint32_t count, uint64_t arrive_ns)
{
	uint8_t payload[SIM_PAYLOAD_MAX];
	uint64_t next, reply_ns = arrive_ns + sim.sc.network_ns, end;
	const struct sim_session *s;
	uint32_t k, len;
	uint16_t n;

	sim_exchange_at(arrive_ns, &k, &next);
	s = &sim.sessions[k];
	if (memcmp(session, s->name, 10) != 0 || first == 0 || first >= next)
		return;
	end = first + count < next ? first + count : next;
	switch (sim.sc.recovery) {
	case SIM_RECOVERY_SLOW:
		reply_ns += sim.sc.slow_ns;
		/* fall through */
	case SIM_RECOVERY_HONEST:
		len = sim_mold_build(payload, SIM_PAYLOAD_MAX, s, first, (uint32_t)(end - first), &n);
		sim_datagram_send(reply_ns, payload, len);
		break;
	case SIM_RECOVERY_PAST:
		end = end + sim.sc.past < next ? end + sim.sc.past : next;
		len = sim_mold_build(payload, SIM_PAYLOAD_MAX, s, first, (uint32_t)(end - first), &n);
		sim_datagram_send(reply_ns, payload, len);
		break;
	case SIM_RECOVERY_REVERSED:
		for (uint64_t seq = end; seq > first; seq--) {
			len = sim_mold_build(payload, SIM_PAYLOAD_MAX, s, seq - 1, 1, &n);
			sim_datagram_send(reply_ns + (end - seq) * SIM_US, payload, len);
		}
		break;
	case SIM_RECOVERY_AHEAD:
		if (end - first >= 2) {
			len = sim_mold_build(payload, SIM_PAYLOAD_MAX, s, first + 1, (uint32_t)(end - first - 1), &n);
			sim_datagram_send(reply_ns, payload, len);
		}
		break;
	default:
		break;	/* silent */
	}
}

static uint64_t sim_timeout_ns(uint32_t tries)
{
	const struct cfg_recovery *cfg = &sim.cfg.recovery;
	uint64_t ms = cfg->timeout_ms;

	for (uint32_t i = 1; i < tries && ms < cfg->timeout_max_ms; i++)
		ms *= cfg->backoff;
	if (ms > cfg->timeout_max_ms)
		ms = cfg->timeout_max_ms;
	return ms * SIM_MS;
}

static void sim_request_send(struct sim_request *r)
{
	struct sim_worker *w = &sim.worker;

	assert(r->count > 0 && r->count <= UINT16_MAX - 1);
	r->tries++;
	r->deadline_ns = sim.now_ns + sim_timeout_ns(r->tries);
	sim_counter_add(&sim.feed->recovery_io.requests, 1);
	sim_counter_add(&sim.feed->recovery_io.requested_messages, r->count);
	totals->requests++;
	sim_trace("worker: request %" PRIu64 "+%u (try %u)", r->first, r->count, r->tries);
	sim_server_request(w->session, r->first, r->count, sim.now_ns + sim.sc.network_ns);
}

/* Hands the RX lcore the give-up it is owed, if any; a full queue keeps it for the next pass. */
static void sim_give_up_flush(void)
{
	struct sim_worker *w = &sim.worker;
	struct recovery_reply *reply = &w->reply;

	if (!w->give_up_pending)
		return;
	memset(reply, 0, offsetof(struct recovery_reply, payload));
	reply->kind = RECOVERY_REPLY_GIVE_UP;
	reply->silent = w->give_up_silent;
	reply->first = w->give_up_first;
	reply->count = w->give_up_count;
	/* A control entry: the entries data leaves free are its. */
	if (!recovery_queue_push(&sim.feed->recovery->replies, reply))
		return;
	w->give_up_pending = false;
	totals->give_ups++;
	sim_trace("worker: gives up %" PRIu64 "+%" PRIu64 "%s", reply->first, reply->count,
		  reply->silent ? " (silent)" : "");
}

/* Ends the hole's recovery; give_up: the RX lcore is told to declare it lost (once). */
static void sim_worker_end(bool give_up)
{
	struct sim_worker *w = &sim.worker;

	assert(w->active && !w->give_up_pending);
	w->active = false;
	memset(w->requests, 0, sizeof(w->requests));
	if (!give_up)
		return;
	sim_counter_add(&sim.feed->recovery_io.give_ups, 1);
	w->give_up_pending = true;
	w->give_up_silent = !w->answered;
	w->give_up_first = w->want_first;
	w->give_up_count = w->want_end - w->want_first;
	sim_give_up_flush();
}

static void sim_snapshot_close(void)
{
	struct sim_worker *w = &sim.worker;

	w->soup_count = 0;
	w->soup_next = 0;
	w->soup_bytes_len = 0;
	w->batch_count = 0;
	w->logged_in = false;
}

static void sim_snapshot_start(uint32_t id)
{
	struct sim_worker *w = &sim.worker;

	sim_snapshot_close();
	w->snapshot_id = id;
	w->phase = SIM_SNAP_WAIT;
	w->attempts = 0;
	w->retry_ns = 0;
}

/* The feed's wants: holes, snapshots to take, snapshots it no longer wants. */
static void sim_worker_wants(void)
{
	struct sim_worker *w = &sim.worker;
	struct recovery_want *want;

	for (uint32_t i = 0; i < RECOVERY_WANTS && (want = recovery_queue_peek(&sim.feed->recovery->wants)); i++) {
		if (want->kind == RECOVERY_WANT_SNAPSHOT) {
			sim_trace("worker: snapshot %u wanted", want->snapshot_id);
			if (sim.cfg.snapshot.enabled)
				sim_snapshot_start(want->snapshot_id);
		} else if (want->kind == RECOVERY_WANT_SNAPSHOT_CANCEL) {
			if (w->snapshot_id == want->snapshot_id && w->phase != SIM_SNAP_IDLE) {
				sim_trace("worker: snapshot %u cancelled", want->snapshot_id);
				sim_snapshot_close();
				w->phase = SIM_SNAP_IDLE;
				totals->cancels++;
			}
		} else {
			sim_trace("worker: hole %" PRIu64 "+%" PRIu64, want->first, want->count);
			w->give_up_pending = false;	/* the RX lcore has moved on from the old hole */
			w->active = want->count > 0 && sim.cfg.recovery.enabled;
			w->answered = false;
			w->want_first = want->first;
			w->want_end = want->first + want->count;
			w->next = want->first;
			w->quiet_deadline_ns = 0;
			w->quiet_applied = want->first;
			w->quiet_rounds = 0;
			memset(w->session, ' ', sizeof(w->session));
			memcpy(w->session, want->session, want->session_len < 10 ? want->session_len : 10);
			memset(w->requests, 0, sizeof(w->requests));
		}
		recovery_queue_pop(&sim.feed->recovery->wants);
	}
}

static struct sim_request *sim_request_find(uint64_t seq)
{
	struct sim_worker *w = &sim.worker;

	for (uint32_t i = 0; i < sim.cfg.recovery.in_flight; i++) {
		struct sim_request *r = &w->requests[i];

		if (r->used && seq >= r->first && seq < r->first + r->count)
			return r;
	}
	return NULL;
}

/* One datagram from the server: checked, handed to the RX lcore, its request advanced. */
static void sim_worker_datagram(const uint8_t *data, uint32_t len)
{
	struct sim_worker *w = &sim.worker;
	struct decoder_frame frame;
	struct sim_request *r;
	uint64_t end;

	sim_counter_add(&sim.feed->recovery_io.replies, 1);
	if (!w->active || len < SIM_MOLD_HEADER || len > RECOVERY_PAYLOAD_MAX || memcmp(data, w->session, 10) != 0 ||
	    sim.feed->decoder->frame_parse(data, len, &frame) != 0 || frame.kind != DECODER_FRAME_DATA ||
	    (r = sim_request_find(frame.seq)) == NULL) {
		sim_counter_add(&sim.feed->recovery_io.replies_bad, 1);
		return;
	}
	memset(&w->reply, 0, offsetof(struct recovery_reply, payload));
	w->reply.kind = RECOVERY_REPLY_DATA;
	w->reply.len = len;
	memcpy(w->reply.payload, data, len);
	/* Cut at the hole's end: the feed gets nothing past what it asked for. */
	if (frame.seq + frame.count > w->want_end) {
		uint32_t at = SIM_MOLD_HEADER;

		assert(frame.seq < w->want_end);
		frame.count = (uint32_t)(w->want_end - frame.seq);
		for (uint32_t i = 0; i < frame.count; i++)
			at += 2u + wire_be16(w->reply.payload + at);
		wire_put_be16(w->reply.payload + 18, (uint16_t)frame.count);
		w->reply.len = at;
	}
	/* Data never takes the entries a give-up or a snapshot's control entry may need. */
	if (!recovery_queue_push_reserve(&sim.feed->recovery->replies, &w->reply, RECOVERY_REPLIES_CONTROL)) {
		sim_counter_add(&sim.feed->recovery_io.handoff_full, 1);
		return;
	}
	w->answered = true;
	end = frame.seq + frame.count;
	if (frame.seq == r->first && end < r->first + r->count) {
		r->count -= (uint32_t)(end - r->first);
		r->first = end;
		r->tries = 0;
		sim_request_send(r);
	} else if (frame.seq == r->first) {
		r->used = false;
	}
}

/* Retires what the feed applied, re-sends what timed out, fills the window of requests. */
static void sim_worker_run(void)
{
	struct sim_worker *w = &sim.worker;
	const struct cfg_recovery *cfg = &sim.cfg.recovery;
	uint64_t applied = __atomic_load_n(&sim.feed->recovery->applied, __ATOMIC_ACQUIRE);
	uint32_t in_flight = 0;

	sim_give_up_flush();
	if (!w->active)
		return;
	if (applied >= w->want_end || !__atomic_load_n(&sim.feed->recovery->recovering, __ATOMIC_ACQUIRE)) {
		sim_worker_end(false);
		return;
	}
	for (uint32_t i = 0; i < cfg->in_flight; i++) {
		struct sim_request *r = &w->requests[i];

		if (r->used && r->first + r->count <= applied)
			r->used = false;
		if (!r->used)
			continue;
		if (sim.now_ns >= r->deadline_ns) {
			sim_counter_add(&sim.feed->recovery_io.timeouts, 1);
			if (r->tries > cfg->retries) {
				sim_worker_end(true);
				return;
			}
			sim_request_send(r);
		}
		in_flight++;
	}
	if (w->next < applied)
		w->next = applied;
	for (uint32_t i = 0; i < cfg->in_flight && w->next < w->want_end; i++) {
		struct sim_request *r = &w->requests[i];
		uint64_t left = w->want_end - w->next;

		if (r->used)
			continue;
		*r = (struct sim_request){ .first = w->next, .used = true };
		r->count = left < cfg->request_messages ? (uint32_t)left : cfg->request_messages;
		w->next += r->count;
		sim_request_send(r);
		in_flight++;
	}
	if (in_flight > 0) {
		w->quiet_deadline_ns = 0;
		return;
	}
	/* All asked and answered, the hole still open: ask again after a timeout, boundedly. */
	if (w->quiet_deadline_ns == 0) {
		w->quiet_deadline_ns = sim.now_ns + sim_timeout_ns(1);
	} else if (sim.now_ns >= w->quiet_deadline_ns) {
		w->quiet_rounds = applied > w->quiet_applied ? 0 : w->quiet_rounds + 1;
		w->quiet_applied = applied;
		if (w->quiet_rounds > cfg->retries) {
			sim_worker_end(true);
			return;
		}
		w->next = applied;
		w->quiet_deadline_ns = 0;
	}
}

/* ---- the GLIMPSE client and server ---- */

static void sim_soup_add(uint64_t at_ns, uint8_t type, const void *payload, uint16_t len)
{
	struct sim_worker *w = &sim.worker;

	w->soup = sim_grow(w->soup, &w->soup_size, w->soup_count + 1, sizeof(w->soup[0]));
	w->soup_bytes = sim_grow(w->soup_bytes, &w->soup_bytes_size, w->soup_bytes_len + len + 1, 1);
	w->soup[w->soup_count++] = (struct sim_soup){ .at_ns = at_ns, .type = type, .len = len,
						      .offset = w->soup_bytes_len };
	if (len > 0)
		memcpy(w->soup_bytes + w->soup_bytes_len, payload, len);
	w->soup_bytes_len += len;
}

/*
 * The books of `ref` as GLIMPSE sends them: a Stock Directory per instrument named so
 * far, then an Add Order per live order (with what rests of it), prices moved by
 * `shift` (a fabricated snapshot). Returns the messages queued from at_ns, paced.
 */
static uint64_t sim_glimpse_books(const struct sim_ref *ref, int64_t shift, uint64_t at_ns, uint32_t stop_after,
				  uint32_t *sent)
{
	const struct sim_session *s = ref->session;
	uint8_t m[SIM_MESSAGE_MAX];

	for (uint32_t i = 0; i < s->instruments && *sent < stop_after; i++)
		if (ref->defined[i]) {
			sim_soup_add(at_ns += sim.sc.glimpse_message_ns, 'S', m, (uint16_t)sim_directory(m, s->locates[i], 0));
			(*sent)++;
		}
	for (uint32_t n = 0; n < s->refs && *sent < stop_after; n++) {
		const struct sim_ref_order *o = &ref->orders[n];

		if (!o->live)
			continue;
		sim_soup_add(at_ns += sim.sc.glimpse_message_ns, 'S', m,
			     (uint16_t)sim_add(m, false, s->locates[o->instrument], 0, s->ref_base + n, o->side, o->shares,
					       (uint32_t)(o->price + shift)));
		(*sent)++;
	}
	return at_ns;
}

/* How many messages sim_glimpse_books sends for ref's books. */
static uint32_t sim_glimpse_count(const struct sim_ref *ref)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < ref->session->instruments; i++)
		n += ref->defined[i];
	for (uint32_t i = 0; i < ref->session->refs; i++)
		n += ref->orders[i].live;
	return n;
}

/*
 * A login reaches the GLIMPSE server at arrive_ns: the connection's packets, as the
 * server's kind says. Honest: Login Accepted with the current session, the books at
 * the exchange's current sequence, End of Snapshot naming the next. A disconnecting
 * server closes after part of it (while attempts remain to fail, for RESTART).
 */
static void sim_glimpse_login(uint64_t arrive_ns)
{
	struct sim_worker *w = &sim.worker;
	uint64_t next, end_seq, at_ns = arrive_ns + sim.sc.network_ns;
	const struct sim_session *s;
	uint32_t k, sent = 0, stop_after = UINT32_MAX;
	int64_t shift = 0;
	char login[31], end[22];

	sim_exchange_at(arrive_ns, &k, &next);
	s = &sim.sessions[k];
	end_seq = next;
	sim_ref_seek(&sim.snapshot_ref, s, (uint32_t)(next - 1));
	switch (sim.sc.snapshot) {
	case SIM_SNAPSHOT_LAGGING:
		end_seq = next > sim.sc.lag ? next - sim.sc.lag : 1;
		sim_ref_seek(&sim.snapshot_ref, s, (uint32_t)(end_seq - 1));
		break;
	case SIM_SNAPSHOT_LYING:
		end_seq = next + SIM_LIE_AHEAD + sim_below(SIM_LIE_AHEAD);
		break;
	case SIM_SNAPSHOT_LYING_MAX:
		end_seq = UINT64_MAX - 1;
		break;
	case SIM_SNAPSHOT_OTHER:
		if (k > 0) {
			/* Yesterday's: the server has not moved on to the lines' session. */
			s = &sim.sessions[k - 1];
			sim_ref_seek(&sim.snapshot_ref, s, s->count);
			end_seq = s->count + 1;
		} else {
			/* A session the lines never carry, its books not this one's. */
			shift = SIM_TICK_PRICE;
		}
		break;
	case SIM_SNAPSHOT_RESTART:
	case SIM_SNAPSHOT_FAILED:
		if (w->attempts <= sim.sc.disconnects) {
			stop_after = (uint32_t)sim_below(sim_glimpse_count(&sim.snapshot_ref) + 1);
			totals->disconnects++;
		}
		break;
	default:
		break;
	}
	/* Login Accepted: Session (10, left-padded), Sequence Number (20, left-padded). */
	if (sim.sc.snapshot == SIM_SNAPSHOT_OTHER && k == 0 && shift != 0)
		snprintf(login, sizeof(login), "%10s", "OTHER0001");
	else {
		char trimmed[11];
		size_t n = 10;

		memcpy(trimmed, s->name, 10);
		while (n > 0 && trimmed[n - 1] == ' ')
			n--;
		trimmed[n] = '\0';
		snprintf(login, sizeof(login), "%10s", trimmed);
	}
	snprintf(login + 10, sizeof(login) - 10, "%20" PRIu64, (uint64_t)1);
	if (stop_after == 0 && sim_below(2) == 0) {
		sim_soup_add(at_ns, 'J', "S", 1);	/* Login Rejected: session not available */
		return;
	}
	sim_soup_add(at_ns, 'A', login, 30);
	at_ns = sim_glimpse_books(&sim.snapshot_ref, shift, at_ns, stop_after, &sent);
	if (sent >= stop_after) {
		sim_soup_add(at_ns + sim.sc.glimpse_message_ns, 0, NULL, 0);	/* the server closes */
		return;
	}
	snprintf(end, sizeof(end), "G%20" PRIu64, end_seq);
	sim_soup_add(at_ns + sim.sc.glimpse_message_ns, 'S', end, 21);
	sim_trace("glimpse: login answered: session '%.10s', End of Snapshot %" PRIu64 " (lines' session %u at %" PRIu64
		  ")", login, end_seq, k, next);
}

static void sim_snapshot_heard(void)
{
	sim.worker.silence_deadline_ns = sim.now_ns + (uint64_t)sim.cfg.snapshot.timeout_ms * SIM_MS;
}

static void sim_snapshot_fail(void)
{
	struct sim_worker *w = &sim.worker;

	sim_snapshot_close();
	sim_counter_add(&sim.feed->recovery_io.snapshot_failures, 1);
	sim_trace("worker: snapshot login %u failed", w->attempts);
	if (w->attempts <= sim.cfg.snapshot.retries) {
		w->phase = SIM_SNAP_WAIT;
		w->retry_ns = sim.now_ns + SIM_SNAPSHOT_RETRY_NS * w->attempts;
	} else {
		w->phase = SIM_SNAP_FAILING;
	}
}

/* A control entry of the snapshot being taken; false if the queue is full. */
static bool sim_snapshot_tell(uint32_t kind, uint64_t first)
{
	struct sim_worker *w = &sim.worker;
	struct recovery_reply *r = &w->reply;

	memset(r, 0, offsetof(struct recovery_reply, payload));
	r->kind = kind;
	r->first = first;
	r->snapshot_id = w->snapshot_id;
	if (kind == RECOVERY_SNAPSHOT_END) {
		/* The Login Accepted's session, spaces trimmed. */
		uint32_t a = 0, b = 10;

		while (a < b && w->login_session[a] == ' ')
			a++;
		while (b > a && w->login_session[b - 1] == ' ')
			b--;
		r->session_len = (uint8_t)(b - a);
		memcpy(r->session, w->login_session + a, b - a);
	}
	return recovery_queue_push(&sim.feed->recovery->replies, r);
}

static void sim_snapshot_connect(void)
{
	struct sim_worker *w = &sim.worker;

	w->attempts++;
	sim_counter_add(&sim.feed->recovery_io.snapshot_attempts, 1);
	/* A new login sends the snapshot from its start: what the last one gave goes. */
	if (w->attempts > 1 && !sim_snapshot_tell(RECOVERY_SNAPSHOT_RESTART, 0)) {
		w->attempts--;
		return;
	}
	totals->logins++;
	sim_trace("worker: snapshot %u login %u", w->snapshot_id, w->attempts);
	sim_snapshot_close();
	sim_glimpse_login(sim.now_ns + 2 * sim.sc.network_ns);
	w->phase = SIM_SNAP_CONNECTED;
	sim_snapshot_heard();
	w->end_deadline_ns = sim.now_ns + (uint64_t)sim.cfg.snapshot.max_ms * SIM_MS;
}

/* Hands the batch of snapshot messages over (as data: within the reserve); false if full. */
static bool sim_snapshot_flush(void)
{
	struct sim_worker *w = &sim.worker;

	if (w->batch_count == 0)
		return true;
	w->batch.kind = RECOVERY_SNAPSHOT_DATA;
	w->batch.snapshot_id = w->snapshot_id;
	memset(w->batch.payload, ' ', 10);
	wire_put_be64(w->batch.payload + 10, 1);
	wire_put_be16(w->batch.payload + 18, w->batch_count);
	if (!recovery_queue_push_reserve(&sim.feed->recovery->replies, &w->batch, RECOVERY_REPLIES_CONTROL))
		return false;
	w->batch_count = 0;
	return true;
}

/* One Sequenced Data packet: into the batch, or End of Snapshot. 1 taken, 0 not now, -1 bad. */
static int sim_snapshot_message(const uint8_t *msg, uint16_t len)
{
	struct sim_worker *w = &sim.worker;
	uint64_t next_seq;

	if (len == 0)
		return -1;
	if (msg[0] == 'G') {
		if (len < 21 || soupbin_number_parse(msg + 1, 20, &next_seq) != 0 || next_seq == 0)
			return -1;
		if (!sim_snapshot_flush() || !sim_snapshot_tell(RECOVERY_SNAPSHOT_END, next_seq))
			return 0;
		totals->snapshot_ends++;
		sim_trace("worker: snapshot %u ends at %" PRIu64, w->snapshot_id, next_seq);
		sim_snapshot_close();
		w->phase = SIM_SNAP_IDLE;
		return 1;
	}
	if (w->batch_count == 0)
		w->batch.len = SIM_MOLD_HEADER;
	if (w->batch.len + 2u + len > RECOVERY_PAYLOAD_MAX) {
		if (!sim_snapshot_flush())
			return 0;
		w->batch.len = SIM_MOLD_HEADER;
	}
	wire_put_be16(w->batch.payload + w->batch.len, len);
	memcpy(w->batch.payload + w->batch.len + 2, msg, len);
	w->batch.len += 2u + len;
	w->batch_count++;
	return 1;
}

/* What the server sent by now: at most SIM_SOUP_PER_PASS packets. */
static void sim_snapshot_receive(void)
{
	struct sim_worker *w = &sim.worker;

	for (uint32_t handled = 0; handled < SIM_SOUP_PER_PASS && w->phase == SIM_SNAP_CONNECTED; handled++) {
		const struct sim_soup *p;
		int rc;

		if (w->soup_next == w->soup_count || w->soup[w->soup_next].at_ns > sim.now_ns)
			return;
		p = &w->soup[w->soup_next];
		if (p->type == 0 || p->type == 'J' || (p->type == 'S' && !w->logged_in)) {
			sim_snapshot_fail();	/* closed, rejected */
			return;
		}
		sim_snapshot_heard();
		if (p->type == 'A') {
			w->logged_in = true;
			memcpy(w->login_session, w->soup_bytes + p->offset, 10);
		} else {
			rc = sim_snapshot_message(w->soup_bytes + p->offset, p->len);
			if (rc < 0) {
				sim_snapshot_fail();
				return;
			}
			if (rc == 0)
				return;	/* the RX lcore is behind: keep the packet */
			if (w->phase != SIM_SNAP_CONNECTED)
				return;	/* End of Snapshot */
		}
		w->soup_next++;
	}
}

static void sim_snapshot_run(void)
{
	struct sim_worker *w = &sim.worker;

	switch (w->phase) {
	case SIM_SNAP_WAIT:
		if (sim.now_ns >= w->retry_ns)
			sim_snapshot_connect();
		return;
	case SIM_SNAP_FAILING:
		if (sim_snapshot_tell(RECOVERY_SNAPSHOT_FAILED, 0)) {
			totals->snapshot_failed++;
			sim_trace("worker: snapshot %u failed whole", w->snapshot_id);
			w->phase = SIM_SNAP_IDLE;
		}
		return;
	case SIM_SNAP_CONNECTED:
		sim_snapshot_receive();
		if (w->phase == SIM_SNAP_CONNECTED &&
		    (sim.now_ns >= w->silence_deadline_ns || sim.now_ns >= w->end_deadline_ns))
			sim_snapshot_fail();
		return;
	default:
		return;
	}
}

/* One pass of the worker, as recovery_worker_main makes it for a feed. */
static void sim_worker_step(void)
{
	if (sim.feed->recovery == NULL)
		return;	/* neither recovery nor snapshot configured: no worker */
	sim_worker_wants();
	if (sim.cfg.recovery.enabled) {
		uint32_t n = 0;

		while (n < SIM_DATAGRAMS_PER_PASS && sim.datagrams_count > n && sim.datagrams[n].at_ns <= sim.now_ns) {
			sim_worker_datagram(sim.datagrams[n].payload, sim.datagrams[n].len);
			free(sim.datagrams[n].payload);
			n++;
		}
		if (n > 0) {
			sim.datagrams_count -= n;
			memmove(sim.datagrams, sim.datagrams + n, sim.datagrams_count * sizeof(sim.datagrams[0]));
		}
		sim_worker_run();
	}
	sim_snapshot_run();
}

/* When the worker or its servers next have something to do (UINT64_MAX: nothing). */
static uint64_t sim_worker_next_ns(void)
{
	const struct sim_worker *w = &sim.worker;
	uint64_t next = UINT64_MAX;

#define SIM_SOONER(t) do { if ((t) < next) next = (t); } while (0)
	if (sim.datagrams_count > 0)
		SIM_SOONER(sim.datagrams[0].at_ns);
	if (w->active) {
		for (uint32_t i = 0; i < sim.cfg.recovery.in_flight; i++)
			if (w->requests[i].used)
				SIM_SOONER(w->requests[i].deadline_ns);
		if (w->quiet_deadline_ns != 0)
			SIM_SOONER(w->quiet_deadline_ns);
	}
	if (w->phase == SIM_SNAP_WAIT)
		SIM_SOONER(w->retry_ns);
	if (w->phase == SIM_SNAP_CONNECTED) {
		if (w->soup_next < w->soup_count)
			SIM_SOONER(w->soup[w->soup_next].at_ns);
		SIM_SOONER(w->silence_deadline_ns);
		SIM_SOONER(w->end_deadline_ns);
	}
#undef SIM_SOONER
	return next;
}

/* ---- the invariants ---- */

static int sim_session_of_feed(void)
{
	const struct arbiter *a = &sim.feed->arbiter;

	if (!a->session_known)
		return -1;
	for (uint32_t k = 0; k < sim.sessions_count; k++)
		if (a->session_len == 10 && memcmp(a->session, sim.sessions[k].name, 10) == 0)
			return (int)k;
	return -2;
}

/*
 * An END_OF_PACKET that says OK: the consumer's books (the events alone) are the
 * reference's at the packet's last sequence, in the session the events are of.
 */
static void sim_packet_end_check(uint64_t last_seq)
{
	const struct sim_session *s;
	char why[512];

	if (sim.consumer.broken)
		return;	/* said once the ring is read */
	if (sim.ring_session < 0) {
		sim_fail("invariant 2: an OK packet end (%" PRIu64 ") of no session the exchange ran", last_seq);
		return;
	}
	s = &sim.sessions[sim.ring_session];
	if (last_seq > s->count) {
		sim_fail("invariant 2: an OK packet end at %" PRIu64 ", past session %d's %u messages", last_seq,
			 sim.ring_session, s->count);
		return;
	}
	sim.packet_ends_checked++;
	sim_ref_seek(&sim.check_ref, s, (uint32_t)last_seq);
	if (!sim_consumer_equal_ref(&sim.consumer, &sim.check_ref, why, sizeof(why)))
		sim_fail("invariant 2: at an OK packet end (%" PRIu64 ", session %d) the consumer's books are not the "
			 "session's: %s", last_seq, sim.ring_session, why);
}

/* Invariant 1 and the consumer: reads the ring to its end. */
static void sim_ring_read(void)
{
	struct sim_consumer *c = &sim.consumer;

	if (ring.head - sim.ring_read > ring.capacity) {
		sim_fail("the ring lapped its reader (%" PRIu64 " events unread)", ring.head - sim.ring_read);
		sim.ring_read = ring.head;
		return;
	}
	if (sim.ring_session < 0)
		sim.ring_session = sim_session_of_feed();	/* the first session: no BOOK_CLEARED before it */
	while (sim.ring_read < ring.head && !sim.failed) {
		const struct fh_event *e = &ring.records[sim.ring_read & ring.mask];
		uint8_t state = (uint8_t)fh_event_book_state(e);
		int i;

		if (e->seq != sim.ring_read + 1) {
			sim_fail("invariant 1: ring event %" PRIu64 " carries sequence %" PRIu64, sim.ring_read + 1, e->seq);
			return;
		}
		sim.ring_read++;
		if (state >= FH_BOOK_STATES) {
			sim_fail("event %" PRIu64 " carries book state %u", e->seq, state);
			return;
		}
		sim.consumer_state = state;
		switch (e->type) {
		case FH_EVENT_BOOK_STATE:
			if (e->body.state.state != state || e->body.state.reason >= FH_BOOK_REASONS) {
				sim_fail("BOOK_STATE %u (reason %u) in an event whose flags say %u", e->body.state.state,
					 e->body.state.reason, state);
				return;
			}
			totals->reasons[e->body.state.reason]++;
			sim.reached[state] = true;
			sim_trace("BOOK_STATE %s (%s) %" PRIu64 "+%" PRIu64, sim_state_names[state],
				  sim_reason_names[e->body.state.reason], e->body.state.first, e->body.state.count);
			break;
		case FH_EVENT_BOOK_CLEARED:
			sim_trace("BOOK_CLEARED");
			c->count = 0;
			sim.packet_end = 0;
			/* What follows is of the session the feed is on now (at most one change a step). */
			sim.ring_session = sim_session_of_feed();
			break;
		case FH_EVENT_BOOK_RECOVERED:
			i = sim_consumer_instrument(c, e->instrument, true);
			if (i >= 0)
				memset(c->sides[i], 0, sizeof(c->sides[i]));
			break;
		case FH_EVENT_LEVEL_CHANGED:
			i = sim_consumer_instrument(c, e->instrument, true);
			if (i >= 0 && (e->side >= BOOK_SIDES ||
				       !sim_side_set(&c->sides[i][e->side], e->body.level.price, e->body.level.shares,
						     e->body.level.orders)))
				c->broken = true;
			break;
		case FH_EVENT_GAP:
			sim_trace("GAP %" PRIu64 "+%" PRIu64, e->body.gap.first, e->body.gap.count);
			break;
		case FH_EVENT_END_OF_PACKET:
			if (e->body.packet.last_seq == 0)
				break;	/* a snapshot's content ends */
			if (e->body.packet.last_seq <= sim.packet_end) {
				sim_fail("invariant 1: packet end %" PRIu64 " after packet end %" PRIu64
					 " with no BOOK_CLEARED between", e->body.packet.last_seq, sim.packet_end);
				return;
			}
			sim.packet_end = e->body.packet.last_seq;
			/* 2, as a consumer sees it: a packet's end that says OK has the session's books. */
			if (state == FH_BOOK_OK)
				sim_packet_end_check(e->body.packet.last_seq);
			break;
		default:
			break;
		}
	}
	sim.ring_session = sim_session_of_feed();
}

/* What the book checks look at: unchanged, they need not run again. */
static uint64_t sim_fingerprint(void)
{
	const struct feed *f = sim.feed;
	const struct book_stats *b = &f->book->stats;
	uint64_t x = f->arbiter.expected * 0x9e3779b97f4a7c15ull;

	x ^= (f->messages.messages + f->recovery_rx.snapshot_messages * 31 + b->orders_added * 131 +
	      b->orders_removed * 257 + f->book->orders.count * 521 + f->book->instruments_count * 1031 +
	      f->book->levels_live * 2053 + (uint64_t)f->arbiter.snapshot_pending * 4099 + f->recovery_rx.state * 8191 +
	      ring.head * 16381) * 0xbf58476d1ce4e5b9ull;
	return x;
}

/* After every step: invariants 1, 2 and 3 and the consumer's books. */
static void sim_check(const char *doing)
{
	struct feed *f = sim.feed;
	uint64_t state = f->recovery_rx.state, fingerprint;
	char why[512];

	sim.step++;
	totals->steps++;
	sim.doing = doing;
	sim_ring_read();
	if (sim.failed)
		return;
	if (state >= FH_BOOK_STATES) {
		sim_fail("the feed's state is %" PRIu64, state);
		return;
	}
	sim.reached[state] = true;
	/* 3: the ring is read to its end, so its last event says the feed's state. */
	if (sim.consumer_state != state) {
		sim_fail("invariant 3: the feed is %s, its events last said %s", sim_state_names[state],
			 sim_state_names[sim.consumer_state]);
		return;
	}
	fingerprint = sim_fingerprint();
	if (fingerprint == sim.fingerprint)
		return;
	sim.fingerprint = fingerprint;
	/* 2: OK means the books are the session's at the sequence the feed is at. */
	if (state == FEED_BOOK_OK) {
		int k = sim_session_of_feed();
		uint64_t seq = f->arbiter.expected - 1;

		if (k == -2) {
			sim_fail("invariant 2: OK on session '%.10s', which the exchange never ran", f->arbiter.session);
			return;
		}
		if (k < 0) {
			static const struct sim_ref none;

			if (!sim_books_equal_ref(f->book, &none, why, sizeof(why)))
				sim_fail("invariant 2: OK before any session, books not empty: %s", why);
		} else if (seq > sim.sessions[k].count) {
			sim_fail("invariant 2: OK at sequence %" PRIu64 " of session %d, which has %u messages", seq, k,
				 sim.sessions[k].count);
		} else {
			sim_ref_seek(&sim.check_ref, &sim.sessions[k], (uint32_t)seq);
			if (!sim_books_equal_ref(f->book, &sim.check_ref, why, sizeof(why)))
				sim_fail("invariant 2: OK at sequence %" PRIu64 " of session %d, books differ: %s", seq, k,
					 why);
		}
		if (sim.failed)
			return;
	}
	/* The consumer's books are fhd's, except while a snapshot is built out of their sight. */
	if (!f->arbiter.snapshot_pending) {
		if (sim.consumer.broken) {
			sim_fail("the consumer's model overflowed (a level or instrument too many)");
			return;
		}
		if (!sim_books_equal(f->book, sim.consumer.keys, sim.consumer.count, sim.consumer.sides, why,
				     sizeof(why)))
			sim_fail("consumer: books built from the events differ from fhd's (model = consumer): %s", why);
	}
}

/* ---- one seed ---- */

static void sim_scenario_make(void)
{
	struct sim_scenario *sc = &sim.sc;
	static const uint32_t losses[] = { 0, 0, 1000, 10000, 50000, 200000 };

	memset(sc, 0, sizeof(*sc));
	sc->sessions = sim_below(4) == 0 ? (uint32_t)sim_range(2, SIM_SESSIONS_MAX) : 1;
	for (int l = 0; l < CFG_LINES_MAX; l++) {
		sc->loss_ppm[l] = losses[sim_below(sizeof(losses) / sizeof(losses[0]))];
		sc->latency_ns[l] = sim_range(20, 400) * SIM_US;
	}
	sc->both_loss_ppm = sim_below(3) == 0 ? (uint32_t)sim_range(1000, 20000) : 0;
	sc->duplicate_ppm = sim_below(2) ? (uint32_t)sim_range(0, 50000) : 0;
	sc->reorder_ppm = sim_below(2) ? (uint32_t)sim_range(0, 100000) : 0;
	sc->far_ppm = sim_below(5) == 0 ? (uint32_t)sim_range(100, 2000) : 0;
	sc->jitter_ns = sim_range(0, 50) * SIM_US;
	sc->reorder_ns = sim_range(1, 3000) * SIM_US;
	sc->network_ns = sim_range(20, 500) * SIM_US;
	sc->glimpse_message_ns = sim_range(1, 20) * SIM_US;
	sc->recovery = sim_below(5) == 0 ? SIM_RECOVERY_NONE :
		       sim_below(2) == 0 ? SIM_RECOVERY_HONEST : (uint8_t)sim_range(SIM_RECOVERY_HONEST, SIM_RECOVERY_KINDS - 1);
	sc->snapshot = sim_below(2) == 0 ? SIM_SNAPSHOT_NONE :
		       sim_below(3) == 0 ? SIM_SNAPSHOT_HONEST : (uint8_t)sim_range(SIM_SNAPSHOT_HONEST, SIM_SNAPSHOT_KINDS - 1);
	sc->capacity = sim_below(6) == 0 ? (uint8_t)sim_range(SIM_CAPACITY_INSTRUMENTS, SIM_CAPACITIES - 1) :
					     SIM_CAPACITY_NONE;
	sc->padded_names = sim_below(5) == 0;
	sc->lag = (uint32_t)sim_range(1, 300);
	sc->past = (uint32_t)sim_range(1, 100);
	if (sim_below(4) == 0)
		sc->join_ns = 1;	/* when: once the exchange is made */
}

static void sim_config_make(void)
{
	struct cfg_feed *cfg = &sim.cfg;
	const struct sim_scenario *sc = &sim.sc;
	uint32_t instruments = 0, orders = 0, levels = 0;

	for (uint32_t k = 0; k < sim.sessions_count; k++) {
		const struct sim_session *s = &sim.sessions[k];

		instruments = s->instruments > instruments ? s->instruments : instruments;
		orders = s->peak_orders > orders ? s->peak_orders : orders;
		levels = s->peak_levels > levels ? s->peak_levels : levels;
	}
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->name, sizeof(cfg->name), "sim");
	cfg->protocol = CFG_PROTOCOL_ITCH50_MOLDUDP64;
	for (int l = 0; l < CFG_LINES_MAX; l++) {
		cfg->lines[l].present = true;
		cfg->lines[l].group_ip = 0xef010101u + (uint32_t)l;	/* 239.1.1.1, 239.1.1.2 */
		cfg->lines[l].udp_port = (uint16_t)(30001 + l);
	}
	cfg->reorder_packets_max = sim_below(2) == 0 ? (uint32_t)sim_range(4, 64) : (uint32_t)sim_range(64, 1024);
	cfg->reorder_window_us = (uint32_t)sim_range(100, 5000);
	cfg->publish_views = CFG_VIEWS_ALL;
	cfg->book.instruments_max = SIM_VIEW_SLOTS;
	cfg->book.orders_max = 8192;
	cfg->book.levels_max = 256;
	switch (sc->capacity) {
	case SIM_CAPACITY_INSTRUMENTS:
		cfg->book.instruments_max = (uint32_t)sim_range(1, instruments - 1);
		break;
	case SIM_CAPACITY_ORDERS:
		cfg->book.orders_max = (uint32_t)sim_range(1, orders - 1);
		break;
	case SIM_CAPACITY_LEVELS:
		cfg->book.levels_max = (uint32_t)sim_range(1, levels - 1);
		break;
	default:
		break;
	}
	if (sc->recovery != SIM_RECOVERY_NONE) {
		struct cfg_recovery *r = &cfg->recovery;

		r->enabled = true;
		r->server_ip = 0x0a000002;
		r->server_port = 18001;
		r->timeout_ms = (uint32_t)sim_range(5, 100);
		r->retries = (uint32_t)sim_range(1, 5);
		r->backoff = (uint32_t)sim_range(1, 3);
		r->timeout_max_ms = r->timeout_ms * (uint32_t)sim_range(1, 8);
		r->in_flight = (uint32_t)sim_range(1, 8);
		r->request_messages = (uint32_t)sim_range(1, 200);
		/* Mostly room for the whole session; sometimes a hold that a slow hole fills. */
		r->hold = sim_below(4) == 0 ? cfg->reorder_packets_max + (uint32_t)sim_range(0, 200) : 65536;
		if (sim.sc.recovery == SIM_RECOVERY_SLOW)
			sim.sc.slow_ns = sim_range(r->timeout_ms / 2, r->timeout_ms * 3 / 2) * SIM_MS;
	}
	if (sc->snapshot != SIM_SNAPSHOT_NONE) {
		struct cfg_snapshot *s = &cfg->snapshot;

		s->enabled = true;
		s->server_ip = 0x0a000003;
		s->server_port = 18002;
		snprintf(s->username, sizeof(s->username), "sim");
		snprintf(s->password, sizeof(s->password), "secret");
		s->timeout_ms = (uint32_t)sim_range(500, 3000);
		s->retries = (uint32_t)sim_range(0, 3);
		s->max_ms = (uint32_t)sim_range(1000, 10000);
		s->hold = sim_below(4) == 0 ? cfg->reorder_packets_max + (uint32_t)sim_range(0, 200) : 65536;
		s->confirm_ms = 2000;
		/*
		 * 0: the re-sync backoff is read from CLOCK_MONOTONIC (feed_resync_want), not
		 * the feed's clock, so any other value would make a run depend on wall time.
		 */
		s->resync_backoff_ms = 0;
		s->resyncs_max = (uint32_t)sim_range(1, 4);
		if (sc->snapshot == SIM_SNAPSHOT_RESTART)
			sim.sc.disconnects = (uint32_t)sim_range(1, s->retries > 0 ? s->retries : 1);
		if (sc->snapshot == SIM_SNAPSHOT_RESTART && s->retries == 0)
			s->retries = 1;
		if (sc->snapshot == SIM_SNAPSHOT_FAILED)
			sim.sc.disconnects = UINT32_MAX;
	}
	/*
	 * Invariant 5 holds when nothing can make the books wrong for good: a re-request
	 * server that answers truly (in whatever order and amount), a snapshot server that
	 * sends true snapshots (or none), books big enough and a hold that cannot fill.
	 */
	sim.sc.clean = (sc->recovery == SIM_RECOVERY_HONEST || sc->recovery == SIM_RECOVERY_SLOW ||
			sc->recovery == SIM_RECOVERY_REVERSED || sc->recovery == SIM_RECOVERY_PAST) &&
		       (sc->snapshot == SIM_SNAPSHOT_NONE || sc->snapshot == SIM_SNAPSHOT_HONEST ||
			sc->snapshot == SIM_SNAPSHOT_LAGGING || sc->snapshot == SIM_SNAPSHOT_RESTART) &&
		       sc->capacity == SIM_CAPACITY_NONE && cfg->recovery.hold == 65536 &&
		       (!cfg->snapshot.enabled || cfg->snapshot.hold == 65536);
}

static void sim_scenario_print(void)
{
	const struct sim_scenario *sc = &sim.sc;
	uint32_t messages = 0;

	for (uint32_t k = 0; k < sim.sessions_count; k++)
		messages += sim.sessions[k].count;
	printf("seed %" PRIu64 ": %u session(s), %u messages; loss A %.1f%% B %.1f%% both %.1f%%, dup %.1f%%, "
	       "reorder %.1f%%, far-future %.2f%%; recovery %s; snapshot %s; capacity %s%s%s%s\n", sim.seed,
	       sim.sessions_count, messages, sc->loss_ppm[0] / 1e4, sc->loss_ppm[1] / 1e4, sc->both_loss_ppm / 1e4,
	       sc->duplicate_ppm / 1e4, sc->reorder_ppm / 1e4,
	       sc->far_ppm / 1e4, sim_recovery_names[sc->recovery], sim_snapshot_names[sc->snapshot],
	       sim_capacity_names[sc->capacity], sc->join_ns ? "; late join" : "", sc->padded_names ? "; padded names" : "",
	       sc->clean ? "; clean" : "");
	fflush(stdout);
}

/* Prints what the feed knows, after a failure. */
static void sim_feed_print(void)
{
	const struct feed *f = sim.feed;
	const struct arbiter *a = &f->arbiter;

	printf("  feed: state %s, session '%.10s' (known %d), expected %" PRIu64 ", held %u, recovering %d, "
	       "snapshot_pending %d, confirming %d, confirm_seq %" PRIu64 "\n",
	       sim_state_names[f->recovery_rx.state < FH_BOOK_STATES ? f->recovery_rx.state : 0], a->session,
	       a->session_known, a->expected, a->held_count, a->recovering, a->snapshot_pending, a->confirming,
	       a->confirm_seq);
	printf("  feed: gaps %" PRIu64 ", recoveries %" PRIu64 " (filled %" PRIu64 "), snapshots %" PRIu64
	       " (refused %" PRIu64 ", resyncs %" PRIu64 "), bad_sequence A %" PRIu64 " B %" PRIu64 ", wrong_session A %"
	       PRIu64 " B %" PRIu64 "\n", a->stats.gaps, f->recovery_rx.recoveries, f->recovery_rx.recovered,
	       f->recovery_rx.snapshots, f->recovery_rx.snapshots_refused, f->recovery_rx.resyncs,
	       a->stats.lines[0].bad_sequence, a->stats.lines[1].bad_sequence, a->stats.lines[0].wrong_session,
	       a->stats.lines[1].wrong_session);
	for (uint32_t k = 0; k < sim.sessions_count; k++)
		printf("  session %u '%.10s': %u messages, %u packets, from %.3f ms to %.3f ms\n", k, sim.sessions[k].name,
		       sim.sessions[k].count, sim.sessions[k].packets_count, sim.sessions[k].packets[0].emit_ns / 1e6,
		       sim.sessions[k].packets[sim.sessions[k].packets_count - 1].emit_ns / 1e6);
	printf("  replay: build/sim_recovery --seed %" PRIu64 " -v\n", sim.seed);
}

/* One pass of the RX loop at now: service, the frames due, expiry when idle. */
static void sim_rx_pass(void)
{
	bool received = false;

	feed_set_recovery_service(&set, sim.now_ns);
	sim_check("feed_set_recovery_service");
	sim_worker_step();
	while (!sim.failed && sim.frames_next < sim.frames_count && sim.frames[sim.frames_next].arrive_ns <= sim.now_ns) {
		const struct sim_frame *f = &sim.frames[sim.frames_next++];
		uint32_t len;
		uint8_t *frame;

		if (f->arrive_ns < sim.sc.join_ns)
			continue;	/* before fhd started */
		frame = sim_frame_build(f, &len);
		sim.frames_out++;
		totals->frames++;
		feed_set_packet_handle(&set, frame, len, frame, sim.now_ns, sim_unrouted_free);
		sim_check(f->kind == SIM_EMIT_DATA ? "a data frame" : f->kind == SIM_EMIT_END ? "an end-of-session frame" :
			  "a heartbeat frame");
		received = true;
	}
	if (!received && !sim.failed) {
		feed_set_expire(&set, sim.now_ns);
		sim_check("feed_set_expire");
	}
}

static uint64_t sim_next_ns(uint64_t limit_ns)
{
	uint64_t next = sim.now_ns + SIM_STEP_NS, worker = sim_worker_next_ns();

	if (sim.frames_next < sim.frames_count && sim.frames[sim.frames_next].arrive_ns < next)
		next = sim.frames[sim.frames_next].arrive_ns;
	if (worker < next)
		next = worker;
	if (next > limit_ns)
		next = limit_ns;
	return next > sim.now_ns ? next : sim.now_ns + 1;
}

/*
 * Invariant 4's bound: the sim time recovery may take after the last line packet.
 * Each hole costs at most the retries' timeouts and as many quiet rounds. There is at
 * most one per held packet, and one; and each hole given up declares at least one
 * message lost, after which the replies held behind it may leave another (a server
 * that never sends a hole's first message): at most one more per message. Each
 * re-sync, and the snapshot in progress, costs at most every login's max_ms and
 * pauses, and the confirmation time.
 */
static uint64_t sim_drain_bound_ns(void)
{
	const struct cfg_recovery *r = &sim.cfg.recovery;
	const struct cfg_snapshot *s = &sim.cfg.snapshot;
	uint64_t hole_ns = 0, snapshot_ns = 0, holes = sim.feed->arbiter.held_count + 2;

	for (uint32_t k = 0; k < sim.sessions_count; k++)
		holes += sim.sessions[k].count;

	if (r->enabled) {
		for (uint32_t tries = 1; tries <= r->retries + 1; tries++)
			hole_ns += sim_timeout_ns(tries);
		hole_ns += (r->retries + 2) * (sim_timeout_ns(1) + SIM_STEP_NS) + 4 * sim.sc.network_ns + sim.sc.slow_ns;
	}
	if (s->enabled)
		snapshot_ns = (s->retries + 1) * ((uint64_t)s->max_ms * SIM_MS + SIM_SNAPSHOT_RETRY_NS * (s->retries + 1)) +
			      (uint64_t)s->confirm_ms * SIM_MS;
	return holes * hole_ns + (s->enabled ? (s->resyncs_max + 2) * (snapshot_ns + hole_ns) : 0) + 10 * SIM_STEP_NS;
}

/* Whether the feed, its worker or a snapshot confirmation still has recovery to do. */
static bool sim_recovering(void)
{
	return feed_set_recovering(&set) || sim.feed->arbiter.confirming;
}

/* Invariant 5: the last session, whole, OK. */
static void sim_final_check(void)
{
	const struct feed *f = sim.feed;
	const struct sim_session *last = &sim.sessions[sim.sessions_count - 1];
	int k = sim_session_of_feed();
	char why[512];

	sim.doing = "the end (invariant 5)";
	if (k != (int)sim.sessions_count - 1) {
		sim_fail("invariant 5: the feed ends on session %d, not the last (%u)", k, sim.sessions_count - 1);
		return;
	}
	if (f->recovery_rx.state != FEED_BOOK_OK) {
		sim_fail("invariant 5: the feed ends %s, not OK", sim_state_names[f->recovery_rx.state]);
		return;
	}
	if (f->arbiter.expected != (uint64_t)last->count + 1) {
		sim_fail("invariant 5: the feed ends expecting %" PRIu64 ", the session has %u messages", f->arbiter.expected,
			 last->count);
		return;
	}
	sim_ref_seek(&sim.final_ref, last, last->count);
	if (!sim_books_equal_ref(f->book, &sim.final_ref, why, sizeof(why)))
		sim_fail("invariant 5: books differ from the whole session's: %s", why);
}

static void sim_seed_free(void)
{
	for (uint32_t k = 0; k < SIM_SESSIONS_MAX; k++) {
		free(sim.sessions[k].bytes);
		free(sim.sessions[k].offsets);
		free(sim.sessions[k].packets);
	}
	for (uint32_t i = 0; i < sim.datagrams_count; i++)
		free(sim.datagrams[i].payload);
	free(sim.emits);
	free(sim.frames);
	free(sim.datagrams);
	free(sim.worker.soup);
	free(sim.worker.soup_bytes);
	sim_ref_free(&sim.check_ref);
	sim_ref_free(&sim.snapshot_ref);
	sim_ref_free(&sim.final_ref);
}

/* Runs one seed; true if every invariant held. */
static bool sim_seed_run(uint64_t seed, bool verbose)
{
	char err[CFG_ERROR_MAX];
	uint64_t bound_ns, deadline_ns, iterations = 0;

	memset(&sim, 0, sizeof(sim));
	sim.seed = seed;
	sim.verbose = verbose;
	sim.doing = "setup";
	check_rng_state = seed;
	sim_scenario_make();
	sim.sessions_count = sim.sc.sessions;
	sim_exchange_make();
	/*
	 * A late join comes before the first session's last packet: a feed that saw no
	 * data packet of a session cannot join it (the lines never show it whole).
	 */
	if (sim.sc.join_ns != 0)
		sim.sc.join_ns = sim_range(1, sim.sessions[0].packets[sim.sessions[0].packets_count - 1].emit_ns);
	sim_lines_make();
	sim_config_make();
	sim_scenario_print();
	totals->seeds++;
	totals->recovery[sim.sc.recovery]++;
	totals->snapshot[sim.sc.snapshot]++;
	totals->capacity[sim.sc.capacity]++;
	totals->session_changes += sim.sessions_count - 1;
	totals->late_joins += sim.sc.join_ns != 0;
	totals->padded += sim.sc.padded_names;
	totals->clean += sim.sc.clean;

	memset(&set, 0, sizeof(set));
	sim.feed = feed_create(&sim.cfg, sim_frame_free, err, sizeof(err));
	if (sim.feed == NULL || feed_set_add(&set, sim.feed) != 0) {
		printf("seed %" PRIu64 ": feed_create: %s\n", seed, err);
		abort();
	}
	publisher_init(&pub, &ring, 0, 1000000000);
	publisher_views_set(&pub, PUBLISHER_VIEWS_ALL);
	publisher_view_set(&pub, &view, 0, sim.feed->book);
	pub_conflated_clear(&view, 0, view.slots);
	sim.feed->pub = &pub;
	sim.ring_read = ring.head;
	sim.consumer_state = FH_BOOK_OK;
	sim.ring_session = -1;
	sim.fingerprint = UINT64_MAX;
	sim.now_ns = sim.sc.join_ns;

	/* The lines: until the last frame, the RX loop as rx_lcore_run runs it live. */
	while (!sim.failed && sim.frames_next < sim.frames_count) {
		sim_rx_pass();
		sim.now_ns = sim_next_ns(UINT64_MAX);
		if (++iterations > SIM_ITERATIONS_MAX)
			sim_fail("the simulation ran %" PRIu64 " passes: a bug of the simulation", iterations);
	}
	/* 4: the lines have nothing more; whatever is missing comes from recovery, in bounded time. */
	bound_ns = sim_drain_bound_ns();
	deadline_ns = sim.now_ns + bound_ns;
	while (!sim.failed) {
		bool recovering = feed_set_recover_rest(&set, sim.now_ns);

		sim_check("feed_set_recover_rest");
		sim_worker_step();
		feed_set_recovery_service(&set, sim.now_ns);
		sim_check("feed_set_recovery_service (draining)");
		if (!recovering && !sim_recovering())
			break;
		if (sim.now_ns >= deadline_ns) {
			sim_fail("invariant 4: still recovering %.3f ms after the last line packet (bound %.3f ms)",
				 (sim.now_ns - (deadline_ns - bound_ns)) / 1e6, bound_ns / 1e6);
			break;
		}
		sim.now_ns = sim_next_ns(deadline_ns);
		if (++iterations > SIM_ITERATIONS_MAX)
			sim_fail("the simulation ran %" PRIu64 " passes: a bug of the simulation", iterations);
	}
	if (!sim.failed) {
		feed_set_flush(&set, sim.now_ns);
		sim_check("feed_set_flush");
	}
	if (!sim.failed && sim.sc.clean)
		sim_final_check();
	for (int s = 0; s < FH_BOOK_STATES; s++)
		totals->reached[s] += sim.reached[s];
	totals->packet_ends_checked += sim.packet_ends_checked;
	totals->final[sim.feed->recovery_rx.state < FH_BOOK_STATES ? sim.feed->recovery_rx.state : 0]++;
	if (sim.failed)
		sim_feed_print();
	else
		printf("seed %" PRIu64 ": ok, %" PRIu64 " steps, %.3f ms simulated, ends %s at %" PRIu64 "\n", seed, sim.step,
		       sim.now_ns / 1e6, sim_state_names[sim.feed->recovery_rx.state], sim.feed->arbiter.expected);
	feed_destroy(sim.feed);
	if (sim.frames_out != 0 && !sim.failed)
		sim_fail("%" PRIu64 " frames were never given back", sim.frames_out);
	sim_seed_free();
	return !sim.failed;
}

static void sim_summary_print(const uint64_t *failed, uint32_t failed_count)
{
	const struct sim_totals *t = totals;

	printf("\nsim_recovery: %" PRIu64 " seeds, %" PRIu64 " failed, %" PRIu64 " steps, %" PRIu64 " frames, %" PRIu64
	       " OK packet ends checked\n", t->seeds, t->failed, t->steps, t->frames, t->packet_ends_checked);
	printf("  line faults: %" PRIu64 " copies lost, %" PRIu64 " duplicated, %" PRIu64 " reordered, %" PRIu64
	       " far-future; %" PRIu64 " session changes, %" PRIu64 " late joins, %" PRIu64 " seeds with padded names\n",
	       t->lost, t->duplicated, t->reordered, t->far_future, t->session_changes, t->late_joins, t->padded);
	printf("  recovery servers:");
	for (int i = 0; i < SIM_RECOVERY_KINDS; i++)
		printf(" %s %" PRIu64, sim_recovery_names[i], t->recovery[i]);
	printf("\n  snapshot servers:");
	for (int i = 0; i < SIM_SNAPSHOT_KINDS; i++)
		printf(" %s %" PRIu64, sim_snapshot_names[i], t->snapshot[i]);
	printf("\n  capacity limits:");
	for (int i = 0; i < SIM_CAPACITIES; i++)
		printf(" %s %" PRIu64, sim_capacity_names[i], t->capacity[i]);
	printf("\n  worker: %" PRIu64 " requests, %" PRIu64 " reply datagrams, %" PRIu64 " give-ups, %" PRIu64
	       " logins (%" PRIu64 " cut), %" PRIu64 " snapshot ends, %" PRIu64 " failed whole, %" PRIu64 " cancelled\n",
	       t->requests, t->datagrams, t->give_ups, t->logins, t->disconnects, t->snapshot_ends, t->snapshot_failed,
	       t->cancels);
	printf("  states reached (seeds): OK %" PRIu64 ", RECOVERING %" PRIu64 ", STALE %" PRIu64 "; final: OK %" PRIu64
	       ", RECOVERING %" PRIu64 ", STALE %" PRIu64 "; %" PRIu64 " seeds checked by invariant 5\n", t->reached[0],
	       t->reached[1], t->reached[2], t->final[0], t->final[1], t->final[2], t->clean);
	printf("  BOOK_STATE reasons:");
	for (int i = 1; i < FH_BOOK_REASONS; i++)
		printf(" %s %" PRIu64, sim_reason_names[i], t->reasons[i]);
	printf("\n");
	if (failed_count > 0) {
		printf("  failed seeds:");
		for (uint32_t i = 0; i < failed_count; i++)
			printf(" %" PRIu64, failed[i]);
		printf("\n");
	}
}

/*
 * Runs a seed in a process of its own, so that an assertion of fhd's (or a crash) is
 * that seed's failure, and the seeds after it still run. The totals are in shared
 * memory. True if the seed passed.
 */
static bool sim_seed_fork(uint64_t seed, bool verbose)
{
	pid_t pid;
	int status;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("sim_recovery: fork");
		exit(2);
	}
	if (pid == 0) {
		bool passed = sim_seed_run(seed, verbose);

		fflush(stdout);
		_exit(passed ? 0 : 1);
	}
	if (waitpid(pid, &status, 0) != pid) {
		perror("sim_recovery: waitpid");
		exit(2);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return true;
	if (WIFSIGNALED(status)) {
		printf("seed %" PRIu64 ": FAIL: killed by signal %d (an assertion of fhd's, or a crash; see above)\n"
		       "  replay: build/sim_recovery --seed %" PRIu64 " -v\n", seed, WTERMSIG(status), seed);
	}
	return false;
}

static void sim_usage(void)
{
	fprintf(stderr, "usage: sim_recovery [--seed N] [--seeds COUNT | --seconds S] [-v]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static uint64_t failed[1024];
	uint64_t seed = 0, seeds = 1, seconds = 0;
	bool seed_given = false, verbose = false;
	uint32_t failed_count = 0;
	struct timespec start, now;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
			seed = strtoull(argv[++i], NULL, 0);
			seed_given = true;
		} else if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc) {
			seeds = strtoull(argv[++i], NULL, 0);
		} else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			seconds = strtoull(argv[++i], NULL, 0);
		} else if (strcmp(argv[i], "-v") == 0) {
			verbose = true;
		} else {
			sim_usage();
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	if (!seed_given)
		seed = (uint64_t)start.tv_sec * 1000003u ^ (uint64_t)start.tv_nsec;
	totals = mmap(NULL, sizeof(*totals), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (totals == MAP_FAILED) {
		perror("sim_recovery: mmap");
		return 2;
	}
	pub_memory_make(&ring, SIM_RING_CAPACITY, &view, SIM_VIEW_SLOTS, 4);
	for (uint64_t n = 0;; n++) {
		if (seconds == 0 && n >= seeds)
			break;
		if (seconds > 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (n > 0 && clock_timespec_ns(&now) - clock_timespec_ns(&start) >= seconds * 1000000000ull)
				break;
		}
		if (!(seconds == 0 && seeds == 1 ? sim_seed_run(seed + n, verbose) : sim_seed_fork(seed + n, verbose))) {
			totals->failed++;
			failures++;
			if (failed_count < sizeof(failed) / sizeof(failed[0]))
				failed[failed_count++] = seed + n;
		}
	}
	sim_summary_print(failed, failed_count);
	return failures > 0 ? 1 : 0;
}
