/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-msg driver side, device helpers: the request formats of blk, rng,
 * gpio and i2c over the generic driver (vmsg_drv.h), one source file each
 * (src/vmsg/drv_<device>.c). Each helper is a synchronous request
 * (vio_vmsg_drv_request) on a device brought up with vio_vmsg_drv_dev_start;
 * a device without helpers is driven through vio_vmsg_drv_submit and
 * vio_vmsg_drv_get_used, or vio_vmsg_drv_request, directly. Freestanding.
 */
#ifndef VIOPORT_VMSG_DRV_DEV_H
#define VIOPORT_VMSG_DRV_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "vioport/vmsg_drv.h"

/* virtio-blk: reads/writes n 512-byte sectors at sector; 0, -VIO_EIO (device status), negative. */
int vio_vmsg_drv_blk_read(struct vio_vmsg_drv_dev *d, uint64_t sector, void *buf, uint32_t n);
/* virtio-blk write of n sectors from buf. */
int vio_vmsg_drv_blk_write(struct vio_vmsg_drv_dev *d, uint64_t sector, const void *buf,
			   uint32_t n);
/* virtio-blk capacity in sectors, from config. */
int vio_vmsg_drv_blk_capacity(struct vio_vmsg_drv_dev *d, uint64_t *sectors);

/* virtio-rng: fills up to len bytes of buf; returns the bytes filled or negative. */
int vio_vmsg_drv_rng_read(struct vio_vmsg_drv_dev *d, void *buf, uint32_t len);

/* virtio-gpio: reads a line's value (0 or 1), or negative (-VIO_EIO: the device said ERR). */
int vio_vmsg_drv_gpio_get(struct vio_vmsg_drv_dev *d, uint16_t line);
/* virtio-gpio: sets an output's value; 0 or negative. */
int vio_vmsg_drv_gpio_set(struct vio_vmsg_drv_dev *d, uint16_t line, uint8_t value);
/* virtio-gpio: sets the direction (VIO_GPIO_DIRECTION_*); 0 or negative. */
int vio_vmsg_drv_gpio_set_direction(struct vio_vmsg_drv_dev *d, uint16_t line, uint8_t dir);
/* virtio-gpio: sets the irq type (VIO_GPIO_IRQ_TYPE_*); 0 or negative. */
int vio_vmsg_drv_gpio_set_irq_type(struct vio_vmsg_drv_dev *d, uint16_t line, uint8_t type);
/* virtio-gpio: queues the eventq buffer that unmasks line (needs VIO_GPIO_F_IRQ). */
int vio_vmsg_drv_gpio_irq_arm(struct vio_vmsg_drv_dev *d, uint16_t line);
/*
 * virtio-gpio: waits up to timeout_us for an armed line to fire; 1 with *line
 * and *status (VIO_GPIO_IRQ_STATUS_*), or -VIO_ETIMEDOUT / negative.
 */
int vio_vmsg_drv_gpio_irq_wait(struct vio_vmsg_drv_dev *d, uint16_t *line, uint8_t *status,
			       uint32_t timeout_us);
/*
 * virtio-gpio: the names block (config gpio_names_size bytes of NUL-terminated
 * names) into buf; returns its size, -VIO_E2BIG when cap is too small.
 */
int vio_vmsg_drv_gpio_line_names(struct vio_vmsg_drv_dev *d, void *buf, uint32_t cap);

/* virtio-i2c: one message to 7-bit addr (read when rd), len 0 is a probe; 0 or -VIO_EIO (NACK). */
int vio_vmsg_drv_i2c_xfer(struct vio_vmsg_drv_dev *d, uint16_t addr, bool rd, void *buf,
			  uint32_t len);
/* virtio-i2c: a write then a read with a repeated start (FAIL_NEXT on the write). */
int vio_vmsg_drv_i2c_write_read(struct vio_vmsg_drv_dev *d, uint16_t addr, const void *wbuf,
				uint32_t wlen, void *rbuf, uint32_t rlen);

#endif
