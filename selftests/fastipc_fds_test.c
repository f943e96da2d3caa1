// SPDX-License-Identifier: GPL-2.0
/*
 * Descriptors carried by calls, replies and one-way messages
 * (FASTIPC_F_FDS): installed only when received, in the receiver; released
 * when the message is cancelled, refused, never received, or its receiver
 * or endpoint dies; RLIMIT_NOFILE and the caps; what may be carried.
 *
 * Whether a file is still referenced is seen through a pipe: the test passes
 * the write end, closes its own copy, and the read end reports POLLHUP once
 * the last reference is gone.
 */
#include "fastipc_util.h"

#include <dirent.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "kselftest_harness.h"

#define SLOT	256
#define NSLOTS	8

static void noop_handler(int sig)
{
	(void)sig;
}

/* How many descriptors this process has open. */
static int count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *d;
	int n = 0;

	if (!dir)
		return -errno;
	while ((d = readdir(dir)))
		if (d->d_name[0] != '.')
			n++;
	closedir(dir);
	/* Less the directory's own. */
	return n - 1;
}

/* Whether the pipe behind read end @rfd has no writer left, without waiting. */
static bool pipe_closed_now(int rfd)
{
	return fipc_revents(rfd, POLLIN) & POLLHUP;
}

/* Waits until the pipe has no writer left; the harness timeout bounds it. */
static bool pipe_closes(int rfd)
{
	struct pollfd pfd = { .fd = rfd, .events = POLLIN };

	while (poll(&pfd, 1, -1) < 0)
		if (errno != EINTR)
			return false;
	return pfd.revents & POLLHUP;
}

static int send_fds(int fd, uint32_t opcode, const int32_t *fds, uint32_t n)
{
	struct fastipc_send s = {
		.flags = FASTIPC_SEND_FDS, .opcode = opcode,
		.nfds = n, .fds_addr = (uintptr_t)fds,
	};

	return fipc_ioctl(fd, FASTIPC_IOC_SEND, &s);
}

/* Receives without waiting, the message's descriptors into @fds (room @cap). */
static int recv_fds(int fd, struct fastipc_serve *msg, int32_t *fds, uint32_t cap,
		    uint32_t flags)
{
	*msg = (struct fastipc_serve){
		.flags = FASTIPC_SERVE_RECV | FASTIPC_SERVE_FDS | flags,
		.fds_addr = (uintptr_t)fds, .fds_cap = cap,
	};
	return fipc_ioctl(fd, FASTIPC_IOC_SERVE, msg);
}

static int reply_fds(int fd, uint64_t token, int32_t status, const int32_t *fds, uint32_t n)
{
	struct fastipc_serve s = {
		.flags = FASTIPC_SERVE_REPLY | FASTIPC_SERVE_FDS, .reply_token = token,
		.reply_status = status, .fds_addr = (uintptr_t)fds, .nfds = n,
	};

	return fipc_ioctl(fd, FASTIPC_IOC_SERVE, &s);
}

/* Call arguments carrying @n descriptors of @fds, whose room takes the reply's. */
static struct fastipc_call call_fds_args(const struct fipc_client *c, int32_t *fds, uint32_t n,
					 uint32_t cap, uint64_t timeout_ns)
{
	struct fastipc_call call = fipc_call_args(c, 1, "req", 3, timeout_ns);

	call.flags = FASTIPC_CALL_FDS;
	call.nfds = n;
	call.fds_cap = cap;
	call.fds_addr = (uintptr_t)fds;
	return call;
}

/* Writes @s into @wfd and checks @rfd reads it back. */
static bool pipe_works(int wfd, int rfd, const char *s)
{
	char buf[32] = { 0 };
	size_t len = strlen(s);

	return write(wfd, s, len) == (ssize_t)len && read(rfd, buf, sizeof(buf)) == (ssize_t)len &&
	       !memcmp(buf, s, len);
}

static void skip_unless_fds(struct __test_metadata *_metadata)
{
	struct fastipc_version ver = { 0 };
	int fd = fipc_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fipc_ioctl(fd, FASTIPC_IOC_VERSION, &ver));
	close(fd);
	/* Not a SKIP: a module without the feature fails the suite. */
	ASSERT_TRUE(ver.features & FASTIPC_F_FDS);
}

