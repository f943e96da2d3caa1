// SPDX-License-Identifier: GPL-2.0
/*
 * libfastipc under concurrency: many threads calling one client at once
 * (more than one port's worth of reply buffers), threads coming and going,
 * and servers whose handlers call other servers.
 */
#include "libfastipc_test.h"

#include <dirent.h>

#include "kselftest_harness.h"

/* More callers than FASTIPC_MAX_BUFS, so the client needs a second port. */
#define NCALLERS	(FASTIPC_MAX_BUFS + 8)
#define NCALLS		200

struct storm {
	struct fastipc_client *cl;
	pthread_barrier_t *start;
	uint32_t seed;
	int err;		/* first failure: -errno, or -EPROTO */
};

static void *storm_fn(void *arg)
{
	struct storm *s = arg;

	pthread_barrier_wait(s->start);
	s->err = lt_echo_calls(s->cl, s->seed * NCALLS, NCALLS);
	return NULL;
}

/* NCALLERS threads call @cl at once, each checking its own replies. */
static int storm(struct fastipc_client *cl)
{
	struct storm s[NCALLERS];
	pthread_t t[NCALLERS];
	pthread_barrier_t start;
	int i, err = 0;

	pthread_barrier_init(&start, NULL, NCALLERS);
	for (i = 0; i < NCALLERS; i++) {
		s[i] = (struct storm){ .cl = cl, .start = &start, .seed = i };
		if (pthread_create(&t[i], NULL, storm_fn, &s[i]))
			return -EAGAIN;
	}
	for (i = 0; i < NCALLERS; i++) {
		pthread_join(t[i], NULL);
		if (s[i].err && !err)
			err = s[i].err;
	}
	pthread_barrier_destroy(&start);
	return err;
}

LT_PAIR_FIXTURE()

TEST_F(pair, many_threads_call_one_client_at_once)
{
	/* A second pool on more threads than the pair's one. */
	if (!self->p.local) {
		ASSERT_EQ(0, fastipc_server_stop(self->p.srv));
		ASSERT_EQ(0, fastipc_server_wait(self->p.srv));
		ASSERT_EQ(0, fastipc_server_start(self->p.srv, 4));
	}
	EXPECT_EQ(0, storm(self->p.cl));
	/* And again, with every thread's buffer made afresh. */
	EXPECT_EQ(0, storm(self->p.cl));
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -errno;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void *one_call(void *arg)
{
	struct fastipc_reply rep;

	return (void *)(intptr_t)fastipc_call(arg, OP_ECHO, "x", 1, &rep, 0);
}

TEST_F(pair, exiting_threads_give_their_reply_buffers_back)
{
	pthread_t t;
	void *ret;
	int i, fds;

	/* Each thread registers a buffer; its exit must unregister it. */
	ASSERT_EQ(0, pthread_create(&t, NULL, one_call, self->p.cl));
	pthread_join(t, &ret);
	ASSERT_EQ(NULL, ret);
	fds = count_fds();
	for (i = 0; i < 3 * FASTIPC_MAX_BUFS; i++) {
		ASSERT_EQ(0, pthread_create(&t, NULL, one_call, self->p.cl));
		pthread_join(t, &ret);
		ASSERT_EQ(NULL, ret);
	}
	/* Had they leaked, ports would have been opened for more. */
	EXPECT_EQ(fds, count_fds());
}

TEST_F(pair, closing_a_client_frees_buffers_of_live_threads)
{
	struct fastipc_client *cl;
	struct fastipc_reply rep;
	int i;

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, lt_client(self->p.name, -1, self->p.local, &cl));
		EXPECT_EQ(0, storm(cl));
		ASSERT_EQ(0, fastipc_call(cl, OP_ECHO, "x", 1, &rep, 0));
		fastipc_client_close(cl);
	}
	ASSERT_EQ(0, fastipc_call(self->p.cl, OP_ECHO, "y", 1, &rep, 0));
}

/*
 * A chain of servers: the front's handler calls the back server. Each
 * variant picks the path of each hop.
 */
FIXTURE(chain) {
	struct lt_state front_st, back_st;
	struct fastipc_server *front, *back;
	struct fastipc_client *to_front;
};

FIXTURE_VARIANT(chain) {
	bool front_local;
	bool back_local;
};

FIXTURE_VARIANT_ADD(chain, device_then_device) {
	.front_local = false, .back_local = false,
};

FIXTURE_VARIANT_ADD(chain, device_then_local) {
	.front_local = false, .back_local = true,
};

FIXTURE_VARIANT_ADD(chain, local_then_device) {
	.front_local = true, .back_local = false,
};

FIXTURE_VARIANT_ADD(chain, local_then_local) {
	.front_local = true, .back_local = true,
};

FIXTURE_SETUP(chain)
{
	ASSERT_EQ(0, lt_state_init(&self->front_st));
	ASSERT_EQ(0, lt_state_init(&self->back_st));
	ASSERT_EQ(0, lt_server(&self->back_st, NULL, &self->back));
	ASSERT_EQ(0, lt_server(&self->front_st, NULL, &self->front));
	ASSERT_EQ(0, lt_client(NULL, fastipc_server_fd(self->back), variant->back_local,
			       &self->front_st.next));
	ASSERT_EQ(0, lt_client(NULL, fastipc_server_fd(self->front), variant->front_local,
			       &self->to_front));
	if (!variant->back_local)
		ASSERT_EQ(0, fastipc_server_start(self->back, 2));
	if (!variant->front_local)
		ASSERT_EQ(0, fastipc_server_start(self->front, 3));
}

FIXTURE_TEARDOWN(chain)
{
	fastipc_client_close(self->to_front);
	fastipc_server_destroy(self->front);
	fastipc_client_close(self->front_st.next);
	fastipc_server_destroy(self->back);
	lt_state_fini(&self->front_st);
	lt_state_fini(&self->back_st);
}

struct nester {
	struct fastipc_client *cl;
	uint32_t seed;
	int err;
};

static void *nester_fn(void *arg)
{
	struct nester *n = arg;
	struct fastipc_reply rep;
	char req[64];
	int i, ret;

	for (i = 0; i < 50 && !n->err; i++) {
		fipc_fill(req, sizeof(req), n->seed + i);
		ret = fastipc_call(n->cl, OP_NEST, req, sizeof(req), &rep, 0);
		if (ret)
			n->err = ret;
		else if (rep.status != 1 || rep.len != sizeof(req) ||
			 !fipc_check(rep.data, rep.len, n->seed + i))
			n->err = -EPROTO;
	}
	return NULL;
}

TEST_F(chain, a_handler_calls_another_server)
{
	struct nester n[4];
	pthread_t t[4];
	int i;

	for (i = 0; i < 4; i++) {
		n[i] = (struct nester){ .cl = self->to_front, .seed = i * 1000 };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, nester_fn, &n[i]));
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, n[i].err);
	}
}

TEST_HARNESS_MAIN
