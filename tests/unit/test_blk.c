/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-blk device: every request type and every error status, config space,
 * multiqueue, the cache mode, asynchronous completion, slot exhaustion and
 * reset. The device runs on the RAM disk behind the loopback transport; the
 * tests play the driver through the driver-side queue.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h> /* after the headers it needs */

#include "vioport/blk.h"
#include "vioport/byteorder.h"
#include "vioport/errno.h"
#include "vioport/loopback.h"
#include "vioport/sim_ramdisk.h"

#define ARENA_SIZE   (1u << 20)
#define BUS_BASE     0x80000000ull
#define DISK_SECTORS 64u
#define QSIZE	     128u
#define NSLOTS	     8u
#define MAXRQ	     64u
#define UNTOUCHED    0xeeu
#define SERIAL	     "VIOPORT-TEST-SERIAL1" /* exactly 20 bytes: no NUL on the wire */

enum dir { NONE, OUT, IN };

/* One request as the driver built it. */
struct rq {
	uint8_t *hdr;
	uint8_t *data;
	uint8_t *status;
	uint32_t data_len;
	bool done;
	uint32_t len;
};

static struct {
	_Alignas(16) uint8_t arena[ARENA_SIZE];
	uint8_t disk[DISK_SECTORS * VIO_BLK_SECTOR_SIZE];
	struct vio_sim_ramdisk rd;
	struct vio_sim_ramdisk_op pend[32];
	struct vio_blk blk;
	struct vio_queue queues[2];
	struct vio_blk_req slots[NSLOTS];
	struct vio_loopback lb;
	struct vio_drvq dq[2];
	struct vio_drvq_slot dslots[2][QSIZE];
	struct rq rqs[MAXRQ];
	unsigned nrq;
	struct vio_blk_params p;
	struct vio_blk_ops ops;
	uint64_t want;
	unsigned done_order[MAXRQ];
	unsigned ndone;
} F;

static uint8_t disk_byte(size_t i)
{
	return (uint8_t) (i * 7u + 3u);
}

static int fixture(void **state)
{
	(void) state;
	memset(&F, 0, sizeof(F));
	for (size_t i = 0; i < sizeof(F.disk); i++)
		F.disk[i] = disk_byte(i);
	F.p.capacity = DISK_SECTORS;
	F.p.features = VIO_BIT(VIO_BLK_F_SIZE_MAX) | VIO_BIT(VIO_BLK_F_SEG_MAX) |
		       VIO_BIT(VIO_BLK_F_BLK_SIZE) | VIO_BIT(VIO_BLK_F_FLUSH) |
		       VIO_BIT(VIO_BLK_F_TOPOLOGY) | VIO_BIT(VIO_BLK_F_CONFIG_WCE) |
		       VIO_BIT(VIO_BLK_F_DISCARD) | VIO_BIT(VIO_BLK_F_WRITE_ZEROES);
	F.p.num_queues = 1;
	F.p.queue_size = QSIZE;
	F.p.size_max = 65536;
	F.p.seg_max = 64;
	F.p.blk_size = 4096;
	F.p.physical_block_exp = 3;
	F.p.alignment_offset = 1;
	F.p.min_io_size = 8;
	F.p.opt_io_size = 64;
	F.p.writeback = true;
	F.p.max_discard_sectors = 32;
	F.p.max_discard_seg = 4;
	F.p.discard_sector_alignment = 8;
	F.p.max_write_zeroes_sectors = 16;
	F.p.max_write_zeroes_seg = 2;
	F.p.write_zeroes_may_unmap = true;
	memcpy(F.p.serial, SERIAL, VIO_BLK_ID_BYTES);
	F.ops = vio_sim_ramdisk_ops;
	F.want = ~0ull;
	return 0;
}

/* Builds the device with nslots slots, negotiates F.want and starts every queue. */
static void start_n(uint16_t nslots)
{
	uint16_t nq;

	vio_sim_ramdisk_init(&F.rd, F.disk, sizeof(F.disk));
	assert_int_equal(vio_blk_init(&F.blk, &F.p, &F.ops, &F.rd, F.queues, F.slots, nslots), 0);
	assert_int_equal(vio_loopback_init(&F.lb, &F.blk.dev, F.arena, sizeof(F.arena), BUS_BASE),
			 0);
	assert_int_equal(vio_loopback_negotiate(&F.lb, F.want), 0);
	nq = vio_device_has(&F.blk.dev, VIO_BLK_F_MQ) ? F.p.num_queues : 1;
	for (uint16_t q = 0; q < nq; q++)
		assert_int_equal(vio_loopback_queue(&F.lb, q, QSIZE, &F.dq[q], F.dslots[q]), 0);
	assert_int_equal(vio_loopback_driver_ok(&F.lb), 0);
}

static void start(void)
{
	start_n(NSLOTS);
}

static void defer(void)
{
	assert_int_equal(vio_sim_ramdisk_defer(&F.rd, F.pend, 32), 0);
}

static void *alloc(uint32_t len)
{
	void *p = vio_loopback_alloc(&F.lb, len, NULL);

	assert_non_null(p);
	return p;
}

static struct vio_buf buf(const void *p, uint32_t len)
{
	struct vio_buf b = {vio_loopback_bus(&F.lb, p), len};

	return b;
}

static struct rq *rq_new(uint32_t type, uint64_t sector, uint32_t data_len)
{
	struct rq *r;

	assert_true(F.nrq < MAXRQ);
	r = &F.rqs[F.nrq++];
	r->hdr = alloc(VIO_BLK_REQ_HDR);
	vio_put_le32(r->hdr, type);
	vio_put_le64(r->hdr + 8, sector);
	r->data_len = data_len;
	if (data_len != 0)
		r->data = alloc(data_len);
	r->status = alloc(1);
	*r->status = UNTOUCHED;
	return r;
}

/* Queues r in the usual shape: header, data in direction d, status. */
static void rq_queue(uint16_t q, struct rq *r, enum dir d)
{
	struct vio_buf out[2], in[2];
	unsigned nout = 0, nin = 0;

	out[nout++] = buf(r->hdr, VIO_BLK_REQ_HDR);
	if (d == OUT)
		out[nout++] = buf(r->data, r->data_len);
	if (d == IN)
		in[nin++] = buf(r->data, r->data_len);
	in[nin++] = buf(r->status, 1);
	assert_true(vio_drvq_add(&F.dq[q], out, nout, in, nin, r) >= 0);
}

/* Collects the used entries of queue q; returns how many came back. */
static unsigned reap(uint16_t q)
{
	void *token;
	uint32_t len;
	unsigned n = 0;
	int rc;

	while ((rc = vio_drvq_get_used(&F.dq[q], &token, &len)) == 1) {
		struct rq *r = token;

		assert_false(r->done);
		r->done = true;
		r->len = len;
		F.done_order[F.ndone++] = (unsigned) (r - F.rqs);
		n++;
	}
	assert_int_equal(rc, 0);
	return n;
}

static void kick(uint16_t q)
{
	vio_loopback_kick(&F.lb, q);
}

/* Sends one request on queue 0 and waits for it (synchronous provider). */
static struct rq *run_rq(uint32_t type, uint64_t sector, uint32_t data_len, enum dir d,
			 const void *out_data)
{
	struct rq *r = rq_new(type, sector, data_len);

	if (out_data != NULL)
		memcpy(r->data, out_data, data_len);
	else if (r->data != NULL)
		memset(r->data, UNTOUCHED, data_len);
	rq_queue(0, r, d);
	kick(0);
	assert_int_equal(reap(0), 1);
	assert_true(r->done);
	return r;
}

static void assert_disk_untouched(void)
{
	for (size_t i = 0; i < sizeof(F.disk); i++)
		if (F.disk[i] != disk_byte(i))
			fail_msg("disk byte %zu changed", i);
}

static void fill_pattern(uint8_t *p, uint32_t len, uint8_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t) (seed + i * 13u);
}

