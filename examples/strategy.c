/*
 * strategy: a complete libfh consumer, the skeleton of a trading strategy. It keeps
 * the top of book of every instrument from fhd's events and "acts" on a new top (here
 * it only counts; a real strategy would quote or trade) only while the feed's books
 * are OK, never on RECOVERING or STALE ones. It follows everything a long-running
 * consumer meets:
 *   - fhd not started yet: it waits, retrying the attach with a backoff of 10 ms
 *     doubling to 1 s;
 *   - book states: every event carries its feed's state; BOOK_STATE says when and why
 *     it changed; GAP says the feed lost messages (its books may be wrong, the feed is
 *     STALE until a new session or a snapshot); BOOK_CLEARED empties the feed's books
 *     (a new session); BOOK_RECOVERED empties one instrument's (a snapshot follows);
 *   - falling behind (FH_POLL_LAPPED): the events it missed are gone, so it takes
 *     every top and book state afresh from fhd's conflated view;
 *   - fhd stopping (the ring is marked stopped) and restarting (FH_POLL_RESTARTED):
 *     it waits, then reattaches and starts again from the new run's first event.
 * It prints state changes as they happen (at most 10 a second) and a status line
 * every second; SIGINT or SIGTERM end it with a summary.
 *
 * Build:  make              (the Makefile beside it: pkg-config --cflags --libs fh)
 * Run:    ./strategy [--exit-on-stop] [RING]
 *         RING is /dev/shm/<publish.ring>-<RX lcore> of fhd's config (default fh-1);
 *         --exit-on-stop: exit 0 once fhd has stopped and every event has been read
 *         (a ring already stopped at start is read too; without it, such a ring is
 *         an earlier fhd's, and the strategy waits for the next fhd)
 */
#define _POSIX_C_SOURCE 200809L	/* clock_gettime, nanosleep, sigaction under -std=c11 */

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fh/fh.h>

#define FEEDS_MAX 256			/* event.feed is a byte */
#define INSTRUMENTS_MAX 65536		/* ITCH stock locates are 16 bits */
#define POLL_MAX 256
#define BACKOFF_FIRST_MS 10
#define BACKOFF_MAX_MS 1000
#define NOTES_PER_SECOND_MAX 10

struct instrument {
	char symbol[17];
	bool quoted;			/* a top is known */
	int64_t bid, ask;		/* INT64_MIN: no such side */
	uint32_t bid_shares, ask_shares;
};

struct feed {
	struct instrument *instruments;	/* INSTRUMENTS_MAX, allocated at the feed's first event */
	enum fh_book_state state;
	uint64_t gaps_since_change;
};

struct counts {
	uint64_t events, trades, tops, acted, held_back, state_changes, clears, gaps, restarts, laps;
};

