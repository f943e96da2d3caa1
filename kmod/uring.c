// SPDX-License-Identifier: GPL-2.0
/*
 * io_uring commands: asynchronous calls, sends, receives and replies.
 *
 * A command that waits for a peer (a call for its reply, a receive for a
 * message) becomes a struct fastipc_uring_op, listed on its port, and returns
 * -EIOCBQUEUED. Its call or its place among the idle servers is an ordinary
 * struct fastipc_caller or struct fastipc_waiter whose callback, run by the
 * peer under the endpoint's lock, queues task work that posts the CQE.
 *
 * An op's state, under the lock of its endpoint (the endpoint its call is
 * attached to, or the receiving port's endpoint):
 *
 *   WAITING -> COMPLETING   a peer answered (call) or handed over a message
 *                           (receive, which then remembers its token), or a
 *                           canceller claimed it; the task work is queued
 *   WAITING -> (freed)      io_uring's cancellation claimed it and posted
 *                           ECANCELED in place
 *   COMPLETING -> GIVEN_BACK   the ring died before the receive's task work
 *                           posted the message: it went back to the endpoint
 *   COMPLETING|GIVEN_BACK -> (freed)   the task work posted the CQE
 *
 * Only the task work (or an in-place completion) frees an op, and both run
 * under the ring's own lock, which io_uring's cancellation also holds (on
 * 6.1 task work may run without it; nothing there relies on it): a
 * canceller never meets a freed op. A call not sent yet (every slot taken)
 * waits on ep->slot_wq with an entry of its own; a freed slot is taken for
 * it at once, and task work in the submitter, whose memory holds the
 * request, copies the request in and sends it.
 *
 * Cancellation: FASTIPC_URING_CANCEL by tag, io_uring's IO_URING_F_CANCEL
 * when the ring closes (6.7 on), or on older kernels the port's monitor,
 * which looks for ops whose ring is going away. None of them waits.
 *
 * Locking: port->uring_lock, then the endpoint's lock. An op is listed on
 * its port, and published in its command for io_uring's cancellation, before
 * anything can complete it; its task work unlists it.
 */
#include <linux/pid_namespace.h>
#include <linux/slab.h>
#include <linux/user_namespace.h>

#include "compat.h"
#include "fastipc.h"
#include "trace.h"

/* How often the monitor looks for abandoned commands, where it runs. */
#define FASTIPC_URING_MONITOR_PERIOD	HZ

enum fastipc_uring_op_state {
	FASTIPC_OP_WAITING,
	FASTIPC_OP_COMPLETING,
	FASTIPC_OP_GIVEN_BACK,
};

/**
 * struct fastipc_uring_op - an io_uring command waiting for a peer
 * @node: in port->uring_ops, under port->uring_lock.
 * @cmd: the io_uring command.
 * @tag: the tag the submitter gave, for FASTIPC_URING_CANCEL.
 * @state: an enum fastipc_uring_op_state, under the endpoint's lock.
 * @res: the CQE's result, set before the task work is queued.
 * @res2: the CQE's big_cqe[0].
 * @is_call: @call is in use, else the receive fields.
 * @slot_wait: on the endpoint's slot_wq while @slot_waiting.
 * @slot_waiting: a call waiting for a free slot, under the endpoint's lock.
 * @reserved: the slot a wake-up took for the call, which its task work
 *	copies the request into. Under the endpoint's lock.
 * @cancel_unsent: a canceller found the call being sent; whoever sends it
 *	completes it with ECANCELED instead. Under the endpoint's lock.
 * @opcode: the call's opcode, kept until it is sent.
 * @req_len: its request's length.
 * @req_addr: its request, in the submitter's memory.
 * @call: an asynchronous call.
 * @recv: an asynchronous receive's place among the idle servers.
 * @token: the token of the message handed to the receive.
 * @msg_buf: the registered buffer the received message's record goes to.
 * @msg: where, in its kernel mapping.
 * @pid_ns: the receiver's PID namespace, for the sender's pid.
 * @user_ns: the receiver's user namespace, for the sender's ids.
 */
