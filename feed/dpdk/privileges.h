/*
 * privileges: the config's user: and group:. fhd starts as root (DPDK, ports, segments),
 * then drops to that user and group, keeping only the capabilities its ports still need
 * (live ports: CAP_NET_RAW; a PCI port also CAP_IPC_LOCK and CAP_SYS_RAWIO; a replay:
 * none), and says what it kept.
 */
#ifndef FH_FEED_DPDK_PRIVILEGES_H
#define FH_FEED_DPDK_PRIVILEGES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/config.h"

struct privileges {
	bool drop;		/* user: given and fhd runs as root */
	uid_t uid;
	gid_t gid;
	uint64_t keep;		/* capability bits kept (1 << CAP_*) */
};

/*
 * Before DPDK: resolves user: and group:, and refuses what cannot work after the drop
 * (files fhd creates later in root's directories; a per-run stats segment it could not
 * remove at exit). stats_named: the stats segment has a lasting name (stats.segment or
 * publish). 0, or -EINVAL with the reason printed.
 */
int privileges_resolve(const struct cfg *cfg, bool replay, bool stats_named, bool dump_books,
		       struct privileges *priv);

/* After setup, before the RX lcores start: the drop itself. 0, or -EPERM printed. */
int privileges_drop(const struct privileges *priv, const struct cfg *cfg);

#endif
