/*
 * test_output_file: the rules fhd's output files follow (publish/output_file.h), each
 * refusal first: directories that are links, another user's, or writable by group or
 * others (/tmp itself); entries that are symbolic links, FIFOs, hard links or another
 * user's files are never written through, reopened or replaced, and what they point at
 * is left byte for byte as it was. Then what is allowed: a fresh file, replacing fhd's
 * own file, renaming over a link. The other-owner cases need root (chown to another
 * uid); without it they are skipped and said so. Exits 0 pass, 1 fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "publish/output_file.h"
#include "tests/check.h"

#define OTHER_UID 65534	/* nobody: "another user" */
#define VICTIM_TEXT "root's file: must not change\n"

static char base[] = "/tmp/fh-test-output.XXXXXX";
static char err[OUTPUT_FILE_ERROR_MAX];

static void path_of(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", base, name);
}

static void file_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

/* Whether the victim outside the output directory still holds exactly VICTIM_TEXT. */
static bool victim_intact(const char *victim)
{
	char text[128] = "";
	FILE *f = fopen(victim, "r");
	size_t n;

	if (f == NULL)
		return false;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	return strcmp(text, VICTIM_TEXT) == 0;
}

static void directories_refused(bool root)
{
	struct output_dir d;
	char path[512], link[512];

	CHECK(output_dir_open(&d, "/tmp", err, sizeof(err)) == -EPERM);
	CHECK(strstr(err, "writable by group or others") != NULL && strstr(err, "mode 1777") != NULL);
	printf("  /tmp: %s\n", err);
	path_of(path, sizeof(path), "group-writable");
	CHECK(mkdir(path, 0700) == 0 && chmod(path, 0770) == 0);
	CHECK(output_dir_open(&d, path, err, sizeof(err)) == -EPERM && d.fd == -1);
	path_of(path, sizeof(path), "other-writable");
	CHECK(mkdir(path, 0700) == 0 && chmod(path, 0703) == 0);
	CHECK(output_dir_open(&d, path, err, sizeof(err)) == -EPERM);
	path_of(path, sizeof(path), "real");
	CHECK(mkdir(path, 0750) == 0);
	path_of(link, sizeof(link), "dir-link");
	CHECK(symlink(path, link) == 0);
	CHECK(output_dir_open(&d, link, err, sizeof(err)) == -ELOOP);
	CHECK(strstr(err, "symbolic link") != NULL);
	printf("  dir link: %s\n", err);
	path_of(path, sizeof(path), "plain-file");
	file_write(path, "x");
	CHECK(output_dir_open(&d, path, err, sizeof(err)) == -ENOTDIR);
	CHECK(output_dir_open(&d, "/nonexistent/fh-out", err, sizeof(err)) == -ENOENT);
	CHECK(output_dir_open_parent(&d, "/nonexistent/", &(const char *){ NULL }, err, sizeof(err)) == -EISDIR);
	if (!root) {
		printf("  skip: another user's directory (needs root to chown)\n");
		return;
	}
	path_of(path, sizeof(path), "others");
	CHECK(mkdir(path, 0755) == 0 && chown(path, OTHER_UID, OTHER_UID) == 0);
	CHECK(output_dir_open(&d, path, err, sizeof(err)) == -EPERM);
	CHECK(strstr(err, "owned by another user") != NULL && strstr(err, "uid 65534") != NULL);
	printf("  another user's dir: %s\n", err);
}

