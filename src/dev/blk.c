/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-blk: request checks, dispatch to a provider, synchronous or later completion. */
#include "vioport/blk.h"
#include "vioport/byteorder.h"
#include "vioport/errno.h"

#include <string.h>

#define BLK_OWN_FEATURES                                                                           \
	(VIO_BIT(VIO_BLK_F_SIZE_MAX) | VIO_BIT(VIO_BLK_F_SEG_MAX) | VIO_BIT(VIO_BLK_F_RO) |        \
	 VIO_BIT(VIO_BLK_F_BLK_SIZE) | VIO_BIT(VIO_BLK_F_FLUSH) | VIO_BIT(VIO_BLK_F_TOPOLOGY) |    \
	 VIO_BIT(VIO_BLK_F_CONFIG_WCE) | VIO_BIT(VIO_BLK_F_MQ) | VIO_BIT(VIO_BLK_F_DISCARD) |      \
	 VIO_BIT(VIO_BLK_F_WRITE_ZEROES))
/* IN_ORDER is left out on purpose: providers may complete out of order. */
#define BLK_RING_FEATURES                                                                          \
	(VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) | VIO_BIT(VIO_F_RING_PACKED) |    \
	 VIO_BIT(VIO_F_VERSION_1) | VIO_BIT(VIO_F_RING_RESET))

static bool blk_offered(const struct vio_blk *blk, unsigned bit)
{
	return (blk->dev.host_features >> bit) & 1u;
}

static int blk_norm(int st)
{
	return st == VIO_BLK_S_OK || st == VIO_BLK_S_UNSUPP ? st : VIO_BLK_S_IOERR;
}

static bool blk_range_ok(const struct vio_blk *blk, uint64_t sector, uint64_t nsectors)
{
	return sector <= blk->capacity && nsectors <= blk->capacity - sector;
}

static struct vio_blk_req *slot_get(struct vio_blk *blk)
{
	struct vio_blk_req *r = blk->free_list;

	if (r == NULL)
		return NULL;
	blk->free_list = r->next_free;
	r->next_free = NULL;
	r->busy = true;
	r->gen = blk->gen;
	r->orphan = false;
	r->prov = NULL;
	r->in_submit = false;
	r->sync_done = false;
	r->used_len = 1;
	r->data_first = 0;
	r->data_niov = 0;
	r->seg_next = 0;
	r->seg_count = 0;
	r->req.iov = r->iov;
	r->req.cap = VIO_BLK_SLOT_SEGS;
	blk->inflight++;
	return r;
}

static void slot_put(struct vio_blk *blk, struct vio_blk_req *r)
{
	r->busy = false;
	r->status = NULL;
	r->next_free = blk->free_list;
	blk->free_list = r;
	blk->inflight--;
}

/* The last byte of the last writable segment, where the spec puts the status. */
static uint8_t *blk_status_byte(struct vio_blk_req *r)
{
	const struct vio_iov *last;
	uint32_t n = (uint32_t) r->req.nread + r->req.nwrite;

	if (r->req.nwrite == 0 || n > VIO_BLK_SLOT_SEGS)
		return NULL;
	last = &r->iov[n - 1];
	if (last->len == 0)
		return NULL;
	return last->base + last->len - 1;
}

/* Queue q can still take a used entry: a reset or a broken ring stops that. */
static bool blk_can_push(const struct vio_blk *blk, uint16_t q)
{
	const struct vio_vq *vq;

	if (q >= blk->dev.num_queues)
		return false;
	vq = &blk->dev.queues[q].vq;
	return vq->ready && vq->error == 0;
}

/* Writes the status and returns the buffer; says whether an entry was pushed. */
static bool blk_finish(struct vio_blk *blk, struct vio_blk_req *r, int st)
{
	uint16_t q = r->queue;
	bool pushed = false;

	if (blk_can_push(blk, q)) {
		*r->status = (uint8_t) st;
		vio_vq_push(&blk->dev.queues[q].vq, r->req.id, r->req.ndesc,
			    st == VIO_BLK_S_OK ? r->used_len : 1u);
		pushed = true;
	}
	slot_put(blk, r);
	return pushed;
}

/* Data the driver wants filled: the writable segments less the status byte. */
static void blk_data_writable(struct vio_blk_req *r)
{
	struct vio_iov *last = &r->iov[r->req.nread + r->req.nwrite - 1];

	r->data_first = r->req.nread;
	r->data_niov = r->req.nwrite;
	last->len--;
	if (last->len == 0)
		r->data_niov--;
}

