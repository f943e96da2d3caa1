// SPDX-License-Identifier: GPL-2.0
/*
 * One-way messages: FASTIPC_IOC_SEND, its quota of half the slots, waiting
 * for room with FASTIPC_SEND_WAIT, ordering, and a closing endpoint.
 */
#include "fastipc_util.h"

#include "kselftest_harness.h"

#define SLOT	256

static void noop_handler(int sig)
{
	(void)sig;
}

FIXTURE(oneway) {
	struct fipc_ep ep;
	struct fipc_client c;
	uint32_t quota;
};

FIXTURE_VARIANT(oneway) {
	uint32_t nslots;
};

FIXTURE_VARIANT_ADD(oneway, one_slot) { .nslots = 1 };
FIXTURE_VARIANT_ADD(oneway, four_slots) { .nslots = 4 };
FIXTURE_VARIANT_ADD(oneway, five_slots) { .nslots = 5 };
FIXTURE_VARIANT_ADD(oneway, sixteen_slots) { .nslots = 16 };

FIXTURE_SETUP(oneway)
{
	ASSERT_EQ(0, fipc_ep_open(&self->ep, NULL, 0, SLOT, variant->nslots));
	ASSERT_EQ(0, fipc_client_open(&self->c, self->ep.fd, NULL, SLOT));
	self->quota = (variant->nslots + 1) / 2;
}

FIXTURE_TEARDOWN(oneway)
{
	fipc_client_close(&self->c);
	fipc_ep_close(&self->ep);
}

/* Receives one message and checks it is one-way with @opcode; its token or 0. */
static uint64_t recv_oneway(int fd, uint32_t opcode)
{
	struct fastipc_serve msg;

	if (fipc_recv_nonblock(fd, &msg) || msg.opcode != opcode ||
	    !(msg.msg_flags & FASTIPC_MSG_ONEWAY))
		return 0;
	return msg.token;
}

TEST_F(oneway, message_is_delivered_with_opcode_payload_and_sender)
{
	struct fastipc_serve msg;
	uint8_t data[SLOT];

	fipc_fill(data, sizeof(data), 11);
	ASSERT_EQ(0, fipc_send(self->c.fd, 0, 0xabcdef01, data, sizeof(data)));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	EXPECT_EQ(FASTIPC_MSG_ONEWAY, msg.msg_flags);
	EXPECT_EQ(0xabcdef01, msg.opcode);
	EXPECT_EQ(SLOT, msg.len);
	EXPECT_EQ(getpid(), (pid_t)msg.pid);
	EXPECT_EQ(geteuid(), msg.uid);
	EXPECT_EQ(getegid(), msg.gid);
	ASSERT_GE(msg.offset, self->ep.pool_off);
	ASSERT_LE(msg.offset + msg.len, self->ep.pool_len);
	EXPECT_TRUE(fipc_check(self->ep.pool + msg.offset, msg.len, 11));
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));
	EXPECT_EQ(-ENOENT, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));

	/* An empty message. */
	ASSERT_EQ(0, fipc_send(self->c.fd, 0, 3, NULL, 0));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	EXPECT_EQ(0, msg.len);
	EXPECT_EQ(FASTIPC_MSG_ONEWAY, msg.msg_flags);
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));
}

TEST_F(oneway, quota_of_half_the_slots_gives_eagain_until_one_is_released)
{
	uint64_t tokens[FASTIPC_MAX_SLOTS];
	struct fipc_client other;
	uint32_t i;

	for (i = 0; i < self->quota; i++)
		ASSERT_EQ(0, fipc_send(self->c.fd, 0, i, NULL, 0)) TH_LOG("message %u", i);
	EXPECT_EQ(-EAGAIN, fipc_send(self->c.fd, 0, 99, NULL, 0));
	/* Another sender shares the endpoint's quota. */
	ASSERT_EQ(0, fipc_client_open(&other, self->ep.fd, NULL, 64));
	EXPECT_EQ(-EAGAIN, fipc_send(other.fd, 0, 99, NULL, 0));

	/* Receiving is not releasing. */
	tokens[0] = recv_oneway(self->ep.fd, 0);
	ASSERT_NE(0, tokens[0]);
	EXPECT_EQ(-EAGAIN, fipc_send(self->c.fd, 0, 99, NULL, 0));
	ASSERT_EQ(0, fipc_reply(self->ep.fd, tokens[0], 0, NULL, 0));
	EXPECT_EQ(0, fipc_send(other.fd, 0, self->quota, NULL, 0));
	EXPECT_EQ(-EAGAIN, fipc_send(self->c.fd, 0, 99, NULL, 0));

	for (i = 1; i <= self->quota; i++) {
		tokens[i] = recv_oneway(self->ep.fd, i);
		ASSERT_NE(0, tokens[i]) TH_LOG("message %u", i);
		EXPECT_EQ(0, fipc_reply(self->ep.fd, tokens[i], 0, NULL, 0));
	}
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, NULL));
	fipc_client_close(&other);
}