FIXTURE(fds) {
	struct fipc_ep ep;
	struct fipc_client c;
	int p[2];
};

FIXTURE_SETUP(fds)
{
	skip_unless_fds(_metadata);
	ASSERT_EQ(0, fipc_ep_open(&self->ep, NULL, 0, SLOT, NSLOTS));
	ASSERT_EQ(0, fipc_client_open(&self->c, self->ep.fd, NULL, SLOT));
	ASSERT_EQ(0, pipe2(self->p, O_CLOEXEC));
}

FIXTURE_TEARDOWN(fds)
{
	fipc_client_close(&self->c);
	fipc_ep_close(&self->ep);
	if (self->p[0] >= 0)
		close(self->p[0]);
	if (self->p[1] >= 0)
		close(self->p[1]);
}

/* Passes the pipe's write end in a one-way message and closes the test's copy. */
static int send_pipe(FIXTURE_DATA(fds) *self, uint32_t opcode)
{
	int32_t fd = self->p[1];
	int ret = send_fds(self->c.fd, opcode, &fd, 1);

	if (!ret) {
		close(self->p[1]);
		self->p[1] = -1;
	}
	return ret;
}

static void close_write_end(FIXTURE_DATA(fds) *self)
{
	close(self->p[1]);
	self->p[1] = -1;
}

TEST_F(fds, oneway_fds_are_installed_in_the_receiver_only_when_it_receives)
{
	char c, buf[8] = { 0 };
	int sync[2], p[2];
	pid_t pid;

	ASSERT_EQ(0, pipe2(sync, O_CLOEXEC));
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct fastipc_serve msg;
		int32_t got[2] = { -1, -1 };
		int before, after;

		close(sync[1]);
		before = count_fds();
		CHILD_CHECK(read(sync[0], &c, 1) == 1);
		/* Sent, not received: nothing new in this table. */
		CHILD_CHECK(count_fds() == before);
		CHILD_CHECK(recv_fds(self->ep.fd, &msg, got, 2, FASTIPC_SERVE_NONBLOCK) == 0);
		after = count_fds();
		CHILD_CHECK(msg.nfds == 1);
		CHILD_CHECK(!(msg.msg_flags & FASTIPC_MSG_FDS_TRUNC));
		CHILD_CHECK(after == before + 1);
		CHILD_CHECK(got[0] >= 0 && got[1] == -1);
		CHILD_CHECK(write(got[0], "hello", 5) == 5);
		CHILD_CHECK(fipc_reply(self->ep.fd, msg.token, 0, NULL, 0) == 0);
		_exit(0);
	}
	close(sync[0]);
	/* Made after the fork: only the message gives the child this pipe. */
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	ASSERT_EQ(0, send_fds(self->c.fd, 7, &p[1], 1));
	close(p[1]);
	ASSERT_EQ(1, write(sync[1], "x", 1));
	EXPECT_EQ(0, fipc_reap(pid));
	EXPECT_EQ(5, read(p[0], buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
	/* The child's copy went with it. */
	EXPECT_TRUE(pipe_closed_now(p[0]));
	close(p[0]);
	close(sync[1]);
}

TEST_F(fds, call_fds_reach_the_server_and_reply_fds_reach_the_caller)
{
	/* One array: the request's descriptor in, the reply's out. */
	int32_t room[2] = { self->p[1], 99 }, got[1] = { -1 }, back[1];
	struct fastipc_call call = call_fds_args(&self->c, room, 1, 2, 0);
	struct fastipc_serve msg;
	struct fipc_async a;
	int q[2];

	ASSERT_EQ(0, pipe2(q, O_CLOEXEC));
	ASSERT_EQ(0, fipc_async_start(&a, self->c.fd, &call));
	ASSERT_EQ(0, fipc_async_wait_blocked(&a));
	ASSERT_EQ(0, recv_fds(self->ep.fd, &msg, got, 1, 0));
	EXPECT_EQ(1, msg.nfds);
	ASSERT_LE(0, got[0]);
	EXPECT_NE(self->p[1], got[0]);
	EXPECT_TRUE(pipe_works(got[0], self->p[0], "request"));
	close(got[0]);

	back[0] = q[1];
	ASSERT_EQ(0, reply_fds(self->ep.fd, msg.token, 5, back, 1));
	close(q[1]);
	ASSERT_EQ(0, fipc_async_join(&a));
	EXPECT_EQ(5, a.call.status);
	EXPECT_EQ(1, a.call.reply_nfds);
	ASSERT_LE(0, room[0]);
	/* Only the first reply_nfds entries are written. */
	EXPECT_EQ(99, room[1]);
	EXPECT_TRUE(pipe_works(room[0], q[0], "reply"));
	close(room[0]);
	EXPECT_TRUE(pipe_closed_now(q[0]));
	close(q[0]);
}

TEST_F(fds, cloexec_is_set_only_when_asked_for)
{
	struct fastipc_serve msg;
	int32_t got[1];

	ASSERT_EQ(0, send_fds(self->c.fd, 1, &self->p[1], 1));
	ASSERT_EQ(0, recv_fds(self->ep.fd, &msg, got, 1, 0));
	ASSERT_LE(0, got[0]);
	EXPECT_EQ(0, fcntl(got[0], F_GETFD) & FD_CLOEXEC);
	close(got[0]);
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));

	ASSERT_EQ(0, send_fds(self->c.fd, 1, &self->p[1], 1));
	ASSERT_EQ(0, recv_fds(self->ep.fd, &msg, got, 1, FASTIPC_SERVE_FDS_CLOEXEC));
	ASSERT_LE(0, got[0]);
	EXPECT_EQ(FD_CLOEXEC, fcntl(got[0], F_GETFD) & FD_CLOEXEC);
	close(got[0]);
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));
}

