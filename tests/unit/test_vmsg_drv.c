/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-msg driver side against the real device side over one shared-memory
 * window in this process: the driver's wait hook runs the device bus, so one
 * thread plays both. Devices: rng (0), blk (1), gpio with interrupts (2), i2c
 * (3). A fake device (the same hook answering wrongly) covers protocol errors
 * and answers to requests this driver did not make (discarded).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vioport/blk.h"
#include "vioport/byteorder.h"
#include "vioport/errno.h"
#include "vioport/gpio.h"
#include "vioport/i2c.h"
#include "vioport/rng.h"
#include "vioport/sim_entropy.h"
#include "vioport/sim_gpio.h"
#include "vioport/sim_i2c.h"
#include "vioport/sim_ramdisk.h"
#include "vioport/vmsg.h"
#include "vioport/vmsg_dev.h"
#include "vioport/vmsg_drv.h"
#include "vioport/vmsg_drv_dev.h"
#include "vioport/vmsg_shm.h"

#define WIN_SIZE     0x20000u
#define QSIZE	     8u
#define DISK_SECTORS 64u
#define NGPIO	     8u
#define RNG	     0
#define BLK	     1
#define GPIO	     2
#define I2C	     3
#define MAP_WORDS    64u

enum fake {
	FAKE_NONE,
	FAKE_SILENT,
	FAKE_WRONG_TOKEN, /* answers with a token that was not sent */
	FAKE_STALE_FIRST, /* an answer of an earlier session first, then the right one */
	FAKE_WRONG_SIZE,
	FAKE_WRONG_ID,
};

static struct {
	_Alignas(64) uint8_t win[WIN_SIZE];
	struct vio_vmsg_shm dshm, vshm; /* driver's and device's view */
	/* device side */
	struct vio_window w;
	struct vio_winmap map;
	struct vio_vmsg_dev_bus bus;
	struct vio_vmsg_dev_bus_ops bops;
	struct vio_sim_entropy ent;
	struct vio_rng rng;
	struct vio_queue rng_q;
	uint8_t disk[DISK_SECTORS * VIO_BLK_SECTOR_SIZE];
	struct vio_sim_ramdisk rd;
	struct vio_blk_params p;
	struct vio_blk blk;
	struct vio_queue blk_q;
	struct vio_blk_req blk_slots[4];
	struct vio_sim_gpio chip;
	struct vio_sim_gpio_line chip_lines[NGPIO];
	struct vio_gpio gpio;
	struct vio_gpio_line gpio_lines[NGPIO];
	struct vio_queue gpio_q[2];
	struct vio_sim_i2c_bus i2cbus;
	struct vio_sim_24c02 eeprom;
	struct vio_sim_lm75 lm75;
	struct vio_i2c i2c;
	struct vio_queue i2c_q;
	uint8_t i2c_bounce[64];
	/* driver side */
	uint64_t clock;
	struct vio_vmsg_drv_shm bind;
	struct vio_vmsg_drv drv;
	uint32_t amap[MAP_WORDS];
	struct vio_vmsg_drv_dev d[4];
	struct vio_vmsg_drv_vq vq[4][2];
	/* test knobs */
	enum fake fake;
	unsigned get_configs;	  /* GET_CONFIG messages the device saw */
	unsigned bump_at_config;  /* change blk capacity after this GET_CONFIG (0: never) */
	unsigned config_cb_calls; /* EVENT_CONFIG callbacks */
} F;

static int dev_send(void *ctx, const void *msg, uint32_t len)
{
	(void) ctx;
	return vio_vmsg_shm_send(&F.vshm, msg, len);
}

/* A device that answers wrongly: echoes the request's header with one field off. */
static void fake_answer(const uint8_t *msg, uint32_t len)
{
	uint8_t out[VIO_VMSG_MAX_SIZE] = {0};
	uint32_t n = len;

	memcpy(out, msg, len);
	out[0] |= VIO_VMSG_TYPE_RESPONSE;
	switch (F.fake) {
	case FAKE_WRONG_TOKEN:
		vio_put_le16(out + 4, (uint16_t) (vio_get_le16(msg + 4) + 1u));
		break;
	case FAKE_STALE_FIRST:
		/* What a device of the old session left in the FIFO: another token, another ID. */
		vio_put_le16(out + 4, (uint16_t) (vio_get_le16(msg + 4) + 1000u));
		out[1] = VIO_VMSG_GET_DEVICE_INFO;
		assert_int_equal(vio_vmsg_shm_send(&F.vshm, out, n), 0);
		vio_vmsg_dev_bus_handle(&F.bus, msg, len);
		return;
	case FAKE_WRONG_SIZE:
		/* One byte more than any body of that shape. */
		n = len + 1u > VIO_VMSG_MAX_SIZE ? 8u : len + 1u;
		vio_put_le16(out + 6, (uint16_t) n);
		break;
	case FAKE_WRONG_ID:
		out[1] = (uint8_t) (msg[1] + 1u);
		break;
	default:
		return;
	}
	assert_int_equal(vio_vmsg_shm_send(&F.vshm, out, n), 0);
}

