/*
 * preflight: what operators forget before a live run, said at start as one
 * "fhd: warning:" line each: no hugepages for a PCI port, RX CPUs not isolated, an RX
 * CPU's frequency governor not performance, irqbalance running, an RX CPU shared with
 * the main lcore, another RX lcore or the journal. Nothing is refused: the run goes
 * on. A replay gets none of them (its ports are capture files; its speed is not the
 * production host's).
 */
#ifndef FH_FEED_PREFLIGHT_H
#define FH_FEED_PREFLIGHT_H

#include <stdbool.h>
#include <stdio.h>

#include "config/config.h"

/*
 * Prints the warnings for a live run of cfg with EAL's command line eal_args to out.
 * sysroot is prefixed to /sys and /proc paths ("" for the running host; the unit test
 * gives a crafted tree). Unreadable files warn of nothing, except a CPU list read as
 * empty. Returns the number of warning lines printed.
 */
int preflight_check(FILE *out, const struct cfg *cfg, bool replay, char *const *eal_args, int eal_count,
		    const char *sysroot);

/* Whether a port's device is a PCI address ("0000:01:00.0" or "01:00.0"), not a vdev. */
bool preflight_device_is_pci(const char *device);

#endif
