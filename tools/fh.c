/*
 * fh: the command-line client of fhd's publish rings, built against libfh alone (no
 * DPDK). `fh tail` prints events as text or JSON lines, filtered by feed, symbol and
 * type; with --dump-books it keeps books from the LEVEL_CHANGED events alone and
 * writes the canonical book dump when fhd announces a clean stop. It is also the
 * reference consumer for the tests: --slow-us makes it deliberately slow.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "publish/libfh/fh.h"
#include "tools/fh_commands.h"

#define FH_FEEDS 256
#define FH_KEYS 65536
#define FH_BATCH 256

static const char *const fh_type_names[FH_EVENT_TYPES] = {
	[FH_EVENT_NONE] = "none",
	[FH_EVENT_ORDER_ADDED] = "order_added",
	[FH_EVENT_ORDER_REDUCED] = "order_reduced",
	[FH_EVENT_ORDER_REPLACED] = "order_replaced",
	[FH_EVENT_ORDER_DELETED] = "order_deleted",
	[FH_EVENT_LEVEL_CHANGED] = "level",
	[FH_EVENT_TOP_OF_BOOK] = "top",
	[FH_EVENT_TRADE] = "trade",
	[FH_EVENT_TRADING_STATUS] = "status",
	[FH_EVENT_INSTRUMENT_DEFINED] = "instrument",
	[FH_EVENT_GAP] = "gap",
	[FH_EVENT_BOOK_RECOVERED] = "recovered",
	[FH_EVENT_END_OF_PACKET] = "end_of_packet",
	[FH_EVENT_STOP] = "stop",
	[FH_EVENT_BOOK_CLEARED] = "cleared",
};

/* --- books kept from level events --- */

struct fh_level {
	int64_t price;
	uint64_t shares;
	uint32_t orders;
};

struct fh_side {
	struct fh_level *levels;	/* best first */
	uint32_t count, capacity;
};

struct fh_instrument {
	char symbol[24];
	uint8_t decimals;
	struct fh_side sides[2];
};

static struct fh_instrument **fh_books[FH_FEEDS];	/* [feed][key] */
static volatile sig_atomic_t fh_quit;

static struct fh_instrument *fh_instrument_get(uint8_t feed, uint32_t key)
{
	struct fh_instrument **table;

	/* Keys come from the ring: out of range, or no memory left, is no book. */
	if (key >= FH_KEYS)
		return NULL;
	if (fh_books[feed] == NULL)
		fh_books[feed] = calloc(FH_KEYS, sizeof(*fh_books[feed]));
	table = fh_books[feed];
	if (table == NULL)
		return NULL;
	if (table[key] == NULL) {
		table[key] = calloc(1, sizeof(**table));
		if (table[key] == NULL)
			return NULL;
		snprintf(table[key]->symbol, sizeof(table[key]->symbol), "#%u", key);
		table[key]->decimals = 4;
	}
	return table[key];
}

static void fh_books_clear(uint8_t feed)
{
	if (fh_books[feed] == NULL)
		return;
	for (uint32_t k = 0; k < FH_KEYS; k++) {
		if (fh_books[feed][k] != NULL) {
			free(fh_books[feed][k]->sides[0].levels);
			free(fh_books[feed][k]->sides[1].levels);
			free(fh_books[feed][k]);
			fh_books[feed][k] = NULL;
		}
	}
}

/* Sets a level (orders 0 removes it); levels kept best first. */
static void fh_level_set(struct fh_side *side, int bid, int64_t price, uint64_t shares, uint32_t orders)
{
	uint32_t i = 0;

	while (i < side->count && (bid ? side->levels[i].price > price : side->levels[i].price < price))
		i++;
	if (i < side->count && side->levels[i].price == price) {
		if (orders == 0) {
			memmove(&side->levels[i], &side->levels[i + 1],
				(side->count - i - 1) * sizeof(side->levels[0]));
			side->count--;
		} else {
			side->levels[i].shares = shares;
			side->levels[i].orders = orders;
		}
		return;
	}
	if (orders == 0)
		return;
	if (side->count == side->capacity) {
		uint32_t capacity = side->capacity ? side->capacity * 2 : 16;
		struct fh_level *levels = capacity > side->capacity ?
			realloc(side->levels, capacity * sizeof(side->levels[0])) : NULL;

		if (levels == NULL)
			return;		/* out of memory: the level is not kept */
		side->levels = levels;
		side->capacity = capacity;
	}
	memmove(&side->levels[i + 1], &side->levels[i], (side->count - i) * sizeof(side->levels[0]));
	side->levels[i] = (struct fh_level){ price, shares, orders };
	side->count++;
}

