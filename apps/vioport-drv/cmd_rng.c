/* SPDX-License-Identifier: BSD-3-Clause */
/* vioport-drv: the rng command. */
#include <errno.h>

#include "vioport-drv.h"
#include "vioport/virtio.h"

const struct drv_kind drv_kind_rng = {"rng", VIO_ID_RNG, 1, NULL};

/* rng DEV BYTES */
int cmd_rng(struct drv_ctx *c, int argc, char **argv)
{
	uint8_t buf[4096];
	uint64_t want;
	int r;

	if (!parse_u64(argv[1], 1u << 20, &want) || want == 0)
		return usage_error("%s", "rng: expected DEV BYTES (1 .. 1048576)");
	if ((r = device_up(c, argv[0], &drv_kind_rng, 0)) != 0)
		return r;
	for (uint64_t done = 0; done < want;) {
		uint32_t n = want - done < sizeof(buf) ? (uint32_t) (want - done) : sizeof(buf);

		r = vio_vmsg_drv_rng_read(&c->s->dev, buf, n);
		if (r <= 0)
			return fail("rng read", r < 0 ? r : -EIO);
		hexdump(buf, (size_t) r, done);
		done += (uint64_t) r;
	}
	return 0;
}
