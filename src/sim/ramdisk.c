/* SPDX-License-Identifier: BSD-3-Clause */
/* RAM disk blk provider, synchronous or deferred, for tests and simulations. */
#include "vioport/errno.h"
#include "vioport/sim_ramdisk.h"

#include <string.h>

void vio_sim_ramdisk_init(struct vio_sim_ramdisk *rd, void *mem, uint64_t bytes)
{
	memset(rd, 0, sizeof(*rd));
	rd->mem = mem;
	rd->sectors = bytes / VIO_BLK_SECTOR_SIZE;
}

int vio_sim_ramdisk_defer(struct vio_sim_ramdisk *rd, struct vio_sim_ramdisk_op *storage,
			  uint16_t cap)
{
	if (rd->npending != 0)
		return -VIO_EBUSY;
	rd->pending = cap != 0 ? storage : NULL;
	rd->pending_cap = storage != NULL ? cap : 0;
	return 0;
}

uint16_t vio_sim_ramdisk_pending(const struct vio_sim_ramdisk *rd)
{
	return rd->npending;
}

/* Range check of its own: a provider does not rely on its caller for memory safety. */
static bool rd_range_ok(const struct vio_sim_ramdisk *rd, uint64_t sector, uint64_t n)
{
	return sector <= rd->sectors && n <= rd->sectors - sector;
}

static int rd_rw(struct vio_sim_ramdisk *rd, const struct vio_sim_ramdisk_op *op)
{
	uint64_t total = 0;
	uint8_t *disk;

	for (uint16_t i = 0; i < op->niov; i++)
		total += op->iov[i].len;
	if (total % VIO_BLK_SECTOR_SIZE != 0 ||
	    !rd_range_ok(rd, op->sector, total / VIO_BLK_SECTOR_SIZE))
		return VIO_BLK_S_IOERR;
	disk = rd->mem + op->sector * VIO_BLK_SECTOR_SIZE;
	for (uint16_t i = 0; i < op->niov; i++) {
		if (op->type == VIO_BLK_T_IN)
			memcpy(op->iov[i].base, disk, op->iov[i].len);
		else
			memcpy(disk, op->iov[i].base, op->iov[i].len);
		disk += op->iov[i].len;
	}
	return VIO_BLK_S_OK;
}

static int rd_do(struct vio_sim_ramdisk *rd, const struct vio_sim_ramdisk_op *op)
{
	if (rd->fail_next != 0) {
		int st = rd->fail_next;

		rd->fail_next = 0;
		return st;
	}
	switch (op->type) {
	case VIO_BLK_T_IN:
		rd->reads++;
		return rd_rw(rd, op);
	case VIO_BLK_T_OUT:
		rd->writes++;
		return rd_rw(rd, op);
	case VIO_BLK_T_FLUSH:
		rd->flushes++;
		return VIO_BLK_S_OK;
	case VIO_BLK_T_DISCARD:
	case VIO_BLK_T_WRITE_ZEROES:
		if (op->type == VIO_BLK_T_DISCARD)
			rd->discards++;
		else
			rd->write_zeroes++;
		if (!rd_range_ok(rd, op->sector, op->nsectors))
			return VIO_BLK_S_IOERR;
		/* discarded sectors read back as zeros too: deterministic for tests */
		memset(rd->mem + op->sector * VIO_BLK_SECTOR_SIZE, 0,
		       (size_t) op->nsectors * VIO_BLK_SECTOR_SIZE);
		return VIO_BLK_S_OK;
	default:
		return VIO_BLK_S_UNSUPP;
	}
}

/* Runs an operation now, or queues it in deferred mode while there is room. */
static int rd_submit(struct vio_sim_ramdisk *rd, const struct vio_sim_ramdisk_op *op)
{
	if (rd->pending != NULL && rd->npending < rd->pending_cap) {
		rd->pending[rd->npending++] = *op;
		return VIO_BLK_PENDING;
	}
	return rd_do(rd, op);
}

int vio_sim_ramdisk_complete(struct vio_sim_ramdisk *rd, uint16_t index)
{
	struct vio_sim_ramdisk_op op;
	int st;

	if (index >= rd->npending)
		return -VIO_ENOENT;
	op = rd->pending[index];
	/* out of the list before completing: the completion may queue new operations */
	memmove(&rd->pending[index], &rd->pending[index + 1],
		(size_t) (rd->npending - index - 1) * sizeof(op));
	rd->npending--;
	st = rd_do(rd, &op);
	vio_blk_complete(op.req, st);
	return st;
}

uint16_t vio_sim_ramdisk_run(struct vio_sim_ramdisk *rd)
{
	uint16_t n = rd->npending;

	for (uint16_t i = 0; i < n; i++)
		vio_sim_ramdisk_complete(rd, 0);
	return n;
}

static int rd_read(void *ctx, uint64_t sector, const struct vio_iov *iov, uint16_t niov,
		   struct vio_blk_req *req)
{
	struct vio_sim_ramdisk_op op = {
	    .req = req, .iov = iov, .sector = sector, .niov = niov, .type = VIO_BLK_T_IN};

	return rd_submit(ctx, &op);
}

static int rd_write(void *ctx, uint64_t sector, const struct vio_iov *iov, uint16_t niov,
		    struct vio_blk_req *req)
{
	struct vio_sim_ramdisk_op op = {
	    .req = req, .iov = iov, .sector = sector, .niov = niov, .type = VIO_BLK_T_OUT};

	return rd_submit(ctx, &op);
}

static int rd_flush(void *ctx, struct vio_blk_req *req)
{
	struct vio_sim_ramdisk_op op = {.req = req, .type = VIO_BLK_T_FLUSH};

	return rd_submit(ctx, &op);
}

static int rd_discard(void *ctx, uint64_t sector, uint32_t nsectors, struct vio_blk_req *req)
{
	struct vio_sim_ramdisk_op op = {
	    .req = req, .sector = sector, .nsectors = nsectors, .type = VIO_BLK_T_DISCARD};

	return rd_submit(ctx, &op);
}

static int rd_write_zeroes(void *ctx, uint64_t sector, uint32_t nsectors, bool unmap,
			   struct vio_blk_req *req)
{
	struct vio_sim_ramdisk_op op = {.req = req,
					.sector = sector,
					.nsectors = nsectors,
					.type = VIO_BLK_T_WRITE_ZEROES,
					.unmap = unmap};

	return rd_submit(ctx, &op);
}

static void rd_set_writeback(void *ctx, bool writeback)
{
	struct vio_sim_ramdisk *rd = ctx;

	rd->writeback = writeback;
}

const struct vio_blk_ops vio_sim_ramdisk_ops = {
    .read = rd_read,
    .write = rd_write,
    .flush = rd_flush,
    .discard = rd_discard,
    .write_zeroes = rd_write_zeroes,
    .set_writeback = rd_set_writeback,
};
