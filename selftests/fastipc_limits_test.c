// SPDX-License-Identifier: GPL-2.0
/*
 * Per-user limits: endpoints a user may own and one-way messages a user may
 * have waiting, in all and at one endpoint, set through the module
 * parameters, hold for that user and leave other users and other endpoints
 * alone. Only CAP_SYS_ADMIN changes them; spin_ns is fixed at load.
 */
#include "fastipc_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <linux/capability.h>

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
	if (n < 0)
		n = -errno;
	close(fd);
	return n == len ? 0 : n < 0 ? n : -EIO;
}

/* The limits a test may change, restored by the fixture's teardown. */
static const char * const limit_params[] = {
	"max_endpoints_per_user",
	"max_oneway_per_user",
	"max_oneway_per_sender",
};

#define NR_LIMITS	(sizeof(limit_params) / sizeof(limit_params[0]))

FIXTURE(limits) {
	int saved[NR_LIMITS];
};

FIXTURE_SETUP(limits)
{
	size_t i;

	if (geteuid() != 0)
		SKIP(return, "needs root to set the limits");
	for (i = 0; i < NR_LIMITS; i++)
		self->saved[i] = read_param(limit_params[i]);
	ASSERT_LT(0, self->saved[0]);
	ASSERT_LT(0, self->saved[1]);
}

FIXTURE_TEARDOWN(limits)
{
	size_t i;

	if (geteuid() != 0)
		return;
	for (i = 0; i < NR_LIMITS; i++)
		if (self->saved[i] > 0)
			write_param(limit_params[i], self->saved[i]);
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
		CHILD_CHECK(fipc_send(c.fd, 0, 3, "c", 1) == -EDQUOT);
		CHILD_CHECK(write(pipefd[1], "k", 1) == 1);
		/* Waits until the parent releases one of the two. */
		CHILD_CHECK(fipc_send(c.fd, FASTIPC_SEND_WAIT, 4, "d", 1) == 0);
		_exit(0);
	}
	close(pipefd[1]);
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
}

/*
 * A user whose messages wait at others' endpoints up to its quota still
 * reaches an endpoint of its own (a server waking its own threads).
 */
TEST_F(limits, a_users_own_endpoint_is_outside_its_quota_across_endpoints)
{
	struct fastipc_serve msg;
	struct fipc_ep other;
	pid_t pid;

	ASSERT_EQ(0, write_param("max_oneway_per_user", 2));
	ASSERT_EQ(0, fipc_ep_open(&other, NULL, 0, 64, 16));
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct fipc_client c, self_c;
		struct fipc_ep own;
		int i;

		CHILD_CHECK(fipc_drop_privs(FIPC_NOBODY, FIPC_NOBODY) == 0);
		CHILD_CHECK(fipc_client_open(&c, other.fd, NULL, 64) == 0);
		CHILD_CHECK(fipc_send(c.fd, 0, 1, NULL, 0) == 0);
		CHILD_CHECK(fipc_send(c.fd, 0, 2, NULL, 0) == 0);
		CHILD_CHECK(fipc_send(c.fd, 0, 3, NULL, 0) == -EDQUOT);
		CHILD_CHECK(fipc_ep_open(&own, NULL, 0, 64, 16) == 0);
		CHILD_CHECK(fipc_client_open(&self_c, own.fd, NULL, 64) == 0);
		/* Its own endpoint's share of one-way slots, 8, all usable. */
		for (i = 0; i < 8; i++)
			CHILD_CHECK(fipc_send(self_c.fd, 0, 10 + i, NULL, 0) == 0);
		CHILD_CHECK(fipc_send(self_c.fd, 0, 18, NULL, 0) == -EAGAIN);
		CHILD_CHECK(fipc_recv(own.fd, &msg) == 0 && msg.opcode == 10);
		/* Still at its quota elsewhere. */
		CHILD_CHECK(fipc_send(c.fd, 0, 3, NULL, 0) == -EDQUOT);
		_exit(0);
	}
	EXPECT_EQ(0, fipc_reap(pid));
	fipc_ep_close(&other);
}

