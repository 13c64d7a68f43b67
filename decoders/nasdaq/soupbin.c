/*
 * soupbin: SoupBinTCP 3.00 framing and the client's few packets (see soupbin.h).
 */
#include "decoders/nasdaq/soupbin.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "book/util/wire.h"

int soupbin_packet_peek(const struct soupbin_buffer *b, uint8_t *type, const uint8_t **payload,
			uint16_t *payload_len)
{
	uint16_t len;

	if (b->len < 2)
		return 0;
	len = wire_be16(b->bytes);
	if (len == 0)
		return -EPROTO;
	if (b->len < 2u + len)
		return 0;
	*type = b->bytes[2];
	*payload = b->bytes + 3;
	*payload_len = (uint16_t)(len - 1);
	return 1;
}

void soupbin_packet_consume(struct soupbin_buffer *b)
{
	uint32_t size = 2u + wire_be16(b->bytes);

	assert(b->len >= size);
	memmove(b->bytes, b->bytes + size, b->len - size);
	b->len -= size;
}

/* Copies text into a field of width len, left-justified, padded with spaces. */
static void soupbin_field_put(uint8_t *field, size_t len, const char *text)
{
	size_t n = strnlen(text, len);

	memset(field, ' ', len);
	memcpy(field, text, n);
}

void soupbin_login_build(uint8_t out[SOUPBIN_LOGIN_LEN], const char *username, const char *password,
			 uint64_t seq)
{
	char digits[21];

	wire_put_be16(out, SOUPBIN_LOGIN_LEN - 2);
	out[2] = 'L';
	soupbin_field_put(out + 3, 6, username);
	soupbin_field_put(out + 9, 10, password);
	soupbin_field_put(out + 19, 10, "");	/* the current session */
	snprintf(digits, sizeof(digits), "%20llu", (unsigned long long)seq);
	memcpy(out + 29, digits, 20);
}

void soupbin_empty_build(uint8_t out[3], uint8_t type)
{
	wire_put_be16(out, 1);
	out[2] = type;
}

int soupbin_number_parse(const uint8_t *field, size_t len, uint64_t *out)
{
	size_t i = 0, end = len;
	uint64_t v = 0;

	while (i < len && field[i] == ' ')
		i++;
	while (end > i && field[end - 1] == ' ')
		end--;
	if (i == end || end - i > 20)
		return -EINVAL;
	for (; i < end; i++) {
		uint64_t d = (uint64_t)(field[i] - '0');

		if (field[i] < '0' || field[i] > '9' || v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (v == UINT64_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}
