/*
 * output_file: how fhd creates, repairs and replaces the files it writes (journal,
 * --hist-out histograms, the Prometheus text file, --dump-books), so that no other
 * local user can make it write through a link into someone else's file. A directory is
 * opened once, at start, and refused unless fhd's effective user owns it and nobody
 * else can write to it; every file is then named relative to that directory's
 * descriptor (never by a path walked again), created with O_EXCL|O_NOFOLLOW, and an
 * existing file is only ever reopened after fstat shows a regular file of fhd's own
 * user with a single link. The control path only: it prints nothing, messages go into
 * the caller's buffer.
 */
#ifndef FH_PUBLISH_OUTPUT_FILE_H
#define FH_PUBLISH_OUTPUT_FILE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define OUTPUT_FILE_ERROR_MAX (PATH_MAX + 256)

struct output_dir {
	int fd;			/* O_DIRECTORY descriptor, or -1 */
	char path[PATH_MAX];	/* as given, for messages */
};

/*
 * Opens path as an output directory: O_DIRECTORY|O_NOFOLLOW (a symbolic link as the
 * last component is refused), then fstat: owned by the effective uid and not writable
 * by group or others (mode & 022 == 0), or it is refused. 0, or -errno with a line in
 * err naming the directory, its owner and mode, and what to do (-EPERM for ownership
 * or mode, -ELOOP for a link, the open's errno otherwise).
 */
int output_dir_open(struct output_dir *d, const char *path, char *err, size_t err_size);

/*
 * Opens the directory part of file_path (the part before its last '/', or "." if none)
 * with output_dir_open, and sets *name to the last component (inside file_path).
 * An empty last component is -EISDIR.
 */
int output_dir_open_parent(struct output_dir *d, const char *file_path, const char **name,
			   char *err, size_t err_size);

void output_dir_close(struct output_dir *d);

/*
 * Creates name (one path component) in d: openat with O_CREAT|O_EXCL|O_NOFOLLOW|
 * O_CLOEXEC and flags (O_WRONLY or O_RDWR, maybe O_DIRECT). If name exists and replace
 * is set, an existing regular file owned by the effective uid with one link is
 * unlinked and the create retried once; anything else there (symbolic link, FIFO,
 * device, directory, another user's file, a hard link) is refused. Returns the
 * descriptor, or -errno with a line in err naming what is there and whose it is
 * (-EEXIST when not replacing, so a caller choosing names can try another).
 */
int output_file_create(const struct output_dir *d, const char *name, int flags, mode_t mode,
		       bool replace, char *err, size_t err_size);

/* output_file_create(O_WRONLY, replace) wrapped in a stdio stream ("w"); NULL with err. */
FILE *output_file_fopen(const struct output_dir *d, const char *name, mode_t mode, char *err,
			size_t err_size);

/*
 * Reopens an existing file for repair: openat with O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC and
 * flags, then fstat: a regular file owned by the effective uid with one link, or it is
 * closed again and refused. The descriptor, or -errno with a line in err.
 */
int output_file_reopen(const struct output_dir *d, const char *name, int flags, char *err,
		       size_t err_size);

/* renameat within d (an existing entry named to is replaced, never followed): 0 or -errno. */
int output_file_rename(const struct output_dir *d, const char *from, const char *to);

/* unlinkat within d: 0 or -errno. */
int output_file_unlink(const struct output_dir *d, const char *name);

#endif
