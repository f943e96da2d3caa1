// SPDX-License-Identifier: GPL-2.0
/*
 * io_uring commands (FASTIPC_F_URING): FASTIPC_URING_CALL, _SEND, _RECV,
 * _REPLY and _CANCEL submitted raw with liburing 2.3, which has no helper for
 * them, on rings of 128-byte SQEs and 32-byte CQEs. Each command's checks;
 * batches of calls to server threads and processes, byte for byte with the
 * status word; calls waiting for a slot, with their SQEs reused at once;
 * cancellation by tag, by CANCEL_ALL, by closing the ring and by the death or
 * exit of the submitter; servers dying mid-batch; synchronous and asynchronous
 * callers together; one thread receiving on several endpoints and replying
 * through its ring.
 *
 * The servers here answer a call with its request XORed with XOR_BYTE and the
 * status word status_of(opcode); replies land in reply rooms pre-filled with
 * GUARD, so a byte written past the reply shows.
 */
#include "fastipc_util.h"

#include <stddef.h>

#include <linux/membarrier.h>
#include <liburing.h>

#include "kselftest_harness.h"

#define SLOT		256
#define NSLOTS		4
#define CBUF		8192		/* the fixture client's reply buffer */
#define MSGS_LEN	4096		/* the fixture endpoint's record buffer */
#define ROOM		64		/* a small reply room */
#define BIG_ROOM	(SLOT + 64)	/* room for any reply and a guard */
#define REC		sizeof(struct fastipc_msg_info)
#define GUARD		0xee
#define XOR_BYTE	0x5a
#define OP_QUIT		0xffffffffU
#define OP_SYNC		0x100000U	/* opcodes of synchronous calls */
#define RING_FLAGS	(IORING_SETUP_SQE128 | IORING_SETUP_CQE32)
#define CMD_AREA	80		/* the command area of a 128-byte SQE */
#define RING_BROKEN	(-100000)	/* run_cmd(): the ring itself failed */
#define RUN_UD		0x5eed5eedULL
/*
 * A bound on the few waits for a cancellation that only a kernel bug makes
 * endless: a working kernel takes a second at most (6.1's monitor), so this
 * is no timing assertion, it turns such a hang into a failure. The harness's
 * own timeout cannot: it uses alarm(), and the debug board's kernel has no
 * POSIX timers.
 */
#define WATCHDOG_MS	30000

_Static_assert(sizeof(struct fastipc_uring_call) <= CMD_AREA, "call fits the SQE");
_Static_assert(sizeof(struct fastipc_send) <= CMD_AREA, "send fits the SQE");
_Static_assert(sizeof(struct fastipc_uring_recv) <= CMD_AREA, "recv fits the SQE");
_Static_assert(sizeof(struct fastipc_uring_reply) <= CMD_AREA, "reply fits the SQE");
_Static_assert(sizeof(struct fastipc_uring_cancel) <= CMD_AREA, "cancel fits the SQE");

/* The status word a server answers @opcode with: both signs, all bits. */
static int32_t status_of(uint32_t opcode)
{
	return (int32_t)(opcode * 2654435761U);
}

/* big_cqe[0] of a call's CQE: the status word, sign-extended. */
static uint64_t sext(int32_t status)
{
	return (uint64_t)(int64_t)status;
}

/* 1 if the module has the io_uring commands, 0 if not, or -errno. */
static int uring_feature(void)
{
	struct fastipc_version ver;
	int fd = fipc_open(), ret;

	if (fd < 0)
		return fd;
	memset(&ver, 0, sizeof(ver));
	ret = fipc_ioctl(fd, FASTIPC_IOC_VERSION, &ver);
	close(fd);
	return ret ? ret : !!(ver.features & FASTIPC_F_URING);
}

static int ring_init(struct io_uring *ring, unsigned int entries, unsigned int flags)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	p.flags = flags;
	return io_uring_queue_init_params(entries, ring, &p);
}

/* A ring of big SQEs and CQEs with @sq SQEs and room for @cq CQEs. */
static int ring_init_cq(struct io_uring *ring, unsigned int sq, unsigned int cq)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	p.flags = RING_FLAGS | IORING_SETUP_CQSIZE;
	p.cq_entries = cq;
	return io_uring_queue_init_params(sq, ring, &p);
}

/* A free SQE, submitting what is queued first if the SQ ring is full. */
static struct io_uring_sqe *sqe_get(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe && io_uring_submit(ring) >= 0)
		sqe = io_uring_get_sqe(ring);
	return sqe;
}

/*
 * Queues an IORING_OP_URING_CMD. liburing 2.3 has no helper for it: the whole
 * SQE is cleared (128 bytes on an SQE128 ring), opcode, flags, fd, cmd_op
 * (which shares a union with off) and user_data are set, and @arg is copied
 * to the start of the command area, as much of it as the SQE has room for.
 */
static int queue_cmd(struct io_uring *ring, int fd, uint32_t cmd_op, const void *arg,
		     size_t len, uint64_t user_data, uint8_t sqe_flags)
{
	size_t sqe_len = ring->flags & IORING_SETUP_SQE128 ? 128 : 64;
	size_t cmd_off = offsetof(struct io_uring_sqe, cmd);
	struct io_uring_sqe *sqe = sqe_get(ring);
	uint8_t *raw = (uint8_t *)sqe;

	if (!sqe)
		return -EBUSY;
	memset(raw, 0, sqe_len);
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->flags = sqe_flags;
	sqe->fd = fd;
	sqe->cmd_op = cmd_op;
	sqe->user_data = user_data;
	if (len > sqe_len - cmd_off)
		len = sqe_len - cmd_off;
	memcpy(raw + cmd_off, arg, len);
	return 0;
}

/* Submits everything queued: 0 or -errno. */
static int submit_all(struct io_uring *ring)
{
	int ret;

	while (io_uring_sq_ready(ring)) {
		ret = io_uring_submit(ring);
		if (ret < 0)
			return ret;
		if (!ret)
			return -EIO;
	}
	return 0;
}

/* A completion, copied out of the CQ ring. */
struct cqe {
	uint64_t user_data;
	int32_t res;
	uint64_t big[2];
};

static void cqe_take(struct io_uring *ring, struct io_uring_cqe *cqe, struct cqe *out)
{
	out->user_data = cqe->user_data;
	out->res = cqe->res;
	out->big[0] = 0;
	out->big[1] = 0;
	if (ring->flags & IORING_SETUP_CQE32) {
		out->big[0] = cqe->big_cqe[0];
		out->big[1] = cqe->big_cqe[1];
	}
	io_uring_cqe_seen(ring, cqe);
}

/* Waits for the next CQE. */
static int cqe_wait(struct io_uring *ring, struct cqe *out)
{
	struct io_uring_cqe *cqe;
	int ret;

	do
		ret = io_uring_wait_cqe(ring, &cqe);
	while (ret == -EINTR);
	if (ret)
		return ret;
	cqe_take(ring, cqe, out);
	return 0;
}

/*
 * The next CQE if there is one once this thread's pending io_uring task work
 * has run (completions are posted from it); -EAGAIN if there is none.
 */
static int cqe_peek(struct io_uring *ring, struct cqe *out)
{
	struct io_uring_cqe *cqe;
	int ret = io_uring_get_events(ring);

	if (ret < 0)
		return ret;
	ret = io_uring_peek_cqe(ring, &cqe);
	if (ret)
		return ret;
	cqe_take(ring, cqe, out);
	return 0;
}

/* True if no CQE is there, even after running pending task work. */
static bool ring_quiet(struct io_uring *ring)
{
	struct cqe cqe;

	return cqe_peek(ring, &cqe) == -EAGAIN;
}

/*
 * Submits one command and waits for its CQE; returns its res, or RING_BROKEN
 * if the ring failed or another CQE came first. Only for commands that
 * complete on their own while nothing else is in flight on @ring.
 */
static int run_cmd(struct io_uring *ring, int fd, uint32_t cmd_op, const void *arg, size_t len,
		   struct cqe *out)
{
	struct cqe cqe;

	if (queue_cmd(ring, fd, cmd_op, arg, len, RUN_UD, 0) || submit_all(ring) ||
	    cqe_wait(ring, &cqe) || cqe.user_data != RUN_UD)
		return RING_BROKEN;
	if (out)
		*out = cqe;
	return cqe.res;
}

/* Waits for the CQEs of @n commands with user_data < @n into @out[user_data]. */
static int collect(struct io_uring *ring, struct cqe *out, unsigned int n)
{
	bool seen[64] = { false };
	unsigned int i;
	struct cqe cqe;
	int ret;

	for (i = 0; i < n; i++) {
		ret = cqe_wait(ring, &cqe);
		if (ret)
			return ret;
		if (cqe.user_data >= n || seen[cqe.user_data])
			return -EPROTO;
		seen[cqe.user_data] = true;
		out[cqe.user_data] = cqe;
	}
	return 0;
}

static struct fastipc_uring_call call_arg(uint32_t reply_buf, uint32_t opcode, const void *req,
					  uint32_t len, uint64_t reply_offset, uint32_t reply_cap,
					  uint64_t tag)
{
	struct fastipc_uring_call a;

	memset(&a, 0, sizeof(a));
	a.opcode = opcode;
	a.req_addr = (uintptr_t)req;
	a.req_len = len;
	a.reply_buf = reply_buf;
	a.reply_offset = reply_offset;
	a.reply_cap = reply_cap;
	a.tag = tag;
	return a;
}

static struct fastipc_send send_arg(uint32_t flags, uint32_t opcode, const void *buf, uint32_t len)
{
	struct fastipc_send a;

	memset(&a, 0, sizeof(a));
	a.flags = flags;
	a.opcode = opcode;
	a.addr = (uintptr_t)buf;
	a.len = len;
	return a;
}

static struct fastipc_uring_recv recv_arg(uint32_t msg_buf, uint64_t msg_offset, uint64_t tag)
{
	struct fastipc_uring_recv a;

	memset(&a, 0, sizeof(a));
	a.msg_buf = msg_buf;
	a.msg_offset = msg_offset;
	a.tag = tag;
	return a;
}

static struct fastipc_uring_reply reply_arg(uint64_t token, int32_t status, const void *addr,
					    uint32_t len)
{
	struct fastipc_uring_reply a;

	memset(&a, 0, sizeof(a));
	a.token = token;
	a.status = status;
	a.addr = (uintptr_t)addr;
	a.len = len;
	return a;
}

static struct fastipc_uring_cancel cancel_arg(uint32_t flags, uint64_t tag)
{
	struct fastipc_uring_cancel a;

	memset(&a, 0, sizeof(a));
	a.flags = flags;
	a.tag = tag;
	return a;
}

/* Queues a call on @c whose reply goes to @reply_offset of @c's buffer. */
static int queue_call(struct io_uring *ring, const struct fipc_client *c, uint32_t opcode,
		      const void *req, uint32_t len, uint64_t reply_offset, uint32_t reply_cap,
		      uint64_t tag, uint64_t user_data)
{
	struct fastipc_uring_call a = call_arg(c->buf_id, opcode, req, len, reply_offset,
					       reply_cap, tag);

	return queue_cmd(ring, c->fd, FASTIPC_URING_CALL, &a, sizeof(a), user_data, 0);
}

static int queue_send(struct io_uring *ring, int fd, uint32_t flags, uint32_t opcode,
		      const void *buf, uint32_t len, uint64_t user_data)
{
	struct fastipc_send a = send_arg(flags, opcode, buf, len);

	return queue_cmd(ring, fd, FASTIPC_URING_SEND, &a, sizeof(a), user_data, 0);
}

static int queue_recv(struct io_uring *ring, int fd, uint32_t msg_buf, uint64_t msg_offset,
		      uint64_t tag, uint64_t user_data, uint8_t sqe_flags)
{
	struct fastipc_uring_recv a = recv_arg(msg_buf, msg_offset, tag);

	return queue_cmd(ring, fd, FASTIPC_URING_RECV, &a, sizeof(a), user_data, sqe_flags);
}

static int queue_reply(struct io_uring *ring, int fd, uint64_t token, int32_t status,
		       const void *addr, uint32_t len, uint64_t user_data)
{
	struct fastipc_uring_reply a = reply_arg(token, status, addr, len);

	return queue_cmd(ring, fd, FASTIPC_URING_REPLY, &a, sizeof(a), user_data, 0);
}

/* FASTIPC_URING_CANCEL on @fd: its CQE's res. */
static int run_cancel(struct io_uring *ring, int fd, uint32_t flags, uint64_t tag)
{
	struct fastipc_uring_cancel a = cancel_arg(flags, tag);

	return run_cmd(ring, fd, FASTIPC_URING_CANCEL, &a, sizeof(a), NULL);
}

/* Fills @len bytes of @out with @in XOR XOR_BYTE: what a server answers. */
static void xor_copy(uint8_t *out, const uint8_t *in, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		out[i] = in[i] ^ XOR_BYTE;
}

/*
 * Checks an echo server's answer to a call of @len bytes @req with @opcode:
 * the CQE's length, status word and zero big_cqe[1], the reply's bytes at the
 * start of @room and GUARD bytes after them up to @room_len.
 */
static bool echo_ok(const struct cqe *cqe, const uint8_t *req, uint32_t len, uint32_t opcode,
		    const uint8_t *room, size_t room_len)
{
	size_t i;

	if (cqe->res != (int32_t)len || cqe->big[0] != sext(status_of(opcode)) || cqe->big[1])
		return false;
	for (i = 0; i < len; i++)
		if (room[i] != (req[i] ^ XOR_BYTE))
			return false;
	for (; i < room_len; i++)
		if (room[i] != GUARD)
			return false;
	return true;
}

/*
 * The synchronous echo server, as a thread's or a process's loop: answers
 * each call with its request XOR XOR_BYTE and status_of(opcode), releases
 * each one-way message, answers OP_QUIT and returns. A reply that finds the
 * caller gone (ECANCELED) is not an error. Returns 0 or -errno.
 */
static int echo_serve(struct fipc_ep *ep, int *served)
{
	uint8_t *out = malloc(ep->slot_size);
	uint32_t flags = FASTIPC_SERVE_RECV, len = 0;
	const void *reply = NULL;
	struct fastipc_serve msg;
	uint64_t token = 0;
	int32_t status = 0;
	int ret;

	if (!out)
		return -ENOMEM;
	for (;;) {
		ret = fipc_serve(ep->fd, flags, token, status, reply, len, &msg);
		if (ret == -ECANCELED) {
			/* The token is consumed: just receive. */
			flags = FASTIPC_SERVE_RECV;
			token = 0;
			status = 0;
			reply = NULL;
			len = 0;
			continue;
		}
		if (ret)
			break;
		if (msg.offset < ep->pool_off || msg.offset + msg.len > ep->pool_len ||
		    msg.len > ep->slot_size) {
			ret = -EPROTO;
			break;
		}
		if (msg.opcode == OP_QUIT && !(msg.msg_flags & FASTIPC_MSG_ONEWAY)) {
			ret = fipc_reply(ep->fd, msg.token, 0, NULL, 0);
			break;
		}
		len = 0;
		status = 0;
		reply = NULL;
		if (!(msg.msg_flags & FASTIPC_MSG_ONEWAY)) {
			xor_copy(out, ep->pool + msg.offset, msg.len);
			reply = out;
			len = msg.len;
			status = status_of(msg.opcode);
		}
		token = msg.token;
		flags = FASTIPC_SERVE_REPLY | FASTIPC_SERVE_RECV;
		(*served)++;
	}
	if (ret)
		fprintf(stderr, "# echo server: %s\n", strerror(-ret));
	free(out);
	return ret;
}

struct echo {
	struct fipc_ep *ep;
	int err;
	int served;
	pthread_t thread;
};

static void *echo_fn(void *arg)
{
	struct echo *e = arg;

	e->err = echo_serve(e->ep, &e->served);
	return NULL;
}

static int echo_start(struct echo *e, struct fipc_ep *ep)
{
	memset(e, 0, sizeof(*e));
	e->ep = ep;
	return -pthread_create(&e->thread, NULL, echo_fn, e);
}

/* Stops @n echo threads of @c's endpoint; their first error. */
static int echo_stop(struct fipc_client *c, struct echo *e, int n)
{
	int i, ret = 0;

	for (i = 0; i < n; i++)
		if (fipc_call(c, OP_QUIT, NULL, 0, 0, NULL))
			ret = -EIO;
	for (i = 0; i < n; i++) {
		pthread_join(e[i].thread, NULL);
		if (e[i].err && !ret)
			ret = e[i].err;
	}
	return ret;
}

/*
 * Waits until the call behind @token, held by this server and submitted on a
 * ring that is gone (closed, or its process died), is cancelled, and consumes
 * the token: 0 once a reply to it got ECANCELED.
 *
 * When that happens is the kernel's business: from 6.7 io_uring asks fastipc
 * to cancel as the ring is torn down, on 6.1 the module notices by itself
 * within about a second. The test neither sleeps nor times it (WATCHDOG_MS
 * only ends a wait for a completion that never comes); it probes and blocks
 * in turn:
 *  - the probe is a reply one byte bigger than the call's reply room (ROOM).
 *    While the call is live it fails with EMSGSIZE and the token stays held,
 *    nothing delivered; once the call is cancelled the same reply gets
 *    ECANCELED and consumes the token (the cancel-by-tag test checks that a
 *    cancelled call's oversized reply gets exactly that);
 *  - between probes it blocks in poll() on @evfd, the eventfd registered with
 *    the ring: cancelling the call posts its CQE there, and that signals the
 *    eventfd although nobody will read the CQE. The count is sticky, so a
 *    CQE posted between the probe and the poll is not missed; another call
 *    of the same ring may wake it first, and then it probes again.
 * A cancellation that never comes fails with ETIMEDOUT after WATCHDOG_MS
 * without any completion.
 */
static int wait_cancelled(int ep_fd, uint64_t token, int evfd)
{
	static const uint8_t probe[ROOM + 1];
	struct pollfd pfd = { .fd = evfd, .events = POLLIN };
	eventfd_t v;
	int ret;

	for (;;) {
		ret = fipc_reply(ep_fd, token, 0, probe, sizeof(probe));
		if (ret == -ECANCELED)
			return 0;
		if (ret != -EMSGSIZE)
			return ret ? ret : -EPROTO;
		ret = poll(&pfd, 1, WATCHDOG_MS);
		if (ret < 0 && errno != EINTR)
			return -errno;
		if (!ret)
			return -ETIMEDOUT;
		eventfd_read(evfd, &v);
	}
}

