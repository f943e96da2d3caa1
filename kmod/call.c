// SPDX-License-Identifier: GPL-2.0
/*
 * Calls: call, one-way send, reply-and-receive and forward.
 *
 * A caller's request goes into a slot of the endpoint's receive pool
 * (pool.c); the server answers through the slot's token, copying the reply
 * once, straight into the caller's registered reply buffer. The call is a
 * struct fastipc_caller the slot points to while it waits; whoever waits for
 * it (a thread here, an io_uring command in uring.c) is told through its
 * done() callback.
 *
 * A caller's state, under the lock of the endpoint it is attached to:
 *
 *   NEW -> PENDING          its request was published in a slot
 *   PENDING -> PENDING      forwarded: moved to a slot of another endpoint,
 *                           under both endpoints' locks
 *   PENDING -> DONE         answered, or failed by the module (EPIPE, ELOOP)
 *   NEW|PENDING -> CANCELLED   given up: timeout, fatal signal, a handler
 *                           without SA_RESTART, an io_uring cancellation
 *
 * A thread's FASTIPC_IOC_CALL lives in a struct fastipc_sync_call on its
 * stack, which outlives an interrupted ioctl: when the interruption
 * restarts the call (task work, a stop, ptrace, a handler with SA_RESTART),
 * the call moves to the heap, stays attached, is parked on the port under
 * the thread's pid, and the restarted ioctl takes it back with its absolute
 * deadline. Nothing here waits in a
 * way that task work cannot end.
 *
 * Locking: ep->lock protects slots, queues and the state of attached
 * callers. port->parked_lock protects the parked calls only. Forward holds
 * the locks of both endpoints, the lower address first.
 */
#include <linux/hrtimer.h>
#include <linux/moduleparam.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/user_namespace.h>

#include "fastipc.h"
#include "trace.h"

/*
 * A thread whose partner thread runs on another CPU spins for the partner's
 * answer before it sleeps: a partner that answers meanwhile saves both the
 * sleep and the cross-CPU wake-up, which cost more than the spinning. Never
 * when the partner shares our CPU, where it could not run, and only while
 * the partner runs: the spin ends the moment the partner is seen off its
 * CPU (asleep, stopped, preempted). The partner was just woken by us, to
 * take the call or to read its answer: until it is first seen on a CPU it
 * is on its way to one, since it cannot sleep again without running.
 *
 * How long is learnt per endpoint and direction: twice the moving average of
 * how long answers from a partner on another CPU took lately (a wait for a
 * partner on ours is neither spun nor timed), at least FASTIPC_SPIN_MIN_NS
 * and at most spin_ns. When answers take longer than spin_ns on average,
 * nobody spins: the CPU time would be lost. spin_ns is set at load only, and a value above
 * FASTIPC_SPIN_MAX_NS fails the load with EINVAL.
 *
 * The partner's task_struct must outlive the spin without the spinner
 * taking a reference on the fast path: a caller spins for the server thread
 * its call was handed to under ep->lock, which that thread needs to leave
 * its receive, so an RCU read-side section begun under the lock keeps the
 * task_struct (freed only a grace period after the task is released) for
 * the spin, as mutex owner spinning does. A server spins for the caller it
 * answered, whose thread is back in user space by then: for that one it
 * holds a reference, taken under ep->lock while the caller waited.
 */
#define FASTIPC_SPIN_MAX_NS	1000000

static struct fastipc_limit spin_ns = { 200000, 0, FASTIPC_SPIN_MAX_NS };
module_param_cb(spin_ns, &fastipc_limit_ops, &spin_ns, 0444);
__MODULE_PARM_TYPE(spin_ns, "uint");
MODULE_PARM_DESC(spin_ns,
		 "Spin at most this long (ns, at most 1 ms, set at load) for a partner running on another CPU before sleeping; 0 never");

#define FASTIPC_SPIN_MIN_NS	50000
#define FASTIPC_SPIN_AVG_SHIFT	3	/* each answer weighs 1/8 in the average */

/* A wait for a partner's answer. */
struct fastipc_spin_wait {
	struct task_struct *partner;
	u64 start;
	u64 end;
	bool ran;
};

/* Whether @partner runs on its CPU, which itself runs (not a preempted vCPU). */
static bool fastipc_partner_on_cpu(struct task_struct *partner)
{
	return READ_ONCE(partner->on_cpu) && !vcpu_is_preempted(task_cpu(partner));
}

/*
 * Start waiting for an answer from @partner (NULL: none); true if spinning
 * for it is worth a try. @partner must stay valid until the spin ends.
 * Only a wait for a partner on another CPU is timed (w->start), to learn
 * from: one on this CPU cannot answer before we sleep, whatever it does.
 */
static bool fastipc_spin_start(struct fastipc_spin *spin, struct task_struct *partner,
			       struct fastipc_spin_wait *w)
{
	unsigned int max = spin_ns.val;
	u64 avg;

