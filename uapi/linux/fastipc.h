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
 * Each command's own errors are listed with its struct, in the kernel-doc
 * comments that Documentation/userspace-api/fastipc.rst includes.
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
 * Bumped only for incompatible changes (struct fastipc_version says what
 * each changed); additions show up as feature bits.
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
/* Descriptors carried by calls, replies and one-way messages (DOC: descriptors). */
#define FASTIPC_F_FDS		_BITULL(2)
#define FASTIPC_F_ALL		(FASTIPC_F_CORE | FASTIPC_F_URING | FASTIPC_F_FDS)

/* Descriptors one call, reply or one-way message may carry. */
#define FASTIPC_MAX_FDS		16

/**
 * DOC: descriptors
 *
 * With feature bit FASTIPC_F_FDS, a call (FASTIPC_CALL_FDS), a one-way
 * message (FASTIPC_SEND_FDS) and a reply (FASTIPC_SERVE_FDS with
 * FASTIPC_SERVE_REPLY) may carry up to FASTIPC_MAX_FDS (16) file
 * descriptors, as SCM_RIGHTS does over a UNIX socket. The sender names them
 * in an array of __s32. They are resolved when the message is sent: a
 * descriptor that is not open fails the command with EBADF and nothing is
 * sent; closing them afterwards does not affect the message. The receiver
 * gets new descriptors for the same open files only when it receives the
 * message, installed by the kernel into its own descriptor table, in its own
 * task: a server's FASTIPC_IOC_SERVE receive, or a caller's FASTIPC_IOC_CALL
 * as it returns with the reply. Until then the files are held by the message,
 * and released if the message never reaches its receiver: a call cancelled
 * (timeout, signal, FASTIPC_URING_CANCEL) while queued, a reply to a caller
 * who gave up, a message refused by any error, a message still queued or held
 * when its endpoint dies. A server that dies holding a received message has
 * the descriptors in its own table already: they close with it.
 *
 * The receiver gives an array and its capacity; the command reports how many
 * descriptors the message carried, and the first min(carried, capacity)
 * entries of the array are the new descriptors, in the order sent, or -1 for
 * one that could not be installed: RLIMIT_NOFILE reached (EMFILE), or the
 * LSM refused it. Descriptors beyond the capacity, or not installed, are
 * closed; on a received message FASTIPC_MSG_FDS_TRUNC then says so, as
 * MSG_CTRUNC does. The message itself is always received: a full descriptor
 * table never holds up a server or loses a message. If the array cannot be
 * written, nothing is installed and all are closed (FASTIPC_MSG_FDS_TRUNC).
 * FASTIPC_CALL_FDS_CLOEXEC and FASTIPC_SERVE_FDS_CLOEXEC install them with
 * O_CLOEXEC.
 *
 * What may be carried: regular files (memfds included: a sealed memfd is the
 * way to hand over a large payload without copying it), directories, pipes
 * and FIFOs, O_PATH descriptors of those, and /dev/fastipc ports that are
 * endpoints or clients. A port is not carried itself: the receiver gets a new
 * client port connected to the same endpoint (not the sender's port, its
 * buffers or its calls, and never the power to serve the endpoint), usable at
 * once for calls once it has a buffer, or for FASTIPC_CONNECT_FD. Anything
 * else fails the command with EOPNOTSUPP and nothing is sent: sockets, device
 * files, io_uring, epoll, eventfd and every other anonymous-inode file, and
 * ports with no role. The reason is reference cycles. An endpoint dies only
 * when its own port is released; a message queued in it holds its files
 * until then. A file that can itself hold files (a UNIX socket's queue, an
 * io_uring's registered files, a port's parked calls, a binder or FUSE
 * device) could hold the endpoint's port, directly or through further such
 * files, and the endpoint would then keep itself alive for ever, with
 * nothing left that could release it (the kernel's UNIX socket garbage
 * collector does not know fastipc's references). The files allowed hold
 * nothing of the kind, and a carried port holds only the endpoint's memory,
 * not its port, so no cycle can form.
 *
 * A message's descriptors count, from send until they are installed or
 * closed, against the in-flight limit of the user who opened the sending
 * port: max_fds_per_user (module parameter, default 1024) over all
 * endpoints. Over it, the command fails with ETOOMANYREFS, as sendmsg() does
 * on a UNIX socket. A count above FASTIPC_MAX_FDS fails with E2BIG.
 *
 * FASTIPC_IOC_FORWARD carries none: a call's descriptors were installed in
 * the forwarding server when it received the call and stay there. The reply
 * of whichever server answers last carries its descriptors to the caller as
 * usual. The io_uring commands take no descriptors: FASTIPC_URING_SEND with
 * FASTIPC_SEND_FDS fails with EOPNOTSUPP; a message FASTIPC_URING_RECV
 * receives has its descriptors closed (FASTIPC_MSG_FDS_TRUNC, with their
 * number in the record's nfds), and so has a reply to FASTIPC_URING_CALL.
 */

