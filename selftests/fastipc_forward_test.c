// SPDX-License-Identifier: GPL-2.0
/*
 * Forwarding: FASTIPC_IOC_FORWARD hands a held call, with a new request, to
 * another endpoint whose server replies straight to the original caller.
 */
#include "fastipc_util.h"

#include "kselftest_harness.h"

/*
 * Endpoint a (two slots) with a client c; endpoint b (one slot of 128 bytes)
 * with a client port tb, which can name b as a forward target.
 */
FIXTURE(pair) {
	struct fipc_ep a, b;
	struct fipc_client c, tb;
};

FIXTURE_SETUP(pair)
{
	ASSERT_EQ(0, fipc_ep_open(&self->a, NULL, 0, 256, 2));
	ASSERT_EQ(0, fipc_ep_open(&self->b, NULL, 0, 128, 1));
	ASSERT_EQ(0, fipc_client_open(&self->c, self->a.fd, NULL, 512));
	ASSERT_EQ(0, fipc_client_open(&self->tb, self->b.fd, NULL, 64));
}

FIXTURE_TEARDOWN(pair)
{
	fipc_client_close(&self->c);
	fipc_client_close(&self->tb);
	fipc_ep_close(&self->a);
	fipc_ep_close(&self->b);
}

/* Starts a call to a and receives it there; the async call is in @call. */
static int call_and_hold(FIXTURE_DATA(pair) *self, struct fipc_async *call,
			 struct fastipc_serve *msg, uint32_t opcode)
{
	int ret = fipc_async_call(call, &self->c, opcode, "hello", 5, 0);

	return ret ? ret : fipc_recv(self->a.fd, msg);
}

static void check_forward_reaches_caller(struct __test_metadata *_metadata,
					 FIXTURE_DATA(pair) *self, int target_fd)
{
	struct fastipc_serve msg, fwd;
	struct fipc_async call;
	uint8_t reply[300];

	fipc_fill(reply, sizeof(reply), 99);
	ASSERT_EQ(0, call_and_hold(self, &call, &msg, 1));
	EXPECT_EQ(5, msg.len);
	ASSERT_EQ(0, fipc_forward(self->a.fd, target_fd, msg.token, 9, "world!", 6));
	/* The token went with the call. */
	EXPECT_EQ(-ENOENT, fipc_reply(self->a.fd, msg.token, 0, NULL, 0));
	EXPECT_EQ(-ENOENT, fipc_forward(self->a.fd, target_fd, msg.token, 9, NULL, 0));

	ASSERT_EQ(0, fipc_recv(self->b.fd, &fwd));
	EXPECT_EQ(0, fwd.msg_flags & FASTIPC_MSG_ONEWAY);
	EXPECT_EQ(9, fwd.opcode);
	ASSERT_EQ(6, fwd.len);
	EXPECT_EQ(0, memcmp(self->b.pool + fwd.offset, "world!", 6));
	EXPECT_FALSE(fipc_async_done(&call));
	ASSERT_EQ(0, fipc_reply(self->b.fd, fwd.token, -42, reply, sizeof(reply)));
	EXPECT_EQ(-ENOENT, fipc_reply(self->b.fd, fwd.token, -42, reply, sizeof(reply)));
	ASSERT_EQ(0, fipc_async_join(&call));
	EXPECT_EQ(-42, call.call.status);
	EXPECT_EQ(sizeof(reply), call.call.reply_len);
	EXPECT_EQ(0, memcmp(reply, self->c.buf, sizeof(reply)));
}

TEST_F(pair, forwarded_call_is_answered_by_the_target_straight_to_the_caller)
{
	check_forward_reaches_caller(_metadata, self, self->b.fd);
}

TEST_F(pair, forward_target_may_be_a_client_port_of_the_target)
{
	check_forward_reaches_caller(_metadata, self, self->tb.fd);
}

