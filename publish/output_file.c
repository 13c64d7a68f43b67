/*
 * output_file: safe creation, repair and replacement of fhd's output files (see
 * output_file.h). Everything is relative to a directory descriptor opened once: a
 * rename or a link placed on the path later cannot redirect a write, and a directory
 * that only fhd's user can write cannot be given new entries by anyone else. The
 * per-file checks (O_EXCL|O_NOFOLLOW, fstat after open) still hold where that does not:
 * entries planted before the directory was locked down, or by a process of fhd's user.
 */
#include "publish/output_file.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "uid 1000 (alice)", or "uid 1000" when the user has no name. */
static void output_owner_describe(uid_t uid, char *out, size_t size)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL && pw->pw_name != NULL)
		snprintf(out, size, "uid %u (%s)", (unsigned)uid, pw->pw_name);
	else
		snprintf(out, size, "uid %u", (unsigned)uid);
}

static const char *output_type_describe(mode_t mode)
{
	if (S_ISREG(mode))
		return "a regular file";
	if (S_ISLNK(mode))
		return "a symbolic link";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	return "something unknown";
}

/*
 * Whether st is a file fhd may reopen or replace: regular, its own, one link. If not,
 * a line in err saying what it is and whose; -EPERM.
 */
static int output_entry_check(const struct output_dir *d, const char *name, const struct stat *st,
			      const char *refused, char *err, size_t err_size)
{
	char owner[96];

	if (S_ISREG(st->st_mode) && st->st_uid == geteuid() && st->st_nlink == 1)
		return 0;
	output_owner_describe(st->st_uid, owner, sizeof(owner));
	if (S_ISREG(st->st_mode) && st->st_uid == geteuid())
		snprintf(err, err_size, "%s/%s: %s: a regular file with %ju links (a hard link: "
			 "writing it would change the other names too)", d->path, name, refused,
			 (uintmax_t)st->st_nlink);
	else
		snprintf(err, err_size, "%s/%s: %s: %s owned by %s, not a regular file of fhd's user "
			 "(uid %u); remove it", d->path, name, refused, output_type_describe(st->st_mode),
			 owner, (unsigned)geteuid());
	return -EPERM;
}

/* A name is one path component: no '/', not empty, not "." or "..". */
static bool output_name_is_component(const char *name)
{
	return name[0] != '\0' && strchr(name, '/') == NULL && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0;
}

int output_dir_open(struct output_dir *d, const char *path, char *err, size_t err_size)
{
	struct stat st;
	char owner[96];
	int rc;

	assert(d != NULL && path != NULL);
	d->fd = -1;
	snprintf(d->path, sizeof(d->path), "%s", path);
	d->fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d->fd < 0) {
		rc = -errno;
		if (rc == -ELOOP || rc == -ENOTDIR) {
			struct stat lst;

			if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
				output_owner_describe(lst.st_uid, owner, sizeof(owner));
				snprintf(err, err_size, "%s: refused: a symbolic link (owned by %s); "
					 "give the directory itself", path, owner);
				return -ELOOP;
			}
		}
		snprintf(err, err_size, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(d->fd, &st) != 0) {
		rc = -errno;
		snprintf(err, err_size, "%s: %s", path, strerror(-rc));
		output_dir_close(d);
		return rc;
	}
	output_owner_describe(st.st_uid, owner, sizeof(owner));
	if (st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
		snprintf(err, err_size, "%s: refused: the directory is %s (owner %s, mode %04o); fhd "
			 "writes only into a directory that its own user (uid %u) owns and no other "
			 "user can write to, e.g. one made with: install -d -m 0750 DIR", path,
			 st.st_uid != geteuid() ? "owned by another user" : "writable by group or others",
			 owner, (unsigned)(st.st_mode & 07777), (unsigned)geteuid());
		output_dir_close(d);
		return -EPERM;
	}
	assert(d->fd >= 0);
	return 0;
}

