/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * fastipc: synchronous local IPC through /dev/fastipc.
 *
 * Each open of /dev/fastipc is a port. A port becomes either an *endpoint*
 * (FASTIPC_IOC_EP_CREATE: a server receives calls and one-way messages on it)
 * or a *client* connected to one endpoint (FASTIPC_IOC_CONNECT: calls and
 * sends go to that endpoint). Either kind may register buffers of its own
 * memory (FASTIPC_IOC_BUF_REGISTER); payloads are only ever copied into
 * registered buffers, once, straight from the sender's memory.
 *
 * Every command is _IOWR(FASTIPC_IOCTL_MAGIC, nr, struct). Structs have a fixed
 * size, hold only __u8..__u64 fields with no implicit padding and carry user
 * pointers as __aligned_u64. Fields marked "out" are ignored on input.
 *
 * Errors common to every command:
 *  ENOTTY  unknown command.
 *  EINVAL  unknown flag, non-zero reserved field, or a field out of range.
 *  EFAULT  the argument or a user pointer inside it is not accessible.
 *  EBADFD  the port's role does not allow the command (a client serving, an
 *          endpoint calling, ...).
 *
 * Each command's own errors are listed with its struct.
 *
 * Commands that sleep (FASTIPC_IOC_CALL, FASTIPC_IOC_SEND with
 * FASTIPC_SEND_WAIT, FASTIPC_IOC_SERVE receiving) are restarted transparently
 * after whatever interrupts them: task work, stop signals, ptrace, signal
 * handlers installed with SA_RESTART. They fail with EINTR only when a
 * handler without SA_RESTART runs. A restart never does anything twice.
 */
#ifndef _UAPI_LINUX_FASTIPC_H
#define _UAPI_LINUX_FASTIPC_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

#define FASTIPC_IOCTL_MAGIC	0xF1

/*
 * Bumped only for incompatible changes; additions show up as feature bits.
 * 2: a forwarded call names its forwarder as the sender and its caller in
 * separate fields, and is accepted only by endpoints created with
 * FASTIPC_EP_ACCEPT_FORWARDS; CONNECT reports the endpoint's owner and
 * limits; struct fastipc_msg_info grew to carry the caller.
 */
#define FASTIPC_ABI_VERSION	2

/* Named endpoints: 1..FASTIPC_NAME_MAX-1 bytes of [A-Za-z0-9._:-], NUL padded. */
#define FASTIPC_NAME_MAX	64
/* Largest request, reply or one-way payload. */
#define FASTIPC_MAX_PAYLOAD	(16U << 20)
/* Largest registered buffer, and registered buffers per port. */
#define FASTIPC_MAX_BUF_LEN	(256U << 20)
#define FASTIPC_MAX_BUFS	16
/* Receive slots per endpoint, and how often one call may be forwarded. */
#define FASTIPC_MAX_SLOTS	1024
#define FASTIPC_MAX_FORWARDS	8

/* Feature bits reported by FASTIPC_IOC_VERSION. */
/* Endpoints, calls, reply-and-receive, one-way sends, forward, poll. */
#define FASTIPC_F_CORE		_BITULL(0)
/* Asynchronous calls, sends, receives and replies through io_uring. */
#define FASTIPC_F_URING		_BITULL(1)
#define FASTIPC_F_ALL		(FASTIPC_F_CORE | FASTIPC_F_URING)

/**
 * struct fastipc_version - FASTIPC_IOC_VERSION
 * @flags: must be 0.
 * @abi_version: out, FASTIPC_ABI_VERSION of the running module.
 * @features: out, the FASTIPC_F_* bits the running module supports.
 * @reserved: must be 0.
 */
struct fastipc_version {
	__u32 flags;
	__u32 abi_version;
	__aligned_u64 features;
	__aligned_u64 reserved[2];
};

