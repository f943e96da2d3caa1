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
 *    so a round trip is twice it. Against posix-mq, across CPUs only.
 *  - `sigwaittest -f`: two processes, kill(SIGUSR2) to sigwait() returning,
 *    one way; twice that against shm-signal (kill, sigwaitinfo).
 * The one-way figures leave out what the receiver does between its stamp
 * and its answer (its statistics and a nanosleep(0)): a few hundred
 * instructions.
 *
 * pmqtest has threads only, and the bench's ends are processes: on one CPU
 * every hop of the bench switches address spaces, which the threads never
 * do, and under TCG that switch (a flush of QEMU's soft TLB) is most of the
 * hop: measured on the wall board, the threads' same-CPU round trips were a
 * third of the bench's (ratio 3.07). Across CPUs each end keeps its CPU and
 * its address space, as threads do, and the figures compare: so pmqtest is
 * compared across CPUs only. rt-tests' ptsematest (threads and a pthread
 * mutex) is left out: sigwaittest -f is the shared-memory peers' match,
 * processes as in the bench.
 * The rt-tests run at their default priority, under the bench's policy
 * (SCHED_OTHER, or SCHED_BATCH with --sched batch), with -i 0: they sleep between hops only outside the timed window, and
 * a longer sleep would measure a cold wake-up the bench never sees.
 *
 * A tool runs right after a run of the bench's point, so that both see the
 * same board (drift on a shared host would otherwise show up as
 * disagreement), and in the same placement: its two workers both on the
 * client's CPU, or one on each. The tools' own affinity options put both
 * workers of a pair on one CPU, so the tool starts on the client's CPU and
 * its second worker is moved to the server's CPU as soon as it exists.
 * sigwaittest -f starts its sender 10 ms after its receiver, which under
 * TCG may not have blocked the signal by then (it dies of it, and the
 * sender waits for ever): its sender is held stopped until the receiver
 * blocks SIGUSR2 or waits for it.
 */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
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
 * a tenth of a second keeps both small.
 */
#define CROSS_SAMPLE_NS		100000000.0
#define CROSS_JSON		"/tmp/fastipc-bench-crosscheck.json"
/* A run that takes longer is killed (a worker lost its partner), its sample lost. */
#define CROSS_TIMEOUT_MS	20000

struct tool {
	const char *name;
	const char *mech;		/* the bench's mechanism it stands beside */
	const char *args;		/* after the tool's name, before -l LOOPS */
	bool one_way;			/* its figure is one hop of a round trip */
	bool forks;			/* its workers are child processes, not threads */
	int workers;			/* children or threads it starts */
	int ready_sig;			/* the last worker waits until the first blocks it */
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
	  .workers = 2, .ready_sig = SIGUSR2 },
};
#define NTOOLS	(int)(sizeof(tools) / sizeof(tools[0]))

static const struct timespec tick = { .tv_nsec = 1000000 };

/*
 * The last of @t's workers in @pid once all exist: its newest child or
 * thread; 0 if never. *@first: its first child.
 */
static pid_t last_worker(const struct tool *t, pid_t pid, pid_t *first)
{
	uint64_t end = fipc_now_ns() + 10000000000ull;
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
			for (n = 0; fscanf(f, "%ld", &id) == 1; n++) {
				if (!n)
					*first = id;
				last = id;
			}
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

/*
 * Whether @pid is ready for @sig: blocks it, or waits for it in sigwait()
 * (which unblocks it for the wait).
 */
static bool sig_ready(pid_t pid, int sig)
{
	unsigned long long mask = 0;
	char path[64], line[128] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f) && sscanf(line, "SigBlk: %llx", &mask) != 1)
		;
	fclose(f);
	if (mask & (1ull << (sig - 1)))
		return true;
	snprintf(path, sizeof(path), "/proc/%d/wchan", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	fclose(f);
	return strstr(line, "sigtimedwait");
}

/* Waits until @pid is ready for @sig: false if it never is. */
static bool wait_ready(pid_t pid, int sig)
{
	uint64_t end = fipc_now_ns() + 10000000000ull;

	while (fipc_now_ns() < end) {
		if (sig_ready(pid, sig))
			return true;
		nanosleep(&tick, NULL);
	}
	return false;
}

/*
 * Puts @t's last worker in @p's placement and, if it must wait for the
 * first, holds it stopped until the first is ready: false if that failed.
 */
static bool place_workers(const struct tool *t, const struct bench_params *p, pid_t pid)
{
	pid_t first = 0, last;
	cpu_set_t cpus;
	bool ok;

	if (p->same_cpu && !t->ready_sig)
		return true;
	last = last_worker(t, pid, &first);
	if (!last)
		return false;
	if (t->ready_sig)
		kill(last, SIGSTOP);
	CPU_ZERO(&cpus);
	CPU_SET(p->server_cpu, &cpus);
	ok = p->same_cpu || !sched_setaffinity(last, sizeof(cpus), &cpus);
	if (t->ready_sig) {
		ok = wait_ready(first, t->ready_sig) && ok;
		kill(last, SIGCONT);
	}
	return ok;
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

/* @pid's output up to its end: the last figure in it, in µs; -1 if it ran out of time. */
static double tool_output(const struct tool *t, pid_t pid, int fd)
{
	uint64_t end = fipc_now_ns() + CROSS_TIMEOUT_MS * 1000000ull;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[4096], *line, *nl;
	size_t len = 0;
	double us = 0, v;
	ssize_t n;

	for (;;) {
		int left = (int)(((int64_t)(end - fipc_now_ns())) / 1000000);

		if (left <= 0 || poll(&pfd, 1, left) <= 0) {
			/* The tool and the workers it forked. */
			kill(-pid, SIGKILL);
			return -1;
		}
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			return us;
		len += n;
		buf[len] = 0;
		for (line = buf; (nl = strchr(line, '\n')); line = nl + 1) {
			*nl = 0;
			if ((v = figure_us(t, line)) > 0)
				us = v;
		}
		len -= line - buf;
		memmove(buf, line, len);
		if (len == sizeof(buf) - 1)
			len = 0;	/* a line longer than any figure's */
	}
}

/* One run of @t with @loops in @p's placement: ns per round trip, or -1. */
static double tool_run(const struct tool *t, const struct bench_params *p, int loops)
{
	char cmd[300], line[256];
	double us, v;
	int out[2], status;
	pid_t pid;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "exec %s -l %d", t->args, loops);
	unlink(CROSS_JSON);
	if (pipe(out))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		setpgid(0, 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		close(out[0]);
		close(out[1]);
		/* exec: the shell becomes the tool, whose children the move looks for. */
		if (!pin_cpu(p->client_cpu))
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	close(out[1]);
	if (!place_workers(t, p, pid))
		loops = 0;	/* not in the placement asked for: no figure */
	us = tool_output(t, pid, out[0]);
	close(out[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) ||
	    !loops || us < 0)
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
	if (t->s[p->same_cpu].n == CROSS_MAX_SAMPLES || (p->same_cpu && !t->forks))
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
			if (same && !tools[i].forks) {
				printf("  %s, same-cpu: not compared (threads: no address-space switch)\n",
				       tools[i].name);
				continue;
			}
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
