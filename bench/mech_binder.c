// SPDX-License-Identifier: GPL-2.0
/*
 * Android binder, spoken raw from <linux/android/binder.h>. The server is
 * the context manager (handle 0) and a looper thread; it answers each
 * transaction straight from the buffer the request arrived in and frees
 * that buffer in the same write. The client frees each reply's buffer with
 * its next transaction, so every round trip is one ioctl on its side.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/android/binder.h>

/* The most binder maps per process, so a 1 MiB request and reply fit. */
#define BINDER_MAP	(4u << 20)

struct bnd {
	struct srv srv;
	int fd;
	void *map;
	binder_uintptr_t prev;		/* client: the last reply's buffer */
	uint32_t status;		/* server: a oneway reply's bytes */
	uint8_t w[256], r[256];
	size_t wlen;
};

static void put(struct bnd *b, uint32_t cmd, const void *arg, size_t len)
{
	memcpy(b->w + b->wlen, &cmd, 4);
	if (len)
		memcpy(b->w + b->wlen + 4, arg, len);
	b->wlen += 4 + len;
}

/* Writes the queued commands, then reads what the driver returns into b->r: its length. */
static int xfer(struct bnd *b, bool read, size_t *rlen)
{
	struct binder_write_read bwr = {
		.write_size = b->wlen,
		.write_buffer = (uintptr_t)b->w,
		.read_size = read ? sizeof(b->r) : 0,
		.read_buffer = (uintptr_t)b->r,
	};

	while (ioctl(b->fd, BINDER_WRITE_READ, &bwr)) {
		if (errno != EINTR)
			return -errno;
	}
	if (bwr.write_consumed != b->wlen)
		return -EIO;
	b->wlen = 0;
	*rlen = bwr.read_consumed;
	return 0;
}

static int bnd_open(struct bnd *b, struct mech *m)
{
	struct binder_version v;

	b->fd = open("/dev/binder", O_RDWR | O_CLOEXEC);
	if (b->fd < 0) {
		snprintf(m->skip, sizeof(m->skip),
			 "no /dev/binder (%s); Debian's kernels need `modprobe binder_linux devices=binder`",
			 strerror(errno));
		return -errno;
	}
	if (ioctl(b->fd, BINDER_VERSION, &v) || v.protocol_version != BINDER_CURRENT_PROTOCOL_VERSION)
		return -EPROTO;
	b->map = mmap(NULL, BINDER_MAP, PROT_READ, MAP_PRIVATE, b->fd, 0);
	return b->map == MAP_FAILED ? -errno : 0;
}

/*
 * Writes the queued commands and reads until the driver returns @want
 * (BR_TRANSACTION or BR_REPLY), whose transaction lands in @tr.
 */
static int bnd_wait(struct bnd *b, uint32_t want, struct binder_transaction_data *tr)
{
	size_t rlen, off;
	uint32_t cmd;
	int ret;

	for (;;) {
		ret = xfer(b, true, &rlen);
		if (ret)
			return ret;
		for (off = 0; off + 4 <= rlen; off += 4 + _IOC_SIZE(cmd)) {
			memcpy(&cmd, b->r + off, 4);
			if (cmd == want) {
				memcpy(tr, b->r + off + 4, sizeof(*tr));
				return 0;
			}
			if (cmd == BR_DEAD_REPLY)
				return -EPIPE;
			if (cmd == BR_FAILED_REPLY || cmd == BR_ERROR)
				return -EIO;
		}
	}
}

/* The previous context manager may still be going away (the last placement's server). */
static int set_context_mgr(struct bnd *b)
{
	struct timespec ms = { 0, 1000000 };
	__s32 zero = 0;
	int i;

	for (i = 0; i < 5000; i++) {
		if (!ioctl(b->fd, BINDER_SET_CONTEXT_MGR, &zero))
			return 0;
		if (errno != EBUSY)
			break;
		nanosleep(&ms, NULL);
	}
	return -errno;
}

