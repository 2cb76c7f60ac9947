/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Linux virtio-blk provider over a regular file or a block device (POSIX
 * layer, not freestanding).
 *
 * Operations map to the kernel directly: IN and OUT to readv / writev at
 * sector * 512 on the driver's own buffers, FLUSH to fdatasync, DISCARD to a
 * punched hole (BLKDISCARD on a block device), WRITE_ZEROES to
 * fallocate(ZERO_RANGE) or a punched hole when the driver allows unmapping,
 * falling back to writing zeros when the filesystem refuses. In writethrough
 * mode a write is durable (RWF_DSYNC, or a datasync after it) before it
 * completes.
 *
 * Two ways of running:
 *
 * - asynchronous (io_uring, the default when the build found liburing and the
 *   kernel lets the process set up a ring): an operation queues a submission
 *   and answers VIO_BLK_PENDING. The caller submits once per batch with
 *   vio_host_blk_submit, calls vio_host_blk_poll for what finished inside
 *   the submission, then waits for vio_host_blk_event_fd to become readable
 *   and calls vio_host_blk_reap, which completes finished requests with
 *   vio_blk_complete. A short transfer, -EAGAIN or -EINTR is resubmitted for
 *   the rest; requests complete in whatever order the kernel finishes them.
 * - synchronous (no liburing, io_uring refused, or options->sync): every
 *   operation runs in the call and returns its status; the event fd never
 *   becomes readable and submit / reap have nothing to do.
 *
 * Threading: none inside. Calls for one instance, and the calls of the device
 * it serves, must not overlap: one thread, or callers serialised by a lock
 * (the ring is not tied to the thread that created it). One instance has one
 * ring and serves all the queues of one device; separate devices, or threads
 * that run in parallel, use separate instances (the same image may be opened
 * more than once).
 *
 * Calling contract in asynchronous mode, per event-loop round:
 *   1. the transport kicks the device (vio_device_kick): the device calls the
 *      provider, which only queues submissions;
 *   2. the caller calls vio_host_blk_submit once: one io_uring_enter for the
 *      whole batch, then vio_host_blk_poll: what finishes inside a
 *      submission (a read the page cache holds) does not signal the event fd
 *      (kernels from 5.8 on), so it is taken here; this includes submissions
 *      that went out by themselves when the ring filled;
 *   3. when vio_host_blk_event_fd is readable the caller calls
 *      vio_host_blk_reap: it clears the event fd, completes every finished
 *      request, and submits what the completions queued (resubmissions, or new
 *      requests the device took as slots freed).
 * vio_host_blk_poll may replace step 3 whenever the caller likes, while it
 * polls for example. The device may also submit in the middle of a long run
 * (struct vio_blk_ops submit, every submit_batch requests): that hook
 * submits and polls itself.
 * Submissions also go out by themselves when the submission ring fills.
 *
 * O_DIRECT (options->direct): a request whose offset, length or any buffer
 * segment does not meet the file's direct-I/O alignment, or that the kernel
 * refuses with -EINVAL, goes through a second descriptor on the same file
 * opened without O_DIRECT. A bounce buffer would not do: on a 4 KiB-sector
 * device a 512-byte aligned request needs a read-modify-write, which the page
 * cache does for us. The kernel keeps the two paths coherent (a direct write
 * drops cached pages of its range, a direct read writes dirty ones back
 * first) and a datasync covers both descriptors (it is per file).
 *
 * Reset and teardown: requests in flight stay in the kernel until they finish.
 * A transport that resets the device should wait for vio_blk_inflight() to
 * reach 0 (vio_host_blk_drain does that) before it unmaps driver memory;
 * vio_host_blk_close waits for the kernel to let go of every buffer.
 */
#ifndef VIOPORT_HOST_BLK_H
#define VIOPORT_HOST_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "vioport/blk.h"

/* Requests in flight per instance when options->queue_depth is 0. */
#define VIO_HOST_BLK_DEFAULT_DEPTH 128u

/* Segments per discard / write-zeroes request offered by vio_host_blk_params. */
#define VIO_HOST_BLK_DWZ_SEG 16u

