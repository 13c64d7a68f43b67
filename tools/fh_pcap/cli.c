/*
 * cli: fh-pcap's command line, shared by every subcommand. One table of long options
 * for all of them, so an option another subcommand takes is reported as not applying
 * here rather than as unknown; each subcommand lists the options it accepts. Values
 * are checked as they are read; what each subcommand requires is checked by it.
 * Exit status: 0 ok, 1 failure, 2 usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>

#include "fh_pcap.h"

static const char usage_text[] =
	"usage: fh-pcap <command> [options]\n"
	"\n"
	"  fh-pcap gen --seed N --messages M --out FILE.pcap [--symbols S] [--per-packet K]\n"
	"              [--profile shallow|deep]\n"
	"      synthetic ITCH 5.0 session: 1 system event, S stock directory messages,\n"
	"      then order flow up to M messages in total (default S 8, K random 1..8).\n"
	"      shallow (default): at most 65536 live orders near the touch, with ~1%\n"
	"      seeded errors; deep: live orders grow ~0.3 per message over a 500-tick\n"
	"      band (hundreds of levels per side), no errors\n"
	"  fh-pcap gen --protocol cme-mdp3 --seed N --messages M --out FILE.pcap\n"
	"              [--instruments K] [--books TRUE.dump] [--orders TRUE.orders]\n"
	"              [--snapshot-loop]\n"
	"      synthetic CME MDP 3.0 session of channel 310: K definitions (54, some 56),\n"
	"      then book (46, implied, order entries), order (47), trade (48, 37),\n"
	"      status (30) and heartbeat (12) messages up to M in all (default K 8), on\n"
	"      incremental A 224.0.31.1:14310 and B 224.0.32.1:15310; --snapshot-loop adds\n"
	"      the snapshot loop (52 on 224.0.31.22:14310 / 224.0.32.22:15310, 53 on\n"
	"      233.72.75.1:23310 / 233.72.75.64:22310); --books and --orders write the\n"
	"      true final books (price levels; orders)\n"
	"  fh-pcap convert --in ITCHFILE --out FILE.pcap [--per-packet K] [--limit N]\n"
	"                  [--session NAME] [--seed N]\n"
	"      wrap a NASDAQ binary ITCH file (2-byte length + message; a 0 length is\n"
	"      taken from the message type)\n"
	"  fh-pcap inject --in IN.pcap --out OUT.pcap --seed N [--loss-a P] [--loss-b P]\n"
	"                 [--dup P] [--reorder P] [--reorder-depth D] [--malformed P]\n"
	"                 [--vlan-strip] [--protocol itch|cme-mdp3]\n"
	"      seeded per-line faults; P is a probability in [0,1], D defaults to 3;\n"
	"      IN.pcap may be pcapng (fhd's journal too); with no fault it converts it;\n"
	"      --protocol cme-mdp3: lines default to channel 310's incremental A and B,\n"
	"      paired by MsgSeqNum\n"
	"\n"
	"  gen and convert also take --format itch: write the messages as a NASDAQ\n"
	"  binary ITCH file (2-byte length + message) instead of a pcap.\n"
	"  gen and convert also take: --session NAME (10 chars, default FHGEN00001),\n"
	"  --vlan ID; all commands take --group-a IP (233.54.12.111), --group-b IP\n"
	"  (233.49.196.111), --udp-port P (26477).\n"
	"  Each MoldUDP64 packet is written as line A then line B, 10 us apart per\n"
	"  packet, B 3 us after A. Exit status: 0 ok, 1 failure, 2 usage error.\n"
	"  fh-pcap --version prints fh-pcap's version.\n";

static const struct option long_options[] = {
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "messages", required_argument, NULL, OPT_MESSAGES },
	{ "symbols", required_argument, NULL, OPT_SYMBOLS },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "in", required_argument, NULL, OPT_IN },
	{ "per-packet", required_argument, NULL, OPT_PER_PACKET },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "session", required_argument, NULL, OPT_SESSION },
	{ "vlan", required_argument, NULL, OPT_VLAN },
	{ "group-a", required_argument, NULL, OPT_GROUP_A },
	{ "group-b", required_argument, NULL, OPT_GROUP_B },
	{ "udp-port", required_argument, NULL, OPT_UDP_PORT },
	{ "loss-a", required_argument, NULL, OPT_LOSS_A },
	{ "loss-b", required_argument, NULL, OPT_LOSS_B },
	{ "dup", required_argument, NULL, OPT_DUP },
	{ "reorder", required_argument, NULL, OPT_REORDER },
	{ "reorder-depth", required_argument, NULL, OPT_REORDER_DEPTH },
	{ "malformed", required_argument, NULL, OPT_MALFORMED },
	{ "vlan-strip", no_argument, NULL, OPT_VLAN_STRIP },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "protocol", required_argument, NULL, OPT_PROTOCOL },
	{ "instruments", required_argument, NULL, OPT_INSTRUMENTS },
	{ "books", required_argument, NULL, OPT_BOOKS },
	{ "orders", required_argument, NULL, OPT_ORDERS },
	{ "snapshot-loop", no_argument, NULL, OPT_SNAPSHOT_LOOP },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

void cli_usage_print(void)
{
	fputs(usage_text, stdout);
}

/* Prints "fh-pcap[ command]: " fmt (with arg) and a pointer to --help. Returns 2. */
int cli_usage_error(const char *command, const char *fmt, const char *arg)
{
	fprintf(stderr, "fh-pcap%s%s: ", *command ? " " : "", command);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nrun 'fh-pcap --help' for usage\n");
	return 2;
}

