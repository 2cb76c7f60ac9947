/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio-msg shared-memory bus: window header, handshake and the two SPSC
 * message FIFOs. The peer may write any byte of the window at any time, so
 * every shared word is read once into a local and checked before use, the
 * layout is copied out of the header once at attach, and each side keeps the
 * FIFO index it owns in its own memory (docs/vmsg.md).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vioport/byteorder.h"
#include "vioport/compiler.h"
#include "vioport/errno.h"
#include "vioport/vmsg_shm.h"

static void cache_clean(const struct vio_vmsg_shm *s, const void *p, uint32_t len)
{
	if (s->cache != NULL && s->cache->clean != NULL)
		s->cache->clean(s->cache->ctx, p, len);
}

static void cache_invalidate(const struct vio_vmsg_shm *s, const void *p, uint32_t len)
{
	if (s->cache != NULL && s->cache->invalidate != NULL)
		s->cache->invalidate(s->cache->ctx, p, len);
}

/* The window is at least 4-byte aligned and every shared word sits at a multiple of 4. */
static uint32_t *word(uint8_t *base, uint32_t off)
{
	return (uint32_t *) (void *) (base + off);
}

static uint32_t load_shared(const struct vio_vmsg_shm *s, uint8_t *base, uint32_t off)
{
	cache_invalidate(s, base + off, 4);
	return vio_le32(VIO_LOAD_ACQUIRE32(word(base, off)));
}

static void store_shared(const struct vio_vmsg_shm *s, uint8_t *base, uint32_t off, uint32_t v)
{
	VIO_STORE_RELEASE32(word(base, off), vio_le32(v));
	cache_clean(s, base + off, 4);
}

static uint32_t own_state_off(const struct vio_vmsg_shm *s)
{
	return s->is_device ? VIO_VMSG_SHM_OFF_DEV_STATE : VIO_VMSG_SHM_OFF_DRV_STATE;
}

static uint32_t peer_state_off(const struct vio_vmsg_shm *s)
{
	return s->is_device ? VIO_VMSG_SHM_OFF_DRV_STATE : VIO_VMSG_SHM_OFF_DEV_STATE;
}

static uint32_t peer_gen_off(const struct vio_vmsg_shm *s)
{
	return s->is_device ? VIO_VMSG_SHM_OFF_DRV_GEN : VIO_VMSG_SHM_OFF_DEV_GEN;
}

static uint32_t next_slot(const struct vio_vmsg_fifo *f, uint32_t i)
{
	return i + 1 == f->nslots ? 0 : i + 1;
}

static void fifo_setup(struct vio_vmsg_fifo *f, uint8_t *base, uint32_t fifo_size, uint32_t max_msg,
		       uint32_t pos)
{
	f->base = base;
	f->nslots = (fifo_size - VIO_VMSG_SHM_FIFO_SLOTS) / VIO_VMSG_SHM_SLOT_SIZE;
	f->max_msg = max_msg;
	f->broken = false;
	f->pos = pos;
}

/* Whether [off, off + len) lies inside [0, size), in 64 bits so nothing wraps. */
static bool in_window(uint32_t off, uint32_t len, uint32_t size)
{
	return (uint64_t) off + len <= size;
}

/* Whether [a, a + alen) and [b, b + blen) share a byte. */
static bool overlap(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen)
{
	return (uint64_t) a < (uint64_t) b + blen && (uint64_t) b < (uint64_t) a + alen;
}

static bool fifo_size_ok(uint32_t fifo_size)
{
	/* A FIFO needs two slots: one is always left free to tell full from empty. */
	return fifo_size >= VIO_VMSG_SHM_FIFO_SLOTS + 2 * VIO_VMSG_SHM_SLOT_SIZE &&
	       fifo_size % VIO_VMSG_SHM_SLOT_SIZE == 0;
}

/* Shared words are accessed as aligned 32-bit atomics. */
static bool base_ok(const void *base)
{
	return base != NULL && ((uintptr_t) base & 3u) == 0;
}

