// SPDX-License-Identifier: GPL-2.0
/*
 * The file-descriptor peers: pipes, UNIX stream and seqpacket sockets, TCP
 * over loopback and POSIX message queues. One server loop serves them all;
 * only how a framed message is sent and received differs.
 *
 * Each is given what its users would give it for large messages: buffers
 * big enough that the largest request goes in one write.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

enum chan_kind {
	CH_BYTES,	/* a byte stream: read until the header's length is in */
	CH_PACKET,	/* one message per send/recv */
	CH_MQ,
};

struct chan {
	enum chan_kind kind;
	int tx, rx;
};

/*
 * Stream variants: 0 default buffers; 1 (BENCH_F_SIZED) socket buffers sized
 * to the chunk, or a pipe holding the bytes in flight of fastipc's stream.
 */
#define NSTREAM	2

struct fdm {
	struct srv srv;
	struct chan cli, srv_ch;
	int stream_tx[NSTREAM], stream_rx[NSTREAM];
	uint8_t *buf;		/* the client's replies, or the server's requests */
	size_t cap;
	struct stream_rx rx;
	bool pipe;		/* the stream channels are pipes */
};

static int chan_send(const struct chan *ch, const void *buf, size_t len)
{
	ssize_t n;

	switch (ch->kind) {
	case CH_BYTES:
		return write_full(ch->tx, buf, len);
	case CH_PACKET:
		do
			n = send(ch->tx, buf, len, 0);
		while (n < 0 && errno == EINTR);
		return n < 0 ? -errno : (size_t)n == len ? 0 : -EMSGSIZE;
	case CH_MQ:
		while (mq_send(ch->tx, buf, len, 0))
			if (errno != EINTR)
				return -errno;
		return 0;
	}
	return -EINVAL;
}

/* One framed message into @buf: its length, header included, or -errno. */
static ssize_t chan_recv(const struct chan *ch, uint8_t *buf, size_t cap)
{
	struct bench_hdr *h = (struct bench_hdr *)buf;
	ssize_t n, got = 0;
	int ret;

	do {
		switch (ch->kind) {
		case CH_BYTES:
			/* In a request-reply exchange nothing follows the message, so read greedily. */
			n = read(ch->rx, buf + got, cap - got);
			break;
		case CH_PACKET:
			n = recv(ch->rx, buf, cap, 0);
			break;
		default:
			n = mq_receive(ch->rx, (char *)buf, cap, NULL);
			break;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -EPIPE;
		got += n;
	} while (ch->kind == CH_BYTES && got < (ssize_t)sizeof(*h));
	if (got < (ssize_t)sizeof(*h) || sizeof(*h) + h->len > cap)
		return -EPROTO;
	if (ch->kind == CH_BYTES && (size_t)got < sizeof(*h) + h->len) {
		ret = read_full(ch->rx, buf + got, sizeof(*h) + h->len - got);
		if (ret)
			return ret;
		got = sizeof(*h) + h->len;
	}
	return (size_t)got == sizeof(*h) + h->len ? got : -EPROTO;
}

/*
 * Reads a whole stream in chunk-sized reads, as the L41 labs' reader does,
 * into the buffer the request came in: @req is copied first.
 */
static int fd_stream_recv(struct fdm *d, const void *req)
{
	struct bench_stream_req sr;
	int v, fd, size;
	ssize_t n;

	memcpy(&sr, req, sizeof(sr));
	v = !!(sr.flags & BENCH_F_SIZED);
	fd = d->stream_rx[v];
	size = sr.chunk;
	if (fd < 0 || sr.chunk > d->cap)
		return -EINVAL;
	/* A pipe's size is the sender's to set, before the stream begins. */
	if (v && !d->pipe && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)))
		return -errno;
	stream_rx_begin(&d->rx, &sr);
	while (d->rx.off < d->rx.total && !d->rx.bad) {
		n = read(fd, d->buf, sr.chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -EPIPE;
		stream_rx_check(&d->rx, d->buf, n);
	}
	return stream_rx_ok(&d->rx) ? 0 : -EBADMSG;
}