TEST_F(fds, a_sealed_memfd_arrives_with_its_contents_and_seals)
{
	const unsigned int seals = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
	size_t len = 3 * 4096 + 100;
	struct fastipc_serve msg;
	uint8_t *data, *map;
	int32_t fd, got[1];

	data = malloc(len);
	ASSERT_NE(NULL, data);
	fipc_fill(data, len, 42);
	fd = memfd_create("fastipc-fds", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)len, write(fd, data, len));
	ASSERT_EQ(0, fcntl(fd, F_ADD_SEALS, seals));
	ASSERT_EQ(0, send_fds(self->c.fd, 3, &fd, 1));
	close(fd);

	ASSERT_EQ(0, recv_fds(self->ep.fd, &msg, got, 1, FASTIPC_SERVE_FDS_CLOEXEC));
	EXPECT_EQ(1, msg.nfds);
	ASSERT_LE(0, got[0]);
	EXPECT_EQ((int)seals, fcntl(got[0], F_GET_SEALS));
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, got[0], 0);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(0, memcmp(map, data, len));
	/* Sealed: the receiver cannot change what it was given. */
	EXPECT_EQ(-1, write(got[0], "x", 1));
	EXPECT_EQ(EPERM, errno);
	munmap(map, len);
	close(got[0]);
	free(data);
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));
}