/* Data the driver sent: the readable segments past the header, trimmed in place. */
static void blk_data_readable(struct vio_blk_req *r)
{
	uint32_t skip = VIO_BLK_REQ_HDR;
	uint16_t i = 0;

	while (i < r->req.nread && skip >= r->iov[i].len) {
		skip -= r->iov[i].len;
		i++;
	}
	if (i < r->req.nread) {
		r->iov[i].base += skip;
		r->iov[i].len -= skip;
	}
	r->data_first = i;
	r->data_niov = (uint16_t) (r->req.nread - i);
}

/*
 * Reads and checks discard / write-zeroes segment i. The driver can rewrite
 * its buffer at any time, so a segment is checked each time it is read.
 */
static int blk_read_seg(const struct vio_blk *blk, const struct vio_blk_req *r, uint32_t i,
			uint64_t *sector, uint32_t *nsectors, bool *unmap)
{
	bool wz = r->type == VIO_BLK_T_WRITE_ZEROES;
	uint8_t seg[VIO_BLK_DWZ_SEG] = {0};
	uint32_t flags;

	vio_iov_to_buf(r->iov, r->req.nread, VIO_BLK_REQ_HDR + i * VIO_BLK_DWZ_SEG, seg,
		       sizeof(seg));
	*sector = vio_get_le64(seg);
	*nsectors = vio_get_le32(seg + 8);
	flags = vio_get_le32(seg + 12);
	*unmap = (flags & VIO_BLK_WZ_F_UNMAP) != 0;
	/* unmap is a write-zeroes flag only; on a discard it is unsupported too */
	if ((flags & ~(wz ? VIO_BLK_WZ_F_UNMAP : 0u)) != 0)
		return VIO_BLK_S_UNSUPP;
	if (*nsectors > (wz ? blk->max_write_zeroes_sectors : blk->max_discard_sectors))
		return VIO_BLK_S_IOERR;
	if (!blk_range_ok(blk, *sector, *nsectors))
		return VIO_BLK_S_IOERR;
	return VIO_BLK_S_OK;
}

/* Issues the next discard / write-zeroes segment. */
static int blk_call_seg(struct vio_blk *blk, struct vio_blk_req *r)
{
	uint64_t sector;
	uint32_t n;
	bool unmap;
	int st = blk_read_seg(blk, r, r->seg_next, &sector, &n, &unmap);

	r->seg_next++;
	if (st != VIO_BLK_S_OK)
		return VIO_BLK_S_IOERR; /* it passed the first check: the driver changed it */
	if (n == 0)
		return VIO_BLK_S_OK;
	if (r->type == VIO_BLK_T_WRITE_ZEROES)
		return blk->ops->write_zeroes(blk->ctx, sector, n, unmap, r);
	return blk->ops->discard(blk->ctx, sector, n, r);
}

static int blk_call(struct vio_blk *blk, struct vio_blk_req *r)
{
	const struct vio_iov *d = &r->iov[r->data_first];

	switch (r->type) {
	case VIO_BLK_T_IN:
		return blk->ops->read(blk->ctx, r->sector, d, r->data_niov, r);
	case VIO_BLK_T_OUT:
		return blk->ops->write(blk->ctx, r->sector, d, r->data_niov, r);
	case VIO_BLK_T_FLUSH:
		return blk->ops->flush(blk->ctx, r);
	default:
		return blk_call_seg(blk, r);
	}
}

static bool blk_more(const struct vio_blk_req *r)
{
	return (r->type == VIO_BLK_T_DISCARD || r->type == VIO_BLK_T_WRITE_ZEROES) &&
	       r->seg_next < r->seg_count;
}

/*
 * Runs the request's provider steps until one is left pending or the request
 * is done. A provider that completes from inside its own call is caught by
 * in_submit, so completion never recurses into the next step.
 */
static int blk_issue(struct vio_blk *blk, struct vio_blk_req *r)
{
	for (;;) {
		int st;

		r->in_submit = true;
		r->sync_done = false;
		st = blk_call(blk, r);
		r->in_submit = false;
		if (r->sync_done)
			st = r->sync_status;
		else if (st == VIO_BLK_PENDING)
			return VIO_BLK_PENDING;
		st = blk_norm(st);
		if (st != VIO_BLK_S_OK || !blk_more(r))
			return st;
	}
}

