/* SPDX-License-Identifier: BSD-3-Clause */
/* Driver-side split virtqueue. The device's answers are checked like any input. */
#include "vioport/drvq.h"
#include "vioport/byteorder.h"
#include "vioport/compiler.h"
#include "vioport/errno.h"

static uint64_t used_offset(uint16_t size)
{
	return (VIO_SPLIT_DESC_SIZE(size) + VIO_SPLIT_AVAIL_SIZE(size) + 3u) & ~(uint64_t) 3u;
}

uint64_t vio_drvq_ring_bytes(uint16_t size)
{
	return used_offset(size) + VIO_SPLIT_USED_SIZE(size);
}

int vio_drvq_init(struct vio_drvq *q, uint16_t size, void *ring, uint64_t ring_bus,
		  struct vio_drvq_slot *slots, bool event_idx, uint64_t *desc_bus,
		  uint64_t *avail_bus, uint64_t *used_bus)
{
	uint8_t *base = ring;

	if (size == 0 || size > VIO_VQ_MAX_SIZE || (size & (size - 1)) != 0)
		return -VIO_EINVAL;
	memset(q, 0, sizeof(*q));
	memset(ring, 0, vio_drvq_ring_bytes(size));
	q->size = size;
	q->event_idx = event_idx;
	q->desc = ring;
	q->avail = (uint16_t *) (base + VIO_SPLIT_DESC_SIZE(size));
	q->used = (uint16_t *) (base + used_offset(size));
	q->used_ring = (struct vio_used_elem *) (q->used + 2);
	q->slots = slots;
	q->desc_bus = ring_bus;
	for (uint32_t i = 0; i < size; i++) {
		slots[i].token = NULL;
		slots[i].next = (uint16_t) (i + 1);
	}
	q->num_free = size;
	*desc_bus = ring_bus;
	*avail_bus = ring_bus + VIO_SPLIT_DESC_SIZE(size);
	*used_bus = ring_bus + used_offset(size);
	return 0;
}

static void put_desc(struct vio_desc *d, const struct vio_buf *b, uint16_t flags, uint16_t next)
{
	vio_put_le64(&d->addr, b->addr);
	vio_put_le32(&d->len, b->len);
	vio_put_le16(&d->flags, flags);
	vio_put_le16(&d->next, next);
}

/* Records a chain of n descriptors from head to last and makes it available. */
static int publish_chain(struct vio_drvq *q, uint16_t head, uint16_t n, uint16_t last,
			 uint32_t in_len, void *token)
{
	struct vio_drvq_slot *s = &q->slots[head];

	q->free_head = q->slots[last].next;
	q->num_free -= n;
	s->token = token;
	s->ndesc = n;
	s->last = last;
	s->in_len = in_len;
	vio_store_relaxed_le16(&q->avail[2 + (q->avail_idx & (q->size - 1))], head);
	q->avail_idx++;
	return head;
}

/* Adds b's length to a running total, saturating: a used length never exceeds UINT32_MAX. */
static uint32_t add_len(uint32_t t, const struct vio_buf *b)
{
	return b->len > UINT32_MAX - t ? UINT32_MAX : t + b->len;
}

int vio_drvq_add(struct vio_drvq *q, const struct vio_buf *out, unsigned nout,
		 const struct vio_buf *in, unsigned nin, void *token)
{
	unsigned n = nout + nin;
	uint16_t head = q->free_head, i = head, last = head;
	uint32_t in_len = 0;

	if (token == NULL || n == 0)
		return -VIO_EINVAL;
	if (q->broken || n > q->num_free)
		return -VIO_ENOSPC;
	for (unsigned k = 0; k < n; k++) {
		uint16_t next = q->slots[i].next;
		const struct vio_buf *b = k < nout ? &out[k] : &in[k - nout];
		uint16_t flags = k < nout ? 0 : VIO_DESC_F_WRITE;

		if (k >= nout)
			in_len = add_len(in_len, b);
		if (k + 1 < n)
			flags |= VIO_DESC_F_NEXT;
		put_desc(&q->desc[i], b, flags, k + 1 < n ? next : 0);
		last = i;
		i = next;
	}
	return publish_chain(q, head, (uint16_t) n, last, in_len, token);
}

