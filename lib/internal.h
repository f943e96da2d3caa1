/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * libfastipc private header: what client.c, server.c and local.c share.
 */
#ifndef LIBFASTIPC_INTERNAL_H
#define LIBFASTIPC_INTERNAL_H

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>

#include "libfastipc.h"

/* Wakes a server thread so that it notices fastipc_server_stop(). */
#define FASTIPC_OP_WAKE		0xffffffffU

static inline int fastipc_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

/* Fills @send for a one-way message: 0, or -EINVAL for a reserved @opcode. */
static inline int fastipc_send_init(struct fastipc_send *send, uint32_t opcode, const void *data,
				    uint32_t len, unsigned int flags)
{
	if (opcode >= FASTIPC_OPCODE_RESERVED)
		return -EINVAL;
	memset(send, 0, sizeof(*send));
	send->flags = flags;
	send->opcode = opcode;
	send->addr = (uintptr_t)data;
	send->len = len;
	return 0;
}

/* Anonymous memory that a child does not inherit: it is pinned for our port. */
void *fastipc_map(size_t len);
void fastipc_unmap(void *addr, size_t len);

/* Registers @len bytes at @addr on @fd: the buffer id, or -errno. */
int fastipc_buf_register(int fd, void *addr, size_t len);
int fastipc_buf_unregister(int fd, uint32_t id);

/* Fills a NUL-padded name field; -EINVAL if @name cannot be one. */
int fastipc_set_name(__u8 dst[FASTIPC_NAME_MAX], const char *name);

/*
 * Process-wide state (local.c). fastipc_lock guards the slow paths: the
 * registry of this process's servers and the threads' reply buffers. A
 * fork() child gets a new fastipc_fork_gen, so that what the parent set up
 * (servers, registered reply buffers) is never taken for its own.
 */
extern pthread_mutex_t fastipc_lock;
extern unsigned long fastipc_fork_gen;
void fastipc_lib_init(void);
bool fastipc_short_circuit_on(void);

/* Server internals the client's short circuit uses (server.c). */
/* The server of this process called @name or owning @fd, referenced, or NULL. */
struct fastipc_server *fastipc_server_find_local(const char *name, int fd);
void fastipc_server_put(struct fastipc_server *srv);
/*
 * Runs @msg's handler for a call made on this thread, @hops forwards deep:
 * 0 with @status set, or -EPIPE when the server is gone, -EMSGSIZE when the
 * request exceeds its slots, -ELOOP when forwarded too often.
 */
int fastipc_server_call_local(struct fastipc_server *srv, struct fastipc_msg *msg,
			      unsigned int hops, int32_t *status);

/*
 * The forward of a short-circuited call (client.c): a call on @cl, @hops
 * forwards deep, whose reply lands in @dst, the forwarded call's reply room.
 */
int fastipc_client_forward(struct fastipc_client *cl, unsigned int hops, uint32_t opcode,
			   const void *req, uint32_t req_len, void *dst, uint32_t cap,
			   struct fastipc_reply *reply);

/*
 * Serving through the device, shared by the thread pool and event-loop
 * dispatch (server.c) and rings (async.c).
 */
void fastipc_server_get(struct fastipc_server *srv);
/* Takes @srv for one way of serving (a pool or a ring): 0, or -EBUSY. */
int fastipc_server_claim(struct fastipc_server *srv);
void fastipc_server_unclaim(struct fastipc_server *srv);
/* Whether fastipc_server_stop() was called since the server was claimed. */
bool fastipc_server_stopping(struct fastipc_server *srv);
/* The room each handler gets for its reply. */
uint32_t fastipc_server_reply_size(const struct fastipc_server *srv);

/* How to answer a message received through the device. */
struct fastipc_answer {
	bool held;		/* the token is still ours: reply */
	bool handled;		/* a handler ran (the message was not a wake) */
	int32_t status;
	uint32_t reply_len;	/* bytes of the reply room to send */
	uint32_t reply_nfds;	/* descriptors the reply carries: */
	int32_t reply_fds[FASTIPC_MAX_FDS];	/* dups, closed once sent */
};

/*
 * fastipc_server_receive() for a message whose @nfds descriptors were
 * installed at @fds (NULL if none), which it closes once the handler has
 * run, but for those the handler kept; with @reply_fds, the reply's
 * descriptors, duplicated, go in @ans for the caller to send and close.
 */
void fastipc_server_receive_fds(struct fastipc_server *srv, const struct fastipc_msg_info *mi,
				int32_t *fds, uint32_t nfds, bool reply_fds, void *reply,
				struct fastipc_answer *ans);

/*
 * Runs the handler of the message @mi describes, with @reply (of
 * fastipc_server_reply_size() bytes) as its reply room, and says how to
 * answer it.
 */
void fastipc_server_receive(struct fastipc_server *srv, const struct fastipc_msg_info *mi,
			    void *reply, struct fastipc_answer *ans);

/*
 * After a reply of @len bytes failed with @err: true when the token is still
 * held and must be answered again, with @err as the status and no bytes.
 */
static inline bool fastipc_reply_again(int err, uint32_t len)
{
	return len && (err == -EMSGSIZE || err == -EFAULT);
}

/* After a reply failed with @err: true when the caller gave up and the token is gone. */
static inline bool fastipc_reply_dropped(int err)
{
	return err == -ECANCELED || err == -ENOENT;
}

/*
 * Answers @token of endpoint @fd at once, by ioctl: should the reply fail
 * with the token still held, the caller gets the error as its status, with
 * no bytes. The first error, or 0.
 */
int fastipc_reply_token(int fd, uint64_t token, int32_t status, const void *buf, uint32_t len);

/*
 * Reply room for an asynchronous call (client.c): a slot of the client's
 * arena, a buffer registered on @fd, which the call must go through.
 */
struct fastipc_arena;
struct fastipc_aslot {
	struct fastipc_arena *arena;
	void *chunk;
	unsigned int idx;
	int fd;
	uint32_t buf_id;
	uint64_t offset;
	uint32_t cap;
	void *mem;
};

/* Takes a slot of @cl's arena, making or growing the arena: 0, or -errno. */
int fastipc_aslot_get(struct fastipc_client *cl, struct fastipc_aslot *slot);
/* Gives the slot back once the kernel is done with it. */
void fastipc_aslot_put(struct fastipc_aslot *slot);
/* Never reuses the slot: a reply may still land there. */
void fastipc_aslot_abandon(struct fastipc_aslot *slot);
/* False once the client is closed, and @slot->fd with it. */
bool fastipc_aslot_port_open(const struct fastipc_aslot *slot);
/* The arena of @cl's slots, for telling its calls apart; NULL if none yet. */
const struct fastipc_arena *fastipc_client_arena(const struct fastipc_client *cl);

#endif /* LIBFASTIPC_INTERNAL_H */
