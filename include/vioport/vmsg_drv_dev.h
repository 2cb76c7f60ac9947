/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-msg driver side, device helpers: the request formats of blk, rng,
 * gpio, i2c, console, input and vsock over the generic driver (vmsg_drv.h),
 * one source file each (src/vmsg/drv_<device>.c), on a device brought up with
 * vio_vmsg_drv_dev_start. The helpers of blk, rng, gpio and i2c are
 * synchronous requests (vio_vmsg_drv_request); console, input and vsock
 * receive what the host sends when it sends it, so their receive buffers are
 * posted ahead and taken back as they complete. A device without helpers is
 * driven through vio_vmsg_drv_submit and vio_vmsg_drv_get_used, or
 * vio_vmsg_drv_request, directly. Freestanding.
 */
#ifndef VIOPORT_VMSG_DRV_DEV_H
#define VIOPORT_VMSG_DRV_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "vioport/input.h"
#include "vioport/vmsg_drv.h"

/* virtio-blk: reads/writes n 512-byte sectors at sector; 0, -VIO_EIO (device status), negative. */
int vio_vmsg_drv_blk_read(struct vio_vmsg_drv_dev *d, uint64_t sector, void *buf, uint32_t n);
/* virtio-blk write of n sectors from buf. */
int vio_vmsg_drv_blk_write(struct vio_vmsg_drv_dev *d, uint64_t sector, const void *buf,
			   uint32_t n);
/* virtio-blk capacity in sectors, from config. */
int vio_vmsg_drv_blk_capacity(struct vio_vmsg_drv_dev *d, uint64_t *sectors);

/* virtio-rng: fills up to len bytes of buf; returns the bytes filled or negative. */
int vio_vmsg_drv_rng_read(struct vio_vmsg_drv_dev *d, void *buf, uint32_t len);

/* virtio-gpio: reads a line's value (0 or 1), or negative (-VIO_EIO: the device said ERR). */
int vio_vmsg_drv_gpio_get(struct vio_vmsg_drv_dev *d, uint16_t line);
/* virtio-gpio: sets an output's value; 0 or negative. */
int vio_vmsg_drv_gpio_set(struct vio_vmsg_drv_dev *d, uint16_t line, uint8_t value);
/* virtio-gpio: sets the direction (VIO_GPIO_DIRECTION_*); 0 or negative. */
int vio_vmsg_drv_gpio_set_direction(struct vio_vmsg_drv_dev *d, uint16_t line, uint8_t dir);
/* virtio-gpio: sets the irq type (VIO_GPIO_IRQ_TYPE_*); 0 or negative. */
int vio_vmsg_drv_gpio_set_irq_type(struct vio_vmsg_drv_dev *d, uint16_t line, uint8_t type);
/* virtio-gpio: queues the eventq buffer that unmasks line (needs VIO_GPIO_F_IRQ). */
int vio_vmsg_drv_gpio_irq_arm(struct vio_vmsg_drv_dev *d, uint16_t line);
/*
 * virtio-gpio: waits up to timeout_us for an armed line to fire; 1 with *line
 * and *status (VIO_GPIO_IRQ_STATUS_*), or -VIO_ETIMEDOUT / negative.
 */
int vio_vmsg_drv_gpio_irq_wait(struct vio_vmsg_drv_dev *d, uint16_t *line, uint8_t *status,
			       uint32_t timeout_us);
/*
 * virtio-gpio: the names block (config gpio_names_size bytes of NUL-terminated
 * names) into buf; returns its size, -VIO_E2BIG when cap is too small.
 */
int vio_vmsg_drv_gpio_line_names(struct vio_vmsg_drv_dev *d, void *buf, uint32_t cap);

/* virtio-i2c: one message to 7-bit addr (read when rd), len 0 is a probe; 0 or -VIO_EIO (NACK). */
int vio_vmsg_drv_i2c_xfer(struct vio_vmsg_drv_dev *d, uint16_t addr, bool rd, void *buf,
			  uint32_t len);
/* virtio-i2c: a write then a read with a repeated start (FAIL_NEXT on the write). */
int vio_vmsg_drv_i2c_write_read(struct vio_vmsg_drv_dev *d, uint16_t addr, const void *wbuf,
				uint32_t wlen, void *rbuf, uint32_t rlen);

