// SPDX-License-Identifier: GPL-2.0
/*
 * Endpoints and connections: FASTIPC_IOC_EP_CREATE and FASTIPC_IOC_CONNECT,
 * names and their IPC namespace, permission modes, and which role each port
 * needs for every command.
 */
#include "fastipc_util.h"

#include <sys/socket.h>

#include "kselftest_harness.h"

#define POOL_LEN	(64 * 1024)

/* A fresh port with one registered buffer big enough for any small pool. */
FIXTURE(port) {
	int fd;
	int buf;
	uint8_t *mem;
	char name[32];
};

FIXTURE_SETUP(port)
{
	self->fd = fipc_open();
	ASSERT_LE(0, self->fd) TH_LOG("open /dev/fastipc: %s", strerror(-self->fd));
	self->mem = fipc_map(POOL_LEN);
	ASSERT_NE(NULL, self->mem);
	self->buf = fipc_buf_register(self->fd, self->mem, POOL_LEN);
	ASSERT_LE(0, self->buf);
	snprintf(self->name, sizeof(self->name), "fastipc-test.%d", getpid());
}

FIXTURE_TEARDOWN(port)
{
	close(self->fd);
	munmap(self->mem, POOL_LEN);
}

static int create_raw(int fd, struct fastipc_ep_create *ep)
{
	return fipc_ioctl(fd, FASTIPC_IOC_EP_CREATE, ep);
}

/* Sends one message through a new client of @ep_fd (or @name) and receives it. */
static int roundtrip(int ep_fd, int conn_fd, const char *name)
{
	struct fastipc_serve msg;
	int fd = fipc_open();
	int ret;

	if (fd < 0)
		return fd;
	ret = conn_fd >= 0 ? fipc_connect_fd(fd, conn_fd) : fipc_connect_name(fd, name);
	if (!ret)
		ret = fipc_send(fd, 0, 0x1234, "ping", 4);
	close(fd);
	if (ret)
		return ret;
	ret = fipc_recv_nonblock(ep_fd, &msg);
	if (ret)
		return ret;
	if (msg.opcode != 0x1234 || msg.len != 4 || !(msg.msg_flags & FASTIPC_MSG_ONEWAY))
		return -EPROTO;
	return fipc_reply(ep_fd, msg.token, 0, NULL, 0);
}

TEST_F(port, anonymous_endpoint_receives_from_a_client_connected_by_fd)
{
	ASSERT_EQ(0, fipc_ep_create(self->fd, NULL, 0, self->buf, 0, 128, 4));
	EXPECT_EQ(0, roundtrip(self->fd, self->fd, NULL));
}

TEST_F(port, pool_may_start_anywhere_in_the_buffer)
{
	ASSERT_EQ(0, fipc_ep_create(self->fd, NULL, 0, self->buf, POOL_LEN - 3 * 333, 333, 3));
	EXPECT_EQ(0, roundtrip(self->fd, self->fd, NULL));
}

TEST_F(port, second_create_or_connect_on_an_endpoint_is_ebusy)
{
	ASSERT_EQ(0, fipc_ep_create(self->fd, NULL, 0, self->buf, 0, 128, 4));
	EXPECT_EQ(-EBUSY, fipc_ep_create(self->fd, NULL, 0, self->buf, 0, 128, 4));
	EXPECT_EQ(-EBUSY, fipc_ep_create(self->fd, self->name, 0600, self->buf, 0, 128, 4));
	EXPECT_EQ(-EBUSY, fipc_connect_fd(self->fd, self->fd));
	EXPECT_EQ(0, roundtrip(self->fd, self->fd, NULL));
}

TEST_F(port, create_or_connect_on_a_client_is_ebusy)
{
	struct fipc_ep ep;

	ASSERT_EQ(0, fipc_ep_open(&ep, NULL, 0, 128, 2));
	ASSERT_EQ(0, fipc_connect_fd(self->fd, ep.fd));
	EXPECT_EQ(-EBUSY, fipc_connect_fd(self->fd, ep.fd));
	EXPECT_EQ(-EBUSY, fipc_ep_create(self->fd, NULL, 0, self->buf, 0, 128, 4));
	/* Still a working client of the first endpoint. */
	EXPECT_EQ(0, fipc_send(self->fd, 0, 1, NULL, 0));
	EXPECT_EQ(0, fipc_recv_nonblock(ep.fd, NULL));
	fipc_ep_close(&ep);
}

