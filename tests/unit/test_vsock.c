/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-vsock device over the simulated host side: config, features, every
 * operation both ways, credit flow control and backpressure, clean and
 * abrupt closes, many streams at once, hostile packets (wrong CID, bad type,
 * bad op, len against the buffer, data beyond credit, a lying fwd_cnt) that
 * reset only their own stream, the event queue and reset. Driven through the
 * loopback transport; the test plays the guest driver.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h> /* after the headers it needs */

#include "vioport/byteorder.h"
#include "vioport/errno.h"
#include "vioport/loopback.h"
#include "vioport/sim_vsock.h"
#include "vioport/vsock.h"
#include "vsock_guest.h"

#define ARENA_SIZE (1024u * 1024u)
#define BUS_BASE   0x10000ull
#define QSIZE	   VG_QSIZE
#define NCONN	   4u
#define BUFSZ	   256u /* the device's buf_alloc per stream */
#define CID	   3u
#define ECHO_PORT  7u
#define SINK_PORT  9u
#define RXLEN	   VG_RXLEN
#define NRX	   VG_NRX
#define TXMAX	   VG_TXMAX
#define GBUF	   VG_GBUF
#define HDR	   VIO_VSOCK_HDR_SIZE

static struct {
	_Alignas(16) uint8_t arena[ARENA_SIZE];
	struct vio_vsock vs;
	struct vio_vsock_conn conns[NCONN];
	uint8_t bufs[NCONN * BUFSZ];
	struct vio_queue queues[3];
	struct vio_sim_vsock sim;
	struct vio_sim_vsock_conn sconns[NCONN];
	struct vio_loopback lb;
	struct vsock_guest g; /* the test's guest driver */
	struct vio_vsock_ops ops;
	uint32_t recv_calls;
} F;

static int fixture(void **state)
{
	(void) state;
	memset(&F, 0, sizeof(F));
	F.ops = vio_sim_vsock_ops;
	F.g.cid = CID; /* packets are made before the guest is brought up */
	return 0;
}

static void init_dev(uint64_t offer)
{
	vio_sim_vsock_init(&F.sim, F.sconns, NCONN, ECHO_PORT, SINK_PORT);
	assert_int_equal(vio_vsock_init(&F.vs, &F.ops, &F.sim, CID, F.conns, NCONN, F.bufs, BUFSZ,
					F.queues, QSIZE, offer),
			 0);
	vio_sim_vsock_attach(&F.sim, &F.vs);
	assert_int_equal(vio_loopback_init(&F.lb, &F.vs.dev, F.arena, sizeof(F.arena), BUS_BASE),
			 0);
}

static void bring_up(uint64_t want)
{
	vg_bring_up(&F.g, &F.lb, &F.vs, CID, want);
}

static void start(void)
{
	init_dev(VIO_BIT(VIO_VSOCK_F_STREAM));
	bring_up(~0ull);
}

static void post_rx(unsigned n)
{
	vg_post_rx(&F.g, n);
}

static int recv_pkt_opt(struct vg_pkt *p, uint8_t *data, bool repost)
{
	return vg_recv_opt(&F.g, p, data, repost);
}

static int recv_pkt(struct vg_pkt *p, uint8_t *data)
{
	return recv_pkt_opt(p, data, true);
}

static void expect_none(void)
{
	struct vg_pkt p;

	assert_int_equal(recv_pkt_opt(&p, NULL, false), 0);
}

/* Expects one packet with op from host port hport to guest port gport. */
static void expect_op(uint16_t op, uint32_t gport, uint32_t hport, struct vg_pkt *out)
{
	struct vg_pkt p;

	assert_int_equal(recv_pkt(&p, NULL), 1);
	assert_int_equal(p.op, op);
	assert_int_equal(p.dst_port, gport);
	assert_int_equal(p.src_port, hport);
	if (out != NULL)
		*out = p;
}

static struct vg_pkt mk(uint16_t op, uint32_t gport, uint32_t hport)
{
	return vg_mk(&F.g, op, gport, hport);
}

static void send_raw(const uint8_t *bytes, uint32_t len, unsigned nseg, uint32_t wlen)
{
	vg_send_raw(&F.g, bytes, len, nseg, wlen);
}

static void send_pkt_n(struct vg_pkt p, const void *data, uint32_t dlen, unsigned nseg)
{
	vg_send_pkt_n(&F.g, p, data, dlen, nseg);
}

static void send_pkt(struct vg_pkt p, const void *data)
{
	send_pkt_n(p, data, p.len, 1);
}

static void send_op(uint16_t op, uint32_t gport, uint32_t hport)
{
	send_pkt(mk(op, gport, hport), NULL);
}

static void send_data(uint32_t gport, uint32_t hport, const void *data, uint32_t len)
{
	struct vg_pkt p = mk(VIO_VSOCK_OP_RW, gport, hport);

	p.len = len;
	send_pkt(p, data);
}

/* Guest connects gport to hport and expects the RESPONSE; returns the slot. */
static uint32_t connect_guest(uint32_t gport, uint32_t hport)
{
	struct vg_pkt p;

	send_op(VIO_VSOCK_OP_REQUEST, gport, hport);
	expect_op(VIO_VSOCK_OP_RESPONSE, gport, hport, &p);
	assert_int_equal(p.type, VIO_VSOCK_TYPE_STREAM);
	assert_int_equal(p.buf_alloc, BUFSZ);
	assert_int_equal(p.len, 0);
	for (uint32_t i = 0; i < NCONN; i++) {
		if (F.conns[i].state == VIO_VSOCK_CONN_ESTABLISHED &&
		    F.conns[i].guest_port == gport && F.conns[i].host_port == hport)
			return i;
	}
	fail_msg("no established slot for %u -> %u", gport, hport);
	return 0;
}

/* ---- config, features, init ---- */

static void config_and_identity(void **state)
{
	uint8_t cfg[VIO_VSOCK_CONFIG_SIZE], w[8] = {0};

	(void) state;
	start();
	assert_int_equal(F.vs.dev.device_id, 19);
	assert_int_equal(F.vs.dev.num_queues, 3);
	assert_int_equal(vio_device_read_config(&F.vs.dev, 0, cfg, sizeof(cfg)), 0);
	assert_int_equal(vio_get_le64(cfg), CID);
	assert_int_equal(vio_device_read_config(&F.vs.dev, 4, cfg, 5), -VIO_ERANGE);
	/* guest_cid is read-only */
	assert_int_equal(vio_device_write_config(&F.vs.dev, 0, w, 8), -VIO_EPERM);
	assert_int_equal(vio_device_read_config(&F.vs.dev, 0, cfg, sizeof(cfg)), 0);
	assert_int_equal(vio_get_le64(cfg), CID);
}