/**
 * struct fastipc_version - FASTIPC_IOC_VERSION, what the running module implements
 * @flags: must be 0.
 * @abi_version: out, FASTIPC_ABI_VERSION of the running module.
 * @features: out, the FASTIPC_F_* bits the running module supports:
 *	FASTIPC_F_CORE covers every ioctl, FASTIPC_F_URING the io_uring
 *	commands, FASTIPC_F_FDS descriptors carried by messages. Later
 *	additions appear as new bits.
 * @reserved: must be 0.
 *
 * Works on any port. The ABI version changes only for incompatible changes.
 * Version 2 made a forwarded call come from its forwarder, with the original
 * caller in separate fields (FASTIPC_IOC_SERVE, struct fastipc_msg_info), let
 * only endpoints created with FASTIPC_EP_ACCEPT_FORWARDS take forwarded calls,
 * turned FASTIPC_IOC_EP_CREATE's reserved0 into max_reply, and made
 * FASTIPC_IOC_CONNECT describe the endpoint. CONNECT and SERVE changed size,
 * hence number, and FASTIPC_URING_RECV, whose record grew to 64 bytes, got a
 * new number: a program built for version 1 gets ENOTTY from them.
 *
 * Errors: only the common ones.
 */
struct fastipc_version {
	__u32 flags;
	__u32 abi_version;
	__aligned_u64 features;
	__aligned_u64 reserved[2];
};

/**
 * struct fastipc_buf_register - FASTIPC_IOC_BUF_REGISTER, pin memory for payloads
 * @flags: must be 0.
 * @id: out, the lowest free id on this port, 0..FASTIPC_MAX_BUFS-1.
 * @addr: start of the region, any alignment. Every page it touches must be
 *	mapped and writable.
 * @len: length of the region, 1..FASTIPC_MAX_BUF_LEN (256 MiB).
 * @reserved: must be 0.
 *
 * Pins @len bytes at @addr of the calling process's memory and maps them into
 * the kernel until FASTIPC_IOC_BUF_UNREGISTER or the port's release (an
 * endpoint's pool, or a reply buffer of a call in progress, stays pinned until
 * done with). Every page the region touches is pinned (a 1-byte region pins
 * one page; overlapping registrations are pinned and charged twice).
 *
 * The pages are charged to the locked memory of the registering user, the
 * count io_uring's registered buffers also use, and checked against the
 * registering task's RLIMIT_MEMLOCK, unless it has CAP_IPC_LOCK; they also
 * show in the VmPin figure of the registering process. The charges last until
 * the pages are unpinned, whichever process holds the port by then: a process
 * that registers on a port it shares and exits leaves its pages charged to its
 * user.
 *
 * Suitable memory: private or shared anonymous memory, memfd and tmpfs (also
 * SysV shm), hugetlbfs, and private mappings of any file. A shared mapping of
 * any other file is refused on every kernel: pinned for the long term, its
 * page-cache pages would be written behind the filesystem's back.
 *
 * The module keeps using the pages pinned at registration. If the process
 * later unmaps, remaps or discards (MADV_DONTNEED) the region, it no longer
 * sees what the module writes there. After fork(), pinned private pages stay
 * with the parent and the child gets copies; if more than one process uses a
 * port's buffers, register shared memory.
 *
 * Errors:
 *
 * EINVAL
 *	Non-zero @flags or @reserved; @len is 0 or above FASTIPC_MAX_BUF_LEN.
 * ENOSPC
 *	All FASTIPC_MAX_BUFS ids of the port are in use.
 * ENOMEM
 *	The charge would exceed RLIMIT_MEMLOCK, or out of memory or of kernel
 *	address space for the mapping.
 * EOPNOTSUPP
 *	Part of the region is a shared mapping of a file, device files
 *	included, other than tmpfs, memfd or hugetlbfs.
 * EFAULT
 *	@addr + @len wraps or lies beyond the user address space, or not every
 *	page could be pinned writable (unmapped, read-only, PROT_NONE, private
 *	I/O mappings). Other errors of the kernel's page pinning are passed
 *	through unchanged.
 */
struct fastipc_buf_register {
	__u32 flags;
	__u32 id;
	__aligned_u64 addr;
	__aligned_u64 len;
	__aligned_u64 reserved[2];
};

/**
 * struct fastipc_buf_unregister - FASTIPC_IOC_BUF_UNREGISTER, drop a registered buffer
 * @flags: must be 0.
 * @id: the id FASTIPC_IOC_BUF_REGISTER returned.
 * @reserved: must be 0.
 *
 * Removes buffer @id from the port's table. The id is free for reuse at once.
 * The pages are unpinned and uncharged only when nothing else uses them: an
 * endpoint's receive pool holds its buffer until the endpoint is freed, a call
 * in progress holds its reply buffer (an interrupted FASTIPC_IOC_CALL until
 * its restart returns, an io_uring call until its CQE), and a server copying a
 * reply holds the caller's reply buffer until the copy ends.
 *
 * Errors:
 *
 * EINVAL
 *	Non-zero @flags or @reserved.
 * ENOENT
 *	No buffer is registered under @id on this port.
 */
struct fastipc_buf_unregister {
	__u32 flags;
	__u32 id;
	__aligned_u64 reserved[2];
};

