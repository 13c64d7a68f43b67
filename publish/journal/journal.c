/*
 * journal: the packet journal's writer (see journal.h).
 *
 * Buffers are used in turn. Blocks are written into the current buffer whole, past its
 * nominal size if need be (each buffer has JOURNAL_SLACK bytes beyond it for one
 * block); once a buffer is full its first buffer_bytes go to the kernel in one write
 * and what overflowed starts the next buffer. Every write is therefore a whole number
 * of pages at a page-aligned offset, which is what O_DIRECT needs, except the last of
 * a file, which O_DIRECT writes padded and then cuts back with ftruncate.
 */
#include "publish/journal/journal.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "book/util/logline.h"
#include "book/util/memory.h"
#include "publish/journal/pcapng.h"

/* Room for the largest block past a buffer's nominal end, in whole pages. */
#define JOURNAL_SLACK ((pcapng_epb_size(PCAPNG_SNAPLEN) + JOURNAL_ALIGN - 1) & ~(size_t)(JOURNAL_ALIGN - 1))
#define JOURNAL_HEADERS_MAX (JOURNAL_ALIGN * 4)

/* user_data of a request: kind, buffer and length, so a completion says all it needs. */
#define JOURNAL_REQ_WRITE 1u
#define JOURNAL_REQ_FSYNC 2u

static inline uint64_t journal_req(uint32_t kind, uint32_t buffer, uint32_t len)
{
	return (uint64_t)len << 32 | (uint64_t)buffer << 8 | kind;
}

static uint64_t journal_align_up(uint64_t v)
{
	return (v + JOURNAL_ALIGN - 1) & ~(uint64_t)(JOURNAL_ALIGN - 1);
}

/* Records the first error; later ones are its consequences. */
static void journal_error_set(struct journal *j, int error, const char *what)
{
	if (j->error != 0)
		return;
	j->error = error;
	snprintf(j->error_text, sizeof(j->error_text), "journal %s: %s: %s", j->path[0] ? j->path :
		 j->o.dir->path, what, strerror(-error));
	if (j->started)	/* at open, the caller reports it */
		logline(LOG_ERR, "fhd: %s; journaling stopped, the feed goes on\n", j->error_text);
}

/*
 * Counts a write of len bytes that came back with res (bytes written or -errno): bytes
 * counts only what reached the file, a failure or a short write (a full disk) is counted
 * and stops the journal.
 */
static void journal_written(struct journal *j, uint32_t len, int64_t res)
{
	uint64_t done = res > 0 ? (uint64_t)res : 0;

	assert(done <= len);
	j->stats.bytes += done;
	j->file_written += done;
	if (res >= 0 && done == len)
		return;
	j->stats.failed_writes++;
	j->stats.unwritten_bytes += len - done;
	if (res < 0)
		journal_error_set(j, (int)res, "write failed");
	else	/* a short write to a file: the disk is full */
		journal_error_set(j, -ENOSPC, "short write");
}

static void journal_complete(struct journal *j, uint64_t data, int32_t res)
{
	uint32_t kind = data & 0xff, buffer = (data >> 8) & 0xffffff, len = data >> 32;

	assert(j->inflight > 0);
	j->inflight--;
	if (kind == JOURNAL_REQ_FSYNC) {
		if (res < 0 && res != -ECANCELED)	/* cancelled: its write failed, told already */
			journal_error_set(j, res, "fsync failed");
		return;
	}
	assert(kind == JOURNAL_REQ_WRITE && buffer < j->o.buffers);
	assert(j->buffers[buffer].inflight > 0);
	j->buffers[buffer].inflight--;
	journal_written(j, len, res);
}

/* Takes completions: all there are, or (wait) until at least one came, or none is due. */
static void journal_reap(struct journal *j, bool wait)
{
	struct io_uring_cqe *cqe;
	uint32_t head, seen = 0;

	if (j->o.plain_write || j->inflight == 0)
		return;
	if (wait && io_uring_wait_cqe(&j->ring, &cqe) != 0)
		return;
	io_uring_for_each_cqe(&j->ring, head, cqe) {
		journal_complete(j, cqe->user_data, cqe->res);
		seen++;
	}
	io_uring_cq_advance(&j->ring, seen);
}

