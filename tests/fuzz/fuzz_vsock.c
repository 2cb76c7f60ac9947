/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the virtio-vsock packet parser, connection table and credit
 * accounting behind the loopback transport, over the simulated host side,
 * with tx packets, rx and event buffers and host-side calls from the input.
 *
 * The driver side is well behaved at ring level (the virtqueue targets cover
 * a hostile ring); what it puts inside the ring is not. The device must never
 * break the ring, return every tx buffer with nothing written, write only
 * whole packets (header plus exactly the payload it announces) from the host
 * CID to the guest's, never ask the provider for more than the guest's
 * credit, never hold more guest data than buf_size, and call the provider in
 * order: send and recv only on open streams, connected only for host
 * connects, closed at most once per stream.
 *
 * Input layout:
 *   0   bit 0 EVENT_IDX, bit 1 INDIRECT_DESC, bit 2 defer accepts
 *   then operations until the input ends, each a byte (low 3 bits):
 *     0  tx packet: shape byte (bits 0-1 segments - 1, bit 2 a writable
 *        segment, bit 3 src CID wrong, bit 4 dst CID wrong, bit 5 len as
 *        the payload, bit 6 RW), port byte (guest port 1000 + bit 0..1,
 *        host port from {7, 9, 1024, 1025, 99} by bits 2..4), op byte
 *        (mod 9), type byte (mod 3), flags byte, le16 buf_alloc, le16
 *        fwd_cnt, le16 len, payload length byte, then the payload bytes
 *     1  rx buffer: length byte (HDR - 4 + byte), shape byte (bit 0 two
 *        segments, bit 1 a readable segment first)
 *     2  event buffer: length byte (mod 8)
 *     3  host: selector byte, slot byte, le16 argument: source bytes, sink
 *        room, connect, shutdown, reset, accept, transport reset, provider
 *        failure
 *     4  reset the device and bring it up again (at most 4 times)
 *     5..7  take used buffers back
 */
#include "fuzz_util.h"

#include "vioport/errno.h"
#include "vioport/loopback.h"
#include "vioport/sim_vsock.h"
#include "vioport/vsock.h"

#define ARENA_SIZE (1u << 20)
#define BUS_BASE   0x40000000ull
#define QSIZE	   32u
#define NCONN	   4u
#define BUFSZ	   256u
#define CID	   3u
#define HDR	   VIO_VSOCK_HDR_SIZE
#define MAX_BUFS   96u
#define ECHO_PORT  7u
#define SINK_PORT  9u

/* The provider's view of a slot, as the device must keep it. */
#define P_NONE	     0
#define P_ACCEPTING  1 /* connect answered PENDING */
#define P_CONNECTING 2 /* host connect, no answer yet */
#define P_OPEN	     3

struct fbuf {
	uint8_t *p;
	uint32_t len;
	bool done;
};

static _Alignas(16) uint8_t arena[ARENA_SIZE];

static struct {
	struct vio_vsock vs;
	struct vio_vsock_conn conns[NCONN];
	uint8_t bufs[NCONN * BUFSZ];
	struct vio_queue queues[3];
	struct vio_sim_vsock sim;
	struct vio_sim_vsock_conn sconns[NCONN];
	struct vio_loopback lb;
	struct vio_drvq q[3];
	struct vio_drvq_slot slots[3][QSIZE];
	struct fbuf tx[MAX_BUFS], rx[MAX_BUFS], ev[MAX_BUFS];
	unsigned ntx, nrx, nev, resets;
	uint8_t pstate[NCONN];
	uint64_t want;
} F;

/* ---- the provider, checked ---- */

static int chk_connect(void *ctx, uint32_t conn, uint32_t host_port, uint32_t guest_port)
{
	int rc;

	FZ_CHECK(conn < NCONN && F.pstate[conn] == P_NONE);
	rc = vio_sim_vsock_ops.connect(ctx, conn, host_port, guest_port);
	if (rc == 0)
		F.pstate[conn] = P_OPEN;
	else if (rc == VIO_VSOCK_PENDING)
		F.pstate[conn] = P_ACCEPTING;
	return rc;
}

