// SPDX-License-Identifier: GPL-2.0
/*
 * libfastipc-ring: N calls outstanding through libfastipc's asynchronous
 * API, one thread and one struct fastipc_ring, against the libfastipc
 * server process of the libfastipc rows (mech_lib.c). Set against
 * fastipc-async, which drives the same io_uring commands by hand, this is
 * what the library's ring costs.
 */
#include "async.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfastipc.h>

/* A completion's user_data: the call's number in the run, and the request buffer it went from. */
#define LR_UD(n, slot)	((n) << 8 | (slot))
#define LR_CALL(ud)	((ud) >> 8)
#define LR_SLOT(ud)	((int)((ud) & 0xff))

struct lring {
	struct srv srv;
	struct fastipc_client *client;
	struct fastipc_ring *ring;
};

static int lring_start(struct amech *m, const struct async_params *p)
{
	/* Room for the tag; whole cache lines, as the raw server's 4 KiB slots are. */
	uint32_t slot = (p->max_payload + ASYNC_TAG_LEN + 63) & ~63u;
	struct lring *l = calloc(1, sizeof(*l));
	int ret;

	if (!l)
		return -ENOMEM;
	m->priv = l;
	ret = fastipc_ring_create(p->max_qd, 0, &l->ring);
	if (ret) {
		snprintf(m->skip, sizeof(m->skip), "no fastipc ring: %s", strerror(-ret));
		return ret;
	}
	/* One slot per outstanding call, as fastipc-async's server has: no call waits for room. */
	ret = lib_start(&l->srv, p->server_cpu, slot, p->max_qd, p->max_payload, &l->client);
	m->server_pid = l->srv.pid;
	return ret;
}

/* Call @n of the run, from request buffer @slot, with its tag in the headroom before it. */
static int lring_call(struct lring *l, const struct async_run *r, uint64_t n, int slot)
{
	uint8_t *req = async_req(r->reqs, slot);
	uint32_t tag = ASYNC_TAG(async_stamp(req, r->len, r->seq + n));

	memcpy(req - ASYNC_TAG_LEN, &tag, ASYNC_TAG_LEN);
	return fastipc_ring_prep_call(l->ring, l->client, ASYNC_TAGGED_ECHO, req - ASYNC_TAG_LEN,
				      r->len + ASYNC_TAG_LEN, LR_UD(n, slot));
}

static int lring_run(struct amech *m, struct async_run *r)
{
	struct fastipc_completion comps[ASYNC_MAX_QD];
	struct lring *l = m->priv;
	uint64_t issued = 0, done = 0, c;
	int i, n, ret = 0;

	for (; !ret && issued < r->calls && issued < (uint64_t)r->qd; issued++)
		ret = lring_call(l, r, issued, issued);
	while (!ret && done < r->calls) {
		/* Submits the calls just prepared and waits for the next reply. */
		n = fastipc_ring_reap(l->ring, comps, ASYNC_MAX_QD, 1, 0);
		if (n == -EINTR)
			continue;
		if (n < 0)
			return n;
		for (i = 0; i < n && !ret; i++) {
			if (comps[i].result)
				return comps[i].result;
			c = LR_CALL(comps[i].user_data);
			if (comps[i].len > r->stride)
				return -EMSGSIZE;
			/*
			 * The reply is the library's only until the next reap: into
			 * its room, for the harness to check after the run.
			 */
			memcpy(r->area + c * r->stride, comps[i].data, comps[i].len);
			r->status[c] = comps[i].status;
			r->rlen[c] = comps[i].len;
			done++;
			if (issued < r->calls)
				ret = lring_call(l, r, issued++, LR_SLOT(comps[i].user_data));
		}
	}
	return ret;
}

static int lring_stop(struct amech *m)
{
	struct lring *l = m->priv;
	int ret;

	if (!l)
		return 0;
	fastipc_ring_destroy(l->ring);
	ret = lib_stop(&l->srv, l->client, false);
	free(l);
	m->priv = NULL;
	return ret;
}

struct amech amech_libfastipc_ring = {
	.name = "libfastipc-ring",
	.note = "async comparison only: fastipc_ring_prep_call() from one thread and one "
		"fastipc_ring keeping N in flight, fastipc_ring_reap() for the replies, each copied "
		"out of the library's reply room (valid until the next reap); a 4-byte tag heads "
		"each request; server: the libfastipc rows' server process "
		"(fastipc_server_run(), one thread), one slot per outstanding call",
	.form = ASYNC_ROOMS,
	.start = lring_start,
	.run = lring_run,
	.stop = lring_stop,
};
