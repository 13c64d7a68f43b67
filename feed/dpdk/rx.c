/*
 * rx: the RX lcore loop (see rx.h). The loop's only unbounded part is the run loop
 * itself; each pass polls every queue once for at most RX_BURST frames
 * (rx_queues_poll, each burst handled by rx_burst_handle: both inlined, the hot path)
 * and, when nothing came, ends a stalled replay or expires the live reorder windows.
 */
#include "feed/dpdk/rx.h"

#include <assert.h>
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_ring_elem.h>

#include "book/util/clock.h"
#include "feed/dpdk/journal_lcore.h"
#include "feed/dpdk/nic_clock.h"
#include "feed/igmp.h"

/* Empty polls of a kernel socket between two reads of its drop count (SO_MEMINFO). */
#define RX_KERNEL_DROPS_POLLS 4096

/* A replay that has had nothing for this long has lost packets inside the PMD. */
#define RX_REPLAY_IDLE_NS (2ull * 1000 * 1000 * 1000)

int rx_lcore_replay_queue_add(struct rx_lcore *rx, uint16_t port_id, bool counted, uint64_t expected,
			      enum packet_link link)
{
	struct rx_queue *q;

	assert(counted || expected == 0);
	assert((unsigned)link < PACKET_LINKS);
	/* All or none: the lcore ends when every counted queue is done. */
	assert(rx->queues_count == 0 || (rx->queues_counted > 0) == counted);
	for (uint32_t i = 0; i < rx->queues_count; i++)
		if (rx->queues[i].port_id == port_id && rx->queues[i].queue == 0)
			return -EEXIST;
	if (rx->queues_count >= RX_QUEUES_MAX)
		return -ENOSPC;
	q = &rx->queues[rx->queues_count++];
	memset(q, 0, sizeof(*q));
	q->port_id = port_id;
	q->fd = -1;
	q->link = (uint8_t)link;
	q->counted = counted;
	q->expected = expected;
	q->done = counted && expected == 0;	/* an empty capture: nothing will come */
	rx->queues_counted += counted;
	assert(rx->queues_counted <= rx->queues_count && rx->queues_count <= RX_QUEUES_MAX);
	return 0;
}

int rx_lcore_queue_add(struct rx_lcore *rx, uint16_t port_id, uint16_t queue, uint64_t expected)
{
	for (uint32_t i = 0; i < rx->queues_count; i++)
		if (rx->queues[i].port_id == port_id && rx->queues[i].queue == queue)
			return 0;
	if (rx->queues_count >= RX_QUEUES_MAX)
		return -ENOSPC;
	rx->queues[rx->queues_count].port_id = port_id;
	rx->queues[rx->queues_count].queue = queue;
	rx->queues[rx->queues_count].expected = expected;
	rx->queues[rx->queues_count].fd = -1;
	rx->queues_count++;
	assert(rx->queues_count <= RX_QUEUES_MAX);
	return 0;
}

int rx_lcore_kernel_queue_add(struct rx_lcore *rx, uint16_t port_id, int fd, uint32_t group_ip,
			      uint16_t udp_port, uint64_t *line_dropped)
{
	struct rx_queue *q;

	assert(fd >= 0 && rx->queues_counted == 0);
	if (rx->queues_count >= RX_QUEUES_MAX)
		return -ENOSPC;
	q = &rx->queues[rx->queues_count++];
	memset(q, 0, sizeof(*q));
	q->port_id = port_id;
	q->fd = fd;
	q->group_ip = group_ip;
	q->udp_port = udp_port;
	q->line_dropped = line_dropped;
	return 0;
}

void rx_lcore_nic_clock_set(struct rx_lcore *rx, uint16_t port_id, int offset, uint64_t flag, uint64_t nic0,
			    uint64_t tsc0, uint64_t tsc_per_nic_q32)
{
	assert(!rx->replay && tsc_per_nic_q32 != 0 && flag != 0);
	rx->timestamp_offset = offset;
	rx->timestamp_flag = flag;
	for (uint32_t i = 0; i < rx->queues_count; i++) {
		struct rx_queue *q = &rx->queues[i];

		if (q->port_id != port_id || q->fd >= 0)
			continue;
		q->tsc_per_nic_q32 = tsc_per_nic_q32;
		q->nic_first = q->nic_ref = nic0;
		q->tsc_first = q->tsc_ref = tsc0;
	}
}

