// SPDX-License-Identifier: GPL-2.0
/*
 * libfastipc's rings: batches of asynchronous calls to several servers,
 * one-way sends, cancels, a ring destroyed or a client closed with calls in
 * flight, servers served from one thread's ring (in a loop and from an
 * event loop), and synchronous and asynchronous callers side by side.
 * Every test is skipped when the module lacks FASTIPC_F_URING.
 */
#include "libfastipc_test.h"

#include <liburing.h>
#include <poll.h>

#include "kselftest_harness.h"

#define NSRV		3
#define BATCH		48	/* calls in flight at once: the arena grows */
#define RING_ENTRIES	8	/* fewer than a batch: preps make room */
#define NSERVED		6	/* servers one thread's ring serves */

#define REQUIRE_URING() do {							\
	if (!lt_have_uring())							\
		SKIP(return, "the module lacks FASTIPC_F_URING");		\
} while (0)

/* The completion of @c with @user_data, or NULL. */
static const struct fastipc_completion *find(const struct fastipc_completion *c, int n,
					     uint64_t user_data)
{
	int i;

	for (i = 0; i < n; i++) {
		if (c[i].user_data == user_data)
			return &c[i];
	}
	return NULL;
}

/* Whether @c is a call's success with @len bytes of @data and status 0. */
static bool replied(const struct fastipc_completion *c, const void *data, uint32_t len)
{
	return c && c->kind == FASTIPC_RING_CALL && !c->result && !c->status && c->len == len &&
	       !memcmp(c->data, data, len);
}

/*
 * NSRV servers of the test service, each on one thread (so that a blocked
 * handler holds back the calls behind it), clients of them connected by fd
 * (which the short circuit would take), and a small ring.
 */
FIXTURE(svcs) {
	struct lt_state st[NSRV];
	struct fastipc_server *srv[NSRV];
	struct fastipc_client *cl[NSRV];
	struct fastipc_ring *ring;
};

FIXTURE_SETUP(svcs)
{
	int i;

	REQUIRE_URING();
	for (i = 0; i < NSRV; i++) {
		ASSERT_EQ(0, lt_state_init(&self->st[i]));
		ASSERT_EQ(0, lt_server(&self->st[i], NULL, &self->srv[i]));
		ASSERT_EQ(0, fastipc_server_start(self->srv[i], 1));
		ASSERT_EQ(0, lt_client(NULL, fastipc_server_fd(self->srv[i]), true,
				       &self->cl[i]));
	}
	ASSERT_EQ(0, fastipc_ring_create(RING_ENTRIES, 0, &self->ring));
}

FIXTURE_TEARDOWN(svcs)
{
	int i;

	fastipc_ring_destroy(self->ring);
	for (i = 0; i < NSRV; i++) {
		fastipc_client_close(self->cl[i]);
		fastipc_server_destroy(self->srv[i]);
		lt_state_fini(&self->st[i]);
	}
}

TEST_F(svcs, batches_of_calls_to_several_servers_get_byte_exact_replies)
{
	static char req[BATCH][LT_SLOT];
	struct fastipc_completion c[BATCH];
	bool seen[BATCH];
	uint32_t len[BATCH], seed;
	int round, i, k;

	for (round = 0; round < 4; round++) {
		for (i = 0; i < BATCH; i++) {
			seed = round * BATCH + i;
			len[i] = 1 + seed * 37 % LT_SLOT;
			fipc_fill(req[i], len[i], seed);
			ASSERT_EQ(0, fastipc_ring_prep_call(self->ring, self->cl[i % NSRV], OP_ECHO,
							    req[i], len[i], seed));
		}
		ASSERT_EQ(BATCH, fastipc_ring_reap(self->ring, c, BATCH, BATCH, 0));
		memset(seen, 0, sizeof(seen));
		for (k = 0; k < BATCH; k++) {
			i = c[k].user_data - round * BATCH;
			ASSERT_LT(i, BATCH);
			EXPECT_FALSE(seen[i]);
			seen[i] = true;
			EXPECT_EQ(FASTIPC_RING_CALL, c[k].kind);
			EXPECT_EQ(0, c[k].result);
			EXPECT_EQ(0, c[k].status);
			ASSERT_EQ(len[i], c[k].len);
			EXPECT_TRUE(fipc_check(c[k].data, len[i], c[k].user_data));
		}
	}
}

#define NWAIT	4	/* calls that find the pool full */
#define NLATER	RING_ENTRIES

