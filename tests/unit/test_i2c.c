/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-i2c device over the simulated bus: feature veto, probes, the 24c02
 * and the LM75, FAIL_NEXT transactions, every malformed request shape, and
 * ordering. Driven through the loopback transport and the driver-side queue.
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
#include "vioport/i2c.h"
#include "vioport/loopback.h"
#include "vioport/sim_i2c.h"

#define ARENA_SIZE (256u * 1024u)
#define BUS_BASE   0x20000ull
#define QSIZE	   64u
#define MAXRQ	   32u
#define UNTOUCHED  0xeeu
#define ABSENT	   0x33u

/* One request as the driver built it. */
struct rq {
	uint8_t *hdr;
	uint8_t *buf;
	uint8_t *status;
	uint32_t len; /* used length the device returned */
	bool done;
};

static struct {
	_Alignas(16) uint8_t arena[ARENA_SIZE];
	uint8_t store[VIO_SIM_24C02_SIZE];
	uint8_t bounce[32];
	struct vio_sim_i2c_bus bus;
	struct vio_sim_24c02 eeprom;
	struct vio_sim_lm75 lm75;
	struct vio_i2c i2c;
	struct vio_i2c_ops ops;
	struct vio_queue queue;
	struct vio_loopback lb;
	struct vio_drvq dq;
	struct vio_drvq_slot dslots[QSIZE];
	struct rq rqs[MAXRQ];
	unsigned nrq;
	unsigned order[MAXRQ]; /* request indices in the order they came back */
	unsigned ndone;
	int fake_ret; /* what the fake provider returns */
	unsigned fake_calls;
} F;

static int fixture(void **state)
{
	(void) state;
	memset(&F, 0, sizeof(F));
	F.ops = vio_sim_i2c_ops;
	return 0;
}

static int fake_xfer(void *ctx, const struct vio_i2c_msg *msgs, unsigned n)
{
	(void) ctx;
	(void) msgs;
	(void) n;
	F.fake_calls++;
	return F.fake_ret;
}

static void setup_dev(void)
{
	vio_sim_i2c_init(&F.bus);
	for (unsigned i = 0; i < sizeof(F.store); i++)
		F.store[i] = (uint8_t) i;
	vio_sim_24c02_init(&F.eeprom, VIO_SIM_24C02_ADDR, F.store);
	vio_sim_lm75_init(&F.lm75, VIO_SIM_LM75_ADDR);
	assert_int_equal(vio_sim_i2c_attach(&F.bus, &F.eeprom.dev), 0);
	assert_int_equal(vio_sim_i2c_attach(&F.bus, &F.lm75.dev), 0);
	assert_int_equal(vio_i2c_init(&F.i2c, &F.ops, &F.bus, &F.queue, QSIZE,
				      VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX),
				      F.bounce, sizeof(F.bounce)),
			 0);
	assert_int_equal(vio_loopback_init(&F.lb, &F.i2c.dev, F.arena, sizeof(F.arena), BUS_BASE),
			 0);
}

