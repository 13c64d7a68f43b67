/*
 * fhd_log: fhd's control-path log lines on stderr, each with a severity journald
 * understands. When stderr is the journal (systemd's JOURNAL_STREAM names stderr's
 * device and inode), every line starts with "<N>", N a syslog priority (LOG_ERR 3,
 * LOG_WARNING 4, LOG_INFO 6), which journald strips and keeps as the entry's
 * priority; anywhere else (a terminal, a file, a test) the text is exactly as given.
 */
#ifndef FH_FEED_DPDK_FHD_LOG_H
#define FH_FEED_DPDK_FHD_LOG_H

#include <syslog.h>

/* Decides once, at start, whether stderr is the journal (see above). */
void fhd_log_init(void);

/*
 * Writes the formatted text to stderr, each of its lines prefixed with "<priority>"
 * when stderr is the journal. priority: LOG_ERR, LOG_WARNING, LOG_INFO (syslog.h).
 * The text carries its own "fhd: " and newline, as the lines always have.
 */
void fhd_log(int priority, const char *format, ...) __attribute__((format(printf, 2, 3)));

#endif
