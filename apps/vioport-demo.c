/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport-demo: a driver and two devices in one process, over the loopback
 * transport. It serves the RAM-disk virtio-blk device and the virtio-rng
 * device of the standard simulated board (sim_board.h), plays the driver
 * against both, and prints each step and its result. The exit status is 0
 * when every step gave the expected answer.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vioport/blk.h"
#include "vioport/byteorder.h"
#include "vioport/loopback.h"
#include "vioport/rng.h"
#include "vioport/sim_board.h"

#define ARENA_BYTES  (4u << 20)
#define DISK_SECTORS 2048u /* 1 MiB */
#define QSIZE	     64u
#define NSLOTS	     16u
#define PATTERN_SEC  100u
#define PATTERN_LEN  (64u * 1024u)
#define PIECE	     4096u

/* The two devices are the standard simulated board's blk and rng (sim_board.h). */
struct blk_side {
	uint8_t *arena;
	uint8_t *disk;
	struct vio_sim_board *board;
	struct vio_sim_ramdisk_op pend[NSLOTS];
	struct vio_loopback lb;
	struct vio_drvq dq;
	struct vio_drvq_slot dslots[QSIZE];
};

struct rng_side {
	uint8_t *arena;
	struct vio_sim_board *board;
	struct vio_loopback lb;
	struct vio_drvq dq;
	struct vio_drvq_slot dslots[QSIZE];
};

static int failures;

static void step(const char *what, bool ok)
{
	printf("  %-58s %s\n", what, ok ? "ok" : "FAILED");
	if (!ok)
		failures++;
}

static const char *status_name(uint8_t s)
{
	switch (s) {
	case VIO_BLK_S_OK:
		return "OK";
	case VIO_BLK_S_IOERR:
		return "IOERR";
	case VIO_BLK_S_UNSUPP:
		return "UNSUPP";
	default:
		return "?";
	}
}

static struct vio_buf bbuf(struct vio_loopback *lb, const void *p, uint32_t len)
{
	struct vio_buf b = {vio_loopback_bus(lb, p), len};

	return b;
}

/* A blk request as the driver lays it out: header, data, status byte. */
struct breq {
	uint8_t *hdr;
	uint8_t *data;
	uint8_t *status;
};

static bool breq_alloc(struct blk_side *s, struct breq *r, uint32_t type, uint64_t sector,
		       uint32_t data_len)
{
	r->hdr = vio_loopback_alloc(&s->lb, VIO_BLK_REQ_HDR, NULL);
	r->data = data_len != 0 ? vio_loopback_alloc(&s->lb, data_len, NULL) : NULL;
	r->status = vio_loopback_alloc(&s->lb, 1, NULL);
	if (r->hdr == NULL || (data_len != 0 && r->data == NULL) || r->status == NULL)
		return false;
	vio_put_le32(r->hdr, type);
	vio_put_le64(r->hdr + 8, sector);
	*r->status = 0xff;
	return true;
}

/* Queues r with its data cut in PIECE-sized segments, device-writable when in is set. */
static bool breq_queue(struct blk_side *s, struct breq *r, uint32_t data_len, bool in)
{
	struct vio_buf out[1 + PATTERN_LEN / PIECE], ins[1 + PATTERN_LEN / PIECE];
	unsigned nout = 0, nin = 0;

	if (data_len > PATTERN_LEN)
		return false;
	out[nout++] = bbuf(&s->lb, r->hdr, VIO_BLK_REQ_HDR);
	for (uint32_t off = 0; off < data_len; off += PIECE) {
		uint32_t n = data_len - off < PIECE ? data_len - off : PIECE;

		if (in)
			ins[nin++] = bbuf(&s->lb, r->data + off, n);
		else
			out[nout++] = bbuf(&s->lb, r->data + off, n);
	}
	ins[nin++] = bbuf(&s->lb, r->status, 1);
	return vio_drvq_add(&s->dq, out, nout, ins, nin, r) >= 0;
}

