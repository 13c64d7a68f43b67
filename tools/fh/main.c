/*
 * fh: the command-line client of fhd's publish rings and stats segment, built against
 * libfh alone (no DPDK). main picks the subcommand; each lives in its own file here
 * (tail.c, top.c, stat.c, report.c) and cli.c holds what they share.
 */
#include <stdio.h>
#include <string.h>

#include "fh_build_version.h"
#include "tools/fh/cli.h"

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		printf("usage: fh <command> [options]\n"
		       "  tail    print events from an fhd publish ring (fh tail --help)\n"
		       "  top     live table of top of book per symbol (fh top --help)\n"
		       "  stat    a running fhd's counters and latency percentiles (fh stat --help)\n"
		       "  report  latency plots and table from fhd --hist-out files (fh report --help)\n"
		       "  fh --version prints fh's version\n");
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("fh %s\n", FH_BUILD_VERSION_TEXT);
		return 0;
	}
	if (strcmp(argv[1], "tail") == 0)
		return tail_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "top") == 0)
		return top_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "stat") == 0)
		return stat_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "report") == 0)
		return report_main(argc - 1, argv + 1);
	fprintf(stderr, "fh: unknown command '%s'\n", argv[1]);
	return 2;
}
