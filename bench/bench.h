/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fastipc-bench: one harness drives every mechanism through the same table
 * of operations, with the same messages, and verifies every byte it gets
 * back.
 */
#ifndef FASTIPC_BENCH_H
#define FASTIPC_BENCH_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fastipc_common.h"

/* Writable bytes before every request, so a mechanism can prepend a header without a copy. */
#define BENCH_HEADROOM		64

/* Request kinds; the low byte of an opcode, the rest are flags. */
enum bench_op {
	BENCH_ECHO = 1,		/* reply: the request's bytes */
	BENCH_ONEWAY,		/* reply: a 4-byte status only */
	BENCH_STREAM,		/* a stream follows: its bench_stream_req */
	BENCH_STREAM_DATA,	/* one stream chunk (fastipc one-way) */
	BENCH_STREAM_END,	/* stream done: reply 0 if all bytes checked out */
	BENCH_QUIT,		/* reply, then the server exits */
};
#define BENCH_OP(op)		((op) & 0xff)
/*
 * Stream flag: the sized variant (variant 1): socket buffers sized to the
 * chunk (the L41 labs' variant), or pipe-sized's pipe (BENCH_STREAM_DEPTH).
 */
#define BENCH_F_SIZED		0x200

/*
 * The bytes in flight of fastipc's stream, which the shared-memory rings and
 * pipe-sized match: an endpoint holds at most half its slots, rounded up, in
 * one-way messages (kmod/endpoint.c), so the bench's endpoint has twice as
 * many slots as its stream has chunks in flight.
 */
#define BENCH_STREAM_DEPTH	4
#define FIPC_NSLOTS		(2 * BENCH_STREAM_DEPTH)
#define BENCH_STR_(x)		#x
#define BENCH_STR(x)		BENCH_STR_(x)

/* Status a server returns for QUIT; STREAM_END's status on success is 0. */
#define BENCH_QUIT_STATUS	0x5117u

/* Framing of fd and shm mechanisms: {op, len} on requests, {status, len} on replies. */
struct bench_hdr {
	uint32_t word;
	uint32_t len;
};

/*
 * STREAM's payload: chunk n of the stream is fipc_fill()'s pattern of
 * seed + n, so every byte of every chunk is new.
 */
struct bench_stream_req {
	uint32_t chunk;
	uint32_t flags;
	uint64_t total;
	uint64_t seed;
};

struct bench_params {
	int client_cpu;
	int server_cpu;
	bool same_cpu;
	uint32_t max_payload;	/* largest request or reply */
	uint32_t max_chunk;	/* largest stream chunk */
};

/* One round trip: the harness fills op, len and req; the mechanism the rest. */
struct bench_call {
	uint32_t op;
	uint32_t len;
	uint8_t *req;		/* BENCH_HEADROOM writable bytes precede it */
	const uint8_t *reply;	/* the reply bytes, in the mechanism's memory */
	uint32_t reply_len;
	uint32_t status;	/* the 4-byte status (oneway, quit) */
};

/* One stream: total bytes in chunks of chunk, chunk n filled with the pattern of seed + n. */
struct bench_stream {
	int variant;
	uint32_t chunk;
	uint64_t total;
	uint64_t seed;
	uint8_t *buf;		/* chunk bytes, BENCH_HEADROOM before them */
};

struct mech {
	const char *name;
	const char *note;		/* for mechanisms.csv */
	const char *const *stream_names; /* stream variants, NULL-terminated */
	const char *const *stream_notes; /* what each variant is, or NULL */
	bool in_process;		/* no server process: placement is moot */
	/*
	 * Started afresh before each round of runs: its kernel state drifts
	 * with the history of the calls before, and its figures with it.
	 */
	bool fresh_each_round;
	pid_t server_pid;		/* start() sets it; 0 when in_process */
	int (*start)(struct mech *m, const struct bench_params *p);
	int (*call)(struct mech *m, struct bench_call *c);
	int (*stream)(struct mech *m, const struct bench_stream *s);
	void (*idle)(struct mech *m);	/* between runs: stop burning CPU */
	int (*stop)(struct mech *m);	/* the server's exit status, 0 when clean */
	void *priv;
	bool quit;			/* the server acknowledged BENCH_QUIT */
	char skip[160];			/* why start() declined, when it did */
};