/*
 * virtio-console, port 0 (queues 0 and 1; no multiport control). The size
 * (with VIO_CONSOLE_F_SIZE negotiated) and max_nr_ports (with MULTIPORT),
 * 0 otherwise; 0 or negative.
 */
int vio_vmsg_drv_console_config(struct vio_vmsg_drv_dev *d, uint16_t *cols, uint16_t *rows,
				uint32_t *max_nr_ports);
/*
 * virtio-console: queues buf (cap bytes, which must stay valid until taken
 * back) for bytes from the host; 0 or an error of vio_vmsg_drv_submit.
 */
int vio_vmsg_drv_console_rx_post(struct vio_vmsg_drv_dev *d, void *buf, uint32_t cap);
/* virtio-console: a receive buffer back, 1 with *buf and *len bytes, 0 when none, negative. */
int vio_vmsg_drv_console_rx_take(struct vio_vmsg_drv_dev *d, void **buf, uint32_t *len);
/*
 * virtio-console: queues len bytes of buf (copied now) for the host, tagged
 * buf; the device gives it back once the host took every byte. 0 or negative.
 */
int vio_vmsg_drv_console_tx_post(struct vio_vmsg_drv_dev *d, const void *buf, uint32_t len);
/* virtio-console: a transmit buffer back (its tag in *buf): 1, 0 when none, negative. */
int vio_vmsg_drv_console_tx_take(struct vio_vmsg_drv_dev *d, void **buf);

/*
 * virtio-input: selects select/subsel (VIO_INPUT_CFG_*) and copies the
 * answer's bytes into buf; returns their count (0: nothing under that
 * selector), -VIO_E2BIG when cap is too small, or negative.
 */
int vio_vmsg_drv_input_config(struct vio_vmsg_drv_dev *d, uint8_t select, uint8_t subsel, void *buf,
			      uint32_t cap);
/* virtio-input: queues one event buffer (the bytes live in the request record); 0 or negative. */
int vio_vmsg_drv_input_event_post(struct vio_vmsg_drv_dev *d);
/*
 * virtio-input: waits up to timeout_us for an event buffer to come back: 1
 * with *ev, -VIO_ETIMEDOUT or negative. The buffer is not posted again.
 */
int vio_vmsg_drv_input_event_wait(struct vio_vmsg_drv_dev *d, struct vio_input_event *ev,
				  uint32_t timeout_us);
/* virtio-input: sends a status event (EV_LED, EV_SND, EV_REP) on the statusq; 0 or negative. */
int vio_vmsg_drv_input_status(struct vio_vmsg_drv_dev *d, uint16_t type, uint16_t code,
			      int32_t value);

/* virtio-vsock: payload bytes one packet carries at most from the driver. */
#define VIO_VMSG_DRV_VSOCK_PKT 4096u

/* States of struct vio_vmsg_drv_vsock. */
#define VIO_VMSG_DRV_VSOCK_IDLE	       0
#define VIO_VMSG_DRV_VSOCK_CONNECTING  1 /* REQUEST sent, no answer yet */
#define VIO_VMSG_DRV_VSOCK_LISTENING   2 /* waiting for the host's REQUEST */
#define VIO_VMSG_DRV_VSOCK_ESTABLISHED 3
#define VIO_VMSG_DRV_VSOCK_CLOSED      4 /* reset by either side */

/* What vio_vmsg_drv_vsock_rx found in a packet. */
#define VIO_VMSG_DRV_VSOCK_OTHER     0 /* not for the stream: answered with an RST, or dropped */
#define VIO_VMSG_DRV_VSOCK_CONNECTED 1 /* the host accepted our REQUEST */
#define VIO_VMSG_DRV_VSOCK_ACCEPTED  2 /* a host REQUEST on the listening port, answered */
#define VIO_VMSG_DRV_VSOCK_DATA	     3 /* *data, *dlen: stream bytes */
#define VIO_VMSG_DRV_VSOCK_CREDIT    4 /* the host's credit changed or was asked for */
#define VIO_VMSG_DRV_VSOCK_SHUTDOWN  5 /* the host shut down a direction (peer_shut) */
#define VIO_VMSG_DRV_VSOCK_RESET     6 /* the host reset the stream */

/*
 * One vsock stream, the guest's end; counters wrap at 2^32 as the spec's do.
 * The caller consumes the data rx hands it and says so with
 * vio_vmsg_drv_vsock_consumed, which keeps the host's credit up to date.
 */
