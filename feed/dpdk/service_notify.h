/*
 * service_notify: what fhd tells a service manager (systemd, Type=notify) through
 * sd_notify: READY=1 once ports, lcores and segments are up, STATUS= lines, WATCHDOG=1
 * pings from the control loop, and STOPPING=1 at stop. Without NOTIFY_SOCKET in the
 * environment (fhd run by hand) every call does nothing.
 */
#ifndef FH_FEED_DPDK_SERVICE_NOTIFY_H
#define FH_FEED_DPDK_SERVICE_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

struct service_watchdog {
	uint64_t interval_ns;	/* between pings: half of WATCHDOG_USEC; 0: no watchdog */
	uint64_t next_ns;	/* CLOCK_MONOTONIC time of the next ping */
};

/*
 * Reads WATCHDOG_USEC (sd_watchdog_enabled, which also checks WATCHDOG_PID) into w,
 * the first ping due at now_ns. Returns true when the manager expects pings.
 */
bool service_watchdog_start(struct service_watchdog *w, uint64_t now_ns);

/* Pings when one is due at now_ns; the control loop calls it each turn. */
void service_watchdog_tick(struct service_watchdog *w, uint64_t now_ns);

/* READY=1 with STATUS=status (one line). */
void service_notify_ready(const char *status);

/* STOPPING=1 with STATUS=status (one line). */
void service_notify_stopping(const char *status);

#endif
