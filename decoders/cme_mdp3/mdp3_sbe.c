/*
 * mdp3_sbe: MDP 3.0 packet walking and template decoding (see mdp3_sbe.h). Every
 * length comes from the wire and is checked against what holds it before use: MsgSize
 * against the packet, the root's blockLength and each group's extent against MsgSize,
 * and each wire blockLength against the fields read (docs/cme-mdp3.md §2.5).
 */
#include "decoders/cme_mdp3/mdp3_sbe.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

/* Little-endian loads at any alignment (SBE is little-endian, §2.2). */
static inline uint16_t mdp3_le16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? v : __builtin_bswap16(v);
}

static inline uint32_t mdp3_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? v : __builtin_bswap32(v);
}

static inline uint64_t mdp3_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? v : __builtin_bswap64(v);
}

/* A group the walk finds: its dimension header and the shortest entry that holds what is read. */
struct mdp3_group_layout {
	uint8_t header_len;	/* MDP3_GROUP_SIZE_LEN or MDP3_GROUP_SIZE8_LEN */
	uint8_t entry_min;	/* 0: a group only stepped over */
};

/*
 * What the walk checks of a template: since which version it exists, the shortest
 * root that holds the fields read, and its groups up to the last one read (later
 * groups, and any a newer version appends, are left unread inside MsgSize).
 */
struct mdp3_layout {
	uint8_t since;		/* 0: not a template decoded here */
	uint8_t groups;
	uint16_t root_min;
	struct mdp3_group_layout group[MDP3_GROUPS_MAX];
};

#define MDP3_G3(min) { MDP3_GROUP_SIZE_LEN, (min) }
#define MDP3_G8(min) { MDP3_GROUP_SIZE8_LEN, (min) }

static const struct mdp3_layout mdp3_layouts[MDP3_TEMPLATE_ID_MAX + 1] = {
	[MDP3_CHANNEL_RESET] = { 9, 1, MDP3_INC_ROOT_MIN, { MDP3_G3(MDP3_RESET_ENTRY_MIN) } },
	[MDP3_ADMIN_HEARTBEAT] = { 9, 0, 0, { { 0, 0 } } },
	[MDP3_SECURITY_STATUS] = { 9, 0, MDP3_STATUS_ROOT_MIN, { { 0, 0 } } },
	[MDP3_VOLUME] = { 9, 1, MDP3_INC_ROOT_MIN, { MDP3_G3(MDP3_VOLUME_ENTRY_MIN) } },
	[MDP3_BOOK] = { 9, 2, MDP3_INC_ROOT_MIN,
			{ MDP3_G3(MDP3_BOOK_ENTRY_MIN), MDP3_G8(MDP3_BOOK_ORDER_ENTRY_MIN) } },
	[MDP3_ORDER_BOOK] = { 9, 1, MDP3_INC_ROOT_MIN, { MDP3_G3(MDP3_ORDER_ENTRY_MIN) } },
	[MDP3_TRADE_SUMMARY] = { 9, 2, MDP3_INC_ROOT_MIN,
				 { MDP3_G3(MDP3_TRADE_ENTRY_MIN), MDP3_G8(MDP3_TRADE_ORDER_ENTRY_MIN) } },
	[MDP3_DAILY_STATISTICS] = { 9, 1, MDP3_INC_ROOT_MIN, { MDP3_G3(MDP3_DAILY_ENTRY_MIN) } },
	[MDP3_LIMITS_BANDING] = { 9, 1, MDP3_INC_ROOT_MIN, { MDP3_G3(MDP3_LIMITS_ENTRY_MIN) } },
	[MDP3_SESSION_STATISTICS] = { 9, 1, MDP3_INC_ROOT_MIN, { MDP3_G3(MDP3_SESSION_ENTRY_MIN) } },
	[MDP3_SNAPSHOT] = { 9, 1, MDP3_SNAP_ROOT_MIN, { MDP3_G3(MDP3_SNAP_ENTRY_MIN) } },
	[MDP3_SNAPSHOT_ORDER_BOOK] = { 9, 1, MDP3_SNAPO_ROOT_MIN, { MDP3_G3(MDP3_SNAPO_ENTRY_MIN) } },
	[MDP3_DEFINITION_FUTURE] = { 9, 2, MDP3_FUT_ROOT_MIN,
				     { MDP3_G3(0), MDP3_G3(MDP3_FEED_ENTRY_MIN) } },
	[MDP3_DEFINITION_OPTION] = { 9, 2, MDP3_OPT_ROOT_MIN,
				     { MDP3_G3(0), MDP3_G3(MDP3_FEED_ENTRY_MIN) } },
	[MDP3_DEFINITION_SPREAD] = { 9, 5, MDP3_SPREAD_ROOT_MIN,
				     { MDP3_G3(0), MDP3_G3(MDP3_FEED_ENTRY_MIN), MDP3_G3(0), MDP3_G3(0),
				       MDP3_G3(MDP3_LEG_ENTRY_MIN) } },
	[MDP3_BOOK_LONG_QTY] = { 12, 2, MDP3_INC_ROOT_MIN,
				 { MDP3_G3(MDP3_BOOKL_ENTRY_MIN), MDP3_G8(MDP3_BOOK_ORDER_ENTRY_MIN) } },
	[MDP3_TRADE_SUMMARY_LONG_QTY] = { 12, 2, MDP3_INC_ROOT_MIN,
					  { MDP3_G3(MDP3_TRADEL_ENTRY_MIN),
					    MDP3_G8(MDP3_TRADE_ORDER_ENTRY_MIN) } },
};