struct vio_host_blk_options {
	bool read_only; /* open O_RDONLY and offer VIO_BLK_F_RO */
	bool direct;	/* O_DIRECT: bypass the host page cache */
	bool sync;	/* never use io_uring: every operation finishes in the call */
	/*
	 * Requests the ring holds at once (rounded up to a power of two, at most
	 * 4096). Give at least the device's slot count: a request beyond it runs
	 * synchronously in the call.
	 */
	uint16_t queue_depth;
	uint32_t
	    blk_size; /* BLK_SIZE to advertise; 0: the device's logical block size, 512 for files */
};

/* Counters, for tests, logs and benchmarks. */
struct vio_host_blk_stats {
	uint64_t reads, writes, flushes, discards, write_zeroes;
	uint64_t datasyncs;    /* fdatasync calls, FLUSH and writethrough included */
	uint64_t dsync_writes; /* writes issued with RWF_DSYNC (writethrough) */
	uint64_t buffered;     /* O_DIRECT requests sent through the buffered descriptor */
	uint64_t short_io;     /* short transfers resubmitted for the rest */
	uint64_t retries;      /* -EAGAIN / -EINTR resubmissions */
	uint64_t zero_writes;  /* write-zeroes done by writing zeros */
	uint64_t sync_ops;     /* operations run in the call while asynchronous */
	uint64_t errors;       /* requests completed with VIO_BLK_S_IOERR */
	uint64_t submit_calls; /* io_uring_submit calls that sent something */
	uint64_t submitted;    /* submissions sent to the kernel */
};

struct vio_host_blk_op;
struct vio_host_blk_ring;
struct vio_host_blk_lane;
struct vio_loop;

/* Queues whose I/O can go through the ring of the loop that serves them. */
#define VIO_HOST_BLK_MAX_LANES 64u

/*
 * An opened image. Callers read the fields and use the functions; the no_*
 * flags may be set to force a fallback (tests do).
 */
struct vio_host_blk {
	int fd;		 /* the image, O_DIRECT if asked */
	int fd_buffered; /* without O_DIRECT (== fd when direct was not asked) */
	int event_fd;	 /* readable when completions wait for vio_host_blk_reap */
	bool read_only;
	bool direct;
	bool is_bdev;
	bool writeback; /* the cache mode the device last asked for */
	bool async;	/* io_uring in use */
	int async_err;	/* why not: negative errno from the ring set-up, -ENOSYS without liburing */
	uint64_t size;	/* bytes */
	uint32_t logical_block;
	uint32_t physical_block;
	uint32_t dio_mem_align; /* O_DIRECT: buffer address alignment */
	uint32_t dio_off_align; /* O_DIRECT: offset and length alignment */
	uint32_t blk_size;	/* what vio_host_blk_params advertises */
	uint32_t discard_align; /* bytes */
	uint64_t dev, ino;	/* identity of the image, for the default serial */
	/* What the kernel told us it cannot do; later requests skip straight to the fallback. */
	bool no_punch;	    /* no hole punching: discard is a no-op, unmapping write-zeroes don't */
	bool no_zero_range; /* no FALLOC_FL_ZERO_RANGE: write zeros instead */
	bool no_discard;    /* block device without discard */
	bool no_rwf_dsync;  /* RWF_DSYNC refused: datasync after each writethrough write */
	struct vio_host_blk_stats stats;
	/* asynchronous state */
	struct vio_host_blk_ring *ring;
	struct vio_host_blk_op *ops;
	struct vio_host_blk_op *free_ops;
	uint32_t depth;
	uint32_t ops_busy;  /* requests owned by the ring */
	uint32_t in_kernel; /* submissions queued or in the kernel, not reaped */
	uint32_t unsubmitted;
	struct vio_host_blk_lane *lanes; /* per queue, NULL until one is attached */
	uint16_t nlanes;		 /* one past the highest queue attached */
	void *zeroes;			 /* aligned zero buffer for writing zeros */
};

/*
 * Opens path (a regular file or a block device) with options o (NULL for the
 * defaults: read-write, page cache, io_uring when it works). Returns 0, or a
 * negative errno a user can be told: -ENOENT (no such image), -EISDIR,
 * -ENOTBLK (neither a regular file nor a block device), -EACCES / -EPERM
 * (permission), -EROFS (read-write on a read-only filesystem), -EINVAL (O_DIRECT
 * not supported there, or bad options), -ENOMEM. On error p holds nothing to close.
 */
int vio_host_blk_open(struct vio_host_blk *p, const char *path,
		      const struct vio_host_blk_options *o);

