/*
 * test_packet: Ethernet / 802.1Q / IPv4 / UDP parsing. Every way a frame can be cut
 * or lie about its lengths first, each with the verdict and how much of the
 * addressing was still read; then well-formed frames with a VLAN tag, IP options and
 * Ethernet padding. Then the other link types: raw IP and Linux cooked (SLL, SLL2)
 * frames rewritten into Ethernet in place, each cut short of its header first.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "feed/packet.h"
#include "tests/check.h"

/* Builds eth [+ vlan] + IPv4 (ihl words) + UDP + payload; returns the frame length. */
static uint32_t frame_build(uint8_t *f, int vlan, int ihl, uint32_t payload, int pad)
{
	uint32_t l3 = vlan ? 18 : 14, ip_len = (uint32_t)ihl * 4 + 8 + payload;

	memset(f, 0, 2048);
	f[12] = vlan ? 0x81 : 0x08;
	f[13] = 0x00;
	if (vlan) {
		f[14] = 0x00; f[15] = 0x05; f[16] = 0x08; f[17] = 0x00;
	}
	f[l3] = (uint8_t)(0x40 | ihl);
	f[l3 + 2] = (uint8_t)(ip_len >> 8);
	f[l3 + 3] = (uint8_t)ip_len;
	f[l3 + 6] = 0x40;	/* DF */
	f[l3 + 8] = 64;
	f[l3 + 9] = 17;
	memcpy(f + l3 + 12, "\x0a\x00\x00\x01\xe9\x36\x0c\x6f", 8);	/* 10.0.0.1 -> 233.54.12.111 */
	f[l3 + (uint32_t)ihl * 4 + 0] = 0x9c; f[l3 + (uint32_t)ihl * 4 + 1] = 0x41;	/* 40001 */
	f[l3 + (uint32_t)ihl * 4 + 2] = 0x67; f[l3 + (uint32_t)ihl * 4 + 3] = 0x6d;	/* 26477 */
	f[l3 + (uint32_t)ihl * 4 + 4] = (uint8_t)((8 + payload) >> 8);
	f[l3 + (uint32_t)ihl * 4 + 5] = (uint8_t)(8 + payload);
	for (uint32_t i = 0; i < payload; i++)
		f[l3 + (uint32_t)ihl * 4 + 8 + i] = (uint8_t)(i + 1);
	return l3 + ip_len + (uint32_t)pad;
}

/*
 * Builds the same network packet as frame_build under another link header at
 * buf + 32 (leaving headroom before it); *frame is where it starts.
 */
static uint32_t link_build(uint8_t *buf, enum packet_link link, uint8_t **frame)
{
	uint8_t eth[2048];
	uint32_t n = frame_build(eth, 0, 5, 10, 0), at = 32;

	memset(buf, 0xee, 4096);
	*frame = buf + at;
	switch (link) {
	case PACKET_LINK_RAW:
		memcpy(buf + at, eth + 14, n - 14);
		return n - 14;
	case PACKET_LINK_LINUX_SLL:	/* multicast, ARPHRD_ETHER, 6-byte address 02:..:06 */
		memcpy(buf + at, "\x00\x02\x00\x01\x00\x06\x02\x03\x04\x05\x06\x07\x00\x00\x08\x00", 16);
		memcpy(buf + at + 16, eth + 14, n - 14);
		return n + 2;
	case PACKET_LINK_LINUX_SLL2:	/* IPv4, ifindex 3, ARPHRD_ETHER, multicast, 6 bytes */
		memcpy(buf + at, "\x08\x00\x00\x00\x00\x00\x00\x03\x00\x01\x02\x06"
		       "\x02\x03\x04\x05\x06\x07\x00\x00", 20);
		memcpy(buf + at + 20, eth + 14, n - 14);
		return n + 6;
	default:
		memcpy(buf + at, eth, n);
		return n;
	}
}

