// SPDX-License-Identifier: GPL-2.0
/*
 * fastipc-stress: many clients and several multi-threaded servers exchange
 * calls, forwarded calls and one-way sends of random sizes, while the parent
 * SIGKILLs and restarts clients and servers at random and makes them lose
 * their fds in the middle of calls. Checks that every reply matches its
 * request, that no call outlives its timeout, that one-way messages from a
 * sender arrive in order with none missing, and that the module's live
 * objects go back to zero once everything has exited.
 *
 * Every server process has a multi-threaded endpoint for calls and one-way
 * messages, and a sink endpoint served by a single thread: the order of a
 * sender's messages is only observable when one thread receives them.
 *
 * A quarter of the calls and sends carry a descriptor, as do some replies
 * (FASTIPC_F_FDS): servers receive them and close them, so that kills, lost
 * fds and closing endpoints also end messages that hold files.
 *
 * io_uring keepers (--uring-procs) hold a ring through which short-lived
 * children submit calls and exit while servers hold and forward them, and
 * close rings under a thread of their own that sleeps in SERVE or CALL with
 * receives and calls of that ring in flight (see uring_main()).
 */
#include "common.h"

#include <getopt.h>
#include <liburing.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define PROG		"fastipc-stress"
#define MAX_SERVERS	8
#define MAX_SRV_THREADS	8
#define MAX_CLIENTS	64
#define MAX_WORKERS	4
#define SLOT_SIZE	(64u << 10)
#define NSLOTS		32
#define SINK_SLOT	4096u
#define SINK_NSLOTS	64
#define REPLY_BUF	(256u << 10)
#define MAX_REPLY	(128u << 10)
#define POOL_OFF	128u
/* Asynchronous batches: calls per batch, and each call's request and reply room. */
#define ASYNC_MAX	16
#define ASYNC_REQ	(4096u + 512)
#define ASYNC_ROOM	(REPLY_BUF / ASYNC_MAX)

#define REQ_MAGIC	0x51455246u	/* "FREQ" */
#define REPLY_MAGIC	0x504c5246u	/* "FRLP" */
#define SEND_MAGIC	0x444e5346u	/* "FSND" */
/* Server-side failures come back as a status of -(SRV_ERR + errno). */
#define SRV_ERR		1000

enum { OP_CALL = 1, OP_SEND_EP, OP_SEND_SINK };

struct msg_hdr {
	uint32_t magic;
	uint32_t len;		/* whole message, header included */
	uint64_t sender;	/* a random id per client connection */
	uint64_t seq;
	uint32_t reply_len;	/* reply wanted, header included */
	uint32_t hops;		/* forwards still to do */
	uint32_t hop_count;	/* forwards done */
	uint32_t sum;		/* of the bytes after the header */
	uint32_t hold_ms;	/* the first server holds the call that long */
	uint32_t pad;
};

struct opts {
	unsigned int seconds, servers, srv_threads, clients, workers;
	unsigned int timeout_ms, slack_ms, fault_ms, uring_procs;
	uint64_t seed;
	bool no_faults;
};

/* Counters shared by every process of the run (MAP_SHARED). */
struct shared {
	int stop;
	unsigned int run_id;
	uint64_t calls_ok, calls_fwd_ok, eloop_ok, emsgsize_ok, srv_status;
	uint64_t async_ok, async_cancelled, async_abandoned;
	uint64_t sends_ok, sink_recv, ep_oneway_recv, srv_recv, forwards_ok, replies_ok;
	uint64_t fds_sent, fds_recv;
	uint64_t kill_client, kill_server, close_client, close_server;
	uint64_t fd_lost_client, fd_lost_server, ep_recreated;
	uint64_t mismatch, order, lost, hang, unexpected, spin;
	uint64_t orphan_children, orphan_ok, orphan_cancelled, td_rings, td_sent, td_via_ring;
	uint64_t td_unsure, td_held, orphan_err[NERRNO];
	uint64_t call_err[NERRNO], send_err[NERRNO], serve_err[NERRNO], fwd_err[NERRNO];
	uint64_t conn_err[NERRNO];
	struct busy {
		pid_t pid, tid;
		uint64_t start_ns;
		uint32_t op;
	} busy[MAX_CLIENTS * MAX_WORKERS];
};

static struct opts o = {
	.seconds = 20, .servers = 3, .srv_threads = 3, .clients = 8, .workers = 2,
	.timeout_ms = 1000, .slack_ms = 10000, .fault_ms = 100, .uring_procs = 1,
};
static struct shared *sh;
static int null_fd;

#define report(ctr, fmt, ...) do {						\
	uint64_t __n = __atomic_fetch_add(&sh->ctr, 1, __ATOMIC_RELAXED);	\
	if (__n < 20)								\
		fprintf(stderr, PROG ": FAIL (%s) pid %d: " fmt "\n", #ctr,	\
			getpid(), ##__VA_ARGS__);				\
} while (0)