/*
 * Waits until the kernel has finished with every request in flight (without
 * completing them to the device, which may be gone), then closes everything.
 */
void vio_host_blk_close(struct vio_host_blk *p);

/*
 * Fills what the image determines in bp: capacity, BLK_SIZE, TOPOLOGY, FLUSH
 * and CONFIG_WCE (writeback after reset), SEG_MAX, DISCARD and WRITE_ZEROES
 * limits, RO; their feature bits are added to bp->features. Leaves the rest
 * (queues, queue size, serial, ring features) as the caller set it.
 */
void vio_host_blk_params(const struct vio_host_blk *p, struct vio_blk_params *bp);

/* Writes a serial derived from the image's device and inode numbers (20 bytes, no NUL). */
void vio_host_blk_default_serial(const struct vio_host_blk *p, char serial[VIO_BLK_ID_BYTES]);

/*
 * Reads the image's size again (after it was resized) into p->size and
 * returns it in 512-byte sectors, or a negative errno. Tell the device with
 * vio_blk_set_capacity.
 */
int64_t vio_host_blk_update_size(struct vio_host_blk *p);

/* Says whether requests go through io_uring (and may complete later). */
bool vio_host_blk_async(const struct vio_host_blk *p);

/* The descriptor to poll for readability; then call vio_host_blk_reap. Valid in both modes. */
int vio_host_blk_event_fd(const struct vio_host_blk *p);

/*
 * Sends the queued submissions to the kernel in one call. Returns how many
 * went, 0 when there was nothing (or in synchronous mode), or a negative
 * errno (they stay queued for the next call).
 */
int vio_host_blk_submit(struct vio_host_blk *p);

/*
 * Completes every finished request with vio_blk_complete, resubmits short or
 * interrupted ones and submits what the completions queued. Never blocks.
 * Returns the number of requests completed.
 */
unsigned vio_host_blk_reap(struct vio_host_blk *p);

/*
 * Says, without a system call, whether finished requests wait in the
 * completion ring (asynchronous mode); for polling.
 */
bool vio_host_blk_ready(const struct vio_host_blk *p);

/*
 * vio_host_blk_reap without touching the event fd: completes what the
 * completion ring holds, and costs no system call when it holds nothing. For
 * a caller that looks right after vio_host_blk_submit (requests served from
 * the page cache complete inside the submission) or that polls. The event fd
 * may stay readable; a vio_host_blk_reap that then finds nothing is harmless.
 */
unsigned vio_host_blk_poll(struct vio_host_blk *p);

/* Blocks until no request is in flight, completing each to the device. */
void vio_host_blk_drain(struct vio_host_blk *p);

/*
 * Sends queue q's I/O through the io_uring of loop (a struct vio_loop that
 * waits in one, src/os/posix/loop.c), the loop that serves q's kicks: its
 * wait then also sends the I/O, and its completions wake that loop rather
 * than the disk's event fd. Only requests the loop's own thread starts go
 * there (only it may queue on its ring); others use the disk's ring as
 * before. After the loop took completions, flush(ctx) runs at its top level:
 * it must call vio_host_blk_poll with the device's calls serialised as usual.
 * vio_host_blk_submit, _poll and _drain act on the calling thread's lane too.
 * Returns 0, -ENOSYS (synchronous instance, or a loop without a ring: nothing
 * changes), -EBUSY or -EINVAL.
 */
int vio_host_blk_attach_loop(struct vio_host_blk *p, uint16_t q, struct vio_loop *loop,
			     void (*flush)(void *ctx), void *ctx);

/*
 * Detaches the idle lanes attached to loop, for a loop that outlives the
 * instance. vio_host_blk_close forgets lanes without touching their loops.
 */
void vio_host_blk_detach_loop(struct vio_host_blk *p, const struct vio_loop *loop);

/*
 * Requests in flight on lanes of loops other than the calling thread's: only
 * those threads finish them, so a caller that drains must let them run (drop
 * its lock) until this reaches 0.
 */
unsigned vio_host_blk_elsewhere(const struct vio_host_blk *p);

/* Requests the ring owns (handed to the kernel, or about to be). */
unsigned vio_host_blk_inflight(const struct vio_host_blk *p);

/* The blk provider table; its ctx is a struct vio_host_blk opened with vio_host_blk_open. */
extern const struct vio_blk_ops vio_host_blk_ops;

#endif
