/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bare-metal platform layer: what a firmware image needs from the core it
 * runs on, one implementation folder per core family (armv7r: Cortex-R5F,
 * armv7m: Cortex-M4) plus code common to all of them.
 *
 * Start-up (vector table, stacks, .data copy, .bss zeroing, FPU enable) runs
 * before main and is not called from C. Everything else is here: a console,
 * exit with a status, barriers and cache maintenance for a non-coherent shared
 * window, a time source, and a hardware entropy hook.
 *
 * Hooks marked "weak" have a default in common/ that a board file overrides by
 * defining the same function. Nothing here allocates; there is no heap.
 */
#ifndef VIOPORT_FW_PLATFORM_H
#define VIOPORT_FW_PLATFORM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vioport/rng.h"

/* ---- shared window ---------------------------------------------------- */

/*
 * The shared-memory window's address and size come from the linker script
 * (symbols __vio_shm_base and __vio_shm_size, overridable with
 * -Wl,--defsym=__vio_shm_base=ADDR -Wl,--defsym=__vio_shm_size=SIZE).
 */

/* Returns the first byte of the shared window. */
void *platform_shm_base(void);

/* Returns the size of the shared window in bytes. */
size_t platform_shm_size(void);

/* ---- console ---------------------------------------------------------- */

/*
 * Hardware console hook: writes one character to a UART. Weak default: the
 * semihosting SYS_WRITEC call, which needs an emulator or a debugger (on a
 * board without one it traps, so a board defines its own).
 */
void platform_uart_putc(char c);

/*
 * Writes s. Built with PLATFORM_CONSOLE_SEMIHOST (the QEMU images are), one
 * semihosting SYS_WRITE0 per string; otherwise platform_uart_putc per byte.
 */
void platform_puts(const char *s);

/*
 * Formats like printf for %s %c %d %u %x %X %p %% with the l and ll length
 * modifiers, a field width and the 0 and - flags, and writes the result.
 * One call writes at most 255 bytes; the rest is cut and the cut marked.
 */
void platform_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* As platform_printf, with a va_list. */
void platform_vprintf(const char *fmt, va_list ap);

/*
 * Formats into buf (cap bytes, always NUL-terminated when cap > 0); returns
 * the length the whole output would have had.
 */
size_t platform_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap);

/* ---- exit ------------------------------------------------------------- */

/* Exit status after an unexpected exception (undefined instruction, abort, fault). */
#define PLATFORM_EXIT_FAULT 125

/*
 * Ends the program with status (0: success). Under emulation, semihosting
 * SYS_EXIT_EXTENDED with ADP_Stopped_ApplicationExit and the status, which
 * QEMU returns as its own exit code on both A/R- and M-profile cores. Without
 * a debugger, a board overrides platform_halt to reset or park the core.
 */
__attribute__((noreturn)) void platform_exit(int status);

/* Weak: what platform_exit does after the semihosting call returns (it does not under QEMU). */
__attribute__((noreturn)) void platform_halt(int status);

/* ---- barriers and caches ---------------------------------------------- */

/* Full data memory barrier: orders every access before it against every one after it. */
void platform_dmb(void);

/*
 * Weak: writes back cached lines covering [p, p + len) so another bus master
 * sees them. Default: nothing (no data cache, or the window is uncached).
 */
void platform_cache_clean(const void *p, size_t len);

/*
 * Weak: discards cached lines covering [p, p + len) so the next reads come
 * from memory. Default: nothing.
 */
void platform_cache_invalidate(const void *p, size_t len);

/* ---- time ------------------------------------------------------------- */

/*
 * Monotonic microseconds since platform_time_init. On armv7r the 32-bit PMU
 * cycle counter extended in software, which must be read at least once per
 * wrap (2^32 cycles: 4.3 s at 1 GHz), as platform_poll_until does; on armv7m
 * a 1 kHz SysTick interrupt counts milliseconds and the counter gives the
 * microseconds between.
 */
uint64_t platform_now_us(void);

/* Starts the time source; start-up calls it before main. */
void platform_time_init(void);

/* Spins for at least us microseconds. */
void platform_delay_us(uint32_t us);

/*
 * Weak: idles at least us microseconds while nothing is expected to happen (a
 * polling loop's backoff). Default: platform_delay_us. armv7m sleeps in WFI
 * between SysTick interrupts, so it may idle up to one tick (1 ms) longer; a
 * board whose peer rings an interrupt (an IPI, a mailbox) overrides it to
 * sleep until that interrupt.
 */
void platform_idle_us(uint32_t us);

/* ---- main loop -------------------------------------------------------- */

/* What platform_poll_until returns on timeout: -ETIMEDOUT, Linux's value like VIO_E*. */
#define PLATFORM_ETIMEDOUT 110

/*
 * Polling main loop: calls poll(ctx) until it returns non-zero and returns
 * that value, or -PLATFORM_ETIMEDOUT once timeout_us have passed (0: no
 * limit). poll must not block; a negative return from it ends the loop too.
 */
int platform_poll_until(int (*poll)(void *ctx), void *ctx, uint64_t timeout_us);

/* ---- doorbell --------------------------------------------------------- */

/*
 * Weak: rings the peer's doorbell (an inter-processor interrupt, a mailbox
 * register) after this side published messages in the shared window.
 * Default: nothing, the peer polls. The receiving half is the board's
 * interrupt handler waking platform_idle_us; both are optional, as a missed or
 * spurious ring costs one poll, never a message.
 */
void platform_doorbell_ring(void);

/* ---- entropy ---------------------------------------------------------- */

/*
 * Weak: fills up to len bytes of buf from a hardware TRNG and returns the
 * number filled, or -VIO_ENODEV when the board has none (the default).
 * platform_trng_read(NULL, 0) answers whether one exists.
 */
int platform_trng_read(uint8_t *buf, uint32_t len);

/* True when platform_trng_read is backed by hardware. */
bool platform_trng_present(void);

/* virtio-rng provider over platform_trng_read (ctx unused). */
extern const struct vio_rng_ops platform_trng_ops;

#endif
