/*
 * logline: see logline.h.
 */
#include "book/util/logline.h"

#include <stdarg.h>
#include <stdio.h>

#define LOGLINE_MAX 4096	/* longer text is cut: a control-path message, never data */

static logline_sink logline_to;

void logline_sink_set(logline_sink sink)
{
	logline_to = sink;
}

void vlogline(int priority, const char *format, va_list ap)
{
	char text[LOGLINE_MAX];

	vsnprintf(text, sizeof(text), format, ap);
	if (logline_to != NULL)
		logline_to(priority, text);
	else
		fputs(text, stderr);
}

void logline(int priority, const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	vlogline(priority, format, ap);
	va_end(ap);
}