TEST_F(oneway, calls_still_find_a_slot_when_the_quota_is_full)
{
	struct fastipc_serve msg;
	struct fipc_async a;
	uint64_t tokens[FASTIPC_MAX_SLOTS];
	uint32_t i;

	if (variant->nslots < 2)
		SKIP(return, "needs a slot beyond the one-way quota");
	for (i = 0; i < self->quota; i++)
		ASSERT_EQ(0, fipc_send(self->c.fd, 0, i, NULL, 0));
	ASSERT_EQ(0, fipc_async_call(&a, &self->c, 1000, "call", 4, 0));
	ASSERT_EQ(0, fipc_async_wait_blocked(&a));
	/* Oldest first: the messages, then the call. */
	for (i = 0; i < self->quota; i++) {
		tokens[i] = recv_oneway(self->ep.fd, i);
		ASSERT_NE(0, tokens[i]);
	}
	ASSERT_EQ(0, fipc_recv_nonblock(self->ep.fd, &msg));
	EXPECT_EQ(1000, msg.opcode);
	EXPECT_EQ(0, msg.msg_flags & FASTIPC_MSG_ONEWAY);
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 8, NULL, 0));
	EXPECT_EQ(0, fipc_async_join(&a));
	EXPECT_EQ(8, a.call.status);
	for (i = 0; i < self->quota; i++)
		EXPECT_EQ(0, fipc_reply(self->ep.fd, tokens[i], 0, NULL, 0));
}

TEST_F(oneway, send_wait_blocks_until_the_server_releases_a_slot)
{
	struct fipc_async a;
	uint64_t token;
	uint32_t i;

	for (i = 0; i < self->quota; i++)
		ASSERT_EQ(0, fipc_send(self->c.fd, 0, i, NULL, 0));
	ASSERT_EQ(0, fipc_async_send(&a, self->c.fd, FASTIPC_SEND_WAIT, self->quota, NULL, 0));
	ASSERT_EQ(0, fipc_async_wait_blocked(&a));
	EXPECT_EQ(0, fipc_revents(a.done, POLLIN));

	token = recv_oneway(self->ep.fd, 0);
	ASSERT_NE(0, token);
	/* Received but not released: still no room. */
	EXPECT_EQ(-EAGAIN, fipc_send(self->c.fd, 0, 99, NULL, 0));
	EXPECT_EQ(0, fipc_revents(a.done, POLLIN));
	EXPECT_EQ(0, fipc_reply(self->ep.fd, token, 0, NULL, 0));
	EXPECT_EQ(0, fipc_async_join(&a));

	for (i = 1; i <= self->quota; i++) {
		token = recv_oneway(self->ep.fd, i);
		ASSERT_NE(0, token) TH_LOG("message %u", i);
		EXPECT_EQ(0, fipc_reply(self->ep.fd, token, 0, NULL, 0));
	}
}

TEST_F(oneway, send_wait_is_interrupted_by_a_signal)
{
	struct sigaction sa = { .sa_handler = noop_handler };
	struct fipc_async a;
	uint32_t i;

	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	for (i = 0; i < self->quota; i++)
		ASSERT_EQ(0, fipc_send(self->c.fd, 0, i, NULL, 0));
	ASSERT_EQ(0, fipc_async_send(&a, self->c.fd, FASTIPC_SEND_WAIT, 99, NULL, 0));
	ASSERT_EQ(0, fipc_async_wait_blocked(&a));
	ASSERT_EQ(0, pthread_kill(a.thread, SIGUSR1));
	EXPECT_EQ(-EINTR, fipc_async_join(&a));
	/* Nothing was queued by it. */
	for (i = 0; i < self->quota; i++)
		EXPECT_NE(0, recv_oneway(self->ep.fd, i));
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, NULL));
}

TEST_F(oneway, closing_the_endpoint_gives_epipe_to_waiting_and_later_senders)
{
	struct fipc_async a;
	uint32_t i;

	for (i = 0; i < self->quota; i++)
		ASSERT_EQ(0, fipc_send(self->c.fd, 0, i, NULL, 0));
	ASSERT_EQ(0, fipc_async_send(&a, self->c.fd, FASTIPC_SEND_WAIT, 99, NULL, 0));
	ASSERT_EQ(0, fipc_async_wait_blocked(&a));
	fipc_ep_close(&self->ep);
	EXPECT_EQ(-EPIPE, fipc_async_join(&a));
	EXPECT_EQ(-EPIPE, fipc_send(self->c.fd, 0, 1, NULL, 0));
	EXPECT_EQ(-EPIPE, fipc_send(self->c.fd, FASTIPC_SEND_WAIT, 1, "x", 1));
}

