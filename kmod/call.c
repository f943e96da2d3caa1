// SPDX-License-Identifier: GPL-2.0
/*
 * Messages: call, one-way send, reply-and-receive and forward.
 *
 * A message takes a free slot of the endpoint's receive pool as it arrives,
 * and the sender copies its payload straight into the slot, whether or not a
 * server thread waits: the single copy never depends on timing. The slot is
 * then handed to the server thread that went idle last (its cache is the
 * warmest) or queued. The server answers through the slot's token; the reply
 * is copied once, by the server, into the caller's registered reply buffer.
 *
 * Nothing on these paths allocates memory or takes a global lock: the caller
 * and the waiting server thread live on their own kernel stacks, and every
 * handover happens under the one endpoint's lock.
 *
 * Locking: ep->lock protects slots, queues and the state of attached callers.
 * A sleeper's wait queue lives on its stack, so the waker wakes it with
 * ep->lock held and the sleeper retakes ep->lock before it returns. Forward
 * never holds two endpoint locks: the call is FASTIPC_CALLER_MOVING between
 * them, and a caller that wants to cancel waits that instant out.
 */
#include <linux/hrtimer.h>
#include <linux/moduleparam.h>
#include <linux/nospec.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/sched/signal.h>
#include <linux/user_namespace.h>
#include <linux/wait_bit.h>

#include "fastipc.h"
#include "trace.h"

static ktime_t fastipc_time_left(ktime_t deadline)
{
	if (deadline == KTIME_MAX)
		return KTIME_MAX;
	return max_t(ktime_t, ktime_sub(deadline, ktime_get()), 0);
}

/* Map the wait_event_*_hrtimeout() results to what the caller sees. */
static int fastipc_wait_errno(int ret)
{
	if (ret == -ETIME)
		return -ETIMEDOUT;
	if (ret == -ERESTARTSYS)
		return -EINTR;
	return ret;
}

/*
 * Sleep until @cond, a signal, or @deadline (KTIME_MAX: none); 0 or the
 * errno the caller sees. Task work queued for this thread with TWA_SIGNAL
 * sets TIF_NOTIFY_SIGNAL, which ends an interruptible sleep like a signal
 * would: io_uring queues such work on every thread that used a ring when the
 * ring is torn down, some time after its fd is closed. It is no signal, so
 * it must not fail the call: put the flag aside and keep waiting, and set it
 * again before returning, so that the work runs on the way back to user
 * space.
 */
#define fastipc_wait_event(wq, cond, deadline)					\
({										\
	ktime_t __deadline = (deadline);					\
	bool __notify = false;							\
	int __ret;								\
										\
	for (;;) {								\
		/* No hrtimer is started for KTIME_MAX. */			\
		__ret = wait_event_interruptible_hrtimeout(wq, cond,		\
				fastipc_time_left(__deadline));			\
		if (__ret != -ERESTARTSYS || task_sigpending(current))	\
			break;							\
		clear_notify_signal();						\
		__notify = true;						\
	}									\
	if (__notify)								\
		set_thread_flag(TIF_NOTIFY_SIGNAL);				\
	fastipc_wait_errno(__ret);						\
})

/*
 * A thread whose partner runs on another CPU spins for the partner's answer
 * before it sleeps: a partner that answers meanwhile saves both the sleep and
 * the cross-CPU wake-up, which cost more than the spinning. Never when the
 * partner shares our CPU, where it could not run.
 *
 * How long is learnt per endpoint and direction: twice the moving average of
 * how long answers took lately, at least FASTIPC_SPIN_MIN_NS and at most
 * spin_ns. When answers take longer than spin_ns on average, nobody spins:
 * the CPU time would be lost.
 */
static unsigned int spin_ns = 200000;
module_param(spin_ns, uint, 0644);
MODULE_PARM_DESC(spin_ns, "Spin at most this long (ns) for a partner on another CPU before sleeping; 0 never");

#define FASTIPC_SPIN_MIN_NS	50000
#define FASTIPC_SPIN_AVG_SHIFT	3	/* each answer weighs 1/8 in the average */

