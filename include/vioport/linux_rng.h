/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Linux entropy provider for the virtio-rng device: getrandom(2) on the
 * kernel's pool (POSIX layer, not freestanding).
 *
 * It never blocks: getrandom runs with GRND_NONBLOCK, so before the kernel's
 * pool is initialised (early boot) a fill returns the bytes it got, possibly 0,
 * and the device hands the driver that much; the driver asks again later.
 * -EINTR is retried a few times, a partial result is completed with further
 * calls. One fill gives at most VIO_HOST_RNG_MAX_FILL bytes so a huge driver
 * buffer cannot hold the event loop; the device reports the partial length
 * and the driver asks again.
 *
 * Threading: none inside; one instance per device, called from its thread.
 */
#ifndef VIOPORT_HOST_RNG_H
#define VIOPORT_HOST_RNG_H

#include <stdint.h>

#include "vioport/rng.h"

/* Bytes one fill call gives at most. */
#define VIO_HOST_RNG_MAX_FILL (64u * 1024u)

struct vio_host_rng {
	uint64_t bytes;	  /* handed out since init */
	uint64_t starved; /* fills cut short because the pool was not ready */
	int last_err;	  /* last negative errno other than EAGAIN / EINTR, 0 if none */
};

/* Prepares r; no resource is held, so there is nothing to close. */
void vio_host_rng_init(struct vio_host_rng *r);

/* The rng provider table; its ctx is a struct vio_host_rng. */
extern const struct vio_rng_ops vio_host_rng_ops;

#endif