static void features_offered_and_taken(void **state)
{
	(void) state;
	init_dev(VIO_BIT(VIO_VSOCK_F_STREAM) | VIO_BIT(VIO_F_EVENT_IDX));
	assert_true(F.vs.dev.host_features & VIO_BIT(VIO_VSOCK_F_STREAM));
	assert_true(F.vs.dev.host_features & VIO_BIT(VIO_F_VERSION_1));
	assert_false(F.vs.dev.host_features & VIO_BIT(1)); /* no SEQPACKET */
	bring_up(VIO_BIT(VIO_F_VERSION_1) | VIO_BIT(VIO_F_EVENT_IDX));
	assert_false(vio_device_has(&F.vs.dev, VIO_VSOCK_F_STREAM));
	/* stream sockets are implied without the bit, as for Linux's driver */
	post_rx(2);
	(void) connect_guest(1000, ECHO_PORT);
}

static void features_stream_negotiated(void **state)
{
	(void) state;
	start();
	assert_true(vio_device_has(&F.vs.dev, VIO_VSOCK_F_STREAM));
	post_rx(2);
	(void) connect_guest(1000, ECHO_PORT);
}

static void init_rejects_bad_args(void **state)
{
	struct vio_vsock_ops none = {0};
	struct vio_vsock_ops no_recv = vio_sim_vsock_ops;

	(void) state;
	no_recv.recv = NULL;
#define INIT(ops, cid, n, bs, feat)                                                                \
	vio_vsock_init(&F.vs, ops, &F.sim, cid, F.conns, n, F.bufs, bs, F.queues, QSIZE, feat)
	assert_int_equal(INIT(&none, CID, NCONN, BUFSZ, 0), -VIO_EINVAL);
	assert_int_equal(INIT(&no_recv, CID, NCONN, BUFSZ, 0), -VIO_EINVAL);
	assert_int_equal(INIT(&vio_sim_vsock_ops, 2, NCONN, BUFSZ, 0), -VIO_EINVAL);
	assert_int_equal(INIT(&vio_sim_vsock_ops, 0xffffffffull, NCONN, BUFSZ, 0), -VIO_EINVAL);
	assert_int_equal(INIT(&vio_sim_vsock_ops, 1ull << 32, NCONN, BUFSZ, 0), -VIO_EINVAL);
	assert_int_equal(INIT(&vio_sim_vsock_ops, CID, 0, BUFSZ, 0), -VIO_EINVAL);
	assert_int_equal(INIT(&vio_sim_vsock_ops, CID, NCONN, 100, 0), -VIO_EINVAL);
	assert_int_equal(INIT(&vio_sim_vsock_ops, CID, NCONN, 32, 0), -VIO_EINVAL);
	assert_int_equal(INIT(&vio_sim_vsock_ops, CID, NCONN, BUFSZ, VIO_BIT(1)), -VIO_EINVAL);
	assert_int_equal(INIT(&vio_sim_vsock_ops, CID, NCONN, BUFSZ, VIO_BIT(VIO_F_IN_ORDER)),
			 -VIO_EINVAL);
	assert_int_equal(vio_vsock_init(&F.vs, &vio_sim_vsock_ops, &F.sim, CID, F.conns, NCONN,
					F.bufs, BUFSZ, F.queues, 0, 0),
			 -VIO_EINVAL);
	assert_int_equal(INIT(&vio_sim_vsock_ops, 0xfffffffeull, NCONN, BUFSZ, 0), 0);
#undef INIT
}

/* ---- guest to host connections ---- */

static void guest_connect_echo(void **state)
{
	uint8_t back[64];
	struct vg_pkt p;

	(void) state;
	start();
	post_rx(4);
	(void) connect_guest(1000, ECHO_PORT);
	assert_int_equal(F.sim.connects, 1);
	send_data(1000, ECHO_PORT, "hello", 5);
	assert_int_equal(recv_pkt(&p, back), 1);
	assert_int_equal(p.op, VIO_VSOCK_OP_RW);
	assert_int_equal(p.len, 5);
	assert_memory_equal(back, "hello", 5);
	assert_int_equal(p.fwd_cnt, 5); /* the provider took all five */
	assert_int_equal(p.buf_alloc, BUFSZ);
	expect_none();
	assert_int_equal(F.vs.stats.tx_bytes, 5);
	assert_int_equal(F.vs.stats.rx_bytes, 5);
}

static void guest_connect_refused(void **state)
{
	struct vg_pkt p;

	(void) state;
	start();
	post_rx(2);
	send_op(VIO_VSOCK_OP_REQUEST, 1000, 99);
	expect_op(VIO_VSOCK_OP_RST, 1000, 99, &p);
	assert_int_equal(p.type, VIO_VSOCK_TYPE_STREAM);
	assert_int_equal(F.sim.refused, 1);
	assert_int_equal(F.conns[0].state, VIO_VSOCK_CONN_FREE);
	expect_none();
}

static void guest_connect_deferred(void **state)
{
	(void) state;
	start();
	post_rx(4);
	F.sim.defer_accept = true;
	send_op(VIO_VSOCK_OP_REQUEST, 1000, ECHO_PORT);
	expect_none();
	assert_int_equal(F.conns[0].state, VIO_VSOCK_CONN_ACCEPTING);
	assert_int_equal(vio_vsock_host_accept(&F.vs, 0, 0), 0);
	expect_op(VIO_VSOCK_OP_RESPONSE, 1000, ECHO_PORT, NULL);
	assert_int_equal(vio_vsock_host_accept(&F.vs, 0, 0), -VIO_EINVAL);

	send_op(VIO_VSOCK_OP_REQUEST, 1001, ECHO_PORT);
	assert_int_equal(vio_vsock_host_accept(&F.vs, 1, -VIO_ECONNRESET), 0);
	expect_op(VIO_VSOCK_OP_RST, 1001, ECHO_PORT, NULL);
	assert_int_equal(F.conns[1].state, VIO_VSOCK_CONN_FREE);
	assert_int_equal(F.sim.closes, 0); /* a refused connection is not closed */
	assert_int_equal(vio_vsock_host_accept(&F.vs, 7, 0), -VIO_EINVAL);
}

