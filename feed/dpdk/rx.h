/*
 * rx: the RX lcore. A pinned, never-blocking loop that polls its (port, queue) pairs
 * in bursts of RX_BURST and hands every frame to its feed_set. In a replay it stops
 * by itself once every capture has been read to the end; live, it runs until quit.
 * Frames of a port whose link type is not Ethernet are rewritten into Ethernet
 * frames first (packet_link_to_ethernet), a test made once per burst.
 */
#ifndef FH_FEED_RX_H
#define FH_FEED_RX_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ring.h>

#include "feed/feed.h"

#define RX_BURST 32
#define RX_QUEUES_MAX 32
#define RX_POOL_CHECK_POLLS 256	/* queue polls between two looks at the packet pool */
/* A kernel or NIC RX stamp older than this is taken for a clock step, not a wait. */
#define RX_STAMP_AGE_MAX_NS (10ull * 1000 * 1000 * 1000)
/* How often an RX lcore reads a NIC's clock beside the TSC (one device read). */
#define RX_NIC_CLOCK_REFRESH_NS (1000ull * 1000)

_Static_assert(RX_BURST <= CFG_RX_BURST_MAX, "the config counts the burst an RX lcore holds");

struct rte_mempool;
struct rx_lcore;

/*
 * IGMP on a port where fhd answers queries itself (igmp: fhd): the RX lcore copies
 * each IGMP frame (IPv4 protocol 2) it takes off such a port's queue, up to
 * RX_IGMP_FRAME_MAX bytes, onto its igmp ring, single producer, single consumer: the
 * main lcore, which decodes and answers (igmp_port.h). A full ring drops the copy,
 * counted on the queue. The frame itself goes on to the feed set (unrouted) and the
 * journal as any other.
 */
#define RX_IGMP_RING 64			/* copies in flight per RX lcore, a power of two */
#define RX_IGMP_FRAME_MAX 600		/* a query with 130 sources and every header */

struct rx_igmp_frame {
	uint16_t port_id;
	uint16_t len;			/* bytes copied: the frame's, at most RX_IGMP_FRAME_MAX */
	uint32_t frame_len;		/* the frame's own length */
	uint8_t bytes[RX_IGMP_FRAME_MAX];
};
_Static_assert(sizeof(struct rx_igmp_frame) % 4 == 0, "rte_ring elements are multiples of 4 bytes");

/* What rx_reply_journal needs to journal one feed's recovery replies (its context). */
struct rx_reply_journal {
	struct rx_lcore *rx;		/* the feed's RX lcore: its pool, journal ring and clock */
	struct feed *feed;
	uint32_t interface;		/* "<feed>.recovery" in the journal files */
};

struct rx_queue {
	uint16_t port_id;
	uint16_t queue;
	uint8_t link;		/* enum packet_link the port delivers; not Ethernet: rewritten */
	bool counted;		/* replay: the queue is done after `expected` packets */
	bool done;		/* counted and every packet received or dropped by the PMD */
	uint64_t expected;	/* counted: packets the PMD will deliver (may be 0) */
	uint64_t packets;	/* frames taken off the queue */
	uint64_t pool_low;	/* times the pool went below a burst of free mbufs while polling it */
	/* A kernel port's line socket (kernel_port.h): read with recvmmsg instead of rx_burst. */
	int fd;			/* -1: a DPDK queue */
	uint32_t group_ip;	/* the datagrams' destination, for the frame's headers */
	uint16_t udp_port;
	uint32_t ovfl_last;	/* the socket's drop count (SO_RXQ_OVFL) at the last datagram */
	uint64_t kernel_dropped;	/* datagrams the kernel dropped on this socket (buffer full) */
	uint64_t *line_dropped;	/* the same, on the line's own counters (feed_line_stats) */
	uint64_t truncated;	/* datagrams larger than an mbuf: cut by the kernel, not decoded */
	uint64_t idle_polls;	/* empty recvmmsg calls: the drop count is read every few thousand */
	uint64_t stamps_rejected;	/* frames without a usable kernel or NIC RX stamp (rx.c) */
	/* A DPDK port's NIC RX timestamps on the TSC (rx_lcore_nic_clock_set): 0, none. */
	uint64_t tsc_per_nic_q32;	/* TSC ticks per NIC clock tick, 32.32 */
	uint64_t nic_first, tsc_first;	/* the clocks read together at start, */
	uint64_t nic_ref, tsc_ref;	/* and lately (every RX_NIC_CLOCK_REFRESH_NS) */
	bool igmp;		/* the port's IGMP frames are copied to the lcore's igmp ring */
	uint64_t igmp_taken;	/* IGMP frames copied onto the ring */
	uint64_t igmp_dropped;	/* IGMP frames not copied: the ring was full */
};

