/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio-msg shared-memory bus: one window holding a header, two
 * single-producer/single-consumer message FIFOs (driver-to-device and
 * device-to-driver) and the area for virtqueues and buffers. docs/vmsg.md
 * describes the layout, the FIFO protocol, the handshake and memory ordering.
 *
 * Every byte of the window is treated as hostile: each side keeps its own copy
 * of the layout and of the FIFO index it owns, and checks every value it reads
 * from the peer before using it.
 */
#ifndef VIOPORT_VMSG_SHM_H
#define VIOPORT_VMSG_SHM_H

#include <stdbool.h>
#include <stdint.h>

/* "VIOM" as the four bytes at offset 0 of the window (le32 0x4D4F4956). */
#define VIO_VMSG_SHM_MAGIC	  0x4D4F4956u
#define VIO_VMSG_SHM_VERSION	  1u
#define VIO_VMSG_SHM_HDR_SIZE	  128u
#define VIO_VMSG_SHM_SLOT_SIZE	  64u	/* one message per slot */
#define VIO_VMSG_SHM_FIFO_SLOTS	  128u	/* slots start here in a FIFO */
#define VIO_VMSG_SHM_FIFO_TAIL	  64u	/* tail index offset in a FIFO */
#define VIO_VMSG_SHM_FIFO_DEFAULT 4096u /* 62 slots */
#define VIO_VMSG_SHM_MAX_MSG	  64u	/* max message size this bus advertises */
#define VIO_VMSG_SHM_MIN_MAX_MSG  52u	/* the smallest maximum the draft allows */
#define VIO_VMSG_SHM_MSG_HDR	  8u	/* common virtio-msg header */
#define VIO_VMSG_SHM_MSG_SIZE_OFF 6u	/* le16 msg_size inside that header */

/* Header field offsets (all little-endian). */
#define VIO_VMSG_SHM_OFF_MAGIC	   0u  /* le32 */
#define VIO_VMSG_SHM_OFF_VERSION   4u  /* le16 */
#define VIO_VMSG_SHM_OFF_HDR_SIZE  6u  /* le16 */
#define VIO_VMSG_SHM_OFF_WIN_SIZE  8u  /* le32 */
#define VIO_VMSG_SHM_OFF_FIFO_SIZE 12u /* le32 */
#define VIO_VMSG_SHM_OFF_D2DEV	   16u /* le32: driver-to-device FIFO offset */
#define VIO_VMSG_SHM_OFF_DEV2D	   20u /* le32: device-to-driver FIFO offset */
#define VIO_VMSG_SHM_OFF_AREA	   24u /* le32 */
#define VIO_VMSG_SHM_OFF_AREA_SIZE 28u /* le32 */
#define VIO_VMSG_SHM_OFF_MAX_MSG   32u /* le32 */
#define VIO_VMSG_SHM_OFF_DRV_STATE 36u /* le32, written by the driver only */
#define VIO_VMSG_SHM_OFF_DEV_STATE 40u /* le32, written by the device only */
#define VIO_VMSG_SHM_OFF_DRV_GEN   44u /* le32, written by the driver only */
#define VIO_VMSG_SHM_OFF_DEV_GEN   48u /* le32, written by the device only */

/* Values of the state words. */
#define VIO_VMSG_SHM_STATE_RESET   0u /* not (yet) serving: formatting or detached */
#define VIO_VMSG_SHM_STATE_READY   1u /* serving the FIFOs */
#define VIO_VMSG_SHM_STATE_STOPPED 2u /* saw a corrupt window, waits for a re-format */

/* Tells the peer that new messages were published; ring NULL means the peer polls. */
struct vio_vmsg_doorbell {
	void (*ring)(void *ctx);
	void *ctx;
};

/*
 * Cache maintenance for a window that is not coherent between the two sides
 * (a firmware core with its data cache on). clean writes dirty lines covering
 * [p, p + len) back to memory; invalidate discards them so the next read sees
 * memory. Each must complete (barrier included) before it returns. A NULL
 * table, or a NULL callback, means coherent memory.
 */
struct vio_vmsg_cache_ops {
	void (*clean)(void *ctx, const void *p, uint32_t len);
	void (*invalidate)(void *ctx, const void *p, uint32_t len);
	void *ctx;
};

struct vio_vmsg_fifo {	  /* one direction, as seen by one side */
	uint8_t *base;	  /* the FIFO's first byte in the window */
	uint32_t nslots;  /* from the header, checked */
	uint32_t max_msg; /* max message size from the header */
	bool broken;	  /* head/tail seen out of range: stopped */
	uint32_t pos;	  /* the index this side owns (head for tx, tail for rx), never reread */
};

