/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * selftest: the whole device stack on one core. A driver and four devices
 * (blk on a RAM disk, rng, gpio on the simulated chip, i2c on the simulated
 * bus) talk over the loopback transport, each with its own slice of the
 * shared window as the only memory the device can reach. Prints one
 * "CHECK <name> PASS|FAIL <detail>" line per check and exits with status 0
 * only when every check passed.
 *
 * Every state struct is static: there is no heap.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "platform.h"
#include "vioport/blk.h"
#include "vioport/byteorder.h"
#include "vioport/gpio.h"
#include "vioport/i2c.h"
#include "vioport/loopback.h"
#include "vioport/rng.h"
#include "vioport/sim_board.h"

#define QSIZE	      16u
#define ARENA_BYTES   (64u * 1024u) /* each device's slice of the window */
#define NARENAS	      4u
#define DISK_SECTORS  128u /* 64 KiB */
#define NSLOTS	      8u
#define PATTERN_SEC   10u
#define PATTERN_LEN   (8u * 1024u)
#define PIECE	      2048u
#define ENTROPY_SEED  0x5eedull
#define GPIO_OUT_LINE 1u
#define GPIO_IN_LINE  5u
#define POLL_US	      (1000u * 1000u)
#define MONOTONIC_US  1500000u /* long enough to cross timer wraps and ticks */

static struct {
	uint8_t disk[DISK_SECTORS * VIO_BLK_SECTOR_SIZE];
	struct vio_sim_ramdisk_op pend[NSLOTS];
	struct vio_loopback lb;
	struct vio_drvq dq;
	struct vio_drvq_slot dslots[QSIZE];
} B;

static struct {
	struct vio_loopback lb;
	struct vio_drvq dq;
	struct vio_drvq_slot dslots[QSIZE];
} R;

static struct {
	struct vio_loopback lb;
	struct vio_drvq dq, eq;
	struct vio_drvq_slot dslots[QSIZE], eslots[QSIZE];
} G;

static struct {
	struct vio_loopback lb;
	struct vio_drvq dq;
	struct vio_drvq_slot dslots[QSIZE];
} I;

/*
 * The devices: the standard simulated board's four (sim_board.h), set up once;
 * each test drives one over its own loopback in its slice of the window.
 */
static struct vio_sim_board BOARD;
static int board_rc;

static unsigned passed, failed;

static void check(const char *name, bool ok, const char *detail)
{
	platform_printf("CHECK %s %s %s\n", name, ok ? "PASS" : "FAIL", detail);
	if (ok)
		passed++;
	else
		failed++;
}

/* check() with a formatted detail. */
__attribute__((format(printf, 3, 4))) static void checkf(const char *name, bool ok, const char *fmt,
							 ...)
{
	char detail[160];
	va_list ap;

	va_start(ap, fmt);
	platform_vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	check(name, ok, detail);
}

static struct vio_buf bbuf(struct vio_loopback *lb, const void *p, uint32_t len)
{
	struct vio_buf b = {vio_loopback_bus(lb, p), len};

	return b;
}

/* Driver start-up against dev: its slice of the window, one or two queues, DRIVER_OK. */
static int drive(struct vio_loopback *lb, struct vio_device *dev, uint8_t *arena,
		 struct vio_drvq *dq, struct vio_drvq_slot *ds, struct vio_drvq *eq,
		 struct vio_drvq_slot *es)
{
	int rc = vio_loopback_init(lb, dev, arena, ARENA_BYTES, (uintptr_t) arena);

	if (rc == 0)
		rc = vio_loopback_negotiate(lb, ~0ull);
	if (rc == 0)
		rc = vio_loopback_queue(lb, 0, QSIZE, dq, ds);
	if (rc == 0 && eq != NULL)
		rc = vio_loopback_queue(lb, 1, QSIZE, eq, es);
	if (rc == 0)
		rc = vio_loopback_driver_ok(lb);
	return rc;
}

/* Waits in the polling loop for the next used entry of dq; returns 1, or <= 0. */
struct used_wait {
	struct vio_drvq *dq;
	void *token;
	uint32_t len;
};

