/*
 * bench-mdp3-book: the CME MDP 3.0 price-level book's cost per update on one core,
 * without decoding or packets. A stream of N level updates (New, Change, Delete, in
 * the proportions below) over many instruments, each update valid for the book it
 * meets (prices between their neighbours, levels within MarketDepth 10), is generated
 * in memory by driving a book, then applied to fresh books several times: each update
 * finds its instrument by SecurityID and goes through mdp3_apply_entry (the decoder's
 * mapping of a 46 entry) into the book. As a
 * reference in the same run, the same level changes (a level set, or removed, by price;
 * one pushed past the depth removed too) go through book/book.c's book_level_set, the
 * ITCH book's price-level path. Prints the best pass of each and the ratio; never fails
 * on time. Usage: bench-mdp3-book [updates] [instruments] [seed].
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "book/book.h"
#include "book/mdp3/mdp3_book.h"
#include "book/util/clock.h"
#include "decoders/cme_mdp3/mdp3_apply.h"

#define BENCH_PASSES 5
#define BENCH_DEPTH 10
#define BENCH_TICK 10000000ll		/* 0.01 as a PRICE9 mantissa */
#define BENCH_MID 4500000000000ll	/* 4500.00 */

/* One update as the feed would hand it over, packed. */
struct bench_update {
	int64_t price;
	uint32_t shares;
	uint32_t orders;
	int32_t security_id;
	uint8_t type;		/* '0' bid, '1' offer */
	uint8_t action;
	uint8_t level;
	uint8_t spare;
};

/* The same change for book_level_set: orders 0 removes the level. */
struct bench_change {
	int64_t price;
	uint32_t shares;
	uint32_t orders;
	uint16_t key;
	uint8_t side;
	uint8_t spare[5];
};

static uint64_t bench_rng_state;

