/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The driver side's console, input and vsock helpers (src/vmsg/drv_console.c,
 * drv_input.c, drv_vsock.c) against the real device models and simulations
 * over one shared-memory window in this process; the driver's wait hook runs
 * the device bus, as in test_vmsg_drv. Devices: a console with the echo
 * simulation (0), a keyboard (1), a vsock device with CID 5, echo on host
 * port 7 and a 256-byte stream buffer (2).
 *
 * Console: bytes written come back through posted receive buffers, with more
 * in flight than the simulation holds; a config write the device refuses. Input: config selectors
 * through SET_CONFIG (name, IDs, key bits, a selector with nothing), a tap as four events, an LED
 * reaching the simulation. Vsock: the CID; a stream to the echo port carries 8 KiB each way through
 * a 256-byte device buffer, the writer stopping at the host's credit and asking for more; a port
 * nobody serves is reset; what the host sends beyond our credit, with the wrong CID or to another
 * port is refused, and our stream is reset for the first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vioport/byteorder.h"
#include "vioport/console.h"
#include "vioport/errno.h"
#include "vioport/input.h"
#include "vioport/sim_console.h"
#include "vioport/sim_input.h"
#include "vioport/sim_vsock.h"
#include "vioport/vmsg.h"
#include "vioport/vmsg_dev.h"
#include "vioport/vmsg_drv.h"
#include "vioport/vmsg_drv_dev.h"
#include "vioport/vmsg_shm.h"
#include "vioport/vsock.h"

#define WIN_SIZE  0x40000u
#define QSIZE	  8u
#define MAP_WORDS 128u
#define CONSOLE	  0
#define INPUT	  1
#define VSOCK	  2
#define CID	  5u
#define NCONN	  4u
#define VS_BUF	  256u
#define RX_SIZE	  (VIO_VSOCK_HDR_SIZE + 512u)

static struct {
	_Alignas(64) uint8_t win[WIN_SIZE];
	struct vio_vmsg_shm dshm, vshm;
	struct vio_window w;
	struct vio_winmap map;
	struct vio_vmsg_dev_bus bus;
	struct vio_vmsg_dev_bus_ops bops;
	struct vio_sim_console con_sim;
	struct vio_sim_console_port con_sim_ports[1];
	struct vio_console con;
	struct vio_console_port con_ports[1];
	struct vio_queue con_q[2];
	struct vio_sim_input in_sim;
	struct vio_input in;
	struct vio_input_event backlog[64];
	struct vio_queue in_q[2];
	struct vio_sim_vsock vs_sim;
	struct vio_sim_vsock_conn vs_sim_conns[NCONN];
	struct vio_vsock vs;
	struct vio_vsock_conn vs_conns[NCONN];
	uint8_t vs_bufs[NCONN * VS_BUF];
	struct vio_queue vs_q[3];
	/* driver side */
	uint64_t clock;
	struct vio_vmsg_drv_shm bind;
	struct vio_vmsg_drv drv;
	uint32_t amap[MAP_WORDS];
	struct vio_vmsg_drv_dev d[3];
	struct vio_vmsg_drv_vq vq[3][3];
} F;

static int dev_send(void *ctx, const void *msg, uint32_t len)
{
	(void) ctx;
	return vio_vmsg_shm_send(&F.vshm, msg, len);
}

static void os_wait(void *ctx, uint32_t timeout_us)
{
	uint8_t msg[VIO_VMSG_MAX_SIZE];
	int n;

	(void) ctx;
	while ((n = vio_vmsg_shm_recv(&F.vshm, msg, sizeof(msg))) > 0)
		vio_vmsg_dev_bus_handle(&F.bus, msg, (uint32_t) n);
	assert_true(n == 0);
	F.clock += timeout_us < 10u ? timeout_us : 10u;
}

static uint64_t os_now(void *ctx)
{
	(void) ctx;
	return F.clock;
}

