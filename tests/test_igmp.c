/*
 * test_igmp: fhd's own IGMP (feed/igmp.c). Hostile queries first: cut at every
 * length, wrong checksums (IP and IGMP), lying lengths, source counts past the end, a
 * fragment, a unicast "group", and seeded random bytes: each counted under its
 * verdict, none read past its end (ASan build). Then well-formed queries written
 * here from RFC 3376 §4.1 and RFC 2236 §2 (v3 general and group-specific, the
 * floating-point Max Resp Code, v2, v1). Then the reports, read back byte by byte
 * against RFC 3376 §4.2 with a checksum computed here; the membership's merging; and
 * the host's timers: the join repeats, answers within Max Resp Time, a general
 * answer covering a group's, the older-querier switch and the answer budget under a
 * query flood; and the answers' log budget.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "feed/igmp.h"
#include "tests/check.h"

#define NS_PER_S 1000000000ull

/* The RFC 1071 sum, written apart from feed/packet.c's: 32-bit words folded at the end. */
static uint16_t sum16(const uint8_t *p, size_t len)
{
	uint64_t s = 0;

	for (size_t i = 0; i < len; i++)
		s += (i & 1) ? p[i] : (uint64_t)p[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v); }
static uint32_t get16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t get32(const uint8_t *p) { return get16(p) << 16 | get16(p + 2); }

/*
 * A query frame: Ethernet, IPv4 (20 bytes + Router Alert when ra) from 10.0.0.9 to
 * dst, then igmp_len bytes of message: type 0x11, code, checksum, group, and for
 * igmp_len >= 12 the v3 fields with `sources` sources. Checksums right. Returns the
 * frame's length.
 */
static uint32_t query_build(uint8_t *f, uint32_t dst, uint8_t code, uint32_t group, uint32_t igmp_len,
			    uint16_t sources, int ra)
{
	uint32_t ihl = ra ? 24 : 20;
	uint8_t *ip = f + 14, *g = ip + ihl;

	memset(f, 0, 14 + ihl + igmp_len);
	f[0] = 0x01; f[2] = 0x5e; f[5] = 0x01;
	f[12] = 0x08;
	ip[0] = (uint8_t)(0x40 | ihl / 4);
	put16(ip + 2, ihl + igmp_len);
	ip[8] = 1;
	ip[9] = 2;
	put32(ip + 12, 0x0a000009);
	put32(ip + 16, dst);
	if (ra) {
		ip[20] = 0x94;
		ip[21] = 4;
	}
	put16(ip + 10, sum16(ip, ihl));
	g[0] = 0x11;
	g[1] = code;
	put32(g + 4, group);
	if (igmp_len >= 12) {
		g[8] = 2;	/* QRV */
		g[9] = 125;	/* QQIC */
		put16(g + 10, sources);
		for (uint32_t i = 0; i < sources && 12 + 4 * i + 4 <= igmp_len; i++)
			put32(g + 12 + 4 * i, 0x0a000001 + i);
	}
	put16(g + 2, sum16(g, igmp_len));
	return 14 + ihl + igmp_len;
}

static enum igmp_verdict decode(const uint8_t *f, uint32_t len, struct igmp_query *q)
{
	/* A copy of exactly len bytes: ASan sees any read past the end. */
	uint8_t *copy = malloc(len ? len : 1);
	enum igmp_verdict v;

	memcpy(copy, f, len);
	v = igmp_query_decode(copy, len, q);
	free(copy);
	CHECK((unsigned)v < IGMP_VERDICTS);
	return v;
}