static int poll_used(void *ctx)
{
	struct used_wait *w = ctx;

	return vio_drvq_get_used(w->dq, &w->token, &w->len);
}

static int wait_used(struct vio_drvq *dq, void **token, uint32_t *len)
{
	struct used_wait w = {dq, NULL, 0};
	int rc = platform_poll_until(poll_used, &w, POLL_US);

	*token = w.token;
	*len = w.len;
	return rc;
}

/* ---- platform ---- */

/* Reads the time in a loop for us microseconds; false if it ever went back. */
static bool monotonic_for(uint32_t us)
{
	uint64_t start = platform_now_us(), prev = start, now;

	do {
		now = platform_now_us();
		if (now < prev)
			return false;
		prev = now;
	} while (now - start < us);
	return true;
}

static void test_platform(void)
{
	uint64_t t0 = platform_now_us(), t1;

	platform_delay_us(2000);
	t1 = platform_now_us();
	checkf("platform-time", t1 - t0 >= 2000 && t1 - t0 < 10000000,
	       "2000 us delay measured as %lu us", (unsigned long) (t1 - t0));
	checkf("platform-monotonic", monotonic_for(MONOTONIC_US),
	       "time read back to back for %u us never went back", MONOTONIC_US);
	checkf("platform-window", platform_shm_size() >= NARENAS * ARENA_BYTES,
	       "shared window at %p, %lu bytes, %u device slices of %u bytes", platform_shm_base(),
	       (unsigned long) platform_shm_size(), NARENAS, ARENA_BYTES);
}

/* ---- blk ---- */

struct breq {
	uint8_t *hdr, *data, *status;
	uint32_t len;
	bool in;
};

static bool breq_make(struct breq *r, uint32_t type, uint64_t sector, uint32_t len, bool in)
{
	r->hdr = vio_loopback_alloc(&B.lb, VIO_BLK_REQ_HDR, NULL);
	r->data = len != 0 ? vio_loopback_alloc(&B.lb, len, NULL) : NULL;
	r->status = vio_loopback_alloc(&B.lb, 1, NULL);
	r->len = len;
	r->in = in;
	if (r->hdr == NULL || (len != 0 && r->data == NULL) || r->status == NULL)
		return false;
	vio_put_le32(r->hdr, type);
	vio_put_le64(r->hdr + 8, sector);
	*r->status = 0xff;
	return true;
}

/* Queues r with its data in PIECE-sized segments. */
static bool breq_queue(struct breq *r)
{
	struct vio_buf out[1 + PATTERN_LEN / PIECE], ins[1 + PATTERN_LEN / PIECE];
	unsigned nout = 0, nin = 0;

	out[nout++] = bbuf(&B.lb, r->hdr, VIO_BLK_REQ_HDR);
	for (uint32_t off = 0; off < r->len; off += PIECE) {
		uint32_t n = r->len - off < PIECE ? r->len - off : PIECE;

		if (r->in)
			ins[nin++] = bbuf(&B.lb, r->data + off, n);
		else
			out[nout++] = bbuf(&B.lb, r->data + off, n);
	}
	ins[nin++] = bbuf(&B.lb, r->status, 1);
	return vio_drvq_add(&B.dq, out, nout, ins, nin, r) >= 0;
}

/* Sends r and waits for it; returns its status byte, 0xff when it never came back. */
static uint8_t breq_do(struct breq *r, uint32_t *used)
{
	void *token;
	uint32_t len;

	if (!breq_queue(r))
		return 0xff;
	vio_loopback_kick(&B.lb, 0);
	if (wait_used(&B.dq, &token, &len) != 1 || token != r)
		return 0xff;
	*used = len;
	return *r->status;
}

static int board_setup(void)
{
	struct vio_blk_params p;
	struct vio_sim_board_config c = {.disk = B.disk,
					 .disk_bytes = sizeof(B.disk),
					 .blk = &p,
					 .queue_size = QSIZE,
					 .entropy_seed = ENTROPY_SEED};

	memset(&p, 0, sizeof(p));
	p.capacity = DISK_SECTORS;
	p.features = VIO_BIT(VIO_BLK_F_SEG_MAX) | VIO_BIT(VIO_BLK_F_FLUSH);
	p.num_queues = 1;
	p.queue_size = QSIZE;
	p.seg_max = 8;
	return vio_sim_board_init(&BOARD, &c);
}

