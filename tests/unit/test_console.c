/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-console device over the simulated ports: config and features, data
 * both ways on port 0, backpressure (transmit buffers held until the host
 * makes room, host bytes held until the driver gives receive buffers),
 * emergency write, the multiport control protocol as Linux drives it, hostile
 * buffers and control messages, and reset. Driven through the loopback
 * transport and the driver-side queue.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h> /* after the headers it needs */

#include "vioport/byteorder.h"
#include "vioport/console.h"
#include "vioport/errno.h"
#include "vioport/loopback.h"
#include "vioport/sim_console.h"

#define ARENA_SIZE (512u * 1024u)
#define BUS_BASE   0x10000ull
#define QSIZE	   16u
#define MAXPORTS   3u
#define NQ	   (2u * MAXPORTS + 2u)
#define UNTOUCHED  0xeeu
#define F_SIZE	   VIO_BIT(VIO_CONSOLE_F_SIZE)
#define F_MP	   VIO_BIT(VIO_CONSOLE_F_MULTIPORT)
#define F_EMERG	   VIO_BIT(VIO_CONSOLE_F_EMERG_WRITE)
#define ALL	   (F_SIZE | F_MP | F_EMERG)

static struct {
	_Alignas(16) uint8_t arena[ARENA_SIZE];
	struct vio_sim_console sim;
	struct vio_sim_console_port sim_ports[MAXPORTS];
	struct vio_console con;
	struct vio_console_port ports[MAXPORTS];
	struct vio_queue queues[NQ];
	struct vio_loopback lb;
	struct vio_drvq dq[NQ];
	struct vio_drvq_slot slots[NQ][QSIZE];
	struct vio_console_ops ops;
	uint32_t nports;
} F;

static const uint8_t kinds_line[MAXPORTS] = {VIO_SIM_CONSOLE_LINE, VIO_SIM_CONSOLE_LINE,
					     VIO_SIM_CONSOLE_ECHO};
static const uint8_t kinds_echo[MAXPORTS] = {VIO_SIM_CONSOLE_ECHO, VIO_SIM_CONSOLE_LINE,
					     VIO_SIM_CONSOLE_ECHO};
static const char *const names[MAXPORTS] = {NULL, "org.vioport.line", "org.vioport.echo"};

static int fixture(void **state)
{
	(void) state;
	memset(&F, 0, sizeof(F));
	F.ops = vio_sim_console_ops;
	return 0;
}

/* Sets the device up without a driver: init, attach, the loopback. */
static void make(uint64_t offer, uint32_t nports, const uint8_t *kinds)
{
	F.nports = nports;
	vio_sim_console_init(&F.sim, F.sim_ports, nports, kinds, names);
	assert_int_equal(
	    vio_console_init(&F.con, &F.ops, &F.sim, nports, F.ports, F.queues, QSIZE, offer), 0);
	vio_sim_console_attach(&F.sim, &F.con);
	assert_int_equal(vio_loopback_init(&F.lb, &F.con.dev, F.arena, sizeof(F.arena), BUS_BASE),
			 0);
}

/* Negotiates want and sets up every queue the features call for. */
static void drive(uint64_t want)
{
	uint16_t nq;

	assert_int_equal(vio_loopback_negotiate(&F.lb, want), 0);
	nq = vio_console_num_queues(F.nports, vio_device_has(&F.con.dev, VIO_CONSOLE_F_MULTIPORT));
	for (uint16_t q = 0; q < nq; q++)
		assert_int_equal(vio_loopback_queue(&F.lb, q, QSIZE, &F.dq[q], F.slots[q]), 0);
	assert_int_equal(vio_loopback_driver_ok(&F.lb), 0);
}

static void start_with(uint64_t offer, uint64_t want, uint32_t nports, const uint8_t *kinds)
{
	make(offer, nports, kinds);
	drive(want);
}

static uint8_t *alloc(uint32_t len)
{
	uint8_t *p = vio_loopback_alloc(&F.lb, len ? len : 1, NULL);

	assert_non_null(p);
	memset(p, UNTOUCHED, len ? len : 1);
	return p;
}

static struct vio_buf buf(const void *p, uint32_t len)
{
	struct vio_buf b = {vio_loopback_bus(&F.lb, p), len};

	return b;
}

/* Queues a transmit buffer holding data on queue q and kicks; returns the token. */
static void *send_on(uint16_t q, const void *data, uint32_t len)
{
	uint8_t *p = alloc(len);
	struct vio_buf o = buf(p, len);

	memcpy(p, data, len);
	assert_true(vio_drvq_add(&F.dq[q], &o, 1, NULL, 0, p) >= 0);
	vio_loopback_kick(&F.lb, q);
	return p;
}

static void *tx(uint32_t port, const char *s)
{
	return send_on((uint16_t) VIO_CONSOLE_TXQ(port), s, (uint32_t) strlen(s));
}

/* Queues an empty receive buffer of len bytes on queue q and kicks. */
static uint8_t *post_on(uint16_t q, uint32_t len)
{
	uint8_t *p = alloc(len);
	struct vio_buf i = buf(p, len);

	assert_true(vio_drvq_add(&F.dq[q], NULL, 0, &i, 1, p) >= 0);
	vio_loopback_kick(&F.lb, q);
	return p;
}

static uint8_t *rx_post(uint32_t port, uint32_t len)
{
	return post_on((uint16_t) VIO_CONSOLE_RXQ(port), len);
}

/* Takes the next used entry of q: 1 with its token and length, or 0. */
static int used(uint16_t q, void **token, uint32_t *len)
{
	int rc = vio_drvq_get_used(&F.dq[q], token, len);

	assert_true(rc == 0 || rc == 1);
	return rc;
}

/* Expects the transmit buffer token back with length 0, and nothing after it. */
static void tx_expect_done(uint32_t port, const void *token)
{
	void *t;
	uint32_t len;

	assert_int_equal(used((uint16_t) VIO_CONSOLE_TXQ(port), &t, &len), 1);
	assert_ptr_equal(t, token);
	assert_int_equal(len, 0);
	assert_int_equal(used((uint16_t) VIO_CONSOLE_TXQ(port), &t, &len), 0);
}

