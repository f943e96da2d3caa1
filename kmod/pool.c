// SPDX-License-Identifier: GPL-2.0
/*
 * The receive pool: an endpoint's fixed-size slots and its queue of messages.
 *
 * A message takes a free slot of the endpoint's pool as it arrives, and the
 * sender copies its payload straight into the slot, whether or not a server
 * waits: the single copy never depends on timing. The slot is then handed to
 * the server that went idle last (its cache is the warmest) or queued, oldest
 * first. The server answers through the slot's token, which frees the slot.
 *
 * A slot's state (Documentation/design.rst has the table):
 *
 *   FREE -> FILLING         a sender took it and copies its payload in
 *   FILLING -> QUEUED|HELD  published: queued, or handed to a waiting server
 *   FILLING -> FREE         the copy faulted, or the endpoint died
 *   QUEUED -> HELD          a server received it
 *   HELD -> QUEUED|HELD     given back by a receive whose ring died before
 *                           the message reached it (fastipc_slot_redeliver())
 *   HELD -> REPLYING        a server copies the reply into the caller's room
 *   HELD -> FORWARDING      a server copies the call's next request elsewhere
 *   REPLYING|FORWARDING -> HELD   that copy faulted; the token still holds
 *   QUEUED|HELD|REPLYING|FORWARDING -> FREE   answered, forwarded, cancelled
 *                           while queued, or failed when the endpoint died
 *
 * A one-way message is charged, as it takes its slot, to the user who
 * opened the sending port, twice: in the endpoint (ep->oneway_senders, at
 * most max_oneway_per_sender) and in all endpoints (the user's quota, at
 * most max_oneway_per_user). So a server that never releases messages holds
 * only its share of a sender's quota. An endpoint with no room for the
 * message gives EAGAIN, a sender over either quota EDQUOT.
 *
 * Locking: ep->lock protects every slot, the lists and the counters; the
 * payload copies are the only work done on a slot without it, and the
 * FILLING, REPLYING and FORWARDING states keep everybody else off the slot
 * meanwhile. Nothing here sleeps but fastipc_slot_fill()'s waits for room;
 * nothing allocates but the count of a user new to an endpoint, without
 * sleeping.
 */
#include <linux/nospec.h>
#include <linux/pid.h>
#include <linux/sched/signal.h>
#include <linux/pid_namespace.h>
#include <linux/user_namespace.h>

#include "fastipc.h"
#include "trace.h"

static u8 *fastipc_slot_data(struct fastipc_endpoint *ep, struct fastipc_slot *slot)
{
	return ep->pool_base + (size_t)(slot - ep->slots) * ep->slot_size;
}

static bool fastipc_slot_available(struct fastipc_endpoint *ep, bool oneway)
{
	return READ_ONCE(ep->nfree) &&
	       (!oneway || READ_ONCE(ep->noneway) < ep->max_oneway);
}

/* How many one-way messages of @user wait in @ep; exact under ep->lock. */
static unsigned long fastipc_oneway_count(struct fastipc_endpoint *ep, struct fastipc_user *user)
{
	void *entry = xa_load(&ep->oneway_senders, __kuid_val(user->uid));

	return entry ? xa_to_value(entry) : 0;
}

/*
 * Whether @user's messages to @ep count in its quota over all endpoints: not
 * when @user owns @ep, whose pool is its own to fill. That is how a server
 * always reaches its own endpoint, to wake its threads, say.
 */
static bool fastipc_oneway_shared(struct fastipc_endpoint *ep, struct fastipc_user *user)
{
	return user != ep->user;
}

/* Why @user cannot send a one-way message to @ep now: -EDQUOT, -EAGAIN, or 0. */
static int fastipc_oneway_room(struct fastipc_endpoint *ep, struct fastipc_user *user)
{
	if (!fastipc_user_oneway_room_at(fastipc_oneway_count(ep, user)) ||
	    (fastipc_oneway_shared(ep, user) && !fastipc_user_oneway_room(user)))
		return -EDQUOT;
	return fastipc_slot_available(ep, true) ? 0 : -EAGAIN;
}

