/*
 * frame: the Ethernet II [802.1Q] / IPv4 / UDP multicast framing fh-pcap puts around
 * every packet, and the parse of it that inject needs to tell the lines apart and to
 * corrupt a packet consistently. net_config says which groups, ports and addresses
 * each line uses; the defaults are those of fh's default config.
 */
#include <assert.h>

#include "fh_pcap.h"

void net_config_default(struct net_config *net)
{
	net->group[LINE_A] = 233u << 24 | 54u << 16 | 12u << 8 | 111u;
	net->group[LINE_B] = 233u << 24 | 49u << 16 | 196u << 8 | 111u;
	net->source_ip[LINE_A] = 10u << 24 | 1u;
	net->source_ip[LINE_B] = 10u << 24 | 2u;
	net->source_port[LINE_A] = 40001;
	net->source_port[LINE_B] = 40002;
	net->dest_port[LINE_A] = 26477;
	net->dest_port[LINE_B] = 26477;
	net->vlan_id = -1;
}

static uint32_t checksum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += wire_be16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t checksum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Sets the header checksum of the IPv4 header at ip (no options). */
void ipv4_set_checksum(uint8_t *ip)
{
	put_u16(ip + 10, 0);
	put_u16(ip + 10, checksum_fold(checksum_add(0, ip, IPV4_HEADER_LEN)));
}

/* RFC 768 checksum over the pseudo-header; a computed 0 is sent as 0xffff. */
static void udp_set_checksum(const uint8_t *ip, uint8_t *udp, size_t udp_len)
{
	uint32_t sum = 0;
	uint16_t folded;

	put_u16(udp + 6, 0);
	sum = checksum_add(sum, ip + 12, 8);
	sum += IPV4_PROTO_UDP + (uint32_t)udp_len;
	sum = checksum_add(sum, udp, udp_len);
	folded = checksum_fold(sum);
	put_u16(udp + 6, folded ? folded : 0xffff);
}

/*
 * Builds one Ethernet II [802.1Q] / IPv4 / UDP frame for the given line into
 * frame (at least FRAME_HEADERS_MAX + payload_len bytes). Returns its length.
 */
size_t frame_build(uint8_t *frame, const struct net_config *net, int line,
		   uint16_t ip_id, const uint8_t *payload, size_t payload_len)
{
	uint32_t group = net->group[line];
	uint8_t *ip, *udp;
	size_t off = 12;

	assert(line == LINE_A || line == LINE_B);
	assert(payload_len <= 65535 - IPV4_HEADER_LEN - UDP_HEADER_LEN);
	/* RFC 1112 §6.4: 01:00:5e + low 23 bits of the group. */
	frame[0] = 0x01;
	frame[1] = 0x00;
	frame[2] = 0x5e;
	frame[3] = (group >> 16) & 0x7f;
	frame[4] = group >> 8;
	frame[5] = group;
	memcpy(frame + 6, "\x02\x00\x00\x00\x00", 5);
	frame[11] = line == LINE_A ? 0x0a : 0x0b;
	if (net->vlan_id >= 0) {
		put_u16(frame + off, ETH_TYPE_VLAN);
		put_u16(frame + off + 2, (uint16_t)net->vlan_id);
		off += VLAN_TAG_LEN;
	}
	put_u16(frame + off, ETH_TYPE_IPV4);
	off += 2;

	ip = frame + off;
	ip[0] = 0x45;
	ip[1] = 0;
	put_u16(ip + 2, (uint16_t)(IPV4_HEADER_LEN + UDP_HEADER_LEN + payload_len));
	put_u16(ip + 4, ip_id);
	put_u16(ip + 6, 0x4000);		/* DF */
	ip[8] = 64;
	ip[9] = IPV4_PROTO_UDP;
	put_u32(ip + 12, net->source_ip[line]);
	put_u32(ip + 16, group);
	ipv4_set_checksum(ip);

	udp = ip + IPV4_HEADER_LEN;
	put_u16(udp, net->source_port[line]);
	put_u16(udp + 2, net->dest_port[line]);
	put_u16(udp + 4, (uint16_t)(UDP_HEADER_LEN + payload_len));
	memcpy(udp + UDP_HEADER_LEN, payload, payload_len);
	udp_set_checksum(ip, udp, UDP_HEADER_LEN + payload_len);
	return off + IPV4_HEADER_LEN + UDP_HEADER_LEN + payload_len;
}

/* True if frame is a complete, unfragmented IPv4/UDP datagram; fills info. */
bool frame_parse(const uint8_t *frame, size_t len, struct frame_info *info)
{
	size_t off = 12, ip_len, udp_len;
	uint16_t type;

	memset(info, 0, sizeof(*info));
	if (len < ETH_HEADER_LEN)
		return false;
	type = wire_be16(frame + off);
	if (type == ETH_TYPE_VLAN) {
		if (len < ETH_HEADER_LEN + VLAN_TAG_LEN)
			return false;
		info->vlan = true;
		off += VLAN_TAG_LEN;
		type = wire_be16(frame + off);
	}
	off += 2;
	if (type != ETH_TYPE_IPV4 || len < off + IPV4_HEADER_LEN + UDP_HEADER_LEN)
		return false;
	if (frame[off] != 0x45 || frame[off + 9] != IPV4_PROTO_UDP)
		return false;
	if (wire_be16(frame + off + 6) & 0x3fff)	/* MF or fragment offset */
		return false;
	ip_len = wire_be16(frame + off + 2);
	if (ip_len < IPV4_HEADER_LEN + UDP_HEADER_LEN || off + ip_len > len)
		return false;
	udp_len = wire_be16(frame + off + IPV4_HEADER_LEN + 4);
	if (udp_len != ip_len - IPV4_HEADER_LEN)
		return false;
	info->ip_off = off;
	info->udp_off = off + IPV4_HEADER_LEN;
	info->payload_off = info->udp_off + UDP_HEADER_LEN;
	info->payload_len = udp_len - UDP_HEADER_LEN;
	info->dest_ip = wire_be32(frame + off + 16);
	info->dest_port = wire_be16(frame + info->udp_off + 2);
	return true;
}

/* Rewrites IPv4/UDP lengths and checksums after the payload became len bytes. */
size_t frame_set_payload_len(uint8_t *frame, const struct frame_info *info, size_t len)
{
	uint8_t *ip = frame + info->ip_off, *udp = frame + info->udp_off;

	put_u16(ip + 2, (uint16_t)(IPV4_HEADER_LEN + UDP_HEADER_LEN + len));
	ipv4_set_checksum(ip);
	put_u16(udp + 4, (uint16_t)(UDP_HEADER_LEN + len));
	udp_set_checksum(ip, udp, UDP_HEADER_LEN + len);
	return info->payload_off + len;
}
