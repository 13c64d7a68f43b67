/*
 * fh_commands: the fh subcommands that live in their own files (tools/fh.c holds
 * main, tail and top). Each takes the arguments after "fh" and returns an exit status.
 */
#ifndef FH_TOOLS_FH_COMMANDS_H
#define FH_TOOLS_FH_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>

/* fh stat: a running fhd's counters and latency percentiles (tools/fh_stat.c). */
int fh_stat_main(int argc, char **argv);

/* fh report DIR... -o FILE.png: latency plots and a table from --hist-out files (tools/fh_report.c). */
int fh_report_main(int argc, char **argv);

/*
 * Copies `in` into out (size bytes, always terminated, cut short if it does not fit)
 * so that it is safe to print: json escapes quotes and backslashes and writes control
 * characters and bytes beyond ASCII as \u00XX (valid JSON string contents whatever the
 * input); otherwise those become '?', so that a name cannot drive the terminal.
 * Returns the length written (tools/fh_stat.c).
 */
size_t fh_text_escape(char *out, size_t size, const char *in, bool json);

#endif
