// SPDX-License-Identifier: GPL-2.0
/*
 * Blocking commands that restart: a CALL, a SERVE's receive and a SEND that
 * waits for room go on waiting through a signal whose handler has
 * SA_RESTART, a stop and continue, or a ptrace attach and detach, without
 * sending twice, losing a message or answering twice. A handler without
 * SA_RESTART still ends them with EINTR; a CALL's timeout counts from its
 * first attempt however often it restarts; and a CALL whose argument a
 * handler rewrote is a new call.
 *
 * Every interruption here reaches the blocking wait first: the test waits
 * until the thread or process sleeps in the ioctl (and, for a call, until the
 * server holds the request), and after the interruption until its handler
 * ran, or until it stopped, and then until it sleeps in the ioctl again.
 */
#include "fastipc_util.h"

#include <sys/resource.h>

#include <sys/ptrace.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"

#define SLOT		256
#define NSLOTS		2	/* a one-way quota of one message */
#define REQ_LEN		200
#define REPLY_LEN	240
#define REQ_SEED	0x1234
#define REPLY_SEED	0x5678
#define MSG_SEED	0x9abc
#define OPCODE		0x0badcafe
#define NEW_OPCODE	0x0c0ffee0
#define MSG_OPCODE	0x51
#define REPLY_STATUS	((int32_t)0xdeadbeef)
#define UNTOUCHED	0xee

/* Runs of the handler below, in any thread. */
static int handled;
/* A call argument the handler rewrites with mutate_opcode, once. */
static struct fastipc_call *mutate_call;
static uint32_t mutate_opcode;

static void count_handler(int sig)
{
	struct fastipc_call *call = __atomic_exchange_n(&mutate_call, NULL, __ATOMIC_SEQ_CST);

	(void)sig;
	if (call)
		call->opcode = mutate_opcode;
	__atomic_fetch_add(&handled, 1, __ATOMIC_SEQ_CST);
}

/* Installs count_handler for @sig; @flags SA_RESTART or 0. */
static int install_handler(int sig, int flags)
{
	struct sigaction sa = { .sa_handler = count_handler, .sa_flags = flags };

	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL) ? -errno : 0;
}

static bool readable(int fd)
{
	return fipc_revents(fd, POLLIN) & POLLIN;
}

/*
 * Sends @sig to @thread and waits until its handler has run, or until the
 * thread's command returned (@done readable), after which the handler may
 * never run.
 */
static int signal_thread(pthread_t thread, int sig, int done)
{
	int before = __atomic_load_n(&handled, __ATOMIC_SEQ_CST);
	int err = pthread_kill(thread, sig);

	if (err)
		return -err;
	while (__atomic_load_n(&handled, __ATOMIC_SEQ_CST) == before && !readable(done))
		sched_yield();
	return 0;
}

/*
 * Waits until thread @tid sleeps in an ioctl, or until its command returned
 * (@done readable): 0 when it sleeps, 1 when it returned, or -errno.
 */
static int wait_blocked_or_done(pid_t tid, int done)
{
	int ret;

	for (;;) {
		ret = fipc_blocked_in(tid, SYS_ioctl);
		if (ret == 1)
			return 0;
		if (readable(done))
			return 1;
		if (ret < 0)
			return ret;
		sched_yield();
	}
}

/* Waits until @fd (an endpoint) has a message, or @done is readable first: 0 or 1. */
static int wait_message_or_done(int fd, int done)
{
	struct pollfd pfd[2] = {
		{ .fd = fd, .events = POLLIN },
		{ .fd = done, .events = POLLIN },
	};

	if (poll(pfd, 2, -1) < 0)
		return -errno;
	return (pfd[0].revents & POLLIN) ? 0 : 1;
}

/*
 * Waits until the single-threaded child @pid sleeps in an ioctl, or has
 * exited (not reaped): 0 when it sleeps, 1 when it exited, or -errno.
 */