/*
 * Proves every slot of @ep is free: @ep->nslots synchronous calls (from
 * threads) must all be received and held at once. A message found on the way
 * that is not one of them comes from a ring that is gone, and must be
 * cancelled (wait_cancelled()). Returns 0 or -errno; on failure the callers
 * are left blocked, to die with the test.
 */
static int all_slots_come_back(struct fipc_ep *ep, int evfd)
{
	struct fipc_async a[8];
	uint64_t tokens[8];
	struct fastipc_serve msg;
	struct fipc_client c;
	uint32_t n = ep->nslots, held = 0, i;
	int ret;

	if (n > 8)
		return -EINVAL;
	ret = fipc_client_open(&c, ep->fd, NULL, 64);
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		ret = fipc_async_call(&a[i], &c, OP_SYNC + i, NULL, 0, 0);
		if (ret)
			return ret;
	}
	while (held < n) {
		ret = fipc_recv(ep->fd, &msg);
		if (ret)
			return ret;
		if (msg.opcode >= OP_SYNC && msg.opcode < OP_SYNC + n) {
			tokens[held++] = msg.token;
			continue;
		}
		ret = wait_cancelled(ep->fd, msg.token, evfd);
		if (ret)
			return ret;
	}
	for (i = 0; i < n; i++) {
		ret = fipc_reply(ep->fd, tokens[i], 0, NULL, 0);
		if (ret)
			return ret;
	}
	for (i = 0; i < n; i++) {
		ret = fipc_async_join(&a[i]);
		if (ret)
			return ret;
	}
	fipc_client_close(&c);
	return 0;
}

FIXTURE(uring) {
	struct fipc_ep ep;		/* SLOT x NSLOTS, no server */
	struct fipc_client c;		/* CBUF bytes of reply rooms */
	uint8_t *msgs;			/* MSGS_LEN, registered on the endpoint */
	uint32_t msgs_id;
	struct io_uring ring;		/* 64 big SQEs */
	bool have_ring;
};

FIXTURE_SETUP(uring)
{
	int ret = uring_feature();

	self->ep.fd = -1;
	self->c.fd = -1;
	ASSERT_LE(0, ret) TH_LOG("FASTIPC_IOC_VERSION: %s", strerror(-ret));
	if (!ret)
		SKIP(return, "the module has no io_uring commands (FASTIPC_F_URING)");
	ret = ring_init(&self->ring, 64, RING_FLAGS);
	if (ret == -ENOSYS || ret == -EPERM)
		SKIP(return, "io_uring is not available: %s", strerror(-ret));
	ASSERT_EQ(0, ret) TH_LOG("io_uring_queue_init: %s", strerror(-ret));
	self->have_ring = true;
	ASSERT_EQ(0, fipc_ep_open(&self->ep, NULL, 0, SLOT, NSLOTS));
	ASSERT_EQ(0, fipc_client_open(&self->c, self->ep.fd, NULL, CBUF));
	self->msgs = fipc_map(MSGS_LEN);
	ASSERT_NE(NULL, self->msgs);
	ret = fipc_buf_register(self->ep.fd, self->msgs, MSGS_LEN);
	ASSERT_LE(0, ret);
	self->msgs_id = ret;
}

FIXTURE_TEARDOWN(uring)
{
	if (self->have_ring)
		io_uring_queue_exit(&self->ring);
	fipc_client_close(&self->c);
	fipc_ep_close(&self->ep);
	if (self->msgs)
		munmap(self->msgs, MSGS_LEN);
}

/* --- Each command's checks ------------------------------------------------ */

TEST_F(uring, every_command_on_a_ring_without_big_sqes_and_cqes_is_einval)
{
	static const unsigned int flags[] = { 0, IORING_SETUP_SQE128, IORING_SETUP_CQE32 };
	struct fastipc_uring_call call = call_arg(self->c.buf_id, 1, "abc", 3, 0, ROOM, 0);
	struct fastipc_send send = send_arg(0, 2, "d", 1);
	struct fastipc_uring_recv recv = recv_arg(self->msgs_id, 0, 0);
	struct fastipc_uring_cancel cancel = cancel_arg(FASTIPC_CANCEL_ALL, 0);
	struct fastipc_uring_reply reply;
	struct fastipc_serve msg;
	struct fipc_async a;
	struct io_uring r;
	unsigned int i;

	/* A call the test holds, for the replies. */
	ASSERT_EQ(0, fipc_async_call(&a, &self->c, 7, NULL, 0, 0));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	reply = reply_arg(msg.token, 3, "r", 1);
	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		ASSERT_EQ(0, ring_init(&r, 8, flags[i]));
		EXPECT_EQ(-EINVAL, run_cmd(&r, self->c.fd, FASTIPC_URING_CALL, &call,
					   sizeof(call), NULL)) TH_LOG("ring flags %#x", flags[i]);
		EXPECT_EQ(-EINVAL, run_cmd(&r, self->c.fd, FASTIPC_URING_SEND, &send,
					   sizeof(send), NULL)) TH_LOG("ring flags %#x", flags[i]);
		EXPECT_EQ(-EINVAL, run_cmd(&r, self->ep.fd, FASTIPC_URING_RECV, &recv,
					   sizeof(recv), NULL)) TH_LOG("ring flags %#x", flags[i]);
		EXPECT_EQ(-EINVAL, run_cmd(&r, self->ep.fd, FASTIPC_URING_REPLY, &reply,
					   sizeof(reply), NULL)) TH_LOG("ring flags %#x", flags[i]);
		EXPECT_EQ(-EINVAL, run_cmd(&r, self->c.fd, FASTIPC_URING_CANCEL, &cancel,
					   sizeof(cancel), NULL)) TH_LOG("ring flags %#x", flags[i]);
		io_uring_queue_exit(&r);
	}
	/* None of them did anything: nothing arrived, the token is still held. */
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, NULL));
	EXPECT_FALSE(fipc_async_done(&a));
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 5, "ok", 2));
	EXPECT_EQ(0, fipc_async_join(&a));
	EXPECT_EQ(5, a.call.status);
	EXPECT_EQ(2, a.call.reply_len);
}

TEST_F(uring, unknown_cmd_op_is_enotty_on_every_port)
{
	const uint32_t ops[] = {
		0,
		(uint32_t)_IOW(FASTIPC_IOCTL_MAGIC, 0x1f, struct fastipc_uring_call),
		(uint32_t)_IOW(FASTIPC_IOCTL_MAGIC, 0x25, struct fastipc_uring_call),
		(uint32_t)_IOWR(FASTIPC_IOCTL_MAGIC, 0x20, struct fastipc_uring_call),
		(uint32_t)_IOW(FASTIPC_IOCTL_MAGIC, 0x20, struct fastipc_call),
		(uint32_t)_IOW(FASTIPC_IOCTL_MAGIC + 1, 0x20, struct fastipc_uring_call),
		(uint32_t)_IO(FASTIPC_IOCTL_MAGIC, 0x20),
		(uint32_t)FASTIPC_IOC_CALL,
		(uint32_t)FASTIPC_IOC_SERVE,
		0xffffffffU,
	};
	struct fastipc_uring_call call = call_arg(self->c.buf_id, 1, "abc", 3, 0, ROOM, 0);
	int none = fipc_open();
	unsigned int i;

	ASSERT_LE(0, none);
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		EXPECT_EQ(-ENOTTY, run_cmd(&self->ring, self->c.fd, ops[i], &call, sizeof(call),
					   NULL)) TH_LOG("cmd_op %#x", ops[i]);
		EXPECT_EQ(-ENOTTY, run_cmd(&self->ring, self->ep.fd, ops[i], &call, sizeof(call),
					   NULL)) TH_LOG("cmd_op %#x", ops[i]);
		EXPECT_EQ(-ENOTTY, run_cmd(&self->ring, none, ops[i], &call, sizeof(call),
					   NULL)) TH_LOG("cmd_op %#x", ops[i]);
	}
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, NULL));
	close(none);
}

TEST_F(uring, call_rejects_unknown_flags_and_nonzero_reserved_fields)
{
	struct fastipc_uring_call good = call_arg(self->c.buf_id, 1, "abc", 3, 0, ROOM, ~0ULL);
	struct fastipc_uring_call bad;
	struct fastipc_serve msg;
	struct cqe cqe;

	bad = good;
	bad.flags = 1;
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_CALL, &bad,
				   sizeof(bad), NULL));
	bad.flags = 1U << 31;
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_CALL, &bad,
				   sizeof(bad), NULL));
	bad = good;
	bad.reserved0 = 1;
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_CALL, &bad,
				   sizeof(bad), NULL));
	bad = good;
	bad.reserved[0] = 1;
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_CALL, &bad,
				   sizeof(bad), NULL));
	bad = good;
	bad.reserved[1] = 1ULL << 63;
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_CALL, &bad,
				   sizeof(bad), NULL));
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, NULL));

	/* Any tag is fine. */
	ASSERT_EQ(0, queue_cmd(&self->ring, self->c.fd, FASTIPC_URING_CALL, &good, sizeof(good),
			       1, 0));
	ASSERT_EQ(0, submit_all(&self->ring));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	EXPECT_EQ(1, msg.opcode);
	EXPECT_EQ(3, msg.len);
	ASSERT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));
	ASSERT_EQ(0, cqe_wait(&self->ring, &cqe));
	EXPECT_EQ(1, cqe.user_data);
	EXPECT_EQ(0, cqe.res);
}

TEST_F(uring, commands_on_a_port_of_the_wrong_role_are_ebadfd)
{
	struct fastipc_uring_call call = call_arg(0, 1, "abc", 3, 0, ROOM, 0);
	struct fastipc_send send = send_arg(0, 2, "d", 1);
	struct fastipc_uring_recv recv = recv_arg(0, 0, 0);
	struct fastipc_uring_reply reply = reply_arg(1, 0, NULL, 0);
	int none = fipc_open();
	uint8_t *buf = fipc_map(4096);

	ASSERT_LE(0, none);
	ASSERT_NE(NULL, buf);
	/* Every port has buffer 0, so that a buffer check cannot answer first. */
	ASSERT_EQ(0, fipc_buf_register(none, buf, 4096));
	ASSERT_EQ(0, self->ep.pool_id);
	ASSERT_EQ(0, self->c.buf_id);

	EXPECT_EQ(-EBADFD, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_CALL, &call,
				   sizeof(call), NULL));
	EXPECT_EQ(-EBADFD, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_SEND, &send,
				   sizeof(send), NULL));
	EXPECT_EQ(-EBADFD, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_RECV, &recv,
				   sizeof(recv), NULL));
	EXPECT_EQ(-EBADFD, run_cmd(&self->ring, none, FASTIPC_URING_RECV, &recv,
				   sizeof(recv), NULL));
	EXPECT_EQ(-EBADFD, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_REPLY, &reply,
				   sizeof(reply), NULL));
	EXPECT_EQ(-EBADFD, run_cmd(&self->ring, none, FASTIPC_URING_REPLY, &reply,
				   sizeof(reply), NULL));
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, NULL));
	close(none);
	munmap(buf, 4096);
}

TEST_F(uring, calls_and_sends_on_an_unconnected_port_are_enotconn)
{
	struct fastipc_uring_call call = call_arg(0, 1, "abc", 3, 0, ROOM, 0);
	struct fastipc_send send = send_arg(0, 2, "d", 1);
	int none = fipc_open();
	uint8_t *buf = fipc_map(4096);

	ASSERT_LE(0, none);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, fipc_buf_register(none, buf, 4096));
	EXPECT_EQ(-ENOTCONN, run_cmd(&self->ring, none, FASTIPC_URING_CALL, &call, sizeof(call),
				     NULL));
	EXPECT_EQ(-ENOTCONN, run_cmd(&self->ring, none, FASTIPC_URING_SEND, &send, sizeof(send),
				     NULL));
	close(none);
	munmap(buf, 4096);
}

TEST_F(uring, call_with_an_unregistered_reply_buffer_is_enoent)
{
	static const uint32_t ids[] = { 1, FASTIPC_MAX_BUFS - 1, FASTIPC_MAX_BUFS, UINT32_MAX };
	struct fastipc_uring_call call;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ids); i++) {
		call = call_arg(ids[i], 1, "abc", 3, 0, ROOM, 0);
		EXPECT_EQ(-ENOENT, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_CALL, &call,
					   sizeof(call), NULL)) TH_LOG("buffer id %u", ids[i]);
	}
	ASSERT_EQ(0, fipc_buf_unregister(self->c.fd, self->c.buf_id));
	call = call_arg(self->c.buf_id, 1, "abc", 3, 0, ROOM, 0);
	EXPECT_EQ(-ENOENT, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_CALL, &call,
				   sizeof(call), NULL));
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, NULL));
}

TEST_F(uring, call_whose_reply_room_does_not_fit_the_buffer_is_einval)
{
	static const struct { uint64_t off; uint32_t cap; } bad[] = {
		{ CBUF - ROOM + 1, ROOM },
		{ CBUF, 1 },
		{ 0, CBUF + 1 },
		{ UINT64_MAX, 2 },
		{ UINT64_MAX - ROOM + 2, ROOM },
	};
	struct fastipc_uring_call call;
	struct fastipc_serve msg;
	uint8_t reply[ROOM];
	struct cqe cqe;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		call = call_arg(self->c.buf_id, 1, "abc", 3, bad[i].off, bad[i].cap, 0);
		EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_CALL, &call,
					   sizeof(call), NULL)) TH_LOG("room %u at %llu",
					   bad[i].cap, (unsigned long long)bad[i].off);
	}
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, NULL));

	/* A room that ends exactly at the end of the buffer is fine. */
	memset(self->c.buf, GUARD, CBUF);
	fipc_fill(reply, ROOM, 9);
	ASSERT_EQ(0, queue_call(&self->ring, &self->c, 2, "abc", 3, CBUF - ROOM, ROOM, 0, 1));
	ASSERT_EQ(0, submit_all(&self->ring));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	ASSERT_EQ(0, fipc_reply(self->ep.fd, msg.token, -9, reply, ROOM));
	ASSERT_EQ(0, cqe_wait(&self->ring, &cqe));
	EXPECT_EQ(ROOM, cqe.res);
	EXPECT_EQ(sext(-9), cqe.big[0]);
	EXPECT_EQ(0, memcmp(self->c.buf + CBUF - ROOM, reply, ROOM));
	for (i = 0; i < CBUF - ROOM; i++) {
		ASSERT_EQ(GUARD, self->c.buf[i]) TH_LOG("byte %u", i);
	}
}

TEST_F(uring, call_bigger_than_the_slot_is_emsgsize)
{
	uint8_t *req = fipc_map(SLOT + 1);
	struct fastipc_uring_call call;
	struct fastipc_serve msg;
	struct cqe cqe;

	ASSERT_NE(NULL, req);
	call = call_arg(self->c.buf_id, 1, req, SLOT + 1, 0, ROOM, 0);
	EXPECT_EQ(-EMSGSIZE, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_CALL, &call,
				     sizeof(call), NULL));
	call.req_len = UINT32_MAX;
	EXPECT_EQ(-EMSGSIZE, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_CALL, &call,
				     sizeof(call), NULL));
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, NULL));

	fipc_fill(req, SLOT, 4);
	ASSERT_EQ(0, queue_call(&self->ring, &self->c, 2, req, SLOT, 0, ROOM, 0, 1));
	ASSERT_EQ(0, submit_all(&self->ring));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	EXPECT_EQ(SLOT, msg.len);
	EXPECT_TRUE(fipc_check(self->ep.pool + msg.offset, SLOT, 4));
	ASSERT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));
	ASSERT_EQ(0, cqe_wait(&self->ring, &cqe));
	EXPECT_EQ(0, cqe.res);
	munmap(req, SLOT + 1);
}

TEST_F(uring, call_with_an_unreadable_request_is_efault_and_gives_its_slot_back)
{
	uint8_t *gone = fipc_map(4096);
	struct fastipc_uring_call call;
	struct fastipc_serve msg;
	struct cqe cqe;
	int i;

	ASSERT_NE(NULL, gone);
	ASSERT_EQ(0, munmap(gone, 4096));
	for (i = 0; i < 2 * NSLOTS; i++) {
		call = call_arg(self->c.buf_id, 1, i & 1 ? gone : NULL, 16, 0, ROOM, 0);
		EXPECT_EQ(-EFAULT, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_CALL, &call,
					   sizeof(call), NULL));
	}
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, NULL));
	/* Every slot is still free: NSLOTS calls all arrive at once. */
	for (i = 0; i < NSLOTS; i++) {
		ASSERT_EQ(0, queue_call(&self->ring, &self->c, 10 + i, NULL, 0, i * ROOM, ROOM, 0,
					i));
	}
	ASSERT_EQ(0, submit_all(&self->ring));
	for (i = 0; i < NSLOTS; i++) {
		ASSERT_EQ(0, fipc_recv_nonblock(self->ep.fd, &msg)) TH_LOG("call %d", i);
		EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));
	}
	for (i = 0; i < NSLOTS; i++) {
		ASSERT_EQ(0, cqe_wait(&self->ring, &cqe));
		EXPECT_EQ(0, cqe.res);
	}
}

