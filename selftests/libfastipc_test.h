/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the libfastipc tests: a test service with one handler per
 * behaviour a test needs, and the set-up of a server and a client that reach
 * each other either through the device or by the short circuit.
 */
#ifndef LIBFASTIPC_TEST_H
#define LIBFASTIPC_TEST_H

#include "fastipc_util.h"

#include <libfastipc.h>

#define LT_SLOT		1024
#define LT_NSLOTS	8
#define LT_REPLY	2048

enum {
	OP_ECHO = 1,	/* reply: the request */
	OP_INFO,	/* reply: struct lt_info about the call */
	OP_BLOCK,	/* says so on st->entered, waits on st->release, replies "done" */
	OP_NOTE,	/* one-way: records the u32 payload, counts on st->notes */
	OP_SIZED,	/* request: a u32 n; reply: n pattern bytes, even past the room */
	OP_STOP,	/* stops the server */
	OP_NEST,	/* echoes the request through st->next, status +1 */
	OP_STATUS,	/* status: the request's s32 */
};

/* What OP_INFO reports about the call it answers. */
struct lt_info {
	pid_t tid;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	uint32_t flags;
	uint32_t len;
	uint64_t data;
	uint64_t reply;
	uint32_t reply_cap;
	uint32_t pad;
};

#define LT_MAX_NOTES	64

struct lt_state {
	int entered;			/* eventfd, semaphore: one read a handler */
	int release;			/* eventfd, semaphore */
	int notes;			/* eventfd */
	uint32_t note[LT_MAX_NOTES];	/* payloads of OP_NOTE, in arrival order */
	unsigned int nnotes;		/* atomic */
	pid_t note_tid;			/* the thread that handled the last one */
	struct fastipc_client *next;	/* OP_NEST's next hop */
	int nest_ret;			/* what OP_NEST's call returned */
};

static int32_t lt_handle(struct fastipc_server *srv, struct fastipc_msg *msg, void *arg)
{
	struct lt_state *st = arg;
	struct fastipc_reply rep;
	struct lt_info info;
	uint32_t n = 0;
	int32_t s = 0;
	eventfd_t v;

	switch (msg->opcode) {
	case OP_ECHO:
		if (msg->len > msg->reply_cap)
			return -EMSGSIZE;
		memcpy(msg->reply, msg->data, msg->len);
		msg->reply_len = msg->len;
		return 0;
	case OP_INFO:
		memset(&info, 0, sizeof(info));
		info.tid = gettid();
		info.pid = msg->pid;
		info.uid = msg->uid;
		info.gid = msg->gid;
		info.flags = msg->flags;
		info.len = msg->len;
		info.data = (uintptr_t)msg->data;
		info.reply = (uintptr_t)msg->reply;
		info.reply_cap = msg->reply_cap;
		memcpy(msg->reply, &info, sizeof(info));
		msg->reply_len = sizeof(info);
		return 0;
	case OP_BLOCK:
		eventfd_write(st->entered, 1);
		eventfd_read(st->release, &v);
		if (msg->reply) {
			memcpy(msg->reply, "done", 4);
			msg->reply_len = 4;
		}
		return 0;
	case OP_NOTE:
		if (msg->len == sizeof(n))
			memcpy(&n, msg->data, sizeof(n));
		st->note[__atomic_fetch_add(&st->nnotes, 1, __ATOMIC_SEQ_CST) % LT_MAX_NOTES] = n;
		st->note_tid = gettid();
		eventfd_write(st->notes, 1);
		return 0;
	case OP_SIZED:
		if (msg->len == sizeof(n))
			memcpy(&n, msg->data, sizeof(n));
		fipc_fill(msg->reply, n < msg->reply_cap ? n : msg->reply_cap, n);
		msg->reply_len = n;
		return 0;
	case OP_STOP:
		return fastipc_server_stop(srv);
	case OP_NEST:
		st->nest_ret = fastipc_call(st->next, OP_ECHO, msg->data, msg->len, &rep, 0);
		if (st->nest_ret)
			return st->nest_ret;
		memcpy(msg->reply, rep.data, rep.len);
		msg->reply_len = rep.len;
		return rep.status + 1;
	case OP_STATUS:
		if (msg->len == sizeof(s))
			memcpy(&s, msg->data, sizeof(s));
		return s;
	}
	return -EPROTO;
}

