/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The standard simulated board (sim_board.h): the devices the build chose
 * (VIO_SIM_BOARD_WITH_*), one numbering.
 */
#include <stddef.h>
#include <stdint.h>

#include "vioport/errno.h"
#include "vioport/sim_board.h"

#if VIO_SIM_BOARD_WITH_GPIO
const char *const vio_sim_board_gpio_names[VIO_SIM_BOARD_GPIO_LINES] = {
    "led0", "led1", "led2", "jumper-out", "jumper-in", "button0", "button1", "spare",
};

/* Inlined in vio_sim_board_init, which a board with gpio always links. */
static inline __attribute__((always_inline)) int init_gpio(struct vio_sim_board *b,
							   const struct vio_sim_board_config *c)
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

int vio_sim_board_init_gpio(struct vio_sim_board *b, const struct vio_sim_board_config *c)
{
	return init_gpio(b, c);
}
#endif

#if VIO_SIM_BOARD_WITH_CONSOLE
static int init_console(struct vio_sim_board *b, const struct vio_sim_board_config *c)
{
	static const uint8_t kinds[1] = {VIO_SIM_CONSOLE_LINE};

	b->devs[VIO_SIM_BOARD_CONSOLE] = &b->con.dev;
	/* Not attached (sim_board.h): the caller's main loop kicks the device. */
	vio_sim_console_init(&b->con_sim, &b->con_sim_port, 1, kinds, NULL);
	/*
	 * Multiport, with port 0 alone: Linux discards what reaches its console
	 * port before the port is set up, and without multiport nothing says when
	 * that is. With it the driver opens the port (PORT_OPEN) once it is, and
	 * the device holds what was printed until then.
	 */
	return vio_console_init(&b->con, &vio_sim_console_ops, &b->con_sim, 1, &b->con_port,
				b->con_queues, c->queue_size, VIO_BIT(VIO_CONSOLE_F_MULTIPORT));
}

void vio_sim_board_console_kick(struct vio_sim_board *b)
{
	(void) vio_console_tx_wake(&b->con, 0);
	(void) vio_console_rx_wake(&b->con, 0);
}
#endif

#if VIO_SIM_BOARD_WITH_INPUT
static int init_input(struct vio_sim_board *b, const struct vio_sim_board_config *c)
{
	int rc;

	b->devs[VIO_SIM_BOARD_INPUT] = &b->input.dev;
	vio_sim_input_init_keyboard(&b->in_sim);
	rc = vio_input_init(&b->input, &vio_sim_input_ops, &b->in_sim, b->in_backlog,
			    VIO_SIM_BOARD_INPUT_BACKLOG, b->in_queues, c->queue_size, 0);
	if (rc == 0)
		vio_sim_input_attach(&b->in_sim, &b->input);
	return rc;
}
#endif

#if VIO_SIM_BOARD_WITH_TOUCH
static int init_touch(struct vio_sim_board *b, const struct vio_sim_board_config *c)
{
	int rc;

	b->devs[VIO_SIM_BOARD_TOUCH] = &b->touch.dev;
	rc = vio_sim_input_init_touchscreen(&b->tp_sim, VIO_SIM_BOARD_TOUCH_WIDTH,
					    VIO_SIM_BOARD_TOUCH_HEIGHT, VIO_SIM_BOARD_TOUCH_RES,
					    VIO_SIM_BOARD_TOUCH_SLOTS);
	if (rc == 0)
		rc = vio_input_init(&b->touch, &vio_sim_input_ops, &b->tp_sim, b->tp_backlog,
				    VIO_SIM_BOARD_INPUT_BACKLOG, b->tp_queues, c->queue_size, 0);
	if (rc == 0)
		vio_sim_input_attach(&b->tp_sim, &b->touch);
	return rc;
}
#endif

int vio_sim_board_init(struct vio_sim_board *b, const struct vio_sim_board_config *c)
{
	int rc = 0;

#if VIO_SIM_BOARD_WITH_RNG
	const struct vio_rng_ops *rng_ops = &vio_sim_entropy_ops;
	void *rng_ctx = &b->ent;

	if (c->rng_ops != NULL) {
		rng_ops = c->rng_ops;
		rng_ctx = c->rng_ctx;
	}
#endif
#if VIO_SIM_BOARD_WITH_BLK
	b->devs[VIO_SIM_BOARD_BLK] = &b->blk.dev;
	vio_sim_ramdisk_init(&b->rd, c->disk, c->disk_bytes);
	rc = vio_blk_init(&b->blk, c->blk, &vio_sim_ramdisk_ops, &b->rd, &b->blk_queue,
			  b->blk_slots, VIO_SIM_BOARD_BLK_SLOTS);
#endif
#if VIO_SIM_BOARD_WITH_RNG
	b->devs[VIO_SIM_BOARD_RNG] = &b->rng.dev;
	vio_sim_entropy_init(&b->ent, c->entropy_seed);
	if (rc == 0)
		rc = vio_rng_init(&b->rng, rng_ops, rng_ctx, &b->rng_queue, c->queue_size, 0);
#endif
#if VIO_SIM_BOARD_WITH_GPIO
	if (rc == 0)
		rc = init_gpio(b, c);
#endif
#if VIO_SIM_BOARD_WITH_I2C
	b->devs[VIO_SIM_BOARD_I2C] = &b->i2c.dev;
	vio_sim_i2c_init(&b->i2c_bus);
	vio_sim_24c02_init(&b->eeprom, VIO_SIM_24C02_ADDR, NULL);
	vio_sim_lm75_init(&b->lm75, VIO_SIM_LM75_ADDR);
	vio_sim_lm75_set_temp_mc(&b->lm75, VIO_SIM_BOARD_LM75_MC);
	if (rc == 0)
		rc = vio_sim_i2c_attach(&b->i2c_bus, &b->eeprom.dev);
	if (rc == 0)
		rc = vio_sim_i2c_attach(&b->i2c_bus, &b->lm75.dev);
	if (rc == 0)
		rc = vio_i2c_init(&b->i2c, &vio_sim_i2c_ops, &b->i2c_bus, &b->i2c_queue,
				  c->queue_size, 0, b->i2c_bounce, sizeof(b->i2c_bounce));
#endif
#if VIO_SIM_BOARD_WITH_CONSOLE
	if (rc == 0)
		rc = init_console(b, c);
#endif
#if VIO_SIM_BOARD_WITH_INPUT
	if (rc == 0)
		rc = init_input(b, c);
#endif
#if VIO_SIM_BOARD_WITH_TOUCH
	if (rc == 0)
		rc = init_touch(b, c);
#endif
	return rc;
}

void vio_sim_board_wires(struct vio_sim_board *b)
{
#if VIO_SIM_BOARD_WITH_GPIO
	int out = vio_sim_gpio_get_output(&b->chip, VIO_SIM_BOARD_JUMPER_OUT);

	if (out >= 0 && (uint8_t) out != b->jumper) {
		b->jumper = (uint8_t) out;
		vio_sim_gpio_set_input(&b->chip, VIO_SIM_BOARD_JUMPER_IN, b->jumper);
	}
#else
	(void) b;
#endif
}