TEST_F(fds, a_passed_port_arrives_as_a_new_client_usable_for_connect)
{
	int32_t ports[2] = { self->ep.fd, self->c.fd }, got[2] = { -1, -1 };
	struct fastipc_serve msg, m2;
	struct fipc_client via;
	int i;

	ASSERT_EQ(0, send_fds(self->c.fd, 4, ports, 2));
	ASSERT_EQ(0, recv_fds(self->ep.fd, &msg, got, 2, FASTIPC_SERVE_FDS_CLOEXEC));
	ASSERT_EQ(2, msg.nfds);
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));
	for (i = 0; i < 2; i++) {
		ASSERT_LE(0, got[i]);
		/* A client, even for the endpoint's own port: it cannot serve. */
		EXPECT_EQ(-EBADFD, fipc_recv_nonblock(got[i], NULL));
		ASSERT_EQ(0, fipc_client_open(&via, got[i], NULL, SLOT)) TH_LOG("port %d", i);
		ASSERT_EQ(0, fipc_send(via.fd, 0, 40 + i, NULL, 0));
		ASSERT_EQ(0, fipc_recv_nonblock(self->ep.fd, &m2));
		EXPECT_EQ(40 + i, (int)m2.opcode);
		EXPECT_EQ(0, fipc_reply(self->ep.fd, m2.token, 0, NULL, 0));
		fipc_client_close(&via);
		/* The received port is a client itself. */
		EXPECT_EQ(0, fipc_send(got[i], 0, 50 + i, NULL, 0));
		ASSERT_EQ(0, fipc_recv_nonblock(self->ep.fd, &m2));
		EXPECT_EQ(50 + i, (int)m2.opcode);
		EXPECT_EQ(0, fipc_reply(self->ep.fd, m2.token, 0, NULL, 0));
		close(got[i]);
	}
	/* A port with no role is refused. */
	ports[0] = fipc_open();
	ASSERT_LE(0, ports[0]);
	EXPECT_EQ(-EOPNOTSUPP, send_fds(self->c.fd, 4, ports, 1));
	close(ports[0]);
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, NULL));
}

TEST_F(fds, files_that_could_hold_files_are_refused_with_eopnotsupp)
{
	struct io_uring_params {
		uint32_t w[30];
	} params;
	int32_t fd[2];
	int sv[2], i, ring;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	fd[0] = sv[0];
	fd[1] = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, fd[1]);
	for (i = 0; i < 2; i++)
		EXPECT_EQ(-EOPNOTSUPP, send_fds(self->c.fd, 1, &fd[i], 1)) TH_LOG("fd %d", i);
	close(fd[1]);
	close(sv[0]);
	close(sv[1]);

	fd[0] = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, fd[0]);
	EXPECT_EQ(-EOPNOTSUPP, send_fds(self->c.fd, 1, fd, 1));
	close(fd[0]);

	/* A device file: /dev/null, like any driver's. */
	fd[0] = open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd[0]);
	EXPECT_EQ(-EOPNOTSUPP, send_fds(self->c.fd, 1, fd, 1));
	close(fd[0]);

	memset(&params, 0, sizeof(params));
	ring = syscall(__NR_io_uring_setup, 1, &params);
	if (ring >= 0) {
		fd[0] = ring;
		EXPECT_EQ(-EOPNOTSUPP, send_fds(self->c.fd, 1, fd, 1));
		close(ring);
	} else {
		TH_LOG("no io_uring here (%s): not tried", strerror(errno));
	}

	/* A good one first: the refusal releases it too. */
	fd[0] = self->p[1];
	fd[1] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd[1]);
	EXPECT_EQ(-EOPNOTSUPP, send_fds(self->c.fd, 1, fd, 2));
	close(fd[1]);
	close_write_end(self);
	EXPECT_TRUE(pipe_closed_now(self->p[0]));
	/* Nothing was sent. */
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, NULL));
}

TEST_F(fds, a_bad_fd_is_ebadf_and_nothing_is_sent)
{
	struct fastipc_call call;
	int32_t fd[2] = { self->p[1], -1 };
	int closed = dup(0);

	ASSERT_LE(0, closed);
	close(closed);
	EXPECT_EQ(-EBADF, send_fds(self->c.fd, 1, fd, 2));
	fd[1] = closed;
	EXPECT_EQ(-EBADF, send_fds(self->c.fd, 1, fd, 2));
	call = call_fds_args(&self->c, fd, 2, 0, 0);
	EXPECT_EQ(-EBADF, fipc_ioctl(self->c.fd, FASTIPC_IOC_CALL, &call));
	/* An array the module cannot read. */
	call = call_fds_args(&self->c, NULL, 1, 0, 0);
	EXPECT_EQ(-EFAULT, fipc_ioctl(self->c.fd, FASTIPC_IOC_CALL, &call));
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, NULL));
	close_write_end(self);
	EXPECT_TRUE(pipe_closed_now(self->p[0]));
}

