/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The bounce records of the window's area (vmsg_dma.c): one record per pool
 * granule, kept in kernel memory and indexed by the granule's offset in the
 * area, so that the device side, which may rewrite any byte of the window,
 * cannot move where an unmap copies back to. Plain arithmetic and checks with
 * no lock and no kernel service: the unit tests compile vmsg_bounce.c in
 * user space (tests/unit/test_vmsg_bounce.c, through
 * tests/unit/kshim/vmsg_kshim.h). The pool itself (a gen_pool) and the
 * copies are vmsg_dma.c's.
 */
#ifndef VIOPORT_VMSG_BOUNCE_H
#define VIOPORT_VMSG_BOUNCE_H

#ifdef __KERNEL__
#include <linux/dma-direction.h>
#include <linux/limits.h>
#include <linux/types.h>
#else
#include "vmsg_kshim.h"
#endif

/* Granule of the area pool: every ring and bounce buffer is aligned to it. */
#define VMSG_POOL_ORDER	  6
#define VMSG_POOL_GRANULE (1u << VMSG_POOL_ORDER)

/* One bounce mapping. */
struct vmsg_bounce {
	phys_addr_t orig; /* the caller's buffer */
	u32 size;	  /* 0: free */
	u8 dir;		  /* enum dma_data_direction */
};

/* The records of one area: rec[i] is the mapping that starts at granule i, if any. */
struct vmsg_bounces {
	struct vmsg_bounce *rec;
	u32 n;	   /* granules: records */
	u64 off;   /* the area's offset in the window: the bus address of granule 0 */
	u32 limit; /* the largest mapping, in bytes (0: the whole area) */
};

/* Granules (records) in an area of size bytes: the whole granules only. */
u32 vmsg_bounce_granules(u64 area_size);
/* The bus address (window offset) of granule i; i must be below bs->n. */
u64 vmsg_bounce_addr(const struct vmsg_bounces *bs, u32 i);
/* The record of granule dma if dma is a granule's first byte in the area, else NULL. */
struct vmsg_bounce *vmsg_bounce_at(const struct vmsg_bounces *bs, u64 dma);
/*
 * Records a new mapping of size bytes of orig at dma (a free granule's
 * address, from the pool). 0, or -EINVAL for an address that is no granule's
 * or a range that leaves the area or exceeds the limit or 32 bits, or -EBUSY
 * if the granule's record is taken.
 */
int vmsg_bounce_map(struct vmsg_bounces *bs, u64 dma, phys_addr_t orig, u64 size,
		    enum dma_data_direction dir);
/*
 * The record an unmap of size bytes at dma ends, or NULL if no mapping starts
 * there or it has another size. Its size is still set: the caller copies
 * back, then frees it with vmsg_bounce_clear.
 */
struct vmsg_bounce *vmsg_bounce_unmap(const struct vmsg_bounces *bs, u64 dma, u64 size);
/* Frees a record. */
void vmsg_bounce_clear(struct vmsg_bounce *b);
/*
 * The mapping a sync of size bytes at dma falls in (a whole mapping or part
 * of one, at any offset: dma_sync_single_range_*), with dma's offset in it in
 * *skip; NULL if [dma, dma + size) is not inside one mapping.
 */
struct vmsg_bounce *vmsg_bounce_sync(const struct vmsg_bounces *bs, u64 dma, u64 size, u64 *skip);
/* Whether the bytes go from the caller's buffer to the bounce on map and sync for the device. */
bool vmsg_bounce_to_device(const struct vmsg_bounce *b);
/* Whether they come back from the bounce on unmap and sync for the CPU. */
bool vmsg_bounce_from_device(const struct vmsg_bounce *b);

#endif
