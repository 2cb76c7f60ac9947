/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-console: port data through a provider, multiport control messages, emergency write. */
#include "vioport/console.h"
#include "vioport/byteorder.h"
#include "vioport/errno.h"

#include <string.h>

/* IN_ORDER is left out on purpose: receive buffers wait for data, transmit ones for room. */
#define CONSOLE_FEATURES                                                                           \
	(VIO_BIT(VIO_CONSOLE_F_SIZE) | VIO_BIT(VIO_CONSOLE_F_MULTIPORT) |                          \
	 VIO_BIT(VIO_CONSOLE_F_EMERG_WRITE) | VIO_BIT(VIO_F_INDIRECT_DESC) |                       \
	 VIO_BIT(VIO_F_EVENT_IDX) | VIO_BIT(VIO_F_RING_PACKED) | VIO_BIT(VIO_F_VERSION_1))

/* Control messages a port owes the driver, sent in this order. */
#define PEND_ADD     0x01u
#define PEND_CONSOLE 0x02u
#define PEND_RESIZE  0x04u
#define PEND_NAME    0x08u
#define PEND_OPEN    0x10u

static bool multiport(const struct vio_console *c)
{
	return vio_device_has(&c->dev, VIO_CONSOLE_F_MULTIPORT);
}

/* A held buffer may still be returned: a reset or a broken ring stops that. */
static bool can_push(const struct vio_console *c, uint16_t q)
{
	const struct vio_vq *vq = &c->dev.queues[q].vq;

	return vq->ready && vq->error == 0;
}

/* Pops the next buffer of q into h; 1, or 0 when there is none (a broken ring included). */
static int pop_held(struct vio_console *c, uint16_t q, struct vio_console_held *h)
{
	h->req.iov = h->iov;
	h->req.cap = VIO_CONSOLE_SEGS;
	h->off = 0;
	return vio_device_pop(&c->dev, q, &h->req) == 1;
}

static void push(struct vio_console *c, uint16_t q, const struct vio_req *r, uint32_t len)
{
	vio_vq_push(&c->dev.queues[q].vq, r->id, r->ndesc, len);
	vio_device_flush(&c->dev, q);
}

/* Fills a receive buffer's segments in order, stopping at the first short fill. */
static uint32_t rx_fill(struct vio_console *c, uint32_t port, const struct vio_req *r)
{
	uint16_t n = r->nwrite;
	uint32_t total = 0;

	/* after an overflow the last segment is not contiguous with the others */
	if (r->flags & VIO_REQ_F_OVERFLOW)
		n--;
	for (uint16_t i = 0; i < n; i++) {
		const struct vio_iov *v = &r->iov[i];
		int got;

		if (v->len == 0)
			continue;
		got = c->ops->rx(c->ctx, port, v->base, v->len);
		if (got <= 0)
			break;
		if ((uint32_t) got > v->len)
			got = (int) v->len; /* a provider that overstates is not believed */
		total += (uint32_t) got;
		if ((uint32_t) got < v->len)
			break;
	}
	return total;
}

/* One round of the receive loop; returns true when the provider ran dry. */
static bool rx_round(struct vio_console *c, uint32_t port)
{
	struct vio_console_port *p = &c->ports[port];
	uint16_t q = (uint16_t) VIO_CONSOLE_RXQ(port);

	/* Linux throws away data for a port it has not opened: hold it back instead */
	while (p->guest_open && vio_device_queue_live(&c->dev, q)) {
		struct vio_req *r = &p->rx.req;
		uint32_t n;

		if (!p->rx.held) {
			if (!pop_held(c, q, &p->rx))
				return false;
			if (r->nread != 0 || r->write_len == 0) {
				c->bad++;
				push(c, q, r, 0);
				continue;
			}
			p->rx.held = true;
		}
		n = rx_fill(c, port, r);
		if (n == 0)
			return true;
		/* the provider may have reset a queue from inside rx: the buffer is gone then */
		if (!p->rx.held || !can_push(c, q))
			return false;
		p->rx.held = false;
		p->rx_bytes += n;
		push(c, q, r, n);
	}
	return false;
}

static int rx_run(struct vio_console *c, uint32_t port)
{
	struct vio_console_port *p = &c->ports[port];
	bool dry;

	if (p->rx_busy) {
		p->rx_again = true;
		return 0;
	}
	p->rx_busy = true;
	do {
		p->rx_again = false;
		dry = rx_round(c, port);
	} while (p->rx_again);
	p->rx_busy = false;
	return dry ? 1 : 0;
}