void rx_lcore_kernel_release(struct rx_lcore *rx)
{
	assert(rx->kernel_mbufs_count <= RX_BURST);
	for (uint16_t i = 0; i < rx->kernel_mbufs_count; i++)
		rte_pktmbuf_free(rx->kernel_mbufs[i]);
	rx->kernel_mbufs_count = 0;
}

/*
 * The socket's drop count so far (total, its sk_drops modulo 2^32, from SO_RXQ_OVFL or
 * SO_MEMINFO): what it gained since the last one seen is added to q's and its line's
 * counts, which the main lcore reads for its reports.
 */
static void rx_kernel_drops_total(struct rx_queue *q, uint32_t total)
{
	uint32_t lost = total - q->ovfl_last;

	if (lost != 0) {
		__atomic_store_n(&q->kernel_dropped, q->kernel_dropped + lost, __ATOMIC_RELAXED);
		__atomic_store_n(q->line_dropped, *q->line_dropped + lost, __ATOMIC_RELAXED);
	}
	q->ovfl_last = total;
}

/*
 * q's socket drop count (sk_drops, the count SO_RXQ_OVFL carries, modulo 2^32) read
 * with SO_MEMINFO, and what it gained since the last datagram or read added to the
 * counts: SO_RXQ_OVFL comes only with a datagram, so drops after the last one would
 * otherwise stay unreported until the next. Its single writer: the RX lcore (and
 * rx_lcore_kernel_drops_settle once it has stopped).
 */
static void rx_kernel_drops_read(struct rx_queue *q)
{
	uint32_t meminfo[SK_MEMINFO_VARS];
	socklen_t len = sizeof(meminfo);

	if (getsockopt(q->fd, SOL_SOCKET, SO_MEMINFO, meminfo, &len) == 0 &&
	    len > SK_MEMINFO_DROPS * sizeof(uint32_t))
		rx_kernel_drops_total(q, meminfo[SK_MEMINFO_DROPS]);
}

void rx_lcore_kernel_drops_settle(struct rx_lcore *rx)
{
	for (uint32_t i = 0; i < rx->queues_count; i++)
		if (rx->queues[i].fd >= 0)
			rx_kernel_drops_read(&rx->queues[i]);
}

static void rx_mbuf_free(void *packet)
{
	rte_pktmbuf_free(packet);
}

/*
 * Hands a burst's references to the journal lcore. What the ring cannot take is
 * counted on its line and given back at once: the journal never holds RX up.
 */
static void rx_journal_hand_over(struct rx_lcore *rx, struct journal_entry *entries,
				 const struct feed_route **routes, uint32_t n)
{
	uint32_t taken = rte_ring_sp_enqueue_burst_elem(rx->journal, entries, sizeof(entries[0]),
							 n, NULL);

	assert(n <= RX_BURST && taken <= n);
	for (uint32_t i = taken; i < n; i++) {
		if (routes[i] != NULL)
			routes[i]->feed->lines[routes[i]->line].journal_dropped++;
		else
			rx->set.unrouted_journal_dropped++;
		rte_pktmbuf_free(entries[i].mbuf);
	}
}

