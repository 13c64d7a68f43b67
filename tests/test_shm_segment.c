/*
 * test_shm_segment: how fhd makes its shared-memory segments, against what another
 * local user can leave at the name. Refusals first: bad names, a segment or a FIFO
 * owned by someone else (refused naming the owner, left untouched, never blocking),
 * a segment a live producer holds (refused naming its pid). Then replacement: fhd's
 * own stale segment, FIFO or reader-locked segment becomes a new inode that no
 * descriptor or mapping made before can reach, created 0600 and shared with the
 * mode asked for. Run as root for the foreign-owner cases (skipped otherwise), and
 * at fs.protected_regular 0, 1 and 2 where the machine lets root set it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "publish/shm_segment.h"
#include "tests/check.h"

#define SIZE 8192
#define FOREIGN_UID 65534

static char name[64], path[96];

static bool inode_of(struct stat *st)
{
	return lstat(path, st) == 0;
}

static void test_bad_names(void)
{
	static const char *const bad[] = { "", "x", "/", "/a/b", "/..", "/." };
	struct shm_segment seg;
	char err[512];

	printf("bad names\n");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(shm_segment_create(&seg, "ring", bad[i], SIZE, err, sizeof(err)) == -EINVAL);
}

static void test_foreign_owner(void)
{
	struct passwd *pw = getpwuid(FOREIGN_UID);
	struct shm_segment seg;
	struct stat st;
	char err[512], want[64];
	int fd;

	printf("a name owned by another user is refused, named, and left alone\n");
	if (geteuid() != 0) {
		printf("  (skipped: needs root to make a file of uid %d)\n", FOREIGN_UID);
		return;
	}
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0666);
	CHECK(fd >= 0 && fchown(fd, FOREIGN_UID, FOREIGN_UID) == 0 && fchmod(fd, 0666) == 0);
	CHECK(shm_segment_create(&seg, "ring", name, SIZE, err, sizeof(err)) == -EPERM);
	printf("  (%s)\n", err);
	snprintf(want, sizeof(want), "uid %d (%s)", FOREIGN_UID, pw != NULL ? pw->pw_name : "no such user");
	CHECK(strstr(err, want) != NULL);
	CHECK(fstat(fd, &st) == 0 && st.st_size == 0 && st.st_uid == FOREIGN_UID && (st.st_mode & 0777) == 0666);
	CHECK(seg.map == NULL);
	close(fd);
	unlink(path);

	/* A FIFO: opening it would block; it must be judged without opening. */
	CHECK(mkfifo(path, 0666) == 0 && chown(path, FOREIGN_UID, FOREIGN_UID) == 0);
	CHECK(shm_segment_create(&seg, "ring", name, SIZE, err, sizeof(err)) == -EPERM);
	CHECK(strstr(err, want) != NULL);
	CHECK(lstat(path, &st) == 0 && S_ISFIFO(st.st_mode));
	unlink(path);
}