int vio_vmsg_shm_format(struct vio_vmsg_shm *s, void *base, uint32_t size, uint32_t fifo_size,
			uint32_t gen)
{
	uint8_t *b = base;
	uint32_t d2dev, dev2d, area;

	if (s == NULL)
		return -VIO_EINVAL;
	/* Until formatted, send and recv fail instead of touching an unknown window. */
	s->tx.broken = s->rx.broken = true;
	if (fifo_size == 0)
		fifo_size = VIO_VMSG_SHM_FIFO_DEFAULT;
	if (!base_ok(base) || gen == 0 || !fifo_size_ok(fifo_size))
		return -VIO_EINVAL;
	d2dev = VIO_VMSG_SHM_HDR_SIZE;
	dev2d = d2dev + fifo_size;
	if ((uint64_t) dev2d + fifo_size >= size) /* the area needs at least one byte */
		return -VIO_EINVAL;
	area = dev2d + fifo_size;

	s->base = b;
	s->size = size;
	s->is_device = false;
	s->area_off = area;
	s->area_size = size - area;
	s->peer_generation = 0;
	fifo_setup(&s->tx, b + d2dev, fifo_size, VIO_VMSG_SHM_MAX_MSG, 0);
	fifo_setup(&s->rx, b + dev2d, fifo_size, VIO_VMSG_SHM_MAX_MSG, 0);

	/* A device still attached sees RESET first and leaves the FIFOs alone. */
	store_shared(s, b, VIO_VMSG_SHM_OFF_DRV_STATE, VIO_VMSG_SHM_STATE_RESET);
	for (uint32_t i = 0; i < VIO_VMSG_SHM_HDR_SIZE; i++) {
		if (i < VIO_VMSG_SHM_OFF_DRV_STATE || i >= VIO_VMSG_SHM_OFF_DRV_STATE + 4)
			b[i] = 0;
	}
	vio_put_le32(b + VIO_VMSG_SHM_OFF_MAGIC, VIO_VMSG_SHM_MAGIC);
	vio_put_le16(b + VIO_VMSG_SHM_OFF_VERSION, VIO_VMSG_SHM_VERSION);
	vio_put_le16(b + VIO_VMSG_SHM_OFF_HDR_SIZE, VIO_VMSG_SHM_HDR_SIZE);
	vio_put_le32(b + VIO_VMSG_SHM_OFF_WIN_SIZE, size);
	vio_put_le32(b + VIO_VMSG_SHM_OFF_FIFO_SIZE, fifo_size);
	vio_put_le32(b + VIO_VMSG_SHM_OFF_D2DEV, d2dev);
	vio_put_le32(b + VIO_VMSG_SHM_OFF_DEV2D, dev2d);
	vio_put_le32(b + VIO_VMSG_SHM_OFF_AREA, area);
	vio_put_le32(b + VIO_VMSG_SHM_OFF_AREA_SIZE, size - area);
	vio_put_le32(b + VIO_VMSG_SHM_OFF_MAX_MSG, VIO_VMSG_SHM_MAX_MSG);
	vio_put_le32(b + VIO_VMSG_SHM_OFF_DRV_GEN, gen);
	/* Empty FIFOs: head and tail of both directions at slot 0. */
	for (uint32_t off = d2dev; off < area; off += fifo_size) {
		vio_put_le32(b + off, 0);
		vio_put_le32(b + off + VIO_VMSG_SHM_FIFO_TAIL, 0);
		cache_clean(s, b + off, VIO_VMSG_SHM_FIFO_SLOTS);
	}
	cache_clean(s, b, VIO_VMSG_SHM_HDR_SIZE);
	/* The release store publishes everything above to a device that acquires it. */
	store_shared(s, b, VIO_VMSG_SHM_OFF_DRV_STATE, VIO_VMSG_SHM_STATE_READY);
	return 0;
}

int vio_vmsg_shm_driver_leave(struct vio_vmsg_shm *s, void *base, uint32_t size)
{
	uint8_t *b = base;

	if (s == NULL || !base_ok(base) || size < VIO_VMSG_SHM_HDR_SIZE)
		return -VIO_EINVAL;
	store_shared(s, b, VIO_VMSG_SHM_OFF_DRV_STATE, VIO_VMSG_SHM_STATE_RESET);
	/*
	 * A store, then a load of the peer's word: only a full barrier keeps the load
	 * from passing the store, and a device that still reads READY here has not
	 * yet acknowledged (its release store of RESET follows its last FIFO write).
	 */
	vio_mb();
	return load_shared(s, b, VIO_VMSG_SHM_OFF_DEV_STATE) != VIO_VMSG_SHM_STATE_READY;
}