TEST_F(svcs, calls_that_find_every_slot_taken_wait_and_get_their_own_replies)
{
	static char req[LT_NSLOTS + NWAIT + NLATER][16];
	struct fastipc_completion c[1 + LT_NSLOTS + NWAIT + NLATER];
	const int n = LT_NSLOTS - 1 + NWAIT + NLATER;
	unsigned int workers[2] = { 1, 1 };
	const struct fastipc_completion *r;
	int i;

	/*
	 * Calls that find the pool full wait for a slot, while the ring's
	 * submission entries are reused by more calls. When the handler lets
	 * go, each must still be sent with its own request and reply room.
	 * A single io_uring worker at most: waiting must not need one each.
	 */
	ASSERT_LE(0, io_uring_register(fastipc_ring_fd(self->ring),
				       IORING_REGISTER_IOWQ_MAX_WORKERS, workers, 2));
	ASSERT_EQ(0, fastipc_ring_prep_call(self->ring, self->cl[0], OP_BLOCK, NULL, 0, 1000));
	ASSERT_EQ(1, fastipc_ring_submit(self->ring));
	lt_wait_entered(&self->st[0]);
	for (i = 0; i < n; i++) {
		snprintf(req[i], sizeof(req[i]), "request %d", i);
		ASSERT_EQ(0, fastipc_ring_prep_call(self->ring, self->cl[0], OP_ECHO, req[i],
						    strlen(req[i]), i));
		/* The pool's other slots, then those that wait: one submission. */
		if (i == LT_NSLOTS - 2 + NWAIT)
			ASSERT_LE(0, fastipc_ring_submit(self->ring));
	}
	ASSERT_EQ(0, eventfd_write(self->st[0].release, 1));
	ASSERT_EQ(1 + n, fastipc_ring_reap(self->ring, c, 1 + n, 1 + n, 0));
	EXPECT_TRUE(replied(find(c, 1 + n, 1000), "done", 4));
	for (i = 0; i < n; i++) {
		r = find(c, 1 + n, i);
		ASSERT_NE(NULL, r);
		EXPECT_TRUE(replied(r, req[i], strlen(req[i]))) {
			TH_LOG("call %d: result %d status %d len %u \"%.*s\"", i, r->result,
			       r->status, r->len, (int)r->len, r->data ? (char *)r->data : "");
		}
	}
}

TEST_F(svcs, replies_fill_their_room_and_longer_ones_are_emsgsize)
{
	static const uint32_t n[] = { 0, 1, 100, 101, LT_REPLY };
	const struct fastipc_completion *r;
	struct fastipc_completion c[5];
	struct fastipc_client *small;
	unsigned int i;

	/* Reply room of 100 bytes per call: the server's reply overflows it. */
	ASSERT_EQ(0, fastipc_client_connect_fd(fastipc_server_fd(self->srv[0]),
					       &(struct fastipc_client_params){ .reply_size = 100 },
					       &small));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, fastipc_ring_prep_call(self->ring, small, OP_SIZED, &n[i],
						    sizeof(n[i]), i));
	ASSERT_EQ(0, fastipc_ring_prep_call(self->ring, self->cl[1], OP_SIZED, &n[4], sizeof(n[4]),
					    4));
	ASSERT_EQ(5, fastipc_ring_reap(self->ring, c, 5, 5, 0));
	for (i = 0; i < 5; i++) {
		r = find(c, 5, i);
		ASSERT_NE(NULL, r);
		EXPECT_EQ(0, r->result);
		if (n[i] == 101) {
			EXPECT_EQ(-EMSGSIZE, r->status);
			EXPECT_EQ(0, r->len);
			continue;
		}
		EXPECT_EQ(0, r->status);
		ASSERT_EQ(n[i], r->len);
		EXPECT_TRUE(fipc_check(r->data, n[i], n[i]));
	}
	fastipc_client_close(small);
}

TEST_F(svcs, status_words_and_errors_reach_the_completion)
{
	static char big[LT_SLOT + 1];
	const struct fastipc_completion *r;
	struct fastipc_completion c[3];
	int32_t s = -42;

	ASSERT_EQ(0, fastipc_ring_prep_call(self->ring, self->cl[0], OP_STATUS, &s, sizeof(s), 1));
	ASSERT_EQ(0, fastipc_ring_prep_call(self->ring, self->cl[1], 999, NULL, 0, 2));
	ASSERT_EQ(0, fastipc_ring_prep_call(self->ring, self->cl[2], OP_ECHO, big, sizeof(big), 3));
	EXPECT_EQ(-EINVAL, fastipc_ring_prep_call(self->ring, self->cl[0], FASTIPC_OPCODE_RESERVED,
						  NULL, 0, 4));
	EXPECT_EQ(-EINVAL, fastipc_ring_prep_send(self->ring, self->cl[0], FASTIPC_OPCODE_RESERVED,
						  NULL, 0, 0, 5));
	ASSERT_EQ(3, fastipc_ring_reap(self->ring, c, 3, 3, 0));
	r = find(c, 3, 1);
	ASSERT_NE(NULL, r);
	EXPECT_EQ(0, r->result);
	EXPECT_EQ(-42, r->status);
	r = find(c, 3, 2);
	ASSERT_NE(NULL, r);
	EXPECT_EQ(0, r->result);
	EXPECT_EQ(-EOPNOTSUPP, r->status);
	r = find(c, 3, 3);
	ASSERT_NE(NULL, r);
	EXPECT_EQ(-EMSGSIZE, r->result);
	EXPECT_EQ(NULL, r->data);
}

