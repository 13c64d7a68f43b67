/*
 * recovery: the RX lcore <-> recovery worker hand-off (see recovery.h). The queues
 * are plain SPSC rings: the producer publishes an entry with a release store of head,
 * the consumer frees it with a release store of tail. Entries are copied, so neither
 * side ever points into the other's memory.
 */
#include "feed/recovery.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

int recovery_queue_init(struct recovery_queue *q, uint32_t entries, uint32_t size)
{
	assert(entries > 0 && (entries & (entries - 1)) == 0 && size > 0);
	memset(q, 0, sizeof(*q));
	q->entries = calloc(entries, size);
	if (q->entries == NULL)
		return -ENOMEM;
	q->mask = entries - 1;
	q->size = size;
	return 0;
}

void recovery_queue_fini(struct recovery_queue *q)
{
	free(q->entries);
	q->entries = NULL;
}

bool recovery_queue_push(struct recovery_queue *q, const void *entry)
{
	return recovery_queue_push_reserve(q, entry, 0);
}

bool recovery_queue_push_reserve(struct recovery_queue *q, const void *entry, uint32_t reserve)
{
	uint64_t head = q->head;

	assert(reserve <= q->mask);
	/* Entries in use after this one: at most mask + 1 - reserve. */
	if (head - __atomic_load_n(&q->tail, __ATOMIC_ACQUIRE) + reserve > q->mask)
		return false;
	memcpy(q->entries + (size_t)(head & q->mask) * q->size, entry, q->size);
	__atomic_store_n(&q->head, head + 1, __ATOMIC_RELEASE);
	return true;
}

void *recovery_queue_peek(struct recovery_queue *q)
{
	uint64_t tail = q->tail;

	if (__atomic_load_n(&q->head, __ATOMIC_ACQUIRE) == tail)
		return NULL;
	return q->entries + (size_t)(tail & q->mask) * q->size;
}

void recovery_queue_pop(struct recovery_queue *q)
{
	assert(__atomic_load_n(&q->head, __ATOMIC_ACQUIRE) != q->tail);
	__atomic_store_n(&q->tail, q->tail + 1, __ATOMIC_RELEASE);
}

int feed_recovery_init(struct feed_recovery *r)
{
	memset(r, 0, sizeof(*r));
	r->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	r->buffers = calloc(RECOVERY_BUFFERS, sizeof(r->buffers[0]));
	if (r->wake_fd < 0 || r->buffers == NULL || recovery_queue_init(&r->wants, RECOVERY_WANTS, sizeof(struct recovery_want)) ||
	    recovery_queue_init(&r->replies, RECOVERY_REPLIES, sizeof(struct recovery_reply))) {
		feed_recovery_fini(r);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < RECOVERY_BUFFERS; i++)
		r->free[i] = RECOVERY_BUFFERS - 1 - i;
	r->free_count = RECOVERY_BUFFERS;
	return 0;
}

bool feed_recovery_want(struct feed_recovery *r, const struct recovery_want *want)
{
	uint64_t one = 1;

	if (!recovery_queue_push(&r->wants, want))
		return false;
	/* Non-blocking: a counter at its maximum (never, at one a hole) just fails. */
	(void)!write(r->wake_fd, &one, sizeof(one));
	return true;
}

void feed_recovery_fini(struct feed_recovery *r)
{
	if (r->wake_fd >= 0)
		close(r->wake_fd);
	r->wake_fd = -1;
	recovery_queue_fini(&r->wants);
	recovery_queue_fini(&r->replies);
	free(r->buffers);
	r->buffers = NULL;
}