struct fastipc_uring_op {
	struct list_head node;
	struct io_uring_cmd *cmd;
	u64 tag;
	int state;
	s32 res;
	u64 res2;
	bool is_call;
	union {
		struct {
			struct fastipc_caller call;
			wait_queue_entry_t slot_wait;
			bool slot_waiting;
			struct fastipc_slot *reserved;
			bool cancel_unsent;
			u32 opcode;
			u32 req_len;
			u64 req_addr;
		};
		struct {
			struct fastipc_waiter recv;
			u64 token;
			struct fastipc_buf *msg_buf;
			struct fastipc_msg_info *msg;
			struct pid_namespace *pid_ns;
			struct user_namespace *user_ns;
		};
	};
};

/* What a claim on an op found: see fastipc_uring_op_claim(). */
enum fastipc_uring_claim {
	FASTIPC_CLAIM_NONE,	/* completed or completing already */
	FASTIPC_CLAIM_OWNED,	/* the claimer completes it */
	FASTIPC_CLAIM_DEFERRED,	/* cancelled; its sender completes it */
};

union fastipc_uring_arg {
	struct fastipc_uring_call call;
	struct fastipc_send send;
	struct fastipc_uring_recv recv;
	struct fastipc_uring_reply reply;
	struct fastipc_uring_cancel cancel;
};

/* The command area of a 128-byte SQE. */
static_assert(sizeof(union fastipc_uring_arg) <= 80);

static struct fastipc_port *fastipc_uring_port(struct io_uring_cmd *cmd)
{
	return cmd->file->private_data;
}

static struct fastipc_uring_op *fastipc_uring_op(struct io_uring_cmd *cmd)
{
	return *(struct fastipc_uring_op **)cmd->pdu;
}

static struct fastipc_uring_op *fastipc_uring_op_alloc(struct io_uring_cmd *cmd, u64 tag)
{
	struct fastipc_uring_op *op;

	op = kzalloc(sizeof(*op), GFP_KERNEL_ACCOUNT);
	if (!op)
		return NULL;
	INIT_LIST_HEAD(&op->node);
	op->cmd = cmd;
	op->tag = tag;
	op->state = FASTIPC_OP_WAITING;
	return op;
}

static void fastipc_uring_op_free(struct fastipc_uring_op *op)
{
	if (op->is_call) {
		fastipc_caller_release(&op->call);
	} else {
		fastipc_buf_put(op->msg_buf);
		put_pid_ns(op->pid_ns);
		put_user_ns(op->user_ns);
	}
	kfree(op);
}

/*
 * Make @op's command cancelable. io_uring's cancellation finds the op
 * through the command, only once fastipc_uring_op_publish() put it there.
 */
static void fastipc_uring_op_arm(struct fastipc_uring_op *op, unsigned int issue_flags)
{
	*(struct fastipc_uring_op **)op->cmd->pdu = NULL;
	io_uring_cmd_mark_cancelable(op->cmd, issue_flags);
}

/* Under the endpoint's lock, before anything can complete @op. */
static void fastipc_uring_op_publish(struct fastipc_uring_op *op)
{
	WRITE_ONCE(*(struct fastipc_uring_op **)op->cmd->pdu, op);
}

/* List an op on its port: from now on FASTIPC_URING_CANCEL sees it. */
static void fastipc_uring_op_list(struct fastipc_port *port, struct fastipc_uring_op *op)
	__must_hold(&port->uring_lock)
{
	list_add_tail(&op->node, &port->uring_ops);
	if (FASTIPC_URING_MONITOR)
		schedule_delayed_work(&port->uring_monitor, FASTIPC_URING_MONITOR_PERIOD);
}

static void fastipc_uring_op_unlist(struct fastipc_port *port, struct fastipc_uring_op *op)
{
	spin_lock(&port->uring_lock);
	list_del_init(&op->node);
	spin_unlock(&port->uring_lock);
}

/* The lock that guards @op's state: see the table at the top. */
static struct fastipc_endpoint *fastipc_uring_op_lock(struct fastipc_port *port,
						      struct fastipc_uring_op *op)
	__acquires(&ep->lock)
{
	struct fastipc_endpoint *ep;

	if (op->is_call)
		return fastipc_caller_lock(&op->call);
	ep = port->ep;
	spin_lock(&ep->lock);
	return ep;
}

/*
 * A receive whose ring or task dies before its CQE is posted gives its
 * message back to the endpoint, unless the message is gone already (the
 * endpoint died, or its server guessed the token).
 */