static void expect_none(uint16_t q)
{
	void *t;
	uint32_t len;

	assert_int_equal(used(q, &t, &len), 0);
}

/* Expects the receive buffer p back holding exactly s. */
static void rx_expect(uint32_t port, const uint8_t *p, const char *s)
{
	void *t;
	uint32_t len;

	assert_int_equal(used((uint16_t) VIO_CONSOLE_RXQ(port), &t, &len), 1);
	assert_ptr_equal(t, p);
	assert_int_equal(len, strlen(s));
	assert_memory_equal(p, s, len);
}

static void host_read(uint32_t port, const char *s)
{
	char got[VIO_SIM_CONSOLE_BUF];
	int n = vio_sim_console_read(&F.sim, port, got, sizeof(got));

	assert_int_equal(n, strlen(s));
	assert_memory_equal(got, s, (size_t) n);
}

/* ---- control queue helpers ---- */

static void ctrl_send_raw(const void *msg, uint32_t len)
{
	void *t;
	uint32_t ulen;
	void *token = send_on(VIO_CONSOLE_CTXQ, msg, len);

	/* Linux waits for each control message to come back before going on */
	assert_int_equal(used(VIO_CONSOLE_CTXQ, &t, &ulen), 1);
	assert_ptr_equal(t, token);
	assert_int_equal(ulen, 0);
}

static void ctrl_send(uint32_t id, uint16_t event, uint16_t value)
{
	uint8_t m[VIO_CONSOLE_CTRL_SIZE];

	vio_put_le32(m, id);
	vio_put_le16(m + 4, event);
	vio_put_le16(m + 6, value);
	ctrl_send_raw(m, sizeof(m));
}

static void ctrl_post(unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		post_on(VIO_CONSOLE_CRXQ, 128);
}

/* Expects the next control message, with extra bytes after the header. */
static void ctrl_expect_x(uint32_t id, uint16_t event, uint16_t value, const void *extra,
			  uint32_t xlen)
{
	void *t;
	uint32_t len;
	const uint8_t *m;

	assert_int_equal(used(VIO_CONSOLE_CRXQ, &t, &len), 1);
	m = t;
	assert_int_equal(len, VIO_CONSOLE_CTRL_SIZE + xlen);
	assert_int_equal(vio_get_le32(m), id);
	assert_int_equal(vio_get_le16(m + 4), event);
	assert_int_equal(vio_get_le16(m + 6), value);
	if (xlen != 0)
		assert_memory_equal(m + VIO_CONSOLE_CTRL_SIZE, extra, xlen);
}

static void ctrl_expect(uint32_t id, uint16_t event, uint16_t value)
{
	ctrl_expect_x(id, event, value, NULL, 0);
}

/* Brings a multiport driver to where Linux is after probe: every port added and ready. */
static void mp_ready(const uint8_t *kinds)
{
	start_with(ALL, ~0ull, MAXPORTS, kinds);
	ctrl_post(12);
	ctrl_send(VIO_CONSOLE_BAD_ID, VIO_CONSOLE_DEVICE_READY, 1);
	for (uint32_t p = 0; p < MAXPORTS; p++)
		ctrl_expect(p, VIO_CONSOLE_PORT_ADD, 1);
	expect_none(VIO_CONSOLE_CRXQ);
	ctrl_send(0, VIO_CONSOLE_PORT_READY, 1);
	ctrl_expect(0, VIO_CONSOLE_CONSOLE_PORT, 1);
	ctrl_expect(0, VIO_CONSOLE_PORT_OPEN, 1);
	ctrl_send(1, VIO_CONSOLE_PORT_READY, 1);
	ctrl_expect_x(1, VIO_CONSOLE_PORT_NAME, 1, "org.vioport.line", 17);
	ctrl_expect(1, VIO_CONSOLE_PORT_OPEN, 1);
	ctrl_send(2, VIO_CONSOLE_PORT_READY, 1);
	ctrl_expect_x(2, VIO_CONSOLE_PORT_NAME, 1, "org.vioport.echo", 17);
	ctrl_expect(2, VIO_CONSOLE_PORT_OPEN, 1);
	expect_none(VIO_CONSOLE_CRXQ);
	assert_int_equal(F.con.bad, 0);
}

/* ---- config and identity ---- */

static void config_and_identity(void **state)
{
	uint8_t cfg[VIO_CONSOLE_CONFIG_SIZE];

	(void) state;
	make(ALL, MAXPORTS, NULL);
	assert_int_equal(F.con.dev.device_id, 3);
	assert_int_equal(F.con.dev.num_queues, 8);
	assert_true((F.con.dev.host_features & ALL) == ALL);
	assert_int_equal(vio_device_read_config(&F.con.dev, 0, cfg, sizeof(cfg)), 0);
	assert_int_equal(vio_get_le16(cfg + VIO_CONSOLE_CFG_COLS), 0);
	assert_int_equal(vio_get_le16(cfg + VIO_CONSOLE_CFG_ROWS), 0);
	assert_int_equal(vio_get_le32(cfg + VIO_CONSOLE_CFG_MAX_NR_PORTS), MAXPORTS);
	assert_int_equal(vio_get_le32(cfg + VIO_CONSOLE_CFG_EMERG_WR), 0);
	assert_int_equal(vio_device_read_config(&F.con.dev, 8, cfg, 5), -VIO_ERANGE);
	/* the read-only fields refuse writes */
	assert_int_equal(vio_device_write_config(&F.con.dev, 0, cfg, 2), -VIO_EPERM);
	assert_int_equal(vio_device_write_config(&F.con.dev, 4, cfg, 4), -VIO_EPERM);
}

static void single_port_offers_two_queues(void **state)
{
	uint8_t cfg[VIO_CONSOLE_CONFIG_SIZE];

	(void) state;
	make(0, 1, NULL);
	assert_int_equal(F.con.dev.num_queues, 2);
	assert_int_equal(F.con.dev.host_features & ALL, 0);
	assert_int_equal(vio_device_read_config(&F.con.dev, 0, cfg, sizeof(cfg)), 0);
	assert_int_equal(vio_get_le32(cfg + VIO_CONSOLE_CFG_MAX_NR_PORTS), 0);
	assert_int_equal(vio_console_set_size(&F.con, 80, 25), -VIO_ENOTSUP);
	cfg[0] = 'x';
	assert_int_equal(vio_device_write_config(&F.con.dev, 8, cfg, 4), -VIO_EPERM);
	assert_int_equal(F.con.emerg, 0);
}

