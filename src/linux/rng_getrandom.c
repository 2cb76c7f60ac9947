/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-rng provider over getrandom(2), never blocking. */
#include "vioport/linux_rng.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

/* Interrupted calls in a row before a fill gives up with what it has. */
#define HR_MAX_EINTR 8

void vio_host_rng_init(struct vio_host_rng *r)
{
	memset(r, 0, sizeof(*r));
}

static int hr_fill(void *ctx, uint8_t *buf, uint32_t len)
{
	struct vio_host_rng *r = ctx;
	uint32_t done = 0;
	unsigned intr = 0;

	if (len > VIO_HOST_RNG_MAX_FILL)
		len = VIO_HOST_RNG_MAX_FILL;
	while (done < len) {
		ssize_t n = getrandom(buf + done, len - done, GRND_NONBLOCK);

		if (n > 0) {
			done += (uint32_t) n;
			intr = 0;
			continue;
		}
		if (n < 0 && errno == EINTR && ++intr < HR_MAX_EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			r->starved++; /* pool not initialised yet: give what we have */
			break;
		}
		if (n < 0 && errno != EINTR) {
			r->last_err = -errno;
			if (done == 0)
				return r->last_err;
		}
		break;
	}
	r->bytes += done;
	return (int) done;
}

const struct vio_rng_ops vio_host_rng_ops = {
    .fill = hr_fill,
};