/* An endpoint of nobody's, for this (root) process to send to. */
static int ep_open_as_nobody(struct fipc_ep *ep, uint32_t slot_size, uint32_t nslots)
{
	int ret;

	if (seteuid(FIPC_NOBODY))
		return -errno;
	ret = fipc_ep_open(ep, NULL, 0, slot_size, nslots);
	if (seteuid(0))
		return -errno;
	return ret;
}

TEST_F(limits, messages_of_a_closed_endpoint_no_longer_count)
{
	struct fipc_client c;
	struct fipc_ep ep;
	int i;

	ASSERT_EQ(0, write_param("max_oneway_per_user", 2));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, ep_open_as_nobody(&ep, 64, 8));
		ASSERT_EQ(0, fipc_client_open(&c, ep.fd, NULL, 64));
		EXPECT_EQ(0, fipc_send(c.fd, 0, 1, NULL, 0));
		EXPECT_EQ(0, fipc_send(c.fd, 0, 2, NULL, 0));
		EXPECT_EQ(-EDQUOT, fipc_send(c.fd, 0, 3, NULL, 0));
		fipc_ep_close(&ep);
		fipc_client_close(&c);
	}
}

/* Sends one-way messages to @fd until one fails: how many went, and the error. */
static int send_until_refused(int fd, int max, int *err)
{
	int n;

	for (n = 0; n < max; n++) {
		*err = fipc_send(fd, 0, n, NULL, 0);
		if (*err)
			break;
	}
	return n;
}

/* Receives and releases every one-way message waiting at @fd: how many. */
static int drain(int fd)
{
	struct fastipc_serve msg;
	int n = 0;

	while (!fipc_recv_nonblock(fd, &msg) && !fipc_reply(fd, msg.token, 0, NULL, 0))
		n++;
	return n;
}

TEST_F(limits, a_silent_endpoint_holds_only_its_share_of_a_senders_quota)
{
	struct fipc_ep a, b;
	pid_t pid;

	ASSERT_EQ(0, write_param("max_oneway_per_user", 12));
	EXPECT_EQ(0, write_param("max_oneway_per_sender", 8));
	/* Room for 16 one-way messages at each: the quotas run out first. */
	ASSERT_EQ(0, fipc_ep_open(&a, NULL, 0, 64, 32));
	ASSERT_EQ(0, fipc_ep_open(&b, NULL, 0, 64, 32));
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct fipc_client ca, cb;
		int n, err, err_b;

		CHILD_CHECK(fipc_drop_privs(FIPC_NOBODY, FIPC_NOBODY) == 0);
		CHILD_CHECK(fipc_client_open(&ca, a.fd, NULL, 64) == 0);
		CHILD_CHECK(fipc_client_open(&cb, b.fd, NULL, 64) == 0);
		/* A never receives. */
		n = send_until_refused(ca.fd, 32, &err);
		err_b = fipc_send(cb.fd, 0, 100, NULL, 0);
		if (err_b || n != 8 || err != -EDQUOT)
			fprintf(stderr, "# %d sent to A, then %d; B: %d\n", n, err, err_b);
		/* A holds its share of the sender's quota and no more: B is reachable. */
		CHILD_CHECK(err_b == 0);
		CHILD_CHECK(n == 8 && err == -EDQUOT);
		/* 9 of 12 used: three more anywhere, then the user's own cap. */
		n = send_until_refused(cb.fd, 32, &err);
		CHILD_CHECK(n == 3 && err == -EDQUOT);
		_exit(0);
	}
	EXPECT_EQ(0, fipc_reap(pid));
	EXPECT_EQ(4, drain(b.fd));
	EXPECT_EQ(8, drain(a.fd));
	fipc_ep_close(&a);
	fipc_ep_close(&b);
}