static void journal_reap_all(struct journal *j)
{
	while (j->inflight > 0)
		journal_reap(j, true);
}

/* Gets a submission entry, making room by waiting for completions if the ring is busy. */
static struct io_uring_sqe *journal_sqe(struct journal *j)
{
	struct io_uring_sqe *sqe;

	while (j->inflight + 2 > j->entries)
		journal_reap(j, true);
	sqe = io_uring_get_sqe(&j->ring);
	assert(sqe != NULL);
	return sqe;
}

/*
 * Hands b->data[from..to) to the kernel at its place in the file, followed by an
 * fsync when sync is set. The fsync is linked behind that write and drained behind
 * every earlier request, so it covers all data written before it.
 */
static void journal_submit(struct journal *j, uint32_t index, uint32_t from, uint32_t to, bool sync)
{
	struct journal_buffer *b = &j->buffers[index];
	uint64_t offset = b->file_offset + from;
	uint32_t len = to - from;
	struct io_uring_sqe *sqe;
	ssize_t done;

	assert(from <= to && to <= j->o.buffer_bytes + JOURNAL_SLACK);
	assert(!j->o.o_direct || (offset % JOURNAL_ALIGN == 0 && len % JOURNAL_ALIGN == 0));
	b->submitted = to;
	j->stats.writes += len > 0;
	j->submitted_total += len;
	if (sync) {
		j->stats.fsyncs++;
		j->synced_total = j->submitted_total;
	}
	if (j->o.plain_write) {
		done = len > 0 ? pwrite(j->fd, b->data + from, len, (off_t)offset) : 0;
		journal_written(j, len, done < 0 ? -errno : done);
		if (j->error == 0 && sync && fdatasync(j->fd) != 0)
			journal_error_set(j, -errno, "fsync failed");
		return;
	}
	if (len > 0) {
		sqe = journal_sqe(j);
		io_uring_prep_write_fixed(sqe, j->fd, b->data + from, len, offset, (int)index);
		io_uring_sqe_set_data64(sqe, journal_req(JOURNAL_REQ_WRITE, index, len));
		if (sync)
			sqe->flags |= IOSQE_IO_LINK;
		b->inflight++;
		j->inflight++;
	}
	if (sync) {
		sqe = journal_sqe(j);
		io_uring_prep_fsync(sqe, j->fd, IORING_FSYNC_DATASYNC);
		io_uring_sqe_set_data64(sqe, journal_req(JOURNAL_REQ_FSYNC, index, 0));
		sqe->flags |= IOSQE_IO_DRAIN;
		j->inflight++;
	}
	if (io_uring_submit(&j->ring) < 0)
		journal_error_set(j, -EIO, "io_uring submit failed");
}

static bool journal_sync_due_by_size(const struct journal *j, uint64_t adding)
{
	return j->o.fsync_bytes != 0 && j->submitted_total + adding - j->synced_total >= j->o.fsync_bytes;
}

/* A file name that sorts by time: fh-20261123T101500.123456789Z.pcapng(.part). */
static int journal_file_open(struct journal *j, uint64_t now_ns)
{
	struct journal_buffer *b = &j->buffers[j->current];
	struct timespec ts;
	struct tm tm;
	char stamp[32];
	int rc = -EEXIST;
	int flags = O_RDWR | (j->o.o_direct ? O_DIRECT : 0);
	char err[OUTPUT_FILE_ERROR_MAX];

	clock_gettime(CLOCK_REALTIME, &ts);
	for (int attempt = 0; attempt < 1000; attempt++, ts.tv_nsec++) {
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec = 0;
		}
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
		snprintf(j->name, sizeof(j->name), "fh-%s.%09ldZ" JOURNAL_SUFFIX JOURNAL_PART_SUFFIX,
			 stamp, ts.tv_nsec);
		snprintf(j->path, sizeof(j->path), "%s/%s", j->o.dir->path, j->name);
		/* O_EXCL|O_NOFOLLOW in the checked directory: a name taken, even by a link, is skipped */
		rc = output_file_create(j->o.dir, j->name, flags, 0644, false, err, sizeof(err));
		if (rc >= 0 || rc != -EEXIST)
			break;
	}
	if (rc < 0) {
		journal_error_set(j, rc, j->o.o_direct && rc == -EINVAL ?
				  "cannot open (does the file system support O_DIRECT?)" : "cannot open");
		return j->error;
	}
	j->fd = rc;
	j->file_written = 0;
	/* Held while the file is written: a repair by another fhd leaves it alone. */
	if (flock(j->fd, LOCK_EX | LOCK_NB) != 0) {
		journal_error_set(j, -errno, "cannot lock");
		return j->error;
	}
	assert(b->inflight == 0);
	memcpy(b->data, j->headers, j->headers_size);
	b->fill = (uint32_t)j->headers_size;
	b->submitted = 0;
	b->file_offset = 0;
	j->file_opened_ns = now_ns;
	j->file_blocks = 0;
	memset(j->file_journaled, 0, sizeof(j->file_journaled));
	return 0;
}

