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

#include "feed/dpdk/fhd_log.h"

#define FHD_LOG_LINE_MAX 4096	/* longer text is cut: a control-path line, never data */

static bool fhd_log_journal;

void fhd_log_init(void)
{
	const char *stream = getenv("JOURNAL_STREAM");
	uintmax_t device, inode;
	struct stat st;
	char end;

	fhd_log_journal = false;
	if (stream == NULL || sscanf(stream, "%ju:%ju%c", &device, &inode, &end) != 2)
		return;
	if (fstat(fileno(stderr), &st) != 0)
		return;
	fhd_log_journal = (uintmax_t)st.st_dev == device && (uintmax_t)st.st_ino == inode;
}

void fhd_log(int priority, const char *format, ...)
{
	char text[FHD_LOG_LINE_MAX];
	const char *line, *end;
	va_list ap;

	assert(priority >= LOG_EMERG && priority <= LOG_DEBUG);
	va_start(ap, format);
	vsnprintf(text, sizeof(text), format, ap);
	va_end(ap);
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