struct vio_vmsg_shm { /* a window as one side sees it */
	uint8_t *base;
	uint32_t size;
	bool is_device;		     /* which side this is */
	struct vio_vmsg_fifo tx, rx; /* this side's producer and consumer FIFOs */
	uint32_t area_off, area_size;
	uint32_t peer_generation; /* last generation seen from the peer */
	uint32_t session_gen;	  /* device: driver generation of the last attach (0: none yet) */
	bool session_over;	  /* device: the driver left or re-formatted since that attach */
	struct vio_vmsg_doorbell bell;		/* rung after tx messages were published */
	const struct vio_vmsg_cache_ops *cache; /* NULL: coherent window */
};

/*
 * s->bell and s->cache belong to the caller: set them (or zero the struct)
 * before vio_vmsg_shm_format or vio_vmsg_shm_attach, which fill in the rest.
 */

/* Driver side: formats a window of size bytes at base (header, empty FIFOs of fifo_size
 * bytes each, 0 for the default, area = the rest), new generation gen (nonzero),
 * state READY. 0 or -VIO_EINVAL. */
int vio_vmsg_shm_format(struct vio_vmsg_shm *s, void *base, uint32_t size, uint32_t fifo_size,
			uint32_t gen);

/*
 * Driver side, the first step of a re-format of the window at base (size bytes)
 * that a device may still serve: stores RESET in the driver state and tells
 * whether the device has left the FIFOs (its state is not READY). Call it
 * until it says so, or until a bound passed (a device that died never
 * answers), then vio_vmsg_shm_format; only the two state words are touched,
 * with s->cache. 1 (the device left), 0 (not yet) or -VIO_EINVAL.
 */
int vio_vmsg_shm_driver_leave(struct vio_vmsg_shm *s, void *base, uint32_t size);

/*
 * Device side, once before the first attach: marks the device state of the
 * window at base RESET, so a driver waiting for an earlier device of this
 * window (one that died serving it) to leave goes on. 0 or -VIO_EINVAL.
 */
int vio_vmsg_shm_device_init(struct vio_vmsg_shm *s, void *base, uint32_t size);

/* Device side: checks the header of the window at base (every field against size) and
 * attaches, setting the device state READY with a new device generation;
 * 0, -VIO_EAGAIN (not formatted / driver not ready yet) or -VIO_EINVAL (bad). */
int vio_vmsg_shm_attach(struct vio_vmsg_shm *s, void *base, uint32_t size);

/*
 * Device side: whether the driver ended the session of the last attach (its
 * state left READY or its generation changed), looked up in the window. Once
 * true it stays true until the next attach, and send and recv fail with
 * -VIO_ECONNRESET without touching the FIFOs: nothing of an old session
 * reaches a new one. Always false on the driver side.
 */
bool vio_vmsg_shm_session_over(struct vio_vmsg_shm *s);

/* Queues one message (len bytes, 8 <= len <= max_msg, its msg_size field equal to len);
 * 0, -VIO_EINVAL (bad message), -VIO_ENOSPC (full), -VIO_EIO (broken), -VIO_ECONNRESET
 * (device side: the driver's session is over, see vio_vmsg_shm_session_over). */
int vio_vmsg_shm_send(struct vio_vmsg_shm *s, const void *msg, uint32_t len);

/* Takes the next message into buf (cap >= max_msg); returns its length, 0 when empty,
 * -VIO_EINVAL when cap is too small (nothing taken), -VIO_EIO when the FIFO is corrupt
 * (the side stops: every later call fails) or when the message's size field is out of
 * range (that message is dropped, the FIFO stays usable), -VIO_ECONNRESET as for send. */
int vio_vmsg_shm_recv(struct vio_vmsg_shm *s, void *buf, uint32_t cap);

/* Rings the peer's doorbell (after one or more sends). */
void vio_vmsg_shm_ring(struct vio_vmsg_shm *s);

/* Whether the peer restarted (its generation changed) since the last call; the caller then
 * resets its state and re-attaches (device) or re-formats (driver). */
bool vio_vmsg_shm_peer_restarted(struct vio_vmsg_shm *s);

/* Reads the peer's state word (VIO_VMSG_SHM_STATE_*; any other value as the peer wrote it). */
uint32_t vio_vmsg_shm_peer_state(const struct vio_vmsg_shm *s);

/* Stops this side: marks its state STOPPED and fails every later send and recv. */
void vio_vmsg_shm_stop(struct vio_vmsg_shm *s);

/* Whether this side stopped (a corrupt FIFO seen, or vio_vmsg_shm_stop). */
bool vio_vmsg_shm_stopped(const struct vio_vmsg_shm *s);

/* Detaches cleanly: marks this side's state RESET (the peer may re-attach later). */
void vio_vmsg_shm_detach(struct vio_vmsg_shm *s);

#endif
