// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel memory per idle endpoint and per connected client, against a UNIX
 * socketpair: what making many of each adds, the median of three rounds.
 * Writes memory.csv, one row per kind of object:
 *
 *   object,count,slab_bytes_per_object,vmalloc_bytes_per_object,
 *   vmap_bytes_per_object,pinned_bytes_per_object
 *
 * slab and vmalloc: the growth of /proc/meminfo's Slab and VmallocUsed (the
 * port, endpoint and buffer structs; arrays too large for kmalloc go to
 * vmalloc). vmap: the kernel address space the module maps registered
 * buffers into (its vmap() areas in /proc/vmallocinfo, guard page
 * included): address space, not memory, since the pages are the user's.
 * pinned: the user's pages the module pins for as long as the buffer is
 * registered (VmPin in /proc/self/status), which can be neither swapped
 * nor migrated and count against RLIMIT_MEMLOCK.
 *
 * Rows: fastipc-endpoint (a 4 KiB pool of one slot), then endpoints of
 * other shapes, fastipc-endpoint-SLOTxNSLOTS; fastipc-client without
 * and with a registered 4 KiB reply buffer; unix-socketpair. Big pools are
 * made fewer at a time, so that no row pins more than 128 MiB.
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
/* The most pool bytes one row makes at a time. */
#define MAX_POOLS	(128u << 20)

enum kind { ENDPOINT, CLIENT, CLIENT_BUF, SOCKETPAIR };

static const struct obj {
	const char *name;
	enum kind kind;
	uint32_t slot, nslots;		/* an endpoint's pool */
} objs[] = {
	{ "fastipc-endpoint", ENDPOINT, 4096, 1 },
	{ "fastipc-endpoint-64x64", ENDPOINT, 64, 64 },
	{ "fastipc-endpoint-4096x64", ENDPOINT, 4096, 64 },
	{ "fastipc-endpoint-65536x16", ENDPOINT, 65536, 16 },
	{ .name = "fastipc-client", .kind = CLIENT },
	{ .name = "fastipc-client-4k-reply-buf", .kind = CLIENT_BUF },
	{ .name = "unix-socketpair", .kind = SOCKETPAIR },
};
#define NOBJS	(int)(sizeof(objs) / sizeof(objs[0]))

/* Bytes in use, as the comment at the top says. */
struct usage {
	long slab, vmalloc, vmap, pinned;
};

static long kb_field(const char *path, const char *fmt)
{
	char line[256];
	FILE *f = fopen(path, "r");
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && sscanf(line, fmt, &kb) != 1)
		;
	fclose(f);
	return kb * 1024;
}

/* The address space of the module's vmap() areas: whose caller is in fastipc. */
static long vmap_bytes(void)
{
	char line[512];
	FILE *f = fopen("/proc/vmallocinfo", "r");
	long sum = 0, size;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[fastipc]") && strstr(line, " vmap") &&
		    sscanf(line, "%*s %ld", &size) == 1)
			sum += size;
	fclose(f);
	return sum;
}

static struct usage usage(void)
{
	return (struct usage){
		.slab = kb_field("/proc/meminfo", "Slab: %ld kB"),
		.vmalloc = kb_field("/proc/meminfo", "VmallocUsed: %ld kB"),
		.vmap = vmap_bytes(),
		.pinned = kb_field("/proc/self/status", "VmPin: %ld kB"),
	};
}

/* An endpoint of @o's shape with its pool at @pool. */
static int endpoint(const struct obj *o, uint8_t *pool)
{
	struct fastipc_ep_create ep = { .slot_size = o->slot, .nslots = o->nslots };
	int fd = open("/dev/fastipc", O_RDWR | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = fipc_register(fd, pool, (size_t)o->slot * o->nslots, &ep.pool_buf);
	if (!ret)
		ret = fipc_ioctl(fd, FASTIPC_IOC_EP_CREATE, &ep);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

/* How many of @o one round makes. */
static int count(const struct obj *o)
{
	size_t pool = (size_t)o->slot * o->nslots;

	return o->kind != ENDPOINT || pool * NOBJ <= MAX_POOLS ? NOBJ : (int)(MAX_POOLS / pool);
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

/* Makes @n objects of @o's kind into @fds (two per socketpair). */
static int make(const struct obj *o, int n, int ep, uint8_t *pages, int *fds)
{
	size_t pool = (size_t)o->slot * o->nslots;
	int i;

	for (i = 0; i < n; i++) {
		switch (o->kind) {
		case ENDPOINT:
			fds[i] = endpoint(o, pages + pool * i);
			break;
		case CLIENT:
		case CLIENT_BUF:
			fds[i] = client(ep, o->kind == CLIENT_BUF ? pages + 4096 * i : NULL);
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

static void destroy(enum kind kind, int n, int *fds)
{
	int i;

	for (i = 0; i < n; i++) {
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
	static const struct obj ep_obj = { "clients' endpoint", ENDPOINT, 4096, 1 };
	static int fds[3 * NOBJ];
	long v[4][ROUNDS], per[4];
	size_t len = MAX_POOLS + 4096;
	uint8_t *pages = bench_map(len, false);
	struct usage a, b;
	char path[4096];
	int i, k, n, r, ep = -1, ret;
	FILE *f;

	if (!pages || setrlimit(RLIMIT_NOFILE, &nofile))
		return bench_fail("memory: set-up", errno);
	snprintf(path, sizeof(path), "%s/memory.csv", outdir);
	f = fopen(path, "w");
	if (!f)
		return bench_fail(path, errno);
	fprintf(f, "object,count,slab_bytes_per_object,vmalloc_bytes_per_object,"
		"vmap_bytes_per_object,pinned_bytes_per_object\n");
	printf("Kernel memory per object (growth over many, median of %d rounds):\n", ROUNDS);
	for (i = 0; i < NOBJS; i++) {
		n = count(&objs[i]);
		if (objs[i].kind == CLIENT || objs[i].kind == CLIENT_BUF) {
			/* The clients' endpoint is made before the first snapshot. */
			ep = endpoint(&ep_obj, pages);
			if (ep < 0)
				return bench_fail("memory: endpoint", ep);
		}
		for (r = 0; r < ROUNDS; r++) {
			a = usage();
			ret = make(&objs[i], n, ep, ep >= 0 ? pages + 4096 : pages, fds);
			if (ret) {
				fclose(f);
				return bench_fail(objs[i].name, ret);
			}
			b = usage();
			destroy(objs[i].kind, n, fds);
			v[0][r] = b.slab - a.slab;
			v[1][r] = b.vmalloc - a.vmalloc;
			v[2][r] = b.vmap - a.vmap;
			v[3][r] = b.pinned - a.pinned;
		}
		if (ep >= 0)
			close(ep);
		ep = -1;
		for (k = 0; k < 4; k++)
			per[k] = median3(v[k]) / n;
		fprintf(f, "%s,%d,%ld,%ld,%ld,%ld\n", objs[i].name, n, per[0], per[1], per[2],
			per[3]);
		printf("  %-30s slab %6ld B  vmalloc %6ld B  vmap %8ld B  pinned %8ld B\n",
		       objs[i].name, per[0], per[1], per[2], per[3]);
	}
	munmap(pages, len);
	return fclose(f) ? bench_fail(path, errno) : 0;
}
