/*
 * fh: the client library for strategy processes (libfh). Attach to a publish ring by
 * name, poll events with a count limit, detach. It needs no DPDK and no root: the ring
 * is mapped read-only, so a consumer can never disturb fhd or another consumer, and
 * fhd never waits for it. A consumer that falls a whole ring behind is told so, with
 * the exact number of events it lost, and continues from a recent point; one whose
 * fhd restarted is told so and reattaches. Build with `pkg-config --cflags --libs fh`.
 *
 * Trust: a segment is shared memory that its owner can rewrite at any time, so libfh
 * maps only segments that the expected producer made and no one else can write: a
 * regular file (never a FIFO, device or symbolic link), owned by root, by this
 * process's effective uid, or by the uid (or user name) in the environment variable
 * FH_PRODUCER_UID, and writable by its owner alone (mode & 022 == 0). Anything else is
 * refused with a message naming the owner. Every header field is validated before
 * use, and whatever is read back from the live mapping afterwards (head, slot
 * sequence numbers, names, view entries) is bounded or masked before it indexes
 * anything: a broken producer can make a consumer see nonsense, never crash or hang.
 *
 * C and C++: the headers compile as C11 and later and as C++11 and later, and every
 * function has C linkage; link C++ programs with the same pkg-config line.
 *
 * Threads: libfh keeps no global state, so calls on different consumers may run
 * concurrently, from any threads, on the same ring or others; fh_attach,
 * fh_segment_open and fh_version may be called from any thread at any time (not
 * while another thread changes FH_PRODUCER_UID with setenv). One consumer is one
 * reader: every call that takes it, the const ones included, must be made by one
 * thread at a time (hand it over with a mutex or a queue, never share it unlocked),
 * and the texts fh_error and fh_feed_name return stay valid until the next call on
 * that consumer. A thread that reads the conflated view while another polls attaches
 * a consumer of its own. No call is async-signal-safe.
 *
 * Versions: FH_VERSION_* name the release of these headers and fh_version() that of
 * the library loaded (also `pkg-config --modversion fh`). The shared library's soname
 * is libfh.so.FH_ABI_MAJOR. It changes when a program built against earlier headers
 * could break: a function removed or changed, a public struct resized or rearranged,
 * a constant renumbered, or FH_EVENT_LAYOUT_VERSION raised. Additions keep it and get
 * a new symbol version (FH_1.0, then FH_1.1, ...), so a program that uses them is
 * refused by the loader on an older libfh.so.1 at start, not at a call. fh_attach
 * then checks what the loader cannot: the consumer passes the layout version and the
 * struct sizes it was compiled with (struct fh_abi), and a library built otherwise
 * refuses it with -EPROTO and a message naming both.
 */
#ifndef FH_PUBLISH_FH_H
#define FH_PUBLISH_FH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fh_event.h"	/* beside this file, in the tree (publish/) and installed (fh/) */

