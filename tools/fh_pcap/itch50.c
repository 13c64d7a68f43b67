/*
 * itch50: fh-pcap's own tables of NASDAQ TotalView-ITCH 5.0: the message lengths
 * (the message table of itch50-moldudp64.md) and the header every message opens
 * with, encoded and read here. They are independent of the decoder's tables in
 * decoders/nasdaq/itch50.c ON PURPOSE, written from the specification and not shared: the
 * tests cross-check fhd's decoding against fh-pcap's output, and a generator that
 * shared the decoder's tables would share its bugs and hide them. The field offsets
 * of each message body are written out where the messages are built
 * (itch50_session.c), from the same table. Do not include decoders/ headers here or
 * anywhere in fh-pcap.
 */
#include "fh_pcap.h"

/* Length of a message of the given type, or 0 for a type ITCH 5.0 does not define. */
unsigned itch_message_len(uint8_t type)
{
	switch (type) {
	case 'S': return 12;
	case 'R': return 39;
	case 'H': return 25;
	case 'Y': return 20;
	case 'L': return 26;
	case 'V': return 35;
	case 'W': return 12;
	case 'K': return 28;
	case 'J': return 35;
	case 'h': return 21;
	case 'A': return 36;
	case 'F': return 40;
	case 'E': return 31;
	case 'C': return 36;
	case 'X': return 23;
	case 'D': return 19;
	case 'U': return 35;
	case 'P': return 44;
	case 'Q': return 40;
	case 'B': return 19;
	case 'I': return 50;
	case 'N': return 20;
	case 'O': return 48;
	default: return 0;
	}
}

/* Writes the common header: type, stock locate, tracking number 0, 6-byte timestamp. */
void itch_header_put(uint8_t *msg, uint8_t type, uint16_t locate, uint64_t timestamp_ns)
{
	msg[0] = type;
	put_u16(msg + 1, locate);
	put_u16(msg + 3, 0);
	put_u48(msg + 5, timestamp_ns);
}

/* The timestamp (ns since midnight) of a message of at least ITCH_HEADER_LEN bytes. */
uint64_t itch_timestamp_ns(const uint8_t *msg)
{
	return (uint64_t)msg[5] << 40 | (uint64_t)msg[6] << 32 | (uint64_t)msg[7] << 24 |
	       (uint64_t)msg[8] << 16 | (uint64_t)msg[9] << 8 | msg[10];
}
