/* SPDX-License-Identifier: BSD-3-Clause */
/* Cortex-R5F (ARMv7-R): semihosting trap, barrier, and exception reports. */
#include <stdint.h>

#include "../common/internal.h"
#include "platform.h"

uintptr_t platform_semihost(uint32_t op, uintptr_t arg)
{
	register uintptr_t r0 __asm__("r0") = op;
	register uintptr_t r1 __asm__("r1") = arg;

	/* A32 and T32 use different SVC numbers for the semihosting call. */
#ifdef __thumb__
	__asm__ volatile("svc 0xab" : "+r"(r0) : "r"(r1) : "memory");
#else
	__asm__ volatile("svc 0x123456" : "+r"(r0) : "r"(r1) : "memory");
#endif
	return r0;
}

void platform_dmb(void)
{
	__asm__ volatile("dmb" ::: "memory");
}

void platform_fault(uint32_t kind, uintptr_t pc)
{
	static const char *const names[] = {
	    "exception", "undefined instruction", "SVC", "prefetch abort", "data abort", "IRQ",
	    "FIQ",
	};
	uint32_t fsr = 0;
	const char *what = kind < sizeof(names) / sizeof(names[0]) ? names[kind] : names[0];

	/* DFSR or IFSR say why an abort happened. */
	if (kind == 4)
		__asm__ volatile("mrc p15, 0, %0, c5, c0, 0" : "=r"(fsr));
	else if (kind == 3)
		__asm__ volatile("mrc p15, 0, %0, c5, c0, 1" : "=r"(fsr));
	platform_fault_report(what, pc, fsr);
}
