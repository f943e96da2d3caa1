// SPDX-License-Identifier: GPL-2.0
/*
 * fastipc-fuzz: a structure-aware fuzzer for the fastipc ioctls. Each
 * iteration builds a plausible argument for a command from what the fuzzer
 * knows (its ports, buffers, tokens), then maybe corrupts it: unknown flags,
 * reserved bits, lengths at and around every FASTIPC_MAX_* limit, pointers
 * that are NULL, unmapped, read-only, PROT_NONE, kernel or straddling a
 * guard page, fds and tokens that are stale or belong to someone else. Two
 * threads fuzz at once while a third closes and replaces their fds and
 * remaps their memory. Operations that may block run in a forked child under
 * a watchdog. With --fail-alloc, FAILSLAB and FAIL_PAGE_ALLOC fail the
 * fuzzer's own allocations for the middle half of the run.
 *
 * The kernel must not complain (the board checks), nothing may hang, unknown
 * commands must get ENOTTY, the module must still work afterwards, and every
 * object must be gone once the fuzzer has exited.
 */
#include "common.h"

#include <dirent.h>
#include <stddef.h>
#include <getopt.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define PROG		"fastipc-fuzz"
#define NPORTS		24
#define NTOKENS		64
#define NTHREADS	2
#define RW_LEN		(4u << 20)
#define CHUNK		(256u << 10)
#define SMALL		(64u << 10)
#define PAGE		4096u
#define KERNEL_PTR	0xffffffff81000000ull

enum cmd { C_VERSION, C_BUF_REG, C_BUF_UNREG, C_EP_CREATE, C_CONNECT, C_CALL, C_SEND,
	   C_SERVE, C_FORWARD, C_RANDOM,
	   /* io_uring commands, counted by their CQEs' res */
	   C_U_CALL, C_U_SEND, C_U_RECV, C_U_REPLY, C_U_CANCEL, C_U_RANDOM,
	   /* FORWARD (and replies) of calls whose submitting process is gone */
	   C_U_ORPHAN, C_NR };

static const char * const cmd_names[C_NR] = {
	"VERSION", "BUF_REG", "BUF_UNREG", "EP_CREATE", "CONNECT", "CALL", "SEND", "SERVE",
	"FORWARD", "random", "U_CALL", "U_SEND", "U_RECV", "U_REPLY", "U_CANCEL", "U_random",
	"U_orphan",
};

static const unsigned long cmd_nums[C_RANDOM] = {
	FASTIPC_IOC_VERSION, FASTIPC_IOC_BUF_REGISTER, FASTIPC_IOC_BUF_UNREGISTER,
	FASTIPC_IOC_EP_CREATE, FASTIPC_IOC_CONNECT, FASTIPC_IOC_CALL, FASTIPC_IOC_SEND,
	FASTIPC_IOC_SERVE, FASTIPC_IOC_FORWARD,
};

struct shared {
	uint64_t iter, done;
	uint64_t hist[C_NR][NERRNO];
	uint64_t children, child_hangs, notty_violations, setups, races, remaps;
	uint64_t fault_iters, injected_slab, injected_page;
	uint64_t sanity_ok;
	/* io_uring */
	uint64_t sqes, cqes, rings_opened, rings_closed, sub_threads, sub_procs, orphans;
	uint64_t orphan_tokens, teardowns, teardown_skipped, teardown_msgs, lost, spins;
	uint64_t uring_hangs, teardown_held, teardown_unsure;
};

struct opts {
	uint64_t iterations, seed;
	bool fail_alloc;
	unsigned int probability;
};

static struct opts o = { .iterations = 20000, .probability = 10 };
static struct shared *sh;
static int ports[NPORTS];
/* Endpoints from setup_pair() and their clients, where calls can succeed. */
#define NPAIRS		4
static int pair_ep[NPAIRS], pair_cl[NPAIRS];
static uint64_t tokens[NTOKENS];
static uint8_t *rw, *ro, *none, *unmapped, *vol, *shm;
static int null_fd;
static volatile int racing, fault_phase;

/* ---- fault injection ---- */

#define FAILSLAB	"/sys/kernel/debug/failslab/"
#define FAILPAGE	"/sys/kernel/debug/fail_page_alloc/"
#define FAULT_TIMES	100000000

static int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static long read_long(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : -1;
}

/* Sets up one fault attribute directory; @on=false turns it off. */
static int fault_attr(const char *dir, bool on)
{
	static const char * const keys[] = {
		"verbose", "interval", "space", "task-filter", "ignore-gfp-wait",
	};
	static const char * const vals[] = { "0", "1", "0", "Y", "N" };
	char path[128], val[32];
	unsigned int i;
	int ret;

	for (i = 0; on && i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", dir, keys[i]);
		ret = write_str(path, vals[i]);
		if (ret)
			return ret;
	}
	if (on && !strcmp(dir, FAILPAGE)) {
		write_str(FAILPAGE "ignore-gfp-highmem", "N");
		write_str(FAILPAGE "min-order", "0");
	}
	snprintf(path, sizeof(path), "%stimes", dir);
	snprintf(val, sizeof(val), "%d", on ? FAULT_TIMES : 1);
	ret = write_str(path, val);
	snprintf(path, sizeof(path), "%sprobability", dir);
	snprintf(val, sizeof(val), "%u", on ? o.probability : 0);
	return ret ?: write_str(path, val);
}

/* Faults injected so far: "times" counts down once per injected failure. */
static uint64_t fault_count(const char *dir)
{
	char path[128];
	long left;

	snprintf(path, sizeof(path), "%stimes", dir);
	left = read_long(path);
	return left >= 0 && left <= FAULT_TIMES ? FAULT_TIMES - left : 0;
}

static void fault_start(void)
{
	if (fault_attr(FAILSLAB, true) || fault_attr(FAILPAGE, true)) {
		fprintf(stderr, PROG ": cannot set up fault injection in debugfs: %s\n",
			strerror(errno));
		exit(1);
	}
	__atomic_store_n(&fault_phase, 1, __ATOMIC_RELEASE);
}

static void fault_stop(void)
{
	__atomic_store_n(&fault_phase, 0, __ATOMIC_RELEASE);
	add(&sh->injected_slab, fault_count(FAILSLAB));
	add(&sh->injected_page, fault_count(FAILPAGE));
	fault_attr(FAILSLAB, false);
	fault_attr(FAILPAGE, false);
}

/* Per-thread: only this task's allocations fail, and only inside our calls. */
static __thread int fail_fd = -1;

static void fail_open(void)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d/make-it-fail", gettid());
	fail_fd = open(path, O_WRONLY | O_CLOEXEC);
}

static bool fail_on(void)
{
	if (!__atomic_load_n(&fault_phase, __ATOMIC_ACQUIRE) || fail_fd < 0)
		return false;
	return pwrite(fail_fd, "1", 1, 0) == 1;
}

static void fail_off(bool on)
{
	if (on)
		pwrite(fail_fd, "0", 1, 0);
}

/* ---- state ---- */

/* Mostly an open port; -1 only when none shows up after a few tries. */
static int pick_port(uint64_t *s)
{
	int fd = -1, i;

	for (i = 0; i < 4 && fd < 0; i++)
		fd = __atomic_load_n(&ports[rnd_below(s, NPORTS)], __ATOMIC_RELAXED);
	return fd;
}

static void set_port(uint64_t *s, int fd)
{
	int old = __atomic_exchange_n(&ports[rnd_below(s, NPORTS)], fd, __ATOMIC_RELAXED);

	if (old >= 0)
		close(old);
}

static void push_token(uint64_t *s, uint64_t t)
{
	__atomic_store_n(&tokens[rnd_below(s, NTOKENS)], t, __ATOMIC_RELAXED);
}

static int open_port(void)
{
	bool f = fail_on();
	int fd = open("/dev/fastipc", O_RDWR | O_CLOEXEC);

	fail_off(f);
	return fd;
}

/* ---- values ---- */

static uint64_t boundary(uint64_t *s, uint64_t limit)
{
	static const int64_t deltas[] = { -2, -1, 0, 1, 2 };

	switch (rnd_below(s, 8)) {
	case 0: return rnd_below(s, 3);
	case 1: return UINT32_MAX - rnd_below(s, 2);
	case 2: return 0x80000000u;
	case 3: return rnd(s);
	case 4: return limit * 2;
	default: return limit + deltas[rnd_below(s, 5)];
	}
}

/* A user pointer, good or bad, to @len bytes. */
static uint64_t pick_ptr(uint64_t *s, size_t len, bool good)
{
	if (good || chance(s, 60)) {
		size_t max = len < RW_LEN ? RW_LEN - len : 0;

		return (uintptr_t)rw + rnd_below(s, max + 1);
	}
	switch (rnd_below(s, 10)) {
	case 0: return 0;
	case 1: return (uintptr_t)unmapped + rnd_below(s, 8 * PAGE);
	case 2: return (uintptr_t)ro + rnd_below(s, SMALL);
	case 3: return (uintptr_t)none + rnd_below(s, SMALL);
	case 4: return KERNEL_PTR + rnd_below(s, 1 << 20);
	case 5: return 1ull << 63;
	case 6: return (uintptr_t)rw + RW_LEN - rnd_below(s, len + 1);	/* runs off the end */
	case 7: return (uintptr_t)vol + rnd_below(s, SMALL);
	case 8: return (uintptr_t)shm + rnd_below(s, SMALL);
	default: return rnd(s);
	}
}

static uint32_t pick_len(uint64_t *s)
{
	switch (rnd_below(s, 6)) {
	case 0: return rnd_below(s, 64);
	case 1: return rnd_below(s, 4096);
	case 2: return rnd_below(s, SMALL);
	case 3: return boundary(s, FASTIPC_MAX_PAYLOAD);
	default: return rnd_below(s, 1024);
	}
}

static int pick_fd(uint64_t *s)
{
	switch (rnd_below(s, 10)) {
	case 0: return -1;
	case 1: return null_fd;
	case 2: return 1000 + rnd_below(s, 10);
	case 3: return (int)rnd(s);
	default: return pick_port(s);
	}
}

static uint64_t pick_token(uint64_t *s)
{
	uint64_t t = __atomic_load_n(&tokens[rnd_below(s, NTOKENS)], __ATOMIC_RELAXED);

	switch (rnd_below(s, 8)) {
	case 0: return rnd(s);
	case 1: return t + 1;
	case 2: return t ^ (1ull << rnd_below(s, 64));
	case 3: return 0;
	default: return t;
	}
}