TEST_F(fds, more_than_the_per_message_cap_is_e2big)
{
	int32_t fds[FASTIPC_MAX_FDS + 1], got[FASTIPC_MAX_FDS];
	struct fastipc_call call;
	struct fastipc_serve msg;
	int i;

	for (i = 0; i <= FASTIPC_MAX_FDS; i++)
		fds[i] = self->p[1];
	EXPECT_EQ(-E2BIG, send_fds(self->c.fd, 1, fds, FASTIPC_MAX_FDS + 1));
	call = call_fds_args(&self->c, fds, FASTIPC_MAX_FDS + 1, 0, 0);
	EXPECT_EQ(-E2BIG, fipc_ioctl(self->c.fd, FASTIPC_IOC_CALL, &call));
	call = call_fds_args(&self->c, fds, 0, FASTIPC_MAX_FDS + 1, 0);
	EXPECT_EQ(-E2BIG, fipc_ioctl(self->c.fd, FASTIPC_IOC_CALL, &call));
	EXPECT_EQ(-E2BIG, recv_fds(self->ep.fd, &msg, got, FASTIPC_MAX_FDS + 1,
				   FASTIPC_SERVE_NONBLOCK));
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, NULL));

	/* The cap itself is fine. */
	ASSERT_EQ(0, send_fds(self->c.fd, 1, fds, FASTIPC_MAX_FDS));
	ASSERT_EQ(0, recv_fds(self->ep.fd, &msg, got, FASTIPC_MAX_FDS, 0));
	EXPECT_EQ(FASTIPC_MAX_FDS, (int)msg.nfds);
	EXPECT_EQ(0, msg.msg_flags & FASTIPC_MSG_FDS_TRUNC);
	for (i = 0; i < FASTIPC_MAX_FDS; i++) {
		EXPECT_LE(0, got[i]);
		close(got[i]);
	}
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));
}

TEST_F(fds, unknown_flags_and_fields_without_their_flag_are_einval)
{
	struct fastipc_call call = call_fds_args(&self->c, NULL, 0, 0, 0);
	struct fastipc_send s = { .flags = FASTIPC_SEND_FDS };
	struct fastipc_serve msg;
	int32_t fd = self->p[1];

	call.flags = FASTIPC_CALL_FDS | (1U << 2);
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->c.fd, FASTIPC_IOC_CALL, &call));
	call.flags = FASTIPC_CALL_FDS_CLOEXEC;
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->c.fd, FASTIPC_IOC_CALL, &call));
	s.flags = FASTIPC_SEND_FDS | (1U << 2);
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->c.fd, FASTIPC_IOC_SEND, &s));
	s.flags = FASTIPC_SEND_FDS;
	s.reserved = 1;
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->c.fd, FASTIPC_IOC_SEND, &s));
	msg = (struct fastipc_serve){ .flags = FASTIPC_SERVE_RECV | FASTIPC_SERVE_FDS_CLOEXEC };
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->ep.fd, FASTIPC_IOC_SERVE, &msg));
	/* A receive alone carries no reply descriptors. */
	msg = (struct fastipc_serve){
		.flags = FASTIPC_SERVE_RECV | FASTIPC_SERVE_FDS | FASTIPC_SERVE_NONBLOCK,
		.nfds = 1, .fds_addr = (uintptr_t)&fd,
	};
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->ep.fd, FASTIPC_IOC_SERVE, &msg));
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, NULL));

	/* A one-way message takes no reply, descriptors included; still held. */
	ASSERT_EQ(0, fipc_send(self->c.fd, 0, 1, NULL, 0));
	ASSERT_EQ(0, fipc_recv_nonblock(self->ep.fd, &msg));
	EXPECT_EQ(-EINVAL, reply_fds(self->ep.fd, msg.token, 0, &fd, 1));
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));
	close_write_end(self);
	EXPECT_TRUE(pipe_closed_now(self->p[0]));
}

