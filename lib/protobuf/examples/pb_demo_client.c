// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * pb_demo_client: calls the Demo service of demo.proto through the stubs
 * protoc-c generated, as it would call any protobuf-c RPC service.
 *
 *	pb_demo_client [-n NAME] echo WORD...    each WORD back, with a count
 *	pb_demo_client [-n NAME] stat NUMBER...  count, sum, min and max
 *
 * Options end at the command, so that NUMBERs may be negative. Exits 1 when
 * a call fails, saying why.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libfastipc-protobuf.h>

#include "demo.pb-c.h"

#define DEMO_DEFAULT_NAME	"fastipc.example.demo"

/* Closures: the output message, or NULL when the call failed. */
static void echo_done(const Fastipc__Demo__EchoReply *out, void *closure_data)
{
	int *ok = closure_data;

	if (out)
		printf("%s (call %llu)\n", out->text, (unsigned long long)out->calls);
	*ok = !!out;
}

static void stat_done(const Fastipc__Demo__StatReply *out, void *closure_data)
{
	int *ok = closure_data;

	if (out)
		printf("count %u sum %lld min %lld max %lld\n", out->count, (long long)out->sum,
		       (long long)out->min, (long long)out->max);
	*ok = !!out;
}

/* Why the calling thread's last call gave its closure NULL. */
static void explain(const char *method)
{
	int32_t status;
	int err = fastipc_pb_client_last(&status);

	if (err)
		fprintf(stderr, "%s: %s\n", method, strerror(-err));
	else if (status == FASTIPC__DEMO__STATUS__NO_VALUES)
		fprintf(stderr, "%s: no values\n", method);
	else if (status > 0)
		fprintf(stderr, "%s: status %d\n", method, status);
	else
		fprintf(stderr, "%s: server: %s\n", method, strerror(-status));
}

int main(int argc, char **argv)
{
	const char *name = DEMO_DEFAULT_NAME;
	struct fastipc_client *client;
	ProtobufCService *demo;
	int opt, ret, i, ok = 0;

	while ((opt = getopt(argc, argv, "+n:")) != -1) {
		if (opt != 'n')
			goto usage;
		name = optarg;
	}
	if (optind >= argc)
		goto usage;

	ret = fastipc_client_connect_name(name, NULL, &client);
	if (!ret)
		ret = fastipc_pb_client_create(client, &fastipc__demo__demo__descriptor, NULL,
					       &demo);
	if (ret) {
		fprintf(stderr, "pb_demo_client: %s: %s\n", name, strerror(-ret));
		return 1;
	}

	if (!strcmp(argv[optind], "echo")) {
		Fastipc__Demo__EchoRequest in = FASTIPC__DEMO__ECHO_REQUEST__INIT;

		for (i = optind + 1, ok = 1; ok && i < argc; i++) {
			in.text = argv[i];
			fastipc__demo__demo__echo(demo, &in, echo_done, &ok);
			if (!ok)
				explain("echo");
		}
	} else if (!strcmp(argv[optind], "stat")) {
		Fastipc__Demo__StatRequest in = FASTIPC__DEMO__STAT_REQUEST__INIT;
		int64_t values[64];

		for (i = optind + 1; i < argc && in.n_values < 64; i++)
			values[in.n_values++] = strtoll(argv[i], NULL, 0);
		in.values = values;
		fastipc__demo__demo__stat(demo, &in, stat_done, &ok);
		if (!ok)
			explain("stat");
	} else {
		ok = -1;
	}

	protobuf_c_service_destroy(demo);
	fastipc_client_close(client);
	if (ok >= 0)
		return ok ? 0 : 1;
usage:
	fprintf(stderr, "usage: %s [-n NAME] echo WORD... | stat NUMBER...\n", argv[0]);
	return 2;
}
