/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The driver side's config read with the generation check, written once for
 * vioport-drv (src/vmsg/drv.c) and the Linux module (linux/vmsg_vdev.c): each
 * supplies the GET_CONFIG round trip over its own transport.
 */
#include "vioport/errno.h"
#include "vioport/vmsg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* One pass over the range: 1 when the generation moved under it, 0 when done, or negative. */
static int read_pass(const struct vio_vmsg_config_rt *rt, uint32_t chunk_max, uint32_t off,
		     uint8_t *dst, uint32_t len, uint32_t *gen)
{
	uint32_t done = 0;

	while (done < len) {
		uint32_t n = len - done < chunk_max ? len - done : chunk_max;
		struct vio_vmsg_config c = {.offset = off + done, .length = n}, r = {0};
		int rc = rt->get(rt->ctx, &c, &r);

		if (rc < 0)
			return rc;
		if (r.offset != c.offset || r.length != n || (n > 0 && r.data == NULL))
			return -VIO_EPROTO;
		if (done == 0)
			*gen = r.generation;
		else if (r.generation != *gen)
			return 1;
		memcpy(dst + done, r.data, n);
		done += n;
	}
	return 0;
}

int vio_vmsg_config_read(const struct vio_vmsg_config_rt *rt, uint32_t chunk_max, uint32_t off,
			 void *buf, uint32_t len, unsigned retries, uint32_t *generation,
			 uint32_t *restarts)
{
	uint8_t *dst = buf;
	unsigned attempt = 0;
	int rc = -VIO_EINVAL;

	if (chunk_max > 0 && (uint64_t) off + len <= UINT32_MAX) {
		for (;;) {
			uint32_t gen = 0;

			rc = read_pass(rt, chunk_max, off, dst, len, &gen);
			if (rc == 0) {
				if (len > 0)
					*generation = gen;
				return 0;
			}
			if (rc < 0)
				break;
			rc = -VIO_EAGAIN;
			if (restarts != NULL)
				(*restarts)++;
			if (attempt++ == retries)
				break;
		}
	}
	if (len > 0)
		memset(buf, 0, len);
	return rc;
}
