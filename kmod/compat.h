/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The differences between the kernels fastipc supports (Debian's 6.1 and
 * 6.12), kept in one place.
 */
#ifndef _FASTIPC_COMPAT_H
#define _FASTIPC_COMPAT_H

#include <linux/uaccess.h>
#include <linux/ipc_namespace.h>
#include <linux/proc_ns.h>

/* Copy from user memory with non-temporal stores; returns bytes not copied. */
static inline unsigned long
fastipc_copy_from_user_nt(void *dst, const void __user *src, unsigned long len)
{
/* 6.12 renamed the non-temporal user copy and defines this to say so. */
#ifdef copy_to_nontemporal
	return copy_from_user_inatomic_nontemporal(dst, src, len);
#else
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

#endif /* _FASTIPC_COMPAT_H */
