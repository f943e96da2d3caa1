// SPDX-License-Identifier: GPL-2.0
/*
 * Per-user limits: how many endpoints a user may own, how many one-way
 * messages a user may have waiting, in all endpoints' pools and in any one
 * endpoint's, and how many descriptors its messages may carry in flight,
 * so one user cannot exhaust what every other user of the machine shares
 * nor pin files without bound, and a server that never releases messages
 * holds only its share of a sender's quota. Pinned memory is limited separately, by
 * RLIMIT_MEMLOCK (buf.c).
 *
 * A port is charged to the user who opened it (its file's euid), as a file
 * keeps its opener's credentials. The user's entry is looked up once, at
 * open, under fastipc_users_lock; the call path only does atomics on it.
 * What a user has waiting in one endpoint is counted by the endpoint, under
 * its lock (pool.c).
 *
 * The limits are module parameters that only CAP_SYS_ADMIN in the initial
 * user namespace may change once the module is loaded (fastipc_limit_ops).
 *
 * Locking: fastipc_users_lock (a spinlock) protects the hash table only. It
 * nests inside ep->lock, where freeing a slot drops a user reference, and
 * takes nothing else.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/hashtable.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>

#include "fastipc.h"

/*
 * Set a limit: a number in the limit's range, else EINVAL. While the module
 * loads, its loader (who needed CAP_SYS_MODULE for it) sets any value in
 * range; from then on a change needs CAP_SYS_ADMIN in the initial user
 * namespace, whatever the file's mode lets the writer open: EPERM. The
 * parameters' files appear before the module is live, so a write racing the
 * load is held to what loading needs.
 */
static int fastipc_limit_set(const char *val, const struct kernel_param *kp)
{
	struct fastipc_limit *limit = kp->arg;
	bool loading = READ_ONCE(THIS_MODULE->state) != MODULE_STATE_LIVE;
	unsigned int n;

	if (!capable(loading ? CAP_SYS_MODULE : CAP_SYS_ADMIN))
		return -EPERM;
	if (kstrtouint(val, 0, &n) || n < limit->min || n > limit->max)
		return -EINVAL;
	WRITE_ONCE(limit->val, n);
	return 0;
}

static int fastipc_limit_get(char *buf, const struct kernel_param *kp)
{
	const struct fastipc_limit *limit = kp->arg;

	return scnprintf(buf, PAGE_SIZE, "%u\n", READ_ONCE(limit->val));
}

const struct kernel_param_ops fastipc_limit_ops = {
	.set = fastipc_limit_set,
	.get = fastipc_limit_get,
};

static struct fastipc_limit max_endpoints_per_user = { 1024, 1, INT_MAX };
module_param_cb(max_endpoints_per_user, &fastipc_limit_ops, &max_endpoints_per_user, 0644);
__MODULE_PARM_TYPE(max_endpoints_per_user, "uint");
MODULE_PARM_DESC(max_endpoints_per_user, "endpoints one user may own at once (ENOSPC)");

static struct fastipc_limit max_oneway_per_user = { 4096, 1, INT_MAX };
module_param_cb(max_oneway_per_user, &fastipc_limit_ops, &max_oneway_per_user, 0644);
__MODULE_PARM_TYPE(max_oneway_per_user, "uint");
MODULE_PARM_DESC(max_oneway_per_user,
		 "one-way messages one user may have waiting in all endpoints at once (EDQUOT)");

/* Well below max_oneway_per_user: one endpoint holds a small part of it. */
static struct fastipc_limit max_oneway_per_sender = { 256, 1, FASTIPC_MAX_SLOTS };
module_param_cb(max_oneway_per_sender, &fastipc_limit_ops, &max_oneway_per_sender, 0644);
__MODULE_PARM_TYPE(max_oneway_per_sender, "uint");
MODULE_PARM_DESC(max_oneway_per_sender,
		 "one-way messages one user may have waiting in one endpoint (EDQUOT)");

