/*
 * igmp: IGMPv3 host messages and timers (see igmp.h). Message layouts per RFC 3376
 * §4.1 (Membership Query) and §4.2 (Version 3 Membership Report), RFC 2236 §2
 * (IGMPv2); the IPv4 header per RFC 791 with the Router Alert option of RFC 2113.
 */
#include "feed/igmp.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "book/util/wire.h"
#include "feed/packet.h"

#define IGMP_ETH_LEN 14
#define IGMP_VLAN_LEN 4
#define IGMP_ETHERTYPE_IPV4 0x0800
#define IGMP_ETHERTYPE_VLAN 0x8100
#define IGMP_IP_PROTO 2
#define IGMP_IP_LEN 24			/* 20 and the 4-byte Router Alert option */
#define IGMP_HEADERS_LEN (IGMP_ETH_LEN + IGMP_IP_LEN)
#define IGMP_TYPE_QUERY 0x11
#define IGMP_TYPE_V2_REPORT 0x16
#define IGMP_TYPE_V2_LEAVE 0x17
#define IGMP_TYPE_V3_REPORT 0x22
#define IGMP_V3_REPORT_HEADER 8
#define IGMP_V3_QUERY_MIN 12
#define IGMP_V2_LEN 8
#define IGMP_V1_RESP_DS 100		/* a v1 query has no Max Resp: 10 s (RFC 3376 §7.1) */
#define IGMP_NS_PER_DS 100000000ull

/* Group record types (RFC 3376 §4.2.12). */
enum igmp_record_type {
	IGMP_MODE_IS_INCLUDE = 1,
	IGMP_MODE_IS_EXCLUDE = 2,
	IGMP_CHANGE_TO_INCLUDE = 3,
	IGMP_CHANGE_TO_EXCLUDE = 4,
	IGMP_ALLOW_NEW_SOURCES = 5,
	IGMP_BLOCK_OLD_SOURCES = 6,
};

int igmp_membership_add(struct igmp_membership *m, uint32_t group_ip, bool has_source, uint32_t source_ip)
{
	struct igmp_group *g = NULL;

	assert(m->groups_count <= IGMP_GROUPS_MAX);
	for (uint32_t i = 0; i < m->groups_count && g == NULL; i++)
		if (m->groups[i].group_ip == group_ip)
			g = &m->groups[i];
	if (g == NULL) {
		if (m->groups_count == IGMP_GROUPS_MAX)
			return -ENOSPC;
		g = &m->groups[m->groups_count++];
		memset(g, 0, sizeof(*g));
		g->group_ip = group_ip;
		g->exclude = !has_source;
		if (has_source)
			g->sources[g->sources_count++] = source_ip;
		return 0;
	}
	/* A line that takes any source needs the whole group: EXCLUDE {} covers the lists. */
	if (!has_source || g->exclude) {
		g->exclude = true;
		g->sources_count = 0;
		return 0;
	}
	for (uint16_t s = 0; s < g->sources_count; s++)
		if (g->sources[s] == source_ip)
			return 0;
	if (g->sources_count == IGMP_SOURCES_MAX)
		return -ENOSPC;
	g->sources[g->sources_count++] = source_ip;
	return 0;
}

/*
 * The Ethernet and IPv4 headers of an IGMP message of igmp_len bytes to dst_ip at
 * frame (IGMP_HEADERS_LEN bytes): TOS 0xc0 (internetwork control, as routers expect
 * of IGMP), DF, TTL 1, Router Alert (RFC 2113; RFC 3376 §4).
 */
static void igmp_headers_write(uint8_t *frame, const struct igmp_sender *from, uint32_t dst_ip, uint32_t igmp_len)
{
	uint8_t *ip = frame + IGMP_ETH_LEN;

	packet_group_mac(dst_ip, frame);
	memcpy(frame + 6, from->mac, 6);
	wire_put_be16(frame + 12, IGMP_ETHERTYPE_IPV4);
	memset(ip, 0, IGMP_IP_LEN);
	ip[0] = 0x40 | (IGMP_IP_LEN / 4);
	ip[1] = 0xc0;
	wire_put_be16(ip + 2, (uint16_t)(IGMP_IP_LEN + igmp_len));
	wire_put_be16(ip + 6, 0x4000);
	ip[8] = 1;
	ip[9] = IGMP_IP_PROTO;
	wire_put_be32(ip + 12, from->ip);
	wire_put_be32(ip + 16, dst_ip);
	ip[20] = 0x94;	/* Router Alert: copied, option 20 */
	ip[21] = 4;	/* its length; value 0: "every router examines the packet" */
	wire_put_be16(ip + 10, packet_checksum(ip, IGMP_IP_LEN));
}