static void fastipc_uring_recv_give_back(struct fastipc_endpoint *ep, struct fastipc_uring_op *op)
	__must_hold(&ep->lock)
{
	struct fastipc_slot *slot = op->recv.slot;

	if (slot->state == FASTIPC_SLOT_HELD && slot->token == op->token)
		fastipc_slot_redeliver(ep, slot);
	op->state = FASTIPC_OP_GIVEN_BACK;
}

/*
 * The receive's message, unless its ring or task is dying (@dead): then it
 * goes back to the endpoint and the CQE, which nobody will read, says
 * ECANCELED. Called by the task work, which posts the CQE.
 */
static void fastipc_uring_recv_commit(struct fastipc_port *port, struct fastipc_uring_op *op,
				      bool dead)
{
	struct fastipc_endpoint *ep = port->ep;
	struct fastipc_slot *slot;

	spin_lock(&ep->lock);
	slot = op->recv.slot;
	if (op->state != FASTIPC_OP_COMPLETING || !slot) {
		/* Cancelled, or its message given back already. */
	} else if (slot->state != FASTIPC_SLOT_HELD || slot->token != op->token) {
		/* The endpoint died, or its server guessed the token first. */
		op->res = ep->dead ? -EPIPE : -ECANCELED;
		op->res2 = 0;
	} else if (dead) {
		fastipc_uring_recv_give_back(ep, op);
	} else {
		fastipc_msg_info_fill(ep, slot, op->msg, op->pid_ns, op->user_ns);
		op->res = slot->len;
		op->res2 = slot->token;
		/* Posted: no later canceller may give it back too. */
		op->recv.slot = NULL;
	}
	if (op->state == FASTIPC_OP_GIVEN_BACK) {
		op->res = -ECANCELED;
		op->res2 = 0;
	}
	spin_unlock(&ep->lock);
}

/* Task work: post the CQE of an op a peer or a canceller completed. */
static void fastipc_uring_complete_tw(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
	struct fastipc_port *port = fastipc_uring_port(cmd);
	struct fastipc_uring_op *op = fastipc_uring_op(cmd);

	if (!op->is_call)
		fastipc_uring_recv_commit(port, op, fastipc_uring_tw_dead(cmd, issue_flags));
	fastipc_uring_op_unlist(port, op);
	io_uring_cmd_done(cmd, op->res, op->res2, issue_flags);
	fastipc_uring_op_free(op);
}

/* Complete @op from wherever we are: its task work posts the CQE. */
static void fastipc_uring_complete(struct fastipc_uring_op *op, s32 res, u64 res2)
{
	op->state = FASTIPC_OP_COMPLETING;
	op->res = res;
	op->res2 = res2;
	io_uring_cmd_complete_in_task(op->cmd, fastipc_uring_complete_tw);
}

/* The call's done() callback, under the endpoint's lock. */
static void fastipc_uring_call_done(struct fastipc_caller *call, bool sync)
{
	struct fastipc_uring_op *op = container_of(call, struct fastipc_uring_op, call);

	fastipc_uring_complete(op, call->error ?: call->reply_len, (u64)(s64)call->status);
}

/* The receive's deliver() callback, under the endpoint's lock. */
static void fastipc_uring_recv_deliver(struct fastipc_waiter *w, bool sync)
{
	struct fastipc_uring_op *op = container_of(w, struct fastipc_uring_op, recv);

	op->token = w->slot->token;
	fastipc_uring_complete(op, 0, 0);
}

/* Complete a call that was never sent. */
static void fastipc_uring_call_fail(struct fastipc_uring_op *op, int error)
	__must_hold(&op->call.ep->lock)
{
	op->call.error = error;
	op->call.state = FASTIPC_CALLER_DONE;
	fastipc_uring_complete(op, error, 0);
}

static void fastipc_uring_call_retry_tw(struct io_uring_cmd *cmd, unsigned int issue_flags);

/*
 * A slot was freed (or the endpoint died) while the call waited for one.
 * The wake-up takes the slot for the call at once: the task work that
 * copies the request in may run late (a stopped submitter), and a wake-up
 * spent on it must not leave the calls queued behind it waiting.
 */