static int blk_start_rw(struct vio_blk *blk, struct vio_blk_req *r)
{
	bool in = r->type == VIO_BLK_T_IN;
	uint32_t len;

	if (!in && blk_offered(blk, VIO_BLK_F_RO))
		return VIO_BLK_S_IOERR;
	if (in) {
		if (r->req.read_len != VIO_BLK_REQ_HDR)
			return VIO_BLK_S_IOERR; /* readable data on a read */
		len = r->req.write_len - 1;
		blk_data_writable(r);
	} else {
		if (r->req.write_len != 1)
			return VIO_BLK_S_IOERR; /* writable data on a write */
		len = r->req.read_len - VIO_BLK_REQ_HDR;
		blk_data_readable(r);
	}
	if (len % VIO_BLK_SECTOR_SIZE != 0)
		return VIO_BLK_S_IOERR;
	if (!blk_range_ok(blk, r->sector, len / VIO_BLK_SECTOR_SIZE))
		return VIO_BLK_S_IOERR;
	if (in)
		r->used_len = len + 1;
	if (len == 0)
		return VIO_BLK_S_OK;
	return blk_issue(blk, r);
}

static int blk_start_dwz(struct vio_blk *blk, struct vio_blk_req *r)
{
	bool wz = r->type == VIO_BLK_T_WRITE_ZEROES;
	uint32_t len;
	int st = VIO_BLK_S_OK;

	if (!vio_device_has(&blk->dev, wz ? VIO_BLK_F_WRITE_ZEROES : VIO_BLK_F_DISCARD))
		return VIO_BLK_S_UNSUPP;
	if (blk_offered(blk, VIO_BLK_F_RO) || r->req.write_len != 1)
		return VIO_BLK_S_IOERR;
	len = r->req.read_len - VIO_BLK_REQ_HDR;
	if (len == 0 || len % VIO_BLK_DWZ_SEG != 0)
		return VIO_BLK_S_IOERR;
	r->seg_count = len / VIO_BLK_DWZ_SEG;
	if (r->seg_count > (wz ? blk->max_write_zeroes_seg : blk->max_discard_seg))
		return VIO_BLK_S_UNSUPP;
	/* Check every segment first: an unsupported flag anywhere must touch nothing. */
	for (uint32_t i = 0; i < r->seg_count; i++) {
		uint64_t sector;
		uint32_t n;
		bool unmap;
		int s = blk_read_seg(blk, r, i, &sector, &n, &unmap);

		if (s == VIO_BLK_S_UNSUPP)
			return s;
		if (s != VIO_BLK_S_OK)
			st = s;
	}
	if (st != VIO_BLK_S_OK)
		return st;
	return blk_issue(blk, r);
}

static int blk_get_id(struct vio_blk *blk, struct vio_blk_req *r)
{
	uint32_t len;

	if (r->req.read_len != VIO_BLK_REQ_HDR || r->req.write_len < 2)
		return VIO_BLK_S_IOERR;
	len = r->req.write_len - 1;
	if (len > VIO_BLK_ID_BYTES)
		len = VIO_BLK_ID_BYTES;
	blk_data_writable(r);
	r->used_len =
	    vio_iov_from_buf(&r->iov[r->data_first], r->data_niov, 0, blk->serial, len) + 1;
	return VIO_BLK_S_OK;
}

/* Checks a popped request's shape and header; returns its status or VIO_BLK_PENDING. */
static int blk_start(struct vio_blk *blk, struct vio_blk_req *r)
{
	uint8_t hdr[VIO_BLK_REQ_HDR];

	if (r->req.flags & VIO_REQ_F_OVERFLOW)
		return VIO_BLK_S_IOERR;
	if (r->req.read_len < VIO_BLK_REQ_HDR)
		return VIO_BLK_S_IOERR;
	vio_iov_to_buf(r->iov, r->req.nread, 0, hdr, sizeof(hdr));
	r->type = vio_get_le32(hdr);
	r->sector = vio_get_le64(hdr + 8);
	switch (r->type) {
	case VIO_BLK_T_IN:
	case VIO_BLK_T_OUT:
		return blk_start_rw(blk, r);
	case VIO_BLK_T_FLUSH:
		/* the spec asks drivers for sector 0 and no data; neither matters here */
		if (!blk_offered(blk, VIO_BLK_F_FLUSH))
			return VIO_BLK_S_UNSUPP;
		return blk_issue(blk, r);
	case VIO_BLK_T_GET_ID:
		return blk_get_id(blk, r);
	case VIO_BLK_T_DISCARD:
	case VIO_BLK_T_WRITE_ZEROES:
		return blk_start_dwz(blk, r);
	default:
		return VIO_BLK_S_UNSUPP;
	}
}