	w->start = 0;
	if (!max || !partner || task_cpu(partner) == raw_smp_processor_id())
		return false;
	w->start = local_clock();
	avg = READ_ONCE(spin->avg_ns);
	if (avg > max)
		return false;
	w->partner = partner;
	w->ran = false;
	/* spin_ns may be set below the floor: it is the bound still. */
	w->end = w->start + min_t(u64, max_t(u64, 2 * avg, FASTIPC_SPIN_MIN_NS), max);
	return true;
}

static bool fastipc_spin_more(struct fastipc_spin_wait *w)
{
	bool on_cpu = fastipc_partner_on_cpu(w->partner);

	if ((w->ran && !on_cpu) || need_resched() || signal_pending(current) ||
	    local_clock() > w->end)
		return false;
	w->ran |= on_cpu;
	cpu_relax();
	return true;
}

/* The answer to the wait @w came now: fold how long it took into the average. */
static void fastipc_spin_learn(struct fastipc_spin *spin, const struct fastipc_spin_wait *w)
{
	u32 took, avg;

	if (!w->start)
		return;
	took = min_t(u64, local_clock() - w->start, U32_MAX);
	avg = READ_ONCE(spin->avg_ns);

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

/*
 * Set up @call to @ep, with its reply room in the port's registered buffer
 * @buf_id; fastipc_caller_release() undoes it. The caller sets @call->done.
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
	call->state = FASTIPC_CALLER_NEW;
	call->ep = ep;
	call->slot = NULL;
	call->route[0] = ep;
	call->hops = 0;
	call->reply_kaddr = call->reply_buf->kaddr + offset;
	call->reply_cap = min(cap, ep->max_reply);
	call->error = 0;
	call->status = 0;
	call->reply_len = 0;
	/* The call may outlive its process: a forward publishes it again. */
	call->pid = get_pid(task_tgid(current));
	call->uid = current_euid();
	call->gid = current_egid();
	call->task = NULL;
	call->server = NULL;
	call->reply_fds = NULL;
	kref_get(&ep->ref);
	return 0;
}

/* Drop what the call holds; it is detached (NEW, DONE or CANCELLED). */
void fastipc_caller_release(struct fastipc_caller *call)
{
	unsigned int i;

	for (i = 0; i <= call->hops; i++)
		fastipc_ep_put(call->route[i]);
	fastipc_buf_put(call->reply_buf);
	put_pid(call->pid);
	/* A reply's descriptors nobody installed. */
	fastipc_fds_release(call->reply_fds);
}

/* Lock the endpoint @call is attached to, which a forward may change. */
struct fastipc_endpoint *fastipc_caller_lock(struct fastipc_caller *call)
	__acquires(&call->ep->lock)
{
	struct fastipc_endpoint *ep;

	for (;;) {
		/* The call's route keeps every endpoint it visited alive. */
		ep = READ_ONCE(call->ep);
		spin_lock(&ep->lock);
		if (likely(call->ep == ep))
			return ep;
		spin_unlock(&ep->lock);
	}
}

static bool fastipc_caller_done(struct fastipc_caller *call)
{
	return READ_ONCE(call->state) == FASTIPC_CALLER_DONE;
}

/* Finish a call and tell whoever waits for it. */
void fastipc_caller_complete(struct fastipc_caller *call, int error, bool sync)
	__must_hold(&call->ep->lock)
{
	lockdep_assert_held(&call->ep->lock);
	WARN_ON_ONCE(call->state != FASTIPC_CALLER_PENDING &&
		     call->state != FASTIPC_CALLER_NEW);
	call->error = error;
	WRITE_ONCE(call->state, FASTIPC_CALLER_DONE);
	call->done(call, sync);
}

/*
 * Detach a PENDING @call from its slot, so that a server answering later
 * finds no caller (ECANCELED). A reply already being copied wins unless
 * @force; the copy then still lands in the caller's room, which the replying
 * server keeps referenced. True if the call is now CANCELLED.
 */
bool fastipc_caller_detach(struct fastipc_caller *call, bool force)
	__must_hold(&call->ep->lock)
{
	struct fastipc_endpoint *ep = call->ep;
	struct fastipc_slot *slot = call->slot;

	lockdep_assert_held(&ep->lock);
	if (call->state != FASTIPC_CALLER_PENDING)
		return false;
	if (slot->state == FASTIPC_SLOT_REPLYING && !force)
		return false;
	if (slot->state == FASTIPC_SLOT_QUEUED) {
		list_del(&slot->node);
		WRITE_ONCE(ep->npending, ep->npending - 1);
		fastipc_slot_free(ep, slot);
	} else {
		slot->call = NULL;
	}
	call->slot = NULL;
	WRITE_ONCE(call->state, FASTIPC_CALLER_CANCELLED);
	fastipc_stat_add(FASTIPC_STAT_CANCELLED, 1);
	return true;
}

