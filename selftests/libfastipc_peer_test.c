// SPDX-License-Identifier: GPL-2.0
/*
 * libfastipc across processes: a server process that dies, before or while
 * it holds a call, and a client process that dies while it is being served.
 */
#include "libfastipc_test.h"

#include <poll.h>

#include "kselftest_harness.h"

/*
 * A server process of the test service on @name with one thread. It writes
 * a byte to @ready once the endpoint exists and serves until killed.
 */
static pid_t server_process(const char *name, int ready)
{
	struct fastipc_server *srv;
	struct lt_state st;
	pid_t pid = fipc_fork();

	if (pid)
		return pid;
	CHILD_CHECK(lt_state_init(&st) == 0);
	CHILD_CHECK(lt_server(&st, name, &srv) == 0);
	CHILD_CHECK(write(ready, "r", 1) == 1);
	fastipc_server_run(srv, 1);
	_exit(1);
}

FIXTURE(remote) {
	char name[FASTIPC_NAME_MAX];
	pid_t server;
	struct fastipc_client *cl;
};

FIXTURE_SETUP(remote)
{
	int ready[2];
	char c;

	lt_name(self->name, sizeof(self->name), "remote");
	ASSERT_EQ(0, pipe2(ready, O_CLOEXEC));
	self->server = server_process(self->name, ready[1]);
	ASSERT_LT(0, self->server);
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	close(ready[0]);
	ASSERT_EQ(0, fastipc_client_connect_name(self->name, NULL, &self->cl));
	ASSERT_FALSE(fastipc_client_is_local(self->cl));
}

FIXTURE_TEARDOWN(remote)
{
	fastipc_client_close(self->cl);
	if (self->server > 0) {
		kill(self->server, SIGKILL);
		fipc_reap(self->server);
	}
}

static void kill_server(struct __test_metadata *_metadata, pid_t *pid)
{
	ASSERT_EQ(0, kill(*pid, SIGKILL));
	EXPECT_EQ(128 + SIGKILL, fipc_reap(*pid));
	*pid = 0;
}

TEST_F(remote, calls_reach_a_server_in_another_process)
{
	struct fastipc_reply rep;
	struct lt_info info;

	ASSERT_EQ(0, fastipc_call(self->cl, OP_ECHO, "abc", 3, &rep, 0));
	ASSERT_EQ(3, rep.len);
	EXPECT_EQ(0, memcmp(rep.data, "abc", 3));
	ASSERT_EQ(0, lt_info(self->cl, NULL, 0, &info));
	EXPECT_EQ(getpid(), info.pid);
}

TEST_F(remote, server_killed_before_the_call_gives_epipe)
{
	struct fastipc_reply rep;

	kill_server(_metadata, &self->server);
	EXPECT_EQ(POLLHUP, fipc_revents(fastipc_client_fd(self->cl), POLLIN));
	EXPECT_EQ(-EPIPE, fastipc_call(self->cl, OP_ECHO, "a", 1, &rep, 0));
	EXPECT_EQ(-EPIPE, fastipc_send(self->cl, OP_NOTE, NULL, 0, 0));
}

TEST_F(remote, server_killed_while_handling_the_call_gives_epipe)
{
	struct lt_async a;

	/* The handler never returns: it waits on its own eventfd. */
	ASSERT_EQ(0, lt_async_start(&a, self->cl, OP_BLOCK));
	ASSERT_EQ(0, lt_async_wait_blocked(&a));
	kill_server(_metadata, &self->server);
	EXPECT_EQ(-EPIPE, lt_async_join(&a));
}

TEST_F(remote, call_times_out_when_the_server_is_stuck)
{
	struct fastipc_reply rep;

	EXPECT_EQ(-ETIMEDOUT, fastipc_call(self->cl, OP_BLOCK, NULL, 0, &rep, 1000000));
}

TEST(client_killed_mid_call_leaves_the_server_serving)
{
	struct fastipc_reply rep;
	struct lt_pair p;
	pid_t pid;

	ASSERT_EQ(0, lt_pair_open(&p, false));
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct fastipc_client *cl;

		CHILD_CHECK(fastipc_client_connect_name(p.name, NULL, &cl) == 0);
		fastipc_call(cl, OP_BLOCK, NULL, 0, &rep, 0);
		_exit(1);
	}
	lt_wait_entered(&p.st);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	EXPECT_EQ(128 + SIGKILL, fipc_reap(pid));
	/* The handler's reply now finds the caller gone, and is dropped. */
	ASSERT_EQ(0, eventfd_write(p.st.release, 1));
	ASSERT_EQ(0, fastipc_call(p.cl, OP_ECHO, "ok", 2, &rep, 0));
	EXPECT_EQ(0, memcmp(rep.data, "ok", 2));
	lt_pair_close(&p);
}

TEST_HARNESS_MAIN