static void pick_name(uint64_t *s, uint8_t *name)
{
	unsigned int i, n;

	memset(name, 0, FASTIPC_NAME_MAX);
	switch (rnd_below(s, 10)) {
	case 0:		/* no NUL at all, or the longest legal name */
	case 1:
		n = FASTIPC_NAME_MAX - rnd_below(s, 2);
		memset(name, 'a' + rnd_below(s, 26), n);
		return;
	case 2:		/* random bytes */
		for (i = 0; i < FASTIPC_NAME_MAX; i++)
			name[i] = rnd(s);
		return;
	case 3:		/* garbage after the NUL */
		snprintf((char *)name, FASTIPC_NAME_MAX, "ffz.%u", (unsigned int)rnd_below(s, 4));
		name[FASTIPC_NAME_MAX - 1 - rnd_below(s, 8)] = 'x';
		return;
	case 4:
		snprintf((char *)name, FASTIPC_NAME_MAX, "ffz/%u", (unsigned int)rnd_below(s, 4));
		return;
	default:
		snprintf((char *)name, FASTIPC_NAME_MAX, "ffz.%u", (unsigned int)rnd_below(s, 4));
	}
}

/* ---- corrupting a struct ---- */

/* Where the flags, reserved words and lengths of each struct are. */
struct field {
	uint16_t off;
	uint8_t size;
	uint8_t kind;
	uint64_t limit;
};

enum { F_FLAGS = 1, F_RES, F_LEN, F_PTR, F_FD, F_TOKEN, F_ID };

#define FLD(st, m, k, l) { offsetof(struct st, m), sizeof(((struct st *)0)->m), k, l }

/* What CALL and FASTIPC_URING_CALL, and SEND and FASTIPC_URING_SEND, share. */
#define CALL_FIELDS(st)								\
	FLD(st, flags, F_FLAGS, 0),						\
	FLD(st, req_addr, F_PTR, 0),						\
	FLD(st, req_len, F_LEN, FASTIPC_MAX_PAYLOAD),				\
	FLD(st, reply_buf, F_ID, FASTIPC_MAX_BUFS),				\
	FLD(st, reply_offset, F_LEN, CHUNK),					\
	FLD(st, reply_cap, F_LEN, FASTIPC_MAX_PAYLOAD)
#define SEND_FIELDS							\
	FLD(fastipc_send, flags, F_FLAGS, FASTIPC_SEND_ALL),			\
	FLD(fastipc_send, addr, F_PTR, 0),					\
	FLD(fastipc_send, len, F_LEN, FASTIPC_MAX_PAYLOAD),			\
	FLD(fastipc_send, nfds, F_LEN, FASTIPC_MAX_FDS + 1),			\
	FLD(fastipc_send, fds_addr, F_PTR, 0)

static const struct field fields[C_RANDOM][12] = {
	[C_VERSION] = {
		FLD(fastipc_version, flags, F_FLAGS, 0),
		FLD(fastipc_version, reserved[0], F_RES, 0),
		FLD(fastipc_version, reserved[1], F_RES, 0),
	},
	[C_BUF_REG] = {
		FLD(fastipc_buf_register, flags, F_FLAGS, 0),
		FLD(fastipc_buf_register, addr, F_PTR, 0),
		FLD(fastipc_buf_register, len, F_LEN, FASTIPC_MAX_BUF_LEN),
		FLD(fastipc_buf_register, reserved[0], F_RES, 0),
		FLD(fastipc_buf_register, reserved[1], F_RES, 0),
	},
	[C_BUF_UNREG] = {
		FLD(fastipc_buf_unregister, flags, F_FLAGS, 0),
		FLD(fastipc_buf_unregister, id, F_ID, FASTIPC_MAX_BUFS),
		FLD(fastipc_buf_unregister, reserved[1], F_RES, 0),
	},
	[C_EP_CREATE] = {
		FLD(fastipc_ep_create, flags, F_FLAGS, FASTIPC_EP_ALL),
		FLD(fastipc_ep_create, mode, F_LEN, 0777),
		FLD(fastipc_ep_create, pool_buf, F_ID, FASTIPC_MAX_BUFS),
		FLD(fastipc_ep_create, slot_size, F_LEN, FASTIPC_MAX_PAYLOAD),
		FLD(fastipc_ep_create, pool_offset, F_LEN, CHUNK),
		FLD(fastipc_ep_create, nslots, F_LEN, FASTIPC_MAX_SLOTS),
		FLD(fastipc_ep_create, max_reply, F_LEN, FASTIPC_MAX_PAYLOAD),
		FLD(fastipc_ep_create, reserved[1], F_RES, 0),
	},
	[C_CONNECT] = {
		FLD(fastipc_connect, flags, F_FLAGS, FASTIPC_CONNECT_ALL),
		FLD(fastipc_connect, ep_fd, F_FD, 0),
		FLD(fastipc_connect, reserved0, F_RES, 0),
		FLD(fastipc_connect, reserved[0], F_RES, 0),
	},
	[C_CALL] = {
		CALL_FIELDS(fastipc_call),
		FLD(fastipc_call, nfds, F_LEN, FASTIPC_MAX_FDS + 1),
		FLD(fastipc_call, fds_addr, F_PTR, 0),
		FLD(fastipc_call, fds_cap, F_LEN, FASTIPC_MAX_FDS + 1),
	},
	[C_SEND] = {
		SEND_FIELDS,
		FLD(fastipc_send, reserved, F_RES, 0),
	},
	[C_SERVE] = {
		FLD(fastipc_serve, flags, F_FLAGS, FASTIPC_SERVE_ALL),
		FLD(fastipc_serve, reply_token, F_TOKEN, 0),
		FLD(fastipc_serve, reply_addr, F_PTR, 0),
		FLD(fastipc_serve, reply_len, F_LEN, FASTIPC_MAX_PAYLOAD),
		FLD(fastipc_serve, fds_addr, F_PTR, 0),
		FLD(fastipc_serve, nfds, F_LEN, FASTIPC_MAX_FDS + 1),
		FLD(fastipc_serve, fds_cap, F_LEN, FASTIPC_MAX_FDS + 1),
	},
	[C_FORWARD] = {
		FLD(fastipc_forward, flags, F_FLAGS, 0),
		FLD(fastipc_forward, target_fd, F_FD, 0),
		FLD(fastipc_forward, token, F_TOKEN, 0),
		FLD(fastipc_forward, addr, F_PTR, 0),
		FLD(fastipc_forward, len, F_LEN, FASTIPC_MAX_PAYLOAD),
		FLD(fastipc_forward, reserved0, F_RES, 0),
		FLD(fastipc_forward, reserved1, F_RES, 0),
		FLD(fastipc_forward, reserved[1], F_RES, 0),
	},
};

static void put(uint8_t *p, unsigned int size, uint64_t v)
{
	if (size == 4) {
		uint32_t v32 = v;

		memcpy(p, &v32, 4);
	} else {
		memcpy(p, &v, 8);
	}
}

static void corrupt(uint64_t *s, const struct field *fl, uint8_t *arg, size_t size)
{
	unsigned int n = 1 + rnd_below(s, 3), nf, i;
	const struct field *f;

	for (nf = 0; nf < 12 && fl[nf].size; nf++)
		;
	while (n--) {
		if (!nf || chance(s, 10)) {
			/* Blind: flip a bit anywhere in the struct. */
			arg[rnd_below(s, size)] ^= 1 << rnd_below(s, 8);
			continue;
		}
		f = &fl[rnd_below(s, nf)];
		switch (f->kind) {
		case F_FLAGS:
			i = rnd_below(s, f->size * 8);
			put(arg + f->off, f->size, chance(s, 50) ? (f->limit | (1ull << i)) : rnd(s));
			break;
		case F_RES:
			put(arg + f->off, f->size, chance(s, 50) ? 1ull << rnd_below(s, 64) : rnd(s));
			break;
		case F_LEN:
		case F_ID:
			put(arg + f->off, f->size, boundary(s, f->limit));
			break;
		case F_PTR:
			put(arg + f->off, f->size, pick_ptr(s, 64, false));
			break;
		case F_FD:
			put(arg + f->off, f->size, (uint32_t)pick_fd(s));
			break;
		case F_TOKEN:
			put(arg + f->off, f->size, pick_token(s));
			break;
		}
	}
}

/* ---- running one ioctl ---- */

static void noop(int sig)
{
	(void)sig;
}

static bool may_block(enum cmd c, const void *arg)
{
	const struct fastipc_call *call = arg;
	const struct fastipc_send *send = arg;
	const struct fastipc_serve *serve = arg;

	switch (c) {
	case C_CALL:
		return !call->timeout_ns || call->timeout_ns > 20000000;
	case C_SEND:
		return send->flags & FASTIPC_SEND_WAIT;
	case C_SERVE:
		return (serve->flags & FASTIPC_SERVE_RECV) && !(serve->flags & FASTIPC_SERVE_NONBLOCK);
	default:
		return false;
	}
}

/*
 * A call that may sleep without end runs in a child that shares the ports;
 * a timer signal interrupts it, SIGKILL follows, and a child that survives
 * even that is a hang in the module.
 */
static int run_child(int fd, unsigned long cmd, void *argp, uint64_t *s)
{
	uint64_t start, alarm_ns = 1000000 + rnd_below(s, 50000000);
	int status, ret;
	pid_t pid;

	add(&sh->children, 1);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		struct sigaction sa = { .sa_handler = noop };
		bool f;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sigaction(SIGALRM, &sa, NULL);
		fail_open();
		f = fail_on();
		ret = xioctl(fd, cmd, argp);
		fail_off(f);
		_exit(-ret & 0xff);
	}
	start = fipc_now_ns();
	for (;;) {
		ret = waitpid(pid, &status, WNOHANG);
		if (ret == pid)
			break;
		/* No POSIX timers on the debug kernel: the parent is the alarm. */
		if (fipc_now_ns() - start > alarm_ns)
			kill(pid, SIGALRM);
		if (fipc_now_ns() - start > 2000000000ull)
			kill(pid, SIGKILL);
		if (fipc_now_ns() - start > 30000000000ull) {
			add(&sh->child_hangs, 1);
			printf(PROG ": FAIL: child %d stuck in ioctl %#lx after SIGKILL\n", pid, cmd);
			dump_task(PROG, pid, pid);
			return -ETIME;
		}
		usleep(500);
	}
	if (WIFEXITED(status))
		return -WEXITSTATUS(status);
	return -EINTR;
}