static void test_hostile_queries(uint64_t seed)
{
	uint8_t f[2048];
	struct igmp_query q;
	uint32_t len = query_build(f, 0xe0000001, 100, 0, 12, 0, 1);

	/* Cut anywhere: never a query, never a crash. */
	for (uint32_t cut = 0; cut < len; cut++)
		CHECK(decode(f, cut, &q) != IGMP_QUERY);
	CHECK(decode(f, 14 + 10, &q) == IGMP_TRUNCATED);
	CHECK(decode(f, len - 1, &q) == IGMP_TRUNCATED);
	/* Wrong checksums. */
	f[14 + 10] ^= 0x40;
	CHECK(decode(f, len, &q) == IGMP_BAD_IP);
	f[14 + 10] ^= 0x40;
	f[14 + 24 + 2] ^= 0x01;
	CHECK(decode(f, len, &q) == IGMP_BAD_CHECKSUM);
	/* Lengths that lie: IP total past the frame, a header shorter than 20, total < header. */
	len = query_build(f, 0xe0000001, 100, 0, 12, 0, 1);
	put16(f + 14 + 2, 65535);
	put16(f + 14 + 10, 0);
	put16(f + 14 + 10, sum16(f + 14, 24));
	CHECK(decode(f, len, &q) == IGMP_TRUNCATED);
	len = query_build(f, 0xe0000001, 100, 0, 12, 0, 0);
	f[14] = 0x44;
	CHECK(decode(f, len, &q) == IGMP_BAD_IP);
	len = query_build(f, 0xe0000001, 100, 0, 12, 0, 0);
	put16(f + 14 + 2, 10);
	CHECK(decode(f, len, &q) == IGMP_BAD_IP);
	/* A fragment. */
	len = query_build(f, 0xe0000001, 100, 0, 12, 0, 1);
	f[14 + 6] = 0x20;	/* more fragments */
	put16(f + 14 + 10, 0);
	put16(f + 14 + 10, sum16(f + 14, 24));
	CHECK(decode(f, len, &q) == IGMP_BAD_IP);
	/* 9..11 bytes: ignored (RFC 3376 §7.1); sources past the end; absurd source counts. */
	for (uint32_t l = 9; l < 12; l++) {
		len = query_build(f, 0xe0000001, 100, 0, l, 0, 1);
		CHECK(decode(f, len, &q) == IGMP_BAD_LENGTH);
	}
	len = query_build(f, 0xe9360c6f, 100, 0xe9360c6f, 12 + 4, 2, 1);
	CHECK(decode(f, len, &q) == IGMP_BAD_LENGTH);
	len = query_build(f, 0xe9360c6f, 100, 0xe9360c6f, 12, 65535, 1);
	CHECK(decode(f, len, &q) == IGMP_BAD_LENGTH);
	/* A group that is not one; a message shorter than 8; another protocol; not IPv4. */
	len = query_build(f, 0x0a000001, 100, 0x0a000001, 12, 0, 1);
	CHECK(decode(f, len, &q) == IGMP_BAD_GROUP);
	len = query_build(f, 0xe0000001, 100, 0, 4, 0, 1);
	CHECK(decode(f, len, &q) == IGMP_TRUNCATED);
	len = query_build(f, 0xe0000001, 100, 0, 12, 0, 1);
	f[14 + 9] = 17;
	CHECK(decode(f, len, &q) == IGMP_NOT_IGMP);
	CHECK(!igmp_frame_is_igmp(f, len));
	f[12] = 0x86;
	CHECK(decode(f, len, &q) == IGMP_NOT_IGMP);
	/* Another host's v2 report: valid, not a query. */
	len = query_build(f, 0xe9360c6f, 0, 0xe9360c6f, 8, 0, 1);
	f[14 + 24] = 0x16;
	put16(f + 14 + 24 + 2, 0);
	put16(f + 14 + 24 + 2, sum16(f + 14 + 24, 8));
	CHECK(decode(f, len, &q) == IGMP_OTHER);
	/* Random bytes behind a valid Ethernet + IPv4 start, and wholly random: no crash. */
	check_rng_state = seed;
	for (int i = 0; i < 200000; i++) {
		uint32_t n = (uint32_t)(check_rng() % 200);

		for (uint32_t b = 0; b < n; b++)
			f[b] = (uint8_t)check_rng();
		if (i & 1 && n > 24) {
			f[12] = 0x08; f[13] = 0x00; f[14] = 0x45; f[14 + 9] = 2;
		}
		(void)decode(f, n, &q);
		(void)igmp_frame_is_igmp(f, n);
	}
}