/*
 * Wake a thread waiting for a call or a message; with @sync the waker is
 * about to sleep, so the scheduler may run the woken thread on this CPU.
 */
static void fastipc_wake(wait_queue_head_t *wq, bool sync)
{
	if (sync)
		wake_up_interruptible_sync(wq);
	else
		wake_up_interruptible(wq);
}

/**
 * struct fastipc_sync_call - a thread's FASTIPC_IOC_CALL
 * @call: the call.
 * @wq: the calling thread sleeps here.
 * @deadline: when the call times out, absolute; KTIME_MAX for never.
 * @arg: the ioctl's argument, which its restart must repeat.
 * @node: in port->parked while interrupted.
 * @thread: the calling thread while parked (referenced).
 */
struct fastipc_sync_call {
	struct fastipc_caller call;
	wait_queue_head_t wq;
	ktime_t deadline;
	struct fastipc_call arg;
	struct list_head node;
	struct pid *thread;
};

static void fastipc_sync_call_done(struct fastipc_caller *call, bool sync)
{
	struct fastipc_sync_call *sc = container_of(call, struct fastipc_sync_call, call);

	/* The caller frees @sc only after taking the lock we hold. */
	fastipc_wake(&sc->wq, sync);
}

/* Set up a thread's call on its stack; it moves to the heap only to park. */
static int fastipc_sync_call_init(struct fastipc_sync_call *sc, struct fastipc_port *port,
				  struct fastipc_endpoint *ep, const struct fastipc_call *arg)
{
	int ret;

	ret = fastipc_caller_init(&sc->call, port, ep, arg->reply_buf, arg->reply_offset,
				  arg->reply_cap);
	if (ret)
		return ret;
	sc->call.done = fastipc_sync_call_done;
	init_waitqueue_head(&sc->wq);
	sc->deadline = KTIME_MAX;
	/* Saturates: a timeout beyond what ktime holds is no timeout. */
	if (arg->timeout_ns)
		sc->deadline = ktime_add_safe(ktime_get(), ns_to_ktime(arg->timeout_ns));
	sc->arg = *arg;
	sc->thread = NULL;
	return 0;
}

/*
 * Move an interrupted call off the stack: the slot, the only other holder
 * of a pointer to it, is pointed at the copy under the endpoint's lock.
 */
static struct fastipc_sync_call *fastipc_sync_call_to_heap(struct fastipc_sync_call *sc)
{
	struct fastipc_sync_call *heap;
	struct fastipc_endpoint *ep;

	heap = kmalloc(sizeof(*heap), GFP_KERNEL_ACCOUNT);
	if (!heap)
		return NULL;
	ep = fastipc_caller_lock(&sc->call);
	*heap = *sc;
	init_waitqueue_head(&heap->wq);
	if (heap->call.state == FASTIPC_CALLER_PENDING)
		heap->call.slot->call = &heap->call;
	spin_unlock(&ep->lock);
	return heap;
}

static void fastipc_sync_call_release(struct fastipc_sync_call *sc)
{
	put_pid(sc->thread);
	fastipc_caller_release(&sc->call);
}

/* A parked call nobody will restart: cancel it and free it. */
static void fastipc_sync_call_abandon(struct fastipc_sync_call *sc)
{
	struct fastipc_endpoint *ep = fastipc_caller_lock(&sc->call);

	if (!fastipc_caller_detach(&sc->call, true) && sc->call.state == FASTIPC_CALLER_NEW)
		sc->call.state = FASTIPC_CALLER_CANCELLED;
	spin_unlock(&ep->lock);
	fastipc_sync_call_release(sc);
	kfree(sc);
}

/*
 * Park an interrupted call until its thread restarts the ioctl. Calls whose
 * thread exited first are abandoned on the way: a thread that was killed
 * after parking never comes back for its call.
 */
static void fastipc_sync_call_park(struct fastipc_port *port, struct fastipc_sync_call *sc)
{
	struct fastipc_sync_call *pos, *next;
	LIST_HEAD(gone);

	sc->thread = get_pid(task_pid(current));
	spin_lock(&port->parked_lock);
	list_for_each_entry_safe(pos, next, &port->parked, node)
		if (!pid_has_task(pos->thread, PIDTYPE_PID))
			list_move(&pos->node, &gone);
	list_add(&sc->node, &port->parked);
	spin_unlock(&port->parked_lock);
	list_for_each_entry_safe(pos, next, &gone, node)
		fastipc_sync_call_abandon(pos);
}

/*
 * The call this thread parked on @port, if the ioctl restarting now is its
 * restart: the same argument. A different call means the thread moved on
 * (a signal handler rewrote the argument, say): the parked one is cancelled.
 */
