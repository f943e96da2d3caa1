// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * async_client: calls several echo_servers at once through a ring, a batch
 * at a time, and checks every reply.
 *
 *	async_client [-c COUNT] [-b BATCH] [-q] NAME...
 *
 * Each batch queues BATCH calls spread over the servers NAME..., submits
 * them with one system call and reaps the replies in whatever order they
 * come. -q then tells each server to quit, with one-way messages sent
 * through the ring too. Prints "ok COUNT" on success.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libfastipc.h>

#include "echo.h"

/* A request in flight: its bytes stay put until its completion. */
struct request {
	char buf[64];
	uint32_t len;
};

static int fail(const char *what, int err)
{
	fprintf(stderr, "async_client: %s: %s\n", what, strerror(-err));
	return 1;
}

/* Makes @n calls, the i-th to @clients[(@first + i) % @nclients]; 0 or 1. */
static int batch(struct fastipc_ring *ring, struct fastipc_client **clients,
		 unsigned int nclients, unsigned long first, unsigned int n,
		 struct request *reqs, struct fastipc_completion *comps)
{
	const struct fastipc_completion *c;
	const struct request *rq;
	unsigned int i, got;
	int ret;

	for (i = 0; i < n; i++) {
		reqs[i].len = snprintf(reqs[i].buf, sizeof(reqs[i].buf), "hello %lu", first + i);
		/* The user_data says which request a completion answers. */
		ret = fastipc_ring_prep_call(ring, clients[(first + i) % nclients], ECHO_OP_ECHO,
					     reqs[i].buf, reqs[i].len, i);
		if (ret)
			return fail("prep call", ret);
	}
	ret = fastipc_ring_submit(ring);
	if (ret < 0)
		return fail("submit", ret);
	for (got = 0; got < n; got += ret) {
		/* Wait for one at least; take as many as are there. */
		ret = fastipc_ring_reap(ring, comps, n - got, 1, 0);
		if (ret < 0)
			return fail("reap", ret);
		for (c = comps; c < comps + ret; c++) {
			rq = &reqs[c->user_data];
			if (c->result)
				return fail("call", c->result);
			/* c->data is valid until the next reap. */
			if (c->status || c->len != rq->len || memcmp(c->data, rq->buf, rq->len)) {
				fprintf(stderr, "async_client: bad reply to \"%s\" (status %d)\n",
					rq->buf, c->status);
				return 1;
			}
		}
	}
	return 0;
}

/* Tells every server to quit; 0 or 1. */
static int quit_all(struct fastipc_ring *ring, struct fastipc_client **clients,
		    unsigned int nclients, struct fastipc_completion *comps)
{
	unsigned int i;
	int ret;

	for (i = 0; i < nclients; i++) {
		ret = fastipc_ring_prep_send(ring, clients[i], ECHO_OP_QUIT, NULL, 0, 0, i);
		if (ret)
			return fail("prep send", ret);
	}
	/* reap() submits what is queued itself. */
	ret = fastipc_ring_reap(ring, comps, nclients, nclients, 0);
	if (ret < 0)
		return fail("reap", ret);
	for (i = 0; i < (unsigned int)ret; i++) {
		if (comps[i].result)
			return fail("quit", comps[i].result);
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long done, count = 1000;
	unsigned int i, n, nbatch = 16, nclients;
	struct fastipc_client **clients;
	struct fastipc_completion *comps;
	struct fastipc_ring *ring;
	struct request *reqs;
	bool quit = false;
	int opt, ret, err = 0;

	while ((opt = getopt(argc, argv, "c:b:q")) != -1) {
		switch (opt) {
		case 'c':
			count = strtoul(optarg, NULL, 0);
			break;
		case 'b':
			nbatch = strtoul(optarg, NULL, 0);
			break;
		case 'q':
			quit = true;
			break;
		default:
			optind = argc + 1;
		}
	}
	if (optind >= argc || !nbatch) {
		fprintf(stderr, "usage: %s [-c COUNT] [-b BATCH] [-q] NAME...\n", argv[0]);
		return 2;
	}
	nclients = argc - optind;

	ret = fastipc_ring_create(0, 0, &ring);
	if (ret)
		return fail("ring", ret);
	clients = calloc(nclients, sizeof(*clients));
	reqs = calloc(nbatch, sizeof(*reqs));
	comps = calloc(nbatch > nclients ? nbatch : nclients, sizeof(*comps));
	if (!clients || !reqs || !comps)
		return fail("calloc", -ENOMEM);
	for (i = 0; i < nclients; i++) {
		ret = fastipc_client_connect_name(argv[optind + i], NULL, &clients[i]);
		if (ret)
			return fail(argv[optind + i], ret);
	}

	for (done = 0; done < count && !err; done += n) {
		n = count - done < nbatch ? count - done : nbatch;
		err = batch(ring, clients, nclients, done, n, reqs, comps);
	}
	if (!err && quit)
		err = quit_all(ring, clients, nclients, comps);
	if (!err)
		printf("ok %lu\n", count);

	fastipc_ring_destroy(ring);
	for (i = 0; i < nclients; i++)
		fastipc_client_close(clients[i]);
	free(clients);
	free(reqs);
	free(comps);
	return err;
}
