// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * Rings: asynchronous calls, sends and cancels, and servers served from one
 * thread, through io_uring (the FASTIPC_URING_* commands of
 * <linux/fastipc.h>).
 *
 * Every submission carries a struct ring_op as its user_data, which says
 * what the completion is for. Ops in flight sit on the ring's in-flight
 * list, so that cancels can find calls and destroy can free what never
 * completed: the kernel's tag of a call or receive is its op's address,
 * unique while it is in flight, so a cancel reaches exactly the calls of
 * this ring that it means. A completion the
 * caller wants is kept in its op on the done list until fastipc_ring_reap()
 * hands it out; the op then waits on the recycle list until the next reap,
 * which is when the reply room of a call is given back to its client's
 * arena (client.c).
 *
 * Serving: each server added has up to FASTIPC_RING_MAX_DEPTH rx slots, each
 * with a receive in flight, a struct fastipc_msg_info record in a buffer the
 * ring registered on the endpoint, and a reply room. A message received
 * runs its handler as the thread pool does (fastipc_server_receive()), and
 * its answer is queued with the receive re-armed. The answer is read from
 * the reply room when the kernel issues it, which it does at once, but
 * should it ever be deferred, a message that reaches the same slot before
 * the answer completes waits for it (rx->waiting), so that its handler
 * never writes over a reply still going out. A message whose handler
 * deferred it (fastipc_msg_defer()) has no answer to queue: its answer goes
 * out later by ioctl, from whichever thread gives it (server.c).
 *
 * The ring's user is a single thread; handlers run on it, inside reap,
 * serve or remove, which are therefore not re-entrant (ring->busy).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>

#include "internal.h"

/* SQEs of an IORING_SETUP_SQE128 ring, and their command area. */
#define SQE_SIZE	128
#define CMD_OFFSET	offsetof(struct io_uring_sqe, cmd)
#define CMD_SIZE	(SQE_SIZE - CMD_OFFSET)

_Static_assert(sizeof(struct fastipc_uring_call) <= CMD_SIZE, "call fits the SQE");
_Static_assert(sizeof(struct fastipc_send) <= CMD_SIZE, "send fits the SQE");
_Static_assert(sizeof(struct fastipc_uring_recv) <= CMD_SIZE, "recv fits the SQE");
_Static_assert(sizeof(struct fastipc_uring_reply) <= CMD_SIZE, "reply fits the SQE");
_Static_assert(sizeof(struct fastipc_uring_cancel) <= CMD_SIZE, "cancel fits the SQE");

/* The library's own kinds of op, after the FASTIPC_RING_* ones callers see. */
enum {
	OP_RECV = 16,		/* a server's receive */
	OP_REPLY,		/* a server's answer */
	OP_QUIET,		/* a cancel whose result nobody wants */
};

struct ring_srv;

/* One receive of a server's, with what it needs. */
struct rx_slot {
	struct ring_srv *rs;
	unsigned int idx;
	struct ring_op *recv;		/* in flight, or NULL */
	void *reply;			/* the handler's reply room */
	bool replying;			/* an answer from @reply is in flight */
	bool waiting;			/* a message came meanwhile: handle it after */
};

/* A server the ring serves. */
struct ring_srv {
	struct ring_srv *next;
	struct fastipc_server *srv;	/* referenced, and claimed */
	int fd;
	struct fastipc_msg_info *info;	/* a record per rx slot */
	size_t info_len;
	uint32_t info_id;		/* @info's buffer id on the endpoint */
	unsigned int ops;		/* its receives and answers in flight */
	unsigned int depth;
	bool leaving;			/* being removed: receive no more */
	struct rx_slot rx[];
};

struct ring_op {
	struct ring_op *next;		/* in-flight, done, recycle or free list */
	struct ring_op *prev;		/* in-flight list */
	unsigned int kind;
	unsigned int cqes;		/* completions still to come */
	bool listed;			/* on the in-flight list */
	uint64_t user_data;
	struct fastipc_completion done;
	union {
		struct fastipc_aslot slot;	/* FASTIPC_RING_CALL */
		int32_t cancelled;		/* FASTIPC_RING_CANCEL */
		struct rx_slot *rx;		/* OP_RECV */
		struct {			/* OP_REPLY */
			struct ring_srv *rs;
			struct rx_slot *rx;	/* whose room it is read from, or NULL */
			uint64_t token;
			uint32_t len;
		} reply;
	};
};