static int fastipc_uring_slot_wake(wait_queue_entry_t *wait, unsigned int mode, int sync,
				   void *key)
{
	struct fastipc_uring_op *op = container_of(wait, struct fastipc_uring_op, slot_wait);
	struct fastipc_endpoint *ep = op->call.ep;

	/* Every wake-up of slot_wq happens under the endpoint's lock. */
	lockdep_assert_held(&ep->lock);
	list_del_init(&wait->entry);
	op->slot_waiting = false;
	if (!ep->dead && ep->nfree)
		op->reserved = fastipc_slot_take(ep, NULL);
	io_uring_cmd_complete_in_task(op->cmd, fastipc_uring_call_retry_tw);
	return 1;
}

/* Copy the call's request into a free slot, if there is one. */
static struct fastipc_slot *fastipc_uring_call_fill(struct fastipc_uring_op *op, bool nofault)
{
	return fastipc_slot_fill(op->call.ep, NULL, nofault ? FASTIPC_FILL_NOFAULT : 0,
				 KTIME_MAX, u64_to_user_ptr(op->req_addr), op->req_len);
}

/*
 * Publish the call in @slot, or, with none free, wait for one on the
 * endpoint; true if the caller should try to fill a slot again now.
 */
static bool fastipc_uring_call_post(struct fastipc_uring_op *op, struct fastipc_slot *slot)
{
	struct fastipc_endpoint *ep = op->call.ep;
	bool again = false;
	int ret;

	spin_lock(&ep->lock);
	fastipc_uring_op_publish(op);
	if (op->cancel_unsent) {
		if (!IS_ERR(slot))
			fastipc_slot_free(ep, slot);
		fastipc_uring_call_fail(op, -ECANCELED);
	} else if (!IS_ERR(slot)) {
		ret = fastipc_slot_publish(ep, slot, &op->call, op->opcode, op->req_len,
					   op->call.pid, op->call.uid, op->call.gid);
		if (ret)
			fastipc_uring_call_fail(op, ret);
	} else if (PTR_ERR(slot) != -EAGAIN || ep->dead) {
		fastipc_uring_call_fail(op, ep->dead ? -EPIPE : PTR_ERR(slot));
	} else if (ep->nfree) {
		/* A slot was freed since we looked. */
		again = true;
	} else {
		add_wait_queue_exclusive(&ep->slot_wq, &op->slot_wait);
		op->slot_waiting = true;
	}
	spin_unlock(&ep->lock);
	return again;
}

static void fastipc_uring_call_retry_tw(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
	struct fastipc_uring_op *op = fastipc_uring_op(cmd);
	struct fastipc_endpoint *ep = op->call.ep;
	struct fastipc_slot *slot;
	int ret;

	spin_lock(&ep->lock);
	slot = op->reserved;
	op->reserved = NULL;
	/* A worker runs it because the task is gone: no memory to read. */
	if (fastipc_uring_tw_dead(cmd, issue_flags)) {
		if (slot)
			fastipc_slot_free(ep, slot);
		fastipc_uring_call_fail(op, -ECANCELED);
		spin_unlock(&ep->lock);
		return;
	}
	spin_unlock(&ep->lock);
	if (slot) {
		ret = fastipc_slot_copy(ep, slot, u64_to_user_ptr(op->req_addr), op->req_len,
					false);
		if (ret)
			slot = ERR_PTR(ret);
	} else {
		slot = fastipc_uring_call_fill(op, false);
	}
	while (fastipc_uring_call_post(op, slot))
		slot = fastipc_uring_call_fill(op, false);
}

static int fastipc_uring_call(struct fastipc_port *port, struct io_uring_cmd *cmd,
			      const struct fastipc_uring_call *arg, unsigned int issue_flags)
{
	bool nonblock = issue_flags & IO_URING_F_NONBLOCK;
	struct fastipc_endpoint *ep;
	struct fastipc_uring_op *op;
	struct fastipc_slot *slot;
	int ret;

	if (arg->flags || arg->reserved0 || arg->reserved[0] || arg->reserved[1])
		return -EINVAL;
	ep = fastipc_client_ep(port, arg->req_len);
	if (IS_ERR(ep))
		return PTR_ERR(ep);
	op = fastipc_uring_op_alloc(cmd, arg->tag);
	if (!op)
		return -ENOMEM;
	ret = fastipc_caller_init(&op->call, port, ep, arg->reply_buf, arg->reply_offset,
				  arg->reply_cap);
	if (ret) {
		kfree(op);
		return ret;
	}
	op->is_call = true;
	op->call.done = fastipc_uring_call_done;
	op->opcode = arg->opcode;
	op->req_addr = arg->req_addr;
	op->req_len = arg->req_len;
	init_waitqueue_func_entry(&op->slot_wait, fastipc_uring_slot_wake);

	slot = fastipc_uring_call_fill(op, nonblock);
	if (nonblock && slot == ERR_PTR(-EFAULT)) {
		/* Not in memory: io_uring issues the command again from a worker. */
		fastipc_uring_op_free(op);
		return -EAGAIN;
	}
	fastipc_uring_op_arm(op, issue_flags);
	spin_lock(&port->uring_lock);
	fastipc_uring_op_list(port, op);
	spin_unlock(&port->uring_lock);
	if (fastipc_uring_call_post(op, slot))
		io_uring_cmd_complete_in_task(cmd, fastipc_uring_call_retry_tw);
	return -EIOCBQUEUED;
}

