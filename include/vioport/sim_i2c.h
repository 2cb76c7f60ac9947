/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Simulated I2C bus for tests, demos and firmware without a controller: a
 * 24c02 EEPROM and an LM75 temperature sensor behind the vio_i2c_ops
 * interface. Addresses with no device NACK; a zero-length message (a probe)
 * ACKs only where a device answers.
 */
#ifndef VIOPORT_SIM_I2C_H
#define VIOPORT_SIM_I2C_H

#include <stdbool.h>
#include <stdint.h>

#include "vioport/i2c.h"

#define VIO_SIM_I2C_MAX_DEVS 8u

#define VIO_SIM_24C02_ADDR 0x50u
#define VIO_SIM_24C02_SIZE 256u
#define VIO_SIM_24C02_PAGE 8u

#define VIO_SIM_LM75_ADDR 0x48u

/* What every simulated device starts with. */
struct vio_sim_i2c_dev {
	uint16_t addr;
	/* One message at this address: true for ACK, false for NACK. */
	bool (*xfer)(struct vio_sim_i2c_dev *d, const struct vio_i2c_msg *msg);
};

struct vio_sim_i2c_bus {
	struct vio_sim_i2c_dev *devs[VIO_SIM_I2C_MAX_DEVS];
	unsigned ndevs;
	uint32_t msgs; /* messages ACKed since init */
	uint32_t nacks;
};

/* A 24c02: 256 bytes, 8-byte pages, an address pointer that reads advance. */
struct vio_sim_24c02 {
	struct vio_sim_i2c_dev dev;
	uint8_t *mem; /* VIO_SIM_24C02_SIZE bytes: the caller's store or own */
	uint8_t own[VIO_SIM_24C02_SIZE];
	uint8_t ptr;
};

/* An LM75: pointer register, temperature, config, THYST and TOS. */
struct vio_sim_lm75 {
	struct vio_sim_i2c_dev dev;
	uint8_t ptr;
	uint8_t config;
	uint16_t temp; /* register layouts: 9-bit two's complement in bits 15..7 */
	uint16_t thyst;
	uint16_t tos;
};

/* Starts an empty bus. */
void vio_sim_i2c_init(struct vio_sim_i2c_bus *bus);

/* Puts a device on the bus; returns 0, -VIO_EINVAL (bad address) or -VIO_EBUSY / -VIO_ENOSPC. */
int vio_sim_i2c_attach(struct vio_sim_i2c_bus *bus, struct vio_sim_i2c_dev *d);

/* Transfers like struct vio_i2c_ops (ctx is a struct vio_sim_i2c_bus). */
int vio_sim_i2c_xfer(void *ctx, const struct vio_i2c_msg *msgs, unsigned n);

/* The provider table over a struct vio_sim_i2c_bus context. */
extern const struct vio_i2c_ops vio_sim_i2c_ops;

/*
 * Prepares an EEPROM at addr over store (VIO_SIM_24C02_SIZE bytes, kept as
 * they are), or over its own bytes, all 0xff, when store is NULL.
 */
void vio_sim_24c02_init(struct vio_sim_24c02 *e, uint16_t addr, uint8_t *store);

/* Prepares an LM75 at addr: 25 °C, config 0, THYST 75 °C, TOS 80 °C. */
void vio_sim_lm75_init(struct vio_sim_lm75 *s, uint16_t addr);

/* Sets the temperature, rounded down to 0.5 °C and clamped to -55 .. 125 °C. */
void vio_sim_lm75_set_temp_mc(struct vio_sim_lm75 *s, int32_t millicelsius);

#endif
