// SPDX-License-Identifier: GPL-2.0
/*
 * The harness: the same messages, timing and checks for every mechanism.
 * All servers of a placement stay up together and the runs go round them
 * (run k of every mechanism, size and pattern, then run k + 1), so that
 * whatever else the host does hits every mechanism alike.
 */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint8_t *req_base, *stream_base;	/* BENCH_HEADROOM, then the bytes */
static uint64_t seq;
static uint64_t units_total, units_done;
static int placements;

void bench_progress_total(int nplacements)
{
	placements = nplacements;
	units_total = 0;
	units_done = 0;
	bench_watchdog();
}

static const char *pattern_name(uint32_t op)
{
	return op == BENCH_ECHO ? "echo" : op == BENCH_ONEWAY ? "oneway" : "stream";
}

static void size_str(char *buf, size_t len, uint32_t n)
{
	if (n >= (1u << 20) && !(n & ((1u << 20) - 1)))
		snprintf(buf, len, "%uM", n >> 20);
	else if (n >= 1024 && !(n & 1023))
		snprintf(buf, len, "%uK", n >> 10);
	else
		snprintf(buf, len, "%u", n);
}

static void set_current(const struct point *pt, const char *what)
{
	char sz[16];

	size_str(sz, sizeof(sz), pt->len);
	snprintf(bench_current, sizeof(bench_current), "%s %s %s %sB (%s)", pt->name,
		 pattern_name(pt->op), pt->placement, sz, what);
}

/* Every byte of the reply, against the request for an echo or its status for a oneway. */
static void verify(const struct point *pt, const struct bench_call *c)
{
	const uint8_t *end = c->req + c->len;
	uint32_t i;

	if (pt->op == BENCH_ONEWAY) {
		if (c->reply_len)
			fail_run("oneway reply of %u bytes, expected a status only", c->reply_len);
		if (c->status != bench_status(c->req, c->len))
			fail_run("oneway status %#x, expected %#x", c->status,
				 bench_status(c->req, c->len));
		return;
	}
	if (c->reply_len != c->len)
		fail_run("echo reply of %u bytes, expected %u", c->reply_len, c->len);
	if (c->len && c->reply + c->len > c->req - BENCH_HEADROOM && c->reply < end)
		fail_run("the reply points into the request buffer");
	if (memcmp(c->reply, c->req, c->len)) {
		for (i = 0; c->reply[i] == c->req[i]; i++)
			;
		fail_run("echo reply differs at byte %u of %u (seq %llu)", i, c->len,
			 (unsigned long long)seq);
	}
}

static void do_call(const struct point *pt, struct bench_call *c)
{
	int ret = pt->m->call(pt->m, c);

	if (ret)
		fail_run("call failed: %s", strerror(-ret));
}

/*
 * One round trip, timed; filling and checking the message are not. Every
 * byte of the request is new: the pattern of the call's sequence number.
 */
static uint64_t timed_call(const struct point *pt)
{
	struct bench_call c = { .op = pt->op, .len = pt->len, .req = req_base + BENCH_HEADROOM };
	uint64_t t0, t1;

	fipc_fill(c.req, c.len, ++seq);
	t0 = fipc_now_ns();
	do_call(pt, &c);
	t1 = fipc_now_ns();
	verify(pt, &c);
	return t1 - t0;
}

/*
 * One stream, timed; the sender fills each chunk with a new pattern before
 * it goes, the receiver checks each one whole.
 */
static uint64_t timed_stream(const struct point *pt)
{
	struct bench_stream s = {
		.variant = pt->variant,
		.chunk = pt->len,
		.total = pt->iters * pt->len,
		.seed = seq + 1,
		.buf = stream_base + BENCH_HEADROOM,
	};
	uint64_t t0 = fipc_now_ns();
	int ret;

	seq += pt->iters;
	ret = pt->m->stream(pt->m, &s);
	if (ret)
		fail_run("stream failed or arrived corrupt: %s", strerror(-ret));
	return fipc_now_ns() - t0;
}

/* Untimed round trips until the point is warm, then iterations for a run of about run_ns. */
static void warm_up(const struct bench_cfg *cfg, struct point *pt)
{
	uint64_t t, spent = 0, n = 0;

	set_current(pt, "warm-up");
	alarm(cfg->watchdog_s);
	if (pt->op == BENCH_STREAM) {
		t = timed_stream(pt);
		pt->iters = cfg->stream_total / pt->len;
	} else {
		while (n < 3 || (spent < cfg->run_ns / 2 && n < 100000)) {
			spent += timed_call(pt);
			n++;
		}
		t = spent / n;
		pt->iters = t ? cfg->run_ns / t : 100000;
		if (pt->iters < 3)
			pt->iters = 3;
		if (pt->iters > 1000000)
			pt->iters = 1000000;
	}
	alarm(0);
}

