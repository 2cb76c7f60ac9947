/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-console device model (device ID 3).
 *
 * Port 0 is the console (Linux's hvc0). With VIO_CONSOLE_F_MULTIPORT the
 * device also has ports 1 .. nports - 1, named serial ports, and a control
 * queue pair that announces them; without it only port 0 exists. Each port
 * has a receive queue (host to driver) and a transmit queue (driver to host).
 *
 * The bytes go to and come from a provider (struct vio_console_ops):
 *
 *  - transmit: the device offers what the driver wrote on a port to
 *    ops->tx, which may take fewer bytes than offered. The rest stays in the
 *    driver's buffer, and that port's transmit queue waits, until the
 *    provider calls vio_console_tx_wake.
 *  - receive: the device holds one receive buffer per port and asks
 *    ops->rx to fill it whenever the driver has just given it one, or when
 *    the provider calls vio_console_rx_wake. A call of rx is the sign that
 *    the driver has room; the provider keeps what it has until then.
 *
 * Per-port state lives in caller storage (nports entries of struct
 * vio_console_port), so a firmware sizes it statically.
 *
 * Threading: none inside. Every call for one device comes from the same
 * thread or event loop. A provider may call vio_console_rx_wake and
 * vio_console_tx_wake from inside its own tx and rx operations.
 */
#ifndef VIOPORT_CONSOLE_H
#define VIOPORT_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

#include "vioport/device.h"
#include "vioport/virtq.h"

#define VIO_ID_CONSOLE 3

/* Feature bits. */
#define VIO_CONSOLE_F_SIZE	  0
#define VIO_CONSOLE_F_MULTIPORT	  1
#define VIO_CONSOLE_F_EMERG_WRITE 2

/* Queues: port 0, the control pair, then ports 1 .. n - 1. */
#define VIO_CONSOLE_RXQ0   0
#define VIO_CONSOLE_TXQ0   1
#define VIO_CONSOLE_CRXQ   2 /* control, device to driver */
#define VIO_CONSOLE_CTXQ   3 /* control, driver to device */
#define VIO_CONSOLE_RXQ(p) ((p) == 0 ? 0u : 2u * ((uint32_t) (p) + 1u))
#define VIO_CONSOLE_TXQ(p) (VIO_CONSOLE_RXQ(p) + 1u)

/* Control events (struct virtio_console_control). */
#define VIO_CONSOLE_DEVICE_READY 0
#define VIO_CONSOLE_PORT_ADD	 1
#define VIO_CONSOLE_PORT_REMOVE	 2
#define VIO_CONSOLE_PORT_READY	 3
#define VIO_CONSOLE_CONSOLE_PORT 4
#define VIO_CONSOLE_RESIZE	 5
#define VIO_CONSOLE_PORT_OPEN	 6
#define VIO_CONSOLE_PORT_NAME	 7

#define VIO_CONSOLE_BAD_ID 0xffffffffu /* the id Linux sends with DEVICE_READY */

/* Byte offsets in struct virtio_console_config (little-endian). */
#define VIO_CONSOLE_CFG_COLS	     0 /* le16 */
#define VIO_CONSOLE_CFG_ROWS	     2 /* le16 */
#define VIO_CONSOLE_CFG_MAX_NR_PORTS 4 /* le32 */
#define VIO_CONSOLE_CFG_EMERG_WR     8 /* le32, write-only */
#define VIO_CONSOLE_CONFIG_SIZE	     12

#define VIO_CONSOLE_CTRL_SIZE	8u  /* le32 id, le16 event, le16 value */
#define VIO_CONSOLE_RESIZE_SIZE 4u  /* le16 cols, le16 rows after the header */
#define VIO_CONSOLE_NAME_MAX	64u /* longest port name sent, NUL included */
#define VIO_CONSOLE_SEGS	8u  /* segments a data buffer may have */
#define VIO_CONSOLE_CTRL_SEGS	4u  /* segments a control buffer may have */

/* Ports at most: QEMU's default for virtio-serial; 64 queues. */
#define VIO_CONSOLE_MAX_PORTS 31u

/*
 * Where a console's bytes go and come from. Ports are numbered 0 .. nports -
 * 1 and the device checks the number before each call.
 */
struct vio_console_ops {
	/*
	 * Takes up to len bytes the driver wrote on port (len > 0); returns the
	 * bytes taken (0 .. len), or a negative VIO_E* to drop them all. The
	 * bytes not taken are offered again after vio_console_tx_wake.
	 */
	int (*tx)(void *ctx, uint32_t port, const uint8_t *buf, uint32_t len);
	/*
	 * Copies up to cap bytes waiting for port into buf; returns the bytes
	 * copied, 0 when there are none (the device keeps the buffer and waits
	 * for vio_console_rx_wake), or a negative VIO_E* (taken as 0).
	 */
	int (*rx)(void *ctx, uint32_t port, uint8_t *buf, uint32_t cap);
	/* Optional: the driver opened (true) or closed (false) port. */
	void (*port_open)(void *ctx, uint32_t port, bool open);
	/*
	 * Optional: copies up to cap bytes of port's name (no NUL) into buf and
	 * returns its full length; 0 for an unnamed port.
	 */
	uint32_t (*port_name)(void *ctx, uint32_t port, char *buf, uint32_t cap);
	/* Optional: one character written through emerg_wr; needed to offer F_EMERG_WRITE. */
	void (*emerg_write)(void *ctx, uint8_t c);
};

/* A receive or transmit buffer the device holds for a port. */
struct vio_console_held {
	bool held;
	uint32_t off; /* transmit: bytes the provider took already */
	struct vio_req req;
	struct vio_iov iov[VIO_CONSOLE_SEGS];
};

/* State of one port; the device owns it. */
struct vio_console_port {
	bool ready;	 /* the driver set the port up (PORT_READY, or DRIVER_OK for port 0) */
	bool guest_open; /* the driver has the port open */
	bool host_open;	 /* the provider side is connected */
	uint8_t pending; /* control messages owed to the driver */
	bool rx_busy;	 /* in the receive loop: a nested wake asks for another round */
	bool rx_again;
	bool tx_busy;
	bool tx_again;
	struct vio_console_held rx;
	struct vio_console_held tx;
	uint64_t rx_bytes; /* handed to the driver since init */
	uint64_t tx_bytes; /* taken by the provider since init */
};

struct vio_console {
	struct vio_device dev;
	uint8_t config[VIO_CONSOLE_CONFIG_SIZE];
	const struct vio_console_ops *ops;
	void *ctx;
	struct vio_console_port *ports;
	uint32_t nports;
	bool ctrl_ready; /* the driver sent DEVICE_READY 1 */
	uint16_t cols, rows;
	struct vio_req req; /* control queue scratch */
	struct vio_iov iov[VIO_CONSOLE_CTRL_SEGS];
	uint32_t bad;	/* malformed buffers and control messages given back unused */
	uint32_t emerg; /* characters written through emerg_wr */
};

/*
 * Prepares console with nports ports (1 without VIO_CONSOLE_F_MULTIPORT in
 * features, 1 .. VIO_CONSOLE_MAX_PORTS with it) whose state is in ports
 * (nports entries) over queues: 2 entries without multiport, 2 * nports + 2
 * with it, each up to queue_size buffers. features may hold
 * VIO_CONSOLE_F_SIZE, VIO_CONSOLE_F_MULTIPORT, VIO_CONSOLE_F_EMERG_WRITE
 * (ops->emerg_write then required), INDIRECT_DESC, EVENT_IDX and
 * RING_PACKED; VERSION_1 is always offered. All ports start with the host
 * side connected. Attach console->dev to a transport afterwards. Returns 0
 * or -VIO_EINVAL.
 */
int vio_console_init(struct vio_console *console, const struct vio_console_ops *ops, void *ctx,
		     uint32_t nports, struct vio_console_port *ports, struct vio_queue *queues,
		     uint16_t queue_size, uint64_t features);

/* Number of queues vio_console_init needs for nports ports with or without multiport. */
static inline uint16_t vio_console_num_queues(uint32_t nports, bool multiport)
{
	return multiport ? (uint16_t) (2u * nports + 2u) : 2u;
}

/*
 * The provider has bytes for port: the device fills the driver's receive
 * buffers from ops->rx while it has any. Returns 1 when the device holds an
 * empty receive buffer (the provider ran dry: call again when data comes), 0
 * when it has none (it calls ops->rx as soon as the driver adds one: a
 * provider watching a source may stop until then), -VIO_EINVAL for a bad port.
 */
int vio_console_rx_wake(struct vio_console *console, uint32_t port);

/*
 * The provider can take bytes on port again: the device offers what waits in
 * the driver's transmit buffers. Returns 0 or -VIO_EINVAL for a bad port.
 */
int vio_console_tx_wake(struct vio_console *console, uint32_t port);

/*
 * Sets the console's size (port 0): in config space, announced by a config
 * change, with VIO_CONSOLE_F_SIZE offered; by a RESIZE message when the
 * driver took VIO_CONSOLE_F_MULTIPORT. Returns 0 or -VIO_ENOTSUP without
 * VIO_CONSOLE_F_SIZE.
 */
int vio_console_set_size(struct vio_console *console, uint16_t cols, uint16_t rows);

/*
 * The host side of port connected (open) or went away; the driver learns it
 * through PORT_OPEN with multiport. Returns 0 or -VIO_EINVAL for a bad port.
 */
int vio_console_host_open(struct vio_console *console, uint32_t port, bool open);

#endif
