// SPDX-License-Identifier: GPL-2.0
/*
 * libfastipc-protobuf: a protobuf-c service (libfastipc_protobuf_test.proto)
 * called from this process and served by another, on a thread pool, from an
 * event loop and from a ring: every method, messages up to the slot size and
 * the reply room, malformed requests, unknown methods, implementations that
 * answer wrongly or not at all, replies that do not unpack, a server that
 * dies mid-call, timeouts, and each thread's own outcome. Then the same
 * process short-circuited, one-way messages, bad arguments, and the demo
 * example of lib/protobuf/examples/.
 */
#include "libfastipc_test.h"

#include <libgen.h>
#include <limits.h>

#include <libfastipc-protobuf.h>

#include "libfastipc_protobuf_test.pb-c.h"

#include "kselftest_harness.h"

#define PB_SLOT		8192
#define PB_REPLY	12288
/* Opcodes past the service's, handled by raw handlers of the test server. */
#define PB_OP_STOP	1000
/* The exit status of a server that died as Act DIE asks. */
#define PB_DIED		42
/* The method indexes, in the order of the .proto. */
enum { M_ECHO, M_GROW, M_MISBEHAVE, M_GARBLED, M_COUNT, M_NUMBER };

/* The implementation's state, in the process that serves. */
static int pb_entered = -1, pb_release = -1;	/* Act BLOCK's eventfds */
static uint64_t pb_count;			/* Count's, atomic */
static int pb_fail_ret;				/* what fastipc_pb_server_fail() last returned */
static bool pb_stopped;				/* the event loop's stop */

static void t_echo(Pbtest__PbTest_Service *service, const Pbtest__Blob *in,
		   Pbtest__Blob_Closure closure, void *closure_data)
{
	Pbtest__Blob out = PBTEST__BLOB__INIT;

	out.data = in->data;
	closure(&out, closure_data);
}

static void t_grow(Pbtest__PbTest_Service *service, const Pbtest__Size *in,
		   Pbtest__Blob_Closure closure, void *closure_data)
{
	Pbtest__Blob out = PBTEST__BLOB__INIT;

	out.data.len = in->len;
	out.data.data = malloc(in->len + 1);
	if (!out.data.data) {
		closure(NULL, closure_data);
		return;
	}
	fipc_fill(out.data.data, in->len, in->len);
	closure(&out, closure_data);
	free(out.data.data);
}

/* A Blob of @len bytes at @data. */
static void blob_answer(Pbtest__Blob_Closure closure, void *closure_data, const void *data,
			size_t len)
{
	Pbtest__Blob out = PBTEST__BLOB__INIT;

	out.data.data = (uint8_t *)data;
	out.data.len = len;
	closure(&out, closure_data);
}

static void t_misbehave(Pbtest__PbTest_Service *service, const Pbtest__Act *in,
			Pbtest__Blob_Closure closure, void *closure_data)
{
	Pbtest__Counter counter = PBTEST__COUNTER__INIT;
	const struct fastipc_msg *msg;
	int32_t who[2];
	eventfd_t v;

	switch (in->how) {
	case PBTEST__ACT__HOW__ANSWER:
		blob_answer(closure, closure_data, "ok", 2);
		break;
	case PBTEST__ACT__HOW__NO_ANSWER:
		break;
	case PBTEST__ACT__HOW__NULL_ANSWER:
		closure(NULL, closure_data);
		break;
	case PBTEST__ACT__HOW__FAIL:
		pb_fail_ret = fastipc_pb_server_fail(closure_data, in->status);
		break;
	case PBTEST__ACT__HOW__WRONG_TYPE:
		closure((const Pbtest__Blob *)&counter, closure_data);
		break;
	case PBTEST__ACT__HOW__TWICE:
		blob_answer(closure, closure_data, "first", 5);
		pb_fail_ret = fastipc_pb_server_fail(closure_data, 1);
		blob_answer(closure, closure_data, "second", 6);
		break;
	case PBTEST__ACT__HOW__BLOCK:
		eventfd_write(pb_entered, 1);
		eventfd_read(pb_release, &v);
		blob_answer(closure, closure_data, "late", 4);
		break;
	case PBTEST__ACT__HOW__DIE:
		_exit(PB_DIED);
	case PBTEST__ACT__HOW__CALLER:
		msg = fastipc_pb_server_msg(closure_data);
		who[0] = msg ? msg->pid : -1;
		who[1] = msg ? (int32_t)msg->uid : -1;
		blob_answer(closure, closure_data, who, sizeof(who));
		break;
	default:
		break;
	}
}