static void init_rejects_bad_arguments(void **state)
{
	struct vio_console_ops no_emerg = vio_sim_console_ops, no_rx = vio_sim_console_ops;

	(void) state;
	no_emerg.emerg_write = NULL;
	no_rx.rx = NULL;
	assert_int_equal(vio_console_init(&F.con, &F.ops, &F.sim, 0, F.ports, F.queues, QSIZE, 0),
			 -VIO_EINVAL);
	/* more than one port needs multiport */
	assert_int_equal(vio_console_init(&F.con, &F.ops, &F.sim, 2, F.ports, F.queues, QSIZE, 0),
			 -VIO_EINVAL);
	assert_int_equal(vio_console_init(&F.con, &F.ops, &F.sim, VIO_CONSOLE_MAX_PORTS + 1,
					  F.ports, F.queues, QSIZE, F_MP),
			 -VIO_EINVAL);
	assert_int_equal(
	    vio_console_init(&F.con, &no_emerg, &F.sim, 1, F.ports, F.queues, QSIZE, F_EMERG),
	    -VIO_EINVAL);
	assert_int_equal(vio_console_init(&F.con, &no_rx, &F.sim, 1, F.ports, F.queues, QSIZE, 0),
			 -VIO_EINVAL);
	assert_int_equal(
	    vio_console_init(&F.con, &F.ops, &F.sim, 1, F.ports, F.queues, QSIZE, VIO_BIT(3)),
	    -VIO_EINVAL);
	assert_int_equal(vio_console_init(&F.con, &F.ops, &F.sim, 1, F.ports, F.queues, 0, 0),
			 -VIO_EINVAL);
	assert_int_equal(vio_console_init(&F.con, &F.ops, &F.sim, 1, NULL, F.queues, QSIZE, 0),
			 -VIO_EINVAL);
	assert_int_equal(vio_console_init(&F.con, NULL, &F.sim, 1, F.ports, F.queues, QSIZE, 0),
			 -VIO_EINVAL);
	/* without emerg_write the rest is fine */
	assert_int_equal(
	    vio_console_init(&F.con, &no_emerg, &F.sim, 1, F.ports, F.queues, QSIZE, F_SIZE), 0);
}

static void bad_ports_refused(void **state)
{
	char b[4];

	(void) state;
	start_with(0, ~0ull, 1, kinds_line);
	assert_int_equal(vio_console_rx_wake(&F.con, 1), -VIO_EINVAL);
	assert_int_equal(vio_console_tx_wake(&F.con, 1), -VIO_EINVAL);
	assert_int_equal(vio_console_host_open(&F.con, 1, false), -VIO_EINVAL);
	assert_int_equal(vio_sim_console_write(&F.sim, 1, "x", 1), -VIO_EINVAL);
	assert_int_equal(vio_sim_console_read(&F.sim, 1, b, sizeof(b)), -VIO_EINVAL);
	assert_int_equal(vio_sim_console_read_line(&F.sim, 1, b, sizeof(b)), -VIO_EINVAL);
}

/* ---- port 0 data ---- */

static void tx_reaches_host(void **state)
{
	char line[32];
	void *t;

	(void) state;
	start_with(ALL, ~F_MP, 1, kinds_line);
	assert_true(F.sim_ports[0].open); /* without multiport port 0 opens at DRIVER_OK */
	assert_int_equal(F.sim_ports[0].opens, 1);
	t = tx(0, "hello ");
	tx_expect_done(0, t);
	t = tx(0, "world\nmore");
	tx_expect_done(0, t);
	assert_int_equal(vio_sim_console_read_line(&F.sim, 0, line, sizeof(line)), 12);
	assert_memory_equal(line, "hello world\n", 12);
	assert_int_equal(vio_sim_console_read_line(&F.sim, 0, line, sizeof(line)), 0);
	host_read(0, "more");
	assert_int_equal(F.ports[0].tx_bytes, 16);
}

static void tx_multi_segment_in_order(void **state)
{
	uint8_t *a, *b;
	struct vio_buf o[2];

	(void) state;
	start_with(0, ~0ull, 1, kinds_line);
	a = alloc(3);
	b = alloc(4);
	memcpy(a, "abc", 3);
	memcpy(b, "defg", 4);
	o[0] = buf(a, 3);
	o[1] = buf(b, 4);
	assert_true(vio_drvq_add(&F.dq[1], o, 2, NULL, 0, a) >= 0);
	vio_loopback_kick(&F.lb, 1);
	tx_expect_done(0, a);
	host_read(0, "abcdefg");
}

static void rx_from_host(void **state)
{
	uint8_t *p;

	(void) state;
	start_with(0, ~0ull, 1, kinds_line);
	p = rx_post(0, 64);
	expect_none(VIO_CONSOLE_RXQ0); /* an empty buffer is held, not returned */
	assert_int_equal(vio_sim_console_write(&F.sim, 0, "ls\n", 3), 3);
	rx_expect(0, p, "ls\n");
	assert_int_equal(F.ports[0].rx_bytes, 3);
	expect_none(VIO_CONSOLE_RXQ0);
}

static void rx_zero_length_segment_skipped(void **state)
{
	uint8_t *a, *b;
	struct vio_buf in[2];
	void *t;
	uint32_t len;

	(void) state;
	start_with(0, ~0ull, 1, kinds_line);
	a = alloc(1);
	b = alloc(8);
	in[0] = buf(a, 0);
	in[1] = buf(b, 8);
	assert_int_equal(vio_sim_console_write(&F.sim, 0, "xyz", 3), 3);
	assert_true(vio_drvq_add(&F.dq[0], NULL, 0, in, 2, b) >= 0);
	vio_loopback_kick(&F.lb, 0);
	/* an empty segment first does not make the provider look dry */
	assert_int_equal(used(VIO_CONSOLE_RXQ0, &t, &len), 1);
	assert_ptr_equal(t, b);
	assert_int_equal(len, 3);
	assert_memory_equal(b, "xyz", 3);
}

