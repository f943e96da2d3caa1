// SPDX-License-Identifier: GPL-2.0
/*
 * fastipc_msg_forward(): a client calls server a, whose handler forwards the
 * call to server b (the test service), whose reply reaches the client. Each
 * test runs through the device, with the client's call to a short-circuited
 * (its forward is then a call of its own), with both hops short-circuited,
 * and with a device call to a whose client of b could short-circuit (the
 * forward still goes through the kernel).
 */
#include "libfastipc_test.h"

#include "kselftest_harness.h"

/* a's opcodes. */
enum {
	FW_PASS = 100,	/* request: u32 opcode + payload, forwarded to st->to */
	FW_BIG,		/* forwards LT_SLOT + 1 bytes to st->to */
	FW_TWICE,	/* forwards the request to st->to as OP_ECHO, then again */
	FW_LOOP,	/* forwards itself to a again, through st->self */
};

struct fw_state {
	struct fastipc_client *to;	/* a client of b */
	struct fastipc_client *self;	/* a client of a */
	int ret;			/* what the (last) forward returned */
	int again;			/* FW_TWICE's second forward */
	unsigned int calls;		/* atomic: handler runs */
	int done;			/* eventfd, semaphore: one write a handler run */
};

static uint8_t big[LT_SLOT + 1];

static int32_t fw_handle(struct fastipc_server *srv, struct fastipc_msg *msg, void *arg)
{
	struct fw_state *st = arg;
	const uint8_t *req = msg->data;
	uint32_t op = 0;
	int ret = -EPROTO;

	__atomic_add_fetch(&st->calls, 1, __ATOMIC_SEQ_CST);
	switch (msg->opcode) {
	case FW_PASS:
		if (msg->len < sizeof(op))
			break;
		memcpy(&op, req, sizeof(op));
		ret = fastipc_msg_forward(msg, st->to, op, req + sizeof(op),
					  msg->len - sizeof(op));
		break;
	case FW_BIG:
		ret = fastipc_msg_forward(msg, st->to, OP_ECHO, big, sizeof(big));
		break;
	case FW_TWICE:
		ret = fastipc_msg_forward(msg, st->to, OP_ECHO, req, msg->len);
		st->again = fastipc_msg_forward(msg, st->to, OP_ECHO, NULL, 0);
		break;
	case FW_LOOP:
		ret = fastipc_msg_forward(msg, st->self, FW_LOOP, NULL, 0);
		break;
	}
	st->ret = ret;
	eventfd_write(st->done, 1);
	if (!ret || ret == -ELOOP) {
		/* Consumed: both are ignored. */
		msg->reply_len = 1;
		return 12345;
	}
	/* Still ours: answer "A" with the error as the status. */
	if (msg->reply) {
		memcpy(msg->reply, "A", 1);
		msg->reply_len = 1;
	}
	return ret;
}

FIXTURE(chain) {
	struct lt_state bst;
	struct fw_state st;
	struct fastipc_server *a, *b;
	struct fastipc_client *cl;	/* the caller's, of a */
	char aname[FASTIPC_NAME_MAX], bname[FASTIPC_NAME_MAX];
};

FIXTURE_VARIANT(chain) {
	bool a_local;	/* the caller's calls to a are short-circuited */
	bool b_local;	/* a's client of b may short-circuit */
};

FIXTURE_VARIANT_ADD(chain, device) {
	.a_local = false,
	.b_local = false,
};

FIXTURE_VARIANT_ADD(chain, short_circuit_to_a) {
	.a_local = true,
	.b_local = false,
};

FIXTURE_VARIANT_ADD(chain, short_circuit_all) {
	.a_local = true,
	.b_local = true,
};

FIXTURE_VARIANT_ADD(chain, device_call_local_target) {
	.a_local = false,
	.b_local = true,
};