/**
 * struct fastipc_buf_register - FASTIPC_IOC_BUF_REGISTER
 * @flags: must be 0.
 * @id: out, the buffer's id on this port, 0..FASTIPC_MAX_BUFS-1.
 * @addr: start of the region, any alignment; must be writable memory.
 * @len: length of the region, 1..FASTIPC_MAX_BUF_LEN.
 * @reserved: must be 0.
 *
 * Pins the region and maps it for the kernel until FASTIPC_IOC_BUF_UNREGISTER
 * or the port's release (an endpoint's pool, or a reply buffer of a call in
 * progress, stays pinned until done with). While pinned, the pages are
 * charged to the registering user's locked memory (the count io_uring's
 * registered buffers also use), limited by the registering task's
 * RLIMIT_MEMLOCK unless it has CAP_IPC_LOCK, and show in the registering
 * process's VmPin; the charge stays with the pages whichever process holds
 * the port by then.
 *
 * The region may be anonymous memory, a private mapping of anything, or a
 * shared mapping of shmem (tmpfs, memfd, MAP_SHARED | MAP_ANONYMOUS, SysV
 * shm) or hugetlbfs; not a shared mapping of any other file, whose pages the
 * kernel must not write behind its filesystem's back.
 *
 * Errors: ENOSPC all FASTIPC_MAX_BUFS ids in use; ENOMEM over RLIMIT_MEMLOCK
 * or out of memory; EOPNOTSUPP part of the region is a shared mapping of a
 * file other than shmem or hugetlbfs; EFAULT the region is not mapped
 * writable.
 */
struct fastipc_buf_register {
	__u32 flags;
	__u32 id;
	__aligned_u64 addr;
	__aligned_u64 len;
	__aligned_u64 reserved[2];
};

/**
 * struct fastipc_buf_unregister - FASTIPC_IOC_BUF_UNREGISTER
 * @flags: must be 0.
 * @id: the id FASTIPC_IOC_BUF_REGISTER returned.
 * @reserved: must be 0.
 *
 * Drops the port's use of the buffer. An endpoint's receive pool, and a reply
 * buffer named by a call in progress, stay pinned until they are done with.
 *
 * Errors: ENOENT no such id.
 */
struct fastipc_buf_unregister {
	__u32 flags;
	__u32 id;
	__aligned_u64 reserved[2];
};

/**
 * struct fastipc_ep_create - FASTIPC_IOC_EP_CREATE
 * @flags: FASTIPC_EP_NAMED to publish the endpoint under @name;
 *	FASTIPC_EP_ACCEPT_FORWARDS to take calls other servers forward here
 *	(FASTIPC_IOC_FORWARD), refused otherwise.
 * @mode: for a named endpoint, permission bits like a file's (e.g. 0600,
 *	0660, 0666): connecting needs the write bit of the class the caller
 *	falls in (owner, group, other), or CAP_IPC_OWNER. Must be 0 when
 *	unnamed; no bits beyond 0777.
 * @name: for a named endpoint, the name, NUL padded. Must be all 0 when unnamed.
 * @pool_buf: id of the registered buffer holding the receive pool.
 * @slot_size: bytes per receive slot, 1..FASTIPC_MAX_PAYLOAD; the largest
 *	request or one-way payload the endpoint accepts.
 * @pool_offset: where the pool starts in @pool_buf.
 * @nslots: receive slots, 1..FASTIPC_MAX_SLOTS.
 * @max_reply: the largest reply the endpoint's server will send,
 *	0..FASTIPC_MAX_PAYLOAD, 0 for FASTIPC_MAX_PAYLOAD. CONNECT tells
 *	clients; a longer reply fails with EMSGSIZE.
 * @reserved: must be 0.
 *
 * Makes the port an endpoint. Its receive pool is @nslots slots of
 * @slot_size bytes at @pool_offset in the registered buffer @pool_buf. Each
 * message arriving takes a free slot at once and the sender copies its
 * payload straight into it, whether or not a server thread is waiting; the
 * slot stays the server's until it replies to the call (or releases the
 * one-way message) through FASTIPC_IOC_SERVE or forwards it. One-way messages
 * may hold at most half the slots (rounded up), so calls always find room
 * eventually. The endpoint is owned by the caller's euid and egid, which
 * CONNECT reports. A named endpoint is published in the caller's IPC
 * namespace and unpublished when the endpoint's last fd is closed.
 *
 * Errors: EBUSY the port is already an endpoint or a client; ENOENT no such
 * @pool_buf; EINVAL the pool does not fit in the buffer, or a bad name or mode;
 * EEXIST the name is taken in this IPC namespace; ENOSPC the user who opened
 * the port owns max_endpoints_per_user endpoints already (module parameter,
 * default 1024).
 */
