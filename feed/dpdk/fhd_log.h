/*
 * fhd_log: fhd's control-path log lines on stderr, each with a severity journald
 * understands. When stderr is the journal (systemd's JOURNAL_STREAM names stderr's
 * device and inode), every line starts with "<N>", N a syslog priority (LOG_ERR 3,
 * LOG_WARNING 4, LOG_INFO 6), which journald strips and keeps as the entry's
 * priority; anywhere else (a terminal, a file, a test) the text is exactly as given.
 */
#ifndef FH_FEED_DPDK_FHD_LOG_H
#define FH_FEED_DPDK_FHD_LOG_H

#include <stdio.h>
#include <syslog.h>

/*
 * Decides once, at start, whether stderr is the journal (see above), and makes
 * fhd_log the sink of the shared code's messages (logline.h).
 */
void fhd_log_init(void);

/*
 * Writes the formatted text to stderr, each of its lines prefixed with "<priority>"
 * when stderr is the journal. priority: LOG_ERR, LOG_WARNING, LOG_INFO (syslog.h).
 * The text carries its own "fhd: " and newline, as the lines always have.
 */
void fhd_log(int priority, const char *format, ...) __attribute__((format(printf, 2, 3)));

/*
 * Routes DPDK's own lines (EAL, the PMDs) through the same prefixing
 * (rte_openlog_stream): a line's priority is DPDK's level of it, RTE_LOG_ERR as
 * LOG_ERR. Called once, before EAL starts.
 */
void fhd_log_route(void);

/*
 * A stream whose lines are logged at priority (for code that prints to a FILE: the
 * preflight checks, the journal's repair, the usage text); stderr if it cannot be
 * made. A line goes out at its newline; flush the stream after use all the same.
 */
FILE *fhd_log_stream(int priority);

#endif
