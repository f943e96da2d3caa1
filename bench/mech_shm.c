// SPDX-License-Identifier: GPL-2.0
/*
 * Shared memory with four ways to say "your turn": futex, eventfd, signals
 * (the Motorola thesis's SIGUSR1/SIGUSR2 scheme) and busy-waiting. The data
 * path is the same for all: the client copies the request into the shared
 * request area, the server copies its reply into the reply area, and the
 * client reads the reply where it lies. That is two copies of N per echo,
 * as with fastipc.
 */
#include "bench.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

struct shm_ctl {
	_Alignas(64) uint32_t req_seq;	/* bumped by the client per request */
	_Alignas(64) uint32_t rep_seq;	/* bumped by the server per reply */
	_Alignas(64) uint32_t park;	/* shm-spin: sleep instead of spinning */
	struct bench_hdr req, rep;
};

#define SHM_DATA	4096

struct shm {
	struct srv srv;
	const struct shm_ops *ops;
	struct shm_ctl *ctl;
	uint8_t *req, *rep;
	size_t len;
	uint32_t seq;
	bool same_cpu;
	pid_t peer;		/* shm-signal: whom to signal */
	int efd[2];		/* shm-eventfd: to the server, to the client */
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
	while ((v = load(word)) != want)
		futex(word, FUTEX_WAIT, v);
}

static void efd_wake(struct shm *s, uint32_t *word, bool to_server)
{
	(void)word;
	eventfd_write(s->efd[!to_server], 1);
}

static void efd_wait(struct shm *s, uint32_t *word, uint32_t want, bool to_server)
{
	eventfd_t v;

	while (load(word) != want)
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
	while (load(word) != want)
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

	while (load(word) != want) {
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
static const struct shm_ops efd_ops = { efd_wake, efd_wait };
static const struct shm_ops sig_ops = { sig_wake, sig_wait };
static const struct shm_ops spin_ops = { spin_wake, spin_wait };

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
		case BENCH_QUIT:
			ctl->rep = (struct bench_hdr){ BENCH_QUIT_STATUS, 0 };
			break;
		default:
			return -EPROTO;
		}
		__atomic_store_n(&ctl->rep_seq, s->seq, __ATOMIC_RELEASE);
		s->ops->wake(s, &ctl->rep_seq, false);
		if (op == BENCH_QUIT)
			return 0;
	}
}

static const struct shm_ops *shm_ops_of(const struct mech *m)
{
	if (m == &mech_shm_futex)
		return &futex_ops;
	if (m == &mech_shm_eventfd)
		return &efd_ops;
	if (m == &mech_shm_signal)
		return &sig_ops;
	return &spin_ops;
}

static int shm_start(struct mech *m, const struct bench_params *p)
{
	struct shm *s = calloc(1, sizeof(*s));
	size_t area = (p->max_payload + 4095) & ~4095UL;
	sigset_t set;
	int ret;

	if (!s)
		return -ENOMEM;
	m->priv = s;
	s->ops = shm_ops_of(m);
	s->same_cpu = p->same_cpu;
	s->efd[0] = s->efd[1] = -1;
	s->len = SHM_DATA + 2 * area;
	s->ctl = bench_map(s->len, true);
	if (!s->ctl)
		return -ENOMEM;
	s->req = (uint8_t *)s->ctl + SHM_DATA;
	s->rep = s->req + area;
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
		srv_ready(&s->srv, 0);
		_exit(shm_server(s) ? 1 : 0);
	}
	if (ret < 0)
		return ret;
	s->peer = s->srv.pid;
	m->server_pid = s->srv.pid;
	return srv_wait_ready(&s->srv);
}

static int shm_call(struct mech *m, struct bench_call *c)
{
	struct shm *s = m->priv;
	struct shm_ctl *ctl = s->ctl;

	if (load(&ctl->park)) {
		__atomic_store_n(&ctl->park, 0, __ATOMIC_RELEASE);
		futex(&ctl->park, FUTEX_WAKE, 1);
	}
	memcpy(s->req, c->req, c->len);
	ctl->req = (struct bench_hdr){ c->op, c->len };
	__atomic_store_n(&ctl->req_seq, ++s->seq, __ATOMIC_RELEASE);
	s->ops->wake(s, &ctl->req_seq, true);
	s->ops->wait(s, &ctl->rep_seq, s->seq, false);
	c->status = ctl->rep.word;
	c->reply_len = ctl->rep.len;
	c->reply = s->rep;
	return 0;
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

struct mech mech_shm_futex = {
	.name = "shm-futex",
	.note = "shared memory, futex wait/wake",
	.start = shm_start, .call = shm_call, .stop = shm_stop,
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
	.note = "shared memory, both sides busy-wait: burns a CPU (yields when on one CPU)",
	.start = shm_start, .call = shm_call, .idle = shm_idle, .stop = shm_stop,
};
