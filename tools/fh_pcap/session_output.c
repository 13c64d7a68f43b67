/*
 * session_output: where the message stream of `gen` or `convert` goes. By default a
 * pcap of MoldUDP64 packets, each on line A then line B, ending with end of session;
 * with --format itch a NASDAQ binary ITCH file of the same messages. Either way the
 * output is removed again if the run fails, and one summary line goes to stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "fh_pcap.h"

/* The messages as a NASDAQ binary ITCH file at args->out_path. The exit status. */
static int session_output_itch(const struct fh_pcap_args *args, uint64_t seed,
			       session_produce_fn produce, struct mold_packer *packer)
{
	FILE *itch = out_file_open(args->out_path);
	int err;

	if (!itch)
		return 1;
	mold_packer_init(packer, args->session, (unsigned)args->per_packet, seed, NULL, &args->net);
	packer->itch_out = itch;
	err = produce(args, packer);
	if (fclose(itch) != 0)
		err = err ? err : -EIO;
	if (err)
		remove(args->out_path);
	else
		fprintf(stderr, "fh-pcap %s: %" PRIu64 " messages written to %s (ITCH binary)\n",
			args->command, packer->messages, args->out_path);
	return err ? 1 : 0;
}

/* The messages as MoldUDP64 packets on both lines in a pcap at args->out_path. */
static int session_output_pcap(const struct fh_pcap_args *args, uint64_t seed,
			       session_produce_fn produce, struct mold_packer *packer)
{
	struct pcap_writer out = { 0 };
	int err = pcap_writer_open(&out, args->out_path);

	if (!err) {
		mold_packer_init(packer, args->session, (unsigned)args->per_packet, seed, &out,
				 &args->net);
		err = produce(args, packer);
	}
	if (!err)
		err = pcap_writer_close(&out);
	pcap_writer_close(&out);
	if (!err)
		fprintf(stderr, "fh-pcap %s: %" PRIu64 " messages in %" PRIu64
			" MoldUDP64 packets (+1 end of session), %" PRIu64 " frames written to %s\n",
			args->command, packer->messages, packer->lines.packets - 1, out.packets,
			args->out_path);
	else if (out.path)
		remove(args->out_path);
	return err ? 1 : 0;
}

/*
 * Runs produce, which feeds the session's messages to the packer it is given and
 * finishes it, into args->out_path in the format args ask for; seed seeds the packet
 * sizes. Returns the exit status: 0 done, 1 failed (reason printed, output removed).
 */
int session_output_write(const struct fh_pcap_args *args, uint64_t seed,
			 session_produce_fn produce)
{
	struct mold_packer *packer = malloc(sizeof(*packer));
	int status;

	if (!packer) {
		fprintf(stderr, "fh-pcap: out of memory\n");
		return 1;
	}
	if (args->itch_format)
		status = session_output_itch(args, seed, produce, packer);
	else
		status = session_output_pcap(args, seed, produce, packer);
	free(packer);
	return status;
}
