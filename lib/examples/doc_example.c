// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * The example of Documentation/libfastipc.rst: an upper-casing service.
 *
 *	doc_example server NAME          serve until a client says quit
 *	doc_example client NAME WORD...  upper-case each WORD, then say quit
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libfastipc.h>

enum { OP_UPPER = 1, OP_LOG = 2, OP_QUIT = 3 };

/* A call: the reply is the request in capitals. */
static int32_t upper(struct fastipc_server *srv, struct fastipc_msg *msg, void *arg)
{
	const char *in = msg->data;	/* in place in the receive pool */
	char *out = msg->reply;
	uint32_t i;

	if (msg->len > msg->reply_cap)
		return -EMSGSIZE;
	for (i = 0; i < msg->len; i++)
		out[i] = toupper((unsigned char)in[i]);
	msg->reply_len = msg->len;
	return 0;		/* the status word the caller gets */
}

/* One-way messages: no reply, the sender does not wait. */
static int32_t log_msg(struct fastipc_server *srv, struct fastipc_msg *msg, void *arg)
{
	printf("server: pid %d uid %d says %.*s\n", (int)msg->pid, (int)msg->uid,
	       (int)msg->len, (const char *)msg->data);
	fflush(stdout);
	return 0;
}

static int32_t quit(struct fastipc_server *srv, struct fastipc_msg *msg, void *arg)
{
	fastipc_server_stop(srv);
	return 0;
}

static int server(const char *name)
{
	struct fastipc_server_params params = {
		.name = name,
		.mode = 0600,		/* only our uid may connect */
		.slot_size = 256,	/* the largest request */
		.nslots = 16,		/* requests held at once */
	};
	struct fastipc_server *srv;
	int ret;

	ret = fastipc_server_create(&params, &srv);
	if (ret < 0) {
		fprintf(stderr, "server: %s\n", strerror(-ret));
		return 1;
	}
	fastipc_server_set_handler(srv, OP_UPPER, upper, NULL);
	fastipc_server_set_handler(srv, OP_LOG, log_msg, NULL);
	fastipc_server_set_handler(srv, OP_QUIT, quit, NULL);
	printf("ready\n");
	fflush(stdout);

	/* Two threads serve until quit() stops them. */
	ret = fastipc_server_run(srv, 2);
	fastipc_server_destroy(srv);
	return ret < 0;
}

static int client(const char *name, int nwords, char **words)
{
	struct fastipc_client *cl;
	struct fastipc_reply reply;
	int i, ret;

	ret = fastipc_client_connect_name(name, NULL, &cl);
	if (ret < 0) {
		fprintf(stderr, "client: %s\n", strerror(-ret));
		return 1;
	}
	for (i = 0; i < nwords; i++) {
		/* Wait at most one second for each reply. */
		ret = fastipc_call(cl, OP_UPPER, words[i], strlen(words[i]), &reply,
				   1000000000);
		if (ret < 0 || reply.status != 0) {
			fprintf(stderr, "client: %s\n", strerror(ret ? -ret : -reply.status));
			return 1;
		}
		/* reply.data is ours until this thread's next call on cl. */
		printf("%.*s\n", (int)reply.len, (const char *)reply.data);
	}
	ret = fastipc_send(cl, OP_LOG, "bye", 3, FASTIPC_SEND_WAIT);
	if (!ret)
		ret = fastipc_send(cl, OP_QUIT, NULL, 0, FASTIPC_SEND_WAIT);
	fastipc_client_close(cl);
	return ret < 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "server"))
		return server(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "client"))
		return client(argv[2], argc - 3, argv + 3);
	fprintf(stderr, "usage: %s server NAME | client NAME WORD...\n", argv[0]);
	return 2;
}
