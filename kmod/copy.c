// SPDX-License-Identifier: GPL-2.0
/*
 * The hybrid copy: every payload byte crosses from the sender's memory into
 * a registered buffer through fastipc_copy_from_user(), which picks one of
 * four routines by size:
 *
 *   unrolled        8-byte loads and stores, 32 bytes a turn: no call and no
 *                   string instruction to start, so it can win for small
 *                   payloads (EROS's observation).
 *   copy_from_user  the kernel's own routine (rep movsb on ERMS/FSRM CPUs).
 *   movsq           rep movsq, which some CPUs (and emulators) run far faster
 *                   than rep movsb.
 *   nontemporal     the kernel's non-temporal user copy: streaming stores
 *                   that bypass the cache, for payloads too big to stay
 *                   cached, where leaving the cache alone pays.
 *
 * Whichever runs, the copy is checked and instrumented as the kernel's
 * copy_from_user() is, on 6.1 and 6.12 alike (fastipc_copy_run()): the
 * hardened-usercopy check of the destination, fault injection, KASAN, KCSAN
 * and KMSAN, and a user pointer that cannot be followed into the kernel even
 * speculatively (compat.h). Each returns exactly the bytes not copied, those
 * from the first byte that cannot be read, and zeroes them in the
 * destination as copy_from_user() does.
 *
 * Which is fastest differs by CPU, so at load the module times each routine,
 * checks included, on sizes from 64 B to 4 MiB, from a user mapping into a
 * vmalloc buffer as a real payload travels, followed by one read of the copy
 * as its receiver will read it (which is where streaming stores pay: the
 * copy is not in the cache), and keeps the best time of five runs. From
 * those: the bulk routine is the faster of copy_from_user and movsq at
 * 64 KiB; the non-temporal copy takes every size from the first one where it
 * beats the bulk routine for that size and all larger ones; the unrolled
 * copy takes the sizes from 64 B up to the first one where it no longer
 * beats the routine that would copy that size otherwise. Each choice is a
 * read-only module parameter, and may be given at load instead of measured.
 * debugfs fastipc/copy_calibration shows the table; fastipc/copy_test runs
 * one routine for the selftests.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/instrumented.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <asm/asm.h>

#include "compat.h"
#include "fastipc.h"

/* In the order of the FASTIPC_STAT_COPY_* counters. */
enum fastipc_copy_routine {
	FASTIPC_COPY_UNROLLED,
	FASTIPC_COPY_KERNEL,
	FASTIPC_COPY_MOVSQ,
	FASTIPC_COPY_NT,
	FASTIPC_COPY_NR,
};

static const char * const fastipc_copy_names[FASTIPC_COPY_NR] = {
	"unrolled", "copy_from_user", "movsq", "nontemporal",
};

static int copy_small_max = -1;
module_param(copy_small_max, int, 0444);
MODULE_PARM_DESC(copy_small_max,
		 "payloads up to this many bytes use the unrolled copy (-1: measure at load)");

static int copy_bulk = -1;
module_param(copy_bulk, int, 0444);
MODULE_PARM_DESC(copy_bulk,
		 "routine for other payloads: 1 copy_from_user, 2 movsq (-1: measure at load)");

static int copy_nt_min = -1;
module_param(copy_nt_min, int, 0444);
MODULE_PARM_DESC(copy_nt_min,
		 "payloads from this many bytes use non-temporal stores, 0 never (-1: measure at load)");

/*
 * The body of every partial copy: byte by byte from the first byte not yet
 * copied, with user access open, until the end or the first byte that
 * faults. Returns the bytes not copied, exactly.
 */
static __always_inline unsigned long fastipc_copy_bytes(u8 *d, const u8 __user *s,
							unsigned long len)
{
	for (; len; len--, s++, d++)
		unsafe_get_user(*d, s, out);
out:
	return len;
}

