// SPDX-License-Identifier: GPL-2.0
/*
 * fastipc: the misc device, its file operations and the ioctl dispatch table.
 *
 * Locking: port->mutex guards the port's role, which is set once and then
 * read without the lock through smp_load_acquire(). See fastipc.h for the
 * order of all locks.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/debugfs.h>
#include <linux/file.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "fastipc.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

static const struct file_operations fastipc_fops;
static struct dentry *fastipc_debugfs;

static int fastipc_cmd_version(struct fastipc_port *port, void *data)
{
	struct fastipc_version *arg = data;

	if (arg->flags || arg->reserved[0] || arg->reserved[1])
		return -EINVAL;
	arg->abi_version = FASTIPC_ABI_VERSION;
	arg->features = FASTIPC_F_ALL;
	return 0;
}

/*
 * The port's endpoint if the port has @role; else ENOTCONN for a client
 * command on a port not connected yet, EBADFD for any other mismatch.
 */
struct fastipc_endpoint *fastipc_port_ep(struct fastipc_port *port, int role)
{
	/* Pairs with the release that publishes port->ep with the role. */
	int have = smp_load_acquire(&port->role);

	if (have == role)
		return port->ep;
	if (have == FASTIPC_ROLE_NONE && role == FASTIPC_ROLE_CLIENT)
		return ERR_PTR(-ENOTCONN);
	return ERR_PTR(-EBADFD);
}

/*
 * The endpoint the fastipc port @file is or reaches, with a reference; NULL
 * if @file is no port, -EINVAL if it is one with no role.
 */
struct fastipc_endpoint *fastipc_file_ep(struct file *file)
{
	struct fastipc_endpoint *ep;
	struct fastipc_port *port;

	if (file->f_op != &fastipc_fops)
		return NULL;
	port = file->private_data;
	/* Pairs with the release that publishes port->ep with the role. */
	if (smp_load_acquire(&port->role) == FASTIPC_ROLE_NONE)
		return ERR_PTR(-EINVAL);
	ep = port->ep;
	kref_get(&ep->ref);
	return ep;
}

/* The endpoint a fastipc fd is or reaches, with a reference. */
struct fastipc_endpoint *fastipc_ep_get_from_fd(int fd)
{
	struct fastipc_endpoint *ep;
	struct file *file;

	file = fget(fd);
	if (!file)
		return ERR_PTR(-EBADF);
	ep = fastipc_file_ep(file) ?: ERR_PTR(-EINVAL);
	fput(file);
	return ep;
}

/*
 * One entry per command. The handler works on a kernel copy of the whole
 * struct, which goes back to user space only when the handler succeeds, or,
 * for a command marked restart_copies, when it returns -ERESTARTSYS having
 * rewritten the struct for its restart (SERVE whose reply went out).
 */
struct fastipc_ioctl_op {
	unsigned int cmd;
	int (*fn)(struct fastipc_port *port, void *arg);
	bool restart_copies;
};

static const struct fastipc_ioctl_op fastipc_ops[] = {
	[_IOC_NR(FASTIPC_IOC_VERSION)] = { FASTIPC_IOC_VERSION, fastipc_cmd_version },
	[_IOC_NR(FASTIPC_IOC_BUF_REGISTER)] = { FASTIPC_IOC_BUF_REGISTER,
						fastipc_cmd_buf_register },
	[_IOC_NR(FASTIPC_IOC_BUF_UNREGISTER)] = { FASTIPC_IOC_BUF_UNREGISTER,
						  fastipc_cmd_buf_unregister },
	[_IOC_NR(FASTIPC_IOC_EP_CREATE)] = { FASTIPC_IOC_EP_CREATE, fastipc_cmd_ep_create },
	[_IOC_NR(FASTIPC_IOC_CONNECT)] = { FASTIPC_IOC_CONNECT, fastipc_cmd_connect },
	[_IOC_NR(FASTIPC_IOC_CALL)] = { FASTIPC_IOC_CALL, fastipc_cmd_call },
	[_IOC_NR(FASTIPC_IOC_SEND)] = { FASTIPC_IOC_SEND, fastipc_cmd_send },
	[_IOC_NR(FASTIPC_IOC_SERVE)] = { FASTIPC_IOC_SERVE, fastipc_cmd_serve, true },
	[_IOC_NR(FASTIPC_IOC_FORWARD)] = { FASTIPC_IOC_FORWARD, fastipc_cmd_forward },
};

union fastipc_ioctl_buf {
	struct fastipc_version version;
	struct fastipc_buf_register buf_register;
	struct fastipc_buf_unregister buf_unregister;
	struct fastipc_ep_create ep_create;
	struct fastipc_connect connect;
	struct fastipc_call call;
	struct fastipc_send send;
	struct fastipc_serve serve;
	struct fastipc_forward forward;
};

