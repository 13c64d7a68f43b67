/*
 * igmp_port: fhd's own IGMP on a DPDK-owned port, on the main lcore (see igmp_port.h).
 */
#include "feed/dpdk/igmp_port.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring_elem.h>

#include "feed/dpdk/fhd_log.h"
#include "feed/dpdk/rx.h"

#define IGMP_PORT_DEQUEUE 8	/* ring entries taken at once (on the stack) */

struct rte_mempool *igmp_port_pool_create(void)
{
	return rte_pktmbuf_pool_create("fh_igmp_tx", IGMP_PORT_POOL_MBUFS, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
}

int igmp_port_start(struct igmp_port *p, uint16_t port_id, const char *label, const char *iface,
		    uint32_t source_ip, const struct igmp_membership *m, struct rte_mempool *pool,
		    uint64_t now_ns, char *err, size_t err_size)
{
	struct rte_ether_addr mac;
	int rc;

	memset(p, 0, sizeof(*p));
	rc = rte_eth_macaddr_get(port_id, &mac);
	if (rc != 0) {
		snprintf(err, err_size, "%s: its MAC address, for IGMP reports: %s", label, strerror(-rc));
		return rc;
	}
	p->port_id = port_id;
	snprintf(p->label, sizeof(p->label), "%s", label);
	snprintf(p->iface, sizeof(p->iface), "%s", iface);
	memcpy(p->sender.mac, mac.addr_bytes, sizeof(p->sender.mac));
	p->sender.ip = source_ip;
	p->pool = pool;
	igmp_host_start(&p->host, m, now_ns, rte_rdtsc() ^ ((uint64_t)port_id << 32));
	igmp_log_budget_start(&p->log, now_ns);
	return 0;
}

/* One frame out on the port's TX queue 0. true when the PMD took it. */
static bool igmp_port_transmit(struct igmp_port *p, const uint8_t *frame, uint32_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(p->pool);
	uint8_t *data;

	if (m == NULL) {
		p->tx_failed++;
		return false;
	}
	data = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);
	if (data != NULL)
		memcpy(data, frame, len);
	/* Sent, the mbuf is the PMD's to free; refused, still ours. */
	if (data == NULL || rte_eth_tx_burst(p->port_id, 0, &m, 1) != 1) {
		rte_pktmbuf_free(m);
		p->tx_failed++;
		return false;
	}
	p->reports_sent++;
	return true;
}

/* "group G", with " source S, S2" for an INCLUDE list, into text. */
static void igmp_port_group_text(const struct igmp_group *g, char *text, size_t size)
{
	struct in_addr a = { .s_addr = htonl(g->group_ip) };
	char ip[INET_ADDRSTRLEN];
	size_t at;

	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	at = (size_t)snprintf(text, size, "group %s", ip);
	for (uint16_t s = 0; s < g->sources_count && !g->exclude && at < size; s++) {
		a.s_addr = htonl(g->sources[s]);
		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		at += (size_t)snprintf(text + at, size - at, "%s%s", s == 0 ? " source " : ", ", ip);
	}
}

/* The log lines of a join or leave report: one per group, as the kernel joins say them. */
static void igmp_port_membership_log(const struct igmp_port *p, bool leave, uint32_t repeat)
{
	const struct igmp_membership *m = &p->host.membership;
	char text[64 + IGMP_SOURCES_MAX * 16];

	for (uint32_t g = 0; g < m->groups_count; g++) {
		igmp_port_group_text(&m->groups[g], text, sizeof(text));
		fhd_log(LOG_INFO, "fhd: %s: %s %s on %s (IGMPv3 report %u of %u)\n", p->label,
			leave ? "left" : "joined", text, p->iface, repeat, IGMP_ROBUSTNESS);
	}
}

/* " (N IGMP line(s) before this one held back ...)" into text when held, else "". */
static void igmp_port_held_text(uint64_t held, char *text, size_t size)
{
	text[0] = '\0';
	if (held > 0)
		snprintf(text, size, " (%" PRIu64 " IGMP line(s) before this one held back: over %u, then 1 per "
			 "%llu s)", held, IGMP_LOG_BURST, IGMP_LOG_REFILL_NS / 1000000000ull);
}

/*
 * Writes and sends what s says, and logs it: joins always, answers and failures
 * within the port's log budget (igmp.h); a v2 answer to a general query in one line,
 * at its first group's frame.
 */
