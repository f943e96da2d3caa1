/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fastipc private header: the objects shared by the module's files.
 */
#ifndef _FASTIPC_H
#define _FASTIPC_H

#include <linux/fs.h>
#include <linux/types.h>
#include <linux/fastipc.h>

/**
 * struct fastipc_file - state of one open /dev/fastipc file
 * @file: the file this state hangs off.
 */
struct fastipc_file {
	struct file *file;
};

#endif /* _FASTIPC_H */
