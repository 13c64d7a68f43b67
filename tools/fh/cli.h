/*
 * cli: the fh command-line tool's own interface between its files. `fh_` names
 * belong to libfh (publish/libfh/fh.h) alone; the tool's names carry the prefix of
 * the file they live in: tail_, top_, stat_, report_ for a subcommand (tail.c, top.c,
 * stat.c, report.c), cli_ for what the subcommands share (cli.c), main.c dispatches.
 * Each subcommand's main takes the arguments after "fh" and returns an exit status.
 */
#ifndef FH_TOOLS_FH_CLI_H
#define FH_TOOLS_FH_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLI_FEEDS_MAX 256	/* feed ids are a byte */
#define CLI_KEYS_MAX 65536	/* instrument keys kept per feed; larger ones are ignored */
#define CLI_BATCH_MAX 256	/* events taken per fh_poll */
#define CLI_NAME_SHOWN_MAX 256	/* a name from the command line, as printed (escaped, cut) */

/* fh tail: events from a publish ring as text or JSON lines (tools/fh/tail.c). */
int tail_main(int argc, char **argv);

/* fh top: a live table of top of book per symbol (tools/fh/top.c). */
int top_main(int argc, char **argv);

/* fh stat: a running fhd's counters and latency percentiles (tools/fh/stat.c). */
int stat_main(int argc, char **argv);

/* fh report DIR... -o FILE.png: latency plots and a table from --hist-out files (tools/fh/report.c). */
int report_main(int argc, char **argv);

/* Set by SIGINT or SIGTERM once cli_signals_catch has run: loops stop at it. */
extern volatile sig_atomic_t cli_quit;

/* Makes SIGINT and SIGTERM set cli_quit instead of killing the process. */
void cli_signals_catch(void);

/*
 * price (fixed point with `decimals` digits after the point) as decimal text into
 * out (size bytes, always terminated): "-12.3400" for -123400 with 4 decimals.
 */
void cli_price_text(char *out, size_t size, int64_t price, uint8_t decimals);

/* Printable ASCII (0x20..0x7e): what a name from the ring or a file may show as is. */
static inline bool cli_char_printable(unsigned char c)
{
	return c >= 0x20 && c < 0x7f;
}

/*
 * Copies `in` into out (size bytes, always terminated, cut short if it does not fit)
 * so that it is safe to print: json escapes quotes and backslashes and writes control
 * characters and bytes beyond ASCII as \u00XX (valid JSON string contents whatever the
 * input); otherwise those become '?', so that a name cannot drive the terminal.
 * Returns the length written.
 */
size_t cli_text_escape(char *out, size_t size, const char *in, bool json);

/*
 * A whole-number option argument, strictly: decimal digits only, from min to max. 0
 * with *value set; otherwise -EINVAL after saying on stderr "fh <command>: --<option>
 * wants a whole number from <min> to <max>, got '<text>'" (text shown escaped).
 */
int cli_number_parse(const char *command, const char *option, const char *text, uint64_t min, uint64_t max,
		     uint64_t *value);

/* A feed's book state (enum fh_book_state, as read from fhd: any value) by name: ok, recovering, stale or ?. */
const char *cli_book_state_name(uint64_t state);

#endif