TEST_F(port, create_rejects_unknown_flags_mode_and_reserved)
{
	struct fastipc_ep_create ep = {
		.pool_buf = self->buf, .slot_size = 128, .nslots = 4,
	};

	ep.flags = 1U << 2;
	EXPECT_EQ(-EINVAL, create_raw(self->fd, &ep));
	ep.flags = 0;
	ep.mode = 0600;		/* mode on an unnamed endpoint */
	EXPECT_EQ(-EINVAL, create_raw(self->fd, &ep));
	ep.mode = 0;
	ep.max_reply = FASTIPC_MAX_PAYLOAD + 1;
	EXPECT_EQ(-EINVAL, create_raw(self->fd, &ep));
	ep.max_reply = 0;
	ep.reserved[1] = 1;
	EXPECT_EQ(-EINVAL, create_raw(self->fd, &ep));
	ep.reserved[1] = 0;

	ep.flags = FASTIPC_EP_NAMED;
	fipc_set_name(ep.name, self->name);
	ep.mode = 01666;
	EXPECT_EQ(-EINVAL, create_raw(self->fd, &ep));
	ep.mode = 0x10000 | 0600;
	EXPECT_EQ(-EINVAL, create_raw(self->fd, &ep));

	/* None of that left the port half made. */
	ep.mode = 0600;
	EXPECT_EQ(0, create_raw(self->fd, &ep));
	EXPECT_EQ(0, roundtrip(self->fd, -1, self->name));
}

TEST_F(port, create_rejects_bad_names)
{
	static const char *const bad[] = {
		"", "a/b", "a b", "tab\tname", "caf\xc3\xa9", "semi;colon", "star*", "\x01",
	};
	struct fastipc_ep_create ep = {
		.flags = FASTIPC_EP_NAMED, .mode = 0600,
		.pool_buf = self->buf, .slot_size = 128, .nslots = 4,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		fipc_set_name(ep.name, bad[i]);
		EXPECT_EQ(-EINVAL, create_raw(self->fd, &ep)) TH_LOG("name #%u", i);
	}
	/* No terminating NUL in the 64 bytes. */
	memset(ep.name, 'a', FASTIPC_NAME_MAX);
	EXPECT_EQ(-EINVAL, create_raw(self->fd, &ep));
	/* Not NUL padded after the name. */
	fipc_set_name(ep.name, "ab");
	ep.name[10] = 'c';
	EXPECT_EQ(-EINVAL, create_raw(self->fd, &ep));
	/* A name on an unnamed endpoint. */
	ep.flags = 0;
	ep.mode = 0;
	fipc_set_name(ep.name, self->name);
	EXPECT_EQ(-EINVAL, create_raw(self->fd, &ep));
}

