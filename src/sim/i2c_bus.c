/* SPDX-License-Identifier: BSD-3-Clause */
/* Simulated I2C bus with a 24c02 EEPROM and an LM75 temperature sensor. */
#include "vioport/errno.h"
#include "vioport/sim_i2c.h"

#include <string.h>

void vio_sim_i2c_init(struct vio_sim_i2c_bus *bus)
{
	memset(bus, 0, sizeof(*bus));
}

int vio_sim_i2c_attach(struct vio_sim_i2c_bus *bus, struct vio_sim_i2c_dev *d)
{
	if (d == NULL || d->xfer == NULL || d->addr > 0x7fu)
		return -VIO_EINVAL;
	for (unsigned i = 0; i < bus->ndevs; i++) {
		if (bus->devs[i]->addr == d->addr)
			return -VIO_EBUSY;
	}
	if (bus->ndevs == VIO_SIM_I2C_MAX_DEVS)
		return -VIO_ENOSPC;
	bus->devs[bus->ndevs++] = d;
	return 0;
}

int vio_sim_i2c_xfer(void *ctx, const struct vio_i2c_msg *msgs, unsigned n)
{
	struct vio_sim_i2c_bus *bus = ctx;

	for (unsigned i = 0; i < n; i++) {
		struct vio_sim_i2c_dev *d = NULL;

		for (unsigned k = 0; k < bus->ndevs; k++) {
			if (bus->devs[k]->addr == msgs[i].addr)
				d = bus->devs[k];
		}
		/* like a controller, stop at the first NACK: the rest never reach the bus */
		if (d == NULL || !d->xfer(d, &msgs[i])) {
			bus->nacks++;
			return (int) i;
		}
		bus->msgs++;
	}
	return (int) n;
}

const struct vio_i2c_ops vio_sim_i2c_ops = {
    .xfer = vio_sim_i2c_xfer,
};

/*
 * 24c02: a write's first byte sets the address pointer, the bytes after it
 * are written in the pointer's page, wrapping inside the page as the chip's
 * page buffer does; reads run on from the pointer across the whole array.
 */
static bool eeprom_xfer(struct vio_sim_i2c_dev *d, const struct vio_i2c_msg *msg)
{
	struct vio_sim_24c02 *e = (struct vio_sim_24c02 *) d;

	if (msg->len == 0)
		return true;
	if (msg->flags & VIO_I2C_MSG_RD) {
		for (uint32_t i = 0; i < msg->len; i++)
			msg->buf[i] = e->mem[e->ptr++];
		return true;
	}
	e->ptr = msg->buf[0];
	for (uint32_t i = 1; i < msg->len; i++) {
		uint8_t page = (uint8_t) (e->ptr & ~(VIO_SIM_24C02_PAGE - 1u));

		e->mem[e->ptr] = msg->buf[i];
		e->ptr = (uint8_t) (page | ((e->ptr + 1u) & (VIO_SIM_24C02_PAGE - 1u)));
	}
	return true;
}

void vio_sim_24c02_init(struct vio_sim_24c02 *e, uint16_t addr, uint8_t *store)
{
	memset(e, 0, sizeof(*e));
	e->dev.addr = addr;
	e->dev.xfer = eeprom_xfer;
	if (store != NULL) {
		e->mem = store;
	} else {
		memset(e->own, 0xff, sizeof(e->own)); /* an erased chip */
		e->mem = e->own;
	}
}

#define LM75_TEMP  0u
#define LM75_CONF  1u
#define LM75_THYST 2u
#define LM75_TOS   3u

/* The 16-bit register the pointer selects, or NULL for config and temperature writes. */
static uint16_t *lm75_reg16(struct vio_sim_lm75 *s, uint8_t ptr)
{
	switch (ptr) {
	case LM75_TEMP:
		return &s->temp;
	case LM75_THYST:
		return &s->thyst;
	case LM75_TOS:
		return &s->tos;
	default:
		return NULL;
	}
}

/*
 * LM75: a write's first byte is the pointer, the bytes after it go to that
 * register (temperature is read-only); reads return the register, repeated.
 */
static bool lm75_xfer(struct vio_sim_i2c_dev *d, const struct vio_i2c_msg *msg)
{
	struct vio_sim_lm75 *s = (struct vio_sim_lm75 *) d;
	uint16_t *reg;

	if (msg->len == 0)
		return true;
	if (msg->flags & VIO_I2C_MSG_RD) {
		reg = lm75_reg16(s, s->ptr);
		for (uint32_t i = 0; i < msg->len; i++) {
			if (reg == NULL)
				msg->buf[i] = s->config;
			else
				msg->buf[i] = (uint8_t) ((i & 1u) ? *reg : *reg >> 8);
		}
		return true;
	}
	s->ptr = msg->buf[0] & 3u;
	if (msg->len < 2 || s->ptr == LM75_TEMP)
		return true;
	if (s->ptr == LM75_CONF) {
		s->config = msg->buf[1];
		return true;
	}
	reg = lm75_reg16(s, s->ptr);
	/* the low seven bits do not exist in the chip */
	*reg = (uint16_t) (((uint16_t) msg->buf[1] << 8 | (msg->len > 2 ? msg->buf[2] : 0u)) &
			   0xff80u);
	return true;
}

void vio_sim_lm75_init(struct vio_sim_lm75 *s, uint16_t addr)
{
	memset(s, 0, sizeof(*s));
	s->dev.addr = addr;
	s->dev.xfer = lm75_xfer;
	s->thyst = (uint16_t) (75 * 2) << 7;
	s->tos = (uint16_t) (80 * 2) << 7;
	vio_sim_lm75_set_temp_mc(s, 25000);
}

void vio_sim_lm75_set_temp_mc(struct vio_sim_lm75 *s, int32_t millicelsius)
{
	int32_t half;

	if (millicelsius < -55000)
		millicelsius = -55000;
	if (millicelsius > 125000)
		millicelsius = 125000;
	/* floor division: -0.2 °C reads as -0.5 °C, as the chip's truncated two's complement does
	 */
	half = millicelsius >= 0 ? millicelsius / 500 : -((-millicelsius + 499) / 500);
	s->temp = (uint16_t) ((uint32_t) half << 7);
}
