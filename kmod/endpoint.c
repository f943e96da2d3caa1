// SPDX-License-Identifier: GPL-2.0
/*
 * Endpoints: creation with a receive pool, the per-IPC-namespace name
 * registry, connecting clients, and shutdown when the owning port goes.
 *
 * Locking: port->mutex, then fastipc_names_lock, then ep->lock (see
 * fastipc.h). Endpoints are reference counted; the last reference frees the
 * slots and drops the pool, which may sleep, so it is never put under a lock.
 */
#include <linux/atomic.h>
#include <linux/capability.h>
#include <linux/ctype.h>
#include <linux/cred.h>
#include <linux/ipc_namespace.h>
#include <linux/nsproxy.h>
#include <linux/overflow.h>
#include <linux/pid.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "compat.h"
#include "fastipc.h"

static LIST_HEAD(fastipc_names);
static DEFINE_MUTEX(fastipc_names_lock);

/* Distinct token ranges per endpoint, so a token is never valid elsewhere. */
static atomic64_t fastipc_ep_serial;

static void fastipc_ep_release(struct kref *ref)
{
	struct fastipc_endpoint *ep = container_of(ref, struct fastipc_endpoint, ref);

	WARN_ON_ONCE(ep->nfree != ep->nslots);
	/* Every slot free: no one-way message is counted any more. */
	WARN_ON_ONCE(!xa_empty(&ep->oneway_senders));
	xa_destroy(&ep->oneway_senders);
	fastipc_user_put(ep->user);
	kvfree(ep->slots);
	fastipc_buf_put(ep->pool);
	if (ep->ipc_ns)
		fastipc_put_ipc_ns(ep->ipc_ns);
	kfree(ep);
	atomic_long_dec(&fastipc_objects[FASTIPC_OBJ_ENDPOINTS]);
}

void fastipc_ep_put(struct fastipc_endpoint *ep)
{
	might_sleep();
	kref_put(&ep->ref, fastipc_ep_release);
}

/* A name is 1..FASTIPC_NAME_MAX-1 bytes of [A-Za-z0-9._:-], then NULs only. */
static bool fastipc_name_valid(const u8 *name)
{
	size_t len = strnlen((const char *)name, FASTIPC_NAME_MAX);
	size_t i;

	if (!len || len == FASTIPC_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum(name[i]) && !strchr("._:-", name[i]))
			return false;
	return !memchr_inv(name + len, 0, FASTIPC_NAME_MAX - len);
}

static struct fastipc_endpoint *fastipc_name_lookup(struct ipc_namespace *ns, const char *name)
{
	struct fastipc_endpoint *ep;

	lockdep_assert_held(&fastipc_names_lock);
	list_for_each_entry(ep, &fastipc_names, name_node)
		if (ep->ipc_ns == ns && !strcmp(ep->name, name))
			return ep;
	return NULL;
}

static int fastipc_name_publish(struct fastipc_endpoint *ep, const u8 *name, umode_t mode)
{
	struct ipc_namespace *ns = current->nsproxy->ipc_ns;
	int ret = 0;

	memcpy(ep->name, name, FASTIPC_NAME_MAX);
	ep->mode = mode;

	mutex_lock(&fastipc_names_lock);
	if (fastipc_name_lookup(ns, ep->name)) {
		ret = -EEXIST;
	} else {
		ep->ipc_ns = get_ipc_ns(ns);
		ep->named = true;
		list_add(&ep->name_node, &fastipc_names);
	}
	mutex_unlock(&fastipc_names_lock);
	return ret;
}