static void test_queries(void)
{
	uint8_t f[2048];
	struct igmp_query q;
	uint32_t len;

	len = query_build(f, 0xe0000001, 100, 0, 12, 0, 1);
	CHECK(igmp_frame_is_igmp(f, len));
	CHECK(decode(f, len, &q) == IGMP_QUERY);
	CHECK(q.version == 3 && q.group_ip == 0 && q.max_resp_ds == 100 && q.src_ip == 0x0a000009);
	/* Ethernet padding after the datagram is not the message's. */
	CHECK(decode(f, len + 6, &q) == IGMP_QUERY);
	/* Max Resp Code 128 and up: (mant | 0x10) << (exp + 3) (RFC 3376 §4.1.1). */
	len = query_build(f, 0xe0000001, 0x8f, 0, 12, 0, 1);
	CHECK(decode(f, len, &q) == IGMP_QUERY && q.max_resp_ds == 31 * 8);
	len = query_build(f, 0xe0000001, 0xff, 0, 12, 0, 1);
	CHECK(decode(f, len, &q) == IGMP_QUERY && q.max_resp_ds == 31 << 10);
	/* Group-and-source-specific, without Router Alert, behind a VLAN tag. */
	len = query_build(f + 4, 0xe9360c6f, 20, 0xe9360c6f, 12 + 8, 2, 0);
	memmove(f, f + 4, 12);
	f[12] = 0x81; f[13] = 0x00; f[14] = 0x00; f[15] = 0x07;
	CHECK(decode(f, len + 4, &q) == IGMP_QUERY);
	CHECK(q.version == 3 && q.group_ip == 0xe9360c6f && q.sources_count == 2 && q.max_resp_ds == 20);
	/* v2 (8 bytes, Max Resp in tenths) and v1 (Max Resp 0: 10 s). */
	len = query_build(f, 0xe0000001, 50, 0, 8, 0, 1);
	CHECK(decode(f, len, &q) == IGMP_QUERY && q.version == 2 && q.max_resp_ds == 50);
	len = query_build(f, 0xe0000001, 0, 0, 8, 0, 0);
	CHECK(decode(f, len, &q) == IGMP_QUERY && q.version == 1 && q.max_resp_ds == 100);
	for (int v = 0; v <= IGMP_VERDICTS; v++)
		CHECK(igmp_verdict_name((enum igmp_verdict)v) != NULL);
}

static void test_membership(void)
{
	struct igmp_membership m;

	memset(&m, 0, sizeof(m));
	CHECK(igmp_membership_add(&m, 0xe9360c6f, true, 0x0a000001) == 0);
	CHECK(igmp_membership_add(&m, 0xe9360c6f, true, 0x0a000002) == 0);
	CHECK(igmp_membership_add(&m, 0xe9360c6f, true, 0x0a000001) == 0);
	CHECK(m.groups_count == 1 && !m.groups[0].exclude && m.groups[0].sources_count == 2);
	CHECK(igmp_membership_add(&m, 0xe9360c6f, false, 0) == 0);	/* any source wins */
	CHECK(m.groups[0].exclude && m.groups[0].sources_count == 0);
	CHECK(igmp_membership_add(&m, 0xe9360c6f, true, 0x0a000003) == 0);
	CHECK(m.groups[0].exclude && m.groups[0].sources_count == 0);
	for (uint32_t g = 1; g < IGMP_GROUPS_MAX; g++)
		CHECK(igmp_membership_add(&m, 0xe9000000 + g, false, 0) == 0);
	CHECK(igmp_membership_add(&m, 0xe8000000, false, 0) == -ENOSPC);
	CHECK(m.groups_count == IGMP_GROUPS_MAX);
	memset(&m, 0, sizeof(m));
	for (uint32_t s = 0; s < IGMP_SOURCES_MAX; s++)
		CHECK(igmp_membership_add(&m, 0xe9360c6f, true, 0x0a000000 + s) == 0);
	CHECK(igmp_membership_add(&m, 0xe9360c6f, true, 0x0b000000) == -ENOSPC);
}

