/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Simulated console ports: a virtio-console provider over caller memory, for
 * tests, simulations and firmware demos.
 *
 * Each port is one of two kinds:
 *
 *  - echo: what the driver writes comes back to it. The bytes wait in the
 *    port's to-driver buffer until the driver has receive buffers; while
 *    that buffer is full the driver's writes wait in its ring.
 *  - line: what the driver writes collects in the port's from-driver buffer,
 *    where a test or a control socket reads it (vio_sim_console_read, or
 *    whole lines with vio_sim_console_read_line); text injected with
 *    vio_sim_console_write goes to the driver. A full from-driver buffer
 *    holds the driver's writes back until the host reads.
 *
 * Characters written through emerg_wr go where port 0's writes go, without
 * waiting: those that do not fit are counted in emerg_lost.
 *
 * Threading: as the device it serves; every call runs on the device's thread.
 */
#ifndef VIOPORT_SIM_CONSOLE_H
#define VIOPORT_SIM_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

#include "vioport/console.h"

#define VIO_SIM_CONSOLE_ECHO 0
#define VIO_SIM_CONSOLE_LINE 1

#define VIO_SIM_CONSOLE_BUF 256u /* bytes each direction of a port holds */

/* A byte FIFO of VIO_SIM_CONSOLE_BUF bytes. */
struct vio_sim_console_fifo {
	uint8_t buf[VIO_SIM_CONSOLE_BUF];
	uint32_t head; /* oldest byte */
	uint32_t len;
};

/* One simulated port. */
struct vio_sim_console_port {
	uint8_t kind;	       /* VIO_SIM_CONSOLE_ECHO or _LINE */
	const char *name;      /* NULL or "": unnamed */
	bool open;	       /* the driver has the port open */
	uint32_t opens;	       /* times the driver opened it */
	uint32_t max_per_call; /* cap on bytes taken or given per call, 0 = none */
	struct vio_sim_console_fifo to_driver;
	struct vio_sim_console_fifo from_driver; /* line ports */
};

struct vio_sim_console {
	struct vio_sim_console_port *ports;
	uint32_t nports;
	struct vio_console *dev; /* where wake-ups go; NULL until attached */
	uint32_t emerg_lost;
};

/*
 * Prepares nports ports over ports (nports entries, zeroed here). kinds holds
 * each port's VIO_SIM_CONSOLE_* (NULL: port 0 echo, the others line); names
 * holds each port's name (an entry may be NULL) or is NULL for none. The
 * strings must outlive the simulation.
 */
void vio_sim_console_init(struct vio_sim_console *sim, struct vio_sim_console_port *ports,
			  uint32_t nports, const uint8_t *kinds, const char *const *names);

/* Sends wake-ups to dev from now on (NULL stops them). */
void vio_sim_console_attach(struct vio_sim_console *sim, struct vio_console *dev);

/*
 * Queues len bytes of data for the driver on port; returns the bytes taken
 * (fewer when the buffer is full), or -VIO_EINVAL for a bad port.
 */
int vio_sim_console_write(struct vio_sim_console *sim, uint32_t port, const void *data,
			  uint32_t len);

/*
 * Takes up to cap bytes the driver wrote on a line port into buf; returns the
 * bytes taken, or -VIO_EINVAL for a bad port.
 */
int vio_sim_console_read(struct vio_sim_console *sim, uint32_t port, void *buf, uint32_t cap);

/*
 * Takes one whole line (up to and including '\n') the driver wrote on a line
 * port into buf (cap bytes, not NUL-terminated); returns its length, 0 when no
 * whole line is there yet, -VIO_ENOSPC when the line is longer than cap, or
 * -VIO_EINVAL. A full buffer without a newline counts as a line, so a driver
 * never waits on it for ever.
 */
int vio_sim_console_read_line(struct vio_sim_console *sim, uint32_t port, void *buf, uint32_t cap);

/* The console provider table over a struct vio_sim_console context. */
extern const struct vio_console_ops vio_sim_console_ops;

#endif
