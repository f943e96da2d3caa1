// SPDX-License-Identifier: GPL-2.0
/*
 * Observability: fdinfo of endpoint and client ports, the debugfs counters
 * and live-object counts, and the tracepoints firing under ftrace.
 */
#include "fastipc_util.h"

#include <stdio.h>
#include <stdlib.h>

#include "kselftest_harness.h"

#define STATS "/sys/kernel/debug/fastipc/stats"
#define TRACING "/sys/kernel/tracing"

/* Reads a whole small file into @buf; returns 0 or -errno. */
static int slurp(const char *path, char *buf, size_t len)
{
	ssize_t n, got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf + got, len - 1 - got)) > 0)
		got += n;
	close(fd);
	buf[got] = 0;
	return n < 0 ? -EIO : 0;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		ret = -errno;
	close(fd);
	return ret;
}

/* The value of "key:\t<n>" in @text, or -1. */
static long long field(const char *text, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\n%s:\t", key);
	p = strstr(text, pat);
	if (!p && !strncmp(text, pat + 1, strlen(pat + 1)))
		p = text - 1;
	return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

static long long fdinfo(int fd, const char *key)
{
	char path[64], buf[4096];

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if (slurp(path, buf, sizeof(buf)))
		return -1;
	return field(buf, key);
}

static long long stat_value(const char *key)
{
	char buf[4096];

	if (slurp(STATS, buf, sizeof(buf)))
		return -1;
	return field(buf, key);
}

FIXTURE(obs) {
	struct fipc_ep ep;
	struct fipc_client c;
};

FIXTURE_SETUP(obs)
{
	ASSERT_EQ(0, fipc_ep_open(&self->ep, "fastipc-observe", 0600, 256, 4));
	ASSERT_EQ(0, fipc_client_open(&self->c, self->ep.fd, NULL, 256));
}

FIXTURE_TEARDOWN(obs)
{
	fipc_client_close(&self->c);
	fipc_ep_close(&self->ep);
}

TEST_F(obs, fdinfo_shows_role_name_slots_and_queued_messages)
{
	char path[64], buf[4096];
	struct fastipc_serve msg;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", self->ep.fd);
	ASSERT_EQ(0, slurp(path, buf, sizeof(buf)));
	EXPECT_NE(NULL, strstr(buf, "role:\tendpoint\n"));
	EXPECT_NE(NULL, strstr(buf, "name:\tfastipc-observe\n"));
	EXPECT_NE(NULL, strstr(buf, "slots:\t4 x 256 bytes\n"));
	EXPECT_EQ((long long)self->ep.pool_len, fdinfo(self->ep.fd, "registered_bytes"));
	EXPECT_EQ(4, fdinfo(self->ep.fd, "free_slots"));
	EXPECT_EQ(0, fdinfo(self->ep.fd, "queued"));

	ASSERT_EQ(0, fipc_send(self->c.fd, 0, 7, "x", 1));
	EXPECT_EQ(1, fdinfo(self->ep.fd, "queued"));
	EXPECT_EQ(3, fdinfo(self->ep.fd, "free_slots"));
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	EXPECT_EQ(0, fdinfo(self->ep.fd, "queued"));
	EXPECT_EQ(1, fdinfo(self->ep.fd, "held"));
	ASSERT_EQ(0, fipc_reply(self->ep.fd, msg.token, 0, NULL, 0));
	EXPECT_EQ(4, fdinfo(self->ep.fd, "free_slots"));

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", self->c.fd);
	ASSERT_EQ(0, slurp(path, buf, sizeof(buf)));
	EXPECT_NE(NULL, strstr(buf, "role:\tclient\n"));
	EXPECT_EQ((long long)self->c.buf_len, fdinfo(self->c.fd, "registered_bytes"));
}

static void *receive_one(void *arg)
{
	struct fipc_ep *ep = arg;
	struct fastipc_serve msg;

	if (fipc_recv(ep->fd, &msg) == 0)
		fipc_reply(ep->fd, msg.token, 0, NULL, 0);
	return NULL;
}

TEST_F(obs, fdinfo_counts_server_threads_waiting)
{
	struct fastipc_call call;
	pthread_t thread;

	EXPECT_EQ(0, fdinfo(self->ep.fd, "waiting_threads"));
	ASSERT_EQ(0, pthread_create(&thread, NULL, receive_one, &self->ep));
	/* The fdinfo itself is what we wait on: no sleeping. */
	while (fdinfo(self->ep.fd, "waiting_threads") != 1)
		sched_yield();
	ASSERT_EQ(0, fipc_call(&self->c, 1, NULL, 0, 0, &call));
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(0, fdinfo(self->ep.fd, "waiting_threads"));
}

/*
 * A call whose thread is stopped is parked on its port until the thread
 * continues and restarts it; the parked call can be forwarded, and a reply
 * that comes meanwhile is waiting for it.
 */
TEST_F(obs, fdinfo_counts_a_stopped_callers_parked_call)
{
	struct fastipc_serve msg, fmsg;
	struct fipc_ep target;
	int status;
	pid_t pid;

	EXPECT_EQ(0, fdinfo(self->c.fd, "parked_calls"));
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct fastipc_call out;

		CHILD_CHECK(fipc_call(&self->c, 5, "stop", 4, 0, &out) == 0);
		CHILD_CHECK(out.status == 6 && out.reply_len == 2);
		_exit(0);
	}
	ASSERT_EQ(0, fipc_recv(self->ep.fd, &msg));
	ASSERT_EQ(0, fipc_wait_blocked_in_ioctl(pid));
	ASSERT_EQ(0, kill(pid, SIGSTOP));
	ASSERT_EQ(pid, waitpid(pid, &status, WUNTRACED));
	ASSERT_TRUE(WIFSTOPPED(status));
	EXPECT_EQ(1, fdinfo(self->c.fd, "parked_calls"));
	ASSERT_EQ(0, fipc_ep_open(&target, NULL, 0, 64, 1));
	ASSERT_EQ(0, fipc_forward(self->ep.fd, target.fd, msg.token, 7, "on", 2));
	ASSERT_EQ(0, fipc_recv(target.fd, &fmsg));
	EXPECT_EQ(7, fmsg.opcode);
	EXPECT_EQ(0, fipc_reply(target.fd, fmsg.token, 6, "ok", 2));
	fipc_ep_close(&target);
	ASSERT_EQ(0, kill(pid, SIGCONT));
	EXPECT_EQ(0, fipc_reap(pid));
	EXPECT_EQ(0, fdinfo(self->c.fd, "parked_calls"));
	/* The reply room is the registering process's memory: ours. */
	EXPECT_EQ(0, memcmp(self->c.buf, "ok", 2));
}

