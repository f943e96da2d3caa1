/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the fastipc selftests: thin wrappers around the ioctls
 * (each returns 0 or a value >= 0 on success, -errno on failure and never
 * asserts), endpoint and client set-up, and process/thread synchronisation.
 * The raw ioctl wrapper, the clock and the payload pattern are the bench's
 * too: common/fastipc_common.h.
 */
#ifndef FASTIPC_UTIL_H
#define FASTIPC_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/fastipc.h>

#include "fastipc_common.h"

#define FIPC_NOBODY	65534

/* A new port, or -errno. */
static inline int fipc_open(void)
{
	int fd = open("/dev/fastipc", O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* Anonymous read-write memory, or NULL. */
static inline void *fipc_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* The new buffer's id, or -errno. */
static inline int fipc_buf_register(int fd, const void *addr, uint64_t len)
{
	struct fastipc_buf_register reg = { .addr = (uintptr_t)addr, .len = len };
	int ret = fipc_ioctl(fd, FASTIPC_IOC_BUF_REGISTER, &reg);

	return ret ? ret : (int)reg.id;
}

static inline int fipc_buf_unregister(int fd, uint32_t id)
{
	struct fastipc_buf_unregister unreg = { .id = id };

	return fipc_ioctl(fd, FASTIPC_IOC_BUF_UNREGISTER, &unreg);
}

static inline void fipc_set_name(__u8 *dst, const char *name)
{
	size_t len = name ? strlen(name) : 0;

	memset(dst, 0, FASTIPC_NAME_MAX);
	if (len)
		memcpy(dst, name, len < FASTIPC_NAME_MAX ? len : FASTIPC_NAME_MAX);
}

/*
 * Makes @fd an endpoint (named when @name is not NULL) with @flags and
 * @max_reply. The tests' endpoints take forwarded calls and any reply unless
 * a test says otherwise.
 */
static inline int fipc_ep_create_flags(int fd, uint32_t flags, uint32_t max_reply,
				       const char *name, uint32_t mode, uint32_t pool_buf,
				       uint64_t pool_offset, uint32_t slot_size, uint32_t nslots)
{
	struct fastipc_ep_create ep = {
		.flags = flags | (name ? FASTIPC_EP_NAMED : 0),
		.max_reply = max_reply,
		.mode = mode,
		.pool_buf = pool_buf,
		.pool_offset = pool_offset,
		.slot_size = slot_size,
		.nslots = nslots,
	};

	fipc_set_name(ep.name, name);
	return fipc_ioctl(fd, FASTIPC_IOC_EP_CREATE, &ep);
}

static inline int fipc_ep_create(int fd, const char *name, uint32_t mode, uint32_t pool_buf,
				 uint64_t pool_offset, uint32_t slot_size, uint32_t nslots)
{
	return fipc_ep_create_flags(fd, FASTIPC_EP_ACCEPT_FORWARDS, 0, name, mode, pool_buf,
				    pool_offset, slot_size, nslots);
}

static inline int fipc_connect_fd(int fd, int ep_fd)
{
	struct fastipc_connect conn = { .flags = FASTIPC_CONNECT_FD, .ep_fd = ep_fd };

	return fipc_ioctl(fd, FASTIPC_IOC_CONNECT, &conn);
}

static inline int fipc_connect_name(int fd, const char *name)
{
	struct fastipc_connect conn = { 0 };

	fipc_set_name(conn.name, name);
	return fipc_ioctl(fd, FASTIPC_IOC_CONNECT, &conn);
}

/* An endpoint port with its receive pool: pool_off bytes, then the slots. */
struct fipc_ep {
	int fd;
	uint8_t *pool;
	size_t pool_len;
	uint32_t pool_off;
	uint32_t pool_id;
	uint32_t slot_size;
	uint32_t nslots;
};

static inline void fipc_ep_close(struct fipc_ep *ep)
{
	if (ep->fd >= 0)
		close(ep->fd);
	if (ep->pool)
		munmap(ep->pool, ep->pool_len);
	ep->fd = -1;
	ep->pool = NULL;
}

/* Opens a port and makes it an endpoint with @flags; @ep->fd is -1 on failure. */
static inline int fipc_ep_open_flags(struct fipc_ep *ep, uint32_t flags, uint32_t max_reply,
				     const char *name, uint32_t mode, uint32_t slot_size,
				     uint32_t nslots)
{
	int ret;

	memset(ep, 0, sizeof(*ep));
	ep->pool_off = 64;
	ep->slot_size = slot_size;
	ep->nslots = nslots;
	ep->pool_len = ep->pool_off + (size_t)slot_size * nslots;
	ep->fd = fipc_open();
	if (ep->fd < 0)
		return ep->fd;
	ep->pool = fipc_map(ep->pool_len);
	ret = -ENOMEM;
	if (!ep->pool)
		goto fail;
	ret = fipc_buf_register(ep->fd, ep->pool, ep->pool_len);
	if (ret < 0)
		goto fail;
	ep->pool_id = ret;
	ret = fipc_ep_create_flags(ep->fd, flags, max_reply, name, mode, ep->pool_id,
				   ep->pool_off, slot_size, nslots);
	if (ret)
		goto fail;
	return 0;
fail:
	fipc_ep_close(ep);
	return ret;
}

static inline int fipc_ep_open(struct fipc_ep *ep, const char *name, uint32_t mode,
			       uint32_t slot_size, uint32_t nslots)
{
	return fipc_ep_open_flags(ep, FASTIPC_EP_ACCEPT_FORWARDS, 0, name, mode, slot_size,
				  nslots);
}

/* A client port with a registered reply buffer. */
struct fipc_client {
	int fd;
	uint32_t buf_id;
	uint8_t *buf;
	size_t buf_len;
};

static inline void fipc_client_close(struct fipc_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	if (c->buf)
		munmap(c->buf, c->buf_len);
	c->fd = -1;
	c->buf = NULL;
}

/*
 * Opens a port with a @buf_len reply buffer and connects it to the endpoint
 * behind @ep_fd, or to @name when @ep_fd < 0. @c->fd is -1 on failure.
 */
static inline int fipc_client_open(struct fipc_client *c, int ep_fd, const char *name,
				   size_t buf_len)
{
	int ret;

	memset(c, 0, sizeof(*c));
	c->buf_len = buf_len;
	c->fd = fipc_open();
	if (c->fd < 0)
		return c->fd;
	c->buf = fipc_map(buf_len);
	ret = -ENOMEM;
	if (!c->buf)
		goto fail;
	ret = fipc_buf_register(c->fd, c->buf, buf_len);
	if (ret < 0)
		goto fail;
	c->buf_id = ret;
	ret = ep_fd >= 0 ? fipc_connect_fd(c->fd, ep_fd) : fipc_connect_name(c->fd, name);
	if (ret)
		goto fail;
	return 0;
fail:
	fipc_client_close(c);
	return ret;
}

/* Arguments for a call whose reply goes to the start of @c's buffer. */
static inline struct fastipc_call fipc_call_args(const struct fipc_client *c, uint32_t opcode,
						 const void *req, uint32_t len,
						 uint64_t timeout_ns)
{
	struct fastipc_call call = {
		.opcode = opcode,
		.req_addr = (uintptr_t)req,
		.req_len = len,
		.reply_buf = c->buf_id,
		.reply_cap = c->buf_len,
		.timeout_ns = timeout_ns,
	};

	return call;
}

/* A call on @c; @out (may be NULL) gets the status and reply length. */
static inline int fipc_call(struct fipc_client *c, uint32_t opcode, const void *req,
			    uint32_t len, uint64_t timeout_ns, struct fastipc_call *out)
{
	struct fastipc_call call = fipc_call_args(c, opcode, req, len, timeout_ns);
	int ret = fipc_ioctl(c->fd, FASTIPC_IOC_CALL, &call);

	if (out)
		*out = call;
	return ret;
}

/*
 * A fastipc ioctl made by a thread of its own, so that the test can act while
 * it is blocked: @done becomes readable (an eventfd) when it returns, and
 * @ret is then its result, 0 or -errno. The ioctl's argument is @arg: for a
 * call or a send started by fipc_async_call() or fipc_async_send() it is
 * @call or @send here, for others one the test owns.
 */
struct fipc_async {
	union {
		struct fastipc_call call;
		struct fastipc_send send;
	};
	unsigned long cmd;
	void *arg;
	int fd;
	int ret;
	int done;
	pid_t tid;
	pthread_t thread;
};

static void *fipc_async_fn(void *arg)
{
	struct fipc_async *a = arg;

	__atomic_store_n(&a->tid, gettid(), __ATOMIC_SEQ_CST);
	a->ret = fipc_ioctl(a->fd, a->cmd, a->arg);
	eventfd_write(a->done, 1);
	return NULL;
}

/*
 * Starts ioctl @cmd on @fd with @arg in a new thread: 0 or -errno. Leaves
 * @a->call and @a->send as they are, so @arg may point to them.
 */
static inline int fipc_async_ioctl(struct fipc_async *a, int fd, unsigned long cmd, void *arg)
{
	a->fd = fd;
	a->cmd = cmd;
	a->arg = arg;
	a->ret = -EINPROGRESS;
	a->tid = 0;
	a->done = eventfd(0, EFD_CLOEXEC);
	if (a->done < 0)
		return -errno;
	errno = pthread_create(&a->thread, NULL, fipc_async_fn, a);
	if (errno) {
		close(a->done);
		return -errno;
	}
	return 0;
}

/* Starts FASTIPC_IOC_CALL on a copy of @call, in @a->call. */
static inline int fipc_async_start(struct fipc_async *a, int fd, const struct fastipc_call *call)
{
	memset(a, 0, sizeof(*a));
	a->call = *call;
	return fipc_async_ioctl(a, fd, FASTIPC_IOC_CALL, &a->call);
}

/* Starts a send like fipc_send() in a new thread, its argument in @a->send. */
static inline int fipc_async_send(struct fipc_async *a, int fd, uint32_t flags, uint32_t opcode,
				  const void *buf, uint32_t len)
{
	memset(a, 0, sizeof(*a));
	a->send = (struct fastipc_send){
		.flags = flags, .opcode = opcode, .addr = (uintptr_t)buf, .len = len,
	};
	return fipc_async_ioctl(a, fd, FASTIPC_IOC_SEND, &a->send);
}

/* Starts a call like fipc_call() in a new thread. */
static inline int fipc_async_call(struct fipc_async *a, struct fipc_client *c, uint32_t opcode,
				  const void *req, uint32_t len, uint64_t timeout_ns)
{
	struct fastipc_call call = fipc_call_args(c, opcode, req, len, timeout_ns);

	return fipc_async_start(a, c->fd, &call);
}

static inline pid_t fipc_async_tid(struct fipc_async *a)
{
	pid_t tid;

	while (!(tid = __atomic_load_n(&a->tid, __ATOMIC_SEQ_CST)))
		sched_yield();
	return tid;
}

static inline bool fipc_async_done(struct fipc_async *a)
{
	struct pollfd pfd = { .fd = a->done, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1;
}

/* Waits for the ioctl to return: its result, 0 or -errno. */
static inline int fipc_async_join(struct fipc_async *a)
{
	pthread_join(a->thread, NULL);
	close(a->done);
	return a->ret;
}

/* The events poll() reports on @fd right now. */
static inline short fipc_revents(int fd, short events)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	return poll(&pfd, 1, 0) == 1 ? pfd.revents : 0;
}

static inline int fipc_send(int fd, uint32_t flags, uint32_t opcode, const void *buf,
			    uint32_t len)
{
	struct fastipc_send send = {
		.flags = flags, .opcode = opcode, .addr = (uintptr_t)buf, .len = len,
	};

	return fipc_ioctl(fd, FASTIPC_IOC_SEND, &send);
}

/*
 * FASTIPC_IOC_SERVE: with FASTIPC_SERVE_REPLY answers @token with @status and
 * @reply; the received message, if any, lands in @msg (which may be NULL).
 */
static inline int fipc_serve(int fd, uint32_t flags, uint64_t token, int32_t status,
			     const void *reply, uint32_t len, struct fastipc_serve *msg)
{
	struct fastipc_serve s = {
		.flags = flags,
		.reply_token = token,
		.reply_status = status,
		.reply_addr = (uintptr_t)reply,
		.reply_len = len,
	};
	int ret = fipc_ioctl(fd, FASTIPC_IOC_SERVE, &s);

	if (msg)
		*msg = s;
	return ret;
}

static inline int fipc_recv(int fd, struct fastipc_serve *msg)
{
	return fipc_serve(fd, FASTIPC_SERVE_RECV, 0, 0, NULL, 0, msg);
}

static inline int fipc_recv_nonblock(int fd, struct fastipc_serve *msg)
{
	return fipc_serve(fd, FASTIPC_SERVE_RECV | FASTIPC_SERVE_NONBLOCK, 0, 0, NULL, 0, msg);
}

static inline int fipc_reply(int fd, uint64_t token, int32_t status, const void *reply,
			     uint32_t len)
{
	return fipc_serve(fd, FASTIPC_SERVE_REPLY, token, status, reply, len, NULL);
}

static inline int fipc_forward(int fd, int target_fd, uint64_t token, uint32_t opcode,
			       const void *buf, uint32_t len)
{
	struct fastipc_forward fwd = {
		.target_fd = target_fd, .token = token, .opcode = opcode,
		.addr = (uintptr_t)buf, .len = len,
	};

	return fipc_ioctl(fd, FASTIPC_IOC_FORWARD, &fwd);
}

/*
 * fork() for a helper process that must not outlive the test: it is killed
 * if the test process dies (e.g. on a failed ASSERT or the harness timeout).
 * Only call it from the test's main thread.
 */
static inline pid_t fipc_fork(void)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(99);
	}
	return pid;
}

