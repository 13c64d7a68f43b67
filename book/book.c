/*
 * book: instruments, live orders and price levels of one feed (see book.h).
 */
#include "book/book.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "book/util/memory.h"

/* Bytes of each pool and array book_create allocates, from the capacities. */
static size_t book_side_bytes(const struct book *book)
{
	return (size_t)book->instruments_max * BOOK_SIDES * book->chunks_max;
}

static size_t book_hash_bytes(const struct book *book)
{
	return (book->hash_mask + 1) * sizeof(struct book_level_slot);
}

/* Sizes the pools from the capacities (see book.h); false if they are out of range. */
static bool book_capacities_set(struct book *book, uint32_t instruments_max, uint32_t orders_max,
				uint32_t levels_max)
{
	uint64_t levels, slots = 1;

	if (instruments_max == 0 || instruments_max > BOOK_INSTRUMENTS_MAX || levels_max == 0 ||
	    levels_max > 65536 || orders_max == 0 || orders_max > (1u << 28))
		return false;
	/* slot_by_key keeps index + 1 in 16 bits: every key (65536) is one instrument too many. */
	if (instruments_max > UINT16_MAX)
		instruments_max = UINT16_MAX;
	levels = (uint64_t)instruments_max * BOOK_SIDES * levels_max;
	if (levels > (uint64_t)orders_max + BOOK_SIDES * instruments_max)
		levels = (uint64_t)orders_max + BOOK_SIDES * instruments_max;
	while (slots < 2 * levels)
		slots <<= 1;
	book->instruments_max = instruments_max;
	book->levels_max = levels_max;
	book->chunks_max = 4 * levels_max / BOOK_CHUNK_LEVELS + 2;
	book->levels_capacity = (uint32_t)levels + 1;	/* entry ORDER_FREE is never handed out */
	book->chunks_capacity = (uint32_t)(4 * levels / BOOK_CHUNK_LEVELS + (uint64_t)BOOK_SIDES * instruments_max + 1);
	book->hash_mask = slots - 1;
	book->hash_shift = 64 - (uint32_t)__builtin_ctzll(slots);
	/* At least two levels, so four slots: the shift is below 64. */
	assert(slots >= 4 && book->hash_shift < 64);
	return true;
}

struct book *book_create(uint32_t instruments_max, uint32_t orders_max, uint32_t levels_max)
{
	struct book *book = memory_alloc(sizeof(*book));

	if (book == NULL)
		return NULL;
	if (!book_capacities_set(book, instruments_max, orders_max, levels_max)) {
		memory_free(book, sizeof(*book));
		return NULL;
	}
	book->slot_by_key = memory_alloc(BOOK_INSTRUMENT_KEYS * sizeof(uint16_t));
	book->instruments = memory_alloc(book->instruments_max * sizeof(struct book_instrument));
	book->levels = memory_alloc((size_t)book->levels_capacity * sizeof(struct book_level));
	book->chunks = memory_alloc((size_t)book->chunks_capacity * sizeof(struct book_chunk));
	book->hash = memory_alloc(book_hash_bytes(book));
	book->side_chunks = memory_alloc(book_side_bytes(book) * sizeof(struct book_side_entry));
	book->levels_free = book->chunks_free = BOOK_NONE;
	book->levels_used = ORDER_FREE + 1;
	if (book->slot_by_key == NULL || book->instruments == NULL || book->levels == NULL ||
	    book->chunks == NULL || book->hash == NULL || book->side_chunks == NULL ||
	    order_table_init(&book->orders, orders_max) != 0) {
		book_destroy(book);
		return NULL;
	}
	return book;
}

void book_destroy(struct book *book)
{
	if (book == NULL)
		return;
	order_table_fini(&book->orders);
	memory_free(book->side_chunks, book_side_bytes(book) * sizeof(struct book_side_entry));
	memory_free(book->hash, book_hash_bytes(book));
	memory_free(book->chunks, (size_t)book->chunks_capacity * sizeof(struct book_chunk));
	memory_free(book->levels, (size_t)book->levels_capacity * sizeof(struct book_level));
	memory_free(book->instruments, book->instruments_max * sizeof(struct book_instrument));
	memory_free(book->slot_by_key, BOOK_INSTRUMENT_KEYS * sizeof(uint16_t));
	memory_free(book, sizeof(*book));
}

static void book_hash_remove(struct book *book, uint32_t level);

void book_reset(struct book *book)
{
	for (uint32_t i = 0; i < book->instruments_count; i++) {
		struct book_instrument *in = &book->instruments[i];

		for (int side = 0; side < BOOK_SIDES; side++) {
			const struct book_levels *levels = &in->sides[side];
			const struct book_side_entry *list = book_side_chunks(book, levels);

			for (uint32_t j = 0; j < levels->chunks; j++) {
				const struct book_chunk *chunk = &book->chunks[list[j].chunk];

				for (uint32_t k = 0; k < chunk->count; k++)
					book_hash_remove(book, chunk->entry[k].level);
			}
		}
		book->slot_by_key[in->key] = 0;
		memset(in, 0, sizeof(*in));
	}
	book->instruments_count = 0;
	book->levels_used = ORDER_FREE + 1;
	book->levels_live = book->chunks_used = 0;
	book->levels_free = book->chunks_free = BOOK_NONE;
	order_table_clear(&book->orders);
}

