/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-msg driver side: enumerates the devices behind one bus, brings them
 * up and moves requests through split virtqueues whose rings and buffers live
 * in the bus's shared area.
 *
 * The library reaches the bus only through struct vio_vmsg_drv_ops (send,
 * receive, wait, clock), so the same code runs in a Linux process, on a core
 * with WFI, or in a test with an in-memory pipe; vio_vmsg_drv_shm_ops is the
 * ready-made binding to the shared-memory bus (vmsg_shm.h).
 *
 * The device is not trusted: every response is checked against the request.
 * One that does not answer the request outstanding (another token: left over
 * from an earlier session of the window, late or duplicated; or another ID,
 * device number or bus) is discarded and counted in dropped, as the draft
 * says, and the request goes on waiting. An answer of the wrong size or with
 * wrong echoed ranges marks the device broken for this driver (requests fail
 * with -VIO_EPROTO until it is reset). Tokens start at a value derived from
 * the window's driver generation, so consecutive sessions use far-apart ones. A device that reports
 * DEVICE_NEEDS_RESET (EVENT_CONFIG) fails requests with -VIO_EIO until it is reset and brought up
 * again. Used entries are checked by the driver-side queue (drvq.h).
 *
 * Data the caller holds outside the window is bounced: each request segment
 * gets a buffer in the area, filled before the request is made available
 * (device-readable) or zeroed and copied back after completion
 * (device-writable). Everything runs on the caller's thread; the library has
 * no globals and takes all memory from the caller. Freestanding.
 */
#ifndef VIOPORT_VMSG_DRV_H
#define VIOPORT_VMSG_DRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vioport/drvq.h"
#include "vioport/vmsg.h"
#include "vioport/vmsg_shm.h"

/* Devices one driver tracks at once; firmware may size it at build time. */
#ifndef VIO_VMSG_DRV_MAX_DEVS
#define VIO_VMSG_DRV_MAX_DEVS 8
#endif
/* Largest queue the driver sets up (each entry costs a request record). */
#ifndef VIO_VMSG_DRV_QSIZE_MAX
#define VIO_VMSG_DRV_QSIZE_MAX 16
#endif
/* Segments one request may have. */
#define VIO_VMSG_DRV_SEGS 8u
/* Granule of the area allocator: every allocation is aligned to it. */
#define VIO_VMSG_DRV_CHUNK 64u
/* Default time a synchronous request waits for its response. */
#define VIO_VMSG_DRV_TIMEOUT_US 1000000u
/* Times a config read restarts because the generation moved under it. */
#define VIO_VMSG_DRV_CONFIG_RETRIES 8u

/* How the library reaches the bus. */
struct vio_vmsg_drv_ops {
	/* Queues one message of len bytes; 0, -VIO_ENOSPC (full: retried) or another error. */
	int (*send)(void *ctx, const void *msg, uint32_t len);
	/* Takes the next message into buf (cap bytes); its length, 0 when none, or negative. */
	int (*recv)(void *ctx, void *buf, uint32_t cap);
	/* Blocks (or spins) up to timeout_us or until a message may have arrived. */
	void (*wait)(void *ctx, uint32_t timeout_us);
	/* A monotonic clock in microseconds. */
	uint64_t (*now_us)(void *ctx);
};

/* First-fit allocator over the area, one bit per VIO_VMSG_DRV_CHUNK bytes. */
struct vio_vmsg_drv_area {
	uint32_t off;	 /* bus address (window offset) of the area; chunk aligned */
	uint32_t chunks; /* usable chunks */
	uint32_t *map;	 /* caller storage, (chunks + 31) / 32 words; bit set = in use */
	uint32_t used;	 /* chunks in use */
};

/* One segment of a request: caller memory, anywhere. */
struct vio_vmsg_drv_seg {
	void *buf;
	uint32_t len; /* > 0 */
};

/* A request in flight: its segments and their bounce buffers. */
struct vio_vmsg_drv_req {
	bool busy;
	bool abandoned; /* the caller gave up: completion only frees the bounces */
	uint8_t nout, nseg;
	void *token;
	struct vio_vmsg_drv_seg seg[VIO_VMSG_DRV_SEGS];
	uint32_t bounce[VIO_VMSG_DRV_SEGS]; /* window offset of each segment's bounce */
	uint8_t inl[8];			    /* small payloads of the library's own requests */
};