static volatile sig_atomic_t quit;
static bool earlier_ring;	/* attached at the end of an earlier fhd's stopped ring */
static struct feed feeds[FEEDS_MAX];
static struct counts total;
static void on_signal(int signo)
{
	(void)signo;
	quit = 1;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_us(unsigned us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/* A line about a change, at most NOTES_PER_SECOND_MAX a second (the rest are counted). */
static bool note_allowed(void)
{
	static uint64_t second, notes;
	uint64_t now = now_ms() / 1000;

	if (now != second) {
		second = now;
		notes = 0;
	}
	return notes++ < NOTES_PER_SECOND_MAX;
}

static struct instrument *instrument_of(uint8_t feed, uint32_t key)
{
	struct feed *f = &feeds[feed];

	if (key >= INSTRUMENTS_MAX)
		return NULL;
	if (f->instruments == NULL) {
		f->instruments = calloc(INSTRUMENTS_MAX, sizeof(*f->instruments));
		if (f->instruments == NULL) {
			fprintf(stderr, "strategy: out of memory\n");
			exit(1);
		}
	}
	return &f->instruments[key];
}

/* Forgets every book (fhd restarted: its new run defines everything again). */
static void books_forget(void)
{
	for (int i = 0; i < FEEDS_MAX; i++) {
		free(feeds[i].instruments);
		feeds[i] = (struct feed){ .instruments = NULL, .state = FH_BOOK_OK };
	}
}

/* The decision point: a real strategy would quote or trade here. Only on OK books. */
static void top_changed(const struct fh_event *e, struct instrument *in)
{
	in->quoted = true;
	in->bid = e->body.top.bid_price;
	in->ask = e->body.top.ask_price;
	in->bid_shares = e->body.top.bid_shares;
	in->ask_shares = e->body.top.ask_shares;
	if (fh_event_book_state(e) != FH_BOOK_OK || in->bid == INT64_MIN || in->ask == INT64_MIN) {
		total.held_back++;	/* never act on books that may be wrong (STALE) or behind */
		return;
	}
	total.acted++;
}

static void event_handle(struct fh_consumer *c, const struct fh_event *e)
{
	struct feed *f = &feeds[e->feed];
	struct instrument *in = instrument_of(e->feed, e->instrument);

	total.events++;
	switch (e->type) {
	case FH_EVENT_INSTRUMENT_DEFINED:
		if (in != NULL) {
			memcpy(in->symbol, e->body.instrument.symbol, 16);
			in->symbol[16] = '\0';
		}
		break;
	case FH_EVENT_TRADE:
		total.trades++;
		break;
	case FH_EVENT_TOP_OF_BOOK:
		total.tops++;
		if (in != NULL)
			top_changed(e, in);
		break;
	case FH_EVENT_GAP:	/* the first after a change of state is said, later ones counted */
		total.gaps++;
		if (f->gaps_since_change++ == 0 && note_allowed())
			printf("feed %s: %" PRIu64 " messages lost from sequence %" PRIu64 ": its books may be wrong\n",
			       fh_feed_name(c, e->feed), e->body.gap.count, e->body.gap.first);
		break;
	case FH_EVENT_BOOK_STATE:
		total.state_changes++;
		if (note_allowed())
			printf("feed %s: book state %s -> %s (%s)\n", fh_feed_name(c, e->feed),
			       fh_book_state_name(f->state), fh_book_state_name(e->body.state.state),
			       fh_book_reason_name(e->body.state.reason));
		f->state = (enum fh_book_state)e->body.state.state;
		f->gaps_since_change = 0;
		break;
	case FH_EVENT_BOOK_CLEARED:	/* a new session: every book of the feed is empty */
		total.clears++;
		if (f->instruments != NULL)
			memset(f->instruments, 0, INSTRUMENTS_MAX * sizeof(*f->instruments));
		if (note_allowed())
			printf("feed %s: books cleared (new session)\n", fh_feed_name(c, e->feed));
		break;
	case FH_EVENT_BOOK_RECOVERED:	/* a snapshot of this instrument follows */
		if (in != NULL)
			in->quoted = false;
		break;
	default:
		break;
	}
	/* The state every event carries is the feed's as it was published. */
	f->state = fh_event_book_state(e);
}

/*
 * After a lap the events in between are lost: take every instrument's top and its
 * feed's state from the conflated view instead (fhd's books as of now).
 */
static void books_reload(struct fh_consumer *c)
{
	uint32_t slots = fh_top_slots(c), loaded = 0;
	struct fh_top top;

	for (uint32_t slot = 0; slot < slots; slot++) {
		struct instrument *in;

		if (fh_top_read(c, slot, &top) != 0 || (in = instrument_of(top.feed, top.instrument)) == NULL)
			continue;
		memcpy(in->symbol, top.symbol, sizeof(in->symbol));
		in->quoted = top.bid_count > 0 || top.ask_count > 0;
		in->bid = top.bid_count > 0 ? top.bids[0].price : INT64_MIN;
		in->ask = top.ask_count > 0 ? top.asks[0].price : INT64_MIN;
		in->bid_shares = top.bid_count > 0 ? (uint32_t)top.bids[0].shares : 0;
		in->ask_shares = top.ask_count > 0 ? (uint32_t)top.asks[0].shares : 0;
		feeds[top.feed].state = (enum fh_book_state)top.state;
		loaded++;
	}
	if (note_allowed())
		printf("fell behind fhd: %" PRIu64 " events lost; %u tops reloaded from the conflated view\n",
		       fh_lost_last(c), loaded);
}

/*
 * Attaches, or reattaches c after a restart, waiting for fhd with a backoff. 0, or -1
 * on a ring that will not become readable by waiting (refused: the message says why)
 * or on a signal.
 */
static int ring_wait(const char *ring, struct fh_consumer **c, bool exit_on_stop)
{
	unsigned backoff_ms = BACKOFF_FIRST_MS;
	bool said = false;
	char err[512];

	/*
	 * A ring already stopped at start is an earlier fhd's (segments stay until the next
	 * fhd replaces them): trading, wait at its end for the next fhd, as after a restart,
	 * rather than replay the old run. --exit-on-stop reads one run to its stop, a run
	 * already stopped too.
	 */
	if (*c == NULL && !exit_on_stop && fh_attach(ring, FH_START_NOW, c, err, sizeof(err)) == 0) {
		if (fh_stopped(*c)) {
			earlier_ring = true;
			printf("%s is an earlier fhd's ring, stopped: waiting for fhd to start\n", ring);
			return 0;
		}
		fh_detach(*c);
		*c = NULL;
	}
	while (!quit) {
		int rc = *c == NULL ? fh_attach(ring, FH_START_OLDEST, c, err, sizeof(err))
				    : fh_reattach(*c, err, sizeof(err));

		if (rc == 0) {
			printf("attached to %s (libfh %s)\n", ring, fh_version());
			return 0;
		}
		if (rc != -ENOENT) {	/* refused, another event layout, or not a ring */
			fprintf(stderr, "strategy: %s\n", err);
			return -1;
		}
		if (!said)
			printf("waiting for fhd: %s\n", err);
		said = true;
		sleep_us(backoff_ms * 1000);
		backoff_ms = backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff_ms * 2;
	}
	return -1;
}

static void status_print(const char *what)
{
	printf("%s%" PRIu64 " events, %" PRIu64 " trades, %" PRIu64 " tops, %" PRIu64 " lost, %" PRIu64
	       " acted, %" PRIu64 " held back, %" PRIu64 " state changes, %" PRIu64 " clears, %" PRIu64
	       " gaps, %" PRIu64 " restarts\n", what, total.events, total.trades, total.tops,
	       total.laps, total.acted, total.held_back, total.state_changes, total.clears, total.gaps,
	       total.restarts);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct fh_event events[POLL_MAX];
	struct fh_consumer *c = NULL;
	const char *ring = "fh-1";
	bool exit_on_stop = false, stop_said = false;
	int status = 0;
	uint64_t status_ms = now_ms();
	struct sigaction sa = { .sa_handler = on_signal };

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--exit-on-stop") == 0)
			exit_on_stop = true;
		else if (argv[i][0] != '-' && i == argc - 1)
			ring = argv[i];
		else {
			fprintf(stderr, "usage: strategy [--exit-on-stop] [RING]\n");
			return 2;
		}
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (ring_wait(ring, &c, exit_on_stop) != 0)
		return quit ? 0 : 1;
	while (!quit) {
		int n = fh_poll(c, events, POLL_MAX);

		if (n > 0) {
			for (int i = 0; i < n; i++)
				event_handle(c, &events[i]);
			stop_said = false;
		} else if (n == FH_POLL_LAPPED) {
			total.laps += fh_lost_last(c);
			books_reload(c);
		} else if (n == FH_POLL_RESTARTED) {
			printf("fhd restarted: reattaching\n");
			total.restarts++;
			books_forget();
			earlier_ring = false;
			if (ring_wait(ring, &c, exit_on_stop) != 0) {
				status = quit ? 0 : 1;
				break;
			}
		} else if (n == FH_POLL_BROKEN) {	/* polling again retries; a new fhd replaces it */
			if (note_allowed())
				printf("ring broken: %s\n", fh_error(c));
			sleep_us(BACKOFF_MAX_MS * 100);
		} else if (fh_stopped(c)) {
			if (!stop_said && !earlier_ring)
				printf("fhd stopped%s\n", exit_on_stop ? "" : ": waiting for it to restart");
			stop_said = true;
			if (exit_on_stop && !earlier_ring)
				break;
			sleep_us(BACKOFF_FIRST_MS * 1000);
		} else {
			sleep_us(100);	/* nothing new: a real strategy spins or does other work here */
		}
		if (now_ms() - status_ms >= 1000) {
			status_ms = now_ms();
			status_print("status: ");
		}
	}
	status_print("");
	fh_detach(c);
	books_forget();
	return status;
}