static uint32_t csum(const uint8_t *p, size_t len)
{
	uint32_t h = 2166136261u;

	while (len--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static void fill(uint8_t *p, size_t len, uint64_t seed)
{
	uint64_t s = seed | 1;
	size_t i = 0;

	while (i + 8 <= len) {
		uint64_t v = rnd(&s);

		memcpy(p + i, &v, 8);
		i += 8;
	}
	while (i < len)
		p[i++] = (uint8_t)rnd(&s);
}

static void ep_name(char *name, unsigned int srv, bool sink)
{
	snprintf(name, FASTIPC_NAME_MAX, "fstress.%u.%u%s", sh->run_id, srv, sink ? ".sink" : "");
}

static void noop(int sig)
{
	(void)sig;
}

static void set_handler(int sig, void (*fn)(int))
{
	struct sigaction sa = { .sa_handler = fn };

	/* No SA_RESTART: a blocked ioctl must come back with EINTR. */
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

/* Children start with SIGUSR2 blocked, until their handler is in place. */
static void unblock_usr2(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

static uint64_t thread_seed(void)
{
	return o.seed ^ ((uint64_t)gettid() << 32) ^ fipc_now_ns() ^ 0x9e3779b97f4a7c15ull;
}

/* A port with a registered buffer; the buffer is the pool for endpoints. */
static int port_open(void *mem, size_t len, uint32_t *id)
{
	struct fastipc_buf_register reg = { .addr = (uintptr_t)mem, .len = len };
	int fd = open("/dev/fastipc", O_RDWR | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = xioctl(fd, FASTIPC_IOC_BUF_REGISTER, &reg);
	if (ret) {
		close(fd);
		return ret;
	}
	*id = reg.id;
	return fd;
}

static bool lost_fd(int ret)
{
	return ret == -ENOTTY || ret == -EBADF || ret == -EBADFD;
}

static int connect_name(int fd, const char *name)
{
	struct fastipc_connect c = { 0 };

	snprintf((char *)c.name, FASTIPC_NAME_MAX, "%s", name);
	return xioctl(fd, FASTIPC_IOC_CONNECT, &c);
}

/* ---- servers ---- */

/*
 * One endpoint of a server process, re-created when its fd is lost. Every
 * incarnation registers the same memory with its pool at another offset, so
 * a message's offset is valid whichever incarnation delivered it and a late
 * message of the previous one is not overwritten by the next.
 */
#define INCARNATIONS	4

struct sep {
	pthread_mutex_t lock;
	int fd;
	unsigned int gen;
	bool sink;
	uint8_t *base;
	size_t pool_len, base_len;
	/* Sink only: next sequence number expected per sender. */
	struct order { uint64_t sender, next; } *order;
	unsigned int norder;
};

#define ORDER_SIZE	16384

static unsigned int srv_idx;
static struct sep srv_ep, srv_sink;
static pthread_t srv_tids[MAX_SRV_THREADS + 1];
static unsigned int srv_nthreads;
/* The fds this process may lose, for the SIGUSR2 handler. */
static int *volatile lose_fds[MAX_WORKERS * 2 + 2 + MAX_SRV_THREADS * MAX_SERVERS];
static unsigned int nlose;

static int sep_create(struct sep *e, unsigned int gen)
{
	uint32_t slot = e->sink ? SINK_SLOT : SLOT_SIZE;
	uint32_t nslots = e->sink ? SINK_NSLOTS : NSLOTS;
	struct fastipc_ep_create c = {
		.flags = FASTIPC_EP_NAMED | FASTIPC_EP_ACCEPT_FORWARDS,
		.mode = 0600, .slot_size = slot, .nslots = nslots,
	};
	uint32_t id;
	int fd, ret = -EEXIST, tries;
	unsigned int i;

	e->pool_len = (size_t)slot * nslots;
	e->base_len = POOL_OFF + e->pool_len * INCARNATIONS;
	if (!e->base) {
		e->base = mmap(NULL, e->base_len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (e->base == MAP_FAILED)
			return -ENOMEM;
	}
	c.pool_offset = POOL_OFF + e->pool_len * (gen % INCARNATIONS);
	ep_name((char *)c.name, srv_idx, e->sink);
	/* The previous incarnation stays published until its last user leaves. */
	for (tries = 0; tries < 2000; tries++) {
		fd = port_open(e->base, e->base_len, &id);
		if (fd < 0) {
			ret = fd;
			/* Lost to SIGUSR2 already, or a real failure. */
			if (lost_fd(ret))
				continue;
			break;
		}
		c.pool_buf = id;
		ret = xioctl(fd, FASTIPC_IOC_EP_CREATE, &c);
		if (!ret)
			break;
		close(fd);
		if (ret != -EEXIST && !lost_fd(ret))
			break;
		for (i = 0; i < srv_nthreads; i++)
			if (!pthread_equal(srv_tids[i], pthread_self()))
				pthread_kill(srv_tids[i], SIGUSR1);
		sleep_ms(5);
	}
	if (ret) {
		fprintf(stderr, PROG ": server %u: EP_CREATE %s: %s\n", srv_idx,
			c.name, strerror(-ret));
		return ret;
	}
	if (e->order)
		memset(e->order, 0, sizeof(*e->order) * ORDER_SIZE);
	e->norder = 0;
	__atomic_store_n(&e->fd, fd, __ATOMIC_RELEASE);
	return 0;
}

/* The endpoint's fd was lost (closed mid-call): make a new endpoint. */
static void sep_recreate(struct sep *e, unsigned int gen)
{
	pthread_mutex_lock(&e->lock);
	if (e->gen == gen) {
		/* Keep the old number taken until the new port is in place. */
		int old = e->fd;

		if (sep_create(e, gen + 1))
			_exit(3);
		close(old);
		__atomic_store_n(&e->gen, gen + 1, __ATOMIC_RELEASE);
		add(&sh->ep_recreated, 1);
	}
	pthread_mutex_unlock(&e->lock);
}

/* Ordered delivery at the sink: exactly the next sequence number, per sender. */
static void sink_check(struct sep *e, const struct msg_hdr *h)
{
	unsigned int i = (unsigned int)(h->sender * 0x9e3779b97f4a7c15ull >> 50) % ORDER_SIZE;

	while (e->order[i].sender && e->order[i].sender != h->sender)
		i = (i + 1) % ORDER_SIZE;
	if (!e->order[i].sender) {
		/* Full enough: forget everyone rather than probe forever. */
		if (++e->norder > ORDER_SIZE * 3 / 4) {
			memset(e->order, 0, sizeof(*e->order) * ORDER_SIZE);
			e->norder = 0;
			return;
		}
		e->order[i].sender = h->sender;
	} else if (h->seq != e->order[i].next) {
		if (h->seq < e->order[i].next)
			report(order, "sink %u: sender %016" PRIx64 " seq %" PRIu64
			       " after %" PRIu64, srv_idx, h->sender, h->seq, e->order[i].next - 1);
		else
			report(lost, "sink %u: sender %016" PRIx64 " seq %" PRIu64
			       " expected %" PRIu64 " (messages lost)", srv_idx, h->sender,
			       h->seq, e->order[i].next);
	}
	e->order[i].next = h->seq + 1;
}

static bool check_request(const uint8_t *p, uint32_t len, uint32_t magic)
{
	const struct msg_hdr *h = (const void *)p;

	if (len < sizeof(*h) || h->magic != magic || h->len != len ||
	    h->sum != csum(p + sizeof(*h), len - sizeof(*h))) {
		report(mismatch, "server %u: corrupt %s of %u bytes (magic %08x len %u)",
		       srv_idx, magic == REQ_MAGIC ? "request" : "one-way message", len,
		       len >= 8 ? h->magic : 0, len >= 8 ? h->len : 0);
		return false;
	}
	return true;
}

/* A memfd every process inherits, for messages to carry (0 < fd). */
static int carry_fd = -1;
static bool carry_fds;

/* Whether the module carries descriptors (FASTIPC_F_FDS). */
static bool module_has_fds(void)
{
	struct fastipc_version v = { 0 };
	int fd = open("/dev/fastipc", O_RDWR | O_CLOEXEC);
	bool ret;

	if (fd < 0)
		return false;
	ret = !xioctl(fd, FASTIPC_IOC_VERSION, &v) && (v.features & FASTIPC_F_FDS);
	close(fd);
	return ret;
}

/* Closes the descriptors a message brought: @n of them at @fds, @cap at most. */
static void close_carried(const int32_t *fds, uint32_t n, uint32_t cap)
{
	uint32_t i;

	for (i = 0; i < n && i < cap; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

struct srv_thread {
	uint64_t seed;
	int32_t fds[4];			/* the reply's out, the message's in */
	int fwd_fd[MAX_SERVERS];	/* client ports to each server, for forwards */
	uint32_t fwd_buf[MAX_SERVERS];
	uint8_t *fwd_mem;
	uint8_t *reply;
	uint8_t *req;
};

static int fwd_port(struct srv_thread *t, unsigned int target)
{
	char name[FASTIPC_NAME_MAX];
	int fd, ret;

	if (t->fwd_fd[target] >= 0)
		return t->fwd_fd[target];
	fd = port_open(t->fwd_mem, 4096, &t->fwd_buf[target]);
	if (fd < 0)
		return fd;
	ep_name(name, target, false);
	ret = connect_name(fd, name);
	if (ret) {
		count_errno(sh->conn_err, ret);
		close(fd);
		return ret;
	}
	t->fwd_fd[target] = fd;
	return fd;
}

static void fwd_drop(struct srv_thread *t, unsigned int target)
{
	if (t->fwd_fd[target] >= 0)
		close(t->fwd_fd[target]);
	t->fwd_fd[target] = -1;
}

/*
 * Handles a call: forward it while hops remain, else build the reply. Returns
 * the reply length to send with *status, or -1 when the token is gone.
 */
static int handle_call(struct srv_thread *t, struct sep *e, const uint8_t *msg, uint32_t len,
		       uint64_t token, int32_t *status)
{
	const struct msg_hdr *h = (const void *)msg;
	struct msg_hdr *rh = (void *)t->reply;
	unsigned int target, tries;
	int fd, ret = 0;

	if (!check_request(msg, len, REQ_MAGIC)) {
		*status = -(SRV_ERR + EBADMSG);
		return 0;
	}
	if (h->hold_ms && !h->hop_count)
		sleep_ms(h->hold_ms);
	if (h->hops) {
		struct msg_hdr *fh = (void *)t->req;

		memcpy(t->req, msg, len);
		fh->hops--;
		fh->hop_count++;
		target = rnd_below(&t->seed, o.servers);
		for (tries = 0; tries < 20; tries++) {
			struct fastipc_forward f = {
				.token = token, .opcode = OP_CALL,
				.addr = (uintptr_t)t->req, .len = len,
			};

			fd = fwd_port(t, target);
			if (fd < 0) {
				ret = fd;
				break;
			}
			f.target_fd = fd;
			ret = xioctl(e->fd, FASTIPC_IOC_FORWARD, &f);
			count_errno(sh->fwd_err, ret);
			if (!ret) {
				add(&sh->forwards_ok, 1);
				return -1;
			}
			/* Consumed: the caller already has its answer (ELOOP, ECANCELED). */
			if (ret == -ENOENT || ret == -ELOOP || ret == -ECANCELED)
				return -1;
			if (ret == -EPIPE || ret == -EINVAL || lost_fd(ret))
				fwd_drop(t, target);
			if (ret != -EAGAIN && ret != -EPIPE)
				break;
			usleep(200);
		}
		*status = -(SRV_ERR - ret);
		return 0;
	}
	rh->magic = REPLY_MAGIC;
	rh->len = h->reply_len;
	rh->sender = h->sender;
	rh->seq = h->seq;
	rh->reply_len = h->reply_len;
	rh->hops = 0;
	rh->hop_count = h->hop_count;
	if (h->reply_len < sizeof(*rh) || h->reply_len > MAX_REPLY) {
		*status = -(SRV_ERR + ERANGE);
		return 0;
	}
	fill(t->reply + sizeof(*rh), h->reply_len - sizeof(*rh), ~(h->sender ^ h->seq));
	rh->sum = csum(t->reply + sizeof(*rh), h->reply_len - sizeof(*rh));
	*status = (int32_t)(h->seq & 0x3fffffff);
	return h->reply_len;
}

static void *server_thread(void *arg)
{
	struct sep *e = arg;
	struct srv_thread t = { .seed = thread_seed() };
	struct fastipc_serve s = { 0 };
	bool have_reply = false;
	unsigned int i, gen;
	int ret;

	for (i = 0; i < MAX_SERVERS; i++)
		t.fwd_fd[i] = -1;
	t.fwd_mem = malloc(4096);
	t.reply = malloc(MAX_REPLY);
	t.req = malloc(SLOT_SIZE);
	if (!t.fwd_mem || !t.reply || !t.req)
		_exit(3);
	for (;;) {
		uint64_t token;
		uint32_t flags = FASTIPC_SERVE_RECV;

		gen = __atomic_load_n(&e->gen, __ATOMIC_ACQUIRE);
		if (have_reply)
			flags |= FASTIPC_SERVE_REPLY;
		/* Now and then, reply alone and receive in a second call. */
		if (have_reply && chance(&t.seed, 10))
			flags &= ~FASTIPC_SERVE_RECV;
		s.flags = flags;
		if (!have_reply) {
			s.reply_token = 0;
			s.reply_addr = 0;
			s.reply_len = 0;
			s.reply_status = 0;
			s.nfds = 0;
		}
		if (carry_fds) {
			s.flags |= FASTIPC_SERVE_FDS | FASTIPC_SERVE_FDS_CLOEXEC;
			s.fds_addr = (uintptr_t)t.fds;
			s.fds_cap = 4;
			t.fds[0] = carry_fd;
		}
		ret = xioctl(e->fd, FASTIPC_IOC_SERVE, &s);
		count_errno(sh->serve_err, ret);
		if (!ret && (flags & FASTIPC_SERVE_RECV) && s.nfds) {
			add(&sh->fds_recv, s.nfds);
			close_carried(t.fds, s.nfds, 4);
		}
		if (have_reply) {
			if (ret == -EMSGSIZE) {
				/* The caller asked for more than its room: tell it so. */
				s.reply_status = -(SRV_ERR + EMSGSIZE);
				s.reply_len = 0;
				s.reply_addr = 0;
				s.nfds = 0;
				continue;
			}
			/* Reply-part errors leave nothing received. */
			have_reply = false;
			if (ret == -ENOENT || ret == -ECANCELED || ret == -EFAULT || ret == -EINVAL)
				continue;
			if (!ret || ret == -EAGAIN || ret == -EINTR)
				add(&sh->replies_ok, 1);
		}
		if (lost_fd(ret)) {
			add(&sh->fd_lost_server, 1);
			sep_recreate(e, gen);
			continue;
		}
		if (ret == -EINTR)
			continue;
		if (ret) {
			report(unexpected, "server %u: SERVE: %s", srv_idx, strerror(-ret));
			sleep_ms(10);
			continue;
		}
		if (!(flags & FASTIPC_SERVE_RECV))
			continue;
		add(&sh->srv_recv, 1);
		token = s.token;
		{
			const uint8_t *msg = e->base + s.offset;
			int32_t status = 0;
			int rlen;

			if (s.offset < POOL_OFF || s.offset + s.len > e->base_len) {
				report(unexpected, "server %u: message at %" PRIu64 "+%u outside the pool",
				       srv_idx, (uint64_t)s.offset, s.len);
				continue;
			}
			if (s.msg_flags & FASTIPC_MSG_ONEWAY) {
				if (check_request(msg, s.len, SEND_MAGIC)) {
					if (e->sink) {
						add(&sh->sink_recv, 1);
						sink_check(e, (const void *)msg);
					} else {
						add(&sh->ep_oneway_recv, 1);
					}
				}
				/* Release the slot with an empty reply. */
				s.reply_token = token;
				s.reply_addr = 0;
				s.reply_len = 0;
				s.reply_status = 0;
				s.nfds = 0;
				have_reply = true;
				continue;
			}
			rlen = handle_call(&t, e, msg, s.len, token, &status);
			if (rlen < 0)
				continue;
			s.reply_token = token;
			s.reply_status = status;
			s.reply_addr = (uintptr_t)t.reply;
			s.reply_len = rlen;
			/* Some replies carry the memfd back. */
			s.nfds = carry_fds && chance(&t.seed, 4);
			have_reply = true;
		}
	}
	return NULL;
}

/* SIGUSR2: lose one of this process's fds, whatever thread is using it. */
static void lose_one_fd(int sig)
{
	static uint64_t seed;
	int *fdp, fd;

	(void)sig;
	if (!nlose)
		return;
	if (!seed)
		seed = thread_seed();
	fdp = lose_fds[rnd_below(&seed, nlose)];
	fd = fdp ? *fdp : -1;
	/* /dev/null keeps the number taken, so no other port can get it. */
	if (fd > 2)
		dup2(null_fd, fd);
}

static void server_main(unsigned int idx)
{
	unsigned int i;

	srv_idx = idx;
	set_handler(SIGUSR1, noop);
	srv_ep.sink = false;
	srv_sink.sink = true;
	srv_sink.order = calloc(ORDER_SIZE, sizeof(*srv_sink.order));
	pthread_mutex_init(&srv_ep.lock, NULL);
	pthread_mutex_init(&srv_sink.lock, NULL);
	if (!srv_sink.order || sep_create(&srv_ep, 0) || sep_create(&srv_sink, 0))
		_exit(3);
	lose_fds[0] = &srv_ep.fd;
	lose_fds[1] = &srv_sink.fd;
	nlose = 2;
	set_handler(SIGUSR2, lose_one_fd);
	unblock_usr2();
	/* srv_nthreads counts the threads EP_CREATE may have to kick. */
	for (i = 0; i < o.srv_threads; i++) {
		pthread_create(&srv_tids[i], NULL, server_thread, &srv_ep);
		__atomic_store_n(&srv_nthreads, i + 1, __ATOMIC_RELEASE);
	}
	pthread_create(&srv_tids[i], NULL, server_thread, &srv_sink);
	__atomic_store_n(&srv_nthreads, i + 1, __ATOMIC_RELEASE);
	for (;;)
		pause();
}

/* ---- clients ---- */

struct worker {
	unsigned int client, idx;
	uint64_t seed;
	int fd, sink_fd;		/* connected to a server's endpoint and sink */
	unsigned int srv, sink_srv;
	uint32_t buf_id;
	uint8_t *buf;			/* registered reply buffer */
	uint8_t *req;
	uint64_t sender, seq;		/* one sender per connection */
	uint64_t sink_sender, sink_seq;
	pthread_t thread;
	/* While in SEND_WAIT: when the process's main thread interrupts it. */
	uint64_t wait_deadline;
	/* Asynchronous calls: the ring (when up) and a request per call. */
	struct io_uring ring;
	bool ring_up;
	uint8_t *areq;
};

static struct worker workers[MAX_WORKERS];

static void worker_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int worker_connect(struct worker *w, bool sink)
{
	char name[FASTIPC_NAME_MAX];
	unsigned int srv = rnd_below(&w->seed, o.servers);
	uint32_t id;
	int fd, ret;

	fd = port_open(w->buf, REPLY_BUF, &id);
	if (fd < 0) {
		count_errno(sh->conn_err, fd);
		return fd;
	}
	ep_name(name, srv, sink);
	ret = connect_name(fd, name);
	count_errno(sh->conn_err, ret);
	if (ret) {
		close(fd);
		return ret;
	}
	if (sink) {
		w->sink_fd = fd;
		w->sink_srv = srv;
		w->sink_sender = rnd(&w->seed) | 1;
		w->sink_seq = 0;
	} else {
		w->fd = fd;
		w->srv = srv;
		w->buf_id = id;
		w->sender = rnd(&w->seed) | 1;
		w->seq = 0;
	}
	return 0;
}

static uint32_t pick_len(uint64_t *seed, uint32_t max)
{
	unsigned int r = rnd_below(seed, 100);

	if (r < 50)
		return sizeof(struct msg_hdr) + rnd_below(seed, 256);
	if (r < 80)
		return sizeof(struct msg_hdr) + rnd_below(seed, 4096);
	return sizeof(struct msg_hdr) + rnd_below(seed, max - sizeof(struct msg_hdr) + 1);
}

static void build(struct worker *w, uint32_t magic, uint32_t len, uint64_t sender,
		  uint64_t seq)
{
	struct msg_hdr *h = (void *)w->req;

	memset(h, 0, sizeof(*h));
	h->magic = magic;
	h->len = len;
	h->sender = sender;
	h->seq = seq;
	fill(w->req + sizeof(*h), len - sizeof(*h), sender ^ seq);
	h->sum = csum(w->req + sizeof(*h), len - sizeof(*h));
}

static void busy_begin(struct worker *w, uint32_t op)
{
	struct busy *b = &sh->busy[w->client * MAX_WORKERS + w->idx];

	b->pid = getpid();
	b->tid = gettid();
	b->op = op;
	__atomic_store_n(&b->start_ns, fipc_now_ns(), __ATOMIC_RELEASE);
}

static uint64_t busy_end(struct worker *w)
{
	struct busy *b = &sh->busy[w->client * MAX_WORKERS + w->idx];
	uint64_t start = b->start_ns;

	__atomic_store_n(&b->start_ns, 0, __ATOMIC_RELEASE);
	return fipc_now_ns() - start;
}

/* Whether the reply to @seq is the one the server must have built. */
static bool reply_ok(struct worker *w, const struct msg_hdr *rh, uint64_t seq, uint32_t hops,
		     int32_t status, uint32_t reply_len, uint32_t want_len)
{
	if (status != (int32_t)(seq & 0x3fffffff) || reply_len != want_len ||
	    rh->magic != REPLY_MAGIC || rh->sender != w->sender || rh->seq != seq ||
	    rh->len != reply_len || rh->hop_count != hops ||
	    rh->sum != csum((const uint8_t *)rh + sizeof(*rh), reply_len - sizeof(*rh))) {
		report(mismatch, "reply to seq %" PRIu64 " (hops %u): status %d len %u/%u magic %08x seq %" PRIu64 " hops %u",
		       seq, hops, status, reply_len, want_len, rh->magic, rh->seq, rh->hop_count);
		return false;
	}
	/* The sum alone could collide: check the bytes themselves now and then. */
	if (chance(&w->seed, 5)) {
		uint8_t *want = w->req;

		fill(want, reply_len - sizeof(*rh), ~(w->sender ^ seq));
		if (memcmp(want, (const uint8_t *)rh + sizeof(*rh), reply_len - sizeof(*rh))) {
			report(mismatch, "reply bytes to seq %" PRIu64 " differ", seq);
			return false;
		}
	}
	return true;
}

static void do_call(struct worker *w)
{
	struct msg_hdr *h = (void *)w->req;
	struct fastipc_call c = { 0 };
	int32_t fds[2] = { carry_fd, -1 };
	uint32_t len, off, hops = 0;
	bool oversize = chance(&w->seed, 3), too_far = false, too_big = false;
	uint64_t seq = ++w->seq, took, limit;
	int ret;

	len = oversize ? SLOT_SIZE + 1 + rnd_below(&w->seed, 4096) : pick_len(&w->seed, SLOT_SIZE);
	build(w, REQ_MAGIC, len, w->sender, seq);
	if (chance(&w->seed, 20))
		hops = 1 + rnd_below(&w->seed, 3);
	else if (chance(&w->seed, 2))
		hops = FASTIPC_MAX_FORWARDS + 1, too_far = true;
	h->hops = hops;
	h->reply_len = pick_len(&w->seed, MAX_REPLY);
	off = rnd_below(&w->seed, 64 << 10);
	c.reply_cap = REPLY_BUF - off;
	if (chance(&w->seed, 3) && h->reply_len > sizeof(*h) + 1) {
		c.reply_cap = h->reply_len - 1 - rnd_below(&w->seed, h->reply_len - sizeof(*h));
		too_big = true;
	}
	h->sum = csum(w->req + sizeof(*h), len - sizeof(*h));
	memset(w->buf + off, 0xee, c.reply_cap < 4096 ? c.reply_cap : 4096);
	c.opcode = OP_CALL;
	c.req_addr = (uintptr_t)w->req;
	c.req_len = len;
	c.reply_buf = w->buf_id;
	c.reply_offset = off;
	c.timeout_ns = (uint64_t)o.timeout_ms * 1000000;
	if (carry_fds && chance(&w->seed, 4)) {
		c.flags = FASTIPC_CALL_FDS | FASTIPC_CALL_FDS_CLOEXEC;
		c.fds_addr = (uintptr_t)fds;
		c.nfds = 1;
		c.fds_cap = 2;
	}

	busy_begin(w, OP_CALL);
	ret = xioctl(w->fd, FASTIPC_IOC_CALL, &c);
	took = busy_end(w);
	if (!ret) {
		add(&sh->fds_sent, c.nfds);
		close_carried(fds, c.reply_nfds, c.fds_cap);
	}
	count_errno(sh->call_err, ret);
	limit = (uint64_t)(o.timeout_ms + o.slack_ms) * 1000000;
	if (took > limit)
		report(hang, "CALL took %" PRIu64 " ms with a %u ms timeout (%s)",
		       took / 1000000, o.timeout_ms, ret ? strerror(-ret) : "ok");
	if (lost_fd(ret)) {
		add(&sh->fd_lost_client, 1);
		worker_close(&w->fd);
		return;
	}
	if (ret == -EPIPE || ret == -ENOTCONN)
		worker_close(&w->fd);
	if (oversize) {
		if (ret == -EMSGSIZE)
			add(&sh->emsgsize_ok, 1);
		else if (ret != -EPIPE)
			report(unexpected, "CALL of %u bytes > slot: %s, not EMSGSIZE", len,
			       ret ? strerror(-ret) : "ok");
		return;
	}
	if (ret == -ELOOP && too_far) {
		add(&sh->eloop_ok, 1);
		return;
	}
	if (ret)
		return;
	if (c.status < 0) {
		/* The server could not do it (forward target gone, reply too big). */
		add(&sh->srv_status, 1);
		if (c.status == -(SRV_ERR + EBADMSG))
			report(mismatch, "server saw a corrupt request (seq %" PRIu64 ")", seq);
		if (c.reply_len)
			report(mismatch, "error status %d with a %u-byte reply", c.status,
			       c.reply_len);
		return;
	}
	if (too_far) {
		report(unexpected, "a call forwarded %u times got a reply", hops);
		return;
	}
	if (too_big) {
		report(mismatch, "reply of %u bytes delivered into %u bytes of room",
		       c.reply_len, c.reply_cap);
		return;
	}
	if (!reply_ok(w, (void *)(w->buf + off), seq, hops, c.status, c.reply_len, h->reply_len))
		return;
	add(&sh->calls_ok, 1);
	if (hops)
		add(&sh->calls_fwd_ok, 1);
}

/* One asynchronous call of a batch. */
struct acall {
	uint64_t seq;
	uint32_t hops, reply_len;
	bool cancelled, done;
};

static void async_prep(struct worker *w, uint32_t cmd_op, const void *arg, size_t len,
		       uint64_t user_data)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);

	/* The ring has room for a whole batch and its cancels. */
	if (!sqe)
		abort();
	memset(sqe, 0, 2 * sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = w->fd;
	sqe->cmd_op = cmd_op;
	sqe->user_data = user_data;
	memcpy(sqe->cmd, arg, len);
}

static void async_cancel(struct worker *w, uint64_t tag, uint32_t flags)
{
	struct fastipc_uring_cancel c = { .flags = flags, .tag = tag };

	async_prep(w, FASTIPC_URING_CANCEL, &c, sizeof(c), UINT64_MAX);
	io_uring_submit(&w->ring);
}

/* Check one call's completion; returns false if the connection is gone. */
static bool async_check(struct worker *w, struct acall *a, unsigned int i,
			const struct io_uring_cqe *cqe, bool cancel_all)
{
	const struct msg_hdr *rh = (void *)(w->buf + i * ASYNC_ROOM);
	int res = cqe->res;

	a->done = true;
	count_errno(sh->call_err, res < 0 ? res : 0);
	if (res == -ECANCELED) {
		if (!a->cancelled && !cancel_all)
			report(unexpected, "async call seq %" PRIu64 " cancelled by nobody", a->seq);
		add(&sh->async_cancelled, 1);
		return true;
	}
	/*
	 * The fd was lost, or the endpoint died. A lost fd is /dev/null, whose
	 * io_uring commands succeed with 0 and nothing else: no reply here is
	 * shorter than its header.
	 */
	if (lost_fd(res) || res == -EOPNOTSUPP || res == -EPIPE || res == -ENOTCONN)
		return false;
	if (!res && !cqe->big_cqe[0]) {
		add(&sh->fd_lost_client, 1);
		return false;
	}
	if (res < 0) {
		report(unexpected, "async call seq %" PRIu64 ": %s", a->seq, strerror(-res));
		return true;
	}
	if ((int32_t)cqe->big_cqe[0] < 0) {
		add(&sh->srv_status, 1);
		return true;
	}
	if (reply_ok(w, rh, a->seq, a->hops, (int32_t)cqe->big_cqe[0], res, a->reply_len))
		add(&sh->async_ok, 1);
	return true;
}

static uint8_t *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		_exit(3);
	return p;
}

/* Seen alike by a keeper and the children it forks. */
static uint8_t *map_shared(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		_exit(3);
	return p;
}

/*
 * Close the ring with calls in flight: the module cancels them, but in its
 * own time, and until then a call waiting for a slot may still read its
 * request and a server may still reply into its room. So the connection
 * and both buffers go too (a late read then faults): fresh ones follow.
 */
static void async_abandon(struct worker *w)
{
	io_uring_queue_exit(&w->ring);
	w->ring_up = false;
	worker_close(&w->fd);
	munmap(w->buf, REPLY_BUF);
	munmap(w->areq, ASYNC_MAX * ASYNC_REQ);
	w->buf = map_anon(REPLY_BUF);
	w->areq = map_anon(ASYNC_MAX * ASYNC_REQ);
}

/*
 * A batch of asynchronous calls through the worker's ring, with replies
 * checked like synchronous ones. Now and then some are cancelled by tag, or
 * the ring is closed with the calls in flight. Calls have no timeout: past
 * the synchronous timeout every call left is cancelled, and past the slack
 * after that the batch counts as hung.
 */
static void do_async_batch(struct worker *w)
{
	struct acall calls[ASYNC_MAX] = { 0 };
	unsigned int n = 1 + rnd_below(&w->seed, ASYNC_MAX), i, left = n;
	uint64_t deadline, seq0 = w->seq;
	bool cancel_all = false, alive = true;

	if (!w->ring_up) {
		if (io_uring_queue_init(2 * ASYNC_MAX, &w->ring,
					IORING_SETUP_SQE128 | IORING_SETUP_CQE32))
			return;
		w->ring_up = true;
	}
	for (i = 0; i < n; i++) {
		struct acall *a = &calls[i];
		struct msg_hdr *h = (void *)(w->areq + i * ASYNC_REQ);
		struct fastipc_uring_call c = { 0 };
		uint32_t len = pick_len(&w->seed, ASYNC_REQ);

		a->seq = ++w->seq;
		a->hops = chance(&w->seed, 20) ? 1 + rnd_below(&w->seed, 3) : 0;
		a->reply_len = pick_len(&w->seed, ASYNC_ROOM);
		build(w, REQ_MAGIC, len, w->sender, a->seq);
		memcpy(h, w->req, len);
		h->hops = a->hops;
		h->reply_len = a->reply_len;
		c.opcode = OP_CALL;
		c.req_addr = (uintptr_t)h;
		c.req_len = len;
		c.reply_buf = w->buf_id;
		c.reply_offset = i * ASYNC_ROOM;
		c.reply_cap = ASYNC_ROOM;
		c.tag = i + 1;
		async_prep(w, FASTIPC_URING_CALL, &c, sizeof(c), i);
	}
	busy_begin(w, OP_CALL);
	io_uring_submit(&w->ring);
	if (chance(&w->seed, 5)) {
		async_abandon(w);
		busy_end(w);
		add(&sh->async_abandoned, n);
		return;
	}
	if (chance(&w->seed, 20)) {
		i = rnd_below(&w->seed, n);
		calls[i].cancelled = true;
		async_cancel(w, i + 1, 0);
	}
	deadline = fipc_now_ns() + (uint64_t)o.timeout_ms * 1000000;
	while (left) {
		struct __kernel_timespec ts = { .tv_nsec = 10 * 1000000 };
		struct io_uring_cqe *cqe;
		int ret = io_uring_wait_cqe_timeout(&w->ring, &cqe, &ts);

		if (ret == -ETIME || ret == -EINTR) {
			if (fipc_now_ns() < deadline)
				continue;
			if (cancel_all) {
				report(hang, "%u async calls of %u (seqs from %" PRIu64 ") never completed",
				       left, n, seq0 + 1);
				async_abandon(w);
				break;
			}
			cancel_all = true;
			async_cancel(w, 0, FASTIPC_CANCEL_ALL);
			deadline = fipc_now_ns() + (uint64_t)o.slack_ms * 1000000;
			continue;
		}
		if (ret) {
			report(unexpected, "io_uring_wait_cqe: %s", strerror(-ret));
			break;
		}
		if (cqe->user_data < n && !calls[cqe->user_data].done) {
			alive &= async_check(w, &calls[cqe->user_data], cqe->user_data, cqe,
					     cancel_all);
			left--;
		}
		io_uring_cqe_seen(&w->ring, cqe);
	}
	busy_end(w);
	if (!alive)
		worker_close(&w->fd);
}

static void do_send(struct worker *w, bool sink)
{
	int fd = sink ? w->sink_fd : w->fd;
	uint64_t *seq = sink ? &w->sink_seq : &w->seq;
	uint64_t sender = sink ? w->sink_sender : w->sender;
	uint32_t max = sink ? SINK_SLOT : SLOT_SIZE, len;
	bool oversize = chance(&w->seed, 3), wait = chance(&w->seed, 30);
	struct fastipc_send s = { 0 };
	int ret;

	len = oversize ? max + 1 + rnd_below(&w->seed, 512) : pick_len(&w->seed, max);
	build(w, SEND_MAGIC, len, sender, *seq + 1);
	s.opcode = sink ? OP_SEND_SINK : OP_SEND_EP;
	s.addr = (uintptr_t)w->req;
	s.len = len;
	if (carry_fds && chance(&w->seed, 4)) {
		s.flags |= FASTIPC_SEND_FDS;
		s.fds_addr = (uintptr_t)&carry_fd;
		s.nfds = 1;
	}
	if (wait) {
		/*
		 * SEND_WAIT has no timeout of its own: the main thread signals
		 * us past the deadline (no POSIX timers on the debug kernel).
		 */
		s.flags |= FASTIPC_SEND_WAIT;
		__atomic_store_n(&w->wait_deadline, fipc_now_ns() + (uint64_t)o.timeout_ms * 1000000,
				 __ATOMIC_RELEASE);
	}
	busy_begin(w, sink ? OP_SEND_SINK : OP_SEND_EP);
	ret = xioctl(fd, FASTIPC_IOC_SEND, &s);
	busy_end(w);
	__atomic_store_n(&w->wait_deadline, 0, __ATOMIC_RELEASE);
	count_errno(sh->send_err, ret);
	if (!ret && !oversize) {
		++*seq;
		add(&sh->sends_ok, 1);
		add(&sh->fds_sent, s.nfds);
		return;
	}
	if (lost_fd(ret))
		add(&sh->fd_lost_client, 1);
	if (lost_fd(ret) || ret == -EPIPE || ret == -ENOTCONN)
		worker_close(sink ? &w->sink_fd : &w->fd);
	/* EMSGSIZE, unless the fd or the endpoint went first. */
	if (oversize && ret != -EMSGSIZE && !lost_fd(ret) && ret != -EPIPE)
		report(unexpected, "SEND of %u bytes > slot: %s, not EMSGSIZE", len,
		       ret ? strerror(-ret) : "ok");
}

static void *client_worker(void *arg)
{
	struct worker *w = arg;

	while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED)) {
		unsigned int r = rnd_below(&w->seed, 100);

		/* Move to another server now and then. */
		if (chance(&w->seed, 2))
			worker_close(&w->fd);
		if (chance(&w->seed, 2))
			worker_close(&w->sink_fd);
		if ((w->fd < 0 && worker_connect(w, false)) ||
		    (w->sink_fd < 0 && worker_connect(w, true))) {
			sleep_ms(2);
			continue;
		}
		if (r < 10)
			do_async_batch(w);
		else if (r < 65)
			do_call(w);
		else if (r < 80)
			do_send(w, false);
		else
			do_send(w, true);
	}
	return NULL;
}

static void client_main(unsigned int idx)
{
	bool joined[MAX_WORKERS] = { false };
	unsigned int i;

	set_handler(SIGUSR1, noop);
	for (i = 0; i < o.workers; i++) {
		struct worker *w = &workers[i];

		w->client = idx;
		w->idx = i;
		w->fd = w->sink_fd = -1;
		w->seed = thread_seed() + i;
		w->buf = mmap(NULL, REPLY_BUF, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		w->req = malloc(MAX_REPLY > SLOT_SIZE + 8192 ? MAX_REPLY : SLOT_SIZE + 8192);
		w->areq = map_anon(ASYNC_MAX * ASYNC_REQ);
		if (w->buf == MAP_FAILED || !w->req)
			_exit(3);
		lose_fds[nlose++] = &w->fd;
		lose_fds[nlose++] = &w->sink_fd;
	}
	set_handler(SIGUSR2, lose_one_fd);
	unblock_usr2();
	for (i = 0; i < o.workers; i++)
		pthread_create(&workers[i].thread, NULL, client_worker, &workers[i]);
	/* Interrupt SEND_WAITs past their deadline until the workers stop. */
	for (;;) {
		unsigned int running = 0;

		for (i = 0; i < o.workers; i++) {
			struct worker *w = &workers[i];
			uint64_t d = __atomic_load_n(&w->wait_deadline, __ATOMIC_ACQUIRE);

			if (joined[i])
				continue;
			if (d && fipc_now_ns() > d)
				pthread_kill(w->thread, SIGUSR1);
			joined[i] = !pthread_tryjoin_np(w->thread, NULL);
			running += !joined[i];
		}
		if (!running)
			break;
		sleep_ms(5);
	}
	_exit(0);
}

/* ---- io_uring keepers: orphaned submitters and rings closed under sleepers ---- */

/*
 * A keeper process holds a ring and runs two threads:
 *
 * - The orphan thread forks short-lived children that submit asynchronous
 *   calls through the keeper's ring, to a server, asking for 1 to 3 forwards
 *   and for the first server to hold each call a few ms before it forwards.
 *   The children exit (at once, a little later, or by SIGKILL) and are
 *   reaped while the servers hold their calls; the servers FORWARD them and
 *   the last one replies. Every CQE is checked to the byte: a reply exactly
 *   as the server built it, its status word, big_cqe[1] zero, the room past
 *   the reply untouched; or ECANCELED with an untouched room; or EPIPE when
 *   a server died.
 *
 * - The teardown thread (C) submits receives on an endpoint of its own (E)
 *   and calls to a server through a new ring, then sleeps in a blocking
 *   SERVE or CALL on a second endpoint (E2). A helper thread (B) waits until
 *   C sleeps, sends one-way messages to E, answers the receives' CQEs
 *   already posted (C's task work posts them: it interrupts C's sleep),
 *   closes the ring and wakes C. Nothing may vanish: every message sent is
 *   received at most once and intact, from a CQE B saw or from E, or still
 *   held by E because its CQE went into the closed ring unread (fdinfo
 *   "held:"), at most one per receive B did not see complete.
 */
#define U_CALLS		8
#define U_ROOM		(REPLY_BUF / U_CALLS)
#define U_REQ		(4096u + 512)
#define TD_MSGS		12
#define TD_SLOT		512u
#define TD_NSLOTS	16
#define TD_INFO		(TD_SLOT * TD_NSLOTS)

struct ukeeper {
	uint64_t seed;
	unsigned int idx;
	/* orphan thread */
	struct io_uring ring;
	bool ring_up;
	int fd;
	uint32_t buf_id;
	uint8_t *buf, *areq, *want;
	uint64_t sender, seq;
};

static struct ukeeper uk;

static bool uring_setup(struct io_uring *ring, unsigned int entries)
{
	return !io_uring_queue_init(entries, ring, IORING_SETUP_SQE128 | IORING_SETUP_CQE32);
}

static void uprep_fd(struct io_uring *ring, int fd, uint32_t cmd_op, const void *arg, size_t len,
		     uint64_t user_data)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe)
		abort();
	memset(sqe, 0, 2 * sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->cmd_op = cmd_op;
	sqe->user_data = user_data;
	memcpy(sqe->cmd, arg, len);
}

/* Connects the orphan thread's port to a random server's endpoint. */
static int orphan_connect(struct ukeeper *u)
{
	char name[FASTIPC_NAME_MAX];
	uint32_t id;
	int fd, ret;

	fd = port_open(u->buf, REPLY_BUF, &id);
	if (fd < 0)
		return fd;
	ep_name(name, rnd_below(&u->seed, o.servers), false);
	ret = connect_name(fd, name);
	count_errno(sh->conn_err, ret);
	if (ret) {
		close(fd);
		return ret;
	}
	u->fd = fd;
	u->buf_id = id;
	u->sender = rnd(&u->seed) | 1;
	return 0;
}

/* The reply the last server must have built for @seq, into u->want. */
static void orphan_expect(struct ukeeper *u, uint64_t seq, uint32_t hops, uint32_t len)
{
	struct msg_hdr *rh = (void *)u->want;

	memset(rh, 0, sizeof(*rh));
	rh->magic = REPLY_MAGIC;
	rh->len = len;
	rh->sender = u->sender;
	rh->seq = seq;
	rh->reply_len = len;
	rh->hop_count = hops;
	fill(u->want + sizeof(*rh), len - sizeof(*rh), ~(u->sender ^ seq));
	rh->sum = csum(u->want + sizeof(*rh), len - sizeof(*rh));
}

static bool untouched(const uint8_t *p, size_t len)
{
	while (len--)
		if (*p++ != 0xee)
			return false;
	return true;
}

static void orphan_round(struct ukeeper *u)
{
	struct acall calls[U_CALLS] = { 0 };
	unsigned int n = 1 + rnd_below(&u->seed, U_CALLS), i, left = n, mode, hold;
	uint64_t deadline, cs = rnd(&u->seed) | 1;
	bool cancel_all = false, alive = true;
	int status, pfd[2];
	pid_t pid;
	char x;

	if (!u->ring_up) {
		if (!uring_setup(&u->ring, 2 * U_CALLS))
			return;
		u->ring_up = true;
	}
	if (u->fd < 0 && orphan_connect(u)) {
		sleep_ms(5);
		return;
	}
	/* Long enough for the child to be reaped, and an RCU grace period to pass. */
	hold = 5 + rnd_below(&u->seed, 60);
	for (i = 0; i < n; i++) {
		struct acall *a = &calls[i];
		struct msg_hdr *h = (void *)(u->areq + i * U_REQ);
		uint32_t len = sizeof(*h) + rnd_below(&u->seed, U_REQ - sizeof(*h) + 1);

		a->seq = ++u->seq;
		a->hops = 1 + rnd_below(&u->seed, 3);
		a->reply_len = sizeof(*h) + rnd_below(&u->seed, U_ROOM - 64 - sizeof(*h));
		memset(h, 0, sizeof(*h));
		h->magic = REQ_MAGIC;
		h->len = len;
		h->sender = u->sender;
		h->seq = a->seq;
		h->hops = a->hops;
		h->reply_len = a->reply_len;
		h->hold_ms = hold;
		fill((uint8_t *)h + sizeof(*h), len - sizeof(*h), u->sender ^ a->seq);
		h->sum = csum((uint8_t *)h + sizeof(*h), len - sizeof(*h));
		memset(u->buf + i * U_ROOM, 0xee, U_ROOM);
	}
	mode = rnd_below(&u->seed, 3);
	if (pipe2(pfd, O_CLOEXEC))
		return;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return;
	}
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (i = 0; i < n; i++) {
			struct fastipc_uring_call c = {
				.opcode = OP_CALL, .req_addr = (uintptr_t)(u->areq + i * U_REQ),
				.req_len = ((struct msg_hdr *)(u->areq + i * U_REQ))->len,
				.reply_buf = u->buf_id, .reply_offset = i * U_ROOM, .reply_cap = U_ROOM,
				.tag = i + 1,
			};

			uprep_fd(&u->ring, u->fd, FASTIPC_URING_CALL, &c, sizeof(c), i);
		}
		io_uring_submit(&u->ring);
		if (write(pfd[1], "x", 1) != 1)
			_exit(1);
		if (mode == 1)
			sleep_ms(rnd_below(&cs, hold));
		while (mode == 2)
			pause();
		_exit(0);
	}
	/* Killed only once its calls are in: they all must post CQEs. */
	close(pfd[1]);
	if (read(pfd[0], &x, 1) != 1)
		report(unexpected, "an io_uring submitter child died before submitting");
	close(pfd[0]);
	if (mode == 2) {
		sleep_ms(rnd_below(&u->seed, hold));
		kill(pid, SIGKILL);
	}
	deadline = fipc_now_ns() + (uint64_t)(o.timeout_ms + o.slack_ms) * 1000000;
	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (fipc_now_ns() > deadline) {
			report(hang, "an io_uring submitter child %d did not exit", pid);
			dump_task(PROG, pid, pid);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		sleep_ms(1);
	}
	add(&sh->orphan_children, 1);
	/* The child's submissions are in the ring: its tail is ours again. */
	u->ring.sq.sqe_head = u->ring.sq.sqe_tail = *u->ring.sq.ktail;
	deadline = fipc_now_ns() + (uint64_t)(o.timeout_ms + hold) * 1000000;
	while (left) {
		struct __kernel_timespec ts = { .tv_nsec = 10 * 1000000 };
		struct io_uring_cqe *cqe;
		int ret = io_uring_wait_cqe_timeout(&u->ring, &cqe, &ts), res;
		struct acall *a;
		const uint8_t *room;

		if (ret == -ETIME || ret == -EINTR) {
			if (fipc_now_ns() < deadline)
				continue;
			if (cancel_all) {
				report(hang, "%u io_uring calls of %u of an exited submitter never completed",
				       left, n);
				break;
			}
			/* Whoever holds the ring may cancel the calls of a dead submitter. */
			cancel_all = true;
			{
				struct fastipc_uring_cancel c = { .flags = FASTIPC_CANCEL_ALL };

				uprep_fd(&u->ring, u->fd, FASTIPC_URING_CANCEL, &c, sizeof(c), UINT64_MAX);
				io_uring_submit(&u->ring);
			}
			deadline = fipc_now_ns() + (uint64_t)o.slack_ms * 1000000;
			continue;
		}
		if (ret) {
			report(unexpected, "io_uring_wait_cqe: %s", strerror(-ret));
			break;
		}
		if (cqe->user_data >= n || calls[cqe->user_data].done) {
			io_uring_cqe_seen(&u->ring, cqe);
			continue;
		}
		a = &calls[cqe->user_data];
		a->done = true;
		left--;
		res = cqe->res;
		room = u->buf + cqe->user_data * U_ROOM;
		count_errno(sh->orphan_err, res < 0 ? res : 0);
		if (cqe->big_cqe[1])
			report(mismatch, "orphan call seq %" PRIu64 ": big_cqe[1] %#llx", a->seq,
			       (unsigned long long)cqe->big_cqe[1]);
		if (res == -ECANCELED) {
			if (cqe->big_cqe[0] || !untouched(room, U_ROOM))
				report(mismatch, "orphan call seq %" PRIu64 " cancelled, but status %lld or its room written",
				       a->seq, (long long)cqe->big_cqe[0]);
			add(&sh->orphan_cancelled, 1);
		} else if (res == -EPIPE || res == -ENOTCONN) {
			alive = false;
		} else if (res < 0) {
			report(unexpected, "orphan call seq %" PRIu64 ": %s", a->seq, strerror(-res));
		} else if ((int32_t)cqe->big_cqe[0] < 0) {
			/* The server could not forward (target gone): no bytes. */
			add(&sh->srv_status, 1);
			if (res)
				report(mismatch, "orphan call seq %" PRIu64 ": status %d with %d bytes",
				       a->seq, (int32_t)cqe->big_cqe[0], res);
		} else {
			orphan_expect(u, a->seq, a->hops, a->reply_len);
			if ((int32_t)cqe->big_cqe[0] != (int32_t)(a->seq & 0x3fffffff) ||
			    (uint32_t)res != a->reply_len || memcmp(room, u->want, res) ||
			    !untouched(room + res, 64))
				report(mismatch, "orphan call seq %" PRIu64 " (hops %u): status %lld, %d of %u bytes, %s",
				       a->seq, a->hops, (long long)cqe->big_cqe[0], res, a->reply_len,
				       memcmp(room, u->want, (size_t)res < a->reply_len ? (size_t)res : a->reply_len) ?
				       "bytes differ" : "room past the reply written");
			else
				add(&sh->orphan_ok, 1);
		}
		io_uring_cqe_seen(&u->ring, cqe);
	}
	if (left || !alive) {
		/* Something may still land there: fresh ring, port and buffers. */
		io_uring_queue_exit(&u->ring);
		u->ring_up = false;
		worker_close(&u->fd);
		munmap(u->buf, REPLY_BUF);
		u->buf = map_shared(REPLY_BUF);
	}
}

static void *orphan_thread(void *arg)
{
	struct ukeeper *u = arg;

	while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED))
		orphan_round(u);
	return NULL;
}