static int wait_child_blocked_or_exited(pid_t pid)
{
	siginfo_t si;
	int ret;

	for (;;) {
		ret = fipc_blocked_in(pid, SYS_ioctl);
		if (ret == 1)
			return 0;
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT))
			return -errno;
		if (si.si_pid == pid)
			return 1;
		if (ret < 0)
			return ret;
		sched_yield();
	}
}

/* The request, the reply and the one-way message the tests exchange. */
static uint8_t req_bytes[REQ_LEN], reply_bytes[REPLY_LEN], msg_bytes[SLOT];

static void fill_patterns(void)
{
	fipc_fill(req_bytes, sizeof(req_bytes), REQ_SEED);
	fipc_fill(reply_bytes, sizeof(reply_bytes), REPLY_SEED);
	fipc_fill(msg_bytes, sizeof(msg_bytes), MSG_SEED);
}

/* Checks @msg has @flags, @opcode and @len bytes in the pool filled from @seed. */
static void check_message(struct __test_metadata *_metadata, const struct fipc_ep *ep,
			  const struct fastipc_serve *msg, uint32_t flags, uint32_t opcode,
			  uint32_t len, uint32_t seed)
{
	EXPECT_EQ(flags, msg->msg_flags);
	EXPECT_EQ(opcode, msg->opcode);
	ASSERT_EQ(len, msg->len);
	ASSERT_LE(ep->pool_off, msg->offset);
	ASSERT_GE(ep->pool_len, msg->offset + msg->len);
	EXPECT_TRUE(fipc_check(ep->pool + msg->offset, msg->len, seed));
}

/* Receives without waiting and checks it is the call of @opcode with req_bytes. */
static void recv_request(struct __test_metadata *_metadata, const struct fipc_ep *ep,
			 uint32_t opcode, struct fastipc_serve *msg)
{
	ASSERT_EQ(0, fipc_recv_nonblock(ep->fd, msg));
	check_message(_metadata, ep, msg, 0, opcode, REQ_LEN, REQ_SEED);
}

/* Checks a received message is the one-way message of MSG_OPCODE with msg_bytes. */
static void check_oneway(struct __test_metadata *_metadata, const struct fipc_ep *ep,
			 const struct fastipc_serve *msg)
{
	check_message(_metadata, ep, msg, FASTIPC_MSG_ONEWAY, MSG_OPCODE, SLOT, MSG_SEED);
}

/* Checks a call's outcome: the reply of reply_bytes and REPLY_STATUS, and nothing past it. */
static void check_reply(struct __test_metadata *_metadata, const struct fastipc_call *call,
			const uint8_t *buf)
{
	EXPECT_EQ(REPLY_STATUS, call->status);
	EXPECT_EQ(REPLY_LEN, call->reply_len);
	EXPECT_TRUE(fipc_check(buf, REPLY_LEN, REPLY_SEED));
	EXPECT_EQ(UNTOUCHED, buf[REPLY_LEN]);
}

static int reply(const struct fipc_ep *ep, uint64_t token)
{
	return fipc_reply(ep->fd, token, REPLY_STATUS, reply_bytes, REPLY_LEN);
}

/* Waits for the message in the endpoint, receives it and checks it is the call. */
static void wait_request(struct __test_metadata *_metadata, const struct fipc_ep *ep,
			 struct fipc_async *a, uint32_t opcode, struct fastipc_serve *msg)
{
	ASSERT_EQ(0, wait_message_or_done(ep->fd, a->done))
		TH_LOG("the call returned %d before the server got it", a->ret);
	recv_request(_metadata, ep, opcode, msg);
}

/*
 * Interrupts @a, asleep in its ioctl (a @what), with SIGUSR1, whose handler
 * has SA_RESTART, and checks that it sleeps in the ioctl again.
 */
static void interrupt_restarting(struct __test_metadata *_metadata, struct fipc_async *a,
				 const char *what)
{
	int ret;

	ASSERT_EQ(0, signal_thread(a->thread, SIGUSR1, a->done));
	ret = wait_blocked_or_done(a->tid, a->done);
	EXPECT_EQ(0, ret) TH_LOG("the interrupted %s returned %d instead of waiting on", what,
				 ret == 1 ? a->ret : ret);
}