TEST_F(pair, forward_frees_the_slot_the_call_held)
{
	struct fastipc_serve m1, m2, m3, fwd;
	struct fipc_async c1, c2, c3;
	struct fipc_client c2c, c3c;

	ASSERT_EQ(0, fipc_client_open(&c2c, self->a.fd, NULL, 64));
	ASSERT_EQ(0, fipc_client_open(&c3c, self->a.fd, NULL, 64));
	ASSERT_EQ(0, call_and_hold(self, &c1, &m1, 1));
	ASSERT_EQ(0, fipc_forward(self->a.fd, self->b.fd, m1.token, 1, NULL, 0));
	/* Both of a's slots are free for two more calls. */
	ASSERT_EQ(0, fipc_async_call(&c2, &c2c, 2, NULL, 0, 0));
	ASSERT_EQ(0, fipc_recv(self->a.fd, &m2));
	ASSERT_EQ(0, fipc_async_call(&c3, &c3c, 3, NULL, 0, 0));
	ASSERT_EQ(0, fipc_async_wait_blocked(&c3));
	ASSERT_EQ(0, fipc_recv_nonblock(self->a.fd, &m3));
	EXPECT_EQ(3, m3.opcode);

	EXPECT_EQ(0, fipc_reply(self->a.fd, m2.token, 2, NULL, 0));
	EXPECT_EQ(0, fipc_reply(self->a.fd, m3.token, 3, NULL, 0));
	ASSERT_EQ(0, fipc_recv(self->b.fd, &fwd));
	EXPECT_EQ(0, fipc_reply(self->b.fd, fwd.token, 1, NULL, 0));
	EXPECT_EQ(0, fipc_async_join(&c1));
	EXPECT_EQ(0, fipc_async_join(&c2));
	EXPECT_EQ(0, fipc_async_join(&c3));
	EXPECT_EQ(1, c1.call.status);
	EXPECT_EQ(2, c2.call.status);
	EXPECT_EQ(3, c3.call.status);
	fipc_client_close(&c2c);
	fipc_client_close(&c3c);
}

TEST_F(pair, forward_of_a_oneway_token_is_einval)
{
	struct fastipc_serve msg;

	ASSERT_EQ(0, fipc_send(self->c.fd, 0, 1, "one-way", 7));
	ASSERT_EQ(0, fipc_recv(self->a.fd, &msg));
	ASSERT_EQ(FASTIPC_MSG_ONEWAY, msg.msg_flags);
	EXPECT_EQ(-EINVAL, fipc_forward(self->a.fd, self->b.fd, msg.token, 1, NULL, 0));
	/* Nothing reached the target. */
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->b.fd, NULL));
	fipc_reply(self->a.fd, msg.token, 0, NULL, 0);
}

TEST_F(pair, forward_to_a_full_target_is_eagain_and_keeps_the_token)
{
	struct fastipc_serve msg, blocker;
	struct fipc_async call;

	/* b's only slot is taken by a one-way message. */
	ASSERT_EQ(0, fipc_send(self->tb.fd, 0, 77, NULL, 0));
	ASSERT_EQ(0, call_and_hold(self, &call, &msg, 1));
	EXPECT_EQ(-EAGAIN, fipc_forward(self->a.fd, self->b.fd, msg.token, 2, NULL, 0));
	ASSERT_EQ(0, fipc_recv(self->b.fd, &blocker));
	EXPECT_EQ(77, blocker.opcode);
	EXPECT_EQ(-EAGAIN, fipc_forward(self->a.fd, self->b.fd, msg.token, 2, NULL, 0));
	/* The token is still a's to answer. */
	EXPECT_EQ(0, fipc_reply(self->a.fd, msg.token, 5, "direct", 6));
	EXPECT_EQ(0, fipc_async_join(&call));
	EXPECT_EQ(5, call.call.status);
	EXPECT_EQ(0, memcmp(self->c.buf, "direct", 6));
	EXPECT_EQ(0, fipc_reply(self->b.fd, blocker.token, 0, NULL, 0));
}

