/*
 * malformed: the corrupted copies `fh-pcap inject --malformed` adds beside a line's
 * packets. Each kind breaks one thing a receiver checks (a message cut short, a
 * MoldUDP64 count or block length that lies, trailing garbage, IPv4/UDP lengths that
 * disagree, a fragment, a foreign payload, a runt frame), keeping the rest of the
 * frame consistent (lengths and checksums redone) so that exactly that check fires.
 * The kinds that reach into the payload follow its protocol: MoldUDP64's blocks and
 * count, or MDP3's messages framed by MsgSize after the 12-byte packet header (a
 * MsgSize too small stands for MoldUDP64's lying count).
 */
#include <assert.h>

#include "fh_pcap.h"

#define RANDOM_PAYLOAD_MAX 1500

/* Offset of the last MoldUDP64 block in payload, or 0 if there is none. */
static size_t mold_last_block(const uint8_t *payload, size_t len)
{
	size_t off = MOLD_HEADER_LEN, last = 0;
	unsigned count;

	if (len < MOLD_HEADER_LEN)
		return 0;
	count = wire_be16(payload + 18);
	if (count == MOLD_END_OF_SESSION)
		return 0;
	for (unsigned i = 0; i < count && off + 2 <= len; i++) {
		size_t block = wire_be16(payload + off);

		if (off + 2 + block > len)
			break;
		last = off;
		off += 2 + block;
	}
	return last;
}

#define MDP3_PACKET_HEADER_LEN 12	/* MsgSeqNum u32, SendingTime u64 */
#define MDP3_MESSAGE_MIN 10		/* MsgSize u16 and the SBE header */

/* Offset of the last whole MDP3 message in payload, or 0 if there is none. */
static size_t mdp3_last_message(const uint8_t *payload, size_t len)
{
	size_t off = MDP3_PACKET_HEADER_LEN, last = 0;

	while (off + 2 <= len) {
		size_t size = load_le16(payload + off);

		if (size < MDP3_MESSAGE_MIN || off + size > len)
			break;
		last = off;
		off += size;
	}
	return last;
}

/* The length of the message or block at last: MsgSize (MDP3) or 2 + block length. */
static size_t message_len(const uint8_t *payload, size_t last, enum fh_pcap_protocol protocol)
{
	return protocol == PROTOCOL_MDP3 ? load_le16(payload + last) : 2u + wire_be16(payload + last);
}

/* Kind 0: the UDP payload cut in the middle of a message (or of the header). */
static size_t malformed_cut(uint8_t *out, const struct frame_info *info, size_t last,
			    struct rng *rng, enum fh_pcap_protocol protocol)
{
	const uint8_t *payload = out + info->payload_off;
	size_t plen = info->payload_len, cut;
	size_t header = protocol == PROTOCOL_MDP3 ? MDP3_PACKET_HEADER_LEN : MOLD_HEADER_LEN;

	if (last) {
		size_t block = message_len(payload, last, protocol) - 2;

		cut = last + 2 + (block > 1 ? (size_t)rng_range(rng, 1, block - 1) : 0);
		if (cut == last + 2)
			cut = last + 1;
	} else {
		cut = plen > 1 ? (size_t)rng_range(rng, 1, (plen < header ? plen : header) - 1) : 0;
	}
	return frame_set_payload_len(out, info, cut);
}

/* Kind 1: a message count larger than the blocks present. */
static size_t malformed_count(uint8_t *out, const struct frame_info *info, uint16_t count,
			      struct rng *rng, size_t len)
{
	uint8_t *payload = out + info->payload_off;
	size_t plen = info->payload_len;

	if (plen < MOLD_HEADER_LEN)
		return len;
	if (count == MOLD_END_OF_SESSION)
		count = 0;
	count = (uint16_t)(count + rng_range(rng, 1, 5));
	if (count >= MOLD_END_OF_SESSION)
		count = MOLD_END_OF_SESSION - 1;
	put_u16(payload + 18, count);
	return frame_set_payload_len(out, info, plen);
}

/* Kind 2: a block length overrunning the payload. */
static size_t malformed_overrun(uint8_t *out, const struct frame_info *info, size_t last,
				struct rng *rng)
{
	uint8_t *payload = out + info->payload_off;
	size_t plen = info->payload_len;

	if (last) {
		put_u16(payload + last, (uint16_t)(plen - last - 2 + rng_range(rng, 1, 100)));
	} else if (plen >= MOLD_HEADER_LEN) {
		put_u16(payload + 18, 1);
		put_u16(payload + MOLD_HEADER_LEN, 40);
		memset(payload + MOLD_HEADER_LEN + 2, 'A', 10);
		plen = MOLD_HEADER_LEN + 12;
	}
	return frame_set_payload_len(out, info, plen);
}

/* Kinds 1 and 2 of MDP3: the last message's MsgSize under the SBE header, or past the end. */
static size_t malformed_mdp3_size(uint8_t *out, const struct frame_info *info, size_t last,
				  bool overrun, struct rng *rng)
{
	uint8_t *payload = out + info->payload_off;
	size_t plen = info->payload_len;

	if (!last)
		return info->payload_off + plen;
	if (overrun)
		put_le16(payload + last, (uint16_t)(plen - last + rng_range(rng, 1, 100)));
	else
		put_le16(payload + last, (uint16_t)rng_range(rng, 0, MDP3_MESSAGE_MIN - 1));
	return frame_set_payload_len(out, info, plen);
}