static int setup(void **state)
{
	(void) state;
	memset(&F, 0, sizeof(F));
	assert_int_equal(vio_vmsg_shm_format(&F.dshm, F.win, WIN_SIZE, 0, 1), 0);
	assert_int_equal(vio_vmsg_shm_attach(&F.vshm, F.win, WIN_SIZE), 0);
	vio_winmap_init(&F.map, &F.w, 1);
	assert_int_equal(vio_winmap_add(&F.map, F.vshm.area_off, F.vshm.area_size,
					F.win + F.vshm.area_off, VIO_ACCESS_RW),
			 0);
	F.bops.send = dev_send;
	assert_int_equal(vio_vmsg_dev_bus_init(&F.bus, &F.bops, NULL, &F.map, VIO_VMSG_MAX_SIZE),
			 0);

	vio_sim_console_init(&F.con_sim, F.con_sim_ports, 1, NULL, NULL);
	assert_int_equal(vio_console_init(&F.con, &vio_sim_console_ops, &F.con_sim, 1, F.con_ports,
					  F.con_q, QSIZE, 0),
			 0);
	vio_sim_console_attach(&F.con_sim, &F.con);
	assert_int_equal(vio_vmsg_dev_bus_add(&F.bus, &F.con.dev), CONSOLE);

	vio_sim_input_init_keyboard(&F.in_sim);
	assert_int_equal(
	    vio_input_init(&F.in, &vio_sim_input_ops, &F.in_sim, F.backlog, 64, F.in_q, QSIZE, 0),
	    0);
	vio_sim_input_attach(&F.in_sim, &F.in);
	assert_int_equal(vio_vmsg_dev_bus_add(&F.bus, &F.in.dev), INPUT);

	vio_sim_vsock_init(&F.vs_sim, F.vs_sim_conns, NCONN, 7, 9);
	assert_int_equal(vio_vsock_init(&F.vs, &vio_sim_vsock_ops, &F.vs_sim, CID, F.vs_conns,
					NCONN, F.vs_bufs, VS_BUF, F.vs_q, QSIZE,
					VIO_BIT(VIO_VSOCK_F_STREAM)),
			 0);
	vio_sim_vsock_attach(&F.vs_sim, &F.vs);
	assert_int_equal(vio_vmsg_dev_bus_add(&F.bus, &F.vs.dev), VSOCK);

	F.bind.shm = &F.dshm;
	F.bind.wait = os_wait;
	F.bind.now_us = os_now;
	assert_int_equal(vio_vmsg_drv_init_shm(&F.drv, &F.bind, F.amap, MAP_WORDS), 0);
	return 0;
}

static struct vio_vmsg_drv_dev *dev_up(unsigned n, uint16_t nvqs, uint64_t want)
{
	struct vio_vmsg_drv_dev *d = &F.d[n];

	assert_int_equal(vio_vmsg_drv_dev_init(d, &F.drv, (uint16_t) n, F.vq[n], nvqs), 0);
	assert_int_equal(vio_vmsg_drv_dev_start(d, want | VIO_BIT(VIO_F_VERSION_1)), 0);
	return d;
}

/* --- console --------------------------------------------------------------------------- */

static void console_echo(void **state)
{
	static uint8_t rx[4][64], sent[1000], got[1000];
	struct vio_vmsg_drv_dev *d = dev_up(CONSOLE, 2, 0);
	uint32_t n_sent = 0, n_got = 0, ports;
	uint16_t cols, rows;
	unsigned inflight = 0;

	(void) state;
	assert_int_equal(vio_vmsg_drv_console_config(d, &cols, &rows, &ports), 0);
	assert_int_equal(cols + rows + ports, 0);
	/* SET_CONFIG: the console refuses writes to its size (the answer echoes nothing). */
	assert_int_equal(vio_vmsg_drv_write_config(d, VIO_CONSOLE_CFG_COLS, "\x50\x00", 2),
			 -VIO_EPERM);
	assert_int_equal(vio_vmsg_drv_write_config(d, 0, "", 0), -VIO_EINVAL);
	assert_false(d->broken);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(vio_vmsg_drv_console_rx_post(d, rx[i], sizeof(rx[i])), 0);
	assert_int_equal(vio_vmsg_drv_console_rx_post(d, NULL, 1), -VIO_EINVAL);
	assert_int_equal(vio_vmsg_drv_console_tx_post(d, sent, 0), -VIO_EINVAL);
	for (uint32_t i = 0; i < sizeof(sent); i++)
		sent[i] = (uint8_t) (i * 7u + 3u);
	/* 100-byte writes, up to four in flight: more than the simulation's 256 bytes. */
	for (unsigned rounds = 0; n_got < sizeof(sent) && rounds < 10000; rounds++) {
		void *buf;
		uint32_t len;

		if (n_sent < sizeof(sent) && inflight < 4) {
			assert_int_equal(vio_vmsg_drv_console_tx_post(d, sent + n_sent, 100), 0);
			n_sent += 100;
			inflight++;
		}
		while (vio_vmsg_drv_console_tx_take(d, &buf) == 1)
			inflight--;
		while (vio_vmsg_drv_console_rx_take(d, &buf, &len) == 1) {
			assert_true(len <= 64 && n_got + len <= sizeof(got));
			memcpy(got + n_got, buf, len);
			n_got += len;
			assert_int_equal(vio_vmsg_drv_console_rx_post(d, buf, 64), 0);
		}
		vio_vmsg_drv_wait(&F.drv, 10);
	}
	assert_int_equal(n_got, sizeof(sent));
	assert_memory_equal(got, sent, sizeof(sent));
}

