/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * libfastipc-protobuf: protobuf-c services over fastipc.
 *
 * A .proto service, compiled by protoc-c, is called and served through
 * libfastipc: a call of method i of the service is a fastipc call with
 * opcode i whose request is the packed input message and whose reply is the
 * packed output message.
 *
 *  client  fastipc_pb_client_create() turns a struct fastipc_client into a
 *          ProtobufCService, whose invoke() (what the generated stubs call)
 *          packs the input, makes the call and hands the unpacked output to
 *          the closure. As thread-safe as the client.
 *  server  fastipc_pb_server_add() registers a libfastipc handler per method
 *          on a struct fastipc_server, which then serves a ProtobufCService
 *          implementation on whatever serves the server: its thread pool,
 *          fastipc_server_dispatch() or a ring.
 *
 * Every function that can fail returns a negative errno value and never
 * touches errno, as libfastipc's do.
 *
 * The status word of a call says how the server answered:
 *
 *  0            the implementation's output message is the reply.
 *  > 0          the implementation failed the call with this status
 *               (fastipc_pb_server_fail()); there is no output message.
 *  -EOPNOTSUPP  the server has no such method (libfastipc's answer for an
 *               opcode without a handler).
 *  -EBADMSG     the request did not unpack as the method's input: malformed,
 *               or the server ran out of memory unpacking it.
 *  -EMSGSIZE    the packed output was larger than the server's reply room
 *               (its reply_size) or the client's (its reply_size).
 *  -ENOMSG      the implementation returned without answering: it called
 *               neither the closure nor fastipc_pb_server_fail().
 *  -EREMOTEIO   the implementation called the closure with NULL, or with a
 *               message that is not of the method's output type.
 *
 * Other negative statuses are those a plain libfastipc handler could give
 * (see libfastipc.h): a server that mixes fastipc_pb_server_add() with
 * handlers of its own should keep them to opcodes past the service's.
 */
#ifndef LIBFASTIPC_PROTOBUF_H
#define LIBFASTIPC_PROTOBUF_H

#include <stdint.h>

#include <libfastipc.h>
#include <protobuf-c/protobuf-c.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Client */

/**
 * struct fastipc_pb_client_params - how a service's calls are made
 * @timeout_ns: each call gives up after this long, waiting for a free slot
 *	of the endpoint (a full queue) and then for the reply, and fails with
 *	-ETIMEDOUT; 0 to wait for ever. Ignored for a short-circuited call.
 * @flags: must be 0.
 */
struct fastipc_pb_client_params {
	uint64_t timeout_ns;
	uint32_t flags;
};

/**
 * fastipc_pb_client_create() - call a service through a fastipc client
 * @client: a client of the endpoint that serves the service; it stays the
 *	caller's, to be closed after the service is destroyed
 * @descriptor: the service's descriptor, as protoc-c generates it
 *	(``<package>__<service>__descriptor``)
 * @params: the calls' parameters, or NULL for the defaults
 * @servicep: where to store the new service
 *
 * The service's invoke() calls method i with opcode i, as
 * fastipc_pb_client_call() does, then calls the closure
 * once: with the output message if the status word is 0 and the reply
 * unpacks, else with NULL, as protobuf-c's convention has it. The message
 * is freed when the closure returns. fastipc_pb_client_last() tells the
 * calling thread what went wrong. Any thread may invoke the service, as any
 * may call @client; protobuf_c_service_destroy() frees it, when no thread
 * is using it.
 *
 * Return: 0, or -errno: -EINVAL bad @descriptor or @params, -ENOMEM.
 */
int fastipc_pb_client_create(struct fastipc_client *client,
			     const ProtobufCServiceDescriptor *descriptor,
			     const struct fastipc_pb_client_params *params,
			     ProtobufCService **servicep);

