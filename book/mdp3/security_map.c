/*
 * security_map: SecurityID -> instrument index, open addressing with a bounded probe
 * (see security_map.h).
 */
#include "book/mdp3/security_map.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>

#include "book/util/memory.h"

static size_t security_map_bytes(const struct security_map *map)
{
	return (size_t)(map->mask + 1) * sizeof(*map->slots);
}

int security_map_init(struct security_map *map, uint32_t count_max)
{
	uint32_t bits = 1;

	*map = (struct security_map){ 0 };
	if (count_max == 0 || count_max > SECURITY_MAP_COUNT_MAX)
		return -EINVAL;
	/* At least twice the keys: a load of at most 0.5. */
	while ((1ull << bits) < 2ull * count_max)
		bits++;
	map->mask = (1ull << bits) - 1;
	map->shift = 64 - bits;
	map->count_max = count_max;
	map->slots = memory_alloc(security_map_bytes(map));
	if (map->slots == NULL)
		return -ENOMEM;
	security_map_clear(map);
	return 0;
}

void security_map_fini(struct security_map *map)
{
	if (map->slots != NULL)
		memory_free(map->slots, security_map_bytes(map));
	*map = (struct security_map){ 0 };
}

void security_map_clear(struct security_map *map)
{
	for (uint64_t i = 0; i <= map->mask; i++)
		map->slots[i] = (struct security_map_slot){ .key = 0, .index = SECURITY_MAP_NONE };
	map->count = 0;
}

int security_map_insert(struct security_map *map, int32_t key, uint32_t index)
{
	uint64_t i = security_map_home(map, key);

	assert(index != SECURITY_MAP_NONE);
	if (map->count >= map->count_max) {
		if (security_map_find(map, key) != SECURITY_MAP_NONE)
			return -EEXIST;
		map->refused_full++;
		return -ENOSPC;
	}
	for (uint32_t probe = 0; probe < SECURITY_MAP_PROBE_MAX; probe++) {
		struct security_map_slot *slot = &map->slots[i];

		if (slot->index == SECURITY_MAP_NONE) {
			slot->key = key;
			slot->index = index;
			map->count++;
			assert(security_map_find(map, key) == index);
			return 0;
		}
		if (slot->key == key)
			return -EEXIST;
		i = (i + 1) & map->mask;
	}
	map->refused_probe++;
	return -ENOSPC;
}

bool security_map_check(const struct security_map *map)
{
	uint32_t used = 0;

	for (uint64_t i = 0; i <= map->mask; i++) {
		const struct security_map_slot *slot = &map->slots[i];

		if (slot->index == SECURITY_MAP_NONE)
			continue;
		used++;
		/* Reachable: within the bound of its home, with no empty slot between. */
		if (((i - security_map_home(map, slot->key)) & map->mask) >= SECURITY_MAP_PROBE_MAX ||
		    security_map_find(map, slot->key) != slot->index)
			return false;
	}
	return used == map->count && used <= map->count_max;
}