static int fd_server(struct fdm *d)
{
	struct bench_hdr *h = (struct bench_hdr *)d->buf;
	uint8_t *data = d->buf + sizeof(*h);
	ssize_t n;
	int ret;

	for (;;) {
		n = chan_recv(&d->srv_ch, d->buf, d->cap);
		if (n < 0)
			return n;
		/* The reply goes out of the same buffer, header rewritten in place. */
		switch (BENCH_OP(h->word)) {
		case BENCH_ECHO:
			h->word = 0;
			break;
		case BENCH_ONEWAY:
			h->word = bench_status(data, h->len);
			h->len = 0;
			break;
		case BENCH_STREAM:
			if (h->len != sizeof(struct bench_stream_req))
				return -EPROTO;
			ret = fd_stream_recv(d, data);
			h->word = ret;
			h->len = 0;
			break;
		case BENCH_QUIT:
			h->word = BENCH_QUIT_STATUS;
			h->len = 0;
			return chan_send(&d->srv_ch, d->buf, sizeof(*h));
		default:
			return -EPROTO;
		}
		ret = chan_send(&d->srv_ch, d->buf, sizeof(*h) + h->len);
		if (ret)
			return ret;
	}
}

static int tcp_pair(int sv[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int one = 1, l, ret = -1;

	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		return -errno;
	sv[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sv[0] < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &alen) ||
	    connect(sv[0], (struct sockaddr *)&a, sizeof(a)))
		goto out;
	sv[1] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (sv[1] < 0 ||
	    setsockopt(sv[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    setsockopt(sv[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		goto out;
	ret = 0;
out:
	if (ret)
		ret = -errno;
	close(l);
	return ret;
}

static int mq_pair(int q[2], size_t msgsize)
{
	struct mq_attr attr = { .mq_maxmsg = 2, .mq_msgsize = msgsize };
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	char name[64];
	int i;

	/* Two queues of 1 MiB messages are far over the default per-user quota. */
	setrlimit(RLIMIT_MSGQUEUE, &unlimited);
	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "/fastipc-bench-%d-%d", getpid(), i);
		q[i] = mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attr);
		if (q[i] < 0)
			return -errno;
		mq_unlink(name);
	}
	return 0;
}

/* The client's and the server's ends of the request-reply channel of @m. */
static int fd_channels(struct mech *m, struct fdm *d, size_t msg)
{
	int a[2], b[2], size = 2 * msg, ret = 0;

	if (m == &mech_pipe) {
		if (pipe2(a, O_CLOEXEC) || pipe2(b, O_CLOEXEC))
			return -errno;
		pipe_size(a[1], size);
		pipe_size(b[1], size);
		d->cli = (struct chan){ CH_BYTES, a[1], b[0] };
		d->srv_ch = (struct chan){ CH_BYTES, b[1], a[0] };
		return 0;
	}
	if (m == &mech_posix_mq) {
		ret = mq_pair(a, msg);
		d->cli = (struct chan){ CH_MQ, a[0], a[1] };
		d->srv_ch = (struct chan){ CH_MQ, a[1], a[0] };
		return ret;
	}
	if (m == &mech_tcp)
		ret = tcp_pair(a);
	else if (socketpair(AF_UNIX, (m == &mech_unix_seqpacket ? SOCK_SEQPACKET : SOCK_STREAM) |
			    SOCK_CLOEXEC, 0, a))
		ret = -errno;
	if (!ret)
		ret = sock_bufs(a[0], size);
	if (!ret)
		ret = sock_bufs(a[1], size);
	d->cli = (struct chan){ m == &mech_unix_seqpacket ? CH_PACKET : CH_BYTES, a[0], a[0] };
	d->srv_ch = (struct chan){ d->cli.kind, a[1], a[1] };
	return ret;
}

/*
 * pipe-sized's pipe, sized for the largest chunk: skipped when it cannot
 * hold BENCH_STREAM_DEPTH of them (fs.pipe-max-size without the right to
 * pass it), rather than measured with less in flight than its note says.
 * Each stream sizes it again for its chunk, never above this.
 */
static int size_stream_pipe(struct mech *m, int fd, uint32_t max_chunk)
{
	int want = BENCH_STREAM_DEPTH * max_chunk, got;

	pipe_size(fd, want);
	got = fcntl(fd, F_GETPIPE_SZ);
	if (got < 0)
		return -errno;
	if (got >= want)
		return 0;
	snprintf(m->skip, sizeof(m->skip), "pipe-sized: F_SETPIPE_SZ gave %d bytes of %d",
		 got, want);
	return -ENOBUFS;
}

/* The bandwidth pattern's one-way channels: default sizes, until a sized variant's stream. */
static int fd_stream_channels(struct mech *m, struct fdm *d, uint32_t max_chunk)
{
	int fds[2], v;

	for (v = 0; v < NSTREAM; v++)
		d->stream_tx[v] = d->stream_rx[v] = -1;
	if (m != &mech_pipe && m != &mech_unix_stream)
		return 0;
	d->pipe = m == &mech_pipe;
	for (v = 0; v < NSTREAM; v++) {
		if (d->pipe ? pipe2(fds, O_CLOEXEC) :
			      socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds))
			return -errno;
		/* A pipe reads at fds[0]: the socket's other end reads likewise. */
		d->stream_rx[v] = fds[0];
		d->stream_tx[v] = fds[1];
	}
	return d->pipe ? size_stream_pipe(m, d->stream_tx[1], max_chunk) : 0;
}

static void close_chan(struct chan *ch)
{
	if (ch->tx >= 0)
		close(ch->tx);
	if (ch->rx >= 0 && ch->rx != ch->tx)
		close(ch->rx);
	ch->tx = ch->rx = -1;
}

static void close_streams(int *fds)
{
	int v;

	for (v = 0; v < NSTREAM; v++)
		if (fds[v] >= 0)
			close(fds[v]);
}

static int fd_start(struct mech *m, const struct bench_params *p)
{
	struct fdm *d = calloc(1, sizeof(*d));
	size_t msg = sizeof(struct bench_hdr) + p->max_payload;
	int ret;

	if (!d)
		return -ENOMEM;
	m->priv = d;
	d->cli.tx = d->cli.rx = d->srv_ch.tx = d->srv_ch.rx = -1;
	d->cap = msg > p->max_chunk ? msg : p->max_chunk;
	d->buf = bench_map(d->cap, false);
	if (!d->buf)
		return -ENOMEM;
	ret = fd_channels(m, d, msg);
	if (!ret)
		ret = fd_stream_channels(m, d, p->max_chunk);
	if (ret) {
		if (!m->skip[0])
			snprintf(m->skip, sizeof(m->skip), "set-up failed: %s", strerror(-ret));
		return ret;
	}
	ret = srv_fork(&d->srv, p->server_cpu);
	if (ret == 0) {
		srv_ready(&d->srv, 0);
		_exit(fd_server(d) ? 1 : 0);
	}
	if (ret < 0)
		return ret;
	/* The message queues are one pair of descriptors both sides use. */
	if (m != &mech_posix_mq)
		close_chan(&d->srv_ch);
	d->srv_ch.tx = d->srv_ch.rx = -1;
	close_streams(d->stream_rx);
	m->server_pid = d->srv.pid;
	return srv_wait_ready(&d->srv);
}

static int fd_call(struct mech *m, struct bench_call *c)
{
	struct fdm *d = m->priv;
	struct bench_hdr *h = (struct bench_hdr *)(c->req - sizeof(*h));
	ssize_t n;
	int ret;

	h->word = c->op;
	h->len = c->len;
	ret = chan_send(&d->cli, h, sizeof(*h) + c->len);
	if (ret)
		return ret;
	n = chan_recv(&d->cli, d->buf, d->cap);
	if (n < 0)
		return n;
	h = (struct bench_hdr *)d->buf;
	c->status = h->word;
	c->reply = d->buf + sizeof(*h);
	c->reply_len = h->len;
	return 0;
}

static int fd_stream(struct mech *m, const struct bench_stream *s)
{
	struct fdm *d = m->priv;
	int fd = d->stream_tx[s->variant], size = s->chunk;
	struct {
		struct bench_hdr h;
		struct bench_stream_req r;
	} req = {
		{ BENCH_STREAM, sizeof(req.r) },
		{ s->chunk, s->variant ? BENCH_F_SIZED : 0, s->total, s->seed },
	};
	uint64_t i;
	ssize_t n;
	int ret;

	/* The pipe is empty between streams, so it can shrink as well as grow. */
	if (s->variant && d->pipe)
		pipe_size(fd, BENCH_STREAM_DEPTH * s->chunk);
	else if (s->variant && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)))
		return -errno;
	ret = chan_send(&d->cli, &req, sizeof(req));
	for (i = 0; !ret && i < s->total / s->chunk; i++) {
		fipc_fill(s->buf, s->chunk, s->seed + i);
		ret = write_full(fd, s->buf, s->chunk);
	}
	if (ret)
		return ret;
	n = chan_recv(&d->cli, d->buf, d->cap);
	if (n < 0)
		return n;
	return ((struct bench_hdr *)d->buf)->word ? -EBADMSG : 0;
}

