/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The standard simulated board: the four simulated devices every image and
 * demo that needs "some devices" serves, with one numbering.
 *
 *   0  blk   a RAM disk in the caller's memory
 *   1  rng   the deterministic entropy simulation (or the caller's source)
 *   2  gpio  a chip of eight named lines; jumper-out (3) is wired to jumper-in (4)
 *   3  i2c   a bus with a 24c02 EEPROM at 0x50 and an LM75 sensor at 0x48 reading 36.5 C
 *
 * b->devs lists them in that order: added to a virtio-msg bus in that order
 * they get these device numbers, which the tests and scripts that drive the
 * amp firmware rely on (tests/integration/test_fw_vmsg.c, scripts/firmware.sh,
 * scripts/amp-linux.sh). This header is the one place that says them.
 *
 * Freestanding; all storage is the caller's struct vio_sim_board (the disk's
 * bytes too).
 */
#ifndef VIOPORT_SIM_BOARD_H
#define VIOPORT_SIM_BOARD_H

#include <stdbool.h>
#include <stdint.h>

#include "vioport/blk.h"
#include "vioport/gpio.h"
#include "vioport/i2c.h"
#include "vioport/rng.h"
#include "vioport/sim_entropy.h"
#include "vioport/sim_gpio.h"
#include "vioport/sim_i2c.h"
#include "vioport/sim_ramdisk.h"

/* Device numbers (the order of b->devs). */
#define VIO_SIM_BOARD_BLK  0u
#define VIO_SIM_BOARD_RNG  1u
#define VIO_SIM_BOARD_GPIO 2u
#define VIO_SIM_BOARD_I2C  3u
#define VIO_SIM_BOARD_NDEV 4u

/* The GPIO chip: line names in vio_sim_board_gpio_names, and the wire. */
#define VIO_SIM_BOARD_GPIO_LINES 8u
#define VIO_SIM_BOARD_JUMPER_OUT 3u /* an output change of this line ... */
#define VIO_SIM_BOARD_JUMPER_IN	 4u /* ... reaches this input (vio_sim_board_wires) */
/* What the LM75 reads, in milli-degrees C. */
#define VIO_SIM_BOARD_LM75_MC 36500
/* The queue size of the amp image, and the blk requests in flight. */
#define VIO_SIM_BOARD_QSIZE	16u
#define VIO_SIM_BOARD_BLK_SLOTS 16u

extern const char *const vio_sim_board_gpio_names[VIO_SIM_BOARD_GPIO_LINES];

struct vio_sim_board_config {
	void *disk;	     /* the RAM disk's bytes, the caller's */
	uint64_t disk_bytes; /* a multiple of the sector size */
	/* The disk's parameters (capacity, features, queue size; one queue). */
	const struct vio_blk_params *blk;
	uint16_t queue_size; /* rng, gpio and i2c (VIO_SIM_BOARD_QSIZE, say) */
	uint64_t entropy_seed;
	/* Optional entropy source for rng (ctx rng_ctx); NULL: b->ent, seeded with entropy_seed. */
	const struct vio_rng_ops *rng_ops;
	void *rng_ctx;
};

struct vio_sim_board {
	struct vio_sim_ramdisk rd;
	struct vio_blk blk;
	struct vio_queue blk_queue;

	struct vio_sim_entropy ent;
	struct vio_rng rng;
	struct vio_queue rng_queue;

	struct vio_sim_gpio chip;
	struct vio_sim_gpio_line chip_lines[VIO_SIM_BOARD_GPIO_LINES];
	struct vio_gpio gpio;
	struct vio_gpio_line gpio_lines[VIO_SIM_BOARD_GPIO_LINES];
	struct vio_queue gpio_queues[2];
	uint8_t jumper; /* the level last carried over the wire */

	struct vio_sim_i2c_bus i2c_bus;
	struct vio_sim_24c02 eeprom;
	struct vio_sim_lm75 lm75;
	struct vio_i2c i2c;
	struct vio_queue i2c_queue;

	struct vio_device *devs[VIO_SIM_BOARD_NDEV]; /* in device-number order */

	/* The large arrays last: the fields above stay at short offsets. */
	uint8_t i2c_bounce[256];
	struct vio_blk_req blk_slots[VIO_SIM_BOARD_BLK_SLOTS];
};

/* Sets up the four devices in b; 0 or the first device's error. */
int vio_sim_board_init(struct vio_sim_board *b, const struct vio_sim_board_config *c);

/*
 * Sets up the GPIO chip and device alone (an image that serves only gpio
 * links none of the others); b->devs[VIO_SIM_BOARD_GPIO] is set. 0 or -VIO_E*.
 */
int vio_sim_board_init_gpio(struct vio_sim_board *b, const struct vio_sim_board_config *c);

/* The wire between two lines: an output change of jumper-out reaches jumper-in. */
void vio_sim_board_wires(struct vio_sim_board *b);

#endif
