// SPDX-License-Identifier: GPL-2.0
/*
 * memcpy: no IPC at all, one process doing the copies an echo implies (the
 * request into a "server" buffer, the reply out of it): the floor every
 * mechanism's echo is measured against, as EROS measured against bcopy.
 */
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct local {
	uint8_t *srv, *reply;
	size_t len;
};

static int memcpy_start(struct mech *m, const struct bench_params *p)
{
	struct local *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	m->priv = l;
	l->len = p->max_payload;
	l->srv = bench_map(l->len, false);
	l->reply = bench_map(l->len, false);
	return l->srv && l->reply ? 0 : -ENOMEM;
}

static int memcpy_call(struct mech *m, struct bench_call *c)
{
	struct local *l = m->priv;

	memcpy(l->srv, c->req, c->len);
	switch (BENCH_OP(c->op)) {
	case BENCH_ECHO:
		memcpy(l->reply, l->srv, c->len);
		c->reply_len = c->len;
		c->status = 0;
		break;
	case BENCH_ONEWAY:
		c->reply_len = 0;
		c->status = bench_status(l->srv, c->len);
		break;
	default:
		c->reply_len = 0;
		c->status = BENCH_QUIT_STATUS;
		break;
	}
	c->reply = l->reply;
	return 0;
}

static int memcpy_stop(struct mech *m)
{
	struct local *l = m->priv;

	if (!l)
		return 0;
	if (l->srv)
		munmap(l->srv, l->len);
	if (l->reply)
		munmap(l->reply, l->len);
	free(l);
	m->priv = NULL;
	return 0;
}

struct mech mech_memcpy = {
	.name = "memcpy",
	.note = "one process, two memcpy of N per echo (one per oneway): the floor",
	.in_process = true,
	.start = memcpy_start,
	.call = memcpy_call,
	.stop = memcpy_stop,
};