void rx_reply_journal(void *context, const uint8_t *payload, uint32_t len, uint64_t now_ns)
{
	const struct rx_reply_journal *rj = context;
	struct rx_lcore *rx = rj->rx;
	const struct cfg_recovery *server = &rj->feed->cfg->recovery;
	const struct feed_recovery *r = rj->feed->recovery;
	uint64_t *dropped = &rj->feed->lines[ARBITER_LINE_RECOVERY].journal_dropped;
	struct journal_entry entry = { .interface = rj->interface };
	struct rte_mbuf *m = rte_pktmbuf_alloc(rx->pool);
	uint8_t *data, *frame;

	/* The payload after the headroom, the headers in it: any pool's mbuf holds the frame whole. */
	_Static_assert(RECOVERY_PAYLOAD_MAX <= RTE_MBUF_DEFAULT_DATAROOM, "a reply fits a default mbuf's room");
	_Static_assert(PACKET_UDP_HEADERS_LEN <= RTE_PKTMBUF_HEADROOM, "its headers fit the headroom");
	assert(len <= RECOVERY_PAYLOAD_MAX && rx->journal != NULL && r != NULL);
	if (unlikely(m == NULL)) {
		(*dropped)++;
		return;
	}
	data = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);
	frame = (uint8_t *)rte_pktmbuf_prepend(m, PACKET_UDP_HEADERS_LEN);
	RTE_VERIFY(data != NULL && frame != NULL && frame + PACKET_UDP_HEADERS_LEN == data);
	memcpy(data, payload, len);
	packet_udp_headers_write(frame, server->server_ip, server->server_port, r->local_ip, r->local_port, len);
	entry.mbuf = m;
	entry.rx_ns = (rx->replay ? now_ns : clock_tsc_to_ns(rte_rdtsc(), rx->ns_per_tick_q32)) +
		      (uint64_t)rx->journal_epoch_ns;
	if (rte_ring_sp_enqueue_elem(rx->journal, &entry, sizeof(entry)) != 0) {
		(*dropped)++;
		rte_pktmbuf_free(m);
	}
}

/*
 * A replay queue is done when the PMD has delivered or dropped every capture packet.
 * net_pcap drops one it has read on no mbuf (rx_nombuf) or when the mbufs to chain a
 * large frame run out (ierrors); its ierrors also counts the damaged record it stops
 * at, but only once every counted packet before it was read, so the sum still says
 * whether all of them are accounted for.
 */
static bool rx_queue_replay_done(struct rx_queue *q)
{
	struct rte_eth_stats stats;

	if (q->packets >= q->expected)
		return true;
	if (rte_eth_stats_get(q->port_id, &stats) == 0 &&
	    q->packets + stats.rx_nombuf + stats.ierrors >= q->expected)
		return true;
	return false;
}

/*
 * A look at the packet pool, every RX_POOL_CHECK_POLLS queue polls (off the per-packet
 * path): what this lcore can still take is the pool's common store and its own cache
 * (the other lcores' caches are not its to take). net_af_packet and net_pcap end a
 * burst without counting rx_nombuf when an allocation fails, so a pool that runs out
 * would otherwise show nowhere. Fewer free than one burst counts once on q, the queue
 * polled, each time the pool goes low.
 */
static __rte_noinline void rx_pool_check(struct rx_lcore *rx, struct rx_queue *q)
{
	struct rte_mempool_cache *cache = rte_mempool_default_cache(rx->pool, rte_lcore_id());
	/* rte_mempool_ops_get_count, which DPDK does not export: the common store alone. */
	unsigned int free = rte_mempool_get_ops(rx->pool->ops_index)->get_count(rx->pool) +
			    (cache != NULL ? cache->len : 0);
	bool low = free < RX_BURST;

	rx->pool_check_in = RX_POOL_CHECK_POLLS;
	if (low && !rx->pool_low)	/* read by the main lcore for its reports */
		__atomic_store_n(&q->pool_low, q->pool_low + 1, __ATOMIC_RELAXED);
	rx->pool_low = low;
}

/*
 * Rewrites a burst of another link type into Ethernet frames (see packet.h), in the
 * mbufs: the parser and the journal then see Ethernet. A frame shorter than its link
 * header is counted as truncated and freed. Returns the frames left, compacted.
 */
static uint16_t rx_burst_to_ethernet(struct rx_lcore *rx, enum packet_link link,
				     struct rte_mbuf **burst, uint16_t n)
{
	uint16_t kept = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = burst[i];
		int32_t shift;

