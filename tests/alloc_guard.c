/*
 * alloc_guard: an LD_PRELOAD library that proves the RX data path allocates nothing.
 * It interposes every allocator fhd could reach (libc malloc family, mmap, DPDK's
 * rte_malloc family) and counts calls made by "armed" threads. A thread arms itself
 * when it calls rte_get_tsc_hz(), which rx_lcore_run does once before its loop; the
 * main lcore never calls it. At exit the count is written to stderr as
 * "alloc-guard: N allocations on the data path" (FH_ALLOC_GUARD_SELFTEST=1 makes
 * every thread count from the start, so the guard can be shown to catch one).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static __thread int armed;
static atomic_ulong counted;
static int selftest = -1;

static void alloc_guard_note(void)
{
	if (selftest < 0)
		selftest = getenv("FH_ALLOC_GUARD_SELFTEST") != NULL;
	if (armed || selftest == 1)
		atomic_fetch_add(&counted, 1);
}

void *malloc(size_t n) { alloc_guard_note(); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { alloc_guard_note(); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { alloc_guard_note(); return __libc_realloc(p, n); }
void *memalign(size_t a, size_t n) { alloc_guard_note(); return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { alloc_guard_note(); return __libc_memalign(a, n); }

int posix_memalign(void **out, size_t a, size_t n)
{
	alloc_guard_note();
	*out = __libc_memalign(a, n);
	return *out ? 0 : 12;
}

#define ALLOC_GUARD_FORWARD(ret, name, params, args)                         \
	ret name params                                                      \
	{                                                                    \
		static ret (*real) params;                                   \
		if (real == NULL)                                            \
			real = (ret (*) params)dlsym(RTLD_NEXT, #name);      \
		alloc_guard_note();                                          \
		return real args;                                            \
	}

ALLOC_GUARD_FORWARD(void *, mmap, (void *a, size_t n, int p, int f, int fd, off_t o), (a, n, p, f, fd, o))
ALLOC_GUARD_FORWARD(void *, rte_malloc, (const char *t, size_t n, unsigned al), (t, n, al))
ALLOC_GUARD_FORWARD(void *, rte_zmalloc, (const char *t, size_t n, unsigned al), (t, n, al))
ALLOC_GUARD_FORWARD(void *, rte_calloc, (const char *t, size_t c, size_t n, unsigned al), (t, c, n, al))
ALLOC_GUARD_FORWARD(void *, rte_realloc, (void *p, size_t n, unsigned al), (p, n, al))
ALLOC_GUARD_FORWARD(void *, rte_malloc_socket, (const char *t, size_t n, unsigned al, int s), (t, n, al, s))
ALLOC_GUARD_FORWARD(void *, rte_zmalloc_socket, (const char *t, size_t n, unsigned al, int s), (t, n, al, s))

uint64_t rte_get_tsc_hz(void)
{
	static uint64_t (*real)(void);

	if (real == NULL)
		real = (uint64_t (*)(void))dlsym(RTLD_NEXT, "rte_get_tsc_hz");
	if (gettid() != getpid())
		armed = 1;
	return real ? real() : 0;
}

__attribute__((destructor)) static void alloc_guard_report(void)
{
	char line[96];
	int n = snprintf(line, sizeof(line), "alloc-guard: %lu allocations on the data path\n",
			 atomic_load(&counted));

	if (write(2, line, (size_t)n) < 0)
		return;
}