/* A discard / write-zeroes segment in driver memory. */
static void put_seg(uint8_t *p, uint64_t sector, uint32_t n, uint32_t flags)
{
	vio_put_le64(p, sector);
	vio_put_le32(p + 8, n);
	vio_put_le32(p + 12, flags);
}

static struct rq *run_dwz(uint32_t type, unsigned nseg, const uint64_t *sector, const uint32_t *n,
			  const uint32_t *flags)
{
	uint8_t segs[16 * 8];

	assert_true(nseg <= 8);
	for (unsigned i = 0; i < nseg; i++)
		put_seg(segs + 16 * i, sector[i], n[i], flags[i]);
	return run_rq(type, 0, 16 * nseg, OUT, segs);
}

/* ---- config space and set-up ---- */

static void config_layout(void **state)
{
	uint8_t c[VIO_BLK_CONFIG_SIZE];

	(void) state;
	F.p.features |= VIO_BIT(VIO_BLK_F_MQ);
	F.p.num_queues = 2;
	start();
	assert_int_equal(F.blk.dev.device_id, 2);
	assert_int_equal(F.blk.dev.config_len, 72);
	assert_int_equal(vio_device_read_config(&F.blk.dev, 0, c, sizeof(c)), 0);
	/* offsets straight from struct virtio_blk_config, not from the header's macros */
	assert_int_equal(vio_get_le64(c + 0), DISK_SECTORS);
	assert_int_equal(vio_get_le32(c + 8), 65536);
	assert_int_equal(vio_get_le32(c + 12), 64);
	assert_int_equal(vio_get_le16(c + 16), 0); /* no geometry */
	assert_int_equal(c[18], 0);
	assert_int_equal(c[19], 0);
	assert_int_equal(vio_get_le32(c + 20), 4096);
	assert_int_equal(c[24], 3);
	assert_int_equal(c[25], 1);
	assert_int_equal(vio_get_le16(c + 26), 8);
	assert_int_equal(vio_get_le32(c + 28), 64);
	assert_int_equal(c[32], 1);
	assert_int_equal(c[33], 0);
	assert_int_equal(vio_get_le16(c + 34), 2);
	assert_int_equal(vio_get_le32(c + 36), 32);
	assert_int_equal(vio_get_le32(c + 40), 4);
	assert_int_equal(vio_get_le32(c + 44), 8);
	assert_int_equal(vio_get_le32(c + 48), 16);
	assert_int_equal(vio_get_le32(c + 52), 2);
	assert_int_equal(c[56], 1);
	for (unsigned i = 57; i < 72; i++)
		assert_int_equal(c[i], 0);
	assert_int_equal(vio_device_read_config(&F.blk.dev, 70, c, 4), -VIO_ERANGE);
	/* the byte order is little-endian whatever the host */
	assert_int_equal(F.blk.config[0], DISK_SECTORS);
	assert_int_equal(F.blk.config[9], 0x00);
	assert_int_equal(F.blk.config[10], 0x01); /* 65536 = 00 00 01 00 */
}

static void config_without_features(void **state)
{
	uint8_t c[VIO_BLK_CONFIG_SIZE];

	(void) state;
	F.p.features = 0;
	start();
	assert_int_equal(vio_device_read_config(&F.blk.dev, 0, c, sizeof(c)), 0);
	assert_int_equal(vio_get_le64(c), DISK_SECTORS);
	for (unsigned i = 8; i < 72; i++)
		assert_int_equal(c[i], 0);
	assert_int_equal(F.blk.dev.host_features, VIO_BIT(VIO_F_VERSION_1));
}

static void features_offered(void **state)
{
	(void) state;
	start();
	assert_int_equal(F.blk.dev.host_features, F.p.features | VIO_BIT(VIO_F_VERSION_1));
	assert_int_equal(F.blk.dev.driver_features, F.blk.dev.host_features);
}

static void init_rejects_bad_params(void **state)
{
	struct vio_blk_params p;
	struct vio_blk_ops o = vio_sim_ramdisk_ops;

	(void) state;
	vio_sim_ramdisk_init(&F.rd, F.disk, sizeof(F.disk));
#define REJECT(stmt)                                                                               \
	do {                                                                                       \
		p = F.p;                                                                           \
		o = vio_sim_ramdisk_ops;                                                           \
		stmt;                                                                              \
		assert_int_equal(vio_blk_init(&F.blk, &p, &o, &F.rd, F.queues, F.slots, NSLOTS),   \
				 -VIO_EINVAL);                                                     \
	} while (0)
	REJECT(p.features &= ~VIO_BIT(VIO_BLK_F_FLUSH)); /* CONFIG_WCE needs FLUSH */
	REJECT(p.features |= VIO_BIT(VIO_F_IN_ORDER));
	REJECT(p.features |= VIO_BIT(VIO_BLK_F_GEOMETRY));
	REJECT(p.features |= VIO_BIT(VIO_BLK_F_SECURE_ERASE));
	REJECT(p.max_discard_seg = 0);
	REJECT(p.max_write_zeroes_sectors = 0);
	REJECT(p.seg_max = VIO_BLK_SLOT_SEGS - 1);
	REJECT(p.seg_max = 0);
	REJECT(p.blk_size = 1000);
	REJECT(p.num_queues = 2); /* without MQ */
	REJECT((p.features |= VIO_BIT(VIO_BLK_F_MQ), p.num_queues = 0));
	REJECT(p.queue_size = 0);
	REJECT(o.read = NULL);
	REJECT(o.write = NULL); /* writable disk */
	REJECT(o.flush = NULL);
	REJECT(o.discard = NULL);
	REJECT(o.write_zeroes = NULL);
#undef REJECT
	assert_int_equal(vio_blk_init(&F.blk, &F.p, &o, &F.rd, F.queues, F.slots, 0), -VIO_EINVAL);
	/* a read-only disk needs no write hook */
	p = F.p;
	p.features = VIO_BIT(VIO_BLK_F_RO);
	o.write = NULL;
	assert_int_equal(vio_blk_init(&F.blk, &p, &o, &F.rd, F.queues, F.slots, NSLOTS), 0);
}

/* ---- request types ---- */