static void rx_waits_for_buffers(void **state)
{
	uint8_t *p[4];
	char big[200];

	(void) state;
	start_with(0, ~0ull, 1, kinds_line);
	for (unsigned i = 0; i < sizeof(big); i++)
		big[i] = (char) ('a' + i % 26);
	/* no receive buffer yet: nothing is lost, the bytes wait */
	assert_int_equal(vio_sim_console_write(&F.sim, 0, big, sizeof(big)), sizeof(big));
	assert_int_equal(vio_console_rx_wake(&F.con, 0), 0);
	assert_int_equal(F.sim_ports[0].to_driver.len, sizeof(big));
	for (unsigned i = 0; i < 4; i++)
		p[i] = rx_post(0, 64);
	for (unsigned i = 0; i < 4; i++) {
		void *t;
		uint32_t len;

		assert_int_equal(used(VIO_CONSOLE_RXQ0, &t, &len), 1);
		assert_ptr_equal(t, p[i]);
		assert_int_equal(len, i < 3 ? 64 : 8);
		assert_memory_equal(p[i], big + 64 * i, len);
	}
	expect_none(VIO_CONSOLE_RXQ0);
	/* one more buffer: held, and the provider is dry */
	rx_post(0, 64);
	assert_int_equal(vio_console_rx_wake(&F.con, 0), 1);
}

static void rx_buffer_with_readable_part_refused(void **state)
{
	uint8_t *o, *i, *good;
	struct vio_buf ob, ib;
	void *t;
	uint32_t len;

	(void) state;
	start_with(0, ~0ull, 1, kinds_line);
	o = alloc(4);
	i = alloc(16);
	ob = buf(o, 4);
	ib = buf(i, 16);
	assert_int_equal(vio_sim_console_write(&F.sim, 0, "data", 4), 4);
	assert_true(vio_drvq_add(&F.dq[0], &ob, 1, &ib, 1, o) >= 0);
	vio_loopback_kick(&F.lb, 0);
	assert_int_equal(used(VIO_CONSOLE_RXQ0, &t, &len), 1);
	assert_ptr_equal(t, o);
	assert_int_equal(len, 0);
	assert_int_equal(i[0], UNTOUCHED);
	assert_int_equal(F.con.bad, 1);
	/* the data is still there for a proper buffer */
	good = rx_post(0, 16);
	rx_expect(0, good, "data");
	assert_false(F.con.dev.status & VIO_STATUS_NEEDS_RESET);
}

static void rx_overflowing_chain_fills_the_kept_prefix(void **state)
{
	struct vio_buf in[VIO_CONSOLE_SEGS + 2];
	uint8_t *seg[VIO_CONSOLE_SEGS + 2];
	char data[VIO_CONSOLE_SEGS + 2];
	void *t;
	uint32_t len;

	(void) state;
	start_with(0, ~0ull, 1, kinds_line);
	for (unsigned k = 0; k < VIO_CONSOLE_SEGS + 2; k++) {
		seg[k] = alloc(1);
		in[k] = buf(seg[k], 1);
		data[k] = (char) ('0' + k);
	}
	assert_int_equal(vio_sim_console_write(&F.sim, 0, data, sizeof(data)), sizeof(data));
	assert_true(vio_drvq_add(&F.dq[0], NULL, 0, in, VIO_CONSOLE_SEGS + 2, seg[0]) >= 0);
	vio_loopback_kick(&F.lb, 0);
	assert_int_equal(used(VIO_CONSOLE_RXQ0, &t, &len), 1);
	/* the first cap - 1 segments are contiguous; the last slot is not used */
	assert_int_equal(len, VIO_CONSOLE_SEGS - 1);
	for (unsigned k = 0; k < VIO_CONSOLE_SEGS - 1; k++)
		assert_int_equal(seg[k][0], '0' + k);
	assert_int_equal(seg[VIO_CONSOLE_SEGS + 1][0], UNTOUCHED);
}

static void tx_malformed_buffers_dropped(void **state)
{
	uint8_t *o, *i, *s[VIO_CONSOLE_SEGS + 1];
	struct vio_buf ob, ib, many[VIO_CONSOLE_SEGS + 1];
	void *t;
	uint32_t len;

	(void) state;
	start_with(0, ~0ull, 1, kinds_line);
	o = alloc(4);
	i = alloc(4);
	ob = buf(o, 4);
	ib = buf(i, 4);
	memcpy(o, "evil", 4);
	/* a writable part: not a transmit buffer */
	assert_true(vio_drvq_add(&F.dq[1], &ob, 1, &ib, 1, o) >= 0);
	vio_loopback_kick(&F.lb, 1);
	assert_int_equal(used(VIO_CONSOLE_TXQ0, &t, &len), 1);
	assert_int_equal(len, 0);
	assert_int_equal(i[0], UNTOUCHED);
	/* only writable */
	assert_true(vio_drvq_add(&F.dq[1], NULL, 0, &ib, 1, i) >= 0);
	vio_loopback_kick(&F.lb, 1);
	assert_int_equal(used(VIO_CONSOLE_TXQ0, &t, &len), 1);
	assert_int_equal(len, 0);
	/* more segments than the device keeps: it cannot send them in order */
	for (unsigned k = 0; k < VIO_CONSOLE_SEGS + 1; k++) {
		s[k] = alloc(1);
		s[k][0] = 'x';
		many[k] = buf(s[k], 1);
	}
	assert_true(vio_drvq_add(&F.dq[1], many, VIO_CONSOLE_SEGS + 1, NULL, 0, s[0]) >= 0);
	vio_loopback_kick(&F.lb, 1);
	assert_int_equal(used(VIO_CONSOLE_TXQ0, &t, &len), 1);
	assert_ptr_equal(t, s[0]);
	assert_int_equal(F.con.bad, 3);
	assert_int_equal(F.sim_ports[0].from_driver.len, 0);
	assert_false(F.con.dev.status & VIO_STATUS_NEEDS_RESET);
	/* and the port still works */
	t = tx(0, "ok");
	tx_expect_done(0, t);
	host_read(0, "ok");
}

