/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-blk provider over a file or a block device.
 *
 * Every request becomes an operation (struct vio_host_blk_op) run by one state
 * machine, hb_step, which takes the result of the last system call and says
 * whether the request is finished or what to issue next: the rest of a short
 * transfer, a retry, a fallback the kernel asked for, the datasync of a
 * writethrough write. Two executors drive it: io_uring (submission queued in
 * the provider call, result from the completion ring in vio_host_blk_reap) and
 * plain system calls in the provider call. Both therefore handle short
 * transfers, retries and fallbacks identically.
 */
#include "vioport/linux_blk.h"

#include <stddef.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vioport/posix_loop.h"

#if VIO_HAVE_LIBURING
#include <liburing.h>
#endif

#define HB_MAX_IOV    VIO_BLK_SLOT_SEGS
#define HB_ZERO_BYTES (64u * 1024u) /* zero buffer, and the largest piece of a zero write */
#define HB_MAX_TRIES  16u	    /* -EAGAIN / -EINTR in a row before giving up */
#define HB_MAX_DEPTH  4096u
/* 1 GiB per discard / write-zeroes segment: bounded time per call */
#define HB_DWZ_SECTORS (1u << 21)
#define HB_AGAIN       (-1) /* hb_step: issue the operation again, as updated */
#define HB_PUNCH       (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)
#define HB_ZERO	       (FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE)

enum hb_kind {
	HB_READ,
	HB_WRITE,
	HB_ZERO_WRITE, /* write-zeroes by writing zeros from p->zeroes */
	HB_FSYNC,
	HB_FALLOC,
	HB_BLKDISCARD, /* an ioctl: always run in the call */
};

struct vio_host_blk_op {
	struct vio_loop_ring_op rop; /* on a lane: its entry on the loop's ring */
	struct vio_blk_req *req;
	struct vio_host_blk_op *next_free;
	struct vio_host_blk_op *next_done; /* on a lane: completed, not finished yet */
	struct vio_host_blk_lane *lane;	   /* the lane it was queued on; NULL: the disk's ring */
	uint64_t off;			   /* file offset of the next transfer */
	uint64_t left;	/* bytes still to transfer, or the fallocate / discard length */
	uint16_t first; /* remaining transfer: iov[first .. first + niov) */
	uint16_t niov;
	uint8_t kind; /* enum hb_kind */
	uint8_t type; /* VIO_BLK_T_* of the request */
	uint8_t tries;
	bool pooled;	 /* from p->ops (may complete later), not the caller's stack */
	bool buffered;	 /* through p->fd_buffered */
	bool dsync;	 /* write with RWF_DSYNC */
	bool sync_after; /* a datasync once the data part is done */
	int fmode;	 /* fallocate mode */
	struct iovec iov[HB_MAX_IOV];
};

struct vio_host_blk_ring {
#if VIO_HAVE_LIBURING
	struct io_uring ring;
	bool fixed; /* fd and fd_buffered registered as fixed files 0 and 1 */
#else
	int unused;
#endif
};

/* One queue's I/O on the ring of the loop that serves the queue's kicks. */
struct vio_host_blk_lane {
	struct vio_loop_ring_client client;
	struct vio_host_blk_op *done_head, *done_tail;
	uint32_t in_kernel; /* queued on the loop's ring, in the kernel, or done unfinished */
	uint32_t queued;    /* queued since the last submission */
	int fixed[2];	    /* fd and fd_buffered registered with the loop's ring; -1: not */
	void (*flush)(void *ctx);
	void *flush_ctx;
};

/* The lane of the loop the calling thread runs, if one is attached. */
static struct vio_host_blk_lane *hb_lane_here(struct vio_host_blk *p)
{
	struct vio_loop *loop;

	if (p->lanes == NULL)
		return NULL;
	loop = vio_loop_current();
	for (uint16_t q = 0; loop != NULL && q < p->nlanes; q++)
		if (p->lanes[q].client.loop == loop)
			return &p->lanes[q];
	return NULL;
}

/*
 * The lane for req's queue when the calling thread runs its loop: only that
 * thread may queue on that ring. A request another thread takes (a completion
 * that freed a slot let the device pop another queue's request) goes through
 * the disk's own ring.
 */
static struct vio_host_blk_lane *hb_lane_for(struct vio_host_blk *p, const struct vio_blk_req *req)
{
	struct vio_host_blk_lane *l;

	if (p->lanes == NULL || req == NULL || req->queue >= p->nlanes)
		return NULL;
	l = &p->lanes[req->queue];
	if (l->client.loop == NULL || l->client.loop != vio_loop_current())
		return NULL;
	return l;
}

/* ---- the state machine, shared by both executors ---- */

static int hb_fd(const struct vio_host_blk *p, const struct vio_host_blk_op *op)
{
	return op->buffered ? p->fd_buffered : p->fd;
}

/* Points the transfer at the zero buffer, as much of op->left as one call takes. */
static void hb_zero_iov(const struct vio_host_blk *p, struct vio_host_blk_op *op)
{
	uint64_t rem = op->left;
	uint16_t n = 0;

	while (rem > 0 && n < HB_MAX_IOV) {
		size_t k = rem < HB_ZERO_BYTES ? (size_t) rem : HB_ZERO_BYTES;

		op->iov[n].iov_base = p->zeroes;
		op->iov[n].iov_len = k;
		rem -= k;
		n++;
	}
	op->first = 0;
	op->niov = n;
}

static void hb_advance(struct vio_host_blk_op *op, uint64_t n)
{
	op->off += n;
	op->left -= n;
	if (op->kind == HB_ZERO_WRITE)
		return;
	while (n > 0 && op->niov > 0) {
		struct iovec *v = &op->iov[op->first];

		if (n >= v->iov_len) {
			n -= v->iov_len;
			op->first++;
			op->niov--;
		} else {
			v->iov_base = (uint8_t *) v->iov_base + n;
			v->iov_len -= n;
			n = 0;
		}
	}
}

