// SPDX-License-Identifier: GPL-2.0
/*
 * libfastipc's deferred replies, the errors a client can tell apart, and
 * calls interrupted by signals: calls deferred by thread-pool, ring and
 * short-circuited servers and answered later from another thread, in any
 * order; deferred calls held as the server is destroyed; a one-way message
 * that cannot be deferred; a dead peer, a full queue and an exhausted quota
 * as three errnos in every client API; a call interrupted by a signal
 * handler with and without FASTIPC_CLIENT_EINTR; and the library's defaults
 * within the default RLIMIT_MEMLOCK.
 */
#include "libfastipc_test.h"

#include <liburing.h>
#include <sys/resource.h>

#include "kselftest_harness.h"

#define OP_DEFER	100	/* deferred into struct dstate */
#define OP_SIG		101	/* the first blocks until released; returns its count */
#define MAXD		8
#define REQ_LEN		64
#define STATS		"/sys/kernel/debug/fastipc/stats"

struct dstate {
	struct fastipc_deferred *d[MAXD];
	unsigned int n;		/* atomic: calls deferred */
	int deferred;		/* eventfd, semaphore: one read a message handled */
	int defer_ret;		/* what the last failed fastipc_msg_defer() said */
	int again_ret;		/* what deferring a deferred call said */
	unsigned int sig_calls;	/* atomic */
	int entered;		/* eventfd: OP_SIG's first call started */
	int release;		/* eventfd: let it return */
};

static int32_t defer_handler(struct fastipc_server *srv, struct fastipc_msg *msg, void *arg)
{
	struct dstate *ds = arg;
	struct fastipc_deferred *d;
	int ret = fastipc_msg_defer(msg, &d);

	if (ret) {
		ds->defer_ret = ret;
	} else {
		ds->d[__atomic_fetch_add(&ds->n, 1, __ATOMIC_SEQ_CST) % MAXD] = d;
		ds->again_ret = fastipc_msg_defer(msg, &d);
		/* Ignored from now on, as is the status. */
		msg->reply_len = msg->reply_cap;
	}
	eventfd_write(ds->deferred, 1);
	return -EPROTO;
}

static int32_t sig_handler(struct fastipc_server *srv, struct fastipc_msg *msg, void *arg)
{
	struct dstate *ds = arg;
	unsigned int n = __atomic_add_fetch(&ds->sig_calls, 1, __ATOMIC_SEQ_CST);
	eventfd_t v;

	if (n == 1) {
		eventfd_write(ds->entered, 1);
		eventfd_read(ds->release, &v);
	}
	return n;
}

static int dstate_init(struct dstate *ds)
{
	memset(ds, 0, sizeof(*ds));
	ds->deferred = eventfd(0, EFD_CLOEXEC | EFD_SEMAPHORE);
	ds->entered = eventfd(0, EFD_CLOEXEC);
	ds->release = eventfd(0, EFD_CLOEXEC);
	return ds->deferred < 0 || ds->entered < 0 || ds->release < 0 ? -errno : 0;
}

static void dstate_fini(struct dstate *ds)
{
	close(ds->deferred);
	close(ds->entered);
	close(ds->release);
}

/* Waits for @n more messages to reach defer_handler(). */
static void wait_deferred(struct dstate *ds, unsigned int n)
{
	eventfd_t v;

	while (n--)
		eventfd_read(ds->deferred, &v);
}

/* The request of OP_DEFER call @v: the u32 @v, then the pattern of @v. */
static void defer_req(char *req, uint32_t v)
{
	memcpy(req, &v, sizeof(v));
	fipc_fill(req + sizeof(v), REQ_LEN - sizeof(v), v);
}

static uint32_t deferred_value(const struct fastipc_deferred *d)
{
	const struct fastipc_msg *m = fastipc_deferred_msg(d);
	uint32_t v = 0;

	if (m->len == REQ_LEN)
		memcpy(&v, m->data, sizeof(v));
	return v;
}

/* Answers @d as the test expects: status v + 100, the request echoed. */
static int answer(struct fastipc_deferred *d)
{
	const struct fastipc_msg *m = fastipc_deferred_msg(d);

	return fastipc_deferred_reply(d, deferred_value(d) + 100, m->data, m->len);
}