/* One virtqueue of a device, as the driver keeps it. */
struct vio_vmsg_drv_vq {
	struct vio_drvq q;
	struct vio_drvq_slot slots[VIO_VMSG_DRV_QSIZE_MAX];
	struct vio_vmsg_drv_req reqs[VIO_VMSG_DRV_QSIZE_MAX];
	uint32_t ring_off, ring_len; /* the rings' allocation in the area */
	bool ready;		     /* set up on the device */
	bool used_event;	     /* an EVENT_USED arrived since the last look */
};

struct vio_vmsg_drv;
struct vio_vmsg_drv_dev;

/* Called when an EVENT_CONFIG arrives for d (status and generation already recorded). */
typedef void (*vio_vmsg_drv_config_fn)(void *ctx, struct vio_vmsg_drv_dev *d);

/* One device on the bus, as the driver sees it; storage from the caller. */
struct vio_vmsg_drv_dev {
	struct vio_vmsg_drv *drv;
	uint16_t dev_num;
	struct vio_vmsg_device_info info;
	uint64_t device_features;    /* offered (blocks 0 and 1) */
	uint64_t features;	     /* negotiated */
	uint8_t status;		     /* as the device last reported it */
	uint32_t generation;	     /* config generation last seen */
	bool needs_reset;	     /* the device reported DEVICE_NEEDS_RESET */
	bool broken;		     /* it answered out of protocol */
	uint32_t config_events;	     /* EVENT_CONFIG received */
	struct vio_vmsg_drv_vq *vqs; /* caller storage, nvqs entries */
	uint16_t nvqs;
};

struct vio_vmsg_drv {
	const struct vio_vmsg_drv_ops *ops;
	void *ctx;
	uint8_t *win; /* where window offset 0 is mapped here */
	uint32_t win_size;
	uint32_t max_msg;
	uint32_t timeout_us; /* for synchronous requests; VIO_VMSG_DRV_TIMEOUT_US by default */
	struct vio_vmsg_drv_area area;
	uint16_t next_token;
	bool stale;	      /* a request timed out: its late answer is dropped */
	uint16_t stale_token; /* the token of that request */
	struct vio_vmsg_drv_dev *devs[VIO_VMSG_DRV_MAX_DEVS];
	vio_vmsg_drv_config_fn config_cb;
	void *config_ctx;
	/* Bus events and counters, for the caller to look at. */
	uint32_t device_events; /* EVENT_DEVICE received */
	uint16_t last_event_dev, last_event_state;
	uint32_t dropped;	 /* malformed or unexpected messages */
	uint32_t config_retries; /* config reads restarted on a generation change */
};

/* Binding to the shared-memory bus: send/recv on shm, wait and clock from the OS. */
struct vio_vmsg_drv_shm {
	struct vio_vmsg_shm *shm;
	void (*wait)(void *os_ctx, uint32_t timeout_us);
	uint64_t (*now_us)(void *os_ctx);
	void *os_ctx;
};

/* The ops table over a struct vio_vmsg_drv_shm context. */
extern const struct vio_vmsg_drv_ops vio_vmsg_drv_shm_ops;

/*
 * Prepares a driver talking through ops/ctx to a bus whose window (win_size
 * bytes, offset 0 at win) has its area at [area_off, area_off + area_size);
 * map holds map_words words for the allocator; max_msg is the bus's message
 * size (52 .. VIO_VMSG_MAX_SIZE). Returns 0 or -VIO_EINVAL.
 */
int vio_vmsg_drv_init(struct vio_vmsg_drv *drv, const struct vio_vmsg_drv_ops *ops, void *ctx,
		      void *win, uint32_t win_size, uint32_t area_off, uint32_t area_size,
		      uint32_t *map, uint32_t map_words, uint32_t max_msg);

/*
 * Prepares a driver over a formatted window: binding (its shm, wait, now_us
 * set by the caller) becomes the ops context; the area and message size come
 * from the window. Returns 0 or -VIO_EINVAL.
 */
int vio_vmsg_drv_init_shm(struct vio_vmsg_drv *drv, struct vio_vmsg_drv_shm *binding, uint32_t *map,
			  uint32_t map_words);

/* Allocates len bytes of the area aligned to VIO_VMSG_DRV_CHUNK; the window offset or -VIO_ENOMEM.
 */
int64_t vio_vmsg_drv_area_alloc(struct vio_vmsg_drv *drv, uint32_t len);

