/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-msg device side: up to VIO_VMSG_DEV_MAX devices behind one bus.
 *
 * The bus is handed every message the driver sends (vio_vmsg_dev_bus_handle)
 * and answers through a send callback, so it does not care how messages
 * travel (shared-memory FIFOs, a socket, a test). Devices are ordinary
 * struct vio_device instances attached to one address window: on the
 * shared-memory bus, the window's area with bus addresses being offsets inside
 * the shared window.
 *
 * Behaviour that the draft leaves open, chosen here:
 *  - device numbers are given in order from 0 (the draft reserves no
 *    transport device number; bus messages are told apart by the type bit);
 *  - a malformed or unsupported message is dropped without a reply, counted
 *    in dropped and logged; a GET_CONFIG outside the config space, or larger
 *    than a reply can carry, is malformed;
 *  - the bus advertises VIO_VMSG_F_STRICT_CONFIG_GENERATION by default, so a
 *    SET_CONFIG with a stale generation is answered with length 0;
 *  - a queue is enabled by SET_VQUEUE with state ENABLE, and also, for
 *    drivers that leave the flags zero, when DRIVER_OK is set: every queue
 *    whose rings were set is enabled then. Rings that leave the window or
 *    overlap one another break the device (DEVICE_NEEDS_RESET), which the
 *    driver learns from an EVENT_CONFIG carrying the status;
 *  - feature bits from block 2 up are not offered: if the driver sets any,
 *    FEATURES_OK does not stick until the next reset.
 * No dynamic memory, no globals; each call does bounded work.
 */
#ifndef VIOPORT_VMSG_DEV_H
#define VIOPORT_VMSG_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "vioport/device.h"
#include "vioport/vmsg.h"
#include "vioport/window.h"

/* How many devices one bus serves; firmware may size it at build time. */
#ifndef VIO_VMSG_DEV_MAX
#define VIO_VMSG_DEV_MAX 8
#endif

struct vio_vmsg_dev_bus;

/* How the bus reaches the driver. */
struct vio_vmsg_dev_bus_ops {
	/* Queues one message of len bytes for the driver; 0 or negative (e.g. full). */
	int (*send)(void *ctx, const void *msg, uint32_t len);
	/* Optional: one line about a problem; msg is a constant string, err VIO_E* or 0. */
	void (*log)(void *ctx, const char *msg, int err);
};

/* One device on the bus; storage inside the bus. */
struct vio_vmsg_dev_slot {
	struct vio_vmsg_dev_bus *bus;
	struct vio_device *dev;
	uint16_t dev_num;
	bool high_features; /* the driver set bits in block 2 or later */
};

struct vio_vmsg_dev_bus {
	const struct vio_vmsg_dev_bus_ops *ops;
	void *ctx;
	const struct vio_winmap *mem;
	uint32_t max_msg;
	uint32_t transport_features; /* VIO_VMSG_F_* bits advertised */
	bool driver_seen;	     /* a message came since init or reset */
	uint16_t count;
	struct vio_vmsg_dev_slot slots[VIO_VMSG_DEV_MAX];
	/* Counters for diagnostics. */
	uint32_t dropped;     /* malformed or unsupported messages */
	uint32_t send_errors; /* ops->send refused a message */
};

/*
 * Prepares an empty bus answering through ops (send required) with ctx, whose
 * devices reach driver memory through mem, and whose messages are at most
 * max_msg bytes (capped at VIO_VMSG_MAX_SIZE). Returns 0, or -VIO_EINVAL when
 * max_msg is below the draft's minimum (VIO_VMSG_MIN_BUS_SIZE) or send is NULL.
 */
int vio_vmsg_dev_bus_init(struct vio_vmsg_dev_bus *b, const struct vio_vmsg_dev_bus_ops *ops,
			  void *ctx, const struct vio_winmap *mem, uint32_t max_msg);

/*
 * Adds an initialised device and attaches it to the bus; tells the driver
 * (EVENT_DEVICE ADDED) if one already talked to the bus. Returns the device
 * number or -VIO_ENOSPC.
 */
int vio_vmsg_dev_bus_add(struct vio_vmsg_dev_bus *b, struct vio_device *dev);

/* Handles one received message of len bytes: answers requests in order, applies events. */
void vio_vmsg_dev_bus_handle(struct vio_vmsg_dev_bus *b, const void *msg, uint32_t len);

/* Resets every device and forgets the driver (it restarted, or the bus stopped). */
void vio_vmsg_dev_bus_reset(struct vio_vmsg_dev_bus *b);

#endif