static void test_own_leftovers_replaced(void)
{
	struct shm_segment seg, old;
	struct stat before, after;
	char err[512], buf[16];
	uint8_t *early_map;
	int early_fd;

	printf("fhd's own FIFO or symlink at the name is removed, never opened\n");
	unlink(path);
	CHECK(mkfifo(path, 0600) == 0);
	CHECK(shm_segment_create(&seg, "ring", name, SIZE, err, sizeof(err)) == 0);
	CHECK(inode_of(&after) && S_ISREG(after.st_mode) && after.st_size == SIZE);
	shm_segment_close(&seg);
	unlink(path);
	CHECK(symlink("/etc/passwd", path) == 0);
	CHECK(shm_segment_create(&seg, "ring", name, SIZE, err, sizeof(err)) == 0);
	CHECK(inode_of(&after) && S_ISREG(after.st_mode) && after.st_size == SIZE);
	shm_segment_close(&seg);

	printf("a stale segment is replaced by a new inode that nothing made before reaches\n");
	CHECK(shm_segment_create(&old, "ring", name, SIZE, err, sizeof(err)) == 0);
	memset(old.map, 'o', SIZE);
	shm_segment_close(&old);	/* the previous fhd has stopped */
	early_fd = open(path, O_RDWR);	/* kept by someone since */
	early_map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, early_fd, 0);
	CHECK(early_fd >= 0 && early_map != MAP_FAILED && inode_of(&before));
	CHECK(shm_segment_create(&seg, "ring", name, SIZE, err, sizeof(err)) == 0);
	CHECK(inode_of(&after) && after.st_ino != before.st_ino);
	CHECK(((uint8_t *)seg.map)[0] == 0 && ((uint8_t *)seg.map)[SIZE - 1] == 0);
	CHECK(pwrite(early_fd, "PWNED", 5, 0) == 5);
	early_map[100] = 'X';
	CHECK(memchr(seg.map, 'P', SIZE) == NULL && memchr(seg.map, 'X', SIZE) == NULL);
	memset(seg.map, 'n', SIZE);
	CHECK(pread(early_fd, buf, sizeof(buf), 16) == sizeof(buf) && buf[0] == 'o' && early_map[200] == 'o');
	CHECK((after.st_mode & 0777) == 0600);	/* nobody else can open it until shared */
	CHECK(shm_segment_share(&seg, "ring", 0640, (gid_t)-1, err, sizeof(err)) == 0);
	CHECK(inode_of(&after) && (after.st_mode & 0777) == 0640);
	munmap(early_map, SIZE);
	close(early_fd);

	printf("a live segment is refused, naming the producer's pid\n");
	CHECK(shm_segment_create(&old, "ring", name, SIZE, err, sizeof(err)) == -EBUSY);
	printf("  (%s)\n", err);
	snprintf(buf, sizeof(buf), "pid %d", getpid());
	CHECK(strstr(err, "in use by a running fhd") != NULL && strstr(err, buf) != NULL);
	CHECK(inode_of(&before) && before.st_ino == after.st_ino);
	shm_segment_close(&seg);

	printf("a reader's lock on a stale segment does not pin the name\n");
	early_fd = open(path, O_RDONLY);
	CHECK(early_fd >= 0 && flock(early_fd, LOCK_SH | LOCK_NB) == 0);
	CHECK(shm_segment_create(&seg, "ring", name, SIZE, err, sizeof(err)) == 0);
	CHECK(inode_of(&after) && after.st_ino != before.st_ino);
	close(early_fd);
	shm_segment_close(&seg);

	printf("another user's exclusive lock on a stale segment does not pin it either\n");
	if (geteuid() == 0) {
		int ready[2], done[2];
		pid_t child;
		char c;

		CHECK(shm_segment_create(&seg, "ring", name, SIZE, err, sizeof(err)) == 0);
		CHECK(shm_segment_share(&seg, "ring", 0644, (gid_t)-1, err, sizeof(err)) == 0);
		shm_segment_close(&seg);
		CHECK(inode_of(&before) && pipe(ready) == 0 && pipe(done) == 0);
		child = fork();
		if (child == 0) {
			int fd;

			if (setgid(FOREIGN_UID) != 0 || setuid(FOREIGN_UID) != 0)
				_exit(1);
			fd = open(path, O_RDONLY);
			if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0)
				_exit(1);
			if (write(ready[1], "r", 1) != 1 || read(done[0], &c, 1) != 1)
				_exit(1);
			_exit(0);
		}
		CHECK(read(ready[0], &c, 1) == 1);
		CHECK(shm_segment_create(&seg, "ring", name, SIZE, err, sizeof(err)) == 0);
		CHECK(inode_of(&after) && after.st_ino != before.st_ino);
		CHECK(write(done[1], "d", 1) == 1);
		waitpid(child, NULL, 0);
		close(ready[0]);
		close(ready[1]);
		close(done[0]);
		close(done[1]);
		shm_segment_remove(&seg);
		CHECK(!inode_of(&after) && errno == ENOENT);
	}
}

/*
 * Several fhd start under one name at once (fresh, or over a stale segment): exactly
 * one gets it, the others are refused as in use (or gave up after the bounded retries).
 */