int mdp3_frame_parse(const uint8_t *payload, uint32_t len, struct decoder_frame *frame)
{
	uint32_t at = MDP3_PACKET_HEADER_LEN, seq;

	if (len < MDP3_PACKET_HEADER_LEN)
		return -EBADMSG;
	seq = mdp3_le32(payload);
	if (seq == 0)
		return -EBADMSG;
	/* Each step is at least a message header long: at most len / 10 steps. */
	while (at < len) {
		uint32_t size;

		if (len - at < MDP3_MESSAGE_HEADER_LEN)
			return -EBADMSG;
		size = mdp3_le16(payload + at);
		if (size < MDP3_MESSAGE_HEADER_LEN || size > len - at)
			return -EBADMSG;
		at += size;
	}
	assert(at == len);
	frame->kind = DECODER_FRAME_DATA;
	frame->seq = seq;
	frame->count = 1;
	frame->session_len = 0;
	return 0;
}

int mdp3_packet_open(struct mdp3_packet *packet, const uint8_t *data, uint32_t len,
		     struct mdp3_stats *stats)
{
	if (len < MDP3_PACKET_HEADER_LEN)
		return -EBADMSG;
	packet->data = data;
	packet->len = len;
	packet->at = MDP3_PACKET_HEADER_LEN;
	packet->seq = mdp3_le32(data);
	packet->sending_time_ns = mdp3_le64(data + 4);
	stats->packets++;
	return 0;
}

/*
 * Finds the root and the groups of a message whose header is good, within
 * [body, end): true, or false when the root or a group does not hold what is read or
 * runs past MsgSize.
 */
static bool mdp3_message_layout(const struct mdp3_layout *layout, const uint8_t *body,
				const uint8_t *end, struct mdp3_message *message)
{
	const uint8_t *p;

	if (message->block_length < layout->root_min || message->block_length > end - body)
		return false;
	message->root = body;
	p = body + message->block_length;
	message->groups_count = layout->groups;
	for (uint8_t i = 0; i < layout->groups; i++) {
		const struct mdp3_group_layout *g = &layout->group[i];
		struct mdp3_group *group = &message->groups[i];
		uint32_t total;

		if (end - p < g->header_len)
			return false;
		group->block_length = mdp3_le16(p);
		group->count = g->header_len == MDP3_GROUP_SIZE_LEN ? p[2] : p[MDP3_GROUP_SIZE8_COUNT];
		p += g->header_len;
		/* An entry too short for its fields is refused even if nothing would be read. */
		if (group->count > 0 && group->block_length < g->entry_min)
			return false;
		total = (uint32_t)group->block_length * group->count;	/* <= 65535 * 255 */
		if (total > (uint32_t)(end - p))
			return false;
		group->entries = p;
		p += total;
	}
	assert(p <= end);
	return true;
}

bool mdp3_packet_next(struct mdp3_packet *packet, struct mdp3_stats *stats,
		      struct mdp3_message *message)
{
	/* Every turn moves at on by at least MDP3_MESSAGE_HEADER_LEN, or to len. */
	while (packet->at < packet->len) {
		const uint8_t *m = packet->data + packet->at;
		uint32_t left = packet->len - packet->at, schema;
		const struct mdp3_layout *layout;

		if (left < MDP3_MESSAGE_HEADER_LEN ||
		    mdp3_le16(m) < MDP3_MESSAGE_HEADER_LEN || mdp3_le16(m) > left) {
			stats->bad_framing++;
			packet->at = packet->len;
			return false;
		}
		message->size = mdp3_le16(m);
		packet->at += message->size;
		message->block_length = mdp3_le16(m + 2);
		message->template_id = mdp3_le16(m + 4);
		schema = mdp3_le16(m + 6);
		message->version = mdp3_le16(m + 8);
		if (schema != MDP3_SCHEMA_ID) {
			stats->other_schema++;
			continue;
		}
		/* A later version only appends, so it is read by the wire lengths as 13 (§2.5,
		 * and the 9..13 is the range checked layout by layout); counted. */
		if (message->version < MDP3_VERSION_MIN) {
			stats->bad_version++;
			continue;
		}
		layout = message->template_id <= MDP3_TEMPLATE_ID_MAX ? &mdp3_layouts[message->template_id] : NULL;
		if (layout == NULL || layout->since == 0 || message->version < layout->since) {
			stats->unknown_template++;
			continue;
		}
		if (!mdp3_message_layout(layout, m + MDP3_MESSAGE_HEADER_LEN, m + message->size, message)) {
			stats->bad_length++;
			continue;
		}
		stats->messages++;
		if (message->version > MDP3_VERSION_MAX)
			stats->newer_version++;
		return true;
	}
	return false;
}