TEST_F(fds, fds_beyond_the_receivers_room_are_closed_and_flagged)
{
	int32_t fds[3] = { self->p[1], self->p[1], self->p[1] }, got[3] = { -2, -2, -2 };
	struct fastipc_serve msg;

	ASSERT_EQ(0, send_fds(self->c.fd, 1, fds, 3));
	ASSERT_EQ(0, recv_fds(self->ep.fd, &msg, got, 1, 0));
	EXPECT_EQ(3, msg.nfds);
	EXPECT_EQ(FASTIPC_MSG_FDS_TRUNC, msg.msg_flags & FASTIPC_MSG_FDS_TRUNC);
	EXPECT_LE(0, got[0]);
	EXPECT_EQ(-2, got[1]);
	close(got[0]);
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));

	/* A receiver that did not ask for descriptors gets none. */
	ASSERT_EQ(0, send_fds(self->c.fd, 2, fds, 2));
	ASSERT_EQ(0, fipc_recv_nonblock(self->ep.fd, &msg));
	EXPECT_EQ(2, msg.nfds);
	EXPECT_EQ(FASTIPC_MSG_FDS_TRUNC, msg.msg_flags & FASTIPC_MSG_FDS_TRUNC);
	EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));
	close_write_end(self);
	EXPECT_TRUE(pipe_closed_now(self->p[0]));
}

TEST_F(fds, fds_of_a_call_that_times_out_are_released)
{
	int32_t fd[1] = { self->p[1] };
	struct fastipc_call call = call_fds_args(&self->c, fd, 1, 1, 1000000);

	/* No server: queued, then withdrawn at the deadline. */
	EXPECT_EQ(-ETIMEDOUT, fipc_ioctl(self->c.fd, FASTIPC_IOC_CALL, &call));
	close_write_end(self);
	EXPECT_TRUE(pipe_closed_now(self->p[0]));
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, NULL));
}

TEST_F(fds, fds_of_a_call_interrupted_by_a_signal_are_released)
{
	struct sigaction sa = { .sa_handler = noop_handler };
	int32_t fd[1] = { self->p[1] };
	struct fastipc_call call = call_fds_args(&self->c, fd, 1, 1, 0);
	struct fipc_async a;

	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, fipc_async_start(&a, self->c.fd, &call));
	ASSERT_EQ(0, fipc_async_wait_blocked(&a));
	close_write_end(self);
	EXPECT_FALSE(pipe_closed_now(self->p[0]));
	ASSERT_EQ(0, pthread_kill(a.thread, SIGUSR1));
	EXPECT_EQ(-EINTR, fipc_async_join(&a));
	EXPECT_TRUE(pipe_closed_now(self->p[0]));
	EXPECT_EQ(-EAGAIN, fipc_recv_nonblock(self->ep.fd, NULL));
}

TEST_F(fds, fds_of_a_refused_message_are_released)
{
	int32_t fd[1] = { self->p[1] };
	struct fastipc_send s = {
		.flags = FASTIPC_SEND_FDS, .addr = (uintptr_t)self->c.buf,
		.len = SLOT + 1, .nfds = 1, .fds_addr = (uintptr_t)fd,
	};
	struct fastipc_serve msg;
	uint32_t i;

	/* Too long for a slot. */
	EXPECT_EQ(-EMSGSIZE, fipc_ioctl(self->c.fd, FASTIPC_IOC_SEND, &s));
	/* No room: the one-way share of the slots is full. */
	for (i = 0; i < NSLOTS / 2; i++)
		ASSERT_EQ(0, fipc_send(self->c.fd, 0, i, NULL, 0));
	EXPECT_EQ(-EAGAIN, send_fds(self->c.fd, 9, fd, 1));
	for (i = 0; i < NSLOTS / 2; i++) {
		ASSERT_EQ(0, fipc_recv_nonblock(self->ep.fd, &msg));
		EXPECT_EQ(0, msg.nfds);
		EXPECT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));
	}
	/* A reply to a message nobody holds. */
	EXPECT_EQ(-ENOENT, reply_fds(self->ep.fd, 12345, 0, fd, 1));
	close_write_end(self);
	EXPECT_TRUE(pipe_closed_now(self->p[0]));
}

