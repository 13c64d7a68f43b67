/*
 * memory: the one prefaulting allocator. Books, order tables, latency histograms and
 * journal buffers are allocated once before the RX lcores start, as anonymous
 * mappings prefaulted up front, so the data path never takes a page fault or calls an
 * allocator. The counter lets a test prove that nothing is allocated after start.
 */
#ifndef FH_BOOK_UTIL_MEMORY_H
#define FH_BOOK_UTIL_MEMORY_H

#include <stddef.h>
#include <stdint.h>

/* Zeroed, prefaulted, page-aligned memory of size bytes, or NULL with errno set. */
void *memory_alloc(size_t size);
void memory_free(void *memory, size_t size);

/* How many memory_alloc calls succeeded in this process so far. */
uint64_t memory_allocations(void);

#endif