/* ---- backpressure ---- */

static void tx_backpressure_holds_the_buffer(void **state)
{
	char big[VIO_SIM_CONSOLE_BUF + 44], got[VIO_SIM_CONSOLE_BUF];
	void *token, *second;

	(void) state;
	start_with(0, ~0ull, 1, kinds_line);
	for (unsigned i = 0; i < sizeof(big); i++)
		big[i] = (char) ('A' + i % 23);
	token = send_on(VIO_CONSOLE_TXQ0, big, sizeof(big));
	/* the host side took what fits; the rest waits in the ring */
	expect_none(VIO_CONSOLE_TXQ0);
	assert_true(F.ports[0].tx.held);
	assert_int_equal(F.ports[0].tx_bytes, VIO_SIM_CONSOLE_BUF);
	/* a later buffer waits behind it: order is kept */
	second = tx(0, "!");
	expect_none(VIO_CONSOLE_TXQ0);
	assert_int_equal(vio_sim_console_read(&F.sim, 0, got, 100), 100);
	assert_memory_equal(got, big, 100);
	/* the read made room and woke the device: both buffers are done now, in order */
	{
		void *t;
		uint32_t len;

		assert_int_equal(used(VIO_CONSOLE_TXQ0, &t, &len), 1);
		assert_ptr_equal(t, token);
		assert_int_equal(used(VIO_CONSOLE_TXQ0, &t, &len), 1);
		assert_ptr_equal(t, second);
		expect_none(VIO_CONSOLE_TXQ0);
	}
	assert_int_equal(vio_sim_console_read(&F.sim, 0, got, sizeof(got)), sizeof(big) - 100 + 1);
	assert_memory_equal(got, big + 100, sizeof(big) - 100);
	assert_int_equal(got[sizeof(big) - 100], '!');
}

static void tx_partial_takes(void **state)
{
	void *t;

	(void) state;
	start_with(0, ~0ull, 1, kinds_line);
	F.sim_ports[0].max_per_call = 3;
	t = tx(0, "abcdefgh");
	/* the provider takes 3 at a time and the device offers the rest again at once */
	expect_none(VIO_CONSOLE_TXQ0);
	assert_int_equal(F.sim_ports[0].from_driver.len, 3);
	assert_int_equal(vio_console_tx_wake(&F.con, 0), 0);
	assert_int_equal(F.sim_ports[0].from_driver.len, 6);
	assert_int_equal(vio_console_tx_wake(&F.con, 0), 0);
	tx_expect_done(0, t);
	host_read(0, "abcdefgh");
}

static void echo_round_trip(void **state)
{
	uint8_t *p;
	void *t;

	(void) state;
	start_with(0, ~0ull, 1, kinds_echo);
	p = rx_post(0, 32);
	t = tx(0, "ping\n");
	tx_expect_done(0, t);
	rx_expect(0, p, "ping\n");
}

static void echo_backpressure_loses_nothing(void **state)
{
	char big[VIO_SIM_CONSOLE_BUF * 2 + 10];
	uint32_t got = 0;
	void *token;

	(void) state;
	start_with(0, ~0ull, 1, kinds_echo);
	for (unsigned i = 0; i < sizeof(big); i++)
		big[i] = (char) (i * 7 + 1);
	/* no receive buffers: the echo fills up and the transmit buffer waits */
	token = send_on(VIO_CONSOLE_TXQ0, big, sizeof(big));
	expect_none(VIO_CONSOLE_TXQ0);
	assert_int_equal(F.sim_ports[0].to_driver.len, VIO_SIM_CONSOLE_BUF);
	/* receive buffers drain the echo, which lets the rest of the write through */
	while (got < sizeof(big)) {
		uint8_t *p = rx_post(0, 100);
		void *t;
		uint32_t len;

		assert_int_equal(used(VIO_CONSOLE_RXQ0, &t, &len), 1);
		assert_ptr_equal(t, p);
		assert_true(len > 0 && len <= 100);
		assert_memory_equal(p, big + got, len);
		got += len;
	}
	assert_int_equal(got, sizeof(big));
	tx_expect_done(0, token);
	assert_int_equal(F.ports[0].rx_bytes, sizeof(big));
}

/* ---- size and emergency write ---- */

static void size_in_config(void **state)
{
	uint8_t cfg[VIO_CONSOLE_CONFIG_SIZE];
	uint32_t irqs, gen;

	(void) state;
	start_with(F_SIZE, ~0ull, 1, NULL);
	irqs = F.lb.config_irqs;
	gen = F.con.dev.config_generation;
	assert_int_equal(vio_console_set_size(&F.con, 132, 43), 0);
	assert_int_equal(vio_device_read_config(&F.con.dev, 0, cfg, sizeof(cfg)), 0);
	assert_int_equal(vio_get_le16(cfg + VIO_CONSOLE_CFG_COLS), 132);
	assert_int_equal(vio_get_le16(cfg + VIO_CONSOLE_CFG_ROWS), 43);
	assert_int_equal(F.lb.config_irqs, irqs + 1);
	assert_int_equal(F.con.dev.config_generation, gen + 1);
}

static void emergency_write_before_negotiation(void **state)
{
	uint8_t w[4] = {'!', 0, 0, 0}, cfg[4];
	char b[8];

	(void) state;
	make(F_EMERG, 1, kinds_line);
	/* no status, no features: the spec allows emerg_wr at any time */
	assert_int_equal(vio_device_write_config(&F.con.dev, VIO_CONSOLE_CFG_EMERG_WR, w, 4), 0);
	w[0] = '\n';
	assert_int_equal(vio_device_write_config(&F.con.dev, VIO_CONSOLE_CFG_EMERG_WR, w, 1), 0);
	assert_int_equal(vio_sim_console_read_line(&F.sim, 0, b, sizeof(b)), 2);
	assert_memory_equal(b, "!\n", 2);
	assert_int_equal(F.con.emerg, 2);
	/* write-only: reads as 0; its upper bytes alone are not a character */
	assert_int_equal(vio_device_read_config(&F.con.dev, VIO_CONSOLE_CFG_EMERG_WR, cfg, 4), 0);
	assert_int_equal(vio_get_le32(cfg), 0);
	assert_int_equal(vio_device_write_config(&F.con.dev, 9, w, 1), -VIO_EPERM);
	assert_int_equal(vio_device_write_config(&F.con.dev, 8, w, 0), -VIO_EPERM);
	assert_int_equal(F.con.emerg, 2);
}

