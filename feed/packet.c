/*
 * packet: L2-L4 parsing (see packet.h). Offsets per IEEE 802.3/802.1Q, RFC 791 and
 * RFC 768. Ethernet padding after the IP datagram is allowed and ignored.
 */
#include "feed/packet.h"

#include <stddef.h>

#include "decoders/wire.h"

#define PACKET_ETH_LEN 14
#define PACKET_VLAN_LEN 4
#define PACKET_ETHERTYPE_IPV4 0x0800
#define PACKET_ETHERTYPE_VLAN 0x8100
#define PACKET_IP_PROTO_UDP 17
#define PACKET_UDP_LEN 8

enum packet_verdict packet_udp_parse(const uint8_t *frame, uint32_t len, struct packet_udp *out)
{
	uint32_t l3 = PACKET_ETH_LEN, ihl, total, fragment, udp_len;
	const uint8_t *ip, *udp;
	uint16_t ethertype;

	out->has_ports = 0;
	out->src_ip = out->dst_ip = 0;
	if (len < PACKET_ETH_LEN)
		return PACKET_TRUNCATED;
	ethertype = wire_be16(frame + 12);
	if (ethertype == PACKET_ETHERTYPE_VLAN) {
		if (len < PACKET_ETH_LEN + PACKET_VLAN_LEN)
			return PACKET_TRUNCATED;
		ethertype = wire_be16(frame + 16);
		l3 += PACKET_VLAN_LEN;
	}
	if (ethertype != PACKET_ETHERTYPE_IPV4)
		return PACKET_NOT_IPV4;
	if (len - l3 < 20)
		return PACKET_TRUNCATED;
	ip = frame + l3;
	out->src_ip = wire_be32(ip + 12);
	out->dst_ip = wire_be32(ip + 16);
	ihl = (uint32_t)(ip[0] & 0x0f) * 4;
	total = wire_be16(ip + 2);
	if ((ip[0] >> 4) != 4 || ihl < 20 || total < ihl)
		return PACKET_BAD_IP;
	if (total > len - l3)
		return PACKET_TRUNCATED;
	if (ip[9] != PACKET_IP_PROTO_UDP)
		return PACKET_NOT_UDP;
	fragment = wire_be16(ip + 6);
	if (fragment & 0x3fff) /* More Fragments, or a fragment offset */
		return PACKET_FRAGMENT;
	if (total - ihl < PACKET_UDP_LEN)
		return PACKET_TRUNCATED;
	udp = ip + ihl;
	out->src_port = wire_be16(udp);
	out->dst_port = wire_be16(udp + 2);
	out->has_ports = 1;
	udp_len = wire_be16(udp + 4);
	if (udp_len < PACKET_UDP_LEN || udp_len > total - ihl)
		return PACKET_BAD_UDP;
	out->payload = udp + PACKET_UDP_LEN;
	out->payload_len = udp_len - PACKET_UDP_LEN;
	return PACKET_UDP;
}

const char *packet_verdict_name(enum packet_verdict verdict)
{
	static const char *const names[PACKET_VERDICTS] = {
		[PACKET_UDP] = "udp", [PACKET_NOT_IPV4] = "not_ipv4",
		[PACKET_NOT_UDP] = "not_udp", [PACKET_TRUNCATED] = "truncated",
		[PACKET_BAD_IP] = "bad_ip", [PACKET_FRAGMENT] = "fragment",
		[PACKET_BAD_UDP] = "bad_udp",
	};

	return (unsigned)verdict < PACKET_VERDICTS ? names[verdict] : "?";
}
