// SPDX-License-Identifier: GPL-2.0
/*
 * fastipc-bench: fastipc against the local IPC a program would otherwise
 * use, on the board. Writes results.csv, async.csv, scale.csv,
 * mechanisms.csv, memory.csv and crosscheck.csv into the output directory;
 * progress goes to stderr.
 *
 *   fastipc-bench [--quick] [--out DIR] [--only MECH,...] [--runs N]
 *                 [--placement same-cpu|cross-cpu] [--no-memory] [--no-perf]
 *                 [--no-sync | --no-async] [--sizes N,...] [--patterns echo,oneway,stream]
 *                 [--no-scale] [--run-ms N] [--stream-mib N] [--no-cpu]
 *                 [--sched other|batch]
 *
 * --no-cpu leaves out the synchronous points' CPU runs (their CPU columns
 * then read 0), for a profile of the timed runs alone.
 * --run-ms is how long one run of a point lasts (10, or 5 with --quick),
 * --stream-mib how much one stream run carries (16, or 4): the icount
 * board, whose figures repeat, runs shorter.
 * --sizes replaces the echo and oneway payload sizes; --patterns picks the
 * synchronous patterns (all three by default).
 * --only picks among the async throughput mechanisms too; the async run's
 * alternative fastipc server, fastipc-async-ring-server, only when named.
 * --no-perf leaves out the cross-checks with other tools (perf.c). The
 * scale test (scale.c) runs after the async one, when --only names fastipc.
 * --sched batch runs the bench and every process it starts under SCHED_BATCH
 * (set_policy()); the default is SCHED_OTHER.
 * QUICK=1 in the environment is --quick.
 */
#include "bench.h"
#include "async.h"

#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KiB	1024u
#define MiB	(1024u * 1024u)

static const uint32_t full_sizes[] = {
	0, 16, 64, 256, KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, MiB,
};
static const uint32_t quick_sizes[] = { 0, 64, 4 * KiB, 64 * KiB, MiB };
static const uint32_t full_chunks[] = { KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, MiB };
static const uint32_t quick_chunks[] = { 4 * KiB, 64 * KiB, MiB };

static struct mech *const all_mechs[] = {
	&mech_fastipc, &mech_libfastipc,
	&mech_pipe, &mech_unix_stream, &mech_unix_seqpacket, &mech_shm_futex,
	&mech_shm_futex_spin,
	&mech_memcpy, &mech_tcp, &mech_posix_mq, &mech_shm_eventfd, &mech_shm_signal,
	&mech_shm_spin, &mech_binder, &mech_short_circuit,
};
#define NMECHS	(int)(sizeof(all_mechs) / sizeof(all_mechs[0]))

/* Async throughput: calls per second with 1, 8 and 64 calls outstanding. */
static struct amech *const all_amechs[] = {
	&amech_fastipc_async, &amech_fastipc_async_ring, &amech_libfastipc_ring,
	&amech_fastipc_sync, &amech_pipe,
	&amech_unix_stream, &amech_unix_seqpacket,
};
#define NAMECHS	(int)(sizeof(all_amechs) / sizeof(all_amechs[0]))
static const uint32_t async_sizes[] = { 0, 64, 4 * KiB };
static const int async_depths[] = { 1, 8, 64 };

#define ARRAY_LEN(a)	(int)(sizeof(a) / sizeof((a)[0]))

struct placement {
	const char *name;
	int server_cpu;
	struct point *pts;
	int npts;
};

static void usage(void);

