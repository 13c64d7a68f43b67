/*
 * mold_packer: packs ITCH messages into MoldUDP64 downstream packets (session,
 * sequence of the first message, count, then length-prefixed message blocks) and
 * hands each full packet to line_pair for both lines. The number of messages per
 * packet is fixed or drawn from the packer's own seeded stream. With --format itch
 * it writes the messages as a NASDAQ binary file instead (2-byte length, message).
 */
#include <assert.h>
#include <errno.h>

#include "fh_pcap.h"

#define PER_PACKET_RANDOM_MAX 8

/*
 * Starts a session: packets of per_packet messages (0: random 1..PER_PACKET_RANDOM_MAX
 * from seed), first sequence 1, written to out on the lines of net.
 */
void mold_packer_init(struct mold_packer *p, const char *session, unsigned per_packet,
		      uint64_t seed, struct pcap_writer *out, const struct net_config *net)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->session, session, MOLD_SESSION_LEN);
	p->next_seq = 1;
	p->len = MOLD_HEADER_LEN;
	p->per_packet = per_packet;
	rng_seed(&p->rng, seed, 0x7061636b);
	line_pair_init(&p->lines, out, net);
}

/* Writes the current payload with message count count (or MOLD_END_OF_SESSION). */
static int mold_packer_emit(struct mold_packer *p, uint16_t count)
{
	memcpy(p->payload, p->session, MOLD_SESSION_LEN);
	put_u64(p->payload + 10, p->next_seq);
	put_u16(p->payload + 18, count);
	return line_pair_write(&p->lines, p->last_ts_ns, p->payload, p->len);
}

static int mold_packer_flush(struct mold_packer *p)
{
	int err;

	if (p->count == 0)
		return 0;
	err = mold_packer_emit(p, (uint16_t)p->count);
	p->next_seq += p->count;
	p->len = MOLD_HEADER_LEN;
	p->count = 0;
	return err;
}

/* Appends one message block, closing the packet first if it is full. 0 or -EIO. */
int mold_packer_add(struct mold_packer *p, const uint8_t *msg, size_t len)
{
	int err;

	assert(len > 0 && MOLD_HEADER_LEN + 2 + len <= MOLD_PAYLOAD_MAX);
	if (p->itch_out) {
		uint8_t prefix[2];

		put_u16(prefix, (uint16_t)len);
		p->messages++;
		if (fwrite(prefix, 1, 2, p->itch_out) != 2 || fwrite(msg, 1, len, p->itch_out) != len)
			return -EIO;
		return 0;
	}
	if (p->count && (p->count >= p->target || p->len + 2 + len > MOLD_PAYLOAD_MAX)) {
		err = mold_packer_flush(p);
		if (err)
			return err;
	}
	if (p->count == 0)
		p->target = p->per_packet ? p->per_packet :
			    (unsigned)rng_range(&p->rng, 1, PER_PACKET_RANDOM_MAX);
	if (len >= ITCH_HEADER_LEN)
		p->last_ts_ns = itch_timestamp_ns(msg);
	put_u16(p->payload + p->len, (uint16_t)len);
	memcpy(p->payload + p->len + 2, msg, len);
	p->len += 2 + len;
	p->count++;
	p->messages++;
	return 0;
}

/* Flushes the last packet and sends end of session (count 0xFFFF, seq = next). */
int mold_packer_finish(struct mold_packer *p)
{
	if (p->itch_out)
		return 0;
	int err = mold_packer_flush(p);

	if (err)
		return err;
	p->len = MOLD_HEADER_LEN;
	return mold_packer_emit(p, MOLD_END_OF_SESSION);
}