int vio_vmsg_shm_device_init(struct vio_vmsg_shm *s, void *base, uint32_t size)
{
	if (s == NULL || !base_ok(base) || size < VIO_VMSG_SHM_HDR_SIZE)
		return -VIO_EINVAL;
	s->base = base;
	s->size = size;
	s->is_device = true;
	s->tx.broken = s->rx.broken = true; /* until attached */
	s->session_gen = 0;
	s->session_over = true;
	store_shared(s, s->base, VIO_VMSG_SHM_OFF_DEV_STATE, VIO_VMSG_SHM_STATE_RESET);
	return 0;
}

/* Checks a header copied out of the window; fills s on success. */
static int check_header(struct vio_vmsg_shm *s, const uint8_t *h, uint32_t size)
{
	uint32_t fifo_size = vio_get_le32(h + VIO_VMSG_SHM_OFF_FIFO_SIZE);
	uint32_t d2dev = vio_get_le32(h + VIO_VMSG_SHM_OFF_D2DEV);
	uint32_t dev2d = vio_get_le32(h + VIO_VMSG_SHM_OFF_DEV2D);
	uint32_t area = vio_get_le32(h + VIO_VMSG_SHM_OFF_AREA);
	uint32_t area_size = vio_get_le32(h + VIO_VMSG_SHM_OFF_AREA_SIZE);
	uint32_t max_msg = vio_get_le32(h + VIO_VMSG_SHM_OFF_MAX_MSG);

	if (vio_get_le16(h + VIO_VMSG_SHM_OFF_VERSION) != VIO_VMSG_SHM_VERSION ||
	    vio_get_le16(h + VIO_VMSG_SHM_OFF_HDR_SIZE) != VIO_VMSG_SHM_HDR_SIZE ||
	    vio_get_le32(h + VIO_VMSG_SHM_OFF_WIN_SIZE) != size)
		return -VIO_EINVAL;
	if (!fifo_size_ok(fifo_size) || max_msg < VIO_VMSG_SHM_MIN_MAX_MSG ||
	    max_msg > VIO_VMSG_SHM_SLOT_SIZE)
		return -VIO_EINVAL;
	/* FIFOs on slot boundaries keep head, tail and slots aligned and apart. */
	if (d2dev % VIO_VMSG_SHM_SLOT_SIZE != 0 || dev2d % VIO_VMSG_SHM_SLOT_SIZE != 0)
		return -VIO_EINVAL;
	if (!in_window(d2dev, fifo_size, size) || !in_window(dev2d, fifo_size, size) ||
	    area_size == 0 || !in_window(area, area_size, size))
		return -VIO_EINVAL;
	if (overlap(0, VIO_VMSG_SHM_HDR_SIZE, d2dev, fifo_size) ||
	    overlap(0, VIO_VMSG_SHM_HDR_SIZE, dev2d, fifo_size) ||
	    overlap(0, VIO_VMSG_SHM_HDR_SIZE, area, area_size) ||
	    overlap(d2dev, fifo_size, dev2d, fifo_size) ||
	    overlap(d2dev, fifo_size, area, area_size) ||
	    overlap(dev2d, fifo_size, area, area_size))
		return -VIO_EINVAL;

	s->area_off = area;
	s->area_size = area_size;
	fifo_setup(&s->rx, s->base + d2dev, fifo_size, max_msg, 0);
	fifo_setup(&s->tx, s->base + dev2d, fifo_size, max_msg, 0);
	return 0;
}