/* The device's turn: every message waiting is handled (or faked). */
static void run_device(void)
{
	uint8_t msg[VIO_VMSG_MAX_SIZE];
	int n;

	while ((n = vio_vmsg_shm_recv(&F.vshm, msg, sizeof(msg))) > 0) {
		if (F.fake != FAKE_NONE && !(msg[0] & VIO_VMSG_TYPE_BUS) &&
		    msg[1] < VIO_VMSG_ID_EVENT) {
			fake_answer(msg, (uint32_t) n);
			continue;
		}
		vio_vmsg_dev_bus_handle(&F.bus, msg, (uint32_t) n);
		if (msg[1] == VIO_VMSG_GET_CONFIG && !(msg[0] & VIO_VMSG_TYPE_BUS) &&
		    ++F.get_configs == F.bump_at_config)
			vio_blk_set_capacity(&F.blk, DISK_SECTORS / 2u);
	}
	assert_true(n == 0);
}

static void os_wait(void *ctx, uint32_t timeout_us)
{
	(void) ctx;
	run_device();
	F.clock += timeout_us < 10u ? timeout_us : 10u;
}

static uint64_t os_now(void *ctx)
{
	(void) ctx;
	return F.clock;
}

static void config_cb(void *ctx, struct vio_vmsg_drv_dev *d)
{
	(void) ctx;
	(void) d;
	F.config_cb_calls++;
}

static void setup_devices(void)
{
	vio_winmap_init(&F.map, &F.w, 1);
	assert_int_equal(vio_winmap_add(&F.map, F.vshm.area_off, F.vshm.area_size,
					F.win + F.vshm.area_off, VIO_ACCESS_RW),
			 0);
	F.bops.send = dev_send;
	assert_int_equal(vio_vmsg_dev_bus_init(&F.bus, &F.bops, NULL, &F.map, VIO_VMSG_MAX_SIZE),
			 0);

	vio_sim_entropy_init(&F.ent, 7);
	assert_int_equal(vio_rng_init(&F.rng, &vio_sim_entropy_ops, &F.ent, &F.rng_q, QSIZE, 0), 0);
	assert_int_equal(vio_vmsg_dev_bus_add(&F.bus, &F.rng.dev), RNG);

	for (size_t i = 0; i < sizeof(F.disk); i++)
		F.disk[i] = (uint8_t) (i * 13u + 1u);
	vio_sim_ramdisk_init(&F.rd, F.disk, sizeof(F.disk));
	F.p.capacity = DISK_SECTORS;
	F.p.features = VIO_BIT(VIO_BLK_F_FLUSH);
	F.p.num_queues = 1;
	F.p.queue_size = QSIZE;
	assert_int_equal(
	    vio_blk_init(&F.blk, &F.p, &vio_sim_ramdisk_ops, &F.rd, &F.blk_q, F.blk_slots, 4), 0);
	assert_int_equal(vio_vmsg_dev_bus_add(&F.bus, &F.blk.dev), BLK);

	vio_sim_gpio_init(&F.chip, F.chip_lines, NGPIO, NULL);
	assert_int_equal(vio_gpio_init(&F.gpio, &vio_sim_gpio_ops, &F.chip, NGPIO, F.gpio_lines,
				       F.gpio_q, QSIZE, VIO_BIT(VIO_GPIO_F_IRQ)),
			 0);
	vio_sim_gpio_attach(&F.chip, &F.gpio);
	assert_int_equal(vio_vmsg_dev_bus_add(&F.bus, &F.gpio.dev), GPIO);

	vio_sim_i2c_init(&F.i2cbus);
	vio_sim_24c02_init(&F.eeprom, VIO_SIM_24C02_ADDR, NULL);
	vio_sim_lm75_init(&F.lm75, VIO_SIM_LM75_ADDR);
	assert_int_equal(vio_sim_i2c_attach(&F.i2cbus, &F.eeprom.dev), 0);
	assert_int_equal(vio_sim_i2c_attach(&F.i2cbus, &F.lm75.dev), 0);
	assert_int_equal(vio_i2c_init(&F.i2c, &vio_sim_i2c_ops, &F.i2cbus, &F.i2c_q, QSIZE, 0,
				      F.i2c_bounce, sizeof(F.i2c_bounce)),
			 0);
	assert_int_equal(vio_vmsg_dev_bus_add(&F.bus, &F.i2c.dev), I2C);
}

