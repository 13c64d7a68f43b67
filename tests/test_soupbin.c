/*
 * test_soupbin: SoupBinTCP 3.00 framing and the client's packets (decoders/nasdaq/soupbin.c),
 * the bytes a GLIMPSE server's TCP stream hands the recovery worker. A stream of
 * packets of every size class is cut at every byte boundary (and fed a byte at a
 * time, and all at once) and must come out as the same packets; a zero length is
 * refused. The Login Request is checked byte for byte against the specification's
 * field layout written out here by hand, and the number parser at its edges.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "decoders/nasdaq/soupbin.h"
#include "tests/check.h"

#define STREAM_PACKETS 8

struct stream_packet {
	uint8_t type;
	uint16_t len;		/* payload bytes after the type */
	uint8_t fill;
};

static const struct stream_packet stream_packets[STREAM_PACKETS] = {
	{ 'A', 30, 'a' }, { 'H', 0, 0 }, { 'S', 1, 's' }, { '+', 5, 'd' },
	{ 'S', 300, 'x' }, { 'S', 255, 'y' }, { 'Z', 0, 0 }, { 'S', 256, 'z' },
};

/* The stream's bytes, written from the table: [u16 len + 1][type][payload]. */
static size_t stream_build(uint8_t *out)
{
	size_t at = 0;

	for (int i = 0; i < STREAM_PACKETS; i++) {
		const struct stream_packet *p = &stream_packets[i];

		out[at] = (uint8_t)((p->len + 1) >> 8);
		out[at + 1] = (uint8_t)((p->len + 1) & 0xff);
		out[at + 2] = p->type;
		for (uint16_t k = 0; k < p->len; k++)
			out[at + 3 + k] = (uint8_t)(p->fill + k % 7);
		at += 3u + p->len;
	}
	return at;
}

/* Takes every whole packet out of b, checking each against the table; returns how many. */
static int stream_take(struct soupbin_buffer *b, int *next, bool *ok)
{
	uint8_t type;
	const uint8_t *payload;
	uint16_t len;
	int taken = 0, rc;

	while ((rc = soupbin_packet_peek(b, &type, &payload, &len)) == 1) {
		const struct stream_packet *p;

		if (*next >= STREAM_PACKETS) {
			*ok = false;
			return taken;
		}
		p = &stream_packets[*next];
		if (type != p->type || len != p->len)
			*ok = false;
		for (uint16_t k = 0; k < len && *ok; k++)
			if (payload[k] != (uint8_t)(p->fill + k % 7))
				*ok = false;
		soupbin_packet_consume(b);
		(*next)++;
		taken++;
	}
	if (rc != 0)
		*ok = false;
	return taken;
}

static void buffer_add(struct soupbin_buffer *b, const uint8_t *bytes, size_t n)
{
	memcpy(b->bytes + b->len, bytes, n);
	b->len += (uint32_t)n;
}

static void test_framing(void)
{
	static uint8_t stream[4096];
	static struct soupbin_buffer b;
	size_t n = stream_build(stream);
	bool ok = true;
	int next;

	printf("framing: the stream cut at every byte boundary\n");
	for (size_t cut = 0; cut <= n; cut++) {
		int before;

		b.len = 0;
		next = 0;
		buffer_add(&b, stream, cut);
		stream_take(&b, &next, &ok);
		before = next;
		/* Only the packets wholly before the cut can have come out. */
		{
			size_t end = 0;
			int whole = 0;

			while (whole < STREAM_PACKETS && end + 3u + stream_packets[whole].len <= cut)
				end += 3u + stream_packets[whole++].len;
			if (before != whole || b.len != cut - end)
				ok = false;
		}
		buffer_add(&b, stream + cut, n - cut);
		stream_take(&b, &next, &ok);
		if (next != STREAM_PACKETS || b.len != 0)
			ok = false;
	}
	CHECK(ok);
	printf("framing: a byte at a time, and all merged at once\n");
	b.len = 0;
	next = 0;
	for (size_t i = 0; i < n; i++) {
		buffer_add(&b, stream + i, 1);
		stream_take(&b, &next, &ok);
	}
	CHECK(ok && next == STREAM_PACKETS && b.len == 0);
	b.len = 0;
	next = 0;
	buffer_add(&b, stream, n);
	CHECK(stream_take(&b, &next, &ok) == STREAM_PACKETS && ok && b.len == 0);

	printf("framing: a zero length is not SoupBinTCP; fewer than 2 bytes wait\n");
	{
		uint8_t type = 0;
		const uint8_t *payload = NULL;
		uint16_t len = 0;
		static const uint8_t zero[] = { 0x00, 0x00, 'S' };
		static const uint8_t largest[2] = { 0xff, 0xff };

		b.len = 0;
		CHECK(soupbin_packet_peek(&b, &type, &payload, &len) == 0);
		buffer_add(&b, zero, 1);
		CHECK(soupbin_packet_peek(&b, &type, &payload, &len) == 0);
		buffer_add(&b, zero + 1, 2);
		CHECK(soupbin_packet_peek(&b, &type, &payload, &len) == -EPROTO);
		b.len = 0;	/* a good packet, then the zero length: the first comes out, then -EPROTO */
		buffer_add(&b, stream + 3 + 30, 3);	/* the 'H' packet */
		buffer_add(&b, zero, sizeof(zero));
		CHECK(soupbin_packet_peek(&b, &type, &payload, &len) == 1 && type == 'H' && len == 0);
		soupbin_packet_consume(&b);
		CHECK(b.len == 3 && soupbin_packet_peek(&b, &type, &payload, &len) == -EPROTO);
		/* The largest packet fits the buffer: 65535 bytes after the length. */
		b.len = 0;
		buffer_add(&b, largest, 2);
		memset(b.bytes + 2, 'S', 65535);
		b.len = 2 + 65534;
		CHECK(soupbin_packet_peek(&b, &type, &payload, &len) == 0);
		b.len = 2 + 65535;
		CHECK(soupbin_packet_peek(&b, &type, &payload, &len) == 1 && type == 'S' && len == 65534 &&
		      payload == b.bytes + 3);
		soupbin_packet_consume(&b);
		CHECK(b.len == 0);
	}
}

