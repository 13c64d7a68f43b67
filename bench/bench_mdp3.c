/*
 * bench-mdp3: fh's CME MDP 3.0 decode, and decode+book, on one core, over line A of a
 * capture held in memory. Line A's UDP payloads (default 224.0.31.1:14310) are loaded
 * with libpcap, keeping a packet only when its MsgSeqNum is past the last one kept (the
 * first copy of each, in order); then every pass walks every packet with
 * mdp3_packet_open/mdp3_packet_next:
 *  - decode only: every entry, order, status and definition read into its struct and
 *    a few fields summed, no book (what a handler with empty callbacks does);
 *  - decode+book: every message applied to fresh books by mdp3_apply_message (no
 *    RptSeq or recovery: the session is clean);
 *  - each once more with the TSC read around each packet: p50 and p99 per packet.
 * Prints the best and the median pass of each, per message and per packet; never fails
 * on time (exits 1 only when mdp3_book_check fails at the end). Usage: bench-mdp3 PCAP [passes] [GROUP PORT].
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdbool.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include "book/mdp3/mdp3_book.h"
#include "book/util/clock.h"
#include "decoders/cme_mdp3/mdp3_apply.h"
#include "feed/packet.h"

#define BENCH_PASSES_MAX 64
#define BENCH_INSTRUMENTS 4096
#define BENCH_ORDERS (1u << 20)

/* Line A in memory: packet i is data[offset[i] .. offset[i] + len[i]). */
struct bench_line {
	uint8_t *data;
	size_t bytes, cap;
	uint32_t *offset, *len;
	size_t packets, packets_cap;
	uint64_t messages;
};

static int line_add(struct bench_line *line, const uint8_t *payload, uint32_t len)
{
	if (line->bytes + len > line->cap) {
		line->cap = (line->bytes + len) * 2;
		if ((line->data = realloc(line->data, line->cap)) == NULL)
			return -1;
	}
	if (line->packets == line->packets_cap) {
		line->packets_cap = line->packets_cap ? line->packets_cap * 2 : 4096;
		line->offset = realloc(line->offset, line->packets_cap * sizeof(*line->offset));
		line->len = realloc(line->len, line->packets_cap * sizeof(*line->len));
		if (line->offset == NULL || line->len == NULL)
			return -1;
	}
	memcpy(line->data + line->bytes, payload, len);
	line->offset[line->packets] = (uint32_t)line->bytes;
	line->len[line->packets++] = len;
	line->bytes += len;
	return 0;
}

static int line_load(struct bench_line *line, const char *path, uint32_t group, uint16_t port)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const uint8_t *frame;
	uint32_t last = 0;
	pcap_t *p = pcap_open_offline(path, err);

	if (p == NULL) {
		fprintf(stderr, "bench-mdp3: %s\n", err);
		return -1;
	}
	while (pcap_next_ex(p, &h, &frame) == 1) {
		struct packet_udp udp;
		uint32_t seq;

		if (packet_udp_parse(frame, h->caplen, &udp) != PACKET_UDP || udp.dst_ip != group ||
		    udp.dst_port != port || udp.payload_len < MDP3_PACKET_HEADER_LEN)
			continue;
		memcpy(&seq, udp.payload, sizeof(seq));
		if (seq <= last)
			continue;
		last = seq;
		if (line_add(line, udp.payload, udp.payload_len) != 0) {
			pcap_close(p);
			return -1;
		}
	}
	pcap_close(p);
	return 0;
}

/* Decode only: every struct a template carries read, a few fields of each summed. */
static uint64_t decode_message(const struct mdp3_message *message, struct mdp3_stats *stats)
{
	struct mdp3_md_entry e;
	struct mdp3_order o;
	struct mdp3_security_status s;
	struct mdp3_definition d;
	uint64_t sum = 0;

	switch (message->template_id) {
	case MDP3_SECURITY_STATUS:
		mdp3_security_status_read(message, &s);
		return (uint64_t)s.security_id + s.trading_status;
	case MDP3_DEFINITION_FUTURE:
	case MDP3_DEFINITION_OPTION:
	case MDP3_DEFINITION_SPREAD:
		if (mdp3_definition_read(message, &d, stats))
			sum = (uint64_t)d.security_id + (uint64_t)d.min_price_increment;
		return sum;
	case MDP3_ORDER_BOOK:
		break;
	case MDP3_ADMIN_HEARTBEAT:
		return 1;
	default:
		for (uint32_t k = 0; k < mdp3_md_entries(message); k++)
			if (mdp3_md_entry_read(message, k, &e, stats))
				sum += (uint64_t)e.price + e.size + (uint64_t)e.security_id + e.level + e.action;
		break;
	}
	switch (message->template_id) {
	case MDP3_BOOK:
	case MDP3_BOOK_LONG_QTY:
	case MDP3_ORDER_BOOK:
	case MDP3_TRADE_SUMMARY:
	case MDP3_TRADE_SUMMARY_LONG_QTY:
		for (uint32_t k = 0; k < mdp3_orders(message); k++)
			if (mdp3_order_read(message, k, &o, stats))
				sum += o.order_id + o.quantity + o.priority + o.action;
		break;
	default:
		break;
	}
	return sum;
}

/*
 * One pass over line A: decode only (book NULL: the sum of decode_message), or decode
 * and apply to book. With ticks, the TSC ticks each packet took.
 */
