/*
 * packet: Ethernet / 802.1Q / IPv4 / UDP parsing of a received frame, with every
 * length checked against what was actually received. It says how far it got, so a
 * bad packet can still be attributed to the feed line it was addressed to.
 */
#ifndef FH_FEED_PACKET_H
#define FH_FEED_PACKET_H

#include <stdint.h>

enum packet_verdict {
	PACKET_UDP = 0,		/* a whole UDP datagram: payload is valid */
	PACKET_NOT_IPV4,	/* another ethertype (ARP, IPv6, LLDP): not ours */
	PACKET_NOT_UDP,		/* IPv4 but another protocol */
	PACKET_TRUNCATED,	/* shorter than its headers claim */
	PACKET_BAD_IP,		/* IPv4 version, header length or total length invalid */
	PACKET_FRAGMENT,	/* IPv4 fragment: feeds never fragment; dropped */
	PACKET_BAD_UDP,		/* UDP length does not fit the IP payload */
	PACKET_VERDICTS
};

struct packet_udp {
	uint32_t src_ip;	/* host byte order; valid from PACKET_NOT_UDP on */
	uint32_t dst_ip;
	uint16_t src_port;	/* valid when has_ports */
	uint16_t dst_port;
	uint8_t has_ports;
	const uint8_t *payload;	/* valid for PACKET_UDP */
	uint32_t payload_len;
};

/* Parses frame[0..len). Fills what it could read, returns how far it got. */
enum packet_verdict packet_udp_parse(const uint8_t *frame, uint32_t len, struct packet_udp *out);

/* A short name for a verdict, for counters ("fragment", "bad_udp", ...). */
const char *packet_verdict_name(enum packet_verdict verdict);

#endif
