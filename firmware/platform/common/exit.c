/* SPDX-License-Identifier: BSD-3-Clause */
/* Exit with a status, and the report of an unexpected exception. */
#include <stdint.h>

#include "internal.h"
#include "platform.h"

__attribute__((weak, noreturn)) void platform_halt(int status)
{
	(void) status;
	for (;;)
		;
}

void platform_exit(int status)
{
	/*
	 * SYS_EXIT_EXTENDED, not SYS_EXIT: on AArch32 SYS_EXIT carries only the
	 * reason, so QEMU 7.2 exits 0 for ApplicationExit and 1 for anything
	 * else; the extended call's block carries the status itself.
	 */
	uintptr_t block[2] = {SEMIHOST_APPLICATION_EXIT, (uintptr_t) (uint32_t) status};

	platform_semihost(SEMIHOST_SYS_EXIT_EXTENDED, (uintptr_t) block);
	platform_halt(status);
}

void platform_fault_report(const char *what, uintptr_t pc, uintptr_t detail)
{
	platform_printf("platform: unexpected %s at pc 0x%08lx (0x%08lx); stopping\n", what,
			(unsigned long) pc, (unsigned long) detail);
	platform_exit(PLATFORM_EXIT_FAULT);
}
