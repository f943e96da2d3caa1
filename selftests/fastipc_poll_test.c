// SPDX-License-Identifier: GPL-2.0
/*
 * Readiness: poll() and epoll on endpoints (POLLIN while a message waits) and
 * clients (POLLHUP once the endpoint is gone), FASTIPC_SERVE_NONBLOCK, and a
 * blocking receive interrupted by a signal.
 */
#include "fastipc_util.h"

#include <sys/epoll.h>

#include "kselftest_harness.h"

#define READABLE	(POLLIN | POLLRDNORM)

FIXTURE(ep) {
	struct fipc_ep ep;
	struct fipc_client c;
};

FIXTURE_SETUP(ep)
{
	ASSERT_EQ(0, fipc_ep_open(&self->ep, NULL, 0, 128, 8));
	ASSERT_EQ(0, fipc_client_open(&self->c, self->ep.fd, NULL, 128));
}

FIXTURE_TEARDOWN(ep)
{
	fipc_client_close(&self->c);
	fipc_ep_close(&self->ep);
}

/* A thread blocked in poll() on one fd; @revents is its result. */
struct poller {
	int fd;
	short events, revents;
	int ret;
	pid_t tid;
	pthread_t thread;
};

static void *poller_fn(void *arg)
{
	struct poller *p = arg;
	struct pollfd pfd = { .fd = p->fd, .events = p->events };

	__atomic_store_n(&p->tid, gettid(), __ATOMIC_SEQ_CST);
	p->ret = poll(&pfd, 1, -1);
	p->revents = pfd.revents;
	return NULL;
}

/* Starts a poller and waits until it sleeps in the kernel. */
static int poller_start(struct poller *p, int fd, short events)
{
	int ret;

	memset(p, 0, sizeof(*p));
	p->fd = fd;
	p->events = events;
	ret = pthread_create(&p->thread, NULL, poller_fn, p);
	if (ret)
		return -ret;
	while (!__atomic_load_n(&p->tid, __ATOMIC_SEQ_CST))
		sched_yield();
	return fipc_wait_blocked_in(p->tid, -1);
}

TEST_F(ep, empty_endpoint_is_not_readable)
{
	EXPECT_EQ(0, fipc_revents(self->ep.fd, POLLIN | POLLRDNORM));
	EXPECT_EQ(0, fipc_revents(self->c.fd, POLLHUP) & POLLHUP);
}

TEST_F(ep, pollin_shows_while_a_oneway_message_waits)
{
	struct fastipc_serve m1, m2;

	ASSERT_EQ(0, fipc_send(self->c.fd, 0, 1, NULL, 0));
	EXPECT_EQ(READABLE, fipc_revents(self->ep.fd, READABLE));
	ASSERT_EQ(0, fipc_send(self->c.fd, 0, 2, NULL, 0));
	ASSERT_EQ(0, fipc_recv_nonblock(self->ep.fd, &m1));
	/* One still waits. */
	EXPECT_EQ(READABLE, fipc_revents(self->ep.fd, READABLE));
	ASSERT_EQ(0, fipc_recv_nonblock(self->ep.fd, &m2));
	/* Received, though not yet released: nothing waits. */
	EXPECT_EQ(0, fipc_revents(self->ep.fd, READABLE));
	EXPECT_EQ(0, fipc_reply(self->ep.fd, m1.token, 0, NULL, 0));
	EXPECT_EQ(0, fipc_reply(self->ep.fd, m2.token, 0, NULL, 0));
	EXPECT_EQ(0, fipc_revents(self->ep.fd, READABLE));
}

TEST_F(ep, pollin_shows_while_a_call_waits)
{
	struct fastipc_serve msg;
	struct fipc_async a;

	ASSERT_EQ(0, fipc_async_call(&a, &self->c, 1, NULL, 0, 0));
	ASSERT_EQ(0, fipc_async_wait_blocked(&a));
	EXPECT_EQ(READABLE, fipc_revents(self->ep.fd, READABLE));
	ASSERT_EQ(0, fipc_recv_nonblock(self->ep.fd, &msg));
	EXPECT_EQ(0, fipc_revents(self->ep.fd, READABLE));
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));
	EXPECT_EQ(0, fipc_async_join(&a));
}

TEST_F(ep, blocked_poll_wakes_when_a_call_arrives)
{
	struct fastipc_serve msg;
	struct fipc_async a;
	struct poller p;

	ASSERT_EQ(0, poller_start(&p, self->ep.fd, POLLIN));
	ASSERT_EQ(0, fipc_async_call(&a, &self->c, 1, NULL, 0, 0));
	pthread_join(p.thread, NULL);
	EXPECT_EQ(1, p.ret);
	EXPECT_EQ(POLLIN, p.revents);
	ASSERT_EQ(0, fipc_recv_nonblock(self->ep.fd, &msg));
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));
	EXPECT_EQ(0, fipc_async_join(&a));
}

TEST_F(ep, blocked_poll_wakes_when_a_oneway_message_arrives)
{
	struct poller p;

	ASSERT_EQ(0, poller_start(&p, self->ep.fd, POLLIN | POLLRDNORM));
	ASSERT_EQ(0, fipc_send(self->c.fd, 0, 1, NULL, 0));
	pthread_join(p.thread, NULL);
	EXPECT_EQ(1, p.ret);
	EXPECT_EQ(READABLE, p.revents);
}

