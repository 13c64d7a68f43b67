/*
 * journal: the packet journal's writer. Frames go into large page-aligned buffers as
 * pcapng Enhanced Packet Blocks (publish/pcapng.h) and full buffers are written with
 * io_uring from registered buffers (or plain pwrite(2), the benchmark's baseline),
 * O_DIRECT if asked. Files rotate by size and by time and are named so they sort by
 * time: <dir>/fh-<UTC time of opening>.pcapng, written as "<name>.part" and renamed
 * when whole; dir is a descriptor the caller opened and checked (publish/output_file.h)
 * and every file is created, repaired and renamed relative to it, never through a link. fsync follows a policy (never, every N bytes, every N ns), each fsync
 * drained behind every write before it. A write error or a full disk stops the
 * journal (never the caller) and leaves the file cut at its last whole block (or no
 * file, when not even its header was written); stats.bytes always says what the files
 * hold, counted as writes complete, not as they are handed to the kernel.
 * DPDK-free and single-threaded: one journal lcore owns a struct journal.
 */
#ifndef FH_PUBLISH_JOURNAL_H
#define FH_PUBLISH_JOURNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <liburing.h>

#include "publish/output_file.h"

#define JOURNAL_BUFFERS_MAX 64
#define JOURNAL_INTERFACES_MAX 64
#define JOURNAL_ALIGN 4096		/* O_DIRECT offsets and lengths are whole pages */
#define JOURNAL_FLUSH_NS 100000000ull	/* partial buffers reach the file this often */
#define JOURNAL_SUFFIX ".pcapng"
#define JOURNAL_PART_SUFFIX ".part"	/* a file still being written */

struct journal_options {
	const struct output_dir *dir;	/* opened and checked by the caller; outlives the journal */
	uint32_t buffer_bytes;	/* one write buffer: a multiple of JOURNAL_ALIGN */
	uint32_t buffers;	/* 2..JOURNAL_BUFFERS_MAX */
	bool o_direct;
	bool plain_write;	/* pwrite(2) instead of io_uring (benchmark baseline) */
	uint64_t fsync_bytes;	/* fdatasync after this many bytes; 0: not by size */
	uint64_t fsync_ns;	/* fdatasync this often; 0: not by time */
	uint64_t rotate_bytes;	/* a file ends before it would pass this size */
	uint64_t rotate_ns;	/* a file ends after this long; 0: never by time */
};

struct journal_stats {
	uint64_t files;		/* files finished (renamed from .part) */
	uint64_t blocks;	/* packet blocks appended */
	uint64_t bytes;		/* bytes in the files: counted as writes complete, and set to
				 * each file's size once it is finished */
	uint64_t writes;	/* write requests */
	uint64_t failed_writes;	/* write requests that failed or came back short */
	uint64_t unwritten_bytes;	/* bytes of those requests that did not reach the file */
	uint64_t fsyncs;
	uint64_t buffer_waits;	/* appends that waited for a buffer: the disk was behind */
};

struct journal_buffer {
	uint8_t *data;		/* buffer_bytes + JOURNAL_SLACK */
	uint32_t fill;		/* bytes of blocks in data */
	uint32_t submitted;	/* data[0..submitted) has been handed to the kernel */
	uint32_t inflight;	/* writes from this buffer not completed yet */
	uint64_t file_offset;	/* where data[0] goes in the file */
};

struct journal {
	struct journal_options o;
	struct io_uring ring;
	bool ring_ready;
	struct journal_buffer buffers[JOURNAL_BUFFERS_MAX];
	uint32_t current;
	uint8_t *memory;
	size_t memory_size;
	uint8_t *headers;	/* Section Header and Interface Description Blocks */
	size_t headers_size;
	int fd;			/* the open .part file, or -1 */
	char path[PATH_MAX + NAME_MAX + 2];	/* its path, for messages */
	char name[NAME_MAX + 1];	/* its name in o.dir */
	uint64_t file_written;	/* bytes written to it so far (completed) */
	uint64_t file_opened_ns;
	uint64_t file_blocks;	/* packet blocks in the open file */
	uint64_t submitted_total;	/* bytes handed to the kernel, all files */
	uint64_t synced_total;		/* ... of those, covered by an fsync request */
	uint64_t last_sync_ns;
	uint64_t last_flush_ns;
	uint32_t inflight;	/* requests (writes and fsyncs) not completed */
	uint32_t entries;	/* submission queue size */
	bool started;		/* open succeeded: errors from now on are reported as they come */
	int error;		/* the -errno that stopped the journal, or 0 */
	char error_text[PATH_MAX + NAME_MAX + 128];
	struct journal_stats stats;
	uint32_t interfaces_count;
	uint64_t journaled[JOURNAL_INTERFACES_MAX];	/* frames in the files, per interface */
	uint64_t lost[JOURNAL_INTERFACES_MAX];		/* frames refused or cut away by an error */
	uint64_t file_journaled[JOURNAL_INTERFACES_MAX];	/* ... of journaled, in the open file */
};

/*
 * Sets the journal up: buffers (prefaulted, registered with io_uring), interface
 * blocks for names[0..count) (interface i is names[i]), and the first file. now_ns is
 * the caller's monotonic clock. 0, or -errno with a message in err. buffer_bytes must
 * hold the largest block (about 68 KiB) and be a multiple of JOURNAL_ALIGN.
 */
int journal_open(struct journal *j, const struct journal_options *o, const char *const *names,
		 uint32_t count, uint64_t now_ns, char *err, size_t err_size);

/*
 * Appends one frame on interface with time ts_ns (ns since the epoch). now_ns is the
 * caller's monotonic clock. May wait for a buffer when the disk is behind, never for
 * anything else. 0, or the -errno that stopped the journal (the frame is counted lost).
 * After an error, the frames that did not make it into the file whole move from
 * journaled to lost, so journaled[] always counts what a reader will find.
 */
int journal_append(struct journal *j, uint32_t interface, uint64_t ts_ns, const uint8_t *frame,
		   uint32_t len, uint64_t now_ns);

/* Reaps completions and runs the clocks: partial-buffer flush, fsync by time, rotation. */
void journal_poll(struct journal *j, uint64_t now_ns);

/*
 * Writes what is buffered, waits for it, finishes the file (fsync unless the policy is
 * never) and releases everything. Returns 0 or the error that stopped the journal.
 */
int journal_close(struct journal *j);

/*
 * Finds journals in dir left unfinished ("*.pcapng.part" that no running journal holds
 * locked), cuts each at its last whole block and renames it to "*.pcapng" (removes it
 * when not even the section header is whole). Only a regular file of fhd's own user with
 * one link is touched (output_file_reopen): anything else under such a name (a symbolic
 * link, a FIFO, another user's file, a hard link) is left alone, said on log and counted
 * in *refused. Says what it did on log, a line a file. Returns the number of files
 * repaired, or -errno.
 */
int journal_repair_dir(const struct output_dir *dir, FILE *log, uint32_t *refused);

#endif
