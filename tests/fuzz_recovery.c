/*
 * fuzz_recovery: libFuzzer target for issue 12's recovery core without sockets. The
 * first byte picks one of two modes:
 *   even: a SoupBinTCP byte stream (what an operator-configured GLIMPSE server sends)
 *         arrives in chunks the input sizes, into a struct soupbin_buffer as the
 *         worker's recv does; every whole packet is peeked, checked against its length
 *         field and consumed, and the numbers in Login Accepted and End of Snapshot (and
 *         the whole payload) go through soupbin_number_parse, checked against a
 *         reference parser written here.
 *   odd:  the arbiter with recovery and snapshot modes, driven by a program of
 *         operations: packets on lines A, B and the recovery line (line 2) around the
 *         expected sequence, heartbeats, session ends and changes, time passing, give-ups
 *         (the recovery's own range or any: only one touching the hole being recovered
 *         may declare it, or refuse its end as a bad sequence number), recover_now,
 *         snapshot begin/end (no session, the lines', another's)/failed and flush, with
 *         or without the snapshot's confirmation (confirm_ns) and its own hold bound.
 *         Every callback is checked as it happens: what is applied or declared is
 *         strictly sequential (a snapshot's end, a new session or a refused snapshot's
 *         rejoin says where it goes on from), recover() asks for the hole before the
 *         first held packet, recovered() answers one recover(), a gap's newly lost part
 *         is within it; after every operation the hold is sorted and within bounds; at
 *         the end every packet handle has come back exactly once.
 * Any broken check aborts. Built with tests/fuzz_replay.c instead of libFuzzer, it
 * replays files (the seed corpus, tests/corpus/recovery, under gcc's ASan+UBSan).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decoders/nasdaq/soupbin.h"
#include "feed/arbiter.h"

#define FUZZ_HANDLES 65536

#define FUZZ_CHECK(cond)                                                             \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "fuzz_recovery: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                     \
		}                                                                    \
	} while (0)

/* The reference: spaces either side, 1..20 digits between, below UINT64_MAX. */
static int fuzz_number_reference(const uint8_t *field, size_t len, uint64_t *out)
{
	size_t first = 0, last = len;
	unsigned __int128 v = 0;

	while (first < len && field[first] == ' ')
		first++;
	while (last > first && field[last - 1] == ' ')
		last--;
	if (first == last || last - first > 20)
		return -1;
	for (size_t i = first; i < last; i++) {
		if (field[i] < '0' || field[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(field[i] - '0');
	}
	if (v >= UINT64_MAX)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

static void fuzz_number(const uint8_t *field, size_t len)
{
	uint64_t got = 0, want = 0;
	int rc = soupbin_number_parse(field, len, &got);

	FUZZ_CHECK((rc == 0) == (fuzz_number_reference(field, len, &want) == 0));
	FUZZ_CHECK(rc != 0 || got == want);
}

static void fuzz_soupbin(const uint8_t *data, size_t size)
{
	static struct soupbin_buffer b;
	size_t at = 0;

	b.len = 0;
	/* Each chunk: [1 byte: length - 1, times 64 if its top bit is set][bytes]. */
	while (at < size) {
		size_t n = (data[at] & 0x80) ? ((size_t)(data[at] & 0x7f) + 1) * 64 : (size_t)data[at] + 1;
		uint32_t handled = 0;
		int rc;

		at++;
		if (n > size - at)
			n = size - at;
		if (n > sizeof(b.bytes) - b.len)
			n = sizeof(b.bytes) - b.len;
		if (n == 0)
			return;	/* the worker would see a full buffer: nothing more to read */
		memcpy(b.bytes + b.len, data + at, n);
		b.len += (uint32_t)n;
		at += n;
		for (;;) {
			uint8_t type = 0;
			const uint8_t *payload = NULL;
			uint16_t len = 0;
			uint32_t before = b.len, field;

			FUZZ_CHECK(handled++ <= sizeof(b.bytes) / 3);
			rc = soupbin_packet_peek(&b, &type, &payload, &len);
			field = b.len >= 2 ? ((uint32_t)b.bytes[0] << 8 | b.bytes[1]) : 0;
			if (rc == 0) {
				FUZZ_CHECK(b.len < 2 || b.len < 2 + field);
				break;
			}
			if (rc < 0) {
				FUZZ_CHECK(b.len >= 2 && field == 0);
				b.len = 0;	/* the worker drops the session */
				break;
			}
			FUZZ_CHECK(rc == 1 && field >= 1 && len == field - 1 && payload == b.bytes + 3);
			FUZZ_CHECK(3u + len <= b.len && type == b.bytes[2]);
			if (type == 'A' && len >= 30)
				fuzz_number(payload + 10, 20);
			if (type == 'S' && len >= 21 && payload[0] == 'G')
				fuzz_number(payload + 1, 20);
			fuzz_number(payload, len);
			soupbin_packet_consume(&b);
			FUZZ_CHECK(b.len == before - 3u - len);
		}
	}
}

/* What the arbiter's callbacks were told, checked as they come. */
static struct {
	struct arbiter *a;
	uint64_t next;		/* the sequence number due next (a snapshot or new session sets it) */
	bool recovering;	/* recover() called, not yet answered */
	bool flushing;		/* in arbiter_flush: it applies what is held, snapshot or not */
	bool rejoin;		/* a snapshot refused: the apply that ends the arbiter's rejoin starts anywhere */
	uint8_t released[FUZZ_HANDLES];
	uint32_t handles;
} f;

static void fuzz_due(uint64_t first)
{
	FUZZ_CHECK(first == f.next);
}

static void fuzz_apply(void *context, const struct arbiter_packet *p, uint32_t skip)
{
	(void)context;
	FUZZ_CHECK(skip < p->count && p->kind == DECODER_FRAME_DATA && (!f.a->snapshot_pending || f.flushing));
	if (f.rejoin && !f.a->rejoin)
		f.rejoin = false;	/* the lines (or what is held) say where the session is */
	else
		fuzz_due(p->seq + skip);
	f.next = p->seq + p->count;
}

static void fuzz_release(void *context, void *packet)
{
	uintptr_t h = (uintptr_t)packet;

	(void)context;
	FUZZ_CHECK(h >= 1 && h <= f.handles && f.released[h - 1] == 0);
	f.released[h - 1] = 1;
}

static void fuzz_session_start(void *context)
{
	(void)context;
	f.next = 1;	/* the protocol's first sequence number */
	f.recovering = false;
	f.rejoin = false;
}

static void fuzz_gap(void *context, uint64_t first, uint64_t count, uint64_t newly_lost)
{
	(void)newly_lost;
	(void)context;
	FUZZ_CHECK(count > 0 && newly_lost <= count);
	fuzz_due(first);
	f.next = first + count;
	f.recovering = false;
}

static void fuzz_recover(void *context, uint64_t first, uint64_t count)
{
	(void)context;
	FUZZ_CHECK(count > 0 && !f.recovering && f.a->recovering && !f.a->snapshot_pending);
	FUZZ_CHECK(f.a->held_count > 0 && first == f.a->expected && first + count == arbiter_held_get(f.a, 0)->seq);
	FUZZ_CHECK(f.a->recover_end == first + count);
	fuzz_due(first);
	f.recovering = true;
}

static void fuzz_snapshot_confirmed(void *context)
{
	(void)context;
	FUZZ_CHECK(!f.a->confirming && !f.a->snapshot_pending && !f.a->rejoin);
}

static void fuzz_snapshot_unconfirmed(void *context)
{
	(void)context;
	FUZZ_CHECK(!f.a->confirming && !f.a->recovering && f.a->held_count == 0 && f.a->rejoin);
	f.rejoin = true;
	f.recovering = false;
	f.next = f.a->expected;	/* until the rejoin, a hole is declared from where it stands */
}

static uint64_t fuzz_bad_sequence(const struct arbiter *a)
{
	uint64_t total = 0;

	for (int line = 0; line < ARBITER_LINES; line++)
		total += a->stats.lines[line].bad_sequence;
	return total;
}

static void fuzz_recovered(void *context)
{
	(void)context;
	FUZZ_CHECK(f.recovering && !f.a->recovering && f.a->expected >= f.a->recover_end);
	f.recovering = false;
}

/* The arbiter's own invariants, between operations. */
static void fuzz_arbiter_check(const struct arbiter *a)
{
	FUZZ_CHECK(a->held_count <= a->held_max);
	for (uint32_t i = 1; i < a->held_count; i++)
		FUZZ_CHECK(arbiter_held_get(a, i - 1)->seq <= arbiter_held_get(a, i)->seq);
	if (!a->snapshot_pending)
		FUZZ_CHECK(a->held_count == 0 || arbiter_held_get(a, 0)->seq > a->expected);
	if (a->recovering)
		FUZZ_CHECK(a->held_count > 0 && a->expected < a->recover_end && !a->snapshot_pending);
	FUZZ_CHECK(!(a->confirming && a->snapshot_pending));
}

static void fuzz_offer(struct arbiter *a, const char *session, enum decoder_frame_kind kind, uint64_t seq,
		       uint32_t count, uint8_t line, uint64_t now)
{
	struct decoder_frame frame = { .kind = kind, .seq = seq, .count = count, .session_len = 10 };
	struct arbiter_packet p = {
		.seq = seq, .count = count, .line = line, .kind = (uint8_t)kind,
		.packet = (void *)(uintptr_t)(++f.handles),
	};

	memcpy(frame.session, session, 10);
	arbiter_offer(a, &frame, &p, now);
}

/* expected + a signed byte, at least 1. */
static uint64_t fuzz_around(const struct arbiter *a, uint8_t delta)
{
	int64_t d = (int8_t)delta;

	return d < 0 && (uint64_t)-d >= a->expected ? 1 : a->expected + (uint64_t)d;
}

static void fuzz_arbiter(const uint8_t *data, size_t size)
{
	static const char *const names[2] = { "SESSIONAAA", "SESSIONBBB" };
	struct arbiter a;
	uint64_t now = 0, last_first = 0, last_count = 0;
	int session = 0;

	if (size < 4)
		return;
	memset(&f, 0, sizeof(f));
	f.a = &a;
	f.next = 1;
	if (arbiter_init(&a, 1 + data[0] % 32, data[1] % 64, 1, fuzz_apply, fuzz_release, fuzz_session_start,
			 NULL) != 0)
		abort();
	a.gap = fuzz_gap;
	a.snapshot_confirmed = fuzz_snapshot_confirmed;
	a.snapshot_unconfirmed = fuzz_snapshot_unconfirmed;
	if (data[2] & 4)
		a.confirm_ns = 1 + (uint64_t)(data[3] % 32) * 8;
	if (data[2] & 8)
		a.snapshot_held_max = 1 + data[0] % 8;
	if (data[2] & 1) {
		a.recover = fuzz_recover;
		a.recovered = fuzz_recovered;
	}
	a.join_recover_max = data[3];
	if (data[2] & 2)
		arbiter_snapshot_begin(&a);
	for (size_t at = 4; at + 3 <= size && f.handles < FUZZ_HANDLES - 1; at += 3) {
		uint8_t op = data[at], x = data[at + 1], y = data[at + 2];

		switch (op % 13) {
		case 0:
		case 1:
		case 2:	/* data on A, B or the recovery line */
			fuzz_offer(&a, names[session], DECODER_FRAME_DATA, fuzz_around(&a, y), 1 + x % 8, op % 3, now);
			break;
		case 3:
			fuzz_offer(&a, names[session], DECODER_FRAME_HEARTBEAT, fuzz_around(&a, y), 0, x % 2, now);
			break;
		case 4:
			fuzz_offer(&a, names[session], DECODER_FRAME_END, fuzz_around(&a, y), 0, x % 2, now);
			break;
		case 5:	/* another session's packet: a new one from its start, or a stray */
			fuzz_offer(&a, names[!session], DECODER_FRAME_DATA, x & 1 ? 1 : 1 + y, 1 + y % 8, x % 3, now);
			if (a.session_len == 10 && memcmp(a.session, names[!session], 10) == 0)
				session = !session;
			break;
		case 6:
			now += (uint64_t)x * 4;
			arbiter_expire(&a, now);
			break;
		case 7:	/* a give-up: the recovery's own range, or any */
			if (a.recovering && (x & 1)) {
				last_first = a.expected - (y % 4 < a.expected ? y % 4 : 0);
				last_count = a.recover_end - last_first;
			} else if (x & 2) {
				last_first = fuzz_around(&a, y);
				last_count = 1 + x % 32;
			}
			if (last_count > 0) {
				/* Only a give-up touching the hole being recovered declares it. */
				uint64_t lo = last_first > a.expected ? last_first : a.expected;
				uint64_t hi = last_first + last_count < a.recover_end ? last_first + last_count
										       : a.recover_end;
				bool touches = a.recovering && lo < hi;
				uint64_t gaps = a.stats.gaps, expected = a.expected, bad = fuzz_bad_sequence(&a);

				arbiter_recovery_lost(&a, last_first, last_count, now);
				FUZZ_CHECK(touches ? !a.recovering && (a.stats.gaps == gaps + 1 || fuzz_bad_sequence(&a) > bad)
						   : a.stats.gaps == gaps && a.expected == expected);
			}
			break;
		case 8:
			arbiter_recover_now(&a, now);
			break;
		case 9:
			if (!a.snapshot_pending)
				arbiter_snapshot_begin(&a);
			break;
		case 10:
			if (a.snapshot_pending) {
				/*
				 * The books are the snapshot's: the session goes on from its sequence.
				 * It names no session, the lines', or another (refused).
				 */
				const char *name = x % 3 == 0 ? NULL : names[x % 3 == 1 ? session : !session];

				f.next = fuzz_around(&a, y);
				f.recovering = false;
				f.rejoin = false;
				arbiter_snapshot_end(&a, f.next, name, name != NULL ? 10 : 0, now);
			}
			break;
		case 11:
			if (a.snapshot_pending) {
				f.recovering = false;
				arbiter_snapshot_failed(&a, now);
			}
			break;
		case 12:
			f.flushing = true;
			arbiter_flush(&a, now);
			f.flushing = false;
			break;
		}
		if (!a.recovering)
			f.recovering = false;	/* a snapshot begun cancels it too */
		fuzz_arbiter_check(&a);
	}
	f.flushing = true;
	arbiter_flush(&a, now);
	fuzz_arbiter_check(&a);
	arbiter_fini(&a);
	for (uint32_t h = 0; h < f.handles; h++)
		FUZZ_CHECK(f.released[h] == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] % 2 == 0)
		fuzz_soupbin(data + 1, size - 1);
	else
		fuzz_arbiter(data + 1, size - 1);
	return 0;
}
