// SPDX-License-Identifier: GPL-2.0
/*
 * The same-process short circuit: when it applies, how each switch turns it
 * off, and that the handler cannot tell the difference where the device path
 * would behave the same.
 */
#include "libfastipc_test.h"

#include <sys/syscall.h>

#include "kselftest_harness.h"

/*
 * With LT_PROBE set, this program only reports whether a client of a server
 * of its own is short-circuited (exit 10) or not (exit 11), before main():
 * that is how the tests see what FASTIPC_SHORT_CIRCUIT does to a fresh process.
 */
__attribute__((constructor)) static void probe(void)
{
	struct fastipc_server_params p = { .name = getenv("LT_PROBE") };
	struct fastipc_server *srv;
	struct fastipc_client *cl;

	if (!p.name)
		return;
	if (fastipc_server_create(&p, &srv) || fastipc_client_connect_name(p.name, NULL, &cl))
		_exit(1);
	_exit(fastipc_client_is_local(cl) ? 10 : 11);
}

static int run_probe(const char *env)
{
	char name[FASTIPC_NAME_MAX], var[128];
	pid_t pid;

	lt_name(name, sizeof(name), "probe");
	snprintf(var, sizeof(var), "LT_PROBE=%s", name);
	pid = fipc_fork();
	if (pid == 0) {
		char *envp[] = { var, (char *)env, NULL };

		execle("/proc/self/exe", "probe", (char *)NULL, envp);
		_exit(2);
	}
	return pid < 0 ? -errno : fipc_reap(pid);
}

TEST(environment_variable_turns_the_short_circuit_off)
{
	EXPECT_EQ(10, run_probe(NULL));
	EXPECT_EQ(10, run_probe("FASTIPC_SHORT_CIRCUIT=1"));
	EXPECT_EQ(11, run_probe("FASTIPC_SHORT_CIRCUIT=0"));
}

FIXTURE(local) {
	struct lt_state st;
	struct fastipc_server *srv;
	char name[FASTIPC_NAME_MAX];
};

FIXTURE_SETUP(local)
{
	ASSERT_EQ(0, lt_state_init(&self->st));
	lt_name(self->name, sizeof(self->name), "local");
	ASSERT_EQ(0, lt_server(&self->st, self->name, &self->srv));
}

FIXTURE_TEARDOWN(local)
{
	fastipc_server_destroy(self->srv);
	lt_state_fini(&self->st);
}

TEST_F(local, short_circuited_call_runs_the_handler_on_the_callers_thread)
{
	struct fastipc_client *cl;
	struct lt_info info;
	char req[16];

	/* No thread serves: only the short circuit can answer. */
	ASSERT_EQ(0, lt_client(self->name, -1, true, &cl));
	ASSERT_TRUE(fastipc_client_is_local(cl));
	ASSERT_EQ(0, lt_info(cl, req, sizeof(req), &info));
	EXPECT_EQ(gettid(), info.tid);
	EXPECT_EQ(getpid(), info.pid);
	EXPECT_EQ(geteuid(), info.uid);
	EXPECT_EQ(getegid(), info.gid);
	/* No copy of the request: the handler reads the caller's bytes. */
	EXPECT_EQ((uintptr_t)req, info.data);
	EXPECT_EQ(LT_REPLY, info.reply_cap);
	fastipc_client_close(cl);
}

TEST_F(local, an_anonymous_server_is_short_circuited_by_fd)
{
	struct fastipc_server *anon;
	struct fastipc_client *cl;
	struct lt_info info;

	ASSERT_EQ(0, lt_server(&self->st, NULL, &anon));
	ASSERT_EQ(0, lt_client(NULL, fastipc_server_fd(anon), true, &cl));
	ASSERT_TRUE(fastipc_client_is_local(cl));
	ASSERT_EQ(0, lt_info(cl, NULL, 0, &info));
	EXPECT_EQ(gettid(), info.tid);
	fastipc_client_close(cl);
	fastipc_server_destroy(anon);
}

/* Each switch, off: the call goes through the device to a server thread. */
static void expect_device_path(struct __test_metadata *_metadata, struct fastipc_server *srv,
			       struct fastipc_client *cl)
{
	struct lt_info info;
	char req[16];

	ASSERT_FALSE(fastipc_client_is_local(cl));
	ASSERT_EQ(0, fastipc_server_start(srv, 1));
	ASSERT_EQ(0, lt_info(cl, req, sizeof(req), &info));
	EXPECT_NE(gettid(), info.tid);
	EXPECT_NE((uintptr_t)req, info.data);
	EXPECT_EQ(0, fastipc_server_stop(srv));
	EXPECT_EQ(0, fastipc_server_wait(srv));
}

TEST_F(local, client_flag_turns_the_short_circuit_off)
{
	struct fastipc_client *cl;

	ASSERT_EQ(0, lt_client(self->name, -1, false, &cl));
	expect_device_path(_metadata, self->srv, cl);
	fastipc_client_close(cl);
}

