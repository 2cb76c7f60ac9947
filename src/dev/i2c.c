/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-i2c: one message per request, FAIL_NEXT transactions, through a transfer provider. */
#include "vioport/i2c.h"
#include "vioport/byteorder.h"
#include "vioport/errno.h"

#include <string.h>

#define I2C_RING_FEATURES                                                                          \
	(VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) | VIO_BIT(VIO_F_RING_PACKED))

/* Byte off of the segments, when the len bytes from there lie in one segment; else NULL. */
static uint8_t *i2c_direct(const struct vio_iov *iov, uint16_t n, uint32_t off, uint32_t len)
{
	for (uint16_t i = 0; i < n; i++) {
		if (off < iov[i].len)
			return len <= iov[i].len - off ? iov[i].base + off : NULL;
		off -= iov[i].len;
	}
	return NULL;
}

/*
 * Checks the shape of the request in p and fills its message. Any layout of
 * descriptors is accepted (the framing is by bytes, not by segments): the
 * status is the last writable byte, the header the first eight readable ones.
 */
static void i2c_parse(struct vio_i2c_pend *p, const struct vio_req *req)
{
	uint16_t nw = req->nwrite;
	uint8_t hdr[VIO_I2C_OUT_HDR];
	uint32_t wlen, rlen;
	uint16_t addr;
	uint32_t flags;

	p->bad = true;
	p->last = true; /* flags unknown: nothing after this can belong to it */
	p->status = NULL;
	if (req->write_len == 0 || nw == 0)
		return;
	/* pop drops empty segments, so the last one holds at least one byte */
	p->status = p->iov[req->nread + nw - 1].base + p->iov[req->nread + nw - 1].len - 1;
	/* missing middle segments would shift every byte after them */
	if ((req->flags & VIO_REQ_F_OVERFLOW) || req->read_len < VIO_I2C_OUT_HDR)
		return;
	vio_iov_to_buf(p->iov, req->nread, 0, hdr, sizeof(hdr));
	addr = vio_get_le16(hdr);
	flags = vio_get_le32(hdr + 4);
	p->last = !(flags & VIO_I2C_FLAGS_FAIL_NEXT);
	/* 7-bit addresses only: bit 0 would be the R/W bit, above 0xfe is 10-bit */
	if ((addr & 1u) || addr > 0xfeu)
		return;
	wlen = req->read_len - VIO_I2C_OUT_HDR;
	rlen = req->write_len - 1;
	if ((flags & VIO_I2C_FLAGS_M_RD) ? wlen != 0 : rlen != 0)
		return;
	p->msg.addr = (uint16_t) (addr >> 1);
	p->msg.flags = (flags & VIO_I2C_FLAGS_M_RD) ? VIO_I2C_MSG_RD : 0;
	p->msg.len = wlen + rlen;
	p->msg.buf = NULL;
	p->bad = false;
}

/*
 * Runs pend[0 .. n) through the provider: the leading well-formed messages
 * of an unfailed transaction go in one call, everything from the first
 * failure to the end of the transaction gets ERR. Then answers all n.
 */
static void i2c_run(struct vio_i2c *i2c, uint16_t n)
{
	struct vio_device *dev = &i2c->dev;
	unsigned m = 0;
	int done = 0;

	if (!i2c->txn_failed) {
		while (m < n && !i2c->pend[m].bad) {
			struct vio_i2c_pend *p = &i2c->pend[m];

			i2c->msgs[m] = p->msg;
			if (p->bounced)
				i2c->msgs[m].buf = i2c->bounce + p->bounce_off;
			m++;
		}
	}
	if (m != 0) {
		done = i2c->ops->xfer(i2c->ctx, i2c->msgs, m);
		/* a provider that overstates is not believed */
		if (done < 0)
			done = 0;
		else if ((unsigned) done > m)
			done = (int) m;
	}
	for (uint16_t k = 0; k < n; k++) {
		struct vio_i2c_pend *p = &i2c->pend[k];
		bool ok = k < (unsigned) done;
		uint32_t len = 0;

		if (p->status != NULL) {
			len = 1;
			if (ok && (p->msg.flags & VIO_I2C_MSG_RD)) {
				if (p->bounced)
					vio_iov_from_buf(p->iov + p->nread, p->nwrite, 0,
							 i2c->bounce + p->bounce_off, p->msg.len);
				len += p->msg.len;
			}
			*p->status = ok ? VIO_I2C_MSG_OK : VIO_I2C_MSG_ERR;
		}
		if (!ok) {
			i2c->txn_failed = true;
			i2c->errors++;
		}
		if (p->last)
			i2c->txn_failed = false;
		i2c->requests++;
		vio_vq_push(&dev->queues[0].vq, p->id, p->ndesc, len);
	}
	i2c->npend = 0;
	i2c->bounce_used = 0;
}