static void deferred_accept_guest_gives_up(void **state)
{
	int id;

	(void) state;
	start();
	post_rx(4);
	F.sim.defer_accept = true;
	send_op(VIO_VSOCK_OP_REQUEST, 1000, ECHO_PORT);
	send_op(VIO_VSOCK_OP_RST, 1000, ECHO_PORT); /* the guest stops waiting */
	assert_true(F.sconns[0].closed);
	assert_int_equal(F.sconns[0].closed_reason, -VIO_ECONNRESET);
	assert_int_equal(vio_vsock_host_accept(&F.vs, 0, 0), -VIO_EINVAL);
	expect_none();
	/* asking for credit before the RESPONSE is a violation */
	send_op(VIO_VSOCK_OP_REQUEST, 1001, ECHO_PORT);
	send_op(VIO_VSOCK_OP_CREDIT_REQUEST, 1001, ECHO_PORT);
	expect_op(VIO_VSOCK_OP_RST, 1001, ECHO_PORT, NULL);
	assert_int_equal(F.sconns[0].closed_reason, -VIO_EPROTO);
	expect_none();
	/* a host connection still waiting for its answer learns of a transport reset */
	id = vio_sim_vsock_connect(&F.sim, 5000, VIO_SIM_VSOCK_ECHO);
	assert_true(id >= 0);
	expect_op(VIO_VSOCK_OP_REQUEST, 5000, 1024, NULL);
	assert_int_equal(vio_vsock_transport_reset(&F.vs, 0), 0);
	assert_int_equal(F.sconns[id].result, -VIO_ENODEV);
}

static void rw_split_segments(void **state)
{
	uint8_t back[64];
	struct vg_pkt p = mk(VIO_VSOCK_OP_RW, 1000, ECHO_PORT);
	struct vg_rxb *b = &F.g.rx[0];
	struct vio_buf in[2];

	(void) state;
	start();
	/* an rx buffer whose header crosses two segments */
	b->p = vio_loopback_alloc(&F.lb, RXLEN, NULL);
	b->len = RXLEN;
	in[0] = (struct vio_buf){vio_loopback_bus(&F.lb, b->p), 20};
	in[1] = (struct vio_buf){vio_loopback_bus(&F.lb, b->p + 20), RXLEN - 20};
	assert_true(vio_drvq_add(&F.g.q[VIO_VSOCK_RXQ], NULL, 0, in, 2, b) >= 0);
	vio_loopback_kick(&F.lb, VIO_VSOCK_RXQ);
	post_rx(2);
	(void) connect_guest(1000, ECHO_PORT); /* takes the split buffer */
	/* a tx packet in three segments, the header split */
	p.len = 10;
	send_pkt_n(p, "0123456789", 10, 3);
	assert_int_equal(recv_pkt(&p, back), 1);
	assert_int_equal(p.len, 10);
	assert_memory_equal(back, "0123456789", 10);
}

/* ---- flow control ---- */

static void source_respects_guest_credit(void **state)
{
	uint8_t data[256];
	struct vg_pkt p = mk(VIO_VSOCK_OP_REQUEST, 1000, SINK_PORT);
	uint32_t got = 0, id;

	(void) state;
	start();
	post_rx(NRX);
	p.buf_alloc = 300; /* the guest holds 300 bytes */
	send_pkt(p, NULL);
	expect_op(VIO_VSOCK_OP_RESPONSE, 1000, SINK_PORT, NULL);
	id = 0;
	assert_int_equal(vio_sim_vsock_source(&F.sim, id, 1000), 0);
	while (recv_pkt(&p, data) == 1) {
		assert_int_equal(p.op, VIO_VSOCK_OP_RW);
		for (uint32_t i = 0; i < p.len; i++)
			assert_int_equal(data[i], vio_sim_vsock_pattern(got + i));
		got += p.len;
	}
	assert_int_equal(got, 300); /* never more than buf_alloc - (tx_cnt - fwd_cnt) */
	/* the guest consumed 200: 200 more may come */
	p = mk(VIO_VSOCK_OP_CREDIT_UPDATE, 1000, SINK_PORT);
	p.buf_alloc = 300;
	p.fwd_cnt = 200;
	send_pkt(p, NULL);
	while (recv_pkt(&p, data) == 1) {
		for (uint32_t i = 0; i < p.len; i++)
			assert_int_equal(data[i], vio_sim_vsock_pattern(got + i));
		got += p.len;
	}
	assert_int_equal(got, 500);
	/* a larger buffer lets the rest through */
	p = mk(VIO_VSOCK_OP_CREDIT_UPDATE, 1000, SINK_PORT);
	p.buf_alloc = 4096;
	p.fwd_cnt = 500;
	send_pkt(p, NULL);
	while (recv_pkt(&p, data) == 1)
		got += p.len;
	assert_int_equal(got, 1000);
	assert_int_equal(F.sconns[id].src_sent, 1000);
}

static void sink_backpressure_and_credit_update(void **state)
{
	uint8_t data[BUFSZ];
	struct vg_pkt p;
	uint32_t id;
	uint32_t h = 2166136261u;

	(void) state;
	start();
	post_rx(4);
	id = connect_guest(1000, SINK_PORT);
	assert_int_equal(vio_sim_vsock_sink_room(&F.sim, id, 0), 0);
	for (uint32_t i = 0; i < BUFSZ; i++)
		data[i] = (uint8_t) (i * 7u);
	send_data(1000, SINK_PORT, data, BUFSZ); /* exactly the credit given */
	assert_int_equal(F.sconns[id].sink_bytes, 0);
	assert_int_equal(vio_vsock_buffered(&F.vs, id), BUFSZ);
	expect_none(); /* the provider is full: no credit comes back */
	/* the provider takes 100: the guest sees less than half free, so it is told */
	assert_int_equal(vio_sim_vsock_sink_room(&F.sim, id, 100), 0);
	assert_int_equal(F.sconns[id].sink_bytes, 100);
	expect_op(VIO_VSOCK_OP_CREDIT_UPDATE, 1000, SINK_PORT, &p);
	assert_int_equal(p.fwd_cnt, 100);
	expect_none();
	assert_int_equal(vio_sim_vsock_sink_room(&F.sim, id, VIO_SIM_VSOCK_UNLIMITED), 0);
	assert_int_equal(F.sconns[id].sink_bytes, BUFSZ);
	assert_int_equal(vio_vsock_buffered(&F.vs, id), 0);
	expect_op(VIO_VSOCK_OP_CREDIT_UPDATE, 1000, SINK_PORT, &p);
	assert_int_equal(p.fwd_cnt, BUFSZ);
	assert_int_equal(p.buf_alloc, BUFSZ);
	expect_none();
	assert_int_equal(F.sconns[id].sink_hash, vio_sim_vsock_hash(h, data, BUFSZ));
}

static void credit_request_answered(void **state)
{
	struct vg_pkt p;

	(void) state;
	start();
	post_rx(4);
	(void) connect_guest(1000, SINK_PORT);
	send_data(1000, SINK_PORT, "abc", 3);
	expect_none(); /* 3 of 256: no update needed */
	send_op(VIO_VSOCK_OP_CREDIT_REQUEST, 1000, SINK_PORT);
	expect_op(VIO_VSOCK_OP_CREDIT_UPDATE, 1000, SINK_PORT, &p);
	assert_int_equal(p.fwd_cnt, 3);
	assert_int_equal(p.buf_alloc, BUFSZ);
	expect_none();
}

