/*
 * security_map: a feed's CME SecurityIDs (32-bit) to the index of their instrument,
 * sized once at start and never resized. Open addressing with linear probing over
 * 2^k slots, at least twice the instrument capacity, so the load never passes 0.5 and
 * a probe is short; the probe is also bounded (SECURITY_MAP_PROBE_MAX): an insert
 * that would go further, or one past the capacity, is refused and counted, never
 * grown. Keys are only added (an instrument keeps its index until a clear), so there
 * are no tombstones and a lookup stops at the first empty slot or at the bound.
 */
#ifndef FH_BOOK_MDP3_SECURITY_MAP_H
#define FH_BOOK_MDP3_SECURITY_MAP_H

#include <stdbool.h>
#include <stdint.h>

#define SECURITY_MAP_NONE UINT32_MAX	/* no index: the slot is empty, or the key unknown */
#define SECURITY_MAP_PROBE_MAX 32	/* slots an insert or lookup visits at most */
#define SECURITY_MAP_COUNT_MAX (1u << 24)	/* instruments a map can hold */

struct security_map_slot {
	int32_t key;		/* SecurityID */
	uint32_t index;		/* SECURITY_MAP_NONE: empty */
};

struct security_map {
	struct security_map_slot *slots;
	uint64_t mask;		/* slots - 1 */
	uint32_t shift;		/* 64 - log2(slots): the hash's top bits pick the home slot */
	uint32_t count;
	uint32_t count_max;
	uint64_t refused_full;	/* inserts refused: count_max keys held */
	uint64_t refused_probe;	/* inserts refused: no empty slot within SECURITY_MAP_PROBE_MAX */
};

/* Allocates and prefaults room for count_max keys (1..SECURITY_MAP_COUNT_MAX). 0 or -EINVAL/-ENOMEM. */
int security_map_init(struct security_map *map, uint32_t count_max);
void security_map_fini(struct security_map *map);

/* Forgets every key; costs the slots, not the keys (a channel's definitions are few). */
void security_map_clear(struct security_map *map);

/* The home slot of a key: a multiplicative hash's top bits. */
static inline uint64_t security_map_home(const struct security_map *map, int32_t key)
{
	return ((uint64_t)(uint32_t)key * 0x9e3779b97f4a7c15ull) >> map->shift;
}

/* The index stored for key, or SECURITY_MAP_NONE. At most SECURITY_MAP_PROBE_MAX slots read. */
static inline uint32_t security_map_find(const struct security_map *map, int32_t key)
{
	uint64_t i = security_map_home(map, key);

	for (uint32_t probe = 0; probe < SECURITY_MAP_PROBE_MAX; probe++) {
		const struct security_map_slot *slot = &map->slots[i];

		if (slot->index == SECURITY_MAP_NONE)
			return SECURITY_MAP_NONE;
		if (slot->key == key)
			return slot->index;
		i = (i + 1) & map->mask;
	}
	return SECURITY_MAP_NONE;
}

/*
 * Adds key -> index. 0; -EEXIST when the key is there (nothing changes); -ENOSPC when
 * the map holds count_max keys (refused_full) or the probe would pass its bound
 * (refused_probe).
 */
int security_map_insert(struct security_map *map, int32_t key, uint32_t index);

/* Checks the map: every key found from its home within the bound, the count right. */
bool security_map_check(const struct security_map *map);

#endif