struct fastipc_ring {
	struct io_uring uring;
	unsigned long gen;		/* fastipc_fork_gen at creation */
	bool busy;			/* handlers are running */
	unsigned int pending;		/* completions to come, of all ops */
	unsigned int quiet;		/* of them, OP_QUIET's */
	struct ring_op inflight;	/* ops with completions to come */
	struct ring_op *done;		/* completions not reaped yet, oldest first */
	struct ring_op **done_tail;
	unsigned int ndone;
	struct ring_op *recycle;	/* completions the last reap handed out */
	struct ring_op *free;
	struct ring_srv *servers;
	int error;			/* the first failed receive not reported */
};

static struct ring_op *op_new(struct fastipc_ring *r, unsigned int kind, uint64_t user_data)
{
	struct ring_op *op = r->free;

	if (op)
		r->free = op->next;
	else if (!(op = malloc(sizeof(*op))))
		return NULL;
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->cqes = 1;
	op->user_data = user_data;
	return op;
}

static void op_free(struct fastipc_ring *r, struct ring_op *op)
{
	op->next = r->free;
	r->free = op;
}

static void inflight_add(struct fastipc_ring *r, struct ring_op *op)
{
	op->next = r->inflight.next;
	op->prev = &r->inflight;
	op->next->prev = op;
	r->inflight.next = op;
}

static void inflight_del(struct ring_op *op)
{
	op->prev->next = op->next;
	op->next->prev = op->prev;
}

/* Makes @op's completion the caller's, once its last CQE is in. */
static void done_add(struct fastipc_ring *r, struct ring_op *op)
{
	op->done.user_data = op->user_data;
	op->done.kind = op->kind;
	op->next = NULL;
	*r->done_tail = op;
	r->done_tail = &op->next;
	r->ndone++;
}

/* Frees an op that was handed out or dropped, giving back its reply room. */
static void op_retire(struct fastipc_ring *r, struct ring_op *op)
{
	if (op->kind == FASTIPC_RING_CALL && op->slot.arena)
		fastipc_aslot_put(&op->slot);
	op_free(r, op);
}

/* A zeroed SQE for @op, submitting the queue first if it is full. */
static int ring_sqe(struct fastipc_ring *r, struct ring_op *op, struct io_uring_sqe **sqep)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->uring);
	int ret;

	if (!sqe) {
		ret = io_uring_submit(&r->uring);
		if (ret < 0)
			return ret;
		sqe = io_uring_get_sqe(&r->uring);
		if (!sqe)
			return -EBUSY;
	}
	memset(sqe, 0, SQE_SIZE);
	io_uring_sqe_set_data(sqe, op);
	r->pending++;
	if (!op->listed) {
		inflight_add(r, op);
		op->listed = true;
	}
	*sqep = sqe;
	return 0;
}

/* Queues FASTIPC_URING_* command @cmd_op on port @fd for @op. */
static int queue_cmd(struct fastipc_ring *r, struct ring_op *op, int fd, uint32_t cmd_op,
		     const void *cmd, size_t len)
{
	struct io_uring_sqe *sqe;
	int ret = ring_sqe(r, op, &sqe);

	if (ret)
		return ret;
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->cmd_op = cmd_op;
	memcpy((char *)sqe + CMD_OFFSET, cmd, len);
	return 0;
}

/* Queues the cancel, on port @fd, of @target, counted by @op. */
static int queue_cancel(struct fastipc_ring *r, struct ring_op *op, int fd,
			const struct ring_op *target)
{
	struct fastipc_uring_cancel cancel;

	memset(&cancel, 0, sizeof(cancel));
	cancel.tag = (uintptr_t)target;
	return queue_cmd(r, op, fd, FASTIPC_URING_CANCEL, &cancel, sizeof(cancel));
}

