/*
 * metrics_http: fhd's HTTP /metrics for Prometheus to scrape (stats.http). A small
 * libmicrohttpd server with no thread of its own: the main (control) lcore polls it
 * between stats ticks, never an RX lcore, and it serves the exposition stats_tick last
 * rendered, the same text as stats.prometheus_file. Only fhd links libmicrohttpd.
 */
#ifndef FH_FEED_DPDK_METRICS_HTTP_H
#define FH_FEED_DPDK_METRICS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "feed/stats.h"

#define METRICS_HTTP_CONNECTIONS_MAX 4		/* scrapers at once; more wait in the backlog */
#define METRICS_HTTP_TIMEOUT_S 5		/* an idle or slow connection is closed after this */

struct metrics_http;

/*
 * Listens on ip:port (host order) now, so that a port in use fails before DPDK starts;
 * serves stats_metrics_text(s) once s is open (503 until its first tick). Returns the
 * server, or NULL with the reason in err.
 */
struct metrics_http *metrics_http_start(uint32_t ip, uint16_t port, const struct stats *s, char *err,
					size_t err_size);

/* Does what the connections want now, without waiting: call it from the control loop. */
void metrics_http_poll(struct metrics_http *h);

/* Closes the connections and the socket; h may be NULL. */
void metrics_http_stop(struct metrics_http *h);

#endif