/**
 * fastipc_pb_client_call() - call a method and wait for its output
 * @service: a service of fastipc_pb_client_create()
 * @method_index: the method's index in the service's descriptor
 * @input: the input message, of the method's input type
 * @outputp: where to store the output message, or NULL; to be freed with
 *	protobuf_c_message_free_unpacked(@output, NULL)
 * @statusp: where to store the call's status word
 *
 * Packs @input (into a buffer of the stack when small), calls the endpoint
 * with opcode @method_index through fastipc_call(), and unpacks the reply
 * from the calling thread's reply buffer. Does not change what
 * fastipc_pb_client_last() returns.
 *
 * Return: 0 when the server answered: *@statusp is 0 and *@outputp the
 * output message, or *@statusp is not 0 (see the top of this header) and
 * *@outputp NULL. Else -errno, *@outputp NULL and *@statusp 0: -EINVAL not
 * such a service, a bad @method_index or @input of another type, -EMSGSIZE
 * @input packs larger than the endpoint's slot size, -ENOMEM no memory to
 * pack it, -EPROTO the status word was 0 but the reply does not unpack as
 * the method's output (or no memory to unpack it), or an error of
 * fastipc_call(): -EPIPE the server died or closed before answering,
 * -ETIMEDOUT the timeout of @service's parameters expired, -EINTR a handler
 * without SA_RESTART ran and @service's client has FASTIPC_CLIENT_EINTR.
 */
int fastipc_pb_client_call(ProtobufCService *service, unsigned int method_index,
			   const ProtobufCMessage *input, ProtobufCMessage **outputp,
			   int32_t *statusp);

/**
 * fastipc_pb_client_last() - how the calling thread's last invoke() ended
 * @statusp: where to store its status word, or NULL
 *
 * For the code of a closure, or after one was given NULL: the outcome of
 * the last invoke() of any service of fastipc_pb_client_create() on this
 * thread, as fastipc_pb_client_call() would have returned it. Each thread
 * has its own.
 *
 * Return: 0 (the server answered with *@statusp), or the -errno of
 * fastipc_pb_client_call(); 0 with status 0 before the thread's first call.
 */
int fastipc_pb_client_last(int32_t *statusp);

/* Server */

/**
 * fastipc_pb_server_add() - serve a protobuf-c service on a server
 * @server: the server
 * @service: the implementation: a protoc-c generated service struct whose
 *	methods are set (``<PACKAGE>__<SERVICE>__INIT(prefix_)``), or any
 *	ProtobufCService whose invoke() calls the closure it is given
 *
 * Sets a handler for each opcode from 0 to the number of methods less one,
 * replacing any there was; a method a generated service struct leaves NULL
 * gets none, so that its calls get -EOPNOTSUPP. A call of opcode i has its
 * request unpacked
 * straight from the receive pool as method i's input, and @service's
 * invoke() run with it on the thread that handles the message. The
 * implementation answers by calling the closure with its output message
 * before it returns; the closure packs it straight into the reply room.
 * Its closure_data is the call's, for fastipc_pb_server_fail() and
 * fastipc_pb_server_msg(). A second answer is ignored. A one-way message
 * runs the method too, and its output is dropped. @service must stay valid
 * while the server may handle its methods.
 *
 * Return: 0, or -errno: -EINVAL @service has no valid descriptor or too
 * many methods, -ENOMEM (no handler is left set).
 */
int fastipc_pb_server_add(struct fastipc_server *server, ProtobufCService *service);

/**
 * fastipc_pb_server_remove() - stop serving a protobuf-c service
 * @server: the server
 * @service: the implementation given to fastipc_pb_server_add()
 *
 * Removes the handlers of the service's opcodes: their calls get
 * -EOPNOTSUPP. A call being handled meanwhile still runs @service.
 */
void fastipc_pb_server_remove(struct fastipc_server *server, ProtobufCService *service);

/**
 * fastipc_pb_server_fail() - fail the call being handled with a status
 * @closure_data: the closure_data the method was given
 * @status: the status word the caller gets, above 0
 *
 * Instead of the closure: answers the call without an output message. The
 * caller's closure gets NULL, and its status is @status.
 *
 * Return: 0, or -errno: -EINVAL @status is not above 0 or @closure_data is
 * not a call's of fastipc_pb_server_add(), -EALREADY answered already.
 */
int fastipc_pb_server_fail(void *closure_data, int32_t status);

/**
 * fastipc_pb_server_msg() - the message behind the call being handled
 * @closure_data: the closure_data the method was given
 *
 * For the sender's and caller's credentials, to authorise the call. Valid
 * until the method returns.
 *
 * Return: the message, or NULL when @closure_data is not a call's of
 * fastipc_pb_server_add().
 */
const struct fastipc_msg *fastipc_pb_server_msg(void *closure_data);

#ifdef __cplusplus
}
#endif

#endif /* LIBFASTIPC_PROTOBUF_H */