/* A read that met the end of the file: the rest reads as zeros, as in a sparse image. */
static void hb_zero_rest(struct vio_host_blk_op *op)
{
	for (uint16_t i = 0; i < op->niov; i++)
		memset(op->iov[op->first + i].iov_base, 0, op->iov[op->first + i].iov_len);
	op->niov = 0;
	op->left = 0;
}

/* Turns op into writing zeros, buffered: the offset need not meet any alignment. */
static void hb_wz_by_writing(struct vio_host_blk *p, struct vio_host_blk_op *op)
{
	op->kind = HB_ZERO_WRITE;
	op->buffered = true;
	op->dsync = false;
	op->tries = 0;
	hb_zero_iov(p, op);
	p->stats.zero_writes++;
}

/*
 * Chooses how a write-zeroes is done, from what the kernel has accepted so
 * far. A block device zeroes whole logical blocks only; a range that does not
 * cover whole ones is written, and the page cache does the read-modify-write.
 */
static void hb_wz_method(struct vio_host_blk *p, struct vio_host_blk_op *op, bool unmap)
{
	bool whole = !p->is_bdev || ((op->off | op->left) & (p->logical_block - 1)) == 0;

	if (unmap && whole && !p->no_punch) {
		op->kind = HB_FALLOC;
		op->fmode = HB_PUNCH;
	} else if (whole && !p->no_zero_range) {
		op->kind = HB_FALLOC;
		op->fmode = HB_ZERO;
	} else {
		hb_wz_by_writing(p, op);
	}
}

/* The data part is done: a writethrough request still needs its datasync. */
static int hb_data_done(struct vio_host_blk *p, struct vio_host_blk_op *op)
{
	if (!op->sync_after)
		return VIO_BLK_S_OK;
	op->sync_after = false;
	op->kind = HB_FSYNC;
	op->tries = 0;
	p->stats.datasyncs++;
	return HB_AGAIN;
}

/* A failed system call: a fallback the error calls for, or IOERR. */
static int hb_fail(struct vio_host_blk *p, struct vio_host_blk_op *op, long res)
{
	switch (op->kind) {
	case HB_READ:
	case HB_WRITE:
		if (res == -EOPNOTSUPP && op->dsync) {
			p->no_rwf_dsync = true;
			op->dsync = false;
			op->sync_after = true;
			return HB_AGAIN;
		}
		if (res == -EINVAL && p->direct && !op->buffered) {
			/* the kernel's alignment rules are stricter than what we knew */
			op->buffered = true;
			p->stats.buffered++;
			return HB_AGAIN;
		}
		break;
	case HB_FALLOC:
		if (res == -EINVAL) {
			/* a range this file or device cannot take: this request only */
			if (op->type == VIO_BLK_T_DISCARD)
				return VIO_BLK_S_OK;
			hb_wz_by_writing(p, op);
			return HB_AGAIN;
		}
		if (res != -EOPNOTSUPP)
			break;
		if (op->fmode == HB_PUNCH)
			p->no_punch = true;
		else
			p->no_zero_range = true;
		if (op->type == VIO_BLK_T_DISCARD)
			return VIO_BLK_S_OK; /* a discard is a hint: doing nothing is allowed */
		hb_wz_method(p, op, false);
		op->tries = 0;
		return HB_AGAIN;
	case HB_BLKDISCARD:
		if (res == -EOPNOTSUPP) {
			p->no_discard = true;
			return VIO_BLK_S_OK;
		}
		break;
	default:
		break;
	}
	return VIO_BLK_S_IOERR;
}

/*
 * Takes the result of the operation's last system call (bytes or -errno).
 * Returns a final VIO_BLK_S_* status, or HB_AGAIN with op updated for the next
 * call. Every HB_AGAIN makes progress, counts a retry, or moves to a fallback
 * the request cannot return to, so the loop is bounded.
 */
static int hb_step(struct vio_host_blk *p, struct vio_host_blk_op *op, long res)
{
	if (res == -EINTR || res == -EAGAIN) {
		p->stats.retries++;
		return ++op->tries < HB_MAX_TRIES ? HB_AGAIN : VIO_BLK_S_IOERR;
	}
	if (res < 0)
		return hb_fail(p, op, res);
	switch (op->kind) {
	case HB_READ:
	case HB_WRITE:
	case HB_ZERO_WRITE:
		if (res == 0 && op->kind == HB_READ) {
			hb_zero_rest(op);
			return hb_data_done(p, op);
		}
		if (res == 0 || (uint64_t) res > op->left)
			return VIO_BLK_S_IOERR; /* no progress (ENOSPC-like), or nonsense */
		hb_advance(op, (uint64_t) res);
		op->tries = 0;
		if (op->left == 0)
			return hb_data_done(p, op);
		if (op->kind == HB_ZERO_WRITE)
			hb_zero_iov(p, op);
		else
			p->stats.short_io++;
		return HB_AGAIN;
	case HB_FALLOC:
	case HB_BLKDISCARD:
		return hb_data_done(p, op);
	default:
		return VIO_BLK_S_OK; /* HB_FSYNC */
	}
}

/* ---- synchronous executor ---- */

static long hb_syscall(struct vio_host_blk *p, struct vio_host_blk_op *op)
{
	int fd = hb_fd(p, op);
	long r;

	switch (op->kind) {
	case HB_READ:
		r = preadv(fd, &op->iov[op->first], op->niov, (off_t) op->off);
		break;
	case HB_WRITE:
	case HB_ZERO_WRITE:
		r = pwritev2(fd, &op->iov[op->first], op->niov, (off_t) op->off,
			     op->dsync ? RWF_DSYNC : 0);
		break;
	case HB_FSYNC:
		r = fdatasync(fd);
		break;
	case HB_FALLOC:
		r = fallocate(fd, op->fmode, (off_t) op->off, (off_t) op->left);
		break;
	default: {
		uint64_t range[2] = {op->off, op->left};

		r = ioctl(fd, BLKDISCARD, range);
		break;
	}
	}
	return r < 0 ? -errno : r;
}

