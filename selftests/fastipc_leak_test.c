// SPDX-License-Identifier: GPL-2.0
/*
 * What the module copies back to user space: every out field is written
 * (garbage the caller left there never survives), reserved fields stay zero,
 * and no value looks like a kernel address.
 */
#include "fastipc_util.h"

#include "kselftest_harness.h"

#define GARBAGE		0xa5

/* x86-64 kernel addresses live in the top half of the address space. */
static bool looks_like_kernel_address(uint64_t v)
{
	return v >= 0xffff800000000000ULL;
}

FIXTURE(out) {
	struct fipc_ep ep;
	struct fipc_client c;
};

FIXTURE_SETUP(out)
{
	ASSERT_EQ(0, fipc_ep_open(&self->ep, NULL, 0, 64, 2));
	ASSERT_EQ(0, fipc_client_open(&self->c, self->ep.fd, NULL, 64));
}

FIXTURE_TEARDOWN(out)
{
	fipc_client_close(&self->c);
	fipc_ep_close(&self->ep);
}

TEST_F(out, serve_overwrites_every_out_field)
{
	struct fastipc_serve s;

	ASSERT_EQ(0, fipc_send(self->c.fd, 0, 3, "abc", 3));
	/* Garbage in every out field; the in fields say: receive. */
	memset(&s, GARBAGE, sizeof(s));
	s.flags = FASTIPC_SERVE_RECV;
	s.reply_status = 0;
	s.reply_token = 0;
	s.reply_addr = 0;
	s.reply_len = 0;
	s.fds_addr = 0;
	s.nfds = 0;
	s.fds_cap = 0;
	ASSERT_EQ(0, fipc_ioctl(self->ep.fd, FASTIPC_IOC_SERVE, &s));
	EXPECT_EQ(FASTIPC_MSG_ONEWAY, s.msg_flags);
	EXPECT_EQ(3, s.opcode);
	EXPECT_EQ(3, s.len);
	EXPECT_EQ((uint32_t)getpid(), s.pid);
	EXPECT_EQ(geteuid(), s.uid);
	EXPECT_EQ(getegid(), s.gid);
	EXPECT_EQ((uint32_t)getpid(), s.caller_pid);
	EXPECT_EQ(geteuid(), s.caller_uid);
	EXPECT_EQ(getegid(), s.caller_gid);
	EXPECT_GE(s.offset, self->ep.pool_off);
	EXPECT_LT(s.offset, self->ep.pool_len);
	EXPECT_FALSE(looks_like_kernel_address(s.token));
	EXPECT_EQ(0, s.nfds);
	EXPECT_EQ(0, s.fds_addr);
	EXPECT_EQ(0, s.fds_cap);

	/* A reply alone receives nothing: every out field comes back zero. */
	s.flags = FASTIPC_SERVE_REPLY;
	s.reply_token = s.token;
	s.msg_flags = s.opcode = s.len = s.pid = s.uid = s.gid = 0xa5a5a5a5;
	s.caller_pid = s.caller_uid = s.caller_gid = 0xa5a5a5a5;
	s.token = s.offset = 0xa5a5a5a5a5a5a5a5ULL;
	ASSERT_EQ(0, fipc_ioctl(self->ep.fd, FASTIPC_IOC_SERVE, &s));
	EXPECT_EQ(0, s.msg_flags);
	EXPECT_EQ(0, s.token);
	EXPECT_EQ(0, s.offset);
	EXPECT_EQ(0, s.opcode);
	EXPECT_EQ(0, s.len);
	EXPECT_EQ(0, s.pid);
	EXPECT_EQ(0, s.uid);
	EXPECT_EQ(0, s.gid);
	EXPECT_EQ(0, s.caller_pid);
	EXPECT_EQ(0, s.caller_uid);
	EXPECT_EQ(0, s.caller_gid);
}

TEST_F(out, call_overwrites_status_and_reply_length)
{
	struct fastipc_call call = fipc_call_args(&self->c, 1, "x", 1, 0);
	struct fastipc_serve msg;
	struct fipc_async a;

	call.status = (int32_t)0xa5a5a5a5;
	call.reply_len = 0xa5a5a5a5;
	call.reply_nfds = 0xa5a5a5a5;
	ASSERT_EQ(0, fipc_async_start(&a, self->c.fd, &call));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	EXPECT_FALSE(looks_like_kernel_address(msg.token));
	ASSERT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));
	ASSERT_EQ(0, fipc_async_join(&a));
	EXPECT_EQ(0, a.call.status);
	EXPECT_EQ(0, a.call.reply_len);
	EXPECT_EQ(0, a.call.nfds);
	EXPECT_EQ(0, a.call.fds_addr);
	EXPECT_EQ(0, a.call.fds_cap);
	EXPECT_EQ(0, a.call.reply_nfds);
}

TEST(version_and_register_write_only_their_out_fields)
{
	struct fastipc_buf_register reg;
	struct fastipc_version ver;
	void *mem = fipc_map(4096);
	int fd = fipc_open();

	ASSERT_LE(0, fd);
	ASSERT_NE(NULL, mem);
	memset(&ver, 0, sizeof(ver));
	ver.abi_version = 0;
	ASSERT_EQ(0, fipc_ioctl(fd, FASTIPC_IOC_VERSION, &ver));
	EXPECT_EQ(0, ver.reserved[0]);
	EXPECT_EQ(0, ver.reserved[1]);
	EXPECT_EQ(0, ver.features & ~FASTIPC_F_ALL);

	memset(&reg, 0, sizeof(reg));
	reg.id = 0xa5a5a5a5;
	reg.addr = (uintptr_t)mem;
	reg.len = 4096;
	ASSERT_EQ(0, fipc_ioctl(fd, FASTIPC_IOC_BUF_REGISTER, &reg));
	EXPECT_LT(reg.id, FASTIPC_MAX_BUFS);
	EXPECT_EQ(0, reg.reserved[0]);
	EXPECT_EQ(0, reg.reserved[1]);
	close(fd);
	munmap(mem, 4096);
}

TEST_HARNESS_MAIN