TEST_F(port, create_accepts_longest_name_of_every_allowed_char)
{
	static const char chars[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-";
	char name[FASTIPC_NAME_MAX + 80];
	int fd2 = fipc_open(), id;

	ASSERT_LE(0, fd2);
	/* 63 bytes: a unique prefix, then as many allowed chars as fit. */
	snprintf(name, sizeof(name), "%d.%s", getpid(), chars);
	name[FASTIPC_NAME_MAX - 1] = 0;
	ASSERT_EQ(FASTIPC_NAME_MAX - 1, strlen(name));
	ASSERT_EQ(0, fipc_ep_create(self->fd, name, 0600, self->buf, 0, 128, 4));
	EXPECT_EQ(0, roundtrip(self->fd, -1, name));

	/* And the chars that did not fit, in a second endpoint. */
	snprintf(name, sizeof(name), "%d%s", getpid(), chars + 40);
	id = fipc_buf_register(fd2, self->mem, POOL_LEN);
	ASSERT_LE(0, id);
	ASSERT_EQ(0, fipc_ep_create(fd2, name, 0600, id, 0, 128, 4));
	EXPECT_EQ(0, roundtrip(fd2, -1, name));
	close(fd2);
}

TEST_F(port, create_rejects_bad_pool_geometry)
{
	struct fastipc_ep_create ep = { .pool_buf = self->buf };
	static const struct { uint64_t off; uint32_t slot, n; } bad[] = {
		{ 0, 0, 4 },					/* empty slots */
		{ 0, 128, 0 },					/* no slots */
		{ 0, FASTIPC_MAX_PAYLOAD + 1, 1 },		/* slot too big */
		{ 0, 8, FASTIPC_MAX_SLOTS + 1 },		/* too many slots */
		{ 0, POOL_LEN / 4 + 1, 4 },			/* one byte too long */
		{ 1, POOL_LEN / 4, 4 },				/* shifted one byte out */
		{ POOL_LEN, 1, 1 },				/* starts at the end */
		{ UINT64_MAX - 63, 64, 1 },			/* offset wraps */
		{ 1ULL << 63, 64, 1 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ep.pool_offset = bad[i].off;
		ep.slot_size = bad[i].slot;
		ep.nslots = bad[i].n;
		EXPECT_EQ(-EINVAL, create_raw(self->fd, &ep)) TH_LOG("geometry #%u", i);
	}
	/* Exactly filling the buffer is fine. */
	ep.pool_offset = 0;
	ep.slot_size = POOL_LEN / 4;
	ep.nslots = 4;
	EXPECT_EQ(0, create_raw(self->fd, &ep));
}

TEST_F(port, create_with_most_slots_fits)
{
	ASSERT_EQ(0, fipc_ep_create(self->fd, NULL, 0, self->buf, 0,
				    POOL_LEN / FASTIPC_MAX_SLOTS, FASTIPC_MAX_SLOTS));
	EXPECT_EQ(0, roundtrip(self->fd, self->fd, NULL));
}

TEST_F(port, create_with_unknown_pool_buffer_is_enoent)
{
	int other = fipc_open();
	int id;

	ASSERT_LE(0, other);
	EXPECT_EQ(-ENOENT, fipc_ep_create(self->fd, NULL, 0, (self->buf + 1) % FASTIPC_MAX_BUFS,
					  0, 128, 4));
	/* A buffer registered on another port is not this port's. */
	id = fipc_buf_register(other, self->mem, POOL_LEN);
	ASSERT_LE(0, id);
	if (id != self->buf)
		EXPECT_EQ(-ENOENT, fipc_ep_create(self->fd, NULL, 0, id, 0, 128, 4));
	ASSERT_EQ(0, fipc_buf_unregister(self->fd, self->buf));
	EXPECT_EQ(-ENOENT, fipc_ep_create(self->fd, NULL, 0, self->buf, 0, 128, 4));
	close(other);
}

TEST_F(port, duplicate_name_is_eexist_until_the_first_closes)
{
	struct fipc_ep second;

	ASSERT_EQ(0, fipc_ep_create(self->fd, self->name, 0600, self->buf, 0, 128, 4));
	EXPECT_EQ(-EEXIST, fipc_ep_open(&second, self->name, 0600, 128, 4));
	EXPECT_EQ(-EEXIST, fipc_ep_open(&second, self->name, 0666, 64, 1));
	close(self->fd);
	self->fd = -1;
	ASSERT_EQ(0, fipc_ep_open(&second, self->name, 0600, 128, 4));
	EXPECT_EQ(0, roundtrip(second.fd, -1, self->name));
	fipc_ep_close(&second);
}

TEST_F(port, name_disappears_when_the_last_endpoint_fd_closes)
{
	struct fipc_client c;
	int dup_fd;

	ASSERT_EQ(0, fipc_ep_create(self->fd, self->name, 0600, self->buf, 0, 128, 4));
	ASSERT_EQ(0, fipc_client_open(&c, -1, self->name, 256));
	dup_fd = dup(self->fd);
	ASSERT_LE(0, dup_fd);
	close(self->fd);
	self->fd = -1;
	/* The dup keeps it; a client does not. */
	EXPECT_EQ(0, roundtrip(dup_fd, -1, self->name));
	close(dup_fd);
	EXPECT_EQ(-ENOENT, roundtrip(-1, -1, self->name));
	EXPECT_EQ(-EPIPE, fipc_send(c.fd, 0, 1, NULL, 0));
	EXPECT_EQ(-EPIPE, fipc_call(&c, 1, NULL, 0, 0, NULL));
	fipc_client_close(&c);
}

TEST_F(port, connect_by_name_and_by_fd_reach_the_same_endpoint)
{
	struct fastipc_serve msg;
	struct fipc_client a, b, via;

	ASSERT_EQ(0, fipc_ep_create(self->fd, self->name, 0600, self->buf, 0, 128, 8));
	ASSERT_EQ(0, fipc_client_open(&a, -1, self->name, 64));
	ASSERT_EQ(0, fipc_client_open(&b, self->fd, NULL, 64));
	/* Any port connected to the endpoint reaches it too. */
	ASSERT_EQ(0, fipc_client_open(&via, a.fd, NULL, 64));
	ASSERT_EQ(0, fipc_send(a.fd, 0, 1, NULL, 0));
	ASSERT_EQ(0, fipc_send(b.fd, 0, 2, NULL, 0));
	ASSERT_EQ(0, fipc_send(via.fd, 0, 3, NULL, 0));
	for (uint32_t op = 1; op <= 3; op++) {
		ASSERT_EQ(0, fipc_recv_nonblock(self->fd, &msg));
		EXPECT_EQ(op, msg.opcode);
		EXPECT_EQ(0, fipc_reply(self->fd, msg.token, 0, NULL, 0));
	}
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->fd, &msg));
	fipc_client_close(&a);
	fipc_client_close(&b);
	fipc_client_close(&via);
}