/* Each kind of planted entry, refused by create-with-replace and by reopen alike. */
static void entries_refused(const struct output_dir *d, const char *victim, bool root)
{
	char path[512], other[512];
	struct stat st;
	int fd;

	path_of(path, sizeof(path), "real/link");
	CHECK(symlink(victim, path) == 0);
	CHECK(output_file_create(d, "link", O_WRONLY, 0644, true, err, sizeof(err)) == -EPERM);
	CHECK(strstr(err, "a symbolic link") != NULL);
	printf("  link: %s\n", err);
	CHECK(output_file_reopen(d, "link", O_RDWR, err, sizeof(err)) == -EPERM);
	CHECK(output_file_create(d, "link", O_WRONLY, 0644, false, err, sizeof(err)) == -EEXIST);
	CHECK(victim_intact(victim));
	CHECK(lstat(path, &st) == 0 && S_ISLNK(st.st_mode));

	/* a FIFO would block an open for writing until a reader came: never opened */
	path_of(path, sizeof(path), "real/fifo");
	CHECK(mkfifo(path, 0644) == 0);
	CHECK(output_file_create(d, "fifo", O_WRONLY, 0644, true, err, sizeof(err)) == -EPERM);
	CHECK(strstr(err, "a FIFO") != NULL);
	CHECK(output_file_reopen(d, "fifo", O_RDWR, err, sizeof(err)) == -EPERM);

	/* a hard link to a file of ours elsewhere: writing it would write the other name too */
	path_of(other, sizeof(other), "hard-target");
	file_write(other, VICTIM_TEXT);
	path_of(path, sizeof(path), "real/hard");
	CHECK(link(other, path) == 0);
	CHECK(output_file_create(d, "hard", O_WRONLY, 0644, true, err, sizeof(err)) == -EPERM);
	CHECK(strstr(err, "hard link") != NULL);
	printf("  hard link: %s\n", err);
	CHECK(output_file_reopen(d, "hard", O_RDWR, err, sizeof(err)) == -EPERM);
	CHECK(victim_intact(other));

	CHECK(output_file_create(d, "../escape", O_WRONLY, 0644, true, err, sizeof(err)) == -EINVAL);
	CHECK(output_file_reopen(d, "..", O_RDWR, err, sizeof(err)) == -EINVAL);
	if (!root) {
		printf("  skip: another user's file (needs root to chown)\n");
		return;
	}
	path_of(path, sizeof(path), "real/others");
	file_write(path, VICTIM_TEXT);
	CHECK(chown(path, OTHER_UID, OTHER_UID) == 0);
	CHECK(output_file_create(d, "others", O_WRONLY, 0644, true, err, sizeof(err)) == -EPERM);
	CHECK(strstr(err, "owned by uid 65534") != NULL);
	printf("  another user's file: %s\n", err);
	fd = output_file_reopen(d, "others", O_RDWR, err, sizeof(err));
	CHECK(fd == -EPERM);
	CHECK(victim_intact(path));
}

static void allowed(const struct output_dir *d, const char *victim)
{
	char path[512];
	struct stat before, after;
	FILE *f;
	int fd;

	/* a fresh file, then fhd's own old file replaced by a new one */
	f = output_file_fopen(d, "fresh", 0644, err, sizeof(err));
	CHECK(f != NULL);
	if (f != NULL) {
		fputs("one\n", f);
		fclose(f);
	}
	path_of(path, sizeof(path), "real/fresh");
	CHECK(stat(path, &before) == 0 && before.st_size == 4);
	f = output_file_fopen(d, "fresh", 0644, err, sizeof(err));
	CHECK(f != NULL);
	if (f != NULL)
		fclose(f);
	CHECK(stat(path, &after) == 0 && after.st_size == 0);
	fd = output_file_reopen(d, "fresh", O_RDWR, err, sizeof(err));
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK(output_file_create(d, "fresh", O_WRONLY, 0644, false, err, sizeof(err)) == -EEXIST);

	/* renaming over a link replaces the link, never what it points at */
	path_of(path, sizeof(path), "real/metrics");
	CHECK(symlink(victim, path) == 0);
	CHECK(output_file_rename(d, "fresh", "metrics") == 0);
	CHECK(lstat(path, &after) == 0 && S_ISREG(after.st_mode));
	CHECK(victim_intact(victim));
	CHECK(output_file_unlink(d, "metrics") == 0);
}

int main(void)
{
	struct output_dir d;
	char path[512], victim[512];
	bool root = geteuid() == 0;

	if (mkdtemp(base) == NULL)
		return 1;
	path_of(victim, sizeof(victim), "victim");
	file_write(victim, VICTIM_TEXT);
	directories_refused(root);
	path_of(path, sizeof(path), "real");
	CHECK(output_dir_open(&d, path, err, sizeof(err)) == 0);
	if (d.fd >= 0) {
		entries_refused(&d, victim, root);
		allowed(&d, victim);
		output_dir_close(&d);
	}
	CHECK(victim_intact(victim));
	if (fork() == 0)
		execlp("rm", "rm", "-rf", base, (char *)NULL);
	else
		wait(NULL);
	printf("test_output_file: %s\n", failures ? "FAIL" : "ok");
	return failures ? 1 : 0;
}
