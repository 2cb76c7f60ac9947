/* SPDX-License-Identifier: BSD-3-Clause */
/* Constants of the VIRTIO specification shared by every device and transport. */
#ifndef VIOPORT_VIRTIO_H
#define VIOPORT_VIRTIO_H

#include <stdint.h>

/* Device IDs. */
#define VIO_ID_BLK  2
#define VIO_ID_RNG  4
#define VIO_ID_SCMI 32
#define VIO_ID_I2C  34
#define VIO_ID_GPIO 41

/* Device status bits. */
#define VIO_STATUS_ACKNOWLEDGE 1u
#define VIO_STATUS_DRIVER      2u
#define VIO_STATUS_DRIVER_OK   4u
#define VIO_STATUS_FEATURES_OK 8u
#define VIO_STATUS_NEEDS_RESET 64u
#define VIO_STATUS_FAILED      128u

/* Feature bits common to every device. */
#define VIO_F_INDIRECT_DESC	28
#define VIO_F_EVENT_IDX		29
#define VIO_F_VERSION_1		32
#define VIO_F_ACCESS_PLATFORM	33
#define VIO_F_RING_PACKED	34
#define VIO_F_IN_ORDER		35
#define VIO_F_ORDER_PLATFORM	36
#define VIO_F_NOTIFICATION_DATA 38
#define VIO_F_RING_RESET	40

/* Turns a feature bit number into a mask. */
#define VIO_BIT(n) (1ull << (n))

/* Split-ring descriptor flags. */
#define VIO_DESC_F_NEXT	    1u
#define VIO_DESC_F_WRITE    2u
#define VIO_DESC_F_INDIRECT 4u
/* Packed-ring descriptor flags. */
#define VIO_DESC_F_AVAIL (1u << 7)
#define VIO_DESC_F_USED	 (1u << 15)

/* Split ring: avail.flags / used.flags. */
#define VIO_AVAIL_F_NO_INTERRUPT 1u
#define VIO_USED_F_NO_NOTIFY	 1u

/* Packed ring event suppression flags. */
#define VIO_EVENT_F_ENABLE  0u
#define VIO_EVENT_F_DISABLE 1u
#define VIO_EVENT_F_DESC    2u

/* Largest queue size either ring layout allows. */
#define VIO_VQ_MAX_SIZE 32768u

/* A descriptor as laid out in memory (split and indirect tables), little-endian. */
struct vio_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* A packed-ring descriptor as laid out in memory, little-endian. */
struct vio_pdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t id;
	uint16_t flags;
};

/* A used-ring element, little-endian. */
struct vio_used_elem {
	uint32_t id;
	uint32_t len;
};

/* Bytes of each split-ring part for a queue of num entries, event idx fields included. */
#define VIO_SPLIT_DESC_SIZE(num)  (16ul * (num))
#define VIO_SPLIT_AVAIL_SIZE(num) (6ul + 2ul * (num))
#define VIO_SPLIT_USED_SIZE(num)  (6ul + 8ul * (num))
/* Bytes of the packed ring and of each event suppression area. */
#define VIO_PACKED_DESC_SIZE(num) (16ul * (num))
#define VIO_PACKED_EVENT_SIZE	  4ul

/* Says whether an event at new_idx, after old_idx, crosses event_idx (spec 2.7.7.2). */
static inline int vio_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t) (new_idx - event_idx - 1) < (uint16_t) (new_idx - old_idx);
}

#endif
