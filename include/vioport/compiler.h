/* SPDX-License-Identifier: BSD-3-Clause */
/* Compiler hints shared by the freestanding layers (GCC and Clang). */
#ifndef VIOPORT_COMPILER_H
#define VIOPORT_COMPILER_H

/* Keeps a rarely taken path out of its caller, so the hot path stays small. */
#define VIO_COLD __attribute__((__noinline__, __cold__))

/* Branch hints for the checks that a well-behaved driver never trips. */
#define VIO_LIKELY(x)	__builtin_expect(!!(x), 1)
#define VIO_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Copies a small fixed-size object inline even under -ffreestanding. */
#define VIO_COPY(dst, src, n) __builtin_memcpy((dst), (src), (n))

/*
 * Ordered accesses to a naturally aligned 32-bit word shared with a concurrent
 * peer: the acquire load orders every later access after it, the release store
 * orders every earlier access before it. Both compile inline on Armv7-R/M and x86.
 */
#define VIO_LOAD_ACQUIRE32(p)	  __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define VIO_STORE_RELEASE32(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

/*
 * Keeps the compiler from moving memory accesses across it. Enough to order
 * stores for a later process that reads them after this one was killed: a
 * signal lands between two instructions, never inside a reordering.
 */
#define VIO_COMPILER_BARRIER() __atomic_signal_fence(__ATOMIC_SEQ_CST)

#endif
