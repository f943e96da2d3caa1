// SPDX-License-Identifier: GPL-2.0
/*
 * Shared memory with five ways to say "your turn": futex, futex after a
 * fixed spin (near fastipc's policy, see fspin_bound()), eventfd, signals
 * (the Motorola thesis's SIGUSR1/SIGUSR2 scheme) and busy-waiting. The data
 * path is the same for all: the client copies the request into the shared
 * request area, the server copies its reply into the reply area, and the
 * client reads the reply where it lies. That is two copies of N per echo,
 * as with fastipc.
 *
 * A stream goes through a ring of BENCH_STREAM_DEPTH slots of the chunk's
 * size, as many bytes in flight as fastipc's stream: the client copies each
 * chunk into the next free slot, the server copies it out, frees the slot
 * and checks the copy, as a pipe's reader would.
 */
#include "bench.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Each word has its own cache line: one side writes it, the other reads it. */
struct shm_ctl {
	_Alignas(64) uint32_t req_seq;	/* bumped by the client per request */
	_Alignas(64) uint32_t rep_seq;	/* bumped by the server per reply */
	_Alignas(64) uint32_t head;	/* streams: chunks the client put in the ring */
	_Alignas(64) uint32_t tail;	/* streams: chunks the server took out */
	_Alignas(64) uint32_t park;	/* shm-spin: sleep instead of spinning */
	_Alignas(64) uint32_t srv_asleep; /* shm-futex-spin: the server is in FUTEX_WAIT */
	_Alignas(64) uint32_t cli_asleep; /* shm-futex-spin: the client is */
	struct bench_hdr req, rep;
};

#define SHM_DATA	4096

/* fastipc's spin_ns when the module is not loaded to say (kmod/call.c's default). */
#define FIPC_SPIN_NS_DEFAULT	200000
#define FIPC_SPIN_NS_PARAM	"/sys/module/fastipc/parameters/spin_ns"

struct shm {
	struct srv srv;
	const struct shm_ops *ops;
	struct shm_ctl *ctl;
	uint8_t *req, *rep;
	uint8_t *ring;		/* BENCH_STREAM_DEPTH * max_chunk bytes, or NULL */
	uint8_t *buf;		/* the server's copy of a chunk */
	size_t len;
	uint32_t max_chunk;
	uint32_t seq;
	bool same_cpu;
	uint64_t spin_ns;	/* shm-futex-spin: how long a waiter spins */
	pid_t peer;		/* shm-signal: whom to signal */
	int efd[2];		/* shm-eventfd: to the server, to the client */
	struct stream_rx rx;
};

/* @to_server: which way the notification goes. */
struct shm_ops {
	void (*wake)(struct shm *s, uint32_t *word, bool to_server);
	void (*wait)(struct shm *s, uint32_t *word, uint32_t want, bool to_server);
};

static uint32_t load(uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* Whether counter @v has come to @want: the counters only grow (and may wrap). */
static bool reached(uint32_t v, uint32_t want)
{
	return (int32_t)(v - want) >= 0;
}

static long futex(uint32_t *word, int op, uint32_t val)
{
	/* Shared between processes, so not FUTEX_PRIVATE_FLAG. */
	return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

static void futex_wake(struct shm *s, uint32_t *word, bool to_server)
{
	(void)s;
	(void)to_server;
	futex(word, FUTEX_WAKE, 1);
}

static void futex_wait(struct shm *s, uint32_t *word, uint32_t want, bool to_server)
{
	uint32_t v;

	(void)s;
	(void)to_server;
	while (!reached(v = load(word), want))
		futex(word, FUTEX_WAIT, v);
}

/*
 * shm-futex-spin: the waiter spins up to s->spin_ns for the word, then says
 * it sleeps (the asleep flag of its side) and sleeps in FUTEX_WAIT; the
 * waker calls FUTEX_WAKE only when that flag is up.
 *
 * No wake-up is lost. The waker stores the word, then (full fence) reads the
 * flag; the waiter stores the flag, then (full fence) reads the word. With a
 * fence between each side's store and load, at least one side sees the
 * other's store: either the waker sees the flag and wakes, or the waiter
 * sees the new word and does not sleep. A wake that comes between the
 * waiter's read of the word and its FUTEX_WAIT is not lost either: the
 * kernel compares the word with the value read before it sleeps, and
 * returns at once when they differ. A flag left up after the waiter has
 * woken costs at most one FUTEX_WAKE nobody needed.
 */
static uint32_t *asleep_flag(struct shm *s, bool to_server)
{
	return to_server ? &s->ctl->srv_asleep : &s->ctl->cli_asleep;
}

static void fspin_wake(struct shm *s, uint32_t *word, bool to_server)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(asleep_flag(s, to_server), __ATOMIC_RELAXED))
		futex(word, FUTEX_WAKE, 1);
}

