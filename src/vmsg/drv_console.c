/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-msg driver side: virtio-console port 0 over the generic driver
 * (vmsg_drv_dev.h). Receive buffers stay queued until the host has bytes, and
 * a transmit buffer may wait for the host to take it, so both queues are used
 * asynchronously: the caller posts buffers and takes them back as they
 * complete, polling the two queues in one loop.
 */
#include "vioport/byteorder.h"
#include "vioport/console.h"
#include "vioport/errno.h"
#include "vioport/vmsg_drv_dev.h"

int vio_vmsg_drv_console_config(struct vio_vmsg_drv_dev *d, uint16_t *cols, uint16_t *rows,
				uint32_t *max_nr_ports)
{
	uint8_t cfg[VIO_CONSOLE_CFG_EMERG_WR];
	int rc;

	/* The fields are meaningful only with the features that define them. */
	*cols = *rows = 0;
	*max_nr_ports = 0;
	if (!(d->features & (VIO_BIT(VIO_CONSOLE_F_SIZE) | VIO_BIT(VIO_CONSOLE_F_MULTIPORT))))
		return 0;
	rc = vio_vmsg_drv_read_config(d, 0, cfg, sizeof(cfg));
	if (rc < 0)
		return rc;
	if (d->features & VIO_BIT(VIO_CONSOLE_F_SIZE)) {
		*cols = vio_get_le16(cfg + VIO_CONSOLE_CFG_COLS);
		*rows = vio_get_le16(cfg + VIO_CONSOLE_CFG_ROWS);
	}
	if (d->features & VIO_BIT(VIO_CONSOLE_F_MULTIPORT))
		*max_nr_ports = vio_get_le32(cfg + VIO_CONSOLE_CFG_MAX_NR_PORTS);
	return 0;
}

int vio_vmsg_drv_console_rx_post(struct vio_vmsg_drv_dev *d, void *buf, uint32_t cap)
{
	struct vio_vmsg_drv_seg in = {buf, cap};

	if (buf == NULL || cap == 0)
		return -VIO_EINVAL;
	return vio_vmsg_drv_submit(d, VIO_CONSOLE_RXQ0, NULL, 0, &in, 1, buf);
}

int vio_vmsg_drv_console_rx_take(struct vio_vmsg_drv_dev *d, void **buf, uint32_t *len)
{
	return vio_vmsg_drv_get_used(d, VIO_CONSOLE_RXQ0, buf, len);
}

int vio_vmsg_drv_console_tx_post(struct vio_vmsg_drv_dev *d, const void *buf, uint32_t len)
{
	/* The bytes are copied to the window now: the token only names the buffer. */
	struct vio_vmsg_drv_seg out = {(void *) (uintptr_t) buf, len};

	if (buf == NULL || len == 0)
		return -VIO_EINVAL;
	return vio_vmsg_drv_submit(d, VIO_CONSOLE_TXQ0, &out, 1, NULL, 0, out.buf);
}

int vio_vmsg_drv_console_tx_take(struct vio_vmsg_drv_dev *d, void **buf)
{
	uint32_t len;

	return vio_vmsg_drv_get_used(d, VIO_CONSOLE_TXQ0, buf, &len);
}
