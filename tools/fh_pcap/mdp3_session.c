/*
 * mdp3_session: the synthetic CME MDP 3.0 session behind `fh-pcap gen --protocol
 * cme-mdp3`: channel 310 (cme-mdp3.md section 8), SBE schema 1 version 13, little
 * endian, every message framed by MsgSize (sections 2-7 of the doc).
 *
 * The incremental feed opens with one definition per instrument (54, every fourth a
 * 56 spread of the two futures before it), then events drawn from a fixed mix: book
 * updates (46) with level shifting (New inside the depth, Change, Delete, now and
 * then DeleteFrom and DeleteThru), implied levels ('E'/'F', two deep) and, for the
 * instruments with an order book, order entries naming their NoMDEntries entry;
 * order-book updates (47); trades (48, aggressor first in the order group, then the
 * cumulative volume 37); security status (30); heartbeats (12) alone in a packet.
 * Each NoMDEntries entry of 46, 48 and 37 takes the next RptSeq of its instrument;
 * each packet the next MsgSeqNum. Packets go out on line A and B of the incremental
 * feed. With the snapshot loop on, one instrument's 52 (and its 53 chunks on the
 * Snapshot-MBO feed when it has an order book) follows every few incremental packets,
 * carrying the book as it stands then, LastMsgSeqNumProcessed and RptSeq; a loop
 * covers the instruments that had activity when it began (TotNumReports) and starts
 * again at MsgSeqNum 1.
 *
 * The generator keeps the books it sends (its own model, not a decoder): the price
 * levels as the receiver's MarketDepth-slot arrays must hold them, never crossed, and
 * the orders by OrderID. --books and --orders write them at the end in the canonical
 * dump formats (docs/book-dump.md's MDP3 section; tests/ref_mdp3.md's order lines),
 * feed name "cme". Choices that follow tests/ref_mdp3.md where the doc is open:
 * levels never leave holes, a Delete is not followed by a hidden level coming in (the
 * model has none), order entries only for instruments that already had a RptSeq.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "decoders/cme_mdp3/mdp3_templates.h"
#include "fh_pcap.h"

#define SBE_SCHEMA_ID 1
#define SBE_VERSION 13
#define PACKET_HEADER_LEN 12		/* MsgSeqNum u32, SendingTime u64 */
#define MESSAGE_HEADER_LEN 10		/* MsgSize u16, blockLength, templateId, schemaId, version */

/* Wire blockLengths of version 13 (cme-mdp3.md sections 3 and 5). */
#define INC_ROOT_LEN 11
#define BOOK_ENTRY_LEN 32
#define BOOK_ORDER_LEN 24
#define ORDER_ENTRY_LEN 40
#define TRADE_ENTRY_LEN 32
#define TRADE_ORDER_LEN 16
#define VOLUME_ENTRY_LEN 16
#define STATUS_ROOT_LEN 30
#define SNAP_ROOT_LEN 59
#define SNAP_ENTRY_LEN 22
#define SNAPO_ROOT_LEN 28
#define SNAPO_ENTRY_LEN 29
#define FUT_ROOT_LEN 224
#define SPREAD_ROOT_LEN 255
#define EVENTS_ENTRY_LEN 9
#define FEED_ENTRY_LEN 4
#define ATTRIB_ENTRY_LEN 4
#define LOT_ENTRY_LEN 5
#define LEG_ENTRY_LEN 18

/* MatchEventIndicator bits (section 7.1). */
#define MEI_LAST_TRADE 0x01
#define MEI_LAST_VOLUME 0x02
#define MEI_LAST_QUOTE 0x04
#define MEI_LAST_IMPLIED 0x10
#define MEI_END_OF_EVENT 0x80

#define GEN_DEPTH_MAX 10
#define GEN_IMPLIED_DEPTH 2
#define GEN_ORDERS_MAX 64		/* live orders per instrument */
#define GEN_SNAPO_CHUNK 40		/* orders per 53 message */
#define GEN_EVENT_ROOM 520		/* more than the largest event or definition */
#define GEN_EVENTS_PER_PACKET_MAX 4
#define GEN_SNAPSHOT_EVERY 4		/* incremental packets per snapshot step */
#define GEN_DAY_S 1577664000ull		/* 2019-12-30, line_pair's day */
#define GEN_START_NS (34200ull * 1000000000ull)
#define GEN_FEED "cme"

enum { BID = 0, ASK = 1 };

struct gen_level {
	int64_t price;			/* PRICE9 mantissa */
	int32_t size, orders;
};

/* One side of a book, best first, without holes: what the receiver's slots hold. */
struct gen_side {
	struct gen_level lv[GEN_DEPTH_MAX];
	unsigned count;
};

struct gen_order {
	uint64_t id, priority;
	int64_t price;
	int32_t qty;
	uint8_t side;
};

struct gen_instrument {
	int32_t security_id;
	char symbol[21];
	char group[7];
	bool spread, mbo;
	unsigned legs[2];		/* spreads: the futures' indexes */
	unsigned depth;			/* GBX MarketDepth */
	int64_t tick;			/* MinPriceIncrement, PRICE9 */
	int64_t mid;			/* in ticks */
	uint32_t rpt_seq;		/* the last one sent */
	int64_t volume;
	struct gen_side book[2], implied[2];
	struct gen_order orders[GEN_ORDERS_MAX];
	unsigned order_count;
};

/* A packet being built, and the message and group being written in it. */
struct gen_packet {
	uint8_t buf[MOLD_PAYLOAD_MAX];
	size_t len, msg, group;
	bool group8;
	unsigned entries;
};

struct gen_snapshot_loop {
	unsigned *members;		/* instrument indexes of the current loop */
	unsigned total, mbo_total, next;
	uint32_t seq, mbo_seq;		/* last MsgSeqNum sent on each feed, this loop */
	unsigned since;			/* incremental packets since the last step */
};

