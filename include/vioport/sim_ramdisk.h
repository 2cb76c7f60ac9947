/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RAM disk: a virtio-blk provider over caller memory, for tests, simulations
 * and firmware demos. Nothing persists, so flush only counts.
 *
 * By default every operation finishes inside the call. In deferred mode
 * operations are queued instead and finish, data transfer included, when the
 * caller runs them (in order with vio_sim_ramdisk_run, or one by one in any
 * order with vio_sim_ramdisk_complete), which is how tests drive the device's
 * asynchronous path.
 */
#ifndef VIOPORT_SIM_RAMDISK_H
#define VIOPORT_SIM_RAMDISK_H

#include <stdbool.h>
#include <stdint.h>

#include "vioport/blk.h"

/* One queued operation (deferred mode). */
struct vio_sim_ramdisk_op {
	struct vio_blk_req *req;
	const struct vio_iov *iov; /* read / write data, the device's until completion */
	uint64_t sector;
	uint32_t nsectors; /* discard / write zeroes */
	uint16_t niov;
	uint8_t type; /* VIO_BLK_T_* */
	bool unmap;
};

struct vio_sim_ramdisk {
	uint8_t *mem;
	uint64_t sectors;
	bool writeback;			    /* the cache mode the device last asked for */
	struct vio_sim_ramdisk_op *pending; /* NULL: synchronous */
	uint16_t pending_cap;
	uint16_t npending;
	uint8_t fail_next; /* when non-zero, the next operation fails with this VIO_BLK_S_* */
	uint32_t reads, writes, flushes, discards, write_zeroes;
};

/* Serves bytes / 512 sectors of mem (zeroed by the caller if it wants zeros), synchronously. */
void vio_sim_ramdisk_init(struct vio_sim_ramdisk *rd, void *mem, uint64_t bytes);

/*
 * Switches to deferred mode with room for cap queued operations in storage
 * (NULL or 0 switches back once nothing is pending). When the room is full an
 * operation finishes synchronously. Returns 0 or -VIO_EBUSY while operations
 * are pending.
 */
int vio_sim_ramdisk_defer(struct vio_sim_ramdisk *rd, struct vio_sim_ramdisk_op *storage,
			  uint16_t cap);

/* Number of queued operations. */
uint16_t vio_sim_ramdisk_pending(const struct vio_sim_ramdisk *rd);

/*
 * Performs queued operation index (0 is the oldest) and completes it to the
 * device. Returns the VIO_BLK_S_* status it completed with, or -VIO_ENOENT.
 */
int vio_sim_ramdisk_complete(struct vio_sim_ramdisk *rd, uint16_t index);

/*
 * Performs and completes, oldest first, the operations queued when called;
 * ones queued meanwhile wait for the next call. Returns how many completed.
 */
uint16_t vio_sim_ramdisk_run(struct vio_sim_ramdisk *rd);

/* The blk provider table over a struct vio_sim_ramdisk context. */
extern const struct vio_blk_ops vio_sim_ramdisk_ops;

#endif
