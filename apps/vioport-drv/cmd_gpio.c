/* SPDX-License-Identifier: BSD-3-Clause */
/* vioport-drv: gpio commands, names, get, set and wait, and gpio's line in `list`. */
#include <stdio.h>
#include <string.h>

#include "vioport-drv.h"
#include "vioport/byteorder.h"
#include "vioport/errno.h"
#include "vioport/gpio.h"
#include "vioport/virtio.h"

#define NAMES_MAX 4096u

static void gpio_summary(struct vio_vmsg_drv_dev *d)
{
	uint8_t cfg[8];

	if (vio_vmsg_drv_read_config(d, 0, cfg, VIO_GPIO_CONFIG_SIZE) == 0)
		printf("  %u lines, names %u bytes%s", vio_get_le16(cfg + VIO_GPIO_CFG_NGPIO),
		       vio_get_le32(cfg + VIO_GPIO_CFG_NAMES_SIZE),
		       (d->device_features & VIO_BIT(VIO_GPIO_F_IRQ)) ? ", interrupts" : "");
}

/* Two queues: the requestq, and the eventq for interrupts. */
const struct drv_kind drv_kind_gpio = {"gpio", VIO_ID_GPIO, 2, gpio_summary};

/* Parses the LINE of argv[2]. */
static bool gpio_line(char **argv, uint16_t *line)
{
	uint64_t v;

	if (!parse_u64(argv[2], UINT16_MAX, &v))
		return false;
	*line = (uint16_t) v;
	return true;
}

/* gpio DEV names */
int cmd_gpio_names(struct drv_ctx *c, int argc, char **argv)
{
	static char names[NAMES_MAX];
	int n, line = 0;

	if ((n = device_up(c, argv[0], &drv_kind_gpio, 0)) != 0)
		return n;
	n = vio_vmsg_drv_gpio_line_names(&c->s->dev, names, sizeof(names));
	if (n < 0)
		return fail("line names", n);
	for (int off = 0; off < n; line++) {
		const char *name = names + off;
		size_t len = strnlen(name, (size_t) (n - off));

		printf("%d\t%.*s\n", line, (int) len, len > 0 ? name : "(unnamed)");
		off += (int) len + 1;
	}
	return 0;
}

/* gpio DEV get LINE */
int cmd_gpio_get(struct drv_ctx *c, int argc, char **argv)
{
	uint16_t line;
	int r;

	if (!gpio_line(argv, &line))
		return usage_error("gpio: bad line '%s'", argv[2]);
	if ((r = device_up(c, argv[0], &drv_kind_gpio, 0)) != 0)
		return r;
	r = vio_vmsg_drv_gpio_set_direction(&c->s->dev, line, VIO_GPIO_DIRECTION_IN);
	if (r == 0)
		r = vio_vmsg_drv_gpio_get(&c->s->dev, line);
	if (r < 0)
		return fail("gpio get", r);
	printf("%d\n", r);
	return 0;
}

/* gpio DEV set LINE 0|1 */
int cmd_gpio_set(struct drv_ctx *c, int argc, char **argv)
{
	uint16_t line;
	uint64_t v;
	int r;

	if (!gpio_line(argv, &line))
		return usage_error("gpio: bad line '%s'", argv[2]);
	if (!parse_u64(argv[3], 1, &v))
		return usage_error("gpio: value must be 0 or 1, not '%s'", argv[3]);
	if ((r = device_up(c, argv[0], &drv_kind_gpio, 0)) != 0)
		return r;
	/* The value first, so the line never shows the old level as an output. */
	r = vio_vmsg_drv_gpio_set(&c->s->dev, line, (uint8_t) v);
	if (r == 0)
		r = vio_vmsg_drv_gpio_set_direction(&c->s->dev, line, VIO_GPIO_DIRECTION_OUT);
	return r < 0 ? fail("gpio set", r) : 0;
}

/* gpio DEV wait LINE rising|falling|both [TIMEOUT_MS] */
int cmd_gpio_wait(struct drv_ctx *c, int argc, char **argv)
{
	const char *edge = argv[3];
	uint64_t t = (uint64_t) c->o->timeout_ms;
	uint8_t type, status;
	uint16_t line, got;
	struct session *s;
	int r;

	if (!gpio_line(argv, &line))
		return usage_error("gpio: bad line '%s'", argv[2]);
	if (argc == 5 && !parse_u64(argv[4], UINT32_MAX / 1000u, &t))
		return usage_error("gpio: bad timeout '%s'", argv[4]);
	if (strcmp(edge, "rising") == 0)
		type = VIO_GPIO_IRQ_TYPE_EDGE_RISING;
	else if (strcmp(edge, "falling") == 0)
		type = VIO_GPIO_IRQ_TYPE_EDGE_FALLING;
	else if (strcmp(edge, "both") == 0)
		type = VIO_GPIO_IRQ_TYPE_EDGE_BOTH;
	else
		return usage_error("gpio: edge must be rising, falling or both, not '%s'", edge);
	if ((r = device_up(c, argv[0], &drv_kind_gpio, VIO_BIT(VIO_GPIO_F_IRQ))) != 0)
		return r;
	s = c->s;
	if (!(s->dev.features & VIO_BIT(VIO_GPIO_F_IRQ))) {
		fprintf(stderr, "vioport-drv: this gpio device offers no interrupts\n");
		return 1;
	}
	if ((r = vio_vmsg_drv_gpio_set_direction(&s->dev, line, VIO_GPIO_DIRECTION_IN)) < 0 ||
	    (r = vio_vmsg_drv_gpio_set_irq_type(&s->dev, line, type)) < 0 ||
	    (r = vio_vmsg_drv_gpio_irq_arm(&s->dev, line)) < 0)
		return fail("arming the line", r);
	r = vio_vmsg_drv_gpio_irq_wait(&s->dev, &got, &status, (uint32_t) t * 1000u);
	if (r == -VIO_ETIMEDOUT) {
		fprintf(stderr, "vioport-drv: no %s edge on line %u within %u ms\n", edge, line,
			(uint32_t) t);
		return 1;
	}
	if (r < 0)
		return fail("waiting for the edge", r);
	if (status != VIO_GPIO_IRQ_STATUS_VALID) {
		fprintf(stderr, "vioport-drv: line %u: the device returned the buffer unfired\n",
			got);
		return 1;
	}
	r = vio_vmsg_drv_gpio_get(&s->dev, line);
	printf("line %u: %s edge, level now %d\n", got, edge, r);
	return 0;
}
