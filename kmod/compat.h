/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The differences between the kernels fastipc supports (Debian's 6.1 and
 * 6.12), kept in one place.
 */
#ifndef _FASTIPC_COMPAT_H
#define _FASTIPC_COMPAT_H

#include <linux/file.h>
#include <linux/uaccess.h>
#include <linux/ipc_namespace.h>
#include <linux/mm.h>
#include <linux/proc_ns.h>
#include <linux/sched.h>

/* 6.5 moved the driver side of io_uring commands into a header of its own. */
#ifdef FASTIPC_HAVE_IO_URING_CMD_H
#include <linux/io_uring/cmd.h>
#else
#include <linux/io_uring.h>
#include <linux/io_uring_types.h>
#include <linux/percpu-refcount.h>
#endif

/*
 * Open user access to read @len bytes from *@src, so that no load through
 * the pointer, even a speculated one, reaches kernel memory: 6.12 clamps a
 * pointer past the user range to an address that always faults (its
 * copy_from_user() does the same), and *@src becomes that pointer; 6.1
 * checks access_ok() and fences speculation (user_read_access_begin()).
 * False if the range is refused; user_read_access_end() closes.
 */
static __always_inline bool fastipc_user_read_begin(const void __user **src, unsigned long len)
{
#ifdef masked_user_access_begin
	if (can_do_masked_user_access()) {
		*src = masked_user_access_begin(*src);
		return true;
	}
#endif
	return user_read_access_begin(*src, len);
}

/*
 * Copy from user memory with non-temporal stores; returns bytes not copied,
 * which on 6.12 may be up to 7 more than the bytes past a fault. 6.12's
 * routine masks the user pointer itself; 6.1's leaves access_ok() and the
 * speculation barrier after it to its caller. Neither zeroes anything.
 */
static inline unsigned long
fastipc_copy_from_user_nt(void *dst, const void __user *src, unsigned long len)
{
/* 6.12 renamed the non-temporal user copy and defines this to say so. */
#ifdef copy_to_nontemporal
	return copy_from_user_inatomic_nontemporal(dst, src, len);
#else
	if (!access_ok(src, len))
		return len;
	barrier_nospec();
	return __copy_from_user_inatomic_nocache(dst, src, len);
#endif
}

/*
 * put_ipc_ns() is exported only from 6.10 on; the namespace's own operations
 * drop the reference the same way on every kernel.
 */
static inline void fastipc_put_ipc_ns(struct ipc_namespace *ns)
{
#ifdef CONFIG_IPC_NS
	ns->ns.ops->put(&ns->ns);
#endif
}

/* Where the command's struct is: in the SQE, which 6.1 points to directly. */
static inline const void *fastipc_uring_payload(const struct io_uring_cmd *cmd)
{
#ifdef FASTIPC_HAVE_IO_URING_CMD_H
	return io_uring_sqe_cmd(cmd->sqe);
#else
	return cmd->cmd;
#endif
}

/*
 * From 6.7 io_uring asks a driver to cancel the commands it marked
 * cancelable when their ring closes, and tells a command's task work when
 * its ring or task is dying (IO_URING_F_TASK_DEAD). Before that nothing
 * tells the driver, so fastipc's monitor looks for commands whose ring is
 * going away itself (uring.c), reading that fact from io_uring's request as
 * 6.7's io_uring does.
 */
#ifdef IORING_URING_CMD_CANCELABLE
#define FASTIPC_URING_F_CANCEL	IO_URING_F_CANCEL
#define FASTIPC_URING_MONITOR	false

static inline bool fastipc_uring_abandoned(struct io_uring_cmd *cmd)
{
	return false;
}

static inline bool fastipc_uring_tw_dead(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
	return issue_flags & IO_URING_F_TASK_DEAD;
}
#else
#define FASTIPC_URING_F_CANCEL	0
#define FASTIPC_URING_MONITOR	true

static inline void io_uring_cmd_mark_cancelable(struct io_uring_cmd *cmd,
						unsigned int issue_flags)
{
}

static inline bool fastipc_uring_abandoned(struct io_uring_cmd *cmd)
{
	return percpu_ref_is_dying(&cmd_to_io_kiocb(cmd)->ctx->refs);
}

static inline bool fastipc_uring_tw_dead(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
	return (current->flags & (PF_EXITING | PF_KTHREAD)) || fastipc_uring_abandoned(cmd);
}
#endif

/*
 * Pins pages of the current process, whose mmap lock the caller holds:
 * 6.5 dropped the vmas argument of pin_user_pages().
 */
static inline long fastipc_pin_user_pages(unsigned long start, unsigned long nr_pages,
					  unsigned int gup_flags, struct page **pages)
{
#ifdef FASTIPC_GUP_TAKES_VMAS
	return pin_user_pages(start, nr_pages, gup_flags, pages, NULL);
#else
	return pin_user_pages(start, nr_pages, gup_flags, pages);
#endif
}

/*
 * Install @file in a new descriptor of the current task, through the LSM's
 * check, as SCM_RIGHTS does: the descriptor, or -errno. The file is
 * referenced anew. 6.7 merged __receive_fd() into receive_fd(), which took
 * its user pointer.
 */
static inline int fastipc_receive_fd(struct file *file, unsigned int o_flags)
{
#ifdef FASTIPC_RECEIVE_FD_TAKES_UFD
	return receive_fd(file, NULL, o_flags);
#else
	return receive_fd(file, o_flags);
#endif
}

#endif /* _FASTIPC_COMPAT_H */