		/* Our pool's mbufs keep RTE_PKTMBUF_HEADROOM free before the frame. */
		RTE_VERIFY(rte_pktmbuf_headroom(m) >= PACKET_LINK_HEADROOM);
		if (packet_link_to_ethernet(link, rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_data_len(m),
					    &shift) != 0) {
			rx->set.unrouted[PACKET_TRUNCATED]++;
			rte_pktmbuf_free(m);
			continue;
		}
		if (shift < 0)
			rte_pktmbuf_prepend(m, (uint16_t)-shift);
		else
			rte_pktmbuf_adj(m, (uint16_t)shift);
		burst[kept++] = m;
	}
	assert(kept <= n);
	return kept;
}

/*
 * An IGMP frame off q (see rx.h): copied onto the lcore's igmp ring for the main
 * lcore, or counted dropped when the ring is full. Out of line: frames that are not
 * UDP are rare on a feed port, and a flood of them costs a copy each, bounded by the
 * ring.
 */
static __rte_noinline void rx_igmp_hand_over(struct rx_lcore *rx, struct rx_queue *q, const struct rte_mbuf *m)
{
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t len = rte_pktmbuf_data_len(m);
	struct rx_igmp_frame copy;

	if (!igmp_frame_is_igmp(frame, len))
		return;
	copy.port_id = q->port_id;
	copy.frame_len = len;
	copy.len = (uint16_t)(len < RX_IGMP_FRAME_MAX ? len : RX_IGMP_FRAME_MAX);
	memcpy(copy.bytes, frame, copy.len);
	/* Read by the main lcore for its reports. */
	if (rte_ring_sp_enqueue_elem(rx->igmp, &copy, sizeof(copy)) != 0)
		__atomic_store_n(&q->igmp_dropped, q->igmp_dropped + 1, __ATOMIC_RELAXED);
	else
		__atomic_store_n(&q->igmp_taken, q->igmp_taken + 1, __ATOMIC_RELAXED);
}

/*
 * The per-burst scratch of an RX lcore, on its stack: frames, journal entries, routes,
 * and what recvmmsg fills for a kernel socket (addresses, control messages, stamps).
 */
struct rx_burst {
	struct rte_mbuf *mbufs[RX_BURST];
	struct journal_entry journal[RX_BURST];
	const struct feed_route *routes[RX_BURST];
	uint64_t stamps[RX_BURST];	/* a kernel socket's RX time, ns since the epoch (0: none) */
	uint64_t stamp_tscs[RX_BURST];	/* the same on the TSC: where each frame's rx_to_publish starts */
	struct mmsghdr msgs[RX_BURST];
	struct iovec iov[RX_BURST];
	struct sockaddr_in from[RX_BURST];
	/* SCM_TIMESTAMPING (three timespecs) and SO_RXQ_OVFL (a u32), with room to spare. */
	uint8_t control[RX_BURST][CMSG_SPACE(3 * sizeof(struct timespec)) + CMSG_SPACE(sizeof(uint32_t)) + 64]
		__attribute__((aligned(8)));
};

/*
 * A datagram's control messages: the software RX stamp into *stamp, the socket's
 * drop counter into q's kernel_dropped (the counter is the socket's total so far).
 */
static inline void rx_kernel_control(struct rx_queue *q, struct msghdr *h, uint64_t *stamp)
{
	*stamp = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SO_TIMESTAMPING && c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
			struct timespec ts;	/* [0] software, [2] hardware */

			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			*stamp = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
		} else if (c->cmsg_type == SO_RXQ_OVFL && c->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
			uint32_t total;

			memcpy(&total, CMSG_DATA(c), sizeof(total));
			rx_kernel_drops_total(q, total);
		}
	}
}

/*
 * The kernel's RX stamps of a burst (CLOCK_REALTIME) on the TSC, into b->stamp_tscs:
 * each stamp's age against a CLOCK_REALTIME read now, taken back from a TSC read now.
 * The pair is read per burst, so a step of the wall clock shifts at most the bursts
 * that straddle it. A stamp in the future, older than RX_STAMP_AGE_MAX_NS, or absent
 * counts on q (stamps_rejected) and starts at now: a latency of 0, never a huge or
 * negative one.
 */