/**
 * struct fastipc_ep_create - FASTIPC_IOC_EP_CREATE, make the port an endpoint
 * @flags: FASTIPC_EP_NAMED to publish the endpoint under @name;
 *	FASTIPC_EP_ACCEPT_FORWARDS to take calls other servers forward here
 *	(FASTIPC_IOC_FORWARD), which fail with EPERM otherwise.
 * @mode: for a named endpoint, permission bits 0..0777 like a file's (e.g.
 *	0600, 0660, 0666): connecting by name needs the write bit (2) of the
 *	class the connecting task falls in (owner if its euid is the creator's
 *	euid, else group if the creator's egid is among its groups, else
 *	other), or CAP_IPC_OWNER in the user namespace owning the IPC
 *	namespace. Read and execute bits are ignored. Must be 0 when unnamed.
 * @name: for a named endpoint, 1..FASTIPC_NAME_MAX-1 (63) bytes of
 *	[A-Za-z0-9._:-] followed by NUL bytes to the end of the array. Must be
 *	all 0 when unnamed.
 * @pool_buf: id of the buffer registered on this port that holds the receive
 *	pool.
 * @slot_size: bytes per receive slot, 1..FASTIPC_MAX_PAYLOAD (16 MiB): the
 *	largest request or one-way payload the endpoint accepts.
 * @pool_offset: byte offset of the pool in @pool_buf; any alignment.
 * @nslots: receive slots, 1..FASTIPC_MAX_SLOTS (1024).
 * @max_reply: the largest reply the endpoint's server will send,
 *	0..FASTIPC_MAX_PAYLOAD, 0 for FASTIPC_MAX_PAYLOAD. CONNECT tells
 *	clients; a longer reply fails with EMSGSIZE.
 * @reserved: must be 0.
 *
 * Makes a port with no role an endpoint. Its receive pool is @nslots slots of
 * @slot_size bytes, [@pool_offset, @pool_offset + @nslots * @slot_size) of
 * the registered buffer @pool_buf; slot i starts at @pool_offset + i *
 * @slot_size. No alignment is required, but a @slot_size that is a multiple
 * of the cache line size keeps slots from sharing lines. The endpoint holds
 * its own reference to the buffer, so unregistering it does not disturb the
 * pool.
 *
 * Each message arriving takes a free slot at once and the sender copies its
 * payload straight into it, whether or not a server thread is waiting; the
 * slot stays the server's until it replies to the call (or releases the
 * one-way message) through FASTIPC_IOC_SERVE or forwards it. One-way messages
 * may hold at most half the slots (rounded up), so calls always find room
 * eventually.
 *
 * Every endpoint, named or not, is owned by the creating task's euid and
 * egid, which CONNECT reports to each client. A named endpoint is published
 * in the creating task's IPC namespace; the name is removed when the
 * endpoint's port is released, and may then be taken again by whoever asks
 * first.
 *
 * @max_reply is a promise to clients and a bound on the server: a call's
 * reply room is the smallest of the caller's reply_cap and the max_reply of
 * every endpoint the call reaches, first and forwarded to. Declare it when
 * replies are known to be small, so that clients can size their reply rooms
 * from what CONNECT tells them.
 *
 * Errors:
 *
 * EINVAL
 *	Unknown flag; non-zero reserved field; for a named endpoint, a bad name
 *	or @mode bits beyond 0777; for an unnamed one, non-zero @mode or @name;
 *	@slot_size, @nslots or @max_reply out of range; the pool does not fit
 *	in the buffer.
 * EBUSY
 *	The port is already an endpoint or a client.
 * ENOENT
 *	No buffer @pool_buf on this port.
 * EEXIST
 *	The name is taken in this IPC namespace.
 * ENOSPC
 *	The user who opened the port already owns max_endpoints_per_user
 *	endpoints (module parameter, default 1024).
 * ENOMEM
 *	Out of memory.
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
 * struct fastipc_connect - FASTIPC_IOC_CONNECT, make the port a client
 * @flags: FASTIPC_CONNECT_FD to connect to the endpoint behind @ep_fd
 *	instead of looking up @name.
 * @ep_fd: with FASTIPC_CONNECT_FD, a descriptor of a port that is an
 *	endpoint or a client of one (an anonymous endpoint shared by
 *	inheritance or SCM_RIGHTS, say); the new client connects to that
 *	endpoint. Else must be 0.
 * @name: without FASTIPC_CONNECT_FD, a valid endpoint name (as for
 *	FASTIPC_IOC_EP_CREATE), looked up in the calling task's IPC namespace
 *	and checked against the endpoint's mode. Else must be all 0.
 * @owner_uid: out, the euid that created the endpoint, in the calling task's
 *	user namespace (the overflow uid if unmapped there).
 * @owner_gid: out, the egid that created it, likewise.
 * @ep_flags: out, the FASTIPC_EP_* flags the endpoint was created with. A
 *	server that will forward calls there through this port can check
 *	FASTIPC_EP_ACCEPT_FORWARDS first.
 * @slot_size: out, its slot_size: the largest request or one-way payload it
 *	accepts.
 * @nslots: out, its number of receive slots.
 * @max_oneway: out, how many of those one-way messages may hold,
 *	(nslots + 1) / 2.
 * @max_reply: out, the largest reply its server will send
 *	(FASTIPC_MAX_PAYLOAD if it declared 0): room beyond it in a CALL is
 *	never used.
 * @reserved0: must be 0.
 * @reserved: must be 0.
 *
 * Makes a port with no role a client of an endpoint, found by name or through
 * a descriptor, and describes the endpoint it reached.
 *
 * Names are first come, first served: any user may create an endpoint under a
 * name nobody holds, for instance before the expected server starts or while
 * it restarts, and its mode can let everyone in. Neither the name nor a
 * successful connect says whom the client reached. A client that cares checks
 * @owner_uid (and @owner_gid) as soon as CONNECT returns, before it sends
 * anything, and closes the port if they are not whom it expected. The owner
 * is fixed when the endpoint is created and never changes, so the check holds
 * for as long as the port is connected.
 *
 * Connecting through a descriptor performs no permission check: holding a
 * descriptor of the endpoint or of any of its clients is the permission. Pass
 * clients a connected client port rather than the endpoint's own port, which
 * would let them receive and answer its messages as a server.
 *
 * Errors (the endpoint is looked up before the port's role is checked):
 *
 * EINVAL
 *	Unknown flag or non-zero reserved field; with FASTIPC_CONNECT_FD, a
 *	non-zero @name, or @ep_fd is not a /dev/fastipc port, or is one with no
 *	role; without it, non-zero @ep_fd or an invalid name.
 * EBADF
 *	@ep_fd is not an open descriptor.
 * ENOENT
 *	No endpoint of that name in the caller's IPC namespace.
 * EACCES
 *	The endpoint's mode denies the caller.
 * EBUSY
 *	The port is already an endpoint or a client.
 * EPIPE
 *	The endpoint is dead (possible through the descriptor of a client
 *	whose endpoint has closed).
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
 * struct fastipc_call - FASTIPC_IOC_CALL, send a request and wait for the reply
 * @flags: FASTIPC_CALL_FDS: the request carries @nfds descriptors from
 *	@fds_addr, and the reply's go there (DOC: descriptors);
 *	FASTIPC_CALL_FDS_CLOEXEC: install the reply's with O_CLOEXEC.
 * @opcode: in, the request's opcode, passed to the server unchanged.
 * @req_addr: in, the request payload in any readable memory of the caller.
 * @req_len: in, its length, 0..the endpoint's slot size.
 * @reply_buf: in, id of a buffer registered on this (client) port for the
 *	reply.
 * @reply_offset: in, where in @reply_buf the reply goes.
 * @reply_cap: in, room for the reply; @reply_offset + @reply_cap must not
 *	exceed the buffer's length. This, not FASTIPC_MAX_PAYLOAD, bounds the
 *	reply, together with the max_reply of every endpoint the call reaches.
 * @status: out, the reply_status the server gave.
 * @timeout_ns: in, relative timeout in nanoseconds on CLOCK_MONOTONIC,
 *	covering both the wait for a slot and the wait for the reply; 0 waits
 *	without limit. The deadline is set when the call is first entered and
 *	is kept across restarts.
 * @reply_len: out, the reply's length; the reply is at @reply_offset in
 *	@reply_buf.
 * @nfds: in, with FASTIPC_CALL_FDS: how many descriptors the request
 *	carries, 0..FASTIPC_MAX_FDS. Else must be 0.
 * @fds_addr: in, with FASTIPC_CALL_FDS: an array of __s32 holding the
 *	request's descriptors, and where the reply's are written. Else must be
 *	0.
 * @fds_cap: in, with FASTIPC_CALL_FDS: room in the array for the reply's
 *	descriptors, 0..FASTIPC_MAX_FDS. Else must be 0.
 * @reply_nfds: out, how many descriptors the reply carried; the first
 *	min(@reply_nfds, @fds_cap) entries of the array are the caller's new
 *	descriptors, or -1 for one not installed. Without FASTIPC_CALL_FDS the
 *	reply's descriptors are all closed and only counted here.
 *
 * On a client port: sends a request to the endpoint and sleeps until a server
 * replies. The request is copied once, from @req_addr into a free slot of the
 * endpoint's pool; if no slot is free, the call first waits for one. The reply
 * is copied once, by the replying server, into @reply_buf at @reply_offset.
 *
 * The server sees the caller's thread-group id, euid and egid at the time of
 * the call. If the server forwards the call, the reply comes from the last
 * server, into the same reply room; that server sees the call as sent by the
 * server that forwarded it, and this caller in its caller_* fields. Only the
 * first min(@reply_cap, max_reply) bytes of the room can be written, and each
 * forward may lower that bound to the target's max_reply.
 *
 * An interrupted call stays in the kernel, and the restarted ioctl takes it
 * back if its struct is byte for byte the same: the request is not sent
 * again, the reply is delivered once, and the deadline holds. A restart may
 * change nothing in the struct; one that differs cancels the interrupted call
 * and starts a new one. The reply may land in the reply room while the
 * thread is interrupted, before the restart returns it.
 *
 * Errors:
 *
 * EINVAL
 *	Unknown flag; FASTIPC_CALL_FDS_CLOEXEC without FASTIPC_CALL_FDS;
 *	descriptor fields without FASTIPC_CALL_FDS; the reply room does not fit
 *	in @reply_buf.
 * E2BIG
 *	@nfds or @fds_cap above FASTIPC_MAX_FDS.
 * EBADF
 *	One of the request's descriptors is not open (nothing was sent).
 * EOPNOTSUPP
 *	One of them is of a kind no message carries (DOC: descriptors).
 * ETOOMANYREFS
 *	The user who opened the port has max_fds_per_user descriptors in
 *	flight already.
 * ENOTCONN
 *	The port has no role.
 * EBADFD
 *	The port is an endpoint.
 * EMSGSIZE
 *	@req_len exceeds the endpoint's slot size.
 * ENOENT
 *	No buffer @reply_buf on this port.
 * EFAULT
 *	The request is not readable (nothing was sent).
 * EPIPE
 *	The endpoint was dead when the call was made, or died before a server
 *	replied; or a server forwarded the call to an endpoint that died before
 *	replying.
 * EINTR
 *	A signal whose handler was installed without SA_RESTART arrived while
 *	waiting for a slot (nothing was sent) or for the reply (the call is
 *	cancelled: a queued request is withdrawn, a server's reply gets
 *	ECANCELED). Other interruptions restart the call. A reply being copied
 *	as the wait ends wins over any signal but a fatal one: the handler
 *	runs, and the restarted call returns the reply.
 * ETIMEDOUT
 *	The deadline passed while waiting for a slot (nothing was sent) or for
 *	the reply (the call is cancelled likewise). A reply being copied at the
 *	deadline is waited for and returned instead.
 * ELOOP
 *	A server tried to forward the call after it had already been forwarded
 *	FASTIPC_MAX_FORWARDS times.
 * ENOMEM
 *	The call was interrupted in a way that restarts it, and no memory was
 *	left to keep it until the restart: it is cancelled, as for EINTR.
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
	__u32 nfds;
	__aligned_u64 fds_addr;
	__u32 fds_cap;
	__u32 reply_nfds;
};

#define FASTIPC_CALL_FDS		_BITUL(0)
#define FASTIPC_CALL_FDS_CLOEXEC	_BITUL(1)
#define FASTIPC_CALL_ALL		(FASTIPC_CALL_FDS | FASTIPC_CALL_FDS_CLOEXEC)

/**
 * struct fastipc_send - FASTIPC_IOC_SEND and FASTIPC_URING_SEND, a one-way message
 * @flags: FASTIPC_SEND_WAIT: if no slot may be taken, sleep (without timeout)
 *	until one may, instead of failing with EAGAIN or EDQUOT.
 *	FASTIPC_SEND_FDS: the message carries @nfds descriptors from @fds_addr
 *	(DOC: descriptors).
 * @opcode: in, the message's opcode, passed to the server unchanged.
 * @addr: in, the payload in any readable memory of the sender.
 * @len: in, its length, 0..the endpoint's slot size.
 * @nfds: in, with FASTIPC_SEND_FDS: how many descriptors,
 *	0..FASTIPC_MAX_FDS. Else must be 0.
 * @fds_addr: in, with FASTIPC_SEND_FDS: an array of @nfds __s32
 *	descriptors. Else must be 0.
 * @reserved: must be 0.
 *
 * On a client port: delivers a one-way message and returns without waiting
 * for a server. The payload is copied once into a free slot of the endpoint's
 * pool. One-way messages may occupy at most half of the endpoint's slots,
 * rounded up ((nslots + 1) / 2), so that they cannot starve calls. Messages
 * that find no server thread waiting are queued and received oldest first, so
 * messages sent one after another by one thread are handed out in the order
 * sent (several server threads may of course process them concurrently).
 *
 * FASTIPC_URING_SEND takes this struct without FASTIPC_SEND_WAIT (EINVAL):
 * waiting for room would need a thread, and a sender that must wait uses the
 * ioctl. Its CQE's res is 0 or one of the errors below.
 *
 * Errors:
 *
 * EINVAL
 *	Unknown flag, non-zero reserved field, descriptor fields without
 *	FASTIPC_SEND_FDS.
 * E2BIG
 *	@nfds above FASTIPC_MAX_FDS.
 * EBADF
 *	One of the descriptors is not open (nothing was sent).
 * EOPNOTSUPP
 *	One of them is of a kind no message carries (DOC: descriptors); or
 *	FASTIPC_SEND_FDS on FASTIPC_URING_SEND.
 * ETOOMANYREFS
 *	The user who opened the port has max_fds_per_user descriptors in
 *	flight already.
 * ENOTCONN
 *	The port has no role.
 * EBADFD
 *	The port is an endpoint.
 * EMSGSIZE
 *	@len exceeds the endpoint's slot size.
 * EAGAIN
 *	Without FASTIPC_SEND_WAIT: the endpoint has no room, its one-way share
 *	of the slots being used up or no slot free at all.
 * EDQUOT
 *	Without FASTIPC_SEND_WAIT: the sending user (who opened the port)
 *	already has max_oneway_per_sender messages waiting in this endpoint
 *	(module parameter, default 256), or max_oneway_per_user in all
 *	endpoints it does not own (default 4096). Other endpoints may still
 *	take the user's messages in the first case.
 * ENOMEM
 *	Out of memory to count the message against the sender's quota.
 * EFAULT
 *	The payload is not readable (nothing was sent).
 * EPIPE
 *	The endpoint is dead.
 * EINTR
 *	With FASTIPC_SEND_WAIT: a signal whose handler was installed without
 *	SA_RESTART arrived while waiting (nothing was sent). Other
 *	interruptions restart the send.
 */
