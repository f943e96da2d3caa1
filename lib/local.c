// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * Process-wide state: the short-circuit switch, the slow-path lock and the
 * fork generation.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

pthread_mutex_t fastipc_lock = PTHREAD_MUTEX_INITIALIZER;
unsigned long fastipc_fork_gen;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int short_circuit = 1;

/* The lock may be held by another thread at fork(): take it across. */
static void fork_prepare(void)
{
	pthread_mutex_lock(&fastipc_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&fastipc_lock);
}

static void fork_child(void)
{
	__atomic_add_fetch(&fastipc_fork_gen, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&fastipc_lock);
}

static void lib_init(void)
{
	const char *env = getenv("FASTIPC_SHORT_CIRCUIT");

	if (env && !strcmp(env, "0"))
		__atomic_store_n(&short_circuit, 0, __ATOMIC_RELAXED);
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

void fastipc_lib_init(void)
{
	pthread_once(&init_once, lib_init);
}

bool fastipc_short_circuit_on(void)
{
	return __atomic_load_n(&short_circuit, __ATOMIC_RELAXED);
}

int fastipc_short_circuit(int enable)
{
	fastipc_lib_init();
	if (enable < 0)
		return fastipc_short_circuit_on();
	return __atomic_exchange_n(&short_circuit, !!enable, __ATOMIC_RELAXED);
}