TEST_F(uring, send_rejects_wait_unknown_flags_and_nonzero_reserved_fields)
{
	struct fastipc_send good = send_arg(0, 1, "abc", 3);
	struct fastipc_send bad;
	uint32_t i;

	/* A send through the ring never waits for room: FASTIPC_SEND_WAIT is refused. */
	bad = good;
	bad.flags = FASTIPC_SEND_WAIT;
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_SEND, &bad,
				   sizeof(bad), NULL));
	bad.flags = 1U << 2;
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_SEND, &bad,
				   sizeof(bad), NULL));
	/* Descriptors are for the ioctl only. */
	bad.flags = FASTIPC_SEND_FDS;
	EXPECT_EQ(-EOPNOTSUPP, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_SEND, &bad,
				       sizeof(bad), NULL));
	bad.flags = FASTIPC_SEND_WAIT | 1U << 31;
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_SEND, &bad,
				   sizeof(bad), NULL));
	bad = good;
	bad.nfds = 1;
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_SEND, &bad,
				   sizeof(bad), NULL));
	bad = good;
	bad.fds_addr = 1;
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_SEND, &bad,
				   sizeof(bad), NULL));
	bad = good;
	bad.reserved = 1;
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_SEND, &bad,
				   sizeof(bad), NULL));
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, NULL));
	/* None of them used the one-way quota (half the slots). */
	for (i = 0; i < NSLOTS / 2; i++) {
		EXPECT_EQ(0, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_SEND, &good,
				     sizeof(good), NULL));
	}
	/* With the quota full, still EINVAL rather than a wait. */
	bad = good;
	bad.flags = FASTIPC_SEND_WAIT;
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_SEND, &bad,
				   sizeof(bad), NULL));
	EXPECT_EQ(-EAGAIN, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_SEND, &good,
				   sizeof(good), NULL));
}

TEST_F(uring, send_bigger_than_the_slot_or_unreadable_fails_without_using_the_quota)
{
	uint8_t *req = fipc_map(SLOT + 1);
	struct fastipc_send send;
	uint32_t i;

	ASSERT_NE(NULL, req);
	for (i = 0; i <= NSLOTS; i++) {
		send = send_arg(0, 1, req, SLOT + 1);
		EXPECT_EQ(-EMSGSIZE, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_SEND, &send,
					     sizeof(send), NULL));
		send = send_arg(0, 1, NULL, 16);
		EXPECT_EQ(-EFAULT, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_SEND, &send,
					   sizeof(send), NULL));
	}
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, NULL));
	send = send_arg(0, 1, req, SLOT);
	for (i = 0; i < NSLOTS / 2; i++) {
		EXPECT_EQ(0, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_SEND, &send,
				     sizeof(send), NULL));
	}
	munmap(req, SLOT + 1);
}

TEST_F(uring, recv_rejects_unknown_flags_and_nonzero_reserved_fields)
{
	struct fastipc_uring_recv good = recv_arg(self->msgs_id, 0, 0);
	struct fastipc_uring_recv bad;

	bad = good;
	bad.flags = 1;
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_RECV, &bad,
				   sizeof(bad), NULL));
	bad = good;
	bad.reserved[0] = 1;
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_RECV, &bad,
				   sizeof(bad), NULL));
	bad = good;
	bad.reserved[1] = 1;
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_RECV, &bad,
				   sizeof(bad), NULL));
	/* No receive was left waiting: a message now is queued, not handed over. */
	ASSERT_EQ(0, fipc_send(self->c.fd, 0, 1, NULL, 0));
	EXPECT_EQ(POLLIN, fipc_revents(self->ep.fd, POLLIN) & POLLIN);
	EXPECT_TRUE(ring_quiet(&self->ring));
}

TEST_F(uring, recv_into_an_unregistered_buffer_is_enoent)
{
	static const uint32_t ids[] = { 2, FASTIPC_MAX_BUFS - 1, FASTIPC_MAX_BUFS, UINT32_MAX };
	struct fastipc_uring_recv recv;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ids); i++) {
		recv = recv_arg(ids[i], 0, 0);
		EXPECT_EQ(-ENOENT, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_RECV, &recv,
					   sizeof(recv), NULL)) TH_LOG("buffer id %u", ids[i]);
	}
	ASSERT_EQ(0, fipc_buf_unregister(self->ep.fd, self->msgs_id));
	recv = recv_arg(self->msgs_id, 0, 0);
	EXPECT_EQ(-ENOENT, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_RECV, &recv,
				   sizeof(recv), NULL));
	ASSERT_EQ(0, fipc_send(self->c.fd, 0, 1, NULL, 0));
	EXPECT_EQ(POLLIN, fipc_revents(self->ep.fd, POLLIN) & POLLIN);
}

TEST_F(uring, recv_whose_record_does_not_fit_the_buffer_is_einval)
{
	static const uint64_t bad[] = {
		MSGS_LEN - REC + 1, MSGS_LEN - 1, MSGS_LEN, UINT64_MAX, UINT64_MAX - REC + 1,
	};
	struct fastipc_uring_recv recv;
	struct fastipc_msg_info *rec;
	struct cqe cqe;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		recv = recv_arg(self->msgs_id, bad[i], 0);
		EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_RECV, &recv,
					   sizeof(recv), NULL)) TH_LOG("record at %llu",
					   (unsigned long long)bad[i]);
	}
	/* A record that ends exactly at the end of the buffer is fine. */
	memset(self->msgs, GUARD, MSGS_LEN);
	ASSERT_EQ(0, fipc_send(self->c.fd, 0, 77, "abc", 3));
	recv = recv_arg(self->msgs_id, MSGS_LEN - REC, 0);
	ASSERT_EQ(3, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_RECV, &recv, sizeof(recv),
			     &cqe));
	rec = (struct fastipc_msg_info *)(self->msgs + MSGS_LEN - REC);
	EXPECT_EQ(77, rec->opcode);
	EXPECT_EQ(cqe.big[0], rec->token);
	for (i = 0; i < MSGS_LEN - REC; i++) {
		ASSERT_EQ(GUARD, self->msgs[i]) TH_LOG("byte %u", i);
	}
	EXPECT_EQ(0, fipc_reply(self->ep.fd, rec->token, 0, NULL, 0));
}

/* The whole record, caller included, for a call forwarded here. */
TEST_F(uring, recv_of_a_forwarded_call_records_its_forwarder_and_caller)
{
	struct fastipc_uring_recv recv = recv_arg(self->msgs_id, 0, 0);
	struct fastipc_msg_info *rec = (struct fastipc_msg_info *)self->msgs;
	struct fastipc_serve msg;
	struct fipc_client c2;
	struct fipc_async call;
	struct fipc_ep ep2;
	struct cqe cqe;
	unsigned int i;

	ASSERT_EQ(0, fipc_ep_open(&ep2, NULL, 0, SLOT, 2));
	ASSERT_EQ(0, fipc_client_open(&c2, ep2.fd, NULL, CBUF));
	ASSERT_EQ(0, fipc_async_call(&call, &c2, 1, "in", 2, 0));
	ASSERT_EQ(0, fipc_recv(ep2.fd, &msg));
	ASSERT_EQ(0, fipc_forward(ep2.fd, self->c.fd, msg.token, 5, "out", 3));
	memset(self->msgs, GUARD, MSGS_LEN);
	ASSERT_EQ(3, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_RECV, &recv, sizeof(recv),
			     &cqe));
	EXPECT_EQ(FASTIPC_MSG_FORWARDED, rec->flags);
	EXPECT_EQ(5, rec->opcode);
	EXPECT_EQ(cqe.big[0], rec->token);
	EXPECT_EQ((uint32_t)getpid(), rec->pid);
	EXPECT_EQ(geteuid(), rec->uid);
	EXPECT_EQ(getegid(), rec->gid);
	EXPECT_EQ((uint32_t)getpid(), rec->caller_pid);
	EXPECT_EQ(geteuid(), rec->caller_uid);
	EXPECT_EQ(getegid(), rec->caller_gid);
	EXPECT_EQ(0, rec->nfds);
	EXPECT_EQ(0, rec->reserved);
	for (i = REC; i < MSGS_LEN; i++) {
		ASSERT_EQ(GUARD, self->msgs[i]) TH_LOG("byte %u", i);
	}
	ASSERT_EQ(0, fipc_reply(self->ep.fd, rec->token, 0, NULL, 0));
	EXPECT_EQ(0, fipc_async_join(&call));
	/* ABI 1's receive, with its shorter record, is gone. */
	EXPECT_EQ(-ENOTTY, run_cmd(&self->ring, self->ep.fd,
				   _IOW(FASTIPC_IOCTL_MAGIC, 0x22, struct fastipc_uring_recv),
				   &recv, sizeof(recv), NULL));
	fipc_client_close(&c2);
	fipc_ep_close(&ep2);
}

/* A ring installs no descriptors: a message's are counted and closed. */
TEST_F(uring, recv_of_a_message_with_fds_counts_them_and_closes_them)
{
	struct fastipc_uring_recv recv = recv_arg(self->msgs_id, 0, 0);
	struct fastipc_msg_info *rec = (struct fastipc_msg_info *)self->msgs;
	struct fastipc_send s = { .flags = FASTIPC_SEND_FDS, .opcode = 6, .nfds = 2 };
	int32_t fds[2];
	int p[2];

	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	fds[0] = p[1];
	fds[1] = p[1];
	s.fds_addr = (uintptr_t)fds;
	ASSERT_EQ(0, fipc_ioctl(self->c.fd, FASTIPC_IOC_SEND, &s));
	close(p[1]);
	EXPECT_EQ(0, fipc_revents(p[0], POLLIN) & POLLHUP);
	ASSERT_EQ(0, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_RECV, &recv, sizeof(recv),
			     NULL));
	EXPECT_EQ(FASTIPC_MSG_ONEWAY | FASTIPC_MSG_FDS_TRUNC, rec->flags);
	EXPECT_EQ(6, rec->opcode);
	EXPECT_EQ(2, rec->nfds);
	EXPECT_EQ(POLLHUP, fipc_revents(p[0], POLLIN) & POLLHUP);
	EXPECT_EQ(0, fipc_reply(self->ep.fd, rec->token, 0, NULL, 0));
	close(p[0]);
}

TEST_F(uring, reply_rejects_unknown_flags_and_nonzero_reserved_fields)
{
	struct fastipc_uring_reply good, bad;
	struct fastipc_serve msg;
	struct cqe cqe;

	ASSERT_EQ(0, queue_call(&self->ring, &self->c, 1, NULL, 0, 0, ROOM, 0, 1));
	ASSERT_EQ(0, submit_all(&self->ring));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	good = reply_arg(msg.token, 42, "yes", 3);
	bad = good;
	bad.flags = 1;
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_REPLY, &bad,
				   sizeof(bad), NULL));
	bad = good;
	bad.reserved0 = 1;
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_REPLY, &bad,
				   sizeof(bad), NULL));
	bad = good;
	bad.reserved[0] = 1;
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_REPLY, &bad,
				   sizeof(bad), NULL));
	bad = good;
	bad.reserved[1] = 1;
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_REPLY, &bad,
				   sizeof(bad), NULL));
	/* The call is still waiting and the token still held. */
	EXPECT_TRUE(ring_quiet(&self->ring));
	ASSERT_EQ(0, queue_cmd(&self->ring, self->ep.fd, FASTIPC_URING_REPLY, &good, sizeof(good),
			       2, 0));
	ASSERT_EQ(0, submit_all(&self->ring));
	ASSERT_EQ(0, cqe_wait(&self->ring, &cqe));
	if (cqe.user_data == 2) {
		EXPECT_EQ(0, cqe.res);
		ASSERT_EQ(0, cqe_wait(&self->ring, &cqe));
	} else {
		struct cqe r;

		ASSERT_EQ(0, cqe_wait(&self->ring, &r));
		EXPECT_EQ(2, r.user_data);
		EXPECT_EQ(0, r.res);
	}
	EXPECT_EQ(1, cqe.user_data);
	EXPECT_EQ(3, cqe.res);
	EXPECT_EQ(sext(42), cqe.big[0]);
	EXPECT_EQ(0, memcmp(self->c.buf, "yes", 3));
}

TEST_F(uring, reply_to_a_token_not_held_is_enoent)
{
	struct fastipc_serve msg, other_msg;
	struct fastipc_uring_reply reply;
	struct fipc_client oc;
	struct fipc_ep other;
	struct fipc_async a;
	uint64_t t;

	ASSERT_EQ(0, fipc_ep_open(&other, NULL, 0, 64, 2));
	ASSERT_EQ(0, fipc_client_open(&oc, other.fd, NULL, 64));
	ASSERT_EQ(0, fipc_send(oc.fd, 0, 1, NULL, 0));
	ASSERT_EQ(0, fipc_recv(other.fd, &other_msg));
	ASSERT_EQ(0, fipc_async_call(&a, &self->c, 1, NULL, 0, 0));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	t = msg.token;

	reply = reply_arg(0, 0, NULL, 0);
	EXPECT_EQ(-ENOENT, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_REPLY, &reply,
				   sizeof(reply), NULL));
	reply.token = ~0ULL;
	EXPECT_EQ(-ENOENT, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_REPLY, &reply,
				   sizeof(reply), NULL));
	reply.token = t ^ 1;
	EXPECT_EQ(-ENOENT, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_REPLY, &reply,
				   sizeof(reply), NULL));
	reply.token = t + 0x1000;
	EXPECT_EQ(-ENOENT, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_REPLY, &reply,
				   sizeof(reply), NULL));
	if (other_msg.token != t) {
		reply.token = other_msg.token;
		EXPECT_EQ(-ENOENT, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_REPLY, &reply,
					   sizeof(reply), NULL));
	}
	EXPECT_FALSE(fipc_async_done(&a));

	reply = reply_arg(t, 6, "r", 1);
	EXPECT_EQ(0, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_REPLY, &reply,
			     sizeof(reply), NULL));
	EXPECT_EQ(-ENOENT, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_REPLY, &reply,
				   sizeof(reply), NULL));
	EXPECT_EQ(0, fipc_async_join(&a));
	EXPECT_EQ(6, a.call.status);
	EXPECT_EQ(1, a.call.reply_len);
	EXPECT_EQ(0, fipc_reply(other.fd, other_msg.token, 0, NULL, 0));
	fipc_client_close(&oc);
	fipc_ep_close(&other);
}

TEST_F(uring, reply_bigger_than_the_reply_room_is_emsgsize_and_the_token_stays_usable)
{
	struct fastipc_uring_reply reply;
	struct fastipc_serve msg;
	uint8_t big[ROOM + 1];
	struct cqe cqe;

	fipc_fill(big, sizeof(big), 3);
	memset(self->c.buf, GUARD, 2 * ROOM);
	ASSERT_EQ(0, queue_call(&self->ring, &self->c, 1, NULL, 0, 0, ROOM, 0, 1));
	ASSERT_EQ(0, submit_all(&self->ring));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	reply = reply_arg(msg.token, 1, big, ROOM + 1);
	EXPECT_EQ(-EMSGSIZE, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_REPLY, &reply,
				     sizeof(reply), NULL));
	reply.len = UINT32_MAX;
	EXPECT_EQ(-EMSGSIZE, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_REPLY, &reply,
				     sizeof(reply), NULL));
	EXPECT_TRUE(ring_quiet(&self->ring));
	EXPECT_EQ(GUARD, self->c.buf[0]);
	reply.len = ROOM;
	EXPECT_EQ(0, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_REPLY, &reply,
			     sizeof(reply), NULL));
	ASSERT_EQ(0, cqe_wait(&self->ring, &cqe));
	EXPECT_EQ(1, cqe.user_data);
	EXPECT_EQ(ROOM, cqe.res);
	EXPECT_EQ(0, memcmp(self->c.buf, big, ROOM));
	EXPECT_EQ(GUARD, self->c.buf[ROOM]);
}

TEST_F(uring, reply_from_unreadable_memory_is_efault_and_the_token_stays_usable)
{
	struct fastipc_uring_reply reply;
	struct fastipc_serve msg;
	struct cqe cqe;

	ASSERT_EQ(0, queue_call(&self->ring, &self->c, 1, NULL, 0, 0, ROOM, 0, 1));
	ASSERT_EQ(0, submit_all(&self->ring));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	reply = reply_arg(msg.token, 1, NULL, 16);
	EXPECT_EQ(-EFAULT, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_REPLY, &reply,
				   sizeof(reply), NULL));
	EXPECT_TRUE(ring_quiet(&self->ring));
	reply = reply_arg(msg.token, 2, "fine", 4);
	EXPECT_EQ(0, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_REPLY, &reply,
			     sizeof(reply), NULL));
	ASSERT_EQ(0, cqe_wait(&self->ring, &cqe));
	EXPECT_EQ(4, cqe.res);
	EXPECT_EQ(sext(2), cqe.big[0]);
	EXPECT_EQ(0, memcmp(self->c.buf, "fine", 4));
}

TEST_F(uring, non_empty_reply_to_a_one_way_message_is_einval)
{
	struct fastipc_uring_reply reply;
	struct fastipc_serve msg;

	ASSERT_EQ(0, fipc_send(self->c.fd, 0, 1, NULL, 0));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	reply = reply_arg(msg.token, 0, "x", 1);
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_REPLY, &reply,
				   sizeof(reply), NULL));
	/* Still held: an empty reply releases it, once. */
	reply.len = 0;
	EXPECT_EQ(0, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_REPLY, &reply,
			     sizeof(reply), NULL));
	EXPECT_EQ(-ENOENT, run_cmd(&self->ring, self->ep.fd, FASTIPC_URING_REPLY, &reply,
				   sizeof(reply), NULL));
}

TEST_F(uring, cancel_rejects_bad_flags_reserved_fields_and_a_tag_with_cancel_all)
{
	struct fastipc_uring_cancel good = cancel_arg(0, 5), bad;
	struct fastipc_serve msg;
	struct cqe cqe;

	ASSERT_EQ(0, queue_call(&self->ring, &self->c, 1, NULL, 0, 0, ROOM, 5, 1));
	ASSERT_EQ(0, submit_all(&self->ring));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));

	bad = good;
	bad.flags = 1U << 1;
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_CANCEL, &bad,
				   sizeof(bad), NULL));
	bad = good;
	bad.reserved0 = 1;
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_CANCEL, &bad,
				   sizeof(bad), NULL));
	bad = good;
	bad.reserved[0] = 1;
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_CANCEL, &bad,
				   sizeof(bad), NULL));
	bad = good;
	bad.reserved[1] = 1;
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_CANCEL, &bad,
				   sizeof(bad), NULL));
	bad = cancel_arg(FASTIPC_CANCEL_ALL, 5);
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_CANCEL, &bad,
				   sizeof(bad), NULL));
	/* None of them cancelled the call. */
	EXPECT_TRUE(ring_quiet(&self->ring));
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 8, "z", 1));
	ASSERT_EQ(0, cqe_wait(&self->ring, &cqe));
	EXPECT_EQ(1, cqe.user_data);
	EXPECT_EQ(1, cqe.res);
	EXPECT_EQ(sext(8), cqe.big[0]);
}

