// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * Clients: connect, call, send, the reply buffer each calling thread gets,
 * and the arena of reply room for the asynchronous calls of rings.
 *
 * A reply is copied by the kernel straight into a registered buffer of the
 * caller, so every thread calling on a client needs one of its own. It is
 * made on the thread's first call ("tbuf") and freed when the thread exits
 * or the client is closed, whichever comes first. A port holds at most
 * FASTIPC_MAX_BUFS buffers, so a client opens more ports, each connected to
 * the same endpoint, as threads arrive.
 *
 * The fast path, a thread finding its tbuf, takes no lock: each thread keeps
 * its own list. fastipc_lock guards everything that links or unlinks one.
 *
 * Signals: the kernel restarts an interrupted CALL by itself, without
 * sending it again, unless a handler without SA_RESTART ran; then it has
 * cancelled the call and says EINTR, and the library calls again (a new
 * call, within what is left of the timeout) unless the client asked for
 * EINTR. A waiting send said EINTR having sent nothing, so it waits again.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* A port of the client's, holding up to FASTIPC_MAX_BUFS reply buffers. */
struct cport {
	struct cport *next;
	int fd;
	unsigned int nbufs;
	unsigned long gen;
};

/* One thread's reply buffer on one client. */
struct tbuf {
	struct tbuf *tnext;		/* the thread's list */
	struct tbuf *cnext;		/* the client's list */
	struct tbuf **cprev;
	struct fastipc_client *client;	/* atomic; NULL once the client is closed */
	unsigned long gen;		/* fastipc_fork_gen when made */
	struct cport *port;
	uint32_t id;
	void *mem;
	size_t map_len;
	bool busy;			/* a short-circuited handler writes into it */
};

struct fastipc_client {
	int fd;
	uint32_t reply_size;
	bool short_circuit;		/* atomic */
	bool eintr;			/* FASTIPC_CLIENT_EINTR */
	struct fastipc_server *local;	/* the server, when it is ours */
	unsigned long gen;
	struct fastipc_endpoint_info ep;	/* as CONNECT described it */
	/* Credentials a short-circuited handler sees. */
	pid_t pid;
	uid_t uid;
	gid_t gid;
	struct cport *ports;		/* under fastipc_lock */
	struct tbuf *tbufs;		/* under fastipc_lock */
	struct fastipc_arena *arena;	/* atomic; made under fastipc_lock */
};

static __thread struct tbuf *tls_tbufs;
static pthread_key_t tbuf_key;
static pthread_once_t tbuf_key_once = PTHREAD_ONCE_INIT;

/* Unlinks @t from its client, if any, and frees it. Under fastipc_lock. */
static void tbuf_free(struct tbuf *t)
{
	bool ours = t->gen == __atomic_load_n(&fastipc_fork_gen, __ATOMIC_RELAXED);

	if (__atomic_load_n(&t->client, __ATOMIC_ACQUIRE)) {
		*t->cprev = t->cnext;
		if (t->cnext)
			t->cnext->cprev = t->cprev;
		/* A fork() child shares the port with its parent: hands off. */
		if (ours) {
			fastipc_buf_unregister(t->port->fd, t->id);
			t->port->nbufs--;
		}
	}
	/* The pages were never inherited by a fork() child. */
	if (ours)
		fastipc_unmap(t->mem, t->map_len);
	free(t);
}

static void tbuf_thread_exit(void *unused)
{
	struct tbuf *t, *next;

	(void)unused;
	pthread_mutex_lock(&fastipc_lock);
	for (t = tls_tbufs; t; t = next) {
		next = t->tnext;
		tbuf_free(t);
	}
	tls_tbufs = NULL;
	pthread_mutex_unlock(&fastipc_lock);
}

static void tbuf_key_init(void)
{
	pthread_key_create(&tbuf_key, tbuf_thread_exit);
}

/* Drops this thread's tbufs of closed clients or of a parent process. */
static void tbuf_prune(void)
{
	unsigned long gen = __atomic_load_n(&fastipc_fork_gen, __ATOMIC_RELAXED);
	struct tbuf **pp = &tls_tbufs, *t;

	while ((t = *pp)) {
		if (t->gen != gen || !__atomic_load_n(&t->client, __ATOMIC_ACQUIRE)) {
			*pp = t->tnext;
			tbuf_free(t);
		} else {
			pp = &t->tnext;
		}
	}
}

