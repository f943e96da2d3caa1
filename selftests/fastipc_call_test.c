// SPDX-License-Identifier: GPL-2.0
/*
 * Calls: FASTIPC_IOC_CALL against FASTIPC_IOC_SERVE. Payloads of every size
 * byte for byte, status and opcode, reply room, reply tokens, credentials,
 * timeouts, signals, dying servers and clients, and many threads at once.
 */
#include "fastipc_util.h"

#include <sched.h>
#include <time.h>
#include <sys/syscall.h>

#include <linux/userfaultfd.h>

#include "kselftest_harness.h"

#define SLOT		8192
#define NSLOTS		4
#define OP_QUIT		0xffffffffU
#define XOR_BYTE	0x5a
#define XOR_STATUS	0x5a5a5a5a

/*
 * An echo server thread: answers each call with the request's bytes XORed
 * with XOR_BYTE and the status opcode ^ XOR_STATUS; answers OP_QUIT and
 * exits. When @gate is an eventfd (EFD_SEMAPHORE) it announces each call on
 * @got and waits on @gate before answering. With @zero_copy it replies
 * straight from the pool, unchanged.
 */
struct server {
	struct fipc_ep *ep;
	int got, gate;
	bool zero_copy;
	int err;		/* first failure: -errno, or -EPROTO */
	int served;
	pthread_t thread;
};

static void *server_fn(void *arg)
{
	struct server *s = arg;
	struct fipc_ep *ep = s->ep;
	uint8_t *out = malloc(ep->slot_size);
	struct fastipc_serve msg;
	uint32_t flags = FASTIPC_SERVE_RECV, len = 0, i;
	const void *reply = NULL;
	uint64_t token = 0;
	int32_t status = 0;
	eventfd_t v;
	int ret;

	if (!out) {
		s->err = -ENOMEM;
		return NULL;
	}
	for (;;) {
		ret = fipc_serve(ep->fd, flags, token, status, reply, len, &msg);
		if (!ret && (msg.offset < ep->pool_off || msg.offset + msg.len > ep->pool_len ||
			     msg.len > ep->slot_size || (msg.msg_flags & FASTIPC_MSG_ONEWAY)))
			ret = -EPROTO;
		if (ret) {
			/* Say so now: the callers left waiting will time out. */
			fprintf(stderr, "# echo server: serve failed: %s\n", strerror(-ret));
			s->err = ret;
			break;
		}
		if (msg.opcode == OP_QUIT) {
			s->err = fipc_reply(ep->fd, msg.token, 0, NULL, 0);
			break;
		}
		if (s->gate >= 0) {
			eventfd_write(s->got, 1);
			eventfd_read(s->gate, &v);
		}
		if (s->zero_copy) {
			reply = ep->pool + msg.offset;
		} else {
			reply = out;
			for (i = 0; i < msg.len; i++)
				out[i] = ep->pool[msg.offset + i] ^ XOR_BYTE;
		}
		len = msg.len;
		status = (int32_t)(msg.opcode ^ XOR_STATUS);
		token = msg.token;
		flags = FASTIPC_SERVE_REPLY | FASTIPC_SERVE_RECV;
		s->served++;
	}
	free(out);
	return NULL;
}

static int server_start(struct server *s, struct fipc_ep *ep, int got, int gate, bool zero_copy)
{
	memset(s, 0, sizeof(*s));
	s->ep = ep;
	s->got = got;
	s->gate = gate;
	s->zero_copy = zero_copy;
	return -pthread_create(&s->thread, NULL, server_fn, s);
}

/* Stops @n servers of @c's endpoint with OP_QUIT calls; their first error. */
static int servers_stop(struct fipc_client *c, struct server *s, int n)
{
	int i, ret = 0;

	for (i = 0; i < n; i++)
		if (fipc_call(c, OP_QUIT, NULL, 0, 0, NULL))
			ret = -EIO;
	for (i = 0; i < n; i++) {
		pthread_join(s[i].thread, NULL);
		if (s[i].err && !ret)
			ret = s[i].err;
	}
	return ret;
}

/* Checks an echo server's answer to @req in @reply. */
static bool echo_ok(const struct fastipc_call *call, const uint8_t *req, const uint8_t *reply)
{
	uint32_t i;

	if (call->reply_len != call->req_len ||
	    call->status != (int32_t)(call->opcode ^ XOR_STATUS))
		return false;
	for (i = 0; i < call->req_len; i++)
		if (reply[i] != (req[i] ^ XOR_BYTE))
			return false;
	return true;
}

/* A call of @len pattern bytes from @seed; 0, -errno, or -EPROTO on a bad echo. */
static int echo_call(struct fipc_client *c, uint8_t *req, uint32_t len, uint32_t seed)
{
	struct fastipc_call call;
	int ret;

	fipc_fill(req, len, seed);
	memset(c->buf, 0xee, len + 1 < c->buf_len ? len + 1 : c->buf_len);
	ret = fipc_call(c, seed, req, len, 0, &call);
	if (ret)
		return ret;
	if (!echo_ok(&call, req, c->buf))
		return -EPROTO;
	/* Nothing written past the reply. */
	if (len < c->buf_len && c->buf[len] != 0xee)
		return -EPROTO;
	return 0;
}

static void noop_handler(int sig)
{
	(void)sig;
}

/* SIGUSR1 interrupts system calls (no SA_RESTART) and does nothing else. */
static int install_noop_sigusr1(void)
{
	struct sigaction sa = { .sa_handler = noop_handler };

	sigemptyset(&sa.sa_mask);
	return sigaction(SIGUSR1, &sa, NULL) ? -errno : 0;
}

FIXTURE(echo) {
	struct fipc_ep ep;
	struct fipc_client c;
	struct server srv;
	uint8_t *req;
};

FIXTURE_SETUP(echo)
{
	ASSERT_EQ(0, fipc_ep_open(&self->ep, NULL, 0, SLOT, NSLOTS));
	ASSERT_EQ(0, fipc_client_open(&self->c, self->ep.fd, NULL, 2 * SLOT));
	self->req = fipc_map(2 * SLOT);
	ASSERT_NE(NULL, self->req);
	ASSERT_EQ(0, server_start(&self->srv, &self->ep, -1, -1, false));
}

