/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the virtio-blk request parser behind the loopback transport,
 * over a RAM disk, with request shapes and contents from the input.
 *
 * The driver side is well behaved at ring level (the virtqueue targets cover a
 * hostile ring); what it sends inside the ring is not: any number, direction
 * and size of segments, any header, any discard list. The device must answer
 * every request, never break the ring, never report more bytes than the
 * driver offered, write a valid status byte, keep a read-only disk unchanged
 * and stay inside the disk (which is its own heap block, so the sanitizer
 * sees any access past it).
 *
 * Input layout:
 *   0   features: 1 INDIRECT_DESC, 2 EVENT_IDX, 4 RO, 8 FLUSH, 16 CONFIG_WCE,
 *       32 DISCARD, 64 WRITE_ZEROES, 128 SEG_MAX
 *   1   capacity in sectors - 1 (1 .. 64)
 *   2   queue size as log2 (1 .. 64)
 *   3   request slots - 1 (1 .. 8)
 *   4   bit 0 provider completes later (deferred mode), bits 1-3 discard and
 *       write-zeroes segments - 1, bits 4-7 seg_max - 1
 *   5   discard and write-zeroes sectors per segment - 1
 *   6   bit 0 reset the device with requests in flight at the end
 *   then operations until the input ends, each a byte:
 *     0 mod 4  add a request: shape byte (bits 0-2 readable segments, bits 3-5
 *              writable segments, bit 6 through an indirect table, bit 7
 *              well-formed header), then le16 per segment length (mod 1100),
 *              then the header (well-formed: type index and sector byte;
 *              otherwise 16 raw bytes) and the readable bytes after it
 *     1 mod 4  kick
 *     2 mod 4  run the provider's queued operations
 *     3 mod 4  complete one queued operation, index from the next byte
 */
#include "fuzz_util.h"

#include "vioport/blk.h"
#include "vioport/errno.h"
#include "vioport/loopback.h"
#include "vioport/sim_ramdisk.h"

#define ARENA_SIZE (1u << 20)
#define BUS_BASE   0x80000000ull
#define MAX_SLOTS  8u
#define MAX_QSIZE  64u
#define MAX_REQS   48u
#define MAX_SEGS   7u

struct rq {
	uint8_t *status; /* last writable byte, NULL when there is none */
	uint32_t in_len;
	bool done;
};

/* Driver memory; vio_loopback_alloc zeroes what it hands out, so no reset per input. */
static _Alignas(16) uint8_t arena[ARENA_SIZE];

static struct {
	struct vio_sim_ramdisk rd;
	struct vio_sim_ramdisk_op pend[16];
	struct vio_blk blk;
	struct vio_queue queues[1];
	struct vio_blk_req slots[MAX_SLOTS];
	struct vio_loopback lb;
	struct vio_drvq dq;
	struct vio_drvq_slot dslots[MAX_QSIZE];
	struct rq rqs[MAX_REQS];
} F;

static const uint32_t types[8] = {
    VIO_BLK_T_IN,
    VIO_BLK_T_OUT,
    VIO_BLK_T_FLUSH,
    VIO_BLK_T_GET_ID,
    VIO_BLK_T_DISCARD,
    VIO_BLK_T_WRITE_ZEROES,
    2,
    VIO_BLK_T_GET_LIFETIME,
};

/* Takes every used entry back and checks what the device reported. */
static unsigned collect(void)
{
	unsigned got = 0;
	void *token;
	uint32_t len;
	int rc;

	while ((rc = vio_drvq_get_used(&F.dq, &token, &len)) == 1) {
		struct rq *r = token;

		FZ_CHECK(!r->done);
		r->done = true;
		got++;
		/* The status byte is the last writable one; without one the buffer comes back
		 * empty. */
		if (r->status == NULL) {
			FZ_CHECK(len == 0);
			continue;
		}
		FZ_CHECK(*r->status <= VIO_BLK_S_UNSUPP);
		FZ_CHECK(len >= 1 && len <= r->in_len);
		if (*r->status != VIO_BLK_S_OK)
			FZ_CHECK(len == 1);
	}
	/* The driver side checks ids and lengths: a device mistake shows as -EPROTO. */
	FZ_CHECK(rc == 0);
	FZ_CHECK(!(F.blk.dev.status & VIO_STATUS_NEEDS_RESET));
	return got;
}