static struct fastipc_sync_call *fastipc_sync_call_resume(struct fastipc_port *port,
							  const struct fastipc_call *arg)
{
	struct fastipc_sync_call *sc = NULL, *pos;
	struct pid *me = task_pid(current);

	if (list_empty(&port->parked))
		return NULL;
	spin_lock(&port->parked_lock);
	list_for_each_entry(pos, &port->parked, node) {
		if (pos->thread == me) {
			list_del(&pos->node);
			sc = pos;
			break;
		}
	}
	spin_unlock(&port->parked_lock);
	if (!sc)
		return NULL;
	put_pid(sc->thread);
	sc->thread = NULL;
	if (memcmp(&sc->arg, arg, sizeof(*arg))) {
		fastipc_sync_call_abandon(sc);
		return NULL;
	}
	return sc;
}

/* The port is going: nobody can restart its parked calls any more. */
void fastipc_port_release_parked(struct fastipc_port *port)
{
	struct fastipc_sync_call *sc, *next;

	list_for_each_entry_safe(sc, next, &port->parked, node) {
		list_del(&sc->node);
		fastipc_sync_call_abandon(sc);
	}
}

/*
 * Whether what ended this thread's wait leaves an interrupted call to be
 * restarted: yes for task work, stop signals, ignored signals and handlers
 * with SA_RESTART; no for a fatal signal, a default action that kills (a
 * core dump) or any pending handler without SA_RESTART, for which the call
 * is cancelled and the caller answered with EINTR.
 * This is the choice the signal code makes for -ERESTARTSYS on the way out,
 * made early because the call must be cancelled before the thread returns.
 */
static bool fastipc_interrupt_restarts(void)
{
	/* Only this thread's own exec could change its sighand. */
	struct sighand_struct *sighand = rcu_dereference_protected(current->sighand, true);
	bool restarts = true;
	sigset_t pending;
	int sig;

	if (fatal_signal_pending(current))
		return false;
	if (!task_sigpending(current))
		return true;
	spin_lock_irq(&sighand->siglock);
	sigorsets(&pending, &current->pending.signal, &current->signal->shared_pending.signal);
	sigandnsets(&pending, &pending, &current->blocked);
	for (sig = 1; sig <= _NSIG && restarts; sig++) {
		const struct sigaction *sa = &sighand->action[sig - 1].sa;

		if (!sigismember(&pending, sig) || sa->sa_handler == SIG_IGN)
			continue;
		/* Default actions that kill without SIGKILL: core dumps. */
		if (sa->sa_handler == SIG_DFL)
			restarts = sig_kernel_ignore(sig) || sig_kernel_stop(sig);
		else
			restarts = sa->sa_flags & SA_RESTART;
	}
	spin_unlock_irq(&sighand->siglock);
	return restarts;
}

/*
 * The wait for the answer ended with @ret (0, -ETIME or -ERESTARTSYS):
 * the call's result, -ERESTARTNOINTR to park it until the restart, or
 * -EINPROGRESS to wait for a reply being copied. A reply already being
 * copied wins over the timeout and over a signal that would cancel the
 * call, so that no late bytes land in a room the caller has moved on from;
 * only a fatal signal does not wait for it.
 */
static int fastipc_sync_call_settle(struct fastipc_sync_call *sc, int ret, bool restarts)
	__must_hold(&sc->call.ep->lock)
{
	struct fastipc_caller *call = &sc->call;

	if (call->state == FASTIPC_CALLER_DONE)
		return call->error;	/* an answer wins over the signal or the timeout */
	if (WARN_ON_ONCE(call->state != FASTIPC_CALLER_PENDING || !ret))
		return -EINVAL;
	if (ret == -ETIME) {
		if (!fastipc_caller_detach(call, false))
			return -EINPROGRESS;
		return -ETIMEDOUT;
	}
	if (fatal_signal_pending(current)) {
		fastipc_caller_detach(call, true);
		return -EINTR;
	}
	if (restarts || call->slot->state == FASTIPC_SLOT_REPLYING)
		return -ERESTARTNOINTR;
	fastipc_caller_detach(call, true);
	return -EINTR;
}

/*
 * Send the request unless a restart finds it sent; then wait for the answer.
 * The request's descriptors are resolved, and charged to the user who
 * opened @port, each time the request is sent afresh.
 */
