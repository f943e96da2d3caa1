// SPDX-License-Identifier: GPL-2.0
/*
 * fastipc with N calls outstanding, two ways:
 *
 * fastipc-async: one client thread and one io_uring, keeping N
 *	FASTIPC_URING_CALLs in flight, each with its own reply room in the
 *	harness's reply area, registered on the client port; for each CQE the
 *	next call is prepared, and goes out in the same io_uring_enter() that
 *	waits for the next CQEs.
 * fastipc: the synchronous way to have N calls outstanding, N client
 *	threads, each with its own connected port, making blocking
 *	FASTIPC_IOC_CALLs. At depth 1 this is the round-trip bench's call.
 *
 * Both talk to the same kind of server: one thread in the ordinary
 * FASTIPC_IOC_SERVE reply-and-receive loop, echoing from the pool slot.
 * fastipc-async-ring-server (measured when --only names it) is fastipc-async
 * against an io_uring server instead: N receives armed, and the replies and
 * re-armed receives of every batch of completions submitted together.
 */
#include "async.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/fastipc.h>

#define RING_FIXED_FD	0	/* the port's index among the ring's registered files */

/*
 * A ring with 128-byte SQEs and 32-byte CQEs, as fastipc's commands need,
 * used by this thread only: completions are run when it waits for them
 * (DEFER_TASKRUN), which spares interrupting it with task work; on the board
 * that was faster across CPUs than COOP_TASKRUN or neither. Kernels before
 * 6.1 do without.
 */
static int ring_init(struct io_uring *ring, unsigned int entries)
{
	static const unsigned int extra[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_COOP_TASKRUN,
		0,
	};
	unsigned int i;
	int ret = -EINVAL;

	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		ret = io_uring_queue_init(entries, ring, IORING_SETUP_SQE128 | IORING_SETUP_CQE32 |
					  extra[i]);
		if (ret != -EINVAL)
			break;
	}
	return ret;
}

/* The next SQE, submitting what is queued first if the ring is full. */
static struct io_uring_sqe *ring_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe) {
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
	}
	return sqe;
}

static int ring_cmd(struct io_uring *ring, int fd, bool fixed, uint32_t cmd_op, const void *arg,
		    size_t len, uint64_t user_data, uint8_t flags)
{
	struct io_uring_sqe *sqe = ring_sqe(ring);

	if (!sqe)
		return -EBUSY;
	memset(sqe, 0, 128);
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fixed ? RING_FIXED_FD : fd;
	sqe->flags = flags | (fixed ? IOSQE_FIXED_FILE : 0);
	sqe->cmd_op = cmd_op;
	sqe->user_data = user_data;
	memcpy(sqe->cmd, arg, len);
	return 0;
}

static int submit_and_wait(struct io_uring *ring)
{
	int ret;

	do
		ret = io_uring_submit_and_wait(ring, 1);
	while (ret == -EINTR);
	return ret < 0 ? ret : 0;
}

/* The server: the SERVE loop, or an io_uring. */

struct fsrv {
	int fd;
	uint8_t *pool;
	uint32_t slot;
	int nslots;
};

static int serve_loop(const struct fsrv *s)
{
	struct fastipc_serve m = { .flags = FASTIPC_SERVE_RECV }, next;
	int ret;

	for (;;) {
		ret = fipc_ioctl(s->fd, FASTIPC_IOC_SERVE, &m);
		if (ret == -EINTR)
			continue;
		if (ret)
			return ret;
		memset(&next, 0, sizeof(next));
		next.flags = FASTIPC_SERVE_REPLY | FASTIPC_SERVE_RECV;
		next.reply_token = m.token;
		switch (BENCH_OP(m.opcode)) {
		case BENCH_ECHO:
			next.reply_status = ASYNC_TAG(m.opcode);
			next.reply_addr = (uintptr_t)(s->pool + m.offset);
			next.reply_len = m.len;
			break;
		case BENCH_QUIT:
			next.reply_status = BENCH_QUIT_STATUS;
			next.flags = FASTIPC_SERVE_REPLY;
			return fipc_ioctl(s->fd, FASTIPC_IOC_SERVE, &next);
		default:
			return -EPROTO;
		}
		m = next;
	}
}

/* user_data: a receive's is its index; a reply's has RSRV_REPLY, the quit's RSRV_QUIT too. */
#define RSRV_REPLY	(1ull << 32)
#define RSRV_QUIT	(1ull << 33)

