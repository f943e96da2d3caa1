// SPDX-License-Identifier: GPL-2.0
/*
 * `perf bench sched pipe` in the same placements, beside the bench's own
 * pipe null echo: if the two disagree by more than 15%, either the harness
 * or the board is off, and the report says so.
 */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* perf's usecs per round trip, or a negative value when it would not run. */
static double perf_pipe(const char *cpus, int loops)
{
	char cmd[256], line[256];
	double us = -1, v;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "taskset -c %s perf bench sched pipe -l %d 2>&1", cpus, loops);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p))
		if (strstr(line, "usecs/op") && sscanf(line, "%lf", &v) == 1)
			us = v;
	return pclose(p) ? -1 : us;
}

int perf_compare(const char *outdir, double pipe_same_ns, double pipe_cross_ns, bool quick)
{
	const struct {
		const char *placement, *cpus;
		double ours_ns;
	} cases[] = {
		{ "same-cpu", "0", pipe_same_ns },
		{ "cross-cpu", "0,1", pipe_cross_ns },
	};
	char path[4096], line[512];
	int i, loops;
	double us, diff;
	FILE *f;

	snprintf(path, sizeof(path), "%s/perf.txt", outdir);
	f = fopen(path, "w");
	if (!f)
		return bench_fail(path, errno);
	printf("\nperf bench sched pipe against the bench's pipe null echo:\n");
	for (i = 0; i < 2; i++) {
		if (cases[i].ours_ns <= 0)
			continue;
		/* About as long as our own pipe run took per point: a few seconds at most. */
		loops = (quick ? 1e9 : 3e9) / cases[i].ours_ns;
		loops = loops < 500 ? 500 : loops > 50000 ? 50000 : loops;
		us = perf_pipe(cases[i].cpus, loops);
		if (us <= 0) {
			snprintf(line, sizeof(line),
				 "%s: perf bench sched pipe did not run (is linux-perf installed?)\n",
				 cases[i].placement);
		} else {
			diff = (cases[i].ours_ns / 1e3 - us) / us;
			snprintf(line, sizeof(line),
				 "%s: perf bench sched pipe (taskset -c %s, %d loops) %.2f usecs/op; fastipc-bench pipe echo 0 B %.2f usecs/op (%+.0f%%)%s\n",
				 cases[i].placement, cases[i].cpus, loops, us, cases[i].ours_ns / 1e3,
				 100 * diff,
				 fabs(diff) > 0.15 ? "\nWARNING: they differ by more than 15%: the board was noisy or the harness adds cost" : "");
		}
		fputs(line, f);
		fputs(line, stdout);
	}
	return fclose(f) ? bench_fail(path, errno) : 0;
}