static int fastipc_sync_call_run(struct fastipc_port *port, struct fastipc_sync_call *sc)
{
	struct fastipc_caller *call = &sc->call;
	struct fastipc_endpoint *ep = call->route[0];
	struct fastipc_spin_wait spin;
	struct task_struct *server;
	struct fastipc_slot *slot;
	struct fastipc_fds *fds;
	bool restarts, fresh;
	int ret, why;

	/* Only this thread moves its call out of NEW. */
	fresh = call->state == FASTIPC_CALLER_NEW;
	if (fresh) {
		fds = fastipc_fds_get(port->user, sc->arg.fds_addr, sc->arg.nfds);
		if (IS_ERR(fds))
			return PTR_ERR(fds);
		slot = fastipc_slot_fill(ep, NULL, FASTIPC_FILL_WAIT, sc->deadline,
					 u64_to_user_ptr(sc->arg.req_addr), sc->arg.req_len);
		if (!IS_ERR(slot))
			slot->fds = fds;
		else
			fastipc_fds_release(fds);
		if (IS_ERR(slot)) {
			ret = PTR_ERR(slot);
			if (ret == -ETIME)
				return -ETIMEDOUT;
			if (ret == -ERESTARTSYS)
				return fastipc_interrupt_restarts() ? -ERESTARTNOINTR : -EINTR;
			return ret;
		}
	}
	ep = fastipc_caller_lock(call);
	if (fresh) {
		ret = fastipc_slot_publish(ep, slot, call, sc->arg.opcode, sc->arg.req_len,
					   call->pid, call->uid, call->gid);
		if (ret) {
			spin_unlock(&ep->lock);
			return ret;
		}
	}
	/* Until it leaves, under this lock, a server answering may spin for it. */
	call->task = current;
	/*
	 * A server handed the call just now waits for this lock to leave its
	 * receive: RCU keeps its task_struct from here until the spin ends.
	 */
	server = fresh ? call->server : NULL;
	rcu_read_lock();
	spin_unlock(&ep->lock);
	if (fastipc_spin_start(&call->route[0]->reply_spin, server, &spin))
		while (!fastipc_caller_done(call) && fastipc_spin_more(&spin))
			;
	rcu_read_unlock();
	/* Without a deadline, no hrtimer sleeper to set up and tear down. */
	if (sc->deadline == KTIME_MAX)
		why = wait_event_interruptible(sc->wq, fastipc_caller_done(call));
	else
		why = fastipc_wait_event(sc->wq, fastipc_caller_done(call), sc->deadline);
	for (;;) {
		restarts = why == -ERESTARTSYS && fastipc_interrupt_restarts();
		ep = fastipc_caller_lock(call);
		call->task = NULL;
		slot = call->slot;
		ret = fastipc_sync_call_settle(sc, why, restarts);
		spin_unlock(&ep->lock);
		if (ret != -EINPROGRESS)
			break;
		/* Timed out during the reply's copy: see how the copy ends. */
		why = wait_var_event_interruptible(slot, READ_ONCE(slot->state) !=
						   FASTIPC_SLOT_REPLYING) ?: -ETIME;
	}
	if (!ret && fresh)
		fastipc_spin_learn(&call->route[0]->reply_spin, &spin);
	return ret;
}

/* Check a call's or a send's descriptor fields: 0, -EINVAL or -E2BIG. */
static int fastipc_fds_check(bool fds, u32 nfds, u64 addr, u32 cap)
{
	if (!fds)
		return nfds || addr || cap ? -EINVAL : 0;
	return nfds > FASTIPC_MAX_FDS || cap > FASTIPC_MAX_FDS ? -E2BIG : 0;
}

int fastipc_cmd_call(struct fastipc_port *port, void *data)
{
	struct fastipc_call *arg = data;
	bool fds = arg->flags & FASTIPC_CALL_FDS;
	struct fastipc_sync_call onstack, *sc, *parked;
	struct fastipc_endpoint *ep;
	bool trunc = false;
	int ret;

	if (arg->flags & ~FASTIPC_CALL_ALL ||
	    (!fds && (arg->flags & FASTIPC_CALL_FDS_CLOEXEC)))
		return -EINVAL;
	ret = fastipc_fds_check(fds, arg->nfds, arg->fds_addr, arg->fds_cap);
	if (ret)
		return ret;
	ep = fastipc_client_ep(port, arg->req_len);
	if (IS_ERR(ep))
		return PTR_ERR(ep);
	parked = fastipc_sync_call_resume(port, arg);
	sc = parked;
	if (!sc) {
		ret = fastipc_sync_call_init(&onstack, port, ep, arg);
		if (ret)
			return ret;
		sc = &onstack;
	}
	ret = fastipc_sync_call_run(port, sc);
	if (ret == -ERESTARTNOINTR) {
		if (!parked)
			parked = fastipc_sync_call_to_heap(sc);
		if (parked) {
			fastipc_sync_call_park(port, parked);
			return ret;
		}
		/* Nowhere to keep it across the restart: give it up. */
		ep = fastipc_caller_lock(&sc->call);
		ret = -ENOMEM;
		if (!fastipc_caller_detach(&sc->call, true) &&
		    sc->call.state == FASTIPC_CALLER_DONE)
			ret = sc->call.error;
		spin_unlock(&ep->lock);
	}
	if (!ret) {
		arg->status = sc->call.status;
		arg->reply_len = sc->call.reply_len;
		/* Installed here, in the caller, as its call returns. */
		arg->reply_nfds = fastipc_fds_install(sc->call.reply_fds, arg->fds_addr,
						      arg->fds_cap,
						      arg->flags & FASTIPC_CALL_FDS_CLOEXEC ?
						      O_CLOEXEC : 0, &trunc);
		sc->call.reply_fds = NULL;
	}
	fastipc_sync_call_release(sc);
	kfree(parked);
	return ret;
}