static void chk_connected(void *ctx, uint32_t conn, int result)
{
	FZ_CHECK(conn < NCONN && F.pstate[conn] == P_CONNECTING);
	F.pstate[conn] = result == 0 ? P_OPEN : P_NONE;
	vio_sim_vsock_ops.connected(ctx, conn, result);
}

static int chk_send(void *ctx, uint32_t conn, const uint8_t *data, uint32_t len)
{
	FZ_CHECK(conn < NCONN && F.pstate[conn] == P_OPEN && len != 0 && len <= BUFSZ);
	return vio_sim_vsock_ops.send(ctx, conn, data, len);
}

static int chk_recv(void *ctx, uint32_t conn, uint8_t *buf, uint32_t len)
{
	const struct vio_vsock_conn *c = &F.conns[conn];
	uint32_t in_flight;

	FZ_CHECK(conn < NCONN && F.pstate[conn] == P_OPEN && len != 0);
	/* never more than buf_alloc - (tx_cnt - fwd_cnt) */
	in_flight = c->tx_cnt - c->peer_fwd_cnt;
	FZ_CHECK(in_flight < c->peer_buf_alloc && len <= c->peer_buf_alloc - in_flight);
	return vio_sim_vsock_ops.recv(ctx, conn, buf, len);
}

static void chk_shutdown(void *ctx, uint32_t conn, uint32_t flags)
{
	FZ_CHECK(conn < NCONN && F.pstate[conn] == P_OPEN);
	FZ_CHECK(flags != 0 && (flags & ~VIO_VSOCK_SHUTDOWN_BOTH) == 0);
	vio_sim_vsock_ops.shutdown(ctx, conn, flags);
}

static void chk_closed(void *ctx, uint32_t conn, int reason)
{
	FZ_CHECK(conn < NCONN && (F.pstate[conn] == P_OPEN || F.pstate[conn] == P_ACCEPTING));
	F.pstate[conn] = P_NONE;
	vio_sim_vsock_ops.closed(ctx, conn, reason);
}

static const struct vio_vsock_ops chk_ops = {
    .connect = chk_connect,
    .connected = chk_connected,
    .send = chk_send,
    .recv = chk_recv,
    .shutdown = chk_shutdown,
    .closed = chk_closed,
};

/* ---- the driver side ---- */

static uint8_t *seg(uint32_t len)
{
	uint8_t *p = vio_loopback_alloc(&F.lb, len ? len : 1, NULL);

	if (p != NULL)
		memset(p, 0xee, len ? len : 1);
	return p;
}