static int fd_stop(struct mech *m)
{
	struct fdm *d = m->priv;
	int ret;

	if (!d)
		return 0;
	ret = srv_stop(&d->srv, m->quit);
	close_chan(&d->cli);
	if (m != &mech_posix_mq)
		close_chan(&d->srv_ch);
	close_streams(d->stream_tx);
	if (d->buf)
		munmap(d->buf, d->cap);
	free(d);
	m->priv = NULL;
	return ret;
}

#define FD_MECH(var, mname, mnote, streams, snotes)	\
struct mech var = {				\
	.name = mname,				\
	.note = mnote,				\
	.stream_names = streams,		\
	.stream_notes = snotes,			\
	.start = fd_start,			\
	.call = fd_call,			\
	.stream = fd_stream,			\
	.stop = fd_stop,			\
}

static const char *const pipe_streams[] = { "pipe", "pipe-sized", NULL };
static const char *const pipe_notes[] = {
	NULL,
	"the pipe sized with F_SETPIPE_SZ to " BENCH_STR(BENCH_STREAM_DEPTH)
	" chunks, the bytes in flight of fastipc's stream (4 MiB at 1 MiB chunks; "
	"F_GETPIPE_SZ checked, skipped if it got less); the kernel sizes a pipe in whole "
	"pages, a power of two of them: chunks under a page get a page, so below a "
	"quarter page the pipe holds more than " BENCH_STR(BENCH_STREAM_DEPTH) " chunks",
};
static const char *const unix_streams[] = { "unix-stream", "unix-stream-sockbuf", NULL };
static const char *const unix_notes[] = {
	NULL, "socket buffers sized to the chunk (the L41 labs' variant)",
};

FD_MECH(mech_pipe, "pipe",
	"two pipes, each enlarged to hold the largest message; stream: a pipe of the default size",
	pipe_streams, pipe_notes);
FD_MECH(mech_unix_stream, "unix-stream",
	"socketpair with buffers for the largest message; stream: default buffers",
	unix_streams, unix_notes);
FD_MECH(mech_unix_seqpacket, "unix-seqpacket", "socketpair, one message per send", NULL, NULL);
FD_MECH(mech_tcp, "tcp-loopback", "127.0.0.1, TCP_NODELAY, large buffers", NULL, NULL);
FD_MECH(mech_posix_mq, "posix-mq", "a request queue and a reply queue", NULL, NULL);
