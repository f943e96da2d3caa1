/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/* evloop_server's protocol. */
#ifndef EVLOOP_H
#define EVLOOP_H

#include <stdint.h>

#define EVLOOP_DEFAULT_NAME	"fastipc.example.evloop"
/* A call with no request: the reply is a struct evloop_stats. */
#define EVLOOP_OP_STATS		1

struct evloop_stats {
	uint64_t ticks;		/* timer expirations so far */
	uint64_t lines;		/* input lines counted */
	uint64_t calls;		/* STATS calls, this one included */
};

#endif /* EVLOOP_H */
