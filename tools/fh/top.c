/*
 * fh top: a live table of top of book per symbol, like top(1): the conflated view's
 * best levels, with the last trade and the rate of level changes taken from the ring
 * over each refresh interval.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "book/util/clock.h"
#include "publish/libfh/fh.h"
#include "tools/fh/cli.h"

struct top_stats {
	int64_t last_trade;
	uint32_t last_trade_qty;
	uint32_t updates;	/* book events since the last refresh */
	uint32_t rate;		/* per second, at the last refresh */
};

static struct top_stats *top_stats_get(uint8_t feed, uint32_t key)
{
	static struct top_stats *stats[CLI_FEEDS_MAX];

	/* Keys come from the ring and the view: out of range, or no memory, is no stats. */
	if (key >= CLI_KEYS_MAX)
		return NULL;
	if (stats[feed] == NULL)
		stats[feed] = calloc(CLI_KEYS_MAX, sizeof(*stats[feed]));
	return stats[feed] != NULL ? &stats[feed][key] : NULL;
}

/* Says fh_error() on stderr when it is new (a broken ring, a refused view); said keeps the last. */
static void top_problem_say(const struct fh_consumer *c, char *said, size_t size)
{
	if (fh_error(c)[0] != '\0' && strcmp(fh_error(c), said) != 0) {
		fprintf(stderr, "fh top: %s\n", fh_error(c));
		snprintf(said, size, "%s", fh_error(c));
	}
}

struct top_options {
	const char *ring;
	uint64_t interval_ms;	/* between refreshes */
	uint64_t rows;		/* symbols shown at most */
	bool once;		/* one table, no screen clearing, then exit */
	bool terminal;		/* stdout is a terminal: each table clears the screen */
};

#define TOP_INTERVAL_MS_MAX 3600000u	/* an hour between refreshes */
#define TOP_ROWS_MAX 1000000u

/* Reads fh top's options into o. -1 to go on, or the exit status: 0 after --help, 2. */
static int top_options_parse(int argc, char **argv, struct top_options *o)
{
	static const struct option longs[] = {
		{ "ring", required_argument, NULL, 'r' }, { "interval-ms", required_argument, NULL, 'i' },
		{ "once", no_argument, NULL, 'o' }, { "rows", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "r:i:on:h", longs, NULL)) != -1) {
		switch (opt) {
		case 'r': o->ring = optarg; break;
		case 'i':
			if (cli_number_parse("top", "interval-ms", optarg, 1, TOP_INTERVAL_MS_MAX, &o->interval_ms) != 0)
				return 2;
			break;
		case 'o': o->once = true; break;
		case 'n':
			if (cli_number_parse("top", "rows", optarg, 1, TOP_ROWS_MAX, &o->rows) != 0)
				return 2;
			break;
		case 'h':
			printf("usage: fh top [--ring NAME] [--interval-ms MS] [--rows N] [--once]\n"
			       "  a table of the best bid and ask per symbol, refreshed every MS (default 1000);\n"
			       "  on a terminal it redraws the screen, otherwise it prints one table after\n"
			       "  another; --once prints one and exits. A ring fhd stopped is marked STOPPED.\n");
			return 0;
		default:
			return 2;
		}
	}
	return -1;
}

/*
 * Reads the ring for one interval (one poll with --once): each symbol's last trade and
 * count of level changes. Reattaches after a restart; a broken ring is said once.
 */
static void top_interval_gather(struct fh_consumer *c, const struct top_options *o, char *said,
				size_t said_size)
{
	struct fh_event events[CLI_BATCH_MAX];
	uint64_t start_ns = clock_monotonic_ns();
	char err[512];

	do {
		int n = fh_poll(c, events, CLI_BATCH_MAX);

		if (n == FH_POLL_RESTARTED && fh_reattach(c, err, sizeof(err)) != 0)
			usleep(10000);
		if (n == FH_POLL_BROKEN)
			top_problem_say(c, said, said_size);
		for (int i = 0; i < n; i++) {
			struct top_stats *s = top_stats_get(events[i].feed, events[i].instrument);

			if (s == NULL)
				continue;
			if (events[i].type == FH_EVENT_TRADE) {
				s->last_trade = events[i].body.trade.price;
				s->last_trade_qty = events[i].quantity;
			} else if (events[i].type == FH_EVENT_LEVEL_CHANGED) {
				s->updates++;
			}
		}
		if (n <= 0)
			usleep(1000);
	} while (!o->once && !cli_quit && clock_monotonic_ns() - start_ns < (uint64_t)o->interval_ms * 1000000u);
}