struct mdp3_gen {
	struct rng rng;
	const struct mdp3_gen_options *opt;
	struct gen_instrument *ins;
	unsigned count;
	uint64_t messages;		/* incremental messages sent */
	uint64_t tod_ns;
	uint32_t inc_seq;		/* last incremental MsgSeqNum sent */
	uint64_t next_order_id, next_priority;
	uint32_t next_trade_id;
	unsigned events, events_target;	/* events in the open incremental packet */
	struct gen_packet inc, side;
	struct line_pair lines;
	struct net_config net_inc, net_snap, net_smbo;
	struct gen_snapshot_loop loop;
};

static const uint64_t day_ns = GEN_DAY_S * 1000000000ull;

/* Channel 310's lines, cme-mdp3.md section 8. */
static void net_lines(struct net_config *net, uint32_t a, uint16_t port_a, uint32_t b,
		      uint16_t port_b)
{
	net_config_default(net);
	net->group[LINE_A] = a;
	net->group[LINE_B] = b;
	net->dest_port[LINE_A] = port_a;
	net->dest_port[LINE_B] = port_b;
	net->source_ip[LINE_A] = 205u << 24 | 209u << 16 | 223u << 8 | 70u;
	net->source_ip[LINE_B] = 205u << 24 | 209u << 16 | 212u << 8 | 70u;
}

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

void mdp3_net_incremental(struct net_config *net)
{
	net_lines(net, IP4(224, 0, 31, 1), 14310, IP4(224, 0, 32, 1), 15310);
}

/* ---- encoding: messages, groups and entries in a packet ------------------ */

static void packet_reset(struct gen_packet *p)
{
	p->len = PACKET_HEADER_LEN;
}

/* Opens a message of the template with a zeroed root of root_len bytes; returns the root. */
static uint8_t *msg_begin(struct gen_packet *p, uint16_t template_id, uint16_t root_len)
{
	uint8_t *m = p->buf + p->len;

	assert(p->len + MESSAGE_HEADER_LEN + root_len <= sizeof(p->buf));
	p->msg = p->len;
	put_le16(m + 2, root_len);
	put_le16(m + 4, template_id);
	put_le16(m + 6, SBE_SCHEMA_ID);
	put_le16(m + 8, SBE_VERSION);
	memset(m + MESSAGE_HEADER_LEN, 0, root_len);
	p->len += MESSAGE_HEADER_LEN + root_len;
	return m + MESSAGE_HEADER_LEN;
}

/* Opens a group of entry_len-byte entries: groupSize, or groupSize8Byte if size8. */
static void group_begin(struct gen_packet *p, uint16_t entry_len, bool size8)
{
	size_t dim = size8 ? MDP3_GROUP_SIZE8_LEN : MDP3_GROUP_SIZE_LEN;

	assert(p->len + dim <= sizeof(p->buf));
	memset(p->buf + p->len, 0, dim);
	put_le16(p->buf + p->len, entry_len);
	p->group = p->len;
	p->group8 = size8;
	p->entries = 0;
	p->len += dim;
}

/* One more zeroed entry of the open group; returns it. */
static uint8_t *entry_add(struct gen_packet *p)
{
	uint16_t entry_len = load_le16(p->buf + p->group);
	uint8_t *e = p->buf + p->len;

	assert(p->entries < 255 && p->len + entry_len <= sizeof(p->buf));
	memset(e, 0, entry_len);
	p->len += entry_len;
	p->entries++;
	p->buf[p->group + (p->group8 ? MDP3_GROUP_SIZE8_COUNT : 2)] = (uint8_t)p->entries;
	return e;
}

static void msg_end(struct gen_packet *p)
{
	put_le16(p->buf + p->msg, (uint16_t)(p->len - p->msg));
}

/* An incremental message's root: TransactTime and MatchEventIndicator. */
static uint8_t *inc_begin(struct mdp3_gen *g, uint16_t template_id, uint8_t match_event)
{
	uint8_t *root = msg_begin(&g->inc, template_id, INC_ROOT_LEN);

	put_le64(root + MDP3_INC_TRANSACT_TIME, day_ns + g->tod_ns);
	root[MDP3_INC_MATCH_EVENT] = match_event;
	g->messages++;
	return root;
}

static void put_chars(uint8_t *p, const char *s, size_t width)
{
	size_t n = strlen(s);

	memset(p, 0, width);		/* NUL padded, as in every capture */
	memcpy(p, s, n < width ? n : width);
}

/* ---- packets out --------------------------------------------------------- */

static int packet_send(struct mdp3_gen *g, struct gen_packet *p, const struct net_config *net,
		       uint32_t seq)
{
	put_le32(p->buf, seq);
	put_le64(p->buf + 4, day_ns + g->tod_ns);
	return line_pair_write_on(&g->lines, net, g->tod_ns, p->buf, p->len);
}

static int snapshot_step(struct mdp3_gen *g);

/* Sends the open incremental packet, if it holds anything, then a snapshot step. */
static int inc_flush(struct mdp3_gen *g)
{
	int err;

	if (g->inc.len == PACKET_HEADER_LEN)
		return 0;
	err = packet_send(g, &g->inc, &g->net_inc, ++g->inc_seq);
	packet_reset(&g->inc);
	g->events = 0;
	g->events_target = (unsigned)rng_range(&g->rng, 1, GEN_EVENTS_PER_PACKET_MAX);
	if (!err && g->opt->snapshot_loop)
		err = snapshot_step(g);
	return err;
}

/* Makes room for one more event in the incremental packet. */
static int inc_room(struct mdp3_gen *g)
{
	if (g->events >= g->events_target || g->inc.len + GEN_EVENT_ROOM > sizeof(g->inc.buf))
		return inc_flush(g);
	return 0;
}

/* ---- instruments and definitions ---------------------------------------- */

static const struct {
	const char *code;
	int64_t tick;
	int64_t mid_ticks_min, mid_ticks_max;
} products[] = {
	{ "ES", 250000000, 16000, 20000 },	/* 0.25 index points */
	{ "NQ", 250000000, 60000, 70000 },
	{ "YM", 1000000000, 35000, 40000 },
	{ "RTY", 100000000, 18000, 22000 },
	{ "EMD", 100000000, 25000, 30000 },
};

#define PRODUCTS (sizeof(products) / sizeof(products[0]))

static bool is_spread(unsigned i)
{
	return i % 4 == 3;
}