static void emergency_write_full_sink_counted(void **state)
{
	char big[VIO_SIM_CONSOLE_BUF];
	uint8_t w[4] = {'x', 0, 0, 0};

	(void) state;
	start_with(F_EMERG, ~0ull, 1, kinds_line);
	memset(big, '.', sizeof(big));
	tx_expect_done(0, send_on(VIO_CONSOLE_TXQ0, big, sizeof(big)));
	assert_int_equal(F.sim_ports[0].from_driver.len, VIO_SIM_CONSOLE_BUF);
	assert_int_equal(vio_device_write_config(&F.con.dev, VIO_CONSOLE_CFG_EMERG_WR, w, 4), 0);
	assert_int_equal(F.sim.emerg_lost, 1);
}

/* ---- multiport ---- */

static void multiport_bring_up(void **state)
{
	(void) state;
	mp_ready(kinds_line);
	assert_true(F.ports[0].ready && F.ports[1].ready && F.ports[2].ready);
	/* ports stay closed until the driver opens them */
	assert_false(F.sim_ports[0].open || F.sim_ports[1].open);
	ctrl_send(0, VIO_CONSOLE_PORT_OPEN, 1);
	assert_true(F.sim_ports[0].open);
	assert_int_equal(F.con.bad, 0);
}

static void multiport_resize_message(void **state)
{
	uint8_t sz[4];

	(void) state;
	make(ALL, MAXPORTS, kinds_line);
	assert_int_equal(vio_console_set_size(&F.con, 100, 30), 0);
	drive(~0ull);
	ctrl_post(8);
	ctrl_send(VIO_CONSOLE_BAD_ID, VIO_CONSOLE_DEVICE_READY, 1);
	for (uint32_t p = 0; p < MAXPORTS; p++)
		ctrl_expect(p, VIO_CONSOLE_PORT_ADD, 1);
	ctrl_send(0, VIO_CONSOLE_PORT_READY, 1);
	ctrl_expect(0, VIO_CONSOLE_CONSOLE_PORT, 1);
	vio_put_le16(sz, 100);
	vio_put_le16(sz + 2, 30);
	ctrl_expect_x(0, VIO_CONSOLE_RESIZE, 0, sz, 4);
	ctrl_expect(0, VIO_CONSOLE_PORT_OPEN, 1);
	/* a later change goes out at once */
	assert_int_equal(vio_console_set_size(&F.con, 80, 24), 0);
	vio_put_le16(sz, 80);
	vio_put_le16(sz + 2, 24);
	ctrl_expect_x(0, VIO_CONSOLE_RESIZE, 0, sz, 4);
	expect_none(VIO_CONSOLE_CRXQ);
}

static void multiport_named_port_data(void **state)
{
	uint8_t *p;
	void *t;

	(void) state;
	mp_ready(kinds_line);
	/* host bytes for a port the driver has not opened wait (Linux would drop them) */
	p = rx_post(1, 32);
	assert_int_equal(vio_sim_console_write(&F.sim, 1, "early", 5), 5);
	expect_none((uint16_t) VIO_CONSOLE_RXQ(1));
	ctrl_send(1, VIO_CONSOLE_PORT_OPEN, 1);
	assert_true(F.sim_ports[1].open);
	rx_expect(1, p, "early");
	t = tx(1, "to host");
	tx_expect_done(1, t);
	host_read(1, "to host");
	/* the echo port on queues 6 and 7 */
	ctrl_send(2, VIO_CONSOLE_PORT_OPEN, 1);
	p = rx_post(2, 32);
	t = tx(2, "echo");
	tx_expect_done(2, t);
	rx_expect(2, p, "echo");
	/* closed again: new host bytes wait */
	ctrl_send(1, VIO_CONSOLE_PORT_OPEN, 0);
	assert_false(F.sim_ports[1].open);
	p = rx_post(1, 32);
	assert_int_equal(vio_sim_console_write(&F.sim, 1, "late", 4), 4);
	expect_none((uint16_t) VIO_CONSOLE_RXQ(1));
	ctrl_send(1, VIO_CONSOLE_PORT_OPEN, 1);
	rx_expect(1, p, "late");
	assert_int_equal(F.sim_ports[1].opens, 2);
}

static void multiport_host_open_close(void **state)
{
	(void) state;
	make(ALL, MAXPORTS, kinds_line);
	/* closed before the driver came: no PORT_OPEN when the port is set up */
	assert_int_equal(vio_console_host_open(&F.con, 1, false), 0);
	drive(~0ull);
	ctrl_post(12);
	ctrl_send(VIO_CONSOLE_BAD_ID, VIO_CONSOLE_DEVICE_READY, 1);
	for (uint32_t p = 0; p < MAXPORTS; p++)
		ctrl_expect(p, VIO_CONSOLE_PORT_ADD, 1);
	ctrl_send(1, VIO_CONSOLE_PORT_READY, 1);
	ctrl_expect_x(1, VIO_CONSOLE_PORT_NAME, 1, "org.vioport.line", 17);
	expect_none(VIO_CONSOLE_CRXQ);
	assert_int_equal(vio_console_host_open(&F.con, 1, true), 0);
	ctrl_expect(1, VIO_CONSOLE_PORT_OPEN, 1);
	assert_int_equal(vio_console_host_open(&F.con, 1, true), 0); /* no change, no message */
	expect_none(VIO_CONSOLE_CRXQ);
	assert_int_equal(vio_console_host_open(&F.con, 1, false), 0);
	ctrl_expect(1, VIO_CONSOLE_PORT_OPEN, 0);
	expect_none(VIO_CONSOLE_CRXQ);
}

