/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-msg driver side: virtio-blk requests over the generic driver (vmsg_drv_dev.h). */
#include "vioport/blk.h"
#include "vioport/byteorder.h"
#include "vioport/errno.h"
#include "vioport/vmsg_drv_dev.h"

static int blk_rw(struct vio_vmsg_drv_dev *d, uint32_t type, uint64_t sector, void *buf, uint32_t n)
{
	uint8_t hdr[VIO_BLK_REQ_HDR] = {0}, status = 0xFF;
	struct vio_vmsg_drv_seg out[2] = {{hdr, sizeof(hdr)}, {buf, 0}};
	struct vio_vmsg_drv_seg in[2] = {{buf, 0}, {&status, 1}};
	uint32_t len;
	int rc;

	if (n == 0 || n > UINT32_MAX / VIO_BLK_SECTOR_SIZE)
		return -VIO_EINVAL;
	vio_put_le32(hdr, type);
	vio_put_le64(hdr + 8, sector);
	if (type == VIO_BLK_T_OUT) {
		out[1].len = n * VIO_BLK_SECTOR_SIZE;
		rc = vio_vmsg_drv_request(d, 0, out, 2, &in[1], 1, &len);
	} else {
		in[0].len = n * VIO_BLK_SECTOR_SIZE;
		rc = vio_vmsg_drv_request(d, 0, out, 1, in, 2, &len);
	}
	if (rc < 0)
		return rc;
	if (status == VIO_BLK_S_OK)
		return 0;
	return status == VIO_BLK_S_UNSUPP ? -VIO_ENOTSUP : -VIO_EIO;
}

int vio_vmsg_drv_blk_read(struct vio_vmsg_drv_dev *d, uint64_t sector, void *buf, uint32_t n)
{
	return blk_rw(d, VIO_BLK_T_IN, sector, buf, n);
}

int vio_vmsg_drv_blk_write(struct vio_vmsg_drv_dev *d, uint64_t sector, const void *buf, uint32_t n)
{
	/* Only device-readable: the bounce is filled from buf and never copied back. */
	return blk_rw(d, VIO_BLK_T_OUT, sector, (void *) (uintptr_t) buf, n);
}

int vio_vmsg_drv_blk_capacity(struct vio_vmsg_drv_dev *d, uint64_t *sectors)
{
	uint8_t cap[8];
	int rc = vio_vmsg_drv_read_config(d, VIO_BLK_CFG_CAPACITY, cap, sizeof(cap));

	if (rc == 0)
		*sectors = vio_get_le64(cap);
	return rc;
}
