/*
 * test_mdp3_sbe: the CME MDP 3.0 wire layer (decoders/cme_mdp3/mdp3_sbe.h) against
 * packets built here byte by byte from the layout tables of docs/cme-mdp3.md §2-5. The
 * offsets below are written from the doc, not taken from mdp3_templates.h, so a wrong
 * constant there shows. Refusals first (framing, other schema and versions, unknown
 * templates, hostile roots and groups, refused field values, truncation at every
 * length), then every template read field by field, the v9 and v13 layouts of a 54 in
 * one packet, fields a newer version appends, and seeded random corruption. Every
 * packet the code reads is copied into a buffer of exactly its length, so that the
 * ASan build catches a read past it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decoders/cme_mdp3/mdp3_sbe.h"
#include "tests/check.h"
#include "tests/mdp3_build.h"
#include "tests/mdp3_visit.h"

/* The packet in a heap block of exactly n bytes (ASan: one byte more is a finding). */
static uint8_t *exact(const uint8_t *data, uint32_t n)
{
	uint8_t *copy = malloc(n ? n : 1);

	memcpy(copy, data, n);
	return copy;
}

/* Walks a packet and reads every part of every message; returns messages kept. */
static uint32_t walk_all(const uint8_t *data, uint32_t n, struct mdp3_stats *stats)
{
	struct mdp3_packet packet;
	struct mdp3_message m;
	uint32_t kept = 0;

	if (mdp3_packet_open(&packet, data, n, stats) != 0)
		return 0;
	while (mdp3_packet_next(&packet, stats, &m)) {
		kept++;
		mdp3_message_visit(&m, stats);
	}
	return kept;
}

/* The one message of a packet, read from an exact copy (freed by the caller's free(*copy)). */
static bool only_message(const struct build *b, struct mdp3_stats *stats, struct mdp3_message *m,
			 uint8_t **copy)
{
	struct mdp3_packet packet;

	*copy = exact(b->b, b->n);
	memset(stats, 0, sizeof(*stats));
	if (mdp3_packet_open(&packet, *copy, b->n, stats) != 0)
		return false;
	return mdp3_packet_next(&packet, stats, m);
}

/* A 46 (v13 layout) with one bid entry and one order, the doc's example shape. */
static void book46(struct build *b, uint16_t version, int64_t price, int32_t size)
{
	uint8_t *r = message_begin(b, 11, 46, 1, version), *e;

	put64(r + 0, 1700000000123456789ull);	/* TransactTime */
	r[8] = 0x84;				/* MatchEventIndicator */
	e = group3(b, 32, 1);
	put64(e + 0, (uint64_t)price);
	put32(e + 8, (uint32_t)size);
	put32(e + 12, 13950);			/* SecurityID */
	put32(e + 16, 3073);			/* RptSeq */
	put32(e + 20, 7);			/* NumberOfOrders */
	e[24] = 2;				/* MDPriceLevel */
	e[25] = 1;				/* Change */
	e[26] = '0';				/* Bid */
	put32(e + 27, 15);			/* TradeableSize (v10+; padding before) */
	e = group8(b, 24, 1);
	put64(e + 0, 987654321);		/* OrderID */
	put64(e + 8, 42);			/* MDOrderPriority */
	put32(e + 16, 19);			/* MDDisplayQty */
	e[20] = 1;				/* ReferenceID */
	e[21] = 2;				/* Delete */
	message_end(b);
}

static void test_framing(void)
{
	struct build b;
	struct decoder_frame f;
	uint8_t *p;

	printf("frame_parse: the packet's framing whole, one sequence number per packet\n");
	packet_begin(&b, 5, 1);
	p = exact(b.b, 11);
	CHECK(mdp3_frame_parse(p, 11, &f) == -EBADMSG);		/* short header */
	free(p);
	packet_begin(&b, 0, 1);
	book46(&b, 13, 100, 1);
	CHECK(mdp3_frame_parse(b.b, b.n, &f) == -EBADMSG);		/* MsgSeqNum 0 */
	packet_begin(&b, 5, 1);
	book46(&b, 13, 100, 1);
	CHECK(mdp3_frame_parse(b.b, b.n - 1, &f) == -EBADMSG);	/* message past the end */
	CHECK(mdp3_frame_parse(b.b, b.n + 5, &f) == -EBADMSG);	/* 5 bytes: no message header */
	put16(b.b + 12, 9);
	CHECK(mdp3_frame_parse(b.b, b.n, &f) == -EBADMSG);		/* MsgSize below 10 */
	put16(b.b + 12, 0);
	CHECK(mdp3_frame_parse(b.b, b.n, &f) == -EBADMSG);		/* MsgSize 0 would loop */

	packet_begin(&b, 77, 1);
	book46(&b, 13, 100, 1);
	message_begin(&b, 0, 12, 1, 9);				/* heartbeat, MsgSize 10 */
	message_end(&b);
	p = exact(b.b, b.n);
	memset(&f, 0xff, sizeof(f));
	CHECK(mdp3_frame_parse(p, b.n, &f) == 0);
	CHECK(f.kind == DECODER_FRAME_DATA && f.seq == 77 && f.count == 1 && f.session_len == 0);
	free(p);
	/* A bare header still takes its sequence number. */
	packet_begin(&b, 78, 1);
	CHECK(mdp3_frame_parse(b.b, b.n, &f) == 0 && f.seq == 78 && f.count == 1);
}