TEST_F(uring, cancel_with_nothing_in_flight_is_enoent)
{
	int none = fipc_open();

	ASSERT_LE(0, none);
	EXPECT_EQ(-ENOENT, run_cancel(&self->ring, self->c.fd, 0, 0));
	EXPECT_EQ(-ENOENT, run_cancel(&self->ring, self->c.fd, 0, 1));
	EXPECT_EQ(-ENOENT, run_cancel(&self->ring, self->c.fd, FASTIPC_CANCEL_ALL, 0));
	EXPECT_EQ(-ENOENT, run_cancel(&self->ring, self->ep.fd, FASTIPC_CANCEL_ALL, 0));
	EXPECT_EQ(-ENOENT, run_cancel(&self->ring, none, FASTIPC_CANCEL_ALL, 0));
	close(none);
}

/* --- Calls ---------------------------------------------------------------- */

TEST_F(uring, call_cqe_carries_the_reply_length_and_the_sign_extended_status)
{
	static const int32_t statuses[] = { INT32_MIN, -1, 0, 1, INT32_MAX, -2, 0x12345678 };
	struct fastipc_serve msg;
	uint8_t reply[ROOM];
	struct cqe cqe;
	unsigned int i;
	uint32_t len;

	for (i = 0; i < ARRAY_SIZE(statuses); i++) {
		len = i * 9 % (ROOM + 1);
		fipc_fill(reply, len, i);
		memset(self->c.buf, GUARD, 2 * ROOM);
		ASSERT_EQ(0, queue_call(&self->ring, &self->c, i, "q", 1, 0, ROOM, 0, 100 + i));
		ASSERT_EQ(0, submit_all(&self->ring));
		ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
		EXPECT_EQ(i, msg.opcode);
		ASSERT_EQ(0, fipc_reply(self->ep.fd, msg.token, statuses[i], reply, len));
		ASSERT_EQ(0, cqe_wait(&self->ring, &cqe));
		EXPECT_EQ(100 + i, cqe.user_data);
		EXPECT_EQ(len, cqe.res);
		EXPECT_EQ(sext(statuses[i]), cqe.big[0]) TH_LOG("status %d", statuses[i]);
		EXPECT_EQ(0, cqe.big[1]);
		EXPECT_EQ(0, memcmp(self->c.buf, reply, len));
		EXPECT_EQ(GUARD, self->c.buf[len]);
	}
}

/* The caller's and the async call's server: see the tests below. */
struct notify_srv {
	struct fipc_ep *async_ep, *sync_ep;
	struct io_uring *ring;	/* the caller's ring */
	pid_t caller;
	int returned;		/* eventfd: the caller's blocking call returned */
	bool close_ring;	/* close the caller's ring under it instead */
	int evfd;		/* then registered with that ring */
	int err;
};

/*
 * Takes the caller's async call and its blocking call, and answers the async
 * one while the caller is blocked: its completion is task work for the
 * caller, which must run at once, the blocking call going on afterwards.
 * Only once the CQE is in the ring is the blocking call answered: a module
 * that held the task work off until the call returned would never get
 * there. With @close_ring the ring is closed under the blocked caller
 * instead, and its call's cancellation must not disturb the blocking call.
 */
static void *notify_srv_fn(void *arg)
{
	struct notify_srv *s = arg;
	struct fastipc_serve a, b;

	s->err = fipc_recv(s->async_ep->fd, &a);
	if (!s->err)
		s->err = fipc_recv(s->sync_ep->fd, &b);
	if (!s->err)
		s->err = fipc_wait_blocked_in_ioctl(s->caller);
	if (s->err)
		return NULL;
	if (s->close_ring) {
		io_uring_queue_exit(s->ring);
		s->err = wait_cancelled(s->async_ep->fd, a.token, s->evfd);
	} else {
		s->err = fipc_reply(s->async_ep->fd, a.token, 7, "async", 5);
		while (!s->err && !io_uring_cq_ready(s->ring))
			sched_yield();
	}
	if (!s->err && fipc_revents(s->returned, POLLIN))
		s->err = -EPROTO;	/* the blocking call came back early */
	if (!s->err)
		s->err = fipc_reply(s->sync_ep->fd, b.token, 9, "sync", 4);
	return NULL;
}

/*
 * The caller's side of the tests below: 0 if its blocking call got the
 * server's answer byte for byte, else -errno (the call's or the server's).
 */
static int notify_call(struct notify_srv *s, struct fipc_client *c2)
{
	struct fastipc_call out;
	pthread_t thread;
	int ret;

	s->caller = syscall(SYS_gettid);
	s->returned = eventfd(0, EFD_CLOEXEC);
	if (s->returned < 0)
		return -errno;
	errno = pthread_create(&thread, NULL, notify_srv_fn, s);
	if (errno)
		return -errno;
	ret = fipc_call(c2, 2, "b", 1, 0, &out);
	eventfd_write(s->returned, 1);
	pthread_join(thread, NULL);
	close(s->returned);
	if (ret || s->err)
		return ret ?: s->err;
	return out.status == 9 && out.reply_len == 4 && !memcmp(c2->buf, "sync", 4) ? 0 : -EPROTO;
}

/*
 * A ring's completions are posted from task work of the thread that
 * submitted: on a ring without DEFER_TASKRUN, io_uring interrupts the thread
 * for it like a signal would. A blocking call of that thread lets the task
 * work run and goes on waiting for its own reply, which it gets.
 */
TEST_F(uring, a_blocking_call_lets_its_threads_ring_completions_through_and_waits_on)
{
	struct notify_srv s = { .async_ep = &self->ep, .ring = &self->ring };
	struct fipc_client c2;
	struct fipc_ep ep2;
	struct cqe cqe;

	ASSERT_EQ(0, fipc_ep_open(&ep2, NULL, 0, SLOT, NSLOTS));
	ASSERT_EQ(0, fipc_client_open(&c2, ep2.fd, NULL, CBUF));
	s.sync_ep = &ep2;
	ASSERT_EQ(0, queue_call(&self->ring, &self->c, 1, "q", 1, 0, ROOM, 0, 42));
	ASSERT_EQ(0, submit_all(&self->ring));
	EXPECT_EQ(0, notify_call(&s, &c2));
	ASSERT_EQ(0, cqe_wait(&self->ring, &cqe));
	EXPECT_EQ(42, cqe.user_data);
	EXPECT_EQ(5, cqe.res);
	EXPECT_EQ(sext(7), cqe.big[0]);
	EXPECT_EQ(0, memcmp(self->c.buf, "async", 5));
	fipc_client_close(&c2);
	fipc_ep_close(&ep2);
}

/* The same with the caller's ring closed under it by another thread. */
TEST_F_TIMEOUT(uring, a_blocking_call_outlives_its_threads_ring_being_torn_down, 60)
{
	struct notify_srv s = { .async_ep = &self->ep, .close_ring = true };
	struct fipc_client c2;
	struct fipc_ep ep2;
	struct io_uring r;

	ASSERT_EQ(0, fipc_ep_open(&ep2, NULL, 0, SLOT, NSLOTS));
	ASSERT_EQ(0, fipc_client_open(&c2, ep2.fd, NULL, CBUF));
	ASSERT_EQ(0, ring_init(&r, 4, RING_FLAGS));
	s.evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, s.evfd);
	ASSERT_EQ(0, io_uring_register_eventfd(&r, s.evfd));
	s.sync_ep = &ep2;
	s.ring = &r;
	ASSERT_EQ(0, queue_call(&r, &self->c, 1, "q", 1, 0, ROOM, 0, 42));
	ASSERT_EQ(0, submit_all(&r));
	EXPECT_EQ(0, notify_call(&s, &c2));
	close(s.evfd);
	fipc_client_close(&c2);
	fipc_ep_close(&ep2);
}

#define BATCH_EPS	4
#define BATCH_CALLS	64
#define BATCH_SLOT	512
#define BATCH_ROOM	(BATCH_SLOT + 64)

static uint32_t batch_len(int i)
{
	return i == 1 ? BATCH_SLOT : (uint32_t)(i * 131) % (BATCH_SLOT + 1);
}

/*
 * BATCH_CALLS calls in one submission, spread over @n clients of different
 * echo servers, every third one issued from an io_uring worker (IOSQE_ASYNC),
 * each with its own reply room; checks every CQE and reply byte for byte.
 */
static void run_batch(struct __test_metadata *_metadata, struct io_uring *ring,
		      struct fipc_client *c, int n)
{
	uint8_t *req = fipc_map(BATCH_CALLS * BATCH_SLOT);
	bool seen[BATCH_CALLS] = { false };
	struct fastipc_uring_call call;
	struct fipc_client *cl;
	uint64_t room;
	struct cqe cqe;
	int i;

	ASSERT_NE(NULL, req);
	for (i = 0; i < n; i++)
		memset(c[i].buf, GUARD, c[i].buf_len);
	for (i = 0; i < BATCH_CALLS; i++) {
		cl = &c[i % n];
		room = (uint64_t)(i / n) * BATCH_ROOM;
		ASSERT_LE(room + BATCH_ROOM, cl->buf_len);
		fipc_fill(req + i * BATCH_SLOT, batch_len(i), 1000 + i);
		call = call_arg(cl->buf_id, i, req + i * BATCH_SLOT, batch_len(i), room,
				BATCH_SLOT, i);
		ASSERT_EQ(0, queue_cmd(ring, cl->fd, FASTIPC_URING_CALL, &call, sizeof(call), i,
				       i % 3 == 2 ? IOSQE_ASYNC : 0));
	}
	ASSERT_EQ(0, submit_all(ring));
	for (i = 0; i < BATCH_CALLS; i++) {
		ASSERT_EQ(0, cqe_wait(ring, &cqe));
		ASSERT_GT(BATCH_CALLS, cqe.user_data);
		ASSERT_FALSE(seen[cqe.user_data]);
		seen[cqe.user_data] = true;
		cl = &c[cqe.user_data % n];
		room = (cqe.user_data / n) * BATCH_ROOM;
		EXPECT_TRUE(echo_ok(&cqe, req + cqe.user_data * BATCH_SLOT,
				    batch_len(cqe.user_data), cqe.user_data, cl->buf + room,
				    BATCH_ROOM))
			TH_LOG("call %llu: res %d status %#llx",
			       (unsigned long long)cqe.user_data, cqe.res,
			       (unsigned long long)cqe.big[0]);
	}
	munmap(req, BATCH_CALLS * BATCH_SLOT);
}

TEST_F_TIMEOUT(uring, batch_of_calls_to_four_server_threads_gets_byte_exact_replies, 120)
{
	struct fipc_client c[BATCH_EPS];
	struct echo e[BATCH_EPS][2];
	struct fipc_ep ep[BATCH_EPS];
	int i, j, served = 0;

	for (i = 0; i < BATCH_EPS; i++) {
		ASSERT_EQ(0, fipc_ep_open(&ep[i], NULL, 0, BATCH_SLOT, BATCH_CALLS / BATCH_EPS));
		ASSERT_EQ(0, fipc_client_open(&c[i], ep[i].fd, NULL,
					      BATCH_CALLS / BATCH_EPS * BATCH_ROOM));
		for (j = 0; j < 2; j++) {
			ASSERT_EQ(0, echo_start(&e[i][j], &ep[i]));
		}
	}
	run_batch(_metadata, &self->ring, c, BATCH_EPS);
	for (i = 0; i < BATCH_EPS; i++) {
		EXPECT_EQ(0, echo_stop(&c[i], e[i], 2));
		served += e[i][0].served + e[i][1].served;
		fipc_client_close(&c[i]);
		fipc_ep_close(&ep[i]);
	}
	EXPECT_EQ(BATCH_CALLS, served);
}

TEST_F_TIMEOUT(uring, batch_of_calls_to_four_server_processes_gets_byte_exact_replies, 120)
{
	struct fipc_client c[BATCH_EPS];
	pid_t pid[BATCH_EPS];
	char name[BATCH_EPS][48];
	int ready[2], i, served;
	struct fipc_ep ep;
	char byte;

	ASSERT_EQ(0, pipe2(ready, O_CLOEXEC));
	for (i = 0; i < BATCH_EPS; i++) {
		snprintf(name[i], sizeof(name[i]), "fipc-uring-%d-batch-%d", getpid(), i);
		pid[i] = fipc_fork();
		ASSERT_LE(0, pid[i]);
		if (pid[i] == 0) {
			served = 0;
			CHILD_CHECK(fipc_ep_open(&ep, name[i], 0600, BATCH_SLOT,
						 BATCH_CALLS / BATCH_EPS) == 0);
			CHILD_CHECK(write(ready[1], "r", 1) == 1);
			CHILD_CHECK(echo_serve(&ep, &served) == 0);
			CHILD_CHECK(served == BATCH_CALLS / BATCH_EPS);
			_exit(0);
		}
	}
	for (i = 0; i < BATCH_EPS; i++) {
		ASSERT_EQ(1, read(ready[0], &byte, 1));
	}
	for (i = 0; i < BATCH_EPS; i++) {
		ASSERT_EQ(0, fipc_client_open(&c[i], -1, name[i],
					      BATCH_CALLS / BATCH_EPS * BATCH_ROOM));
	}
	run_batch(_metadata, &self->ring, c, BATCH_EPS);
	for (i = 0; i < BATCH_EPS; i++) {
		EXPECT_EQ(0, fipc_call(&c[i], OP_QUIT, NULL, 0, 0, NULL));
		EXPECT_EQ(0, fipc_reap(pid[i]));
		fipc_client_close(&c[i]);
	}
	close(ready[0]);
	close(ready[1]);
}

TEST_F(uring, calls_beyond_the_free_slots_wait_and_complete_as_slots_free)
{
	enum { CALLS = 8, SLOTS = 2, LEN = 32 };
	uint8_t req[CALLS][LEN], out[LEN];
	struct fastipc_serve held[SLOTS], msg;
	bool seen[CALLS] = { false };
	struct fipc_client c;
	struct fipc_ep ep;
	struct cqe cqe;
	int i, served;

	ASSERT_EQ(0, fipc_ep_open(&ep, NULL, 0, LEN, SLOTS));
	ASSERT_EQ(0, fipc_client_open(&c, ep.fd, NULL, CALLS * ROOM));
	memset(c.buf, GUARD, CALLS * ROOM);
	for (i = 0; i < CALLS; i++) {
		fipc_fill(req[i], LEN, 500 + i);
		ASSERT_EQ(0, queue_call(&self->ring, &c, i, req[i], LEN, i * ROOM, ROOM, 0, i));
	}
	ASSERT_EQ(0, submit_all(&self->ring));

	/* Two calls took the two slots; the other six wait, undelivered. */
	for (i = 0; i < SLOTS; i++) {
		ASSERT_EQ(0, fipc_recv(ep.fd, &held[i]));
	}
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(ep.fd, NULL));
	EXPECT_TRUE(ring_quiet(&self->ring));

	/* Each reply frees a slot for one of them. */
	for (served = 0; served < CALLS; served++) {
		msg = held[served % SLOTS];
		ASSERT_GT(CALLS, msg.opcode);
		ASSERT_EQ(LEN, msg.len);
		/* Copied from the caller's memory by the worker, byte for byte. */
		EXPECT_TRUE(fipc_check(ep.pool + msg.offset, LEN, 500 + msg.opcode))
			TH_LOG("call %u", msg.opcode);
		xor_copy(out, ep.pool + msg.offset, LEN);
		ASSERT_EQ(0, fipc_reply(ep.fd, msg.token, status_of(msg.opcode), out, LEN));
		if (served + SLOTS < CALLS) {
			ASSERT_EQ(0, fipc_recv(ep.fd, &held[served % SLOTS]));
		}
	}
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(ep.fd, NULL));
	for (i = 0; i < CALLS; i++) {
		ASSERT_EQ(0, cqe_wait(&self->ring, &cqe));
		ASSERT_GT(CALLS, cqe.user_data);
		ASSERT_FALSE(seen[cqe.user_data]);
		seen[cqe.user_data] = true;
		EXPECT_TRUE(echo_ok(&cqe, req[cqe.user_data], LEN, cqe.user_data,
				    c.buf + cqe.user_data * ROOM, ROOM))
			TH_LOG("call %llu: res %d status %#llx", (unsigned long long)cqe.user_data,
			       cqe.res, (unsigned long long)cqe.big[0]);
	}
	fipc_client_close(&c);
	fipc_ep_close(&ep);
}

/*
 * Serves @n calls of @ep one at a time, each answered with its request XOR
 * XOR_BYTE and status_of(opcode); @ops gets their opcodes in arrival order.
 */
