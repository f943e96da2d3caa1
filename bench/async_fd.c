// SPDX-License-Identifier: GPL-2.0
/*
 * Pipes and UNIX sockets with N requests outstanding: one client thread
 * pipelines them over one connection, keeping N written and not yet
 * answered, as a client of a pipelining protocol (Redis, HTTP/1.1) does.
 * Each side does what such a program would do at its best: it reads all
 * that has arrived in one read, handles every whole message in it, and
 * sends what that produced in one write (the server: the replies, echoed
 * in place in its receive buffer; the client: the next requests, while the
 * replies stay where they were read, in the harness's reply area, to be
 * checked after the run). Seqpacket sockets do the same with recvmmsg() and
 * sendmmsg(), a packet per message.
 *
 * Framing is the round-trip bench's: {op, len} before a request, {status,
 * len} before a reply. Buffers hold N of the largest messages each way, so
 * neither side ever waits for room while its peer waits for it.
 */
#include "async.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define HDR	sizeof(struct bench_hdr)

enum { FD_BYTES, FD_PACKET };

struct afd {
	struct srv srv;
	int kind;
	int tx, rx;		/* the client's ends (one socket, or two pipes) */
	int stx, srx;		/* the server's ends */
	size_t msg_max;		/* header and the largest payload */
	int max_qd;
	uint8_t *buf;		/* the server's requests (in the server) */
	size_t cap;
	struct mmsghdr mm[ASYNC_MAX_QD];
	struct iovec iov[ASYNC_MAX_QD];
};

static int packet_send(int fd, struct mmsghdr *mm, int n)
{
	int sent;

	while (n) {
		sent = sendmmsg(fd, mm, n, 0);
		if (sent < 0 && errno == EINTR)
			continue;
		if (sent < 0)
			return -errno;
		if (mm[sent - 1].msg_len != mm[sent - 1].msg_hdr.msg_iov->iov_len)
			return -EMSGSIZE;
		mm += sent;
		n -= sent;
	}
	return 0;
}

/*
 * Waits for one packet on @fd, then takes whatever else has arrived, up to
 * @max, packet i into @buf + i * @stride: how many, or -errno.
 */