static uint64_t bench_rng(void)
{
	uint64_t z = (bench_rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int32_t bench_security_id(uint32_t n)
{
	return (int32_t)(100000 + n * 7919u);
}

/*
 * The fields of an entry the book reads, as the decoder fills them; the rest of *e is
 * left as it is (zeroing the whole struct each time would be the bench's cost, not
 * the book's).
 */
static void bench_entry(const struct bench_update *u, struct mdp3_md_entry *e)
{
	e->present = MDP3_HAS_PRICE | MDP3_HAS_SIZE | MDP3_HAS_ORDERS | MDP3_HAS_LEVEL;
	e->price = u->price;
	e->size = u->shares;
	e->orders = u->orders;
	e->security_id = u->security_id;
	e->level = u->level;
	e->action = u->action;
	e->entry_type = (char)u->type;
}

/*
 * One valid update for the book as it stands (and applies it), plus its level changes
 * for the reference: returns how many (1 or 2).
 */
static uint32_t bench_generate(struct mdp3_book *book, uint32_t instruments, struct bench_update *u,
			       struct bench_change *c)
{
	uint32_t n = (uint32_t)(bench_rng() % instruments), changes = 0;
	int side = (int)(bench_rng() % 2);
	int32_t i = mdp3_book_instrument_find(book, bench_security_id(n));
	const struct level_book *levels = &book->instruments[i].mbp;
	const struct level_book_level *slots = level_book_side(levels, (enum book_side)side);
	uint32_t count = levels->count[side], r = (uint32_t)(bench_rng() % 100);
	int64_t sign = side == 0 ? 1 : -1, price;
	struct mdp3_md_entry e = { 0 };

	*u = (struct bench_update){ .security_id = bench_security_id(n), .type = side ? '1' : '0',
				    .shares = (uint32_t)(1 + bench_rng() % 500), .orders = (uint32_t)(1 + bench_rng() % 40) };
	if (count == 0 || (r < 40 && count < BENCH_DEPTH) || r < 20) {
		/* New at a level with room for a price between its neighbours. */
		uint32_t level = (uint32_t)(bench_rng() % (count + 1)) + 1;

		if (level > BENCH_DEPTH)
			level = BENCH_DEPTH;
		if (count == 0)
			price = BENCH_MID - sign * (1 + (int64_t)(bench_rng() % 4)) * BENCH_TICK;
		else if (level == 1)
			price = slots[0].price + sign * (1 + (int64_t)(bench_rng() % 3)) * BENCH_TICK;
		else if (level > count)
			price = slots[count - 1].price - sign * (1 + (int64_t)(bench_rng() % 3)) * BENCH_TICK;
		else if ((slots[level - 2].price - slots[level - 1].price) * sign > BENCH_TICK)
			price = slots[level - 1].price + sign * BENCH_TICK;
		else
			return bench_generate(book, instruments, u, c);
		u->action = MDP3_ACTION_NEW;
		u->level = (uint8_t)level;
		u->price = price;
		if (count == BENCH_DEPTH)	/* the last level is pushed out */
			c[changes++] = (struct bench_change){ .price = slots[BENCH_DEPTH - 1].price, .key = (uint16_t)n,
							      .side = (uint8_t)side };
		c[changes++] = (struct bench_change){ .price = price, .shares = u->shares, .orders = u->orders,
						      .key = (uint16_t)n, .side = (uint8_t)side };
	} else {
		uint32_t level = (uint32_t)(bench_rng() % count) + 1;

		u->level = (uint8_t)level;
		u->price = slots[level - 1].price;
		u->action = r < 75 ? MDP3_ACTION_CHANGE : MDP3_ACTION_DELETE;
		c[changes++] = (struct bench_change){ .price = u->price, .key = (uint16_t)n, .side = (uint8_t)side,
						      .shares = u->action == MDP3_ACTION_CHANGE ? u->shares : 0,
						      .orders = u->action == MDP3_ACTION_CHANGE ? u->orders : 0 };
	}
	bench_entry(u, &e);
	if (mdp3_apply_entry(book, i, &e) != 0) {
		fprintf(stderr, "bench-mdp3-book: the generator made an update the book refused\n");
		exit(1);
	}
	return changes;
}

int main(int argc, char **argv)
{
	size_t updates = argc > 1 ? strtoull(argv[1], NULL, 0) : 4000000;
	uint32_t instruments = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 0) : 1000;
	struct mdp3_book_config config = { .instruments_max = instruments, .orders_max = 1 };
	struct mdp3_book *book;
	struct book *reference;
	struct bench_update *stream;
	struct bench_change *changes;
	size_t changes_count = 0;
	uint64_t best = UINT64_MAX, best_reference = UINT64_MAX, refused = 0;
	struct mdp3_md_entry e = { 0 };

	bench_rng_state = argc > 3 ? strtoull(argv[3], NULL, 0) : 42;
	if (updates == 0 || instruments == 0 || instruments > 65535) {
		fprintf(stderr, "usage: bench-mdp3-book [updates] [instruments 1..65535] [seed]\n");
		return 2;
	}
	book = mdp3_book_create(&config);
	reference = book_create(instruments, instruments * 2u * 64u, 64);
	stream = malloc(updates * sizeof(*stream));
	changes = malloc(2 * updates * sizeof(*changes));
	if (book == NULL || reference == NULL || stream == NULL || changes == NULL) {
		fprintf(stderr, "bench-mdp3-book: cannot allocate\n");
		return 1;
	}
	for (uint32_t n = 0; n < instruments; n++)
		mdp3_book_instrument_get(book, bench_security_id(n));
	for (size_t k = 0; k < updates; k++)
		changes_count += bench_generate(book, instruments, &stream[k], &changes[changes_count]);
	for (int pass = 0; pass < BENCH_PASSES; pass++) {
		uint64_t start, ns;

		mdp3_book_clear(book);
		start = clock_monotonic_ns();
		for (size_t k = 0; k < updates; k++) {
			int32_t i;

			bench_entry(&stream[k], &e);
			i = mdp3_book_instrument_find(book, e.security_id);

			refused += mdp3_apply_entry(book, i, &e) != 0;
		}
		ns = clock_monotonic_ns() - start;
		best = ns < best ? ns : best;

		book_reset(reference);
		for (uint32_t n = 0; n < instruments; n++)
			book_instrument_get(reference, n, 9);
		start = clock_monotonic_ns();
		for (size_t k = 0; k < changes_count; k++) {
			const struct bench_change *c = &changes[k];

			refused += book_level_set(reference, book_instrument_find(reference, c->key),
						  (enum book_side)c->side, c->price, c->shares, c->orders, NULL) != 0;
		}
		ns = clock_monotonic_ns() - start;
		best_reference = ns < best_reference ? ns : best_reference;
	}
	if (refused != 0 || !mdp3_book_check(book))
		fprintf(stderr, "bench-mdp3-book: %" PRIu64 " updates refused, or a book check failed\n", refused);
	printf("%zu updates, %u instruments, depth %d: %.1f ns/update; book.c book_level_set on the same changes %.1f ns/update; ratio %.2f\n",
	       updates, instruments, BENCH_DEPTH, (double)best / (double)updates, (double)best_reference / (double)updates,
	       (double)best / (double)best_reference);
	free(stream);
	free(changes);
	book_destroy(reference);
	mdp3_book_destroy(book);
	return refused != 0;
}