static int setup(void **state)
{
	(void) state;
	memset(&F, 0, sizeof(F));
	assert_int_equal(vio_vmsg_shm_format(&F.dshm, F.win, WIN_SIZE, 0, 1), 0);
	assert_int_equal(vio_vmsg_shm_attach(&F.vshm, F.win, WIN_SIZE), 0);
	setup_devices();
	F.bind.shm = &F.dshm;
	F.bind.wait = os_wait;
	F.bind.now_us = os_now;
	assert_int_equal(vio_vmsg_drv_init_shm(&F.drv, &F.bind, F.amap, MAP_WORDS), 0);
	F.drv.config_cb = config_cb;
	return 0;
}

static struct vio_vmsg_drv_dev *dev_up(unsigned n, uint16_t nvqs, uint64_t want)
{
	struct vio_vmsg_drv_dev *d = &F.d[n];

	assert_int_equal(vio_vmsg_drv_dev_init(d, &F.drv, (uint16_t) n, F.vq[n], nvqs), 0);
	assert_int_equal(vio_vmsg_drv_dev_start(d, want), 0);
	assert_true(d->status & VIO_STATUS_DRIVER_OK);
	return d;
}

/* Whether p lies inside the shared window. */
static bool in_window(const void *p)
{
	return (const uint8_t *) p >= F.win && (const uint8_t *) p < F.win + WIN_SIZE;
}

static void enumerate(void **state)
{
	uint8_t bm[4];
	struct vio_vmsg_device_info info;

	(void) state;
	assert_int_equal(vio_vmsg_drv_ping(&F.drv, 0xC0FFEEu), 0);
	assert_int_equal(vio_vmsg_drv_get_devices(&F.drv, bm, sizeof(bm)), 4);
	assert_int_equal(bm[0], 0x0F);
	assert_int_equal(vio_vmsg_drv_device_info(&F.drv, BLK, &info), 0);
	assert_int_equal(info.device_id, VIO_ID_BLK);
	assert_int_equal(info.config_size, VIO_BLK_CONFIG_SIZE);
	assert_int_equal(vio_vmsg_drv_device_info(&F.drv, GPIO, &info), 0);
	assert_int_equal(info.device_id, VIO_ID_GPIO);
	assert_int_equal(info.max_virtqueues, 2);
	assert_int_equal(vio_vmsg_drv_device_info(&F.drv, I2C, &info), 0);
	assert_int_equal(info.device_id, VIO_ID_I2C);
}