/*
 * Status of a oneway reply: a hash of the length and of every byte, so a
 * server that saw a wrong byte answers a status the harness rejects. Eight
 * bytes a step in four lanes; each step, (lane ^ word) * odd, is one-to-one
 * in the lane, and so is each step of folding the lanes together: one wrong
 * word always changes the 64-bit hash, and the status but for a chance in
 * 2^32.
 */
static inline uint32_t bench_status(const uint8_t *p, uint32_t len)
{
	const uint64_t k = FIPC_PATTERN_STEP;
	uint64_t h0 = len, h1 = ~(uint64_t)len, h2 = len * k, h3 = ~h2, w;
	uint32_t i = 0;

	for (; i + 32 <= len; i += 32) {
		memcpy(&w, p + i, 8);
		h0 = (h0 ^ w) * k;
		memcpy(&w, p + i + 8, 8);
		h1 = (h1 ^ w) * k;
		memcpy(&w, p + i + 16, 8);
		h2 = (h2 ^ w) * k;
		memcpy(&w, p + i + 24, 8);
		h3 = (h3 ^ w) * k;
	}
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h0 = (h0 ^ w) * k;
	}
	if (i < len) {
		w = 0;
		memcpy(&w, p + i, len - i);
		h1 = (h1 ^ w) * k;
	}
	h0 = (h0 ^ h1) * k;
	h0 = (h0 ^ h2) * k;
	h0 = (h0 ^ h3) * k;
	return (uint32_t)(h0 ^ h0 >> 32);
}

/* util.c */

/* What is running, for the watchdog and fail_run(): the harnesses keep it up to date. */
extern char bench_current[200];

/* CPU time so far, all threads: of this process and of a server process (0 if none). */
struct cpu_mark {
	uint64_t client_ns;
	uint64_t server_ns;
};

void cpu_mark(struct cpu_mark *c, pid_t server);
/* The CPU time so far of a process srv_fork() made, all its threads: exact while watched. */
uint64_t child_cpu_ns(pid_t pid);
void cpu_watch(pid_t pid);
void cpu_unwatch(pid_t pid);
void bench_watchdog(void);
/* Says what failed in bench_current and ends the bench. */
void __attribute__((noreturn, format(printf, 1, 2))) fail_run(const char *fmt, ...);

struct srv {
	pid_t pid;
	int ready;	/* parent: read end of the ready pipe; child: write end */
};

int srv_fork(struct srv *s, int cpu);
void srv_ready(struct srv *s, int err);
int srv_wait_ready(struct srv *s);
int srv_stop(struct srv *s, bool quit);
int pin_cpu(int cpu);
void pipe_size(int fd, int size);
int sock_bufs(int fd, int bytes);
void *bench_map(size_t len, bool shared);
int read_full(int fd, void *buf, size_t len);
int write_full(int fd, const void *buf, size_t len);
int bench_fail(const char *what, int err);

/* A stream receiver's state: where in the stream it is, and what it expects there. */
struct stream_rx {
	uint32_t chunk;
	uint64_t total;
	uint64_t seed;
	uint64_t off;
	bool bad;
	uint8_t *expect;	/* chunk expect_idx, for checking a piece of it */
	uint64_t expect_idx;
};

void stream_rx_begin(struct stream_rx *rx, const struct bench_stream_req *sr);
void stream_rx_check(struct stream_rx *rx, const uint8_t *p, size_t n);
bool stream_rx_ok(const struct stream_rx *rx);

/* harness.c: what one placement measures. */
struct bench_cfg {
	const uint32_t *sizes;
	int nsizes;
	const uint32_t *chunks;
	int nchunks;
	unsigned int patterns;	/* 1 << BENCH_ECHO, BENCH_ONEWAY, BENCH_STREAM: what to run */
	int runs;		/* per point, the first of them dropped */
	bool no_cpu;		/* no CPU runs */
	uint64_t run_ns;	/* how long one run should take */
	uint64_t stream_total;	/* bytes per stream run */
	unsigned int watchdog_s;
	bool perf;		/* perf.c's cross-check tools after their mechanisms' null echo */
};