static int serve_some(struct fipc_ep *ep, uint32_t *ops, int n)
{
	struct fastipc_serve msg;
	uint8_t out[SLOT];
	int i, ret;

	for (i = 0; i < n; i++) {
		ret = fipc_recv(ep->fd, &msg);
		if (ret)
			return ret;
		if (msg.len > sizeof(out))
			return -EPROTO;
		ops[i] = msg.opcode;
		xor_copy(out, ep->pool + msg.offset, msg.len);
		ret = fipc_reply(ep->fd, msg.token, status_of(msg.opcode), out, msg.len);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * "The SQE may be reused as soon as io_uring_submit() returns", even by calls
 * that find no free slot and wait: the test reuses the SQEs of waiting calls
 * at once, and each call must still be sent with its own request and reply
 * room. Should the wait ever be in an io_uring worker again (which on 6.12
 * re-reads the SQE from the ring when it issues the command), limiting the
 * task's workers to one keeps all but one of the calls from being issued
 * before their SQEs are reused.
 */
TEST_F(uring, a_call_that_waits_for_a_slot_runs_with_the_sqe_it_was_submitted_with)
{
	enum { CALLS = 5 };	/* call 0 holds the only slot; 1..4 wait for it */
	unsigned int workers[2] = { 1, 1 };
	uint32_t ops[CALLS - 1];
	uint8_t req[CALLS][8];
	bool seen[CALLS] = { false };
	struct fastipc_serve held;
	struct fipc_client c;
	struct fipc_ep ep;
	struct io_uring r;
	struct cqe cqe[CALLS];
	uint8_t out[8];
	int i;

	ASSERT_EQ(0, fipc_ep_open(&ep, NULL, 0, 8, 1));
	ASSERT_EQ(0, fipc_client_open(&c, ep.fd, NULL, CALLS * ROOM));
	memset(c.buf, GUARD, CALLS * ROOM);
	for (i = 0; i < CALLS; i++)
		fipc_fill(req[i], sizeof(req[i]), 600 + i);
	/* Two SQEs: each is reused by the next submission but one. */
	ASSERT_EQ(0, ring_init_cq(&r, 2, 16));
	ASSERT_EQ(0, io_uring_register_iowq_max_workers(&r, workers));
	ASSERT_EQ(0, queue_call(&r, &c, 0, req[0], 8, 0, ROOM, 0, 0));
	ASSERT_EQ(0, submit_all(&r));
	ASSERT_EQ(0, fipc_recv(ep.fd, &held));
	ASSERT_EQ(0, held.opcode);
	for (i = 1; i < CALLS; i += 2) {
		ASSERT_EQ(0, queue_call(&r, &c, i, req[i], 8, i * ROOM, ROOM, 0, i));
		ASSERT_EQ(0, queue_call(&r, &c, i + 1, req[i + 1], 8, (i + 1) * ROOM, ROOM, 0,
					i + 1));
		ASSERT_EQ(0, submit_all(&r));
	}
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(ep.fd, NULL));

	xor_copy(out, ep.pool + held.offset, 8);
	ASSERT_EQ(0, fipc_reply(ep.fd, held.token, status_of(0), out, 8));
	ASSERT_EQ(0, serve_some(&ep, ops, CALLS - 1));
	for (i = 0; i < CALLS - 1; i++) {
		ASSERT_LT(0, ops[i]);
		ASSERT_GT(CALLS, ops[i]);
		EXPECT_FALSE(seen[ops[i]]) TH_LOG("call %u arrived twice", ops[i]);
		seen[ops[i]] = true;
	}
	ASSERT_EQ(0, collect(&r, cqe, CALLS));
	for (i = 0; i < CALLS; i++) {
		EXPECT_TRUE(echo_ok(&cqe[i], req[i], 8, i, c.buf + i * ROOM, ROOM))
			TH_LOG("call %d: res %d status %#llx", i, cqe[i].res,
			       (unsigned long long)cqe[i].big[0]);
	}
	io_uring_queue_exit(&r);
	fipc_client_close(&c);
	fipc_ep_close(&ep);
}

TEST_F_TIMEOUT(uring, a_batch_far_beyond_the_slots_completes_against_an_echo_server, 120)
{
	enum { CALLS = 64, SLOTS = 2, LEN = 128, BROOM = LEN + 32 };
	uint8_t *req = fipc_map(CALLS * LEN);
	bool seen[CALLS] = { false };
	struct fipc_client c;
	struct fipc_ep ep;
	struct io_uring r;
	struct echo e;
	struct cqe cqe;
	int i;

	ASSERT_NE(NULL, req);
	ASSERT_EQ(0, fipc_ep_open(&ep, NULL, 0, LEN, SLOTS));
	ASSERT_EQ(0, fipc_client_open(&c, ep.fd, NULL, CALLS * BROOM));
	memset(c.buf, GUARD, CALLS * BROOM);
	ASSERT_EQ(0, echo_start(&e, &ep));
	ASSERT_EQ(0, ring_init_cq(&r, CALLS, 2 * CALLS));
	for (i = 0; i < CALLS; i++) {
		fipc_fill(req + i * LEN, i * 7 % (LEN + 1), 700 + i);
		ASSERT_EQ(0, queue_call(&r, &c, i, req + i * LEN, i * 7 % (LEN + 1), i * BROOM,
					LEN, 0, i));
	}
	ASSERT_EQ(0, submit_all(&r));
	for (i = 0; i < CALLS; i++) {
		ASSERT_EQ(0, cqe_wait(&r, &cqe));
		ASSERT_GT(CALLS, cqe.user_data);
		ASSERT_FALSE(seen[cqe.user_data]);
		seen[cqe.user_data] = true;
		EXPECT_TRUE(echo_ok(&cqe, req + cqe.user_data * LEN, cqe.user_data * 7 % (LEN + 1),
				    cqe.user_data, c.buf + cqe.user_data * BROOM, BROOM))
			TH_LOG("call %llu: res %d", (unsigned long long)cqe.user_data, cqe.res);
	}
	EXPECT_EQ(0, echo_stop(&c, &e, 1));
	EXPECT_EQ(CALLS, e.served);
	io_uring_queue_exit(&r);
	fipc_client_close(&c);
	fipc_ep_close(&ep);
	munmap(req, CALLS * LEN);
}

TEST_F(uring, commands_on_registered_files_work_like_any_other)
{
	int files[2] = { self->c.fd, self->ep.fd };
	struct fastipc_uring_call call = call_arg(self->c.buf_id, 3, "fixed", 5, 0, ROOM, 0);
	struct fastipc_uring_recv recv = recv_arg(self->msgs_id, 0, 0);
	struct fastipc_msg_info *rec = (struct fastipc_msg_info *)self->msgs;
	struct fastipc_uring_reply reply;
	struct cqe cqe[2];
	int i;

	ASSERT_EQ(0, io_uring_register_files(&self->ring, files, 2));
	ASSERT_EQ(0, queue_cmd(&self->ring, 0, FASTIPC_URING_CALL, &call, sizeof(call), 1,
			       IOSQE_FIXED_FILE));
	ASSERT_EQ(0, queue_cmd(&self->ring, 1, FASTIPC_URING_RECV, &recv, sizeof(recv), 2,
			       IOSQE_FIXED_FILE));
	ASSERT_EQ(0, submit_all(&self->ring));
	ASSERT_EQ(0, cqe_wait(&self->ring, &cqe[0]));
	EXPECT_EQ(2, cqe[0].user_data);
	EXPECT_EQ(5, cqe[0].res);
	EXPECT_EQ(3, rec->opcode);
	EXPECT_EQ(0, memcmp(self->ep.pool + rec->offset, "fixed", 5));
	reply = reply_arg(cqe[0].big[0], -3, "done", 4);
	ASSERT_EQ(0, queue_cmd(&self->ring, 1, FASTIPC_URING_REPLY, &reply, sizeof(reply), 3,
			       IOSQE_FIXED_FILE));
	ASSERT_EQ(0, submit_all(&self->ring));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, cqe_wait(&self->ring, &cqe[i]));
	}
	if (cqe[0].user_data != 1)
		cqe[1] = cqe[0];
	for (i = 0; i < 2; i++) {
		if (cqe[i].user_data == 1) {
			EXPECT_EQ(4, cqe[i].res);
			EXPECT_EQ(sext(-3), cqe[i].big[0]);
		} else {
			EXPECT_EQ(3, cqe[i].user_data);
			EXPECT_EQ(0, cqe[i].res);
		}
	}
	EXPECT_EQ(0, memcmp(self->c.buf, "done", 4));
}

TEST_F(uring, unregistering_the_reply_buffer_with_calls_in_flight_still_delivers)
{
	struct fastipc_serve msg[2];
	struct cqe cqe;
	int i;

	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, queue_call(&self->ring, &self->c, i, NULL, 0, i * ROOM, ROOM, 0, i));
	}
	ASSERT_EQ(0, submit_all(&self->ring));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg[i]));
	}
	ASSERT_EQ(0, fipc_buf_unregister(self->c.fd, self->c.buf_id));
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg[0].token, 0, "first", 5));
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg[1].token, 0, "second", 6));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, cqe_wait(&self->ring, &cqe));
		EXPECT_EQ(cqe.user_data ? 6 : 5, cqe.res);
	}
	EXPECT_EQ(0, memcmp(self->c.buf, "first", 5));
	EXPECT_EQ(0, memcmp(self->c.buf + ROOM, "second", 6));
	ASSERT_EQ(0, queue_call(&self->ring, &self->c, 3, NULL, 0, 0, ROOM, 0, 3));
	ASSERT_EQ(0, submit_all(&self->ring));
	ASSERT_EQ(0, cqe_wait(&self->ring, &cqe));
	EXPECT_EQ(-ENOENT, cqe.res);
}

/* --- One-way messages ----------------------------------------------------- */

TEST_F(uring, sends_arrive_in_order_and_fail_with_eagain_beyond_the_quota)
{
	enum { QUOTA = NSLOTS / 2 };
	uint8_t data[QUOTA + 1][SLOT];
	struct cqe cqe[QUOTA + 1];
	struct fastipc_serve msg;
	int i;

	for (i = 0; i <= QUOTA; i++) {
		fipc_fill(data[i], SLOT - i, 40 + i);
		ASSERT_EQ(0, queue_send(&self->ring, self->c.fd, 0, 40 + i, data[i], SLOT - i, i));
	}
	ASSERT_EQ(0, submit_all(&self->ring));
	/* Issued in order; their CQEs may come in any order. */
	ASSERT_EQ(0, collect(&self->ring, cqe, QUOTA + 1));
	for (i = 0; i <= QUOTA; i++) {
		EXPECT_EQ(i < QUOTA ? 0 : -EAGAIN, cqe[i].res) TH_LOG("send %d", i);
		EXPECT_EQ(0, cqe[i].big[1]);
	}
	for (i = 0; i < QUOTA; i++) {
		ASSERT_EQ(0, fipc_recv_nonblock(self->ep.fd, &msg));
		EXPECT_EQ(FASTIPC_MSG_ONEWAY, msg.msg_flags);
		EXPECT_EQ(40 + i, msg.opcode);
		ASSERT_EQ(SLOT - i, msg.len);
		EXPECT_TRUE(fipc_check(self->ep.pool + msg.offset, msg.len, 40 + i));
		EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));
	}
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, NULL));
	/* The quota is back. */
	EXPECT_EQ(0, run_cmd(&self->ring, self->c.fd, FASTIPC_URING_SEND,
			     &(struct fastipc_send){ .opcode = 1 }, sizeof(struct fastipc_send),
			     NULL));
}

/* --- Cancellation --------------------------------------------------------- */

TEST_F(uring, cancel_by_tag_cancels_that_tags_calls_and_their_late_replies_get_ecanceled)
{
	/* user_data: 0..2 the calls (tags 1, 2, 2), 3 the cancel. */
	struct fastipc_uring_cancel cancel = cancel_arg(0, 2);
	static const uint8_t big[ROOM + 1];
	struct fastipc_serve msg[3];
	struct cqe cqe[4];
	int i;

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, queue_call(&self->ring, &self->c, i, NULL, 0, i * ROOM, ROOM,
					i ? 2 : 1, i));
	}
	ASSERT_EQ(0, submit_all(&self->ring));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg[i]));
		ASSERT_EQ(i, msg[i].opcode);
	}
	ASSERT_EQ(0, queue_cmd(&self->ring, self->c.fd, FASTIPC_URING_CANCEL, &cancel,
			       sizeof(cancel), 3, 0));
	ASSERT_EQ(0, submit_all(&self->ring));
	ASSERT_EQ(0, cqe_wait(&self->ring, &cqe[0]));
	ASSERT_EQ(0, cqe_wait(&self->ring, &cqe[1]));
	ASSERT_EQ(0, cqe_wait(&self->ring, &cqe[2]));
	for (i = 0; i < 3; i++) {
		ASSERT_LE(1, cqe[i].user_data);
		if (cqe[i].user_data == 3) {
			EXPECT_EQ(2, cqe[i].res);
		} else {
			EXPECT_EQ(-ECANCELED, cqe[i].res) TH_LOG("call %llu",
				  (unsigned long long)cqe[i].user_data);
		}
	}
	/* The calls cancelled: even an oversized reply gets ECANCELED, once. */
	EXPECT_EQ(-ECANCELED, fipc_reply(self->ep.fd, msg[1].token, 0, big, sizeof(big)));
	EXPECT_EQ(-ENOENT, fipc_reply(self->ep.fd, msg[1].token, 0, NULL, 0));
	EXPECT_EQ(-ECANCELED, fipc_reply(self->ep.fd, msg[2].token, 0, "x", 1));
	EXPECT_EQ(-ENOENT, run_cancel(&self->ring, self->c.fd, 0, 2));

	/* The other tag's call is untouched. */
	EXPECT_TRUE(ring_quiet(&self->ring));
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg[0].token, 11, "kept", 4));
	ASSERT_EQ(0, cqe_wait(&self->ring, &cqe[0]));
	EXPECT_EQ(0, cqe[0].user_data);
	EXPECT_EQ(4, cqe[0].res);
	EXPECT_EQ(sext(11), cqe[0].big[0]);
	EXPECT_EQ(0, memcmp(self->c.buf, "kept", 4));
	EXPECT_EQ(-ENOENT, run_cancel(&self->ring, self->c.fd, 0, 1));

	/* The cancelled calls' slots came back: NSLOTS calls arrive at once. */
	for (i = 0; i < NSLOTS; i++) {
		ASSERT_EQ(0, queue_call(&self->ring, &self->c, 10 + i, NULL, 0, i * ROOM, ROOM, 0,
					i));
	}
	ASSERT_EQ(0, submit_all(&self->ring));
	for (i = 0; i < NSLOTS; i++) {
		ASSERT_EQ(0, fipc_recv_nonblock(self->ep.fd, &msg[0])) TH_LOG("call %d", i);
		EXPECT_EQ(0, fipc_reply(self->ep.fd, msg[0].token, 0, NULL, 0));
	}
	ASSERT_EQ(0, collect(&self->ring, cqe, NSLOTS));
}

TEST_F(uring, cancel_reaches_a_call_still_waiting_for_a_slot)
{
	struct fastipc_uring_cancel cancel = cancel_arg(0, 5);
	struct fastipc_serve held, msg;
	struct fipc_client c;
	struct fipc_ep ep;
	bool got_cancel = false;
	struct cqe cqe[3];
	int i, cancelled = 0;

	ASSERT_EQ(0, fipc_ep_open(&ep, NULL, 0, 64, 1));
	ASSERT_EQ(0, fipc_client_open(&c, ep.fd, NULL, 2 * ROOM));
	/* The only slot is held; the second call waits for it in a worker. */
	ASSERT_EQ(0, queue_call(&self->ring, &c, 0, "a", 1, 0, ROOM, 1, 0));
	ASSERT_EQ(0, submit_all(&self->ring));
	ASSERT_EQ(0, fipc_recv(ep.fd, &held));
	ASSERT_EQ(0, queue_call(&self->ring, &c, 1, "b", 1, ROOM, ROOM, 5, 1));
	ASSERT_EQ(0, submit_all(&self->ring));
	ASSERT_EQ(0, queue_cmd(&self->ring, c.fd, FASTIPC_URING_CANCEL, &cancel, sizeof(cancel),
			       2, 0));
	ASSERT_EQ(0, submit_all(&self->ring));
	/* The cancel's CQE, and the waiting call's before or after it. */
	for (i = 0; !got_cancel; i++) {
		ASSERT_EQ(0, cqe_wait(&self->ring, &cqe[i]));
		if (cqe[i].user_data == 2) {
			got_cancel = true;
			cancelled = cqe[i].res;
		}
	}
	EXPECT_EQ(1, cancelled);
	EXPECT_EQ(0, fipc_reply(ep.fd, held.token, 0, "A", 1));
	if (cancelled != 1) {
		/* It was not cancelled: serve it, so that the test ends. */
		ASSERT_EQ(0, fipc_recv(ep.fd, &msg));
		EXPECT_EQ(0, fipc_reply(ep.fd, msg.token, 0, "B", 1));
	}
	for (; i < 3; i++) {
		ASSERT_EQ(0, cqe_wait(&self->ring, &cqe[i]));
	}
	for (i = 0; i < 3; i++) {
		if (cqe[i].user_data == 0) {
			EXPECT_EQ(1, cqe[i].res);
		} else if (cqe[i].user_data == 1) {
			EXPECT_EQ(-ECANCELED, cqe[i].res);
		}
	}
	/* It never reached the endpoint. */
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(ep.fd, NULL));
	fipc_client_close(&c);
	fipc_ep_close(&ep);
}

/*
 * Occupies the task's only io_uring worker (after
 * io_uring_register_iowq_max_workers() with one) with an openat() of an
 * empty FIFO, which blocks until a writer comes: opening @fifo for writing
 * ends it. The openat's CQE has @user_data.
 */
static int occupy_the_worker(struct io_uring *ring, const char *fifo, uint64_t user_data)
{
	struct io_uring_sqe *sqe = sqe_get(ring);

	if (!sqe)
		return -EBUSY;
	memset(sqe, 0, 128);
	io_uring_prep_openat(sqe, AT_FDCWD, fifo, O_RDONLY | O_CLOEXEC, 0);
	/* Issued inline, io_uring would try O_NONBLOCK first, which does not wait. */
	sqe->flags = IOSQE_ASYNC;
	sqe->user_data = user_data;
	return submit_all(ring);
}

/*
 * A command submitted with IOSQE_ASYNC is in flight from its submission,
 * even while it waits for an io_uring worker to issue it. With the workers
 * limited to one and that one blocked in an openat() of an empty FIFO, a
 * call and a receive submitted so are not issued before the cancels.
 */
/*
 * Commands io_uring has not issued to the module yet (queued for a worker
 * with IOSQE_ASYNC) are io_uring's: FASTIPC_URING_CANCEL does not see them.
 */