/* Where an instrument's side keeps its chunk list in side_chunks: chunks_max entries a side. */
static size_t book_side_base(const struct book *book, int32_t instrument, int side)
{
	return ((size_t)instrument * BOOK_SIDES + (size_t)side) * book->chunks_max;
}

int32_t book_instrument_get(struct book *book, uint32_t key, uint8_t price_decimals)
{
	struct book_instrument *instrument;
	int32_t index = book_instrument_find(book, key);

	if (index >= 0)
		return index;
	if (key >= BOOK_INSTRUMENT_KEYS || book->instruments_count >= book->instruments_max) {
		book->stats.instruments_full++;
		return -1;
	}
	index = (int32_t)book->instruments_count++;
	instrument = &book->instruments[index];
	instrument->key = key;
	instrument->price_decimals = price_decimals;
	for (int side = 0; side < BOOK_SIDES; side++) {
		size_t base = book_side_base(book, index, side);
		struct book_levels *levels = &instrument->sides[side];

		/* At most 65535 * 2 * (4 * 65536 / 30 + 2) entries: the base fits in 32 bits. */
		assert(base + book->chunks_max <= book_side_bytes(book) && base <= UINT32_MAX);
		levels->base = (uint32_t)base;
		levels->count = levels->chunks = 0;
		levels->best = BOOK_NONE;
	}
	book->slot_by_key[key] = (uint16_t)(index + 1);
	return index;
}

bool book_instrument_symbol_set(struct book *book, int32_t index, const char *symbol,
				uint32_t len, enum book_symbol_source source)
{
	struct book_instrument *instrument = &book->instruments[index];
	bool changed;

	assert(index >= 0 && (uint32_t)index < book->instruments_count);
	if (source < BOOK_SYMBOL_FROM_DIRECTORY && instrument->symbol_source >= source)
		return false;
	while (len > 0 && symbol[len - 1] == ' ')
		len--;
	if (len > BOOK_SYMBOL_MAX)
		len = BOOK_SYMBOL_MAX;
	changed = instrument->symbol_len != len || memcmp(instrument->symbol, symbol, len) != 0 ||
		  instrument->symbol_source == BOOK_SYMBOL_NONE;
	memcpy(instrument->symbol, symbol, len);
	instrument->symbol_len = (uint8_t)len;
	instrument->symbol_source = (uint8_t)source;
	return changed;
}

/* --- the level hash: (instrument, side, key) -> level, linear probing --- */

/* The level of (instrument, side, key), or BOOK_NONE. At most half the slots are used. */
static uint32_t book_hash_find(const struct book *book, int32_t instrument, int side, int64_t key)
{
	uint32_t owner = book_level_owner(instrument, side);
	uint64_t i = book_level_home(book, owner, key);

	for (uint64_t probes = 0; probes <= book->hash_mask; probes++) {
		const struct book_level_slot *slot = &book->hash[i];

		if (slot->owner == 0)
			return BOOK_NONE;
		if (slot->owner == owner && slot->key == key)
			return slot->level;
		i = (i + 1) & book->hash_mask;
	}
	assert(!"book_hash_find: no empty slot in the hash");
	return BOOK_NONE;
}

/* Enters a level that is not in the hash yet; there is always room (2 slots per level). */
static void book_hash_insert(struct book *book, uint32_t level)
{
	const struct book_level *l = &book->levels[level];
	uint32_t owner = book_level_owner(l->instrument, l->side);
	uint64_t i = book_level_home(book, owner, l->key);

	for (uint64_t probes = 0; probes <= book->hash_mask; probes++) {
		struct book_level_slot *slot = &book->hash[i];

		if (slot->owner == 0) {
			slot->key = l->key;
			slot->owner = owner;
			slot->level = level;
			return;
		}
		assert(slot->level != level);
		i = (i + 1) & book->hash_mask;
	}
	assert(!"book_hash_insert: no empty slot in the hash");
}

/* Takes a level out of the hash by backward shift, as order_table_remove does. */
static void book_hash_remove(struct book *book, uint32_t level)
{
	const struct book_level *l = &book->levels[level];
	uint32_t owner = book_level_owner(l->instrument, l->side);
	uint64_t hole = book_level_home(book, owner, l->key), i, probes;

	for (probes = 0; probes <= book->hash_mask && book->hash[hole].level != level; probes++)
		hole = (hole + 1) & book->hash_mask;
	assert(book->hash[hole].owner == owner && book->hash[hole].level == level);
	i = hole;
	for (probes = 0; probes <= book->hash_mask; probes++) {
		struct book_level_slot *next;
		uint64_t home;

		i = (i + 1) & book->hash_mask;
		next = &book->hash[i];
		if (next->owner == 0)
			break;
		home = book_level_home(book, next->owner, next->key);
		if (((i - home) & book->hash_mask) >= ((i - hole) & book->hash_mask)) {
			book->hash[hole] = *next;
			hole = i;
		}
	}
	book->hash[hole].owner = 0;
}

/* --- pools: a free list in front of the never-used tail --- */