/* Takes requests from queue q while slots last; publishes what finished at once. */
static void blk_run_queue(struct vio_blk *blk, uint16_t q)
{
	bool pushed = false;
	uint16_t pending = 0;

	while (vio_device_queue_live(&blk->dev, q)) {
		struct vio_blk_req *r = slot_get(blk);
		int st;

		if (r == NULL) {
			blk->starved = true;
			break;
		}
		if (vio_device_pop(&blk->dev, q, &r->req) != 1) {
			slot_put(blk, r);
			break;
		}
		r->queue = q;
		r->status = blk_status_byte(r);
		if (r->status == NULL) {
			/* nowhere to put a status: return the buffer untouched */
			vio_vq_push(&blk->dev.queues[q].vq, r->req.id, r->req.ndesc, 0);
			slot_put(blk, r);
			pushed = true;
			continue;
		}
		st = blk_start(blk, r);
		if (st != VIO_BLK_PENDING) {
			pushed |= blk_finish(blk, r, st);
		} else if (blk->submit_batch > 0 && ++pending >= blk->submit_batch) {
			/* what finished so far is published before the provider completes more */
			if (pushed)
				vio_device_flush(&blk->dev, q);
			pushed = false;
			pending = 0;
			blk->ops->submit(blk->ctx);
		}
	}
	if (pushed)
		vio_device_flush(&blk->dev, q);
}

/*
 * Processes queue q, or every queue when all is set. Kicks and freed slots
 * that arrive while the loop runs (from a provider call) only ask for another
 * round, so the loop never re-enters itself.
 */
static void blk_run(struct vio_blk *blk, uint16_t q, bool all)
{
	if (blk->running) {
		blk->rerun = true;
		return;
	}
	blk->running = true;
	blk->rerun = all;
	if (!all)
		blk_run_queue(blk, q);
	while (blk->rerun) {
		blk->rerun = false;
		for (uint16_t i = 0; i < blk->dev.num_queues; i++)
			blk_run_queue(blk, i);
	}
	blk->running = false;
}

void vio_blk_complete(struct vio_blk_req *r, int status)
{
	struct vio_blk *blk;
	int st = blk_norm(status);

	if (r == NULL || !r->busy)
		return;
	if (r->in_submit) {
		r->sync_done = true;
		r->sync_status = (uint8_t) st;
		return;
	}
	blk = r->blk;
	if (r->gen != blk->gen || r->orphan) {
		slot_put(blk, r); /* orphaned by a reset: the ring is not ours to touch */
	} else {
		uint16_t q = r->queue;

		if (st == VIO_BLK_S_OK && blk_more(r)) {
			st = blk_issue(blk, r);
			if (st == VIO_BLK_PENDING)
				return;
		}
		if (blk_finish(blk, r, st))
			vio_device_flush(&blk->dev, q);
	}
	if (blk->starved) {
		blk->starved = false;
		blk_run(blk, 0, true);
	}
}

uint16_t vio_blk_inflight(const struct vio_blk *blk)
{
	return blk->inflight;
}

bool vio_blk_writeback(const struct vio_blk *blk)
{
	if (!blk_offered(blk, VIO_BLK_F_FLUSH))
		return false;
	if (vio_device_has(&blk->dev, VIO_BLK_F_CONFIG_WCE))
		return blk->config[VIO_BLK_CFG_WRITEBACK] != 0;
	/* FLUSH offered but not negotiated: the driver cannot flush, so writes must be stable */
	return vio_device_has(&blk->dev, VIO_BLK_F_FLUSH);
}

static void blk_tell_writeback(struct vio_blk *blk)
{
	if (blk->ops->set_writeback != NULL)
		blk->ops->set_writeback(blk->ctx, vio_blk_writeback(blk));
}

void vio_blk_set_capacity(struct vio_blk *blk, uint64_t sectors)
{
	blk->capacity = sectors;
	vio_put_le64(blk->config + VIO_BLK_CFG_CAPACITY, sectors);
	vio_device_config_changed(&blk->dev);
}