/* Adds the packet blocks of data[0..len) (whole blocks) per interface to counts. */
static void journal_blocks_count(const uint8_t *data, size_t len, uint64_t *counts, uint32_t interfaces)
{
	uint32_t type, size, interface;

	for (size_t at = 0; at < len; at += size) {
		memcpy(&type, data + at, 4);
		memcpy(&size, data + at + 4, 4);
		assert(size >= 12 && size <= len - at);
		if (type != PCAPNG_BLOCK_EPB)
			continue;
		memcpy(&interface, data + at + 8, 4);
		if (interface < interfaces)
			counts[interface]++;
	}
}

/*
 * Cuts a file at its last whole block, and counts its packet blocks per interface
 * into counts if not NULL. Returns the new length, or -errno.
 */
static int64_t journal_file_cut(int fd, uint64_t *counts, uint32_t interfaces)
{
	struct stat st;
	size_t whole = 0;
	void *map;

	if (fstat(fd, &st) != 0)
		return -errno;
	if (st.st_size > 0) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED)
			return -errno;
		whole = pcapng_whole_prefix(map, (size_t)st.st_size);
		if (counts != NULL)
			journal_blocks_count(map, whole, counts, interfaces);
		munmap(map, (size_t)st.st_size);
	}
	if (whole != (size_t)st.st_size && ftruncate(fd, (off_t)whole) != 0)
		return -errno;
	return (int64_t)whole;
}

/*
 * After an error: the file is cut at its last whole block, and what it holds is
 * recounted, so frames that never reached it whole move from journaled to lost.
 */
static void journal_file_recount(struct journal *j)
{
	uint64_t present[JOURNAL_INTERFACES_MAX] = { 0 };

	if (journal_file_cut(j->fd, present, j->interfaces_count) < 0)
		memset(present, 0, sizeof(present));
	for (uint32_t i = 0; i < j->interfaces_count; i++) {
		uint64_t missing = j->file_journaled[i] > present[i] ? j->file_journaled[i] - present[i] : 0;

		j->journaled[i] -= missing;
		j->lost[i] += missing;
		j->stats.blocks -= missing;
	}
}

/* ".part" off the end of path, into out. */
static void journal_final_name(const char *path, char *out, size_t size)
{
	size_t len = strlen(path) - strlen(JOURNAL_PART_SUFFIX);

	snprintf(out, size, "%.*s", (int)len, path);
}

/*
 * Ends the open file: writes the rest of the current buffer, waits for every request,
 * syncs (unless the policy is never), trims O_DIRECT padding, and renames it whole.
 * After an error, the file is cut at its last whole block instead.
 */
