// SPDX-License-Identifier: GPL-2.0
/*
 * Registered buffers: regions of a process's memory pinned once and mapped
 * for the kernel, so payloads can be copied into them straight from another
 * process's memory.
 *
 * Accounting. The pin belongs to the port, which may outlive the process
 * that registered it: a child can register on a port it inherited and exit.
 * A charge to that process's mm (account_locked_vm(), mm->locked_vm) would
 * leave with it while the pages stay pinned, so each child of one parent
 * could pin a whole RLIMIT_MEMLOCK more. Instead the pages are charged from
 * registration until they are unpinned, whoever holds the buffer by then,
 * to
 *   - the registering task's user: user_struct's locked_vm, the counter
 *     io_uring and iommufd charge their pins to, checked against the task's
 *     RLIMIT_MEMLOCK unless it has CAP_IPC_LOCK; and
 *   - the registering mm's pinned_vm (VmPin in /proc/PID/status), which only
 *     reports them, for as long as the mm exists.
 * The buffer keeps the user through a reference to the task's credentials:
 * 6.1 does not export free_uid(), so a module cannot drop a reference to a
 * user_struct itself.
 *
 * What may be pinned. Writing to page-cache pages through a long-term pin
 * goes behind the filesystem's back (no page_mkwrite, no dirty tracking,
 * pages written during writeback), so a region any part of which is a shared
 * mapping of a file is refused with EOPNOTSUPP, unless the file is shmem
 * (tmpfs, memfd, shared anonymous memory, SysV shm) or hugetlbfs, whose pages
 * are never written back to a file. Private mappings of files are fine: the
 * pin takes a private copy of each page. 6.12's GUP refuses most such
 * mappings itself (with EFAULT), 6.1's pins them, so the check is ours on
 * both. The mappings are checked and the pages pinned under one hold of the
 * mmap lock, so nothing can be mapped in between.
 *
 * Locking: port->mutex serialises (un)registration, and nests the mmap lock
 * of the registering process while it pins; port->buf_lock guards the table
 * for lookups from the call path. A buffer is released, which may sleep,
 * only outside any spinlock.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/hugetlb_inline.h>
#include <linux/mm.h>
#include <linux/nospec.h>
#include <linux/overflow.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "compat.h"
#include "fastipc.h"

/*
 * Adds @npages to @user's locked_vm if the sum stays within the current
 * task's RLIMIT_MEMLOCK. The counter is shared with everything else the user
 * pins, so it moves only by compare-and-exchange from the value that was
 * checked: two registrations racing cannot both squeeze under the limit.
 */
static int fastipc_charge_user(struct user_struct *user, unsigned long npages)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	long cur = atomic_long_read(&user->locked_vm);
	unsigned long sum;

	do {
		if (check_add_overflow((unsigned long)cur, npages, &sum) || sum > limit)
			return -ENOMEM;
	} while (!atomic_long_try_cmpxchg(&user->locked_vm, &cur, sum));
	return 0;
}

/* Charges the buffer's pages to the current task's user and mm. */
static int fastipc_buf_charge(struct fastipc_buf *buf)
{
	int ret;

	if (!capable(CAP_IPC_LOCK)) {
		buf->cred = get_current_cred();
		ret = fastipc_charge_user(buf->cred->user, buf->npages);
		if (ret) {
			put_cred(buf->cred);
			buf->cred = NULL;
			return ret;
		}
	}
	buf->mm = current->mm;
	mmgrab(buf->mm);
	atomic64_add(buf->npages, &buf->mm->pinned_vm);
	return 0;
}

static void fastipc_buf_uncharge(struct fastipc_buf *buf)
{
	atomic64_sub(buf->npages, &buf->mm->pinned_vm);
	mmdrop(buf->mm);
	if (buf->cred) {
		atomic_long_sub(buf->npages, &buf->cred->user->locked_vm);
		put_cred(buf->cred);
	}
}

static void fastipc_buf_release(struct kref *ref)
{
	struct fastipc_buf *buf = container_of(ref, struct fastipc_buf, ref);

	vunmap(buf->vaddr);
	unpin_user_pages_dirty_lock(buf->pages, buf->npages, true);
	fastipc_buf_uncharge(buf);
	kvfree(buf->pages);
	kfree(buf);
	atomic_long_dec(&fastipc_objects[FASTIPC_OBJ_BUFS]);
}

void fastipc_buf_put(struct fastipc_buf *buf)
{
	might_sleep();
	kref_put(&buf->ref, fastipc_buf_release);
}

/* Returns the buffer with a reference, or NULL if @id is not registered. */
struct fastipc_buf *fastipc_buf_get(struct fastipc_port *port, u32 id)
{
	struct fastipc_buf *buf;

	if (id >= FASTIPC_MAX_BUFS)
		return NULL;
	id = array_index_nospec(id, FASTIPC_MAX_BUFS);
	spin_lock(&port->buf_lock);
	buf = port->bufs[id];
	if (buf)
		kref_get(&buf->ref);
	spin_unlock(&port->buf_lock);
	return buf;
}

