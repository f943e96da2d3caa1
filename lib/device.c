// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * Opening the device and asking what it supports.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "libfastipc.h"

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
