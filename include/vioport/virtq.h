/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device-side virtqueue, split or packed behind one request API.
 *
 * A device pops a request as a bounded scatter list (readable segments first,
 * then writable ones), handles it now or later, pushes a used entry for it and
 * publishes a batch of them. Everything read from the ring is treated as
 * hostile: every rule of docs/validation.md is checked on each pop, and the first
 * violation breaks the queue until it is set up again.
 *
 * Functions returning int follow one convention: 1 got one, 0 nothing to do,
 * negative VIO_E* error when the driver broke a rule.
 */
#ifndef VIOPORT_VIRTQ_H
#define VIOPORT_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>

#include "vioport/virtio.h"
#include "vioport/window.h"

/* One contiguous piece of a driver buffer, already translated. */
struct vio_iov {
	uint8_t *base;
	uint32_t len;
};

/* The chain held more segments than req->cap: the middle ones were dropped. */
#define VIO_REQ_F_OVERFLOW 1u

/*
 * A popped request. The caller sets iov and cap; pop fills the rest. When the
 * chain has more segments than cap, the first cap - 1 are kept, the last slot
 * holds the chain's final segment (where devices put their status byte) and
 * VIO_REQ_F_OVERFLOW is set; lengths always count the whole chain.
 */
struct vio_req {
	struct vio_iov *iov;
	uint16_t cap;
	uint16_t nread;	 /* readable segments: iov[0 .. nread) */
	uint16_t nwrite; /* writable segments: iov[nread .. nread + nwrite) */
	uint16_t id;	 /* head index (split) or buffer id (packed), for push */
	uint16_t ndesc;	 /* ring slots the chain took, for push */
	uint16_t flags;	 /* VIO_REQ_F_* */
	uint32_t read_len;
	uint32_t write_len;
};

/* What pop and push may do: nothing (not set up, or broken), or walk one layout. */
#define VIO_VQ_MODE_OFF	   0
#define VIO_VQ_MODE_SPLIT  1
#define VIO_VQ_MODE_PACKED 2

/*
 * The inflight region of the vhost-user spec ("Inflight I/O tracking"), one
 * queue's share, split-ring layout, host byte order: what a device records so
 * that a successor (the same backend restarted after a crash, or firmware
 * after a reboot) hands the requests in flight out again. See
 * docs/inflight.md.
 */
struct vio_ifl_desc {
	uint8_t inflight; /* 1: popped (a head), not yet published as used */
	uint8_t pad[5];
	uint16_t next;	  /* the batch list: the head pushed before this one */
	uint64_t counter; /* pop order */
};

struct vio_ifl_queue {
	uint64_t features;	  /* 0 */
	uint16_t version;	  /* VIO_IFL_VERSION; 0: blank, formatted at attach */
	uint16_t desc_num;	  /* entries in desc */
	uint16_t last_batch_head; /* the head pushed last */
	uint16_t used_idx;	  /* used.idx once the batch's marks are cleared */
	struct vio_ifl_desc desc[];
};

/* The packed-ring layout of the same spec section. */
struct vio_ifl_pdesc {
	uint8_t inflight; /* head of a recorded chain not yet published */
	uint8_t pad;
	uint16_t next;	  /* free list, and the chain's entries in order */
	uint16_t last;	  /* head: the chain's last entry */
	uint16_t num;	  /* head: descriptors in the chain */
	uint64_t counter; /* head: pop order */
	uint16_t id;	  /* a copy of the ring descriptor */
	uint16_t flags;
	uint32_t len;
	uint64_t addr;
};

struct vio_ifl_pqueue {
	uint64_t features;
	uint16_t version;
	uint16_t desc_num;
	uint16_t free_head;
	uint16_t old_free_head;
	uint16_t used_idx; /* descriptor ring position of the next used entry */
	uint16_t old_used_idx;
	uint8_t used_wrap_counter;
	uint8_t old_used_wrap_counter;
	uint8_t pad[7];
	struct vio_ifl_pdesc desc[];
	/* then this backend's own: uint16_t slot[desc_num], buffer id -> head entry */
};

#define VIO_IFL_VERSION 1u

/* Bytes each layout needs for a queue of n entries. */
#define VIO_IFL_SPLIT_BYTES(n)	(16ull + 16ull * (uint64_t) (n))
#define VIO_IFL_PACKED_BYTES(n) (32ull + 34ull * (uint64_t) (n))

/*
 * Bytes of one queue's share for a queue of n entries: room for either
 * layout, 64-byte aligned. The region is handed out before the rings say
 * which layout they use.
 */
#define VIO_IFL_QUEUE_BYTES(n) ((VIO_IFL_PACKED_BYTES(n) + 63ull) & ~63ull)

/* Device-side queue state. Zero it, then set it up; no storage of its own. */
struct vio_vq {
	const struct vio_winmap *mem;
	uint16_t size;
	bool packed;
	bool event_idx;
	bool indirect;
	bool ready;   /* set up and usable */
	uint8_t mode; /* VIO_VQ_MODE_*: ready, not broken, and which layout */
	bool notify_off;
	int error; /* first rule the driver broke, 0 if none */

	/* split ring */
	struct vio_desc *desc;
	uint16_t *avail; /* flags, idx, ring[size], used_event */
	uint16_t *used;	 /* flags, idx, then elems; avail_event after them */
	struct vio_used_elem *used_ring;
	uint16_t last_avail;	 /* next avail slot to take */
	uint16_t shadow_avail;	 /* avail.idx as last read */
	uint16_t used_idx;	 /* next used slot to fill */
	uint16_t published_used; /* used.idx as last written */