static int blk_validate_features(struct vio_device *dev, uint64_t features)
{
	struct vio_blk *blk = dev->priv;

	/* the spec's rule: CONFIG_WCE without FLUSH starts in writethrough */
	if ((features & VIO_BIT(VIO_BLK_F_CONFIG_WCE)) && !(features & VIO_BIT(VIO_BLK_F_FLUSH)))
		blk->config[VIO_BLK_CFG_WRITEBACK] = 0;
	return 0;
}

static int blk_write_config(struct vio_device *dev, uint32_t off, const void *buf, uint32_t len)
{
	struct vio_blk *blk = dev->priv;
	uint8_t v;

	if (off != VIO_BLK_CFG_WRITEBACK || len != 1 || !(dev->status & VIO_STATUS_FEATURES_OK) ||
	    !vio_device_has(dev, VIO_BLK_F_CONFIG_WCE))
		return -VIO_EPERM;
	memcpy(&v, buf, 1);
	if (v > 1)
		return -VIO_EINVAL;
	if (blk->config[VIO_BLK_CFG_WRITEBACK] != v) {
		blk->config[VIO_BLK_CFG_WRITEBACK] = v;
		blk_tell_writeback(blk);
	}
	return 0;
}

static int blk_dev_start(struct vio_device *dev)
{
	struct vio_blk *blk = dev->priv;

	blk_tell_writeback(blk);
	return 0;
}

static void blk_dev_reset(struct vio_device *dev)
{
	struct vio_blk *blk = dev->priv;

	blk->gen++;
	blk->starved = false;
	blk->config[VIO_BLK_CFG_WRITEBACK] = blk->writeback_reset;
}

/* One queue reset (VIRTIO_F_RING_RESET): its requests in flight become orphans. */
static void blk_queue_reset(struct vio_device *dev, uint16_t q)
{
	struct vio_blk *blk = dev->priv;

	for (uint16_t i = 0; i < blk->nslots; i++)
		if (blk->slots[i].busy && blk->slots[i].queue == q)
			blk->slots[i].orphan = true;
}

static void blk_queue_notify(struct vio_device *dev, uint16_t q)
{
	struct vio_blk *blk = dev->priv;

	if (q < dev->num_queues)
		blk_run(blk, q, false);
}

static const struct vio_device_ops blk_dev_ops = {
    .validate_features = blk_validate_features,
    .write_config = blk_write_config,
    .start = blk_dev_start,
    .reset = blk_dev_reset,
    .queue_reset = blk_queue_reset,
    .queue_notify = blk_queue_notify,
};

static bool blk_params_ok(const struct vio_blk_params *p, const struct vio_blk_ops *ops)
{
	uint64_t f = p->features;

	if ((f & ~(BLK_OWN_FEATURES | BLK_RING_FEATURES)) != 0 || ops->read == NULL)
		return false;
	if (!(f & VIO_BIT(VIO_BLK_F_RO)) && ops->write == NULL)
		return false;
	if ((f & VIO_BIT(VIO_BLK_F_FLUSH)) && ops->flush == NULL)
		return false;
	if ((f & VIO_BIT(VIO_BLK_F_CONFIG_WCE)) && !(f & VIO_BIT(VIO_BLK_F_FLUSH)))
		return false;
	if ((f & VIO_BIT(VIO_BLK_F_DISCARD)) &&
	    (ops->discard == NULL || p->max_discard_sectors == 0 || p->max_discard_seg == 0))
		return false;
	if ((f & VIO_BIT(VIO_BLK_F_WRITE_ZEROES)) &&
	    (ops->write_zeroes == NULL || p->max_write_zeroes_sectors == 0 ||
	     p->max_write_zeroes_seg == 0))
		return false;
	if ((f & VIO_BIT(VIO_BLK_F_SEG_MAX)) &&
	    (p->seg_max == 0 || p->seg_max > VIO_BLK_SLOT_SEGS - 2))
		return false;
	if ((f & VIO_BIT(VIO_BLK_F_BLK_SIZE)) &&
	    (p->blk_size < VIO_BLK_SECTOR_SIZE || (p->blk_size & (p->blk_size - 1)) != 0))
		return false;
	if ((f & VIO_BIT(VIO_BLK_F_MQ)) ? p->num_queues == 0 : p->num_queues != 1)
		return false;
	return p->queue_size != 0 && p->queue_size <= VIO_VQ_MAX_SIZE;
}