/*
 * Field readers: a nullable value's null leaves its presence bit clear. A price of
 * INT64_MIN, which book.h cannot hold, and a negative quantity are refused (false).
 */
static inline bool mdp3_price_read(const uint8_t *p, int64_t *out, uint32_t *present, uint32_t bit)
{
	int64_t v = (int64_t)mdp3_le64(p);

	if (v == INT64_MIN)
		return false;
	*out = v;
	if (v != MDP3_PRICE_NULL)
		*present |= bit;
	return true;
}

static inline bool mdp3_qty32_read(const uint8_t *p, uint64_t *out, uint32_t *present, uint32_t bit)
{
	int32_t v = (int32_t)mdp3_le32(p);

	if (v < 0)
		return false;
	*out = (uint64_t)v;
	if (v != MDP3_INT32_NULL)
		*present |= bit;
	return true;
}

static inline void mdp3_u64_read(const uint8_t *p, uint64_t *out, uint32_t *present, uint32_t bit)
{
	*out = mdp3_le64(p);
	if (*out != MDP3_UINT64_NULL)
		*present |= bit;
}

static inline bool mdp3_count32_read(const uint8_t *p, uint32_t *out, uint32_t *present, uint32_t bit)
{
	uint64_t v;

	if (!mdp3_qty32_read(p, &v, present, bit))
		return false;
	*out = (uint32_t)v;
	return true;
}

void mdp3_event_read(const struct mdp3_message *message, struct mdp3_event *event)
{
	assert(message->block_length >= MDP3_INC_ROOT_MIN);
	event->transact_time_ns = mdp3_le64(message->root + MDP3_INC_TRANSACT_TIME);
	event->match_event = message->root[MDP3_INC_MATCH_EVENT];
}

/* Templates whose group 0 is NoMDEntries of market-data entries. */
static inline bool mdp3_has_md_entries(uint16_t template_id)
{
	switch (template_id) {
	case MDP3_CHANNEL_RESET:
	case MDP3_VOLUME:
	case MDP3_BOOK:
	case MDP3_TRADE_SUMMARY:
	case MDP3_DAILY_STATISTICS:
	case MDP3_LIMITS_BANDING:
	case MDP3_SESSION_STATISTICS:
	case MDP3_SNAPSHOT:
	case MDP3_BOOK_LONG_QTY:
	case MDP3_TRADE_SUMMARY_LONG_QTY:
		return true;
	default:
		return false;
	}
}

uint32_t mdp3_md_entries(const struct mdp3_message *message)
{
	assert(mdp3_has_md_entries(message->template_id) && message->groups_count >= 1);
	return message->groups[0].count;
}

/* 46 and 64 entries: the same fields, 64's size 64-bit and further on. */
static bool mdp3_book_entry_read(const struct mdp3_message *message, const uint8_t *e,
				 uint16_t block_length, struct mdp3_md_entry *out)
{
	bool ok = true;

	if (message->template_id == MDP3_BOOK) {
		ok = mdp3_price_read(e + MDP3_BOOK_PRICE, &out->price, &out->present, MDP3_HAS_PRICE) &&
		     mdp3_qty32_read(e + MDP3_BOOK_SIZE, &out->size, &out->present, MDP3_HAS_SIZE) &&
		     mdp3_count32_read(e + MDP3_BOOK_ORDERS, &out->orders, &out->present, MDP3_HAS_ORDERS);
		out->security_id = (int32_t)mdp3_le32(e + MDP3_BOOK_SECURITY_ID);
		out->rpt_seq = mdp3_le32(e + MDP3_BOOK_RPT_SEQ);
		out->level = e[MDP3_BOOK_LEVEL];
		out->action = e[MDP3_BOOK_ACTION];
		out->entry_type = (char)e[MDP3_BOOK_ENTRY_TYPE];
		/* TradeableSize sits in v9's padding: read it only where it exists (§2.5). */
		if (ok && message->version >= MDP3_BOOK_TRADEABLE_SINCE &&
		    block_length >= MDP3_BOOK_TRADEABLE_SIZE + 4)
			ok = mdp3_qty32_read(e + MDP3_BOOK_TRADEABLE_SIZE, &out->tradeable_size,
					     &out->present, MDP3_HAS_TRADEABLE_SIZE);
	} else {
		ok = mdp3_price_read(e + MDP3_BOOKL_PRICE, &out->price, &out->present, MDP3_HAS_PRICE) &&
		     mdp3_count32_read(e + MDP3_BOOKL_ORDERS, &out->orders, &out->present, MDP3_HAS_ORDERS);
		mdp3_u64_read(e + MDP3_BOOKL_SIZE, &out->size, &out->present, MDP3_HAS_SIZE);
		out->security_id = (int32_t)mdp3_le32(e + MDP3_BOOKL_SECURITY_ID);
		out->rpt_seq = mdp3_le32(e + MDP3_BOOKL_RPT_SEQ);
		out->level = e[MDP3_BOOKL_LEVEL];
		out->action = e[MDP3_BOOKL_ACTION];
		out->entry_type = (char)e[MDP3_BOOKL_ENTRY_TYPE];
	}
	out->present |= MDP3_HAS_SECURITY_ID | MDP3_HAS_RPT_SEQ | MDP3_HAS_LEVEL;
	return ok;
}

