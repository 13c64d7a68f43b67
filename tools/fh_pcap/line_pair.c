/*
 * line_pair: writes one packet of a feed twice, as line A then line B, into the
 * capture, on a clock that follows the exchange. This is what every generator shares
 * whatever the venue's packet format (MoldUDP64 today): the packet's payload goes in,
 * two Ethernet/IPv4/UDP frames come out, PCAP_LINE_B_DELAY_US apart.
 */
#include <assert.h>

#include "fh_pcap.h"

#define PCAP_T0_S 1577698200ull		/* 2019-12-30 09:30:00 UTC */
#define PCAP_PACKET_MIN_GAP_US 4	/* between packets of one line */
#define PCAP_WIRE_DELAY_US 20		/* exchange to capture, plus up to the jitter */
#define PCAP_WIRE_JITTER_US 30
#define PCAP_LINE_B_DELAY_US 3

_Static_assert(PCAP_LINE_B_DELAY_US < PCAP_PACKET_MIN_GAP_US, "B copy must precede next A");

void line_pair_init(struct line_pair *lp, struct pcap_writer *out, const struct net_config *net)
{
	memset(lp, 0, sizeof(*lp));
	lp->out = out;
	lp->net = net;
}

/*
 * Writes payload (len bytes, at most MOLD_PAYLOAD_MAX) as line A then line B, 3 us
 * apart. The capture time follows the exchange: the day of PCAP_T0_S, at exchange_ns
 * (the exchange time of the packet's last message, taken as UTC; 0 if none yet), plus
 * a wire delay of 20..49 us, so a replay's feed delay (exchange timestamp to RX time)
 * is realistic. Packets stay in order, at least PCAP_PACKET_MIN_GAP_US apart.
 * Returns 0 or -EIO.
 */
int line_pair_write(struct line_pair *lp, uint64_t exchange_ns, const uint8_t *payload,
		    size_t len)
{
	return line_pair_write_on(lp, lp->net, exchange_ns, payload, len);
}

/*
 * line_pair_write on the lines of net instead of the pair's own: a venue with
 * several feeds (MDP3's incremental and snapshot lines) writes them all on one
 * clock, so the capture interleaves them in time.
 */
int line_pair_write_on(struct line_pair *lp, const struct net_config *net, uint64_t exchange_ns,
		       const uint8_t *payload, size_t len)
{
	uint8_t frame[FRAME_HEADERS_MAX + MOLD_PAYLOAD_MAX];
	uint64_t wire_us = PCAP_WIRE_DELAY_US + ((lp->packets * 2654435761u) >> 16) % PCAP_WIRE_JITTER_US;
	uint64_t ts_us = (PCAP_T0_S - PCAP_T0_S % 86400) * 1000000 + exchange_ns / 1000 + wire_us;
	int err;

	assert(len <= MOLD_PAYLOAD_MAX);
	if (lp->packets > 0 && ts_us < lp->last_emit_us + PCAP_PACKET_MIN_GAP_US)
		ts_us = lp->last_emit_us + PCAP_PACKET_MIN_GAP_US;
	if (exchange_ns == 0)		/* no timestamped message yet */
		ts_us = PCAP_T0_S * 1000000 + lp->packets * PCAP_PACKET_MIN_GAP_US;
	lp->last_emit_us = ts_us;

	for (int line = LINE_A; line < LINE_COUNT; line++) {
		size_t n = frame_build(frame, net, line, (uint16_t)lp->packets, payload, len);

		err = pcap_writer_put(lp->out, ts_us + (line == LINE_B ? PCAP_LINE_B_DELAY_US : 0),
				      frame, (uint32_t)n, (uint32_t)n);
		if (err)
			return err;
	}
	lp->packets++;
	return 0;
}
