/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * libfastipc private header: what client.c, server.c and local.c share.
 */
#ifndef LIBFASTIPC_INTERNAL_H
#define LIBFASTIPC_INTERNAL_H

#include <errno.h>
#include <pthread.h>
#include <sys/ioctl.h>

#include "libfastipc.h"

/* Wakes a server thread so that it notices fastipc_server_stop(). */
#define FASTIPC_OP_WAKE		0xffffffffU

static inline int fastipc_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

/* Anonymous memory that a child does not inherit: it is pinned for our port. */
void *fastipc_map(size_t len);
void fastipc_unmap(void *addr, size_t len);

/* Registers @len bytes at @addr on @fd: the buffer id, or -errno. */
int fastipc_buf_register(int fd, void *addr, size_t len);

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

#endif /* LIBFASTIPC_INTERNAL_H */