/* Frees an allocation made by vio_vmsg_drv_area_alloc with the same len. */
void vio_vmsg_drv_area_free(struct vio_vmsg_drv *drv, uint32_t off, uint32_t len);

/* Handles every message waiting (events; stray responses are counted and dropped); 0 or negative.
 */
int vio_vmsg_drv_pump(struct vio_vmsg_drv *drv);

/* Bus PING: 0 when the bus echoed value, -VIO_ETIMEDOUT, -VIO_EPROTO or a send error. */
int vio_vmsg_drv_ping(struct vio_vmsg_drv *drv, uint32_t value);

/*
 * Bus GET_DEVICES over every page: sets bit n of bitmap (bytes bytes) for each
 * present device number n below 8 * bytes and returns how many there are.
 */
int vio_vmsg_drv_get_devices(struct vio_vmsg_drv *drv, uint8_t *bitmap, uint32_t bytes);

/* GET_DEVICE_INFO for dev_num into *info; 0 or negative. */
int vio_vmsg_drv_device_info(struct vio_vmsg_drv *drv, uint16_t dev_num,
			     struct vio_vmsg_device_info *info);

/*
 * Registers d (caller storage) for device dev_num with nvqs queues in vqs, so
 * its events reach it; reads its info. Returns 0, -VIO_ENOSPC (too many
 * devices), -VIO_EINVAL or a request error.
 */
int vio_vmsg_drv_dev_init(struct vio_vmsg_drv_dev *d, struct vio_vmsg_drv *drv, uint16_t dev_num,
			  struct vio_vmsg_drv_vq *vqs, uint16_t nvqs);

/* Unregisters d after resetting it; its area allocations are freed. */
void vio_vmsg_drv_dev_fini(struct vio_vmsg_drv_dev *d);

/*
 * Resets the device (SET_DEVICE_STATUS 0) and forgets its queues, in-flight
 * requests and broken/needs-reset marks; 0 or negative.
 */
int vio_vmsg_drv_dev_reset(struct vio_vmsg_drv_dev *d);

/*
 * Reset, ACKNOWLEDGE, DRIVER, reads the device features, writes
 * want & offered (VERSION_1 required), sets FEATURES_OK and checks it stuck.
 * Returns 0 (d->features holds the result), -VIO_ENOTSUP when the device lacks
 * VERSION_1 or refused FEATURES_OK, or a request error.
 */
int vio_vmsg_drv_dev_negotiate(struct vio_vmsg_drv_dev *d, uint64_t want);

/*
 * Sets queue q up with size entries (a power of two, at most the device's
 * maximum and VIO_VMSG_DRV_QSIZE_MAX; 0 for the largest allowed), rings in
 * the area, enabled. 0, -VIO_EINVAL, -VIO_ENOMEM or a request error.
 */
int vio_vmsg_drv_vq_setup(struct vio_vmsg_drv_dev *d, uint16_t q, uint16_t size);

/* Sets DRIVER_OK and checks it stuck; 0, -VIO_EIO or a request error. */
int vio_vmsg_drv_dev_driver_ok(struct vio_vmsg_drv_dev *d);

/*
 * Reads config [off, off + len) into buf in chunks; restarts when the
 * generation moves meanwhile (up to VIO_VMSG_DRV_CONFIG_RETRIES times, then
 * -VIO_EAGAIN). 0 or negative.
 */
int vio_vmsg_drv_read_config(struct vio_vmsg_drv_dev *d, uint32_t off, void *buf, uint32_t len);

/*
 * Writes buf (len bytes, one SET_CONFIG message) to config offset off with the
 * generation last seen, which the answer then updates. 0, -VIO_EPERM (the
 * device refused: read-only field, or a stale generation under
 * STRICT_CONFIG_GENERATION), -VIO_EINVAL (len 0 or above a message) or a
 * request error.
 */
int vio_vmsg_drv_write_config(struct vio_vmsg_drv_dev *d, uint32_t off, const void *buf,
			      uint32_t len);

/* Reads the device status into *status (also recorded in d->status); 0 or negative. */
int vio_vmsg_drv_get_status(struct vio_vmsg_drv_dev *d, uint8_t *status);