/* Runs op to the end in the calling thread. */
static int hb_run(struct vio_host_blk *p, struct vio_host_blk_op *op)
{
	for (;;) {
		int st = hb_step(p, op, hb_syscall(p, op));

		if (st != HB_AGAIN)
			return st;
	}
}

/* ---- asynchronous executor ---- */

#if VIO_HAVE_LIBURING
/* fixed: the registered indexes of fd and fd_buffered, or NULL to use the descriptors */
static void hb_prep(struct vio_host_blk *p, struct vio_host_blk_op *op, struct io_uring_sqe *sqe,
		    const int *fixed)
{
	int fd = fixed != NULL ? fixed[op->buffered ? 1 : 0] : hb_fd(p, op);
	const struct iovec *v = &op->iov[op->first];

	/* one segment (most 4 KiB requests): a plain read or write, no iovec to import */
	switch (op->kind) {
	case HB_READ:
		if (op->niov == 1)
			io_uring_prep_read(sqe, fd, v->iov_base, (unsigned) v->iov_len, op->off);
		else
			io_uring_prep_readv(sqe, fd, v, op->niov, op->off);
		break;
	case HB_WRITE:
	case HB_ZERO_WRITE:
		if (op->niov == 1)
			io_uring_prep_write(sqe, fd, v->iov_base, (unsigned) v->iov_len, op->off);
		else
			io_uring_prep_writev(sqe, fd, v, op->niov, op->off);
		sqe->rw_flags = op->dsync ? RWF_DSYNC : 0;
		break;
	case HB_FSYNC:
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		break;
	default: /* HB_FALLOC */
		io_uring_prep_fallocate(sqe, fd, op->fmode, (off_t) op->off, (off_t) op->left);
		break;
	}
	if (fixed != NULL)
		sqe->flags |= IOSQE_FIXED_FILE;
}

static int hb_submit(struct vio_host_blk *p)
{
	int rc;

	if (p->unsubmitted == 0)
		return 0;
	/*
	 * What completes inside the call (a read the page cache holds) signals
	 * nobody: the caller takes it right after (vio_host_blk_poll), and a
	 * signal would only wake the loop that watches the event fd for nothing,
	 * another thread's with queue threads. A kernel before 5.8 cannot be told.
	 */
	(void) io_uring_cq_eventfd_toggle(&p->ring->ring, false);
	rc = io_uring_submit(&p->ring->ring);
	(void) io_uring_cq_eventfd_toggle(&p->ring->ring, true);
	if (rc < 0)
		return rc;
	if ((uint32_t) rc > p->unsubmitted)
		rc = (int) p->unsubmitted;
	p->unsubmitted -= (uint32_t) rc;
	if (rc > 0) {
		p->stats.submit_calls++;
		p->stats.submitted += (uint64_t) rc;
	}
	return rc;
}

/*
 * Queues op's next system call, on its queue's lane when this thread runs the
 * lane's loop, else on the disk's ring; -EBUSY when the ring is full even
 * after a submit.
 */
static int hb_queue(struct vio_host_blk *p, struct vio_host_blk_op *op)
{
	struct vio_host_blk_lane *l = hb_lane_for(p, op->req);
	struct io_uring_sqe *sqe;

	if (l != NULL) {
		sqe = vio_loop_ring_sqe(&l->client, &op->rop);
		if (sqe != NULL) {
			hb_prep(p, op, sqe, l->fixed[0] >= 0 ? l->fixed : NULL);
			io_uring_sqe_set_data(sqe, &op->rop); /* a prep helper may clear it */
			op->lane = l;
			l->in_kernel++;
			l->queued++;
			return 0;
		}
	}
	sqe = io_uring_get_sqe(&p->ring->ring);
	if (sqe == NULL) {
		hb_submit(p);
		sqe = io_uring_get_sqe(&p->ring->ring);
		if (sqe == NULL)
			return -EBUSY;
	}
	static const int own_fixed[2] = {0, 1};

	hb_prep(p, op, sqe, p->ring->fixed ? own_fixed : NULL);
	io_uring_sqe_set_data(sqe, op);
	op->lane = NULL;
	p->unsubmitted++;
	p->in_kernel++;
	return 0;
}
#else
static int hb_submit(struct vio_host_blk *p)
{
	(void) p;
	return 0;
}

static int hb_queue(struct vio_host_blk *p, struct vio_host_blk_op *op)
{
	(void) p;
	(void) op;
	return -ENOSYS;
}
#endif

static int hb_final(struct vio_host_blk *p, int st)
{
	if (st != VIO_BLK_S_OK)
		p->stats.errors++;
	return st;
}

static void hb_op_put(struct vio_host_blk *p, struct vio_host_blk_op *op)
{
	op->req = NULL;
	op->next_free = p->free_ops;
	p->free_ops = op;
	p->ops_busy--;
}

/* An operation from the pool when the ring can take it later, else the caller's local one. */
static struct vio_host_blk_op *hb_op_get(struct vio_host_blk *p, struct vio_host_blk_op *local)
{
	struct vio_host_blk_op *op = local;

	if (p->async && p->free_ops != NULL) {
		op = p->free_ops;
		p->free_ops = op->next_free;
		p->ops_busy++;
	}
	op->req = NULL;
	op->next_free = NULL;
	op->off = 0;
	op->left = 0;
	op->first = 0;
	op->niov = 0;
	op->kind = HB_FSYNC;
	op->type = VIO_BLK_T_FLUSH;
	op->tries = 0;
	op->pooled = op != local;
	op->buffered = false;
	op->dsync = false;
	op->sync_after = false;
	op->fmode = 0;
	return op;
}