/*
 * The routines below run between fastipc_copy_run()'s checks; each opens
 * user access itself, through fastipc_user_read_begin(), which checks the
 * source range and stops speculation past that check, and each returns the
 * exact count of bytes not copied: whatever faults, they finish byte by
 * byte up to the first byte that cannot be read, as the fixups of the
 * kernel's own copies do.
 *
 * noinline: GCC's partial inlining would otherwise move the part after
 * user_access_begin() into a separate function, called with UACCESS enabled.
 */
static noinline unsigned long fastipc_copy_unrolled(void *dst, const void __user *src,
						    unsigned long len)
{
	const u8 __user *s;
	u8 *d = dst;

	if (!fastipc_user_read_begin(&src, len))
		return len;
	s = src;
	for (; len >= 32; len -= 32, s += 32, d += 32) {
		u64 a, b, c, e;

		unsafe_get_user(a, (const u64 __user *)s, bytes);
		unsafe_get_user(b, (const u64 __user *)(s + 8), bytes);
		unsafe_get_user(c, (const u64 __user *)(s + 16), bytes);
		unsafe_get_user(e, (const u64 __user *)(s + 24), bytes);
		memcpy(d, &a, 8);
		memcpy(d + 8, &b, 8);
		memcpy(d + 16, &c, 8);
		memcpy(d + 24, &e, 8);
	}
	for (; len >= 8; len -= 8, s += 8, d += 8) {
		u64 a;

		unsafe_get_user(a, (const u64 __user *)s, bytes);
		memcpy(d, &a, 8);
	}
	/* The tail, or what is left from the load that faulted on. */
bytes:
	len = fastipc_copy_bytes(d, s, len);
	user_read_access_end();
	return len;
}

static noinline unsigned long fastipc_copy_movsq(void *dst, const void __user *src,
						 unsigned long len)
{
	unsigned long qwords = len >> 3;
	unsigned long s;
	u8 *d = dst;

	if (!fastipc_user_read_begin(&src, len))
		return len;
	s = (unsigned long)src;
	/* A fault leaves the registers at the quadword that faulted. */
	asm volatile("1:	rep movsq\n"
		     "2:\n"
		     _ASM_EXTABLE_UA(1b, 2b)
		     : "+c" (qwords), "+D" (d), "+S" (s)
		     : : "memory");
	len = fastipc_copy_bytes(d, (const u8 __user *)s, qwords * 8 + (len & 7));
	user_read_access_end();
	return len;
}

/* What is left of a copy by a routine that stops short of the fault. */
static noinline unsigned long fastipc_copy_finish(u8 *d, const void __user *src,
						  unsigned long len)
{
	if (!fastipc_user_read_begin(&src, len))
		return len;
	len = fastipc_copy_bytes(d, src, len);
	user_read_access_end();
	return len;
}

/*
 * The kernel's non-temporal copy: on 6.12 it stops up to 7 bytes short of
 * a fault, so the rest is finished byte by byte.
 */
static unsigned long fastipc_copy_nt(void *dst, const void __user *src, unsigned long len)
{
	unsigned long left = fastipc_copy_from_user_nt(dst, src, len);

	if (unlikely(left))
		left = fastipc_copy_finish(dst + len - left, src + len - left, left);
	return left;
}

/*
 * One copy with the named routine. copy_from_user() is the kernel's own,
 * with its checks, and exact on x86 (its fixups finish byte by byte); around
 * the others fastipc_copy_run() does what copy_from_user() does around its
 * copy on 6.1 and 6.12: check_copy_size() (the destination's size where the
 * compiler knows it and, with CONFIG_HARDENED_USERCOPY, check_object_size()
 * on the kernel object), might_fault(), should_fail_usercopy() for fault
 * injection, the KASAN, KCSAN and KMSAN instrumentation, and zeroing of the
 * bytes not copied. The callers need only the count, since a copy that
 * faulted is never delivered (the slot is freed, or the call stays
 * unanswered), but zeroing leaves every routine's destination as
 * copy_from_user() leaves it, which the selftests check.
 */