static int do_ioctl(enum cmd c, int fd, unsigned long cmd, void *arg, size_t size,
		    uint64_t *s, uint8_t *ro_page)
{
	void *argp = arg;
	bool f;
	int ret;

	/* Sometimes the argument itself is out of reach, or half of it is. */
	if (chance(s, 6)) {
		switch (rnd_below(s, 6)) {
		case 0: argp = NULL; break;
		case 1: argp = unmapped; break;
		case 2: argp = none; break;
		case 3: argp = (void *)KERNEL_PTR; break;
		case 4:	/* readable, not writable: the copy back must fail cleanly */
			mprotect(ro_page, PAGE, PROT_READ | PROT_WRITE);
			memcpy(ro_page, arg, size);
			mprotect(ro_page, PAGE, PROT_READ);
			argp = ro_page;
			break;
		default:	/* straddles into the PROT_NONE page after it */
			memcpy(ro_page + 2 * PAGE - size / 2, arg, size / 2);
			argp = ro_page + 2 * PAGE - size / 2;
			break;
		}
	}
	if (c != C_RANDOM && may_block(c, arg))
		return run_child(fd, cmd, argp, s);
	f = fail_on();
	ret = xioctl(fd, cmd, argp);
	fail_off(f);
	return ret;
}

/* ---- building arguments ---- */

static void build(uint64_t *s, enum cmd c, void *arg)
{
	switch (c) {
	case C_VERSION:
		break;
	case C_BUF_REG: {
		struct fastipc_buf_register *r = arg;

		r->addr = (uintptr_t)rw + CHUNK * rnd_below(s, RW_LEN / CHUNK);
		r->len = chance(s, 70) ? CHUNK : 1 + rnd_below(s, CHUNK);
		if (chance(s, 10))
			r->addr = (uintptr_t)(chance(s, 50) ? shm : vol), r->len = SMALL;
		break;
	}
	case C_BUF_UNREG: {
		struct fastipc_buf_unregister *u = arg;

		u->id = rnd_below(s, FASTIPC_MAX_BUFS + 2);
		break;
	}
	case C_EP_CREATE: {
		struct fastipc_ep_create *e = arg;

		e->pool_buf = rnd_below(s, 3);
		e->slot_size = chance(s, 50) ? 64u << rnd_below(s, 8) : 1 + rnd_below(s, 8192);
		e->nslots = 1 + rnd_below(s, 32);
		e->pool_offset = rnd_below(s, 4) * 64;
		e->max_reply = chance(s, 50) ? 0 : rnd_below(s, 8192);
		if (chance(s, 70))
			e->flags = FASTIPC_EP_ACCEPT_FORWARDS;
		if (chance(s, 50)) {
			e->flags |= FASTIPC_EP_NAMED;
			e->mode = chance(s, 80) ? 0600 : rnd_below(s, 01000);
			pick_name(s, e->name);
		}
		break;
	}
	case C_CONNECT: {
		struct fastipc_connect *k = arg;

		if (chance(s, 50)) {
			k->flags = FASTIPC_CONNECT_FD;
			k->ep_fd = pick_fd(s);
		} else {
			pick_name(s, k->name);
		}
		break;
	}
	case C_CALL: {
		struct fastipc_call *k = arg;

		k->opcode = rnd(s);
		k->req_len = chance(s, 50) ? rnd_below(s, 64) : pick_len(s);
		k->req_addr = pick_ptr(s, k->req_len, chance(s, 80));
		k->reply_buf = chance(s, 70) ? 0 : rnd_below(s, 3);
		k->reply_offset = rnd_below(s, 4) ? 0 : rnd_below(s, CHUNK + 2);
		k->reply_cap = rnd_below(s, 4) ? CHUNK - k->reply_offset : pick_len(s);
		/* Mostly short enough to run here; sometimes none, in a child. */
		k->timeout_ns = chance(s, 95) ? 1000 + rnd_below(s, 20000000) :
			chance(s, 50) ? 0 : rnd(s);
		break;
	}
	case C_SEND: {
		struct fastipc_send *k = arg;

		k->opcode = rnd(s);
		k->len = chance(s, 50) ? rnd_below(s, 64) : pick_len(s);
		k->addr = pick_ptr(s, k->len, chance(s, 80));
		k->flags = chance(s, 5) ? FASTIPC_SEND_WAIT : 0;
		break;
	}
	case C_SERVE: {
		struct fastipc_serve *k = arg;

		k->flags = FASTIPC_SERVE_RECV | FASTIPC_SERVE_NONBLOCK;
		if (chance(s, 60)) {
			k->flags |= FASTIPC_SERVE_REPLY;
			k->reply_token = pick_token(s);
			k->reply_status = rnd(s);
			k->reply_len = chance(s, 30) ? 0 : pick_len(s);
			k->reply_addr = pick_ptr(s, k->reply_len, chance(s, 85));
			if (chance(s, 20))
				k->flags &= ~FASTIPC_SERVE_RECV;
		}
		if (chance(s, 4))
			k->flags &= ~FASTIPC_SERVE_NONBLOCK;
		break;
	}
	case C_FORWARD: {
		struct fastipc_forward *k = arg;

		k->target_fd = pick_fd(s);
		k->token = pick_token(s);
		k->opcode = rnd(s);
		k->len = pick_len(s);
		k->addr = pick_ptr(s, k->len, chance(s, 80));
		break;
	}
	default:
		break;
	}
}

static const size_t cmd_sizes[C_RANDOM] = {
	sizeof(struct fastipc_version), sizeof(struct fastipc_buf_register),
	sizeof(struct fastipc_buf_unregister), sizeof(struct fastipc_ep_create),
	sizeof(struct fastipc_connect), sizeof(struct fastipc_call),
	sizeof(struct fastipc_send), sizeof(struct fastipc_serve),
	sizeof(struct fastipc_forward),
};

/* A random command that is none of ours: it must get ENOTTY. */
static unsigned long random_cmd(uint64_t *s)
{
	unsigned long cmd;
	unsigned int i;

	for (;;) {
		unsigned int dir = rnd_below(s, 4), nr, size;

		nr = chance(s, 50) ? rnd_below(s, 16) : rnd_below(s, 256);
		size = chance(s, 50) ? cmd_sizes[rnd_below(s, C_RANDOM)] + rnd_below(s, 3) * 8 - 8 :
			rnd_below(s, 1 << 14);
		cmd = _IOC(dir, chance(s, 80) ? FASTIPC_IOCTL_MAGIC : (unsigned int)rnd_below(s, 256),
			   nr, size);
		if (chance(s, 5))
			cmd = (uint32_t)rnd(s);
		for (i = 0; i < C_RANDOM; i++)
			if ((uint32_t)cmd == (uint32_t)cmd_nums[i])
				break;
		if (i == C_RANDOM)
			return cmd;
	}
}

/*
 * Makes a working endpoint and a client of it now and then, so that calls
 * and sends get somewhere and tokens exist to be misused.
 */
static void setup_pair(uint64_t *s)
{
	struct fastipc_buf_register r = { .len = CHUNK };
	struct fastipc_ep_create e = {
		.slot_size = 64 << rnd_below(s, 7), .nslots = 1 + rnd_below(s, 16),
	};
	int ep = open_port(), cl = open_port(), old;
	unsigned int i;
	bool f;

	add(&sh->setups, 1);
	if (ep < 0 || cl < 0)
		goto out;
	f = fail_on();
	r.addr = (uintptr_t)rw + CHUNK * rnd_below(s, RW_LEN / CHUNK);
	if (xioctl(ep, FASTIPC_IOC_BUF_REGISTER, &r))
		goto out_f;
	e.pool_buf = r.id;
	if (chance(s, 30)) {
		e.flags = FASTIPC_EP_NAMED;
		e.mode = 0600;
		snprintf((char *)e.name, FASTIPC_NAME_MAX, "ffz.%u", (unsigned int)rnd_below(s, 4));
	}
	if (xioctl(ep, FASTIPC_IOC_EP_CREATE, &e))
		goto out_f;
	r.addr = (uintptr_t)rw + CHUNK * rnd_below(s, RW_LEN / CHUNK);
	xioctl(cl, FASTIPC_IOC_BUF_REGISTER, &r);
	{
		struct fastipc_connect k = { .flags = FASTIPC_CONNECT_FD, .ep_fd = ep };

		xioctl(cl, FASTIPC_IOC_CONNECT, &k);
	}
	fail_off(f);
	/* dup()s, so the racer can close the originals without the pairs noticing. */
	i = rnd_below(s, NPAIRS);
	old = __atomic_exchange_n(&pair_ep[i], dup(ep), __ATOMIC_RELAXED);
	if (old >= 0)
		close(old);
	old = __atomic_exchange_n(&pair_cl[i], dup(cl), __ATOMIC_RELAXED);
	if (old >= 0)
		close(old);
	set_port(s, ep);
	set_port(s, cl);
	return;
out_f:
	fail_off(f);
out:
	if (ep >= 0)
		close(ep);
	if (cl >= 0)
		close(cl);
}

/* ---- io_uring commands ---- */

/*
 * A few rings shared by the fuzzing threads, each behind a mutex (liburing
 * is not thread-safe). Most are set up with SQE128|CQE32, some without one
 * or both (every fastipc command must then fail with EINVAL), some with a
 * sparse table of registered files. The racer and the fuzzers close them
 * with commands in flight; short-lived threads and child processes submit
 * into them and exit.
 */
#define NRINGS		4
#define NFIXED		8
#define BIG		(IORING_SETUP_SQE128 | IORING_SETUP_CQE32)
#define UD_STRICT	(1ull << 55)	/* an unknown cmd_op on a big ring and a port: ENOTTY */
#define UD_SEQ		((1ull << 40) - 1)

struct fring {
	pthread_mutex_t lock;
	struct io_uring ring;
	unsigned int flags;
	bool up, files;
};

static struct fring rings[NRINGS];
static uint64_t useq;

static const unsigned int ucmd_ops[5] = {
	FASTIPC_URING_CALL, FASTIPC_URING_SEND, FASTIPC_URING_RECV, FASTIPC_URING_REPLY,
	FASTIPC_URING_CANCEL,
};

static const struct field ufields[5][12] = {
	{
		CALL_FIELDS(fastipc_uring_call),
		FLD(fastipc_uring_call, reserved0, F_RES, 0),
		FLD(fastipc_uring_call, tag, F_TOKEN, 0),
		FLD(fastipc_uring_call, reserved[1], F_RES, 0),
	},
	{
		SEND_FIELDS,
		FLD(fastipc_send, reserved, F_RES, 0),
	},
	{
		FLD(fastipc_uring_recv, flags, F_FLAGS, 0),
		FLD(fastipc_uring_recv, msg_buf, F_ID, FASTIPC_MAX_BUFS),
		FLD(fastipc_uring_recv, msg_offset, F_LEN, CHUNK),
		FLD(fastipc_uring_recv, tag, F_TOKEN, 0),
		FLD(fastipc_uring_recv, reserved[0], F_RES, 0),
	},
	{
		FLD(fastipc_uring_reply, flags, F_FLAGS, 0),
		FLD(fastipc_uring_reply, token, F_TOKEN, 0),
		FLD(fastipc_uring_reply, addr, F_PTR, 0),
		FLD(fastipc_uring_reply, len, F_LEN, FASTIPC_MAX_PAYLOAD),
		FLD(fastipc_uring_reply, reserved0, F_RES, 0),
		FLD(fastipc_uring_reply, reserved[1], F_RES, 0),
	},
	{
		FLD(fastipc_uring_cancel, flags, F_FLAGS, FASTIPC_CANCEL_ALL),
		FLD(fastipc_uring_cancel, reserved0, F_RES, 0),
		FLD(fastipc_uring_cancel, tag, F_TOKEN, 0),
		FLD(fastipc_uring_cancel, reserved[0], F_RES, 0),
	},
};

