/*
 * gen: the `fh-pcap gen` subcommand, a synthetic ITCH 5.0 session (itch50_session.c)
 * written as a capture or an ITCH file (session_output.c), or with --protocol
 * cme-mdp3 a CME MDP 3.0 session (mdp3_session.c). Each venue's options are refused
 * with the other's.
 */
#include "fh_pcap.h"

static const int gen_options[] = {
	OPT_SEED, OPT_MESSAGES, OPT_SYMBOLS, OPT_OUT, OPT_PER_PACKET, OPT_SESSION, OPT_VLAN,
	OPT_GROUP_A, OPT_GROUP_B, OPT_UDP_PORT, OPT_FORMAT, OPT_PROFILE, OPT_PROTOCOL,
	OPT_INSTRUMENTS, OPT_BOOKS, OPT_ORDERS, OPT_SNAPSHOT_LOOP, 0
};

static int gen_produce(const struct fh_pcap_args *args, struct mold_packer *packer)
{
	return itch50_session_generate(args->seed, args->messages, (unsigned)args->symbols,
				       args->profile, packer);
}

/* gen --protocol cme-mdp3: checks its options, then runs it. The exit status. */
static int gen_run_mdp3(const struct fh_pcap_args *args)
{
	struct mdp3_gen_options opt = {
		.seed = args->seed, .messages = args->messages,
		.instruments = (unsigned)args->instruments, .snapshot_loop = args->snapshot_loop,
		.books_path = args->books_path, .orders_path = args->orders_path,
	};

	if (args->have_net || args->itch_format || args->per_packet || args->profile ||
	    strcmp(args->session, MOLD_DEFAULT_SESSION))
		return cli_usage_error(args->command, "--protocol cme-mdp3 writes channel 310's lines; "
				       "--group-a/-b, --udp-port, --format, --per-packet, --profile "
				       "and --session do not apply%s", "");
	if (args->messages < args->instruments)
		return cli_usage_error(args->command, "--messages must cover one definition per instrument%s", "");
	return mdp3_session_write(&opt, args->out_path, args->net.vlan_id) ? 1 : 0;
}

/* Checks what gen needs beyond the common options, then runs it. The exit status. */
static int gen_run(const struct fh_pcap_args *args)
{
	if (!args->have_seed || !args->have_messages)
		return cli_usage_error(args->command, "--seed and --messages are required%s", "");
	if (args->protocol == PROTOCOL_MDP3)
		return gen_run_mdp3(args);
	if (args->have_instruments || args->books_path || args->orders_path || args->snapshot_loop)
		return cli_usage_error(args->command, "--instruments, --books, --orders and "
				       "--snapshot-loop need --protocol cme-mdp3%s", "");
	if (args->messages < args->symbols + 1)
		return cli_usage_error(args->command, "--messages must cover the system event and one directory message per symbol%s", "");
	return session_output_write(args, args->seed, gen_produce);
}

const struct fh_pcap_command gen_command = { "gen", gen_options, gen_run };