/* Checks @msg is the one-way message, releases it and checks nothing else waits. */
static void release_oneway(struct __test_metadata *_metadata, const struct fipc_ep *ep,
			   const struct fastipc_serve *msg)
{
	struct fastipc_serve none;

	check_oneway(_metadata, ep, msg);
	EXPECT_EQ(0, fipc_reply(ep->fd, msg->token, 0, NULL, 0));
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(ep->fd, &none));
}

FIXTURE(restart) {
	struct fipc_ep ep;
	struct fipc_client c;
};

FIXTURE_SETUP(restart)
{
	fill_patterns();
	ASSERT_EQ(0, fipc_ep_open(&self->ep, NULL, 0, SLOT, NSLOTS));
	ASSERT_EQ(0, fipc_client_open(&self->c, self->ep.fd, NULL, SLOT));
	memset(self->c.buf, UNTOUCHED, SLOT);
}

FIXTURE_TEARDOWN(restart)
{
	/* Threads left blocked die with the process. */
	fipc_client_close(&self->c);
	fipc_ep_close(&self->ep);
}

TEST_F(restart, call_interrupted_by_an_sa_restart_handler_waits_on_and_gets_its_reply_once)
{
	struct fastipc_serve msg;
	struct fipc_async a;

	ASSERT_EQ(0, install_handler(SIGUSR1, SA_RESTART));
	ASSERT_EQ(0, fipc_async_call(&a, &self->c, OPCODE, req_bytes, REQ_LEN, 0));
	wait_request(_metadata, &self->ep, &a, OPCODE, &msg);
	ASSERT_EQ(0, fipc_async_wait_blocked(&a));

	interrupt_restarting(_metadata, &a, "call");
	EXPECT_EQ(1, __atomic_load_n(&handled, __ATOMIC_SEQ_CST));

	EXPECT_EQ(0, reply(&self->ep, msg.token));
	EXPECT_EQ(0, fipc_async_join(&a));
	check_reply(_metadata, &a.call, self->c.buf);
	/* The request was not sent again on the restart. */
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, &msg));
}

TEST_F(restart, call_interrupted_by_a_handler_without_sa_restart_is_eintr_and_its_late_reply_ecanceled)
{
	struct fastipc_serve msg;
	struct fipc_async a;

	ASSERT_EQ(0, install_handler(SIGUSR2, 0));
	ASSERT_EQ(0, fipc_async_call(&a, &self->c, OPCODE, req_bytes, REQ_LEN, 0));
	wait_request(_metadata, &self->ep, &a, OPCODE, &msg);
	ASSERT_EQ(0, fipc_async_wait_blocked(&a));

	ASSERT_EQ(0, signal_thread(a.thread, SIGUSR2, a.done));
	EXPECT_EQ(-EINTR, fipc_async_join(&a));
	EXPECT_EQ(1, __atomic_load_n(&handled, __ATOMIC_SEQ_CST));
	EXPECT_EQ(-ECANCELED, reply(&self->ep, msg.token));
	EXPECT_EQ(UNTOUCHED, self->c.buf[0]);
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, &msg));
}

/*
 * A signal whose default action dumps core kills without SIGKILL: the call
 * must be cancelled, not parked for a thread that will never restart it.
 */
TEST_F(restart, call_killed_by_a_core_dumping_signal_is_cancelled)
{
	struct rlimit no_core = { 0, 0 };
	struct fastipc_serve msg;
	pid_t pid;

	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		CHILD_CHECK(setrlimit(RLIMIT_CORE, &no_core) == 0);
		fipc_call(&self->c, OPCODE, req_bytes, REQ_LEN, 0, NULL);
		_exit(1);
	}
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	ASSERT_EQ(OPCODE, msg.opcode);
	ASSERT_EQ(0, fipc_wait_blocked_in_ioctl(pid));
	ASSERT_EQ(0, kill(pid, SIGQUIT));
	EXPECT_EQ(128 + SIGQUIT, fipc_reap(pid));
	EXPECT_EQ(-ECANCELED, reply(&self->ep, msg.token));
}