static const size_t ucmd_sizes[5] = {
	sizeof(struct fastipc_uring_call), sizeof(struct fastipc_send),
	sizeof(struct fastipc_uring_recv), sizeof(struct fastipc_uring_reply),
	sizeof(struct fastipc_uring_cancel),
};

static bool ring_init(uint64_t *s, struct io_uring *ring, unsigned int *flags, bool big)
{
	static const unsigned int odd[] = { 0, IORING_SETUP_SQE128, IORING_SETUP_CQE32 };
	struct io_uring_params p = { 0 };

	p.flags = big || chance(s, 75) ? BIG : odd[rnd_below(s, 3)];
	if (chance(s, 20))
		p.flags |= IORING_SETUP_COOP_TASKRUN;
	if (io_uring_queue_init_params(16, ring, &p))
		return false;
	*flags = p.flags;
	add(&sh->rings_opened, 1);
	return true;
}

/* Locks ring @i, setting it up if it is closed; NULL if that failed. */
static struct fring *ring_lock(uint64_t *s, unsigned int i)
{
	struct fring *r = &rings[i];

	pthread_mutex_lock(&r->lock);
	if (!r->up) {
		if (!ring_init(s, &r->ring, &r->flags, false)) {
			pthread_mutex_unlock(&r->lock);
			return NULL;
		}
		r->up = true;
		r->files = false;
		if (chance(s, 40)) {
			int fds[NFIXED];

			memset(fds, 0xff, sizeof(fds));
			r->files = !io_uring_register_files(&r->ring, fds, NFIXED);
		}
	}
	return r;
}

/* Closes ring @r with whatever is in flight in it. */
static void ring_close(struct fring *r)
{
	pthread_mutex_lock(&r->lock);
	if (r->up) {
		io_uring_queue_exit(&r->ring);
		r->up = false;
		add(&sh->rings_closed, 1);
	}
	pthread_mutex_unlock(&r->lock);
}

static void usubmit(struct io_uring *ring)
{
	bool f = fail_on();

	io_uring_submit(ring);
	fail_off(f);
}

/*
 * Queues one command on @ring (set up with @flags): through @fd, or through
 * a slot of its registered files that now holds @fd (or none). Sometimes
 * with IOSQE_ASYNC, sometimes with other SQE fields flipped; never with a
 * NULL @s, for the scenarios that check what the commands do (a flipped
 * IOSQE_CQE_SKIP_SUCCESS would hide a completion, and Debian's 6.12 reads
 * an async command's SQE late: see the uapi documentation).
 */
static bool uprep(uint64_t *s, struct io_uring *ring, unsigned int flags, bool files, int fd,
		  unsigned int cmd_op, const void *arg, enum cmd c, bool strict)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	size_t size = flags & IORING_SETUP_SQE128 ? 128 : 64;

	if (!sqe) {
		usubmit(ring);
		sqe = io_uring_get_sqe(ring);
		if (!sqe)
			return false;
	}
	memset(sqe, 0, size);
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->cmd_op = cmd_op;
	/* The 80-byte command area, or the 16 bytes a 64-byte SQE has. */
	memcpy(sqe->cmd, arg, size - offsetof(struct io_uring_sqe, cmd));
	if (s && files && chance(s, 30)) {
		unsigned int i = rnd_below(s, NFIXED + 2);

		if (i < NFIXED)
			io_uring_register_files_update(ring, i, &fd, 1);
		sqe->fd = i;
		sqe->flags |= IOSQE_FIXED_FILE;
		strict = false;
	}
	if (s && chance(s, 15))
		sqe->flags |= IOSQE_ASYNC;
	if (s && chance(s, 3)) {
		/* flags, ioprio, __pad1, addr, len, uring_cmd_flags, buf_index, personality, file_index */
		static const uint8_t offs[] = { 1, 2, 3, 12, 13, 16, 20, 24, 28, 29, 40, 42, 44, 46 };

		((uint8_t *)sqe)[offs[rnd_below(s, sizeof(offs))]] ^= 1 << rnd_below(s, 8);
		strict = false;
	}
	if ((flags & BIG) != BIG || fd == null_fd)
		strict = false;
	sqe->user_data = ((uint64_t)c << 56) | (strict ? UD_STRICT : 0) |
		(__atomic_add_fetch(&useq, 1, __ATOMIC_RELAXED) & UD_SEQ);
	add(&sh->sqes, 1);
	return true;
}

/* Counts the CQEs that are there, keeps received tokens. */
static unsigned int ring_drain(uint64_t *s, struct io_uring *ring, unsigned int flags)
{
	struct io_uring_cqe *cqe;
	unsigned int n = 0;

	while (!io_uring_peek_cqe(ring, &cqe)) {
		unsigned int c = cqe->user_data >> 56;
		int res = cqe->res;

		n++;
		add(&sh->cqes, 1);
		if (c >= C_U_CALL && c < C_NR)
			count_errno(sh->hist[c], res < 0 ? res : 0);
		if (c == C_U_RECV && res >= 0 && (flags & IORING_SETUP_CQE32))
			push_token(s, cqe->big_cqe[0]);
		if ((cqe->user_data & UD_STRICT) && res != -ENOTTY && res != -EBADF &&
		    res != -EOPNOTSUPP && res != -ENOMEM && res != -ECANCELED &&
		    __atomic_fetch_add(&sh->notty_violations, 1, __ATOMIC_RELAXED) < 10)
			printf(PROG ": FAIL: unknown io_uring cmd_op: %s, not ENOTTY\n",
			       res < 0 ? strerror(-res) : "success");
		io_uring_cqe_seen(ring, cqe);
	}
	return n;
}

/* A cmd_op that is none of ours: an ioctl number, a neighbour, noise. */
static unsigned int urandom_op(uint64_t *s)
{
	unsigned int op, i;

	for (;;) {
		switch (rnd_below(s, 4)) {
		case 0:
			op = _IOC(rnd_below(s, 4), FASTIPC_IOCTL_MAGIC, 0x20 + rnd_below(s, 16),
				  rnd_below(s, 128));
			break;
		case 1:
			op = cmd_nums[rnd_below(s, C_RANDOM)];
			break;
		case 2:
			op = ucmd_ops[rnd_below(s, 5)] ^ (1u << rnd_below(s, 32));
			break;
		default:
			op = rnd(s);
		}
		for (i = 0; i < 5 && op != ucmd_ops[i]; i++)
			;
		if (i == 5)
			return op;
	}
}

static void ubuild(uint64_t *s, enum cmd c, void *arg, bool valid)
{
	switch (c) {
	case C_U_CALL: {
		struct fastipc_uring_call *k = arg;

		k->opcode = rnd(s);
		k->req_len = valid || chance(s, 50) ? rnd_below(s, 256) : pick_len(s);
		k->req_addr = pick_ptr(s, k->req_len, valid || chance(s, 80));
		k->reply_buf = valid || chance(s, 70) ? 0 : rnd_below(s, 3);
		k->reply_offset = valid || rnd_below(s, 4) ? rnd_below(s, 32) * 4096 :
			rnd_below(s, CHUNK + 2);
		k->reply_cap = valid || rnd_below(s, 4) ? CHUNK - k->reply_offset : pick_len(s);
		if (valid && k->reply_cap > 4096)
			k->reply_cap = 4096;
		k->tag = rnd_below(s, 4);
		break;
	}
	case C_U_SEND: {
		struct fastipc_send *k = arg;

		k->opcode = rnd(s);
		k->len = valid || chance(s, 50) ? rnd_below(s, 64) : pick_len(s);
		k->addr = pick_ptr(s, k->len, valid || chance(s, 80));
		/* Refused through io_uring: EINVAL. */
		k->flags = !valid && chance(s, 5) ? FASTIPC_SEND_WAIT : 0;
		break;
	}
	case C_U_RECV: {
		struct fastipc_uring_recv *k = arg;

		k->msg_buf = valid || chance(s, 80) ? 0 : rnd_below(s, 3);
		k->msg_offset = valid || chance(s, 80) ? rnd_below(s, CHUNK / 64) * 64 :
			CHUNK - sizeof(struct fastipc_msg_info) - 1 + rnd_below(s, 3);
		k->tag = rnd_below(s, 4);
		break;
	}
	case C_U_REPLY: {
		struct fastipc_uring_reply *k = arg;

		k->status = rnd(s);
		k->token = pick_token(s);
		k->len = chance(s, 30) ? 0 : valid ? rnd_below(s, 256) : pick_len(s);
		k->addr = pick_ptr(s, k->len, valid || chance(s, 85));
		break;
	}
	case C_U_CANCEL: {
		struct fastipc_uring_cancel *k = arg;

		if (chance(s, 40))
			k->flags = FASTIPC_CANCEL_ALL;
		else
			k->tag = rnd_below(s, 4);
		break;
	}
	default:
		break;
	}
}

/* Where a command of kind @c most likely gets somewhere. */
static int ufd(uint64_t *s, enum cmd c)
{
	int fd = -1;

	if ((c == C_U_CALL || c == C_U_SEND) && chance(s, 60))
		fd = __atomic_load_n(&pair_cl[rnd_below(s, NPAIRS)], __ATOMIC_RELAXED);
	else if ((c == C_U_RECV || c == C_U_REPLY) && chance(s, 60))
		fd = __atomic_load_n(&pair_ep[rnd_below(s, NPAIRS)], __ATOMIC_RELAXED);
	else
		fd = chance(s, 97) ? pick_port(s) : pick_fd(s);
	return fd < 0 ? null_fd : fd;
}