FIXTURE_TEARDOWN(echo)
{
	/* Leftover server threads die with the process. */
	fipc_client_close(&self->c);
	fipc_ep_close(&self->ep);
}

static int pin_thread(pthread_t thread, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return -pthread_setaffinity_np(thread, sizeof(set), &set);
}

/*
 * Across CPUs callers and servers spin for each other before they sleep
 * (spin_ns, fixed at load, bounds it, and a partner off its CPU ends it):
 * every answer arrives, byte for byte, whether it was caught spinning or
 * woke a sleeper.
 */
TEST_F_TIMEOUT(echo, calls_across_cpus_are_byte_exact_whether_callers_spin_or_sleep, 120)
{
	static const uint32_t sizes[] = { 0, 64, 4096, SLOT };
	unsigned int i, round, calls = 0;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs two CPUs");
	ASSERT_EQ(0, pin_thread(self->srv.thread, 1));
	ASSERT_EQ(0, pin_thread(pthread_self(), 0));
	for (round = 0; round < 200; round++)
		for (i = 0; i < ARRAY_SIZE(sizes); i++, calls++)
			EXPECT_EQ(0, echo_call(&self->c, self->req, sizes[i], calls))
				TH_LOG("size %u", sizes[i]);
	EXPECT_EQ(0, servers_stop(&self->c, &self->srv, 1));
	EXPECT_EQ(calls, self->srv.served);
}

TEST_F_TIMEOUT(echo, round_trips_are_byte_exact_from_empty_to_slot_size, 60)
{
	static const uint32_t sizes[] = {
		0, 1, 2, 3, 7, 8, 63, 64, 65, 511, 4095, 4096, 4097, SLOT - 1, SLOT,
	};
	unsigned int i, seed;

	for (i = 0; i < ARRAY_SIZE(sizes); i++)
		for (seed = 1; seed <= 3; seed++)
			EXPECT_EQ(0, echo_call(&self->c, self->req, sizes[i], seed * 1000 + i))
				TH_LOG("size %u", sizes[i]);
	/* An empty request needs no valid address. */
	EXPECT_EQ(0, fipc_call(&self->c, 9, NULL, 0, 0, NULL));
	EXPECT_EQ(0, servers_stop(&self->c, &self->srv, 1));
	EXPECT_EQ(3 * 15 + 1, self->srv.served);
}

TEST_F(echo, reply_lands_at_reply_offset_and_nowhere_else)
{
	struct fastipc_call call;
	uint32_t i;

	fipc_fill(self->req, 1000, 77);
	memset(self->c.buf, 0xcc, self->c.buf_len);
	call = fipc_call_args(&self->c, 5, self->req, 1000, 0);
	call.reply_offset = 4097;
	call.reply_cap = 1000;
	ASSERT_EQ(0, fipc_ioctl(self->c.fd, FASTIPC_IOC_CALL, &call));
	EXPECT_TRUE(echo_ok(&call, self->req, self->c.buf + 4097));
	for (i = 0; i < self->c.buf_len; i++)
		if (i < 4097 || i >= 4097 + 1000)
			ASSERT_EQ(0xcc, self->c.buf[i]) TH_LOG("byte %u", i);
	EXPECT_EQ(0, servers_stop(&self->c, &self->srv, 1));
}

TEST_F(echo, status_word_and_opcode_pass_through)
{
	static const uint32_t ops[] = {
		0, 1, 0x7fffffff, 0x80000000 ^ XOR_STATUS, 0x7fffffff ^ XOR_STATUS,
		XOR_STATUS, 0xfffffffe, 0xdeadbeef,
	};
	struct fastipc_call call;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		ASSERT_EQ(0, fipc_call(&self->c, ops[i], "x", 1, 0, &call));
		EXPECT_EQ((int32_t)(ops[i] ^ XOR_STATUS), call.status);
		EXPECT_EQ(ops[i], call.opcode);
	}
	EXPECT_EQ(0, servers_stop(&self->c, &self->srv, 1));
}

TEST_F(echo, request_bigger_than_the_slot_is_emsgsize)
{
	EXPECT_EQ(-EMSGSIZE, fipc_call(&self->c, 1, self->req, SLOT + 1, 0, NULL));
	EXPECT_EQ(-EMSGSIZE, fipc_call(&self->c, 1, self->req, UINT32_MAX, 0, NULL));
	EXPECT_EQ(0, echo_call(&self->c, self->req, SLOT, 3));
	EXPECT_EQ(0, servers_stop(&self->c, &self->srv, 1));
	EXPECT_EQ(1, self->srv.served);
}

TEST_F(echo, call_rejects_bad_arguments)
{
	struct fastipc_call call = fipc_call_args(&self->c, 1, self->req, 16, 0);
	struct fastipc_call bad;
	int i;

	bad = call;
	bad.flags = 1U << 2;
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->c.fd, FASTIPC_IOC_CALL, &bad));
	/* The descriptor fields are reserved without FASTIPC_CALL_FDS. */
	bad = call;
	bad.nfds = 1;
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->c.fd, FASTIPC_IOC_CALL, &bad));
	bad = call;
	bad.fds_addr = 1;
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->c.fd, FASTIPC_IOC_CALL, &bad));
	bad = call;
	bad.fds_cap = 1;
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->c.fd, FASTIPC_IOC_CALL, &bad));
	/* The reply room must fit the buffer. */
	bad = call;
	bad.reply_offset = 1;
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->c.fd, FASTIPC_IOC_CALL, &bad));
	bad = call;
	bad.reply_offset = UINT64_MAX;
	bad.reply_cap = 2;
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->c.fd, FASTIPC_IOC_CALL, &bad));
	bad = call;
	bad.reply_buf = (self->c.buf_id + 1) % FASTIPC_MAX_BUFS;
	EXPECT_EQ(-ENOENT, fipc_ioctl(self->c.fd, FASTIPC_IOC_CALL, &bad));
	/* An unreadable request; the slots it might have taken come back. */
	for (i = 0; i < 2 * NSLOTS; i++) {
		bad = call;
		bad.req_addr = 0;
		EXPECT_EQ(-EFAULT, fipc_ioctl(self->c.fd, FASTIPC_IOC_CALL, &bad));
	}
	EXPECT_EQ(-EFAULT, fipc_ioctl(self->c.fd, FASTIPC_IOC_CALL, NULL));
	for (i = 0; i < 2 * NSLOTS; i++)
		EXPECT_EQ(0, echo_call(&self->c, self->req, 16, i));
	EXPECT_EQ(0, servers_stop(&self->c, &self->srv, 1));
	EXPECT_EQ(2 * NSLOTS, self->srv.served);
}