/* A port of @cl with room for one more buffer. Under fastipc_lock. */
static int cport_get(struct fastipc_client *cl, struct cport **portp)
{
	unsigned long gen = __atomic_load_n(&fastipc_fork_gen, __ATOMIC_RELAXED);
	struct fastipc_connect conn;
	struct cport *port;
	int ret;

	for (port = cl->ports; port; port = port->next) {
		if (port->gen == gen && port->nbufs < FASTIPC_MAX_BUFS) {
			*portp = port;
			return 0;
		}
	}
	port = calloc(1, sizeof(*port));
	if (!port)
		return -ENOMEM;
	port->gen = gen;
	port->fd = fastipc_open();
	if (port->fd < 0) {
		ret = port->fd;
		goto fail;
	}
	memset(&conn, 0, sizeof(conn));
	conn.flags = FASTIPC_CONNECT_FD;
	conn.ep_fd = cl->fd;
	ret = fastipc_ioctl(port->fd, FASTIPC_IOC_CONNECT, &conn);
	if (ret)
		goto fail;
	port->next = cl->ports;
	cl->ports = port;
	*portp = port;
	return 0;
fail:
	if (port->fd >= 0)
		close(port->fd);
	free(port);
	return ret;
}

/*
 * Registers @len bytes at @mem on a port of @cl with an id to spare: the id,
 * with the port in *@portp, or -errno. Under fastipc_lock.
 */
static int client_buf_register(struct fastipc_client *cl, void *mem, size_t len,
			       struct cport **portp)
{
	int ret;

	for (;;) {
		ret = cport_get(cl, portp);
		if (ret)
			return ret;
		ret = fastipc_buf_register((*portp)->fd, mem, len);
		if (ret != -ENOSPC)
			break;
		/* Someone else registered on this port: count it as full. */
		(*portp)->nbufs = FASTIPC_MAX_BUFS;
	}
	if (ret >= 0)
		(*portp)->nbufs++;
	return ret;
}

/* Makes this thread's reply buffer for @cl. */
static int tbuf_create(struct fastipc_client *cl, struct tbuf **tp)
{
	struct tbuf *t;
	int ret;

	pthread_once(&tbuf_key_once, tbuf_key_init);
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->map_len = cl->reply_size;
	t->mem = fastipc_map(t->map_len);
	if (!t->mem) {
		free(t);
		return -ENOMEM;
	}

	pthread_mutex_lock(&fastipc_lock);
	tbuf_prune();
	t->gen = __atomic_load_n(&fastipc_fork_gen, __ATOMIC_RELAXED);
	ret = client_buf_register(cl, t->mem, t->map_len, &t->port);
	if (ret < 0)
		goto fail;
	t->id = ret;
	t->cnext = cl->tbufs;
	if (t->cnext)
		t->cnext->cprev = &t->cnext;
	t->cprev = &cl->tbufs;
	cl->tbufs = t;
	__atomic_store_n(&t->client, cl, __ATOMIC_RELEASE);
	t->tnext = tls_tbufs;
	tls_tbufs = t;
	pthread_mutex_unlock(&fastipc_lock);
	/* Any non-NULL value makes the thread's exit call tbuf_thread_exit(). */
	pthread_setspecific(tbuf_key, t);
	*tp = t;
	return 0;
fail:
	pthread_mutex_unlock(&fastipc_lock);
	fastipc_unmap(t->mem, t->map_len);
	free(t);
	return ret;
}

static int tbuf_get(struct fastipc_client *cl, struct tbuf **tp)
{
	unsigned long gen = __atomic_load_n(&fastipc_fork_gen, __ATOMIC_RELAXED);
	struct tbuf *t;

	for (t = tls_tbufs; t; t = t->tnext) {
		if (__atomic_load_n(&t->client, __ATOMIC_RELAXED) == cl && t->gen == gen) {
			*tp = t;
			return 0;
		}
	}
	return tbuf_create(cl, tp);
}