static int blk_setup(uint8_t *arena)
{
	int rc = board_rc;

	return rc < 0 ? rc : drive(&B.lb, &BOARD.blk.dev, arena, &B.dq, B.dslots, NULL, NULL);
}

static void test_blk_rw(void)
{
	struct breq w, r, f;
	uint32_t used = 0;
	uint8_t st;

	if (!breq_make(&w, VIO_BLK_T_OUT, PATTERN_SEC, PATTERN_LEN, false) ||
	    !breq_make(&r, VIO_BLK_T_IN, PATTERN_SEC, PATTERN_LEN, true) ||
	    !breq_make(&f, VIO_BLK_T_FLUSH, 0, 0, false)) {
		check("blk-write", false, "requests do not fit in the window slice");
		return;
	}
	for (uint32_t i = 0; i < PATTERN_LEN; i++)
		w.data[i] = (uint8_t) (i * 31u + (i >> 9));
	st = breq_do(&w, &used);
	checkf("blk-write",
	       st == VIO_BLK_S_OK &&
		   memcmp(B.disk + PATTERN_SEC * VIO_BLK_SECTOR_SIZE, w.data, PATTERN_LEN) == 0,
	       "%u bytes at sector %u in %u segments: status %u", PATTERN_LEN, PATTERN_SEC,
	       PATTERN_LEN / PIECE, st);
	st = breq_do(&f, &used);
	checkf("blk-flush", st == VIO_BLK_S_OK && BOARD.rd.flushes == 1, "status %u, flushes %u",
	       st, (unsigned) BOARD.rd.flushes);
	st = breq_do(&r, &used);
	checkf("blk-read",
	       st == VIO_BLK_S_OK && used == PATTERN_LEN + 1 &&
		   memcmp(r.data, w.data, PATTERN_LEN) == 0,
	       "read back %u bytes: status %u, used %u, data %s", PATTERN_LEN, st, (unsigned) used,
	       memcmp(r.data, w.data, PATTERN_LEN) == 0 ? "equal" : "DIFFERENT");
}

/* The provider's completions run from the polling loop, as a real controller's would. */
static int poll_ramdisk(void *ctx)
{
	struct used_wait *w = ctx;

	vio_sim_ramdisk_run(&BOARD.rd);
	return vio_drvq_get_used(w->dq, &w->token, &w->len);
}

static void test_blk_async(void)
{
	struct breq r[3];
	struct used_wait w = {&B.dq, NULL, 0};
	unsigned got = 0;
	bool ok = true;

	if (vio_sim_ramdisk_defer(&BOARD.rd, B.pend, NSLOTS) < 0) {
		check("blk-async", false, "RAM disk refused deferred mode");
		return;
	}
	for (unsigned i = 0; i < 3; i++)
		ok = ok &&
		     breq_make(&r[i], VIO_BLK_T_IN, PATTERN_SEC + i, VIO_BLK_SECTOR_SIZE, true) &&
		     breq_queue(&r[i]);
	vio_loopback_kick(&B.lb, 0);
	ok = ok && vio_sim_ramdisk_pending(&BOARD.rd) == 3;
	while (ok && got < 3 && platform_poll_until(poll_ramdisk, &w, POLL_US) == 1) {
		struct breq *q = w.token;

		ok = q == &r[got] && *q->status == VIO_BLK_S_OK &&
		     memcmp(q->data, B.disk + (PATTERN_SEC + got) * VIO_BLK_SECTOR_SIZE,
			    VIO_BLK_SECTOR_SIZE) == 0;
		got++;
	}
	vio_sim_ramdisk_defer(&BOARD.rd, NULL, 0);
	checkf("blk-async", ok && got == 3,
	       "3 reads completed later from the polling loop: %u came back in order", got);
}

/* ---- rng ---- */

