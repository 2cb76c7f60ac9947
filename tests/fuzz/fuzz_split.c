/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the device side of a split virtqueue driven by a hostile driver.
 *
 * Input layout (little-endian; missing bytes read as zero):
 *   0   queue size as log2 (size = 1 << (b % 9), so 1 .. 256)
 *   1   flags: 1 INDIRECT_DESC, 2 EVENT_IDX, 4 two windows, 8 window 1 adjacent
 *       to window 0, 16 ring addresses from bytes 12..23, 32 set_base from bytes
 *       8..9, 64 notifications off at start
 *   2   access of window 0 (bits 0-1) and window 1 (bits 2-3); 0 means RW
 *   3   iov capacity (0 .. 255)
 *   4   le16 window 0 length: extra bytes after the default ring layout, or the
 *       whole length when ring addresses come from the input
 *   6   le16 window 1 length - 1
 *   8   le16 base (vio_vq_set_base)
 *   10  byte written into every writable segment
 *   11  bus address selector of window 0 (see fz_base)
 *   12  le32 x3: desc, avail, used offsets from window 0's bus address
 *   24  4 rounds of: le16 avail.idx increment, u8 push mask, u8 round ops
 *   40  window contents: window 0, then window 1
 *
 * The default ring layout is the driver's (vio_drvq_init): descriptor table at
 * window 0's start, avail ring after it, used ring after that at 4-byte
 * alignment. A model of the ring state predicts each pop and the reference
 * walker predicts each chain.
 */
#include "fuzz_util.h"

#include "vioport/errno.h"

#define HDR_LEN 40
#define ROUNDS	4

/* Round ops. */
#define OP_FLUSH_EACH  1u  /* flush after every pop */
#define OP_PUSH_ALL    2u  /* push everything still in flight at the end of the round */
#define OP_ENABLE      4u  /* vio_vq_notify_enable before the round */
#define OP_DISABLE     8u  /* vio_vq_notify_disable before the round */
#define OP_REVERSE     16u /* push the leftovers newest first */
#define OP_CHECK_AVAIL 32u

struct pending {
	uint16_t id, ndesc;
	uint32_t len;
};

/* What the ring should look like from the device's side, tracked independently. */
struct model {
	uint16_t size, last, shadow, inflight, used, published;
	bool valid; /* a flush has published something since set-up */
	bool event_idx, indirect, notify_off;
	int error;
};

static struct fz_ref ref;
static struct pending pend[512];

static uint16_t avail_get(const struct vio_vq *vq, unsigned i)
{
	return vio_get_le16(&vq->avail[i]);
}

/* Predicts a pop: 1 with ref filled, 0 for an empty ring, -1 for a broken rule. */
static int model_pop(struct model *md, const struct vio_vq *vq, const struct fz_mem *m,
		     uint16_t *head_out)
{
	uint8_t seen[256] = {0};
	uint16_t head, i;

	if (md->last == md->shadow) {
		uint16_t idx = avail_get(vq, 1);

		if ((uint16_t) (idx - md->last) > md->size)
			return -1;
		md->shadow = idx;
		if (idx == md->last)
			return 0;
	}
	if (md->inflight >= md->size)
		return -1;
	head = avail_get(vq, 2u + (md->last & (md->size - 1u)));
	if (head >= md->size)
		return -1;
	*head_out = head;
	fz_ref_begin(&ref);
	for (i = head;;) {
		const uint8_t *d = (const uint8_t *) &vq->desc[i];
		uint16_t flags = vio_get_le16(d + 12);

		if (flags & VIO_DESC_F_INDIRECT) {
			if (!md->indirect || (flags & VIO_DESC_F_NEXT))
				return -1;
			return fz_ref_indirect(m, &ref, vio_get_le64(d), vio_get_le32(d + 8), false)
				   ? 1
				   : -1;
		}
		if (!fz_ref_buf(m, &ref, vio_get_le64(d), vio_get_le32(d + 8),
				(flags & VIO_DESC_F_WRITE) != 0))
			return -1;
		seen[i] = 1;
		if (!(flags & VIO_DESC_F_NEXT))
			return 1;
		i = vio_get_le16(d + 14);
		if (i >= md->size || seen[i])
			return -1;
	}
}

