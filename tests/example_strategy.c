/*
 * example_strategy: the libfh consumer the README shows. Attaches to one of fhd's
 * publish rings, polls events until fhd stops, and prints every trade and top of book
 * by symbol. Build it against an installed libfh:
 *     cc example_strategy.c $(pkg-config --cflags --libs fh) -o strategy
 * Run: ./strategy fh-1   (the ring is /dev/shm/<publish.ring>-<RX lcore>)
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <fh/fh.h>

#define SYMBOLS_MAX 65536	/* ITCH stock locates are 16 bit */

static char symbols[SYMBOLS_MAX][17];

static const char *symbol_of(uint32_t instrument)
{
	return instrument < SYMBOLS_MAX && symbols[instrument][0] != '\0' ? symbols[instrument] : "?";
}

/* Prices are integers in 10^-4 (ITCH); printed with their four decimals. */
static void price_print(const char *what, int64_t price)
{
	if (price == INT64_MIN)
		printf(" %s -", what);
	else
		printf(" %s %" PRId64 ".%04" PRId64, what, price / 10000, (price < 0 ? -price : price) % 10000);
}

int main(int argc, char **argv)
{
	const char *ring = argc > 1 ? argv[1] : "fh-1";
	struct fh_consumer *c;
	struct fh_event ev[256];
	uint64_t events = 0, trades = 0, tops = 0;
	char err[256];
	int n;

	if (fh_attach(ring, FH_START_OLDEST, &c, err, sizeof(err)) != 0) {
		fprintf(stderr, "strategy: %s\n", err);
		return 1;
	}
	while (!fh_stopped(c)) {
		n = fh_poll(c, ev, 256);
		if (n == FH_POLL_LAPPED) {
			fprintf(stderr, "strategy: lapped, %" PRIu64 " events lost\n", fh_lost_last(c));
			continue;
		}
		if (n == FH_POLL_RESTARTED) {
			if (fh_reattach(c, err, sizeof(err)) != 0) {
				fprintf(stderr, "strategy: %s\n", err);
				break;
			}
			continue;
		}
		if (n == FH_POLL_BROKEN) {	/* the ring contradicts itself: say why, stop */
			fprintf(stderr, "strategy: %s\n", fh_error(c));
			break;
		}
		if (n == 0) {
			usleep(100);	/* nothing new: a real strategy would spin or do other work */
			continue;
		}
		for (int i = 0; i < n; i++) {
			const struct fh_event *e = &ev[i];

			events++;
			if (e->type == FH_EVENT_INSTRUMENT_DEFINED && e->instrument < SYMBOLS_MAX) {
				memcpy(symbols[e->instrument], e->body.instrument.symbol, 16);
			} else if (e->type == FH_EVENT_TRADE) {
				trades++;
				printf("%s trade %u", symbol_of(e->instrument), e->quantity);
				price_print("@", e->body.trade.price);
				printf("\n");
			} else if (e->type == FH_EVENT_TOP_OF_BOOK) {
				tops++;
				printf("%s top %u", symbol_of(e->instrument), e->body.top.bid_shares);
				price_print("bid", e->body.top.bid_price);
				price_print("ask", e->body.top.ask_price);
				printf(" %u\n", e->body.top.ask_shares);
			}
		}
	}
	printf("%" PRIu64 " events, %" PRIu64 " trades, %" PRIu64 " tops, %" PRIu64 " lost\n", events, trades, tops,
	       fh_lost_total(c));
	fh_detach(c);
	return 0;
}
