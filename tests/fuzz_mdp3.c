/*
 * fuzz_mdp3: libFuzzer target for the CME MDP 3.0 wire layer (decoders/cme_mdp3). The
 * input is one UDP payload. It is walked message by message and every root, entry,
 * order and leg of every message kept is read, from a heap copy of exactly the input's
 * length (ASan: no read past the packet). Checked as it goes:
 *   - the walk's accounting: each message the MsgSize chain frames (counted here by a
 *     loop of its own) is kept or counted skipped exactly once, and a chain cut short
 *     is counted as bad framing once;
 *   - frame_parse accepts the packet exactly when the chain reaches its end and
 *     MsgSeqNum is not 0, as one sequence number;
 *   - every message kept lies inside the packet, its groups inside its MsgSize;
 *   - no price handed out is INT64_MIN, and none marked present is the null.
 * Any broken check aborts. Built with tests/fuzz_replay.c instead of libFuzzer, it
 * replays files (the seed corpus, tests/corpus/mdp3, under gcc's ASan+UBSan).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decoders/cme_mdp3/mdp3_sbe.h"
#include "tests/mdp3_visit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t len = size > 65535 ? 65535 : (uint32_t)size, at = 12, framed = 0, seq = 0;
	uint8_t *p = malloc(len ? len : 1);
	struct mdp3_stats stats;
	struct mdp3_packet packet;
	struct mdp3_message m;
	struct decoder_frame frame;
	bool whole = false;
	int rc;

	memcpy(p, data, len);
	/* The MsgSize chain, counted here on its own. */
	if (len >= 12) {
		seq = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
		while (len - at >= 10) {
			uint32_t msg_size = (uint32_t)p[at] | (uint32_t)p[at + 1] << 8;

			if (msg_size < 10 || msg_size > len - at)
				break;
			framed++;
			at += msg_size;
		}
		whole = at == len;
	}
	rc = mdp3_frame_parse(p, len, &frame);
	VISIT_CHECK((rc == 0) == (whole && seq != 0));
	if (rc == 0)
		VISIT_CHECK(frame.kind == DECODER_FRAME_DATA && frame.seq == seq && frame.count == 1);

	memset(&stats, 0, sizeof(stats));
	if (mdp3_packet_open(&packet, p, len, &stats) != 0) {
		VISIT_CHECK(len < 12);
		free(p);
		return 0;
	}
	while (mdp3_packet_next(&packet, &stats, &m)) {
		const uint8_t *end = m.root - 10 + m.size;

		VISIT_CHECK(m.root >= p + 22 && end <= p + len && m.root + m.block_length <= end);
		for (uint8_t g = 0; g < m.groups_count; g++)
			VISIT_CHECK(m.groups[g].entries >= m.root + m.block_length &&
				   m.groups[g].entries + (size_t)m.groups[g].block_length * m.groups[g].count <= end);
		mdp3_message_visit(&m, &stats);
	}
	VISIT_CHECK(stats.packets == 1 && stats.bad_framing == (whole ? 0u : 1u));
	VISIT_CHECK(stats.messages + stats.other_schema + stats.bad_version + stats.unknown_template +
		   stats.bad_length == framed);
	free(p);
	return 0;
}