TEST(poll_and_epoll_report_exactly_the_endpoints_with_messages)
{
	struct epoll_event ev, got[3];
	struct fipc_client c[3];
	struct fastipc_serve msg;
	struct fipc_ep ep[3];
	struct pollfd pfd[3];
	int i, epfd = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_LE(0, epfd);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, fipc_ep_open(&ep[i], NULL, 0, 64, 2));
		ASSERT_EQ(0, fipc_client_open(&c[i], ep[i].fd, NULL, 64));
		ev.events = EPOLLIN;
		ev.data.u32 = i;
		ASSERT_EQ(0, epoll_ctl(epfd, EPOLL_CTL_ADD, ep[i].fd, &ev));
		pfd[i] = (struct pollfd){ .fd = ep[i].fd, .events = POLLIN };
	}
	EXPECT_EQ(0, poll(pfd, 3, 0));
	EXPECT_EQ(0, epoll_wait(epfd, got, 3, 0));

	ASSERT_EQ(0, fipc_send(c[1].fd, 0, 1, NULL, 0));
	ASSERT_EQ(1, poll(pfd, 3, -1));
	EXPECT_EQ(0, pfd[0].revents);
	EXPECT_EQ(POLLIN, pfd[1].revents);
	EXPECT_EQ(0, pfd[2].revents);
	ASSERT_EQ(1, epoll_wait(epfd, got, 3, -1));
	EXPECT_EQ(1, got[0].data.u32);

	ASSERT_EQ(0, fipc_send(c[2].fd, 0, 2, NULL, 0));
	ASSERT_EQ(0, fipc_recv_nonblock(ep[1].fd, &msg));
	EXPECT_EQ(0, fipc_reply(ep[1].fd, msg.token, 0, NULL, 0));
	ASSERT_EQ(1, poll(pfd, 3, -1));
	EXPECT_EQ(POLLIN, pfd[2].revents);
	ASSERT_EQ(1, epoll_wait(epfd, got, 3, -1));
	EXPECT_EQ(2, got[0].data.u32);
	ASSERT_EQ(0, fipc_recv_nonblock(ep[2].fd, &msg));
	EXPECT_EQ(0, fipc_reply(ep[2].fd, msg.token, 0, NULL, 0));
	EXPECT_EQ(0, epoll_wait(epfd, got, 3, 0));

	for (i = 0; i < 3; i++) {
		fipc_client_close(&c[i]);
		fipc_ep_close(&ep[i]);
	}
	close(epfd);
}

TEST_F(ep, nonblocking_serve_gives_eagain_when_nothing_waits)
{
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, NULL));
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, NULL));
}

TEST_F(ep, nonblocking_reply_and_receive_delivers_the_reply_then_gives_eagain)
{
	struct fastipc_serve msg;
	struct fipc_async a;

	ASSERT_EQ(0, fipc_async_call(&a, &self->c, 1, NULL, 0, 0));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	EXPECT_EQ(-EAGAIN, fipc_serve(self->ep.fd, FASTIPC_SERVE_REPLY | FASTIPC_SERVE_RECV |
				      FASTIPC_SERVE_NONBLOCK, msg.token, 31, "done", 4, NULL));
	ASSERT_EQ(0, fipc_async_join(&a));
	EXPECT_EQ(31, a.call.status);
	EXPECT_EQ(4, a.call.reply_len);
	EXPECT_EQ(0, memcmp(self->c.buf, "done", 4));
	EXPECT_EQ(-ENOENT, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));
}

TEST_F(ep, client_reports_pollhup_after_its_endpoint_closes)
{
	struct fipc_client other;
	struct poller p;

	ASSERT_EQ(0, fipc_client_open(&other, self->ep.fd, NULL, 64));
	EXPECT_EQ(0, fipc_revents(self->c.fd, POLLIN) & POLLHUP);
	/* One client is asleep in poll(), the other is checked afterwards. */
	ASSERT_EQ(0, poller_start(&p, other.fd, POLLIN));
	fipc_ep_close(&self->ep);
	pthread_join(p.thread, NULL);
	EXPECT_EQ(1, p.ret);
	EXPECT_EQ(POLLHUP, p.revents & POLLHUP);
	EXPECT_EQ(POLLHUP, fipc_revents(self->c.fd, POLLIN) & POLLHUP);
	fipc_client_close(&other);
}

static void noop_handler(int sig)
{
	(void)sig;
}

struct receiver {
	int fd, ret;
	pid_t tid;
	pthread_t thread;
};

static void *receiver_fn(void *arg)
{
	struct receiver *r = arg;

	__atomic_store_n(&r->tid, gettid(), __ATOMIC_SEQ_CST);
	r->ret = fipc_recv(r->fd, NULL);
	return NULL;
}

TEST_F(ep, blocking_receive_is_interrupted_by_a_signal)
{
	struct sigaction sa = { .sa_handler = noop_handler };
	struct receiver r = { .fd = self->ep.fd };

	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, pthread_create(&r.thread, NULL, receiver_fn, &r));
	while (!__atomic_load_n(&r.tid, __ATOMIC_SEQ_CST))
		sched_yield();
	ASSERT_EQ(0, fipc_wait_blocked_in_ioctl(r.tid));
	ASSERT_EQ(0, pthread_kill(r.thread, SIGUSR1));
	pthread_join(r.thread, NULL);
	EXPECT_EQ(-EINTR, r.ret);
	/* A message sent afterwards still waits for the next receive. */
	ASSERT_EQ(0, fipc_send(self->c.fd, 0, 1, NULL, 0));
	EXPECT_EQ(READABLE, fipc_revents(self->ep.fd, READABLE));
}

TEST_HARNESS_MAIN