/* Cancels @target for the library's sake; r->quiet counts these. */
static int queue_quiet_cancel(struct fastipc_ring *r, int fd, const struct ring_op *target)
{
	struct ring_op *op = op_new(r, OP_QUIET, 0);
	int ret;

	if (!op)
		return -ENOMEM;
	ret = queue_cancel(r, op, fd, target);
	if (ret) {
		op_free(r, op);
		return ret;
	}
	r->quiet++;
	return 0;
}

/*
 * The ring's set-up, best first. FASTIPC_URING_* need big SQEs and CQEs.
 * With DEFER_TASKRUN a completion's task work waits for the ring's thread
 * to enter io_uring, instead of waking the thread for each completion.
 * TASKRUN_FLAG says when work waits, sparing a system call per reap
 * otherwise.
 */
static const unsigned int setup_flags[] = {
	IORING_SETUP_SQE128 | IORING_SETUP_CQE32 | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE |
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
	IORING_SETUP_SQE128 | IORING_SETUP_CQE32 | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE |
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
	IORING_SETUP_SQE128 | IORING_SETUP_CQE32 | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE,
};

int fastipc_ring_create(unsigned int entries, unsigned int flags, struct fastipc_ring **ringp)
{
	struct io_uring_params p;
	unsigned long long features;
	struct fastipc_ring *r;
	unsigned int abi;
	size_t i;
	int fd, ret;

	if (flags || entries > FASTIPC_RING_MAX_ENTRIES)
		return -EINVAL;
	if (!entries)
		entries = FASTIPC_RING_DEFAULT_ENTRIES;
	fastipc_lib_init();
	fd = fastipc_open();
	if (fd < 0)
		return fd;
	ret = fastipc_version(fd, &abi, &features);
	close(fd);
	if (ret)
		return ret;
	if (!(features & FASTIPC_F_URING))
		return -EOPNOTSUPP;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (i = 0; i < sizeof(setup_flags) / sizeof(setup_flags[0]); i++) {
		memset(&p, 0, sizeof(p));
		p.flags = setup_flags[i];
		/*
		 * Calls in flight are not bounded by @entries, so the completion
		 * queue gets headroom; the kernel keeps what overflows it anyway.
		 */
		p.cq_entries = entries * 4;
		ret = io_uring_queue_init_params(entries, &r->uring, &p);
		if (ret != -EINVAL)
			break;
	}
	if (ret) {
		free(r);
		return ret;
	}
	r->gen = __atomic_load_n(&fastipc_fork_gen, __ATOMIC_RELAXED);
	r->inflight.next = r->inflight.prev = &r->inflight;
	r->done_tail = &r->done;
	*ringp = r;
	return 0;
}

int fastipc_ring_fd(const struct fastipc_ring *r)
{
	return r->uring.ring_fd;
}

int fastipc_ring_submit(struct fastipc_ring *r)
{
	return io_uring_submit(&r->uring);
}

int fastipc_ring_prep_call(struct fastipc_ring *r, struct fastipc_client *cl, uint32_t opcode,
			   const void *req, uint32_t req_len, uint64_t user_data)
{
	struct fastipc_uring_call call;
	struct ring_op *op;
	int ret;

	if (opcode >= FASTIPC_OPCODE_RESERVED)
		return -EINVAL;
	op = op_new(r, FASTIPC_RING_CALL, user_data);
	if (!op)
		return -ENOMEM;
	ret = fastipc_aslot_get(cl, &op->slot);
	if (ret)
		goto fail;
	memset(&call, 0, sizeof(call));
	call.opcode = opcode;
	call.req_addr = (uintptr_t)req;
	call.req_len = req_len;
	call.reply_buf = op->slot.buf_id;
	call.reply_offset = op->slot.offset;
	call.reply_cap = op->slot.cap;
	call.tag = (uintptr_t)op;
	ret = queue_cmd(r, op, op->slot.fd, FASTIPC_URING_CALL, &call, sizeof(call));
	if (ret) {
		fastipc_aslot_put(&op->slot);
		goto fail;
	}
	return 0;
fail:
	op_free(r, op);
	return ret;
}

