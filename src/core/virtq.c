/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device-side virtqueue: split and packed chain walkers sharing one segment
 * collector and one indirect-table walker. Every value read from the rings is
 * untrusted; descriptors are copied once before use so a driver rewriting them
 * concurrently cannot change what was checked.
 */
#include "vioport/virtq.h"
#include "vioport/byteorder.h"
#include "vioport/compiler.h"
#include "vioport/errno.h"

/*
 * Built with VIO_CONFIG_NO_PACKED (a firmware that never offers
 * VIRTIO_F_RING_PACKED, to save its code), packed rings are refused at set-up
 * and every packed branch below is constant-false, so the compiler drops it.
 */
#ifdef VIO_CONFIG_NO_PACKED
#define HAVE_PACKED 0
#else
#define HAVE_PACKED 1
#endif
#define IS_PACKED(vq) (HAVE_PACKED && (vq)->packed)

/* Walk state of one chain: whether a writable buffer was seen. */
struct walk {
	bool writing;
};

VIO_COLD static int vq_fail(struct vio_vq *vq, int err)
{
	if (vq->error == 0)
		vq->error = err;
	vq->mode = VIO_VQ_MODE_OFF;
	return vq->error;
}

static bool is_pow2(uint32_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

static bool aligned(uint64_t bus, const void *p, uintptr_t align)
{
	return (bus & (align - 1)) == 0 && ((uintptr_t) p & (align - 1)) == 0;
}

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Stores one translated piece; past cap the last slot tracks the chain's end. */
static void store_seg(struct vio_req *req, uint8_t *p, uint32_t len, bool write)
{
	uint16_t n = req->nread + req->nwrite;
	uint16_t slot;

	if (n < req->cap) {
		slot = n;
		if (write)
			req->nwrite++;
		else
			req->nread++;
	} else {
		req->flags |= VIO_REQ_F_OVERFLOW;
		if (req->cap == 0)
			return;
		slot = req->cap - 1;
		if (write && slot < req->nread) {
			req->nread--;
			req->nwrite++;
		}
	}
	req->iov[slot].base = p;
	req->iov[slot].len = len;
}

/*
 * Translates a buffer piece by piece, through any window: the general case,
 * kept out of line so the common one below stays small.
 */
static __attribute__((noinline)) int add_seg_slow(const struct vio_winmap *m, struct vio_req *req,
						  uint64_t addr, uint32_t len, bool write)
{
	uint32_t access = write ? VIO_ACCESS_WRITE : VIO_ACCESS_READ;

	while (len != 0) {
		uint64_t contig;
		uint8_t *p = vio_winmap_xlate(m, addr, len, access, &contig);

		if (p == NULL)
			return -VIO_EFAULT;
		store_seg(req, p, (uint32_t) contig, write);
		addr += contig;
		len -= (uint32_t) contig;
	}
	return 0;
}

/* Checks and translates one descriptor's buffer into one or more segments. */
static inline int add_seg(const struct vio_vq *vq, struct vio_req *req, struct walk *w,
			  uint64_t addr, uint32_t len, bool write)
{
	const struct vio_winmap *m = vq->mem;
	uint32_t access = write ? VIO_ACCESS_WRITE : VIO_ACCESS_READ;
	uint16_t n = req->nread + req->nwrite;

	if (write)
		w->writing = true;
	else if (w->writing)
		return -VIO_EPROTO; /* readable after writable */
	/* read_len + write_len never exceeds UINT32_MAX, so this cannot wrap. */
	if (len > UINT32_MAX - (req->read_len + req->write_len))
		return -VIO_EOVERFLOW;
	if (write)
		req->write_len += len;
	else
		req->read_len += len;

	/* Most devices see one window and most requests fit: no search, no overflow. */
	if (m->count != 0 && len != 0 && n < req->cap) {
		const struct vio_window *w0 = &m->win[0];
		uint64_t off = addr - w0->bus_addr;

		if (off < w0->len && len <= w0->len - off && (w0->access & access) == access) {
			req->iov[n].base = w0->local + off;
			req->iov[n].len = len;
			if (write)
				req->nwrite++;
			else
				req->nread++;
			return 0;
		}
	}
	return add_seg_slow(m, req, addr, len, write);
}

/*
 * Walks an indirect table. Split tables follow next links, packed tables are
 * read in order; either way at most the table's own entry count is visited and
 * a nested indirect descriptor is refused.
 */
static int walk_indirect(const struct vio_vq *vq, struct vio_req *req, struct walk *w,
			 uint64_t addr, uint32_t len)
{
	const struct vio_desc *table;
	uint32_t n, i = 0;

	if (len == 0 || len % sizeof(struct vio_desc) != 0)
		return -VIO_EINVAL;
	n = len / sizeof(struct vio_desc);
	if (n > VIO_VQ_MAX_SIZE)
		return -VIO_EINVAL;
	table = vio_winmap_xlate_whole(vq->mem, addr, len, VIO_ACCESS_READ);
	if (table == NULL)
		return -VIO_EFAULT;

	for (uint32_t count = 1;; count++) {
		struct vio_desc d;
		uint16_t flags;
		int rc;

		VIO_COPY(&d, &table[i], sizeof(d));
		/* Packed tables hold packed descriptors: their flags sit where split has next. */
		flags = IS_PACKED(vq) ? vio_le16(d.next) : vio_le16(d.flags);
		if (flags & VIO_DESC_F_INDIRECT)
			return -VIO_EINVAL;
		rc = add_seg(vq, req, w, vio_le64(d.addr), vio_le32(d.len),
			     (flags & VIO_DESC_F_WRITE) != 0);
		if (rc < 0)
			return rc;
		if (IS_PACKED(vq)) {
			if (++i == n)
				return 0;
			continue;
		}
		if (!(flags & VIO_DESC_F_NEXT))
			return 0;
		i = vio_le16(d.next);
		if (i >= n)
			return -VIO_ERANGE;
		if (count >= n)
			return -VIO_ELOOP;
	}
}

static void req_begin(struct vio_req *req)
{
	req->nread = 0;
	req->nwrite = 0;
	req->flags = 0;
	req->read_len = 0;
	req->write_len = 0;
}

/* Collects a split chain starting at head. */
VIO_COLD static int walk_split(struct vio_vq *vq, struct vio_req *req, uint16_t head)
{
	struct walk w = {false};
	uint16_t i = head;

	for (uint32_t count = 1;; count++) {
		struct vio_desc d;
		uint16_t flags;
		int rc;

		VIO_COPY(&d, &vq->desc[i], sizeof(d));
		flags = vio_le16(d.flags);
		if (flags & VIO_DESC_F_INDIRECT) {
			if (!vq->indirect || (flags & VIO_DESC_F_NEXT))
				return -VIO_EINVAL;
			return walk_indirect(vq, req, &w, vio_le64(d.addr), vio_le32(d.len));
		}
		rc = add_seg(vq, req, &w, vio_le64(d.addr), vio_le32(d.len),
			     (flags & VIO_DESC_F_WRITE) != 0);
		if (rc < 0)
			return rc;
		if (!(flags & VIO_DESC_F_NEXT))
			return 0;
		i = vio_le16(d.next);
		if (i >= vq->size)
			return -VIO_ERANGE;
		if (count >= vq->size)
			return -VIO_ELOOP;
	}
}

static uint16_t *avail_event(struct vio_vq *vq)
{
	return (uint16_t *) &vq->used_ring[vq->size];
}

static uint16_t *used_event(struct vio_vq *vq)
{
	return &vq->avail[2 + vq->size];
}

/*
 * The common case of a split chain, kept in registers: direct descriptors
 * only, every buffer inside the first window (read-write, as guest RAM or a
 * shared window is), no more segments than the caller holds. It checks the
 * same rules as walk_split but does not say which one failed: anything
 * unusual, valid or not, returns false and the caller walks the chain again
 * with walk_split, which decides. Nothing reaches req unless the whole chain
 * passed.
 */
static inline bool walk_split_fast(const struct vio_vq *vq, struct vio_req *req, uint16_t head)
{
	const struct vio_window *w0 = &vq->mem->win[0];
	const struct vio_desc *table = vq->desc;
	struct vio_iov *iov = req->iov;
	uint64_t wbus = w0->bus_addr, wlen = w0->len, tlen = 0, rlen = 0;
	uint8_t *wlocal = w0->local;
	/* Both the caller's room and the queue size bound the chain here. */
	uint32_t lim = req->cap < vq->size ? req->cap : vq->size;
	uint32_t n = 0, nread = UINT32_MAX, i = head;

	if (VIO_UNLIKELY(vq->mem->count == 0 || w0->access != VIO_ACCESS_RW))
		return false;
	for (;;) {
		struct vio_desc d;
		uint64_t off;
		uint32_t len, flags;

		VIO_COPY(&d, &table[i], sizeof(d));
		flags = vio_le16(d.flags);
		len = vio_le32(d.len);
		off = vio_le64(d.addr) - wbus;
		if (VIO_UNLIKELY((flags & VIO_DESC_F_INDIRECT) || n >= lim || len == 0 ||
				 off >= wlen || len > wlen - off))
			return false;
		if (flags & VIO_DESC_F_WRITE) {
			if (nread == UINT32_MAX) {
				nread = n;
				rlen = tlen;
			}
		} else if (VIO_UNLIKELY(nread != UINT32_MAX)) {
			return false; /* readable after writable */
		}
		tlen += len;
		iov[n].base = wlocal + off;
		iov[n].len = len;
		n++;
		if (!(flags & VIO_DESC_F_NEXT))
			break;
		i = vio_le16(d.next);
		if (VIO_UNLIKELY(i >= vq->size))
			return false;
	}
	if (VIO_UNLIKELY(tlen > UINT32_MAX))
		return false;
	if (nread == UINT32_MAX) {
		nread = n;
		rlen = tlen;
	}
	req->nread = (uint16_t) nread;
	req->nwrite = (uint16_t) (n - nread);
	req->flags = 0;
	req->read_len = (uint32_t) rlen;
	req->write_len = (uint32_t) (tlen - rlen);
	return true;
}

/*
 * Inflight recording, split layout (docs/inflight.md). The region is shared
 * with the frontend, which keeps it across a crash of this process: stores
 * go in the spec's order so that a successor reading the region after a kill
 * at any instruction finds each request either in flight or published.
 */
static inline void ifl_record(struct vio_vq *vq, uint16_t head)
{
	struct vio_ifl_desc *d = &vq->ifl->desc[head];

	d->counter = vq->ifl_counter++;
	VIO_COMPILER_BARRIER();
	d->inflight = 1;
}

/* After used.idx went out: clears the marks of the batch it published, then says so. */
static inline void ifl_published(struct vio_vq *vq, uint16_t old_used)
{
	struct vio_ifl_queue *r = vq->ifl;
	uint16_t n = (uint16_t) (vq->used_idx - old_used), i = r->last_batch_head;

	if (n > vq->size)
		n = vq->size;
	VIO_COMPILER_BARRIER();
	for (; n != 0 && i < vq->size; n--) {
		r->desc[i].inflight = 0;
		i = r->desc[i].next;
	}
	VIO_COMPILER_BARRIER();
	r->used_idx = vq->used_idx;
}

static int walk_head(struct vio_vq *vq, struct vio_req *req, uint16_t head);

/*
 * Hands out again the oldest recorded request not yet handed out since the
 * attach. Its mark and order number stay as they were. Returns 0 when none is
 * left.
 */
VIO_COLD static int pop_resubmit(struct vio_vq *vq, struct vio_req *req)
{
	const struct vio_ifl_queue *r = vq->ifl;
	uint32_t head = vq->size;
	uint64_t best = UINT64_MAX;
	int rc;

	for (uint32_t i = 0; i < vq->size; i++) {
		const struct vio_ifl_desc *d = &r->desc[i];

		if (d->inflight == 1 && d->counter >= vq->ifl_resubmit_lo &&
		    d->counter < vq->ifl_resubmit_hi && d->counter < best) {
			best = d->counter;
			head = i;
		}
	}
	if (head == vq->size) {
		vq->ifl_resubmit = 0;
		return 0;
	}
	vq->ifl_resubmit--;
	vq->ifl_resubmit_lo = best + 1;
	rc = walk_head(vq, req, (uint16_t) head);
	if (rc < 0)
		return vq_fail(vq, rc);
	req->id = (uint16_t) head;
	req->ndesc = 1;
	return 1;
}

/* Walks the chain at head into req: the fast walker, or the full one to decide. */
static int walk_head(struct vio_vq *vq, struct vio_req *req, uint16_t head)
{
	if (VIO_LIKELY(walk_split_fast(vq, req, head)))
		return 0;
	req_begin(req);
	return walk_split(vq, req, head);
}

static int pop_split(struct vio_vq *vq, struct vio_req *req)
{
	uint16_t head;
	int rc;

	if (vq->last_avail == vq->shadow_avail) {
		uint16_t idx = vio_load_acquire_le16(&vq->avail[1]);

		if ((uint16_t) (idx - vq->last_avail) > vq->size)
			return vq_fail(vq, -VIO_ERANGE);
		vq->shadow_avail = idx;
		if (idx == vq->last_avail)
			return 0;
	}
	if (vq->inflight >= vq->size)
		return vq_fail(vq, -VIO_ERANGE);
	head = vio_load_relaxed_le16(&vq->avail[2 + (vq->last_avail & (vq->size - 1))]);
	if (head >= vq->size)
		return vq_fail(vq, -VIO_ERANGE);
	if (VIO_UNLIKELY(!walk_split_fast(vq, req, head))) {
		req_begin(req);
		rc = walk_split(vq, req, head);
		if (rc < 0)
			return vq_fail(vq, rc);
	}
	req->id = head;
	req->ndesc = 1;
	vq->last_avail++;
	vq->inflight++;
	if (vq->ifl != NULL)
		ifl_record(vq, head);
	if (vq->event_idx && !vq->notify_off)
		vio_store_relaxed_le16(avail_event(vq), vq->last_avail);
	return 1;
}

static bool pdesc_is_avail(uint16_t flags, bool wrap)
{
	return ((flags & VIO_DESC_F_AVAIL) != 0) == wrap &&
	       ((flags & VIO_DESC_F_USED) != 0) != wrap;
}

/*
 * Packed layout (docs/inflight.md): every descriptor of a chain is copied
 * into an entry taken from the region's free list, because used entries
 * overwrite the ring; the old_* fields say where the last complete step
 * left the free list and the used position, so a successor can roll a half
 * step back. Indices read from the region are checked before use; a region
 * that breaks its own links stops the recording.
 */
/* The spec's layouts, byte for byte. */
_Static_assert(sizeof(struct vio_ifl_desc) == 16, "DescStateSplit is 16 bytes");
_Static_assert(sizeof(struct vio_ifl_queue) == 16, "QueueRegionSplit header is 16 bytes");
_Static_assert(sizeof(struct vio_ifl_pdesc) == 32, "DescStatePacked is 32 bytes");
_Static_assert(sizeof(struct vio_ifl_pqueue) == 32, "QueueRegionPacked header is 32 bytes");

static uint16_t *pifl_slots(const struct vio_ifl_pqueue *r)
{
	return (uint16_t *) (void *) &r->desc[r->desc_num];
}

/* Records descriptor d of the chain being popped; false when the region is corrupt. */
static bool pifl_record(struct vio_vq *vq, const struct vio_pdesc *d, bool head, bool last)
{
	struct vio_ifl_pqueue *r = vq->pifl;
	uint16_t n = r->desc_num, h = r->old_free_head, f = r->free_head;
	struct vio_ifl_pdesc *e;

	if (h >= n || f >= n)
		return false;
	if (head) {
		r->desc[h].num = 0;
		r->desc[h].counter = vq->ifl_counter++;
		VIO_COMPILER_BARRIER();
		r->desc[h].inflight = 1;
	}
	if (last)
		r->desc[h].last = f;
	r->desc[h].num++;
	e = &r->desc[f];
	e->addr = vio_le64(d->addr);
	e->len = vio_le32(d->len);
	e->flags = vio_le16(d->flags);
	e->id = vio_le16(d->id);
	VIO_COMPILER_BARRIER();
	r->free_head = e->next;
	if (last) {
		VIO_COMPILER_BARRIER();
		r->old_free_head = r->free_head;
	}
	return true;
}

/*
 * Before the used entry of buffer id goes out: its chain's entries back on
 * the free list, and the new used position (which the region follows even
 * for a buffer it has no record of). Returns the chain's head entry, or
 * UINT16_MAX when id has no record.
 */
static uint16_t pifl_unrecord(struct vio_vq *vq, uint16_t id, uint16_t used, bool wrap)
{
	struct vio_ifl_pqueue *r = vq->pifl;
	uint16_t n = r->desc_num, e = UINT16_MAX, last;

	if (id < vq->size) {
		e = vq->ifl_slot[id];
		if (e >= n || r->desc[e].inflight != 1 || (last = r->desc[e].last) >= n) {
			e = UINT16_MAX;
		} else {
			r->desc[last].next = r->free_head;
			r->free_head = e;
		}
	}
	r->used_idx = used;
	r->used_wrap_counter = wrap;
	VIO_COMPILER_BARRIER();
	return e;
}

/* After the used entry went out: the head unmarked, then the step made the old one. */
static void pifl_published(struct vio_vq *vq, uint16_t e)
{
	struct vio_ifl_pqueue *r = vq->pifl;

	VIO_COMPILER_BARRIER();
	if (e != UINT16_MAX)
		r->desc[e].inflight = 0;
	VIO_COMPILER_BARRIER();
	r->old_free_head = r->free_head;
	r->old_used_idx = r->used_idx;
	r->old_used_wrap_counter = r->used_wrap_counter;
}

VIO_COLD static int pop_packed(struct vio_vq *vq, struct vio_req *req)
{
	struct walk w = {false};
	uint16_t pos = vq->last_avail;
	bool wrap = vq->avail_wrap;
	uint16_t flags = vio_load_acquire_le16(&vq->pdesc[pos].flags);
	uint16_t id = 0, slot = 0;
	uint32_t count = 0;

	if (!pdesc_is_avail(flags, wrap))
		return 0;
	if (vq->inflight >= vq->size)
		return vq_fail(vq, -VIO_ERANGE);
	req_begin(req);
	for (;;) {
		struct vio_pdesc d;
		int rc;

		/* The head's flags were read with acquire; the rest came before them. */
		VIO_COPY(&d, &vq->pdesc[pos], sizeof(d));
		flags = vio_le16(d.flags);
		if (++count > vq->size)
			return vq_fail(vq, -VIO_ELOOP);
		if (flags & VIO_DESC_F_INDIRECT) {
			if (!vq->indirect || (flags & VIO_DESC_F_NEXT) || count != 1)
				return vq_fail(vq, -VIO_EINVAL);
			rc = walk_indirect(vq, req, &w, vio_le64(d.addr), vio_le32(d.len));
		} else {
			rc = add_seg(vq, req, &w, vio_le64(d.addr), vio_le32(d.len),
				     (flags & VIO_DESC_F_WRITE) != 0);
		}
		if (rc < 0)
			return vq_fail(vq, rc);
		id = vio_le16(d.id);
		if (vq->pifl != NULL) {
			if (count == 1)
				slot = vq->pifl->old_free_head;
			if (!pifl_record(vq, &d, count == 1, !(flags & VIO_DESC_F_NEXT)))
				vq->pifl = NULL; /* corrupt: stop recording */
		}
		if (++pos == vq->size) {
			pos = 0;
			wrap = !wrap;
		}
		if (!(flags & VIO_DESC_F_NEXT))
			break;
	}
	if (id >= vq->size)
		return vq_fail(vq, -VIO_ERANGE);
	if (vq->pifl != NULL)
		vq->ifl_slot[id] = slot;
	req->id = id;
	req->ndesc = (uint16_t) count;
	vq->last_avail = pos;
	vq->avail_wrap = wrap;
	vq->inflight++;
	return 1;
}

/* Hands out again the oldest recorded packed chain, from its copies in the region. */
VIO_COLD static int pop_resubmit_packed(struct vio_vq *vq, struct vio_req *req)
{
	const struct vio_ifl_pqueue *r = vq->pifl;
	struct walk w = {false};
	uint32_t head = UINT32_MAX, i;
	uint64_t best = UINT64_MAX;
	uint16_t num, id = 0;

	for (i = 0; i < r->desc_num; i++) {
		const struct vio_ifl_pdesc *d = &r->desc[i];

		if (d->inflight == 1 && d->counter >= vq->ifl_resubmit_lo &&
		    d->counter < vq->ifl_resubmit_hi && d->counter < best) {
			best = d->counter;
			head = i;
		}
	}
	if (head == UINT32_MAX) {
		vq->ifl_resubmit = 0;
		return 0;
	}
	vq->ifl_resubmit--;
	vq->ifl_resubmit_lo = best + 1;
	req_begin(req);
	num = r->desc[head].num;
	i = head;
	for (uint16_t k = 0; k < num; k++) {
		struct vio_ifl_pdesc c;
		int rc;

		VIO_COPY(&c, &r->desc[i], sizeof(c));
		if (c.flags & VIO_DESC_F_INDIRECT) {
			if (!vq->indirect || (c.flags & VIO_DESC_F_NEXT) || k != 0)
				return vq_fail(vq, -VIO_EINVAL);
			rc = walk_indirect(vq, req, &w, c.addr, c.len);
		} else {
			rc = add_seg(vq, req, &w, c.addr, c.len, (c.flags & VIO_DESC_F_WRITE) != 0);
		}
		if (rc < 0)
			return vq_fail(vq, rc);
		id = c.id;
		i = c.next;
		if (k + 1 < num && i >= r->desc_num)
			return vq_fail(vq, -VIO_ERANGE);
	}
	if (num == 0 || id >= vq->size)
		return vq_fail(vq, -VIO_ERANGE);
	vq->ifl_slot[id] = (uint16_t) head;
	req->id = id;
	req->ndesc = num;
	return 1;
}

int vio_vq_pop(struct vio_vq *vq, struct vio_req *req)
{
	if (VIO_LIKELY(vq->mode == VIO_VQ_MODE_SPLIT)) {
		if (VIO_UNLIKELY(vq->ifl_resubmit != 0)) {
			int rc = pop_resubmit(vq, req);

			if (rc != 0)
				return rc;
		}
		return pop_split(vq, req);
	}
	if (HAVE_PACKED && vq->mode == VIO_VQ_MODE_PACKED) {
		if (vq->ifl_resubmit != 0) {
			int rc = pop_resubmit_packed(vq, req);

			if (rc != 0)
				return rc;
		}
		return pop_packed(vq, req);
	}
	return vq->error;
}

VIO_COLD static void push_packed(struct vio_vq *vq, uint16_t id, uint16_t ndesc, uint32_t len)
{
	struct vio_pdesc *d = &vq->pdesc[vq->used_idx];
	uint16_t flags = vq->used_wrap ? (VIO_DESC_F_AVAIL | VIO_DESC_F_USED) : 0;
	struct vio_ifl_pqueue *rec = vq->pifl;
	uint16_t next, slot = UINT16_MAX;
	bool next_wrap = vq->used_wrap;

	/* ndesc comes from pop and is at most size, so one subtraction suffices. */
	if (ndesc == 0 || ndesc > vq->size)
		ndesc = 1;
	next = (uint16_t) (vq->used_idx + ndesc);
	if (next >= vq->size) {
		next = (uint16_t) (next - vq->size);
		next_wrap = !next_wrap;
	}
	if (rec != NULL)
		slot = pifl_unrecord(vq, id, next, next_wrap);
	d->id = vio_le16(id);
	d->len = vio_le32(len);
	vio_store_release_le16(&d->flags, flags);
	if (rec != NULL)
		pifl_published(vq, slot);
	vq->used_idx = next;
	vq->used_wrap = next_wrap;
	if (vq->unsignalled < vq->size)
		vq->unsignalled = (uint16_t) (vq->unsignalled + ndesc);
}

void vio_vq_push(struct vio_vq *vq, uint16_t id, uint16_t ndesc, uint32_t len)
{
	struct vio_used_elem *e;

	if (VIO_UNLIKELY(vq->mode != VIO_VQ_MODE_SPLIT)) {
		if (HAVE_PACKED && vq->mode == VIO_VQ_MODE_PACKED) {
			vq->inflight -= vq->inflight != 0;
			push_packed(vq, id, ndesc, len);
		}
		return;
	}
	vq->inflight -= vq->inflight != 0;
	e = &vq->used_ring[vq->used_idx & (vq->size - 1)];
	e->id = vio_le32(id);
	e->len = vio_le32(len);
	vq->used_idx++;
	if (vq->ifl != NULL && id < vq->size) {
		vq->ifl->desc[id].next = vq->ifl->last_batch_head;
		vq->ifl->last_batch_head = id;
	}
}

static bool split_should_notify(struct vio_vq *vq)
{
	uint16_t old, now = vq->used_idx;
	bool valid;

	vio_mb();
	if (!vq->event_idx)
		return !(vio_load_relaxed_le16(&vq->avail[0]) & VIO_AVAIL_F_NO_INTERRUPT);
	old = vq->signalled_used;
	valid = vq->signalled_valid;
	vq->signalled_used = now;
	vq->signalled_valid = true;
	return !valid || vio_need_event(vio_load_relaxed_le16(used_event(vq)), now, old);
}

static bool packed_should_notify(struct vio_vq *vq)
{
	uint16_t off_wrap, flags, off, old, now = vq->used_idx;
	uint16_t count = vq->unsignalled;
	bool valid = vq->signalled_valid;

	vio_mb();
	off_wrap = vio_load_relaxed_le16(&vq->driver_event[0]);
	flags = vio_load_relaxed_le16(&vq->driver_event[1]);
	vq->unsignalled = 0;
	vq->signalled_valid = true;
	if (flags == VIO_EVENT_F_DISABLE)
		return false;
	if (flags != VIO_EVENT_F_DESC || !vq->event_idx)
		return true;
	/* A whole lap or more passes every position the driver can name. */
	if (!valid || count >= vq->size)
		return true;
	/* Count back from now, through the wrap if need be, as the driver does. */
	old = (uint16_t) (now - count);
	off = off_wrap & 0x7fffu;
	if ((off_wrap >> 15) != (uint16_t) vq->used_wrap)
		off = (uint16_t) (off - vq->size);
	return vio_need_event(off, now, old);
}

bool vio_vq_flush(struct vio_vq *vq)
{
	if (!vq->ready || vq->error != 0)
		return false;
	if (IS_PACKED(vq)) {
		if (vq->unsignalled == 0)
			return false;
		return packed_should_notify(vq);
	}
	uint16_t old = vq->published_used;

	if (vq->used_idx == old)
		return false;
	vq->published_used = vq->used_idx;
	vio_store_release_le16(&vq->used[1], vq->used_idx);
	if (vq->ifl != NULL)
		ifl_published(vq, old);
	return split_should_notify(vq);
}

void vio_vq_notify_disable(struct vio_vq *vq)
{
	if (!vq->ready)
		return;
	vq->notify_off = true;
	if (IS_PACKED(vq))
		vio_store_relaxed_le16(&vq->device_event[1], VIO_EVENT_F_DISABLE);
	else if (!vq->event_idx)
		vio_store_relaxed_le16(&vq->used[0], VIO_USED_F_NO_NOTIFY);
}

bool vio_vq_notify_enable(struct vio_vq *vq)
{
	if (!vq->ready || vq->error != 0)
		return false;
	vq->notify_off = false;
	if (IS_PACKED(vq)) {
		vio_store_relaxed_le16(&vq->device_event[1], VIO_EVENT_F_ENABLE);
	} else if (vq->event_idx) {
		vio_store_relaxed_le16(avail_event(vq), vq->shadow_avail);
	} else {
		vio_store_relaxed_le16(&vq->used[0], 0);
	}
	/* The driver may have added buffers before it saw the flag change. */
	vio_mb();
	return vio_vq_has_avail(vq);
}

bool vio_vq_has_avail(struct vio_vq *vq)
{
	if (!vq->ready || vq->error != 0)
		return false;
	if (IS_PACKED(vq))
		return pdesc_is_avail(vio_load_acquire_le16(&vq->pdesc[vq->last_avail].flags),
				      vq->avail_wrap);
	return vio_load_acquire_le16(&vq->avail[1]) != vq->last_avail;
}

static void clear_state(struct vio_vq *vq)
{
	const struct vio_winmap *mem = vq->mem;

	memset(vq, 0, sizeof(*vq));
	vq->mem = mem;
}

void vio_vq_reset(struct vio_vq *vq)
{
	clear_state(vq);
}

static void setup_common(struct vio_vq *vq, const struct vio_winmap *mem, uint16_t size,
			 uint64_t features, bool packed)
{
	memset(vq, 0, sizeof(*vq));
	vq->mem = mem;
	vq->size = size;
	vq->packed = packed;
	vq->indirect = (features & VIO_BIT(VIO_F_INDIRECT_DESC)) != 0;
	vq->event_idx = (features & VIO_BIT(VIO_F_EVENT_IDX)) != 0;
	vq->avail_wrap = true;
	vq->used_wrap = true;
}

int vio_vq_setup_split(struct vio_vq *vq, const struct vio_winmap *mem, uint16_t size,
		       uint64_t desc, uint64_t avail, uint64_t used, uint64_t features)
{
	uint64_t dlen = VIO_SPLIT_DESC_SIZE(size);
	uint64_t alen = VIO_SPLIT_AVAIL_SIZE(size);
	uint64_t ulen = VIO_SPLIT_USED_SIZE(size);

	setup_common(vq, mem, size, features, false);
	if (!is_pow2(size) || size > VIO_VQ_MAX_SIZE)
		return -VIO_EINVAL;
	/* The device writes the used ring: it must not alias what the device reads. */
	if (overlap(used, ulen, desc, dlen) || overlap(used, ulen, avail, alen))
		return -VIO_EINVAL;
	vq->desc = vio_winmap_xlate_whole(mem, desc, dlen, VIO_ACCESS_READ);
	vq->avail = vio_winmap_xlate_whole(mem, avail, alen, VIO_ACCESS_READ);
	vq->used = vio_winmap_xlate_whole(mem, used, ulen, VIO_ACCESS_RW);
	if (vq->desc == NULL || vq->avail == NULL || vq->used == NULL)
		return -VIO_EFAULT;
	if (!aligned(desc, vq->desc, 16) || !aligned(avail, vq->avail, 2) ||
	    !aligned(used, vq->used, 4))
		return -VIO_EINVAL;
	vq->used_ring = (struct vio_used_elem *) (vq->used + 2);
	vq->ready = true;
	vq->mode = VIO_VQ_MODE_SPLIT;
	return 0;
}

int vio_vq_setup_packed(struct vio_vq *vq, const struct vio_winmap *mem, uint16_t size,
			uint64_t desc, uint64_t driver, uint64_t device, uint64_t features)
{
	uint64_t dlen = VIO_PACKED_DESC_SIZE(size);

	setup_common(vq, mem, size, features, true);
	if (!HAVE_PACKED)
		return -VIO_ENOTSUP;
	if (size == 0 || size > VIO_VQ_MAX_SIZE)
		return -VIO_EINVAL;
	if (overlap(device, VIO_PACKED_EVENT_SIZE, desc, dlen) ||
	    overlap(device, VIO_PACKED_EVENT_SIZE, driver, VIO_PACKED_EVENT_SIZE))
		return -VIO_EINVAL;
	vq->pdesc = vio_winmap_xlate_whole(mem, desc, dlen, VIO_ACCESS_RW);
	vq->driver_event =
	    vio_winmap_xlate_whole(mem, driver, VIO_PACKED_EVENT_SIZE, VIO_ACCESS_READ);
	vq->device_event =
	    vio_winmap_xlate_whole(mem, device, VIO_PACKED_EVENT_SIZE, VIO_ACCESS_RW);
	if (vq->pdesc == NULL || vq->driver_event == NULL || vq->device_event == NULL)
		return -VIO_EFAULT;
	if (!aligned(desc, vq->pdesc, 16) || !aligned(driver, vq->driver_event, 4) ||
	    !aligned(device, vq->device_event, 4))
		return -VIO_EINVAL;
	vq->ready = true;
	vq->mode = VIO_VQ_MODE_PACKED;
	return 0;
}

int vio_vq_set_base(struct vio_vq *vq, uint16_t base)
{
	if (IS_PACKED(vq)) {
		uint16_t idx = base & 0x7fffu;

		if (idx >= vq->size)
			return -VIO_EINVAL;
		vq->last_avail = idx;
		vq->used_idx = idx;
		vq->avail_wrap = (base >> 15) != 0;
		vq->used_wrap = vq->avail_wrap;
	} else {
		vq->last_avail = base;
		vq->shadow_avail = base;
		vq->used_idx = base;
		vq->published_used = base;
	}
	vq->signalled_used = vq->used_idx;
	vq->signalled_valid = false;
	vq->unsignalled = 0;
	vq->inflight = 0;
	return 0;
}

uint16_t vio_vq_get_base(const struct vio_vq *vq)
{
	if (IS_PACKED(vq))
		return (uint16_t) (vq->last_avail | (vq->avail_wrap ? 0x8000u : 0));
	return vq->last_avail;
}

/* A region share as one queue of size entries may use it: 0, or -VIO_EINVAL. */
static int ifl_check(struct vio_ifl_queue *r, uint64_t len, uint16_t size)
{
	if (r == NULL || ((uintptr_t) r & 7u) != 0 || len < VIO_IFL_SPLIT_BYTES(size))
		return -VIO_EINVAL;
	if (r->version == 0) {
		/* blank: nothing was recorded, nothing is in flight */
		memset(r->desc, 0, sizeof(r->desc[0]) * size);
		r->desc_num = size;
		r->last_batch_head = 0;
		r->used_idx = 0;
		r->version = VIO_IFL_VERSION;
	}
	if (r->version != VIO_IFL_VERSION || r->desc_num < size)
		return -VIO_EINVAL;
	return 0;
}

/* A packed share: blank ones formatted, the rest checked as vio_vq_inflight_attach needs. */
static int pifl_check(struct vio_vq *vq, struct vio_ifl_pqueue *r, uint64_t len)
{
	uint16_t n;

	if (r == NULL || ((uintptr_t) r & 7u) != 0 || len < VIO_IFL_PACKED_BYTES(vq->size))
		return -VIO_EINVAL;
	if (r->version == 0) {
		n = vq->size;
		memset(r->desc, 0, sizeof(r->desc[0]) * n);
		for (uint16_t i = 0; i < n; i++)
			r->desc[i].next = (uint16_t) (i + 1);
		r->desc_num = n;
		r->free_head = r->old_free_head = 0;
		r->used_idx = r->old_used_idx = vq->used_idx;
		r->used_wrap_counter = r->old_used_wrap_counter = vq->used_wrap;
		r->version = VIO_IFL_VERSION;
	}
	n = r->desc_num;
	if (r->version != VIO_IFL_VERSION || n < vq->size || len < VIO_IFL_PACKED_BYTES(n) ||
	    r->old_used_idx >= vq->size || r->used_idx >= vq->size)
		return -VIO_EINVAL;
	return 0;
}

/*
 * Checks the chain recorded at head e: num entries linked by next, the last
 * one where the head says, a buffer id of this ring not claimed by another
 * chain. Returns the descriptor count, or 0 for a chain that cannot be used.
 */
static uint16_t pifl_chain(const struct vio_vq *vq, const struct vio_ifl_pqueue *r, uint16_t e,
			   uint16_t *slot)
{
	uint16_t num = r->desc[e].num, i = e;

	if (num == 0 || num > vq->size)
		return 0;
	for (uint16_t k = 1; k < num; k++) {
		i = r->desc[i].next;
		if (i >= r->desc_num)
			return 0;
	}
	if (i != r->desc[e].last || r->desc[i].id >= vq->size || slot[r->desc[i].id] != UINT16_MAX)
		return 0;
	slot[r->desc[i].id] = e;
	return num;
}

/* After a take-over: inuse requests are handed out again, numbered below next. */
static void ifl_resume(struct vio_vq *vq, uint16_t inuse, uint64_t next)
{
	vq->signalled_valid = false;
	vq->inflight = inuse;
	vq->ifl_counter = next;
	vq->ifl_resubmit_lo = 0;
	vq->ifl_resubmit_hi = next;
	vq->ifl_resubmit = inuse;
}

static int pifl_attach(struct vio_vq *vq, struct vio_ifl_pqueue *r, uint64_t len)
{
	uint16_t *slot, inuse = 0, n, i;
	uint32_t total = 0, pos;
	uint64_t next = 0;
	int rc = pifl_check(vq, r, len);

	if (rc < 0)
		return rc;
	n = r->desc_num;
	slot = pifl_slots(r);
	/* A used entry half published: if it reached the ring, finish the step; else undo it. */
	if (r->used_idx != r->old_used_idx || r->used_wrap_counter != r->old_used_wrap_counter) {
		uint16_t f = vio_load_acquire_le16(&vq->pdesc[r->old_used_idx].flags);

		if (!pdesc_is_avail(f, r->old_used_wrap_counter != 0)) {
			r->old_free_head = r->free_head;
			r->old_used_idx = r->used_idx;
			r->old_used_wrap_counter = r->used_wrap_counter;
		}
	}
	r->free_head = r->old_free_head;
	r->used_idx = r->old_used_idx;
	r->used_wrap_counter = r->old_used_wrap_counter;
	/* Nothing on the free list is in flight: a chain half recorded is dropped. */
	i = r->free_head;
	for (uint32_t k = 0; k < n && i < n; k++) {
		r->desc[i].inflight = 0;
		i = r->desc[i].next;
	}
	for (i = 0; i < vq->size; i++)
		slot[i] = UINT16_MAX;
	for (i = 0; i < n; i++) {
		uint16_t num;

		if (r->desc[i].inflight == 0)
			continue;
		/*
		 * A chain that cannot be walked leaves no way to know where the
		 * ring stands: the region is refused, the queue runs unrecorded.
		 */
		num = r->desc[i].inflight == 1 ? pifl_chain(vq, r, i, slot) : 0;
		if (num == 0 || total + num > vq->size)
			return -VIO_EINVAL;
		total += num;
		inuse++;
		if (r->desc[i].counter >= next)
			next = r->desc[i].counter + 1;
	}
	/* The ring resumes after the slots of the chains in flight. */
	vq->used_idx = r->used_idx;
	vq->used_wrap = r->used_wrap_counter != 0;
	pos = (uint32_t) vq->used_idx + total;
	vq->avail_wrap = vq->used_wrap;
	if (pos >= vq->size) {
		pos -= vq->size;
		vq->avail_wrap = !vq->avail_wrap;
	}
	vq->last_avail = (uint16_t) pos;
	vq->signalled_used = vq->used_idx;
	vq->unsignalled = 0;
	ifl_resume(vq, inuse, next);
	vq->ifl_slot = slot;
	vq->pifl = r;
	return inuse;
}

int vio_vq_inflight_attach(struct vio_vq *vq, void *region, uint64_t len)
{
	struct vio_ifl_queue *r = region;
	uint16_t used, inuse = 0;
	uint64_t next = 0;
	int rc;

	vio_vq_inflight_detach(vq);
	if (HAVE_PACKED && vq->mode == VIO_VQ_MODE_PACKED)
		return pifl_attach(vq, region, len);
	if (vq->mode != VIO_VQ_MODE_SPLIT)
		return -VIO_EINVAL;
	rc = ifl_check(r, len, vq->size);
	if (rc < 0)
		return rc;
	used = vio_load_acquire_le16(&vq->used[1]);
	/* A batch went out but its marks were not all cleared: clear them now. */
	if (r->used_idx != used) {
		uint16_t n = (uint16_t) (used - r->used_idx), i = r->last_batch_head;

		for (uint32_t k = 0; k < n && k < vq->size && i < vq->size; k++) {
			r->desc[i].inflight = 0;
			i = r->desc[i].next;
		}
		r->used_idx = used;
	}
	for (uint32_t i = 0; i < r->desc_num && VIO_IFL_SPLIT_BYTES(i + 1) <= len; i++) {
		struct vio_ifl_desc *d = &r->desc[i];

		if (d->inflight == 0)
			continue;
		if (i >= vq->size || d->inflight != 1) {
			d->inflight = 0; /* no head of this ring: nothing to hand out */
			continue;
		}
		inuse++;
		if (d->counter >= next)
			next = d->counter + 1;
	}
	/* Every pop took one avail entry and every request published one used entry. */
	vq->last_avail = (uint16_t) (used + inuse);
	vq->shadow_avail = vq->last_avail;
	vq->used_idx = used;
	vq->published_used = used;
	vq->signalled_used = used;
	ifl_resume(vq, inuse, next);
	vq->ifl = r;
	return inuse;
}

void vio_vq_inflight_detach(struct vio_vq *vq)
{
	vq->ifl = NULL;
	vq->pifl = NULL;
	vq->ifl_slot = NULL;
	vq->ifl_resubmit = 0;
}

void vio_vq_inflight_forget(void *region, uint64_t len)
{
	if (region != NULL)
		memset(region, 0, (size_t) len);
}