TEST_F_TIMEOUT(restart, call_timeout_counts_from_the_first_attempt_however_often_sa_restart_interrupts_it, 120)
{
	uint64_t timeout_ns;
	struct fastipc_serve msg;
	struct fipc_async a;
	bool held = false;
	int ret;

	ASSERT_EQ(0, install_handler(SIGUSR1, SA_RESTART));
	/*
	 * The server must hold the call before it times out; a call that
	 * times out first is no error: try again with a longer timeout.
	 * Once it is held, it is interrupted again as soon as it sleeps
	 * again, far more often than its timeout: a deadline re-armed on
	 * each restart would never expire, and the harness timeout ends the
	 * test.
	 */
	for (timeout_ns = 200000000; !held && timeout_ns < 30000000000ULL; timeout_ns *= 4) {
		ASSERT_EQ(0, fipc_async_call(&a, &self->c, OPCODE, req_bytes, REQ_LEN, timeout_ns));
		if (wait_message_or_done(self->ep.fd, a.done) == 0) {
			ret = fipc_recv_nonblock(self->ep.fd, &msg);
			ASSERT_TRUE(ret == 0 || ret == -EAGAIN) TH_LOG("recv: %d", ret);
			held = ret == 0;
		}
		while (held) {
			ret = wait_blocked_or_done(fipc_async_tid(&a), a.done);
			ASSERT_LE(0, ret);
			if (ret == 1)
				break;
			ASSERT_EQ(0, signal_thread(a.thread, SIGUSR1, a.done));
		}
		EXPECT_EQ(-ETIMEDOUT, fipc_async_join(&a))
			TH_LOG("after %d interruptions", __atomic_load_n(&handled, __ATOMIC_SEQ_CST));
		if (held)
			EXPECT_EQ(-ECANCELED, reply(&self->ep, msg.token));
	}
	ASSERT_TRUE(held);
	EXPECT_LE(1, __atomic_load_n(&handled, __ATOMIC_SEQ_CST));
	EXPECT_EQ(UNTOUCHED, self->c.buf[0]);
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, &msg));
}

TEST_F(restart, call_waiting_for_a_slot_interrupted_by_an_sa_restart_handler_is_sent_once_the_slot_frees)
{
	struct fastipc_serve first, msg;
	struct fipc_client other, c;
	struct fipc_async a, b;
	struct fipc_ep ep;

	ASSERT_EQ(0, install_handler(SIGUSR1, SA_RESTART));
	ASSERT_EQ(0, fipc_ep_open(&ep, NULL, 0, SLOT, 1));
	ASSERT_EQ(0, fipc_client_open(&other, ep.fd, NULL, SLOT));
	ASSERT_EQ(0, fipc_client_open(&c, ep.fd, NULL, SLOT));
	memset(c.buf, UNTOUCHED, SLOT);
	/* The server holds the only slot... */
	ASSERT_EQ(0, fipc_async_call(&a, &other, 1, NULL, 0, 0));
	ASSERT_EQ(0, fipc_recv(ep.fd, &first));
	EXPECT_EQ(1, first.opcode);
	/* ...so the next call sleeps waiting for it, unsent. */
	ASSERT_EQ(0, fipc_async_call(&b, &c, OPCODE, req_bytes, REQ_LEN, 0));
	ASSERT_EQ(0, fipc_async_wait_blocked(&b));
	EXPECT_FALSE(readable(ep.fd));

	interrupt_restarting(_metadata, &b, "call");
	EXPECT_FALSE(readable(ep.fd));

	EXPECT_EQ(0, fipc_reply(ep.fd, first.token, 0, NULL, 0));
	EXPECT_EQ(0, fipc_async_join(&a));
	ASSERT_EQ(0, wait_message_or_done(ep.fd, b.done))
		TH_LOG("the call returned %d and was never sent", b.ret);
	recv_request(_metadata, &ep, OPCODE, &msg);
	EXPECT_EQ(0, reply(&ep, msg.token));
	EXPECT_EQ(0, fipc_async_join(&b));
	check_reply(_metadata, &b.call, c.buf);
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(ep.fd, &msg));
	fipc_client_close(&c);
	fipc_client_close(&other);
	fipc_ep_close(&ep);
}

