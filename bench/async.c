// SPDX-License-Identifier: GPL-2.0
/*
 * The async throughput harness: calls per second at queue depths 1, 8 and
 * 64, for every mechanism alike. A run issues a fixed number of echo calls
 * keeping the depth's worth outstanding and is timed from the first request
 * to the last reply. Each call's reply lands in a room of its own in the
 * reply area, and every byte of every reply is checked against what its
 * request sent once the run is over, outside the timed part: checking as
 * the replies come in would cost the client a large part of a call at
 * 4 KiB. As in the round-trip harness, all servers of a placement stay up
 * together and the runs go round the points (run k of every point, then run
 * k + 1), the first run of each point is dropped, and a point's figure is
 * the median of the rest.
 *
 * Writes async.csv into the output directory; progress goes to stderr.
 */
#include "async.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The reply area: rooms for a run of some thousands of the largest calls. */
#define AREA_LEN	(16u << 20)
#define MAX_CALLS	1000000u

static uint64_t seq;
static struct async_reqs reqs;
static uint8_t *area, *expect;
static uint32_t *status, *rlen;

static void *map_private(size_t len)
{
	void *p = bench_map(len, false);

	/* Servers forked later need neither these pages nor copies of them. */
	if (p)
		madvise(p, len, MADV_DONTFORK);
	return p;
}

static int async_alloc(uint32_t max_payload)
{
	if (reqs.base)
		return 0;
	/* Whole cache lines apart, so that neighbouring requests share none. */
	reqs.stride = (BENCH_HEADROOM + (size_t)max_payload + 63) & ~(size_t)63;
	reqs.n = ASYNC_MAX_QD;
	reqs.base = map_private(reqs.stride * reqs.n);
	area = map_private(AREA_LEN);
	expect = map_private(max_payload + 1);
	status = map_private(MAX_CALLS * sizeof(*status));
	rlen = map_private(MAX_CALLS * sizeof(*rlen));
	return reqs.base && area && expect && status && rlen ? 0 : -ENOMEM;
}