/* CONNECT on a new port to @name (or @ep_fd): 0 with @conn filled, or -errno. */
static int connect_info(int ep_fd, const char *name, struct fastipc_connect *conn)
{
	int fd = fipc_open(), ret;

	if (fd < 0)
		return fd;
	memset(conn, 0, sizeof(*conn));
	if (name) {
		fipc_set_name(conn->name, name);
	} else {
		conn->flags = FASTIPC_CONNECT_FD;
		conn->ep_fd = ep_fd;
	}
	ret = fipc_ioctl(fd, FASTIPC_IOC_CONNECT, conn);
	close(fd);
	return ret;
}

TEST_F(port, connect_reports_the_endpoints_owner_and_limits)
{
	struct fastipc_ep_create ep = {
		.flags = FASTIPC_EP_NAMED | FASTIPC_EP_ACCEPT_FORWARDS, .mode = 0666,
		.pool_buf = self->buf, .slot_size = 128, .nslots = 5, .max_reply = 100,
	};
	struct fastipc_connect conn;

	fipc_set_name(ep.name, self->name);
	ASSERT_EQ(0, create_raw(self->fd, &ep));
	ASSERT_EQ(0, connect_info(-1, self->name, &conn));
	EXPECT_EQ(geteuid(), conn.owner_uid);
	EXPECT_EQ(getegid(), conn.owner_gid);
	EXPECT_EQ(FASTIPC_EP_NAMED | FASTIPC_EP_ACCEPT_FORWARDS, conn.ep_flags);
	EXPECT_EQ(128, conn.slot_size);
	EXPECT_EQ(5, conn.nslots);
	EXPECT_EQ(3, conn.max_oneway);
	EXPECT_EQ(100, conn.max_reply);
	EXPECT_EQ(0, conn.reserved0);
	EXPECT_EQ(0, conn.reserved[0]);
	EXPECT_EQ(0, conn.reserved[1]);
	/* By fd, the same. */
	ASSERT_EQ(0, connect_info(self->fd, NULL, &conn));
	EXPECT_EQ(geteuid(), conn.owner_uid);
	EXPECT_EQ(100, conn.max_reply);
}

/*
 * An impostor: a user takes a name first. The client cannot tell it by the
 * name, but CONNECT names the owner, and an anonymous endpoint has one too.
 */