static inline int lt_state_init(struct lt_state *st)
{
	memset(st, 0, sizeof(*st));
	st->entered = eventfd(0, EFD_CLOEXEC | EFD_SEMAPHORE);
	st->release = eventfd(0, EFD_CLOEXEC | EFD_SEMAPHORE);
	st->notes = eventfd(0, EFD_CLOEXEC);
	return st->entered < 0 || st->release < 0 || st->notes < 0 ? -errno : 0;
}

static inline void lt_state_fini(struct lt_state *st)
{
	close(st->entered);
	close(st->release);
	close(st->notes);
}

/* A name no other test (or concurrent run) uses. */
static inline void lt_name(char *buf, size_t len, const char *what)
{
	static int seq;

	snprintf(buf, len, "lt.%d.%d.%s", getpid(), seq++, what);
}

/* A server of the test service: named when @name is not NULL. */
static inline int lt_server(struct lt_state *st, const char *name, struct fastipc_server **srvp)
{
	struct fastipc_server_params p = {
		.name = name,
		.slot_size = LT_SLOT,
		.nslots = LT_NSLOTS,
		.reply_size = LT_REPLY,
		.flags = FASTIPC_SERVER_ACCEPT_FORWARDS,
	};
	uint32_t op;
	int ret;

	ret = fastipc_server_create(&p, srvp);
	for (op = OP_ECHO; !ret && op <= OP_STATUS; op++)
		ret = fastipc_server_set_handler(*srvp, op, lt_handle, st);
	return ret;
}

/* A client with LT_REPLY bytes of reply room; @local picks the short circuit. */
static inline int lt_client(const char *name, int fd, bool local, struct fastipc_client **clp)
{
	struct fastipc_client_params p = {
		.reply_size = LT_REPLY,
		.flags = local ? 0 : FASTIPC_CLIENT_NO_SHORT_CIRCUIT,
	};

	return name ? fastipc_client_connect_name(name, &p, clp)
		    : fastipc_client_connect_fd(fd, &p, clp);
}

/* Whether the module has FASTIPC_F_URING, which rings need. */
static inline bool lt_have_uring(void)
{
	unsigned long long features = 0;
	unsigned int abi;
	int fd = fastipc_open();

	if (fd < 0)
		return false;
	fastipc_version(fd, &abi, &features);
	close(fd);
	return features & FASTIPC_F_URING;
}

/* Waits for one OP_BLOCK handler to have started. */
static inline void lt_wait_entered(struct lt_state *st)
{
	eventfd_t v;

	eventfd_read(st->entered, &v);
}

/*
 * The fixture most tests use: the test service, named, and a client of it,
 * through the device (one server thread serves, so that messages are
 * handled in the order they arrive) or short-circuited.
 */
struct lt_pair {
	struct lt_state st;
	struct fastipc_server *srv;
	struct fastipc_client *cl;
	char name[FASTIPC_NAME_MAX];
	bool local;
};

static inline int lt_pair_open(struct lt_pair *p, bool local)
{
	int ret;

	memset(p, 0, sizeof(*p));
	p->local = local;
	lt_name(p->name, sizeof(p->name), "pair");
	ret = lt_state_init(&p->st);
	if (!ret)
		ret = lt_server(&p->st, p->name, &p->srv);
	if (!ret && !local)
		ret = fastipc_server_start(p->srv, 1);
	if (!ret)
		ret = lt_client(p->name, -1, local, &p->cl);
	if (!ret && fastipc_client_is_local(p->cl) != local)
		ret = -EPROTO;
	return ret;
}

