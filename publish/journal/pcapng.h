/*
 * pcapng: the blocks of the journal's file format (pcapng, IETF draft
 * "PCAP Next Generation Dump File Format"): a Section Header Block, one Interface
 * Description Block per feed line (named "<feed>.<line>", if_tsresol 9: nanoseconds),
 * and an Enhanced Packet Block per received frame carrying its original bytes and its
 * RX time. Pure byte building into caller memory: the journal lcore decides where the
 * bytes go (io_uring buffers), tests and tools can use it directly.
 */
#ifndef FH_PUBLISH_PCAPNG_H
#define FH_PUBLISH_PCAPNG_H

#include <stddef.h>
#include <stdint.h>

#define PCAPNG_LINKTYPE_ETHERNET 1
#define PCAPNG_BLOCK_EPB 0x00000006u	/* Enhanced Packet Block type */
#define PCAPNG_SNAPLEN 65535

/* Bytes an Enhanced Packet Block for a frame of `len` bytes takes. */
static inline size_t pcapng_epb_size(uint32_t len)
{
	return 28 + (((size_t)len + 3) & ~(size_t)3) + 4;
}

/* Writes a Section Header Block (unknown section length) at out; returns its size. */
size_t pcapng_shb_write(uint8_t *out, size_t room);

/*
 * Writes an Interface Description Block (Ethernet, nanosecond timestamps, if_name
 * `name`); returns its size, or 0 if it does not fit in room.
 */
size_t pcapng_idb_write(uint8_t *out, size_t room, const char *name);

/*
 * Writes an Enhanced Packet Block for interface `interface`, time ts_ns (ns since the
 * epoch), frame[0..len); returns its size, or 0 if it does not fit in room.
 */
size_t pcapng_epb_write(uint8_t *out, size_t room, uint32_t interface, uint64_t ts_ns,
			const uint8_t *frame, uint32_t len);

/*
 * Length of the longest prefix of data[0..len) made of whole blocks after a valid
 * Section Header Block (0 if there is none): where a crash-torn journal is truncated.
 */
size_t pcapng_whole_prefix(const uint8_t *data, size_t len);

#endif