/* Start waiting for an answer; true if spinning for it is worth a try. */
static bool fastipc_spin_start(struct fastipc_spin *spin, int partner_cpu, u64 *start, u64 *end)
{
	unsigned int max = READ_ONCE(spin_ns);
	u64 avg = READ_ONCE(spin->avg_ns);

	*start = local_clock();
	if (!max || avg > max || partner_cpu < 0 || partner_cpu == raw_smp_processor_id())
		return false;
	/* spin_ns may be set below the floor: it is the bound still. */
	*end = *start + min_t(u64, max_t(u64, 2 * avg, FASTIPC_SPIN_MIN_NS), max);
	return true;
}

static bool fastipc_spin_more(u64 end)
{
	if (need_resched() || signal_pending(current) || local_clock() > end)
		return false;
	cpu_relax();
	return true;
}

/* The answer came @start ns after the wait began: fold it into the average. */
static void fastipc_spin_learn(struct fastipc_spin *spin, u64 start)
{
	u32 took = min_t(u64, local_clock() - start, U32_MAX);
	u32 avg = READ_ONCE(spin->avg_ns);

	/* Racy on purpose: a lost update only slows the learning down. */
	WRITE_ONCE(spin->avg_ns, avg - (avg >> FASTIPC_SPIN_AVG_SHIFT) +
				 (took >> FASTIPC_SPIN_AVG_SHIFT));
}

/* The endpoint @port is connected to, if a message of @len bytes fits its slots. */
struct fastipc_endpoint *fastipc_client_ep(struct fastipc_port *port, u32 len)
{
	struct fastipc_endpoint *ep = fastipc_port_ep(port, FASTIPC_ROLE_CLIENT);

	if (!IS_ERR(ep) && len > ep->slot_size)
		return ERR_PTR(-EMSGSIZE);
	return ep;
}

static u8 *fastipc_slot_data(struct fastipc_endpoint *ep, struct fastipc_slot *slot)
{
	return ep->pool_base + (size_t)(slot - ep->slots) * ep->slot_size;
}

static bool fastipc_slot_available(struct fastipc_endpoint *ep, bool oneway)
{
	return READ_ONCE(ep->nfree) &&
	       (!oneway || READ_ONCE(ep->noneway) < ep->max_oneway);
}

void fastipc_slot_free(struct fastipc_endpoint *ep, struct fastipc_slot *slot)
	__must_hold(&ep->lock)
{
	lockdep_assert_held(&ep->lock);
	if (slot->oneway)
		ep->noneway--;
	if (slot->user) {
		fastipc_user_uncharge_oneway(slot->user);
		fastipc_user_put(slot->user);
		slot->user = NULL;
	}
	put_pid(slot->sender);
	slot->sender = NULL;
	slot->call = NULL;
	slot->token = 0;
	slot->oneway = false;
	slot->state = FASTIPC_SLOT_FREE;
	/* LIFO: the slot freed last is the one still in the cache. */
	list_add(&slot->node, &ep->free_slots);
	ep->nfree++;
	if (wq_has_sleeper(&ep->slot_wq))
		wake_up(&ep->slot_wq);
	if (!list_empty(&ep->slot_waiters))
		fastipc_uring_slot_freed(ep);
}

static bool fastipc_caller_done(struct fastipc_caller *call)
{
	return READ_ONCE(call->state) == FASTIPC_CALLER_DONE;
}

/* Finish a call: the caller may return as soon as it retakes ep->lock. */
void fastipc_caller_complete(struct fastipc_caller *call, int error, bool sync)
{
	lockdep_assert_held(&call->ep->lock);
	call->error = error;
	WRITE_ONCE(call->state, FASTIPC_CALLER_DONE);
	if (call->async)
		fastipc_uring_call_done(call);
	else if (sync)
		wake_up_interruptible_sync(&call->wq);
	else
		wake_up_interruptible(&call->wq);
}

/*
 * Set up @call to @ep, with its reply room in the port's registered buffer
 * @buf_id; fastipc_caller_release() undoes it.
 */
int fastipc_caller_init(struct fastipc_caller *call, struct fastipc_port *port,
			struct fastipc_endpoint *ep, u32 buf_id, u64 offset, u32 cap)
{
	u64 end;

