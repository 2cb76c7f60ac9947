/* SPDX-License-Identifier: BSD-3-Clause */
/* The polling main loop and busy waits, over the family's time source. */
#include <stdint.h>

#include "platform.h"

int platform_poll_until(int (*poll)(void *ctx), void *ctx, uint64_t timeout_us)
{
	uint64_t start = platform_now_us();

	for (;;) {
		int rc = poll(ctx);

		if (rc != 0)
			return rc;
		if (timeout_us != 0 && platform_now_us() - start >= timeout_us)
			return -PLATFORM_ETIMEDOUT;
	}
}

void platform_delay_us(uint32_t us)
{
	uint64_t start = platform_now_us();

	while (platform_now_us() - start < us)
		;
}

__attribute__((weak)) void platform_idle_us(uint32_t us)
{
	platform_delay_us(us);
}
