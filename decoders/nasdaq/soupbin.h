/*
 * soupbin: SoupBinTCP 3.00 framing, the TCP session layer GLIMPSE runs on. Every
 * logical packet is [u16 big-endian length of what follows][type][payload]; TCP may
 * split or merge them anywhere, so bytes are gathered in a buffer and packets are
 * taken out whole. Pure functions over bytes: the GLIMPSE client (glimpse.c) owns
 * the socket.
 */
#ifndef FH_DECODERS_NASDAQ_SOUPBIN_H
#define FH_DECODERS_NASDAQ_SOUPBIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SOUPBIN_LOGIN_LEN 49		/* a Login Request: length field, 'L', 46 bytes of fields */
#define SOUPBIN_BUFFER (1u << 16)	/* room for the largest packet (65535 + 2) */

struct soupbin_buffer {
	uint32_t len;
	uint8_t bytes[SOUPBIN_BUFFER + 2];
};

/*
 * The next whole packet at the buffer's start: its type and payload (not including
 * the type). 1 if one is there, 0 if more bytes are needed, -EPROTO for a packet of
 * length 0 (no type: not SoupBinTCP).
 */
int soupbin_packet_peek(const struct soupbin_buffer *b, uint8_t *type, const uint8_t **payload,
			uint16_t *payload_len);

/* Removes the first packet (as soupbin_packet_peek found it). */
void soupbin_packet_consume(struct soupbin_buffer *b);

/*
 * A Login Request for `username` (at most 6 characters) and `password` (at most 10),
 * the current session (blank), from sequence `seq`: fields left-justified and padded
 * with spaces, the sequence right-justified. Writes SOUPBIN_LOGIN_LEN bytes.
 */
void soupbin_login_build(uint8_t out[SOUPBIN_LOGIN_LEN], const char *username, const char *password,
			 uint64_t seq);

/* A three-byte packet with no payload: 'R' client heartbeat, 'O' logout. */
void soupbin_empty_build(uint8_t out[3], uint8_t type);

/*
 * A decimal number in a fixed-width ASCII field padded with spaces on either side
 * (SoupBinTCP's sequence numbers, GLIMPSE's End of Snapshot). -EINVAL for anything
 * else (no digit, a sign, a space inside, over 20 digits or UINT64_MAX).
 */
int soupbin_number_parse(const uint8_t *field, size_t len, uint64_t *out);

#endif