static void test_skipped(void)
{
	struct build b;
	struct mdp3_stats s;
	struct mdp3_packet packet;
	struct mdp3_message m;
	uint8_t *p;
	uint8_t *r;

	printf("other schemas, versions before 9 and unknown templates are skipped by MsgSize and counted; later versions kept and counted\n");
	packet_begin(&b, 9, 1);
	r = message_begin(&b, 4, 46, 2, 13);				/* schema 2 */
	memset(r, 0xee, 4);
	message_end(&b);
	message_begin(&b, 0, 12, 1, 8);				/* version 8 */
	message_end(&b);
	message_begin(&b, 0, 12, 1, 14);				/* version 14 */
	message_end(&b);
	r = message_begin(&b, 20, 99, 1, 13);			/* no template 99 */
	memset(r, 0xee, 20);
	message_end(&b);
	r = message_begin(&b, 338, 57, 1, 13);			/* a CME template not decoded here */
	message_end(&b);
	message_begin(&b, 11, 64, 1, 11);			/* 64 exists from v12 only */
	group3(&b, 32, 0);
	group8(&b, 24, 0);
	message_end(&b);
	message_begin(&b, 0, 300, 1, 13);			/* beyond any id */
	message_end(&b);
	book46(&b, 13, 2077750000000ll, 5);			/* and the walk goes on */
	p = exact(b.b, b.n);
	memset(&s, 0, sizeof(s));
	CHECK(mdp3_packet_open(&packet, p, b.n, &s) == 0);
	CHECK(packet.seq == 9 && packet.sending_time_ns == 1);
	/* Version 14 is read as 13 by its wire lengths (SBE appends only), and counted. */
	CHECK(mdp3_packet_next(&packet, &s, &m) && m.template_id == 12 && m.version == 14);
	CHECK(mdp3_packet_next(&packet, &s, &m) && m.template_id == 46 && m.version == 13);
	CHECK(!mdp3_packet_next(&packet, &s, &m));
	CHECK(s.packets == 1 && s.messages == 2 && s.newer_version == 1 && s.other_schema == 1 && s.bad_version == 1 &&
	      s.unknown_template == 4 && s.bad_framing == 0 && s.bad_length == 0);
	free(p);
}

static void test_hostile_lengths(void)
{
	struct build b;
	struct mdp3_stats s;
	struct mdp3_message m;
	uint8_t *p, *e;

	printf("roots and groups that do not hold what is read, or overrun MsgSize, are refused\n");
	/* Root blockLength past MsgSize. */
	packet_begin(&b, 1, 1);
	book46(&b, 13, 1, 1);
	put16(b.b + 12 + 2, 200);
	CHECK(!only_message(&b, &s, &m, &p) && s.bad_length == 1 && s.bad_framing == 0);
	free(p);
	/* Root shorter than TransactTime + MatchEventIndicator (9). */
	packet_begin(&b, 1, 1);
	message_begin(&b, 8, 37, 1, 9);
	group3(&b, 16, 0);
	message_end(&b);
	CHECK(!only_message(&b, &s, &m, &p) && s.bad_length == 1);
	free(p);
	/* A 46 entry blockLength 26: MDEntryType (at 26) would not fit. */
	packet_begin(&b, 1, 1);
	message_begin(&b, 11, 46, 1, 9);
	group3(&b, 26, 1);
	group8(&b, 24, 0);
	message_end(&b);
	CHECK(!only_message(&b, &s, &m, &p) && s.bad_length == 1);
	free(p);
	/* 27 holds every v9 field: kept; TradeableSize (27..30) does not fit, so absent at v13. */
	packet_begin(&b, 1, 1);
	message_begin(&b, 11, 46, 1, 13);
	e = group3(&b, 27, 1);
	put64(e, 5);
	e[26] = '1';
	group8(&b, 24, 0);
	message_end(&b);
	CHECK(only_message(&b, &s, &m, &p));
	{
		struct mdp3_md_entry en;

		CHECK(mdp3_md_entry_read(&m, 0, &en, &s) && en.entry_type == '1' && en.price == 5 &&
		      !(en.present & MDP3_HAS_TRADEABLE_SIZE));
	}
	free(p);
	/* numInGroup 255 of 32 bytes in a short message. */
	packet_begin(&b, 1, 1);
	message_begin(&b, 11, 46, 1, 13);
	group3(&b, 32, 1);
	b.b[b.n - 32 - 1] = 255;
	group8(&b, 24, 0);
	message_end(&b);
	CHECK(!only_message(&b, &s, &m, &p) && s.bad_length == 1);
	free(p);
	/* blockLength 65535, one entry. */
	packet_begin(&b, 1, 1);
	message_begin(&b, 11, 47, 1, 13);
	group3(&b, 40, 1);
	put16(b.b + b.n - 40 - 3, 65535);
	message_end(&b);
	CHECK(!only_message(&b, &s, &m, &p) && s.bad_length == 1);
	free(p);
	/* The second group's header cut off by MsgSize. */
	packet_begin(&b, 1, 1);
	message_begin(&b, 11, 48, 1, 13);
	group3(&b, 32, 0);
	b.n += 4;	/* half of a groupSize8Byte */
	message_end(&b);
	CHECK(!only_message(&b, &s, &m, &p) && s.bad_length == 1);
	free(p);
	/* A hostile entry blockLength with count 0 reads nothing: kept. */
	packet_begin(&b, 1, 1);
	message_begin(&b, 11, 46, 1, 13);
	group3(&b, 0, 0);
	group8(&b, 3, 0);
	message_end(&b);
	CHECK(only_message(&b, &s, &m, &p) && mdp3_md_entries(&m) == 0 && mdp3_orders(&m) == 0);
	free(p);
	/* groupSize8Byte: the count is byte 7, the padding (0x5a) is not read as one. */
	packet_begin(&b, 1, 1);
	book46(&b, 13, 1, 1);
	CHECK(only_message(&b, &s, &m, &p) && mdp3_orders(&m) == 1 && m.groups[1].block_length == 24);
	free(p);
	/* A bad message in the middle is skipped by MsgSize: the next one is read. */
	packet_begin(&b, 1, 1);
	message_begin(&b, 11, 46, 1, 13);
	group3(&b, 20, 1);
	group8(&b, 24, 0);
	message_end(&b);
	book46(&b, 13, 3, 1);
	p = exact(b.b, b.n);
	memset(&s, 0, sizeof(s));
	CHECK(walk_all(p, b.n, &s) == 1 && s.bad_length == 1 && s.messages == 1);
	free(p);
}