TEST_F(uring, cancel_does_not_reach_commands_io_uring_has_not_issued)
{
	/* user_data: 0 the call, 1 the receive, 2 and 3 the cancels, 4 the openat. */
	struct fastipc_uring_cancel cancel = cancel_arg(0, 7);
	struct fastipc_uring_recv recv = recv_arg(self->msgs_id, 0, 7);
	struct fastipc_uring_call call = call_arg(self->c.buf_id, 1, "q", 1, 0, ROOM, 7);
	unsigned int workers[2] = { 1, 1 };
	int port_cancel = 0, ep_cancel = 0, want = 0, got = 0, fd;
	bool have_port = false, have_ep = false, opened = false;
	char fifo[64];
	struct cqe cqe;

	snprintf(fifo, sizeof(fifo), "/tmp/fipc-uring-%d.fifo", getpid());
	unlink(fifo);
	ASSERT_EQ(0, mkfifo(fifo, 0600));
	ASSERT_EQ(0, io_uring_register_iowq_max_workers(&self->ring, workers));
	ASSERT_EQ(0, occupy_the_worker(&self->ring, fifo, 4));
	ASSERT_EQ(0, queue_cmd(&self->ring, self->c.fd, FASTIPC_URING_CALL, &call, sizeof(call),
			       0, IOSQE_ASYNC));
	ASSERT_EQ(0, queue_cmd(&self->ring, self->ep.fd, FASTIPC_URING_RECV, &recv, sizeof(recv),
			       1, IOSQE_ASYNC));
	ASSERT_EQ(0, queue_cmd(&self->ring, self->c.fd, FASTIPC_URING_CANCEL, &cancel,
			       sizeof(cancel), 2, 0));
	ASSERT_EQ(0, queue_cmd(&self->ring, self->ep.fd, FASTIPC_URING_CANCEL, &cancel,
			       sizeof(cancel), 3, 0));
	ASSERT_EQ(0, submit_all(&self->ring));
	/* The cancels' CQEs, and those of what they cancelled. */
	while (!have_port || !have_ep || got < want) {
		ASSERT_EQ(0, cqe_wait(&self->ring, &cqe));
		if (cqe.user_data == 2) {
			have_port = true;
			port_cancel = cqe.res;
			want += port_cancel > 0 ? port_cancel : 0;
		} else if (cqe.user_data == 3) {
			have_ep = true;
			ep_cancel = cqe.res;
			want += ep_cancel > 0 ? ep_cancel : 0;
		} else {
			ASSERT_GT(2, cqe.user_data);
			EXPECT_EQ(-ECANCELED, cqe.res) TH_LOG("command %llu",
							     (unsigned long long)cqe.user_data);
			got++;
		}
	}
	EXPECT_EQ(-ENOENT, port_cancel);
	EXPECT_EQ(-ENOENT, ep_cancel);

	/* Free the worker: nothing cancelled may run now. */
	fd = open(fifo, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	while (!opened) {
		ASSERT_EQ(0, cqe_wait(&self->ring, &cqe));
		if (cqe.user_data == 4) {
			opened = true;
			EXPECT_LE(0, cqe.res);
			if (cqe.res >= 0)
				close(cqe.res);
		}
	}
	close(fd);
	unlink(fifo);
	/* Issued now, they wait; the teardown closes the ring and cancels them. */
}

TEST_F(uring, cancel_all_cancels_every_call_of_the_port_and_no_other)
{
	/* user_data: 0..2 the port's calls, 3 the cancel, 4 another port's call. */
	struct fastipc_uring_cancel cancel = cancel_arg(FASTIPC_CANCEL_ALL, 0);
	static const uint8_t big[ROOM + 1];
	struct fastipc_serve msg[2], m;
	struct fipc_client other;
	struct cqe cqe[5];
	int i, ret;

	ASSERT_EQ(0, fipc_client_open(&other, self->ep.fd, NULL, ROOM));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, queue_call(&self->ring, &self->c, i, NULL, 0, i * ROOM, ROOM, i, i));
	}
	ASSERT_EQ(0, queue_call(&self->ring, &other, 3, NULL, 0, 0, ROOM, 0, 4));
	ASSERT_EQ(0, submit_all(&self->ring));
	/* Calls 0 and 1 held, 2 and 3 queued. */
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg[i]));
		ASSERT_EQ(i, msg[i].opcode);
	}
	/* Cancelling on the endpoint's port reaches none of the callers'. */
	EXPECT_EQ(-ENOENT, run_cancel(&self->ring, self->ep.fd, FASTIPC_CANCEL_ALL, 0));
	ASSERT_EQ(0, queue_cmd(&self->ring, self->c.fd, FASTIPC_URING_CANCEL, &cancel,
			       sizeof(cancel), 3, 0));
	ASSERT_EQ(0, submit_all(&self->ring));
	ASSERT_EQ(0, collect(&self->ring, cqe, 4));
	EXPECT_EQ(3, cqe[3].res);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(-ECANCELED, cqe[i].res) TH_LOG("call %d", i);
	}
	EXPECT_EQ(-ECANCELED, fipc_reply(self->ep.fd, msg[0].token, 0, big, sizeof(big)));
	EXPECT_EQ(-ECANCELED, fipc_reply(self->ep.fd, msg[1].token, 0, "x", 1));
	EXPECT_EQ(-ENOENT, run_cancel(&self->ring, self->c.fd, FASTIPC_CANCEL_ALL, 0));

	/*
	 * The queued call 2 was either withdrawn or, if the server still gets
	 * it, its reply is ECANCELED; the other port's call 3 is served.
	 */
	while ((ret = fipc_recv_nonblock(self->ep.fd, &m)) == 0) {
		if (m.opcode == 2) {
			EXPECT_EQ(-ECANCELED, fipc_reply(self->ep.fd, m.token, 0, NULL, 0));
			continue;
		}
		EXPECT_EQ(3, m.opcode);
		EXPECT_EQ(0, fipc_reply(self->ep.fd, m.token, 33, "other", 5));
	}
	EXPECT_EQ(-EAGAIN, ret);
	ASSERT_EQ(0, cqe_wait(&self->ring, &cqe[4]));
	EXPECT_EQ(4, cqe[4].user_data);
	EXPECT_EQ(5, cqe[4].res);
	EXPECT_EQ(sext(33), cqe[4].big[0]);

	/* Every slot is free again. */
	for (i = 0; i < NSLOTS; i++) {
		ASSERT_EQ(0, queue_call(&self->ring, &self->c, 10 + i, NULL, 0, i * ROOM, ROOM, 0,
					i));
	}
	ASSERT_EQ(0, submit_all(&self->ring));
	for (i = 0; i < NSLOTS; i++) {
		ASSERT_EQ(0, fipc_recv_nonblock(self->ep.fd, &m)) TH_LOG("call %d", i);
		EXPECT_EQ(0, fipc_reply(self->ep.fd, m.token, 0, NULL, 0));
	}
	ASSERT_EQ(0, collect(&self->ring, cqe, NSLOTS));
	fipc_client_close(&other);
}

TEST_F(uring, cancel_after_the_reply_finds_nothing_and_the_reply_stands)
{
	struct fastipc_serve msg;
	struct cqe cqe[2];

	/* user_data: 0 the call, 1 the cancel. */
	struct fastipc_uring_cancel cancel = cancel_arg(0, 9);

	ASSERT_EQ(0, queue_call(&self->ring, &self->c, 1, NULL, 0, 0, ROOM, 9, 0));
	ASSERT_EQ(0, submit_all(&self->ring));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	ASSERT_EQ(0, fipc_reply(self->ep.fd, msg.token, 4, "done", 4));
	/* The reply is on its way (its CQE may not be posted yet): too late. */
	ASSERT_EQ(0, queue_cmd(&self->ring, self->c.fd, FASTIPC_URING_CANCEL, &cancel,
			       sizeof(cancel), 1, 0));
	ASSERT_EQ(0, submit_all(&self->ring));
	ASSERT_EQ(0, collect(&self->ring, cqe, 2));
	EXPECT_EQ(-ENOENT, cqe[1].res);
	EXPECT_EQ(4, cqe[0].res);
	EXPECT_EQ(sext(4), cqe[0].big[0]);
	EXPECT_EQ(0, memcmp(self->c.buf, "done", 4));
}

TEST_F(uring, io_uring_async_cancel_leaves_a_call_waiting_for_its_reply_alone)
{
	struct fastipc_serve msg;
	struct io_uring_sqe *sqe;
	struct cqe cqe;

	ASSERT_EQ(0, queue_call(&self->ring, &self->c, 1, NULL, 0, 0, ROOM, 0, 1));
	ASSERT_EQ(0, submit_all(&self->ring));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	sqe = sqe_get(&self->ring);
	ASSERT_NE(NULL, sqe);
	memset(sqe, 0, 128);
	io_uring_prep_cancel64(sqe, 1, 0);
	sqe->user_data = 2;
	ASSERT_EQ(0, submit_all(&self->ring));
	ASSERT_EQ(0, cqe_wait(&self->ring, &cqe));
	ASSERT_EQ(2, cqe.user_data);
	EXPECT_TRUE(cqe.res == -ENOENT || cqe.res == -EALREADY) TH_LOG("res %d", cqe.res);
	EXPECT_TRUE(ring_quiet(&self->ring));
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, "still", 5));
	ASSERT_EQ(0, cqe_wait(&self->ring, &cqe));
	EXPECT_EQ(1, cqe.user_data);
	EXPECT_EQ(5, cqe.res);
}

TEST_F_TIMEOUT(uring, closing_the_ring_cancels_its_calls_and_the_late_replies_get_ecanceled, 60)
{
	/* Three calls held, one queued, one waiting for a slot. */
	enum { HELD = NSLOTS - 1, CALLS = NSLOTS + 1 };
	int evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct fastipc_serve msg[HELD];
	struct io_uring r;
	int i;

	ASSERT_LE(0, evfd);
	ASSERT_EQ(0, ring_init(&r, 8, RING_FLAGS));
	ASSERT_EQ(0, io_uring_register_eventfd(&r, evfd));
	for (i = 0; i < CALLS; i++) {
		ASSERT_EQ(0, queue_call(&r, &self->c, i, "gone", 4, i * ROOM, ROOM, 0, i));
	}
	ASSERT_EQ(0, submit_all(&r));
	for (i = 0; i < HELD; i++) {
		ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg[i]));
		ASSERT_EQ(i, msg[i].opcode);
	}
	/* Nothing has completed yet. */
	EXPECT_EQ(0, fipc_revents(evfd, POLLIN));

	io_uring_queue_exit(&r);
	for (i = 0; i < HELD; i++) {
		EXPECT_EQ(0, wait_cancelled(self->ep.fd, msg[i].token, evfd)) TH_LOG("call %d", i);
	}
	/* The queued and the waiting call are gone too, and their slots free. */
	EXPECT_EQ(0, all_slots_come_back(&self->ep, evfd));
	close(evfd);
}

/*
 * Closing the ring cancels a call that waits for a slot as well: freeing the
 * slot afterwards must not send it. The held call's cancellation frees the
 * only slot; the next message the server gets is a synchronous caller's.
 */
TEST_F_TIMEOUT(uring, a_call_waiting_for_a_slot_is_not_sent_once_its_ring_is_closed, 60)
{
	int evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct fastipc_serve held, msg;
	struct fipc_client c;
	struct fipc_async a;
	struct fipc_ep ep;
	struct io_uring r;

	ASSERT_LE(0, evfd);
	ASSERT_EQ(0, fipc_ep_open(&ep, NULL, 0, 64, 1));
	ASSERT_EQ(0, fipc_client_open(&c, ep.fd, NULL, 2 * ROOM));
	ASSERT_EQ(0, ring_init(&r, 4, RING_FLAGS));
	ASSERT_EQ(0, io_uring_register_eventfd(&r, evfd));
	ASSERT_EQ(0, queue_call(&r, &c, 0, "held", 4, 0, ROOM, 0, 0));
	ASSERT_EQ(0, submit_all(&r));
	ASSERT_EQ(0, fipc_recv(ep.fd, &held));
	ASSERT_EQ(0, queue_call(&r, &c, 1, "waits", 5, ROOM, ROOM, 0, 1));
	ASSERT_EQ(0, submit_all(&r));
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(ep.fd, NULL));

	io_uring_queue_exit(&r);
	ASSERT_EQ(0, wait_cancelled(ep.fd, held.token, evfd));
	ASSERT_EQ(0, fipc_async_call(&a, &c, OP_SYNC, "sync", 4, 0));
	ASSERT_EQ(0, fipc_recv(ep.fd, &msg));
	EXPECT_EQ(OP_SYNC, msg.opcode) TH_LOG("call %u of the closed ring was sent", msg.opcode);
	EXPECT_EQ(0, fipc_reply(ep.fd, msg.token, 0, NULL, 0));
	if (msg.opcode != OP_SYNC) {
		ASSERT_EQ(0, fipc_recv(ep.fd, &msg));
		EXPECT_EQ(0, fipc_reply(ep.fd, msg.token, 0, NULL, 0));
	}
	EXPECT_EQ(0, fipc_async_join(&a));
	fipc_client_close(&c);
	fipc_ep_close(&ep);
	close(evfd);
}

TEST_F_TIMEOUT(uring, killed_client_process_calls_are_cancelled_and_late_replies_ecanceled, 60)
{
	/* Six calls: two held, two queued, two waiting for a slot. */
	enum { CALLS = NSLOTS + 2, HELD = 2 };
	int evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct fastipc_serve msg[HELD];
	int sync_pipe[2], i;
	struct fipc_client c;
	struct io_uring r;
	char byte;
	pid_t pid;

	ASSERT_LE(0, evfd);
	ASSERT_EQ(0, pipe2(sync_pipe, O_CLOEXEC));
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		CHILD_CHECK(fipc_client_open(&c, self->ep.fd, NULL, CALLS * ROOM) == 0);
		CHILD_CHECK(ring_init(&r, 8, RING_FLAGS) == 0);
		/* The parent waits on this eventfd for the cancellations. */
		CHILD_CHECK(io_uring_register_eventfd(&r, evfd) == 0);
		for (i = 0; i < CALLS; i++)
			CHILD_CHECK(queue_call(&r, &c, i, "kill", 4, i * ROOM, ROOM, 0, i) == 0);
		CHILD_CHECK(submit_all(&r) == 0);
		CHILD_CHECK(write(sync_pipe[1], "s", 1) == 1);
		for (;;)
			pause();
	}
	ASSERT_EQ(1, read(sync_pipe[0], &byte, 1));
	for (i = 0; i < HELD; i++) {
		ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg[i]));
		EXPECT_EQ(pid, (pid_t)msg[i].pid);
	}
	ASSERT_EQ(0, kill(pid, SIGKILL));
	EXPECT_EQ(128 + SIGKILL, fipc_reap(pid));
	for (i = 0; i < HELD; i++) {
		EXPECT_EQ(0, wait_cancelled(self->ep.fd, msg[i].token, evfd)) TH_LOG("call %d", i);
	}
	EXPECT_EQ(0, all_slots_come_back(&self->ep, evfd));
	close(evfd);
	close(sync_pipe[0]);
	close(sync_pipe[1]);
}

/* --- Servers dying -------------------------------------------------------- */

TEST_F_TIMEOUT(uring, server_death_mid_batch_gives_epipe_to_every_unanswered_call, 60)
{
	enum { CALLS = 32, SERVED = 5, HELD = 3, DSLOTS = 8 };
	uint8_t *req = fipc_map(CALLS * SLOT);
	struct fastipc_send send = send_arg(0, 1, NULL, 0);
	struct fastipc_uring_call call;
	bool seen[CALLS] = { false };
	struct fastipc_serve msg;
	struct fipc_client c;
	uint8_t out[SLOT];
	struct fipc_ep ep;
	int ready[2], i, ok = 0, n;
	struct cqe cqe;
	char name[48], byte;
	pid_t pid;

	ASSERT_NE(NULL, req);
	ASSERT_EQ(0, pipe2(ready, O_CLOEXEC));
	snprintf(name, sizeof(name), "fipc-uring-%d-death", getpid());
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Serve SERVED calls, hold HELD more, then wait to be killed. */
		CHILD_CHECK(fipc_ep_open(&ep, name, 0600, SLOT, DSLOTS) == 0);
		CHILD_CHECK(write(ready[1], "r", 1) == 1);
		for (n = 0; n < SERVED; n++) {
			CHILD_CHECK(fipc_recv(ep.fd, &msg) == 0);
			xor_copy(out, ep.pool + msg.offset, msg.len);
			CHILD_CHECK(fipc_reply(ep.fd, msg.token, status_of(msg.opcode), out,
					       msg.len) == 0);
		}
		for (n = 0; n < HELD; n++)
			CHILD_CHECK(fipc_recv(ep.fd, &msg) == 0);
		CHILD_CHECK(write(ready[1], "h", 1) == 1);
		for (;;)
			pause();
	}
	ASSERT_EQ(1, read(ready[0], &byte, 1));
	ASSERT_EQ(0, fipc_client_open(&c, -1, name, CALLS * BIG_ROOM));
	memset(c.buf, GUARD, CALLS * BIG_ROOM);
	for (i = 0; i < CALLS; i++) {
		fipc_fill(req + i * SLOT, i * 37 % (SLOT + 1), 300 + i);
		ASSERT_EQ(0, queue_call(&self->ring, &c, i, req + i * SLOT, i * 37 % (SLOT + 1),
					i * BIG_ROOM, SLOT, 0, i));
	}
	ASSERT_EQ(0, submit_all(&self->ring));
	ASSERT_EQ(1, read(ready[0], &byte, 1));
	ASSERT_EQ('h', byte);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	EXPECT_EQ(128 + SIGKILL, fipc_reap(pid));

	/* The answered calls got their replies; all the others EPIPE. */
	for (i = 0; i < CALLS; i++) {
		ASSERT_EQ(0, cqe_wait(&self->ring, &cqe));
		ASSERT_GT(CALLS, cqe.user_data);
		ASSERT_FALSE(seen[cqe.user_data]);
		seen[cqe.user_data] = true;
		if (cqe.res < 0) {
			EXPECT_EQ(-EPIPE, cqe.res) TH_LOG("call %llu",
							  (unsigned long long)cqe.user_data);
			continue;
		}
		ok++;
		EXPECT_TRUE(echo_ok(&cqe, req + cqe.user_data * SLOT, cqe.user_data * 37 % (SLOT + 1),
				    cqe.user_data, c.buf + cqe.user_data * BIG_ROOM, BIG_ROOM))
			TH_LOG("call %llu", (unsigned long long)cqe.user_data);
	}
	EXPECT_EQ(SERVED, ok);
	/* And so do later calls and sends. */
	call = call_arg(c.buf_id, 1, NULL, 0, 0, ROOM, 0);
	EXPECT_EQ(-EPIPE, run_cmd(&self->ring, c.fd, FASTIPC_URING_CALL, &call, sizeof(call),
				  NULL));
	EXPECT_EQ(-EPIPE, run_cmd(&self->ring, c.fd, FASTIPC_URING_SEND, &send, sizeof(send),
				  NULL));
	fipc_client_close(&c);
	munmap(req, CALLS * SLOT);
	close(ready[0]);
	close(ready[1]);
}