/* Offers the rest of the held transmit buffer; returns true when it is all gone. */
static bool tx_offer(struct vio_console *c, uint32_t port, struct vio_console_held *h)
{
	uint32_t skip = h->off;

	for (uint16_t i = 0; i < h->req.nread; i++) {
		const struct vio_iov *v = &h->req.iov[i];
		uint32_t left;
		int took;

		if (skip >= v->len) {
			skip -= v->len;
			continue;
		}
		left = v->len - skip;
		took = c->ops->tx(c->ctx, port, v->base + skip, left);
		skip = 0;
		if (took < 0)
			return true; /* the provider refused: the bytes are dropped */
		if ((uint32_t) took > left)
			took = (int) left;
		h->off += (uint32_t) took;
		c->ports[port].tx_bytes += (uint32_t) took;
		if ((uint32_t) took < left)
			return false;
	}
	return true;
}

static void tx_round(struct vio_console *c, uint32_t port)
{
	struct vio_console_port *p = &c->ports[port];
	uint16_t q = (uint16_t) VIO_CONSOLE_TXQ(port);

	while (vio_device_queue_live(&c->dev, q)) {
		struct vio_req *r = &p->tx.req;

		if (!p->tx.held) {
			if (!pop_held(c, q, &p->tx))
				return;
			/* middle segments dropped by an overflow cannot be sent in order */
			if (r->nwrite != 0 || r->read_len == 0 || (r->flags & VIO_REQ_F_OVERFLOW)) {
				c->bad++;
				push(c, q, r, 0);
				continue;
			}
			p->tx.held = true;
		}
		if (!tx_offer(c, port, &p->tx))
			return;
		if (!p->tx.held || !can_push(c, q))
			return;
		p->tx.held = false;
		push(c, q, r, 0);
	}
}

static void tx_run(struct vio_console *c, uint32_t port)
{
	struct vio_console_port *p = &c->ports[port];

	if (p->tx_busy) {
		p->tx_again = true;
		return;
	}
	p->tx_busy = true;
	do {
		p->tx_again = false;
		tx_round(c, port);
	} while (p->tx_again);
	p->tx_busy = false;
}

/* Builds port's next owed control message in msg; returns its length. */
static uint32_t ctrl_build(struct vio_console *c, uint32_t port, uint8_t bit, uint8_t *msg)
{
	uint16_t event, value = 1;
	uint32_t len = VIO_CONSOLE_CTRL_SIZE;

	switch (bit) {
	case PEND_ADD:
		event = VIO_CONSOLE_PORT_ADD;
		break;
	case PEND_CONSOLE:
		event = VIO_CONSOLE_CONSOLE_PORT;
		break;
	case PEND_RESIZE:
		event = VIO_CONSOLE_RESIZE;
		value = 0;
		vio_put_le16(msg + len, c->cols);
		vio_put_le16(msg + len + 2, c->rows);
		len += VIO_CONSOLE_RESIZE_SIZE;
		break;
	case PEND_NAME: {
		uint32_t n =
		    c->ops->port_name(c->ctx, port, (char *) msg + len, VIO_CONSOLE_NAME_MAX - 1);

		event = VIO_CONSOLE_PORT_NAME;
		if (n > VIO_CONSOLE_NAME_MAX - 1)
			n = VIO_CONSOLE_NAME_MAX - 1;
		msg[len + n] = '\0'; /* as QEMU sends it; Linux takes the name either way */
		len += n + 1;
		break;
	}
	default:
		event = VIO_CONSOLE_PORT_OPEN;
		value = c->ports[port].host_open ? 1 : 0;
		break;
	}
	vio_put_le32(msg, port);
	vio_put_le16(msg + 4, event);
	vio_put_le16(msg + 6, value);
	return len;
}

/* Sends what the ports owe the driver while it has control receive buffers. */
static void ctrl_flush(struct vio_console *c)
{
	uint8_t msg[VIO_CONSOLE_CTRL_SIZE + VIO_CONSOLE_NAME_MAX];
	struct vio_req *r = &c->req;

	if (!multiport(c) || !c->ctrl_ready)
		return;
	for (uint32_t port = 0; port < c->nports; port++) {
		struct vio_console_port *p = &c->ports[port];

		while (p->pending != 0) {
			uint8_t bit = (uint8_t) (p->pending & -p->pending);
			uint32_t len = ctrl_build(c, port, bit, msg);

			r->iov = c->iov;
			r->cap = VIO_CONSOLE_CTRL_SEGS;
			if (vio_device_pop(&c->dev, VIO_CONSOLE_CRXQ, r) != 1)
				return;
			if (r->nread != 0 || r->write_len < len ||
			    (r->flags & VIO_REQ_F_OVERFLOW)) {
				c->bad++; /* the message waits for a buffer it fits in */
				push(c, VIO_CONSOLE_CRXQ, r, 0);
				continue;
			}
			vio_iov_from_buf(r->iov, r->nwrite, 0, msg, len);
			p->pending &= (uint8_t) ~bit;
			push(c, VIO_CONSOLE_CRXQ, r, len);
		}
	}
}

