// SPDX-License-Identifier: GPL-2.0
/*
 * libfastipc clients: connecting, calls, copies, one-way sends and their
 * errors, each through the device and short-circuited where it applies.
 */
#include "libfastipc_test.h"

#include <poll.h>
#include <signal.h>

#include "kselftest_harness.h"

TEST(open_and_version_report_the_module)
{
	unsigned long long features = 0;
	unsigned int abi = 0;
	int fd = fastipc_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fastipc_version(fd, &abi, &features));
	EXPECT_EQ(FASTIPC_ABI_VERSION, abi);
	EXPECT_TRUE(features & FASTIPC_F_CORE);
	ASSERT_EQ(0, fastipc_version(fd, &abi, NULL));
	close(fd);
	EXPECT_EQ(-EBADF, fastipc_version(fd, &abi, NULL));
}

TEST(short_circuit_switch_reports_the_previous_setting)
{
	EXPECT_EQ(1, fastipc_short_circuit(-1));
	EXPECT_EQ(1, fastipc_short_circuit(0));
	EXPECT_EQ(0, fastipc_short_circuit(-1));
	EXPECT_EQ(0, fastipc_short_circuit(1));
	EXPECT_EQ(1, fastipc_short_circuit(-1));
}

TEST(client_describes_the_endpoint_it_reached)
{
	struct fastipc_server_params p = {
		.slot_size = 512, .nslots = 6, .reply_size = 300,
		.flags = FASTIPC_SERVER_ACCEPT_FORWARDS,
	};
	struct fastipc_endpoint_info info;
	struct fastipc_server *srv;
	struct fastipc_client *cl;

	ASSERT_EQ(0, fastipc_server_create(&p, &srv));
	ASSERT_EQ(0, fastipc_client_connect_fd(fastipc_server_fd(srv), NULL, &cl));
	memset(&info, 0xa5, sizeof(info));
	fastipc_client_endpoint(cl, &info);
	EXPECT_EQ(geteuid(), info.owner_uid);
	EXPECT_EQ(getegid(), info.owner_gid);
	EXPECT_EQ(FASTIPC_EP_ACCEPT_FORWARDS, info.ep_flags);
	EXPECT_EQ(512, info.slot_size);
	EXPECT_EQ(6, info.nslots);
	EXPECT_EQ(3, info.max_oneway);
	EXPECT_EQ(300, info.max_reply);
	fastipc_client_close(cl);
	fastipc_server_destroy(srv);
	/* Unknown server flags are refused. */
	p.flags = 1U << 31;
	EXPECT_EQ(-EINVAL, fastipc_server_create(&p, &srv));
}

TEST(connect_to_a_missing_name_is_enoent)
{
	struct fastipc_client *cl;

	EXPECT_EQ(-ENOENT, fastipc_client_connect_name("lt.nobody.here", NULL, &cl));
}

TEST(connect_rejects_bad_names_and_params)
{
	struct fastipc_client_params p = { .flags = 1U << 31 };
	char longname[FASTIPC_NAME_MAX + 1];
	struct fastipc_client *cl;

	memset(longname, 'a', FASTIPC_NAME_MAX);
	longname[FASTIPC_NAME_MAX] = 0;
	EXPECT_EQ(-EINVAL, fastipc_client_connect_name("", NULL, &cl));
	EXPECT_EQ(-EINVAL, fastipc_client_connect_name(longname, NULL, &cl));
	longname[FASTIPC_NAME_MAX - 1] = 0;
	EXPECT_EQ(-ENOENT, fastipc_client_connect_name(longname, NULL, &cl));
	EXPECT_EQ(-EINVAL, fastipc_client_connect_name("a/b", NULL, &cl));
	EXPECT_EQ(-EINVAL, fastipc_client_connect_name("lt.x", &p, &cl));
	p.flags = 0;
	p.reply_size = FASTIPC_MAX_PAYLOAD + 1;
	EXPECT_EQ(-EINVAL, fastipc_client_connect_name("lt.x", &p, &cl));
}