TEST_F(svcs, calls_go_through_the_device_even_to_a_server_of_this_process)
{
	struct fastipc_completion c;
	struct lt_info info;

	ASSERT_TRUE(fastipc_client_is_local(self->cl[0]));
	ASSERT_EQ(0, fastipc_ring_prep_call(self->ring, self->cl[0], OP_INFO, NULL, 0, 1));
	ASSERT_EQ(1, fastipc_ring_reap(self->ring, &c, 1, 1, 0));
	ASSERT_EQ(0, c.result);
	ASSERT_EQ(sizeof(info), c.len);
	memcpy(&info, c.data, sizeof(info));
	/* Handled on the server's thread, with our credentials from the device. */
	EXPECT_NE(gettid(), info.tid);
	EXPECT_EQ(getpid(), info.pid);
	EXPECT_EQ(geteuid(), info.uid);
}

/* As many as the one-way quota holds: none waits for room, so none overtakes. */
#define NSENDS	(LT_NSLOTS / 2)

TEST_F(svcs, async_sends_arrive_in_the_order_submitted)
{
	static uint32_t v[NSENDS];
	struct fastipc_completion c[NSENDS];
	eventfd_t got, total = 0;
	uint32_t i;

	for (i = 0; i < NSENDS; i++) {
		v[i] = i * 11;
		ASSERT_EQ(0, fastipc_ring_prep_send(self->ring, self->cl[0], OP_NOTE, &v[i],
						    sizeof(v[i]), 0, 100 + i));
	}
	ASSERT_EQ(NSENDS, fastipc_ring_reap(self->ring, c, NSENDS, NSENDS, 0));
	for (i = 0; i < NSENDS; i++) {
		EXPECT_EQ(FASTIPC_RING_SEND, c[i].kind);
		EXPECT_EQ(0, c[i].result);
		EXPECT_EQ(NULL, c[i].data);
	}
	while (total < NSENDS) {
		ASSERT_EQ(0, eventfd_read(self->st[0].notes, &got));
		total += got;
	}
	for (i = 0; i < NSENDS; i++)
		EXPECT_EQ(i * 11, self->st[0].note[i]);
}

TEST_F(svcs, an_async_send_without_room_is_eagain)
{
	struct fastipc_completion c;
	struct fastipc_server *srv;
	struct fastipc_client *cl;
	struct lt_state st;
	unsigned int i;

	/* Nobody serves: the one-way quota (half the slots) fills up. */
	ASSERT_EQ(0, lt_state_init(&st));
	ASSERT_EQ(0, lt_server(&st, NULL, &srv));
	ASSERT_EQ(0, lt_client(NULL, fastipc_server_fd(srv), false, &cl));
	for (i = 0; i < LT_NSLOTS / 2; i++)
		ASSERT_EQ(0, fastipc_send(cl, OP_NOTE, NULL, 0, 0));
	ASSERT_EQ(0, fastipc_ring_prep_send(self->ring, cl, OP_NOTE, NULL, 0, 0, 7));
	ASSERT_EQ(1, fastipc_ring_reap(self->ring, &c, 1, 1, 0));
	EXPECT_EQ(7, c.user_data);
	EXPECT_EQ(-EAGAIN, c.result);
	fastipc_client_close(cl);
	fastipc_server_destroy(srv);
	lt_state_fini(&st);
}

TEST_F(svcs, cancel_by_tag_fails_a_held_call_with_ecanceled)
{
	struct fastipc_completion c[2];
	const struct fastipc_completion *r;

	ASSERT_EQ(0, fastipc_ring_prep_call(self->ring, self->cl[0], OP_BLOCK, NULL, 0, 7));
	ASSERT_EQ(1, fastipc_ring_submit(self->ring));
	lt_wait_entered(&self->st[0]);
	ASSERT_EQ(0, fastipc_ring_prep_cancel(self->ring, self->cl[0], 7, 0, 70));
	ASSERT_EQ(2, fastipc_ring_reap(self->ring, c, 2, 2, 0));
	r = find(c, 2, 7);
	ASSERT_NE(NULL, r);
	EXPECT_EQ(FASTIPC_RING_CALL, r->kind);
	EXPECT_EQ(-ECANCELED, r->result);
	EXPECT_EQ(NULL, r->data);
	r = find(c, 2, 70);
	ASSERT_NE(NULL, r);
	EXPECT_EQ(FASTIPC_RING_CANCEL, r->kind);
	EXPECT_EQ(1, r->result);
	/* The handler's late reply is dropped, and the server serves on. */
	ASSERT_EQ(0, eventfd_write(self->st[0].release, 1));
	ASSERT_EQ(0, fastipc_ring_prep_call(self->ring, self->cl[0], OP_ECHO, "after", 5, 8));
	ASSERT_EQ(1, fastipc_ring_reap(self->ring, c, 1, 1, 0));
	EXPECT_TRUE(replied(&c[0], "after", 5));
}

