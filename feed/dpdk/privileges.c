/*
 * privileges: dropping root to the config's user: and group: (see privileges.h), with
 * raw capget/capset (no libcap): PR_SET_KEEPCAPS holds the permitted set across
 * setresuid, then capset trims it to what is kept.
 */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "feed/dpdk/fhd_log.h"
#include "feed/dpdk/privileges.h"
#include "feed/preflight.h"

/* The capabilities the ports need after setup. */
static uint64_t privileges_needed(const struct cfg *cfg, bool replay)
{
	uint64_t keep = 0;

	if (replay)
		return 0;	/* capture files, already open */
	keep |= 1ull << CAP_NET_RAW;
	for (uint16_t p = 0; p < cfg->ports_count; p++)
		if (preflight_device_is_pci(cfg->ports[p].device))
			keep |= 1ull << CAP_IPC_LOCK | 1ull << CAP_SYS_RAWIO;
	return keep;
}

int privileges_resolve(const struct cfg *cfg, bool replay, bool stats_named, bool dump_books,
		       struct privileges *priv)
{
	const char *later = NULL;
	struct passwd *pw;
	struct group *gr;

	memset(priv, 0, sizeof(*priv));
	if (cfg->user[0] == '\0') {
		if (cfg->group[0] == '\0')
			return 0;
		fhd_log(LOG_ERR, "fhd: %s: group: %s needs user: (the user fhd drops root to)\n", cfg->source,
			cfg->group);
		return -EINVAL;
	}
	pw = getpwnam(cfg->user);
	if (pw == NULL) {
		fhd_log(LOG_ERR, "fhd: %s: user: %s: no such user\n", cfg->source, cfg->user);
		return -EINVAL;
	}
	priv->uid = pw->pw_uid;
	priv->gid = pw->pw_gid;
	if (cfg->group[0] != '\0') {
		gr = getgrnam(cfg->group);
		if (gr == NULL) {
			fhd_log(LOG_ERR, "fhd: %s: group: %s: no such group\n", cfg->source, cfg->group);
			return -EINVAL;
		}
		priv->gid = gr->gr_gid;
	}
	if (geteuid() != 0) {
		fhd_log(LOG_WARNING, "fhd: user: %s: fhd does not run as root: nothing to drop\n", cfg->user);
		return 0;
	}
	if (priv->uid == 0) {
		fhd_log(LOG_ERR, "fhd: %s: user: %s is root: nothing would be dropped\n", cfg->source, cfg->user);
		return -EINVAL;
	}
	/* Files created after the drop would be the user's, in directories root must own. */
	if (cfg->journal.enabled)
		later = "the journal";
	else if (cfg->stats.prometheus_file[0] != '\0')
		later = "stats.prometheus_file";
	else if (cfg->stats.hist_out[0] != '\0')
		later = "stats.hist_out";
	else if (dump_books)
		later = "--dump-books";
	else if (!stats_named)
		later = "a per-run stats segment (removed at exit)";
	if (later != NULL) {
		fhd_log(LOG_ERR, "fhd: %s: user: %s: refused with %s, which fhd writes or removes after "
			"dropping root; leave user: out, or %s\n", cfg->source, cfg->user, later,
			stats_named ? "that option out" : "give stats.segment or publish");
		return -EINVAL;
	}
	priv->drop = true;
	priv->keep = privileges_needed(cfg, replay);
	return 0;
}

/* "CAP_NET_RAW, CAP_IPC_LOCK" or "no capability". */
static void privileges_describe(uint64_t keep, char *out, size_t size)
{
	static const struct { int cap; const char *name; } names[] = {
		{ CAP_NET_RAW, "CAP_NET_RAW" }, { CAP_IPC_LOCK, "CAP_IPC_LOCK" },
		{ CAP_SYS_RAWIO, "CAP_SYS_RAWIO" },
	};
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && used < size; i++)
		if (keep & 1ull << names[i].cap)
			used += (size_t)snprintf(out + used, size - used, "%s%s", used ? ", " : "", names[i].name);
	if (out[0] == '\0')
		snprintf(out, size, "no capability");
}

int privileges_drop(const struct privileges *priv, const struct cfg *cfg)
{
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	char kept[96];

	if (!priv->drop)
		return 0;
	memset(data, 0, sizeof(data));
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		data[i].permitted = data[i].effective = (uint32_t)(priv->keep >> (32 * i));
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 || setgroups(1, &priv->gid) != 0 ||
	    setresgid(priv->gid, priv->gid, priv->gid) != 0 || setresuid(priv->uid, priv->uid, priv->uid) != 0 ||
	    syscall(SYS_capset, &header, data) != 0 || prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) {
		fhd_log(LOG_ERR, "fhd: user: %s: cannot drop root: %s\n", cfg->user, strerror(errno));
		return -EPERM;
	}
	privileges_describe(priv->keep, kept, sizeof(kept));
	fhd_log(LOG_INFO, "fhd: dropped root: now uid %u (%s), gid %u; kept %s\n", (unsigned)priv->uid, cfg->user,
		(unsigned)priv->gid, kept);
	return 0;
}