/* 48 and 65 entries: a trade at one price for one instrument (MDEntryType '2'). */
static bool mdp3_trade_entry_read(const struct mdp3_message *message, const uint8_t *e,
				  struct mdp3_md_entry *out)
{
	bool ok;

	out->entry_type = '2';
	if (message->template_id == MDP3_TRADE_SUMMARY) {
		ok = mdp3_price_read(e + MDP3_TRADE_PRICE, &out->price, &out->present, MDP3_HAS_PRICE) &&
		     mdp3_qty32_read(e + MDP3_TRADE_SIZE, &out->size, &out->present, MDP3_HAS_SIZE) &&
		     mdp3_count32_read(e + MDP3_TRADE_ORDERS, &out->orders, &out->present, MDP3_HAS_ORDERS);
		out->security_id = (int32_t)mdp3_le32(e + MDP3_TRADE_SECURITY_ID);
		out->rpt_seq = mdp3_le32(e + MDP3_TRADE_RPT_SEQ);
		out->aggressor_side = e[MDP3_TRADE_AGGRESSOR];
		out->action = e[MDP3_TRADE_ACTION];
		out->trade_id = mdp3_le32(e + MDP3_TRADE_ENTRY_ID);
		if (out->trade_id != MDP3_UINT32_NULL)
			out->present |= MDP3_HAS_TRADE_ID;
	} else {
		ok = mdp3_price_read(e + MDP3_TRADEL_PRICE, &out->price, &out->present, MDP3_HAS_PRICE) &&
		     mdp3_count32_read(e + MDP3_TRADEL_ORDERS, &out->orders, &out->present, MDP3_HAS_ORDERS);
		out->size = mdp3_le64(e + MDP3_TRADEL_SIZE);
		out->security_id = (int32_t)mdp3_le32(e + MDP3_TRADEL_SECURITY_ID);
		out->rpt_seq = mdp3_le32(e + MDP3_TRADEL_RPT_SEQ);
		out->trade_id = mdp3_le32(e + MDP3_TRADEL_ENTRY_ID);
		out->aggressor_side = e[MDP3_TRADEL_AGGRESSOR];
		out->action = e[MDP3_TRADEL_ACTION];
		out->present |= MDP3_HAS_SIZE | MDP3_HAS_TRADE_ID;
	}
	out->present |= MDP3_HAS_SECURITY_ID | MDP3_HAS_RPT_SEQ;
	return ok;
}

/* 49, 50, 51: statistics and limits, each entry one instrument's. */
static bool mdp3_statistics_entry_read(const struct mdp3_message *message, const uint8_t *e,
				       struct mdp3_md_entry *out)
{
	bool ok = true;

	switch (message->template_id) {
	case MDP3_DAILY_STATISTICS:
		ok = mdp3_price_read(e + MDP3_DAILY_PRICE, &out->price, &out->present, MDP3_HAS_PRICE) &&
		     mdp3_qty32_read(e + MDP3_DAILY_SIZE, &out->size, &out->present, MDP3_HAS_SIZE);
		out->security_id = (int32_t)mdp3_le32(e + MDP3_DAILY_SECURITY_ID);
		out->rpt_seq = mdp3_le32(e + MDP3_DAILY_RPT_SEQ);
		out->reference_date = mdp3_le16(e + MDP3_DAILY_REFERENCE_DATE);
		out->settl_price_type = e[MDP3_DAILY_SETTL_TYPE];
		out->action = e[MDP3_DAILY_ACTION];
		out->entry_type = (char)e[MDP3_DAILY_ENTRY_TYPE];
		break;
	case MDP3_LIMITS_BANDING:
		ok = mdp3_price_read(e + MDP3_LIMITS_HIGH, &out->high_limit, &out->present, MDP3_HAS_HIGH_LIMIT) &&
		     mdp3_price_read(e + MDP3_LIMITS_LOW, &out->low_limit, &out->present, MDP3_HAS_LOW_LIMIT) &&
		     mdp3_price_read(e + MDP3_LIMITS_VARIATION, &out->max_variation, &out->present,
				     MDP3_HAS_VARIATION);
		out->security_id = (int32_t)mdp3_le32(e + MDP3_LIMITS_SECURITY_ID);
		out->rpt_seq = mdp3_le32(e + MDP3_LIMITS_RPT_SEQ);
		out->action = MDP3_ACTION_NEW;
		out->entry_type = 'g';
		break;
	default:
		assert(message->template_id == MDP3_SESSION_STATISTICS);
		ok = mdp3_price_read(e + MDP3_SESSION_PRICE, &out->price, &out->present, MDP3_HAS_PRICE) &&
		     mdp3_qty32_read(e + MDP3_SESSION_SIZE, &out->size, &out->present, MDP3_HAS_SIZE);
		out->security_id = (int32_t)mdp3_le32(e + MDP3_SESSION_SECURITY_ID);
		out->rpt_seq = mdp3_le32(e + MDP3_SESSION_RPT_SEQ);
		out->open_close_settl = e[MDP3_SESSION_OPEN_CLOSE];
		out->action = e[MDP3_SESSION_ACTION];
		out->entry_type = (char)e[MDP3_SESSION_ENTRY_TYPE];
		break;
	}
	out->present |= MDP3_HAS_SECURITY_ID | MDP3_HAS_RPT_SEQ;
	return ok;
}