struct fastipc_ep_create {
	__u32 flags;
	__u32 mode;
	__u8 name[FASTIPC_NAME_MAX];
	__u32 pool_buf;
	__u32 slot_size;
	__aligned_u64 pool_offset;
	__u32 nslots;
	__u32 max_reply;
	__aligned_u64 reserved[2];
};

#define FASTIPC_EP_NAMED		_BITUL(0)
#define FASTIPC_EP_ACCEPT_FORWARDS	_BITUL(1)
#define FASTIPC_EP_ALL			(FASTIPC_EP_NAMED | FASTIPC_EP_ACCEPT_FORWARDS)

/**
 * struct fastipc_connect - FASTIPC_IOC_CONNECT
 * @flags: FASTIPC_CONNECT_FD to connect to the endpoint behind @ep_fd (an
 *	anonymous endpoint shared by inheritance or SCM_RIGHTS, or any port
 *	connected to one) instead of looking up @name.
 * @ep_fd: with FASTIPC_CONNECT_FD, the fd; else must be 0.
 * @name: without FASTIPC_CONNECT_FD, the endpoint's name in the caller's IPC
 *	namespace; else must be all 0.
 * @owner_uid: out, the euid that created the endpoint, in the caller's user
 *	namespace (overflowuid if unmapped).
 * @owner_gid: out, its egid likewise.
 * @ep_flags: out, the FASTIPC_EP_* flags the endpoint was created with.
 * @slot_size: out, the largest request or one-way payload it accepts.
 * @nslots: out, its receive slots.
 * @max_oneway: out, how many of them one-way messages may hold.
 * @max_reply: out, the largest reply its server will send.
 * @reserved0: must be 0.
 * @reserved: must be 0.
 *
 * Makes the port a client of the endpoint and describes it. Names are first
 * come, first served: a client that cares whom it talks to checks
 * @owner_uid (and @owner_gid) before sending anything, and closes the port
 * if they are not whom it expects.
 *
 * Errors: EBUSY the port is already an endpoint or a client; ENOENT no
 * endpoint of that name; EACCES the endpoint's mode denies the caller; EBADF
 * @ep_fd is not an open fd; EINVAL @ep_fd is not a fastipc port that is or
 * reaches an endpoint; EPIPE the endpoint is closed.
 */
struct fastipc_connect {
	__u32 flags;
	__s32 ep_fd;
	__u8 name[FASTIPC_NAME_MAX];
	__u32 owner_uid;
	__u32 owner_gid;
	__u32 ep_flags;
	__u32 slot_size;
	__u32 nslots;
	__u32 max_oneway;
	__u32 max_reply;
	__u32 reserved0;
	__aligned_u64 reserved[2];
};

#define FASTIPC_CONNECT_FD	_BITUL(0)
#define FASTIPC_CONNECT_ALL	FASTIPC_CONNECT_FD