TEST_F(svcs, cancel_all_of_one_client_spares_the_other_clients)
{
	struct fastipc_completion c[3];
	const struct fastipc_completion *r;

	/* The second call waits in the pool behind the first, held by the handler. */
	ASSERT_EQ(0, fastipc_ring_prep_call(self->ring, self->cl[0], OP_BLOCK, NULL, 0, 1));
	ASSERT_EQ(0, fastipc_ring_prep_call(self->ring, self->cl[0], OP_BLOCK, NULL, 0, 2));
	ASSERT_EQ(0, fastipc_ring_prep_call(self->ring, self->cl[1], OP_BLOCK, NULL, 0, 3));
	ASSERT_EQ(3, fastipc_ring_submit(self->ring));
	lt_wait_entered(&self->st[0]);
	lt_wait_entered(&self->st[1]);
	ASSERT_EQ(0, fastipc_ring_prep_cancel(self->ring, self->cl[0], 0, FASTIPC_RING_CANCEL_ALL,
					      9));
	ASSERT_EQ(3, fastipc_ring_reap(self->ring, c, 3, 3, 0));
	r = find(c, 3, 1);
	ASSERT_NE(NULL, r);
	EXPECT_EQ(-ECANCELED, r->result);
	r = find(c, 3, 2);
	ASSERT_NE(NULL, r);
	EXPECT_EQ(-ECANCELED, r->result);
	r = find(c, 3, 9);
	ASSERT_NE(NULL, r);
	EXPECT_EQ(2, r->result);
	ASSERT_EQ(0, eventfd_write(self->st[1].release, 1));
	ASSERT_EQ(1, fastipc_ring_reap(self->ring, c, 1, 1, 0));
	EXPECT_EQ(3, c[0].user_data);
	EXPECT_TRUE(replied(&c[0], "done", 4));
	/* Should the cancelled waiting call still reach the handler, it goes on too. */
	ASSERT_EQ(0, eventfd_write(self->st[0].release, 2));
	ASSERT_EQ(0, fastipc_ring_prep_call(self->ring, self->cl[0], OP_ECHO, "on", 2, 4));
	ASSERT_EQ(1, fastipc_ring_reap(self->ring, c, 1, 1, 0));
	EXPECT_TRUE(replied(&c[0], "on", 2));
}

TEST_F(svcs, cancel_of_nothing_is_enoent_and_bad_flags_einval)
{
	struct fastipc_completion c[2];
	const struct fastipc_completion *r;

	EXPECT_EQ(-EINVAL, fastipc_ring_prep_cancel(self->ring, NULL, 1, FASTIPC_RING_CANCEL_ALL,
						    0));
	EXPECT_EQ(-EINVAL, fastipc_ring_prep_cancel(self->ring, NULL, 0, 2, 0));
	ASSERT_EQ(0, fastipc_ring_prep_cancel(self->ring, NULL, 5, 0, 1));
	/* A client that never made an asynchronous call. */
	ASSERT_EQ(0, fastipc_ring_prep_cancel(self->ring, self->cl[2], 0, FASTIPC_RING_CANCEL_ALL,
					      2));
	ASSERT_EQ(2, fastipc_ring_reap(self->ring, c, 2, 2, 0));
	r = find(c, 2, 1);
	ASSERT_NE(NULL, r);
	EXPECT_EQ(FASTIPC_RING_CANCEL, r->kind);
	EXPECT_EQ(-ENOENT, r->result);
	r = find(c, 2, 2);
	ASSERT_NE(NULL, r);
	EXPECT_EQ(-ENOENT, r->result);
}

TEST_F(svcs, cancel_reaches_only_the_calls_of_its_own_ring)
{
	struct fastipc_completion c;
	struct fastipc_ring *other;

	ASSERT_EQ(0, fastipc_ring_create(0, 0, &other));
	ASSERT_EQ(0, fastipc_ring_prep_call(other, self->cl[0], OP_BLOCK, NULL, 0, 5));
	ASSERT_EQ(1, fastipc_ring_submit(other));
	lt_wait_entered(&self->st[0]);
	ASSERT_EQ(0, fastipc_ring_prep_cancel(self->ring, self->cl[0], 5, 0, 6));
	ASSERT_EQ(1, fastipc_ring_reap(self->ring, &c, 1, 1, 0));
	EXPECT_EQ(-ENOENT, c.result);
	ASSERT_EQ(0, eventfd_write(self->st[0].release, 1));
	ASSERT_EQ(1, fastipc_ring_reap(other, &c, 1, 1, 0));
	EXPECT_EQ(5, c.user_data);
	EXPECT_TRUE(replied(&c, "done", 4));
	fastipc_ring_destroy(other);
}

