/*
 * memory: prefaulted anonymous mappings for book storage (see memory.h).
 */
#include "book/memory.h"

#include <stdatomic.h>
#include <sys/mman.h>

static atomic_uint_fast64_t allocations;

void *book_memory_alloc(size_t size)
{
	void *memory;

	if (size == 0)
		return NULL;
	memory = mmap(NULL, size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (memory == MAP_FAILED)
		return NULL;
	atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
	return memory;
}

void book_memory_free(void *memory, size_t size)
{
	if (memory != NULL)
		munmap(memory, size);
}

uint64_t book_memory_allocations(void)
{
	return atomic_load_explicit(&allocations, memory_order_relaxed);
}
