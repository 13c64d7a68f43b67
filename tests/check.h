/*
 * check: what every C unit test shares: CHECK (counts a failure with its file and
 * line, and goes on), the seed every randomised test takes and prints, a small
 * seeded generator (splitmix64), and the canonical dump of one book as a string.
 */
#ifndef FH_TESTS_CHECK_H
#define FH_TESTS_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/book.h"

static int failures;

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			printf("  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);     \
			failures++;                                                  \
		}                                                                    \
	} while (0)

/* The seed: argv[1], else FH_SEED, else a fixed default. */
static inline uint64_t check_seed(int argc, char **argv)
{
	const char *env = getenv("FH_SEED");

	return argc > 1 ? strtoull(argv[1], NULL, 0) : env ? strtoull(env, NULL, 0) : 20261122;
}

static uint64_t check_rng_state;

static inline uint64_t check_rng(void)
{
	uint64_t z = (check_rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The canonical dump of one book named `name`, in a static buffer. */
static inline const char *check_dump(struct book *book, const char *name)
{
	static char text[1 << 16];
	FILE *out;

	memset(text, 0, sizeof(text));	/* an empty dump must read back as "" */
	out = fmemopen(text, sizeof(text), "w");
	book_dump_write(out, &book, &name, 1);
	fclose(out);
	return text;
}

#endif
