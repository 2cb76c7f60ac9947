/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-blk cases on a DC_BLK_BYTES disk that holds dc_blk_pattern() and
 * answers GET_ID with DC_BLK_SERIAL: the capacity in config space, reads of
 * the pattern, a write read back, a flush, the id, and requests past the end
 * refused with VIO_BLK_S_IOERR and nothing but the status written
 * (src/dev/blk.c). Sector 100 is the only one written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h> /* after the headers it needs */

#include "devcase.h"
#include "vioport/blk.h"
#include "vioport/byteorder.h"

#define SECTORS (DC_BLK_BYTES / VIO_BLK_SECTOR_SIZE)
#define FLUSH	VIO_BIT(VIO_BLK_F_FLUSH)
/* The request header: type, ioprio, sector. */
#define HDR(type, sector) DC_B(DC_LE32(type), DC_LE32(0), DC_LE64(sector))
#define READ_BYTES(n, st)                                                                          \
	.out = {HDR(VIO_BLK_T_IN, SECTORS)}, .nout = 1, .in = {n, 1}, .nin = 2, .used = 1,         \
	.expect = DC_B(st), .expect_at = -1

/* The same request a transport carries: header out, data, status in. */
static int64_t rw(const struct dc_transport *t, uint32_t type, uint64_t sector, uint8_t *data,
		  uint32_t len, uint8_t *status)
{
	uint8_t hdr[16];
	struct dc_seg out[2] = {{hdr, sizeof(hdr)}, {data, len}};
	struct dc_seg in[2] = {{data, len}, {status, 1}};

	vio_put_le32(hdr, type);
	vio_put_le32(hdr + 4, 0);
	vio_put_le64(hdr + 8, sector);
	if (type == VIO_BLK_T_OUT) {
		out[1].buf = data;
		return dc_request(t, 0, out, 2, &in[1], 1);
	}
	return dc_request(t, 0, out, 1, in, 2);
}

/* The capacity the driver reads from config space. */
static void capacity(const struct dc_transport *t, const struct dc_step *s)
{
	uint8_t cfg[8];

	(void) s;
	assert_int_equal(t->config_read(t->ctx, VIO_BLK_CFG_CAPACITY, cfg, sizeof(cfg)), 0);
	assert_int_equal(vio_get_le64(cfg), SECTORS);
}

/* Reads s->arg sectors from sector 7 and the last sector: the image's pattern. */
static void read_pattern(const struct dc_transport *t, const struct dc_step *s)
{
	static uint8_t buf[8 * VIO_BLK_SECTOR_SIZE];
	const uint64_t starts[2] = {7, SECTORS - s->arg};
	uint32_t len = s->arg * VIO_BLK_SECTOR_SIZE;
	uint8_t st = 0xff;

	assert_true(len <= sizeof(buf));
	for (unsigned k = 0; k < 2; k++) {
		assert_int_equal(rw(t, VIO_BLK_T_IN, starts[k], buf, len, &st), len + 1);
		assert_int_equal(st, VIO_BLK_S_OK);
		for (uint32_t i = 0; i < len; i++)
			if (buf[i] != dc_blk_pattern(starts[k] * VIO_BLK_SECTOR_SIZE + i))
				fail_msg("%s: sector %llu byte %u is 0x%02x, want 0x%02x", t->name,
					 (unsigned long long) starts[k], (unsigned) i, buf[i],
					 dc_blk_pattern(starts[k] * VIO_BLK_SECTOR_SIZE + i));
	}
}