/* Echo through a device buffer smaller than the transfer, the guest keeping to its credit. */
static void echo_stream_large(void **state)
{
	enum { TOTAL = 20000 };
	static uint8_t out[TOTAL], back[TOTAL];
	uint32_t sent = 0, got = 0, peer_fwd = 0, peer_alloc = BUFSZ;
	struct vg_pkt p;
	unsigned rounds = 0;

	(void) state;
	start();
	post_rx(NRX);
	(void) connect_guest(1000, ECHO_PORT);
	for (uint32_t i = 0; i < TOTAL; i++)
		out[i] = (uint8_t) (i ^ (i >> 8));
	while (got < TOTAL) {
		uint32_t credit = peer_alloc - (sent - peer_fwd);
		uint32_t n = TOTAL - sent < credit ? TOTAL - sent : credit;

		assert_true(++rounds < 10000);
		if (n > 100)
			n = 100;
		if (n != 0) {
			F.g.guest_fwd = got;
			send_data(1000, ECHO_PORT, out + sent, n);
			sent += n;
		}
		while (recv_pkt(&p, back + got) == 1) {
			peer_fwd = p.fwd_cnt;
			peer_alloc = p.buf_alloc;
			if (p.op == VIO_VSOCK_OP_RW)
				got += p.len;
			else
				assert_int_equal(p.op, VIO_VSOCK_OP_CREDIT_UPDATE);
		}
		/* the guest's reads free its buffer: tell the device */
		if (n == 0) {
			struct vg_pkt u = mk(VIO_VSOCK_OP_CREDIT_UPDATE, 1000, ECHO_PORT);

			u.fwd_cnt = got;
			send_pkt(u, NULL);
		}
	}
	assert_int_equal(sent, TOTAL);
	assert_memory_equal(out, back, TOTAL);
	assert_int_equal(F.vs.stats.resets, 0);
}

/* ---- hostile guests: one stream reset, the others untouched ---- */

/* Opens a victim stream and a bystander; returns the victim's slot. */
static uint32_t two_streams(void)
{
	post_rx(NRX);
	(void) connect_guest(2000, ECHO_PORT);
	return connect_guest(1000, SINK_PORT);
}

/* The victim got exactly one RST, the provider closed it with -EPROTO; the bystander echoes. */
static void expect_victim_reset(uint32_t id)
{
	uint8_t back[8];
	struct vg_pkt p;

	expect_op(VIO_VSOCK_OP_RST, 1000, SINK_PORT, NULL);
	expect_none();
	assert_int_equal(F.conns[id].state, VIO_VSOCK_CONN_FREE);
	assert_true(F.sconns[id].closed);
	assert_int_equal(F.sconns[id].closed_reason, -VIO_EPROTO);
	assert_int_equal(F.vs.stats.resets, 1);
	/* later packets of the dead stream get RSTs of their own, nothing else */
	send_data(1000, SINK_PORT, "x", 1);
	expect_op(VIO_VSOCK_OP_RST, 1000, SINK_PORT, NULL);
	send_data(2000, ECHO_PORT, "ok", 2);
	assert_int_equal(recv_pkt(&p, back), 1);
	assert_int_equal(p.op, VIO_VSOCK_OP_RW);
	assert_memory_equal(back, "ok", 2);
	assert_false(F.vs.dev.status & VIO_STATUS_NEEDS_RESET);
}

static void data_beyond_credit(void **state)
{
	uint8_t data[BUFSZ + 1] = {0};
	uint32_t id;

	(void) state;
	start();
	id = two_streams();
	assert_int_equal(vio_sim_vsock_sink_room(&F.sim, id, 0), 0);
	send_data(1000, SINK_PORT, data, BUFSZ - 10);
	send_data(1000, SINK_PORT, data, 11); /* one byte beyond */
	assert_int_equal(F.sconns[id].sink_bytes, 0);
	expect_victim_reset(id);
}

static void lying_fwd_cnt(void **state)
{
	struct vg_pkt p;
	uint32_t id;

	(void) state;
	start();
	id = two_streams();
	assert_int_equal(vio_sim_vsock_source(&F.sim, id, 10), 0);
	expect_op(VIO_VSOCK_OP_RW, 1000, SINK_PORT, &p);
	assert_int_equal(p.len, 10);
	/* the guest claims to have consumed 11 of 10 bytes */
	p = mk(VIO_VSOCK_OP_CREDIT_UPDATE, 1000, SINK_PORT);
	p.fwd_cnt = 11;
	send_pkt(p, NULL);
	expect_victim_reset(id);
}

static void fwd_cnt_backwards(void **state)
{
	struct vg_pkt p;
	uint32_t id;

	(void) state;
	start();
	id = two_streams();
	assert_int_equal(vio_sim_vsock_source(&F.sim, id, 10), 0);
	expect_op(VIO_VSOCK_OP_RW, 1000, SINK_PORT, NULL);
	p = mk(VIO_VSOCK_OP_CREDIT_UPDATE, 1000, SINK_PORT);
	p.fwd_cnt = 8;
	send_pkt(p, NULL);
	expect_none();
	p.fwd_cnt = 5; /* going back is claiming 2^32 - 3 more */
	send_pkt(p, NULL);
	expect_victim_reset(id);
}

static void bad_op_on_stream(void **state)
{
	static const uint16_t ops[] = {VIO_VSOCK_OP_INVALID, 8, 0xffff, VIO_VSOCK_OP_REQUEST,
				       VIO_VSOCK_OP_RESPONSE};

	(void) state;
	for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		uint32_t id;

		(void) fixture(NULL);
		start();
		id = two_streams();
		send_op(ops[i], 1000, SINK_PORT);
		expect_victim_reset(id);
	}
}

static void bad_type_on_stream(void **state)
{
	struct vg_pkt p;
	uint32_t id;

	(void) state;
	start();
	id = two_streams();
	p = mk(VIO_VSOCK_OP_CREDIT_REQUEST, 1000, SINK_PORT);
	p.type = VIO_VSOCK_TYPE_SEQPACKET;
	send_pkt(p, NULL);
	expect_victim_reset(id);
}

static void len_disagrees_with_buffer(void **state)
{
	struct vg_pkt p;
	uint32_t id;

	(void) state;
	start();
	id = two_streams();
	p = mk(VIO_VSOCK_OP_RW, 1000, SINK_PORT);
	p.len = 10;
	send_pkt_n(p, "abcde", 5, 1); /* says 10, holds 5 */
	assert_int_equal(F.sconns[id].sink_bytes, 0);
	expect_victim_reset(id);
}

static void len_longer_than_header_says(void **state)
{
	struct vg_pkt p;
	uint32_t id;

	(void) state;
	start();
	id = two_streams();
	p = mk(VIO_VSOCK_OP_RW, 1000, SINK_PORT);
	p.len = 3;
	send_pkt_n(p, "abcdef", 6, 2); /* says 3, holds 6 */
	expect_victim_reset(id);
}