struct td {
	uint64_t seed;
	struct io_uring ring;
	int e, ce, e2, ce2;
	uint8_t *ebase;
	pid_t ctid;
	bool c_calls, unsure;
	unsigned int sent, via_ring;
	uint64_t sender, ring_tokens[TD_MSGS + 4];
	uint8_t got[TD_MSGS];
};

/* A one-way message received at E: which one, checked. */
static void td_got(void *arg, const uint8_t *msg, uint32_t len)
{
	struct td *t = arg;
	const struct msg_hdr *h = (const void *)msg;

	if (len < sizeof(*h) || h->magic != SEND_MAGIC || h->len != len || h->sender != t->sender ||
	    !h->seq || h->seq > TD_MSGS || h->sum != csum(msg + sizeof(*h), len - sizeof(*h))) {
		report(mismatch, "teardown: corrupt one-way message of %u bytes", len);
		return;
	}
	if (t->got[h->seq - 1]++)
		report(mismatch, "teardown: message %" PRIu64 " received twice", h->seq);
}

static void *td_closer(void *arg)
{
	struct td *t = arg;
	struct io_uring_cqe *cqe;
	unsigned int i, m = 1 + rnd_below(&t->seed, TD_MSGS), busy;
	uint8_t msg[256];
	pid_t kw;

	for (i = 0; i < 2000 && !in_ioctl(t->ctid); i++)
		usleep(500);
	t->unsure = i == 2000;
	for (i = 0; i < m; i++) {
		struct msg_hdr *h = (void *)msg;
		uint32_t len = sizeof(*h) + rnd_below(&t->seed, sizeof(msg) - sizeof(*h));
		struct fastipc_send s = { .opcode = OP_SEND_EP, .addr = (uintptr_t)msg, .len = len };

		memset(h, 0, sizeof(*h));
		h->magic = SEND_MAGIC;
		h->len = len;
		h->sender = t->sender;
		h->seq = t->sent + 1;
		fill(msg + sizeof(*h), len - sizeof(*h), t->sender ^ h->seq);
		h->sum = csum(msg + sizeof(*h), len - sizeof(*h));
		if (!xioctl(t->ce, FASTIPC_IOC_SEND, &s))
			t->sent++;
	}
	sleep_ms(rnd_below(&t->seed, 3));
	/*
	 * C's task work posts the receives' CQEs (it interrupts C's sleep, and
	 * the ioctl restarts), now or later: B answers what it sees here, and
	 * the messages of CQEs posted after its look stay held.
	 */
	while (!io_uring_peek_cqe(&t->ring, &cqe)) {
		if (cqe->user_data >= 1000 && cqe->user_data < 2000 && cqe->res >= 0 &&
		    t->via_ring < TD_MSGS + 4) {
			const struct fastipc_msg_info *mi =
				(const void *)(t->ebase + TD_INFO + 64 * (cqe->user_data - 1000));

			t->ring_tokens[t->via_ring++] = cqe->big_cqe[0];
			if (mi->token != cqe->big_cqe[0] || mi->len != (uint32_t)cqe->res)
				report(mismatch, "teardown: receive's record says token %llx len %u, CQE %llx %d",
				       (unsigned long long)mi->token, mi->len,
				       (unsigned long long)cqe->big_cqe[0], cqe->res);
			else
				td_got(t, t->ebase + mi->offset, mi->len);
		}
		io_uring_cqe_seen(&t->ring, cqe);
	}
	io_uring_queue_exit(&t->ring);
	add(&sh->td_rings, 1);
	/* Its teardown waits for C's completions; it must not burn a CPU meanwhile. */
	busy = iou_exit_busy(150, &kw);
	if (busy >= 60)
		report(spin, "iou_exit worker %d ran %u%% of 150 ms after a ring closed under a sleeping submitter",
		       kw, busy);
	wake_sleeper(t->c_calls, t->e2, t->ce2, OP_SEND_EP, msg);
	return NULL;
}

