/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user protocol engine: everything of a vhost-user backend that is
 * logic over bytes and integers, with no operating system under it.
 *
 * The engine checks and answers whole messages (the table of payload sizes,
 * descriptor counts and protocol features per request, then each handler's
 * own checks), keeps the session and ring state machines, negotiates features
 * and protocol features, checks memory tables and turns them into the
 * device's window map, reads and writes config space, follows and sets the
 * device status, and hands each queue its share of the inflight region, in
 * which the device model records the requests in flight (docs/inflight.md). It is freestanding,
 * like src/core: a firmware that carries vhost-user messages over its own channel (a mailbox, a
 * shared-memory FIFO) links the same engine the Linux daemon does.
 *
 * The operating system comes in through struct vio_vu_engine_ops. File
 * descriptors are opaque integer handles to the engine (negative: none); it
 * never looks inside one, only asks the glue to describe, map, signal, close
 * or send on it. The glue (src/os/posix/vhost_user_server.c for POSIX) reads bytes and
 * handles from its channel into the engine's framing (vio_vu_engine_rx_*),
 * calls vio_vu_engine_handle() for each whole message with the device lock
 * held, and watches the kick handles the engine tells it about.
 *
 * Handle ownership: the engine owns every handle of a message it is given;
 * the ones it does not keep are closed through ops->close before
 * vio_vu_engine_handle() returns. Kick handles are the exception that the
 * kick op describes.
 */
#ifndef VIOPORT_VHOST_USER_ENGINE_H
#define VIOPORT_VHOST_USER_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vioport/device.h"
#include "vioport/log.h"
#include "vioport/vhost_user_proto.h"
#include "vioport/window.h"

/* Memory regions one connection may map (GET_MAX_MEM_SLOTS). */
#define VIO_VU_MAX_MEM_SLOTS 32
/* Largest number of queues an engine offers (ring indices are 8 bits on the wire). */
#define VIO_VU_MAX_QUEUES 256

/*
 * Log levels of the log op (and of the server's log hook): the shared levels
 * of vioport/log.h under their older names, kept until every user says VIO_LOG_*.
 */
#define VIO_VU_LOG_ERR	 VIO_LOG_ERR
#define VIO_VU_LOG_WARN	 VIO_LOG_WARN
#define VIO_VU_LOG_INFO	 VIO_LOG_INFO
#define VIO_VU_LOG_DEBUG VIO_LOG_DEBUG

/* Bytes of one received message: header and the largest payload. */
#define VIO_VU_MSG_MAX (sizeof(struct vio_vu_hdr) + VIO_VU_MAX_PAYLOAD)

/* Payloads as laid out on the wire after the 12-byte header (host byte order by the spec). */
union vio_vu_payload {
	uint64_t u64;
	struct vio_vu_vring_state state;
	struct vio_vu_vring_addr addr;
	struct vio_vu_mem_table mem;
	struct vio_vu_mem_reg reg;
	struct vio_vu_config config;
	struct vio_vu_inflight inflight;
	uint8_t raw[VIO_VU_MAX_PAYLOAD];
};

/* A received message: payload zero-filled past hdr.size, with the handles that came along. */
struct vio_vu_msg {
	struct vio_vu_hdr hdr;
	union vio_vu_payload p;
	int fds[VIO_VU_MAX_FDS];
	unsigned nfds;
};

/* A guest memory region as mapped here. */
struct vio_vu_mapping {
	uint64_t gpa;	/* guest physical address */
	uint64_t size;	/* bytes */
	uint64_t uaddr; /* the frontend's virtual address of gpa */
	uint8_t *local; /* where gpa is mapped here */
	void *map;	/* the glue's mapping (from a page boundary at or before local) */
	size_t map_len;
};

/* A ring as the frontend set it up. */
struct vio_vu_ering {
	uint16_t index;
	uint16_t num;
	bool addr_set;
	uint64_t desc_ua, avail_ua, used_ua;
	uint16_t base;
	bool base_set;
	bool started;	/* SET_VRING_KICK received, GET_VRING_BASE not yet */
	bool enabled;	/* SET_VRING_ENABLE 1, or no protocol features */
	bool kick_poll; /* started without a kick handle: the glue polls the ring */
	/* in the device model */
	bool pushed; /* ring set up in the device model */
	bool dirty;  /* size, addresses or base changed since */
	bool mem_warned;
	int kick; /* handles, -1: none */
	int call;
	int err;
};

/* Operating system services; every op gets the ctx of the engine's configuration. */
struct vio_vu_engine_ops {
	/*
	 * Describes the shareable object behind handle h: its size in bytes and
	 * the alignment (a power of two) a mapping offset needs. Returns 0, or a
	 * negative errno when h cannot be mapped (not a file, say).
	 */
	int (*describe)(void *ctx, int h, uint64_t *size, uint64_t *align);
	/* Maps [offset, offset + len) of h read-write and shared (offset aligned, in the object).
	 */
	int (*map)(void *ctx, int h, uint64_t offset, uint64_t len, void **map);
	/* Undoes map. */
	void (*unmap)(void *ctx, void *map, size_t map_len);
	/* A new shared object of bytes, mapped at *map; returns its handle or a negative errno. */
	int (*alloc_shared)(void *ctx, uint64_t bytes, void **map);
	/* h becomes a ring's kick, call or err handle: make it safe to signal and read without
	 * blocking. */
	void (*own_event)(void *ctx, int h);
	/* Signals an event handle without blocking (a pending signal may absorb it). */
	void (*signal)(void *ctx, int h);
	/* Closes a handle the engine owns. */
	void (*close)(void *ctx, int h);
	/*
	 * Sends a message (payload of hdr->size bytes, handle fd unless < 0) on
	 * channel h, waiting up to timeout_ms when the channel is full (0: never).
	 * Returns 0 or a negative errno.
	 */
	int (*send)(void *ctx, int h, const struct vio_vu_hdr *hdr, const void *payload, int fd,
		    int timeout_ms);
	/*
	 * Ring q's kick handle or its polling changed (ering kick, kick_poll,
	 * started). old is the handle it replaced: the glue closes it once it no
	 * longer watches it, as it does the current one when the connection ends.
	 */
	void (*kick)(void *ctx, uint16_t q, int old);
	/* Returns once the device no longer touches guest memory; NULL: nothing to wait for. */
	void (*quiesce)(void *ctx);
	/* One line, no newline, level VIO_VU_LOG_*; NULL: no logging. */
	void (*log)(void *ctx, int level, const char *msg);
	/* Names errno err (positive) for the log; NULL: "error". */
	const char *(*errstr)(void *ctx, int err);
};

