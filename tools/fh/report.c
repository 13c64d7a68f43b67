/*
 * fh report DIR... -o FILE.png: turns the HdrHistogram percentile files fhd writes
 * with --hist-out (<feed>.<latency>.hgrm) of one or more runs into one PNG, a panel
 * per feed and latency, each run a curve (latency against percentile on the usual
 * log scale of 1/(1-p), so the tail is spread out), and prints a short table. The
 * plot is drawn by gnuplot, which must be on PATH.
 *
 * Names are data, never code. Directory and file names are chosen by whoever made
 * them and gnuplot's script language can run commands, so no name is ever written
 * into the script: it reads generated files (d0.dat, d1.dat...) in a private mkdtemp
 * directory ($TMPDIR or /tmp), each run's name reaches the legend as the column
 * header of its data file (sanitised so it cannot break that line), a panel title is
 * the series name reduced to [A-Za-z0-9._+-], and gnuplot writes plot.png inside the private directory, which
 * fh report then moves into place itself (a new file renamed over FILE, so a link at
 * FILE is replaced, never followed). gnuplot runs by fork and execvp, no shell.
 *
 * A histogram holding one distinct value, or only the top (overflow) bucket, still
 * draws: a flat line. A value at the top of the range is flagged in the table.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "book/util/hist.h"
#include "tools/fh/cli.h"

#define REPORT_FILES_MAX 256
#define REPORT_RUNS_MAX 16
#define REPORT_ROWS_MAX 4096
#define REPORT_HEIGHT_MAX 32000	/* px: cairo refuses images beyond 32767 */
#define REPORT_FILE_SIZE_MAX (16 << 20)	/* fhd writes a few KiB per .hgrm; refuse more */
#define REPORT_X_MAX 1e7		/* 1/(1-p) of the last row (p = 1) is infinite: drawn at most here */
#define REPORT_Y_MIN 0.001		/* us: one ns, the resolution of the files; log scale needs > 0 */
#define REPORT_TOP_US 68719476.735	/* fhd's histogram ceiling (2^36 - 1 ns): overflow lands here */
#define REPORT_ERR_SHOW_MAX 4096	/* bytes of gnuplot's stderr shown on failure */

struct report_file {
	int run;
	int data;			/* d<data>.dat in the private directory */
	char series[128];		/* "<feed>.<latency>" */
	int points;			/* rows written to the data file */
	double p50, p90, p99, p999, p9999, max, mean;
	unsigned long count;
	bool exact;			/* percentiles from the histogram itself (hist_percentile), as fhd's */
};

static const char *report_runs[REPORT_RUNS_MAX];
static struct report_file report_files[REPORT_FILES_MAX];
static int report_files_count;

/*
 * The value at the first row whose percentile reaches p, from rows (value, percentile):
 * only near the percentile (the rows lie at HdrHistogram's levels, not at p), for a
 * file that does not carry its histogram.
 */
static double report_at(const double (*rows)[2], int n, double p)
{
	for (int i = 0; i < n; i++)
		if (rows[i][1] >= p)
			return rows[i][0];
	return n > 0 ? rows[n - 1][0] : 0;
}

/*
 * A name as one double-quoted data token for gnuplot's column header: printable
 * ASCII only, '"' as '\'', '\\' doubled (gnuplot unescapes it), anything else '?'.
 * The result is text in a data file, never parsed as a command.
 */
static void report_name_quote(FILE *out, const char *name)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p == '"')
			fputc('\'', out);
		else if (*p == '\\')
			fputs("\\\\", out);
		else
			fputc(cli_char_printable(*p) ? *p : '?', out);
	}
	fputc('"', out);
}

/*
 * Reads one .hgrm file: its figures into f, and its curve into the data file
 * d<f->data>.dat under dirfd, headed by the run's name. x is 1/(1-p) computed from
 * the percentile (the last row, p = 1, at ten times the x before it, within
 * REPORT_X_MAX), y the value in us (at least REPORT_Y_MIN). A first row beyond x = 1
 * gets a point at x = 1 with its value, so one distinct value is a flat line.
 * Returns 0 or -errno: -EINVAL for anything but a regular file, -EFBIG beyond
 * REPORT_FILE_SIZE_MAX.
 */