/* Inlined, so that a size known at compile time stays known to the copy. */
static __always_inline unsigned long fastipc_copy_sized(union fastipc_ioctl_buf *buf,
							void __user *argp, size_t size,
							bool out)
{
	return out ? copy_to_user(argp, buf, size) : copy_from_user(buf, argp, size);
}

/*
 * Copy a command's struct in or out. The calls' and messages' commands copy
 * a size known at compile time, which spares them hardened usercopy's
 * checks of the kernel object at run time; the others the size their
 * command number says, which the table has checked.
 */
static unsigned long fastipc_arg_copy(union fastipc_ioctl_buf *buf, void __user *argp,
				      unsigned int cmd, bool out)
{
	switch (cmd) {
	case FASTIPC_IOC_CALL:
		return fastipc_copy_sized(buf, argp, sizeof(buf->call), out);
	case FASTIPC_IOC_SEND:
		return fastipc_copy_sized(buf, argp, sizeof(buf->send), out);
	case FASTIPC_IOC_SERVE:
		return fastipc_copy_sized(buf, argp, sizeof(buf->serve), out);
	default:
		return fastipc_copy_sized(buf, argp, _IOC_SIZE(cmd), out);
	}
}

static long fastipc_ioctl(struct file *file, unsigned int cmd, unsigned long uarg)
{
	void __user *argp = (void __user *)uarg;
	const struct fastipc_ioctl_op *op;
	union fastipc_ioctl_buf buf;
	unsigned int nr = _IOC_NR(cmd);
	int ret;

	if (_IOC_TYPE(cmd) != FASTIPC_IOCTL_MAGIC || nr >= ARRAY_SIZE(fastipc_ops))
		return -ENOTTY;
	op = &fastipc_ops[array_index_nospec(nr, ARRAY_SIZE(fastipc_ops))];
	if (op->cmd != cmd)
		return -ENOTTY;

	if (fastipc_arg_copy(&buf, argp, cmd, false))
		return -EFAULT;
	ret = op->fn(file->private_data, &buf);
	if ((!ret || (ret == -ERESTARTSYS && op->restart_copies)) &&
	    fastipc_arg_copy(&buf, argp, cmd, true))
		ret = -EFAULT;
	/* A restart is no error: the command goes on after the interruption. */
	if (ret && ret != -ERESTARTSYS && ret != -ERESTARTNOINTR) {
		trace_fastipc_error(nr, ret);
		fastipc_stat_add(FASTIPC_STAT_ERRORS, 1);
	}
	return ret;
}

static __poll_t fastipc_poll(struct file *file, poll_table *wait)
{
	struct fastipc_port *port = file->private_data;
	/* Pairs with the release that publishes port->ep with the role. */
	int role = smp_load_acquire(&port->role);

	if (role == FASTIPC_ROLE_NONE)
		return 0;
	return fastipc_ep_poll(port->ep, role, file, wait);
}

/* A new port with no role, charged to the current euid. */
static struct fastipc_port *fastipc_port_alloc(void)
{
	struct fastipc_port *port;

	port = kzalloc(sizeof(*port), GFP_KERNEL_ACCOUNT);
	if (!port)
		return NULL;
	port->user = fastipc_user_get();
	if (!port->user) {
		kfree(port);
		return NULL;
	}
	mutex_init(&port->mutex);
	spin_lock_init(&port->buf_lock);
	fastipc_uring_port_init(port);
	spin_lock_init(&port->parked_lock);
	INIT_LIST_HEAD(&port->parked);
	atomic_long_inc(&fastipc_objects[FASTIPC_OBJ_PORTS]);
	return port;
}

static void fastipc_port_free(struct fastipc_port *port)
{
	fastipc_user_put(port->user);
	mutex_destroy(&port->mutex);
	kfree(port);
	atomic_long_dec(&fastipc_objects[FASTIPC_OBJ_PORTS]);
}

static int fastipc_open(struct inode *inode, struct file *file)
{
	struct fastipc_port *port = fastipc_port_alloc();

	if (!port)
		return -ENOMEM;
	file->private_data = port;
	return 0;
}

/*
 * A new client port of @ep, as an anonymous file: how a port carried by a
 * message arrives (fds.c). Takes over the caller's reference to @ep on
 * success.
 */
struct file *fastipc_client_file(struct fastipc_endpoint *ep)
{
	struct fastipc_port *port = fastipc_port_alloc();
	struct file *file;

	if (!port)
		return ERR_PTR(-ENOMEM);
	port->ep = ep;
	port->role = FASTIPC_ROLE_CLIENT;
	file = anon_inode_getfile("[fastipc]", &fastipc_fops, port, O_RDWR);
	if (IS_ERR(file)) {
		port->ep = NULL;
		fastipc_port_free(port);
	}
	return file;
}

