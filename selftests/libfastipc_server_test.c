// SPDX-License-Identifier: GPL-2.0
/*
 * libfastipc servers: creating endpoints, handlers, the thread pool and its
 * stop, event-loop dispatch, and what callers see when a server goes away.
 */
#include "libfastipc_test.h"

#include <poll.h>
#include <sys/epoll.h>

#include "kselftest_harness.h"

TEST(create_rejects_bad_params)
{
	struct fastipc_server_params p = { .flags = FASTIPC_SERVER_ALL + 1 };
	struct fastipc_server *srv;

	EXPECT_EQ(-EINVAL, fastipc_server_create(&p, &srv));
	p = (struct fastipc_server_params){ .nslots = FASTIPC_MAX_SLOTS + 1 };
	EXPECT_EQ(-EINVAL, fastipc_server_create(&p, &srv));
	p = (struct fastipc_server_params){ .slot_size = FASTIPC_MAX_PAYLOAD + 1 };
	EXPECT_EQ(-EINVAL, fastipc_server_create(&p, &srv));
	p = (struct fastipc_server_params){ .reply_size = FASTIPC_MAX_PAYLOAD + 1 };
	EXPECT_EQ(-EINVAL, fastipc_server_create(&p, &srv));
	/* A pool over the largest registered buffer. */
	p = (struct fastipc_server_params){ .slot_size = FASTIPC_MAX_PAYLOAD,
					    .nslots = FASTIPC_MAX_SLOTS };
	EXPECT_EQ(-EINVAL, fastipc_server_create(&p, &srv));
	p = (struct fastipc_server_params){ .name = "bad name" };
	EXPECT_EQ(-EINVAL, fastipc_server_create(&p, &srv));
	p = (struct fastipc_server_params){ .name = "" };
	EXPECT_EQ(-EINVAL, fastipc_server_create(&p, &srv));
	p = (struct fastipc_server_params){ .name = "lt.mode", .mode = 01000 };
	EXPECT_EQ(-EINVAL, fastipc_server_create(&p, &srv));
}

TEST(create_of_a_taken_name_is_eexist)
{
	struct fastipc_server_params p = { 0 };
	struct fastipc_server *a, *b;
	char name[FASTIPC_NAME_MAX];

	lt_name(name, sizeof(name), "taken");
	p.name = name;
	ASSERT_EQ(0, fastipc_server_create(&p, &a));
	EXPECT_EQ(-EEXIST, fastipc_server_create(&p, &b));
	fastipc_server_destroy(a);
	/* Destroy unpublishes the name. */
	ASSERT_EQ(0, fastipc_server_create(&p, &b));
	fastipc_server_destroy(b);
}

TEST(default_server_is_anonymous_and_reachable_by_fd)
{
	struct fastipc_server *srv;
	struct fastipc_client *cl;
	struct fastipc_reply rep;
	static char req[FASTIPC_DEFAULT_SLOT_SIZE + 1];

	ASSERT_EQ(0, fastipc_server_create(NULL, &srv));
	ASSERT_LE(0, fastipc_server_fd(srv));
	ASSERT_EQ(0, fastipc_client_connect_fd(fastipc_server_fd(srv),
					       &(struct fastipc_client_params){
						       .flags = FASTIPC_CLIENT_NO_SHORT_CIRCUIT },
					       &cl));
	EXPECT_FALSE(fastipc_client_is_local(cl));
	/* The default slot size, and no handlers at all. */
	EXPECT_EQ(-EMSGSIZE, fastipc_call(cl, 1, req, sizeof(req), &rep, 0));
	ASSERT_EQ(0, fastipc_server_start(srv, 1));
	ASSERT_EQ(0, fastipc_call(cl, 1, req, sizeof(req) - 1, &rep, 0));
	EXPECT_EQ(-EOPNOTSUPP, rep.status);
	fastipc_client_close(cl);
	fastipc_server_destroy(srv);
}

static int32_t answer_1(struct fastipc_server *srv, struct fastipc_msg *msg, void *arg)
{
	return 1;
}

static int32_t answer_arg(struct fastipc_server *srv, struct fastipc_msg *msg, void *arg)
{
	return (int32_t)(intptr_t)arg;
}

