/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fastipc private header: the objects shared by the module's files.
 *
 * Objects
 *   port      one open /dev/fastipc file; becomes an endpoint or a client.
 *   buf       a pinned, kernel-mapped region of a process's memory (kref).
 *   endpoint  where calls and one-way messages arrive (kref): a receive pool
 *             of fixed-size slots carved from one buf, the queue of messages
 *             waiting, and the server threads waiting for them.
 *   caller    a call in flight; lives on the calling thread's kernel stack
 *             for the duration of FASTIPC_IOC_CALL, or in an io_uring
 *             command's struct fastipc_uring_op (uring.c). A slot points to
 *             it while the call is queued or held.
 *   waiter    a server thread, or an io_uring receive, waiting for a message.
 *
 * Locking (outermost first)
 *   port->mutex          role changes and buffer (un)registration
 *   port->uring_lock     the port's io_uring commands in flight (uring.c)
 *   fastipc_names_lock   the name registry (endpoint.c)
 *   ep->lock             everything in the endpoint and its slots, and the
 *                        state of every call attached to one of its slots
 *   fastipc_users_lock   the per-user table (user.c), inside ep->lock
 *   port->buf_lock       the port's buffer table, taken alone
 * Wait queue locks nest inside ep->lock. No two ep->locks are ever held at
 * once: forward moves a call between endpoints through FASTIPC_CALLER_MOVING.
 */
#ifndef _FASTIPC_H
#define _FASTIPC_H

#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/refcount.h>
#include <linux/poll.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
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
 * @mm: the process charged for the pinned pages (grabbed).
 */
struct fastipc_buf {
	struct kref ref;
	struct page **pages;
	unsigned long npages;
	void *vaddr;
	u8 *kaddr;
	u64 len;
	struct mm_struct *mm;
};

/**
 * struct fastipc_user - what one user holds, for the per-user limits
 * @node: in the users hash, under fastipc_users_lock.
 * @uid: the user.
 * @ref: one per port the user opened, endpoint it owns, and one-way message
 *	it has waiting.
 * @endpoints: endpoints the user owns.
 * @oneway: one-way messages the user has waiting in endpoints' pools.
 * @oneway_wq: senders waiting for room under the user's quota.
 */
struct fastipc_user {
	struct hlist_node node;
	kuid_t uid;
	refcount_t ref;
	atomic_t endpoints;
	atomic_t oneway;
	wait_queue_head_t oneway_wq;
};

enum fastipc_slot_state {
	FASTIPC_SLOT_FREE,
	FASTIPC_SLOT_FILLING,	/* a sender copies its payload in */
	FASTIPC_SLOT_QUEUED,	/* on ep->pending */
	FASTIPC_SLOT_HELD,	/* received by a server thread */
	FASTIPC_SLOT_BUSY,	/* a server thread forwards from it */
	FASTIPC_SLOT_REPLYING,	/* a server thread copies the reply to the caller */
};

/**
 * struct fastipc_slot - one receive slot of an endpoint's pool
 * @node: in ep->free_slots or ep->pending.
 * @call: the call waiting on this message; NULL for one-way messages and
 *	once the caller has given up.
 * @sender: the sender's thread group, for the credentials.
 * @uid: the sender's euid.
 * @gid: the sender's egid.
 * @token: the reply token, 0 while free.
 * @opcode: the message's opcode.
 * @len: the payload's length.
 * @state: an enum fastipc_slot_state.
 * @oneway: a one-way message.
 * @user: for a one-way message, the sending user charged for it (referenced).
 *
 * All fields are protected by the endpoint's lock.
 */
struct fastipc_slot {
	struct list_head node;
	struct fastipc_caller *call;
	struct pid *sender;
	kuid_t uid;
	kgid_t gid;
	u64 token;
	u32 opcode;
	u32 len;
	u8 state;
	bool oneway;
	struct fastipc_user *user;
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
 * @id: serial number, for tracing and fdinfo.
 * @seq: last token sequence number handed out.
 * @slot_wq: senders waiting for a free slot.
 * @slot_waiters: io_uring calls waiting for a free slot (uring.c).
 * @poll_wq: poll on the endpoint and on its clients.
 * @reply_spin: how soon calls here are answered (read and written unlocked).
 * @next_spin: how soon a caller comes back after its answer (likewise).
 * @pool: the registered buffer holding the receive pool.
 * @pool_base: the first slot's kernel address.
 * @slot_size: bytes per slot.
 * @nslots: number of slots.
 * @slots: the slots.
 * @named: published in the name registry.
 * @name: its name.
 * @name_node: in the registry, under fastipc_names_lock.
 * @ipc_ns: the IPC namespace it is published in (referenced while named).
 * @owner: the creator's euid.
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
	u64 id;
	u64 seq;
	wait_queue_head_t slot_wq;
	struct list_head slot_waiters;
	wait_queue_head_t poll_wq;
	struct fastipc_spin reply_spin;	/* callers waiting for a reply */
	struct fastipc_spin next_spin;	/* servers waiting for the next call */

	struct fastipc_buf *pool;
	u8 *pool_base;
	u32 slot_size;
	u32 nslots;
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
	FASTIPC_CALLER_MOVING,	/* being forwarded, attached to no slot */
	FASTIPC_CALLER_DONE,	/* result set; detached */
	FASTIPC_CALLER_CANCELLED, /* the caller gave up; detached */
};