int writev_full(int fd, struct iovec *iov, int n)
{
	ssize_t w;

	while (n) {
		w = writev(fd, iov, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		while (n && (size_t)w >= iov->iov_len) {
			w -= iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + w;
			iov->iov_len -= w;
		}
	}
	return 0;
}

/* One point: a mechanism, a payload and a depth, in one placement. */
struct apoint {
	struct amech *m;
	const char *placement;
	uint32_t len;
	int qd;
	uint64_t calls;		/* per run */
	int nruns;
	double *cps;		/* per run: calls per second */
	int ncpu;		/* CPU runs done */
	double cpu_client[BENCH_CPU_RUNS];	/* per CPU run: per call, client */
	double cpu_server[BENCH_CPU_RUNS];	/* ... and the server process */
};

static void size_str(char *buf, size_t len, uint32_t n)
{
	if (n >= 1024 && !(n & 1023))
		snprintf(buf, len, "%u KiB", n >> 10);
	else
		snprintf(buf, len, "%u B", n);
}

static void set_current(const struct apoint *pt, const char *what)
{
	snprintf(bench_current, sizeof(bench_current), "async %s %s %u B depth %d (%s)",
		 pt->m->name, pt->placement, pt->len, pt->qd, what);
}

/* Reply @n of run @r: status @st, @len payload bytes at @p. */
static void check_reply(const struct async_run *r, uint64_t n, uint32_t st, uint32_t len,
			const uint8_t *p)
{
	uint32_t i, tag = ASYNC_TAG(ASYNC_OP(r->seq + n));

	if (st != tag)
		fail_run("reply %llu of %llu: status %#x, expected %#x (a reply to another request?)",
			 (unsigned long long)n, (unsigned long long)r->calls, st, tag);
	if (len != r->len)
		fail_run("reply %llu of %llu: %u bytes, expected %u", (unsigned long long)n,
			 (unsigned long long)r->calls, len, r->len);
	if (!fipc_check(p, r->len, r->seq + n)) {
		/* Where: against the request rebuilt. */
		fipc_fill(expect, r->len, r->seq + n);
		for (i = 0; p[i] == expect[i]; i++)
			;
		fail_run("reply %llu of %llu differs from its request at byte %u of %u",
			 (unsigned long long)n, (unsigned long long)r->calls, i, r->len);
	}
}

/* Every byte of every reply of the run just done. */
static void check_run(const struct amech *m, const struct async_run *r)
{
	const struct bench_hdr *h;
	size_t off = 0;
	uint64_t n;

	for (n = 0; n < r->calls; n++) {
		const uint8_t *room = r->area + n * r->stride;

		switch (m->form) {
		case ASYNC_ROOMS:
			check_reply(r, n, r->status[n], r->rlen[n], room);
			break;
		case ASYNC_PACKETS:
			h = (const struct bench_hdr *)room;
			if (r->rlen[n] != sizeof(*h) + r->len)
				fail_run("reply %llu: a packet of %u bytes, expected %zu",
					 (unsigned long long)n, r->rlen[n], sizeof(*h) + r->len);
			check_reply(r, n, h->word, h->len, room + sizeof(*h));
			break;
		case ASYNC_STREAM:
			h = (const struct bench_hdr *)(r->area + off);
			if (off + sizeof(*h) > r->stream_len ||
			    off + sizeof(*h) + h->len > r->stream_len)
				fail_run("the replies end after %llu of %llu", (unsigned long long)n,
					 (unsigned long long)r->calls);
			check_reply(r, n, h->word, h->len, r->area + off + sizeof(*h));
			off += sizeof(*h) + h->len;
			break;
		}
	}
	if (m->form == ASYNC_STREAM && off != r->stream_len)
		fail_run("%zu bytes follow the last reply", r->stream_len - off);
}

/*
 * One timed run of @calls calls: nanoseconds from the first request to the
 * last reply; @cpu: the CPU time each side spent in between.
 */
static uint64_t timed_run(const struct async_cfg *cfg, const struct apoint *pt, uint64_t calls,
			  struct cpu_mark *cpu)
{
	struct async_run r = {
		.reqs = &reqs, .len = pt->len, .qd = pt->qd, .calls = calls, .seq = seq,
		.area = area, .stride = async_stride(pt->len), .status = status, .rlen = rlen,
	};
	struct cpu_mark cpu0;
	uint64_t t0, t;
	int ret;

	alarm(cfg->watchdog_s);
	/* Nothing left from the run before can pass for a reply of this one. */
	memset(status, 0xff, calls * sizeof(*status));
	memset(rlen, 0xff, calls * sizeof(*rlen));
	cpu_mark(&cpu0, pt->m->server_pid);
	t0 = fipc_now_ns();
	ret = pt->m->run(pt->m, &r);
	t = fipc_now_ns() - t0;
	cpu_mark(cpu, pt->m->server_pid);
	cpu->client_ns -= cpu0.client_ns;
	cpu->server_ns -= cpu0.server_ns;
	if (ret)
		fail_run("%s", strerror(-ret));
	check_run(pt->m, &r);
	alarm(0);
	seq += calls;
	return t ? t : 1;
}

/* The fewest calls a run makes: enough that filling and draining the queue hardly count. */
static uint64_t min_calls(int qd)
{
	return qd * 16 > 64 ? qd * 16 : 64;
}

/* The most: as many as the reply area has rooms for. */
static uint64_t max_calls(uint32_t len)
{
	uint64_t n = AREA_LEN / async_stride(len);

	return n < MAX_CALLS ? n : MAX_CALLS;
}

/* Untimed runs until the point is warm, then calls per run for a run of about run_ns. */
static void warm_up(const struct async_cfg *cfg, struct apoint *pt)
{
	uint64_t n = min_calls(pt->qd), spent = 0, t = 0;
	struct cpu_mark cpu;
	int k;

	set_current(pt, "warm-up");
	for (k = 0; k < 2 || (spent < cfg->run_ns / 2 && k < 50); k++) {
		t = timed_run(cfg, pt, n, &cpu);
		spent += t;
	}
	pt->calls = (uint64_t)((double)cfg->run_ns * n / t);
	if (pt->calls < n)
		pt->calls = n;
	if (pt->calls > max_calls(pt->len))
		pt->calls = max_calls(pt->len);
}

static int add_point(struct apoint **pts, int *n, struct apoint pt, int runs)
{
	struct apoint *p = realloc(*pts, (*n + 1) * sizeof(**pts));

	if (!p)
		return -ENOMEM;
	*pts = p;
	pt.nruns = runs;
	pt.cps = calloc(runs, sizeof(double));
	if (!pt.cps)
		return -ENOMEM;
	p[(*n)++] = pt;
	return 0;
}

static void start_servers(struct amech **mechs, int nmechs, const struct async_params *p,
			  const char *placement)
{
	int i, ret;

	for (i = 0; i < nmechs; i++) {
		mechs[i]->skip[0] = 0;
		ret = mechs[i]->start(mechs[i], p);
		if (ret && !mechs[i]->skip[0])
			snprintf(mechs[i]->skip, sizeof(mechs[i]->skip), "start failed: %s",
				 strerror(-ret));
		if (mechs[i]->skip[0]) {
			fprintf(stderr, "fastipc-bench: async %s: skipping %s: %s\n", placement,
				mechs[i]->name, mechs[i]->skip);
			mechs[i]->stop(mechs[i]);
		}
	}
}

static void stop_servers(struct amech **mechs, int nmechs)
{
	int i, ret;

	for (i = 0; i < nmechs; i++) {
		if (mechs[i]->skip[0])
			continue;
		snprintf(bench_current, sizeof(bench_current), "async %s (stopping)",
			 mechs[i]->name);
		alarm(30);
		ret = mechs[i]->stop(mechs[i]);
		alarm(0);
		if (ret) {
			fprintf(stderr, "fastipc-bench: FAILED: async %s's server did not stop cleanly (%d)\n",
				mechs[i]->name, ret);
			exit(2);
		}
	}
}

static int placement_points(const struct async_cfg *cfg, struct amech **mechs, int nmechs,
			    const char *placement, struct apoint **pts, int *npts)
{
	struct apoint pt;
	int i, s, d, ret = 0;

	for (i = 0; i < nmechs; i++) {
		if (mechs[i]->skip[0])
			continue;
		for (s = 0; s < cfg->nsizes; s++)
			for (d = 0; d < cfg->ndepths && !ret; d++) {
				pt = (struct apoint){ .m = mechs[i], .placement = placement,
						      .len = cfg->sizes[s], .qd = cfg->depths[d] };
				ret = add_point(pts, npts, pt, cfg->runs);
			}
	}
	return ret;
}

/* Quartiles of @per_run, one of @pt's per-run figures. */
static struct quartiles apoint_stats(const struct apoint *pt, const double *per_run)
{
	double v[256];
	int i, n = 0;

	/* The first run is dropped: it pays for whatever the previous point disturbed. */
	for (i = 1; i < pt->nruns && n < 256; i++)
		v[n++] = per_run[i];
	return quartiles(v, n);
}

/* The median of @per_cpu_run, the CPU per call of each of @pt's CPU runs. */
static double cpu_median(const struct apoint *pt, const double *per_cpu_run)
{
	double v[BENCH_CPU_RUNS];

	memcpy(v, per_cpu_run, sizeof(v));
	return quartiles(v, pt->ncpu).median;
}

static const struct apoint *find(const struct apoint *pts, int npts, const char *mech,
				 const char *placement, uint32_t len, int qd)
{
	int i;

	for (i = 0; i < npts; i++)
		if (!strcmp(pts[i].m->name, mech) && !strcmp(pts[i].placement, placement) &&
		    pts[i].len == len && pts[i].qd == qd)
			return &pts[i];
	return NULL;
}

static int write_csv(const char *dir, const struct apoint *pts, int npts)
{
	char tmp[4096], dst[4096];
	struct quartiles q;
	int i, wide = 0;
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s/async.csv.tmp", dir);
	snprintf(dst, sizeof(dst), "%s/async.csv", dir);
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "fastipc-bench: cannot write %s: %s\n", tmp, strerror(errno));
		return -errno;
	}
	fprintf(f, "mechanism,placement,queue_depth,payload_bytes,runs,calls_per_s_median,"
		"calls_per_s_q1,calls_per_s_q3,cpu_client_ns,cpu_server_ns\n");
	for (i = 0; i < npts; i++) {
		q = apoint_stats(&pts[i], pts[i].cps);
		fprintf(f, "%s,%s,%d,%u,%d,%.0f,%.0f,%.0f,%.1f,%.1f\n", pts[i].m->name,
			pts[i].placement, pts[i].qd, pts[i].len, pts[i].nruns - 1, q.median, q.q1,
			q.q3, cpu_median(&pts[i], pts[i].cpu_client),
			cpu_median(&pts[i], pts[i].cpu_server));
		if (q.median > 0 && (q.q3 - q.q1) / q.median > 0.25) {
			if (!wide++)
				printf("Async points too spread to trust (IQR over 25%% of the median):\n");
			printf("  wide: %s %s %u B depth %d: median %.0f calls/s, IQR %.0f..%.0f\n",
			       pts[i].m->name, pts[i].placement, pts[i].len, pts[i].qd, q.median,
			       q.q1, q.q3);
		}
	}
	if (!wide)
		printf("No async point's spread is wide (IQR within 25%% of the median everywhere).\n");
	/* Replaces the old file only once the new one is complete. */
	if (fclose(f))
		return -errno;
	return rename(tmp, dst) ? -errno : 0;
}