static void rng_read(void **state)
{
	static uint8_t buf[100]; /* caller memory outside the window */
	struct vio_sim_entropy ref;
	uint8_t want[100];
	struct vio_vmsg_drv_dev *d;

	(void) state;
	d = dev_up(RNG, 1, 0);
	assert_int_equal(d->info.device_id, VIO_ID_RNG);
	assert_false(in_window(buf));
	assert_int_equal(vio_vmsg_drv_rng_read(d, buf, sizeof(buf)), sizeof(buf));
	vio_sim_entropy_init(&ref, 7);
	vio_sim_entropy_fill(&ref, want, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	/* Every bounce went back to the allocator: only the ring stays. */
	assert_int_equal(F.drv.area.used * VIO_VMSG_DRV_CHUNK,
			 (F.vq[RNG][0].ring_len + 63u) / 64u * 64u);
}

static void blk_rw(void **state)
{
	static uint8_t wr[2 * VIO_BLK_SECTOR_SIZE], rd[2 * VIO_BLK_SECTOR_SIZE];
	struct vio_vmsg_drv_dev *d;
	uint64_t cap;

	(void) state;
	d = dev_up(BLK, 1, VIO_BIT(VIO_BLK_F_FLUSH));
	assert_true(d->features & VIO_BIT(VIO_BLK_F_FLUSH));
	assert_int_equal(vio_vmsg_drv_blk_capacity(d, &cap), 0);
	assert_int_equal(cap, DISK_SECTORS);
	/* A config read in two chunks: 72 bytes over a 44-byte message payload. */
	{
		uint8_t cfg[VIO_BLK_CONFIG_SIZE];

		assert_int_equal(vio_vmsg_drv_read_config(d, 0, cfg, sizeof(cfg)), 0);
		assert_int_equal(vio_get_le64(cfg), DISK_SECTORS);
	}
	assert_int_equal(vio_vmsg_drv_blk_read(d, 3, rd, 2), 0);
	assert_memory_equal(rd, F.disk + 3 * VIO_BLK_SECTOR_SIZE, sizeof(rd));
	for (size_t i = 0; i < sizeof(wr); i++)
		wr[i] = (uint8_t) (0xA5 ^ i);
	assert_int_equal(vio_vmsg_drv_blk_write(d, 10, wr, 2), 0);
	assert_memory_equal(F.disk + 10 * VIO_BLK_SECTOR_SIZE, wr, sizeof(wr));
	memset(rd, 0, sizeof(rd));
	assert_int_equal(vio_vmsg_drv_blk_read(d, 10, rd, 2), 0);
	assert_memory_equal(rd, wr, sizeof(wr));
	/* Beyond the disk: the device's IOERR. */
	assert_int_equal(vio_vmsg_drv_blk_read(d, DISK_SECTORS, rd, 1), -VIO_EIO);
}

static void config_generation_change(void **state)
{
	struct vio_vmsg_drv_dev *d;
	uint8_t cfg[VIO_BLK_CONFIG_SIZE];

	(void) state;
	d = dev_up(BLK, 1, 0);
	F.bump_at_config = F.get_configs + 1u; /* right after the first chunk */
	assert_int_equal(vio_vmsg_drv_read_config(d, 0, cfg, sizeof(cfg)), 0);
	assert_int_equal(F.drv.config_retries, 1);
	assert_int_equal(vio_get_le64(cfg), DISK_SECTORS / 2u);
	assert_true(F.config_cb_calls >= 1);
	assert_int_equal(d->generation, F.blk.dev.config_generation);
}

static void gpio_ops_and_irq(void **state)
{
	struct vio_vmsg_drv_dev *d;
	char names[256];
	uint16_t line;
	uint8_t status;
	int n;

	(void) state;
	d = dev_up(GPIO, 2, VIO_BIT(VIO_GPIO_F_IRQ));
	assert_true(d->features & VIO_BIT(VIO_GPIO_F_IRQ));
	assert_int_equal(vio_vmsg_drv_gpio_set_direction(d, 1, VIO_GPIO_DIRECTION_OUT), 0);
	assert_int_equal(vio_vmsg_drv_gpio_set(d, 1, 1), 0);
	assert_int_equal(vio_sim_gpio_get_output(&F.chip, 1), 1);
	assert_int_equal(vio_vmsg_drv_gpio_get(d, 1), 1);
	assert_int_equal(vio_vmsg_drv_gpio_set(d, 1, 0), 0);
	assert_int_equal(vio_sim_gpio_get_output(&F.chip, 1), 0);
	/* A line that does not exist: the device says ERR. */
	assert_int_equal(vio_vmsg_drv_gpio_get(d, NGPIO), -VIO_EIO);

	n = vio_vmsg_drv_gpio_line_names(d, names, sizeof(names));
	assert_true(n > 0);
	assert_string_equal(names, "sim-gpio-0");
	assert_int_equal(vio_vmsg_drv_gpio_line_names(d, names, 4), -VIO_E2BIG);

	assert_int_equal(vio_vmsg_drv_gpio_set_direction(d, 3, VIO_GPIO_DIRECTION_IN), 0);
	assert_int_equal(vio_vmsg_drv_gpio_set_irq_type(d, 3, VIO_GPIO_IRQ_TYPE_EDGE_RISING), 0);
	assert_int_equal(vio_vmsg_drv_gpio_irq_arm(d, 3), 0);
	run_device();
	/* Nothing happened yet. */
	assert_int_equal(vio_vmsg_drv_gpio_irq_wait(d, &line, &status, 100), -VIO_ETIMEDOUT);
	assert_int_equal(vio_sim_gpio_set_input(&F.chip, 3, 1), 0);
	assert_int_equal(vio_vmsg_drv_gpio_irq_wait(d, &line, &status, 1000), 1);
	assert_int_equal(line, 3);
	assert_int_equal(status, VIO_GPIO_IRQ_STATUS_VALID);
	assert_int_equal(vio_vmsg_drv_gpio_get(d, 3), 1);
}

static void i2c_eeprom_lm75(void **state)
{
	static const uint8_t wr[] = {0x10, 0xDE, 0xAD, 0xBE, 0xEF};
	uint8_t off = 0x10, rd[4] = {0}, temp[2] = {0};
	struct vio_vmsg_drv_dev *d;

	(void) state;
	d = dev_up(I2C, 1, VIO_BIT(VIO_I2C_F_ZERO_LENGTH_REQUEST));
	assert_int_equal(
	    vio_vmsg_drv_i2c_xfer(d, VIO_SIM_24C02_ADDR, false, (void *) wr, sizeof(wr)), 0);
	assert_int_equal(
	    vio_vmsg_drv_i2c_write_read(d, VIO_SIM_24C02_ADDR, &off, 1, rd, sizeof(rd)), 0);
	assert_memory_equal(rd, wr + 1, 4);
	/* LM75 at 25 °C: pointer 0, temperature register 0x1900. */
	off = 0;
	assert_int_equal(
	    vio_vmsg_drv_i2c_write_read(d, VIO_SIM_LM75_ADDR, &off, 1, temp, sizeof(temp)), 0);
	assert_int_equal(temp[0], 25);
	assert_int_equal(temp[1], 0);
	/* A probe where nobody answers: NACK. */
	assert_int_equal(vio_vmsg_drv_i2c_xfer(d, 0x22, false, NULL, 0), -VIO_EIO);
	assert_int_equal(vio_vmsg_drv_i2c_xfer(d, VIO_SIM_LM75_ADDR, false, NULL, 0), 0);
}

static void bounce_and_async(void **state)
{
	static uint8_t a[64], b[64];
	struct vio_vmsg_drv_seg sa = {a, sizeof(a)}, sb = {b, sizeof(b)};
	struct vio_vmsg_drv_dev *d;
	void *tok;
	uint32_t len, used_before;
	bool seen_a = false, seen_b = false;

	(void) state;
	d = dev_up(RNG, 1, 0);
	used_before = F.drv.area.used;
	assert_int_equal(vio_vmsg_drv_submit(d, 0, NULL, 0, &sa, 1, &sa), 0);
	assert_int_equal(vio_vmsg_drv_submit(d, 0, NULL, 0, &sb, 1, &sb), 0);
	/* Two bounces are out; the caller's buffers are untouched until completion. */
	assert_int_equal(F.drv.area.used, used_before + 2u);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(vio_vmsg_drv_wait_used(d, 0, &tok, &len, 1000), 1);
		assert_int_equal(len, 64);
		seen_a |= tok == &sa;
		seen_b |= tok == &sb;
	}
	assert_true(seen_a && seen_b);
	assert_int_equal(F.drv.area.used, used_before);
	assert_memory_not_equal(a, b, sizeof(a));
	/* Bad shapes. */
	assert_int_equal(vio_vmsg_drv_submit(d, 0, NULL, 0, &sa, 1, NULL), -VIO_EINVAL);
	assert_int_equal(vio_vmsg_drv_submit(d, 1, NULL, 0, &sa, 1, &sa), -VIO_EINVAL);
	assert_int_equal(vio_vmsg_drv_get_used(d, 0, &tok, &len), 0);
}