int fastipc_ring_prep_send(struct fastipc_ring *r, struct fastipc_client *cl, uint32_t opcode,
			   const void *data, uint32_t len, unsigned int flags, uint64_t user_data)
{
	struct fastipc_send send;
	struct ring_op *op;
	int ret;

	/* The device does not wait for room for a ring (FASTIPC_SEND_WAIT). */
	if (flags)
		return -EINVAL;
	ret = fastipc_send_init(&send, opcode, data, len, flags);
	if (ret)
		return ret;
	op = op_new(r, FASTIPC_RING_SEND, user_data);
	if (!op)
		return -ENOMEM;
	ret = queue_cmd(r, op, fastipc_client_fd(cl), FASTIPC_URING_SEND, &send, sizeof(send));
	if (ret)
		op_free(r, op);
	return ret;
}

/* Whether @op is a call that fastipc_ring_prep_cancel() means. */
static bool cancel_matches(const struct ring_op *op, const struct fastipc_arena *arena,
			   uint64_t tag, unsigned int flags)
{
	if (op->kind != FASTIPC_RING_CALL || (arena && op->slot.arena != arena))
		return false;
	if (!(flags & FASTIPC_RING_CANCEL_ALL) && op->user_data != tag)
		return false;
	/* A closed client's ports are closed: its calls can only complete. */
	return fastipc_aslot_port_open(&op->slot);
}

int fastipc_ring_prep_cancel(struct fastipc_ring *r, struct fastipc_client *cl, uint64_t tag,
			     unsigned int flags, uint64_t user_data)
{
	const struct fastipc_arena *arena = cl ? fastipc_client_arena(cl) : NULL;
	struct io_uring_sqe *sqe;
	struct ring_op *op, *x;
	int ret = 0;

	if (flags & ~FASTIPC_RING_CANCEL_ALL || (flags & FASTIPC_RING_CANCEL_ALL && tag))
		return -EINVAL;
	op = op_new(r, FASTIPC_RING_CANCEL, user_data);
	if (!op)
		return -ENOMEM;
	op->cqes = 0;
	/* A client without an arena never made a call. */
	for (x = r->inflight.next; x != &r->inflight && !ret && (!cl || arena); x = x->next) {
		if (!cancel_matches(x, arena, tag, flags))
			continue;
		ret = queue_cancel(r, op, x->slot.fd, x);
		if (!ret)
			op->cqes++;
	}
	/* Nothing to cancel: a no-op brings the -ENOENT along the same way. */
	if (!op->cqes && !ret) {
		ret = ring_sqe(r, op, &sqe);
		if (!ret) {
			io_uring_prep_nop(sqe);
			op->cqes = 1;
		}
	}
	/* Failing part way, the count says how many of them were cancelled. */
	if (op->cqes)
		return 0;
	op_free(r, op);
	return ret;
}

/* Queues the answer to @token, @len bytes of @rx's reply room. */
static void queue_reply(struct fastipc_ring *r, struct ring_srv *rs, struct rx_slot *rx,
			uint64_t token, int32_t status, uint32_t len)
{
	struct fastipc_uring_reply rep;
	struct ring_op *op = op_new(r, OP_REPLY, 0);
	int ret = -ENOMEM;

	memset(&rep, 0, sizeof(rep));
	rep.status = status;
	rep.token = token;
	rep.addr = len ? (uintptr_t)rx->reply : 0;
	rep.len = len;
	if (op) {
		op->reply.rs = rs;
		op->reply.rx = len ? rx : NULL;
		op->reply.token = token;
		op->reply.len = len;
		ret = queue_cmd(r, op, rs->fd, FASTIPC_URING_REPLY, &rep, sizeof(rep));
	}
	if (ret) {
		if (op)
			op_free(r, op);
		/* No answer can be queued: the caller must not wait for ever. */
		fastipc_reply_token(rs->fd, token, status, len ? rx->reply : NULL, len);
		return;
	}
	rs->ops++;
	if (len)
		rx->replying = true;
}

static void ring_fail(struct fastipc_ring *r, int err)
{
	if (!r->error)
		r->error = err;
}