/* Reaps @pid: its exit status, 128 + signal if killed, or -errno. */
static inline int fipc_reap(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* In a helper process: report a failed check and exit with status 1. */
#define CHILD_CHECK(cond) do {							\
	if (!(cond)) {								\
		fprintf(stderr, "# %s:%d: child check failed: %s (errno %d)\n",	\
			__FILE__, __LINE__, #cond, errno);			\
		_exit(1);							\
	}									\
} while (0)

/*
 * Drops every privilege: no supplementary groups, then @gid and @uid. The
 * credential change clears the parent-death signal, so it is set again.
 */
static inline int fipc_drop_privs(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid))
		return -errno;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	return 0;
}

static inline int fipc_read_task_file(pid_t tid, const char *file, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/%s", tid, tid, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

/*
 * 1 if thread (or single-threaded child process) @tid sleeps inside system
 * call @nr (any system call if @nr is -1) now, 0 if not, or -errno.
 */
static inline int fipc_blocked_in(pid_t tid, long nr)
{
	char buf[512];
	const char *state;
	int ret;

	ret = fipc_read_task_file(tid, "syscall", buf, sizeof(buf));
	if (ret)
		return ret;
	if (buf[0] == 'r' || strtol(buf, NULL, 10) < 0 ||
	    (nr >= 0 && strtol(buf, NULL, 10) != nr))
		return 0;
	ret = fipc_read_task_file(tid, "stat", buf, sizeof(buf));
	if (ret)
		return ret;
	state = strrchr(buf, ')');
	return state && state[2] == 'S';
}

/*
 * Waits until @tid sleeps inside system call @nr: that is how tests know a
 * caller is blocked in the module without sleeping themselves. The harness
 * timeout bounds the wait.
 */
static inline int fipc_wait_blocked_in(pid_t tid, long nr)
{
	int ret;

	while (!(ret = fipc_blocked_in(tid, nr)))
		sched_yield();
	return ret < 0 ? ret : 0;
}

static inline int fipc_wait_blocked_in_ioctl(pid_t tid)
{
	return fipc_wait_blocked_in(tid, SYS_ioctl);
}

/* Waits until the async ioctl's thread sleeps in the module. */
static inline int fipc_async_wait_blocked(struct fipc_async *a)
{
	return fipc_wait_blocked_in_ioctl(fipc_async_tid(a));
}

#endif /* FASTIPC_UTIL_H */