/* 52: one entry of an instrument's snapshot (its SecurityID and RptSeq are the root's). */
static bool mdp3_snapshot_entry_read(const uint8_t *e, struct mdp3_md_entry *out)
{
	int8_t level = (int8_t)e[MDP3_SNAP_LEVEL];
	bool ok;

	ok = mdp3_price_read(e + MDP3_SNAP_PRICE, &out->price, &out->present, MDP3_HAS_PRICE) &&
	     mdp3_qty32_read(e + MDP3_SNAP_SIZE, &out->size, &out->present, MDP3_HAS_SIZE) &&
	     mdp3_count32_read(e + MDP3_SNAP_ORDERS, &out->orders, &out->present, MDP3_HAS_ORDERS);
	/* A negative level is no book level: it reads as absent, as the null does. */
	if (level != MDP3_INT8_NULL && level > 0) {
		out->level = (uint8_t)level;
		out->present |= MDP3_HAS_LEVEL;
	}
	out->reference_date = mdp3_le16(e + MDP3_SNAP_REFERENCE_DATE);
	out->open_close_settl = e[MDP3_SNAP_OPEN_CLOSE];
	out->settl_price_type = e[MDP3_SNAP_SETTL_TYPE];
	out->entry_type = (char)e[MDP3_SNAP_ENTRY_TYPE];
	out->action = MDP3_ACTION_NEW;
	return ok;
}

bool mdp3_md_entry_read(const struct mdp3_message *message, uint32_t i,
			struct mdp3_md_entry *entry, struct mdp3_stats *stats)
{
	const struct mdp3_group *g = &message->groups[0];
	const uint8_t *e;
	bool ok = true;

	assert(mdp3_has_md_entries(message->template_id) && i < g->count);
	e = g->entries + (size_t)i * g->block_length;
	memset(entry, 0, sizeof(*entry));
	entry->aggressor_side = MDP3_UINT8_NULL;
	entry->open_close_settl = MDP3_UINT8_NULL;
	entry->reference_date = MDP3_DATE_NULL;
	switch (message->template_id) {
	case MDP3_CHANNEL_RESET:
		entry->appl_id = (int16_t)mdp3_le16(e + MDP3_RESET_APPL_ID);
		entry->action = MDP3_ACTION_NEW;
		entry->entry_type = 'J';
		break;
	case MDP3_VOLUME:
		ok = mdp3_qty32_read(e + MDP3_VOLUME_SIZE, &entry->size, &entry->present, MDP3_HAS_SIZE);
		entry->security_id = (int32_t)mdp3_le32(e + MDP3_VOLUME_SECURITY_ID);
		entry->rpt_seq = mdp3_le32(e + MDP3_VOLUME_RPT_SEQ);
		entry->action = e[MDP3_VOLUME_ACTION];
		entry->entry_type = 'e';
		entry->present |= MDP3_HAS_SECURITY_ID | MDP3_HAS_RPT_SEQ;
		break;
	case MDP3_BOOK:
	case MDP3_BOOK_LONG_QTY:
		ok = mdp3_book_entry_read(message, e, g->block_length, entry);
		break;
	case MDP3_TRADE_SUMMARY:
	case MDP3_TRADE_SUMMARY_LONG_QTY:
		ok = mdp3_trade_entry_read(message, e, entry);
		break;
	case MDP3_SNAPSHOT:
		ok = mdp3_snapshot_entry_read(e, entry);
		break;
	default:
		ok = mdp3_statistics_entry_read(message, e, entry);
		break;
	}
	if (!ok)
		stats->bad_field++;
	return ok;
}

uint32_t mdp3_orders(const struct mdp3_message *message)
{
	switch (message->template_id) {
	case MDP3_ORDER_BOOK:
	case MDP3_SNAPSHOT_ORDER_BOOK:
		return message->groups[0].count;
	case MDP3_BOOK:
	case MDP3_BOOK_LONG_QTY:
	case MDP3_TRADE_SUMMARY:
	case MDP3_TRADE_SUMMARY_LONG_QTY:
		assert(message->groups_count == 2);
		return message->groups[1].count;
	default:
		assert(!"mdp3_orders: a template without orders");
		return 0;
	}
}