static uint32_t book_level_alloc(struct book *book)
{
	uint32_t level = book->levels_free;

	if (level != BOOK_NONE)
		book->levels_free = book->levels[level].chunk;
	else if (book->levels_used < book->levels_capacity)
		level = book->levels_used++;
	else
		return BOOK_NONE;
	assert(level < book->levels_used);
	book->levels_live++;
	return level;
}

static void book_level_release(struct book *book, uint32_t level)
{
	assert(level < book->levels_used && book->levels_live > 0);
	book->levels[level].orders = 0;
	book->levels[level].chunk = book->levels_free;
	book->levels_free = level;
	book->levels_live--;
}

/* Entries [from, to) of a chunk become padding (book_chunk_rank counts on it past the count). */
static void book_chunk_pad(struct book_chunk *chunk, uint32_t from, uint32_t to)
{
	assert(from <= to && to <= BOOK_CHUNK_LEVELS + 1);
	for (uint32_t k = from; k < to; k++) {
		chunk->entry[k].key = BOOK_CHUNK_PAD;
		chunk->entry[k].level = BOOK_NONE;
	}
}

static uint32_t book_chunk_alloc(struct book *book)
{
	uint32_t chunk = book->chunks_free;

	if (chunk != BOOK_NONE)
		book->chunks_free = book->chunks[chunk].entry[0].level;
	else if (book->chunks_used < book->chunks_capacity)
		chunk = book->chunks_used++;
	else
		return BOOK_NONE;
	book->chunks[chunk].count = 0;
	book_chunk_pad(&book->chunks[chunk], 0, BOOK_CHUNK_LEVELS + 1);
	return chunk;
}

static void book_chunk_release(struct book *book, uint32_t chunk)
{
	assert(chunk < book->chunks_used);
	book->chunks[chunk].count = 0;
	book->chunks[chunk].entry[0].level = book->chunks_free;
	book->chunks_free = chunk;
}

/* --- the ordered side: chunks of sorted keys, best last --- */

/*
 * Keys in a chunk below key: where key is, or would go. A branch-free binary search
 * over the chunk's 31 entries, the padding past its count included (no key is below
 * BOOK_CHUNK_PAD, so the padding never counts): five compares and no loop, where a
 * search bounded by the count took a loop of five halvings of it (7% of the
 * instructions of a session where most adds make a level) and a scan of every key
 * before that, 13%.
 */
static inline uint32_t book_chunk_rank(const struct book_chunk *chunk, int64_t key)
{
	const struct book_chunk_entry *e = chunk->entry;
	uint32_t i = 0;

	_Static_assert(BOOK_CHUNK_LEVELS + 1 == 31, "five halvings cover 31 entries");
	i += e[i + 15].key < key ? 16 : 0;
	i += e[i + 7].key < key ? 8 : 0;
	i += e[i + 3].key < key ? 4 : 0;
	i += e[i + 1].key < key ? 2 : 0;
	i += e[i].key < key ? 1 : 0;
	assert(i <= chunk->count);
	return i;
}

/* Puts chunk (lowest key low) at position j of the side's chunk list. */
static void book_side_chunk_insert_at(struct book *book, struct book_levels *levels, uint32_t j,
				      uint32_t chunk, int64_t low)
{
	struct book_side_entry *list = book_side_chunks(book, levels);

	assert(levels->chunks < book->chunks_max && j <= levels->chunks);
	memmove(&list[j + 1], &list[j], (levels->chunks - j) * sizeof(list[0]));
	list[j].low = low;
	list[j].chunk = chunk;
	levels->chunks++;
}

static void book_side_chunk_remove_at(struct book *book, struct book_levels *levels, uint32_t j)
{
	struct book_side_entry *list = book_side_chunks(book, levels);

	assert(j < levels->chunks);
	memmove(&list[j], &list[j + 1], (levels->chunks - j - 1) * sizeof(list[0]));
	levels->chunks--;
}

/* Moves n entries of chunk from, starting at `at`, to the end of chunk to; their levels follow. */
static void book_chunk_move(struct book *book, uint32_t from, uint32_t at, uint32_t n, uint32_t to)
{
	struct book_chunk *src = &book->chunks[from], *dst = &book->chunks[to];

	assert(at + n <= src->count && dst->count + n <= BOOK_CHUNK_LEVELS);
	memcpy(&dst->entry[dst->count], &src->entry[at], n * sizeof(src->entry[0]));
	for (uint32_t k = 0; k < n; k++)
		book->levels[src->entry[at + k].level].chunk = to;
	book_chunk_pad(src, at, at + n);
	dst->count += n;
	src->count -= n;
	assert(at == src->count);	/* only a chunk's tail moves */
}

/* Splits the full chunk at position j in two halves. false: no chunk left. */
static bool book_side_split(struct book *book, struct book_levels *levels, uint32_t j)
{
	uint32_t from = book_side_chunks(book, levels)[j].chunk, to;

	if (levels->chunks >= book->chunks_max)
		return false;
	to = book_chunk_alloc(book);
	if (to == BOOK_NONE)
		return false;
	book_chunk_move(book, from, BOOK_CHUNK_LEVELS / 2, BOOK_CHUNK_LEVELS - BOOK_CHUNK_LEVELS / 2, to);
	book_side_chunk_insert_at(book, levels, j + 1, to, book->chunks[to].entry[0].key);
	return true;
}