static void test_login(void)
{
	uint8_t out[SOUPBIN_LOGIN_LEN + 1];
	uint8_t empty[3];
	/*
	 * The Login Request as the specification lays it out: Packet Length (2, big-endian:
	 * 47, the bytes that follow), Packet Type 'L', Username (6, alphanumeric,
	 * left-justified, space-padded), Password (10, likewise), Requested Session (10,
	 * blank for the current one), Requested Sequence Number (20, numeric, right-justified,
	 * space-padded).
	 */
	static const uint8_t expect_short[49] =
		"\x00\x2f" "L" "ab    " "secret    " "          " "                   1";
	static const uint8_t expect_full[49] =
		"\x00\x2f" "L" "USER01" "0123456789" "          " "18446744073709551614";
	static const uint8_t expect_zero[49] =
		"\x00\x2f" "L" "u     " "p         " "          " "                   0";

	printf("login request: byte for byte against the specification's layout\n");
	CHECK(SOUPBIN_LOGIN_LEN == 49);
	memset(out, 0xee, sizeof(out));
	soupbin_login_build(out, "ab", "secret", 1);
	CHECK(memcmp(out, expect_short, 49) == 0 && out[49] == 0xee);	/* nothing written past it */
	soupbin_login_build(out, "USER01", "0123456789", UINT64_MAX - 1);
	CHECK(memcmp(out, expect_full, 49) == 0);
	soupbin_login_build(out, "u", "p", 0);
	CHECK(memcmp(out, expect_zero, 49) == 0);
	/* The length field says what follows it. */
	CHECK(((out[0] << 8) | out[1]) == SOUPBIN_LOGIN_LEN - 2);

	printf("client heartbeat and logout: three bytes\n");
	soupbin_empty_build(empty, 'R');
	CHECK(empty[0] == 0 && empty[1] == 1 && empty[2] == 'R');
	soupbin_empty_build(empty, 'O');
	CHECK(empty[0] == 0 && empty[1] == 1 && empty[2] == 'O');
}

/* Parses a C string's bytes; the result, or -1 for -EINVAL (UINT64_MAX never parses). */
static int parse(const char *text, uint64_t *v)
{
	*v = 12345;	/* left alone on error */
	return soupbin_number_parse((const uint8_t *)text, strlen(text), v);
}

static void test_number(void)
{
	uint64_t v;

	printf("numbers: padding either side, digits only, at most 20, below UINT64_MAX\n");
	CHECK(parse("1", &v) == 0 && v == 1);
	CHECK(parse("                   1", &v) == 0 && v == 1);	/* right-justified */
	CHECK(parse("42                  ", &v) == 0 && v == 42);	/* left-justified */
	CHECK(parse("   007   ", &v) == 0 && v == 7);
	CHECK(parse("0", &v) == 0 && v == 0);
	CHECK(parse("00000000000000000000", &v) == 0 && v == 0);	/* 20 digits */
	CHECK(parse("12345678901234567890", &v) == 0 && v == 12345678901234567890ull);
	CHECK(parse("18446744073709551614", &v) == 0 && v == UINT64_MAX - 1);
	CHECK(parse("18446744073709551615", &v) == -EINVAL && v == 12345);	/* UINT64_MAX */
	CHECK(parse("18446744073709551616", &v) == -EINVAL);	/* overflows */
	CHECK(parse("99999999999999999999", &v) == -EINVAL);
	CHECK(parse("000000000000000000001", &v) == -EINVAL);	/* 21 digits */
	CHECK(parse(" 0000000000000000000001 ", &v) == -EINVAL);
	CHECK(parse("", &v) == -EINVAL);
	CHECK(parse("          ", &v) == -EINVAL);
	CHECK(parse("1 2", &v) == -EINVAL && v == 12345);	/* a space inside */
	CHECK(parse(" 1 2 ", &v) == -EINVAL);
	CHECK(parse("+1", &v) == -EINVAL);
	CHECK(parse("-1", &v) == -EINVAL);
	CHECK(parse("12a", &v) == -EINVAL);
	CHECK(parse("/", &v) == -EINVAL && parse(":", &v) == -EINVAL);	/* around '0' and '9' */
	CHECK(parse("1\t", &v) == -EINVAL);
	{
		static const uint8_t nul[3] = { '1', 0, '2' };

		CHECK(soupbin_number_parse(nul, 3, &v) == -EINVAL);
		CHECK(soupbin_number_parse(nul, 1, &v) == 0 && v == 1);	/* only len bytes read */
	}
	/* Every value with up to 20 digits that fits, against strtoull. */
	check_rng_state = 99;
	for (int i = 0; i < 100000; i++) {
		uint64_t x = check_rng() >> (check_rng() % 64);
		char text[32];

		if (x == UINT64_MAX)
			continue;
		snprintf(text, sizeof(text), "%*" PRIu64 "%*s", (int)(check_rng() % 21), x, (int)(check_rng() % 4), "");
		if (parse(text, &v) != 0 || v != strtoull(text, NULL, 10)) {
			CHECK(!"parse agrees with strtoull");
			printf("    \"%s\"\n", text);
			break;
		}
	}
}

int main(void)
{
	test_framing();
	test_login();
	test_number();
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
