/*
 * replay: the captures behind `fhd --replay`. Before DPDK starts, each capture is
 * opened once by fhd and read through with libpcap, the library net_pcap itself reads
 * it with, to learn what the PMD will deliver: the packets before the end of the file
 * or before the first record libpcap cannot read (the PMD stops its burst there too),
 * the largest captured length (so one mbuf can hold any frame) and the link type
 * (which the RX lcore turns into Ethernet). The PMD is handed the file as
 * /proc/self/fd/<fd> of that same open file: no part of a user's file name ever
 * reaches a DPDK devargs string, and the PMD reads the file fhd counted even if the
 * name is replaced meanwhile. At the end, one line per capture says what was read.
 *
 * The same read counts the frames from each of the sources it is given (the feeds'
 * recovery servers): a capture that holds a feed's recovery replies (a journal of a
 * recovered run) is where that feed's replay takes its recovery from.
 */
#ifndef FH_FEED_REPLAY_H
#define FH_FEED_REPLAY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "feed/packet.h"

#define REPLAY_REASON_MAX 256
#define REPLAY_FRAME_MAX 9216	/* the largest jumbo frame a replay mbuf holds whole */
#define REPLAY_SOURCES_MAX 16	/* sources counted per capture (one per feed: CFG_FEEDS_MAX) */
/* The longest frame looked at for its source: a recovery reply's, under any link header and a VLAN tag. */
#define REPLAY_SOURCE_FRAME_MAX 4096

/* A UDP source whose frames a capture counts (host byte order). */
struct replay_source {
	uint32_t ip;
	uint16_t port;
	bool present;		/* false: a placeholder that matches nothing */
};

struct replay_capture {
	const char *path;		/* as given on the command line */
	int fd;				/* open for the whole run; -1 when closed */
	char pmd_path[32];		/* "/proc/self/fd/<fd>": the only name the PMD sees */
	int dlt;			/* libpcap's link type (DLT_*) */
	enum packet_link link;
	uint64_t packets;		/* readable packets: what the PMD will deliver */
	uint32_t caplen_max;		/* the largest captured length among them */
	bool damaged;			/* libpcap stopped on an unreadable record */
	uint64_t source_frames[REPLAY_SOURCES_MAX];	/* whole UDP frames from each source given */
	char reason[REPLAY_REASON_MAX];	/* libpcap's words for it */
};

/*
 * Opens and reads through one capture, counting the frames from sources[0..count)
 * (count <= REPLAY_SOURCES_MAX; NULL, 0: none) in source_frames. 0; or -errno with a
 * line in err (not a regular file, not a capture libpcap can open, an unsupported
 * link type). A damaged capture opens: `damaged` and `reason` say where it stops.
 */
int replay_capture_open(struct replay_capture *c, const char *path, const struct replay_source *sources,
			uint32_t count, char *err, size_t err_size);

void replay_capture_close(struct replay_capture *c);

/*
 * The mbuf data room of a replay of these count captures: the default, or enough for
 * the largest frame among them up to a 9216-byte jumbo frame (REPLAY_FRAME_MAX), so
 * that no such frame is chained across mbufs (the parser wants one contiguous frame,
 * and a looping net_pcap refuses chained ones). Bigger frames would cost the pool too
 * much memory (one such room per mbuf); the PMD chains them.
 */
uint16_t replay_data_room(const struct replay_capture *captures, uint32_t count);

/* The EAL --vdev argument for capture `index`, looped or not. 0 or -E2BIG. */
int replay_capture_vdev(const struct replay_capture *c, uint32_t index, bool loop, char *out,
			size_t size);

struct rx_queue;

/*
 * The end-of-replay line for a capture, read from its RX queue: packets in the
 * capture, received, lost inside the PMD, and why it stopped (end of file, damage,
 * a signal, or the RX lcore's idle timeout: `stalled`).
 */
void replay_capture_report(FILE *out, const struct replay_capture *c, const struct rx_queue *q,
			   bool stalled, bool looped);

#endif