static bool listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p;

	if (!list)
		return true;
	for (p = list; (p = strstr(p, name)); p += n)
		if ((p == list || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

/* A comma-separated list of byte counts, largest last; usage() if it is not one. */
static int parse_sizes(const char *list, uint32_t *v, int max)
{
	char *end;
	int n = 0;

	do {
		unsigned long x = strtoul(list, &end, 0);

		if (end == list || n == max || x > 64 * MiB || (n && x < v[n - 1]))
			usage();
		v[n++] = x;
		list = end + 1;
	} while (*end == ',');
	if (*end)
		usage();
	return n;
}

static FILE *out_file(const char *dir, const char *name, char *tmp, size_t len)
{
	FILE *f;

	snprintf(tmp, len, "%s/%s.tmp", dir, name);
	f = fopen(tmp, "w");
	if (!f)
		fprintf(stderr, "fastipc-bench: cannot write %s: %s\n", tmp, strerror(errno));
	return f;
}

/* Replaces the old file only once the new one is complete. */
static int out_done(FILE *f, const char *tmp)
{
	char dst[4096];
	size_t n = strlen(tmp) - 4;

	if (fclose(f))
		return -errno;
	snprintf(dst, sizeof(dst), "%.*s", (int)n, tmp);
	return rename(tmp, dst) ? -errno : 0;
}

/* Quartiles of @per_run, one of @pt's per-run figures. */
static struct quartiles point_stats(const struct point *pt, const double *per_run)
{
	double v[64];
	int i, n = 0;

	/* The first run is dropped: it pays for whatever the previous point disturbed. */
	for (i = 1; i < pt->nruns && n < 64; i++)
		v[n++] = per_run[i];
	return quartiles(v, n);
}

/* The median of @per_cpu_run, the CPU per operation of each of @pt's CPU runs. */
static double cpu_median(const struct point *pt, const double *per_cpu_run)
{
	double v[BENCH_CPU_RUNS];

	memcpy(v, per_cpu_run, sizeof(v));
	return quartiles(v, pt->ncpu).median;
}

static const char *pattern_of(uint32_t op)
{
	return op == BENCH_ECHO ? "echo" : op == BENCH_ONEWAY ? "oneway" : "stream";
}

/*
 * The @q quantile of @h and a comma; only the comma when @h (NULL for a
 * stream, which times whole runs, not operations) holds fewer than @min
 * samples: a p99 of fewer than 100 is the maximum, not a tail.
 */
static void write_quantile(FILE *f, const struct hist *h, double q, uint64_t min)
{
	if (h && h->n >= min)
		fprintf(f, "%.0f", hist_quantile(h, q));
	fputc(',', f);
}

/* One row of results.csv. */
static void write_point(FILE *f, const struct point *pt, const char *placement,
			const struct quartiles *q)
{
	fprintf(f, "%s,%s,%s,%u,%d,%.1f,%.1f,%.1f,%.2f,", pt->name, pattern_of(pt->op),
		placement, pt->len, pt->nruns - 1, q->median, q->q1, q->q3,
		q->median > 0 ? pt->len * 1e3 / q->median : 0);
	write_quantile(f, pt->hist, 0.5, 1);
	write_quantile(f, pt->hist, 0.99, 100);
	write_quantile(f, pt->hist, 0.999, 1000);
	fprintf(f, "%.1f,%.1f\n", cpu_median(pt, pt->cpu_client),
		cpu_median(pt, pt->cpu_server));
}

/* Lists @pt if its runs spread too far to trust; *@wide counts the listed. */
static void note_wide(const struct point *pt, const char *placement,
		      const struct quartiles *q, int *wide)
{
	if (q->median <= 0 || (q->q3 - q->q1) / q->median <= 0.25)
		return;
	if (!(*wide)++)
		printf("Points too spread to trust (IQR over 25%% of the median; "
		       "ns, instructions on the icount board):\n");
	printf("  wide: %s %s %s %u B: median %.0f, IQR %.0f..%.0f", pt->name,
	       pattern_of(pt->op), placement, pt->len, q->median, q->q1, q->q3);
	if (pt->hist && pt->hist->n >= 100)
		printf(", p99 %.0f", hist_quantile(pt->hist, 0.99));
	printf("\n");
}

static int write_results(const char *dir, const struct placement *pl, int npl)
{
	char tmp[4096];
	FILE *f = out_file(dir, "results.csv", tmp, sizeof(tmp));
	struct quartiles q;
	int i, j, wide = 0;

	if (!f)
		return -errno;
	fprintf(f, "mechanism,pattern,placement,payload_bytes,runs,rtt_ns_median,rtt_ns_q1,"
		"rtt_ns_q3,mb_per_s,p50_ns,p99_ns,p999_ns,cpu_client_ns,cpu_server_ns\n");
	for (i = 0; i < npl; i++)
		for (j = 0; j < pl[i].npts; j++) {
			q = point_stats(&pl[i].pts[j], pl[i].pts[j].ns);
			write_point(f, &pl[i].pts[j], pl[i].name, &q);
			note_wide(&pl[i].pts[j], pl[i].name, &q, &wide);
		}
	if (!wide)
		printf("No point's spread is wide (IQR within 25%% of the median everywhere).\n");
	return out_done(f, tmp);
}

static int write_notes(const char *dir)
{
	char tmp[4096];
	FILE *f = out_file(dir, "mechanisms.csv", tmp, sizeof(tmp));
	int i, v;

	if (!f)
		return -errno;
	fprintf(f, "mechanism,note\n");
	for (i = 0; i < NMECHS; i++) {
		fprintf(f, "%s,\"%s%s\"\n", all_mechs[i]->name, all_mechs[i]->note,
			all_mechs[i]->skip[0] ? " (skipped on this board)" : "");
		for (v = 0; all_mechs[i]->stream_names && all_mechs[i]->stream_names[v]; v++)
			if (strcmp(all_mechs[i]->stream_names[v], all_mechs[i]->name))
				fprintf(f, "%s,\"stream variant of %s%s%s\"\n",
					all_mechs[i]->stream_names[v], all_mechs[i]->name,
					all_mechs[i]->stream_notes ? ": " : "",
					all_mechs[i]->stream_notes ? all_mechs[i]->stream_notes[v] : "");
	}
	/* The async comparison's own mechanisms; its peers are listed above. */
	for (i = 0; i < NAMECHS; i++) {
		for (v = 0; v < NMECHS && strcmp(all_mechs[v]->name, all_amechs[i]->name); v++)
			;
		if (v == NMECHS && !all_amechs[i]->extra)
			fprintf(f, "%s,\"%s%s\"\n", all_amechs[i]->name, all_amechs[i]->note,
				all_amechs[i]->skip[0] ? " (skipped on this board)" : "");
	}
	return out_done(f, tmp);
}

static const struct point *find(const struct placement *pl, const char *name, uint32_t op,
				uint32_t len)
{
	int i;

	for (i = 0; i < pl->npts; i++)
		if (!strcmp(pl->pts[i].name, name) && pl->pts[i].op == op && pl->pts[i].len == len)
			return &pl->pts[i];
	return NULL;
}

static double median_of(const struct placement *pl, const char *name, uint32_t op, uint32_t len)
{
	const struct point *pt = find(pl, name, op, len);

	return pt ? point_stats(pt, pt->ns).median : 0;
}

struct placements {
	const struct placement *pl;
	int n;
};

/* For the cross-checks: the median null echo of @mech in @placement. */
static double null_echo_ns(const void *ctx, const char *mech, const char *placement)
{
	const struct placements *all = ctx;
	int i;

	for (i = 0; i < all->n; i++)
		if (!strcmp(all->pl[i].name, placement))
			return median_of(&all->pl[i], mech, BENCH_ECHO, 0);
	return 0;
}

/* Beside each null and 4 KiB echo, its tail and what each side burns on it: spinning shows. */
static void print_cost(const struct placement *pl)
{
	const struct point *pt;
	int j;

	printf("\necho round trip, %s: median, p99, and CPU per round trip of each side\n",
	       pl->name);
	printf("%-20s %7s %10s %10s %10s %10s\n", "mechanism", "bytes", "median", "p99",
	       "cpu client", "cpu server");
	for (j = 0; j < pl->npts; j++) {
		pt = &pl->pts[j];
		if (pt->op != BENCH_ECHO || (pt->len && pt->len != 4096))
			continue;
		printf("%-20s %7u %10.0f %10.0f %10.0f %10.0f\n", pt->name, pt->len,
		       point_stats(pt, pt->ns).median, hist_quantile(pt->hist, 0.99),
		       cpu_median(pt, pt->cpu_client),
		       cpu_median(pt, pt->cpu_server));
	}
}

/*
 * A first look at the numbers, in ns (instructions on the icount board);
 * the report pipeline makes the real tables.
 */
static void print_summary(const struct placement *pl, int npl, const struct bench_cfg *cfg)
{
	static const char *const peers[] = { "pipe", "unix-stream", "shm-futex", "binder", "memcpy" };
	double f, v;
	int i, s, p;

	for (i = 0; i < npl; i++) {
		print_cost(&pl[i]);
		printf("\necho round trip, %s (median; fastipc/peer ratio in brackets)\n",
		       pl[i].name);
		printf("%9s %10s", "bytes", "fastipc");
		for (p = 0; p < ARRAY_LEN(peers); p++)
			printf(" %20s", peers[p]);
		printf("\n");
		for (s = 0; s < cfg->nsizes; s++) {
			f = median_of(&pl[i], "fastipc", BENCH_ECHO, cfg->sizes[s]);
			if (f > 0)
				printf("%9u %10.0f", cfg->sizes[s], f);
			else
				printf("%9u %10s", cfg->sizes[s], "-");
			for (p = 0; p < ARRAY_LEN(peers); p++) {
				v = median_of(&pl[i], peers[p], BENCH_ECHO, cfg->sizes[s]);
				if (v > 0 && f > 0)
					printf(" %12.0f [%5.2f]", v, f / v);
				else if (v > 0)
					printf(" %20.0f", v);
				else
					printf(" %20s", "-");
			}
			printf("\n");
		}
	}
}

/*
 * On one CPU, SCHED_OTHER decides at every wake-up whether the woken side
 * preempts its waker, by the two tasks' virtual deadlines. Either way there
 * are two context switches per round trip, but by different paths (a
 * preempted task stays queued, a blocked one is dequeued), and the mix
 * drifts with the pair's history: 35 to 65 % preempted for the same null
 * echo on the icount board, moving its count by 5 %. A SCHED_BATCH task
 * never preempts on wake-up, so under it every hand-over blocks the waker,
 * one path whose length repeats. Children and their threads inherit it.
 */
static int set_policy(const char *name)
{
	const struct sched_param prio = { 0 };

	if (!name || !strcmp(name, "other"))
		return 0;
	if (strcmp(name, "batch"))
		return -EINVAL;
	return sched_setscheduler(0, SCHED_BATCH, &prio) ? -errno : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: fastipc-bench [--quick] [--out DIR] [--only MECH,...] [--runs N]\n"
		"                     [--placement same-cpu|cross-cpu] [--no-memory] [--no-perf]\n"
		"                     [--no-sync | --no-async] [--sizes N,...]\n"
		"                     [--patterns echo,oneway,stream] [--no-scale]\n"
		"                     [--run-ms N] [--stream-mib N] [--no-cpu]\n"
		"                     [--sched other|batch]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "out", required_argument, NULL, 'o' },
		{ "only", required_argument, NULL, 'm' },
		{ "runs", required_argument, NULL, 'r' },
		{ "run-ms", required_argument, NULL, 'R' },
		{ "stream-mib", required_argument, NULL, 'B' },
		{ "no-cpu", no_argument, NULL, 'U' },
		{ "placement", required_argument, NULL, 'p' },
		{ "no-memory", no_argument, NULL, 'M' },
		{ "no-perf", no_argument, NULL, 'P' },
		{ "no-sync", no_argument, NULL, 'Y' },
		{ "no-async", no_argument, NULL, 'A' },
		{ "sizes", required_argument, NULL, 's' },
		{ "patterns", required_argument, NULL, 't' },
		{ "no-scale", no_argument, NULL, 'S' },
		{ "sched", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	struct placement pl[2] = {
		{ .name = "same-cpu", .server_cpu = 0 }, { .name = "cross-cpu", .server_cpu = 1 },
	};
	const char *outdir = "bench/out", *only = NULL, *placement = NULL, *patterns = NULL;
	const char *policy = NULL;
	static uint32_t sizes[16];
	int nsizes = 0;
	const char *q = getenv("QUICK");
	bool quick = q && *q && strcmp(q, "0"), memory = true, perf = true, async = true;
	bool sync = true, scale = true;
	struct bench_cfg cfg = { .watchdog_s = 120 };
	struct async_cfg acfg = { .watchdog_s = 120 };
	struct mech *mechs[NMECHS];
	struct amech *amechs[NAMECHS];
	struct bench_params p = { 0 };
	int c, i, nmechs = 0, namechs = 0, npl = 0, runs = 0, ret;
	int run_ms = 0, stream_mib = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'q': quick = true; break;
		case 'o': outdir = optarg; break;
		case 'm': only = optarg; break;
		case 'r': runs = atoi(optarg); break;
		case 'R': run_ms = atoi(optarg); break;
		case 'B': stream_mib = atoi(optarg); break;
		case 'U': cfg.no_cpu = true; break;
		case 'p': placement = optarg; break;
		case 'M': memory = false; break;
		case 'P': perf = false; break;
		case 'Y': sync = false; break;
		case 'A': async = false; break;
		case 's': nsizes = parse_sizes(optarg, sizes, ARRAY_LEN(sizes)); break;
		case 't': patterns = optarg; break;
		case 'S': scale = false; break;
		case 'C': policy = optarg; break;
		default: usage();
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = set_policy(policy);
	if (ret == -EINVAL)
		usage();
	if (ret) {
		bench_fail("--sched", ret);
		return 1;
	}
	cfg.sizes = quick ? quick_sizes : full_sizes;
	cfg.nsizes = quick ? ARRAY_LEN(quick_sizes) : ARRAY_LEN(full_sizes);
	if (nsizes) {
		cfg.sizes = sizes;
		cfg.nsizes = nsizes;
	}
	cfg.patterns = (listed(patterns, "echo") ? 1u << BENCH_ECHO : 0) |
		       (listed(patterns, "oneway") ? 1u << BENCH_ONEWAY : 0) |
		       (listed(patterns, "stream") ? 1u << BENCH_STREAM : 0);
	cfg.chunks = quick ? quick_chunks : full_chunks;
	cfg.nchunks = quick ? ARRAY_LEN(quick_chunks) : ARRAY_LEN(full_chunks);
	cfg.runs = runs > 1 ? runs : quick ? 4 : 8;
	cfg.run_ns = (run_ms > 0 ? run_ms : quick ? 5 : 10) * 1000000ull;
	cfg.stream_total = (stream_mib > 0 ? stream_mib : quick ? 4 : 16) * (uint64_t)MiB;
	p.client_cpu = 0;
	/* At least a page: mechanisms register buffers this large, and none may be empty. */
	p.max_payload = cfg.sizes[cfg.nsizes - 1] > 4096 ? cfg.sizes[cfg.nsizes - 1] : 4096;
	p.max_chunk = cfg.chunks[cfg.nchunks - 1];
	for (i = 0; sync && i < NMECHS; i++)
		if (listed(only, all_mechs[i]->name))
			mechs[nmechs++] = all_mechs[i];
	for (i = 0; perf && i < nmechs; i++)
		cfg.perf |= crosscheck_has_tool(mechs[i]->name);
	scale = scale && listed(only, mech_fastipc.name);
	for (i = 0; async && i < NAMECHS; i++)
		if (listed(only, all_amechs[i]->name) && (only || !all_amechs[i]->extra))
			amechs[namechs++] = all_amechs[i];
	acfg.sizes = async_sizes;
	acfg.nsizes = ARRAY_LEN(async_sizes);
	acfg.depths = async_depths;
	acfg.ndepths = ARRAY_LEN(async_depths);
	/* A whole async point takes little: longer runs, and more, steady its figures. */
	acfg.runs = runs > 1 ? runs : quick ? 4 : 9;
	acfg.run_ns = 2 * cfg.run_ns;
	acfg.placement = placement;
	for (i = 0; i < 2; i++) {
		if (placement && strcmp(placement, pl[i].name))
			continue;
		if (pl[i].server_cpu && sysconf(_SC_NPROCESSORS_ONLN) < 2) {
			fprintf(stderr, "fastipc-bench: one CPU only: no cross-cpu placement\n");
			continue;
		}
		pl[npl++] = pl[i];
	}
	if ((!nmechs && !namechs && !scale) || !npl)
		usage();
	fprintf(stderr, "fastipc-bench: %s run: %d mechanisms, %d sizes, %d runs per point; "
		"async: %d mechanisms, %d runs per point; SCHED_%s; output in %s\n",
		quick ? "quick" : "full", nmechs, cfg.nsizes, cfg.runs, namechs, acfg.runs,
		policy && !strcmp(policy, "batch") ? "BATCH" : "OTHER", outdir);
	if (mkdir(outdir, 0755) && errno != EEXIST) {
		bench_fail(outdir, errno);
		return 1;
	}
	if (memory && measure_memory(outdir))
		return 1;
	bench_progress_total(npl);
	for (i = 0; nmechs && i < npl; i++) {
		p.server_cpu = pl[i].server_cpu;
		p.same_cpu = p.server_cpu == p.client_cpu;
		ret = pin_cpu(p.client_cpu);
		if (!ret)
			ret = bench_placement(&cfg, mechs, nmechs, &p, pl[i].name, &pl[i].pts,
					      &pl[i].npts);
		if (ret) {
			bench_fail(pl[i].name, ret);
			return 1;
		}
	}
	if (nmechs) {
		if (write_results(outdir, pl, npl))
			return 1;
		print_summary(pl, npl, &cfg);
	}
	if (namechs) {
		ret = async_bench(&acfg, amechs, namechs, outdir);
		if (ret) {
			bench_fail("async", ret);
			return 1;
		}
	}
	if (scale && scale_bench(outdir, quick, runs))
		return 1;
	if (write_notes(outdir))
		return 1;
	if (cfg.perf) {
		const struct placements all = { pl, npl };

		if (crosscheck_write(outdir, null_echo_ns, &all))
			return 1;
	}
	printf("\nfastipc-bench: results in %s/results.csv and %s/async.csv\n", outdir, outdir);
	return 0;
}