/*
 * The generic requests device helpers are made of, on the rng queue: a
 * request whose bytes live in its own record, a synchronous one, and a batch
 * queued at once; each gets the entropy stream's next bytes, in order.
 */
static void generic_requests(void **state)
{
	static uint8_t one[16], b0[8], b1[24], b2[4]; /* caller memory outside the window */
	struct vio_vmsg_drv_seg s1 = {one, sizeof(one)}, s0 = {b0, sizeof(b0)},
				sb1 = {b1, sizeof(b1)}, sb2 = {b2, sizeof(b2)};
	struct vio_vmsg_drv_xfer x[VIO_VMSG_DRV_BATCH_MAX + 1] = {
	    {.in = &s0, .nin = 1}, {.in = &sb1, .nin = 1}, {.in = &sb2, .nin = 1}};
	const uint8_t init[4] = {0xAA, 0xAA, 0xAA, 0xAA};
	uint8_t want[4 + 16 + 8 + 24 + 4];
	const struct vio_vmsg_drv_req *rec;
	struct vio_sim_entropy ref;
	struct vio_vmsg_drv_dev *d;
	uint32_t len, used_before;
	void *tok;

	(void) state;
	d = dev_up(RNG, 1, 0);
	used_before = F.drv.area.used;
	/* The device fills each request with one call, as these. */
	vio_sim_entropy_init(&ref, 7);
	vio_sim_entropy_fill(&ref, want, 4);
	vio_sim_entropy_fill(&ref, want + 4, 16);
	vio_sim_entropy_fill(&ref, want + 20, 8);
	vio_sim_entropy_fill(&ref, want + 28, 24);
	vio_sim_entropy_fill(&ref, want + 52, 4);

	/* Inline: 4 device-writable bytes kept in the record, which is the token. */
	assert_int_equal(vio_vmsg_drv_submit_inline(d, 0, init, 4, 0), 0);
	assert_int_equal(vio_vmsg_drv_wait_used(d, 0, &tok, &len, 1000), 1);
	rec = tok;
	assert_true(rec >= &F.vq[RNG][0].reqs[0] &&
		    rec < &F.vq[RNG][0].reqs[VIO_VMSG_DRV_QSIZE_MAX]);
	assert_int_equal(len, 4);
	assert_memory_equal(rec->inl, want, 4);
	assert_int_equal(vio_vmsg_drv_submit_inline(d, 0, init, 0, 0), -VIO_EINVAL);
	assert_int_equal(vio_vmsg_drv_submit_inline(d, 0, init, 9, 0), -VIO_EINVAL);
	assert_int_equal(vio_vmsg_drv_submit_inline(d, 0, init, 2, 3), -VIO_EINVAL);
	assert_int_equal(vio_vmsg_drv_submit_inline(d, 1, init, 4, 0), -VIO_EINVAL);

	/* Synchronous. */
	assert_int_equal(vio_vmsg_drv_request(d, 0, NULL, 0, &s1, 1, &len), 0);
	assert_int_equal(len, sizeof(one));
	assert_memory_equal(one, want + 4, sizeof(one));

	/* A batch: all three done, each with its length, in queue order. */
	assert_int_equal(vio_vmsg_drv_request_batch(d, 0, x, 3), 0);
	assert_int_equal(x[0].len, sizeof(b0));
	assert_int_equal(x[1].len, sizeof(b1));
	assert_int_equal(x[2].len, sizeof(b2));
	assert_memory_equal(b0, want + 20, sizeof(b0));
	assert_memory_equal(b1, want + 28, sizeof(b1));
	assert_memory_equal(b2, want + 52, sizeof(b2));
	assert_int_equal(vio_vmsg_drv_request_batch(d, 0, x, 0), -VIO_EINVAL);
	assert_int_equal(vio_vmsg_drv_request_batch(d, 0, x, VIO_VMSG_DRV_BATCH_MAX + 1),
			 -VIO_EINVAL);
	/* Every bounce went back to the allocator. */
	assert_int_equal(F.drv.area.used, used_before);
}

