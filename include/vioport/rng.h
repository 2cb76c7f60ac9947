/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-rng device model (device ID 4): one request queue, no features of
 * its own, no config space. The driver posts device-writable buffers; the
 * device fills them, partly if the source has less, from a provider.
 */
#ifndef VIOPORT_RNG_H
#define VIOPORT_RNG_H

#include <stdint.h>

#include "vioport/device.h"
#include "vioport/virtq.h"

/* Segments one request may have; the rest of a longer chain is left unfilled. */
#define VIO_RNG_SEGS 8u

/* An entropy source. */
struct vio_rng_ops {
	/* Fills up to len bytes of buf; returns the bytes filled (0..len) or a negative VIO_E*. */
	int (*fill)(void *ctx, uint8_t *buf, uint32_t len);
};

struct vio_rng {
	struct vio_device dev;
	const struct vio_rng_ops *ops;
	void *ctx;
	struct vio_req req;
	struct vio_iov iov[VIO_RNG_SEGS];
	uint64_t bytes; /* handed to the driver since init */
};

/*
 * Prepares rng over queue (one entry, up to queue_size buffers). features may
 * hold INDIRECT_DESC, EVENT_IDX and RING_PACKED; VERSION_1 is always offered.
 * Attach rng->dev to a transport afterwards. Returns 0 or -VIO_EINVAL.
 */
int vio_rng_init(struct vio_rng *rng, const struct vio_rng_ops *ops, void *ctx,
		 struct vio_queue *queue, uint16_t queue_size, uint64_t features);

#endif