/*
 * Send a one-way message, charged to the user who opened @port. Without
 * room, wait for it if the message asks to and @may_wait, else fail with
 * EAGAIN (the endpoint is full) or EDQUOT (the user's quota, at this
 * endpoint or in all, is). With @nofault, a payload not in memory fails
 * with EFAULT instead of being faulted in.
 */
int fastipc_send_msg(struct fastipc_port *port, const struct fastipc_send *arg, bool may_wait,
		     bool nofault)
{
	unsigned int flags = nofault ? FASTIPC_FILL_NOFAULT : 0;
	struct fastipc_endpoint *ep;
	struct fastipc_slot *slot;
	struct fastipc_fds *fds;
	int ret;

	if (arg->flags & ~FASTIPC_SEND_ALL || arg->reserved)
		return -EINVAL;
	ret = fastipc_fds_check(arg->flags & FASTIPC_SEND_FDS, arg->nfds, arg->fds_addr, 0);
	if (ret)
		return ret;
	ep = fastipc_client_ep(port, arg->len);
	if (IS_ERR(ep))
		return PTR_ERR(ep);
	if (may_wait && (arg->flags & FASTIPC_SEND_WAIT))
		flags |= FASTIPC_FILL_WAIT;

	fds = fastipc_fds_get(port->user, arg->fds_addr, arg->nfds);
	if (IS_ERR(fds))
		return PTR_ERR(fds);
	/* An interrupted wait for room consumed nothing: -ERESTARTSYS restarts it. */
	slot = fastipc_slot_fill(ep, port->user, flags, KTIME_MAX, u64_to_user_ptr(arg->addr),
				 arg->len);
	if (IS_ERR(slot)) {
		fastipc_fds_release(fds);
		return PTR_ERR(slot);
	}
	slot->fds = fds;
	spin_lock(&ep->lock);
	ret = fastipc_slot_publish(ep, slot, NULL, arg->opcode, arg->len,
				   task_tgid(current), current_euid(), current_egid());
	spin_unlock(&ep->lock);
	return ret;
}

int fastipc_cmd_send(struct fastipc_port *port, void *data)
{
	return fastipc_send_msg(port, data, true, false);
}

/*
 * For a server that will spin for @call's next call: the calling thread, if
 * one waits for the answer (referenced, for it goes back to user space).
 */
static void fastipc_spin_partner(struct fastipc_caller *call, struct task_struct **caller)
	__must_hold(&call->ep->lock)
{
	if (caller && call->task && spin_ns.val)
		*caller = get_task_struct(call->task);
}

/*
 * Answer the message behind @token with @status, @len bytes at @src and the
 * descriptors @fds (NULL: none), which go with the answer to the caller or
 * are released.
 */
static int fastipc_reply_copy(struct fastipc_endpoint *ep, u64 token, s32 status,
			      const void __user *src, u32 len, struct fastipc_fds *fds,
			      bool sync, bool nofault, struct task_struct **caller)
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
		if (slot->oneway && (len || fds))
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
		call->reply_fds = fds;
		fds = NULL;
		fastipc_spin_partner(call, caller);
		fastipc_caller_complete(call, 0, sync);
		fastipc_slot_free(ep, slot);
		ret = 0;
		goto out_unlock;
	}

	/*
	 * Copy outside the lock, into the caller's buffer, which our own
	 * reference keeps mapped even if the caller is cancelled meanwhile: a
	 * forced cancellation (a killed caller, a dying ring, a parked call
	 * nobody restarts) does not wait for the copy, any other waits for it
	 * to end.
	 */
	slot->state = FASTIPC_SLOT_REPLYING;
	buf = call->reply_buf;
	kref_get(&buf->ref);
	dst = call->reply_kaddr;
	spin_unlock(&ep->lock);

	left = fastipc_copy_in(dst, src, len, nofault);

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
		call->reply_fds = fds;
		fds = NULL;
		fastipc_spin_partner(call, caller);
		fastipc_caller_complete(call, 0, sync);
		fastipc_slot_free(ep, slot);
		ret = 0;
	}
	spin_unlock(&ep->lock);
	/* A caller whose timeout came during the copy waits for its end. */
	wake_up_var(slot);
	fastipc_buf_put(buf);
	fastipc_fds_release(fds);
	return ret;

out_unlock:
	spin_unlock(&ep->lock);
	fastipc_fds_release(fds);
	return ret;
}