/* --- input ----------------------------------------------------------------------------- */

static void input_config_events_status(void **state)
{
	struct vio_vmsg_drv_dev *d = dev_up(INPUT, 2, 0);
	struct vio_input_event ev;
	uint8_t u[VIO_INPUT_CFG_U_SIZE];
	int n;

	(void) state;
	n = vio_vmsg_drv_input_config(d, VIO_INPUT_CFG_ID_NAME, 0, u, sizeof(u));
	assert_int_equal(n, strlen("vioport keyboard"));
	assert_memory_equal(u, "vioport keyboard", (size_t) n);
	assert_int_equal(vio_vmsg_drv_input_config(d, VIO_INPUT_CFG_ID_DEVIDS, 0, u, sizeof(u)),
			 VIO_INPUT_DEVIDS_SIZE);
	assert_int_equal(vio_get_le16(u), VIO_INPUT_BUS_VIRTUAL);
	n = vio_vmsg_drv_input_config(d, VIO_INPUT_CFG_EV_BITS, VIO_INPUT_EV_KEY, u, sizeof(u));
	assert_true(n > 30 / 8);
	assert_true(u[30 / 8] & (1u << (30 % 8)));
	/* No absolute axes on a keyboard: an empty answer, not an error. */
	assert_int_equal(
	    vio_vmsg_drv_input_config(d, VIO_INPUT_CFG_EV_BITS, VIO_INPUT_EV_ABS, u, sizeof(u)), 0);
	n = vio_vmsg_drv_input_config(d, VIO_INPUT_CFG_ID_NAME, 0, u, 4);
	assert_int_equal(n, -VIO_E2BIG);

	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(vio_vmsg_drv_input_event_post(d), 0);
	assert_int_equal(vio_sim_input_tap(&F.in_sim, 30), 0);
	{
		const struct vio_input_event want[4] = {
		    {VIO_INPUT_EV_KEY, 30, 1},
		    {VIO_INPUT_EV_SYN, VIO_INPUT_SYN_REPORT, 0},
		    {VIO_INPUT_EV_KEY, 30, 0},
		    {VIO_INPUT_EV_SYN, VIO_INPUT_SYN_REPORT, 0},
		};

		for (unsigned i = 0; i < 4; i++) {
			assert_int_equal(vio_vmsg_drv_input_event_wait(d, &ev, 1000), 1);
			assert_int_equal(ev.type, want[i].type);
			assert_int_equal(ev.code, want[i].code);
			assert_int_equal(ev.value, want[i].value);
		}
	}
	assert_int_equal(vio_vmsg_drv_input_event_wait(d, &ev, 100), -VIO_ETIMEDOUT);
	assert_int_equal(vio_vmsg_drv_input_status(d, VIO_INPUT_EV_LED, VIO_INPUT_LED_CAPSL, 1), 0);
	assert_int_equal(F.in.status_events, 1);
}

/* --- vsock ----------------------------------------------------------------------------- */

static uint8_t vs_rx[4][RX_SIZE];

