// SPDX-License-Identifier: GPL-2.0
/*
 * The hybrid copy's routines, each driven alone through the module's test
 * hook, debugfs fastipc/copy_test: a copy that runs into a PROT_NONE page
 * copies every byte before it, counts the rest as not copied, exactly, and
 * zeroes them in the destination as copy_from_user() does; a readable range
 * arrives whole; a kernel address copies nothing.
 */
#include "fastipc_util.h"
#include "kselftest_harness.h"

#define COPY_TEST	"/sys/kernel/debug/fastipc/copy_test"
#define COPY_TEST_MAX	(1UL << 20)	/* the hook's limit */
#define READABLE_PAGES	4

FIXTURE(copy) {
	int fd;
	size_t page;
	uint8_t *map;		/* READABLE_PAGES pages, then a PROT_NONE one */
	uint8_t *guard;
	uint8_t *out;		/* what the hook's destination held afterwards */
};

FIXTURE_VARIANT(copy) {
	const char *routine;
};

FIXTURE_VARIANT_ADD(copy, unrolled) {
	.routine = "unrolled",
};

FIXTURE_VARIANT_ADD(copy, copy_from_user) {
	.routine = "copy_from_user",
};

FIXTURE_VARIANT_ADD(copy, movsq) {
	.routine = "movsq",
};

FIXTURE_VARIANT_ADD(copy, nontemporal) {
	.routine = "nontemporal",
};

/* No run of 256 repeats, so a copy from the wrong offset shows. */
static uint8_t pattern(size_t i)
{
	return (uint8_t)((i * 131) ^ (i >> 8) ^ 0x5c);
}

FIXTURE_SETUP(copy)
{
	size_t i, len;

	self->fd = open(COPY_TEST, O_RDWR | O_CLOEXEC);
	if (self->fd < 0)
		SKIP(return, "cannot open " COPY_TEST " (debugfs mounted? root?): %s",
		     strerror(errno));
	self->page = sysconf(_SC_PAGESIZE);
	len = (READABLE_PAGES + 1) * self->page;
	self->map = fipc_map(len);
	ASSERT_NE(NULL, self->map);
	self->guard = self->map + READABLE_PAGES * self->page;
	for (i = 0; i < READABLE_PAGES * self->page; i++)
		self->map[i] = pattern(i);
	ASSERT_EQ(0, mprotect(self->guard, self->page, PROT_NONE));
	self->out = fipc_map(COPY_TEST_MAX);
	ASSERT_NE(NULL, self->out);
}

FIXTURE_TEARDOWN(copy)
{
	if (self->fd < 0)
		return;
	munmap(self->out, COPY_TEST_MAX);
	munmap(self->map, (READABLE_PAGES + 1) * self->page);
	close(self->fd);
}

/*
 * Copies @len bytes from @src with @routine into the hook's scratch buffer,
 * whose contents land in @out: the count of bytes not copied, or -errno.
 */
static long hook_copy(int fd, const char *routine, const void *src, size_t len, void *out)
{
	char cmd[128], res[32];
	ssize_t n;

	snprintf(cmd, sizeof(cmd), "%s %lx %zu %lx", routine, (unsigned long)(uintptr_t)src,
		 len, (unsigned long)(uintptr_t)out);
	if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		return -errno;
	n = pread(fd, res, sizeof(res) - 1, 0);
	if (n <= 0)
		return n ? -errno : -ENODATA;
	res[n] = '\0';
	return strtol(res, NULL, 10);
}

