/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fastipc private header: the objects shared by the module's files.
 *
 * Objects
 *   port      one open /dev/fastipc file; becomes an endpoint or a client.
 *   buf       a pinned, kernel-mapped region of a process's memory (kref).
 *   endpoint  where calls and one-way messages arrive (kref): a receive pool
 *             of fixed-size slots carved from one buf (pool.c), the queue of
 *             messages waiting, and the servers waiting for them.
 *   caller    a call in flight (call.c): in a struct fastipc_sync_call for
 *             FASTIPC_IOC_CALL, which outlives an interrupted ioctl parked
 *             on its port until the restart, or in an io_uring command's
 *             struct fastipc_uring_op (uring.c). A slot points to it while
 *             the call is queued or held.
 *   waiter    a server thread, or an io_uring receive, waiting for a message.
 *   fds       the descriptors a message carries (fds.c), on its slot or,
 *             for a reply, on its call, until the receiver installs them.
 *
 * Whoever waits for a call or a message says how it is to be told, through
 * the caller's and the waiter's callbacks; the pool and the call paths never
 * know whether a thread or a ring waits. Documentation/design.rst has the
 * states of slots, callers and io_uring commands and who may change them.
 *
 * Locking (outermost first)
 *   port->mutex          role changes and buffer (un)registration
 *   port->uring_lock     the port's io_uring commands in flight (uring.c)
 *   port->parked_lock    calls parked on the port (call.c)
 *   fastipc_names_lock   the name registry (endpoint.c)
 *   ep->lock             everything in the endpoint and its slots, and the
 *                        state of every call attached to one of its slots;
 *                        forward alone holds two, the lower address first
 *   ep->oneway_senders   its xarray's lock, inside ep->lock (pool.c)
 *   fastipc_users_lock   the per-user table (user.c), inside ep->lock
 *   port->buf_lock       the port's buffer table, taken alone
 * Wait queue locks nest inside ep->lock: every wake-up of ep->slot_wq is
 * done under it. Carried descriptors are released under ep->lock, which
 * never sleeps (fds.c), and installed under no lock.
 */
#ifndef _FASTIPC_H
#define _FASTIPC_H

#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/refcount.h>
#include <linux/poll.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <linux/fastipc.h>

struct pid;
struct ipc_namespace;
struct pid_namespace;
struct user_namespace;
struct io_uring_cmd;

/**
 * struct fastipc_buf - a registered buffer
 * @ref: one for the port's table, one per user (endpoint pool, call, reply).
 * @pages: the pinned pages.
 * @npages: how many.
 * @vaddr: their kernel mapping.
 * @kaddr: the first byte of the region in that mapping.
 * @len: length of the region.
 * @mm: the registering process's mm, whose pinned_vm counts the pages
 *	(grabbed).
 * @cred: the registering task's credentials, whose user's locked_vm is
 *	charged for the pages (referenced); NULL if it had CAP_IPC_LOCK.
 *
 * The charges last until the pages are unpinned, whoever holds the buffer
 * then (buf.c).
 */
struct fastipc_buf {
	struct kref ref;
	struct page **pages;
	unsigned long npages;
	void *vaddr;
	u8 *kaddr;
	u64 len;
	struct mm_struct *mm;
	const struct cred *cred;
};

/**
 * struct fastipc_user - what one user holds, for the per-user limits
 * @node: in the users hash, under fastipc_users_lock.
 * @uid: the user.
 * @ref: one per port the user opened, endpoint it owns, and one-way message
 *	it has waiting.
 * @endpoints: endpoints the user owns.
 * @oneway: one-way messages the user has waiting in endpoints' pools, at
 *	most max_oneway_per_user; each endpoint counts its own share.
 * @oneway_wq: senders waiting for room under the user's quota.
 * @fds: descriptors the user's messages carry, sent and not yet installed
 *	or closed, at most max_fds_per_user.
 */
struct fastipc_user {
	struct hlist_node node;
	kuid_t uid;
	refcount_t ref;
	atomic_t endpoints;
	atomic_t oneway;
	wait_queue_head_t oneway_wq;
	atomic_t fds;
};

enum fastipc_slot_state {
	FASTIPC_SLOT_FREE,
	FASTIPC_SLOT_FILLING,	/* a sender copies its payload in */
	FASTIPC_SLOT_QUEUED,	/* on ep->pending */
	FASTIPC_SLOT_HELD,	/* received; its token answers it */
	FASTIPC_SLOT_FORWARDING, /* a server copies the call's next request */
	FASTIPC_SLOT_REPLYING,	/* a server copies the reply to the caller */
};

