/*
 * service_notify: fhd's side of systemd's notify protocol (see service_notify.h).
 * libsystemd's sd_notify does the socket work (abstract or path NOTIFY_SOCKET, and
 * nothing when it is unset); this file only decides what is said and when.
 */
#include <assert.h>
#include <stdio.h>

#include <systemd/sd-daemon.h>

#include "feed/dpdk/service_notify.h"

bool service_watchdog_start(struct service_watchdog *w, uint64_t now_ns)
{
	uint64_t usec = 0;

	assert(w != NULL);
	w->interval_ns = 0;
	w->next_ns = now_ns;
	w->held = false;
	/* 0 arguments: keep WATCHDOG_USEC for a child; > 0 only when the pid matches. */
	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return false;
	/* Half the manager's timeout, as sd_watchdog_enabled(3) advises: a late turn of the
	 * control loop (it sleeps 10 ms a turn) still pings in time. */
	w->interval_ns = usec * 1000 / 2;
	return true;
}

bool service_watchdog_due(const struct service_watchdog *w, uint64_t now_ns)
{
	assert(w != NULL);
	return w->interval_ns != 0 && now_ns >= w->next_ns;
}

int service_watchdog_ping(struct service_watchdog *w, uint64_t now_ns, bool progressing)
{
	bool was_held = w->held;

	assert(service_watchdog_due(w, now_ns));
	w->held = !progressing;
	if (!progressing)
		return was_held ? 0 : 1;
	sd_notify(0, "WATCHDOG=1");
	w->next_ns = now_ns + w->interval_ns;
	return was_held ? -1 : 0;
}

/* One notification: state (READY=1 or STOPPING=1) and STATUS=status. */
static void service_notify_state(const char *state, const char *status)
{
	sd_notifyf(0, "%s\nSTATUS=%s", state, status);
}

void service_notify_ready(const char *status)
{
	service_notify_state("READY=1", status);
}

void service_notify_stopping(const char *status)
{
	service_notify_state("STOPPING=1", status);
}
