/*
 * igmp_port: fhd's own IGMP on a port DPDK owns (ports[].igmp: fhd), where no kernel
 * joins the lines' groups. Everything here runs on the main (control) lcore: at
 * start, unsolicited IGMPv3 join reports; each control-loop pass, the IGMP frames the
 * RX lcores copied onto their igmp rings (rx.h) decoded and counted, and the answers
 * to queries sent when due (feed/igmp.h has the protocol and its timers); at stop,
 * the leaves. Frames go out on the port's own TX queue 0, which nothing else uses,
 * in mbufs of a small pool of their own. Every report sent is logged with the port
 * and its interface.
 */
#ifndef FH_FEED_DPDK_IGMP_PORT_H
#define FH_FEED_DPDK_IGMP_PORT_H

#include <stdint.h>
#include <stdio.h>

#include "feed/igmp.h"

struct rte_mempool;
struct rte_ring;

#define IGMP_PORT_LABEL_MAX 320
#define IGMP_PORT_POOL_MBUFS 127	/* the TX pool: reports in flight on every port at once */
#define IGMP_PORT_DRAIN_MAX 64		/* ring entries one pass takes, per ring: a flood cannot hold the loop */

struct igmp_port {
	uint16_t port_id;
	char label[IGMP_PORT_LABEL_MAX];	/* "port NAME", for the log */
	char iface[IGMP_PORT_LABEL_MAX];	/* the interface (iface=) or the device */
	struct igmp_sender sender;
	struct igmp_host host;
	struct igmp_log_budget log;	/* the answers' log lines (igmp.h) */
	struct rte_mempool *pool;
	uint64_t reports_sent;		/* frames sent: joins, answers and leaves */
	uint64_t answers_sent;		/* of those, answers to queries */
	uint64_t tx_failed;		/* frames not sent: no mbuf, or the TX queue refused it */
	uint64_t received[IGMP_VERDICTS];	/* IGMP frames from the RX lcores, by verdict */
	uint64_t clipped;		/* frames longer than RX_IGMP_FRAME_MAX: not decoded */
};

/*
 * Makes the TX pool for every port's reports (IGMP_PORT_POOL_MBUFS mbufs); NULL with
 * rte_errno set.
 */
struct rte_mempool *igmp_port_pool_create(void);

/*
 * Sets up p for port_id with the membership m and the reports' IPv4 source
 * source_ip; the first join report goes out at the first igmp_port_service. label
 * and iface name it in the log. 0, or -errno (the port's MAC) with err set.
 */
int igmp_port_start(struct igmp_port *p, uint16_t port_id, const char *label, const char *iface,
		    uint32_t source_ip, const struct igmp_membership *m, struct rte_mempool *pool,
		    uint64_t now_ns, char *err, size_t err_size);

/*
 * Takes up to IGMP_PORT_DRAIN_MAX frames off ring (an RX lcore's igmp ring), each to
 * its port among ports[0..count) (frames of another port are counted nowhere: none
 * come), decoded and counted, queries given to the port's host. Returns the frames.
 */
uint32_t igmp_port_drain(struct igmp_port *ports, uint32_t count, struct rte_ring *ring, uint64_t now_ns);

/* Sends what is due at now_ns: join repeats and answers (each bounded, see igmp.h). */
void igmp_port_service(struct igmp_port *p, uint64_t now_ns);

/* At stop: the leave reports (IGMP_ROBUSTNESS of them), before the port closes. */
void igmp_port_stop(struct igmp_port *p);

/* The exit report's line for the port: reports, answers, queries, what was refused. */
void igmp_port_print(FILE *out, const struct igmp_port *p, uint64_t ring_taken, uint64_t ring_dropped);

#endif
