/* SPDX-License-Identifier: BSD-3-Clause */
/* Simulated console ports: echo and line ports in caller memory. */
#include "vioport/errno.h"
#include "vioport/sim_console.h"

#include <string.h>

/* Appends up to len bytes; returns how many fit. */
static uint32_t fifo_put(struct vio_sim_console_fifo *f, const uint8_t *src, uint32_t len)
{
	uint32_t n = VIO_SIM_CONSOLE_BUF - f->len;

	if (len < n)
		n = len;
	for (uint32_t i = 0; i < n; i++)
		f->buf[(f->head + f->len + i) % VIO_SIM_CONSOLE_BUF] = src[i];
	f->len += n;
	return n;
}

/* Copies up to len of the oldest bytes without taking them; returns how many. */
static uint32_t fifo_peek(const struct vio_sim_console_fifo *f, uint8_t *dst, uint32_t len)
{
	uint32_t n = len < f->len ? len : f->len;

	for (uint32_t i = 0; i < n; i++)
		dst[i] = f->buf[(f->head + i) % VIO_SIM_CONSOLE_BUF];
	return n;
}

static void fifo_drop(struct vio_sim_console_fifo *f, uint32_t n)
{
	f->head = (f->head + n) % VIO_SIM_CONSOLE_BUF;
	f->len -= n;
}

void vio_sim_console_init(struct vio_sim_console *sim, struct vio_sim_console_port *ports,
			  uint32_t nports, const uint8_t *kinds, const char *const *names)
{
	memset(sim, 0, sizeof(*sim));
	memset(ports, 0, (size_t) nports * sizeof(*ports));
	sim->ports = ports;
	sim->nports = nports;
	for (uint32_t i = 0; i < nports; i++) {
		if (kinds != NULL)
			ports[i].kind = kinds[i] == VIO_SIM_CONSOLE_ECHO ? VIO_SIM_CONSOLE_ECHO
									 : VIO_SIM_CONSOLE_LINE;
		else
			ports[i].kind = i == 0 ? VIO_SIM_CONSOLE_ECHO : VIO_SIM_CONSOLE_LINE;
		ports[i].name = names != NULL ? names[i] : NULL;
	}
}

void vio_sim_console_attach(struct vio_sim_console *sim, struct vio_console *dev)
{
	sim->dev = dev;
}

static uint32_t cap_of(const struct vio_sim_console_port *p, uint32_t len)
{
	return p->max_per_call != 0 && len > p->max_per_call ? p->max_per_call : len;
}

/* Where the driver's bytes on a port go: back to it, or to the host. */
static struct vio_sim_console_fifo *sink_of(struct vio_sim_console_port *p)
{
	return p->kind == VIO_SIM_CONSOLE_ECHO ? &p->to_driver : &p->from_driver;
}

/* The driver's bytes went somewhere the other side reads: wake that side. */
static void after_sink(struct vio_sim_console *sim, uint32_t port)
{
	if (sim->dev != NULL && sim->ports[port].kind == VIO_SIM_CONSOLE_ECHO)
		(void) vio_console_rx_wake(sim->dev, port);
}

static int sim_tx(void *ctx, uint32_t port, const uint8_t *buf, uint32_t len)
{
	struct vio_sim_console *sim = ctx;
	struct vio_sim_console_port *p;
	uint32_t n;

	if (port >= sim->nports)
		return -VIO_EINVAL;
	p = &sim->ports[port];
	n = fifo_put(sink_of(p), buf, cap_of(p, len));
	if (n != 0)
		after_sink(sim, port);
	return (int) n;
}

static int sim_rx(void *ctx, uint32_t port, uint8_t *buf, uint32_t cap)
{
	struct vio_sim_console *sim = ctx;
	struct vio_sim_console_port *p;
	uint32_t n;

	if (port >= sim->nports)
		return -VIO_EINVAL;
	p = &sim->ports[port];
	n = fifo_peek(&p->to_driver, buf, cap_of(p, cap));
	fifo_drop(&p->to_driver, n);
	/* an echo port that was full has room for the driver's waiting writes again */
	if (n != 0 && p->kind == VIO_SIM_CONSOLE_ECHO && sim->dev != NULL)
		(void) vio_console_tx_wake(sim->dev, port);
	return (int) n;
}

static void sim_port_open(void *ctx, uint32_t port, bool open)
{
	struct vio_sim_console *sim = ctx;

	if (port >= sim->nports)
		return;
	sim->ports[port].open = open;
	if (open)
		sim->ports[port].opens++;
}

static uint32_t sim_port_name(void *ctx, uint32_t port, char *buf, uint32_t cap)
{
	struct vio_sim_console *sim = ctx;
	const char *name;
	uint32_t len = 0;

	if (port >= sim->nports || (name = sim->ports[port].name) == NULL)
		return 0;
	while (name[len] != '\0')
		len++;
	memcpy(buf, name, len < cap ? len : cap);
	return len;
}

static void sim_emerg_write(void *ctx, uint8_t c)
{
	struct vio_sim_console *sim = ctx;

	if (sim->nports == 0 || fifo_put(sink_of(&sim->ports[0]), &c, 1) == 0) {
		sim->emerg_lost++;
		return;
	}
	after_sink(sim, 0);
}

int vio_sim_console_write(struct vio_sim_console *sim, uint32_t port, const void *data,
			  uint32_t len)
{
	uint32_t n;

	if (port >= sim->nports || len > INT32_MAX)
		return -VIO_EINVAL;
	n = fifo_put(&sim->ports[port].to_driver, data, len);
	if (n != 0 && sim->dev != NULL)
		(void) vio_console_rx_wake(sim->dev, port);
	return (int) n;
}

/* The host took n bytes from a line port: the driver's waiting writes may go on. */
static void after_read(struct vio_sim_console *sim, uint32_t port, uint32_t n)
{
	if (n != 0 && sim->dev != NULL)
		(void) vio_console_tx_wake(sim->dev, port);
}

int vio_sim_console_read(struct vio_sim_console *sim, uint32_t port, void *buf, uint32_t cap)
{
	struct vio_sim_console_fifo *f;
	uint32_t n;

	if (port >= sim->nports || sim->ports[port].kind != VIO_SIM_CONSOLE_LINE || cap > INT32_MAX)
		return -VIO_EINVAL;
	f = &sim->ports[port].from_driver;
	n = fifo_peek(f, buf, cap);
	fifo_drop(f, n);
	after_read(sim, port, n);
	return (int) n;
}

int vio_sim_console_read_line(struct vio_sim_console *sim, uint32_t port, void *buf, uint32_t cap)
{
	struct vio_sim_console_fifo *f;
	uint32_t n = 0;

	if (port >= sim->nports || sim->ports[port].kind != VIO_SIM_CONSOLE_LINE || cap > INT32_MAX)
		return -VIO_EINVAL;
	f = &sim->ports[port].from_driver;
	while (n < f->len && f->buf[(f->head + n) % VIO_SIM_CONSOLE_BUF] != '\n')
		n++;
	if (n < f->len)
		n++; /* the newline */
	else if (f->len < VIO_SIM_CONSOLE_BUF)
		return 0;
	if (n > cap)
		return -VIO_ENOSPC;
	fifo_peek(f, buf, n);
	fifo_drop(f, n);
	after_read(sim, port, n);
	return (int) n;
}

const struct vio_console_ops vio_sim_console_ops = {
    .tx = sim_tx,
    .rx = sim_rx,
    .port_open = sim_port_open,
    .port_name = sim_port_name,
    .emerg_write = sim_emerg_write,
};
