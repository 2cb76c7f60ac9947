/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-rng: fills device-writable buffers from an entropy provider. */
#include "vioport/rng.h"
#include "vioport/errno.h"

#include <string.h>

#define RNG_FEATURES                                                                               \
	(VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) | VIO_BIT(VIO_F_RING_PACKED) |    \
	 VIO_BIT(VIO_F_VERSION_1))

/*
 * Fills the request's segments in order and stops at the first short fill, so
 * the bytes reported are the contiguous start of the buffer the driver reads.
 */
static uint32_t rng_fill(struct vio_rng *rng, const struct vio_req *req)
{
	uint16_t n = req->nwrite;
	uint32_t total = 0;

	/* after an overflow the last segment is not contiguous with the others */
	if (req->flags & VIO_REQ_F_OVERFLOW)
		n--;
	for (uint16_t i = 0; i < n; i++) {
		const struct vio_iov *v = &rng->iov[i];
		int got;

		if (v->len == 0)
			continue;
		got = rng->ops->fill(rng->ctx, v->base, v->len);
		if (got <= 0)
			break;
		if ((uint32_t) got > v->len)
			got = (int) v->len; /* a provider that overstates is not believed */
		total += (uint32_t) got;
		if ((uint32_t) got < v->len)
			break;
	}
	return total;
}

static void rng_queue_notify(struct vio_device *dev, uint16_t q)
{
	struct vio_rng *rng = dev->priv;
	bool pushed = false;

	if (q != 0)
		return;
	while (vio_device_queue_live(dev, 0)) {
		uint32_t len = 0;

		rng->req.iov = rng->iov;
		rng->req.cap = VIO_RNG_SEGS;
		if (vio_device_pop(dev, 0, &rng->req) != 1)
			break;
		/* any device-readable part makes the request malformed: give it back empty */
		if (rng->req.nread == 0 && rng->req.nwrite > 0)
			len = rng_fill(rng, &rng->req);
		rng->bytes += len;
		vio_vq_push(&dev->queues[0].vq, rng->req.id, rng->req.ndesc, len);
		pushed = true;
	}
	if (pushed)
		vio_device_flush(dev, 0);
}

static const struct vio_device_ops rng_dev_ops = {
    .queue_notify = rng_queue_notify,
};

int vio_rng_init(struct vio_rng *rng, const struct vio_rng_ops *ops, void *ctx,
		 struct vio_queue *queue, uint16_t queue_size, uint64_t features)
{
	if (rng == NULL || ops == NULL || ops->fill == NULL || queue == NULL || queue_size == 0 ||
	    queue_size > VIO_VQ_MAX_SIZE || (features & ~RNG_FEATURES) != 0)
		return -VIO_EINVAL;
	memset(rng, 0, sizeof(*rng));
	rng->ops = ops;
	rng->ctx = ctx;
	vio_device_init(&rng->dev, &rng_dev_ops, rng, VIO_ID_RNG, features, queue, 1, queue_size,
			NULL, 0);
	return 0;
}
