/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exitcode: exits with status 42 through platform_exit, so a run can tell a
 * status that reached the host from a default 0 (the selftest's success).
 */
#include "platform.h"

#define STATUS 42

int main(void)
{
	platform_printf("exitcode: exiting with status %d\n", STATUS);
	platform_exit(STATUS);
}
