// SPDX-License-Identifier: GPL-2.0
/*
 * Buffer registration: FASTIPC_IOC_BUF_REGISTER and _UNREGISTER, their
 * argument checks, the per-port id limit and RLIMIT_MEMLOCK accounting.
 */
#include "fastipc_util.h"

#include <sys/resource.h>

#include "kselftest_harness.h"

#define PAGE	4096

FIXTURE(port) {
	int fd;
	uint8_t *mem;
	size_t len;
};

FIXTURE_SETUP(port)
{
	self->len = 64 * PAGE;
	self->fd = fipc_open();
	ASSERT_LE(0, self->fd) TH_LOG("open /dev/fastipc: %s", strerror(-self->fd));
	self->mem = fipc_map(self->len);
	ASSERT_NE(NULL, self->mem);
}

FIXTURE_TEARDOWN(port)
{
	close(self->fd);
	munmap(self->mem, self->len);
}

static int reg_raw(int fd, struct fastipc_buf_register *reg)
{
	return fipc_ioctl(fd, FASTIPC_IOC_BUF_REGISTER, reg);
}

TEST_F(port, register_returns_id_in_range_and_unregister_frees_it)
{
	int id = fipc_buf_register(self->fd, self->mem, PAGE);

	ASSERT_LE(0, id);
	EXPECT_GT(FASTIPC_MAX_BUFS, id);
	EXPECT_EQ(0, fipc_buf_unregister(self->fd, id));
	EXPECT_EQ(-ENOENT, fipc_buf_unregister(self->fd, id));
}

TEST_F(port, register_accepts_any_alignment_and_length)
{
	int a = fipc_buf_register(self->fd, self->mem + 3, 1);
	int b = fipc_buf_register(self->fd, self->mem + PAGE - 1, 2 * PAGE + 5);
	int c = fipc_buf_register(self->fd, self->mem + 3, 1);

	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_LE(0, c);
	EXPECT_NE(a, b);
	EXPECT_NE(a, c);
	EXPECT_NE(b, c);
}

TEST_F(port, register_rejects_bad_length_flags_and_reserved)
{
	struct fastipc_buf_register reg;

	memset(&reg, 0, sizeof(reg));
	reg.addr = (uintptr_t)self->mem;
	reg.len = 0;
	EXPECT_EQ(-EINVAL, reg_raw(self->fd, &reg));

	reg.len = (uint64_t)FASTIPC_MAX_BUF_LEN + 1;
	EXPECT_EQ(-EINVAL, reg_raw(self->fd, &reg));

	reg.len = UINT64_MAX;
	EXPECT_EQ(-EINVAL, reg_raw(self->fd, &reg));

	reg.len = PAGE;
	reg.flags = 1;
	EXPECT_EQ(-EINVAL, reg_raw(self->fd, &reg));

	reg.flags = 0;
	reg.reserved[1] = 1;
	EXPECT_EQ(-EINVAL, reg_raw(self->fd, &reg));

	/* None of the failures used up an id. */
	reg.reserved[1] = 0;
	EXPECT_EQ(0, reg_raw(self->fd, &reg));
}