/* A first look at the numbers; scripts/bench-report makes the real tables. */
static void print_summary(const struct async_cfg *cfg, struct amech **mechs, int nmechs,
			  const struct apoint *pts, int npts, const char *const *placements,
			  int npl)
{
	const struct apoint *a, *b;
	double va, vb;
	int i, s, d, p;

	for (p = 0; p < npl; p++)
		for (s = 0; s < cfg->nsizes; s++) {
			printf("\nasync echo %u B, %s: calls/s (median; fastipc-async/peer in brackets)\n",
			       cfg->sizes[s], placements[p]);
			printf("%5s", "depth");
			for (i = 0; i < nmechs; i++)
				if (!mechs[i]->skip[0])
					printf(" %22s", mechs[i]->name);
			printf("\n");
			for (d = 0; d < cfg->ndepths; d++) {
				a = find(pts, npts, "fastipc-async", placements[p], cfg->sizes[s],
					 cfg->depths[d]);
				va = a ? apoint_stats(a, a->cps).median : 0;
				printf("%5d", cfg->depths[d]);
				for (i = 0; i < nmechs; i++) {
					b = find(pts, npts, mechs[i]->name, placements[p],
						 cfg->sizes[s], cfg->depths[d]);
					vb = b ? apoint_stats(b, b->cps).median : 0;
					if (mechs[i]->skip[0])
						continue;
					if (!b)
						printf(" %22s", "-");
					else if (va > 0 && vb > 0 && b != a)
						printf(" %14.0f [%5.2f]", vb, va / vb);
					else
						printf(" %22.0f", vb);
				}
				printf("\n");
			}
		}
}