/* Charge a one-way message to @user, in @ep and in all; -EAGAIN, -EDQUOT, -ENOMEM. */
static int fastipc_oneway_charge(struct fastipc_endpoint *ep, struct fastipc_user *user)
	__must_hold(&ep->lock)
{
	unsigned long n = fastipc_oneway_count(ep, user);
	void *old;
	int ret;

	lockdep_assert_held(&ep->lock);
	ret = fastipc_oneway_room(ep, user);
	if (ret)
		return ret;
	/* Another endpoint may have taken the user's last message meanwhile. */
	if (fastipc_oneway_shared(ep, user) && !fastipc_user_charge_oneway(user))
		return -EDQUOT;
	old = xa_store(&ep->oneway_senders, __kuid_val(user->uid), xa_mk_value(n + 1),
		       GFP_NOWAIT | __GFP_ACCOUNT);
	if (xa_is_err(old)) {
		if (fastipc_oneway_shared(ep, user))
			fastipc_user_uncharge_oneway(user);
		return xa_err(old);
	}
	return 0;
}

static void fastipc_oneway_uncharge(struct fastipc_endpoint *ep, struct fastipc_user *user)
	__must_hold(&ep->lock)
{
	unsigned long n = fastipc_oneway_count(ep, user);

	/* Replacing an entry allocates nothing: it cannot fail. */
	if (n > 1)
		xa_store(&ep->oneway_senders, __kuid_val(user->uid), xa_mk_value(n - 1),
			 GFP_NOWAIT);
	else if (!WARN_ON_ONCE(!n))
		xa_erase(&ep->oneway_senders, __kuid_val(user->uid));
	if (fastipc_oneway_shared(ep, user))
		fastipc_user_uncharge_oneway(user);
}

void fastipc_slot_free(struct fastipc_endpoint *ep, struct fastipc_slot *slot)
	__must_hold(&ep->lock)
{
	lockdep_assert_held(&ep->lock);
	WARN_ON_ONCE(slot->state == FASTIPC_SLOT_FREE);
	if (slot->oneway)
		ep->noneway--;
	if (slot->user) {
		fastipc_oneway_uncharge(ep, slot->user);
		fastipc_user_put(slot->user);
		slot->user = NULL;
	}
	/* Never received: the descriptors it carries are closed. */
	fastipc_fds_release(slot->fds);
	slot->fds = NULL;
	put_pid(slot->sender);
	slot->sender = NULL;
	put_pid(slot->caller);
	slot->caller = NULL;
	slot->call = NULL;
	slot->token = 0;
	slot->oneway = false;
	slot->state = FASTIPC_SLOT_FREE;
	/* LIFO: the slot freed last is the one still in the cache. */
	list_add(&slot->node, &ep->free_slots);
	ep->nfree++;
	if (wq_has_sleeper(&ep->slot_wq))
		wake_up(&ep->slot_wq);
}

/*
 * Wait until @user may send a one-way message to @ep, @ep dies, a signal
 * or task work (-ERESTARTSYS) or @deadline (-ETIME): room comes back on
 * either of two queues, the endpoint's and the user's. The entries stay on
 * both queues until the wait ends: one that removed itself when woken would
 * be off its queue for good if the wake-up's room went to another sender
 * before we looked.
 */
static int fastipc_oneway_wait(struct fastipc_endpoint *ep, struct fastipc_user *user,
			       ktime_t deadline)
{
	DEFINE_WAIT_FUNC(ep_wait, default_wake_function);
	DEFINE_WAIT_FUNC(user_wait, default_wake_function);
	int ret = 0;

	for (;;) {
		prepare_to_wait(&ep->slot_wq, &ep_wait, TASK_INTERRUPTIBLE);
		prepare_to_wait(&user->oneway_wq, &user_wait, TASK_INTERRUPTIBLE);
		if (READ_ONCE(ep->dead) || !fastipc_oneway_room(ep, user))
			break;
		if (signal_pending(current)) {
			ret = -ERESTARTSYS;
			break;
		}
		if (!schedule_hrtimeout(&deadline, HRTIMER_MODE_ABS)) {
			ret = -ETIME;
			break;
		}
	}
	finish_wait(&user->oneway_wq, &user_wait);
	finish_wait(&ep->slot_wq, &ep_wait);
	return ret;
}

/*
 * Make room in @ep for a message of @user (one-way) or a call: 0, or why
 * not (-EPIPE, -EAGAIN, -EDQUOT, -ENOMEM). A one-way message is charged.
 */
static int fastipc_slot_reserve(struct fastipc_endpoint *ep, struct fastipc_user *user)
	__must_hold(&ep->lock)
{
	if (ep->dead)
		return -EPIPE;
	if (user)
		return fastipc_oneway_charge(ep, user);
	return fastipc_slot_available(ep, false) ? 0 : -EAGAIN;
}

/*
 * Take a free slot of @ep for a message of @user (one-way, charged to
 * @user already) or a call: FILLING, owned by the caller until published.
 */
