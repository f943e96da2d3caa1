/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by fastipc-stress and fastipc-fuzz: raw ioctl helpers, time, a
 * per-thread PRNG, errno histograms and the debugfs live-object check.
 */
#ifndef FASTIPC_STRESS_COMMON_H
#define FASTIPC_STRESS_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <linux/fastipc.h>

#define NERRNO		134
#define STATS_PATH	"/sys/kernel/debug/fastipc/stats"

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static inline void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* xorshift64*: cheap, and good enough to pick test cases. */
static inline uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static inline uint64_t rnd_below(uint64_t *s, uint64_t n)
{
	return n ? rnd(s) % n : 0;
}

static inline bool chance(uint64_t *s, unsigned int percent)
{
	return rnd_below(s, 100) < percent;
}

static inline int xioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static inline void count_errno(uint64_t *hist, int err)
{
	if (err < 0)
		err = -err;
	if (err >= NERRNO)
		err = NERRNO - 1;
	__atomic_fetch_add(&hist[err], 1, __ATOMIC_RELAXED);
}

static inline void add(uint64_t *ctr, uint64_t n)
{
	__atomic_fetch_add(ctr, n, __ATOMIC_RELAXED);
}

/* "EPIPE:12 ETIMEDOUT:3" for the non-zero entries of @hist (ok is errno 0). */
static inline void print_hist(FILE *f, const char *what, const uint64_t *hist)
{
	int e;

	fprintf(f, "  %-10s", what);
	for (e = 0; e < NERRNO; e++) {
		if (!hist[e])
			continue;
		if (!e)
			fprintf(f, " ok:%" PRIu64, hist[e]);
		else
			fprintf(f, " %s:%" PRIu64, strerrorname_np(e) ?: "?", hist[e]);
	}
	fprintf(f, "\n");
}

struct live_counts {
	long ports, endpoints, buffers;
};

/* 0 with @lc filled, or -errno when debugfs has no fastipc stats. */
static inline int read_live(struct live_counts *lc)
{
	char line[128];
	FILE *f = fopen(STATS_PATH, "re");

	if (!f)
		return -errno;
	memset(lc, 0, sizeof(*lc));
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "live_ports: %ld", &lc->ports);
		sscanf(line, "live_endpoints: %ld", &lc->endpoints);
		sscanf(line, "live_buffers: %ld", &lc->buffers);
	}
	fclose(f);
	return 0;
}

/*
 * Once every fastipc fd is closed the live counts must drop to zero; the last
 * releases may still be running in exiting tasks, so give them @ms.
 * Returns 1 if they did, 0 if not (printed), -1 if debugfs is missing.
 */
static inline int check_live_zero(const char *prog, unsigned int ms)
{
	struct live_counts lc;
	uint64_t end = now_ns() + (uint64_t)ms * 1000000;

	for (;;) {
		if (read_live(&lc)) {
			printf("%s: no %s, live object check skipped\n", prog, STATS_PATH);
			return -1;
		}
		if (!lc.ports && !lc.endpoints && !lc.buffers)
			return 1;
		if (now_ns() > end)
			break;
		sleep_ms(50);
	}
	printf("%s: FAIL: objects left after every fd closed: live_ports %ld live_endpoints %ld live_buffers %ld\n",
	       prog, lc.ports, lc.endpoints, lc.buffers);
	return 0;
}

/* Prints where a stuck task sleeps, to diagnose a hang. */
static inline void dump_task(const char *prog, pid_t pid, pid_t tid)
{
	char path[96], buf[4096];
	ssize_t n;
	int fd;
	const char *files[] = { "wchan", "syscall", "stack" };
	unsigned int i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "/proc/%d/task/%d/%s", pid, tid, files[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = 0;
		printf("%s:   task %d/%d %s: %s%s", prog, pid, tid, files[i], buf,
		       buf[n - 1] == '\n' ? "" : "\n");
	}
}

/*
 * io_uring tears a closed ring down in a kworker of its "iou_exit" workqueue,
 * which /proc shows as "kworker/...+iou_exit" while it runs that work. The
 * teardown waits for the ring's commands with a sleep between tries; a worker
 * that burns most of a CPU over @ms is spinning on a command that never
 * completes. Returns the largest share (0-100) of @ms that any such worker
 * ran, with its pid in *@pid.
 */
static inline unsigned int iou_exit_busy(unsigned int ms, pid_t *pid)
{
	enum { MAXT = 64 };
	struct { pid_t pid; uint64_t ticks; } t0[MAXT];
	unsigned int n0 = 0, pass, i, best = 0;
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t start = 0, elapsed = 0;

	*pid = 0;
	for (pass = 0; pass < 2; pass++) {
		char path[64], buf[512], *p;
		DIR *d = opendir("/proc");
		struct dirent *de;

		if (!d)
			return 0;
		if (pass)
			elapsed = now_ns() - start;
		else
			start = now_ns();
		while ((de = readdir(d))) {
			unsigned long long ut, st;
			pid_t id = atoi(de->d_name);
			ssize_t len;
			int fd;

			if (id <= 0)
				continue;
			snprintf(path, sizeof(path), "/proc/%d/stat", id);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			len = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (len <= 0)
				continue;
			buf[len] = 0;
			p = strrchr(buf, ')');
			if (!strstr(buf, "iou_exit") && !pass)
				continue;
			/* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
			if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
					 &ut, &st) != 2)
				continue;
			if (!pass) {
				if (n0 < MAXT)
					t0[n0].pid = id, t0[n0++].ticks = ut + st;
				continue;
			}
			for (i = 0; i < n0; i++) {
				unsigned int share;

				if (t0[i].pid != id || !elapsed)
					continue;
				share = (ut + st - t0[i].ticks) * 1000000000ull / hz * 100 / elapsed;
				if (share > best)
					best = share, *pid = id;
			}
		}
		closedir(d);
		if (!pass) {
			if (!n0)
				return 0;
			sleep_ms(ms);
		}
	}
	return best;
}

#endif /* FASTIPC_STRESS_COMMON_H */
