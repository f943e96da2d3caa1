// SPDX-License-Identifier: GPL-2.0
/*
 * Cross-checks: tools others wrote, run beside the bench's own null echo of
 * the mechanism they exercise. If a tool and the bench disagree by more
 * than 15%, either the harness or the board is off, and the report says so.
 * Writes crosscheck.csv:
 *
 *   tool,tool_command,our_mechanism,placement,tool_ns,our_ns,ratio
 *
 * tool_ns is a round trip as the tool measures it (median over the samples,
 * the first dropped), our_ns the bench's median null echo round trip of
 * our_mechanism in that placement (results.csv's rtt_ns_median), ratio
 * our_ns / tool_ns. What each tool times:
 *
 *  - `perf bench sched pipe`: two processes bouncing a 4-byte token through
 *    two pipes; usecs/op is the whole run over its loops, one round trip
 *    per loop. Against the bench's pipe.
 *  - rt-tests' `pmqtest`: two threads of one process, a sender stamping
 *    gettimeofday() before mq_send() and a receiver stamping it once
 *    mq_receive() returns; the figure is that one-way hop (µs, averaged).
 *    The reply hop is the same (the receiver sends a sync message back),
 *    so a round trip is twice it. Against posix-mq, whose ends are
 *    processes: the same-CPU figure leaves out the address-space switch.
 *  - `sigwaittest -f`: two processes, kill(SIGUSR2) to sigwait() returning,
 *    one way; twice that against shm-signal (kill, sigwaitinfo).
 *  - `ptsematest`: two threads, pthread_mutex_unlock() to the waiter's
 *    pthread_mutex_lock() returning (FUTEX_WAKE to FUTEX_WAIT returning),
 *    one way; twice that against shm-futex, again threads against
 *    processes.
 * The rt-tests run at their default priority (SCHED_OTHER, as the bench)
 * with -i 0: they sleep between hops only outside the timed window, and
 * a longer sleep would measure a cold wake-up the bench never sees.
 *
 * A tool runs right after a run of the bench's point, so that both see the
 * same board (drift on a shared host would otherwise show up as
 * disagreement), and in the same placement: its two workers both on the
 * client's CPU, or one on each. The tools' own affinity options put both
 * workers of a pair on one CPU, so the tool starts on the client's CPU and
 * its second worker is moved to the server's CPU as soon as it exists.
 */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Samples per tool and placement: enough for a median, few enough to stay quick. */
#define CROSS_MAX_SAMPLES	8
/*
 * About this long per sample. perf's time includes forking its child and
 * reaping it, and across CPUs every tool's first hops come before the move:
 * half a second makes both small.
 */
#define CROSS_SAMPLE_NS		500000000.0
#define CROSS_JSON		"/tmp/fastipc-bench-crosscheck.json"

struct tool {
	const char *name;
	const char *mech;		/* the bench's mechanism it stands beside */
	const char *args;		/* after the tool's name, before -l LOOPS */
	bool one_way;			/* its figure is one hop of a round trip */
	bool forks;			/* its workers are child processes, not threads */
	int workers;			/* children or threads it starts */
	struct {
		double ns[CROSS_MAX_SAMPLES];	/* round trips */
		int n;
		int loops;
	} s[2];				/* [same_cpu] */
};

static struct tool tools[] = {
	{ .name = "perf-bench-sched-pipe", .mech = "pipe", .args = "perf bench sched pipe",
	  .forks = true, .workers = 1 },
	{ .name = "pmqtest", .mech = "posix-mq", .args = "pmqtest -q -i 0 --json=" CROSS_JSON,
	  .one_way = true, .workers = 2 },
	{ .name = "sigwaittest", .mech = "shm-signal",
	  .args = "sigwaittest -q -f -i 0 --json=" CROSS_JSON, .one_way = true, .forks = true,
	  .workers = 2 },
	{ .name = "ptsematest", .mech = "shm-futex", .args = "ptsematest -q -i 0 --json=" CROSS_JSON,
	  .one_way = true, .workers = 2 },
};
#define NTOOLS	(int)(sizeof(tools) / sizeof(tools[0]))

/* The last of @t's workers in @pid once all exist: its newest child or thread; 0 if never. */
static pid_t last_worker(const struct tool *t, pid_t pid)
{
	uint64_t end = fipc_now_ns() + 10000000000ull;
	const struct timespec tick = { .tv_nsec = 1000000 };
	char path[64];
	long id, last = 0;
	int n = 0;
	FILE *f;

	if (t->forks)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	else
		snprintf(path, sizeof(path), "/proc/%d/task", pid);
	while (fipc_now_ns() < end) {
		if (t->forks) {
			f = fopen(path, "r");
			if (!f)
				return 0;
			for (n = 0; fscanf(f, "%ld", &id) == 1; n++)
				last = id;
			fclose(f);
		} else {
			DIR *d = opendir(path);
			struct dirent *e;

			if (!d)
				return 0;
			/* The main thread counts too; the workers' tids come after it. */
			for (n = -1; (e = readdir(d));)
				if (e->d_name[0] != '.' && ++n > 0 && atol(e->d_name) > last)
					last = atol(e->d_name);
			closedir(d);
		}
		if (n >= t->workers)
			return last;
		nanosleep(&tick, NULL);
	}
	return 0;
}

