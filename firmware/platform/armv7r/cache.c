/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cortex-R5F (ARMv7-R): data cache maintenance by address, for a shared
 * window the MPU leaves cacheable. Harmless with the cache off.
 */
#include <stddef.h>
#include <stdint.h>

#include "platform.h"

/* Cache line of the Cortex-R5 L1 data cache. */
#define DCACHE_LINE 32u

/* DCCMVAC: clean by address to the point of coherency, line by line. */
void platform_cache_clean(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t) p & ~(uintptr_t) (DCACHE_LINE - 1);
	uintptr_t end = (uintptr_t) p + len;

	__asm__ volatile("dsb" ::: "memory");
	for (; a < end; a += DCACHE_LINE)
		__asm__ volatile("mcr p15, 0, %0, c7, c10, 1" ::"r"(a) : "memory");
	__asm__ volatile("dsb" ::: "memory");
}

/* DCIMVAC: invalidate by address to the point of coherency, line by line. */
void platform_cache_invalidate(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t) p & ~(uintptr_t) (DCACHE_LINE - 1);
	uintptr_t end = (uintptr_t) p + len;

	__asm__ volatile("dsb" ::: "memory");
	for (; a < end; a += DCACHE_LINE)
		__asm__ volatile("mcr p15, 0, %0, c7, c6, 1" ::"r"(a) : "memory");
	__asm__ volatile("dsb" ::: "memory");
}