/* An anonymous endpoint on @mem and a client of it, both with @mem registered. */
static int td_pair(uint8_t *mem, size_t len, uint32_t nslots, int *client)
{
	struct fastipc_ep_create c = { .slot_size = TD_SLOT, .nslots = nslots };
	struct fastipc_connect k = { .flags = FASTIPC_CONNECT_FD };
	uint32_t id;
	int ep = port_open(mem, len, &id), cl;

	if (ep < 0)
		return ep;
	c.pool_buf = id;
	if (xioctl(ep, FASTIPC_IOC_EP_CREATE, &c)) {
		close(ep);
		return -1;
	}
	cl = port_open(mem + len / 2, len / 2, &id);
	k.ep_fd = ep;
	if (cl < 0 || xioctl(cl, FASTIPC_IOC_CONNECT, &k)) {
		if (cl >= 0)
			close(cl);
		close(ep);
		return -1;
	}
	*client = cl;
	return ep;
}

static void td_round(uint8_t *mem, uint8_t *mem2, uint64_t *seed)
{
	struct td t = { .seed = rnd(seed) | 1, .e = -1, .ce = -1, .e2 = -1, .ce2 = -1 };
	unsigned int k = 1 + rnd_below(seed, 4), nc = rnd_below(seed, 3), i;
	struct conserve cs = { 0 };
	int cfd = -1, ret;
	uint32_t cid = 0;
	pthread_t b;

	t.ebase = mem;
	t.sender = rnd(seed) | 1;
	t.ctid = gettid();
	t.c_calls = chance(seed, 50);
	t.e = td_pair(mem, 256 << 10, TD_NSLOTS, &t.ce);
	t.e2 = td_pair(mem2, 64 << 10, 2, &t.ce2);
	if (t.e < 0 || t.e2 < 0 || !uring_setup(&t.ring, 16))
		goto out;
	for (i = 0; i < k; i++) {
		struct fastipc_uring_recv r = { .msg_offset = TD_INFO + 64 * i, .tag = 1 };

		uprep_fd(&t.ring, t.e, FASTIPC_URING_RECV, &r, sizeof(r), 1000 + i);
	}
	/* Calls to a server, held there a while, in flight too. */
	if (nc) {
		char name[FASTIPC_NAME_MAX];

		cfd = port_open(mem + (128 << 10), 64 << 10, &cid);
		ep_name(name, rnd_below(seed, o.servers), false);
		if (cfd >= 0 && connect_name(cfd, name))
			worker_close(&cfd);
	}
	for (i = 0; cfd >= 0 && i < nc; i++) {
		struct msg_hdr *h = (void *)(mem2 + (48 << 10) + i * 1024);
		struct fastipc_uring_call c = {
			.opcode = OP_CALL, .req_addr = (uintptr_t)h, .req_len = 512,
			.reply_buf = cid, .reply_offset = i * 4096, .reply_cap = 4096, .tag = 2,
		};

		memset(h, 0, sizeof(*h));
		h->magic = REQ_MAGIC;
		h->len = 512;
		h->sender = t.sender;
		h->seq = i + 1;
		h->reply_len = 256;
		h->hold_ms = rnd_below(seed, 50);
		fill((uint8_t *)h + sizeof(*h), 512 - sizeof(*h), 7);
		h->sum = csum((uint8_t *)h + sizeof(*h), 512 - sizeof(*h));
		uprep_fd(&t.ring, cfd, FASTIPC_URING_CALL, &c, sizeof(c), 2000 + i);
	}
	io_uring_submit(&t.ring);
	if (pthread_create(&b, NULL, td_closer, &t)) {
		io_uring_queue_exit(&t.ring);
		goto out;
	}
	if (t.c_calls) {
		struct fastipc_call c = { .reply_cap = 4096, .req_addr = (uintptr_t)mem2, .req_len = 8 };

		ret = xioctl(t.ce2, FASTIPC_IOC_CALL, &c);
	} else {
		struct fastipc_serve s = { .flags = FASTIPC_SERVE_RECV };

		ret = xioctl(t.e2, FASTIPC_IOC_SERVE, &s);
	}
	if (ret)
		report(unexpected, "teardown: blocking %s: %s", t.c_calls ? "CALL" : "SERVE",
		       strerror(-ret));
	pthread_join(b, NULL);
	/* Release what B saw; the rest is at E, or held by a CQE nobody reads. */
	for (i = 0; i < t.via_ring; i++) {
		struct fastipc_serve s = { .flags = FASTIPC_SERVE_REPLY, .reply_token = t.ring_tokens[i] };

		ret = xioctl(t.e, FASTIPC_IOC_SERVE, &s);
		if (ret)
			report(unexpected, "teardown: releasing a message a CQE gave: %s", strerror(-ret));
	}
	cs.sent = t.sent;
	cs.received = t.via_ring;
	cs.recvs = k - t.via_ring;
	if (!ep_conserved(t.e, mem, &cs, td_got, &t)) {
		if (cs.err != -EAGAIN)
			report(unexpected, "teardown: draining E, or its fdinfo: %s", strerror(-cs.err));
		else
			report(lost, "teardown: of %u one-way messages sent, %u received (%u from CQEs seen before the close) and %u held (by %u receives whose CQEs went unread), %u still queued, after their receives' ring closed under a %s",
			       cs.sent, cs.received, t.via_ring, cs.held, cs.recvs, cs.queued,
			       t.c_calls ? "CALL" : "SERVE");
	}
	add(&sh->td_sent, t.sent);
	add(&sh->td_via_ring, t.via_ring);
	add(&sh->td_held, cs.held);
	if (t.unsure)
		add(&sh->td_unsure, 1);
out:
	worker_close(&cfd);
	worker_close(&t.e);
	worker_close(&t.ce);
	worker_close(&t.e2);
	worker_close(&t.ce2);
}