/**
 * struct fastipc_call - FASTIPC_IOC_CALL
 * @flags: must be 0.
 * @opcode: in, the request's opcode, passed through to the server.
 * @req_addr: in, the request payload in any readable memory of the caller.
 * @req_len: in, its length, 0..the endpoint's slot size.
 * @reply_buf: in, id of the caller's registered buffer for the reply.
 * @reply_offset: in, where in @reply_buf the reply goes.
 * @reply_cap: in, room for the reply at @reply_offset; must fit the buffer.
 *	Replies are limited to the smallest of this and the max_reply of every
 *	endpoint the call reaches.
 * @timeout_ns: in, relative timeout, 0 for none. The deadline is set when the
 *	call is first entered and kept across restarts.
 * @status: out, the server's status word.
 * @reply_len: out, the reply's length.
 * @reserved: must be 0.
 *
 * On a client port: sends a request to the endpoint and waits for its reply.
 * The request is copied once, from @req_addr into a slot of the endpoint's
 * receive pool (waiting for a free slot if all are taken); the reply is
 * copied once, by the replying server, into @reply_buf at @reply_offset.
 *
 * An interrupted call stays in the kernel, and the restarted ioctl takes it
 * back if its struct is byte for byte the same: the request is not sent
 * again, the reply is delivered once, and the deadline holds. A restart may
 * change nothing in the struct; one that differs cancels the interrupted call
 * and starts a new one. The reply may land in the reply room while the
 * thread is interrupted, before the restart returns it.
 *
 * Errors: ENOTCONN the port is not connected; EMSGSIZE @req_len exceeds the
 * endpoint's slot size; ENOENT no such @reply_buf; EPIPE the endpoint closed
 * before replying; EINTR a handler without SA_RESTART was pending while the
 * call waited (for a slot: nothing was sent; for the reply: the call is
 * cancelled and the server's reply, if it comes, gets ECANCELED); ETIMEDOUT
 * the deadline passed first (likewise); ELOOP the call was forwarded more
 * than FASTIPC_MAX_FORWARDS times; ENOMEM the call was interrupted and no
 * memory was left to keep it until the restart (it is cancelled, as for
 * EINTR). A reply being copied when the wait ends wins over the timeout and
 * over any signal but a fatal one.
 */
struct fastipc_call {
	__u32 flags;
	__u32 opcode;
	__aligned_u64 req_addr;
	__u32 req_len;
	__u32 reply_buf;
	__aligned_u64 reply_offset;
	__u32 reply_cap;
	__s32 status;
	__aligned_u64 timeout_ns;
	__u32 reply_len;
	__u32 reserved0;
	__aligned_u64 reserved[2];
};

/**
 * struct fastipc_send - FASTIPC_IOC_SEND
 * @flags: FASTIPC_SEND_WAIT to wait for room instead of failing with EAGAIN
 *	or EDQUOT.
 * @opcode: in, the message's opcode.
 * @addr: in, the payload in any readable memory of the sender.
 * @len: in, its length, 0..the endpoint's slot size.
 * @reserved0: must be 0.
 * @reserved: must be 0.
 *
 * On a client port: delivers a one-way message to the endpoint without
 * waiting for the server. The payload is copied once into a slot of the
 * endpoint's pool; messages wait there, in order, until a server thread
 * receives them. Messages from one sender are received in the order sent.
 *
 * Errors: ENOTCONN the port is not connected; EMSGSIZE @len exceeds the slot
 * size; EAGAIN the endpoint has no room: its one-way share (half its slots)
 * is full, or every slot is taken; EDQUOT the user who opened the port has
 * its quota of messages waiting already: max_oneway_per_sender in this
 * endpoint (module parameter, default 256) or max_oneway_per_user in all
 * endpoints it does not own (default 4096); EPIPE the endpoint is closed; EINTR a handler without
 * SA_RESTART ran while waiting for room (nothing was sent; other
 * interruptions restart the send).
 */
struct fastipc_send {
	__u32 flags;
	__u32 opcode;
	__aligned_u64 addr;
	__u32 len;
	__u32 reserved0;
	__aligned_u64 reserved[2];
};

#define FASTIPC_SEND_WAIT	_BITUL(0)
#define FASTIPC_SEND_ALL	FASTIPC_SEND_WAIT

