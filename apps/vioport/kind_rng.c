/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport rng: virtio-rng on the kernel's entropy (getrandom). It takes no
 * options of its own and has nothing in flight.
 */
#include <errno.h>

#include "vioport.h"
#include "vioport/linux_rng.h"
#include "vioport/rng.h"

struct vp_rng {
	struct vio_rng rng;
	struct vio_queue queue;
	struct vio_host_rng entropy;
};

static int rng_setup(struct vp_instance *in, struct vio_loop *loop)
{
	struct vp_rng *r = in->state;

	(void) loop;
	vio_host_rng_init(&r->entropy);
	if (vio_rng_init(&r->rng, &vio_host_rng_ops, &r->entropy, &r->queue, QUEUE_SIZE,
			 VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) |
			     VIO_BIT(VIO_F_RING_PACKED)) < 0)
		return -EINVAL;
	in->dev = &r->rng.dev;
	return 0;
}

const struct vp_kind vp_kind_rng = {
    .name = "rng",
    .summary = "virtio-rng on the kernel's entropy (getrandom)",
    .caps_json = "{\n  \"type\": \"rng\",\n  \"features\": []\n}\n",
    .state_size = sizeof(struct vp_rng),
    .setup = rng_setup,
};
