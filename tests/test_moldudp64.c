/*
 * test_moldudp64: packet framing is validated as a whole. Every inconsistency first
 * (short header, trailing bytes on heartbeat and end of session, count and blocks
 * disagreeing, a block overrunning, sequence 0 or wrapping), then valid frames and
 * frame_apply's skip of messages already applied from the other line.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "decoders/nasdaq/itch50.h"
#include "decoders/nasdaq/moldudp64.h"
#include "tests/check.h"

static uint32_t header(uint8_t *p, uint64_t seq, uint16_t count)
{
	memcpy(p, "SESSION001", 10);
	for (int i = 0; i < 8; i++)
		p[10 + i] = (uint8_t)(seq >> (56 - 8 * i));
	p[18] = (uint8_t)(count >> 8);
	p[19] = (uint8_t)count;
	return 20;
}

/* Appends a block of an ITCH 'D' (Order Delete, 19 bytes) for ref. */
static uint32_t block_delete(uint8_t *p, uint32_t at, uint64_t ref)
{
	p[at] = 0;
	p[at + 1] = 19;
	memset(p + at + 2, 0, 19);
	p[at + 2] = 'D';
	for (int i = 0; i < 8; i++)
		p[at + 2 + 11 + i] = (uint8_t)(ref >> (56 - 8 * i));
	return at + 21;
}

int main(void)
{
	struct decoder_frame f;
	struct decoder_stats stats;
	struct book *book = book_create(4, 64, 8);
	uint8_t p[256];
	uint32_t n;

	printf("inconsistent packets are refused whole\n");
	header(p, 1, 0);
	CHECK(moldudp64_frame_parse(p, 19, &f) == -EBADMSG);
	CHECK(moldudp64_frame_parse(p, 21, &f) == -EBADMSG);		/* heartbeat + junk */
	header(p, 1, 0xFFFF);
	CHECK(moldudp64_frame_parse(p, 22, &f) == -EBADMSG);		/* end + junk */
	n = block_delete(p, header(p, 1, 2), 5);			/* says 2, has 1 */
	CHECK(moldudp64_frame_parse(p, n, &f) == -EBADMSG);
	n = block_delete(p, header(p, 1, 1), 5);
	CHECK(moldudp64_frame_parse(p, n - 1, &f) == -EBADMSG);	/* block overruns */
	CHECK(moldudp64_frame_parse(p, n + 1, &f) == -EBADMSG);	/* trailing byte */
	n = block_delete(p, header(p, 0, 1), 5);
	CHECK(moldudp64_frame_parse(p, n, &f) == -EBADMSG);		/* seq 0 */
	n = block_delete(p, header(p, UINT64_MAX, 1), 5);
	CHECK(moldudp64_frame_parse(p, n, &f) == -EBADMSG);		/* seq + count wraps */
	n = header(p, 1, 1);
	p[n] = 0xFF; p[n + 1] = 0xFF;
	CHECK(moldudp64_frame_parse(p, n + 2, &f) == -EBADMSG);	/* huge block length */

	printf("valid frames\n");
	header(p, 42, 0);
	CHECK(moldudp64_frame_parse(p, 20, &f) == 0 && f.kind == DECODER_FRAME_HEARTBEAT && f.seq == 42);
	header(p, 43, 0xFFFF);
	CHECK(moldudp64_frame_parse(p, 20, &f) == 0 && f.kind == DECODER_FRAME_END && f.seq == 43);
	n = block_delete(p, block_delete(p, block_delete(p, header(p, 7, 3), 1), 2), 3);
	CHECK(moldudp64_frame_parse(p, n, &f) == 0 && f.kind == DECODER_FRAME_DATA && f.seq == 7 &&
	      f.count == 3 && f.session_len == 10 && memcmp(f.session, "SESSION001", 10) == 0);
	n = header(p, 9, 1);
	p[n] = 0; p[n + 1] = 0;					/* an empty block is framing-valid */
	CHECK(moldudp64_frame_parse(p, n + 2, &f) == 0 && f.count == 1);

	printf("frame_apply skips what the other line delivered\n");
	memset(&stats, 0, sizeof(stats));
	n = block_delete(p, block_delete(p, block_delete(p, header(p, 7, 3), 1), 2), 3);
	CHECK(itch50_moldudp64_decoder.frame_apply(book, &stats, NULL, p, n, 2, NULL) == 1);
	CHECK(stats.messages == 1 && book->stats.unknown_order == 1);
	CHECK(itch50_moldudp64_decoder.frame_apply(book, &stats, NULL, p, n, 0, NULL) == 3);
	CHECK(stats.messages == 4);
	book_destroy(book);
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
