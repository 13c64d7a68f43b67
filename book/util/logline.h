/*
 * logline: the control-path messages of code fhd shares with the tools (statistics,
 * the journal, shared-memory segments). Each message goes to a sink with its syslog
 * priority: stderr as given by default; fhd installs its own (fhd_log.h), which puts
 * journald's "<N>" severity in front of every line when stderr is the journal.
 * Never called on the RX lcore's data path.
 */
#ifndef FH_BOOK_UTIL_LOGLINE_H
#define FH_BOOK_UTIL_LOGLINE_H

#include <stdarg.h>
#include <syslog.h>

/* A sink: text is one or more whole lines, each ending in '\n'. */
typedef void (*logline_sink)(int priority, const char *text);

/* Where every logline goes from now on; NULL: stderr again. */
void logline_sink_set(logline_sink sink);

/* Formats the text (lines with their own "fhd: " and newline) and hands it to the sink. */
void logline(int priority, const char *format, ...) __attribute__((format(printf, 2, 3)));
void vlogline(int priority, const char *format, va_list ap) __attribute__((format(printf, 2, 0)));

#endif