TEST_F(oneway, send_rejects_bad_arguments_without_using_the_quota)
{
	struct fastipc_send s = { .opcode = 1 };
	int unconnected = fipc_open();
	uint32_t i;

	ASSERT_LE(0, unconnected);
	s.flags = 1U << 2;
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->c.fd, FASTIPC_IOC_SEND, &s));
	s.flags = 0;
	/* The descriptor fields are reserved without FASTIPC_SEND_FDS. */
	s.nfds = 1;
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->c.fd, FASTIPC_IOC_SEND, &s));
	s.nfds = 0;
	s.fds_addr = 1;
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->c.fd, FASTIPC_IOC_SEND, &s));
	s.fds_addr = 0;
	s.reserved = 1;
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->c.fd, FASTIPC_IOC_SEND, &s));
	s.reserved = 0;
	EXPECT_EQ(-EFAULT, fipc_ioctl(self->c.fd, FASTIPC_IOC_SEND, NULL));
	for (i = 0; i <= self->quota; i++) {
		EXPECT_EQ(-EMSGSIZE, fipc_send(self->c.fd, 0, 1, self->c.buf, SLOT + 1));
		EXPECT_EQ(-EFAULT, fipc_send(self->c.fd, 0, 1, NULL, 16));
	}
	EXPECT_EQ(-ENOTCONN, fipc_send(unconnected, 0, 1, NULL, 0));
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, NULL));
	for (i = 0; i < self->quota; i++)
		EXPECT_EQ(0, fipc_send(self->c.fd, 0, i, NULL, 0));
	close(unconnected);
}

TEST_F(oneway, messages_and_calls_are_received_oldest_first)
{
	struct fastipc_serve msg;
	struct fipc_async a;
	uint64_t t;

	if (variant->nslots < 4)
		SKIP(return, "needs four slots");
	ASSERT_EQ(0, fipc_send(self->c.fd, 0, 1, NULL, 0));
	ASSERT_EQ(0, fipc_async_call(&a, &self->c, 2, NULL, 0, 0));
	ASSERT_EQ(0, fipc_async_wait_blocked(&a));
	ASSERT_EQ(0, fipc_send(self->c.fd, 0, 3, NULL, 0));

	t = recv_oneway(self->ep.fd, 1);
	ASSERT_NE(0, t);
	EXPECT_EQ(0, fipc_reply(self->ep.fd, t, 0, NULL, 0));
	ASSERT_EQ(0, fipc_recv_nonblock(self->ep.fd, &msg));
	EXPECT_EQ(2, msg.opcode);
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));
	t = recv_oneway(self->ep.fd, 3);
	ASSERT_NE(0, t);
	EXPECT_EQ(0, fipc_reply(self->ep.fd, t, 0, NULL, 0));
	EXPECT_EQ(0, fipc_async_join(&a));
}

/* Senders that each send SENDS sequence-numbered messages, waiting for room. */
#define SENDERS	3
#define SENDS	60

struct sender {
	struct fipc_client c;
	uint32_t id;
	int ret;
	pthread_t thread;
};

static void *sender_fn(void *arg)
{
	struct sender *s = arg;
	uint32_t seq, data[2];
	int ret;

	for (seq = 0; seq < SENDS; seq++) {
		data[0] = s->id;
		data[1] = seq;
		ret = fipc_send(s->c.fd, FASTIPC_SEND_WAIT, s->id, data, sizeof(data));
		if (ret) {
			s->ret = ret;
			break;
		}
	}
	return NULL;
}

TEST_F_TIMEOUT(oneway, each_senders_messages_arrive_in_the_order_sent, 60)
{
	uint32_t next[SENDERS] = { 0 }, data[2], i, n;
	struct sender s[SENDERS];
	struct fastipc_serve msg;
	uint64_t token = 0;
	uint32_t flags = FASTIPC_SERVE_RECV;

	for (i = 0; i < SENDERS; i++) {
		ASSERT_EQ(0, fipc_client_open(&s[i].c, self->ep.fd, NULL, 64));
		s[i].id = i;
		s[i].ret = 0;
		ASSERT_EQ(0, pthread_create(&s[i].thread, NULL, sender_fn, &s[i]));
	}
	/* Receive each message and release the previous one in one go. */
	for (n = 0; n < SENDERS * SENDS; n++) {
		ASSERT_EQ(0, fipc_serve(self->ep.fd, flags, token, 0, NULL, 0, &msg));
		ASSERT_EQ(FASTIPC_MSG_ONEWAY, msg.msg_flags);
		ASSERT_EQ(sizeof(data), msg.len);
		memcpy(data, self->ep.pool + msg.offset, sizeof(data));
		ASSERT_GT(SENDERS, data[0]);
		ASSERT_EQ(data[0], msg.opcode);
		EXPECT_EQ(next[data[0]], data[1]) TH_LOG("sender %u", data[0]);
		next[data[0]] = data[1] + 1;
		token = msg.token;
		flags = FASTIPC_SERVE_REPLY | FASTIPC_SERVE_RECV;
	}
	EXPECT_EQ(0, fipc_reply(self->ep.fd, token, 0, NULL, 0));
	for (i = 0; i < SENDERS; i++) {
		pthread_join(s[i].thread, NULL);
		EXPECT_EQ(0, s[i].ret);
		EXPECT_EQ(SENDS, next[i]);
		fipc_client_close(&s[i].c);
	}
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, NULL));
}

TEST_HARNESS_MAIN
