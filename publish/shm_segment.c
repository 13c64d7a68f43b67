/*
 * shm_segment: fresh, exclusively created shared-memory segments (see shm_segment.h).
 */
#include "publish/shm_segment.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "book/util/logline.h"

/*
 * Each try either creates the segment or clears one thing at the name; only another
 * fhd starting under the same name at the same moment makes a try fail, so a few
 * are plenty, and the bound keeps a pathological race from spinning.
 */
#define SHM_SEGMENT_TRIES 16
#define SHM_SEGMENT_PATH_MAX (sizeof(SHM_SEGMENT_DIR) + SHM_SEGMENT_NAME_MAX)

static bool shm_segment_name_valid(const char *name)
{
	size_t len = strnlen(name, SHM_SEGMENT_NAME_MAX);

	return len >= 2 && len < SHM_SEGMENT_NAME_MAX && name[0] == '/' &&
	       strchr(name + 1, '/') == NULL && strcmp(name, "/.") != 0 && strcmp(name, "/..") != 0;
}

static bool shm_segment_same_inode(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/*
 * Whether process pid is visible here and is not wholly fhd's user: its real, effective
 * or saved uid differs from fhd's (by /proc/PID/status; /proc/PID's owner is only the
 * effective uid, and a set-uid-root program a user starts, say passwd waiting for a
 * password, keeps the user's descriptors and locks with euid 0 but its real uid).
 * Not visible, or unreadable: false (not visibly foreign).
 */
static bool shm_segment_pid_foreign(long pid)
{
	char path[40], line[128];
	unsigned int real, effective, saved;
	bool foreign = false;
	FILE *in;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	in = fopen(path, "re");
	if (in == NULL)
		return false;
	while (fgets(line, sizeof(line), in) != NULL)
		if (sscanf(line, "Uid: %u %u %u", &real, &effective, &saved) == 3) {
			foreign = real != geteuid() || effective != geteuid() || saved != geteuid();
			break;
		}
	fclose(in);
	return foreign;
}

/*
 * Who holds flock(LOCK_EX) on the inode (dev, ino), by the kernel's own account in
 * /proc/locks, not by anything the segment says about itself: the pid of a process
 * that is not visibly another user's (a producer of ours); 0: nobody but readers
 * (shared locks, or other users' processes); -1: a holder we cannot identify (not
 * visible in this pid namespace, or /proc/locks unreadable): treated as live.
 */
static long shm_segment_lock_holder(dev_t dev, ino_t ino)
{
	char line[256], kind[16], advisory[16], access[16];
	unsigned int major_id, minor_id;
	unsigned long inode;
	long pid, found = 0;
	FILE *in = fopen("/proc/locks", "re");

	if (in == NULL)
		return -1;
	while (fgets(line, sizeof(line), in) != NULL) {
		/* "1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF"; waiters ("->") do not parse. */
		if (sscanf(line, "%*d: %15s %15s %15s %ld %x:%x:%lu", kind, advisory, access, &pid,
			   &major_id, &minor_id, &inode) != 7)
			continue;
		if (strcmp(kind, "FLOCK") != 0 || strcmp(access, "WRITE") != 0 || inode != (unsigned long)ino ||
		    major_id != major(dev) || minor_id != minor(dev) || shm_segment_pid_foreign(pid))
			continue;
		found = pid > 0 ? pid : -1;
		break;
	}
	fclose(in);
	return found;
}

static const char *shm_segment_user_name(uid_t uid, char *buf, size_t size)
{
	struct passwd pw, *found = NULL;

	if (getpwuid_r(uid, &pw, buf, size, &found) != 0 || found == NULL)
		return "no such user";
	return found->pw_name;
}

/*
 * The name exists: refuse it, or clear it. 0: cleared (or gone meanwhile), create
 * again; -errno with a message in err: refused.
 */
static int shm_segment_clear(const char *what, const char *name, const char *path, char *err,
			     size_t err_size)
{
	struct stat st, opened;
	char user[512];
	long holder;
	int fd;

	if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, err_size, "%s %s: %s: %s", what, name, path, strerror(errno));
		return -errno;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, err_size, "%s %s: %s belongs to uid %u (%s), not to fhd's uid %u: refusing to "
			 "use it (someone else made it; remove it, or choose another name)", what, name, path,
			 (unsigned)st.st_uid, shm_segment_user_name(st.st_uid, user, sizeof(user)),
			 (unsigned)geteuid());
		return -EPERM;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, err_size, "%s %s: %s is a directory: remove it", what, name, path);
		return -EISDIR;
	}
	if (!S_ISREG(st.st_mode)) {
		/* fhd's own user left something that is no segment (FIFO, link): never open it. */
		if (unlink(path) != 0 && errno != ENOENT) {
			snprintf(err, err_size, "%s %s: cannot remove %s: %s", what, name, path, strerror(errno));
			return -errno;
		}
		return 0;
	}
	/* Read-only, to take its lock: nothing is ever written through this descriptor. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ELOOP)
			return 0;	/* changed since: look again */
		snprintf(err, err_size, "%s %s: %s: %s", what, name, path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &opened) != 0 || !shm_segment_same_inode(&st, &opened)) {
		close(fd);
		return 0;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		holder = shm_segment_lock_holder(st.st_dev, st.st_ino);
		if (holder != 0) {
			close(fd);
			if (holder > 0)
				snprintf(err, err_size, "%s %s is in use by a running fhd (pid %ld): refusing to "
					 "take it over (stop that fhd, or choose another name)", what, name, holder);
			else
				snprintf(err, err_size, "%s %s is locked by a running process (pid unknown: not "
					 "visible here, or /proc/locks unreadable): refusing to take it over", what, name);
			return -EBUSY;
		}
		/*
		 * Locked, but only by readers (a shared lock, or another user's process): it must
		 * not pin the name (a reader could then keep fhd from ever restarting).
		 */
		logline(LOG_WARNING, "fhd: %s %s: the old segment is locked, but by no running fhd of uid %u "
			"(a reader?); replacing it regardless\n", what, name, (unsigned)geteuid());
	}
	/* Holding its lock: the inode at the name can only be removed by us now. */
	if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && shm_segment_same_inode(&st, &opened) &&
	    unlink(path) != 0 && errno != ENOENT) {
		snprintf(err, err_size, "%s %s: cannot remove the old %s: %s", what, name, path, strerror(errno));
		close(fd);
		return -errno;
	}
	close(fd);
	return 0;
}