static int fastipc_release(struct inode *inode, struct file *file)
{
	struct fastipc_port *port = file->private_data;

	fastipc_uring_port_release(port);
	fastipc_port_release_parked(port);
	if (port->role == FASTIPC_ROLE_ENDPOINT)
		fastipc_ep_shutdown(port->ep);
	if (port->role != FASTIPC_ROLE_NONE)
		fastipc_ep_put(port->ep);
	fastipc_port_release_bufs(port);
	fastipc_port_free(port);
	return 0;
}

/* What a stuck server or client is doing, as /proc/<pid>/fdinfo/<fd> lines. */
static void fastipc_show_fdinfo(struct seq_file *m, struct file *file)
{
	static const char * const roles[] = { "none", "endpoint", "client" };
	struct fastipc_port *port = file->private_data;
	/* Pairs with the release that publishes port->ep with the role. */
	int role = smp_load_acquire(&port->role);
	struct fastipc_endpoint *ep = port->ep;
	struct list_head *pos;
	unsigned int idle = 0, uring_ops = 0, parked = 0;
	u64 bytes = 0;
	int i;

	spin_lock(&port->buf_lock);
	for (i = 0; i < FASTIPC_MAX_BUFS; i++)
		bytes += port->bufs[i] ? port->bufs[i]->len : 0;
	spin_unlock(&port->buf_lock);
	spin_lock(&port->uring_lock);
	list_for_each(pos, &port->uring_ops)
		uring_ops++;
	spin_unlock(&port->uring_lock);
	spin_lock(&port->parked_lock);
	list_for_each(pos, &port->parked)
		parked++;
	spin_unlock(&port->parked_lock);
	seq_printf(m, "role:\t%s\n", roles[role]);
	seq_printf(m, "registered_bytes:\t%llu\n", bytes);
	seq_printf(m, "uring_waiting:\t%u\n", uring_ops);
	seq_printf(m, "parked_calls:\t%u\n", parked);
	if (role == FASTIPC_ROLE_NONE)
		return;

	spin_lock(&ep->lock);
	list_for_each(pos, &ep->idle)
		idle++;
	seq_printf(m, "endpoint:\t%llu\n", ep->id);
	seq_printf(m, "name:\t%s\n", ep->named ? ep->name : "");
	seq_printf(m, "dead:\t%d\n", ep->dead);
	seq_printf(m, "slots:\t%u x %u bytes\n", ep->nslots, ep->slot_size);
	seq_printf(m, "free_slots:\t%u\n", ep->nfree);
	seq_printf(m, "queued:\t%u\n", ep->npending);
	seq_printf(m, "held:\t%u\n", ep->nslots - ep->nfree - ep->npending);
	seq_printf(m, "oneway:\t%u/%u\n", ep->noneway, ep->max_oneway);
	seq_printf(m, "waiting_threads:\t%u\n", idle);
	spin_unlock(&ep->lock);
}

static const struct file_operations fastipc_fops = {
	.owner		= THIS_MODULE,
	.open		= fastipc_open,
	.release	= fastipc_release,
	.unlocked_ioctl	= fastipc_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.uring_cmd	= fastipc_uring_cmd,
	.poll		= fastipc_poll,
	.show_fdinfo	= fastipc_show_fdinfo,
	.llseek		= noop_llseek,
};

static struct miscdevice fastipc_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "fastipc",
	.fops	= &fastipc_fops,
	.mode	= 0666,
};

static int __init fastipc_init(void)
{
	int ret;

	fastipc_debugfs = debugfs_create_dir(KBUILD_MODNAME, NULL);
	fastipc_stats_init(fastipc_debugfs);
	ret = fastipc_copy_init(fastipc_debugfs);
	if (ret)
		goto out_debugfs;
	ret = fastipc_fds_init();
	if (ret)
		goto out_debugfs;
	ret = misc_register(&fastipc_misc);
	if (ret) {
		pr_err("cannot register /dev/fastipc: %d\n", ret);
		goto out_fds;
	}
	return 0;

out_fds:
	fastipc_fds_exit();
out_debugfs:
	debugfs_remove_recursive(fastipc_debugfs);
	return ret;
}

static void __exit fastipc_exit(void)
{
	misc_deregister(&fastipc_misc);
	fastipc_fds_exit();
	debugfs_remove_recursive(fastipc_debugfs);
}

module_init(fastipc_init);
module_exit(fastipc_exit);

MODULE_DESCRIPTION("fastipc: synchronous local IPC with a single copy per message");
MODULE_LICENSE("GPL");