TEST_F(port, connect_names_the_owner_of_an_endpoint_another_user_created)
{
	struct fastipc_connect conn;
	int ready[2], hold[2];
	char c;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root to switch users");
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(hold));
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct fipc_ep ep;

		close(ready[0]);
		close(hold[1]);
		CHILD_CHECK(fipc_drop_privs(FIPC_NOBODY, FIPC_NOBODY) == 0);
		CHILD_CHECK(fipc_ep_open_flags(&ep, 0, 0, self->name, 0666, 64, 2) == 0);
		CHILD_CHECK(write(ready[1], "r", 1) == 1);
		/* Keep the endpoint until the parent has looked. */
		CHILD_CHECK(read(hold[0], &c, 1) == 0);
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_EQ(0, connect_info(-1, self->name, &conn));
	EXPECT_EQ(FIPC_NOBODY, conn.owner_uid);
	EXPECT_EQ(FIPC_NOBODY, conn.owner_gid);
	EXPECT_EQ(FASTIPC_EP_NAMED, conn.ep_flags);
	EXPECT_EQ(64, conn.slot_size);
	EXPECT_EQ(FASTIPC_MAX_PAYLOAD, conn.max_reply);
	close(hold[1]);
	close(ready[0]);
	EXPECT_EQ(0, fipc_reap(pid));
}

TEST_F(port, connect_rejects_a_nonzero_reserved_field)
{
	struct fastipc_connect conn = { .flags = FASTIPC_CONNECT_FD, .reserved0 = 1 };
	int fd = fipc_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fipc_ep_create(self->fd, NULL, 0, self->buf, 0, 128, 2));
	conn.ep_fd = self->fd;
	EXPECT_EQ(-EINVAL, fipc_ioctl(fd, FASTIPC_IOC_CONNECT, &conn));
	conn.reserved0 = 0;
	EXPECT_EQ(0, fipc_ioctl(fd, FASTIPC_IOC_CONNECT, &conn));
	close(fd);
}

TEST_F(port, connect_to_unknown_name_is_enoent)
{
	EXPECT_EQ(-ENOENT, fipc_connect_name(self->fd, self->name));
	/* The failure left the port unconfigured. */
	EXPECT_EQ(0, fipc_ep_create(self->fd, NULL, 0, self->buf, 0, 128, 4));
}

TEST_F(port, connect_rejects_wrong_fd_types_and_fields)
{
	struct fastipc_connect conn = { .flags = FASTIPC_CONNECT_FD };
	int pipefd[2], plain = fipc_open(), other = fipc_open();

	ASSERT_LE(0, plain);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, pipe2(pipefd, O_CLOEXEC));

	EXPECT_EQ(-EBADF, fipc_connect_fd(self->fd, -1));
	EXPECT_EQ(-EBADF, fipc_connect_fd(self->fd, 1000000));
	EXPECT_EQ(-EINVAL, fipc_connect_fd(self->fd, pipefd[0]));
	/* A port that is neither endpoint nor client reaches nothing. */
	EXPECT_EQ(-EINVAL, fipc_connect_fd(self->fd, plain));
	EXPECT_EQ(-EINVAL, fipc_connect_fd(self->fd, self->fd));

	ASSERT_EQ(0, fipc_ep_create(other, NULL, 0, fipc_buf_register(other, self->mem, 4096),
				    0, 128, 4));
	conn.ep_fd = other;
	conn.flags = 1U << 1;
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->fd, FASTIPC_IOC_CONNECT, &conn));
	conn.flags = 0;		/* ep_fd set without FASTIPC_CONNECT_FD */
	fipc_set_name(conn.name, "x");
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->fd, FASTIPC_IOC_CONNECT, &conn));
	conn.flags = FASTIPC_CONNECT_FD;	/* name set with it */
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->fd, FASTIPC_IOC_CONNECT, &conn));
	fipc_set_name(conn.name, NULL);
	conn.reserved[0] = 1;
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->fd, FASTIPC_IOC_CONNECT, &conn));
	conn.reserved[0] = 0;
	EXPECT_EQ(0, fipc_ioctl(self->fd, FASTIPC_IOC_CONNECT, &conn));

	close(pipefd[0]);
	close(pipefd[1]);
	close(plain);
	close(other);
}

TEST_F(port, connect_through_a_client_of_a_closed_endpoint_is_epipe)
{
	struct fipc_client c;
	struct fipc_ep ep;

	ASSERT_EQ(0, fipc_ep_open(&ep, NULL, 0, 128, 2));
	ASSERT_EQ(0, fipc_client_open(&c, ep.fd, NULL, 64));
	fipc_ep_close(&ep);
	EXPECT_EQ(-EPIPE, fipc_connect_fd(self->fd, c.fd));
	fipc_client_close(&c);
}