static struct fastipc_endpoint *fastipc_ep_alloc(struct fastipc_user *user,
						 struct fastipc_buf *pool,
						 const struct fastipc_ep_create *arg)
{
	u32 slot_size = arg->slot_size, nslots = arg->nslots;
	u64 offset = arg->pool_offset;
	struct fastipc_endpoint *ep;
	u64 end;
	int ret;
	u32 i;

	if (check_add_overflow(offset, (u64)slot_size * nslots, &end) || end > pool->len)
		return ERR_PTR(-EINVAL);
	ret = fastipc_user_charge_endpoint(user);
	if (ret)
		return ERR_PTR(ret);

	ret = -ENOMEM;
	ep = kzalloc(sizeof(*ep), GFP_KERNEL_ACCOUNT);
	if (!ep)
		goto out_uncharge;
	ep->slots = kvcalloc(nslots, sizeof(*ep->slots), GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!ep->slots)
		goto out_free_ep;
	ep->user = user;
	refcount_inc(&user->ref);
	kref_init(&ep->ref);
	spin_lock_init(&ep->lock);
	INIT_LIST_HEAD(&ep->pending);
	INIT_LIST_HEAD(&ep->idle);
	INIT_LIST_HEAD(&ep->free_slots);
	INIT_LIST_HEAD(&ep->name_node);
	init_waitqueue_head(&ep->slot_wq);
	init_waitqueue_head(&ep->poll_wq);
	for (i = 0; i < nslots; i++)
		list_add_tail(&ep->slots[i].node, &ep->free_slots);
	ep->nfree = nslots;
	ep->max_oneway = DIV_ROUND_UP(nslots, 2);
	xa_init(&ep->oneway_senders);
	ep->id = atomic64_inc_return(&fastipc_ep_serial);
	ep->seq = ep->id << 32;
	ep->pool = pool;
	ep->pool_base = pool->kaddr + offset;
	ep->slot_size = slot_size;
	ep->nslots = nslots;
	ep->max_reply = arg->max_reply ?: FASTIPC_MAX_PAYLOAD;
	ep->flags = arg->flags;
	ep->owner = current_euid();
	ep->group = current_egid();
	atomic_long_inc(&fastipc_objects[FASTIPC_OBJ_ENDPOINTS]);
	return ep;

out_free_ep:
	kfree(ep);
out_uncharge:
	fastipc_user_uncharge_endpoint(user);
	return ERR_PTR(ret);
}

int fastipc_cmd_ep_create(struct fastipc_port *port, void *data)
{
	struct fastipc_ep_create *arg = data;
	bool named = arg->flags & FASTIPC_EP_NAMED;
	struct fastipc_endpoint *ep;
	struct fastipc_buf *pool;
	int ret;

	if (arg->flags & ~FASTIPC_EP_ALL || arg->reserved[0] || arg->reserved[1])
		return -EINVAL;
	if (named ? (arg->mode & ~0777 || !fastipc_name_valid(arg->name)) :
		    (arg->mode || memchr_inv(arg->name, 0, FASTIPC_NAME_MAX)))
		return -EINVAL;
	if (!arg->slot_size || arg->slot_size > FASTIPC_MAX_PAYLOAD ||
	    !arg->nslots || arg->nslots > FASTIPC_MAX_SLOTS ||
	    arg->max_reply > FASTIPC_MAX_PAYLOAD)
		return -EINVAL;

	mutex_lock(&port->mutex);
	ret = -EBUSY;
	if (port->role != FASTIPC_ROLE_NONE)
		goto out_unlock;
	ret = -ENOENT;
	pool = fastipc_buf_get(port, arg->pool_buf);
	if (!pool)
		goto out_unlock;
	ep = fastipc_ep_alloc(port->user, pool, arg);
	if (IS_ERR(ep)) {
		ret = PTR_ERR(ep);
		fastipc_buf_put(pool);
		goto out_unlock;
	}
	if (named) {
		ret = fastipc_name_publish(ep, arg->name, arg->mode);
		if (ret) {
			fastipc_user_uncharge_endpoint(ep->user);
			fastipc_ep_put(ep);
			goto out_unlock;
		}
	}
	port->ep = ep;
	/* Lockless readers of the role must see port->ep set. */
	smp_store_release(&port->role, FASTIPC_ROLE_ENDPOINT);
	ret = 0;
out_unlock:
	mutex_unlock(&port->mutex);
	return ret;
}

/* Connecting needs the write bit of the caller's class, as for a socket file. */
static int fastipc_ep_permission(struct fastipc_endpoint *ep)
{
	umode_t mode = ep->mode;

	if (uid_eq(current_euid(), ep->owner))
		mode >>= 6;
	else if (in_egroup_p(ep->group))
		mode >>= 3;
	if (mode & 02)
		return 0;
	return ns_capable(ep->ipc_ns->user_ns, CAP_IPC_OWNER) ? 0 : -EACCES;
}

