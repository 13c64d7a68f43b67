/*
 * fuzz_config: libFuzzer target for the config loader (cfg_load_text): arbitrary bytes
 * as a YAML config. The loader must return 0 or a negative errno, never crash, leak or
 * hang; on an error the message is one printable line "NAME:LINE:COLUMN: ..." (or
 * "NAME: ..." for out of memory), whatever control characters the values held; on
 * success the result keeps the invariants the rest of fhd relies on (counts in range,
 * names NUL-terminated and safe as file names). Linked with tests/fuzz_replay.c
 * instead of libFuzzer, it replays files: the seed corpus under gcc's ASan+UBSan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_config_check(const struct cfg *cfg)
{
	const char *why;

	if (cfg->feeds_count < 1 || cfg->feeds_count > CFG_FEEDS_MAX || cfg->ports_count < 1 ||
	    cfg->ports_count > CFG_PORTS_MAX || cfg->rx_lcores_count < 1 ||
	    cfg->rx_lcores_count > CFG_RX_LCORES_MAX || cfg->eal_args_count > CFG_EAL_ARGS_MAX)
		abort();
	for (uint16_t f = 0; f < cfg->feeds_count; f++) {
		if (cfg_name_check(cfg->feeds[f].name, CFG_NAME_MAX, &why) != 0)
			abort();
		if (!cfg->feeds[f].lines[CFG_LINE_A].present)
			abort();
		for (int l = 0; l < CFG_LINES_MAX; l++)
			if (cfg->feeds[f].lines[l].present &&
			    cfg->feeds[f].lines[l].port_index >= cfg->ports_count)
				abort();
	}
	if (cfg->publish.enabled && (cfg_name_check(cfg->publish.ring, CFG_RING_NAME_MAX, &why) != 0 ||
				     (cfg->publish.mode & 022) != 0))
		abort();
	/* Empty: fhd derives the name at start (<ring>-stats or fh-stats-<pid>). */
	if (cfg->stats.segment[0] != '\0' && cfg_name_check(cfg->stats.segment, CFG_STATS_NAME_MAX, &why) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cfg cfg;
	char err[CFG_ERROR_MAX];
	int rc;

	rc = cfg_load_text("fuzz", (const char *)data, size, &cfg, err, sizeof(err));
	if (rc > 0)
		abort();
	if (rc == 0) {
		fuzz_config_check(&cfg);
		return 0;
	}
	/* one line, naming the input; a position unless libyaml ran out of memory */
	if (strncmp(err, "fuzz:", 5) != 0 || strlen(err) >= sizeof(err))
		abort();
	for (const char *c = err; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			abort();
	return 0;
}