/* Takes used entries back and checks what the device wrote. */
static void collect(void)
{
	void *token;
	uint32_t len;
	int rc;

	while ((rc = vio_drvq_get_used(&F.q[VIO_VSOCK_TXQ], &token, &len)) == 1) {
		struct fbuf *b = token;

		FZ_CHECK(!b->done && len == 0);
		b->done = true;
	}
	FZ_CHECK(rc == 0);
	while ((rc = vio_drvq_get_used(&F.q[VIO_VSOCK_RXQ], &token, &len)) == 1) {
		struct fbuf *b = token;
		uint16_t op;

		FZ_CHECK(!b->done);
		b->done = true;
		if (len == 0)
			continue;
		FZ_CHECK(len >= HDR && len <= b->len);
		FZ_CHECK(vio_get_le64(b->p + VIO_VSOCK_HDR_SRC_CID) == VIO_VSOCK_HOST_CID);
		FZ_CHECK(vio_get_le64(b->p + VIO_VSOCK_HDR_DST_CID) == F.vs.guest_cid);
		FZ_CHECK(vio_get_le32(b->p + VIO_VSOCK_HDR_LEN) == len - HDR);
		FZ_CHECK(vio_get_le32(b->p + VIO_VSOCK_HDR_BUF_ALLOC) == BUFSZ);
		op = vio_get_le16(b->p + VIO_VSOCK_HDR_OP);
		FZ_CHECK(op >= VIO_VSOCK_OP_REQUEST && op <= VIO_VSOCK_OP_CREDIT_UPDATE);
		FZ_CHECK(op == VIO_VSOCK_OP_RW ? len > HDR : len == HDR);
		if (op != VIO_VSOCK_OP_RST)
			FZ_CHECK(vio_get_le16(b->p + VIO_VSOCK_HDR_TYPE) == VIO_VSOCK_TYPE_STREAM);
	}
	FZ_CHECK(rc == 0);
	while ((rc = vio_drvq_get_used(&F.q[VIO_VSOCK_EVENTQ], &token, &len)) == 1) {
		struct fbuf *b = token;

		FZ_CHECK(!b->done);
		b->done = true;
		FZ_CHECK(len == 0 || (len == VIO_VSOCK_EVENT_SIZE && b->len >= len &&
				      vio_get_le32(b->p) == VIO_VSOCK_EVENT_TRANSPORT_RESET));
	}
	FZ_CHECK(rc == 0);
	FZ_CHECK(!(F.vs.dev.status & VIO_STATUS_NEEDS_RESET));
	for (uint32_t i = 0; i < NCONN; i++)
		FZ_CHECK(vio_vsock_buffered(&F.vs, i) <= BUFSZ);
}

static void add_tx(struct fz_in *in)
{
	static const uint32_t hports[8] = {ECHO_PORT, SINK_PORT, 1024,	    1025,
					   99,	      ECHO_PORT, SINK_PORT, ECHO_PORT};
	uint8_t shape = fz_u8(in), ports = fz_u8(in), op = fz_u8(in), type = fz_u8(in);
	uint8_t flags = fz_u8(in);
	uint16_t buf_alloc = fz_u16(in), fwd = fz_u16(in), hlen = fz_u16(in);
	uint32_t plen = fz_u8(in), total = HDR + plen, off = 0;
	unsigned nseg = (shape & 3u) % 3u + 1u;
	struct fbuf *b = &F.tx[F.ntx];
	struct vio_buf out[3], w;
	uint8_t *p = seg(total), *wp = NULL;

	if (p == NULL)
		return;
	vio_put_le64(p + VIO_VSOCK_HDR_SRC_CID, (shape & 8u) ? CID + 1u : F.vs.guest_cid);
	vio_put_le64(p + VIO_VSOCK_HDR_DST_CID, (shape & 16u) ? 7u : VIO_VSOCK_HOST_CID);
	vio_put_le32(p + VIO_VSOCK_HDR_SRC_PORT, 1000u + (ports & 3u));
	vio_put_le32(p + VIO_VSOCK_HDR_DST_PORT, hports[(ports >> 2) & 7u]);
	vio_put_le32(p + VIO_VSOCK_HDR_LEN, (shape & 32u) ? plen : hlen);
	vio_put_le16(p + VIO_VSOCK_HDR_TYPE, (uint16_t) (type % 3u));
	vio_put_le16(p + VIO_VSOCK_HDR_OP, (shape & 64u) ? VIO_VSOCK_OP_RW : (uint16_t) (op % 9u));
	vio_put_le32(p + VIO_VSOCK_HDR_FLAGS, flags);
	vio_put_le32(p + VIO_VSOCK_HDR_BUF_ALLOC, buf_alloc);
	vio_put_le32(p + VIO_VSOCK_HDR_FWD_CNT, fwd);
	for (uint32_t i = 0; i < plen; i++)
		p[HDR + i] = fz_u8(in);
	for (unsigned s = 0; s < nseg; s++) {
		uint32_t n = s + 1 == nseg ? total - off : (total - off) / 2;

		out[s] = (struct vio_buf){vio_loopback_bus(&F.lb, p + off), n};
		off += n;
	}
	if (shape & 4u) {
		wp = seg(4);
		if (wp == NULL)
			return;
		w = (struct vio_buf){vio_loopback_bus(&F.lb, wp), 4};
	}
	*b = (struct fbuf){p, 0, false};
	if (vio_drvq_add(&F.q[VIO_VSOCK_TXQ], out, nseg, &w, wp ? 1 : 0, b) >= 0) {
		F.ntx++;
		vio_loopback_kick(&F.lb, VIO_VSOCK_TXQ);
	}
}