TEST_F(restart, serve_receive_interrupted_by_an_sa_restart_handler_waits_on_for_the_next_message)
{
	struct fastipc_serve s = { .flags = FASTIPC_SERVE_RECV };
	struct fipc_async srv;

	ASSERT_EQ(0, install_handler(SIGUSR1, SA_RESTART));
	ASSERT_EQ(0, fipc_async_ioctl(&srv, self->ep.fd, FASTIPC_IOC_SERVE, &s));
	ASSERT_EQ(0, fipc_async_wait_blocked(&srv));

	interrupt_restarting(_metadata, &srv, "receive");

	ASSERT_EQ(0, fipc_send(self->c.fd, 0, MSG_OPCODE, msg_bytes, SLOT));
	ASSERT_EQ(0, fipc_async_join(&srv));
	release_oneway(_metadata, &self->ep, &s);
}

/*
 * A server thread answers a call with REPLY|RECV and sleeps in the receive:
 * @a is the call, answered once it returns; @srv the server thread on @s.
 */
static void serve_reply_then_sleep(struct __test_metadata *_metadata, FIXTURE_DATA(restart) *self,
				   struct fipc_async *a, struct fipc_async *srv,
				   struct fastipc_serve *s)
{
	struct fastipc_serve msg;

	ASSERT_EQ(0, fipc_async_call(a, &self->c, OPCODE, req_bytes, REQ_LEN, 0));
	wait_request(_metadata, &self->ep, a, OPCODE, &msg);
	*s = (struct fastipc_serve){
		.flags = FASTIPC_SERVE_REPLY | FASTIPC_SERVE_RECV,
		.reply_status = REPLY_STATUS,
		.reply_token = msg.token,
		.reply_addr = (uintptr_t)reply_bytes,
		.reply_len = REPLY_LEN,
	};
	ASSERT_EQ(0, fipc_async_ioctl(srv, self->ep.fd, FASTIPC_IOC_SERVE, s));
	/* The caller has its reply before the server sleeps in the receive. */
	ASSERT_EQ(0, wait_message_or_done(a->done, srv->done))
		TH_LOG("the serve returned %d before answering", srv->ret);
	ASSERT_EQ(0, fipc_async_join(a));
	check_reply(_metadata, &a->call, self->c.buf);
	ASSERT_EQ(0, wait_blocked_or_done(fipc_async_tid(srv), srv->done))
		TH_LOG("the serve returned %d without a message", srv->ret);
	/* Answered once: the token is gone. */
	EXPECT_EQ(-ENOENT, reply(&self->ep, msg.token));
}

TEST_F(restart, serve_interrupted_after_its_reply_without_sa_restart_is_eintr_and_left_a_receive_alone)
{
	struct fipc_async a, srv;
	struct fastipc_serve s;
	int ret;

	ASSERT_EQ(0, install_handler(SIGUSR2, 0));
	serve_reply_then_sleep(_metadata, self, &a, &srv, &s);

	ASSERT_EQ(0, signal_thread(srv.thread, SIGUSR2, srv.done));
	EXPECT_EQ(-EINTR, fipc_async_join(&srv));
	/* Re-issuing the struct as it is now must not answer the call again. */
	EXPECT_EQ(FASTIPC_SERVE_RECV, s.flags);
	EXPECT_EQ(0, s.reply_status);
	EXPECT_EQ(0, s.reply_token);
	EXPECT_EQ(0, s.reply_addr);
	EXPECT_EQ(0, s.reply_len);

	ASSERT_EQ(0, fipc_send(self->c.fd, 0, MSG_OPCODE, msg_bytes, SLOT));
	ret = fipc_ioctl(self->ep.fd, FASTIPC_IOC_SERVE, &s);
	ASSERT_EQ(0, ret);
	release_oneway(_metadata, &self->ep, &s);
}

