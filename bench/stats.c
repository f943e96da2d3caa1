// SPDX-License-Identifier: GPL-2.0
/* Quartiles of the per-run means. */
#include "bench.h"

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