static inline void rx_kernel_stamps_to_tsc(struct rx_lcore *rx, struct rx_queue *q, struct rx_burst *b,
					   uint16_t n)
{
	uint64_t now_tsc = rte_rdtsc(), now_ns = clock_realtime_ns();

	for (uint16_t i = 0; i < n; i++) {
		uint64_t age_ns = now_ns - b->stamps[i];

		if (unlikely(b->stamps[i] == 0 || b->stamps[i] > now_ns || age_ns > RX_STAMP_AGE_MAX_NS)) {
			q->stamps_rejected++;
			b->stamp_tscs[i] = now_tsc;
			continue;
		}
		b->stamp_tscs[i] = now_tsc - (uint64_t)(((__uint128_t)age_ns * rx->tsc_per_ns_q32) >> 32);
	}
}

/*
 * The NIC clock and the TSC read together again (off the per-packet path, once every
 * RX_NIC_CLOCK_REFRESH_NS): the pair stamps are mapped from, and the rates' ratio
 * over the whole span since start. A failed read keeps the last pair.
 */
static __rte_noinline void rx_nic_clock_refresh(struct rx_queue *q)
{
	uint64_t nic, tsc;

	if (nic_clock_read(q->port_id, &nic) != 0)
		return;
	tsc = rte_rdtsc();
	if (nic <= q->nic_first || tsc <= q->tsc_first)
		return;
	q->nic_ref = nic;
	q->tsc_ref = tsc;
	q->tsc_per_nic_q32 = (uint64_t)(((__uint128_t)(tsc - q->tsc_first) << 32) / (nic - q->nic_first));
}

/*
 * A DPDK burst's NIC RX stamps on the TSC, into b->stamp_tscs: each stamp's distance
 * from the last NIC clock reading, scaled to TSC ticks, from the TSC read with it. A
 * frame without a stamp, or one older than RX_STAMP_AGE_MAX_NS, counts on q
 * (stamps_rejected) and starts at rx_tsc; one mapped after rx_tsc (the readings'
 * jitter) starts at rx_tsc.
 */
static inline void rx_nic_stamps_to_tsc(struct rx_lcore *rx, struct rx_queue *q, struct rx_burst *b,
					uint16_t n, uint64_t rx_tsc)
{
	uint64_t age_max = (uint64_t)(((__uint128_t)RX_STAMP_AGE_MAX_NS * rx->tsc_per_ns_q32) >> 32);

	if (unlikely(rx_tsc - q->tsc_ref > (uint64_t)(((__uint128_t)RX_NIC_CLOCK_REFRESH_NS *
							  rx->tsc_per_ns_q32) >> 32)))
		rx_nic_clock_refresh(q);
	for (uint16_t i = 0; i < n; i++) {
		const struct rte_mbuf *m = b->mbufs[i];
		int64_t ticks, tsc;

		if (unlikely((m->ol_flags & rx->timestamp_flag) == 0)) {
			q->stamps_rejected++;
			b->stamp_tscs[i] = rx_tsc;
			continue;
		}
		ticks = (int64_t)(*RTE_MBUF_DYNFIELD(m, rx->timestamp_offset, const uint64_t *) - q->nic_ref);
		tsc = (int64_t)q->tsc_ref + (int64_t)(((__int128)ticks * (__int128)q->tsc_per_nic_q32) >> 32);
		if (unlikely((uint64_t)tsc + age_max < rx_tsc)) {
			q->stamps_rejected++;
			tsc = (int64_t)rx_tsc;
		}
		b->stamp_tscs[i] = (uint64_t)tsc < rx_tsc ? (uint64_t)tsc : rx_tsc;
	}
}

/*
 * Up to RX_BURST datagrams off a kernel socket, without blocking, each into one of the
 * lcore's kept mbufs after room for the headers, which are then written in front:
 * the frame a wire would have carried. The kept mbufs are topped up from the pool
 * first (a mempool get, no allocation). Returns the frames in b->mbufs, stamps in
 * b->stamps and, on the TSC, in b->stamp_tscs.
 */