/* OP_DEFER call @v on @cl: 0 if answered as answer() does, else -errno or -EPROTO. */
static int defer_call(struct fastipc_client *cl, uint32_t v)
{
	struct fastipc_reply rep;
	char req[REQ_LEN];
	int ret;

	defer_req(req, v);
	ret = fastipc_call(cl, OP_DEFER, req, sizeof(req), &rep, 0);
	if (ret)
		return ret;
	if (rep.status != (int32_t)(v + 100) || rep.len != REQ_LEN || memcmp(rep.data, req, REQ_LEN))
		return -EPROTO;
	return 0;
}

/* The test service plus OP_DEFER and OP_SIG, named @name, not served yet. */
static int defer_server(struct lt_state *st, struct dstate *ds, const char *name,
			struct fastipc_server **srvp)
{
	int ret = lt_server(st, name, srvp);

	if (!ret)
		ret = fastipc_server_set_handler(*srvp, OP_DEFER, defer_handler, ds);
	if (!ret)
		ret = fastipc_server_set_handler(*srvp, OP_SIG, sig_handler, ds);
	return ret;
}

/* The value of "key:\t<n>" in @path, or -1. */
static long long file_value(const char *path, const char *key)
{
	char buf[4096], pat[64];
	const char *p;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	snprintf(pat, sizeof(pat), "%s:\t", key);
	for (p = buf; (p = strstr(p, pat)); p++) {
		if (p == buf || p[-1] == '\n')
			return strtoll(p + strlen(pat), NULL, 10);
	}
	return -1;
}

static long long fdinfo_value(int fd, const char *key)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	return file_value(path, key);
}

/*
 * The fixture: the service's server, named, created but not served, so
 * that a child forked now inherits no thread of it.
 */
struct dfix {
	struct lt_state st;
	struct dstate ds;
	struct fastipc_server *srv;
	char name[FASTIPC_NAME_MAX];
};

static int dfix_open(struct dfix *f)
{
	int ret = lt_state_init(&f->st);

	if (!ret)
		ret = dstate_init(&f->ds);
	lt_name(f->name, sizeof(f->name), "defer");
	if (!ret)
		ret = defer_server(&f->st, &f->ds, f->name, &f->srv);
	return ret;
}

static void dfix_close(struct dfix *f)
{
	fastipc_server_destroy(f->srv);
	dstate_fini(&f->ds);
	lt_state_fini(&f->st);
}

FIXTURE(defer) {
	struct dfix f;
};

FIXTURE_SETUP(defer)
{
	ASSERT_EQ(0, dfix_open(&self->f));
}

FIXTURE_TEARDOWN(defer)
{
	dfix_close(&self->f);
}

/* An OP_DEFER call on a thread of its own. */
struct child_call {
	struct fastipc_client *cl;
	uint32_t v;
	int ret;
	pthread_t thread;
};

static void *child_call_fn(void *arg)
{
	struct child_call *c = arg;

	c->ret = defer_call(c->cl, c->v);
	return NULL;
}

/*
 * In a child: lets go of the server it inherited, whose endpoint would
 * otherwise live as long as the child holds its descriptor.
 */
static void child_forget(struct dfix *f)
{
	fastipc_server_destroy(f->srv);
	f->srv = NULL;
}

/* In the child: @n calls at once; exits 0 if each got @expect (0: its answer). */
static void child_calls(struct dfix *f, unsigned int n, int expect)
{
	const char *name = f->name;
	struct child_call c[MAXD];
	struct fastipc_client *cl;
	unsigned int i;

	child_forget(f);
	CHILD_CHECK(lt_client(name, -1, false, &cl) == 0);
	for (i = 0; i < n; i++) {
		c[i].cl = cl;
		c[i].v = i + 1;
		CHILD_CHECK(pthread_create(&c[i].thread, NULL, child_call_fn, &c[i]) == 0);
	}
	for (i = 0; i < n; i++) {
		pthread_join(c[i].thread, NULL);
		if (c[i].ret != expect)
			fprintf(stderr, "# call %u: %d, expected %d\n", i + 1, c[i].ret, expect);
		CHILD_CHECK(c[i].ret == expect);
	}
	fastipc_client_close(cl);
	_exit(0);
}

/*
 * Forks a child making @n calls at once as child_calls() does, then serves
 * them on one thread if @serve: the child's pid, or -errno.
 */