/*
 * Queues a request on queue q: out (nout device-readable segments) then in
 * (nin device-writable ones), bounced through the area, tagged with token
 * (not NULL). Notifies the device. 0, -VIO_EINVAL, -VIO_ENOSPC (queue full),
 * -VIO_ENOMEM (area exhausted), -VIO_EPROTO (broken) or -VIO_EIO (needs reset).
 */
int vio_vmsg_drv_submit(struct vio_vmsg_drv_dev *d, uint16_t q, const struct vio_vmsg_drv_seg *out,
			unsigned nout, const struct vio_vmsg_drv_seg *in, unsigned nin,
			void *token);

/*
 * Takes one completed request of queue q without waiting: copies its
 * device-writable bounces back, frees them, and returns 1 with *token and
 * *len (bytes the device wrote); 0 when none, negative when the device broke
 * the queue.
 */
int vio_vmsg_drv_get_used(struct vio_vmsg_drv_dev *d, uint16_t q, void **token, uint32_t *len);

/*
 * Waits up to timeout_us or until a message may have arrived, without taking
 * any: for a caller polling several queues with vio_vmsg_drv_get_used.
 */
void vio_vmsg_drv_wait(struct vio_vmsg_drv *drv, uint32_t timeout_us);

/* Like vio_vmsg_drv_get_used but waits up to timeout_us; -VIO_ETIMEDOUT when nothing came. */
int vio_vmsg_drv_wait_used(struct vio_vmsg_drv_dev *d, uint16_t q, void **token, uint32_t *len,
			   uint32_t timeout_us);

/* Raw access for tests of hostile drivers: sends msg as it is. 0 or negative. */
int vio_vmsg_drv_raw_send(struct vio_vmsg_drv *drv, const void *msg, uint32_t len);

/* Raw access: the next message as it is (no handling), its length, or -VIO_ETIMEDOUT. */
int vio_vmsg_drv_raw_recv(struct vio_vmsg_drv *drv, void *buf, uint32_t cap, uint32_t timeout_us);

/*
 * Synchronous requests, for device helpers (vmsg_drv_dev.h) and callers of
 * their own. Each waits up to drv->timeout_us; a request that fails or times
 * out is abandoned: its late completion frees the bounces and never writes
 * into the caller's memory. Completions of other requests of q that arrive
 * meanwhile are taken and dropped, so a queue is used either synchronously or
 * with submit and get_used, not both at once.
 */

/* Queues out/in on q as vio_vmsg_drv_submit does and waits; *len: the bytes the device wrote. */
int vio_vmsg_drv_request(struct vio_vmsg_drv_dev *d, uint16_t q, const struct vio_vmsg_drv_seg *out,
			 unsigned nout, const struct vio_vmsg_drv_seg *in, unsigned nin,
			 uint32_t *len);

/* Requests one batch may hold. */
#define VIO_VMSG_DRV_BATCH_MAX 4u

/* One request of a batch. */
struct vio_vmsg_drv_xfer {
	const struct vio_vmsg_drv_seg *out; /* nout device-readable segments */
	unsigned nout;
	const struct vio_vmsg_drv_seg *in; /* nin device-writable segments */
	unsigned nin;
	uint32_t len; /* set on completion: bytes the device wrote */
};

/*
 * Queues the n requests of x on q in order, all before waiting (the device
 * sees them together: an i2c write then read with a repeated start), and
 * waits for every one under one timeout. 0, -VIO_EINVAL (n is 0 or above
 * VIO_VMSG_DRV_BATCH_MAX), -VIO_ETIMEDOUT or an error of submit or get_used.
 */
int vio_vmsg_drv_request_batch(struct vio_vmsg_drv_dev *d, uint16_t q, struct vio_vmsg_drv_xfer *x,
			       unsigned n);

/*
 * Queues a request whose bytes live in its own record (at most the 8 of
 * req->inl), so it may stay queued after the caller returns: an event buffer
 * that waits for an interrupt. bytes[0, nout) is device-readable, [nout, len)
 * device-writable. Its completion's token is the record, whose inl holds the
 * device's answer until the record is reused. 0 or an error as for
 * vio_vmsg_drv_submit.
 */
int vio_vmsg_drv_submit_inline(struct vio_vmsg_drv_dev *d, uint16_t q, const void *bytes,
			       uint32_t len, uint32_t nout);

/* Brings a device up: negotiate want, set up every queue of d at its largest size, DRIVER_OK. */
int vio_vmsg_drv_dev_start(struct vio_vmsg_drv_dev *d, uint64_t want);

#endif
