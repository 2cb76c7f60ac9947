/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-msg driver side: virtio-gpio requests over the generic driver (vmsg_drv_dev.h). */
#include "vioport/byteorder.h"
#include "vioport/errno.h"
#include "vioport/gpio.h"
#include "vioport/vmsg_drv_dev.h"

/* One requestq message; returns the response's value byte or -VIO_EIO for ERR. */
static int gpio_request(struct vio_vmsg_drv_dev *d, uint16_t type, uint16_t line, uint32_t value)
{
	uint8_t req[VIO_GPIO_REQ_SIZE], resp[VIO_GPIO_RESP_SIZE] = {0xFF, 0};
	struct vio_vmsg_drv_seg out = {req, sizeof(req)}, in = {resp, sizeof(resp)};
	uint32_t len;
	int rc;

	vio_put_le16(req, type);
	vio_put_le16(req + 2, line);
	vio_put_le32(req + 4, value);
	rc = vio_vmsg_drv_request(d, VIO_GPIO_REQUESTQ, &out, 1, &in, 1, &len);
	if (rc < 0)
		return rc;
	if (resp[0] != VIO_GPIO_STATUS_OK)
		return -VIO_EIO;
	return resp[1];
}

int vio_vmsg_drv_gpio_get(struct vio_vmsg_drv_dev *d, uint16_t line)
{
	int rc = gpio_request(d, VIO_GPIO_MSG_GET_VALUE, line, 0);

	return rc < 0 ? rc : (rc != 0);
}

int vio_vmsg_drv_gpio_set(struct vio_vmsg_drv_dev *d, uint16_t line, uint8_t value)
{
	int rc = gpio_request(d, VIO_GPIO_MSG_SET_VALUE, line, value);

	return rc < 0 ? rc : 0;
}

int vio_vmsg_drv_gpio_set_direction(struct vio_vmsg_drv_dev *d, uint16_t line, uint8_t dir)
{
	int rc = gpio_request(d, VIO_GPIO_MSG_SET_DIRECTION, line, dir);

	return rc < 0 ? rc : 0;
}

int vio_vmsg_drv_gpio_set_irq_type(struct vio_vmsg_drv_dev *d, uint16_t line, uint8_t type)
{
	int rc = gpio_request(d, VIO_GPIO_MSG_SET_IRQ_TYPE, line, type);

	return rc < 0 ? rc : 0;
}

int vio_vmsg_drv_gpio_irq_arm(struct vio_vmsg_drv_dev *d, uint16_t line)
{
	uint8_t b[VIO_GPIO_IRQ_REQ_SIZE + VIO_GPIO_IRQ_RESP_SIZE];

	/* The buffer waits for the interrupt after this returns: its bytes live in the request. */
	vio_put_le16(b, line);
	b[VIO_GPIO_IRQ_REQ_SIZE] = VIO_GPIO_IRQ_STATUS_INVALID;
	return vio_vmsg_drv_submit_inline(d, VIO_GPIO_EVENTQ, b, sizeof(b), VIO_GPIO_IRQ_REQ_SIZE);
}

int vio_vmsg_drv_gpio_irq_wait(struct vio_vmsg_drv_dev *d, uint16_t *line, uint8_t *status,
			       uint32_t timeout_us)
{
	void *t;
	uint32_t len;
	int rc = vio_vmsg_drv_wait_used(d, VIO_GPIO_EVENTQ, &t, &len, timeout_us);
	const struct vio_vmsg_drv_req *req = t;

	if (rc <= 0)
		return rc;
	/* Completed and freed just now: its inline bytes are intact until the next arm. */
	*line = vio_get_le16(req->inl);
	*status = req->inl[VIO_GPIO_IRQ_REQ_SIZE];
	return 1;
}

int vio_vmsg_drv_gpio_line_names(struct vio_vmsg_drv_dev *d, void *buf, uint32_t cap)
{
	uint8_t cfg[VIO_GPIO_CONFIG_SIZE], req[VIO_GPIO_REQ_SIZE] = {0}, status = 0xFF;
	struct vio_vmsg_drv_seg out = {req, sizeof(req)};
	struct vio_vmsg_drv_seg in[2] = {{&status, 1}, {buf, 0}};
	uint32_t size, len;
	int rc = vio_vmsg_drv_read_config(d, 0, cfg, sizeof(cfg));

	if (rc < 0)
		return rc;
	size = vio_get_le32(cfg + VIO_GPIO_CFG_NAMES_SIZE);
	if (size == 0)
		return 0;
	if (size > cap || size > INT32_MAX)
		return -VIO_E2BIG;
	in[1].len = size;
	vio_put_le16(req, VIO_GPIO_MSG_GET_LINE_NAMES);
	rc = vio_vmsg_drv_request(d, VIO_GPIO_REQUESTQ, &out, 1, in, 2, &len);
	if (rc < 0)
		return rc;
	return status == VIO_GPIO_STATUS_OK ? (int) size : -VIO_EIO;
}