/**
 * struct fastipc_caller - a call in flight, on the caller's stack
 * @wq: the caller sleeps here.
 * @state: an enum fastipc_caller_state, under the lock of @ep.
 * @ep: the endpoint whose slot the call is attached to.
 * @slot: that slot, while FASTIPC_CALLER_PENDING.
 * @route: every endpoint the call has visited, each referenced until the
 *	caller returns, so @ep can be locked without racing a forward.
 * @hops: entries in @route after the first.
 * @reply_buf: the caller's registered reply buffer (referenced).
 * @reply_kaddr: where the reply goes.
 * @reply_cap: room there.
 * @error: 0, or the errno the module completed the call with.
 * @status: the server's status word.
 * @reply_len: the reply's length.
 * @pid: the caller's thread group.
 * @uid: the caller's euid.
 * @gid: the caller's egid.
 * @async: an io_uring command waits, not a thread: completing the call
 *	completes the command.
 * @cpu: where the calling thread runs, -1 for an io_uring command.
 * @server_cpu: where the server thread the call was handed to runs, -1 if
 *	it was queued.
 */
struct fastipc_caller {
	wait_queue_head_t wq;
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
	bool async;
	int cpu;
	int server_cpu;
};

/**
 * struct fastipc_waiter - a server waiting for a message
 * @node: in ep->idle.
 * @wq: a server thread sleeps here.
 * @slot: the message handed to it, under ep->lock.
 * @async: an io_uring receive waits, not a thread.
 * @task: the server thread, unless @async.
 */
struct fastipc_waiter {
	struct list_head node;
	wait_queue_head_t wq;
	struct fastipc_slot *slot;
	bool async;
	struct task_struct *task;
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
 *	looks for commands whose ring or task went away (uring.c).
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
};

/* user.c */
struct fastipc_user *fastipc_user_get(void);
void fastipc_user_put(struct fastipc_user *user);
int fastipc_user_charge_endpoint(struct fastipc_user *user);
void fastipc_user_uncharge_endpoint(struct fastipc_user *user);
bool fastipc_user_charge_oneway(struct fastipc_user *user);
bool fastipc_user_oneway_room(struct fastipc_user *user);
void fastipc_user_uncharge_oneway(struct fastipc_user *user);

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

/* call.c */
struct fastipc_endpoint *fastipc_client_ep(struct fastipc_port *port, u32 len);
int fastipc_cmd_call(struct fastipc_port *port, void *arg);
int fastipc_cmd_send(struct fastipc_port *port, void *arg);
int fastipc_cmd_serve(struct fastipc_port *port, void *arg);
int fastipc_cmd_forward(struct fastipc_port *port, void *arg);
int fastipc_send_msg(struct fastipc_port *port, const struct fastipc_send *arg, bool may_wait);
int fastipc_reply(struct fastipc_endpoint *ep, u64 token, s32 status, const void __user *src,
		  u32 len, bool sync, int *caller_cpu);
struct fastipc_slot *fastipc_slot_fill(struct fastipc_endpoint *ep, struct fastipc_user *user,
				       bool wait, ktime_t deadline, const void __user *src,
				       u32 len);
int fastipc_slot_publish(struct fastipc_endpoint *ep, struct fastipc_slot *slot,
			 struct fastipc_caller *call, u32 opcode, u32 len,
			 struct pid *pid, kuid_t uid, kgid_t gid);
struct fastipc_slot *fastipc_slot_dequeue(struct fastipc_endpoint *ep);
void fastipc_slot_free(struct fastipc_endpoint *ep, struct fastipc_slot *slot);
void fastipc_msg_info_fill(struct fastipc_endpoint *ep, struct fastipc_slot *slot,
			   struct fastipc_msg_info *info, struct pid_namespace *pid_ns,
			   struct user_namespace *user_ns);
int fastipc_caller_init(struct fastipc_caller *call, struct fastipc_port *port,
			struct fastipc_endpoint *ep, u32 buf_id, u64 offset, u32 cap);
void fastipc_caller_release(struct fastipc_caller *call);
int fastipc_caller_cancel(struct fastipc_caller *call, bool wait);
void fastipc_caller_complete(struct fastipc_caller *call, int error, bool sync);

/* uring.c */
int fastipc_uring_cmd(struct io_uring_cmd *cmd, unsigned int issue_flags);
void fastipc_uring_port_init(struct fastipc_port *port);
void fastipc_uring_port_release(struct fastipc_port *port);
void fastipc_uring_call_done(struct fastipc_caller *call);
void fastipc_uring_recv_done(struct fastipc_waiter *w, struct fastipc_endpoint *ep,
			     struct fastipc_slot *slot);
void fastipc_uring_slot_freed(struct fastipc_endpoint *ep);
void fastipc_uring_ep_dead(struct fastipc_endpoint *ep);

/* Tokens carry the slot index in their low bits. */
#define FASTIPC_SLOT_BITS	10
static_assert(FASTIPC_MAX_SLOTS <= (1U << FASTIPC_SLOT_BITS));

/* copy.c */
unsigned long fastipc_copy_from_user(void *dst, const void __user *src, unsigned long len);
int fastipc_copy_init(struct dentry *debugfs_dir);

#endif /* _FASTIPC_H */