/* The chunk at j + 1 joins the one at j. */
static void book_side_join(struct book *book, struct book_levels *levels, uint32_t j)
{
	const struct book_side_entry *list = book_side_chunks(book, levels);
	uint32_t next = list[j + 1].chunk;

	book_chunk_move(book, next, 0, book->chunks[next].count, list[j].chunk);
	book_side_chunk_remove_at(book, levels, j + 1);
	book_chunk_release(book, next);
}

static inline uint32_t book_side_pair(const struct book *book, const struct book_levels *levels,
				      uint32_t j)
{
	const struct book_side_entry *list = book_side_chunks(book, levels);

	return book->chunks[list[j].chunk].count + book->chunks[list[j + 1].chunk].count;
}

/*
 * After a removal from chunk j: if it and a neighbour now hold at most half a chunk
 * (H), they become one. One merge is all it can take: every pair held more than H
 * before the removal, so each of j's pairs now holds at least H; if j and its right
 * neighbour merge, the left one and the merged chunk hold at least (left + j) + 1 > H,
 * and the same the other way round. book_check checks the rule on the whole side.
 */
static void book_side_merge(struct book *book, struct book_levels *levels, uint32_t j)
{
	if (j + 1 < levels->chunks && book_side_pair(book, levels, j) <= BOOK_CHUNK_LEVELS / 2)
		book_side_join(book, levels, j);
	else if (j > 0 && book_side_pair(book, levels, j - 1) <= BOOK_CHUNK_LEVELS / 2)
		book_side_join(book, levels, j - 1);
}

static inline uint32_t book_side_last(const struct book *book, const struct book_levels *levels)
{
	const struct book_chunk *chunk;

	if (levels->chunks == 0)
		return BOOK_NONE;
	chunk = &book->chunks[book_side_chunks(book, levels)[levels->chunks - 1].chunk];
	return chunk->entry[chunk->count - 1].level;
}

/* Puts a new level (its key not on the side) in order. false: no chunk left to split into. */
static bool book_side_insert(struct book *book, struct book_levels *levels, uint32_t level)
{
	struct book_side_entry *list = book_side_chunks(book, levels);
	int64_t key = book->levels[level].key;
	uint32_t j = 0, at;
	struct book_chunk *chunk;

	if (levels->chunks == 0) {
		uint32_t first = book_chunk_alloc(book);

		if (first == BOOK_NONE)
			return false;
		book_side_chunk_insert_at(book, levels, 0, first, key);
	} else {
		j = book_side_chunk_seek(book, levels, key);
		if (book->chunks[list[j].chunk].count == BOOK_CHUNK_LEVELS) {
			if (!book_side_split(book, levels, j))
				return false;
			j += key >= list[j + 1].low;
		}
	}
	chunk = &book->chunks[list[j].chunk];
	at = book_chunk_rank(chunk, key);
	/* Entry count + 1 and those after it stay padding: the count was below BOOK_CHUNK_LEVELS. */
	memmove(&chunk->entry[at + 1], &chunk->entry[at], (chunk->count - at) * sizeof(chunk->entry[0]));
	chunk->entry[at].key = key;
	chunk->entry[at].level = level;
	chunk->count++;
	if (at == 0)
		list[j].low = key;
	book->levels[level].chunk = list[j].chunk;
	levels->count++;
	if (j == levels->chunks - 1 && at == chunk->count - 1)
		levels->best = level;	/* above every other level of the side */
	return true;
}

/*
 * Takes a level off its side. The level names its chunk, so the side's chunk list is
 * searched only when it must change: the chunk loses its lowest key, or holds less
 * than half a chunk and may merge (a neighbour holds at least one level, so a chunk
 * of BOOK_CHUNK_LEVELS / 2 or more cannot).
 */
static void book_side_remove(struct book *book, struct book_levels *levels, uint32_t level)
{
	int64_t key = book->levels[level].key;
	uint32_t c = book->levels[level].chunk, j, at;
	struct book_chunk *chunk = &book->chunks[c];

	at = book_chunk_rank(chunk, key);
	assert(at < chunk->count && chunk->entry[at].key == key && chunk->entry[at].level == level);
	chunk->count--;
	/* The padding entry past the old count comes down too: the freed entry is padding. */
	memmove(&chunk->entry[at], &chunk->entry[at + 1], (chunk->count - at + 1) * sizeof(chunk->entry[0]));
	levels->count--;
	if (at == 0 || chunk->count < BOOK_CHUNK_LEVELS / 2) {
		/* The chunk's bound is still key: the seek finds the chunk the level said. */
		j = book_side_chunk_seek(book, levels, key);
		assert(book_side_chunks(book, levels)[j].chunk == c);
		if (chunk->count == 0) {
			book_side_chunk_remove_at(book, levels, j);
			book_chunk_release(book, c);
		} else {
			if (at == 0)
				book_side_chunks(book, levels)[j].low = chunk->entry[0].key;
			book_side_merge(book, levels, j);
		}
	}
	if (levels->best == level)
		levels->best = book_side_last(book, levels);
}

