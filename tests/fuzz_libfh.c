/*
 * fuzz_libfh: libFuzzer target for libfh, the consumer side, over arbitrary segment
 * bytes. The input is [flags][ring length, 2 bytes LE][view length, 2 bytes LE], the
 * ring segment, the conflated view segment, then a program of operations: polls, top
 * reads, feed names, reattaches, and patches written into the live segments between
 * them (a hostile producer changing the header, slots or entries after attach). The
 * segments are real files in /dev/shm, attached through fh_attach like any consumer.
 * libfh must never crash, read out of bounds or hang on any of it. Built with
 * tests/fuzz_replay.c instead of libFuzzer, it replays files (the seed corpus under
 * gcc's ASan+UBSan).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "publish/libfh/fh.h"

#define FUZZ_OPS_MAX 64

static char fuzz_ring[64], fuzz_view[72];

static void fuzz_cleanup(void)
{
	shm_unlink(fuzz_ring);
	shm_unlink(fuzz_view);
}

/* Writes a segment of exactly `size` bytes; returns a writable mapping (NULL if empty). */
static uint8_t *fuzz_segment_write(const char *name, const uint8_t *data, size_t size)
{
	uint8_t *map = NULL;
	int fd;

	shm_unlink(name);
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || fchmod(fd, 0600) != 0 || ftruncate(fd, (off_t)size) != 0)
		abort();
	if (size > 0) {
		map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED)
			abort();
		memcpy(map, data, size);
	}
	close(fd);
	return map;
}

/* The next n input bytes, or NULL at the end. */
static const uint8_t *fuzz_take(const uint8_t *data, size_t size, size_t *at, size_t n)
{
	const uint8_t *p = data + *at;

	if (size - *at < n)
		return NULL;
	*at += n;
	return p;
}

/* A patch [offset 2 bytes][length 1 byte][bytes] into a live segment. */
static void fuzz_patch(uint8_t *map, size_t map_size, const uint8_t *data, size_t size, size_t *at)
{
	const uint8_t *head = fuzz_take(data, size, at, 3), *bytes;
	size_t offset, len;

	if (head == NULL)
		return;
	len = head[2] % 17;
	bytes = fuzz_take(data, size, at, len);
	if (bytes == NULL || map == NULL)
		return;
	offset = ((size_t)head[0] | (size_t)head[1] << 8) % map_size;
	if (len > map_size - offset)
		len = map_size - offset;
	memcpy(map + offset, bytes, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fh_event events[256];
	static struct fh_top top;
	struct fh_consumer *c;
	size_t at = 0, ring_size, view_size;
	const uint8_t *h = fuzz_take(data, size, &at, 5), *ring, *view;
	uint8_t *ring_map, *view_map;
	volatile size_t sink = 0;
	char err[512];
	int rc;

	if (fuzz_ring[0] == '\0') {
		snprintf(fuzz_ring, sizeof(fuzz_ring), "/fh-fuzz-libfh-%d-1", (int)getpid());
		snprintf(fuzz_view, sizeof(fuzz_view), "%s-top", fuzz_ring);
		atexit(fuzz_cleanup);
	}
	if (h == NULL)
		return 0;
	ring_size = (size_t)h[1] | (size_t)h[2] << 8;
	view_size = (size_t)h[3] | (size_t)h[4] << 8;
	if (ring_size > size - at)
		ring_size = size - at;
	ring = fuzz_take(data, size, &at, ring_size);
	if (view_size > size - at)
		view_size = size - at;
	view = fuzz_take(data, size, &at, view_size);
	ring_map = fuzz_segment_write(fuzz_ring, ring, ring_size);
	/* Bit 1: no view at all. */
	view_map = h[0] & 2 ? NULL : fuzz_segment_write(fuzz_view, view, view_size);
	if (h[0] & 2)
		shm_unlink(fuzz_view);
	rc = fh_attach(fuzz_ring + 1, h[0] & 1 ? FH_START_NOW : FH_START_OLDEST, &c, err, sizeof(err));
	if (rc != 0) {
		if (err[0] == '\0' || strlen(err) >= sizeof(err))
			abort();	/* every refusal says why */
	} else {
		for (int op = 0; op < FUZZ_OPS_MAX; op++) {
			const uint8_t *b = fuzz_take(data, size, &at, 1), *arg;
			int n;

			if (b == NULL)
				break;
			switch (*b % 8) {
			case 0:
			case 7:
				n = fh_poll(c, events, *b % 8 == 7 ? 256 : 1 + (*b >> 3));
				if (n > (*b % 8 == 7 ? 256 : 1 + (*b >> 3)) || n < FH_POLL_BROKEN)
					abort();
				for (int i = 0; i < n; i++)
					sink += events[i].type;
				if (n == FH_POLL_RESTARTED)
					fh_reattach(c, err, sizeof(err));
				break;
			case 1:
				fuzz_patch(ring_map, ring_size, data, size, &at);
				break;
			case 2:
				fuzz_patch(view_map, view_size, data, size, &at);
				break;
			case 3:
				arg = fuzz_take(data, size, &at, 2);
				if (arg != NULL && fh_top_slots(c) > 0 &&
				    fh_top_read(c, ((uint32_t)arg[0] | (uint32_t)arg[1] << 8) % (fh_top_slots(c) + 1),
						&top) == 0) {
					if (top.bid_count > FH_TOP_DEPTH_MAX || top.ask_count > FH_TOP_DEPTH_MAX)
						abort();
					sink += strlen(top.symbol) + (size_t)top.bids[0].price;
				}
				break;
			case 4:
				sink += strlen(fh_feed_name(c, (uint8_t)(*b >> 3)));
				break;
			case 5:
				fh_reattach(c, err, sizeof(err));
				break;
			case 6:
				sink += fh_stopped(c) + fh_next_seq(c) + fh_lost_total(c) + fh_lost_last(c) +
					strlen(fh_error(c));
				break;
			}
		}
		fh_detach(c);
	}
	if (ring_map != NULL)
		munmap(ring_map, ring_size);
	if (view_map != NULL)
		munmap(view_map, view_size);
	(void)sink;
	return 0;
}
