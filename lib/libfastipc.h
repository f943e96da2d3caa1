/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * libfastipc: the C interface to /dev/fastipc.
 *
 * Every function that can fail returns a negative errno value on failure and
 * never touches errno, as liburing does. Functions returning a pointer or void
 * say so.
 *
 * Objects:
 *  struct fastipc_client  a connection to one endpoint; thread-safe. Each
 *                         thread that calls gets its own registered reply
 *                         buffer on first use.
 *  struct fastipc_server  an endpoint with its receive pool and a handler per
 *                         opcode, served by a pool of threads
 *                         (fastipc_server_run(), fastipc_server_start()) or
 *                         from the application's event loop
 *                         (fastipc_server_fd(), fastipc_server_dispatch()).
 *
 *  struct fastipc_ring    an io_uring of one thread's: asynchronous calls
 *                         and sends on any clients, and servers served
 *                         without a thread each (fastipc_ring_*()).
 *
 * Short circuit: a client connected to a server of the same process (by the
 * server's name, or by its fd) calls the handler directly on the calling
 * thread, without a system call. fastipc_short_circuit(), the client flag
 * FASTIPC_CLIENT_NO_SHORT_CIRCUIT and the environment variable
 * FASTIPC_SHORT_CIRCUIT=0 turn it off. One-way messages and calls on a ring
 * always go through the device.
 */
#ifndef LIBFASTIPC_H
#define LIBFASTIPC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/fastipc.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Opcodes from here up are the library's own; handlers cannot take them. */
#define FASTIPC_OPCODE_RESERVED	0xffff0000U

/* Defaults for zero fields of struct fastipc_server_params. */
#define FASTIPC_DEFAULT_SLOT_SIZE	4096U
#define FASTIPC_DEFAULT_NSLOTS		64U
/* Default for a zero reply_size of struct fastipc_client_params. */
#define FASTIPC_DEFAULT_REPLY_SIZE	65536U

struct fastipc_client;
struct fastipc_server;

/**
 * fastipc_open() - open /dev/fastipc
 *
 * Return: a new close-on-exec file descriptor, or -errno.
 */
int fastipc_open(void);

/**
 * fastipc_version() - query the module's ABI version and features
 * @fd: an fd of /dev/fastipc
 * @abi_version: where to store the ABI version
 * @features: where to store the FASTIPC_F_* feature bits, or NULL
 *
 * Return: 0, or -errno.
 */
int fastipc_version(int fd, unsigned int *abi_version, unsigned long long *features);

/**
 * fastipc_short_circuit() - turn the same-process short circuit on or off
 * @enable: 1 to turn it on, 0 to turn it off, -1 to only ask
 *
 * The setting is process-wide and applies to the next call of every client;
 * its initial value is on unless the environment variable
 * FASTIPC_SHORT_CIRCUIT is "0" when the library is first used.
 *
 * Return: the previous setting, 1 or 0.
 */
int fastipc_short_circuit(int enable);

/* Client */

/**
 * struct fastipc_client_params - how to connect
 * @reply_size: room for a reply in each thread's reply buffer, and in the
 *	reply room of each call on a ring, in bytes; 0 for
 *	FASTIPC_DEFAULT_REPLY_SIZE. Never more than the endpoint's max_reply
 *	(struct fastipc_endpoint_info), which CONNECT reports: a server
 *	declaring small replies keeps its clients' pinned memory small.
 * @flags: FASTIPC_CLIENT_* flags.
 */
struct fastipc_client_params {
	uint32_t reply_size;
	uint32_t flags;
};

/* Never short-circuit this client's calls. */
#define FASTIPC_CLIENT_NO_SHORT_CIRCUIT	(1U << 0)
/*
 * Return -EINTR from a call or a waiting send that a signal handler
 * installed without SA_RESTART interrupted, rather than make it again.
 */
#define FASTIPC_CLIENT_EINTR		(1U << 1)
#define FASTIPC_CLIENT_ALL		(FASTIPC_CLIENT_NO_SHORT_CIRCUIT | FASTIPC_CLIENT_EINTR)

/**
 * struct fastipc_reply - the outcome of a call
 * @data: the reply bytes: in the calling thread's reply buffer, valid until
 *	the thread's next call on the same client (fastipc_call()), or the
 *	caller's buffer (fastipc_call_copy()).
 * @len: how many bytes.
 * @status: the status word the server's handler returned.
 */
struct fastipc_reply {
	const void *data;
	uint32_t len;
	int32_t status;
};

/**
 * fastipc_client_connect_name() - connect to a named endpoint
 * @name: the endpoint's name in the caller's IPC namespace
 * @params: connection parameters, or NULL for the defaults
 * @clientp: where to store the new client
 *
 * Return: 0, or -errno: -ENOENT no such endpoint, -EACCES its mode denies
 * the caller, -EINVAL a bad name or parameter, -EPIPE the endpoint is
 * closing, or an error of open(2).
 */
int fastipc_client_connect_name(const char *name, const struct fastipc_client_params *params,
				struct fastipc_client **clientp);

/**
 * fastipc_client_connect_fd() - connect to the endpoint behind a file descriptor
 * @ep_fd: an endpoint's fd (an anonymous endpoint passed by inheritance or
 *	SCM_RIGHTS, see fastipc_server_fd()), or a port connected to one
 *	(see fastipc_client_fd())
 * @params: connection parameters, or NULL for the defaults
 * @clientp: where to store the new client
 *
 * Return: 0, or -errno: -EBADF @ep_fd is not open, -EINVAL it does not reach
 * an endpoint, -EPIPE the endpoint is closing.
 */
int fastipc_client_connect_fd(int ep_fd, const struct fastipc_client_params *params,
			      struct fastipc_client **clientp);

/**
 * struct fastipc_endpoint_info - the endpoint a client reached
 * @owner_uid: the effective uid that created it (as this process's user
 *	namespace sees it): names are first come, first served, so check it
 *	before trusting the endpoint with anything.
 * @owner_gid: its effective gid likewise.
 * @ep_flags: FASTIPC_EP_* flags it was created with
 *	(FASTIPC_EP_ACCEPT_FORWARDS: fastipc_msg_forward() may target it).
 * @slot_size: the largest request or one-way message it takes.
 * @nslots: messages it holds at once.
 * @max_oneway: how many of those may be one-way messages.
 * @max_reply: the largest reply its server sends.
 */
struct fastipc_endpoint_info {
	uid_t owner_uid;
	gid_t owner_gid;
	uint32_t ep_flags;
	uint32_t slot_size;
	uint32_t nslots;
	uint32_t max_oneway;
	uint32_t max_reply;
};

/**
 * fastipc_client_endpoint() - describe the endpoint a client reached
 * @client: the client
 * @info: where to store the description the kernel gave at connect time
 */
void fastipc_client_endpoint(const struct fastipc_client *client,
			     struct fastipc_endpoint_info *info);

/**
 * fastipc_client_close() - disconnect and free a client
 * @client: the client, or NULL
 *
 * Frees every thread's reply buffer of the client. No thread may be using
 * the client, and replies it returned are no longer valid. Asynchronous
 * calls in flight on rings carry on: their completions come, and their
 * reply room is freed after the last of them.
 */
void fastipc_client_close(struct fastipc_client *client);

/**
 * fastipc_client_fd() - the client's port
 * @client: the client
 *
 * For poll(2): the port reports POLLHUP once the endpoint is gone. It may
 * also be passed to fastipc_client_connect_fd() in this or another process.
 *
 * Return: the fd, owned by the client.
 */
int fastipc_client_fd(const struct fastipc_client *client);

/**
 * fastipc_client_set_short_circuit() - allow or forbid the short circuit
 * @client: the client
 * @enable: whether its calls may bypass the device
 *
 * Calls are short-circuited only when this and fastipc_short_circuit() are
 * both on and the endpoint's server lives in this process.
 */
void fastipc_client_set_short_circuit(struct fastipc_client *client, bool enable);

/**
 * fastipc_client_is_local() - will the next call be short-circuited?
 * @client: the client
 *
 * Return: true when calls on @client run the handler directly.
 */
bool fastipc_client_is_local(const struct fastipc_client *client);

/**
 * fastipc_call() - call the server and wait for its reply
 * @client: the client
 * @opcode: the request's opcode, below FASTIPC_OPCODE_RESERVED
 * @req: the request bytes (may be NULL when @req_len is 0)
 * @req_len: their length, at most the endpoint's slot size
 * @reply: where to store the reply, which stays in the thread's reply
 *	buffer: @reply->data is valid until the thread's next call on @client
 * @timeout_ns: give up after this long, 0 to wait for ever; ignored when the
 *	call is short-circuited, as the handler runs on the calling thread
 *
 * The request is copied once, into the endpoint's pool (or not at all when
 * short-circuited); the reply once, into the thread's reply buffer. A reply
 * too long for the buffer reaches the caller as status -EMSGSIZE with no
 * bytes; so does one a handler returned longer than its reply room.
 *
 * The status word is the server's answer only: what its handler returned,
 * or what the server's library answered for it (-EOPNOTSUPP no handler for
 * @opcode, -EMSGSIZE a reply longer than the reply room, -ECANCELED a
 * deferred call dropped). The device carries nothing else, so a caller
 * cannot tell those from a handler returning the same values. Errors of the
 * library and of the transport are the return value, with @reply untouched.
 *
 * Every slot of the endpoint taken is not an error: the call waits for one,
 * within @timeout_ns. Calls count against no quota (one-way messages do).
 *
 * Signals: a handler installed with SA_RESTART, a stop signal or ptrace
 * never show, as the kernel restarts the call without sending the request
 * again. A handler without SA_RESTART makes the kernel cancel the call (a
 * queued request is withdrawn, the server's reply to it is dropped); the
 * library then makes the call again, within what is left of @timeout_ns,
 * unless the client has FASTIPC_CLIENT_EINTR. That second call is a new
 * one: if the server had received the first, its handler runs twice.
 *
 * Return: 0 with @reply filled in, or -errno: -EMSGSIZE @req_len exceeds the
 * slot size; -EPIPE the peer is dead: the endpoint was closed when called,
 * or closed before replying (its server destroyed or its process gone,
 * deferred calls included); -ETIMEDOUT the timeout expired, waiting for a
 * slot or for the reply; -EINTR a handler without SA_RESTART ran, with
 * FASTIPC_CLIENT_EINTR only; -EINVAL a reserved @opcode; -EDEADLK a
 * short-circuited handler called its own client; -ENOMEM no reply buffer
 * could be set up for this thread; -ELOOP the call was forwarded more than
 * FASTIPC_MAX_FORWARDS times (fastipc_msg_forward()).
 */
int fastipc_call(struct fastipc_client *client, uint32_t opcode, const void *req,
		 uint32_t req_len, struct fastipc_reply *reply, uint64_t timeout_ns);

/**
 * fastipc_call_copy() - call the server, with the reply copied to the caller's buffer
 * @client: the client
 * @opcode: the request's opcode
 * @req: the request bytes
 * @req_len: their length
 * @buf: where the reply goes
 * @cap: room at @buf; a longer reply comes back as status -EMSGSIZE
 * @reply: where to store the reply's length and status; @reply->data is @buf
 * @timeout_ns: as for fastipc_call()
 *
 * Like fastipc_call() but leaves the reply in @buf. A short-circuited
 * handler writes straight into @buf, so when the status reports an error
 * (-EMSGSIZE included) what @buf holds is undefined.
 *
 * Return: as fastipc_call().
 */
int fastipc_call_copy(struct fastipc_client *client, uint32_t opcode, const void *req,
		      uint32_t req_len, void *buf, uint32_t cap, struct fastipc_reply *reply,
		      uint64_t timeout_ns);

/**
 * fastipc_send() - send a one-way message
 * @client: the client
 * @opcode: the message's opcode, below FASTIPC_OPCODE_RESERVED
 * @data: the payload
 * @len: its length, at most the endpoint's slot size
 * @flags: FASTIPC_SEND_WAIT to wait for room rather than fail with -EAGAIN
 *	or -EDQUOT
 *
 * Always goes through the device, so it never waits for the handler, even
 * when the server lives in this process. Messages from one thread arrive in
 * the order sent.
 *
 * With FASTIPC_SEND_WAIT, a wait for room interrupted by a signal handler
 * without SA_RESTART sent nothing: the library waits again, unless the
 * client has FASTIPC_CLIENT_EINTR.
 *
 * Return: 0, or -errno, each cause its own: -EAGAIN the endpoint's queue is
 * full (its one-way share, half its slots, or every slot is taken), -EDQUOT
 * this user's quota is exhausted (its one-way messages waiting in this
 * endpoint, or in all: module parameters max_oneway_per_sender and
 * max_oneway_per_user), -EPIPE the peer is dead (the endpoint is closed),
 * -EMSGSIZE @len exceeds the slot size, -EINTR a handler without SA_RESTART
 * ran while waiting for room (with FASTIPC_CLIENT_EINTR only), -EINVAL bad
 * @flags or a reserved @opcode.
 */
int fastipc_send(struct fastipc_client *client, uint32_t opcode, const void *data, uint32_t len,
		 unsigned int flags);

/**
 * fastipc_call_fds() - make a call that carries descriptors
 * @client: the client
 * @opcode: as for fastipc_call()
 * @req: as for fastipc_call()
 * @req_len: as for fastipc_call()
 * @fds: descriptors the request carries (may be NULL when @nfds is 0); the
 *	server gets descriptors of its own for the same files, and these stay
 *	open
 * @nfds: how many, at most FASTIPC_MAX_FDS
 * @reply: as for fastipc_call()
 * @reply_fds: room for FASTIPC_MAX_FDS descriptors the reply may carry, or
 *	NULL to take none (the reply's are then closed)
 * @reply_nfds: where to store how many the reply carried, or NULL
 * @timeout_ns: as for fastipc_call()
 *
 * fastipc_call() with descriptors, as SCM_RIGHTS passes them: they are
 * taken when the call is made and reach the server's handler only when it
 * receives the call. Never short-circuited: the call always goes through
 * the device. The reply's descriptors are installed in this process, with
 * O_CLOEXEC, as the call returns; the first *@reply_nfds entries of
 * @reply_fds are then the caller's to close, -1 for one that could not be
 * installed (RLIMIT_NOFILE). Only regular files (memfds, a sealed one being
 * the way to hand over a large payload without copying it), directories,
 * pipes and fastipc ports travel; a port arrives as a new client port of
 * its endpoint, for fastipc_client_connect_fd().
 *
 * Return: as fastipc_call(), and -EBADF a descriptor of @fds is not open,
 * -EOPNOTSUPP one of a kind no message carries (a socket, a device, an
 * io_uring, ...) or a module without FASTIPC_F_FDS, -E2BIG @nfds above
 * FASTIPC_MAX_FDS, -ETOOMANYREFS this user's messages carry
 * max_fds_per_user descriptors in flight already. Nothing was sent then.
 */
int fastipc_call_fds(struct fastipc_client *client, uint32_t opcode, const void *req,
		     uint32_t req_len, const int *fds, unsigned int nfds,
		     struct fastipc_reply *reply, int *reply_fds, unsigned int *reply_nfds,
		     uint64_t timeout_ns);

/**
 * fastipc_send_fds() - send a one-way message that carries descriptors
 * @client: the client
 * @opcode: as for fastipc_send()
 * @data: as for fastipc_send()
 * @len: as for fastipc_send()
 * @fds: descriptors the message carries; they stay open here
 * @nfds: how many, at most FASTIPC_MAX_FDS
 * @flags: as for fastipc_send()
 *
 * fastipc_send() with descriptors, taken as for fastipc_call_fds().
 *
 * Return: as fastipc_send(), and the errors fastipc_call_fds() lists for
 * descriptors.
 */
int fastipc_send_fds(struct fastipc_client *client, uint32_t opcode, const void *data,
		     uint32_t len, const int *fds, unsigned int nfds, unsigned int flags);

/* Server */

/**
 * struct fastipc_server_params - the endpoint to create
 * @name: the name to publish the endpoint under, or NULL for an anonymous
 *	endpoint (reachable through fastipc_server_fd() only)
 * @mode: for a named endpoint, who may connect, like a file's write bits
 *	(0600, 0660, 0666); 0 for 0600. Ignored when anonymous.
 * @slot_size: the largest request or one-way message; 0 for
 *	FASTIPC_DEFAULT_SLOT_SIZE
 * @nslots: messages the endpoint holds at once; 0 for FASTIPC_DEFAULT_NSLOTS
 * @reply_size: room handlers get for a reply; 0 for @slot_size. Also the
 *	largest reply the endpoint declares to its clients.
 * @flags: FASTIPC_SERVER_* flags
 */
struct fastipc_server_params {
	const char *name;
	uint32_t mode;
	uint32_t slot_size;
	uint32_t nslots;
	uint32_t reply_size;
	uint32_t flags;
};

/*
 * Take calls other servers forward here (fastipc_msg_forward()); without it
 * their forwards fail with -EPERM.
 */
#define FASTIPC_SERVER_ACCEPT_FORWARDS	(1U << 0)
#define FASTIPC_SERVER_ALL		FASTIPC_SERVER_ACCEPT_FORWARDS

/**
 * struct fastipc_msg - a message as a handler sees it
 * @opcode: the message's opcode.
 * @flags: FASTIPC_MSG_ONEWAY for a one-way message; FASTIPC_MSG_FORWARDED
 *	for a call another server forwarded here.
 * @data: the request bytes, in place in the endpoint's pool (or, when the
 *	call was short-circuited, in the caller's memory); read-only, valid
 *	until the handler returns, or, if it deferred the call
 *	(fastipc_msg_defer()), until the call is answered or dropped.
 * @len: their length.
 * @pid: the sender's process id (0 if not visible in our PID namespace):
 *	for a forwarded call, the server that forwarded it.
 * @uid: the sender's effective uid.
 * @gid: the sender's effective gid.
 * @caller_pid: the process that made the call, the sender itself unless
 *	forwarded. A forwarded request was chosen by its forwarder: authorise
 *	it by the sender, and by the caller only if the sender is trusted to
 *	speak for it.
 * @caller_uid: its effective uid.
 * @caller_gid: its effective gid.
 * @reply: where the handler writes its reply; NULL for a one-way message.
 * @reply_cap: room at @reply; 0 for a one-way message.
 * @reply_len: the reply's length: 0 on entry, set by the handler.
 * @fds: the descriptors the message carried (fastipc_call_fds(),
 *	fastipc_send_fds()), installed in this process with O_CLOEXEC; -1 for
 *	one that could not be (RLIMIT_NOFILE). The library closes them when
 *	the handler returns: a handler keeps one by setting its entry to -1.
 *	NULL when there are none. Servers on a ring (fastipc_ring_serve())
 *	get none: the descriptors are closed and @flags has
 *	FASTIPC_MSG_FDS_TRUNC.
 * @nfds: how many entries @fds has.
 * @reply_fds: descriptors the reply is to carry, set by the handler (NULL
 *	on entry); they must stay open until the handler returns, and stay the
 *	handler's: the caller gets descriptors of its own. Only a call through
 *	the device made with fastipc_call_fds() takes them; a thread-pool or
 *	dispatch server sends them, a ring server, a deferred or a
 *	short-circuited call does not. A reply whose descriptors the device
 *	refuses goes out without them, the caller's status being the error.
 * @reply_nfds: how many, at most FASTIPC_MAX_FDS.
 */
struct fastipc_msg {
	uint32_t opcode;
	uint32_t flags;
	const void *data;
	uint32_t len;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	pid_t caller_pid;
	uid_t caller_uid;
	gid_t caller_gid;
	void *reply;
	uint32_t reply_cap;
	uint32_t reply_len;
	int *fds;
	uint32_t nfds;
	const int *reply_fds;
	uint32_t reply_nfds;
};

/**
 * typedef fastipc_handler_t - a handler for one opcode
 * @server: the server
 * @msg: the message; the handler fills in @msg->reply and @msg->reply_len
 * @arg: the argument given to fastipc_server_set_handler()
 *
 * Runs on a server thread, on the thread calling fastipc_server_dispatch(),
 * or, for a short-circuited call, on the caller's thread. It may call other
 * servers, fastipc_server_stop(), fastipc_msg_forward() to have another
 * server answer instead, and fastipc_msg_defer() to answer later.
 *
 * Return: the status word the caller gets (ignored for one-way messages and
 * for calls the handler forwarded or deferred).
 */
typedef int32_t (*fastipc_handler_t)(struct fastipc_server *server, struct fastipc_msg *msg,
				     void *arg);

/**
 * fastipc_server_create() - create an endpoint and its server
 * @params: the endpoint's name and geometry, or NULL for an anonymous one
 *	with the defaults
 * @serverp: where to store the new server
 *
 * The endpoint accepts messages at once; they wait in its pool until the
 * server is run or dispatched. Calls for an opcode without a handler get
 * status -EOPNOTSUPP; one-way messages without one are dropped.
 *
 * Return: 0, or -errno: -EEXIST the name is taken, -EINVAL a bad name or
 * parameter, -ENOMEM no memory or over RLIMIT_MEMLOCK for the pool, or an
 * error of open(2).
 */
int fastipc_server_create(const struct fastipc_server_params *params,
			  struct fastipc_server **serverp);

/**
 * fastipc_server_destroy() - stop a server and close its endpoint
 * @server: the server, or NULL
 *
 * Stops and joins the threads of fastipc_server_start(), then closes the
 * endpoint: calls still waiting fail with -EPIPE, and so do the calls its
 * handlers deferred and had not answered yet (each of those must still be
 * answered or dropped, which frees it). Must not be called from
 * one of the server's handlers nor while fastipc_server_run() or
 * fastipc_server_dispatch() runs.
 */
void fastipc_server_destroy(struct fastipc_server *server);

/**
 * fastipc_server_set_handler() - handle an opcode
 * @server: the server
 * @opcode: the opcode, below FASTIPC_OPCODE_RESERVED
 * @handler: the handler, or NULL to remove the opcode's handler
 * @arg: passed to @handler
 *
 * May be called at any time, from any thread.
 *
 * Return: 0, or -errno: -EINVAL a reserved @opcode, -ENOMEM.
 */
int fastipc_server_set_handler(struct fastipc_server *server, uint32_t opcode,
			       fastipc_handler_t handler, void *arg);

/**
 * fastipc_server_fd() - the endpoint's fd
 * @server: the server
 *
 * For poll(2) and epoll(7) (readable when messages wait, see
 * fastipc_server_dispatch()), and for fastipc_client_connect_fd() in this
 * process or, passed on, in another.
 *
 * Return: the fd, owned by the server.
 */
int fastipc_server_fd(const struct fastipc_server *server);

/**
 * fastipc_server_run() - serve on a pool of threads until stopped
 * @server: the server
 * @nthreads: how many threads serve, the calling thread included (>= 1)
 *
 * Each thread receives a message, runs its handler and answers it in the
 * same system call as it receives the next. Returns once
 * fastipc_server_stop() was called and every thread has finished the
 * message it held; messages still waiting stay in the pool.
 *
 * Return: 0 when stopped, or -errno: -EBUSY the server is already running,
 * -EINVAL @nthreads is 0, or the error that ended a thread.
 */
int fastipc_server_run(struct fastipc_server *server, unsigned int nthreads);

/**
 * fastipc_server_start() - serve on a pool of background threads
 * @server: the server
 * @nthreads: how many threads (>= 1)
 *
 * Like fastipc_server_run() but returns at once; fastipc_server_wait() or
 * fastipc_server_destroy() joins the threads.
 *
 * Return: 0, or -errno as fastipc_server_run(), or of pthread_create().
 */
int fastipc_server_start(struct fastipc_server *server, unsigned int nthreads);

/**
 * fastipc_server_stop() - ask the server's threads to finish
 * @server: the server
 *
 * Returns at once. Safe from a handler and from a signal handler.
 *
 * Return: 0, or -errno from waking the threads. A full endpoint, or the
 * server's own share of it used up, is 0: messages wait, and a thread that
 * takes one sees the stop. (A user's own endpoints are outside its quota
 * across endpoints, so that quota never keeps the wake-up out.)
 */
int fastipc_server_stop(struct fastipc_server *server);

/**
 * fastipc_server_wait() - join the threads of fastipc_server_start()
 * @server: the server
 *
 * Waits until they finish after fastipc_server_stop(). Not from a handler.
 *
 * Return: 0, or the error that ended a thread; -EINVAL if not started.
 */
int fastipc_server_wait(struct fastipc_server *server);

/**
 * fastipc_server_dispatch() - handle the messages waiting, without blocking
 * @server: the server
 * @max: handle at most this many, 0 for all that are waiting
 *
 * For event loops: call it when fastipc_server_fd() polls readable. Every
 * message handled is answered before it returns.
 *
 * Return: how many messages were handled, or -errno: -EBUSY another thread
 * is dispatching this server, -EINTR a handler without SA_RESTART ran.
 */
int fastipc_server_dispatch(struct fastipc_server *server, unsigned int max);

/**
 * fastipc_msg_forward() - have another server answer the call being handled
 * @msg: the message the handler was given (not a copy of it)
 * @client: a client of the server that is to answer
 * @opcode: the opcode that server gets, below FASTIPC_OPCODE_RESERVED
 * @data: the request it gets, in any readable memory; may be @msg->data
 * @len: its length, at most that server's slot size
 *
 * A tail call, from a handler only: the call goes on to @client's endpoint
 * with the new request, from this process (the target's handler sees it as
 * the sender, the original caller in @msg's caller fields, and
 * FASTIPC_MSG_FORWARDED), and that server's reply and status go straight to
 * the caller. The target must have been created with
 * FASTIPC_SERVER_ACCEPT_FORWARDS (FASTIPC_EP_ACCEPT_FORWARDS). On success the
 * message is the handler's no more: the library does not answer it, the
 * handler's return value and @msg->reply_len are ignored, and @msg->data
 * and @msg->reply must not be used again.
 *
 * Through the device this is FASTIPC_IOC_FORWARD: the request is copied once,
 * into the target's pool, and the target's server runs on its own threads
 * whether or not @client would short-circuit. A short-circuited call has no
 * kernel token, so its forward is a call on @client from the handler's
 * thread (short-circuited too if @client allows it; through the device, the
 * target sees a call of this process, not flagged forwarded), the reply landing in
 * @msg->reply (at most @msg->reply_cap bytes, else status -EMSGSIZE). The
 * caller sees no difference, except when the target closes after taking the
 * request: the handler then gets -EPIPE to answer.
 *
 * Return: 0, or -errno. After -ELOOP (the caller gets it too), -ECANCELED
 * (the caller gave up) or -ENOENT (already forwarded) the message is consumed
 * as on success. On any other error it is still the handler's to answer:
 * -EPERM the target does not accept forwarded calls, -EINVAL a one-way
 * message or a reserved @opcode, -EMSGSIZE @len exceeds
 * the target's slot size, -EAGAIN the target has no free slot (through the
 * device, where a forward never waits), -EPIPE the target is closed, -EFAULT
 * @data is not readable; short-circuited, any error of fastipc_call_copy().
 */
int fastipc_msg_forward(struct fastipc_msg *msg, struct fastipc_client *client, uint32_t opcode,
			const void *data, uint32_t len);

/*
 * Deferred replies: a handler keeps a call with fastipc_msg_defer() and
 * returns; the call is answered later, from any thread, with
 * fastipc_deferred_reply() or fastipc_deferred_drop(). Meanwhile the
 * server's thread, dispatch or ring goes on with other messages, and the
 * caller waits as for any call (its timeout, signals and cancels apply).
 *
 * What stays valid: the request bytes (@msg->data) stay in place in their
 * slot of the endpoint's pool, untouched, until the call is answered or
 * dropped, so a deferred call holds one of the endpoint's slots. The
 * handler's reply room (@msg->reply) does not: it is the next message's once
 * the handler returns, and fastipc_deferred_reply() takes the reply from
 * the answering thread's memory.
 *
 * Slots: every call deferred and not yet answered is one slot fewer for
 * new messages. When all of them are held, callers wait for a slot (or time
 * out), one-way senders get -EAGAIN, and fastipc_server_stop() cannot reach
 * threads sleeping for a message until one is answered. A server that
 * defers must bound what it keeps, below nslots less its threads (or ring
 * depth), and answer the rest at once (for example with a busy status).
 *
 * Short-circuited calls defer too: the caller's thread, which ran the
 * handler, waits until another thread answers, or the server is destroyed
 * (-EPIPE), without a timeout, as for any short-circuited call. Rings serve deferred calls
 * as threads do; the answer goes out by a system call of the answering
 * thread, never through the ring. One-way messages cannot be deferred.
 */
struct fastipc_deferred;

/**
 * fastipc_msg_defer() - keep the call being handled, to answer it later
 * @msg: the message the handler was given (not a copy of it)
 * @deferredp: where to store the deferred call
 *
 * From a handler only. On success the call is the handler's no more until
 * answered: the handler's return value and @msg->reply_len are ignored, and
 * @msg->reply must not be used again. fastipc_deferred_msg() gives the
 * message back, its request bytes included, from any thread.
 *
 * Return: 0, or -errno: -EINVAL a one-way message, which has nobody to
 * answer (its slot is freed when the handler returns); -ENOENT the call was
 * already forwarded or deferred; -ENOMEM.
 */
int fastipc_msg_defer(struct fastipc_msg *msg, struct fastipc_deferred **deferredp);

/**
 * fastipc_deferred_msg() - the message a deferred call carries
 * @deferred: the deferred call
 *
 * Return: the message as its handler saw it, with @reply NULL and
 * @reply_cap the most fastipc_deferred_reply() may send; valid until the
 * call is answered or dropped.
 */
const struct fastipc_msg *fastipc_deferred_msg(const struct fastipc_deferred *deferred);

/**
 * fastipc_deferred_reply() - answer a deferred call
 * @deferred: the deferred call; freed, whatever the result
 * @status: the status word the caller gets
 * @data: the reply bytes, in any readable memory (may be NULL when @len is 0)
 * @len: their length, at most fastipc_deferred_msg()'s @reply_cap
 *
 * From any thread, once. The reply is copied once, into the caller's reply
 * room, and the call's slot is freed.
 *
 * Return: 0, or -errno: -ECANCELED the caller gave up (timeout, signal,
 * cancel, exit) and gets nothing; -EPIPE the server was destroyed first and
 * the caller got -EPIPE then; -EMSGSIZE or -EFAULT @data could not be sent
 * (too long for the caller's reply room, not readable), and the caller got
 * that errno as its status with no bytes.
 */
int fastipc_deferred_reply(struct fastipc_deferred *deferred, int32_t status, const void *data,
			   uint32_t len);

/**
 * fastipc_deferred_drop() - give up a deferred call
 * @deferred: the deferred call, or NULL; freed
 *
 * Answers the caller with status -ECANCELED and no bytes, if it still
 * waits, and frees @deferred.
 */
void fastipc_deferred_drop(struct fastipc_deferred *deferred);

/* Rings: the asynchronous API, over io_uring */

/*
 * A struct fastipc_ring is an io_uring of the library's for one thread: it
 * makes calls and one-way sends without waiting for them (clients), and
 * serves any number of servers (fastipc_ring_add_server(),
 * fastipc_ring_serve()). Calls on a ring always go through the device, even
 * to a server of this process that fastipc_call() would short-circuit. It
 * needs a module with FASTIPC_F_URING.
 *
 * A ring belongs to the thread that created it: only that thread may use
 * it (it is an IORING_SETUP_SINGLE_ISSUER ring), and the completions of its
 * operations only run when that thread reaps, so they never interrupt the
 * thread's synchronous calls. Clients and servers may be shared with other
 * threads and their rings.
 */
struct fastipc_ring;

/* Default and largest queue depth of fastipc_ring_create(). */
#define FASTIPC_RING_DEFAULT_ENTRIES	64U
#define FASTIPC_RING_MAX_ENTRIES	4096U
/* Default and largest receives a ring keeps armed per server. */
#define FASTIPC_RING_DEFAULT_DEPTH	4U
#define FASTIPC_RING_MAX_DEPTH		64U

/* What a struct fastipc_completion completes. */
#define FASTIPC_RING_CALL		1U
#define FASTIPC_RING_SEND		2U
#define FASTIPC_RING_CANCEL		3U

/* fastipc_ring_prep_cancel(): every call, whatever its user_data. */
#define FASTIPC_RING_CANCEL_ALL		(1U << 0)

/**
 * struct fastipc_completion - an asynchronous operation that completed
 * @user_data: the value given when it was prepared.
 * @kind: FASTIPC_RING_CALL, FASTIPC_RING_SEND or FASTIPC_RING_CANCEL.
 * @result: a call or send: 0, or -errno; a cancel: how many calls it
 *	cancelled, or -ENOENT for none.
 * @status: a call: the status word of the server's handler; else 0.
 * @len: a call: the reply's length; else 0.
 * @data: a call that succeeded: the reply bytes, in the client's reply room
 *	for asynchronous calls, valid until the ring's next
 *	fastipc_ring_reap() or fastipc_ring_serve(), or its destruction,
 *	whichever comes first (closing the client meanwhile does not end it);
 *	else NULL.
 */
struct fastipc_completion {
	uint64_t user_data;
	uint32_t kind;
	int32_t result;
	int32_t status;
	uint32_t len;
	const void *data;
};

/**
 * fastipc_ring_create() - set up a ring
 * @entries: submissions queued at most between two system calls, 1 to
 *	FASTIPC_RING_MAX_ENTRIES; 0 for FASTIPC_RING_DEFAULT_ENTRIES. Not a
 *	limit on operations in flight: a full queue is submitted by the
 *	function that needs room in it.
 * @flags: must be 0
 * @ringp: where to store the new ring
 *
 * Return: 0, or -errno: -EOPNOTSUPP the module lacks FASTIPC_F_URING, -EINVAL
 * bad @entries or @flags, -ENOENT no /dev/fastipc, or an error of
 * io_uring_setup(2) (-ENOMEM, -EPERM when io_uring is disabled).
 */
int fastipc_ring_create(unsigned int entries, unsigned int flags, struct fastipc_ring **ringp);

/**
 * fastipc_ring_destroy() - stop a ring's work and free it
 * @ring: the ring, or NULL
 *
 * Stops serving every server of the ring as fastipc_ring_remove_server()
 * does, cancels its calls in flight (their servers' replies are dropped) and
 * its sends still waiting for room, waits for them and closes the ring:
 * once it returns nothing of the ring's reads a request or writes a reply
 * any more. Completions not yet reaped are dropped. Should a call escape
 * the cancel, the kernel cancels it as it closes the ring, in the
 * background, and its reply room is not reused before the client is
 * closed. Not from a handler the ring runs. A fork() child may destroy a
 * ring it inherited: that frees the child's copy and touches nothing of the
 * parent's.
 */
void fastipc_ring_destroy(struct fastipc_ring *ring);

/**
 * fastipc_ring_fd() - the ring's file descriptor
 * @ring: the ring
 *
 * For event loops: it polls readable (POLLIN) when completions wait; call
 * fastipc_ring_reap() with @min 0 then.
 *
 * Return: the fd, owned by the ring.
 */
int fastipc_ring_fd(const struct fastipc_ring *ring);

/**
 * fastipc_ring_prep_call() - queue an asynchronous call
 * @ring: the ring
 * @client: the client whose endpoint is called
 * @opcode: the request's opcode, below FASTIPC_OPCODE_RESERVED
 * @req: the request bytes (may be NULL when @req_len is 0); they must stay
 *	valid and unchanged until the call completes (the kernel copies them
 *	when it issues the call, which is later when every slot of the
 *	endpoint is taken)
 * @req_len: their length, at most the endpoint's slot size
 * @user_data: any value: the completion carries it, and
 *	fastipc_ring_prep_cancel() finds the call by it
 *
 * The call goes out with the ring's next submission (fastipc_ring_submit(),
 * fastipc_ring_reap(), or a prep function finding the queue full) and
 * always through the device: a short circuit never applies. The server's
 * reply is copied once, straight into reply room of the call's own: a slot
 * of the client's reply_size in @client's arena, buffers the library
 * registers on the client's ports (pinned, so charged to RLIMIT_MEMLOCK).
 * The arena starts with 4 slots, adds buffers of twice as many (up to 64)
 * while more calls are in flight at once, and is freed when the client is
 * closed. A reply longer than reply_size reaches the caller as status
 * -EMSGSIZE with no bytes. The completion (FASTIPC_RING_CALL) has @result 0
 * and the reply, or -errno: -EMSGSIZE @req_len exceeds the slot size,
 * -EPIPE the endpoint closed before replying, -ECANCELED the call was
 * cancelled, -ELOOP forwarded too often. The client may be closed with
 * calls in flight; their completions still come.
 *
 * Return: 0, or -errno: -EINVAL a reserved @opcode, -ENOMEM out of memory
 * or over RLIMIT_MEMLOCK for more reply room, an error of open(2) when the
 * room needs another port, or of io_uring_submit() when the queue had to be
 * submitted to make room in it.
 */
int fastipc_ring_prep_call(struct fastipc_ring *ring, struct fastipc_client *client,
			   uint32_t opcode, const void *req, uint32_t req_len, uint64_t user_data);

/**
 * fastipc_ring_prep_send() - queue an asynchronous one-way message
 * @ring: the ring
 * @client: the client whose endpoint gets it
 * @opcode: the message's opcode, below FASTIPC_OPCODE_RESERVED
 * @data: the payload; valid and unchanged until the send completes
 * @len: its length, at most the endpoint's slot size
 * @flags: must be 0: a ring never waits for room (FASTIPC_SEND_WAIT is for
 *	fastipc_send())
 * @user_data: any value, for the completion
 *
 * fastipc_send() without the wait. The completion (FASTIPC_RING_SEND) has
 * @result 0 once the message is in the endpoint's pool, or an error of
 * fastipc_send(), -EAGAIN or -EDQUOT when there is no room. Sends from one
 * ring arrive in the order submitted. They cannot be cancelled.
 *
 * Return: 0, or -errno: -EINVAL a reserved @opcode or non-zero @flags,
 * -ENOMEM, or an error of io_uring_submit().
 */
int fastipc_ring_prep_send(struct fastipc_ring *ring, struct fastipc_client *client,
			   uint32_t opcode, const void *data, uint32_t len, unsigned int flags,
			   uint64_t user_data);

/**
 * fastipc_ring_prep_cancel() - queue the cancel of calls in flight
 * @ring: the ring whose calls are cancelled; other rings' are not touched
 * @client: only calls on this client, or NULL for calls on any client
 * @tag: cancel the calls prepared with this user_data
 * @flags: FASTIPC_RING_CANCEL_ALL to cancel every call instead; @tag must
 *	then be 0
 * @user_data: any value, for the cancel's own completion
 *
 * Each call cancelled completes with -ECANCELED, and its server's reply, if
 * it comes, is dropped (the handler's side sees nothing). A call whose
 * reply is already on its way completes normally instead. The completion
 * (FASTIPC_RING_CANCEL) says how many calls were cancelled, or -ENOENT.
 *
 * Return: 0, or -errno: -EINVAL bad @flags, -ENOMEM, or an error of
 * io_uring_submit().
 */
int fastipc_ring_prep_cancel(struct fastipc_ring *ring, struct fastipc_client *client,
			     uint64_t tag, unsigned int flags, uint64_t user_data);

/**
 * fastipc_ring_submit() - submit what the ring has queued
 * @ring: the ring
 *
 * Return: how many submissions went to the kernel, or -errno of
 * io_uring_submit().
 */
int fastipc_ring_submit(struct fastipc_ring *ring);

/**
 * fastipc_ring_reap() - collect completions, serving the ring's servers
 * @ring: the ring
 * @comps: where to store the completions
 * @max: room at @comps
 * @min: wait until this many are there (at most @max); 0 not to wait
 * @timeout_ns: give up waiting after this long; 0 to wait for ever
 *
 * Submits what is queued, handles every completion there is, and waits for
 * more while fewer than @min are ready. The messages that reach the ring's
 * servers are handled meanwhile, on this thread: their handlers run, their
 * answers go out with the next receives armed, and they produce no
 * completion. Completions beyond @max wait for the next call, which also
 * ends the validity of the replies this call returned (and makes their
 * reply room free for new calls). Returns early, with what it has, when
 * nothing is in flight that could complete.
 *
 * Return: how many completions were stored, or -errno when none was:
 * -ETIMEDOUT the timeout expired, -EINTR a signal arrived, -EBUSY called from
 * a handler the ring runs, or the error that made a server's receive fail
 * (-EPIPE, for one): that server is no longer served, though it must still
 * be removed.
 */
int fastipc_ring_reap(struct fastipc_ring *ring, struct fastipc_completion *comps,
		      unsigned int max, unsigned int min, uint64_t timeout_ns);

/**
 * fastipc_ring_add_server() - serve a server from the ring
 * @ring: the ring
 * @server: the server; not run by threads or another ring meanwhile
 * @depth: receives the ring keeps armed for it, up to
 *	FASTIPC_RING_MAX_DEPTH; 0 for FASTIPC_RING_DEFAULT_DEPTH. Each takes
 *	messages off the endpoint like an idle server thread would, and has a
 *	reply room of the server's reply_size.
 *
 * The receives go out with the ring's next submission; from then on the
 * server's messages are handled by fastipc_ring_reap() and
 * fastipc_ring_serve() on this ring, each answer and the receive that
 * replaces it submitted together. Handlers run on the ring's thread and may
 * queue calls on the ring, but not reap, serve, add or remove servers.
 * The ring registers a small buffer of its own on the endpoint (an endpoint
 * holds FASTIPC_MAX_BUFS buffers, its pool included).
 *
 * Return: 0, or -errno: -EBUSY the server is being served already, or
 * called from a handler the ring runs, -EINVAL @depth too large, -ENOSPC
 * the endpoint has no buffer id left, -ENOMEM, or an error of
 * io_uring_submit().
 */
int fastipc_ring_add_server(struct fastipc_ring *ring, struct fastipc_server *server,
			    unsigned int depth);

/**
 * fastipc_ring_remove_server() - stop serving a server from the ring
 * @ring: the ring
 * @server: a server added to it
 *
 * Cancels the server's receives and waits for them, handling and answering
 * the messages they had already taken; messages still waiting stay in the
 * endpoint's pool. Completions of other operations that arrive meanwhile
 * wait for fastipc_ring_reap(). The server may then be destroyed, or served
 * otherwise. Must be called before fastipc_server_destroy().
 *
 * Return: 0, or -errno: -ENOENT @server is not served by @ring, -EBUSY
 * called from a handler the ring runs, or an error of io_uring_enter(2) (the
 * server then stays, to be removed again).
 */
int fastipc_ring_remove_server(struct fastipc_ring *ring, struct fastipc_server *server);

/**
 * fastipc_ring_serve() - serve servers from the ring until one is stopped
 * @ring: the ring
 * @servers: the servers, none of them served otherwise meanwhile
 * @n: how many
 *
 * Adds each of @servers to the ring as fastipc_ring_add_server() does with
 * the default depth, serves them (and any added before) on this thread
 * until fastipc_server_stop() is called for one of @servers, then removes
 * them as fastipc_ring_remove_server() does. Completions of calls and sends
 * that arrive meanwhile wait for fastipc_ring_reap().
 *
 * Return: 0 once stopped, or -errno: -EINVAL @n is 0, -EBUSY called from a
 * handler the ring runs, an error of fastipc_ring_add_server(), or the
 * error that made a server's receive fail.
 */
int fastipc_ring_serve(struct fastipc_ring *ring, struct fastipc_server *const *servers,
		       unsigned int n);

#ifdef __cplusplus
}
#endif

#endif /* LIBFASTIPC_H */
