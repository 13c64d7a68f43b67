/*
 * mdp3-book-replay: the MDP3 books (book/mdp3/, fed through decoders/cme_mdp3/mdp3_apply)
 * over one line of a classic pcap, for tests/test_mdp3_book_ref.sh to compare with
 * tests/ref_mdp3.py. It is not fhd: no arbitration, no RptSeq, no recovery; every
 * datagram to the line's group and port is walked in capture order, its 46 entries
 * and orders, 47 orders, definitions and channel resets applied as they come. So it
 * agrees with the reference only on a clean one-line session whose instruments start
 * at RptSeq 1, which is what the test sends. Prints the dump of the book asked for
 * (mbp, implied or mbo) on stdout and the book's refusals on stderr; exits 1 when
 * mdp3_book_check fails at the end.
 * Usage: mdp3-book-replay PCAP mbp|implied|mbo [GROUP PORT] (default 224.0.31.1 14310).
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/mdp3/mdp3_book.h"
#include "decoders/cme_mdp3/mdp3_apply.h"
#include "feed/packet.h"

#define REPLAY_INSTRUMENTS 4096
#define REPLAY_ORDERS 65536
#define REPLAY_FILE_MAX (256u << 20)

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int main(int argc, char **argv)
{
	struct mdp3_book_config config = { .instruments_max = REPLAY_INSTRUMENTS, .orders_max = REPLAY_ORDERS,
					   .depth_max = LEVEL_BOOK_DEPTH_MAX, .implied_depth_max = 16 };
	struct mdp3_book *book;
	struct mdp3_stats stats = { 0 };
	struct in_addr group;
	uint32_t port;
	uint8_t *file;
	size_t len, at = 24;
	FILE *in;
	const char *name = "cme";
	int rc;

	if (argc != 3 && argc != 5) {
		fprintf(stderr, "usage: mdp3-book-replay PCAP mbp|implied|mbo [GROUP PORT]\n");
		return 2;
	}
	if (inet_pton(AF_INET, argc == 5 ? argv[3] : "224.0.31.1", &group) != 1) {
		fprintf(stderr, "mdp3-book-replay: bad group\n");
		return 2;
	}
	port = argc == 5 ? (uint32_t)strtoul(argv[4], NULL, 10) : 14310;
	in = fopen(argv[1], "rb");
	file = malloc(REPLAY_FILE_MAX);
	book = mdp3_book_create(&config);
	if (in == NULL || file == NULL || book == NULL) {
		fprintf(stderr, "mdp3-book-replay: cannot open %s or allocate\n", argv[1]);
		return 2;
	}
	len = fread(file, 1, REPLAY_FILE_MAX, in);
	fclose(in);
	/* Classic pcap, little-endian, Ethernet (the reference's craft writes nothing else). */
	if (len < 24 || (le32(file) != 0xa1b2c3d4u && le32(file) != 0xa1b23c4du) || le32(file + 20) != 1) {
		fprintf(stderr, "mdp3-book-replay: %s: not a little-endian Ethernet pcap\n", argv[1]);
		return 2;
	}
	while (at + 16 <= len) {
		uint32_t captured = le32(file + at + 8);
		struct packet_udp udp;
		struct mdp3_packet packet;
		struct mdp3_message m;

		if (captured > len - at - 16)
			break;
		if (packet_udp_parse(file + at + 16, captured, &udp) == PACKET_UDP && udp.dst_ip == ntohl(group.s_addr) &&
		    udp.dst_port == port && mdp3_packet_open(&packet, udp.payload, udp.payload_len, &stats) == 0) {
			while (mdp3_packet_next(&packet, &stats, &m))
				mdp3_apply_message(book, &m, &stats);
		}
		at += 16 + captured;
	}
	if (strcmp(argv[2], "mbo") == 0)
		rc = mdp3_book_orders_dump_write(stdout, &book, &name, 1);
	else
		rc = mdp3_book_dump_write(stdout, &book, &name, 1,
					  strcmp(argv[2], "implied") == 0 ? MDP3_BOOK_IMPLIED : MDP3_BOOK_MBP);
	fprintf(stderr,
		"mdp3-book-replay: applied %" PRIu64 " bad_level %" PRIu64 " out_of_order %" PRIu64 " null_price %" PRIu64
		" orders_full %" PRIu64 " unknown_order %" PRIu64 " bad_reference %" PRIu64 " resets %" PRIu64 "\n",
		book->stats.entries_applied, book->stats.bad_level, book->stats.out_of_order, book->stats.null_price,
		book->stats.orders_full, book->stats.unknown_order, book->stats.bad_reference, book->stats.book_resets);
	if (!mdp3_book_check(book)) {
		fprintf(stderr, "mdp3-book-replay: mdp3_book_check failed\n");
		rc = 1;
	}
	mdp3_book_destroy(book);
	free(file);
	return rc != 0;
}