static inline void lt_pair_close(struct lt_pair *p)
{
	fastipc_client_close(p->cl);
	fastipc_server_destroy(p->srv);
	lt_state_fini(&p->st);
}

/* OP_INFO on @cl: 0 with @info filled, or -errno, or the status if not 0. */
static inline int lt_info(struct fastipc_client *cl, const void *req, uint32_t len,
			  struct lt_info *info)
{
	struct fastipc_reply rep;
	int ret = fastipc_call(cl, OP_INFO, req, len, &rep, 0);

	if (ret)
		return ret;
	if (rep.status)
		return rep.status;
	if (rep.len != sizeof(*info))
		return -EPROTO;
	memcpy(info, rep.data, sizeof(*info));
	return 0;
}

/*
 * @n OP_ECHO calls on @cl, call i of 1 to 256 bytes of the pattern of
 * @seed + i, each reply checked: 0, the first error, or -EPROTO.
 */
static inline int lt_echo_calls(struct fastipc_client *cl, uint32_t seed, uint32_t n)
{
	struct fastipc_reply rep;
	char req[256];
	uint32_t i, len;
	int ret;

	for (i = 0; i < n; i++, seed++) {
		len = 1 + seed % sizeof(req);
		fipc_fill(req, len, seed);
		ret = fastipc_call(cl, OP_ECHO, req, len, &rep, 0);
		if (ret)
			return ret;
		if (rep.status || rep.len != len || !fipc_check(rep.data, len, seed))
			return -EPROTO;
	}
	return 0;
}

/*
 * A call made by a thread of its own, so that the test can act while it is
 * in progress: OP_* @opcode with request "xy", the reply copied to @buf.
 */
struct lt_async {
	struct fastipc_client *cl;
	uint32_t opcode;
	pid_t tid;		/* atomic: set once the thread runs */
	int ret;
	struct fastipc_reply rep;
	char buf[8];
	pthread_t thread;
};

static void *lt_async_fn(void *arg)
{
	struct lt_async *a = arg;

	__atomic_store_n(&a->tid, gettid(), __ATOMIC_SEQ_CST);
	a->ret = fastipc_call_copy(a->cl, a->opcode, "xy", 2, a->buf, sizeof(a->buf), &a->rep, 0);
	return NULL;
}

/* 0, or the error of pthread_create() as -errno. */
static inline int lt_async_start(struct lt_async *a, struct fastipc_client *cl, uint32_t opcode)
{
	memset(a, 0, sizeof(*a));
	a->cl = cl;
	a->opcode = opcode;
	return -pthread_create(&a->thread, NULL, lt_async_fn, a);
}

/* Waits until the call's thread sleeps in the module. */
static inline int lt_async_wait_blocked(struct lt_async *a)
{
	while (!__atomic_load_n(&a->tid, __ATOMIC_SEQ_CST))
		sched_yield();
	return fipc_wait_blocked_in_ioctl(a->tid);
}

/* The call's result. */
static inline int lt_async_join(struct lt_async *a)
{
	pthread_join(a->thread, NULL);
	return a->ret;
}

/*
 * The fixture "pair" of struct lt_pair, in two variants: through the device
 * and short-circuited. For test files that include kselftest_harness.h.
 */
#define LT_PAIR_FIXTURE()						\
FIXTURE(pair) {								\
	struct lt_pair p;						\
};									\
FIXTURE_VARIANT(pair) {							\
	bool local;							\
};									\
FIXTURE_VARIANT_ADD(pair, device) {					\
	.local = false,							\
};									\
FIXTURE_VARIANT_ADD(pair, short_circuit) {				\
	.local = true,							\
};									\
FIXTURE_SETUP(pair)							\
{									\
	ASSERT_EQ(0, lt_pair_open(&self->p, variant->local));		\
}									\
FIXTURE_TEARDOWN(pair)							\
{									\
	lt_pair_close(&self->p);					\
}

#endif /* LIBFASTIPC_TEST_H */
