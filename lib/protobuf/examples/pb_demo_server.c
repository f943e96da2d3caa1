// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * pb_demo_server: serves the Demo service of demo.proto on a pool of two
 * threads until SIGINT or SIGTERM.
 *
 *	pb_demo_server [NAME]
 *
 * Prints "ready" once the endpoint exists, and "served N" when it stops.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <libfastipc-protobuf.h>

#include "demo.pb-c.h"

#define DEMO_DEFAULT_NAME	"fastipc.example.demo"

static struct fastipc_server *server;
static unsigned long served;

/* Method 0. Runs on any server thread: what it shares is atomic. */
static void demo_echo(Fastipc__Demo__Demo_Service *service, const Fastipc__Demo__EchoRequest *in,
		      Fastipc__Demo__EchoReply_Closure closure, void *closure_data)
{
	Fastipc__Demo__EchoReply out = FASTIPC__DEMO__ECHO_REPLY__INIT;

	out.text = in->text;	/* packed into the reply room before we return */
	out.calls = __atomic_add_fetch(&served, 1, __ATOMIC_RELAXED);
	closure(&out, closure_data);
}

/* Method 1: an empty list fails with an application status. */
static void demo_stat(Fastipc__Demo__Demo_Service *service, const Fastipc__Demo__StatRequest *in,
		      Fastipc__Demo__StatReply_Closure closure, void *closure_data)
{
	Fastipc__Demo__StatReply out = FASTIPC__DEMO__STAT_REPLY__INIT;
	size_t i;

	__atomic_add_fetch(&served, 1, __ATOMIC_RELAXED);
	if (!in->n_values) {
		fastipc_pb_server_fail(closure_data, FASTIPC__DEMO__STATUS__NO_VALUES);
		return;
	}
	out.count = in->n_values;
	out.min = in->values[0];
	out.max = in->values[0];
	for (i = 0; i < in->n_values; i++) {
		out.sum += in->values[i];
		if (in->values[i] < out.min)
			out.min = in->values[i];
		if (in->values[i] > out.max)
			out.max = in->values[i];
	}
	closure(&out, closure_data);
}

static Fastipc__Demo__Demo_Service demo = FASTIPC__DEMO__DEMO__INIT(demo_);

static void on_signal(int sig)
{
	fastipc_server_stop(server);
}

int main(int argc, char **argv)
{
	struct fastipc_server_params params = {
		.name = argc > 1 ? argv[1] : DEMO_DEFAULT_NAME,
		.mode = 0666,	/* any user may call */
	};
	struct sigaction sa = { .sa_handler = on_signal };
	int ret;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [NAME]\n", argv[0]);
		return 2;
	}
	ret = fastipc_server_create(&params, &server);
	if (!ret)
		ret = fastipc_pb_server_add(server, &demo.base);
	if (ret) {
		fprintf(stderr, "pb_demo_server: %s: %s\n", params.name, strerror(-ret));
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	printf("ready\n");
	fflush(stdout);

	/* The methods run on two threads at once. */
	ret = fastipc_server_run(server, 2);
	printf("served %lu\n", served);
	fastipc_server_destroy(server);
	if (ret)
		fprintf(stderr, "pb_demo_server: %s\n", strerror(-ret));
	return ret ? 1 : 0;
}