TEST_F(pair, forwarding_more_than_max_forwards_times_gives_eloop)
{
	struct fastipc_serve msg;
	struct fipc_async call;
	struct fipc_ep *ep[2] = { &self->a, &self->b };
	uint32_t hop;
	int ret;

	ASSERT_EQ(0, call_and_hold(self, &call, &msg, 0));
	/* Ping-pong between a and b, a new request (the hop number) each time. */
	for (hop = 1; hop <= FASTIPC_MAX_FORWARDS; hop++) {
		ret = fipc_forward(ep[(hop - 1) % 2]->fd, ep[hop % 2]->fd, msg.token, hop,
				   &hop, sizeof(hop));
		ASSERT_EQ(0, ret) TH_LOG("forward %u", hop);
		ASSERT_EQ(0, fipc_recv(ep[hop % 2]->fd, &msg));
		ASSERT_EQ(hop, msg.opcode);
		ASSERT_EQ(sizeof(hop), msg.len);
		EXPECT_EQ(0, memcmp(ep[hop % 2]->pool + msg.offset, &hop, sizeof(hop)));
	}
	EXPECT_EQ(-ELOOP, fipc_forward(ep[(hop - 1) % 2]->fd, ep[hop % 2]->fd, msg.token, hop,
				       NULL, 0));
	EXPECT_EQ(-ELOOP, fipc_async_join(&call));
	EXPECT_EQ(-ENOENT, fipc_reply(ep[(hop - 1) % 2]->fd, msg.token, 0, NULL, 0));
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->a.fd, NULL));
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->b.fd, NULL));
}

TEST_F(pair, forward_rejects_bad_tokens_targets_and_sizes)
{
	struct fastipc_forward fwd = { .target_fd = self->b.fd };
	struct fastipc_serve msg;
	struct fipc_async call;
	struct fipc_ep closed;
	struct fipc_client tc;
	int pipefd[2], plain = fipc_open();
	uint8_t big[129] = { 0 };

	ASSERT_LE(0, plain);
	ASSERT_EQ(0, pipe2(pipefd, O_CLOEXEC));
	ASSERT_EQ(0, fipc_ep_open(&closed, NULL, 0, 64, 1));
	ASSERT_EQ(0, fipc_client_open(&tc, closed.fd, NULL, 64));
	fipc_ep_close(&closed);

	ASSERT_EQ(0, call_and_hold(self, &call, &msg, 1));
	EXPECT_EQ(-ENOENT, fipc_forward(self->a.fd, self->b.fd, msg.token ^ 1, 1, NULL, 0));
	EXPECT_EQ(-ENOENT, fipc_forward(self->a.fd, self->b.fd, 0, 1, NULL, 0));
	EXPECT_EQ(-EBADF, fipc_forward(self->a.fd, -1, msg.token, 1, NULL, 0));
	EXPECT_EQ(-EBADF, fipc_forward(self->a.fd, 1000000, msg.token, 1, NULL, 0));
	EXPECT_EQ(-EINVAL, fipc_forward(self->a.fd, pipefd[0], msg.token, 1, NULL, 0));
	EXPECT_EQ(-EINVAL, fipc_forward(self->a.fd, plain, msg.token, 1, NULL, 0));
	EXPECT_EQ(-EMSGSIZE, fipc_forward(self->a.fd, self->b.fd, msg.token, 1, big,
					  sizeof(big)));
	EXPECT_EQ(-EPIPE, fipc_forward(self->a.fd, tc.fd, msg.token, 1, NULL, 0));

	fwd.token = msg.token;
	fwd.flags = 1;
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->a.fd, FASTIPC_IOC_FORWARD, &fwd));
	fwd.flags = 0;
	fwd.reserved1 = 1;
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->a.fd, FASTIPC_IOC_FORWARD, &fwd));
	fwd.reserved1 = 0;
	fwd.reserved[0] = 1;
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->a.fd, FASTIPC_IOC_FORWARD, &fwd));
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->b.fd, NULL));

	/* None of that consumed the token. */
	EXPECT_FALSE(fipc_async_done(&call));
	EXPECT_EQ(0, fipc_reply(self->a.fd, msg.token, 6, NULL, 0));
	EXPECT_EQ(0, fipc_async_join(&call));
	EXPECT_EQ(6, call.call.status);

	close(pipefd[0]);
	close(pipefd[1]);
	close(plain);
	fipc_client_close(&tc);
}

static void noop_handler(int sig)
{
	(void)sig;
}