/* A record's type and the sources it lists for group g (RFC 3376 §4.2.12, §5.1). */
static uint8_t igmp_record_type(const struct igmp_group *g, enum igmp_report_kind kind, bool *lists)
{
	*lists = !g->exclude;
	switch (kind) {
	case IGMP_REPORT_CURRENT:
		return g->exclude ? IGMP_MODE_IS_EXCLUDE : IGMP_MODE_IS_INCLUDE;
	case IGMP_REPORT_JOIN:
		return g->exclude ? IGMP_CHANGE_TO_EXCLUDE : IGMP_ALLOW_NEW_SOURCES;
	case IGMP_REPORT_LEAVE:
		break;
	}
	return g->exclude ? IGMP_CHANGE_TO_INCLUDE : IGMP_BLOCK_OLD_SOURCES;
}

uint32_t igmp_v3_report_write(uint8_t *frame, size_t size, const struct igmp_sender *from,
			      const struct igmp_membership *m, int32_t group, enum igmp_report_kind kind)
{
	uint32_t first = group < 0 ? 0 : (uint32_t)group;
	uint32_t end = group < 0 ? m->groups_count : first + 1;
	uint8_t *igmp = frame + IGMP_HEADERS_LEN;
	uint32_t at = IGMP_V3_REPORT_HEADER;

	assert(end <= m->groups_count && m->groups_count <= IGMP_GROUPS_MAX);
	if (size < IGMP_HEADERS_LEN + IGMP_V3_REPORT_HEADER)
		return 0;
	for (uint32_t i = first; i < end; i++) {
		const struct igmp_group *g = &m->groups[i];
		bool lists;
		uint8_t type = igmp_record_type(g, kind, &lists);
		uint16_t sources = lists ? g->sources_count : 0;

		assert(g->sources_count <= IGMP_SOURCES_MAX);
		if (IGMP_HEADERS_LEN + at + 8 + 4u * sources > size)
			return 0;
		igmp[at] = type;
		igmp[at + 1] = 0;	/* no auxiliary data */
		wire_put_be16(igmp + at + 2, sources);
		wire_put_be32(igmp + at + 4, g->group_ip);
		at += 8;
		for (uint16_t s = 0; s < sources; s++, at += 4)
			wire_put_be32(igmp + at, g->sources[s]);
	}
	igmp[0] = IGMP_TYPE_V3_REPORT;
	igmp[1] = 0;
	wire_put_be16(igmp + 2, 0);
	wire_put_be16(igmp + 4, 0);
	wire_put_be16(igmp + 6, (uint16_t)(end - first));
	wire_put_be16(igmp + 2, packet_checksum(igmp, at));
	igmp_headers_write(frame, from, IGMP_V3_ROUTERS, at);
	return IGMP_HEADERS_LEN + at;
}

uint32_t igmp_v2_message_write(uint8_t *frame, size_t size, const struct igmp_sender *from,
			       uint32_t group_ip, bool leave)
{
	uint8_t *igmp = frame + IGMP_HEADERS_LEN;

	if (size < IGMP_HEADERS_LEN + IGMP_V2_LEN)
		return 0;
	igmp[0] = leave ? IGMP_TYPE_V2_LEAVE : IGMP_TYPE_V2_REPORT;
	igmp[1] = 0;
	wire_put_be16(igmp + 2, 0);
	wire_put_be32(igmp + 4, group_ip);
	wire_put_be16(igmp + 2, packet_checksum(igmp, IGMP_V2_LEN));
	igmp_headers_write(frame, from, leave ? IGMP_ALL_ROUTERS : group_ip, IGMP_V2_LEN);
	return IGMP_HEADERS_LEN + IGMP_V2_LEN;
}

/* Where frame[0..len)'s IPv4 header starts (past one 802.1Q tag), or 0: not IPv4. */
static uint32_t igmp_ip_offset(const uint8_t *frame, uint32_t len)
{
	uint32_t at = IGMP_ETH_LEN;

	if (len < IGMP_ETH_LEN)
		return 0;
	if (wire_be16(frame + 12) == IGMP_ETHERTYPE_VLAN) {
		if (len < IGMP_ETH_LEN + IGMP_VLAN_LEN)
			return 0;
		at += IGMP_VLAN_LEN;
	}
	return wire_be16(frame + at - 2) == IGMP_ETHERTYPE_IPV4 ? at : 0;
}