static void instruments_make(struct mdp3_gen *g)
{
	static const unsigned depths[] = { 3, 5, 10 };
	int32_t id = (int32_t)rng_range(&g->rng, 1, 2000000000);
	bool any_mbo = false;

	for (unsigned i = 0; i < g->count; i++) {
		struct gen_instrument *in = &g->ins[i];
		unsigned future = i - i / 4;	/* futures made before this one */

		id += (int32_t)rng_range(&g->rng, 1, 1000);	/* distinct, ascending */
		in->security_id = id;
		in->depth = depths[rng_range(&g->rng, 0, 2)];
		in->mbo = rng_chance(&g->rng, 0.5);
		any_mbo |= in->mbo;
		if (is_spread(i)) {
			in->spread = true;
			in->legs[0] = i - 3;
			in->legs[1] = i - 2;
			snprintf(in->symbol, sizeof(in->symbol), "%.9s-%.9s", g->ins[i - 3].symbol,
				 g->ins[i - 2].symbol);
			snprintf(in->group, sizeof(in->group), "%s", g->ins[i - 3].group);
			in->tick = 50000000;	/* 0.05, prices around zero */
			in->mid = (int64_t)rng_range(&g->rng, 0, 80) - 40;
		} else {
			unsigned p = future % PRODUCTS, k = future / PRODUCTS;

			snprintf(in->symbol, sizeof(in->symbol), "%s%c%u", products[p].code,
				 "HMUZ"[k % 4], 6 + k / 4);
			snprintf(in->group, sizeof(in->group), "%s", products[p].code);
			in->tick = products[p].tick;
			in->mid = (int64_t)rng_range(&g->rng, (uint64_t)products[p].mid_ticks_min,
						     (uint64_t)products[p].mid_ticks_max);
		}
	}
	if (!any_mbo)
		g->ins[0].mbo = true;
}

/* The groups every definition has: NoEvents, NoMDFeedTypes (GBX, GBI), NoInstAttrib, NoLotTypeRules. */
static void definition_groups(struct gen_packet *p, const struct gen_instrument *in)
{
	uint8_t *e;

	group_begin(p, EVENTS_ENTRY_LEN, false);
	group_begin(p, FEED_ENTRY_LEN, false);
	e = entry_add(p);
	memcpy(e + MDP3_FEED_TYPE, "GBX", 3);
	e[MDP3_FEED_DEPTH] = (uint8_t)in->depth;
	e = entry_add(p);
	memcpy(e + MDP3_FEED_TYPE, "GBI", 3);
	e[MDP3_FEED_DEPTH] = GEN_IMPLIED_DEPTH;
	group_begin(p, ATTRIB_ENTRY_LEN, false);
	group_begin(p, LOT_ENTRY_LEN, false);
}

/* 54 for a future, 56 for a spread (with its two legs). */
static int definition_send(struct mdp3_gen *g, const struct gen_instrument *in)
{
	struct gen_packet *p = &g->inc;
	uint16_t root_len = in->spread ? SPREAD_ROOT_LEN : FUT_ROOT_LEN;
	uint8_t *root;
	int err = inc_room(g);

	if (err)
		return err;
	root = msg_begin(p, in->spread ? MDP3_DEFINITION_SPREAD : MDP3_DEFINITION_FUTURE, root_len);
	g->messages++;
	root[MDP3_DEF_MATCH_EVENT] = MEI_END_OF_EVENT;
	put_le32(root + MDP3_DEF_TOT_REPORTS, g->count);
	root[MDP3_DEF_UPDATE_ACTION] = 'A';
	put_le64(root + MDP3_DEF_LAST_UPDATE, day_ns + g->tod_ns);
	root[MDP3_DEF_TRADING_STATUS] = 17;	/* ready to trade */
	put_le16(root + MDP3_DEF_APPL_ID, MDP3_GEN_CHANNEL);
	put_chars(root + 19, "XCME", 4);	/* SecurityExchange */
	put_chars(root + MDP3_DEF_SECURITY_GROUP, in->group, 6);
	put_chars(root + MDP3_DEF_ASSET, in->group, 6);
	put_chars(root + MDP3_DEF_SYMBOL, in->symbol, 20);
	put_le32(root + MDP3_DEF_SECURITY_ID, (uint32_t)in->security_id);
	put_chars(root + MDP3_DEF_SECURITY_TYPE, "FUT", 6);
	put_chars(root + 76, "USD", 3);		/* Currency */
	if (in->spread) {
		put_chars(root + 79, "SP", 5);	/* SecuritySubType */
		put_le64(root + MDP3_SPREAD_MIN_INCREMENT, (uint64_t)in->tick);
		put_le64(root + MDP3_SPREAD_DISPLAY_FACTOR, 1000000000);
		put_le64(root + MDP3_SPREAD_GUID, UINT64_MAX);
	} else {
		put_chars(root + 79, "USD", 3);	/* SettlCurrency */
		put_le64(root + MDP3_FUT_MIN_INCREMENT, (uint64_t)in->tick);
		put_le64(root + MDP3_FUT_DISPLAY_FACTOR, 1000000000);
		put_le64(root + MDP3_FUT_UNIT_QTY, INT64_MAX);
		put_le64(root + MDP3_FUT_GUID, UINT64_MAX);
	}
	definition_groups(p, in);
	if (in->spread) {
		group_begin(p, LEG_ENTRY_LEN, false);
		for (int leg = 0; leg < 2; leg++) {
			uint8_t *e = entry_add(p);

			put_le32(e + MDP3_LEG_SECURITY_ID, (uint32_t)g->ins[in->legs[leg]].security_id);
			e[MDP3_LEG_SIDE] = leg == 0 ? 1 : 2;
			e[MDP3_LEG_RATIO] = 1;
			put_le64(e + MDP3_LEG_PRICE, INT64_MAX);
			put_le32(e + 14, MDP3_INT32_NULL);	/* LegOptionDelta */
		}
	}
	msg_end(p);
	g->events++;
	return 0;
}

/* ---- the price-level books ---------------------------------------------- */

/* True if price is better than the level's on this side (bids higher, asks lower). */
static bool better(int side, int64_t price, int64_t than)
{
	return side == BID ? price > than : price < than;
}