/* Never called: a raw handler takes the opcode. */
static void t_garbled(Pbtest__PbTest_Service *service, const Pbtest__Blob *in,
		      Pbtest__Blob_Closure closure, void *closure_data)
{
	closure(NULL, closure_data);
}

static void t_count(Pbtest__PbTest_Service *service, const Pbtest__Blob *in,
		    Pbtest__Counter_Closure closure, void *closure_data)
{
	Pbtest__Counter out = PBTEST__COUNTER__INIT;

	out.n = __atomic_add_fetch(&pb_count, 1, __ATOMIC_SEQ_CST);
	closure(&out, closure_data);
}

static Pbtest__PbTest_Service pb_impl = PBTEST__PB_TEST__INIT(t_);

/* Method 3's raw handler: status 0 with bytes that are not a Blob. */
static int32_t garbled(struct fastipc_server *srv, struct fastipc_msg *msg, void *arg)
{
	/* Field 1, length-delimited, 100 bytes long: only 1 follows. */
	memcpy(msg->reply, "\x0a\x64z", 3);
	msg->reply_len = 3;
	return 0;
}

static int32_t stop(struct fastipc_server *srv, struct fastipc_msg *msg, void *arg)
{
	pb_stopped = true;
	return fastipc_server_stop(srv);
}

/* The test service's server: the implementation and the raw handlers. */
static int pb_server(const char *name, struct fastipc_server **srvp)
{
	struct fastipc_server_params p = {
		.name = name,
		.slot_size = PB_SLOT,
		.nslots = 8,
		.reply_size = PB_REPLY,
	};
	int ret;

	ret = fastipc_server_create(&p, srvp);
	if (!ret)
		ret = fastipc_pb_server_add(*srvp, &pb_impl.base);
	if (!ret)
		ret = fastipc_server_set_handler(*srvp, M_GARBLED, garbled, NULL);
	if (!ret)
		ret = fastipc_server_set_handler(*srvp, PB_OP_STOP, stop, NULL);
	return ret;
}

enum pb_serving { PB_THREADS, PB_EVENT_LOOP, PB_RING };

/* Runs the event loop: poll, dispatch, until stopped. */
static int pb_event_loop(struct fastipc_server *srv)
{
	struct pollfd pfd = { .fd = fastipc_server_fd(srv), .events = POLLIN };
	int ret = 0;

	while (!pb_stopped && ret >= 0) {
		if (poll(&pfd, 1, -1) < 0)
			return -errno;
		ret = fastipc_server_dispatch(srv, 0);
	}
	return ret < 0 ? ret : 0;
}

/*
 * The server process: serves @name as @how says until PB_OP_STOP. Writes
 * 'r' to @ready once serving, 's' if a ring is not supported. Its exit
 * status: 0, or 1 on an error.
 */
static int pb_serve(const char *name, enum pb_serving how, int ready)
{
	struct fastipc_server *srv;
	struct fastipc_ring *ring;
	int ret;

	ret = pb_server(name, &srv);
	if (ret)
		return 1;
	switch (how) {
	case PB_THREADS:
		ret = fastipc_server_start(srv, 2);
		if (!ret && write(ready, "r", 1) != 1)
			ret = -errno;
		if (!ret)
			ret = fastipc_server_wait(srv);
		break;
	case PB_EVENT_LOOP:
		if (write(ready, "r", 1) != 1)
			return 1;
		ret = pb_event_loop(srv);
		break;
	case PB_RING:
		ret = fastipc_ring_create(0, 0, &ring);
		if (ret == -EOPNOTSUPP)
			return write(ready, "s", 1) == 1 ? 0 : 1;
		if (ret || write(ready, "r", 1) != 1)
			return 1;
		ret = fastipc_ring_serve(ring, &srv, 1);
		fastipc_ring_destroy(ring);
		break;
	}
	fastipc_server_destroy(srv);
	return ret ? 1 : 0;
}

FIXTURE(pb) {
	char name[FASTIPC_NAME_MAX];
	pid_t pid;
	int exit_status;	/* the server's expected exit status */
	struct fastipc_client *cl;
	ProtobufCService *svc;
};

FIXTURE_VARIANT(pb) {
	enum pb_serving serving;
};

FIXTURE_VARIANT_ADD(pb, thread_pool) {
	.serving = PB_THREADS,
};

FIXTURE_VARIANT_ADD(pb, event_loop) {
	.serving = PB_EVENT_LOOP,
};

FIXTURE_VARIANT_ADD(pb, ring) {
	.serving = PB_RING,
};