static void area_exhaustion(void **state)
{
	static uint8_t big[WIN_SIZE];
	struct vio_vmsg_drv_dev *d;
	int64_t hog;
	uint32_t free_bytes;

	(void) state;
	d = dev_up(RNG, 1, 0);
	/* Larger than the whole area: a clean error, nothing leaked. */
	assert_int_equal(vio_vmsg_drv_rng_read(d, big, sizeof(big)), -VIO_ENOMEM);
	free_bytes = (F.drv.area.chunks - F.drv.area.used) * VIO_VMSG_DRV_CHUNK;
	hog = vio_vmsg_drv_area_alloc(&F.drv, free_bytes);
	assert_true(hog >= 0);
	assert_int_equal(vio_vmsg_drv_area_alloc(&F.drv, 1), -VIO_ENOMEM);
	assert_int_equal(vio_vmsg_drv_rng_read(d, big, 16), -VIO_ENOMEM);
	/* A queue cannot be set up either. */
	assert_int_equal(vio_vmsg_drv_dev_init(&F.d[BLK], &F.drv, BLK, F.vq[BLK], 1), 0);
	assert_int_equal(vio_vmsg_drv_dev_start(&F.d[BLK], 0), -VIO_ENOMEM);
	vio_vmsg_drv_area_free(&F.drv, (uint32_t) hog, free_bytes);
	assert_int_equal(vio_vmsg_drv_rng_read(d, big, 16), 16);
}