/* Arms @rx's receive. */
static int rx_arm(struct fastipc_ring *r, struct rx_slot *rx)
{
	struct fastipc_uring_recv recv;
	struct ring_srv *rs = rx->rs;
	struct ring_op *op = op_new(r, OP_RECV, 0);
	int ret;

	if (!op)
		return -ENOMEM;
	op->rx = rx;
	memset(&recv, 0, sizeof(recv));
	recv.msg_buf = rs->info_id;
	recv.msg_offset = rx->idx * sizeof(*rs->info);
	recv.tag = (uintptr_t)op;
	ret = queue_cmd(r, op, rs->fd, FASTIPC_URING_RECV, &recv, sizeof(recv));
	if (ret) {
		op_free(r, op);
		return ret;
	}
	rx->recv = op;
	rs->ops++;
	return 0;
}

/* Handles the message in @rx's record, answers it and receives again. */
static void rx_handle(struct fastipc_ring *r, struct rx_slot *rx)
{
	struct ring_srv *rs = rx->rs;
	struct fastipc_msg_info mi = rs->info[rx->idx];
	struct fastipc_answer ans;
	int ret;

	fastipc_server_receive(rs->srv, &mi, rx->reply, &ans);
	if (ans.held)
		queue_reply(r, rs, rx, mi.token, ans.status, ans.reply_len);
	if (rs->leaving)
		return;
	ret = rx_arm(r, rx);
	if (ret)
		ring_fail(r, ret);
}

static void rx_received(struct fastipc_ring *r, struct ring_op *op, int res)
{
	struct rx_slot *rx = op->rx;
	struct ring_srv *rs = rx->rs;

	op_free(r, op);
	rx->recv = NULL;
	rs->ops--;
	if (res < 0) {
		/* Not armed again; unless it is being removed, it failed. */
		if (res != -ECANCELED || !rs->leaving)
			ring_fail(r, res);
		return;
	}
	if (rx->replying)
		rx->waiting = true;
	else
		rx_handle(r, rx);
}

static void rx_replied(struct fastipc_ring *r, struct ring_op *op, int res)
{
	struct ring_srv *rs = op->reply.rs;
	struct rx_slot *rx = op->reply.rx;
	uint64_t token = op->reply.token;
	uint32_t len = op->reply.len;

	op_free(r, op);
	rs->ops--;
	/* As the thread pool does: the caller gets the error instead. */
	if (fastipc_reply_again(res, len))
		queue_reply(r, rs, NULL, token, res, 0);
	if (!rx)
		return;
	rx->replying = false;
	if (rx->waiting) {
		rx->waiting = false;
		rx_handle(r, rx);
	}
}

/* Handles one completion: @res and the first extra word of its CQE. */
static void ring_complete(struct fastipc_ring *r, struct ring_op *op, int res, uint64_t extra)
{
	r->pending--;
	/* A cancel's completions count the calls each of its commands cancelled. */
	if (op->kind == FASTIPC_RING_CANCEL && res > 0)
		op->cancelled += res;
	if (--op->cqes)
		return;
	inflight_del(op);
	switch (op->kind) {
	case FASTIPC_RING_CALL:
		op->done.result = res < 0 ? res : 0;
		if (res >= 0) {
			op->done.status = (int32_t)extra;
			op->done.len = res;
			op->done.data = op->slot.mem;
		} else {
			/* The kernel is done with the room: give it back now. */
			fastipc_aslot_put(&op->slot);
			op->slot.arena = NULL;
		}
		done_add(r, op);
		break;
	case FASTIPC_RING_SEND:
		op->done.result = res;
		done_add(r, op);
		break;
	case FASTIPC_RING_CANCEL:
		op->done.result = op->cancelled ? op->cancelled : -ENOENT;
		done_add(r, op);
		break;
	case OP_RECV:
		rx_received(r, op, res);
		break;
	case OP_REPLY:
		rx_replied(r, op, res);
		break;
	case OP_QUIET:
		r->quiet--;
		op_free(r, op);
		break;
	}
}