static void test_truncation(void)
{
	struct build b;
	uint32_t boundaries[8], nb = 0;

	printf("a valid packet cut at every length: no read past it, cuts counted\n");
	packet_begin(&b, 3, 1);
	boundaries[nb++] = b.n;
	book46(&b, 13, 1, 1);
	boundaries[nb++] = b.n;
	message_begin(&b, 0, 12, 1, 9);
	message_end(&b);
	boundaries[nb++] = b.n;
	book46(&b, 9, 2, 2);
	boundaries[nb++] = b.n;
	for (uint32_t n = 0; n < b.n; n++) {
		struct mdp3_stats s;
		struct decoder_frame f;
		uint8_t *p = exact(b.b, n);
		uint32_t whole = 0, kept;
		bool boundary = false;

		for (uint32_t i = 0; i < nb; i++) {
			if (boundaries[i] == n)
				boundary = true;
			if (boundaries[i] <= n && i > 0)
				whole++;
		}
		memset(&s, 0, sizeof(s));
		kept = walk_all(p, n, &s);
		if (n < 12) {
			CHECK(kept == 0 && s.packets == 0);
			CHECK(mdp3_frame_parse(p, n, &f) == -EBADMSG);
		} else {
			CHECK(kept == whole);
			CHECK(s.bad_framing == (boundary ? 0u : 1u));
			CHECK((mdp3_frame_parse(p, n, &f) == 0) == boundary);
		}
		free(p);
	}
}

static void test_refused_fields(void)
{
	struct build b;
	struct mdp3_stats s;
	struct mdp3_message m;
	struct mdp3_md_entry e;
	uint8_t *p;

	printf("INT64_MIN prices and negative quantities are refused; null prices are absent\n");
	packet_begin(&b, 1, 1);
	book46(&b, 13, INT64_MIN, 1);
	CHECK(only_message(&b, &s, &m, &p));
	CHECK(!mdp3_md_entry_read(&m, 0, &e, &s) && s.bad_field == 1);
	free(p);
	packet_begin(&b, 1, 1);
	book46(&b, 13, 100, -1);
	CHECK(only_message(&b, &s, &m, &p));
	CHECK(!mdp3_md_entry_read(&m, 0, &e, &s) && s.bad_field == 1);
	free(p);
	packet_begin(&b, 1, 1);
	book46(&b, 13, INT64_MAX, INT32_MAX);
	CHECK(only_message(&b, &s, &m, &p));
	CHECK(mdp3_md_entry_read(&m, 0, &e, &s) && s.bad_field == 0);
	CHECK(!(e.present & MDP3_HAS_PRICE) && !(e.present & MDP3_HAS_SIZE) && (e.present & MDP3_HAS_ORDERS));
	free(p);
}

