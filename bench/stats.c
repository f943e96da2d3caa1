// SPDX-License-Identifier: GPL-2.0
/*
 * Quartiles of the per-run means, and the histogram of every operation's
 * time that the tails (p50, p99, p99.9) come from.
 */
#include "bench.h"

#include <math.h>
#include <stdlib.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Linear interpolation between order statistics; sorts @v. */
static double quantile(const double *v, int n, double q)
{
	double pos = q * (n - 1);
	int i = (int)pos;

	if (i + 1 >= n)
		return v[n - 1];
	return v[i] + (pos - i) * (v[i + 1] - v[i]);
}

struct quartiles quartiles(double *v, int n)
{
	struct quartiles q = { 0 };

	if (n <= 0)
		return q;
	qsort(v, n, sizeof(*v), cmp_double);
	q.q1 = quantile(v, n, 0.25);
	q.median = quantile(v, n, 0.5);
	q.q3 = quantile(v, n, 0.75);
	return q;
}

/*
 * Bucket of @v: below HIST_SUB the value itself; above, HIST_SUB buckets
 * per power of two, the value's top HIST_SUB_BITS + 1 bits. The buckets of
 * [2^e, 2^(e+1)) start at (e - HIST_SUB_BITS + 1) * HIST_SUB.
 */
static unsigned int hist_bucket(uint64_t v)
{
	unsigned int e;

	if (v < HIST_SUB)
		return v;
	e = 63 - __builtin_clzll(v);
	return ((e - HIST_SUB_BITS + 1) << HIST_SUB_BITS) +
	       ((v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

void hist_add(struct hist *h, uint64_t v)
{
	h->count[hist_bucket(v)]++;
	h->n++;
}

/* The middle of bucket @b's values: within 1/(2 * HIST_SUB) of any of them. */
static double hist_value(unsigned int b)
{
	unsigned int g = b >> HIST_SUB_BITS;
	uint64_t lo, width;

	if (!g)
		return b;
	lo = (uint64_t)(HIST_SUB + (b & (HIST_SUB - 1))) << (g - 1);
	width = 1ull << (g - 1);
	return lo + (width - 1) / 2.0;
}

/* The @q quantile (0 < q <= 1) by nearest rank; 0 for an empty histogram. */
double hist_quantile(const struct hist *h, double q)
{
	uint64_t rank = (uint64_t)ceil(q * h->n), seen = 0;
	unsigned int b;

	if (!h->n)
		return 0;
	if (!rank)
		rank = 1;
	for (b = 0; b < HIST_BUCKETS; b++) {
		seen += h->count[b];
		if (seen >= rank)
			return hist_value(b);
	}
	return hist_value(HIST_BUCKETS - 1);
}
