/*
 * test_packet: Ethernet / 802.1Q / IPv4 / UDP parsing. Every way a frame can be cut
 * or lie about its lengths first, each with the verdict and how much of the
 * addressing was still read; then well-formed frames with a VLAN tag, IP options and
 * Ethernet padding.
 */
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
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