/**
 * struct fastipc_serve - FASTIPC_IOC_SERVE, reply and receive
 * @flags: FASTIPC_SERVE_REPLY to answer @reply_token first;
 *	FASTIPC_SERVE_RECV to receive the next message; FASTIPC_SERVE_NONBLOCK
 *	to fail with EAGAIN rather than wait when nothing is there. At least one
 *	of REPLY and RECV.
 * @reply_status: in, the status word the caller gets.
 * @reply_token: in, the token of the message being answered.
 * @reply_addr: in, the reply payload in any readable memory of the server.
 * @reply_len: in, its length; 0 for a one-way message.
 *	Without FASTIPC_SERVE_REPLY the four reply fields must be 0.
 * @msg_flags: out, FASTIPC_MSG_ONEWAY for a one-way message,
 *	FASTIPC_MSG_FORWARDED for a call another server forwarded here.
 * @token: out, the received message's token, for the reply (or the release
 *	of a one-way message's slot). Each token is answered once.
 * @offset: out, where the payload is in the pool's registered buffer.
 * @opcode: out, the message's opcode.
 * @len: out, the payload's length.
 * @pid: out, the sender's thread-group id in the server's PID namespace
 *	(0 if not visible there, or if the sender has exited). The sender of a
 *	forwarded call is the process that forwarded it.
 * @uid: out, the sender's euid in the server's user namespace (overflowuid
 *	if unmapped).
 * @gid: out, the sender's egid likewise.
 * @caller_pid: out, like @pid, for the process that made the call: the
 *	sender itself unless FASTIPC_MSG_FORWARDED. What a forwarded call
 *	asks for was chosen by its forwarder, not by its caller.
 * @caller_uid: out, like @uid, for that process.
 * @caller_gid: out, like @gid, for that process.
 * @reserved: must be 0.
 *
 * On an endpoint port. The reply part is done first: the reply is copied
 * once into the caller's registered reply buffer and the caller woken, and
 * the token's slot is freed. Then the receive part takes the oldest waiting
 * message or sleeps until one comes; a message arriving while several server
 * threads wait goes to the one that went idle last.
 *
 * An interrupted receive takes nothing and restarts, or fails with EINTR. The
 * struct is then written back, out fields 0, and if a reply went out first
 * with FASTIPC_SERVE_REPLY cleared and the four reply fields 0: the restart,
 * or the same struct issued again after EINTR, only receives.
 *
 * Errors of the reply part (nothing is received): ENOENT @reply_token is not
 * a message this endpoint's server holds (already answered, forged, from
 * another endpoint, or being answered or forwarded by another thread right
 * now); EMSGSIZE the reply does not fit the caller's reply room, exceeds the
 * max_reply of an endpoint the call passed through, or FASTIPC_MAX_PAYLOAD
 * (the token is still held: reply again); EINVAL a non-empty reply to a
 * one-way message (token still held); EFAULT @reply_addr
 * is not readable (token still held; the caller's reply room may hold part of
 * the bytes); ECANCELED the caller gave up (signal, timeout, death): the token
 * is consumed, nothing delivered.
 * Errors of the receive part (the reply, if any, was delivered): EAGAIN
 * nothing waiting with FASTIPC_SERVE_NONBLOCK; EINTR a handler without
 * SA_RESTART ran while waiting (nothing was received).
 */
struct fastipc_serve {
	__u32 flags;
	__s32 reply_status;
	__aligned_u64 reply_token;
	__aligned_u64 reply_addr;
	__u32 reply_len;
	__u32 msg_flags;
	__aligned_u64 token;
	__aligned_u64 offset;
	__u32 opcode;
	__u32 len;
	__u32 pid;
	__u32 uid;
	__u32 gid;
	__u32 caller_pid;
	__u32 caller_uid;
	__u32 caller_gid;
	__aligned_u64 reserved[2];
};

#define FASTIPC_SERVE_REPLY	_BITUL(0)
#define FASTIPC_SERVE_RECV	_BITUL(1)
#define FASTIPC_SERVE_NONBLOCK	_BITUL(2)
#define FASTIPC_SERVE_ALL	(FASTIPC_SERVE_REPLY | FASTIPC_SERVE_RECV | \
				 FASTIPC_SERVE_NONBLOCK)

#define FASTIPC_MSG_ONEWAY	_BITUL(0)
#define FASTIPC_MSG_FORWARDED	_BITUL(1)

