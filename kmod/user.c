// SPDX-License-Identifier: GPL-2.0
/*
 * Per-user limits: how many endpoints a user may own and how many one-way
 * messages a user may have waiting in endpoints' pools, so one user cannot
 * exhaust what every other user of the machine shares. Pinned memory is
 * limited separately, by RLIMIT_MEMLOCK (buf.c).
 *
 * A port is charged to the user who opened it (its file's euid), as a file
 * keeps its opener's credentials. The user's entry is looked up once, at
 * open, under fastipc_users_lock; the call path only does atomics on it.
 *
 * Locking: fastipc_users_lock (a spinlock) protects the hash table only. It
 * nests inside ep->lock, where freeing a slot drops a user reference, and
 * takes nothing else.
 */
#include <linux/cred.h>
#include <linux/hashtable.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "fastipc.h"

static unsigned int max_endpoints_per_user = 1024;
module_param(max_endpoints_per_user, uint, 0644);
MODULE_PARM_DESC(max_endpoints_per_user, "endpoints one user may own at once");

static unsigned int max_oneway_per_user = 4096;
module_param(max_oneway_per_user, uint, 0644);
MODULE_PARM_DESC(max_oneway_per_user,
		 "one-way messages one user may have waiting in endpoints at once");

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
	if (atomic_inc_return(&user->endpoints) > READ_ONCE(max_endpoints_per_user)) {
		atomic_dec(&user->endpoints);
		return -ENOSPC;
	}
	return 0;
}

void fastipc_user_uncharge_endpoint(struct fastipc_user *user)
{
	atomic_dec(&user->endpoints);
}

bool fastipc_user_charge_oneway(struct fastipc_user *user)
{
	if (atomic_inc_return(&user->oneway) > READ_ONCE(max_oneway_per_user)) {
		atomic_dec(&user->oneway);
		return false;
	}
	return true;
}

bool fastipc_user_oneway_room(struct fastipc_user *user)
{
	return atomic_read(&user->oneway) < READ_ONCE(max_oneway_per_user);
}

void fastipc_user_uncharge_oneway(struct fastipc_user *user)
{
	atomic_dec(&user->oneway);
	if (wq_has_sleeper(&user->oneway_wq))
		wake_up(&user->oneway_wq);
}
