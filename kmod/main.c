// SPDX-License-Identifier: GPL-2.0
/*
 * fastipc: the misc device, its file operations and the ioctl dispatch table.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "fastipc.h"

#define FASTIPC_FEATURES	0ULL

static int fastipc_ioc_version(struct fastipc_file *ff, void *arg)
{
	struct fastipc_version *ver = arg;

	if (ver->flags || ver->abi_version || ver->features ||
	    ver->reserved[0] || ver->reserved[1])
		return -EINVAL;
	ver->abi_version = FASTIPC_ABI_VERSION;
	ver->features = FASTIPC_FEATURES;
	return 0;
}

/*
 * One entry per command: the handler works on a kernel copy of the argument,
 * copied in before and, for out fields, back after the call.
 */
struct fastipc_ioctl_op {
	unsigned int cmd;
	int (*fn)(struct fastipc_file *ff, void *arg);
};

static const struct fastipc_ioctl_op fastipc_ops[] = {
	[_IOC_NR(FASTIPC_IOC_VERSION)] = { FASTIPC_IOC_VERSION, fastipc_ioc_version },
};

union fastipc_ioctl_buf {
	struct fastipc_version version;
};

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

	if (copy_from_user(&buf, argp, _IOC_SIZE(cmd)))
		return -EFAULT;
	ret = op->fn(file->private_data, &buf);
	if (ret)
		return ret;
	if (copy_to_user(argp, &buf, _IOC_SIZE(cmd)))
		return -EFAULT;
	return 0;
}

static int fastipc_open(struct inode *inode, struct file *file)
{
	struct fastipc_file *ff;

	ff = kzalloc(sizeof(*ff), GFP_KERNEL);
	if (!ff)
		return -ENOMEM;
	ff->file = file;
	file->private_data = ff;
	return 0;
}

static int fastipc_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

static const struct file_operations fastipc_fops = {
	.owner		= THIS_MODULE,
	.open		= fastipc_open,
	.release	= fastipc_release,
	.unlocked_ioctl	= fastipc_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
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

	ret = misc_register(&fastipc_misc);
	if (ret)
		pr_err("cannot register /dev/fastipc: %d\n", ret);
	return ret;
}

static void __exit fastipc_exit(void)
{
	misc_deregister(&fastipc_misc);
}

module_init(fastipc_init);
module_exit(fastipc_exit);

MODULE_DESCRIPTION("fastipc: synchronous local IPC with a single copy per message");
MODULE_LICENSE("GPL");