/*
 * Puts the payload of the request at pend[npend] in place: in driver memory
 * when it lies in one segment, else in the bounce buffer, running the
 * requests before it first when the bounce buffer is full. Returns false
 * when it cannot fit at all.
 */
static bool i2c_place(struct vio_i2c *i2c)
{
	struct vio_i2c_pend *p = &i2c->pend[i2c->npend];
	bool rd = p->msg.flags & VIO_I2C_MSG_RD;
	const struct vio_iov *iov = rd ? p->iov + p->nread : p->iov;
	uint16_t n = rd ? p->nwrite : p->nread;
	uint32_t off = rd ? 0 : VIO_I2C_OUT_HDR;

	p->bounced = false;
	if (p->msg.len == 0)
		return true;
	p->msg.buf = i2c_direct(iov, n, off, p->msg.len);
	if (p->msg.buf != NULL)
		return true;
	if (p->msg.len > i2c->bounce_len)
		return false;
	if (p->msg.len > i2c->bounce_len - i2c->bounce_used) {
		/* the earlier part of the transaction goes now, this message starts the next call
		 */
		struct vio_i2c_pend tmp = *p;

		i2c_run(i2c, i2c->npend);
		i2c->pend[0] = tmp;
		p = &i2c->pend[0];
		iov = rd ? p->iov + p->nread : p->iov;
	}
	p->bounced = true;
	p->bounce_off = i2c->bounce_used;
	i2c->bounce_used += p->msg.len;
	if (!rd)
		vio_iov_to_buf(iov, n, off, i2c->bounce + p->bounce_off, p->msg.len);
	return true;
}

static void i2c_queue_notify(struct vio_device *dev, uint16_t q)
{
	struct vio_i2c *i2c = dev->priv;
	uint64_t before = i2c->requests;

	if (q != 0)
		return;
	while (vio_device_queue_live(dev, 0)) {
		struct vio_i2c_pend *p = &i2c->pend[i2c->npend];

		i2c->req.iov = p->iov;
		i2c->req.cap = VIO_I2C_SEGS;
		if (vio_device_pop(dev, 0, &i2c->req) != 1)
			break;
		p->id = i2c->req.id;
		p->ndesc = i2c->req.ndesc;
		p->nread = i2c->req.nread;
		p->nwrite = i2c->req.nwrite;
		i2c_parse(p, &i2c->req);
		if (!p->bad && !i2c_place(i2c))
			p->bad = true;
		i2c->npend++;
		/* a transaction waits for its last message, up to what one call may carry */
		if (i2c->pend[i2c->npend - 1].last || i2c->npend == VIO_I2C_BATCH)
			i2c_run(i2c, i2c->npend);
	}
	/* i2c_place may have answered requests too */
	if (i2c->requests != before)
		vio_device_flush(dev, 0);
}

/* The spec makes zero-length requests mandatory: a driver that cannot send them is refused. */
static int i2c_validate_features(struct vio_device *dev, uint64_t features)
{
	(void) dev;
	return (features & VIO_BIT(VIO_I2C_F_ZERO_LENGTH_REQUEST)) ? 0 : -VIO_ENOTSUP;
}

static void i2c_reset(struct vio_device *dev)
{
	struct vio_i2c *i2c = dev->priv;

	i2c->npend = 0;
	i2c->bounce_used = 0;
	i2c->txn_failed = false;
}

/* Only one queue: its reset forgets the same in-flight requests as a device reset. */
static void i2c_reset_queue(struct vio_device *dev, uint16_t q)
{
	(void) q;
	i2c_reset(dev);
}

static const struct vio_device_ops i2c_dev_ops = {
    .validate_features = i2c_validate_features,
    .reset = i2c_reset,
    .queue_reset = i2c_reset_queue,
    .queue_notify = i2c_queue_notify,
};

int vio_i2c_init(struct vio_i2c *i2c, const struct vio_i2c_ops *ops, void *ctx,
		 struct vio_queue *queue, uint16_t queue_size, uint64_t features, uint8_t *bounce,
		 uint32_t bounce_len)
{
	if (i2c == NULL || ops == NULL || ops->xfer == NULL || queue == NULL || queue_size == 0 ||
	    queue_size > VIO_VQ_MAX_SIZE || (features & ~I2C_RING_FEATURES) != 0 ||
	    (bounce == NULL && bounce_len != 0))
		return -VIO_EINVAL;
	memset(i2c, 0, sizeof(*i2c));
	i2c->ops = ops;
	i2c->ctx = ctx;
	i2c->bounce = bounce;
	i2c->bounce_len = bounce_len;
	vio_device_init(&i2c->dev, &i2c_dev_ops, i2c, VIO_ID_I2C,
			features | VIO_BIT(VIO_I2C_F_ZERO_LENGTH_REQUEST), queue, 1, queue_size,
			NULL, 0);
	return 0;
}