static void start(void)
{
	setup_dev();
	assert_int_equal(vio_loopback_negotiate(&F.lb, ~0ull), 0);
	assert_int_equal(vio_loopback_queue(&F.lb, 0, QSIZE, &F.dq, F.dslots), 0);
	assert_int_equal(vio_loopback_driver_ok(&F.lb), 0);
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

/* Queues raw segments as request k; returns its index. */
static unsigned add_raw(const struct vio_buf *out, unsigned nout, const struct vio_buf *in,
			unsigned nin)
{
	unsigned k = F.nrq++;

	assert_true(k < MAXRQ);
	assert_true(vio_drvq_add(&F.dq, out, nout, in, nin, &F.rqs[k]) >= 0);
	return k;
}

/* Queues a well-formed message the way the Linux driver builds it. */
static unsigned add_msg(uint16_t addr, uint32_t flags, const uint8_t *data, uint32_t len)
{
	struct vio_buf out[2], in[2];
	unsigned nout = 1, nin = 0, k;
	struct rq *r = &F.rqs[F.nrq];

	r->hdr = alloc(VIO_I2C_OUT_HDR);
	vio_put_le16(r->hdr, (uint16_t) (addr << 1));
	vio_put_le16(r->hdr + 2, 0);
	vio_put_le32(r->hdr + 4, flags);
	out[0] = buf(r->hdr, VIO_I2C_OUT_HDR);
	if (len != 0) {
		r->buf = alloc(len);
		if (flags & VIO_I2C_FLAGS_M_RD) {
			in[nin++] = buf(r->buf, len);
		} else {
			memcpy(r->buf, data, len);
			out[nout++] = buf(r->buf, len);
		}
	}
	r->status = alloc(1);
	in[nin++] = buf(r->status, 1);
	k = add_raw(out, nout, in, nin);
	return k;
}

/* Kicks and takes back every used entry, checking they come in request order. */
static void run(void)
{
	void *token;
	uint32_t len;
	int rc;

	vio_loopback_kick(&F.lb, 0);
	while ((rc = vio_drvq_get_used(&F.dq, &token, &len)) == 1) {
		struct rq *r = token;
		unsigned k = (unsigned) (r - F.rqs);

		assert_false(r->done);
		r->done = true;
		r->len = len;
		assert_int_equal(k, F.ndone);
		F.order[F.ndone++] = k;
	}
	assert_int_equal(rc, 0);
	assert_false(F.i2c.dev.status & VIO_STATUS_NEEDS_RESET);
}

static uint8_t status_of(unsigned k)
{
	assert_true(F.rqs[k].done);
	return *F.rqs[k].status;
}

/* A write of len bytes as one message, its own transaction; returns its status. */
static uint8_t write1(uint16_t addr, const uint8_t *data, uint32_t len)
{
	unsigned k = add_msg(addr, 0, data, len);

	run();
	assert_int_equal(F.rqs[k].len, 1);
	return status_of(k);
}

/* Sets a register pointer and reads len bytes in one transaction; returns the read's index. */
static unsigned write_read(uint16_t addr, uint8_t reg, uint32_t len)
{
	unsigned k;

	add_msg(addr, VIO_I2C_FLAGS_FAIL_NEXT, &reg, 1);
	k = add_msg(addr, VIO_I2C_FLAGS_M_RD, NULL, len);
	run();
	assert_int_equal(status_of(k - 1), VIO_I2C_MSG_OK);
	assert_int_equal(status_of(k), VIO_I2C_MSG_OK);
	assert_int_equal(F.rqs[k].len, len + 1);
	return k;
}

static void identity(void **state)
{
	(void) state;
	start();
	assert_int_equal(F.i2c.dev.device_id, 34);
	assert_int_equal(F.i2c.dev.num_queues, 1);
	assert_int_equal(F.i2c.dev.config_len, 0);
	assert_true(F.i2c.dev.host_features & VIO_BIT(VIO_I2C_F_ZERO_LENGTH_REQUEST));
	assert_true(vio_device_has(&F.i2c.dev, VIO_I2C_F_ZERO_LENGTH_REQUEST));
}

static void init_rejects_bad_args(void **state)
{
	struct vio_i2c_ops none = {0};

	(void) state;
	assert_int_equal(vio_i2c_init(&F.i2c, &none, NULL, &F.queue, QSIZE, 0, NULL, 0),
			 -VIO_EINVAL);
	assert_int_equal(vio_i2c_init(&F.i2c, &F.ops, NULL, &F.queue, 0, 0, NULL, 0), -VIO_EINVAL);
	assert_int_equal(vio_i2c_init(&F.i2c, &F.ops, NULL, &F.queue, QSIZE, VIO_BIT(5), NULL, 0),
			 -VIO_EINVAL);
	assert_int_equal(vio_i2c_init(&F.i2c, &F.ops, NULL, &F.queue, QSIZE, 0, NULL, 4),
			 -VIO_EINVAL);
	assert_int_equal(vio_i2c_init(&F.i2c, &F.ops, NULL, &F.queue, QSIZE, 0, NULL, 0), 0);
}

static void feature_veto(void **state)
{
	(void) state;
	setup_dev();
	assert_int_equal(vio_loopback_negotiate(&F.lb, ~VIO_BIT(VIO_I2C_F_ZERO_LENGTH_REQUEST)),
			 -VIO_EPROTO);
	assert_false(F.i2c.dev.status & VIO_STATUS_FEATURES_OK);
	/* a driver that accepts it gets through */
	assert_int_equal(vio_loopback_negotiate(&F.lb, ~0ull), 0);
	assert_true(F.i2c.dev.status & VIO_STATUS_FEATURES_OK);
}

static void probe_present(void **state)
{
	unsigned a, b, c;

	(void) state;
	start();
	a = add_msg(VIO_SIM_24C02_ADDR, 0, NULL, 0);
	b = add_msg(VIO_SIM_LM75_ADDR, 0, NULL, 0);
	c = add_msg(VIO_SIM_24C02_ADDR, VIO_I2C_FLAGS_M_RD, NULL, 0);
	run();
	assert_int_equal(status_of(a), VIO_I2C_MSG_OK);
	assert_int_equal(status_of(b), VIO_I2C_MSG_OK);
	assert_int_equal(status_of(c), VIO_I2C_MSG_OK);
	assert_int_equal(F.rqs[c].len, 1);
}

static void probe_absent(void **state)
{
	(void) state;
	start();
	for (uint16_t a = 0; a < 0x80; a++) {
		uint8_t want = (a == VIO_SIM_24C02_ADDR || a == VIO_SIM_LM75_ADDR)
				   ? VIO_I2C_MSG_OK
				   : VIO_I2C_MSG_ERR;

		F.nrq = 0;
		F.ndone = 0;
		memset(F.rqs, 0, sizeof(F.rqs));
		assert_int_equal(write1(a, NULL, 0), want);
	}
}

static void eeprom_byte_write(void **state)
{
	uint8_t w[2] = {0x10, 0xab};
	unsigned k;

	(void) state;
	start();
	assert_int_equal(write1(VIO_SIM_24C02_ADDR, w, 2), VIO_I2C_MSG_OK);
	assert_int_equal(F.store[0x10], 0xab);
	assert_int_equal(F.store[0x11], 0x11);
	k = write_read(VIO_SIM_24C02_ADDR, 0x10, 2);
	assert_int_equal(F.rqs[k].buf[0], 0xab);
	assert_int_equal(F.rqs[k].buf[1], 0x11);
}

static void eeprom_page_write_wraps_in_page(void **state)
{
	uint8_t w[5] = {0x26, 0xa1, 0xa2, 0xa3, 0xa4};
	uint8_t full[9] = {0x40, 1, 2, 3, 4, 5, 6, 7, 8};
	unsigned k;

	(void) state;
	start();
	assert_int_equal(write1(VIO_SIM_24C02_ADDR, w, sizeof(w)), VIO_I2C_MSG_OK);
	/* 0x26, 0x27, then back to the start of page 0x20 */
	assert_int_equal(F.store[0x26], 0xa1);
	assert_int_equal(F.store[0x27], 0xa2);
	assert_int_equal(F.store[0x20], 0xa3);
	assert_int_equal(F.store[0x21], 0xa4);
	assert_int_equal(F.store[0x28], 0x28);
	assert_int_equal(F.store[0x22], 0x22);
	assert_int_equal(write1(VIO_SIM_24C02_ADDR, full, sizeof(full)), VIO_I2C_MSG_OK);
	k = write_read(VIO_SIM_24C02_ADDR, 0x40, 8);
	assert_memory_equal(F.rqs[k].buf, full + 1, 8);
}

static void eeprom_read_wraps_at_256(void **state)
{
	unsigned k;
	unsigned r;

	(void) state;
	start();
	k = write_read(VIO_SIM_24C02_ADDR, 0xfe, 4);
	assert_int_equal(F.rqs[k].buf[0], 0xfe);
	assert_int_equal(F.rqs[k].buf[1], 0xff);
	assert_int_equal(F.rqs[k].buf[2], 0x00);
	assert_int_equal(F.rqs[k].buf[3], 0x01);
	/* a read on its own continues from the pointer */
	r = add_msg(VIO_SIM_24C02_ADDR, VIO_I2C_FLAGS_M_RD, NULL, 1);
	run();
	assert_int_equal(status_of(r), VIO_I2C_MSG_OK);
	assert_int_equal(F.rqs[r].buf[0], 0x02);
}

static void eeprom_own_store(void **state)
{
	struct vio_sim_24c02 e;

	(void) state;
	vio_sim_24c02_init(&e, 0x51, NULL);
	assert_ptr_equal(e.mem, e.own);
	assert_int_equal(e.mem[0], 0xff);
	assert_int_equal(e.mem[255], 0xff);
}

static void lm75_expect(int32_t mc, uint8_t hi, uint8_t lo)
{
	unsigned k;

	vio_sim_lm75_set_temp_mc(&F.lm75, mc);
	k = write_read(VIO_SIM_LM75_ADDR, 0, 2);
	assert_int_equal(F.rqs[k].buf[0], hi);
	assert_int_equal(F.rqs[k].buf[1], lo);
}

static void lm75_temperature(void **state)
{
	(void) state;
	start();
	lm75_expect(25000, 0x19, 0x00);
	lm75_expect(25500, 0x19, 0x80);
	lm75_expect(125000, 0x7d, 0x00);
	lm75_expect(200000, 0x7d, 0x00); /* clamped */
	lm75_expect(0, 0x00, 0x00);
	lm75_expect(-500, 0xff, 0x80);
	lm75_expect(-200, 0xff, 0x80); /* rounded down */
	lm75_expect(-25000, 0xe7, 0x00);
	lm75_expect(-25500, 0xe6, 0x80);
	lm75_expect(-55000, 0xc9, 0x00);
}

static void lm75_registers(void **state)
{
	uint8_t tos[3] = {3, 0x32, 0xff}, conf[2] = {1, 0x06}, temp[3] = {0, 0x10, 0x00};
	unsigned k;

	(void) state;
	start();
	k = write_read(VIO_SIM_LM75_ADDR, 2, 2);
	assert_int_equal(F.rqs[k].buf[0], 75);
	assert_int_equal(F.rqs[k].buf[1], 0);
	k = write_read(VIO_SIM_LM75_ADDR, 3, 2);
	assert_int_equal(F.rqs[k].buf[0], 80);
	assert_int_equal(F.rqs[k].buf[1], 0);
	k = write_read(VIO_SIM_LM75_ADDR, 1, 1);
	assert_int_equal(F.rqs[k].buf[0], 0);
	assert_int_equal(write1(VIO_SIM_LM75_ADDR, tos, 3), VIO_I2C_MSG_OK);
	assert_int_equal(write1(VIO_SIM_LM75_ADDR, conf, 2), VIO_I2C_MSG_OK);
	assert_int_equal(write1(VIO_SIM_LM75_ADDR, temp, 3), VIO_I2C_MSG_OK);
	k = write_read(VIO_SIM_LM75_ADDR, 3, 2);
	assert_int_equal(F.rqs[k].buf[0], 0x32);
	assert_int_equal(F.rqs[k].buf[1], 0x80); /* the low seven bits do not exist */
	k = write_read(VIO_SIM_LM75_ADDR, 1, 1);
	assert_int_equal(F.rqs[k].buf[0], 0x06);
	k = write_read(VIO_SIM_LM75_ADDR, 0, 2);
	assert_int_equal(F.rqs[k].buf[0], 0x19); /* temperature is read-only */
}

static void fail_next_fails_rest(void **state)
{
	uint8_t ptr = 0, w[2] = {0x30, 0x99};
	unsigned a, b, c, d, e;
	uint32_t before;

	(void) state;
	start();
	a = add_msg(VIO_SIM_24C02_ADDR, VIO_I2C_FLAGS_FAIL_NEXT, &ptr, 1);
	b = add_msg(ABSENT, VIO_I2C_FLAGS_FAIL_NEXT, &ptr, 1);
	c = add_msg(VIO_SIM_24C02_ADDR, VIO_I2C_FLAGS_FAIL_NEXT, w, 2);
	d = add_msg(VIO_SIM_24C02_ADDR, VIO_I2C_FLAGS_M_RD, NULL, 4);
	/* the next transaction is not affected */
	e = add_msg(VIO_SIM_LM75_ADDR, 0, NULL, 0);
	before = F.bus.msgs;
	run();
	assert_int_equal(status_of(a), VIO_I2C_MSG_OK);
	assert_int_equal(status_of(b), VIO_I2C_MSG_ERR);
	assert_int_equal(status_of(c), VIO_I2C_MSG_ERR);
	assert_int_equal(status_of(d), VIO_I2C_MSG_ERR);
	assert_int_equal(F.rqs[d].len, 1);
	assert_int_equal(F.rqs[d].buf[0], UNTOUCHED);
	assert_int_equal(F.store[0x30], 0x30); /* the failed write never reached the bus */
	assert_int_equal(status_of(e), VIO_I2C_MSG_OK);
	assert_int_equal(F.bus.msgs - before, 2);
}

static void transaction_waits_for_last(void **state)
{
	uint8_t ptr = 0x05;
	unsigned a, b;

	(void) state;
	start();
	a = add_msg(VIO_SIM_24C02_ADDR, VIO_I2C_FLAGS_FAIL_NEXT, &ptr, 1);
	run();
	assert_false(F.rqs[a].done);
	b = add_msg(VIO_SIM_24C02_ADDR, VIO_I2C_FLAGS_M_RD, NULL, 1);
	run();
	assert_int_equal(status_of(a), VIO_I2C_MSG_OK);
	assert_int_equal(status_of(b), VIO_I2C_MSG_OK);
	assert_int_equal(F.rqs[b].buf[0], 0x05);
}

static void long_transaction_is_split(void **state)
{
	unsigned n = VIO_I2C_BATCH * 2 + 3;

	(void) state;
	start();
	for (unsigned i = 0; i < n; i++)
		add_msg(VIO_SIM_24C02_ADDR, i + 1 < n ? VIO_I2C_FLAGS_FAIL_NEXT : 0, NULL, 0);
	run();
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(status_of(i), VIO_I2C_MSG_OK);
}

static void long_transaction_carries_failure(void **state)
{
	unsigned n = VIO_I2C_BATCH + 3;

	(void) state;
	start();
	for (unsigned i = 0; i < n; i++)
		add_msg(i == 2 ? ABSENT : VIO_SIM_24C02_ADDR,
			i + 1 < n ? VIO_I2C_FLAGS_FAIL_NEXT : 0, NULL, 0);
	run();
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(status_of(i), i < 2 ? VIO_I2C_MSG_OK : VIO_I2C_MSG_ERR);
}

static void ordering(void **state)
{
	uint8_t w1[2] = {0x80, 0x11}, w2[2] = {0x80, 0x22}, ptr = 0x80;
	unsigned r1, r2;

	(void) state;
	start();
	add_msg(VIO_SIM_24C02_ADDR, 0, w1, 2);
	add_msg(VIO_SIM_24C02_ADDR, VIO_I2C_FLAGS_FAIL_NEXT, &ptr, 1);
	r1 = add_msg(VIO_SIM_24C02_ADDR, VIO_I2C_FLAGS_M_RD, NULL, 1);
	add_msg(VIO_SIM_24C02_ADDR, 0, w2, 2);
	add_msg(VIO_SIM_24C02_ADDR, VIO_I2C_FLAGS_FAIL_NEXT, &ptr, 1);
	r2 = add_msg(VIO_SIM_24C02_ADDR, VIO_I2C_FLAGS_M_RD, NULL, 1);
	run(); /* run() checks the used order */
	assert_int_equal(F.ndone, 6);
	assert_int_equal(F.rqs[r1].buf[0], 0x11);
	assert_int_equal(F.rqs[r2].buf[0], 0x22);
	assert_int_equal(F.lb.used_irqs[0], 1);
}

/* Header bytes for a raw request. */
static uint8_t *hdr(uint16_t raw_addr, uint32_t flags)
{
	uint8_t *h = alloc(VIO_I2C_OUT_HDR);

	vio_put_le16(h, raw_addr);
	vio_put_le16(h + 2, 0);
	vio_put_le32(h + 4, flags);
	return h;
}

/* Runs one raw request on its own and checks it got ERR with length 1 and no bus traffic. */
static void expect_err(const struct vio_buf *out, unsigned nout, const struct vio_buf *in,
		       unsigned nin, const uint8_t *status)
{
	uint32_t before = F.bus.msgs + F.bus.nacks;
	unsigned k = add_raw(out, nout, in, nin);

	run();
	assert_true(F.rqs[k].done);
	assert_int_equal(F.rqs[k].len, 1);
	assert_int_equal(*status, VIO_I2C_MSG_ERR);
	assert_int_equal(F.bus.msgs + F.bus.nacks, before);
}

static void bad_no_header(void **state)
{
	uint8_t *st;
	struct vio_buf in;

	(void) state;
	start();
	st = alloc(1);
	in = buf(st, 1);
	expect_err(NULL, 0, &in, 1, st);
}

static void bad_short_header(void **state)
{
	uint8_t *h, *st;
	struct vio_buf out, in;

	(void) state;
	start();
	h = hdr(VIO_SIM_24C02_ADDR << 1, 0);
	st = alloc(1);
	out = buf(h, 4);
	in = buf(st, 1);
	expect_err(&out, 1, &in, 1, st);
}

static void bad_no_status(void **state)
{
	uint8_t *h;
	struct vio_buf out;
	unsigned k;

	(void) state;
	start();
	h = hdr(VIO_SIM_24C02_ADDR << 1, 0);
	out = buf(h, VIO_I2C_OUT_HDR);
	k = add_raw(&out, 1, NULL, 0);
	run();
	assert_true(F.rqs[k].done);
	assert_int_equal(F.rqs[k].len, 0);
	assert_int_equal(F.bus.msgs, 0);
	/* the device still works */
	assert_int_equal(write1(VIO_SIM_24C02_ADDR, NULL, 0), VIO_I2C_MSG_OK);
}

static void bad_read_with_readable_buffer(void **state)
{
	uint8_t *h, *d, *st;
	struct vio_buf out[2], in;

	(void) state;
	start();
	h = hdr(VIO_SIM_24C02_ADDR << 1, VIO_I2C_FLAGS_M_RD);
	d = alloc(2);
	st = alloc(1);
	out[0] = buf(h, VIO_I2C_OUT_HDR);
	out[1] = buf(d, 2);
	in = buf(st, 1);
	expect_err(out, 2, &in, 1, st);
}

static void bad_write_with_writable_buffer(void **state)
{
	uint8_t *h, *d, *st;
	struct vio_buf out, in[2];

	(void) state;
	start();
	h = hdr(VIO_SIM_24C02_ADDR << 1, 0);
	d = alloc(2);
	st = alloc(1);
	out = buf(h, VIO_I2C_OUT_HDR);
	in[0] = buf(d, 2);
	in[1] = buf(st, 1);
	expect_err(&out, 1, in, 2, st);
	assert_int_equal(d[0], UNTOUCHED);
}

static void bad_address_bit0(void **state)
{
	uint8_t *h, *st;
	struct vio_buf out, in;

	(void) state;
	start();
	h = hdr((VIO_SIM_24C02_ADDR << 1) | 1u, 0);
	st = alloc(1);
	out = buf(h, VIO_I2C_OUT_HDR);
	in = buf(st, 1);
	expect_err(&out, 1, &in, 1, st);
}

static void bad_address_too_high(void **state)
{
	uint8_t *h, *st;
	struct vio_buf out, in;

	(void) state;
	start();
	h = hdr(0x80u << 1, 0);
	st = alloc(1);
	out = buf(h, VIO_I2C_OUT_HDR);
	in = buf(st, 1);
	expect_err(&out, 1, &in, 1, st);
}

static void bad_too_many_segments(void **state)
{
	struct vio_buf out[VIO_I2C_SEGS + 2], in;
	uint8_t *h, *st;

	(void) state;
	start();
	h = hdr(VIO_SIM_24C02_ADDR << 1, 0);
	out[0] = buf(h, VIO_I2C_OUT_HDR);
	for (unsigned i = 1; i < VIO_I2C_SEGS + 2; i++)
		out[i] = buf(alloc(1), 1);
	st = alloc(1);
	in = buf(st, 1);
	expect_err(out, VIO_I2C_SEGS + 2, &in, 1, st);
}

static void bad_scatter_above_bounce(void **state)
{
	uint8_t *h, *st;
	struct vio_buf out, in[3];

	(void) state;
	start();
	h = hdr(VIO_SIM_24C02_ADDR << 1, VIO_I2C_FLAGS_M_RD);
	out = buf(h, VIO_I2C_OUT_HDR);
	in[0] = buf(alloc(20), 20);
	in[1] = buf(alloc(20), 20);
	st = alloc(1);
	in[2] = buf(st, 1);
	expect_err(&out, 1, in, 3, st);
}

static void bad_message_in_transaction(void **state)
{
	uint8_t ptr = 0, *h, *st;
	struct vio_buf out, in;
	unsigned a, b, c;

	(void) state;
	start();
	a = add_msg(VIO_SIM_24C02_ADDR, VIO_I2C_FLAGS_FAIL_NEXT, &ptr, 1);
	h = hdr((VIO_SIM_24C02_ADDR << 1) | 1u, VIO_I2C_FLAGS_FAIL_NEXT);
	st = alloc(1);
	out = buf(h, VIO_I2C_OUT_HDR);
	in = buf(st, 1);
	b = add_raw(&out, 1, &in, 1);
	F.rqs[b].status = st;
	c = add_msg(VIO_SIM_24C02_ADDR, VIO_I2C_FLAGS_M_RD, NULL, 1);
	run();
	assert_int_equal(status_of(a), VIO_I2C_MSG_OK);
	assert_int_equal(status_of(b), VIO_I2C_MSG_ERR);
	assert_int_equal(status_of(c), VIO_I2C_MSG_ERR);
	assert_int_equal(F.rqs[c].buf[0], UNTOUCHED);
}

static void scattered_buffers(void **state)
{
	uint8_t *h, *a, *b, *st, *r0, *r1;
	struct vio_buf out[4], in[3];
	unsigned k;

	(void) state;
	start();
	/* header split in two, data in two segments: 0x60 then 6 bytes */
	h = hdr(VIO_SIM_24C02_ADDR << 1, 0);
	a = alloc(3);
	b = alloc(4);
	memcpy(a, "\x60\x01\x02", 3);
	memcpy(b, "\x03\x04\x05\x06", 4);
	st = alloc(1);
	out[0] = buf(h, 3);
	out[1] = buf(h + 3, 5);
	out[2] = buf(a, 3);
	out[3] = buf(b, 4);
	in[0] = buf(st, 1);
	k = add_raw(out, 4, in, 1);
	run();
	assert_int_equal(*st, VIO_I2C_MSG_OK);
	assert_int_equal(F.rqs[k].len, 1);
	assert_memory_equal(&F.store[0x60], "\x01\x02\x03\x04\x05\x06", 6);
	/* read back into two segments, the status sharing the second */
	add_msg(VIO_SIM_24C02_ADDR, VIO_I2C_FLAGS_FAIL_NEXT, (const uint8_t *) "\x60", 1);
	h = hdr(VIO_SIM_24C02_ADDR << 1, VIO_I2C_FLAGS_M_RD);
	r0 = alloc(2);
	r1 = alloc(5);
	out[0] = buf(h, VIO_I2C_OUT_HDR);
	in[0] = buf(r0, 2);
	in[1] = buf(r1, 5);
	k = add_raw(out, 1, in, 2);
	run();
	assert_int_equal(r1[4], VIO_I2C_MSG_OK);
	assert_int_equal(F.rqs[k].len, 7);
	assert_memory_equal(r0, "\x01\x02", 2);
	assert_memory_equal(r1, "\x03\x04\x05\x06", 4);
}

/* Queues a write of data (len bytes) split across two readable segments after the header. */
static unsigned add_split_write(const uint8_t *data, uint32_t len, uint32_t flags)
{
	uint8_t *h = hdr(VIO_SIM_24C02_ADDR << 1, flags), *a = alloc(len / 2),
		*b = alloc(len - len / 2), *st = alloc(1);
	struct vio_buf out[3] = {buf(h, VIO_I2C_OUT_HDR), buf(a, len / 2), buf(b, len - len / 2)};
	struct vio_buf in = buf(st, 1);
	unsigned k;

	memcpy(a, data, len / 2);
	memcpy(b, data + len / 2, len - len / 2);
	k = add_raw(out, 3, &in, 1);
	F.rqs[k].status = st;
	return k;
}

static void bounce_full_runs_earlier_part(void **state)
{
	uint8_t d1[17], d2[17];
	unsigned a, b;

	(void) state;
	start();
	d1[0] = 0x08;
	d2[0] = 0x10;
	for (unsigned i = 1; i < 17; i++) {
		d1[i] = (uint8_t) i;
		d2[i] = (uint8_t) (100 + i);
	}
	/* 17 + 17 bytes do not fit the 32-byte bounce buffer together */
	a = add_split_write(d1, 17, VIO_I2C_FLAGS_FAIL_NEXT);
	b = add_split_write(d2, 17, 0);
	run();
	assert_int_equal(status_of(a), VIO_I2C_MSG_OK);
	assert_int_equal(status_of(b), VIO_I2C_MSG_OK);
	/* sixteen bytes into one page: the second eight overwrite the first */
	for (unsigned j = 0; j < 8; j++) {
		assert_int_equal(F.store[0x08 + j], 9 + j);
		assert_int_equal(F.store[0x10 + j], 109 + j);
	}
}

static void provider_errors(void **state)
{
	unsigned a, b;

	(void) state;
	F.ops.xfer = fake_xfer;
	start();
	F.fake_ret = -VIO_EIO;
	a = add_msg(VIO_SIM_24C02_ADDR, VIO_I2C_FLAGS_FAIL_NEXT, NULL, 0);
	b = add_msg(VIO_SIM_24C02_ADDR, 0, NULL, 0);
	run();
	assert_int_equal(F.fake_calls, 1);
	assert_int_equal(status_of(a), VIO_I2C_MSG_ERR);
	assert_int_equal(status_of(b), VIO_I2C_MSG_ERR);
	/* a provider that claims more than it was given is held to what it got */
	F.fake_ret = 99;
	a = add_msg(VIO_SIM_24C02_ADDR, VIO_I2C_FLAGS_M_RD, NULL, 1);
	run();
	assert_int_equal(status_of(a), VIO_I2C_MSG_OK);
	assert_int_equal(F.rqs[a].len, 2);
}

static void reset_drops_pending(void **state)
{
	unsigned k;

	(void) state;
	start();
	add_msg(VIO_SIM_24C02_ADDR, VIO_I2C_FLAGS_FAIL_NEXT, NULL, 0);
	run();
	assert_int_equal(F.i2c.npend, 1);
	assert_int_equal(vio_device_set_status(&F.i2c.dev, 0), 0);
	assert_int_equal(F.i2c.npend, 0);
	memset(&F.lb, 0, sizeof(F.lb));
	memset(F.rqs, 0, sizeof(F.rqs));
	F.nrq = 0;
	F.ndone = 0;
	assert_int_equal(vio_loopback_init(&F.lb, &F.i2c.dev, F.arena, sizeof(F.arena), BUS_BASE),
			 0);
	assert_int_equal(vio_loopback_negotiate(&F.lb, ~0ull), 0);
	assert_int_equal(vio_loopback_queue(&F.lb, 0, QSIZE, &F.dq, F.dslots), 0);
	assert_int_equal(vio_loopback_driver_ok(&F.lb), 0);
	k = add_msg(VIO_SIM_LM75_ADDR, 0, NULL, 0);
	run();
	assert_int_equal(status_of(k), VIO_I2C_MSG_OK);
}

static void sim_attach_rules(void **state)
{
	struct vio_sim_lm75 other;

	(void) state;
	vio_sim_i2c_init(&F.bus);
	vio_sim_lm75_init(&F.lm75, VIO_SIM_LM75_ADDR);
	vio_sim_lm75_init(&other, VIO_SIM_LM75_ADDR);
	assert_int_equal(vio_sim_i2c_attach(&F.bus, &F.lm75.dev), 0);
	assert_int_equal(vio_sim_i2c_attach(&F.bus, &other.dev), -VIO_EBUSY);
	other.dev.addr = 0x80;
	assert_int_equal(vio_sim_i2c_attach(&F.bus, &other.dev), -VIO_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(identity, fixture),
	    cmocka_unit_test_setup(init_rejects_bad_args, fixture),
	    cmocka_unit_test_setup(feature_veto, fixture),
	    cmocka_unit_test_setup(probe_present, fixture),
	    cmocka_unit_test_setup(probe_absent, fixture),
	    cmocka_unit_test_setup(eeprom_byte_write, fixture),
	    cmocka_unit_test_setup(eeprom_page_write_wraps_in_page, fixture),
	    cmocka_unit_test_setup(eeprom_read_wraps_at_256, fixture),
	    cmocka_unit_test_setup(eeprom_own_store, fixture),
	    cmocka_unit_test_setup(lm75_temperature, fixture),
	    cmocka_unit_test_setup(lm75_registers, fixture),
	    cmocka_unit_test_setup(fail_next_fails_rest, fixture),
	    cmocka_unit_test_setup(transaction_waits_for_last, fixture),
	    cmocka_unit_test_setup(long_transaction_is_split, fixture),
	    cmocka_unit_test_setup(long_transaction_carries_failure, fixture),
	    cmocka_unit_test_setup(ordering, fixture),
	    cmocka_unit_test_setup(bad_no_header, fixture),
	    cmocka_unit_test_setup(bad_short_header, fixture),
	    cmocka_unit_test_setup(bad_no_status, fixture),
	    cmocka_unit_test_setup(bad_read_with_readable_buffer, fixture),
	    cmocka_unit_test_setup(bad_write_with_writable_buffer, fixture),
	    cmocka_unit_test_setup(bad_address_bit0, fixture),
	    cmocka_unit_test_setup(bad_address_too_high, fixture),
	    cmocka_unit_test_setup(bad_too_many_segments, fixture),
	    cmocka_unit_test_setup(bad_scatter_above_bounce, fixture),
	    cmocka_unit_test_setup(bad_message_in_transaction, fixture),
	    cmocka_unit_test_setup(scattered_buffers, fixture),
	    cmocka_unit_test_setup(bounce_full_runs_earlier_part, fixture),
	    cmocka_unit_test_setup(provider_errors, fixture),
	    cmocka_unit_test_setup(reset_drops_pending, fixture),
	    cmocka_unit_test_setup(sim_attach_rules, fixture),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