static void journal_file_close(struct journal *j)
{
	struct journal_buffer *b = &j->buffers[j->current];
	uint64_t size = b->file_offset + b->fill;
	bool sync = j->o.fsync_bytes != 0 || j->o.fsync_ns != 0;
	char final[NAME_MAX + 1];
	struct stat st;
	uint32_t to = b->fill;

	if (j->fd < 0)
		return;
	if (j->error == 0 && (b->fill > b->submitted || (sync && j->synced_total < j->submitted_total))) {
		if (j->o.o_direct) {
			to = (uint32_t)journal_align_up(b->fill);
			memset(b->data + b->fill, 0, to - b->fill);
		}
		journal_submit(j, j->current, b->submitted, to, sync);
	}
	journal_reap_all(j);
	if (j->error == 0 && j->o.o_direct && ftruncate(j->fd, (off_t)size) != 0)
		journal_error_set(j, -errno, "cannot trim");
	if (j->error != 0)
		journal_file_recount(j);
	/* bytes says what the files hold: this file's writes give way to its final size. */
	if (fstat(j->fd, &st) != 0)
		st.st_size = 0;
	assert(j->stats.bytes >= j->file_written);
	j->stats.bytes = j->stats.bytes - j->file_written + (uint64_t)st.st_size;
	j->file_written = 0;
	close(j->fd);
	j->fd = -1;
	journal_final_name(j->name, final, sizeof(final));
	if (st.st_size == 0)	/* not even the section header made it: no file to keep */
		output_file_unlink(j->o.dir, j->name);
	else if (output_file_rename(j->o.dir, j->name, final) == 0)
		j->stats.files++;
	for (uint32_t i = 0; i < j->o.buffers; i++) {
		j->buffers[i].fill = 0;
		j->buffers[i].submitted = 0;
		j->buffers[i].file_offset = 0;
	}
	snprintf(j->path, sizeof(j->path), "%s/%s", j->o.dir->path, final);
}

static void journal_rotate(struct journal *j, uint64_t now_ns)
{
	journal_file_close(j);
	if (j->error == 0)
		journal_file_open(j, now_ns);
}

/*
 * The current buffer is full: its first buffer_bytes go to the kernel, the overflow
 * moves to the next buffer, which may first have to finish its last write.
 */
static void journal_buffer_next(struct journal *j)
{
	uint32_t size = j->o.buffer_bytes, index = j->current;
	uint32_t next = (index + 1) % j->o.buffers;
	struct journal_buffer *b = &j->buffers[index], *n = &j->buffers[next];

	assert(b->fill >= size);
	journal_submit(j, index, b->submitted, size, journal_sync_due_by_size(j, size - b->submitted));
	if (n->inflight > 0)
		j->stats.buffer_waits++;
	while (n->inflight > 0 && j->error == 0)
		journal_reap(j, true);
	n->fill = b->fill - size;
	n->submitted = 0;
	n->file_offset = b->file_offset + size;
	memcpy(n->data, b->data + size, n->fill);
	b->fill = size;
	j->current = next;
}

int journal_append(struct journal *j, uint32_t interface, uint64_t ts_ns, const uint8_t *frame,
		   uint32_t len, uint64_t now_ns)
{
	struct journal_buffer *b = &j->buffers[j->current];
	size_t need = pcapng_epb_size(len), written;

	assert(interface < j->interfaces_count);
	if (j->error != 0) {
		j->lost[interface]++;
		return j->error;
	}
	if (len > PCAPNG_SNAPLEN)
		len = PCAPNG_SNAPLEN;
	if (j->file_blocks > 0 && b->file_offset + b->fill + need > j->o.rotate_bytes) {
		journal_rotate(j, now_ns);
		if (j->error != 0) {
			j->lost[interface]++;
			return j->error;
		}
		b = &j->buffers[j->current];
	}
	assert(b->fill < j->o.buffer_bytes);
	written = pcapng_epb_write(b->data + b->fill, j->o.buffer_bytes + JOURNAL_SLACK - b->fill,
				   interface, ts_ns, frame, len);
	assert(written == need);
	b->fill += (uint32_t)written;
	j->file_blocks++;
	j->stats.blocks++;
	j->journaled[interface]++;
	j->file_journaled[interface]++;
	if (b->fill >= j->o.buffer_bytes)
		journal_buffer_next(j);
	return j->error;
}

