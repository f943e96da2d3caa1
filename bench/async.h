/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Async throughput: calls per second with N requests outstanding, one
 * client process against one server process, for fastipc's io_uring calls
 * and for the synchronous ways of keeping N requests in flight. One harness
 * (async.c) times and checks every mechanism the same way; each mechanism
 * only says how it keeps N requests outstanding.
 */
#ifndef FASTIPC_BENCH_ASYNC_H
#define FASTIPC_BENCH_ASYNC_H

#include "bench.h"

#include <sys/uio.h>

/* The deepest queue measured; servers and buffers are sized for it. */
#define ASYNC_MAX_QD	64

/*
 * A request's opcode carries the low 24 bits of its sequence number; the
 * server returns them as the reply's status, so that even an empty reply
 * says which request it answers.
 */
#define ASYNC_OP(seq)		(BENCH_ECHO | (uint32_t)(seq) << 8)
#define ASYNC_TAG(op)		((op) >> 8)
/*
 * libfastipc-ring's requests: a libfastipc server picks its handler by the
 * whole opcode, so the tag travels at the head of the request instead, and
 * the server echoes the rest.
 */
#define ASYNC_TAGGED_ECHO	(BENCH_ECHO | 0x400)
#define ASYNC_TAG_LEN		4

/*
 * Every call of a run has its own reply room in the harness's reply area,
 * so that replies are checked after the run, outside the timed part: call n
 * of a run of @len-byte calls gets the room at n * async_stride(len). It
 * holds a framed message (struct bench_hdr and payload) or a bare payload.
 */
static inline size_t async_stride(uint32_t len)
{
	return (sizeof(struct bench_hdr) + (size_t)len + 63) & ~(size_t)63;
}

/* How a mechanism leaves its replies in the reply area. */
enum async_form {
	ASYNC_ROOMS,	/* call n's payload in its room, status and length in status[n], rlen[n] */
	ASYNC_PACKETS,	/* call n's framed reply in its room, its length in rlen[n] */
	ASYNC_STREAM,	/* the framed replies end to end from the area's start; stream_len */
};

struct async_params {
	int server_cpu;
	uint32_t max_payload;
	int max_qd;
	uint8_t *area;		/* the reply area, to register */
	size_t area_len;
};

/* Request buffers: one per outstanding request, BENCH_HEADROOM writable bytes before each. */
struct async_reqs {
	uint8_t *base;
	size_t stride;
	int n;
};

static inline uint8_t *async_req(const struct async_reqs *q, int i)
{
	return q->base + (size_t)i * q->stride + BENCH_HEADROOM;
}

/*
 * One run: @calls echo calls of @len bytes, @qd of them outstanding until
 * fewer than @qd remain. Call n has sequence number @seq + n and is sent
 * from request buffer n % @qd (any free one, for mechanisms whose replies
 * may come out of order), which the mechanism fills with the pattern of its
 * sequence number (async_stamp()) just before it goes; the reply is left as
 * its form says.
 */
struct async_run {
	const struct async_reqs *reqs;
	uint32_t len;
	int qd;
	uint64_t calls;
	uint64_t seq;
	uint8_t *area;
	size_t stride;		/* async_stride(len) */
	uint32_t *status;	/* per call */
	uint32_t *rlen;		/* per call */
	size_t stream_len;	/* out, ASYNC_STREAM */
};

struct amech {
	const char *name;
	const char *note;
	enum async_form form;
	int (*start)(struct amech *m, const struct async_params *p);
	int (*run)(struct amech *m, struct async_run *r);
	int (*stop)(struct amech *m);	/* asks the server to quit; its exit status */
	bool extra;			/* measured only when --only names it */
	pid_t server_pid;		/* start() sets it */
	void *priv;
	char skip[160];			/* why start() declined, when it did */
};

/* Fills request @req of @len bytes with the pattern of @seq; returns its opcode. */
static inline uint32_t async_stamp(uint8_t *req, uint32_t len, uint64_t seq)
{
	fipc_fill(req, len, seq);
	return ASYNC_OP(seq);
}

int writev_full(int fd, struct iovec *iov, int n);

/* async.c */
struct async_cfg {
	const uint32_t *sizes;
	int nsizes;
	const int *depths;
	int ndepths;
	int runs;		/* per point, the first of them dropped */
	uint64_t run_ns;	/* how long one run should take */
	unsigned int watchdog_s;
	const char *placement;	/* only this one, or NULL for both */
};

int async_bench(const struct async_cfg *cfg, struct amech **mechs, int nmechs,
		const char *outdir);

extern struct amech amech_fastipc_async, amech_fastipc_async_ring, amech_fastipc_sync, amech_pipe,
	amech_unix_stream, amech_unix_seqpacket, amech_libfastipc_ring;

#endif /* FASTIPC_BENCH_ASYNC_H */
