/*
 * test_preflight: fhd's start-up warnings (feed/preflight.h) against a crafted /sys and
 * /proc under a temporary directory. A well-set host gets no warning; each thing
 * operators forget, broken alone, gets its own line exactly once and no other; a
 * replay gets none however bad the host. Exits 0 pass, 1 fail.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "feed/preflight.h"
#include "tests/check.h"

static char root[] = "/tmp/fh-test-preflight.XXXXXX";
static struct cfg cfg;
static char *eal[4];
static int eal_count;

/* Writes text to root+path, making its directories; text NULL removes the file. */
static void put(const char *path, const char *text)
{
	char full[512];
	FILE *f;

	snprintf(full, sizeof(full), "%s%s", root, path);
	if (text == NULL) {
		unlink(full);
		return;
	}
	for (char *slash = strchr(full + strlen(root) + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(full, 0755) != 0 && errno != EEXIST)
			perror(full);
		*slash = '/';
	}
	f = fopen(full, "w");
	if (f == NULL) {
		perror(full);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

/* A well-set host: RX CPUs 2 and 3 isolated, performance, hugepages free, no irqbalance. */
static void host_good(void)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.main_lcore = 0;
	cfg.rx_lcores[0] = 2;
	cfg.rx_lcores[1] = 3;
	cfg.rx_lcores_count = 2;
	cfg.ports_count = 2;
	snprintf(cfg.ports[0].name, sizeof(cfg.ports[0].name), "tap");
	snprintf(cfg.ports[0].device, sizeof(cfg.ports[0].device), "net_af_packet0,iface=fh0");
	snprintf(cfg.ports[1].name, sizeof(cfg.ports[1].name), "nic");
	snprintf(cfg.ports[1].device, sizeof(cfg.ports[1].device), "0000:01:00.0");
	cfg.journal.enabled = true;
	cfg.journal.lcore = 4;
	cfg.journal.cpu = 0;
	eal[0] = "-n";
	eal[1] = "4";
	eal_count = 2;
	put("/sys/devices/system/cpu/isolated", "2-3\n");
	put("/sys/devices/system/cpu/nohz_full", "\n");
	put("/sys/devices/system/cpu/cpu2/cpufreq/scaling_governor", "performance\n");
	put("/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor", "performance\n");
	put("/proc/meminfo", "MemTotal:       16000000 kB\nHugePages_Total:     512\n"
			     "HugePages_Free:      512\nHugepagesize:       2048 kB\n");
	put("/proc/1/comm", "systemd\n");
	put("/proc/77/comm", "sshd\n");
	put("/proc/555/comm", "irqbalancer\n");	/* not irqbalance */
}

/* Occurrences of needle in text. */
static int count(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

/*
 * Runs the checks; the output must hold `expect` (NULL: nothing) exactly once, and
 * be exactly one warning line then (none otherwise), its return agreeing.
 */
static void expect_only(const char *what, bool replay, const char *expect)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	int warnings;

	warnings = preflight_check(out, &cfg, replay, eal, eal_count, root);
	fclose(out);
	int lines = count(text, "fhd: warning:"), newlines = count(text, "\n");

	printf("%s: %d warning(s)%s%s", what, warnings, lines > 0 ? ": " : "\n", text);
	CHECK(warnings == lines && newlines == lines);
	CHECK(lines == (expect != NULL ? 1 : 0));
	if (expect != NULL)
		CHECK(count(text, expect) == 1);
	free(text);
}

int main(void)
{
	if (mkdtemp(root) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	host_good();
	expect_only("a well-set host", false, NULL);

	eal[eal_count++] = "--no-huge";
	expect_only("--no-huge with a PCI port", false, "port nic is a PCI device (0000:01:00.0) but EAL runs with --no-huge");
	snprintf(cfg.ports[1].device, sizeof(cfg.ports[1].device), "net_tap0,iface=x");
	expect_only("--no-huge with vdevs only", false, NULL);
	host_good();
	put("/proc/meminfo", "MemTotal: 1 kB\nHugePages_Total:     512\nHugePages_Free:        0\n");
	expect_only("no hugepage free, PCI port", false, "no hugepages are free");
	snprintf(cfg.ports[1].device, sizeof(cfg.ports[1].device), "01:00.1");
	expect_only("no hugepage free, short PCI address", false, "no hugepages are free");
	cfg.ports_count = 1;
	expect_only("no hugepage free, vdevs only", false, NULL);

	host_good();
	put("/sys/devices/system/cpu/isolated", "0-1,3,5-7\n");
	expect_only("CPU 2 not isolated", false, "RX CPU(s) 2 not isolated");
	put("/sys/devices/system/cpu/nohz_full", "2\n");
	expect_only("CPU 2 nohz_full", false, NULL);
	put("/sys/devices/system/cpu/isolated", NULL);
	put("/sys/devices/system/cpu/nohz_full", NULL);
	expect_only("no isolation files", false, "RX CPU(s) 2, 3 not isolated");

	host_good();
	put("/sys/devices/system/cpu/cpu3/cpufreq/scaling_governor", "powersave\n");
	expect_only("CPU 3 powersave", false, "(CPU 3: powersave)");
	host_good();
	put("/sys/devices/system/cpu/cpu2/cpufreq/scaling_governor", NULL);
	expect_only("CPU 2 without cpufreq", false, NULL);

	host_good();
	put("/proc/4242/comm", "irqbalance\n");
	put("/proc/4243/comm", "irqbalance\n");	/* two of them: still one line */
	expect_only("irqbalance running", false, "irqbalance is running (pid 424");
	put("/proc/4242/comm", "bash\n");
	put("/proc/4243/comm", "bash\n");

	host_good();
	cfg.journal.cpu = 3;
	expect_only("journal on CPU 3", false, "(CPU 3 with the journal)");
	cfg.journal.enabled = false;
	expect_only("journal off, its cpu 3", false, NULL);
	cfg.journal.cpu = 0;
	cfg.rx_lcores[1] = 0;
	put("/sys/devices/system/cpu/isolated", "0,2-3\n");
	expect_only("RX lcore on the main CPU", false, "(CPU 0 with the main lcore)");
	cfg.rx_lcores[1] = 2;
	expect_only("two RX lcores on CPU 2", false, "(CPU 2 with another RX lcore)");

	/* Everything wrong at once: five lines live, none in a replay. */
	host_good();
	eal[eal_count++] = "--no-huge";
	put("/sys/devices/system/cpu/isolated", "\n");
	put("/sys/devices/system/cpu/cpu2/cpufreq/scaling_governor", "ondemand\n");
	put("/proc/9/comm", "irqbalance\n");
	cfg.journal.cpu = 2;
	expect_only("a badly set host, replay", true, NULL);
	{
		char *text = NULL;
		size_t size = 0;
		FILE *out = open_memstream(&text, &size);
		int warnings = preflight_check(out, &cfg, false, eal, eal_count, root);

		fclose(out);
		printf("a badly set host, live: %d warning(s):\n%s", warnings, text);
		CHECK(warnings == 5 && count(text, "fhd: warning:") == 5);
		free(text);
	}

	char command[128];

	snprintf(command, sizeof(command), "rm -rf -- '%s'", root);
	if (system(command) != 0)
		failures++;
	printf("%s\n", failures == 0 ? "test_preflight: pass" : "test_preflight: FAIL");
	return failures == 0 ? 0 : 1;
}