static void test_book46(void)
{
	struct build b;
	struct mdp3_stats s;
	struct mdp3_packet packet;
	struct mdp3_message m;
	struct mdp3_md_entry e;
	struct mdp3_order o;
	struct mdp3_event ev;
	uint8_t *p, *r, *en;

	printf("46: entries and orders, v9 padding, and fields a newer version appends\n");
	packet_begin(&b, 1, 1);
	book46(&b, 13, 2077750000000ll, 19);
	book46(&b, 9, 2077750000000ll, 19);
	/* The same entry from a later schema: root 20, entries 40 and 30, tails of 0xee. */
	r = message_begin(&b, 20, 46, 1, 13);
	put64(r, 1700000000123456789ull);
	r[8] = 0x84;
	memset(r + 9, 0xee, 11);
	en = group3(&b, 40, 1);
	put64(en + 0, 2077750000000ll);
	put32(en + 8, 19);
	put32(en + 12, 13950);
	put32(en + 16, 3073);
	put32(en + 20, 7);
	en[24] = 2;
	en[25] = 1;
	en[26] = '0';
	put32(en + 27, 15);
	memset(en + 31, 0xee, 9);
	en = group8(&b, 30, 1);
	put64(en + 0, 987654321);
	put64(en + 8, 42);
	put32(en + 16, 19);
	en[20] = 1;
	en[21] = 2;
	memset(en + 22, 0xee, 8);
	message_end(&b);
	p = exact(b.b, b.n);
	memset(&s, 0, sizeof(s));
	CHECK(mdp3_packet_open(&packet, p, b.n, &s) == 0);
	for (int k = 0; k < 3; k++) {
		CHECK(mdp3_packet_next(&packet, &s, &m) && m.template_id == 46);
		mdp3_event_read(&m, &ev);
		CHECK(ev.transact_time_ns == 1700000000123456789ull && ev.match_event == 0x84);
		CHECK(mdp3_md_entries(&m) == 1 && mdp3_orders(&m) == 1);
		CHECK(mdp3_md_entry_read(&m, 0, &e, &s));
		CHECK(e.price == 2077750000000ll && e.size == 19 && e.security_id == 13950 && e.rpt_seq == 3073 &&
		      e.orders == 7 && e.level == 2 && e.action == 1 && e.entry_type == '0');
		CHECK((e.present & (MDP3_HAS_PRICE | MDP3_HAS_SIZE | MDP3_HAS_ORDERS)) ==
		      (MDP3_HAS_PRICE | MDP3_HAS_SIZE | MDP3_HAS_ORDERS));
		/* v9: bytes 27..30 are padding, even when not zero. */
		if (k == 1)
			CHECK(!(e.present & MDP3_HAS_TRADEABLE_SIZE));
		else
			CHECK((e.present & MDP3_HAS_TRADEABLE_SIZE) && e.tradeable_size == 15);
		CHECK(mdp3_order_read(&m, 0, &o, &s));
		CHECK(o.order_id == 987654321 && o.priority == 42 && o.quantity == 19 && o.reference_id == 1 &&
		      o.action == 2 && (o.present & MDP3_HAS_REFERENCE) && (o.present & MDP3_HAS_PRIORITY));
	}
	CHECK(!mdp3_packet_next(&packet, &s, &m));
	CHECK(s.messages == 3 && s.bad_length == 0 && s.bad_framing == 0 && s.bad_field == 0);
	free(p);
}