FIXTURE_SETUP(pb)
{
	struct fastipc_client_params cp = { .flags = FASTIPC_CLIENT_NO_SHORT_CIRCUIT };
	int ready[2];
	char c = 0;

	lt_name(self->name, sizeof(self->name), "pb");
	pb_entered = eventfd(0, EFD_CLOEXEC | EFD_SEMAPHORE);
	pb_release = eventfd(0, EFD_CLOEXEC | EFD_SEMAPHORE);
	ASSERT_LE(0, pb_entered);
	ASSERT_LE(0, pb_release);
	ASSERT_EQ(0, pipe2(ready, O_CLOEXEC));
	self->pid = fipc_fork();
	ASSERT_LE(0, self->pid);
	if (self->pid == 0) {
		close(ready[0]);
		_exit(pb_serve(self->name, variant->serving, ready[1]));
	}
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	close(ready[0]);
	if (c == 's') {
		ASSERT_EQ(0, fipc_reap(self->pid));
		SKIP(return, "the module has no FASTIPC_F_URING");
	}
	ASSERT_EQ('r', c);
	ASSERT_EQ(0, fastipc_client_connect_name(self->name, &cp, &self->cl));
	ASSERT_EQ(0, fastipc_pb_client_create(self->cl, &pbtest__pb_test__descriptor, NULL,
					      &self->svc));
}

FIXTURE_TEARDOWN(pb)
{
	struct fastipc_reply rep;

	if (self->exit_status == 0) {
		EXPECT_EQ(0, fastipc_call(self->cl, PB_OP_STOP, NULL, 0, &rep, 0));
		EXPECT_EQ(0, rep.status);
	}
	protobuf_c_service_destroy(self->svc);
	fastipc_client_close(self->cl);
	EXPECT_EQ(self->exit_status, fipc_reap(self->pid));
	close(pb_entered);
	close(pb_release);
}

/* What a closure got: a copy of the Blob, or that it got NULL. */
struct blob_result {
	int calls;
	bool null;
	uint8_t data[64];
	size_t len;
};

static void blob_done(const Pbtest__Blob *out, void *closure_data)
{
	struct blob_result *r = closure_data;

	r->calls++;
	r->null = !out;
	r->len = out ? out->data.len : 0;
	if (out && out->data.len <= sizeof(r->data))
		memcpy(r->data, out->data.data, out->data.len);
}

/* Whether the closure was called once, with the Blob @text. */
static bool blob_is(const struct blob_result *r, const char *text)
{
	return r->calls == 1 && !r->null && r->len == strlen(text) &&
	       !memcmp(r->data, text, r->len);
}

static void counter_done(const Pbtest__Counter *out, void *closure_data)
{
	uint64_t *n = closure_data;

	*n = out ? out->n : 0;
}

/* Misbehave with @how and @status through the stub: what the closure got. */
static struct blob_result misbehave(ProtobufCService *svc, Pbtest__Act__How how, int32_t status)
{
	Pbtest__Act act = PBTEST__ACT__INIT;
	struct blob_result r = { 0 };

	act.how = how;
	act.status = status;
	pbtest__pb_test__misbehave(svc, &act, blob_done, &r);
	return r;
}

/* An Echo of @len pattern bytes through the stub: 0, -errno, status or -EPROTO. */
static int echo_check(ProtobufCService *svc, size_t len)
{
	Pbtest__Blob in = PBTEST__BLOB__INIT;
	ProtobufCMessage *out;
	Pbtest__Blob *blob;
	int32_t status;
	int ret;

	in.data.data = malloc(len + 1);
	in.data.len = len;
	if (!in.data.data)
		return -ENOMEM;
	fipc_fill(in.data.data, len, len);
	ret = fastipc_pb_client_call(svc, M_ECHO, &in.base, &out, &status);
	free(in.data.data);
	if (ret)
		return ret;
	if (status)
		return status;
	blob = (Pbtest__Blob *)out;
	if (blob->data.len != len || !fipc_check(blob->data.data, len, len))
		ret = -EPROTO;
	protobuf_c_message_free_unpacked(out, NULL);
	return ret;
}

/* The largest data of a Blob that packs into @room bytes. */
static size_t blob_room(size_t room)
{
	Pbtest__Blob b = PBTEST__BLOB__INIT;

	b.data.len = room;
	while (b.data.len && pbtest__blob__get_packed_size(&b) > room)
		b.data.len--;
	return b.data.len;
}

