/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-msg driver side: virtio-rng requests over the generic driver (vmsg_drv_dev.h). */
#include "vioport/errno.h"
#include "vioport/vmsg_drv_dev.h"

int vio_vmsg_drv_rng_read(struct vio_vmsg_drv_dev *d, void *buf, uint32_t len)
{
	struct vio_vmsg_drv_seg in = {buf, len};
	uint32_t got;
	int rc;

	if (len == 0 || len > INT32_MAX)
		return -VIO_EINVAL;
	rc = vio_vmsg_drv_request(d, 0, NULL, 0, &in, 1, &got);
	return rc < 0 ? rc : (int) got;
}