#define MT_SERVERS	3
#define MT_CALLERS	8
#define MT_CALLS	40

struct mt_caller {
	struct fipc_client c;
	uint8_t req[600];
	int id, bad, ret;
	pthread_t thread;
};

static void *mt_caller_fn(void *arg)
{
	struct mt_caller *cl = arg;
	int n, ret;

	for (n = 0; n < MT_CALLS; n++) {
		ret = echo_call(&cl->c, cl->req, (cl->id * 37 + n * 13) % 600,
				cl->id * 100000 + n);
		if (ret == -EPROTO)
			cl->bad++;
		else if (ret && !cl->ret)
			cl->ret = ret;
	}
	return NULL;
}

TEST_F_TIMEOUT(echo, many_threads_calling_many_server_threads_get_their_own_replies, 120)
{
	struct mt_caller *callers = calloc(MT_CALLERS, sizeof(*callers));
	struct server srv[MT_SERVERS];
	int i, served = 0;

	ASSERT_NE(NULL, callers);
	ASSERT_EQ(0, servers_stop(&self->c, &self->srv, 1));
	for (i = 0; i < MT_SERVERS; i++)
		ASSERT_EQ(0, server_start(&srv[i], &self->ep, -1, -1, false));
	for (i = 0; i < MT_CALLERS; i++) {
		ASSERT_EQ(0, fipc_client_open(&callers[i].c, self->ep.fd, NULL, 1024));
		callers[i].id = i;
	}
	for (i = 0; i < MT_CALLERS; i++)
		ASSERT_EQ(0, pthread_create(&callers[i].thread, NULL, mt_caller_fn, &callers[i]));
	for (i = 0; i < MT_CALLERS; i++) {
		pthread_join(callers[i].thread, NULL);
		EXPECT_EQ(0, callers[i].ret) TH_LOG("caller %d", i);
		EXPECT_EQ(0, callers[i].bad) TH_LOG("caller %d", i);
		fipc_client_close(&callers[i].c);
	}
	EXPECT_EQ(0, servers_stop(&self->c, srv, MT_SERVERS));
	for (i = 0; i < MT_SERVERS; i++)
		served += srv[i].served;
	EXPECT_EQ(MT_CALLERS * MT_CALLS, served);
	free(callers);
}

TEST(calls_queued_while_every_server_thread_is_busy_still_complete)
{
	enum { SERVERS = 2, CALLERS = 6 };
	struct fipc_async calls[CALLERS];
	struct fipc_client c[CALLERS], quit;
	struct server srv[SERVERS];
	uint8_t req[CALLERS][32];
	struct fipc_ep ep;
	eventfd_t v;
	int got = eventfd(0, EFD_CLOEXEC | EFD_SEMAPHORE);
	int gate = eventfd(0, EFD_CLOEXEC | EFD_SEMAPHORE);
	int i;

	ASSERT_LE(0, got);
	ASSERT_LE(0, gate);
	ASSERT_EQ(0, fipc_ep_open(&ep, NULL, 0, 64, 8));
	ASSERT_EQ(0, fipc_client_open(&quit, ep.fd, NULL, 64));
	for (i = 0; i < SERVERS; i++)
		ASSERT_EQ(0, server_start(&srv[i], &ep, got, gate, false));
	for (i = 0; i < CALLERS; i++) {
		ASSERT_EQ(0, fipc_client_open(&c[i], ep.fd, NULL, 64));
		fipc_fill(req[i], sizeof(req[i]), i);
		ASSERT_EQ(0, fipc_async_call(&calls[i], &c[i], i, req[i], sizeof(req[i]), 0));
	}
	/* Both servers hold a call... */
	for (i = 0; i < SERVERS; i++)
		ASSERT_EQ(0, eventfd_read(got, &v));
	/* ...every caller is waiting, and the rest are queued. */
	for (i = 0; i < CALLERS; i++)
		ASSERT_EQ(0, fipc_async_wait_blocked(&calls[i]));
	EXPECT_EQ(POLLIN, fipc_revents(ep.fd, POLLIN) & POLLIN);
	for (i = 0; i < CALLERS; i++)
		EXPECT_FALSE(fipc_async_done(&calls[i]));

	ASSERT_EQ(0, eventfd_write(gate, 1000));
	for (i = 0; i < CALLERS; i++) {
		EXPECT_EQ(0, fipc_async_join(&calls[i]));
		EXPECT_TRUE(echo_ok(&calls[i].call, req[i], c[i].buf)) TH_LOG("caller %d", i);
		fipc_client_close(&c[i]);
	}
	EXPECT_EQ(0, servers_stop(&quit, srv, SERVERS));
	EXPECT_EQ(CALLERS, srv[0].served + srv[1].served);
	fipc_client_close(&quit);
	fipc_ep_close(&ep);
	close(got);
	close(gate);
}

