// SPDX-License-Identifier: GPL-2.0
/*
 * Scale: how fastipc's null calls per second, and the CPU each call costs,
 * move as clients and server threads are added. Null echo calls through the
 * raw ioctls, in two layouts:
 *
 *  - shared-endpoint: 1, 2, 4 or 8 client processes calling one endpoint
 *    that 1, 2 or 4 threads of one server process serve;
 *  - endpoint-per-client: N client processes, each calling an endpoint of
 *    its own, which a thread of its own in one server process serves.
 *
 * Nothing is pinned: the scheduler spreads the processes over the CPUs, as
 * it would for a real service. Every client and the timekeeper (this
 * process) meet at a barrier to start a run together; the clients call
 * until the timekeeper says stop, then meet it again. calls/s is all
 * clients' calls over that window; CPU per call is the CPU time of every
 * client process and of the server process, all its threads, over the same
 * window, per call, from task clocks (cpu_watch(): up to date for threads
 * that are running, which a process's CPU-time clock is not; they add a
 * little to every context switch, which the calls per second include). The first run of a point
 * warms it up and is dropped. Writes scale.csv:
 *
 *   layout,clients,server_threads,runs,calls_per_s_median,calls_per_s_q1,
 *   calls_per_s_q3,cpu_ns_per_call_median
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/fastipc.h>

#define SCALE_MAX_CLIENTS	8
#define SCALE_MAX_RUNS		32
#define SCALE_SLOT		64
#define SCALE_REPLY		4096

/* Shared between the timekeeper and the clients. */
struct scale_ctl {
	pthread_barrier_t start, end;
	int stop;
	int err;			/* a client's failed call, -errno */
	uint64_t calls[SCALE_MAX_CLIENTS];
};

struct scale_point {
	const char *layout;
	int clients;
	int threads;
	int neps;			/* endpoints: 1, or one per client */
};

struct scale_run {
	double calls_per_s[SCALE_MAX_RUNS];
	double cpu_ns[SCALE_MAX_RUNS];
};

/* Lets a child of the pinned bench run on every CPU. */
static void unpin(void)
{
	long i, n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	CPU_ZERO(&set);
	for (i = 0; i < n && i < CPU_SETSIZE; i++)
		CPU_SET(i, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* A server thread: answers every null echo on its endpoint; any failure ends the server. */
static void *scale_serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct fastipc_serve m = { .flags = FASTIPC_SERVE_RECV };
	uint64_t token;
	int ret;

	for (;;) {
		ret = fipc_ioctl(fd, FASTIPC_IOC_SERVE, &m);
		if (ret == -EINTR)
			continue;
		if (ret || BENCH_OP(m.opcode) != BENCH_ECHO || m.len)
			_exit(1);
		token = m.token;
		memset(&m, 0, sizeof(m));
		m.flags = FASTIPC_SERVE_REPLY | FASTIPC_SERVE_RECV;
		m.reply_token = token;
	}
	return NULL;
}

/* The server process: makes @eps endpoints, then serves them with @pt->threads threads. */
static int scale_server(const struct scale_point *pt, const int *eps, struct srv *srv)
{
	pthread_t tid;
	uint8_t *pool;
	int i, ret = 0;

	unpin();
	for (i = 0; i < pt->neps && !ret; i++)
		ret = fipc_endpoint(eps[i], SCALE_SLOT, SCALE_MAX_CLIENTS, &pool);
	for (i = 0; i < pt->threads && !ret; i++)
		ret = -pthread_create(&tid, NULL, scale_serve,
				      (void *)(intptr_t)eps[i % pt->neps]);
	srv_ready(srv, -ret);
	if (ret)
		return 1;
	for (;;)
		pause();
}

/* A client process: null echo calls on its own port, run after run, until told to stop. */
static int scale_client(int ep, struct scale_ctl *ctl, int idx, int runs, struct srv *srv)
{
	uint8_t *reply = bench_map(SCALE_REPLY, false);
	struct fastipc_call call;
	uint32_t id;
	uint64_t n;
	int fd = -ENOMEM, r, ret = 0;

	unpin();
	if (reply)
		fd = fipc_client(ep, reply, SCALE_REPLY, &id);
	srv_ready(srv, fd < 0 ? -fd : 0);
	if (fd < 0)
		return 1;
	for (r = 0; r < runs; r++) {
		pthread_barrier_wait(&ctl->start);
		for (n = 0; !ret && !__atomic_load_n(&ctl->stop, __ATOMIC_RELAXED); n++) {
			memset(&call, 0, sizeof(call));
			call.opcode = BENCH_ECHO;
			call.reply_buf = id;
			call.reply_cap = SCALE_REPLY;
			ret = fipc_ioctl(fd, FASTIPC_IOC_CALL, &call);
			if (!ret && call.reply_len)
				ret = -EBADMSG;
		}
		ctl->calls[idx] = n;
		if (ret)
			ctl->err = ret;
		pthread_barrier_wait(&ctl->end);
	}
	return 0;
}

/* The CPU time so far of the @n processes @pids. */
static uint64_t cpu_sum(const pid_t *pids, int n)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < n; i++)
		sum += child_cpu_ns(pids[i]);
	return sum;
}