TEST_F(obs, counters_count_each_call_and_reply)
{
	long long calls, replies, bytes;
	struct fastipc_call call;
	pthread_t thread;
	char payload[100] = "";
	int i;

	calls = stat_value("calls");
	if (calls < 0)
		SKIP(return, "no debugfs at " STATS);
	replies = stat_value("replies");
	bytes = stat_value("bytes");
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, pthread_create(&thread, NULL, receive_one, &self->ep));
		ASSERT_EQ(0, fipc_call(&self->c, 1, payload, sizeof(payload), 0, &call));
		ASSERT_EQ(0, pthread_join(thread, NULL));
	}
	EXPECT_EQ(calls + 3, stat_value("calls"));
	EXPECT_EQ(replies + 3, stat_value("replies"));
	EXPECT_EQ(bytes + 3 * sizeof(payload), stat_value("bytes"));
}

TEST_F(obs, errors_are_counted)
{
	long long errors = stat_value("errors");

	if (errors < 0)
		SKIP(return, "no debugfs at " STATS);
	EXPECT_EQ(-ENOENT, fipc_reply(self->ep.fd, 12345, 0, NULL, 0));
	EXPECT_EQ(-EBADFD, fipc_reply(self->c.fd, 12345, 0, NULL, 0));
	EXPECT_EQ(errors + 2, stat_value("errors"));
}

TEST(live_objects_return_to_their_count_after_close)
{
	long long ports = stat_value("live_ports");
	long long eps = stat_value("live_endpoints");
	long long bufs = stat_value("live_buffers");
	struct fipc_ep ep;

	if (ports < 0)
		SKIP(return, "no debugfs at " STATS);
	ASSERT_EQ(0, fipc_ep_open(&ep, NULL, 0, 64, 1));
	EXPECT_EQ(ports + 1, stat_value("live_ports"));
	EXPECT_EQ(eps + 1, stat_value("live_endpoints"));
	EXPECT_EQ(bufs + 1, stat_value("live_buffers"));
	fipc_ep_close(&ep);
	EXPECT_EQ(ports, stat_value("live_ports"));
	EXPECT_EQ(eps, stat_value("live_endpoints"));
	EXPECT_EQ(bufs, stat_value("live_buffers"));
}

TEST_F(obs, tracepoints_fire_for_call_receive_reply_send_and_error)
{
	static char trace[1 << 16];
	struct fastipc_call call;
	pthread_t thread;

	if (access(TRACING "/events/fastipc/enable", W_OK))
		SKIP(return, "no fastipc events in tracefs");
	ASSERT_EQ(0, write_file(TRACING "/trace", ""));
	ASSERT_EQ(0, write_file(TRACING "/events/fastipc/enable", "1"));
	ASSERT_EQ(0, pthread_create(&thread, NULL, receive_one, &self->ep));
	ASSERT_EQ(0, fipc_call(&self->c, 42, "abc", 3, 0, &call));
	ASSERT_EQ(0, pthread_join(thread, NULL));
	ASSERT_EQ(0, fipc_send(self->c.fd, 0, 43, NULL, 0));
	EXPECT_EQ(-ENOENT, fipc_reply(self->ep.fd, 12345, 0, NULL, 0));
	ASSERT_EQ(0, write_file(TRACING "/events/fastipc/enable", "0"));

	ASSERT_EQ(0, slurp(TRACING "/trace", trace, sizeof(trace)));
	EXPECT_NE(NULL, strstr(trace, "fastipc_call: ")) TH_LOG("%s", trace);
	EXPECT_NE(NULL, strstr(trace, "opcode=42 len=3"));
	EXPECT_NE(NULL, strstr(trace, "fastipc_receive: "));
	EXPECT_NE(NULL, strstr(trace, "fastipc_reply: "));
	EXPECT_NE(NULL, strstr(trace, "fastipc_send: "));
	EXPECT_NE(NULL, strstr(trace, "err=-2"));
}

TEST_HARNESS_MAIN