static int ring_serve(const struct fsrv *s)
{
	size_t info_len = s->nslots * sizeof(struct fastipc_msg_info);
	struct fastipc_msg_info *infos = bench_map(info_len, false);
	struct fastipc_uring_recv rv = { 0 };
	struct fastipc_uring_reply rp;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	unsigned int head, n;
	uint8_t skip;
	bool quit = false;
	int i, ret;

	if (!infos)
		return -ENOMEM;
	ret = fipc_register(s->fd, infos, info_len, &rv.msg_buf);
	if (!ret)
		ret = ring_init(&ring, 2 * s->nslots);
	if (ret)
		return ret;
	/* A reply posts a CQE only when it fails. */
	skip = ring.features & IORING_FEAT_CQE_SKIP ? IOSQE_CQE_SKIP_SUCCESS : 0;
	for (i = 0; i < s->nslots && !ret; i++) {
		rv.msg_offset = i * sizeof(*infos);
		ret = ring_cmd(&ring, s->fd, false, FASTIPC_URING_RECV, &rv, sizeof(rv), i, 0);
	}
	while (!ret) {
		ret = submit_and_wait(&ring);
		n = 0;
		io_uring_for_each_cqe(&ring, head, cqe) {
			const struct fastipc_msg_info *mi = &infos[cqe->user_data & 0xffff];

			n++;
			if (ret || cqe->res < 0) {
				ret = ret ?: cqe->res;
				continue;
			}
			if (cqe->user_data & RSRV_REPLY) {
				quit |= !!(cqe->user_data & RSRV_QUIT);
				continue;
			}
			memset(&rp, 0, sizeof(rp));
			rp.token = mi->token;
			if (BENCH_OP(mi->opcode) == BENCH_QUIT) {
				rp.status = BENCH_QUIT_STATUS;
				ret = ring_cmd(&ring, s->fd, false, FASTIPC_URING_REPLY, &rp,
					       sizeof(rp), RSRV_REPLY | RSRV_QUIT, 0);
				continue;
			}
			if (BENCH_OP(mi->opcode) != BENCH_ECHO) {
				ret = -EPROTO;
				continue;
			}
			rp.status = ASYNC_TAG(mi->opcode);
			rp.addr = (uintptr_t)(s->pool + mi->offset);
			rp.len = mi->len;
			ret = ring_cmd(&ring, s->fd, false, FASTIPC_URING_REPLY, &rp, sizeof(rp),
				       RSRV_REPLY | cqe->user_data, skip);
			rv.msg_offset = cqe->user_data * sizeof(*infos);
			if (!ret)
				ret = ring_cmd(&ring, s->fd, false, FASTIPC_URING_RECV, &rv,
					       sizeof(rv), cqe->user_data, 0);
		}
		io_uring_cq_advance(&ring, n);
		if (quit)
			break;
	}
	io_uring_queue_exit(&ring);
	return ret;
}

/* The endpoint, a server process on it, and the endpoint's fd to connect clients through. */
static int fsrv_start(struct srv *srv, const struct async_params *p, bool ring, int *ep_fd)
{
	struct fsrv s = { .slot = p->max_payload, .nslots = p->max_qd };
	int ret;

	*ep_fd = -1;
	s.fd = open("/dev/fastipc", O_RDWR | O_CLOEXEC);
	if (s.fd < 0)
		return -errno;
	ret = srv_fork(srv, p->server_cpu);
	if (ret == 0) {
		/* One slot per outstanding call: no call ever waits for room. */
		ret = fipc_endpoint(s.fd, s.slot, s.nslots, &s.pool);
		srv_ready(srv, -ret);
		if (!ret)
			ret = ring ? ring_serve(&s) : serve_loop(&s);
		_exit(ret ? 1 : 0);
	}
	if (ret > 0)
		ret = srv_wait_ready(srv);
	if (ret) {
		close(s.fd);
		return ret;
	}
	*ep_fd = s.fd;
	return 0;
}

/* Asks the server to quit with a synchronous call; true once it acknowledged. */
static bool client_quit(int fd, uint32_t reply_id)
{
	struct fastipc_call call = { .opcode = BENCH_QUIT, .reply_buf = reply_id, .reply_cap = 64 };


	return fd >= 0 && !fipc_ioctl(fd, FASTIPC_IOC_CALL, &call) &&
	       (uint32_t)call.status == BENCH_QUIT_STATUS;
}

/* fastipc-async */

struct fasync {
	struct srv srv;
	int fd;
	uint32_t reply_id;
	struct io_uring ring;
	bool ring_up, fixed;
};

/* A CQE's user_data: the call's number in the run, and the request buffer it went from. */
#define UD(n, slot)	((n) << 8 | (slot))
#define UD_CALL(ud)	((ud) >> 8)
#define UD_SLOT(ud)	((ud) & 0xff)