int output_dir_open_parent(struct output_dir *d, const char *file_path, const char **name,
			   char *err, size_t err_size)
{
	const char *slash;
	char dir[PATH_MAX];

	assert(d != NULL && file_path != NULL && name != NULL);
	slash = strrchr(file_path, '/');
	d->fd = -1;
	snprintf(d->path, sizeof(d->path), "%s", file_path);
	*name = slash == NULL ? file_path : slash + 1;
	if (!output_name_is_component(*name)) {
		snprintf(err, err_size, "%s: expected a file name, got a directory", file_path);
		return -EISDIR;
	}
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == file_path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - file_path) >= sizeof(dir)) {
		snprintf(err, err_size, "%s: path too long", file_path);
		return -ENAMETOOLONG;
	} else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - file_path), file_path);
	return output_dir_open(d, dir, err, err_size);
}

void output_dir_close(struct output_dir *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

int output_file_create(const struct output_dir *d, const char *name, int flags, mode_t mode,
		       bool replace, char *err, size_t err_size)
{
	int open_flags = flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	struct stat st;
	int fd, rc;

	assert(d->fd >= 0 && name != NULL);
	if (!output_name_is_component(name)) {
		snprintf(err, err_size, "%s/%s: expected one file name", d->path, name);
		return -EINVAL;
	}
	/* bounded: one create, then at most one unlink and a second create */
	for (int attempt = 0; attempt < 2; attempt++) {
		fd = openat(d->fd, name, open_flags, mode);
		if (fd >= 0)
			return fd;
		rc = -errno;
		if (rc != -EEXIST || !replace) {
			snprintf(err, err_size, "%s/%s: cannot create: %s", d->path, name, strerror(-rc));
			return rc;
		}
		if (fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno == ENOENT)
				continue;	/* gone meanwhile: create again */
			rc = -errno;
			snprintf(err, err_size, "%s/%s: %s", d->path, name, strerror(-rc));
			return rc;
		}
		rc = output_entry_check(d, name, &st, "refused to replace", err, err_size);
		if (rc != 0)
			return rc;
		if (unlinkat(d->fd, name, 0) != 0 && errno != ENOENT) {
			rc = -errno;
			snprintf(err, err_size, "%s/%s: cannot remove the old file: %s", d->path, name,
				 strerror(-rc));
			return rc;
		}
	}
	snprintf(err, err_size, "%s/%s: cannot create: it keeps coming back", d->path, name);
	return -EEXIST;
}

FILE *output_file_fopen(const struct output_dir *d, const char *name, mode_t mode, char *err,
			size_t err_size)
{
	int fd = output_file_create(d, name, O_WRONLY, mode, true, err, err_size);
	FILE *out;

	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	out = fdopen(fd, "w");
	if (out == NULL) {
		snprintf(err, err_size, "%s/%s: %s", d->path, name, strerror(errno));
		close(fd);
	}
	return out;
}

int output_file_reopen(const struct output_dir *d, const char *name, int flags, char *err,
		       size_t err_size)
{
	struct stat st;
	int fd, rc;

	assert(d->fd >= 0 && name != NULL);
	if (!output_name_is_component(name)) {
		snprintf(err, err_size, "%s/%s: expected one file name", d->path, name);
		return -EINVAL;
	}
	/* Looked at first so that a device or FIFO is never even opened. */
	if (fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		rc = -errno;
		snprintf(err, err_size, "%s/%s: %s", d->path, name, strerror(-rc));
		return rc;
	}
	rc = output_entry_check(d, name, &st, "left alone", err, err_size);
	if (rc != 0)
		return rc;
	fd = openat(d->fd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ELOOP)
			snprintf(err, err_size, "%s/%s: left alone: a symbolic link", d->path, name);
		else
			snprintf(err, err_size, "%s/%s: cannot open: %s", d->path, name, strerror(-rc));
		return rc;
	}
	/* What was opened, not what was looked at, decides. */
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		close(fd);
		snprintf(err, err_size, "%s/%s: %s", d->path, name, strerror(-rc));
		return rc;
	}
	rc = output_entry_check(d, name, &st, "left alone", err, err_size);
	if (rc != 0) {
		close(fd);
		return rc;
	}
	return fd;
}

int output_file_rename(const struct output_dir *d, const char *from, const char *to)
{
	assert(d->fd >= 0);
	return renameat(d->fd, from, d->fd, to) == 0 ? 0 : -errno;
}

int output_file_unlink(const struct output_dir *d, const char *name)
{
	assert(d->fd >= 0);
	return unlinkat(d->fd, name, 0) == 0 ? 0 : -errno;
}