/* One to four commands, plausible then maybe corrupted, on a shared ring. */
static void ucmds(uint64_t *s, bool valid)
{
	struct fring *r = ring_lock(s, rnd_below(s, NRINGS));
	unsigned int n = 1 + rnd_below(s, 4), i;

	if (!r)
		return;
	for (i = 0; i < n; i++) {
		enum cmd c = C_U_CALL + rnd_below(s, valid ? 3 : 6);
		uint8_t arg[80];
		unsigned int op;
		int fd = ufd(s, c);

		memset(arg, 0, sizeof(arg));
		if (c == C_U_RANDOM) {
			op = urandom_op(s);
			for (unsigned int b = 0; b < sizeof(arg); b++)
				arg[b] = chance(s, 70) ? 0 : rnd(s);
		} else {
			ubuild(s, c, arg, valid);
			if (!valid && chance(s, 50))
				corrupt(s, ufields[c - C_U_CALL], arg, ucmd_sizes[c - C_U_CALL]);
			op = ucmd_ops[c - C_U_CALL];
		}
		uprep(s, &r->ring, r->flags, r->files, fd, op, arg, c, c == C_U_RANDOM);
	}
	usubmit(&r->ring);
	ring_drain(s, &r->ring, r->flags);
	pthread_mutex_unlock(&r->lock);
}

/* Waits for @pid: SIGKILL after @kill_ns, a hang if still there 30 s later. */
static bool watch_pid(pid_t pid, uint64_t kill_ns, const char *what, int *status)
{
	uint64_t start = fipc_now_ns();
	bool killed = false;

	for (;;) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return true;
		if (!killed && fipc_now_ns() - start > kill_ns) {
			kill(pid, SIGKILL);
			killed = true;
		}
		if (fipc_now_ns() - start > kill_ns + 30000000000ull) {
			add(&sh->uring_hangs, 1);
			printf(PROG ": FAIL: %s %d did not exit 30 s after SIGKILL\n", what, pid);
			dump_task(PROG, pid, pid);
			return false;
		}
		usleep(500);
	}
}

/* A thread submits plausible calls, sends and receives, then exits with them in flight. */
struct subarg {
	uint64_t seed;
	unsigned int ring;
	pid_t tid;
};

static void *submit_thread(void *p)
{
	struct subarg *a = p;
	struct fring *r;
	unsigned int n, i;

	a->tid = gettid();
	r = ring_lock(&a->seed, a->ring);
	if (r) {
		n = 1 + rnd_below(&a->seed, 6);
		for (i = 0; i < n; i++) {
			enum cmd c = C_U_CALL + rnd_below(&a->seed, 3);
			uint8_t arg[80] = { 0 };

			ubuild(&a->seed, c, arg, true);
			uprep(&a->seed, &r->ring, r->flags, r->files, ufd(&a->seed, c),
			      ucmd_ops[c - C_U_CALL], arg, c, false);
		}
		io_uring_submit(&r->ring);
		ring_drain(&a->seed, &r->ring, r->flags);
		pthread_mutex_unlock(&r->lock);
	}
	usleep(rnd_below(&a->seed, 3000));
	return NULL;
}

static void submit_thread_run(uint64_t *s)
{
	struct subarg *a = calloc(1, sizeof(*a));
	struct timespec ts;
	pthread_t t;

	if (!a)
		return;
	a->seed = rnd(s) | 1;
	a->ring = rnd_below(s, NRINGS);
	add(&sh->sub_threads, 1);
	if (pthread_create(&t, NULL, submit_thread, a)) {
		free(a);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 30;
	if (pthread_timedjoin_np(t, NULL, &ts)) {
		add(&sh->uring_hangs, 1);
		printf(PROG ": FAIL: a thread that submitted io_uring commands did not exit in 30 s\n");
		dump_task(PROG, getpid(), a->tid);
		pthread_detach(t);
		return;		/* @a leaks with the thread */
	}
	free(a);
}

/*
 * A child process submits into a shared ring, which the fuzzer keeps, and
 * exits at once, a little later, or by SIGKILL. Its SQ tail is ours again
 * afterwards.
 */
static void submit_proc_run(uint64_t *s)
{
	unsigned int n = 1 + rnd_below(s, 6), i, mode = rnd_below(s, 3);
	uint64_t cs = rnd(s) | 1, kill_ns = mode == 2 ? rnd_below(s, 10000000) : 5000000000ull;
	struct fring *r = ring_lock(s, rnd_below(s, NRINGS));
	int status;
	pid_t pid;

	if (!r)
		return;
	add(&sh->sub_procs, 1);
	pid = fork();
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (i = 0; i < n; i++) {
			enum cmd c = C_U_CALL + rnd_below(&cs, 3);
			uint8_t arg[80] = { 0 };

			ubuild(&cs, c, arg, chance(&cs, 80));
			uprep(&cs, &r->ring, r->flags, r->files, ufd(&cs, c), ucmd_ops[c - C_U_CALL],
			      arg, c, false);
		}
		io_uring_submit(&r->ring);
		if (mode == 1)
			usleep(rnd_below(&cs, 10000));
		while (mode == 2)
			pause();
		_exit(0);
	}
	if (pid > 0) {
		watch_pid(pid, kill_ns, "io_uring submitter", &status);
		r->ring.sq.sqe_head = r->ring.sq.sqe_tail = *r->ring.sq.ktail;
	}
	ring_drain(s, &r->ring, r->flags);
	pthread_mutex_unlock(&r->lock);
}

/* A port with CHUNK of rw registered (id 0), made an endpoint if @nslots. */
static int uport(uint64_t *s, uint32_t nslots, int connect_to, uint8_t **base)
{
	struct fastipc_buf_register reg = { .len = CHUNK };
	struct fastipc_ep_create e = { .slot_size = 4096, .nslots = nslots };
	struct fastipc_connect k = { .flags = FASTIPC_CONNECT_FD, .ep_fd = connect_to };
	int fd = open_port();
	bool f;

	if (fd < 0)
		return -1;
	reg.addr = (uintptr_t)rw + CHUNK * rnd_below(s, RW_LEN / CHUNK);
	if (base)
		*base = (uint8_t *)(uintptr_t)reg.addr;
	f = fail_on();
	if (xioctl(fd, FASTIPC_IOC_BUF_REGISTER, &reg) ||
	    (nslots && xioctl(fd, FASTIPC_IOC_EP_CREATE, &e)) ||
	    (connect_to >= 0 && xioctl(fd, FASTIPC_IOC_CONNECT, &k))) {
		fail_off(f);
		close(fd);
		return -1;
	}
	fail_off(f);
	return fd;
}

/* Receives one message at endpoint port @ep, if one waits, and answers it. */
static bool answer_one(int ep)
{
	struct fastipc_serve sv = { .flags = FASTIPC_SERVE_RECV | FASTIPC_SERVE_NONBLOCK };

	if (xioctl(ep, FASTIPC_IOC_SERVE, &sv))
		return false;
	sv.flags = FASTIPC_SERVE_REPLY;
	sv.reply_token = sv.token;
	sv.reply_addr = (uintptr_t)rw;
	sv.reply_len = sv.msg_flags & FASTIPC_MSG_ONEWAY ? 0 : sv.len;
	count_errno(sh->hist[C_U_ORPHAN], xioctl(ep, FASTIPC_IOC_SERVE, &sv));
	return true;
}

/*
 * FORWARD of calls whose submitter is gone: a child process submits calls
 * through a ring the fuzzer keeps (more than the endpoint has slots, so some
 * wait for one), the fuzzer receives the first ones, the child exits or is
 * killed and is reaped, and only then are its calls forwarded, replied to
 * (by ioctl or by io_uring) or left held a while. Once every token has
 * been answered, every call must have posted its CQE: cancelled with its
 * submitter, or answered, or failed as it waited for a slot.
 */