static void test_rng(uint8_t *arena)
{
	struct vio_sim_entropy ref;
	uint8_t *b, want[32];
	struct vio_buf in;
	void *token;
	uint32_t len = 0;
	int rc;

	/* No TRNG here: the board's documented deterministic stream, which is not random. */
	rc = board_rc;
	if (rc == 0)
		rc = drive(&R.lb, &BOARD.rng.dev, arena, &R.dq, R.dslots, NULL, NULL);
	checkf("rng-start", rc == 0, "negotiated and running (rc %d)", rc);
	if (rc != 0)
		return;
	b = vio_loopback_alloc(&R.lb, sizeof(want), NULL);
	in = bbuf(&R.lb, b, sizeof(want));
	if (vio_drvq_add(&R.dq, NULL, 0, &in, 1, b) < 0) {
		check("rng-fill", false, "could not queue a buffer");
		return;
	}
	vio_loopback_kick(&R.lb, 0);
	if (wait_used(&R.dq, &token, &len) != 1 || token != b)
		len = 0;
	vio_sim_entropy_init(&ref, ENTROPY_SEED);
	vio_sim_entropy_fill(&ref, want, sizeof(want));
	checkf("rng-fill", len == sizeof(want) && memcmp(b, want, sizeof(want)) == 0,
	       "%u bytes, first %02x %02x %02x %02x, %s the seeded stream", (unsigned) len, b[0],
	       b[1], b[2], b[3], memcmp(b, want, sizeof(want)) == 0 ? "equal to" : "NOT");
}

/* ---- gpio ---- */

/* One requestq round trip; returns the status, the value in *value. */
static uint8_t gpio_req(uint16_t type, uint16_t line, uint32_t value, uint8_t *out_value)
{
	uint8_t *h = vio_loopback_alloc(&G.lb, VIO_GPIO_REQ_SIZE, NULL);
	uint8_t *r = vio_loopback_alloc(&G.lb, VIO_GPIO_RESP_SIZE, NULL);
	struct vio_buf o, i;
	void *token;
	uint32_t len;

	if (h == NULL || r == NULL)
		return 0xff;
	vio_put_le16(h, type);
	vio_put_le16(h + 2, line);
	vio_put_le32(h + 4, value);
	r[0] = 0xff;
	o = bbuf(&G.lb, h, VIO_GPIO_REQ_SIZE);
	i = bbuf(&G.lb, r, VIO_GPIO_RESP_SIZE);
	if (vio_drvq_add(&G.dq, &o, 1, &i, 1, h) < 0)
		return 0xff;
	vio_loopback_kick(&G.lb, 0);
	if (wait_used(&G.dq, &token, &len) != 1 || token != h || len != VIO_GPIO_RESP_SIZE)
		return 0xff;
	if (out_value != NULL)
		*out_value = r[1];
	return r[0];
}

static void test_gpio_output(void)
{
	uint8_t st1, st2, st3, v = 0xff;

	st1 = gpio_req(VIO_GPIO_MSG_SET_DIRECTION, GPIO_OUT_LINE, VIO_GPIO_DIRECTION_OUT, NULL);
	st2 = gpio_req(VIO_GPIO_MSG_SET_VALUE, GPIO_OUT_LINE, 1, NULL);
	st3 = gpio_req(VIO_GPIO_MSG_GET_VALUE, GPIO_OUT_LINE, 0, &v);
	checkf("gpio-set-get",
	       st1 == 0 && st2 == 0 && st3 == 0 && v == 1 &&
		   vio_sim_gpio_get_output(&BOARD.chip, GPIO_OUT_LINE) == 1,
	       "line %u driven high: statuses %u %u %u, read %u, chip output %d", GPIO_OUT_LINE,
	       st1, st2, st3, v, vio_sim_gpio_get_output(&BOARD.chip, GPIO_OUT_LINE));
}

