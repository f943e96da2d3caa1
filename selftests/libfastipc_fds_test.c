// SPDX-License-Identifier: GPL-2.0
/*
 * libfastipc's descriptors: fastipc_call_fds() and fastipc_send_fds(), a
 * handler's msg->fds (closed by the library unless kept) and msg->reply_fds
 * (duplicated, sent with the reply), and the errors apart.
 */
#include "fastipc_util.h"

#include <sys/socket.h>

#include <libfastipc.h>

#include "kselftest_harness.h"

enum {
	OP_WRITE = 1,	/* writes "got" into each descriptor; replies with st->reply_fd */
	OP_KEEP,	/* one-way: keeps its first descriptor in st->kept */
	OP_BAD_REPLY,	/* replies with st->bad_fd, which the device refuses */
};

struct fds_state {
	int reply_fd;
	int bad_fd;
	int kept;
	int kept_ready;		/* eventfd */
	uint32_t nfds;		/* what the last OP_WRITE saw */
};

static int32_t fds_handle(struct fastipc_server *srv, struct fastipc_msg *msg, void *arg)
{
	struct fds_state *st = arg;
	uint32_t i;

	(void)srv;
	switch (msg->opcode) {
	case OP_WRITE:
		st->nfds = msg->nfds;
		for (i = 0; i < msg->nfds; i++)
			if (write(msg->fds[i], "got", 3) != 3)
				return -EIO;
		msg->reply_fds = &st->reply_fd;
		msg->reply_nfds = 1;
		return 0;
	case OP_KEEP:
		if (msg->nfds) {
			st->kept = msg->fds[0];
			msg->fds[0] = -1;
		}
		eventfd_write(st->kept_ready, 1);
		return 0;
	case OP_BAD_REPLY:
		msg->reply_fds = &st->bad_fd;
		msg->reply_nfds = 1;
		return 0;
	}
	return -EOPNOTSUPP;
}

FIXTURE(lib) {
	struct fds_state st;
	struct fastipc_server *srv;
	struct fastipc_client *cl;
	int p[2], q[2], sv[2];
};

FIXTURE_SETUP(lib)
{
	struct fastipc_server_params sp = { .slot_size = 256, .nslots = 8 };
	struct fastipc_client_params cp = { .flags = FASTIPC_CLIENT_NO_SHORT_CIRCUIT };
	unsigned long long features = 0;
	unsigned int abi;
	uint32_t op;
	int fd;

	fd = fastipc_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fastipc_version(fd, &abi, &features));
	close(fd);
	ASSERT_TRUE(features & FASTIPC_F_FDS);

	ASSERT_EQ(0, pipe2(self->p, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(self->q, O_CLOEXEC));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, self->sv));
	memset(&self->st, 0, sizeof(self->st));
	self->st.reply_fd = self->q[1];
	self->st.bad_fd = self->sv[0];
	self->st.kept = -1;
	self->st.kept_ready = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, self->st.kept_ready);
	ASSERT_EQ(0, fastipc_server_create(&sp, &self->srv));
	for (op = OP_WRITE; op <= OP_BAD_REPLY; op++)
		ASSERT_EQ(0, fastipc_server_set_handler(self->srv, op, fds_handle, &self->st));
	ASSERT_EQ(0, fastipc_server_start(self->srv, 1));
	ASSERT_EQ(0, fastipc_client_connect_fd(fastipc_server_fd(self->srv), &cp, &self->cl));
}

FIXTURE_TEARDOWN(lib)
{
	fastipc_client_close(self->cl);
	fastipc_server_destroy(self->srv);
	close(self->p[0]);
	close(self->p[1]);
	close(self->q[0]);
	close(self->q[1]);
	close(self->sv[0]);
	close(self->sv[1]);
	close(self->st.kept_ready);
	if (self->st.kept >= 0)
		close(self->st.kept);
}

