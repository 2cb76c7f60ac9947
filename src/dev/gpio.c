/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-gpio: request checks, dispatch to a provider, interrupts through the eventq. */
#include "vioport/gpio.h"
#include "vioport/byteorder.h"
#include "vioport/errno.h"

#include <string.h>

/* IN_ORDER is left out on purpose: eventq buffers come back in event order. */
#define GPIO_FEATURES                                                                              \
	(VIO_BIT(VIO_GPIO_F_IRQ) | VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) |       \
	 VIO_BIT(VIO_F_RING_PACKED) | VIO_BIT(VIO_F_VERSION_1))

/* The name of a line as it goes on the wire, truncated so it fits VIO_GPIO_NAME_MAX. */
static uint32_t gpio_name(const struct vio_gpio *gpio, uint16_t line, char *buf)
{
	uint32_t len;

	if (gpio->ops->line_name == NULL)
		return 0;
	len = gpio->ops->line_name(gpio->ctx, line, buf, VIO_GPIO_NAME_MAX - 1);
	return len > VIO_GPIO_NAME_MAX - 1 ? VIO_GPIO_NAME_MAX - 1 : len;
}

/* The eventq can still take a used entry: a reset or a broken ring stops that. */
static bool gpio_ev_can_push(const struct vio_gpio *gpio)
{
	const struct vio_vq *vq;

	if (gpio->dev.num_queues < 2)
		return false;
	vq = &gpio->dev.queues[VIO_GPIO_EVENTQ].vq;
	return vq->ready && vq->error == 0;
}

/* Returns the line's held buffer with status st, which masks the line again. */
static void gpio_ev_return(struct vio_gpio *gpio, struct vio_gpio_line *l, uint8_t st)
{
	l->unmasked = false;
	if (!gpio_ev_can_push(gpio))
		return;
	*l->ev_status = st;
	vio_vq_push(&gpio->dev.queues[VIO_GPIO_EVENTQ].vq, l->ev_id, l->ev_ndesc, 1);
	vio_device_flush(&gpio->dev, VIO_GPIO_EVENTQ);
	if (st == VIO_GPIO_IRQ_STATUS_VALID)
		gpio->irqs++;
}

static bool gpio_is_level(uint8_t type)
{
	return type == VIO_GPIO_IRQ_TYPE_LEVEL_HIGH || type == VIO_GPIO_IRQ_TYPE_LEVEL_LOW;
}

/* A level interrupt is asserted while the line stays at its level: ask the provider. */
static void gpio_check_level(struct vio_gpio *gpio, uint16_t line)
{
	struct vio_gpio_line *l = &gpio->lines[line];
	int v;

	if (!l->unmasked || !gpio_is_level(l->irq_type))
		return;
	v = gpio->ops->get_value(gpio->ctx, line);
	/* the provider may have reported an event from inside get_value, using the buffer */
	if (v < 0 || !l->unmasked)
		return;
	if ((v != 0) == (l->irq_type == VIO_GPIO_IRQ_TYPE_LEVEL_HIGH))
		gpio_ev_return(gpio, l, VIO_GPIO_IRQ_STATUS_VALID);
}

void vio_gpio_line_event(struct vio_gpio *gpio, uint16_t line, uint8_t events)
{
	struct vio_gpio_line *l;

	if (gpio == NULL || line >= gpio->ngpio)
		return;
	l = &gpio->lines[line];
	if ((events & l->irq_type) == 0)
		return;
	if (l->unmasked)
		gpio_ev_return(gpio, l, VIO_GPIO_IRQ_STATUS_VALID);
	else if (!gpio_is_level(l->irq_type))
		l->latched = true; /* a level is looked at again on unmask instead */
}