FIXTURE_SETUP(chain)
{
	struct fastipc_server_params p = {
		.slot_size = LT_SLOT,
		.nslots = LT_NSLOTS,
		.reply_size = LT_REPLY,
		.flags = FASTIPC_SERVER_ACCEPT_FORWARDS,
	};
	uint32_t op;

	memset(&self->st, 0, sizeof(self->st));
	self->st.done = eventfd(0, EFD_CLOEXEC | EFD_SEMAPHORE);
	ASSERT_LE(0, self->st.done);
	ASSERT_EQ(0, lt_state_init(&self->bst));
	lt_name(self->bname, sizeof(self->bname), "fwd.b");
	ASSERT_EQ(0, lt_server(&self->bst, self->bname, &self->b));
	ASSERT_EQ(0, fastipc_server_start(self->b, 1));

	lt_name(self->aname, sizeof(self->aname), "fwd.a");
	p.name = self->aname;
	ASSERT_EQ(0, fastipc_server_create(&p, &self->a));
	for (op = FW_PASS; op <= FW_LOOP; op++)
		ASSERT_EQ(0, fastipc_server_set_handler(self->a, op, fw_handle, &self->st));
	ASSERT_EQ(0, lt_client(self->bname, -1, variant->b_local, &self->st.to));
	ASSERT_EQ(variant->b_local, fastipc_client_is_local(self->st.to));
	ASSERT_EQ(0, lt_client(self->aname, -1, variant->a_local, &self->st.self));
	ASSERT_EQ(0, fastipc_server_start(self->a, 1));

	ASSERT_EQ(0, lt_client(self->aname, -1, variant->a_local, &self->cl));
	ASSERT_EQ(variant->a_local, fastipc_client_is_local(self->cl));
}

FIXTURE_TEARDOWN(chain)
{
	fastipc_client_close(self->cl);
	fastipc_client_close(self->st.self);
	fastipc_client_close(self->st.to);
	fastipc_server_destroy(self->a);
	fastipc_server_destroy(self->b);
	lt_state_fini(&self->bst);
	close(self->st.done);
}

/* FW_PASS to b's @op with @len bytes of @data: the call's outcome. */
static int pass(FIXTURE_DATA(chain) *self, uint32_t op, const void *data, uint32_t len,
		struct fastipc_reply *rep)
{
	uint8_t req[LT_SLOT];

	if (len > sizeof(req) - sizeof(op))
		return -E2BIG;
	memcpy(req, &op, sizeof(op));
	if (len)
		memcpy(req + sizeof(op), data, len);
	return fastipc_call(self->cl, FW_PASS, req, sizeof(op) + len, rep, 0);
}

/* Waits until a's handler ran @n more times. */
static void wait_handled(FIXTURE_DATA(chain) *self, unsigned int n)
{
	eventfd_t v;

	while (n--)
		eventfd_read(self->st.done, &v);
}

TEST_F(chain, forwarded_call_is_answered_by_the_target)
{
	struct fastipc_reply rep;
	uint8_t payload[700];

	fipc_fill(payload, sizeof(payload), 7);
	ASSERT_EQ(0, pass(self, OP_ECHO, payload, sizeof(payload), &rep));
	/* b's answer, not a's 12345 and 1 byte. */
	EXPECT_EQ(0, rep.status);
	ASSERT_EQ(sizeof(payload), rep.len);
	EXPECT_EQ(0, memcmp(rep.data, payload, sizeof(payload)));
	wait_handled(self, 1);
	EXPECT_EQ(0, self->st.ret);
	EXPECT_EQ(1, self->st.calls);

	/* An empty request, and again: the chain serves on. */
	ASSERT_EQ(0, pass(self, OP_ECHO, NULL, 0, &rep));
	EXPECT_EQ(0, rep.status);
	EXPECT_EQ(0, rep.len);
}

