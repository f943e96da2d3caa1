// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * libfastipc-protobuf's server: a libfastipc handler per method of a
 * ProtobufCService implementation.
 *
 * The handler keeps all it needs on its stack (struct pb_call, the
 * closure_data the implementation gets), so it runs on any number of
 * threads at once, and on whatever serves the server: a thread pool,
 * fastipc_server_dispatch(), a ring, or a short-circuited caller's thread.
 */
#include <errno.h>
#include <stdbool.h>

#include "libfastipc-protobuf.h"

/* Tells a closure_data of ours from anything else. */
#define PB_CALL_MAGIC	0x70626366U

/* The call being handled, as its closure and the implementation see it. */
struct pb_call {
	uint32_t magic;
	bool answered;
	int32_t status;
	const ProtobufCMethodDescriptor *method;
	struct fastipc_msg *msg;
};

/* The implementation's answer: the output packed straight into the reply room. */
static void pb_server_closure(const ProtobufCMessage *output, void *closure_data)
{
	struct pb_call *call = closure_data;
	struct fastipc_msg *msg = call->msg;
	size_t len;

	if (call->answered)
		return;
	call->answered = true;
	if (!output || output->descriptor != call->method->output) {
		call->status = -EREMOTEIO;
		return;
	}
	call->status = 0;
	/* One-way: nobody to answer. */
	if (!msg->reply)
		return;
	len = protobuf_c_message_get_packed_size(output);
	if (len > msg->reply_cap) {
		call->status = -EMSGSIZE;
		return;
	}
	msg->reply_len = protobuf_c_message_pack(output, msg->reply);
}

static int32_t pb_server_handle(struct fastipc_server *server, struct fastipc_msg *msg, void *arg)
{
	ProtobufCService *service = arg;
	struct pb_call call = {
		.magic = PB_CALL_MAGIC,
		.status = -ENOMSG,
		.method = &service->descriptor->methods[msg->opcode],
		.msg = msg,
	};
	ProtobufCMessage *input;

	(void)server;
	/* In place in the receive pool (or the short-circuited caller's memory). */
	input = protobuf_c_message_unpack(call.method->input, NULL, msg->len, msg->data);
	if (!input)
		return -EBADMSG;
	service->invoke(service, msg->opcode, input, pb_server_closure, &call);
	protobuf_c_message_free_unpacked(input, NULL);
	call.magic = 0;
	return call.status;
}

/*
 * Whether @service implements method @i. A generated service struct's
 * invoke() calls the method pointers that follow its base, which the
 * implementation may leave NULL.
 */
static bool pb_server_implements(const ProtobufCService *service, unsigned int i)
{
	typedef void (*method_fn)(void);

	if (service->invoke != protobuf_c_service_invoke_internal)
		return true;
	return ((const method_fn *)(service + 1))[i];
}

int fastipc_pb_server_add(struct fastipc_server *server, ProtobufCService *service)
{
	const ProtobufCServiceDescriptor *desc = service ? service->descriptor : NULL;
	unsigned int i;
	int ret = 0;

	if (!desc || desc->magic != PROTOBUF_C__SERVICE_DESCRIPTOR_MAGIC || !service->invoke ||
	    desc->n_methods > FASTIPC_OPCODE_RESERVED)
		return -EINVAL;
	for (i = 0; !ret && i < desc->n_methods; i++)
		ret = fastipc_server_set_handler(server, i, pb_server_implements(service, i) ?
						 pb_server_handle : NULL, service);
	if (ret)
		fastipc_pb_server_remove(server, service);
	return ret;
}

void fastipc_pb_server_remove(struct fastipc_server *server, ProtobufCService *service)
{
	unsigned int i;

	for (i = 0; i < service->descriptor->n_methods; i++)
		fastipc_server_set_handler(server, i, NULL, NULL);
}

/* @closure_data as our call, or NULL. */
static struct pb_call *pb_call_of(void *closure_data)
{
	struct pb_call *call = closure_data;

	return call && call->magic == PB_CALL_MAGIC ? call : NULL;
}

int fastipc_pb_server_fail(void *closure_data, int32_t status)
{
	struct pb_call *call = pb_call_of(closure_data);

	if (!call || status <= 0)
		return -EINVAL;
	if (call->answered)
		return -EALREADY;
	call->answered = true;
	call->status = status;
	return 0;
}

const struct fastipc_msg *fastipc_pb_server_msg(void *closure_data)
{
	struct pb_call *call = pb_call_of(closure_data);

	return call ? call->msg : NULL;
}
