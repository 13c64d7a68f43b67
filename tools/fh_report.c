/*
 * fh report DIR... -o FILE.png: turns the HdrHistogram percentile files fhd writes
 * with --hist-out (<feed>.<latency>.hgrm) of one or more runs into one PNG, a panel
 * per feed and latency, each run a curve (latency against percentile on the usual
 * log scale of 1/(1-p), so the tail is spread out), and prints a short table. The
 * plot is drawn by gnuplot, which must be on PATH.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/fh_commands.h"

#define REPORT_FILES_MAX 256
#define REPORT_RUNS_MAX 16
#define REPORT_ROWS_MAX 4096

struct report_file {
	int run;
	char series[128];		/* "<feed>.<latency>" */
	char data[PATH_MAX];		/* the cleaned rows for gnuplot */
	double p50, p90, p99, p999, max, mean;
	unsigned long count;
};

static const char *report_runs[REPORT_RUNS_MAX];
static struct report_file report_files[REPORT_FILES_MAX];
static int report_files_count;

/* The value at the first row whose percentile reaches p, from rows (value, percentile). */
static double report_at(const double (*rows)[2], int n, double p)
{
	for (int i = 0; i < n; i++)
		if (rows[i][1] >= p)
			return rows[i][0];
	return n > 0 ? rows[n - 1][0] : 0;
}