/* Reads a report frame as RFC 3376 §4.2 lays it out; the record types into types[]. */
static void report_check(const uint8_t *f, uint32_t len, uint32_t records, const uint8_t *types,
			 const uint16_t *sources)
{
	static const uint8_t dst_mac[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x16 };
	static const uint8_t src_mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
	const uint8_t *ip = f + 14, *g = ip + 24;
	uint32_t at = 8;

	CHECK(memcmp(f, dst_mac, 6) == 0 && memcmp(f + 6, src_mac, 6) == 0);
	CHECK(f[12] == 0x08 && f[13] == 0x00);
	CHECK(ip[0] == 0x46 && ip[8] == 1 && ip[9] == 2);		/* IHL 6, TTL 1, IGMP */
	CHECK(ip[20] == 0x94 && ip[21] == 0x04 && ip[22] == 0 && ip[23] == 0);	/* Router Alert */
	CHECK(get32(ip + 12) == 0xc0000263 && get32(ip + 16) == 0xe0000016);
	CHECK(get16(ip + 2) == len - 14);
	CHECK(sum16(ip, 24) == 0);
	CHECK(g[0] == 0x22 && sum16(g, len - 14 - 24) == 0);
	CHECK(get16(g + 6) == records);
	for (uint32_t r = 0; r < records && at + 8 <= len - 38; r++) {
		CHECK(g[at] == types[r]);
		CHECK(g[at + 1] == 0);
		CHECK(get16(g + at + 2) == sources[r]);
		at += 8 + 4 * get16(g + at + 2);
	}
	CHECK(38 + at == len);
}

static void test_reports(void)
{
	struct igmp_sender from = { .mac = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 }, .ip = 0xc0000263 };
	struct igmp_membership m;
	uint8_t f[IGMP_FRAME_MAX];
	uint32_t len;

	memset(&m, 0, sizeof(m));
	igmp_membership_add(&m, 0xe9360c6f, false, 0);
	igmp_membership_add(&m, 0xe931c46f, true, 0x0a000002);
	len = igmp_v3_report_write(f, sizeof(f), &from, &m, -1, IGMP_REPORT_JOIN);
	CHECK(len == 14 + 24 + 8 + 8 + 12);
	report_check(f, len, 2, (const uint8_t[]){ 4, 5 }, (const uint16_t[]){ 0, 1 });
	CHECK(get32(f + 38 + 8 + 4) == 0xe9360c6f && get32(f + 38 + 16 + 4) == 0xe931c46f);
	CHECK(get32(f + 38 + 16 + 8) == 0x0a000002);
	CHECK(igmp_frame_is_igmp(f, len));
	len = igmp_v3_report_write(f, sizeof(f), &from, &m, -1, IGMP_REPORT_CURRENT);
	report_check(f, len, 2, (const uint8_t[]){ 2, 1 }, (const uint16_t[]){ 0, 1 });
	len = igmp_v3_report_write(f, sizeof(f), &from, &m, -1, IGMP_REPORT_LEAVE);
	report_check(f, len, 2, (const uint8_t[]){ 3, 6 }, (const uint16_t[]){ 0, 1 });
	len = igmp_v3_report_write(f, sizeof(f), &from, &m, 1, IGMP_REPORT_CURRENT);
	report_check(f, len, 1, (const uint8_t[]){ 1 }, (const uint16_t[]){ 1 });
	/* Too small a buffer: nothing. */
	CHECK(igmp_v3_report_write(f, 14 + 24 + 8 + 8, &from, &m, -1, IGMP_REPORT_JOIN) == 0);
	CHECK(igmp_v3_report_write(f, 10, &from, &m, -1, IGMP_REPORT_JOIN) == 0);
	/* IGMPv2: a report to the group, a leave to all-routers (RFC 2236 §2, §3). */
	len = igmp_v2_message_write(f, sizeof(f), &from, 0xe9360c6f, false);
	CHECK(len == 14 + 24 + 8 && f[38] == 0x16 && get32(f + 38 + 4) == 0xe9360c6f);
	CHECK(get32(f + 14 + 16) == 0xe9360c6f && f[3] == 0x36 && f[4] == 0x0c && f[5] == 0x6f);
	CHECK(sum16(f + 38, 8) == 0 && sum16(f + 14, 24) == 0);
	len = igmp_v2_message_write(f, sizeof(f), &from, 0xe9360c6f, true);
	CHECK(f[38] == 0x17 && get32(f + 14 + 16) == 0xe0000002 && sum16(f + 38, 8) == 0);
	CHECK(igmp_v2_message_write(f, 20, &from, 0xe9360c6f, true) == 0);
	/* Every group with every source fits one frame (IGMP_FRAME_MAX). */
	memset(&m, 0, sizeof(m));
	for (uint32_t g = 0; g < IGMP_GROUPS_MAX; g++)
		igmp_membership_add(&m, 0xe9000000 + g, true, 0x0a000000 + g);
	CHECK(igmp_v3_report_write(f, sizeof(f), &from, &m, -1, IGMP_REPORT_CURRENT) > 0);
}