struct fastipc_slot *fastipc_slot_take(struct fastipc_endpoint *ep, struct fastipc_user *user)
	__must_hold(&ep->lock)
{
	struct fastipc_slot *slot;

	lockdep_assert_held(&ep->lock);
	slot = list_first_entry(&ep->free_slots, struct fastipc_slot, node);
	list_del(&slot->node);
	ep->nfree--;
	slot->state = FASTIPC_SLOT_FILLING;
	slot->oneway = user;
	if (user) {
		ep->noneway++;
		slot->user = user;
		refcount_inc(&user->ref);
	}
	return slot;
}

/* Copy a payload into a slot taken for it; a fault frees the slot. */
int fastipc_slot_copy(struct fastipc_endpoint *ep, struct fastipc_slot *slot,
		      const void __user *src, u32 len, bool nofault)
{
	if (!len || !fastipc_copy_in(fastipc_slot_data(ep, slot), src, len, nofault))
		return 0;
	spin_lock(&ep->lock);
	fastipc_slot_free(ep, slot);
	spin_unlock(&ep->lock);
	return -EFAULT;
}

/*
 * Take a free slot of @ep and copy the payload into it. Without room, fail
 * with -EAGAIN (the endpoint has none) or -EDQUOT (a one-way message's
 * sender is over its quota), or with FASTIPC_FILL_WAIT wait for room until
 * @deadline (-ETIME) or a signal (-ERESTARTSYS). A one-way message (@user
 * set) is charged to @user. Returns the slot in FASTIPC_SLOT_FILLING.
 */
struct fastipc_slot *fastipc_slot_fill(struct fastipc_endpoint *ep, struct fastipc_user *user,
				       unsigned int flags, ktime_t deadline,
				       const void __user *src, u32 len)
{
	struct fastipc_slot *slot;
	int ret;

	spin_lock(&ep->lock);
	for (;;) {
		ret = fastipc_slot_reserve(ep, user);
		if ((ret != -EAGAIN && ret != -EDQUOT) || !(flags & FASTIPC_FILL_WAIT))
			break;
		spin_unlock(&ep->lock);
		if (user)
			ret = fastipc_oneway_wait(ep, user, deadline);
		else
			ret = fastipc_wait_event(ep->slot_wq, READ_ONCE(ep->dead) ||
						 fastipc_slot_available(ep, false), deadline);
		if (ret)
			return ERR_PTR(ret);
		spin_lock(&ep->lock);
	}
	if (ret) {
		spin_unlock(&ep->lock);
		return ERR_PTR(ret);
	}
	slot = fastipc_slot_take(ep, user);
	spin_unlock(&ep->lock);

	ret = fastipc_slot_copy(ep, slot, src, len, flags & FASTIPC_FILL_NOFAULT);
	return ret ? ERR_PTR(ret) : slot;
}

/* Queue @slot, after every message that arrived before it. */
static void fastipc_slot_queue(struct fastipc_endpoint *ep, struct fastipc_slot *slot)
	__must_hold(&ep->lock)
{
	struct fastipc_slot *pos;

	fastipc_stat_add(FASTIPC_STAT_QUEUED, 1);
	slot->state = FASTIPC_SLOT_QUEUED;
	/* Only a message given back arrives out of order: walk from the end. */
	list_for_each_entry_reverse(pos, &ep->pending, node)
		if (pos->token < slot->token)
			break;
	list_add(&slot->node, &pos->node);
	WRITE_ONCE(ep->npending, ep->npending + 1);
	if (wq_has_sleeper(&ep->poll_wq))
		wake_up_interruptible_poll(&ep->poll_wq, EPOLLIN | EPOLLRDNORM);
}

/* Hand a message to the server that went idle last, or queue it. */
static void fastipc_deliver(struct fastipc_endpoint *ep, struct fastipc_slot *slot, bool sync)
	__must_hold(&ep->lock)
{
	struct fastipc_waiter *w;

	w = list_first_entry_or_null(&ep->idle, struct fastipc_waiter, node);
	if (!w) {
		fastipc_slot_queue(ep, slot);
		return;
	}
	list_del_init(&w->node);
	slot->state = FASTIPC_SLOT_HELD;
	/* Before deliver(), after which a ring's waiter may be gone. */
	if (slot->call)
		slot->call->server = w->task;
	WRITE_ONCE(w->slot, slot);
	w->deliver(w, sync);
	fastipc_stat_add(FASTIPC_STAT_HANDOFFS, 1);
}