TEST_F(port, anonymous_endpoint_fd_passed_over_scm_rights_can_be_connected)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr mh = { 0 };
	struct fastipc_serve msg;
	struct cmsghdr *cm;
	struct iovec iov;
	int sv[2], fd, port;
	char byte = 0;
	pid_t pid;

	ASSERT_EQ(0, fipc_ep_create(self->fd, NULL, 0, self->buf, 0, 128, 4));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(self->fd);
		iov.iov_base = &byte;
		iov.iov_len = 1;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		CHILD_CHECK(recvmsg(sv[1], &mh, 0) == 1);
		cm = CMSG_FIRSTHDR(&mh);
		CHILD_CHECK(cm && cm->cmsg_type == SCM_RIGHTS);
		memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
		/* The passed fd is the endpoint itself: it cannot send... */
		CHILD_CHECK(fipc_send(fd, 0, 1, NULL, 0) == -EBADFD);
		/* ...but a new port connects through it. */
		port = fipc_open();
		CHILD_CHECK(port >= 0);
		CHILD_CHECK(fipc_connect_fd(port, fd) == 0);
		CHILD_CHECK(fipc_send(port, 0, 0x5c, "scm", 3) == 0);
		_exit(0);
	}
	iov.iov_base = &byte;
	iov.iov_len = 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &self->fd, sizeof(int));
	ASSERT_EQ(1, sendmsg(sv[0], &mh, 0));
	EXPECT_EQ(0, fipc_reap(pid));
	ASSERT_EQ(0, fipc_recv_nonblock(self->fd, &msg));
	EXPECT_EQ(0x5c, msg.opcode);
	EXPECT_EQ(3, msg.len);
	EXPECT_EQ(0, memcmp(self->mem + msg.offset, "scm", 3));
	EXPECT_EQ(0, fipc_reply(self->fd, msg.token, 0, NULL, 0));
	close(sv[0]);
	close(sv[1]);
}

/*
 * In a child running as @uid/@gid: open a port and connect to @name. Returns
 * 0 or -errno from the connect, or -EPROTO if the child could not get there.
 */
static int connect_as(const char *name, uid_t uid, gid_t gid)
{
	pid_t pid = fipc_fork();
	int fd, ret;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (fipc_drop_privs(uid, gid))
			_exit(255);
		fd = fipc_open();
		if (fd < 0)
			_exit(254);
		ret = fipc_connect_name(fd, name);
		if (!ret)
			ret = fipc_send(fd, 0, uid, NULL, 0) ? -EPROTO : 0;
		_exit(-ret);
	}
	ret = fipc_reap(pid);
	return ret >= 200 || ret < 0 ? -EPROTO : -ret;
}

/* Receives and releases the message connect_as() sent after connecting. */
static int drain(int ep_fd)
{
	struct fastipc_serve msg;
	int ret = fipc_recv_nonblock(ep_fd, &msg);

	return ret ? ret : fipc_reply(ep_fd, msg.token, 0, NULL, 0);
}

TEST_F(port, mode_0600_denies_and_0666_allows_another_user)
{
	struct fipc_ep open_ep;
	char open_name[FASTIPC_NAME_MAX];

	if (geteuid() != 0)
		SKIP(return, "needs root to switch users");
	snprintf(open_name, sizeof(open_name), "%s.open", self->name);
	ASSERT_EQ(0, fipc_ep_create(self->fd, self->name, 0600, self->buf, 0, 128, 4));
	ASSERT_EQ(0, fipc_ep_open(&open_ep, open_name, 0666, 128, 4));

	EXPECT_EQ(-EACCES, connect_as(self->name, FIPC_NOBODY, FIPC_NOBODY));
	EXPECT_EQ(-EAGAIN, drain(self->fd));
	EXPECT_EQ(0, connect_as(open_name, FIPC_NOBODY, FIPC_NOBODY));
	EXPECT_EQ(0, drain(open_ep.fd));
	/* The owner itself, root here, gets in. */
	EXPECT_EQ(0, connect_as(self->name, 0, 0));
	EXPECT_EQ(0, drain(self->fd));
	fipc_ep_close(&open_ep);
}

