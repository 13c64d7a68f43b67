/*
 * pcapng: block builders (see pcapng.h). Host byte order, as the format allows: the
 * Section Header's byte-order magic tells readers which one was used.
 */
#include "publish/journal/pcapng.h"

#include <string.h>

#define PCAPNG_SHB 0x0A0D0D0Au
#define PCAPNG_IDB 0x00000001u
#define PCAPNG_BYTE_ORDER_MAGIC 0x1A2B3C4Du
#define PCAPNG_OPT_END 0
#define PCAPNG_IF_NAME 2
#define PCAPNG_IF_TSRESOL 9

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

size_t pcapng_shb_write(uint8_t *out, size_t room)
{
	const size_t size = 28;
	uint64_t section_length = UINT64_MAX;	/* not known in advance */

	if (room < size)
		return 0;
	put32(out, PCAPNG_SHB);
	put32(out + 4, (uint32_t)size);
	put32(out + 8, PCAPNG_BYTE_ORDER_MAGIC);
	put16(out + 12, 1);	/* major version */
	put16(out + 14, 0);	/* minor version */
	memcpy(out + 16, &section_length, 8);
	put32(out + 24, (uint32_t)size);
	return size;
}

size_t pcapng_idb_write(uint8_t *out, size_t room, const char *name)
{
	size_t name_len = strlen(name), name_padded = (name_len + 3) & ~(size_t)3;
	size_t size = 16 + (4 + name_padded) + (4 + 4) + 4 + 4;
	uint8_t *o;

	if (room < size)
		return 0;
	memset(out, 0, size);
	put32(out, PCAPNG_IDB);
	put32(out + 4, (uint32_t)size);
	put16(out + 8, PCAPNG_LINKTYPE_ETHERNET);
	put32(out + 12, PCAPNG_SNAPLEN);
	o = out + 16;
	put16(o, PCAPNG_IF_NAME);
	put16(o + 2, (uint16_t)name_len);
	memcpy(o + 4, name, name_len);
	o += 4 + name_padded;
	put16(o, PCAPNG_IF_TSRESOL);
	put16(o + 2, 1);
	o[4] = 9;		/* 10^-9 s */
	o += 8;
	put16(o, PCAPNG_OPT_END);
	put16(o + 2, 0);
	put32(out + size - 4, (uint32_t)size);
	return size;
}

size_t pcapng_epb_write(uint8_t *out, size_t room, uint32_t interface, uint64_t ts_ns,
			const uint8_t *frame, uint32_t len)
{
	size_t size = pcapng_epb_size(len);

	if (room < size)
		return 0;
	put32(out, PCAPNG_BLOCK_EPB);
	put32(out + 4, (uint32_t)size);
	put32(out + 8, interface);
	put32(out + 12, (uint32_t)(ts_ns >> 32));
	put32(out + 16, (uint32_t)ts_ns);
	put32(out + 20, len);	/* captured */
	put32(out + 24, len);	/* original */
	memcpy(out + 28, frame, len);
	memset(out + 28 + len, 0, size - 4 - 28 - len);
	put32(out + size - 4, (uint32_t)size);
	return size;
}

size_t pcapng_whole_prefix(const uint8_t *data, size_t len)
{
	uint32_t type, size, magic, trailer;
	size_t at = 0;

	if (len < 28)
		return 0;
	memcpy(&type, data, 4);
	memcpy(&magic, data + 8, 4);
	if (type != PCAPNG_SHB || magic != PCAPNG_BYTE_ORDER_MAGIC)
		return 0;
	while (len - at >= 12) {
		memcpy(&size, data + at + 4, 4);
		if (size < 12 || (size & 3) != 0 || size > len - at)
			break;
		memcpy(&trailer, data + at + size - 4, 4);
		if (trailer != size)
			break;
		at += size;
	}
	return at;
}