/* Starts a prepared operation: queued on the ring (PENDING), or run now. */
static int hb_start(struct vio_host_blk *p, struct vio_host_blk_op *op, struct vio_blk_req *req)
{
	int st;

	op->req = req;
	if (!op->pooled) {
		if (p->async)
			p->stats.sync_ops++; /* every ring slot is taken */
		return hb_final(p, hb_run(p, op));
	}
	if (op->kind != HB_BLKDISCARD && hb_queue(p, op) == 0)
		return VIO_BLK_PENDING;
	p->stats.sync_ops++;
	st = hb_run(p, op);
	hb_op_put(p, op);
	return hb_final(p, st);
}

#if VIO_HAVE_LIBURING
/* One completion from the ring; returns 1 when it finished a request. */
static unsigned hb_cqe(struct vio_host_blk *p, struct vio_host_blk_op *op, long res)
{
	struct vio_blk_req *req;
	int st = hb_step(p, op, res);

	if (st == HB_AGAIN) {
		if (hb_queue(p, op) == 0)
			return 0;
		p->stats.sync_ops++;
		st = hb_run(p, op);
	}
	req = op->req;
	/* back in the pool first: the completion may hand the device's next request to us */
	hb_op_put(p, op);
	vio_blk_complete(req, hb_final(p, st));
	return 1;
}
#endif

/* ---- provider operations ---- */

static bool hb_range_ok(const struct vio_host_blk *p, uint64_t sector, uint64_t nsectors)
{
	uint64_t sectors = p->size / VIO_BLK_SECTOR_SIZE;

	return sector <= sectors && nsectors <= sectors - sector;
}

/* Whether O_DIRECT takes this transfer as it is. */
static bool hb_dio_ok(const struct vio_host_blk *p, const struct vio_host_blk_op *op)
{
	uint64_t mem = p->dio_mem_align - 1, blk = p->dio_off_align - 1;

	if (op->off & blk)
		return false;
	for (uint16_t i = 0; i < op->niov; i++)
		if (((uintptr_t) op->iov[i].iov_base & mem) || (op->iov[i].iov_len & blk))
			return false;
	return true;
}

static int hb_rw(struct vio_host_blk *p, bool write, uint64_t sector, const struct vio_iov *iov,
		 uint16_t niov, struct vio_blk_req *req)
{
	struct vio_host_blk_op local, *op;
	uint64_t total = 0;

	if ((write && p->read_only) || niov > HB_MAX_IOV || (niov > 0 && iov == NULL))
		return hb_final(p, VIO_BLK_S_IOERR);
	for (uint16_t i = 0; i < niov; i++)
		total += iov[i].len;
	if (total % VIO_BLK_SECTOR_SIZE != 0 ||
	    !hb_range_ok(p, sector, total / VIO_BLK_SECTOR_SIZE))
		return hb_final(p, VIO_BLK_S_IOERR);
	if (total == 0)
		return VIO_BLK_S_OK;
	op = hb_op_get(p, &local);
	op->kind = write ? HB_WRITE : HB_READ;
	op->type = write ? VIO_BLK_T_OUT : VIO_BLK_T_IN;
	op->off = sector * VIO_BLK_SECTOR_SIZE;
	op->left = total;
	op->niov = niov;
	for (uint16_t i = 0; i < niov; i++) {
		op->iov[i].iov_base = iov[i].base;
		op->iov[i].iov_len = iov[i].len;
	}
	if (p->direct && !hb_dio_ok(p, op)) {
		op->buffered = true;
		p->stats.buffered++;
	}
	if (write && !p->writeback) {
		if (p->no_rwf_dsync) {
			op->sync_after = true;
		} else {
			op->dsync = true;
			p->stats.dsync_writes++;
		}
	}
	if (write)
		p->stats.writes++;
	else
		p->stats.reads++;
	return hb_start(p, op, req);
}

static int hb_read(void *ctx, uint64_t sector, const struct vio_iov *iov, uint16_t niov,
		   struct vio_blk_req *req)
{
	return hb_rw(ctx, false, sector, iov, niov, req);
}

static int hb_write(void *ctx, uint64_t sector, const struct vio_iov *iov, uint16_t niov,
		    struct vio_blk_req *req)
{
	return hb_rw(ctx, true, sector, iov, niov, req);
}

static int hb_flush(void *ctx, struct vio_blk_req *req)
{
	struct vio_host_blk *p = ctx;
	struct vio_host_blk_op local, *op = hb_op_get(p, &local);

	p->stats.flushes++;
	p->stats.datasyncs++;
	op->kind = HB_FSYNC;
	return hb_start(p, op, req);
}

static int hb_discard(void *ctx, uint64_t sector, uint32_t nsectors, struct vio_blk_req *req)
{
	struct vio_host_blk *p = ctx;
	struct vio_host_blk_op local, *op;
	uint64_t start = sector * VIO_BLK_SECTOR_SIZE;
	uint64_t end = start + (uint64_t) nsectors * VIO_BLK_SECTOR_SIZE;

	if (p->read_only || !hb_range_ok(p, sector, nsectors))
		return hb_final(p, VIO_BLK_S_IOERR);
	p->stats.discards++;
	if (p->is_bdev) {
		/* BLKDISCARD wants whole logical blocks; the partial ends are simply kept */
		uint64_t lb = p->logical_block;

		start = (start + lb - 1) / lb * lb;
		end = end / lb * lb;
		if (p->no_discard || end <= start)
			return VIO_BLK_S_OK;
	} else if (p->no_punch || nsectors == 0) {
		return VIO_BLK_S_OK;
	}
	op = hb_op_get(p, &local);
	op->type = VIO_BLK_T_DISCARD;
	op->kind = p->is_bdev ? HB_BLKDISCARD : HB_FALLOC;
	op->fmode = HB_PUNCH;
	op->off = start;
	op->left = end - start;
	return hb_start(p, op, req);
}