static void test_gpio_irq(void)
{
	uint8_t *g = vio_loopback_alloc(&G.lb, VIO_GPIO_IRQ_REQ_SIZE, NULL);
	uint8_t *s = vio_loopback_alloc(&G.lb, VIO_GPIO_IRQ_RESP_SIZE, NULL);
	uint8_t st1, st2, v = 0xff;
	struct vio_buf o, i;
	void *token = NULL;
	uint32_t len = 0;
	int early;

	st1 = gpio_req(VIO_GPIO_MSG_SET_DIRECTION, GPIO_IN_LINE, VIO_GPIO_DIRECTION_IN, NULL);
	st2 =
	    gpio_req(VIO_GPIO_MSG_SET_IRQ_TYPE, GPIO_IN_LINE, VIO_GPIO_IRQ_TYPE_EDGE_RISING, NULL);
	if (g == NULL || s == NULL || st1 != 0 || st2 != 0) {
		checkf("gpio-irq", false, "set-up failed: statuses %u %u", st1, st2);
		return;
	}
	vio_put_le16(g, GPIO_IN_LINE);
	o = bbuf(&G.lb, g, VIO_GPIO_IRQ_REQ_SIZE);
	i = bbuf(&G.lb, s, VIO_GPIO_IRQ_RESP_SIZE);
	if (vio_drvq_add(&G.eq, &o, 1, &i, 1, g) < 0) {
		check("gpio-irq", false, "could not queue the eventq buffer");
		return;
	}
	vio_loopback_kick(&G.lb, 1);
	/* Nothing may come back before the edge. */
	early = vio_drvq_get_used(&G.eq, &token, &len);
	vio_sim_gpio_set_input(&BOARD.chip, GPIO_IN_LINE, 1);
	if (wait_used(&G.eq, &token, &len) != 1)
		token = NULL;
	checkf("gpio-irq",
	       early == 0 && token == g && len == 1 && *s == VIO_GPIO_IRQ_STATUS_VALID &&
		   BOARD.gpio.irqs == 1,
	       "rising edge on line %u: eventq buffer %s, status %u, interrupts %u", GPIO_IN_LINE,
	       token == g ? "returned" : "NOT returned", *s, (unsigned) BOARD.gpio.irqs);
	gpio_req(VIO_GPIO_MSG_GET_VALUE, GPIO_IN_LINE, 0, &v);
	checkf("gpio-input", v == 1, "line %u reads %u after the edge", GPIO_IN_LINE, v);
}

static void test_gpio(uint8_t *arena)
{
	int rc;

	rc = board_rc;
	if (rc == 0)
		rc = drive(&G.lb, &BOARD.gpio.dev, arena, &G.dq, G.dslots, &G.eq, G.eslots);
	checkf("gpio-start", rc == 0, "%u lines, interrupts negotiated (rc %d)",
	       VIO_SIM_BOARD_GPIO_LINES, rc);
	if (rc != 0)
		return;
	test_gpio_output();
	test_gpio_irq();
}

/* ---- i2c ---- */

struct i2c_msg {
	uint8_t *hdr, *buf, *status;
};

/* Queues one message (flags VIO_I2C_FLAGS_*); its data is copied in for a write. */
static bool i2c_add(struct i2c_msg *m, uint16_t addr, uint32_t flags, const uint8_t *data,
		    uint32_t len)
{
	struct vio_buf out[2], in[2];
	unsigned nout = 0, nin = 0;

	m->hdr = vio_loopback_alloc(&I.lb, VIO_I2C_OUT_HDR, NULL);
	m->buf = vio_loopback_alloc(&I.lb, len, NULL);
	m->status = vio_loopback_alloc(&I.lb, 1, NULL);
	if (m->hdr == NULL || m->buf == NULL || m->status == NULL)
		return false;
	vio_put_le16(m->hdr, (uint16_t) (addr << 1));
	vio_put_le32(m->hdr + 4, flags);
	*m->status = 0xff;
	out[nout++] = bbuf(&I.lb, m->hdr, VIO_I2C_OUT_HDR);
	if (flags & VIO_I2C_FLAGS_M_RD) {
		in[nin++] = bbuf(&I.lb, m->buf, len);
	} else {
		memcpy(m->buf, data, len);
		out[nout++] = bbuf(&I.lb, m->buf, len);
	}
	in[nin++] = bbuf(&I.lb, m->status, 1);
	return vio_drvq_add(&I.dq, out, nout, in, nin, m) >= 0;
}