TEST_F(svcs, destroying_a_ring_cancels_its_calls_in_flight)
{
	struct fastipc_completion c[2];
	struct fastipc_server *idle;
	struct fastipc_client *to_idle;
	struct fastipc_reply rep;
	struct lt_state st;
	int i;

	/*
	 * A call held by a handler, calls in the pool behind it and more
	 * waiting for a free slot, another server's held call, and a send
	 * finding no room at a server nobody serves.
	 */
	ASSERT_EQ(0, lt_state_init(&st));
	ASSERT_EQ(0, lt_server(&st, NULL, &idle));
	ASSERT_EQ(0, lt_client(NULL, fastipc_server_fd(idle), false, &to_idle));
	for (i = 0; i < LT_NSLOTS / 2; i++)
		ASSERT_EQ(0, fastipc_send(to_idle, OP_NOTE, NULL, 0, 0));
	ASSERT_EQ(0, fastipc_ring_prep_call(self->ring, self->cl[0], OP_BLOCK, NULL, 0, 1));
	for (i = 0; i < 2 * LT_NSLOTS; i++)
		ASSERT_EQ(0, fastipc_ring_prep_call(self->ring, self->cl[0], OP_ECHO, "w", 1, 2));
	ASSERT_EQ(0, fastipc_ring_prep_call(self->ring, self->cl[1], OP_BLOCK, NULL, 0, 3));
	ASSERT_EQ(0, fastipc_ring_prep_send(self->ring, to_idle, OP_NOTE, NULL, 0, 0, 4));
	ASSERT_LE(0, fastipc_ring_submit(self->ring));
	lt_wait_entered(&self->st[0]);
	lt_wait_entered(&self->st[1]);
	fastipc_ring_destroy(self->ring);
	self->ring = NULL;
	/* The late replies are dropped; the servers and clients carry on. */
	ASSERT_EQ(0, eventfd_write(self->st[0].release, 1));
	ASSERT_EQ(0, eventfd_write(self->st[1].release, 1));
	fastipc_client_close(to_idle);
	fastipc_server_destroy(idle);
	lt_state_fini(&st);
	ASSERT_EQ(0, fastipc_ring_create(RING_ENTRIES, 0, &self->ring));
	ASSERT_EQ(0, fastipc_ring_prep_call(self->ring, self->cl[0], OP_ECHO, "a", 1, 4));
	ASSERT_EQ(0, fastipc_ring_prep_call(self->ring, self->cl[1], OP_ECHO, "b", 1, 5));
	ASSERT_EQ(2, fastipc_ring_reap(self->ring, c, 2, 2, 0));
	EXPECT_TRUE(replied(find(c, 2, 4), "a", 1));
	EXPECT_TRUE(replied(find(c, 2, 5), "b", 1));
	fastipc_client_set_short_circuit(self->cl[0], false);
	ASSERT_EQ(0, fastipc_call(self->cl[0], OP_ECHO, "s", 1, &rep, 0));
	EXPECT_EQ(0, memcmp(rep.data, "s", 1));
}

TEST_F(svcs, a_client_closed_with_a_call_in_flight_still_gets_its_reply)
{
	struct fastipc_completion c;

	ASSERT_EQ(0, fastipc_ring_prep_call(self->ring, self->cl[0], OP_BLOCK, NULL, 0, 1));
	ASSERT_EQ(1, fastipc_ring_submit(self->ring));
	lt_wait_entered(&self->st[0]);
	fastipc_client_close(self->cl[0]);
	self->cl[0] = NULL;
	ASSERT_EQ(0, eventfd_write(self->st[0].release, 1));
	ASSERT_EQ(1, fastipc_ring_reap(self->ring, &c, 1, 1, 0));
	EXPECT_TRUE(replied(&c, "done", 4));
}

TEST_F(svcs, reap_returns_when_idle_and_times_out_while_calls_are_held)
{
	struct fastipc_completion c;

	/* Nothing in flight: no waiting for ever. */
	EXPECT_EQ(0, fastipc_ring_reap(self->ring, &c, 1, 1, 0));
	ASSERT_EQ(0, fastipc_ring_prep_call(self->ring, self->cl[0], OP_BLOCK, NULL, 0, 1));
	EXPECT_EQ(-ETIMEDOUT, fastipc_ring_reap(self->ring, &c, 1, 1, 1000000));
	lt_wait_entered(&self->st[0]);
	ASSERT_EQ(0, eventfd_write(self->st[0].release, 1));
	ASSERT_EQ(1, fastipc_ring_reap(self->ring, &c, 1, 1, 0));
	EXPECT_TRUE(replied(&c, "done", 4));
}

/* Releases the handler held on another server, then calls that server. */
struct nudge {
	int release;
	struct fastipc_client *cl;
};