TEST(connect_fd_rejects_what_is_not_an_endpoint)
{
	struct fastipc_client *cl;
	int pipefd[2], port;

	ASSERT_EQ(0, pipe2(pipefd, O_CLOEXEC));
	EXPECT_EQ(-EBADF, fastipc_client_connect_fd(1000000, NULL, &cl));
	EXPECT_EQ(-EINVAL, fastipc_client_connect_fd(pipefd[0], NULL, &cl));
	port = fastipc_open();
	ASSERT_LE(0, port);
	EXPECT_EQ(-EINVAL, fastipc_client_connect_fd(port, NULL, &cl));
	close(port);
	close(pipefd[0]);
	close(pipefd[1]);
}

TEST(connect_obeys_the_endpoint_mode)
{
	struct fastipc_server_params p = { .mode = 0600 };
	struct fastipc_server *srv;
	struct fastipc_client *cl;
	char name[FASTIPC_NAME_MAX];
	pid_t pid;

	if (geteuid())
		SKIP(return, "needs root to switch users");
	lt_name(name, sizeof(name), "mode");
	p.name = name;
	ASSERT_EQ(0, fastipc_server_create(&p, &srv));
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		CHILD_CHECK(fipc_drop_privs(FIPC_NOBODY, FIPC_NOBODY) == 0);
		CHILD_CHECK(fastipc_client_connect_name(name, NULL, &cl) == -EACCES);
		_exit(0);
	}
	EXPECT_EQ(0, fipc_reap(pid));
	fastipc_server_destroy(srv);
}

TEST(connect_after_the_endpoint_closed_is_epipe)
{
	struct fastipc_server *srv;
	struct fastipc_client *cl, *cl2;
	struct lt_state st;

	ASSERT_EQ(0, lt_state_init(&st));
	ASSERT_EQ(0, lt_server(&st, NULL, &srv));
	ASSERT_EQ(0, lt_client(NULL, fastipc_server_fd(srv), false, &cl));
	fastipc_server_destroy(srv);
	/* The client's own port still reaches the (dead) endpoint. */
	EXPECT_EQ(-EPIPE, fastipc_client_connect_fd(fastipc_client_fd(cl), NULL, &cl2));
	fastipc_client_close(cl);
	lt_state_fini(&st);
}

LT_PAIR_FIXTURE()

TEST_F(pair, call_returns_the_reply_and_status)
{
	struct fastipc_reply rep;
	int32_t s = -12345;
	char req[LT_SLOT];

	fipc_fill(req, sizeof(req), 7);
	ASSERT_EQ(0, fastipc_call(self->p.cl, OP_ECHO, req, sizeof(req), &rep, 0));
	EXPECT_EQ(0, rep.status);
	ASSERT_EQ(sizeof(req), rep.len);
	EXPECT_TRUE(fipc_check(rep.data, rep.len, 7));
	ASSERT_EQ(0, fastipc_call(self->p.cl, OP_ECHO, NULL, 0, &rep, 0));
	EXPECT_EQ(0, rep.len);
	ASSERT_EQ(0, fastipc_call(self->p.cl, OP_STATUS, &s, sizeof(s), &rep, 0));
	EXPECT_EQ(-12345, rep.status);
}

TEST_F(pair, reply_stays_in_the_threads_buffer_until_the_next_call)
{
	struct fastipc_reply a, b;

	ASSERT_EQ(0, fastipc_call(self->p.cl, OP_ECHO, "first", 5, &a, 0));
	ASSERT_EQ(0, memcmp(a.data, "first", 5));
	/* The next call reuses the buffer, and may take its request from it. */
	ASSERT_EQ(0, fastipc_call(self->p.cl, OP_ECHO, a.data, a.len, &b, 0));
	EXPECT_EQ(a.data, b.data);
	ASSERT_EQ(5, b.len);
	EXPECT_EQ(0, memcmp(b.data, "first", 5));
}

TEST_F(pair, unknown_opcode_gets_eopnotsupp_and_reserved_ones_are_refused)
{
	struct fastipc_reply rep;

	ASSERT_EQ(0, fastipc_call(self->p.cl, 999, NULL, 0, &rep, 0));
	EXPECT_EQ(-EOPNOTSUPP, rep.status);
	EXPECT_EQ(0, rep.len);
	EXPECT_EQ(-EINVAL, fastipc_call(self->p.cl, FASTIPC_OPCODE_RESERVED, NULL, 0, &rep, 0));
	EXPECT_EQ(-EINVAL, fastipc_send(self->p.cl, 0xffffffffU, NULL, 0, 0));
}