#ifdef __cplusplus
extern "C" {
#endif

/* The release of these headers; the Makefile takes FH_VERSION and the soname from here. */
#define FH_VERSION_MAJOR 0
#define FH_VERSION_MINOR 3
#define FH_VERSION_PATCH 0
#define FH_VERSION_TEXT_(x) #x
#define FH_VERSION_TEXT(x) FH_VERSION_TEXT_(x)
#define FH_VERSION_STRING FH_VERSION_TEXT(FH_VERSION_MAJOR) "." FH_VERSION_TEXT(FH_VERSION_MINOR) "." \
	FH_VERSION_TEXT(FH_VERSION_PATCH)
#define FH_VERSION_NUMBER (FH_VERSION_MAJOR * 10000 + FH_VERSION_MINOR * 100 + FH_VERSION_PATCH)
#define FH_ABI_MAJOR 1		/* libfh.so.1 */

/* The library's release, "MAJOR.MINOR.PATCH" (FH_VERSION_STRING when it was built). */
const char *fh_version(void);

/* fh_poll results other than an event count (>= 0). */
#define FH_POLL_LAPPED (-1)	/* events were lost: fh_lost_last() says how many */
#define FH_POLL_RESTARTED (-2)	/* fhd restarted: call fh_reattach() */
#define FH_POLL_BROKEN (-3)	/* the ring contradicts itself: fh_error() says how */

enum fh_start {
	FH_START_OLDEST,	/* from the oldest event the ring still holds */
	FH_START_NOW,		/* from the next event published */
};

struct fh_consumer;


/*
 * Copies up to `max` events, oldest first, into events[]. Returns how many (0: none
 * new), FH_POLL_LAPPED (the producer overwrote events before they were read; polling
 * again continues from a recent event), FH_POLL_RESTARTED (fhd restarted: a new
 * generation in the ring, or /dev/shm/NAME now names another file or none; checked
 * with one lstat at most every FH_PATH_CHECK_MS of idle polling, never while events
 * flow), or FH_POLL_BROKEN (an event the head says is published has stayed unreadable
 * for FH_STALL_MS without the producer lapping us: the producer is broken or is not
 * fhd; polling again retries, and reports FH_POLL_RESTARTED once it is replaced).
 */
#define FH_PATH_CHECK_MS 20
#define FH_STALL_MS 200
int fh_poll(struct fh_consumer *consumer, struct fh_event *events, int max);

/* The last problem seen (FH_POLL_BROKEN, a refused conflated view), or "". */
const char *fh_error(const struct fh_consumer *consumer);

/* Events lost at the last FH_POLL_LAPPED, and over the whole attachment. */
uint64_t fh_lost_last(const struct fh_consumer *consumer);
uint64_t fh_lost_total(const struct fh_consumer *consumer);

/* After FH_POLL_RESTARTED: maps the new generation and starts from its beginning. 0 or -errno. */
int fh_reattach(struct fh_consumer *consumer, char *err, size_t err_size);

/* True once fhd has marked the ring stopped and every event has been read. */
bool fh_stopped(const struct fh_consumer *consumer);

/*
 * The name of feed `feed` (event.feed) as configured in fhd, or "" if none: at most
 * 31 bytes, always terminated, control characters replaced by '?'. The text stays
 * valid until the next call for the same consumer and feed.
 */
const char *fh_feed_name(const struct fh_consumer *consumer, uint8_t feed);

/*
 * Opens the shared-memory segment /dev/shm/NAME read-only under the trust rules of
 * the file head (non-blocking, no symbolic links, a regular file, a trusted owner, no
 * group or other write). Returns its descriptor (>= 0) and sets *size, or -ENOENT,
 * -EPERM (not trusted), -EINVAL (not a regular file, a bad name or FH_PRODUCER_UID) or
 * another -errno, with a one-line message in err. For readers of other fhd segments
 * (`fh stat`); the caller still validates the contents and checks *size first.
 */
int fh_segment_open(const char *name, uint64_t *size, char *err, size_t err_size);

/* --- the conflated view: current top N levels of every instrument --- */

#define FH_TOP_DEPTH_MAX 64

struct fh_top_level {
	int64_t price;
	uint64_t shares;
	uint32_t orders;
};

struct fh_top {
	uint64_t ring_seq;		/* the last ring event this snapshot reflects */
	uint32_t instrument;		/* venue key */
	uint8_t feed;
	uint8_t price_decimals;
	char symbol[17];
	uint32_t bid_count, ask_count;	/* best first */
	struct fh_top_level bids[FH_TOP_DEPTH_MAX];
	struct fh_top_level asks[FH_TOP_DEPTH_MAX];
	uint8_t state;			/* the instrument's book state (enum fh_book_state) as of
					   this copy: the worse of its feed's and its own */
};

/*
 * What a consumer was compiled with, passed to the library at attach (fh_attach
 * fills it in): the library refuses a consumer whose events or tops it would copy
 * with another size or meaning. size comes first so that later versions can append.
 */
struct fh_abi {
	uint32_t size;			/* sizeof(struct fh_abi) */
	uint32_t abi_major;		/* FH_ABI_MAJOR */
	uint32_t layout_version;	/* FH_EVENT_LAYOUT_VERSION */
	uint32_t event_size;		/* sizeof(struct fh_event) */
	uint32_t top_size;		/* sizeof(struct fh_top) */
	uint32_t top_level_size;	/* sizeof(struct fh_top_level) */
	uint32_t top_depth_max;		/* FH_TOP_DEPTH_MAX */
	uint32_t version;		/* FH_VERSION_NUMBER of the headers (for the message) */
};

#define FH_ABI_INIT { sizeof(struct fh_abi), FH_ABI_MAJOR, FH_EVENT_LAYOUT_VERSION, \
	sizeof(struct fh_event), sizeof(struct fh_top), sizeof(struct fh_top_level), \
	FH_TOP_DEPTH_MAX, FH_VERSION_NUMBER }

/*
 * Attaches to the ring /dev/shm/NAME. 0 and *consumer, or -ENOENT (no such ring yet,
 * or one still being set up), -EPROTO (the consumer was built against other headers
 * than this library, or the ring holds another event layout: err says which),
 * -EINVAL (not a ring, or a malformed one), -EPERM (a segment libfh does not trust:
 * see the file head), or another -errno; err gets a one-line message. fh_attach is
 * fh_attach_abi with the caller's own struct fh_abi.
 */
int fh_attach_abi(const struct fh_abi *abi, const char *name, enum fh_start start,
		  struct fh_consumer **consumer, char *err, size_t err_size);

#ifndef FH_LIBRARY_BUILD
static inline int fh_attach(const char *name, enum fh_start start, struct fh_consumer **consumer,
			    char *err, size_t err_size)
{
	static const struct fh_abi abi = FH_ABI_INIT;

	return fh_attach_abi(&abi, name, start, consumer, err, err_size);
}
#else
/* The exported fh_attach of libfh 0.1 (FH_1.0), for programs built before: the library's own sizes. */
int fh_attach(const char *name, enum fh_start start, struct fh_consumer **consumer,
	      char *err, size_t err_size);
#endif

/*
 * Slots in the ring's conflated view (0: fhd publishes none, not yet, or a malformed
 * one: fh_error() says which). The view's header is validated when it is mapped.
 */
uint32_t fh_top_slots(struct fh_consumer *consumer);

/*
 * A consistent copy of slot `slot`: 0, -ENOENT (no instrument in it), or -EAGAIN (it
 * kept changing under us; try again). The counts are clamped to the view's depth;
 * the other fields are as the producer wrote them (check instrument before using it
 * as an index). state is the instrument's book state (the worse of its feed's and its
 * own, fh_event.h): never OK for an entry written after a loss the books have not
 * recovered from.
 */
int fh_top_read(struct fh_consumer *consumer, uint32_t slot, struct fh_top *top);

/* The sequence number of the next event this consumer will read. */
uint64_t fh_next_seq(const struct fh_consumer *consumer);

void fh_detach(struct fh_consumer *consumer);

#ifdef __cplusplus
}
#endif

#endif
