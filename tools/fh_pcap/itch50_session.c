/*
 * itch50_session: the synthetic NASDAQ ITCH 5.0 session behind `fh-pcap gen`: a
 * system event, one stock directory message per symbol, then order flow drawn from a
 * fixed message mix. A live-order model keeps the flow consistent (executes and
 * cancels name live orders, the book is never crossed or locked) except for a small
 * seeded share of errors (unknown references, oversized executes) that exercise the
 * decoder's and book's error paths. Deterministic from the seed. Messages go to a
 * mold_packer; field offsets follow the message table of itch50-moldudp64.md and are
 * fh-pcap's own (see itch50.c for why).
 *
 * Two profiles. shallow (the default, and the only one before it had a name): at most
 * 65536 live orders, rested 1..20 ticks from the mid, with the error share above.
 * deep: a book like a real day's, for benchmarks: more adds than removals, so live
 * orders grow through the session (about 0.29 per message: 1.46M after 5M messages),
 * rested over a wide band of ticks around the mid (hundreds of levels per side), and
 * no errors at all, so any ITCH book (including ones that cannot take an unknown
 * reference) can run it. In both, executes, cancels and deletes name a live order
 * drawn uniformly from all of them: mostly old ones (when deep, mostly far from the
 * touch).
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "fh_pcap.h"

#define GEN_ORDERS_MAX (1u << 16)	/* live orders kept by the generator model */
#define GEN_DEEP_ORDERS_MAX (1u << 22)	/* the same, deep profile */
#define GEN_TICK 100			/* one cent in Price(4) */
#define GEN_TOUCH_TICKS_MAX 20
#define GEN_DEEP_BAND_TICKS 500		/* deep: the widest distance from the mid */
#define GEN_DEEP_TOUCH_SHARE 0.3	/* deep: share of adds within GEN_TOUCH_TICKS_MAX */
#define GEN_PRICE_MIN (5 * 10000)
#define GEN_PRICE_MAX (1000 * 10000)
#define GEN_UNKNOWN_REF_BASE 0x4000000000000000ull
#define GEN_START_NS (34200ull * 1000000000ull)	/* 09:30:00 */

/* The distinct prices of one side's live orders, ascending, with their order counts. */
struct gen_levels {
	uint32_t *prices;
	uint32_t *orders;
	uint32_t count, capacity;
};

struct gen_symbol {
	char name[9];
	uint32_t mid_price;		/* Price(4), whole cents */
	struct gen_levels sides[2];	/* GEN_BID, GEN_ASK */
};

enum { GEN_BID = 0, GEN_ASK = 1 };

struct gen_order {
	uint64_t ref;
	uint32_t shares;
	uint32_t price;
	uint16_t locate;
	uint8_t side;
};

/* One relative frequency of a message type, per 1000 order-flow messages. */
struct gen_mix_entry {
	char type;
	unsigned weight;
};

/* What a profile changes: the mix, the error shares, how deep the book may grow. */
struct gen_profile {
	const struct gen_mix_entry *mix;
	size_t mix_count;
	double unknown_share;		/* order events naming a reference never issued */
	double oversize_share;		/* E, C, X taking more than the order has left */
	size_t orders_max;		/* live orders; an add beyond becomes a delete */
	bool deep_prices;		/* rest over GEN_DEEP_BAND_TICKS, not 1..20 ticks */
};

struct generator {
	struct rng rng;
	const struct gen_profile *profile;
	struct gen_symbol *symbols;	/* index locate - 1 */
	unsigned symbol_count;
	struct gen_order *orders;	/* live orders, unordered */
	size_t order_count;
	uint64_t next_ref;
	uint64_t next_match;
	uint64_t timestamp_ns;
	struct mold_packer *packer;
};

static const struct gen_mix_entry gen_mix_shallow[] = {
	{ 'A', 360 }, { 'F', 40 }, { 'E', 110 }, { 'C', 30 }, { 'X', 80 }, { 'D', 230 },
	{ 'U', 120 }, { 'P', 15 }, { 'Q', 5 }, { 'I', 8 }, { 'H', 2 },
};

