/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-msg driver side: virtio-i2c requests over the generic driver (vmsg_drv_dev.h). */
#include "vioport/byteorder.h"
#include "vioport/errno.h"
#include "vioport/i2c.h"
#include "vioport/vmsg_drv_dev.h"

/* One i2c message: its header and status, and the segments that carry them and the data. */
struct i2c_msg {
	uint8_t hdr[VIO_I2C_OUT_HDR];
	uint8_t status;
	struct vio_vmsg_drv_seg o[2], i[2];
};

/* Lays out one message to addr as a batch entry: len 0 is a probe (header and status only). */
static void i2c_msg(struct i2c_msg *m, struct vio_vmsg_drv_xfer *x, uint16_t addr, uint32_t flags,
		    void *buf, uint32_t len)
{
	bool rd = (flags & VIO_I2C_FLAGS_M_RD) != 0;

	vio_put_le16(m->hdr, (uint16_t) (addr << 1));
	vio_put_le16(m->hdr + 2, 0);
	vio_put_le32(m->hdr + 4, flags);
	m->status = 0xFF;
	m->o[0] = (struct vio_vmsg_drv_seg){m->hdr, sizeof(m->hdr)};
	m->o[1] = (struct vio_vmsg_drv_seg){buf, len};
	m->i[0] = (struct vio_vmsg_drv_seg){buf, len};
	m->i[1] = (struct vio_vmsg_drv_seg){&m->status, 1};
	*x = (struct vio_vmsg_drv_xfer){.out = m->o, .nout = 1, .in = &m->i[1], .nin = 1};
	if (len > 0 && rd) {
		x->in = m->i;
		x->nin = 2;
	} else if (len > 0) {
		x->nout = 2;
	}
}

static bool bad_msg(uint16_t addr, const void *buf, uint32_t len)
{
	return addr > 0x7F || (len > 0 && buf == NULL);
}

int vio_vmsg_drv_i2c_xfer(struct vio_vmsg_drv_dev *d, uint16_t addr, bool rd, void *buf,
			  uint32_t len)
{
	struct i2c_msg m;
	struct vio_vmsg_drv_xfer x;
	uint32_t used;
	int rc;

	if (bad_msg(addr, buf, len))
		return -VIO_EINVAL;
	i2c_msg(&m, &x, addr, rd ? VIO_I2C_FLAGS_M_RD : 0, buf, len);
	rc = vio_vmsg_drv_request(d, 0, x.out, x.nout, x.in, x.nin, &used);
	if (rc < 0)
		return rc;
	return m.status == VIO_I2C_MSG_OK ? 0 : -VIO_EIO;
}

int vio_vmsg_drv_i2c_write_read(struct vio_vmsg_drv_dev *d, uint16_t addr, const void *wbuf,
				uint32_t wlen, void *rbuf, uint32_t rlen)
{
	struct i2c_msg mw, mr;
	struct vio_vmsg_drv_xfer x[2];
	int rc;

	if (bad_msg(addr, wbuf, wlen) || bad_msg(addr, rbuf, rlen))
		return -VIO_EINVAL;
	/* FAIL_NEXT: a write the target refuses fails the read too, as one transaction. */
	i2c_msg(&mw, &x[0], addr, VIO_I2C_FLAGS_FAIL_NEXT, (void *) (uintptr_t) wbuf, wlen);
	i2c_msg(&mr, &x[1], addr, VIO_I2C_FLAGS_M_RD, rbuf, rlen);
	rc = vio_vmsg_drv_request_batch(d, 0, x, 2);
	if (rc < 0)
		return rc;
	return mw.status == VIO_I2C_MSG_OK && mr.status == VIO_I2C_MSG_OK ? 0 : -VIO_EIO;
}