/* Prints the table: a heading, then a row per symbol of the conflated view, up to o->rows. */
static void top_table_print(struct fh_consumer *c, const struct top_options *o)
{
	static struct fh_top top;
	uint32_t shown = 0;
	char bid[32], ask[32], last[32];

	char ring[CLI_NAME_SHOWN_MAX];

	/* Screen control for a terminal only: a pipe or a file gets the tables one after another. */
	if (!o->once && o->terminal)
		printf("\033[H\033[2J");
	else if (!o->once)
		printf("\n");
	cli_text_escape(ring, sizeof(ring), o->ring, false);
	printf("fh top  ring %s%s  next event %" PRIu64 "  lost %" PRIu64 "\n", ring,
	       fh_stopped(c) ? "  STOPPED (fhd stopped cleanly: the last books it published)" : "",
	       fh_next_seq(c), fh_lost_total(c));
	printf("%-6s %-10s %10s %12s %12s %10s %12s %10s %-10s\n", "feed", "symbol", "bid size",
	       "bid", "ask", "ask size", "last", "updates/s", "books");
	for (uint32_t slot = 0; slot < fh_top_slots(c) && shown < o->rows && !cli_quit; slot++) {
		struct top_stats none = { 0 }, *s;
		char symbol[sizeof(top.symbol)], feed[32];	/* a feed name is at most 31 bytes */

		if (fh_top_read(c, slot, &top) != 0)
			continue;
		s = top_stats_get(top.feed, top.instrument);
		if (s == NULL)
			s = &none;
		cli_text_escape(symbol, sizeof(symbol), top.symbol, false);
		cli_text_escape(feed, sizeof(feed), fh_feed_name(c, top.feed), false);
		s->rate = (uint32_t)((uint64_t)s->updates * 1000 / o->interval_ms);
		s->updates = 0;
		bid[0] = ask[0] = last[0] = '\0';
		if (top.bid_count)
			cli_price_text(bid, sizeof(bid), top.bids[0].price, top.price_decimals);
		if (top.ask_count)
			cli_price_text(ask, sizeof(ask), top.asks[0].price, top.price_decimals);
		if (s->last_trade_qty)
			cli_price_text(last, sizeof(last), s->last_trade, top.price_decimals);
		printf("%-6s %-10s %10" PRIu64 " %12s %12s %10" PRIu64 " %12s %10u %-10s\n",
		       feed, symbol,
		       top.bid_count ? top.bids[0].shares : 0, bid[0] ? bid : "-", ask[0] ? ask : "-",
		       top.ask_count ? top.asks[0].shares : 0, last[0] ? last : "-", s->rate,
		       cli_book_state_name(top.state));
		shown++;
	}
}

int top_main(int argc, char **argv)
{
	struct top_options o = { .ring = "fh-1", .interval_ms = 1000, .rows = 40, .terminal = isatty(STDOUT_FILENO) };
	struct fh_consumer *c;
	char err[512], said[640] = "";
	int rc;

	rc = top_options_parse(argc, argv, &o);
	if (rc >= 0)
		return rc;
	if (fh_attach(o.ring, FH_START_NOW, &c, err, sizeof(err)) != 0) {
		fprintf(stderr, "fh top: %s\n", err);
		return 1;
	}
	cli_signals_catch();
	while (!cli_quit) {
		top_interval_gather(c, &o, said, sizeof(said));
		top_table_print(c, &o);
		fflush(stdout);
		top_problem_say(c, said, sizeof(said));
		if (o.once)
			break;
	}
	fh_detach(c);
	return o.once && said[0] != '\0' ? 1 : 0;
}