static int report_file_read(struct report_file *f, const char *path, int dirfd, const char *run)
{
	static double rows[REPORT_ROWS_MAX][2];
	static struct hist h;
	bool counts_bad = false, max_ok;
	char line[256], name[32];
	double value, pct, mean = 0, max = 0, x, last_x = 0;
	unsigned long count, total = 0;
	struct stat st;
	FILE *in, *out;
	int n = 0, fd;

	/*
	 * A run directory is anyone's: a FIFO named *.hgrm must not block the open, and
	 * only a regular file of bounded size is read (a link to /dev/zero never ends).
	 */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > REPORT_FILE_SIZE_MAX) {
		int rc = fstat(fd, &st) != 0 ? -errno : !S_ISREG(st.st_mode) ? -EINVAL : -EFBIG;

		close(fd);
		return rc;
	}
	in = fdopen(fd, "r");
	if (in == NULL) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	snprintf(name, sizeof(name), "d%d.dat", f->data);
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	out = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (out == NULL) {
		int rc = -errno;

		if (fd >= 0)
			close(fd);
		fclose(in);
		return rc;
	}
	fputs("x ", out);
	report_name_quote(out, run);
	fputc('\n', out);
	f->points = 0;
	hist_reset(&h);
	while (ftell(in) <= REPORT_FILE_SIZE_MAX && fgets(line, sizeof(line), in)) {
		int fields = line[0] == '#' ? 0 : sscanf(line, "%lf %lf %lu", &value, &pct, &count);

		if (fields == 3 && n < REPORT_ROWS_MAX && isfinite(value) && isfinite(pct) && pct >= 0 && pct <= 1) {
			rows[n][0] = value;
			rows[n][1] = pct;
			n++;
			x = pct < 1 ? 1 / (1 - pct) : 10 * (last_x > 1 ? last_x : 1);
			x = x < last_x ? last_x : x > REPORT_X_MAX ? REPORT_X_MAX : x;
			value = value < REPORT_Y_MIN ? REPORT_Y_MIN : value;
			if (f->points == 0 && x > 1) {
				fprintf(out, "1 %.6f\n", value);
				f->points++;
			}
			fprintf(out, "%.6g %.6f\n", x, value);
			f->points++;
			last_x = x;
		}
		sscanf(line, "#[Mean    = %lf", &mean);
		sscanf(line, "#[Max     = %lf, Total count    = %lu", &max, &total);
		counts_bad |= hist_count_line_read(&h, line) < 0;
	}
	if (ftell(in) > REPORT_FILE_SIZE_MAX) {	/* grew while read: not left half-read silently */
		fclose(in);
		fclose(out);
		return -EFBIG;
	}
	fclose(in);
	if (fclose(out) != 0)
		return -errno;
	/*
	 * The percentiles as fhd's own table has them: hist_percentile over the histogram
	 * the file carries (its max is the footer's, exact to the ns); a file without it,
	 * or with one that disagrees with its footer, from the rows.
	 */
	/* a max the histogram cannot hold (negative, NaN, past its top) is no fhd's: not exact */
	max_ok = isfinite(max) && max >= 0 && max * 1000 <= (double)HIST_VALUE_MAX;
	h.max = max_ok ? (uint64_t)llround(max * 1000) : 0;
	f->exact = max_ok && !counts_bad && hist_counts_check(&h, total);
	f->p50 = f->exact ? (double)hist_percentile(&h, 50) / 1000 : report_at(rows, n, 0.5);
	f->p90 = f->exact ? (double)hist_percentile(&h, 90) / 1000 : report_at(rows, n, 0.9);
	f->p99 = f->exact ? (double)hist_percentile(&h, 99) / 1000 : report_at(rows, n, 0.99);
	f->p999 = f->exact ? (double)hist_percentile(&h, 99.9) / 1000 : report_at(rows, n, 0.999);
	f->p9999 = f->exact ? (double)hist_percentile(&h, 99.99) / 1000 : report_at(rows, n, 0.9999);
	f->max = max;
	f->mean = mean;
	f->count = total;
	return 0;
}

static int report_series_compare(const void *a, const void *b)
{
	const struct report_file *x = a, *y = b;
	int c = strcmp(x->series, y->series);

	return c != 0 ? c : x->run - y->run;
}

