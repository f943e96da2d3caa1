// SPDX-License-Identifier: GPL-2.0
/*
 * Buffer registration: FASTIPC_IOC_BUF_REGISTER and _UNREGISTER, their
 * argument checks, the per-port id limit, RLIMIT_MEMLOCK accounting and the
 * kinds of memory that may be pinned.
 */
#include "fastipc_util.h"

#include <linux/loop.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

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

/* In a child that exits at once: registers @pages fresh pages on @fd; 0 or the errno. */
static int register_in_child(int fd, size_t pages)
{
	pid_t pid = fipc_fork();
	uint8_t *mem;
	int id;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		mem = fipc_map(pages * PAGE);
		CHILD_CHECK(mem);
		id = fipc_buf_register(fd, mem, pages * PAGE);
		_exit(id >= 0 ? 0 : -id);
	}
	return fipc_reap(pid);
}

#define ESCAPE_LIMIT	4	/* pages of RLIMIT_MEMLOCK */
#define ESCAPE_PORTS	4

/*
 * As nobody with a small RLIMIT_MEMLOCK: ports opened here, buffers
 * registered on them by children that exit. The user is charged for as long
 * as the pages stay pinned, so one child's registration leaves no room for
 * the next; nobody may hold some locked memory already, so everything is
 * measured against what fits at the start.
 */
static int memlock_escape_parent(void)
{
	struct rlimit rl = { .rlim_cur = ESCAPE_LIMIT * PAGE, .rlim_max = ESCAPE_LIMIT * PAGE };
	uint8_t *mem = fipc_map(ESCAPE_LIMIT * PAGE);
	int fds[ESCAPE_PORTS], probe, i, id = -ENOMEM;
	size_t fit;

	CHILD_CHECK(mem);
	CHILD_CHECK(setrlimit(RLIMIT_MEMLOCK, &rl) == 0);
	CHILD_CHECK(fipc_drop_privs(FIPC_NOBODY, FIPC_NOBODY) == 0);
	for (i = 0; i < ESCAPE_PORTS; i++) {
		fds[i] = fipc_open();
		CHILD_CHECK(fds[i] >= 0);
	}

	probe = fipc_open();
	CHILD_CHECK(probe >= 0);
	for (fit = ESCAPE_LIMIT; fit > 0; fit--) {
		id = fipc_buf_register(probe, mem, fit * PAGE);
		if (id != -ENOMEM)
			break;
	}
	CHILD_CHECK(id >= 0);
	close(probe);

	/* The first child's pages stay charged after it exits... */
	CHILD_CHECK(register_in_child(fds[0], fit) == 0);
	/* ...so no later child, nor the parent, finds room. */
	for (i = 1; i < ESCAPE_PORTS; i++)
		CHILD_CHECK(register_in_child(fds[i], fit) == ENOMEM);
	CHILD_CHECK(fipc_buf_register(fds[1], mem, 1) == -ENOMEM);

	/* Closing the port that holds them gives the charge back. */
	close(fds[0]);
	CHILD_CHECK(register_in_child(fds[1], fit) == 0);
	return 0;
}

TEST(pinned_pages_stay_charged_to_the_user_after_the_registering_process_exits)
{
	pid_t pid = fipc_fork();

	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(memlock_escape_parent());
	EXPECT_EQ(0, fipc_reap(pid));
}

/* The VmPin figure of /proc/self/status, in kB, or -1. */
static long vm_pin_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

TEST_F(port, registered_pages_count_as_the_process_pinned_memory_until_unregistered)
{
	long before = vm_pin_kb();
	int id;

	ASSERT_LE(0, before);
	/* Four pages: the region straddles them. */
	id = fipc_buf_register(self->fd, self->mem + 1, 3 * PAGE);
	ASSERT_LE(0, id);
	EXPECT_EQ(before + 4 * PAGE / 1024, vm_pin_kb());
	ASSERT_EQ(0, fipc_buf_unregister(self->fd, id));
	EXPECT_EQ(before, vm_pin_kb());
}