/* Spins up to s->spin_ns for @word to reach @want; whether it did. */
static bool spin_for(const struct shm *s, uint32_t *word, uint32_t want)
{
	uint64_t end;
	unsigned int i;

	if (!s->spin_ns)
		return false;
	end = fipc_now_ns() + s->spin_ns;
	/* The clock only every 64 turns: reading it costs more than a turn. */
	for (i = 1; !reached(load(word), want); i++) {
		if (!(i & 63) && fipc_now_ns() > end)
			return false;
		__builtin_ia32_pause();
	}
	return true;
}

static void fspin_wait(struct shm *s, uint32_t *word, uint32_t want, bool to_server)
{
	uint32_t *asleep = asleep_flag(s, to_server);
	uint32_t v;

	if (reached(load(word), want) || spin_for(s, word, want))
		return;
	__atomic_store_n(asleep, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	while (!reached(v = load(word), want))
		futex(word, FUTEX_WAIT, v);
	__atomic_store_n(asleep, 0, __ATOMIC_RELAXED);
}

static void efd_wake(struct shm *s, uint32_t *word, bool to_server)
{
	(void)word;
	eventfd_write(s->efd[!to_server], 1);
}

static void efd_wait(struct shm *s, uint32_t *word, uint32_t want, bool to_server)
{
	eventfd_t v;

	while (!reached(load(word), want))
		eventfd_read(s->efd[!to_server], &v);
}

static void sig_wake(struct shm *s, uint32_t *word, bool to_server)
{
	(void)word;
	kill(s->peer, to_server ? SIGUSR1 : SIGUSR2);
}

static void sig_wait(struct shm *s, uint32_t *word, uint32_t want, bool to_server)
{
	sigset_t set;

	(void)s;
	sigemptyset(&set);
	sigaddset(&set, to_server ? SIGUSR1 : SIGUSR2);
	while (!reached(load(word), want))
		sigwaitinfo(&set, NULL);
}

static void spin_wake(struct shm *s, uint32_t *word, bool to_server)
{
	(void)s;
	(void)word;
	(void)to_server;
}

/*
 * Spins; on one CPU it yields every turn, or the peer would only run when
 * the time slice ends. A parked server sleeps until the next run.
 */
static void spin_wait(struct shm *s, uint32_t *word, uint32_t want, bool to_server)
{
	unsigned int i = 0;

	while (!reached(load(word), want)) {
		if (to_server && load(&s->ctl->park)) {
			futex(&s->ctl->park, FUTEX_WAIT, 1);
			continue;
		}
		if (s->same_cpu || !(++i & 1023))
			sched_yield();
		else
			__builtin_ia32_pause();
	}
}

static const struct shm_ops futex_ops = { futex_wake, futex_wait };
static const struct shm_ops fspin_ops = { fspin_wake, fspin_wait };
static const struct shm_ops efd_ops = { efd_wake, efd_wait };
static const struct shm_ops sig_ops = { sig_wake, sig_wait };
static const struct shm_ops spin_ops = { spin_wake, spin_wait };

/* Stores @v into @word, which the other side waits for, and tells it. */
static void shm_post(struct shm *s, uint32_t *word, uint32_t v, bool to_server)
{
	__atomic_store_n(word, v, __ATOMIC_RELEASE);
	s->ops->wake(s, word, to_server);
}

/*
 * Receives a stream (its bench_stream_req in the request area) out of the
 * ring. Takes every chunk even after a bad one, so the client never waits
 * for room that does not come.
 */
static int shm_stream_recv(struct shm *s)
{
	struct shm_ctl *ctl = s->ctl;
	struct bench_stream_req sr;
	uint32_t i, n;

	memcpy(&sr, s->req, sizeof(sr));
	if (ctl->req.len != sizeof(sr) || !sr.chunk || sr.chunk > s->max_chunk)
		return -EPROTO;
	n = sr.total / sr.chunk;
	stream_rx_begin(&s->rx, &sr);
	for (i = 0; i < n; i++) {
		s->ops->wait(s, &ctl->head, i + 1, true);
		memcpy(s->buf, s->ring + (size_t)(i % BENCH_STREAM_DEPTH) * sr.chunk, sr.chunk);
		shm_post(s, &ctl->tail, i + 1, false);
		stream_rx_check(&s->rx, s->buf, sr.chunk);
	}
	return stream_rx_ok(&s->rx) ? 0 : -EBADMSG;
}

static int shm_server(struct shm *s)
{
	struct shm_ctl *ctl = s->ctl;
	uint32_t op;

	for (;;) {
		s->ops->wait(s, &ctl->req_seq, ++s->seq, true);
		op = BENCH_OP(ctl->req.word);
		switch (op) {
		case BENCH_ECHO:
			memcpy(s->rep, s->req, ctl->req.len);
			ctl->rep = (struct bench_hdr){ 0, ctl->req.len };
			break;
		case BENCH_ONEWAY:
			ctl->rep = (struct bench_hdr){ bench_status(s->req, ctl->req.len), 0 };
			break;
		case BENCH_STREAM:
			if (!s->ring)
				return -EPROTO;
			ctl->rep = (struct bench_hdr){ shm_stream_recv(s), 0 };
			break;
		case BENCH_QUIT:
			ctl->rep = (struct bench_hdr){ BENCH_QUIT_STATUS, 0 };
			break;
		default:
			return -EPROTO;
		}
		shm_post(s, &ctl->rep_seq, s->seq, false);
		if (op == BENCH_QUIT)
			return 0;
	}
}

static const struct shm_ops *shm_ops_of(const struct mech *m)
{
	if (m == &mech_shm_futex)
		return &futex_ops;
	if (m == &mech_shm_futex_spin)
		return &fspin_ops;
	if (m == &mech_shm_eventfd)
		return &efd_ops;
	if (m == &mech_shm_signal)
		return &sig_ops;
	return &spin_ops;
}

/*
 * How long shm-futex-spin's waiters spin: nothing on one CPU, where fastipc
 * does not spin either, for the partner could not run meanwhile; across
 * CPUs, fastipc's spin_ns, every wait, the whole of it if no answer comes.
 *
 * That is fastipc's upper bound only. kmod/call.c learns a shorter one per
 * endpoint and direction (twice the recent answer time, at least 50 us,
 * at most spin_ns), does not spin at all while answers average over
 * spin_ns, and stops the moment it sees its partner off its CPU. User
 * space cannot see whether its partner is on a CPU, and this mechanism
 * learns nothing: it spins the fixed bound. Where answers come within it
 * the two spin alike; where they come later, this one burns up to spin_ns
 * per wait that fastipc would not.
 */
static uint64_t fspin_bound(const struct bench_params *p)
{
	FILE *f;
	unsigned int ns = FIPC_SPIN_NS_DEFAULT;

	if (p->same_cpu)
		return 0;
	f = fopen(FIPC_SPIN_NS_PARAM, "r");
	if (f) {
		if (fscanf(f, "%u", &ns) != 1)
			ns = FIPC_SPIN_NS_DEFAULT;
		fclose(f);
	}
	return ns;
}

/* In the server: its copy of a chunk, then the loop. */
static int shm_serve(struct shm *s)
{
	if (s->ring) {
		s->buf = bench_map(s->max_chunk, false);
		srv_ready(&s->srv, s->buf ? 0 : ENOMEM);
		if (!s->buf)
			return -ENOMEM;
	} else {
		srv_ready(&s->srv, 0);
	}
	return shm_server(s);
}

static int shm_start(struct mech *m, const struct bench_params *p)
{
	struct shm *s = calloc(1, sizeof(*s));
	size_t area = (p->max_payload + 4095) & ~4095UL;
	size_t ring = m->stream ? (size_t)BENCH_STREAM_DEPTH * p->max_chunk : 0;
	sigset_t set;
	int ret;

	if (!s)
		return -ENOMEM;
	m->priv = s;
	s->ops = shm_ops_of(m);
	s->same_cpu = p->same_cpu;
	s->spin_ns = s->ops == &fspin_ops ? fspin_bound(p) : 0;
	s->efd[0] = s->efd[1] = -1;
	s->len = SHM_DATA + 2 * area + ring;
	s->ctl = bench_map(s->len, true);
	if (!s->ctl)
		return -ENOMEM;
	s->req = (uint8_t *)s->ctl + SHM_DATA;
	s->rep = s->req + area;
	if (ring) {
		s->ring = s->rep + area;
		s->max_chunk = p->max_chunk;
	}
	if (s->ops == &efd_ops) {
		s->efd[0] = eventfd(0, EFD_CLOEXEC);
		s->efd[1] = eventfd(0, EFD_CLOEXEC);
		if (s->efd[0] < 0 || s->efd[1] < 0)
			return -errno;
	}
	if (s->ops == &sig_ops) {
		/* Blocked on both sides before any can be sent, so none is lost to a handler. */
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigaddset(&set, SIGUSR2);
		sigprocmask(SIG_BLOCK, &set, NULL);
	}
	ret = srv_fork(&s->srv, p->server_cpu);
	if (ret == 0) {
		s->peer = getppid();
		_exit(shm_serve(s) ? 1 : 0);
	}
	if (ret < 0)
		return ret;
	s->peer = s->srv.pid;
	m->server_pid = s->srv.pid;
	return srv_wait_ready(&s->srv);
}

/* Sends a request of @len bytes at @req; the reply is in ctl->rep and s->rep. */
static void shm_request(struct shm *s, uint32_t op, const void *req, uint32_t len)
{
	struct shm_ctl *ctl = s->ctl;

	if (load(&ctl->park)) {
		__atomic_store_n(&ctl->park, 0, __ATOMIC_RELEASE);
		futex(&ctl->park, FUTEX_WAKE, 1);
	}
	memcpy(s->req, req, len);
	ctl->req = (struct bench_hdr){ op, len };
	shm_post(s, &ctl->req_seq, ++s->seq, true);
}

static void shm_reply(struct shm *s)
{
	s->ops->wait(s, &s->ctl->rep_seq, s->seq, false);
}

static int shm_call(struct mech *m, struct bench_call *c)
{
	struct shm *s = m->priv;

	shm_request(s, c->op, c->req, c->len);
	shm_reply(s);
	c->status = s->ctl->rep.word;
	c->reply_len = s->ctl->rep.len;
	c->reply = s->rep;
	return 0;
}

/* The stream's request, then every chunk into the next free slot of the ring. */
static int shm_stream(struct mech *m, const struct bench_stream *st)
{
	struct shm *s = m->priv;
	struct shm_ctl *ctl = s->ctl;
	struct bench_stream_req sr = { st->chunk, 0, st->total, st->seed };
	uint32_t i, n = st->total / st->chunk;

	if (st->chunk > s->max_chunk)
		return -EINVAL;
	/* The server is between requests: nobody looks at the ring. */
	ctl->head = ctl->tail = 0;
	shm_request(s, BENCH_STREAM, &sr, sizeof(sr));
	for (i = 0; i < n; i++) {
		if (i >= BENCH_STREAM_DEPTH)
			s->ops->wait(s, &ctl->tail, i + 1 - BENCH_STREAM_DEPTH, false);
		fipc_fill(st->buf, st->chunk, st->seed + i);
		memcpy(s->ring + (size_t)(i % BENCH_STREAM_DEPTH) * st->chunk, st->buf, st->chunk);
		shm_post(s, &ctl->head, i + 1, true);
	}
	shm_reply(s);
	return ctl->rep.word ? -EBADMSG : 0;
}

/* Between runs the spinning server sleeps, so it does not slow the other mechanisms. */
static void shm_idle(struct mech *m)
{
	struct shm *s = m->priv;

	__atomic_store_n(&s->ctl->park, 1, __ATOMIC_RELEASE);
}

static int shm_stop(struct mech *m)
{
	struct shm *s = m->priv;
	int ret;

	if (!s)
		return 0;
	ret = srv_stop(&s->srv, m->quit);
	if (s->efd[0] >= 0)
		close(s->efd[0]);
	if (s->efd[1] >= 0)
		close(s->efd[1]);
	if (s->ctl)
		munmap(s->ctl, s->len);
	free(s);
	m->priv = NULL;
	return ret;
}

static const char *const futex_streams[] = { "shm-futex", NULL };
static const char *const fspin_streams[] = { "shm-futex-spin", NULL };
static const char *const spin_streams[] = { "shm-spin", NULL };

struct mech mech_shm_futex = {
	.name = "shm-futex",
	.note = "shared memory, futex wait/wake; stream: a ring of " BENCH_STR(BENCH_STREAM_DEPTH)
		" chunk-sized slots (the bytes in flight of fastipc's stream), copied in and out",
	.stream_names = futex_streams,
	.start = shm_start, .call = shm_call, .stream = shm_stream, .stop = shm_stop,
};

struct mech mech_shm_futex_spin = {
	.name = "shm-futex-spin",
	.note = "shm-futex whose waiter first spins for the answer, then sleeps; FUTEX_WAKE only "
		"to a waiter asleep; across CPUs every wait spins up to fastipc's spin_ns, "
		"fixed (fastipc learns a shorter bound, ~2x the recent answer time, at least "
		"50 us, skips the spin when answers average over spin_ns and stops when its "
		"partner leaves its CPU, which user space cannot see); no spin on one CPU; "
		"stream: shm-futex's ring, its waits spinning too (fastipc's one-way stream does not spin)",
	.stream_names = fspin_streams,
	.start = shm_start, .call = shm_call, .stream = shm_stream, .stop = shm_stop,
};

struct mech mech_shm_eventfd = {
	.name = "shm-eventfd",
	.note = "shared memory, one eventfd each way",
	.start = shm_start, .call = shm_call, .stop = shm_stop,
};

struct mech mech_shm_signal = {
	.name = "shm-signal",
	.note = "shared memory, SIGUSR1/SIGUSR2 with sigwaitinfo (the Motorola thesis's scheme)",
	.start = shm_start, .call = shm_call, .stop = shm_stop,
};

struct mech mech_shm_spin = {
	.name = "shm-spin",
	.note = "shared memory, both sides busy-wait: burns a CPU (yields when on one CPU); "
		"stream: shm-futex's ring",
	.stream_names = spin_streams,
	.start = shm_start, .call = shm_call, .stream = shm_stream, .idle = shm_idle,
	.stop = shm_stop,
};
