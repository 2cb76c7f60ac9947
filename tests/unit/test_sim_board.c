/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The standard simulated board (src/sim/board.c): the four devices in
 * device-number order with the IDs the numbers promise, the GPIO chip's line
 * names, the wire from jumper-out to jumper-in, the LM75's reading, the
 * caller's entropy source, and the GPIO chip alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vioport/sim_board.h"
#include "vioport/virtio.h"

#define DISK_SECTORS 16u

static struct vio_sim_board B;
static uint8_t disk[DISK_SECTORS * VIO_BLK_SECTOR_SIZE];
static struct vio_blk_params params = {
    .capacity = DISK_SECTORS, .num_queues = 1, .queue_size = 8, .seg_max = 4};

static int fills;

static int count_fill(void *ctx, uint8_t *buf, uint32_t len)
{
	(void) ctx;
	fills++;
	memset(buf, 0xa5, len);
	return (int) len;
}

static const struct vio_rng_ops counting_rng = {.fill = count_fill};

static void test_numbering(void **state)
{
	struct vio_sim_board_config c = {.disk = disk,
					 .disk_bytes = sizeof(disk),
					 .blk = &params,
					 .queue_size = 8,
					 .entropy_seed = 1};
	static const uint32_t ids[VIO_SIM_BOARD_NDEV] = {
	    [VIO_SIM_BOARD_BLK] = VIO_ID_BLK,
	    [VIO_SIM_BOARD_RNG] = VIO_ID_RNG,
	    [VIO_SIM_BOARD_GPIO] = VIO_ID_GPIO,
	    [VIO_SIM_BOARD_I2C] = VIO_ID_I2C,
	};

	(void) state;
	memset(&B, 0, sizeof(B));
	assert_int_equal(vio_sim_board_init(&B, &c), 0);
	for (unsigned i = 0; i < VIO_SIM_BOARD_NDEV; i++) {
		assert_non_null(B.devs[i]);
		assert_int_equal(B.devs[i]->device_id, ids[i]);
	}
	assert_ptr_equal(B.devs[VIO_SIM_BOARD_BLK], &B.blk.dev);
	assert_ptr_equal(B.rng.ctx, &B.ent);
	assert_int_equal(B.i2c_bus.ndevs, 2);
	assert_int_equal(B.lm75.temp, 0x2480); /* 36.5 C: 73 half degrees in bits 15..7 */
	assert_string_equal(B.chip.names[VIO_SIM_BOARD_JUMPER_OUT], "jumper-out");
	assert_string_equal(B.chip.names[VIO_SIM_BOARD_JUMPER_IN], "jumper-in");
}

/* An output change of jumper-out reaches jumper-in on the next look at the wire, once. */
static void test_wire(void **state)
{
	struct vio_sim_board_config c = {
	    .disk = disk, .disk_bytes = sizeof(disk), .blk = &params, .queue_size = 8};

	(void) state;
	memset(&B, 0, sizeof(B));
	assert_int_equal(vio_sim_board_init(&B, &c), 0);
	B.chip.lines[VIO_SIM_BOARD_JUMPER_OUT].dir = VIO_GPIO_DIRECTION_OUT;
	B.chip.lines[VIO_SIM_BOARD_JUMPER_IN].dir = VIO_GPIO_DIRECTION_IN;
	B.chip.lines[VIO_SIM_BOARD_JUMPER_OUT].output = 1;
	assert_int_equal(B.chip.lines[VIO_SIM_BOARD_JUMPER_IN].input, 0);
	vio_sim_board_wires(&B);
	assert_int_equal(B.chip.lines[VIO_SIM_BOARD_JUMPER_IN].input, 1);
	B.chip.lines[VIO_SIM_BOARD_JUMPER_OUT].output = 0;
	vio_sim_board_wires(&B);
	assert_int_equal(B.chip.lines[VIO_SIM_BOARD_JUMPER_IN].input, 0);
}

/* The caller's entropy source replaces the simulation. */
static void test_rng_source(void **state)
{
	struct vio_sim_board_config c = {.disk = disk,
					 .disk_bytes = sizeof(disk),
					 .blk = &params,
					 .queue_size = 8,
					 .rng_ops = &counting_rng,
					 .rng_ctx = &fills};

	(void) state;
	memset(&B, 0, sizeof(B));
	assert_int_equal(vio_sim_board_init(&B, &c), 0);
	assert_ptr_equal(B.rng.ops, &counting_rng);
	assert_ptr_equal(B.rng.ctx, &fills);
}

/* The GPIO chip alone: only its slot is filled. */
static void test_gpio_alone(void **state)
{
	struct vio_sim_board_config c = {.queue_size = 8};

	(void) state;
	memset(&B, 0, sizeof(B));
	assert_int_equal(vio_sim_board_init_gpio(&B, &c), 0);
	assert_ptr_equal(B.devs[VIO_SIM_BOARD_GPIO], &B.gpio.dev);
	assert_null(B.devs[VIO_SIM_BOARD_BLK]);
	assert_null(B.devs[VIO_SIM_BOARD_I2C]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_numbering),
	    cmocka_unit_test(test_wire),
	    cmocka_unit_test(test_rng_source),
	    cmocka_unit_test(test_gpio_alone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
