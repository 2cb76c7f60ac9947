/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the device side of a packed virtqueue driven by a hostile driver.
 *
 * Input layout (little-endian; missing bytes read as zero):
 *   0   queue size - 1 (1 .. 256)
 *   1   flags: 1 INDIRECT_DESC, 2 EVENT_IDX, 4 two windows, 8 window 1 adjacent
 *       to window 0, 16 ring addresses from bytes 12..23, 32 set_base from bytes
 *       8..9, 64 notifications off at start
 *   2   access of window 0 (bits 0-1) and window 1 (bits 2-3); 0 means RW
 *   3   iov capacity (0 .. 255)
 *   4   le16 window 0 length: extra bytes after the default ring layout, or the
 *       whole length when ring addresses come from the input
 *   6   le16 window 1 length - 1
 *   8   le16 base: bit 15 the wrap counter, the rest the index
 *   10  byte written into every writable segment
 *   11  bus address selector of window 0 (see fz_base)
 *   12  le32 x3: descriptor ring, driver event, device event offsets from
 *       window 0's bus address
 *   24  4 rounds of: le16 descriptors the driver makes available again
 *       (restored from the input, flagged with the driver's wrap counter),
 *       u8 push mask, u8 round ops
 *   40  window contents: window 0, then window 1
 *
 * The default layout puts the descriptor ring at window 0's start, the driver
 * event area after it and the device event area after that. A model of the
 * ring state predicts each pop, push and interrupt decision.
 */
#include "fuzz_util.h"

#include "vioport/errno.h"

#define HDR_LEN 40
#define ROUNDS	4
#define AVAIL	VIO_DESC_F_AVAIL
#define USED	VIO_DESC_F_USED

#define OP_FLUSH_EACH  1u
#define OP_PUSH_ALL    2u
#define OP_ENABLE      4u
#define OP_DISABLE     8u
#define OP_REVERSE     16u
#define OP_CHECK_AVAIL 32u

struct pending {
	uint16_t id, ndesc;
	uint32_t len;
};

/*
 * Positions are kept as a lap index L in [0, 2 * size): the ring position is
 * L % size and the wrap counter is set for L < size, the first lap after reset.
 */
struct model {
	uint16_t size;
	uint32_t avail_l, used_l, flushed_l;
	uint64_t used_total, flushed_total;
	uint16_t inflight;
	bool valid, event_idx, indirect;
};

static struct fz_ref ref;
static struct pending pend[512];

static uint32_t lap(const struct model *md, uint16_t pos, bool wrap)
{
	return pos + (wrap ? 0u : md->size);
}

static uint16_t lpos(const struct model *md, uint32_t l)
{
	return (uint16_t) (l % md->size);
}

static bool lwrap(const struct model *md, uint32_t l)
{
	return l < md->size;
}

static uint32_t ladd(const struct model *md, uint32_t l, uint32_t n)
{
	return (l + n) % (2u * md->size);
}

static uint8_t *pd(const struct vio_vq *vq, uint32_t pos)
{
	return (uint8_t *) &vq->pdesc[pos];
}

static bool is_avail(uint16_t flags, bool wrap)
{
	return ((flags & AVAIL) != 0) == wrap && ((flags & USED) != 0) != wrap;
}

/* Predicts a pop: 1 with ref, *id, *ndesc filled, 0 when nothing is available, -1 broken. */
static int model_pop(struct model *md, const struct vio_vq *vq, const struct fz_mem *m,
		     uint16_t *id_out, uint16_t *ndesc)
{
	uint32_t l = md->avail_l, count = 0;
	uint16_t id = 0;

	if (!is_avail(vio_get_le16(pd(vq, lpos(md, l)) + 14), lwrap(md, l)))
		return 0;
	if (md->inflight >= md->size)
		return -1;
	fz_ref_begin(&ref);
	for (;;) {
		const uint8_t *d = pd(vq, lpos(md, l));
		uint16_t flags = vio_get_le16(d + 14);

		if (++count > md->size)
			return -1;
		if (flags & VIO_DESC_F_INDIRECT) {
			if (!md->indirect || (flags & VIO_DESC_F_NEXT) || count != 1)
				return -1;
			if (!fz_ref_indirect(m, &ref, vio_get_le64(d), vio_get_le32(d + 8), true))
				return -1;
		} else if (!fz_ref_buf(m, &ref, vio_get_le64(d), vio_get_le32(d + 8),
				       (flags & VIO_DESC_F_WRITE) != 0)) {
			return -1;
		}
		id = vio_get_le16(d + 12);
		l = ladd(md, l, 1);
		if (!(flags & VIO_DESC_F_NEXT))
			break;
	}
	if (id >= md->size)
		return -1;
	*id_out = id;
	*ndesc = (uint16_t) count;
	md->avail_l = l;
	return 1;
}

/* Once broken, the queue answers the same error and writes nothing into the ring. */
static void check_broken(struct vio_vq *vq, struct vio_req *req, int err)
{
	size_t dlen = VIO_PACKED_DESC_SIZE(vq->size);
	uint8_t *snap = malloc(dlen);

	FZ_CHECK(snap != NULL);
	memcpy(snap, vq->pdesc, dlen);
	for (int k = 0; k < 2; k++)
		FZ_CHECK(vio_vq_pop(vq, req) == err);
	vio_vq_push(vq, 0, 1, 0);
	FZ_CHECK(!vio_vq_flush(vq));
	FZ_CHECK(!vio_vq_has_avail(vq));
	FZ_CHECK(!vio_vq_notify_enable(vq));
	FZ_CHECK(memcmp(snap, vq->pdesc, dlen) == 0);
	free(snap);
}

static void push_one(struct vio_vq *vq, struct model *md, const struct pending *p)
{
	const uint8_t *d = pd(vq, lpos(md, md->used_l));

	vio_vq_push(vq, p->id, p->ndesc, p->len);
	FZ_CHECK(vio_get_le16(d + 12) == p->id && vio_get_le32(d + 8) == p->len);
	FZ_CHECK(vio_get_le16(d + 14) == (lwrap(md, md->used_l) ? (AVAIL | USED) : 0));
	md->used_l = ladd(md, md->used_l, p->ndesc);
	md->used_total += p->ndesc;
	if (md->inflight > 0)
		md->inflight--;
}

/* Flushes and checks that no interrupt the driver asked for is missed. */
static void flush_check(struct vio_vq *vq, struct model *md)
{
	bool irq = vio_vq_flush(vq);
	uint16_t off_wrap = vio_get_le16(&vq->driver_event[0]);
	uint16_t evf = vio_get_le16(&vq->driver_event[1]);
	uint64_t n = md->used_total - md->flushed_total;

	if (n == 0) {
		/* The first flush may signal to be safe; later ones have nothing new. */
		if (md->valid)
			FZ_CHECK(!irq);
	} else if (evf == VIO_EVENT_F_DISABLE) {
		FZ_CHECK(!irq);
	} else if (evf != VIO_EVENT_F_DESC || !md->event_idx || !md->valid) {
		FZ_CHECK(irq);
	} else if (n < 2u * md->size && (off_wrap & 0x7fffu) < md->size) {
		uint32_t ev = lap(md, off_wrap & 0x7fffu, (off_wrap >> 15) != 0);

		for (uint64_t k = 0; k < n; k++) {
			if (ladd(md, md->flushed_l, (uint32_t) k) == ev)
				FZ_CHECK(irq);
		}
	}
	md->flushed_l = md->used_l;
	md->flushed_total = md->used_total;
	md->valid = true;
}

/* Says whether set-up must succeed: device area apart, rings inside windows, aligned. */
static bool setup_ok(const struct fz_mem *m, uint16_t qsize, uint64_t desc, uint64_t drv,
		     uint64_t dev)
{
	uint64_t dl = VIO_PACKED_DESC_SIZE(qsize), el = VIO_PACKED_EVENT_SIZE;
	uint8_t *d = fz_whole(m, desc, dl, VIO_ACCESS_RW);
	uint8_t *a = fz_whole(m, drv, el, VIO_ACCESS_READ);
	uint8_t *u = fz_whole(m, dev, el, VIO_ACCESS_RW);

	if ((dev < desc + dl && desc < dev + el) || (dev < drv + el && drv < dev + el))
		return false;
	if (d == NULL || a == NULL || u == NULL)
		return false;
	return ((desc | (uintptr_t) d) & 15u) == 0 && ((drv | (uintptr_t) a) & 3u) == 0 &&
	       ((dev | (uintptr_t) u) & 3u) == 0;
}

/*
 * The driver makes the n descriptors from where the device looks next available
 * again, as the input first laid them out.
 */
static void refill(struct vio_vq *vq, struct model *md, const uint8_t *orig, uint16_t n)
{
	uint32_t l = md->avail_l;

	for (uint16_t k = 0; k < n; k++) {
		uint16_t pos = lpos(md, l);
		uint8_t *d = pd(vq, pos);
		uint16_t flags = vio_get_le16(orig + 16u * pos + 14) & (uint16_t) ~(AVAIL | USED);

		memcpy(d, orig + 16u * pos, 14);
		vio_put_le16(d + 14, (uint16_t) (flags | (lwrap(md, l) ? AVAIL : USED)));
		l = ladd(md, l, 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	uint8_t hdr[HDR_LEN] = {0};
	struct fz_in h = {hdr, HDR_LEN};
	struct model md = {0};
	struct vio_vq vq;
	struct vio_req req;
	struct fz_mem m;
	uint64_t desc, drv, dev, len0, len1, features = 0;
	uint16_t qsize, cap, base;
	uint8_t flags, acc, fill, sel, *orig = NULL;
	unsigned npend = 0;
	int rc, err = 0;

	memcpy(hdr, data, size < HDR_LEN ? size : HDR_LEN);
	in.p += size < HDR_LEN ? size : HDR_LEN;
	in.n -= size < HDR_LEN ? size : HDR_LEN;
	qsize = (uint16_t) (fz_u8(&h) + 1u);
	flags = fz_u8(&h);
	acc = fz_u8(&h);
	cap = fz_u8(&h);
	len0 = fz_u16(&h);
	len1 = fz_u16(&h);
	len1 = (flags & 4u) ? (len1 & 0x7fffu) + 1 : 0;
	base = fz_u16(&h);
	fill = fz_u8(&h);
	sel = fz_u8(&h);
	desc = fz_u32(&h);
	drv = fz_u32(&h);
	dev = fz_u32(&h);
	if (flags & 16u) {
		len0 = (len0 & 0x7fffu) + 1;
	} else {
		desc = 0;
		drv = VIO_PACKED_DESC_SIZE(qsize);
		dev = drv + VIO_PACKED_EVENT_SIZE;
		len0 = dev + VIO_PACKED_EVENT_SIZE + (len0 & 0x3fffu);
	}
	fz_mem_init(&m, &in, len0, len1, sel, (flags & 8u) != 0, fz_access(acc),
		    fz_access(acc >> 2));
	if (flags & 1u)
		features |= VIO_BIT(VIO_F_INDIRECT_DESC);
	if (flags & 2u)
		features |= VIO_BIT(VIO_F_EVENT_IDX);
	desc += fz_base(sel, len0);
	drv += fz_base(sel, len0);
	dev += fz_base(sel, len0);

	memset(&vq, 0, sizeof(vq));
	rc = vio_vq_setup_packed(&vq, &m.map, qsize, desc, drv, dev, features);
	req.iov = malloc(sizeof(struct vio_iov) * cap);
	req.cap = cap;
	FZ_CHECK(req.iov != NULL || cap == 0);
	FZ_CHECK((rc == 0) == setup_ok(&m, qsize, desc, drv, dev));
	if (rc < 0) {
		FZ_CHECK(!vq.ready && vio_vq_pop(&vq, &req) == 0 && !vio_vq_flush(&vq));
		goto out;
	}
	FZ_CHECK((uint8_t *) vq.pdesc == fz_whole(&m, desc, 1, VIO_ACCESS_RW));
	FZ_CHECK((uint8_t *) vq.driver_event == fz_whole(&m, drv, 1, VIO_ACCESS_READ));
	FZ_CHECK((uint8_t *) vq.device_event == fz_whole(&m, dev, 1, VIO_ACCESS_RW));
	orig = malloc(VIO_PACKED_DESC_SIZE(qsize));
	FZ_CHECK(orig != NULL);
	memcpy(orig, vq.pdesc, VIO_PACKED_DESC_SIZE(qsize));

	md.size = qsize;
	md.event_idx = (flags & 2u) != 0;
	md.indirect = (flags & 1u) != 0;
	if (flags & 32u) {
		uint16_t idx = base & 0x7fffu;

		rc = vio_vq_set_base(&vq, base);
		FZ_CHECK(rc == (idx < qsize ? 0 : -VIO_EINVAL));
		if (rc == 0) {
			md.avail_l = md.used_l = md.flushed_l = lap(&md, idx, (base >> 15) != 0);
			FZ_CHECK(vio_vq_get_base(&vq) == base);
		}
	}
	if (flags & 64u) {
		vio_vq_notify_disable(&vq);
		FZ_CHECK(vio_get_le16(&vq.device_event[1]) == VIO_EVENT_F_DISABLE);
	}

	for (unsigned r = 0; r < ROUNDS && err == 0; r++) {
		uint16_t n = fz_u16(&h);
		uint8_t mask = fz_u8(&h), ops = fz_u8(&h);

		refill(&vq, &md, orig, (uint16_t) (n % (2u * qsize + 1u)));
		if (ops & OP_DISABLE) {
			vio_vq_notify_disable(&vq);
			FZ_CHECK(vio_get_le16(&vq.device_event[1]) == VIO_EVENT_F_DISABLE);
		}
		if (ops & OP_ENABLE) {
			uint32_t l = md.avail_l;
			bool more = vio_vq_notify_enable(&vq);

			FZ_CHECK(vio_get_le16(&vq.device_event[1]) == VIO_EVENT_F_ENABLE);
			FZ_CHECK(more ==
				 is_avail(vio_get_le16(pd(&vq, lpos(&md, l)) + 14), lwrap(&md, l)));
		}
		if (ops & OP_CHECK_AVAIL) {
			uint32_t l = md.avail_l;

			FZ_CHECK(vio_vq_has_avail(&vq) ==
				 is_avail(vio_get_le16(pd(&vq, lpos(&md, l)) + 14), lwrap(&md, l)));
		}

		for (unsigned i = 0; i < 2u * qsize + 2u; i++) {
			uint16_t id = 0, ndesc = 0;
			int want = model_pop(&md, &vq, &m, &id, &ndesc);

			rc = vio_vq_pop(&vq, &req);
			if (want < 0) {
				FZ_CHECK(rc < 0);
				err = rc;
				check_broken(&vq, &req, rc);
				break;
			}
			FZ_CHECK(rc == want);
			if (rc == 0)
				break;
			FZ_CHECK(req.id == id && req.ndesc == ndesc);
			FZ_CHECK(vio_vq_get_base(&vq) ==
				 (lpos(&md, md.avail_l) | (lwrap(&md, md.avail_l) ? 0x8000u : 0)));
			md.inflight++;
			fz_check_req(&m, &ref, &req, fill);
			pend[npend++] = (struct pending){req.id, req.ndesc, req.write_len};
			if (mask & (1u << (i & 7u)))
				push_one(&vq, &md, &pend[--npend]);
			if (ops & OP_FLUSH_EACH)
				flush_check(&vq, &md);
		}
		if (err != 0)
			break;
		if (ops & OP_PUSH_ALL) {
			while (npend > 0) {
				unsigned k = (ops & OP_REVERSE) ? npend - 1 : 0;
				struct pending p = pend[k];

				memmove(&pend[k], &pend[k + 1], (npend - k - 1) * sizeof(pend[0]));
				npend--;
				push_one(&vq, &md, &p);
			}
		}
		flush_check(&vq, &md);
		FZ_CHECK(!vio_vq_flush(&vq));
	}
out:
	free(orig);
	free(req.iov);
	fz_mem_free(&m);
	return 0;
}