/* Complete a command now, from its issue. */
static int fastipc_uring_done_now(struct io_uring_cmd *cmd, int res, u64 res2,
				  unsigned int issue_flags)
{
	io_uring_cmd_done(cmd, res, res2, issue_flags);
	return -EIOCBQUEUED;
}

static int fastipc_uring_send(struct fastipc_port *port, struct io_uring_cmd *cmd,
			      const struct fastipc_send *arg, unsigned int issue_flags)
{
	bool nonblock = issue_flags & IO_URING_F_NONBLOCK;
	int ret;

	/* Waiting for room would take a worker thread: not offered here. */
	if (arg->flags & FASTIPC_SEND_WAIT)
		return -EINVAL;
	/* Descriptors are resolved in the sender's task, which a worker is not. */
	if (arg->flags & FASTIPC_SEND_FDS)
		return -EOPNOTSUPP;
	ret = fastipc_send_msg(port, arg, false, nonblock);
	if (ret == -EFAULT && nonblock)
		return -EAGAIN;
	/* A plain -EAGAIN would make io_uring issue the command again. */
	if (ret == -EAGAIN)
		return fastipc_uring_done_now(cmd, ret, 0, issue_flags);
	return ret;
}

static int fastipc_uring_recv(struct fastipc_port *port, struct io_uring_cmd *cmd,
			      const struct fastipc_uring_recv *arg, unsigned int issue_flags)
{
	struct fastipc_endpoint *ep;
	struct fastipc_uring_op *op;
	struct fastipc_slot *slot;
	u64 end, token = 0;
	int ret;

	if (arg->flags || arg->reserved[0] || arg->reserved[1])
		return -EINVAL;
	ep = fastipc_port_ep(port, FASTIPC_ROLE_ENDPOINT);
	if (IS_ERR(ep))
		return PTR_ERR(ep);
	op = fastipc_uring_op_alloc(cmd, arg->tag);
	if (!op)
		return -ENOMEM;
	op->msg_buf = fastipc_buf_get(port, arg->msg_buf);
	if (!op->msg_buf) {
		kfree(op);
		return -ENOENT;
	}
	op->pid_ns = get_pid_ns(task_active_pid_ns(current));
	op->user_ns = get_user_ns(current_user_ns());
	if (check_add_overflow(arg->msg_offset, (u64)sizeof(*op->msg), &end) ||
	    end > op->msg_buf->len) {
		fastipc_uring_op_free(op);
		return -EINVAL;
	}
	op->msg = (struct fastipc_msg_info *)(op->msg_buf->kaddr + arg->msg_offset);
	op->recv.deliver = fastipc_uring_recv_deliver;

	fastipc_uring_op_arm(op, issue_flags);
	spin_lock(&port->uring_lock);
	spin_lock(&ep->lock);
	slot = ERR_PTR(-EPIPE);
	if (!ep->dead)
		slot = fastipc_slot_dequeue(ep);
	if (!slot) {
		list_add(&op->recv.node, &ep->idle);
		fastipc_uring_op_list(port, op);
		fastipc_uring_op_publish(op);
		spin_unlock(&ep->lock);
		spin_unlock(&port->uring_lock);
		return -EIOCBQUEUED;
	}
	ret = PTR_ERR_OR_ZERO(slot);
	if (!ret) {
		fastipc_msg_info_fill(ep, slot, op->msg, op->pid_ns, op->user_ns);
		ret = slot->len;
		token = slot->token;
	}
	spin_unlock(&ep->lock);
	spin_unlock(&port->uring_lock);
	fastipc_uring_op_free(op);
	return fastipc_uring_done_now(cmd, ret, token, issue_flags);
}