TEST_F(restart, serve_interrupted_after_its_reply_by_an_sa_restart_handler_replies_once_and_receives_the_next_message)
{
	struct fipc_async a, srv;
	struct fastipc_serve s;

	ASSERT_EQ(0, install_handler(SIGUSR1, SA_RESTART));
	serve_reply_then_sleep(_metadata, self, &a, &srv, &s);

	interrupt_restarting(_metadata, &srv, "serve");

	ASSERT_EQ(0, fipc_send(self->c.fd, 0, MSG_OPCODE, msg_bytes, SLOT));
	/* A second answer to the consumed token would have failed the serve. */
	EXPECT_EQ(0, fipc_async_join(&srv));
	release_oneway(_metadata, &self->ep, &s);
}

/* Fills the one-way quota with a message of opcode 1; starts @a sending waiting for room. */
static void send_wait_for_room(struct __test_metadata *_metadata, FIXTURE_DATA(restart) *self,
			       struct fipc_async *a)
{
	ASSERT_EQ(0, fipc_send(self->c.fd, 0, 1, NULL, 0));
	ASSERT_EQ(0, fipc_async_send(a, self->c.fd, FASTIPC_SEND_WAIT, MSG_OPCODE, msg_bytes,
				     SLOT));
	ASSERT_EQ(0, fipc_async_wait_blocked(a));
}

/* Receives the quota's message of opcode 1 and releases it. */
static void release_first(struct __test_metadata *_metadata, const struct fipc_ep *ep)
{
	struct fastipc_serve msg;

	ASSERT_EQ(0, fipc_recv_nonblock(ep->fd, &msg));
	EXPECT_EQ(1, msg.opcode);
	EXPECT_EQ(0, fipc_reply(ep->fd, msg.token, 0, NULL, 0));
}

TEST_F(restart, send_wait_interrupted_by_an_sa_restart_handler_sends_once_when_room_frees)
{
	struct fastipc_serve msg;
	struct fipc_async a;

	ASSERT_EQ(0, install_handler(SIGUSR1, SA_RESTART));
	send_wait_for_room(_metadata, self, &a);

	interrupt_restarting(_metadata, &a, "send");

	release_first(_metadata, &self->ep);
	EXPECT_EQ(0, fipc_async_join(&a));
	ASSERT_EQ(0, fipc_recv_nonblock(self->ep.fd, &msg));
	release_oneway(_metadata, &self->ep, &msg);
}

TEST_F(restart, send_wait_interrupted_by_a_handler_without_sa_restart_is_eintr_and_sends_nothing)
{
	struct fastipc_serve msg;
	struct fipc_async a;

	ASSERT_EQ(0, install_handler(SIGUSR2, 0));
	send_wait_for_room(_metadata, self, &a);

	ASSERT_EQ(0, signal_thread(a.thread, SIGUSR2, a.done));
	EXPECT_EQ(-EINTR, fipc_async_join(&a));
	release_first(_metadata, &self->ep);
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, &msg));
}

TEST_F(restart, call_whose_argument_a_handler_rewrote_is_cancelled_and_made_again_as_the_new_call)
{
	struct fastipc_serve old, msg;
	struct fipc_async a;

	ASSERT_EQ(0, install_handler(SIGUSR1, SA_RESTART));
	ASSERT_EQ(0, fipc_async_call(&a, &self->c, OPCODE, req_bytes, REQ_LEN, 0));
	wait_request(_metadata, &self->ep, &a, OPCODE, &old);
	ASSERT_EQ(0, fipc_async_wait_blocked(&a));

	/* The handler changes the opcode of the call the thread is in. */
	__atomic_store_n(&mutate_opcode, NEW_OPCODE, __ATOMIC_SEQ_CST);
	__atomic_store_n(&mutate_call, &a.call, __ATOMIC_SEQ_CST);
	ASSERT_EQ(0, signal_thread(a.thread, SIGUSR1, a.done));
	EXPECT_EQ(NULL, __atomic_load_n(&mutate_call, __ATOMIC_SEQ_CST));

	/* The restart is a new call: the old one is given up before it is sent. */
	ASSERT_EQ(0, wait_message_or_done(self->ep.fd, a.done))
		TH_LOG("the interrupted call returned %d and no new call came", a.ret);
	EXPECT_EQ(-ECANCELED, reply(&self->ep, old.token));
	recv_request(_metadata, &self->ep, NEW_OPCODE, &msg);
	EXPECT_EQ(0, reply(&self->ep, msg.token));
	EXPECT_EQ(0, fipc_async_join(&a));
	EXPECT_EQ(NEW_OPCODE, a.call.opcode);
	check_reply(_metadata, &a.call, self->c.buf);
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, &msg));
}