static struct vio_vmsg_drv_dev *vsock_up(struct vio_vmsg_drv_vsock *vs, uint32_t buf_alloc)
{
	struct vio_vmsg_drv_dev *d = dev_up(VSOCK, 2, VIO_BIT(VIO_VSOCK_F_STREAM));

	assert_int_equal(vio_vmsg_drv_vsock_init(vs, d, buf_alloc), 0);
	assert_int_equal(vs->cid, CID);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(vio_vmsg_drv_vsock_rx_post(d, vs_rx[i], RX_SIZE), 0);
	return d;
}

/* Takes and handles one packet from the device; its VIO_VMSG_DRV_VSOCK_ code. */
static int vsock_next(struct vio_vmsg_drv_vsock *vs, uint8_t *data, uint32_t *got)
{
	const uint8_t *p;
	uint32_t len, dlen;
	void *buf;
	int rc;

	assert_int_equal(vio_vmsg_drv_wait_used(vs->d, VIO_VSOCK_RXQ, &buf, &len, 1000), 1);
	rc = vio_vmsg_drv_vsock_rx(vs, buf, len, &p, &dlen);
	if (rc == VIO_VMSG_DRV_VSOCK_DATA) {
		memcpy(data + *got, p, dlen);
		*got += dlen;
		assert_int_equal(vio_vmsg_drv_vsock_consumed(vs, dlen), 0);
	}
	assert_int_equal(vio_vmsg_drv_vsock_rx_post(vs->d, buf, RX_SIZE), 0);
	return rc;
}

static void vsock_echo_with_credit(void **state)
{
	static uint8_t sent[8192], got[8192];
	struct vio_vmsg_drv_vsock vs;
	uint32_t n_sent = 0, n_got = 0, stalls = 0;

	(void) state;
	vsock_up(&vs, 1024);
	assert_int_equal(vio_vmsg_drv_vsock_write(&vs, "x", 1), -VIO_ECONNRESET);
	assert_int_equal(vio_vmsg_drv_vsock_connect(&vs, 1234, 7), 0);
	assert_int_equal(vsock_next(&vs, got, &n_got), VIO_VMSG_DRV_VSOCK_CONNECTED);
	assert_int_equal(vs.state, VIO_VMSG_DRV_VSOCK_ESTABLISHED);
	assert_int_equal(vs.peer_buf_alloc, VS_BUF);
	for (uint32_t i = 0; i < sizeof(sent); i++)
		sent[i] = (uint8_t) (i * 31u + 5u);
	/* Until the host's answers are read, its 256 bytes are all the credit there is. */
	assert_int_equal(vio_vmsg_drv_vsock_write(&vs, sent, sizeof(sent)), VS_BUF);
	assert_int_equal(vio_vmsg_drv_vsock_credit(&vs), 0);
	assert_int_equal(vio_vmsg_drv_vsock_write(&vs, sent + VS_BUF, sizeof(sent) - VS_BUF), 0);
	assert_true(vs.credit_asked);
	n_sent = VS_BUF;
	while (n_got < sizeof(sent)) {
		void *buf;
		uint32_t len;

		if (n_sent < sizeof(sent)) {
			int n = vio_vmsg_drv_vsock_write(&vs, sent + n_sent,
							 (uint32_t) sizeof(sent) - n_sent);

			assert_true(n >= 0);
			/* Never beyond the host's buffer. */
			assert_true(vs.tx_cnt - vs.peer_fwd_cnt <= VS_BUF);
			stalls += n == 0;
			n_sent += (uint32_t) n;
		}
		assert_true(stalls < 100000);
		while (vio_vmsg_drv_get_used(vs.d, VIO_VSOCK_RXQ, &buf, &len) == 1) {
			const uint8_t *p;
			uint32_t dlen;
			int rc = vio_vmsg_drv_vsock_rx(&vs, buf, len, &p, &dlen);

			assert_true(rc >= 0);
			if (rc == VIO_VMSG_DRV_VSOCK_DATA) {
				assert_true(n_got + dlen <= sizeof(got));
				memcpy(got + n_got, p, dlen);
				n_got += dlen;
				assert_int_equal(vio_vmsg_drv_vsock_consumed(&vs, dlen), 0);
			}
			assert_int_equal(vio_vmsg_drv_vsock_rx_post(vs.d, buf, RX_SIZE), 0);
		}
		vio_vmsg_drv_wait(&F.drv, 10);
	}
	assert_memory_equal(got, sent, sizeof(sent));
	assert_int_equal(vs.fwd_cnt, sizeof(sent));
	/* Every byte was taken by the host end: a shutdown loses nothing. */
	while (vio_vmsg_drv_vsock_drained(&vs) == 0) {
		void *buf;
		uint32_t len;
		const uint8_t *p;
		uint32_t dlen;

		assert_int_equal(vio_vmsg_drv_wait_used(vs.d, VIO_VSOCK_RXQ, &buf, &len, 1000), 1);
		assert_int_equal(vio_vmsg_drv_vsock_rx(&vs, buf, len, &p, &dlen),
				 VIO_VMSG_DRV_VSOCK_CREDIT);
		assert_int_equal(vio_vmsg_drv_vsock_rx_post(vs.d, buf, RX_SIZE), 0);
	}
	assert_int_equal(vio_vmsg_drv_vsock_shutdown(&vs, VIO_VSOCK_SHUTDOWN_BOTH), 0);
	assert_int_equal(vsock_next(&vs, got, &n_got), VIO_VMSG_DRV_VSOCK_RESET);
	assert_int_equal(vs.state, VIO_VMSG_DRV_VSOCK_CLOSED);
}

