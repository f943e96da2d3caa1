/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the selftests and the bench share, one copy of each: the raw ioctl
 * wrapper, the clock, and the payload pattern messages are filled with and
 * checked against. Header-only and portable: the selftests also build as
 * 32-bit programs.
 */
#ifndef FASTIPC_COMMON_H
#define FASTIPC_COMMON_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

/* 0 or -errno, never errno itself. */
static inline int fipc_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

/* CLOCK_MONOTONIC in nanoseconds: instructions on the icount board. */
static inline uint64_t fipc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * The payload pattern of @seed: eight bytes per step, word i being
 * key(seed) ^ (i + 1) * FIPC_PATTERN_STEP, so every word depends on its
 * place. The key puts seed % 251 + 1 in every byte and XORs a hash of
 * seed / 251 into each byte's low seven bits: consecutive seeds differ in
 * every byte (within a run of 251 the first part changes each byte; across
 * one it flips each byte's top bit, which the hash never touches), and
 * seeds further apart through the hash.
 */
#define FIPC_PATTERN_STEP	0x9e3779b97f4a7c15ull

static inline uint64_t fipc_pattern_key(uint64_t seed)
{
	uint64_t h = seed / 251 + FIPC_PATTERN_STEP;

	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
	h ^= h >> 31;
	return (seed % 251 + 1) * 0x0101010101010101ull ^ (h & 0x7f7f7f7f7f7f7f7full);
}

static inline void fipc_put_word(uint8_t *p, uint64_t w)
{
	memcpy(p, &w, 8);
}

/*
 * Fills @buf with the pattern of @seed; fipc_check() verifies it. Four words
 * a step, which the compiler turns into vector stores: the bench fills
 * every request, megabytes of them too.
 */
static inline void fipc_fill(void *buf, size_t len, uint64_t seed)
{
	const uint64_t k = FIPC_PATTERN_STEP;
	uint64_t key = fipc_pattern_key(seed), pos = 0, w;
	uint8_t *p = buf;
	size_t i = 0;

	for (; i + 32 <= len; i += 32, pos += 4 * k) {
		fipc_put_word(p + i, key ^ (pos + k));
		fipc_put_word(p + i + 8, key ^ (pos + 2 * k));
		fipc_put_word(p + i + 16, key ^ (pos + 3 * k));
		fipc_put_word(p + i + 24, key ^ (pos + 4 * k));
	}
	for (; i + 8 <= len; i += 8) {
		pos += k;
		fipc_put_word(p + i, key ^ pos);
	}
	if (i < len) {
		w = key ^ (pos + k);
		memcpy(p + i, &w, len - i);
	}
}

static inline bool fipc_check(const void *buf, size_t len, uint64_t seed)
{
	uint64_t key = fipc_pattern_key(seed), pos = 0, w;
	const uint8_t *p = buf;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		pos += FIPC_PATTERN_STEP;
		w = key ^ pos;
		if (memcmp(p + i, &w, 8))
			return false;
	}
	w = key ^ (pos + FIPC_PATTERN_STEP);
	return i == len || !memcmp(p + i, &w, len - i);
}

#endif /* FASTIPC_COMMON_H */