/* The timekeeper's side of @runs runs of @run_ns, the clients and the server being @pids. */
static int scale_runs(struct scale_ctl *ctl, const struct scale_point *pt, const pid_t *pids,
		      int runs, uint64_t run_ns, struct scale_run *out)
{
	const struct timespec len = { run_ns / 1000000000ull, run_ns % 1000000000ull };
	uint64_t t0, t1, c0, c1, calls;
	int r, i;

	for (r = 0; r < runs; r++) {
		__atomic_store_n(&ctl->stop, 0, __ATOMIC_RELAXED);
		c0 = cpu_sum(pids, pt->clients + 1);
		pthread_barrier_wait(&ctl->start);
		t0 = fipc_now_ns();
		/* The run's length: the clients stop on the flag, not on this sleep's accuracy. */
		nanosleep(&len, NULL);
		__atomic_store_n(&ctl->stop, 1, __ATOMIC_RELAXED);
		pthread_barrier_wait(&ctl->end);
		t1 = fipc_now_ns();
		c1 = cpu_sum(pids, pt->clients + 1);
		if (ctl->err)
			return ctl->err;
		for (calls = 0, i = 0; i < pt->clients; i++)
			calls += ctl->calls[i];
		if (!calls)
			return -EIO;
		out->calls_per_s[r] = calls * 1e9 / (t1 - t0);
		out->cpu_ns[r] = (double)(c1 - c0) / calls;
	}
	return 0;
}

static int scale_point(const struct scale_point *pt, struct scale_ctl *ctl, int runs,
		       uint64_t run_ns, struct scale_run *out)
{
	struct srv server = { 0 }, clients[SCALE_MAX_CLIENTS] = { 0 };
	pid_t pids[SCALE_MAX_CLIENTS + 1];
	int eps[SCALE_MAX_CLIENTS], i, ret = 0, st;

	memset(ctl, 0, sizeof(*ctl));
	for (i = 0; i < pt->neps; i++)
		eps[i] = -1;
	for (i = 0; i < pt->neps && !ret; i++) {
		eps[i] = open("/dev/fastipc", O_RDWR | O_CLOEXEC);
		ret = eps[i] < 0 ? -errno : 0;
	}
	if (!ret)
		ret = srv_fork(&server, 0);
	if (ret == 0 && server.pid == 0)
		_exit(scale_server(pt, eps, &server));
	ret = ret < 0 ? ret : srv_wait_ready(&server);
	pids[pt->clients] = server.pid;
	if (!ret)
		cpu_watch(server.pid);
	if (!ret) {
		pthread_barrierattr_t a;

		pthread_barrierattr_init(&a);
		pthread_barrierattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
		pthread_barrier_init(&ctl->start, &a, pt->clients + 1);
		pthread_barrier_init(&ctl->end, &a, pt->clients + 1);
	}
	for (i = 0; i < pt->clients && !ret; i++) {
		ret = srv_fork(&clients[i], 0);
		if (ret == 0)
			_exit(scale_client(eps[i % pt->neps], ctl, i, runs, &clients[i]));
		ret = ret < 0 ? ret : srv_wait_ready(&clients[i]);
		pids[i] = clients[i].pid;
		if (!ret)
			cpu_watch(clients[i].pid);
	}
	for (i = 0; i < pt->neps; i++)
		if (eps[i] >= 0)
			close(eps[i]);
	if (!ret)
		ret = scale_runs(ctl, pt, pids, runs, run_ns, out);
	/* The clients exit after their last run; the server is killed once they have. */
	for (i = 0; i < pt->clients; i++) {
		st = srv_stop(&clients[i], !ret);
		if (st && !ret)
			ret = -ECHILD;
	}
	srv_stop(&server, false);
	return ret;
}

