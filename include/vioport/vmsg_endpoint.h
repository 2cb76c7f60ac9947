/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device endpoint of a virtio-msg window: the state machine that attaches
 * a bus of devices to a window a driver formatted, serves the driver's
 * messages, and follows the driver's sessions. It resets every device when the
 * driver restarts (a new generation) or leaves (its state leaves READY), and
 * attaches again to the next generation; a refused header or a corrupt FIFO
 * index stops it (device state STOPPED) until the driver formats a new
 * generation. Nothing of an ended session reaches the next one.
 *
 * Freestanding: no allocation, no threads, no clock. The caller owns the
 * loop and calls vio_vmsg_ep_poll from it (a POSIX thread waiting on a
 * doorbell between calls, vmsg_posix.h; a firmware's polling loop) and
 * vio_vmsg_ep_flush after it, to ring the driver once for what was sent.
 * The only wait is the pause while the device-to-driver FIFO is full, taken
 * through ops->delay_us. The caller serialises every call into the endpoint
 * and into its devices (vmsg_posix.h: the endpoint lock).
 */
#ifndef VIOPORT_VMSG_ENDPOINT_H
#define VIOPORT_VMSG_ENDPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "vioport/device.h"
#include "vioport/vmsg_dev.h"
#include "vioport/vmsg_shm.h"
#include "vioport/window.h"

/* Messages handled per vio_vmsg_ep_poll, so the caller's loop gets a turn between batches. */
#define VIO_VMSG_EP_BATCH 32

/* What the endpoint tells its owner (ops->event), for a log line. */
enum vio_vmsg_ep_event {
	VIO_VMSG_EP_ATTACHED,  /* arg: the driver generation (area in ep->shm) */
	VIO_VMSG_EP_REFUSED,   /* the window header is invalid; arg: driver generation */
	VIO_VMSG_EP_RESTARTED, /* the driver restarted (new generation): devices reset */
	VIO_VMSG_EP_LEFT,      /* the driver left the window: devices reset */
	VIO_VMSG_EP_CORRUPT,   /* a corrupt FIFO index: stopped, devices reset */
	VIO_VMSG_EP_LOST,      /* a message for the driver was lost; arg: -VIO_E* */
};

/*
 * Counters. The message counts are machine words (unsigned long, as Linux's
 * net_device_stats): 64 bits where a daemon runs for months, 32 on a
 * microcontroller core, where they cost half the code.
 */
struct vio_vmsg_endpoint_stats {
	unsigned long received;	    /* messages handed to the bus */
	unsigned long sent;	    /* messages queued for the driver */
	unsigned long lost;	    /* messages not queued: tx FIFO full, or broken */
	unsigned long dropped_old;  /* messages of a session the driver had ended, not queued */
	unsigned long bad_messages; /* rx messages dropped by the FIFO (bad size) */
	uint32_t attaches;	    /* successful attaches */
	uint32_t driver_restarts;   /* driver re-formats or departures while attached */
	uint32_t stops;		    /* corrupt window seen */
	uint32_t refused;	    /* window headers refused */
};

struct vio_vmsg_ep_ops {
	/* Required: the pause between two tries while the device-to-driver FIFO is full. */
	void (*delay_us)(void *ctx, uint32_t us);
	/*
	 * Required: an event (VIO_VMSG_EP_*). REFUSED comes once per driver
	 * generation, LOST once per episode of a full FIFO (the next losses in a
	 * row are counted only) and never for a session that is over.
	 */
	void (*event)(void *ctx, int event, int32_t arg);
	/* Optional: the bus's line about a message it refused (vio_vmsg_dev_bus_ops.log). */
	void (*log)(void *ctx, const char *msg, int err);
	/*
	 * Optional: called just before the devices are reset (the driver left or
	 * restarted, the window is corrupt, vio_vmsg_ep_leave), so work a device
	 * handed elsewhere finishes while its buffers are still the old driver's.
	 */
	void (*quiesce)(void *ctx);
};

struct vio_vmsg_ep_config {
	void *base;    /* the window */
	uint32_t size; /* its bytes */
	const struct vio_vmsg_ep_ops *ops;
	void *ctx;				/* for ops */
	struct vio_vmsg_doorbell bell;		/* rings the driver; ring NULL: it polls */
	const struct vio_vmsg_cache_ops *cache; /* NULL: coherent window */
	/* A full device-to-driver FIFO is waited out for full_tries pauses of full_pause_us. */
	uint32_t full_tries;
	uint32_t full_pause_us;
};

struct vio_vmsg_ep {
	/* The state first, the bus (large) last: short offsets for the code. */
	int state;		     /* internal: detached, attached, stopped */
	uint32_t stopped_gen;	     /* driver generation the window was stopped or refused under */
	uint32_t refused_gen;	     /* driver generation whose header was refused (reported) */
	bool pending_ring;	     /* messages were sent since the last flush */
	bool full;		     /* the tx FIFO stayed full and a message was lost */
	struct vio_vmsg_ep_config c; /* a copy */
	struct vio_vmsg_endpoint_stats stats;
	struct vio_vmsg_shm shm;
	struct vio_winmap map;
	struct vio_window map_win[1];
	struct vio_vmsg_dev_bus bus;
};

/*
 * Prepares ep over the window with an empty bus and marks the window's device
 * state RESET (not serving yet: a driver waiting for an earlier device of this
 * window goes on). 0 or -VIO_EINVAL.
 */
int vio_vmsg_ep_init(struct vio_vmsg_ep *ep, const struct vio_vmsg_ep_config *c);

/* Adds an initialised device; its device number or -VIO_ENOSPC. */
int vio_vmsg_ep_add(struct vio_vmsg_ep *ep, struct vio_device *dev);

/*
 * One step: attaches when detached and the driver formatted the window (or a
 * new generation after a stop), then handles up to VIO_VMSG_EP_BATCH messages
 * and follows the driver's session. How much work it found (an attach, a
 * message, a driver's departure): 0 means the caller may wait.
 */
int vio_vmsg_ep_poll(struct vio_vmsg_ep *ep);

/* Rings the driver once if messages were sent since the last flush and still attached. */
void vio_vmsg_ep_flush(struct vio_vmsg_ep *ep);

/* Leaves the window cleanly: devices reset, the device state RESET. */
void vio_vmsg_ep_leave(struct vio_vmsg_ep *ep);

/*
 * A 32-bit header word of the window (VIO_VMSG_SHM_OFF_*, vmsg_ctl.h) as the
 * driver last wrote it: the cache line invalidated first, read with acquire.
 */
uint32_t vio_vmsg_ep_window_word(const struct vio_vmsg_ep *ep, uint32_t off);

/* Whether attached to a formatted window and serving it. */
bool vio_vmsg_ep_attached(const struct vio_vmsg_ep *ep);

#endif