TEST_F(local, client_setting_turns_it_off_and_on)
{
	struct fastipc_client *cl;
	struct lt_info info;

	ASSERT_EQ(0, lt_client(self->name, -1, true, &cl));
	fastipc_client_set_short_circuit(cl, false);
	expect_device_path(_metadata, self->srv, cl);
	fastipc_client_set_short_circuit(cl, true);
	ASSERT_TRUE(fastipc_client_is_local(cl));
	ASSERT_EQ(0, lt_info(cl, NULL, 0, &info));
	EXPECT_EQ(gettid(), info.tid);
	fastipc_client_close(cl);
}

TEST_F(local, global_setting_turns_it_off)
{
	struct fastipc_client *cl;

	ASSERT_EQ(0, lt_client(self->name, -1, true, &cl));
	fastipc_short_circuit(0);
	expect_device_path(_metadata, self->srv, cl);
	fastipc_short_circuit(1);
	EXPECT_TRUE(fastipc_client_is_local(cl));
	fastipc_client_close(cl);
}

TEST_F(local, sends_still_go_through_the_device)
{
	struct fastipc_client *cl;
	uint32_t n = 5;

	ASSERT_EQ(0, lt_client(self->name, -1, true, &cl));
	ASSERT_EQ(0, fastipc_send(cl, OP_NOTE, &n, sizeof(n), 0));
	/* Not handled yet: it waits in the pool for a server thread. */
	EXPECT_EQ(0, self->st.nnotes);
	EXPECT_EQ(1, fastipc_server_dispatch(self->srv, 0));
	EXPECT_EQ(1, self->st.nnotes);
	EXPECT_EQ(5, self->st.note[0]);
	fastipc_client_close(cl);
}

TEST_F(local, call_copy_lets_the_handler_write_into_the_callers_buffer)
{
	struct fastipc_client *cl;
	struct fastipc_reply rep;
	struct lt_info info;

	ASSERT_EQ(0, lt_client(self->name, -1, true, &cl));
	ASSERT_EQ(0, fastipc_call_copy(cl, OP_INFO, NULL, 0, &info, sizeof(info), &rep, 0));
	ASSERT_EQ(sizeof(info), rep.len);
	EXPECT_EQ((uintptr_t)&info, info.reply);
	EXPECT_EQ(sizeof(info), info.reply_cap);
	fastipc_client_close(cl);
}

TEST_F(local, a_handler_calling_its_own_client_is_edeadlk)
{
	struct fastipc_client *cl;
	struct fastipc_reply rep;

	ASSERT_EQ(0, lt_client(self->name, -1, true, &cl));
	self->st.next = cl;
	ASSERT_EQ(0, fastipc_call(cl, OP_NEST, "n", 1, &rep, 0));
	EXPECT_EQ(-EDEADLK, rep.status);
	EXPECT_EQ(-EDEADLK, self->st.nest_ret);
	fastipc_client_close(cl);
}

TEST_F(local, destroyed_server_gives_epipe)
{
	struct fastipc_client *cl;
	struct fastipc_reply rep;

	ASSERT_EQ(0, lt_client(self->name, -1, true, &cl));
	fastipc_server_destroy(self->srv);
	self->srv = NULL;
	/* Still marked local: the client holds the server until it closes. */
	EXPECT_EQ(-EPIPE, fastipc_call(cl, OP_ECHO, "a", 1, &rep, 0));
	fastipc_client_close(cl);
}

TEST_F(local, a_fork_child_reaches_the_parent_through_the_device)
{
	struct fastipc_client *pre;
	struct fastipc_reply rep;
	pid_t pid;

	ASSERT_EQ(0, lt_client(self->name, -1, true, &pre));
	/* This thread's reply buffer exists before the fork. */
	ASSERT_EQ(0, fastipc_call(pre, OP_ECHO, "p", 1, &rep, 0));
	ASSERT_EQ(0, fastipc_server_start(self->srv, 1));
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct fastipc_client *cl;
		struct lt_info info;

		/* The parent's server is not ours, whichever way we connect. */
		CHILD_CHECK(!fastipc_client_is_local(pre));
		CHILD_CHECK(lt_info(pre, NULL, 0, &info) == 0);
		CHILD_CHECK(info.pid == getpid());
		CHILD_CHECK(lt_client(self->name, -1, true, &cl) == 0);
		CHILD_CHECK(!fastipc_client_is_local(cl));
		CHILD_CHECK(lt_info(cl, NULL, 0, &info) == 0);
		CHILD_CHECK(info.pid == getpid());
		_exit(0);
	}
	EXPECT_EQ(0, fipc_reap(pid));
	/* The parent's own buffer and short circuit are untouched. */
	ASSERT_TRUE(fastipc_client_is_local(pre));
	ASSERT_EQ(0, fastipc_call(pre, OP_ECHO, "q", 1, &rep, 0));
	EXPECT_EQ(0, memcmp(rep.data, "q", 1));
	fastipc_short_circuit(0);
	ASSERT_EQ(0, fastipc_call(pre, OP_ECHO, "r", 1, &rep, 0));
	EXPECT_EQ(0, memcmp(rep.data, "r", 1));
	fastipc_client_close(pre);
}

TEST_HARNESS_MAIN