static unsigned long fastipc_copy_run(int routine, void *dst, const void __user *src,
				      unsigned long len)
{
	unsigned long left = len;

	if (routine == FASTIPC_COPY_KERNEL)
		return copy_from_user(dst, src, len);
	if (!check_copy_size(dst, len, false))
		return len;
	might_fault();
	if (should_fail_usercopy())
		goto out_zero;
	instrument_copy_from_user_before(dst, src, len);
	if (routine == FASTIPC_COPY_UNROLLED)
		left = fastipc_copy_unrolled(dst, src, len);
	else if (routine == FASTIPC_COPY_MOVSQ)
		left = fastipc_copy_movsq(dst, src, len);
	else
		left = fastipc_copy_nt(dst, src, len);
	instrument_copy_from_user_after(dst, src, len, left);
	if (likely(!left))
		return 0;
out_zero:
	memset(dst + len - left, 0, left);
	return left;
}

/**
 * fastipc_copy_from_user() - copy a payload with the routine chosen for its size
 * @dst: kernel destination, in a registered buffer
 * @src: the sender's memory
 * @len: bytes to copy
 *
 * Return: the number of bytes not copied, 0 on success: exactly the bytes
 * from the first one that could not be read, which are zeroed in @dst.
 */
unsigned long fastipc_copy_from_user(void *dst, const void __user *src, unsigned long len)
{
	int routine = copy_bulk;

	if (len <= (unsigned int)copy_small_max)
		routine = FASTIPC_COPY_UNROLLED;
	else if (copy_nt_min && len >= (unsigned int)copy_nt_min)
		routine = FASTIPC_COPY_NT;
	fastipc_stat_add(FASTIPC_STAT_COPY_UNROLLED + routine, 1);
	fastipc_stat_add(FASTIPC_STAT_BYTES, len);
	return fastipc_copy_run(routine, dst, src, len);
}

/*
 * The same, but with @nofault a page that is not present fails the copy
 * instead of being faulted in, for callers that must not sleep (an io_uring
 * command issued with IO_URING_F_NONBLOCK, which io_uring issues again from
 * a worker when told -EAGAIN).
 */
unsigned long fastipc_copy_in(void *dst, const void __user *src, unsigned long len,
			      bool nofault)
{
	unsigned long left;

	if (!nofault)
		return fastipc_copy_from_user(dst, src, len);
	pagefault_disable();
	left = fastipc_copy_from_user(dst, src, len);
	pagefault_enable();
	return left;
}

static const u32 fastipc_cal_sizes[] = {
	64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
};

#define FASTIPC_CAL_MAX		4194304
#define FASTIPC_CAL_BULK_SIZE	5	/* 64 KiB decides the bulk routine */
#define FASTIPC_CAL_RUNS	5

static u64 fastipc_cal_ns[ARRAY_SIZE(fastipc_cal_sizes)][FASTIPC_COPY_NR];
static bool fastipc_calibrated;

/* The receiver's read of a copy; summed so the compiler keeps the loads. */
static u64 fastipc_read_back(const void *buf, u32 size)
{
	const u64 *w = buf;
	u64 sum = 0;
	u32 i;

	for (i = 0; i < size / sizeof(u64); i++)
		sum += READ_ONCE(w[i]);
	return sum;
}

/* Best time of several runs for one copy of @size bytes and its read, in ns. */
static u64 fastipc_time_copy(int routine, void *dst, const void __user *src, u32 size)
{
	unsigned int iters = max(1U, (256U << 10) / size);
	u64 best = U64_MAX, sum = 0;
	unsigned int run, i;
	u64 start;

	for (run = 0; run < FASTIPC_CAL_RUNS; run++) {
		start = ktime_get_ns();
		for (i = 0; i < iters; i++) {
			if (fastipc_copy_run(routine, dst, src, size))
				return U64_MAX;
			sum += fastipc_read_back(dst, size);
		}
		best = min(best, div_u64(ktime_get_ns() - start, iters));
		cond_resched();
	}
	/* The source is zeroed: anything else means the copy went wrong. */
	return sum ? U64_MAX : best;
}