/*
 * The reply room of asynchronous calls (async.c). Each call in flight needs
 * room of its own until its completion is done with, and the rings of
 * several threads may call on one client at once, so the client keeps an
 * arena: chunks of slots, each chunk a buffer registered on one of its
 * ports, the call going through that port. Chunks double from ARENA_FIRST
 * slots up to ARENA_MAX and are only ever added, at the head of the list,
 * so that taking a slot (a bit of its chunk's free mask) takes no lock. The
 * client holds a reference to the arena and so does each slot taken: a
 * client closed with calls in flight leaves their room mapped until the
 * last of them is done with.
 */
#define ARENA_FIRST	4U
#define ARENA_MAX	64U	/* the bits of a free mask */
#define ARENA_ALIGN	64U	/* each slot starts on a cache line */

struct achunk {
	struct achunk *next;
	int fd;
	uint32_t id;
	uint8_t *mem;
	size_t map_len;
	uint64_t free;		/* atomic: a set bit per free slot */
};

struct fastipc_arena {
	struct achunk *chunks;	/* atomic; added to under fastipc_lock */
	unsigned int nchunks;	/* under fastipc_lock */
	uint32_t cap;		/* room for one reply */
	size_t stride;
	unsigned long gen;	/* fastipc_fork_gen when made */
	int refs;		/* atomic: the client's and one per slot taken */
	bool closed;		/* atomic: the client is, and its ports */
};

static void arena_free(struct fastipc_arena *a)
{
	bool ours = a->gen == __atomic_load_n(&fastipc_fork_gen, __ATOMIC_RELAXED);
	struct achunk *c, *next;

	for (c = a->chunks; c; c = next) {
		next = c->next;
		/* A fork() child never had the pages (MADV_DONTFORK). */
		if (ours)
			fastipc_unmap(c->mem, c->map_len);
		free(c);
	}
	free(a);
}

static void arena_put(struct fastipc_arena *a)
{
	if (!__atomic_sub_fetch(&a->refs, 1, __ATOMIC_ACQ_REL))
		arena_free(a);
}

static void aslot_fill(struct fastipc_arena *a, struct achunk *c, unsigned int i,
		       struct fastipc_aslot *s)
{
	s->arena = a;
	s->chunk = c;
	s->idx = i;
	s->fd = c->fd;
	s->buf_id = c->id;
	s->offset = i * a->stride;
	s->cap = a->cap;
	s->mem = c->mem + s->offset;
}

