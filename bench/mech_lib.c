// SPDX-License-Identifier: GPL-2.0
/*
 * libfastipc across processes: the bench calls through a library client,
 * and a server process serves a named endpoint as a service would, with
 * fastipc_server_run() on its main thread and a handler per opcode. Set
 * against the raw fastipc rows this is what the library costs: a handler
 * writes its reply into the library's reply buffer, which the kernel then
 * copies out, where the raw server replies straight from the pool slot.
 * The server is async_lib.c's too.
 */
#include "bench.h"
#include "async.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libfastipc.h>

static int32_t lib_echo(struct fastipc_server *server, struct fastipc_msg *msg, void *arg)
{
	(void)server;
	(void)arg;
	if (msg->len > msg->reply_cap)
		return -EMSGSIZE;
	memcpy(msg->reply, msg->data, msg->len);
	msg->reply_len = msg->len;
	return 0;
}

/* The async rows' echo: a tag, returned as the status, then the bytes to echo. */
static int32_t lib_echo_tagged(struct fastipc_server *server, struct fastipc_msg *msg, void *arg)
{
	const uint8_t *data = msg->data;
	uint32_t tag, len = msg->len - ASYNC_TAG_LEN;

	(void)server;
	(void)arg;
	if (msg->len < ASYNC_TAG_LEN)
		return -EPROTO;
	if (len > msg->reply_cap)
		return -EMSGSIZE;
	memcpy(&tag, data, ASYNC_TAG_LEN);
	memcpy(msg->reply, data + ASYNC_TAG_LEN, len);
	msg->reply_len = len;
	return tag;
}

static int32_t lib_oneway(struct fastipc_server *server, struct fastipc_msg *msg, void *arg)
{
	(void)server;
	(void)arg;
	return bench_status(msg->data, msg->len);
}

/* The reply goes out before fastipc_server_run() returns. */
static int32_t lib_quit(struct fastipc_server *server, struct fastipc_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	fastipc_server_stop(server);
	return BENCH_QUIT_STATUS;
}

static const struct {
	uint32_t opcode;
	fastipc_handler_t fn;
} lib_ops[] = {
	{ BENCH_ECHO, lib_echo },
	{ ASYNC_TAGGED_ECHO, lib_echo_tagged },
	{ BENCH_ONEWAY, lib_oneway },
	{ BENCH_QUIT, lib_quit },
};

static void lib_name(char *name, size_t len, pid_t pid)
{
	snprintf(name, len, "fastipc-bench.%d", (int)pid);
}

/* The server process: until BENCH_QUIT, which its exit status 0 follows. */
static int lib_serve(struct srv *srv, uint32_t slot, uint32_t nslots)
{
	char name[FASTIPC_NAME_MAX];
	struct fastipc_server_params sp = { .name = name, .slot_size = slot, .nslots = nslots };
	struct fastipc_server *server = NULL;
	unsigned int i;
	int ret;

	lib_name(name, sizeof(name), getpid());
	ret = fastipc_server_create(&sp, &server);
	for (i = 0; !ret && i < sizeof(lib_ops) / sizeof(lib_ops[0]); i++)
		ret = fastipc_server_set_handler(server, lib_ops[i].opcode, lib_ops[i].fn, NULL);
	srv_ready(srv, -ret);
	if (!ret)
		ret = fastipc_server_run(server, 1);
	fastipc_server_destroy(server);
	return ret;
}

/*
 * Forks a server on @cpu whose endpoint has @nslots slots of @slot bytes,
 * and connects *@clientp to it with replies of up to @reply bytes.
 */
int lib_start(struct srv *srv, int cpu, uint32_t slot, uint32_t nslots, uint32_t reply,
	      struct fastipc_client **clientp)
{
	struct fastipc_client_params cp = { .reply_size = reply };
	char name[FASTIPC_NAME_MAX];
	int ret;

	*clientp = NULL;
	ret = srv_fork(srv, cpu);
	if (ret == 0)
		_exit(lib_serve(srv, slot, nslots) ? 1 : 0);
	if (ret > 0)
		ret = srv_wait_ready(srv);
	if (ret)
		return ret;
	lib_name(name, sizeof(name), srv->pid);
	return fastipc_client_connect_name(name, &cp, clientp);
}

/* Stops the server, asking it to quit first unless it did (@quit): its exit status. */
int lib_stop(struct srv *srv, struct fastipc_client *client, bool quit)
{
	struct fastipc_reply r;

	if (!quit && client)
		quit = !fastipc_call(client, BENCH_QUIT, NULL, 0, &r, 0) &&
		       (uint32_t)r.status == BENCH_QUIT_STATUS;
	fastipc_client_close(client);
	return srv_stop(srv, quit);
}

struct lib {
	struct srv srv;
	struct fastipc_client *client;
};

static int lib_mech_start(struct mech *m, const struct bench_params *p)
{
	struct lib *l = calloc(1, sizeof(*l));
	int ret;

	if (!l)
		return -ENOMEM;
	m->priv = l;
	if (access("/dev/fastipc", F_OK)) {
		snprintf(m->skip, sizeof(m->skip), "no /dev/fastipc");
		return -ENOENT;
	}
	/* Two slots: the call, and the server's own wake-up when it stops. */
	ret = lib_start(&l->srv, p->server_cpu, p->max_payload, 2, p->max_payload, &l->client);
	m->server_pid = l->srv.pid;
	return ret;
}

static int lib_mech_call(struct mech *m, struct bench_call *c)
{
	struct lib *l = m->priv;

	return lib_call(l->client, c);
}

static int lib_mech_stop(struct mech *m)
{
	struct lib *l = m->priv;
	int ret;

	if (!l)
		return 0;
	ret = lib_stop(&l->srv, l->client, m->quit);
	free(l);
	m->priv = NULL;
	return ret;
}

struct mech mech_libfastipc = {
	.name = "libfastipc",
	.note = "libfastipc client (fastipc_call()) against a libfastipc server process: a named "
		"endpoint of two slots served by fastipc_server_run() with one thread, a handler "
		"per opcode; the echo handler copies the request into the library's reply buffer",
	.start = lib_mech_start,
	.call = lib_mech_call,
	.stop = lib_mech_stop,
};