static int hb_write_zeroes(void *ctx, uint64_t sector, uint32_t nsectors, bool unmap,
			   struct vio_blk_req *req)
{
	struct vio_host_blk *p = ctx;
	struct vio_host_blk_op local, *op;

	if (p->read_only || !hb_range_ok(p, sector, nsectors))
		return hb_final(p, VIO_BLK_S_IOERR);
	p->stats.write_zeroes++;
	if (nsectors == 0)
		return VIO_BLK_S_OK;
	op = hb_op_get(p, &local);
	op->type = VIO_BLK_T_WRITE_ZEROES;
	op->off = sector * VIO_BLK_SECTOR_SIZE;
	op->left = (uint64_t) nsectors * VIO_BLK_SECTOR_SIZE;
	/* fallocate takes no RWF_DSYNC: writethrough syncs afterwards */
	op->sync_after = !p->writeback;
	hb_wz_method(p, op, unmap);
	return hb_start(p, op, req);
}

static void hb_set_writeback(void *ctx, bool writeback)
{
	struct vio_host_blk *p = ctx;

	p->writeback = writeback;
}

/* The device took a batch: submit it, and complete what finished inside the submission. */
static void hb_submit_op(void *ctx)
{
	struct vio_host_blk *p = ctx;

	vio_host_blk_submit(p);
	/* also what an earlier submission of the run (a full ring) finished, unsignalled */
	vio_host_blk_poll(p);
}

const struct vio_blk_ops vio_host_blk_ops = {
    .read = hb_read,
    .write = hb_write,
    .flush = hb_flush,
    .discard = hb_discard,
    .write_zeroes = hb_write_zeroes,
    .set_writeback = hb_set_writeback,
    .submit = hb_submit_op,
};

/* ---- submission and completion ---- */

bool vio_host_blk_async(const struct vio_host_blk *p)
{
	return p->async;
}

int vio_host_blk_event_fd(const struct vio_host_blk *p)
{
	return p->event_fd;
}

unsigned vio_host_blk_inflight(const struct vio_host_blk *p)
{
	return p->ops_busy;
}

#if VIO_HAVE_LIBURING
/* Sends what this thread's lane queued, with whatever else its loop's ring holds. */
static int hb_lane_submit(struct vio_host_blk *p, struct vio_host_blk_lane *l)
{
	int rc;

	if (l == NULL || l->queued == 0)
		return 0;
	rc = vio_loop_ring_submit(l->client.loop);
	if (rc < 0)
		return rc;
	p->stats.submit_calls++;
	p->stats.submitted += l->queued;
	rc = (int) l->queued;
	l->queued = 0;
	return rc;
}

/* Finishes the lane's completed operations; returns the requests completed. */
static unsigned hb_lane_finish(struct vio_host_blk *p, struct vio_host_blk_lane *l)
{
	unsigned done = 0;

	while (l->done_head != NULL) {
		struct vio_host_blk_op *op = l->done_head;

		l->done_head = op->next_done;
		if (l->done_head == NULL)
			l->done_tail = NULL;
		op->next_done = NULL;
		l->in_kernel--;
		done += hb_cqe(p, op, op->rop.res);
	}
	return done;
}

/* The loop took one of the lane's completions: it waits on the lane for hb_lane_finish. */
static void hb_lane_complete(struct vio_loop_ring_client *c, struct vio_loop_ring_op *rop)
{
	struct vio_host_blk_lane *l = c->ctx;
	struct vio_host_blk_op *op =
	    (struct vio_host_blk_op *) ((char *) rop - offsetof(struct vio_host_blk_op, rop));

	op->next_done = NULL;
	if (l->done_tail != NULL)
		l->done_tail->next_done = op;
	else
		l->done_head = op;
	l->done_tail = op;
}

static void hb_lane_flush(struct vio_loop_ring_client *c)
{
	struct vio_host_blk_lane *l = c->ctx;

	l->flush(l->flush_ctx);
}
#endif

int vio_host_blk_submit(struct vio_host_blk *p)
{
	int rc, lrc = 0;

	if (!p->async)
		return 0;
	rc = hb_submit(p);
#if VIO_HAVE_LIBURING
	lrc = hb_lane_submit(p, hb_lane_here(p));
#endif
	if (rc < 0)
		return rc;
	return lrc < 0 ? lrc : rc + lrc;
}

int vio_host_blk_attach_loop(struct vio_host_blk *p, uint16_t q, struct vio_loop *loop,
			     void (*flush)(void *ctx), void *ctx)
{
#if VIO_HAVE_LIBURING
	struct vio_host_blk_lane *l;
	int rc;

	if (!p->async)
		return -ENOSYS;
	if (q >= VIO_HOST_BLK_MAX_LANES || loop == NULL || flush == NULL)
		return -EINVAL;
	if (!vio_loop_has_ring(loop))
		return -ENOSYS;
	if (p->lanes == NULL) {
		p->lanes = calloc(VIO_HOST_BLK_MAX_LANES, sizeof(*p->lanes));
		if (p->lanes == NULL)
			return -ENOMEM;
	}
	l = &p->lanes[q];
	if (l->client.loop != NULL)
		return -EBUSY;
	memset(l, 0, sizeof(*l));
	l->flush = flush;
	l->flush_ctx = ctx;
	rc = vio_loop_ring_client_add(loop, &l->client, hb_lane_complete, hb_lane_flush, l);
	if (rc < 0)
		return rc;
	if (q >= p->nlanes)
		p->nlanes = (uint16_t) (q + 1);
	/* both descriptors registered, or neither: an operation may use either */
	l->fixed[0] = vio_loop_ring_file(loop, p->fd);
	l->fixed[1] = l->fixed[0] < 0 ? -1 : vio_loop_ring_file(loop, p->fd_buffered);
	if (l->fixed[1] < 0) {
		if (l->fixed[0] >= 0)
			vio_loop_ring_file_release(loop, l->fixed[0]);
		l->fixed[0] = -1;
	}
	return 0;
#else
	(void) p;
	(void) q;
	(void) loop;
	(void) flush;
	(void) ctx;
	return -ENOSYS;
#endif
}