static void timeout(void **state)
{
	struct vio_vmsg_drv_dev *d;
	uint8_t st;

	(void) state;
	d = dev_up(RNG, 1, 0);
	F.drv.timeout_us = 1000;
	F.fake = FAKE_SILENT;
	F.clock = 5;
	assert_int_equal(vio_vmsg_drv_get_status(d, &st), -VIO_ETIMEDOUT);
	assert_true(F.clock >= 1000);
	assert_false(d->broken);
	/* The device comes back: the late answer is dropped, the next request works. */
	F.fake = FAKE_NONE;
	assert_int_equal(vio_vmsg_drv_get_status(d, &st), 0);
	assert_true(st & VIO_STATUS_DRIVER_OK);
}

/*
 * Answers whose token this driver has not outstanding are discarded (the
 * draft's rule), not a protocol error: the request waits for its own answer.
 */
static void foreign_tokens_discarded(void **state)
{
	struct vio_vmsg_drv_dev *d;
	uint8_t st, buf[16];

	(void) state;
	d = dev_up(RNG, 1, 0);
	F.fake = FAKE_STALE_FIRST;
	assert_int_equal(vio_vmsg_drv_get_status(d, &st), 0);
	assert_true(st & VIO_STATUS_DRIVER_OK);
	assert_int_equal(F.drv.dropped, 1);
	assert_false(d->broken);
	/* Only foreign answers: the request times out, the device is not broken. */
	F.drv.timeout_us = 1000;
	F.fake = FAKE_WRONG_TOKEN;
	assert_int_equal(vio_vmsg_drv_get_status(d, &st), -VIO_ETIMEDOUT);
	assert_false(d->broken);
	assert_int_equal(F.drv.dropped, 2);
	/* The right token on another ID answers nothing this driver asked: discarded too. */
	F.fake = FAKE_WRONG_ID;
	assert_int_equal(vio_vmsg_drv_get_status(d, &st), -VIO_ETIMEDOUT);
	assert_false(d->broken);
	assert_int_equal(F.drv.dropped, 3);
	/* Bus requests (PING, GET_DEVICES) too. */
	F.fake = FAKE_NONE;
	assert_int_equal(vio_vmsg_drv_rng_read(d, buf, sizeof(buf)), sizeof(buf));
	{
		uint8_t stale[VIO_VMSG_MAX_SIZE], bitmap[4];
		struct vio_vmsg_hdr h = {.type = VIO_VMSG_TYPE_BUS | VIO_VMSG_TYPE_RESPONSE,
					 .id = VIO_VMSG_BUS_PING,
					 .token = 0xBEEF};
		int n = vio_vmsg_encode_u32(stale, sizeof(stale), &h, 1);

		assert_int_equal(vio_vmsg_shm_send(&F.vshm, stale, (uint32_t) n), 0);
		assert_int_equal(vio_vmsg_drv_ping(&F.drv, 77), 0);
		assert_int_equal(vio_vmsg_shm_send(&F.vshm, stale, (uint32_t) n), 0);
		assert_int_equal(vio_vmsg_drv_get_devices(&F.drv, bitmap, sizeof(bitmap)), 4);
		assert_int_equal(F.drv.dropped, 5);
	}
}

static void protocol_errors(void **state)
{
	static const enum fake kinds[] = {FAKE_WRONG_SIZE};
	uint8_t buf[16];

	(void) state;
	for (unsigned k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		struct vio_vmsg_drv_dev *d;
		uint8_t st;

		setup(NULL);
		d = dev_up(RNG, 1, 0);
		F.fake = kinds[k];
		assert_int_equal(vio_vmsg_drv_get_status(d, &st), -VIO_EPROTO);
		assert_true(d->broken);
		/* Stays broken: requests fail at once, nothing is sent. */
		assert_int_equal(vio_vmsg_drv_rng_read(d, buf, sizeof(buf)), -VIO_EPROTO);
		assert_int_equal(vio_vmsg_drv_get_status(d, &st), -VIO_EPROTO);
		/* An honest device again: a reset and bring-up make it usable. */
		F.fake = FAKE_NONE;
		run_device();
		vio_vmsg_drv_pump(&F.drv);
		assert_int_equal(vio_vmsg_drv_dev_start(d, 0), 0);
		assert_int_equal(vio_vmsg_drv_rng_read(d, buf, sizeof(buf)), sizeof(buf));
	}
}