bool mdp3_order_read(const struct mdp3_message *message, uint32_t i, struct mdp3_order *order,
		     struct mdp3_stats *stats)
{
	bool own_group = message->template_id == MDP3_ORDER_BOOK ||
			 message->template_id == MDP3_SNAPSHOT_ORDER_BOOK;
	const struct mdp3_group *g = &message->groups[own_group ? 0 : 1];
	const uint8_t *e;
	bool ok = true;

	assert(i < mdp3_orders(message));
	e = g->entries + (size_t)i * g->block_length;
	memset(order, 0, sizeof(*order));
	switch (message->template_id) {
	case MDP3_BOOK:
	case MDP3_BOOK_LONG_QTY:
		order->order_id = mdp3_le64(e + MDP3_BOOK_ORDER_ID);
		order->present |= MDP3_HAS_ORDER_ID;
		mdp3_u64_read(e + MDP3_BOOK_ORDER_PRIORITY, &order->priority, &order->present, MDP3_HAS_PRIORITY);
		ok = mdp3_qty32_read(e + MDP3_BOOK_ORDER_DISPLAY_QTY, &order->quantity, &order->present,
				     MDP3_HAS_QUANTITY);
		order->reference_id = e[MDP3_BOOK_ORDER_REFERENCE];
		if (order->reference_id != MDP3_UINT8_NULL)
			order->present |= MDP3_HAS_REFERENCE;
		order->action = e[MDP3_BOOK_ORDER_ACTION];
		break;
	case MDP3_TRADE_SUMMARY:
	case MDP3_TRADE_SUMMARY_LONG_QTY:
		order->order_id = mdp3_le64(e + MDP3_TRADE_ORDER_ID);
		order->present |= MDP3_HAS_ORDER_ID;
		ok = mdp3_qty32_read(e + MDP3_TRADE_ORDER_LAST_QTY, &order->quantity, &order->present,
				     MDP3_HAS_QUANTITY);
		order->action = MDP3_ACTION_NEW;
		order->entry_type = '2';
		break;
	case MDP3_ORDER_BOOK:
		mdp3_u64_read(e + MDP3_ORDER_ORDER_ID, &order->order_id, &order->present, MDP3_HAS_ORDER_ID);
		mdp3_u64_read(e + MDP3_ORDER_PRIORITY, &order->priority, &order->present, MDP3_HAS_PRIORITY);
		ok = mdp3_price_read(e + MDP3_ORDER_PRICE, &order->price, &order->present, MDP3_HAS_PRICE) &&
		     mdp3_qty32_read(e + MDP3_ORDER_DISPLAY_QTY, &order->quantity, &order->present,
				     MDP3_HAS_QUANTITY);
		order->security_id = (int32_t)mdp3_le32(e + MDP3_ORDER_SECURITY_ID);
		order->present |= MDP3_HAS_SECURITY_ID;
		order->action = e[MDP3_ORDER_ACTION];
		order->entry_type = (char)e[MDP3_ORDER_ENTRY_TYPE];
		break;
	default:
		assert(message->template_id == MDP3_SNAPSHOT_ORDER_BOOK);
		order->order_id = mdp3_le64(e + MDP3_SNAPO_ORDER_ID);
		order->present |= MDP3_HAS_ORDER_ID;
		mdp3_u64_read(e + MDP3_SNAPO_PRIORITY, &order->priority, &order->present, MDP3_HAS_PRIORITY);
		ok = mdp3_price_read(e + MDP3_SNAPO_PRICE, &order->price, &order->present, MDP3_HAS_PRICE) &&
		     mdp3_qty32_read(e + MDP3_SNAPO_DISPLAY_QTY, &order->quantity, &order->present,
				     MDP3_HAS_QUANTITY);
		order->action = MDP3_ACTION_NEW;
		order->entry_type = (char)e[MDP3_SNAPO_ENTRY_TYPE];
		break;
	}
	if (!ok)
		stats->bad_field++;
	return ok;
}

void mdp3_security_status_read(const struct mdp3_message *message,
			       struct mdp3_security_status *status)
{
	const uint8_t *r = message->root;

