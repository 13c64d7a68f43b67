/*
 * shm_segment: how fhd makes every shared-memory segment it writes (publish rings,
 * conflated views, the stats segment), so that nothing made before fhd started can
 * reach what it writes. /dev/shm is world-writable: any local user can create a file
 * there under the name fhd is about to use, keep a descriptor or mapping, or leave a
 * FIFO. So a segment is always a new inode, created with O_EXCL at mode 0600, sized,
 * mapped and filled, and only then given its configured mode and group. Whatever was
 * at the name before is either refused (someone else owns it, or a running fhd holds
 * it) or unlinked (a stale segment of fhd's own user), never reopened for writing.
 *
 * A live producer holds flock(LOCK_EX) on its segment for as long as it runs (the
 * descriptor stays open); the kernel drops it when the process dies, even on kill -9.
 * Replacing a stale segment takes that same lock on the old inode first, so two fhd
 * starting at once cannot both take a name: whoever holds the lock on the inode at
 * the name is the only one that unlinks it.
 */
#ifndef FH_PUBLISH_SHM_SEGMENT_H
#define FH_PUBLISH_SHM_SEGMENT_H

#include <stddef.h>
#include <sys/types.h>

#define SHM_SEGMENT_DIR "/dev/shm"
#define SHM_SEGMENT_NAME_MAX 128	/* "/name", including the NUL */

struct shm_segment {
	void *map;		/* NULL: not open */
	size_t size;
	int fd;			/* kept open: it holds the lock that says "live" */
	char name[SHM_SEGMENT_NAME_MAX];
};

/*
 * Creates /dev/shm/NAME (name: "/" then no other '/') as a new inode of `size` bytes,
 * mode 0600, mapped read-write and prefaulted, zero-filled, locked for this process.
 * `what` names it in messages ("ring", "stats segment"). If the name exists:
 *  - owned by another user: refused (-EPERM), the message names that user;
 *  - a regular file locked by a live producer of fhd's own user (a process whose real,
 *    effective and saved uids are all fhd's): -EBUSY, the message names its pid; a
 *    lock held by anyone else (a reader, even one that went on into a set-uid program)
 *    does not keep the name;
 *  - otherwise fhd's own leftover (stale segment, FIFO, anything): unlinked, and the
 *    new one created in its place. The old inode is never opened for writing.
 * Retries a bounded number of times if the name keeps changing under it (-EAGAIN).
 * 0, or -errno with a one-line message in err.
 */
int shm_segment_create(struct shm_segment *seg, const char *what, const char *name, size_t size,
		       char *err, size_t err_size);

/*
 * Gives a created, filled segment its group (gid -1: unchanged) and then its mode,
 * making it visible to readers. 0 or -errno with a message in err.
 */
int shm_segment_share(struct shm_segment *seg, const char *what, mode_t mode, gid_t gid,
		      char *err, size_t err_size);

/*
 * Unmaps and closes (dropping the lock); the file stays for readers to drain. A zeroed
 * struct (never created) is left alone.
 */
void shm_segment_close(struct shm_segment *seg);

/* As shm_segment_close, and removes the name if it is still this segment's inode. */
void shm_segment_remove(struct shm_segment *seg);

#endif