static void set_guest_open(struct vio_console *c, uint32_t port, bool open)
{
	struct vio_console_port *p = &c->ports[port];

	if (p->guest_open == open)
		return;
	p->guest_open = open;
	if (c->ops->port_open != NULL)
		c->ops->port_open(c->ctx, port, open);
	if (open)
		(void) rx_run(c, port);
}

/* The port is set up in the driver: tell it what kind of port it is. */
static void port_ready(struct vio_console *c, uint32_t port)
{
	struct vio_console_port *p = &c->ports[port];
	char name[1];

	p->ready = true;
	if (port == 0) {
		p->pending |= PEND_CONSOLE;
		if ((c->dev.host_features & VIO_BIT(VIO_CONSOLE_F_SIZE)) &&
		    (c->cols | c->rows) != 0)
			p->pending |= PEND_RESIZE;
	}
	if (c->ops->port_name != NULL && c->ops->port_name(c->ctx, port, name, 0) != 0)
		p->pending |= PEND_NAME;
	if (p->host_open)
		p->pending |= PEND_OPEN;
}

/* Acts on one message from the driver; returns false for one it may not send. */
static bool ctrl_handle(struct vio_console *c, uint32_t id, uint16_t event, uint16_t value)
{
	struct vio_console_port *p = id < c->nports ? &c->ports[id] : NULL;

	switch (event) {
	case VIO_CONSOLE_DEVICE_READY:
		if (c->ctrl_ready || value == 0)
			return value == 0; /* a driver that failed to set up stays unserved */
		c->ctrl_ready = true;
		for (uint32_t i = 0; i < c->nports; i++)
			c->ports[i].pending = PEND_ADD;
		return true;
	case VIO_CONSOLE_PORT_READY:
		/* only for a port announced and not set up yet */
		if (p == NULL || !c->ctrl_ready || (p->pending & PEND_ADD) || p->ready)
			return false;
		if (value != 0)
			port_ready(c, id);
		return true;
	case VIO_CONSOLE_PORT_OPEN:
		if (p == NULL || !p->ready || value > 1)
			return false;
		set_guest_open(c, id, value != 0);
		return true;
	default:
		return false;
	}
}

static void ctrl_run(struct vio_console *c)
{
	struct vio_req *r = &c->req;

	while (vio_device_queue_live(&c->dev, VIO_CONSOLE_CTXQ)) {
		uint8_t msg[VIO_CONSOLE_CTRL_SIZE];

		r->iov = c->iov;
		r->cap = VIO_CONSOLE_CTRL_SEGS;
		if (vio_device_pop(&c->dev, VIO_CONSOLE_CTXQ, r) != 1)
			break;
		if (r->nwrite != 0 || r->read_len != VIO_CONSOLE_CTRL_SIZE) {
			c->bad++;
		} else {
			vio_iov_to_buf(r->iov, r->nread, 0, msg, sizeof(msg));
			if (!ctrl_handle(c, vio_get_le32(msg), vio_get_le16(msg + 4),
					 vio_get_le16(msg + 6)))
				c->bad++;
		}
		/* the message is consumed before anything it caused is sent */
		if (can_push(c, VIO_CONSOLE_CTXQ))
			push(c, VIO_CONSOLE_CTXQ, r, 0);
	}
	ctrl_flush(c);
}

static void console_queue_notify(struct vio_device *dev, uint16_t q)
{
	struct vio_console *c = dev->priv;
	uint32_t port;

	if (q == VIO_CONSOLE_CRXQ || q == VIO_CONSOLE_CTXQ) {
		if (!multiport(c))
			return;
		if (q == VIO_CONSOLE_CTXQ)
			ctrl_run(c);
		else
			ctrl_flush(c);
		return;
	}
	port = q < 2 ? 0 : q / 2u - 1u;
	if (port >= c->nports || (port != 0 && !multiport(c)))
		return;
	if (q % 2u == 0)
		(void) rx_run(c, port);
	else
		tx_run(c, port);
}

/* Without multiport port 0 is there and open as soon as the driver is. */
static int console_start(struct vio_device *dev)
{
	struct vio_console *c = dev->priv;

	if (!multiport(c)) {
		c->ports[0].ready = true;
		set_guest_open(c, 0, true);
	}
	return 0;
}

static void forget_port(struct vio_console *c, uint32_t port)
{
	struct vio_console_port *p = &c->ports[port];

	set_guest_open(c, port, false);
	p->ready = false;
	p->pending = 0;
	p->rx.held = false;
	p->tx.held = false;
}

