/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The little of the kernel that linux/vmsg_ring.c and linux/vmsg_bounce.c
 * use, for compiling them in user space (tests/unit/test_vmsg_ring.c,
 * test_vmsg_bounce.c): fixed-width types, the little-endian conversions,
 * READ_ONCE/WRITE_ONCE, the barriers, errno values and the DMA directions. The
 * host is little-endian wherever the unit tests run; the conversions check
 * that at compile time.
 */
#ifndef VIOPORT_VMSG_KSHIM_H
#define VIOPORT_VMSG_KSHIM_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int16_t s16;
typedef int64_t s64;
typedef uint64_t phys_addr_t;
typedef uint16_t __le16;
typedef uint32_t __le32;
typedef uint64_t __le64;

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the shim assumes a little-endian host");

#define le16_to_cpu(x) ((u16) (x))
#define le32_to_cpu(x) ((u32) (x))
#define le64_to_cpu(x) ((u64) (x))
#define cpu_to_le16(x) ((__le16) (x))
#define cpu_to_le32(x) ((__le32) (x))

#define U32_MAX UINT32_MAX

/* linux/dma-direction.h */
enum dma_data_direction {
	DMA_BIDIRECTIONAL = 0,
	DMA_TO_DEVICE = 1,
	DMA_FROM_DEVICE = 2,
	DMA_NONE = 3,
};

#define READ_ONCE(x)	 (*(const volatile __typeof__(x) *) &(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *) &(x) = (v))
#define virt_rmb()	 __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define virt_wmb()	 __atomic_thread_fence(__ATOMIC_RELEASE)

#endif
