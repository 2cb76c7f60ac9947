/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-msg on POSIX: a window file mapped shared by two processes, doorbells
 * between them, and the device endpoint that serves a bus of vio_device
 * instances over one window from a thread of its own.
 *
 * Window files. Any regular file both processes can map: a file under
 * /dev/shm is memory, one elsewhere works too (and is written back). The
 * peer is untrusted; what it can still do to the mapping itself is shrink the
 * file, which makes the next access past the new end fault (SIGBUS). Give the
 * two processes the file but not the right to truncate it when that matters.
 *
 * Doorbells. "poll": nothing is signalled; the waiting side spins for a
 * while, then sleeps in steps that grow to VIO_VMSG_BELL_POLL_MAX_US.
 * "eventfd:SOCKET": each side owns an eventfd that the other side writes to
 * ring it; the two are exchanged over the unix socket SOCKET with SCM_RIGHTS
 * (the device side listens, the driver side connects, sends its eventfd and
 * receives the device's). The device side serves one driver connection at a
 * time and takes the next once the old one closed. A doorbell carries no
 * data: a missed or spurious ring costs one wait, never a message.
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
#include "vioport/vmsg_dev.h"
#include "vioport/vmsg_drv.h"
#include "vioport/vmsg_endpoint.h"
#include "vioport/vmsg_shm.h"
#include "vioport/window.h"

/* Longest socket or window path kept (sun_path's size on Linux). */
#define VIO_VMSG_PATH_MAX 108
/* Polling doorbell: busy waits before the first sleep, and the longest sleep. */
#define VIO_VMSG_BELL_POLL_SPINS  20000u
#define VIO_VMSG_BELL_POLL_MAX_US 1000u
/*
 * eventfd doorbell: after the last message the waiting side keeps looking for
 * the next one this long before it blocks on its eventfd (a request's answer
 * usually comes within microseconds: this saves the two wake-ups of a round
 * trip, while an idle side still sleeps). "eventfd:SOCKET,spin=US" sets the
 * bound; 0 blocks at once. The look adapts under that bound: a look that ends
 * without a message halves the next one (down to none, so an idle side stops
 * spinning), a message found while looking, or a wake-up that came sooner
 * after blocking than the bound, sets it back to the bound at once. In a
 * stream of round trips every look pays and stays at the bound.
 */
#define VIO_VMSG_BELL_EVENTFD_SPIN_US 20u

/* A window file mapped shared (for example under /dev/shm). */
struct vio_vmsg_window {
	int fd;
	uint8_t *base;
	uint32_t size;
	uint64_t offset; /* where the window starts in the file */
	char path[VIO_VMSG_PATH_MAX];
};

/*
 * Opens path and maps it shared; creates it with size bytes when it is missing
 * and size is not 0; with size 0 uses the file's size. Refuses a file that is
 * not regular, is empty, is larger than 4 GiB - 1, or whose size differs from
 * a nonzero size. 0 or -errno with a message in err.
 */
int vio_vmsg_window_open(struct vio_vmsg_window *w, const char *path, uint32_t size, char *err,
			 size_t errlen);

/*
 * As vio_vmsg_window_open for a window that starts offset bytes into the file
 * (a firmware's RAM file holding its window somewhere inside): offset must be
 * a multiple of the page size (mmap maps whole pages); the file must hold at
 * least offset + size bytes and may hold more (size 0: the window is the rest
 * of the file); a missing file is created with offset + size bytes.
 */
int vio_vmsg_window_open_at(struct vio_vmsg_window *w, const char *path, uint64_t offset,
			    uint32_t size, char *err, size_t errlen);

/* Unmaps and closes (the file stays); safe on a zeroed or closed window. */
void vio_vmsg_window_close(struct vio_vmsg_window *w);

/* Doorbell kinds. */
#define VIO_VMSG_BELL_POLL    0
#define VIO_VMSG_BELL_EVENTFD 1
#define VIO_VMSG_BELL_IVSHMEM 2 /* device side: the server of QEMU's ivshmem-doorbell */

struct vio_vmsg_bell {
	int kind; /* VIO_VMSG_BELL_* */
	char sock[VIO_VMSG_PATH_MAX];
	bool is_device;	      /* listens (device side) or connects (driver side) */
	int listen_fd;	      /* device side: the listening socket */
	int conn_fd;	      /* the connection to the peer, -1 while none */
	int own_efd;	      /* the peer rings this one */
	int peer_efd;	      /* we ring this one; -1 while no peer */
	uint32_t idle;	      /* poll: waits since the last activity; eventfd: 0 after activity */
	uint32_t spin_us;     /* eventfd: the bound of a look before blocking, after activity */
	uint32_t look_us;     /* eventfd: the current look, 0 .. spin_us */
	uint64_t spin_since;  /* eventfd: when the current look started */
	uint64_t block_since; /* eventfd: when the last block started */
	uint64_t looks_paid;  /* eventfd: looks that found a message, for diagnostics */
	uint64_t looks_lost;  /* eventfd: looks that ran out, for diagnostics */
	uint64_t rings;	      /* rings sent, for diagnostics */
	uint64_t wakeups;     /* rings received (eventfd), for diagnostics */
	int shm_fd;	      /* ivshmem: the window file, sent to the client; not owned */
};

/*
 * Device side, ivshmem doorbell (ivshmem_server.c): accepts one client (QEMU's
 * ivshmem-doorbell) on listen_fd and sends it the protocol's version, its ID,
 * shm_fd (the window file), this side's eventfd as peer 0's vector 0 and a new
 * eventfd as its own vector 0. 0 with the connection and that new eventfd (this
 * side rings the guest through it), or -errno.
 */
int vio_ivshmem_accept(int listen_fd, int shm_fd, int own_efd, int *conn_fd, int *client_efd);

/*
 * Parses "poll", "eventfd:SOCKET" or "ivshmem:SOCKET" (NULL or "" means "poll") into b, which it
 * prepares with no descriptor open. 0 or -EINVAL with a message in err.
 */
int vio_vmsg_bell_parse(struct vio_vmsg_bell *b, const char *spec, char *err, size_t errlen);

/*
 * Device side: listens on b's socket (eventfd; replaces a stale socket file,
 * refuses a path that is not a socket) and creates its own eventfd; nothing to
 * do for poll. 0 or -errno with a message in err.
 */
int vio_vmsg_bell_listen(struct vio_vmsg_bell *b, char *err, size_t errlen);

/*
 * Driver side: connects to b's socket, retrying until timeout_ms passed while
 * nobody listens, and exchanges eventfds; nothing to do for poll. 0, -ETIMEDOUT
 * or -errno with a message in err.
 */
int vio_vmsg_bell_connect(struct vio_vmsg_bell *b, int timeout_ms, char *err, size_t errlen);

/* Device side: whether a driver is connected (always true for poll). */
bool vio_vmsg_bell_connected(const struct vio_vmsg_bell *b);

/* Closes every descriptor (and the device side's socket file); b can be parsed again. */
void vio_vmsg_bell_close(struct vio_vmsg_bell *b);

/* Rings the peer: one eventfd write (poll: nothing). */
void vio_vmsg_bell_ring(struct vio_vmsg_bell *b);

/* The struct vio_vmsg_doorbell (vmsg_shm.h) that rings the peer through b. */
struct vio_vmsg_doorbell vio_vmsg_bell_doorbell(struct vio_vmsg_bell *b);

/* Tells the bell that the caller found work, so the next poll waits spin again. */
void vio_vmsg_bell_activity(struct vio_vmsg_bell *b);

/*
 * Waits until the peer rang or timeout_us passed (poll: one backoff step, at
 * most timeout_us). On the device side it also takes a new driver connection
 * and notices a closed one. Returns 1 when rung, 0 otherwise (a timeout, a
 * poll step, a connection change), or -errno.
 */
int vio_vmsg_bell_wait(struct vio_vmsg_bell *b, int64_t timeout_us);

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

/* A monotonic clock in microseconds. */
uint64_t vio_vmsg_now_us(void);

#endif
