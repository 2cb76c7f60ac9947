/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-i2c cases on the simulated bus: a 24c02 EEPROM at 0x50 written and
 * read back, the LM75 at 0x48 (25 C after start, limits 75 and 80 C), and
 * transfers to an address where nothing answers, which end with
 * VIO_I2C_MSG_ERR. One message per request, as the Linux driver sends them;
 * the device requires ZERO_LENGTH_REQUEST, so every case asks for it.
 */
#include <stddef.h>
#include <stdint.h>

#include "devcase.h"
#include "vioport/i2c.h"
#include "vioport/sim_i2c.h"

#define OK  VIO_I2C_MSG_OK
#define ERR VIO_I2C_MSG_ERR
#define ZLR VIO_BIT(VIO_I2C_F_ZERO_LENGTH_REQUEST)
/* The request header: the 7-bit address shifted left by one, padding, flags. */
#define HDR(addr, flags) DC_B(DC_LE16((addr) << 1), DC_LE16(0), DC_LE32(flags))
/* A write of the bytes that follow: header, data out, status in. */
#define WRITE(w, addr, st, ...)                                                                    \
	{                                                                                          \
		.what = w, .out = {HDR(addr, 0), DC_B(__VA_ARGS__)}, .nout = 2, .in = {1},         \
		.nin = 1, .used = 1, .expect = DC_B(st)                                            \
	}
/* A read of n bytes that must be the ones that follow, then status OK. */
#define READ(w, addr, n, ...)                                                                      \
	{                                                                                          \
		.what = w, .out = {HDR(addr, VIO_I2C_FLAGS_M_RD)}, .nout = 1, .in = {n, 1},        \
		.nin = 2, .used = (n) + 1, .expect = DC_B(__VA_ARGS__, OK)                         \
	}

static const struct dc_step eeprom[] = {
    WRITE("write 4 bytes at 0x10", VIO_SIM_24C02_ADDR, OK, 0x10, 0xde, 0xad, 0xbe, 0xef),
    WRITE("address 0x10", VIO_SIM_24C02_ADDR, OK, 0x10),
    READ("read them back", VIO_SIM_24C02_ADDR, 4, 0xde, 0xad, 0xbe, 0xef),
    WRITE("write 2 bytes at 0x11", VIO_SIM_24C02_ADDR, OK, 0x11, 0x5a, 0xa5),
    WRITE("address 0x10 again", VIO_SIM_24C02_ADDR, OK, 0x10),
    READ("one old, two new, one old", VIO_SIM_24C02_ADDR, 4, 0xde, 0x5a, 0xa5, 0xef),
    /* the last byte of the array */
    WRITE("write at 0xff", VIO_SIM_24C02_ADDR, OK, 0xff, 0x77),
    WRITE("address 0xff", VIO_SIM_24C02_ADDR, OK, 0xff),
    READ("read 0xff", VIO_SIM_24C02_ADDR, 1, 0x77),
};

static const struct dc_step lm75[] = {
    WRITE("pointer: temperature", VIO_SIM_LM75_ADDR, OK, 0x00),
    READ("25.0 C", VIO_SIM_LM75_ADDR, 2, 25, 0x00),
    WRITE("pointer: Thyst", VIO_SIM_LM75_ADDR, OK, 0x02),
    READ("75.0 C", VIO_SIM_LM75_ADDR, 2, 75, 0x00),
    WRITE("pointer: Tos", VIO_SIM_LM75_ADDR, OK, 0x03),
    READ("80.0 C", VIO_SIM_LM75_ADDR, 2, 80, 0x00),
};

static const struct dc_step absent[] = {
    WRITE("write to 0x33", 0x33, ERR, 0x00),
    {.what = "read from 0x33",
     .out = {HDR(0x33, VIO_I2C_FLAGS_M_RD)},
     .nout = 1,
     .in = {2, 1},
     .nin = 2,
     .used = 1,
     .expect = DC_B(0, 0, ERR)},
    {.what = "probe of 0x33 (zero-length write)",
     .out = {HDR(0x33, 0)},
     .nout = 1,
     .in = {1},
     .nin = 1,
     .used = 1,
     .expect = DC_B(ERR)},
    /* the bus still works for the devices that are there */
    {.what = "probe of 0x50",
     .out = {HDR(VIO_SIM_24C02_ADDR, 0)},
     .nout = 1,
     .in = {1},
     .nin = 1,
     .used = 1,
     .expect = DC_B(OK)},
};

static const struct dc_case i2c_cases[] = {
    DC_CASE("i2c-24c02-write-read", DC_I2C, ZLR, eeprom),
    DC_CASE("i2c-lm75-registers", DC_I2C, ZLR, lm75),
    DC_CASE("i2c-absent-address", DC_I2C, ZLR, absent),
};

const struct dc_set dc_i2c_set = {DC_I2C, "i2c", i2c_cases, DC_NSTEPS(i2c_cases)};