/*
 * 530 adds against about 237 removals (every D, and the E, C and X that take the
 * whole order): live orders grow by about 0.29 per message.
 */
static const struct gen_mix_entry gen_mix_deep[] = {
	{ 'A', 490 }, { 'F', 40 }, { 'E', 90 }, { 'C', 20 }, { 'X', 60 }, { 'D', 170 },
	{ 'U', 100 }, { 'P', 15 }, { 'Q', 5 }, { 'I', 8 }, { 'H', 2 },
};

#define GEN_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct gen_profile gen_profiles[] = {
	[GEN_PROFILE_SHALLOW] = { gen_mix_shallow, GEN_COUNT(gen_mix_shallow), 0.01, 0.02,
				  GEN_ORDERS_MAX, false },
	[GEN_PROFILE_DEEP] = { gen_mix_deep, GEN_COUNT(gen_mix_deep), 0.0, 0.0,
			       GEN_DEEP_ORDERS_MAX, true },
};

static void gen_symbols_name(struct generator *g)
{
	static const char consonants[] = "BCDFGHJKLMNPRSTVWZ";
	static const char vowels[] = "AEIOU";

	for (unsigned i = 0; i < g->symbol_count; i++) {
		struct gen_symbol *sym = &g->symbols[i];
		bool unique = false;

		for (unsigned attempt = 0; attempt < 100 && !unique; attempt++) {
			unsigned len = (unsigned)rng_range(&g->rng, 3, 5);

			for (unsigned c = 0; c < len; c++)
				sym->name[c] = (char)rng_pick(&g->rng, c & 1 ? vowels : consonants);
			sym->name[len] = '\0';
			unique = true;
			for (unsigned j = 0; j < i && unique; j++)
				unique = strcmp(g->symbols[j].name, sym->name) != 0;
		}
		if (!unique)	/* digits never clash with the letter-only names */
			snprintf(sym->name, sizeof(sym->name), "Z%07u", (i + 1) % 10000000u);
		sym->mid_price = (uint32_t)rng_range(&g->rng, 10 * 100, 500 * 100) * GEN_TICK;
	}
}

/* Advances the clock 1..20000 ns and writes the common header at that time. */
static void gen_header(struct generator *g, uint8_t *msg, uint8_t type, uint16_t locate)
{
	g->timestamp_ns += rng_range(&g->rng, 1, 20000);
	itch_header_put(msg, type, locate, g->timestamp_ns);
}

static int gen_send(struct generator *g, const uint8_t *msg)
{
	assert(itch_message_len(msg[0]) != 0);
	return mold_packer_add(g->packer, msg, itch_message_len(msg[0]));
}

static uint16_t gen_random_locate(struct generator *g)
{
	return (uint16_t)rng_range(&g->rng, 1, g->symbol_count);
}

/*
 * The generator keeps, per symbol and side, the prices of its live orders, so that
 * it never sends a book that is crossed or locked: a real exchange would have
 * matched such an order instead of resting it.
 */