static pid_t fork_callers(struct dfix *f, unsigned int n, int expect, bool serve)
{
	pid_t pid = fipc_fork();
	int ret;

	if (pid == 0)
		child_calls(f, n, expect);
	if (pid < 0)
		return -errno;
	ret = serve ? fastipc_server_start(f->srv, 1) : 0;
	if (ret) {
		kill(pid, SIGKILL);
		fipc_reap(pid);
		return ret;
	}
	return pid;
}

TEST_F(defer, a_deferred_call_is_answered_later_from_another_thread)
{
	struct fastipc_client *cl;
	pid_t pid;

	pid = fork_callers(&self->f, 1, 0, true);
	ASSERT_LT(0, pid);
	wait_deferred(&self->f.ds, 1);
	/* The server's only thread is free for other calls meanwhile. */
	ASSERT_EQ(0, lt_client(self->f.name, -1, false, &cl));
	EXPECT_EQ(0, lt_echo_calls(cl, 7, 3));
	EXPECT_EQ(1, fdinfo_value(fastipc_server_fd(self->f.srv), "held"));
	/* This thread is not the server's: the answer goes out from here. */
	EXPECT_EQ(0, answer(self->f.ds.d[0]));
	EXPECT_EQ(0, fipc_reap(pid));
	EXPECT_EQ(0, fdinfo_value(fastipc_server_fd(self->f.srv), "held"));
	fastipc_client_close(cl);
}

TEST_F(defer, several_deferred_calls_are_answered_out_of_order)
{
	static const uint32_t order[] = { 3, 1, 4, 2 };
	struct fastipc_deferred *by_value[5] = { NULL };
	unsigned int i;
	uint32_t v;
	pid_t pid;

	pid = fork_callers(&self->f, 4, 0, true);
	ASSERT_LT(0, pid);
	wait_deferred(&self->f.ds, 4);
	for (i = 0; i < 4; i++) {
		v = deferred_value(self->f.ds.d[i]);
		ASSERT_TRUE(v >= 1 && v <= 4 && !by_value[v]);
		by_value[v] = self->f.ds.d[i];
	}
	EXPECT_EQ(4, fdinfo_value(fastipc_server_fd(self->f.srv), "held"));
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0, answer(by_value[order[i]]));
	EXPECT_EQ(0, fipc_reap(pid));
}

/* The ring's thread: serves @srv until it is stopped. */
struct ring_thread {
	struct fastipc_server *srv;
	int ret;
	pthread_t thread;
};

static void *ring_thread_fn(void *arg)
{
	struct ring_thread *rt = arg;
	struct fastipc_ring *ring;

	rt->ret = fastipc_ring_create(0, 0, &ring);
	if (rt->ret)
		return NULL;
	rt->ret = fastipc_ring_serve(ring, &rt->srv, 1);
	fastipc_ring_destroy(ring);
	return NULL;
}

TEST_F(defer, a_ring_server_defers_and_another_thread_answers)
{
	struct fastipc_client *cl;
	struct ring_thread rt = { .srv = self->f.srv };
	pid_t pid;

	if (!lt_have_uring())
		SKIP(return, "the module lacks FASTIPC_F_URING");
	pid = fork_callers(&self->f, 2, 0, false);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, pthread_create(&rt.thread, NULL, ring_thread_fn, &rt));
	wait_deferred(&self->f.ds, 2);
	/* The ring goes on serving. */
	ASSERT_EQ(0, lt_client(self->f.name, -1, false, &cl));
	EXPECT_EQ(0, lt_echo_calls(cl, 11, 3));
	EXPECT_EQ(0, answer(self->f.ds.d[1]));
	EXPECT_EQ(0, answer(self->f.ds.d[0]));
	EXPECT_EQ(0, fipc_reap(pid));
	EXPECT_EQ(0, fastipc_server_stop(self->f.srv));
	pthread_join(rt.thread, NULL);
	EXPECT_EQ(0, rt.ret);
	fastipc_client_close(cl);
}

/* Whether the page holding @addr is mapped. */
static bool mapped(const void *addr)
{
	uintptr_t page = (uintptr_t)addr & ~(uintptr_t)(getpagesize() - 1);

	return !msync((void *)page, 1, MS_ASYNC);
}

