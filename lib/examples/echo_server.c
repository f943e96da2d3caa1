// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * echo_server: answers every ECHO call with its request, on a pool of
 * threads, until a QUIT message, SIGINT or SIGTERM.
 *
 *	echo_server [-n NAME] [-t THREADS]
 *
 * Prints "ready" once the endpoint exists, and "served N" when it stops.
 */
#include <signal.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libfastipc.h>

#include "echo.h"

static struct fastipc_server *server;
static unsigned long served;

static int32_t do_echo(struct fastipc_server *srv, struct fastipc_msg *msg, void *arg)
{
	if (msg->len > msg->reply_cap)
		return -EMSGSIZE;
	/* The request sits in the receive pool: one copy, into the reply. */
	memcpy(msg->reply, msg->data, msg->len);
	msg->reply_len = msg->len;
	__atomic_add_fetch(&served, 1, __ATOMIC_RELAXED);
	return 0;
}

static int32_t do_quit(struct fastipc_server *srv, struct fastipc_msg *msg, void *arg)
{
	fastipc_server_stop(srv);
	return 0;
}

static void on_signal(int sig)
{
	fastipc_server_stop(server);
}

int main(int argc, char **argv)
{
	struct fastipc_server_params params = {
		.name = ECHO_DEFAULT_NAME,
		.mode = 0666,
		.slot_size = ECHO_MAX_LEN,
	};
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned int nthreads = 4;
	int opt, ret;

	while ((opt = getopt(argc, argv, "n:t:")) != -1) {
		switch (opt) {
		case 'n':
			params.name = optarg;
			break;
		case 't':
			nthreads = strtoul(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: %s [-n NAME] [-t THREADS]\n", argv[0]);
			return 2;
		}
	}

	ret = fastipc_server_create(&params, &server);
	if (ret) {
		fprintf(stderr, "echo_server: %s: %s\n", params.name, strerror(-ret));
		return 1;
	}
	fastipc_server_set_handler(server, ECHO_OP_ECHO, do_echo, NULL);
	fastipc_server_set_handler(server, ECHO_OP_QUIT, do_quit, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	printf("ready\n");
	fflush(stdout);

	ret = fastipc_server_run(server, nthreads);
	if (ret)
		fprintf(stderr, "echo_server: %s\n", strerror(-ret));
	printf("served %lu\n", served);
	fastipc_server_destroy(server);
	return ret ? 1 : 0;
}