TEST_F(pair, request_over_the_slot_size_is_emsgsize)
{
	static char req[LT_SLOT + 1];
	struct fastipc_reply rep;

	EXPECT_EQ(-EMSGSIZE, fastipc_call(self->p.cl, OP_ECHO, req, sizeof(req), &rep, 0));
	EXPECT_EQ(-EMSGSIZE, fastipc_send(self->p.cl, OP_NOTE, req, sizeof(req), 0));
}

TEST_F(pair, reply_over_the_room_becomes_status_emsgsize)
{
	struct fastipc_reply rep;
	uint32_t n;

	/* Exactly the room of the client and of the server: fine. */
	n = LT_REPLY;
	ASSERT_EQ(0, fastipc_call(self->p.cl, OP_SIZED, &n, sizeof(n), &rep, 0));
	EXPECT_EQ(0, rep.status);
	ASSERT_EQ(n, rep.len);
	EXPECT_TRUE(fipc_check(rep.data, n, n));
	n = LT_REPLY + 1;
	ASSERT_EQ(0, fastipc_call(self->p.cl, OP_SIZED, &n, sizeof(n), &rep, 0));
	EXPECT_EQ(-EMSGSIZE, rep.status);
	EXPECT_EQ(0, rep.len);
}

TEST_F(pair, call_copy_fills_the_callers_buffer)
{
	char buf[64] = { 0 };
	struct fastipc_reply rep;
	uint32_t n = sizeof(buf);

	ASSERT_EQ(0, fastipc_call_copy(self->p.cl, OP_SIZED, &n, sizeof(n), buf, sizeof(buf),
				       &rep, 0));
	EXPECT_EQ(0, rep.status);
	EXPECT_EQ((const void *)buf, rep.data);
	ASSERT_EQ(n, rep.len);
	EXPECT_TRUE(fipc_check(buf, n, n));
	/* One byte too many for the caller's room (what @buf holds is undefined). */
	n = sizeof(buf) + 1;
	ASSERT_EQ(0, fastipc_call_copy(self->p.cl, OP_SIZED, &n, sizeof(n), buf, sizeof(buf),
				       &rep, 0));
	EXPECT_EQ(-EMSGSIZE, rep.status);
	EXPECT_EQ(0, rep.len);
	/* No buffer: only an empty reply fits. */
	ASSERT_EQ(0, fastipc_call_copy(self->p.cl, OP_ECHO, NULL, 0, NULL, 0, &rep, 0));
	EXPECT_EQ(0, rep.status);
	EXPECT_EQ(-EINVAL, fastipc_call_copy(self->p.cl, OP_ECHO, NULL, 0, NULL, 1, &rep, 0));
}

TEST_F(pair, handler_sees_the_callers_credentials)
{
	struct lt_info info;

	ASSERT_EQ(0, lt_info(self->p.cl, "x", 1, &info));
	EXPECT_EQ(getpid(), info.pid);
	EXPECT_EQ(geteuid(), info.uid);
	EXPECT_EQ(getegid(), info.gid);
	EXPECT_EQ(0, info.flags);
	EXPECT_EQ(1, info.len);
	EXPECT_NE(0, info.reply);
}

TEST_F(pair, sends_arrive_in_order_and_never_wait_for_the_handler)
{
	uint32_t i;
	eventfd_t v;
	unsigned int got = 0;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, fastipc_send(self->p.cl, OP_NOTE, &i, sizeof(i), FASTIPC_SEND_WAIT));
	/* Short-circuited clients still send through the device: dispatch. */
	if (self->p.local)
		EXPECT_EQ(3, fastipc_server_dispatch(self->p.srv, 0));
	while (got < 3) {
		ASSERT_EQ(0, eventfd_read(self->p.st.notes, &v));
		got += v;
	}
	for (i = 0; i < 3; i++)
		EXPECT_EQ(i, self->p.st.note[i]);
	if (!self->p.local)
		EXPECT_NE(gettid(), self->p.st.note_tid);
}

TEST_F(pair, send_rejects_unknown_flags)
{
	EXPECT_EQ(-EINVAL, fastipc_send(self->p.cl, OP_NOTE, NULL, 0, 1U << 30));
}

