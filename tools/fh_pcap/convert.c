/*
 * convert: the `fh-pcap convert` subcommand. It wraps a NASDAQ binary ITCH file (a
 * 2-byte big-endian length, then the message; a zero length is taken from the type
 * byte) into MoldUDP64 packets on both lines, or rewrites it as an ITCH file
 * (session_output.c). Nothing in the input is trusted: a record cut short or too
 * long for a packet stops the run with its byte offset.
 */
#include <errno.h>
#include <inttypes.h>

#include "fh_pcap.h"

#define CONVERT_SEED_DEFAULT 1

static const int convert_options[] = {
	OPT_IN, OPT_OUT, OPT_PER_PACKET, OPT_LIMIT, OPT_SEED, OPT_FORMAT, OPT_SESSION, OPT_VLAN,
	OPT_GROUP_A, OPT_GROUP_B, OPT_UDP_PORT, 0
};

/*
 * Streams a file of (2-byte big-endian length, message) records into the
 * packer. A zero length takes the length from the type byte, as in files that
 * leave the prefix empty. Returns 0 or -errno after naming the byte offset.
 */
static int convert_file(const char *path, uint64_t limit, struct mold_packer *packer)
{
	uint8_t msg[65536], prefix[2];
	uint64_t offset = 0, count = 0;
	int err = 0;
	FILE *f = fopen(path, "rb");

	if (!f) {
		fprintf(stderr, "fh-pcap: cannot open %s: %s\n", path, strerror(errno));
		return -errno;
	}
	while (!err && (limit == 0 || count < limit)) {
		size_t n = fread(prefix, 1, 2, f), have, len;

		if (n == 0)
			break;
		if (n == 1) {
			fprintf(stderr, "fh-pcap: %s: truncated length prefix at byte offset %" PRIu64 "\n",
				path, offset);
			err = -EINVAL;
			break;
		}
		len = wire_be16(prefix);
		have = 0;
		if (len == 0) {
			if (fread(msg, 1, 1, f) != 1) {
				fprintf(stderr, "fh-pcap: %s: truncated record at byte offset %" PRIu64 ": zero length prefix and no type byte\n",
					path, offset);
				err = -EINVAL;
				break;
			}
			len = itch_message_len(msg[0]);
			if (len == 0) {
				fprintf(stderr, "fh-pcap: %s: unknown message type 0x%02x with zero length prefix at byte offset %" PRIu64 "\n",
					path, msg[0], offset);
				err = -EINVAL;
				break;
			}
			have = 1;
		}
		if (MOLD_HEADER_LEN + 2 + len > MOLD_PAYLOAD_MAX) {
			fprintf(stderr, "fh-pcap: %s: record of %zu bytes at byte offset %" PRIu64 " does not fit a %d byte MoldUDP64 packet\n",
				path, len, offset, MOLD_PAYLOAD_MAX);
			err = -EINVAL;
			break;
		}
		n = fread(msg + have, 1, len - have, f);
		if (n != len - have) {
			fprintf(stderr, "fh-pcap: %s: truncated record at byte offset %" PRIu64 ": need %zu message bytes, file has %zu\n",
				path, offset, len, have + n);
			err = -EINVAL;
			break;
		}
		err = mold_packer_add(packer, msg, len);
		offset += 2 + len;	/* the prefix and the whole message, type byte included */
		count++;
	}
	if (!err && ferror(f)) {
		fprintf(stderr, "fh-pcap: read %s: %s\n", path, strerror(errno));
		err = -EIO;
	}
	fclose(f);
	if (!err)
		err = mold_packer_finish(packer);
	return err;
}

static int convert_produce(const struct fh_pcap_args *args, struct mold_packer *packer)
{
	return convert_file(args->in_path, args->limit, packer);
}

/* Checks what convert needs beyond the common options, then runs it. The exit status. */
static int convert_run(const struct fh_pcap_args *args)
{
	if (!args->in_path)
		return cli_usage_error(args->command, "--in is required%s", "");
	return session_output_write(args, args->have_seed ? args->seed : CONVERT_SEED_DEFAULT,
				    convert_produce);
}

const struct fh_pcap_command convert_command = { "convert", convert_options, convert_run };
