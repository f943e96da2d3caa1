// SPDX-License-Identifier: GPL-2.0
/*
 * fastipc through its raw ioctls: an endpoint whose server answers and
 * receives in one FASTIPC_IOC_SERVE, echoing straight from the pool slot,
 * and a client whose replies land in its registered buffer.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/fastipc.h>

struct fipc {
	struct srv srv;
	int fd;			/* the client port */
	uint8_t *reply;		/* registered reply buffer */
	size_t reply_len;
	uint32_t reply_id;
	uint32_t status;
};

int fipc_register(int fd, void *addr, size_t len, uint32_t *id)
{
	struct fastipc_buf_register reg = { .addr = (uintptr_t)addr, .len = len };
	int ret = fipc_ioctl(fd, FASTIPC_IOC_BUF_REGISTER, &reg);

	*id = reg.id;
	return ret;
}

/* Makes port @fd an endpoint of @nslots slots of @slot bytes, in a pool mapped at *@pool. */
int fipc_endpoint(int fd, uint32_t slot, uint32_t nslots, uint8_t **pool)
{
	struct fastipc_ep_create ep = { .slot_size = slot, .nslots = nslots };
	size_t len = (size_t)slot * nslots;
	int ret;

	*pool = bench_map(len, false);
	if (!*pool)
		return -ENOMEM;
	ret = fipc_register(fd, *pool, len, &ep.pool_buf);
	return ret ?: fipc_ioctl(fd, FASTIPC_IOC_EP_CREATE, &ep);
}

