// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * Servers: an endpoint with its receive pool, the handlers, the thread pool,
 * event-loop dispatch, and the registry of this process's servers that the
 * short circuit looks in.
 *
 * Stopping: a server thread blocked in FASTIPC_IOC_SERVE only wakes for a
 * message (or a signal, which a library must not take over). So the server
 * keeps a client port of its own endpoint and fastipc_server_stop() sends a
 * one-way FASTIPC_OP_WAKE message after setting the stop flag; each thread
 * that ends sends another while threads remain. A send may find the one-way
 * quota full, but then messages are waiting or held, and whichever thread
 * takes one notices the flag afterwards: nobody sleeps for ever.
 *
 * Forwarding: a handler's struct fastipc_msg is the head of a struct
 * msg_ctx, which says how to answer it. A forward through the device hands
 * the token to the kernel; a short-circuited call has no token, so its
 * forward is a call of its own whose answer becomes the handler's.
 *
 * Deferring: a deferred call keeps its token (or, short-circuited, the
 * caller's struct local_wait, on whose thread the handler ran) in a struct
 * fastipc_deferred on the server's list, which holds a reference to the
 * server. Answers go out by ioctl under live_lock held shared, so that the
 * endpoint cannot be closed under them; destroy answers the short-circuited
 * ones with -EPIPE (the kernel does so for the others as the endpoint
 * closes) and leaves every one to be freed by its answer or drop. A stop
 * whose wake found no slot (all held by deferred calls, say) leaves
 * wake_lost set, and the next answer through the device sends the wake.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

struct handler {
	uint32_t opcode;
	fastipc_handler_t fn;
	void *arg;
};

struct worker {
	struct fastipc_server *srv;
	pthread_t thread;
	void *reply;
};

struct fastipc_server {
	int fd;				/* the endpoint */
	bool fds;			/* the module carries descriptors */
	int wake_fd;			/* a client of it, for fastipc_server_stop() */
	bool named;
	char name[FASTIPC_NAME_MAX];
	unsigned long gen;		/* fastipc_fork_gen at creation */
	struct fastipc_server *next;	/* in the registry */
	int refs;			/* atomic: ours, and each local client's */

	uint8_t *pool;
	size_t pool_len;
	uint32_t slot_size;
	uint32_t reply_size;

	pthread_rwlock_t handlers_lock;
	struct handler *handlers;	/* sorted by opcode */
	unsigned int nhandlers;
	unsigned int handlers_cap;

	/* Short-circuited calls hold it shared; destroy takes it to set dead. */
	pthread_rwlock_t live_lock;
	bool dead;

	/* The thread pool. */
	pthread_mutex_t pool_lock;
	bool running;			/* atomic */
	bool started;			/* by fastipc_server_start() */
	int stopping;			/* atomic */
	int active;			/* atomic: threads still serving */
	int error;			/* atomic: the first error that ended one */
	struct worker *workers;
	unsigned int nworkers;

	pthread_mutex_t dispatch_lock;
	void *dispatch_reply;

	/* Deferred calls not answered yet. */
	pthread_mutex_t defer_lock;
	pthread_cond_t defer_cond;	/* a short-circuited one was answered */
	struct fastipc_deferred *deferred;
	bool wake_lost;			/* atomic */
};

/* A short-circuited call whose handler deferred it: its caller waits here. */
struct local_wait {
	void *reply;			/* the caller's reply room */
	uint32_t cap;
	bool done;			/* the rest under defer_lock */
	int error;
	int32_t status;
	uint32_t reply_len;
};

struct fastipc_deferred {
	struct fastipc_msg msg;		/* what fastipc_deferred_msg() gives */
	struct fastipc_server *srv;	/* referenced */
	struct fastipc_deferred *next;	/* srv->deferred, under defer_lock */
	struct fastipc_deferred **pprev;
	uint64_t token;			/* through the device */
	bool local;
	struct local_wait *lw;		/* local: NULL once the server is destroyed */
};

/* A message being handled: what fastipc_msg_forward() needs to know. */
struct msg_ctx {
	struct fastipc_msg msg;		/* what the handler sees */
	struct fastipc_server *srv;
	uint64_t token;			/* through the device */
	bool local;			/* short-circuited: no token */
	bool consumed;			/* forwarded or deferred: the library does not answer */
	bool deferred;
	struct local_wait *lw;		/* short-circuited: where the caller waits */
	unsigned int hops;		/* short-circuited forwards so far */
	int error;			/* short-circuited: the forward's failure */
	int32_t status;			/* short-circuited: the forward's answer */
	uint32_t reply_len;
};

static struct fastipc_server *registry;		/* under fastipc_lock */

static void registry_add(struct fastipc_server *srv)
{
	pthread_mutex_lock(&fastipc_lock);
	srv->next = registry;
	registry = srv;
	pthread_mutex_unlock(&fastipc_lock);
}

static void registry_del(struct fastipc_server *srv)
{
	struct fastipc_server **pp;

	pthread_mutex_lock(&fastipc_lock);
	for (pp = &registry; *pp; pp = &(*pp)->next) {
		if (*pp == srv) {
			*pp = srv->next;
			break;
		}
	}
	pthread_mutex_unlock(&fastipc_lock);
}

struct fastipc_server *fastipc_server_find_local(const char *name, int fd)
{
	unsigned long gen = __atomic_load_n(&fastipc_fork_gen, __ATOMIC_RELAXED);
	struct fastipc_server *srv;

	pthread_mutex_lock(&fastipc_lock);
	for (srv = registry; srv; srv = srv->next) {
		if (srv->gen != gen)
			continue;
		if (name ? srv->named && !strcmp(srv->name, name) : srv->fd == fd) {
			__atomic_add_fetch(&srv->refs, 1, __ATOMIC_RELAXED);
			break;
		}
	}
	pthread_mutex_unlock(&fastipc_lock);
	return srv;
}

void fastipc_server_get(struct fastipc_server *srv)
{
	__atomic_add_fetch(&srv->refs, 1, __ATOMIC_RELAXED);
}

static bool server_is_ours(const struct fastipc_server *srv)
{
	return srv->gen == __atomic_load_n(&fastipc_fork_gen, __ATOMIC_RELAXED);
}

void fastipc_server_put(struct fastipc_server *srv)
{
	if (__atomic_sub_fetch(&srv->refs, 1, __ATOMIC_ACQ_REL))
		return;
	if (srv->fd >= 0)
		close(srv->fd);
	if (srv->wake_fd >= 0)
		close(srv->wake_fd);
	/* A fork() child never inherited the pool (MADV_DONTFORK). */
	if (server_is_ours(srv))
		fastipc_unmap(srv->pool, srv->pool_len);
	pthread_rwlock_destroy(&srv->handlers_lock);
	pthread_rwlock_destroy(&srv->live_lock);
	pthread_mutex_destroy(&srv->pool_lock);
	pthread_mutex_destroy(&srv->dispatch_lock);
	pthread_mutex_destroy(&srv->defer_lock);
	pthread_cond_destroy(&srv->defer_cond);
	free(srv->dispatch_reply);
	free(srv->handlers);
	free(srv);
}

/* Whether the module behind @fd carries descriptors (FASTIPC_F_FDS). */
static bool server_has_fds(int fd)
{
	unsigned long long features = 0;
	unsigned int abi;

	return !fastipc_version(fd, &abi, &features) && (features & FASTIPC_F_FDS);
}

/* Makes @srv->fd an endpoint and @srv->wake_fd a client of it. */
static int server_open(struct fastipc_server *srv, const struct fastipc_server_params *p,
		       uint32_t nslots)
{
	struct fastipc_ep_create ep;
	struct fastipc_connect conn;
	int ret;

	srv->fd = fastipc_open();
	if (srv->fd < 0)
		return srv->fd;
	srv->wake_fd = fastipc_open();
	if (srv->wake_fd < 0)
		return srv->wake_fd;
	srv->pool = fastipc_map(srv->pool_len);
	if (!srv->pool)
		return -ENOMEM;

	memset(&ep, 0, sizeof(ep));
	ret = fastipc_buf_register(srv->fd, srv->pool, srv->pool_len);
	if (ret < 0)
		return ret;
	ep.pool_buf = ret;
	ep.slot_size = srv->slot_size;
	ep.nslots = nslots;
	ep.max_reply = srv->reply_size;
	if (p->flags & FASTIPC_SERVER_ACCEPT_FORWARDS)
		ep.flags |= FASTIPC_EP_ACCEPT_FORWARDS;
	if (srv->named) {
		ep.flags |= FASTIPC_EP_NAMED;
		ep.mode = p->mode ? p->mode : 0600;
		memcpy(ep.name, srv->name, sizeof(ep.name));
	}
	ret = fastipc_ioctl(srv->fd, FASTIPC_IOC_EP_CREATE, &ep);
	if (ret)
		return ret;
	srv->fds = server_has_fds(srv->fd);

	memset(&conn, 0, sizeof(conn));
	conn.flags = FASTIPC_CONNECT_FD;
	conn.ep_fd = srv->fd;
	return fastipc_ioctl(srv->wake_fd, FASTIPC_IOC_CONNECT, &conn);
}

int fastipc_server_create(const struct fastipc_server_params *params,
			  struct fastipc_server **serverp)
{
	static const struct fastipc_server_params defaults;
	const struct fastipc_server_params *p = params ? params : &defaults;
	struct fastipc_server *srv;
	uint32_t nslots;
	int ret;

	fastipc_lib_init();
	nslots = p->nslots ? p->nslots : FASTIPC_DEFAULT_NSLOTS;
	if (p->flags & ~FASTIPC_SERVER_ALL || nslots > FASTIPC_MAX_SLOTS || p->slot_size > FASTIPC_MAX_PAYLOAD ||
	    p->reply_size > FASTIPC_MAX_PAYLOAD)
		return -EINVAL;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->fd = -1;
	srv->wake_fd = -1;
	srv->refs = 1;
	srv->gen = __atomic_load_n(&fastipc_fork_gen, __ATOMIC_RELAXED);
	srv->slot_size = p->slot_size ? p->slot_size : FASTIPC_DEFAULT_SLOT_SIZE;
	srv->reply_size = p->reply_size ? p->reply_size : srv->slot_size;
	srv->pool_len = (size_t)srv->slot_size * nslots;
	pthread_rwlock_init(&srv->handlers_lock, NULL);
	pthread_rwlock_init(&srv->live_lock, NULL);
	pthread_mutex_init(&srv->pool_lock, NULL);
	pthread_mutex_init(&srv->dispatch_lock, NULL);
	pthread_mutex_init(&srv->defer_lock, NULL);
	pthread_cond_init(&srv->defer_cond, NULL);

	ret = -EINVAL;
	if (srv->pool_len > FASTIPC_MAX_BUF_LEN)
		goto fail;
	if (p->name) {
		srv->named = true;
		ret = fastipc_set_name((__u8 *)srv->name, p->name);
		if (ret)
			goto fail;
	}
	ret = server_open(srv, p, nslots);
	if (ret)
		goto fail;
	registry_add(srv);
	*serverp = srv;
	return 0;
fail:
	fastipc_server_put(srv);
	return ret;
}

/* The short-circuited calls deferred and not answered: their callers get -EPIPE. */
static void deferred_orphan(struct fastipc_server *srv)
{
	struct fastipc_deferred *d;

	pthread_mutex_lock(&srv->defer_lock);
	for (d = srv->deferred; d; d = d->next) {
		if (!d->lw)
			continue;
		d->lw->error = -EPIPE;
		d->lw->done = true;
		d->lw = NULL;
	}
	pthread_cond_broadcast(&srv->defer_cond);
	pthread_mutex_unlock(&srv->defer_lock);
}

void fastipc_server_destroy(struct fastipc_server *srv)
{
	if (!srv)
		return;
	/* A fork() child has none of the parent's threads to stop. */
	if (server_is_ours(srv) && srv->started) {
		fastipc_server_stop(srv);
		fastipc_server_wait(srv);
	}
	registry_del(srv);
	/* Waits for short-circuited calls in progress. */
	pthread_rwlock_wrlock(&srv->live_lock);
	srv->dead = true;
	pthread_rwlock_unlock(&srv->live_lock);
	deferred_orphan(srv);
	/* Close now, not at the last put: waiting callers get EPIPE. */
	close(srv->fd);
	close(srv->wake_fd);
	srv->fd = -1;
	srv->wake_fd = -1;
	fastipc_server_put(srv);
}

int fastipc_server_fd(const struct fastipc_server *srv)
{
	return srv->fd;
}

/* The index of @opcode's handler, or where it would go. Under handlers_lock. */
static unsigned int handler_index(const struct fastipc_server *srv, uint32_t opcode)
{
	unsigned int lo = 0, hi = srv->nhandlers, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (srv->handlers[mid].opcode < opcode)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool handler_at(const struct fastipc_server *srv, unsigned int i, uint32_t opcode)
{
	return i < srv->nhandlers && srv->handlers[i].opcode == opcode;
}

int fastipc_server_set_handler(struct fastipc_server *srv, uint32_t opcode,
			       fastipc_handler_t fn, void *arg)
{
	struct handler *h;
	unsigned int i;
	int ret = 0;

	if (opcode >= FASTIPC_OPCODE_RESERVED)
		return -EINVAL;
	pthread_rwlock_wrlock(&srv->handlers_lock);
	i = handler_index(srv, opcode);
	if (handler_at(srv, i, opcode)) {
		if (fn) {
			srv->handlers[i].fn = fn;
			srv->handlers[i].arg = arg;
		} else {
			srv->nhandlers--;
			memmove(&srv->handlers[i], &srv->handlers[i + 1],
				(srv->nhandlers - i) * sizeof(*h));
		}
		goto out;
	}
	if (!fn)
		goto out;
	if (srv->nhandlers == srv->handlers_cap) {
		h = realloc(srv->handlers, (srv->handlers_cap * 2 + 8) * sizeof(*h));
		if (!h) {
			ret = -ENOMEM;
			goto out;
		}
		srv->handlers = h;
		srv->handlers_cap = srv->handlers_cap * 2 + 8;
	}
	memmove(&srv->handlers[i + 1], &srv->handlers[i], (srv->nhandlers - i) * sizeof(*h));
	srv->handlers[i] = (struct handler){ .opcode = opcode, .fn = fn, .arg = arg };
	srv->nhandlers++;
out:
	pthread_rwlock_unlock(&srv->handlers_lock);
	return ret;
}

/* Runs @ctx's handler: the status for the caller, with a reply that fits. */
static int32_t server_handle(struct fastipc_server *srv, struct msg_ctx *ctx)
{
	struct fastipc_msg *msg = &ctx->msg;
	struct handler h = { .fn = NULL };
	unsigned int i;
	int32_t status;

	pthread_rwlock_rdlock(&srv->handlers_lock);
	i = handler_index(srv, msg->opcode);
	if (handler_at(srv, i, msg->opcode))
		h = srv->handlers[i];
	pthread_rwlock_unlock(&srv->handlers_lock);

	if (!h.fn)
		return -EOPNOTSUPP;
	status = h.fn(srv, msg, h.arg);
	/* Forwarded: the handler's answer no longer counts. */
	if (ctx->consumed) {
		msg->reply_len = ctx->reply_len;
		status = ctx->status;
	}
	if (msg->reply_len > msg->reply_cap) {
		msg->reply_len = 0;
		status = -EMSGSIZE;
	}
	return status;
}

/* Waits for the answer to a short-circuited call its handler deferred. */
static int local_wait(struct fastipc_server *srv, struct local_wait *lw, int32_t *status,
		      uint32_t *reply_len)
{
	pthread_mutex_lock(&srv->defer_lock);
	while (!lw->done)
		pthread_cond_wait(&srv->defer_cond, &srv->defer_lock);
	pthread_mutex_unlock(&srv->defer_lock);
	*status = lw->status;
	*reply_len = lw->reply_len;
	return lw->error;
}

int fastipc_server_call_local(struct fastipc_server *srv, struct fastipc_msg *msg,
			      unsigned int hops, int32_t *status)
{
	struct local_wait lw = { .reply = msg->reply };
	struct msg_ctx ctx = { .msg = *msg, .srv = srv, .local = true, .hops = hops, .lw = &lw };
	int ret = 0;

	pthread_rwlock_rdlock(&srv->live_lock);
	if (srv->dead)
		ret = -EPIPE;
	else if (msg->len > srv->slot_size)
		ret = -EMSGSIZE;
	if (!ret) {
		if (ctx.msg.reply_cap > srv->reply_size)
			ctx.msg.reply_cap = srv->reply_size;
		lw.cap = ctx.msg.reply_cap;
		*status = server_handle(srv, &ctx);
		msg->reply_len = ctx.msg.reply_len;
		ret = ctx.error;
	}
	/* Not held while waiting: destroy must get in to answer with -EPIPE. */
	pthread_rwlock_unlock(&srv->live_lock);
	if (ctx.deferred)
		ret = local_wait(srv, &lw, status, &msg->reply_len);
	return ret;
}

/* A forward of a short-circuited call: a call whose answer is the handler's. */
static int forward_local(struct msg_ctx *ctx, struct fastipc_client *cl, uint32_t opcode,
			 const void *data, uint32_t len)
{
	struct fastipc_reply rep;
	int ret = -ELOOP;

	if (ctx->hops < FASTIPC_MAX_FORWARDS)
		ret = fastipc_client_forward(cl, ctx->hops + 1, opcode, data, len, ctx->msg.reply,
					     ctx->msg.reply_cap, &rep);
	if (!ret) {
		ctx->status = rep.status;
		ctx->reply_len = rep.len;
	} else if (ret == -ELOOP) {
		/* As through the device: the caller gets -ELOOP. */
		ctx->error = ret;
	} else {
		return ret;
	}
	ctx->consumed = true;
	return ret;
}

static struct msg_ctx *msg_ctx_of(struct fastipc_msg *msg)
{
	return (struct msg_ctx *)((char *)msg - offsetof(struct msg_ctx, msg));
}

int fastipc_msg_forward(struct fastipc_msg *msg, struct fastipc_client *cl, uint32_t opcode,
			const void *data, uint32_t len)
{
	struct msg_ctx *ctx = msg_ctx_of(msg);
	struct fastipc_forward fwd;
	int ret;

	if (ctx->consumed)
		return -ENOENT;
	if (msg->flags & FASTIPC_MSG_ONEWAY || opcode >= FASTIPC_OPCODE_RESERVED)
		return -EINVAL;
	if (ctx->local)
		return forward_local(ctx, cl, opcode, data, len);

	memset(&fwd, 0, sizeof(fwd));
	fwd.target_fd = fastipc_client_fd(cl);
	fwd.token = ctx->token;
	fwd.opcode = opcode;
	fwd.addr = (uintptr_t)data;
	fwd.len = len;
	ret = fastipc_ioctl(ctx->srv->fd, FASTIPC_IOC_FORWARD, &fwd);
	/* These take the token; any other error leaves it to the handler. */
	if (!ret || ret == -ELOOP || ret == -ECANCELED || ret == -ENOENT)
		ctx->consumed = true;
	return ret;
}

int fastipc_msg_defer(struct fastipc_msg *msg, struct fastipc_deferred **deferredp)
{
	struct msg_ctx *ctx = msg_ctx_of(msg);
	struct fastipc_server *srv = ctx->srv;
	struct fastipc_deferred *d;

	if (ctx->consumed)
		return -ENOENT;
	if (msg->flags & FASTIPC_MSG_ONEWAY)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->msg = *msg;
	d->msg.reply = NULL;
	d->msg.reply_len = 0;
	/* Closed as the handler returns, unless it kept them; none to reply. */
	d->msg.fds = NULL;
	d->msg.nfds = 0;
	d->msg.reply_fds = NULL;
	d->msg.reply_nfds = 0;
	d->srv = srv;
	d->token = ctx->token;
	d->local = ctx->local;
	d->lw = ctx->lw;
	fastipc_server_get(srv);
	pthread_mutex_lock(&srv->defer_lock);
	d->next = srv->deferred;
	if (d->next)
		d->next->pprev = &d->next;
	d->pprev = &srv->deferred;
	srv->deferred = d;
	pthread_mutex_unlock(&srv->defer_lock);
	ctx->consumed = true;
	ctx->deferred = true;
	*deferredp = d;
	return 0;
}

const struct fastipc_msg *fastipc_deferred_msg(const struct fastipc_deferred *d)
{
	return &d->msg;
}

/* Hands a short-circuited call its answer: 0, -EMSGSIZE, or -EPIPE if destroyed. */
static int deferred_answer_local(struct fastipc_deferred *d, int32_t status, const void *data,
				 uint32_t len)
{
	struct local_wait *lw = d->lw;
	int ret = 0;

	if (!lw)
		return -EPIPE;
	/* As for a handler's reply too long for the room. */
	if (len > lw->cap) {
		status = -EMSGSIZE;
		len = 0;
		ret = -EMSGSIZE;
	}
	if (len)
		memcpy(lw->reply, data, len);
	lw->status = status;
	lw->reply_len = len;
	lw->done = true;
	pthread_cond_broadcast(&d->srv->defer_cond);
	return ret;
}

static int server_wake(struct fastipc_server *srv);

/* Answers @d, unlinks and frees it: as fastipc_deferred_reply(). */
static int deferred_answer(struct fastipc_deferred *d, int32_t status, const void *data,
			   uint32_t len)
{
	struct fastipc_server *srv = d->srv;
	int ret = 0;

	if (!d->local) {
		pthread_rwlock_rdlock(&srv->live_lock);
		if (srv->dead)
			ret = -EPIPE;
		else
			ret = fastipc_reply_token(srv->fd, d->token, status, data, len);
		/* The slot is free: a stop that found none can reach the threads. */
		if (!srv->dead && __atomic_exchange_n(&srv->wake_lost, false, __ATOMIC_ACQ_REL))
			server_wake(srv);
		pthread_rwlock_unlock(&srv->live_lock);
	}
	pthread_mutex_lock(&srv->defer_lock);
	if (d->local)
		ret = deferred_answer_local(d, status, data, len);
	*d->pprev = d->next;
	if (d->next)
		d->next->pprev = d->pprev;
	pthread_mutex_unlock(&srv->defer_lock);
	free(d);
	fastipc_server_put(srv);
	return ret;
}

int fastipc_deferred_reply(struct fastipc_deferred *d, int32_t status, const void *data,
			   uint32_t len)
{
	return deferred_answer(d, status, data, len);
}

void fastipc_deferred_drop(struct fastipc_deferred *d)
{
	if (d)
		deferred_answer(d, -ECANCELED, NULL, 0);
}

int fastipc_reply_token(int fd, uint64_t token, int32_t status, const void *buf, uint32_t len)
{
	struct fastipc_serve s;
	int ret, first = 0;

	for (;;) {
		memset(&s, 0, sizeof(s));
		s.flags = FASTIPC_SERVE_REPLY;
		s.reply_token = token;
		s.reply_status = status;
		s.reply_addr = (uintptr_t)buf;
		s.reply_len = len;
		ret = fastipc_ioctl(fd, FASTIPC_IOC_SERVE, &s);
		if (!first)
			first = ret;
		if (!fastipc_reply_again(ret, len))
			return first;
		status = ret;
		len = 0;
	}
}

bool fastipc_server_stopping(struct fastipc_server *srv)
{
	return __atomic_load_n(&srv->stopping, __ATOMIC_ACQUIRE);
}

uint32_t fastipc_server_reply_size(const struct fastipc_server *srv)
{
	return srv->reply_size;
}

/* Closes the received descriptors the handler did not keep. */
static void close_fds(int32_t *fds, uint32_t nfds)
{
	uint32_t i;

	for (i = 0; fds && i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Duplicates the reply's descriptors @msg names into @ans: 0, or -errno. */
static int32_t dup_reply_fds(const struct fastipc_msg *msg, struct fastipc_answer *ans)
{
	uint32_t i;
	int fd;

	if (msg->reply_nfds > FASTIPC_MAX_FDS)
		return -E2BIG;
	for (i = 0; i < msg->reply_nfds; i++) {
		fd = fcntl(msg->reply_fds[i], F_DUPFD_CLOEXEC, 0);
		if (fd < 0) {
			fd = -errno;
			close_fds(ans->reply_fds, ans->reply_nfds);
			ans->reply_nfds = 0;
			return fd;
		}
		ans->reply_fds[ans->reply_nfds++] = fd;
	}
	return 0;
}

void fastipc_server_receive(struct fastipc_server *srv, const struct fastipc_msg_info *mi,
			    void *reply, struct fastipc_answer *ans)
{
	fastipc_server_receive_fds(srv, mi, NULL, 0, false, reply, ans);
}

void fastipc_server_receive_fds(struct fastipc_server *srv, const struct fastipc_msg_info *mi,
				int32_t *fds, uint32_t nfds, bool reply_fds, void *reply,
				struct fastipc_answer *ans)
{
	struct msg_ctx ctx;
	int32_t err;

	*ans = (struct fastipc_answer){ .held = true };
	/* Wakes only make the server look at the stop flag again. */
	if (mi->opcode >= FASTIPC_OPCODE_RESERVED) {
		if (!(mi->flags & FASTIPC_MSG_ONEWAY))
			ans->status = -EOPNOTSUPP;
		close_fds(fds, nfds);
		return;
	}
	ctx = (struct msg_ctx){
		.msg = {
			.opcode = mi->opcode,
			.flags = mi->flags,
			.data = srv->pool + mi->offset,
			.len = mi->len,
			.pid = mi->pid,
			.uid = mi->uid,
			.gid = mi->gid,
			.caller_pid = mi->caller_pid,
			.caller_uid = mi->caller_uid,
			.caller_gid = mi->caller_gid,
			.fds = nfds ? fds : NULL,
			.nfds = nfds,
		},
		.srv = srv,
		.token = mi->token,
	};
	if (!(mi->flags & FASTIPC_MSG_ONEWAY)) {
		ctx.msg.reply = reply;
		ctx.msg.reply_cap = srv->reply_size;
	}
	ans->status = server_handle(srv, &ctx);
	ans->reply_len = ctx.msg.reply_len;
	if (reply_fds && !ctx.consumed && !(mi->flags & FASTIPC_MSG_ONEWAY)) {
		err = dup_reply_fds(&ctx.msg, ans);
		if (err) {
			ans->status = err;
			ans->reply_len = 0;
		}
	}
	close_fds(fds, nfds);
	/* Forwarded: the token is gone, there is nothing to answer. */
	ans->held = !ctx.consumed;
	ans->handled = true;
}

/*
 * Serves messages on this thread, answering each in the same system call
 * that receives the next. A pool thread (!@nonblock) goes on until the server
 * stops; dispatch (@nonblock) until nothing waits or @max (if not 0) were
 * handled. The last message is always answered before returning.
 *
 * Return: how many messages were handled, or -errno.
 */
static int serve(struct fastipc_server *srv, void *reply, bool nonblock, unsigned int max)
{
	/* The reply's descriptors out, the next message's in. */
	int32_t fdv[FASTIPC_MAX_FDS];
	struct fastipc_msg_info mi;
	struct fastipc_answer ans = { .reply_nfds = 0 };
	struct fastipc_serve s;
	uint64_t token = 0;
	uint32_t reply_len = 0;
	int32_t status = 0;
	bool held = false, recv;
	unsigned int n = 0;
	int ret;

	for (;;) {
		recv = nonblock ? !max || n < max : !fastipc_server_stopping(srv);
		memset(&s, 0, sizeof(s));
		if (held) {
			s.flags = FASTIPC_SERVE_REPLY;
			s.reply_token = token;
			s.reply_status = status;
			s.reply_addr = (uintptr_t)reply;
			s.reply_len = reply_len;
		}
		if (recv)
			s.flags |= FASTIPC_SERVE_RECV | (nonblock ? FASTIPC_SERVE_NONBLOCK : 0);
		if (!s.flags)
			return n;
		if (srv->fds) {
			s.flags |= FASTIPC_SERVE_FDS | FASTIPC_SERVE_FDS_CLOEXEC;
			s.fds_addr = (uintptr_t)fdv;
			s.fds_cap = recv ? FASTIPC_MAX_FDS : 0;
			if (held) {
				memcpy(fdv, ans.reply_fds, ans.reply_nfds * sizeof(fdv[0]));
				s.nfds = ans.reply_nfds;
			}
		}
		ret = fastipc_ioctl(srv->fd, FASTIPC_IOC_SERVE, &s);
		/* Sent or refused, the reply's descriptors are done with. */
		if (held && ans.reply_nfds) {
			close_fds(ans.reply_fds, ans.reply_nfds);
			ans.reply_nfds = 0;
			/* Refused: the reply goes without them, their error its status. */
			if (ret == -EBADF || ret == -EOPNOTSUPP || ret == -ETOOMANYREFS) {
				status = ret;
				reply_len = 0;
				continue;
			}
		}
		if (held && fastipc_reply_again(ret, reply_len)) {
			status = ret;
			reply_len = 0;
			continue;
		}
		if (held && fastipc_reply_dropped(ret)) {
			/* Nothing was received. */
			held = false;
			continue;
		}
		/* Any other error is the receive part's: the reply went out. */
		held = false;
		if (ret == -EAGAIN && nonblock)
			return n;
		if (ret == -EINTR && !nonblock)
			continue;
		if (ret)
			return ret;
		if (!recv)
			return n;

		mi = (struct fastipc_msg_info){
			.flags = s.msg_flags,
			.opcode = s.opcode,
			.token = s.token,
			.offset = s.offset,
			.len = s.len,
			.pid = s.pid,
			.uid = s.uid,
			.gid = s.gid,
			.caller_pid = s.caller_pid,
			.caller_uid = s.caller_uid,
			.caller_gid = s.caller_gid,
		};
		fastipc_server_receive_fds(srv, &mi, fdv, s.nfds, srv->fds, reply, &ans);
		token = s.token;
		held = ans.held;
		status = ans.status;
		reply_len = ans.reply_len;
		n += ans.handled;
	}
}

static int server_wake(struct fastipc_server *srv)
{
	struct fastipc_send send;
	int ret;

	/* Set first: an answer freeing a slot meanwhile sends the wake again. */
	__atomic_store_n(&srv->wake_lost, true, __ATOMIC_RELEASE);
	memset(&send, 0, sizeof(send));
	send.opcode = FASTIPC_OP_WAKE;
	ret = fastipc_ioctl(srv->wake_fd, FASTIPC_IOC_SEND, &send);
	if (!ret)
		__atomic_store_n(&srv->wake_lost, false, __ATOMIC_RELEASE);
	return ret;
}

int fastipc_server_stop(struct fastipc_server *srv)
{
	int ret;

	__atomic_store_n(&srv->stopping, 1, __ATOMIC_RELEASE);
	ret = server_wake(srv);
	/*
	 * A full queue, or our share of it used up, means messages wait: a
	 * thread will see the flag. If deferred calls hold the slots instead,
	 * the first answer sends the wake (wake_lost). (Our own endpoint is
	 * never over the user's quota across endpoints.)
	 */
	return ret == -EAGAIN || ret == -EDQUOT ? 0 : ret;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct fastipc_server *srv = w->srv;
	int expected = 0;
	int ret;

	ret = serve(srv, w->reply, false, 0);
	if (ret < 0) {
		__atomic_compare_exchange_n(&srv->error, &expected, ret, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
		__atomic_store_n(&srv->stopping, 1, __ATOMIC_RELEASE);
	}
	/* Pass the wake on to the threads still serving. */
	if (__atomic_sub_fetch(&srv->active, 1, __ATOMIC_ACQ_REL))
		server_wake(srv);
	return NULL;
}

static void pool_free(struct fastipc_server *srv)
{
	unsigned int i;

	for (i = 0; i < srv->nworkers; i++)
		free(srv->workers[i].reply);
	free(srv->workers);
	srv->workers = NULL;
	srv->nworkers = 0;
	srv->started = false;
	fastipc_server_unclaim(srv);
}

int fastipc_server_claim(struct fastipc_server *srv)
{
	int ret = -EBUSY;

	pthread_mutex_lock(&srv->pool_lock);
	if (!srv->running) {
		__atomic_store_n(&srv->running, true, __ATOMIC_RELEASE);
		__atomic_store_n(&srv->stopping, 0, __ATOMIC_RELEASE);
		ret = 0;
	}
	pthread_mutex_unlock(&srv->pool_lock);
	return ret;
}

void fastipc_server_unclaim(struct fastipc_server *srv)
{
	__atomic_store_n(&srv->running, false, __ATOMIC_RELEASE);
}

/* Sets up @nthreads workers; the pool is then the caller's. */
static int pool_init(struct fastipc_server *srv, unsigned int nthreads)
{
	unsigned int i;
	int ret;

	if (!nthreads)
		return -EINVAL;
	ret = fastipc_server_claim(srv);
	if (ret)
		return ret;

	srv->workers = calloc(nthreads, sizeof(*srv->workers));
	if (!srv->workers) {
		pool_free(srv);
		return -ENOMEM;
	}
	srv->nworkers = nthreads;
	for (i = 0; i < nthreads; i++) {
		srv->workers[i].srv = srv;
		srv->workers[i].reply = malloc(srv->reply_size);
		if (!srv->workers[i].reply)
			ret = -ENOMEM;
	}
	if (ret) {
		pool_free(srv);
		return ret;
	}
	srv->error = 0;
	srv->active = 0;
	return 0;
}

/* Starts workers @first.. on threads of their own. */
static int pool_spawn(struct fastipc_server *srv, unsigned int first)
{
	unsigned int i;
	int ret;

	for (i = first; i < srv->nworkers; i++) {
		__atomic_add_fetch(&srv->active, 1, __ATOMIC_ACQ_REL);
		ret = pthread_create(&srv->workers[i].thread, NULL, worker_main, &srv->workers[i]);
		if (ret) {
			__atomic_sub_fetch(&srv->active, 1, __ATOMIC_ACQ_REL);
			srv->nworkers = i;
			fastipc_server_stop(srv);
			return -ret;
		}
	}
	return 0;
}

/* Joins workers @first.. and frees the pool: the first error of any. */
static int pool_join(struct fastipc_server *srv, unsigned int first, int ret)
{
	unsigned int i;

	for (i = first; i < srv->nworkers; i++)
		pthread_join(srv->workers[i].thread, NULL);
	if (!ret)
		ret = srv->error;
	pool_free(srv);
	return ret;
}

int fastipc_server_run(struct fastipc_server *srv, unsigned int nthreads)
{
	int ret = pool_init(srv, nthreads);

	if (ret)
		return ret;
	/* This thread is worker 0, so it counts as active before the others start. */
	__atomic_add_fetch(&srv->active, 1, __ATOMIC_ACQ_REL);
	ret = pool_spawn(srv, 1);
	worker_main(&srv->workers[0]);
	return pool_join(srv, 1, ret);
}

int fastipc_server_start(struct fastipc_server *srv, unsigned int nthreads)
{
	int ret = pool_init(srv, nthreads);

	if (ret)
		return ret;
	srv->started = true;
	ret = pool_spawn(srv, 0);
	if (ret)
		return pool_join(srv, 0, ret);
	return 0;
}

int fastipc_server_wait(struct fastipc_server *srv)
{
	if (!srv->started)
		return -EINVAL;
	return pool_join(srv, 0, 0);
}

int fastipc_server_dispatch(struct fastipc_server *srv, unsigned int max)
{
	int ret;

	if (pthread_mutex_trylock(&srv->dispatch_lock))
		return -EBUSY;
	if (!srv->dispatch_reply)
		srv->dispatch_reply = malloc(srv->reply_size);
	ret = srv->dispatch_reply ? serve(srv, srv->dispatch_reply, true, max) : -ENOMEM;
	pthread_mutex_unlock(&srv->dispatch_lock);
	return ret;
}