TEST(full_pool_makes_a_caller_wait_until_a_slot_frees)
{
	struct fipc_client a, b, t;
	struct fipc_async ca, cb;
	struct server srv;
	struct fipc_ep ep;
	eventfd_t v;
	int got = eventfd(0, EFD_CLOEXEC | EFD_SEMAPHORE);
	int gate = eventfd(0, EFD_CLOEXEC | EFD_SEMAPHORE);

	ASSERT_LE(0, got);
	ASSERT_LE(0, gate);
	ASSERT_EQ(0, fipc_ep_open(&ep, NULL, 0, 64, 1));
	ASSERT_EQ(0, fipc_client_open(&a, ep.fd, NULL, 64));
	ASSERT_EQ(0, fipc_client_open(&b, ep.fd, NULL, 64));
	ASSERT_EQ(0, fipc_client_open(&t, ep.fd, NULL, 64));
	ASSERT_EQ(0, server_start(&srv, &ep, got, gate, false));

	ASSERT_EQ(0, fipc_async_call(&ca, &a, 1, "first", 5, 0));
	ASSERT_EQ(0, eventfd_read(got, &v));
	/* The only slot is held: the next caller waits, and is not delivered. */
	ASSERT_EQ(0, fipc_async_call(&cb, &b, 2, "second", 6, 0));
	ASSERT_EQ(0, fipc_async_wait_blocked(&cb));
	EXPECT_EQ(0, fipc_revents(ep.fd, POLLIN));
	EXPECT_FALSE(fipc_async_done(&cb));
	/* A caller with a timeout gives up waiting for the slot. */
	EXPECT_EQ(-ETIMEDOUT, fipc_call(&t, 3, "third", 5, 1000000, NULL));

	ASSERT_EQ(0, eventfd_write(gate, 1000));
	EXPECT_EQ(0, fipc_async_join(&ca));
	EXPECT_EQ(0, fipc_async_join(&cb));
	EXPECT_EQ(6, cb.call.reply_len);
	EXPECT_EQ((int32_t)(2 ^ XOR_STATUS), cb.call.status);
	EXPECT_EQ("second"[5] ^ XOR_BYTE, b.buf[5]);
	EXPECT_EQ(0, servers_stop(&t, &srv, 1));
	/* The timed-out call never reached the server. */
	EXPECT_EQ(2, srv.served);
	fipc_client_close(&a);
	fipc_client_close(&b);
	fipc_client_close(&t);
	fipc_ep_close(&ep);
	close(got);
	close(gate);
}

TEST_F_TIMEOUT(echo, largest_payload_round_trips_byte_exact, 120)
{
	uint8_t *req = fipc_map(FASTIPC_MAX_PAYLOAD + 1);
	struct fastipc_call call;
	struct fipc_client c;
	struct server srv;
	struct fipc_ep ep;

	ASSERT_NE(NULL, req);
	EXPECT_EQ(0, servers_stop(&self->c, &self->srv, 1));
	ASSERT_EQ(0, fipc_ep_open(&ep, NULL, 0, FASTIPC_MAX_PAYLOAD, 1));
	ASSERT_EQ(0, fipc_client_open(&c, ep.fd, NULL, FASTIPC_MAX_PAYLOAD));
	ASSERT_EQ(0, server_start(&srv, &ep, -1, -1, true));

	fipc_fill(req, FASTIPC_MAX_PAYLOAD, 4242);
	EXPECT_EQ(-EMSGSIZE, fipc_call(&c, 1, req, FASTIPC_MAX_PAYLOAD + 1, 0, NULL));
	ASSERT_EQ(0, fipc_call(&c, 1, req, FASTIPC_MAX_PAYLOAD, 0, &call));
	EXPECT_EQ(FASTIPC_MAX_PAYLOAD, call.reply_len);
	EXPECT_EQ((int32_t)(1 ^ XOR_STATUS), call.status);
	EXPECT_EQ(0, memcmp(req, c.buf, FASTIPC_MAX_PAYLOAD));
	EXPECT_EQ(0, servers_stop(&c, &srv, 1));
	fipc_client_close(&c);
	fipc_ep_close(&ep);
	munmap(req, FASTIPC_MAX_PAYLOAD + 1);
}

/* Fixture for tests where the test itself is the server. */
FIXTURE(manual) {
	struct fipc_ep ep;
	struct fipc_client c;
};

FIXTURE_SETUP(manual)
{
	ASSERT_EQ(0, fipc_ep_open(&self->ep, NULL, 0, 256, 2));
	ASSERT_EQ(0, fipc_client_open(&self->c, self->ep.fd, NULL, 256));
}

FIXTURE_TEARDOWN(manual)
{
	fipc_client_close(&self->c);
	fipc_ep_close(&self->ep);
}

TEST_F(manual, reply_bigger_than_reply_cap_is_emsgsize_and_the_token_stays_usable)
{
	struct fastipc_call call = fipc_call_args(&self->c, 1, "q", 1, 0);
	struct fastipc_serve msg;
	struct fipc_async a;
	uint8_t big[64];

	fipc_fill(big, sizeof(big), 5);
	call.reply_cap = 16;
	call.reply_offset = 100;
	ASSERT_EQ(0, fipc_async_start(&a, self->c.fd, &call));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	EXPECT_EQ(-EMSGSIZE, fipc_reply(self->ep.fd, msg.token, 1, big, 17));
	EXPECT_EQ(-EMSGSIZE, fipc_reply(self->ep.fd, msg.token, 1, big, sizeof(big)));
	EXPECT_FALSE(fipc_async_done(&a));
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 77, big, 16));
	EXPECT_EQ(-ENOENT, fipc_reply(self->ep.fd, msg.token, 77, big, 16));
	ASSERT_EQ(0, fipc_async_join(&a));
	EXPECT_EQ(77, a.call.status);
	EXPECT_EQ(16, a.call.reply_len);
	EXPECT_EQ(0, memcmp(big, self->c.buf + 100, 16));
}