/* Whether completions may wait as task work for the ring's thread. */
static bool ring_task_work(const struct fastipc_ring *r)
{
	if (!(r->uring.flags & IORING_SETUP_DEFER_TASKRUN))
		return false;
	if (!(r->uring.flags & IORING_SETUP_TASKRUN_FLAG))
		return true;
	return __atomic_load_n(r->uring.sq.kflags, __ATOMIC_ACQUIRE) & IORING_SQ_TASKRUN;
}

/* Handles every completion that is there, running task work once if need be. */
static void ring_drain(struct fastipc_ring *r)
{
	struct io_uring_cqe *cqe;
	bool flushed = false;
	struct ring_op *op;
	uint64_t extra;
	int res;

	for (;;) {
		while (!io_uring_peek_cqe(&r->uring, &cqe)) {
			op = io_uring_cqe_get_data(cqe);
			res = cqe->res;
			extra = cqe->big_cqe[0];
			/* Free the entry before handlers run, which may take a while. */
			io_uring_cqe_seen(&r->uring, cqe);
			ring_complete(r, op, res, extra);
		}
		if (flushed || !ring_task_work(r))
			return;
		io_uring_get_events(&r->uring);
		flushed = true;
	}
}

/*
 * Submits what is queued and waits for a completion, until @deadline if not
 * NULL: 0, or -errno (-ETIME when the deadline passed).
 */
static int ring_wait(struct fastipc_ring *r, const struct timespec *deadline)
{
	struct __kernel_timespec ts;
	struct io_uring_cqe *cqe;
	struct timespec now;
	int64_t left;
	int ret;

	if (!deadline) {
		ret = io_uring_submit_and_wait(&r->uring, 1);
		return ret < 0 ? ret : 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	left = (deadline->tv_sec - now.tv_sec) * 1000000000LL + deadline->tv_nsec - now.tv_nsec;
	if (left <= 0) {
		ret = io_uring_submit(&r->uring);
		return ret < 0 ? ret : -ETIME;
	}
	ts.tv_sec = left / 1000000000LL;
	ts.tv_nsec = left % 1000000000LL;
	ret = io_uring_submit_and_wait_timeout(&r->uring, &cqe, 1, &ts, NULL);
	return ret < 0 ? ret : 0;
}

static void deadline_after(struct timespec *d, uint64_t ns)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	ns += d->tv_nsec;
	d->tv_sec += ns / 1000000000ULL;
	d->tv_nsec = ns % 1000000000ULL;
}

/* Whether anything is queued or in flight that will complete. */
static bool ring_active(struct fastipc_ring *r)
{
	return r->pending || io_uring_sq_ready(&r->uring);
}

/* Gives back what the last reap handed out. */
static void ring_recycle(struct fastipc_ring *r)
{
	struct ring_op *op;

	while ((op = r->recycle)) {
		r->recycle = op->next;
		op_retire(r, op);
	}
}

int fastipc_ring_reap(struct fastipc_ring *r, struct fastipc_completion *comps,
		      unsigned int max, unsigned int min, uint64_t timeout_ns)
{
	struct timespec deadline;
	struct ring_op *op;
	unsigned int n = 0;
	int ret = 0, err;

	if (r->busy)
		return -EBUSY;
	r->busy = true;
	ring_recycle(r);
	if (min > max)
		min = max;
	if (timeout_ns)
		deadline_after(&deadline, timeout_ns);
	for (;;) {
		ring_drain(r);
		if (r->ndone >= min || !ring_active(r))
			break;
		ret = ring_wait(r, timeout_ns ? &deadline : NULL);
		if (ret)
			break;
	}
	/* The answers and receives that handlers queued go out now. */
	if (io_uring_sq_ready(&r->uring)) {
		err = io_uring_submit(&r->uring);
		if (err < 0 && !ret)
			ret = err;
	}
	while (n < max && (op = r->done)) {
		r->done = op->next;
		if (!r->done)
			r->done_tail = &r->done;
		r->ndone--;
		comps[n++] = op->done;
		op->next = r->recycle;
		r->recycle = op;
	}
	r->busy = false;
	if (n)
		return n;
	if (r->error) {
		ret = r->error;
		r->error = 0;
	}
	return ret == -ETIME ? -ETIMEDOUT : ret;
}