/**
 * struct fastipc_slot - one receive slot of an endpoint's pool
 * @node: in ep->free_slots or ep->pending.
 * @call: the call waiting on this message; NULL for one-way messages and
 *	once the caller has given up.
 * @sender: the sender's thread group, for the credentials: for a forwarded
 *	call, the forwarder's.
 * @uid: the sender's euid.
 * @gid: the sender's egid.
 * @caller: for a forwarded call, the caller's thread group (referenced);
 *	NULL otherwise, when the caller is the sender.
 * @caller_uid: for a forwarded call, the caller's euid.
 * @caller_gid: for a forwarded call, the caller's egid.
 * @token: the reply token, 0 while free.
 * @opcode: the message's opcode.
 * @len: the payload's length.
 * @state: an enum fastipc_slot_state.
 * @oneway: a one-way message.
 * @user: for a one-way message, the sending user charged for it (referenced).
 * @fds: the descriptors the message carries until a server receives it, or
 *	NULL (fds.c).
 *
 * All fields are protected by the endpoint's lock.
 */
struct fastipc_slot {
	struct list_head node;
	struct fastipc_caller *call;
	struct pid *sender;
	kuid_t uid;
	kgid_t gid;
	struct pid *caller;
	kuid_t caller_uid;
	kgid_t caller_gid;
	u64 token;
	u32 opcode;
	u32 len;
	u8 state;
	bool oneway;
	struct fastipc_user *user;
	struct fastipc_fds *fds;
};

/* How long a partner took to answer lately: see fastipc_spin_start(). */
struct fastipc_spin {
	u32 avg_ns;
};

/**
 * struct fastipc_endpoint - where calls and messages arrive
 * @ref: the owning port, each connected port, and each call routed here.
 * @lock: protects everything below but the constant pool geometry.
 * @dead: the owning port has been released; no new messages.
 * @pending: QUEUED slots, oldest first.
 * @idle: waiting server threads (struct fastipc_waiter), last idle first.
 * @free_slots: FREE slots.
 * @nfree: how many.
 * @npending: slots on @pending.
 * @noneway: slots held by one-way messages.
 * @max_oneway: at most this many.
 * @oneway_senders: how many of those each sending user has here, at most
 *	max_oneway_per_sender: xa_mk_value() counts by the user's kuid,
 *	erased at 0; changed under @lock, read locklessly by waiting senders.
 * @id: serial number, for tracing and fdinfo.
 * @seq: last token sequence number handed out.
 * @slot_wq: senders waiting for a free slot, woken under @lock.
 * @poll_wq: poll on the endpoint and on its clients.
 * @reply_spin: how soon calls here are answered (read and written unlocked).
 * @next_spin: how soon a caller comes back after its answer (likewise).
 * @pool: the registered buffer holding the receive pool.
 * @pool_base: the first slot's kernel address.
 * @slot_size: bytes per slot.
 * @nslots: number of slots.
 * @max_reply: the largest reply the server will send.
 * @flags: the FASTIPC_EP_* flags it was created with.
 * @slots: the slots.
 * @named: published in the name registry.
 * @name: its name.
 * @name_node: in the registry, under fastipc_names_lock.
 * @ipc_ns: the IPC namespace it is published in (referenced while named).
 * @owner: the creator's euid, whether named or not.
 * @group: the creator's egid.
 * @mode: the permission bits.
 * @user: the owning user, charged for the endpoint until shutdown.
 */
struct fastipc_endpoint {
	struct kref ref;
	spinlock_t lock;	/* see the locking order above */
	bool dead;
	struct list_head pending;
	struct list_head idle;
	struct list_head free_slots;
	unsigned int nfree;
	unsigned int npending;
	unsigned int noneway;
	unsigned int max_oneway;
	struct xarray oneway_senders;
	u64 id;
	u64 seq;
	wait_queue_head_t slot_wq;
	wait_queue_head_t poll_wq;
	struct fastipc_spin reply_spin;	/* callers waiting for a reply */
	struct fastipc_spin next_spin;	/* servers waiting for the next call */

	struct fastipc_buf *pool;
	u8 *pool_base;
	u32 slot_size;
	u32 nslots;
	u32 max_reply;
	u32 flags;
	struct fastipc_slot *slots;

	bool named;
	char name[FASTIPC_NAME_MAX];
	struct list_head name_node;
	struct ipc_namespace *ipc_ns;
	kuid_t owner;
	kgid_t group;
	umode_t mode;
	struct fastipc_user *user;
};