	/* packed ring */
	struct vio_pdesc *pdesc;
	uint16_t *driver_event; /* off_wrap, flags */
	uint16_t *device_event; /* off_wrap, flags */
	bool avail_wrap;
	bool used_wrap;

	/* notification bookkeeping, both layouts */
	uint16_t signalled_used;
	uint16_t unsignalled; /* packed: descriptors used since the last flush */
	bool signalled_valid;
	uint16_t inflight;

	/* inflight recording (vio_vq_inflight_attach); ifl and pifl NULL: none */
	struct vio_ifl_queue *ifl;   /* split */
	struct vio_ifl_pqueue *pifl; /* packed */
	uint16_t *ifl_slot;	     /* packed: head entry of each buffer id in flight */
	uint64_t ifl_counter;	     /* order number of the next pop */
	uint64_t ifl_resubmit_lo;    /* resubmission: smallest order number not handed out yet */
	uint64_t ifl_resubmit_hi;    /* resubmission: order numbers from before the attach */
	uint16_t ifl_resubmit;	     /* recorded requests pop still has to hand out again */
};

/*
 * Sets up a split queue of size entries (a power of two) whose rings are at the
 * given bus addresses, each of which must translate entirely inside mem with the
 * access it needs. features selects indirect descriptors and event idx. Returns 0
 * or a negative error; on error the queue is left not ready.
 */
int vio_vq_setup_split(struct vio_vq *vq, const struct vio_winmap *mem, uint16_t size,
		       uint64_t desc, uint64_t avail, uint64_t used, uint64_t features);

/* As vio_vq_setup_split for a packed ring (any size up to 32768). */
int vio_vq_setup_packed(struct vio_vq *vq, const struct vio_winmap *mem, uint16_t size,
			uint64_t desc, uint64_t driver, uint64_t device, uint64_t features);

/* Forgets the queue: not ready, no error, indices back to zero. */
void vio_vq_reset(struct vio_vq *vq);

/*
 * Sets where processing resumes (vhost-user SET_VRING_BASE): for split the next
 * avail index, for packed bit 15 is the wrap counter and the rest the index.
 * The used side starts at the same place.
 */
int vio_vq_set_base(struct vio_vq *vq, uint16_t base);

/* Says where processing stands, in the same encoding as vio_vq_set_base. */
uint16_t vio_vq_get_base(const struct vio_vq *vq);

/*
 * Takes the next available request. Returns 1 and fills req, 0 when the ring
 * is empty, or a negative error when the driver broke a ring rule; the queue is
 * then broken and every later pop returns the same error.
 */
int vio_vq_pop(struct vio_vq *vq, struct vio_req *req);

/*
 * Returns a request (by its id and ndesc from pop) with len bytes written. The
 * entry becomes visible to the driver at the next vio_vq_flush for split
 * rings, at once for packed rings.
 */
void vio_vq_push(struct vio_vq *vq, uint16_t id, uint16_t ndesc, uint32_t len);

/*
 * Publishes pushed entries. Returns true when the driver asked to be
 * interrupted for them (flags or event idx), false when it did not or nothing
 * was published since the last interrupt.
 */
bool vio_vq_flush(struct vio_vq *vq);

/* Asks the driver not to kick for new buffers (a hint the driver may ignore). */
void vio_vq_notify_disable(struct vio_vq *vq);

/*
 * Asks the driver to kick again for new buffers. Returns true if buffers
 * arrived meanwhile, so the caller must pop again instead of waiting.
 */
bool vio_vq_notify_enable(struct vio_vq *vq);

/* Copies up to len bytes from byte off of iov[0 .. n) into dst; returns the bytes copied. */
uint32_t vio_iov_to_buf(const struct vio_iov *iov, uint16_t n, uint32_t off, void *dst,
			uint32_t len);

/* Copies up to len bytes of src into iov[0 .. n) from byte off; returns the bytes stored. */
uint32_t vio_iov_from_buf(const struct vio_iov *iov, uint16_t n, uint32_t off, const void *src,
			  uint32_t len);

/*
 * Starts recording this queue's requests in flight in region (len bytes,
 * 8-byte aligned, the queue's share of a vhost-user inflight region, shared
 * with whoever keeps it across a crash). Call once the queue is set up and its
 * base set. What a previous device left in the region is taken over first:
 * a batch published but not yet cleared is cleared, the ring resumes after
 * the requests still marked in flight, and the next pops hand those requests
 * out again, oldest first, before any new one. Split and packed queues each
 * use their layout of the spec. Returns how many will be handed out again, or
 * -VIO_EINVAL for a region that does not fit the queue; on error nothing is
 * recorded.
 */
int vio_vq_inflight_attach(struct vio_vq *vq, void *region, uint64_t len);

/* Stops recording (the region is going away); the queue runs on. */
void vio_vq_inflight_detach(struct vio_vq *vq);

/*
 * Blanks a region share (len bytes) whose queue the driver reset: what it had
 * in flight must not come back on its new rings.
 */
void vio_vq_inflight_forget(void *region, uint64_t len);

/* Says whether the driver has made buffers available that pop has not taken. */
bool vio_vq_has_avail(struct vio_vq *vq);

#endif
