/*
 * packet: L2-L4 parsing (see packet.h). Offsets per IEEE 802.3/802.1Q, RFC 791 and
 * RFC 768. Ethernet padding after the IP datagram is allowed and ignored. The cooked
 * headers are libpcap's LINKTYPE_LINUX_SLL (16 bytes: packet type, ARPHRD type,
 * address length, 8 address bytes, protocol) and LINKTYPE_LINUX_SLL2 (20 bytes:
 * protocol, reserved, interface index, ARPHRD type, packet type, address length,
 * 8 address bytes); their protocol field is an ethertype.
 */
#include "feed/packet.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "book/util/wire.h"

#define PACKET_ETH_LEN 14
#define PACKET_VLAN_LEN 4
#define PACKET_ETHERTYPE_IPV4 0x0800
#define PACKET_ETHERTYPE_VLAN 0x8100
#define PACKET_IP_PROTO_UDP 17
#define PACKET_UDP_LEN 8
#define PACKET_ETHERTYPE_IPV6 0x86dd
#define PACKET_SLL_LEN 16
#define PACKET_SLL2_LEN 20

_Static_assert(PACKET_LINK_HEADROOM == PACKET_ETH_LEN, "a raw frame gets a whole Ethernet header");

void packet_group_mac(uint32_t group_ip, uint8_t mac[6])
{
	mac[0] = 0x01;
	mac[1] = 0x00;
	mac[2] = 0x5e;
	mac[3] = (uint8_t)((group_ip >> 16) & 0x7f);
	mac[4] = (uint8_t)(group_ip >> 8);
	mac[5] = (uint8_t)group_ip;
}

/* The destination MAC of an IP packet: its IPv4 group's, else zero (RFC 1112 §6.4). */
static void packet_dst_mac(const uint8_t *ip, uint32_t len, uint8_t mac[6])
{
	memset(mac, 0, 6);
	if (len >= 20 && (ip[0] >> 4) == 4 && (ip[16] & 0xf0) == 0xe0)
		packet_group_mac(wire_be32(ip + 16), mac);
}

int packet_link_to_ethernet(enum packet_link link, uint8_t *frame, uint32_t len, int32_t *shift)
{
	uint8_t dst[6], src[6] = { 0 }, type[2];
	uint16_t ethertype;
	uint8_t *eth;

	assert(frame != NULL && shift != NULL);
	switch (link) {
	case PACKET_LINK_ETHERNET:
		*shift = 0;
		return 0;
	case PACKET_LINK_RAW:
		if (len < 1)
			return -EMSGSIZE;
		/* The version nibble says which IP; anything else is no IP at all (type 0). */
		ethertype = (frame[0] >> 4) == 4 ? PACKET_ETHERTYPE_IPV4 :
			    (frame[0] >> 4) == 6 ? PACKET_ETHERTYPE_IPV6 : 0;
		type[0] = (uint8_t)(ethertype >> 8);
		type[1] = (uint8_t)ethertype;
		packet_dst_mac(frame, len, dst);
		*shift = -PACKET_ETH_LEN;
		break;
	case PACKET_LINK_LINUX_SLL:
		if (len < PACKET_SLL_LEN)
			return -EMSGSIZE;
		if (wire_be16(frame + 4) == 6)
			memcpy(src, frame + 6, 6);
		memcpy(type, frame + 14, 2);
		packet_dst_mac(frame + PACKET_SLL_LEN, len - PACKET_SLL_LEN, dst);
		*shift = PACKET_SLL_LEN - PACKET_ETH_LEN;
		break;
	case PACKET_LINK_LINUX_SLL2:
		if (len < PACKET_SLL2_LEN)
			return -EMSGSIZE;
		if (frame[11] == 6)
			memcpy(src, frame + 12, 6);
		memcpy(type, frame, 2);
		packet_dst_mac(frame + PACKET_SLL2_LEN, len - PACKET_SLL2_LEN, dst);
		*shift = PACKET_SLL2_LEN - PACKET_ETH_LEN;
		break;
	default:
		assert(!"unknown link type");
		return -EINVAL;
	}
	/*
	 * Everything the new header needs was read above: now it may overwrite the old.
	 * It starts at most PACKET_LINK_HEADROOM before the frame and ends inside it.
	 */
	assert(*shift >= -PACKET_LINK_HEADROOM && (int64_t)*shift + PACKET_ETH_LEN <= (int64_t)len);
	eth = frame + *shift;
	memcpy(eth, dst, 6);
	memcpy(eth + 6, src, 6);
	memcpy(eth + 12, type, 2);
	return 0;
}

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
	/* The payload lies wholly inside the frame. */
	assert(out->payload >= frame + PACKET_ETH_LEN && out->payload_len <= len - (uint32_t)(out->payload - frame));
	return PACKET_UDP;
}

uint16_t packet_checksum(const uint8_t *data, uint32_t len)
{
	uint64_t sum = 0;
	uint32_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += wire_be16(data + i);
	if (i < len)
		sum += (uint32_t)data[i] << 8;	/* an odd last byte, padded with zero */
	while (sum > 0xffff)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

void packet_udp_headers_write(uint8_t *frame, uint32_t src_ip, uint16_t src_port, uint32_t dst_ip,
			      uint16_t dst_port, uint32_t payload_len)
{
	uint8_t *ip = frame + PACKET_ETH_LEN, *udp = ip + 20;

	_Static_assert(PACKET_UDP_HEADERS_LEN == PACKET_ETH_LEN + 20 + PACKET_UDP_LEN, "no options, no tag");
	assert(payload_len <= 0xffff - 20 - PACKET_UDP_LEN);
	memset(frame, 0, PACKET_UDP_HEADERS_LEN);
	wire_put_be16(frame + 12, PACKET_ETHERTYPE_IPV4);
	ip[0] = 0x45;	/* version 4, 5 words */
	wire_put_be16(ip + 2, (uint16_t)(20 + PACKET_UDP_LEN + payload_len));
	wire_put_be16(ip + 6, 0x4000);	/* Don't Fragment */
	ip[8] = 64;
	ip[9] = PACKET_IP_PROTO_UDP;
	wire_put_be32(ip + 12, src_ip);
	wire_put_be32(ip + 16, dst_ip);
	wire_put_be16(ip + 10, packet_checksum(ip, 20));
	wire_put_be16(udp, src_port);
	wire_put_be16(udp + 2, dst_port);
	wire_put_be16(udp + 4, (uint16_t)(PACKET_UDP_LEN + payload_len));
	/* udp + 6: checksum 0, "no checksum" (RFC 768) */
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