/* Sends one request, waits for it and returns its status (0xff if it never came back). */
static uint8_t blk_do(struct blk_side *s, struct breq *r, uint32_t data_len, bool in,
		      uint32_t *used)
{
	void *token = NULL;
	uint32_t len = 0;

	if (!breq_queue(s, r, data_len, in))
		return 0xff;
	vio_loopback_kick(&s->lb, 0);
	if (vio_drvq_get_used(&s->dq, &token, &len) != 1 || token != r)
		return 0xff;
	if (used != NULL)
		*used = len;
	return *r->status;
}

/* Plays the driver's start-up against dev: its arena as the only window, one queue, DRIVER_OK. */
static bool drive(struct vio_loopback *lb, struct vio_device *dev, uint8_t *arena, uint64_t bus,
		  struct vio_drvq *dq, struct vio_drvq_slot *dslots)
{
	if (vio_loopback_init(lb, dev, arena, ARENA_BYTES, bus) < 0)
		return false;
	if (vio_loopback_negotiate(lb, ~0ull) < 0)
		return false;
	if (vio_loopback_queue(lb, 0, QSIZE, dq, dslots) < 0)
		return false;
	return vio_loopback_driver_ok(lb) == 0;
}

/* The board's devices: the RAM disk in s->disk with the features the demo shows, queues of QSIZE.
 */
static bool board_setup(struct blk_side *s, struct vio_sim_board *board)
{
	struct vio_blk_params p;
	struct vio_sim_board_config c = {.disk = s->disk,
					 .disk_bytes =
					     (uint64_t) DISK_SECTORS * VIO_BLK_SECTOR_SIZE,
					 .blk = &p,
					 .queue_size = QSIZE,
					 .entropy_seed = 0x5eed};

	memset(&p, 0, sizeof(p));
	p.capacity = DISK_SECTORS;
	p.features = VIO_BIT(VIO_BLK_F_SEG_MAX) | VIO_BIT(VIO_BLK_F_BLK_SIZE) |
		     VIO_BIT(VIO_BLK_F_FLUSH) | VIO_BIT(VIO_BLK_F_CONFIG_WCE) |
		     VIO_BIT(VIO_BLK_F_DISCARD) | VIO_BIT(VIO_BLK_F_WRITE_ZEROES);
	p.num_queues = 1;
	p.queue_size = QSIZE;
	p.seg_max = 32;
	p.blk_size = 512;
	p.writeback = true;
	p.max_discard_sectors = DISK_SECTORS;
	p.max_discard_seg = 1;
	p.max_write_zeroes_sectors = DISK_SECTORS;
	p.max_write_zeroes_seg = 1;
	memcpy(p.serial, "vioport-demo-disk0", 18);
	return vio_sim_board_init(board, &c) == 0;
}

static bool blk_setup(struct blk_side *s)
{
	return drive(&s->lb, &s->board->blk.dev, s->arena, 0x40000000ull, &s->dq, s->dslots);
}

static void demo_blk_io(struct blk_side *s)
{
	struct breq w, f, r;
	uint32_t used = 0;
	uint8_t st;

	if (!breq_alloc(s, &w, VIO_BLK_T_OUT, PATTERN_SEC, PATTERN_LEN) ||
	    !breq_alloc(s, &f, VIO_BLK_T_FLUSH, 0, 0) ||
	    !breq_alloc(s, &r, VIO_BLK_T_IN, PATTERN_SEC, PATTERN_LEN)) {
		step("allocate requests", false);
		return;
	}
	for (uint32_t i = 0; i < PATTERN_LEN; i++)
		w.data[i] = (uint8_t) (i * 31u + (i >> 9));
	st = blk_do(s, &w, PATTERN_LEN, false, NULL);
	printf("write %u KiB at sector %u in %u segments: %s\n", PATTERN_LEN / 1024, PATTERN_SEC,
	       PATTERN_LEN / PIECE, status_name(st));
	step("write pattern", st == VIO_BLK_S_OK);
	step("pattern is on the RAM disk",
	     memcmp(s->disk + PATTERN_SEC * VIO_BLK_SECTOR_SIZE, w.data, PATTERN_LEN) == 0);

	st = blk_do(s, &f, 0, false, NULL);
	printf("flush: %s (provider saw %u flush)\n", status_name(st), s->board->rd.flushes);
	step("flush", st == VIO_BLK_S_OK && s->board->rd.flushes == 1);

	memset(r.data, 0, PATTERN_LEN);
	st = blk_do(s, &r, PATTERN_LEN, true, &used);
	printf("read %u KiB back: %s, used length %u\n", PATTERN_LEN / 1024, status_name(st), used);
	step("read back", st == VIO_BLK_S_OK && used == PATTERN_LEN + 1);
	step("read data equals written data", memcmp(r.data, w.data, PATTERN_LEN) == 0);
}

