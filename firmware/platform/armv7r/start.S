/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cortex-R5F (ARMv7-R) start-up: exception vectors at address 0, one stack per
 * exception mode, FPU enable, .data copy, .bss zeroing, then main and
 * platform_exit with its result. ARM state throughout: exceptions are taken
 * in ARM state (SCTLR.TE = 0), and main may be Thumb (bl interworks).
 */
	.syntax unified
	.arch armv7-r
	.fpu vfpv3-d16
	.arm

/* Exception kinds passed to platform_fault (armv7r/cpu.c names them). */
#define KIND_UNDEF 1
#define KIND_SVC   2
#define KIND_PABT  3
#define KIND_DABT  4
#define KIND_IRQ   5
#define KIND_FIQ   6

#define MODE_FIQ 0x11
#define MODE_IRQ 0x12
#define MODE_SVC 0x13
#define MODE_ABT 0x17
#define MODE_UND 0x1b
#define MASK_IF	 0xc0

	.section .vectors, "ax"
	.global _vectors
_vectors:
	/*
	 * Absolute jumps through a table: the code may sit beyond a branch's
	 * reach from the vectors (zcu102: vectors at 0, the image in DDR).
	 */
	ldr	pc, _v_reset
	ldr	pc, _v_undef
	ldr	pc, _v_svc
	ldr	pc, _v_pabt
	ldr	pc, _v_dabt
	b	.
	ldr	pc, _v_irq
	ldr	pc, _v_fiq
_v_reset:	.word	_reset
_v_undef:	.word	_undef
_v_svc:		.word	_svc
_v_pabt:	.word	_pabt
_v_dabt:	.word	_dabt
_v_irq:		.word	_irq
_v_fiq:		.word	_fiq

	.text
	.type	_reset, %function
_reset:
	cpsid	if
	/* A stack for every mode an exception can enter, then SVC for main. */
	msr	cpsr_c, #(MODE_FIQ | MASK_IF)
	ldr	sp, =__stack_fiq_top
	msr	cpsr_c, #(MODE_IRQ | MASK_IF)
	ldr	sp, =__stack_irq_top
	msr	cpsr_c, #(MODE_ABT | MASK_IF)
	ldr	sp, =__stack_abt_top
	msr	cpsr_c, #(MODE_UND | MASK_IF)
	ldr	sp, =__stack_und_top
	msr	cpsr_c, #(MODE_SVC | MASK_IF)
	ldr	sp, =__stack_top

	/* Low vectors (SCTLR.V = 0) and exceptions in ARM state (SCTLR.TE = 0). */
	mrc	p15, 0, r0, c1, c0, 0
	bic	r0, r0, #(1 << 13)
	bic	r0, r0, #(1 << 30)
	mcr	p15, 0, r0, c1, c0, 0
	isb

	/* FPU: full access to cp10 and cp11, then FPEXC.EN. */
	mrc	p15, 0, r0, c1, c0, 2
	orr	r0, r0, #(0xf << 20)
	mcr	p15, 0, r0, c1, c0, 2
	isb
	mov	r0, #(1 << 30)
	vmsr	fpexc, r0

	/* .data: copy from its load address when that differs (XIP flash). */
	ldr	r0, =__data_start
	ldr	r1, =__data_load
	ldr	r2, =__data_end
	cmp	r0, r1
	beq	2f
1:	cmp	r0, r2
	ldrlo	r3, [r1], #4
	strlo	r3, [r0], #4
	blo	1b
2:
	/* .bss */
	ldr	r0, =__bss_start
	ldr	r2, =__bss_end
	mov	r3, #0
3:	cmp	r0, r2
	strlo	r3, [r0], #4
	blo	3b

	bl	platform_time_init
	bl	main
	bl	platform_exit
	b	.
	.size	_reset, . - _reset

/* Each stub hands its kind and the faulting instruction's address to C. */
_undef:
	mov	r0, #KIND_UNDEF
	sub	r1, lr, #4
	b	fault
_svc:
	mov	r0, #KIND_SVC
	sub	r1, lr, #4
	b	fault
_pabt:
	mov	r0, #KIND_PABT
	sub	r1, lr, #4
	b	fault
_dabt:
	mov	r0, #KIND_DABT
	sub	r1, lr, #8
	b	fault
_irq:
	mov	r0, #KIND_IRQ
	sub	r1, lr, #4
	b	fault
_fiq:
	mov	r0, #KIND_FIQ
	sub	r1, lr, #4
fault:
	bic	sp, sp, #7
	bl	platform_fault
	b	.
