/*
 * memory: prefaulted anonymous mappings (see memory.h).
 *
 * Large regions are aligned to 2 MiB and advised as transparent huge pages: the level
 * arrays and the order table are touched at random across hundreds of megabytes, and
 * with 4 KiB pages nearly every book operation would also miss the TLB. Every region
 * is at least page-aligned, as O_DIRECT and io_uring's registered buffers need.
 */
#include "book/util/memory.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#define MEMORY_HUGE_BYTES (2u << 20)

static atomic_uint_fast64_t allocations;

static size_t memory_span(size_t size)
{
	return size >= MEMORY_HUGE_BYTES ? (size + MEMORY_HUGE_BYTES - 1) & ~(size_t)(MEMORY_HUGE_BYTES - 1)
					: size;
}

void *memory_alloc(size_t size)
{
	size_t span = memory_span(size), page = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *raw, *memory;
	size_t lead;

	if (size == 0) {
		errno = EINVAL;
		return NULL;
	}
	if (span == size && size < MEMORY_HUGE_BYTES) {
		memory = mmap(NULL, size, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (memory == MAP_FAILED)
			return NULL;
		atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
		return memory;
	}
	/* Over-map by one huge page, then trim to a 2 MiB aligned span. */
	raw = mmap(NULL, span + MEMORY_HUGE_BYTES, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	lead = (MEMORY_HUGE_BYTES - ((uintptr_t)raw & (MEMORY_HUGE_BYTES - 1))) & (MEMORY_HUGE_BYTES - 1);
	memory = raw + lead;
	if (lead > 0)
		munmap(raw, lead);
	munmap(memory + span, MEMORY_HUGE_BYTES - lead);
	/* Advice only: without THP the memory is still good, just slower. */
	madvise(memory, span, MADV_HUGEPAGE);
	/* Prefault now, so the data path never takes a page fault. */
	for (size_t at = 0; at < span; at += page)
		((volatile uint8_t *)memory)[at] = 0;
	atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
	return memory;
}

void memory_free(void *memory, size_t size)
{
	if (memory != NULL)
		munmap(memory, memory_span(size));
}

uint64_t memory_allocations(void)
{
	return atomic_load_explicit(&allocations, memory_order_relaxed);
}