/*
 * Publish a filled slot as a message from @pid/@uid/@gid, attached to @call
 * unless one-way; a forwarded call is from its forwarder and keeps its
 * caller's identity apart. Fails only if the endpoint died meanwhile (the
 * slot is freed then).
 */
int fastipc_slot_publish(struct fastipc_endpoint *ep, struct fastipc_slot *slot,
			 struct fastipc_caller *call, u32 opcode, u32 len,
			 struct pid *pid, kuid_t uid, kgid_t gid)
	__must_hold(&ep->lock)
{
	lockdep_assert_held(&ep->lock);
	WARN_ON_ONCE(slot->state != FASTIPC_SLOT_FILLING);
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
	if (call && call->hops) {
		slot->caller = get_pid(call->pid);
		slot->caller_uid = call->uid;
		slot->caller_gid = call->gid;
	}
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
		WARN_ON_ONCE(call->state != FASTIPC_CALLER_NEW &&
			     call->state != FASTIPC_CALLER_PENDING);
		WRITE_ONCE(call->ep, ep);
		call->slot = slot;
		WRITE_ONCE(call->state, FASTIPC_CALLER_PENDING);
	}
	fastipc_deliver(ep, slot, !!call);
	return 0;
}

/* The slot a server holds under @token, or NULL. */
struct fastipc_slot *fastipc_slot_lookup(struct fastipc_endpoint *ep, u64 token)
	__must_hold(&ep->lock)
{
	u32 idx = token & ((1U << FASTIPC_SLOT_BITS) - 1);
	struct fastipc_slot *slot;

	lockdep_assert_held(&ep->lock);
	if (idx >= ep->nslots)
		return NULL;
	slot = &ep->slots[array_index_nospec(idx, ep->nslots)];
	if (slot->state != FASTIPC_SLOT_HELD || slot->token != token)
		return NULL;
	return slot;
}

/* The oldest message waiting, now held by the server taking it. */
struct fastipc_slot *fastipc_slot_dequeue(struct fastipc_endpoint *ep)
	__must_hold(&ep->lock)
{
	struct fastipc_slot *slot;

	lockdep_assert_held(&ep->lock);
	slot = list_first_entry_or_null(&ep->pending, struct fastipc_slot, node);
	if (slot) {
		list_del(&slot->node);
		WRITE_ONCE(ep->npending, ep->npending - 1);
		slot->state = FASTIPC_SLOT_HELD;
	}
	return slot;
}

/*
 * A held message whose receiver went away before it learnt of it goes to
 * another server, or back to the queue in the order it arrived in.
 */
void fastipc_slot_redeliver(struct fastipc_endpoint *ep, struct fastipc_slot *slot)
	__must_hold(&ep->lock)
{
	lockdep_assert_held(&ep->lock);
	WARN_ON_ONCE(slot->state != FASTIPC_SLOT_HELD);
	fastipc_deliver(ep, slot, false);
}

/*
 * A process's id as @ns sees it, 0 once it has exited: a number whose process
 * is gone may already name another.
 */
static u32 fastipc_pid_nr(struct pid *pid, struct pid_namespace *ns)
{
	return pid_has_task(pid, PIDTYPE_TGID) ? pid_nr_ns(pid, ns) : 0;
}

/*
 * Describe a message just taken by a server as @pid_ns and @user_ns see it.
 * Descriptors still on the slot have no receiver that could install them
 * (an io_uring receive): they are counted and closed.
 */
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
	info->pid = fastipc_pid_nr(slot->sender, pid_ns);
	info->uid = from_kuid_munged(user_ns, slot->uid);
	info->gid = from_kgid_munged(user_ns, slot->gid);
	if (slot->caller) {
		info->flags |= FASTIPC_MSG_FORWARDED;
		info->caller_pid = fastipc_pid_nr(slot->caller, pid_ns);
		info->caller_uid = from_kuid_munged(user_ns, slot->caller_uid);
		info->caller_gid = from_kgid_munged(user_ns, slot->caller_gid);
	} else {
		info->caller_pid = info->pid;
		info->caller_uid = info->uid;
		info->caller_gid = info->gid;
	}
	info->nfds = fastipc_fds_count(slot->fds);
	if (slot->fds) {
		info->flags |= FASTIPC_MSG_FDS_TRUNC;
		fastipc_fds_release(slot->fds);
		slot->fds = NULL;
	}
	info->reserved = 0;
	trace_fastipc_receive(ep->id, slot->token, slot->opcode, slot->len);
}