static void len_on_control_packet(void **state)
{
	struct vg_pkt p;
	uint32_t id;

	(void) state;
	start();
	id = two_streams();
	p = mk(VIO_VSOCK_OP_CREDIT_UPDATE, 1000, SINK_PORT);
	p.len = 4;
	send_pkt(p, "abcd");
	expect_victim_reset(id);
}

static void writable_segment_in_tx(void **state)
{
	uint8_t raw[HDR];
	struct vg_pkt p = mk(VIO_VSOCK_OP_CREDIT_REQUEST, 1000, SINK_PORT);
	uint32_t id;

	(void) state;
	start();
	id = two_streams();
	vg_put_hdr(raw, &p);
	send_raw(raw, HDR, 1, 8);
	expect_victim_reset(id);
}

static void data_after_guest_shutdown_send(void **state)
{
	struct vg_pkt p;
	uint32_t id;

	(void) state;
	start();
	id = two_streams();
	p = mk(VIO_VSOCK_OP_SHUTDOWN, 1000, SINK_PORT);
	p.flags = VIO_VSOCK_SHUTDOWN_SEND;
	send_pkt(p, NULL);
	assert_int_equal(F.sconns[id].shut, VIO_VSOCK_SHUTDOWN_SEND);
	expect_none();
	send_data(1000, SINK_PORT, "late", 4);
	expect_victim_reset(id);
}

static void wrong_cid_dropped(void **state)
{
	struct vg_pkt p;

	(void) state;
	start();
	post_rx(4);
	p = mk(VIO_VSOCK_OP_REQUEST, 1000, ECHO_PORT);
	p.src_cid = CID + 1;
	send_pkt(p, NULL);
	p = mk(VIO_VSOCK_OP_REQUEST, 1000, ECHO_PORT);
	p.dst_cid = 5;
	send_pkt(p, NULL);
	p = mk(VIO_VSOCK_OP_REQUEST, 1000, ECHO_PORT);
	p.src_cid = CID | (1ull << 32); /* the upper bits count */
	send_pkt(p, NULL);
	expect_none();
	assert_int_equal(F.vs.stats.dropped, 3);
	assert_int_equal(F.sim.connects, 0);
}

static void short_packet_dropped(void **state)
{
	uint8_t raw[HDR];
	struct vg_pkt p = mk(VIO_VSOCK_OP_REQUEST, 1000, ECHO_PORT);

	(void) state;
	start();
	post_rx(4);
	vg_put_hdr(raw, &p);
	send_raw(raw, HDR - 1, 1, 0);
	send_raw(raw, HDR - 1, 1, 1); /* a writable byte does not make it a header */
	expect_none();
	assert_int_equal(F.vs.stats.dropped, 2);
	assert_int_equal(F.sim.connects, 0);
}

static void unknown_stream_gets_rst(void **state)
{
	struct vg_pkt p;

	(void) state;
	start();
	post_rx(4);
	send_data(1000, ECHO_PORT, "abc", 3);
	expect_op(VIO_VSOCK_OP_RST, 1000, ECHO_PORT, NULL);
	send_op(VIO_VSOCK_OP_RST, 1000, ECHO_PORT); /* never answered */
	expect_none();
	p = mk(VIO_VSOCK_OP_REQUEST, 1000, ECHO_PORT);
	p.type = VIO_VSOCK_TYPE_SEQPACKET; /* unknown type: RST with that type */
	send_pkt(p, NULL);
	expect_op(VIO_VSOCK_OP_RST, 1000, ECHO_PORT, &p);
	assert_int_equal(p.type, VIO_VSOCK_TYPE_SEQPACKET);
	p = mk(VIO_VSOCK_OP_REQUEST, 1000, ECHO_PORT);
	p.type = 77;
	send_pkt(p, NULL);
	expect_op(VIO_VSOCK_OP_RST, 1000, ECHO_PORT, &p);
	assert_int_equal(p.type, 77);
	assert_int_equal(F.sim.connects, 0);
	assert_int_equal(F.vs.stats.rst_replies, 3);
}

static void rst_replies_bounded(void **state)
{
	(void) state;
	start();
	/* no rx buffers: replies queue up to the limit, the rest are dropped */
	for (uint32_t i = 0; i < VIO_VSOCK_RST_QUEUE + 3; i++)
		send_data(3000 + i, ECHO_PORT, "z", 1);
	assert_int_equal(F.vs.stats.rst_lost, 3);
	post_rx(NRX);
	for (uint32_t i = 0; i < VIO_VSOCK_RST_QUEUE; i++)
		expect_op(VIO_VSOCK_OP_RST, 3000 + i, ECHO_PORT, NULL);
	expect_none();
}

static void table_full_refused(void **state)
{
	struct vg_pkt p;

	(void) state;
	start();
	post_rx(NRX);
	for (uint32_t i = 0; i < NCONN; i++)
		(void) connect_guest(1000 + i, ECHO_PORT);
	send_op(VIO_VSOCK_OP_REQUEST, 1100, ECHO_PORT);
	expect_op(VIO_VSOCK_OP_RST, 1100, ECHO_PORT, &p);
	/* the others still work, each on its own stream */
	for (uint32_t i = 0; i < NCONN; i++) {
		uint8_t c = (uint8_t) ('a' + i), back;

		send_data(1000 + i, ECHO_PORT, &c, 1);
		assert_int_equal(recv_pkt(&p, &back), 1);
		assert_int_equal(p.dst_port, 1000 + i);
		assert_int_equal(back, c);
	}
}

static void bad_rx_buffers_returned_empty(void **state)
{
	struct vg_rxb *b = &F.g.rx[0];
	struct vio_buf o, in;
	uint8_t *small;
	void *token;
	uint32_t len;
	int t1, t2;

	(void) state;
	start();
	b->p = vio_loopback_alloc(&F.lb, RXLEN, NULL);
	b->len = RXLEN;
	small = vio_loopback_alloc(&F.lb, HDR, NULL);
	/* a readable segment in an rx buffer, then one with room for a header only */
	o = (struct vio_buf){vio_loopback_bus(&F.lb, b->p), 4};
	in = (struct vio_buf){vio_loopback_bus(&F.lb, b->p + 4), RXLEN - 4};
	assert_true(vio_drvq_add(&F.g.q[VIO_VSOCK_RXQ], &o, 1, &in, 1, &t1) >= 0);
	in = (struct vio_buf){vio_loopback_bus(&F.lb, small), HDR};
	assert_true(vio_drvq_add(&F.g.q[VIO_VSOCK_RXQ], NULL, 0, &in, 1, &t2) >= 0);
	vio_loopback_kick(&F.lb, VIO_VSOCK_RXQ);
	send_op(VIO_VSOCK_OP_REQUEST, 1000, ECHO_PORT);
	assert_int_equal(vio_drvq_get_used(&F.g.q[VIO_VSOCK_RXQ], &token, &len), 1);
	assert_ptr_equal(token, &t1);
	assert_int_equal(len, 0);
	assert_int_equal(vio_drvq_get_used(&F.g.q[VIO_VSOCK_RXQ], &token, &len), 1);
	assert_ptr_equal(token, &t2);
	assert_int_equal(len, 0);
	assert_int_equal(F.vs.stats.bad_rx_bufs, 2);
	/* the RESPONSE waits for a good buffer */
	F.g.rx[0].p = NULL;
	post_rx(1);
	expect_op(VIO_VSOCK_OP_RESPONSE, 1000, ECHO_PORT, NULL);
}