TEST_F(defer, destroying_the_server_fails_its_deferred_calls_with_epipe)
{
	/* The fixture's server, with its pool, is one of each. */
	long long eps = file_value(STATS, "live_endpoints");
	long long bufs = file_value(STATS, "live_buffers");
	const void *data;
	uint32_t v;
	pid_t pid;

	pid = fork_callers(&self->f, 2, -EPIPE, true);
	ASSERT_LT(0, pid);
	wait_deferred(&self->f.ds, 2);
	fastipc_server_destroy(self->f.srv);
	self->f.srv = NULL;
	EXPECT_EQ(0, fipc_reap(pid));

	/* The deferred calls stay the test's, their requests in place, to free. */
	data = fastipc_deferred_msg(self->f.ds.d[1])->data;
	v = deferred_value(self->f.ds.d[1]);
	EXPECT_TRUE(v == 1 || v == 2);
	EXPECT_EQ(-EPIPE, answer(self->f.ds.d[0]));
	EXPECT_TRUE(mapped(data));
	EXPECT_EQ(v, deferred_value(self->f.ds.d[1]));
	fastipc_deferred_drop(self->f.ds.d[1]);
	/* The last one freed the server and its pool. */
	EXPECT_FALSE(mapped(data));
	if (eps < 0)
		SKIP(return, "no debugfs at " STATS " to count the module's objects");
	EXPECT_EQ(eps - 1, file_value(STATS, "live_endpoints"));
	EXPECT_EQ(bufs - 1, file_value(STATS, "live_buffers"));
}

TEST_F(defer, a_one_way_message_cannot_be_deferred)
{
	struct fastipc_client *cl;
	pid_t pid;

	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		child_forget(&self->f);
		CHILD_CHECK(lt_client(self->f.name, -1, false, &cl) == 0);
		CHILD_CHECK(fastipc_send(cl, OP_DEFER, "x", 1, 0) == 0);
		_exit(0);
	}
	EXPECT_EQ(0, fipc_reap(pid));
	ASSERT_EQ(0, fastipc_server_start(self->f.srv, 1));
	wait_deferred(&self->f.ds, 1);
	EXPECT_EQ(-EINVAL, self->f.ds.defer_ret);
	EXPECT_EQ(0, self->f.ds.n);
	/* Its slot was freed all the same: a call after it is answered. */
	ASSERT_EQ(0, lt_client(self->f.name, -1, false, &cl));
	EXPECT_EQ(0, lt_echo_calls(cl, 3, 1));
	EXPECT_EQ(0, fdinfo_value(fastipc_server_fd(self->f.srv), "held"));
	fastipc_client_close(cl);
}

TEST_F(defer, a_deferred_call_keeps_its_message_and_cannot_be_deferred_twice)
{
	pid_t pid;

	pid = fork_callers(&self->f, 1, 0, true);
	ASSERT_LT(0, pid);
	wait_deferred(&self->f.ds, 1);
	EXPECT_EQ(NULL, fastipc_deferred_msg(self->f.ds.d[0])->reply);
	EXPECT_EQ(LT_REPLY, fastipc_deferred_msg(self->f.ds.d[0])->reply_cap);
	EXPECT_EQ(1, deferred_value(self->f.ds.d[0]));
	EXPECT_EQ(-ENOENT, self->f.ds.again_ret);
	EXPECT_EQ(0, answer(self->f.ds.d[0]));
	EXPECT_EQ(0, fipc_reap(pid));
}

TEST_F(defer, a_short_circuited_call_is_deferred_and_answered_from_another_thread)
{
	struct child_call c = { .v = 5, .ret = 1 };

	ASSERT_EQ(0, lt_client(self->f.name, -1, true, &c.cl));
	ASSERT_TRUE(fastipc_client_is_local(c.cl));
	ASSERT_EQ(0, pthread_create(&c.thread, NULL, child_call_fn, &c));
	wait_deferred(&self->f.ds, 1);
	EXPECT_EQ(5, deferred_value(self->f.ds.d[0]));
	EXPECT_EQ(0, answer(self->f.ds.d[0]));
	pthread_join(c.thread, NULL);
	EXPECT_EQ(0, c.ret);
	fastipc_client_close(c.cl);
}

TEST_F(defer, a_short_circuited_deferred_call_gets_epipe_when_the_server_goes)
{
	struct child_call c = { .v = 5, .ret = 1 };

	ASSERT_EQ(0, lt_client(self->f.name, -1, true, &c.cl));
	ASSERT_TRUE(fastipc_client_is_local(c.cl));
	ASSERT_EQ(0, pthread_create(&c.thread, NULL, child_call_fn, &c));
	wait_deferred(&self->f.ds, 1);
	fastipc_server_destroy(self->f.srv);
	self->f.srv = NULL;
	pthread_join(c.thread, NULL);
	EXPECT_EQ(-EPIPE, c.ret);
	EXPECT_EQ(-EPIPE, answer(self->f.ds.d[0]));
	fastipc_client_close(c.cl);
}

