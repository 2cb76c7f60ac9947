/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * amp: the firmware half of an asymmetric multiprocessing system. One
 * virtio-msg bus on the shared window (the platform's window symbols) serves
 * the four devices of the standard simulated board (sim_board.h, which gives
 * their device numbers) to whatever driver formats the window: a RAM disk
 * (blk), entropy (rng: the platform TRNG, or the deterministic simulation when
 * the SoC has none), a simulated GPIO chip with eight named lines (gpio), and
 * the simulated I2C bus with a 24c02 EEPROM and an LM75 sensor (i2c).
 *
 * The core gets no interrupt from the driver, so the main loop polls the
 * device endpoint (src/vmsg/endpoint.c, the daemon's too), backing off while
 * idle. It attaches when the driver formats the window, resets every device
 * when the driver restarts (a new generation) or leaves, and stops on a
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
#include "vioport/compiler.h"
#include "vioport/errno.h"
#include "vioport/sim_board.h"
#include "vioport/vmsg_ctl.h"
#include "vioport/vmsg_endpoint.h"
#include "vioport/vmsg_shm.h"
#include "vioport/window.h"

#ifndef AMP_DISK_SECTORS
#define AMP_DISK_SECTORS 128u /* 64 KiB */
#endif
#define ENTROPY_SEED  0x616d70ull
#define IDLE_MAX_US   1000u /* longest pause between two polls of an idle window */
#define FULL_TRIES    200u  /* device-to-driver FIFO full: waits before a message is lost */
#define FULL_PAUSE_US 100u

static const char disk_label[] = "vioport amp RAM disk: sector 0\n";

/* The devices: the standard simulated board (sim_board.h), and the disk's bytes. */
static struct {
#ifndef AMP_GPIO_ONLY
	uint8_t disk[AMP_DISK_SECTORS * VIO_BLK_SECTOR_SIZE];
	bool trng;
	uint64_t rng_bytes;
#endif
	struct vio_sim_board b;
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
	n = D.trng ? platform_trng_read(buf, len) : vio_sim_entropy_fill(&D.b.ent, buf, len);
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

static const struct vio_vmsg_ep_ops ep_ops = {
    .delay_us = ep_delay, .event = ep_event, .log = bus_log};

/* ---- set-up ---- */

static int setup(void)
{
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
#ifdef AMP_GPIO_ONLY
	if (rc == 0)
		rc = vio_sim_board_init_gpio(
		    &D.b, &(struct vio_sim_board_config){.queue_size = VIO_SIM_BOARD_QSIZE});
	if (rc == 0)
		rc = vio_vmsg_ep_add(&A.ep, D.b.devs[VIO_SIM_BOARD_GPIO]);
#else
	struct vio_blk_params p = {
	    .capacity = AMP_DISK_SECTORS,
	    .features = VIO_BIT(VIO_BLK_F_SEG_MAX) | VIO_BIT(VIO_BLK_F_FLUSH),
	    .num_queues = 1,
	    .queue_size = VIO_SIM_BOARD_QSIZE,
	    .seg_max = 8,
	};
	struct vio_sim_board_config bc = {
	    .disk = D.disk,
	    .disk_bytes = sizeof(D.disk),
	    .blk = &p,
	    .queue_size = VIO_SIM_BOARD_QSIZE,
	    .rng_ops = &rng_ops,
	    .entropy_seed = ENTROPY_SEED,
	};

	memcpy(D.disk, disk_label, sizeof(disk_label));
	D.trng = platform_trng_present();
	if (rc == 0)
		rc = vio_sim_board_init(&D.b, &bc);
	/* In device-number order: the numbers are the board's. */
	for (unsigned i = 0; rc == 0 && i < VIO_SIM_BOARD_NDEV; i++) {
		int n = vio_vmsg_ep_add(&A.ep, D.b.devs[i]);

		rc = n < 0 ? n : 0;
	}
#endif
	return rc < 0 ? rc : 0;
}

/* ---- serving ---- */

/* Prints what was served, once, before the exit. */
static void report(int status)
{
	const struct vio_vmsg_endpoint_stats *st = &A.ep.stats;

	platform_printf("amp: served %lu messages, sent %lu (%lu lost, %lu of ended sessions "
			"dropped), %lu malformed dropped (%lu by the bus)\n",
			st->received, st->sent, st->lost, st->dropped_old, st->bad_messages,
			(unsigned long) A.ep.bus.dropped);
#ifdef AMP_GPIO_ONLY
	platform_printf("amp: gpio %lu operations %lu interrupts\n", (unsigned long) D.b.chip.ops,
			(unsigned long) D.b.gpio.irqs);
#else
	platform_printf("amp: blk %lu reads %lu writes %lu flushes; rng %lu bytes; gpio %lu "
			"operations %lu interrupts; i2c %lu messages %lu NACKs\n",
			(unsigned long) D.b.rd.reads, (unsigned long) D.b.rd.writes,
			(unsigned long) D.b.rd.flushes, (unsigned long) D.rng_bytes,
			(unsigned long) D.b.chip.ops, (unsigned long) D.b.gpio.irqs,
			(unsigned long) D.b.i2c_bus.msgs, (unsigned long) D.b.i2c_bus.nacks);
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
	/* The board's wire follows the batch, so a driver can raise its own edges. */
	vio_sim_board_wires(&D.b);
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
			VIO_SIM_BOARD_GPIO_LINES, A.ep.c.base, (unsigned long) A.ep.c.size);
#else
	platform_printf("amp: serving blk (%u sectors), rng (%s), gpio (%u lines), i2c (24c02 at "
			"0x%02x, LM75 at 0x%02x) on a virtio-msg bus in the window at %p, %lu "
			"bytes\n",
			AMP_DISK_SECTORS,
			D.trng ? "hardware TRNG" : "deterministic simulation, NOT random",
			VIO_SIM_BOARD_GPIO_LINES, VIO_SIM_24C02_ADDR, VIO_SIM_LM75_ADDR,
			A.ep.c.base, (unsigned long) A.ep.c.size);
#endif
	platform_poll_until(poll_once, NULL, 0);
	return 1;
}