TEST_F(pb, every_method_answers_through_the_generated_stubs)
{
	Pbtest__Blob in = PBTEST__BLOB__INIT;
	Pbtest__Size size = PBTEST__SIZE__INIT;
	struct blob_result r = { 0 };
	int32_t status = -1;
	uint64_t n = 0;

	in.data.data = (uint8_t *)"hello";
	in.data.len = 5;
	pbtest__pb_test__echo(self->svc, &in, blob_done, &r);
	EXPECT_TRUE(blob_is(&r, "hello"));
	EXPECT_EQ(0, fastipc_pb_client_last(&status));
	EXPECT_EQ(0, status);

	size.len = 40;
	memset(&r, 0, sizeof(r));
	pbtest__pb_test__grow(self->svc, &size, blob_done, &r);
	ASSERT_FALSE(r.null);
	EXPECT_EQ(40, r.len);
	EXPECT_TRUE(fipc_check(r.data, 40, 40));

	r = misbehave(self->svc, PBTEST__ACT__HOW__ANSWER, 0);
	EXPECT_TRUE(blob_is(&r, "ok"));

	/* An empty message is a message: zero bytes, and a Blob with no data. */
	memset(&r, 0, sizeof(r));
	in.data.len = 0;
	pbtest__pb_test__echo(self->svc, &in, blob_done, &r);
	EXPECT_FALSE(r.null);
	EXPECT_EQ(0, r.len);

	pbtest__pb_test__count(self->svc, &in, counter_done, &n);
	EXPECT_EQ(1, n);
	pbtest__pb_test__count(self->svc, &in, counter_done, &n);
	EXPECT_EQ(2, n);
}

TEST_F(pb, client_call_returns_the_output_message_to_free)
{
	Pbtest__Blob in = PBTEST__BLOB__INIT;
	ProtobufCMessage *out = NULL;
	int32_t status = -1;

	ASSERT_EQ(0, fastipc_pb_client_call(self->svc, M_COUNT, &in.base, &out, &status));
	EXPECT_EQ(0, status);
	ASSERT_NE(NULL, out);
	ASSERT_EQ(&pbtest__counter__descriptor, out->descriptor);
	EXPECT_EQ(1, ((Pbtest__Counter *)out)->n);
	protobuf_c_message_free_unpacked(out, NULL);
	/* Without @outputp the output is freed. */
	EXPECT_EQ(0, fastipc_pb_client_call(self->svc, M_COUNT, &in.base, NULL, &status));
	EXPECT_EQ(0, status);
}

TEST_F(pb, requests_fill_the_slot_and_one_byte_more_is_emsgsize)
{
	size_t len = blob_room(PB_SLOT);
	Pbtest__Blob in = PBTEST__BLOB__INIT;
	struct blob_result r = { 0 };
	static uint8_t big[PB_SLOT];
	int32_t status = -1;

	in.data.data = big;
	in.data.len = len;
	ASSERT_EQ(PB_SLOT, pbtest__blob__get_packed_size(&in));
	/* Request and its echo both PB_SLOT bytes packed. */
	EXPECT_EQ(0, echo_check(self->svc, len));
	EXPECT_EQ(-EMSGSIZE, echo_check(self->svc, len + 1));
	in.data.len = len + 1;
	pbtest__pb_test__echo(self->svc, &in, blob_done, &r);
	EXPECT_EQ(1, r.calls);
	EXPECT_TRUE(r.null);
	EXPECT_EQ(-EMSGSIZE, fastipc_pb_client_last(&status));
	EXPECT_EQ(0, status);
	EXPECT_EQ(0, echo_check(self->svc, 1));
}

TEST_F(pb, replies_fill_the_reply_room_and_one_byte_more_is_emsgsize)
{
	size_t len = blob_room(PB_REPLY);
	Pbtest__Size size = PBTEST__SIZE__INIT;
	ProtobufCMessage *out = NULL;
	Pbtest__Blob *blob;
	int32_t status = -1;

	size.len = len;
	ASSERT_EQ(0, fastipc_pb_client_call(self->svc, M_GROW, &size.base, &out, &status));
	EXPECT_EQ(0, status);
	ASSERT_NE(NULL, out);
	blob = (Pbtest__Blob *)out;
	EXPECT_EQ(PB_REPLY, pbtest__blob__get_packed_size(blob));
	EXPECT_TRUE(fipc_check(blob->data.data, len, len));
	protobuf_c_message_free_unpacked(out, NULL);

	size.len = len + 1;
	EXPECT_EQ(0, fastipc_pb_client_call(self->svc, M_GROW, &size.base, &out, &status));
	EXPECT_EQ(-EMSGSIZE, status);
	EXPECT_EQ(NULL, out);
	EXPECT_EQ(0, echo_check(self->svc, 100));
}

