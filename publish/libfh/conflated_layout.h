/*
 * conflated_layout: the shared-memory layout of the conflated top-of-book view, shared
 * by its producer (publish/conflated.c, in fhd) and readers (libfh). See conflated.h.
 */
#ifndef FH_PUBLISH_CONFLATED_LAYOUT_H
#define FH_PUBLISH_CONFLATED_LAYOUT_H

#include <stdint.h>

#include "publish/libfh/fh_event.h"	/* FH_STATIC_ASSERT */

#define CONFLATED_MAGIC 0x31504f5448464646ull	/* "FFFHTOP1" */
#define CONFLATED_VERSION 2
#define CONFLATED_DEPTH_MAX 64
#define CONFLATED_HEADER_SIZE 4096
#define CONFLATED_FEEDS 256	/* one state per feed index (an event's uint8 feed) */

struct conflated_header {
	uint64_t magic;
	uint32_t version;	/* CONFLATED_VERSION */
	uint32_t depth;		/* levels per side in each entry */
	uint32_t slots;		/* entries */
	uint32_t entry_size;	/* bytes per entry */
	uint64_t generation;	/* the ring's generation this view belongs to */
	/*
	 * Each feed's book state (enum fh_book_state), by feed index: one byte per feed
	 * here rather than one per entry, so a change costs one store, not a rewrite of
	 * every entry of the feed. The producer stores a worse state before it writes
	 * entries past the change, and OK only after it has rewritten the entries that
	 * make the books whole (a new session's clear, a snapshot's refresh); a reader
	 * loads it between copying an entry and checking the entry's version again, so
	 * it never pairs an entry written after a loss with OK, nor OK with an entry
	 * from before the books were made whole (that entry's version has moved).
	 */
	uint8_t feed_state[CONFLATED_FEEDS];
};

FH_STATIC_ASSERT(sizeof(struct conflated_header) <= CONFLATED_HEADER_SIZE, "the header fits its page");

struct conflated_level {
	int64_t price;
	uint64_t shares;
	uint32_t orders;
	uint32_t reserved;
};

struct conflated_entry {
	uint64_t version;	/* seqlock: odd while being written */
	uint64_t ring_seq;	/* ring sequence number of the last event it reflects */
	uint32_t instrument;	/* venue key (ITCH stock locate) */
	uint8_t feed;
	uint8_t used;		/* 0: the slot holds no instrument */
	uint8_t price_decimals;
	uint8_t state;		/* the instrument's own book state (enum fh_book_state;
				 * a reader shows the worse of it and feed_state) */
	uint32_t bid_count;	/* levels filled below, best first */
	uint32_t ask_count;
	char symbol[16];
	/* depth bids, then depth asks (a flexible array member: C only, a GNU extension in C++) */
	struct conflated_level levels[];
};

#endif