void vio_host_blk_detach_loop(struct vio_host_blk *p, const struct vio_loop *loop)
{
	for (uint16_t q = 0; p->lanes != NULL && q < p->nlanes; q++) {
		struct vio_host_blk_lane *l = &p->lanes[q];

		if (l->client.loop != loop || l->in_kernel != 0)
			continue;
		if (l->fixed[0] >= 0) {
			vio_loop_ring_file_release(l->client.loop, l->fixed[0]);
			vio_loop_ring_file_release(l->client.loop, l->fixed[1]);
			l->fixed[0] = l->fixed[1] = -1;
		}
		vio_loop_ring_client_remove(&l->client);
	}
}

unsigned vio_host_blk_elsewhere(const struct vio_host_blk *p)
{
	const struct vio_loop *here = vio_loop_current();
	unsigned n = 0;

	for (uint16_t q = 0; p->lanes != NULL && q < p->nlanes; q++)
		if (p->lanes[q].client.loop != NULL && p->lanes[q].client.loop != here)
			n += p->lanes[q].in_kernel;
	return n;
}

#if VIO_HAVE_LIBURING
/* Completes what the completion ring holds, then submits what the completions queued, and again. */
static unsigned hb_reap_ring(struct vio_host_blk *p)
{
	struct io_uring_cqe *cqe;
	unsigned done = 0;

	do {
		while (io_uring_peek_cqe(&p->ring->ring, &cqe) == 0) {
			struct vio_host_blk_op *op = io_uring_cqe_get_data(cqe);
			long res = cqe->res;

			io_uring_cqe_seen(&p->ring->ring, cqe);
			p->in_kernel--;
			if (op != NULL)
				done += hb_cqe(p, op, res);
		}
		/* what finished inside this submission signalled nobody: take it too */
	} while (hb_submit(p) > 0 && io_uring_cq_ready(&p->ring->ring) > 0);
	return done;
}
#endif