TEST_F(port, register_rejects_inaccessible_memory)
{
	uint8_t *ro = mmap(NULL, 2 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *none = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *hole = fipc_map(3 * PAGE);

	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_NE(MAP_FAILED, none);
	ASSERT_NE(NULL, hole);
	ASSERT_EQ(0, munmap(hole + PAGE, PAGE));

	EXPECT_EQ(-EFAULT, fipc_buf_register(self->fd, NULL, PAGE));
	EXPECT_EQ(-EFAULT, fipc_buf_register(self->fd, ro, PAGE));
	EXPECT_EQ(-EFAULT, fipc_buf_register(self->fd, ro + 100, 10));
	EXPECT_EQ(-EFAULT, fipc_buf_register(self->fd, none, PAGE));
	/* Writable at both ends, unmapped in the middle. */
	EXPECT_EQ(-EFAULT, fipc_buf_register(self->fd, hole, 3 * PAGE));
	EXPECT_EQ(-EFAULT, fipc_buf_register(self->fd, hole + PAGE, PAGE));

	/* A failed registration takes no id. */
	for (int i = 0; i < FASTIPC_MAX_BUFS; i++)
		ASSERT_LE(0, fipc_buf_register(self->fd, hole, PAGE));

	munmap(ro, 2 * PAGE);
	munmap(none, PAGE);
	munmap(hole, PAGE);
	munmap(hole + 2 * PAGE, PAGE);
}

TEST_F(port, register_fails_on_partly_read_only_region)
{
	ASSERT_EQ(0, mprotect(self->mem + PAGE, PAGE, PROT_READ));
	EXPECT_EQ(-EFAULT, fipc_buf_register(self->fd, self->mem, 2 * PAGE));
	EXPECT_EQ(-EFAULT, fipc_buf_register(self->fd, self->mem + PAGE + 1, 1));
	EXPECT_LE(0, fipc_buf_register(self->fd, self->mem, PAGE));
}

TEST_F(port, register_gives_enospc_after_max_bufs)
{
	bool seen[FASTIPC_MAX_BUFS] = { false };
	int i, id;

	for (i = 0; i < FASTIPC_MAX_BUFS; i++) {
		id = fipc_buf_register(self->fd, self->mem + i * PAGE, PAGE);
		ASSERT_LE(0, id);
		ASSERT_GT(FASTIPC_MAX_BUFS, id);
		EXPECT_FALSE(seen[id]);
		seen[id] = true;
	}
	EXPECT_EQ(-ENOSPC, fipc_buf_register(self->fd, self->mem, PAGE));

	/* Freeing one makes room for exactly one more, with that id. */
	ASSERT_EQ(0, fipc_buf_unregister(self->fd, 5));
	id = fipc_buf_register(self->fd, self->mem, PAGE);
	EXPECT_EQ(5, id);
	EXPECT_EQ(-ENOSPC, fipc_buf_register(self->fd, self->mem, PAGE));
}

TEST_F(port, buffer_ids_are_per_port)
{
	int other = fipc_open();
	int i;

	ASSERT_LE(0, other);
	for (i = 0; i < FASTIPC_MAX_BUFS; i++)
		ASSERT_LE(0, fipc_buf_register(self->fd, self->mem, PAGE));
	/* The other port has all its ids, and no access to this port's. */
	EXPECT_EQ(-ENOENT, fipc_buf_unregister(other, 0));
	for (i = 0; i < FASTIPC_MAX_BUFS; i++)
		EXPECT_LE(0, fipc_buf_register(other, self->mem, PAGE));
	EXPECT_EQ(-ENOSPC, fipc_buf_register(other, self->mem, PAGE));
	close(other);
}

TEST_F(port, unregister_unknown_id_is_enoent)
{
	struct fastipc_buf_unregister unreg = { .id = 0 };
	int id;

	EXPECT_EQ(-ENOENT, fipc_buf_unregister(self->fd, 0));
	EXPECT_EQ(-ENOENT, fipc_buf_unregister(self->fd, FASTIPC_MAX_BUFS - 1));
	id = fipc_buf_register(self->fd, self->mem, PAGE);
	ASSERT_LE(0, id);
	EXPECT_EQ(-ENOENT, fipc_buf_unregister(self->fd, (id + 1) % FASTIPC_MAX_BUFS));

	unreg.id = id;
	unreg.flags = 1;
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->fd, FASTIPC_IOC_BUF_UNREGISTER, &unreg));
	unreg.flags = 0;
	unreg.reserved[0] = 1;
	EXPECT_EQ(-EINVAL, fipc_ioctl(self->fd, FASTIPC_IOC_BUF_UNREGISTER, &unreg));
	unreg.reserved[0] = 0;
	EXPECT_EQ(0, fipc_ioctl(self->fd, FASTIPC_IOC_BUF_UNREGISTER, &unreg));
	EXPECT_EQ(-ENOENT, fipc_ioctl(self->fd, FASTIPC_IOC_BUF_UNREGISTER, &unreg));
}

TEST_F(port, registered_memory_may_be_unmapped_by_its_owner)
{
	int id = fipc_buf_register(self->fd, self->mem, 4 * PAGE);

	ASSERT_LE(0, id);
	/* The pages stay pinned by the port; unmapping is the owner's business. */
	ASSERT_EQ(0, munmap(self->mem, 4 * PAGE));
	self->mem = fipc_map(self->len);
	ASSERT_NE(NULL, self->mem);
	EXPECT_EQ(0, fipc_buf_unregister(self->fd, id));
}

/*
 * In a child: limit RLIMIT_MEMLOCK to @limit bytes, become nobody (losing
 * CAP_IPC_LOCK), then check that registrations are charged against it.
 */