struct vio_vu_engine_config {
	struct vio_device *dev;		     /* initialised, not attached to another transport */
	uint16_t num_queues;		     /* queues offered, 1 .. dev->num_queues; 0: all */
	struct vio_vu_ering *rings;	     /* caller storage for num_queues (or all) rings */
	const struct vio_vu_engine_ops *ops; /* all ops but quiesce, log and errstr are required */
	void *ctx;
};

/* One vhost-user session with one device. Caller storage; the fields are the glue's to read. */
struct vio_vu_engine {
	struct vio_device *dev;
	uint16_t nq;
	const struct vio_vu_engine_ops *ops;
	void *ctx;
	struct vio_vu_ering *rings; /* nq entries */

	int conn;	   /* the channel replies go on; -1: not connected */
	int backend;	   /* the backend request channel, -1: none */
	uint64_t features; /* as SET_FEATURES gave them, protocol bit included */
	bool features_set;
	uint64_t protocol_features;
	bool owner;

	struct vio_vu_mapping regions[VIO_VU_MAX_MEM_SLOTS];
	uint32_t nregions;
	struct vio_window windows[VIO_VU_MAX_MEM_SLOTS];
	struct vio_winmap map;

	void *inflight; /* the glue's mapping of the inflight region */
	size_t inflight_len;
	uint8_t *inflight_base;	  /* queue 0's share in it */
	uint16_t inflight_nq;	  /* queues it has shares for */
	uint64_t inflight_stride; /* bytes of each share */

	/* the message being received; only the glue's receiving thread touches these */
	uint32_t rx_have;
	_Alignas(8) uint8_t rx[VIO_VU_MSG_MAX];
	int rx_fds[VIO_VU_MAX_FDS];
	unsigned rx_nfds;
};

/* Number of rings an engine for dev offering num_queues (0: all) has, or -VIO_EINVAL. */
int vio_vu_engine_queues(const struct vio_device *dev, uint16_t num_queues);

/*
 * Prepares e to serve cfg->dev and attaches the device to it. Returns 0, or
 * VIO_EINVAL (negated) for a bad configuration.
 */
int vio_vu_engine_init(struct vio_vu_engine *e, const struct vio_vu_engine_config *cfg);

/* Starts a session whose replies go on channel conn; the glue keeps owning conn. */
void vio_vu_engine_connect(struct vio_vu_engine *e, int conn);

/*
 * Framing, for a glue that receives a byte stream: the next bytes of the
 * message being received go to the returned pointer, at most *len of them
 * (never 0 before the message is whole). Call vio_vu_engine_rx_done() with
 * what arrived.
 */
uint8_t *vio_vu_engine_rx_space(struct vio_vu_engine *e, size_t *len);

/* Keeps handle h, which came with the message; -VIO_EPROTO (h closed) past VIO_VU_MAX_FDS. */
int vio_vu_engine_rx_handle(struct vio_vu_engine *e, int h);

/*
 * n bytes arrived at the space given. Returns 1 when a message is complete
 * (take it with vio_vu_engine_rx_take), 0 when more is needed, or
 * -VIO_EPROTO for a header that cannot be framed (anything but a version 1
 * request of at most VIO_VU_MAX_PAYLOAD bytes): the session must end.
 */
int vio_vu_engine_rx_done(struct vio_vu_engine *e, size_t n);

/* Moves the complete message into m, payload zero-filled, and starts the next one. */
void vio_vu_engine_rx_take(struct vio_vu_engine *e, struct vio_vu_msg *m);

/*
 * Checks, handles and answers one message, taking its handles. Returns 0,
 * or a negative errno when the session must end. Call with the device lock.
 */
int vio_vu_engine_handle(struct vio_vu_engine *e, struct vio_vu_msg *m);

/* Ring q was kicked (its kick handle fired, or its poll period passed); with the lock. */
void vio_vu_engine_kick(struct vio_vu_engine *e, uint16_t q);

/*
 * Ends the session: a partly received message dropped, device reset, rings
 * forgotten, memory unmapped, every handle but the kicks closed (see the kick
 * op). With the device lock.
 */
void vio_vu_engine_disconnect(struct vio_vu_engine *e);

/* Resets and detaches the device; call after vio_vu_engine_disconnect. */
void vio_vu_engine_fini(struct vio_vu_engine *e);

/* Formats one line for the log op (%s %c %d %u %x with l/ll, %%; truncated at 255 bytes). */
void vio_vu_engine_log(struct vio_vu_engine *e, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
