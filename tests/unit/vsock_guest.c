/* SPDX-License-Identifier: BSD-3-Clause */
/* The guest driver's side of a virtio-vsock device for unit tests (vsock_guest.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h> /* after the headers it needs */

#include "vsock_guest.h"

#define HDR VIO_VSOCK_HDR_SIZE

void vg_bring_up(struct vsock_guest *g, struct vio_loopback *lb, const struct vio_vsock *vs,
		 uint64_t cid, uint64_t want)
{
	g->lb = lb;
	g->vs = vs;
	g->cid = cid;
	assert_int_equal(vio_loopback_negotiate(lb, want), 0);
	for (uint16_t q = 0; q < 3; q++)
		assert_int_equal(vio_loopback_queue(lb, q, VG_QSIZE, &g->q[q], g->slots[q]), 0);
	assert_int_equal(vio_loopback_driver_ok(lb), 0);
	g->tx = vio_loopback_alloc(lb, VG_TXMAX, NULL);
	assert_non_null(g->tx);
}

void vg_post_rx_buf(struct vsock_guest *g, struct vg_rxb *b)
{
	struct vio_buf in = {vio_loopback_bus(g->lb, b->p), b->len};

	memset(b->p, 0xee, b->len);
	assert_true(vio_drvq_add(&g->q[VIO_VSOCK_RXQ], NULL, 0, &in, 1, b) >= 0);
	vio_loopback_kick(g->lb, VIO_VSOCK_RXQ);
}

void vg_post_rx(struct vsock_guest *g, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct vg_rxb *b = NULL;

		for (unsigned k = 0; k < VG_NRX; k++) {
			if (g->rx[k].p == NULL) {
				b = &g->rx[k];
				b->p = vio_loopback_alloc(g->lb, VG_RXLEN, NULL);
				b->len = VG_RXLEN;
				break;
			}
		}
		assert_non_null(b);
		assert_non_null(b->p);
		vg_post_rx_buf(g, b);
	}
}

int vg_recv_opt(struct vsock_guest *g, struct vg_pkt *p, uint8_t *data, bool repost)
{
	void *token;
	uint32_t len;
	struct vg_rxb *b;
	int rc = vio_drvq_get_used(&g->q[VIO_VSOCK_RXQ], &token, &len);

	assert_true(rc >= 0);
	if (rc == 0)
		return 0;
	b = token;
	assert_true(len >= HDR);
	vg_parse(b->p, p);
	assert_int_equal(len, HDR + p->len);
	/* every packet from the device is addressed from the host to this guest */
	assert_int_equal(p->src_cid, VIO_VSOCK_HOST_CID);
	assert_int_equal(p->dst_cid, g->cid);
	if (data != NULL)
		memcpy(data, b->p + HDR, p->len);
	if (repost)
		vg_post_rx_buf(g, b);
	return 1;
}

struct vg_pkt vg_mk(const struct vsock_guest *g, uint16_t op, uint32_t gport, uint32_t hport)
{
	struct vg_pkt p = {g->cid,  VIO_VSOCK_HOST_CID,	   gport, hport,
			   0,	    VIO_VSOCK_TYPE_STREAM, op,	  0,
			   VG_GBUF, g->guest_fwd};

	return p;
}

void vg_send_raw(struct vsock_guest *g, const uint8_t *bytes, uint32_t len, unsigned nseg,
		 uint32_t wlen)
{
	struct vio_buf out[3], in;
	void *token;
	uint32_t used;
	uint32_t off = 0;

	assert_true(len + wlen <= VG_TXMAX && nseg >= 1 && nseg <= 3);
	memcpy(g->tx, bytes, len);
	for (unsigned s = 0; s < nseg; s++) {
		uint32_t n = s + 1 == nseg ? len - off : (len - off) / 2;

		out[s] = (struct vio_buf){vio_loopback_bus(g->lb, g->tx + off), n};
		off += n;
	}
	in = (struct vio_buf){vio_loopback_bus(g->lb, g->tx + len), wlen};
	assert_true(vio_drvq_add(&g->q[VIO_VSOCK_TXQ], out, nseg, &in, wlen ? 1 : 0, &g->token) >=
		    0);
	vio_loopback_kick(g->lb, VIO_VSOCK_TXQ);
	assert_int_equal(vio_drvq_get_used(&g->q[VIO_VSOCK_TXQ], &token, &used), 1);
	assert_ptr_equal(token, &g->token);
	assert_int_equal(used, 0);
	assert_int_equal(vio_drvq_get_used(&g->q[VIO_VSOCK_TXQ], &token, &used), 0);
	assert_false(g->vs->dev.status & VIO_STATUS_NEEDS_RESET);
}

void vg_send_pkt_n(struct vsock_guest *g, struct vg_pkt p, const void *data, uint32_t dlen,
		   unsigned nseg)
{
	uint8_t raw[VG_TXMAX];

	vg_put_hdr(raw, &p);
	if (dlen != 0)
		memcpy(raw + HDR, data, dlen);
	vg_send_raw(g, raw, HDR + dlen, nseg, 0);
}