static inline uint16_t rx_kernel_receive(struct rx_lcore *rx, struct rx_queue *q, struct rx_burst *b)
{
	uint16_t have = rx->kernel_mbufs_count, kept = 0;
	int n;

	if (have < RX_BURST && rte_pktmbuf_alloc_bulk(rx->pool, rx->kernel_mbufs + have, RX_BURST - have) == 0)
		have = RX_BURST;
	rx->kernel_mbufs_count = have;
	if (unlikely(have == 0))
		return 0;
	for (uint16_t i = 0; i < have; i++) {
		struct rte_mbuf *m = rx->kernel_mbufs[i];
		struct msghdr *h = &b->msgs[i].msg_hdr;

		b->iov[i].iov_base = rte_pktmbuf_mtod_offset(m, uint8_t *, PACKET_UDP_HEADERS_LEN);
		b->iov[i].iov_len = rte_pktmbuf_tailroom(m) - PACKET_UDP_HEADERS_LEN;
		h->msg_name = &b->from[i];
		h->msg_namelen = sizeof(b->from[i]);
		h->msg_iov = &b->iov[i];
		h->msg_iovlen = 1;
		h->msg_control = b->control[i];
		h->msg_controllen = sizeof(b->control[i]);
		h->msg_flags = 0;
	}
	n = recvmmsg(q->fd, b->msgs, have, MSG_DONTWAIT, NULL);
	if (n <= 0) {
		/* Idle: every RX_KERNEL_DROPS_POLLS empty polls (a few ms), the drops since
		 * the last datagram, which no datagram has brought yet. */
		if (unlikely(++q->idle_polls % RX_KERNEL_DROPS_POLLS == 0))
			rx_kernel_drops_read(q);
		return 0;
	}
	assert(n <= have);
	for (int i = 0; i < n; i++) {
		struct rte_mbuf *m = rx->kernel_mbufs[i];
		struct msghdr *h = &b->msgs[i].msg_hdr;
		uint32_t len = b->msgs[i].msg_len;

		rx_kernel_control(q, h, &b->stamps[kept]);
		if (unlikely((h->msg_flags & MSG_TRUNC) != 0)) {
			q->truncated++;
			rte_pktmbuf_free(m);
			continue;
		}
		packet_udp_headers_write(rte_pktmbuf_mtod(m, uint8_t *), ntohl(b->from[i].sin_addr.s_addr),
					 ntohs(b->from[i].sin_port), q->group_ip, q->udp_port, len);
		RTE_VERIFY(rte_pktmbuf_append(m, (uint16_t)(PACKET_UDP_HEADERS_LEN + len)) != NULL);
		b->mbufs[kept++] = m;
	}
	/* The ones not filled stay for the next poll, at the front. */
	memmove(rx->kernel_mbufs, rx->kernel_mbufs + n, (size_t)(have - n) * sizeof(rx->kernel_mbufs[0]));
	rx->kernel_mbufs_count = (uint16_t)(have - n);
	rx_kernel_stamps_to_tsc(rx, q, b, kept);
	return kept;
}

/*
 * One burst of n frames (1..RX_BURST) taken off q at rx_tsc (the TSC read as
 * rte_eth_rx_burst returned: every frame's RX stamp, where rx_to_publish starts, so
 * the time a frame waits behind the rest of its burst is in it; a kernel socket's
 * frames, and those of a port with NIC RX stamps, start earlier, at those stamps,
 * b->stamp_tscs): rewritten into
 * Ethernet if q's link is not, timed for the windows (rx_tsc live, the capture's own
 * time in a replay, advancing *now_ns), handed to the feed set one by one, then to
 * the journal. A frame chained across mbufs is counted as segmented and freed.
 * Inlined: the RX hot path.
 */