TEST_F(port, register_accepts_shared_anonymous_memory_and_memfd)
{
	uint8_t *shared = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int memfd = memfd_create("fastipc_buf_test", MFD_CLOEXEC);
	uint8_t *mfd;

	ASSERT_NE(MAP_FAILED, shared);
	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, 4 * PAGE));
	mfd = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ASSERT_NE(MAP_FAILED, mfd);

	EXPECT_LE(0, fipc_buf_register(self->fd, shared, 4 * PAGE));
	EXPECT_LE(0, fipc_buf_register(self->fd, mfd + 1, 3 * PAGE));
	munmap(shared, 4 * PAGE);
	munmap(mfd, 4 * PAGE);
	close(memfd);
}

/*
 * A file on a filesystem of its own, mounted on a temporary directory:
 * ramfs, always built in, and ext4 on a loop device where the guest has
 * them. A writable shared mapping of it must not be pinned for long, since
 * the filesystem would not see the writes made through the pin.
 */
FIXTURE(fs_file) {
	char dir[64];
	char mnt[80];
	char img[80];
	int file;
	bool mounted;
	uint8_t *mem;
	int port;
};

FIXTURE_VARIANT(fs_file) {
	const char *fstype;
};

FIXTURE_VARIANT_ADD(fs_file, ramfs) {
	.fstype = "ramfs",
};

FIXTURE_VARIANT_ADD(fs_file, ext4) {
	.fstype = "ext4",
};

#define FS_FILE_LEN	(4 * PAGE)

static bool have_filesystem(const char *fstype)
{
	char line[128], *name;
	bool found = false;
	FILE *f = fopen("/proc/filesystems", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		name = strrchr(line, '\t');
		found = name && !strcmp(name + 1, fstype);
	}
	fclose(f);
	return found;
}

/* Attaches self->img to a free loop device, detached again on its last close. */
static int attach_loop(FIXTURE_DATA(fs_file) *self, char *dev, size_t len)
{
	struct loop_info64 info = { .lo_flags = LO_FLAGS_AUTOCLEAR };
	int ctl, nr, loop, img, ret = 0;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	nr = ioctl(ctl, LOOP_CTL_GET_FREE);
	ret = nr < 0 ? -errno : 0;
	close(ctl);
	if (ret)
		return ret;
	snprintf(dev, len, "/dev/loop%d", nr);
	loop = open(dev, O_RDWR | O_CLOEXEC);
	if (loop < 0)
		return -errno;
	img = open(self->img, O_RDWR | O_CLOEXEC);
	if (img < 0 || ioctl(loop, LOOP_SET_FD, img) || ioctl(loop, LOOP_SET_STATUS64, &info))
		ret = -errno;
	if (img >= 0)
		close(img);
	/* Still ours until mounted: the mount keeps it, AUTOCLEAR detaches it after. */
	return ret ? (close(loop), ret) : loop;
}