static void igmp_port_send(struct igmp_port *p, const struct igmp_send *s, uint64_t now_ns)
{
	const struct igmp_membership *m = &p->host.membership;
	uint8_t frame[IGMP_FRAME_MAX];
	char text[64 + IGMP_SOURCES_MAX * 16], held_text[128];
	uint64_t held = 0;
	uint32_t len;
	bool sent;

	assert(s->group < (int32_t)m->groups_count);
	if (s->v2) {
		assert(s->group >= 0);
		len = igmp_v2_message_write(frame, sizeof(frame), &p->sender, m->groups[s->group].group_ip, false);
	} else {
		len = igmp_v3_report_write(frame, sizeof(frame), &p->sender, m, s->group, s->kind);
	}
	RTE_VERIFY(len > 0);	/* IGMP_FRAME_MAX holds every group's record (igmp.h) */
	sent = igmp_port_transmit(p, frame, len);
	if (sent && !s->answer) {
		igmp_port_membership_log(p, false, IGMP_ROBUSTNESS - p->host.unsolicited_left);
		return;
	}
	if (sent)
		p->answers_sent++;
	if (sent && s->general && s->group > 0)
		return;	/* the line went with group 0's frame */
	if (!igmp_log_budget_take(&p->log, now_ns, &held))
		return;
	igmp_port_held_text(held, held_text, sizeof(held_text));
	if (!sent) {
		fhd_log(LOG_WARNING, "fhd: warning: %s: IGMP report on %s not sent (no mbuf, or the TX queue is "
			"full)%s\n", p->label, p->iface, held_text);
		return;
	}
	if (s->general) {
		fhd_log(LOG_INFO, "fhd: %s: answered a general query on %s: IGMPv%d report%s of %u group(s)%s%s\n",
			p->label, p->iface, s->v2 ? 2 : 3, s->v2 ? "s" : "", m->groups_count,
			s->v2 ? " (an IGMPv1/v2 querier is present)" : "", held_text);
		return;
	}
	igmp_port_group_text(&m->groups[s->group], text, sizeof(text));
	fhd_log(LOG_INFO, "fhd: %s: answered a query on %s: IGMPv%d report of %s%s%s\n", p->label, p->iface,
		s->v2 ? 2 : 3, text, s->v2 ? " (an IGMPv1/v2 querier is present)" : "", held_text);
}

/* One frame an RX lcore copied: decoded, counted, a query given to the host. */
static void igmp_port_frame(struct igmp_port *p, const struct rx_igmp_frame *f, uint64_t now_ns)
{
	struct igmp_query q;
	enum igmp_verdict v;

	if (f->len > RX_IGMP_FRAME_MAX || f->frame_len > f->len) {
		p->clipped++;
		return;
	}
	v = igmp_query_decode(f->bytes, f->len, &q);
	assert((unsigned)v < IGMP_VERDICTS);
	p->received[v]++;
	if (v == IGMP_QUERY)
		igmp_host_query(&p->host, &q, now_ns);
}

uint32_t igmp_port_drain(struct igmp_port *ports, uint32_t count, struct rte_ring *ring, uint64_t now_ns)
{
	struct rx_igmp_frame frames[IGMP_PORT_DEQUEUE];
	uint32_t taken = 0, n;

	do {
		n = rte_ring_sc_dequeue_burst_elem(ring, frames, sizeof(frames[0]), IGMP_PORT_DEQUEUE, NULL);
		assert(n <= IGMP_PORT_DEQUEUE);
		for (uint32_t i = 0; i < n; i++)
			for (uint32_t j = 0; j < count; j++)
				if (ports[j].port_id == frames[i].port_id)
					igmp_port_frame(&ports[j], &frames[i], now_ns);
		taken += n;
	} while (n == IGMP_PORT_DEQUEUE && taken < IGMP_PORT_DRAIN_MAX);
	return taken;
}

void igmp_port_service(struct igmp_port *p, uint64_t now_ns)
{
	struct igmp_send s;

	/* Bounded: the join repeats, one general answer (per group in v2) and one per group. */
	for (uint32_t i = 0; i < 2 * IGMP_GROUPS_MAX + 2 && igmp_host_next(&p->host, now_ns, &s); i++)
		igmp_port_send(p, &s, now_ns);
}

void igmp_port_stop(struct igmp_port *p)
{
	const struct igmp_membership *m = &p->host.membership;
	uint8_t frame[IGMP_FRAME_MAX];
	bool v2 = p->host.v2_until_ns > 0;
	uint32_t len;

	if (p->log.held > 0)
		fhd_log(LOG_INFO, "fhd: %s: %" PRIu64 " more IGMP line(s) on %s held back (over the log budget)\n",
			p->label, p->log.held, p->iface);
	if (m->groups_count == 0)
		return;
	for (uint32_t r = 1; r <= IGMP_ROBUSTNESS; r++) {
		len = igmp_v3_report_write(frame, sizeof(frame), &p->sender, m, -1, IGMP_REPORT_LEAVE);
		RTE_VERIFY(len > 0);
		if (igmp_port_transmit(p, frame, len))
			igmp_port_membership_log(p, true, r);
		/* An older querier was heard this run: it reads only IGMPv2 leaves. */
		for (uint32_t g = 0; v2 && g < m->groups_count; g++) {
			len = igmp_v2_message_write(frame, sizeof(frame), &p->sender, m->groups[g].group_ip, true);
			(void)igmp_port_transmit(p, frame, len);
		}
	}
	if (v2)
		fhd_log(LOG_INFO, "fhd: %s: IGMPv2 Leave Group sent on %s for each group too (an IGMPv1/v2 "
			"querier was heard)\n", p->label, p->iface);
}

void igmp_port_print(FILE *out, const struct igmp_port *p, uint64_t ring_taken, uint64_t ring_dropped)
{
	fprintf(out, "igmp %s on %s: reports %" PRIu64 "  answers %" PRIu64 "  tx_failed %" PRIu64
		"  queries %" PRIu64 "  queries_other_group %" PRIu64 "  older_querier %" PRIu64
		"  frames %" PRIu64 "  ring_dropped %" PRIu64 "  clipped %" PRIu64, p->label, p->iface,
		p->reports_sent, p->answers_sent, p->tx_failed, p->host.queries, p->host.queries_ignored,
		p->host.older_querier, ring_taken, ring_dropped, p->clipped);
	for (int v = 0; v < IGMP_VERDICTS; v++)
		if (v != IGMP_QUERY)
			fprintf(out, "  %s %" PRIu64, igmp_verdict_name((enum igmp_verdict)v), p->received[v]);
	fputc('\n', out);
}
