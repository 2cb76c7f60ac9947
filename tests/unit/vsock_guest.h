/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The guest driver's side of a virtio-vsock device over the loopback
 * transport, for unit tests: packets built and parsed by field, receive
 * buffers posted and taken, transmit packets sent whole or in segments.
 * Shared by test_vsock (the device over the simulated host) and
 * test_host_vsock (the device over UNIX sockets).
 */
#ifndef VIOPORT_TESTS_VSOCK_GUEST_H
#define VIOPORT_TESTS_VSOCK_GUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "../lib/vsock_pkt.h" /* struct vg_pkt, vg_parse, vg_put_hdr */
#include "vioport/drvq.h"
#include "vioport/loopback.h"
#include "vioport/vsock.h"

#define VG_QSIZE 16u
#define VG_NRX	 8u
#define VG_RXLEN (VIO_VSOCK_HDR_SIZE + 200u)
#define VG_TXMAX (VIO_VSOCK_HDR_SIZE + 4096u)
#define VG_GBUF	 4096u /* the guest's buf_alloc unless a test says otherwise */

/* A receive buffer of the guest's. */
struct vg_rxb {
	uint8_t *p;
	uint32_t len;
};

struct vsock_guest {
	struct vio_loopback *lb;
	const struct vio_vsock *vs;
	uint64_t cid;
	struct vio_drvq q[3];
	struct vio_drvq_slot slots[3][VG_QSIZE];
	struct vg_rxb rx[VG_NRX];
	uint8_t *tx;
	int token;
	uint32_t guest_fwd; /* what the guest reports as consumed */
};

/* Negotiates want over lb, sets up the three queues and the transmit buffer. */
void vg_bring_up(struct vsock_guest *g, struct vio_loopback *lb, const struct vio_vsock *vs,
		 uint64_t cid, uint64_t want);

/* Posts receive buffer b (again), poisoned. */
void vg_post_rx_buf(struct vsock_guest *g, struct vg_rxb *b);

/* Posts n receive buffers of VG_RXLEN bytes. */
void vg_post_rx(struct vsock_guest *g, unsigned n);

/*
 * Takes the next packet the device wrote, with its payload in data (when not
 * NULL), and posts the buffer again (when repost). Returns 1, or 0 if none.
 */
int vg_recv_opt(struct vsock_guest *g, struct vg_pkt *p, uint8_t *data, bool repost);

/* A well-formed packet from guest port gport to host port hport. */
struct vg_pkt vg_mk(const struct vsock_guest *g, uint16_t op, uint32_t gport, uint32_t hport);

/*
 * Queues raw bytes as one transmit packet (in nseg readable segments, and a
 * writable one of wlen bytes when wlen > 0), kicks, and expects it back used.
 */
void vg_send_raw(struct vsock_guest *g, const uint8_t *bytes, uint32_t len, unsigned nseg,
		 uint32_t wlen);

/* Sends packet p with dlen bytes of payload data in nseg segments. */
void vg_send_pkt_n(struct vsock_guest *g, struct vg_pkt p, const void *data, uint32_t dlen,
		   unsigned nseg);

#endif