/* Takes one eventq buffer: it unmasks its line, or comes back INVALID at once. */
static void gpio_ev_take(struct vio_gpio *gpio, const struct vio_req *r)
{
	struct vio_vq *vq = &gpio->dev.queues[VIO_GPIO_EVENTQ].vq;
	uint8_t hdr[VIO_GPIO_IRQ_REQ_SIZE];
	const struct vio_iov *last;
	struct vio_gpio_line *l;
	uint16_t line;

	if (r->nwrite == 0 || (r->flags & VIO_REQ_F_OVERFLOW) ||
	    r->iov[r->nread + r->nwrite - 1].len == 0) {
		vio_vq_push(vq, r->id, r->ndesc, 0); /* nowhere to put a status */
		return;
	}
	last = &r->iov[r->nread + r->nwrite - 1];
	if (r->read_len != VIO_GPIO_IRQ_REQ_SIZE || r->write_len != VIO_GPIO_IRQ_RESP_SIZE)
		goto invalid;
	vio_iov_to_buf(r->iov, r->nread, 0, hdr, sizeof(hdr));
	line = vio_get_le16(hdr);
	if (line >= gpio->ngpio)
		goto invalid;
	l = &gpio->lines[line];
	/* a second buffer for an unmasked line, or a line that cannot interrupt */
	if (l->unmasked || l->irq_type == VIO_GPIO_IRQ_TYPE_NONE)
		goto invalid;
	l->unmasked = true;
	l->ev_id = r->id;
	l->ev_ndesc = r->ndesc;
	l->ev_status = last->base + last->len - 1;
	if (l->latched) {
		l->latched = false;
		gpio_ev_return(gpio, l, VIO_GPIO_IRQ_STATUS_VALID);
	} else {
		gpio_check_level(gpio, line);
	}
	return;
invalid:
	last->base[last->len - 1] = VIO_GPIO_IRQ_STATUS_INVALID;
	vio_vq_push(vq, r->id, r->ndesc, 1);
}

static void gpio_run_eventq(struct vio_gpio *gpio)
{
	struct vio_device *dev = &gpio->dev;

	/* without the feature the eventq does not exist for this driver */
	if (!vio_device_has(dev, VIO_GPIO_F_IRQ))
		return;
	while (vio_device_queue_live(dev, VIO_GPIO_EVENTQ)) {
		gpio->req.iov = gpio->iov;
		gpio->req.cap = VIO_GPIO_SEGS;
		if (vio_device_pop(dev, VIO_GPIO_EVENTQ, &gpio->req) != 1)
			break;
		gpio_ev_take(gpio, &gpio->req);
	}
	vio_device_flush(dev, VIO_GPIO_EVENTQ);
}

/* Writes the names block after the status byte; returns a VIO_GPIO_STATUS_*. */
static uint8_t gpio_get_names(struct vio_gpio *gpio, const struct vio_iov *w, uint16_t nw)
{
	char name[VIO_GPIO_NAME_MAX];
	uint32_t off = 1;

	if (gpio->names_size == 0)
		return VIO_GPIO_STATUS_ERR;
	for (uint16_t i = 0; i < gpio->ngpio; i++) {
		uint32_t len = gpio_name(gpio, i, name);

		name[len++] = '\0';
		if (len > gpio->names_size + 1 - off)
			len = gpio->names_size + 1 - off; /* a provider whose names grew */
		vio_iov_from_buf(w, nw, off, name, len);
		off += len;
	}
	/* a provider whose names shrank: the rest reads as empty names */
	memset(name, 0, sizeof(name));
	while (off < gpio->names_size + 1) {
		uint32_t len = gpio->names_size + 1 - off;

		if (len > sizeof(name))
			len = sizeof(name);
		vio_iov_from_buf(w, nw, off, name, len);
		off += len;
	}
	return VIO_GPIO_STATUS_OK;
}

/* Forgets a line's interrupt: no latched edge, the held buffer back INVALID. */
static void gpio_irq_forget(struct vio_gpio *gpio, struct vio_gpio_line *l)
{
	l->irq_type = VIO_GPIO_IRQ_TYPE_NONE;
	l->latched = false;
	if (l->unmasked)
		gpio_ev_return(gpio, l, VIO_GPIO_IRQ_STATUS_INVALID);
}

/* Arms a line; a change to NONE first returns the line's held buffer INVALID. */
static int gpio_set_irq_type(struct vio_gpio *gpio, uint16_t line, uint32_t type)
{
	struct vio_gpio_line *l = &gpio->lines[line];
	int rc;

	if (!vio_device_has(&gpio->dev, VIO_GPIO_F_IRQ))
		return -VIO_ENOTSUP;
	if (type != VIO_GPIO_IRQ_TYPE_NONE && type != VIO_GPIO_IRQ_TYPE_EDGE_RISING &&
	    type != VIO_GPIO_IRQ_TYPE_EDGE_FALLING && type != VIO_GPIO_IRQ_TYPE_EDGE_BOTH &&
	    type != VIO_GPIO_IRQ_TYPE_LEVEL_HIGH && type != VIO_GPIO_IRQ_TYPE_LEVEL_LOW)
		return -VIO_EINVAL;
	rc = gpio->ops->set_irq_type(gpio->ctx, line, (uint8_t) type);
	if (rc < 0)
		return rc;
	if (type == VIO_GPIO_IRQ_TYPE_NONE) {
		gpio_irq_forget(gpio, l);
		return 0;
	}
	l->irq_type = (uint8_t) type;
	l->latched = false; /* an edge of the old type is not one the driver asked for */
	gpio_check_level(gpio, line);
	return 0;
}