/* Takes a free slot of @a, without a lock: false if there is none. */
static bool arena_take(struct fastipc_arena *a, struct fastipc_aslot *s)
{
	struct achunk *c;
	uint64_t v;
	unsigned int i;

	for (c = __atomic_load_n(&a->chunks, __ATOMIC_ACQUIRE); c; c = c->next) {
		v = __atomic_load_n(&c->free, __ATOMIC_RELAXED);
		while (v) {
			i = __builtin_ctzll(v);
			if (__atomic_compare_exchange_n(&c->free, &v, v & ~(1ULL << i), false,
							__ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
				aslot_fill(a, c, i, s);
				return true;
			}
		}
	}
	return false;
}

/* Takes a slot of @cl's arena, making the arena or a chunk. Under fastipc_lock. */
static int arena_grow(struct fastipc_client *cl, unsigned long gen, struct fastipc_aslot *s)
{
	struct fastipc_arena *a = cl->arena;
	struct cport *port;
	struct achunk *c;
	unsigned int n;
	int ret;

	if (!a || a->gen != gen) {
		/* A fork() child's copy of its parent's arena is not its own. */
		if (a)
			arena_free(a);
		a = calloc(1, sizeof(*a));
		if (!a)
			return -ENOMEM;
		a->gen = gen;
		a->refs = 1;
		a->cap = cl->reply_size;
		a->stride = (cl->reply_size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
		__atomic_store_n(&cl->arena, a, __ATOMIC_RELEASE);
	}
	/* Another thread may have added a chunk while we waited for the lock. */
	if (arena_take(a, s))
		return 0;

	n = a->nchunks < 5 ? ARENA_FIRST << a->nchunks : ARENA_MAX;
	if (n > FASTIPC_MAX_BUF_LEN / a->stride)
		n = FASTIPC_MAX_BUF_LEN / a->stride;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->map_len = n * a->stride;
	c->mem = fastipc_map(c->map_len);
	ret = -ENOMEM;
	if (!c->mem)
		goto fail;
	ret = client_buf_register(cl, c->mem, c->map_len, &port);
	if (ret < 0)
		goto fail;
	c->fd = port->fd;
	c->id = ret;
	/* Every slot free but the first, which is the caller's. */
	c->free = (n == ARENA_MAX ? ~0ULL : (1ULL << n) - 1) & ~1ULL;
	aslot_fill(a, c, 0, s);
	c->next = a->chunks;
	__atomic_store_n(&a->chunks, c, __ATOMIC_RELEASE);
	a->nchunks++;
	return 0;
fail:
	fastipc_unmap(c->mem, c->map_len);
	free(c);
	return ret;
}

int fastipc_aslot_get(struct fastipc_client *cl, struct fastipc_aslot *s)
{
	unsigned long gen = __atomic_load_n(&fastipc_fork_gen, __ATOMIC_RELAXED);
	struct fastipc_arena *a = __atomic_load_n(&cl->arena, __ATOMIC_ACQUIRE);
	int ret;

	if (!a || a->gen != gen || !arena_take(a, s)) {
		pthread_mutex_lock(&fastipc_lock);
		ret = arena_grow(cl, gen, s);
		pthread_mutex_unlock(&fastipc_lock);
		if (ret)
			return ret;
	}
	__atomic_add_fetch(&s->arena->refs, 1, __ATOMIC_RELAXED);
	return 0;
}

void fastipc_aslot_put(struct fastipc_aslot *s)
{
	struct achunk *c = s->chunk;

	__atomic_fetch_or(&c->free, 1ULL << s->idx, __ATOMIC_RELEASE);
	arena_put(s->arena);
}

void fastipc_aslot_abandon(struct fastipc_aslot *s)
{
	arena_put(s->arena);
}

bool fastipc_aslot_port_open(const struct fastipc_aslot *s)
{
	return !__atomic_load_n(&s->arena->closed, __ATOMIC_ACQUIRE);
}

const struct fastipc_arena *fastipc_client_arena(const struct fastipc_client *cl)
{
	return __atomic_load_n(&cl->arena, __ATOMIC_ACQUIRE);
}

static int client_new(struct fastipc_connect *conn, const char *name,
		      const struct fastipc_client_params *params, struct fastipc_client **clientp)
{
	struct fastipc_client *cl;
	uint32_t reply_size = FASTIPC_DEFAULT_REPLY_SIZE;
	uint32_t flags = 0;
	int ret;

	fastipc_lib_init();
	if (params) {
		flags = params->flags;
		if (params->reply_size)
			reply_size = params->reply_size;
	}
	if (flags & ~FASTIPC_CLIENT_ALL || reply_size > FASTIPC_MAX_PAYLOAD)
		return -EINVAL;
	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return -ENOMEM;
	cl->ports = calloc(1, sizeof(*cl->ports));
	if (!cl->ports) {
		ret = -ENOMEM;
		goto fail;
	}
	cl->fd = fastipc_open();
	if (cl->fd < 0) {
		ret = cl->fd;
		goto fail;
	}
	ret = fastipc_ioctl(cl->fd, FASTIPC_IOC_CONNECT, conn);
	if (ret)
		goto fail;
	cl->ep = (struct fastipc_endpoint_info){
		.owner_uid = conn->owner_uid,
		.owner_gid = conn->owner_gid,
		.ep_flags = conn->ep_flags,
		.slot_size = conn->slot_size,
		.nslots = conn->nslots,
		.max_oneway = conn->max_oneway,
		.max_reply = conn->max_reply,
	};
	cl->ports->fd = cl->fd;
	cl->gen = __atomic_load_n(&fastipc_fork_gen, __ATOMIC_RELAXED);
	cl->ports->gen = cl->gen;
	/* Room beyond what the server declares it sends would be pinned for nothing. */
	cl->reply_size = reply_size < conn->max_reply ? reply_size : conn->max_reply;
	cl->short_circuit = !(flags & FASTIPC_CLIENT_NO_SHORT_CIRCUIT);
	cl->eintr = flags & FASTIPC_CLIENT_EINTR;
	cl->local = fastipc_server_find_local(name, conn->ep_fd);
	cl->pid = getpid();
	cl->uid = geteuid();
	cl->gid = getegid();
	*clientp = cl;
	return 0;
fail:
	if (cl->fd >= 0)
		close(cl->fd);
	free(cl->ports);
	free(cl);
	return ret;
}

int fastipc_client_connect_name(const char *name, const struct fastipc_client_params *params,
				struct fastipc_client **clientp)
{
	struct fastipc_connect conn;
	int ret;

	memset(&conn, 0, sizeof(conn));
	ret = fastipc_set_name(conn.name, name);
	if (ret)
		return ret;
	return client_new(&conn, name, params, clientp);
}

int fastipc_client_connect_fd(int ep_fd, const struct fastipc_client_params *params,
			      struct fastipc_client **clientp)
{
	struct fastipc_connect conn;

	memset(&conn, 0, sizeof(conn));
	conn.flags = FASTIPC_CONNECT_FD;
	conn.ep_fd = ep_fd;
	return client_new(&conn, NULL, params, clientp);
}

void fastipc_client_close(struct fastipc_client *cl)
{
	unsigned long gen = __atomic_load_n(&fastipc_fork_gen, __ATOMIC_RELAXED);
	struct cport *port, *next;
	struct tbuf *t;

	if (!cl)
		return;
	pthread_mutex_lock(&fastipc_lock);
	/* Closing the ports unregisters the buffers; the threads free the rest. */
	for (t = cl->tbufs; t; t = t->cnext) {
		if (t->gen == gen)
			fastipc_unmap(t->mem, t->map_len);
		t->mem = NULL;
		__atomic_store_n(&t->client, NULL, __ATOMIC_RELEASE);
	}
	for (port = cl->ports; port; port = next) {
		next = port->next;
		close(port->fd);
		free(port);
	}
	if (cl->arena && cl->arena->gen != gen) {
		arena_free(cl->arena);
	} else if (cl->arena) {
		__atomic_store_n(&cl->arena->closed, true, __ATOMIC_RELEASE);
		arena_put(cl->arena);
	}
	pthread_mutex_unlock(&fastipc_lock);
	if (cl->local)
		fastipc_server_put(cl->local);
	free(cl);
}

int fastipc_client_fd(const struct fastipc_client *cl)
{
	return cl->fd;
}

void fastipc_client_set_short_circuit(struct fastipc_client *cl, bool enable)
{
	__atomic_store_n(&cl->short_circuit, enable, __ATOMIC_RELAXED);
}

bool fastipc_client_is_local(const struct fastipc_client *cl)
{
	return cl->local && __atomic_load_n(&cl->short_circuit, __ATOMIC_RELAXED) &&
	       fastipc_short_circuit_on() &&
	       cl->gen == __atomic_load_n(&fastipc_fork_gen, __ATOMIC_RELAXED);
}

static bool overlaps(const void *a, size_t alen, const void *b, size_t blen)
{
	uintptr_t pa = (uintptr_t)a, pb = (uintptr_t)b;

	return alen && blen && pa < pb + blen && pb < pa + alen;
}

/*
 * The short circuit: the handler runs here and writes its reply into @dst.
 * @t is the thread's buffer, NULL for a forward (@hops > 0): that writes
 * where the call it continues was writing, which is marked busy already.
 */
static int call_local(struct fastipc_client *cl, struct tbuf *t, unsigned int hops,
		      uint32_t opcode, const void *req, uint32_t req_len, void *dst,
		      uint32_t cap, struct fastipc_reply *reply)
{
	struct fastipc_msg msg = {
		.opcode = opcode,
		.data = req,
		.len = req_len,
		.flags = hops ? FASTIPC_MSG_FORWARDED : 0,
		.pid = cl->pid,
		.uid = cl->uid,
		.gid = cl->gid,
		.caller_pid = cl->pid,
		.caller_uid = cl->uid,
		.caller_gid = cl->gid,
		.reply = dst,
		.reply_cap = cap,
	};
	bool own_buf = t && dst == t->mem;
	void *copy = NULL;
	int32_t status;
	int ret;

	/* The outer call's reply is being written there. */
	if (own_buf && t->busy)
		return -EDEADLK;
	/*
	 * Through the device the request is copied before the handler runs,
	 * so a request taken from the last reply survives the handler writing
	 * the new one. Keep that true here.
	 */
	if (overlaps(req, req_len, dst, cap)) {
		copy = malloc(req_len);
		if (!copy)
			return -ENOMEM;
		msg.data = memcpy(copy, req, req_len);
	}
	if (own_buf)
		t->busy = true;
	ret = fastipc_server_call_local(cl->local, &msg, hops, &status);
	if (own_buf)
		t->busy = false;
	free(copy);
	if (ret)
		return ret;
	reply->data = dst;
	reply->len = msg.reply_len;
	reply->status = status;
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * FASTIPC_IOC_CALL on @fd, made again after EINTR unless @cl wants to see
 * it; the timeout, if any, counts from the first attempt.
 */
static int call_ioctl(struct fastipc_client *cl, int fd, struct fastipc_call *call)
{
	uint64_t timeout = call->timeout_ns, start = 0, spent;
	int ret;

	if (timeout && !cl->eintr)
		start = now_ns();
	for (;;) {
		ret = fastipc_ioctl(fd, FASTIPC_IOC_CALL, call);
		if (ret != -EINTR || cl->eintr)
			return ret;
		if (timeout) {
			spent = now_ns() - start;
			if (spent >= timeout)
				return -ETIMEDOUT;
			call->timeout_ns = timeout - spent;
		}
	}
}

/* A call whose reply lands in @dst, or in the thread's buffer if NULL. */
static int client_call(struct fastipc_client *cl, uint32_t opcode, const void *req,
		       uint32_t req_len, void *dst, uint32_t cap, struct fastipc_reply *reply,
		       uint64_t timeout_ns)
{
	struct fastipc_call call;
	struct tbuf *t;
	int ret;

	if (opcode >= FASTIPC_OPCODE_RESERVED)
		return -EINVAL;
	ret = tbuf_get(cl, &t);
	if (ret)
		return ret;
	if (!dst || cap > cl->reply_size)
		cap = cl->reply_size;
	if (fastipc_client_is_local(cl))
		return call_local(cl, t, 0, opcode, req, req_len, dst ? dst : t->mem, cap, reply);

	memset(&call, 0, sizeof(call));
	call.opcode = opcode;
	call.req_addr = (uintptr_t)req;
	call.req_len = req_len;
	call.reply_buf = t->id;
	call.reply_cap = cap;
	call.timeout_ns = timeout_ns;
	ret = call_ioctl(cl, t->port->fd, &call);
	if (ret)
		return ret;
	reply->data = t->mem;
	reply->len = call.reply_len;
	reply->status = call.status;
	if (dst) {
		memcpy(dst, t->mem, call.reply_len);
		reply->data = dst;
	}
	return 0;
}

void fastipc_client_endpoint(const struct fastipc_client *cl, struct fastipc_endpoint_info *info)
{
	*info = cl->ep;
}

int fastipc_client_forward(struct fastipc_client *cl, unsigned int hops, uint32_t opcode,
			   const void *req, uint32_t req_len, void *dst, uint32_t cap,
			   struct fastipc_reply *reply)
{
	/* As the device would refuse FASTIPC_IOC_FORWARD. */
	if (!(cl->ep.ep_flags & FASTIPC_EP_ACCEPT_FORWARDS))
		return -EPERM;
	if (!fastipc_client_is_local(cl))
		return client_call(cl, opcode, req, req_len, dst, cap, reply, 0);
	if (cap > cl->reply_size)
		cap = cl->reply_size;
	return call_local(cl, NULL, hops, opcode, req, req_len, dst, cap, reply);
}

int fastipc_call(struct fastipc_client *cl, uint32_t opcode, const void *req, uint32_t req_len,
		 struct fastipc_reply *reply, uint64_t timeout_ns)
{
	return client_call(cl, opcode, req, req_len, NULL, 0, reply, timeout_ns);
}

int fastipc_call_copy(struct fastipc_client *cl, uint32_t opcode, const void *req,
		      uint32_t req_len, void *buf, uint32_t cap, struct fastipc_reply *reply,
		      uint64_t timeout_ns)
{
	static char empty;

	/* A NULL @buf asks for an empty reply; NULL @dst means no copy. */
	if (!buf) {
		if (cap)
			return -EINVAL;
		buf = &empty;
	}
	return client_call(cl, opcode, req, req_len, buf, cap, reply, timeout_ns);
}

/* After -EINVAL from a command carrying descriptors: -EOPNOTSUPP if the module has none. */
static int fds_einval(int fd)
{
	unsigned long long features = 0;
	unsigned int abi;

	if (!fastipc_version(fd, &abi, &features) && !(features & FASTIPC_F_FDS))
		return -EOPNOTSUPP;
	return -EINVAL;
}

int fastipc_call_fds(struct fastipc_client *cl, uint32_t opcode, const void *req,
		     uint32_t req_len, const int *fds, unsigned int nfds,
		     struct fastipc_reply *reply, int *reply_fds, unsigned int *reply_nfds,
		     uint64_t timeout_ns)
{
	/* One array: the request's descriptors in, the reply's out. */
	int32_t arr[FASTIPC_MAX_FDS];
	struct fastipc_call call;
	struct tbuf *t;
	unsigned int i;
	int ret;

	if (opcode >= FASTIPC_OPCODE_RESERVED)
		return -EINVAL;
	if (nfds > FASTIPC_MAX_FDS)
		return -E2BIG;
	ret = tbuf_get(cl, &t);
	if (ret)
		return ret;
	for (i = 0; i < nfds; i++)
		arr[i] = fds[i];
	memset(&call, 0, sizeof(call));
	call.flags = FASTIPC_CALL_FDS | FASTIPC_CALL_FDS_CLOEXEC;
	call.opcode = opcode;
	call.req_addr = (uintptr_t)req;
	call.req_len = req_len;
	call.reply_buf = t->id;
	call.reply_cap = cl->reply_size;
	call.timeout_ns = timeout_ns;
	call.nfds = nfds;
	call.fds_addr = (uintptr_t)arr;
	call.fds_cap = reply_fds ? FASTIPC_MAX_FDS : 0;
	ret = call_ioctl(cl, t->port->fd, &call);
	if (ret == -EINVAL)
		return fds_einval(t->port->fd);
	if (ret)
		return ret;
	reply->data = t->mem;
	reply->len = call.reply_len;
	reply->status = call.status;
	for (i = 0; reply_fds && i < call.reply_nfds && i < FASTIPC_MAX_FDS; i++)
		reply_fds[i] = arr[i];
	if (reply_nfds)
		*reply_nfds = call.reply_nfds;
	return 0;
}

int fastipc_send_fds(struct fastipc_client *cl, uint32_t opcode, const void *data,
		     uint32_t len, const int *fds, unsigned int nfds, unsigned int flags)
{
	int32_t arr[FASTIPC_MAX_FDS];
	struct fastipc_send send;
	unsigned int i;
	int ret;

	if (flags & ~FASTIPC_SEND_WAIT)
		return -EINVAL;
	if (nfds > FASTIPC_MAX_FDS)
		return -E2BIG;
	ret = fastipc_send_init(&send, opcode, data, len, flags | FASTIPC_SEND_FDS);
	if (ret)
		return ret;
	for (i = 0; i < nfds; i++)
		arr[i] = fds[i];
	send.nfds = nfds;
	send.fds_addr = (uintptr_t)arr;
	do
		ret = fastipc_ioctl(cl->fd, FASTIPC_IOC_SEND, &send);
	while (ret == -EINTR && !cl->eintr);
	return ret == -EINVAL ? fds_einval(cl->fd) : ret;
}

int fastipc_send(struct fastipc_client *cl, uint32_t opcode, const void *data, uint32_t len,
		 unsigned int flags)
{
	struct fastipc_send send;
	int ret = fastipc_send_init(&send, opcode, data, len, flags);

	if (ret)
		return ret;
	do
		ret = fastipc_ioctl(cl->fd, FASTIPC_IOC_SEND, &send);
	while (ret == -EINTR && !cl->eintr);
	return ret;
}
