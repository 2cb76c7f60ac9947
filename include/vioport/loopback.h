/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Loopback transport: a driver and a device in one address space over plain
 * memory, with synchronous kicks. Unit tests and benchmarks of devices use it.
 * Bus addresses are offsets from bus_base inside one arena, which is the only
 * window the device sees.
 */
#ifndef VIOPORT_LOOPBACK_H
#define VIOPORT_LOOPBACK_H

#include <stdint.h>

#include "vioport/device.h"
#include "vioport/drvq.h"

#define VIO_LOOPBACK_MAX_QUEUES 16

struct vio_loopback {
	struct vio_device *dev;
	struct vio_window win[1];
	struct vio_winmap map;
	uint8_t *arena;
	uint64_t arena_len;
	uint64_t bus_base;
	uint64_t brk; /* bytes of the arena handed out */
	struct vio_drvq *dq[VIO_LOOPBACK_MAX_QUEUES];
	uint32_t used_irqs[VIO_LOOPBACK_MAX_QUEUES]; /* notify_used calls per queue */
	uint32_t config_irqs;			     /* notify_config calls */
	uint32_t log_lines;
	const char *last_log;
	int last_log_err;
};

/* Attaches dev to a loopback over arena (arena_len bytes), seen by dev at bus_base. */
int vio_loopback_init(struct vio_loopback *lb, struct vio_device *dev, void *arena,
		      uint64_t arena_len, uint64_t bus_base);

/* Hands out len bytes of the arena, 16-byte aligned and zeroed; NULL when full. */
void *vio_loopback_alloc(struct vio_loopback *lb, uint64_t len, uint64_t *bus);

/* Bus address of a pointer inside the arena. */
uint64_t vio_loopback_bus(const struct vio_loopback *lb, const void *p);

/*
 * Runs the driver's side of negotiation: reset, ACKNOWLEDGE, DRIVER, the offered
 * features masked by want, FEATURES_OK. Returns 0, or -VIO_EPROTO when the device
 * did not keep FEATURES_OK.
 */
int vio_loopback_negotiate(struct vio_loopback *lb, uint64_t want);

/*
 * Creates queue q with size entries: rings in the arena, driver state in dq and
 * slots (size entries), device queue set and enabled. Returns 0 or negative.
 */
int vio_loopback_queue(struct vio_loopback *lb, uint16_t q, uint16_t size, struct vio_drvq *dq,
		       struct vio_drvq_slot *slots);

/* Sets DRIVER_OK. */
int vio_loopback_driver_ok(struct vio_loopback *lb);

/* Publishes queue q's new buffers and kicks the device (always, so tests are deterministic). */
void vio_loopback_kick(struct vio_loopback *lb, uint16_t q);

#endif