static void test_incrementals(void)
{
	struct build b;
	struct mdp3_stats s;
	struct mdp3_packet packet;
	struct mdp3_message m;
	struct mdp3_md_entry e;
	struct mdp3_order o;
	uint8_t *p, *r, *en;

	printf("4, 12, 37, 47, 48, 49, 50, 51, 64, 65 read field by field\n");
	packet_begin(&b, 2, 2);
	r = message_begin(&b, 9, 4, 1, 13);			/* ChannelReset4 */
	put64(r, 11);
	r[8] = 0x80;
	en = group3(&b, 2, 1);
	put16(en, 310);
	message_end(&b);
	message_begin(&b, 0, 12, 1, 13);			/* AdminHeartbeat12 */
	message_end(&b);
	r = message_begin(&b, 11, 37, 1, 9);			/* Volume37 */
	en = group3(&b, 16, 1);
	put32(en + 0, 12345);
	put32(en + 4, 121933);
	put32(en + 8, 3072);
	en[12] = 1;
	message_end(&b);
	r = message_begin(&b, 11, 47, 1, 13);			/* OrderBook47 */
	en = group3(&b, 40, 1);
	put64(en + 0, UINT64_MAX);				/* OrderID null */
	put64(en + 8, 77);
	put64(en + 16, 515000000000ll);
	put32(en + 24, 3);
	put32(en + 28, 42);
	en[32] = 0;
	en[33] = '1';
	message_end(&b);
	r = message_begin(&b, 11, 48, 1, 13);			/* TradeSummary48 */
	en = group3(&b, 32, 1);
	put64(en + 0, 2077500000000ll);
	put32(en + 8, 6);
	put32(en + 12, 13950);
	put32(en + 16, 900);
	put32(en + 20, 2);
	en[24] = 1;
	en[25] = 0;
	put32(en + 26, 555);
	en = group8(&b, 16, 2);
	put64(en + 0, 0);
	put32(en + 8, 6);
	put64(en + 16, 31337);
	put32(en + 24, 6);
	message_end(&b);
	r = message_begin(&b, 11, 49, 1, 13);			/* DailyStatistics49 */
	en = group3(&b, 32, 1);
	put64(en + 0, INT64_MAX);
	put32(en + 8, 400000);
	put32(en + 12, 13950);
	put32(en + 16, 901);
	put16(en + 20, 20000);
	en[22] = 0x08;
	en[23] = 0;
	en[24] = 'C';
	message_end(&b);
	r = message_begin(&b, 11, 50, 1, 13);			/* LimitsBanding50 */
	en = group3(&b, 32, 1);
	put64(en + 0, 2200000000000ll);
	put64(en + 8, INT64_MAX);
	put64(en + 16, 50000000000ll);
	put32(en + 24, 13950);
	put32(en + 28, 902);
	message_end(&b);
	r = message_begin(&b, 11, 51, 1, 13);			/* SessionStatistics51 */
	en = group3(&b, 24, 1);
	put64(en + 0, 2070000000000ll);
	put32(en + 8, 13950);
	put32(en + 12, 903);
	en[16] = 255;
	en[17] = 0;
	en[18] = '7';
	put32(en + 19, INT32_MAX);
	message_end(&b);
	r = message_begin(&b, 11, 64, 1, 12);			/* BookLongQty64 */
	en = group3(&b, 32, 1);
	put64(en + 0, 1100000000ll);
	put64(en + 8, 5000000000ull);
	put32(en + 16, 8);
	put32(en + 20, 9);
	put32(en + 24, INT32_MAX);
	en[28] = 1;
	en[29] = 0;
	en[30] = 'x';
	en = group8(&b, 24, 1);
	put64(en + 0, 1);
	put64(en + 8, UINT64_MAX);
	put32(en + 16, INT32_MAX);
	en[20] = 255;
	en[21] = 0;
	message_end(&b);
	r = message_begin(&b, 11, 65, 1, 13);			/* TradeSummaryLongQty65 */
	en = group3(&b, 40, 1);
	put64(en + 0, 1100000000ll);
	put64(en + 8, 6000000000ull);
	put32(en + 16, 8);
	put32(en + 20, 10);
	put32(en + 24, 1);
	put32(en + 28, 4242);
	en[32] = 2;
	en[33] = 0;
	en = group8(&b, 16, 1);
	put64(en, 99);
	put32(en + 8, 7);
	message_end(&b);
	(void)r;
	p = exact(b.b, b.n);
	memset(&s, 0, sizeof(s));
	CHECK(mdp3_packet_open(&packet, p, b.n, &s) == 0 && packet.sending_time_ns == 2);

	CHECK(mdp3_packet_next(&packet, &s, &m) && m.template_id == 4);
	CHECK(mdp3_md_entries(&m) == 1 && mdp3_md_entry_read(&m, 0, &e, &s));
	CHECK(e.appl_id == 310 && e.entry_type == 'J' && e.action == 0);

	CHECK(mdp3_packet_next(&packet, &s, &m) && m.template_id == 12 && m.size == 10);

	CHECK(mdp3_packet_next(&packet, &s, &m) && m.template_id == 37 && m.version == 9);
	CHECK(mdp3_md_entry_read(&m, 0, &e, &s));
	CHECK(e.size == 12345 && e.security_id == 121933 && e.rpt_seq == 3072 && e.action == 1 &&
	      e.entry_type == 'e' && !(e.present & MDP3_HAS_PRICE));

	CHECK(mdp3_packet_next(&packet, &s, &m) && m.template_id == 47);
	CHECK(mdp3_orders(&m) == 1 && mdp3_order_read(&m, 0, &o, &s));
	CHECK(!(o.present & MDP3_HAS_ORDER_ID) && o.priority == 77 && o.price == 515000000000ll &&
	      o.quantity == 3 && o.security_id == 42 && o.action == 0 && o.entry_type == '1');

	CHECK(mdp3_packet_next(&packet, &s, &m) && m.template_id == 48);
	CHECK(mdp3_md_entry_read(&m, 0, &e, &s));
	CHECK(e.price == 2077500000000ll && e.size == 6 && e.security_id == 13950 && e.rpt_seq == 900 &&
	      e.orders == 2 && e.aggressor_side == 1 && e.action == 0 && e.trade_id == 555 &&
	      e.entry_type == '2' && (e.present & MDP3_HAS_TRADE_ID));
	CHECK(mdp3_orders(&m) == 2 && mdp3_order_read(&m, 1, &o, &s));
	CHECK(o.order_id == 31337 && o.quantity == 6);

	CHECK(mdp3_packet_next(&packet, &s, &m) && m.template_id == 49);
	CHECK(mdp3_md_entry_read(&m, 0, &e, &s));
	CHECK(!(e.present & MDP3_HAS_PRICE) && e.size == 400000 && e.security_id == 13950 && e.rpt_seq == 901 &&
	      e.reference_date == 20000 && e.settl_price_type == 0x08 && e.entry_type == 'C');

	CHECK(mdp3_packet_next(&packet, &s, &m) && m.template_id == 50);
	CHECK(mdp3_md_entry_read(&m, 0, &e, &s));
	CHECK(e.high_limit == 2200000000000ll && (e.present & MDP3_HAS_HIGH_LIMIT) &&
	      !(e.present & MDP3_HAS_LOW_LIMIT) && e.max_variation == 50000000000ll &&
	      e.security_id == 13950 && e.rpt_seq == 902 && e.entry_type == 'g' && e.action == 0);

	CHECK(mdp3_packet_next(&packet, &s, &m) && m.template_id == 51);
	CHECK(mdp3_md_entry_read(&m, 0, &e, &s));
	CHECK(e.price == 2070000000000ll && e.security_id == 13950 && e.rpt_seq == 903 &&
	      e.open_close_settl == 255 && e.entry_type == '7' && !(e.present & MDP3_HAS_SIZE));

	CHECK(mdp3_packet_next(&packet, &s, &m) && m.template_id == 64);
	CHECK(mdp3_md_entry_read(&m, 0, &e, &s));
	CHECK(e.price == 1100000000ll && e.size == 5000000000ull && e.security_id == 8 && e.rpt_seq == 9 &&
	      !(e.present & MDP3_HAS_ORDERS) && e.level == 1 && e.entry_type == 'x');
	CHECK(mdp3_order_read(&m, 0, &o, &s));
	CHECK(o.order_id == 1 && !(o.present & (MDP3_HAS_PRIORITY | MDP3_HAS_QUANTITY | MDP3_HAS_REFERENCE)));

	CHECK(mdp3_packet_next(&packet, &s, &m) && m.template_id == 65);
	CHECK(mdp3_md_entry_read(&m, 0, &e, &s));
	CHECK(e.price == 1100000000ll && e.size == 6000000000ull && e.rpt_seq == 10 && e.orders == 1 &&
	      e.trade_id == 4242 && e.aggressor_side == 2);
	CHECK(mdp3_order_read(&m, 0, &o, &s) && o.order_id == 99 && o.quantity == 7);

	CHECK(!mdp3_packet_next(&packet, &s, &m));
	CHECK(s.messages == 10 && s.bad_field == 0 && s.bad_length == 0 && s.bad_framing == 0);
	free(p);
}

