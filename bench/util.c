// SPDX-License-Identifier: GPL-2.0
/*
 * What every mechanism and both harnesses share: server processes, pinning,
 * CPU time, the watchdog, pipe and socket buffer sizes, full reads and
 * writes, and the byte patterns of streams and async requests (the clock
 * and the echo and oneway pattern are common/fastipc_common.h's).
 */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

char bench_current[200];

static uint64_t cpu_clock_ns(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts))
		fail_run("cannot read a CPU-time clock: %s", strerror(errno));
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * The CPU time of a child process, its threads included, from perf's task
 * clocks: another process's CPU-time clock leaves out what its threads
 * running on other CPUs spent since their CPU's last tick (up to 4 ms, a
 * whole run), while reading a task clock brings a running thread's count
 * up to date. A task clock also costs its task work on every context
 * switch, which would be part of every round trip measured, so the
 * harnesses watch a server only in runs that measure CPU time and nothing
 * else (cpu_watch() .. cpu_unwatch()).
 */
static struct {
	pid_t pid;	/* the process whose thread it counts, 0 if free */
	int fd;
} task_clocks[256];
#define NCLOCKS	(sizeof(task_clocks) / sizeof(task_clocks[0]))

/* A task clock on thread @tid of process @pid, inherited by the threads it makes. */
static void task_clock_attach(pid_t pid, pid_t tid)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(a),
		.config = PERF_COUNT_SW_TASK_CLOCK,
		.inherit = 1,
	};
	unsigned int i;
	int fd;

	for (i = 0; i < NCLOCKS && task_clocks[i].pid; i++)
		;
	if (i == NCLOCKS)
		fail_run("more than %zu task clocks", NCLOCKS);
	fd = syscall(SYS_perf_event_open, &a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		fail_run("no task clock for thread %d of %d: %s", (int)tid, (int)pid,
			 strerror(errno));
	task_clocks[i].pid = pid;
	task_clocks[i].fd = fd;
}

/* Every thread @pid has now, and those they make, until cpu_unwatch(). */
void cpu_watch(pid_t pid)
{
	struct dirent *d;
	char path[64];
	DIR *dir;

	if (pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		fail_run("cannot list %s: %s", path, strerror(errno));
	while ((d = readdir(dir)))
		if (d->d_name[0] != '.')
			task_clock_attach(pid, atoi(d->d_name));
	closedir(dir);
}

void cpu_unwatch(pid_t pid)
{
	unsigned int i;

	/* A free slot's pid is 0 too. */
	if (pid <= 0)
		return;
	for (i = 0; i < NCLOCKS; i++)
		if (task_clocks[i].pid == pid) {
			close(task_clocks[i].fd);
			task_clocks[i].pid = 0;
		}
}

/* A child whose CPU time cannot be read has gone, and its figures with it. */
uint64_t child_cpu_ns(pid_t pid)
{
	uint64_t v, sum = 0;
	bool watched = false;
	unsigned int i;
	clockid_t id;
	int err;

	for (i = 0; i < NCLOCKS; i++)
		if (task_clocks[i].pid == pid) {
			if (read(task_clocks[i].fd, &v, sizeof(v)) != sizeof(v))
				fail_run("cannot read process %d's task clock: %s", (int)pid,
					 strerror(errno));
			sum += v;
			watched = true;
		}
	if (watched)
		return sum;
	err = clock_getcpuclockid(pid, &id);
	if (err)
		fail_run("no CPU-time clock for process %d: %s", (int)pid, strerror(err));
	return cpu_clock_ns(id);
}

void cpu_mark(struct cpu_mark *c, pid_t server)
{
	c->client_ns = cpu_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	c->server_ns = server > 0 ? child_cpu_ns(server) : 0;
}

static void watchdog(int sig)
{
	char msg[300];
	int n;

	(void)sig;
	n = snprintf(msg, sizeof(msg), "\nfastipc-bench: FAILED: no progress for too long in %s; hung?\n",
		     bench_current);
	if (write(2, msg, n) < 0)
		_exit(3);
	_exit(3);
}

/* From now on, an alarm() that runs out ends the bench, naming bench_current. */
void bench_watchdog(void)
{
	signal(SIGALRM, watchdog);
}

void fail_run(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\nfastipc-bench: FAILED: %s: ", bench_current);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

int pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/*
 * Forks a server pinned to @cpu: returns 0 in the child, 1 in the parent, or
 * -errno. The child dies with the bench, so a failed run leaves nothing behind.
 */
int srv_fork(struct srv *s, int cpu)
{
	pid_t parent = getpid();
	int fds[2];

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	s->pid = fork();
	if (s->pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -errno;
	}
	if (s->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(99);
		close(fds[0]);
		s->ready = fds[1];
		if (pin_cpu(cpu)) {
			srv_ready(s, errno);
			_exit(1);
		}
		return 0;
	}
	close(fds[1]);
	s->ready = fds[0];
	return 1;
}

/* In the child: tell the parent the server is set up (0) or failed (errno). */
void srv_ready(struct srv *s, int err)
{
	int32_t v = err;

	if (write(s->ready, &v, sizeof(v)) != sizeof(v))
		_exit(1);
	close(s->ready);
}

/* In the parent: 0 once the server is set up, else -errno. */
int srv_wait_ready(struct srv *s)
{
	int32_t v;
	int ret = read_full(s->ready, &v, sizeof(v));

	close(s->ready);
	s->ready = -1;
	if (ret)
		return -EPIPE;
	return v ? -abs(v) : 0;
}

/*
 * Reaps the server, killing it first unless it acknowledged BENCH_QUIT: its
 * exit status, 0, its code, or 128 + signal.
 */
int srv_stop(struct srv *s, bool quit)
{
	int status;

	if (s->pid <= 0)
		return 0;
	if (!quit)
		kill(s->pid, SIGKILL);
	if (waitpid(s->pid, &status, 0) != s->pid)
		return -errno;
	cpu_unwatch(s->pid);
	s->pid = 0;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* As large as allowed, up to @size: without CAP_SYS_RESOURCE, fs.pipe-max-size. */
void pipe_size(int fd, int size)
{
	FILE *f;
	int max;

	if (fcntl(fd, F_SETPIPE_SZ, size) >= 0)
		return;
	f = fopen("/proc/sys/fs/pipe-max-size", "r");
	if (f && fscanf(f, "%d", &max) == 1)
		fcntl(fd, F_SETPIPE_SZ, max < size ? max : size);
	if (f)
		fclose(f);
}

/* Socket buffers of @bytes each way, past the sysctl limits, so a message goes in one write. */
int sock_bufs(int fd, int bytes)
{
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof(bytes)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)))
		return -errno;
	return 0;
}