/* A new client port connected through @ep_fd, with @len bytes at @buf registered as *@id. */
int fipc_client(int ep_fd, void *buf, size_t len, uint32_t *id)
{
	struct fastipc_connect conn = { .flags = FASTIPC_CONNECT_FD, .ep_fd = ep_fd };
	int fd, ret;

	fd = open("/dev/fastipc", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = fipc_register(fd, buf, len, id);
	if (!ret)
		ret = fipc_ioctl(fd, FASTIPC_IOC_CONNECT, &conn);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

/* The reply, if any, to the message just received; the stream's verdict rides on it. */
static int serve_one(const struct fastipc_serve *m, const uint8_t *data, struct stream_rx *rx,
		     struct fastipc_serve *next)
{
	struct bench_stream_req sr;

	memset(next, 0, sizeof(*next));
	next->flags = FASTIPC_SERVE_REPLY | FASTIPC_SERVE_RECV;
	next->reply_token = m->token;
	switch (BENCH_OP(m->opcode)) {
	case BENCH_ECHO:
		next->reply_addr = (uintptr_t)data;
		next->reply_len = m->len;
		break;
	case BENCH_ONEWAY:
		next->reply_status = bench_status(data, m->len);
		break;
	case BENCH_STREAM:
		if (m->len != sizeof(sr))
			return -EPROTO;
		memcpy(&sr, data, sizeof(sr));
		stream_rx_begin(rx, &sr);
		break;
	case BENCH_STREAM_DATA:
		if (m->len != rx->chunk)
			rx->bad = true;
		stream_rx_check(rx, data, m->len);
		break;
	case BENCH_STREAM_END:
		next->reply_status = stream_rx_ok(rx) ? 0 : -EBADMSG;
		break;
	case BENCH_QUIT:
		next->reply_status = BENCH_QUIT_STATUS;
		next->flags = FASTIPC_SERVE_REPLY;
		return 1;
	default:
		return -EPROTO;
	}
	return 0;
}

static int fipc_server(int fd, const struct bench_params *p, struct srv *srv)
{
	uint32_t slot = p->max_payload > p->max_chunk ? p->max_payload : p->max_chunk;
	struct stream_rx rx = { 0 };
	struct fastipc_serve m = { .flags = FASTIPC_SERVE_RECV }, next;
	uint8_t *pool;
	int ret, done;

	ret = fipc_endpoint(fd, slot, FIPC_NSLOTS, &pool);
	srv_ready(srv, -ret);
	if (ret)
		return ret;
	for (;;) {
		ret = fipc_ioctl(fd, FASTIPC_IOC_SERVE, &m);
		if (ret == -EINTR)
			continue;
		if (ret)
			return ret;
		done = serve_one(&m, pool + m.offset, &rx, &next);
		if (done < 0)
			return done;
		m = next;
		if (done)
			return fipc_ioctl(fd, FASTIPC_IOC_SERVE, &m);
	}
}

static int fipc_start(struct mech *mech, const struct bench_params *p)
{
	struct fipc *f = calloc(1, sizeof(*f));
	int ep, ret;

	if (!f)
		return -ENOMEM;
	f->fd = -1;
	mech->priv = f;
	/* The server makes this port an endpoint; we connect through our copy of it. */
	ep = open("/dev/fastipc", O_RDWR | O_CLOEXEC);
	if (ep < 0) {
		snprintf(mech->skip, sizeof(mech->skip), "cannot open /dev/fastipc: %s",
			 strerror(errno));
		return -errno;
	}
	ret = srv_fork(&f->srv, p->server_cpu);
	if (ret == 0)
		_exit(fipc_server(ep, p, &f->srv) ? 1 : 0);
	if (ret < 0)
		goto out;
	mech->server_pid = f->srv.pid;
	ret = srv_wait_ready(&f->srv);
	if (ret)
		goto out;
	f->reply_len = p->max_payload;
	f->reply = bench_map(f->reply_len, false);
	ret = -ENOMEM;
	if (!f->reply)
		goto out;
	/* Later servers need not inherit (and copy) the pinned reply buffer. */
	madvise(f->reply, f->reply_len, MADV_DONTFORK);
	f->fd = fipc_client(ep, f->reply, f->reply_len, &f->reply_id);
	ret = f->fd < 0 ? f->fd : 0;
out:
	close(ep);
	return ret;
}

static int fipc_do_call(struct fipc *f, uint32_t op, const void *req, uint32_t len,
			struct fastipc_call *call)
{
	memset(call, 0, sizeof(*call));
	call->opcode = op;
	call->req_addr = (uintptr_t)req;
	call->req_len = len;
	call->reply_buf = f->reply_id;
	call->reply_cap = f->reply_len;
	return fipc_ioctl(f->fd, FASTIPC_IOC_CALL, call);
}

static int fipc_call(struct mech *mech, struct bench_call *c)
{
	struct fipc *f = mech->priv;
	struct fastipc_call call;
	int ret = fipc_do_call(f, c->op, c->req, c->len, &call);

	if (ret)
		return ret;
	c->reply = f->reply;
	c->reply_len = call.reply_len;
	c->status = call.status;
	return 0;
}

/*
 * The stream's request in a call, then one-way sends, each chunk waiting for
 * a free slot; a call at the end collects the verdict.
 */
static int fipc_stream(struct mech *mech, const struct bench_stream *s)
{
	struct fipc *f = mech->priv;
	struct bench_stream_req sr = { s->chunk, 0, s->total, s->seed };
	struct fastipc_send send = {
		.flags = FASTIPC_SEND_WAIT,
		.opcode = BENCH_STREAM_DATA,
		.addr = (uintptr_t)s->buf,
		.len = s->chunk,
	};
	struct fastipc_call call;
	uint64_t i, n = s->total / s->chunk;
	int ret;

	ret = fipc_do_call(f, BENCH_STREAM, &sr, sizeof(sr), &call);
	for (i = 0; !ret && i < n; i++) {
		fipc_fill(s->buf, s->chunk, s->seed + i);
		ret = fipc_ioctl(f->fd, FASTIPC_IOC_SEND, &send);
	}
	if (!ret)
		ret = fipc_do_call(f, BENCH_STREAM_END, NULL, 0, &call);
	if (ret)
		return ret;
	return call.status ? -EBADMSG : 0;
}

static int fipc_stop(struct mech *mech)
{
	struct fipc *f = mech->priv;
	int ret;

	if (!f)
		return 0;
	ret = srv_stop(&f->srv, mech->quit);
	if (f->fd >= 0)
		close(f->fd);
	if (f->reply)
		munmap(f->reply, f->reply_len);
	free(f);
	mech->priv = NULL;
	return ret;
}

static const char *const fipc_streams[] = { "fastipc", NULL };

struct mech mech_fastipc = {
	.name = "fastipc",
	.note = "raw ioctls; server replies straight from the pool slot",
	.stream_names = fipc_streams,
	.start = fipc_start,
	.call = fipc_call,
	.stream = fipc_stream,
	.stop = fipc_stop,
};