/* The host's next send at now, or none: returns whether one was due. */
static int next(struct igmp_host *h, uint64_t now, struct igmp_send *s)
{
	return igmp_host_next(h, now, s) ? 1 : 0;
}

static void test_host(uint64_t seed)
{
	struct igmp_membership m;
	struct igmp_host h;
	struct igmp_send s;
	struct igmp_query q = { .version = 3, .max_resp_ds = 100 };
	uint64_t t = 5 * NS_PER_S, answered;
	int answers;

	memset(&m, 0, sizeof(m));
	igmp_membership_add(&m, 0xe9360c6f, false, 0);
	igmp_membership_add(&m, 0xe931c46f, true, 0x0a000002);
	igmp_host_start(&h, &m, t, seed);
	/* Two unsolicited joins a second apart, then nothing. */
	CHECK(next(&h, t, &s) && !s.answer && s.group == -1 && s.kind == IGMP_REPORT_JOIN && !s.v2);
	CHECK(!next(&h, t + NS_PER_S - 1, &s));
	CHECK(next(&h, t + NS_PER_S, &s) && !s.answer);
	CHECK(!next(&h, t + 100 * NS_PER_S, &s));
	/* A general query: one answer within Max Resp Time (10 s), of every group. */
	t += 200 * NS_PER_S;
	igmp_host_query(&h, &q, t);
	answers = 0;
	answered = 0;
	for (uint64_t at = t; at <= t + 10 * NS_PER_S; at += NS_PER_S / 100)
		while (next(&h, at, &s)) {
			CHECK(s.answer && s.general && s.group == -1 && s.kind == IGMP_REPORT_CURRENT);
			answers++;
			answered = at;
		}
	CHECK(answers == 1 && answered < t + 10 * NS_PER_S);	/* Max Resp Time, the margin kept */
	/* A group-specific query: that group's record; another group's: nothing. */
	t += 20 * NS_PER_S;
	q.group_ip = 0xe931c46f;
	igmp_host_query(&h, &q, t);
	q.group_ip = 0xe1010101;
	igmp_host_query(&h, &q, t);
	CHECK(h.queries_ignored == 1);
	answers = 0;
	for (uint64_t at = t; at <= t + 11 * NS_PER_S; at += NS_PER_S / 100)
		while (next(&h, at, &s)) {
			CHECK(s.answer && !s.general && s.group == 1);
			answers++;
		}
	CHECK(answers == 1);
	/* A general answer due first covers a group's (RFC 3376 §5.2 rule 1). */
	t += 20 * NS_PER_S;
	q.group_ip = 0;
	q.max_resp_ds = 1;
	igmp_host_query(&h, &q, t);
	q.group_ip = 0xe9360c6f;
	q.max_resp_ds = 200;
	igmp_host_query(&h, &q, t);
	answers = 0;
	for (uint64_t at = t; at <= t + 21 * NS_PER_S; at += NS_PER_S / 100)
		while (next(&h, at, &s))
			answers += s.group == -1 ? 1 : 100;
	CHECK(answers == 1);
	/* A v2 query: IGMPv2 reports, one per group, then v3 again once the querier is gone. */
	t += 30 * NS_PER_S;
	q.version = 2;
	q.group_ip = 0;
	q.max_resp_ds = 10;
	igmp_host_query(&h, &q, t);
	answers = 0;
	for (uint64_t at = t; at <= t + 2 * NS_PER_S; at += NS_PER_S / 100)
		while (next(&h, at, &s)) {
			CHECK(s.v2 && s.general && s.group == answers);
			answers++;
		}
	CHECK(answers == 2 && h.older_querier == 1);
	t += IGMP_OLDER_QUERIER_NS + NS_PER_S;
	q.version = 3;
	igmp_host_query(&h, &q, t);
	answers = 0;
	for (uint64_t at = t; at <= t + 2 * NS_PER_S; at += NS_PER_S / 100)
		while (next(&h, at, &s)) {
			CHECK(!s.v2 && s.group == -1);
			answers++;
		}
	CHECK(answers == 1);
	/* A flood: a query every ms for 3 s, Max Resp 0 (answer now): the budget holds. */
	t += 10 * NS_PER_S;
	q.max_resp_ds = 0;
	answers = 0;
	for (uint64_t at = t; at < t + 3 * NS_PER_S; at += NS_PER_S / 1000) {
		q.group_ip = (at / 1000) & 1 ? 0 : 0xe9360c6f;
		igmp_host_query(&h, &q, at);
		while (next(&h, at, &s))
			answers++;
	}
	CHECK(answers <= 3 * IGMP_ANSWERS_PER_S + IGMP_ANSWERS_PER_S);
	CHECK(answers >= 2 * IGMP_ANSWERS_PER_S);
	/* ... and what was due still goes out once the budget allows. */
	answers = 0;
	for (uint64_t at = t + 3 * NS_PER_S; at < t + 5 * NS_PER_S; at += NS_PER_S / 100)
		while (next(&h, at, &s))
			answers++;
	CHECK(answers >= 1 && answers <= 2);
	/* No groups: no reports at all. */
	memset(&m, 0, sizeof(m));
	igmp_host_start(&h, &m, t, seed);
	q.group_ip = 0;
	igmp_host_query(&h, &q, t);
	CHECK(!next(&h, t + 20 * NS_PER_S, &s));
}