/* Kicks and collects n used entries in order; true when all came back in order. */
static bool i2c_run(struct i2c_msg *msgs, unsigned n)
{
	void *token;
	uint32_t len;

	vio_loopback_kick(&I.lb, 0);
	for (unsigned k = 0; k < n; k++)
		if (wait_used(&I.dq, &token, &len) != 1 || token != &msgs[k])
			return false;
	return true;
}

/* Writes reg then reads len bytes in one transaction (repeated start); true on success. */
static bool i2c_write_read(uint16_t addr, uint8_t reg, struct i2c_msg m[2], uint32_t len)
{
	return i2c_add(&m[0], addr, VIO_I2C_FLAGS_FAIL_NEXT, &reg, 1) &&
	       i2c_add(&m[1], addr, VIO_I2C_FLAGS_M_RD, NULL, len) && i2c_run(m, 2) &&
	       *m[0].status == VIO_I2C_MSG_OK && *m[1].status == VIO_I2C_MSG_OK;
}

static void test_i2c_eeprom(void)
{
	static const uint8_t w[5] = {0x20, 0x76, 0x69, 0x6f, 0x21}; /* at 0x20: "vio!" */
	struct i2c_msg wm, m[2];
	bool ok;

	ok = i2c_add(&wm, VIO_SIM_24C02_ADDR, 0, w, sizeof(w)) && i2c_run(&wm, 1) &&
	     *wm.status == VIO_I2C_MSG_OK;
	ok =
	    ok && i2c_write_read(VIO_SIM_24C02_ADDR, 0x20, m, 4) && memcmp(m[1].buf, w + 1, 4) == 0;
	checkf("i2c-24c02", ok, "wrote 4 bytes at 0x20 of the EEPROM at 0x%02x, read back %s",
	       VIO_SIM_24C02_ADDR, ok ? "equal" : "DIFFERENT or failed");
}

static void test_i2c_lm75(void)
{
	struct i2c_msg m[2];
	bool ok;

	vio_sim_lm75_set_temp_mc(&BOARD.lm75, 42500);
	ok = i2c_write_read(VIO_SIM_LM75_ADDR, 0, m, 2);
	checkf("i2c-lm75", ok && m[1].buf[0] == 0x2a && m[1].buf[1] == 0x80,
	       "temperature register at 0x%02x reads %02x %02x (want 2a 80: 42.5 C)",
	       VIO_SIM_LM75_ADDR, ok ? m[1].buf[0] : 0, ok ? m[1].buf[1] : 0);
}

static void test_i2c(uint8_t *arena)
{
	int rc;

	rc = board_rc;
	if (rc == 0)
		rc = drive(&I.lb, &BOARD.i2c.dev, arena, &I.dq, I.dslots, NULL, NULL);
	checkf("i2c-start", rc == 0, "24c02 and LM75 on the bus, negotiated (rc %d)", rc);
	if (rc != 0)
		return;
	test_i2c_eeprom();
	test_i2c_lm75();
}

int main(void)
{
	uint8_t *win = platform_shm_base();

	platform_printf("vioport selftest: blk, rng, gpio, i2c over loopback in the shared "
			"window; entropy source: %s\n",
			platform_trng_present() ? "hardware TRNG (not used by this test)"
						: "deterministic simulation, NOT random");
	test_platform();
	if (platform_shm_size() < NARENAS * ARENA_BYTES)
		return 1;
	board_rc = board_setup();

	{
		int rc = blk_setup(win);

		checkf("blk-start", rc == 0, "%u-sector RAM disk negotiated (rc %d)", DISK_SECTORS,
		       rc);
		if (rc == 0) {
			test_blk_rw();
			test_blk_async();
		}
	}
	test_rng(win + ARENA_BYTES);
	test_gpio(win + 2 * ARENA_BYTES);
	test_i2c(win + 3 * ARENA_BYTES);

	platform_printf("selftest: %u passed, %u failed\n", passed, failed);
	return failed == 0 && passed > 0 ? 0 : 1;
}