/* A 54 root of the given blockLength (216 v9, 224 v13) and its groups. */
static void definition54(struct build *b, uint16_t version, uint16_t block_length)
{
	uint8_t *r = message_begin(b, block_length, 54, 1, version), *e;

	r[0] = 0x80;
	put32(r + 1, 250);					/* TotNumReports */
	r[5] = 'A';
	put64(r + 6, 1700000000000000000ull);
	r[14] = 17;						/* ReadyToTrade */
	put16(r + 15, 310);
	memcpy(r + 19, "XCME", 4);
	memcpy(r + 23, "ES", 2);
	memcpy(r + 29, "ES", 2);
	memcpy(r + 35, "ESZ5", 4);
	put32(r + 55, 13950);
	memcpy(r + 59, "FUT", 3);
	put64(r + 91, 250000000ll);				/* MinPriceIncrement 0.25 */
	put64(r + 99, 10000000ll);				/* DisplayFactor 0.01 */
	put64(r + 140, 50000000000ll);				/* UnitOfMeasureQty 50 */
	if (block_length >= 224)
		put64(r + 216, 0x1122334455667788ull);		/* InstrumentGUID */
	e = group3(b, 9, 2);					/* NoEvents */
	e[0] = 5;
	e = group3(b, 4, 2);					/* NoMDFeedTypes */
	memcpy(e, "GBX", 3);
	e[3] = 10;
	memcpy(e + 4, "GBI", 3);
	e[7] = 2;
	e = group3(b, 4, 1);					/* NoInstAttrib */
	group3(b, 5, 1);					/* NoLotTypeRules */
	message_end(b);
}

