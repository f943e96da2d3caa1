// SPDX-License-Identifier: GPL-2.0
/*
 * `perf bench sched pipe` beside the bench's own pipe null echo: if the two
 * disagree by more than 15%, either the harness or the board is off, and the
 * report says so.
 *
 * perf runs right after every run of the bench's pipe null echo, so that
 * both see the same board (drift on a shared host would otherwise show up
 * as disagreement), and in the same placement: its two tasks (perf itself
 * and the child it forks) both on the client's CPU, or one on each CPU.
 * `taskset -c 0,1` alone would let the scheduler put both on one CPU, so
 * the child is moved to the server's CPU as soon as it exists.
 */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PERF_MAX_SAMPLES	64
/*
 * About this long per sample. perf's time includes forking its child and
 * reaping it, and across CPUs the child's first loops before it is moved:
 * a second makes both small.
 */
#define PERF_SAMPLE_NS		1000000000.0

static struct {
	double us[PERF_MAX_SAMPLES];
	int n;
	int loops;
} samples[2];	/* [same_cpu] */

/* perf's child, the second worker, once it has forked it; 0 if it never does. */
static pid_t perf_child(pid_t perf)
{
	uint64_t end = fipc_now_ns() + 10000000000ull;
	const struct timespec tick = { .tv_nsec = 1000000 };
	char path[64];
	long child;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", perf, perf);
	while (fipc_now_ns() < end) {
		f = fopen(path, "r");
		if (!f)
			return 0;
		n = fscanf(f, "%ld", &child);
		fclose(f);
		if (n == 1)
			return child;
		nanosleep(&tick, NULL);
	}
	return 0;
}

/* One `perf bench sched pipe -l @loops` in @p's placement: usecs per round trip, or -1. */
static double perf_pipe(const struct bench_params *p, int loops)
{
	char arg[16], line[256];
	double us = -1, v;
	int out[2], status;
	cpu_set_t cpus;
	pid_t perf, child;
	FILE *f;

	snprintf(arg, sizeof(arg), "%d", loops);
	if (pipe(out))
		return -1;
	perf = fork();
	if (perf < 0)
		return -1;
	if (!perf) {
		dup2(out[1], 1);
		dup2(out[1], 2);
		close(out[0]);
		close(out[1]);
		if (!pin_cpu(p->client_cpu))
			execlp("perf", "perf", "bench", "sched", "pipe", "-l", arg, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	if (!p->same_cpu) {
		child = perf_child(perf);
		CPU_ZERO(&cpus);
		CPU_SET(p->server_cpu, &cpus);
		if (!child || sched_setaffinity(child, sizeof(cpus), &cpus))
			loops = 0;	/* not in the placement asked for: no figure */
	}
	f = fdopen(out[0], "r");
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "usecs/op") && sscanf(line, "%lf", &v) == 1)
			us = v;
	if (f)
		fclose(f);
	else
		close(out[0]);
	if (waitpid(perf, &status, 0) != perf || !WIFEXITED(status) || WEXITSTATUS(status) ||
	    !loops)
		return -1;
	return us;
}

void perf_sample(const struct bench_params *p)
{
	typeof(samples[0]) *s = &samples[p->same_cpu];
	double us;

	if (s->n == PERF_MAX_SAMPLES)
		return;
	if (!s->loops)
		s->loops = 1000;
	snprintf(bench_current, sizeof(bench_current), "perf bench sched pipe");
	alarm(120);
	us = perf_pipe(p, s->loops);
	alarm(0);
	if (us <= 0)
		return;
	s->us[s->n++] = us;
	s->loops = PERF_SAMPLE_NS / (us * 1e3);
	if (s->loops < 500)
		s->loops = 500;
}

int perf_compare(const char *outdir, double pipe_same_ns, double pipe_cross_ns)
{
	const struct {
		const char *placement, *tasks;
		bool same_cpu;
		double ours_ns;
	} cases[] = {
		{ "same-cpu", "both on CPU 0", true, pipe_same_ns },
		{ "cross-cpu", "one on CPU 0, one on CPU 1", false, pipe_cross_ns },
	};
	char path[4096], line[600];
	struct quartiles q;
	double diff;
	FILE *f;
	int i, n;

	snprintf(path, sizeof(path), "%s/perf.txt", outdir);
	f = fopen(path, "w");
	if (!f)
		return bench_fail(path, errno);
	printf("\nperf bench sched pipe against the bench's pipe null echo:\n");
	for (i = 0; i < 2; i++) {
		if (cases[i].ours_ns <= 0)
			continue;
		/* Like the mechanisms' runs, the first sample is dropped. */
		n = samples[cases[i].same_cpu].n - 1;
		if (n < 1) {
			snprintf(line, sizeof(line),
				 "%s: perf bench sched pipe did not run (is linux-perf installed?)\n",
				 cases[i].placement);
		} else {
			q = quartiles(samples[cases[i].same_cpu].us + 1, n);
			diff = (cases[i].ours_ns / 1e3 - q.median) / q.median;
			snprintf(line, sizeof(line),
				 "%s: perf bench sched pipe (tasks %s; median of %d runs, each right after the bench's, IQR %.2f-%.2f) %.2f usecs/op; fastipc-bench pipe echo 0 B %.2f usecs/op (%+.0f%%)%s\n",
				 cases[i].placement, cases[i].tasks, n, q.q1, q.q3, q.median,
				 cases[i].ours_ns / 1e3, 100 * diff,
				 fabs(diff) > 0.15 ? "\nWARNING: they differ by more than 15%: the board was noisy or the harness adds cost" : "");
		}
		fputs(line, f);
		fputs(line, stdout);
	}
	return fclose(f) ? bench_fail(path, errno) : 0;
}