struct fastipc_send {
	__u32 flags;
	__u32 opcode;
	__aligned_u64 addr;
	__u32 len;
	__u32 nfds;
	__aligned_u64 fds_addr;
	__aligned_u64 reserved;
};

#define FASTIPC_SEND_WAIT	_BITUL(0)
#define FASTIPC_SEND_FDS	_BITUL(1)
#define FASTIPC_SEND_ALL	(FASTIPC_SEND_WAIT | FASTIPC_SEND_FDS)

/**
 * struct fastipc_serve - FASTIPC_IOC_SERVE, reply and receive
 * @flags: FASTIPC_SERVE_REPLY to answer @reply_token first;
 *	FASTIPC_SERVE_RECV to then receive the next message;
 *	FASTIPC_SERVE_NONBLOCK to fail with EAGAIN instead of sleeping when no
 *	message is waiting (no effect without RECV). At least one of REPLY and
 *	RECV is required. FASTIPC_SERVE_FDS: the reply carries @nfds
 *	descriptors from @fds_addr, and the received message's go there (DOC:
 *	descriptors); FASTIPC_SERVE_FDS_CLOEXEC: install those with O_CLOEXEC.
 * @reply_status: in, with REPLY: the status word the caller gets. Ignored for
 *	a one-way message.
 * @reply_token: in, with REPLY: the token of the message being answered.
 * @reply_addr: in, with REPLY: the reply payload in any readable memory of the
 *	server (the received slot itself is fine).
 * @reply_len: in, with REPLY: its length, at most the caller's reply room (its
 *	reply_cap, bounded by the max_reply of this endpoint and of every
 *	endpoint the call passed through); 0 for a one-way message.
 *	Without FASTIPC_SERVE_REPLY the four reply fields must be 0.
 * @msg_flags: out, FASTIPC_MSG_ONEWAY for a one-way message,
 *	FASTIPC_MSG_FORWARDED for a call another server forwarded here,
 *	FASTIPC_MSG_FDS_TRUNC if some of its descriptors were closed rather
 *	than installed; else 0.
 * @token: out, the received message's token, for the reply (or the release
 *	of a one-way message's slot). Each token is answered once.
 * @offset: out, where the payload starts, as a byte offset from the start of
 *	the pool's registered buffer (pool_offset + i * slot_size).
 * @opcode: out, the message's opcode.
 * @len: out, the payload's length.
 * @pid: out, the sender's thread-group id in the serving thread's PID
 *	namespace (0 if not visible there, or if the sender has exited). The
 *	sender of a forwarded call is the process that forwarded it.
 * @uid: out, the sender's euid in the serving thread's user namespace (the
 *	overflow uid, /proc/sys/kernel/overflowuid, normally 65534, if
 *	unmapped).
 * @gid: out, the sender's egid likewise, with the overflow gid.
 * @caller_pid: out, like @pid, for the process that made the call: the
 *	sender itself unless FASTIPC_MSG_FORWARDED. What a forwarded call
 *	asks for was chosen by its forwarder, not by its caller.
 * @caller_uid: out, like @uid, for that process.
 * @caller_gid: out, like @gid, for that process.
 * @fds_addr: in, with FASTIPC_SERVE_FDS: an array of __s32 holding the
 *	reply's descriptors, and where the received message's are written.
 *	Else must be 0.
 * @nfds: in, with FASTIPC_SERVE_FDS and REPLY: how many descriptors the
 *	reply carries, 0..FASTIPC_MAX_FDS; else must be 0 on input. Out, how
 *	many the received message carried: the first min(@nfds, @fds_cap)
 *	entries of the array are the new descriptors, or -1 for one not
 *	installed. Without FASTIPC_SERVE_FDS they are all closed and only
 *	counted.
 * @fds_cap: in, with FASTIPC_SERVE_FDS: room in the array for the received
 *	message's descriptors, 0..FASTIPC_MAX_FDS. Else must be 0.
 *
 * On an endpoint port: answers one held message, receives the next one, or
 * both in that order in one system call. The out fields are all 0 after a
 * successful call without RECV.
 *
 * The reply part: for a call, the @reply_len bytes at @reply_addr are copied
 * once into the caller's reply room, the caller gets @reply_status and
 * @reply_len and is woken, and the slot is freed. For a one-way message the
 * slot is simply freed ("released"). In both cases the token is consumed.
 *
 * The receive part takes the oldest queued message; if none is queued, the
 * thread sleeps until one arrives. A message arriving while several server
 * threads sleep goes to the one that started sleeping last. The payload is in
 * the endpoint's pool at @offset and stays there, untouched by the module,
 * until the token is answered; it cannot be changed by the sender after the
 * copy.
 *
 * An interrupted receive takes nothing and restarts, or fails with EINTR. The
 * struct is then written back, out fields 0, and if a reply went out first
 * with FASTIPC_SERVE_REPLY cleared and the four reply fields 0: the restart,
 * or the same struct issued again after EINTR, only receives. @nfds is then
 * 0 too.
 *
 * Errors of the reply part (nothing is received):
 *
 * ENOENT
 *	@reply_token is not a message held by this endpoint's servers: already
 *	answered or forwarded, never issued, issued by another endpoint, or
 *	being answered or forwarded by another thread at this moment.
 * EINVAL
 *	Non-zero @reply_len, or descriptors, for a one-way message. The token
 *	is still held.
 * EBADF, EOPNOTSUPP, ETOOMANYREFS
 *	As for FASTIPC_IOC_CALL's descriptors, checked before the token is
 *	looked up. The token is still held.
 * EMSGSIZE
 *	@reply_len exceeds the caller's reply room: its reply_cap, or the
 *	max_reply of this endpoint or of an endpoint the call was forwarded
 *	through. The token is still held; answer again (for example with an
 *	error status and no payload).
 * EFAULT
 *	The reply payload is not readable. The token is still held; the
 *	caller's reply room may have been partly written, and the caller still
 *	waits.
 * ECANCELED
 *	The caller gave up (EINTR, timeout, killed, cancelled through
 *	io_uring). The token is consumed, nothing is delivered. If the caller
 *	was killed, or its ring torn down, while the reply was being copied,
 *	the bytes may have reached its reply room all the same.
 *
 * Errors of the receive part (the reply, if any, was delivered):
 *
 * EAGAIN
 *	Nothing waiting, with FASTIPC_SERVE_NONBLOCK.
 * EINTR
 *	A signal whose handler was installed without SA_RESTART arrived while
 *	sleeping; nothing was received. A message handed to the thread at the
 *	same moment is received rather than lost. The struct is written back:
 *	if a reply went out, FASTIPC_SERVE_REPLY is cleared and the reply
 *	fields are zero, so issuing it again only receives. Other interruptions
 *	restart the receive.
 *
 * Other errors:
 *
 * EINVAL
 *	Unknown flag, neither REPLY nor RECV, non-zero reply fields (@nfds
 *	included) without REPLY, descriptor fields or
 *	FASTIPC_SERVE_FDS_CLOEXEC without FASTIPC_SERVE_FDS.
 * E2BIG
 *	@nfds or @fds_cap above FASTIPC_MAX_FDS.
 * EBADFD
 *	The port is not an endpoint.
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
	__aligned_u64 fds_addr;
	__u32 nfds;
	__u32 fds_cap;
};

#define FASTIPC_SERVE_REPLY	_BITUL(0)
#define FASTIPC_SERVE_RECV	_BITUL(1)
#define FASTIPC_SERVE_NONBLOCK	_BITUL(2)
#define FASTIPC_SERVE_FDS	_BITUL(3)
#define FASTIPC_SERVE_FDS_CLOEXEC _BITUL(4)
#define FASTIPC_SERVE_ALL	(FASTIPC_SERVE_REPLY | FASTIPC_SERVE_RECV | \
				 FASTIPC_SERVE_NONBLOCK | FASTIPC_SERVE_FDS | \
				 FASTIPC_SERVE_FDS_CLOEXEC)

#define FASTIPC_MSG_ONEWAY	_BITUL(0)
#define FASTIPC_MSG_FORWARDED	_BITUL(1)
#define FASTIPC_MSG_FDS_TRUNC	_BITUL(2)

/**
 * struct fastipc_forward - FASTIPC_IOC_FORWARD, hand a call on to another endpoint
 * @flags: must be 0.
 * @target_fd: in, a port that is, or is a client of, the target endpoint. The
 *	target must have been created with FASTIPC_EP_ACCEPT_FORWARDS; it may be
 *	the forwarding endpoint itself, if that accepts forwards.
 * @token: in, the token of a call held by this endpoint's servers.
 * @opcode: in, the new request's opcode.
 * @len: in, the new request's length, 0..the target's slot size.
 * @addr: in, the new request payload in any readable memory of the server
 *	(the received slot itself is fine).
 * @reserved0: must be 0.
 * @reserved1: must be 0.
 * @reserved: must be 0.
 *
 * On an endpoint port: hands a held call, with a new request, to another
 * endpoint (a tail call). The token is consumed; the caller keeps sleeping,
 * and the target's server replies straight to it. The forwarding server is
 * out of the loop.
 *
 * The new request is copied once into a free slot of the target's pool;
 * FORWARD never waits for a slot. The target's server receives the call
 * flagged FASTIPC_MSG_FORWARDED, from the forwarding process: pid, uid and
 * gid are the forwarder's, since it chose the opcode and the request, and the
 * original caller is in caller_pid, caller_uid and caller_gid. The caller's
 * timeout_ns keeps running across forwards, and its reply room shrinks to the
 * target's max_reply if that is smaller.
 *
 * The new request carries no descriptors (DOC: descriptors): the call's
 * own were installed in this server when it received the call.
 *
 * Errors (@target_fd, the target's flags and @len are checked before the
 * token is looked up):
 *
 * EINVAL
 *	Non-zero @flags or reserved field; @target_fd is not a /dev/fastipc
 *	port, or is one with no role; @token is a one-way message (the token is
 *	still held).
 * EBADFD
 *	The port is not an endpoint.
 * EBADF
 *	@target_fd is not an open descriptor.
 * EPERM
 *	The target was not created with FASTIPC_EP_ACCEPT_FORWARDS. The token
 *	is still held.
 * EMSGSIZE
 *	@len exceeds the target's slot size. The token is still held.
 * ENOENT
 *	@token is not held (as for FASTIPC_IOC_SERVE).
 * ECANCELED
 *	The caller gave up. The token is consumed.
 * ELOOP
 *	The call has already been forwarded FASTIPC_MAX_FORWARDS times. The
 *	token is consumed and the caller's CALL fails with ELOOP.
 * EAGAIN
 *	The target has no free slot. The token is still held.
 * EPIPE
 *	The target is dead. The token is still held. If the target dies after
 *	the new request was copied but before it was queued, FORWARD succeeds
 *	and the caller gets EPIPE.
 * EFAULT
 *	The new request is not readable. The token is still held.
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
 * A port also takes IORING_OP_URING_CMD submissions (feature bit
 * FASTIPC_F_URING), so that one thread can have many calls in flight, to one
 * endpoint or many, and reap the replies as they come; and so that one server
 * thread can wait on many endpoints without poll(). The ring must be set up
 * with IORING_SETUP_SQE128 and IORING_SETUP_CQE32, else every command
 * completes with EINVAL. An unknown cmd_op completes with ENOTTY.
 *
 * sqe->fd is the port, sqe->cmd_op one of the FASTIPC_URING_* values and the
 * command's struct sits at the start of the SQE's 80-byte command area
 * (sqe->cmd). It is read once, when the SQE is issued, so the SQE and the
 * struct may be reused as soon as io_uring_submit() returns. Each command
 * posts exactly one CQE, whose user_data is the SQE's: res is the command's
 * result or -errno, big_cqe[0] a command-specific value, big_cqe[1] zero.
 *
 * The validation errors are those of the ioctl the command mirrors (EINVAL,
 * EBADFD, ENOTCONN, ENOENT, EMSGSIZE, EFAULT, EPIPE); a command issued on a
 * port of the wrong role fails as the ioctl would.
 *
 * No command sleeps or waits in a worker thread: a call finding every slot
 * taken waits for one in the endpoint and is sent when one is freed, and a
 * send does not wait for room. io_uring issues a command first with
 * IO_URING_F_NONBLOCK; the module then copies the user memory it reads at
 * issue (a call's request, a send's payload, a reply's payload) with page
 * faults disabled, and if a page is not present it does nothing and has
 * io_uring issue the command again from one of its worker threads, which may
 * fault the page in. The result is the same; only the issuing thread
 * differs. io_uring keeps a copy of the SQE for that second issue (6.1 and
 * 6.12 alike), so the rule above holds.
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
 * into a slot of the endpoint's pool when the command is issued, and the reply
 * is copied once by the replying server into @reply_buf at @reply_offset,
 * before the CQE is posted. If every slot is taken, the call waits in the
 * endpoint, without a thread, and is sent from the submitting task's context
 * when a slot is freed: the request must then stay in place until the CQE.
 * Give each call in flight its own reply room: the module does not check that
 * rooms of concurrent calls do not overlap. There is no timeout_ns; cancel
 * instead. The caller's credentials are those of the task that submitted the
 * SQE.
 *
 * Servers cannot tell asynchronous calls from synchronous ones: they may be
 * forwarded, and fail as synchronous calls do, EPIPE when the endpoint dies
 * (every call in flight to it completes so), ELOOP after too many forwards. A
 * call outlives the thread and the process that submitted it as long as its
 * ring lives: the reply still lands in its room and its CQE is posted to the
 * ring. Only a call still waiting for a slot when its submitter has exited is
 * cancelled (ECANCELED, once a slot is freed): its request can no longer be
 * read.
 *
 * CQE: res is the reply's length, big_cqe[0] the server's status word (an
 * __s32, sign-extended). The call has no room for descriptors: a reply's
 * are closed. Errors as FASTIPC_IOC_CALL's, but never EINTR or
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
 * @flags: FASTIPC_IOC_SERVE's msg_flags: FASTIPC_MSG_ONEWAY, FASTIPC_MSG_FORWARDED,
 *	FASTIPC_MSG_FDS_TRUNC.
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
 * @nfds: how many descriptors the message carried; an io_uring receive
 *	installs none, so they are closed (FASTIPC_MSG_FDS_TRUNC).
 * @reserved: written as 0.
 *
 * The fields mean what FASTIPC_IOC_SERVE's out fields of the same names mean,
 * with pids and ids translated into the namespaces of the task that submitted
 * the FASTIPC_URING_RECV (the receiver). The record is 64 bytes; it was 48
 * before ABI version 2, so size the room with sizeof(struct fastipc_msg_info).
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
	__u32 nfds;
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
 * On an endpoint port: makes the ring an idle server thread of the endpoint.
 * The next message (the oldest queued one, or the next to arrive) is taken,
 * its struct fastipc_msg_info stored at @msg_offset of @msg_buf and the CQE
 * posted. A receive takes one message; submit another to go on. Receives and
 * threads in FASTIPC_IOC_SERVE share the endpoint's idle list, most recently
 * idle first. The message is answered with FASTIPC_URING_REPLY or
 * FASTIPC_IOC_SERVE as usual.
 *
 * The record is written when the CQE is posted, from task work in the
 * submitting task, not when the message is handed to the receive. If the
 * ring is torn down, or the submitting thread has exited, in between, the
 * message goes back to the endpoint, to another idle receiver or into the
 * queue in the order it arrived in, and is not lost; that receive's CQE then
 * says ECANCELED and no record is written.
 *
 * CQE: res is the payload's length, big_cqe[0] the message's token. Errors:
 *
 * ENOENT
 *	No such @msg_buf.
 * EINVAL
 *	The record does not fit in it.
 * EPIPE
 *	The endpoint died before the CQE was posted.
 * ECANCELED
 *	Cancelled, or the message was given back (nothing was received, no
 *	record written).
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
 * struct fastipc_uring_cancel - FASTIPC_URING_CANCEL, cancel commands in flight
 * @flags: FASTIPC_CANCEL_ALL to cancel every call and receive of this port
 *	in flight; @tag must then be 0.
 * @reserved0: must be 0.
 * @tag: cancel the port's calls and receives in flight submitted with @tag.
 * @reserved: must be 0.
 *
 * Cancels calls and receives of this port that are still waiting. Each one
 * cancelled completes with ECANCELED; a cancelled call is detached exactly as
 * a synchronous call that fails with EINTR (the server's reply gets
 * ECANCELED, a queued request is withdrawn); a cancelled receive has taken
 * nothing. Never waits: a call whose reply is being copied, and a command
 * whose completion is already under way (a receive that was handed a
 * message, say), complete normally instead and are not counted. Commands
 * io_uring has not issued to the module yet (linked behind others, or queued
 * for a worker with IOSQE_ASYNC) are not seen; IORING_OP_ASYNC_CANCEL reaches
 * those.
 *
 * CQE: res is how many were cancelled. Errors:
 *
 * ENOENT
 *	Nothing was cancelled.
 * EINVAL
 *	Unknown flags, non-zero reserved fields, or FASTIPC_CANCEL_ALL with a
 *	non-zero tag.
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