static void test_definitions(void)
{
	struct build b;
	struct mdp3_stats s;
	struct mdp3_packet packet;
	struct mdp3_message m;
	struct mdp3_definition d;
	struct mdp3_leg leg;
	uint8_t *p, *r, *e;

	printf("54 in its v9 and v13 layouts in one packet, 55, 56 with legs\n");
	packet_begin(&b, 1, 1);
	definition54(&b, 9, 216);
	definition54(&b, 13, 224);
	definition54(&b, 9, 224);	/* v9 with a longer root: the GUID is not v9's */
	r = message_begin(&b, 221, 55, 1, 13);			/* Option55 */
	memcpy(r + 35, "ESZ5 C2100", 10);
	put32(r + 55, 777);
	r[71] = 1;
	put64(r + 80, 2100000000000ll);
	put64(r + 111, INT64_MAX);				/* MinPriceIncrement null */
	put64(r + 127, 10000000ll);
	put64(r + 169, INT64_MAX);
	put64(r + 213, 5);
	group3(&b, 9, 0);
	e = group3(&b, 4, 1);
	memcpy(e, "GBX", 3);
	e[3] = 3;
	group3(&b, 4, 0);
	group3(&b, 5, 0);
	group3(&b, 24, 1);
	group3(&b, 24, 0);
	message_end(&b);
	r = message_begin(&b, 195, 56, 1, 9);			/* Spread56, v9 root */
	memcpy(r + 35, "ESZ5-ESH6", 9);
	put32(r + 55, 888);
	put64(r + 94, 50000000ll);
	put64(r + 102, 10000000ll);
	group3(&b, 9, 0);
	group3(&b, 4, 0);
	group3(&b, 4, 0);
	group3(&b, 5, 0);
	e = group3(&b, 18, 2);					/* NoLegs */
	put32(e + 0, 13950);
	e[4] = 1;
	e[5] = 1;
	put64(e + 6, INT64_MAX);
	put32(e + 18, 13951);
	e[22] = 2;
	e[23] = 1;
	put64(e + 24, 2080000000000ll);
	message_end(&b);
	p = exact(b.b, b.n);
	memset(&s, 0, sizeof(s));
	CHECK(mdp3_packet_open(&packet, p, b.n, &s) == 0);
	for (int k = 0; k < 3; k++) {
		CHECK(mdp3_packet_next(&packet, &s, &m) && m.template_id == 54);
		CHECK(mdp3_definition_read(&m, &d, &s));
		CHECK(d.security_id == 13950 && memcmp(d.symbol, "ESZ5\0", 5) == 0 && d.appl_id == 310 &&
		      d.update_action == 'A' && d.trading_status == 17 && d.tot_num_reports == 250 &&
		      d.min_price_increment == 250000000ll && d.display_factor == 10000000ll &&
		      d.unit_of_measure_qty == 50000000000ll && d.depth == 10 && d.implied_depth == 2 &&
		      memcmp(d.asset, "ES\0", 3) == 0 && memcmp(d.security_type, "FUT", 3) == 0 &&
		      d.match_event == 0x80 && d.last_update_ns == 1700000000000000000ull);
		CHECK(mdp3_legs(&m) == 0);
		if (k == 1)
			CHECK((d.present & MDP3_HAS_GUID) && d.instrument_guid == 0x1122334455667788ull);
		else
			CHECK(!(d.present & MDP3_HAS_GUID));
	}
	CHECK(mdp3_packet_next(&packet, &s, &m) && m.template_id == 55);
	CHECK(mdp3_definition_read(&m, &d, &s));
	CHECK(d.security_id == 777 && d.put_or_call == 1 && d.strike_price == 2100000000000ll &&
	      !(d.present & MDP3_HAS_MIN_INCREMENT) && !(d.present & MDP3_HAS_UNIT_QTY) && d.depth == 3 &&
	      d.implied_depth == 0 && (d.present & MDP3_HAS_GUID) && d.instrument_guid == 5);
	CHECK(mdp3_packet_next(&packet, &s, &m) && m.template_id == 56);
	CHECK(mdp3_definition_read(&m, &d, &s));
	CHECK(d.security_id == 888 && d.min_price_increment == 50000000ll && !(d.present & MDP3_HAS_GUID));
	CHECK(mdp3_legs(&m) == 2);
	CHECK(mdp3_leg_read(&m, 0, &leg, &s) && leg.security_id == 13950 && leg.side == 1 && leg.ratio == 1 &&
	      !(leg.present & MDP3_HAS_PRICE));
	CHECK(mdp3_leg_read(&m, 1, &leg, &s) && leg.security_id == 13951 && leg.side == 2 &&
	      leg.price == 2080000000000ll);
	CHECK(!mdp3_packet_next(&packet, &s, &m));
	CHECK(s.messages == 5 && s.bad_field == 0 && s.bad_length == 0);
	free(p);
	/* A v9 54 root of 215 bytes misses TradingReferenceDate's last byte: refused. */
	packet_begin(&b, 1, 1);
	definition54(&b, 9, 215);
	CHECK(!only_message(&b, &s, &m, &p) && s.bad_length == 1);
	free(p);
}

