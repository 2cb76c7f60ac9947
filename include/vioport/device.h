/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device model: what every transport drives and every device implements.
 *
 * A transport (vhost-user, virtio-msg, the loopback) turns its messages into
 * calls here: features, status, config, queue set-up, kicks. A device (blk,
 * rng, gpio, i2c) supplies vio_device_ops and handles requests. The model owns
 * the rules: feature negotiation with device veto, the status state machine,
 * config generation, and breaking the device (DEVICE_NEEDS_RESET) when the
 * driver violates a ring rule.
 */
#ifndef VIOPORT_DEVICE_H
#define VIOPORT_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "vioport/virtq.h"

struct vio_device;

/* What a device implements. Any hook may be NULL. */
struct vio_device_ops {
	/* Accepts (0) or vetoes (negative) the features the driver chose. */
	int (*validate_features)(struct vio_device *dev, uint64_t features);
	/* Writes driver bytes into config [off, off + len), bounds checked; 0 or refuse. */
	int (*write_config)(struct vio_device *dev, uint32_t off, const void *buf, uint32_t len);
	/* The driver set DRIVER_OK: queues are set up. */
	int (*start)(struct vio_device *dev);
	/* Reset: forget in-flight requests; the queues are reset after this returns. */
	void (*reset)(struct vio_device *dev);
	/* Queue q is being reset on its own (VIRTIO_F_RING_RESET): forget its in-flight requests.
	 */
	void (*queue_reset)(struct vio_device *dev, uint16_t q);
	/* Buffers may be available on queue q. */
	void (*queue_notify)(struct vio_device *dev, uint16_t q);
};

/* What a transport implements: the device's way back to the driver. */
struct vio_transport_ops {
	/* Signal the driver that queue q has used buffers. */
	void (*notify_used)(struct vio_device *dev, uint16_t q);
	/* Signal the driver that config or status changed (also DEVICE_NEEDS_RESET). */
	void (*notify_config)(struct vio_device *dev);
	/* One line about a problem; msg is a constant string, err a VIO_E* value or 0. */
	void (*log)(struct vio_device *dev, const char *msg, int err);
};

/* Per-queue state the model keeps beside the ring. */
struct vio_queue {
	struct vio_vq vq;
	uint16_t max_size;
	uint16_t size; /* chosen by the driver, max_size by default */
	bool enabled;
	uint16_t base; /* where processing resumes when enabled (vio_vq_set_base encoding) */
	bool base_set; /* base was set: apply it (else a fresh ring, packed wrap counters 1) */
	bool changed;  /* addresses or base changed since the ring was last set up */
	uint64_t desc, driver, device; /* ring bus addresses as set */
	void *inflight;		       /* the transport's inflight region share, NULL: none */
	uint64_t inflight_len;
};

struct vio_device {
	const struct vio_device_ops *ops;
	void *priv; /* the device's own state */
	const struct vio_transport_ops *tops;
	void *transport; /* the transport's own state */

	uint32_t device_id;
	uint32_t vendor_id;
	uint64_t host_features;	  /* offered */
	uint64_t driver_features; /* accepted by the driver */
	uint8_t status;
	bool logged_break; /* the break was logged already */
	int break_error;

	uint8_t *config; /* le wire layout, device-owned storage */
	uint32_t config_len;
	uint32_t config_generation;

	const struct vio_winmap *mem;
	struct vio_queue *queues; /* caller storage */
	uint16_t num_queues;
};

/*
 * Prepares a device: ops and priv from the device implementation, queues from
 * the caller (num_queues entries, each with max_size entries at most), config
 * storage, and the memory the driver may hand out. VERSION_1 is always offered.
 */
void vio_device_init(struct vio_device *dev, const struct vio_device_ops *ops, void *priv,
		     uint32_t device_id, uint64_t features, struct vio_queue *queues,
		     uint16_t num_queues, uint16_t max_size, uint8_t *config, uint32_t config_len);

/* Connects the device to a transport and to the memory the driver shares. */
void vio_device_attach(struct vio_device *dev, const struct vio_transport_ops *tops,
		       void *transport, const struct vio_winmap *mem);