TEST_F(lib, a_call_carries_fds_both_ways_and_the_library_closes_the_handlers_copies)
{
	int fds[2] = { self->p[1], self->p[1] }, got[FASTIPC_MAX_FDS];
	struct fastipc_reply rep;
	unsigned int n = 99;
	char buf[8] = { 0 };

	ASSERT_EQ(0, fastipc_call_fds(self->cl, OP_WRITE, "x", 1, fds, 2, &rep, got, &n, 0));
	EXPECT_EQ(0, rep.status);
	EXPECT_EQ(2, self->st.nfds);
	EXPECT_EQ(6, read(self->p[0], buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "gotgot", 6));
	ASSERT_EQ(1, n);
	ASSERT_LE(0, got[0]);
	EXPECT_EQ(FD_CLOEXEC, fcntl(got[0], F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(4, write(got[0], "back", 4));
	EXPECT_EQ(4, read(self->q[0], buf, sizeof(buf)));
	close(got[0]);
	/* The handler's copies are closed: ours is the last writer. */
	close(self->p[1]);
	self->p[1] = -1;
	EXPECT_TRUE(fipc_revents(self->p[0], POLLIN) & POLLHUP);

	/* No room given: the reply's are closed, and counted. */
	ASSERT_EQ(0, fastipc_call_fds(self->cl, OP_WRITE, "x", 1, NULL, 0, &rep, NULL, &n, 0));
	EXPECT_EQ(1, n);
	EXPECT_EQ(0, self->st.nfds);
}

TEST_F(lib, a_handler_keeps_a_descriptor_by_taking_it)
{
	eventfd_t v;

	ASSERT_EQ(0, fastipc_send_fds(self->cl, OP_KEEP, NULL, 0, &self->p[1], 1, 0));
	ASSERT_EQ(0, eventfd_read(self->st.kept_ready, &v));
	ASSERT_LE(0, self->st.kept);
	close(self->p[1]);
	self->p[1] = -1;
	EXPECT_EQ(0, fipc_revents(self->p[0], POLLIN) & POLLHUP);
	EXPECT_EQ(4, write(self->st.kept, "kept", 4));
}

TEST_F(lib, errors_are_told_apart_and_nothing_is_sent)
{
	int fds[FASTIPC_MAX_FDS + 1], closed = dup(0), i;
	struct fastipc_reply rep;

	for (i = 0; i <= FASTIPC_MAX_FDS; i++)
		fds[i] = self->p[1];
	EXPECT_EQ(-E2BIG, fastipc_send_fds(self->cl, OP_KEEP, NULL, 0, fds, FASTIPC_MAX_FDS + 1,
					   0));
	EXPECT_EQ(-E2BIG, fastipc_call_fds(self->cl, OP_WRITE, NULL, 0, fds, FASTIPC_MAX_FDS + 1,
					   &rep, NULL, NULL, 0));
	EXPECT_EQ(-EOPNOTSUPP, fastipc_send_fds(self->cl, OP_KEEP, NULL, 0, &self->sv[0], 1, 0));
	ASSERT_LE(0, closed);
	close(closed);
	EXPECT_EQ(-EBADF, fastipc_call_fds(self->cl, OP_WRITE, NULL, 0, &closed, 1, &rep, NULL,
					   NULL, 0));
	EXPECT_EQ(-EINVAL, fastipc_send_fds(self->cl, OP_KEEP, NULL, 0, fds, 1, 1U << 5));
	/* Nothing reached the handler. */
	EXPECT_EQ(-1, self->st.kept);
	EXPECT_EQ(0, self->st.nfds);
}

TEST_F(lib, a_reply_whose_fds_are_refused_goes_out_with_the_error_as_status)
{
	int got[FASTIPC_MAX_FDS];
	struct fastipc_reply rep;
	unsigned int n = 99;

	ASSERT_EQ(0, fastipc_call_fds(self->cl, OP_BAD_REPLY, NULL, 0, NULL, 0, &rep, got, &n, 0));
	EXPECT_EQ(-EOPNOTSUPP, rep.status);
	EXPECT_EQ(0, n);
	/* The server goes on. */
	ASSERT_EQ(0, fastipc_call_fds(self->cl, OP_WRITE, NULL, 0, NULL, 0, &rep, got, &n, 0));
	EXPECT_EQ(0, rep.status);
	EXPECT_EQ(1, n);
	close(got[0]);
}

TEST_HARNESS_MAIN
