/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What vioport's freestanding headers take from the C library, from the
 * kernel instead: the fixed-width integers, bool, NULL and size_t, and the
 * string functions. The headers in compat/ (stdint.h, stddef.h, stdbool.h,
 * string.h) include this file, so that src/vmsg/msg.c and src/vmsg/shm.c
 * compile into the module unchanged. Atomics need nothing: the freestanding
 * code uses the compiler's __atomic builtins on aligned 32-bit words, which
 * compile inline on every architecture the kernel supports.
 */
#ifndef VIO_KCOMPAT_H
#define VIO_KCOMPAT_H

#include <linux/limits.h>
#include <linux/stddef.h>
#include <linux/string.h>
#include <linux/types.h>

#ifndef UINT8_MAX
#define UINT8_MAX U8_MAX
#endif
#ifndef UINT16_MAX
#define UINT16_MAX U16_MAX
#endif
#ifndef UINT32_MAX
#define UINT32_MAX U32_MAX
#endif
#ifndef UINT64_MAX
#define UINT64_MAX U64_MAX
#endif
#ifndef INT32_MAX
#define INT32_MAX S32_MAX
#endif
#ifndef INT64_MAX
#define INT64_MAX S64_MAX
#endif

#endif