/* Reads one .hgrm file: its rows into f->data (1/(1-p), value) and its figures. */
static int report_file_read(struct report_file *f, const char *path, const char *tmpdir)
{
	static double rows[REPORT_ROWS_MAX][2];
	char line[256];
	double value, pct, inv, mean = 0, max = 0;
	unsigned long count, total = 0;
	FILE *in = fopen(path, "r"), *out;
	int n = 0;

	if (in == NULL)
		return -errno;
	snprintf(f->data, sizeof(f->data), "%s/%d.dat", tmpdir, report_files_count);
	out = fopen(f->data, "w");
	if (out == NULL) {
		fclose(in);
		return -errno;
	}
	while (fgets(line, sizeof(line), in)) {
		int fields = line[0] == '#' ? 0 : sscanf(line, "%lf %lf %lu %lf", &value, &pct, &count, &inv);

		if (fields >= 3 && n < REPORT_ROWS_MAX) {
			rows[n][0] = value;
			rows[n][1] = pct;
			n++;
			if (fields == 4)
				fprintf(out, "%.6g %.6f\n", inv, value);
		}
		sscanf(line, "#[Mean    = %lf", &mean);
		sscanf(line, "#[Max     = %lf, Total count    = %lu", &max, &total);
	}
	fclose(in);
	fclose(out);
	f->p50 = report_at(rows, n, 0.5);
	f->p90 = report_at(rows, n, 0.9);
	f->p99 = report_at(rows, n, 0.99);
	f->p999 = report_at(rows, n, 0.999);
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

/* Every .hgrm of a run directory. */
static int report_run_read(int run, const char *dir, const char *tmpdir)
{
	char path[PATH_MAX];
	struct dirent *e;
	size_t len;
	int found = 0;
	DIR *d = opendir(dir);

	if (d == NULL) {
		fprintf(stderr, "fh report: %s: %s\n", dir, strerror(errno));
		return -errno;
	}
	while ((e = readdir(d)) != NULL && report_files_count < REPORT_FILES_MAX) {
		struct report_file *f = &report_files[report_files_count];

		len = strlen(e->d_name);
		if (len <= 5 || strcmp(e->d_name + len - 5, ".hgrm") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		f->run = run;
		snprintf(f->series, sizeof(f->series), "%.*s", (int)(len - 5), e->d_name);
		if (report_file_read(f, path, tmpdir) != 0) {
			fprintf(stderr, "fh report: %s: %s\n", path, strerror(errno));
			continue;
		}
		if (f->count == 0) {	/* nothing recorded: a row in no table, a curve in no plot */
			fprintf(stderr, "fh report: %s: empty, left out\n", path);
			continue;
		}
		report_files_count++;
		found++;
	}
	closedir(d);
	if (found == 0)
		fprintf(stderr, "fh report: %s: no .hgrm files (write them with fhd --hist-out DIR)\n", dir);
	return found;
}

static int report_plot(const char *png, const char *tmpdir)
{
	char script[PATH_MAX], command[PATH_MAX + 32];
	int panels = 0, rc;
	FILE *g;

	for (int i = 0; i < report_files_count; i++)
		panels += i == 0 || strcmp(report_files[i].series, report_files[i - 1].series) != 0;
	snprintf(script, sizeof(script), "%s/report.gp", tmpdir);
	g = fopen(script, "w");
	if (g == NULL)
		return -errno;
	fprintf(g, "set terminal pngcairo noenhanced size 1000,%d font ',10'\nset output '%s'\n", 330 * panels, png);
	fprintf(g, "set multiplot layout %d,1\nset logscale x\nset logscale y\nset grid\n", panels);
	/* tic labels are formats to gnuplot: a percent sign is written twice there */
	fprintf(g, "set xtics ('0%%%%' 1, '90%%%%' 10, '99%%%%' 100, '99.9%%%%' 1000, '99.99%%%%' 10000, "
		   "'99.999%%%%' 100000, '99.9999%%%%' 1000000)\n");
	fprintf(g, "set xlabel 'percentile'\nset ylabel 'latency (us)'\nset key top left\n");
	for (int i = 0; i < report_files_count;) {
		int j = i;

		fprintf(g, "set title '%s'\nplot ", report_files[i].series);
		for (; j < report_files_count && strcmp(report_files[j].series, report_files[i].series) == 0; j++)
			fprintf(g, "%s'%s' using 1:2 with lines lw 2 title '%s'", j > i ? ", " : "",
				report_files[j].data, report_runs[report_files[j].run]);
		fprintf(g, "\n");
		i = j;
	}
	fprintf(g, "unset multiplot\n");
	fclose(g);
	snprintf(command, sizeof(command), "gnuplot '%s'", script);
	rc = system(command);
	if (rc != 0) {
		fprintf(stderr, "fh report: gnuplot failed (exit %d); is gnuplot installed?\n", rc);
		return -EIO;
	}
	return 0;
}

int fh_report_main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char tmpdir[] = "/tmp/fh-report.XXXXXX", command[64];
	const char *png = NULL;
	int c, runs = 0, rc;

	while ((c = getopt_long(argc, argv, "o:h", longs, NULL)) != -1) {
		switch (c) {
		case 'o':
			png = optarg;
			break;
		case 'h':
			printf("usage: fh report DIR... -o FILE.png\n"
			       "  plots the --hist-out files of one or more fhd runs, runs overlaid\n");
			return 0;
		default:
			return 2;
		}
	}
	if (png == NULL || optind >= argc || argc - optind > REPORT_RUNS_MAX) {
		fprintf(stderr, "usage: fh report DIR... -o FILE.png (1..%d run directories)\n", REPORT_RUNS_MAX);
		return 2;
	}
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	for (int i = optind; i < argc; i++, runs++) {
		report_runs[runs] = argv[i];
		if (report_run_read(runs, argv[i], tmpdir) <= 0) {
			snprintf(command, sizeof(command), "rm -rf '%s'", tmpdir);
			if (system(command) != 0)
				fprintf(stderr, "fh report: could not remove %s\n", tmpdir);
			return 1;
		}
	}
	qsort(report_files, (size_t)report_files_count, sizeof(report_files[0]), report_series_compare);
	printf("%-36s %-24s %10s %9s %9s %9s %9s %9s   (us)\n", "feed.latency", "run", "count", "p50", "p90",
	       "p99", "p99.9", "max");
	for (int i = 0; i < report_files_count; i++) {
		const struct report_file *f = &report_files[i];

		printf("%-36s %-24s %10lu %9.3f %9.3f %9.3f %9.3f %9.3f\n", f->series, report_runs[f->run],
		       f->count, f->p50, f->p90, f->p99, f->p999, f->max);
	}
	rc = report_plot(png, tmpdir);
	snprintf(command, sizeof(command), "rm -rf '%s'", tmpdir);
	if (system(command) != 0)
		fprintf(stderr, "fh report: could not remove %s\n", tmpdir);
	if (rc == 0)
		printf("plot: %s\n", png);
	return rc == 0 ? 0 : 1;
}
