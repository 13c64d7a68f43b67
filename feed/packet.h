/*
 * packet: Ethernet / 802.1Q / IPv4 / UDP parsing of a received frame, with every
 * length checked against what was actually received (and the headers of the one
 * kind of frame fhd writes itself). It says how far it got, so a
 * bad packet can still be attributed to the feed line it was addressed to. Frames of
 * the other link types a capture may hold (raw IP, Linux cooked SLL and SLL2) are
 * first rewritten into Ethernet frames in place, so the parser, the journal and
 * everything after them only ever see Ethernet.
 */
#ifndef FH_FEED_PACKET_H
#define FH_FEED_PACKET_H

#include <stdint.h>

/* The link layer a frame starts with: one per port (a capture's link type). */
enum packet_link {
	PACKET_LINK_ETHERNET = 0,	/* IEEE 802.3 Ethernet (DLT_EN10MB) */
	PACKET_LINK_RAW,		/* the IP header first (DLT_RAW, DLT_IPV4) */
	PACKET_LINK_LINUX_SLL,		/* Linux cooked capture, 16-byte header (tcpdump -i any) */
	PACKET_LINK_LINUX_SLL2,		/* Linux cooked capture v2, 20-byte header */
	PACKET_LINKS
};

/* Bytes packet_link_to_ethernet may write before the frame (a raw IP frame). */
#define PACKET_LINK_HEADROOM 14

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

/*
 * Rewrites a frame of another link type, in place, into the Ethernet frame carrying
 * the same network packet: a raw IP frame gets a 14-byte header written in the
 * PACKET_LINK_HEADROOM bytes before `frame` (which must be writable), a cooked one
 * has its header turned into an Ethernet header (its ethertype kept, its source
 * address as source MAC when 6 bytes long). The destination MAC is the IPv4 group's
 * (RFC 1112 §6.4) when the packet is IPv4 multicast, else zero. On success *shift is
 * where the Ethernet frame starts relative to `frame` (-14, +2 or +6) and 0 is
 * returned; -EMSGSIZE when len is shorter than the link header (nothing written).
 * An Ethernet frame is left as it is (shift 0).
 */
int packet_link_to_ethernet(enum packet_link link, uint8_t *frame, uint32_t len, int32_t *shift);

/* Bytes packet_udp_headers_write writes: Ethernet, IPv4 without options, UDP. */
#define PACKET_UDP_HEADERS_LEN 42

/*
 * Writes the PACKET_UDP_HEADERS_LEN bytes of headers for a UDP datagram of payload_len
 * bytes (at most 65507) from src_ip:src_port to dst_ip:dst_port (host byte order) at
 * frame: Ethernet with zero MAC addresses, IPv4 (DF, TTL 64) with its header checksum
 * right, UDP with checksum 0 (none, RFC 768). For frames fhd makes of what it took
 * through a socket (a recovery reply, for the journal); packet_udp_parse reads them.
 */
void packet_udp_headers_write(uint8_t *frame, uint32_t src_ip, uint16_t src_port, uint32_t dst_ip,
			      uint16_t dst_port, uint32_t payload_len);

/*
 * The Internet checksum of data[0..len) (RFC 1071): the one's complement of the one's
 * complement sum of its 16-bit big-endian words, an odd last byte padded with zero.
 * Over bytes whose checksum field holds the right value it is 0.
 */
uint16_t packet_checksum(const uint8_t *data, uint32_t len);

/* The Ethernet address an IPv4 group maps to (RFC 1112 §6.4): 01:00:5e and its low 23 bits. */
void packet_group_mac(uint32_t group_ip, uint8_t mac[6]);

/* A short name for a verdict, for counters ("fragment", "bad_udp", ...). */
const char *packet_verdict_name(enum packet_verdict verdict);

#endif