TEST_F(defer, a_dropped_short_circuited_call_gets_ecanceled_as_its_status)
{
	struct fastipc_reply rep;
	struct lt_async a;

	ASSERT_EQ(0, lt_client(self->f.name, -1, true, &a.cl));
	ASSERT_EQ(0, lt_async_start(&a, a.cl, OP_DEFER));
	wait_deferred(&self->f.ds, 1);
	fastipc_deferred_drop(self->f.ds.d[0]);
	EXPECT_EQ(0, lt_async_join(&a));
	rep = a.rep;
	EXPECT_EQ(-ECANCELED, rep.status);
	EXPECT_EQ(0, rep.len);
	fastipc_client_close(a.cl);
}

/* Tells the parent, through @fd, and waits for its byte on @back. */
static void child_sync(int fd, int back)
{
	char c = 'k';

	CHILD_CHECK(write(fd, &c, 1) == 1);
	CHILD_CHECK(read(back, &c, 1) == 1);
}

static int one_ring_op(struct fastipc_client *cl, bool call)
{
	struct fastipc_completion comp;
	struct fastipc_ring *ring;
	int ret;

	ret = fastipc_ring_create(0, 0, &ring);
	if (ret)
		return ret;
	if (call)
		ret = fastipc_ring_prep_call(ring, cl, OP_ECHO, "x", 1, 1);
	else
		ret = fastipc_ring_prep_send(ring, cl, OP_NOTE, "x", 1, 0, 1);
	if (!ret)
		ret = fastipc_ring_reap(ring, &comp, 1, 1, 0);
	if (ret == 1)
		ret = comp.result;
	fastipc_ring_destroy(ring);
	return ret;
}

TEST_F(defer, a_dead_peer_is_epipe_in_every_client_api)
{
	int to_parent[2], to_child[2];
	bool uring = lt_have_uring();
	struct fastipc_reply rep;
	struct fastipc_client *cl;
	char buf[8], c;
	pid_t pid;

	ASSERT_EQ(0, pipe(to_parent));
	ASSERT_EQ(0, pipe(to_child));
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		child_forget(&self->f);
		CHILD_CHECK(lt_client(self->f.name, -1, false, &cl) == 0);
		child_sync(to_parent[1], to_child[0]);
		CHILD_CHECK(fastipc_call(cl, OP_ECHO, "x", 1, &rep, 0) == -EPIPE);
		CHILD_CHECK(fastipc_call_copy(cl, OP_ECHO, "x", 1, buf, sizeof(buf), &rep, 0) ==
			    -EPIPE);
		CHILD_CHECK(fastipc_send(cl, OP_NOTE, "x", 1, 0) == -EPIPE);
		CHILD_CHECK(fastipc_send(cl, OP_NOTE, "x", 1, FASTIPC_SEND_WAIT) == -EPIPE);
		if (uring) {
			CHILD_CHECK(one_ring_op(cl, true) == -EPIPE);
			CHILD_CHECK(one_ring_op(cl, false) == -EPIPE);
		}
		_exit(0);
	}
	ASSERT_EQ(1, read(to_parent[0], &c, 1));
	fastipc_server_destroy(self->f.srv);
	self->f.srv = NULL;
	ASSERT_EQ(1, write(to_child[1], &c, 1));
	EXPECT_EQ(0, fipc_reap(pid));
	close(to_parent[0]);
	close(to_parent[1]);
	close(to_child[0]);
	close(to_child[1]);
}

/* One-way sends on @cl until one fails: how many went, with the error in @err. */
static int send_until_refused(struct fastipc_client *cl, int max, int *err)
{
	int n;

	for (n = 0; n < max; n++) {
		*err = fastipc_send(cl, OP_NOTE, NULL, 0, 0);
		if (*err)
			break;
	}
	return n;
}