TEST_F(manual, reply_tokens_are_answered_once_and_forged_tokens_are_enoent)
{
	struct fastipc_serve msg, other_msg, queued;
	struct fipc_client oc;
	struct fipc_async a;
	struct fipc_ep other;
	uint64_t t;

	ASSERT_EQ(0, fipc_ep_open(&other, NULL, 0, 64, 2));
	ASSERT_EQ(0, fipc_client_open(&oc, other.fd, NULL, 64));
	ASSERT_EQ(0, fipc_send(oc.fd, 0, 1, NULL, 0));
	ASSERT_EQ(0, fipc_recv(other.fd, &other_msg));

	ASSERT_EQ(0, fipc_async_call(&a, &self->c, 1, "q", 1, 0));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	t = msg.token;
	EXPECT_EQ(-ENOENT, fipc_reply(self->ep.fd, 0, 0, NULL, 0));
	EXPECT_EQ(-ENOENT, fipc_reply(self->ep.fd, ~0ULL, 0, NULL, 0));
	EXPECT_EQ(-ENOENT, fipc_reply(self->ep.fd, t ^ 1, 0, NULL, 0));
	EXPECT_EQ(-ENOENT, fipc_reply(self->ep.fd, t + 0x1000, 0, NULL, 0));
	EXPECT_EQ(-ENOENT, fipc_reply(self->ep.fd, t ^ (1ULL << 63), 0, NULL, 0));
	if (other_msg.token != t)
		EXPECT_EQ(-ENOENT, fipc_reply(self->ep.fd, other_msg.token, 0, NULL, 0));
	if (other_msg.token != t)
		EXPECT_EQ(-ENOENT, fipc_reply(other.fd, t, 0, NULL, 0));
	EXPECT_FALSE(fipc_async_done(&a));

	/* A failed reply part receives nothing, even with a message waiting. */
	ASSERT_EQ(0, fipc_send(self->c.fd, 0, 2, NULL, 0));
	EXPECT_EQ(-ENOENT, fipc_serve(self->ep.fd, FASTIPC_SERVE_REPLY | FASTIPC_SERVE_RECV |
				       FASTIPC_SERVE_NONBLOCK, t ^ 1, 0, NULL, 0, NULL));

	EXPECT_EQ(0, fipc_reply(self->ep.fd, t, 3, "r", 1));
	EXPECT_EQ(-ENOENT, fipc_reply(self->ep.fd, t, 3, "r", 1));
	EXPECT_EQ(0, fipc_async_join(&a));
	EXPECT_EQ(3, a.call.status);

	ASSERT_EQ(0, fipc_recv_nonblock(self->ep.fd, &queued));
	EXPECT_EQ(2, queued.opcode);
	EXPECT_EQ(0, fipc_reply(self->ep.fd, queued.token, 0, NULL, 0));
	EXPECT_EQ(-ENOENT, fipc_reply(self->ep.fd, queued.token, 0, NULL, 0));
	/* The other endpoint's token was untouched by all that. */
	EXPECT_EQ(0, fipc_reply(other.fd, other_msg.token, 0, NULL, 0));
	fipc_client_close(&oc);
	fipc_ep_close(&other);
}

TEST_F(manual, reply_flags_and_reserved_fields_are_checked)
{
	struct fastipc_serve s = { .flags = 0 };

	EXPECT_EQ(-EINVAL, fipc_ioctl(self->ep.fd, FASTIPC_IOC_SERVE, &s));
	s.flags = FASTIPC_SERVE_NONBLOCK;
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->ep.fd, FASTIPC_IOC_SERVE, &s));
	s.flags = FASTIPC_SERVE_RECV | (1U << 5);
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->ep.fd, FASTIPC_IOC_SERVE, &s));
	/* The descriptor fields are reserved without FASTIPC_SERVE_FDS. */
	s.flags = FASTIPC_SERVE_RECV | FASTIPC_SERVE_NONBLOCK;
	s.fds_addr = 1;
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->ep.fd, FASTIPC_IOC_SERVE, &s));
	s.fds_addr = 0;
	s.fds_cap = 1;
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->ep.fd, FASTIPC_IOC_SERVE, &s));
	s.fds_cap = 0;
	s.nfds = 1;
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->ep.fd, FASTIPC_IOC_SERVE, &s));
	s.nfds = 0;
	EXPECT_EQ(-EAGAIN, fipc_ioctl(self->ep.fd, FASTIPC_IOC_SERVE, &s));
}

TEST_F(manual, credentials_of_a_local_caller_are_reported)
{
	struct fastipc_serve msg;
	struct fipc_async a;

	ASSERT_EQ(0, fipc_async_call(&a, &self->c, 1, NULL, 0, 0));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	EXPECT_EQ(getpid(), (pid_t)msg.pid);
	EXPECT_EQ(geteuid(), msg.uid);
	EXPECT_EQ(getegid(), msg.gid);
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));
	EXPECT_EQ(0, fipc_async_join(&a));
}

TEST_F(manual, credentials_of_an_unprivileged_caller_process_are_reported)
{
	struct fastipc_serve msg;
	struct fipc_client c;
	struct fastipc_call call;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root to switch users");
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		CHILD_CHECK(fipc_drop_privs(FIPC_NOBODY, FIPC_NOBODY) == 0);
		CHILD_CHECK(fipc_client_open(&c, self->ep.fd, NULL, 64) == 0);
		CHILD_CHECK(fipc_call(&c, 8, "who", 3, 0, &call) == 0);
		CHILD_CHECK(call.status == 1234 && call.reply_len == 2);
		CHILD_CHECK(memcmp(c.buf, "ok", 2) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	EXPECT_EQ(pid, (pid_t)msg.pid);
	EXPECT_EQ(FIPC_NOBODY, msg.uid);
	EXPECT_EQ(FIPC_NOBODY, msg.gid);
	EXPECT_EQ(8, msg.opcode);
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 1234, "ok", 2));
	EXPECT_EQ(0, fipc_reap(pid));
}

static uint32_t read_overflow(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) < 0)
			buf[0] = 0;
		close(fd);
	}
	return buf[0] ? strtoul(buf, NULL, 10) : FIPC_NOBODY;
}

/*
 * A server in a new PID namespace cannot see the caller: pid 0. In a new user
 * namespace that maps nothing, the caller's ids are the overflow ids.
 */