/* Index of the first level at or above price. */
static uint32_t gen_levels_find(const struct gen_levels *l, uint32_t price)
{
	uint32_t lo = 0, hi = l->count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (l->prices[mid] < price)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* One more live order at price. Returns 0 or -ENOMEM. */
static int gen_levels_add(struct gen_levels *l, uint32_t price)
{
	uint32_t i = gen_levels_find(l, price);

	if (i < l->count && l->prices[i] == price) {
		l->orders[i]++;
		return 0;
	}
	if (l->count == l->capacity) {
		uint32_t capacity = l->capacity ? l->capacity * 2 : 64;
		uint32_t *prices = realloc(l->prices, capacity * sizeof(*prices));

		if (!prices)
			return -ENOMEM;
		l->prices = prices;
		prices = realloc(l->orders, capacity * sizeof(*prices));
		if (!prices)
			return -ENOMEM;
		l->orders = prices;
		l->capacity = capacity;
	}
	memmove(l->prices + i + 1, l->prices + i, (l->count - i) * sizeof(*l->prices));
	memmove(l->orders + i + 1, l->orders + i, (l->count - i) * sizeof(*l->orders));
	l->prices[i] = price;
	l->orders[i] = 1;
	l->count++;
	return 0;
}

/* One live order at price fewer; it must be there. */
static void gen_levels_remove(struct gen_levels *l, uint32_t price)
{
	uint32_t i = gen_levels_find(l, price);

	assert(i < l->count && l->prices[i] == price && l->orders[i] > 0);
	if (--l->orders[i] > 0)
		return;
	memmove(l->prices + i, l->prices + i + 1, (l->count - i - 1) * sizeof(*l->prices));
	memmove(l->orders + i, l->orders + i + 1, (l->count - i - 1) * sizeof(*l->orders));
	l->count--;
}

static struct gen_levels *gen_order_levels(struct generator *g, const struct gen_order *order)
{
	return &g->symbols[order->locate - 1].sides[order->side == 'B' ? GEN_BID : GEN_ASK];
}

/* The best live bid (0: none) and ask (UINT32_MAX: none) of a symbol. */
static void gen_touch(const struct gen_symbol *sym, uint32_t *bid, uint32_t *ask)
{
	const struct gen_levels *b = &sym->sides[GEN_BID], *a = &sym->sides[GEN_ASK];

	*bid = b->count ? b->prices[b->count - 1] : 0;
	*ask = a->count ? a->prices[0] : UINT32_MAX;
}

/*
 * Random-walks the symbol's mid by at most one tick, keeps it strictly inside the
 * live spread where there is room (so quotes and trades follow the book), and
 * returns it.
 */
static uint32_t gen_mid_walk(struct generator *g, uint16_t locate)
{
	struct gen_symbol *sym = &g->symbols[locate - 1];
	uint64_t r = rng_range(&g->rng, 0, 9);
	uint32_t bid, ask;

	if (r == 0 && sym->mid_price > GEN_PRICE_MIN)
		sym->mid_price -= GEN_TICK;
	else if (r == 1 && sym->mid_price < GEN_PRICE_MAX)
		sym->mid_price += GEN_TICK;
	gen_touch(sym, &bid, &ask);
	if (bid != 0 && sym->mid_price <= bid && (ask == UINT32_MAX || ask - bid > GEN_TICK))
		sym->mid_price = bid + GEN_TICK;
	else if (ask != UINT32_MAX && sym->mid_price >= ask && ask - bid > GEN_TICK)
		sym->mid_price = ask - GEN_TICK;
	return sym->mid_price;
}

/*
 * How far from the mid an order rests, in Price(4): 1..20 ticks; in the deep profile
 * GEN_DEEP_TOUCH_SHARE of the time, else 1..GEN_DEEP_BAND_TICKS.
 */
static uint32_t gen_away(struct generator *g)
{
	uint32_t ticks_max = GEN_TOUCH_TICKS_MAX;

	if (g->profile->deep_prices && !rng_chance(&g->rng, GEN_DEEP_TOUCH_SHARE))
		ticks_max = GEN_DEEP_BAND_TICKS;
	return (uint32_t)rng_range(&g->rng, 1, ticks_max) * GEN_TICK;
}

/*
 * A resting price gen_away() on the passive side of the mid, and always strictly
 * below the best live ask (a bid) or above the best live bid (an ask): never
 * crossing or locking the book.
 */
static uint32_t gen_touch_price(struct generator *g, uint16_t locate, uint8_t side)
{
	uint32_t mid = gen_mid_walk(g, locate), bid, ask, price;
	uint32_t away = gen_away(g);

	gen_touch(&g->symbols[locate - 1], &bid, &ask);
	if (side == 'B') {
		price = mid > away ? mid - away : GEN_TICK;
		if (price >= ask)
			price = ask - GEN_TICK;
		assert(price > 0 && price < ask);
	} else {
		price = mid + away;
		if (price <= bid)
			price = bid + GEN_TICK;
		assert(price > bid);
	}
	return price;
}

static uint32_t gen_shares(struct generator *g)
{
	if (rng_chance(&g->rng, 0.8))
		return (uint32_t)rng_range(&g->rng, 1, 10) * 100;
	return (uint32_t)rng_range(&g->rng, 1, 499);
}

static void gen_stock(struct generator *g, uint8_t *p, uint16_t locate)
{
	put_alpha(p, g->symbols[locate - 1].name, 8);
}

static int gen_directory(struct generator *g)
{
	uint8_t msg[64];
	int err;

	gen_header(g, msg, 'S', 0);
	msg[11] = 'O';			/* start of messages */
	err = gen_send(g, msg);
	for (unsigned i = 0; i < g->symbol_count && !err; i++) {
		uint16_t locate = (uint16_t)(i + 1);

		gen_header(g, msg, 'R', locate);
		gen_stock(g, msg + 11, locate);
		msg[19] = 'Q';		/* market category */
		msg[20] = 'N';		/* financial status */
		put_u32(msg + 21, 100);	/* round lot size */
		msg[25] = 'N';		/* round lots only */
		msg[26] = 'C';		/* issue classification */
		put_alpha(msg + 27, "Z", 2);
		msg[29] = 'P';		/* authenticity */
		msg[30] = 'N';		/* short sale threshold */
		msg[31] = 'N';		/* IPO flag */
		msg[32] = '1';		/* LULD tier */
		msg[33] = 'N';		/* ETP flag */
		put_u32(msg + 34, 0);	/* ETP leverage */
		msg[38] = 'N';		/* inverse */
		err = gen_send(g, msg);
	}
	return err;
}

static int gen_add(struct generator *g, bool attributed)
{
	uint8_t msg[64];
	struct gen_order order;

	order.locate = gen_random_locate(g);
	order.side = rng_chance(&g->rng, 0.5) ? 'B' : 'S';
	order.shares = gen_shares(g);
	order.price = gen_touch_price(g, order.locate, order.side);
	order.ref = g->next_ref++;
	if (gen_levels_add(gen_order_levels(g, &order), order.price) != 0)
		return -ENOMEM;
	gen_header(g, msg, attributed ? 'F' : 'A', order.locate);
	put_u64(msg + 11, order.ref);
	msg[19] = order.side;
	put_u32(msg + 20, order.shares);
	gen_stock(g, msg + 24, order.locate);
	put_u32(msg + 32, order.price);
	if (attributed)
		put_alpha(msg + 36, rng_chance(&g->rng, 0.5) ? "GSCO" : "MSCO", 4);
	assert(g->order_count < g->profile->orders_max);
	g->orders[g->order_count++] = order;
	return gen_send(g, msg);
}

static void gen_order_remove(struct generator *g, size_t index)
{
	assert(index < g->order_count);
	gen_levels_remove(gen_order_levels(g, &g->orders[index]), g->orders[index].price);
	g->orders[index] = g->orders[--g->order_count];
}

/*
 * The shares an E, C or X message for order takes, drawn so that the profile's
 * oversize share (2%, none when deep) exceed what is left; *gone says whether the order leaves the book. Other types take none.
 */
static uint32_t gen_event_shares(struct generator *g, const struct gen_order *order, char type,
				 bool unknown, bool *gone)
{
	uint32_t shares = 0;

	if (type == 'E' || type == 'C' || type == 'X') {
		if (unknown) {
			shares = gen_shares(g);
		} else if (rng_chance(&g->rng, g->profile->oversize_share)) {
			shares = order->shares + (uint32_t)rng_range(&g->rng, 1, 100);
			*gone = true;
		} else if (order->shares > 1 && rng_chance(&g->rng, type == 'X' ? 0.8 : 0.5)) {
			shares = (uint32_t)rng_range(&g->rng, 1, order->shares - 1);
		} else {
			shares = order->shares;
			*gone = true;
		}
	}
	return shares;
}

/*
 * Fills the body of a U (order replace) for order, which becomes a new order at a new
 * price on the same side; an unknown reference leaves the model as it was. 0 or -ENOMEM.
 */
static int gen_replace(struct generator *g, uint8_t *msg, struct gen_order *order,
		       uint16_t locate, bool unknown)
{
	struct gen_order replaced;

	replaced.ref = g->next_ref++;
	replaced.locate = locate;
	replaced.side = unknown ? 'B' : order->side;
	replaced.shares = gen_shares(g);
	/* the replaced order leaves the book first: its price no longer bounds the new one */
	if (!unknown)
		gen_levels_remove(gen_order_levels(g, order), order->price);
	replaced.price = gen_touch_price(g, locate, replaced.side);
	if (!unknown && gen_levels_add(gen_order_levels(g, &replaced), replaced.price) != 0)
		return -ENOMEM;
	put_u64(msg + 19, replaced.ref);
	put_u32(msg + 27, replaced.shares);
	put_u32(msg + 31, replaced.price);
	if (!unknown)
		*order = replaced;
	return 0;
}

/*
 * Messages naming an existing order, drawn uniformly from the live ones: E, C, X, D,
 * U. In the shallow profile about 1% name a reference that was never issued and 2%
 * of executes/cancels exceed the remaining shares, so the decoder's and book's error
 * paths see traffic too.
 */
static int gen_order_event(struct generator *g, char type)
{
	size_t index = (size_t)rng_range(&g->rng, 0, g->order_count - 1);
	struct gen_order *order = &g->orders[index];
	bool unknown = rng_chance(&g->rng, g->profile->unknown_share);
	uint64_t ref = unknown ? GEN_UNKNOWN_REF_BASE + rng_range(&g->rng, 0, UINT32_MAX) :
				 order->ref;
	uint16_t locate = unknown ? gen_random_locate(g) : order->locate;
	bool gone = false;
	uint32_t shares = gen_event_shares(g, order, type, unknown, &gone);
	uint8_t msg[64];

	gen_header(g, msg, (uint8_t)type, locate);
	put_u64(msg + 11, ref);
	switch (type) {
	case 'E':
		put_u32(msg + 19, shares);
		put_u64(msg + 23, g->next_match++);
		break;
	case 'C':
		put_u32(msg + 19, shares);
		put_u64(msg + 23, g->next_match++);
		msg[31] = rng_chance(&g->rng, 0.9) ? 'Y' : 'N';
		put_u32(msg + 32, unknown ? g->symbols[locate - 1].mid_price : order->price);
		break;
	case 'X':
		put_u32(msg + 19, shares);
		break;
	case 'D':
		gone = true;
		break;
	case 'U':
		if (gen_replace(g, msg, order, locate, unknown) != 0)
			return -ENOMEM;
		break;
	default:
		assert(!"not an order event");
	}
	if (unknown)
		return gen_send(g, msg);
	if (gone)
		gen_order_remove(g, index);
	else if (type != 'U')
		order->shares -= shares;
	return gen_send(g, msg);
}

static int gen_other_event(struct generator *g, char type)
{
	uint16_t locate = gen_random_locate(g);
	uint32_t mid = gen_mid_walk(g, locate);
	uint8_t msg[64];

	gen_header(g, msg, (uint8_t)type, locate);
	switch (type) {
	case 'P':			/* non-displayable order execution */
		put_u64(msg + 11, 0);
		msg[19] = rng_chance(&g->rng, 0.5) ? 'B' : 'S';
		put_u32(msg + 20, gen_shares(g));
		gen_stock(g, msg + 24, locate);
		put_u32(msg + 32, mid + (uint32_t)rng_range(&g->rng, 0, 4) * GEN_TICK);
		put_u64(msg + 36, g->next_match++);
		break;
	case 'Q':
		put_u64(msg + 11, rng_range(&g->rng, 1, 500) * 100);
		gen_stock(g, msg + 19, locate);
		put_u32(msg + 27, mid);
		put_u64(msg + 31, g->next_match++);
		msg[39] = rng_pick(&g->rng, "OCHI");
		break;
	case 'I':
		put_u64(msg + 11, rng_range(&g->rng, 0, 100) * 100);
		put_u64(msg + 19, rng_range(&g->rng, 0, 50) * 100);
		msg[27] = rng_pick(&g->rng, "BSNO");
		gen_stock(g, msg + 28, locate);
		put_u32(msg + 36, mid + (uint32_t)rng_range(&g->rng, 0, 10) * GEN_TICK);
		put_u32(msg + 40, mid + (uint32_t)rng_range(&g->rng, 0, 5) * GEN_TICK);
		put_u32(msg + 44, mid);
		msg[48] = rng_pick(&g->rng, "OCH");
		msg[49] = rng_pick(&g->rng, "L123456789ABC ");
		break;
	case 'H':			/* stays trading: a halt would stall the mix */
		gen_stock(g, msg + 11, locate);
		msg[19] = 'T';
		msg[20] = ' ';
		put_alpha(msg + 21, "", 4);
		break;
	default:
		assert(!"not a standalone event");
	}
	return gen_send(g, msg);
}

static int gen_flow_message(struct generator *g)
{
	unsigned pick = (unsigned)rng_range(&g->rng, 0, 999), acc = 0;
	char type = 'A';

	for (size_t i = 0; i < g->profile->mix_count; i++) {
		acc += g->profile->mix[i].weight;
		if (pick < acc) {
			type = g->profile->mix[i].type;
			break;
		}
	}
	if (strchr("ECXDU", type)) {
		if (g->order_count == 0)
			type = 'A';
		else
			return gen_order_event(g, type);
	}
	if (type == 'A' || type == 'F') {
		if (g->order_count >= g->profile->orders_max)
			return gen_order_event(g, 'D');
		return gen_add(g, type == 'F');
	}
	return gen_other_event(g, type);
}

/*
 * Generates a session of exactly messages messages (at least symbols + 1: the system
 * event and the directory come first) over symbols symbols in the given profile into
 * packer, and finishes it. Returns 0, or -ENOMEM / -EIO (out of memory is printed
 * here, write errors by the writer).
 */
int itch50_session_generate(uint64_t seed, uint64_t messages, unsigned symbols,
			    enum gen_profile_id profile, struct mold_packer *packer)
{
	struct generator g;
	size_t orders_capacity;
	int err;

	assert(symbols >= 1 && symbols <= GEN_SYMBOLS_MAX && messages >= symbols + 1);
	assert(profile < GEN_COUNT(gen_profiles));
	memset(&g, 0, sizeof(g));
	g.profile = &gen_profiles[profile];
	for (size_t i = 0, sum = 0; i < g.profile->mix_count; i++) {
		sum += g.profile->mix[i].weight;
		assert(i + 1 < g.profile->mix_count || sum == 1000);	/* per 1000 messages */
	}
	/* a session of messages messages never has more live orders than that */
	orders_capacity = messages < g.profile->orders_max ? (size_t)messages : g.profile->orders_max;
	rng_seed(&g.rng, seed, 0x69746368);
	g.symbol_count = symbols;
	g.next_ref = 1;
	g.next_match = 1;
	g.timestamp_ns = GEN_START_NS;
	g.packer = packer;
	g.symbols = calloc(symbols, sizeof(*g.symbols));
	g.orders = calloc(orders_capacity, sizeof(*g.orders));
	if (!g.symbols || !g.orders) {
		fprintf(stderr, "fh-pcap: out of memory\n");
		err = -ENOMEM;
		goto out;
	}
	gen_symbols_name(&g);
	err = gen_directory(&g);
	for (uint64_t i = 1 + symbols; i < messages && !err; i++)
		err = gen_flow_message(&g);
	if (!err)
		err = mold_packer_finish(packer);
	assert(err || packer->messages == messages);
out:
	for (unsigned i = 0; g.symbols && i < symbols; i++)
		for (int side = GEN_BID; side <= GEN_ASK; side++) {
			free(g.symbols[i].sides[side].prices);
			free(g.symbols[i].sides[side].orders);
		}
	free(g.symbols);
	free(g.orders);
	return err;
}