int async_bench(const struct async_cfg *cfg, struct amech **mechs, int nmechs,
		const char *outdir)
{
	static const char *const names[] = { "same-cpu", "cross-cpu" };
	const char *placements[2];
	struct async_params p = { .max_qd = ASYNC_MAX_QD, .area_len = AREA_LEN };
	struct apoint *pts = NULL;
	uint64_t done = 0, total, t0 = fipc_now_ns();
	int i, k, pl, npl = 0, npts = 0, first, ret;
	struct cpu_mark cpu;
	char sz[16];

	p.max_payload = cfg->sizes[cfg->nsizes - 1];
	for (i = 0; i < cfg->ndepths; i++)
		if (cfg->depths[i] > ASYNC_MAX_QD ||
		    min_calls(cfg->depths[i]) > max_calls(p.max_payload))
			return -EINVAL;
	ret = async_alloc(p.max_payload);
	if (ret)
		return ret;
	p.area = area;
	bench_watchdog();
	for (pl = 0; pl < 2; pl++) {
		if (cfg->placement && strcmp(cfg->placement, names[pl]))
			continue;
		if (pl && sysconf(_SC_NPROCESSORS_ONLN) < 2) {
			fprintf(stderr, "fastipc-bench: one CPU only: no cross-cpu placement\n");
			continue;
		}
		placements[npl++] = names[pl];
	}
	total = (uint64_t)npl * nmechs * cfg->nsizes * cfg->ndepths * cfg->runs;
	for (pl = 0; pl < npl; pl++) {
		int from = npts;

		p.server_cpu = strcmp(placements[pl], "same-cpu") ? 1 : 0;
		ret = pin_cpu(0);
		if (ret)
			return ret;
		start_servers(mechs, nmechs, &p, placements[pl]);
		ret = placement_points(cfg, mechs, nmechs, placements[pl], &pts, &npts);
		if (ret)
			return ret;
		fprintf(stderr, "fastipc-bench: async %s: warming up %d points\n", placements[pl],
			npts - from);
		for (i = from; i < npts; i++)
			warm_up(cfg, &pts[i]);
		for (k = 0; k < cfg->runs; k++) {
			for (i = from; i < npts; i++) {
				first = i == from || pts[i].m != pts[i - 1].m ||
					pts[i].len != pts[i - 1].len;
				size_str(sz, sizeof(sz), pts[i].len);
				if (first)
					fprintf(stderr, "%s[%3d%%] async %s run %d/%d %s %s: depth",
						i == from ? "" : "\n", (int)(100 * done / total),
						placements[pl], k + 1, cfg->runs, pts[i].m->name, sz);
				fprintf(stderr, " %d", pts[i].qd);
				set_current(&pts[i], "run");
				pts[i].cps[k] = pts[i].calls * 1e9 /
						timed_run(cfg, &pts[i], pts[i].calls, &cpu);
				done++;
			}
			fputc('\n', stderr);
		}
		/* CPU time in runs of their own: a task clock adds to the server's switches. */
		for (k = 0; k < BENCH_CPU_RUNS; k++)
			for (i = from; i < npts; i++) {
				set_current(&pts[i], "CPU run");
				cpu_watch(pts[i].m->server_pid);
				timed_run(cfg, &pts[i], pts[i].calls, &cpu);
				cpu_unwatch(pts[i].m->server_pid);
				pts[i].cpu_client[k] = (double)cpu.client_ns / pts[i].calls;
				pts[i].cpu_server[k] = (double)cpu.server_ns / pts[i].calls;
				pts[i].ncpu++;
			}
		stop_servers(mechs, nmechs);
	}
	fprintf(stderr, "fastipc-bench: async: %d points in %.0f s\n", npts,
		(fipc_now_ns() - t0) / 1e9);
	ret = write_csv(outdir, pts, npts);
	if (!ret)
		print_summary(cfg, mechs, nmechs, pts, npts, placements, npl);
	for (i = 0; i < npts; i++) {
		free(pts[i].cps);
	}
	free(pts);
	return ret;
}