static void vsock_refused(void **state)
{
	struct vio_vmsg_drv_vsock vs;
	uint8_t scratch[8];
	uint32_t n = 0;

	(void) state;
	vsock_up(&vs, 1024);
	assert_int_equal(vio_vmsg_drv_vsock_connect(&vs, 1234, 4444), 0);
	assert_int_equal(vsock_next(&vs, scratch, &n), VIO_VMSG_DRV_VSOCK_RESET);
	assert_int_equal(vs.state, VIO_VMSG_DRV_VSOCK_CLOSED);
	assert_int_equal(vio_vmsg_drv_vsock_connect(&vs, 1234, 7), -VIO_EINVAL);
}

/* A packet from the host to us, as the device would write it. */
static void pkt(uint8_t *p, uint64_t src_cid, uint64_t dst_cid, uint32_t src_port,
		uint32_t dst_port, uint16_t op, uint32_t len)
{
	memset(p, 0, VIO_VSOCK_HDR_SIZE);
	vio_put_le64(p + VIO_VSOCK_HDR_SRC_CID, src_cid);
	vio_put_le64(p + VIO_VSOCK_HDR_DST_CID, dst_cid);
	vio_put_le32(p + VIO_VSOCK_HDR_SRC_PORT, src_port);
	vio_put_le32(p + VIO_VSOCK_HDR_DST_PORT, dst_port);
	vio_put_le32(p + VIO_VSOCK_HDR_LEN, len);
	vio_put_le16(p + VIO_VSOCK_HDR_TYPE, VIO_VSOCK_TYPE_STREAM);
	vio_put_le16(p + VIO_VSOCK_HDR_OP, op);
	vio_put_le32(p + VIO_VSOCK_HDR_BUF_ALLOC, 4096);
}