/* One book entry to send: what it does and to which level. */
struct gen_entry {
	int64_t price;
	int32_t size, orders;
	uint8_t level, action, type;
};

static void side_remove(struct gen_side *s, unsigned index)
{
	memmove(&s->lv[index], &s->lv[index + 1], (s->count - index - 1) * sizeof(s->lv[0]));
	s->count--;
}

/*
 * A New on side of book (both sides, depth levels): a price not on the side, never
 * at or through the other side's best, inside the depth. False if none was found.
 */
static bool level_new(struct mdp3_gen *g, struct gen_instrument *in, struct gen_side *book,
		      int side, unsigned depth, bool implied, struct gen_entry *e)
{
	struct gen_side *s = &book[side], *other = &book[!side];

	for (int attempt = 0; attempt < 8; attempt++) {
		int64_t away = (int64_t)rng_range(&g->rng, 1, depth + 4);
		int64_t price = (side == BID ? in->mid - away : in->mid + away) * in->tick;
		unsigned level = 0;
		bool taken = false;

		if (other->count && (side == BID ? price >= other->lv[0].price :
					       price <= other->lv[0].price))
			continue;	/* at or through the other side's best */
		for (unsigned i = 0; i < s->count; i++) {
			taken |= s->lv[i].price == price;
			level += better(side, s->lv[i].price, price);
		}
		if (taken || level >= depth)
			continue;
		if (s->count == depth)
			s->count--;	/* pushed past the depth: dropped, nothing sent */
		memmove(&s->lv[level + 1], &s->lv[level], (s->count - level) * sizeof(s->lv[0]));
		s->lv[level].price = price;
		s->lv[level].size = (int32_t)rng_range(&g->rng, 1, 200);
		s->lv[level].orders = implied ? 0 : (int32_t)rng_range(&g->rng, 1, 20);
		s->count++;
		e->price = price;
		e->size = s->lv[level].size;
		e->orders = implied ? MDP3_INT32_NULL : s->lv[level].orders;
		e->level = (uint8_t)(level + 1);
		e->action = 0;
		return true;
	}
	return false;
}

/*
 * One level update on a side of an outright or implied book, applied to the model:
 * New, Change, Delete, and on an outright book now and then DeleteFrom or DeleteThru.
 * False if nothing could be done (an empty side and no room for a New).
 */
static bool level_update(struct mdp3_gen *g, struct gen_instrument *in, bool implied,
			 struct gen_entry *e)
{
	int side = rng_chance(&g->rng, 0.5) ? BID : ASK;
	struct gen_side *book = implied ? in->implied : in->book, *s = &book[side];
	unsigned depth = implied ? GEN_IMPLIED_DEPTH : in->depth;
	unsigned r = (unsigned)rng_range(&g->rng, 0, 99), index;

	e->type = (uint8_t)(implied ? (side == BID ? 'E' : 'F') : (side == BID ? '0' : '1'));
	if (s->count == 0 || r < 40) {
		if (level_new(g, in, book, side, depth, implied, e))
			return true;
		if (s->count == 0)
			return false;
		r = 40;		/* no room for a New: a Change instead */
	}
	index = (unsigned)rng_range(&g->rng, 0, s->count - 1);
	e->level = (uint8_t)(index + 1);
	e->price = s->lv[index].price;
	if (r < 70) {
		s->lv[index].size = (int32_t)rng_range(&g->rng, 1, 200);
		if (!implied)
			s->lv[index].orders = (int32_t)rng_range(&g->rng, 1, 20);
		e->action = 1;
	} else if (r < 96 || implied) {
		e->action = 2;
		side_remove(s, index);
		return true;
	} else if (r < 98) {
		e->action = 4;		/* DeleteFrom: the top N go, the rest move up */
		e->level = (uint8_t)(index + 1);
		e->price = MDP3_PRICE_NULL;
		memmove(&s->lv[0], &s->lv[index + 1], (s->count - index - 1) * sizeof(s->lv[0]));
		s->count -= index + 1;
		e->size = e->orders = MDP3_INT32_NULL;
		return true;
	} else {
		e->action = 3;		/* DeleteThru: the side empties */
		e->level = 1;
		e->price = MDP3_PRICE_NULL;
		s->count = 0;
		e->size = e->orders = MDP3_INT32_NULL;
		return true;
	}
	e->size = s->lv[index].size;
	e->orders = implied ? MDP3_INT32_NULL : s->lv[index].orders;
	return true;
}

/* The model's invariant: each side best first without repeats, never crossed or locked. */
static bool book_valid(const struct gen_side *book, unsigned depth)
{
	for (int side = BID; side <= ASK; side++) {
		const struct gen_side *s = &book[side];

		if (s->count > depth)
			return false;
		for (unsigned i = 1; i < s->count; i++)
			if (!better(side, s->lv[i - 1].price, s->lv[i].price))
				return false;
	}
	return !book[BID].count || !book[ASK].count || book[BID].lv[0].price < book[ASK].lv[0].price;
}

/* Walks the instrument's mid by at most a tick, kept strictly inside the outright spread. */
static void mid_walk(struct mdp3_gen *g, struct gen_instrument *in)
{
	const struct gen_side *b = &in->book[BID], *a = &in->book[ASK];

	if (rng_chance(&g->rng, 0.2))
		in->mid += rng_chance(&g->rng, 0.5) ? 1 : -1;
	if (b->count && in->mid * in->tick <= b->lv[0].price)
		in->mid = b->lv[0].price / in->tick + 1;
	if (a->count && in->mid * in->tick >= a->lv[0].price)
		in->mid = a->lv[0].price / in->tick - 1;
}

/* ---- orders ------------------------------------------------------------ */

static struct gen_order *order_new(struct mdp3_gen *g, struct gen_instrument *in, uint8_t side,
				   int64_t price, int32_t qty)
{
	struct gen_order *o;

	if (in->order_count == GEN_ORDERS_MAX)
		return NULL;
	o = &in->orders[in->order_count++];
	o->id = g->next_order_id++;
	o->priority = g->next_priority++;
	o->price = price;
	o->qty = qty;
	o->side = side;
	return o;
}

