/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-msg on POSIX: the device endpoint that serves a bus of vio_device
 * instances over one window from a thread of its own
 * (src/os/posix/vmsg_endpoint.c, around src/vmsg/endpoint.c), and the driver
 * side's open and format of a window (vmsg_drv_open.c). The window files and
 * the doorbells they use are vmsg_window.h and vmsg_bell.h, included here.
 *
 * Endpoint threading: the serving thread calls into the devices only with the
 * endpoint lock held; everything else that touches a device must hold it too.
 * Log callbacks run on the serving thread, with the lock held.
 */
#ifndef VIOPORT_VMSG_POSIX_H
#define VIOPORT_VMSG_POSIX_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vioport/device.h"
#include "vioport/vmsg_bell.h"
#include "vioport/vmsg_dev.h"
#include "vioport/vmsg_drv.h"
#include "vioport/vmsg_endpoint.h"
#include "vioport/vmsg_shm.h"
#include "vioport/vmsg_window.h"
#include "vioport/window.h"

/* Device side: one window, one virtio-msg bus, its devices, served by a thread. */
struct vio_vmsg_endpoint_config {
	const char *path;     /* the window file */
	uint32_t size;	      /* bytes, to create it; 0: the file's size */
	const char *doorbell; /* "poll" (default, NULL), "eventfd:SOCKET" or "ivshmem:SOCKET" */
	/* Optional: one line, no newline, level VIO_VU_LOG_* (vhost_user.h). */
	void (*log)(void *ctx, int level, const char *msg);
	void *log_ctx;
	/*
	 * Optional: called with the lock held just before the devices are reset
	 * (the driver left or restarted, the window is corrupt, fini), so work a
	 * device handed elsewhere (a disk request in the kernel) finishes while its
	 * buffers are still the old driver's.
	 */
	void (*quiesce)(void *ctx);
	void *quiesce_ctx;
};

/*
 * The state machine is vmsg_endpoint.h's; this is the thread around it. Its
 * counters (struct vio_vmsg_endpoint_stats) are read under the lock.
 */
struct vio_vmsg_endpoint {
	struct vio_vmsg_window win;
	struct vio_vmsg_bell bell;
	struct vio_vmsg_ep ep; /* owned by the serving thread, under the lock */
	void (*log)(void *ctx, int level, const char *msg);
	void *log_ctx;
	void (*quiesce)(void *ctx);
	void *quiesce_ctx;

	pthread_mutex_t lock;
	pthread_t thread;
	bool started;
	int stop; /* set by fini, read by the thread (atomic) */
};

/*
 * Opens (or creates) the window, prepares the doorbell (eventfd: listens) and
 * an empty bus. 0 or -errno with a message in err; nothing stays open on error.
 */
int vio_vmsg_endpoint_init(struct vio_vmsg_endpoint *ep, const struct vio_vmsg_endpoint_config *c,
			   char *err, size_t errlen);

/* Adds an initialised device before start; returns its device number or negative. */
int vio_vmsg_endpoint_add(struct vio_vmsg_endpoint *ep, struct vio_device *dev);

/* Starts the serving thread; 0 or -errno. */
int vio_vmsg_endpoint_start(struct vio_vmsg_endpoint *ep);

/*
 * Every touch of a device from another thread (async completions, host events,
 * a control socket) happens between lock and unlock; the serving thread holds
 * it while it handles messages. unlock rings the driver if messages were sent.
 */
void vio_vmsg_endpoint_lock(struct vio_vmsg_endpoint *ep);
void vio_vmsg_endpoint_unlock(struct vio_vmsg_endpoint *ep);

/* Whether the endpoint is attached to a formatted window and serving it (any thread). */
bool vio_vmsg_endpoint_attached(struct vio_vmsg_endpoint *ep);

/* A copy of the counters (any thread). */
struct vio_vmsg_endpoint_stats vio_vmsg_endpoint_stats(struct vio_vmsg_endpoint *ep);

/* Stops the thread, resets the devices, detaches, unmaps and closes the doorbell. */
void vio_vmsg_endpoint_fini(struct vio_vmsg_endpoint *ep);

/*
 * Driver side over a window file: the window, its doorbell, this side's view
 * of the bus and the binding the driver library (vmsg_drv.h) talks through.
 * The binding points into the struct: it must not move once opened.
 */
struct vio_vmsg_posix_drv {
	struct vio_vmsg_window win;
	struct vio_vmsg_bell bell;
	struct vio_vmsg_shm shm;
	struct vio_vmsg_drv_shm binding; /* for vio_vmsg_drv_init_shm */
	uint32_t generation;		 /* the driver generation of the last format */
	uint32_t seen_head;		 /* rx head at the last wait: movement means activity */
};

/*
 * Opens (or, with size, creates) the window file, formats it with a new driver
 * generation (the device side sees a restart), connects the doorbell and waits
 * up to timeout_ms for the device side to attach. 0, -ETIMEDOUT ("no device
 * side attached to PATH within N ms") or -errno, with a message in err; nothing
 * stays open on error.
 */
int vio_vmsg_posix_drv_open(struct vio_vmsg_posix_drv *p, const char *path, uint32_t size,
			    const char *doorbell, int timeout_ms, char *err, size_t errlen);

/* As vio_vmsg_posix_drv_open over the window offset bytes into the file (vio_vmsg_window_open_at).
 */
int vio_vmsg_posix_drv_open_at(struct vio_vmsg_posix_drv *p, const char *path, uint64_t offset,
			       uint32_t size, const char *doorbell, int timeout_ms, char *err,
			       size_t errlen);

/*
 * Formats the window again with a new generation and waits up to timeout_ms
 * for the device side to re-attach (recovery after a stop, or a restart on
 * purpose). Drivers set up on the old generation must be initialised again.
 */
int vio_vmsg_posix_drv_reformat(struct vio_vmsg_posix_drv *p, int timeout_ms, char *err,
				size_t errlen);

/* Marks the driver state RESET, closes the doorbell and unmaps the window. */
void vio_vmsg_posix_drv_close(struct vio_vmsg_posix_drv *p);

#endif