/* --- Synchronous and asynchronous callers together ------------------------ */

#define MIX_SYNC	4	/* synchronous caller threads; the last shares the port */
#define MIX_SYNC_CALLS	40
#define MIX_ASYNC	64
#define MIX_LEN		200
#define MIX_ROOM	(MIX_LEN + 32)

struct sync_caller {
	struct fipc_client *c;
	uint64_t room;		/* its reply room in c's buffer */
	uint32_t id;
	int ret, bad;
	pthread_t thread;
};

static void *sync_caller_fn(void *arg)
{
	struct sync_caller *s = arg;
	struct fastipc_call call;
	uint8_t req[MIX_LEN];
	uint32_t n, len, op;
	int ret;

	for (n = 0; n < MIX_SYNC_CALLS; n++) {
		op = OP_SYNC + s->id * 1000 + n;
		len = (n * 29 + s->id * 7) % (MIX_LEN + 1);
		fipc_fill(req, len, op);
		call = fipc_call_args(s->c, op, req, len, 0);
		call.reply_offset = s->room;
		call.reply_cap = MIX_LEN;
		ret = fipc_ioctl(s->c->fd, FASTIPC_IOC_CALL, &call);
		if (ret) {
			if (!s->ret)
				s->ret = ret;
			continue;
		}
		if (call.reply_len != len || call.status != status_of(op))
			s->bad++;
		else
			for (uint32_t i = 0; i < len; i++)
				if (s->c->buf[s->room + i] != (req[i] ^ XOR_BYTE)) {
					s->bad++;
					break;
				}
	}
	return NULL;
}

TEST_F_TIMEOUT(uring, sync_and_async_callers_share_an_endpoint, 120)
{
	uint8_t *req = fipc_map(MIX_ASYNC * MIX_LEN);
	struct fipc_client own[MIX_SYNC - 1], shared;
	struct sync_caller s[MIX_SYNC];
	bool seen[MIX_ASYNC] = { false };
	struct echo e[2];
	struct cqe cqe;
	int i;

	ASSERT_NE(NULL, req);
	ASSERT_EQ(0, fipc_client_open(&shared, self->ep.fd, NULL, (MIX_ASYNC + 1) * MIX_ROOM));
	memset(shared.buf, GUARD, (MIX_ASYNC + 1) * MIX_ROOM);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, echo_start(&e[i], &self->ep));
	}
	for (i = 0; i < MIX_SYNC; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].id = i;
		if (i < MIX_SYNC - 1) {
			ASSERT_EQ(0, fipc_client_open(&own[i], self->ep.fd, NULL, MIX_LEN));
			s[i].c = &own[i];
		} else {
			s[i].c = &shared;
			s[i].room = MIX_ASYNC * MIX_ROOM;
		}
		ASSERT_EQ(0, pthread_create(&s[i].thread, NULL, sync_caller_fn, &s[i]));
	}
	for (i = 0; i < MIX_ASYNC; i++) {
		fipc_fill(req + i * MIX_LEN, i * 13 % (MIX_LEN + 1), 2000 + i);
		ASSERT_EQ(0, queue_call(&self->ring, &shared, 2000 + i, req + i * MIX_LEN,
					i * 13 % (MIX_LEN + 1), i * MIX_ROOM, MIX_LEN, 0, i));
	}
	ASSERT_EQ(0, submit_all(&self->ring));
	for (i = 0; i < MIX_ASYNC; i++) {
		ASSERT_EQ(0, cqe_wait(&self->ring, &cqe));
		ASSERT_GT(MIX_ASYNC, cqe.user_data);
		ASSERT_FALSE(seen[cqe.user_data]);
		seen[cqe.user_data] = true;
		EXPECT_TRUE(echo_ok(&cqe, req + cqe.user_data * MIX_LEN,
				    cqe.user_data * 13 % (MIX_LEN + 1), 2000 + cqe.user_data,
				    shared.buf + cqe.user_data * MIX_ROOM, MIX_ROOM))
			TH_LOG("call %llu: res %d", (unsigned long long)cqe.user_data, cqe.res);
	}
	for (i = 0; i < MIX_SYNC; i++) {
		pthread_join(s[i].thread, NULL);
		EXPECT_EQ(0, s[i].ret) TH_LOG("sync caller %d", i);
		EXPECT_EQ(0, s[i].bad) TH_LOG("sync caller %d", i);
	}
	EXPECT_EQ(0, echo_stop(&self->c, e, 2));
	EXPECT_EQ(MIX_ASYNC + MIX_SYNC * MIX_SYNC_CALLS, e[0].served + e[1].served);
	for (i = 0; i < MIX_SYNC - 1; i++)
		fipc_client_close(&own[i]);
	fipc_client_close(&shared);
	munmap(req, MIX_ASYNC * MIX_LEN);
}

/* --- Receiving and replying through the ring ------------------------------ */

TEST_F(uring, recv_stores_the_record_and_the_cqe_carries_length_and_token)
{
	struct fastipc_msg_info *rec = (struct fastipc_msg_info *)(self->msgs + 128);
	uint8_t payload[SLOT];
	struct cqe cqe[2];
	unsigned int i;

	memset(self->msgs, GUARD, MSGS_LEN);
	fipc_fill(payload, SLOT, 5);
	/* A receive waiting when the message comes. */
	ASSERT_EQ(0, queue_recv(&self->ring, self->ep.fd, self->msgs_id, 128, 0, 1, 0));
	ASSERT_EQ(0, submit_all(&self->ring));
	EXPECT_TRUE(ring_quiet(&self->ring));
	ASSERT_EQ(0, fipc_send(self->c.fd, 0, 0xabcdef, payload, SLOT));
	ASSERT_EQ(0, cqe_wait(&self->ring, &cqe[0]));
	EXPECT_EQ(1, cqe[0].user_data);
	EXPECT_EQ(SLOT, cqe[0].res);
	EXPECT_NE(0, cqe[0].big[0]);
	EXPECT_EQ(0, cqe[0].big[1]);
	EXPECT_EQ(FASTIPC_MSG_ONEWAY, rec->flags);
	EXPECT_EQ(0xabcdef, rec->opcode);
	EXPECT_EQ(cqe[0].big[0], rec->token);
	EXPECT_EQ(SLOT, rec->len);
	EXPECT_EQ(getpid(), (pid_t)rec->pid);
	EXPECT_EQ(geteuid(), rec->uid);
	EXPECT_EQ(getegid(), rec->gid);
	EXPECT_EQ(0, rec->reserved);
	ASSERT_GE(rec->offset, self->ep.pool_off);
	ASSERT_LE(rec->offset + rec->len, self->ep.pool_len);
	EXPECT_TRUE(fipc_check(self->ep.pool + rec->offset, SLOT, 5));
	for (i = 0; i < MSGS_LEN; i++)
		if (i < 128 || i >= 128 + REC) {
			ASSERT_EQ(GUARD, self->msgs[i]) TH_LOG("byte %u", i);
		}
	EXPECT_EQ(0, fipc_reply(self->ep.fd, rec->token, 0, NULL, 0));

	/* A call waiting when the receive comes: it completes at once. */
	ASSERT_EQ(0, queue_call(&self->ring, &self->c, 7, "hi", 2, 0, ROOM, 0, 2));
	ASSERT_EQ(0, queue_recv(&self->ring, self->ep.fd, self->msgs_id, 128, 0, 3, 0));
	ASSERT_EQ(0, submit_all(&self->ring));
	ASSERT_EQ(0, cqe_wait(&self->ring, &cqe[0]));
	EXPECT_EQ(3, cqe[0].user_data);
	EXPECT_EQ(2, cqe[0].res);
	EXPECT_EQ(0, rec->flags);
	EXPECT_EQ(7, rec->opcode);
	EXPECT_EQ(cqe[0].big[0], rec->token);
	ASSERT_EQ(0, queue_reply(&self->ring, self->ep.fd, rec->token, INT32_MIN, "there", 5, 4));
	ASSERT_EQ(0, submit_all(&self->ring));
	ASSERT_EQ(0, cqe_wait(&self->ring, &cqe[0]));
	ASSERT_EQ(0, cqe_wait(&self->ring, &cqe[1]));
	if (cqe[0].user_data != 2) {
		struct cqe tmp = cqe[0];

		cqe[0] = cqe[1];
		cqe[1] = tmp;
	}
	EXPECT_EQ(2, cqe[0].user_data);
	EXPECT_EQ(5, cqe[0].res);
	EXPECT_EQ(sext(INT32_MIN), cqe[0].big[0]);
	EXPECT_EQ(4, cqe[1].user_data);
	EXPECT_EQ(0, cqe[1].res);
	EXPECT_EQ(0, memcmp(self->c.buf, "there", 5));
}

#define MULTI_EPS	3
#define MULTI_CALLS	8	/* per endpoint */
#define MULTI_SENDS	2	/* per endpoint */
#define MULTI_RECVS	2	/* receives armed per endpoint */
#define MULTI_SLOTS	16	/* every call and send at once */
#define UD(kind, ep, idx)	((uint64_t)(kind) << 56 | (uint64_t)(ep) << 48 | (idx))
#define UD_KIND(ud)		((unsigned int)((ud) >> 56))
#define UD_EP(ud)		((unsigned int)((ud) >> 48 & 0xff))
#define UD_IDX(ud)		((unsigned int)((ud) & 0xffffffffffffULL))

enum { K_CALL = 1, K_SEND, K_RECV, K_REPLY, K_CANCEL };

static uint32_t multi_len(unsigned int ep, unsigned int k)
{
	return (ep * 50 + k * 31) % (SLOT + 1);
}

TEST_F_TIMEOUT(uring, one_thread_receives_on_several_endpoints_and_replies_through_the_ring, 60)
{
	static uint8_t req[MULTI_EPS][MULTI_CALLS + MULTI_SENDS][SLOT];
	static uint8_t out[MULTI_EPS][MULTI_CALLS][SLOT];
	struct fipc_client c[MULTI_EPS];
	struct fipc_ep ep[MULTI_EPS];
	uint8_t *msgs[MULTI_EPS];
	uint32_t msgs_id[MULTI_EPS];
	struct fastipc_msg_info *rec;
	unsigned int i, k, e, calls = 0, sends = 0, replies = 0, recvs = 0, cancelled = 0;
	struct cqe cqe;
	uint32_t op;

	for (e = 0; e < MULTI_EPS; e++) {
		ASSERT_EQ(0, fipc_ep_open(&ep[e], NULL, 0, SLOT, MULTI_SLOTS));
		ASSERT_EQ(0, fipc_client_open(&c[e], ep[e].fd, NULL, MULTI_CALLS * BIG_ROOM));
		memset(c[e].buf, GUARD, MULTI_CALLS * BIG_ROOM);
		msgs[e] = fipc_map(4096);
		ASSERT_NE(NULL, msgs[e]);
		ASSERT_LE(0, (int)(msgs_id[e] = fipc_buf_register(ep[e].fd, msgs[e], 4096)));
		/*
		 * The second endpoint's first receives are issued from io_uring
		 * workers; they all get messages, so they are issued by the end.
		 */
		for (i = 0; i < MULTI_RECVS; i++) {
			ASSERT_EQ(0, queue_recv(&self->ring, ep[e].fd, msgs_id[e], i * 64, e + 1,
						UD(K_RECV, e, i), e == 1 ? IOSQE_ASYNC : 0));
		}
	}
	ASSERT_EQ(0, submit_all(&self->ring));
	for (e = 0; e < MULTI_EPS; e++) {
		for (k = 0; k < MULTI_CALLS; k++) {
			fipc_fill(req[e][k], multi_len(e, k), e * 100 + k);
			ASSERT_EQ(0, queue_call(&self->ring, &c[e], e * 100 + k, req[e][k],
						multi_len(e, k), k * BIG_ROOM, SLOT, 0,
						UD(K_CALL, e, k)));
		}
		for (k = MULTI_CALLS; k < MULTI_CALLS + MULTI_SENDS; k++) {
			fipc_fill(req[e][k], multi_len(e, k), e * 100 + k);
			ASSERT_EQ(0, queue_send(&self->ring, c[e].fd, 0, e * 100 + k, req[e][k],
						multi_len(e, k), UD(K_SEND, e, k)));
		}
	}
	ASSERT_EQ(0, submit_all(&self->ring));

	while (calls < MULTI_EPS * MULTI_CALLS || sends < MULTI_EPS * MULTI_SENDS ||
	       replies < MULTI_EPS * (MULTI_CALLS + MULTI_SENDS)) {
		ASSERT_EQ(0, cqe_wait(&self->ring, &cqe));
		e = UD_EP(cqe.user_data);
		k = UD_IDX(cqe.user_data);
		ASSERT_GT(MULTI_EPS, e);
		switch (UD_KIND(cqe.user_data)) {
		case K_RECV:
			ASSERT_LE(0, cqe.res) TH_LOG("receive on endpoint %u: %d", e, cqe.res);
			recvs++;
			rec = (struct fastipc_msg_info *)(msgs[e] + k * 64);
			ASSERT_EQ(cqe.big[0], rec->token);
			ASSERT_EQ((uint32_t)cqe.res, rec->len);
			ASSERT_EQ(0, rec->reserved);
			ASSERT_EQ(getpid(), (pid_t)rec->pid);
			op = rec->opcode;
			ASSERT_EQ(e, op / 100);
			ASSERT_GT(MULTI_CALLS + MULTI_SENDS, op % 100);
			ASSERT_EQ(multi_len(e, op % 100), rec->len);
			ASSERT_GE(rec->offset, ep[e].pool_off);
			ASSERT_LE(rec->offset + rec->len, ep[e].pool_len);
			EXPECT_TRUE(fipc_check(ep[e].pool + rec->offset, rec->len, op))
				TH_LOG("message %u", op);
			if (op % 100 >= MULTI_CALLS) {
				EXPECT_EQ(FASTIPC_MSG_ONEWAY, rec->flags);
				ASSERT_EQ(0, queue_reply(&self->ring, ep[e].fd, rec->token, 0, NULL,
							 0, UD(K_REPLY, e, op % 100)));
			} else {
				EXPECT_EQ(0, rec->flags);
				xor_copy(out[e][op % 100], ep[e].pool + rec->offset, rec->len);
				ASSERT_EQ(0, queue_reply(&self->ring, ep[e].fd, rec->token,
							 status_of(op), out[e][op % 100], rec->len,
							 UD(K_REPLY, e, op % 100)));
			}
			/* Receive again, into the same record: it has been read. */
			ASSERT_EQ(0, queue_recv(&self->ring, ep[e].fd, msgs_id[e], k * 64, e + 1,
						UD(K_RECV, e, k), 0));
			ASSERT_EQ(0, submit_all(&self->ring));
			break;
		case K_REPLY:
			EXPECT_EQ(0, cqe.res) TH_LOG("reply %u on endpoint %u", k, e);
			replies++;
			break;
		case K_CALL:
			EXPECT_TRUE(echo_ok(&cqe, req[e][k], multi_len(e, k), e * 100 + k,
					    c[e].buf + k * BIG_ROOM, BIG_ROOM))
				TH_LOG("call %u on endpoint %u: res %d", k, e, cqe.res);
			calls++;
			break;
		case K_SEND:
			EXPECT_EQ(0, cqe.res);
			sends++;
			break;
		default:
			ASSERT_TRUE(false) TH_LOG("stray CQE %#llx",
						  (unsigned long long)cqe.user_data);
		}
	}
	EXPECT_EQ(MULTI_EPS * (MULTI_CALLS + MULTI_SENDS), recvs);

	/* The receives still armed are cancelled, each endpoint's on its own. */
	for (e = 0; e < MULTI_EPS; e++) {
		struct fastipc_uring_cancel cancel = cancel_arg(FASTIPC_CANCEL_ALL, 0);

		ASSERT_EQ(0, queue_cmd(&self->ring, ep[e].fd, FASTIPC_URING_CANCEL, &cancel,
				       sizeof(cancel), UD(K_CANCEL, e, 0), 0));
	}
	ASSERT_EQ(0, submit_all(&self->ring));
	for (i = 0; i < MULTI_EPS * (MULTI_RECVS + 1); i++) {
		ASSERT_EQ(0, cqe_wait(&self->ring, &cqe));
		if (UD_KIND(cqe.user_data) == K_CANCEL) {
			EXPECT_EQ(MULTI_RECVS, cqe.res);
		} else {
			EXPECT_EQ(K_RECV, UD_KIND(cqe.user_data));
			EXPECT_EQ(-ECANCELED, cqe.res);
			cancelled++;
		}
	}
	EXPECT_EQ(MULTI_EPS * MULTI_RECVS, cancelled);
	for (e = 0; e < MULTI_EPS; e++) {
		EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(ep[e].fd, NULL));
		fipc_client_close(&c[e]);
		fipc_ep_close(&ep[e]);
		munmap(msgs[e], 4096);
	}
}

TEST_F(uring, recv_cancelled_by_tag_completes_ecanceled_and_the_next_message_is_queued)
{
	struct fastipc_uring_cancel cancel = cancel_arg(0, 7);
	struct fastipc_serve msg;
	struct cqe cqe[2];
	int i;

	ASSERT_EQ(0, queue_recv(&self->ring, self->ep.fd, self->msgs_id, 0, 7, 1, 0));
	ASSERT_EQ(0, submit_all(&self->ring));
	EXPECT_TRUE(ring_quiet(&self->ring));
	ASSERT_EQ(0, queue_cmd(&self->ring, self->ep.fd, FASTIPC_URING_CANCEL, &cancel,
			       sizeof(cancel), 2, 0));
	ASSERT_EQ(0, submit_all(&self->ring));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, cqe_wait(&self->ring, &cqe[i]));
		if (cqe[i].user_data == 2) {
			EXPECT_EQ(1, cqe[i].res);
		} else {
			EXPECT_EQ(-ECANCELED, cqe[i].res);
		}
	}
	EXPECT_NE(cqe[0].user_data, cqe[1].user_data);
	EXPECT_EQ(-ENOENT, run_cancel(&self->ring, self->ep.fd, 0, 7));
	/* No receive is waiting any more: a message is queued, not handed over. */
	ASSERT_EQ(0, fipc_send(self->c.fd, 0, 1, NULL, 0));
	EXPECT_EQ(POLLIN, fipc_revents(self->ep.fd, POLLIN) & POLLIN);
	EXPECT_TRUE(ring_quiet(&self->ring));
	ASSERT_EQ(0, fipc_recv_nonblock(self->ep.fd, &msg));
	EXPECT_EQ(1, msg.opcode);
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));
}

