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

int top_main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "ring", required_argument, NULL, 'r' }, { "interval-ms", required_argument, NULL, 'i' },
		{ "once", no_argument, NULL, 'o' }, { "rows", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	const char *ring = "fh-1";
	uint32_t interval_ms = 1000, rows = 40;
	bool once = false;
	struct fh_consumer *c;
	struct fh_event events[CLI_BATCH_MAX];
	static struct fh_top top;
	char err[512], said[640] = "";
	int opt;

	while ((opt = getopt_long(argc, argv, "r:i:on:h", longs, NULL)) != -1) {
		switch (opt) {
		case 'r': ring = optarg; break;
		case 'i': interval_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'o': once = true; break;
		case 'n': rows = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'h':
			printf("usage: fh top [--ring NAME] [--interval-ms MS] [--rows N] [--once]\n");
			return 0;
		default:
			return 2;
		}
	}
	if (fh_attach(ring, FH_START_NOW, &c, err, sizeof(err)) != 0) {
		fprintf(stderr, "fh top: %s\n", err);
		return 1;
	}
	cli_signals_catch();
	while (!cli_quit) {
		uint64_t start_ns;
		uint32_t shown = 0;
		char bid[32], ask[32], last[32];

		/* Gather events for one interval: trades and update counts. */
		start_ns = clock_monotonic_ns();
		do {
			int n = fh_poll(c, events, CLI_BATCH_MAX);

			if (n == FH_POLL_RESTARTED && fh_reattach(c, err, sizeof(err)) != 0)
				usleep(10000);
			if (n == FH_POLL_BROKEN)
				top_problem_say(c, said, sizeof(said));
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
		} while (!once && !cli_quit && clock_monotonic_ns() - start_ns < (uint64_t)interval_ms * 1000000u);
		if (!once)
			printf("\033[H\033[2J");
		printf("fh top  ring %s  next event %" PRIu64 "  lost %" PRIu64 "\n", ring,
		       fh_next_seq(c), fh_lost_total(c));
		printf("%-6s %-10s %10s %12s %12s %10s %12s %10s\n", "feed", "symbol", "bid size",
		       "bid", "ask", "ask size", "last", "updates/s");
		for (uint32_t slot = 0; slot < fh_top_slots(c) && shown < rows && !cli_quit; slot++) {
			struct top_stats none = { 0 }, *s;
			char symbol[sizeof(top.symbol)];

			if (fh_top_read(c, slot, &top) != 0)
				continue;
			s = top_stats_get(top.feed, top.instrument);
			if (s == NULL)
				s = &none;
			cli_text_escape(symbol, sizeof(symbol), top.symbol, false);
			s->rate = (uint32_t)((uint64_t)s->updates * 1000 / (interval_ms ? interval_ms : 1));
			s->updates = 0;
			bid[0] = ask[0] = last[0] = '\0';
			if (top.bid_count)
				cli_price_text(bid, sizeof(bid), top.bids[0].price, top.price_decimals);
			if (top.ask_count)
				cli_price_text(ask, sizeof(ask), top.asks[0].price, top.price_decimals);
			if (s->last_trade_qty)
				cli_price_text(last, sizeof(last), s->last_trade, top.price_decimals);
			printf("%-6s %-10s %10" PRIu64 " %12s %12s %10" PRIu64 " %12s %10u\n",
			       fh_feed_name(c, top.feed), symbol,
			       top.bid_count ? top.bids[0].shares : 0, bid[0] ? bid : "-", ask[0] ? ask : "-",
			       top.ask_count ? top.asks[0].shares : 0, last[0] ? last : "-", s->rate);
			shown++;
		}
		fflush(stdout);
		top_problem_say(c, said, sizeof(said));
		if (once)
			break;
	}
	fh_detach(c);
	return once && said[0] != '\0' ? 1 : 0;
}