/**
 * struct fastipc_forward - FASTIPC_IOC_FORWARD
 * @flags: must be 0.
 * @target_fd: in, a port that is, or is connected to, the target endpoint.
 * @token: in, the token of a call this endpoint's server holds.
 * @opcode: in, the forwarded request's opcode.
 * @addr: in, the new request payload in any readable memory of the server.
 * @len: in, its length, 0..the target's slot size.
 * @reserved0: must be 0.
 * @reserved: must be 0.
 *
 * On an endpoint port: hands the call behind @token, with a new request, to
 * another endpoint (a tail call). The token is consumed; the target's server
 * replies straight to the original caller, within the smallest max_reply of
 * the endpoints on the way. The target receives the call from the
 * forwarding process (pid, uid and gid), flagged FASTIPC_MSG_FORWARDED, with
 * the original caller in the caller_* fields.
 *
 * Errors: ENOENT @token not held; EINVAL @token is a one-way message, or
 * @target_fd is not a fastipc port reaching an endpoint; EBADF @target_fd is
 * not open; EPERM the target was not created with FASTIPC_EP_ACCEPT_FORWARDS
 * (the token is still held); EMSGSIZE @len exceeds the target's slot size; EAGAIN the target
 * has no free slot (the token is still held); ELOOP the call has been
 * forwarded FASTIPC_MAX_FORWARDS times (the caller gets ELOOP, the token is
 * consumed); ECANCELED the caller gave up (token consumed); EPIPE the target
 * is closed (the token is still held). If the target closes after the
 * payload is in its slot, FORWARD succeeds and the caller gets EPIPE.
 */
struct fastipc_forward {
	__u32 flags;
	__s32 target_fd;
	__aligned_u64 token;
	__u32 opcode;
	__u32 len;
	__aligned_u64 addr;
	__u32 reserved0;
	__u32 reserved1;
	__aligned_u64 reserved[2];
};

/**
 * DOC: io_uring commands
 *
 * A port also takes IORING_OP_URING_CMD submissions (FASTIPC_F_URING). The
 * ring must be set up with IORING_SETUP_SQE128 and IORING_SETUP_CQE32, else
 * the command fails with EINVAL. sqe->cmd_op is one of the FASTIPC_URING_*
 * values below and the command's struct sits at the start of the SQE's
 * 80-byte command area; it is read once, when the SQE is issued, so the SQE
 * may be reused as soon as io_uring_submit() returns. Each command posts one
 * CQE: res is the command's result or -errno, big_cqe[0] a command-specific
 * value, big_cqe[1] zero.
 *
 * No command sleeps or waits in a worker thread: a call finding every slot
 * taken waits for one in the endpoint and is sent when one is freed, and a
 * send does not wait for room (FASTIPC_SEND_WAIT is refused with EINVAL). A
 * command whose user memory is not resident when io_uring first issues it
 * (IO_URING_F_NONBLOCK) is issued again from an io_uring worker, which may
 * fault it in; the result is the same.
 *
 * io_uring's own IORING_OP_ASYNC_CANCEL and linked timeouts do not reach
 * commands that are waiting for a peer: cancel them with FASTIPC_URING_CANCEL.
 * Closing the ring (as the exit of the last process holding it does) cancels
 * them too, at once and even while a reply is being copied; the exit of the
 * submitting thread or process does not. Completions are posted from task work
 * in the submitting thread, which a fastipc ioctl sleeping there does not
 * hold up: the ioctl restarts.
 */

/**
 * struct fastipc_uring_call - FASTIPC_URING_CALL, an asynchronous call
 * @flags: must be 0.
 * @opcode: the request's opcode.
 * @req_addr: the request payload in any readable memory of the caller.
 * @req_len: its length, 0..the endpoint's slot size.
 * @reply_buf: id of the caller's registered buffer for the reply.
 * @reply_offset: where in @reply_buf the reply goes.
 * @reply_cap: room for the reply at @reply_offset; must fit the buffer.
 *	Replies are limited as FASTIPC_IOC_CALL's are.
 * @reserved0: must be 0.
 * @tag: any value, for FASTIPC_URING_CANCEL.
 * @reserved: must be 0.
 *
 * On a client port: FASTIPC_IOC_CALL without the wait. The request is copied
 * into the endpoint's pool when the command is issued, or, if every slot is
 * taken, when one is freed (so it must stay in place until the CQE); the
 * reply lands in @reply_buf by the server's single copy, and the CQE follows.
 * Many calls may be in flight on one port at once; give each its own reply
 * room. A call outlives its submitting thread and process as long as its ring
 * lives.
 *
 * CQE: res is the reply's length, big_cqe[0] the server's status word (an
 * __s32, sign-extended). Errors as FASTIPC_IOC_CALL's, but never EINTR or
 * ETIMEDOUT; ECANCELED the call was cancelled (FASTIPC_URING_CANCEL, ring
 * closed, or still waiting for a slot when its submitter exited) and the
 * server's reply, if it comes, gets ECANCELED.
 */