/* Run @k of a point: the mean round trip (streams: time per chunk). */
static void one_run(const struct bench_cfg *cfg, struct point *pt, int k)
{
	uint64_t i, t, total = 0;

	set_current(pt, "run");
	alarm(cfg->watchdog_s);
	if (pt->op == BENCH_STREAM) {
		total = timed_stream(pt);
	} else {
		/* Not counted: wakes a parked server and settles the caches for this size. */
		timed_call(pt);
		for (i = 0; i < pt->iters; i++) {
			t = timed_call(pt);
			total += t;
			/* The tails are of the kept runs too: the first is dropped. */
			if (k)
				hist_add(pt->hist, t);
		}
	}
	alarm(0);
	pt->ns[k] = (double)total / pt->iters;
}

/*
 * A CPU run of a point: the CPU time the client and the server process
 * spend per round trip (chunk), the server watched by task clocks. The
 * calls go back to back with one message, checked after the last, so that
 * a server that spins for its next request is not charged for the
 * harness's filling and checking between calls.
 */
static void cpu_run(const struct bench_cfg *cfg, struct point *pt)
{
	struct bench_call c = { .op = pt->op, .len = pt->len, .req = req_base + BENCH_HEADROOM };
	struct cpu_mark cpu0, cpu1;
	uint64_t i;

	set_current(pt, "CPU run");
	alarm(cfg->watchdog_s);
	cpu_watch(pt->m->server_pid);
	if (pt->op == BENCH_STREAM) {
		cpu_mark(&cpu0, pt->m->server_pid);
		timed_stream(pt);
	} else {
		/* Fills the message the run sends, and wakes a parked server. */
		timed_call(pt);
		cpu_mark(&cpu0, pt->m->server_pid);
		for (i = 0; i < pt->iters; i++)
			do_call(pt, &c);
	}
	cpu_mark(&cpu1, pt->m->server_pid);
	cpu_unwatch(pt->m->server_pid);
	if (pt->op != BENCH_STREAM)
		verify(pt, &c);
	alarm(0);
	pt->cpu_client[pt->ncpu] = (double)(cpu1.client_ns - cpu0.client_ns) / pt->iters;
	pt->cpu_server[pt->ncpu] = (double)(cpu1.server_ns - cpu0.server_ns) / pt->iters;
	pt->ncpu++;
}

static int add_point(struct point **pts, int *n, struct point pt, int runs)
{
	struct point *p = realloc(*pts, (*n + 1) * sizeof(**pts));

	if (!p)
		return -ENOMEM;
	pt.nruns = runs;
	pt.ns = calloc(runs, sizeof(double));
	if (pt.op != BENCH_STREAM)
		pt.hist = calloc(1, sizeof(*pt.hist));
	if (!pt.ns || (pt.op != BENCH_STREAM && !pt.hist))
		return -ENOMEM;
	p[(*n)++] = pt;
	*pts = p;
	return 0;
}

/* The points of one placement, mechanism by mechanism, in the order they run. */
static int make_points(const struct bench_cfg *cfg, struct mech **mechs, int nmechs,
		       const char *placement, struct point **pts, int *npts)
{
	static const uint32_t ops[] = { BENCH_ECHO, BENCH_ONEWAY };
	struct point pt;
	int i, o, s, v, ret = 0;

	for (i = 0; i < nmechs; i++) {
		if (mechs[i]->skip[0])
			continue;
		pt = (struct point){ .m = mechs[i], .name = mechs[i]->name, .placement = placement };
		for (o = 0; o < 2; o++)
			for (s = 0; s < cfg->nsizes && !ret && (cfg->patterns & 1u << ops[o]); s++) {
				pt.op = ops[o];
				pt.len = cfg->sizes[s];
				ret = add_point(pts, npts, pt, cfg->runs);
			}
		for (v = 0; mechs[i]->stream_names && mechs[i]->stream_names[v] &&
			    (cfg->patterns & 1u << BENCH_STREAM); v++)
			for (s = 0; s < cfg->nchunks && !ret; s++) {
				pt.name = mechs[i]->stream_names[v];
				pt.variant = v;
				pt.op = BENCH_STREAM;
				pt.len = cfg->chunks[s];
				ret = add_point(pts, npts, pt, cfg->runs);
			}
	}
	return ret;
}

static void progress(const char *placement, int k, int runs, const struct point *pt,
		     bool first)
{
	char sz[16];

	size_str(sz, sizeof(sz), pt->len);
	if (first)
		fprintf(stderr, "[%3d%%] %s run %d/%d %s %s:", (int)(100 * units_done / units_total),
			placement, k + 1, runs, pt->name, pattern_name(pt->op));
	fprintf(stderr, " %s", sz);
}

