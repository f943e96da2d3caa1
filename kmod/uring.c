// SPDX-License-Identifier: GPL-2.0
/*
 * io_uring commands: asynchronous calls, sends, receives and replies.
 *
 * A command that waits for a peer (a call for its reply, a receive for a
 * message) becomes a struct fastipc_uring_op, listed on its port, and returns
 * -EIOCBQUEUED. The peer completes it under the endpoint's lock exactly as it
 * would wake a sleeping thread, except that it queues task work, which posts
 * the CQE and drops the op. Everything else completes before returning.
 *
 * Cancellation finds ops on the port's list: FASTIPC_URING_CANCEL by tag,
 * io_uring's IO_URING_F_CANCEL when the ring closes or the task exits (6.7
 * on), or the port's monitor on kernels without it. A call is cancelled as a
 * synchronous caller gives up on a signal; a receive leaves the idle list.
 *
 * Locking: port->uring_lock nests outside ep->lock. An op is published to
 * the endpoint and listed on the port in one port->uring_lock section, so a
 * canceller never meets a half-submitted op and the task work, which takes
 * port->uring_lock to unlist it, never runs before it is listed. Cancellers
 * hold a reference on the op and no lock while they cancel.
 */
#include <linux/pid_namespace.h>
#include <linux/slab.h>
#include <linux/user_namespace.h>

#include "compat.h"
#include "fastipc.h"
#include "trace.h"

/* How often the monitor looks for abandoned commands, where it runs. */
#define FASTIPC_URING_MONITOR_PERIOD	HZ

/**
 * struct fastipc_uring_op - an io_uring command waiting for a peer
 * @ref: one for the command in flight, one per canceller at work.
 * @node: in port->uring_ops, under port->uring_lock.
 * @cmd: the io_uring command.
 * @tag: the tag the submitter gave, for FASTIPC_URING_CANCEL.
 * @cancelling: a canceller took it, under port->uring_lock.
 * @cancel_retry: it could not cancel it yet, under port->uring_lock.
 * @res: the CQE's result, set before the task work is queued.
 * @res2: the CQE's big_cqe[0].
 * @is_call: @call is in use, else the receive fields.
 * @slot_node: in ep->slot_waiters while @slot_wait.
 * @slot_wait: a call waiting for a free slot, under ep->lock.
 * @cancel_unsent: a canceller found the call not sent yet; whoever sends
 *	it completes it with ECANCELED instead. Under ep->lock.
 * @opcode: the call's opcode, kept until it is sent.
 * @req_len: its request's length.
 * @req_addr: its request, in the submitter's memory.
 * @call: an asynchronous call.
 * @recv: an asynchronous receive's place among the idle server threads.
 * @msg_buf: the registered buffer the received message's record goes to.
 * @msg: where, in its kernel mapping.
 * @pid_ns: the receiver's PID namespace, for the sender's pid.
 * @user_ns: the receiver's user namespace, for the sender's ids.
 */
struct fastipc_uring_op {
	struct kref ref;
	struct list_head node;
	struct io_uring_cmd *cmd;
	u64 tag;
	bool cancelling;
	bool cancel_retry;
	s32 res;
	u64 res2;
	bool is_call;
	struct list_head slot_node;
	bool slot_wait;
	bool cancel_unsent;
	u32 opcode;
	u32 req_len;
	u64 req_addr;
	union {
		struct fastipc_caller call;
		struct {
			struct fastipc_waiter recv;
			struct fastipc_buf *msg_buf;
			struct fastipc_msg_info *msg;
			struct pid_namespace *pid_ns;
			struct user_namespace *user_ns;
		};
	};
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

static struct fastipc_uring_op *fastipc_uring_op_alloc(struct io_uring_cmd *cmd, u64 tag)
{
	struct fastipc_uring_op *op;

