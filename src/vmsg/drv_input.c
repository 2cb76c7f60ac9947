/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-msg driver side: virtio-input over the generic driver
 * (vmsg_drv_dev.h). The config is a window onto one of several tables: the
 * driver writes select and subsel, then reads size and that many bytes of
 * the union. Event buffers are 8 bytes, so each lives in its own request
 * record (vio_vmsg_drv_submit_inline) and may stay queued until a key is
 * pressed.
 */
#include "vioport/byteorder.h"
#include "vioport/errno.h"
#include "vioport/input.h"
#include "vioport/vmsg_drv_dev.h"

int vio_vmsg_drv_input_config(struct vio_vmsg_drv_dev *d, uint8_t select, uint8_t subsel, void *buf,
			      uint32_t cap)
{
	uint8_t sel[2] = {select, subsel}, size;
	int rc = vio_vmsg_drv_write_config(d, VIO_INPUT_CFG_SELECT, sel, sizeof(sel));

	if (rc < 0)
		return rc;
	rc = vio_vmsg_drv_read_config(d, VIO_INPUT_CFG_SIZE, &size, 1);
	if (rc < 0)
		return rc;
	/* A device answering more than the union holds is out of protocol. */
	if (size > VIO_INPUT_CFG_U_SIZE)
		return -VIO_EPROTO;
	if (size > cap)
		return -VIO_E2BIG;
	if (size > 0 && (rc = vio_vmsg_drv_read_config(d, VIO_INPUT_CFG_U, buf, size)) < 0)
		return rc;
	return size;
}

int vio_vmsg_drv_input_event_post(struct vio_vmsg_drv_dev *d)
{
	uint8_t ev[VIO_INPUT_EVENT_SIZE] = {0};

	return vio_vmsg_drv_submit_inline(d, VIO_INPUT_EVENTQ, ev, sizeof(ev), 0);
}

int vio_vmsg_drv_input_event_wait(struct vio_vmsg_drv_dev *d, struct vio_input_event *ev,
				  uint32_t timeout_us)
{
	const struct vio_vmsg_drv_req *req;
	uint32_t len;
	void *t;
	int rc = vio_vmsg_drv_wait_used(d, VIO_INPUT_EVENTQ, &t, &len, timeout_us);

	if (rc <= 0)
		return rc;
	req = t;
	if (len < VIO_INPUT_EVENT_SIZE)
		return -VIO_EPROTO;
	/* Completed and freed just now: its inline bytes are intact until the next post. */
	ev->type = vio_get_le16(req->inl);
	ev->code = vio_get_le16(req->inl + 2);
	ev->value = (int32_t) vio_get_le32(req->inl + 4);
	return 1;
}

int vio_vmsg_drv_input_status(struct vio_vmsg_drv_dev *d, uint16_t type, uint16_t code,
			      int32_t value)
{
	uint8_t ev[VIO_INPUT_EVENT_SIZE];
	struct vio_vmsg_drv_seg out = {ev, sizeof(ev)};
	uint32_t len;

	vio_put_le16(ev, type);
	vio_put_le16(ev + 2, code);
	vio_put_le32(ev + 4, (uint32_t) value);
	return vio_vmsg_drv_request(d, VIO_INPUT_STATUSQ, &out, 1, NULL, 0, &len);
}