/* A new, empty level of a side; BOOK_NONE (counted in levels_full) when there is no room. */
static uint32_t book_level_create(struct book *book, int32_t instrument, int side, int64_t key)
{
	struct book_levels *levels = &book->instruments[instrument].sides[side];
	uint32_t level = BOOK_NONE;
	struct book_level *l;

	if (levels->count < book->levels_max)
		level = book_level_alloc(book);
	if (level == BOOK_NONE) {
		book->stats.levels_full++;
		return BOOK_NONE;
	}
	l = &book->levels[level];
	l->key = key;
	l->shares = 0;
	l->orders = 0;
	l->instrument = (uint16_t)instrument;
	l->side = (uint8_t)side;
	if (!book_side_insert(book, levels, level)) {
		book_level_release(book, level);
		book->stats.levels_full++;
		return BOOK_NONE;
	}
	book_hash_insert(book, level);
	return level;
}

static void book_level_destroy(struct book *book, uint32_t level)
{
	const struct book_level *l = &book->levels[level];

	book_side_remove(book, &book->instruments[l->instrument].sides[l->side], level);
	book_hash_remove(book, level);
	book_level_release(book, level);
}

void book_top_get(const struct book *book, int32_t instrument, struct book_top *top)
{
	const struct book_instrument *in = &book->instruments[instrument];

	for (int side = 0; side < BOOK_SIDES; side++) {
		uint32_t best = in->sides[side].best;

		top->price[side] = best == BOOK_NONE ? INT64_MIN :
			book_side_key((enum book_side)side, book->levels[best].key);
		top->shares[side] = best == BOOK_NONE ? 0 : book->levels[best].shares;
	}
	top->instrument = instrument;
}

/* A public operation starts its result afresh. */
static inline void book_result_begin(struct book_result *result)
{
	if (result != NULL) {
		result->changes_count = 0;
		result->top_taken = false;
	}
}

/*
 * Before a level change (best: the level is, or becomes, its side's best): the
 * operation's instrument, and the instrument's top as it was, read at the first
 * change that can move it. Reading it at every operation cost the other side's best
 * level, a miss, on the many that change neither.
 */
static inline void book_change_begin(const struct book *book, struct book_result *result,
				     int32_t instrument, bool best)
{
	if (result == NULL)
		return;
	if (result->changes_count == 0)
		result->top_before.instrument = instrument;
	if (best && !result->top_taken) {
		book_top_get(book, instrument, &result->top_before);
		result->top_taken = true;
	}
}

/* Whether a level of key that is not on the side yet would be its best. */
static inline bool book_side_would_lead(const struct book *book, const struct book_levels *levels,
					int64_t key)
{
	return levels->best == BOOK_NONE || key > book->levels[levels->best].key;
}

/* Notes a level as it is now (orders 0: gone) for whoever follows the book. */
static inline void book_change_record(struct book_result *result, const struct book_level *l,
				      bool best)
{
	struct book_change *change;

	if (result == NULL)
		return;
	/* An operation changes at most BOOK_CHANGES_MAX levels (a replace: 2). */
	assert(result->changes_count < BOOK_CHANGES_MAX);
	assert(result->changes_count == 0 || result->top_before.instrument == l->instrument);
	change = &result->changes[result->changes_count++];
	change->price = book_side_key((enum book_side)l->side, l->key);
	change->shares = l->shares;
	change->orders = l->orders;
	change->instrument = l->instrument;
	change->side = l->side;
	change->best = best;
}

/*
 * Adds shares and orders to the level of (instrument, side, key), creating it.
 * Returns the level, or BOOK_NONE (levels_full) with the book unchanged. Inlined
 * into its callers, as book_levels_sub is: an add to a level that exists then makes
 * no call and saves no registers, and creating one is a call to book_level_create
 * (out of line, they cost 80 M instructions of 3.35 G on a deep 2000-symbol run).
 */
static inline __attribute__((always_inline)) uint32_t book_levels_add(struct book *book,
								     struct book_result *result,
								     int32_t instrument, int side,
								     int64_t key, uint64_t shares,
								     uint32_t orders)
{
	uint32_t level = book_hash_find(book, instrument, side, key);
	const struct book_levels *levels = &book->instruments[instrument].sides[side];
	struct book_level *l;

	if (result != NULL)
		book_change_begin(book, result, instrument,
				  level == BOOK_NONE ? book_side_would_lead(book, levels, key) :
				  level == levels->best);
	if (level == BOOK_NONE) {
		level = book_level_create(book, instrument, side, key);
		if (level == BOOK_NONE)
			return BOOK_NONE;
	}
	l = &book->levels[level];
	l->shares += shares;
	l->orders += orders;
	book_change_record(result, l, level == levels->best);
	return level;
}

/* Takes shares and orders off a level; the level goes when no order is left. */
static inline __attribute__((always_inline)) void book_levels_sub(struct book *book,
								 struct book_result *result,
								 uint32_t level, uint64_t shares,
								 uint32_t orders)
{
	struct book_level *l = &book->levels[level];
	bool best = book->instruments[l->instrument].sides[l->side].best == level;

	assert(l->orders >= orders && l->shares >= shares);
	book_change_begin(book, result, l->instrument, best);
	l->shares -= shares;
	l->orders -= orders;
	book_change_record(result, l, best);
	if (l->orders == 0)
		book_level_destroy(book, level);
}