static void link_tests(void)
{
	static const uint8_t group_mac[6] = { 0x01, 0x00, 0x5e, 0x36, 0x0c, 0x6f };	/* 233.54.12.111 */
	static const uint8_t src_mac[6] = { 0x02, 0x03, 0x04, 0x05, 0x06, 0x07 };
	static const uint8_t zero[6] = { 0 };
	static const int32_t shifts[PACKET_LINKS] = { 0, -14, 2, 6 };
	static const uint32_t headers[PACKET_LINKS] = { 0, 1, 16, 20 };
	uint8_t buf[4096], *frame;
	struct packet_udp u;
	int32_t shift;
	uint32_t n;

	printf("other link types\n");
	for (int link = PACKET_LINK_RAW; link < PACKET_LINKS; link++) {
		/* Cut short of the link header: refused, nothing written anywhere. */
		for (uint32_t len = 0; len < headers[link]; len++) {
			uint8_t before[4096];

			link_build(buf, (enum packet_link)link, &frame);
			memcpy(before, buf, sizeof(buf));
			CHECK(packet_link_to_ethernet((enum packet_link)link, frame, len, &shift) == -EMSGSIZE);
			CHECK(memcmp(before, buf, sizeof(buf)) == 0);
		}
		n = link_build(buf, (enum packet_link)link, &frame);
		CHECK(packet_link_to_ethernet((enum packet_link)link, frame, n, &shift) == 0);
		CHECK(shift == shifts[link]);
		CHECK(packet_udp_parse(frame + shift, (uint32_t)((int32_t)n - shift), &u) == PACKET_UDP &&
		      u.dst_ip == 0xe9360c6f && u.dst_port == 26477 && u.payload_len == 10 && u.payload[9] == 10);
		CHECK(memcmp(frame + shift, group_mac, 6) == 0);
		CHECK(memcmp(frame + shift + 6, link == PACKET_LINK_RAW ? zero : src_mac, 6) == 0);
		/* Nothing before the old frame or the new header was touched. */
		CHECK(buf[32 + (shift < 0 ? shift : 0) - 1] == 0xee);
	}
	/* A cooked frame with no 6-byte address: source MAC zero. */
	n = link_build(buf, PACKET_LINK_LINUX_SLL, &frame);
	frame[5] = 4;
	CHECK(packet_link_to_ethernet(PACKET_LINK_LINUX_SLL, frame, n, &shift) == 0 &&
	      memcmp(frame + shift + 6, zero, 6) == 0);
	/* A cooked frame of another protocol keeps it: not IPv4 for the parser. */
	n = link_build(buf, PACKET_LINK_LINUX_SLL2, &frame);
	frame[0] = 0x86;
	frame[1] = 0xdd;
	CHECK(packet_link_to_ethernet(PACKET_LINK_LINUX_SLL2, frame, n, &shift) == 0 &&
	      packet_udp_parse(frame + shift, n - 6, &u) == PACKET_NOT_IPV4);
	/* Raw IPv6, or no IP at all: an ethertype the parser calls not IPv4; unicast: MAC 0. */
	n = link_build(buf, PACKET_LINK_RAW, &frame);
	frame[0] = 0x60;
	CHECK(packet_link_to_ethernet(PACKET_LINK_RAW, frame, n, &shift) == 0 &&
	      frame[shift + 12] == 0x86 && frame[shift + 13] == 0xdd &&
	      packet_udp_parse(frame + shift, n + 14, &u) == PACKET_NOT_IPV4);
	n = link_build(buf, PACKET_LINK_RAW, &frame);
	frame[16] = 10;	/* 10.54.12.111: not a group */
	CHECK(packet_link_to_ethernet(PACKET_LINK_RAW, frame, n, &shift) == 0 &&
	      memcmp(frame + shift, zero, 6) == 0 && packet_udp_parse(frame + shift, n + 14, &u) == PACKET_UDP);
	n = link_build(buf, PACKET_LINK_RAW, &frame);
	frame[0] = 0x00;
	CHECK(packet_link_to_ethernet(PACKET_LINK_RAW, frame, n, &shift) == 0 &&
	      packet_udp_parse(frame + shift, n + 14, &u) == PACKET_NOT_IPV4);
	/* A raw frame of one byte still gets its header, and the parser calls it cut. */
	n = link_build(buf, PACKET_LINK_RAW, &frame);
	CHECK(packet_link_to_ethernet(PACKET_LINK_RAW, frame, 1, &shift) == 0 &&
	      packet_udp_parse(frame + shift, 15, &u) == PACKET_TRUNCATED);
	/* Ethernet is left alone. */
	n = link_build(buf, PACKET_LINK_ETHERNET, &frame);
	CHECK(packet_link_to_ethernet(PACKET_LINK_ETHERNET, frame, n, &shift) == 0 && shift == 0);
}

/*
 * The headers fhd writes for a recovery reply it journals: what the parser reads back,
 * and an IPv4 header whose words sum to 0xffff (its checksum right, RFC 1071), for the
 * smallest and the largest payload and an address whose words carry in the sum.
 */