static void write_then_read(void **state)
{
	uint8_t pat[1024];
	struct rq *w, *r;

	(void) state;
	start();
	fill_pattern(pat, sizeof(pat), 0x11);
	w = run_rq(VIO_BLK_T_OUT, 3, sizeof(pat), OUT, pat);
	assert_int_equal(*w->status, VIO_BLK_S_OK);
	assert_int_equal(w->len, 1);
	assert_memory_equal(F.disk + 3 * 512, pat, sizeof(pat));
	assert_int_equal(F.disk[5 * 512], disk_byte(5 * 512)); /* nothing beyond */
	r = run_rq(VIO_BLK_T_IN, 3, sizeof(pat), IN, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_int_equal(r->len, sizeof(pat) + 1);
	assert_memory_equal(r->data, pat, sizeof(pat));
	assert_int_equal(F.rd.writes, 1);
	assert_int_equal(F.rd.reads, 1);
	assert_int_equal(F.lb.used_irqs[0], 2);
}

static void read_last_sector(void **state)
{
	struct rq *r;

	(void) state;
	start();
	r = run_rq(VIO_BLK_T_IN, DISK_SECTORS - 1, 512, IN, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_memory_equal(r->data, F.disk + (DISK_SECTORS - 1) * 512, 512);
}

/* Header split in two, data in odd pieces, the status sharing the last data descriptor. */
static void scattered_shapes(void **state)
{
	uint8_t *hdr, *d0, *d1, *tail;
	struct vio_buf out[2], in[3];
	uint8_t pat[512];
	struct rq *r = &F.rqs[F.nrq++];

	(void) state;
	start();
	hdr = alloc(16);
	vio_put_le32(hdr, VIO_BLK_T_IN);
	vio_put_le64(hdr + 8, 2);
	d0 = alloc(100);
	d1 = alloc(300);
	tail = alloc(113); /* 112 data bytes + status */
	tail[112] = UNTOUCHED;
	out[0] = buf(hdr, 5);
	out[1] = buf(hdr + 5, 11);
	in[0] = buf(d0, 100);
	in[1] = buf(d1, 300);
	in[2] = buf(tail, 113);
	assert_true(vio_drvq_add(&F.dq[0], out, 2, in, 3, r) >= 0);
	kick(0);
	assert_int_equal(reap(0), 1);
	assert_int_equal(tail[112], VIO_BLK_S_OK);
	assert_int_equal(r->len, 513);
	assert_memory_equal(d0, F.disk + 1024, 100);
	assert_memory_equal(d1, F.disk + 1124, 300);
	assert_memory_equal(tail, F.disk + 1424, 112);

	/* a write whose header and data share one descriptor */
	hdr = alloc(16 + 512);
	vio_put_le32(hdr, VIO_BLK_T_OUT);
	vio_put_le64(hdr + 8, 9);
	fill_pattern(pat, sizeof(pat), 0x5a);
	memcpy(hdr + 16, pat, sizeof(pat));
	tail = alloc(1);
	*tail = UNTOUCHED;
	r = &F.rqs[F.nrq++];
	out[0] = buf(hdr, 16 + 512);
	in[0] = buf(tail, 1);
	assert_true(vio_drvq_add(&F.dq[0], out, 1, in, 1, r) >= 0);
	kick(0);
	assert_int_equal(reap(0), 1);
	assert_int_equal(*tail, VIO_BLK_S_OK);
	assert_memory_equal(F.disk + 9 * 512, pat, sizeof(pat));
}

static void zero_length_read(void **state)
{
	struct rq *r;

	(void) state;
	start();
	r = run_rq(VIO_BLK_T_IN, 0, 0, NONE, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_int_equal(r->len, 1);
	assert_int_equal(F.rd.reads, 0);
}

static void flush(void **state)
{
	struct rq *r;

	(void) state;
	start();
	r = run_rq(VIO_BLK_T_FLUSH, 0, 0, NONE, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_int_equal(r->len, 1);
	assert_int_equal(F.rd.flushes, 1);
}

static void flush_not_offered(void **state)
{
	struct rq *r;

	(void) state;
	F.p.features &= ~(VIO_BIT(VIO_BLK_F_FLUSH) | VIO_BIT(VIO_BLK_F_CONFIG_WCE));
	start();
	r = run_rq(VIO_BLK_T_FLUSH, 0, 0, NONE, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_UNSUPP);
	assert_int_equal(F.rd.flushes, 0);
}

static void get_id(void **state)
{
	struct rq *r;

	(void) state;
	start();
	r = run_rq(VIO_BLK_T_GET_ID, 0, VIO_BLK_ID_BYTES, IN, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_int_equal(r->len, 21);
	assert_memory_equal(r->data, SERIAL, 20);
}

static void get_id_short_serial_padded(void **state)
{
	struct rq *r;
	uint8_t want[20] = "disk0";

	(void) state;
	memset(F.p.serial, 0, sizeof(F.p.serial));
	memcpy(F.p.serial, "disk0", 5);
	start();
	r = run_rq(VIO_BLK_T_GET_ID, 0, VIO_BLK_ID_BYTES, IN, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_memory_equal(r->data, want, 20);
}

static void get_id_small_buffer(void **state)
{
	struct rq *r;

	(void) state;
	start();
	r = run_rq(VIO_BLK_T_GET_ID, 0, 8, IN, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_int_equal(r->len, 9);
	assert_memory_equal(r->data, SERIAL, 8);
}

static void get_id_large_buffer(void **state)
{
	struct rq *r;

	(void) state;
	start();
	r = run_rq(VIO_BLK_T_GET_ID, 0, 64, IN, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_int_equal(r->len, 21);
	assert_memory_equal(r->data, SERIAL, 20);
	assert_int_equal(r->data[20], UNTOUCHED);
}

static void get_id_without_buffer(void **state)
{
	struct rq *r;

	(void) state;
	start();
	r = run_rq(VIO_BLK_T_GET_ID, 0, 0, NONE, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	assert_int_equal(r->len, 1);
}

static void get_id_with_readable_data(void **state)
{
	struct rq *r;

	(void) state;
	start();
	r = run_rq(VIO_BLK_T_GET_ID, 0, 20, OUT, SERIAL);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
}

static void discard(void **state)
{
	uint64_t sec[2] = {4, 20};
	uint32_t n[2] = {2, 3};
	uint32_t fl[2] = {0, 0};
	struct rq *r;

	(void) state;
	start();
	r = run_dwz(VIO_BLK_T_DISCARD, 2, sec, n, fl);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_int_equal(r->len, 1);
	assert_int_equal(F.rd.discards, 2);
	for (unsigned i = 4 * 512; i < 6 * 512; i++)
		assert_int_equal(F.disk[i], 0);
	for (unsigned i = 20 * 512; i < 23 * 512; i++)
		assert_int_equal(F.disk[i], 0);
	assert_int_equal(F.disk[6 * 512], disk_byte(6 * 512));
	assert_int_equal(F.disk[4 * 512 - 1], disk_byte(4 * 512 - 1));
	assert_int_equal(F.disk[23 * 512], disk_byte(23 * 512));
}

static void write_zeroes(void **state)
{
	uint64_t sec[2] = {0, 63};
	uint32_t n[2] = {1, 1};
	uint32_t fl[2] = {VIO_BLK_WZ_F_UNMAP, 0};
	struct rq *r, *rd;

	(void) state;
	start();
	r = run_dwz(VIO_BLK_T_WRITE_ZEROES, 2, sec, n, fl);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_int_equal(F.rd.write_zeroes, 2);
	rd = run_rq(VIO_BLK_T_IN, 63, 512, IN, NULL);
	for (unsigned i = 0; i < 512; i++)
		assert_int_equal(rd->data[i], 0);
	assert_int_equal(F.disk[0], 0);
	assert_int_equal(F.disk[512], disk_byte(512));
}

static void zero_sector_segment(void **state)
{
	uint64_t sec[1] = {5};
	uint32_t n[1] = {0};
	uint32_t fl[1] = {0};
	struct rq *r;

	(void) state;
	start();
	r = run_dwz(VIO_BLK_T_DISCARD, 1, sec, n, fl);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_int_equal(F.rd.discards, 0);
}

/* ---- bad requests, one status each ---- */

static void unknown_type(void **state)
{
	struct rq *r;

	(void) state;
	start();
	r = run_rq(99, 0, 0, NONE, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_UNSUPP);
	assert_int_equal(r->len, 1);
	r = run_rq(VIO_BLK_T_IN | 0x80000000u, 0, 512, IN, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_UNSUPP);
}

static void lifetime_and_secure_erase_unsupported(void **state)
{
	struct rq *r;
	uint8_t seg[16];

	(void) state;
	start();
	r = run_rq(VIO_BLK_T_GET_LIFETIME, 0, 6, IN, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_UNSUPP);
	assert_int_equal(r->len, 1);
	put_seg(seg, 0, 8, 0);
	r = run_rq(VIO_BLK_T_SECURE_ERASE, 0, 16, OUT, seg);
	assert_int_equal(*r->status, VIO_BLK_S_UNSUPP);
	assert_disk_untouched();
}

static void no_status_byte(void **state)
{
	struct rq *r;
	struct vio_buf out;

	(void) state;
	start();
	r = rq_new(VIO_BLK_T_IN, 0, 0);
	out = buf(r->hdr, 16);
	assert_true(vio_drvq_add(&F.dq[0], &out, 1, NULL, 0, r) >= 0);
	kick(0);
	assert_int_equal(reap(0), 1);
	assert_int_equal(r->len, 0);
	assert_int_equal(*r->status, UNTOUCHED);
	assert_int_equal(F.rd.reads, 0);
}

static void zero_length_status(void **state)
{
	struct rq *r;
	struct vio_buf out, in;

	(void) state;
	start();
	r = rq_new(VIO_BLK_T_FLUSH, 0, 0);
	out = buf(r->hdr, 16);
	in = buf(r->status, 0);
	assert_true(vio_drvq_add(&F.dq[0], &out, 1, &in, 1, r) >= 0);
	kick(0);
	assert_int_equal(reap(0), 1);
	assert_int_equal(r->len, 0);
	assert_int_equal(*r->status, UNTOUCHED);
	assert_int_equal(F.rd.flushes, 0);
}

static void short_header(void **state)
{
	struct rq *r;
	struct vio_buf out, in;

	(void) state;
	start();
	r = rq_new(VIO_BLK_T_OUT, 0, 0);
	out = buf(r->hdr, 15);
	in = buf(r->status, 1);
	assert_true(vio_drvq_add(&F.dq[0], &out, 1, &in, 1, r) >= 0);
	kick(0);
	assert_int_equal(reap(0), 1);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	assert_int_equal(r->len, 1);
}

static void too_many_segments(void **state)
{
	/* 72 pieces of 64 bytes: 9 sectors, well inside the disk, in too many segments */
	enum { NDATA = 72, PIECE = 64 };
	struct vio_buf out[1], in[NDATA + 1];
	uint8_t *data;
	struct rq *r;

	(void) state;
	assert_true(NDATA + 2 > VIO_BLK_SLOT_SEGS);
	start();
	r = rq_new(VIO_BLK_T_IN, 0, 0);
	data = alloc(NDATA * PIECE);
	memset(data, UNTOUCHED, NDATA * PIECE);
	out[0] = buf(r->hdr, 16);
	for (unsigned i = 0; i < NDATA; i++)
		in[i] = buf(data + PIECE * i, PIECE);
	in[NDATA] = buf(r->status, 1);
	assert_true(vio_drvq_add(&F.dq[0], out, 1, in, NDATA + 1, r) >= 0);
	kick(0);
	assert_int_equal(reap(0), 1);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	assert_int_equal(r->len, 1);
	assert_int_equal(F.rd.reads, 0);
	assert_int_equal(data[0], UNTOUCHED);
}

static void read_past_end(void **state)
{
	struct rq *r;

	(void) state;
	start();
	r = run_rq(VIO_BLK_T_IN, DISK_SECTORS - 1, 1024, IN, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	assert_int_equal(r->len, 1);
	assert_int_equal(r->data[0], UNTOUCHED);
	r = run_rq(VIO_BLK_T_IN, DISK_SECTORS, 512, IN, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	/* a sector that would wrap the end computation */
	r = run_rq(VIO_BLK_T_IN, UINT64_MAX, 512, IN, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	assert_int_equal(F.rd.reads, 0);
}

static void write_past_end(void **state)
{
	uint8_t pat[1024];
	struct rq *r;

	(void) state;
	start();
	fill_pattern(pat, sizeof(pat), 1);
	r = run_rq(VIO_BLK_T_OUT, DISK_SECTORS - 1, sizeof(pat), OUT, pat);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	r = run_rq(VIO_BLK_T_OUT, UINT64_MAX - 1, sizeof(pat), OUT, pat);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	assert_disk_untouched();
}

static void read_not_sector_multiple(void **state)
{
	struct rq *r;

	(void) state;
	start();
	r = run_rq(VIO_BLK_T_IN, 0, 513, IN, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	assert_int_equal(r->data[0], UNTOUCHED);
	assert_int_equal(F.rd.reads, 0);
}

static void write_not_sector_multiple(void **state)
{
	uint8_t pat[100] = {1};
	struct rq *r;

	(void) state;
	start();
	r = run_rq(VIO_BLK_T_OUT, 0, sizeof(pat), OUT, pat);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	assert_disk_untouched();
}

static void read_with_readable_data(void **state)
{
	uint8_t pat[512] = {0};
	struct rq *r;

	(void) state;
	start();
	r = run_rq(VIO_BLK_T_IN, 0, sizeof(pat), OUT, pat);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	assert_int_equal(F.rd.reads, 0);
}

static void write_with_writable_data(void **state)
{
	struct rq *r;

	(void) state;
	start();
	r = run_rq(VIO_BLK_T_OUT, 0, 512, IN, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	assert_int_equal(r->data[0], UNTOUCHED);
	assert_int_equal(F.rd.writes, 0);
	assert_disk_untouched();
}

static void read_only_disk(void **state)
{
	uint8_t pat[512];
	uint64_t sec[1] = {0};
	uint32_t n[1] = {1};
	uint32_t fl[1] = {0};
	struct rq *r;

	(void) state;
	F.p.features |= VIO_BIT(VIO_BLK_F_RO);
	start();
	assert_true(vio_device_has(&F.blk.dev, VIO_BLK_F_RO));
	fill_pattern(pat, sizeof(pat), 9);
	r = run_rq(VIO_BLK_T_OUT, 0, sizeof(pat), OUT, pat);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	r = run_dwz(VIO_BLK_T_DISCARD, 1, sec, n, fl);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	r = run_dwz(VIO_BLK_T_WRITE_ZEROES, 1, sec, n, fl);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	assert_int_equal(F.rd.writes + F.rd.discards + F.rd.write_zeroes, 0);
	assert_disk_untouched();
	r = run_rq(VIO_BLK_T_IN, 0, 512, IN, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_memory_equal(r->data, F.disk, 512);
}

static void discard_past_end(void **state)
{
	uint64_t sec[2] = {0, DISK_SECTORS - 1};
	uint32_t n[2] = {1, 2};
	uint32_t fl[2] = {0, 0};
	struct rq *r;

	(void) state;
	start();
	r = run_dwz(VIO_BLK_T_DISCARD, 2, sec, n, fl);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	sec[1] = UINT64_MAX;
	n[1] = 1;
	r = run_dwz(VIO_BLK_T_DISCARD, 2, sec, n, fl);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	assert_int_equal(F.rd.discards, 0); /* checked before anything ran */
	assert_disk_untouched();
}

static void write_zeroes_past_end(void **state)
{
	uint64_t sec[1] = {DISK_SECTORS};
	uint32_t n[1] = {1};
	uint32_t fl[1] = {0};
	struct rq *r;

	(void) state;
	start();
	r = run_dwz(VIO_BLK_T_WRITE_ZEROES, 1, sec, n, fl);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	assert_disk_untouched();
}

static void discard_too_many_segments(void **state)
{
	uint64_t sec[5] = {0, 1, 2, 3, 4};
	uint32_t n[5] = {1, 1, 1, 1, 1};
	uint32_t fl[5] = {0};
	struct rq *r;

	(void) state;
	start();
	r = run_dwz(VIO_BLK_T_DISCARD, 5, sec, n, fl); /* max_discard_seg is 4 */
	assert_int_equal(*r->status, VIO_BLK_S_UNSUPP);
	r = run_dwz(VIO_BLK_T_WRITE_ZEROES, 3, sec, n, fl); /* max_write_zeroes_seg is 2 */
	assert_int_equal(*r->status, VIO_BLK_S_UNSUPP);
	assert_disk_untouched();
}

static void discard_too_many_sectors(void **state)
{
	uint64_t sec[1] = {0};
	uint32_t n[1] = {33}; /* max_discard_sectors is 32 */
	uint32_t fl[1] = {0};
	struct rq *r;

	(void) state;
	start();
	r = run_dwz(VIO_BLK_T_DISCARD, 1, sec, n, fl);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	n[0] = 17; /* max_write_zeroes_sectors is 16 */
	r = run_dwz(VIO_BLK_T_WRITE_ZEROES, 1, sec, n, fl);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	assert_disk_untouched();
}

static void discard_with_unmap_flag(void **state)
{
	uint64_t sec[1] = {0};
	uint32_t n[1] = {1};
	uint32_t fl[1] = {VIO_BLK_WZ_F_UNMAP};
	struct rq *r;

	(void) state;
	start();
	r = run_dwz(VIO_BLK_T_DISCARD, 1, sec, n, fl);
	assert_int_equal(*r->status, VIO_BLK_S_UNSUPP);
	assert_disk_untouched();
}

/* UNSUPP wins over an out-of-range segment, and nothing runs before it is seen. */
static void unknown_flag_in_later_segment(void **state)
{
	uint64_t sec[3] = {0, DISK_SECTORS, 2};
	uint32_t n[3] = {1, 1, 1};
	uint32_t fl[3] = {0, 0, 0x4};
	struct rq *r;

	(void) state;
	start();
	r = run_dwz(VIO_BLK_T_DISCARD, 3, sec, n, fl);
	assert_int_equal(*r->status, VIO_BLK_S_UNSUPP);
	/* and in the other order: the unsupported segment first, the bad range after it */
	sec[0] = 1;
	fl[0] = 0x80000000u | VIO_BLK_WZ_F_UNMAP;
	sec[1] = DISK_SECTORS;
	fl[1] = VIO_BLK_WZ_F_UNMAP;
	r = run_dwz(VIO_BLK_T_WRITE_ZEROES, 2, sec, n, fl);
	assert_int_equal(*r->status, VIO_BLK_S_UNSUPP);
	fl[0] = VIO_BLK_WZ_F_UNMAP; /* only the range is wrong now */
	r = run_dwz(VIO_BLK_T_WRITE_ZEROES, 2, sec, n, fl);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	assert_int_equal(F.rd.discards + F.rd.write_zeroes, 0);
	assert_disk_untouched();
}

static void discard_bad_length(void **state)
{
	uint8_t segs[24] = {0};
	struct rq *r;

	(void) state;
	start();
	put_seg(segs, 0, 1, 0);
	r = run_rq(VIO_BLK_T_DISCARD, 0, 24, OUT, segs);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	r = run_rq(VIO_BLK_T_DISCARD, 0, 0, NONE, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	r = run_rq(VIO_BLK_T_WRITE_ZEROES, 0, 8, OUT, segs);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	assert_disk_untouched();
}

static void discard_with_writable_data(void **state)
{
	struct rq *r;

	(void) state;
	start();
	r = run_rq(VIO_BLK_T_DISCARD, 0, 16, IN, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	assert_int_equal(r->data[0], UNTOUCHED);
}

static void discard_not_negotiated(void **state)
{
	uint64_t sec[1] = {0};
	uint32_t n[1] = {1};
	uint32_t fl[1] = {0};
	struct rq *r;

	(void) state;
	F.want = ~(VIO_BIT(VIO_BLK_F_DISCARD) | VIO_BIT(VIO_BLK_F_WRITE_ZEROES));
	start();
	r = run_dwz(VIO_BLK_T_DISCARD, 1, sec, n, fl);
	assert_int_equal(*r->status, VIO_BLK_S_UNSUPP);
	r = run_dwz(VIO_BLK_T_WRITE_ZEROES, 1, sec, n, fl);
	assert_int_equal(*r->status, VIO_BLK_S_UNSUPP);
	assert_disk_untouched();
}

static void provider_error(void **state)
{
	struct rq *r;

	(void) state;
	start();
	F.rd.fail_next = VIO_BLK_S_IOERR;
	r = run_rq(VIO_BLK_T_IN, 0, 512, IN, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	assert_int_equal(r->len, 1);
	r = run_rq(VIO_BLK_T_IN, 0, 512, IN, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
}

static int bogus_flush(void *ctx, struct vio_blk_req *req)
{
	(void) ctx;
	(void) req;
	return -VIO_EIO;
}

static int weird_flush(void *ctx, struct vio_blk_req *req)
{
	(void) ctx;
	(void) req;
	return 77;
}

static void provider_bad_return_is_ioerr(void **state)
{
	struct rq *r;

	(void) state;
	F.ops.flush = bogus_flush;
	start();
	r = run_rq(VIO_BLK_T_FLUSH, 0, 0, NONE, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	F.ops.flush = weird_flush;
	r = run_rq(VIO_BLK_T_FLUSH, 0, 0, NONE, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
}

/* ---- multiqueue ---- */

static void multiqueue(void **state)
{
	uint8_t pat[512];
	struct rq *w, *r;

	(void) state;
	F.p.features |= VIO_BIT(VIO_BLK_F_MQ);
	F.p.num_queues = 2;
	start();
	assert_true(vio_device_has(&F.blk.dev, VIO_BLK_F_MQ));
	assert_int_equal(F.blk.dev.num_queues, 2);
	fill_pattern(pat, sizeof(pat), 0x77);
	w = rq_new(VIO_BLK_T_OUT, 7, 512);
	memcpy(w->data, pat, 512);
	rq_queue(1, w, OUT);
	kick(1);
	assert_int_equal(reap(0), 0);
	assert_int_equal(reap(1), 1);
	assert_int_equal(*w->status, VIO_BLK_S_OK);
	assert_int_equal(F.lb.used_irqs[1], 1);
	assert_int_equal(F.lb.used_irqs[0], 0);

	r = rq_new(VIO_BLK_T_IN, 7, 512);
	rq_queue(0, r, IN);
	kick(0);
	assert_int_equal(reap(1), 0);
	assert_int_equal(reap(0), 1);
	assert_memory_equal(r->data, pat, 512);
	assert_int_equal(F.lb.used_irqs[0], 1);
}

/* ---- cache mode ---- */

static void config_wce(void **state)
{
	uint8_t v = 0;

	(void) state;
	start();
	assert_int_equal(F.blk.config[VIO_BLK_CFG_WRITEBACK], 1);
	assert_true(vio_blk_writeback(&F.blk));
	assert_true(F.rd.writeback); /* told at DRIVER_OK */
	assert_int_equal(vio_device_write_config(&F.blk.dev, 32, &v, 1), 0);
	assert_int_equal(vio_device_read_config(&F.blk.dev, 32, &v, 1), 0);
	assert_int_equal(v, 0);
	assert_false(vio_blk_writeback(&F.blk));
	assert_false(F.rd.writeback);
	v = 1;
	assert_int_equal(vio_device_write_config(&F.blk.dev, 32, &v, 1), 0);
	assert_true(F.rd.writeback);
	v = 2;
	assert_int_equal(vio_device_write_config(&F.blk.dev, 32, &v, 1), -VIO_EINVAL);
	assert_int_equal(F.blk.config[32], 1);
	/* every other byte is read-only */
	assert_int_equal(vio_device_write_config(&F.blk.dev, 0, &v, 1), -VIO_EPERM);
	assert_int_equal(vio_device_write_config(&F.blk.dev, 33, &v, 1), -VIO_EPERM);
	assert_int_equal(vio_device_write_config(&F.blk.dev, 31, "\0\0", 2), -VIO_EPERM);
	assert_int_equal(vio_get_le64(F.blk.config), DISK_SECTORS);
	/* a reset restores the cache mode */
	v = 0;
	assert_int_equal(vio_device_write_config(&F.blk.dev, 32, &v, 1), 0);
	vio_device_reset(&F.blk.dev);
	assert_int_equal(F.blk.config[32], 1);
}

static void config_wce_not_negotiated(void **state)
{
	uint8_t v = 0;

	(void) state;
	F.want = ~VIO_BIT(VIO_BLK_F_CONFIG_WCE);
	start();
	assert_int_equal(vio_device_write_config(&F.blk.dev, 32, &v, 1), -VIO_EPERM);
	assert_int_equal(F.blk.config[32], 1);
	/* FLUSH negotiated without CONFIG_WCE: a writeback cache */
	assert_true(vio_blk_writeback(&F.blk));
}

static void config_wce_without_flush_starts_writethrough(void **state)
{
	(void) state;
	F.want = ~VIO_BIT(VIO_BLK_F_FLUSH);
	start();
	assert_int_equal(F.blk.config[32], 0);
	assert_false(vio_blk_writeback(&F.blk));
	assert_false(F.rd.writeback);
}

static void flush_offered_not_negotiated_is_writethrough(void **state)
{
	(void) state;
	F.want = ~(VIO_BIT(VIO_BLK_F_FLUSH) | VIO_BIT(VIO_BLK_F_CONFIG_WCE));
	start();
	assert_false(vio_blk_writeback(&F.blk));
	assert_false(F.rd.writeback);
}

static void capacity_change(void **state)
{
	uint32_t gen;
	uint32_t irqs;
	struct rq *r;

	(void) state;
	F.p.capacity = 16;
	start();
	r = run_rq(VIO_BLK_T_IN, 20, 512, IN, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	gen = F.blk.dev.config_generation;
	irqs = F.lb.config_irqs;
	vio_blk_set_capacity(&F.blk, 32);
	assert_int_equal(vio_get_le64(F.blk.config), 32);
	assert_int_equal(F.blk.dev.config_generation, gen + 1);
	assert_int_equal(F.lb.config_irqs, irqs + 1);
	r = run_rq(VIO_BLK_T_IN, 20, 512, IN, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
}

/* ---- asynchronous completion ---- */

static void async_out_of_order(void **state)
{
	struct rq *r[3];

	(void) state;
	start();
	defer();
	for (unsigned i = 0; i < 3; i++) {
		r[i] = rq_new(VIO_BLK_T_IN, 10 + i, 512);
		rq_queue(0, r[i], IN);
	}
	kick(0);
	assert_int_equal(reap(0), 0);
	assert_int_equal(vio_sim_ramdisk_pending(&F.rd), 3);
	assert_int_equal(vio_blk_inflight(&F.blk), 3);
	assert_int_equal(*r[0]->status, UNTOUCHED);

	assert_int_equal(vio_sim_ramdisk_complete(&F.rd, 2), VIO_BLK_S_OK); /* r[2] */
	assert_int_equal(F.lb.used_irqs[0], 1);
	assert_int_equal(reap(0), 1);
	assert_true(r[2]->done);
	assert_int_equal(vio_sim_ramdisk_complete(&F.rd, 0), VIO_BLK_S_OK); /* r[0] */
	assert_int_equal(vio_sim_ramdisk_complete(&F.rd, 0), VIO_BLK_S_OK); /* r[1] */
	assert_int_equal(vio_sim_ramdisk_complete(&F.rd, 0), -VIO_ENOENT);
	assert_int_equal(reap(0), 2);
	assert_int_equal(F.done_order[0], 2);
	assert_int_equal(F.done_order[1], 0);
	assert_int_equal(F.done_order[2], 1);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(*r[i]->status, VIO_BLK_S_OK);
		assert_int_equal(r[i]->len, 513);
		assert_memory_equal(r[i]->data, F.disk + (10 + i) * 512, 512);
	}
	assert_int_equal(vio_blk_inflight(&F.blk), 0);
}

/* ops->submit: what the provider left pending so far, and what the driver saw then. */
static unsigned submit_calls;
static uint16_t submit_pending[8];
static unsigned submit_used[8];

static void batch_submit(void *ctx)
{
	assert_ptr_equal(ctx, &F.rd);
	assert_true(submit_calls < 8);
	submit_pending[submit_calls] = vio_sim_ramdisk_pending(&F.rd);
	submit_used[submit_calls] = reap(0);
	submit_calls++;
	vio_sim_ramdisk_run(&F.rd); /* everything sent so far finishes inside the submission */
}

/*
 * A long run of requests goes to the provider submit_batch at a time, and
 * what finished is published before the device takes the next part, so the
 * driver hears of the first requests while the rest are still being taken.
 */
static void submit_batch_completes_early(void **state)
{
	struct rq *r[5];

	(void) state;
	submit_calls = 0;
	F.p.submit_batch = 2;
	F.ops.submit = batch_submit;
	start();
	defer();
	for (unsigned i = 0; i < 5; i++) {
		r[i] = rq_new(VIO_BLK_T_IN, 20 + i, 512);
		rq_queue(0, r[i], IN);
	}
	kick(0);
	assert_int_equal(submit_calls, 2);
	assert_int_equal(submit_pending[0], 2);
	assert_int_equal(submit_used[0], 0);
	assert_int_equal(submit_pending[1], 2);
	assert_int_equal(submit_used[1], 2); /* the first part was back before the second went */
	assert_true(r[0]->done && r[1]->done);
	/* the fifth waits for the provider: the end of a run is the caller's to submit */
	assert_int_equal(vio_sim_ramdisk_pending(&F.rd), 1);
	assert_int_equal(reap(0), 2);
	assert_int_equal(vio_sim_ramdisk_run(&F.rd), 1);
	assert_int_equal(reap(0), 1);
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(*r[i]->status, VIO_BLK_S_OK);
		assert_memory_equal(r[i]->data, F.disk + (20 + i) * 512, 512);
	}
	assert_int_equal(vio_blk_inflight(&F.blk), 0);
}

/* A batch of 0: the device never calls the hook, whatever the run's length. */
static void submit_batch_off(void **state)
{
	(void) state;
	submit_calls = 0;
	F.p.submit_batch = 0;
	F.ops.submit = batch_submit;
	start();
	defer();
	for (unsigned i = 0; i < 5; i++)
		rq_queue(0, rq_new(VIO_BLK_T_IN, i, 512), IN);
	kick(0);
	assert_int_equal(submit_calls, 0);
	assert_int_equal(vio_sim_ramdisk_pending(&F.rd), 5);
	assert_int_equal(vio_sim_ramdisk_run(&F.rd), 5);
	assert_int_equal(reap(0), 5);
}

/* A batch asked of a provider without the hook: one run, nothing called. */
static void submit_batch_without_hook(void **state)
{
	(void) state;
	F.p.submit_batch = 1;
	start(); /* vio_sim_ramdisk_ops has no submit hook */
	defer();
	for (unsigned i = 0; i < 3; i++)
		rq_queue(0, rq_new(VIO_BLK_T_IN, i, 512), IN);
	kick(0);
	assert_int_equal(vio_sim_ramdisk_pending(&F.rd), 3);
	assert_int_equal(vio_sim_ramdisk_run(&F.rd), 3);
	assert_int_equal(reap(0), 3);
}

static void async_write_lands_at_completion(void **state)
{
	uint8_t pat[512];
	struct rq *w;

	(void) state;
	start();
	defer();
	fill_pattern(pat, sizeof(pat), 0x42);
	w = rq_new(VIO_BLK_T_OUT, 1, 512);
	memcpy(w->data, pat, 512);
	rq_queue(0, w, OUT);
	kick(0);
	assert_disk_untouched();
	assert_int_equal(vio_sim_ramdisk_run(&F.rd), 1);
	assert_int_equal(reap(0), 1);
	assert_int_equal(*w->status, VIO_BLK_S_OK);
	assert_memory_equal(F.disk + 512, pat, 512);
}

static void async_error(void **state)
{
	struct rq *r;

	(void) state;
	start();
	defer();
	r = rq_new(VIO_BLK_T_FLUSH, 0, 0);
	rq_queue(0, r, NONE);
	kick(0);
	F.rd.fail_next = VIO_BLK_S_IOERR;
	assert_int_equal(vio_sim_ramdisk_run(&F.rd), 1);
	assert_int_equal(reap(0), 1);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
}

/* Discard segments go one at a time, each completing later. */
static void async_discard_segments(void **state)
{
	uint8_t segs[48];
	struct rq *r;

	(void) state;
	start();
	defer();
	put_seg(segs, 1, 1, 0);
	put_seg(segs + 16, 3, 1, 0);
	put_seg(segs + 32, 5, 1, 0);
	r = rq_new(VIO_BLK_T_DISCARD, 0, 48);
	memcpy(r->data, segs, 48);
	rq_queue(0, r, OUT);
	kick(0);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(vio_sim_ramdisk_pending(&F.rd), 1);
		assert_int_equal(reap(0), 0);
		assert_int_equal(vio_sim_ramdisk_run(&F.rd), 1);
	}
	assert_int_equal(vio_sim_ramdisk_pending(&F.rd), 0);
	assert_int_equal(reap(0), 1);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_int_equal(F.rd.discards, 3);
	assert_int_equal(F.disk[512], 0);
	assert_int_equal(F.disk[1024], disk_byte(1024));
}

/* A driver that rewrites a segment while the request runs gets IOERR, not a stray access. */
static void async_segment_rewritten(void **state)
{
	struct rq *r;

	(void) state;
	start();
	defer();
	r = rq_new(VIO_BLK_T_WRITE_ZEROES, 0, 32);
	put_seg(r->data, 1, 1, 0);
	put_seg(r->data + 16, 2, 1, 0);
	rq_queue(0, r, OUT);
	kick(0);
	assert_int_equal(vio_sim_ramdisk_pending(&F.rd), 1);
	put_seg(r->data + 16, DISK_SECTORS + 100, 1, 0);
	assert_int_equal(vio_sim_ramdisk_run(&F.rd), 1);
	assert_int_equal(vio_sim_ramdisk_pending(&F.rd), 0);
	assert_int_equal(reap(0), 1);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	assert_int_equal(F.rd.write_zeroes, 1);
}

static void pool_exhaustion_and_resume(void **state)
{
	struct rq *r[7];

	(void) state;
	start_n(2);
	defer();
	for (unsigned i = 0; i < 7; i++) {
		r[i] = rq_new(VIO_BLK_T_IN, i, 512);
		rq_queue(0, r[i], IN);
	}
	kick(0);
	assert_int_equal(vio_blk_inflight(&F.blk), 2);
	assert_int_equal(vio_sim_ramdisk_pending(&F.rd), 2);
	/* completing frees slots; the device goes back to the queue on its own */
	assert_int_equal(vio_sim_ramdisk_run(&F.rd), 2);
	assert_int_equal(reap(0), 2);
	assert_int_equal(vio_sim_ramdisk_pending(&F.rd), 2);
	assert_int_equal(vio_sim_ramdisk_complete(&F.rd, 1), VIO_BLK_S_OK);
	assert_int_equal(vio_sim_ramdisk_pending(&F.rd), 2);
	while (vio_sim_ramdisk_pending(&F.rd) != 0)
		vio_sim_ramdisk_run(&F.rd);
	reap(0);
	for (unsigned i = 0; i < 7; i++) {
		assert_true(r[i]->done);
		assert_int_equal(*r[i]->status, VIO_BLK_S_OK);
		assert_memory_equal(r[i]->data, F.disk + i * 512, 512);
	}
	assert_int_equal(vio_blk_inflight(&F.blk), 0);
}

/* Synchronous requests never hold a slot: one slot serves any number of them. */
static void one_slot_serves_sync_batch(void **state)
{
	struct rq *r[10];

	(void) state;
	start_n(1);
	for (unsigned i = 0; i < 10; i++) {
		r[i] = rq_new(VIO_BLK_T_IN, i, 512);
		rq_queue(0, r[i], IN);
	}
	kick(0);
	assert_int_equal(reap(0), 10);
	assert_int_equal(F.lb.used_irqs[0], 1); /* one batch, one interrupt */
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(*r[i]->status, VIO_BLK_S_OK);
}

static void reset_with_requests_in_flight(void **state)
{
	struct rq *r[3];
	uint16_t used_idx;
	struct rq *again;

	(void) state;
	start_n(2);
	defer();
	for (unsigned i = 0; i < 3; i++) {
		r[i] = rq_new(VIO_BLK_T_IN, i, 512);
		rq_queue(0, r[i], IN);
	}
	kick(0);
	assert_int_equal(vio_blk_inflight(&F.blk), 2);
	used_idx = vio_get_le16(&F.dq[0].used[1]);
	vio_device_set_status(&F.blk.dev, 0);
	assert_int_equal(F.blk.dev.status, 0);
	/* the orphans stay in flight until the provider lets go of them */
	assert_int_equal(vio_blk_inflight(&F.blk), 2);
	assert_int_equal(vio_sim_ramdisk_run(&F.rd), 2);
	assert_int_equal(vio_blk_inflight(&F.blk), 0);
	assert_int_equal(vio_get_le16(&F.dq[0].used[1]), used_idx);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(*r[i]->status, UNTOUCHED);
	/* a second completion of a released slot is ignored */
	vio_blk_complete(&F.slots[0], VIO_BLK_S_OK);
	assert_int_equal(vio_blk_inflight(&F.blk), 0);

	/* the driver sets the device up again and every slot serves it */
	assert_int_equal(vio_loopback_negotiate(&F.lb, F.want), 0);
	assert_int_equal(vio_loopback_queue(&F.lb, 0, QSIZE, &F.dq[0], F.dslots[0]), 0);
	assert_int_equal(vio_loopback_driver_ok(&F.lb), 0);
	for (unsigned i = 0; i < 2; i++) {
		again = rq_new(VIO_BLK_T_IN, 5, 512);
		rq_queue(0, again, IN);
	}
	kick(0);
	assert_int_equal(vio_blk_inflight(&F.blk), 2);
	assert_int_equal(vio_sim_ramdisk_run(&F.rd), 2);
	assert_int_equal(reap(0), 2);
	assert_int_equal(*again->status, VIO_BLK_S_OK);
	assert_memory_equal(again->data, F.disk + 5 * 512, 512);
}

/* Orphans that complete after the driver came back free their slots and resume the queue. */
/* Resetting one queue orphans only that queue's requests; the queue then works afresh. */
static void queue_reset_orphans_its_requests(void **state)
{
	struct rq *r[2], *fresh;

	(void) state;
	F.p.features |= VIO_BIT(VIO_F_RING_RESET);
	start();
	assert_true(vio_device_has(&F.blk.dev, VIO_F_RING_RESET));
	defer();
	for (unsigned i = 0; i < 2; i++) {
		r[i] = rq_new(VIO_BLK_T_IN, i, 512);
		rq_queue(0, r[i], IN);
	}
	kick(0);
	assert_int_equal(vio_blk_inflight(&F.blk), 2);
	assert_int_equal(vio_device_queue_reset(&F.blk.dev, 0), 0);
	/* The driver sets the queue up again before the provider lets go of the old requests. */
	assert_int_equal(vio_loopback_queue(&F.lb, 0, QSIZE, &F.dq[0], F.dslots[0]), 0);
	assert_int_equal(vio_sim_ramdisk_run(&F.rd), 2);
	assert_int_equal(vio_blk_inflight(&F.blk), 0);
	assert_int_equal(vio_get_le16(&F.dq[0].used[1]), 0);
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(*r[i]->status, UNTOUCHED);
	fresh = rq_new(VIO_BLK_T_IN, 3, 512);
	rq_queue(0, fresh, IN);
	kick(0);
	assert_int_equal(vio_sim_ramdisk_run(&F.rd), 1);
	assert_int_equal(reap(0), 1);
	assert_int_equal(*fresh->status, VIO_BLK_S_OK);
}

static void reset_orphans_complete_into_new_session(void **state)
{
	struct rq *old, *fresh;

	(void) state;
	start_n(1);
	defer();
	old = rq_new(VIO_BLK_T_IN, 1, 512);
	rq_queue(0, old, IN);
	kick(0);
	assert_int_equal(vio_blk_inflight(&F.blk), 1);
	assert_int_equal(vio_loopback_negotiate(&F.lb, F.want), 0); /* resets first */
	assert_int_equal(vio_loopback_queue(&F.lb, 0, QSIZE, &F.dq[0], F.dslots[0]), 0);
	assert_int_equal(vio_loopback_driver_ok(&F.lb), 0);
	fresh = rq_new(VIO_BLK_T_IN, 2, 512);
	rq_queue(0, fresh, IN);
	kick(0);
	/* the only slot is still held by the orphan */
	assert_int_equal(vio_sim_ramdisk_pending(&F.rd), 1);
	assert_int_equal(vio_sim_ramdisk_run(&F.rd), 1);
	assert_int_equal(*old->status, UNTOUCHED);
	assert_int_equal(reap(0), 0);
	/* the freed slot took the new request */
	assert_int_equal(vio_sim_ramdisk_pending(&F.rd), 1);
	assert_int_equal(vio_sim_ramdisk_run(&F.rd), 1);
	assert_int_equal(reap(0), 1);
	assert_true(fresh->done);
	assert_false(old->done);
	assert_int_equal(*fresh->status, VIO_BLK_S_OK);
}

/* A provider may complete from inside its own call even after answering PENDING. */
static int inline_read(void *ctx, uint64_t sector, const struct vio_iov *iov, uint16_t niov,
		       struct vio_blk_req *req)
{
	(void) ctx;
	(void) sector;
	for (uint16_t i = 0; i < niov; i++)
		memset(iov[i].base, 0x3c, iov[i].len);
	vio_blk_complete(req, VIO_BLK_S_OK);
	return VIO_BLK_PENDING;
}

/* ... or complete from inside and still return a status, which is then ignored. */
static int inline_discard(void *ctx, uint64_t sector, uint32_t nsectors, struct vio_blk_req *req)
{
	struct vio_sim_ramdisk *rd = ctx;

	(void) sector;
	(void) nsectors;
	rd->discards++;
	vio_blk_complete(req, VIO_BLK_S_OK);
	return VIO_BLK_S_IOERR;
}

static void completion_inside_provider_call(void **state)
{
	uint64_t sec[3] = {1, 2, 3};
	uint32_t n[3] = {1, 1, 1};
	uint32_t fl[3] = {0};
	struct rq *r;

	(void) state;
	F.ops.read = inline_read;
	F.ops.discard = inline_discard;
	start();
	r = run_rq(VIO_BLK_T_IN, 0, 512, IN, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_int_equal(r->len, 513);
	assert_int_equal(r->data[511], 0x3c);
	r = run_dwz(VIO_BLK_T_DISCARD, 3, sec, n, fl);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_int_equal(F.rd.discards, 3);
	assert_int_equal(vio_blk_inflight(&F.blk), 0);
	/* exactly one used entry per request: nothing was pushed twice */
	assert_int_equal(vio_get_le16(&F.dq[0].used[1]), 2);
}

/* An orphaned multi-segment request stops at its current segment. */
static void reset_during_segmented_request(void **state)
{
	struct rq *r;

	(void) state;
	start();
	defer();
	r = rq_new(VIO_BLK_T_DISCARD, 0, 32);
	put_seg(r->data, 1, 1, 0);
	put_seg(r->data + 16, 2, 1, 0);
	rq_queue(0, r, OUT);
	kick(0);
	assert_int_equal(vio_sim_ramdisk_pending(&F.rd), 1);
	vio_device_reset(&F.blk.dev);
	assert_int_equal(vio_sim_ramdisk_run(&F.rd), 1);
	assert_int_equal(vio_sim_ramdisk_pending(&F.rd), 0);
	assert_int_equal(F.rd.discards, 1);
	assert_int_equal(vio_blk_inflight(&F.blk), 0);
	assert_int_equal(*r->status, UNTOUCHED);
}

static void broken_ring_stops_device(void **state)
{
	struct rq *r;

	(void) state;
	start();
	r = rq_new(VIO_BLK_T_IN, 0, 512);
	rq_queue(0, r, IN);
	vio_drvq_kick_prepare(&F.dq[0]);
	/* the driver claims far more buffers than the ring holds */
	vio_put_le16(&F.dq[0].avail[1], (uint16_t) (QSIZE + 5));
	vio_device_kick(&F.blk.dev, 0);
	assert_true(F.blk.dev.status & VIO_STATUS_NEEDS_RESET);
	assert_int_equal(vio_blk_inflight(&F.blk), 0);
	assert_int_equal(F.rd.reads, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(config_layout, fixture),
	    cmocka_unit_test_setup(config_without_features, fixture),
	    cmocka_unit_test_setup(features_offered, fixture),
	    cmocka_unit_test_setup(init_rejects_bad_params, fixture),
	    cmocka_unit_test_setup(write_then_read, fixture),
	    cmocka_unit_test_setup(read_last_sector, fixture),
	    cmocka_unit_test_setup(scattered_shapes, fixture),
	    cmocka_unit_test_setup(zero_length_read, fixture),
	    cmocka_unit_test_setup(flush, fixture),
	    cmocka_unit_test_setup(flush_not_offered, fixture),
	    cmocka_unit_test_setup(get_id, fixture),
	    cmocka_unit_test_setup(get_id_short_serial_padded, fixture),
	    cmocka_unit_test_setup(get_id_small_buffer, fixture),
	    cmocka_unit_test_setup(get_id_large_buffer, fixture),
	    cmocka_unit_test_setup(get_id_without_buffer, fixture),
	    cmocka_unit_test_setup(get_id_with_readable_data, fixture),
	    cmocka_unit_test_setup(discard, fixture),
	    cmocka_unit_test_setup(write_zeroes, fixture),
	    cmocka_unit_test_setup(zero_sector_segment, fixture),
	    cmocka_unit_test_setup(unknown_type, fixture),
	    cmocka_unit_test_setup(lifetime_and_secure_erase_unsupported, fixture),
	    cmocka_unit_test_setup(no_status_byte, fixture),
	    cmocka_unit_test_setup(zero_length_status, fixture),
	    cmocka_unit_test_setup(short_header, fixture),
	    cmocka_unit_test_setup(too_many_segments, fixture),
	    cmocka_unit_test_setup(read_past_end, fixture),
	    cmocka_unit_test_setup(write_past_end, fixture),
	    cmocka_unit_test_setup(read_not_sector_multiple, fixture),
	    cmocka_unit_test_setup(write_not_sector_multiple, fixture),
	    cmocka_unit_test_setup(read_with_readable_data, fixture),
	    cmocka_unit_test_setup(write_with_writable_data, fixture),
	    cmocka_unit_test_setup(read_only_disk, fixture),
	    cmocka_unit_test_setup(discard_past_end, fixture),
	    cmocka_unit_test_setup(write_zeroes_past_end, fixture),
	    cmocka_unit_test_setup(discard_too_many_segments, fixture),
	    cmocka_unit_test_setup(discard_too_many_sectors, fixture),
	    cmocka_unit_test_setup(discard_with_unmap_flag, fixture),
	    cmocka_unit_test_setup(unknown_flag_in_later_segment, fixture),
	    cmocka_unit_test_setup(discard_bad_length, fixture),
	    cmocka_unit_test_setup(discard_with_writable_data, fixture),
	    cmocka_unit_test_setup(discard_not_negotiated, fixture),
	    cmocka_unit_test_setup(provider_error, fixture),
	    cmocka_unit_test_setup(provider_bad_return_is_ioerr, fixture),
	    cmocka_unit_test_setup(multiqueue, fixture),
	    cmocka_unit_test_setup(config_wce, fixture),
	    cmocka_unit_test_setup(config_wce_not_negotiated, fixture),
	    cmocka_unit_test_setup(config_wce_without_flush_starts_writethrough, fixture),
	    cmocka_unit_test_setup(flush_offered_not_negotiated_is_writethrough, fixture),
	    cmocka_unit_test_setup(capacity_change, fixture),
	    cmocka_unit_test_setup(async_out_of_order, fixture),
	    cmocka_unit_test_setup(submit_batch_completes_early, fixture),
	    cmocka_unit_test_setup(submit_batch_off, fixture),
	    cmocka_unit_test_setup(submit_batch_without_hook, fixture),
	    cmocka_unit_test_setup(async_write_lands_at_completion, fixture),
	    cmocka_unit_test_setup(async_error, fixture),
	    cmocka_unit_test_setup(async_discard_segments, fixture),
	    cmocka_unit_test_setup(async_segment_rewritten, fixture),
	    cmocka_unit_test_setup(pool_exhaustion_and_resume, fixture),
	    cmocka_unit_test_setup(one_slot_serves_sync_batch, fixture),
	    cmocka_unit_test_setup(reset_with_requests_in_flight, fixture),
	    cmocka_unit_test_setup(queue_reset_orphans_its_requests, fixture),
	    cmocka_unit_test_setup(reset_orphans_complete_into_new_session, fixture),
	    cmocka_unit_test_setup(completion_inside_provider_call, fixture),
	    cmocka_unit_test_setup(reset_during_segmented_request, fixture),
	    cmocka_unit_test_setup(broken_ring_stops_device, fixture),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
