/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cortex-M4 (ARMv7-M) start-up: the vector table (initial stack pointer,
 * reset and the system exceptions), FPU enable, .data copy, .bss zeroing,
 * then main and platform_exit with its result.
 */
	.syntax unified
	.cpu cortex-m4
	.fpu fpv4-sp-d16
	.thumb

#define SCB_VTOR  0xe000ed08
#define SCB_CPACR 0xe000ed88

	.section .vectors, "a"
	.global _vectors
_vectors:
	.word	__stack_top
	.word	_reset
	.word	_fault		/* NMI */
	.word	_fault		/* HardFault */
	.word	_fault		/* MemManage */
	.word	_fault		/* BusFault */
	.word	_fault		/* UsageFault */
	.word	0, 0, 0, 0
	.word	_fault		/* SVCall */
	.word	_fault		/* DebugMonitor */
	.word	0
	.word	_fault		/* PendSV */
	.word	platform_systick_handler
	/* External interrupts: none enabled; one entry each up to 32 for safety. */
	.rept	32
	.word	_fault
	.endr

	.text
	.thumb_func
	.type	_reset, %function
_reset:
	ldr	r0, =SCB_VTOR
	ldr	r1, =_vectors
	str	r1, [r0]

	/* FPU: full access to CP10 and CP11, before any floating-point instruction. */
	ldr	r0, =SCB_CPACR
	ldr	r1, [r0]
	orr	r1, r1, #(0xf << 20)
	str	r1, [r0]
	dsb
	isb

	/* .data: copy from flash to RAM. */
	ldr	r0, =__data_start
	ldr	r1, =__data_load
	ldr	r2, =__data_end
1:	cmp	r0, r2
	bhs	2f
	ldr	r3, [r1], #4
	str	r3, [r0], #4
	b	1b
2:
	/* .bss */
	ldr	r0, =__bss_start
	ldr	r2, =__bss_end
	movs	r3, #0
3:	cmp	r0, r2
	bhs	4f
	str	r3, [r0], #4
	b	3b
4:
	bl	platform_time_init
	bl	main
	bl	platform_exit
	b	.
	.size	_reset, . - _reset

/* Any other exception: its number and the stacked pc go to C. */
	.thumb_func
	.type	_fault, %function
_fault:
	mrs	r0, ipsr
	tst	lr, #4
	ite	eq
	mrseq	r1, msp
	mrsne	r1, psp
	ldr	r1, [r1, #24]
	bl	platform_fault
	b	.
	.size	_fault, . - _fault
