/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user backend: serves one struct vio_device to one frontend (QEMU,
 * crosvm, cloud-hypervisor, vioport's own frontend) at a time over a unix
 * socket, and waits for the next frontend when that one goes away.
 *
 * The server is the POSIX glue around the freestanding protocol engine of
 * vhost_user_engine.h: it owns the socket, the mappings, the eventfds, the
 * threads and the lock, and the engine decides everything about messages.
 *
 * The server turns vhost-user messages into device model calls (features,
 * status, config, queues, kicks), maps the guest memory the frontend shares
 * into the device's windows, and signals the frontend's eventfds when the
 * device uses buffers. Every message is checked (header, payload size for its
 * type, file descriptor count, indices, memory regions, config ranges); a bad
 * one is answered with an error when the frontend asked for a reply, and
 * otherwise ends the connection. File descriptors that come with a message and
 * are not kept are closed. When the connection ends the device is reset, guest
 * memory unmapped, every descriptor closed, and the server accepts the next
 * connection (QEMU's reconnect= works).
 *
 * Device status: the server drives the device's status itself --
 * ACKNOWLEDGE | DRIVER | FEATURES_OK on SET_FEATURES, DRIVER_OK when the first
 * ring runs (started and enabled) -- because a frontend may not say it: QEMU
 * 7.2 sends no FEATURES_OK at all, and DRIVER_OK only for some devices even
 * with VHOST_USER_PROTOCOL_F_STATUS. With that feature, SET_STATUS adds bits
 * (the order rules of the device model apply), SET_STATUS 0 resets the
 * device, and GET_STATUS reports DEVICE_NEEDS_RESET. A device reset never
 * rewinds the ring positions GET_VRING_BASE reports.
 *
 * Threads and the device lock. The device model is not thread-safe, so every
 * call into it is made with the server's lock held. By default the socket and
 * every queue's kick are handled on the loop given in the configuration. With
 * queue_workers set, the server starts one thread per queue, each with its own
 * loop, and queue q's kick is handled on thread q. Each thread still runs the
 * device under the lock, so the threads work in parallel only where the
 * provider works outside it (a request handed to the kernel, say).
 * Anything else that calls into the device -- a provider completing a request
 * from its own thread or loop, vio_blk_set_capacity, ... -- must hold the lock
 * too: vio_vu_server_lock() / vio_vu_server_unlock().
 *
 * The hooks run on the thread of the configured loop, except log, which a
 * queue thread may call too (with the lock held). No hook may call
 * vio_vu_server_fini or vio_vu_server_disconnect.
 *
 * Quiesce. Before guest memory is unmapped or a ring position is reported
 * (disconnect, memory table change, GET_VRING_BASE, device reset), the server
 * stops taking requests from the rings and calls the quiesce hook without the
 * lock held. The hook returns once the device no longer touches guest memory;
 * for blk: once vio_blk_inflight() is 0, completing the provider's outstanding
 * operations as it waits. It must not run the loop the server is on. A device
 * that completes everything synchronously (rng, the RAM disk) needs no hook.
 *
 * Guest memory the frontend shrinks. Every mapping of a frontend's descriptor
 * is guarded (vioport/internal/memguard.h): when the frontend truncates the file under
 * a live mapping, the access that faults gets zero memory instead of killing
 * the process, and the server ends that connection from its loop's thread
 * (device reset, memory unmapped) and logs where the fault was. A region that
 * does not fit in its file is refused when it is mapped. Threads that touch
 * guest memory must not block SIGBUS; the queue threads do not.
 *
 * Requests in flight survive a restart of the backend (INFLIGHT_SHMFD): the
 * server allocates the region at GET_INFLIGHT_FD and maps the one a frontend
 * hands back at SET_INFLIGHT_FD; the device model records each ring's
 * requests in it (split and packed layouts) and resubmits, oldest first,
 * what a killed predecessor left there (docs/inflight.md).
 *
 * Not supported: migration (dirty logging, postcopy), IOMMU (IOTLB), in-band
 * notifications, host notifiers.
 */
#ifndef VIOPORT_VHOST_USER_H
#define VIOPORT_VHOST_USER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vioport/device.h"
#include "vioport/posix_loop.h"
#include "vioport/vhost_user_engine.h"
#include "vioport/vhost_user_proto.h"

/* Period of the ring poll when the frontend gives no kick descriptor (VRING_NOFD). */
#define VIO_VU_POLL_NS 1000000u

struct vio_vu_server_config {
	struct vio_device *dev; /* initialised, not attached to another transport */
	struct vio_loop *loop;	/* runs the socket, and the queues without workers */
	uint16_t num_queues;	/* queues offered, 1 .. dev->num_queues; 0: all */
	bool queue_workers;	/* one thread and loop per queue for its kicks */
	/*
	 * Adaptive polling of each started ring by the loop that serves it (see
	 * vio_loop_set_poll): the server adds a poller per ring; the bound of the
	 * spin is the loop's. The server sets it on its queue threads' loops to
	 * poll_us; the caller sets its own loop's.
	 */
	bool poll;
	uint32_t poll_us;
	void *ctx; /* passed to the hooks */
	/* Returns when the device no longer touches guest memory (see above); NULL: nothing to wait
	 * for. */
	void (*quiesce)(void *ctx, struct vio_device *dev);
	/* One line, no newline, level VIO_LOG_* (vioport/log.h); NULL: no logging. */
	void (*log)(void *ctx, int level, const char *msg);
	/* A connection ended; listening says whether the server waits for another. */
	void (*disconnected)(void *ctx, bool listening);
};

struct vio_vu_worker;

/*
 * Per-queue kick watching; the server's own. The engine's ring holds the kick
 * descriptor the server wants watched; kick_watched is the one in the queue
 * loop's epoll set, and only that loop's thread removes and closes it, so a
 * descriptor is never closed while a loop still watches it.
 */
struct vio_vu_vring {
	struct vio_vu_server *s;
	uint16_t index;
	struct vio_loop *loop; /* where this queue's kicks are handled */
	int kick_watched;
	struct vio_loop_watch kick_w;
	struct vio_loop_timer poll_t;
	struct vio_loop_work sync_work;
	struct vio_loop_poller poller; /* adaptive polling of the avail ring */
};

/* A vhost-user backend for one device: the POSIX glue around a struct vio_vu_engine. */
struct vio_vu_server {
	struct vio_vu_server_config cfg;
	struct vio_device *dev;
	uint16_t nq;
	pthread_mutex_t lock;
	bool lock_ready;

	int listen_fd;
	bool listen_armed;
	bool unlink_path;
	char path[108];
	uint64_t path_dev, path_ino; /* the socket file this server created */
	struct vio_loop_watch listen_w;

	int conn_fd;
	struct vio_loop_watch conn_w;

	/* written by the SIGBUS handler when guest memory faulted (vioport/internal/memguard.h) */
	int fault_fd;
	struct vio_loop_watch fault_w;

	struct vio_vu_engine_ops ops;  /* quiesce only with a hook */
	struct vio_vu_engine eng;      /* the protocol state; guarded by lock */
	struct vio_vu_ering *rings;    /* the engine's rings, nq entries */
	struct vio_vu_vring *vrings;   /* nq entries */
	struct vio_vu_worker *workers; /* nq entries with queue_workers */
};

/*
 * Prepares s to serve cfg->dev, attaching the device to it, and starts the
 * queue threads if asked for. Nothing is listening yet. Returns 0, -EINVAL for
 * a bad configuration, or the error of an allocation or thread start.
 */
int vio_vu_server_init(struct vio_vu_server *s, const struct vio_vu_server_config *cfg);

/*
 * Listens on a unix socket at path. A stale socket file there (nobody
 * accepting) is replaced; a live listener gives -EADDRINUSE and anything else
 * that is not a socket -EEXIST. Returns 0 or a negative errno.
 */
int vio_vu_server_listen(struct vio_vu_server *s, const char *path);

/*
 * Serves an inherited socket (socket activation, --fd): a listening socket is
 * accepted from, a connected one is served as the connection. The server owns
 * fd from then on, also on error. Returns 0 or a negative errno.
 */
int vio_vu_server_adopt_fd(struct vio_vu_server *s, int fd);

/* Says whether a frontend is connected. */
bool vio_vu_server_connected(const struct vio_vu_server *s);

/* Ends the current connection as if the frontend had gone: device reset, memory unmapped. */
void vio_vu_server_disconnect(struct vio_vu_server *s);

/*
 * Shuts s down: disconnects, stops the queue threads, stops listening (and
 * removes the socket file it created), releases everything. Call from the
 * loop's thread or with the loop stopped. The device is left reset and detached.
 */
void vio_vu_server_fini(struct vio_vu_server *s);

/*
 * The loop that serves queue q's kicks (a queue thread's, or the server's
 * loop), or NULL for a queue the device does not have. Valid from
 * vio_vu_server_init to vio_vu_server_fini.
 */
struct vio_loop *vio_vu_server_queue_loop(struct vio_vu_server *s, uint16_t q);

/* Takes the device lock; see "Threads and the device lock" above. */
void vio_vu_server_lock(struct vio_vu_server *s);

/* Releases the device lock. */
void vio_vu_server_unlock(struct vio_vu_server *s);

#endif