static void add_rx(struct fz_in *in)
{
	uint32_t len = HDR - 4u + fz_u8(in);
	uint8_t shape = fz_u8(in);
	struct fbuf *b = &F.rx[F.nrx];
	struct vio_buf bufs[2];
	uint8_t *p = seg(len);
	unsigned nout = 0, n = 1;

	if (p == NULL)
		return;
	bufs[0] = (struct vio_buf){vio_loopback_bus(&F.lb, p), len};
	if ((shape & 1u) && len > 1) {
		bufs[0].len = len / 3u;
		bufs[1] = (struct vio_buf){bufs[0].addr + bufs[0].len, len - bufs[0].len};
		n = 2;
		nout = (shape & 2u) ? 1 : 0;
	}
	*b = (struct fbuf){p, len, false};
	if (vio_drvq_add(&F.q[VIO_VSOCK_RXQ], bufs, nout, bufs + nout, n - nout, b) >= 0) {
		F.nrx++;
		vio_loopback_kick(&F.lb, VIO_VSOCK_RXQ);
	}
}

static void add_event(struct fz_in *in)
{
	uint32_t len = fz_u8(in) % 8u;
	struct fbuf *b = &F.ev[F.nev];
	uint8_t *p = seg(len);
	struct vio_buf w;

	if (p == NULL || len == 0)
		return;
	w = (struct vio_buf){vio_loopback_bus(&F.lb, p), len};
	*b = (struct fbuf){p, len, false};
	if (vio_drvq_add(&F.q[VIO_VSOCK_EVENTQ], NULL, 0, &w, 1, b) >= 0) {
		F.nev++;
		vio_loopback_kick(&F.lb, VIO_VSOCK_EVENTQ);
	}
}

static void host_call(struct fz_in *in)
{
	uint8_t sel = fz_u8(in);
	uint32_t slot = fz_u8(in) % (NCONN + 1u);
	uint16_t arg = fz_u16(in);
	int rc;

	switch (sel % 9u) {
	case 0:
		(void) vio_sim_vsock_source(&F.sim, slot, arg);
		break;
	case 1:
		(void) vio_sim_vsock_sink_room(&F.sim, slot,
					       arg == 0xffff ? VIO_SIM_VSOCK_UNLIMITED : arg);
		break;
	case 2:
		rc = vio_sim_vsock_connect(&F.sim, 1000u + (arg & 3u),
					   (arg & 4u) ? VIO_SIM_VSOCK_SINK : VIO_SIM_VSOCK_ECHO);
		if (rc >= 0) {
			FZ_CHECK(F.pstate[rc] == P_NONE);
			F.pstate[rc] = P_CONNECTING;
		}
		break;
	case 3:
		(void) vio_vsock_host_shutdown(&F.vs, slot, arg & 7u);
		break;
	case 4:
		/* the provider's view changes first: the device calls nothing for it after */
		if (slot < NCONN && F.conns[slot].state != VIO_VSOCK_CONN_FREE &&
		    F.conns[slot].state != VIO_VSOCK_CONN_CLOSING) {
			F.pstate[slot] = P_NONE;
			FZ_CHECK(vio_vsock_host_reset(&F.vs, slot) == 0);
		} else {
			FZ_CHECK(vio_vsock_host_reset(&F.vs, slot) == -VIO_EINVAL);
		}
		break;
	case 5:
		rc = (arg & 1u) ? -VIO_ECONNRESET : 0;
		if (slot < NCONN && F.conns[slot].state == VIO_VSOCK_CONN_ACCEPTING) {
			FZ_CHECK(F.pstate[slot] == P_ACCEPTING);
			F.pstate[slot] = rc == 0 ? P_OPEN : P_NONE;
			FZ_CHECK(vio_vsock_host_accept(&F.vs, slot, rc) == 0);
		} else {
			FZ_CHECK(vio_vsock_host_accept(&F.vs, slot, rc) == -VIO_EINVAL);
		}
		break;
	case 6:
		(void) vio_vsock_transport_reset(&F.vs, (arg & 1u) ? 0 : CID + (arg & 3u));
		break;
	case 7:
		F.sim.fail_send = (arg & 1u) ? -VIO_EIO : 0;
		F.sim.fail_recv = (arg & 2u) ? -VIO_EIO : 0;
		break;
	default:
		vio_vsock_host_writable(&F.vs, slot);
		vio_vsock_host_readable(&F.vs, slot);
		break;
	}
	for (uint32_t i = 0; i < NCONN; i++) {
		if (F.conns[i].state == VIO_VSOCK_CONN_FREE ||
		    F.conns[i].state == VIO_VSOCK_CONN_CLOSING)
			FZ_CHECK(F.pstate[i] == P_NONE);
	}
}

