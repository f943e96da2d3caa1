// SPDX-License-Identifier: GPL-2.0
/*
 * The example programs of lib/examples/ (built into build/user/lib/examples/)
 * and the example of Documentation/libfastipc.rst, run as their users would.
 */
#include "libfastipc_test.h"

#include <libgen.h>
#include <limits.h>

#include "examples/evloop.h"

#include "kselftest_harness.h"

/* A program running with its standard input and output on pipes. */
struct proc {
	pid_t pid;
	int in;
	FILE *out;
};

static void example_path(char *buf, size_t len, const char *prog)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	exe[n > 0 ? n : 0] = 0;
	snprintf(buf, len, "%s/../lib/examples/%s", dirname(exe), prog);
}

/* Starts example @prog with the NULL-terminated arguments after it. */
static int spawn(struct proc *p, const char *prog, ...)
{
	char *argv[16], path[PATH_MAX];
	int in[2], out[2], argc = 1;
	va_list ap;

	example_path(path, sizeof(path), prog);
	argv[0] = path;
	va_start(ap, prog);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		return -errno;
	p->pid = fipc_fork();
	if (p->pid < 0)
		return -errno;
	if (p->pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		execv(path, argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	p->in = in[1];
	p->out = fdopen(out[0], "r");
	return p->out ? 0 : -errno;
}

/* The next line @p prints, without its newline, or "" at the end. */
static const char *next_line(struct proc *p, char *buf, size_t len)
{
	if (!fgets(buf, len, p->out))
		buf[0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

/* Closes its input, then waits for it: its exit status. */
static int finish(struct proc *p)
{
	if (p->in >= 0)
		close(p->in);
	p->in = -1;
	fclose(p->out);
	return fipc_reap(p->pid);
}

/*
 * Starts echo_server on a name of its own, then has echo_client make @count
 * calls and, with @quit, tell it to quit. Returns 0 when all went as said.
 */
static int echo_session(struct proc *srv, const char *count, bool quit)
{
	char name[FASTIPC_NAME_MAX], line[128], ok[64];
	struct proc cl;
	int ret;

	lt_name(name, sizeof(name), "echo");
	ret = spawn(srv, "echo_server", "-n", name, "-t", "3", NULL);
	if (ret)
		return ret;
	if (strcmp("ready", next_line(srv, line, sizeof(line))))
		return -EPROTO;
	ret = spawn(&cl, "echo_client", "-n", name, "-c", count, quit ? "-q" : NULL, NULL);
	if (ret)
		return ret;
	snprintf(ok, sizeof(ok), "ok %s", count);
	if (strcmp(ok, next_line(&cl, line, sizeof(line))))
		ret = -EPROTO;
	return finish(&cl) ? -EPROTO : ret;
}

TEST(echo_client_and_server_talk_and_quit)
{
	char line[128];
	struct proc srv;

	ASSERT_EQ(0, echo_session(&srv, "500", true));
	EXPECT_STREQ("served 500", next_line(&srv, line, sizeof(line)));
	EXPECT_EQ(0, finish(&srv));
}

TEST(echo_server_stops_cleanly_on_sigterm)
{
	char line[128];
	struct proc srv;

	ASSERT_EQ(0, echo_session(&srv, "10", false));
	ASSERT_EQ(0, kill(srv.pid, SIGTERM));
	EXPECT_STREQ("served 10", next_line(&srv, line, sizeof(line)));
	EXPECT_EQ(0, finish(&srv));
}

/* Starts echo_server on a name of its own, with one thread; @name gets it. */
static int echo_server(struct proc *srv, char *name, size_t len)
{
	char line[128];
	int ret;

	lt_name(name, len, "echo");
	ret = spawn(srv, "echo_server", "-n", name, "-t", "1", NULL);
	if (ret)
		return ret;
	return strcmp("ready", next_line(srv, line, sizeof(line))) ? -EPROTO : 0;
}

TEST(async_client_batches_calls_to_two_echo_servers)
{
	char a[FASTIPC_NAME_MAX], b[FASTIPC_NAME_MAX], line[128];
	unsigned long long features = 0;
	struct proc sa, sb, cl;
	unsigned int abi;
	int fd;

	fd = fastipc_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fastipc_version(fd, &abi, &features));
	close(fd);
	if (!(features & FASTIPC_F_URING))
		SKIP(return, "the module lacks FASTIPC_F_URING");
	ASSERT_EQ(0, echo_server(&sa, a, sizeof(a)));
	ASSERT_EQ(0, echo_server(&sb, b, sizeof(b)));
	/* Round robin over the two, in batches of 16, then -q stops both. */
	ASSERT_EQ(0, spawn(&cl, "async_client", "-c", "300", "-b", "16", "-q", a, b, NULL));
	EXPECT_STREQ("ok 300", next_line(&cl, line, sizeof(line)));
	EXPECT_EQ(0, finish(&cl));
	EXPECT_STREQ("served 150", next_line(&sa, line, sizeof(line)));
	EXPECT_STREQ("served 150", next_line(&sb, line, sizeof(line)));
	EXPECT_EQ(0, finish(&sa));
	EXPECT_EQ(0, finish(&sb));
}

static int stats(struct fastipc_client *cl, struct evloop_stats *st)
{
	struct fastipc_reply rep;
	int ret = fastipc_call_copy(cl, EVLOOP_OP_STATS, NULL, 0, st, sizeof(*st), &rep, 0);

	if (!ret && (rep.status || rep.len != sizeof(*st)))
		ret = -EPROTO;
	return ret;
}

TEST(evloop_server_serves_calls_timer_and_input_in_one_loop)
{
	char name[FASTIPC_NAME_MAX], line[128];
	struct fastipc_client *cl;
	struct evloop_stats st;
	struct proc srv;

	lt_name(name, sizeof(name), "evloop");
	ASSERT_EQ(0, spawn(&srv, "evloop_server", "-n", name, NULL));
	ASSERT_STREQ("ready", next_line(&srv, line, sizeof(line)));
	ASSERT_EQ(0, fastipc_client_connect_name(name, NULL, &cl));
	ASSERT_EQ(0, stats(cl, &st));
	EXPECT_EQ(1, st.calls);
	EXPECT_EQ(0, st.lines);
	ASSERT_EQ(6, write(srv.in, "hello\n", 6));
	EXPECT_STREQ("line 1: hello", next_line(&srv, line, sizeof(line)));
	ASSERT_EQ(0, stats(cl, &st));
	EXPECT_EQ(2, st.calls);
	EXPECT_EQ(1, st.lines);
	/* The timer ticks while calls are being served. */
	do {
		ASSERT_EQ(0, stats(cl, &st));
	} while (!st.ticks);
	ASSERT_EQ(5, write(srv.in, "quit\n", 5));
	EXPECT_EQ(0, strncmp("bye: ", next_line(&srv, line, sizeof(line)), 5));
	EXPECT_EQ(0, finish(&srv));
	fastipc_client_close(cl);
}

TEST(documentation_example_runs)
{
	char name[FASTIPC_NAME_MAX], line[128], says[128];
	struct proc srv, cl;

	lt_name(name, sizeof(name), "doc");
	ASSERT_EQ(0, spawn(&srv, "doc_example", "server", name, NULL));
	ASSERT_STREQ("ready", next_line(&srv, line, sizeof(line)));
	ASSERT_EQ(0, spawn(&cl, "doc_example", "client", name, "hello", "World", NULL));
	EXPECT_STREQ("HELLO", next_line(&cl, line, sizeof(line)));
	EXPECT_STREQ("WORLD", next_line(&cl, line, sizeof(line)));
	EXPECT_EQ(0, finish(&cl));
	snprintf(says, sizeof(says), "server: pid %d uid %d says bye", cl.pid, (int)geteuid());
	EXPECT_STREQ(says, next_line(&srv, line, sizeof(line)));
	EXPECT_EQ(0, finish(&srv));
}

TEST(documentation_example_reports_a_missing_server)
{
	char name[FASTIPC_NAME_MAX], line[128];
	struct proc cl;

	lt_name(name, sizeof(name), "nobody");
	ASSERT_EQ(0, spawn(&cl, "doc_example", "client", name, "x", NULL));
	EXPECT_STREQ("", next_line(&cl, line, sizeof(line)));
	EXPECT_EQ(1, finish(&cl));
}

TEST_HARNESS_MAIN