static int fasync_start(struct amech *m, const struct async_params *p)
{
	struct fasync *a = calloc(1, sizeof(*a));
	struct fastipc_version v = { 0 };
	int ep, ret;

	if (!a)
		return -ENOMEM;
	a->fd = -1;
	m->priv = a;
	ep = open("/dev/fastipc", O_RDWR | O_CLOEXEC);
	if (ep < 0 || fipc_ioctl(ep, FASTIPC_IOC_VERSION, &v)) {
		snprintf(m->skip, sizeof(m->skip), "no /dev/fastipc: %s", strerror(errno));
		if (ep >= 0)
			close(ep);
		return -errno;
	}
	close(ep);
	if (!(v.features & FASTIPC_F_URING)) {
		snprintf(m->skip, sizeof(m->skip), "the module has no io_uring commands");
		return -EOPNOTSUPP;
	}
	ret = fsrv_start(&a->srv, p, m == &amech_fastipc_async_ring, &ep);
	if (ret)
		return ret;
	m->server_pid = a->srv.pid;
	ret = ring_init(&a->ring, p->max_qd);
	if (ret) {
		snprintf(m->skip, sizeof(m->skip), "no io_uring with 128-byte SQEs: %s",
			 strerror(-ret));
		close(ep);
		return ret;
	}
	a->ring_up = true;
	a->fd = fipc_client(ep, p->area, p->area_len, &a->reply_id);
	close(ep);
	if (a->fd < 0)
		return a->fd;
	/* A registered file spares the ring looking the port up for every call. */
	a->fixed = !io_uring_register_files(&a->ring, &a->fd, 1);
	return 0;
}

/* Call @n of the run, from request buffer @slot. */
static int fasync_call(struct fasync *a, const struct async_run *r, uint64_t n, int slot)
{
	uint8_t *req = async_req(r->reqs, slot);
	struct fastipc_uring_call c = {
		.opcode = async_stamp(req, r->len, r->seq + n),
		.req_addr = (uintptr_t)req,
		.req_len = r->len,
		.reply_buf = a->reply_id,
		.reply_offset = n * r->stride,
		.reply_cap = r->stride,
	};

	return ring_cmd(&a->ring, a->fd, a->fixed, FASTIPC_URING_CALL, &c, sizeof(c),
			UD(n, slot), 0);
}

static int fasync_run(struct amech *m, struct async_run *r)
{
	struct fasync *a = m->priv;
	struct io_uring_cqe *cqe;
	uint64_t issued = 0, done = 0, c;
	unsigned int head, n;
	int ret = 0;

	for (; !ret && issued < r->calls && issued < (uint64_t)r->qd; issued++)
		ret = fasync_call(a, r, issued, issued);
	while (!ret && done < r->calls) {
		/* Submits the calls just prepared and waits for the next reply. */
		ret = submit_and_wait(&a->ring);
		n = 0;
		io_uring_for_each_cqe(&a->ring, head, cqe) {
			n++;
			if (ret)
				continue;
			if (cqe->res < 0) {
				ret = cqe->res;
				continue;
			}
			/* The reply is in its room; the harness checks it after the run. */
			c = UD_CALL(cqe->user_data);
			r->status[c] = cqe->big_cqe[0];
			r->rlen[c] = cqe->res;
			done++;
			if (issued < r->calls)
				ret = fasync_call(a, r, issued++, UD_SLOT(cqe->user_data));
		}
		io_uring_cq_advance(&a->ring, n);
	}
	return ret;
}

static int fasync_stop(struct amech *m)
{
	struct fasync *a = m->priv;
	int ret;

	if (!a)
		return 0;
	ret = srv_stop(&a->srv, client_quit(a->fd, a->reply_id));
	if (a->ring_up)
		io_uring_queue_exit(&a->ring);
	if (a->fd >= 0)
		close(a->fd);
	free(a);
	m->priv = NULL;
	return ret;
}

struct amech amech_fastipc_async = {
	.name = "fastipc-async",
	.note = "async comparison only: FASTIPC_URING_CALLs from one thread and one io_uring "
		"keeping N in flight, each with its own reply room; server: one thread in the "
		"FASTIPC_IOC_SERVE loop",
	.form = ASYNC_ROOMS,
	.start = fasync_start,
	.run = fasync_run,
	.stop = fasync_stop,
};

struct amech amech_fastipc_async_ring = {
	.name = "fastipc-async-ring-server",
	.note = "fastipc-async against an io_uring server: N receives armed, each batch of "
		"completions answered (and the receives re-armed) in one submission",
	.form = ASYNC_ROOMS,
	.start = fasync_start,
	.run = fasync_run,
	.stop = fasync_stop,
	.extra = true,
};

