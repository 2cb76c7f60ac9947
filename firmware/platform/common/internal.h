/* SPDX-License-Identifier: BSD-3-Clause */
/* What the platform's common code and its per-family code call in each other. */
#ifndef VIOPORT_FW_PLATFORM_INTERNAL_H
#define VIOPORT_FW_PLATFORM_INTERNAL_H

#include <stdint.h>

/* Semihosting operations used here (Arm "Semihosting for AArch32 and AArch64"). */
#define SEMIHOST_SYS_WRITEC	   0x03u
#define SEMIHOST_SYS_WRITE0	   0x04u
#define SEMIHOST_SYS_EXIT	   0x18u
#define SEMIHOST_SYS_EXIT_EXTENDED 0x20u
#define SEMIHOST_APPLICATION_EXIT  0x20026u /* ADP_Stopped_ApplicationExit */

/* Per family: traps to the debugger or emulator with op and arg; returns its r0. */
uintptr_t platform_semihost(uint32_t op, uintptr_t arg);

/* Common: reports an unexpected exception and exits with PLATFORM_EXIT_FAULT. */
__attribute__((noreturn)) void platform_fault_report(const char *what, uintptr_t pc,
						     uintptr_t detail);

/* Per family: entered from the exception stubs in start.S with the exception kind and pc. */
__attribute__((noreturn)) void platform_fault(uint32_t kind, uintptr_t pc);

#endif
