// SPDX-License-Identifier: GPL-2.0
/*
 * libfastipc's short circuit: client and server in one process, so the call
 * runs the handler on the calling thread without a system call (the Motorola
 * thesis's same-process calls). The handler reads the request where the
 * caller holds it and writes the reply into the client's reply buffer.
 */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libfastipc.h>

struct sc {
	struct fastipc_server *server;
	struct fastipc_client *client;
};

static struct sc sc;

static int32_t sc_handler(struct fastipc_server *server, struct fastipc_msg *msg, void *arg)
{
	(void)server;
	(void)arg;
	switch (BENCH_OP(msg->opcode)) {
	case BENCH_ECHO:
		if (msg->len > msg->reply_cap)
			return -EMSGSIZE;
		memcpy(msg->reply, msg->data, msg->len);
		msg->reply_len = msg->len;
		return 0;
	case BENCH_ONEWAY:
		return bench_status(msg->data, msg->len);
	default:
		return BENCH_QUIT_STATUS;
	}
}

static int sc_start(struct mech *m, const struct bench_params *p)
{
	struct fastipc_server_params sp = { .slot_size = p->max_payload, .nslots = 1 };
	struct fastipc_client_params cp = { .reply_size = p->max_payload };
	static const uint32_t ops[] = { BENCH_ECHO, BENCH_ONEWAY, BENCH_QUIT };
	unsigned int i;
	int ret;

	m->priv = &sc;
	ret = fastipc_server_create(&sp, &sc.server);
	for (i = 0; !ret && i < 3; i++)
		ret = fastipc_server_set_handler(sc.server, ops[i], sc_handler, NULL);
	if (!ret)
		ret = fastipc_client_connect_fd(fastipc_server_fd(sc.server), &cp, &sc.client);
	if (ret)
		return ret;
	if (!fastipc_client_is_local(sc.client)) {
		snprintf(m->skip, sizeof(m->skip),
			 "libfastipc did not short-circuit the call (FASTIPC_SHORT_CIRCUIT=0?)");
		return -EOPNOTSUPP;
	}
	return 0;
}

/* A call through @client, the reply left in the library's reply buffer; mech_lib.c's too. */
int lib_call(struct fastipc_client *client, struct bench_call *c)
{
	struct fastipc_reply r;
	int ret = fastipc_call(client, c->op, c->req, c->len, &r, 0);

	if (ret)
		return ret;
	c->reply = r.data;
	c->reply_len = r.len;
	c->status = r.status;
	return 0;
}

static int sc_call(struct mech *m, struct bench_call *c)
{
	(void)m;
	return lib_call(sc.client, c);
}

static int sc_stop(struct mech *m)
{
	fastipc_client_close(sc.client);
	fastipc_server_destroy(sc.server);
	sc.client = NULL;
	sc.server = NULL;
	m->priv = NULL;
	return 0;
}

struct mech mech_short_circuit = {
	.name = "short-circuit",
	.note = "libfastipc, client and server in one process: the handler runs on the caller's thread; placement has no effect",
	.in_process = true,
	.start = sc_start,
	.call = sc_call,
	.stop = sc_stop,
};