/* Writes two sectors at 100 with a pattern of its own (s->arg its seed) and reads them back. */
static void write_read(const struct dc_transport *t, const struct dc_step *s)
{
	static uint8_t w[2 * VIO_BLK_SECTOR_SIZE], r[sizeof(w)];
	uint8_t st = 0xff;

	for (uint32_t i = 0; i < sizeof(w); i++)
		w[i] = (uint8_t) (i * 13u + s->arg);
	assert_int_equal(rw(t, VIO_BLK_T_OUT, 100, w, sizeof(w), &st), 1);
	assert_int_equal(st, VIO_BLK_S_OK);
	assert_int_equal(rw(t, VIO_BLK_T_IN, 100, r, sizeof(r), &st), sizeof(r) + 1);
	assert_int_equal(st, VIO_BLK_S_OK);
	assert_memory_equal(w, r, sizeof(w));
	/* the sector before was not touched */
	assert_int_equal(rw(t, VIO_BLK_T_IN, 99, r, VIO_BLK_SECTOR_SIZE, &st),
			 VIO_BLK_SECTOR_SIZE + 1);
	assert_int_equal(r[0], dc_blk_pattern(99 * VIO_BLK_SECTOR_SIZE));
	assert_int_equal(r[511], dc_blk_pattern(99 * VIO_BLK_SECTOR_SIZE + 511));
}

static const struct dc_step read_steps[] = {
    {.what = "capacity", .fn = capacity},
    {.what = "one sector", .fn = read_pattern, .arg = 1},
    {.what = "eight sectors", .fn = read_pattern, .arg = 8},
};

static const struct dc_step write_steps[] = {
    {.what = "write, read back", .fn = write_read, .arg = 1},
    {.what = "again, other data", .fn = write_read, .arg = 2},
};

static const struct dc_step flush_steps[] = {
    {.what = "flush",
     .out = {HDR(VIO_BLK_T_FLUSH, 0)},
     .nout = 1,
     .in = {1},
     .nin = 1,
     .used = 1,
     .expect = DC_B(VIO_BLK_S_OK)},
};

static const struct dc_step id_steps[] = {
    {.what = "get id",
     .out = {HDR(VIO_BLK_T_GET_ID, 0)},
     .nout = 1,
     .in = {VIO_BLK_ID_BYTES, 1},
     .nin = 2,
     .used = VIO_BLK_ID_BYTES + 1,
     .expect = DC_B('d', 'e', 'v', 'c', 'a', 's', 'e', '-', 'd', 'i', 's', 'k', 0, 0, 0, 0, 0, 0, 0,
		    0, VIO_BLK_S_OK)},
};

static const struct dc_step range_steps[] = {
    {.what = "read the sector past the end", READ_BYTES(512, VIO_BLK_S_IOERR)},
    {.what = "read across the end",
     .out = {HDR(VIO_BLK_T_IN, SECTORS - 1)},
     .nout = 1,
     .in = {1024, 1},
     .nin = 2,
     .used = 1,
     .expect = DC_B(VIO_BLK_S_IOERR),
     .expect_at = -1},
    {.what = "write past the end",
     .out = {HDR(VIO_BLK_T_OUT, SECTORS),
	     DC_B(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
		  24, 25, 26, 27, 28, 29, 30, 31, 32)},
     .nout = 2,
     .in = {1},
     .nin = 1,
     .used = 1,
     .expect = DC_B(VIO_BLK_S_IOERR)},
    {.what = "read of half a sector",
     .out = {HDR(VIO_BLK_T_IN, 0)},
     .nout = 1,
     .in = {256, 1},
     .nin = 2,
     .used = 1,
     .expect = DC_B(VIO_BLK_S_IOERR),
     .expect_at = -1},
    /* and the disk still reads */
    {.what = "then a good read", .fn = read_pattern, .arg = 1},
};

static const struct dc_case blk_cases[] = {
    DC_CASE("blk-read-pattern", DC_BLK, 0, read_steps),
    DC_CASE("blk-write-read-back", DC_BLK, 0, write_steps),
    DC_CASE("blk-flush", DC_BLK, FLUSH, flush_steps),
    DC_CASE("blk-get-id", DC_BLK, 0, id_steps),
    DC_CASE("blk-out-of-range", DC_BLK, 0, range_steps),
};

const struct dc_set dc_blk_set = {DC_BLK, "blk", blk_cases, DC_NSTEPS(blk_cases)};