TEST(handlers_can_be_added_replaced_and_removed)
{
	struct fastipc_server *srv;
	struct fastipc_client *cl;
	struct fastipc_reply rep;
	uint32_t op;

	ASSERT_EQ(0, fastipc_server_create(NULL, &srv));
	ASSERT_EQ(0, fastipc_client_connect_fd(fastipc_server_fd(srv), NULL, &cl));
	ASSERT_TRUE(fastipc_client_is_local(cl));
	/* Enough opcodes, out of order, to grow and search the table. */
	for (op = 40; op > 0; op--)
		ASSERT_EQ(0, fastipc_server_set_handler(srv, op * 3, answer_arg,
							(void *)(intptr_t)op));
	for (op = 1; op <= 40; op++) {
		ASSERT_EQ(0, fastipc_call(cl, op * 3, NULL, 0, &rep, 0));
		EXPECT_EQ((int32_t)op, rep.status);
		ASSERT_EQ(0, fastipc_call(cl, op * 3 + 1, NULL, 0, &rep, 0));
		EXPECT_EQ(-EOPNOTSUPP, rep.status);
	}
	ASSERT_EQ(0, fastipc_server_set_handler(srv, 30, answer_1, NULL));
	ASSERT_EQ(0, fastipc_call(cl, 30, NULL, 0, &rep, 0));
	EXPECT_EQ(1, rep.status);
	ASSERT_EQ(0, fastipc_server_set_handler(srv, 30, NULL, NULL));
	ASSERT_EQ(0, fastipc_call(cl, 30, NULL, 0, &rep, 0));
	EXPECT_EQ(-EOPNOTSUPP, rep.status);
	ASSERT_EQ(0, fastipc_call(cl, 33, NULL, 0, &rep, 0));
	EXPECT_EQ(11, rep.status);
	/* Removing what is not there is fine; reserved opcodes are not. */
	EXPECT_EQ(0, fastipc_server_set_handler(srv, 31, NULL, NULL));
	EXPECT_EQ(-EINVAL, fastipc_server_set_handler(srv, FASTIPC_OPCODE_RESERVED, answer_1,
						      NULL));
	fastipc_client_close(cl);
	fastipc_server_destroy(srv);
}

FIXTURE(svc) {
	struct lt_state st;
	struct fastipc_server *srv;
	struct fastipc_client *cl;
};

FIXTURE_SETUP(svc)
{
	ASSERT_EQ(0, lt_state_init(&self->st));
	ASSERT_EQ(0, lt_server(&self->st, NULL, &self->srv));
	ASSERT_EQ(0, lt_client(NULL, fastipc_server_fd(self->srv), false, &self->cl));
}

FIXTURE_TEARDOWN(svc)
{
	fastipc_client_close(self->cl);
	fastipc_server_destroy(self->srv);
	lt_state_fini(&self->st);
}

TEST_F(svc, handler_gets_the_request_in_place_in_the_pool)
{
	struct lt_info a, b;
	char req[100];

	ASSERT_EQ(0, fastipc_server_start(self->srv, 1));
	ASSERT_EQ(0, lt_info(self->cl, req, sizeof(req), &a));
	ASSERT_EQ(0, lt_info(self->cl, req, sizeof(req), &b));
	/* Not our copy: a slot of the pool, the same one reused (LIFO). */
	EXPECT_NE((uintptr_t)req, a.data);
	EXPECT_EQ(a.data, b.data);
	EXPECT_EQ(LT_REPLY, a.reply_cap);
	EXPECT_NE(gettid(), a.tid);
}

TEST_F(svc, run_serves_on_n_threads_until_a_handler_stops_it)
{
	struct fastipc_reply rep;
	pid_t pid;

	/* A client process, as run() occupies this thread. */
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct fastipc_client *cl;

		CHILD_CHECK(lt_client(NULL, fastipc_server_fd(self->srv), true, &cl) == 0);
		CHILD_CHECK(!fastipc_client_is_local(cl));
		CHILD_CHECK(fastipc_call(cl, OP_ECHO, "hi", 2, &rep, 0) == 0);
		CHILD_CHECK(rep.len == 2 && !memcmp(rep.data, "hi", 2));
		CHILD_CHECK(fastipc_call(cl, OP_STOP, NULL, 0, &rep, 0) == 0);
		CHILD_CHECK(rep.status == 0);
		_exit(0);
	}
	EXPECT_EQ(0, fastipc_server_run(self->srv, 3));
	EXPECT_EQ(0, fipc_reap(pid));
	/* Stopped, it can run again. */
	ASSERT_EQ(0, fastipc_send(self->cl, OP_STOP, NULL, 0, 0));
	EXPECT_EQ(0, fastipc_server_run(self->srv, 1));
}