static int packet_recv(struct afd *d, int fd, int max, uint8_t *buf, size_t stride)
{
	int i, n;

	for (i = 0; i < max; i++) {
		d->iov[i] = (struct iovec){ buf + i * stride, stride };
		d->mm[i].msg_hdr = (struct msghdr){ .msg_iov = &d->iov[i], .msg_iovlen = 1 };
	}
	do
		n = recvmmsg(fd, d->mm, max, MSG_WAITFORONE, NULL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? n : -EPIPE;
}

static ssize_t read_some(int fd, uint8_t *buf, size_t len)
{
	ssize_t n;

	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? n : -EPIPE;
}

/* A whole message at @p, of at most @avail bytes: its length, 0 if incomplete, or -EPROTO. */
static ssize_t whole(const struct afd *d, const uint8_t *p, size_t avail)
{
	const struct bench_hdr *h = (const struct bench_hdr *)p;

	if (avail < HDR)
		return 0;
	if (HDR + h->len > d->msg_max)
		return -EPROTO;
	return avail < HDR + h->len ? 0 : (ssize_t)(HDR + h->len);
}

/*
 * The server's answer to one request, in place (an echo's reply is its
 * request with the header rewritten): 1 to go on, 0 after BENCH_QUIT.
 */
static int answer(struct bench_hdr *h)
{
	switch (BENCH_OP(h->word)) {
	case BENCH_ECHO:
		h->word = ASYNC_TAG(h->word);
		return 1;
	case BENCH_QUIT:
		h->word = BENCH_QUIT_STATUS;
		return h->len ? -EPROTO : 0;
	}
	return -EPROTO;
}

static int bytes_server(struct afd *d)
{
	size_t have = 0, off;
	ssize_t n;
	int ret = 1;

	while (ret > 0) {
		n = read_some(d->srx, d->buf + have, d->cap - have);
		if (n < 0)
			return n;
		have += n;
		for (off = 0; ret > 0 && (n = whole(d, d->buf + off, have - off)) > 0; off += n)
			ret = answer((struct bench_hdr *)(d->buf + off));
		if (n < 0 || ret < 0)
			return n < 0 ? n : ret;
		/* The replies lie end to end where the requests were: one write answers all. */
		n = write_full(d->stx, d->buf, off);
		if (n)
			return n;
		memmove(d->buf, d->buf + off, have - off);
		have -= off;
	}
	return 0;
}

static int packet_server(struct afd *d)
{
	struct bench_hdr *h;
	int i, n, ret = 1;

	while (ret > 0) {
		n = packet_recv(d, d->srx, d->max_qd, d->buf, d->msg_max);
		if (n < 0)
			return n;
		for (i = 0; i < n && ret > 0; i++) {
			h = (struct bench_hdr *)(d->buf + i * d->msg_max);
			if (whole(d, (uint8_t *)h, d->mm[i].msg_len) != (ssize_t)d->mm[i].msg_len)
				return -EPROTO;
			ret = answer(h);
			d->iov[i].iov_len = HDR + h->len;
		}
		if (ret < 0)
			return ret;
		n = packet_send(d->stx, d->mm, i);
		if (n)
			return n;
	}
	return 0;
}

static int afd_channels(struct amech *m, struct afd *d)
{
	/* N messages each way, and a socket buffer's per-packet overhead. */
	int a[2], b[2], size = 2 * d->max_qd * (d->msg_max + 1024), ret;

	if (m == &amech_pipe) {
		if (pipe2(a, O_CLOEXEC))
			return -errno;
		if (pipe2(b, O_CLOEXEC)) {
			close(a[0]);
			close(a[1]);
			return -errno;
		}
		pipe_size(a[1], size);
		pipe_size(b[1], size);
		d->tx = a[1];
		d->srx = a[0];
		d->stx = b[1];
		d->rx = b[0];
		return 0;
	}
	if (socketpair(AF_UNIX, (d->kind == FD_PACKET ? SOCK_SEQPACKET : SOCK_STREAM) |
		       SOCK_CLOEXEC, 0, a))
		return -errno;
	d->tx = d->rx = a[0];
	d->stx = d->srx = a[1];
	ret = sock_bufs(a[0], size);
	return ret ?: sock_bufs(a[1], size);
}

static void afd_close(struct afd *d, bool client)
{
	int *fds[] = { client ? &d->tx : &d->stx, client ? &d->rx : &d->srx };
	int i;

	for (i = 0; i < 2; i++) {
		if (*fds[i] >= 0 && (i == 0 || *fds[i] != *fds[0]))
			close(*fds[i]);
	}
	*fds[0] = *fds[1] = -1;
}

static int afd_start(struct amech *m, const struct async_params *p)
{
	struct afd *d = calloc(1, sizeof(*d));
	int ret;

	if (!d)
		return -ENOMEM;
	m->priv = d;
	d->tx = d->rx = d->stx = d->srx = -1;
	d->kind = m == &amech_unix_seqpacket ? FD_PACKET : FD_BYTES;
	d->max_qd = p->max_qd;
	d->msg_max = HDR + p->max_payload;
	d->cap = d->msg_max * (p->max_qd + 1);
	ret = afd_channels(m, d);
	if (ret) {
		snprintf(m->skip, sizeof(m->skip), "set-up failed: %s", strerror(-ret));
		return ret;
	}
	ret = srv_fork(&d->srv, p->server_cpu);
	if (ret == 0) {
		afd_close(d, true);
		d->buf = bench_map(d->cap, false);
		srv_ready(&d->srv, d->buf ? 0 : ENOMEM);
		_exit(!d->buf ? 1 : d->kind == FD_PACKET ? packet_server(d) : bytes_server(d));
	}
	afd_close(d, false);
	if (ret < 0)
		return ret;
	m->server_pid = d->srv.pid;
	return srv_wait_ready(&d->srv);
}

/* Call @n of the run, header in its request buffer's headroom, queued on d->iov[@k]. */
static void afd_request(struct afd *d, const struct async_run *r, int k, uint64_t n)
{
	uint8_t *req = async_req(r->reqs, n % r->qd);
	struct bench_hdr *h = (struct bench_hdr *)(req - HDR);

	h->word = async_stamp(req, r->len, r->seq + n);
	h->len = r->len;
	d->iov[k] = (struct iovec){ h, HDR + r->len };
	d->mm[k].msg_hdr = (struct msghdr){ .msg_iov = &d->iov[k], .msg_iovlen = 1 };
}

static int afd_send(struct afd *d, int n)
{
	if (!n)
		return 0;
	return d->kind == FD_PACKET ? packet_send(d->tx, d->mm, n) : writev_full(d->tx, d->iov, n);
}

/*
 * The replies that came in: how many. A byte stream is read on at the end of
 * what came before, and the whole messages since @scan are counted; packets
 * go to the rooms of the calls they answer.
 */
static int afd_replies(struct afd *d, struct async_run *r, uint64_t done, size_t *scan)
{
	ssize_t n;
	int i, got;

	if (d->kind == FD_PACKET) {
		got = r->calls - done < (uint64_t)r->qd ? (int)(r->calls - done) : r->qd;
		got = packet_recv(d, d->rx, got, r->area + done * r->stride, r->stride);
		for (i = 0; i < got; i++)
			r->rlen[done + i] = d->mm[i].msg_len;
		return got;
	}
	/* Every call's reply has a room's worth of the area: there is room for them all. */
	n = read_some(d->rx, r->area + r->stream_len, r->calls * r->stride - r->stream_len);
	if (n < 0)
		return n;
	r->stream_len += n;
	for (got = 0; (n = whole(d, r->area + *scan, r->stream_len - *scan)) > 0; got++)
		*scan += n;
	return n < 0 ? n : got;
}

static int afd_run(struct amech *m, struct async_run *r)
{
	struct afd *d = m->priv;
	uint64_t issued = 0, done = 0;
	size_t scan = 0;
	int k, got, ret;

	if (r->qd > d->max_qd || HDR + r->len > d->msg_max)
		return -EINVAL;
	r->stream_len = 0;
	for (k = 0; issued < r->calls && k < r->qd; k++, issued++)
		afd_request(d, r, k, issued);
	ret = afd_send(d, k);
	while (!ret && done < r->calls) {
		got = afd_replies(d, r, done, &scan);
		if (got < 0)
			return got;
		done += got;
		/* As many new requests as replies came in, in one write. */
		for (k = 0; got > 0 && issued < r->calls; got--, k++, issued++)
			afd_request(d, r, k, issued);
		ret = afd_send(d, k);
	}
	return ret;
}

static int afd_stop(struct amech *m)
{
	struct afd *d = m->priv;
	struct bench_hdr q = { BENCH_QUIT, 0 }, a = { 0 };
	bool quit = false;
	int ret;

	if (!d)
		return 0;
	if (d->tx >= 0 && d->srv.pid > 0) {
		if (d->kind == FD_PACKET)
			quit = send(d->tx, &q, HDR, 0) == (ssize_t)HDR &&
			       recv(d->rx, &a, HDR, 0) == (ssize_t)HDR;
		else
			quit = !write_full(d->tx, &q, HDR) && !read_full(d->rx, &a, HDR);
		quit = quit && a.word == BENCH_QUIT_STATUS && !a.len;
	}
	ret = srv_stop(&d->srv, quit);
	afd_close(d, true);
	afd_close(d, false);
	if (d->buf)
		munmap(d->buf, d->cap);
	free(d);
	m->priv = NULL;
	return ret ?: quit ? 0 : -EPROTO;
}

#define AFD_MECH(var, mname, mform, mnote)	\
struct amech var = {			\
	.name = mname,			\
	.note = mnote,			\
	.form = mform,			\
	.start = afd_start,		\
	.run = afd_run,			\
	.stop = afd_stop,		\
}

AFD_MECH(amech_pipe, "pipe", ASYNC_STREAM, "two pipes");
AFD_MECH(amech_unix_stream, "unix-stream", ASYNC_STREAM, "one stream socketpair");
AFD_MECH(amech_unix_seqpacket, "unix-seqpacket", ASYNC_PACKETS,
	 "one seqpacket socketpair, sendmmsg/recvmmsg");
