// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * libfastipc-protobuf's client: a ProtobufCService whose invoke() is a
 * fastipc call.
 *
 * A service holds nothing that changes after it is created, so any number
 * of threads may invoke it at once, as they may call its fastipc_client.
 * What a thread's last invoke() came to is the thread's own (last_call).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libfastipc-protobuf.h"

/* Inputs that pack into this many bytes are packed on the stack. */
#define PB_STACK_PACK	1024

struct pb_client {
	ProtobufCService base;		/* first: what the caller holds */
	struct fastipc_client *client;
	uint64_t timeout_ns;
	uint32_t slot_size;		/* the endpoint's, from CONNECT */
};

/* The outcome of the calling thread's last invoke(). */
static __thread struct {
	int error;
	int32_t status;
} last_call;

static void pb_client_invoke(ProtobufCService *service, unsigned int method_index,
			     const ProtobufCMessage *input, ProtobufCClosure closure,
			     void *closure_data);

static void pb_client_destroy(ProtobufCService *service)
{
	free(service);
}

int fastipc_pb_client_create(struct fastipc_client *client,
			     const ProtobufCServiceDescriptor *descriptor,
			     const struct fastipc_pb_client_params *params,
			     ProtobufCService **servicep)
{
	struct fastipc_endpoint_info info;
	struct pb_client *pc;

	if (!client || !descriptor || descriptor->magic != PROTOBUF_C__SERVICE_DESCRIPTOR_MAGIC ||
	    (params && params->flags))
		return -EINVAL;
	pc = calloc(1, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	fastipc_client_endpoint(client, &info);
	pc->base.descriptor = descriptor;
	pc->base.invoke = pb_client_invoke;
	pc->base.destroy = pb_client_destroy;
	pc->client = client;
	pc->timeout_ns = params ? params->timeout_ns : 0;
	pc->slot_size = info.slot_size;
	*servicep = &pc->base;
	return 0;
}

/* fastipc_pb_client_call() of a service known to be ours. */
static int pb_client_call(struct pb_client *pc, unsigned int method_index,
			  const ProtobufCMessage *input, ProtobufCMessage **outputp,
			  int32_t *statusp)
{
	const ProtobufCServiceDescriptor *desc = pc->base.descriptor;
	const ProtobufCMethodDescriptor *method;
	uint8_t stack[PB_STACK_PACK];
	struct fastipc_reply reply;
	uint8_t *buf = stack;
	size_t len;
	int ret;

	*outputp = NULL;
	*statusp = 0;
	if (method_index >= desc->n_methods)
		return -EINVAL;
	method = &desc->methods[method_index];
	if (!input || input->descriptor != method->input)
		return -EINVAL;
	len = protobuf_c_message_get_packed_size(input);
	if (len > pc->slot_size)
		return -EMSGSIZE;
	if (len > sizeof(stack)) {
		buf = malloc(len);
		if (!buf)
			return -ENOMEM;
	}
	protobuf_c_message_pack(input, buf);
	ret = fastipc_call(pc->client, method_index, buf, len, &reply, pc->timeout_ns);
	if (buf != stack)
		free(buf);
	if (ret)
		return ret;
	*statusp = reply.status;
	if (reply.status)
		return 0;
	/* Straight from the thread's reply buffer. */
	*outputp = protobuf_c_message_unpack(method->output, NULL, reply.len, reply.data);
	if (!*outputp)
		return -EPROTO;
	return 0;
}

int fastipc_pb_client_call(ProtobufCService *service, unsigned int method_index,
			   const ProtobufCMessage *input, ProtobufCMessage **outputp,
			   int32_t *statusp)
{
	ProtobufCMessage *output = NULL;
	int32_t status = 0;
	int ret = -EINVAL;

	if (service && service->invoke == pb_client_invoke)
		ret = pb_client_call((struct pb_client *)service, method_index, input, &output,
				     &status);
	if (outputp)
		*outputp = output;
	else if (output)
		protobuf_c_message_free_unpacked(output, NULL);
	if (statusp)
		*statusp = status;
	return ret;
}

static void pb_client_invoke(ProtobufCService *service, unsigned int method_index,
			     const ProtobufCMessage *input, ProtobufCClosure closure,
			     void *closure_data)
{
	ProtobufCMessage *output;
	int32_t status;
	int ret;

	ret = pb_client_call((struct pb_client *)service, method_index, input, &output, &status);
	/* Before the closure, which may want to know, and may call again. */
	last_call.error = ret;
	last_call.status = status;
	if (closure)
		closure(output, closure_data);
	if (output)
		protobuf_c_message_free_unpacked(output, NULL);
}

int fastipc_pb_client_last(int32_t *statusp)
{
	if (statusp)
		*statusp = last_call.status;
	return last_call.error;
}