static void uring_main(unsigned int idx)
{
	uint8_t *mem = map_anon(256 << 10), *mem2 = map_anon(64 << 10);
	uint64_t seed = thread_seed();
	pthread_t t;

	set_handler(SIGUSR1, noop);
	uk.idx = idx;
	uk.seed = thread_seed() ^ 0x1234;
	uk.fd = -1;
	uk.buf = map_shared(REPLY_BUF);
	uk.areq = map_shared(U_CALLS * U_REQ);
	uk.want = map_anon(U_ROOM);
	if (pthread_create(&t, NULL, orphan_thread, &uk))
		_exit(3);
	while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED))
		td_round(mem, mem2, &seed);
	pthread_join(t, NULL);
	_exit(0);
}

/* ---- the parent: start, fault, watch, stop ---- */

enum { KIND_SERVER, KIND_CLIENT, KIND_URING };

struct child {
	pid_t pid;
	bool killed;
};

static struct child servers[MAX_SERVERS], clients[MAX_CLIENTS];

static pid_t spawn(int kind, unsigned int idx)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid < 0) {
		perror(PROG ": fork");
		return pid;
	}
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		if (kind == KIND_SERVER)
			server_main(idx);
		if (kind == KIND_URING)
			uring_main(idx);
		client_main(idx);
	}
	return pid;
}