TEST_F(pb, a_reply_over_the_clients_room_is_emsgsize)
{
	struct fastipc_client_params cp = {
		.reply_size = 1024,
		.flags = FASTIPC_CLIENT_NO_SHORT_CIRCUIT,
	};
	Pbtest__Size size = PBTEST__SIZE__INIT;
	struct fastipc_client *cl;
	ProtobufCService *svc;
	ProtobufCMessage *out;
	int32_t status = -1;

	ASSERT_EQ(0, fastipc_client_connect_name(self->name, &cp, &cl));
	ASSERT_EQ(0, fastipc_pb_client_create(cl, &pbtest__pb_test__descriptor, NULL, &svc));
	size.len = blob_room(1024);
	EXPECT_EQ(0, fastipc_pb_client_call(svc, M_GROW, &size.base, &out, &status));
	EXPECT_EQ(0, status);
	protobuf_c_message_free_unpacked(out, NULL);
	size.len++;
	EXPECT_EQ(0, fastipc_pb_client_call(svc, M_GROW, &size.base, &out, &status));
	EXPECT_EQ(-EMSGSIZE, status);
	EXPECT_EQ(NULL, out);
	protobuf_c_service_destroy(svc);
	fastipc_client_close(cl);
}

TEST_F(pb, a_malformed_request_is_ebadmsg_and_the_server_serves_on)
{
	static const char *const bad[] = {
		"\x0a\x05z",		/* bytes field claiming 5 bytes, 1 there */
		"\x0f",			/* wire type 7 */
		"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",	/* a varint too long */
	};
	struct fastipc_reply rep;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ASSERT_EQ(0, fastipc_call(self->cl, M_ECHO, bad[i], strlen(bad[i]), &rep, 0));
		EXPECT_EQ(-EBADMSG, rep.status);
		EXPECT_EQ(0, rep.len);
		EXPECT_EQ(0, echo_check(self->svc, 10 + i));
	}
}

TEST_F(pb, an_unknown_method_is_eopnotsupp_and_the_server_serves_on)
{
	Pbtest__Blob in = PBTEST__BLOB__INIT;
	struct fastipc_reply rep;
	int32_t status = -1;

	/* A newer client's method, as an older server sees it. */
	ASSERT_EQ(0, fastipc_call(self->cl, M_NUMBER, "", 0, &rep, 0));
	EXPECT_EQ(-EOPNOTSUPP, rep.status);
	EXPECT_EQ(0, echo_check(self->svc, 3));
	/* Our own service has no such method: nothing is sent. */
	EXPECT_EQ(-EINVAL, fastipc_pb_client_call(self->svc, M_NUMBER, &in.base, NULL, &status));
	EXPECT_EQ(0, status);
}

TEST_F(pb, implementations_that_answer_wrongly_get_documented_statuses)
{
	static const struct {
		Pbtest__Act__How how;
		int32_t fail;		/* Act's status */
		int32_t status;		/* the caller's */
	} cases[] = {
		{ PBTEST__ACT__HOW__NO_ANSWER, 0, -ENOMSG },
		{ PBTEST__ACT__HOW__NULL_ANSWER, 0, -EREMOTEIO },
		{ PBTEST__ACT__HOW__WRONG_TYPE, 0, -EREMOTEIO },
		{ PBTEST__ACT__HOW__FAIL, 42, 42 },
		/* Only an application's status, above 0: nothing answered. */
		{ PBTEST__ACT__HOW__FAIL, -EPIPE, -ENOMSG },
	};
	struct blob_result r;
	int32_t status;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		r = misbehave(self->svc, cases[i].how, cases[i].fail);
		EXPECT_EQ(1, r.calls);
		EXPECT_TRUE(r.null);
		EXPECT_EQ(0, fastipc_pb_client_last(&status));
		EXPECT_EQ(cases[i].status, status);
	}

	/* The first answer stands. */
	r = misbehave(self->svc, PBTEST__ACT__HOW__TWICE, 0);
	EXPECT_TRUE(blob_is(&r, "first"));
	EXPECT_EQ(0, fastipc_pb_client_last(&status));
	EXPECT_EQ(0, status);
	EXPECT_EQ(0, echo_check(self->svc, 7));
}

TEST_F(pb, a_reply_that_does_not_unpack_is_eproto)
{
	Pbtest__Blob in = PBTEST__BLOB__INIT;
	struct blob_result r = { 0 };
	ProtobufCMessage *out;
	int32_t status = -1;

	EXPECT_EQ(-EPROTO, fastipc_pb_client_call(self->svc, M_GARBLED, &in.base, &out, &status));
	EXPECT_EQ(0, status);
	EXPECT_EQ(NULL, out);
	pbtest__pb_test__garbled(self->svc, &in, blob_done, &r);
	EXPECT_EQ(1, r.calls);
	EXPECT_TRUE(r.null);
	EXPECT_EQ(-EPROTO, fastipc_pb_client_last(&status));
	EXPECT_EQ(0, status);
}

