/*
 * preflight: the host checks fhd makes before a live run (see preflight.h). Each
 * check reads a few small files under /sys and /proc and prints at most one line.
 */
#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "feed/preflight.h"

#define PREFLIGHT_CPUS_MAX 1024		/* CPUs a CPU list may name; higher ones are ignored */
#define PREFLIGHT_PATH_MAX 512
#define PREFLIGHT_TEXT_MAX 4096		/* a CPU list, a governor, /proc/meminfo's first part */
#define PREFLIGHT_LINE_MAX 512		/* the CPUs or ports a warning names */
#define PREFLIGHT_PROCS_MAX 65536	/* /proc entries looked at for irqbalance */

/* The first size-1 bytes of sysroot+path, NUL-terminated, in text. false if unreadable. */
static bool preflight_read(const char *sysroot, const char *path, char *text, size_t size)
{
	char full[PREFLIGHT_PATH_MAX];
	FILE *f;
	size_t n;

	assert(size > 0);
	snprintf(full, sizeof(full), "%s%s", sysroot, path);
	f = fopen(full, "re");
	if (f == NULL)
		return false;
	n = fread(text, 1, size - 1, f);
	text[n] = '\0';
	fclose(f);
	return true;
}

/* A kernel CPU list ("0-3,8,10-11\n") into cpus[]; an unreadable or empty one is none. */
static void preflight_cpu_list_read(const char *sysroot, const char *path, bool *cpus)
{
	char text[PREFLIGHT_TEXT_MAX];
	char *p = text, *end;

	memset(cpus, 0, PREFLIGHT_CPUS_MAX * sizeof(*cpus));
	if (!preflight_read(sysroot, path, text, sizeof(text)))
		return;
	while (*p != '\0' && *p != '\n') {
		unsigned long first = strtoul(p, &end, 10), last = first;

		if (end == p)
			return;		/* not a CPU list: none */
		p = end;
		if (*p == '-') {
			last = strtoul(p + 1, &end, 10);
			if (end == p + 1)
				return;
			p = end;
		}
		for (unsigned long c = first; c <= last && c < PREFLIGHT_CPUS_MAX; c++)
			cpus[c] = true;
		if (*p == ',')
			p++;
	}
}

bool preflight_device_is_pci(const char *device)
{
	unsigned int domain, bus, dev, function;
	int used = 0;

	if (sscanf(device, "%x:%x:%x.%x%n", &domain, &bus, &dev, &function, &used) == 4 &&
	    (device[used] == '\0' || device[used] == ','))
		return true;
	used = 0;
	return sscanf(device, "%x:%x.%x%n", &bus, &dev, &function, &used) == 3 &&
	       (device[used] == '\0' || device[used] == ',');
}

/* HugePages_Free in /proc/meminfo; -1 when it does not say. */
static long preflight_hugepages_free(const char *sysroot)
{
	static char text[PREFLIGHT_TEXT_MAX * 4];
	const char *line;

	if (!preflight_read(sysroot, "/proc/meminfo", text, sizeof(text)))
		return -1;
	line = strstr(text, "HugePages_Free:");
	return line == NULL ? -1 : strtol(line + strlen("HugePages_Free:"), NULL, 10);
}

/* A PCI port without hugepages: EAL's --no-huge, or none free. */
static int preflight_hugepages(FILE *out, const struct cfg *cfg, char *const *eal_args, int eal_count,
			       const char *sysroot)
{
	const struct cfg_port *pci = NULL;
	bool no_huge = false;
	long free_pages;

	for (uint16_t p = 0; p < cfg->ports_count && pci == NULL; p++)
		if (preflight_device_is_pci(cfg->ports[p].device))
			pci = &cfg->ports[p];
	if (pci == NULL)
		return 0;
	for (int i = 0; i < eal_count; i++)
		no_huge |= strcmp(eal_args[i], "--no-huge") == 0;
	if (no_huge) {
		fprintf(out, "fhd: warning: port %s is a PCI device (%s) but EAL runs with --no-huge: "
			"take it out of the config's eal list and reserve hugepages\n", pci->name, pci->device);
		return 1;
	}
	free_pages = preflight_hugepages_free(sysroot);
	if (free_pages == 0) {
		fprintf(out, "fhd: warning: port %s is a PCI device (%s) but no hugepages are free "
			"(/proc/meminfo HugePages_Free: 0): reserve some (vm.nr_hugepages)\n", pci->name,
			pci->device);
		return 1;
	}
	return 0;
}

/* Appends ",N" (or "N" first) to list; false once it is full. */
static void preflight_list_add(char *list, size_t size, const char *item)
{
	size_t used = strlen(list);

	if (used < size)
		snprintf(list + used, size - used, "%s%s", used > 0 ? ", " : "", item);
}

