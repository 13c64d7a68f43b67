/*
 * service_notify: what fhd tells a service manager (systemd, Type=notify) through
 * sd_notify: READY=1 once ports, lcores and segments are up, STATUS= lines, WATCHDOG=1
 * pings from the control loop while every RX lcore makes progress, and STOPPING=1 at
 * stop. Without NOTIFY_SOCKET in the
 * environment (fhd run by hand) every call does nothing.
 */
#ifndef FH_FEED_DPDK_SERVICE_NOTIFY_H
#define FH_FEED_DPDK_SERVICE_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

struct service_watchdog {
	uint64_t interval_ns;	/* between pings: half of WATCHDOG_USEC; 0: no watchdog */
	uint64_t next_ns;	/* CLOCK_MONOTONIC time of the next ping */
	bool held;		/* a ping was due and not sent: a worker made no progress */
};

/*
 * Reads WATCHDOG_USEC (sd_watchdog_enabled, which also checks WATCHDOG_PID) into w,
 * the first ping due at now_ns. Returns true when the manager expects pings.
 */
bool service_watchdog_start(struct service_watchdog *w, uint64_t now_ns);

/* Whether a ping is due at now_ns (never without a watchdog); the control loop asks each turn. */
bool service_watchdog_due(const struct service_watchdog *w, uint64_t now_ns);

/*
 * The due ping: sent when progressing (every worker moved since the last ping), else
 * held, and asked again next turn, so a wedged worker lets the manager's timeout run
 * out and it restarts fhd. Returns what changed: 1 the first ping held, -1 the first
 * sent after holding, 0 otherwise (for the caller's one log line each).
 */
int service_watchdog_ping(struct service_watchdog *w, uint64_t now_ns, bool progressing);

/* READY=1 with STATUS=status (one line). */
void service_notify_ready(const char *status);

/* STOPPING=1 with STATUS=status (one line). */
void service_notify_stopping(const char *status);

#endif