static void provider_errors_reset_stream(void **state)
{
	uint32_t id;

	(void) state;
	start();
	id = two_streams();
	F.sim.fail_send = -VIO_EIO;
	send_data(1000, SINK_PORT, "abc", 3);
	expect_op(VIO_VSOCK_OP_RST, 1000, SINK_PORT, NULL);
	assert_int_equal(F.sconns[id].closed_reason, -VIO_EIO);
	id = connect_guest(1001, SINK_PORT);
	F.sim.fail_recv = -VIO_EIO;
	assert_int_equal(vio_sim_vsock_source(&F.sim, id, 5), 0);
	expect_op(VIO_VSOCK_OP_RST, 1001, SINK_PORT, NULL);
	assert_int_equal(F.sconns[id].closed_reason, -VIO_EIO);
	expect_none();
	assert_int_equal(F.vs.stats.resets, 0); /* not the guest's fault */
}

/* A provider that says it has data from inside every recv and never gives any. */
static int restless_recv(void *ctx, uint32_t conn, uint8_t *buf, uint32_t len)
{
	(void) ctx;
	(void) buf;
	(void) len;
	F.recv_calls++;
	vio_vsock_host_readable(&F.vs, conn);
	return 0;
}

static void restless_provider_bounded(void **state)
{
	uint32_t id;

	(void) state;
	F.ops.recv = restless_recv;
	start();
	post_rx(4);
	id = connect_guest(1000, ECHO_PORT);
	vio_vsock_host_readable(&F.vs, id); /* returns: the device does not spin */
	assert_true(F.recv_calls > 0 && F.recv_calls <= 1024u * (NCONN + 1u));
	expect_none();
	/* the device still serves other streams */
	id = connect_guest(1001, SINK_PORT);
	send_data(1001, SINK_PORT, "data", 4);
	assert_int_equal(F.sconns[id].sink_bytes, 4);
}

/* ---- closing ---- */

static void guest_clean_shutdown(void **state)
{
	struct vg_pkt p;
	uint32_t id;

	(void) state;
	start();
	post_rx(4);
	id = connect_guest(1000, ECHO_PORT);
	p = mk(VIO_VSOCK_OP_SHUTDOWN, 1000, ECHO_PORT);
	p.flags = VIO_VSOCK_SHUTDOWN_BOTH;
	send_pkt(p, NULL);
	assert_int_equal(F.sconns[id].shut, VIO_VSOCK_SHUTDOWN_BOTH);
	expect_op(VIO_VSOCK_OP_RST, 1000, ECHO_PORT, NULL);
	assert_true(F.sconns[id].closed);
	assert_int_equal(F.sconns[id].closed_reason, 0);
	assert_int_equal(F.conns[id].state, VIO_VSOCK_CONN_FREE);
}

static void guest_shutdown_waits_for_buffered_data(void **state)
{
	uint8_t data[200];
	struct vg_pkt p;
	uint32_t id;

	(void) state;
	start();
	post_rx(4);
	id = connect_guest(1000, SINK_PORT);
	assert_int_equal(vio_sim_vsock_sink_room(&F.sim, id, 0), 0);
	memset(data, 0x5a, sizeof(data));
	send_data(1000, SINK_PORT, data, sizeof(data));
	p = mk(VIO_VSOCK_OP_SHUTDOWN, 1000, SINK_PORT);
	p.flags = VIO_VSOCK_SHUTDOWN_BOTH;
	send_pkt(p, NULL);
	expect_none(); /* 200 bytes still to deliver */
	assert_false(F.sconns[id].closed);
	/* the provider hears RCV now, SEND only once the bytes before it went out */
	assert_int_equal(F.sconns[id].shut, VIO_VSOCK_SHUTDOWN_RCV);
	assert_int_equal(vio_sim_vsock_sink_room(&F.sim, id, VIO_SIM_VSOCK_UNLIMITED), 0);
	assert_int_equal(F.sconns[id].sink_bytes, 200);
	assert_int_equal(F.sconns[id].shut, VIO_VSOCK_SHUTDOWN_BOTH);
	expect_op(VIO_VSOCK_OP_RST, 1000, SINK_PORT, NULL);
	assert_int_equal(F.sconns[id].closed_reason, 0);
}

/* SEND alone: the provider hears it after the data the guest sent before it, in order. */
static void guest_shutdown_send_after_data(void **state)
{
	uint8_t data[200];
	struct vg_pkt p;
	uint32_t id;

	(void) state;
	start();
	post_rx(4);
	id = connect_guest(1000, SINK_PORT);
	assert_int_equal(vio_sim_vsock_sink_room(&F.sim, id, 100), 0);
	memset(data, 0x3c, sizeof(data));
	send_data(1000, SINK_PORT, data, sizeof(data));
	p = mk(VIO_VSOCK_OP_SHUTDOWN, 1000, SINK_PORT);
	p.flags = VIO_VSOCK_SHUTDOWN_SEND;
	send_pkt(p, NULL);
	assert_int_equal(F.sconns[id].sink_bytes, 100);
	assert_int_equal(F.sconns[id].shut, 0);
	assert_int_equal(vio_sim_vsock_sink_room(&F.sim, id, 60), 0);
	assert_int_equal(F.sconns[id].sink_bytes, 160);
	assert_int_equal(F.sconns[id].shut, 0);
	assert_int_equal(vio_sim_vsock_sink_room(&F.sim, id, VIO_SIM_VSOCK_UNLIMITED), 0);
	assert_int_equal(F.sconns[id].sink_bytes, 200);
	assert_int_equal(F.sconns[id].shut, VIO_VSOCK_SHUTDOWN_SEND);
	assert_false(F.sconns[id].closed); /* half closed: the host may still send */
}

static void guest_rst_closes(void **state)
{
	uint32_t id;

	(void) state;
	start();
	post_rx(4);
	id = connect_guest(1000, ECHO_PORT);
	send_op(VIO_VSOCK_OP_RST, 1000, ECHO_PORT);
	expect_none();
	assert_int_equal(F.sconns[id].closed_reason, -VIO_ECONNRESET);
	assert_int_equal(F.conns[id].state, VIO_VSOCK_CONN_FREE);
	assert_int_equal(vio_vsock_host_reset(&F.vs, id), -VIO_EINVAL);
}