/*
 * Answer a message, with the descriptors @fds (NULL: none; consumed in
 * every case). With @caller, a server about to wait for the next call
 * gets the thread of the call it answered, if one waited (referenced: the
 * server puts it), else NULL.
 */
int fastipc_reply(struct fastipc_endpoint *ep, u64 token, s32 status, const void __user *src,
		  u32 len, struct fastipc_fds *fds, bool sync, bool nofault,
		  struct task_struct **caller)
{
	int ret;

	if (caller)
		*caller = NULL;
	ret = fastipc_reply_copy(ep, token, status, src, len, fds, sync, nofault, caller);

	trace_fastipc_reply(ep->id, token, status, len, ret);
	if (!ret)
		fastipc_stat_add(FASTIPC_STAT_REPLIES, 1);
	return ret;
}

/*
 * Fill the receive half of @arg from a slot just taken by this thread, and
 * take the descriptors the message carries into *@fds, for this thread to
 * install once it has left the lock.
 */
static void fastipc_received(struct fastipc_endpoint *ep, struct fastipc_slot *slot,
			     struct fastipc_serve *arg, struct fastipc_fds **fds)
	__must_hold(&ep->lock)
{
	struct fastipc_msg_info info;

	*fds = slot->fds;
	slot->fds = NULL;
	fastipc_msg_info_fill(ep, slot, &info, task_active_pid_ns(current), current_user_ns());
	arg->msg_flags = info.flags;
	arg->token = info.token;
	arg->offset = info.offset;
	arg->opcode = info.opcode;
	arg->len = info.len;
	arg->pid = info.pid;
	arg->uid = info.uid;
	arg->gid = info.gid;
	arg->caller_pid = info.caller_pid;
	arg->caller_uid = info.caller_uid;
	arg->caller_gid = info.caller_gid;
}

/* A server thread waiting in FASTIPC_IOC_SERVE. */
struct fastipc_recv_wait {
	struct fastipc_waiter w;
	wait_queue_head_t wq;
};

static void fastipc_recv_wait_deliver(struct fastipc_waiter *w, bool sync)
{
	struct fastipc_recv_wait *rw = container_of(w, struct fastipc_recv_wait, w);

	fastipc_wake(&rw->wq, sync);
}

/*
 * The receive half of FASTIPC_IOC_SERVE; an interrupted wait took nothing.
 * @caller: the thread of the call just answered, which may come back at
 * once with its next call (referenced), or NULL. The received message's
 * descriptors go to *@fds.
 */
static int fastipc_receive(struct fastipc_endpoint *ep, struct fastipc_serve *arg, bool nonblock,
			   struct task_struct *caller, struct fastipc_fds **fds)
{
	struct fastipc_recv_wait rw = {
		.w = {
			.slot = NULL,
			.task = current,
			.deliver = fastipc_recv_wait_deliver,
		},
	};
	struct fastipc_spin_wait spin;
	struct fastipc_slot *slot;
	int ret;

	spin_lock(&ep->lock);
	slot = fastipc_slot_dequeue(ep);
	if (!slot && nonblock) {
		spin_unlock(&ep->lock);
		return -EAGAIN;
	}
	if (!slot) {
		init_waitqueue_head(&rw.wq);
		list_add(&rw.w.node, &ep->idle);
		spin_unlock(&ep->lock);
		/* The caller just answered may be back with its next call at once. */
		if (fastipc_spin_start(&ep->next_spin, caller, &spin))
			while (!READ_ONCE(rw.w.slot) && fastipc_spin_more(&spin))
				;
		ret = wait_event_interruptible(rw.wq, READ_ONCE(rw.w.slot));
		spin_lock(&ep->lock);
		/* A message handed over wins over a signal: nothing is lost. */
		slot = rw.w.slot;
		if (!slot) {
			list_del(&rw.w.node);
			spin_unlock(&ep->lock);
			return ret;
		}
		/* Only a wait right after answering says how soon callers return. */
		if (caller)
			fastipc_spin_learn(&ep->next_spin, &spin);
	}
	fastipc_received(ep, slot, arg, fds);
	spin_unlock(&ep->lock);
	return 0;
}