	op = kzalloc(sizeof(*op), GFP_KERNEL_ACCOUNT);
	if (!op)
		return NULL;
	kref_init(&op->ref);
	INIT_LIST_HEAD(&op->node);
	INIT_LIST_HEAD(&op->slot_node);
	op->cmd = cmd;
	op->tag = tag;
	*(struct fastipc_uring_op **)cmd->pdu = op;
	return op;
}

static void fastipc_uring_op_release(struct kref *ref)
{
	struct fastipc_uring_op *op = container_of(ref, struct fastipc_uring_op, ref);

	if (op->is_call) {
		fastipc_caller_release(&op->call);
	} else {
		fastipc_buf_put(op->msg_buf);
		put_pid_ns(op->pid_ns);
		put_user_ns(op->user_ns);
	}
	kfree(op);
}

static void fastipc_uring_op_put(struct fastipc_uring_op *op)
{
	kref_put(&op->ref, fastipc_uring_op_release);
}

/* Task work: post the CQE of an op a peer or a canceller completed. */
static void fastipc_uring_complete_tw(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
	struct fastipc_port *port = fastipc_uring_port(cmd);
	struct fastipc_uring_op *op = *(struct fastipc_uring_op **)cmd->pdu;

	spin_lock(&port->uring_lock);
	list_del_init(&op->node);
	spin_unlock(&port->uring_lock);
	io_uring_cmd_done(cmd, op->res, op->res2, issue_flags);
	fastipc_uring_op_put(op);
}

static void fastipc_uring_complete(struct fastipc_uring_op *op, s32 res, u64 res2)
{
	op->res = res;
	op->res2 = res2;
	io_uring_cmd_complete_in_task(op->cmd, fastipc_uring_complete_tw);
}

/* Called by fastipc_caller_complete() under the endpoint's lock. */
void fastipc_uring_call_done(struct fastipc_caller *call)
{
	struct fastipc_uring_op *op = container_of(call, struct fastipc_uring_op, call);

	fastipc_uring_complete(op, call->error ?: call->reply_len, (u64)(s64)call->status);
}

/* Called by fastipc_deliver() under the endpoint's lock. */
void fastipc_uring_recv_done(struct fastipc_waiter *w, struct fastipc_endpoint *ep,
			     struct fastipc_slot *slot)
	__must_hold(&ep->lock)
{
	struct fastipc_uring_op *op = container_of(w, struct fastipc_uring_op, recv);

	fastipc_msg_info_fill(ep, slot, op->msg, op->pid_ns, op->user_ns);
	fastipc_uring_complete(op, slot->len, slot->token);
}

/* Complete a command now, from its issue. */
static int fastipc_uring_done_now(struct io_uring_cmd *cmd, int res, u64 res2,
				  unsigned int issue_flags)
{
	io_uring_cmd_done(cmd, res, res2, issue_flags);
	return -EIOCBQUEUED;
}

/* List an op on its port, before anything can complete it. */
static void fastipc_uring_op_list(struct fastipc_port *port, struct fastipc_uring_op *op)
	__must_hold(&port->uring_lock)
{
	list_add_tail(&op->node, &port->uring_ops);
	if (FASTIPC_URING_MONITOR)
		schedule_delayed_work(&port->uring_monitor, FASTIPC_URING_MONITOR_PERIOD);
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
 * Send an asynchronous call: copy the request into a free slot and publish
 * it. With no slot free, the call waits on ep->slot_waiters, without a
 * thread: the next slot freed sends it again from task work of the task
 * that submitted it, whose memory holds the request.
 */
static void fastipc_uring_call_send(struct fastipc_uring_op *op)
{
	struct fastipc_endpoint *ep = op->call.ep;
	struct fastipc_slot *slot;
	int ret;

retry:
	slot = fastipc_slot_fill(ep, NULL, false, KTIME_MAX, u64_to_user_ptr(op->req_addr),
				 op->req_len);
	spin_lock(&ep->lock);
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
		spin_unlock(&ep->lock);
		goto retry;
	} else {
		list_add_tail(&op->slot_node, &ep->slot_waiters);
		op->slot_wait = true;
	}
	spin_unlock(&ep->lock);
}

static void fastipc_uring_call_retry_tw(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
	struct fastipc_uring_op *op = *(struct fastipc_uring_op **)cmd->pdu;

	/*
	 * Run from a worker because the task is gone, nobody's memory to read;
	 * or the ring is going away.
	 */
	if ((current->flags & (PF_EXITING | PF_KTHREAD)) || fastipc_uring_abandoned(cmd)) {
		spin_lock(&op->call.ep->lock);
		fastipc_uring_call_fail(op, -ECANCELED);
		spin_unlock(&op->call.ep->lock);
		return;
	}
	fastipc_uring_call_send(op);
}

/* Called by fastipc_slot_free() under the endpoint's lock: send a waiting call. */
void fastipc_uring_slot_freed(struct fastipc_endpoint *ep)
	__must_hold(&ep->lock)
{
	struct fastipc_uring_op *op;

	op = list_first_entry(&ep->slot_waiters, struct fastipc_uring_op, slot_node);
	list_del_init(&op->slot_node);
	op->slot_wait = false;
	io_uring_cmd_complete_in_task(op->cmd, fastipc_uring_call_retry_tw);
}

/* Called by fastipc_ep_shutdown() under the endpoint's lock. */
void fastipc_uring_ep_dead(struct fastipc_endpoint *ep)
	__must_hold(&ep->lock)
{
	struct fastipc_uring_op *op, *next;

	list_for_each_entry_safe(op, next, &ep->slot_waiters, slot_node) {
		list_del_init(&op->slot_node);
		op->slot_wait = false;
		fastipc_uring_call_fail(op, -EPIPE);
	}
}

static int fastipc_uring_call(struct fastipc_port *port, struct io_uring_cmd *cmd,
			      const struct fastipc_uring_call *arg, unsigned int issue_flags)
{
	struct fastipc_endpoint *ep;
	struct fastipc_uring_op *op;
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
	op->call.async = true;
	/* No thread waits for the reply, so no server should spin for one. */
	op->call.cpu = -1;
	op->opcode = arg->opcode;
	op->req_addr = arg->req_addr;
	op->req_len = arg->req_len;

	io_uring_cmd_mark_cancelable(cmd, issue_flags);
	spin_lock(&port->uring_lock);
	fastipc_uring_op_list(port, op);
	spin_unlock(&port->uring_lock);
	fastipc_uring_call_send(op);
	return -EIOCBQUEUED;
}

static int fastipc_uring_send(struct fastipc_port *port, struct io_uring_cmd *cmd,
			      const struct fastipc_send *arg, unsigned int issue_flags)
{
	int ret;

	/* Waiting for room would take a worker thread: not offered here. */
	if (arg->flags & FASTIPC_SEND_WAIT)
		return -EINVAL;
	ret = fastipc_send_msg(port, arg, false);
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
		fastipc_uring_op_put(op);
		return -EINVAL;
	}
	op->msg = (struct fastipc_msg_info *)(op->msg_buf->kaddr + arg->msg_offset);
	op->recv.async = true;