/*
 * The same scenarios with a caller, a server or a sender in a process of its
 * own that is stopped and continued, or attached and detached by a tracer
 * (the test process), while it sleeps in the ioctl.
 */
enum interruption { BY_SIGSTOP, BY_PTRACE_ATTACH, BY_PTRACE_SEIZE };

/* What the child saw, for the test to check. */
struct outcome {
	int ret;
	struct fastipc_call call;
	struct fastipc_serve msg;
	bool reply_ok;
};

FIXTURE(stopped) {
	struct fipc_ep ep;
	struct fipc_client c;
	struct outcome *out;
};

FIXTURE_VARIANT(stopped) {
	enum interruption how;
};

FIXTURE_VARIANT_ADD(stopped, sigstop_then_sigcont) { .how = BY_SIGSTOP };
FIXTURE_VARIANT_ADD(stopped, ptrace_attach_then_detach) { .how = BY_PTRACE_ATTACH };
FIXTURE_VARIANT_ADD(stopped, ptrace_seize_interrupt_then_detach) { .how = BY_PTRACE_SEIZE };

FIXTURE_SETUP(stopped)
{
	fill_patterns();
	ASSERT_EQ(0, fipc_ep_open(&self->ep, NULL, 0, SLOT, NSLOTS));
	ASSERT_EQ(0, fipc_client_open(&self->c, self->ep.fd, NULL, SLOT));
	self->out = mmap(NULL, sizeof(*self->out), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(self->out != MAP_FAILED);
	self->out->ret = -EINPROGRESS;
}

FIXTURE_TEARDOWN(stopped)
{
	fipc_client_close(&self->c);
	fipc_ep_close(&self->ep);
	munmap(self->out, sizeof(*self->out));
}

/*
 * Stops child @pid, sleeping in an ioctl, the way @how says, waits until it
 * is stopped, and lets it go on. 0 or -errno; -EPROTO for an unexpected stop.
 */
static int stop_and_continue(pid_t pid, enum interruption how)
{
	int status;

	switch (how) {
	case BY_SIGSTOP:
		if (kill(pid, SIGSTOP))
			return -errno;
		if (waitpid(pid, &status, WUNTRACED) != pid)
			return -errno;
		if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGSTOP)
			return -EPROTO;
		return kill(pid, SIGCONT) ? -errno : 0;
	case BY_PTRACE_ATTACH:
		if (ptrace(PTRACE_ATTACH, pid, NULL, NULL))
			return -errno;
		if (waitpid(pid, &status, 0) != pid)
			return -errno;
		if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGSTOP)
			return -EPROTO;
		/* Detach suppressing the SIGSTOP: it goes on at once. */
		return ptrace(PTRACE_DETACH, pid, NULL, NULL) ? -errno : 0;
	case BY_PTRACE_SEIZE:
		if (ptrace(PTRACE_SEIZE, pid, NULL, NULL))
			return -errno;
		if (ptrace(PTRACE_INTERRUPT, pid, NULL, NULL))
			return -errno;
		if (waitpid(pid, &status, 0) != pid)
			return -errno;
		if (!WIFSTOPPED(status) || (status >> 16) != PTRACE_EVENT_STOP)
			return -EPROTO;
		return ptrace(PTRACE_DETACH, pid, NULL, NULL) ? -errno : 0;
	}
	return -EINVAL;
}

