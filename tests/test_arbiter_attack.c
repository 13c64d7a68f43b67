/*
 * test_arbiter_attack: what the attack review of issue 20 found in the arbiter, each
 * case failing on the code before its fix.
 *   1. A late recovery reply for sequence 1, after End of Session, restarted the
 *      session: the books were emptied and held one message of ten, said OK.
 *   2. A corrupt far-future copy held before End of Session made a hole to the end of
 *      time; with the End seen it is refused (bad_sequence), nothing is lost.
 *   3. A data packet past End of Session is refused on arrival.
 */
#include "feed/arbiter.h"
#include "tests/check.h"

static int applied[64];
static int starts, gaps;

static void on_apply(void *context, const struct arbiter_packet *p, uint32_t skip)
{
	(void)context;
	for (uint32_t i = skip; i < p->count; i++)
		if (p->seq + i < 64)
			applied[p->seq + i]++;
}

static void on_release(void *context, void *packet)
{
	(void)context;
	(void)packet;
}

static void on_session_start(void *context)
{
	(void)context;
	starts++;
	memset(applied, 0, sizeof(applied));
}

static void on_gap(void *context, uint64_t first, uint64_t count, uint64_t newly_lost)
{
	(void)context;
	(void)first;
	(void)count;
	(void)newly_lost;
	gaps++;
}

static void on_recover(void *context, uint64_t first, uint64_t count)
{
	(void)context;
	(void)first;
	(void)count;
}

static void on_recovered(void *context)
{
	(void)context;
}

static void offer(struct arbiter *a, int kind, uint64_t seq, uint32_t count, uint8_t line, uint64_t now)
{
	struct decoder_frame f = { .kind = kind, .seq = seq, .count = count, .session_len = 10 };
	struct arbiter_packet p = { .seq = seq, .count = count, .line = line, .kind = (uint8_t)kind,
				    .packet = (void *)1, .payload = (const uint8_t *)"", .rx_ns = now };

	memcpy(f.session, "SESSION001", 10);
	arbiter_offer(a, &f, &p, now);
}

static void setup(struct arbiter *a)
{
	memset(applied, 0, sizeof(applied));
	starts = gaps = 0;
	CHECK(arbiter_init(a, 1024, 1000000, 1, on_apply, on_release, on_session_start, NULL) == 0);
	a->recover = on_recover;
	a->recovered = on_recovered;
	a->gap = on_gap;
	a->join_recover_max = 1000;
}

static int applied_count(void)
{
	int n = 0;

	for (int i = 1; i <= 10; i++)
		n += applied[i] == 1;
	return n;
}

int main(void)
{
	struct arbiter a;

	printf("a late reply for sequence 1 after End of Session belongs to the session\n");
	setup(&a);
	for (uint64_t s = 2; s <= 10; s++) {
		offer(&a, DECODER_FRAME_DATA, s, 1, 0, 100);
		offer(&a, DECODER_FRAME_DATA, s, 1, 1, 100);
	}
	arbiter_expire(&a, 100 + 2000000);
	CHECK(a.recovering);
	offer(&a, DECODER_FRAME_END, 11, 0, 0, 3000000);
	offer(&a, DECODER_FRAME_DATA, 1, 1, ARBITER_LINE_RECOVERY, 4000000);
	CHECK(a.stats.session_changes == 0 && starts == 0 && gaps == 0);
	CHECK(applied_count() == 10 && a.expected == 11 && !a.recovering);
	arbiter_fini(&a);

	printf("a far-future copy held when End of Session comes is refused\n");
	setup(&a);
	for (uint64_t s = 1; s <= 5; s++)
		offer(&a, DECODER_FRAME_DATA, s, 1, 0, 100);
	offer(&a, DECODER_FRAME_DATA, 1000000000000ull, 1, 1, 100);	/* B's copy of 6, corrupt */
	for (uint64_t s = 6; s <= 10; s++)
		offer(&a, DECODER_FRAME_DATA, s, 1, 0, 100);
	offer(&a, DECODER_FRAME_END, 11, 0, 0, 200);
	arbiter_expire(&a, 100000000);
	arbiter_flush(&a, 100000000);
	CHECK(gaps == 0 && a.stats.gap_messages == 0 && applied_count() == 10 && a.expected == 11);
	CHECK(a.stats.lines[1].bad_sequence == 1 && a.held_count == 0);
	arbiter_fini(&a);

	printf("a data packet past End of Session is refused on arrival\n");
	setup(&a);
	for (uint64_t s = 1; s <= 10; s++)
		offer(&a, DECODER_FRAME_DATA, s, 1, 0, 100);
	offer(&a, DECODER_FRAME_END, 11, 0, 0, 200);
	offer(&a, DECODER_FRAME_DATA, 77777777777ull, 1, 1, 300);
	arbiter_flush(&a, 100000000);
	CHECK(gaps == 0 && a.stats.lines[1].bad_sequence == 1 && a.expected == 11);
	arbiter_fini(&a);

	printf(failures ? "FAIL\n" : "PASS\n");
	return failures ? 1 : 0;
}