int vio_vmsg_shm_attach(struct vio_vmsg_shm *s, void *base, uint32_t size)
{
	uint8_t hdr[VIO_VMSG_SHM_HDR_SIZE];
	uint8_t *b = base;
	uint32_t gen, tail, head, dev_gen;
	int r;

	if (s == NULL || !base_ok(base) || size <= VIO_VMSG_SHM_HDR_SIZE)
		return -VIO_EINVAL;
	s->base = b;
	s->size = size;
	s->is_device = true;
	s->tx.broken = s->rx.broken = true; /* until the checks below pass */

	/* The acquire load of the driver's state orders the header reads after it. */
	if (load_shared(s, b, VIO_VMSG_SHM_OFF_DRV_STATE) != VIO_VMSG_SHM_STATE_READY)
		return -VIO_EAGAIN;
	gen = load_shared(s, b, VIO_VMSG_SHM_OFF_DRV_GEN);
	cache_invalidate(s, b, VIO_VMSG_SHM_HDR_SIZE);
	VIO_COPY(hdr, b, sizeof(hdr));
	if (vio_get_le32(hdr + VIO_VMSG_SHM_OFF_MAGIC) != VIO_VMSG_SHM_MAGIC || gen == 0)
		return -VIO_EAGAIN;
	r = check_header(s, hdr, size);
	if (r < 0)
		return r;

	if (s->session_gen != 0 && s->session_gen != gen) {
		/*
		 * Re-formatted since this side's last session: the format left the indices
		 * this side owns at 0, and a write of the old session that raced with it
		 * must not survive into the new one.
		 */
		tail = head = 0;
		store_shared(s, s->rx.base, VIO_VMSG_SHM_FIFO_TAIL, 0);
		store_shared(s, s->tx.base, 0, 0);
	} else {
		/* Carry on from the indices this side owns, so a device restart loses no slot. */
		tail = load_shared(s, s->rx.base, VIO_VMSG_SHM_FIFO_TAIL);
		head = load_shared(s, s->tx.base, 0);
		if (tail >= s->rx.nslots || head >= s->tx.nslots) {
			s->tx.broken = s->rx.broken = true;
			return -VIO_EINVAL;
		}
	}
	s->rx.pos = tail;
	s->tx.pos = head;
	s->peer_generation = gen;
	s->session_gen = gen;
	s->session_over = false;

	dev_gen = vio_get_le32(hdr + VIO_VMSG_SHM_OFF_DEV_GEN) + 1;
	if (dev_gen == 0)
		dev_gen = 1;
	store_shared(s, b, VIO_VMSG_SHM_OFF_DEV_GEN, dev_gen);
	store_shared(s, b, VIO_VMSG_SHM_OFF_DEV_STATE, VIO_VMSG_SHM_STATE_READY);
	return 0;
}

bool vio_vmsg_shm_session_over(struct vio_vmsg_shm *s)
{
	if (!s->is_device)
		return false;
	if (s->session_over)
		return true;
	/* The driver's state and generation words share a cache line: one invalidate. */
	cache_invalidate(s, s->base + VIO_VMSG_SHM_OFF_DRV_STATE,
			 VIO_VMSG_SHM_OFF_DRV_GEN + 4 - VIO_VMSG_SHM_OFF_DRV_STATE);
	if (vio_le32(VIO_LOAD_ACQUIRE32(word(s->base, VIO_VMSG_SHM_OFF_DRV_STATE))) !=
		VIO_VMSG_SHM_STATE_READY ||
	    vio_le32(VIO_LOAD_ACQUIRE32(word(s->base, VIO_VMSG_SHM_OFF_DRV_GEN))) != s->session_gen)
		s->session_over = true;
	return s->session_over;
}

/* A corrupt index: this side stops touching the FIFOs until the peer re-formats. */
static VIO_COLD int fail_corrupt(struct vio_vmsg_shm *s)
{
	vio_vmsg_shm_stop(s);
	return -VIO_EIO;
}

