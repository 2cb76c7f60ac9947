/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-blk device model (device ID 2).
 *
 * The device parses and checks requests, answers bad ones with the spec's
 * status and hands good ones to a provider (struct vio_blk_ops): a RAM disk, a
 * file, a flash controller. A provider may finish an operation at once or
 * later: the request stays in a slot of a caller-provided pool until the
 * provider calls vio_blk_complete, so nothing is copied and the provider works
 * on the driver's buffers directly. When every slot is busy the device stops
 * taking requests and takes them again as slots free.
 *
 * Threading: none inside. Every call for one device, vio_blk_complete
 * included, comes from the same thread or event loop.
 *
 * Reset: vio_device_reset orphans the requests still in flight. Their slots
 * stay busy until the provider completes them; such a late completion frees the
 * slot and touches neither the ring nor the status byte (each slot remembers
 * the reset generation it was popped in). The provider may still be moving
 * data into the driver's buffers until then, so a transport that can wait
 * should wait for vio_blk_inflight() to reach 0 before it unmaps the memory.
 */
#ifndef VIOPORT_BLK_H
#define VIOPORT_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "vioport/device.h"
#include "vioport/virtq.h"

/* Feature bits. */
#define VIO_BLK_F_SIZE_MAX     1
#define VIO_BLK_F_SEG_MAX      2
#define VIO_BLK_F_GEOMETRY     4
#define VIO_BLK_F_RO	       5
#define VIO_BLK_F_BLK_SIZE     6
#define VIO_BLK_F_FLUSH	       9
#define VIO_BLK_F_TOPOLOGY     10
#define VIO_BLK_F_CONFIG_WCE   11
#define VIO_BLK_F_MQ	       12
#define VIO_BLK_F_DISCARD      13
#define VIO_BLK_F_WRITE_ZEROES 14
#define VIO_BLK_F_LIFETIME     15
#define VIO_BLK_F_SECURE_ERASE 16

/* Request types. */
#define VIO_BLK_T_IN	       0
#define VIO_BLK_T_OUT	       1
#define VIO_BLK_T_FLUSH	       4
#define VIO_BLK_T_GET_ID       8
#define VIO_BLK_T_GET_LIFETIME 10
#define VIO_BLK_T_DISCARD      11
#define VIO_BLK_T_WRITE_ZEROES 13
#define VIO_BLK_T_SECURE_ERASE 14

/* Request status values. */
#define VIO_BLK_S_OK	 0
#define VIO_BLK_S_IOERR	 1
#define VIO_BLK_S_UNSUPP 2

/* Returned by a provider operation that will call vio_blk_complete later. */
#define VIO_BLK_PENDING 0x100

/* Flag of a discard / write-zeroes segment. */
#define VIO_BLK_WZ_F_UNMAP 1u

#define VIO_BLK_SECTOR_SIZE 512u
#define VIO_BLK_ID_BYTES    20u
#define VIO_BLK_REQ_HDR	    16u /* le32 type, le32 reserved, le64 sector */
#define VIO_BLK_DWZ_SEG	    16u /* le64 sector, le32 num_sectors, le32 flags */

/* Byte offsets in struct virtio_blk_config (all fields little-endian). */
#define VIO_BLK_CFG_CAPACITY		     0	/* le64, 512-byte sectors */
#define VIO_BLK_CFG_SIZE_MAX		     8	/* le32 */
#define VIO_BLK_CFG_SEG_MAX		     12 /* le32 */
#define VIO_BLK_CFG_GEOMETRY		     16 /* le16 cylinders, u8 heads, u8 sectors */
#define VIO_BLK_CFG_BLK_SIZE		     20 /* le32 */
#define VIO_BLK_CFG_PHYSICAL_BLOCK_EXP	     24 /* u8 */
#define VIO_BLK_CFG_ALIGNMENT_OFFSET	     25 /* u8 */
#define VIO_BLK_CFG_MIN_IO_SIZE		     26 /* le16 */
#define VIO_BLK_CFG_OPT_IO_SIZE		     28 /* le32 */
#define VIO_BLK_CFG_WRITEBACK		     32 /* u8 */
#define VIO_BLK_CFG_NUM_QUEUES		     34 /* le16 */
#define VIO_BLK_CFG_MAX_DISCARD_SECTORS	     36 /* le32 */
#define VIO_BLK_CFG_MAX_DISCARD_SEG	     40 /* le32 */
#define VIO_BLK_CFG_DISCARD_SECTOR_ALIGNMENT 44 /* le32 */
#define VIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS 48 /* le32 */
#define VIO_BLK_CFG_MAX_WRITE_ZEROES_SEG     52 /* le32 */
#define VIO_BLK_CFG_WRITE_ZEROES_MAY_UNMAP   56 /* u8 */
#define VIO_BLK_CFG_MAX_SECURE_ERASE_SECTORS 60 /* le32 */
#define VIO_BLK_CFG_MAX_SECURE_ERASE_SEG     64 /* le32 */
#define VIO_BLK_CFG_SECURE_ERASE_ALIGNMENT   68 /* le32 */
#define VIO_BLK_CONFIG_SIZE		     72