	assert(message->template_id == MDP3_SECURITY_STATUS &&
	       message->block_length >= MDP3_STATUS_ROOT_MIN);
	memset(status, 0, sizeof(*status));
	status->transact_time_ns = mdp3_le64(r + MDP3_STATUS_TRANSACT_TIME);
	memcpy(status->security_group, r + MDP3_STATUS_SECURITY_GROUP, sizeof(status->security_group));
	memcpy(status->asset, r + MDP3_STATUS_ASSET, sizeof(status->asset));
	status->security_id = (int32_t)mdp3_le32(r + MDP3_STATUS_SECURITY_ID);
	if (status->security_id != MDP3_INT32_NULL)
		status->present |= MDP3_HAS_SECURITY_ID;
	status->trade_date = mdp3_le16(r + MDP3_STATUS_TRADE_DATE);
	status->match_event = r[MDP3_STATUS_MATCH_EVENT];
	status->trading_status = r[MDP3_STATUS_TRADING_STATUS];
	if (status->trading_status != MDP3_UINT8_NULL)
		status->present |= MDP3_HAS_TRADING_STATUS;
	status->halt_reason = r[MDP3_STATUS_HALT_REASON];
	status->trading_event = r[MDP3_STATUS_TRADING_EVENT];
}

bool mdp3_snapshot_read(const struct mdp3_message *message, struct mdp3_snapshot *snapshot,
			struct mdp3_stats *stats)
{
	const uint8_t *r = message->root;
	bool ok = true;

	memset(snapshot, 0, sizeof(*snapshot));
	if (message->template_id == MDP3_SNAPSHOT_ORDER_BOOK) {
		assert(message->block_length >= MDP3_SNAPO_ROOT_MIN);
		snapshot->last_msg_seq = mdp3_le32(r + MDP3_SNAPO_LAST_MSG_SEQ);
		snapshot->tot_num_reports = mdp3_le32(r + MDP3_SNAPO_TOT_REPORTS);
		snapshot->security_id = (int32_t)mdp3_le32(r + MDP3_SNAPO_SECURITY_ID);
		snapshot->chunks = mdp3_le32(r + MDP3_SNAPO_CHUNKS);
		snapshot->chunk = mdp3_le32(r + MDP3_SNAPO_CHUNK);
		snapshot->transact_time_ns = mdp3_le64(r + MDP3_SNAPO_TRANSACT_TIME);
		snapshot->trading_status = MDP3_UINT8_NULL;
		snapshot->present = MDP3_HAS_SECURITY_ID | MDP3_HAS_TOT_REPORTS;
		return true;
	}
	assert(message->template_id == MDP3_SNAPSHOT && message->block_length >= MDP3_SNAP_ROOT_MIN);
	snapshot->last_msg_seq = mdp3_le32(r + MDP3_SNAP_LAST_MSG_SEQ);
	snapshot->tot_num_reports = mdp3_le32(r + MDP3_SNAP_TOT_REPORTS);
	snapshot->security_id = (int32_t)mdp3_le32(r + MDP3_SNAP_SECURITY_ID);
	snapshot->rpt_seq = mdp3_le32(r + MDP3_SNAP_RPT_SEQ);
	snapshot->chunks = 1;
	snapshot->chunk = 1;
	snapshot->transact_time_ns = mdp3_le64(r + MDP3_SNAP_TRANSACT_TIME);
	snapshot->last_update_ns = mdp3_le64(r + MDP3_SNAP_LAST_UPDATE);
	snapshot->trade_date = mdp3_le16(r + MDP3_SNAP_TRADE_DATE);
	snapshot->trading_status = r[MDP3_SNAP_TRADING_STATUS];
	snapshot->present = MDP3_HAS_SECURITY_ID | MDP3_HAS_TOT_REPORTS | MDP3_HAS_RPT_SEQ;
	if (snapshot->trading_status != MDP3_UINT8_NULL)
		snapshot->present |= MDP3_HAS_TRADING_STATUS;
	ok = mdp3_price_read(r + MDP3_SNAP_HIGH_LIMIT, &snapshot->high_limit, &snapshot->present,
			     MDP3_HAS_HIGH_LIMIT) &&
	     mdp3_price_read(r + MDP3_SNAP_LOW_LIMIT, &snapshot->low_limit, &snapshot->present,
			     MDP3_HAS_LOW_LIMIT) &&
	     mdp3_price_read(r + MDP3_SNAP_VARIATION, &snapshot->max_variation, &snapshot->present,
			     MDP3_HAS_VARIATION);
	if (!ok)
		stats->bad_field++;
	return ok;
}

/* Depths from NoMDFeedTypes (group 1): GBX outright, GBI implied (§7.2). */
static void mdp3_definition_depths(const struct mdp3_message *message, struct mdp3_definition *d)
{
	const struct mdp3_group *g = &message->groups[1];

	for (uint32_t i = 0; i < g->count; i++) {
		const uint8_t *e = g->entries + (size_t)i * g->block_length;

		if (memcmp(e + MDP3_FEED_TYPE, "GBX", 3) == 0)
			d->depth = (int8_t)e[MDP3_FEED_DEPTH];
		else if (memcmp(e + MDP3_FEED_TYPE, "GBI", 3) == 0)
			d->implied_depth = (int8_t)e[MDP3_FEED_DEPTH];
	}
}

/* A root field that exists from version `since` on, when the wire blockLength holds it. */
static inline bool mdp3_root_has(const struct mdp3_message *message, uint16_t since, uint32_t offset,
				 uint32_t size)
{
	return message->version >= since && message->block_length >= offset + size;
}