static struct fastipc_endpoint *fastipc_ep_get_by_name(const u8 *name)
{
	struct fastipc_endpoint *ep;
	int ret;

	mutex_lock(&fastipc_names_lock);
	ep = fastipc_name_lookup(current->nsproxy->ipc_ns, (const char *)name);
	ret = ep ? fastipc_ep_permission(ep) : -ENOENT;
	if (!ret)
		kref_get(&ep->ref);
	mutex_unlock(&fastipc_names_lock);
	return ret ? ERR_PTR(ret) : ep;
}

int fastipc_cmd_connect(struct fastipc_port *port, void *data)
{
	struct fastipc_connect *arg = data;
	struct fastipc_endpoint *ep;
	int ret;

	if (arg->flags & ~FASTIPC_CONNECT_ALL || arg->reserved0 || arg->reserved[0] ||
	    arg->reserved[1])
		return -EINVAL;
	if (arg->flags & FASTIPC_CONNECT_FD) {
		if (memchr_inv(arg->name, 0, FASTIPC_NAME_MAX))
			return -EINVAL;
		ep = fastipc_ep_get_from_fd(arg->ep_fd);
	} else {
		if (arg->ep_fd || !fastipc_name_valid(arg->name))
			return -EINVAL;
		ep = fastipc_ep_get_by_name(arg->name);
	}
	if (IS_ERR(ep))
		return PTR_ERR(ep);

	mutex_lock(&port->mutex);
	if (port->role != FASTIPC_ROLE_NONE) {
		ret = -EBUSY;
	} else if (READ_ONCE(ep->dead)) {
		ret = -EPIPE;
	} else {
		port->ep = ep;
		/* Lockless readers of the role must see port->ep set. */
		smp_store_release(&port->role, FASTIPC_ROLE_CLIENT);
		ret = 0;
	}
	mutex_unlock(&port->mutex);
	if (ret) {
		fastipc_ep_put(ep);
		return ret;
	}
	/* Whom the client reached, for it to check, and what it may send. */
	arg->owner_uid = from_kuid_munged(current_user_ns(), ep->owner);
	arg->owner_gid = from_kgid_munged(current_user_ns(), ep->group);
	arg->ep_flags = ep->flags;
	arg->slot_size = ep->slot_size;
	arg->nslots = ep->nslots;
	arg->max_oneway = ep->max_oneway;
	arg->max_reply = ep->max_reply;
	return 0;
}

/*
 * The owning port is gone: unpublish the name, fail every message waiting or
 * held with EPIPE, and wake everyone waiting for room or polling.
 */
void fastipc_ep_shutdown(struct fastipc_endpoint *ep)
{
	u32 i;

	if (ep->named) {
		mutex_lock(&fastipc_names_lock);
		list_del_init(&ep->name_node);
		mutex_unlock(&fastipc_names_lock);
	}

	fastipc_user_uncharge_endpoint(ep->user);
	spin_lock(&ep->lock);
	ep->dead = true;
	for (i = 0; i < ep->nslots; i++) {
		struct fastipc_slot *slot = &ep->slots[i];

		/*
		 * FILLING slots are freed by their senders, who will see dead;
		 * REPLYING and FORWARDING ones by the server copying.
		 */
		if (slot->state != FASTIPC_SLOT_QUEUED && slot->state != FASTIPC_SLOT_HELD)
			continue;
		if (slot->state == FASTIPC_SLOT_QUEUED) {
			list_del(&slot->node);
			ep->npending--;
		}
		if (slot->call)
			fastipc_caller_complete(slot->call, -EPIPE, false);
		fastipc_slot_free(ep, slot);
	}
	/* Senders waiting for room, threads and rings alike, see it dead. */
	wake_up_all(&ep->slot_wq);
	wake_up_interruptible_poll(&ep->poll_wq, EPOLLHUP);
	spin_unlock(&ep->lock);
}

__poll_t fastipc_ep_poll(struct fastipc_endpoint *ep, int role, struct file *file,
			 poll_table *wait)
{
	poll_wait(file, &ep->poll_wq, wait);
	if (READ_ONCE(ep->dead))
		return EPOLLHUP;
	if (role == FASTIPC_ROLE_ENDPOINT && READ_ONCE(ep->npending))
		return EPOLLIN | EPOLLRDNORM;
	return 0;
}