TEST_F(manual, credentials_are_translated_into_the_server_namespaces)
{
	struct fastipc_serve msg;
	struct fastipc_call call;
	pid_t pid, server;
	int res[2];
	char kind;

	if (geteuid() != 0)
		SKIP(return, "needs root to create namespaces");
	ASSERT_EQ(0, pipe2(res, O_CLOEXEC));
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		kind = unshare(CLONE_NEWUSER | CLONE_NEWPID) ? 's' : 'u';
		if (kind == 's') {
			CHILD_CHECK(write(res[1], &kind, 1) == 1);
			_exit(0);
		}
		server = fork();
		CHILD_CHECK(server >= 0);
		if (server == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			CHILD_CHECK(write(res[1], &kind, 1) == 1);
			CHILD_CHECK(fipc_recv(self->ep.fd, &msg) == 0);
			CHILD_CHECK(write(res[1], &msg, sizeof(msg)) == sizeof(msg));
			CHILD_CHECK(fipc_reply(self->ep.fd, msg.token, getpid(), NULL, 0) == 0);
			_exit(0);
		}
		_exit(fipc_reap(server));
	}
	ASSERT_EQ(1, read(res[0], &kind, 1));
	if (kind == 's') {
		fipc_reap(pid);
		SKIP(return, "cannot create user and PID namespaces here");
	}
	ASSERT_EQ(0, fipc_call(&self->c, 1, NULL, 0, 0, &call));
	EXPECT_EQ(1, call.status);	/* the server is PID 1 of its namespace */
	ASSERT_EQ(sizeof(msg), read(res[0], &msg, sizeof(msg)));
	EXPECT_EQ(0, msg.pid);
	EXPECT_EQ(read_overflow("/proc/sys/kernel/overflowuid"), msg.uid);
	EXPECT_EQ(read_overflow("/proc/sys/kernel/overflowgid"), msg.gid);
	EXPECT_EQ(0, fipc_reap(pid));
	close(res[0]);
	close(res[1]);
}

TEST_F_TIMEOUT(manual, timeout_gives_etimedout_and_the_late_reply_ecanceled, 60)
{
	struct fastipc_serve msg;
	struct pollfd pfd[2];
	struct fipc_async a;
	uint64_t timeout_ns;
	bool held = false;
	int ret;

	/*
	 * The server must hold the call before it times out. A timeout that
	 * expires first is not an error; try again with a longer one.
	 */
	for (timeout_ns = 20000000; !held && timeout_ns < 30000000000ULL; timeout_ns *= 4) {
		ASSERT_EQ(0, fipc_async_call(&a, &self->c, 1, "t", 1, timeout_ns));
		pfd[0] = (struct pollfd){ .fd = self->ep.fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = a.done, .events = POLLIN };
		ASSERT_LT(0, poll(pfd, 2, -1));
		if (pfd[0].revents & POLLIN) {
			ret = fipc_recv_nonblock(self->ep.fd, &msg);
			ASSERT_TRUE(ret == 0 || ret == -EAGAIN) TH_LOG("recv: %d", ret);
			held = ret == 0;
		}
		EXPECT_EQ(-ETIMEDOUT, fipc_async_join(&a));
		if (held)
			EXPECT_EQ(-ECANCELED, fipc_reply(self->ep.fd, msg.token, 0, "x", 1));
	}
	ASSERT_TRUE(held);
	/* The cancelled call's slot came back: both slots are usable. */
	ASSERT_EQ(0, fipc_send(self->c.fd, 0, 1, NULL, 0));
	ASSERT_EQ(0, fipc_async_call(&a, &self->c, 2, NULL, 0, 0));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	EXPECT_EQ(2, msg.opcode);
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));
	EXPECT_EQ(0, fipc_async_join(&a));
}

TEST_F(manual, signal_interrupts_a_caller_with_eintr_and_the_late_reply_ecanceled)
{
	struct fastipc_serve msg;
	struct fipc_async a;

	ASSERT_EQ(0, install_noop_sigusr1());
	ASSERT_EQ(0, fipc_async_call(&a, &self->c, 1, "s", 1, 0));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	ASSERT_EQ(0, pthread_kill(a.thread, SIGUSR1));
	EXPECT_EQ(-EINTR, fipc_async_join(&a));
	EXPECT_EQ(-ECANCELED, fipc_reply(self->ep.fd, msg.token, 0, "x", 1));
	EXPECT_EQ(-ENOENT, fipc_reply(self->ep.fd, msg.token, 0, "x", 1));
	/* The endpoint works on. */
	ASSERT_EQ(0, fipc_async_call(&a, &self->c, 2, NULL, 0, 0));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	EXPECT_EQ(2, msg.opcode);
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 5, NULL, 0));
	EXPECT_EQ(0, fipc_async_join(&a));
	EXPECT_EQ(5, a.call.status);
}

TEST_F(manual, signal_interrupts_a_caller_waiting_for_a_slot)
{
	struct fastipc_serve m1, m2;
	struct fipc_async a, b, c;

	ASSERT_EQ(0, install_noop_sigusr1());
	/* Both slots held. */
	ASSERT_EQ(0, fipc_async_call(&a, &self->c, 1, NULL, 0, 0));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &m1));
	ASSERT_EQ(0, fipc_async_call(&b, &self->c, 2, NULL, 0, 0));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &m2));
	ASSERT_EQ(0, fipc_async_call(&c, &self->c, 3, NULL, 0, 0));
	ASSERT_EQ(0, fipc_async_wait_blocked(&c));
	ASSERT_EQ(0, pthread_kill(c.thread, SIGUSR1));
	EXPECT_EQ(-EINTR, fipc_async_join(&c));

	EXPECT_EQ(0, fipc_reply(self->ep.fd, m1.token, 0, NULL, 0));
	EXPECT_EQ(0, fipc_reply(self->ep.fd, m2.token, 0, NULL, 0));
	EXPECT_EQ(0, fipc_async_join(&a));
	EXPECT_EQ(0, fipc_async_join(&b));
	/* The interrupted call was never delivered. */
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, &m1));
}