/*
 * The answers' log budget: IGMP_LOG_BURST lines at once, then one per
 * IGMP_LOG_REFILL_NS whatever is asked, each line logged after a hold saying how many
 * were held; a quiet spell fills it again, to the burst and no more.
 */
static void test_log_budget(void)
{
	struct igmp_log_budget b;
	uint64_t t = 7 * NS_PER_S, held = 99, logged = 0, asked = 0, reported = 0;

	igmp_log_budget_start(&b, t);
	for (int i = 0; i < IGMP_LOG_BURST; i++) {
		held = 99;
		CHECK(igmp_log_budget_take(&b, t, &held) && held == 0);
	}
	CHECK(!igmp_log_budget_take(&b, t, &held));
	/* A flood: a line asked every ms for 100 s. */
	for (uint64_t at = t + NS_PER_S / 1000; at < t + 100 * NS_PER_S; at += NS_PER_S / 1000) {
		asked++;
		if (igmp_log_budget_take(&b, at, &held)) {
			logged++;
			reported += held;
			CHECK(held > 0);
		}
	}
	CHECK(logged >= 100 * NS_PER_S / IGMP_LOG_REFILL_NS - 1 && logged <= 100 * NS_PER_S / IGMP_LOG_REFILL_NS);
	/* Every line asked was logged or held, and each held one is said once (the 11th too). */
	CHECK(reported + b.held == 1 + asked - logged);
	/* A quiet hour: the burst again, and no more; the first line says what was held. */
	t += 3700 * NS_PER_S;
	held = 0;
	CHECK(igmp_log_budget_take(&b, t, &held) && held > 0);
	for (int i = 1; i < IGMP_LOG_BURST; i++)
		CHECK(igmp_log_budget_take(&b, t, &held) && held == 0);
	CHECK(!igmp_log_budget_take(&b, t, &held));
}

int main(int argc, char **argv)
{
	uint64_t seed = check_seed(argc, argv);

	printf("test_igmp: seed %llu\n", (unsigned long long)seed);
	test_hostile_queries(seed);
	test_queries();
	test_membership();
	test_reports();
	test_host(seed);
	test_log_budget();
	printf("test_igmp: %s (%d failure(s))\n", failures ? "FAIL" : "pass", failures);
	return failures ? 1 : 0;
}