static void multiport_messages_wait_for_control_buffers(void **state)
{
	uint8_t *small;
	void *t;
	uint32_t len;

	(void) state;
	start_with(ALL, ~0ull, MAXPORTS, kinds_line);
	ctrl_send(VIO_CONSOLE_BAD_ID, VIO_CONSOLE_DEVICE_READY, 1);
	expect_none(VIO_CONSOLE_CRXQ);
	ctrl_post(3);
	for (uint32_t p = 0; p < MAXPORTS; p++)
		ctrl_expect(p, VIO_CONSOLE_PORT_ADD, 1);
	ctrl_send(1, VIO_CONSOLE_PORT_READY, 1);
	/* a buffer too small for the name comes back empty; the name waits for a bigger one */
	small = post_on(VIO_CONSOLE_CRXQ, 12);
	assert_int_equal(used(VIO_CONSOLE_CRXQ, &t, &len), 1);
	assert_ptr_equal(t, small);
	assert_int_equal(len, 0);
	assert_int_equal(F.con.bad, 1);
	ctrl_post(2);
	ctrl_expect_x(1, VIO_CONSOLE_PORT_NAME, 1, "org.vioport.line", 17);
	ctrl_expect(1, VIO_CONSOLE_PORT_OPEN, 1);
	expect_none(VIO_CONSOLE_CRXQ);
}

static void multiport_hostile_control(void **state)
{
	uint8_t m[12] = {0};
	uint8_t *o, *i;
	struct vio_buf ob, ib;
	void *t;
	uint32_t len, bad;

	(void) state;
	start_with(ALL, ~0ull, MAXPORTS, kinds_line);
	ctrl_post(12);
	/* before DEVICE_READY a port cannot be ready or open */
	ctrl_send(0, VIO_CONSOLE_PORT_READY, 1);
	ctrl_send(0, VIO_CONSOLE_PORT_OPEN, 1);
	assert_int_equal(F.con.bad, 2);
	expect_none(VIO_CONSOLE_CRXQ);
	/* short and long messages */
	vio_put_le16(m + 4, VIO_CONSOLE_DEVICE_READY);
	vio_put_le16(m + 6, 1);
	ctrl_send_raw(m, 7);
	ctrl_send_raw(m, 12);
	assert_int_equal(F.con.bad, 4);
	expect_none(VIO_CONSOLE_CRXQ);
	/* a control buffer with a writable part */
	o = alloc(8);
	i = alloc(8);
	memcpy(o, m, 8);
	ob = buf(o, 8);
	ib = buf(i, 8);
	assert_true(vio_drvq_add(&F.dq[VIO_CONSOLE_CTXQ], &ob, 1, &ib, 1, o) >= 0);
	vio_loopback_kick(&F.lb, VIO_CONSOLE_CTXQ);
	assert_int_equal(used(VIO_CONSOLE_CTXQ, &t, &len), 1);
	assert_int_equal(len, 0);
	assert_int_equal(i[0], UNTOUCHED);
	assert_int_equal(F.con.bad, 5);
	expect_none(VIO_CONSOLE_CRXQ);
	/* a driver that failed to set up is not served, and that is not an error */
	ctrl_send(VIO_CONSOLE_BAD_ID, VIO_CONSOLE_DEVICE_READY, 0);
	assert_int_equal(F.con.bad, 5);
	expect_none(VIO_CONSOLE_CRXQ);
	ctrl_send(VIO_CONSOLE_BAD_ID, VIO_CONSOLE_DEVICE_READY, 1);
	for (uint32_t p = 0; p < MAXPORTS; p++)
		ctrl_expect(p, VIO_CONSOLE_PORT_ADD, 1);
	bad = F.con.bad;
	/* a second DEVICE_READY does not announce the ports again */
	ctrl_send(VIO_CONSOLE_BAD_ID, VIO_CONSOLE_DEVICE_READY, 1);
	/* bad ids, events only the device sends, unknown events, bad values */
	ctrl_send(MAXPORTS, VIO_CONSOLE_PORT_READY, 1);
	ctrl_send(VIO_CONSOLE_BAD_ID, VIO_CONSOLE_PORT_OPEN, 1);
	ctrl_send(0, VIO_CONSOLE_PORT_ADD, 1);
	ctrl_send(0, VIO_CONSOLE_PORT_REMOVE, 1);
	ctrl_send(0, VIO_CONSOLE_CONSOLE_PORT, 1);
	ctrl_send(0, VIO_CONSOLE_RESIZE, 1);
	ctrl_send(0, VIO_CONSOLE_PORT_NAME, 1);
	ctrl_send(0, 0xffff, 1);
	/* open before ready */
	ctrl_send(1, VIO_CONSOLE_PORT_OPEN, 1);
	assert_int_equal(F.con.bad, bad + 10);
	expect_none(VIO_CONSOLE_CRXQ);
	ctrl_send(1, VIO_CONSOLE_PORT_READY, 1);
	ctrl_expect_x(1, VIO_CONSOLE_PORT_NAME, 1, "org.vioport.line", 17);
	ctrl_expect(1, VIO_CONSOLE_PORT_OPEN, 1);
	/* ready twice; open with a value that is not 0 or 1 */
	ctrl_send(1, VIO_CONSOLE_PORT_READY, 1);
	ctrl_send(1, VIO_CONSOLE_PORT_OPEN, 2);
	assert_int_equal(F.con.bad, bad + 12);
	assert_false(F.sim_ports[1].open);
	/* a port the driver failed to set up stays down */
	ctrl_send(2, VIO_CONSOLE_PORT_READY, 0);
	ctrl_send(2, VIO_CONSOLE_PORT_OPEN, 1);
	assert_false(F.ports[2].ready);
	assert_false(F.sim_ports[2].open);
	expect_none(VIO_CONSOLE_CRXQ);
	assert_false(F.con.dev.status & VIO_STATUS_NEEDS_RESET);
}

static void multiport_offered_not_taken(void **state)
{
	void *t;

	(void) state;
	start_with(ALL, ~F_MP, MAXPORTS, kinds_line);
	/* the driver uses port 0 only, open at once */
	assert_true(F.sim_ports[0].open);
	assert_false(F.ports[1].ready);
	t = tx(0, "single");
	tx_expect_done(0, t);
	host_read(0, "single");
	assert_int_equal(vio_console_host_open(&F.con, 0, false), 0); /* nothing to tell */
}

