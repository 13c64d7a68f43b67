/*
 * mdp3_build: builds CME MDP 3.0 packets byte by byte for the C tests, from the layout
 * tables of docs/cme-mdp3.md §2-5 (packet header, message header, groupSize and
 * groupSize8Byte), so that the offsets a test writes are the doc's, not those of
 * mdp3_templates.h. Shared by tests/test_mdp3_sbe.c and tests/test_mdp3_book.c.
 */
#ifndef FH_TESTS_MDP3_BUILD_H
#define FH_TESTS_MDP3_BUILD_H

#include <stdint.h>
#include <string.h>

/* A packet being built: bytes, length, and where the open message started. */
struct build {
	uint8_t b[8192];
	uint32_t n;
	uint32_t message_at;
};

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Packet header §2.2: MsgSeqNum u32 @0, SendingTime u64 @4. */
static inline void packet_begin(struct build *b, uint32_t seq, uint64_t sending_time)
{
	memset(b, 0, sizeof(*b));
	put32(b->b, seq);
	put64(b->b + 4, sending_time);
	b->n = 12;
}

/* MsgSize u16, then blockLength, templateId, schemaId, version; returns the root (zeroed). */
static inline uint8_t *message_begin(struct build *b, uint16_t block_length, uint16_t template_id,
			      uint16_t schema, uint16_t version)
{
	uint8_t *root;

	b->message_at = b->n;
	put16(b->b + b->n + 2, block_length);
	put16(b->b + b->n + 4, template_id);
	put16(b->b + b->n + 6, schema);
	put16(b->b + b->n + 8, version);
	root = b->b + b->n + 10;
	b->n += 10 + block_length;
	return root;
}

static inline void message_end(struct build *b)
{
	put16(b->b + b->message_at, (uint16_t)(b->n - b->message_at));
}

/* groupSize: blockLength u16 @0, numInGroup u8 @2; returns the entries (zeroed). */
static inline uint8_t *group3(struct build *b, uint16_t block_length, uint8_t count)
{
	uint8_t *entries;

	put16(b->b + b->n, block_length);
	b->b[b->n + 2] = count;
	entries = b->b + b->n + 3;
	b->n += 3 + (uint32_t)block_length * count;
	return entries;
}

/* groupSize8Byte: blockLength u16 @0, padding 2..6, numInGroup u8 @7. */
static inline uint8_t *group8(struct build *b, uint16_t block_length, uint8_t count)
{
	uint8_t *entries;

	put16(b->b + b->n, block_length);
	memset(b->b + b->n + 2, 0x5a, 5);	/* padding a misread would take for a count */
	b->b[b->n + 7] = count;
	entries = b->b + b->n + 8;
	b->n += 8 + (uint32_t)block_length * count;
	return entries;
}

#endif
