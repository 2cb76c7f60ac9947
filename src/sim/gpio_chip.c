/* SPDX-License-Identifier: BSD-3-Clause */
/* Simulated GPIO chip: lines in caller memory, inputs driven by the host. */
#include "vioport/errno.h"
#include "vioport/sim_gpio.h"

#include <string.h>

#define GEN_PREFIX     "sim-gpio-"
#define GEN_PREFIX_LEN 9u

void vio_sim_gpio_init(struct vio_sim_gpio *chip, struct vio_sim_gpio_line *lines, uint16_t nlines,
		       const char *const *names)
{
	memset(chip, 0, sizeof(*chip));
	memset(lines, 0, (size_t) nlines * sizeof(*lines));
	chip->lines = lines;
	chip->nlines = nlines;
	chip->names = names;
}

void vio_sim_gpio_attach(struct vio_sim_gpio *chip, struct vio_gpio *dev)
{
	chip->dev = dev;
}

/* Counts the call and consumes an injected failure; returns it or 0. */
static int sim_enter(struct vio_sim_gpio *chip, uint16_t line)
{
	int f = chip->fail_next;

	chip->ops++;
	if (line >= chip->nlines)
		return -VIO_EINVAL;
	chip->fail_next = 0;
	return f < 0 ? f : 0;
}

static int sim_get_direction(void *ctx, uint16_t line)
{
	struct vio_sim_gpio *chip = ctx;
	int rc = sim_enter(chip, line);

	return rc < 0 ? rc : chip->lines[line].dir;
}

static int sim_set_direction(void *ctx, uint16_t line, uint8_t dir)
{
	struct vio_sim_gpio *chip = ctx;
	int rc = sim_enter(chip, line);

	if (rc < 0)
		return rc;
	if (dir > VIO_GPIO_DIRECTION_IN)
		return -VIO_EINVAL;
	chip->lines[line].dir = dir;
	return 0;
}

static int sim_get_value(void *ctx, uint16_t line)
{
	struct vio_sim_gpio *chip = ctx;
	const struct vio_sim_gpio_line *l;
	int rc = sim_enter(chip, line);

	if (rc < 0)
		return rc;
	l = &chip->lines[line];
	return l->dir == VIO_GPIO_DIRECTION_OUT ? l->output : l->input;
}

static int sim_set_value(void *ctx, uint16_t line, uint8_t value)
{
	struct vio_sim_gpio *chip = ctx;
	int rc = sim_enter(chip, line);

	if (rc < 0)
		return rc;
	value = value ? 1 : 0;
	if (chip->lines[line].output != value)
		chip->lines[line].changes++;
	chip->lines[line].output = value;
	return 0;
}

static int sim_set_irq_type(void *ctx, uint16_t line, uint8_t type)
{
	struct vio_sim_gpio *chip = ctx;
	int rc = sim_enter(chip, line);

	if (rc < 0)
		return rc;
	chip->lines[line].irq_type = type;
	return 0;
}

/* Writes the decimal digits of v into buf (up to cap); returns the full digit count. */
static uint32_t sim_decimal(uint16_t v, char *buf, uint32_t cap)
{
	char d[5];
	uint32_t n = 0;

	do {
		d[n++] = (char) ('0' + v % 10u);
		v /= 10u;
	} while (v != 0);
	for (uint32_t i = 0; i < n && i < cap; i++)
		buf[i] = d[n - 1 - i];
	return n;
}

static uint32_t sim_line_name(void *ctx, uint16_t line, char *buf, uint32_t cap)
{
	const struct vio_sim_gpio *chip = ctx;
	uint32_t len;

	if (line >= chip->nlines)
		return 0;
	if (chip->names != NULL) {
		const char *n = chip->names[line];

		if (n == NULL)
			return 0;
		len = (uint32_t) strlen(n);
		memcpy(buf, n, len < cap ? len : cap);
		return len;
	}
	memcpy(buf, GEN_PREFIX, GEN_PREFIX_LEN < cap ? GEN_PREFIX_LEN : cap);
	if (cap < GEN_PREFIX_LEN)
		return GEN_PREFIX_LEN + sim_decimal(line, buf, 0);
	return GEN_PREFIX_LEN + sim_decimal(line, buf + GEN_PREFIX_LEN, cap - GEN_PREFIX_LEN);
}

int vio_sim_gpio_set_input(struct vio_sim_gpio *chip, uint16_t line, uint8_t level)
{
	struct vio_sim_gpio_line *l;
	uint8_t ev;

	if (chip == NULL || line >= chip->nlines || level > 1)
		return -VIO_EINVAL;
	l = &chip->lines[line];
	ev = level ? VIO_GPIO_EV_HIGH : VIO_GPIO_EV_LOW;
	if (level != l->input)
		ev |= level ? VIO_GPIO_EV_RISING : VIO_GPIO_EV_FALLING;
	l->input = level;
	/* a line the device never armed has no interrupt to raise, as on real chips */
	if (chip->dev != NULL && l->irq_type != VIO_GPIO_IRQ_TYPE_NONE)
		vio_gpio_line_event(chip->dev, line, ev);
	return 0;
}

int vio_sim_gpio_get_output(const struct vio_sim_gpio *chip, uint16_t line)
{
	if (chip == NULL || line >= chip->nlines)
		return -VIO_EINVAL;
	return chip->lines[line].output;
}

const struct vio_gpio_ops vio_sim_gpio_ops = {
    .get_direction = sim_get_direction,
    .set_direction = sim_set_direction,
    .get_value = sim_get_value,
    .set_value = sim_set_value,
    .set_irq_type = sim_set_irq_type,
    .line_name = sim_line_name,
};