TEST_F(port, mode_checks_the_class_the_caller_falls_in)
{
	char name2[FASTIPC_NAME_MAX], name3[FASTIPC_NAME_MAX];
	struct fipc_ep ep2, ep3;

	if (geteuid() != 0)
		SKIP(return, "needs root to switch users");
	snprintf(name2, sizeof(name2), "%s.0606", self->name);
	snprintf(name3, sizeof(name3), "%s.0620", self->name);
	/* Owned by root:root. */
	ASSERT_EQ(0, fipc_ep_create(self->fd, self->name, 0660, self->buf, 0, 128, 4));
	ASSERT_EQ(0, fipc_ep_open(&ep2, name2, 0606, 128, 4));
	ASSERT_EQ(0, fipc_ep_open(&ep3, name3, 0620, 128, 4));

	/* nobody in group root: the group bits decide. */
	EXPECT_EQ(0, connect_as(self->name, FIPC_NOBODY, 0));
	EXPECT_EQ(0, drain(self->fd));
	EXPECT_EQ(-EACCES, connect_as(name2, FIPC_NOBODY, 0));
	EXPECT_EQ(0, connect_as(name3, FIPC_NOBODY, 0));
	EXPECT_EQ(0, drain(ep3.fd));
	/* nobody:nogroup is "other". */
	EXPECT_EQ(-EACCES, connect_as(self->name, FIPC_NOBODY, FIPC_NOBODY));
	EXPECT_EQ(0, connect_as(name2, FIPC_NOBODY, FIPC_NOBODY));
	EXPECT_EQ(0, drain(ep2.fd));
	EXPECT_EQ(-EACCES, connect_as(name3, FIPC_NOBODY, FIPC_NOBODY));
	EXPECT_EQ(-EAGAIN, drain(self->fd));
	EXPECT_EQ(-EAGAIN, drain(ep3.fd));
	fipc_ep_close(&ep2);
	fipc_ep_close(&ep3);
}

TEST_F(port, owner_without_write_bit_is_denied_but_cap_ipc_owner_is_not)
{
	char names[2][FASTIPC_NAME_MAX];
	int sync_pipe[2], done_pipe[2];
	struct fipc_ep a, b;
	char byte = 0;
	pid_t owner;

	if (geteuid() != 0)
		SKIP(return, "needs root to switch users");
	snprintf(names[0], sizeof(names[0]), "%s.0066", self->name);
	snprintf(names[1], sizeof(names[1]), "%s.0200", self->name);
	ASSERT_EQ(0, pipe2(sync_pipe, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(done_pipe, O_CLOEXEC));
	owner = fipc_fork();
	ASSERT_LE(0, owner);
	if (owner == 0) {
		CHILD_CHECK(fipc_drop_privs(FIPC_NOBODY, FIPC_NOBODY) == 0);
		CHILD_CHECK(fipc_ep_open(&a, names[0], 0066, 128, 4) == 0);
		CHILD_CHECK(fipc_ep_open(&b, names[1], 0200, 128, 4) == 0);
		CHILD_CHECK(write(sync_pipe[1], &byte, 1) == 1);
		CHILD_CHECK(read(done_pipe[0], &byte, 1) == 1);
		/* Nobody may have got into the 0066 endpoint; root into both. */
		CHILD_CHECK(drain(a.fd) == 0);
		CHILD_CHECK(drain(a.fd) == -EAGAIN);
		CHILD_CHECK(drain(b.fd) == 0);
		CHILD_CHECK(drain(b.fd) == 0);
		CHILD_CHECK(drain(b.fd) == -EAGAIN);
		_exit(0);
	}
	ASSERT_EQ(1, read(sync_pipe[0], &byte, 1));
	EXPECT_EQ(-EACCES, connect_as(names[0], FIPC_NOBODY, FIPC_NOBODY));
	EXPECT_EQ(0, connect_as(names[1], FIPC_NOBODY, FIPC_NOBODY));
	/* root is neither owner nor in the group, but has CAP_IPC_OWNER. */
	EXPECT_EQ(0, connect_as(names[0], 0, 0));
	EXPECT_EQ(0, connect_as(names[1], 0, 0));
	ASSERT_EQ(1, write(done_pipe[1], &byte, 1));
	EXPECT_EQ(0, fipc_reap(owner));
	close(sync_pipe[0]);
	close(sync_pipe[1]);
	close(done_pipe[0]);
	close(done_pipe[1]);
}

TEST_F(port, named_endpoint_is_invisible_in_another_ipc_namespace)
{
	struct fipc_ep mine;
	pid_t pid;

	ASSERT_EQ(0, fipc_ep_create(self->fd, self->name, 0666, self->buf, 0, 128, 4));
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (unshare(CLONE_NEWIPC))
			_exit(errno == EPERM || errno == EINVAL ? 4 : 1);
		CHILD_CHECK(roundtrip(-1, -1, self->name) == -ENOENT);
		/* The name is free here, and then visible here. */
		CHILD_CHECK(fipc_ep_open(&mine, self->name, 0600, 128, 4) == 0);
		CHILD_CHECK(roundtrip(mine.fd, -1, self->name) == 0);
		_exit(0);
	}
	ASSERT_NE(4, fipc_reap(pid)) TH_LOG("cannot unshare the IPC namespace");
	/* The parent's name still leads to the parent's endpoint. */
	EXPECT_EQ(0, roundtrip(self->fd, -1, self->name));
}