/* Notes the order an operation touched, as it was, and what it has left. */
static inline void book_order_note(const struct book *book, struct book_result *result,
				   const struct order *order, uint32_t remaining)
{
	const struct book_level *l = &book->levels[order->level];

	if (result == NULL)
		return;
	result->order.price = book_side_key((enum book_side)l->side, l->key);
	result->order.shares = order->shares;
	result->order.remaining = remaining;
	result->order.instrument = l->instrument;
	result->order.side = l->side;
}

/* book_order_add within an operation (a replace's second half): the result goes on. */
static int book_order_insert(struct book *book, int32_t instrument, uint64_t ref,
			     enum book_side side, int64_t price, uint32_t shares,
			     struct book_result *result)
{
	struct order *order;
	uint32_t level;
	bool existed;

	assert(instrument >= 0 && (uint32_t)instrument < book->instruments_count);
	assert(side == BOOK_SIDE_BID || side == BOOK_SIDE_ASK);
	order = order_table_claim(&book->orders, ref, &existed);
	if (order == NULL) {
		if (existed)
			book->stats.duplicate_order++;
		else
			book->stats.orders_full++;
		return existed ? -EEXIST : -ENOSPC;
	}
	level = book_levels_add(book, result, instrument, side, book_side_key(side, price), shares, 1);
	if (level == BOOK_NONE) {
		order_table_remove(&book->orders, order);
		return -ENOSPC;
	}
	order->level = level;
	order->shares = shares;
	book_order_note(book, result, order, shares);
	book->stats.orders_added++;
	return 0;
}

int book_order_add(struct book *book, int32_t instrument, uint64_t ref, enum book_side side,
		   int64_t price, uint32_t shares, struct book_result *result)
{
	book_result_begin(result);
	return book_order_insert(book, instrument, ref, side, price, shares, result);
}

static void book_order_remove(struct book *book, struct book_result *result, struct order *order)
{
	book_levels_sub(book, result, order->level, order->shares, 1);
	order_table_remove(&book->orders, order);
	book->stats.orders_removed++;
}

int book_order_reduce(struct book *book, uint64_t ref, uint32_t shares, struct book_result *result)
{
	struct order *order = order_table_find(&book->orders, ref);

	book_result_begin(result);
	if (order == NULL) {
		book->stats.unknown_order++;
		return -ENOENT;
	}
	if (shares >= order->shares) {
		book_order_note(book, result, order, 0);
		book_order_remove(book, result, order);
		return 0;
	}
	book_order_note(book, result, order, order->shares - shares);
	book_levels_sub(book, result, order->level, shares, 0);
	order->shares -= shares;
	return 0;
}

int book_order_delete(struct book *book, uint64_t ref, struct book_result *result)
{
	struct order *order = order_table_find(&book->orders, ref);

	book_result_begin(result);
	if (order == NULL) {
		book->stats.unknown_order++;
		return -ENOENT;
	}
	book_order_note(book, result, order, 0);
	book_order_remove(book, result, order);
	return 0;
}

int book_order_replace(struct book *book, uint64_t old_ref, uint64_t new_ref, int64_t price,
		       uint32_t shares, struct book_result *result)
{
	struct order *order = order_table_find(&book->orders, old_ref);
	int32_t instrument;
	enum book_side side;

	book_result_begin(result);
	if (order == NULL) {
		book->stats.unknown_order++;
		return -ENOENT;
	}
	instrument = book->levels[order->level].instrument;
	side = (enum book_side)book->levels[order->level].side;
	book_order_note(book, result, order, 0);
	book_order_remove(book, result, order);
	return book_order_insert(book, instrument, new_ref, side, price, shares, result);
}

int book_level_set(struct book *book, int32_t instrument, enum book_side side, int64_t price,
		   uint64_t shares, uint32_t orders, struct book_result *result)
{
	int64_t key = book_side_key(side, price);
	uint32_t level;
	struct book_level *l;
	bool best;

	assert(instrument >= 0 && (uint32_t)instrument < book->instruments_count);
	book_result_begin(result);
	level = book_hash_find(book, instrument, side, key);
	if (level == BOOK_NONE) {
		if (orders == 0)
			return 0;
		return book_levels_add(book, result, instrument, side, key, shares, orders) == BOOK_NONE ?
			-ENOSPC : 0;
	}
	l = &book->levels[level];
	best = level == book->instruments[instrument].sides[side].best;
	book_change_begin(book, result, instrument, best);
	l->shares = shares;
	l->orders = orders;
	book_change_record(result, l, best);
	if (orders == 0)
		book_level_destroy(book, level);
	return 0;
}

uint32_t book_side_count(const struct book *book, int32_t instrument, enum book_side side)
{
	assert(instrument >= 0 && (uint32_t)instrument < book->instruments_count);
	return book->instruments[instrument].sides[side].count;
}

/*
 * The levels' indexes come first, a chunk at a time, and each level is prefetched as
 * its index is read, so the reads of scattered pool entries overlap.
 */
uint32_t book_side_levels(const struct book *book, int32_t instrument, enum book_side side,
			  struct book_level_info *out, uint32_t max)
{
	const struct book_levels *levels;
	uint32_t n = 0, ids[BOOK_CHUNK_LEVELS];