static void demo_blk_id_discard(struct blk_side *s)
{
	struct breq id, d, r;
	char serial[VIO_BLK_ID_BYTES + 1];
	bool zero = true;
	uint8_t st;

	if (!breq_alloc(s, &id, VIO_BLK_T_GET_ID, 0, VIO_BLK_ID_BYTES) ||
	    !breq_alloc(s, &d, VIO_BLK_T_DISCARD, 0, VIO_BLK_DWZ_SEG) ||
	    !breq_alloc(s, &r, VIO_BLK_T_IN, PATTERN_SEC, 8 * VIO_BLK_SECTOR_SIZE)) {
		step("allocate requests", false);
		return;
	}
	st = blk_do(s, &id, VIO_BLK_ID_BYTES, true, NULL);
	memcpy(serial, id.data, VIO_BLK_ID_BYTES);
	serial[VIO_BLK_ID_BYTES] = '\0';
	printf("GET_ID: %s, serial \"%s\"\n", status_name(st), serial);
	step("GET_ID", st == VIO_BLK_S_OK && strcmp(serial, "vioport-demo-disk0") == 0);

	/* one segment: 8 sectors from PATTERN_SEC, no flags */
	vio_put_le64(d.data, PATTERN_SEC);
	vio_put_le32(d.data + 8, 8);
	vio_put_le32(d.data + 12, 0);
	st = blk_do(s, &d, VIO_BLK_DWZ_SEG, false, NULL);
	printf("discard 8 sectors at %u: %s\n", PATTERN_SEC, status_name(st));
	step("discard", st == VIO_BLK_S_OK);

	memset(r.data, 0xaa, 8 * VIO_BLK_SECTOR_SIZE);
	st = blk_do(s, &r, 8 * VIO_BLK_SECTOR_SIZE, true, NULL);
	for (uint32_t i = 0; i < 8 * VIO_BLK_SECTOR_SIZE; i++)
		zero = zero && r.data[i] == 0;
	printf("read the discarded range: %s, %s\n", status_name(st),
	       zero ? "all zeros" : "NOT zeros");
	step("discarded range reads as zeros", st == VIO_BLK_S_OK && zero);
}

/* Four reads left pending by the provider, completed newest first. */
static void demo_blk_async(struct blk_side *s)
{
	struct breq r[4];
	void *token;
	uint32_t len;
	int order[4], n = 0;
	bool data_ok = true;

	for (int i = 0; i < 4; i++) {
		if (!breq_alloc(s, &r[i], VIO_BLK_T_IN, PATTERN_SEC + 8 + (uint64_t) i,
				VIO_BLK_SECTOR_SIZE) ||
		    !breq_queue(s, &r[i], VIO_BLK_SECTOR_SIZE, true)) {
			step("queue reads", false);
			return;
		}
	}
	if (vio_sim_ramdisk_defer(&s->board->rd, s->pend, NSLOTS) < 0) {
		step("deferred mode", false);
		return;
	}
	vio_loopback_kick(&s->lb, 0);
	printf("deferred provider: %u reads pending, %u in flight in the device\n",
	       vio_sim_ramdisk_pending(&s->board->rd), vio_blk_inflight(&s->board->blk));
	step("requests wait for the provider", vio_sim_ramdisk_pending(&s->board->rd) == 4 &&
						   vio_drvq_get_used(&s->dq, &token, &len) == 0);
	for (int i = 3; i >= 0; i--)
		vio_sim_ramdisk_complete(&s->board->rd, (uint16_t) i);
	while (n < 4 && vio_drvq_get_used(&s->dq, &token, &len) == 1)
		order[n++] = (int) ((struct breq *) token - r);
	printf("completed newest first; used ring order:");
	for (int i = 0; i < n; i++)
		printf(" %d", order[i]);
	printf("\n");
	for (int i = 0; i < 4; i++)
		data_ok = data_ok && *r[i].status == VIO_BLK_S_OK &&
			  memcmp(r[i].data,
				 s->disk + (PATTERN_SEC + 8 + (size_t) i) * VIO_BLK_SECTOR_SIZE,
				 VIO_BLK_SECTOR_SIZE) == 0;
	step("out-of-order completion",
	     n == 4 && order[0] == 3 && order[1] == 2 && order[2] == 1 && order[3] == 0 && data_ok);
	vio_sim_ramdisk_defer(&s->board->rd, NULL, 0);
}