static uint64_t pass(const struct bench_line *line, struct mdp3_book *book, struct mdp3_stats *stats, uint64_t *ticks)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < line->packets; i++) {
		struct mdp3_packet packet;
		struct mdp3_message m;
		uint64_t t0 = ticks ? __rdtsc() : 0;

		if (mdp3_packet_open(&packet, line->data + line->offset[i], line->len[i], stats) == 0)
			while (mdp3_packet_next(&packet, stats, &m)) {
				if (book)
					mdp3_apply_message(book, &m, stats);
				else
					sum += decode_message(&m, stats);
			}
		if (ticks)
			ticks[i] = __rdtsc() - t0;
	}
	return sum;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* p50 and p99 of one pass's ticks per packet, in ns. */
static void report_packets(const char *label, uint64_t *ticks, const struct bench_line *line, double ns_per_tick)
{
	qsort(ticks, line->packets, sizeof(*ticks), cmp_u64);
	printf("  %-34s p50 %.0f ns, p99 %.0f ns\n", label, (double)ticks[line->packets / 2] * ns_per_tick,
	       (double)ticks[line->packets * 99 / 100] * ns_per_tick);
}

static void report(const char *label, uint64_t *ns, int passes, const struct bench_line *line)
{
	qsort(ns, (size_t)passes, sizeof(*ns), cmp_u64);
	printf("  %-34s %.1f ns/msg best, %.1f median; %.1f ns/packet best\n", label,
	       (double)ns[0] / (double)line->messages, (double)ns[passes / 2] / (double)line->messages,
	       (double)ns[0] / (double)line->packets);
}

int main(int argc, char **argv)
{
	struct mdp3_book_config config = { .instruments_max = BENCH_INSTRUMENTS, .orders_max = BENCH_ORDERS,
					   .depth_max = LEVEL_BOOK_DEPTH_MAX, .implied_depth_max = 16 };
	struct bench_line line = { 0 };
	struct mdp3_stats stats = { 0 };
	uint64_t decode_ns[BENCH_PASSES_MAX], book_ns[BENCH_PASSES_MAX], sum = 0, *ticks, *decode_ticks, t0, c0;
	struct in_addr group;
	struct mdp3_book *book;
	int passes = argc > 2 ? atoi(argv[2]) : 5;
	double ns_per_tick;
	bool ok;

	if (argc != 2 && argc != 3 && argc != 5) {
		fprintf(stderr, "usage: bench-mdp3 PCAP [passes] [GROUP PORT]\n");
		return 2;
	}
	if (passes < 1 || passes > BENCH_PASSES_MAX || inet_pton(AF_INET, argc == 5 ? argv[3] : "224.0.31.1", &group) != 1) {
		fprintf(stderr, "bench-mdp3: passes 1..%d, GROUP an IPv4 address\n", BENCH_PASSES_MAX);
		return 2;
	}
	if (line_load(&line, argv[1], ntohl(group.s_addr), (uint16_t)(argc == 5 ? atoi(argv[4]) : 14310)) != 0)
		return 1;
	book = mdp3_book_create(&config);
	ticks = malloc((line.packets + 1) * sizeof(*ticks));
	decode_ticks = malloc((line.packets + 1) * sizeof(*decode_ticks));
	if (book == NULL || ticks == NULL || decode_ticks == NULL || line.packets == 0) {
		fprintf(stderr, "bench-mdp3: no line A packet in %s, or no memory\n", argv[1]);
		return 1;
	}
	pass(&line, NULL, &stats, NULL);	/* warm up; counts the messages */
	line.messages = stats.messages;
	for (int r = 0; r < passes; r++) {
		t0 = clock_monotonic_ns();
		sum += pass(&line, NULL, &stats, NULL);
		decode_ns[r] = clock_monotonic_ns() - t0;
	}
	for (int r = 0; r < passes; r++) {
		mdp3_book_clear(book);
		t0 = clock_monotonic_ns();
		pass(&line, book, &stats, NULL);
		book_ns[r] = clock_monotonic_ns() - t0;
	}
	t0 = clock_monotonic_ns();
	c0 = __rdtsc();
	sum += pass(&line, NULL, &stats, decode_ticks);
	ns_per_tick = (double)(clock_monotonic_ns() - t0) / (double)(__rdtsc() - c0);
	mdp3_book_clear(book);
	memset(&book->stats, 0, sizeof(book->stats));	/* the last pass's counts alone */
	pass(&line, book, &stats, ticks);

	printf("  line A: %zu packets, %" PRIu64 " messages (%.2f per packet), %d passes; checksum %" PRIu64 "\n",
	       line.packets, line.messages, (double)line.messages / (double)line.packets, passes, sum & 0xffff);
	report("fh decode only (fields summed):", decode_ns, passes, &line);
	report("fh decode+book:", book_ns, passes, &line);
	report_packets("fh decode only per packet (TSC):", decode_ticks, &line, ns_per_tick);
	report_packets("fh decode+book per packet (TSC):", ticks, &line, ns_per_tick);
	ok = mdp3_book_check(book);
	printf("  book after the last pass: %" PRIu64 " entries applied, %" PRIu64 " refused, check %s\n",
	       book->stats.entries_applied, book->stats.bad_level + book->stats.out_of_order + book->stats.bad_reference,
	       ok ? "ok" : "FAILED");
	mdp3_book_destroy(book);
	free(ticks);
	free(decode_ticks);
	free(line.data);
	free(line.offset);
	free(line.len);
	return ok ? 0 : 1;
}