static void blk_fill_config(uint8_t *c, const struct vio_blk_params *p)
{
	uint64_t f = p->features;

	memset(c, 0, VIO_BLK_CONFIG_SIZE);
	vio_put_le64(c + VIO_BLK_CFG_CAPACITY, p->capacity);
	if (f & VIO_BIT(VIO_BLK_F_SIZE_MAX))
		vio_put_le32(c + VIO_BLK_CFG_SIZE_MAX, p->size_max);
	if (f & VIO_BIT(VIO_BLK_F_SEG_MAX))
		vio_put_le32(c + VIO_BLK_CFG_SEG_MAX, p->seg_max);
	if (f & VIO_BIT(VIO_BLK_F_BLK_SIZE))
		vio_put_le32(c + VIO_BLK_CFG_BLK_SIZE, p->blk_size);
	if (f & VIO_BIT(VIO_BLK_F_TOPOLOGY)) {
		c[VIO_BLK_CFG_PHYSICAL_BLOCK_EXP] = p->physical_block_exp;
		c[VIO_BLK_CFG_ALIGNMENT_OFFSET] = p->alignment_offset;
		vio_put_le16(c + VIO_BLK_CFG_MIN_IO_SIZE, p->min_io_size);
		vio_put_le32(c + VIO_BLK_CFG_OPT_IO_SIZE, p->opt_io_size);
	}
	if (f & VIO_BIT(VIO_BLK_F_CONFIG_WCE))
		c[VIO_BLK_CFG_WRITEBACK] = p->writeback ? 1 : 0;
	if (f & VIO_BIT(VIO_BLK_F_MQ))
		vio_put_le16(c + VIO_BLK_CFG_NUM_QUEUES, p->num_queues);
	if (f & VIO_BIT(VIO_BLK_F_DISCARD)) {
		vio_put_le32(c + VIO_BLK_CFG_MAX_DISCARD_SECTORS, p->max_discard_sectors);
		vio_put_le32(c + VIO_BLK_CFG_MAX_DISCARD_SEG, p->max_discard_seg);
		vio_put_le32(c + VIO_BLK_CFG_DISCARD_SECTOR_ALIGNMENT, p->discard_sector_alignment);
	}
	if (f & VIO_BIT(VIO_BLK_F_WRITE_ZEROES)) {
		vio_put_le32(c + VIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS, p->max_write_zeroes_sectors);
		vio_put_le32(c + VIO_BLK_CFG_MAX_WRITE_ZEROES_SEG, p->max_write_zeroes_seg);
		c[VIO_BLK_CFG_WRITE_ZEROES_MAY_UNMAP] = p->write_zeroes_may_unmap ? 1 : 0;
	}
}

int vio_blk_init(struct vio_blk *blk, const struct vio_blk_params *p, const struct vio_blk_ops *ops,
		 void *ctx, struct vio_queue *queues, struct vio_blk_req *slots, uint16_t nslots)
{
	if (blk == NULL || p == NULL || ops == NULL || queues == NULL || slots == NULL ||
	    nslots == 0 || !blk_params_ok(p, ops))
		return -VIO_EINVAL;
	memset(blk, 0, sizeof(*blk));
	blk->ops = ops;
	blk->ctx = ctx;
	blk->submit_batch = ops->submit != NULL ? p->submit_batch : 0;
	blk->capacity = p->capacity;
	blk->max_discard_sectors = p->max_discard_sectors;
	blk->max_discard_seg = p->max_discard_seg;
	blk->max_write_zeroes_sectors = p->max_write_zeroes_sectors;
	blk->max_write_zeroes_seg = p->max_write_zeroes_seg;
	memcpy(blk->serial, p->serial, VIO_BLK_ID_BYTES);
	blk_fill_config(blk->config, p);
	blk->writeback_reset = blk->config[VIO_BLK_CFG_WRITEBACK];
	blk->slots = slots;
	blk->nslots = nslots;
	for (uint16_t i = nslots; i-- > 0;) {
		memset(&slots[i], 0, sizeof(slots[i]));
		slots[i].blk = blk;
		slots[i].next_free = blk->free_list;
		blk->free_list = &slots[i];
	}
	vio_device_init(&blk->dev, &blk_dev_ops, blk, VIO_ID_BLK, p->features, queues,
			p->num_queues, p->queue_size, blk->config, VIO_BLK_CONFIG_SIZE);
	return 0;
}
