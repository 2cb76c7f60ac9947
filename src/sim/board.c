/* SPDX-License-Identifier: BSD-3-Clause */
/* The standard simulated board (sim_board.h): four devices, one numbering. */
#include <stddef.h>
#include <stdint.h>

#include "vioport/errno.h"
#include "vioport/sim_board.h"

const char *const vio_sim_board_gpio_names[VIO_SIM_BOARD_GPIO_LINES] = {
    "led0", "led1", "led2", "jumper-out", "jumper-in", "button0", "button1", "spare",
};

int vio_sim_board_init_gpio(struct vio_sim_board *b, const struct vio_sim_board_config *c)
{
	int rc;

	vio_sim_gpio_init(&b->chip, b->chip_lines, VIO_SIM_BOARD_GPIO_LINES,
			  vio_sim_board_gpio_names);
	rc = vio_gpio_init(&b->gpio, &vio_sim_gpio_ops, &b->chip, VIO_SIM_BOARD_GPIO_LINES,
			   b->gpio_lines, b->gpio_queues, c->queue_size, VIO_BIT(VIO_GPIO_F_IRQ));
	if (rc == 0)
		vio_sim_gpio_attach(&b->chip, &b->gpio);
	b->devs[VIO_SIM_BOARD_GPIO] = &b->gpio.dev;
	return rc;
}

int vio_sim_board_init(struct vio_sim_board *b, const struct vio_sim_board_config *c)
{
	const struct vio_rng_ops *rng_ops = &vio_sim_entropy_ops;
	void *rng_ctx = &b->ent;
	uint16_t q = c->queue_size;
	int rc;

	if (c->rng_ops != NULL) {
		rng_ops = c->rng_ops;
		rng_ctx = c->rng_ctx;
	}
	b->devs[VIO_SIM_BOARD_BLK] = &b->blk.dev;
	b->devs[VIO_SIM_BOARD_RNG] = &b->rng.dev;
	b->devs[VIO_SIM_BOARD_I2C] = &b->i2c.dev;
	vio_sim_ramdisk_init(&b->rd, c->disk, c->disk_bytes);
	vio_sim_entropy_init(&b->ent, c->entropy_seed);
	vio_sim_i2c_init(&b->i2c_bus);
	vio_sim_24c02_init(&b->eeprom, VIO_SIM_24C02_ADDR, NULL);
	vio_sim_lm75_init(&b->lm75, VIO_SIM_LM75_ADDR);
	vio_sim_lm75_set_temp_mc(&b->lm75, VIO_SIM_BOARD_LM75_MC);
	rc = vio_blk_init(&b->blk, c->blk, &vio_sim_ramdisk_ops, &b->rd, &b->blk_queue,
			  b->blk_slots, VIO_SIM_BOARD_BLK_SLOTS);
	if (rc == 0)
		rc = vio_rng_init(&b->rng, rng_ops, rng_ctx, &b->rng_queue, q, 0);
	if (rc == 0)
		rc = vio_sim_board_init_gpio(b, c);
	if (rc == 0)
		rc = vio_sim_i2c_attach(&b->i2c_bus, &b->eeprom.dev);
	if (rc == 0)
		rc = vio_sim_i2c_attach(&b->i2c_bus, &b->lm75.dev);
	if (rc == 0)
		rc = vio_i2c_init(&b->i2c, &vio_sim_i2c_ops, &b->i2c_bus, &b->i2c_queue, q, 0,
				  b->i2c_bounce, sizeof(b->i2c_bounce));
	return rc;
}

void vio_sim_board_wires(struct vio_sim_board *b)
{
	int out = vio_sim_gpio_get_output(&b->chip, VIO_SIM_BOARD_JUMPER_OUT);

	if (out >= 0 && (uint8_t) out != b->jumper) {
		b->jumper = (uint8_t) out;
		vio_sim_gpio_set_input(&b->chip, VIO_SIM_BOARD_JUMPER_IN, b->jumper);
	}
}