/*
 * Records the driver's features. Allowed only before FEATURES_OK; features not
 * offered are refused when the driver sets FEATURES_OK. Returns 0 or -VIO_EPERM.
 */
int vio_device_set_features(struct vio_device *dev, uint64_t features);

/*
 * Applies a status write: 0 resets; otherwise bits may only be added, in the
 * spec's order, and FEATURES_OK sticks only if the features pass the device's
 * veto. Returns 0 when the new status was taken (read it back to see whether
 * FEATURES_OK stuck), -VIO_EINVAL when the write broke the order or cleared bits.
 */
int vio_device_set_status(struct vio_device *dev, uint8_t status);

/* Resets the device: in-flight requests dropped, queues and features cleared. */
void vio_device_reset(struct vio_device *dev);

/* Copies config bytes out; returns 0 or -VIO_ERANGE if out of bounds. */
int vio_device_read_config(const struct vio_device *dev, uint32_t off, void *buf, uint32_t len);

/* Hands a config write to the device; returns 0, -VIO_ERANGE or the device's refusal. */
int vio_device_write_config(struct vio_device *dev, uint32_t off, const void *buf, uint32_t len);

/* Called by a device after it changed its config: bumps the generation, tells the driver. */
void vio_device_config_changed(struct vio_device *dev);

/*
 * Sets the size and ring addresses of queue q. Allowed while the queue is
 * disabled; the ring layout follows the negotiated features. Returns 0 or
 * -VIO_EINVAL (bad index or size), -VIO_EBUSY (queue enabled).
 */
int vio_device_queue_set(struct vio_device *dev, uint16_t q, uint16_t size, uint64_t desc,
			 uint64_t driver, uint64_t device);

/*
 * Enables queue q: maps its rings inside the memory windows. A ring outside them
 * breaks the device. Disabling stops processing but keeps the indices. Returns 0
 * or a negative error.
 */
int vio_device_queue_enable(struct vio_device *dev, uint16_t q, bool enable);

/* Sets where queue q resumes when next enabled (vhost-user SET_VRING_BASE); 0 or negative. */
int vio_device_queue_set_base(struct vio_device *dev, uint16_t q, uint16_t base);

/*
 * Gives queue q its share of an inflight region (NULL: none), as
 * vio_vq_inflight_attach describes: recording starts, and what a previous
 * device left is taken over, when the queue is next set up. Detaching takes
 * effect at once. Returns 0 or -VIO_EINVAL.
 */
int vio_device_queue_set_inflight(struct vio_device *dev, uint16_t q, void *region, uint64_t len);

/* Resets one queue (VIRTIO_F_RING_RESET): disabled, indices cleared. */
int vio_device_queue_reset(struct vio_device *dev, uint16_t q);

/* The driver kicked queue q: runs the device if it may run. */
void vio_device_kick(struct vio_device *dev, uint16_t q);

/* Says whether the device may process queue q now (DRIVER_OK, enabled, not broken). */
bool vio_device_queue_live(const struct vio_device *dev, uint16_t q);

/*
 * Publishes what a device pushed on queue q and interrupts the driver if it
 * asked for it. Devices call this after a batch of vio_vq_push.
 */
void vio_device_flush(struct vio_device *dev, uint16_t q);

/*
 * Pops the next request of queue q for a device; a ring violation breaks the
 * device (DEVICE_NEEDS_RESET, config notification, one log line) and returns
 * the error. Returns 1, 0 or negative like vio_vq_pop; once the device is
 * broken the queue is no longer live and later calls return 0.
 */
int vio_device_pop(struct vio_device *dev, uint16_t q, struct vio_req *req);

/* Marks the device broken after a ring-level violation (err), once. */
void vio_device_break(struct vio_device *dev, int err);

/* Says whether the driver accepted feature bit. */
static inline bool vio_device_has(const struct vio_device *dev, unsigned bit)
{
	return (dev->driver_features >> bit) & 1u;
}

#endif
