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
	   C_SERVE, C_FORWARD, C_RANDOM, C_NR };

static const char * const cmd_names[C_NR] = {
	"VERSION", "BUF_REG", "BUF_UNREG", "EP_CREATE", "CONNECT", "CALL", "SEND", "SERVE",
	"FORWARD", "random",
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
		FLD(fastipc_ep_create, reserved0, F_RES, 0),
		FLD(fastipc_ep_create, reserved[1], F_RES, 0),
	},
	[C_CONNECT] = {
		FLD(fastipc_connect, flags, F_FLAGS, FASTIPC_CONNECT_ALL),
		FLD(fastipc_connect, ep_fd, F_FD, 0),
		FLD(fastipc_connect, reserved[0], F_RES, 0),
	},
	[C_CALL] = {
		FLD(fastipc_call, flags, F_FLAGS, 0),
		FLD(fastipc_call, req_addr, F_PTR, 0),
		FLD(fastipc_call, req_len, F_LEN, FASTIPC_MAX_PAYLOAD),
		FLD(fastipc_call, reply_buf, F_ID, FASTIPC_MAX_BUFS),
		FLD(fastipc_call, reply_offset, F_LEN, CHUNK),
		FLD(fastipc_call, reply_cap, F_LEN, FASTIPC_MAX_PAYLOAD),
		FLD(fastipc_call, reserved0, F_RES, 0),
		FLD(fastipc_call, reserved[0], F_RES, 0),
	},
	[C_SEND] = {
		FLD(fastipc_send, flags, F_FLAGS, FASTIPC_SEND_ALL),
		FLD(fastipc_send, addr, F_PTR, 0),
		FLD(fastipc_send, len, F_LEN, FASTIPC_MAX_PAYLOAD),
		FLD(fastipc_send, reserved0, F_RES, 0),
		FLD(fastipc_send, reserved[1], F_RES, 0),
	},
	[C_SERVE] = {
		FLD(fastipc_serve, flags, F_FLAGS, FASTIPC_SERVE_ALL),
		FLD(fastipc_serve, reply_token, F_TOKEN, 0),
		FLD(fastipc_serve, reply_addr, F_PTR, 0),
		FLD(fastipc_serve, reply_len, F_LEN, FASTIPC_MAX_PAYLOAD),
		FLD(fastipc_serve, reserved0, F_RES, 0),
		FLD(fastipc_serve, reserved[0], F_RES, 0),
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

static void corrupt(uint64_t *s, enum cmd c, uint8_t *arg, size_t size)
{
	unsigned int n = 1 + rnd_below(s, 3), nf, i;
	const struct field *f;

	for (nf = 0; nf < 12 && fields[c][nf].size; nf++)
		;
	while (n--) {
		if (!nf || chance(s, 10)) {
			/* Blind: flip a bit anywhere in the struct. */
			arg[rnd_below(s, size)] ^= 1 << rnd_below(s, 8);
			continue;
		}
		f = &fields[c][rnd_below(s, nf)];
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
	start = now_ns();
	for (;;) {
		ret = waitpid(pid, &status, WNOHANG);
		if (ret == pid)
			break;
		/* No POSIX timers on the debug kernel: the parent is the alarm. */
		if (now_ns() - start > alarm_ns)
			kill(pid, SIGALRM);
		if (now_ns() - start > 2000000000ull)
			kill(pid, SIGKILL);
		if (now_ns() - start > 30000000000ull) {
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
		if (chance(s, 50)) {
			e->flags = FASTIPC_EP_NAMED;
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
	static const uint8_t weights[C_NR] = { 2, 12, 6, 12, 12, 14, 12, 16, 8, 6 };
	unsigned int w = rnd_below(s, 100);

	for (c = 0; c < C_NR - 1 && w >= weights[c]; c++)
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
		corrupt(s, c, arg.raw, cmd_sizes[c]);
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
		switch (rnd_below(&s, 4)) {
		case 0:
			set_port(&s, -1);
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
		default:
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
		o.seed = now_ns() ^ getpid();
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
	start_ns = last_ns = now_ns();
	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		if (sh->done != last) {
			last = sh->done;
			last_ns = now_ns();
		} else if (now_ns() - last_ns > 90000000000ull) {
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
	       sh->done, (now_ns() - start_ns) / 1000000000, total, sh->children, sh->setups,
	       sh->races, sh->remaps);
	if (o.fail_alloc)
		printf(PROG ": fault injection: %" PRIu64 " iterations, %" PRIu64 " slab and %" PRIu64 " page allocations failed\n",
		       sh->fault_iters, sh->injected_slab, sh->injected_page);
	printf(PROG ": checks: hung %" PRIu64 ", ENOTTY violations %" PRIu64 ", sanity call %s, live objects %s\n",
	       sh->child_hangs, sh->notty_violations, sh->sanity_ok ? "ok" : "FAILED",
	       live > 0 ? "0" : live < 0 ? "unchecked" : "LEFT");
	if (fail || sh->child_hangs || sh->notty_violations || !sh->sanity_ok || !live ||
	    sh->done < o.iterations) {
		printf(PROG ": FAIL\n");
		return 1;
	}
	printf(PROG ": ok: %" PRIu64 " iterations, %" PRIu64 " ioctls, %" PRIu64 " allocation failures injected, no hang, no object left\n",
	       sh->done, total, sh->injected_slab + sh->injected_page);
	return 0;
}