/* Says whether set-up must succeed: rings apart, inside windows, aligned. */
static bool setup_ok(const struct fz_mem *m, uint16_t qsize, uint64_t desc, uint64_t avail,
		     uint64_t used)
{
	uint64_t dl = VIO_SPLIT_DESC_SIZE(qsize), al = VIO_SPLIT_AVAIL_SIZE(qsize);
	uint64_t ul = VIO_SPLIT_USED_SIZE(qsize);
	uint8_t *d = fz_whole(m, desc, dl, VIO_ACCESS_READ);
	uint8_t *a = fz_whole(m, avail, al, VIO_ACCESS_READ);
	uint8_t *u = fz_whole(m, used, ul, VIO_ACCESS_RW);

	/* Overlap is judged on bus ranges, which never wrap once translated. */
	if ((used < desc + dl && desc < used + ul) || (used < avail + al && avail < used + ul))
		return false;
	if (d == NULL || a == NULL || u == NULL)
		return false;
	return ((desc | (uintptr_t) d) & 15u) == 0 && ((avail | (uintptr_t) a) & 1u) == 0 &&
	       ((used | (uintptr_t) u) & 3u) == 0;
}

/* Once broken, the queue answers the same error and writes nothing. */
static void check_broken(struct vio_vq *vq, struct vio_req *req, const struct fz_mem *m, int err)
{
	size_t ulen = VIO_SPLIT_USED_SIZE(vq->size);
	uint8_t *snap = malloc(ulen);

	FZ_CHECK(snap != NULL);
	memcpy(snap, vq->used, ulen);
	for (int k = 0; k < 2; k++)
		FZ_CHECK(vio_vq_pop(vq, req) == err);
	vio_vq_push(vq, 0, 1, 0);
	FZ_CHECK(!vio_vq_flush(vq));
	FZ_CHECK(!vio_vq_has_avail(vq));
	FZ_CHECK(!vio_vq_notify_enable(vq));
	vio_vq_notify_disable(vq);
	FZ_CHECK(vq->event_idx || memcmp(snap + 2, (uint8_t *) vq->used + 2, ulen - 2) == 0);
	FZ_CHECK(!vq->event_idx || memcmp(snap, vq->used, ulen) == 0);
	free(snap);
	(void) m;
}

static void push_one(struct vio_vq *vq, struct model *md, const struct pending *p)
{
	const struct vio_used_elem *e;

	vio_vq_push(vq, p->id, p->ndesc, p->len);
	e = &vq->used_ring[md->used & (md->size - 1u)];
	FZ_CHECK(vio_le32(e->id) == p->id && vio_le32(e->len) == p->len);
	md->used++;
	if (md->inflight > 0)
		md->inflight--;
}