TEST_F(uring, cancel_all_on_an_endpoint_cancels_its_receives_and_a_delivered_one_stands)
{
	/* user_data: 0..2 the receives, 3 the cancel. */
	struct fastipc_uring_cancel cancel = cancel_arg(FASTIPC_CANCEL_ALL, 0);
	struct cqe cqe[4], first;
	int i;

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, queue_recv(&self->ring, self->ep.fd, self->msgs_id, i * 64, i, i, 0));
	}
	ASSERT_EQ(0, submit_all(&self->ring));
	/* One of them gets a message first. */
	ASSERT_EQ(0, fipc_send(self->c.fd, 0, 1, "m", 1));
	ASSERT_EQ(0, cqe_wait(&self->ring, &first));
	ASSERT_GT(3, first.user_data);
	EXPECT_EQ(1, first.res);
	ASSERT_EQ(0, queue_cmd(&self->ring, self->ep.fd, FASTIPC_URING_CANCEL, &cancel,
			       sizeof(cancel), 3, 0));
	ASSERT_EQ(0, submit_all(&self->ring));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, cqe_wait(&self->ring, &cqe[i]));
		ASSERT_GE(3, cqe[i].user_data);
		ASSERT_NE(first.user_data, cqe[i].user_data);
		if (cqe[i].user_data == 3) {
			EXPECT_EQ(2, cqe[i].res);
		} else {
			EXPECT_EQ(-ECANCELED, cqe[i].res);
		}
	}
	EXPECT_EQ(0, fipc_reply(self->ep.fd, first.big[0], 0, NULL, 0));
	EXPECT_EQ(-ENOENT, run_cancel(&self->ring, self->ep.fd, FASTIPC_CANCEL_ALL, 0));
}

/*
 * An in-flight receive holds its endpoint's file, as any io_uring request
 * holds the file it works on, so closing the endpoint's only fd need not
 * shut the endpoint down at once. Either way nobody may be left hanging:
 * the receive ends with EPIPE, or it takes the next call and the endpoint
 * shuts down once it completes; the caller gets EPIPE in both cases, and
 * the endpoint is gone afterwards.
 */
TEST_F(uring, a_receive_in_flight_when_the_endpoint_fd_is_closed_ends_cleanly)
{
	struct fastipc_msg_info *rec = (struct fastipc_msg_info *)self->msgs;
	struct cqe cqe[2], *recv, *call;
	int i;

	ASSERT_EQ(0, queue_recv(&self->ring, self->ep.fd, self->msgs_id, 0, 0, 1, 0));
	ASSERT_EQ(0, submit_all(&self->ring));
	EXPECT_TRUE(ring_quiet(&self->ring));
	close(self->ep.fd);
	self->ep.fd = -1;
	ASSERT_EQ(0, queue_call(&self->ring, &self->c, 9, "late", 4, 0, ROOM, 0, 2));
	ASSERT_EQ(0, submit_all(&self->ring));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, cqe_wait(&self->ring, &cqe[i]));
	}
	recv = cqe[0].user_data == 1 ? &cqe[0] : &cqe[1];
	call = cqe[0].user_data == 1 ? &cqe[1] : &cqe[0];
	ASSERT_EQ(1, recv->user_data);
	ASSERT_EQ(2, call->user_data);
	if (recv->res < 0) {
		EXPECT_EQ(-EPIPE, recv->res);
	} else {
		TH_LOG("the receive kept the closed endpoint up and took the call");
		EXPECT_EQ(4, recv->res);
		EXPECT_EQ(9, rec->opcode);
		EXPECT_EQ(recv->big[0], rec->token);
	}
	EXPECT_EQ(-EPIPE, call->res);
	EXPECT_EQ(-EPIPE, fipc_call(&self->c, 1, NULL, 0, 0, NULL));
	EXPECT_EQ(-EPIPE, fipc_send(self->c.fd, 0, 1, NULL, 0));
}

TEST_F_TIMEOUT(uring, closing_the_ring_lets_an_endpoint_closed_under_a_waiting_recv_go, 60)
{
	struct io_uring r;
	struct cqe cqe;

	ASSERT_EQ(0, ring_init(&r, 4, RING_FLAGS));
	ASSERT_EQ(0, queue_recv(&r, self->ep.fd, self->msgs_id, 0, 0, 1, 0));
	ASSERT_EQ(0, submit_all(&r));
	close(self->ep.fd);
	self->ep.fd = -1;
	io_uring_queue_exit(&r);
	/*
	 * The receive is cancelled (or first takes this call), its hold on the
	 * endpoint's file goes, and the endpoint shuts down: EPIPE.
	 */
	ASSERT_EQ(0, queue_call(&self->ring, &self->c, 9, "late", 4, 0, ROOM, 0, 2));
	ASSERT_EQ(0, submit_all(&self->ring));
	ASSERT_EQ(0, cqe_wait(&self->ring, &cqe));
	EXPECT_EQ(2, cqe.user_data);
	EXPECT_EQ(-EPIPE, cqe.res);
	EXPECT_EQ(-EPIPE, fipc_call(&self->c, 1, NULL, 0, 0, NULL));
}

/* --- Lifecycles that cross processes and ring teardown ---------------------- */

/*
 * A call outlives the process that submitted it when another process keeps
 * the ring: the server may forward it after that process was reaped, and the
 * reply reaches the ring's CQE byte for byte.
 */
TEST_F_TIMEOUT(uring, a_call_whose_submitter_was_reaped_is_forwarded_and_answered_in_the_ring, 60)
{
	static const char req[] = "from a process that is gone";
	uint8_t fwd[SLOT], reply[ROOM];
	struct fastipc_serve msg, fmsg;
	struct fipc_ep target;
	struct io_uring r;
	struct cqe cqe;
	pid_t pid;

	ASSERT_EQ(0, fipc_ep_open(&target, NULL, 0, SLOT, 2));
	ASSERT_EQ(0, ring_init(&r, 4, RING_FLAGS));
	memset(self->c.buf, GUARD, ROOM + 1);
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		CHILD_CHECK(queue_call(&r, &self->c, 7, req, sizeof(req), 0, ROOM, 0, 1) == 0);
		CHILD_CHECK(submit_all(&r) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, fipc_reap(pid));
	/*
	 * The reaped process's pid is freed after an RCU grace period unless
	 * something still holds it; MEMBARRIER_CMD_GLOBAL waits for one.
	 */
	syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);

	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	ASSERT_EQ(7, msg.opcode);
	ASSERT_EQ(sizeof(req), msg.len);
	fipc_fill(fwd, sizeof(fwd), 12);
	ASSERT_EQ(0, fipc_forward(self->ep.fd, target.fd, msg.token, 8, fwd, sizeof(fwd)));
	ASSERT_EQ(0, fipc_recv(target.fd, &fmsg));
	ASSERT_EQ(8, fmsg.opcode);
	ASSERT_EQ(sizeof(fwd), fmsg.len);
	EXPECT_TRUE(fipc_check(target.pool + fmsg.offset, fmsg.len, 12));

	fipc_fill(reply, sizeof(reply), 13);
	ASSERT_EQ(0, fipc_reply(target.fd, fmsg.token, status_of(8), reply, sizeof(reply)));
	ASSERT_EQ(0, cqe_wait(&r, &cqe));
	EXPECT_EQ(1, cqe.user_data);
	EXPECT_EQ(ROOM, cqe.res);
	EXPECT_EQ(sext(status_of(8)), cqe.big[0]);
	EXPECT_TRUE(fipc_check(self->c.buf, ROOM, 13));
	EXPECT_EQ(GUARD, self->c.buf[ROOM]);
	io_uring_queue_exit(&r);
	fipc_ep_close(&target);
}

/*
 * A freed slot wakes one call waiting for it. A call whose submitter is gone
 * cannot be sent (nobody's memory holds its request) and is cancelled; the
 * slot's wake-up must then go on to the next waiting call, not be lost.
 */
TEST_F_TIMEOUT(uring, a_slot_freed_for_a_call_whose_submitter_is_gone_goes_to_the_next_call, 60)
{
	struct __kernel_timespec ts = { .tv_sec = WATCHDOG_MS / 1000 };
	struct fastipc_serve held, msg;
	struct io_uring_cqe *raw;
	struct io_uring gone, next;
	struct fipc_client c;
	struct fipc_ep ep;
	struct cqe cqe;
	pid_t pid;

	ASSERT_EQ(0, fipc_ep_open(&ep, NULL, 0, 64, 1));
	ASSERT_EQ(0, fipc_client_open(&c, ep.fd, NULL, 2 * ROOM));
	ASSERT_EQ(0, fipc_send(c.fd, 0, 1, "hold", 4));
	ASSERT_EQ(0, fipc_recv(ep.fd, &held));

	/*
	 * The first call waiting for the slot is a reaped process's, on a ring
	 * this process keeps (only the child submits to it: liburing's view of
	 * a ring's SQ is per process); the second is ours, on a ring of ours.
	 */
	ASSERT_EQ(0, ring_init(&gone, 4, RING_FLAGS));
	ASSERT_EQ(0, ring_init(&next, 4, RING_FLAGS));
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		CHILD_CHECK(queue_call(&gone, &c, 2, "gone", 4, 0, ROOM, 0, 2) == 0);
		CHILD_CHECK(submit_all(&gone) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, fipc_reap(pid));
	ASSERT_EQ(0, queue_call(&next, &c, 3, "next", 4, ROOM, ROOM, 0, 3));
	ASSERT_EQ(0, submit_all(&next));
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(ep.fd, NULL));

	ASSERT_EQ(0, fipc_reply(ep.fd, held.token, 0, NULL, 0));
	ASSERT_EQ(0, io_uring_wait_cqe_timeout(&gone, &raw, &ts));
	cqe_take(&gone, raw, &cqe);
	EXPECT_EQ(2, cqe.user_data);
	EXPECT_EQ(-ECANCELED, cqe.res);
	EXPECT_EQ(1, poll(&(struct pollfd){ .fd = ep.fd, .events = POLLIN }, 1, WATCHDOG_MS))
		TH_LOG("the slot's wake-up was lost with the dead submitter's call");
	ASSERT_EQ(0, fipc_recv_nonblock(ep.fd, &msg));
	EXPECT_EQ(3, msg.opcode);
	ASSERT_EQ(0, fipc_reply(ep.fd, msg.token, 7, "done", 4));
	ASSERT_EQ(0, io_uring_wait_cqe_timeout(&next, &raw, &ts));
	cqe_take(&next, raw, &cqe);
	EXPECT_EQ(3, cqe.user_data);
	EXPECT_EQ(4, cqe.res);
	EXPECT_EQ(0, memcmp(c.buf + ROOM, "done", 4));
	io_uring_queue_exit(&gone);
	io_uring_queue_exit(&next);
	fipc_client_close(&c);
	fipc_ep_close(&ep);
}

/* A thread that submits a receive to a ring, then blocks in something else. */
struct recv_then_block {
	struct io_uring *ring;
	int recv_fd;		/* the endpoint the receive goes to */
	uint32_t msgs_id;
	int serve_fd;		/* block in SERVE here, or in a vfork if -1 */
	int ready[2];		/* a byte once the receive is submitted and it blocks */
	int go[2];		/* the vfork-like child waits for a byte here */
	int submit;		/* the submission's result */
	int ret;		/* SERVE's result */
	struct fastipc_serve msg;
	pid_t tid;
};

/* The child of recv_then_block_fn()'s vfork-like clone(). */
static int recv_then_block_child(void *arg)
{
	struct recv_then_block *t = arg;
	struct pollfd pfd = { .fd = t->go[0], .events = POLLIN };

	/* Bounded: a failed test must not leave it (and its stdout) behind. */
	if (write(t->ready[1], "v", 1) != 1 || poll(&pfd, 1, WATCHDOG_MS) != 1)
		return 1;
	return 0;
}

static void *recv_then_block_fn(void *arg)
{
	static char stack[64 * 1024] __attribute__((aligned(16)));
	struct recv_then_block *t = arg;
	pid_t pid;

	__atomic_store_n(&t->tid, gettid(), __ATOMIC_SEQ_CST);
	t->submit = queue_recv(t->ring, t->recv_fd, t->msgs_id, 0, 0, 1, 0) ?: submit_all(t->ring);
	if (t->serve_fd >= 0) {
		if (write(t->ready[1], "s", 1) != 1)
			t->submit = -EIO;
		t->ret = fipc_recv(t->serve_fd, &t->msg);
		return NULL;
	}
	/*
	 * The parent of a CLONE_VFORK child sleeps killable until the child
	 * exits: task work queued for this thread (the receive's completion)
	 * cannot run meanwhile. CLONE_FILES: the child must not hold the
	 * ring's file, which the test closes.
	 */
	pid = clone(recv_then_block_child, stack + sizeof(stack),
		    CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD, t);
	t->ret = pid < 0 ? -errno : fipc_reap(pid);
	return NULL;
}

static int recv_then_block_start(struct recv_then_block *t, pthread_t *thread)
{
	char byte;

	if (pipe2(t->ready, O_CLOEXEC) || pipe2(t->go, O_CLOEXEC))
		return -errno;
	errno = pthread_create(thread, NULL, recv_then_block_fn, t);
	if (errno)
		return -errno;
	if (read(t->ready[0], &byte, 1) != 1)
		return -EIO;
	return t->submit;
}

static void recv_then_block_close(struct recv_then_block *t)
{
	close(t->ready[0]);
	close(t->ready[1]);
	close(t->go[0]);
	close(t->go[1]);
}

/*
 * The review's spinning ring exit: a receive waits in a ring, another thread
 * closes the ring while the receive's submitter sleeps in SERVE elsewhere.
 * The ring must go at once, with the endpoint file its receive held (the
 * endpoint then shuts down: EPIPE), and the sleeping SERVE must go on to
 * receive its own message, not fail.
 */
TEST_F_TIMEOUT(uring, closing_a_ring_while_its_receives_submitter_sleeps_in_serve_lets_it_go, 60)
{
	struct recv_then_block t = { .ring = NULL };
	struct fipc_client c2;
	struct fipc_ep ep2;
	struct io_uring r;
	pthread_t thread;

	ASSERT_EQ(0, fipc_ep_open(&ep2, NULL, 0, SLOT, 2));
	ASSERT_EQ(0, fipc_client_open(&c2, ep2.fd, NULL, ROOM));
	ASSERT_EQ(0, ring_init(&r, 4, RING_FLAGS));
	t.ring = &r;
	t.recv_fd = self->ep.fd;
	t.msgs_id = self->msgs_id;
	t.serve_fd = ep2.fd;
	ASSERT_EQ(0, recv_then_block_start(&t, &thread));
	ASSERT_EQ(0, fipc_wait_blocked_in_ioctl(__atomic_load_n(&t.tid, __ATOMIC_SEQ_CST)));

	io_uring_queue_exit(&r);
	close(self->ep.fd);
	self->ep.fd = -1;
	/* A ring exit that never ends keeps the endpoint up: no EPIPE. */
	EXPECT_EQ(-EPIPE, fipc_call(&self->c, 1, "x", 1, WATCHDOG_MS * 1000000ULL, NULL));

	ASSERT_EQ(0, fipc_send(c2.fd, 0, 42, "wake", 4));
	pthread_join(thread, NULL);
	EXPECT_EQ(0, t.ret);
	EXPECT_EQ(42, t.msg.opcode);
	EXPECT_EQ(4, t.msg.len);
	recv_then_block_close(&t);
	fipc_client_close(&c2);
	fipc_ep_close(&ep2);
}

/*
 * A message handed to a receive whose ring is closed before the receive's
 * completion could be posted (its submitter cannot run task work meanwhile)
 * goes back to the endpoint's queue, and another server thread gets it.
 */
TEST_F_TIMEOUT(uring, a_message_taken_by_a_receive_whose_ring_dies_is_received_by_another_server,
	       60)
{
	struct recv_then_block t = { .serve_fd = -1 };
	uint8_t req[SLOT], reply[ROOM];
	struct fastipc_serve msg;
	struct fipc_async a;
	struct io_uring r;
	pthread_t thread;

	ASSERT_EQ(0, ring_init(&r, 4, RING_FLAGS));
	t.ring = &r;
	t.recv_fd = self->ep.fd;
	t.msgs_id = self->msgs_id;
	ASSERT_EQ(0, recv_then_block_start(&t, &thread));

	/* Once the caller sleeps, the receive has taken its request. */
	fipc_fill(req, sizeof(req), 21);
	ASSERT_EQ(0, fipc_async_call(&a, &self->c, 21, req, sizeof(req), 0));
	ASSERT_EQ(0, fipc_async_wait_blocked(&a));
	EXPECT_EQ(0, fipc_revents(self->ep.fd, POLLIN));

	io_uring_queue_exit(&r);
	EXPECT_EQ(1, poll(&(struct pollfd){ .fd = self->ep.fd, .events = POLLIN }, 1,
			  WATCHDOG_MS)) TH_LOG("the message went down with the ring");
	ASSERT_EQ(0, fipc_recv_nonblock(self->ep.fd, &msg));
	EXPECT_EQ(21, msg.opcode);
	ASSERT_EQ(SLOT, msg.len);
	EXPECT_TRUE(fipc_check(self->ep.pool + msg.offset, SLOT, 21));
	fipc_fill(reply, sizeof(reply), 22);
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 5, reply, sizeof(reply)));
	EXPECT_EQ(0, fipc_async_join(&a));
	EXPECT_EQ(5, a.call.status);
	EXPECT_EQ(ROOM, a.call.reply_len);
	EXPECT_TRUE(fipc_check(self->c.buf, ROOM, 22));

	ASSERT_EQ(1, write(t.go[1], "g", 1));
	pthread_join(thread, NULL);
	EXPECT_EQ(0, t.ret);
	recv_then_block_close(&t);
}

TEST_HARNESS_MAIN
