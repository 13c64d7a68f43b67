/*
 * fh_commands: the fh subcommands that live in their own files (tools/fh.c holds
 * main, tail and top). Each takes the arguments after "fh" and returns an exit status.
 */
#ifndef FH_TOOLS_FH_COMMANDS_H
#define FH_TOOLS_FH_COMMANDS_H

/* fh stat: a running fhd's counters and latency percentiles (tools/fh_stat.c). */
int fh_stat_main(int argc, char **argv);

/* fh report DIR... -o FILE.png: latency plots and a table from --hist-out files (tools/fh_report.c). */
int fh_report_main(int argc, char **argv);

#endif
