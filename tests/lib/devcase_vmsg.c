/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device cases over virtio-msg: one driver session over the daemon's window
 * (dc_vmsg_attach), and each open brings the kind's device number up on it
 * (negotiation, every queue, DRIVER_OK) through the driver library
 * (src/vmsg/drv.c). The library bounces each segment through the window's
 * area, zeroing the writable ones, and notifies the device as it submits, so
 * notify has nothing left to do.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "devcase_posix.h"
#include "vioport/vmsg_drv.h"
#include "vioport/vmsg_posix.h"

#define MAP_WORDS 1024 /* allocator bits: 32 * 1024 chunks of 64 bytes, 2 MiB */

static struct {
	uint16_t dev_num[DC_NKINDS];
	struct vio_vmsg_posix_drv p;
	bool attached;
	struct vio_vmsg_drv drv;
	uint32_t map[MAP_WORDS];
	struct vio_vmsg_drv_dev dev;
	struct vio_vmsg_drv_vq vqs[2];
	bool open;
	int token;
} M;

int dc_vmsg_attach(const char *path, const char *doorbell, const uint16_t *dev_num, char *err,
		   size_t cap)
{
	int rc;

	dc_vmsg_detach();
	memcpy(M.dev_num, dev_num, sizeof(M.dev_num));
	rc = vio_vmsg_posix_drv_open(&M.p, path, 0, doorbell, DC_WAIT_MS, err, cap);
	if (rc < 0)
		return rc;
	M.attached = true;
	rc = vio_vmsg_drv_init_shm(&M.drv, &M.p.binding, M.map, MAP_WORDS);
	if (rc < 0) {
		snprintf(err, cap, "driver init: %d", rc);
		dc_vmsg_detach();
		return rc;
	}
	M.drv.timeout_us = DC_WAIT_MS * 1000u;
	return 0;
}

static void vmsg_close(void *ctx)
{
	(void) ctx;
	if (M.open)
		vio_vmsg_drv_dev_fini(&M.dev);
	M.open = false;
}

void dc_vmsg_detach(void)
{
	vmsg_close(NULL);
	if (M.attached)
		vio_vmsg_posix_drv_close(&M.p);
	M.attached = false;
}

static int vmsg_open(void *ctx, enum dc_kind kind, uint64_t want)
{
	int rc;

	vmsg_close(ctx);
	if (!M.attached)
		return -ENOTCONN;
	rc = vio_vmsg_drv_dev_init(&M.dev, &M.drv, M.dev_num[kind], M.vqs, dc_kind_queues(kind));
	if (rc < 0)
		return rc;
	M.open = true;
	rc = vio_vmsg_drv_dev_start(&M.dev, want | VIO_BIT(VIO_F_VERSION_1));
	if (rc < 0)
		vmsg_close(ctx);
	return rc;
}

static int vmsg_submit(void *ctx, uint16_t q, const struct dc_seg *out, unsigned nout,
		       const struct dc_seg *in, unsigned nin)
{
	struct vio_vmsg_drv_seg o[DC_MAX_SEGS], i[DC_MAX_SEGS];

	(void) ctx;
	if (!M.open || nout > DC_MAX_SEGS || nin > DC_MAX_SEGS)
		return -EINVAL;
	for (unsigned k = 0; k < nout; k++)
		o[k] = (struct vio_vmsg_drv_seg){out[k].buf, out[k].len};
	for (unsigned k = 0; k < nin; k++)
		i[k] = (struct vio_vmsg_drv_seg){in[k].buf, in[k].len};
	return vio_vmsg_drv_submit(&M.dev, q, o, nout, i, nin, &M.token);
}

static int vmsg_notify(void *ctx, uint16_t q)
{
	(void) ctx;
	(void) q;
	return 0;
}

static int64_t vmsg_complete(void *ctx, uint16_t q)
{
	void *token;
	uint32_t len;
	int rc;

	(void) ctx;
	rc = vio_vmsg_drv_wait_used(&M.dev, q, &token, &len, DC_WAIT_MS * 1000u);
	if (rc != 1)
		return rc < 0 ? rc : -ETIMEDOUT;
	return len;
}

static int vmsg_config_read(void *ctx, uint32_t off, void *buf, uint32_t len)
{
	(void) ctx;
	return vio_vmsg_drv_read_config(&M.dev, off, buf, len);
}

const struct dc_transport dc_vmsg = {
    .name = "virtio-msg",
    .open = vmsg_open,
    .close = vmsg_close,
    .submit = vmsg_submit,
    .notify = vmsg_notify,
    .complete = vmsg_complete,
    .config_read = vmsg_config_read,
};