/* Every .hgrm of a run directory; returns how many were read. */
static int report_run_read(int run, const char *dir, int dirfd)
{
	char path[PATH_MAX], shown[PATH_MAX], data[32];
	struct dirent *e;
	size_t len;
	int found = 0, beyond = 0, rc;
	DIR *d = opendir(dir);

	cli_text_escape(shown, sizeof(shown), dir, false);
	if (d == NULL) {
		fprintf(stderr, "fh report: %s: %s\n", shown, strerror(errno));
		return 0;
	}
	while ((e = readdir(d)) != NULL) {
		struct report_file *f = &report_files[report_files_count];

		len = strlen(e->d_name);
		if (len <= 5 || strcmp(e->d_name + len - 5, ".hgrm") != 0)
			continue;
		if (report_files_count >= REPORT_FILES_MAX) {
			beyond++;
			continue;
		}
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= sizeof(path))
			continue;
		cli_text_escape(shown, sizeof(shown), path, false);
		f->run = run;
		f->data = report_files_count;
		snprintf(f->series, sizeof(f->series), "%.*s", (int)(len - 5), e->d_name);
		rc = report_file_read(f, path, dirfd, dir);
		if (rc != 0 || f->count == 0 || f->points == 0) {
			/* nothing recorded: a row in no table, a curve in no plot; its data file goes */
			fprintf(stderr, "fh report: %s: %s\n", shown,
				rc == -EINVAL ? "not a regular file, left out" :
				rc == -EFBIG ? "larger than 16 MiB, not an fhd histogram, left out" :
				rc != 0 ? strerror(-rc) : "empty, left out");
			snprintf(data, sizeof(data), "d%d.dat", f->data);
			unlinkat(dirfd, data, 0);
			continue;
		}
		report_files_count++;
		found++;
	}
	closedir(d);
	cli_text_escape(shown, sizeof(shown), dir, false);
	if (beyond > 0)
		fprintf(stderr, "fh report: %s: %d .hgrm files beyond the %d a report takes, left out\n",
			shown, beyond, REPORT_FILES_MAX);
	if (found == 0)
		fprintf(stderr, "fh report: %s: no .hgrm files (write them with fhd --hist-out DIR)\n", shown);
	return found;
}

/* A series name reduced to [A-Za-z0-9._+-] (others '_'): the one name text in the script. */
static void report_name_safe(char *out, size_t size, const char *name)
{
	size_t i = 0;

	for (const char *p = name; *p != '\0' && i + 1 < size; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '.' || c == '_' || c == '+' || c == '-';

		out[i++] = ok ? c : '_';
	}
	out[i] = '\0';
}

/* Writes report.gp into the private directory: generated names and integers only. */
static int report_script_write(int dirfd)
{
	char title[sizeof(report_files[0].series)];
	int panels = 0, fd;
	FILE *g;

	for (int i = 0; i < report_files_count; i++)
		panels += i == 0 || strcmp(report_files[i].series, report_files[i - 1].series) != 0;
	fd = openat(dirfd, "report.gp", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	g = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (g == NULL) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	/* 330 px a panel, squeezed to fit cairo's largest image (32767 px) */
	fprintf(g, "set terminal pngcairo noenhanced size 1000,%d font ',10'\nset output 'plot.png'\n",
		panels * (panels <= REPORT_HEIGHT_MAX / 330 ? 330 : REPORT_HEIGHT_MAX / panels));
	fprintf(g, "set multiplot layout %d,1\nset logscale x\nset logscale y\nset grid\n", panels);
	/* tic labels are formats to gnuplot: a percent sign is written twice there */
	fprintf(g, "set xtics ('0%%%%' 1, '90%%%%' 10, '99%%%%' 100, '99.9%%%%' 1000, '99.99%%%%' 10000, "
		   "'99.999%%%%' 100000, '99.9999%%%%' 1000000)\n");
	fprintf(g, "set xlabel 'percentile'\nset ylabel 'latency (us)'\nset key top left\n");
	for (int i = 0; i < report_files_count;) {
		int j = i;

		report_name_safe(title, sizeof(title), report_files[i].series);
		fprintf(g, "set title '%s'\nplot ", title);
		for (; j < report_files_count && strcmp(report_files[j].series, report_files[i].series) == 0; j++)
			fprintf(g, "%s'd%d.dat' using 1:2 with linespoints lw 2 pt 7 ps 0.4 title columnheader(2)",
				j > i ? ", " : "", report_files[j].data);
		fprintf(g, "\n");
		i = j;
	}
	fprintf(g, "unset multiplot\n");
	if (fclose(g) != 0)
		return -errno;
	return 0;
}

/* Whether an executable named gnuplot is on PATH: to tell "not installed" from "failed". */
static bool report_gnuplot_found(void)
{
	const char *path = getenv("PATH");
	char dir[PATH_MAX], file[PATH_MAX + 16];

	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path != '\0') {
		size_t len = strcspn(path, ":");

		snprintf(dir, sizeof(dir), "%.*s", (int)len, len > 0 ? path : ".");
		snprintf(file, sizeof(file), "%s/gnuplot", dir);
		if (access(file, X_OK) == 0)
			return true;
		path += len + (path[len] == ':');
	}
	return false;
}