/* ---- host to guest connections ---- */

static void host_connect_echo(void **state)
{
	uint8_t back[16];
	struct vg_pkt p, req;
	int id;

	(void) state;
	start();
	post_rx(4);
	id = vio_sim_vsock_connect(&F.sim, 5000, VIO_SIM_VSOCK_ECHO);
	assert_true(id >= 0);
	expect_op(VIO_VSOCK_OP_REQUEST, 5000, 1024, &req);
	assert_int_equal(req.type, VIO_VSOCK_TYPE_STREAM);
	assert_int_equal(req.buf_alloc, BUFSZ);
	assert_int_equal(F.sconns[id].result, 1);
	send_op(VIO_VSOCK_OP_RESPONSE, 5000, 1024);
	assert_int_equal(F.sconns[id].result, 0);
	assert_true(F.sconns[id].open);
	send_data(5000, 1024, "ping", 4);
	assert_int_equal(recv_pkt(&p, back), 1);
	assert_int_equal(p.op, VIO_VSOCK_OP_RW);
	assert_memory_equal(back, "ping", 4);
	/* the host closes both ways, the guest answers with RST: a clean close */
	assert_int_equal(vio_vsock_host_shutdown(&F.vs, (uint32_t) id, VIO_VSOCK_SHUTDOWN_BOTH), 0);
	expect_op(VIO_VSOCK_OP_SHUTDOWN, 5000, 1024, &p);
	assert_int_equal(p.flags, VIO_VSOCK_SHUTDOWN_BOTH);
	send_op(VIO_VSOCK_OP_RST, 5000, 1024);
	assert_true(F.sconns[id].closed);
	assert_int_equal(F.sconns[id].closed_reason, 0);
	/* the next host connection takes the next port */
	id = vio_sim_vsock_connect(&F.sim, 5000, VIO_SIM_VSOCK_ECHO);
	assert_true(id >= 0);
	expect_op(VIO_VSOCK_OP_REQUEST, 5000, 1025, NULL);
}

static void host_connect_refused_and_limits(void **state)
{
	int id;

	(void) state;
	init_dev(0);
	assert_int_equal(vio_vsock_host_connect(&F.vs, 5000, 0), -VIO_EAGAIN);
	bring_up(~0ull);
	post_rx(NRX);
	id = vio_sim_vsock_connect(&F.sim, 5000, VIO_SIM_VSOCK_SINK);
	assert_true(id >= 0);
	expect_op(VIO_VSOCK_OP_REQUEST, 5000, 1024, NULL);
	send_op(VIO_VSOCK_OP_RST, 5000, 1024); /* no listener in the guest */
	assert_int_equal(F.sconns[id].result, -VIO_ECONNRESET);
	assert_false(F.sconns[id].closed);
	assert_int_equal(F.conns[id].state, VIO_VSOCK_CONN_FREE);
	/* a fixed port in use, a full table */
	assert_true(vio_vsock_host_connect(&F.vs, 5000, 77) >= 0);
	assert_int_equal(vio_vsock_host_connect(&F.vs, 5000, 77), -VIO_EBUSY);
	for (uint32_t i = 1; i < NCONN; i++)
		assert_true(vio_vsock_host_connect(&F.vs, 5000, 0) >= 0);
	assert_int_equal(vio_vsock_host_connect(&F.vs, 5000, 0), -VIO_ENOSPC);
	expect_op(VIO_VSOCK_OP_REQUEST, 5000, 77, NULL);
	for (uint32_t i = 1; i < NCONN; i++)
		expect_op(VIO_VSOCK_OP_REQUEST, 5000, 1024 + i, NULL);
	expect_none();
	/* data before the RESPONSE is a violation */
	send_data(5000, 77, "x", 1);
	expect_op(VIO_VSOCK_OP_RST, 5000, 77, NULL);
	assert_int_equal(F.sconns[0].result, -VIO_EPROTO);
	expect_none();
}

static void host_shutdown_after_data(void **state)
{
	uint8_t data[64];
	struct vg_pkt p;
	int id;

	(void) state;
	start();
	post_rx(1);
	id = vio_sim_vsock_connect(&F.sim, 5000, VIO_SIM_VSOCK_SINK);
	assert_int_equal(recv_pkt_opt(&p, NULL, false), 1); /* not posted again */
	assert_int_equal(p.op, VIO_VSOCK_OP_REQUEST);
	send_op(VIO_VSOCK_OP_RESPONSE, 5000, 1024);
	/* no rx buffers: the data and the SHUTDOWN wait, in that order */
	assert_int_equal(vio_sim_vsock_source(&F.sim, (uint32_t) id, 10), 0);
	assert_int_equal(vio_vsock_host_shutdown(&F.vs, (uint32_t) id, VIO_VSOCK_SHUTDOWN_SEND), 0);
	assert_int_equal(vio_vsock_host_shutdown(&F.vs, (uint32_t) id, 4), -VIO_EINVAL);
	assert_int_equal(vio_vsock_host_shutdown(&F.vs, (uint32_t) id, 0), -VIO_EINVAL);
	post_rx(2);
	assert_int_equal(recv_pkt(&p, data), 1);
	assert_int_equal(p.op, VIO_VSOCK_OP_RW);
	assert_int_equal(p.len, 10);
	expect_op(VIO_VSOCK_OP_SHUTDOWN, 5000, 1024, &p);
	assert_int_equal(p.flags, VIO_VSOCK_SHUTDOWN_SEND);
	expect_none();
	/* more from the source is not sent after the SHUTDOWN */
	assert_int_equal(vio_sim_vsock_source(&F.sim, (uint32_t) id, 10), 0);
	expect_none();
}

static void host_reset_sends_rst(void **state)
{
	uint32_t id;

	(void) state;
	start();
	post_rx(4);
	id = connect_guest(1000, ECHO_PORT);
	assert_int_equal(vio_vsock_host_reset(&F.vs, id), 0);
	expect_op(VIO_VSOCK_OP_RST, 1000, ECHO_PORT, NULL);
	assert_false(F.sconns[id].closed); /* the host asked for it: no closed */
	assert_int_equal(F.conns[id].state, VIO_VSOCK_CONN_FREE);
	assert_int_equal(vio_vsock_host_reset(&F.vs, NCONN), -VIO_EINVAL);
}

/* ---- events and reset ---- */