/* Flushes and checks the used index and the interrupt decision. */
static void flush_check(struct vio_vq *vq, struct model *md)
{
	bool irq = vio_vq_flush(vq);

	if (md->used == md->published) {
		FZ_CHECK(!irq);
		return;
	}
	FZ_CHECK(vio_get_le16(&vq->used[1]) == md->used);
	if (!md->event_idx) {
		FZ_CHECK(irq == !(avail_get(vq, 0) & VIO_AVAIL_F_NO_INTERRUPT));
	} else {
		uint16_t ev = avail_get(vq, 2u + md->size);

		/* A missed interrupt hangs the driver: never allowed. */
		if (!md->valid || vio_need_event(ev, md->used, md->published))
			FZ_CHECK(irq);
		else
			FZ_CHECK(!irq);
	}
	md->published = md->used;
	md->valid = true;
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
	uint64_t desc, avail, used, ring, len0, len1, features = 0;
	uint16_t qsize, cap, base;
	uint8_t flags, acc, fill, sel;
	unsigned npend = 0;
	int rc;

	memcpy(hdr, data, size < HDR_LEN ? size : HDR_LEN);
	in.p += size < HDR_LEN ? size : HDR_LEN;
	in.n -= size < HDR_LEN ? size : HDR_LEN;
	qsize = (uint16_t) (1u << (fz_u8(&h) % 9u));
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
	avail = fz_u32(&h);
	used = fz_u32(&h);

	/* The driver's layout unless the input places the rings itself. */
	ring = (VIO_SPLIT_DESC_SIZE(qsize) + VIO_SPLIT_AVAIL_SIZE(qsize) + 3u) & ~3ull;
	if (flags & 16u) {
		len0 = (len0 & 0x7fffu) + 1;
	} else {
		desc = 0;
		avail = VIO_SPLIT_DESC_SIZE(qsize);
		used = ring;
		len0 = ring + VIO_SPLIT_USED_SIZE(qsize) + (len0 & 0x3fffu);
	}
	fz_mem_init(&m, &in, len0, len1, sel, (flags & 8u) != 0, fz_access(acc),
		    fz_access(acc >> 2));
	if (flags & 1u)
		features |= VIO_BIT(VIO_F_INDIRECT_DESC);
	if (flags & 2u)
		features |= VIO_BIT(VIO_F_EVENT_IDX);

	desc += fz_base(sel, len0);
	avail += fz_base(sel, len0);
	used += fz_base(sel, len0);
	memset(&vq, 0, sizeof(vq));
	rc = vio_vq_setup_split(&vq, &m.map, qsize, desc, avail, used, features);
	req.iov = malloc(sizeof(struct vio_iov) * cap);
	req.cap = cap;
	FZ_CHECK(req.iov != NULL || cap == 0);
	FZ_CHECK((rc == 0) == setup_ok(&m, qsize, desc, avail, used));
	if (rc < 0) {
		FZ_CHECK(!vq.ready && vio_vq_pop(&vq, &req) == 0 && !vio_vq_flush(&vq));
		goto out;
	}
	/* Every ring is where the windows say, with the access it needs. */
	FZ_CHECK((uint8_t *) vq.desc == fz_whole(&m, desc, 1, VIO_ACCESS_READ));
	FZ_CHECK((uint8_t *) vq.avail == fz_whole(&m, avail, 1, VIO_ACCESS_READ));
	FZ_CHECK((uint8_t *) vq.used == fz_whole(&m, used, 1, VIO_ACCESS_RW));

	md.size = qsize;
	md.event_idx = (flags & 2u) != 0;
	md.indirect = (flags & 1u) != 0;
	if (flags & 32u) {
		FZ_CHECK(vio_vq_set_base(&vq, base) == 0);
		FZ_CHECK(vio_vq_get_base(&vq) == base);
		md.last = md.shadow = md.used = md.published = base;
	}
	if (flags & 64u) {
		vio_vq_notify_disable(&vq);
		md.notify_off = true;
	}

	for (unsigned r = 0; r < ROUNDS && md.error == 0; r++) {
		uint16_t delta = fz_u16(&h);
		uint8_t mask = fz_u8(&h), ops = fz_u8(&h);

		vio_put_le16(&vq.avail[1], (uint16_t) (avail_get(&vq, 1) + delta));
		if (ops & OP_DISABLE) {
			vio_vq_notify_disable(&vq);
			md.notify_off = true;
		}
		if (ops & OP_ENABLE) {
			bool more = vio_vq_notify_enable(&vq);

			md.notify_off = false;
			FZ_CHECK(more == (avail_get(&vq, 1) != md.last));
			if (md.event_idx)
				FZ_CHECK(vio_get_le16(&vq.used_ring[qsize]) == md.shadow);
		}
		if (ops & OP_CHECK_AVAIL)
			FZ_CHECK(vio_vq_has_avail(&vq) == (avail_get(&vq, 1) != md.last));

		for (unsigned i = 0; i < 2u * qsize + 2u; i++) {
			uint16_t head = 0;
			int want = model_pop(&md, &vq, &m, &head);

			rc = vio_vq_pop(&vq, &req);
			if (want < 0) {
				FZ_CHECK(rc < 0);
				md.error = rc;
				check_broken(&vq, &req, &m, rc);
				break;
			}
			FZ_CHECK(rc == want);
			if (rc == 0)
				break;
			FZ_CHECK(req.id == head && req.ndesc == 1);
			if (md.event_idx && !md.notify_off)
				FZ_CHECK(vio_get_le16(&vq.used_ring[qsize]) ==
					 (uint16_t) (md.last + 1));
			md.last++;
			md.inflight++;
			fz_check_req(&m, &ref, &req, fill);
			pend[npend++] = (struct pending){req.id, req.ndesc, req.write_len};
			if (mask & (1u << (i & 7u)))
				push_one(&vq, &md, &pend[--npend]);
			if (ops & OP_FLUSH_EACH)
				flush_check(&vq, &md);
		}
		if (md.error != 0)
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
		/* Nothing new: a second flush never interrupts. */
		FZ_CHECK(!vio_vq_flush(&vq));
		FZ_CHECK(vio_vq_get_base(&vq) == md.last);
	}
out:
	free(req.iov);
	fz_mem_free(&m);
	return 0;
}