struct vio_vmsg_drv_vsock {
	struct vio_vmsg_drv_dev *d;
	uint64_t cid; /* ours, from the device's config */
	uint32_t local_port, peer_port;
	uint8_t state;	   /* VIO_VMSG_DRV_VSOCK_* */
	uint8_t shut;	   /* SHUTDOWN flags we sent */
	uint8_t peer_shut; /* SHUTDOWN flags the host sent */
	bool credit_asked; /* a CREDIT_REQUEST is unanswered */
	/* host to guest */
	uint32_t buf_alloc;   /* what we advertise */
	uint32_t rx_cnt;      /* bytes received */
	uint32_t fwd_cnt;     /* of those, consumed */
	uint32_t adv_fwd_cnt; /* fwd_cnt as last told to the host */
	/* guest to host */
	uint32_t tx_cnt; /* bytes sent */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
};

/*
 * virtio-vsock: prepares vs on d (brought up), advertising buf_alloc bytes
 * of buffer; reads the guest CID. 0, -VIO_EPROTO (a CID no guest may have),
 * -VIO_EINVAL or a request error.
 */
int vio_vmsg_drv_vsock_init(struct vio_vmsg_drv_vsock *vs, struct vio_vmsg_drv_dev *d,
			    uint32_t buf_alloc);
/*
 * virtio-vsock: queues buf (cap bytes, at least a header; valid until taken
 * back with vio_vmsg_drv_get_used on VIO_VSOCK_RXQ) for a packet from the host.
 */
int vio_vmsg_drv_vsock_rx_post(struct vio_vmsg_drv_dev *d, void *buf, uint32_t cap);
/* virtio-vsock: sends a REQUEST from local_port to the host's host_port; 0 or negative. */
int vio_vmsg_drv_vsock_connect(struct vio_vmsg_drv_vsock *vs, uint32_t local_port,
			       uint32_t host_port);
/* virtio-vsock: accepts the first host REQUEST for port (answered by rx); 0 or -VIO_EINVAL. */
int vio_vmsg_drv_vsock_listen(struct vio_vmsg_drv_vsock *vs, uint32_t port);
/*
 * virtio-vsock: handles one packet of len bytes the device wrote: keeps the
 * state and the host's credit, answers REQUEST, CREDIT_REQUEST and packets
 * of no stream; a host breaking the protocol on the stream gets an RST and
 * -VIO_EPROTO. Returns a VIO_VMSG_DRV_VSOCK_ code (DATA with *data, *dlen)
 * or negative.
 */
int vio_vmsg_drv_vsock_rx(struct vio_vmsg_drv_vsock *vs, const uint8_t *pkt, uint32_t len,
			  const uint8_t **data, uint32_t *dlen);
/* virtio-vsock: bytes the host's credit lets us send now. */
uint32_t vio_vmsg_drv_vsock_credit(const struct vio_vmsg_drv_vsock *vs);
/*
 * virtio-vsock: sends up to len bytes (one packet, within the credit);
 * returns the bytes sent, 0 when the credit is spent (a CREDIT_REQUEST then
 * goes out once), -VIO_ECONNRESET when the stream is not up or we shut our
 * sending side, or negative.
 */
int vio_vmsg_drv_vsock_write(struct vio_vmsg_drv_vsock *vs, const void *data, uint32_t len);
/*
 * virtio-vsock: 1 when the host's end took every byte we sent (its fwd_cnt
 * caught up), else 0 after asking for its credit (once per answer), or
 * negative. A SHUTDOWN sent before that may overtake bytes still buffered.
 */
int vio_vmsg_drv_vsock_drained(struct vio_vmsg_drv_vsock *vs);
/* virtio-vsock: n received bytes were consumed; sends a CREDIT_UPDATE when due. */
int vio_vmsg_drv_vsock_consumed(struct vio_vmsg_drv_vsock *vs, uint32_t n);
/* virtio-vsock: SHUTDOWN with flags (VIO_VSOCK_SHUTDOWN_*) added; 0 or negative. */
int vio_vmsg_drv_vsock_shutdown(struct vio_vmsg_drv_vsock *vs, uint32_t flags);
/* virtio-vsock: ends the stream with an RST (when it is up or connecting); 0 or negative. */
int vio_vmsg_drv_vsock_reset(struct vio_vmsg_drv_vsock *vs);

#endif