static void reap(bool restart)
{
	int status;
	pid_t pid;
	unsigned int i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct child *c = NULL;
		int kind = KIND_SERVER;

		for (i = 0; i < o.servers; i++)
			if (servers[i].pid == pid)
				c = &servers[i];
		for (i = 0; !c && i < o.clients + o.uring_procs; i++)
			if (clients[i].pid == pid)
				c = &clients[i], kind = i < o.clients ? KIND_CLIENT : KIND_URING;
		if (!c)
			continue;
		if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && c->killed) &&
		    !(WIFEXITED(status) && !WEXITSTATUS(status)))
			report(unexpected, "%s pid %d %s %d", kind == KIND_SERVER ? "server" :
			       kind == KIND_CLIENT ? "client" : "io_uring keeper",
			       pid, WIFSIGNALED(status) ? "died of signal" : "exited with",
			       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		c->pid = 0;
		c->killed = false;
		/* A killed client's operations in hand died with it. */
		for (i = 0; kind != KIND_SERVER && i < MAX_WORKERS; i++)
			__atomic_store_n(&sh->busy[(c - clients) * MAX_WORKERS + i].start_ns, 0,
					 __ATOMIC_RELEASE);
		if (restart)
			c->pid = spawn(kind, kind == KIND_SERVER ? (unsigned int)(c - servers) :
				       (unsigned int)(c - clients));
	}
}