TEST_F(pb, a_server_that_dies_mid_call_is_epipe)
{
	struct blob_result r;
	int32_t status = -1;

	self->exit_status = PB_DIED;
	r = misbehave(self->svc, PBTEST__ACT__HOW__DIE, 0);
	EXPECT_EQ(1, r.calls);
	EXPECT_TRUE(r.null);
	EXPECT_EQ(-EPIPE, fastipc_pb_client_last(&status));
	EXPECT_EQ(0, status);
	/* And so is every call after. */
	EXPECT_EQ(-EPIPE, echo_check(self->svc, 1));
}

TEST_F(pb, a_call_the_server_does_not_answer_in_time_is_etimedout)
{
	struct fastipc_pb_client_params params = { .timeout_ns = 1000 * 1000 };
	Pbtest__Act act = PBTEST__ACT__INIT;
	ProtobufCService *svc;
	int32_t status = -1;

	ASSERT_EQ(0, fastipc_pb_client_create(self->cl, &pbtest__pb_test__descriptor, &params,
					      &svc));
	/* Held until released, which only this thread does, after the call. */
	act.how = PBTEST__ACT__HOW__BLOCK;
	EXPECT_EQ(-ETIMEDOUT, fastipc_pb_client_call(svc, M_MISBEHAVE, &act.base, NULL,
						     &status));
	EXPECT_EQ(0, status);
	eventfd_write(pb_release, 1);
	protobuf_c_service_destroy(svc);
	/* The server goes on: a call without a timeout is answered. */
	act.how = PBTEST__ACT__HOW__ANSWER;
	EXPECT_EQ(0, fastipc_pb_client_call(self->svc, M_MISBEHAVE, &act.base, NULL, &status));
	EXPECT_EQ(0, status);
}

/* The other thread of the test below: a call that succeeds. */
struct pb_other {
	ProtobufCService *svc;
	pthread_barrier_t barrier;
	int last;
	int32_t status;
};

static void *pb_other_fn(void *arg)
{
	struct pb_other *o = arg;

	misbehave(o->svc, PBTEST__ACT__HOW__ANSWER, 0);
	pthread_barrier_wait(&o->barrier);
	o->last = fastipc_pb_client_last(&o->status);
	return NULL;
}

TEST_F(pb, each_thread_sees_the_outcome_of_its_own_last_call)
{
	struct pb_other o = { .svc = self->svc, .last = -1, .status = -1 };
	int32_t status = -1;
	pthread_t other;

	ASSERT_EQ(0, pthread_barrier_init(&o.barrier, NULL, 2));
	ASSERT_EQ(0, pthread_create(&other, NULL, pb_other_fn, &o));
	misbehave(self->svc, PBTEST__ACT__HOW__FAIL, 7);
	/* Both calls are over before either thread looks. */
	pthread_barrier_wait(&o.barrier);
	EXPECT_EQ(0, fastipc_pb_client_last(&status));
	EXPECT_EQ(7, status);
	pthread_join(other, NULL);
	pthread_barrier_destroy(&o.barrier);
	EXPECT_EQ(0, o.last);
	EXPECT_EQ(0, o.status);
}

TEST_F(pb, the_implementation_sees_the_caller)
{
	struct blob_result r;
	int32_t who[2];

	r = misbehave(self->svc, PBTEST__ACT__HOW__CALLER, 0);
	ASSERT_FALSE(r.null);
	ASSERT_EQ(sizeof(who), r.len);
	memcpy(who, r.data, sizeof(who));
	EXPECT_EQ(getpid(), who[0]);
	EXPECT_EQ((int32_t)geteuid(), who[1]);
}

/* A server of this process and a client of it, short-circuited or not. */
FIXTURE(local) {
	struct fastipc_server *srv;
	struct fastipc_client *cl;
	ProtobufCService *svc;
};

FIXTURE_SETUP(local)
{
	ASSERT_EQ(0, pb_server(NULL, &self->srv));
	/* The default reply room, larger than the server's. */
	ASSERT_EQ(0, fastipc_client_connect_fd(fastipc_server_fd(self->srv), NULL, &self->cl));
	ASSERT_EQ(0, fastipc_pb_client_create(self->cl, &pbtest__pb_test__descriptor, NULL,
					      &self->svc));
}

