/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The standard simulated board: the simulated devices every image and demo
 * that needs "some devices" serves, with one numbering.
 *
 *   0  blk      a RAM disk in the caller's memory
 *   1  rng      the deterministic entropy simulation (or the caller's source)
 *   2  gpio     a chip of eight named lines; jumper-out (3) is wired to jumper-in (4)
 *   3  i2c      a bus with a 24c02 EEPROM at 0x50 and an LM75 sensor at 0x48 reading 36.5 C
 *   4  console  one virtio-console port (hvc0) whose bytes the caller reads and writes
 *   5  input    a simulated keyboard: a panel of keys the caller presses
 *   6  touch    a simulated touch panel (a second virtio-input): contacts the caller puts down
 *
 * Which of them a build has is a build-time choice: VIO_SIM_BOARD_WITH_BLK,
 * _RNG, _GPIO and _I2C (default 1) and VIO_SIM_BOARD_WITH_CONSOLE, _INPUT and
 * _TOUCH (default 0), each 0 or 1, given to the compiler for board.c and for its user alike (the
 * firmware images get them from their build description in
 * scripts/firmware.sh). A device left out has no state here and none of its
 * code is linked. The device numbers are the chosen devices' places in the
 * order above: the default build numbers blk, rng, gpio and i2c 0 to 3, and a
 * gpio-only board has gpio as device 0.
 *
 * b->devs lists them in that order: added to a virtio-msg bus in that order
 * they get these device numbers, which the tests and scripts that drive the
 * amp firmware rely on (tests/firmware/test_fw_vmsg.c, scripts/firmware.sh,
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
#include "vioport/console.h"
#include "vioport/gpio.h"
#include "vioport/i2c.h"
#include "vioport/input.h"
#include "vioport/rng.h"
#include "vioport/sim_console.h"
#include "vioport/sim_entropy.h"
#include "vioport/sim_gpio.h"
#include "vioport/sim_i2c.h"
#include "vioport/sim_input.h"
#include "vioport/sim_ramdisk.h"

/* The devices a build has (1) or leaves out (0). */
#ifndef VIO_SIM_BOARD_WITH_BLK
#define VIO_SIM_BOARD_WITH_BLK 1
#endif
#ifndef VIO_SIM_BOARD_WITH_RNG
#define VIO_SIM_BOARD_WITH_RNG 1
#endif
#ifndef VIO_SIM_BOARD_WITH_GPIO
#define VIO_SIM_BOARD_WITH_GPIO 1
#endif
#ifndef VIO_SIM_BOARD_WITH_I2C
#define VIO_SIM_BOARD_WITH_I2C 1
#endif
#ifndef VIO_SIM_BOARD_WITH_CONSOLE
#define VIO_SIM_BOARD_WITH_CONSOLE 0
#endif
#ifndef VIO_SIM_BOARD_WITH_INPUT
#define VIO_SIM_BOARD_WITH_INPUT 0
#endif
#ifndef VIO_SIM_BOARD_WITH_TOUCH
#define VIO_SIM_BOARD_WITH_TOUCH 0
#endif

/*
 * Device numbers (the order of b->devs): each is the number of chosen devices
 * before it, so the numbers of the devices a build has run from 0 without gaps.
 * The number of a device left out means nothing.
 */
#define VIO_SIM_BOARD_BLK     0u
#define VIO_SIM_BOARD_RNG     (VIO_SIM_BOARD_BLK + VIO_SIM_BOARD_WITH_BLK)
#define VIO_SIM_BOARD_GPIO    (VIO_SIM_BOARD_RNG + VIO_SIM_BOARD_WITH_RNG)
#define VIO_SIM_BOARD_I2C     (VIO_SIM_BOARD_GPIO + VIO_SIM_BOARD_WITH_GPIO)
#define VIO_SIM_BOARD_CONSOLE (VIO_SIM_BOARD_I2C + VIO_SIM_BOARD_WITH_I2C)
#define VIO_SIM_BOARD_INPUT   (VIO_SIM_BOARD_CONSOLE + VIO_SIM_BOARD_WITH_CONSOLE)
#define VIO_SIM_BOARD_TOUCH   (VIO_SIM_BOARD_INPUT + VIO_SIM_BOARD_WITH_INPUT)
#define VIO_SIM_BOARD_NDEV    (VIO_SIM_BOARD_TOUCH + VIO_SIM_BOARD_WITH_TOUCH)

#if VIO_SIM_BOARD_NDEV == 0
#error "the simulated board needs at least one device (VIO_SIM_BOARD_WITH_*)"
#endif

/* The GPIO chip: line names in vio_sim_board_gpio_names, and the wire. */
#define VIO_SIM_BOARD_GPIO_LINES 8u
#define VIO_SIM_BOARD_JUMPER_OUT 3u /* an output change of this line ... */
#define VIO_SIM_BOARD_JUMPER_IN	 4u /* ... reaches this input (vio_sim_board_wires) */
/* What the LM75 reads, in milli-degrees C. */
#define VIO_SIM_BOARD_LM75_MC 36500
/* The queue size of the amp image, and the blk requests in flight. */
#define VIO_SIM_BOARD_QSIZE	16u
#define VIO_SIM_BOARD_BLK_SLOTS 16u
/* Input events waiting for the driver's buffers: a key tap is four. */
#define VIO_SIM_BOARD_INPUT_BACKLOG 32u
/*
 * The touch panel: positions 0 .. WIDTH - 1 and 0 .. HEIGHT - 1 at RES units
 * per millimetre (a 128 x 80 mm panel), and one contact: the console that
 * drives it on the firmware names no slot.
 */
#define VIO_SIM_BOARD_TOUCH_WIDTH  1280
#define VIO_SIM_BOARD_TOUCH_HEIGHT 800
#define VIO_SIM_BOARD_TOUCH_RES	   10
#define VIO_SIM_BOARD_TOUCH_SLOTS  1u

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

/*
 * Only the chosen devices' fields exist, so code that names a device's fields
 * sits under its VIO_SIM_BOARD_WITH_* as the board's does.
 */
struct vio_sim_board {
#if VIO_SIM_BOARD_WITH_BLK
	struct vio_sim_ramdisk rd;
	struct vio_blk blk;
	struct vio_queue blk_queue;
#endif

#if VIO_SIM_BOARD_WITH_RNG
	struct vio_sim_entropy ent;
	struct vio_rng rng;
	struct vio_queue rng_queue;
#endif

#if VIO_SIM_BOARD_WITH_GPIO
	struct vio_sim_gpio chip;
	struct vio_sim_gpio_line chip_lines[VIO_SIM_BOARD_GPIO_LINES];
	struct vio_gpio gpio;
	struct vio_gpio_line gpio_lines[VIO_SIM_BOARD_GPIO_LINES];
	struct vio_queue gpio_queues[2];
	uint8_t jumper; /* the level last carried over the wire */
#endif

#if VIO_SIM_BOARD_WITH_I2C
	struct vio_sim_i2c_bus i2c_bus;
	struct vio_sim_24c02 eeprom;
	struct vio_sim_lm75 lm75;
	struct vio_i2c i2c;
	struct vio_queue i2c_queue;
#endif

#if VIO_SIM_BOARD_WITH_CONSOLE
	/* Port 0, a line port: the caller writes con_sim's to-driver side and reads lines. */
	struct vio_sim_console con_sim;
	struct vio_sim_console_port con_sim_port;
	struct vio_console con;
	struct vio_console_port con_port;
	struct vio_queue con_queues[4]; /* multiport: port 0 and the control pair */
#endif

#if VIO_SIM_BOARD_WITH_INPUT
	/* The caller presses keys with vio_sim_input_key or _tap on in_sim. */
	struct vio_sim_input in_sim;
	struct vio_input input;
	struct vio_queue in_queues[2];
	struct vio_input_event in_backlog[VIO_SIM_BOARD_INPUT_BACKLOG];
#endif

#if VIO_SIM_BOARD_WITH_TOUCH
	/* The caller puts contacts down with vio_sim_input_touch and _lift on tp_sim. */
	struct vio_sim_input tp_sim;
	struct vio_input touch;
	struct vio_queue tp_queues[2];
	struct vio_input_event tp_backlog[VIO_SIM_BOARD_INPUT_BACKLOG];
#endif

	struct vio_device *devs[VIO_SIM_BOARD_NDEV]; /* in device-number order */

	/* The large arrays last: the fields above stay at short offsets. */
#if VIO_SIM_BOARD_WITH_I2C
	uint8_t i2c_bounce[256];
#endif
#if VIO_SIM_BOARD_WITH_BLK
	struct vio_blk_req blk_slots[VIO_SIM_BOARD_BLK_SLOTS];
#endif
};

/* Sets up the devices the build has in b; 0 or the first device's error. */
int vio_sim_board_init(struct vio_sim_board *b, const struct vio_sim_board_config *c);

#if VIO_SIM_BOARD_WITH_GPIO
/*
 * Sets up the GPIO chip and device alone (a program that serves only gpio
 * while the build has the others); b->devs[VIO_SIM_BOARD_GPIO] is set. 0 or
 * -VIO_E*.
 */
int vio_sim_board_init_gpio(struct vio_sim_board *b, const struct vio_sim_board_config *c);
#endif

/*
 * The wire between two lines: an output change of jumper-out reaches
 * jumper-in. Nothing without gpio.
 */
void vio_sim_board_wires(struct vio_sim_board *b);

#if VIO_SIM_BOARD_WITH_CONSOLE
/*
 * The console's provider (b->con_sim, port 0 a line port) is not attached to
 * the device: writing it never calls into the device, so a program may write
 * from anywhere, its bus's callbacks included. This hands the driver what
 * waits for it and lets the driver's held writes go on once lines have been
 * read; call it from the main loop after the bus, and after reading lines.
 */
void vio_sim_board_console_kick(struct vio_sim_board *b);
#endif

#endif