/* fastipc: N threads making blocking calls */

struct fsync;

struct fthread {
	pthread_t t;
	sem_t go;
	int fd;
	int idx;
	uint32_t reply_id;
	struct fsync *s;
};

struct fsync {
	struct srv srv;
	struct fthread th[ASYNC_MAX_QD];
	int nthreads;
	sem_t done;
	struct async_run *r;
	_Atomic uint64_t next;
	_Atomic int err;
	bool exit;
};

/* Thread @t's share of the run: calls, one at a time, until the run has had them all. */
static int fthread_calls(struct fthread *t, struct async_run *r)
{
	struct fsync *s = t->s;
	uint8_t *req = async_req(r->reqs, t->idx);
	struct fastipc_call call;
	uint64_t n;
	int ret;

	while ((n = atomic_fetch_add(&s->next, 1)) < r->calls) {
		memset(&call, 0, sizeof(call));
		call.opcode = async_stamp(req, r->len, r->seq + n);
		call.req_addr = (uintptr_t)req;
		call.req_len = r->len;
		call.reply_buf = t->reply_id;
		call.reply_offset = n * r->stride;
		call.reply_cap = r->stride;
		do
			ret = fipc_ioctl(t->fd, FASTIPC_IOC_CALL, &call);
		while (ret == -EINTR);
		if (ret)
			return ret;
		r->status[n] = call.status;
		r->rlen[n] = call.reply_len;
	}
	return 0;
}

static void *fthread_main(void *arg)
{
	struct fthread *t = arg;
	struct fsync *s = t->s;
	int ret, zero = 0;

	for (;;) {
		while (sem_wait(&t->go))
			;
		if (s->exit)
			return NULL;
		ret = fthread_calls(t, s->r);
		if (ret)
			atomic_compare_exchange_strong(&s->err, &zero, ret);
		sem_post(&s->done);
	}
}

static int fsync_start(struct amech *m, const struct async_params *p)
{
	struct fsync *s = calloc(1, sizeof(*s));
	pthread_attr_t attr;
	int ep, i, ret;

	if (!s)
		return -ENOMEM;
	m->priv = s;
	if (sem_init(&s->done, 0, 0))
		return -errno;
	ret = fsrv_start(&s->srv, p, false, &ep);
	if (ret) {
		if (ret == -ENOENT)
			snprintf(m->skip, sizeof(m->skip), "no /dev/fastipc");
		return ret;
	}
	m->server_pid = s->srv.pid;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	for (i = 0; i < p->max_qd && !ret; i++) {
		struct fthread *t = &s->th[i];

		t->s = s;
		t->idx = i;
		t->fd = fipc_client(ep, p->area, p->area_len, &t->reply_id);
		if (t->fd < 0) {
			ret = t->fd;
			break;
		}
		if (sem_init(&t->go, 0, 0)) {
			ret = -errno;
			close(t->fd);
			break;
		}
		ret = -pthread_create(&t->t, &attr, fthread_main, t);
		if (ret) {
			close(t->fd);
			sem_destroy(&t->go);
			break;
		}
		s->nthreads++;
	}
	pthread_attr_destroy(&attr);
	close(ep);
	return ret;
}

static int fsync_run(struct amech *m, struct async_run *r)
{
	struct fsync *s = m->priv;
	int i;

	if (r->qd > s->nthreads)
		return -EINVAL;
	s->r = r;
	atomic_store(&s->next, 0);
	atomic_store(&s->err, 0);
	for (i = 0; i < r->qd; i++)
		sem_post(&s->th[i].go);
	for (i = 0; i < r->qd; i++)
		while (sem_wait(&s->done))
			;
	return atomic_load(&s->err);
}

static int fsync_stop(struct amech *m)
{
	struct fsync *s = m->priv;
	int i, ret;

	if (!s)
		return 0;
	ret = srv_stop(&s->srv, s->nthreads && client_quit(s->th[0].fd, s->th[0].reply_id));
	s->exit = true;
	for (i = 0; i < s->nthreads; i++) {
		sem_post(&s->th[i].go);
		pthread_join(s->th[i].t, NULL);
		sem_destroy(&s->th[i].go);
		close(s->th[i].fd);
	}
	sem_destroy(&s->done);
	free(s);
	m->priv = NULL;
	return ret;
}

struct amech amech_fastipc_sync = {
	.name = "fastipc",
	.note = "N client threads, each with its own port, making blocking calls",
	.form = ASYNC_ROOMS,
	.start = fsync_start,
	.run = fsync_run,
	.stop = fsync_stop,
};