bool igmp_frame_is_igmp(const uint8_t *frame, uint32_t len)
{
	uint32_t at = igmp_ip_offset(frame, len);

	return at != 0 && len >= at + 20 && frame[at + 9] == IGMP_IP_PROTO;
}

/* Max Resp Code to tenths of a second: 128 and up is a floating-point value (RFC 3376 §4.1.1). */
static uint32_t igmp_max_resp_ds(uint8_t code)
{
	if (code < 128)
		return code;
	return (uint32_t)((code & 0x0f) | 0x10) << (((code >> 4) & 0x07) + 3);
}

enum igmp_verdict igmp_query_decode(const uint8_t *frame, uint32_t len, struct igmp_query *q)
{
	uint32_t at = igmp_ip_offset(frame, len), ihl, total, igmp_len;
	const uint8_t *ip, *igmp;

	memset(q, 0, sizeof(*q));
	if (at == 0)
		return IGMP_NOT_IGMP;
	if (len < at + 20)
		return IGMP_TRUNCATED;
	ip = frame + at;
	if (ip[9] != IGMP_IP_PROTO)
		return IGMP_NOT_IGMP;
	ihl = (uint32_t)(ip[0] & 0x0f) * 4;
	total = wire_be16(ip + 2);
	if ((ip[0] >> 4) != 4 || ihl < 20 || total < ihl)
		return IGMP_BAD_IP;
	if (len - at < total || len - at < ihl)
		return IGMP_TRUNCATED;
	if (packet_checksum(ip, ihl) != 0 || (wire_be16(ip + 6) & 0x3fff) != 0)
		return IGMP_BAD_IP;
	q->src_ip = wire_be32(ip + 12);
	q->dst_ip = wire_be32(ip + 16);
	igmp = ip + ihl;
	igmp_len = total - ihl;
	if (igmp_len < IGMP_V2_LEN)
		return IGMP_TRUNCATED;
	if (packet_checksum(igmp, igmp_len) != 0)
		return IGMP_BAD_CHECKSUM;
	if (igmp[0] != IGMP_TYPE_QUERY)
		return IGMP_OTHER;
	q->group_ip = wire_be32(igmp + 4);
	if (q->group_ip != 0 && (q->group_ip >> 28) != 0xe)
		return IGMP_BAD_GROUP;
	if (igmp_len == IGMP_V2_LEN) {
		q->version = igmp[1] == 0 ? 1 : 2;
		q->max_resp_ds = igmp[1] == 0 ? IGMP_V1_RESP_DS : igmp[1];
		return IGMP_QUERY;
	}
	if (igmp_len < IGMP_V3_QUERY_MIN)
		return IGMP_BAD_LENGTH;	/* RFC 3376 §7.1: ignored */
	q->version = 3;
	q->max_resp_ds = igmp_max_resp_ds(igmp[1]);
	q->sources_count = wire_be16(igmp + 10);
	if (IGMP_V3_QUERY_MIN + 4u * q->sources_count > igmp_len)
		return IGMP_BAD_LENGTH;
	return IGMP_QUERY;
}

const char *igmp_verdict_name(enum igmp_verdict verdict)
{
	static const char *const names[IGMP_VERDICTS] = {
		[IGMP_QUERY] = "query", [IGMP_NOT_IGMP] = "not_igmp", [IGMP_TRUNCATED] = "truncated",
		[IGMP_BAD_IP] = "bad_ip", [IGMP_BAD_CHECKSUM] = "bad_checksum",
		[IGMP_BAD_LENGTH] = "bad_length", [IGMP_BAD_GROUP] = "bad_group", [IGMP_OTHER] = "other",
	};

	return (unsigned)verdict < IGMP_VERDICTS ? names[verdict] : "?";
}

void igmp_host_start(struct igmp_host *h, const struct igmp_membership *m, uint64_t now_ns, uint64_t seed)
{
	memset(h, 0, sizeof(*h));
	h->membership = *m;
	h->unsolicited_left = m->groups_count > 0 ? IGMP_ROBUSTNESS : 0;
	h->unsolicited_ns = now_ns;
	h->random = seed | 1;	/* xorshift's state is never 0 */
}

/*
 * A random delay in [0, max_resp_ds tenths of a second - IGMP_ANSWER_MARGIN_NS), in
 * ns (RFC 3376 §5.2); 0 when Max Resp Time is no longer than the margin.
 */