enum fastipc_caller_state {
	FASTIPC_CALLER_NEW,	/* not sent yet */
	FASTIPC_CALLER_PENDING,	/* attached to a slot of caller->ep */
	FASTIPC_CALLER_DONE,	/* result set; detached */
	FASTIPC_CALLER_CANCELLED, /* the caller gave up; detached */
};

/**
 * struct fastipc_caller - a call in flight
 * @state: an enum fastipc_caller_state, under the lock of @ep.
 * @ep: the endpoint whose slot the call is attached to; changes only under
 *	the locks of both endpoints (forward).
 * @slot: that slot, while FASTIPC_CALLER_PENDING.
 * @route: every endpoint the call has visited, each referenced until the
 *	call is released, so @ep can be locked without racing a forward.
 * @hops: entries in @route after the first.
 * @reply_buf: the caller's registered reply buffer (referenced).
 * @reply_kaddr: where the reply goes.
 * @reply_cap: room there, and at most the max_reply of every endpoint on
 *	the call's route.
 * @error: 0, or the errno the module completed the call with.
 * @status: the server's status word.
 * @reply_len: the reply's length.
 * @pid: the caller's thread group (referenced).
 * @uid: the caller's euid.
 * @gid: the caller's egid.
 * @task: the calling thread while it waits in the kernel for the answer,
 *	else NULL; under the lock of @ep, which the thread takes to leave.
 * @server: the server thread the call was handed to, NULL if it was
 *	queued or went to a ring; set under the lock of @ep, and read under
 *	it only by the caller that just published the call, while that server
 *	waits for the lock to leave its receive.
 * @done: tells whoever waits that the call is DONE, under the lock of @ep;
 *	@sync when the waker is about to sleep for the next message.
 * @reply_fds: the descriptors the reply carries, or NULL: set with DONE
 *	under the lock of @ep, then the caller's to install or release.
 */
struct fastipc_caller {
	int state;
	struct fastipc_endpoint *ep;
	struct fastipc_slot *slot;
	struct fastipc_endpoint *route[FASTIPC_MAX_FORWARDS + 1];
	unsigned int hops;
	struct fastipc_buf *reply_buf;
	u8 *reply_kaddr;
	u32 reply_cap;
	int error;
	s32 status;
	u32 reply_len;
	struct pid *pid;
	kuid_t uid;
	kgid_t gid;
	struct task_struct *task;
	struct task_struct *server;
	void (*done)(struct fastipc_caller *call, bool sync);
	struct fastipc_fds *reply_fds;
};

/**
 * struct fastipc_waiter - a server waiting for a message
 * @node: in ep->idle.
 * @slot: the message handed to it, under ep->lock.
 * @task: the waiting thread, NULL for an io_uring receive; it leaves the
 *	wait only under ep->lock.
 * @deliver: tells the waiter @slot is its own, under ep->lock; @sync when
 *	the sender is about to sleep for the reply.
 */
struct fastipc_waiter {
	struct list_head node;
	struct fastipc_slot *slot;
	struct task_struct *task;
	void (*deliver)(struct fastipc_waiter *w, bool sync);
};

enum fastipc_role {
	FASTIPC_ROLE_NONE,
	FASTIPC_ROLE_ENDPOINT,
	FASTIPC_ROLE_CLIENT,
};

/**
 * struct fastipc_port - state of one open /dev/fastipc file
 * @mutex: serialises role changes and buffer (un)registration.
 * @role: an enum fastipc_role; set once, published with release semantics.
 * @ep: the endpoint this port owns or is connected to (referenced).
 * @user: the user who opened the port, charged for what it creates.
 * @buf_lock: protects @bufs.
 * @bufs: the registered buffers, each referenced.
 * @uring_lock: protects @uring_ops.
 * @uring_ops: io_uring commands in flight on the port, oldest first.
 * @uring_monitor: on kernels whose io_uring cannot cancel driver commands,
 *	looks for commands whose ring went away (uring.c).
 * @parked_lock: protects @parked.
 * @parked: interrupted calls waiting for their thread's restart (call.c).
 */
struct fastipc_port {
	struct mutex mutex;	/* outermost lock */
	int role;
	struct fastipc_endpoint *ep;
	struct fastipc_user *user;
	spinlock_t buf_lock;	/* innermost, never nested */
	struct fastipc_buf *bufs[FASTIPC_MAX_BUFS];
	spinlock_t uring_lock;	/* see the locking order above */
	struct list_head uring_ops;
	struct delayed_work uring_monitor;
	spinlock_t parked_lock;	/* see the locking order above */
	struct list_head parked;
};