/*
 * Segments a slot holds: header, data, status. A longer chain is answered
 * with IOERR, so seg_max (data segments) may be at most VIO_BLK_SLOT_SEGS - 2.
 */
#define VIO_BLK_SLOT_SEGS 66u

struct vio_blk;

/*
 * A request slot. The caller provides an array of them; the device owns them.
 * A provider receives a pointer to one as the completion handle and may use
 * prov for its own bookkeeping; everything else is the device's.
 */
struct vio_blk_req {
	struct vio_req req;
	struct vio_iov iov[VIO_BLK_SLOT_SEGS];
	struct vio_blk *blk;
	struct vio_blk_req *next_free;
	void *prov;	    /* free for the provider while the request is in flight */
	uint8_t *status;    /* the status byte in driver memory */
	uint64_t sector;    /* from the header */
	uint32_t type;	    /* VIO_BLK_T_* */
	uint32_t gen;	    /* device reset generation at pop */
	bool orphan;	    /* its queue was reset alone: complete without touching it */
	uint32_t used_len;  /* bytes written to the driver when the request succeeds */
	uint32_t seg_next;  /* discard / write zeroes: next segment to issue */
	uint32_t seg_count; /* discard / write zeroes: segments in the request */
	uint16_t queue;
	uint16_t data_first; /* data segments: iov[data_first .. data_first + data_niov) */
	uint16_t data_niov;
	bool busy;
	bool in_submit; /* inside a provider call: a completion now is synchronous */
	bool sync_done;
	uint8_t sync_status;
};

/*
 * Provider operations. Each returns a VIO_BLK_S_* status when it finished at
 * once, or VIO_BLK_PENDING and calls vio_blk_complete(req, status) later. A
 * negative return counts as VIO_BLK_S_IOERR. A provider may also call
 * vio_blk_complete before its operation returns; the return value is then
 * ignored. Sectors are 512 bytes; iov lists only the data (no header, no
 * status byte) and stays valid, like req, until the completion. The device
 * checked ranges against the capacity already. read and write receive whole
 * sectors; discard and write_zeroes are called once per segment of the
 * request, one after the other.
 */
struct vio_blk_ops {
	int (*read)(void *ctx, uint64_t sector, const struct vio_iov *iov, uint16_t niov,
		    struct vio_blk_req *req);
	int (*write)(void *ctx, uint64_t sector, const struct vio_iov *iov, uint16_t niov,
		     struct vio_blk_req *req);
	int (*flush)(void *ctx, struct vio_blk_req *req);
	int (*discard)(void *ctx, uint64_t sector, uint32_t nsectors, struct vio_blk_req *req);
	int (*write_zeroes)(void *ctx, uint64_t sector, uint32_t nsectors, bool unmap,
			    struct vio_blk_req *req);
	/*
	 * Optional: the cache mode the driver expects. When false every write
	 * must be stable before it completes. Called when the driver starts the
	 * device and when it toggles the mode.
	 */
	void (*set_writeback)(void *ctx, bool writeback);
	/*
	 * Optional: sends the requests the provider left pending so far to the
	 * backing store, and may complete the ones that finished at once
	 * (vio_blk_complete). While the device takes a long run of requests from
	 * a queue it calls this after every submit_batch pending ones (struct
	 * vio_blk_params), so the first requests complete, and the driver hears
	 * of them, while the device still takes the rest.
	 */
	void (*submit)(void *ctx);
};