static void orphan_forward(uint64_t *s)
{
	int a = uport(s, 1 + rnd_below(s, 3), -1, NULL), b = -1, c = -1, pfd[2] = { -1, -1 };
	unsigned int n = 1 + rnd_below(s, 6), i, ntok = 0, mode = rnd_below(s, 2), flags = 0;
	unsigned int want = 0, seen = 0, ncancel = 0, nepipe = 0;
	uint64_t tok[8], held[8], cs = rnd(s) | 1, end;
	unsigned int nheld = 0;
	struct io_uring ring;
	bool ring_up = false, sync = false;
	int status, ret;
	pid_t pid;
	uint8_t x = 0;

	add(&sh->orphans, 1);
	if (a < 0)
		return;
	b = uport(s, 8, -1, NULL);
	c = uport(s, 0, a, NULL);
	if (b < 0 || c < 0 || pipe2(pfd, O_CLOEXEC) || !ring_init(s, &ring, &flags, true))
		goto out;
	ring_up = true;
	pid = fork();
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (i = 0; i < n; i++) {
			struct fastipc_uring_call k = {
				.opcode = i, .req_addr = (uintptr_t)rw + rnd_below(&cs, SMALL),
				.req_len = rnd_below(&cs, 256), .reply_offset = i * 4096,
				.reply_cap = 4096, .tag = i,
			};

			uprep(NULL, &ring, flags, false, c, FASTIPC_URING_CALL, &k, C_U_CALL, false);
		}
		if (chance(&cs, 30)) {
			struct fastipc_uring_recv k = { .msg_offset = 64 * rnd_below(&cs, 64) };

			uprep(NULL, &ring, flags, false, a, FASTIPC_URING_RECV, &k, C_U_RECV, false);
		}
		/* How many SQEs went in (the calls first): each posts a CQE. */
		ret = io_uring_submit(&ring);
		x = ret < 0 ? 0 : ret;
		if (write(pfd[1], &x, 1) != 1)
			_exit(1);
		while (mode)
			pause();
		_exit(0);
	}
	if (pid < 0)
		goto out;
	{
		struct pollfd pl = { .fd = pfd[0], .events = POLLIN };

		sync = poll(&pl, 1, 5000) == 1 && read(pfd[0], &x, 1) == 1;
	}
	/* Take what got a slot while the submitter still lives. */
	for (i = 0; i < 40 && ntok < n; i++) {
		struct fastipc_serve sv = { .flags = FASTIPC_SERVE_RECV | FASTIPC_SERVE_NONBLOCK };

		if (xioctl(a, FASTIPC_IOC_SERVE, &sv)) {
			usleep(250);
			continue;
		}
		if (!(sv.msg_flags & FASTIPC_MSG_ONEWAY))
			tok[ntok++] = sv.token;
	}
	if (mode)
		kill(pid, SIGKILL);
	if (!watch_pid(pid, 5000000000ull, "io_uring submitter", &status))
		goto out;
	/* The child's submissions are in the ring: its tail is ours again. */
	ring.sq.sqe_head = ring.sq.sqe_tail = *ring.sq.ktail;
	/* Let an RCU grace period free what the reaped child left. */
	if (chance(s, 50))
		usleep(rnd_below(s, 50000));
	if (chance(s, 20)) {
		io_uring_queue_exit(&ring);
		ring_up = false;
	}
	add(&sh->orphan_tokens, ntok);
	for (i = 0; i < ntok; i++) {
		unsigned int r = rnd_below(s, 100);
		bool f;

		f = fail_on();
		if (r < 70) {
			struct fastipc_forward fw = {
				.target_fd = b, .token = tok[i],
				.opcode = 1, .addr = (uintptr_t)rw, .len = rnd_below(s, 256),
			};

			ret = xioctl(a, FASTIPC_IOC_FORWARD, &fw);
		} else if (r < 85 || !ring_up) {
			struct fastipc_serve sv = {
				.flags = FASTIPC_SERVE_REPLY, .reply_token = tok[i],
				.reply_addr = (uintptr_t)rw, .reply_len = rnd_below(s, 64),
			};

			ret = xioctl(a, FASTIPC_IOC_SERVE, &sv);
		} else if (r < 95) {
			struct fastipc_uring_reply k = {
				.token = tok[i], .addr = (uintptr_t)rw, .len = rnd_below(s, 64),
			};

			/* Plain: a flipped field would leave the token held. */
			uprep(NULL, &ring, flags, false, a, FASTIPC_URING_REPLY, &k, C_U_REPLY, false);
			usubmit(&ring);
			ret = 0;
		} else {
			ret = -EALREADY;	/* held, answered below */
		}
		fail_off(f);
		count_errno(sh->hist[C_U_ORPHAN], ret);
		if (ret)
			held[nheld++] = tok[i];
	}
	/* What is still held is answered; the target's server answers what reached it. */
	for (i = 0; i < nheld; i++) {
		struct fastipc_serve sv = {
			.flags = FASTIPC_SERVE_REPLY, .reply_token = held[i],
		};

		count_errno(sh->hist[C_U_ORPHAN], xioctl(a, FASTIPC_IOC_SERVE, &sv));
	}
	for (i = 0; i < 32; i++)
		if (!answer_one(i & 1 ? a : b))
			usleep(200);
	/* Now the stale tokens may go to the fuzzers. */
	for (i = 0; i < ntok; i++)
		if (chance(s, 30))
			push_token(s, tok[i]);
	if (!ring_up || !sync)
		goto out;
	/*
	 * The submitter has exited: every one of its calls that went in must
	 * complete, replied to (through b when forwarded), or ECANCELED when it
	 * still waited for a slot, within a bounded time. Meanwhile a and b go
	 * on being served: a message the child's receive took goes back to a
	 * when the child died first, and a waiting call gets a slot late.
	 */
	want = x < n ? x : n;
	end = fipc_now_ns() + (__atomic_load_n(&fault_phase, __ATOMIC_RELAXED) ? 1 : 5) * 1000000000ull;
	while (seen < want && fipc_now_ns() < end) {
		struct io_uring_cqe *cqe;
		struct __kernel_timespec ts = { .tv_nsec = 5000000 };

		answer_one(a);
		answer_one(b);
		if (io_uring_wait_cqe_timeout(&ring, &cqe, &ts))
			continue;
		if ((cqe->user_data >> 56) == C_U_CALL)
			seen++, ncancel += cqe->res == -ECANCELED, nepipe += cqe->res == -EPIPE;
		/* The child's receive took a call: answer it. */
		if ((cqe->user_data >> 56) == C_U_RECV && cqe->res >= 0) {
			struct fastipc_serve sv = {
				.flags = FASTIPC_SERVE_REPLY, .reply_token = cqe->big_cqe[0],
			};

			count_errno(sh->hist[C_U_ORPHAN], xioctl(a, FASTIPC_IOC_SERVE, &sv));
		}
		count_errno(sh->hist[cqe->user_data >> 56], cqe->res < 0 ? cqe->res : 0);
		add(&sh->cqes, 1);
		io_uring_cqe_seen(&ring, cqe);
	}
	if (seen < want) {
		/* Forwards failed under injected faults leave a call to the fuzzers' tokens. */
		if (__atomic_load_n(&fault_phase, __ATOMIC_RELAXED))
			goto out;
		add(&sh->uring_hangs, 1);
		printf(PROG ": FAIL: %u of %u io_uring calls of an exited submitter never completed (%u ECANCELED, %u EPIPE, %u received, %u forwards or replies failed, mode %u)\n",
		       want - seen, want, ncancel, nepipe, ntok, nheld, mode);
	}
out:
	if (ring_up)
		io_uring_queue_exit(&ring);
	for (i = 0; i < 2; i++)
		if (pfd[i] >= 0)
			close(pfd[i]);
	if (c >= 0)
		close(c);
	if (b >= 0)
		close(b);
	close(a);
}

/*
 * Teardown under a sleeper, in a child process: thread C submits receives
 * on endpoint E and calls to endpoint E3 (one slot: the rest wait for it)
 * through a ring, then sleeps in a blocking SERVE or CALL on E2. Thread B
 * waits until C sleeps, sends M one-way messages to E (the receives take
 * some; C's task work posts their CQEs, interrupting its sleep), answers
 * the CQEs it sees, closes the ring, then wakes C. Nothing may vanish: each
 * of the M messages is received at most once, from E itself or from a CQE
 * that B saw, or is still held by E because its CQE went into the closed
 * ring unread (see ep_conserved()).
 */
struct tdown {
	uint64_t seed;
	struct io_uring ring;
	int e, e2, e3, ce, ce2;
	pid_t ctid;
	bool c_calls, unsure;
	unsigned int sent, via_ring, spin;
	uint64_t ring_tokens[16];
};

#define TD_MSG	0x4d445446u	/* "FTDM" */

struct tdown_got {
	uint8_t seen[16];
	unsigned int bad;
};

/* A one-way message taken from E: corrupt or seen twice is bad. */
static void tdown_got(void *arg, const uint8_t *m, uint32_t len)
{
	struct tdown_got *g = arg;
	const uint32_t *msg = (const void *)m;

	if (len != 8 || msg[0] != TD_MSG || msg[1] >= 16 || g->seen[msg[1]]++)
		g->bad++;
}

static void *tdown_closer(void *p)
{
	struct tdown *t = p;
	struct io_uring_cqe *cqe;
	unsigned int i, m = 1 + rnd_below(&t->seed, 8);
	pid_t kw;

	for (i = 0; i < 4000 && !in_ioctl(t->ctid); i++)
		usleep(500);
	t->unsure = i == 4000;
	for (i = 0; i < m; i++) {
		uint32_t msg[2] = { TD_MSG, i };
		struct fastipc_send sd = { .opcode = 1, .addr = (uintptr_t)msg, .len = sizeof(msg) };

		if (!xioctl(t->ce, FASTIPC_IOC_SEND, &sd))
			t->sent++;
	}
	usleep(rnd_below(&t->seed, 2000));
	/*
	 * C's task work posts the receives' CQEs (it interrupts C's sleep, and
	 * the ioctl restarts), now or later: B answers what it sees here, and
	 * the messages of CQEs posted after its look stay held.
	 */
	while (!io_uring_peek_cqe(&t->ring, &cqe)) {
		if ((cqe->user_data >> 56) == C_U_RECV && cqe->res >= 0 && t->via_ring < 16)
			t->ring_tokens[t->via_ring++] = cqe->big_cqe[0];
		io_uring_cqe_seen(&t->ring, cqe);
	}
	io_uring_queue_exit(&t->ring);
	/* The teardown waits for C's completions; it must not spin meanwhile. */
	t->spin = iou_exit_busy(150, &kw);
	if (t->spin >= 60)
		printf(PROG ": FAIL: iou_exit worker %d ran %u%% of 150 ms after a ring closed under a sleeping submitter\n",
		       kw, t->spin);
	wake_sleeper(t->c_calls, t->e2, t->ce2, 2, rw);
	return NULL;
}

static int tdown_child(uint64_t seed)
{
	struct tdown t = { .seed = seed };
	struct fastipc_call call = { .reply_cap = 4096, .timeout_ns = 20000000000ull };
	unsigned int k, i, nc, flags;
	struct tdown_got tg = { .bad = 0 };
	struct conserve cs = { 0 };
	uint8_t *base = NULL;
	int ce3, ret;
	pthread_t b;
	bool ok;

	/* A private copy of rw since the fork: nobody else writes these pools. */
	t.e = uport(&t.seed, 8, -1, &base);
	t.e2 = uport(&t.seed, 2, -1, NULL);
	t.e3 = uport(&t.seed, 1, -1, NULL);
	t.ce = uport(&t.seed, 0, t.e, NULL);
	t.ce2 = uport(&t.seed, 0, t.e2, NULL);
	ce3 = uport(&t.seed, 0, t.e3, NULL);
	t.ctid = gettid();
	t.c_calls = chance(&t.seed, 50);
	if (t.e < 0 || t.e2 < 0 || t.e3 < 0 || t.ce < 0 || t.ce2 < 0 || ce3 < 0 ||
	    !ring_init(&t.seed, &t.ring, &flags, true))
		return 20;
	k = 1 + rnd_below(&t.seed, 4);
	for (i = 0; i < k; i++) {
		struct fastipc_uring_recv r = { .msg_offset = 64 * 1024 + 64 * i, .tag = 1 };

		uprep(NULL, &t.ring, flags, false, t.e, FASTIPC_URING_RECV, &r, C_U_RECV, false);
	}
	nc = rnd_below(&t.seed, 4);
	for (i = 0; i < nc; i++) {
		struct fastipc_uring_call c = {
			.req_addr = (uintptr_t)rw, .req_len = 64, .reply_offset = i * 4096,
			.reply_cap = 4096, .tag = 2,
		};

		uprep(&t.seed, &t.ring, flags, false, ce3, FASTIPC_URING_CALL, &c, C_U_CALL, false);
	}
	io_uring_submit(&t.ring);
	if (pthread_create(&b, NULL, tdown_closer, &t))
		return 20;
	if (t.c_calls) {
		call.req_addr = (uintptr_t)rw;
		call.req_len = 16;
		ret = xioctl(t.ce2, FASTIPC_IOC_CALL, &call);
	} else {
		struct fastipc_serve sv = { .flags = FASTIPC_SERVE_RECV };

		ret = xioctl(t.e2, FASTIPC_IOC_SERVE, &sv);
	}
	count_errno(sh->hist[t.c_calls ? C_CALL : C_SERVE], ret);
	pthread_join(b, NULL);
	/* Release what B saw; the rest is at E, or held by a CQE nobody reads. */
	for (i = 0; i < t.via_ring; i++) {
		struct fastipc_serve sv = {
			.flags = FASTIPC_SERVE_REPLY, .reply_token = t.ring_tokens[i],
		};

		ret = xioctl(t.e, FASTIPC_IOC_SERVE, &sv);
		if (ret) {
			printf(PROG ": FAIL: teardown: releasing a message a CQE gave: %s\n",
			       strerror(-ret));
			return 23;
		}
	}
	cs.sent = t.sent;
	cs.received = t.via_ring;
	cs.recvs = k - t.via_ring;
	ok = ep_conserved(t.e, base, &cs, tdown_got, &tg);
	/* The calls in flight in the dead ring: answering them must be harmless. */
	for (i = 0; i < 8 && answer_one(t.e3); i++)
		;
	add(&sh->teardown_msgs, t.sent);
	add(&sh->teardown_held, cs.held);
	if (t.unsure)
		add(&sh->teardown_unsure, 1);
	if (!ok || tg.bad) {
		add(&sh->lost, 1);
		if (cs.err != -EAGAIN)
			printf(PROG ": FAIL: teardown: draining E, or its fdinfo: %s\n", strerror(-cs.err));
		else
			printf(PROG ": FAIL: of %u one-way messages sent to an endpoint whose receives' ring closed under a sleeping %s, %u received (%u from CQEs seen before the close, %u corrupt or twice), %u held (by %u receives whose CQEs went unread), %u queued\n",
			       cs.sent, t.c_calls ? "CALL" : "SERVE", cs.received, t.via_ring, tg.bad,
			       cs.held, cs.recvs, cs.queued);
		return 21;
	}
	return t.spin >= 60 ? 22 : 0;
}