/* Builds one request from the input and queues it; false when the ring is full. */
static bool add_request(struct fz_in *in, unsigned k, bool indirect_ok)
{
	uint8_t shape = fz_u8(in);
	unsigned nout = shape & 7u, nin = (shape >> 3) & 7u;
	struct vio_buf out[MAX_SEGS], inb[MAX_SEGS];
	struct rq *r = &F.rqs[k];
	int rc;

	nout = nout > MAX_SEGS ? MAX_SEGS : nout;
	nin = nin > MAX_SEGS ? MAX_SEGS : nin;
	if (nout + nin == 0)
		nout = 1;
	memset(r, 0, sizeof(*r));
	for (unsigned s = 0; s < nout + nin; s++) {
		uint32_t len = fz_u16(in) % 1100u;
		uint8_t *p = vio_loopback_alloc(&F.lb, len ? len : 1, NULL);
		struct vio_buf *b = s < nout ? &out[s] : &inb[s - nout];

		if (p == NULL)
			return false;
		b->addr = vio_loopback_bus(&F.lb, p);
		b->len = len;
		if (s < nout) {
			/* Readable bytes: a header first, then whatever the input says. */
			uint8_t hdr[VIO_BLK_REQ_HDR] = {0};

			if (s == 0 && (shape & 0x80u)) {
				vio_put_le32(hdr, types[fz_u8(in) & 7u]);
				vio_put_le64(hdr + 8, fz_u8(in));
			} else {
				for (unsigned i = 0; i < sizeof(hdr); i++)
					hdr[i] = fz_u8(in);
			}
			for (uint32_t i = 0; i < len; i++)
				p[i] = i < sizeof(hdr) ? hdr[i] : fz_u8(in);
		} else {
			memset(p, 0xee, len);
			r->in_len += len;
			/* Empty segments carry nothing, so the status is in the last non-empty one.
			 */
			if (len != 0)
				r->status = p + len - 1;
		}
	}
	if ((shape & 0x40u) && indirect_ok) {
		/* The table is driver memory like any buffer: inside the window. */
		struct vio_desc *t = vio_loopback_alloc(&F.lb, (nout + nin) * sizeof(*t), NULL);

		if (t == NULL)
			return false;
		rc = vio_drvq_add_indirect(&F.dq, out, nout, inb, nin, t,
					   vio_loopback_bus(&F.lb, t), r);
	} else {
		rc = vio_drvq_add(&F.dq, out, nout, inb, nin, r);
	}
	return rc >= 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	struct vio_blk_params p = {0};
	uint8_t feat = fz_u8(&in), cap = fz_u8(&in), qlog = fz_u8(&in), nslots = fz_u8(&in);
	uint8_t mode = fz_u8(&in), secs = fz_u8(&in), end = fz_u8(&in);
	uint16_t qsize = (uint16_t) (1u << (qlog % 7u));
	uint64_t disk_len = ((uint64_t) (cap % 64u) + 1) * VIO_BLK_SECTOR_SIZE;
	uint8_t *disk = malloc(disk_len), *snap = malloc(disk_len);
	unsigned nreq = 0, ndone = 0;
	bool ro;

	FZ_CHECK(disk != NULL && snap != NULL);
	memset(&F, 0, sizeof(F));
	for (uint64_t i = 0; i < disk_len; i++)
		disk[i] = (uint8_t) (i * 7u + 3u);
	memcpy(snap, disk, disk_len);

	p.capacity = disk_len / VIO_BLK_SECTOR_SIZE;
	p.num_queues = 1;
	p.queue_size = MAX_QSIZE;
	p.features = VIO_BIT(VIO_BLK_F_BLK_SIZE);
	p.blk_size = 4096;
	if (feat & 1u)
		p.features |= VIO_BIT(VIO_F_INDIRECT_DESC);
	if (feat & 2u)
		p.features |= VIO_BIT(VIO_F_EVENT_IDX);
	if (feat & 4u)
		p.features |= VIO_BIT(VIO_BLK_F_RO);
	if (feat & 8u)
		p.features |= VIO_BIT(VIO_BLK_F_FLUSH);
	if ((feat & 24u) == 24u)
		p.features |= VIO_BIT(VIO_BLK_F_CONFIG_WCE);
	if (feat & 32u)
		p.features |= VIO_BIT(VIO_BLK_F_DISCARD);
	if (feat & 64u)
		p.features |= VIO_BIT(VIO_BLK_F_WRITE_ZEROES);
	if (feat & 128u)
		p.features |= VIO_BIT(VIO_BLK_F_SEG_MAX);
	p.seg_max = (mode >> 4) + 1u;
	p.max_discard_seg = ((mode >> 1) & 7u) + 1u;
	p.max_write_zeroes_seg = p.max_discard_seg;
	p.max_discard_sectors = (uint32_t) secs + 1u;
	p.max_write_zeroes_sectors = (uint32_t) secs + 1u;
	p.discard_sector_alignment = 1;
	p.write_zeroes_may_unmap = true;
	memcpy(p.serial, "FUZZ", 4);

	vio_sim_ramdisk_init(&F.rd, disk, disk_len);
	FZ_CHECK(vio_blk_init(&F.blk, &p, &vio_sim_ramdisk_ops, &F.rd, F.queues, F.slots,
			      (uint16_t) (nslots % MAX_SLOTS + 1u)) == 0);
	FZ_CHECK(vio_loopback_init(&F.lb, &F.blk.dev, arena, sizeof(arena), BUS_BASE) == 0);
	FZ_CHECK(vio_loopback_negotiate(&F.lb, ~VIO_BIT(VIO_F_RING_PACKED)) == 0);
	FZ_CHECK(vio_loopback_queue(&F.lb, 0, qsize, &F.dq, F.dslots) == 0);
	FZ_CHECK(vio_loopback_driver_ok(&F.lb) == 0);
	if (mode & 1u)
		FZ_CHECK(vio_sim_ramdisk_defer(&F.rd, F.pend, 16) == 0);
	ro = vio_device_has(&F.blk.dev, VIO_BLK_F_RO);

	while (in.n > 0) {
		uint8_t op = fz_u8(&in);

		switch (op & 3u) {
		case 0:
			if (nreq == MAX_REQS)
				break;
			if (add_request(&in, nreq, vio_device_has(&F.blk.dev, VIO_F_INDIRECT_DESC)))
				nreq++;
			break;
		case 1:
			vio_loopback_kick(&F.lb, 0);
			break;
		case 2:
			vio_sim_ramdisk_run(&F.rd);
			break;
		default: {
			uint16_t n = vio_sim_ramdisk_pending(&F.rd);

			if (n != 0)
				vio_sim_ramdisk_complete(&F.rd, fz_u8(&in) % n);
			break;
		}
		}
		ndone += collect();
	}

	if (end & 1u) {
		/* Reset with requests in flight: late completions must touch nothing. */
		vio_device_set_status(&F.blk.dev, 0);
		while (vio_sim_ramdisk_pending(&F.rd) != 0)
			vio_sim_ramdisk_run(&F.rd);
		FZ_CHECK(vio_blk_inflight(&F.blk) == 0);
	} else {
		/* Every request comes back once the provider has done its work. */
		for (unsigned round = 0; round < 4u * MAX_REQS && ndone < nreq; round++) {
			vio_loopback_kick(&F.lb, 0);
			vio_sim_ramdisk_run(&F.rd);
			ndone += collect();
		}
		FZ_CHECK(ndone == nreq);
		FZ_CHECK(vio_blk_inflight(&F.blk) == 0);
	}
	if (ro)
		FZ_CHECK(memcmp(disk, snap, disk_len) == 0);
	free(snap);
	free(disk);
	return 0;
}