/* Frees @rs, once nothing of it is in flight any more. */
static void ring_srv_free(struct fastipc_ring *r, struct ring_srv *rs)
{
	bool ours = r->gen == __atomic_load_n(&fastipc_fork_gen, __ATOMIC_RELAXED);
	unsigned int i;

	if (ours && rs->info) {
		fastipc_buf_unregister(rs->fd, rs->info_id);
		fastipc_unmap(rs->info, rs->info_len);
	}
	for (i = 0; i < rs->depth; i++)
		free(rs->rx[i].reply);
	if (ours) {
		fastipc_server_unclaim(rs->srv);
		fastipc_server_put(rs->srv);
	}
	free(rs);
}

/* Stops serving @rs and frees it: 0, or -errno when it cannot wait (it stays). */
static int ring_detach(struct fastipc_ring *r, struct ring_srv *rs)
{
	struct ring_srv **pp;
	unsigned int i;
	int ret = 0;

	rs->leaving = true;
	for (i = 0; i < rs->depth; i++) {
		/* If no cancel can be queued, the next message ends the receive. */
		if (rs->rx[i].recv)
			queue_quiet_cancel(r, rs->fd, rs->rx[i].recv);
	}
	for (;;) {
		ring_drain(r);
		if (!rs->ops)
			break;
		ret = ring_wait(r, NULL);
		if (ret && ret != -EINTR)
			return ret;
	}
	for (pp = &r->servers; *pp != rs; pp = &(*pp)->next)
		;
	*pp = rs->next;
	ring_srv_free(r, rs);
	return 0;
}

int fastipc_ring_add_server(struct fastipc_ring *r, struct fastipc_server *srv,
			    unsigned int depth)
{
	struct ring_srv *rs;
	unsigned int i;
	int ret;

	if (depth > FASTIPC_RING_MAX_DEPTH)
		return -EINVAL;
	if (r->busy)
		return -EBUSY;
	if (!depth)
		depth = FASTIPC_RING_DEFAULT_DEPTH;
	ret = fastipc_server_claim(srv);
	if (ret)
		return ret;
	fastipc_server_get(srv);
	rs = calloc(1, sizeof(*rs) + depth * sizeof(rs->rx[0]));
	if (!rs) {
		fastipc_server_unclaim(srv);
		fastipc_server_put(srv);
		return -ENOMEM;
	}
	rs->srv = srv;
	rs->fd = fastipc_server_fd(srv);
	rs->depth = depth;
	rs->next = r->servers;
	r->servers = rs;

	ret = -ENOMEM;
	for (i = 0; i < depth; i++) {
		rs->rx[i].rs = rs;
		rs->rx[i].idx = i;
		rs->rx[i].reply = malloc(fastipc_server_reply_size(srv));
		if (!rs->rx[i].reply)
			goto fail;
	}
	rs->info_len = depth * sizeof(*rs->info);
	rs->info = fastipc_map(rs->info_len);
	if (!rs->info)
		goto fail;
	ret = fastipc_buf_register(rs->fd, rs->info, rs->info_len);
	if (ret < 0) {
		fastipc_unmap(rs->info, rs->info_len);
		rs->info = NULL;
		goto fail;
	}
	rs->info_id = ret;
	for (i = 0; i < depth; i++) {
		ret = rx_arm(r, &rs->rx[i]);
		if (ret)
			goto fail;
	}
	return 0;
fail:
	/* Takes back the receives armed so far. */
	r->busy = true;
	ring_detach(r, rs);
	r->busy = false;
	return ret;
}

static struct ring_srv *ring_srv_find(struct fastipc_ring *r, const struct fastipc_server *srv)
{
	struct ring_srv *rs;

	for (rs = r->servers; rs && rs->srv != srv; rs = rs->next)
		;
	return rs;
}

int fastipc_ring_remove_server(struct fastipc_ring *r, struct fastipc_server *srv)
{
	struct ring_srv *rs = ring_srv_find(r, srv);
	int ret;

	if (!rs)
		return -ENOENT;
	if (r->busy)
		return -EBUSY;
	r->busy = true;
	ret = ring_detach(r, rs);
	r->busy = false;
	return ret;
}