bool mdp3_definition_read(const struct mdp3_message *message, struct mdp3_definition *d,
			  struct mdp3_stats *stats)
{
	const uint8_t *r = message->root;
	uint32_t increment_at, factor_at, guid_at;
	bool ok = true;

	memset(d, 0, sizeof(*d));
	switch (message->template_id) {
	case MDP3_DEFINITION_FUTURE:
		increment_at = MDP3_FUT_MIN_INCREMENT;
		factor_at = MDP3_FUT_DISPLAY_FACTOR;
		guid_at = MDP3_FUT_GUID;
		ok = mdp3_price_read(r + MDP3_FUT_UNIT_QTY, &d->unit_of_measure_qty, &d->present,
				     MDP3_HAS_UNIT_QTY);
		break;
	case MDP3_DEFINITION_OPTION:
		increment_at = MDP3_OPT_MIN_INCREMENT;
		factor_at = MDP3_OPT_DISPLAY_FACTOR;
		guid_at = MDP3_OPT_GUID;
		d->put_or_call = r[MDP3_OPT_PUT_OR_CALL];
		ok = mdp3_price_read(r + MDP3_OPT_UNIT_QTY, &d->unit_of_measure_qty, &d->present,
				     MDP3_HAS_UNIT_QTY) &&
		     mdp3_price_read(r + MDP3_OPT_STRIKE, &d->strike_price, &d->present, MDP3_HAS_STRIKE);
		break;
	default:
		assert(message->template_id == MDP3_DEFINITION_SPREAD);
		increment_at = MDP3_SPREAD_MIN_INCREMENT;
		factor_at = MDP3_SPREAD_DISPLAY_FACTOR;
		guid_at = MDP3_SPREAD_GUID;
		break;
	}
	assert(message->groups_count >= 2 &&
	       message->block_length >= mdp3_layouts[message->template_id].root_min);
	ok = ok && mdp3_price_read(r + increment_at, &d->min_price_increment, &d->present,
				   MDP3_HAS_MIN_INCREMENT);
	d->display_factor = (int64_t)mdp3_le64(r + factor_at);
	if (mdp3_root_has(message, MDP3_DEF_GUID_SINCE, guid_at, 8))
		mdp3_u64_read(r + guid_at, &d->instrument_guid, &d->present, MDP3_HAS_GUID);
	d->match_event = r[MDP3_DEF_MATCH_EVENT];
	d->tot_num_reports = mdp3_le32(r + MDP3_DEF_TOT_REPORTS);
	if (d->tot_num_reports != MDP3_UINT32_NULL)
		d->present |= MDP3_HAS_TOT_REPORTS;
	d->update_action = (char)r[MDP3_DEF_UPDATE_ACTION];
	d->last_update_ns = mdp3_le64(r + MDP3_DEF_LAST_UPDATE);
	d->trading_status = r[MDP3_DEF_TRADING_STATUS];
	if (d->trading_status != MDP3_UINT8_NULL)
		d->present |= MDP3_HAS_TRADING_STATUS;
	d->appl_id = (int16_t)mdp3_le16(r + MDP3_DEF_APPL_ID);
	memcpy(d->security_group, r + MDP3_DEF_SECURITY_GROUP, sizeof(d->security_group));
	memcpy(d->asset, r + MDP3_DEF_ASSET, sizeof(d->asset));
	memcpy(d->symbol, r + MDP3_DEF_SYMBOL, sizeof(d->symbol));
	d->security_id = (int32_t)mdp3_le32(r + MDP3_DEF_SECURITY_ID);
	d->present |= MDP3_HAS_SECURITY_ID;
	memcpy(d->security_type, r + MDP3_DEF_SECURITY_TYPE, sizeof(d->security_type));
	mdp3_definition_depths(message, d);
	if (!ok)
		stats->bad_field++;
	return ok;
}

uint32_t mdp3_legs(const struct mdp3_message *message)
{
	if (message->template_id != MDP3_DEFINITION_SPREAD)
		return 0;
	assert(message->groups_count == 5);
	return message->groups[4].count;
}

bool mdp3_leg_read(const struct mdp3_message *message, uint32_t i, struct mdp3_leg *leg,
		   struct mdp3_stats *stats)
{
	const struct mdp3_group *g = &message->groups[4];
	const uint8_t *e;

	assert(i < mdp3_legs(message));
	e = g->entries + (size_t)i * g->block_length;
	memset(leg, 0, sizeof(*leg));
	leg->security_id = (int32_t)mdp3_le32(e + MDP3_LEG_SECURITY_ID);
	leg->side = e[MDP3_LEG_SIDE];
	leg->ratio = (int8_t)e[MDP3_LEG_RATIO];
	if (!mdp3_price_read(e + MDP3_LEG_PRICE, &leg->price, &leg->present, MDP3_HAS_PRICE)) {
		stats->bad_field++;
		return false;
	}
	return true;
}
