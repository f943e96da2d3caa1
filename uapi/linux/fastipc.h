/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * fastipc: synchronous local IPC through /dev/fastipc.
 *
 * Every command is an ioctl on an fd of /dev/fastipc, numbered with
 * _IOWR(FASTIPC_IOCTL_MAGIC, nr, struct). Structs have a fixed size, hold
 * only __u8..__u64 fields with no implicit padding, and carry user pointers
 * as __aligned_u64.
 *
 * Errors common to every command:
 *  ENOTTY  unknown command.
 *  EINVAL  unknown flag, non-zero reserved field, or a field out of range.
 *  EFAULT  the argument or a pointer inside it is not accessible.
 */
#ifndef _UAPI_LINUX_FASTIPC_H
#define _UAPI_LINUX_FASTIPC_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define FASTIPC_IOCTL_MAGIC	0xF1

/* Bumped only for incompatible changes; additions show up as feature bits. */
#define FASTIPC_ABI_VERSION	1

/**
 * struct fastipc_version - FASTIPC_IOC_VERSION
 * @flags: must be 0.
 * @abi_version: out, FASTIPC_ABI_VERSION of the running module.
 * @features: out, the FASTIPC_F_* bits the running module supports.
 * @reserved: must be 0.
 */
struct fastipc_version {
	__u32 flags;
	__u32 abi_version;
	__aligned_u64 features;
	__aligned_u64 reserved[2];
};

#define FASTIPC_IOC_VERSION	_IOWR(FASTIPC_IOCTL_MAGIC, 0x00, struct fastipc_version)

#endif /* _UAPI_LINUX_FASTIPC_H */
