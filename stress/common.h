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

#include "fastipc_common.h"

#define NERRNO		134
#define STATS_PATH	"/sys/kernel/debug/fastipc/stats"


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
	uint64_t end = fipc_now_ns() + (uint64_t)ms * 1000000;

	for (;;) {
		if (read_live(&lc)) {
			printf("%s: no %s, live object check skipped\n", prog, STATS_PATH);
			return -1;
		}
		if (!lc.ports && !lc.endpoints && !lc.buffers)
			return 1;
		if (fipc_now_ns() > end)
			break;
		sleep_ms(50);
	}
	printf("%s: FAIL: objects left after every fd closed: live_ports %ld live_endpoints %ld live_buffers %ld\n",
	       prog, lc.ports, lc.endpoints, lc.buffers);
	return 0;
}

/* Up to @size - 1 bytes of the file at @path, NUL-terminated: their count, or -1. */
static inline ssize_t read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return n;
}

/* Prints where a stuck task sleeps, to diagnose a hang. */
static inline void dump_task(const char *prog, pid_t pid, pid_t tid)
{
	char path[96], buf[4096];
	ssize_t n;
	const char *files[] = { "wchan", "syscall", "stack" };
	unsigned int i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "/proc/%d/task/%d/%s", pid, tid, files[i]);
		n = read_text(path, buf, sizeof(buf));
		if (n <= 0)
			continue;
		printf("%s:   task %d/%d %s: %s%s", prog, pid, tid, files[i], buf,
		       buf[n - 1] == '\n' ? "" : "\n");
	}
}

/* Whether thread @tid of this process sleeps in an ioctl (x86-64 syscall 16). */
static inline bool in_ioctl(pid_t tid)
{
	char path[64], buf[32];

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	return read_text(path, buf, sizeof(buf)) > 3 && !strncmp(buf, "16 ", 3);
}

/*
 * The queued and held messages of the endpoint behind port @fd, from the
 * "queued:" and "held:" lines of its fdinfo. A message a receive took is
 * held until it is answered, also when its CQE went into a ring that was
 * closed unread. 0, or -1 when the lines are missing.
 */
static inline int ep_counts(int fd, unsigned int *queued, unsigned int *held)
{
	char path[64], buf[1024], *q, *h;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if (read_text(path, buf, sizeof(buf)) <= 0)
		return -1;
	q = strstr(buf, "\nqueued:");
	h = strstr(buf, "\nheld:");
	if (!q || !h || sscanf(q, "\nqueued: %u", queued) != 1 || sscanf(h, "\nheld: %u", held) != 1)
		return -1;
	return 0;
}

/*
 * Conservation at endpoint port @ep once the ring of some of its receives
 * is closed: a message handed to a receive whose CQE was not posted yet
 * goes back to the endpoint, but one whose CQE was posted belongs to the
 * ring's owner; if nobody reads that CQE the message stays held, like one
 * taken by a server thread that exited without answering. So of the @sent
 * one-way messages, each is received (by the caller before, counted in
 * @received, or here) or still held, by at most one each of the ring's
 * @recvs receives that the caller did not see complete. Nothing vanishes.
 */
struct conserve {
	unsigned int sent, received, recvs, held, queued;
	int err;		/* -EAGAIN once drained; else the receive's, or -ENODATA */
};

/*
 * Receives what is queued at @ep (whose pool is at @base), hands each
 * message to @got and answers it, then reads the endpoint's counts. True
 * when @c balances.
 */
static inline bool ep_conserved(int ep, const uint8_t *base, struct conserve *c,
				void (*got)(void *arg, const uint8_t *msg, uint32_t len), void *arg)
{
	unsigned int tries;

	for (tries = 0; tries < 100; tries++) {
		for (;;) {
			struct fastipc_serve s = { .flags = FASTIPC_SERVE_RECV | FASTIPC_SERVE_NONBLOCK };

			c->err = xioctl(ep, FASTIPC_IOC_SERVE, &s);
			if (c->err)
				break;
			c->received++;
			got(arg, base + s.offset, s.len);
			s.flags = FASTIPC_SERVE_REPLY;
			s.reply_token = s.token;
			xioctl(ep, FASTIPC_IOC_SERVE, &s);
		}
		if (c->err != -EAGAIN)
			return false;
		if (ep_counts(ep, &c->queued, &c->held)) {
			c->err = -ENODATA;	/* no fdinfo counts */
			return false;
		}
		/* A message a dying receive gives back may come in meanwhile. */
		if (!c->queued)
			break;
		sleep_ms(10);
	}
	return !c->queued && c->received + c->held == c->sent && c->held <= c->recvs;
}

