// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A split virtqueue's rings as the transport sees them (vmsg_ring.h). The
 * rings are in the window, which the device side may rewrite at any time:
 * every index is bounded by the ring's size, every chain walk by its table's,
 * every buffer must lie in the area, and an indirect table is followed one
 * level only.
 */
#include "vmsg_ring.h"

static u16 ld16(const u8 *p)
{
	return le16_to_cpu(READ_ONCE(*(const __le16 *) p));
}

static u32 ld32(const u8 *p)
{
	return le32_to_cpu(READ_ONCE(*(const __le32 *) p));
}

static u64 ld64(const u8 *p)
{
	return le64_to_cpu(READ_ONCE(*(const __le64 *) p));
}

static void count_head(struct vmsg_ring *r, u32 head, int delta)
{
	int c;

	if (head >= r->num)
		return;
	c = r->count[head] + delta;
	if (c < -1)
		c = -1;
	if (c > (int) r->num)
		c = r->num;
	r->count[head] = (s16) c;
}

/* Counts ring entries [*seen, idx) with delta: at most one ring's worth. */
static void scan_one(struct vmsg_ring *r, const u8 *ring, u32 stride, u16 *seen, int delta)
{
	u16 idx = ld16(ring + VMSG_RING_IDX), n, i;

	virt_rmb(); /* the entries before the index that published them */
	n = (u16) (idx - *seen);
	if (n > r->num) {
		*seen = (u16) (idx - r->num);
		n = r->num;
	}
	for (i = 0; i < n; i++) {
		u16 pos = (u16) (*seen + i) % r->num;
		const u8 *e = ring + VMSG_RING_ENTRIES + stride * pos;

		count_head(r, stride == 2 ? ld16(e) : ld32(e), delta);
	}
	*seen = idx;
}

void vmsg_ring_scan(struct vmsg_ring *r)
{
	if (r->num == 0)
		return;
	scan_one(r, r->avail, 2, &r->avail_seen, 1);
	scan_one(r, r->used, VMSG_RING_USED_LEN, &r->used_seen, -1);
}

bool vmsg_ring_inflight(const struct vmsg_ring *r, u32 head)
{
	return head < r->num && r->count[head] > 0;
}

static bool in_area(const struct vmsg_area *a, u64 addr, u64 len)
{
	return addr >= a->off && len <= a->size && addr - a->off <= a->size - len;
}

static void fill_table(const struct vmsg_area *a, const u8 *table, u32 ndesc, u32 head, bool top)
{
	u32 i = head, steps;

	for (steps = 0; steps < ndesc && i < ndesc; steps++) {
		const u8 *d = table + VMSG_RING_DESC_LEN * i;
		u64 addr = ld64(d);
		u32 len = ld32(d + 8);
		u16 fl = ld16(d + 12);

		if (fl & VMSG_DESC_F_INDIRECT) {
			if (top && len % VMSG_RING_DESC_LEN == 0 && in_area(a, addr, len))
				fill_table(a, a->win + addr, len / VMSG_RING_DESC_LEN, 0, false);
		} else if ((fl & VMSG_DESC_F_WRITE) && in_area(a, addr, len)) {
			memset(a->win + addr, 0xff, len);
		}
		if (!(fl & VMSG_DESC_F_NEXT))
			break;
		i = ld16(d + 14);
	}
}

void vmsg_ring_fill(const struct vmsg_area *a, const struct vmsg_ring *r, u32 head)
{
	fill_table(a, r->desc, r->num, head, true);
}

unsigned int vmsg_ring_fail_inflight(const struct vmsg_area *a, struct vmsg_ring *r)
{
	unsigned int done = 0;
	u16 used_idx = ld16(r->used + VMSG_RING_IDX);
	u32 h;

	for (h = 0; h < r->num; h++) {
		u8 *e;

		if (!vmsg_ring_inflight(r, h))
			continue;
		vmsg_ring_fill(a, r, h);
		e = r->used + VMSG_RING_ENTRIES +
		    VMSG_RING_USED_LEN * ((u16) (used_idx + done) % r->num);
		WRITE_ONCE(*(__le32 *) e, cpu_to_le32(h));
		WRITE_ONCE(*(__le32 *) (e + 4), cpu_to_le32(0));
		done++;
	}
	if (done > 0) {
		virt_wmb(); /* the entries and the buffers before the index */
		WRITE_ONCE(*(__le16 *) (r->used + VMSG_RING_IDX),
			   cpu_to_le16((u16) (used_idx + done)));
	}
	return done;
}