/* ---- events ------------------------------------------------------------- */

static void book_entry_put(struct gen_packet *p, struct gen_instrument *in, const struct gen_entry *e)
{
	uint8_t *b = entry_add(p);

	put_le64(b + MDP3_BOOK_PRICE, (uint64_t)e->price);
	put_le32(b + MDP3_BOOK_SIZE, (uint32_t)e->size);
	put_le32(b + MDP3_BOOK_SECURITY_ID, (uint32_t)in->security_id);
	put_le32(b + MDP3_BOOK_RPT_SEQ, ++in->rpt_seq);
	put_le32(b + MDP3_BOOK_ORDERS, (uint32_t)e->orders);
	b[MDP3_BOOK_LEVEL] = e->level;
	b[MDP3_BOOK_ACTION] = e->action;
	b[MDP3_BOOK_ENTRY_TYPE] = e->type;
	put_le32(b + MDP3_BOOK_TRADEABLE_SIZE, MDP3_INT32_NULL);
}

/* An order entry of a 46 and the NoMDEntries entry it names (1-based). */
struct gen_reference {
	uint8_t reference;
	struct gen_order *order;
};

/*
 * A 46: 1..3 outright level updates of the instrument, sometimes some of a second one,
 * sometimes an implied update last (implied only when implied_only); for an instrument
 * with an order book, a New level may bring an order entry naming it (ReferenceID).
 */
static int book_event(struct mdp3_gen *g, struct gen_instrument *in, bool implied_only)
{
	struct gen_packet *p = &g->inc;
	struct gen_instrument *second = &g->ins[rng_range(&g->rng, 0, g->count - 1)];
	struct gen_reference refs[8];
	unsigned n_refs = 0, n = (unsigned)rng_range(&g->rng, 1, 3), sent = 0;
	bool implied = implied_only || rng_chance(&g->rng, 0.25);
	struct gen_entry e;

	inc_begin(g, MDP3_BOOK, MEI_END_OF_EVENT | (implied ? MEI_LAST_IMPLIED : MEI_LAST_QUOTE));
	group_begin(p, BOOK_ENTRY_LEN, false);
	for (unsigned i = 0; !implied_only && i < n + 2; i++) {
		struct gen_instrument *at = i < n ? in : second;

		if (i >= n && (second == in || !rng_chance(&g->rng, 0.3)))
			break;
		mid_walk(g, at);
		memset(&e, 0, sizeof(e));
		if (!level_update(g, at, false, &e))
			continue;
		book_entry_put(p, at, &e);
		sent++;
		if (at->mbo && e.action == 0 && n_refs < 8 &&
		    rng_chance(&g->rng, 0.4)) {
			struct gen_order *o = order_new(g, at, e.type == '0' ? BID : ASK, e.price,
							(int32_t)rng_range(&g->rng, 1, (uint64_t)e.size));

			if (o)
				refs[n_refs++] = (struct gen_reference){ (uint8_t)sent, o };
		}
	}
	if (implied) {
		memset(&e, 0, sizeof(e));
		if (level_update(g, in, true, &e))
			book_entry_put(p, in, &e);
	}
	assert(book_valid(in->book, in->depth) && book_valid(in->implied, GEN_IMPLIED_DEPTH));
	assert(book_valid(second->book, second->depth));
	group_begin(p, BOOK_ORDER_LEN, true);
	for (unsigned i = 0; i < n_refs; i++) {
		uint8_t *o = entry_add(p);

		put_le64(o + MDP3_BOOK_ORDER_ID, refs[i].order->id);
		put_le64(o + MDP3_BOOK_ORDER_PRIORITY, refs[i].order->priority);
		put_le32(o + MDP3_BOOK_ORDER_DISPLAY_QTY, (uint32_t)refs[i].order->qty);
		o[MDP3_BOOK_ORDER_REFERENCE] = refs[i].reference;
		o[MDP3_BOOK_ORDER_ACTION] = 0;
	}
	msg_end(p);
	return 0;
}

/* A 47: 1..3 order entries (New, Update, Delete) of an instrument with an order book. */
static int order_event(struct mdp3_gen *g, struct gen_instrument *in)
{
	struct gen_packet *p = &g->inc;
	unsigned n = (unsigned)rng_range(&g->rng, 1, 3);

	inc_begin(g, MDP3_ORDER_BOOK, MEI_END_OF_EVENT | MEI_LAST_QUOTE);
	group_begin(p, ORDER_ENTRY_LEN, false);
	for (unsigned i = 0; i < n; i++) {
		unsigned r = (unsigned)rng_range(&g->rng, 0, 99);
		struct gen_order *o, gone;
		uint8_t *e, action;

		if (in->order_count == 0 || (r < 45 && in->order_count < GEN_ORDERS_MAX)) {
			uint8_t side = rng_chance(&g->rng, 0.5) ? BID : ASK;
			const struct gen_side *s = &in->book[side];
			int64_t price = s->count ? s->lv[rng_range(&g->rng, 0, s->count - 1)].price :
				(side == BID ? in->mid - 1 : in->mid + 1) * in->tick;

			o = order_new(g, in, side, price, (int32_t)rng_range(&g->rng, 1, 50));
			action = 0;
		} else {
			unsigned index = (unsigned)rng_range(&g->rng, 0, in->order_count - 1);
			int32_t qty = (int32_t)rng_range(&g->rng, 1, 60);

			o = &in->orders[index];
			if (r < 75) {
				if (qty > o->qty)	/* more quantity: to the back of the queue */
					o->priority = g->next_priority++;
				o->qty = qty;
				action = 1;
			} else {
				gone = *o;
				*o = in->orders[--in->order_count];
				o = &gone;
				action = 2;
			}
		}
		e = entry_add(p);
		put_le64(e + MDP3_ORDER_ORDER_ID, o->id);
		put_le64(e + MDP3_ORDER_PRIORITY, o->priority);
		put_le64(e + MDP3_ORDER_PRICE, (uint64_t)o->price);
		put_le32(e + MDP3_ORDER_DISPLAY_QTY, (uint32_t)o->qty);
		put_le32(e + MDP3_ORDER_SECURITY_ID, (uint32_t)in->security_id);
		e[MDP3_ORDER_ACTION] = action;
		e[MDP3_ORDER_ENTRY_TYPE] = o->side == BID ? '0' : '1';
	}
	msg_end(p);
	return 0;
}