void journal_poll(struct journal *j, uint64_t now_ns)
{
	struct journal_buffer *b = &j->buffers[j->current];
	bool sync_due, flush_due;
	uint32_t to;

	journal_reap(j, false);
	if (j->error != 0) {
		if (j->fd >= 0)
			journal_file_close(j);
		return;
	}
	if (j->o.rotate_ns != 0 && j->file_blocks > 0 && now_ns - j->file_opened_ns >= j->o.rotate_ns) {
		journal_rotate(j, now_ns);
		return;
	}
	sync_due = j->o.fsync_ns != 0 && now_ns - j->last_sync_ns >= j->o.fsync_ns;
	flush_due = now_ns - j->last_flush_ns >= JOURNAL_FLUSH_NS;
	if (!sync_due && !flush_due)
		return;
	j->last_flush_ns = now_ns;
	/* O_DIRECT writes whole pages only: the last partial page waits for more. */
	to = j->o.o_direct ? b->fill & ~(uint32_t)(JOURNAL_ALIGN - 1) : b->fill;
	assert(to >= b->submitted);	/* O_DIRECT only ever submits up to a page boundary */
	if (sync_due) {
		j->last_sync_ns = now_ns;
		if (to > b->submitted || j->synced_total < j->submitted_total)
			journal_submit(j, j->current, b->submitted, to, true);
	} else if (to > b->submitted) {
		journal_submit(j, j->current, b->submitted, to, journal_sync_due_by_size(j, to - b->submitted));
	}
}

/* Builds the section header and one interface block per name. */
static int journal_headers_build(struct journal *j, const char *const *names, uint32_t count,
				 char *err, size_t err_size)
{
	size_t used, n;

	j->headers = malloc(JOURNAL_HEADERS_MAX);
	if (j->headers == NULL) {
		snprintf(err, err_size, "journal: out of memory");
		return -ENOMEM;
	}
	used = pcapng_shb_write(j->headers, JOURNAL_HEADERS_MAX);
	for (uint32_t i = 0; i < count; i++) {
		n = pcapng_idb_write(j->headers + used, JOURNAL_HEADERS_MAX - used, names[i]);
		if (n == 0) {
			snprintf(err, err_size, "journal: too many interfaces (%u)", count);
			return -E2BIG;
		}
		used += n;
	}
	j->headers_size = used;
	return 0;
}

int journal_open(struct journal *j, const struct journal_options *o, const char *const *names,
		 uint32_t count, uint64_t now_ns, char *err, size_t err_size)
{
	struct iovec iov[JOURNAL_BUFFERS_MAX];
	size_t stride;
	int rc;

	memset(j, 0, sizeof(*j));
	j->fd = -1;
	j->o = *o;
	j->interfaces_count = count;
	if (o->buffers < 2 || o->buffers > JOURNAL_BUFFERS_MAX || o->buffer_bytes == 0 ||
	    o->buffer_bytes % JOURNAL_ALIGN != 0 || o->buffer_bytes < JOURNAL_SLACK || count == 0 || count > JOURNAL_INTERFACES_MAX ||
	    o->rotate_bytes == 0) {
		snprintf(err, err_size, "journal: bad options (%u buffers of %u bytes, %u interfaces)",
			 o->buffers, o->buffer_bytes, count);
		return -EINVAL;
	}
	rc = journal_headers_build(j, names, count, err, err_size);
	if (rc != 0)
		goto fail;
	if (j->headers_size >= o->buffer_bytes) {
		snprintf(err, err_size, "journal: buffers smaller than the file headers");
		rc = -EINVAL;
		goto fail;
	}
	stride = o->buffer_bytes + JOURNAL_SLACK;
	j->memory_size = stride * o->buffers;
	j->memory = memory_alloc(j->memory_size);
	if (j->memory == NULL) {
		rc = -errno;
		snprintf(err, err_size, "journal: cannot map %zu bytes of buffers: %s", j->memory_size,
			 strerror(errno));
		goto fail;
	}
	for (uint32_t i = 0; i < o->buffers; i++) {
		j->buffers[i].data = j->memory + stride * i;
		iov[i].iov_base = j->buffers[i].data;
		iov[i].iov_len = stride;
	}
	if (!o->plain_write) {
		j->entries = 4 * o->buffers + 8;
		rc = io_uring_queue_init(j->entries, &j->ring, 0);
		if (rc < 0) {
			snprintf(err, err_size, "journal: io_uring_queue_init: %s", strerror(-rc));
			goto fail;
		}
		j->ring_ready = true;
		j->entries = j->ring.sq.ring_entries;
		rc = io_uring_register_buffers(&j->ring, iov, o->buffers);
		if (rc < 0) {
			snprintf(err, err_size, "journal: io_uring_register_buffers (%zu bytes): %s "
				 "(RLIMIT_MEMLOCK?)", j->memory_size, strerror(-rc));
			goto fail;
		}
	}
	j->last_sync_ns = now_ns;
	j->last_flush_ns = now_ns;
	rc = journal_file_open(j, now_ns);
	if (rc != 0) {
		snprintf(err, err_size, "%s", j->error_text);
		goto fail;
	}
	j->started = true;
	return 0;
fail:
	j->error = 0;
	journal_close(j);
	return rc;
}

