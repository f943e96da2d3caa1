// SPDX-License-Identifier: GPL-2.0
/*
 * The device and its ABI version query: what every other test builds on.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/fastipc.h>

#include "kselftest_harness.h"

FIXTURE(dev) {
	int fd;
};

FIXTURE_SETUP(dev)
{
	self->fd = open("/dev/fastipc", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd) TH_LOG("open /dev/fastipc: %s", strerror(errno));
}

FIXTURE_TEARDOWN(dev)
{
	close(self->fd);
}

TEST_F(dev, version_reports_abi_version)
{
	struct fastipc_version ver;

	memset(&ver, 0, sizeof(ver));
	ASSERT_EQ(0, ioctl(self->fd, FASTIPC_IOC_VERSION, &ver));
	EXPECT_EQ(FASTIPC_ABI_VERSION, ver.abi_version);
	EXPECT_EQ(0, ver.flags);
	EXPECT_EQ(0, ver.reserved[0]);
	EXPECT_EQ(0, ver.reserved[1]);
}

TEST_F(dev, version_rejects_unknown_flags)
{
	struct fastipc_version ver = { .flags = 1 };

	EXPECT_EQ(-1, ioctl(self->fd, FASTIPC_IOC_VERSION, &ver));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(dev, version_rejects_nonzero_reserved)
{
	struct fastipc_version ver = { .reserved = { 0, 1 } };

	EXPECT_EQ(-1, ioctl(self->fd, FASTIPC_IOC_VERSION, &ver));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(dev, version_rejects_bad_pointer)
{
	void *ro = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-1, ioctl(self->fd, FASTIPC_IOC_VERSION, ro));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, FASTIPC_IOC_VERSION, NULL));
	EXPECT_EQ(EFAULT, errno);
	munmap(ro, 4096);
}

TEST_F(dev, unknown_command_is_enotty)
{
	struct fastipc_version ver = { 0 };

	EXPECT_EQ(-1, ioctl(self->fd, _IOWR(FASTIPC_IOCTL_MAGIC, 0x7f, struct fastipc_version), &ver));
	EXPECT_EQ(ENOTTY, errno);
	/* The right number with the wrong size is a different command. */
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR(FASTIPC_IOCTL_MAGIC, 0x00, __u64), &ver));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR('x', 0x00, struct fastipc_version), &ver));
	EXPECT_EQ(ENOTTY, errno);
}

TEST(device_is_not_seekable_or_readable)
{
	char byte;
	int fd = open("/dev/fastipc", O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, read(fd, &byte, 1));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

TEST_HARNESS_MAIN