static bool rng_setup(struct rng_side *s)
{
	return drive(&s->lb, &s->board->rng.dev, s->arena, 0x80000000ull, &s->dq, s->dslots);
}

static void demo_rng(struct rng_side *s)
{
	uint8_t *b = vio_loopback_alloc(&s->lb, 32, NULL);
	struct vio_buf in;
	void *token = NULL;
	uint32_t len = 0;
	bool nonzero = false;

	if (b == NULL) {
		step("allocate buffer", false);
		return;
	}
	in = bbuf(&s->lb, b, 32);
	if (vio_drvq_add(&s->dq, NULL, 0, &in, 1, b) < 0) {
		step("queue buffer", false);
		return;
	}
	vio_loopback_kick(&s->lb, 0);
	if (vio_drvq_get_used(&s->dq, &token, &len) != 1 || token != b)
		len = 0;
	printf("entropy (%u bytes, deterministic test source):", len);
	for (uint32_t i = 0; i < len; i++) {
		printf("%s%02x", i % 16 == 0 ? "\n    " : " ", b[i]);
		nonzero = nonzero || b[i] != 0;
	}
	printf("\n");
	step("entropy request filled", len == 32 && nonzero);
}

int main(void)
{
	struct blk_side *bs = calloc(1, sizeof(*bs));
	struct rng_side *rs = calloc(1, sizeof(*rs));
	struct vio_sim_board *board = calloc(1, sizeof(*board));
	bool board_ok;

	if (bs == NULL || rs == NULL || board == NULL)
		return 2;
	bs->board = rs->board = board;
	bs->arena = calloc(1, ARENA_BYTES);
	bs->disk = calloc(DISK_SECTORS, VIO_BLK_SECTOR_SIZE);
	rs->arena = calloc(1, ARENA_BYTES);
	if (bs->arena == NULL || bs->disk == NULL || rs->arena == NULL)
		return 2;

	printf("vioport demo: virtio-blk on a %u KiB RAM disk, virtio-rng, loopback transport\n",
	       DISK_SECTORS / 2);
	board_ok = board_setup(bs, board);
	step("blk device negotiated and started", board_ok && blk_setup(bs));
	printf("blk features offered 0x%llx, accepted 0x%llx, cache %s\n",
	       (unsigned long long) bs->board->blk.dev.host_features,
	       (unsigned long long) bs->board->blk.dev.driver_features,
	       vio_blk_writeback(&bs->board->blk) ? "writeback" : "writethrough");
	if (failures == 0) {
		demo_blk_io(bs);
		demo_blk_id_discard(bs);
		demo_blk_async(bs);
	}
	step("rng device negotiated and started", board_ok && rng_setup(rs));
	if (failures == 0)
		demo_rng(rs);

	printf("vioport demo: %s (%d failed step%s)\n", failures == 0 ? "SUCCESS" : "FAILURE",
	       failures, failures == 1 ? "" : "s");
	free(rs->arena);
	free(bs->disk);
	free(bs->arena);
	free(board);
	free(rs);
	free(bs);
	return failures == 0 ? 0 : 1;
}
