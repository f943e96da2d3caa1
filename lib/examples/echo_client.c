// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * echo_client: calls an echo_server COUNT times and checks every reply.
 *
 *	echo_client [-n NAME] [-c COUNT] [-q]
 *
 * -q then tells the server to quit. Prints "ok COUNT" on success.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libfastipc.h>

#include "echo.h"

int main(int argc, char **argv)
{
	const char *name = ECHO_DEFAULT_NAME;
	struct fastipc_client *client;
	struct fastipc_reply reply;
	unsigned long i, count = 1000;
	bool quit = false;
	char req[64];
	int opt, ret, len;

	while ((opt = getopt(argc, argv, "n:c:q")) != -1) {
		switch (opt) {
		case 'n':
			name = optarg;
			break;
		case 'c':
			count = strtoul(optarg, NULL, 0);
			break;
		case 'q':
			quit = true;
			break;
		default:
			fprintf(stderr, "usage: %s [-n NAME] [-c COUNT] [-q]\n", argv[0]);
			return 2;
		}
	}

	ret = fastipc_client_connect_name(name, NULL, &client);
	if (ret) {
		fprintf(stderr, "echo_client: %s: %s\n", name, strerror(-ret));
		return 1;
	}
	for (i = 0; i < count; i++) {
		len = snprintf(req, sizeof(req), "hello %lu", i);
		ret = fastipc_call(client, ECHO_OP_ECHO, req, len, &reply, 0);
		if (ret) {
			fprintf(stderr, "echo_client: call %lu: %s\n", i, strerror(-ret));
			return 1;
		}
		/* reply.data stays valid until this thread's next call. */
		if (reply.status || reply.len != (uint32_t)len || memcmp(reply.data, req, len)) {
			fprintf(stderr, "echo_client: call %lu: bad reply (status %d)\n", i,
				reply.status);
			return 1;
		}
	}
	if (quit) {
		ret = fastipc_send(client, ECHO_OP_QUIT, NULL, 0, FASTIPC_SEND_WAIT);
		if (ret) {
			fprintf(stderr, "echo_client: quit: %s\n", strerror(-ret));
			return 1;
		}
	}
	printf("ok %lu\n", count);
	fastipc_client_close(client);
	return 0;
}