static inline void rx_burst_handle(struct rx_lcore *rx, struct rx_queue *q, struct rx_burst *b,
				   uint16_t n, uint64_t rx_tsc, uint64_t *now_ns, uint64_t ns_per_tick_q32)
{
	struct rte_mbuf **burst = b->mbufs;
	uint32_t journaled = 0;

	/* b->stamp_tscs are by burst index: a port rewritten (replays only) has none. */
	assert(q->link == PACKET_LINK_ETHERNET || (q->fd < 0 && q->tsc_per_nic_q32 == 0));
	if (unlikely(q->link != PACKET_LINK_ETHERNET))
		n = rx_burst_to_ethernet(rx, (enum packet_link)q->link, burst, n);
	/* A looping replay has no capture time (infinite_rx): its windows run on the TSC. */
	if (!rx->replay || rx->queues_counted == 0)
		*now_ns = clock_tsc_to_ns(rx_tsc, ns_per_tick_q32);
	/* The pipeline: every frame's headers and messages found before any is applied. */
	_Static_assert(RX_BURST <= FEED_BURST_MAX, "a burst fits the feed set's scan");
	for (uint16_t i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(burst[i + 1], void *));
		feed_set_burst_scan(&rx->set, i, rte_pktmbuf_mtod(burst[i], const uint8_t *),
				    rte_pktmbuf_data_len(burst[i]));
	}
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = burst[i];
		uint64_t rx_ns = *now_ns + rx->journal_epoch_ns;

		if (q->fd >= 0 && b->stamps[i] != 0)
			rx_ns = b->stamps[i];	/* the kernel's RX time, already since the epoch */

		/* Capture time, never going backwards even where the capture does. */
		if (rx->replay && (m->ol_flags & rx->timestamp_flag)) {
			uint64_t t = *RTE_MBUF_DYNFIELD(m, rx->timestamp_offset, uint64_t *) *
				     rx->timestamp_to_ns;

			*now_ns = t > *now_ns ? t : *now_ns;
			rx_ns = t;	/* the journal keeps each frame's own time */
		}
		if (m->nb_segs != 1) {
			/*
			 * Larger than one mbuf's data room: the PMD chained it whole
			 * (nothing is cut), but the parser wants one contiguous frame.
			 * fhd sizes replay mbufs for the largest capture frame, so this
			 * is a frame beyond any mbuf, or a live PMD that scatters.
			 */
			rx->segmented++;
			rte_pktmbuf_free(m);
			continue;
		}
		if (unlikely(rx->set.scans[i].verdict == PACKET_NOT_UDP) && q->igmp)
			rx_igmp_hand_over(rx, q, m);
		/* The journal's own reference, taken before the feed may free the mbuf. */
		if (rx->journal != NULL)
			rte_mbuf_refcnt_update(m, 1);
		b->routes[journaled] = feed_set_burst_packet(&rx->set, i, m, *now_ns,
							     q->fd >= 0 || q->tsc_per_nic_q32 != 0 ?
							     b->stamp_tscs[i] : rx_tsc, rx_mbuf_free);
		if (rx->journal == NULL)
			continue;
		b->journal[journaled].mbuf = m;
		b->journal[journaled].rx_ns = rx_ns;
		b->journal[journaled].interface = b->routes[journaled] != NULL ?
			b->routes[journaled]->journal_interface : rx->journal_unrouted;
		journaled++;
	}
	assert(journaled <= n);
	feed_set_burst_end(&rx->set);
	if (journaled > 0)
		rx_journal_hand_over(rx, b->journal, b->routes, journaled);
}

/*
 * Polls every queue not done once, for at most RX_BURST frames each, and handles
 * what came. A counted queue is done once its packets are all in (or, polled empty
 * now and then, accounted for by the PMD): *done counts those. Returns the frames
 * received.
 */
