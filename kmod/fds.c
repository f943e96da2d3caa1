// SPDX-License-Identifier: GPL-2.0
/*
 * Descriptors carried by messages (the uapi header's "DOC: descriptors").
 *
 * A sender's descriptors are resolved into a struct fastipc_fds when its
 * message is sent, and charged to the user who opened the sending port. The
 * struct rides on the message: on the slot of a request or one-way message
 * (slot->fds), on the call for a reply (call->reply_fds). The receiver takes
 * it off the message under the endpoint's lock and installs it in its own
 * task, outside any lock (fastipc_fds_install()). Whoever frees a slot or a
 * call that still holds one releases it (fastipc_fds_release()), often under
 * the endpoint's lock.
 *
 * Reference cycles are impossible by construction: a message holds only
 * files that cannot hold files in turn (fastipc_fd_carriable()), and a port
 * as a reference to its endpoint's memory, from which the receiver gets a new
 * client port. Neither keeps an endpoint's own port, whose release is what
 * kills the endpoint and frees its messages, from being released.
 *
 * Releasing never sleeps: fput() leaves a file's last close to task work,
 * and the endpoint references, whose last put may sleep, are dropped by a
 * work item.
 *
 * Locking: none of its own. A struct fastipc_fds belongs to the message it
 * rides on (under that endpoint's lock) until a receiver takes it.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "compat.h"
#include "fastipc.h"

/**
 * struct fastipc_fd - one carried descriptor
 * @file: the file, referenced; or NULL for a port.
 * @ep: for a port, the endpoint it is or reaches, referenced; else NULL.
 */
struct fastipc_fd {
	struct file *file;
	struct fastipc_endpoint *ep;
};

/**
 * struct fastipc_fds - the descriptors one message carries
 * @work: drops the endpoint references, which may sleep.
 * @user: the sending user, charged for @n descriptors (referenced).
 * @n: how many, 1..FASTIPC_MAX_FDS.
 * @has_ep: some entry is a port.
 * @fd: the descriptors, in the order sent.
 */
struct fastipc_fds {
	struct work_struct work;
	struct fastipc_user *user;
	u32 n;
	bool has_ep;
	struct fastipc_fd fd[];
};

static struct workqueue_struct *fastipc_fds_wq;

static void fastipc_fds_free_work(struct work_struct *work)
{
	struct fastipc_fds *fds = container_of(work, struct fastipc_fds, work);
	u32 i;

	for (i = 0; i < fds->n; i++)
		if (fds->fd[i].ep)
			fastipc_ep_put(fds->fd[i].ep);
	kfree(fds);
}

/* Release what @fds (may be NULL) still holds and free it; never sleeps. */
void fastipc_fds_release(struct fastipc_fds *fds)
{
	u32 i;

	if (!fds)
		return;
	for (i = 0; i < fds->n; i++)
		if (fds->fd[i].file)
			fput(fds->fd[i].file);
	fastipc_user_uncharge_fds(fds->user, fds->n);
	fastipc_user_put(fds->user);
	if (fds->has_ep)
		queue_work(fastipc_fds_wq, &fds->work);
	else
		kfree(fds);
}

/* How many descriptors @fds (may be NULL) carries. */
u32 fastipc_fds_count(const struct fastipc_fds *fds)
{
	return fds ? fds->n : 0;
}

/*
 * Whether a message may hold @file: only kinds that cannot hold files in
 * turn. Sockets (a UNIX socket's queue), device files (binder, FUSE) and
 * anonymous-inode files (io_uring, epoll, ...) could, directly or not, hold
 * the port of the very endpoint whose queue holds them.
 */
static bool fastipc_fd_carriable(struct file *file)
{
	struct inode *inode = file_inode(file);
	umode_t mode = inode->i_mode;

	if (inode->i_sb->s_magic == ANON_INODE_FS_MAGIC)
		return false;
	return S_ISREG(mode) || S_ISDIR(mode) || S_ISFIFO(mode) || S_ISLNK(mode);
}

/* Resolve descriptor @nr of the sender into @fd. */
static int fastipc_fd_get(struct fastipc_fds *fds, struct fastipc_fd *fd, int nr)
{
	struct fastipc_endpoint *ep;
	struct file *file;

	/* O_PATH descriptors too, as SCM_RIGHTS takes them. */
	file = fget_raw(nr);
	if (!file)
		return -EBADF;
	ep = fastipc_file_ep(file);
	if (ep) {
		fput(file);
		if (IS_ERR(ep))
			return -EOPNOTSUPP;
		fd->ep = ep;
		fds->has_ep = true;
		return 0;
	}
	if (!fastipc_fd_carriable(file)) {
		fput(file);
		return -EOPNOTSUPP;
	}
	fd->file = file;
	return 0;
}

