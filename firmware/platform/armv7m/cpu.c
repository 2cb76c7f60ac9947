/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cortex-M4 (ARMv7-M): semihosting trap, barrier, and exception reports.
 * The M4 has no data cache, so the weak no-op cache hooks stand.
 */
#include <stdint.h>

#include "../common/internal.h"
#include "platform.h"

#define SCB_CFSR (*(volatile uint32_t *) 0xe000ed28u)

uintptr_t platform_semihost(uint32_t op, uintptr_t arg)
{
	register uintptr_t r0 __asm__("r0") = op;
	register uintptr_t r1 __asm__("r1") = arg;

	__asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
	return r0;
}

void platform_dmb(void)
{
	__asm__ volatile("dmb" ::: "memory");
}

void platform_fault(uint32_t kind, uintptr_t pc)
{
	static const char *const names[] = {
	    "exception", "reset", "NMI", "HardFault", "MemManage fault", "BusFault", "UsageFault",
	};
	const char *what = kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "interrupt";

	/* CFSR says which fault and why (MMFSR, BFSR, UFSR). */
	platform_fault_report(what, pc, SCB_CFSR);
}