/* A line set to NONE is released: the spec has the device drop all its state, irq included. */
static int gpio_set_direction(struct vio_gpio *gpio, uint16_t line, uint32_t dir)
{
	struct vio_gpio_line *l = &gpio->lines[line];
	int rc;

	if (dir > VIO_GPIO_DIRECTION_IN)
		return -VIO_EINVAL;
	rc = gpio->ops->set_direction(gpio->ctx, line, (uint8_t) dir);
	if (rc < 0 || dir != VIO_GPIO_DIRECTION_NONE)
		return rc;
	if (l->irq_type != VIO_GPIO_IRQ_TYPE_NONE)
		(void) gpio->ops->set_irq_type(gpio->ctx, line, VIO_GPIO_IRQ_TYPE_NONE);
	gpio_irq_forget(gpio, l);
	return 0;
}

/* Runs one checked single-line request; returns the provider's result (value or negative). */
static int gpio_line_op(struct vio_gpio *gpio, uint16_t type, uint16_t line, uint32_t value)
{
	if (line >= gpio->ngpio)
		return -VIO_EINVAL;
	switch (type) {
	case VIO_GPIO_MSG_GET_DIRECTION: {
		int d = gpio->ops->get_direction(gpio->ctx, line);

		/* a provider answering nonsense is not believed */
		return d > VIO_GPIO_DIRECTION_IN ? -VIO_EIO : d;
	}
	case VIO_GPIO_MSG_SET_DIRECTION:
		return gpio_set_direction(gpio, line, value);
	case VIO_GPIO_MSG_GET_VALUE: {
		int v = gpio->ops->get_value(gpio->ctx, line);

		return v > 1 ? -VIO_EIO : v;
	}
	case VIO_GPIO_MSG_SET_VALUE:
		if (value > 1)
			return -VIO_EINVAL;
		return gpio->ops->set_value(gpio->ctx, line, (uint8_t) value);
	case VIO_GPIO_MSG_SET_IRQ_TYPE:
		return gpio_set_irq_type(gpio, line, value);
	default:
		return -VIO_EINVAL;
	}
}

/* Answers one requestq request; returns the bytes written for the used entry. */
static uint32_t gpio_request(struct vio_gpio *gpio, const struct vio_req *r)
{
	const struct vio_iov *w = &r->iov[r->nread];
	uint8_t hdr[VIO_GPIO_REQ_SIZE];
	uint8_t resp[VIO_GPIO_RESP_SIZE] = {VIO_GPIO_STATUS_ERR, 0};
	uint16_t type, line;
	uint32_t want;
	int rc;

	if (r->write_len == 0 || (r->flags & VIO_REQ_F_OVERFLOW))
		return 0; /* nowhere to put a status (or not all of where it goes) */
	if (r->read_len != VIO_GPIO_REQ_SIZE)
		goto err;
	vio_iov_to_buf(r->iov, r->nread, 0, hdr, sizeof(hdr));
	type = vio_get_le16(hdr);
	line = vio_get_le16(hdr + 2);
	want = type == VIO_GPIO_MSG_GET_LINE_NAMES ? gpio->names_size + 1 : VIO_GPIO_RESP_SIZE;
	if (r->write_len != want)
		goto err;
	if (type == VIO_GPIO_MSG_GET_LINE_NAMES) {
		resp[0] = gpio_get_names(gpio, w, r->nwrite);
		if (resp[0] != VIO_GPIO_STATUS_OK)
			goto err;
		vio_iov_from_buf(w, r->nwrite, 0, resp, 1);
		return want;
	}
	rc = gpio_line_op(gpio, type, line, vio_get_le32(hdr + 4));
	if (rc < 0)
		goto err;
	resp[0] = VIO_GPIO_STATUS_OK;
	resp[1] = (uint8_t) rc; /* the set requests return 0: value is 0 then */
err:
	want = r->write_len < sizeof(resp) ? r->write_len : (uint32_t) sizeof(resp);
	return vio_iov_from_buf(w, r->nwrite, 0, resp, want);
}