static int fastipc_uring_reply(struct fastipc_port *port, const struct fastipc_uring_reply *arg,
			       unsigned int issue_flags)
{
	bool nonblock = issue_flags & IO_URING_F_NONBLOCK;
	struct fastipc_endpoint *ep;
	int ret;

	if (arg->flags || arg->reserved0 || arg->reserved[0] || arg->reserved[1])
		return -EINVAL;
	ep = fastipc_port_ep(port, FASTIPC_ROLE_ENDPOINT);
	if (IS_ERR(ep))
		return PTR_ERR(ep);
	ret = fastipc_reply(ep, arg->token, arg->status, u64_to_user_ptr(arg->addr), arg->len,
			    NULL, false, nonblock, NULL);
	/* The token is still held after a fault: the worker answers it. */
	return ret == -EFAULT && nonblock ? -EAGAIN : ret;
}

/*
 * Take @op away from its peers so that the claimer may complete it. With
 * @dying (its ring is going away) a reply being copied does not hold the
 * call back, and a message already handed to a receive goes back to the
 * endpoint for the receive's task work to find. Never sleeps.
 */
static enum fastipc_uring_claim fastipc_uring_op_claim(struct fastipc_port *port,
						       struct fastipc_uring_op *op, bool dying)
{
	enum fastipc_uring_claim claim = FASTIPC_CLAIM_NONE;
	struct fastipc_endpoint *ep = fastipc_uring_op_lock(port, op);

	if (op->state == FASTIPC_OP_COMPLETING) {
		if (dying && !op->is_call && op->recv.slot)
			fastipc_uring_recv_give_back(ep, op);
	} else if (op->state != FASTIPC_OP_WAITING) {
		/* Given back already. */
	} else if (!op->is_call) {
		list_del_init(&op->recv.node);
		claim = FASTIPC_CLAIM_OWNED;
	} else if (op->call.state == FASTIPC_CALLER_PENDING) {
		if (fastipc_caller_detach(&op->call, dying))
			claim = FASTIPC_CLAIM_OWNED;
	} else if (op->call.state != FASTIPC_CALLER_NEW) {
		/* Completed before its task work was queued: cannot happen. */
		WARN_ON_ONCE(1);
	} else if (op->slot_waiting) {
		remove_wait_queue(&ep->slot_wq, &op->slot_wait);
		op->slot_waiting = false;
		op->call.state = FASTIPC_CALLER_CANCELLED;
		claim = FASTIPC_CLAIM_OWNED;
	} else {
		/* Being sent, or its send is queued: the sender completes it. */
		op->cancel_unsent = true;
		claim = FASTIPC_CLAIM_DEFERRED;
	}
	if (claim == FASTIPC_CLAIM_OWNED)
		op->state = FASTIPC_OP_COMPLETING;
	spin_unlock(&ep->lock);
	return claim;
}

typedef bool (*fastipc_uring_match_t)(struct fastipc_uring_op *op, const void *key);

/*
 * Cancel the port's ops @match picks, through their task work; returns how
 * many were cancelled. With @dying, as fastipc_uring_op_claim().
 */
static unsigned int fastipc_uring_cancel_matching(struct fastipc_port *port,
						  fastipc_uring_match_t match, const void *key,
						  bool dying)
{
	struct fastipc_uring_op *op;
	unsigned int n = 0;

	spin_lock(&port->uring_lock);
	list_for_each_entry(op, &port->uring_ops, node) {
		if (!match(op, key))
			continue;
		switch (fastipc_uring_op_claim(port, op, dying)) {
		case FASTIPC_CLAIM_OWNED:
			op->res = -ECANCELED;
			op->res2 = 0;
			io_uring_cmd_complete_in_task(op->cmd, fastipc_uring_complete_tw);
			fallthrough;
		case FASTIPC_CLAIM_DEFERRED:
			n++;
			break;
		case FASTIPC_CLAIM_NONE:
			break;
		}
	}
	spin_unlock(&port->uring_lock);
	return n;
}

static bool fastipc_uring_match_tag(struct fastipc_uring_op *op, const void *tag)
{
	return !tag || op->tag == *(const u64 *)tag;
}

static bool fastipc_uring_match_abandoned(struct fastipc_uring_op *op, const void *unused)
{
	return fastipc_uring_abandoned(op->cmd);
}