TEST_F(limits, a_full_endpoint_gives_eagain_an_exhausted_quota_edquot)
{
	struct fipc_client c;
	struct fipc_ep a;
	pid_t pid;
	int n, err;

	ASSERT_EQ(0, write_param("max_oneway_per_user", 12));
	EXPECT_EQ(0, write_param("max_oneway_per_sender", 8));
	/* Four one-way slots: the endpoint fills before either quota. */
	ASSERT_EQ(0, fipc_ep_open(&a, NULL, 0, 64, 8));
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct fipc_client ca;

		CHILD_CHECK(fipc_drop_privs(FIPC_NOBODY, FIPC_NOBODY) == 0);
		CHILD_CHECK(fipc_client_open(&ca, a.fd, NULL, 64) == 0);
		n = send_until_refused(ca.fd, 3, &err);
		CHILD_CHECK(n == 3);
		_exit(0);
	}
	ASSERT_EQ(0, fipc_reap(pid));
	/* Another user fills the rest: the endpoint is full for both. */
	ASSERT_EQ(0, fipc_client_open(&c, a.fd, NULL, 64));
	n = send_until_refused(c.fd, 8, &err);
	EXPECT_EQ(1, n);
	EXPECT_EQ(-EAGAIN, err);
	EXPECT_EQ(4, drain(a.fd));
	/* With room again, this user's own quota at the endpoint runs out first. */
	ASSERT_EQ(0, write_param("max_oneway_per_sender", 2));
	n = send_until_refused(c.fd, 8, &err);
	EXPECT_EQ(2, n);
	EXPECT_EQ(-EDQUOT, err);
	EXPECT_EQ(2, drain(a.fd));
	fipc_client_close(&c);
	fipc_ep_close(&a);
}

/*
 * Two endpoints of root's, @a and @b, and a child that sends to them as
 * nobody under a quota of @quota messages in all: @send runs in the child,
 * which writes to @ready once it is about to wait. Returns the child's pid.
 */
static pid_t fork_sender_to_two(int quota, struct fipc_ep *a, struct fipc_ep *b, int *ready,
				void (*send)(struct fipc_client *ca, struct fipc_client *cb, int ready))
{
	int pipefd[2];
	pid_t pid;

	if (write_param("max_oneway_per_user", quota) || fipc_ep_open(a, NULL, 0, 64, 16) ||
	    fipc_ep_open(b, NULL, 0, 64, 16) || pipe2(pipefd, O_CLOEXEC))
		return -1;
	pid = fipc_fork();
	if (pid == 0) {
		struct fipc_client ca, cb;

		close(pipefd[0]);
		CHILD_CHECK(fipc_drop_privs(FIPC_NOBODY, FIPC_NOBODY) == 0);
		CHILD_CHECK(fipc_client_open(&ca, a->fd, NULL, 64) == 0);
		CHILD_CHECK(fipc_client_open(&cb, b->fd, NULL, 64) == 0);
		/* Only the parent's copies may keep the endpoints open. */
		close(a->fd);
		close(b->fd);
		send(&ca, &cb, pipefd[1]);
		_exit(0);
	}
	/* A child that fails early closes the pipe: no read waits for ever. */
	close(pipefd[1]);
	*ready = pipefd[0];
	return pid;
}

static void wait_for_a_release_elsewhere(struct fipc_client *ca, struct fipc_client *cb,
					 int ready)
{
	CHILD_CHECK(fipc_send(ca->fd, 0, 1, NULL, 0) == 0);
	CHILD_CHECK(fipc_send(cb->fd, 0, 2, NULL, 0) == 0);
	CHILD_CHECK(fipc_send(ca->fd, 0, 3, NULL, 0) == -EDQUOT);
	CHILD_CHECK(write(ready, "k", 1) == 1);
	/* Waits for a message of this user to be released anywhere. */
	CHILD_CHECK(fipc_send(ca->fd, FASTIPC_SEND_WAIT, 4, NULL, 0) == 0);
}