static uint8_t *post_event(int *token, uint32_t len)
{
	uint8_t *e = vio_loopback_alloc(&F.lb, len, NULL);
	struct vio_buf in = {vio_loopback_bus(&F.lb, e), len};

	memset(e, 0xee, len);
	assert_true(vio_drvq_add(&F.g.q[VIO_VSOCK_EVENTQ], NULL, 0, &in, 1, token) >= 0);
	vio_loopback_kick(&F.lb, VIO_VSOCK_EVENTQ);
	return e;
}

static void transport_reset_event(void **state)
{
	uint8_t cfg[8], *e;
	void *token;
	uint32_t len, gen;
	int t1, t2, t3;

	(void) state;
	start();
	post_rx(4);
	(void) connect_guest(1000, ECHO_PORT);
	(void) connect_guest(1001, SINK_PORT);
	e = post_event(&t1, 4);
	assert_int_equal(vio_drvq_get_used(&F.g.q[VIO_VSOCK_EVENTQ], &token, &len), 0);
	gen = F.vs.dev.config_generation;
	assert_int_equal(vio_vsock_transport_reset(&F.vs, 2), -VIO_EINVAL);
	assert_int_equal(vio_vsock_transport_reset(&F.vs, 42), 0);
	assert_int_equal(vio_drvq_get_used(&F.g.q[VIO_VSOCK_EVENTQ], &token, &len), 1);
	assert_ptr_equal(token, &t1);
	assert_int_equal(len, 4);
	assert_int_equal(vio_get_le32(e), VIO_VSOCK_EVENT_TRANSPORT_RESET);
	assert_int_equal(F.sconns[0].closed_reason, -VIO_ENODEV);
	assert_int_equal(F.sconns[1].closed_reason, -VIO_ENODEV);
	assert_int_equal(F.sim.closes, 2);
	expect_none(); /* no RSTs: the guest drops its streams itself */
	assert_int_equal(vio_device_read_config(&F.vs.dev, 0, cfg, 8), 0);
	assert_int_equal(vio_get_le64(cfg), 42);
	assert_true(F.vs.dev.config_generation != gen);
	/* packets from the old CID are now dropped */
	send_op(VIO_VSOCK_OP_REQUEST, 1000, ECHO_PORT);
	expect_none();
	/* an event with no buffer waits for one; a buffer too small is returned empty */
	assert_int_equal(vio_vsock_transport_reset(&F.vs, 0), 0);
	(void) post_event(&t2, 3);
	assert_int_equal(vio_drvq_get_used(&F.g.q[VIO_VSOCK_EVENTQ], &token, &len), 1);
	assert_ptr_equal(token, &t2);
	assert_int_equal(len, 0);
	e = post_event(&t3, 4);
	assert_int_equal(vio_drvq_get_used(&F.g.q[VIO_VSOCK_EVENTQ], &token, &len), 1);
	assert_ptr_equal(token, &t3);
	assert_int_equal(len, 4);
	assert_int_equal(vio_get_le32(e), VIO_VSOCK_EVENT_TRANSPORT_RESET);
}

static void device_reset_closes_all(void **state)
{
	(void) state;
	start();
	post_rx(4);
	(void) connect_guest(1000, ECHO_PORT);
	(void) connect_guest(1001, ECHO_PORT);
	vio_device_reset(&F.vs.dev);
	assert_int_equal(F.sim.closes, 2);
	assert_int_equal(F.sconns[0].closed_reason, -VIO_ENODEV);
	for (uint32_t i = 0; i < NCONN; i++)
		assert_int_equal(F.conns[i].state, VIO_VSOCK_CONN_FREE);
	assert_int_equal(vio_vsock_host_connect(&F.vs, 5000, 0), -VIO_EAGAIN);
	/* up again, on fresh rings */
	memset(F.g.rx, 0, sizeof(F.g.rx));
	bring_up(~0ull);
	post_rx(4);
	(void) connect_guest(1000, ECHO_PORT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(config_and_identity, fixture),
	    cmocka_unit_test_setup(features_offered_and_taken, fixture),
	    cmocka_unit_test_setup(features_stream_negotiated, fixture),
	    cmocka_unit_test_setup(init_rejects_bad_args, fixture),
	    cmocka_unit_test_setup(guest_connect_echo, fixture),
	    cmocka_unit_test_setup(guest_connect_refused, fixture),
	    cmocka_unit_test_setup(guest_connect_deferred, fixture),
	    cmocka_unit_test_setup(deferred_accept_guest_gives_up, fixture),
	    cmocka_unit_test_setup(rw_split_segments, fixture),
	    cmocka_unit_test_setup(source_respects_guest_credit, fixture),
	    cmocka_unit_test_setup(sink_backpressure_and_credit_update, fixture),
	    cmocka_unit_test_setup(credit_request_answered, fixture),
	    cmocka_unit_test_setup(echo_stream_large, fixture),
	    cmocka_unit_test_setup(data_beyond_credit, fixture),
	    cmocka_unit_test_setup(lying_fwd_cnt, fixture),
	    cmocka_unit_test_setup(fwd_cnt_backwards, fixture),
	    cmocka_unit_test_setup(bad_op_on_stream, fixture),
	    cmocka_unit_test_setup(bad_type_on_stream, fixture),
	    cmocka_unit_test_setup(len_disagrees_with_buffer, fixture),
	    cmocka_unit_test_setup(len_longer_than_header_says, fixture),
	    cmocka_unit_test_setup(len_on_control_packet, fixture),
	    cmocka_unit_test_setup(writable_segment_in_tx, fixture),
	    cmocka_unit_test_setup(data_after_guest_shutdown_send, fixture),
	    cmocka_unit_test_setup(wrong_cid_dropped, fixture),
	    cmocka_unit_test_setup(short_packet_dropped, fixture),
	    cmocka_unit_test_setup(unknown_stream_gets_rst, fixture),
	    cmocka_unit_test_setup(rst_replies_bounded, fixture),
	    cmocka_unit_test_setup(table_full_refused, fixture),
	    cmocka_unit_test_setup(bad_rx_buffers_returned_empty, fixture),
	    cmocka_unit_test_setup(provider_errors_reset_stream, fixture),
	    cmocka_unit_test_setup(restless_provider_bounded, fixture),
	    cmocka_unit_test_setup(guest_clean_shutdown, fixture),
	    cmocka_unit_test_setup(guest_shutdown_waits_for_buffered_data, fixture),
	    cmocka_unit_test_setup(guest_shutdown_send_after_data, fixture),
	    cmocka_unit_test_setup(guest_rst_closes, fixture),
	    cmocka_unit_test_setup(host_connect_echo, fixture),
	    cmocka_unit_test_setup(host_connect_refused_and_limits, fixture),
	    cmocka_unit_test_setup(host_shutdown_after_data, fixture),
	    cmocka_unit_test_setup(host_reset_sends_rst, fixture),
	    cmocka_unit_test_setup(transport_reset_event, fixture),
	    cmocka_unit_test_setup(device_reset_closes_all, fixture),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