/*
 * Resolve the @n descriptors (0..FASTIPC_MAX_FDS) at @uaddr for a message
 * sent by @user, charged to it: NULL for none, or -EFAULT, -EBADF,
 * -EOPNOTSUPP, -ETOOMANYREFS, -ENOMEM. fastipc_fds_release() or
 * fastipc_fds_install() consumes the result.
 */
struct fastipc_fds *fastipc_fds_get(struct fastipc_user *user, u64 uaddr, u32 n)
{
	s32 nrs[FASTIPC_MAX_FDS];
	struct fastipc_fds *fds;
	int ret;
	u32 i;

	if (!n)
		return NULL;
	if (n > FASTIPC_MAX_FDS)
		return ERR_PTR(-E2BIG);
	if (copy_from_user(nrs, u64_to_user_ptr(uaddr), n * sizeof(nrs[0])))
		return ERR_PTR(-EFAULT);
	fds = kzalloc(struct_size(fds, fd, n), GFP_KERNEL_ACCOUNT);
	if (!fds)
		return ERR_PTR(-ENOMEM);
	if (!fastipc_user_charge_fds(user, n)) {
		kfree(fds);
		return ERR_PTR(-ETOOMANYREFS);
	}
	INIT_WORK(&fds->work, fastipc_fds_free_work);
	refcount_inc(&user->ref);
	fds->user = user;
	fds->n = n;
	for (i = 0; i < n; i++) {
		ret = fastipc_fd_get(fds, &fds->fd[i], nrs[i]);
		if (ret) {
			fastipc_fds_release(fds);
			return ERR_PTR(ret);
		}
	}
	return fds;
}

/* Install @fd in the current task: its new number, or -errno. */
static int fastipc_fd_install(struct fastipc_fd *fd, unsigned int o_flags)
{
	struct file *file;
	int ret;

	if (fd->file)
		return fastipc_receive_fd(fd->file, o_flags);
	/* A port arrives as a new client of its endpoint. */
	file = fastipc_client_file(fd->ep);
	if (IS_ERR(file))
		return PTR_ERR(file);
	/* The new port holds the endpoint reference now. */
	fd->ep = NULL;
	ret = fastipc_receive_fd(file, o_flags);
	fput(file);
	return ret;
}

/*
 * Install @fds (may be NULL; consumed) in the current task, the receiver's:
 * the first min(n, @cap) entries of the __s32 array at @uaddr get the new
 * descriptors, or -1 for one that could not be installed (RLIMIT_NOFILE,
 * the LSM); the others are closed. Nothing is installed if the array cannot
 * be written. Returns how many descriptors the message carried; sets
 * *@trunc if any of them was closed rather than installed.
 */
u32 fastipc_fds_install(struct fastipc_fds *fds, u64 uaddr, u32 cap, unsigned int o_flags,
			bool *trunc)
{
	s32 __user *ufds = u64_to_user_ptr(uaddr);
	s32 nrs[FASTIPC_MAX_FDS];
	u32 n, k, i;
	int nr;

	if (!fds)
		return 0;
	n = fds->n;
	k = min(n, cap);
	for (i = 0; i < k; i++)
		nrs[i] = -1;
	/* A descriptor installed is the receiver's: first see it can learn of it. */
	if (k && copy_to_user(ufds, nrs, k * sizeof(nrs[0])))
		k = 0;
	if (k < n)
		*trunc = true;
	for (i = 0; i < k; i++) {
		nr = fastipc_fd_install(&fds->fd[i], o_flags);
		if (nr < 0)
			*trunc = true;
		else
			nrs[i] = nr;
	}
	/*
	 * Writable a moment ago; if the receiver unmapped the array since,
	 * the descriptors stay installed and unknown to it, as with
	 * SCM_RIGHTS.
	 */
	if (k && copy_to_user(ufds, nrs, k * sizeof(nrs[0])))
		*trunc = true;
	fastipc_fds_release(fds);
	return n;
}

int fastipc_fds_init(void)
{
	fastipc_fds_wq = alloc_workqueue("fastipc_fds", WQ_UNBOUND, 0);
	return fastipc_fds_wq ? 0 : -ENOMEM;
}

/* Every port is gone; the last endpoint references may still be in flight. */
void fastipc_fds_exit(void)
{
	destroy_workqueue(fastipc_fds_wq);
}