/* Whether fastipc_server_stop() was called for one of @servers. */
static bool any_stopping(struct fastipc_server *const *servers, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (fastipc_server_stopping(servers[i]))
			return true;
	}
	return false;
}

int fastipc_ring_serve(struct fastipc_ring *r, struct fastipc_server *const *servers,
		       unsigned int n)
{
	struct ring_srv *rs;
	unsigned int added, i;
	int ret = 0, err;

	if (!n)
		return -EINVAL;
	if (r->busy)
		return -EBUSY;
	ring_recycle(r);
	for (added = 0; added < n && !ret; added++)
		ret = fastipc_ring_add_server(r, servers[added], 0);
	if (ret) {
		added--;
		goto out;
	}
	r->busy = true;
	for (;;) {
		ring_drain(r);
		if (r->error) {
			ret = r->error;
			r->error = 0;
			break;
		}
		if (any_stopping(servers, n))
			break;
		ret = ring_wait(r, NULL);
		if (ret && ret != -EINTR)
			break;
		ret = 0;
	}
	r->busy = false;
out:
	r->busy = true;
	for (i = 0; i < added; i++) {
		rs = ring_srv_find(r, servers[i]);
		err = rs ? ring_detach(r, rs) : 0;
		if (err && !ret)
			ret = err;
	}
	r->busy = false;
	return ret;
}

/*
 * Cancels what is in flight and waits for it, so that nothing of the ring's
 * is left for the kernel to cancel as the ring closes, which it does in the
 * background. Calls waiting for a peer or for a slot are the module's to
 * cancel; anything in an io_uring worker (commands submitted with
 * IOSQE_ASYNC) is for io_uring's own synchronous cancel.
 */
static void ring_quiesce(struct fastipc_ring *r)
{
	struct io_uring_sync_cancel_reg reg;
	struct ring_op *x;
	int ret;

	for (x = r->inflight.next; x != &r->inflight; x = x->next) {
		if (cancel_matches(x, NULL, 0, FASTIPC_RING_CANCEL_ALL))
			queue_quiet_cancel(r, x->slot.fd, x);
	}
	while (r->quiet) {
		ring_drain(r);
		if (!r->quiet)
			break;
		ret = ring_wait(r, NULL);
		if (ret && ret != -EINTR)
			break;
	}
	memset(&reg, 0, sizeof(reg));
	reg.fd = -1;
	reg.flags = IORING_ASYNC_CANCEL_ANY;
	reg.timeout.tv_sec = -1;
	reg.timeout.tv_nsec = -1;
	io_uring_register_sync_cancel(&r->uring, &reg);
	/* The cancelled commands' completions, some of them task work. */
	io_uring_get_events(&r->uring);
	ring_drain(r);
}

void fastipc_ring_destroy(struct fastipc_ring *r)
{
	struct ring_srv *rs;
	struct ring_op *op;
	bool ours;

	if (!r)
		return;
	/* A fork() child's copy: nothing in it is the child's to give back. */
	ours = r->gen == __atomic_load_n(&fastipc_fork_gen, __ATOMIC_RELAXED);
	if (ours) {
		r->busy = true;
		while (r->servers && !ring_detach(r, r->servers))
			;
		ring_quiesce(r);
		ring_recycle(r);
		while ((op = r->done)) {
			r->done = op->next;
			op_retire(r, op);
		}
	}
	io_uring_queue_exit(&r->uring);

	while ((op = r->inflight.next) != &r->inflight) {
		inflight_del(op);
		if (ours && op->kind == FASTIPC_RING_CALL)
			fastipc_aslot_abandon(&op->slot);
		op_free(r, op);
	}
	while ((rs = r->servers)) {
		r->servers = rs->next;
		ring_srv_free(r, rs);
	}
	while ((op = r->free)) {
		r->free = op->next;
		free(op);
	}
	while ((op = r->done)) {
		r->done = op->next;
		free(op);
	}
	while ((op = r->recycle)) {
		r->recycle = op->next;
		free(op);
	}
	free(r);
}