TEST_F(pair, forward_of_a_call_whose_caller_gave_up_is_ecanceled)
{
	/* A handler that does nothing, without SA_RESTART, interrupts the call. */
	struct sigaction sa = { .sa_handler = noop_handler };
	struct fastipc_serve msg;
	struct fipc_async call;

	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, call_and_hold(self, &call, &msg, 1));
	ASSERT_EQ(0, pthread_kill(call.thread, SIGUSR1));
	EXPECT_EQ(-EINTR, fipc_async_join(&call));
	EXPECT_EQ(-ECANCELED, fipc_forward(self->a.fd, self->b.fd, msg.token, 1, NULL, 0));
	EXPECT_EQ(-ENOENT, fipc_reply(self->a.fd, msg.token, 0, NULL, 0));
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->b.fd, NULL));
}

TEST_F(pair, forward_to_an_endpoint_that_did_not_opt_in_is_eperm_and_keeps_the_token)
{
	struct fastipc_serve msg, none;
	struct fipc_async call;
	struct fipc_ep closed;

	ASSERT_EQ(0, fipc_ep_open_flags(&closed, 0, 0, NULL, 0, 256, 2));
	ASSERT_EQ(0, call_and_hold(self, &call, &msg, 1));
	EXPECT_EQ(-EPERM, fipc_forward(self->a.fd, closed.fd, msg.token, 2, "x", 1));
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(closed.fd, &none));
	/* Still ours to answer. */
	ASSERT_EQ(0, fipc_reply(self->a.fd, msg.token, 7, "ok", 2));
	ASSERT_EQ(0, fipc_async_join(&call));
	EXPECT_EQ(7, call.call.status);
	fipc_ep_close(&closed);
}

/*
 * A server running as nobody receives a call from root and forwards it: the
 * target sees the request as nobody's, with root as the caller, never as a
 * request root made.
 */
/*
 * In a child running as nobody: receive a call on a, forward it to b, say so
 * on @ready, and exit when @hold reads end of file.
 */
static void forward_as_nobody(FIXTURE_DATA(pair) *self, int ready, int hold)
{
	struct fastipc_serve msg;
	char c;

	CHILD_CHECK(fipc_drop_privs(FIPC_NOBODY, FIPC_NOBODY) == 0);
	CHILD_CHECK(fipc_recv(self->a.fd, &msg) == 0);
	CHILD_CHECK(msg.uid == 0 && msg.caller_uid == 0);
	CHILD_CHECK(!(msg.msg_flags & FASTIPC_MSG_FORWARDED));
	CHILD_CHECK(fipc_forward(self->a.fd, self->tb.fd, msg.token, 3, "rm -rf", 6) == 0);
	CHILD_CHECK(write(ready, "f", 1) == 1);
	CHILD_CHECK(read(hold, &c, 1) == 0);
	_exit(0);
}

/*
 * Calls a and forks a child that forwards the call as nobody; the child
 * exits when *@hold is closed, after writing to *@ready once it forwarded.
 */
static pid_t fork_forwarder(FIXTURE_DATA(pair) *self, struct fipc_async *call, int *ready,
			    int *hold)
{
	int r[2], h[2];
	pid_t pid;

	if (pipe(r) || pipe(h) || fipc_async_call(call, &self->c, 1, "hello", 5, 0))
		return -1;
	pid = fipc_fork();
	if (pid == 0) {
		close(r[0]);
		close(h[1]);
		forward_as_nobody(self, r[1], h[0]);
	}
	close(r[1]);
	close(h[0]);
	*ready = r[0];
	*hold = h[1];
	return pid;
}

TEST_F(pair, a_forwarded_call_comes_from_its_forwarder_and_names_its_caller_apart)
{
	struct fastipc_serve fwd;
	struct fipc_async call;
	int ready, hold;
	char c;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root to switch users");
	pid = fork_forwarder(self, &call, &ready, &hold);
	ASSERT_LE(0, pid);
	ASSERT_EQ(1, read(ready, &c, 1));
	ASSERT_EQ(0, fipc_recv(self->b.fd, &fwd));
	close(hold);
	close(ready);
	EXPECT_EQ(0, fipc_reap(pid));
	EXPECT_EQ(FASTIPC_MSG_FORWARDED, fwd.msg_flags);
	EXPECT_EQ((uint32_t)pid, fwd.pid);
	EXPECT_EQ(FIPC_NOBODY, fwd.uid);
	EXPECT_EQ(FIPC_NOBODY, fwd.gid);
	EXPECT_EQ((uint32_t)getpid(), fwd.caller_pid);
	EXPECT_EQ(geteuid(), fwd.caller_uid);
	EXPECT_EQ(getegid(), fwd.caller_gid);
	ASSERT_EQ(0, fipc_reply(self->b.fd, fwd.token, 0, NULL, 0));
	EXPECT_EQ(0, fipc_async_join(&call));
}