TEST(a_full_queue_is_eagain_and_an_exhausted_quota_edquot)
{
	struct fastipc_server_params small = { .slot_size = 64, .nslots = 4 };
	struct fastipc_server_params big = { .slot_size = 64, .nslots = FASTIPC_MAX_SLOTS };
	struct fastipc_server *full, *wide;
	struct fastipc_client *cf, *cw;
	bool uring = lt_have_uring();
	int n, err, ret;
	pid_t pid;

	ASSERT_EQ(0, fastipc_server_create(&small, &full));
	ASSERT_EQ(0, fastipc_server_create(&big, &wide));
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		CHILD_CHECK(lt_client(NULL, fastipc_server_fd(full), false, &cf) == 0);
		CHILD_CHECK(lt_client(NULL, fastipc_server_fd(wide), false, &cw) == 0);
		fastipc_server_destroy(full);
		fastipc_server_destroy(wide);
		/* Two one-way slots of four, then the endpoint is full. */
		n = send_until_refused(cf, 8, &err);
		CHILD_CHECK(n == 2 && err == -EAGAIN);
		if (uring)
			CHILD_CHECK(one_ring_op(cf, false) == -EAGAIN);
		/*
		 * 512 one-way slots, but the sender's quota there is smaller
		 * (max_oneway_per_sender, 256 unless changed).
		 */
		n = send_until_refused(cw, FASTIPC_MAX_SLOTS, &err);
		if (err == -EAGAIN && n == (FASTIPC_MAX_SLOTS + 1) / 2)
			_exit(4);
		if (err != -EDQUOT)
			fprintf(stderr, "# %d sent, then %d\n", n, err);
		CHILD_CHECK(n > 0 && err == -EDQUOT);
		if (uring)
			CHILD_CHECK(one_ring_op(cw, false) == -EDQUOT);
		_exit(0);
	}
	ret = fipc_reap(pid);
	fastipc_server_destroy(full);
	fastipc_server_destroy(wide);
	if (ret == 4)
		SKIP(return, "max_oneway_per_sender is not below an endpoint's one-way share");
	EXPECT_EQ(0, ret);
}

/*
 * Signals: the child calls OP_SIG, whose first run blocks; the parent
 * signals the child once the handler runs, waits for the child's signal
 * handler to have run (the call was interrupted then), and lets the first
 * run return. The call is made again (the second run answers 2), restarted
 * by the kernel (the first run answers 1), or fails with -EINTR.
 */
static int sig_fd = -1;

static void on_signal(int sig)
{
	char c = 's';

	(void)sig;
	if (write(sig_fd, &c, 1) != 1)
		_exit(3);
}

/*
 * The child calls with @client_flags, its handler of SIGUSR1 installed with
 * @sa_flags; its call must end with @expect, a status or a -errno.
 */
static void interrupted_call(struct __test_metadata *_metadata, struct dfix *f, int sa_flags,
			     uint32_t client_flags, int expect)
{
	struct fastipc_client_params p = {
		.reply_size = LT_REPLY,
		.flags = FASTIPC_CLIENT_NO_SHORT_CIRCUIT | client_flags,
	};
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = sa_flags };
	struct fastipc_reply rep;
	struct fastipc_client *cl;
	int sigpipe[2], ret;
	eventfd_t v;
	char c;
	pid_t pid;

	ASSERT_EQ(0, pipe(sigpipe));
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		sig_fd = sigpipe[1];
		child_forget(f);
		CHILD_CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
		CHILD_CHECK(fastipc_client_connect_name(f->name, &p, &cl) == 0);
		ret = fastipc_call(cl, OP_SIG, NULL, 0, &rep, 0);
		if (!ret)
			ret = rep.status;
		if (ret != expect)
			fprintf(stderr, "# the call gave %d\n", ret);
		CHILD_CHECK(ret == expect);
		_exit(0);
	}
	ASSERT_EQ(0, fastipc_server_start(f->srv, 1));
	eventfd_read(f->ds.entered, &v);
	ASSERT_EQ(0, kill(pid, SIGUSR1));
	ASSERT_EQ(1, read(sigpipe[0], &c, 1));
	eventfd_write(f->ds.release, 1);
	EXPECT_EQ(0, fipc_reap(pid));
	EXPECT_EQ(expect == 2 ? 2 : 1, f->ds.sig_calls);
	close(sigpipe[0]);
	close(sigpipe[1]);
}


TEST_F(defer, a_call_a_signal_handler_interrupts_is_made_again)
{
	interrupted_call(_metadata, &self->f, 0, 0, 2);
}

TEST_F(defer, a_call_a_signal_handler_interrupts_fails_with_eintr_if_the_client_asks)
{
	interrupted_call(_metadata, &self->f, 0, FASTIPC_CLIENT_EINTR, -EINTR);
}