int vio_vmsg_shm_send(struct vio_vmsg_shm *s, const void *msg, uint32_t len)
{
	struct vio_vmsg_fifo *f = &s->tx;
	uint8_t *slot;
	uint32_t tail, next;

	if (f->broken)
		return -VIO_EIO;
	if (msg == NULL || len < VIO_VMSG_SHM_MSG_HDR || len > f->max_msg ||
	    vio_get_le16((const uint8_t *) msg + VIO_VMSG_SHM_MSG_SIZE_OFF) != len)
		return -VIO_EINVAL;
	/* Checked before the full test, so a device waiting for room sees a re-format. */
	if (vio_vmsg_shm_session_over(s))
		return -VIO_ECONNRESET;
	/* Acquire: the consumer's reads of the slot we are about to reuse are done. */
	tail = load_shared(s, f->base, VIO_VMSG_SHM_FIFO_TAIL);
	if (tail >= f->nslots)
		return fail_corrupt(s);
	next = next_slot(f, f->pos);
	if (next == tail)
		return -VIO_ENOSPC;

	slot = f->base + VIO_VMSG_SHM_FIFO_SLOTS + f->pos * VIO_VMSG_SHM_SLOT_SIZE;
	VIO_COPY(slot, msg, len);
	/* No stale bytes of an earlier message travel to the peer. */
	for (uint32_t i = len; i < VIO_VMSG_SHM_SLOT_SIZE; i++)
		slot[i] = 0;
	cache_clean(s, slot, VIO_VMSG_SHM_SLOT_SIZE);
	/* The driver may have begun a re-format meanwhile: then publish nothing. */
	if (vio_vmsg_shm_session_over(s))
		return -VIO_ECONNRESET;
	/* Release: the slot's contents are visible before the new head. */
	store_shared(s, f->base, 0, next);
	f->pos = next;
	return 0;
}

int vio_vmsg_shm_recv(struct vio_vmsg_shm *s, void *buf, uint32_t cap)
{
	struct vio_vmsg_fifo *f = &s->rx;
	uint8_t msg[VIO_VMSG_SHM_SLOT_SIZE];
	const uint8_t *slot;
	uint32_t head, len, tail = f->pos;

	if (f->broken)
		return -VIO_EIO;
	if (buf == NULL || cap < f->max_msg)
		return -VIO_EINVAL;
	if (vio_vmsg_shm_session_over(s))
		return -VIO_ECONNRESET;
	/* Acquire: the slot reads below see what the producer wrote before this head. */
	head = load_shared(s, f->base, 0);
	if (head >= f->nslots)
		return fail_corrupt(s);
	if (head == tail)
		return 0;

	slot = f->base + VIO_VMSG_SHM_FIFO_SLOTS + tail * VIO_VMSG_SHM_SLOT_SIZE;
	cache_invalidate(s, slot, VIO_VMSG_SHM_SLOT_SIZE);
	/* One copy, then checks on the copy: the peer may rewrite the slot meanwhile. */
	VIO_COPY(msg, slot, f->max_msg);
	len = vio_get_le16(msg + VIO_VMSG_SHM_MSG_SIZE_OFF);
	/* Re-formatted while the slot was copied: the copy belongs to no session. */
	if (vio_vmsg_shm_session_over(s))
		return -VIO_ECONNRESET;
	f->pos = next_slot(f, tail);
	/* Release: our reads of the slot are done before the producer may reuse it. */
	store_shared(s, f->base, VIO_VMSG_SHM_FIFO_TAIL, f->pos);
	if (len < VIO_VMSG_SHM_MSG_HDR || len > f->max_msg)
		return -VIO_EIO; /* dropped; the FIFO itself is sound */
	VIO_COPY(buf, msg, len);
	return (int) len;
}

void vio_vmsg_shm_ring(struct vio_vmsg_shm *s)
{
	if (s->bell.ring != NULL)
		s->bell.ring(s->bell.ctx);
}

bool vio_vmsg_shm_peer_restarted(struct vio_vmsg_shm *s)
{
	uint32_t gen = load_shared(s, s->base, peer_gen_off(s));
	uint32_t seen = s->peer_generation;

	if (gen == seen)
		return false;
	s->peer_generation = gen;
	/* On the driver side 0 means no device attached yet: its first attach is no restart. */
	return s->is_device || seen != 0;
}

uint32_t vio_vmsg_shm_peer_state(const struct vio_vmsg_shm *s)
{
	return load_shared(s, s->base, peer_state_off(s));
}

void vio_vmsg_shm_stop(struct vio_vmsg_shm *s)
{
	s->tx.broken = true;
	s->rx.broken = true;
	store_shared(s, s->base, own_state_off(s), VIO_VMSG_SHM_STATE_STOPPED);
}

bool vio_vmsg_shm_stopped(const struct vio_vmsg_shm *s)
{
	return s->tx.broken || s->rx.broken;
}

void vio_vmsg_shm_detach(struct vio_vmsg_shm *s)
{
	s->tx.broken = true;
	s->rx.broken = true;
	store_shared(s, s->base, own_state_off(s), VIO_VMSG_SHM_STATE_RESET);
}