TEST_F(limits, send_wait_for_the_users_quota_ends_when_another_endpoint_releases)
{
	struct fipc_ep a, b;
	int ready;
	pid_t pid;
	char byte;

	pid = fork_sender_to_two(2, &a, &b, &ready, wait_for_a_release_elsewhere);
	ASSERT_LE(0, pid);
	ASSERT_EQ(1, read(ready, &byte, 1));
	ASSERT_EQ(0, fipc_wait_blocked_in_ioctl(pid));
	EXPECT_EQ(1, drain(b.fd));
	EXPECT_EQ(0, fipc_reap(pid));
	EXPECT_EQ(2, drain(a.fd));
	fipc_ep_close(&a);
	fipc_ep_close(&b);
	close(ready);
}

static void wait_for_an_endpoint_that_closes(struct fipc_client *ca, struct fipc_client *cb,
					     int ready)
{
	CHILD_CHECK(fipc_send(cb->fd, 0, 1, NULL, 0) == 0);
	CHILD_CHECK(write(ready, "k", 1) == 1);
	CHILD_CHECK(fipc_send(ca->fd, FASTIPC_SEND_WAIT, 2, NULL, 0) == -EPIPE);
}

TEST_F(limits, send_wait_for_the_users_quota_sees_its_endpoint_close)
{
	struct fipc_ep a, b;
	int ready;
	pid_t pid;
	char byte;

	pid = fork_sender_to_two(1, &a, &b, &ready, wait_for_an_endpoint_that_closes);
	ASSERT_LE(0, pid);
	ASSERT_EQ(1, read(ready, &byte, 1));
	ASSERT_EQ(0, fipc_wait_blocked_in_ioctl(pid));
	fipc_ep_close(&a);
	EXPECT_EQ(0, fipc_reap(pid));
	EXPECT_EQ(1, drain(b.fd));
	fipc_ep_close(&b);
	close(ready);
}

/* Drops @cap from this process's effective, permitted and inheritable sets. */
static int drop_cap(unsigned int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	uint32_t bit = 1U << (cap % 32);

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[cap / 32].effective &= ~bit;
	data[cap / 32].permitted &= ~bit;
	data[cap / 32].inheritable &= ~bit;
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

TEST_F(limits, only_cap_sys_admin_changes_a_limit)
{
	size_t i;
	pid_t pid;

	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Still uid 0, owner of the files, but without CAP_SYS_ADMIN. */
		CHILD_CHECK(prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0) == 0);
		CHILD_CHECK(drop_cap(CAP_SYS_ADMIN) == 0);
		for (i = 0; i < NR_LIMITS; i++) {
			int was = read_param(limit_params[i]);

			CHILD_CHECK(was > 0);
			CHILD_CHECK(write_param(limit_params[i], was + 1) == -EPERM);
			CHILD_CHECK(write_param(limit_params[i], was - 1) == -EPERM);
			CHILD_CHECK(read_param(limit_params[i]) == was);
		}
		_exit(0);
	}
	EXPECT_EQ(0, fipc_reap(pid));
	for (i = 0; i < NR_LIMITS; i++) {
		EXPECT_EQ(0, write_param(limit_params[i], self->saved[i] + 1));
		EXPECT_EQ(self->saved[i] + 1, read_param(limit_params[i]));
		EXPECT_EQ(-EINVAL, write_param(limit_params[i], 0));
		EXPECT_EQ(self->saved[i] + 1, read_param(limit_params[i]));
	}
}

TEST_F(limits, spin_ns_is_at_most_a_millisecond_and_fixed_at_load)
{
	int spin = read_param("spin_ns");
	int fd;

	ASSERT_LE(0, spin);
	EXPECT_GE(1000000, spin);
	/* Not even root may open it for writing. */
	fd = open(PARAMS "spin_ns", O_WRONLY | O_CLOEXEC);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(EACCES, errno);
	if (fd >= 0)
		close(fd);
}

TEST_HARNESS_MAIN