static void console_reset(struct vio_device *dev)
{
	struct vio_console *c = dev->priv;

	c->ctrl_ready = false;
	for (uint32_t i = 0; i < c->nports; i++)
		forget_port(c, i);
}

/* Held buffers belong to the old ring: forget them without touching it. */
static void console_queue_reset(struct vio_device *dev, uint16_t q)
{
	struct vio_console *c = dev->priv;
	uint32_t port = q < 2 ? 0 : q / 2u - 1u;

	if (q == VIO_CONSOLE_CRXQ || q == VIO_CONSOLE_CTXQ || port >= c->nports)
		return;
	if (q % 2u == 0)
		c->ports[port].rx.held = false;
	else
		c->ports[port].tx.held = false;
}

/* Only emerg_wr is writable: its low byte is a character, at any time. */
static int console_write_config(struct vio_device *dev, uint32_t off, const void *buf, uint32_t len)
{
	struct vio_console *c = dev->priv;

	if (!(dev->host_features & VIO_BIT(VIO_CONSOLE_F_EMERG_WRITE)) ||
	    off != VIO_CONSOLE_CFG_EMERG_WR || len == 0)
		return -VIO_EPERM;
	c->emerg++;
	c->ops->emerg_write(c->ctx, *(const uint8_t *) buf);
	return 0;
}

static const struct vio_device_ops console_dev_ops = {
    .write_config = console_write_config,
    .start = console_start,
    .reset = console_reset,
    .queue_reset = console_queue_reset,
    .queue_notify = console_queue_notify,
};

int vio_console_rx_wake(struct vio_console *console, uint32_t port)
{
	if (console == NULL || port >= console->nports)
		return -VIO_EINVAL;
	return rx_run(console, port);
}

int vio_console_tx_wake(struct vio_console *console, uint32_t port)
{
	if (console == NULL || port >= console->nports)
		return -VIO_EINVAL;
	tx_run(console, port);
	return 0;
}

int vio_console_set_size(struct vio_console *console, uint16_t cols, uint16_t rows)
{
	if (console == NULL)
		return -VIO_EINVAL;
	if (!(console->dev.host_features & VIO_BIT(VIO_CONSOLE_F_SIZE)))
		return -VIO_ENOTSUP;
	console->cols = cols;
	console->rows = rows;
	vio_put_le16(console->config + VIO_CONSOLE_CFG_COLS, cols);
	vio_put_le16(console->config + VIO_CONSOLE_CFG_ROWS, rows);
	vio_device_config_changed(&console->dev);
	/* with multiport Linux ignores config changes and takes RESIZE instead */
	if (multiport(console) && console->ports[0].ready) {
		console->ports[0].pending |= PEND_RESIZE;
		ctrl_flush(console);
	}
	return 0;
}

int vio_console_host_open(struct vio_console *console, uint32_t port, bool open)
{
	struct vio_console_port *p;

	if (console == NULL || port >= console->nports)
		return -VIO_EINVAL;
	p = &console->ports[port];
	if (p->host_open == open)
		return 0;
	p->host_open = open;
	if (multiport(console) && p->ready) {
		p->pending |= PEND_OPEN;
		ctrl_flush(console);
	}
	return 0;
}

int vio_console_init(struct vio_console *console, const struct vio_console_ops *ops, void *ctx,
		     uint32_t nports, struct vio_console_port *ports, struct vio_queue *queues,
		     uint16_t queue_size, uint64_t features)
{
	bool mp = (features & VIO_BIT(VIO_CONSOLE_F_MULTIPORT)) != 0;

	if (console == NULL || ops == NULL || ops->tx == NULL || ops->rx == NULL ||
	    ((features & VIO_BIT(VIO_CONSOLE_F_EMERG_WRITE)) && ops->emerg_write == NULL) ||
	    nports == 0 || nports > (mp ? VIO_CONSOLE_MAX_PORTS : 1u) || ports == NULL ||
	    queues == NULL || queue_size == 0 || queue_size > VIO_VQ_MAX_SIZE ||
	    (features & ~CONSOLE_FEATURES) != 0)
		return -VIO_EINVAL;
	memset(console, 0, sizeof(*console));
	memset(ports, 0, (size_t) nports * sizeof(*ports));
	console->ops = ops;
	console->ctx = ctx;
	console->ports = ports;
	console->nports = nports;
	for (uint32_t i = 0; i < nports; i++)
		ports[i].host_open = true;
	if (mp)
		vio_put_le32(console->config + VIO_CONSOLE_CFG_MAX_NR_PORTS, nports);
	vio_device_init(&console->dev, &console_dev_ops, console, VIO_ID_CONSOLE, features, queues,
			vio_console_num_queues(nports, mp), queue_size, console->config,
			sizeof(console->config));
	return 0;
}