static int32_t release_then_call(struct fastipc_server *srv, struct fastipc_msg *msg, void *arg)
{
	struct nudge *n = arg;
	struct fastipc_reply rep;

	eventfd_write(n->release, 1);
	return fastipc_call(n->cl, OP_ECHO, "z", 1, &rep, 0);
}

TEST_F(svcs, a_sync_call_is_not_interrupted_by_the_rings_completions)
{
	struct fastipc_completion c;
	struct fastipc_client *to1;
	struct fastipc_reply rep;
	struct nudge n = { .release = self->st[0].release };

	/*
	 * The handler of server 1 answers us only after server 0, which serves
	 * in order, has answered our ring's call: that completion comes while
	 * this thread waits in fastipc_call().
	 */
	ASSERT_EQ(0, lt_client(NULL, fastipc_server_fd(self->srv[0]), false, &n.cl));
	ASSERT_EQ(0, lt_client(NULL, fastipc_server_fd(self->srv[1]), false, &to1));
	ASSERT_EQ(0, fastipc_server_set_handler(self->srv[1], 78, release_then_call, &n));
	ASSERT_EQ(0, fastipc_ring_prep_call(self->ring, self->cl[0], OP_BLOCK, NULL, 0, 1));
	ASSERT_EQ(1, fastipc_ring_submit(self->ring));
	lt_wait_entered(&self->st[0]);
	EXPECT_EQ(0, fastipc_call(to1, 78, NULL, 0, &rep, 0));
	EXPECT_EQ(0, rep.status);
	ASSERT_EQ(1, fastipc_ring_reap(self->ring, &c, 1, 1, 0));
	EXPECT_TRUE(replied(&c, "done", 4));
	fastipc_client_close(to1);
	fastipc_client_close(n.cl);
}

/* Synchronous calls on a client from a thread of their own. */
struct sync_caller {
	struct fastipc_client *cl;
	uint32_t seed;
	int err;
	pthread_t thread;
};

static void *sync_caller_fn(void *arg)
{
	struct sync_caller *s = arg;

	s->err = lt_echo_calls(s->cl, s->seed, 100);
	return NULL;
}

TEST_F(svcs, sync_and_async_callers_share_one_client_and_endpoint)
{
	static char req[16][256];
	struct sync_caller s[3];
	struct fastipc_completion c[16];
	uint32_t len, seed;
	int round, i;

	fastipc_client_set_short_circuit(self->cl[0], false);
	for (i = 0; i < 3; i++) {
		s[i] = (struct sync_caller){ .cl = self->cl[0], .seed = 1000 * (i + 1) };
		ASSERT_EQ(0, pthread_create(&s[i].thread, NULL, sync_caller_fn, &s[i]));
	}
	for (round = 0; round < 10; round++) {
		for (i = 0; i < 16; i++) {
			seed = round * 16 + i;
			fipc_fill(req[i], 1 + seed % 256, seed);
			ASSERT_EQ(0, fastipc_ring_prep_call(self->ring, self->cl[0], OP_ECHO,
							    req[i], 1 + seed % 256, seed));
		}
		ASSERT_EQ(16, fastipc_ring_reap(self->ring, c, 16, 16, 0));
		for (i = 0; i < 16; i++) {
			seed = c[i].user_data;
			len = 1 + seed % 256;
			EXPECT_EQ(0, c[i].result);
			ASSERT_EQ(len, c[i].len);
			EXPECT_TRUE(fipc_check(c[i].data, len, seed));
		}
	}
	for (i = 0; i < 3; i++) {
		pthread_join(s[i].thread, NULL);
		EXPECT_EQ(0, s[i].err);
	}
}

TEST_F(svcs, a_fork_child_may_destroy_the_ring_it_inherited)
{
	struct fastipc_completion c;
	pid_t pid;

	ASSERT_EQ(0, fastipc_ring_prep_call(self->ring, self->cl[0], OP_BLOCK, NULL, 0, 1));
	ASSERT_EQ(1, fastipc_ring_submit(self->ring));
	lt_wait_entered(&self->st[0]);
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		fastipc_ring_destroy(self->ring);
		_exit(0);
	}
	EXPECT_EQ(0, fipc_reap(pid));
	ASSERT_EQ(0, eventfd_write(self->st[0].release, 1));
	ASSERT_EQ(1, fastipc_ring_reap(self->ring, &c, 1, 1, 0));
	EXPECT_TRUE(replied(&c, "done", 4));
}