	call->reply_buf = fastipc_buf_get(port, buf_id);
	if (!call->reply_buf)
		return -ENOENT;
	if (check_add_overflow(offset, (u64)cap, &end) || end > call->reply_buf->len) {
		fastipc_buf_put(call->reply_buf);
		return -EINVAL;
	}
	init_waitqueue_head(&call->wq);
	call->state = FASTIPC_CALLER_NEW;
	call->reply_kaddr = call->reply_buf->kaddr + offset;
	call->reply_cap = cap;
	call->pid = task_tgid(current);
	call->uid = current_euid();
	call->gid = current_egid();
	call->ep = ep;
	call->route[0] = ep;
	call->hops = 0;
	call->cpu = raw_smp_processor_id();
	call->server_cpu = -1;
	kref_get(&ep->ref);
	return 0;
}

void fastipc_caller_release(struct fastipc_caller *call)
{
	unsigned int i;

	for (i = 0; i <= call->hops; i++)
		fastipc_ep_put(call->route[i]);
	fastipc_buf_put(call->reply_buf);
}

/* Charge a one-way message to its sender's quota, waiting for room if @wait. */
static int fastipc_charge_oneway(struct fastipc_user *user, bool wait)
{
	int ret;

	while (!fastipc_user_charge_oneway(user)) {
		if (!wait)
			return -EAGAIN;
		ret = fastipc_wait_event(user->oneway_wq, fastipc_user_oneway_room(user),
					 KTIME_MAX);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Take a free slot of @ep, waiting for one until @deadline if @wait, and copy
 * the payload into it. A one-way message (@user set) is charged to @user
 * first. Returns the slot in FASTIPC_SLOT_FILLING.
 */
struct fastipc_slot *fastipc_slot_fill(struct fastipc_endpoint *ep, struct fastipc_user *user,
				       bool wait, ktime_t deadline, const void __user *src, u32 len)
{
	bool oneway = user;
	struct fastipc_slot *slot;
	int ret;

	if (oneway) {
		ret = fastipc_charge_oneway(user, wait);
		if (ret)
			return ERR_PTR(ret);
	}
	spin_lock(&ep->lock);
	while (!ep->dead && !fastipc_slot_available(ep, oneway)) {
		spin_unlock(&ep->lock);
		ret = -EAGAIN;
		if (wait)
			ret = fastipc_wait_event(ep->slot_wq,
						 READ_ONCE(ep->dead) ||
						 fastipc_slot_available(ep, oneway), deadline);
		if (ret)
			goto out_uncharge;
		spin_lock(&ep->lock);
	}
	if (ep->dead) {
		spin_unlock(&ep->lock);
		ret = -EPIPE;
		goto out_uncharge;
	}
	slot = list_first_entry(&ep->free_slots, struct fastipc_slot, node);
	list_del(&slot->node);
	ep->nfree--;
	slot->state = FASTIPC_SLOT_FILLING;
	slot->oneway = oneway;
	if (oneway) {
		ep->noneway++;
		slot->user = user;
		refcount_inc(&user->ref);
	}
	spin_unlock(&ep->lock);

	if (len && fastipc_copy_from_user(fastipc_slot_data(ep, slot), src, len)) {
		spin_lock(&ep->lock);
		fastipc_slot_free(ep, slot);
		spin_unlock(&ep->lock);
		return ERR_PTR(-EFAULT);
	}
	return slot;

out_uncharge:
	if (oneway)
		fastipc_user_uncharge_oneway(user);
	return ERR_PTR(ret);
}

/* Hand a message to the server thread that went idle last, or queue it. */
static void fastipc_deliver(struct fastipc_endpoint *ep, struct fastipc_slot *slot, bool sync)
	__must_hold(&ep->lock)
{
	struct fastipc_waiter *w;

	w = list_first_entry_or_null(&ep->idle, struct fastipc_waiter, node);
	if (w) {
		list_del_init(&w->node);
		slot->state = FASTIPC_SLOT_HELD;
		WRITE_ONCE(w->slot, slot);
		if (w->async) {
			fastipc_uring_recv_done(w, ep, slot);
		} else {
			if (sync)
				wake_up_interruptible_sync(&w->wq);
			else
				wake_up_interruptible(&w->wq);
			/* Where the wake-up put the server; it waits for ep->lock. */
			if (slot->call)
				WRITE_ONCE(slot->call->server_cpu, task_cpu(w->task));
		}
		fastipc_stat_add(FASTIPC_STAT_HANDOFFS, 1);
		return;
	}
	fastipc_stat_add(FASTIPC_STAT_QUEUED, 1);
	slot->state = FASTIPC_SLOT_QUEUED;
	list_add_tail(&slot->node, &ep->pending);
	WRITE_ONCE(ep->npending, ep->npending + 1);
	if (wq_has_sleeper(&ep->poll_wq))
		wake_up_interruptible_poll(&ep->poll_wq, EPOLLIN | EPOLLRDNORM);
}

/*
 * Publish a filled slot as a message from @pid/@uid/@gid, attached to @call
 * unless one-way. Fails only if the endpoint died meanwhile.
 */
int fastipc_slot_publish(struct fastipc_endpoint *ep, struct fastipc_slot *slot,
			 struct fastipc_caller *call, u32 opcode, u32 len,
			 struct pid *pid, kuid_t uid, kgid_t gid)
	__must_hold(&ep->lock)
{
	lockdep_assert_held(&ep->lock);
	if (ep->dead) {
		fastipc_slot_free(ep, slot);
		return -EPIPE;
	}
	slot->call = call;
	slot->opcode = opcode;
	slot->len = len;
	slot->sender = get_pid(pid);
	slot->uid = uid;
	slot->gid = gid;
	slot->token = (++ep->seq << FASTIPC_SLOT_BITS) | (slot - ep->slots);
	if (!call) {
		trace_fastipc_send(ep->id, slot->token, opcode, len);
		fastipc_stat_add(FASTIPC_STAT_SENDS, 1);
	} else if (call->hops) {
		trace_fastipc_forward(ep->id, slot->token, opcode, len);
		fastipc_stat_add(FASTIPC_STAT_FORWARDS, 1);
	} else {
		trace_fastipc_call(ep->id, slot->token, opcode, len);
		fastipc_stat_add(FASTIPC_STAT_CALLS, 1);
	}
	if (call) {
		WRITE_ONCE(call->ep, ep);
		call->slot = slot;
		WRITE_ONCE(call->state, FASTIPC_CALLER_PENDING);
	}
	fastipc_deliver(ep, slot, !!call);
	return 0;
}

/* The slot a server holds under @token, or NULL. */
static struct fastipc_slot *fastipc_slot_lookup(struct fastipc_endpoint *ep, u64 token)
	__must_hold(&ep->lock)
{
	u32 idx = token & ((1U << FASTIPC_SLOT_BITS) - 1);
	struct fastipc_slot *slot;

	if (idx >= ep->nslots)
		return NULL;
	slot = &ep->slots[array_index_nospec(idx, ep->nslots)];
	if (slot->state != FASTIPC_SLOT_HELD || slot->token != token)
		return NULL;
	return slot;
}

/*
 * Detach @call from the endpoint it waits at, so that a server answering
 * later finds no caller. Returns 1 if it did, 0 if the call had been
 * completed (or cancelled) already. A server copying its reply into the
 * caller's room is let finish first, so that nothing lands in the room once
 * the call is cancelled: unless @wait, that gives -EBUSY instead. A fatal
 * signal ends that wait; the room may then still be written.
 */
int fastipc_caller_cancel(struct fastipc_caller *call, bool wait)
{
	struct fastipc_endpoint *ep;
	struct fastipc_slot *slot;
	bool killed = false;
	int cancelled;

	for (;;) {
		ep = READ_ONCE(call->ep);
		spin_lock(&ep->lock);
		if (call->ep != ep) {
			spin_unlock(&ep->lock);
			continue;
		}
		if (call->state == FASTIPC_CALLER_MOVING) {
			/* A forward is between two endpoint locks. */
			spin_unlock(&ep->lock);
			wait_var_event(&call->state,
				       READ_ONCE(call->state) != FASTIPC_CALLER_MOVING);
			continue;
		}
		slot = call->slot;
		if (call->state != FASTIPC_CALLER_PENDING || killed ||
		    slot->state != FASTIPC_SLOT_REPLYING)
			break;
		spin_unlock(&ep->lock);
		if (!wait)
			return -EBUSY;
		/* The slot outlives the wait: the call's route holds its endpoint. */
		killed = wait_var_event_killable(slot, READ_ONCE(slot->state) !=
						 FASTIPC_SLOT_REPLYING);
	}
	cancelled = call->state == FASTIPC_CALLER_PENDING;
	if (cancelled) {
		if (slot->state == FASTIPC_SLOT_QUEUED) {
			list_del(&slot->node);
			WRITE_ONCE(ep->npending, ep->npending - 1);
			fastipc_slot_free(ep, slot);
		} else {
			slot->call = NULL;
		}
		call->state = FASTIPC_CALLER_CANCELLED;
		fastipc_stat_add(FASTIPC_STAT_CANCELLED, 1);
	}
	spin_unlock(&ep->lock);
	return cancelled;
}

int fastipc_cmd_call(struct fastipc_port *port, void *data)
{
	struct fastipc_call *arg = data;
	struct fastipc_caller call = { .async = false };
	struct fastipc_endpoint *ep;
	struct fastipc_slot *slot;
	ktime_t deadline = KTIME_MAX;
	u64 wait_start, spin_end;
	int ret;

	if (arg->flags || arg->reserved0 || arg->reserved[0] || arg->reserved[1])
		return -EINVAL;
	ep = fastipc_client_ep(port, arg->req_len);
	if (IS_ERR(ep))
		return PTR_ERR(ep);
	ret = fastipc_caller_init(&call, port, ep, arg->reply_buf, arg->reply_offset,
				  arg->reply_cap);
	if (ret)
		return ret;
	if (arg->timeout_ns)
		deadline = ktime_add_safe(ktime_get(), ns_to_ktime(arg->timeout_ns));

	slot = fastipc_slot_fill(ep, NULL, true, deadline,
				 u64_to_user_ptr(arg->req_addr), arg->req_len);
	if (IS_ERR(slot)) {
		ret = PTR_ERR(slot);
		goto out_release;
	}
	spin_lock(&ep->lock);
	ret = fastipc_slot_publish(ep, slot, &call, arg->opcode, arg->req_len,
				   call.pid, call.uid, call.gid);
	spin_unlock(&ep->lock);
	if (ret)
		goto out_release;

	if (fastipc_spin_start(&ep->reply_spin, READ_ONCE(call.server_cpu), &wait_start,
			       &spin_end))
		while (!fastipc_caller_done(&call) && fastipc_spin_more(spin_end))
			;
	ret = fastipc_wait_event(call.wq, fastipc_caller_done(&call), deadline);
	/* A reply that came meanwhile wins over the signal or the timeout. */
	ret = fastipc_caller_cancel(&call, true) ? ret : call.error;
	if (!ret) {
		fastipc_spin_learn(&ep->reply_spin, wait_start);
		arg->status = call.status;
		arg->reply_len = call.reply_len;
	}
out_release:
	fastipc_caller_release(&call);
	return ret;
}

/*
 * Send a one-way message; wait for room if the message asks to and
 * @may_wait, else fail with EAGAIN.
 */
int fastipc_send_msg(struct fastipc_port *port, const struct fastipc_send *arg, bool may_wait)
{
	bool wait = may_wait && (arg->flags & FASTIPC_SEND_WAIT);
	struct fastipc_endpoint *ep;
	struct fastipc_slot *slot;
	int ret;

	if (arg->flags & ~FASTIPC_SEND_ALL || arg->reserved0 || arg->reserved[0] ||
	    arg->reserved[1])
		return -EINVAL;
	ep = fastipc_client_ep(port, arg->len);
	if (IS_ERR(ep))
		return PTR_ERR(ep);

	slot = fastipc_slot_fill(ep, port->user, wait, KTIME_MAX, u64_to_user_ptr(arg->addr),
				 arg->len);
	if (IS_ERR(slot))
		return PTR_ERR(slot);
	spin_lock(&ep->lock);
	ret = fastipc_slot_publish(ep, slot, NULL, arg->opcode, arg->len,
				   task_tgid(current), current_euid(), current_egid());
	spin_unlock(&ep->lock);
	return ret;
}

int fastipc_cmd_send(struct fastipc_port *port, void *data)
{
	return fastipc_send_msg(port, data, true);
}

/* Answer the message behind @token with @status and @len bytes at @src. */
static int fastipc_reply_copy(struct fastipc_endpoint *ep, u64 token, s32 status,
			      const void __user *src, u32 len, bool sync, int *caller_cpu)
{
	struct fastipc_caller *call;
	struct fastipc_slot *slot;
	struct fastipc_buf *buf;
	unsigned long left;
	u8 *dst;
	int ret;

	spin_lock(&ep->lock);
	slot = fastipc_slot_lookup(ep, token);
	if (!slot) {
		ret = -ENOENT;
		goto out_unlock;
	}
	call = slot->call;
	if (slot->oneway || !call) {
		ret = slot->oneway ? 0 : -ECANCELED;
		if (slot->oneway && len)
			ret = -EINVAL;
		else
			fastipc_slot_free(ep, slot);
		goto out_unlock;
	}
	if (len > call->reply_cap || len > FASTIPC_MAX_PAYLOAD) {
		ret = -EMSGSIZE;
		goto out_unlock;
	}
	if (!len) {
		call->status = status;
		call->reply_len = 0;
		*caller_cpu = call->cpu;
		fastipc_caller_complete(call, 0, sync);
		fastipc_slot_free(ep, slot);
		ret = 0;
		goto out_unlock;
	}

	/*
	 * Copy outside the lock, into the caller's buffer, which our own
	 * reference keeps mapped even if a killed caller gives up meanwhile
	 * (any other cancel waits for the copy to end).
	 */
	slot->state = FASTIPC_SLOT_REPLYING;
	buf = call->reply_buf;
	kref_get(&buf->ref);
	dst = call->reply_kaddr;
	spin_unlock(&ep->lock);

	left = fastipc_copy_from_user(dst, src, len);

	spin_lock(&ep->lock);
	call = slot->call;
	if (left) {
		slot->state = FASTIPC_SLOT_HELD;
		ret = -EFAULT;
	} else if (!call) {
		fastipc_slot_free(ep, slot);
		ret = -ECANCELED;
	} else {
		call->status = status;
		call->reply_len = len;
		*caller_cpu = call->cpu;
		fastipc_caller_complete(call, 0, sync);
		fastipc_slot_free(ep, slot);
		ret = 0;
	}
	spin_unlock(&ep->lock);
	wake_up_var(slot);
	fastipc_buf_put(buf);
	return ret;

out_unlock:
	spin_unlock(&ep->lock);
	return ret;
}

/* Answer a message; *@caller_cpu, if it was a call, says where its caller runs. */
int fastipc_reply(struct fastipc_endpoint *ep, u64 token, s32 status, const void __user *src,
		  u32 len, bool sync, int *caller_cpu)
{
	int ret;

	*caller_cpu = -1;
	ret = fastipc_reply_copy(ep, token, status, src, len, sync, caller_cpu);

	trace_fastipc_reply(ep->id, token, status, len, ret);
	if (!ret)
		fastipc_stat_add(FASTIPC_STAT_REPLIES, 1);
	return ret;
}

/* Describe a message just taken by a server as @pid_ns and @user_ns see it. */
void fastipc_msg_info_fill(struct fastipc_endpoint *ep, struct fastipc_slot *slot,
			   struct fastipc_msg_info *info, struct pid_namespace *pid_ns,
			   struct user_namespace *user_ns)
	__must_hold(&ep->lock)
{
	info->flags = slot->oneway ? FASTIPC_MSG_ONEWAY : 0;
	info->opcode = slot->opcode;
	info->token = slot->token;
	info->offset = fastipc_slot_data(ep, slot) - ep->pool->kaddr;
	info->len = slot->len;
	info->pid = pid_nr_ns(slot->sender, pid_ns);
	info->uid = from_kuid_munged(user_ns, slot->uid);
	info->gid = from_kgid_munged(user_ns, slot->gid);
	info->reserved = 0;
	trace_fastipc_receive(ep->id, slot->token, slot->opcode, slot->len);
}

/* Fill the receive half of @arg from a slot just taken by this thread. */
static void fastipc_received(struct fastipc_endpoint *ep, struct fastipc_slot *slot,
			     struct fastipc_serve *arg)
	__must_hold(&ep->lock)
{
	struct fastipc_msg_info info;

	fastipc_msg_info_fill(ep, slot, &info, task_active_pid_ns(current), current_user_ns());
	arg->msg_flags = info.flags;
	arg->token = info.token;
	arg->offset = info.offset;
	arg->opcode = info.opcode;
	arg->len = info.len;
	arg->pid = info.pid;
	arg->uid = info.uid;
	arg->gid = info.gid;
}

/* The oldest message waiting, now held by the server thread taking it. */
struct fastipc_slot *fastipc_slot_dequeue(struct fastipc_endpoint *ep)
	__must_hold(&ep->lock)
{
	struct fastipc_slot *slot;

	slot = list_first_entry_or_null(&ep->pending, struct fastipc_slot, node);
	if (slot) {
		list_del(&slot->node);
		WRITE_ONCE(ep->npending, ep->npending - 1);
		slot->state = FASTIPC_SLOT_HELD;
	}
	return slot;
}

/* The receive half of FASTIPC_IOC_SERVE. */
static int fastipc_receive(struct fastipc_endpoint *ep, struct fastipc_serve *arg, bool nonblock,
			   int caller_cpu)
{
	struct fastipc_waiter w = { .slot = NULL, .async = false, .task = current };
	struct fastipc_slot *slot;
	u64 wait_start, spin_end;
	int ret;

	spin_lock(&ep->lock);
	slot = fastipc_slot_dequeue(ep);
	if (!slot && nonblock) {
		spin_unlock(&ep->lock);
		return -EAGAIN;
	}
	if (!slot) {
		init_waitqueue_head(&w.wq);
		list_add(&w.node, &ep->idle);
		spin_unlock(&ep->lock);
		/* The caller just answered may be back with its next call at once. */
		if (fastipc_spin_start(&ep->next_spin, caller_cpu, &wait_start, &spin_end))
			while (!READ_ONCE(w.slot) && fastipc_spin_more(spin_end))
				;
		ret = fastipc_wait_event(w.wq, READ_ONCE(w.slot), KTIME_MAX);
		spin_lock(&ep->lock);
		/* A message handed over wins over a signal: nothing is lost. */
		slot = w.slot;
		if (!slot) {
			list_del(&w.node);
			spin_unlock(&ep->lock);
			return ret;
		}
		/* Only a wait right after answering says how soon callers return. */
		if (caller_cpu >= 0)
			fastipc_spin_learn(&ep->next_spin, wait_start);
	}
	fastipc_received(ep, slot, arg);
	spin_unlock(&ep->lock);
	return 0;
}

int fastipc_cmd_serve(struct fastipc_port *port, void *data)
{
	struct fastipc_serve *arg = data;
	bool reply = arg->flags & FASTIPC_SERVE_REPLY;
	bool recv = arg->flags & FASTIPC_SERVE_RECV;
	struct fastipc_endpoint *ep;
	int caller_cpu = -1;
	int ret;

	if (arg->flags & ~FASTIPC_SERVE_ALL || !(reply || recv) || arg->reserved0 ||
	    arg->reserved[0] || arg->reserved[1])
		return -EINVAL;
	if (!reply && (arg->reply_status || arg->reply_token || arg->reply_addr ||
		       arg->reply_len))
		return -EINVAL;
	ep = fastipc_port_ep(port, FASTIPC_ROLE_ENDPOINT);
	if (IS_ERR(ep))
		return PTR_ERR(ep);

	if (reply) {
		ret = fastipc_reply(ep, arg->reply_token, arg->reply_status,
				    u64_to_user_ptr(arg->reply_addr), arg->reply_len, recv,
				    &caller_cpu);
		if (ret)
			return ret;
	}
	arg->msg_flags = 0;
	arg->token = 0;
	arg->offset = 0;
	arg->opcode = 0;
	arg->len = 0;
	arg->pid = 0;
	arg->uid = 0;
	arg->gid = 0;
	if (!recv)
		return 0;
	return fastipc_receive(ep, arg, arg->flags & FASTIPC_SERVE_NONBLOCK, caller_cpu);
}

/*
 * Claim the call behind @token for forwarding: on success the slot is BUSY
 * and the caller attached to it has hops to spare.
 */
static struct fastipc_slot *fastipc_forward_claim(struct fastipc_endpoint *ep, u64 token)
{
	struct fastipc_slot *slot;
	int ret = 0;

	spin_lock(&ep->lock);
	slot = fastipc_slot_lookup(ep, token);
	if (!slot) {
		ret = -ENOENT;
	} else if (slot->oneway) {
		ret = -EINVAL;
	} else if (!slot->call) {
		fastipc_slot_free(ep, slot);
		ret = -ECANCELED;
	} else if (slot->call->hops == FASTIPC_MAX_FORWARDS) {
		fastipc_caller_complete(slot->call, -ELOOP, false);
		fastipc_slot_free(ep, slot);
		ret = -ELOOP;
	} else {
		slot->state = FASTIPC_SLOT_BUSY;
	}
	spin_unlock(&ep->lock);
	return ret ? ERR_PTR(ret) : slot;
}

int fastipc_cmd_forward(struct fastipc_port *port, void *data)
{
	struct fastipc_forward *arg = data;
	struct fastipc_endpoint *ep, *target;
	struct fastipc_slot *slot, *tslot;
	struct fastipc_caller *call;
	int ret;

	if (arg->flags || arg->reserved0 || arg->reserved1 || arg->reserved[0] ||
	    arg->reserved[1])
		return -EINVAL;
	ep = fastipc_port_ep(port, FASTIPC_ROLE_ENDPOINT);
	if (IS_ERR(ep))
		return PTR_ERR(ep);
	target = fastipc_ep_get_from_fd(arg->target_fd);
	if (IS_ERR(target))
		return PTR_ERR(target);
	ret = -EMSGSIZE;
	if (arg->len > target->slot_size)
		goto out_put_target;

	slot = fastipc_forward_claim(ep, arg->token);
	if (IS_ERR(slot)) {
		ret = PTR_ERR(slot);
		goto out_put_target;
	}
	tslot = fastipc_slot_fill(target, NULL, false, KTIME_MAX,
				  u64_to_user_ptr(arg->addr), arg->len);
	if (IS_ERR(tslot)) {
		spin_lock(&ep->lock);
		slot->state = FASTIPC_SLOT_HELD;
		spin_unlock(&ep->lock);
		ret = PTR_ERR(tslot);
		goto out_put_target;
	}

	/* Detach the call from this endpoint... */
	spin_lock(&ep->lock);
	call = slot->call;
	if (call)
		WRITE_ONCE(call->state, FASTIPC_CALLER_MOVING);
	fastipc_slot_free(ep, slot);
	spin_unlock(&ep->lock);
	if (!call) {
		spin_lock(&target->lock);
		fastipc_slot_free(target, tslot);
		spin_unlock(&target->lock);
		ret = -ECANCELED;
		goto out_put_target;
	}

	/* ...and attach it to the target, which keeps our reference. */
	spin_lock(&target->lock);
	call->route[++call->hops] = target;
	WRITE_ONCE(call->ep, target);
	if (fastipc_slot_publish(target, tslot, call, arg->opcode, arg->len,
				 call->pid, call->uid, call->gid))
		fastipc_caller_complete(call, -EPIPE, false);
	spin_unlock(&target->lock);
	wake_up_var(&call->state);
	return 0;

out_put_target:
	fastipc_ep_put(target);
	return ret;
}
