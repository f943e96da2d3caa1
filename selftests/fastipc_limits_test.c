// SPDX-License-Identifier: GPL-2.0
/*
 * Per-user limits: endpoints a user may own and one-way messages a user may
 * have waiting, set through the module parameters, hold for that user and
 * leave other users alone.
 */
#include "fastipc_util.h"

#include <stdio.h>
#include <stdlib.h>

#include "kselftest_harness.h"

#define PARAMS "/sys/module/fastipc/parameters/"

static int read_param(const char *name)
{
	char path[128], buf[32] = "";
	int fd, n;

	snprintf(path, sizeof(path), PARAMS "%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoi(buf) : -1;
}

static int write_param(const char *name, int value)
{
	char path[128], buf[32];
	int fd, n, len;

	snprintf(path, sizeof(path), PARAMS "%s", name);
	len = snprintf(buf, sizeof(buf), "%d\n", value);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, buf, len);
	close(fd);
	return n == len ? 0 : -EIO;
}

FIXTURE(limits) {
	int saved_endpoints;
	int saved_oneway;
};

FIXTURE_SETUP(limits)
{
	if (geteuid() != 0)
		SKIP(return, "needs root to set the limits");
	self->saved_endpoints = read_param("max_endpoints_per_user");
	self->saved_oneway = read_param("max_oneway_per_user");
	ASSERT_LT(0, self->saved_endpoints);
	ASSERT_LT(0, self->saved_oneway);
}

FIXTURE_TEARDOWN(limits)
{
	if (geteuid() != 0)
		return;
	write_param("max_endpoints_per_user", self->saved_endpoints);
	write_param("max_oneway_per_user", self->saved_oneway);
}

TEST_F(limits, endpoints_per_user_are_limited_and_freed_on_close)
{
	pid_t pid;

	ASSERT_EQ(0, write_param("max_endpoints_per_user", 3));
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct fipc_ep ep[4];
		int i;

		CHILD_CHECK(fipc_drop_privs(FIPC_NOBODY, FIPC_NOBODY) == 0);
		for (i = 0; i < 3; i++)
			CHILD_CHECK(fipc_ep_open(&ep[i], NULL, 0, 64, 1) == 0);
		CHILD_CHECK(fipc_ep_open(&ep[3], NULL, 0, 64, 1) == -ENOSPC);
		fipc_ep_close(&ep[0]);
		CHILD_CHECK(fipc_ep_open(&ep[3], NULL, 0, 64, 1) == 0);
		_exit(0);
	}
	EXPECT_EQ(0, fipc_reap(pid));
}

TEST_F(limits, endpoint_limit_of_one_user_leaves_others_alone)
{
	int ready[2], done[2];
	struct fipc_ep ep;
	pid_t pid;
	char byte;

	ASSERT_EQ(0, write_param("max_endpoints_per_user", 1));
	ASSERT_EQ(0, pipe2(ready, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(done, O_CLOEXEC));
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct fipc_ep mine;

		CHILD_CHECK(fipc_drop_privs(FIPC_NOBODY, FIPC_NOBODY) == 0);
		CHILD_CHECK(fipc_ep_open(&mine, NULL, 0, 64, 1) == 0);
		CHILD_CHECK(write(ready[1], "k", 1) == 1);
		/* Hold the endpoint until the parent has made its own. */
		CHILD_CHECK(read(done[0], &byte, 1) == 1);
		_exit(0);
	}
	ASSERT_EQ(1, read(ready[0], &byte, 1));
	EXPECT_EQ(0, fipc_ep_open(&ep, NULL, 0, 64, 1));
	fipc_ep_close(&ep);
	ASSERT_EQ(1, write(done[1], "k", 1));
	EXPECT_EQ(0, fipc_reap(pid));
	close(ready[0]);
	close(ready[1]);
	close(done[0]);
	close(done[1]);
}

TEST_F(limits, oneway_messages_per_user_are_limited_until_released)
{
	struct fastipc_serve msg;
	struct fipc_ep ep;
	int pipefd[2];
	pid_t pid;
	char byte;

	ASSERT_EQ(0, write_param("max_oneway_per_user", 2));
	ASSERT_EQ(0, fipc_ep_open(&ep, NULL, 0, 64, 16));
	ASSERT_EQ(0, pipe2(pipefd, O_CLOEXEC));
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct fipc_client c;

		CHILD_CHECK(fipc_drop_privs(FIPC_NOBODY, FIPC_NOBODY) == 0);
		CHILD_CHECK(fipc_client_open(&c, ep.fd, NULL, 64) == 0);
		CHILD_CHECK(fipc_send(c.fd, 0, 1, "a", 1) == 0);
		CHILD_CHECK(fipc_send(c.fd, 0, 2, "b", 1) == 0);
		/* The endpoint has room (8 one-way slots); the user has not. */
		CHILD_CHECK(fipc_send(c.fd, 0, 3, "c", 1) == -EAGAIN);
		CHILD_CHECK(write(pipefd[1], "k", 1) == 1);
		/* Waits until the parent releases one of the two. */
		CHILD_CHECK(fipc_send(c.fd, FASTIPC_SEND_WAIT, 4, "d", 1) == 0);
		_exit(0);
	}
	ASSERT_EQ(1, read(pipefd[0], &byte, 1));
	/* Another user (root here) is not limited by nobody's messages. */
	{
		struct fipc_client c;

		ASSERT_EQ(0, fipc_client_open(&c, ep.fd, NULL, 64));
		EXPECT_EQ(0, fipc_send(c.fd, 0, 9, "r", 1));
		fipc_client_close(&c);
	}
	ASSERT_EQ(0, fipc_recv(ep.fd, &msg));
	EXPECT_EQ(1, msg.opcode);
	ASSERT_EQ(0, fipc_reply(ep.fd, msg.token, 0, NULL, 0));
	EXPECT_EQ(0, fipc_reap(pid));
	ASSERT_EQ(0, fipc_recv(ep.fd, &msg));
	EXPECT_EQ(2, msg.opcode);
	ASSERT_EQ(0, fipc_recv(ep.fd, &msg));
	EXPECT_EQ(9, msg.opcode);
	ASSERT_EQ(0, fipc_recv(ep.fd, &msg));
	EXPECT_EQ(4, msg.opcode);
	fipc_ep_close(&ep);
	close(pipefd[0]);
	close(pipefd[1]);
}

TEST_F(limits, messages_of_a_closed_endpoint_no_longer_count)
{
	struct fipc_client c;
	struct fipc_ep ep;
	int i;

	ASSERT_EQ(0, write_param("max_oneway_per_user", 2));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, fipc_ep_open(&ep, NULL, 0, 64, 8));
		ASSERT_EQ(0, fipc_client_open(&c, ep.fd, NULL, 64));
		EXPECT_EQ(0, fipc_send(c.fd, 0, 1, NULL, 0));
		EXPECT_EQ(0, fipc_send(c.fd, 0, 2, NULL, 0));
		EXPECT_EQ(-EAGAIN, fipc_send(c.fd, 0, 3, NULL, 0));
		fipc_ep_close(&ep);
		fipc_client_close(&c);
	}
}

TEST_HARNESS_MAIN