TEST_F(fds, reply_fds_to_a_caller_that_died_are_released)
{
	struct fastipc_serve msg;
	int32_t fd[1];
	pid_t pid;

	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int32_t room[1];
		struct fastipc_call call = call_fds_args(&self->c, room, 0, 1, 0);

		fipc_ioctl(self->c.fd, FASTIPC_IOC_CALL, &call);
		_exit(1);
	}
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	EXPECT_EQ(128 + SIGKILL, fipc_reap(pid));
	fd[0] = self->p[1];
	EXPECT_EQ(-ECANCELED, reply_fds(self->ep.fd, msg.token, 0, fd, 1));
	close_write_end(self);
	EXPECT_TRUE(pipe_closed_now(self->p[0]));
}

TEST_F(fds, fds_held_by_a_receiver_that_dies_close_with_it)
{
	int sync[2];
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe2(sync, O_CLOEXEC));
	ASSERT_EQ(0, send_pipe(self, 1));
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct fastipc_serve msg;
		int32_t got[1];

		close(self->p[0]);
		CHILD_CHECK(recv_fds(self->ep.fd, &msg, got, 1, 0) == 0);
		CHILD_CHECK(got[0] >= 0);
		CHILD_CHECK(write(sync[1], "r", 1) == 1);
		/* Holds the message and its descriptor until killed. */
		pause();
		_exit(1);
	}
	close(sync[1]);
	ASSERT_EQ(1, read(sync[0], &c, 1));
	close(sync[0]);
	EXPECT_FALSE(pipe_closed_now(self->p[0]));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	EXPECT_EQ(128 + SIGKILL, fipc_reap(pid));
	EXPECT_TRUE(pipe_closes(self->p[0]));
}

TEST_F(fds, fds_queued_in_an_endpoint_that_dies_are_released)
{
	ASSERT_EQ(0, send_pipe(self, 1));
	EXPECT_FALSE(pipe_closed_now(self->p[0]));
	/* Still queued: the message holds it. */
	fipc_ep_close(&self->ep);
	EXPECT_TRUE(pipe_closed_now(self->p[0]));
}

TEST_F(fds, a_full_descriptor_table_truncates_and_the_message_still_arrives)
{
	int32_t fds[2] = { self->p[1], self->p[1] };
	pid_t pid;

	ASSERT_EQ(0, send_fds(self->c.fd, 1, fds, 2));
	ASSERT_EQ(0, send_fds(self->c.fd, 2, fds, 2));
	close_write_end(self);
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct rlimit rl = { 64, 64 };
		struct fastipc_serve msg;
		int32_t got[2];
		int last = -1, fd;

		CHILD_CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
		while ((fd = dup(0)) >= 0)
			last = fd;
		CHILD_CHECK(errno == EMFILE && last >= 0);
		CHILD_CHECK(recv_fds(self->ep.fd, &msg, got, 2, 0) == 0);
		CHILD_CHECK(msg.opcode == 1 && msg.nfds == 2);
		CHILD_CHECK(msg.msg_flags & FASTIPC_MSG_FDS_TRUNC);
		CHILD_CHECK(got[0] == -1 && got[1] == -1);
		CHILD_CHECK(fipc_reply(self->ep.fd, msg.token, 0, NULL, 0) == 0);
		/* Room for one. */
		close(last);
		CHILD_CHECK(recv_fds(self->ep.fd, &msg, got, 2, 0) == 0);
		CHILD_CHECK(msg.opcode == 2 && msg.nfds == 2);
		CHILD_CHECK(msg.msg_flags & FASTIPC_MSG_FDS_TRUNC);
		CHILD_CHECK(got[0] == last && got[1] == -1);
		CHILD_CHECK(fipc_reply(self->ep.fd, msg.token, 0, NULL, 0) == 0);
		_exit(0);
	}
	EXPECT_EQ(0, fipc_reap(pid));
	EXPECT_TRUE(pipe_closes(self->p[0]));
}