static int fastipc_measure(void)
{
	unsigned long uaddr;
	void *dst;
	int ret = 0;
	int s, r;

	/* Module init runs in insmod's context, whose mm gives us user memory. */
	if (!current->mm)
		return -EOPNOTSUPP;
	dst = vmalloc(FASTIPC_CAL_MAX);
	if (!dst)
		return -ENOMEM;
	uaddr = vm_mmap(NULL, 0, FASTIPC_CAL_MAX, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, 0);
	if (IS_ERR_VALUE(uaddr)) {
		ret = (int)uaddr;
		goto out_free;
	}
	if (clear_user((void __user *)uaddr, FASTIPC_CAL_MAX)) {
		ret = -EFAULT;
		goto out_unmap;
	}
	for (s = 0; s < ARRAY_SIZE(fastipc_cal_sizes); s++)
		for (r = 0; r < FASTIPC_COPY_NR; r++)
			fastipc_cal_ns[s][r] = fastipc_time_copy(r, dst, (void __user *)uaddr,
								 fastipc_cal_sizes[s]);
out_unmap:
	vm_munmap(uaddr, FASTIPC_CAL_MAX);
out_free:
	vfree(dst);
	return ret;
}

static void fastipc_choose(void)
{
	const u64 (*ns)[FASTIPC_COPY_NR] = fastipc_cal_ns;
	int s, bulk, other;

	if (copy_bulk != FASTIPC_COPY_KERNEL && copy_bulk != FASTIPC_COPY_MOVSQ)
		copy_bulk = ns[FASTIPC_CAL_BULK_SIZE][FASTIPC_COPY_MOVSQ] <
			    ns[FASTIPC_CAL_BULK_SIZE][FASTIPC_COPY_KERNEL] ?
			    FASTIPC_COPY_MOVSQ : FASTIPC_COPY_KERNEL;
	bulk = copy_bulk;

	if (copy_nt_min < 0) {
		copy_nt_min = 0;
		for (s = ARRAY_SIZE(fastipc_cal_sizes) - 1; s >= 0; s--) {
			if (ns[s][FASTIPC_COPY_NT] >= ns[s][bulk])
				break;
			copy_nt_min = fastipc_cal_sizes[s];
		}
	}

	/* Small sizes: against whichever routine would copy them otherwise. */
	if (copy_small_max < 0) {
		copy_small_max = 0;
		for (s = 0; s < ARRAY_SIZE(fastipc_cal_sizes); s++) {
			other = copy_nt_min && fastipc_cal_sizes[s] >= copy_nt_min ?
				FASTIPC_COPY_NT : bulk;
			if (ns[s][FASTIPC_COPY_UNROLLED] >= ns[s][other])
				break;
			copy_small_max = fastipc_cal_sizes[s];
		}
	}
}