int journal_close(struct journal *j)
{
	int error;

	journal_file_close(j);
	error = j->error;
	if (j->ring_ready) {
		io_uring_queue_exit(&j->ring);
		j->ring_ready = false;
	}
	if (j->memory != NULL)
		memory_free(j->memory, j->memory_size);
	j->memory = NULL;
	free(j->headers);
	j->headers = NULL;
	return error;
}

static bool journal_name_is_part(const char *name)
{
	size_t len = strlen(name), suffix = strlen(JOURNAL_SUFFIX JOURNAL_PART_SUFFIX);

	return len > suffix && strcmp(name + len - suffix, JOURNAL_SUFFIX JOURNAL_PART_SUFFIX) == 0;
}

int journal_repair_dir(const struct output_dir *dir, FILE *log, uint32_t *refused)
{
	char final[NAME_MAX + 1], err[OUTPUT_FILE_ERROR_MAX];
	struct dirent *entry;
	struct stat st;
	int64_t whole;
	int repaired = 0, fd, dup_fd;
	DIR *d;

	*refused = 0;
	/* A descriptor of its own: closedir closes it, and the caller's stays open. */
	dup_fd = fcntl(dir->fd, F_DUPFD_CLOEXEC, 0);
	if (dup_fd < 0)
		return -errno;
	d = fdopendir(dup_fd);
	if (d == NULL) {
		close(dup_fd);
		return -errno;
	}
	rewinddir(d);
	while ((entry = readdir(d)) != NULL) {
		if (!journal_name_is_part(entry->d_name))
			continue;
		fd = output_file_reopen(dir, entry->d_name, O_RDWR, err, sizeof(err));
		if (fd < 0) {
			if (fd != -ENOENT) {	/* gone meanwhile: nothing to say */
				(*refused)++;
				fprintf(log, "fhd: journal: not repaired: %s\n", err);
			}
			continue;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) != 0 || fstat(fd, &st) != 0) {
			/* A running journal's file, or a reader holding the lock: say so, not repaired. */
			fprintf(log, "fhd: journal: %s/%s is unfinished but locked by another process "
				"(a running fhd?): left as it is\n", dir->path, entry->d_name);
			close(fd);
			continue;
		}
		whole = journal_file_cut(fd, NULL, 0);
		close(fd);
		if (whole < 0) {
			fprintf(log, "fhd: journal: %s/%s was left unfinished and cannot be repaired: %s\n",
				dir->path, entry->d_name, strerror((int)-whole));
			continue;
		}
		if (whole == 0) {
			output_file_unlink(dir, entry->d_name);
			fprintf(log, "fhd: journal: %s/%s was left unfinished with no whole block "
				"(%lld bytes): removed\n", dir->path, entry->d_name, (long long)st.st_size);
			continue;
		}
		journal_final_name(entry->d_name, final, sizeof(final));
		output_file_rename(dir, entry->d_name, final);
		repaired++;
		fprintf(log, "fhd: journal: %s/%s was left unfinished (crash?): cut from %lld to %" PRId64
			" bytes at its last whole block, now %s/%s\n", dir->path, entry->d_name,
			(long long)st.st_size, whole, dir->path, final);
	}
	closedir(d);
	return repaired;
}
