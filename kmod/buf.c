// SPDX-License-Identifier: GPL-2.0
/*
 * Registered buffers: regions of a process's memory pinned once and mapped
 * for the kernel, so payloads can be copied into them straight from another
 * process's memory. Pinned pages are charged to the registering process's
 * locked memory and checked against its RLIMIT_MEMLOCK unless it has
 * CAP_IPC_LOCK (account_locked_vm(), as VFIO does; io_uring's per-user
 * counter is not reachable from a module on 6.1).
 *
 * Locking: port->mutex serialises (un)registration; port->buf_lock guards the
 * table for lookups from the call path. A buffer is released, which may
 * sleep, only outside any spinlock.
 */
#include <linux/mm.h>
#include <linux/nospec.h>
#include <linux/overflow.h>
#include <linux/sched/signal.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "fastipc.h"

static void fastipc_buf_release(struct kref *ref)
{
	struct fastipc_buf *buf = container_of(ref, struct fastipc_buf, ref);

	vunmap(buf->vaddr);
	unpin_user_pages_dirty_lock(buf->pages, buf->npages, true);
	account_locked_vm(buf->mm, buf->npages, false);
	mmdrop(buf->mm);
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

static struct fastipc_buf *fastipc_buf_pin(u64 addr, u64 len)
{
	unsigned long first = addr >> PAGE_SHIFT;
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
	buf->npages = DIV_ROUND_UP(end, PAGE_SIZE) - first;
	/* User-sized: a failure is the caller's ENOMEM, not a kernel warning. */
	buf->pages = kvmalloc_array(buf->npages, sizeof(*buf->pages),
				    GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!buf->pages) {
		ret = -ENOMEM;
		goto out_free_buf;
	}

	ret = account_locked_vm(current->mm, buf->npages, true);
	if (ret)
		goto out_free_pages;
	buf->mm = current->mm;
	mmgrab(buf->mm);

	pinned = pin_user_pages_fast(addr & PAGE_MASK, buf->npages,
				     FOLL_WRITE | FOLL_LONGTERM, buf->pages);
	if (pinned != buf->npages) {
		if (pinned > 0)
			unpin_user_pages(buf->pages, pinned);
		ret = pinned < 0 ? pinned : -EFAULT;
		goto out_uncharge;
	}

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
	account_locked_vm(buf->mm, buf->npages, false);
	mmdrop(buf->mm);
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