struct fastipc_uring_call {
	__u32 flags;
	__u32 opcode;
	__aligned_u64 req_addr;
	__u32 req_len;
	__u32 reply_buf;
	__aligned_u64 reply_offset;
	__u32 reply_cap;
	__u32 reserved0;
	__aligned_u64 tag;
	__aligned_u64 reserved[2];
};

/**
 * struct fastipc_msg_info - a received message, as FASTIPC_URING_RECV stores it
 * @flags: FASTIPC_MSG_ONEWAY, FASTIPC_MSG_FORWARDED.
 * @opcode: the message's opcode.
 * @token: the message's token, for FASTIPC_URING_REPLY or FASTIPC_IOC_SERVE.
 * @offset: where the payload is in the pool's registered buffer.
 * @len: the payload's length.
 * @pid: the sender's thread-group id in the receiver's PID namespace.
 * @uid: the sender's euid in the receiver's user namespace.
 * @gid: the sender's egid likewise.
 * @caller_pid: the caller's thread-group id likewise.
 * @caller_uid: the caller's euid likewise.
 * @caller_gid: the caller's egid likewise.
 * @reserved0: 0.
 * @reserved: 0.
 *
 * The fields mean what FASTIPC_IOC_SERVE's out fields of the same names mean.
 */
struct fastipc_msg_info {
	__u32 flags;
	__u32 opcode;
	__aligned_u64 token;
	__aligned_u64 offset;
	__u32 len;
	__u32 pid;
	__u32 uid;
	__u32 gid;
	__u32 caller_pid;
	__u32 caller_uid;
	__u32 caller_gid;
	__u32 reserved0;
	__aligned_u64 reserved;
};

/**
 * struct fastipc_uring_recv - FASTIPC_URING_RECV, receive one message
 * @flags: must be 0.
 * @msg_buf: id of a registered buffer of the endpoint's port.
 * @msg_offset: where in @msg_buf the struct fastipc_msg_info goes; it must fit.
 * @tag: any value, for FASTIPC_URING_CANCEL.
 * @reserved: must be 0.
 *
 * On an endpoint port: waits, like FASTIPC_IOC_SERVE's receive part, for the
 * next message, stores its struct fastipc_msg_info at @msg_offset and posts the
 * CQE. A receive waiting in a ring counts as an idle server thread. Re-arm it
 * after each CQE to go on receiving. The record is written when the CQE is
 * posted; a message handed to a receive whose ring is torn down, or whose
 * submitting thread exits, before that goes back to the endpoint (to another
 * idle server, or queued in arrival order) and is not lost.
 *
 * CQE: res is the payload's length, big_cqe[0] the message's token. Errors:
 * ENOENT no such @msg_buf; EINVAL the record does not fit; EPIPE the endpoint
 * died; ECANCELED cancelled, or the message was given back (nothing was
 * received, no record written).
 */
struct fastipc_uring_recv {
	__u32 flags;
	__u32 msg_buf;
	__aligned_u64 msg_offset;
	__aligned_u64 tag;
	__aligned_u64 reserved[2];
};

/**
 * struct fastipc_uring_reply - FASTIPC_URING_REPLY, answer a message
 * @flags: must be 0.
 * @status: the status word the caller gets.
 * @token: the token of the message being answered.
 * @addr: the reply payload in any readable memory of the server.
 * @len: its length; 0 for a one-way message.
 * @reserved0: must be 0.
 * @reserved: must be 0.
 *
 * On an endpoint port: FASTIPC_IOC_SERVE's reply part. CQE: res 0, or the
 * errors of that reply part.
 */