TEST_F(manual, killed_client_makes_the_late_reply_ecanceled)
{
	struct fastipc_serve msg;
	struct fipc_async a1, a2;
	struct fipc_client c;
	pid_t pid;

	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		CHILD_CHECK(fipc_client_open(&c, self->ep.fd, NULL, 64) == 0);
		fipc_call(&c, 1, "k", 1, 0, NULL);
		_exit(1);
	}
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	EXPECT_EQ(pid, (pid_t)msg.pid);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	EXPECT_EQ(128 + SIGKILL, fipc_reap(pid));
	EXPECT_EQ(-ECANCELED, fipc_reply(self->ep.fd, msg.token, 0, "x", 1));
	EXPECT_EQ(-ENOENT, fipc_reply(self->ep.fd, msg.token, 0, "x", 1));
	/* Its slot is free again: two calls at once fit the two slots. */
	ASSERT_EQ(0, fipc_async_call(&a1, &self->c, 7, NULL, 0, 0));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	EXPECT_EQ(7, msg.opcode);
	ASSERT_EQ(0, fipc_async_call(&a2, &self->c, 8, NULL, 0, 0));
	ASSERT_EQ(0, fipc_async_wait_blocked(&a2));
	EXPECT_EQ(POLLIN, fipc_revents(self->ep.fd, POLLIN) & POLLIN);
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	EXPECT_EQ(8, msg.opcode);
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));
	EXPECT_EQ(0, fipc_async_join(&a1));
	EXPECT_EQ(0, fipc_async_join(&a2));
}

TEST_F(manual, closing_the_endpoint_gives_epipe_to_held_and_queued_calls)
{
	struct fipc_client other;
	struct fastipc_serve msg;
	struct fipc_async a, b;

	ASSERT_EQ(0, fipc_client_open(&other, self->ep.fd, NULL, 64));
	ASSERT_EQ(0, fipc_async_call(&a, &self->c, 1, NULL, 0, 0));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	ASSERT_EQ(0, fipc_async_call(&b, &other, 2, NULL, 0, 0));
	ASSERT_EQ(0, fipc_async_wait_blocked(&b));
	fipc_ep_close(&self->ep);
	EXPECT_EQ(-EPIPE, fipc_async_join(&a));
	EXPECT_EQ(-EPIPE, fipc_async_join(&b));
	EXPECT_EQ(-EPIPE, fipc_call(&self->c, 3, NULL, 0, 0, NULL));
	fipc_client_close(&other);
}

TEST_F_TIMEOUT(manual, server_death_gives_epipe_to_every_caller, 60)
{
	enum { CALLERS = 4 };
	struct fipc_client c[CALLERS];
	struct fipc_async a[CALLERS];
	struct fastipc_serve msg;
	int sync_pipe[2], i;
	pid_t server;
	char byte;

	for (i = 0; i < CALLERS; i++)
		ASSERT_EQ(0, fipc_client_open(&c[i], self->ep.fd, NULL, 64));
	ASSERT_EQ(0, pipe2(sync_pipe, O_CLOEXEC));
	server = fipc_fork();
	ASSERT_LE(0, server);
	if (server == 0) {
		/* Hold one call, then wait to be killed. */
		CHILD_CHECK(fipc_recv(self->ep.fd, &msg) == 0);
		CHILD_CHECK(write(sync_pipe[1], &msg.opcode, 1) == 1);
		for (;;)
			pause();
	}
	ASSERT_EQ(0, fipc_async_call(&a[0], &c[0], 0, NULL, 0, 0));
	ASSERT_EQ(1, read(sync_pipe[0], &byte, 1));
	EXPECT_EQ(0, byte);
	/* Two more calls queued (both slots: one held, one waiting)... */
	ASSERT_EQ(0, fipc_async_call(&a[1], &c[1], 1, NULL, 0, 0));
	ASSERT_EQ(0, fipc_async_wait_blocked(&a[1]));
	EXPECT_EQ(POLLIN, fipc_revents(self->ep.fd, POLLIN) & POLLIN);
	/* ...and one waiting for a slot. */
	ASSERT_EQ(0, fipc_async_call(&a[2], &c[2], 2, NULL, 0, 0));
	ASSERT_EQ(0, fipc_async_wait_blocked(&a[2]));

	/* The server process is now the endpoint's only holder. */
	fipc_ep_close(&self->ep);
	ASSERT_EQ(0, kill(server, SIGKILL));
	EXPECT_EQ(128 + SIGKILL, fipc_reap(server));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(-EPIPE, fipc_async_join(&a[i])) TH_LOG("caller %d", i);
	/* And later callers and senders too. */
	EXPECT_EQ(-EPIPE, fipc_call(&c[3], 3, NULL, 0, 0, NULL));
	EXPECT_EQ(-EPIPE, fipc_send(c[3].fd, 0, 3, NULL, 0));
	for (i = 0; i < CALLERS; i++)
		fipc_client_close(&c[i]);
	close(sync_pipe[0]);
	close(sync_pipe[1]);
}

TEST_F(manual, unregistering_the_reply_buffer_mid_call_still_delivers_the_reply)
{
	struct fastipc_serve msg;
	struct fipc_async a;

	ASSERT_EQ(0, fipc_async_call(&a, &self->c, 1, NULL, 0, 0));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	ASSERT_EQ(0, fipc_buf_unregister(self->c.fd, self->c.buf_id));
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, "still here", 10));
	EXPECT_EQ(0, fipc_async_join(&a));
	EXPECT_EQ(10, a.call.reply_len);
	EXPECT_EQ(0, memcmp(self->c.buf, "still here", 10));
	EXPECT_EQ(-ENOENT, fipc_call(&self->c, 1, NULL, 0, 0, NULL));
}

/* Records which of two server threads received a message. */
struct idle_server {
	int ep_fd, report, index, ret;
	struct fastipc_serve msg;
	pthread_t thread;
	pid_t tid;
};

static void *idle_server_fn(void *arg)
{
	struct idle_server *s = arg;
	char byte = s->index;

	__atomic_store_n(&s->tid, gettid(), __ATOMIC_SEQ_CST);
	s->ret = fipc_recv(s->ep_fd, &s->msg);
	if (write(s->report, &byte, 1) != 1)
		s->ret = -EIO;
	return NULL;
}