/* As a UNIX socket's in-flight descriptors; ETOOMANYREFS beyond. */
static struct fastipc_limit max_fds_per_user = { 1024, 1, INT_MAX };
module_param_cb(max_fds_per_user, &fastipc_limit_ops, &max_fds_per_user, 0644);
__MODULE_PARM_TYPE(max_fds_per_user, "uint");
MODULE_PARM_DESC(max_fds_per_user,
		 "descriptors one user's messages may carry, sent and not yet received (ETOOMANYREFS)");

static DEFINE_HASHTABLE(fastipc_users, 6);
static DEFINE_SPINLOCK(fastipc_users_lock);

/* The current euid's entry, with a reference; NULL if out of memory. */
struct fastipc_user *fastipc_user_get(void)
{
	kuid_t uid = current_euid();
	struct fastipc_user *user, *fresh;

	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL_ACCOUNT);
	if (!fresh)
		return NULL;
	spin_lock(&fastipc_users_lock);
	hash_for_each_possible(fastipc_users, user, node, __kuid_val(uid)) {
		if (uid_eq(user->uid, uid)) {
			refcount_inc(&user->ref);
			spin_unlock(&fastipc_users_lock);
			kfree(fresh);
			return user;
		}
	}
	fresh->uid = uid;
	refcount_set(&fresh->ref, 1);
	init_waitqueue_head(&fresh->oneway_wq);
	hash_add(fastipc_users, &fresh->node, __kuid_val(uid));
	spin_unlock(&fastipc_users_lock);
	return fresh;
}

void fastipc_user_put(struct fastipc_user *user)
{
	/* Only the last reference takes the table's lock. */
	if (refcount_dec_not_one(&user->ref))
		return;
	spin_lock(&fastipc_users_lock);
	if (!refcount_dec_and_test(&user->ref)) {
		spin_unlock(&fastipc_users_lock);
		return;
	}
	hash_del(&user->node);
	spin_unlock(&fastipc_users_lock);
	kfree(user);
}

int fastipc_user_charge_endpoint(struct fastipc_user *user)
{
	if (atomic_inc_return(&user->endpoints) > READ_ONCE(max_endpoints_per_user.val)) {
		atomic_dec(&user->endpoints);
		return -ENOSPC;
	}
	return 0;
}

void fastipc_user_uncharge_endpoint(struct fastipc_user *user)
{
	atomic_dec(&user->endpoints);
}

/* Charge a one-way message to @user's quota over all endpoints. */
bool fastipc_user_charge_oneway(struct fastipc_user *user)
{
	if (atomic_inc_return(&user->oneway) > READ_ONCE(max_oneway_per_user.val)) {
		atomic_dec(&user->oneway);
		return false;
	}
	return true;
}

bool fastipc_user_oneway_room(struct fastipc_user *user)
{
	return atomic_read(&user->oneway) < READ_ONCE(max_oneway_per_user.val);
}

/* Whether a user with @n one-way messages waiting in an endpoint may add one. */
bool fastipc_user_oneway_room_at(unsigned long n)
{
	return n < READ_ONCE(max_oneway_per_sender.val);
}

/* Charge @n descriptors in flight to @user. */
bool fastipc_user_charge_fds(struct fastipc_user *user, unsigned int n)
{
	if (atomic_add_return(n, &user->fds) > READ_ONCE(max_fds_per_user.val)) {
		atomic_sub(n, &user->fds);
		return false;
	}
	return true;
}

void fastipc_user_uncharge_fds(struct fastipc_user *user, unsigned int n)
{
	atomic_sub(n, &user->fds);
}

void fastipc_user_uncharge_oneway(struct fastipc_user *user)
{
	atomic_dec(&user->oneway);
	if (wq_has_sleeper(&user->oneway_wq))
		wake_up(&user->oneway_wq);
}