/* Mounts an ext4 image from the guest's tmpfs; NULL, or why it cannot. */
static const char *mount_ext4(FIXTURE_DATA(fs_file) *self)
{
	static char reason[160];
	char cmd[160], dev[32];
	int img, loop, ret;

	/* Debian's kernels have them as modules; the result shows below. */
	ret = system("modprobe -q -a loop ext4 >/dev/null 2>&1");
	(void)ret;
	if (!have_filesystem("ext4"))
		return "the kernel has no ext4";
	if (access("/dev/loop-control", F_OK))
		return "the kernel has no loop driver (/dev/loop-control)";
	img = open(self->img, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ret = img < 0 ? -1 : ftruncate(img, 8 << 20);
	if (ret)
		snprintf(reason, sizeof(reason), "image in %s: %s", self->dir, strerror(errno));
	if (img >= 0)
		close(img);
	if (ret)
		return reason;
	snprintf(cmd, sizeof(cmd), "mkfs.ext4 -q -F %s >/dev/null 2>&1", self->img);
	ret = system(cmd);
	if (ret == -1 || !WIFEXITED(ret) || WEXITSTATUS(ret) == 127)
		return "no mkfs.ext4 in PATH";
	if (WEXITSTATUS(ret)) {
		snprintf(reason, sizeof(reason), "mkfs.ext4 failed: status %d", WEXITSTATUS(ret));
		return reason;
	}
	loop = attach_loop(self, dev, sizeof(dev));
	if (loop < 0) {
		snprintf(reason, sizeof(reason), "no loop device: %s", strerror(-loop));
		return reason;
	}
	ret = mount(dev, self->mnt, "ext4", 0, NULL);
	if (ret) {
		snprintf(reason, sizeof(reason), "mount ext4 on %s: %s", dev, strerror(errno));
		ioctl(loop, LOOP_CLR_FD);
	}
	close(loop);
	return ret ? reason : NULL;
}

static void fs_file_cleanup(FIXTURE_DATA(fs_file) *self)
{
	if (self->mem)
		munmap(self->mem, FS_FILE_LEN);
	if (self->port >= 0)
		close(self->port);
	if (self->file >= 0)
		close(self->file);
	if (self->mounted)
		umount2(self->mnt, MNT_DETACH);
	if (self->img[0])
		unlink(self->img);
	if (self->mnt[0])
		rmdir(self->mnt);
	if (self->dir[0])
		rmdir(self->dir);
}

FIXTURE_SETUP(fs_file)
{
	const char *why = NULL;
	char path[96];
	void *mem;

	memset(self, 0, sizeof(*self));
	self->file = -1;
	self->port = -1;
	if (geteuid() != 0)
		SKIP(return, "needs root to mount a filesystem");

	strcpy(self->dir, "/tmp/fastipc_buf_test.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->mnt, sizeof(self->mnt), "%s/mnt", self->dir);
	ASSERT_EQ(0, mkdir(self->mnt, 0700)) {
		self->mnt[0] = '\0';
		fs_file_cleanup(self);
	}
	if (!strcmp(variant->fstype, "ramfs")) {
		ASSERT_EQ(0, mount("none", self->mnt, "ramfs", 0, NULL)) {
			TH_LOG("mount ramfs: %s", strerror(errno));
			fs_file_cleanup(self);
		}
	} else {
		snprintf(self->img, sizeof(self->img), "%s/img", self->dir);
		why = mount_ext4(self);
	}
	if (why) {
		fs_file_cleanup(self);
		SKIP(return, "%s", why);
	}
	self->mounted = true;

	snprintf(path, sizeof(path), "%s/file", self->mnt);
	self->file = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ASSERT_LE(0, self->file) fs_file_cleanup(self);
	ASSERT_EQ(0, ftruncate(self->file, FS_FILE_LEN)) fs_file_cleanup(self);
	mem = mmap(NULL, FS_FILE_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, self->file, 0);
	ASSERT_NE(MAP_FAILED, mem) fs_file_cleanup(self);
	self->mem = mem;
	self->port = fipc_open();
	ASSERT_LE(0, self->port) fs_file_cleanup(self);
}

FIXTURE_TEARDOWN(fs_file)
{
	fs_file_cleanup(self);
}

TEST_F(fs_file, register_refuses_a_shared_mapping_of_the_file)
{
	EXPECT_EQ(-EOPNOTSUPP, fipc_buf_register(self->port, self->mem, FS_FILE_LEN));
	EXPECT_EQ(-EOPNOTSUPP, fipc_buf_register(self->port, self->mem + PAGE + 5, 1));
	/* Even when the pages were written first. */
	memset(self->mem, 1, FS_FILE_LEN);
	EXPECT_EQ(-EOPNOTSUPP, fipc_buf_register(self->port, self->mem, FS_FILE_LEN));
}

TEST_F(fs_file, register_refuses_a_region_partly_in_a_shared_mapping_of_the_file)
{
	uint8_t *mem = fipc_map(3 * PAGE);

	ASSERT_NE(NULL, mem);
	/* Anonymous, the file, anonymous. */
	ASSERT_EQ(mem + PAGE, mmap(mem + PAGE, PAGE, PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_FIXED, self->file, 0));
	EXPECT_EQ(-EOPNOTSUPP, fipc_buf_register(self->port, mem, 3 * PAGE));
	EXPECT_EQ(-EOPNOTSUPP, fipc_buf_register(self->port, mem + PAGE - 1, 2));
	EXPECT_LE(0, fipc_buf_register(self->port, mem, PAGE));
	EXPECT_LE(0, fipc_buf_register(self->port, mem + 2 * PAGE, PAGE));
	munmap(mem, 3 * PAGE);
}

TEST_F(fs_file, register_accepts_a_private_mapping_of_the_file)
{
	uint8_t *priv = mmap(NULL, FS_FILE_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE,
			     self->file, 0);

	ASSERT_NE(MAP_FAILED, priv);
	EXPECT_LE(0, fipc_buf_register(self->port, priv, FS_FILE_LEN));
	munmap(priv, FS_FILE_LEN);
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
