/* SPDX-License-Identifier: BSD-3-Clause */
/* Default hooks a board overrides: cache maintenance, the doorbell and the hardware entropy source.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform.h"
#include "vioport/errno.h"

__attribute__((weak)) void platform_cache_clean(const void *p, size_t len)
{
	(void) p;
	(void) len;
}

__attribute__((weak)) void platform_cache_invalidate(const void *p, size_t len)
{
	(void) p;
	(void) len;
}

__attribute__((weak)) void platform_doorbell_ring(void)
{
}

__attribute__((weak)) int platform_trng_read(uint8_t *buf, uint32_t len)
{
	(void) buf;
	(void) len;
	return -VIO_ENODEV;
}

bool platform_trng_present(void)
{
	return platform_trng_read(NULL, 0) != -VIO_ENODEV;
}

static int trng_fill(void *ctx, uint8_t *buf, uint32_t len)
{
	(void) ctx;
	return platform_trng_read(buf, len);
}

const struct vio_rng_ops platform_trng_ops = {
    .fill = trng_fill,
};