FIXTURE_TEARDOWN(local)
{
	protobuf_c_service_destroy(self->svc);
	fastipc_client_close(self->cl);
	fastipc_server_destroy(self->srv);
}

TEST_F(local, a_short_circuited_call_runs_the_implementation_on_this_thread)
{
	size_t len = blob_room(PB_SLOT);
	struct blob_result r;
	int32_t who[2], status;

	ASSERT_TRUE(fastipc_client_is_local(self->cl));
	EXPECT_EQ(0, echo_check(self->svc, len));
	EXPECT_EQ(-EMSGSIZE, echo_check(self->svc, len + 1));
	r = misbehave(self->svc, PBTEST__ACT__HOW__CALLER, 0);
	ASSERT_EQ(sizeof(who), r.len);
	memcpy(who, r.data, sizeof(who));
	EXPECT_EQ(getpid(), who[0]);
	/* What fastipc_pb_server_fail() returned, here in this process. */
	r = misbehave(self->svc, PBTEST__ACT__HOW__FAIL, 0);
	EXPECT_EQ(-EINVAL, pb_fail_ret);
	EXPECT_EQ(0, fastipc_pb_client_last(&status));
	EXPECT_EQ(-ENOMSG, status);
	r = misbehave(self->svc, PBTEST__ACT__HOW__TWICE, 0);
	EXPECT_EQ(-EALREADY, pb_fail_ret);
	EXPECT_TRUE(blob_is(&r, "first"));
	r = misbehave(self->svc, PBTEST__ACT__HOW__FAIL, 3);
	EXPECT_EQ(0, pb_fail_ret);
	EXPECT_EQ(0, fastipc_pb_client_last(&status));
	EXPECT_EQ(3, status);
}

TEST_F(local, a_one_way_message_runs_the_method_and_drops_its_output)
{
	struct fastipc_client *dev;
	uint8_t packed[16];
	Pbtest__Blob in = PBTEST__BLOB__INIT;
	uint64_t before = __atomic_load_n(&pb_count, __ATOMIC_SEQ_CST);
	size_t len;

	/* One-way messages always go through the device. */
	ASSERT_EQ(0, lt_client(NULL, fastipc_server_fd(self->srv), false, &dev));
	len = pbtest__blob__pack(&in, packed);
	ASSERT_EQ(0, fastipc_send(dev, M_COUNT, packed, len, 0));
	/* Malformed, it is dropped. */
	ASSERT_EQ(0, fastipc_send(dev, M_COUNT, "\x0f", 1, 0));
	EXPECT_EQ(2, fastipc_server_dispatch(self->srv, 0));
	EXPECT_EQ(before + 1, __atomic_load_n(&pb_count, __ATOMIC_SEQ_CST));
	fastipc_client_close(dev);
}

TEST_F(local, a_removed_service_is_eopnotsupp)
{
	Pbtest__Blob in = PBTEST__BLOB__INIT;
	int32_t status;

	fastipc_pb_server_remove(self->srv, &pb_impl.base);
	EXPECT_EQ(0, fastipc_pb_client_call(self->svc, M_ECHO, &in.base, NULL, &status));
	EXPECT_EQ(-EOPNOTSUPP, status);
	ASSERT_EQ(0, fastipc_pb_server_add(self->srv, &pb_impl.base));
	EXPECT_EQ(0, fastipc_pb_client_call(self->svc, M_ECHO, &in.base, NULL, &status));
	EXPECT_EQ(0, status);
}

TEST_F(local, a_method_left_null_is_eopnotsupp)
{
	Pbtest__PbTest_Service partial = PBTEST__PB_TEST__INIT(t_);
	Pbtest__Blob in = PBTEST__BLOB__INIT;
	int32_t status = -1;

	partial.echo = NULL;
	ASSERT_EQ(0, fastipc_pb_server_add(self->srv, &partial.base));
	EXPECT_EQ(0, fastipc_pb_client_call(self->svc, M_ECHO, &in.base, NULL, &status));
	EXPECT_EQ(-EOPNOTSUPP, status);
	EXPECT_EQ(0, fastipc_pb_client_call(self->svc, M_COUNT, &in.base, NULL, &status));
	EXPECT_EQ(0, status);
	fastipc_pb_server_remove(self->srv, &partial.base);
}