/* Prints the start of gnuplot's stderr (a file in the private directory). */
static void report_gnuplot_errors_show(int dirfd)
{
	char text[REPORT_ERR_SHOW_MAX + 1];
	int fd = openat(dirfd, "gnuplot.err", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, text, REPORT_ERR_SHOW_MAX) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return;
	text[n] = '\0';
	fprintf(stderr, "fh report: gnuplot said:\n%s%s", text, text[n - 1] == '\n' ? "" : "\n");
}

/*
 * Runs gnuplot on report.gp in the private directory (its working directory there,
 * stdout to /dev/null, stderr to gnuplot.err), without a shell. Returns 0 or -EIO
 * after saying why.
 */
static int report_gnuplot_run(const char *tmpdir, int dirfd)
{
	int status, err;
	pid_t pid;

	if (!report_gnuplot_found()) {
		fprintf(stderr, "fh report: gnuplot is not on PATH; install it (Debian: apt-get install gnuplot-nox)\n");
		return -EIO;
	}
	err = openat(dirfd, "gnuplot.err", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (err < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(err);
		return -errno;
	}
	if (pid == 0) {
		char *const args[] = { "gnuplot", "report.gp", NULL };
		int null = open("/dev/null", O_RDWR);

		if (dup2(err, STDERR_FILENO) < 0)
			_exit(127);
		if (chdir(tmpdir) != 0 || null < 0 || dup2(null, STDIN_FILENO) < 0 ||
		    dup2(null, STDOUT_FILENO) < 0) {
			dprintf(STDERR_FILENO, "cannot set up gnuplot in %s: %s\n", tmpdir, strerror(errno));
			_exit(127);
		}
		execvp("gnuplot", args);
		dprintf(STDERR_FILENO, "cannot run gnuplot: %s\n", strerror(errno));
		_exit(127);
	}
	close(err);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && faccessat(dirfd, "plot.png", F_OK, 0) == 0)
		return 0;
	if (WIFSIGNALED(status))
		fprintf(stderr, "fh report: gnuplot was killed by signal %d\n", WTERMSIG(status));
	else
		fprintf(stderr, "fh report: gnuplot exited with status %d without drawing the plot\n",
			WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	report_gnuplot_errors_show(dirfd);
	return -EIO;
}

/*
 * Moves plot.png of the private directory to png: copied to a new file beside png,
 * then renamed over it, so whatever png was (a link included) is replaced, not
 * written through. Returns 0 or -errno.
 */
static int report_output_place(int dirfd, const char *png)
{
	char tmp[PATH_MAX], buf[65536];
	int in, out, rc = 0;
	ssize_t n;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", png) >= sizeof(tmp))
		return -ENAMETOOLONG;
	in = openat(dirfd, "plot.png", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = mkostemp(tmp, O_CLOEXEC);
	if (out < 0) {
		rc = -errno;
		close(in);
		return rc;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	if (n < 0)
		rc = errno != 0 ? -errno : -EIO;
	else {
		mode_t mask = umask(0);

		umask(mask);
		if (fchmod(out, 0666 & ~mask) != 0 || fsync(out) != 0)
			rc = -errno;
	}
	close(in);
	if (close(out) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, png) != 0)
		rc = -errno;
	if (rc != 0)
		unlink(tmp);
	return rc;
}

/* Removes the private directory: the files this command made there, by name. */
static void report_tmpdir_remove(const char *tmpdir, int dirfd)
{
	static const char *const made[] = { "report.gp", "gnuplot.err", "plot.png" };
	char name[32];

	for (int i = 0; i < REPORT_FILES_MAX; i++) {
		snprintf(name, sizeof(name), "d%d.dat", i);
		unlinkat(dirfd, name, 0);
	}
	for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++)
		unlinkat(dirfd, made[i], 0);
	close(dirfd);
	if (rmdir(tmpdir) != 0)
		fprintf(stderr, "fh report: could not remove %s: %s\n", tmpdir, strerror(errno));
}

int report_main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char tmpdir[PATH_MAX], run[PATH_MAX], series[sizeof(report_files[0].series)];
	char shown[PATH_MAX];
	const char *png = NULL, *tmp = getenv("TMPDIR");
	bool top = false, approximate = false;
	int c, runs = 0, rc, dirfd;

	while ((c = getopt_long(argc, argv, "o:h", longs, NULL)) != -1) {
		switch (c) {
		case 'o':
			png = optarg;
			break;
		case 'h':
			printf("usage: fh report DIR... -o FILE.png\n"
			       "  plots the --hist-out files of one or more fhd runs, runs overlaid, and prints\n"
			       "  their percentiles as fhd's own latency table has them (~: a file without its\n"
			       "  histogram, read off the distribution's rows instead)\n");
			return 0;
		default:
			return 2;
		}
	}
	if (png == NULL || png[0] == '\0' || optind >= argc || argc - optind > REPORT_RUNS_MAX) {
		fprintf(stderr, "usage: fh report DIR... -o FILE.png (1..%d run directories)\n", REPORT_RUNS_MAX);
		return 2;
	}
	if (tmp == NULL || tmp[0] != '/' || strlen(tmp) > PATH_MAX - 32)
		tmp = "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/fh-report.XXXXXX", tmp);
	if (mkdtemp(tmpdir) == NULL) {
		fprintf(stderr, "fh report: %s: %s\n", tmpdir, strerror(errno));
		return 1;
	}
	dirfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0) {
		fprintf(stderr, "fh report: %s: %s\n", tmpdir, strerror(errno));
		rmdir(tmpdir);
		return 1;
	}
	for (int i = optind; i < argc; i++, runs++) {
		report_runs[runs] = argv[i];
		if (report_run_read(runs, argv[i], dirfd) <= 0) {
			report_tmpdir_remove(tmpdir, dirfd);
			return 1;
		}
	}
	qsort(report_files, (size_t)report_files_count, sizeof(report_files[0]), report_series_compare);
	printf("%-36s %-24s %10s %9s %9s %9s %9s %9s %9s   (us)\n", "feed.latency", "run", "count", "p50", "p90",
	       "p99", "p99.9", "p99.99", "max");
	for (int i = 0; i < report_files_count; i++) {
		const struct report_file *f = &report_files[i];

		cli_text_escape(series, sizeof(series), f->series, false);
		cli_text_escape(run, sizeof(run), report_runs[f->run], false);
		printf("%-36s %-24s %10lu %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f%s%s\n", series, run, f->count, f->p50,
		       f->p90, f->p99, f->p999, f->p9999, f->max, f->exact ? "" : " ~", f->max >= REPORT_TOP_US ? " *" : "");
		top |= f->max >= REPORT_TOP_US;
		approximate |= !f->exact;
	}
	if (approximate)
		printf("~ percentiles read off the distribution's rows, near but not at each percentile: the "
		       "file does not carry its histogram (not written by this fhd, or altered)\n");
	if (top)
		printf("* values at the top of the histogram's range (%.1f s or more): a clock problem, "
		       "not a latency (see fhd's feed_delay_out_of_range)\n", REPORT_TOP_US / 1e6);
	rc = report_script_write(dirfd);
	if (rc != 0)
		fprintf(stderr, "fh report: %s/report.gp: %s\n", tmpdir, strerror(-rc));
	else
		rc = report_gnuplot_run(tmpdir, dirfd);
	if (rc == 0) {
		rc = report_output_place(dirfd, png);
		cli_text_escape(shown, sizeof(shown), png, false);
		if (rc != 0)
			fprintf(stderr, "fh report: %s: %s\n", shown, strerror(-rc));
		else
			printf("plot: %s\n", shown);
	}
	report_tmpdir_remove(tmpdir, dirfd);
	return rc == 0 ? 0 : 1;
}