TEST_F(fds, forward_carries_no_fds_but_the_final_reply_does)
{
	int32_t room[1] = { self->p[1] }, got[1] = { -1 };
	struct fastipc_call call = call_fds_args(&self->c, room, 1, 1, 0);
	struct fastipc_serve msg, fmsg;
	struct fipc_ep target;
	struct fipc_async a;
	int q[2];

	ASSERT_EQ(0, fipc_ep_open(&target, NULL, 0, SLOT, NSLOTS));
	ASSERT_EQ(0, pipe2(q, O_CLOEXEC));
	ASSERT_EQ(0, fipc_async_start(&a, self->c.fd, &call));
	ASSERT_EQ(0, fipc_async_wait_blocked(&a));
	ASSERT_EQ(0, recv_fds(self->ep.fd, &msg, got, 1, FASTIPC_SERVE_FDS_CLOEXEC));
	EXPECT_EQ(1, msg.nfds);
	ASSERT_LE(0, got[0]);
	ASSERT_EQ(0, fipc_forward(self->ep.fd, target.fd, msg.token, 2, "fw", 2));
	/* The forwarder keeps what it received. */
	EXPECT_TRUE(pipe_works(got[0], self->p[0], "kept"));
	close(got[0]);

	got[0] = -1;
	ASSERT_EQ(0, recv_fds(target.fd, &fmsg, got, 1, FASTIPC_SERVE_NONBLOCK));
	EXPECT_EQ(FASTIPC_MSG_FORWARDED, fmsg.msg_flags);
	EXPECT_EQ(0, fmsg.nfds);
	EXPECT_EQ(-1, got[0]);
	ASSERT_EQ(0, reply_fds(target.fd, fmsg.token, 3, &q[1], 1));
	close(q[1]);
	ASSERT_EQ(0, fipc_async_join(&a));
	EXPECT_EQ(3, a.call.status);
	EXPECT_EQ(1, a.call.reply_nfds);
	ASSERT_LE(0, room[0]);
	EXPECT_TRUE(pipe_works(room[0], q[0], "final"));
	close(room[0]);
	close(q[0]);
	fipc_ep_close(&target);
}

TEST(in_flight_fds_per_user_are_capped_with_etoomanyrefs)
{
	int32_t fds[FASTIPC_MAX_FDS];
	struct fastipc_serve msg;
	struct fipc_client c;
	char buf[32] = { 0 };
	int p[2], i, sent, fd, limit;
	struct fipc_ep ep;

	skip_unless_fds(_metadata);
	fd = open("/sys/module/fastipc/parameters/max_fds_per_user", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_LT(0, read(fd, buf, sizeof(buf) - 1));
	close(fd);
	limit = atoi(buf);
	/* 1024 by default: 64 messages of 16, within the one-way share of 256 slots. */
	if (limit % FASTIPC_MAX_FDS || limit / FASTIPC_MAX_FDS >= 127)
		SKIP(return, "max_fds_per_user is %d, not a multiple of 16 below 2032", limit);
	ASSERT_EQ(0, fipc_ep_open(&ep, NULL, 0, 16, 256));
	ASSERT_EQ(0, fipc_client_open(&c, ep.fd, NULL, 64));
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	for (i = 0; i < FASTIPC_MAX_FDS; i++)
		fds[i] = p[1];
	for (sent = 0; sent < 128; sent++)
		if (send_fds(c.fd, sent, fds, FASTIPC_MAX_FDS))
			break;
	EXPECT_EQ(limit / FASTIPC_MAX_FDS, sent);
	EXPECT_EQ(-ETOOMANYREFS, send_fds(c.fd, 99, fds, 1));
	/* Receiving one frees its share. */
	ASSERT_EQ(0, fipc_recv_nonblock(ep.fd, &msg));
	EXPECT_EQ(FASTIPC_MAX_FDS, (int)msg.nfds);
	EXPECT_EQ(0, send_fds(c.fd, 100, fds, FASTIPC_MAX_FDS));
	EXPECT_EQ(-ETOOMANYREFS, send_fds(c.fd, 101, fds, 1));
	close(p[1]);
	fipc_client_close(&c);
	fipc_ep_close(&ep);
	EXPECT_TRUE(pipe_closed_now(p[0]));
	close(p[0]);
}

TEST_HARNESS_MAIN