static uint64_t igmp_host_delay_ns(struct igmp_host *h, uint32_t max_resp_ds)
{
	uint64_t x = h->random, span = (uint64_t)max_resp_ds * IGMP_NS_PER_DS;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	h->random = x;
	return span <= IGMP_ANSWER_MARGIN_NS ? 0 : x % (span - IGMP_ANSWER_MARGIN_NS);
}

void igmp_host_query(struct igmp_host *h, const struct igmp_query *q, uint64_t now_ns)
{
	/* Due times are never 0 (0 means none): now_ns + 1 at the earliest. */
	uint64_t due = now_ns + 1 + igmp_host_delay_ns(h, q->max_resp_ds);
	uint32_t g;

	assert(q->version >= 1 && q->version <= 3);
	if (q->version < 3) {
		h->older_querier++;
		h->v2_until_ns = now_ns + IGMP_OLDER_QUERIER_NS;
	}
	if (q->group_ip == 0) {
		h->queries++;
		if (h->membership.groups_count > 0 && (h->general_ns == 0 || due < h->general_ns))
			h->general_ns = due;
		return;
	}
	for (g = 0; g < h->membership.groups_count; g++)
		if (h->membership.groups[g].group_ip == q->group_ip)
			break;
	if (g == h->membership.groups_count) {
		h->queries_ignored++;
		return;
	}
	h->queries++;
	/* A general answer due first reports this group too (RFC 3376 §5.2, rule 1). */
	if (h->general_ns != 0 && h->general_ns <= due)
		return;
	if (h->group_ns[g] == 0 || due < h->group_ns[g])
		h->group_ns[g] = due;
}

/* Whether one more answer fits this second's budget (and takes it). */
static bool igmp_host_budget_take(struct igmp_host *h, uint64_t now_ns)
{
	if (now_ns - h->budget_start_ns >= 1000000000ull) {
		h->budget_start_ns = now_ns;
		h->budget_used = 0;
	}
	if (h->budget_used >= IGMP_ANSWERS_PER_S)
		return false;
	h->budget_used++;
	return true;
}

bool igmp_host_next(struct igmp_host *h, uint64_t now_ns, struct igmp_send *out)
{
	bool v2 = h->v2_until_ns > now_ns;

	memset(out, 0, sizeof(*out));
	if (h->unsolicited_left > 0 && now_ns >= h->unsolicited_ns) {
		h->unsolicited_left--;
		h->unsolicited_ns = now_ns + IGMP_UNSOLICITED_INTERVAL_NS;
		out->group = -1;
		out->kind = IGMP_REPORT_JOIN;
		return true;
	}
	out->kind = IGMP_REPORT_CURRENT;
	out->answer = true;
	out->v2 = v2;
	if (h->general_ns != 0 && now_ns >= h->general_ns) {
		/* v2: one report per group, one budget for them all (taken by the first). */
		if (h->v2_next == 0 && !igmp_host_budget_take(h, now_ns))
			return false;
		out->general = true;
		if (!v2) {
			h->general_ns = 0;
			out->group = -1;
			return true;
		}
		out->group = (int32_t)h->v2_next++;
		if (h->v2_next >= h->membership.groups_count) {
			h->v2_next = 0;
			h->general_ns = 0;
		}
		return true;
	}
	for (uint32_t g = 0; g < h->membership.groups_count; g++)
		if (h->group_ns[g] != 0 && now_ns >= h->group_ns[g]) {
			if (!igmp_host_budget_take(h, now_ns))
				return false;
			h->group_ns[g] = 0;
			out->group = (int32_t)g;
			return true;
		}
	return false;
}

void igmp_log_budget_start(struct igmp_log_budget *b, uint64_t now_ns)
{
	b->tokens = IGMP_LOG_BURST;
	b->refill_ns = now_ns + IGMP_LOG_REFILL_NS;
	b->held = 0;
}

bool igmp_log_budget_take(struct igmp_log_budget *b, uint64_t now_ns, uint64_t *held)
{
	if (now_ns >= b->refill_ns) {
		uint64_t due = 1 + (now_ns - b->refill_ns) / IGMP_LOG_REFILL_NS;

		b->tokens = due >= IGMP_LOG_BURST - b->tokens ? IGMP_LOG_BURST : b->tokens + (uint32_t)due;
		b->refill_ns = now_ns + IGMP_LOG_REFILL_NS;
	}
	assert(b->tokens <= IGMP_LOG_BURST);
	if (b->tokens == 0) {
		b->held++;
		return false;
	}
	b->tokens--;
	*held = b->held;
	b->held = 0;
	return true;
}