static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_probability(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0.0 && v <= 1.0))
		return false;
	*out = v;
	return true;
}

static bool parse_group(const char *s, uint32_t *out)
{
	struct in_addr addr;

	if (inet_pton(AF_INET, s, &addr) != 1)
		return false;
	*out = ntohl(addr.s_addr);
	return (*out >> 28) == 0xe;	/* 224.0.0.0/4 */
}

/* Options each command accepts, by option id; anything else is a usage error. */
static bool option_allowed(const struct fh_pcap_command *command, int id)
{
	for (const int *list = command->options; *list; list++)
		if (*list == id)
			return true;
	return false;
}

static const char *option_name(int id)
{
	for (const struct option *o = long_options; o->name; o++)
		if (o->val == id)
			return o->name;
	return "?";
}

/* The fault options of inject. False if arg is not a good value for opt. */
static bool option_apply_fault(struct inject_options *inject, int opt, const char *arg)
{
	uint64_t value = 0;
	bool ok = true;

	switch (opt) {
	case OPT_LOSS_A:
		ok = parse_probability(arg, &inject->loss[LINE_A]);
		break;
	case OPT_LOSS_B:
		ok = parse_probability(arg, &inject->loss[LINE_B]);
		break;
	case OPT_DUP:
		ok = parse_probability(arg, &inject->dup);
		break;
	case OPT_REORDER:
		ok = parse_probability(arg, &inject->reorder);
		break;
	case OPT_REORDER_DEPTH:
		ok = parse_u64(arg, 1, 1000, &value);
		inject->reorder_depth = (unsigned)value;
		break;
	case OPT_MALFORMED:
		ok = parse_probability(arg, &inject->malformed);
		break;
	case OPT_VLAN_STRIP:
		inject->vlan_strip = true;
		break;
	}
	return ok;
}

/* The network options: groups, port, VLAN tag. False if arg is not a good value. */
static bool option_apply_net(struct net_config *net, int opt, const char *arg)
{
	uint64_t value = 0;
	bool ok = true;

	switch (opt) {
	case OPT_VLAN:
		ok = parse_u64(arg, 0, 4095, &value);
		net->vlan_id = (int)value;
		break;
	case OPT_GROUP_A:
		ok = parse_group(arg, &net->group[LINE_A]);
		break;
	case OPT_GROUP_B:
		ok = parse_group(arg, &net->group[LINE_B]);
		break;
	case OPT_UDP_PORT:
		ok = parse_u64(arg, 1, 65535, &value);
		net->dest_port[LINE_A] = (uint16_t)value;
		net->dest_port[LINE_B] = (uint16_t)value;
		break;
	}
	return ok;
}