struct rx_lcore {
	struct feed_set set;
	struct rx_queue queues[RX_QUEUES_MAX];
	uint32_t queues_count;
	bool replay;			/* the reorder window runs on capture time */
	int timestamp_offset;		/* mbuf dynfield with the capture time, or -1 */
	uint64_t timestamp_flag;
	uint64_t timestamp_to_ns;	/* multiplier from the dynfield's unit to ns */
	const volatile bool *quit;
	uint64_t first_rx_tsc;		/* first and last burst with packets */
	uint64_t last_rx_tsc;
	uint64_t bursts;
	uint64_t idle_polls;
	bool stalled;			/* replay ended on the idle timeout, not on its count */
	uint32_t queues_counted;	/* queues that end by themselves (a replay, not looping) */
	uint64_t segmented;		/* frames larger than one mbuf (chained): not decoded, not journaled */
	struct rte_mempool *pool;	/* the packet pool its ports fill */
	uint32_t pool_check_in;		/* queue polls left before the next look at the pool */
	bool pool_low;			/* the pool was low at the last look */
	struct rte_ring *journal;	/* references to every frame go here, or NULL */
	struct rte_ring *igmp;		/* IGMP frame copies for the main lcore (queues with igmp), or NULL */
	uint32_t journal_unrouted;	/* journal interface of frames addressed to no line */
	int64_t journal_epoch_ns;	/* live: RX clock to ns since the epoch */
	uint64_t ns_per_tick_q32;	/* the TSC to ns (set by rx_lcore_run) */
	uint64_t tsc_per_ns_q32;	/* ns to TSC ticks, 32.32 (set by rx_lcore_run) */
	struct rx_reply_journal reply_journals[CFG_FEEDS_MAX];	/* per feed of set, by index */
	struct rte_mbuf *kernel_mbufs[RX_BURST];	/* kernel sockets receive into these (kept between polls) */
	uint16_t kernel_mbufs_count;
	volatile bool finished;
	/* Passes of the run loop, for the watchdog (read by the main lcore): its own line. */
	uint64_t loops __attribute__((aligned(64)));
} __attribute__((aligned(64)));

/*
 * A feed's reply_journal hook (feed.h) on its RX lcore; context: a struct
 * rx_reply_journal. The reply becomes a frame in an mbuf from the lcore's pool
 * (rte_pktmbuf_alloc: a mempool get, no allocation), Ethernet + IPv4 + UDP from
 * recovery.server to the worker's socket (feed_recovery.local_ip, local_port), and
 * goes on the lcore's journal ring with the interface and the RX time: capture time
 * in a replay (now_ns), the TSC mapped to the epoch live, as the lines' frames. No
 * mbuf, or a full ring: counted (the recovery line's journal_dropped), nothing else.
 */
void rx_reply_journal(void *context, const uint8_t *payload, uint32_t len, uint64_t now_ns);

/*
 * Adds a kernel port's line socket fd (non-blocking, bound to group_ip:udp_port),
 * shown as port_id in the reports. The frames get Ethernet, IPv4 and UDP headers
 * (source: the sender, destination: the group) so the feed path takes them as from
 * a wire, and the kernel's RX timestamp is their journal time. The kernel's drops
 * are counted on the queue and in *line_dropped. 0 or -ENOSPC.
 */
int rx_lcore_kernel_queue_add(struct rx_lcore *rx, uint16_t port_id, int fd, uint32_t group_ip,
			      uint16_t udp_port, uint64_t *line_dropped);

/*
 * Starts rx_to_publish at the NIC's RX timestamps on rx's queues of port_id: the mbuf
 * dynfield timestamp (offset, flag from rte_mbuf_dyn_rx_timestamp_register), mapped
 * to the TSC through nic0 and tsc0, the NIC clock (nic_clock_read) and the TSC
 * read together at start, and tsc_per_nic_q32, their rates' ratio measured then. The
 * RX lcore reads the NIC clock again every RX_NIC_CLOCK_REFRESH_NS, refining both.
 */
void rx_lcore_nic_clock_set(struct rx_lcore *rx, uint16_t port_id, int offset, uint64_t flag, uint64_t nic0,
			    uint64_t tsc0, uint64_t tsc_per_nic_q32);

/*
 * After the run: the kernel's drops on each line socket since its last datagram or
 * idle read, read with SO_MEMINFO and added to the counts (while it runs, the RX lcore
 * reads them every few thousand empty polls).
 */
void rx_lcore_kernel_drops_settle(struct rx_lcore *rx);

/* Gives the mbufs the kernel sockets were to receive into back to the pool (after the run). */
void rx_lcore_kernel_release(struct rx_lcore *rx);

/* The lcore entry point (rte_eal_remote_launch); arg is a struct rx_lcore. */
int rx_lcore_run(void *arg);

/* Adds a (port, queue) pair unless the lcore polls it already. 0 or -ENOSPC. */
int rx_lcore_queue_add(struct rx_lcore *rx, uint16_t port_id, uint16_t queue, uint64_t expected);

/*
 * Adds a replay port's queue 0 delivering frames of link type `link`: with counted,
 * the lcore is done with it after `expected` packets (0: done at once); without (a
 * looping replay) it never is. Every queue of an lcore is counted or none is.
 * 0, -ENOSPC, or -EEXIST when the queue is already polled.
 */
int rx_lcore_replay_queue_add(struct rx_lcore *rx, uint16_t port_id, bool counted, uint64_t expected,
			      enum packet_link link);

#endif
