/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-i2c adapter device model (device ID 34): one request queue, no
 * config space, VIRTIO_I2C_F_ZERO_LENGTH_REQUEST mandatory.
 *
 * Each request is one I2C message: out_hdr {le16 addr; le16 padding; le32
 * flags}, an optional buffer (readable for a write, writable for a read) and
 * in_hdr {u8 status}. Requests chained with FAIL_NEXT form a transaction; the
 * device hands a whole transaction to the provider in one call, so a provider
 * on a real controller can issue it with repeated starts (Linux I2C_RDWR), and
 * a failing message fails the rest of its transaction. A transaction waits
 * in the device until its last request arrives, or until VIO_I2C_BATCH
 * requests or the bounce buffer's worth of scattered bytes are waiting: then
 * what has come so far goes to the provider and the rest follows in another
 * call (a failure still fails the rest).
 */
#ifndef VIOPORT_I2C_H
#define VIOPORT_I2C_H

#include <stdbool.h>
#include <stdint.h>

#include "vioport/device.h"
#include "vioport/virtq.h"

#define VIO_I2C_F_ZERO_LENGTH_REQUEST 0

#define VIO_I2C_FLAGS_FAIL_NEXT 1u
#define VIO_I2C_FLAGS_M_RD	2u

#define VIO_I2C_MSG_OK	0u
#define VIO_I2C_MSG_ERR 1u

#define VIO_I2C_OUT_HDR 8u

/* Segments one request may have; a longer chain is answered with ERR. */
#define VIO_I2C_SEGS 8u
/* Messages handed to the provider at most in one call; a longer transaction is split. */
#define VIO_I2C_BATCH 8u

/* One message of a transfer, as the provider sees it. */
#define VIO_I2C_MSG_RD 1u

struct vio_i2c_msg {
	uint16_t addr;	/* 7-bit address */
	uint16_t flags; /* VIO_I2C_MSG_RD for a read */
	uint32_t len;	/* 0: a probe (address only) */
	uint8_t *buf;	/* len bytes; filled by the provider for a read */
};

/* An I2C controller. */
struct vio_i2c_ops {
	/*
	 * Transfers msgs[0 .. n) as one transaction (repeated starts between them).
	 * Returns how many messages completed from the start (0..n); a NACK or a bus
	 * error stops there. A negative VIO_E* fails all of them.
	 */
	int (*xfer)(void *ctx, const struct vio_i2c_msg *msgs, unsigned n);
};

/* A request popped but not answered yet: it waits for the rest of its transaction. */
struct vio_i2c_pend {
	struct vio_iov iov[VIO_I2C_SEGS];
	uint16_t id, ndesc;
	uint16_t nread, nwrite;
	uint8_t *status; /* NULL when the request has no writable byte */
	struct vio_i2c_msg msg;
	uint32_t bounce_off; /* where the payload lives in the bounce buffer */
	bool bad;	     /* malformed: ERR without touching the bus */
	bool bounced;	     /* payload gathered in (write) or scattered from (read) bounce */
	bool last;	     /* ends its transaction (no FAIL_NEXT) */
};

struct vio_i2c {
	struct vio_device dev;
	const struct vio_i2c_ops *ops;
	void *ctx;
	uint8_t *bounce; /* for buffers in several segments, caller storage */
	uint32_t bounce_len;
	uint32_t bounce_used;
	bool txn_failed; /* a message of the open transaction failed already */
	uint16_t npend;
	struct vio_req req;
	struct vio_i2c_pend pend[VIO_I2C_BATCH];
	struct vio_i2c_msg msgs[VIO_I2C_BATCH];
	uint64_t requests; /* answered since init */
	uint64_t errors;   /* answered with ERR (or nothing) since init */
};

/*
 * Prepares i2c over queue (one entry, up to queue_size buffers). features may
 * hold INDIRECT_DESC, EVENT_IDX and RING_PACKED; ZERO_LENGTH_REQUEST and
 * VERSION_1 are always offered. bounce (bounce_len bytes, may be NULL and 0)
 * holds buffers that come in several segments; a longer one gets ERR. Attach
 * i2c->dev to a transport afterwards. Returns 0 or -VIO_EINVAL.
 */
int vio_i2c_init(struct vio_i2c *i2c, const struct vio_i2c_ops *ops, void *ctx,
		 struct vio_queue *queue, uint16_t queue_size, uint64_t features, uint8_t *bounce,
		 uint32_t bounce_len);

#endif