/* Interrupts child @pid, sleeping in an ioctl, and checks it sleeps there again. */
static void interrupt_child(struct __test_metadata *_metadata, pid_t pid, enum interruption how,
			    const struct outcome *out)
{
	int ret;

	ASSERT_EQ(0, fipc_wait_blocked_in_ioctl(pid));
	ASSERT_EQ(0, stop_and_continue(pid, how));
	ret = wait_child_blocked_or_exited(pid);
	EXPECT_EQ(0, ret) TH_LOG("the interrupted ioctl returned %d instead of waiting on",
				 ret == 1 ? out->ret : ret);
}

/*
 * The child's call on @ep_fd, on a client of its own so that the reply lands
 * in its memory; what it saw goes to @out.
 */
static __attribute__((noreturn)) void call_in_child(int ep_fd, struct outcome *out)
{
	struct fipc_client c;

	CHILD_CHECK(fipc_client_open(&c, ep_fd, NULL, SLOT) == 0);
	memset(c.buf, UNTOUCHED, SLOT);
	out->ret = fipc_call(&c, OPCODE, req_bytes, REQ_LEN, 0, &out->call);
	out->reply_ok = fipc_check(c.buf, REPLY_LEN, REPLY_SEED) && c.buf[REPLY_LEN] == UNTOUCHED;
	_exit(0);
}

TEST_F(stopped, call_waits_on_and_gets_its_reply_once)
{
	struct fastipc_serve msg;
	pid_t pid;

	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		call_in_child(self->ep.fd, self->out);
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	EXPECT_EQ(pid, (pid_t)msg.pid);
	EXPECT_EQ(OPCODE, msg.opcode);
	ASSERT_EQ(REQ_LEN, msg.len);
	EXPECT_TRUE(fipc_check(self->ep.pool + msg.offset, msg.len, REQ_SEED));
	interrupt_child(_metadata, pid, variant->how, self->out);

	EXPECT_EQ(0, reply(&self->ep, msg.token));
	EXPECT_EQ(0, fipc_reap(pid));
	EXPECT_EQ(0, self->out->ret);
	EXPECT_EQ(REPLY_STATUS, self->out->call.status);
	EXPECT_EQ(REPLY_LEN, self->out->call.reply_len);
	EXPECT_TRUE(self->out->reply_ok);
	/* The request was not sent again on the restart. */
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, &msg));
}

TEST_F(stopped, serve_receive_waits_on_for_the_next_message)
{
	pid_t pid;

	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		self->out->ret = fipc_recv(self->ep.fd, &self->out->msg);
		_exit(0);
	}
	interrupt_child(_metadata, pid, variant->how, self->out);

	ASSERT_EQ(0, fipc_send(self->c.fd, 0, MSG_OPCODE, msg_bytes, SLOT));
	EXPECT_EQ(0, fipc_reap(pid));
	ASSERT_EQ(0, self->out->ret);
	/* The payload is in this process's pool, the pinned one. */
	release_oneway(_metadata, &self->ep, &self->out->msg);
}

TEST_F(stopped, send_wait_waits_on_and_sends_once_when_room_frees)
{
	struct fastipc_serve msg;
	pid_t pid;

	ASSERT_EQ(0, fipc_send(self->c.fd, 0, 1, NULL, 0));
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		self->out->ret = fipc_send(self->c.fd, FASTIPC_SEND_WAIT, MSG_OPCODE, msg_bytes,
					   SLOT);
		_exit(0);
	}
	interrupt_child(_metadata, pid, variant->how, self->out);

	release_first(_metadata, &self->ep);
	EXPECT_EQ(0, fipc_reap(pid));
	EXPECT_EQ(0, self->out->ret);
	ASSERT_EQ(0, fipc_recv_nonblock(self->ep.fd, &msg));
	release_oneway(_metadata, &self->ep, &msg);
}

TEST_HARNESS_MAIN
