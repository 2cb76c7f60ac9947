/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-blk client over the vhost-user frontend: what a guest's virtio-blk
 * driver does, for tests and benchmarks driving any vhost-user-blk backend.
 *
 * The synchronous helpers return the status byte the device wrote
 * (VIO_BLK_S_OK, VIO_BLK_S_IOERR, VIO_BLK_S_UNSUPP, or any other value a
 * device put there) or a negative errno when the request did not complete:
 * -ETIMEDOUT, -ECONNRESET, -EPROTO (a bad used entry, or no status written),
 * -ENOMEM (no room in guest memory), -E2BIG (more segments than SEG_MAX).
 *
 * The I/O objects (struct vio_vu_blk_io) keep one request's header, data and
 * status in guest memory for reuse, so a benchmark allocates nothing per
 * request.
 */
#ifndef VIOPORT_VU_BLK_CLIENT_H
#define VIOPORT_VU_BLK_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "vioport/blk.h"
#include "vioport/vhost_user_frontend.h"

/* Features the client accepts unless told otherwise. */
#define VIO_VU_BLK_FEATURES                                                                        \
	(VIO_BIT(VIO_F_VERSION_1) | VIO_BIT(VIO_F_EVENT_IDX) | VIO_BIT(VIO_F_INDIRECT_DESC) |      \
	 VIO_BIT(VIO_BLK_F_SIZE_MAX) | VIO_BIT(VIO_BLK_F_SEG_MAX) | VIO_BIT(VIO_BLK_F_RO) |        \
	 VIO_BIT(VIO_BLK_F_BLK_SIZE) | VIO_BIT(VIO_BLK_F_FLUSH) | VIO_BIT(VIO_BLK_F_TOPOLOGY) |    \
	 VIO_BIT(VIO_BLK_F_CONFIG_WCE) | VIO_BIT(VIO_BLK_F_MQ) | VIO_BIT(VIO_BLK_F_DISCARD) |      \
	 VIO_BIT(VIO_BLK_F_WRITE_ZEROES))

/*
 * Config bytes the client reads: everything up to write_zeroes_may_unmap and
 * its padding, which every backend of the last years has (older QEMU ones
 * refuse a longer read).
 */
#define VIO_VU_BLK_CONFIG_READ VIO_BLK_CFG_MAX_SECURE_ERASE_SECTORS

struct vio_vu_blk {
	struct vio_vu_fe fe;
	uint64_t capacity;   /* 512-byte sectors; 0 when the config could not be read */
	uint32_t blk_size;   /* BLK_SIZE, else 512 */
	uint32_t size_max;   /* SIZE_MAX, else 0: no limit per segment */
	uint32_t seg_max;    /* SEG_MAX, else 0: no limit on data segments */
	uint16_t num_queues; /* queues in use */
	bool read_only;	     /* VIO_BLK_F_RO negotiated */
	int timeout_ms;	     /* each synchronous request waits at most this long */
};

/*
 * Connects to a vhost-user-blk backend at path and starts the device. p may
 * be NULL; its zero fields take the frontend's defaults, except features
 * (default VIO_VU_BLK_FEATURES) and config_size (default
 * VIO_VU_BLK_CONFIG_READ). Returns 0 or a negative errno (see b->fe.err).
 */
int vio_vu_blk_open(struct vio_vu_blk *b, const char *path, const struct vio_vu_fe_params *p);

/* Reads the config again (capacity, limits) after a config change. */
int vio_vu_blk_refresh(struct vio_vu_blk *b);

/* Closes the connection, stopping nothing first (as a crashed guest would). */
void vio_vu_blk_close(struct vio_vu_blk *b);

/*
 * One request on queue, waited for: header (type, sector), out_len bytes the
 * device reads, in_len bytes it writes, then the status byte. *used_len (may
 * be NULL) receives what the device reported writing, status byte included.
 */
int vio_vu_blk_request(struct vio_vu_blk *b, uint16_t queue, uint32_t type, uint64_t sector,
		       const void *out, uint32_t out_len, void *in, uint32_t in_len,
		       uint32_t *used_len);

/* Reads len bytes (a multiple of 512) at sector. */
int vio_vu_blk_read(struct vio_vu_blk *b, uint64_t sector, void *buf, uint32_t len);

/* Writes len bytes (a multiple of 512) at sector. */
int vio_vu_blk_write(struct vio_vu_blk *b, uint64_t sector, const void *buf, uint32_t len);

/* Makes completed writes stable. */
int vio_vu_blk_flush(struct vio_vu_blk *b);

/* Discards nsectors at sector (one segment, no flags). */
int vio_vu_blk_discard(struct vio_vu_blk *b, uint64_t sector, uint32_t nsectors);

/* Zeroes nsectors at sector, allowing the device to unmap them when unmap is set. */
int vio_vu_blk_write_zeroes(struct vio_vu_blk *b, uint64_t sector, uint32_t nsectors, bool unmap);

/* Reads the device ID string (up to 20 bytes, not NUL-terminated when 20 long) into id. */
int vio_vu_blk_get_id(struct vio_vu_blk *b, char id[VIO_BLK_ID_BYTES]);

/* A reusable request in guest memory. */
struct vio_vu_blk_io {
	uint8_t *hdr; /* 16-byte header; the status byte sits in its own granule after it */
	uint64_t hdr_gpa;
	uint8_t *status;
	uint64_t status_gpa;
	uint8_t *data;
	uint64_t data_gpa;
	uint32_t data_cap;
};

/* Places an I/O object with data_cap data bytes (page-aligned) in guest memory. */
int vio_vu_blk_io_alloc(struct vio_vu_blk *b, struct vio_vu_blk_io *io, uint32_t data_cap);

/* Gives an I/O object's guest memory back. */
void vio_vu_blk_io_free(struct vio_vu_blk *b, struct vio_vu_blk_io *io);

/*
 * Queues io on queue without kicking: VIO_BLK_T_IN reads len bytes into
 * io->data, VIO_BLK_T_OUT writes len bytes from it, other types carry len
 * bytes out (discard, write zeroes) or in (GET_ID) as the type says. The
 * status byte is set to 0xff first, so a device that writes none is caught.
 */
int vio_vu_blk_io_submit(struct vio_vu_blk *b, uint16_t queue, struct vio_vu_blk_io *io,
			 uint32_t type, uint64_t sector, uint32_t len, void *token);

/* The status byte of a completed io, or -EPROTO when the device did not write one. */
int vio_vu_blk_io_status(const struct vio_vu_blk_io *io);

#endif
