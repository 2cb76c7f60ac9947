/* SPDX-License-Identifier: BSD-3-Clause */
/* Compiler hints shared by the freestanding layers (GCC and Clang). */
#ifndef VIOPORT_COMPILER_H
#define VIOPORT_COMPILER_H

/* Keeps a rarely taken path out of its caller, so the hot path stays small. */
#define VIO_COLD __attribute__((noinline, cold))

/* Branch hints for the checks that a well-behaved driver never trips. */
#define VIO_LIKELY(x)	__builtin_expect(!!(x), 1)
#define VIO_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Copies a small fixed-size object inline even under -ffreestanding. */
#define VIO_COPY(dst, src, n) __builtin_memcpy((dst), (src), (n))

#endif
