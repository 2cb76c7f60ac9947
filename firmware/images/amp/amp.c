/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * amp: the firmware half of an asymmetric multiprocessing system. One
 * virtio-msg bus on the shared window (the platform's window symbols) serves
 * four devices to whatever driver formats the window: a RAM disk (blk), entropy
 * (rng: the platform TRNG, or the deterministic simulation when the SoC has
 * none), a simulated GPIO chip with eight named lines (gpio), and the simulated
 * I2C bus with a 24c02 EEPROM and an LM75 sensor (i2c).
 *
 * The core gets no interrupt from the driver, so the main loop polls, backing
 * off while idle. It attaches when the driver formats the window, resets every
 * device when the driver restarts (a new generation) or leaves, and stops on a
 * corrupt window until the next format. The driver ends the program through
 * the control words of include/vioport/vmsg_ctl.h; the image then reports what
 * it served and exits with the status the driver chose.
 *
 * All memory is static; there is no heap.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "platform.h"
#include "vioport/blk.h"
#include "vioport/byteorder.h"
#include "vioport/compiler.h"
#include "vioport/errno.h"
#include "vioport/gpio.h"
#include "vioport/i2c.h"
#include "vioport/rng.h"
#include "vioport/sim_entropy.h"
#include "vioport/sim_gpio.h"
#include "vioport/sim_i2c.h"
#include "vioport/sim_ramdisk.h"
#include "vioport/vmsg_ctl.h"
#include "vioport/vmsg_endpoint.h"
#include "vioport/vmsg_shm.h"
#include "vioport/window.h"

#ifndef AMP_DISK_SECTORS
#define AMP_DISK_SECTORS 128u /* 64 KiB */
#endif
#define QSIZE	      16u
#define BLK_SLOTS     8u
#define GPIO_LINES    8u
#define JUMPER_OUT    3u    /* a wire on the simulated board: this output drives ... */
#define JUMPER_IN     4u    /* ... this input, so a driver can raise its own edges */
#define LM75_MC	      36500 /* what the simulated sensor reads, in milli-degrees C */
#define ENTROPY_SEED  0x616d70ull
#define IDLE_MAX_US   1000u /* longest pause between two polls of an idle window */
#define FULL_TRIES    200u  /* device-to-driver FIFO full: waits before a message is lost */
#define FULL_PAUSE_US 100u

static const char *const gpio_names[GPIO_LINES] = {
    "led0", "led1", "led2", "jumper-out", "jumper-in", "button0", "button1", "spare",
};

static const char disk_label[] = "vioport amp RAM disk: sector 0\n";

/* The devices: each one's state, queues and provider. */
static struct {
#ifndef AMP_GPIO_ONLY
	uint8_t disk[AMP_DISK_SECTORS * VIO_BLK_SECTOR_SIZE];
	struct vio_sim_ramdisk rd;
	struct vio_blk blk;
	struct vio_queue blk_queue;
	struct vio_blk_req blk_slots[BLK_SLOTS];

	struct vio_sim_entropy ent;
	bool trng;
	uint64_t rng_bytes;
	struct vio_rng rng;
	struct vio_queue rng_queue;
#endif

	struct vio_sim_gpio chip;
	struct vio_sim_gpio_line chip_lines[GPIO_LINES];
	struct vio_gpio gpio;
	struct vio_gpio_line gpio_lines[GPIO_LINES];
	struct vio_queue gpio_queues[2];
	uint8_t jumper;

#ifndef AMP_GPIO_ONLY
	struct vio_sim_i2c_bus i2c_bus;
	struct vio_sim_24c02 eeprom;
	struct vio_sim_lm75 lm75;
	uint8_t i2c_bounce[256];
	struct vio_i2c i2c;
	struct vio_queue i2c_queue;
#endif
} D;

/* The window and its endpoint (src/vmsg/endpoint.c), and the idle backoff. */
static struct {
	struct vio_vmsg_ep ep;
	uint32_t idle_us;
} A;

/* ---- platform glue ---- */

static void cache_clean(void *ctx, const void *p, uint32_t len)
{
	(void) ctx;
	platform_cache_clean(p, len);
}

static void cache_invalidate(void *ctx, const void *p, uint32_t len)
{
	(void) ctx;
	platform_cache_invalidate(p, len);
}

static void doorbell_ring(void *ctx)
{
	(void) ctx;
	platform_doorbell_ring();
}

static const struct vio_vmsg_cache_ops window_cache = {
    .clean = cache_clean,
    .invalidate = cache_invalidate,
};

#ifndef AMP_GPIO_ONLY
/* Entropy: the SoC's TRNG when it has one, the documented simulation otherwise. */
static int rng_fill(void *ctx, uint8_t *buf, uint32_t len)
{
	int n;

	(void) ctx;
	n = D.trng ? platform_trng_read(buf, len) : vio_sim_entropy_fill(&D.ent, buf, len);
	if (n > 0)
		D.rng_bytes += (uint32_t) n;
	return n;
}

static const struct vio_rng_ops rng_ops = {.fill = rng_fill};
#endif

/* ---- the endpoint ---- */

/* The bus's and the endpoint's lines about a message (the errors are never 0). */
static void bus_log(void *ctx, const char *msg, int err)
{
	(void) ctx;
	platform_printf("amp: %s (error %d)\n", msg, err);
}

static void ep_event(void *ctx, int ev, int32_t arg)
{
	(void) ctx;
	switch (ev) {
	case VIO_VMSG_EP_ATTACHED:
		platform_printf("amp: attached (driver generation %lu, area %lu bytes at %lu)\n",
				(unsigned long) (uint32_t) arg, (unsigned long) A.ep.shm.area_size,
				(unsigned long) A.ep.shm.area_off);
		break;
	case VIO_VMSG_EP_REFUSED:
		platform_printf("amp: invalid window header (driver generation %lu): waiting for "
				"a re-format\n",
				(unsigned long) (uint32_t) arg);
		break;
	case VIO_VMSG_EP_RESTARTED:
		platform_printf("amp: the driver restarted: devices reset\n");
		break;
	case VIO_VMSG_EP_LEFT:
		platform_printf("amp: the driver left the window: devices reset\n");
		break;
	case VIO_VMSG_EP_CORRUPT:
		platform_printf("amp: corrupt FIFO index: stopped, devices reset until a "
				"re-format\n");
		break;
	case VIO_VMSG_EP_LOST:
		bus_log(NULL, "a message to the driver was lost", (int) arg);
		break;
	}
}

static void ep_delay(void *ctx, uint32_t us)
{
	(void) ctx;
	platform_delay_us(us);
}

static void jumper(void *ctx);

static const struct vio_vmsg_ep_ops ep_ops = {
    .delay_us = ep_delay, .event = ep_event, .log = bus_log, .handled = jumper};

/* ---- set-up ---- */

#ifndef AMP_GPIO_ONLY
static int setup_blk(void)
{
	struct vio_blk_params p;

	memset(&p, 0, sizeof(p));
	p.capacity = AMP_DISK_SECTORS;
	p.features = VIO_BIT(VIO_BLK_F_SEG_MAX) | VIO_BIT(VIO_BLK_F_FLUSH);
	p.num_queues = 1;
	p.queue_size = QSIZE;
	p.seg_max = 8;
	memcpy(D.disk, disk_label, sizeof(disk_label));
	vio_sim_ramdisk_init(&D.rd, D.disk, sizeof(D.disk));
	return vio_blk_init(&D.blk, &p, &vio_sim_ramdisk_ops, &D.rd, &D.blk_queue, D.blk_slots,
			    BLK_SLOTS);
}

static int setup_rng(void)
{
	D.trng = platform_trng_present();
	vio_sim_entropy_init(&D.ent, ENTROPY_SEED);
	return vio_rng_init(&D.rng, &rng_ops, NULL, &D.rng_queue, QSIZE, 0);
}

#endif

static int setup_gpio(void)
{
	int rc;

	vio_sim_gpio_init(&D.chip, D.chip_lines, GPIO_LINES, gpio_names);
	rc = vio_gpio_init(&D.gpio, &vio_sim_gpio_ops, &D.chip, GPIO_LINES, D.gpio_lines,
			   D.gpio_queues, QSIZE, VIO_BIT(VIO_GPIO_F_IRQ));
	if (rc == 0)
		vio_sim_gpio_attach(&D.chip, &D.gpio);
	return rc;
}

#ifndef AMP_GPIO_ONLY
static int setup_i2c(void)
{
	int rc;

	vio_sim_i2c_init(&D.i2c_bus);
	vio_sim_24c02_init(&D.eeprom, VIO_SIM_24C02_ADDR, NULL);
	vio_sim_lm75_init(&D.lm75, VIO_SIM_LM75_ADDR);
	vio_sim_lm75_set_temp_mc(&D.lm75, LM75_MC);
	rc = vio_sim_i2c_attach(&D.i2c_bus, &D.eeprom.dev);
	if (rc == 0)
		rc = vio_sim_i2c_attach(&D.i2c_bus, &D.lm75.dev);
	if (rc == 0)
		rc = vio_i2c_init(&D.i2c, &vio_sim_i2c_ops, &D.i2c_bus, &D.i2c_queue, QSIZE, 0,
				  D.i2c_bounce, sizeof(D.i2c_bounce));
	return rc;
}
#endif

static int setup(void)
{
#ifdef AMP_GPIO_ONLY
	struct vio_device *devs[] = {&D.gpio.dev};
#else
	struct vio_device *devs[] = {&D.blk.dev, &D.rng.dev, &D.gpio.dev, &D.i2c.dev};
#endif
	struct vio_vmsg_ep_config ec = {
	    .ops = &ep_ops,
	    .bell = {doorbell_ring, NULL},
	    .cache = &window_cache,
	    .full_tries = FULL_TRIES,
	    .full_pause_us = FULL_PAUSE_US,
	};
	int rc;

	ec.base = platform_shm_base();
	ec.size = (uint32_t) platform_shm_size();
	/* Not serving yet: a driver waiting for an earlier run of this image goes on. */
	rc = vio_vmsg_ep_init(&A.ep, &ec);
	if (rc == 0)
		rc = setup_gpio();
#ifndef AMP_GPIO_ONLY
	if (rc == 0)
		rc = setup_blk();
	if (rc == 0)
		rc = setup_rng();
	if (rc == 0)
		rc = setup_i2c();
#endif
	for (unsigned i = 0; rc == 0 && i < sizeof(devs) / sizeof(devs[0]); i++) {
		int n = vio_vmsg_ep_add(&A.ep, devs[i]);

		rc = n < 0 ? n : 0;
	}
	return rc;
}

/* ---- serving ---- */

/* The wire between two lines of the simulated chip: an output change reaches the input. */
static void jumper(void *ctx)
{
	int out;

	(void) ctx;
	out = vio_sim_gpio_get_output(&D.chip, JUMPER_OUT);

	if (out >= 0 && (uint8_t) out != D.jumper) {
		D.jumper = (uint8_t) out;
		vio_sim_gpio_set_input(&D.chip, JUMPER_IN, D.jumper);
	}
}

/* Prints what was served, once, before the exit. */
static void report(int status)
{
	const struct vio_vmsg_endpoint_stats *st = &A.ep.stats;

	platform_printf("amp: served %lu messages, sent %lu (%lu lost, %lu of ended sessions "
			"dropped), %lu malformed dropped (%lu by the bus)\n",
			st->received, st->sent, st->lost, st->dropped_old, st->bad_messages,
			(unsigned long) A.ep.bus.dropped);
#ifdef AMP_GPIO_ONLY
	platform_printf("amp: gpio %lu operations %lu interrupts\n", (unsigned long) D.chip.ops,
			(unsigned long) D.gpio.irqs);
#else
	platform_printf("amp: blk %lu reads %lu writes %lu flushes; rng %lu bytes; gpio %lu "
			"operations %lu interrupts; i2c %lu messages %lu NACKs\n",
			(unsigned long) D.rd.reads, (unsigned long) D.rd.writes,
			(unsigned long) D.rd.flushes, (unsigned long) D.rng_bytes,
			(unsigned long) D.chip.ops, (unsigned long) D.gpio.irqs,
			(unsigned long) D.i2c_bus.msgs, (unsigned long) D.i2c_bus.nacks);
#endif
	platform_printf("amp: %lu attaches, %lu driver restarts, %lu corrupt windows, %lu refused "
			"headers; exit status %d\n",
			(unsigned long) st->attaches, (unsigned long) st->driver_restarts,
			(unsigned long) st->stops, (unsigned long) st->refused, status);
}

/*
 * One pass of the main loop: the control words, then the endpoint, then the
 * idle backoff. Always 0, so the loop never ends by itself: the exit request
 * leaves through platform_exit.
 */
static int poll_once(void *ctx)
{
	int work;

	(void) ctx;
	if (vio_vmsg_ep_window_word(&A.ep, VIO_VMSG_SHM_OFF_CTL_REQ) == VIO_VMSG_CTL_EXIT) {
		int status =
		    (int) (vio_vmsg_ep_window_word(&A.ep, VIO_VMSG_SHM_OFF_CTL_ARG) & 0xffu);

		platform_printf("amp: the driver asked for an exit with status %d\n", status);
		vio_vmsg_ep_leave(&A.ep);
		report(status);
		platform_exit(status);
	}
	work = vio_vmsg_ep_poll(&A.ep);
	/* One ring per pass, after every answer of the batch is in the FIFO. */
	vio_vmsg_ep_flush(&A.ep);
	if (work > 0) {
		A.idle_us = 0;
	} else {
		/* Idle: pause, doubling up to IDLE_MAX_US, so an idle core spins less. */
		A.idle_us = A.idle_us == 0 ? 1 : A.idle_us * 2;
		if (A.idle_us > IDLE_MAX_US)
			A.idle_us = IDLE_MAX_US;
		platform_idle_us(A.idle_us);
	}
	return 0;
}

int main(void)
{
	int rc = setup();

	if (rc < 0) {
		platform_printf("amp: set-up failed (error %d)\n", rc);
		return 1;
	}
#ifdef AMP_GPIO_ONLY
	platform_printf("amp: serving gpio (%u lines) on a virtio-msg bus in the window at %p, %lu "
			"bytes\n",
			GPIO_LINES, A.ep.c.base, (unsigned long) A.ep.c.size);
#else
	platform_printf("amp: serving blk (%u sectors), rng (%s), gpio (%u lines), i2c (24c02 at "
			"0x%02x, LM75 at 0x%02x) on a virtio-msg bus in the window at %p, %lu "
			"bytes\n",
			AMP_DISK_SECTORS,
			D.trng ? "hardware TRNG" : "deterministic simulation, NOT random",
			GPIO_LINES, VIO_SIM_24C02_ADDR, VIO_SIM_LM75_ADDR, A.ep.c.base,
			(unsigned long) A.ep.c.size);
#endif
	platform_poll_until(poll_once, NULL, 0);
	return 1;
}