static void teardown_sleeper(uint64_t *s)
{
	uint64_t seed = rnd(s) | 1;
	int status;
	pid_t pid;

	add(&sh->teardowns, 1);
	pid = fork();
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fail_fd = -1;	/* the forking thread's: not ours */
		_exit(tdown_child(seed));
	}
	if (pid < 0 || !watch_pid(pid, 20000000000ull, "ring teardown child", &status))
		return;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 20)
		add(&sh->teardown_skipped, 1);	/* no ports or ring: allocations failed */
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 22)
		add(&sh->spins, 1);
	else if (!WIFEXITED(status) || (WEXITSTATUS(status) && WEXITSTATUS(status) != 21)) {
		add(&sh->uring_hangs, 1);
		printf(PROG ": FAIL: ring teardown child %s %d\n",
		       WIFSIGNALED(status) ? "died of signal" : "exited with",
		       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	}
}

static void fuzz_uring(uint64_t *s)
{
	unsigned int r = rnd_below(s, 100);

	if (r < 5)
		ring_close(&rings[rnd_below(s, NRINGS)]);
	else if (r < 11)
		submit_thread_run(s);
	else if (r < 17)
		submit_proc_run(s);
	else if (r < 23)
		orphan_forward(s);
	else if (r < 26)
		teardown_sleeper(s);
	else
		ucmds(s, chance(s, 30));
}

static void fuzz_one(uint64_t *s, uint8_t *ro_page)
{
	union {
		struct fastipc_version v;
		struct fastipc_buf_register r;
		struct fastipc_buf_unregister u;
		struct fastipc_ep_create e;
		struct fastipc_connect k;
		struct fastipc_call c;
		struct fastipc_send sd;
		struct fastipc_serve sv;
		struct fastipc_forward fw;
		uint8_t raw[256];
	} arg;
	unsigned int r = rnd_below(s, 100);
	enum cmd c;
	unsigned long cmd;
	int fd, ret;

	if (r < 6) {
		setup_pair(s);
		return;
	}
	if (r < 9) {
		int nfd = open_port();

		if (nfd >= 0)
			set_port(s, nfd);
		return;
	}
	if (r < 11) {
		set_port(s, -1);
		return;
	}
	if (r < 33) {
		fuzz_uring(s);
		return;
	}
	static const uint8_t weights[C_RANDOM + 1] = { 2, 12, 6, 12, 12, 14, 12, 16, 8, 6 };
	unsigned int w = rnd_below(s, 100);

	for (c = 0; c < C_RANDOM && w >= weights[c]; c++)
		w -= weights[c];
	fd = chance(s, 97) ? pick_port(s) : pick_fd(s);
	if ((c == C_CALL || c == C_SEND) && chance(s, 60))
		fd = __atomic_load_n(&pair_cl[rnd_below(s, NPAIRS)], __ATOMIC_RELAXED);
	if (fd < 0)
		fd = null_fd;
	memset(&arg, 0, sizeof(arg));
	if (c == C_RANDOM) {
		cmd = random_cmd(s);
		for (r = 0; r < sizeof(arg.raw); r++)
			arg.raw[r] = chance(s, 70) ? 0 : rnd(s);
		ret = do_ioctl(c, fd, cmd, &arg, sizeof(arg.raw), s, ro_page);
		count_errno(sh->hist[c], ret);
		/* Only our own fds promise ENOTTY; the others are not fastipc. */
		if (ret != -ENOTTY && ret != -EBADF && fd != null_fd &&
		    __atomic_fetch_add(&sh->notty_violations, 1, __ATOMIC_RELAXED) < 10)
			printf(PROG ": FAIL: unknown command %#lx on fd %d: %s, not ENOTTY\n", cmd, fd,
			       ret ? strerror(-ret) : "success");
		return;
	}
	build(s, c, &arg);
	if (chance(s, 50))
		corrupt(s, fields[c], arg.raw, cmd_sizes[c]);
	ret = do_ioctl(c, fd, cmd_nums[c], &arg, cmd_sizes[c], s, ro_page);
	count_errno(sh->hist[c], ret);
	if (!ret && c == C_SERVE && (arg.sv.flags & FASTIPC_SERVE_RECV))
		push_token(s, arg.sv.token);
}

/* ---- threads ---- */

static pthread_barrier_t start_barrier;

static void *fuzz_thread(void *arg)
{
	uint64_t s = o.seed ^ ((uintptr_t)arg * 0x9e3779b97f4a7c15ull) ^ 1;
	uint8_t *ro_page;
	uint64_t i;

	/* Two pages for misplaced arguments, then a guard page. */
	ro_page = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ro_page == MAP_FAILED)
		exit(1);
	mprotect(ro_page + 2 * PAGE, PAGE, PROT_NONE);
	fail_open();
	pthread_barrier_wait(&start_barrier);
	while ((i = __atomic_fetch_add(&sh->iter, 1, __ATOMIC_RELAXED)) < o.iterations) {
		if (o.fail_alloc && __atomic_load_n(&fault_phase, __ATOMIC_RELAXED))
			add(&sh->fault_iters, 1);
		fuzz_one(&s, ro_page);
		add(&sh->done, 1);
	}
	close(fail_fd);
	return NULL;
}

/* Closes and replaces fds under the fuzzers' feet, and remaps memory. */
static void *race_thread(void *arg)
{
	uint64_t s = o.seed ^ 0x5555;
	int fd;

	(void)arg;
	fail_open();
	pthread_barrier_wait(&start_barrier);
	while (__atomic_load_n(&racing, __ATOMIC_RELAXED)) {
		usleep(rnd_below(&s, 2000));
		switch (rnd_below(&s, 5)) {
		case 0:
			set_port(&s, -1);
			break;
		case 4:
			/* A ring goes with its calls and receives in flight. */
			if (chance(&s, 20))
				ring_close(&rings[rnd_below(&s, NRINGS)]);
			break;
		case 1: {
			/* dup2 swaps the file under an fd number in use right now. */
			int *slot = &ports[rnd_below(&s, NPORTS)];
			int old = __atomic_load_n(slot, __ATOMIC_RELAXED);

			fd = open_port();
			if (fd >= 0 && old >= 0)
				dup2(fd, old);
			if (fd >= 0)
				close(fd);
			break;
		}
		case 2:
			/* Registered pages stay pinned when the mapping goes. */
			mmap(vol, SMALL, PROT_READ | PROT_WRITE,
			     MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			memset(vol, 0x5a, SMALL);
			add(&sh->remaps, 1);
			break;
		case 3:
			mprotect(vol, SMALL, chance(&s, 50) ? PROT_NONE : PROT_READ);
			break;
		}
		add(&sh->races, 1);
	}
	close(fail_fd);
	return NULL;
}

/*
 * Serves whatever arrives on any port, mostly properly, so that calls
 * complete, replies and forwards race with the callers giving up, and
 * tokens exist for the fuzzers to misuse.
 */
static void *responder_thread(void *arg)
{
	uint64_t s = o.seed ^ 0xabcdef;
	struct fastipc_serve sv;
	int fd, ret;
	bool f;

	(void)arg;
	fail_open();
	pthread_barrier_wait(&start_barrier);
	while (__atomic_load_n(&racing, __ATOMIC_RELAXED)) {
		fd = chance(&s, 80) ? __atomic_load_n(&pair_ep[rnd_below(&s, NPAIRS)], __ATOMIC_RELAXED) :
			pick_port(&s);
		if (fd < 0) {
			usleep(100);
			continue;
		}
		memset(&sv, 0, sizeof(sv));
		sv.flags = FASTIPC_SERVE_RECV | FASTIPC_SERVE_NONBLOCK;
		f = fail_on();
		ret = xioctl(fd, FASTIPC_IOC_SERVE, &sv);
		fail_off(f);
		if (ret) {
			/* Idle polling is not worth counting, nor spinning on. */
			if (ret == -EAGAIN || ret == -EBADFD)
				usleep(200);
			continue;
		}
		count_errno(sh->hist[C_SERVE], ret);
		push_token(&s, sv.token);
		if (chance(&s, 15))
			continue;	/* held, for the fuzzers to find */
		f = fail_on();
		if (chance(&s, 15) && !(sv.msg_flags & FASTIPC_MSG_ONEWAY)) {
			struct fastipc_forward fw = {
				.target_fd = pick_port(&s), .token = sv.token,
				.addr = (uintptr_t)rw, .len = rnd_below(&s, 256),
			};

			ret = xioctl(fd, FASTIPC_IOC_FORWARD, &fw);
			count_errno(sh->hist[C_FORWARD], ret);
		} else {
			uint64_t token = sv.token;
			bool oneway = sv.msg_flags & FASTIPC_MSG_ONEWAY;

			memset(&sv, 0, sizeof(sv));
			sv.flags = FASTIPC_SERVE_REPLY;
			sv.reply_token = token;
			sv.reply_len = oneway ? 0 : rnd_below(&s, 512);
			sv.reply_addr = (uintptr_t)rw + rnd_below(&s, RW_LEN - 512);
			ret = xioctl(fd, FASTIPC_IOC_SERVE, &sv);
			count_errno(sh->hist[C_SERVE], ret);
		}
		fail_off(f);
	}
	close(fail_fd);
	return NULL;
}

static void *map(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror(PROG ": mmap");
		exit(1);
	}
	return p;
}

