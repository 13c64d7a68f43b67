/*
 * fh-pcap: offline capture tool for testing the fh feed handler without a live
 * exchange. "gen" synthesises a deterministic ITCH 5.0 session (system event,
 * stock directory, then a realistic order flow kept consistent by a live-order
 * model; with --protocol cme-mdp3 a CME MDP 3.0 session and its true books instead),
 * "convert" wraps a NASDAQ binary ITCH file, and both packetise into
 * MoldUDP64 and write every packet twice, as line A then line B, into a classic
 * microsecond pcap with Ethernet/IPv4/UDP multicast framing. "inject" reads such
 * a capture and applies seeded per-line faults (loss, duplicates, reordering,
 * malformed packets) so arbitration and gap handling can be exercised
 * reproducibly. Everything is deterministic from the command line: the same
 * arguments give byte-identical output on any host. This file only picks the
 * subcommand; each is one file (gen.c, convert.c, inject.c), see fh_pcap.h.
 */
#include "fh_build_version.h"
#include "fh_pcap.h"

static const struct fh_pcap_command *const commands[] = {
	&gen_command, &convert_command, &inject_command,
};

int main(int argc, char **argv)
{
	const struct fh_pcap_command *command = NULL;
	struct fh_pcap_args args;
	int status;

	if (argc < 2)
		return cli_usage_error("", "missing command%s", "");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		cli_usage_print();
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("fh-pcap %s\n", FH_BUILD_VERSION_TEXT);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i]->name))
			command = commands[i];
	if (!command)
		return cli_usage_error("", "unknown command '%s'", argv[1]);
	status = cli_parse(argc, argv, command, &args);
	if (status != CLI_RUN)
		return status;
	return command->run(&args);
}