TEST_F(defer, a_call_an_sa_restart_handler_interrupts_is_restarted_by_the_kernel)
{
	interrupted_call(_metadata, &self->f, SA_RESTART, FASTIPC_CLIENT_EINTR, 1);
}

/*
 * Within Debian's default 8 MiB RLIMIT_MEMLOCK, as an unprivileged user
 * whose pins count: a server of the defaults on 4 threads, and a client of
 * the defaults with a call of its own and 64 calls in flight on a ring. The
 * client's reply room follows the max_reply CONNECT reports (the server's
 * reply_size, 4 KiB here), not a 64 KiB guess per call.
 */
#define DEFAULT_MEMLOCK	(8U << 20)
#define IN_FLIGHT	64

static void limited_user(void)
{
	struct rlimit rl = { DEFAULT_MEMLOCK, DEFAULT_MEMLOCK };

	CHILD_CHECK(setrlimit(RLIMIT_MEMLOCK, &rl) == 0);
	CHILD_CHECK(fipc_drop_privs(FIPC_NOBODY, FIPC_NOBODY) == 0);
}

static void limited_client(const char *name)
{
	struct fastipc_completion comps[IN_FLIGHT];
	struct fastipc_endpoint_info info;
	struct fastipc_client *cl;
	struct fastipc_ring *ring;
	struct fastipc_reply rep;
	char req[IN_FLIGHT][16];
	int i, n, got = 0;

	limited_user();
	CHILD_CHECK(fastipc_client_connect_name(name, NULL, &cl) == 0);
	fastipc_client_endpoint(cl, &info);
	CHILD_CHECK(info.max_reply == FASTIPC_DEFAULT_SLOT_SIZE);
	CHILD_CHECK(fastipc_call(cl, OP_ECHO, "x", 1, &rep, 0) == 0 && rep.len == 1);
	CHILD_CHECK(fastipc_ring_create(0, 0, &ring) == 0);
	for (i = 0; i < IN_FLIGHT; i++) {
		fipc_fill(req[i], sizeof(req[i]), i);
		CHILD_CHECK(fastipc_ring_prep_call(ring, cl, OP_ECHO, req[i], sizeof(req[i]), i) == 0);
	}
	while (got < IN_FLIGHT) {
		n = fastipc_ring_reap(ring, comps, IN_FLIGHT, IN_FLIGHT - got, 0);
		CHILD_CHECK(n > 0);
		for (i = 0; i < n; i++) {
			CHILD_CHECK(comps[i].result == 0 && comps[i].len == sizeof(req[0]));
			CHILD_CHECK(fipc_check(comps[i].data, comps[i].len, comps[i].user_data));
		}
		got += n;
	}
	fastipc_ring_destroy(ring);
	fastipc_client_close(cl);
	_exit(0);
}

TEST(a_default_server_and_client_fit_the_default_memlock_limit)
{
	struct fastipc_server_params params = { 0 };
	struct fastipc_server *srv;
	char name[FASTIPC_NAME_MAX];
	int ready[2], done[2];
	struct lt_state st;
	pid_t server, client;
	char c;

	if (!lt_have_uring())
		SKIP(return, "the module lacks FASTIPC_F_URING");
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(done));
	lt_name(name, sizeof(name), "memlock");
	server = fipc_fork();
	ASSERT_LE(0, server);
	if (server == 0) {
		limited_user();
		CHILD_CHECK(lt_state_init(&st) == 0);
		params.name = name;
		CHILD_CHECK(fastipc_server_create(&params, &srv) == 0);
		CHILD_CHECK(fastipc_server_set_handler(srv, OP_ECHO, lt_handle, &st) == 0);
		CHILD_CHECK(fastipc_server_start(srv, 4) == 0);
		CHILD_CHECK(write(ready[1], "k", 1) == 1);
		CHILD_CHECK(read(done[0], &c, 1) == 1);
		fastipc_server_destroy(srv);
		_exit(0);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	client = fipc_fork();
	ASSERT_LE(0, client);
	if (client == 0)
		limited_client(name);
	EXPECT_EQ(0, fipc_reap(client));
	ASSERT_EQ(1, write(done[1], "k", 1));
	EXPECT_EQ(0, fipc_reap(server));
	close(ready[0]);
	close(ready[1]);
	close(done[0]);
	close(done[1]);
}

TEST_HARNESS_MAIN
