/* SPDX-License-Identifier: BSD-3-Clause */
/* vioport-drv: i2c commands, write, read and writeread. */
#include <stdio.h>

#include "vioport-drv.h"
#include "vioport/errno.h"
#include "vioport/i2c.h"
#include "vioport/virtio.h"

#define I2C_MAX 256u /* bytes one command writes or reads */

const struct drv_kind drv_kind_i2c = {"i2c", VIO_ID_I2C, 1, NULL};

static int bad_addr(void)
{
	return usage_error("%s", "i2c: expected DEV ADDR write HEXBYTES|read N|"
				 "writeread HEXBYTES N (ADDR 0 .. 0x7f)");
}

static int bad_count(void)
{
	return usage_error("%s", "i2c: expected DEV ADDR write HEXBYTES|read N|"
				 "writeread HEXBYTES N (N up to 256)");
}

/* Reports a transfer's result r; 0 or the exit status. */
static int i2c_result(int r, uint64_t addr)
{
	if (r == -VIO_EIO) {
		fprintf(stderr, "vioport-drv: no acknowledge from address 0x%02llx\n",
			(unsigned long long) addr);
		return 1;
	}
	if (r < 0)
		return fail("i2c transfer", r);
	return 0;
}

/* Brings device argv[0] up, asking for zero-length requests (probes) when it offers them. */
static int i2c_up(struct drv_ctx *c, char **argv)
{
	return device_up(c, argv[0], &drv_kind_i2c, VIO_BIT(VIO_I2C_F_ZERO_LENGTH_REQUEST));
}

/* i2c DEV ADDR write HEXBYTES */
int cmd_i2c_write(struct drv_ctx *c, int argc, char **argv)
{
	uint8_t wbuf[I2C_MAX];
	uint64_t addr;
	int wlen, r;

	if (!parse_u64(argv[1], 0x7f, &addr))
		return bad_addr();
	wlen = parse_hex(argv[3], wbuf, (int) sizeof(wbuf));
	if (wlen < 0)
		return usage_error("i2c: bad hex bytes '%s'", argv[3]);
	if ((r = i2c_up(c, argv)) != 0)
		return r;
	r = vio_vmsg_drv_i2c_xfer(&c->s->dev, (uint16_t) addr, false, wbuf, (uint32_t) wlen);
	if ((r = i2c_result(r, addr)) != 0)
		return r;
	printf("wrote %d byte%s to 0x%02llx\n", wlen, wlen == 1 ? "" : "s",
	       (unsigned long long) addr);
	return 0;
}

/* i2c DEV ADDR read N */
int cmd_i2c_read(struct drv_ctx *c, int argc, char **argv)
{
	uint8_t rbuf[I2C_MAX];
	uint64_t addr, n;
	int r;

	if (!parse_u64(argv[1], 0x7f, &addr))
		return bad_addr();
	if (!parse_u64(argv[3], sizeof(rbuf), &n))
		return bad_count();
	if ((r = i2c_up(c, argv)) != 0)
		return r;
	r = vio_vmsg_drv_i2c_xfer(&c->s->dev, (uint16_t) addr, true, rbuf, (uint32_t) n);
	if ((r = i2c_result(r, addr)) != 0)
		return r;
	hexdump(rbuf, (size_t) n, 0);
	return 0;
}

/* i2c DEV ADDR writeread HEXBYTES N */
int cmd_i2c_writeread(struct drv_ctx *c, int argc, char **argv)
{
	uint8_t wbuf[I2C_MAX], rbuf[I2C_MAX];
	uint64_t addr, n;
	int wlen, r;

	if (!parse_u64(argv[1], 0x7f, &addr))
		return bad_addr();
	wlen = parse_hex(argv[3], wbuf, (int) sizeof(wbuf));
	if (wlen < 0)
		return usage_error("i2c: bad hex bytes '%s'", argv[3]);
	if (!parse_u64(argv[4], sizeof(rbuf), &n) || n == 0)
		return bad_count();
	if ((r = i2c_up(c, argv)) != 0)
		return r;
	r = vio_vmsg_drv_i2c_write_read(&c->s->dev, (uint16_t) addr, wbuf, (uint32_t) wlen, rbuf,
					(uint32_t) n);
	if ((r = i2c_result(r, addr)) != 0)
		return r;
	hexdump(rbuf, (size_t) n, 0);
	return 0;
}