static void vsock_hostile_host(void **state)
{
	static uint8_t p[VIO_VSOCK_HDR_SIZE + 512];
	struct vio_vmsg_drv_vsock vs;
	const uint8_t *data;
	uint32_t dlen, n = 0;
	uint8_t scratch[8];

	(void) state;
	vsock_up(&vs, 256);
	assert_int_equal(vio_vmsg_drv_vsock_connect(&vs, 1234, 7), 0);
	assert_int_equal(vsock_next(&vs, scratch, &n), VIO_VMSG_DRV_VSOCK_CONNECTED);
	/* Shorter than a header, a length beyond the packet, a wrong CID: refused. */
	assert_int_equal(vio_vmsg_drv_vsock_rx(&vs, p, 10, &data, &dlen), -VIO_EPROTO);
	pkt(p, VIO_VSOCK_HOST_CID, CID, 7, 1234, VIO_VSOCK_OP_RW, 100);
	assert_int_equal(vio_vmsg_drv_vsock_rx(&vs, p, VIO_VSOCK_HDR_SIZE + 99, &data, &dlen),
			 -VIO_EPROTO);
	pkt(p, VIO_VSOCK_HOST_CID, CID + 1, 7, 1234, VIO_VSOCK_OP_RW, 1);
	assert_int_equal(vio_vmsg_drv_vsock_rx(&vs, p, VIO_VSOCK_HDR_SIZE + 1, &data, &dlen),
			 -VIO_EPROTO);
	/* Another port of ours: not the stream; answered with an RST, the stream goes on. */
	pkt(p, VIO_VSOCK_HOST_CID, CID, 7, 999, VIO_VSOCK_OP_RW, 1);
	assert_int_equal(vio_vmsg_drv_vsock_rx(&vs, p, VIO_VSOCK_HDR_SIZE + 1, &data, &dlen),
			 VIO_VMSG_DRV_VSOCK_OTHER);
	assert_int_equal(vs.state, VIO_VMSG_DRV_VSOCK_ESTABLISHED);
	/* Within the credit: data. */
	pkt(p, VIO_VSOCK_HOST_CID, CID, 7, 1234, VIO_VSOCK_OP_RW, 200);
	assert_int_equal(vio_vmsg_drv_vsock_rx(&vs, p, VIO_VSOCK_HDR_SIZE + 200, &data, &dlen),
			 VIO_VMSG_DRV_VSOCK_DATA);
	assert_int_equal(dlen, 200);
	assert_ptr_equal(data, p + VIO_VSOCK_HDR_SIZE);
	assert_int_equal(vs.peer_buf_alloc, 4096);
	/* 200 unconsumed of 256: 100 more is beyond our credit, and the stream is reset. */
	pkt(p, VIO_VSOCK_HOST_CID, CID, 7, 1234, VIO_VSOCK_OP_RW, 100);
	assert_int_equal(vio_vmsg_drv_vsock_rx(&vs, p, VIO_VSOCK_HDR_SIZE + 100, &data, &dlen),
			 -VIO_EPROTO);
	assert_int_equal(vs.state, VIO_VMSG_DRV_VSOCK_CLOSED);
	assert_int_equal(vio_vmsg_drv_vsock_write(&vs, "x", 1), -VIO_ECONNRESET);
}

static void vsock_listen(void **state)
{
	struct vio_vmsg_drv_vsock vs;
	uint8_t got[64];
	uint32_t n = 0;
	int slot;

	(void) state;
	vsock_up(&vs, 1024);
	assert_int_equal(vio_vmsg_drv_vsock_listen(&vs, 8000), 0);
	/* A host connection to another guest port is refused; then one to ours is taken. */
	assert_true(vio_sim_vsock_connect(&F.vs_sim, 8001, VIO_SIM_VSOCK_ECHO) >= 0);
	assert_int_equal(vsock_next(&vs, got, &n), VIO_VMSG_DRV_VSOCK_OTHER);
	assert_int_equal(vs.state, VIO_VMSG_DRV_VSOCK_LISTENING);
	slot = vio_sim_vsock_connect(&F.vs_sim, 8000, VIO_SIM_VSOCK_ECHO);
	assert_true(slot >= 0);
	assert_int_equal(vsock_next(&vs, got, &n), VIO_VMSG_DRV_VSOCK_ACCEPTED);
	assert_int_equal(vs.state, VIO_VMSG_DRV_VSOCK_ESTABLISHED);
	assert_int_equal(vs.peer_port, F.vs.conns[slot].host_port);
	/* The host end echoes: our bytes come back. */
	assert_int_equal(vio_vmsg_drv_vsock_write(&vs, "ping", 4), 4);
	while (n < 4) {
		int rc = vsock_next(&vs, got, &n);

		assert_true(rc == VIO_VMSG_DRV_VSOCK_DATA || rc == VIO_VMSG_DRV_VSOCK_CREDIT);
	}
	assert_memory_equal(got, "ping", 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(console_echo, setup),
	    cmocka_unit_test_setup(input_config_events_status, setup),
	    cmocka_unit_test_setup(vsock_echo_with_credit, setup),
	    cmocka_unit_test_setup(vsock_refused, setup),
	    cmocka_unit_test_setup(vsock_hostile_host, setup),
	    cmocka_unit_test_setup(vsock_listen, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