int vio_drvq_add_indirect(struct vio_drvq *q, const struct vio_buf *out, unsigned nout,
			  const struct vio_buf *in, unsigned nin, struct vio_desc *table,
			  uint64_t table_bus, void *token)
{
	unsigned n = nout + nin;
	struct vio_buf t;
	uint32_t in_len = 0;

	if (token == NULL || n == 0 || n > VIO_VQ_MAX_SIZE)
		return -VIO_EINVAL;
	if (q->broken || q->num_free == 0)
		return -VIO_ENOSPC;
	for (unsigned k = 0; k < n; k++) {
		uint16_t flags = k >= nout ? VIO_DESC_F_WRITE : 0;

		if (k + 1 < n)
			flags |= VIO_DESC_F_NEXT;
		put_desc(&table[k], k < nout ? &out[k] : &in[k - nout], flags,
			 (uint16_t) (k + 1 < n ? k + 1 : 0));
	}
	t.addr = table_bus;
	t.len = (uint32_t) (n * sizeof(struct vio_desc));
	for (unsigned k = 0; k < nin; k++)
		in_len = add_len(in_len, &in[k]);
	put_desc(&q->desc[q->free_head], &t, VIO_DESC_F_INDIRECT, 0);
	return publish_chain(q, q->free_head, 1, q->free_head, in_len, token);
}

bool vio_drvq_kick_prepare(struct vio_drvq *q)
{
	uint16_t old = q->kicked_avail, now = q->avail_idx;

	if (old == now)
		return false;
	vio_store_release_le16(&q->avail[1], now);
	q->kicked_avail = now;
	vio_mb();
	if (q->event_idx)
		return vio_need_event(vio_load_relaxed_le16((uint16_t *) &q->used_ring[q->size]),
				      now, old);
	return !(vio_load_relaxed_le16(&q->used[0]) & VIO_USED_F_NO_NOTIFY);
}

static int drvq_break(struct vio_drvq *q)
{
	q->broken = true;
	return -VIO_EPROTO;
}

int vio_drvq_get_used(struct vio_drvq *q, void **token, uint32_t *len)
{
	struct vio_used_elem e;
	uint16_t idx;
	uint32_t id;
	struct vio_drvq_slot *s;

	if (q->broken)
		return -VIO_EPROTO;
	idx = vio_load_acquire_le16(&q->used[1]);
	if (idx == q->last_used)
		return 0;
	if ((uint16_t) (idx - q->last_used) > q->size)
		return drvq_break(q);
	VIO_COPY(&e, &q->used_ring[q->last_used & (q->size - 1)], sizeof(e));
	id = vio_le32(e.id);
	if (id >= q->size || q->slots[id].token == NULL)
		return drvq_break(q);
	s = &q->slots[id];
	if (vio_le32(e.len) > s->in_len)
		return drvq_break(q);
	*token = s->token;
	*len = vio_le32(e.len);
	s->token = NULL;
	q->slots[s->last].next = q->free_head;
	q->free_head = (uint16_t) id;
	q->num_free += s->ndesc;
	q->last_used++;
	if (q->event_idx && !q->cb_off)
		vio_store_relaxed_le16(&q->avail[2 + q->size], q->last_used);
	return 1;
}

void vio_drvq_cb_disable(struct vio_drvq *q)
{
	q->cb_off = true;
	if (!q->event_idx)
		vio_store_relaxed_le16(&q->avail[0], VIO_AVAIL_F_NO_INTERRUPT);
}

bool vio_drvq_cb_enable(struct vio_drvq *q)
{
	q->cb_off = false;
	if (q->event_idx)
		vio_store_relaxed_le16(&q->avail[2 + q->size], q->last_used);
	else
		vio_store_relaxed_le16(&q->avail[0], 0);
	vio_mb();
	return vio_load_acquire_le16(&q->used[1]) != q->last_used;
}