/* Operations stuck past their timeout, as seen from outside. */
static void watch_busy(void)
{
	uint64_t limit = (uint64_t)(o.timeout_ms + o.slack_ms) * 1000000, now = fipc_now_ns();
	unsigned int i;

	for (i = 0; i < o.clients * MAX_WORKERS; i++) {
		struct busy *b = &sh->busy[i];
		uint64_t start = __atomic_load_n(&b->start_ns, __ATOMIC_ACQUIRE);

		if (!start || start > now || now - start < limit)
			continue;
		report(hang, "client pid %d tid %d stuck in op %u for %" PRIu64 " ms",
		       b->pid, b->tid, b->op, (now - start) / 1000000);
		dump_task(PROG, b->pid, b->tid);
		b->start_ns = 0;
		kill(b->pid, SIGKILL);
	}
}

static void inject_fault(uint64_t *seed)
{
	unsigned int r = rnd_below(seed, 100);
	struct child *c;

	if (r < 30) {
		c = &clients[rnd_below(seed, o.clients)];
		if (c->pid && !c->killed && !kill(c->pid, SIGKILL)) {
			c->killed = true;
			add(&sh->kill_client, 1);
		}
	} else if (r < 40) {
		c = &servers[rnd_below(seed, o.servers)];
		if (c->pid && !c->killed && !kill(c->pid, SIGKILL)) {
			c->killed = true;
			add(&sh->kill_server, 1);
		}
	} else if (r < 75) {
		c = &clients[rnd_below(seed, o.clients)];
		if (c->pid && !c->killed && !kill(c->pid, SIGUSR2))
			add(&sh->close_client, 1);
	} else if (r < 90) {
		c = &servers[rnd_below(seed, o.servers)];
		if (c->pid && !c->killed && !kill(c->pid, SIGUSR2))
			add(&sh->close_server, 1);
	}
}