	assert(instrument >= 0 && (uint32_t)instrument < book->instruments_count);
	levels = &book->instruments[instrument].sides[side];
	for (uint32_t j = levels->chunks; j > 0 && n < max; j--) {
		const struct book_chunk *chunk = &book->chunks[book_side_chunks(book, levels)[j - 1].chunk];
		uint32_t take = 0;

		for (uint32_t k = chunk->count; k > 0 && n + take < max; k--) {
			ids[take] = chunk->entry[k - 1].level;
			__builtin_prefetch(&book->levels[ids[take]]);
			take++;
		}
		for (uint32_t t = 0; t < take; t++, n++) {
			const struct book_level *l = &book->levels[ids[t]];

			out[n].price = book_side_key(side, l->key);
			out[n].shares = l->shares;
			out[n].orders = l->orders;
		}
	}
	return n;
}

void book_side_walk_start(const struct book *book, int32_t instrument, enum book_side side,
			  struct book_level_walk *walk)
{
	assert(instrument >= 0 && (uint32_t)instrument < book->instruments_count && side < BOOK_SIDES);
	walk->instrument = instrument;
	walk->side = (uint8_t)side;
	walk->chunk = book->instruments[instrument].sides[side].chunks;
	walk->index = 0;
}

bool book_side_walk_next(const struct book *book, struct book_level_walk *walk,
			 struct book_level_info *out)
{
	const struct book_levels *levels = &book->instruments[walk->instrument].sides[walk->side];
	const struct book_side_entry *list = book_side_chunks(book, levels);
	const struct book_chunk *chunk;
	const struct book_level *l;

	/* A chunk on a side holds at least one level: entering the next one is enough. */
	if (walk->index == 0) {
		if (walk->chunk == 0)
			return false;
		walk->chunk--;
		walk->index = book->chunks[list[walk->chunk].chunk].count;
		assert(walk->index >= 1 && walk->index <= BOOK_CHUNK_LEVELS);
	}
	chunk = &book->chunks[list[walk->chunk].chunk];
	l = &book->levels[chunk->entry[--walk->index].level];
	assert(l->orders > 0 && l->instrument == walk->instrument && l->side == walk->side);
	out->price = book_side_key((enum book_side)walk->side, l->key);
	out->shares = l->shares;
	out->orders = l->orders;
	return true;
}

bool book_order_next(const struct book *book, uint64_t *cursor, struct book_order_entry *out)
{
	const struct order_table *table = &book->orders;

	if (*cursor < table->touched_lo)
		*cursor = table->touched_lo;
	for (; *cursor <= table->touched_hi && *cursor <= table->mask; (*cursor)++) {
		const struct order *o = &table->slots[*cursor];
		const struct book_level *l;

		if (!order_used(o))
			continue;
		assert(o->level < book->levels_used);
		l = &book->levels[o->level];
		out->ref = o->ref;
		out->price = book_side_key((enum book_side)l->side, l->key);
		out->shares = o->shares;
		out->instrument = l->instrument;
		out->side = l->side;
		(*cursor)++;
		return true;
	}
	return false;
}

/* --- canonical dump (control path: allocation allowed) --- */

struct book_dump_entry {
	const char *feed;
	const struct book *book;
	int32_t index;
	const struct book_instrument *instrument;
	char symbol[BOOK_SYMBOL_MAX + 8];
};

static int book_dump_entry_compare(const void *a, const void *b)
{
	const struct book_dump_entry *x = a, *y = b;
	int c = strcmp(x->feed, y->feed);

	if (c != 0)
		return c;
	c = strcmp(x->symbol, y->symbol);
	if (c != 0)
		return c;
	return x->instrument->key < y->instrument->key ? -1 : x->instrument->key > y->instrument->key;
}

void book_price_format(char *out, size_t size, int64_t price, uint8_t decimals)
{
	uint64_t magnitude = price < 0 ? -(uint64_t)price : (uint64_t)price;
	char digits[48];
	size_t n = 0, o = 0;

	assert(size >= BOOK_PRICE_TEXT_MAX && decimals <= 18);
	/* Least significant digit first, at least decimals + 1 of them. */
	do {
		digits[n++] = (char)('0' + magnitude % 10);
		magnitude /= 10;
	} while (magnitude > 0 || n <= decimals);
	if (price < 0)
		out[o++] = '-';
	while (n > 0) {
		if (n == decimals)
			out[o++] = '.';
		out[o++] = digits[--n];
	}
	out[o] = '\0';
}