/*
 * Runs per point that measure CPU time, after the timed ones: only calls,
 * back to back, with the server's task clocks on (util.c).
 */
#define BENCH_CPU_RUNS	3

/* One point of the results: a mechanism, a pattern and a size, in one placement. */
struct point {
	struct mech *m;
	const char *name;	/* the mechanism, or its stream variant */
	const char *placement;
	int variant;
	uint32_t op;		/* BENCH_ECHO, BENCH_ONEWAY or BENCH_STREAM */
	uint32_t len;		/* payload, or chunk for streams */
	uint64_t iters;		/* round trips per run; streams: chunks per run */
	int nruns;
	double *ns;		/* per run: mean round trip, or time per chunk */
	int ncpu;		/* CPU runs done */
	double cpu_client[BENCH_CPU_RUNS];	/* per CPU run: per round trip (chunk), client */
	double cpu_server[BENCH_CPU_RUNS];	/* ... and the server process */
	struct hist *hist;	/* every round trip of the kept runs; NULL for streams */
};

int bench_placement(const struct bench_cfg *cfg, struct mech **mechs, int nmechs,
		    const struct bench_params *p, const char *placement,
		    struct point **ptsp, int *nptsp);
void bench_progress_total(int nplacements);

/* mech_fastipc.c: fastipc's set-up, for async_fastipc.c too; 0 or -errno. */
int fipc_register(int fd, void *addr, size_t len, uint32_t *id);
int fipc_endpoint(int fd, uint32_t slot, uint32_t nslots, uint8_t **pool);
int fipc_client(int ep_fd, void *buf, size_t len, uint32_t *id);

/* mech_lib.c: a libfastipc server process and a client of it, for async_lib.c too. */
struct fastipc_client;
int lib_start(struct srv *srv, int cpu, uint32_t slot, uint32_t nslots, uint32_t reply,
	      struct fastipc_client **clientp);
int lib_stop(struct srv *srv, struct fastipc_client *client, bool quit);
/* mech_short.c: a call through a libfastipc client, for mech_lib.c too. */
int lib_call(struct fastipc_client *client, struct bench_call *c);

/* stats.c */
struct quartiles {
	double q1, median, q3;
};

struct quartiles quartiles(double *v, int n);

/*
 * Operation times, log-bucketed: exact below HIST_SUB, then HIST_SUB
 * buckets per power of two, so a quantile read from it is within 1.6 % of
 * the true one.
 */
#define HIST_SUB_BITS	5
#define HIST_SUB	(1u << HIST_SUB_BITS)
#define HIST_BUCKETS	((64 - HIST_SUB_BITS + 1) << HIST_SUB_BITS)

struct hist {
	uint64_t n;
	uint32_t count[HIST_BUCKETS];
};

void hist_add(struct hist *h, uint64_t v);
double hist_quantile(const struct hist *h, double q);

/* memory.c */
int measure_memory(const char *outdir);

/* scale.c: calls per second as clients and server threads grow; writes scale.csv. */
int scale_bench(const char *outdir, bool quick, int runs);

/* perf.c: cross-checks with tools others wrote. */
/* The bench's median null echo round trip of @mech in @placement; 0 if not measured. */
typedef double (*crosscheck_ours_fn)(const void *ctx, const char *mech, const char *placement);
bool crosscheck_has_tool(const char *mech);
void crosscheck_sample(const struct bench_params *p, const struct mech *m);
int crosscheck_write(const char *outdir, crosscheck_ours_fn ours, const void *ctx);

/* The mechanisms, in the order they run. */
extern struct mech mech_fastipc, mech_pipe, mech_unix_stream, mech_unix_seqpacket,
	mech_shm_futex, mech_shm_futex_spin, mech_memcpy, mech_tcp, mech_posix_mq,
	mech_shm_eventfd, mech_shm_signal, mech_shm_spin, mech_binder, mech_short_circuit,
	mech_libfastipc;

#endif /* FASTIPC_BENCH_H */