TEST_F(svcs, servers_are_served_by_one_ring_or_otherwise_not_both)
{
	struct fastipc_server *srv;
	struct fastipc_ring *r;
	struct lt_state st;

	ASSERT_EQ(0, lt_state_init(&st));
	ASSERT_EQ(0, lt_server(&st, NULL, &srv));
	EXPECT_EQ(-EBUSY, fastipc_ring_add_server(self->ring, self->srv[0], 0));
	EXPECT_EQ(-EINVAL, fastipc_ring_add_server(self->ring, srv, FASTIPC_RING_MAX_DEPTH + 1));
	EXPECT_EQ(-ENOENT, fastipc_ring_remove_server(self->ring, srv));
	ASSERT_EQ(0, fastipc_ring_add_server(self->ring, srv, 1));
	EXPECT_EQ(-EBUSY, fastipc_ring_add_server(self->ring, srv, 1));
	EXPECT_EQ(-EBUSY, fastipc_server_start(srv, 1));
	EXPECT_EQ(0, fastipc_ring_remove_server(self->ring, srv));
	EXPECT_EQ(-ENOENT, fastipc_ring_remove_server(self->ring, srv));
	/* Released: threads may serve it now. */
	EXPECT_EQ(0, fastipc_server_start(srv, 1));
	EXPECT_EQ(-EINVAL, fastipc_ring_serve(self->ring, &srv, 0));
	EXPECT_EQ(-EINVAL, fastipc_ring_create(FASTIPC_RING_MAX_ENTRIES + 1, 0, &r));
	EXPECT_EQ(-EINVAL, fastipc_ring_create(0, 1, &r));
	fastipc_server_destroy(srv);
	lt_state_fini(&st);
}

/* The call of struct lt_async, which also says when it is done. */
struct bg_call {
	struct lt_async a;
	int done;		/* eventfd */
};

static void *bg_call_fn(void *arg)
{
	struct bg_call *b = arg;

	lt_async_fn(&b->a);
	eventfd_write(b->done, 1);
	return NULL;
}

static int bg_call_start(struct bg_call *b, struct fastipc_client *cl, uint32_t opcode)
{
	memset(b, 0, sizeof(*b));
	b->a.cl = cl;
	b->a.opcode = opcode;
	b->done = eventfd(0, EFD_CLOEXEC);
	if (b->done < 0)
		return -errno;
	return -pthread_create(&b->a.thread, NULL, bg_call_fn, b);
}

/* Polls the ring and reaps until @b is done, as an event loop would. */
static int bg_call_serve(struct fastipc_ring *ring, struct bg_call *b)
{
	struct pollfd pfd[2] = {
		{ .fd = fastipc_ring_fd(ring), .events = POLLIN },
		{ .fd = b->done, .events = POLLIN },
	};
	struct fastipc_completion c;
	int ret;

	for (;;) {
		if (poll(pfd, 2, -1) < 0)
			return -errno;
		if (pfd[1].revents)
			break;
		/* Handles the message; it is no completion of the caller's. */
		ret = fastipc_ring_reap(ring, &c, 1, 0, 0);
		if (ret)
			return ret < 0 ? ret : -EPROTO;
	}
	pthread_join(b->a.thread, NULL);
	close(b->done);
	return b->a.ret;
}

static int32_t reap_inside(struct fastipc_server *srv, struct fastipc_msg *msg, void *arg)
{
	return fastipc_ring_reap(arg, NULL, 0, 0, 0) == -EBUSY &&
	       fastipc_ring_remove_server(arg, srv) == -EBUSY ? 0 : -EPROTO;
}

TEST_F(svcs, a_ring_serves_from_an_event_loop)
{
	struct fastipc_completion c;
	struct fastipc_server *srv;
	struct fastipc_client *cl;
	struct lt_state st;
	struct bg_call b;

	ASSERT_EQ(0, lt_state_init(&st));
	ASSERT_EQ(0, lt_server(&st, NULL, &srv));
	ASSERT_EQ(0, fastipc_server_set_handler(srv, 77, reap_inside, self->ring));
	ASSERT_EQ(0, lt_client(NULL, fastipc_server_fd(srv), false, &cl));
	ASSERT_EQ(0, fastipc_ring_add_server(self->ring, srv, 2));
	/* Submits the receives; nothing completes yet. */
	ASSERT_EQ(0, fastipc_ring_reap(self->ring, &c, 1, 0, 0));

	ASSERT_EQ(0, bg_call_start(&b, cl, OP_ECHO));
	ASSERT_EQ(0, bg_call_serve(self->ring, &b));
	EXPECT_EQ(0, b.a.rep.status);
	ASSERT_EQ(2, b.a.rep.len);
	EXPECT_EQ(0, memcmp(b.a.buf, "xy", 2));
	/* A handler may not reap or remove servers from the ring running it. */
	ASSERT_EQ(0, bg_call_start(&b, cl, 77));
	ASSERT_EQ(0, bg_call_serve(self->ring, &b));
	EXPECT_EQ(0, b.a.rep.status);

	EXPECT_EQ(0, fastipc_ring_remove_server(self->ring, srv));
	fastipc_client_close(cl);
	fastipc_server_destroy(srv);
	lt_state_fini(&st);
}

/* A thread that serves NSERVED servers from a ring of its own. */
struct ring_server {
	struct fastipc_server *srv[NSERVED];
	pid_t tid;		/* atomic */
	int ret;
	pthread_t thread;
};