TEST_F(chain, target_reply_and_status_reach_the_caller_byte_exact)
{
	uint8_t want[LT_REPLY], got[LT_REPLY];
	struct fastipc_reply rep;
	uint32_t req[2] = { OP_SIZED, LT_REPLY };
	int32_t s = -77;

	fipc_fill(want, LT_REPLY, LT_REPLY);
	ASSERT_EQ(0, pass(self, OP_SIZED, &req[1], sizeof(req[1]), &rep));
	EXPECT_EQ(0, rep.status);
	ASSERT_EQ(LT_REPLY, rep.len);
	EXPECT_EQ(0, memcmp(rep.data, want, LT_REPLY));

	ASSERT_EQ(0, pass(self, OP_STATUS, &s, sizeof(s), &rep));
	EXPECT_EQ(-77, rep.status);
	EXPECT_EQ(0, rep.len);

	/* Into the caller's buffer; a reply longer than its room is -EMSGSIZE. */
	ASSERT_EQ(0, fastipc_call_copy(self->cl, FW_PASS, req, sizeof(req), got, sizeof(got),
				       &rep, 0));
	EXPECT_EQ(0, rep.status);
	ASSERT_EQ(LT_REPLY, rep.len);
	EXPECT_EQ(0, memcmp(got, want, LT_REPLY));
	req[1] = 100;
	ASSERT_EQ(0, fastipc_call_copy(self->cl, FW_PASS, req, sizeof(req), got, 99, &rep, 0));
	EXPECT_EQ(-EMSGSIZE, rep.status);
	EXPECT_EQ(0, rep.len);
}

TEST_F(chain, target_sees_the_new_request_flagged_forwarded)
{
	uint8_t payload[16] = "forwarded";
	struct fastipc_reply rep;
	struct lt_info info;
	uint8_t req[sizeof(uint32_t) + sizeof(payload)];

	memcpy(req, &(uint32_t){ OP_INFO }, sizeof(uint32_t));
	memcpy(req + sizeof(uint32_t), payload, sizeof(payload));
	ASSERT_EQ(0, fastipc_call_copy(self->cl, FW_PASS, req, sizeof(req), &info, sizeof(info),
				       &rep, 0));
	ASSERT_EQ(0, rep.status);
	ASSERT_EQ(sizeof(info), rep.len);
	EXPECT_EQ(sizeof(payload), info.len);
	/*
	 * a's server and the caller are this process. A short-circuited call
	 * has no token: its forward through the device is a new call.
	 */
	EXPECT_EQ(variant->a_local && !variant->b_local ? 0 : FASTIPC_MSG_FORWARDED,
		  info.flags);
	EXPECT_EQ(getpid(), info.pid);
	EXPECT_EQ(geteuid(), info.uid);
	EXPECT_EQ(getegid(), info.gid);
	if (variant->a_local && variant->b_local) {
		/* Both hops on this thread: b writes straight into our buffer. */
		EXPECT_EQ(gettid(), info.tid);
		EXPECT_EQ((uintptr_t)&info, info.reply);
		/* No copy of the request either: b reads it in place. */
		EXPECT_EQ((uintptr_t)(req + sizeof(uint32_t)), info.data);
	} else {
		EXPECT_NE(gettid(), info.tid);
	}
}

TEST_F(chain, forward_of_a_oneway_message_is_einval)
{
	struct fastipc_client *fence;
	struct fastipc_reply rep;
	uint32_t req[2] = { OP_NOTE, 5 };

	ASSERT_EQ(0, fastipc_send(self->cl, FW_PASS, req, sizeof(req), 0));
	wait_handled(self, 1);
	EXPECT_EQ(-EINVAL, self->st.ret);
	/* Nothing reached b: a call through the device queues behind it. */
	ASSERT_EQ(0, lt_client(self->bname, -1, false, &fence));
	ASSERT_EQ(0, fastipc_call(fence, OP_ECHO, "f", 1, &rep, 0));
	EXPECT_EQ(0, __atomic_load_n(&self->bst.nnotes, __ATOMIC_SEQ_CST));
	fastipc_client_close(fence);
}

