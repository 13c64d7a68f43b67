/*
 * fh tail: prints the events of an fhd publish ring as text or JSON lines, filtered
 * by feed, symbol and type; with --dump-books it keeps books from the LEVEL_CHANGED
 * events alone and writes the canonical book dump when fhd announces a clean stop. It
 * is also the reference consumer for the tests: --slow-us makes it deliberately slow.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "publish/libfh/fh.h"
#include "tools/fh/cli.h"

/* The names fh tail prints (text and JSON "type"); --type also takes the header's (tail_type_header_names). */
static const char *const tail_type_names[FH_EVENT_TYPES] = {
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
	[FH_EVENT_BOOK_STATE] = "book_state",
};

/* enum fh_event_type's names in publish/libfh/fh_event.h, without FH_EVENT_. */
static const char *const tail_type_header_names[FH_EVENT_TYPES] = {
	[FH_EVENT_NONE] = "NONE",
	[FH_EVENT_ORDER_ADDED] = "ORDER_ADDED",
	[FH_EVENT_ORDER_REDUCED] = "ORDER_REDUCED",
	[FH_EVENT_ORDER_REPLACED] = "ORDER_REPLACED",
	[FH_EVENT_ORDER_DELETED] = "ORDER_DELETED",
	[FH_EVENT_LEVEL_CHANGED] = "LEVEL_CHANGED",
	[FH_EVENT_TOP_OF_BOOK] = "TOP_OF_BOOK",
	[FH_EVENT_TRADE] = "TRADE",
	[FH_EVENT_TRADING_STATUS] = "TRADING_STATUS",
	[FH_EVENT_INSTRUMENT_DEFINED] = "INSTRUMENT_DEFINED",
	[FH_EVENT_GAP] = "GAP",
	[FH_EVENT_BOOK_RECOVERED] = "BOOK_RECOVERED",
	[FH_EVENT_END_OF_PACKET] = "END_OF_PACKET",
	[FH_EVENT_STOP] = "STOP",
	[FH_EVENT_BOOK_CLEARED] = "BOOK_CLEARED",
	[FH_EVENT_BOOK_STATE] = "BOOK_STATE",
};

/*
 * An event type by name: the header's (LEVEL_CHANGED, with or without FH_EVENT_, in
 * any case) or the one fh tail prints (level). -1 if none.
 */
static int tail_type_parse(const char *name)
{
	const char *bare = strncasecmp(name, "FH_EVENT_", 9) == 0 ? name + 9 : name;

	for (int t = 1; t < FH_EVENT_TYPES; t++)
		if (strcasecmp(bare, tail_type_header_names[t]) == 0 || strcmp(name, tail_type_names[t]) == 0)
			return t;
	return -1;
}

/* ITCH 5.0 §4.3.2 (Stock Trading Action): the trading states, by the byte fhd passes on. */
static const char *tail_trading_state_name(char state)
{
	switch (state) {
	case 'H': return "halted";
	case 'P': return "paused";
	case 'Q': return "quotation_only";
	case 'T': return "trading";
	default: return "?";
	}
}

/* --- books kept from level events --- */

struct tail_level {
	int64_t price;
	uint64_t shares;
	uint32_t orders;
};

struct tail_side {
	struct tail_level *levels;	/* best first */
	uint32_t count, capacity;
};

struct tail_instrument {
	char symbol[24];
	uint8_t decimals;
	struct tail_side sides[2];
};

static struct tail_instrument **tail_books[CLI_FEEDS_MAX];	/* [feed][key] */

static struct tail_instrument *tail_instrument_get(uint8_t feed, uint32_t key)
{
	struct tail_instrument **table;

	/* Keys come from the ring: out of range, or no memory left, is no book. */
	if (key >= CLI_KEYS_MAX)
		return NULL;
	if (tail_books[feed] == NULL)
		tail_books[feed] = calloc(CLI_KEYS_MAX, sizeof(*tail_books[feed]));
	table = tail_books[feed];
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

static void tail_books_clear(uint8_t feed)
{
	if (tail_books[feed] == NULL)
		return;
	for (uint32_t k = 0; k < CLI_KEYS_MAX; k++) {
		if (tail_books[feed][k] != NULL) {
			free(tail_books[feed][k]->sides[0].levels);
			free(tail_books[feed][k]->sides[1].levels);
			free(tail_books[feed][k]);
			tail_books[feed][k] = NULL;
		}
	}
}

/* Sets a level (orders 0 removes it); levels kept best first. */
static void tail_level_set(struct tail_side *side, int bid, int64_t price, uint64_t shares, uint32_t orders)
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
		struct tail_level *levels = capacity > side->capacity ?
			realloc(side->levels, capacity * sizeof(side->levels[0])) : NULL;