static void gpio_run_requestq(struct vio_gpio *gpio)
{
	struct vio_device *dev = &gpio->dev;
	bool pushed = false;

	while (vio_device_queue_live(dev, VIO_GPIO_REQUESTQ)) {
		uint32_t len;

		gpio->req.iov = gpio->iov;
		gpio->req.cap = VIO_GPIO_SEGS;
		if (vio_device_pop(dev, VIO_GPIO_REQUESTQ, &gpio->req) != 1)
			break;
		len = gpio_request(gpio, &gpio->req);
		vio_vq_push(&dev->queues[VIO_GPIO_REQUESTQ].vq, gpio->req.id, gpio->req.ndesc, len);
		pushed = true;
	}
	if (pushed)
		vio_device_flush(dev, VIO_GPIO_REQUESTQ);
}

static void gpio_queue_notify(struct vio_device *dev, uint16_t q)
{
	struct vio_gpio *gpio = dev->priv;

	if (q == VIO_GPIO_REQUESTQ)
		gpio_run_requestq(gpio);
	else if (q == VIO_GPIO_EVENTQ)
		gpio_run_eventq(gpio);
}

/* Held eventq buffers belong to the old ring: forget them without touching it. */
static void gpio_queue_reset(struct vio_device *dev, uint16_t q)
{
	struct vio_gpio *gpio = dev->priv;

	if (q != VIO_GPIO_EVENTQ)
		return;
	for (uint16_t i = 0; i < gpio->ngpio; i++)
		gpio->lines[i].unmasked = false;
}

/* A reset disarms every line, in the provider too, so no interrupt outlives the driver. */
static void gpio_reset(struct vio_device *dev)
{
	struct vio_gpio *gpio = dev->priv;

	for (uint16_t i = 0; i < gpio->ngpio; i++) {
		struct vio_gpio_line *l = &gpio->lines[i];

		if (l->irq_type != VIO_GPIO_IRQ_TYPE_NONE)
			(void) gpio->ops->set_irq_type(gpio->ctx, i, VIO_GPIO_IRQ_TYPE_NONE);
		memset(l, 0, sizeof(*l));
	}
}

static const struct vio_device_ops gpio_dev_ops = {
    .reset = gpio_reset,
    .queue_reset = gpio_queue_reset,
    .queue_notify = gpio_queue_notify,
};

int vio_gpio_init(struct vio_gpio *gpio, const struct vio_gpio_ops *ops, void *ctx, uint16_t ngpio,
		  struct vio_gpio_line *lines, struct vio_queue *queues, uint16_t queue_size,
		  uint64_t features)
{
	bool irq = (features & VIO_BIT(VIO_GPIO_F_IRQ)) != 0;
	char name[VIO_GPIO_NAME_MAX];
	uint32_t names = 0;

	if (gpio == NULL || ops == NULL || ops->get_direction == NULL ||
	    ops->set_direction == NULL || ops->get_value == NULL || ops->set_value == NULL ||
	    (irq && ops->set_irq_type == NULL) || ngpio == 0 || lines == NULL || queues == NULL ||
	    queue_size == 0 || queue_size > VIO_VQ_MAX_SIZE || (features & ~GPIO_FEATURES) != 0)
		return -VIO_EINVAL;
	memset(gpio, 0, sizeof(*gpio));
	memset(lines, 0, (size_t) ngpio * sizeof(*lines));
	gpio->ops = ops;
	gpio->ctx = ctx;
	gpio->lines = lines;
	gpio->ngpio = ngpio;
	/* no names at all is a size of 0, which tells the driver there are none */
	if (ops->line_name != NULL) {
		bool any = false;

		for (uint16_t i = 0; i < ngpio; i++) {
			uint32_t len = gpio_name(gpio, i, name);

			any = any || len != 0;
			names += len + 1;
		}
		if (!any)
			names = 0;
	}
	gpio->names_size = names;
	vio_put_le16(gpio->config + VIO_GPIO_CFG_NGPIO, ngpio);
	vio_put_le32(gpio->config + VIO_GPIO_CFG_NAMES_SIZE, names);
	vio_device_init(&gpio->dev, &gpio_dev_ops, gpio, VIO_ID_GPIO, features, queues, irq ? 2 : 1,
			queue_size, gpio->config, sizeof(gpio->config));
	return 0;
}
