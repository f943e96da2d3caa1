// SPDX-License-Identifier: GPL-2.0
/*
 * The compare suite: the same messages through fastipc and its peers (pipes,
 * sockets, shared memory, the library's short circuit), using the bench's own
 * mechanisms. Each must deliver every message byte-exact and in order; each
 * one's mean round trip is printed as a diagnostic, never asserted: speed
 * belongs to the bench.
 */
#include "../bench/bench.h"

#include <string.h>

#include "kselftest_harness.h"

#define MAX_PAYLOAD	65536
#define ROUNDS		40

static const uint32_t sizes[] = { 0, 1, 64, 4096, MAX_PAYLOAD };

FIXTURE(peer) {
	uint8_t *buf;		/* BENCH_HEADROOM, then the request */
	bool started;
};

FIXTURE_VARIANT(peer) {
	struct mech *mech;
};

FIXTURE_VARIANT_ADD(peer, fastipc) { .mech = &mech_fastipc };
FIXTURE_VARIANT_ADD(peer, short_circuit) { .mech = &mech_short_circuit };
FIXTURE_VARIANT_ADD(peer, pipe) { .mech = &mech_pipe };
FIXTURE_VARIANT_ADD(peer, unix_stream) { .mech = &mech_unix_stream };
FIXTURE_VARIANT_ADD(peer, unix_seqpacket) { .mech = &mech_unix_seqpacket };
FIXTURE_VARIANT_ADD(peer, shm_futex) { .mech = &mech_shm_futex };
FIXTURE_VARIANT_ADD(peer, shm_eventfd) { .mech = &mech_shm_eventfd };

FIXTURE_SETUP(peer)
{
	const struct bench_params p = {
		.client_cpu = 0, .server_cpu = 0, .same_cpu = true,
		.max_payload = MAX_PAYLOAD, .max_chunk = MAX_PAYLOAD,
	};

	self->buf = bench_map(BENCH_HEADROOM + MAX_PAYLOAD, false);
	ASSERT_NE(NULL, self->buf);
	ASSERT_EQ(0, variant->mech->start(variant->mech, &p))
		TH_LOG("%s: %s", variant->mech->name, variant->mech->skip);
	self->started = true;
}

FIXTURE_TEARDOWN(peer)
{
	struct bench_call quit = { .op = BENCH_QUIT, .req = self->buf + BENCH_HEADROOM };
	struct mech *m = variant->mech;

	if (!self->started)
		return;
	/* A clean exit on request proves the server survived every message. */
	m->quit = !m->call(m, &quit) && quit.status == BENCH_QUIT_STATUS;
	EXPECT_TRUE(m->quit || m->in_process);
	EXPECT_EQ(0, m->stop(m));
	m->quit = false;
}

TEST_F_TIMEOUT(peer, echo_is_byte_exact_and_in_order, 120)
{
	uint8_t *req = self->buf + BENCH_HEADROOM;
	uint64_t seq = 1;
	unsigned int s, i;

	for (s = 0; s < ARRAY_SIZE(sizes); s++) {
		uint64_t start = fipc_now_ns();

		for (i = 0; i < ROUNDS; i++, seq++) {
			struct bench_call c = { .op = BENCH_ECHO, .len = sizes[s], .req = req };

			/* Every byte of every message is new: a stale or reordered reply shows. */
			fipc_fill(req, sizes[s], seq);
			ASSERT_EQ(0, variant->mech->call(variant->mech, &c));
			ASSERT_EQ(sizes[s], c.reply_len);
			ASSERT_EQ(0, memcmp(c.reply, req, sizes[s]))
				TH_LOG("%s: %u bytes, message %llu", variant->mech->name,
				       sizes[s], (unsigned long long)seq);
		}
		ksft_print_msg("%s echo %u bytes: %.1f us per round trip (diagnostic)\n",
			       variant->mech->name, sizes[s],
			       (fipc_now_ns() - start) / ROUNDS / 1e3);
	}
}

TEST_F_TIMEOUT(peer, oneway_status_matches_every_request, 120)
{
	uint8_t *req = self->buf + BENCH_HEADROOM;
	uint64_t seq = 1;
	unsigned int s, i;

	for (s = 0; s < ARRAY_SIZE(sizes); s++) {
		for (i = 0; i < ROUNDS; i++, seq++) {
			struct bench_call c = { .op = BENCH_ONEWAY, .len = sizes[s], .req = req };

			fipc_fill(req, sizes[s], seq);
			ASSERT_EQ(0, variant->mech->call(variant->mech, &c));
			ASSERT_EQ(bench_status(req, sizes[s]), c.status);
		}
	}
}

TEST_HARNESS_MAIN