static int fastipc_copy_cal_show(struct seq_file *m, void *unused)
{
	int s, r;

	seq_printf(m, "chosen: unrolled <= %d, bulk %s, nontemporal >= %d (0: never)\n",
		   copy_small_max, fastipc_copy_names[copy_bulk], copy_nt_min);
	if (!fastipc_calibrated)
		return 0;
	seq_printf(m, "%10s", "bytes");
	for (r = 0; r < FASTIPC_COPY_NR; r++)
		seq_printf(m, " %15s", fastipc_copy_names[r]);
	seq_puts(m, "   (best ns per copy)\n");
	for (s = 0; s < ARRAY_SIZE(fastipc_cal_sizes); s++) {
		seq_printf(m, "%10u", fastipc_cal_sizes[s]);
		for (r = 0; r < FASTIPC_COPY_NR; r++)
			seq_printf(m, " %15llu", fastipc_cal_ns[s][r]);
		seq_putc(m, '\n');
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(fastipc_copy_cal);

/*
 * debugfs fastipc/copy_test, a hook for selftests/fastipc_copy_test.c and
 * nothing else: a write of "<routine> <src> <len> <dst>" (the routine by its
 * name in fastipc_copy_names, the addresses in hex) copies @len bytes from
 * the user address @src into a scratch buffer filled with
 * FASTIPC_COPY_TEST_POISON, with that routine alone, then copies the whole
 * scratch buffer to the user address @dst; a read gives the routine's count
 * of bytes not copied, of the last copy made through this open file.
 */
#define FASTIPC_COPY_TEST_MAX		SZ_1M
#define FASTIPC_COPY_TEST_POISON	0xa5

static int fastipc_copy_test_open(struct inode *inode, struct file *file)
{
	atomic_long_t *left = kmalloc(sizeof(*left), GFP_KERNEL);

	if (!left)
		return -ENOMEM;
	atomic_long_set(left, -1);
	file->private_data = left;
	return 0;
}

static int fastipc_copy_test_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

static ssize_t fastipc_copy_test_write(struct file *file, const char __user *ubuf,
				       size_t count, loff_t *ppos)
{
	atomic_long_t *result = file->private_data;
	unsigned long src, len, dst, left;
	char name[16];
	void *scratch;
	char *cmd;
	int routine;
	int ret;

	if (count > 128)
		return -EINVAL;
	cmd = memdup_user_nul(ubuf, count);
	if (IS_ERR(cmd))
		return PTR_ERR(cmd);
	ret = sscanf(cmd, "%15s %lx %lu %lx", name, &src, &len, &dst);
	kfree(cmd);
	if (ret != 4 || len > FASTIPC_COPY_TEST_MAX)
		return -EINVAL;
	routine = match_string(fastipc_copy_names, FASTIPC_COPY_NR, name);
	if (routine < 0)
		return routine;
	scratch = vmalloc(max(len, 1UL));
	if (!scratch)
		return -ENOMEM;
	memset(scratch, FASTIPC_COPY_TEST_POISON, len);
	left = fastipc_copy_run(routine, scratch, (const void __user *)src, len);
	ret = copy_to_user((void __user *)dst, scratch, len) ? -EFAULT : 0;
	vfree(scratch);
	if (ret)
		return ret;
	atomic_long_set(result, left);
	return count;
}

static ssize_t fastipc_copy_test_read(struct file *file, char __user *ubuf, size_t count,
				      loff_t *ppos)
{
	long left = atomic_long_read((atomic_long_t *)file->private_data);
	char out[24];
	int n;

	if (left < 0)
		return 0;
	n = scnprintf(out, sizeof(out), "%ld\n", left);
	return simple_read_from_buffer(ubuf, count, ppos, out, n);
}

static const struct file_operations fastipc_copy_test_fops = {
	.owner		= THIS_MODULE,
	.open		= fastipc_copy_test_open,
	.release	= fastipc_copy_test_release,
	.read		= fastipc_copy_test_read,
	.write		= fastipc_copy_test_write,
	.llseek		= noop_llseek,
};

int fastipc_copy_init(struct dentry *debugfs_dir)
{
	bool given = copy_small_max >= 0 &&
		     (copy_bulk == FASTIPC_COPY_KERNEL || copy_bulk == FASTIPC_COPY_MOVSQ) &&
		     copy_nt_min >= 0;
	int ret;

	if (!given) {
		ret = fastipc_measure();
		fastipc_calibrated = !ret;
		if (ret)
			pr_warn("copy calibration failed (%d); using the kernel's copy\n", ret);
		fastipc_choose();
	}
	pr_info("copy: unrolled up to %d bytes, then %s; non-temporal from %d bytes (0: never)\n",
		copy_small_max, fastipc_copy_names[copy_bulk], copy_nt_min);
	debugfs_create_file("copy_calibration", 0444, debugfs_dir, NULL, &fastipc_copy_cal_fops);
	debugfs_create_file("copy_test", 0600, debugfs_dir, NULL, &fastipc_copy_test_fops);
	return 0;
}