static int fastipc_uring_cancel(struct fastipc_port *port, const struct fastipc_uring_cancel *arg)
{
	bool all = arg->flags & FASTIPC_CANCEL_ALL;

	if (arg->flags & ~FASTIPC_CANCEL_ALL || arg->reserved0 || arg->reserved[0] ||
	    arg->reserved[1] || (all && arg->tag))
		return -EINVAL;
	/* A call whose reply is being copied completes with it. */
	return fastipc_uring_cancel_matching(port, fastipc_uring_match_tag,
					     all ? NULL : &arg->tag, false) ?: -ENOENT;
}

/*
 * io_uring's cancellation, as the ring closes: complete the command in
 * place, or leave it to the task work already queued for it (which may run
 * only once the submitter returns to user space; io_uring asks again).
 */
static void fastipc_uring_cancel_cmd(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
	struct fastipc_port *port = fastipc_uring_port(cmd);
	struct fastipc_uring_op *op = READ_ONCE(*(struct fastipc_uring_op **)cmd->pdu);

	/* Still being issued (from io-wq): io_uring asks again. */
	if (!op || fastipc_uring_op_claim(port, op, true) != FASTIPC_CLAIM_OWNED)
		return;
	fastipc_uring_op_unlist(port, op);
	io_uring_cmd_done(cmd, -ECANCELED, 0, issue_flags);
	fastipc_uring_op_free(op);
}

static void fastipc_uring_monitor(struct work_struct *work)
{
	struct fastipc_port *port = container_of(to_delayed_work(work), struct fastipc_port,
						 uring_monitor);
	bool busy;

	fastipc_uring_cancel_matching(port, fastipc_uring_match_abandoned, NULL, true);
	spin_lock(&port->uring_lock);
	busy = !list_empty(&port->uring_ops);
	spin_unlock(&port->uring_lock);
	if (busy)
		schedule_delayed_work(&port->uring_monitor, FASTIPC_URING_MONITOR_PERIOD);
}

void fastipc_uring_port_init(struct fastipc_port *port)
{
	spin_lock_init(&port->uring_lock);
	INIT_LIST_HEAD(&port->uring_ops);
	INIT_DELAYED_WORK(&port->uring_monitor, fastipc_uring_monitor);
}

/* Nothing is in flight once the file is released: each command holds it. */
void fastipc_uring_port_release(struct fastipc_port *port)
{
	cancel_delayed_work_sync(&port->uring_monitor);
	WARN_ON_ONCE(!list_empty(&port->uring_ops));
}

/* The file_operations.uring_cmd of /dev/fastipc. */
int fastipc_uring_cmd(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
	const unsigned int big = IO_URING_F_SQE128 | IO_URING_F_CQE32;
	struct fastipc_port *port = fastipc_uring_port(cmd);
	union fastipc_uring_arg arg;
	int ret;

	if (issue_flags & FASTIPC_URING_F_CANCEL) {
		fastipc_uring_cancel_cmd(cmd, issue_flags);
		return 0;
	}
	if ((issue_flags & big) != big) {
		ret = -EINVAL;
		goto out;
	}
	/* The SQE is shared with user space: read it once. */
	memcpy(&arg, fastipc_uring_payload(cmd), sizeof(arg));
	switch (cmd->cmd_op) {
	case FASTIPC_URING_CALL:
		ret = fastipc_uring_call(port, cmd, &arg.call, issue_flags);
		break;
	case FASTIPC_URING_SEND:
		ret = fastipc_uring_send(port, cmd, &arg.send, issue_flags);
		break;
	case FASTIPC_URING_RECV:
		ret = fastipc_uring_recv(port, cmd, &arg.recv, issue_flags);
		break;
	case FASTIPC_URING_REPLY:
		ret = fastipc_uring_reply(port, &arg.reply, issue_flags);
		break;
	case FASTIPC_URING_CANCEL:
		ret = fastipc_uring_cancel(port, &arg.cancel);
		break;
	default:
		ret = -ENOTTY;
		break;
	}
out:
	if (ret < 0 && ret != -EIOCBQUEUED && ret != -EAGAIN) {
		trace_fastipc_error(_IOC_NR(cmd->cmd_op), ret);
		fastipc_stat_add(FASTIPC_STAT_ERRORS, 1);
	}
	return ret;
}