/* A forwarder that has exited by the time the target receives is pid 0. */
TEST_F(pair, a_forwarder_gone_before_the_call_is_received_shows_as_pid_0)
{
	struct fastipc_serve fwd;
	struct fipc_async call;
	int ready, hold;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root to switch users");
	pid = fork_forwarder(self, &call, &ready, &hold);
	ASSERT_LE(0, pid);
	close(hold);
	ASSERT_EQ(0, fipc_reap(pid));
	ASSERT_EQ(0, fipc_recv(self->b.fd, &fwd));
	EXPECT_EQ(FASTIPC_MSG_FORWARDED, fwd.msg_flags);
	EXPECT_EQ(0, fwd.pid);
	EXPECT_EQ(FIPC_NOBODY, fwd.uid);
	EXPECT_EQ((uint32_t)getpid(), fwd.caller_pid);
	ASSERT_EQ(0, fipc_reply(self->b.fd, fwd.token, 0, NULL, 0));
	EXPECT_EQ(0, fipc_async_join(&call));
	close(ready);
}

TEST_F(pair, a_call_not_forwarded_names_its_sender_as_its_caller)
{
	struct fastipc_serve msg;
	struct fipc_async call;

	ASSERT_EQ(0, call_and_hold(self, &call, &msg, 1));
	EXPECT_EQ(0, msg.msg_flags);
	EXPECT_EQ((uint32_t)getpid(), msg.pid);
	EXPECT_EQ(msg.pid, msg.caller_pid);
	EXPECT_EQ(msg.uid, msg.caller_uid);
	EXPECT_EQ(msg.gid, msg.caller_gid);
	ASSERT_EQ(0, fipc_reply(self->a.fd, msg.token, 0, NULL, 0));
	EXPECT_EQ(0, fipc_async_join(&call));
}

/* The reply limit of every endpoint a call passes through holds. */
TEST_F(pair, a_reply_longer_than_an_endpoint_on_the_route_declared_is_emsgsize)
{
	struct fastipc_serve msg, fwd;
	struct fipc_client c16;
	struct fipc_async call;
	struct fipc_ep small;
	uint8_t reply[17];

	fipc_fill(reply, sizeof(reply), 3);
	ASSERT_EQ(0, fipc_ep_open_flags(&small, FASTIPC_EP_ACCEPT_FORWARDS, 16, NULL, 0, 256, 2));
	ASSERT_EQ(0, fipc_client_open(&c16, small.fd, NULL, 512));
	/* Straight: 17 bytes are refused, the token held, 16 go. */
	ASSERT_EQ(0, fipc_async_call(&call, &c16, 1, NULL, 0, 0));
	ASSERT_EQ(0, fipc_recv(small.fd, &msg));
	EXPECT_EQ(-EMSGSIZE, fipc_reply(small.fd, msg.token, 0, reply, 17));
	ASSERT_EQ(0, fipc_reply(small.fd, msg.token, 0, reply, 16));
	ASSERT_EQ(0, fipc_async_join(&call));
	EXPECT_EQ(16, call.call.reply_len);
	/* Forwarded on to b, which has no limit of its own: still 16. */
	ASSERT_EQ(0, fipc_async_call(&call, &c16, 1, NULL, 0, 0));
	ASSERT_EQ(0, fipc_recv(small.fd, &msg));
	ASSERT_EQ(0, fipc_forward(small.fd, self->b.fd, msg.token, 2, NULL, 0));
	ASSERT_EQ(0, fipc_recv(self->b.fd, &fwd));
	EXPECT_EQ(-EMSGSIZE, fipc_reply(self->b.fd, fwd.token, 0, reply, 17));
	ASSERT_EQ(0, fipc_reply(self->b.fd, fwd.token, 0, reply, 16));
	ASSERT_EQ(0, fipc_async_join(&call));
	EXPECT_EQ(16, call.call.reply_len);
	fipc_client_close(&c16);
	fipc_ep_close(&small);
}

TEST_HARNESS_MAIN