TEST_F(svc, start_and_stop_from_outside_join_every_thread)
{
	struct fastipc_reply rep;

	EXPECT_EQ(-EINVAL, fastipc_server_wait(self->srv));
	EXPECT_EQ(-EINVAL, fastipc_server_run(self->srv, 0));
	EXPECT_EQ(-EINVAL, fastipc_server_start(self->srv, 0));
	ASSERT_EQ(0, fastipc_server_start(self->srv, 4));
	EXPECT_EQ(-EBUSY, fastipc_server_start(self->srv, 1));
	EXPECT_EQ(-EBUSY, fastipc_server_run(self->srv, 1));
	ASSERT_EQ(0, fastipc_call(self->cl, OP_ECHO, "a", 1, &rep, 0));
	ASSERT_EQ(0, fastipc_server_stop(self->srv));
	EXPECT_EQ(0, fastipc_server_wait(self->srv));
	/* Messages wait in the pool until the next start. */
	ASSERT_EQ(0, fastipc_send(self->cl, OP_NOTE, NULL, 0, 0));
	EXPECT_EQ(0, self->st.nnotes);
	/* One thread: the note is handled before the call that follows it. */
	ASSERT_EQ(0, fastipc_server_start(self->srv, 1));
	ASSERT_EQ(0, fastipc_call(self->cl, OP_ECHO, "b", 1, &rep, 0));
	EXPECT_EQ(1, self->st.nnotes);
	/* Destroy stops and joins a started pool itself. */
}

TEST_F(svc, stop_reaches_threads_busy_with_one_way_messages)
{
	unsigned int i;

	/* Fill the one-way quota (half the slots) so that stop's wake finds no room. */
	for (i = 0; i < LT_NSLOTS / 2; i++)
		ASSERT_EQ(0, fastipc_send(self->cl, OP_BLOCK, NULL, 0, 0));
	ASSERT_EQ(-EAGAIN, fastipc_send(self->cl, OP_NOTE, NULL, 0, 0));
	ASSERT_EQ(0, fastipc_server_start(self->srv, 3));
	for (i = 0; i < 3; i++)
		lt_wait_entered(&self->st);
	ASSERT_EQ(0, fastipc_server_stop(self->srv));
	ASSERT_EQ(0, eventfd_write(self->st.release, LT_NSLOTS / 2));
	EXPECT_EQ(0, fastipc_server_wait(self->srv));
}

TEST_F(svc, dispatch_handles_what_waits_without_blocking)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd = fastipc_server_fd(self->srv);
	uint32_t i;
	int epfd;

	epfd = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, epfd);
	ASSERT_EQ(0, epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev));
	EXPECT_EQ(0, fastipc_server_dispatch(self->srv, 0));
	EXPECT_EQ(0, epoll_wait(epfd, &ev, 1, 0));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, fastipc_send(self->cl, OP_NOTE, &i, sizeof(i), 0));
	ASSERT_EQ(1, epoll_wait(epfd, &ev, 1, 0));
	EXPECT_EQ(EPOLLIN, ev.events);
	EXPECT_EQ(2, fastipc_server_dispatch(self->srv, 2));
	EXPECT_EQ(2, self->st.nnotes);
	EXPECT_EQ(gettid(), self->st.note_tid);
	EXPECT_EQ(1, fastipc_server_dispatch(self->srv, 0));
	EXPECT_EQ(3, self->st.nnotes);
	EXPECT_EQ(0, fastipc_server_dispatch(self->srv, 0));
	EXPECT_EQ(0, fipc_revents(fd, POLLIN));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(i, self->st.note[i]);
	close(epfd);
}

TEST_F(svc, dispatch_answers_a_call_before_returning)
{
	struct lt_async c;

	ASSERT_EQ(0, lt_async_start(&c, self->cl, OP_ECHO));
	while (!fipc_revents(fastipc_server_fd(self->srv), POLLIN))
		sched_yield();
	EXPECT_EQ(1, fastipc_server_dispatch(self->srv, 1));
	ASSERT_EQ(0, lt_async_join(&c));
	EXPECT_EQ(2, c.rep.len);
	EXPECT_EQ(0, memcmp(c.buf, "xy", 2));
}

static int32_t dispatch_again(struct fastipc_server *srv, struct fastipc_msg *msg, void *arg)
{
	return fastipc_server_dispatch(srv, 0);
}

TEST_F(svc, dispatch_from_its_own_handler_is_ebusy)
{
	struct lt_async c;

	ASSERT_EQ(0, fastipc_server_set_handler(self->srv, 77, dispatch_again, NULL));
	ASSERT_EQ(0, lt_async_start(&c, self->cl, 77));
	while (!fipc_revents(fastipc_server_fd(self->srv), POLLIN))
		sched_yield();
	EXPECT_EQ(1, fastipc_server_dispatch(self->srv, 0));
	ASSERT_EQ(0, lt_async_join(&c));
	EXPECT_EQ(-EBUSY, c.rep.status);
}

TEST_F(svc, destroy_fails_waiting_calls_with_epipe)
{
	struct lt_async c;

	ASSERT_EQ(0, lt_async_start(&c, self->cl, OP_ECHO));
	while (!fipc_revents(fastipc_server_fd(self->srv), POLLIN))
		sched_yield();
	fastipc_server_destroy(self->srv);
	self->srv = NULL;
	EXPECT_EQ(-EPIPE, lt_async_join(&c));
}

TEST_HARNESS_MAIN