static void fh_price_text(char *out, size_t size, int64_t price, uint8_t decimals)
{
	uint64_t scale = 1, m = price < 0 ? -(uint64_t)price : (uint64_t)price;

	for (uint8_t i = 0; i < decimals && i < 18; i++)
		scale *= 10;
	if (decimals == 0)
		snprintf(out, size, "%s%" PRIu64, price < 0 ? "-" : "", m);
	else
		snprintf(out, size, "%s%" PRIu64 ".%0*" PRIu64, price < 0 ? "-" : "", m / scale,
			 (int)(decimals % 19), m % scale);
}

struct fh_dump_entry {
	const char *feed;
	const struct fh_instrument *instrument;
	uint32_t key;
};

static int fh_dump_compare(const void *a, const void *b)
{
	const struct fh_dump_entry *x = a, *y = b;
	int c = strcmp(x->feed, y->feed);

	if (c == 0)
		c = strcmp(x->instrument->symbol, y->instrument->symbol);
	if (c == 0)
		c = x->key < y->key ? -1 : x->key > y->key;
	return c;
}

/* The canonical dump (shared/docs/book-dump.md) of the books kept from level events. */
static int fh_dump_write(const char *path, const struct fh_consumer *c)
{
	struct fh_dump_entry *entries = NULL;
	size_t n = 0, cap = 0;
	FILE *out = fopen(path, "w");
	char price[64];

	if (out == NULL) {
		fprintf(stderr, "fh tail: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	for (int f = 0; f < FH_FEEDS; f++) {
		for (uint32_t k = 0; fh_books[f] != NULL && k < FH_KEYS; k++) {
			if (fh_books[f][k] == NULL)
				continue;
			if (n == cap) {
				struct fh_dump_entry *more = realloc(entries, (cap ? cap * 2 : 256) * sizeof(*entries));

				if (more == NULL) {
					free(entries);
					fclose(out);
					fprintf(stderr, "fh tail: %s: out of memory\n", path);
					return -ENOMEM;
				}
				entries = more;
				cap = cap ? cap * 2 : 256;
			}
			entries[n++] = (struct fh_dump_entry){ fh_feed_name(c, (uint8_t)f), fh_books[f][k], k };
		}
	}
	qsort(entries, n, sizeof(*entries), fh_dump_compare);
	for (size_t e = 0; e < n; e++)
		for (int s = 0; s < 2; s++)
			for (uint32_t i = 0; i < entries[e].instrument->sides[s].count; i++) {
				const struct fh_level *l = &entries[e].instrument->sides[s].levels[i];

				fh_price_text(price, sizeof(price), l->price, entries[e].instrument->decimals);
				fprintf(out, "%s %s %c %s %" PRIu64 " %" PRIu32 "\n", entries[e].feed,
					entries[e].instrument->symbol, s == 0 ? 'B' : 'S', price, l->shares,
					l->orders);
			}
	free(entries);
	return fclose(out) == 0 ? 0 : -EIO;
}

/*
 * Takes every instrument's top levels from the conflated view: after a lap, what the
 * level events would have said is gone, but the books as they are now are there.
 */
static uint32_t fh_books_resync(struct fh_consumer *c)
{
	static struct fh_top top;
	uint32_t taken = 0;

	for (uint32_t s = 0; s < fh_top_slots(c) && !fh_quit; s++) {
		struct fh_instrument *in;

		if (fh_top_read(c, s, &top) != 0 || (in = fh_instrument_get(top.feed, top.instrument)) == NULL)
			continue;
		if (top.symbol[0] != '\0')
			snprintf(in->symbol, sizeof(in->symbol), "%s", top.symbol);
		in->decimals = top.price_decimals;
		in->sides[0].count = in->sides[1].count = 0;
		for (uint32_t i = 0; i < top.bid_count; i++)
			fh_level_set(&in->sides[0], 1, top.bids[i].price, top.bids[i].shares, top.bids[i].orders);
		for (uint32_t i = 0; i < top.ask_count; i++)
			fh_level_set(&in->sides[1], 0, top.asks[i].price, top.asks[i].shares, top.asks[i].orders);
		taken++;
	}
	return taken;
}

/* --- printing --- */

struct fh_tail_options {
	const char *ring;
	const char *feed;
	const char *symbol;
	int type;		/* -1: all */
	const char *dump;
	bool json;
	bool quiet;
	bool wait;
	bool from_now;
	uint32_t slow_us;
	uint64_t count;		/* stop after this many events (0: never) */
};

static void fh_event_print(const struct fh_consumer *c, const struct fh_event *e, bool json)
{
	const struct fh_instrument *in = e->instrument < FH_KEYS ? fh_instrument_get(e->feed, e->instrument) : NULL;
	const char *type = e->type < FH_EVENT_TYPES && fh_type_names[e->type] ? fh_type_names[e->type] : "?";
	uint8_t d = in ? in->decimals : 4;
	char a[64] = "", b[64] = "", feed[32 * 6], symbol[24 * 6];

	/* Names come from the ring: escaped for JSON, made printable for text. */
	fh_text_escape(feed, sizeof(feed), fh_feed_name(c, e->feed), json);
	fh_text_escape(symbol, sizeof(symbol), in ? in->symbol : "", json);

	switch (e->type) {
	case FH_EVENT_ORDER_ADDED:
	case FH_EVENT_ORDER_REDUCED:
	case FH_EVENT_ORDER_DELETED:
		fh_price_text(a, sizeof(a), e->body.order.price, d);
		if (json)
			printf("{\"seq\":%" PRIu64 ",\"type\":\"%s\",\"feed\":\"%s\",\"symbol\":\"%s\",\"side\":\"%c\",\"ref\":%" PRIu64 ",\"price\":\"%s\",\"quantity\":%u,\"remaining\":%u}\n",
			       e->seq, type, feed, symbol, e->side ? 'S' : 'B',
			       e->body.order.ref, a, e->quantity, e->body.order.remaining);
		else
			printf("%" PRIu64 " %s %s %s %c ref %" PRIu64 " %s qty %u left %u\n", e->seq, type,
			       feed, symbol, e->side ? 'S' : 'B', e->body.order.ref, a,
			       e->quantity, e->body.order.remaining);
		break;
	case FH_EVENT_ORDER_REPLACED:
		fh_price_text(a, sizeof(a), e->body.replace.price, d);
		if (json)
			printf("{\"seq\":%" PRIu64 ",\"type\":\"%s\",\"feed\":\"%s\",\"symbol\":\"%s\",\"side\":\"%c\",\"old_ref\":%" PRIu64 ",\"new_ref\":%" PRIu64 ",\"price\":\"%s\",\"quantity\":%u}\n",
			       e->seq, type, feed, symbol, e->side ? 'S' : 'B',
			       e->body.replace.old_ref, e->body.replace.new_ref, a, e->quantity);
		else
			printf("%" PRIu64 " %s %s %s %c ref %" PRIu64 " -> %" PRIu64 " %s qty %u\n", e->seq,
			       type, feed, symbol, e->side ? 'S' : 'B',
			       e->body.replace.old_ref, e->body.replace.new_ref, a, e->quantity);
		break;
	case FH_EVENT_LEVEL_CHANGED:
		fh_price_text(a, sizeof(a), e->body.level.price, d);
		if (json)
			printf("{\"seq\":%" PRIu64 ",\"type\":\"%s\",\"feed\":\"%s\",\"symbol\":\"%s\",\"side\":\"%c\",\"price\":\"%s\",\"shares\":%" PRIu64 ",\"orders\":%u}\n",
			       e->seq, type, feed, symbol, e->side ? 'S' : 'B', a,
			       e->body.level.shares, e->body.level.orders);
		else
			printf("%" PRIu64 " %s %s %s %c %s shares %" PRIu64 " orders %u\n", e->seq, type,
			       feed, symbol, e->side ? 'S' : 'B', a,
			       e->body.level.shares, e->body.level.orders);
		break;
	case FH_EVENT_TOP_OF_BOOK:
		if (e->body.top.bid_price != INT64_MIN)
			fh_price_text(a, sizeof(a), e->body.top.bid_price, d);
		if (e->body.top.ask_price != INT64_MIN)
			fh_price_text(b, sizeof(b), e->body.top.ask_price, d);
		if (json)
			printf("{\"seq\":%" PRIu64 ",\"type\":\"%s\",\"feed\":\"%s\",\"symbol\":\"%s\",\"bid\":\"%s\",\"bid_shares\":%u,\"ask\":\"%s\",\"ask_shares\":%u}\n",
			       e->seq, type, feed, symbol, a, e->body.top.bid_shares, b,
			       e->body.top.ask_shares);
		else
			printf("%" PRIu64 " %s %s %s %u @ %s | %s @ %u\n", e->seq, type, feed,
			       symbol, e->body.top.bid_shares, a[0] ? a : "-", b[0] ? b : "-",
			       e->body.top.ask_shares);
		break;
	case FH_EVENT_TRADE:
		fh_price_text(a, sizeof(a), e->body.trade.price, d);
		if (json)
			printf("{\"seq\":%" PRIu64 ",\"type\":\"%s\",\"feed\":\"%s\",\"symbol\":\"%s\",\"price\":\"%s\",\"quantity\":%u,\"match\":%" PRIu64 ",\"flags\":%u}\n",
			       e->seq, type, feed, symbol, a, e->quantity,
			       e->body.trade.match, e->flags);
		else
			printf("%" PRIu64 " %s %s %s %u @ %s match %" PRIu64 "%s%s\n", e->seq, type,
			       feed, symbol, e->quantity, a, e->body.trade.match,
			       e->flags & FH_FLAG_TRADE_CROSS ? " cross" : "",
			       e->flags & FH_FLAG_TRADE_NON_DISPLAYED ? " non-displayed" : "");
		break;
	case FH_EVENT_GAP:
		if (json)
			printf("{\"seq\":%" PRIu64 ",\"type\":\"%s\",\"feed\":\"%s\",\"first\":%" PRIu64 ",\"count\":%" PRIu64 "}\n",
			       e->seq, type, feed, e->body.gap.first, e->body.gap.count);
		else
			printf("%" PRIu64 " %s %s first %" PRIu64 " count %" PRIu64 "\n", e->seq, type,
			       feed, e->body.gap.first, e->body.gap.count);
		break;
	default:
		if (json)
			printf("{\"seq\":%" PRIu64 ",\"type\":\"%s\",\"feed\":\"%s\",\"symbol\":\"%s\"}\n",
			       e->seq, type, feed, symbol);
		else
			printf("%" PRIu64 " %s %s %s\n", e->seq, type, feed, symbol);
		break;
	}
}

/* Keeps the books from level events; true when fhd said it stopped. */
static bool fh_event_apply(const struct fh_event *e)
{
	struct fh_instrument *in;

	switch (e->type) {
	case FH_EVENT_LEVEL_CHANGED:
		in = fh_instrument_get(e->feed, e->instrument);
		if (in != NULL && e->side <= FH_SIDE_ASK)
			fh_level_set(&in->sides[e->side], e->side == FH_SIDE_BID, e->body.level.price,
				     e->body.level.shares, e->body.level.orders);
		break;
	case FH_EVENT_INSTRUMENT_DEFINED:
		in = fh_instrument_get(e->feed, e->instrument);
		if (in != NULL) {
			snprintf(in->symbol, sizeof(in->symbol), "%.16s", e->body.instrument.symbol);
			in->decimals = e->body.instrument.price_decimals;
		}
		break;
	case FH_EVENT_BOOK_CLEARED:
		fh_books_clear(e->feed);
		break;
	case FH_EVENT_STOP:
		return true;
	default:
		break;
	}
	return false;
}

static bool fh_event_wanted(const struct fh_consumer *c, const struct fh_event *e,
			    const struct fh_tail_options *o)
{
	if (o->type >= 0 && e->type != o->type)
		return false;
	if (o->feed != NULL && strcmp(fh_feed_name(c, e->feed), o->feed) != 0)
		return false;
	if (o->symbol != NULL) {
		const struct fh_instrument *in = fh_instrument_get(e->feed, e->instrument);

		if (in == NULL || strcmp(in->symbol, o->symbol) != 0)
			return false;
	}
	return true;
}

static void fh_signal(int signo)
{
	(void)signo;
	fh_quit = 1;
}

/*
 * Attaches (*c NULL) or reattaches *c after a restart. Retries while the ring is not
 * there yet (with --wait, or after a restart: the new fhd may still be setting it up);
 * with --wait also while it is refused, since fhd may replace a bad or untrusted
 * segment by a good one, saying each new reason once. 0, or fh tail's exit status:
 * 3 for another event layout (rebuild), 1 otherwise.
 */
static int fh_tail_connect(struct fh_consumer **c, const struct fh_tail_options *o)
{
	char err[512], said[512] = "";
	int rc;

	for (;;) {
		rc = *c == NULL ? fh_attach(o->ring, o->from_now ? FH_START_NOW : FH_START_OLDEST, c, err,
					    sizeof(err)) :
				  fh_reattach(*c, err, sizeof(err));
		if (rc == 0)
			return 0;
		if (fh_quit || rc == -EPROTO || (!o->wait && (rc != -ENOENT || *c == NULL))) {
			fprintf(stderr, "fh tail: %s\n", err);
			return rc == -EPROTO ? 3 : 1;
		}
		if (rc != -ENOENT && strcmp(err, said) != 0) {
			fprintf(stderr, "fh tail: %s; waiting for a good one\n", err);
			snprintf(said, sizeof(said), "%s", err);
		}
		usleep(rc != -ENOENT ? 100000 : *c == NULL ? 1000 : 10000);
	}
}

static int fh_tail(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "ring", required_argument, NULL, 'r' }, { "feed", required_argument, NULL, 'f' },
		{ "symbol", required_argument, NULL, 's' }, { "type", required_argument, NULL, 't' },
		{ "dump-books", required_argument, NULL, 'd' }, { "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' }, { "wait", no_argument, NULL, 'w' },
		{ "from-now", no_argument, NULL, 'n' }, { "slow-us", required_argument, NULL, 'S' },
		{ "count", required_argument, NULL, 'c' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct fh_tail_options o = { .ring = "fh-1", .type = -1 };
	struct fh_event events[FH_BATCH];
	struct fh_consumer *c = NULL;
	uint64_t seen = 0, laps = 0;
	bool broken_said = false, books_lapped = false;
	int opt, rc, status = 0;

	while ((opt = getopt_long(argc, argv, "r:f:s:t:d:jqwnS:c:h", longs, NULL)) != -1) {
		switch (opt) {
		case 'r': o.ring = optarg; break;
		case 'f': o.feed = optarg; break;
		case 's': o.symbol = optarg; break;
		case 't':
			for (int t = 0; t < FH_EVENT_TYPES; t++)
				if (fh_type_names[t] && strcmp(fh_type_names[t], optarg) == 0)
					o.type = t;
			if (o.type < 0) {
				fprintf(stderr, "fh tail: unknown event type '%s'\n", optarg);
				return 2;
			}
			break;
		case 'd': o.dump = optarg; break;
		case 'j': o.json = true; break;
		case 'q': o.quiet = true; break;
		case 'w': o.wait = true; break;
		case 'n': o.from_now = true; break;
		case 'S': o.slow_us = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'c': o.count = strtoull(optarg, NULL, 10); break;
		case 'h':
			printf("usage: fh tail [--ring NAME] [--feed F] [--symbol S] [--type T] [--json|--quiet]\n"
			       "               [--dump-books FILE] [--wait] [--from-now] [--slow-us N] [--count N]\n"
			       "  --wait: wait for the ring to appear, and while it is refused or broken, for\n"
			       "  fhd to replace it by a good one (without it, those exit 1)\n");
			return 0;
		default:
			return 2;
		}
	}
	signal(SIGINT, fh_signal);
	signal(SIGTERM, fh_signal);
	rc = fh_tail_connect(&c, &o);
	if (rc != 0)
		return rc;
	while (!fh_quit) {
		int n = fh_poll(c, events, FH_BATCH);

		if (n == FH_POLL_BROKEN) {
			/* A broken ring stays broken until fhd replaces it: wait for that, or stop. */
			if (!o.wait) {
				fprintf(stderr, "fh tail: %s\n", fh_error(c));
				status = 1;
				break;
			}
			if (!broken_said)
				fprintf(stderr, "fh tail: %s; waiting for fhd to replace it\n", fh_error(c));
			broken_said = true;
			usleep(10000);
			continue;
		}
		broken_said = false;

		if (n == FH_POLL_LAPPED) {
			laps++;
			books_lapped = true;
			fprintf(stderr, "fh tail: lapped: lost %" PRIu64 " events (%" PRIu64 " in all); "
				"%u books taken from the conflated view\n", fh_lost_last(c), fh_lost_total(c),
				fh_books_resync(c));
			continue;
		}
		if (n == FH_POLL_RESTARTED) {
			fprintf(stderr, "fh tail: fhd restarted: reattaching\n");
			for (int f = 0; f < FH_FEEDS; f++)
				fh_books_clear((uint8_t)f);
			books_lapped = false;	/* the new run's books start whole */
			rc = fh_tail_connect(&c, &o);
			if (rc != 0)
				return rc;
			continue;
		}
		if (n == 0) {
			usleep(o.wait || o.dump ? 100 : 1000);
			continue;
		}
		for (int i = 0; i < n; i++) {
			bool stop = fh_event_apply(&events[i]);

			/* Lapped books are whole only in their top levels: take the final ones. */
			if (stop && books_lapped)
				fh_books_resync(c);
			if (!o.quiet && fh_event_wanted(c, &events[i], &o))
				fh_event_print(c, &events[i], o.json);
			seen++;
			if (stop || (o.count && seen >= o.count)) {
				fh_quit = 1;
				break;
			}
		}
		if (o.slow_us)
			usleep(o.slow_us);
	}
	fflush(stdout);
	fprintf(stderr, "fh tail: %" PRIu64 " events read, %" PRIu64 " lost in %" PRIu64 " laps\n", seen,
		fh_lost_total(c), laps);
	rc = o.dump ? fh_dump_write(o.dump, c) : 0;
	fh_detach(c);
	return rc ? 1 : status;
}

/* --- fh top: a live table of top of book per symbol, like top(1) --- */

struct fh_top_stats {
	int64_t last_trade;
	uint32_t last_trade_qty;
	uint32_t updates;	/* book events since the last refresh */
	uint32_t rate;		/* per second, at the last refresh */
};

static struct fh_top_stats *fh_top_stats_get(uint8_t feed, uint32_t key)
{
	static struct fh_top_stats *stats[FH_FEEDS];

	/* Keys come from the ring and the view: out of range, or no memory, is no stats. */
	if (key >= FH_KEYS)
		return NULL;
	if (stats[feed] == NULL)
		stats[feed] = calloc(FH_KEYS, sizeof(*stats[feed]));
	return stats[feed] != NULL ? &stats[feed][key] : NULL;
}

/* Says fh_error() on stderr when it is new (a broken ring, a refused view); said keeps the last. */
static void fh_top_problem(const struct fh_consumer *c, char *said, size_t size)
{
	if (fh_error(c)[0] != '\0' && strcmp(fh_error(c), said) != 0) {
		fprintf(stderr, "fh top: %s\n", fh_error(c));
		snprintf(said, size, "%s", fh_error(c));
	}
}

static int fh_top(int argc, char **argv)
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
	struct fh_event events[FH_BATCH];
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
	signal(SIGINT, fh_signal);
	signal(SIGTERM, fh_signal);
	while (!fh_quit) {
		struct timespec start, now;
		uint32_t shown = 0;
		char bid[32], ask[32], last[32];

		/* Gather events for one interval: trades and update counts. */
		clock_gettime(CLOCK_MONOTONIC, &start);
		do {
			int n = fh_poll(c, events, FH_BATCH);

			if (n == FH_POLL_RESTARTED && fh_reattach(c, err, sizeof(err)) != 0)
				usleep(10000);
			if (n == FH_POLL_BROKEN)
				fh_top_problem(c, said, sizeof(said));
			for (int i = 0; i < n; i++) {
				struct fh_top_stats *s = fh_top_stats_get(events[i].feed, events[i].instrument);

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
			clock_gettime(CLOCK_MONOTONIC, &now);
		} while (!once && !fh_quit &&
			 (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 <
				 (long)interval_ms);
		if (!once)
			printf("\033[H\033[2J");
		printf("fh top  ring %s  next event %" PRIu64 "  lost %" PRIu64 "\n", ring,
		       fh_next_seq(c), fh_lost_total(c));
		printf("%-6s %-10s %10s %12s %12s %10s %12s %10s\n", "feed", "symbol", "bid size",
		       "bid", "ask", "ask size", "last", "updates/s");
		for (uint32_t slot = 0; slot < fh_top_slots(c) && shown < rows && !fh_quit; slot++) {
			struct fh_top_stats none = { 0 }, *s;
			char symbol[sizeof(top.symbol)];

			if (fh_top_read(c, slot, &top) != 0)
				continue;
			s = fh_top_stats_get(top.feed, top.instrument);
			if (s == NULL)
				s = &none;
			fh_text_escape(symbol, sizeof(symbol), top.symbol, false);
			s->rate = (uint32_t)((uint64_t)s->updates * 1000 / (interval_ms ? interval_ms : 1));
			s->updates = 0;
			bid[0] = ask[0] = last[0] = '\0';
			if (top.bid_count)
				fh_price_text(bid, sizeof(bid), top.bids[0].price, top.price_decimals);
			if (top.ask_count)
				fh_price_text(ask, sizeof(ask), top.asks[0].price, top.price_decimals);
			if (s->last_trade_qty)
				fh_price_text(last, sizeof(last), s->last_trade, top.price_decimals);
			printf("%-6s %-10s %10" PRIu64 " %12s %12s %10" PRIu64 " %12s %10u\n",
			       fh_feed_name(c, top.feed), symbol,
			       top.bid_count ? top.bids[0].shares : 0, bid[0] ? bid : "-", ask[0] ? ask : "-",
			       top.ask_count ? top.asks[0].shares : 0, last[0] ? last : "-", s->rate);
			shown++;
		}
		fflush(stdout);
		fh_top_problem(c, said, sizeof(said));
		if (once)
			break;
	}
	fh_detach(c);
	return once && said[0] != '\0' ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		printf("usage: fh <command> [options]\n"
		       "  tail    print events from an fhd publish ring (fh tail --help)\n"
		       "  top     live table of top of book per symbol (fh top --help)\n"
		       "  stat    a running fhd's counters and latency percentiles (fh stat --help)\n"
		       "  report  latency plots and table from fhd --hist-out files (fh report --help)\n");
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "tail") == 0)
		return fh_tail(argc - 1, argv + 1);
	if (strcmp(argv[1], "top") == 0)
		return fh_top(argc - 1, argv + 1);
	if (strcmp(argv[1], "stat") == 0)
		return fh_stat_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "report") == 0)
		return fh_report_main(argc - 1, argv + 1);
	fprintf(stderr, "fh: unknown command '%s'\n", argv[1]);
	return 2;
}