static void headers_tests(void)
{
	static const uint32_t payloads[] = { 0, 20, 2048 };
	uint8_t f[42 + 2048];
	struct packet_udp u;

	printf("headers fhd writes\n");
	for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		uint32_t len = payloads[i], sum = 0;

		memset(f, 0xa5, sizeof(f));
		packet_udp_headers_write(f, 0xfffffffe, 65535, 0x7f000001, 40123, len);
		CHECK(packet_udp_parse(f, PACKET_UDP_HEADERS_LEN + len, &u) == PACKET_UDP);
		CHECK(u.src_ip == 0xfffffffe && u.src_port == 65535 && u.dst_ip == 0x7f000001 &&
		      u.dst_port == 40123 && u.payload == f + PACKET_UDP_HEADERS_LEN && u.payload_len == len);
		for (uint32_t w = 14; w < 34; w += 2)
			sum += (uint32_t)f[w] << 8 | f[w + 1];
		while (sum > 0xffff)
			sum = (sum & 0xffff) + (sum >> 16);
		CHECK(sum == 0xffff);
		CHECK(f[40] == 0 && f[41] == 0);	/* UDP checksum: none */
		CHECK(f[PACKET_UDP_HEADERS_LEN] == 0xa5);	/* the payload is not touched */
		/* One byte short: cut. */
		CHECK(packet_udp_parse(f, PACKET_UDP_HEADERS_LEN + len - 1, &u) == PACKET_TRUNCATED);
	}
}

int main(void)
{
	uint8_t f[2048];
	struct packet_udp u;
	uint32_t n;

	printf("cut and lying frames\n");
	n = frame_build(f, 0, 5, 10, 0);
	CHECK(packet_udp_parse(f, 13, &u) == PACKET_TRUNCATED);
	CHECK(packet_udp_parse(f, 33, &u) == PACKET_TRUNCATED && u.dst_ip == 0);
	CHECK(packet_udp_parse(f, n - 1, &u) == PACKET_TRUNCATED && u.dst_ip == 0xe9360c6f);
	n = frame_build(f, 1, 5, 10, 0);
	CHECK(packet_udp_parse(f, 17, &u) == PACKET_TRUNCATED);
	n = frame_build(f, 0, 5, 10, 0);
	f[12] = 0x86; f[13] = 0xdd;
	CHECK(packet_udp_parse(f, n, &u) == PACKET_NOT_IPV4);
	n = frame_build(f, 0, 5, 10, 0);
	f[14] = 0x65;
	CHECK(packet_udp_parse(f, n, &u) == PACKET_BAD_IP);
	f[14] = 0x44;
	CHECK(packet_udp_parse(f, n, &u) == PACKET_BAD_IP);
	n = frame_build(f, 0, 5, 10, 0);
	f[16] = 0; f[17] = 19;	/* total length < header */
	CHECK(packet_udp_parse(f, n, &u) == PACKET_BAD_IP);
	n = frame_build(f, 0, 5, 10, 0);
	f[23] = 6;
	CHECK(packet_udp_parse(f, n, &u) == PACKET_NOT_UDP);
	n = frame_build(f, 0, 5, 10, 0);
	f[20] = 0x20;	/* More Fragments */
	CHECK(packet_udp_parse(f, n, &u) == PACKET_FRAGMENT && u.dst_ip == 0xe9360c6f);
	n = frame_build(f, 0, 5, 10, 0);
	f[20] = 0x40; f[21] = 0x10;	/* DF + offset */
	CHECK(packet_udp_parse(f, n, &u) == PACKET_FRAGMENT);
	n = frame_build(f, 0, 5, 10, 0);
	f[38] = 0; f[39] = 7;	/* UDP length < 8 */
	CHECK(packet_udp_parse(f, n, &u) == PACKET_BAD_UDP && u.has_ports && u.dst_port == 26477);
	f[39] = 19;		/* UDP length > IP payload */
	CHECK(packet_udp_parse(f, n, &u) == PACKET_BAD_UDP);
	n = frame_build(f, 0, 5, 0, 0);
	f[16] = 0; f[17] = 24;	/* IP payload shorter than a UDP header */
	CHECK(packet_udp_parse(f, n, &u) == PACKET_TRUNCATED);

	printf("well-formed frames\n");
	n = frame_build(f, 0, 5, 10, 0);
	CHECK(packet_udp_parse(f, n, &u) == PACKET_UDP && u.payload_len == 10 && u.payload[0] == 1 &&
	      u.src_ip == 0x0a000001 && u.dst_ip == 0xe9360c6f && u.src_port == 40001 &&
	      u.dst_port == 26477);
	n = frame_build(f, 1, 5, 10, 0);
	CHECK(packet_udp_parse(f, n, &u) == PACKET_UDP && u.payload_len == 10 && u.payload == f + 18 + 28);
	n = frame_build(f, 0, 7, 10, 0);
	CHECK(packet_udp_parse(f, n, &u) == PACKET_UDP && u.payload == f + 14 + 28 + 8 && u.payload[9] == 10);
	n = frame_build(f, 0, 5, 2, 16);	/* padded to the Ethernet minimum */
	CHECK(packet_udp_parse(f, n, &u) == PACKET_UDP && u.payload_len == 2);
	CHECK(strcmp(packet_verdict_name(PACKET_FRAGMENT), "fragment") == 0);
	link_tests();
	headers_tests();
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