/* Locks a just-created inode. 0; -EAGAIN: another fhd took or removed it meanwhile. */
static int shm_segment_lock_new(int fd, const char *path)
{
	struct stat mine, now;

	if (flock(fd, LOCK_EX | LOCK_NB) != 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (fstat(fd, &mine) != 0)
		return -errno;
	if (fstatat(AT_FDCWD, path, &now, AT_SYMLINK_NOFOLLOW) != 0 || !shm_segment_same_inode(&mine, &now))
		return -EAGAIN;
	return 0;
}

int shm_segment_create(struct shm_segment *seg, const char *what, const char *name, size_t size,
		       char *err, size_t err_size)
{
	char path[SHM_SEGMENT_PATH_MAX];
	int fd = -1, rc;
	void *map;

	assert(seg != NULL && what != NULL && name != NULL);
	memset(seg, 0, sizeof(*seg));
	seg->fd = -1;
	if (!shm_segment_name_valid(name)) {
		snprintf(err, err_size, "%s %.*s: expected \"/NAME\" (no other '/', at most %d characters)",
			 what, SHM_SEGMENT_NAME_MAX, name, SHM_SEGMENT_NAME_MAX - 2);
		return -EINVAL;
	}
	assert(size > 0);
	snprintf(path, sizeof(path), SHM_SEGMENT_DIR "%s", name);
	for (int attempt = 0;; attempt++) {
		if (attempt == SHM_SEGMENT_TRIES) {
			snprintf(err, err_size, "%s %s: %s kept changing while fhd replaced it (another fhd "
				 "starting with the same name?)", what, name, path);
			return -EAGAIN;
		}
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			rc = shm_segment_lock_new(fd, path);
			if (rc == 0)
				break;
			close(fd);
			if (rc == -EAGAIN)
				continue;
			snprintf(err, err_size, "%s %s: lock: %s", what, name, strerror(-rc));
			return rc;
		}
		if (errno != EEXIST) {
			rc = -errno;
			snprintf(err, err_size, "%s %s: cannot create %s: %s", what, name, path, strerror(errno));
			return rc;
		}
		rc = shm_segment_clear(what, name, path, err, err_size);
		if (rc != 0)
			return rc;
	}
	/* 0600 and locked: nobody else can open it while it is sized and filled. */
	if (ftruncate(fd, (off_t)size) != 0) {
		rc = -errno;
		snprintf(err, err_size, "%s %s: %zu bytes: %s", what, name, size, strerror(errno));
		goto fail;
	}
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (map == MAP_FAILED) {
		rc = -errno;
		snprintf(err, err_size, "%s %s: mmap of %zu bytes: %s", what, name, size, strerror(errno));
		goto fail;
	}
	seg->map = map;
	seg->size = size;
	seg->fd = fd;
	snprintf(seg->name, sizeof(seg->name), "%s", name);
	/* The name was checked to fit: the copy is whole (remove unlinks by it). */
	assert(strcmp(seg->name, name) == 0);
	return 0;
fail:
	unlink(path);	/* our own new inode: we hold its lock and checked it is the name's */
	close(fd);
	return rc;
}

int shm_segment_share(struct shm_segment *seg, const char *what, mode_t mode, gid_t gid, char *err,
		      size_t err_size)
{
	assert(seg->map != NULL && seg->fd >= 0);
	/* The group first: the mode must never apply to the group the file had before. */
	if ((gid != (gid_t)-1 && fchown(seg->fd, (uid_t)-1, gid) != 0) || fchmod(seg->fd, mode) != 0) {
		snprintf(err, err_size, "%s %s: mode %04o group %d: %s", what, seg->name, (unsigned)mode,
			 gid == (gid_t)-1 ? -1 : (int)gid, strerror(errno));
		return -errno;
	}
	return 0;
}

void shm_segment_close(struct shm_segment *seg)
{
	if (seg->map == NULL)	/* never created: a zeroed struct's fd 0 is not ours */
		return;
	assert(seg->fd >= 0 && seg->size > 0);
	munmap(seg->map, seg->size);
	close(seg->fd);
	memset(seg, 0, sizeof(*seg));
	seg->fd = -1;
}

void shm_segment_remove(struct shm_segment *seg)
{
	char path[SHM_SEGMENT_PATH_MAX];
	struct stat mine, now;

	if (seg->map != NULL) {
		snprintf(path, sizeof(path), SHM_SEGMENT_DIR "%s", seg->name);
		if (fstat(seg->fd, &mine) == 0 && fstatat(AT_FDCWD, path, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
		    shm_segment_same_inode(&mine, &now))
			unlink(path);
	}
	shm_segment_close(seg);
}