TEST_F(port, role_misuse_is_ebadfd_or_enotconn)
{
	struct fastipc_call call = { .reply_cap = 16 };
	struct fastipc_serve serve = {
		.flags = FASTIPC_SERVE_RECV | FASTIPC_SERVE_NONBLOCK,
	};
	struct fipc_client c;
	struct fipc_ep ep;

	call.reply_buf = self->buf;
	/* Neither role yet: not connected. */
	EXPECT_EQ(-ENOTCONN, fipc_ioctl(self->fd, FASTIPC_IOC_CALL, &call));
	EXPECT_EQ(-ENOTCONN, fipc_send(self->fd, 0, 1, NULL, 0));

	ASSERT_EQ(0, fipc_ep_open(&ep, NULL, 0, 128, 4));
	/* An endpoint does not call or send. */
	ASSERT_EQ(0, fipc_ep_create(self->fd, NULL, 0, self->buf, 0, 128, 4));
	EXPECT_EQ(-EBADFD, fipc_ioctl(self->fd, FASTIPC_IOC_CALL, &call));
	EXPECT_EQ(-EBADFD, fipc_send(self->fd, 0, 1, NULL, 0));
	EXPECT_EQ(-EAGAIN, fipc_ioctl(self->fd, FASTIPC_IOC_SERVE, &serve));

	/* A client does not serve or forward. */
	ASSERT_EQ(0, fipc_client_open(&c, ep.fd, NULL, 64));
	EXPECT_EQ(-EBADFD, fipc_ioctl(c.fd, FASTIPC_IOC_SERVE, &serve));
	EXPECT_EQ(-EBADFD, fipc_reply(c.fd, 1, 0, NULL, 0));
	EXPECT_EQ(-EBADFD, fipc_forward(c.fd, ep.fd, 1, 0, NULL, 0));
	/* And nothing reached the endpoint. */
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(ep.fd, NULL));
	fipc_client_close(&c);
	fipc_ep_close(&ep);
}

/*
 * The header lists ENOTCONN only for calling and sending; serving and
 * forwarding are an endpoint's commands, which a port without a role may not
 * use: EBADFD, "the port's role does not allow the command".
 */
TEST_F(port, serve_and_forward_on_a_port_without_a_role_are_ebadfd)
{
	struct fastipc_serve serve = {
		.flags = FASTIPC_SERVE_RECV | FASTIPC_SERVE_NONBLOCK,
	};
	struct fipc_ep ep;

	ASSERT_EQ(0, fipc_ep_open(&ep, NULL, 0, 128, 4));
	EXPECT_EQ(-EBADFD, fipc_ioctl(self->fd, FASTIPC_IOC_SERVE, &serve));
	EXPECT_EQ(-EBADFD, fipc_forward(self->fd, ep.fd, 1, 0, NULL, 0));
	fipc_ep_close(&ep);
}

TEST_HARNESS_MAIN
