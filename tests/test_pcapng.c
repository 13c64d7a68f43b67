/*
 * test_pcapng: the journal's pcapng blocks. Without arguments: block sizes and
 * padding, the crash-repair prefix on torn and foreign data. With IN.pcap OUT.pcapng:
 * converts a classic capture into a journal-format file (one interface per feed line,
 * chosen by destination group as fhd would, nanosecond timestamps), which
 * tests/test_pcapng.sh then opens with tshark and replays through fhd.
 */
#include <stdlib.h>

#include "publish/journal/pcapng.h"
#include "tests/check.h"

static uint8_t buffer[64 << 20];

static int convert(const char *in_path, const char *out_path)
{
	FILE *in = fopen(in_path, "rb"), *out = fopen(out_path, "wb");
	uint8_t header[24], record[16], frame[65536];
	size_t at = 0;

	if (in == NULL || out == NULL || fread(header, 1, 24, in) != 24)
		return 2;
	at += pcapng_shb_write(buffer + at, sizeof(buffer) - at);
	at += pcapng_idb_write(buffer + at, sizeof(buffer) - at, "itch.A");
	at += pcapng_idb_write(buffer + at, sizeof(buffer) - at, "itch.B");
	while (fread(record, 1, 16, in) == 16) {
		uint32_t sec, usec, caplen;
		uint32_t interface;

		memcpy(&sec, record, 4);
		memcpy(&usec, record + 4, 4);
		memcpy(&caplen, record + 8, 4);
		if (caplen > sizeof(frame) || fread(frame, 1, caplen, in) != caplen)
			return 2;
		/* line B's group is 233.49.196.111 (default config) */
		interface = caplen >= 34 && frame[30] == 233 && frame[31] == 49 ? 1 : 0;
		at += pcapng_epb_write(buffer + at, sizeof(buffer) - at, interface,
				       (uint64_t)sec * 1000000000u + (uint64_t)usec * 1000 + 7,
				       frame, caplen);
	}
	fwrite(buffer, 1, at, out);
	fclose(in);
	return fclose(out) == 0 ? 0 : 2;
}

int main(int argc, char **argv)
{
	uint8_t frame[61];
	size_t a, b, c, d;

	if (argc == 3)
		return convert(argv[1], argv[2]);
	printf("block sizes, padding, crash-repair prefix\n");
	memset(frame, 0xab, sizeof(frame));
	a = pcapng_shb_write(buffer, sizeof(buffer));
	b = pcapng_idb_write(buffer + a, sizeof(buffer) - a, "itch.A");
	c = pcapng_epb_write(buffer + a + b, sizeof(buffer) - a - b, 0, 123456789012345678ull, frame, 61);
	d = pcapng_epb_write(buffer + a + b + c, sizeof(buffer) - a - b - c, 0, 1, frame, 3);
	CHECK(a == 28 && b % 4 == 0 && c == pcapng_epb_size(61) && c == 28 + 64 + 4 && d == 36);
	CHECK(pcapng_epb_write(buffer, 10, 0, 0, frame, 61) == 0);
	CHECK(pcapng_idb_write(buffer, 10, "x") == 0);
	CHECK(pcapng_whole_prefix(buffer, a + b + c + d) == a + b + c + d);
	CHECK(pcapng_whole_prefix(buffer, a + b + c + d - 1) == a + b + c);	/* torn last block */
	CHECK(pcapng_whole_prefix(buffer, a + b + 5) == a + b);
	CHECK(pcapng_whole_prefix(buffer, 27) == 0);
	buffer[a + b + 4] ^= 0x40;	/* a block whose length disagrees with its trailer */
	CHECK(pcapng_whole_prefix(buffer, a + b + c + d) == a + b);
	buffer[0] = 0;			/* no section header: not a journal */
	CHECK(pcapng_whole_prefix(buffer, a + b + c + d) == 0);
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