/* Records option opt with its argument in args. False if arg is not a good value. */
static bool option_apply(struct fh_pcap_args *args, int opt, const char *arg)
{
	switch (opt) {
	case OPT_SEED:
		args->have_seed = true;
		return parse_u64(arg, 0, UINT64_MAX, &args->seed);
	case OPT_MESSAGES:
		args->have_messages = true;
		return parse_u64(arg, 1, 1000000000000ull, &args->messages);
	case OPT_SYMBOLS:
		return parse_u64(arg, 1, GEN_SYMBOLS_MAX, &args->symbols);
	case OPT_OUT:
		args->out_path = arg;
		return true;
	case OPT_IN:
		args->in_path = arg;
		return true;
	case OPT_PER_PACKET:
		return parse_u64(arg, 1, MOLD_PAYLOAD_MAX, &args->per_packet);
	case OPT_LIMIT:
		return parse_u64(arg, 1, UINT64_MAX, &args->limit);
	case OPT_SESSION:
		args->session = arg;
		return strlen(arg) == MOLD_SESSION_LEN;
	case OPT_FORMAT:
		args->itch_format = !strcmp(arg, "itch");
		return !strcmp(arg, "pcap") || !strcmp(arg, "itch");
	case OPT_PROFILE:
		args->profile = !strcmp(arg, "deep") ? GEN_PROFILE_DEEP : GEN_PROFILE_SHALLOW;
		return !strcmp(arg, "shallow") || !strcmp(arg, "deep");
	case OPT_PROTOCOL:
		args->protocol = !strcmp(arg, "cme-mdp3") ? PROTOCOL_MDP3 : PROTOCOL_ITCH;
		return !strcmp(arg, "itch") || !strcmp(arg, "cme-mdp3");
	case OPT_INSTRUMENTS:
		args->have_instruments = true;
		return parse_u64(arg, 1, MDP3_GEN_INSTRUMENTS_MAX, &args->instruments);
	case OPT_BOOKS:
		args->books_path = arg;
		return true;
	case OPT_ORDERS:
		args->orders_path = arg;
		return true;
	case OPT_SNAPSHOT_LOOP:
		args->snapshot_loop = true;
		return true;
	case OPT_VLAN: case OPT_GROUP_A: case OPT_GROUP_B: case OPT_UDP_PORT:
		args->have_net |= opt != OPT_VLAN;
		return option_apply_net(&args->net, opt, arg);
	default:
		return option_apply_fault(&args->inject, opt, arg);
	}
}

static void args_default(struct fh_pcap_args *args, const char *command)
{
	memset(args, 0, sizeof(*args));
	args->command = command;
	args->session = MOLD_DEFAULT_SESSION;
	args->symbols = GEN_SYMBOLS_DEFAULT;
	args->instruments = MDP3_GEN_INSTRUMENTS_DEFAULT;
	args->inject.reorder_depth = REORDER_DEPTH_DEFAULT;
	net_config_default(&args->net);
}

/*
 * Reads the options after argv[1] (the subcommand, command) into args, and checks
 * what every subcommand needs. Returns CLI_RUN if the command is to run, else the
 * exit status to stop with (0 after --help, 2 after a usage error, printed).
 */
int cli_parse(int argc, char **argv, const struct fh_pcap_command *command,
	      struct fh_pcap_args *args)
{
	int opt;

	args_default(args, command->name);
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc - 1, argv + 1, "", long_options, NULL)) != -1) {
		if (opt == OPT_HELP) {
			cli_usage_print();
			return 0;
		}
		if (opt == '?' || opt == ':')
			return cli_usage_error(args->command, "unknown option or missing value near '%s'",
					       argv[optind < argc ? optind : argc - 1]);
		if (!option_allowed(command, opt))
			return cli_usage_error(args->command, "option --%s does not apply here",
					       option_name(opt));
		if (!option_apply(args, opt, optarg))
			return cli_usage_error(args->command, "bad value '%s'", optarg);
	}
	if (optind + 1 < argc)
		return cli_usage_error(args->command, "unexpected argument '%s'", argv[optind + 1]);
	if (!args->out_path)
		return cli_usage_error(args->command, "--out FILE is required%s", "");
	if (args->net.group[LINE_A] == args->net.group[LINE_B])
		return cli_usage_error(args->command, "line A and line B need different groups%s", "");
	return CLI_RUN;
}