/*
 * A 48 at the best level the aggressor takes (or next to the mid): the aggressor's
 * order first, then the resting ones sharing the quantity; then, when the session
 * has room, the cumulative volume (37). Trades leave the books as they are (7.5).
 */
static int trade_event(struct mdp3_gen *g, struct gen_instrument *in, bool with_volume)
{
	struct gen_packet *p = &g->inc;
	uint8_t aggressor = rng_chance(&g->rng, 0.5) ? 1 : 2;	/* 1 buy, 2 sell */
	const struct gen_side *hit = &in->book[aggressor == 1 ? ASK : BID];
	int64_t price = hit->count ? hit->lv[0].price :
		(aggressor == 1 ? in->mid + 1 : in->mid - 1) * in->tick;
	int32_t size = (int32_t)rng_range(&g->rng, 2, 50), left = size;
	unsigned resting = (unsigned)rng_range(&g->rng, 1, 3);
	uint8_t *e;

	if ((int32_t)resting > size)
		resting = (unsigned)size;
	inc_begin(g, MDP3_TRADE_SUMMARY, MEI_LAST_TRADE | (with_volume ? 0 : MEI_END_OF_EVENT));
	group_begin(p, TRADE_ENTRY_LEN, false);
	e = entry_add(p);
	put_le64(e + MDP3_TRADE_PRICE, (uint64_t)price);
	put_le32(e + MDP3_TRADE_SIZE, (uint32_t)size);
	put_le32(e + MDP3_TRADE_SECURITY_ID, (uint32_t)in->security_id);
	put_le32(e + MDP3_TRADE_RPT_SEQ, ++in->rpt_seq);
	put_le32(e + MDP3_TRADE_ORDERS, resting + 1);
	e[MDP3_TRADE_AGGRESSOR] = aggressor;
	e[MDP3_TRADE_ACTION] = 0;
	put_le32(e + MDP3_TRADE_ENTRY_ID, ++g->next_trade_id);
	group_begin(p, TRADE_ORDER_LEN, true);
	e = entry_add(p);
	put_le64(e + MDP3_TRADE_ORDER_ID, g->next_order_id++);
	put_le32(e + MDP3_TRADE_ORDER_LAST_QTY, (uint32_t)size);
	for (unsigned i = 0; i < resting; i++) {
		int32_t qty = i + 1 == resting ? left : (int32_t)rng_range(&g->rng, 1, (uint64_t)(left - (int32_t)(resting - i - 1)));

		left -= qty;
		e = entry_add(p);
		put_le64(e + MDP3_TRADE_ORDER_ID, g->next_order_id++);
		put_le32(e + MDP3_TRADE_ORDER_LAST_QTY, (uint32_t)qty);
	}
	msg_end(p);
	in->volume += size;
	if (!with_volume)
		return 0;
	inc_begin(g, MDP3_VOLUME, MEI_LAST_VOLUME | MEI_END_OF_EVENT);
	group_begin(p, VOLUME_ENTRY_LEN, false);
	e = entry_add(p);
	put_le32(e + MDP3_VOLUME_SIZE, (uint32_t)in->volume);
	put_le32(e + MDP3_VOLUME_SECURITY_ID, (uint32_t)in->security_id);
	put_le32(e + MDP3_VOLUME_RPT_SEQ, ++in->rpt_seq);
	e[MDP3_VOLUME_ACTION] = 0;
	msg_end(p);
	return 0;
}

/* A 30 for the instrument, or (SecurityID null) for its whole group. */
static int status_event(struct mdp3_gen *g, struct gen_instrument *in)
{
	static const uint8_t statuses[] = { 17, 21, 2, 4, 15, 24 };
	uint8_t *root = msg_begin(&g->inc, MDP3_SECURITY_STATUS, STATUS_ROOT_LEN);

	g->messages++;
	put_le64(root + MDP3_STATUS_TRANSACT_TIME, day_ns + g->tod_ns);
	put_chars(root + MDP3_STATUS_SECURITY_GROUP, in->group, 6);
	put_chars(root + MDP3_STATUS_ASSET, in->group, 6);
	put_le32(root + MDP3_STATUS_SECURITY_ID,
		 rng_chance(&g->rng, 0.7) ? (uint32_t)in->security_id : MDP3_INT32_NULL);
	put_le16(root + MDP3_STATUS_TRADE_DATE, (uint16_t)(GEN_DAY_S / 86400));
	root[MDP3_STATUS_MATCH_EVENT] = MEI_END_OF_EVENT;
	root[MDP3_STATUS_TRADING_STATUS] = statuses[rng_range(&g->rng, 0, sizeof(statuses) - 1)];
	msg_end(&g->inc);
	return 0;
}

/* A heartbeat (12), alone in its packet. */
static int heartbeat_send(struct mdp3_gen *g)
{
	int err = inc_flush(g);

	if (err)
		return err;
	msg_begin(&g->inc, MDP3_ADMIN_HEARTBEAT, 0);
	msg_end(&g->inc);
	g->messages++;
	return inc_flush(g);
}

/* One event of the mix, on a random instrument. */
static int event_send(struct mdp3_gen *g)
{
	struct gen_instrument *in = &g->ins[rng_range(&g->rng, 0, g->count - 1)];
	unsigned r = (unsigned)rng_range(&g->rng, 0, 99);
	int err;

	g->tod_ns += rng_range(&g->rng, 1, 20000);
	if (r >= 90 && r < 93)
		return heartbeat_send(g);
	err = inc_room(g);
	if (err)
		return err;
	g->events++;
	if (r < 55)
		return book_event(g, in, false);
	if (r < 63)
		return book_event(g, in, true);
	if (r < 78 && in->mbo && in->rpt_seq > 0)
		return order_event(g, in);
	if (r < 78)
		return book_event(g, in, false);
	if (r < 86)
		return trade_event(g, in, g->messages + 2 <= g->opt->messages);
	return status_event(g, in);
}