static void *ring_server_fn(void *arg)
{
	struct ring_server *rs = arg;
	struct fastipc_ring *ring;

	__atomic_store_n(&rs->tid, gettid(), __ATOMIC_SEQ_CST);
	rs->ret = fastipc_ring_create(0, 0, &ring);
	if (rs->ret)
		return NULL;
	rs->ret = fastipc_ring_serve(ring, rs->srv, NSERVED);
	fastipc_ring_destroy(ring);
	return NULL;
}

TEST(one_thread_serves_many_endpoints_from_a_ring)
{
	static char req[BATCH][LT_SLOT];
	struct fastipc_client *cl[NSERVED], *small;
	struct fastipc_completion c[BATCH];
	struct fastipc_reply rep;
	struct ring_server rs;
	struct fastipc_ring *ring;
	struct lt_state st;
	struct lt_info info;
	uint32_t len, seed, n = 101;
	eventfd_t got, total = 0;
	int i, round;

	REQUIRE_URING();
	memset(&rs, 0, sizeof(rs));
	ASSERT_EQ(0, lt_state_init(&st));
	for (i = 0; i < NSERVED; i++) {
		ASSERT_EQ(0, lt_server(&st, NULL, &rs.srv[i]));
		ASSERT_EQ(0, lt_client(NULL, fastipc_server_fd(rs.srv[i]), false, &cl[i]));
	}
	ASSERT_EQ(0, fastipc_client_connect_fd(fastipc_server_fd(rs.srv[2]),
					       &(struct fastipc_client_params){
						       .reply_size = 100,
						       .flags = FASTIPC_CLIENT_NO_SHORT_CIRCUIT },
					       &small));
	ASSERT_EQ(0, pthread_create(&rs.thread, NULL, ring_server_fn, &rs));

	/* Synchronous calls: every endpoint is answered by the one thread. */
	for (round = 0; round < 5; round++) {
		for (i = 0; i < NSERVED; i++) {
			ASSERT_EQ(0, lt_info(cl[i], "q", 1, &info));
			EXPECT_EQ(__atomic_load_n(&rs.tid, __ATOMIC_SEQ_CST), info.tid);
			EXPECT_EQ(1, info.len);
		}
	}
	/* Batches from this thread's ring to all of them. */
	ASSERT_EQ(0, fastipc_ring_create(RING_ENTRIES, 0, &ring));
	for (round = 0; round < 3; round++) {
		for (i = 0; i < BATCH; i++) {
			seed = round * BATCH + i;
			fipc_fill(req[i], 1 + seed * 29 % LT_SLOT, seed);
			ASSERT_EQ(0, fastipc_ring_prep_call(ring, cl[i % NSERVED], OP_ECHO, req[i],
							    1 + seed * 29 % LT_SLOT, seed));
		}
		ASSERT_EQ(BATCH, fastipc_ring_reap(ring, c, BATCH, BATCH, 0));
		for (i = 0; i < BATCH; i++) {
			seed = c[i].user_data;
			len = 1 + seed * 29 % LT_SLOT;
			EXPECT_EQ(0, c[i].result);
			EXPECT_EQ(0, c[i].status);
			ASSERT_EQ(len, c[i].len);
			EXPECT_TRUE(fipc_check(c[i].data, len, seed));
		}
	}
	fastipc_ring_destroy(ring);
	/* A reply too long for the caller's room: the server answers -EMSGSIZE. */
	ASSERT_EQ(0, fastipc_call(small, OP_SIZED, &n, sizeof(n), &rep, 0));
	EXPECT_EQ(-EMSGSIZE, rep.status);
	EXPECT_EQ(0, rep.len);
	/* One-way messages are received and released too. */
	for (i = 0; i < NSERVED; i++)
		ASSERT_EQ(0, fastipc_send(cl[i], OP_NOTE, &i, sizeof(i), FASTIPC_SEND_WAIT));
	while (total < NSERVED) {
		ASSERT_EQ(0, eventfd_read(st.notes, &got));
		total += got;
	}
	EXPECT_EQ(__atomic_load_n(&rs.tid, __ATOMIC_SEQ_CST), st.note_tid);

	/* Stopping one of them ends the serving, and each may be served again. */
	ASSERT_EQ(0, fastipc_call(cl[3], OP_STOP, NULL, 0, &rep, 0));
	EXPECT_EQ(0, rep.status);
	pthread_join(rs.thread, NULL);
	EXPECT_EQ(0, rs.ret);
	ASSERT_EQ(0, fastipc_server_start(rs.srv[1], 1));
	ASSERT_EQ(0, lt_info(cl[1], NULL, 0, &info));
	EXPECT_NE(rs.tid, info.tid);

	fastipc_client_close(small);
	for (i = 0; i < NSERVED; i++) {
		fastipc_client_close(cl[i]);
		fastipc_server_destroy(rs.srv[i]);
	}
	lt_state_fini(&st);
}

TEST_HARNESS_MAIN
