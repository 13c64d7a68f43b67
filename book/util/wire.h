/*
 * wire: big-endian field loads (and stores) from packet bytes at any alignment. memcpy into a
 * local is the portable way to read an unaligned field; compilers turn it into one
 * load (and a byte swap), so decoders pay nothing for staying within the C rules.
 */
#ifndef FH_BOOK_UTIL_WIRE_H
#define FH_BOOK_UTIL_WIRE_H

#include <stdint.h>
#include <string.h>

static inline uint16_t wire_be16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return __builtin_bswap16(v);
}

static inline uint32_t wire_be32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return __builtin_bswap32(v);
}

static inline uint64_t wire_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return __builtin_bswap64(v);
}

/* And the stores, for the few packets fh sends (recovery requests, SoupBinTCP). */
static inline void wire_put_be16(uint8_t *p, uint16_t v)
{
	v = __builtin_bswap16(v);
	memcpy(p, &v, sizeof(v));
}

static inline void wire_put_be32(uint8_t *p, uint32_t v)
{
	v = __builtin_bswap32(v);
	memcpy(p, &v, sizeof(v));
}

static inline void wire_put_be64(uint8_t *p, uint64_t v)
{
	v = __builtin_bswap64(v);
	memcpy(p, &v, sizeof(v));
}

#endif
