/* SPDX-License-Identifier: BSD-3-Clause */
/* The shared window, as the linker script (or --defsym) placed it. */
#include <stddef.h>
#include <stdint.h>

#include "platform.h"

/* Linker symbols: their addresses are the values. */
extern char __vio_shm_base[];
extern char __vio_shm_size[];

void *platform_shm_base(void)
{
	return __vio_shm_base;
}

size_t platform_shm_size(void)
{
	return (size_t) (uintptr_t) __vio_shm_size;
}
