/*
 * fhd_log: see fhd_log.h. journald reads a "<N>" at the start of each line of a
 * stream it was given (SyslogLevelPrefix=, on by default) as that line's priority; a
 * stream that is not the journal must not get one, hence the JOURNAL_STREAM check
 * (systemd.exec(5): the variable holds "DEVICE:INODE" of the stream it connected).
 */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rte_log.h>

#include "book/util/logline.h"
#include "feed/dpdk/fhd_log.h"

#define FHD_LOG_LINE_MAX 4096	/* longer text is cut: a control-path line, never data */

static bool fhd_log_journal;

/* Writes text (whole lines) to stderr, each line prefixed when stderr is the journal. */
static void fhd_log_text(int priority, const char *text)
{
	const char *line, *end;

	assert(priority >= LOG_EMERG && priority <= LOG_DEBUG);
	if (!fhd_log_journal) {
		fputs(text, stderr);
		return;
	}
	/* Each line its own prefix: journald makes an entry of every line. */
	for (line = text; *line != '\0'; line = *end == '\n' ? end + 1 : end) {
		end = line + strcspn(line, "\n");
		fprintf(stderr, "<%d>%.*s\n", priority, (int)(end - line), line);
	}
}

void fhd_log_init(void)
{
	const char *stream = getenv("JOURNAL_STREAM");
	uintmax_t device, inode;
	struct stat st;
	char end;

	fhd_log_journal = false;
	logline_sink_set(fhd_log_text);
	if (stream == NULL || sscanf(stream, "%ju:%ju%c", &device, &inode, &end) != 2)
		return;
	if (fstat(fileno(stderr), &st) != 0)
		return;
	fhd_log_journal = (uintmax_t)st.st_dev == device && (uintmax_t)st.st_ino == inode;
}

void fhd_log(int priority, const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	vlogline(priority, format, ap);	/* to fhd_log_text, since fhd_log_init */
	va_end(ap);
}

/*
 * A stream's cookie: the priority of what is written to it (FHD_LOG_DPDK: DPDK's
 * level of the message being logged) and the line being put together, which goes out
 * whole at its newline (or when full).
 */
#define FHD_LOG_DPDK (-1)

struct fhd_log_cookie {
	int priority;
	size_t len;
	char line[FHD_LOG_LINE_MAX];
};

static void fhd_log_cookie_flush(struct fhd_log_cookie *c)
{
	int priority = c->priority;

	if (c->len == 0)
		return;
	/* DPDK's levels are syslog's plus one (RTE_LOG_ERR 4 is LOG_ERR 3). */
	if (priority == FHD_LOG_DPDK) {
		priority = (int)rte_log_cur_msg_loglevel() - 1;
		priority = priority < LOG_EMERG ? LOG_ERR : priority > LOG_DEBUG ? LOG_DEBUG : priority;
	}
	c->line[c->len] = '\0';
	fhd_log_text(priority, c->line);
	c->len = 0;
}

static ssize_t fhd_log_cookie_write(void *cookie, const char *buf, size_t size)
{
	struct fhd_log_cookie *c = cookie;

	for (size_t i = 0; i < size; i++) {
		c->line[c->len++] = buf[i];
		/* One byte kept for the NUL; a line too long for the buffer goes out in parts. */
		if (buf[i] == '\n' || c->len == sizeof(c->line) - 2) {
			if (buf[i] != '\n')
				c->line[c->len++] = '\n';
			fhd_log_cookie_flush(c);
		}
	}
	return (ssize_t)size;
}

/* A line-assembling stream into fhd_log_text at priority (FHD_LOG_DPDK: DPDK's level). */
static FILE *fhd_log_stream_open(struct fhd_log_cookie *c, int priority)
{
	cookie_io_functions_t io = { .write = fhd_log_cookie_write };

	c->priority = priority;
	c->len = 0;
	return fopencookie(c, "w", io);
}

FILE *fhd_log_stream(int priority)
{
	static struct fhd_log_cookie cookies[LOG_DEBUG + 1];
	static FILE *streams[LOG_DEBUG + 1];

	assert(priority >= LOG_EMERG && priority <= LOG_DEBUG);
	if (streams[priority] == NULL)
		streams[priority] = fhd_log_stream_open(&cookies[priority], priority);
	return streams[priority] != NULL ? streams[priority] : stderr;
}

void fhd_log_route(void)
{
	static struct fhd_log_cookie dpdk;
	FILE *stream = fhd_log_stream_open(&dpdk, FHD_LOG_DPDK);

	/* DPDK's own lines (EAL, PMDs) too; kept open for the process's life. */
	if (stream != NULL)
		rte_openlog_stream(stream);
}