void *bench_map(size_t len, bool shared)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -EPIPE;
		p += n;
		len -= n;
	}
	return 0;
}

int write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= n;
	}
	return 0;
}

int bench_fail(const char *what, int err)
{
	fprintf(stderr, "fastipc-bench: FAILED: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return err < 0 ? err : -err;
}

void stream_rx_begin(struct stream_rx *rx, const struct bench_stream_req *sr)
{
	if (!rx->expect || rx->chunk != sr->chunk) {
		free(rx->expect);
		rx->expect = malloc(sr->chunk);
		if (!rx->expect)
			abort();
	}
	rx->chunk = sr->chunk;
	rx->total = sr->total;
	rx->seed = sr->seed;
	rx->expect_idx = UINT64_MAX;
	rx->off = 0;
	rx->bad = !sr->chunk || sr->total % sr->chunk;
}

/*
 * Checks every byte of the next @n received bytes of the stream, wherever
 * chunk boundaries fall. A whole chunk is checked in place; a piece of one
 * against the chunk rebuilt in rx->expect.
 */
void stream_rx_check(struct stream_rx *rx, const uint8_t *p, size_t n)
{
	while (n && !rx->bad) {
		uint64_t idx = rx->off / rx->chunk;
		uint32_t o = rx->off % rx->chunk;
		uint32_t seg = rx->chunk - o < n ? rx->chunk - o : n;

		if (rx->off + seg > rx->total) {
			rx->bad = true;
			break;
		}
		if (seg == rx->chunk) {
			rx->bad = !fipc_check(p, seg, rx->seed + idx);
		} else {
			if (rx->expect_idx != idx) {
				fipc_fill(rx->expect, rx->chunk, rx->seed + idx);
				rx->expect_idx = idx;
			}
			rx->bad = memcmp(p, rx->expect + o, seg) != 0;
		}
		p += seg;
		n -= seg;
		rx->off += seg;
	}
}

bool stream_rx_ok(const struct stream_rx *rx)
{
	return !rx->bad && rx->off == rx->total;
}