struct fastipc_uring_reply {
	__u32 flags;
	__s32 status;
	__aligned_u64 token;
	__aligned_u64 addr;
	__u32 len;
	__u32 reserved0;
	__aligned_u64 reserved[2];
};

/**
 * struct fastipc_uring_cancel - FASTIPC_URING_CANCEL
 * @flags: FASTIPC_CANCEL_ALL to cancel every call and receive of this port
 *	in flight; @tag must then be 0.
 * @reserved0: must be 0.
 * @tag: cancel the port's calls and receives in flight submitted with @tag.
 * @reserved: must be 0.
 *
 * Each one cancelled completes with ECANCELED. Never waits: a call whose reply
 * is being copied, or a command already completing, completes normally
 * instead and is not counted. Commands io_uring has not issued to
 * the module yet (linked behind others, or queued for a worker with
 * IOSQE_ASYNC) are not seen; IORING_OP_ASYNC_CANCEL reaches those.
 *
 * CQE: res is how many were cancelled. Errors: ENOENT none was.
 */
struct fastipc_uring_cancel {
	__u32 flags;
	__u32 reserved0;
	__aligned_u64 tag;
	__aligned_u64 reserved[2];
};

#define FASTIPC_CANCEL_ALL	_BITUL(0)

#define FASTIPC_IOC_VERSION	_IOWR(FASTIPC_IOCTL_MAGIC, 0x00, struct fastipc_version)
#define FASTIPC_IOC_BUF_REGISTER _IOWR(FASTIPC_IOCTL_MAGIC, 0x01, struct fastipc_buf_register)
#define FASTIPC_IOC_BUF_UNREGISTER _IOWR(FASTIPC_IOCTL_MAGIC, 0x02, struct fastipc_buf_unregister)
#define FASTIPC_IOC_EP_CREATE	_IOWR(FASTIPC_IOCTL_MAGIC, 0x03, struct fastipc_ep_create)
#define FASTIPC_IOC_CONNECT	_IOWR(FASTIPC_IOCTL_MAGIC, 0x04, struct fastipc_connect)
#define FASTIPC_IOC_CALL	_IOWR(FASTIPC_IOCTL_MAGIC, 0x05, struct fastipc_call)
#define FASTIPC_IOC_SEND	_IOWR(FASTIPC_IOCTL_MAGIC, 0x06, struct fastipc_send)
#define FASTIPC_IOC_SERVE	_IOWR(FASTIPC_IOCTL_MAGIC, 0x07, struct fastipc_serve)
#define FASTIPC_IOC_FORWARD	_IOWR(FASTIPC_IOCTL_MAGIC, 0x08, struct fastipc_forward)

/*
 * io_uring command opcodes (sqe->cmd_op). FASTIPC_URING_SEND takes a struct
 * fastipc_send without FASTIPC_SEND_WAIT and completes with res 0 or
 * FASTIPC_IOC_SEND's errors.
 */
#define FASTIPC_URING_CALL	_IOW(FASTIPC_IOCTL_MAGIC, 0x20, struct fastipc_uring_call)
#define FASTIPC_URING_SEND	_IOW(FASTIPC_IOCTL_MAGIC, 0x21, struct fastipc_send)
/* 0x22 was ABI 1's receive, whose record was 48 bytes: now ENOTTY. */
#define FASTIPC_URING_RECV	_IOW(FASTIPC_IOCTL_MAGIC, 0x25, struct fastipc_uring_recv)
#define FASTIPC_URING_REPLY	_IOW(FASTIPC_IOCTL_MAGIC, 0x23, struct fastipc_uring_reply)
#define FASTIPC_URING_CANCEL	_IOW(FASTIPC_IOCTL_MAGIC, 0x24, struct fastipc_uring_cancel)

#endif /* _UAPI_LINUX_FASTIPC_H */