/* What the device offers. Fields for features not offered are ignored. */
struct vio_blk_params {
	uint64_t capacity; /* 512-byte sectors */
	/*
	 * Feature bits to offer: VIO_BIT(VIO_BLK_F_*) and, from the generic ones,
	 * INDIRECT_DESC, EVENT_IDX and RING_PACKED. VERSION_1 is always offered.
	 */
	uint64_t features;
	uint16_t num_queues;	    /* 1 unless VIO_BLK_F_MQ */
	uint16_t queue_size;	    /* largest queue the driver may set up */
	uint32_t size_max;	    /* SIZE_MAX */
	uint32_t seg_max;	    /* SEG_MAX, 1 .. VIO_BLK_SLOT_SEGS - 2 */
	uint32_t blk_size;	    /* BLK_SIZE */
	uint8_t physical_block_exp; /* TOPOLOGY */
	uint8_t alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	bool writeback;		      /* CONFIG_WCE: cache mode after reset */
	uint16_t submit_batch;	      /* pending requests per ops->submit call; 0: never */
	uint32_t max_discard_sectors; /* DISCARD */
	uint32_t max_discard_seg;
	uint32_t discard_sector_alignment;
	uint32_t max_write_zeroes_sectors; /* WRITE_ZEROES */
	uint32_t max_write_zeroes_seg;
	bool write_zeroes_may_unmap;
	char serial[VIO_BLK_ID_BYTES]; /* GET_ID answer, NUL-padded */
};

struct vio_blk {
	struct vio_device dev;
	uint8_t config[VIO_BLK_CONFIG_SIZE];
	const struct vio_blk_ops *ops;
	void *ctx;
	struct vio_blk_req *slots;
	struct vio_blk_req *free_list;
	uint16_t nslots;
	uint16_t inflight;
	uint32_t gen;
	uint64_t capacity;
	uint32_t max_discard_sectors;
	uint32_t max_discard_seg;
	uint32_t max_write_zeroes_sectors;
	uint32_t max_write_zeroes_seg;
	char serial[VIO_BLK_ID_BYTES];
	bool writeback_reset; /* writeback byte after reset */
	bool running;	      /* inside the queue loop: kicks and freed slots only mark rerun */
	bool rerun;
	bool starved; /* a queue stopped for want of a slot */
	uint16_t submit_batch;
};

/*
 * Prepares blk: checks p against the provider (each offered operation needs
 * its hook, CONFIG_WCE needs FLUSH, MQ needs num_queues >= 1, no MQ needs
 * exactly 1), fills the config space and
 * initialises blk->dev over queues (p->num_queues entries) and slots (nslots
 * >= 1). Attach blk->dev to a transport afterwards. Returns 0 or -VIO_EINVAL.
 */
int vio_blk_init(struct vio_blk *blk, const struct vio_blk_params *p, const struct vio_blk_ops *ops,
		 void *ctx, struct vio_queue *queues, struct vio_blk_req *slots, uint16_t nslots);

/*
 * Finishes a request a provider answered VIO_BLK_PENDING for, with a
 * VIO_BLK_S_* status (anything else counts as IOERR): writes the status,
 * returns the buffer and interrupts the driver as it asked, or continues with
 * the request's next segment. A request orphaned by a reset is only
 * released. A slot that is not in flight is ignored; completing a request
 * twice is a provider bug once the slot has been reused.
 */
void vio_blk_complete(struct vio_blk_req *req, int status);

/* Number of requests handed to the provider and not completed yet, orphans included. */
uint16_t vio_blk_inflight(const struct vio_blk *blk);

/* Changes the capacity (the disk was resized) and tells the driver. */
void vio_blk_set_capacity(struct vio_blk *blk, uint64_t sectors);

/* Says whether the driver currently expects a writeback cache. */
bool vio_blk_writeback(const struct vio_blk *blk);

#endif
