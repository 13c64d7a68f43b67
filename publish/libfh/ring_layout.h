/*
 * ring_layout: the shared-memory layout of a publish ring, shared by the producer
 * (publish/ring.c, in fhd) and the consumers (publish/fh.c, libfh). One 4 KiB header
 * page, then capacity records of 64 bytes. The producer's head sits alone on its cache
 * line so that consumers polling it do not share a line with anything else it writes.
 *
 * Publishing record s (s = 1, 2, ...) into slot (s - 1) & mask is a seqlock: the slot's
 * seq is set to 0, the body written, then seq = s (release), then head = s (release).
 * A consumer that reads seq == s before and after copying the record has a whole one;
 * any other value means the producer has lapped it.
 */
#ifndef FH_PUBLISH_RING_LAYOUT_H
#define FH_PUBLISH_RING_LAYOUT_H

#include <stdint.h>

#include "publish/libfh/fh_event.h"

#define RING_MAGIC 0x31474e4952484646ull	/* "FFHRING1" little-endian */
#define RING_HEADER_SIZE 4096
#define RING_STATE_LIVE 1
#define RING_STATE_STOPPED 2
#define RING_FEEDS_MAX 16
#define RING_FEED_NAME_MAX 32

struct ring_header {
	uint64_t magic;
	uint32_t layout_version;	/* FH_EVENT_LAYOUT_VERSION */
	uint32_t record_size;		/* sizeof(struct fh_event) */
	uint64_t capacity;		/* records; a power of two */
	uint64_t generation;		/* new at every producer start; never 0 */
	uint32_t state;			/* RING_STATE_* */
	uint32_t producer_pid;
	uint8_t pad0[64 - 40];
	uint64_t head;			/* records published so far (seq of the newest) */
	uint8_t pad1[64 - 8];
	char feed_names[RING_FEEDS_MAX][RING_FEED_NAME_MAX];	/* by event.feed */
};

FH_STATIC_ASSERT(sizeof(struct ring_header) == 128 + RING_FEEDS_MAX * RING_FEED_NAME_MAX,
	       "ring header layout");
FH_STATIC_ASSERT(sizeof(struct ring_header) <= RING_HEADER_SIZE, "ring header fits its page");

#endif
