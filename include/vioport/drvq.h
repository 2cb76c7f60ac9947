/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Driver-side split virtqueue: what a driver (a test, the benchmark, the
 * virtio-msg driver side, the vhost-user frontend) uses to hand buffers to a
 * device. The device is not trusted either: used ids and lengths it returns are
 * checked, and the free list lives in driver-private memory.
 */
#ifndef VIOPORT_DRVQ_H
#define VIOPORT_DRVQ_H

#include <stdbool.h>
#include <stdint.h>

#include "vioport/virtio.h"

/* A buffer as the device sees it: bus address and length. */
struct vio_buf {
	uint64_t addr;
	uint32_t len;
};

/* Per-head bookkeeping, in driver-private memory (one per queue entry). */
struct vio_drvq_slot {
	void *token;	 /* NULL when free */
	uint16_t next;	 /* free list link */
	uint16_t ndesc;	 /* descriptors the chain took */
	uint16_t last;	 /* last descriptor of the chain */
	uint32_t in_len; /* device-writable bytes, the most a used length may say */
};

struct vio_drvq {
	uint16_t size;
	bool event_idx;
	struct vio_desc *desc;
	uint16_t *avail; /* flags, idx, ring[size], used_event */
	uint16_t *used;	 /* flags, idx, elems, avail_event */
	struct vio_used_elem *used_ring;
	struct vio_drvq_slot *slots;
	uint64_t desc_bus; /* for callers that need it */
	uint16_t free_head;
	uint16_t num_free;
	uint16_t avail_idx;    /* next avail idx to publish */
	uint16_t kicked_avail; /* avail idx at the last kick decision */
	uint16_t last_used;
	bool cb_off;
	bool broken; /* the device returned a bad id or length */
};

/* Bytes needed for the rings of a split queue of size entries, laid out by vio_drvq_init. */
uint64_t vio_drvq_ring_bytes(uint16_t size);

/*
 * Lays out the rings of a split queue in ring (ring_bytes(size) bytes, 16-byte
 * aligned, zeroed here) whose bus address is ring_bus, with slots (size entries)
 * as private bookkeeping. *desc_bus, *avail_bus and *used_bus receive the
 * addresses to give the device. Returns 0 or -VIO_EINVAL for a size that is not a
 * power of two from 1 to 32768.
 */
int vio_drvq_init(struct vio_drvq *q, uint16_t size, void *ring, uint64_t ring_bus,
		  struct vio_drvq_slot *slots, bool event_idx, uint64_t *desc_bus,
		  uint64_t *avail_bus, uint64_t *used_bus);

/*
 * Queues one request: nout device-readable buffers then nin device-writable
 * ones, tagged with token (not NULL). The avail entry is visible to the device
 * after the next vio_drvq_kick_prepare. Returns the head or -VIO_ENOSPC.
 */
int vio_drvq_add(struct vio_drvq *q, const struct vio_buf *out, unsigned nout,
		 const struct vio_buf *in, unsigned nin, void *token);

/*
 * Queues one request through an indirect table of nout + nin entries that the
 * caller provides at table (driver-local pointer) and table_bus (device view).
 */
int vio_drvq_add_indirect(struct vio_drvq *q, const struct vio_buf *out, unsigned nout,
			  const struct vio_buf *in, unsigned nin, struct vio_desc *table,
			  uint64_t table_bus, void *token);

/* Publishes added buffers; returns true when the device wants a kick for them. */
bool vio_drvq_kick_prepare(struct vio_drvq *q);

/*
 * Takes the next used entry: returns 1 with *token and *len set, 0 when none,
 * -VIO_EPROTO when the device returned an id that is not in flight, a length
 * beyond the writable buffers, or moved used.idx too far (the queue is then
 * broken and stays so).
 */
int vio_drvq_get_used(struct vio_drvq *q, void **token, uint32_t *len);

/* Asks the device not to interrupt for used buffers. */
void vio_drvq_cb_disable(struct vio_drvq *q);

/* Asks for interrupts again; returns true if used entries are already pending. */
bool vio_drvq_cb_enable(struct vio_drvq *q);

/* Number of free descriptors. */
static inline uint16_t vio_drvq_num_free(const struct vio_drvq *q)
{
	return q->num_free;
}

#endif