/*
 * -EOPNOTSUPP if any part of [start, end) is a shared mapping of a file the
 * kernel must not write to behind the filesystem's back; holes are left to
 * the pinning, which fails on them.
 */
static int fastipc_buf_check_vmas(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	VMA_ITERATOR(vmi, mm, start);
	struct vm_area_struct *vma;

	mmap_assert_locked(mm);
	for_each_vma_range(vmi, vma, end) {
		if (!(vma->vm_flags & VM_MAYSHARE) || !vma->vm_file)
			continue;
		if (!shmem_file(vma->vm_file) && !is_vm_hugetlb_page(vma))
			return -EOPNOTSUPP;
	}
	return 0;
}

static struct fastipc_buf *fastipc_buf_pin(u64 addr, u64 len)
{
	unsigned long start = addr & PAGE_MASK;
	struct fastipc_buf *buf;
	u64 end;
	long pinned;
	int ret;

	if (check_add_overflow(addr, len, &end) || end > TASK_SIZE_MAX)
		return ERR_PTR(-EFAULT);

	buf = kzalloc(sizeof(*buf), GFP_KERNEL_ACCOUNT);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	kref_init(&buf->ref);
	buf->len = len;
	buf->npages = DIV_ROUND_UP(end, PAGE_SIZE) - (start >> PAGE_SHIFT);
	/* User-sized: a failure is the caller's ENOMEM, not a kernel warning. */
	buf->pages = kvmalloc_array(buf->npages, sizeof(*buf->pages),
				    GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!buf->pages) {
		ret = -ENOMEM;
		goto out_free_buf;
	}

	ret = fastipc_buf_charge(buf);
	if (ret)
		goto out_free_pages;

	mmap_read_lock(buf->mm);
	ret = fastipc_buf_check_vmas(buf->mm, start, start + buf->npages * PAGE_SIZE);
	pinned = ret ? 0 : fastipc_pin_user_pages(start, buf->npages,
						  FOLL_WRITE | FOLL_LONGTERM, buf->pages);
	mmap_read_unlock(buf->mm);
	if (!ret && pinned != buf->npages) {
		if (pinned > 0)
			unpin_user_pages(buf->pages, pinned);
		ret = pinned < 0 ? pinned : -EFAULT;
	}
	if (ret)
		goto out_uncharge;

	buf->vaddr = vmap(buf->pages, buf->npages, VM_MAP, PAGE_KERNEL);
	if (!buf->vaddr) {
		ret = -ENOMEM;
		goto out_unpin;
	}
	buf->kaddr = (u8 *)buf->vaddr + offset_in_page(addr);
	atomic_long_inc(&fastipc_objects[FASTIPC_OBJ_BUFS]);
	return buf;

out_unpin:
	unpin_user_pages(buf->pages, buf->npages);
out_uncharge:
	fastipc_buf_uncharge(buf);
out_free_pages:
	kvfree(buf->pages);
out_free_buf:
	kfree(buf);
	return ERR_PTR(ret);
}

int fastipc_cmd_buf_register(struct fastipc_port *port, void *data)
{
	struct fastipc_buf_register *arg = data;
	struct fastipc_buf *buf;
	unsigned int id;
	int ret;

	if (arg->flags || arg->reserved[0] || arg->reserved[1])
		return -EINVAL;
	if (!arg->len || arg->len > FASTIPC_MAX_BUF_LEN)
		return -EINVAL;

	mutex_lock(&port->mutex);
	for (id = 0; id < FASTIPC_MAX_BUFS; id++)
		if (!port->bufs[id])
			break;
	if (id == FASTIPC_MAX_BUFS) {
		ret = -ENOSPC;
		goto out_unlock;
	}
	buf = fastipc_buf_pin(arg->addr, arg->len);
	if (IS_ERR(buf)) {
		ret = PTR_ERR(buf);
		goto out_unlock;
	}
	spin_lock(&port->buf_lock);
	port->bufs[id] = buf;
	spin_unlock(&port->buf_lock);
	arg->id = id;
	ret = 0;
out_unlock:
	mutex_unlock(&port->mutex);
	return ret;
}

int fastipc_cmd_buf_unregister(struct fastipc_port *port, void *data)
{
	struct fastipc_buf_unregister *arg = data;
	struct fastipc_buf *buf = NULL;
	u32 id = arg->id;

	if (arg->flags || arg->reserved[0] || arg->reserved[1])
		return -EINVAL;
	if (id >= FASTIPC_MAX_BUFS)
		return -ENOENT;
	id = array_index_nospec(id, FASTIPC_MAX_BUFS);

	mutex_lock(&port->mutex);
	spin_lock(&port->buf_lock);
	swap(buf, port->bufs[id]);
	spin_unlock(&port->buf_lock);
	mutex_unlock(&port->mutex);
	if (!buf)
		return -ENOENT;
	fastipc_buf_put(buf);
	return 0;
}

/* At the port's release: nothing else can reach the table any more. */
void fastipc_port_release_bufs(struct fastipc_port *port)
{
	unsigned int id;

	for (id = 0; id < FASTIPC_MAX_BUFS; id++)
		if (port->bufs[id])
			fastipc_buf_put(port->bufs[id]);
}