int scale_bench(const char *outdir, bool quick, int runs)
{
	static const int clients[] = { 1, 2, 4, 8 }, threads[] = { 1, 2, 4 };
	uint64_t run_ns = quick ? 100000000 : 250000000;
	struct scale_ctl *ctl = bench_map(sizeof(*ctl), true);
	struct scale_point pts[16];
	struct scale_run res;
	struct quartiles q, cpu;
	char path[4096];
	int c, t, i, n = 0, ret;
	FILE *f;

	if (runs < 2)
		runs = quick ? 4 : 8;
	if (runs > SCALE_MAX_RUNS)
		runs = SCALE_MAX_RUNS;
	for (c = 0; c < 4; c++)
		for (t = 0; t < 3; t++)
			pts[n++] = (struct scale_point){ "shared-endpoint", clients[c], threads[t], 1 };
	for (c = 0; c < 4; c++)
		pts[n++] = (struct scale_point){ "endpoint-per-client", clients[c], clients[c],
						 clients[c] };
	snprintf(path, sizeof(path), "%s/scale.csv", outdir);
	f = ctl ? fopen(path, "w") : NULL;
	if (!f)
		return bench_fail(path, errno);
	fprintf(f, "layout,clients,server_threads,runs,calls_per_s_median,calls_per_s_q1,"
		"calls_per_s_q3,cpu_ns_per_call_median\n");
	printf("\nScale: null echo calls per second (median, IQR) and CPU per call, %d runs of %.0f ms:\n",
	       runs - 1, run_ns / 1e6);
	for (i = 0; i < n; i++) {
		snprintf(bench_current, sizeof(bench_current), "scale %s, %d clients, %d threads",
			 pts[i].layout, pts[i].clients, pts[i].threads);
		fprintf(stderr, "fastipc-bench: %s\n", bench_current);
		alarm(60 + runs * run_ns / 1000000000);
		ret = scale_point(&pts[i], ctl, runs, run_ns, &res);
		alarm(0);
		if (ret) {
			fclose(f);
			return bench_fail(bench_current, ret);
		}
		/* The first run warmed the point up. */
		q = quartiles(res.calls_per_s + 1, runs - 1);
		cpu = quartiles(res.cpu_ns + 1, runs - 1);
		fprintf(f, "%s,%d,%d,%d,%.0f,%.0f,%.0f,%.0f\n", pts[i].layout, pts[i].clients,
			pts[i].threads, runs - 1, q.median, q.q1, q.q3, cpu.median);
		printf("  %-19s %d clients %d threads: %8.0f calls/s (%.0f-%.0f), %6.0f ns CPU/call\n",
		       pts[i].layout, pts[i].clients, pts[i].threads, q.median, q.q1, q.q3,
		       cpu.median);
	}
	munmap(ctl, sizeof(*ctl));
	return fclose(f) ? bench_fail(path, errno) : 0;
}