static inline uint32_t rx_queues_poll(struct rx_lcore *rx, struct rx_burst *b, uint32_t *done,
				      uint64_t *now_ns, uint64_t ns_per_tick_q32)
{
	uint32_t received = 0;

	for (uint32_t qi = 0; qi < rx->queues_count; qi++) {
		struct rx_queue *q = &rx->queues[qi];
		uint64_t rx_tsc;
		uint16_t n;

		if (q->done)
			continue;
		if (q->fd >= 0)
			n = rx_kernel_receive(rx, q, b);
		else
			n = rte_eth_rx_burst(q->port_id, q->queue, b->mbufs, RX_BURST);
		rx_tsc = rte_rdtsc();	/* the burst's RX stamp, before anything else is done */
		assert(n <= RX_BURST);
		if (unlikely(--rx->pool_check_in == 0))
			rx_pool_check(rx, q);
		if (n == 0) {
			if (q->counted && (rx->idle_polls & 1023) == 0 && rx_queue_replay_done(q)) {
				q->done = true;
				(*done)++;
			}
			continue;
		}
		received += n;
		q->packets += n;
		if (q->tsc_per_nic_q32 != 0)
			rx_nic_stamps_to_tsc(rx, q, b, n, rx_tsc);
		rx_burst_handle(rx, q, b, n, rx_tsc, now_ns, ns_per_tick_q32);
		if (q->counted && q->packets >= q->expected) {
			q->done = true;
			(*done)++;
		}
	}
	return received;
}

int rx_lcore_run(void *arg)
{
	struct rx_lcore *rx = arg;
	uint64_t ns_per_tick_q32 = clock_tsc_q32(rte_get_tsc_hz()), last_rx_tsc = rte_rdtsc(), now_ns = 0;
	struct rx_burst burst;
	uint32_t done = 0;

	rx->ns_per_tick_q32 = ns_per_tick_q32;
	rx->tsc_per_ns_q32 = (uint64_t)(((__uint128_t)rte_get_tsc_hz() << 32) / 1000000000u);
	assert(rx->queues_count <= RX_QUEUES_MAX && rx->pool != NULL);
	rx->pool_check_in = RX_POOL_CHECK_POLLS;
	for (uint32_t qi = 0; qi < rx->queues_count; qi++)
		done += rx->queues[qi].done;	/* empty captures are done before they start */
	while (!*rx->quit) {
		/* Progress the main lcore's watchdog sees (service_notify.h); a plain store, no RMW. */
		__atomic_store_n(&rx->loops, rx->loops + 1, __ATOMIC_RELAXED);
		assert(done <= rx->queues_count);
		if (rx->queues_counted > 0 && done == rx->queues_count) {
			/* The captures are read: what is still missing can only come from recovery. */
			if (rx->set.recovery_feeds == 0 || !feed_set_recover_rest(&rx->set, now_ns))
				break;
			feed_set_recovery_service(&rx->set, now_ns);
			continue;
		}
		feed_set_service(&rx->set);	/* the main lcore may be waiting for histograms */
		if (rx->set.recovery_feeds > 0) {
			feed_set_recovery_service(&rx->set, now_ns);
			/*
			 * A capture can wait for recovery, a wire cannot: a replay reads on
			 * after it. A looping replay (a benchmark) runs on like a wire.
			 */
			if (rx->queues_counted > 0 && feed_set_recovering(&rx->set)) {
				last_rx_tsc = rte_rdtsc();
				continue;
			}
		}
		if (rx_queues_poll(rx, &burst, &done, &now_ns, ns_per_tick_q32) > 0) {
			rx->bursts++;
			last_rx_tsc = rte_rdtsc();
			if (rx->first_rx_tsc == 0)
				rx->first_rx_tsc = last_rx_tsc;
			rx->last_rx_tsc = last_rx_tsc;
			continue;
		}
		/* Idle: a replay that has had nothing for too long is over; live, the reorder windows expire. */
		rx->idle_polls++;
		if (rx->queues_counted > 0) {
			if (clock_tsc_to_ns(rte_rdtsc() - last_rx_tsc, ns_per_tick_q32) > RX_REPLAY_IDLE_NS) {
				rx->stalled = true;
				break;
			}
		} else if ((rx->idle_polls & 255) == 0) {
			feed_set_expire(&rx->set, clock_tsc_to_ns(rte_rdtsc(), ns_per_tick_q32));
		}
	}
	/* The captures are over (or we were told to stop): nothing will fill the holes. */
	feed_set_flush(&rx->set, now_ns);
	rx->finished = true;
	return 0;
}