static void bring_up(void)
{
	FZ_CHECK(vio_loopback_negotiate(&F.lb, F.want) == 0);
	for (uint16_t q = 0; q < 3; q++)
		FZ_CHECK(vio_loopback_queue(&F.lb, q, QSIZE, &F.q[q], F.slots[q]) == 0);
	FZ_CHECK(vio_loopback_driver_ok(&F.lb) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	uint8_t feat = fz_u8(&in);
	uint64_t offer = VIO_BIT(VIO_VSOCK_F_STREAM);

	memset(&F, 0, sizeof(F));
	if (feat & 1u)
		offer |= VIO_BIT(VIO_F_EVENT_IDX);
	if (feat & 2u)
		offer |= VIO_BIT(VIO_F_INDIRECT_DESC);
	F.want = ~0ull;
	vio_sim_vsock_init(&F.sim, F.sconns, NCONN, ECHO_PORT, SINK_PORT);
	F.sim.defer_accept = (feat & 4u) != 0;
	FZ_CHECK(vio_vsock_init(&F.vs, &chk_ops, &F.sim, CID, F.conns, NCONN, F.bufs, BUFSZ,
				F.queues, QSIZE, offer) == 0);
	vio_sim_vsock_attach(&F.sim, &F.vs);
	FZ_CHECK(vio_loopback_init(&F.lb, &F.vs.dev, arena, sizeof(arena), BUS_BASE) == 0);
	bring_up();

	while (in.n > 0 && F.ntx < MAX_BUFS && F.nrx < MAX_BUFS && F.nev < MAX_BUFS) {
		uint8_t op = fz_u8(&in);

		switch (op & 7u) {
		case 0:
			add_tx(&in);
			break;
		case 1:
			add_rx(&in);
			break;
		case 2:
			add_event(&in);
			break;
		case 3:
			host_call(&in);
			break;
		case 4:
			if (F.resets == 4)
				break;
			F.resets++;
			collect();
			vio_device_reset(&F.vs.dev);
			for (uint32_t i = 0; i < NCONN; i++)
				FZ_CHECK(F.pstate[i] == P_NONE);
			F.ntx = F.nrx = F.nev = 0;
			bring_up();
			break;
		default:
			break;
		}
		collect();
		/* tx buffers come back at once */
		for (unsigned k = 0; k < F.ntx; k++)
			FZ_CHECK(F.tx[k].done);
	}
	return 0;
}