/* user.c */

/*
 * A limit set by module parameter: @val in @min..@max, a "uint" parameter
 * with fastipc_limit_ops, which only CAP_SYS_ADMIN changes after load.
 */
struct fastipc_limit {
	unsigned int val;
	unsigned int min;
	unsigned int max;
};

extern const struct kernel_param_ops fastipc_limit_ops;

struct fastipc_user *fastipc_user_get(void);
void fastipc_user_put(struct fastipc_user *user);
int fastipc_user_charge_endpoint(struct fastipc_user *user);
void fastipc_user_uncharge_endpoint(struct fastipc_user *user);
bool fastipc_user_charge_oneway(struct fastipc_user *user);
bool fastipc_user_oneway_room(struct fastipc_user *user);
bool fastipc_user_oneway_room_at(unsigned long n);
void fastipc_user_uncharge_oneway(struct fastipc_user *user);
bool fastipc_user_charge_fds(struct fastipc_user *user, unsigned int n);
void fastipc_user_uncharge_fds(struct fastipc_user *user, unsigned int n);

/* stats.c: counters for debugfs fastipc/stats, cheap enough for the fast path. */
enum fastipc_stat {
	FASTIPC_STAT_CALLS,
	FASTIPC_STAT_SENDS,
	FASTIPC_STAT_FORWARDS,
	FASTIPC_STAT_REPLIES,
	FASTIPC_STAT_HANDOFFS,	/* given straight to an idle server thread */
	FASTIPC_STAT_QUEUED,	/* no server thread was idle */
	FASTIPC_STAT_CANCELLED,	/* given up by their caller */
	FASTIPC_STAT_ERRORS,	/* commands that failed */
	FASTIPC_STAT_BYTES,	/* payload bytes copied */
	FASTIPC_STAT_COPY_UNROLLED,
	FASTIPC_STAT_COPY_KERNEL,
	FASTIPC_STAT_COPY_MOVSQ,
	FASTIPC_STAT_COPY_NT,
	FASTIPC_STAT_NR,
};

/* Live objects; all return to zero once every fd is closed. */
enum fastipc_object {
	FASTIPC_OBJ_PORTS,
	FASTIPC_OBJ_ENDPOINTS,
	FASTIPC_OBJ_BUFS,
	FASTIPC_OBJ_NR,
};

DECLARE_PER_CPU(u64, fastipc_stats[FASTIPC_STAT_NR]);
extern atomic_long_t fastipc_objects[FASTIPC_OBJ_NR];

static inline void fastipc_stat_add(enum fastipc_stat stat, u64 n)
{
	this_cpu_add(fastipc_stats[stat], n);
}

void fastipc_stats_init(struct dentry *debugfs_dir);

/* main.c */
struct fastipc_endpoint *fastipc_port_ep(struct fastipc_port *port, int role);
struct fastipc_endpoint *fastipc_ep_get_from_fd(int fd);
struct fastipc_endpoint *fastipc_file_ep(struct file *file);
struct file *fastipc_client_file(struct fastipc_endpoint *ep);

/* fds.c: descriptors carried by messages. */
struct fastipc_fds;
struct fastipc_fds *fastipc_fds_get(struct fastipc_user *user, u64 uaddr, u32 n);
void fastipc_fds_release(struct fastipc_fds *fds);
u32 fastipc_fds_count(const struct fastipc_fds *fds);
u32 fastipc_fds_install(struct fastipc_fds *fds, u64 uaddr, u32 cap, unsigned int o_flags,
			bool *trunc);
int fastipc_fds_init(void);
void fastipc_fds_exit(void);

/* buf.c */
int fastipc_cmd_buf_register(struct fastipc_port *port, void *arg);
int fastipc_cmd_buf_unregister(struct fastipc_port *port, void *arg);
struct fastipc_buf *fastipc_buf_get(struct fastipc_port *port, u32 id);
void fastipc_buf_put(struct fastipc_buf *buf);
void fastipc_port_release_bufs(struct fastipc_port *port);

/* endpoint.c */
int fastipc_cmd_ep_create(struct fastipc_port *port, void *arg);
int fastipc_cmd_connect(struct fastipc_port *port, void *arg);
void fastipc_ep_put(struct fastipc_endpoint *ep);
void fastipc_ep_shutdown(struct fastipc_endpoint *ep);
__poll_t fastipc_ep_poll(struct fastipc_endpoint *ep, int role, struct file *file,
			 poll_table *wait);