static int memlock_child(size_t limit)
{
	struct rlimit rl = { .rlim_cur = limit, .rlim_max = limit };
	uint8_t *mem = fipc_map(64 * PAGE);
	int fd, a, b;

	CHILD_CHECK(mem);
	CHILD_CHECK(setrlimit(RLIMIT_MEMLOCK, &rl) == 0);
	CHILD_CHECK(fipc_drop_privs(FIPC_NOBODY, FIPC_NOBODY) == 0);
	fd = fipc_open();
	CHILD_CHECK(fd >= 0);

	/* Bigger than the whole limit. */
	CHILD_CHECK(fipc_buf_register(fd, mem, 32 * PAGE) == -ENOMEM);
	/* Within it, then over it in total. */
	a = fipc_buf_register(fd, mem, 8 * PAGE);
	CHILD_CHECK(a >= 0);
	CHILD_CHECK(fipc_buf_register(fd, mem + 8 * PAGE, 12 * PAGE) == -ENOMEM);
	b = fipc_buf_register(fd, mem + 8 * PAGE, 4 * PAGE);
	CHILD_CHECK(b >= 0);
	/* Unregistering gives the charge back. */
	CHILD_CHECK(fipc_buf_unregister(fd, a) == 0);
	CHILD_CHECK(fipc_buf_register(fd, mem + 8 * PAGE, 12 * PAGE) >= 0);
	CHILD_CHECK(fipc_buf_register(fd, mem, 8 * PAGE) == -ENOMEM);
	/* So does closing the port. */
	close(fd);
	fd = fipc_open();
	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(fipc_buf_register(fd, mem, 16 * PAGE) >= 0);
	close(fd);
	return 0;
}

TEST(unprivileged_register_over_memlock_limit_is_enomem)
{
	pid_t pid = fipc_fork();

	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(memlock_child(16 * PAGE));
	EXPECT_EQ(0, fipc_reap(pid));
}

TEST(privileged_register_ignores_memlock_limit)
{
	struct rlimit rl = { .rlim_cur = PAGE, .rlim_max = PAGE };
	uint8_t *mem;
	pid_t pid;
	int fd;

	if (geteuid() != 0)
		SKIP(return, "needs root (CAP_IPC_LOCK)");
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		mem = fipc_map(64 * PAGE);
		CHILD_CHECK(mem);
		CHILD_CHECK(setrlimit(RLIMIT_MEMLOCK, &rl) == 0);
		fd = fipc_open();
		CHILD_CHECK(fd >= 0);
		CHILD_CHECK(fipc_buf_register(fd, mem, 64 * PAGE) >= 0);
		_exit(0);
	}
	EXPECT_EQ(0, fipc_reap(pid));
}

TEST(register_on_endpoint_and_client_ports_is_allowed)
{
	struct fipc_ep ep;
	struct fipc_client c;
	uint8_t *mem = fipc_map(PAGE);

	ASSERT_NE(NULL, mem);
	ASSERT_EQ(0, fipc_ep_open(&ep, NULL, 0, 256, 2));
	ASSERT_EQ(0, fipc_client_open(&c, ep.fd, NULL, 256));
	EXPECT_LE(0, fipc_buf_register(ep.fd, mem, PAGE));
	EXPECT_LE(0, fipc_buf_register(c.fd, mem, PAGE));
	fipc_client_close(&c);
	fipc_ep_close(&ep);
	munmap(mem, PAGE);
}

TEST(unregistered_pool_keeps_working_for_the_endpoint)
{
	struct fastipc_serve msg;
	struct fipc_client c;
	struct fipc_ep ep;
	char data[100];

	ASSERT_EQ(0, fipc_ep_open(&ep, NULL, 0, 256, 2));
	ASSERT_EQ(0, fipc_client_open(&c, ep.fd, NULL, 256));
	ASSERT_EQ(0, fipc_buf_unregister(ep.fd, ep.pool_id));
	fipc_fill(data, sizeof(data), 7);
	ASSERT_EQ(0, fipc_send(c.fd, 0, 1, data, sizeof(data)));
	ASSERT_EQ(0, fipc_recv(ep.fd, &msg));
	ASSERT_EQ(sizeof(data), msg.len);
	ASSERT_GE(msg.offset, ep.pool_off);
	ASSERT_LE(msg.offset + msg.len, ep.pool_len);
	EXPECT_TRUE(fipc_check(ep.pool + msg.offset, msg.len, 7));
	EXPECT_EQ(0, fipc_reply(ep.fd, msg.token, 0, NULL, 0));
	fipc_client_close(&c);
	fipc_ep_close(&ep);
}

TEST_HARNESS_MAIN