static bool wait_all(uint64_t deadline)
{
	unsigned int i, left;

	for (;;) {
		reap(false);
		left = 0;
		for (i = 0; i < o.servers; i++)
			left += servers[i].pid != 0;
		for (i = 0; i < o.clients + o.uring_procs; i++)
			left += clients[i].pid != 0;
		if (!left)
			return true;
		if (fipc_now_ns() > deadline)
			break;
		watch_busy();
		sleep_ms(20);
	}
	for (i = 0; i < o.clients + o.uring_procs; i++)
		if (clients[i].pid)
			printf(PROG ": client pid %d did not exit\n", clients[i].pid);
	for (i = 0; i < o.servers; i++)
		if (servers[i].pid)
			printf(PROG ": server pid %d did not exit\n", servers[i].pid);
	return false;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: " PROG " [--seconds N] [--servers N] [--server-threads N] [--clients N]\n"
		"       [--client-threads N] [--timeout-ms N] [--slack-ms N] [--fault-ms N]\n"
		"       [--seed N] [--no-faults] [--uring-procs N]\n");
	exit(2);
}

static void parse(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "seconds", 1, NULL, 's' }, { "servers", 1, NULL, 'S' },
		{ "server-threads", 1, NULL, 'T' }, { "clients", 1, NULL, 'c' },
		{ "client-threads", 1, NULL, 'w' }, { "timeout-ms", 1, NULL, 't' },
		{ "slack-ms", 1, NULL, 'k' }, { "fault-ms", 1, NULL, 'f' },
		{ "seed", 1, NULL, 'r' }, { "no-faults", 0, NULL, 'n' },
		{ "uring-procs", 1, NULL, 'u' }, { }
	};
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': o.seconds = atoi(optarg); break;
		case 'S': o.servers = atoi(optarg); break;
		case 'T': o.srv_threads = atoi(optarg); break;
		case 'c': o.clients = atoi(optarg); break;
		case 'w': o.workers = atoi(optarg); break;
		case 't': o.timeout_ms = atoi(optarg); break;
		case 'k': o.slack_ms = atoi(optarg); break;
		case 'f': o.fault_ms = atoi(optarg); break;
		case 'r': o.seed = strtoull(optarg, NULL, 0); break;
		case 'n': o.no_faults = true; break;
		case 'u': o.uring_procs = atoi(optarg); break;
		default: usage();
		}
	}
	if (optind != argc || !o.seconds || !o.servers || o.servers > MAX_SERVERS ||
	    !o.srv_threads || o.srv_threads > MAX_SRV_THREADS || !o.clients ||
	    o.clients + o.uring_procs > MAX_CLIENTS || !o.workers || o.workers > MAX_WORKERS ||
	    !o.timeout_ms || !o.fault_ms)
		usage();
}

static uint64_t sum_hist(const uint64_t *h, bool errors_only)
{
	uint64_t n = 0;
	int e;

	for (e = errors_only; e < NERRNO; e++)
		n += h[e];
	return n;
}

int main(int argc, char **argv)
{
	uint64_t seed, end, next_fault, faults;
	unsigned int i;
	int live, fail;

	parse(argc, argv);
	if (!o.seed)
		o.seed = fipc_now_ns() ^ getpid();
	seed = o.seed;
	setvbuf(stdout, NULL, _IOLBF, 0);
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	carry_fd = memfd_create(PROG, MFD_CLOEXEC);
	carry_fds = carry_fd >= 0 && module_has_fds();
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (null_fd < 0 || sh == MAP_FAILED) {
		perror(PROG);
		return 1;
	}
	sh->run_id = (unsigned int)(o.seed % 100000);
	signal(SIGPIPE, SIG_IGN);
	{
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, SIGUSR2);
		sigprocmask(SIG_BLOCK, &set, NULL);
	}
	printf(PROG ": %u s, %u servers x %u threads, %u clients x %u threads, timeout %u ms, fault every ~%u ms%s, seed %" PRIu64 "\n",
	       o.seconds, o.servers, o.srv_threads, o.clients, o.workers, o.timeout_ms,
	       o.fault_ms, o.no_faults ? " (faults off)" : "", o.seed);

	for (i = 0; i < o.servers; i++)
		servers[i].pid = spawn(KIND_SERVER, i);
	/* Let the endpoints appear before the clients look for them. */
	sleep_ms(200);
	for (i = 0; i < o.clients; i++)
		clients[i].pid = spawn(KIND_CLIENT, i);
	for (; i < o.clients + o.uring_procs; i++)
		clients[i].pid = spawn(KIND_URING, i);

	end = fipc_now_ns() + (uint64_t)o.seconds * 1000000000;
	next_fault = fipc_now_ns() + (uint64_t)o.fault_ms * 1000000;
	while (fipc_now_ns() < end) {
		sleep_ms(o.fault_ms / 4 ? o.fault_ms / 4 : 1);
		reap(true);
		watch_busy();
		if (!o.no_faults && fipc_now_ns() >= next_fault) {
			inject_fault(&seed);
			next_fault = fipc_now_ns() + (rnd_below(&seed, 2 * o.fault_ms) + 1) * 1000000;
		}
	}

	/* Clients finish the operation in hand; then the servers go. */
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	fail = 0;
	{
		uint64_t deadline = fipc_now_ns() + (uint64_t)(2 * o.timeout_ms + o.slack_ms) * 1000000;
		bool clients_done = false;

		while (!clients_done && fipc_now_ns() < deadline) {
			reap(false);
			watch_busy();
			clients_done = true;
			for (i = 0; i < o.clients + o.uring_procs; i++)
				if (clients[i].pid)
					clients_done = false;
			sleep_ms(20);
		}
		for (i = 0; i < o.clients + o.uring_procs; i++)
			if (clients[i].pid) {
				report(hang, "client pid %d did not stop in time", clients[i].pid);
				dump_task(PROG, clients[i].pid, clients[i].pid);
				clients[i].killed = true;
				kill(clients[i].pid, SIGKILL);
			}
		for (i = 0; i < o.servers; i++)
			if (servers[i].pid) {
				servers[i].killed = true;
				kill(servers[i].pid, SIGKILL);
			}
		if (!wait_all(fipc_now_ns() + (uint64_t)o.slack_ms * 1000000)) {
			printf(PROG ": FAIL: processes did not exit after SIGKILL\n");
			fail = 1;
		}
	}
	live = fail ? 0 : check_live_zero(PROG, 5000);

	faults = sh->kill_client + sh->kill_server + sh->close_client + sh->close_server;
	printf(PROG ": calls: %" PRIu64 " completed and checked (%" PRIu64 " forwarded), %" PRIu64 " failed with an errno, %" PRIu64 " server-side errors\n",
	       sh->calls_ok, sh->calls_fwd_ok, sum_hist(sh->call_err, true), sh->srv_status);
	printf(PROG ": async calls: %" PRIu64 " completed and checked, %" PRIu64 " cancelled, %" PRIu64 " left in flight in closed rings\n",
	       sh->async_ok, sh->async_cancelled, sh->async_abandoned);
	printf(PROG ": sends: %" PRIu64 " ok, %" PRIu64 " received in order at sinks, %" PRIu64 " at endpoints; forwards: %" PRIu64 "; replies: %" PRIu64 "\n",
	       sh->sends_ok, sh->sink_recv, sh->ep_oneway_recv, sh->forwards_ok, sh->replies_ok);
	printf(PROG ": descriptors: %" PRIu64 " sent with calls and sends, %" PRIu64 " received by servers\n",
	       sh->fds_sent, sh->fds_recv);
	printf(PROG ": io_uring keepers: %" PRIu64 " submitter children exited and reaped with calls in flight, their calls: %" PRIu64 " replied and checked to the byte, %" PRIu64 " cancelled; %" PRIu64 " rings closed under a sleeping submitter, %" PRIu64 " one-way messages through them (%" PRIu64 " via CQEs seen, %" PRIu64 " left held by CQEs nobody read; %" PRIu64 " rounds with the sleeper not seen asleep)\n",
	       sh->orphan_children, sh->orphan_ok, sh->orphan_cancelled, sh->td_rings, sh->td_sent,
	       sh->td_via_ring, sh->td_held, sh->td_unsure);
	printf(PROG ": expected errors seen: ELOOP %" PRIu64 ", EMSGSIZE %" PRIu64 "\n",
	       sh->eloop_ok, sh->emsgsize_ok);
	printf(PROG ": faults: %" PRIu64 " (SIGKILL client %" PRIu64 ", SIGKILL server %" PRIu64 ", fd lost client %" PRIu64 ", fd lost server %" PRIu64 "); fds lost mid-use seen %" PRIu64 "/%" PRIu64 ", endpoints re-created %" PRIu64 "\n",
	       faults, sh->kill_client, sh->kill_server, sh->close_client, sh->close_server,
	       sh->fd_lost_client, sh->fd_lost_server, sh->ep_recreated);
	printf(PROG ": errors by errno:\n");
	print_hist(stdout, "CALL", sh->call_err);
	print_hist(stdout, "SEND", sh->send_err);
	print_hist(stdout, "SERVE", sh->serve_err);
	print_hist(stdout, "FORWARD", sh->fwd_err);
	print_hist(stdout, "CONNECT", sh->conn_err);
	print_hist(stdout, "U_ORPHAN", sh->orphan_err);
	printf(PROG ": checks: mismatched %" PRIu64 ", out of order %" PRIu64 ", lost %" PRIu64 ", hung %" PRIu64 ", unexpected %" PRIu64 ", iou_exit spinning %" PRIu64 ", live objects %s\n",
	       sh->mismatch, sh->order, sh->lost, sh->hang, sh->unexpected, sh->spin,
	       live > 0 ? "0" : live < 0 ? "unchecked" : "LEFT");
	if (sh->mismatch || sh->order || sh->lost || sh->hang || sh->unexpected || sh->spin || !live ||
	    fail || !sh->calls_ok) {
		printf(PROG ": FAIL\n");
		return 1;
	}
	printf(PROG ": ok: %" PRIu64 " calls, %" PRIu64 " sends under %" PRIu64 " faults, nothing lost\n",
	       sh->calls_ok, sh->sends_ok, faults);
	return 0;
}
