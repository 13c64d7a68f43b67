/*
 * cli: what the fh subcommands share: the quit flag their loops poll, and the text
 * helpers that make prices and names from the ring or a segment printable.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "publish/libfh/fh_event.h"
#include "tools/fh/cli.h"

volatile sig_atomic_t cli_quit;

static void cli_signal(int signo)
{
	(void)signo;
	cli_quit = 1;
}

void cli_signals_catch(void)
{
	signal(SIGINT, cli_signal);
	signal(SIGTERM, cli_signal);
}

void cli_price_text(char *out, size_t size, int64_t price, uint8_t decimals)
{
	uint64_t scale = 1, m = price < 0 ? -(uint64_t)price : (uint64_t)price;

	for (uint8_t i = 0; i < decimals && i < 18; i++)
		scale *= 10;
	if (decimals == 0)
		snprintf(out, size, "%s%" PRIu64, price < 0 ? "-" : "", m);
	else
		snprintf(out, size, "%s%" PRIu64 ".%0*" PRIu64, price < 0 ? "-" : "", m / scale,
			 (int)(decimals % 19), m % scale);
}

size_t cli_text_escape(char *out, size_t size, const char *in, bool json)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	if (size == 0)
		return 0;
	for (const unsigned char *p = (const unsigned char *)in; *p != '\0'; p++) {
		char seq[8];
		size_t len = 0;

		if (json && (*p == '"' || *p == '\\')) {
			seq[len++] = '\\';
			seq[len++] = (char)*p;
		} else if (!cli_char_printable(*p)) {
			/* Bytes beyond ASCII too: the output must be valid UTF-8 whatever the input. */
			if (json) {
				memcpy(seq, "\\u00", 4);
				len = 4;
				seq[len++] = hex[*p >> 4];
				seq[len++] = hex[*p & 15];
			} else {
				seq[len++] = '?';
			}
		} else {
			seq[len++] = (char)*p;
		}
		if (n + len >= size)
			break;
		memcpy(out + n, seq, len);
		n += len;
	}
	out[n] = '\0';
	return n;
}

int cli_number_parse(const char *command, const char *option, const char *text, uint64_t min, uint64_t max,
		     uint64_t *value)
{
	char shown[64];
	unsigned long long number;
	char *end;

	errno = 0;
	/* strtoull alone takes "", " 5", "+5", "-1" (as a huge number) and "5x": digits only. */
	number = text[0] >= '0' && text[0] <= '9' ? strtoull(text, &end, 10) : 0;
	if (text[0] >= '0' && text[0] <= '9' && *end == '\0' && errno == 0 && number >= min && number <= max) {
		*value = number;
		return 0;
	}
	cli_text_escape(shown, sizeof(shown), text, false);
	fprintf(stderr, "fh %s: --%s wants a whole number from %" PRIu64 " to %" PRIu64 ", got '%s'\n", command,
		option, min, max, shown);
	return -EINVAL;
}

const char *cli_book_state_name(uint64_t state)
{
	return state < FH_BOOK_STATES ? fh_book_state_name((unsigned)state) : "?";
}
