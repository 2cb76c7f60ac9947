/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers the virtio-msg POSIX files share (window files, doorbells, the
 * endpoint thread, the driver side); not a public interface.
 */
#ifndef VIOPORT_OS_POSIX_VMSG_POSIX_INTERNAL_H
#define VIOPORT_OS_POSIX_VMSG_POSIX_INTERNAL_H

#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <time.h>

static inline void vmsg_sleep_us(uint32_t us)
{
	struct timespec ts = {.tv_sec = us / 1000000u, .tv_nsec = (long) (us % 1000000u) * 1000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A 32-bit little-endian word of the window, read once with acquire. */
static inline uint32_t vmsg_window_word(const uint8_t *base, uint32_t off)
{
	return le32toh(
	    __atomic_load_n((const uint32_t *) (const void *) (base + off), __ATOMIC_ACQUIRE));
}

#endif