/* After everything, a plain call must still work end to end. */
static void *sanity_server(void *arg)
{
	int fd = *(int *)arg;
	struct fastipc_serve sv = { .flags = FASTIPC_SERVE_RECV };

	if (xioctl(fd, FASTIPC_IOC_SERVE, &sv))
		return NULL;
	sv.flags = FASTIPC_SERVE_REPLY;
	sv.reply_token = sv.token;
	sv.reply_addr = (uintptr_t)rw + sv.offset;
	sv.reply_len = sv.len;
	sv.reply_status = 7;
	xioctl(fd, FASTIPC_IOC_SERVE, &sv);
	return NULL;
}

static bool sanity(void)
{
	struct fastipc_buf_register r = { .addr = (uintptr_t)rw, .len = CHUNK };
	struct fastipc_buf_register r2 = { .addr = (uintptr_t)rw + CHUNK, .len = CHUNK };
	struct fastipc_ep_create e = { .slot_size = 4096, .nslots = 4 };
	struct fastipc_call c = { .req_len = 1000, .reply_cap = CHUNK, .timeout_ns = 10000000000ull };
	int ep = open("/dev/fastipc", O_RDWR | O_CLOEXEC), cl = open("/dev/fastipc", O_RDWR);
	struct fastipc_connect k = { .flags = FASTIPC_CONNECT_FD, .ep_fd = ep };
	pthread_t t;
	bool ok;

	c.req_addr = (uintptr_t)rw + 2 * CHUNK;
	memset(rw + 2 * CHUNK, 0x42, 1000);
	if (xioctl(ep, FASTIPC_IOC_BUF_REGISTER, &r) || xioctl(ep, FASTIPC_IOC_EP_CREATE, &e) ||
	    xioctl(cl, FASTIPC_IOC_BUF_REGISTER, &r2) || xioctl(cl, FASTIPC_IOC_CONNECT, &k))
		return false;
	c.reply_buf = r2.id;
	pthread_create(&t, NULL, sanity_server, &ep);
	ok = !xioctl(cl, FASTIPC_IOC_CALL, &c) && c.status == 7 && c.reply_len == 1000 &&
	     !memcmp(rw + CHUNK, rw + 2 * CHUNK, 1000);
	pthread_join(t, NULL);
	close(cl);
	close(ep);
	return ok;
}

static int worker(void)
{
	pthread_t t[NTHREADS + 2];
	uint64_t third = o.iterations * 3 / 10, end = o.iterations * 8 / 10;
	int memfd;
	unsigned int i;

	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	memfd = memfd_create("fastipc-fuzz", MFD_CLOEXEC);
	if (null_fd < 0 || memfd < 0 || ftruncate(memfd, SMALL))
		return 1;
	for (i = 0; i < NPORTS; i++)
		ports[i] = -1;
	for (i = 0; i < NPAIRS; i++)
		pair_ep[i] = pair_cl[i] = -1;
	for (i = 0; i < NRINGS; i++)
		pthread_mutex_init(&rings[i].lock, NULL);
	rw = map(RW_LEN, PROT_READ | PROT_WRITE);
	for (i = 0; i < RW_LEN; i++)
		rw[i] = (uint8_t)(i * 7 + 3);
	ro = map(SMALL, PROT_READ);
	none = map(SMALL, PROT_NONE);
	vol = map(SMALL, PROT_READ | PROT_WRITE);
	/*
	 * Below mmap_min_addr: an address that nothing can map later, unlike
	 * a hole left by munmap(), which the next mmap() may fill.
	 */
	unmapped = (uint8_t *)(uintptr_t)PAGE;
	shm = mmap(NULL, SMALL, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (shm == MAP_FAILED)
		return 1;
	signal(SIGPIPE, SIG_IGN);

	racing = 1;
	pthread_barrier_init(&start_barrier, NULL, NTHREADS + 3);
	for (i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, fuzz_thread, (void *)(uintptr_t)(i + 1));
	pthread_create(&t[NTHREADS], NULL, race_thread, NULL);
	pthread_create(&t[NTHREADS + 1], NULL, responder_thread, NULL);
	pthread_barrier_wait(&start_barrier);

	if (o.fail_alloc) {
		while (__atomic_load_n(&sh->iter, __ATOMIC_RELAXED) < third)
			usleep(1000);
		fault_start();
		while (__atomic_load_n(&sh->iter, __ATOMIC_RELAXED) < end)
			usleep(1000);
		fault_stop();
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	racing = 0;
	pthread_join(t[NTHREADS], NULL);
	pthread_join(t[NTHREADS + 1], NULL);
	for (i = 0; i < NRINGS; i++)
		ring_close(&rings[i]);
	for (i = 0; i < NPORTS; i++)
		if (ports[i] >= 0)
			close(ports[i]);
	for (i = 0; i < NPAIRS; i++) {
		if (pair_ep[i] >= 0)
			close(pair_ep[i]);
		if (pair_cl[i] >= 0)
			close(pair_cl[i]);
	}
	if (sanity())
		sh->sanity_ok = 1;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: " PROG " [--iterations N] [--seed N] [--fail-alloc] [--probability P]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "iterations", 1, NULL, 'i' }, { "seed", 1, NULL, 's' },
		{ "fail-alloc", 0, NULL, 'f' }, { "probability", 1, NULL, 'p' }, { }
	};
	uint64_t last = 0, last_ns, start_ns, total = 0;
	int c, status, live, fail = 0;
	pid_t pid;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'i': o.iterations = strtoull(optarg, NULL, 0); break;
		case 's': o.seed = strtoull(optarg, NULL, 0); break;
		case 'f': o.fail_alloc = true; break;
		case 'p': o.probability = atoi(optarg); break;
		default: usage();
		}
	}
	if (optind != argc || !o.iterations || o.probability > 100)
		usage();
	if (!o.seed)
		o.seed = fipc_now_ns() ^ getpid();
	setvbuf(stdout, NULL, _IOLBF, 0);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	printf(PROG ": %" PRIu64 " iterations, %d threads, a responder and a racer, seed %" PRIu64 "%s\n",
	       o.iterations, NTHREADS, o.seed,
	       o.fail_alloc ? ", FAILSLAB and FAIL_PAGE_ALLOC for iterations 30%-80%" : "");

	/* The fuzzing runs in a child so that a stuck one can be diagnosed. */
	pid = fork();
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(worker());
	}
	start_ns = last_ns = fipc_now_ns();
	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		if (sh->done != last) {
			last = sh->done;
			last_ns = fipc_now_ns();
		} else if (fipc_now_ns() - last_ns > 90000000000ull) {
			char path[64];
			struct dirent *d;
			DIR *dir;

			printf(PROG ": FAIL: no progress for 90 s at iteration %" PRIu64 "\n", last);
			snprintf(path, sizeof(path), "/proc/%d/task", pid);
			dir = opendir(path);
			while (dir && (d = readdir(dir)))
				if (d->d_name[0] != '.')
					dump_task(PROG, pid, atoi(d->d_name));
			if (dir)
				closedir(dir);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fail = 1;
			break;
		}
		usleep(100000);
	}
	if (o.fail_alloc && sh->fault_iters)
		/* Leave fault injection off whatever happened to the worker. */
		write_str(FAILSLAB "probability", "0"), write_str(FAILPAGE "probability", "0");
	if (!fail && !(WIFEXITED(status) && !WEXITSTATUS(status))) {
		printf(PROG ": FAIL: worker %s %d\n", WIFSIGNALED(status) ? "died of signal" : "exited with",
		       WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		fail = 1;
	}
	live = check_live_zero(PROG, 5000);

	printf(PROG ": errno per command:\n");
	for (c = 0; c < C_NR; c++) {
		for (int e = 0; e < NERRNO; e++)
			total += sh->hist[c][e];
		print_hist(stdout, cmd_names[c], sh->hist[c]);
	}
	printf(PROG ": %" PRIu64 " iterations in %" PRIu64 " s (%" PRIu64 " ioctls, %" PRIu64 " in watched children, %" PRIu64 " pair set-ups, %" PRIu64 " races, %" PRIu64 " remaps)\n",
	       sh->done, (fipc_now_ns() - start_ns) / 1000000000, total, sh->children, sh->setups,
	       sh->races, sh->remaps);
	if (o.fail_alloc)
		printf(PROG ": fault injection: %" PRIu64 " iterations, %" PRIu64 " slab and %" PRIu64 " page allocations failed\n",
		       sh->fault_iters, sh->injected_slab, sh->injected_page);
	printf(PROG ": io_uring: %" PRIu64 " SQEs, %" PRIu64 " CQEs seen, rings %" PRIu64 " opened %" PRIu64 " closed; %" PRIu64 " submitter threads and %" PRIu64 " processes exited with commands in flight; %" PRIu64 " calls of exited submitters (%" PRIu64 " tokens) forwarded/replied; %" PRIu64 " rings closed under a sleeping submitter (%" PRIu64 " skipped, %" PRIu64 " messages, %" PRIu64 " left held by CQEs nobody read, %" PRIu64 " with the sleeper not seen asleep)\n",
	       sh->sqes, sh->cqes, sh->rings_opened, sh->rings_closed, sh->sub_threads,
	       sh->sub_procs, sh->orphans, sh->orphan_tokens, sh->teardowns, sh->teardown_skipped,
	       sh->teardown_msgs, sh->teardown_held, sh->teardown_unsure);
	{
		pid_t kw;
		unsigned int busy = iou_exit_busy(300, &kw);

		if (busy >= 60) {
			printf(PROG ": FAIL: iou_exit worker %d still runs %u%% of the time after the fuzzer exited\n",
			       kw, busy);
			add(&sh->spins, 1);
		}
	}
	printf(PROG ": io_uring checks: hung %" PRIu64 ", lost messages %" PRIu64 ", spinning iou_exit %" PRIu64 "\n",
	       sh->uring_hangs, sh->lost, sh->spins);
	printf(PROG ": checks: hung %" PRIu64 ", ENOTTY violations %" PRIu64 ", sanity call %s, live objects %s\n",
	       sh->child_hangs, sh->notty_violations, sh->sanity_ok ? "ok" : "FAILED",
	       live > 0 ? "0" : live < 0 ? "unchecked" : "LEFT");
	if (fail || sh->child_hangs || sh->notty_violations || !sh->sanity_ok || !live ||
	    sh->uring_hangs || sh->lost || sh->spins ||
	    sh->done < o.iterations) {
		printf(PROG ": FAIL\n");
		return 1;
	}
	printf(PROG ": ok: %" PRIu64 " iterations, %" PRIu64 " ioctls, %" PRIu64 " allocation failures injected, no hang, no object left\n",
	       sh->done, total, sh->injected_slab + sh->injected_page);
	return 0;
}