TEST_F(chain, forward_to_a_closed_target_is_epipe_and_the_handler_still_answers)
{
	struct fastipc_reply rep;

	fastipc_server_destroy(self->b);
	self->b = NULL;
	ASSERT_EQ(0, pass(self, OP_ECHO, "x", 1, &rep));
	EXPECT_EQ(-EPIPE, rep.status);
	ASSERT_EQ(1, rep.len);
	EXPECT_EQ(0, memcmp(rep.data, "A", 1));
	EXPECT_EQ(-EPIPE, self->st.ret);
}

TEST_F(chain, oversized_forward_is_emsgsize_and_the_handler_still_answers)
{
	struct fastipc_reply rep;

	ASSERT_EQ(0, fastipc_call(self->cl, FW_BIG, NULL, 0, &rep, 0));
	EXPECT_EQ(-EMSGSIZE, rep.status);
	ASSERT_EQ(1, rep.len);
	EXPECT_EQ(0, memcmp(rep.data, "A", 1));
	/* Then a forward of the right size works. */
	ASSERT_EQ(0, pass(self, OP_ECHO, "ok", 2, &rep));
	EXPECT_EQ(0, rep.status);
	ASSERT_EQ(2, rep.len);
	EXPECT_EQ(0, memcmp(rep.data, "ok", 2));
}

TEST_F(chain, second_forward_of_a_message_is_enoent)
{
	struct fastipc_reply rep;

	ASSERT_EQ(0, fastipc_call(self->cl, FW_TWICE, "twice", 5, &rep, 0));
	EXPECT_EQ(0, rep.status);
	ASSERT_EQ(5, rep.len);
	EXPECT_EQ(0, memcmp(rep.data, "twice", 5));
	wait_handled(self, 1);
	EXPECT_EQ(0, self->st.ret);
	EXPECT_EQ(-ENOENT, self->st.again);
}

TEST_F(chain, forward_to_a_server_that_takes_no_forwards_is_eperm_and_the_handler_answers)
{
	struct fastipc_server_params p = { .slot_size = LT_SLOT, .reply_size = LT_REPLY };
	struct fastipc_client *to = self->st.to, *closed;
	struct fastipc_endpoint_info info;
	struct fastipc_server *srv;
	struct fastipc_reply rep;
	char name[64];

	lt_name(name, sizeof(name), "fwd.closed");
	p.name = name;
	ASSERT_EQ(0, fastipc_server_create(&p, &srv));
	ASSERT_EQ(0, fastipc_server_start(srv, 1));
	ASSERT_EQ(0, lt_client(name, -1, variant->b_local, &closed));
	fastipc_client_endpoint(closed, &info);
	EXPECT_EQ(0, info.ep_flags & FASTIPC_EP_ACCEPT_FORWARDS);
	self->st.to = closed;
	ASSERT_EQ(0, pass(self, OP_ECHO, "x", 1, &rep));
	self->st.to = to;
	EXPECT_EQ(-EPERM, rep.status);
	ASSERT_EQ(1, rep.len);
	EXPECT_EQ(0, memcmp(rep.data, "A", 1));
	fastipc_client_close(closed);
	fastipc_server_destroy(srv);
}

TEST_F(chain, forwarding_in_a_loop_gives_eloop_to_the_caller)
{
	struct fastipc_reply rep;

	EXPECT_EQ(-ELOOP, fastipc_call(self->cl, FW_LOOP, NULL, 0, &rep, 0));
	/* The call and FASTIPC_MAX_FORWARDS forwards of it. */
	wait_handled(self, FASTIPC_MAX_FORWARDS + 1);
	EXPECT_EQ(FASTIPC_MAX_FORWARDS + 1, __atomic_load_n(&self->st.calls, __ATOMIC_SEQ_CST));
	EXPECT_EQ(-ELOOP, self->st.ret);
	/* a serves on. */
	ASSERT_EQ(0, pass(self, OP_ECHO, "z", 1, &rep));
	EXPECT_EQ(0, memcmp(rep.data, "z", 1));
}

TEST_HARNESS_MAIN