TEST_F(local, bad_arguments_are_einval)
{
	struct fastipc_pb_client_params params = { .flags = 1 };
	ProtobufCServiceDescriptor bad_desc = pbtest__pb_test__descriptor;
	Pbtest__PbTest_Service bad_impl = PBTEST__PB_TEST__INIT(t_);
	Pbtest__Counter counter = PBTEST__COUNTER__INIT;
	Pbtest__Blob in = PBTEST__BLOB__INIT;
	ProtobufCMessage *out = &in.base;
	ProtobufCService *svc;
	int32_t status = -1;
	int not_a_call = 0;

	EXPECT_EQ(-EINVAL, fastipc_pb_client_create(self->cl, &pbtest__pb_test__descriptor,
						    &params, &svc));
	bad_desc.magic = 0;
	EXPECT_EQ(-EINVAL, fastipc_pb_client_create(self->cl, &bad_desc, NULL, &svc));
	bad_impl.base.descriptor = &bad_desc;
	EXPECT_EQ(-EINVAL, fastipc_pb_server_add(self->srv, &bad_impl.base));
	/* An input of another method's type. */
	EXPECT_EQ(-EINVAL, fastipc_pb_client_call(self->svc, M_ECHO, &counter.base, &out,
						  &status));
	EXPECT_EQ(NULL, out);
	EXPECT_EQ(0, status);
	EXPECT_EQ(-EINVAL, fastipc_pb_client_call(self->svc, M_ECHO, NULL, NULL, NULL));
	/* Not a service of ours. */
	EXPECT_EQ(-EINVAL, fastipc_pb_client_call(&pb_impl.base, M_ECHO, &in.base, NULL, NULL));
	/* Not a call of ours. */
	EXPECT_EQ(-EINVAL, fastipc_pb_server_fail(&not_a_call, 1));
	EXPECT_EQ(NULL, fastipc_pb_server_msg(&not_a_call));
	EXPECT_EQ(-EINVAL, fastipc_pb_server_fail(NULL, 1));
}

/* The demo example of lib/protobuf/examples/: @prog's path. */
static void demo_path(char *buf, size_t len, const char *prog)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	exe[n > 0 ? n : 0] = 0;
	snprintf(buf, len, "%s/../lib/protobuf/examples/%s", dirname(exe), prog);
}

/*
 * Runs pb_demo_client with @args (at most 6) against the server @name: its
 * exit status, what it printed (standard output and error) in @out.
 */
static int demo_client(const char *name, char *out, size_t len, const char *const *args)
{
	char path[PATH_MAX];
	const char *argv[10] = { path, "-n", name };
	int pipefd[2], i, status;
	ssize_t n, got = 0;
	pid_t pid;

	demo_path(path, sizeof(path), "pb_demo_client");
	for (i = 0; args[i] && i < 6; i++)
		argv[3 + i] = args[i];
	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	pid = fipc_fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		dup2(pipefd[1], STDERR_FILENO);
		execv(path, (char **)argv);
		_exit(127);
	}
	close(pipefd[1]);
	while (got < (ssize_t)len - 1 && (n = read(pipefd[0], out + got, len - 1 - got)) > 0)
		got += n;
	out[got] = 0;
	close(pipefd[0]);
	status = fipc_reap(pid);
	return status;
}

TEST(the_demo_example_serves_and_calls)
{
	static const char *const echo[] = { "echo", "hello", "world", NULL };
	static const char *const stat[] = { "stat", "3", "-1", "4", NULL };
	static const char *const stat_none[] = { "stat", NULL };
	char name[FASTIPC_NAME_MAX], path[PATH_MAX], out[256];
	int pipefd[2];
	FILE *server;
	pid_t pid;

	lt_name(name, sizeof(name), "demo");
	demo_path(path, sizeof(path), "pb_demo_server");
	ASSERT_EQ(0, pipe2(pipefd, O_CLOEXEC));
	pid = fipc_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		execl(path, path, name, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	server = fdopen(pipefd[0], "r");
	ASSERT_NE(NULL, server);
	ASSERT_NE(NULL, fgets(out, sizeof(out), server));
	ASSERT_STREQ("ready\n", out);

	EXPECT_EQ(0, demo_client(name, out, sizeof(out), echo));
	EXPECT_STREQ("hello (call 1)\nworld (call 2)\n", out);
	EXPECT_EQ(0, demo_client(name, out, sizeof(out), stat));
	EXPECT_STREQ("count 3 sum 6 min -1 max 4\n", out);
	/* NO_VALUES: the closure gets NULL, the client says why. */
	EXPECT_EQ(1, demo_client(name, out, sizeof(out), stat_none));
	EXPECT_STREQ("stat: no values\n", out);

	ASSERT_EQ(0, kill(pid, SIGTERM));
	ASSERT_NE(NULL, fgets(out, sizeof(out), server));
	EXPECT_STREQ("served 4\n", out);
	fclose(server);
	EXPECT_EQ(0, fipc_reap(pid));
}

TEST_HARNESS_MAIN
