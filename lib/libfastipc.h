/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * libfastipc: the C interface to /dev/fastipc.
 *
 * Every function returns a negative errno value on failure and never touches
 * errno, as liburing does.
 */
#ifndef LIBFASTIPC_H
#define LIBFASTIPC_H

#include <linux/fastipc.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * fastipc_open() - open /dev/fastipc
 *
 * Return: a new close-on-exec file descriptor, or -errno.
 */
int fastipc_open(void);

/**
 * fastipc_version() - query the module's ABI version and features
 * @fd: an fd of /dev/fastipc
 * @abi_version: where to store the ABI version
 * @features: where to store the FASTIPC_F_* feature bits, or NULL
 *
 * Return: 0, or -errno.
 */
int fastipc_version(int fd, unsigned int *abi_version, unsigned long long *features);

#ifdef __cplusplus
}
#endif

#endif /* LIBFASTIPC_H */
