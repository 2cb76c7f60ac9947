/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-console ports on Linux: each port's host end is a pseudo-terminal
 * (the daemon says which /dev/pts/N) or a UNIX stream socket listening at a
 * path. A provider of struct vio_console_ops (vioport/console.h) watched on a
 * POSIX loop.
 *
 * - pty: bytes the driver writes go to the master side, and what a program
 *   writes to /dev/pts/N reaches the driver. Until a program opens the slave
 *   side (and after the last one closes it) the driver's output is dropped
 *   and counted, as on a serial line with nothing plugged in: a console that
 *   nobody reads must not stall the driver's writes.
 * - unix: one client at a time. Connections while one is served are taken
 *   and closed at once. With no client the driver's output is dropped and
 *   counted; a client that stops reading holds the driver's writes back
 *   (its socket buffer is full) until it reads again or goes away.
 *
 * Threading: the device calls tx and rx from its queue threads with the
 * device's lock held (lock/unlock given to vio_host_console_attach); the
 * watches run on the loop's thread and take that lock themselves before they
 * wake the device. Watch changes the device's calls ask for are posted to the
 * loop's thread.
 */
#ifndef VIOPORT_LINUX_CONSOLE_H
#define VIOPORT_LINUX_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

#include "vioport/console.h"
#include "vioport/posix_loop.h"

#define VIO_HOST_CONSOLE_PTY  1
#define VIO_HOST_CONSOLE_UNIX 2

#define VIO_HOST_CONSOLE_PATH 108 /* sun_path's size; also holds /dev/pts/N */

struct vio_host_console;

/* One port's host end. */
struct vio_host_console_port {
	struct vio_host_console *hc;
	uint32_t index;
	int kind;      /* VIO_HOST_CONSOLE_PTY or _UNIX */
	int fd;	       /* pty master or the connected client; -1 for none */
	int listen_fd; /* unix: the listening socket */
	char path[VIO_HOST_CONSOLE_PATH];
	bool peer;	  /* somebody is on the other end */
	bool rx_wait;	  /* the device has a receive buffer and found nothing to read */
	bool tx_wait;	  /* the device holds bytes the other end had no room for */
	bool gone;	  /* a read found the end of the stream: the loop closes the port */
	uint32_t watched; /* events the fd's watch asks for now */
	struct vio_loop_watch w;
	struct vio_loop_watch lw;    /* unix: the listening socket */
	struct vio_loop_timer probe; /* pty: looks for a slave being opened */
	struct vio_loop_work sync;
	uint64_t dropped; /* bytes of driver output nobody was there to take */
	uint64_t clients; /* unix: connections served */
};

struct vio_host_console {
	struct vio_loop *loop;
	struct vio_console *dev;
	void (*lock)(void *ctx);
	void (*unlock)(void *ctx);
	void *ctx;
	struct vio_host_console_port *ports;
	uint32_t nports;
};

/* The provider operations; the device's ctx is the struct vio_host_console. */
extern const struct vio_console_ops vio_host_console_ops;

/* Prepares nports ports over ports (nports entries), none open yet. */
void vio_host_console_init(struct vio_host_console *hc, struct vio_host_console_port *ports,
			   uint32_t nports);

/*
 * Opens port's host end: a new pseudo-terminal (path ignored; its slave's
 * name is in ports[port].path afterwards) or a UNIX socket listening at path
 * (an existing socket file there is replaced). 0 or -errno.
 */
int vio_host_console_open(struct vio_host_console *hc, uint32_t port, int kind, const char *path);

/*
 * Starts serving: wake-ups go to dev, the watches run on loop and take
 * lock(ctx) (lock may be NULL) before they touch the device. 0 or -errno.
 */
int vio_host_console_attach(struct vio_host_console *hc, struct vio_console *dev,
			    struct vio_loop *loop, void (*lock)(void *ctx),
			    void (*unlock)(void *ctx), void *ctx);

/* Stops the watches and closes every port; the loop must not be running. */
void vio_host_console_close(struct vio_host_console *hc);

#endif