unsigned vio_host_blk_reap(struct vio_host_blk *p)
{
#if VIO_HAVE_LIBURING
	uint64_t v;

	if (!p->async)
		return 0;
	/* clear the counter before looking: a completion after the look signals again */
	if (read(p->event_fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing signalled, there may still be completions to take */
	}
	return hb_reap_ring(p);
#else
	(void) p;
	return 0;
#endif
}

bool vio_host_blk_ready(const struct vio_host_blk *p)
{
#if VIO_HAVE_LIBURING
	return p->async && io_uring_cq_ready(&p->ring->ring) > 0;
#else
	(void) p;
	return false;
#endif
}

unsigned vio_host_blk_poll(struct vio_host_blk *p)
{
#if VIO_HAVE_LIBURING
	struct vio_host_blk_lane *l = hb_lane_here(p);
	unsigned done = 0;

	if (vio_host_blk_ready(p))
		done = hb_reap_ring(p);
	if (l != NULL) {
		if (l->in_kernel > 0)
			vio_loop_ring_reap(l->client.loop);
		done += hb_lane_finish(p, l);
		hb_lane_submit(p, l); /* what the completions queued again */
	}
	return done;
#else
	(void) p;
	return 0;
#endif
}

void vio_host_blk_drain(struct vio_host_blk *p)
{
#if VIO_HAVE_LIBURING
	struct vio_host_blk_lane *l = hb_lane_here(p);
	bool more = true;

	while (p->async && more) {
		more = false;
		while (p->in_kernel > 0) {
			struct io_uring_cqe *cqe;
			int rc;

			hb_submit(p);
			if (p->in_kernel == p->unsubmitted)
				break; /* nothing the kernel holds, and it would not take the rest
					*/
			rc = io_uring_wait_cqe(&p->ring->ring, &cqe);
			if (rc < 0 && rc != -EINTR && rc != -EAGAIN)
				break;
			vio_host_blk_reap(p);
		}
		/* this thread's lane: its completions arrive on the loop's ring */
		while (l != NULL && l->in_kernel > 0) {
			hb_lane_submit(p, l);
			vio_loop_ring_wait(l->client.loop, 100);
			hb_lane_finish(p, l);
			/* a completion may have queued on the disk's ring (a full loop ring) */
			more = p->in_kernel > p->unsubmitted;
		}
	}
#else
	(void) p;
#endif
}

/* ---- opening ---- */

static uint32_t hb_pow2_or(uint64_t v, uint32_t dflt)
{
	if (v < VIO_BLK_SECTOR_SIZE || v > 65536 || (v & (v - 1)) != 0)
		return dflt;
	return (uint32_t) v;
}

/* Reads a number from the block device's queue attributes (partitions use their disk's). */
static bool hb_sysfs_u64(uint64_t dev, const char *attr, uint64_t *out)
{
	static const char *const fmt[] = {"/sys/dev/block/%u:%u/queue/%s",
					  "/sys/dev/block/%u:%u/../queue/%s"};

	for (unsigned i = 0; i < 2; i++) {
		char path[128];
		unsigned long long v;
		FILE *f;
		int n;

		snprintf(path, sizeof(path), fmt[i], major((dev_t) dev), minor((dev_t) dev), attr);
		f = fopen(path, "re");
		if (f == NULL)
			continue;
		n = fscanf(f, "%llu", &v);
		fclose(f);
		if (n == 1) {
			*out = v;
			return true;
		}
	}
	return false;
}

static int hb_size(struct vio_host_blk *p, uint64_t *size)
{
	struct stat st;

	if (p->is_bdev) {
		uint64_t s;

		if (ioctl(p->fd_buffered, BLKGETSIZE64, &s) < 0)
			return -errno;
		*size = s;
		return 0;
	}
	if (fstat(p->fd_buffered, &st) < 0)
		return -errno;
	*size = (uint64_t) st.st_size;
	return 0;
}

/* Sizes, block sizes and direct-I/O alignment of the opened image. */
static int hb_geometry(struct vio_host_blk *p, const struct stat *st,
		       const struct vio_host_blk_options *o)
{
	int rc = hb_size(p, &p->size);

	if (rc < 0)
		return rc;
	p->logical_block = VIO_BLK_SECTOR_SIZE;
	p->physical_block = hb_pow2_or((uint64_t) st->st_blksize, VIO_BLK_SECTOR_SIZE);
	p->discard_align = p->physical_block;
	if (p->is_bdev) {
		int lbs = 0;
		unsigned int pbs = 0;
		uint64_t v;

		if (ioctl(p->fd_buffered, BLKSSZGET, &lbs) == 0)
			p->logical_block = hb_pow2_or((uint64_t) lbs, VIO_BLK_SECTOR_SIZE);
		p->physical_block = p->logical_block;
		if (ioctl(p->fd_buffered, BLKPBSZGET, &pbs) == 0)
			p->physical_block = hb_pow2_or(pbs, p->logical_block);
		p->discard_align = p->physical_block;
		if (hb_sysfs_u64(p->dev, "discard_max_bytes", &v) && v == 0)
			p->no_discard = true;
		if (hb_sysfs_u64(p->dev, "discard_granularity", &v))
			p->discard_align = hb_pow2_or(v, p->discard_align);
	}
	/* without better knowledge, the conservative rule: everything on logical blocks */
	p->dio_mem_align = p->logical_block;
	p->dio_off_align = p->logical_block;
#ifdef STATX_DIOALIGN
	if (p->direct) {
		struct statx sx;

		if (statx(p->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
		    (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align != 0) {
			p->dio_mem_align = sx.stx_dio_mem_align;
			p->dio_off_align = sx.stx_dio_offset_align;
		}
	}
#endif
	if (p->dio_mem_align == 0 || (p->dio_mem_align & (p->dio_mem_align - 1)) != 0)
		p->dio_mem_align = p->logical_block;
	if (p->dio_off_align < VIO_BLK_SECTOR_SIZE ||
	    (p->dio_off_align & (p->dio_off_align - 1)) != 0)
		p->dio_off_align = p->logical_block;
	if (p->physical_block < p->logical_block)
		p->physical_block = p->logical_block;
	if (o->blk_size != 0)
		p->blk_size = o->blk_size;
	else if (p->direct && p->dio_off_align > p->logical_block)
		p->blk_size = hb_pow2_or(p->dio_off_align, p->logical_block);
	else
		p->blk_size = p->logical_block;
	return 0;
}

/* Opens path and checks what it is; the descriptor comes back without O_NONBLOCK. */
static int hb_open_checked(const char *path, int flags, struct stat *st)
{
	/* O_NONBLOCK: opening a FIFO must not wait for a writer before we can refuse it */
	int fd = open(path, flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	int fl;

	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	if (S_ISDIR(st->st_mode) || (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode))) {
		close(fd);
		return S_ISDIR(st->st_mode) ? -EISDIR : -ENOTBLK;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static void hb_free_async(struct vio_host_blk *p)
{
	/* lanes are dropped with their loops: a loop that is gone cannot be told */
	free(p->lanes);
	p->lanes = NULL;
	p->nlanes = 0;
	free(p->ring);
	free(p->ops);
	p->ring = NULL;
	p->ops = NULL;
	p->free_ops = NULL;
	p->async = false;
}

/* Sets up the ring; on failure the instance stays synchronous and says why. */
static void hb_setup_async(struct vio_host_blk *p, const struct vio_host_blk_options *o)
{
#if VIO_HAVE_LIBURING
	uint32_t depth = 1;
	uint32_t want = o->queue_depth != 0 ? o->queue_depth : VIO_HOST_BLK_DEFAULT_DEPTH;
	int fds[2] = {p->fd, p->fd_buffered};
	int rc;

	while (depth < want && depth < HB_MAX_DEPTH)
		depth <<= 1;
	p->ring = calloc(1, sizeof(*p->ring));
	p->ops = calloc(depth, sizeof(*p->ops));
	if (p->ring == NULL || p->ops == NULL) {
		p->async_err = -ENOMEM;
		hb_free_async(p);
		return;
	}
	rc = io_uring_queue_init(depth, &p->ring->ring, 0);
	if (rc < 0) {
		p->async_err = rc;
		hb_free_async(p);
		return;
	}
	rc = io_uring_register_eventfd(&p->ring->ring, p->event_fd);
	if (rc < 0) {
		p->async_err = rc;
		io_uring_queue_exit(&p->ring->ring);
		hb_free_async(p);
		return;
	}
	/* fixed files save a file lookup per request; not having them costs only that */
	p->ring->fixed = io_uring_register_files(&p->ring->ring, fds, 2) == 0;
	p->depth = depth;
	for (uint32_t i = depth; i-- > 0;) {
		p->ops[i].next_free = p->free_ops;
		p->free_ops = &p->ops[i];
	}
	p->async = true;
#else
	(void) o;
	p->async_err = -ENOSYS;
#endif
}

static void hb_close_fds(struct vio_host_blk *p)
{
	if (p->fd_buffered >= 0 && p->fd_buffered != p->fd)
		close(p->fd_buffered);
	if (p->fd >= 0)
		close(p->fd);
	if (p->event_fd >= 0)
		close(p->event_fd);
	free(p->zeroes);
	p->fd = p->fd_buffered = p->event_fd = -1;
	p->zeroes = NULL;
}

int vio_host_blk_open(struct vio_host_blk *p, const char *path,
		      const struct vio_host_blk_options *o)
{
	static const struct vio_host_blk_options defaults;
	int acc, rc;
	struct stat st, st2;

	if (p == NULL || path == NULL)
		return -EINVAL;
	if (o == NULL)
		o = &defaults;
	memset(p, 0, sizeof(*p));
	p->fd = p->fd_buffered = p->event_fd = -1;
	if (o->blk_size != 0 && hb_pow2_or(o->blk_size, 0) == 0)
		return -EINVAL;
	acc = o->read_only ? O_RDONLY : O_RDWR;
	rc = hb_open_checked(path, acc, &st);
	if (rc < 0)
		return rc;
	p->fd_buffered = p->fd = rc;
	p->read_only = o->read_only;
	p->is_bdev = S_ISBLK(st.st_mode);
	p->dev = p->is_bdev ? (uint64_t) st.st_rdev : (uint64_t) st.st_dev;
	p->ino = (uint64_t) st.st_ino;
	if (o->direct) {
		rc = hb_open_checked(path, acc | O_DIRECT, &st2);
		if (rc >= 0 && (st2.st_dev != st.st_dev || st2.st_ino != st.st_ino)) {
			close(rc);
			rc = -EBUSY; /* the path now names something else */
		}
		if (rc < 0)
			goto fail;
		p->fd = rc;
		p->direct = true;
	}
	rc = hb_geometry(p, &st, o);
	if (rc < 0)
		goto fail;
	p->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->event_fd < 0) {
		rc = -errno;
		goto fail;
	}
	if (posix_memalign(&p->zeroes, 4096, HB_ZERO_BYTES) != 0) {
		p->zeroes = NULL;
		rc = -ENOMEM;
		goto fail;
	}
	memset(p->zeroes, 0, HB_ZERO_BYTES);
	p->writeback = false; /* safe until the device says; it does when the driver starts it */
	if (!o->sync)
		hb_setup_async(p, o);
	return 0;
fail:
	hb_close_fds(p);
	return rc;
}

void vio_host_blk_close(struct vio_host_blk *p)
{
	if (p == NULL)
		return;
#if VIO_HAVE_LIBURING
	if (p->async) {
		struct io_uring_cqe *cqe;

		/*
		 * Unsubmitted entries never reach the kernel; the others may still
		 * move data into driver buffers, so wait for every one of them.
		 */
		while (p->in_kernel > p->unsubmitted) {
			int rc = io_uring_wait_cqe(&p->ring->ring, &cqe);

			if (rc == -EINTR || rc == -EAGAIN)
				continue;
			if (rc < 0)
				break;
			io_uring_cqe_seen(&p->ring->ring, cqe);
			p->in_kernel--;
		}
		io_uring_queue_exit(&p->ring->ring);
	}
#endif
	hb_free_async(p);
	hb_close_fds(p);
}

/* ---- what the device offers ---- */

void vio_host_blk_params(const struct vio_host_blk *p, struct vio_blk_params *bp)
{
	uint32_t ratio = p->physical_block > p->blk_size ? p->physical_block / p->blk_size : 1;
	uint8_t exp = 0;

	while ((1u << exp) < ratio)
		exp++;
	bp->capacity = p->size / VIO_BLK_SECTOR_SIZE;
	bp->features |= VIO_BIT(VIO_BLK_F_SEG_MAX) | VIO_BIT(VIO_BLK_F_BLK_SIZE) |
			VIO_BIT(VIO_BLK_F_TOPOLOGY) | VIO_BIT(VIO_BLK_F_FLUSH);
	bp->seg_max = VIO_BLK_SLOT_SEGS - 2;
	bp->blk_size = p->blk_size;
	bp->physical_block_exp = exp;
	bp->alignment_offset = 0;
	bp->min_io_size = (uint16_t) ratio;
	bp->opt_io_size = 0;
	bp->writeback = true;
	if (p->read_only) {
		bp->features |= VIO_BIT(VIO_BLK_F_RO);
		bp->features &= ~(VIO_BIT(VIO_BLK_F_CONFIG_WCE) | VIO_BIT(VIO_BLK_F_DISCARD) |
				  VIO_BIT(VIO_BLK_F_WRITE_ZEROES));
		return;
	}
	bp->features |= VIO_BIT(VIO_BLK_F_CONFIG_WCE) | VIO_BIT(VIO_BLK_F_WRITE_ZEROES);
	bp->max_write_zeroes_sectors = HB_DWZ_SECTORS;
	bp->max_write_zeroes_seg = VIO_HOST_BLK_DWZ_SEG;
	bp->write_zeroes_may_unmap = true;
	if (p->is_bdev && p->no_discard) {
		bp->features &= ~VIO_BIT(VIO_BLK_F_DISCARD);
		return;
	}
	bp->features |= VIO_BIT(VIO_BLK_F_DISCARD);
	bp->max_discard_sectors = HB_DWZ_SECTORS;
	bp->max_discard_seg = VIO_HOST_BLK_DWZ_SEG;
	bp->discard_sector_alignment = p->discard_align / VIO_BLK_SECTOR_SIZE;
}

void vio_host_blk_default_serial(const struct vio_host_blk *p, char serial[VIO_BLK_ID_BYTES])
{
	char s[VIO_BLK_ID_BYTES + 1];
	uint32_t dev = (uint32_t) (p->dev ^ (p->dev >> 32));

	snprintf(s, sizeof(s), "VP%08X%010llX", dev,
		 (unsigned long long) (p->ino & 0xffffffffffull));
	memcpy(serial, s, VIO_BLK_ID_BYTES);
}

int64_t vio_host_blk_update_size(struct vio_host_blk *p)
{
	uint64_t size;
	int rc = hb_size(p, &size);

	if (rc < 0)
		return rc;
	p->size = size;
	return (int64_t) (size / VIO_BLK_SECTOR_SIZE);
}
