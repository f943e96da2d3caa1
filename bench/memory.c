// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel memory per idle endpoint and per connected client, against a UNIX
 * socketpair: the Slab and VmallocUsed growth of /proc/meminfo over 1000 of
 * each, the median of three rounds.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/fastipc.h>

#define NOBJ	1000
#define ROUNDS	3

enum obj { ENDPOINT, CLIENT, CLIENT_BUF, SOCKETPAIR, NKINDS };

static const char *const obj_names[] = {
	"fastipc-endpoint", "fastipc-client", "fastipc-client-4k-reply-buf", "unix-socketpair",
};

struct meminfo {
	long slab_kb, vmalloc_kb;
};

static struct meminfo meminfo(void)
{
	struct meminfo m = { -1, -1 };
	char line[256];
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return m;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "Slab: %ld kB", &m.slab_kb);
		sscanf(line, "VmallocUsed: %ld kB", &m.vmalloc_kb);
	}
	fclose(f);
	return m;
}

/* An endpoint with a 4 KiB pool of one slot, at @page. */
static int endpoint(uint8_t *page)
{
	struct fastipc_buf_register reg = { .addr = (uintptr_t)page, .len = 4096 };
	struct fastipc_ep_create ep = { .slot_size = 4096, .nslots = 1 };
	int fd = open("/dev/fastipc", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ioctl(fd, FASTIPC_IOC_BUF_REGISTER, &reg))
		goto fail;
	ep.pool_buf = reg.id;
	if (ioctl(fd, FASTIPC_IOC_EP_CREATE, &ep))
		goto fail;
	return fd;
fail:
	close(fd);
	return -errno;
}

static int client(int ep, uint8_t *page)
{
	struct fastipc_buf_register reg = { .addr = (uintptr_t)page, .len = 4096 };
	struct fastipc_connect conn = { .flags = FASTIPC_CONNECT_FD, .ep_fd = ep };
	int fd = open("/dev/fastipc", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if ((page && ioctl(fd, FASTIPC_IOC_BUF_REGISTER, &reg)) ||
	    ioctl(fd, FASTIPC_IOC_CONNECT, &conn)) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* Makes NOBJ objects of @kind into @fds (two per socketpair). */
static int make(enum obj kind, int ep, uint8_t *pages, int *fds)
{
	int i;

	for (i = 0; i < NOBJ; i++) {
		switch (kind) {
		case ENDPOINT:
			fds[i] = endpoint(pages + 4096 * i);
			break;
		case CLIENT:
		case CLIENT_BUF:
			fds[i] = client(ep, kind == CLIENT_BUF ? pages + 4096 * i : NULL);
			break;
		default:
			fds[i] = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds + NOBJ + 2 * i)
				 ? -errno : 0;
			break;
		}
		if (fds[i] < 0)
			return fds[i];
	}
	return 0;
}

static void destroy(enum obj kind, int *fds)
{
	int i;

	for (i = 0; i < NOBJ; i++) {
		if (kind == SOCKETPAIR) {
			close(fds[NOBJ + 2 * i]);
			close(fds[NOBJ + 2 * i + 1]);
		} else {
			close(fds[i]);
		}
	}
}

static long median3(long *v)
{
	long a = v[0], b = v[1], c = v[2];

	return a > b ? (b > c ? b : a > c ? c : a) : (a > c ? a : b > c ? c : b);
}

int measure_memory(const char *outdir)
{
	struct rlimit nofile = { 4 * NOBJ, 4 * NOBJ };
	static int fds[3 * NOBJ];
	long slab[ROUNDS], vm[ROUNDS], s, v;
	uint8_t *pages = bench_map(4096 * (NOBJ + 1), false);
	struct meminfo a, b;
	char path[4096];
	int kind, r, ep = -1, ret;
	FILE *f;

	if (!pages || setrlimit(RLIMIT_NOFILE, &nofile))
		return bench_fail("memory: set-up", errno);
	snprintf(path, sizeof(path), "%s/memory.csv", outdir);
	f = fopen(path, "w");
	if (!f)
		return bench_fail(path, errno);
	fprintf(f, "object,count,slab_bytes_per_object,vmalloc_bytes_per_object\n");
	printf("Kernel memory per object (Slab and VmallocUsed growth over %d, median of %d rounds):\n",
	       NOBJ, ROUNDS);
	for (kind = 0; kind < NKINDS; kind++) {
		if (kind == CLIENT || kind == CLIENT_BUF) {
			/* The clients' endpoint is made before the first snapshot. */
			ep = endpoint(pages);
			if (ep < 0)
				return bench_fail("memory: endpoint", ep);
		}
		for (r = 0; r < ROUNDS; r++) {
			a = meminfo();
			ret = make(kind, ep, kind == CLIENT_BUF ? pages + 4096 : pages, fds);
			if (ret) {
				fclose(f);
				return bench_fail(obj_names[kind], ret);
			}
			b = meminfo();
			destroy(kind, fds);
			slab[r] = (b.slab_kb - a.slab_kb) * 1024;
			vm[r] = (b.vmalloc_kb - a.vmalloc_kb) * 1024;
		}
		if (ep >= 0)
			close(ep);
		ep = -1;
		s = median3(slab) / NOBJ;
		v = median3(vm) / NOBJ;
		fprintf(f, "%s,%d,%ld,%ld\n", obj_names[kind], NOBJ, s, v);
		printf("  %-30s slab %6ld B  vmalloc %6ld B\n", obj_names[kind], s, v);
	}
	munmap(pages, 4096 * (NOBJ + 1));
	return fclose(f) ? bench_fail(path, errno) : 0;
}