static void needs_reset(void **state)
{
	struct vio_vmsg_drv_dev *d;
	uint8_t buf[8];

	(void) state;
	d = dev_up(RNG, 1, 0);
	/* The device breaks (as on a ring violation): EVENT_CONFIG with NEEDS_RESET. */
	vio_device_break(&F.rng.dev, -VIO_EINVAL);
	run_device();
	assert_int_equal(vio_vmsg_drv_pump(&F.drv), 0);
	assert_true(d->needs_reset);
	assert_int_equal(vio_vmsg_drv_rng_read(d, buf, sizeof(buf)), -VIO_EIO);
	assert_int_equal(vio_vmsg_drv_dev_start(d, 0), 0);
	assert_false(d->needs_reset);
	assert_int_equal(vio_vmsg_drv_rng_read(d, buf, sizeof(buf)), sizeof(buf));
}

static void raw_and_hostile_driver(void **state)
{
	uint8_t msg[VIO_VMSG_MAX_SIZE], in[VIO_VMSG_MAX_SIZE];
	struct vio_vmsg_hdr h = {.type = VIO_VMSG_TYPE_BUS, .id = VIO_VMSG_BUS_PING, .token = 77};
	struct vio_vmsg_hdr rh;
	uint32_t v;
	int n;

	(void) state;
	n = vio_vmsg_encode_u32(msg, sizeof(msg), &h, 5);
	assert_int_equal(vio_vmsg_drv_raw_send(&F.drv, msg, (uint32_t) n), 0);
	n = vio_vmsg_drv_raw_recv(&F.drv, in, sizeof(in), 1000);
	assert_int_equal(n, VIO_VMSG_SIZE_U32);
	assert_int_equal(vio_vmsg_hdr_decode(&rh, in, (uint32_t) n, sizeof(in)), 0);
	assert_int_equal(rh.token, 77);
	assert_int_equal(vio_vmsg_decode_u32(&rh, in, &v), 0);
	assert_int_equal(v, 5);
	/* A malformed message gets no answer. */
	vio_put_le16(msg + 6, 9);
	msg[8] = 0;
	assert_int_equal(vio_vmsg_drv_raw_send(&F.drv, msg, 9), 0);
	assert_int_equal(vio_vmsg_drv_raw_recv(&F.drv, in, sizeof(in), 100), -VIO_ETIMEDOUT);
}

static void init_errors(void **state)
{
	struct vio_vmsg_drv drv;
	struct vio_vmsg_drv_shm b = {.shm = &F.dshm};
	uint32_t map[2];

	(void) state;
	assert_int_equal(vio_vmsg_drv_init_shm(&drv, &b, map, 2), -VIO_EINVAL); /* no clock */
	b.now_us = os_now;
	b.shm = &F.vshm;
	assert_int_equal(vio_vmsg_drv_init_shm(&drv, &b, map, 2), -VIO_EINVAL); /* device side */
	assert_int_equal(vio_vmsg_drv_init(&drv, &vio_vmsg_drv_shm_ops, &b, F.win, WIN_SIZE,
					   WIN_SIZE - 64u, 128u, map, 2, 64),
			 -VIO_EINVAL);
	assert_int_equal(vio_vmsg_drv_dev_init(&F.d[0], &F.drv, 0, F.vq[0], 1), 0);
	assert_int_equal(vio_vmsg_drv_dev_init(&F.d[1], &F.drv, 0, F.vq[1], 1), -VIO_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(enumerate, setup),
	    cmocka_unit_test_setup(rng_read, setup),
	    cmocka_unit_test_setup(blk_rw, setup),
	    cmocka_unit_test_setup(config_generation_change, setup),
	    cmocka_unit_test_setup(gpio_ops_and_irq, setup),
	    cmocka_unit_test_setup(i2c_eeprom_lm75, setup),
	    cmocka_unit_test_setup(bounce_and_async, setup),
	    cmocka_unit_test_setup(generic_requests, setup),
	    cmocka_unit_test_setup(area_exhaustion, setup),
	    cmocka_unit_test_setup(timeout, setup),
	    cmocka_unit_test_setup(foreign_tokens_discarded, setup),
	    cmocka_unit_test_setup(protocol_errors, setup),
	    cmocka_unit_test_setup(needs_reset, setup),
	    cmocka_unit_test_setup(raw_and_hostile_driver, setup),
	    cmocka_unit_test_setup(init_errors, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
