/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: inflight recording of a split queue (vio_vq_inflight_attach),
 * with the region, the rings and the device's behaviour all from the input.
 * The region comes from the frontend and the rings from the driver: neither
 * may make the take-over read or write outside them, loop, or hand the same
 * head out twice.
 *
 * Input layout (missing bytes read as zero):
 *   0   queue size as log2 (1 .. 64)
 *   1   bits 0-1: how many device lives (1 .. 4), each attaches, works, then
 *       "dies"; bit 7: a packed ring instead of a split one
 *   2   ops: per life, u8 pops then u8 push mask (bit k: push the k-th
 *       outstanding request) and u8 flush, 3 bytes a life, 12 bytes
 *   14  the region (VIO_IFL_QUEUE_BYTES(64) bytes), then the ring memory
 */
#include "fuzz_util.h"

#include "vioport/errno.h"

#define QMAX	 64u
#define HDR	 14u
#define RING_MEM 4096u

static _Alignas(64) uint8_t region[VIO_IFL_QUEUE_BYTES(QMAX)];
static _Alignas(4096) uint8_t ring[RING_MEM];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t hdr[HDR] = {0};
	struct fz_in h = {hdr, HDR};
	struct vio_window w[1];
	struct vio_winmap map;
	struct vio_iov iov[8];
	struct vio_req req = {.iov = iov, .cap = 8};
	uint16_t qsize, lives, out[QMAX];
	bool packed;
	size_t off = size < HDR ? size : HDR;

	memcpy(hdr, data, off);
	qsize = (uint16_t) (1u << (fz_u8(&h) % 7u));
	lives = hdr[1] & 3u;
	lives++;
	packed = (hdr[1] & 0x80u) != 0;
	fz_u8(&h);
	memset(region, 0, sizeof(region));
	memset(ring, 0, sizeof(ring));
	for (size_t i = 0; i < sizeof(region) && off < size; i++)
		region[i] = data[off++];
	for (size_t i = 0; i < sizeof(ring) && off < size; i++)
		ring[i] = data[off++];
	vio_winmap_init(&map, w, 1);
	FZ_CHECK(vio_winmap_add(&map, 0x10000, RING_MEM, ring, VIO_ACCESS_RW) == 0);

	for (uint16_t life = 0; life < lives; life++) {
		struct vio_vq vq;
		uint8_t pops = fz_u8(&h), mask = fz_u8(&h), flush = fz_u8(&h);
		uint16_t nout = 0, resub, nd[QMAX];
		bool seen[QMAX] = {false};
		int rc;

		memset(&vq, 0, sizeof(vq));
		/* desc at 0, avail (driver area) at 1024, used (device area) at 2048 */
		if (packed)
			rc = vio_vq_setup_packed(
			    &vq, &map, qsize, 0x10000, 0x10000 + 1024, 0x10000 + 2048,
			    VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_RING_PACKED));
		else
			rc = vio_vq_setup_split(&vq, &map, qsize, 0x10000, 0x10000 + 1024,
						0x10000 + 2048, VIO_BIT(VIO_F_INDIRECT_DESC));
		if (rc != 0)
			return 0;
		rc = vio_vq_inflight_attach(&vq, region, sizeof(region));
		FZ_CHECK(rc == -VIO_EINVAL || (rc >= 0 && rc <= qsize));
		resub = rc > 0 ? (uint16_t) rc : 0;
		/* The requests handed out again are distinct heads of this ring. */
		for (uint16_t k = 0; k < resub; k++) {
			rc = vio_vq_pop(&vq, &req);
			if (rc <= 0)
				break;
			FZ_CHECK(req.id < qsize && !seen[req.id]);
			seen[req.id] = true;
			nd[nout] = req.ndesc;
			out[nout++] = req.id;
		}
		for (uint8_t k = 0; k < pops % 32u && nout < QMAX; k++) {
			if (vio_vq_pop(&vq, &req) != 1)
				break;
			FZ_CHECK(req.id < qsize);
			nd[nout] = req.ndesc;
			out[nout++] = req.id;
		}
		for (uint16_t k = 0; k < nout && k < 8; k++)
			if (mask & (1u << k))
				vio_vq_push(&vq, out[k], nd[k], 0);
		if (flush & 1u)
			vio_vq_flush(&vq);
	}
	return 0;
}
