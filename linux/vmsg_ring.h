/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What the transport reads and writes in a split virtqueue's rings itself,
 * apart from virtio_ring: counting the buffers in flight, and failing them
 * when the device side never will (vmsg_vdev_drain). Plain code over the
 * rings in the window, with no lock and no kernel service, so that the unit
 * tests compile it in user space (tests/unit/test_vmsg_ring.c, through
 * tests/unit/kshim/vmsg_kshim.h).
 */
#ifndef VIOPORT_VMSG_RING_H
#define VIOPORT_VMSG_RING_H

#ifdef __KERNEL__
#include <asm/barrier.h>
#include <asm/byteorder.h>
#include <linux/compiler.h>
#include <linux/string.h>
#include <linux/types.h>
#else
#include "vmsg_kshim.h"
#endif

/* Split ring layout (virtio 1.x, little-endian). */
#define VMSG_RING_IDX	     2u	 /* avail->idx, used->idx */
#define VMSG_RING_ENTRIES    4u	 /* avail->ring[], used->ring[] */
#define VMSG_RING_USED_LEN   8u	 /* one struct vring_used_elem */
#define VMSG_RING_DESC_LEN   16u /* one struct vring_desc */
#define VMSG_DESC_F_NEXT     1u
#define VMSG_DESC_F_WRITE    2u
#define VMSG_DESC_F_INDIRECT 4u

/* The area of the window every buffer must lie in. */
struct vmsg_area {
	u8 *win;  /* the window's first byte; DMA addresses are offsets from it */
	u64 off;  /* the area's offset in the window */
	u64 size; /* and its size */
};

/*
 * One queue's rings in the window and what was counted of them: a head made
 * available counts up, a head on the used ring counts down; above 0 it is in
 * flight.
 */
struct vmsg_ring {
	u8 *desc;
	u8 *avail;
	u8 *used;
	u16 num;
	u16 avail_seen; /* avail->idx up to which heads were counted */
	u16 used_seen;	/* used->idx up to which heads were counted */
	s16 *count;	/* num entries */
};

/* Counts the heads made available and used since the last scan. */
void vmsg_ring_scan(struct vmsg_ring *r);

/* Whether head is in flight by the count. */
bool vmsg_ring_inflight(const struct vmsg_ring *r, u32 head);

/* Fills the device-writable buffers of the chain at head with 0xff. */
void vmsg_ring_fill(const struct vmsg_area *a, const struct vmsg_ring *r, u32 head);

/*
 * Fails every head in flight as a device would: its writable bytes 0xff,
 * a used entry of length 0 each, then used->idx moved past them. Returns
 * how many. Scan before; scan after to count them back down.
 */
unsigned int vmsg_ring_fail_inflight(const struct vmsg_area *a, struct vmsg_ring *r);

#endif