/* Kind 3: 1..32 bytes of garbage after the last block. */
static size_t malformed_trailing(uint8_t *out, const struct frame_info *info, struct rng *rng)
{
	uint8_t *payload = out + info->payload_off;
	size_t plen = info->payload_len, extra = (size_t)rng_range(rng, 1, 32);

	for (size_t i = 0; i < extra; i++)
		payload[plen + i] = (uint8_t)rng_next(rng);
	return frame_set_payload_len(out, info, plen + extra);
}

/* Kind 5: a UDP length that disagrees with IPv4's, shorter or longer. */
static void malformed_udp_len(uint8_t *udp, struct rng *rng)
{
	uint16_t udp_len = wire_be16(udp + 4);

	uint16_t room = (uint16_t)(udp_len - UDP_HEADER_LEN - 1);

	if (udp_len > UDP_HEADER_LEN + 1 && rng_chance(rng, 0.5))
		udp_len = (uint16_t)(udp_len - rng_range(rng, 1, room < 7 ? room : 7));
	else
		udp_len = (uint16_t)(udp_len + rng_range(rng, 1, 50));
	put_u16(udp + 4, udp_len);
	put_u16(udp + 6, 0);	/* no checksum can be right */
}

/*
 * Kind 7: a random payload that cannot be this session (MoldUDP64: another session;
 * MDP3, which has none: the source's MsgSeqNum, so it is a bad copy of that packet).
 */
static size_t malformed_random(uint8_t *out, const uint8_t *src, const struct frame_info *info,
			       struct rng *rng, enum fh_pcap_protocol protocol)
{
	uint8_t *payload = out + info->payload_off;
	size_t n = (size_t)rng_range(rng, 0, RANDOM_PAYLOAD_MAX);

	for (size_t i = 0; i < n; i++)
		payload[i] = (uint8_t)rng_next(rng);
	if (protocol == PROTOCOL_MDP3) {
		if (n >= 4 && info->payload_len >= 4)
			memcpy(payload, src + info->payload_off, 4);
	} else if (n >= MOLD_SESSION_LEN && info->payload_len >= MOLD_SESSION_LEN &&
	    memcmp(payload, src + info->payload_off, MOLD_SESSION_LEN) == 0)
		payload[0] ^= 0xff;
	return frame_set_payload_len(out, info, n);
}

/*
 * Builds a corrupted copy of src (a parsed line packet) of the given kind into
 * out (src_len + MALFORMED_EXTRA_MAX bytes). Returns the captured length and
 * sets *wire_len. Kinds cycle so every decoder check gets hit.
 */
size_t malformed_build(uint8_t *out, const uint8_t *src, size_t src_len,
		       const struct frame_info *info, unsigned kind, struct rng *rng,
		       enum fh_pcap_protocol protocol, uint32_t *wire_len)
{
	uint8_t *payload = out + info->payload_off;
	uint8_t *ip = out + info->ip_off, *udp = out + info->udp_off;
	size_t plen = info->payload_len, last, len = info->payload_off + plen;
	uint16_t count;

	assert(kind < MALFORMED_KINDS);
	memcpy(out, src, src_len);
	if (protocol == PROTOCOL_MDP3)
		last = mdp3_last_message(payload, plen);
	else
		last = mold_last_block(payload, plen);
	count = plen >= MOLD_HEADER_LEN ? wire_be16(payload + 18) : 0;
	switch (kind) {
	case 0:
		len = malformed_cut(out, info, last, rng, protocol);
		break;
	case 1:
	case 2:
		if (protocol == PROTOCOL_MDP3)
			len = malformed_mdp3_size(out, info, last, kind == 2, rng);
		else if (kind == 1)
			len = malformed_count(out, info, count, rng, len);
		else
			len = malformed_overrun(out, info, last, rng);
		break;
	case 3:
		len = malformed_trailing(out, info, rng);
		break;
	case 4:				/* IPv4 total length beyond the frame */
		put_u16(ip + 2, (uint16_t)(wire_be16(ip + 2) + rng_range(rng, 1, 200)));
		ipv4_set_checksum(ip);
		break;
	case 5:
		malformed_udp_len(udp, rng);
		break;
	case 6:				/* first fragment: MF set, offset 0 */
		put_u16(ip + 6, 0x2000);
		ipv4_set_checksum(ip);
		break;
	case 7:
		len = malformed_random(out, src, info, rng, protocol);
		break;
	case 8:				/* shorter than Ethernet + IPv4 headers */
		len = (size_t)rng_range(rng, 1, info->ip_off + IPV4_HEADER_LEN - 1);
		break;
	default:
		assert(!"unknown malformed kind");
	}
	assert(len <= src_len + MALFORMED_EXTRA_MAX);
	*wire_len = (uint32_t)len;
	return len;
}
