/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Simulated GPIO chip: a virtio-gpio provider over caller memory, for tests,
 * simulations and firmware demos.
 *
 * Each line has a direction, an input level a test or user drives with
 * vio_sim_gpio_set_input, and an output level the driver sets and the host
 * reads back with vio_sim_gpio_get_output. An input that changes reports an
 * edge and its new level to the attached device; one driven to the level it
 * already has reports the level only, which is how a level interrupt stays
 * asserted. Reading a line gives its output level while it is an output and
 * its input level otherwise.
 *
 * Threading: as the device it serves; vio_sim_gpio_set_input runs on the
 * device's thread.
 */
#ifndef VIOPORT_SIM_GPIO_H
#define VIOPORT_SIM_GPIO_H

#include <stdint.h>

#include "vioport/gpio.h"

/* One simulated line. */
struct vio_sim_gpio_line {
	uint8_t dir;	  /* VIO_GPIO_DIRECTION_* */
	uint8_t input;	  /* level driven from outside */
	uint8_t output;	  /* level the driver set */
	uint8_t irq_type; /* VIO_GPIO_IRQ_TYPE_* the device armed */
	uint32_t changes; /* times the driver changed the output level */
};

struct vio_sim_gpio {
	struct vio_sim_gpio_line *lines;
	const char *const *names; /* NULL: generated "sim-gpio-N" */
	uint16_t nlines;
	struct vio_gpio *dev; /* where input changes go; NULL until attached */
	int fail_next;	      /* when negative, the next operation fails with it once */
	uint32_t ops;	      /* operations the device called */
};

/*
 * Prepares a chip of nlines lines over lines (nlines entries, zeroed here:
 * every line starts undirected and low). names holds nlines names (an entry
 * may be NULL for an unnamed line), or is NULL for generated ones; the
 * strings must outlive the chip.
 */
void vio_sim_gpio_init(struct vio_sim_gpio *chip, struct vio_sim_gpio_line *lines, uint16_t nlines,
		       const char *const *names);

/* Sends the chip's input changes to dev from now on (NULL stops them). */
void vio_sim_gpio_attach(struct vio_sim_gpio *chip, struct vio_gpio *dev);

/* Drives line's input to level (0 or 1) and reports it; -VIO_EINVAL for a bad line. */
int vio_sim_gpio_set_input(struct vio_sim_gpio *chip, uint16_t line, uint8_t level);

/* Returns the output level the driver set on line (0 or 1), or -VIO_EINVAL. */
int vio_sim_gpio_get_output(const struct vio_sim_gpio *chip, uint16_t line);

/* The gpio provider table over a struct vio_sim_gpio context. */
extern const struct vio_gpio_ops vio_sim_gpio_ops;

#endif