static void quit_servers(struct mech **mechs, int nmechs)
{
	struct bench_call c = { .op = BENCH_QUIT, .req = req_base + BENCH_HEADROOM };
	int i, ret;

	for (i = 0; i < nmechs; i++) {
		if (mechs[i]->skip[0] && !mechs[i]->priv)
			continue;
		if (!mechs[i]->skip[0]) {
			snprintf(bench_current, sizeof(bench_current), "%s (stopping)",
				 mechs[i]->name);
			alarm(30);
			mechs[i]->quit = !mechs[i]->call(mechs[i], &c) &&
					 c.status == BENCH_QUIT_STATUS;
			alarm(0);
		}
		ret = mechs[i]->stop(mechs[i]);
		if (!mechs[i]->skip[0] && (!mechs[i]->quit || ret)) {
			fprintf(stderr, "fastipc-bench: FAILED: %s's server did not stop cleanly (%d)\n",
				mechs[i]->name, ret);
			exit(2);
		}
	}
}

static void start_servers(struct mech **mechs, int nmechs, const struct bench_params *p,
			  const char *placement)
{
	int i, ret;

	for (i = 0; i < nmechs; i++) {
		mechs[i]->skip[0] = 0;
		mechs[i]->quit = false;
		ret = mechs[i]->start(mechs[i], p);
		if (ret && !mechs[i]->skip[0])
			snprintf(mechs[i]->skip, sizeof(mechs[i]->skip), "start failed: %s",
				 strerror(-ret));
		if (mechs[i]->skip[0])
			fprintf(stderr, "fastipc-bench: %s: skipping %s: %s\n", placement,
				mechs[i]->name, mechs[i]->skip);
	}
}

/* A mechanism's server and client, stopped and started again. */
static void restart_server(struct mech *m, const struct bench_params *p, const char *placement)
{
	quit_servers(&m, 1);
	start_servers(&m, 1, p, placement);
	if (m->skip[0])
		fail_run("%s did not start again: %s", m->name, m->skip);
}

int bench_placement(const struct bench_cfg *cfg, struct mech **mechs, int nmechs,
		    const struct bench_params *p, const char *placement,
		    struct point **ptsp, int *nptsp)
{
	size_t req_len = BENCH_HEADROOM + (size_t)p->max_payload;
	size_t stream_len = BENCH_HEADROOM + (size_t)p->max_chunk;
	struct point *pts = NULL;
	int i, k, npts = 0, ret;

	if (!req_base) {
		req_base = bench_map(req_len, false);
		stream_base = bench_map(stream_len, false);
		if (!req_base || !stream_base)
			return -ENOMEM;
	}
	start_servers(mechs, nmechs, p, placement);
	ret = make_points(cfg, mechs, nmechs, placement, &pts, &npts);
	if (ret)
		return ret;
	if (!units_total)
		units_total = (uint64_t)npts * cfg->runs * placements + 1;
	fprintf(stderr, "fastipc-bench: %s: warming up %d points\n", placement, npts);
	for (i = 0; i < npts; i++) {
		warm_up(cfg, &pts[i]);
		if (pts[i].m->idle)
			pts[i].m->idle(pts[i].m);
	}
	for (k = 0; k < cfg->runs; k++) {
		for (i = 0; i < npts; i++) {
			bool first = !i || pts[i].m != pts[i - 1].m || pts[i].op != pts[i - 1].op ||
				     pts[i].name != pts[i - 1].name;

			if (first && i)
				fputc('\n', stderr);
			if (pts[i].m->fresh_each_round && (!i || pts[i].m != pts[i - 1].m))
				restart_server(pts[i].m, p, placement);
			progress(placement, k, cfg->runs, &pts[i], first);
			one_run(cfg, &pts[i], k);
			units_done++;
			/* A tool's figure is compared with this one: take it at the same time. */
			if (cfg->perf && pts[i].op == BENCH_ECHO && !pts[i].len)
				crosscheck_sample(p, pts[i].m);
			if (pts[i].m->idle && (i + 1 == npts || pts[i + 1].m != pts[i].m))
				pts[i].m->idle(pts[i].m);
		}
		fputc('\n', stderr);
	}
	if (!cfg->no_cpu)
		fprintf(stderr, "fastipc-bench: %s: %d CPU runs of %d points\n", placement,
			BENCH_CPU_RUNS, npts);
	for (k = 0; !cfg->no_cpu && k < BENCH_CPU_RUNS; k++)
		for (i = 0; i < npts; i++) {
			cpu_run(cfg, &pts[i]);
			if (pts[i].m->idle && (i + 1 == npts || pts[i + 1].m != pts[i].m))
				pts[i].m->idle(pts[i].m);
		}
	quit_servers(mechs, nmechs);
	*ptsp = pts;
	*nptsp = npts;
	return 0;
}