int book_dump_write(FILE *out, struct book *const *books, const char *const *names,
		    uint32_t count)
{
	struct book_dump_entry *entries;
	struct book_level_info *levels;
	size_t total = 0, n = 0;
	uint32_t levels_max = 0;
	char price[BOOK_PRICE_TEXT_MAX];

	for (uint32_t b = 0; b < count; b++) {
		total += books[b]->instruments_count;
		if (books[b]->levels_max > levels_max)
			levels_max = books[b]->levels_max;
	}
	entries = calloc(total ? total : 1, sizeof(*entries));
	if (entries == NULL)
		return -ENOMEM;
	for (uint32_t b = 0; b < count; b++) {
		for (uint32_t i = 0; i < books[b]->instruments_count; i++) {
			const struct book_instrument *instrument = &books[b]->instruments[i];
			struct book_dump_entry *entry = &entries[n++];

			entry->feed = names[b];
			entry->book = books[b];
			entry->index = (int32_t)i;
			entry->instrument = instrument;
			if (instrument->symbol_source == BOOK_SYMBOL_NONE)
				snprintf(entry->symbol, sizeof(entry->symbol), "#%u", instrument->key);
			else
				snprintf(entry->symbol, sizeof(entry->symbol), "%.*s",
					 (int)instrument->symbol_len, instrument->symbol);
		}
	}
	qsort(entries, n, sizeof(*entries), book_dump_entry_compare);
	levels = calloc(levels_max ? levels_max : 1, sizeof(*levels));
	if (levels == NULL) {
		free(entries);
		return -ENOMEM;
	}
	for (size_t e = 0; e < n; e++) {
		const struct book_instrument *instrument = entries[e].instrument;

		for (int side = 0; side < BOOK_SIDES; side++) {
			uint32_t count = book_side_levels(entries[e].book, entries[e].index,
							  (enum book_side)side, levels, levels_max);

			for (uint32_t i = 0; i < count; i++) {
				book_price_format(price, sizeof(price), levels[i].price,
						  instrument->price_decimals);
				fprintf(out, "%s %s %c %s %" PRIu64 " %" PRIu32 "\n", entries[e].feed,
					entries[e].symbol, side == BOOK_SIDE_BID ? 'B' : 'S', price,
					levels[i].shares, levels[i].orders);
			}
		}
	}
	free(levels);
	free(entries);
	return ferror(out) ? -EIO : 0;
}

/* Checks a side's chunks and levels against the totals summed from the live orders. */
static bool book_check_side(const struct book *book, int32_t instrument, int side,
			    const uint64_t *shares, const uint32_t *orders)
{
	const struct book_levels *levels = &book->instruments[instrument].sides[side];
	const struct book_side_entry *list = book_side_chunks(book, levels);
	uint32_t count = 0, last = BOOK_NONE;
	int64_t previous = INT64_MIN;
	bool first = true;

	if (levels->chunks > book->chunks_max || levels->count > book->levels_max ||
	    levels->base != book_side_base(book, instrument, side))
		return false;
	for (uint32_t j = 0; j < levels->chunks; j++) {
		const struct book_chunk *chunk;

		if (list[j].chunk >= book->chunks_used)
			return false;
		chunk = &book->chunks[list[j].chunk];
		if (chunk->count == 0 || chunk->count > BOOK_CHUNK_LEVELS || list[j].low != chunk->entry[0].key ||
		    (j > 0 && book_side_pair(book, levels, j - 1) <= BOOK_CHUNK_LEVELS / 2))
			return false;
		for (uint32_t k = 0; k < chunk->count; k++) {
			uint32_t level = chunk->entry[k].level;
			const struct book_level *l = &book->levels[level];

			if (level >= book->levels_used || l->key != chunk->entry[k].key || (!first && l->key <= previous) ||
			    l->chunk != list[j].chunk || l->instrument != instrument || l->side != side ||
			    l->orders == 0 || l->orders != orders[level] || l->shares != shares[level] ||
			    book_hash_find(book, instrument, side, l->key) != level)
				return false;
			previous = l->key;
			first = false;
			last = level;
			count++;
		}
		/* book_chunk_rank counts on the padding past the count. */
		for (uint32_t k = chunk->count; k <= BOOK_CHUNK_LEVELS; k++) {
			if (chunk->entry[k].key != BOOK_CHUNK_PAD || chunk->entry[k].level != BOOK_NONE)
				return false;
		}
	}
	return count == levels->count && last == levels->best;
}

bool book_check(const struct book *book)
{
	const struct order_table *table = &book->orders;
	uint64_t *shares = calloc((size_t)book->levels_capacity + 1, sizeof(uint64_t));
	uint32_t *orders = calloc((size_t)book->levels_capacity + 1, sizeof(uint32_t));
	uint32_t live = 0, on_sides = 0, hashed = 0;
	bool ok = shares != NULL && orders != NULL;

	for (uint64_t s = 0; ok && s <= table->mask; s++) {
		const struct order *order = &table->slots[s], *previous;
		uint64_t distance;

		if (!order_used(order))
			continue;
		live++;
		/* Robin Hood order: a displaced order follows one at most one slot nearer home. */
		distance = order_table_distance(table, s, order);
		previous = &table->slots[(s - 1) & table->mask];
		ok = order_table_find((struct order_table *)table, order->ref) == order &&
		     order->level < book->levels_used && book->levels[order->level].orders > 0 &&
		     (distance == 0 || (order_used(previous) &&
					order_table_distance(table, (s - 1) & table->mask, previous) + 1 >= distance));
		if (ok) {
			shares[order->level] += order->shares;
			orders[order->level]++;
		}
	}
	ok = ok && live == table->count;
	for (uint32_t n = 0; ok && n < book->instruments_count; n++) {
		for (int side = 0; ok && side < BOOK_SIDES; side++) {
			ok = book_check_side(book, (int32_t)n, side, shares, orders);
			on_sides += book->instruments[n].sides[side].count;
		}
	}
	for (uint64_t s = 0; ok && s <= book->hash_mask; s++)
		hashed += book->hash[s].owner != 0;
	ok = ok && on_sides == hashed && on_sides == book->levels_live;
	free(shares);
	free(orders);
	return ok;
}