static bool all_zero(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/*
 * Runs copies that start before the guard page so that the fault comes after
 * several counts of readable bytes, for lengths that reach each routine's
 * paths (below 8 bytes, below 32, large, across pages). Returns how many
 * copies went wrong: a count of bytes not copied other than the bytes past
 * the guard, or readable bytes that did not arrive intact, or (with
 * @check_zero) the bytes not copied not zeroed in the destination.
 */
static unsigned int fault_cases(struct __test_metadata *_metadata, FIXTURE_DATA(copy) *self,
				const char *routine, bool check_zero)
{
	/* Bytes readable before the guard page, and the length past them. */
	const size_t readable[] = {
		0, 1, 7, 8, 31, 33, self->page - 1, 2 * self->page + 5, 3 * self->page + 17,
	};
	const size_t beyond[] = { 1, 3, 9, 25, 64, 4000, 70000 };
	unsigned int r, b, fails = 0;

	for (r = 0; r < ARRAY_SIZE(readable); r++) {
		for (b = 0; b < ARRAY_SIZE(beyond); b++) {
			size_t reach = readable[r], len = reach + beyond[b];
			const uint8_t *src = self->guard - reach;
			bool intact, zeroed;
			long left;

			memset(self->out, 0xee, len);
			left = hook_copy(self->fd, routine, src, len, self->out);
			if (left < 0) {
				TH_LOG("hook: %s", strerror(-left));
				return ++fails;
			}
			intact = !memcmp(self->out, src, reach);
			zeroed = all_zero(self->out + reach, beyond[b]);
			if (left == (long)beyond[b] && intact && (zeroed || !check_zero))
				continue;
			if (fails++ >= 10)
				continue;
			TH_LOG("%s: %zu of %zu bytes readable: %ld not copied (want %zu), copied bytes %s%s",
			       routine, reach, len, left, beyond[b], intact ? "intact" : "differ",
			       !check_zero ? "" : zeroed ? ", rest zeroed" : ", rest not zeroed");
		}
	}
	return fails;
}

TEST_F(copy, counts_exactly_the_bytes_before_a_fault)
{
	EXPECT_EQ(0, fault_cases(_metadata, self, variant->routine, false));
}

TEST_F(copy, zeroes_the_bytes_it_could_not_copy)
{
	EXPECT_EQ(0, fault_cases(_metadata, self, variant->routine, true));
}

TEST_F(copy, copies_a_readable_range_whole)
{
	const size_t lens[] = { 1, 7, 8, 31, 33, 64, 100, 4095, 4099, 65543, COPY_TEST_MAX - 8 };
	const size_t offsets[] = { 0, 1, 3, 8 };
	size_t maplen = COPY_TEST_MAX + self->page;
	unsigned int l, o, fails = 0;
	uint8_t *src;
	size_t i;

	src = fipc_map(maplen);
	ASSERT_NE(NULL, src);
	for (i = 0; i < maplen; i++)
		src[i] = pattern(i);
	for (l = 0; l < ARRAY_SIZE(lens); l++) {
		for (o = 0; o < ARRAY_SIZE(offsets); o++) {
			long left;

			memset(self->out, 0xee, lens[l]);
			left = hook_copy(self->fd, variant->routine, src + offsets[o], lens[l],
					 self->out);
			ASSERT_LE(0, left) TH_LOG("hook: %s", strerror(-left));
			if (!left && !memcmp(self->out, src + offsets[o], lens[l]))
				continue;
			if (fails++ < 10)
				TH_LOG("%s: %zu bytes at offset %zu: %ld not copied, bytes %s",
				       variant->routine, lens[l], offsets[o], left,
				       memcmp(self->out, src + offsets[o], lens[l]) ?
				       "differ" : "intact");
		}
	}
	munmap(src, maplen);
	EXPECT_EQ(0, fails);
}

TEST_F(copy, copies_nothing_from_a_kernel_address)
{
	const size_t lens[] = { 1, 8, 40, 5000 };
	unsigned int l;
	char cmd[128], res[32];
	ssize_t n;

	for (l = 0; l < ARRAY_SIZE(lens); l++) {
		/* The direct map's start: written as text, so -m32 can name it. */
		snprintf(cmd, sizeof(cmd), "%s ffff888000000000 %zu %lx", variant->routine,
			 lens[l], (unsigned long)(uintptr_t)self->out);
		memset(self->out, 0xee, lens[l]);
		ASSERT_EQ((ssize_t)strlen(cmd), write(self->fd, cmd, strlen(cmd)));
		n = pread(self->fd, res, sizeof(res) - 1, 0);
		ASSERT_LT(0, n);
		res[n] = '\0';
		EXPECT_EQ((long)lens[l], strtol(res, NULL, 10));
		EXPECT_TRUE(all_zero(self->out, lens[l]));
	}
}

TEST_F(copy, rejects_an_unknown_routine_and_an_oversized_length)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "memcpy %lx 8 %lx", (unsigned long)(uintptr_t)self->map,
		 (unsigned long)(uintptr_t)self->out);
	EXPECT_EQ(-1, write(self->fd, cmd, strlen(cmd)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-EINVAL, hook_copy(self->fd, variant->routine, self->map, COPY_TEST_MAX + 1,
				     self->out));
}

TEST_HARNESS_MAIN