/* ---- the snapshot loop --------------------------------------------------- */

static void snap_entries(struct gen_packet *p, const struct gen_side *s, uint8_t type, bool implied)
{
	for (unsigned i = 0; i < s->count; i++) {
		uint8_t *e = entry_add(p);

		put_le64(e + MDP3_SNAP_PRICE, (uint64_t)s->lv[i].price);
		put_le32(e + MDP3_SNAP_SIZE, (uint32_t)s->lv[i].size);
		put_le32(e + MDP3_SNAP_ORDERS, implied ? MDP3_INT32_NULL : (uint32_t)s->lv[i].orders);
		e[MDP3_SNAP_LEVEL] = (uint8_t)(i + 1);
		put_le16(e + MDP3_SNAP_REFERENCE_DATE, MDP3_DATE_NULL);
		e[MDP3_SNAP_OPEN_CLOSE] = MDP3_UINT8_NULL;
		e[MDP3_SNAP_ENTRY_TYPE] = type;
	}
}

/* The instrument's 52: its levels (outright and implied) after the last incremental packet. */
static int snapshot_send(struct mdp3_gen *g, const struct gen_instrument *in)
{
	struct gen_packet *p = &g->side;
	uint8_t *root;

	packet_reset(p);
	root = msg_begin(p, MDP3_SNAPSHOT, SNAP_ROOT_LEN);
	put_le32(root + MDP3_SNAP_LAST_MSG_SEQ, g->inc_seq);
	put_le32(root + MDP3_SNAP_TOT_REPORTS, g->loop.total);
	put_le32(root + MDP3_SNAP_SECURITY_ID, (uint32_t)in->security_id);
	put_le32(root + MDP3_SNAP_RPT_SEQ, in->rpt_seq);
	put_le64(root + MDP3_SNAP_TRANSACT_TIME, day_ns + g->tod_ns);
	put_le64(root + MDP3_SNAP_LAST_UPDATE, day_ns + g->tod_ns);
	put_le16(root + MDP3_SNAP_TRADE_DATE, (uint16_t)(GEN_DAY_S / 86400));
	root[MDP3_SNAP_TRADING_STATUS] = 17;
	put_le64(root + MDP3_SNAP_HIGH_LIMIT, MDP3_PRICE_NULL);
	put_le64(root + MDP3_SNAP_LOW_LIMIT, MDP3_PRICE_NULL);
	put_le64(root + MDP3_SNAP_VARIATION, MDP3_PRICE_NULL);
	group_begin(p, SNAP_ENTRY_LEN, false);
	snap_entries(p, &in->book[BID], '0', false);
	snap_entries(p, &in->book[ASK], '1', false);
	snap_entries(p, &in->implied[BID], 'E', true);
	snap_entries(p, &in->implied[ASK], 'F', true);
	msg_end(p);
	return packet_send(g, p, &g->net_snap, ++g->loop.seq);
}

/* The instrument's 53 chunks, GEN_SNAPO_CHUNK orders each, one per packet (at least one). */
static int snapshot_orders_send(struct mdp3_gen *g, const struct gen_instrument *in)
{
	struct gen_packet *p = &g->side;
	unsigned chunks = in->order_count ? (in->order_count + GEN_SNAPO_CHUNK - 1) / GEN_SNAPO_CHUNK : 1;
	int err = 0;

	for (unsigned c = 0; c < chunks && !err; c++) {
		uint8_t *root;

		packet_reset(p);
		root = msg_begin(p, MDP3_SNAPSHOT_ORDER_BOOK, SNAPO_ROOT_LEN);
		put_le32(root + MDP3_SNAPO_LAST_MSG_SEQ, g->inc_seq);
		put_le32(root + MDP3_SNAPO_TOT_REPORTS, g->loop.mbo_total);
		put_le32(root + MDP3_SNAPO_SECURITY_ID, (uint32_t)in->security_id);
		put_le32(root + MDP3_SNAPO_CHUNKS, chunks);
		put_le32(root + MDP3_SNAPO_CHUNK, c + 1);
		put_le64(root + MDP3_SNAPO_TRANSACT_TIME, day_ns + g->tod_ns);
		group_begin(p, SNAPO_ENTRY_LEN, false);
		for (unsigned i = c * GEN_SNAPO_CHUNK; i < in->order_count && i < (c + 1) * GEN_SNAPO_CHUNK; i++) {
			const struct gen_order *o = &in->orders[i];
			uint8_t *e = entry_add(p);

			put_le64(e + MDP3_SNAPO_ORDER_ID, o->id);
			put_le64(e + MDP3_SNAPO_PRIORITY, o->priority);
			put_le64(e + MDP3_SNAPO_PRICE, (uint64_t)o->price);
			put_le32(e + MDP3_SNAPO_DISPLAY_QTY, (uint32_t)o->qty);
			e[MDP3_SNAPO_ENTRY_TYPE] = o->side == BID ? '0' : '1';
		}
		msg_end(p);
		err = packet_send(g, p, &g->net_smbo, ++g->loop.mbo_seq);
	}
	return err;
}

/*
 * Every GEN_SNAPSHOT_EVERY incremental packets, the next instrument of the loop; a
 * loop takes the instruments that had activity (a RptSeq) when it begins.
 */
static int snapshot_step(struct mdp3_gen *g)
{
	struct gen_snapshot_loop *l = &g->loop;
	const struct gen_instrument *in;
	int err;

	if (++l->since < GEN_SNAPSHOT_EVERY)
		return 0;
	l->since = 0;
	if (l->next >= l->total) {
		l->total = l->mbo_total = l->next = 0;
		l->seq = l->mbo_seq = 0;
		for (unsigned i = 0; i < g->count; i++)
			if (g->ins[i].rpt_seq > 0) {
				l->members[l->total++] = i;
				l->mbo_total += g->ins[i].mbo;
			}
		if (l->total == 0)
			return 0;
	}
	in = &g->ins[l->members[l->next++]];
	err = snapshot_send(g, in);
	if (!err && in->mbo)
		err = snapshot_orders_send(g, in);
	return err;
}

/* ---- the true books ------------------------------------------------------ */