/* ---- reset ---- */

static void reset_forgets_held_buffers(void **state)
{
	char big[VIO_SIM_CONSOLE_BUF + 8];
	uint8_t *p;

	(void) state;
	start_with(0, ~0ull, 1, kinds_line);
	memset(big, 'z', sizeof(big));
	send_on(VIO_CONSOLE_TXQ0, big, sizeof(big));
	rx_post(0, 16);
	assert_true(F.ports[0].tx.held && F.ports[0].rx.held);
	vio_device_reset(&F.con.dev);
	assert_false(F.ports[0].tx.held || F.ports[0].rx.held);
	assert_false(F.sim_ports[0].open);
	/* a read now makes room, but nothing of the old ring is touched */
	assert_int_equal(vio_sim_console_read(&F.sim, 0, big, sizeof(big)), VIO_SIM_CONSOLE_BUF);
	drive(~0ull);
	assert_true(F.sim_ports[0].open);
	assert_int_equal(F.sim_ports[0].opens, 2);
	p = rx_post(0, 16);
	assert_int_equal(vio_sim_console_write(&F.sim, 0, "again", 5), 5);
	rx_expect(0, p, "again");
}

static void reset_multiport_announces_again(void **state)
{
	(void) state;
	mp_ready(kinds_line);
	ctrl_send(1, VIO_CONSOLE_PORT_OPEN, 1);
	assert_true(F.sim_ports[1].open);
	vio_device_reset(&F.con.dev);
	assert_false(F.sim_ports[1].open);
	assert_false(F.ports[1].ready);
	drive(~0ull);
	ctrl_post(4);
	ctrl_send(VIO_CONSOLE_BAD_ID, VIO_CONSOLE_DEVICE_READY, 1);
	for (uint32_t p = 0; p < MAXPORTS; p++)
		ctrl_expect(p, VIO_CONSOLE_PORT_ADD, 1);
}

static void queue_reset_forgets_held_buffer(void **state)
{
	(void) state;
	start_with(0, ~0ull, 1, kinds_line);
	rx_post(0, 16);
	assert_true(F.ports[0].rx.held);
	assert_int_equal(vio_device_queue_reset(&F.con.dev, 0), 0);
	assert_false(F.ports[0].rx.held);
	/* the host's bytes wait for the new ring */
	assert_int_equal(vio_sim_console_write(&F.sim, 0, "kept", 4), 4);
	assert_int_equal(F.sim_ports[0].to_driver.len, 4);
}

static void sim_read_line_limits(void **state)
{
	char b[4], full[VIO_SIM_CONSOLE_BUF];
	void *t;

	(void) state;
	start_with(0, ~0ull, 1, kinds_line);
	t = tx(0, "longer line\n");
	tx_expect_done(0, t);
	assert_int_equal(vio_sim_console_read_line(&F.sim, 0, b, sizeof(b)), -VIO_ENOSPC);
	assert_int_equal(vio_sim_console_read_line(&F.sim, 0, full, sizeof(full)), 12);
	/* a full buffer without a newline counts as a line */
	memset(full, 'q', sizeof(full));
	t = send_on(VIO_CONSOLE_TXQ0, full, sizeof(full));
	tx_expect_done(0, t);
	assert_int_equal(vio_sim_console_read_line(&F.sim, 0, full, sizeof(full)),
			 VIO_SIM_CONSOLE_BUF);
	/* echo ports have nothing to read */
	F.sim_ports[0].kind = VIO_SIM_CONSOLE_ECHO;
	assert_int_equal(vio_sim_console_read(&F.sim, 0, b, sizeof(b)), -VIO_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(config_and_identity, fixture),
	    cmocka_unit_test_setup(single_port_offers_two_queues, fixture),
	    cmocka_unit_test_setup(init_rejects_bad_arguments, fixture),
	    cmocka_unit_test_setup(bad_ports_refused, fixture),
	    cmocka_unit_test_setup(tx_reaches_host, fixture),
	    cmocka_unit_test_setup(tx_multi_segment_in_order, fixture),
	    cmocka_unit_test_setup(rx_from_host, fixture),
	    cmocka_unit_test_setup(rx_zero_length_segment_skipped, fixture),
	    cmocka_unit_test_setup(rx_waits_for_buffers, fixture),
	    cmocka_unit_test_setup(rx_buffer_with_readable_part_refused, fixture),
	    cmocka_unit_test_setup(rx_overflowing_chain_fills_the_kept_prefix, fixture),
	    cmocka_unit_test_setup(tx_malformed_buffers_dropped, fixture),
	    cmocka_unit_test_setup(tx_backpressure_holds_the_buffer, fixture),
	    cmocka_unit_test_setup(tx_partial_takes, fixture),
	    cmocka_unit_test_setup(echo_round_trip, fixture),
	    cmocka_unit_test_setup(echo_backpressure_loses_nothing, fixture),
	    cmocka_unit_test_setup(size_in_config, fixture),
	    cmocka_unit_test_setup(emergency_write_before_negotiation, fixture),
	    cmocka_unit_test_setup(emergency_write_full_sink_counted, fixture),
	    cmocka_unit_test_setup(multiport_bring_up, fixture),
	    cmocka_unit_test_setup(multiport_resize_message, fixture),
	    cmocka_unit_test_setup(multiport_named_port_data, fixture),
	    cmocka_unit_test_setup(multiport_host_open_close, fixture),
	    cmocka_unit_test_setup(multiport_messages_wait_for_control_buffers, fixture),
	    cmocka_unit_test_setup(multiport_hostile_control, fixture),
	    cmocka_unit_test_setup(multiport_offered_not_taken, fixture),
	    cmocka_unit_test_setup(reset_forgets_held_buffers, fixture),
	    cmocka_unit_test_setup(reset_multiport_announces_again, fixture),
	    cmocka_unit_test_setup(queue_reset_forgets_held_buffer, fixture),
	    cmocka_unit_test_setup(sim_read_line_limits, fixture),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
