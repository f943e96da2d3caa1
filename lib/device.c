// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * Opening the device, asking what it supports, and the small helpers every
 * object is built from.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

int fastipc_open(void)
{
	int fd = open("/dev/fastipc", O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int fastipc_version(int fd, unsigned int *abi_version, unsigned long long *features)
{
	struct fastipc_version ver;

	memset(&ver, 0, sizeof(ver));
	if (ioctl(fd, FASTIPC_IOC_VERSION, &ver) < 0)
		return -errno;
	*abi_version = ver.abi_version;
	if (features)
		*features = ver.features;
	return 0;
}

void *fastipc_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/*
	 * The kernel writes into the parent's pinned pages: a child's copy
	 * would silently never see a reply, so it gets no copy at all.
	 */
	madvise(p, len, MADV_DONTFORK);
	return p;
}

void fastipc_unmap(void *addr, size_t len)
{
	if (addr)
		munmap(addr, len);
}

int fastipc_buf_register(int fd, void *addr, size_t len)
{
	struct fastipc_buf_register reg;
	int ret;

	memset(&reg, 0, sizeof(reg));
	reg.addr = (uintptr_t)addr;
	reg.len = len;
	ret = fastipc_ioctl(fd, FASTIPC_IOC_BUF_REGISTER, &reg);
	return ret ? ret : (int)reg.id;
}

int fastipc_buf_unregister(int fd, uint32_t id)
{
	struct fastipc_buf_unregister unreg;

	memset(&unreg, 0, sizeof(unreg));
	unreg.id = id;
	return fastipc_ioctl(fd, FASTIPC_IOC_BUF_UNREGISTER, &unreg);
}

int fastipc_set_name(__u8 dst[FASTIPC_NAME_MAX], const char *name)
{
	size_t len = strnlen(name, FASTIPC_NAME_MAX);

	/* The kernel checks the characters; only the length is ours to check. */
	if (!len || len >= FASTIPC_NAME_MAX)
		return -EINVAL;
	memset(dst, 0, FASTIPC_NAME_MAX);
	memcpy(dst, name, len);
	return 0;
}
