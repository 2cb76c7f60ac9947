/* SPDX-License-Identifier: BSD-3-Clause */
/* Cortex-R5F (ARMv7-R): the PMU cycle counter as time source, extended to 64 bits. */
#include <stdint.h>

#include "platform.h"

/*
 * Cycle counter rate. QEMU's TCG counts PMCCNTR at 1 GHz of virtual time; a
 * board passes its core clock with -DPLATFORM_CYCLE_HZ=...
 */
#ifndef PLATFORM_CYCLE_HZ
#define PLATFORM_CYCLE_HZ 1000000000u
#endif

static uint32_t last_ccnt;
static uint64_t cycles;

static uint32_t read_ccnt(void)
{
	uint32_t v;

	__asm__ volatile("mrc p15, 0, %0, c9, c13, 0" : "=r"(v));
	return v;
}

void platform_time_init(void)
{
	uint32_t pmcr;

	/* PMCR.E enables the counters, PMCR.C resets the cycle counter. */
	__asm__ volatile("mrc p15, 0, %0, c9, c12, 0" : "=r"(pmcr));
	pmcr |= 1u | (1u << 2);
	__asm__ volatile("mcr p15, 0, %0, c9, c12, 0" ::"r"(pmcr));
	/* PMCNTENSET bit 31: the cycle counter. */
	__asm__ volatile("mcr p15, 0, %0, c9, c12, 1" ::"r"(1u << 31));
	last_ccnt = read_ccnt();
	cycles = 0;
}

uint64_t platform_now_us(void)
{
	uint32_t now = read_ccnt();

	/* Unsigned difference: right across one wrap, which is why it must be polled. */
	cycles += (uint32_t) (now - last_ccnt);
	last_ccnt = now;
	return cycles / (PLATFORM_CYCLE_HZ / 1000000u);
}