/*
 * Sleep until @cond, a signal or task work, or @deadline (KTIME_MAX: none):
 * 0, -ERESTARTSYS or -ETIME. Task work is never held up: its notification
 * ends the wait as a signal does, and the command restarts afterwards.
 */
static inline ktime_t fastipc_time_left(ktime_t deadline)
{
	if (deadline == KTIME_MAX)
		return KTIME_MAX;
	return max_t(ktime_t, ktime_sub(deadline, ktime_get()), 0);
}

#define fastipc_wait_event(wq, cond, deadline)					\
	wait_event_interruptible_hrtimeout(wq, cond, fastipc_time_left(deadline))

/* pool.c: the receive pool's slots and the queue of messages. */
#define FASTIPC_FILL_WAIT	BIT(0)	/* wait for a free slot */
#define FASTIPC_FILL_NOFAULT	BIT(1)	/* fail with -EFAULT rather than fault pages in */
struct fastipc_slot *fastipc_slot_fill(struct fastipc_endpoint *ep, struct fastipc_user *user,
				       unsigned int flags, ktime_t deadline,
				       const void __user *src, u32 len);
struct fastipc_slot *fastipc_slot_take(struct fastipc_endpoint *ep, struct fastipc_user *user);
int fastipc_slot_copy(struct fastipc_endpoint *ep, struct fastipc_slot *slot,
		      const void __user *src, u32 len, bool nofault);
int fastipc_slot_publish(struct fastipc_endpoint *ep, struct fastipc_slot *slot,
			 struct fastipc_caller *call, u32 opcode, u32 len,
			 struct pid *pid, kuid_t uid, kgid_t gid);
struct fastipc_slot *fastipc_slot_lookup(struct fastipc_endpoint *ep, u64 token);
struct fastipc_slot *fastipc_slot_dequeue(struct fastipc_endpoint *ep);
void fastipc_slot_redeliver(struct fastipc_endpoint *ep, struct fastipc_slot *slot);
void fastipc_slot_free(struct fastipc_endpoint *ep, struct fastipc_slot *slot);
void fastipc_msg_info_fill(struct fastipc_endpoint *ep, struct fastipc_slot *slot,
			   struct fastipc_msg_info *info, struct pid_namespace *pid_ns,
			   struct user_namespace *user_ns);

/* call.c */
struct fastipc_endpoint *fastipc_client_ep(struct fastipc_port *port, u32 len);
int fastipc_cmd_call(struct fastipc_port *port, void *arg);
int fastipc_cmd_send(struct fastipc_port *port, void *arg);
int fastipc_cmd_serve(struct fastipc_port *port, void *arg);
int fastipc_cmd_forward(struct fastipc_port *port, void *arg);
int fastipc_send_msg(struct fastipc_port *port, const struct fastipc_send *arg, bool may_wait,
		     bool nofault);
int fastipc_reply(struct fastipc_endpoint *ep, u64 token, s32 status, const void __user *src,
		  u32 len, struct fastipc_fds *fds, bool sync, bool nofault,
		  struct task_struct **caller);
int fastipc_caller_init(struct fastipc_caller *call, struct fastipc_port *port,
			struct fastipc_endpoint *ep, u32 buf_id, u64 offset, u32 cap);
void fastipc_caller_release(struct fastipc_caller *call);
struct fastipc_endpoint *fastipc_caller_lock(struct fastipc_caller *call)
	__acquires(&call->ep->lock);
bool fastipc_caller_detach(struct fastipc_caller *call, bool force);
void fastipc_caller_complete(struct fastipc_caller *call, int error, bool sync);
void fastipc_port_release_parked(struct fastipc_port *port);

/* uring.c */
int fastipc_uring_cmd(struct io_uring_cmd *cmd, unsigned int issue_flags);
void fastipc_uring_port_init(struct fastipc_port *port);
void fastipc_uring_port_release(struct fastipc_port *port);

/* Tokens carry the slot index in their low bits. */
#define FASTIPC_SLOT_BITS	10
static_assert(FASTIPC_MAX_SLOTS <= (1U << FASTIPC_SLOT_BITS));

/* copy.c: returns the bytes not copied, as copy_from_user() does. */
unsigned long fastipc_copy_from_user(void *dst, const void __user *src, unsigned long len);
unsigned long fastipc_copy_in(void *dst, const void __user *src, unsigned long len,
			      bool nofault);
int fastipc_copy_init(struct dentry *debugfs_dir);

#endif /* _FASTIPC_H */
