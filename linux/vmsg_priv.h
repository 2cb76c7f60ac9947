/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * vioport_vmsg: the driver side of vioport's virtio-msg window
 * (docs/vmsg.md) for Linux's own virtio drivers.
 *
 * A bus is one window: the module formats it, polls the device-to-driver
 * FIFO with an hrtimer, enumerates the devices behind it and registers one
 * virtio_device for each. Every virtio device hangs below a child device of
 * its own whose dma_map_ops place rings and buffers in the window's area, so
 * no guest address outside the window reaches the device side
 * (docs/linux-module.md).
 */
#ifndef VIOPORT_VMSG_PRIV_H
#define VIOPORT_VMSG_PRIV_H

#include <linux/completion.h>
#include <linux/device.h>
#include <linux/genalloc.h>
#include <linux/hrtimer.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/virtio.h>
#include <linux/workqueue.h>

#include "vioport/vmsg.h"
#include "vioport/vmsg_shm.h"
#include "vmsg_bounce.h"
#include "vmsg_ring.h"

/* Devices one bus registers at most, and queues per device. */
#define VMSG_MAX_DEVS 32
#define VMSG_MAX_VQS  64
/* Device numbers the bus looks at: enumeration and EVENT_DEVICE. */
#define VMSG_DEV_NUMS 256

/* Module parameters (vmsg_pci.c). */
extern unsigned int vmsg_poll_min_us;
extern unsigned int vmsg_poll_max_us;
extern unsigned int vmsg_timeout_ms;
extern unsigned int vmsg_fifo_size;
extern unsigned int vmsg_vq_size_max;
extern bool vmsg_recover;

struct vmsg_vdev;

/*
 * What the module knows of one virtqueue's buffers, read from its rings in
 * the window (vmsg_ring.h): the heads in flight, which a broken device's
 * drain fails (vmsg_vdev_drain), since the device side never will.
 */
struct vmsg_track {
	spinlock_t lock; /* ring's counts: scans come from any context */
	struct vmsg_ring ring;
	s16 count[];
};

/* The one synchronous request in flight on a bus. */
struct vmsg_pending {
	bool active;
	struct vio_vmsg_hdr want;
	u8 resp[VIO_VMSG_MAX_SIZE];
	u32 len;
	int status; /* 0: answered; -EPROTO: an answer to it that does not match */
};

struct vmsg_bus {
	struct device *dev; /* the binding's device: logs and the parent of every child */
	u8 *win;	    /* the window, mapped write-back */
	u32 win_size;
	struct vio_vmsg_shm shm;
	spinlock_t fifo_lock; /* both FIFOs and the shm state */

	/* The area: a pool for rings and bounces, and the bounce records per granule. */
	struct gen_pool *pool;
	struct vmsg_bounces bounces; /* in kernel memory: the window is the device's to write */

	/* Polling. */
	struct hrtimer timer;
	u64 interval_ns;
	atomic_t activity;	   /* set by kicks and requests: poll fast again */
	unsigned long poll_bits;   /* VMSG_POLL_*: one pass at a time, timer or doorbell */
	bool failed;		   /* the window is corrupt or the device side restarted */
	unsigned long stall_since; /* jiffies | 1 since messages wait untaken; 0: none wait */
	u32 stall_tail;		   /* the driver-to-device tail seen then */

	/* Synchronous requests: one at a time. */
	struct mutex req_mutex;
	spinlock_t pend_lock;
	struct vmsg_pending pend;
	struct completion done;
	u16 next_token;

	/* Event dispatch to the virtqueues, against their teardown. */
	spinlock_t cb_lock;
	struct vmsg_vdev *devs[VMSG_MAX_DEVS];
	unsigned int ndevs;

	/* EVENT_DEVICE: device numbers to remove, then to add, by the bus work. */
	spinlock_t ev_lock;
	DECLARE_BITMAP(ev_remove, VMSG_DEV_NUMS);
	DECLARE_BITMAP(ev_add, VMSG_DEV_NUMS);
	bool up; /* the first enumeration is done: events apply */

	struct work_struct work;       /* bring-up, recovery after a failure, EVENT_DEVICE */
	struct work_struct drain_work; /* completes a broken device's requests in flight */
	struct mutex devs_mutex; /* devs[] against drain_work; never held across a driver call */
	bool recover;		 /* the work removes the devices and formats again first */
	bool stopping;
	bool timer_on;
	u32 dropped;   /* malformed, unexpected or stale messages */
	atomic_t irqs; /* doorbell interrupts taken */
};

/* The child device whose DMA ops keep a virtio device inside the window. */
struct vmsg_dmadev {
	struct device dev;
	struct vmsg_bus *bus;
};

struct vmsg_vdev {
	struct virtio_device vdev;
	struct vmsg_bus *bus;
	struct vmsg_dmadev *dma;
	u16 dev_num;
	struct vio_vmsg_device_info info;
	u64 offered; /* the device's features */
	u8 status;   /* as the device last reported it */
	u32 generation;
	bool registered;
	bool broken;
	struct virtqueue *vqs[VMSG_MAX_VQS];	/* by queue index; under bus->cb_lock */
	struct vmsg_track *track[VMSG_MAX_VQS]; /* the same */
	unsigned int drained;			/* requests completed with an error so far */
	unsigned long kick_pending[BITS_TO_LONGS(VMSG_MAX_VQS)];
};

/* vmsg_bus.c */
int vmsg_bus_init(struct vmsg_bus *bus, struct device *dev, u8 *win, u32 size);
void vmsg_bus_start(struct vmsg_bus *bus);
void vmsg_bus_fini(struct vmsg_bus *bus);
void vmsg_bus_kick(struct vmsg_bus *bus);
int vmsg_transact(struct vmsg_bus *bus, struct vmsg_vdev *vd, u8 *req, int len,
		  const struct vio_vmsg_hdr *want, u8 *resp, struct vio_vmsg_hdr *rh);
struct vio_vmsg_hdr vmsg_req_hdr(struct vmsg_bus *bus, bool busmsg, u16 dev_num, u8 id);
int vmsg_send_async(struct vmsg_bus *bus, const void *msg, int len);
void vmsg_break(struct vmsg_vdev *vd, const char *why);

/* vmsg_vdev.c */
struct vmsg_vdev *vmsg_vdev_create(struct vmsg_bus *bus, u16 dev_num);
void vmsg_vdev_destroy(struct vmsg_vdev *vd);
void vmsg_vdev_put(struct vmsg_vdev *vd);
void vmsg_vdev_event(struct vmsg_vdev *vd, const struct vio_vmsg_hdr *h, const u8 *msg);
void vmsg_vdev_flush_kicks(struct vmsg_vdev *vd);
void vmsg_vdev_drain(struct vmsg_vdev *vd);

/* vmsg_dma.c */
int vmsg_pool_init(struct vmsg_bus *bus);
void vmsg_pool_fini(struct vmsg_bus *bus);
unsigned int vmsg_pool_release_bounces(struct vmsg_bus *bus);
struct vmsg_dmadev *vmsg_dmadev_create(struct vmsg_bus *bus, u16 dev_num);
void vmsg_dmadev_destroy(struct vmsg_dmadev *d);

#endif