int fastipc_cmd_serve(struct fastipc_port *port, void *data)
{
	struct fastipc_serve *arg = data;
	bool reply = arg->flags & FASTIPC_SERVE_REPLY;
	bool recv = arg->flags & FASTIPC_SERVE_RECV;
	bool with_fds = arg->flags & FASTIPC_SERVE_FDS;
	struct task_struct *caller = NULL;
	struct fastipc_endpoint *ep;
	struct fastipc_fds *fds;
	bool trunc = false;
	int ret;

	if (arg->flags & ~FASTIPC_SERVE_ALL || !(reply || recv))
		return -EINVAL;
	if (!reply && (arg->reply_status || arg->reply_token || arg->reply_addr ||
		       arg->reply_len || arg->nfds))
		return -EINVAL;
	if (!with_fds && (arg->flags & FASTIPC_SERVE_FDS_CLOEXEC))
		return -EINVAL;
	ret = fastipc_fds_check(with_fds, arg->nfds, arg->fds_addr, arg->fds_cap);
	if (ret)
		return ret;
	ep = fastipc_port_ep(port, FASTIPC_ROLE_ENDPOINT);
	if (IS_ERR(ep))
		return PTR_ERR(ep);

	if (reply) {
		fds = fastipc_fds_get(port->user, arg->fds_addr, arg->nfds);
		if (IS_ERR(fds))
			return PTR_ERR(fds);
		ret = fastipc_reply(ep, arg->reply_token, arg->reply_status,
				    u64_to_user_ptr(arg->reply_addr), arg->reply_len, fds, recv,
				    false, recv ? &caller : NULL);
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
	arg->caller_pid = 0;
	arg->caller_uid = 0;
	arg->caller_gid = 0;
	arg->nfds = 0;
	if (!recv)
		return 0;
	ret = fastipc_receive(ep, arg, arg->flags & FASTIPC_SERVE_NONBLOCK, caller, &fds);
	if (caller)
		put_task_struct(caller);
	if (!ret) {
		/* Installed here, in the receiving thread, now that it has the message. */
		arg->nfds = fastipc_fds_install(fds, arg->fds_addr, arg->fds_cap,
						arg->flags & FASTIPC_SERVE_FDS_CLOEXEC ?
						O_CLOEXEC : 0, &trunc);
		if (trunc)
			arg->msg_flags |= FASTIPC_MSG_FDS_TRUNC;
	}
	if (ret == -ERESTARTSYS && reply) {
		/*
		 * The reply went out: what restarts (or what the thread sees
		 * with EINTR) is a receive alone. main.c copies this back.
		 */
		arg->flags &= ~FASTIPC_SERVE_REPLY;
		arg->reply_status = 0;
		arg->reply_token = 0;
		arg->reply_addr = 0;
		arg->reply_len = 0;
	}
	return ret;
}

/*
 * Claim the call behind @token for forwarding: on success the slot is
 * FORWARDING and the caller attached to it has hops to spare.
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
		slot->state = FASTIPC_SLOT_FORWARDING;
	}
	spin_unlock(&ep->lock);
	return ret ? ERR_PTR(ret) : slot;
}

/* Forward moves a call between two endpoints under both their locks. */
static void fastipc_ep_lock_two(struct fastipc_endpoint *a, struct fastipc_endpoint *b)
	__acquires(&a->lock) __acquires(&b->lock)
{
	if (a == b) {
		spin_lock(&a->lock);
		__acquire(&b->lock);
		return;
	}
	if (a > b)
		swap(a, b);
	spin_lock(&a->lock);
	spin_lock_nested(&b->lock, SINGLE_DEPTH_NESTING);
}

static void fastipc_ep_unlock_two(struct fastipc_endpoint *a, struct fastipc_endpoint *b)
	__releases(&a->lock) __releases(&b->lock)
{
	if (a == b)
		__release(&b->lock);
	else
		spin_unlock(&b->lock);
	spin_unlock(&a->lock);
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
	ret = -EPERM;
	if (!(target->flags & FASTIPC_EP_ACCEPT_FORWARDS))
		goto out_put_target;
	ret = -EMSGSIZE;
	if (arg->len > target->slot_size)
		goto out_put_target;

	slot = fastipc_forward_claim(ep, arg->token);
	if (IS_ERR(slot)) {
		ret = PTR_ERR(slot);
		goto out_put_target;
	}
	tslot = fastipc_slot_fill(target, NULL, 0, KTIME_MAX, u64_to_user_ptr(arg->addr),
				  arg->len);
	if (IS_ERR(tslot)) {
		spin_lock(&ep->lock);
		slot->state = FASTIPC_SLOT_HELD;
		spin_unlock(&ep->lock);
		ret = PTR_ERR(tslot);
		goto out_put_target;
	}

	fastipc_ep_lock_two(ep, target);
	call = slot->call;
	fastipc_slot_free(ep, slot);
	if (call) {
		/* The call's route takes over our reference to the target. */
		call->route[++call->hops] = target;
		call->reply_cap = min(call->reply_cap, target->max_reply);
		/* It comes from us now: we chose what it asks. */
		if (fastipc_slot_publish(target, tslot, call, arg->opcode, arg->len,
					 task_tgid(current), current_euid(), current_egid()))
			fastipc_caller_complete(call, -EPIPE, false);
	} else {
		fastipc_slot_free(target, tslot);
	}
	fastipc_ep_unlock_two(ep, target);
	if (call)
		return 0;
	ret = -ECANCELED;

out_put_target:
	fastipc_ep_put(target);
	return ret;
}
