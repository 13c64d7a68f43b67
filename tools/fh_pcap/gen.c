/*
 * gen: the `fh-pcap gen` subcommand, a synthetic ITCH 5.0 session (itch50_session.c)
 * written as a capture or an ITCH file (session_output.c). A generator for another
 * venue would be one more file like itch50_session.c, picked here.
 */
#include "fh_pcap.h"

static const int gen_options[] = {
	OPT_SEED, OPT_MESSAGES, OPT_SYMBOLS, OPT_OUT, OPT_PER_PACKET, OPT_SESSION, OPT_VLAN,
	OPT_GROUP_A, OPT_GROUP_B, OPT_UDP_PORT, OPT_FORMAT, OPT_PROFILE, 0
};

static int gen_produce(const struct fh_pcap_args *args, struct mold_packer *packer)
{
	return itch50_session_generate(args->seed, args->messages, (unsigned)args->symbols,
				       args->profile, packer);
}

/* Checks what gen needs beyond the common options, then runs it. The exit status. */
static int gen_run(const struct fh_pcap_args *args)
{
	if (!args->have_seed || !args->have_messages)
		return cli_usage_error(args->command, "--seed and --messages are required%s", "");
	if (args->messages < args->symbols + 1)
		return cli_usage_error(args->command, "--messages must cover the system event and one directory message per symbol%s", "");
	return session_output_write(args, args->seed, gen_produce);
}

const struct fh_pcap_command gen_command = { "gen", gen_options, gen_run };