static void test_race(bool stale)
{
	enum { RACERS = 4 };
	int go[2], hold[2], result[2], rc, won = 0, refused = 0;
	struct shm_segment seg;
	pid_t kids[RACERS];
	char err[512];

	printf("%d fhd starting at once on a %s name: one wins\n", RACERS, stale ? "stale" : "fresh");
	unlink(path);
	if (stale) {
		CHECK(shm_segment_create(&seg, "ring", name, SIZE, err, sizeof(err)) == 0);
		shm_segment_close(&seg);
	}
	CHECK(pipe(go) == 0 && pipe(hold) == 0 && pipe(result) == 0);
	for (int k = 0; k < RACERS; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			char c;

			close(go[1]);
			close(hold[1]);
			(void)!read(go[0], &c, 1);	/* EOF: everyone starts */
			rc = shm_segment_create(&seg, "ring", name, SIZE, err, sizeof(err));
			(void)!write(result[1], &rc, sizeof(rc));
			(void)!read(hold[0], &c, 1);	/* the winner holds it until the end */
			_exit(0);
		}
	}
	close(go[0]);
	close(go[1]);
	close(hold[0]);
	for (int k = 0; k < RACERS; k++) {
		CHECK(read(result[0], &rc, sizeof(rc)) == sizeof(rc));
		won += rc == 0;
		refused += rc == -EBUSY || rc == -EAGAIN;
	}
	printf("  %d won, %d refused\n", won, refused);
	CHECK(won == 1 && refused == RACERS - 1);
	close(hold[1]);
	for (int k = 0; k < RACERS; k++)
		waitpid(kids[k], NULL, 0);
	close(result[0]);
	close(result[1]);
	unlink(path);
}

/* Writes fs.protected_regular; false if this machine does not let us. */
static bool protected_regular_set(const char *value)
{
	int fd = open("/proc/sys/fs/protected_regular", O_WRONLY);
	bool ok = fd >= 0 && write(fd, value, strlen(value)) == (ssize_t)strlen(value);

	if (fd >= 0)
		close(fd);
	return ok;
}

/*
 * fs.protected_regular 1 or 2 makes an O_CREAT open of another user's file in a
 * sticky world-writable directory (/dev/shm) fail with EACCES, even for root; 0 lets
 * it open the file, which is how fhd used to adopt a squatted segment. O_EXCL fails
 * with EEXIST before that check, so fhd refuses the same way, naming the owner, at
 * all three values. Each value is held only around the calls that need it (the
 * setting is machine-wide), and the original is put back.
 */
static void test_protected_regular(void)
{
	static const char *const values[] = { "0", "1", "2" };
	char original[8] = "", err[512], want[32];
	struct shm_segment seg;
	int fd, old_style, old_errno, rc;
	FILE *in = fopen("/proc/sys/fs/protected_regular", "r");

	printf("fs.protected_regular 0, 1, 2: the same refusal\n");
	if (in == NULL || fgets(original, sizeof(original), in) == NULL) {
		printf("  (skipped: no fs.protected_regular)\n");
		if (in != NULL)
			fclose(in);
		return;
	}
	fclose(in);
	original[strcspn(original, "\n")] = '\0';
	if (geteuid() != 0) {
		printf("  (skipped: needs root)\n");
		return;
	}
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0666);
	CHECK(fd >= 0 && fchown(fd, FOREIGN_UID, FOREIGN_UID) == 0 && fchmod(fd, 0666) == 0);
	close(fd);
	snprintf(want, sizeof(want), "uid %d", FOREIGN_UID);
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		if (!protected_regular_set(values[i])) {
			printf("  (fs.protected_regular cannot be set here: only the current value, %s, is tested)\n",
			       original);
			if (i > 0)
				break;
		}
		rc = shm_segment_create(&seg, "ring", name, SIZE, err, sizeof(err));
		old_style = open(path, O_RDWR | O_CREAT, 0600);	/* what fhd did before */
		old_errno = errno;
		protected_regular_set(original);
		printf("  %s: fhd: %s; an O_CREAT open without O_EXCL: %s\n", values[i],
		       rc == -EPERM ? "refused, naming the owner" : "NOT refused",
		       old_style >= 0 ? "opens the user's file" : strerror(old_errno));
		CHECK(rc == -EPERM && strstr(err, want) != NULL);
		if (values[i][0] == '0')
			CHECK(old_style >= 0);
		else
			CHECK(old_style < 0 && old_errno == EACCES);
		if (old_style >= 0)
			close(old_style);
	}
	unlink(path);
}

int main(void)
{
	snprintf(name, sizeof(name), "/fh-test-shm-%d", getpid());
	snprintf(path, sizeof(path), SHM_SEGMENT_DIR "%s", name);
	test_bad_names();
	test_foreign_owner();
	test_own_leftovers_replaced();
	test_race(false);
	test_race(true);
	test_protected_regular();
	unlink(path);
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