TEST_F(pair, calls_after_the_server_is_destroyed_are_epipe)
{
	struct fastipc_reply rep;

	ASSERT_EQ(0, fastipc_call(self->p.cl, OP_ECHO, "a", 1, &rep, 0));
	fastipc_server_destroy(self->p.srv);
	self->p.srv = NULL;
	EXPECT_EQ(-EPIPE, fastipc_call(self->p.cl, OP_ECHO, "a", 1, &rep, 0));
	EXPECT_EQ(-EPIPE, fastipc_send(self->p.cl, OP_NOTE, NULL, 0, 0));
	EXPECT_EQ(POLLHUP, fipc_revents(fastipc_client_fd(self->p.cl), POLLIN));
}

/* Through the device only: a short-circuited handler runs on this thread. */
TEST(send_without_room_is_eagain)
{
	struct fastipc_server_params p = { .nslots = 2 };
	struct fastipc_server *srv;
	struct fastipc_client *cl;

	ASSERT_EQ(0, fastipc_server_create(&p, &srv));
	ASSERT_EQ(0, fastipc_client_connect_fd(fastipc_server_fd(srv), NULL, &cl));
	/* One-way messages may fill half the slots: one here. */
	ASSERT_EQ(0, fastipc_send(cl, OP_NOTE, NULL, 0, 0));
	EXPECT_EQ(-EAGAIN, fastipc_send(cl, OP_NOTE, NULL, 0, 0));
	/* Nothing handles OP_NOTE here: dispatch drops it, making room. */
	EXPECT_EQ(1, fastipc_server_dispatch(srv, 0));
	EXPECT_EQ(0, fastipc_send(cl, OP_NOTE, NULL, 0, 0));
	fastipc_client_close(cl);
	fastipc_server_destroy(srv);
}

TEST(call_times_out_and_the_late_reply_is_dropped)
{
	struct lt_pair p;
	struct fastipc_reply rep;

	struct pollfd entered;
	uint64_t timeout_ns;
	bool held = false;

	ASSERT_EQ(0, lt_pair_open(&p, false));
	/*
	 * The handler waits for us, so the timeout must expire first. If it
	 * expires before the server thread even took the call, the call is
	 * dropped unseen: not an error; try again with a longer timeout.
	 */
	for (timeout_ns = 1000000; !held && timeout_ns < 30000000000ULL; timeout_ns *= 4) {
		EXPECT_EQ(-ETIMEDOUT, fastipc_call(p.cl, OP_BLOCK, NULL, 0, &rep, timeout_ns));
		entered = (struct pollfd){ .fd = p.st.entered, .events = POLLIN };
		held = poll(&entered, 1, 0) == 1;
	}
	ASSERT_TRUE(held);
	lt_wait_entered(&p.st);
	eventfd_write(p.st.release, 1);
	/* The server thread got ECANCELED for its reply and serves on. */
	ASSERT_EQ(0, fastipc_call(p.cl, OP_ECHO, "ok", 2, &rep, 0));
	EXPECT_EQ(0, memcmp(rep.data, "ok", 2));
	lt_pair_close(&p);
}

static void on_usr1(int sig)
{
}

/* Without FASTIPC_CLIENT_EINTR the call is made again: libfastipc_defer_test. */
TEST(call_interrupted_by_a_signal_is_eintr_when_the_client_asks)
{
	struct fastipc_client_params cp = {
		.reply_size = LT_REPLY,
		.flags = FASTIPC_CLIENT_NO_SHORT_CIRCUIT | FASTIPC_CLIENT_EINTR,
	};
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct fastipc_client *cl;
	struct fastipc_reply rep;
	struct lt_async a;
	struct lt_pair p;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, lt_pair_open(&p, false));
	ASSERT_EQ(0, fastipc_client_connect_name(p.name, &cp, &cl));
	ASSERT_EQ(0, lt_async_start(&a, cl, OP_BLOCK));
	lt_wait_entered(&p.st);
	ASSERT_EQ(0, lt_async_wait_blocked(&a));
	ASSERT_EQ(0, pthread_kill(a.thread, SIGUSR1));
	EXPECT_EQ(-EINTR, lt_async_join(&a));
	eventfd_write(p.st.release, 1);
	ASSERT_EQ(0, fastipc_call(cl, OP_ECHO, "ok", 2, &rep, 0));
	fastipc_client_close(cl);
	lt_pair_close(&p);
}

TEST(close_accepts_null)
{
	fastipc_client_close(NULL);
	fastipc_server_destroy(NULL);
}

TEST_HARNESS_MAIN
