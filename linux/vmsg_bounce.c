// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The bounce records' arithmetic and checks (vmsg_bounce.h). Every address
 * and size comes from a caller of the DMA API (a driver, virtio_ring); the
 * checks keep a wrong one from copying outside the mapping it names.
 */
#ifdef __KERNEL__
#include <linux/errno.h>
#endif

#include "vmsg_bounce.h"

u32 vmsg_bounce_granules(u64 area_size)
{
	u64 n = area_size >> VMSG_POOL_ORDER;

	return n > U32_MAX ? U32_MAX : (u32) n;
}

u64 vmsg_bounce_addr(const struct vmsg_bounces *bs, u32 i)
{
	return bs->off + ((u64) i << VMSG_POOL_ORDER);
}

/* The granule dma lies in, or -1 outside the area. */
static s64 granule_of(const struct vmsg_bounces *bs, u64 dma)
{
	u64 rel;

	if (dma < bs->off)
		return -1;
	rel = dma - bs->off;
	if (rel >= (u64) bs->n << VMSG_POOL_ORDER)
		return -1;
	return (s64) (rel >> VMSG_POOL_ORDER);
}

struct vmsg_bounce *vmsg_bounce_at(const struct vmsg_bounces *bs, u64 dma)
{
	s64 g = granule_of(bs, dma);

	if (g < 0 || ((dma - bs->off) & (VMSG_POOL_GRANULE - 1)) != 0)
		return NULL;
	return &bs->rec[g];
}

/* Whether [dma, dma + size) lies in the area (size > 0). */
static bool in_area(const struct vmsg_bounces *bs, u64 dma, u64 size)
{
	u64 end = bs->off + ((u64) bs->n << VMSG_POOL_ORDER);

	return size > 0 && dma >= bs->off && dma < end && size <= end - dma;
}

int vmsg_bounce_map(struct vmsg_bounces *bs, u64 dma, phys_addr_t orig, u64 size,
		    enum dma_data_direction dir)
{
	struct vmsg_bounce *b = vmsg_bounce_at(bs, dma);

	if (b == NULL || !in_area(bs, dma, size) || size > U32_MAX ||
	    (bs->limit != 0 && size > bs->limit))
		return -EINVAL;
	if (b->size != 0)
		return -EBUSY;
	b->orig = orig;
	b->size = (u32) size;
	b->dir = (u8) dir;
	return 0;
}

struct vmsg_bounce *vmsg_bounce_unmap(const struct vmsg_bounces *bs, u64 dma, u64 size)
{
	struct vmsg_bounce *b = vmsg_bounce_at(bs, dma);

	if (b == NULL || b->size == 0 || b->size != size)
		return NULL;
	return b;
}

void vmsg_bounce_clear(struct vmsg_bounce *b)
{
	b->size = 0;
}

struct vmsg_bounce *vmsg_bounce_sync(const struct vmsg_bounces *bs, u64 dma, u64 size, u64 *skip)
{
	s64 g = granule_of(bs, dma);
	u64 back, rel;

	if (g < 0 || !in_area(bs, dma, size))
		return NULL;
	/*
	 * Mappings do not overlap, and only a mapping's first granule holds a
	 * record: the nearest record at or before dma's granule is the only
	 * mapping dma can be in. A mapping spans at most limit bytes, so the
	 * look back stops after that many granules.
	 */
	back = bs->limit != 0 ? ((u64) bs->limit + VMSG_POOL_GRANULE - 1) >> VMSG_POOL_ORDER
			      : (u64) bs->n;
	for (;;) {
		struct vmsg_bounce *b = &bs->rec[g];

		if (b->size != 0) {
			rel = dma - vmsg_bounce_addr(bs, (u32) g);
			if (rel >= b->size || size > b->size - rel)
				return NULL;
			*skip = rel;
			return b;
		}
		if (g == 0 || back == 0)
			return NULL;
		g--;
		back--;
	}
}

bool vmsg_bounce_to_device(const struct vmsg_bounce *b)
{
	return b->dir == DMA_TO_DEVICE || b->dir == DMA_BIDIRECTIONAL;
}

bool vmsg_bounce_from_device(const struct vmsg_bounce *b)
{
	return b->dir == DMA_FROM_DEVICE || b->dir == DMA_BIDIRECTIONAL;
}