static void test_status_and_snapshots(void)
{
	struct build b;
	struct mdp3_stats s;
	struct mdp3_packet packet;
	struct mdp3_message m;
	struct mdp3_security_status st;
	struct mdp3_snapshot sn;
	struct mdp3_md_entry e;
	struct mdp3_order o;
	uint8_t *p, *r, *en;

	printf("30, 52 and 53 read field by field\n");
	packet_begin(&b, 1, 1);
	r = message_begin(&b, 30, 30, 1, 13);
	put64(r, 123);
	memcpy(r + 8, "ES", 2);
	memcpy(r + 14, "ES", 2);
	put32(r + 20, INT32_MAX);				/* the whole group */
	put16(r + 24, 20400);
	r[26] = 0x80;
	r[27] = 21;						/* PreOpen */
	r[28] = 0;
	r[29] = 4;
	message_end(&b);
	r = message_begin(&b, 59, 52, 1, 13);
	put32(r + 0, 123456);					/* LastMsgSeqNumProcessed */
	put32(r + 4, 300);
	put32(r + 8, 13950);
	put32(r + 12, 3076);
	put64(r + 16, 1000);
	put64(r + 24, 2000);
	put16(r + 32, 20401);
	r[34] = 17;
	put64(r + 35, 2200000000000ll);
	put64(r + 43, INT64_MAX);
	put64(r + 51, 60000000000ll);
	en = group3(&b, 22, 2);
	put64(en + 0, 2077750000000ll);
	put32(en + 8, 10);
	put32(en + 12, 4);
	en[16] = 1;
	put16(en + 17, 0xffff);
	en[19] = 255;
	en[20] = 0;
	en[21] = '1';
	put64(en + 22, 2077000000000ll);
	put32(en + 30, 3);
	put32(en + 34, INT32_MAX);
	en[38] = 127;						/* MDPriceLevel null */
	en[43] = '6';
	message_end(&b);
	r = message_begin(&b, 28, 53, 1, 13);
	put32(r + 0, 123457);
	put32(r + 4, 12);
	put32(r + 8, 13950);
	put32(r + 12, 3);
	put32(r + 16, 2);
	put64(r + 20, 3000);
	en = group3(&b, 29, 1);
	put64(en + 0, 5555);
	put64(en + 8, 66);
	put64(en + 16, 2077250000000ll);
	put32(en + 24, 8);
	en[28] = '0';
	message_end(&b);
	p = exact(b.b, b.n);
	memset(&s, 0, sizeof(s));
	CHECK(mdp3_packet_open(&packet, p, b.n, &s) == 0);
	CHECK(mdp3_packet_next(&packet, &s, &m) && m.template_id == 30);
	mdp3_security_status_read(&m, &st);
	CHECK(st.transact_time_ns == 123 && !(st.present & MDP3_HAS_SECURITY_ID) && st.trade_date == 20400 &&
	      st.match_event == 0x80 && st.trading_status == 21 && st.trading_event == 4 &&
	      memcmp(st.security_group, "ES\0\0\0\0", 6) == 0 && memcmp(st.asset, "ES", 2) == 0);
	CHECK(mdp3_packet_next(&packet, &s, &m) && m.template_id == 52);
	CHECK(mdp3_snapshot_read(&m, &sn, &s));
	CHECK(sn.last_msg_seq == 123456 && sn.tot_num_reports == 300 && sn.security_id == 13950 &&
	      sn.rpt_seq == 3076 && sn.transact_time_ns == 1000 && sn.last_update_ns == 2000 &&
	      sn.trade_date == 20401 && sn.trading_status == 17 && sn.high_limit == 2200000000000ll &&
	      !(sn.present & MDP3_HAS_LOW_LIMIT) && sn.max_variation == 60000000000ll && sn.chunks == 1);
	CHECK(mdp3_md_entries(&m) == 2);
	CHECK(mdp3_md_entry_read(&m, 0, &e, &s));
	CHECK(e.price == 2077750000000ll && e.size == 10 && e.orders == 4 && e.level == 1 &&
	      (e.present & MDP3_HAS_LEVEL) && e.entry_type == '1');
	CHECK(mdp3_md_entry_read(&m, 1, &e, &s));
	CHECK(e.price == 2077000000000ll && !(e.present & MDP3_HAS_LEVEL) && !(e.present & MDP3_HAS_ORDERS) &&
	      e.entry_type == '6');
	CHECK(mdp3_packet_next(&packet, &s, &m) && m.template_id == 53);
	CHECK(mdp3_snapshot_read(&m, &sn, &s));
	CHECK(sn.last_msg_seq == 123457 && sn.tot_num_reports == 12 && sn.security_id == 13950 &&
	      sn.chunks == 3 && sn.chunk == 2 && sn.transact_time_ns == 3000 && !(sn.present & MDP3_HAS_RPT_SEQ));
	CHECK(mdp3_orders(&m) == 1 && mdp3_order_read(&m, 0, &o, &s));
	CHECK(o.order_id == 5555 && o.priority == 66 && o.price == 2077250000000ll && o.quantity == 8 &&
	      o.entry_type == '0');
	CHECK(!mdp3_packet_next(&packet, &s, &m));
	CHECK(s.messages == 3 && s.bad_field == 0);
	free(p);
	/* A snapshot's limit of INT64_MIN is refused. */
	packet_begin(&b, 1, 1);
	r = message_begin(&b, 59, 52, 1, 13);
	put64(r + 43, (uint64_t)INT64_MIN);
	group3(&b, 22, 0);
	message_end(&b);
	CHECK(only_message(&b, &s, &m, &p) && !mdp3_snapshot_read(&m, &sn, &s) && s.bad_field == 1);
	free(p);
}

/* Seeded corruption of a packet holding one of everything: nothing read past it. */
static void test_random(uint64_t seed)
{
	struct build b;
	uint8_t *r;

	printf("random corruption, seed %llu\n", (unsigned long long)seed);
	packet_begin(&b, 4, 4);
	book46(&b, 13, 1, 1);
	definition54(&b, 13, 224);
	r = message_begin(&b, 59, 52, 1, 13);
	(void)r;
	group3(&b, 22, 3);
	message_end(&b);
	message_begin(&b, 11, 48, 1, 9);
	group3(&b, 32, 2);
	group8(&b, 16, 2);
	message_end(&b);
	check_rng_state = seed;
	for (int round = 0; round < 20000; round++) {
		struct mdp3_stats s;
		struct decoder_frame f;
		uint32_t n = b.n - (uint32_t)(check_rng() % 8 == 0 ? check_rng() % b.n : 0);
		uint8_t *p = exact(b.b, n);
		int flips = 1 + (int)(check_rng() % 4);

		for (int i = 0; i < flips && n > 0; i++)
			p[check_rng() % n] = (uint8_t)check_rng();
		memset(&s, 0, sizeof(s));
		walk_all(p, n, &s);
		(void)mdp3_frame_parse(p, n, &f);
		free(p);
	}
}

int main(int argc, char **argv)
{
	uint64_t seed = check_seed(argc, argv);

	test_framing();
	test_skipped();
	test_hostile_lengths();
	test_truncation();
	test_refused_fields();
	test_book46();
	test_incrementals();
	test_definitions();
	test_status_and_snapshots();
	test_random(seed);
	if (failures) {
		printf("%d failure(s)\n", failures);
		return 1;
	}
	printf("all passed\n");
	return 0;
}