TEST_F(manual, the_server_thread_that_went_idle_last_gets_the_next_message)
{
	struct idle_server s[2];
	int report[2], i;
	char byte;

	ASSERT_EQ(0, pipe2(report, O_CLOEXEC));
	for (i = 0; i < 2; i++) {
		s[i] = (struct idle_server){
			.ep_fd = self->ep.fd, .report = report[1], .index = i,
		};
		ASSERT_EQ(0, pthread_create(&s[i].thread, NULL, idle_server_fn, &s[i]));
		while (!__atomic_load_n(&s[i].tid, __ATOMIC_SEQ_CST))
			sched_yield();
		ASSERT_EQ(0, fipc_wait_blocked_in_ioctl(s[i].tid));
	}
	ASSERT_EQ(0, fipc_send(self->c.fd, 0, 10, NULL, 0));
	ASSERT_EQ(1, read(report[0], &byte, 1));
	EXPECT_EQ(1, byte);
	/* Release it (the one-way quota is one message here), send another. */
	ASSERT_EQ(0, s[(int)byte].ret);
	EXPECT_EQ(0, fipc_reply(self->ep.fd, s[(int)byte].msg.token, 0, NULL, 0));
	ASSERT_EQ(0, fipc_send(self->c.fd, 0, 11, NULL, 0));
	ASSERT_EQ(1, read(report[0], &byte, 1));
	EXPECT_EQ(0, byte);
	EXPECT_EQ(0, fipc_reply(self->ep.fd, s[(int)byte].msg.token, 0, NULL, 0));
	for (i = 0; i < 2; i++) {
		pthread_join(s[i].thread, NULL);
		EXPECT_EQ(0, s[i].ret);
	}
	EXPECT_EQ(11, s[0].msg.opcode);
	EXPECT_EQ(10, s[1].msg.opcode);
	close(report[0]);
	close(report[1]);
}

/* The largest timeout_ns, beyond what the kernel's clock holds, is none. */
TEST_F(manual, a_timeout_beyond_the_clock_never_expires)
{
	struct fastipc_serve msg;
	struct fipc_async a;

	ASSERT_EQ(0, fipc_async_call(&a, &self->c, 1, "q", 1, UINT64_MAX));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	ASSERT_EQ(0, fipc_async_wait_blocked(&a));
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 4, "late", 4));
	EXPECT_EQ(0, fipc_async_join(&a));
	EXPECT_EQ(4, a.call.status);
}

/* A server thread answering from memory whose first touch waits for us. */
struct stalled_reply {
	int ep_fd;
	uint64_t token;
	const void *reply;
	int ret;
};

static void *stalled_reply_fn(void *arg)
{
	struct stalled_reply *r = arg;

	r->ret = fipc_reply(r->ep_fd, r->token, 3, r->reply, 64);
	return NULL;
}

static long voluntary_switches(pid_t tid)
{
	char buf[2048];
	const char *p;

	if (fipc_read_task_file(tid, "status", buf, sizeof(buf)))
		return -1;
	p = strstr(buf, "voluntary_ctxt_switches:");
	return p ? strtol(p + strlen("voluntary_ctxt_switches:"), NULL, 10) : -1;
}

/*
 * A caller whose timeout comes while the server copies its reply waits for
 * the copy instead of leaving the bytes to land in a room it has moved on
 * from; the reply then wins. The server's copy is held up by a page that
 * userfaultfd fills only when the test says so.
 */
TEST_F(manual, a_timeout_during_the_reply_copy_waits_for_it_and_the_reply_wins)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct stalled_reply r = { .ep_fd = self->ep.fd };
	struct uffdio_register reg;
	struct uffdio_copy copy;
	struct uffd_msg fault;
	struct fastipc_serve msg;
	struct timespec now;
	struct fipc_async a;
	pthread_t server;
	uint8_t *page, src[4096];
	long switches;
	int uffd;
	pid_t tid;

	uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	if (uffd < 0)
		SKIP(return, "no userfaultfd on this kernel: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	reg = (struct uffdio_register){
		.range = { .start = (uintptr_t)page, .len = 4096 },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg));

	/* A 100 ms timeout, counted from here at the latest. */
	ASSERT_EQ(0, fipc_async_call(&a, &self->c, 1, "q", 1, 100000000ULL));
	clock_gettime(CLOCK_MONOTONIC, &now);
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	tid = fipc_async_tid(&a);
	ASSERT_EQ(0, fipc_wait_blocked_in_ioctl(tid));
	r.token = msg.token;
	r.reply = page;
	ASSERT_EQ(0, pthread_create(&server, NULL, stalled_reply_fn, &r));
	ASSERT_EQ((ssize_t)sizeof(fault), read(uffd, &fault, sizeof(fault)));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, fault.event);

	/*
	 * The copy is stuck. Let the deadline pass, and the caller wake for
	 * it and go back to sleep: it is then waiting for the copy.
	 */
	switches = voluntary_switches(tid);
	now.tv_nsec += 100000000;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &now, NULL) == EINTR)
		;
	while (!fipc_async_done(&a) &&
	       !(voluntary_switches(tid) > switches && fipc_blocked_in(tid, SYS_ioctl) == 1))
		sched_yield();
	EXPECT_FALSE(fipc_async_done(&a)) TH_LOG("the caller gave up during the reply's copy");

	memset(src, 0x77, sizeof(src));
	copy = (struct uffdio_copy){
		.dst = (uintptr_t)page, .src = (uintptr_t)src, .len = 4096,
	};
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_COPY, &copy));
	pthread_join(server, NULL);
	EXPECT_EQ(0, r.ret);
	EXPECT_EQ(0, fipc_async_join(&a));
	EXPECT_EQ(3, a.call.status);
	EXPECT_EQ(64, a.call.reply_len);
	EXPECT_EQ(0x77, self->c.buf[0]);
	EXPECT_EQ(0x77, self->c.buf[63]);
	munmap(page, 4096);
	close(uffd);
}

TEST_HARNESS_MAIN