	io_uring_cmd_mark_cancelable(cmd, issue_flags);
	spin_lock(&port->uring_lock);
	spin_lock(&ep->lock);
	slot = ERR_PTR(-EPIPE);
	if (!ep->dead)
		slot = fastipc_slot_dequeue(ep);
	if (!slot) {
		list_add(&op->recv.node, &ep->idle);
		spin_unlock(&ep->lock);
		fastipc_uring_op_list(port, op);
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
	fastipc_uring_op_put(op);
	return fastipc_uring_done_now(cmd, ret, token, issue_flags);
}

static int fastipc_uring_reply(struct fastipc_port *port, const struct fastipc_uring_reply *arg)
{
	struct fastipc_endpoint *ep;
	int caller_cpu;

	if (arg->flags || arg->reserved0 || arg->reserved[0] || arg->reserved[1])
		return -EINVAL;
	ep = fastipc_port_ep(port, FASTIPC_ROLE_ENDPOINT);
	if (IS_ERR(ep))
		return PTR_ERR(ep);
	return fastipc_reply(ep, arg->token, arg->status, u64_to_user_ptr(arg->addr), arg->len,
			     false, &caller_cpu);
}

/*
 * Cancel a call not sent yet: 1 if it waited for a slot (the canceller posts
 * the CQE), 2 if it is being sent right now (the sender will complete it as
 * cancelled), -EAGAIN if it was sent (or completed) already.
 */
static int fastipc_uring_unsent_cancel(struct fastipc_uring_op *op)
{
	/* Until it is sent, a call stays at its first endpoint. */
	struct fastipc_endpoint *ep = op->call.route[0];
	int ret = -EAGAIN;

	spin_lock(&ep->lock);
	if (READ_ONCE(op->call.state) == FASTIPC_CALLER_NEW) {
		if (op->slot_wait) {
			list_del_init(&op->slot_node);
			op->slot_wait = false;
			op->call.state = FASTIPC_CALLER_CANCELLED;
			ret = 1;
		} else {
			op->cancel_unsent = true;
			ret = 2;
		}
	}
	spin_unlock(&ep->lock);
	return ret;
}

/* Take a receive off the idle list unless a message reached it first. */
static bool fastipc_uring_recv_cancel(struct fastipc_endpoint *ep, struct fastipc_waiter *w)
{
	bool cancelled;

	spin_lock(&ep->lock);
	cancelled = !w->slot;
	if (cancelled)
		list_del_init(&w->node);
	spin_unlock(&ep->lock);
	return cancelled;
}

/*
 * Cancel @op unless it was completed already: 1 if it was cancelled, 0 if
 * not, -EBUSY if a reply is being copied for it and @wait is false.
 */
static int fastipc_uring_op_cancel(struct fastipc_port *port, struct fastipc_uring_op *op,
				   bool wait)
{
	int ret;

	if (op->is_call) {
		ret = fastipc_uring_unsent_cancel(op);
		if (ret == 2)
			return 1;
		if (ret < 0)
			ret = fastipc_caller_cancel(&op->call, wait);
	} else {
		ret = fastipc_uring_recv_cancel(port->ep, &op->recv);
	}
	if (ret > 0)
		fastipc_uring_complete(op, -ECANCELED, 0);
	return ret;
}

typedef bool (*fastipc_uring_match_t)(struct fastipc_uring_op *op, const void *key);

/*
 * Cancel the port's ops @match picks; returns how many were cancelled. Unless
 * @wait, ops whose reply is being copied are left for the next try.
 */
static unsigned int fastipc_uring_cancel_matching(struct fastipc_port *port,
						  fastipc_uring_match_t match, const void *key,
						  bool wait)
{
	struct fastipc_uring_op *op;
	unsigned int n = 0;
	bool found;
	int ret;

	do {
		found = false;
		spin_lock(&port->uring_lock);
		list_for_each_entry(op, &port->uring_ops, node) {
			if (!op->cancelling && match(op, key)) {
				op->cancelling = true;
				kref_get(&op->ref);
				found = true;
				break;
			}
		}
		spin_unlock(&port->uring_lock);
		if (found) {
			ret = fastipc_uring_op_cancel(port, op, wait);
			if (ret > 0)
				n++;
			if (ret < 0) {
				spin_lock(&port->uring_lock);
				op->cancel_retry = true;
				spin_unlock(&port->uring_lock);
			}
			fastipc_uring_op_put(op);
		}
	} while (found);

	/* Those left for the next try become candidates again. */
	spin_lock(&port->uring_lock);
	list_for_each_entry(op, &port->uring_ops, node) {
		if (op->cancel_retry) {
			op->cancel_retry = false;
			op->cancelling = false;
		}
	}
	spin_unlock(&port->uring_lock);
	return n;
}

static bool fastipc_uring_match_cmd(struct fastipc_uring_op *op, const void *cmd)
{
	return op->cmd == cmd;
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
	return fastipc_uring_cancel_matching(port, fastipc_uring_match_tag,
					     all ? NULL : &arg->tag, true) ?: -ENOENT;
}

static void fastipc_uring_monitor(struct work_struct *work)
{
	struct fastipc_port *port = container_of(to_delayed_work(work), struct fastipc_port,
						 uring_monitor);
	bool busy;

	fastipc_uring_cancel_matching(port, fastipc_uring_match_abandoned, NULL, false);
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
		/* io_uring asks again while the command is still there. */
		fastipc_uring_cancel_matching(port, fastipc_uring_match_cmd, cmd, false);
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
		ret = fastipc_uring_reply(port, &arg.reply);
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