		if (levels == NULL)
			return;		/* out of memory: the level is not kept */
		side->levels = levels;
		side->capacity = capacity;
	}
	memmove(&side->levels[i + 1], &side->levels[i], (side->count - i) * sizeof(side->levels[0]));
	side->levels[i] = (struct tail_level){ price, shares, orders };
	side->count++;
}

struct tail_dump_entry {
	const char *feed;
	const struct tail_instrument *instrument;
	uint32_t key;
};

static int tail_dump_compare(const void *a, const void *b)
{
	const struct tail_dump_entry *x = a, *y = b;
	int c = strcmp(x->feed, y->feed);

	if (c == 0)
		c = strcmp(x->instrument->symbol, y->instrument->symbol);
	if (c == 0)
		c = x->key < y->key ? -1 : x->key > y->key;
	return c;
}

/* The canonical dump (docs/book-dump.md) of the books kept from level events. */
static int tail_dump_write(const char *path, const struct fh_consumer *c)
{
	struct tail_dump_entry *entries = NULL;
	size_t n = 0, cap = 0;
	FILE *out = fopen(path, "w");
	char price[64];

	if (out == NULL) {
		fprintf(stderr, "fh tail: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	for (int f = 0; f < CLI_FEEDS_MAX; f++) {
		for (uint32_t k = 0; tail_books[f] != NULL && k < CLI_KEYS_MAX; k++) {
			if (tail_books[f][k] == NULL)
				continue;
			if (n == cap) {
				struct tail_dump_entry *more = realloc(entries, (cap ? cap * 2 : 256) * sizeof(*entries));

				if (more == NULL) {
					free(entries);
					fclose(out);
					fprintf(stderr, "fh tail: %s: out of memory\n", path);
					return -ENOMEM;
				}
				entries = more;
				cap = cap ? cap * 2 : 256;
			}
			entries[n++] = (struct tail_dump_entry){ fh_feed_name(c, (uint8_t)f), tail_books[f][k], k };
		}
	}
	if (n > 0)	/* qsort's base may not be NULL, which it is with no books */
		qsort(entries, n, sizeof(*entries), tail_dump_compare);
	for (size_t e = 0; e < n; e++)
		for (int s = 0; s < 2; s++)
			for (uint32_t i = 0; i < entries[e].instrument->sides[s].count; i++) {
				const struct tail_level *l = &entries[e].instrument->sides[s].levels[i];

				cli_price_text(price, sizeof(price), l->price, entries[e].instrument->decimals);
				fprintf(out, "%s %s %c %s %" PRIu64 " %" PRIu32 "\n", entries[e].feed,
					entries[e].instrument->symbol, s == 0 ? 'B' : 'S', price, l->shares,
					l->orders);
			}
	free(entries);
	return fclose(out) == 0 ? 0 : -EIO;
}

/*
 * Slot s of the conflated view: its instrument, named and with its price decimals as
 * the view has them, and the copy in *top. NULL for an empty or changing slot.
 */
static struct tail_instrument *tail_view_instrument(struct fh_consumer *c, uint32_t s, struct fh_top *top)
{
	struct tail_instrument *in;

	if (fh_top_read(c, s, top) != 0 || (in = tail_instrument_get(top->feed, top->instrument)) == NULL)
		return NULL;
	if (top->symbol[0] != '\0')
		snprintf(in->symbol, sizeof(in->symbol), "%s", top->symbol);
	in->decimals = top->price_decimals;
	return in;
}

/*
 * The symbols and price decimals of every instrument in the conflated view: what
 * INSTRUMENT_DEFINED said before a --from-now attach. (A feed publishing no levels
 * view has no entries: its instruments stay #KEY until defined again.)
 */
static void tail_symbols_take(struct fh_consumer *c)
{
	static struct fh_top top;

	for (uint32_t s = 0; s < fh_top_slots(c) && !cli_quit; s++)
		tail_view_instrument(c, s, &top);
}

/*
 * Takes every instrument's top levels from the conflated view: after a lap, what the
 * level events would have said is gone, but the books as they are now are there.
 */
static uint32_t tail_books_resync(struct fh_consumer *c)
{
	static struct fh_top top;
	uint32_t taken = 0;

	for (uint32_t s = 0; s < fh_top_slots(c) && !cli_quit; s++) {
		struct tail_instrument *in = tail_view_instrument(c, s, &top);

		if (in == NULL)
			continue;
		in->sides[0].count = in->sides[1].count = 0;
		for (uint32_t i = 0; i < top.bid_count; i++)
			tail_level_set(&in->sides[0], 1, top.bids[i].price, top.bids[i].shares, top.bids[i].orders);
		for (uint32_t i = 0; i < top.ask_count; i++)
			tail_level_set(&in->sides[1], 0, top.asks[i].price, top.asks[i].shares, top.asks[i].orders);
		taken++;
	}
	return taken;
}

/* --- printing --- */

struct tail_options {
	const char *ring;
	const char *feed;
	const char *symbol;
	int type;		/* -1: all */
	const char *dump;
	bool json;
	bool quiet;
	bool wait;
	bool from_now;
	uint64_t slow_us;
	uint64_t count;		/* stop after this many events (0: never) */
};

#define TAIL_EPOCH_2000_NS 946684800000000000ull	/* 2000-01-01 UTC in ns since the epoch */

/*
 * A time as text: the exchange's (ITCH: ns since midnight) and a replay's receive
 * time (the capture's, ns since the epoch) as the time of day HH:MM:SS.nnnnnnnnn (UTC
 * for the epoch); a live receive time (fhd's monotonic clock, ns since boot: before
 * 2000 as an epoch time) as seconds on that clock. 0 is "-": a time the event does not
 * carry (fhd's own events: book state, stop, gaps).
 */
static void tail_time_text(char *out, size_t size, uint64_t ns, bool receive)
{
	uint64_t day_ns = ns % (86400ull * 1000000000ull), s = day_ns / 1000000000u;

	if (ns == 0)
		snprintf(out, size, "-");
	else if (receive && ns < TAIL_EPOCH_2000_NS)
		snprintf(out, size, "%" PRIu64 ".%09" PRIu64 "s", ns / 1000000000u, ns % 1000000000u);
	else
		snprintf(out, size, "%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64 ".%09" PRIu64, s / 3600, s / 60 % 60,
			 s % 60, day_ns % 1000000000u);
}

/*
 * A trading status's reason (ITCH: 4 bytes, space padded, e.g. "T1" for a news
 * halt), trailing spaces and NULs trimmed, escaped for JSON or made printable.
 */
static void tail_status_reason(char *out, size_t size, const struct fh_event *e, bool json)
{
	char raw[sizeof(e->body.status.reason) + 1];
	size_t n = sizeof(e->body.status.reason);

	memcpy(raw, e->body.status.reason, n);
	while (n > 0 && (raw[n - 1] == ' ' || raw[n - 1] == '\0'))
		n--;
	raw[n] = '\0';
	cli_text_escape(out, size, raw, json);
}

static void tail_event_print(const struct fh_consumer *c, const struct fh_event *e, bool json)
{
	const struct tail_instrument *in = e->instrument < CLI_KEYS_MAX ? tail_instrument_get(e->feed, e->instrument) : NULL;
	const char *type = e->type < FH_EVENT_TYPES && tail_type_names[e->type] ? tail_type_names[e->type] : "?";
	uint8_t d = in ? in->decimals : 4;
	char a[64] = "", b[64] = "", feed[32 * 6], symbol[24 * 6], exch[32], rx[32];

	/* Names come from the ring: escaped for JSON, made printable for text. */
	cli_text_escape(feed, sizeof(feed), fh_feed_name(c, e->feed), json);
	cli_text_escape(symbol, sizeof(symbol), in ? in->symbol : "", json);

	/* Every line begins alike: text "SEQ TYPE FEED", JSON its seq, type and feed. */
	if (json)
		printf("{\"seq\":%" PRIu64 ",\"type\":\"%s\",\"feed\":\"%s\"", e->seq, type, feed);
	else
		printf("%" PRIu64 " %s %s", e->seq, type, feed);
	switch (e->type) {
	case FH_EVENT_ORDER_ADDED:
	case FH_EVENT_ORDER_REDUCED:
	case FH_EVENT_ORDER_DELETED:
		cli_price_text(a, sizeof(a), e->body.order.price, d);
		if (json)
			printf(",\"symbol\":\"%s\",\"side\":\"%c\",\"ref\":%" PRIu64 ",\"price\":\"%s\",\"quantity\":%u,\"remaining\":%u",
			       symbol, e->side ? 'S' : 'B', e->body.order.ref, a, e->quantity, e->body.order.remaining);
		else
			printf(" %s %c ref %" PRIu64 " %s qty %u left %u", symbol, e->side ? 'S' : 'B', e->body.order.ref,
			       a, e->quantity, e->body.order.remaining);
		break;
	case FH_EVENT_ORDER_REPLACED:
		cli_price_text(a, sizeof(a), e->body.replace.price, d);
		if (json)
			printf(",\"symbol\":\"%s\",\"side\":\"%c\",\"old_ref\":%" PRIu64 ",\"new_ref\":%" PRIu64 ",\"price\":\"%s\",\"quantity\":%u",
			       symbol, e->side ? 'S' : 'B', e->body.replace.old_ref, e->body.replace.new_ref, a, e->quantity);
		else
			printf(" %s %c ref %" PRIu64 " -> %" PRIu64 " %s qty %u", symbol, e->side ? 'S' : 'B',
			       e->body.replace.old_ref, e->body.replace.new_ref, a, e->quantity);
		break;
	case FH_EVENT_LEVEL_CHANGED:
		cli_price_text(a, sizeof(a), e->body.level.price, d);
		if (json)
			printf(",\"symbol\":\"%s\",\"side\":\"%c\",\"price\":\"%s\",\"shares\":%" PRIu64 ",\"orders\":%u",
			       symbol, e->side ? 'S' : 'B', a, e->body.level.shares, e->body.level.orders);
		else
			printf(" %s %c %s shares %" PRIu64 " orders %u", symbol, e->side ? 'S' : 'B', a,
			       e->body.level.shares, e->body.level.orders);
		break;
	case FH_EVENT_TOP_OF_BOOK:
		if (e->body.top.bid_price != INT64_MIN)
			cli_price_text(a, sizeof(a), e->body.top.bid_price, d);
		if (e->body.top.ask_price != INT64_MIN)
			cli_price_text(b, sizeof(b), e->body.top.ask_price, d);
		if (json)
			printf(",\"symbol\":\"%s\",\"bid\":\"%s\",\"bid_shares\":%u,\"ask\":\"%s\",\"ask_shares\":%u",
			       symbol, a, e->body.top.bid_shares, b, e->body.top.ask_shares);
		else
			printf(" %s %u @ %s | %s @ %u", symbol, e->body.top.bid_shares, a[0] ? a : "-", b[0] ? b : "-",
			       e->body.top.ask_shares);
		break;
	case FH_EVENT_TRADE:
		cli_price_text(a, sizeof(a), e->body.trade.price, d);
		if (json)
			printf(",\"symbol\":\"%s\",\"price\":\"%s\",\"quantity\":%u,\"match\":%" PRIu64 ",\"flags\":%u",
			       symbol, a, e->quantity, e->body.trade.match, e->flags & FH_FLAG_TRADE_MASK);
		else
			printf(" %s %u @ %s match %" PRIu64 "%s%s", symbol, e->quantity, a, e->body.trade.match,
			       e->flags & FH_FLAG_TRADE_CROSS ? " cross" : "",
			       e->flags & FH_FLAG_TRADE_NON_DISPLAYED ? " non-displayed" : "");
		break;
	case FH_EVENT_TRADING_STATUS:
		tail_status_reason(a, sizeof(a), e, json);
		if (json)
			printf(",\"symbol\":\"%s\",\"trading_state\":\"%s\",\"reason\":\"%s\"", symbol,
			       tail_trading_state_name(e->body.status.state), a);
		else
			printf(" %s trading_state %s reason %s", symbol, tail_trading_state_name(e->body.status.state),
			       a[0] ? a : "-");
		break;
	case FH_EVENT_GAP:
		if (json)
			printf(",\"first\":%" PRIu64 ",\"count\":%" PRIu64, e->body.gap.first, e->body.gap.count);
		else
			printf(" first %" PRIu64 " count %" PRIu64, e->body.gap.first, e->body.gap.count);
		break;
	case FH_EVENT_BOOK_STATE:
		/* One instrument's own state (fh_event.h, "Per instrument"): it is named; a feed's is as ever. */
		if (json && fh_event_state_instrument(e))
			printf(",\"scope\":\"instrument\",\"symbol\":\"%s\",\"instrument\":%u,\"own\":\"%s\"", symbol,
			       e->instrument, cli_book_state_name(e->body.state.state));
		else if (fh_event_state_instrument(e))
			printf(" instrument %s (%u)", symbol, e->instrument);
		if (json)
			printf(",\"reason\":\"%s\",\"first\":%" PRIu64 ",\"count\":%" PRIu64,
			       fh_book_reason_name(e->body.state.reason), e->body.state.first, e->body.state.count);
		else
			printf(" %s reason %s first %" PRIu64 " count %" PRIu64, cli_book_state_name(e->body.state.state),
			       fh_book_reason_name(e->body.state.reason), e->body.state.first, e->body.state.count);
		break;
	case FH_EVENT_END_OF_PACKET:
		if (json)
			printf(",\"last_seq\":%" PRIu64 ",\"messages\":%u", e->body.packet.last_seq, e->body.packet.messages);
		else
			printf(" last_seq %" PRIu64 " messages %u", e->body.packet.last_seq, e->body.packet.messages);
		break;
	case FH_EVENT_BOOK_RECOVERED:
		if (json)
			printf(",\"symbol\":\"%s\"", symbol);
		else	/* the books are taken afresh while in this state */
			printf(" %s state %s", symbol, cli_book_state_name(fh_event_book_state(e)));
		break;
	case FH_EVENT_STOP:
	case FH_EVENT_BOOK_CLEARED:	/* the whole feed's: no instrument */
		if (json)
			printf(",\"symbol\":\"\"");
		break;
	default:
		if (json)
			printf(",\"symbol\":\"%s\"", symbol);
		else
			printf(" %s", symbol);
		break;
	}
	/*
	 * Every line ends with the event's times; every JSON event also says what its
	 * feed's books were worth when it was published.
	 */
	if (json) {
		printf(",\"exchange_ts_ns\":%" PRIu64 ",\"rx_ts_ns\":%" PRIu64 ",\"state\":\"%s\"}\n", e->exchange_ts_ns,
		       e->rx_ts_ns, cli_book_state_name(fh_event_book_state(e)));
		return;
	}
	tail_time_text(exch, sizeof(exch), e->exchange_ts_ns, false);
	tail_time_text(rx, sizeof(rx), e->rx_ts_ns, true);
	printf("  exch %s rx %s\n", exch, rx);
}

/* Keeps the books from level events; true when fhd said it stopped. */
static bool tail_event_apply(const struct fh_event *e)
{
	struct tail_instrument *in;

	switch (e->type) {
	case FH_EVENT_LEVEL_CHANGED:
		in = tail_instrument_get(e->feed, e->instrument);
		if (in != NULL && e->side <= FH_SIDE_ASK)
			tail_level_set(&in->sides[e->side], e->side == FH_SIDE_BID, e->body.level.price,
				     e->body.level.shares, e->body.level.orders);
		break;
	case FH_EVENT_INSTRUMENT_DEFINED:
		in = tail_instrument_get(e->feed, e->instrument);
		if (in != NULL) {
			snprintf(in->symbol, sizeof(in->symbol), "%.16s", e->body.instrument.symbol);
			in->decimals = e->body.instrument.price_decimals;
		}
		break;
	case FH_EVENT_BOOK_CLEARED:
		tail_books_clear(e->feed);
		break;
	case FH_EVENT_BOOK_RECOVERED:	/* the instrument's book follows, level by level */
		in = tail_instrument_get(e->feed, e->instrument);
		if (in != NULL) {
			in->sides[0].count = in->sides[1].count = 0;
			if (e->body.instrument.symbol[0] != '\0')
				snprintf(in->symbol, sizeof(in->symbol), "%.16s", e->body.instrument.symbol);
			in->decimals = e->body.instrument.price_decimals;
		}
		break;
	case FH_EVENT_STOP:
		return true;
	default:
		break;
	}
	return false;
}

static bool tail_event_wanted(const struct fh_consumer *c, const struct fh_event *e,
			    const struct tail_options *o)
{
	if (o->type >= 0 && e->type != o->type)
		return false;
	if (o->feed != NULL && strcmp(fh_feed_name(c, e->feed), o->feed) != 0)
		return false;
	if (o->symbol != NULL) {
		const struct tail_instrument *in = tail_instrument_get(e->feed, e->instrument);

		if (in == NULL || strcmp(in->symbol, o->symbol) != 0)
			return false;
	}
	return true;
}
/*
 * Attaches (*c NULL) or reattaches *c after a restart. Retries while the ring is not
 * there yet (with --wait, or after a restart: the new fhd may still be setting it up);
 * with --wait also while it is refused, since fhd may replace a bad or untrusted
 * segment by a good one, saying each new reason once. 0, or fh tail's exit status:
 * 3 for another event layout (rebuild), 1 otherwise.
 */
static int tail_connect(struct fh_consumer **c, const struct tail_options *o)
{
	char err[512], said[512] = "";
	int rc;

	/*
	 * --wait wants the next events of a running fhd. A ring already stopped when fh tail
	 * starts is an earlier fhd's (segments stay for consumers to drain until the next fhd
	 * replaces them): wait at its end, and read the replacement from its first event, as
	 * after a restart. A ring that turns up stopped later (after ENOENT or a refusal) is
	 * read: it is the one waited for.
	 */
	if (*c == NULL && o->wait && fh_attach(o->ring, FH_START_NOW, c, err, sizeof(err)) == 0) {
		if (fh_stopped(*c)) {
			fprintf(stderr, "fh tail: ring %s is stopped (an earlier fhd's): waiting for fhd to "
				"replace it\n", o->ring);
			return 0;
		}
		fh_detach(*c);
		*c = NULL;
	}
	for (;;) {
		rc = *c == NULL ? fh_attach(o->ring, o->from_now ? FH_START_NOW : FH_START_OLDEST, c, err,
					    sizeof(err)) :
				  fh_reattach(*c, err, sizeof(err));
		if (rc == 0)
			return 0;
		if (cli_quit || rc == -EPROTO || (!o->wait && (rc != -ENOENT || *c == NULL))) {
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

#define TAIL_SLOW_US_MAX 10000000u	/* --slow-us: at most 10 s per batch */

static void tail_usage_print(void)
{
	printf("usage: fh tail [--ring NAME] [--feed F] [--symbol S] [--type T] [--json|--quiet]\n"
	       "               [--dump-books FILE] [--wait] [--from-now] [--slow-us N] [--count N]\n"
	       "  prints the events of fhd's publish ring NAME (default fh-1), one a line, from the\n"
	       "  oldest it holds (--from-now: from the next one); each line ends with the event's\n"
	       "  exchange time and fhd's receive time (JSON: exchange_ts_ns, rx_ts_ns)\n"
	       "  --type T: only events of type T, as publish/libfh/fh_event.h names it (or as\n"
	       "  fh tail prints it):\n");
	for (int t = 1; t < FH_EVENT_TYPES; t++)
		printf("    %-20s %s\n", tail_type_header_names[t], tail_type_names[t]);
	printf("  --wait: wait for the ring to appear, and while it is refused or broken, for\n"
	       "  fhd to replace it by a good one (without it, those exit 1); a ring already\n"
	       "  stopped at start is an earlier fhd's: wait for the next fhd's\n"
	       "  --count N: stop after N events read, printed or filtered out (0: never)\n"
	       "  --slow-us N: sleep N us after each batch (tests)\n");
}

/*
 * Reads fh tail's options into o. -1 to go on, or the exit status: 0 after --help, 2
 * for an unknown option or event type (said on stderr).
 */
static int tail_options_parse(int argc, char **argv, struct tail_options *o)
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
	char shown[CLI_NAME_SHOWN_MAX];
	int opt;

	while ((opt = getopt_long(argc, argv, "r:f:s:t:d:jqwnS:c:h", longs, NULL)) != -1) {
		switch (opt) {
		case 'r': o->ring = optarg; break;
		case 'f': o->feed = optarg; break;
		case 's': o->symbol = optarg; break;
		case 't':
			o->type = tail_type_parse(optarg);
			if (o->type < 0) {
				cli_text_escape(shown, sizeof(shown), optarg, false);
				fprintf(stderr, "fh tail: unknown event type '%s' (fh tail --help lists them)\n", shown);
				return 2;
			}
			break;
		case 'd': o->dump = optarg; break;
		case 'j': o->json = true; break;
		case 'q': o->quiet = true; break;
		case 'w': o->wait = true; break;
		case 'n': o->from_now = true; break;
		case 'S':
			if (cli_number_parse("tail", "slow-us", optarg, 0, TAIL_SLOW_US_MAX, &o->slow_us) != 0)
				return 2;
			break;
		case 'c':
			if (cli_number_parse("tail", "count", optarg, 0, UINT64_MAX, &o->count) != 0)
				return 2;
			break;
		case 'h':
			tail_usage_print();
			return 0;
		default:
			return 2;
		}
	}
	return -1;
}

/*
 * Applies a batch of n events to the books and prints the wanted ones; *seen counts
 * them. Sets cli_quit at fhd's stop, or once --count events are seen.
 */
static void tail_batch_handle(struct fh_consumer *c, const struct fh_event *events, int n,
			      const struct tail_options *o, bool books_lapped, uint64_t *seen)
{
	for (int i = 0; i < n; i++) {
		bool stop = tail_event_apply(&events[i]);

		/* Lapped books are whole only in their top levels: take the final ones. */
		if (stop && books_lapped)
			tail_books_resync(c);
		if (!o->quiet && tail_event_wanted(c, &events[i], o))
			tail_event_print(c, &events[i], o->json);
		(*seen)++;
		if (stop || (o->count && *seen >= o->count)) {
			cli_quit = 1;
			break;
		}
	}
}

int tail_main(int argc, char **argv)
{
	struct tail_options o = { .ring = "fh-1", .type = -1 };
	struct fh_event events[CLI_BATCH_MAX];
	struct fh_consumer *c = NULL;
	uint64_t seen = 0, laps = 0;
	bool broken_said = false, books_lapped = false;
	int rc, status = 0;

	rc = tail_options_parse(argc, argv, &o);
	if (rc >= 0)
		return rc;
	cli_signals_catch();
	rc = tail_connect(&c, &o);
	if (rc != 0)
		return rc;
	/* From now on, the INSTRUMENT_DEFINED events lie behind: the view names the symbols. */
	if (o.from_now)
		tail_symbols_take(c);
	while (!cli_quit) {
		int n = fh_poll(c, events, CLI_BATCH_MAX);

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
				tail_books_resync(c));
			continue;
		}
		if (n == FH_POLL_RESTARTED) {
			fprintf(stderr, "fh tail: fhd restarted: reattaching\n");
			for (int f = 0; f < CLI_FEEDS_MAX; f++)
				tail_books_clear((uint8_t)f);
			books_lapped = false;	/* the new run's books start whole */
			rc = tail_connect(&c, &o);
			if (rc != 0)
				return rc;
			continue;
		}
		if (n == 0) {
			usleep(o.wait || o.dump ? 100 : 1000);
			continue;
		}
		tail_batch_handle(c, events, n, &o, books_lapped, &seen);
		if (o.slow_us)
			usleep((useconds_t)o.slow_us);
	}
	fflush(stdout);
	fprintf(stderr, "fh tail: %" PRIu64 " events read, %" PRIu64 " lost in %" PRIu64 " laps\n", seen,
		fh_lost_total(c), laps);
	rc = o.dump ? tail_dump_write(o.dump, c) : 0;
	fh_detach(c);
	return rc ? 1 : status;
}