/* The figure in a line of @t's output or JSON file, in µs; 0 if the line has none. */
static double figure_us(const struct tool *t, const char *line)
{
	const char *p = strstr(line, t->one_way ? "\"avg\":" : "usecs/op");
	double v;

	if (!p)
		return 0;
	if (t->one_way)
		return sscanf(p + 6, "%lf", &v) == 1 ? v : 0;
	return sscanf(line, "%lf", &v) == 1 ? v : 0;
}

/* One run of @t with @loops in @p's placement: ns per round trip, or -1. */
static double tool_run(const struct tool *t, const struct bench_params *p, int loops)
{
	char cmd[300], line[256];
	double us = 0, v;
	int out[2], status;
	cpu_set_t cpus;
	pid_t pid, worker;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "exec %s -l %d", t->args, loops);
	unlink(CROSS_JSON);
	if (pipe(out))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		dup2(out[1], 1);
		dup2(out[1], 2);
		close(out[0]);
		close(out[1]);
		/* exec: the shell becomes the tool, whose children the move looks for. */
		if (!pin_cpu(p->client_cpu))
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	if (!p->same_cpu) {
		worker = last_worker(t, pid);
		CPU_ZERO(&cpus);
		CPU_SET(p->server_cpu, &cpus);
		if (!worker || sched_setaffinity(worker, sizeof(cpus), &cpus))
			loops = 0;	/* not in the placement asked for: no figure */
	}
	f = fdopen(out[0], "r");
	while (f && fgets(line, sizeof(line), f))
		if ((v = figure_us(t, line)) > 0)
			us = v;
	if (f)
		fclose(f);
	else
		close(out[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) ||
	    !loops)
		return -1;
	f = t->one_way ? fopen(CROSS_JSON, "r") : NULL;
	while (f && fgets(line, sizeof(line), f))
		if ((v = figure_us(t, line)) > 0)
			us = v;
	if (f)
		fclose(f);
	return us > 0 ? us * 1e3 * (t->one_way ? 2 : 1) : -1;
}

/* After a run of @m's point in @p's placement: a sample of its tool, if it has one. */
void crosscheck_sample(const struct bench_params *p, const struct mech *m)
{
	struct tool *t;
	double ns;
	int i;

	for (i = 0; i < NTOOLS && strcmp(tools[i].mech, m->name); i++)
		;
	if (i == NTOOLS)
		return;
	t = &tools[i];
	if (t->s[p->same_cpu].n == CROSS_MAX_SAMPLES)
		return;
	if (!t->s[p->same_cpu].loops)
		t->s[p->same_cpu].loops = 1000;
	snprintf(bench_current, sizeof(bench_current), "%s", t->args);
	alarm(120);
	ns = tool_run(t, p, t->s[p->same_cpu].loops);
	alarm(0);
	if (ns <= 0)
		return;
	t->s[p->same_cpu].ns[t->s[p->same_cpu].n++] = ns;
	t->s[p->same_cpu].loops = CROSS_SAMPLE_NS / ns;
	if (t->s[p->same_cpu].loops < 500)
		t->s[p->same_cpu].loops = 500;
}

bool crosscheck_has_tool(const char *mech)
{
	int i;

	for (i = 0; i < NTOOLS; i++)
		if (!strcmp(tools[i].mech, mech))
			return true;
	return false;
}

int crosscheck_write(const char *outdir, crosscheck_ours_fn ours, const void *ctx)
{
	static const char *const placements[2] = { "cross-cpu", "same-cpu" };
	char path[4096];
	struct quartiles q;
	double our, ratio;
	int i, same, n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/crosscheck.csv", outdir);
	f = fopen(path, "w");
	if (!f)
		return bench_fail(path, errno);
	fprintf(f, "tool,tool_command,our_mechanism,placement,tool_ns,our_ns,ratio\n");
	printf("\nCross-checks: round trips of tools others wrote against the bench's null echo:\n");
	for (i = 0; i < NTOOLS; i++)
		for (same = 1; same >= 0; same--) {
			our = ours(ctx, tools[i].mech, placements[same]);
			if (our <= 0)
				continue;
			/* Like the mechanisms' runs, the first sample is dropped. */
			n = tools[i].s[same].n - 1;
			if (n < 1) {
				printf("  %s, %s: did not run (is it installed?)\n", tools[i].name,
				       placements[same]);
				continue;
			}
			q = quartiles(tools[i].s[same].ns + 1, n);
			ratio = our / q.median;
			fprintf(f, "%s,\"%s -l N%s\",%s,%s,%.1f,%.1f,%.3f\n", tools[i].name,
				tools[i].args, tools[i].one_way ? " (x2: one way)" : "",
				tools[i].mech, placements[same], q.median, our, ratio);
			printf("  %-22s %-10s %-9s tool %9.0f ns (IQR %.0f-%.0f, %d runs), ours %9.0f ns, ratio %.2f%s\n",
			       tools[i].name, tools[i].mech, placements[same], q.median, q.q1, q.q3, n,
			       our, ratio, fabs(ratio - 1) > 0.15 ? "  OFF BY MORE THAN 15%" : "");
		}
	return fclose(f) ? bench_fail(path, errno) : 0;
}