/*
 * The CPU ticks (utime + stime) of kernel worker @pid, and whether it runs a
 * work item of the "iou_exit" workqueue right now: /proc shows a worker as
 * "kworker/u8:1+iou_exit" while it runs such an item and "-iou_exit" after,
 * until it runs another workqueue's item. -1 if @pid is no kworker.
 */
static inline int kworker_ticks(pid_t pid, uint64_t *ticks, bool *in_iou_exit)
{
	char path[64], buf[512], *p;
	unsigned long long ut, st;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_text(path, buf, sizeof(buf)) <= 0 || !strstr(buf, " (kworker/"))
		return -1;
	p = strrchr(buf, ')');
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return -1;
	*ticks = ut + st;
	*in_iou_exit = !!strstr(buf, "+iou_exit)");
	return 0;
}

/*
 * io_uring tears a closed ring down in a worker of its "iou_exit"
 * workqueue, which waits for the ring's commands with a sleep between
 * tries; one that burns most of a CPU over @ms spins on a command that is
 * never taken off the ring's cancelable list. The tick counts of every
 * kworker are taken first (the teardown may not have started yet), and
 * those still running an iou_exit item @ms later are measured. Returns the
 * largest share (0-100) of @ms that any of them ran, with its pid in *@pid.
 */
static inline unsigned int iou_exit_busy(unsigned int ms, pid_t *pid)
{
	enum { MAXT = 256 };
	struct { pid_t pid; uint64_t ticks; } t0[MAXT];
	unsigned int n0 = 0, i, best = 0;
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t start, elapsed, ticks;
	struct dirent *de;
	bool busy;
	DIR *d;

	*pid = 0;
	d = opendir("/proc");
	if (!d)
		return 0;
	start = fipc_now_ns();
	while ((de = readdir(d)) && n0 < MAXT) {
		pid_t id = atoi(de->d_name);

		if (id > 0 && !kworker_ticks(id, &ticks, &busy))
			t0[n0].pid = id, t0[n0++].ticks = ticks;
	}
	closedir(d);
	sleep_ms(ms);
	elapsed = fipc_now_ns() - start;
	for (i = 0; i < n0; i++) {
		unsigned int share;

		if (kworker_ticks(t0[i].pid, &ticks, &busy) || !busy)
			continue;
		share = (ticks - t0[i].ticks) * 1000000000ull / hz * 100 / elapsed;
		if (share > best)
			best = share, *pid = t0[i].pid;
	}
	return best;
}

/*
 * The closer's last step in a "ring closed under a sleeper" round: wakes
 * the thread asleep in a blocking CALL to endpoint port @ep (by answering
 * it) or in a blocking SERVE on @ep (by an 8-byte one-way message from
 * @msg with @opcode, sent through @ep's client port @cl).
 */
static inline void wake_sleeper(bool in_call, int ep, int cl, uint32_t opcode, const void *msg)
{
	if (in_call) {
		struct fastipc_serve sv = { .flags = FASTIPC_SERVE_RECV };

		if (!xioctl(ep, FASTIPC_IOC_SERVE, &sv)) {
			sv.flags = FASTIPC_SERVE_REPLY;
			sv.reply_token = sv.token;
			xioctl(ep, FASTIPC_IOC_SERVE, &sv);
		}
	} else {
		struct fastipc_send sd = { .opcode = opcode, .addr = (uintptr_t)msg, .len = 8 };

		xioctl(cl, FASTIPC_IOC_SEND, &sd);
	}
}

#endif /* FASTIPC_STRESS_COMMON_H */