/* RX CPUs in neither isolcpus nor nohz_full. */
static int preflight_isolation(FILE *out, const struct cfg *cfg, const char *sysroot)
{
	static bool isolated[PREFLIGHT_CPUS_MAX], nohz[PREFLIGHT_CPUS_MAX];
	char list[PREFLIGHT_LINE_MAX] = "", item[16];

	preflight_cpu_list_read(sysroot, "/sys/devices/system/cpu/isolated", isolated);
	preflight_cpu_list_read(sysroot, "/sys/devices/system/cpu/nohz_full", nohz);
	for (uint16_t i = 0; i < cfg->rx_lcores_count; i++) {
		uint16_t cpu = cfg->rx_lcores[i];	/* lcore N runs on CPU N */

		assert(cpu < PREFLIGHT_CPUS_MAX);
		if (isolated[cpu] || nohz[cpu])
			continue;
		snprintf(item, sizeof(item), "%u", cpu);
		preflight_list_add(list, sizeof(list), item);
	}
	if (list[0] == '\0')
		return 0;
	fprintf(out, "fhd: warning: RX CPU(s) %s not isolated (in neither isolcpus= nor nohz_full=): "
		"the scheduler may run other tasks there\n", list);
	return 1;
}

/* RX CPUs whose cpufreq governor is known and not performance. */
static int preflight_governor(FILE *out, const struct cfg *cfg, const char *sysroot)
{
	char list[PREFLIGHT_LINE_MAX] = "", item[64], path[PREFLIGHT_PATH_MAX], governor[32];

	for (uint16_t i = 0; i < cfg->rx_lcores_count; i++) {
		uint16_t cpu = cfg->rx_lcores[i];

		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%u/cpufreq/scaling_governor", cpu);
		/* No cpufreq (a VM, a container, a fixed-clock CPU): nothing to set. */
		if (!preflight_read(sysroot, path, governor, sizeof(governor)))
			continue;
		governor[strcspn(governor, "\n")] = '\0';
		if (strcmp(governor, "performance") == 0)
			continue;
		snprintf(item, sizeof(item), "CPU %u: %.32s", cpu, governor);
		preflight_list_add(list, sizeof(list), item);
	}
	if (list[0] == '\0')
		return 0;
	fprintf(out, "fhd: warning: RX CPU frequency governor not performance (%s): latency varies "
		"with the clock (cpupower frequency-set -g performance)\n", list);
	return 1;
}

/* A process named irqbalance: it may move the NIC's interrupts onto RX CPUs. */
static int preflight_irqbalance(FILE *out, const char *sysroot)
{
	char path[PREFLIGHT_PATH_MAX], comm[32];
	struct dirent *entry;
	long pid = 0;
	DIR *proc;

	snprintf(path, sizeof(path), "%s/proc", sysroot);
	proc = opendir(path);
	if (proc == NULL)
		return 0;
	for (int n = 0; n < PREFLIGHT_PROCS_MAX && pid == 0 && (entry = readdir(proc)) != NULL; n++) {
		if (!isdigit((unsigned char)entry->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%.32s/comm", entry->d_name);
		if (preflight_read(sysroot, path, comm, sizeof(comm)) && strcmp(comm, "irqbalance\n") == 0)
			pid = strtol(entry->d_name, NULL, 10);
	}
	closedir(proc);
	if (pid == 0)
		return 0;
	fprintf(out, "fhd: warning: irqbalance is running (pid %ld): it may move interrupts onto RX "
		"CPUs (stop it, or ban them with IRQBALANCE_BANNED_CPULIST)\n", pid);
	return 1;
}

/* RX CPUs also used by the main lcore, another RX lcore or the journal lcore. */
static int preflight_sharing(FILE *out, const struct cfg *cfg)
{
	char list[PREFLIGHT_LINE_MAX] = "", item[64];

	for (uint16_t i = 0; i < cfg->rx_lcores_count; i++) {
		uint16_t cpu = cfg->rx_lcores[i];
		const char *with = NULL;

		if (cpu == cfg->main_lcore)
			with = "the main lcore";
		else if (cfg->journal.enabled && cpu == cfg->journal.cpu)
			with = "the journal";
		for (uint16_t j = 0; j < i && with == NULL; j++)
			if (cfg->rx_lcores[j] == cpu)
				with = "another RX lcore";
		if (with == NULL)
			continue;
		snprintf(item, sizeof(item), "CPU %u with %s", cpu, with);
		preflight_list_add(list, sizeof(list), item);
	}
	if (list[0] == '\0')
		return 0;
	fprintf(out, "fhd: warning: RX CPU shared (%s): the RX lcore loses its CPU to it\n", list);
	return 1;
}

int preflight_check(FILE *out, const struct cfg *cfg, bool replay, char *const *eal_args, int eal_count,
		    const char *sysroot)
{
	int warnings = 0;

	assert(out != NULL && cfg != NULL && sysroot != NULL && eal_count >= 0);
	if (replay)
		return 0;
	warnings += preflight_hugepages(out, cfg, eal_args, eal_count, sysroot);
	warnings += preflight_isolation(out, cfg, sysroot);
	warnings += preflight_governor(out, cfg, sysroot);
	warnings += preflight_irqbalance(out, sysroot);
	warnings += preflight_sharing(out, cfg);
	assert(warnings >= 0 && warnings <= 5);
	return warnings;
}
