/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fault: runs an undefined instruction, so a run can see the start-up code's
 * exception stubs report it and exit with PLATFORM_EXIT_FAULT instead of
 * hanging.
 */
#include "platform.h"

int main(void)
{
	platform_printf("fault: executing an undefined instruction\n");
	__asm__ volatile("udf #0" ::: "memory");
	platform_printf("fault: still running after it\n");
	return 0;
}