static void price_print(FILE *f, int64_t price)
{
	uint64_t abs = price < 0 ? 0 - (uint64_t)price : (uint64_t)price;

	fprintf(f, "%s%" PRIu64 ".%09" PRIu64, price < 0 ? "-" : "", abs / 1000000000u,
		abs % 1000000000u);
}

/* Instruments in dump order: by symbol (byte order), then SecurityID. */
static const struct gen_instrument *sort_base;

static int instrument_compare(const void *a, const void *b)
{
	const struct gen_instrument *x = &sort_base[*(const unsigned *)a];
	const struct gen_instrument *y = &sort_base[*(const unsigned *)b];
	int c = strcmp(x->symbol, y->symbol);

	return c ? c : (x->security_id > y->security_id) - (x->security_id < y->security_id);
}

static int order_compare(const void *a, const void *b)
{
	const struct gen_order *x = a, *y = b;

	if (x->side != y->side)
		return x->side - y->side;
	if (x->price != y->price)
		return better(x->side, x->price, y->price) ? -1 : 1;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

/*
 * Writes the price-level books (orders false) or the order books to path, instruments
 * in the order of sorted (indexes). 0 or -EIO.
 */
static int books_write(struct mdp3_gen *g, const char *path, const unsigned *sorted, bool orders)
{
	FILE *f = out_file_open(path);
	int err = 0;

	if (!f)
		return -EIO;
	for (unsigned k = 0; k < g->count; k++) {
		struct gen_instrument *in = &g->ins[sorted[k]];

		if (orders) {
			qsort(in->orders, in->order_count, sizeof(in->orders[0]), order_compare);
			for (unsigned i = 0; i < in->order_count; i++) {
				const struct gen_order *o = &in->orders[i];

				fprintf(f, "%s %s %c ", GEN_FEED, in->symbol, o->side == BID ? 'B' : 'S');
				price_print(f, o->price);
				fprintf(f, " %" PRId32 " %" PRIu64 " %" PRIu64 "\n", o->qty, o->priority, o->id);
			}
			continue;
		}
		for (int side = BID; side <= ASK; side++)
			for (unsigned i = 0; i < in->book[side].count; i++) {
				const struct gen_level *lv = &in->book[side].lv[i];

				fprintf(f, "%s %s %c ", GEN_FEED, in->symbol, side == BID ? 'B' : 'S');
				price_print(f, lv->price);
				fprintf(f, " %" PRId32 " %" PRId32 "\n", lv->size, lv->orders);
			}
	}
	if (ferror(f))
		err = -EIO;
	if (fclose(f) != 0)
		err = -EIO;
	if (err)
		fprintf(stderr, "fh-pcap: %s: write failed\n", path);
	return err;
}

static int books_write_all(struct mdp3_gen *g)
{
	unsigned *sorted = calloc(g->count, sizeof(*sorted));
	int err = 0;

	if (!sorted)
		return -ENOMEM;
	for (unsigned i = 0; i < g->count; i++)
		sorted[i] = i;
	sort_base = g->ins;
	qsort(sorted, g->count, sizeof(*sorted), instrument_compare);
	if (g->opt->books_path)
		err = books_write(g, g->opt->books_path, sorted, false);
	if (!err && g->opt->orders_path)
		err = books_write(g, g->opt->orders_path, sorted, true);
	free(sorted);
	return err;
}

/* ---- the session ---------------------------------------------------------- */

static int session_run(struct mdp3_gen *g)
{
	int err = 0;

	for (unsigned i = 0; i < g->count && !err; i++) {
		g->tod_ns += rng_range(&g->rng, 1, 20000);
		err = definition_send(g, &g->ins[i]);
	}
	while (!err && g->messages < g->opt->messages)
		err = event_send(g);
	if (!err)
		err = inc_flush(g);
	return err;
}

/*
 * Writes the session opt asks for to out_path (frames tagged with vlan_id unless it
 * is negative), and its true books where opt says. 0, or -errno after saying why
 * (the outputs are removed).
 */
int mdp3_session_write(const struct mdp3_gen_options *opt, const char *out_path, int vlan_id)
{
	struct mdp3_gen *g = calloc(1, sizeof(*g));
	struct pcap_writer out = { 0 };
	int err = -ENOMEM;

	if (!g)
		goto fail;
	g->opt = opt;
	g->count = opt->instruments;
	g->ins = calloc(g->count, sizeof(*g->ins));
	g->loop.members = calloc(g->count, sizeof(*g->loop.members));
	if (!g->ins || !g->loop.members)
		goto fail;
	rng_seed(&g->rng, opt->seed, 0x6d647033);
	g->tod_ns = GEN_START_NS;
	g->next_order_id = 1000001;
	g->next_priority = 1;
	g->events_target = 1;
	packet_reset(&g->inc);
	mdp3_net_incremental(&g->net_inc);
	net_lines(&g->net_snap, IP4(224, 0, 31, 22), 14310, IP4(224, 0, 32, 22), 15310);
	net_lines(&g->net_smbo, IP4(233, 72, 75, 1), 23310, IP4(233, 72, 75, 64), 22310);
	g->net_inc.vlan_id = g->net_snap.vlan_id = g->net_smbo.vlan_id = vlan_id;
	instruments_make(g);
	err = pcap_writer_open(&out, out_path);
	if (err)
		goto fail;
	line_pair_init(&g->lines, &out, &g->net_inc);
	err = session_run(g);
	if (!err)
		err = pcap_writer_close(&out);
	if (!err)
		err = books_write_all(g);
	if (!err)
		fprintf(stderr, "fh-pcap gen: %" PRIu64 " CME MDP 3.0 messages in %" PRIu32
			" incremental packets, %" PRIu64 " frames written to %s\n",
			g->messages, g->inc_seq, out.packets, out_path);
fail:
	if (err == -ENOMEM)
		fprintf(stderr, "fh-pcap: out of memory\n");
	pcap_writer_close(&out);
	if (err && out.path) {
		remove(out_path);
		if (opt->books_path)
			remove(opt->books_path);
		if (opt->orders_path)
			remove(opt->orders_path);
	}
	if (g) {
		free(g->ins);
		free(g->loop.members);
	}
	free(g);
	return err;
}
