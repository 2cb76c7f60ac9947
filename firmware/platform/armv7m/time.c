/* SPDX-License-Identifier: BSD-3-Clause */
/* Cortex-M4 (ARMv7-M): SysTick as a 1 kHz tick, with the counter for the microseconds between. */
#include <stdint.h>

#include "platform.h"

/* SysTick counts the core clock: 25 MHz on the MPS2 boards QEMU models. */
#ifndef PLATFORM_CPU_HZ
#define PLATFORM_CPU_HZ 25000000u
#endif

#define TICK_HZ	    1000u
#define TICK_RELOAD (PLATFORM_CPU_HZ / TICK_HZ - 1u)
#define CYCLES_US   (PLATFORM_CPU_HZ / 1000000u)

#define SYST_CSR (*(volatile uint32_t *) 0xe000e010u)
#define SYST_RVR (*(volatile uint32_t *) 0xe000e014u)
#define SYST_CVR (*(volatile uint32_t *) 0xe000e018u)
#define SCB_ICSR (*(volatile uint32_t *) 0xe000ed04u)

#define SYST_ENABLE    (1u << 0)
#define SYST_TICKINT   (1u << 1)
#define SYST_CLKCORE   (1u << 2)
#define ICSR_PENDSTSET (1u << 26)

/* Handler, named in the vector table. */
void platform_systick_handler(void);

/* Ticks since platform_time_init; written by the handler only. */
static volatile uint64_t ticks;
/* The last value platform_now_us returned, so it never goes back. */
static uint64_t last_us;

void platform_systick_handler(void)
{
	ticks = ticks + 1;
}

void platform_time_init(void)
{
	ticks = 0;
	last_us = 0;
	SYST_CSR = 0;
	SYST_RVR = TICK_RELOAD;
	SYST_CVR = 0;
	SYST_CSR = SYST_ENABLE | SYST_TICKINT | SYST_CLKCORE;
}

uint64_t platform_now_us(void)
{
	uint32_t primask, v;
	uint64_t t, us;

	/* The tick and the counter read together, with the tick interrupt held off. */
	__asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask)::"memory");
	t = ticks;
	v = SYST_CVR;
	/* A reload whose interrupt is still pending: the counter is near the top again. */
	if ((SCB_ICSR & ICSR_PENDSTSET) != 0 && v >= TICK_RELOAD / 2u)
		t++;
	us = t * (1000000u / TICK_HZ) + (TICK_RELOAD - v) / CYCLES_US;
	/*
	 * An emulator may show the reloaded counter a little before it raises
	 * the tick: at most one tick early, never counted twice. Keep monotonic.
	 */
	if (us < last_us)
		us = last_us;
	last_us = us;
	__asm__ volatile("msr primask, %0" ::"r"(primask) : "memory");
	return us;
}

/* Sleeps in WFI: the SysTick interrupt (1 kHz) wakes the core at least once a millisecond. */
void platform_idle_us(uint32_t us)
{
	uint64_t start = platform_now_us();

	while (platform_now_us() - start < us)
		__asm__ volatile("wfi" ::: "memory");
}