/* Queues the reply to one transaction and the freeing of its buffer: 1 when told to quit. */
static int answer(struct bnd *b, const struct binder_transaction_data *in)
{
	const uint8_t *data = (const uint8_t *)(uintptr_t)in->data.ptr.buffer;
	struct binder_transaction_data out = { 0 };
	int quit = 0;

	switch (BENCH_OP(in->code)) {
	case BENCH_ECHO:
		out.data.ptr.buffer = in->data.ptr.buffer;
		out.data_size = in->data_size;
		break;
	case BENCH_ONEWAY:
	case BENCH_QUIT:
		quit = BENCH_OP(in->code) == BENCH_QUIT;
		b->status = quit ? BENCH_QUIT_STATUS : bench_status(data, in->data_size);
		out.data.ptr.buffer = (uintptr_t)&b->status;
		out.data_size = sizeof(b->status);
		break;
	default:
		return -EPROTO;
	}
	put(b, BC_REPLY, &out, sizeof(out));
	put(b, BC_FREE_BUFFER, &in->data.ptr.buffer, sizeof(in->data.ptr.buffer));
	return quit;
}

static int bnd_server(struct bnd *b, struct mech *m)
{
	struct binder_transaction_data tr;
	size_t rlen;
	int ret;

	ret = bnd_open(b, m);
	if (!ret)
		ret = set_context_mgr(b);
	srv_ready(&b->srv, -ret);
	if (ret)
		return ret;
	put(b, BC_ENTER_LOOPER, NULL, 0);
	for (;;) {
		ret = bnd_wait(b, BR_TRANSACTION, &tr);
		if (!ret)
			ret = answer(b, &tr);
		if (ret < 0)
			return ret;
		if (ret)
			return xfer(b, false, &rlen);
	}
}

static int bnd_start(struct mech *m, const struct bench_params *p)
{
	struct bnd *b = calloc(1, sizeof(*b));
	int ret;

	if (!b)
		return -ENOMEM;
	b->fd = -1;
	m->priv = b;
	if (access("/dev/binder", F_OK)) {
		snprintf(m->skip, sizeof(m->skip),
			 "no /dev/binder; Debian's kernels need `modprobe binder_linux devices=binder`");
		return -ENOENT;
	}
	if (p->max_payload > BINDER_MAP / 2)
		return -EMSGSIZE;
	ret = srv_fork(&b->srv, p->server_cpu);
	if (ret == 0)
		_exit(bnd_server(b, m) ? 1 : 0);
	if (ret < 0)
		return ret;
	m->server_pid = b->srv.pid;
	ret = srv_wait_ready(&b->srv);
	return ret ? ret : bnd_open(b, m);
}

static int bnd_call(struct mech *m, struct bench_call *c)
{
	struct bnd *b = m->priv;
	struct binder_transaction_data tr = {
		.target.handle = 0,
		.code = c->op,
		.data_size = c->len,
		.data.ptr.buffer = (uintptr_t)c->req,
	};
	int ret;

	if (b->prev)
		put(b, BC_FREE_BUFFER, &b->prev, sizeof(b->prev));
	b->prev = 0;
	put(b, BC_TRANSACTION, &tr, sizeof(tr));
	ret = bnd_wait(b, BR_REPLY, &tr);
	if (ret)
		return ret;
	b->prev = tr.data.ptr.buffer;
	if (tr.flags & TF_STATUS_CODE)
		return -EIO;
	c->reply = (const uint8_t *)(uintptr_t)tr.data.ptr.buffer;
	c->reply_len = tr.data_size;
	c->status = 0;
	if (BENCH_OP(c->op) != BENCH_ECHO && tr.data_size == 4) {
		memcpy(&c->status, c->reply, 4);
		c->reply_len = 0;
	}
	return 0;
}

static int bnd_stop(struct mech *m)
{
	struct bnd *b = m->priv;
	int ret;

	if (!b)
		return 0;
	ret = srv_stop(&b->srv, m->quit);
	if (b->map && b->map != MAP_FAILED)
		munmap(b->map, BINDER_MAP);
	if (b->fd >= 0)
		close(b->fd);
	free(b);
	m->priv = NULL;
	return ret;
}

struct mech mech_binder = {
	.name = "binder",
	.note = "raw binder protocol; server replies from the received buffer, frees it in the same write",
	/*
	 * Its figures depend on the calls that went through it before: on the
	 * icount board one process's null echo settled at 23.3k, another's at
	 * 24.3k instructions, steady within each; started afresh, 23.3k.
	 */
	.fresh_each_round = true,
	.start = bnd_start,
	.call = bnd_call,
	.stop = bnd_stop,
};
