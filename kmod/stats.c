// SPDX-License-Identifier: GPL-2.0
/*
 * Counters and live-object counts, read from debugfs fastipc/stats. The
 * counters are per CPU so the call path never shares a cache line for them.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "fastipc.h"

DEFINE_PER_CPU(u64, fastipc_stats[FASTIPC_STAT_NR]);
atomic_long_t fastipc_objects[FASTIPC_OBJ_NR];

static const char * const fastipc_stat_names[FASTIPC_STAT_NR] = {
	[FASTIPC_STAT_CALLS] = "calls",
	[FASTIPC_STAT_SENDS] = "sends",
	[FASTIPC_STAT_FORWARDS] = "forwards",
	[FASTIPC_STAT_REPLIES] = "replies",
	[FASTIPC_STAT_HANDOFFS] = "handoffs",
	[FASTIPC_STAT_QUEUED] = "queued",
	[FASTIPC_STAT_CANCELLED] = "cancelled",
	[FASTIPC_STAT_ERRORS] = "errors",
	[FASTIPC_STAT_BYTES] = "bytes",
	[FASTIPC_STAT_COPY_UNROLLED] = "copy_unrolled",
	[FASTIPC_STAT_COPY_KERNEL] = "copy_copy_from_user",
	[FASTIPC_STAT_COPY_MOVSQ] = "copy_movsq",
	[FASTIPC_STAT_COPY_NT] = "copy_nontemporal",
};

static const char * const fastipc_object_names[FASTIPC_OBJ_NR] = {
	[FASTIPC_OBJ_PORTS] = "ports",
	[FASTIPC_OBJ_ENDPOINTS] = "endpoints",
	[FASTIPC_OBJ_BUFS] = "buffers",
};

static int fastipc_stats_show(struct seq_file *m, void *unused)
{
	int i, cpu;

	for (i = 0; i < FASTIPC_STAT_NR; i++) {
		u64 sum = 0;

		for_each_possible_cpu(cpu)
			sum += per_cpu(fastipc_stats[i], cpu);
		seq_printf(m, "%s:\t%llu\n", fastipc_stat_names[i], sum);
	}
	for (i = 0; i < FASTIPC_OBJ_NR; i++)
		seq_printf(m, "live_%s:\t%ld\n", fastipc_object_names[i],
			   atomic_long_read(&fastipc_objects[i]));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(fastipc_stats);

void fastipc_stats_init(struct dentry *debugfs_dir)
{
	debugfs_create_file("stats", 0444, debugfs_dir, NULL, &fastipc_stats_fops);
}
