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
#include "vioport/vmsg_dev.h"
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
#define SERVE_BATCH   32

static const char *const gpio_names[GPIO_LINES] = {
    "led0", "led1", "led2", "jumper-out", "jumper-in", "button0", "button1", "spare",
};

static const char disk_label[] = "vioport amp RAM disk: sector 0\n";

enum { ST_DETACHED, ST_ATTACHED, ST_STOPPED };

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

/* The bus, the window as the device side sees it, and the serving state. */
static struct {
	uint8_t *win;
	uint32_t win_size;
	struct vio_vmsg_shm shm;
	struct vio_vmsg_dev_bus bus;
	struct vio_winmap map;
	struct vio_window map_win[1];
	int state;
	uint32_t stopped_gen; /* driver generation the window was stopped or refused under */
	uint32_t idle_us;
	bool pending_ring; /* messages were sent since the last doorbell */
	bool full;	   /* the tx FIFO stayed full and a message was lost */
	/* What was served, for the report. */
	uint32_t received, sent, lost, bad_messages;
	uint32_t dropped_old; /* messages of a session the driver had ended */
	uint32_t attaches, restarts, stops, refused;
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

/* A header word of the window, as the driver last wrote it. */
static uint32_t window_word(uint32_t off)
{
	uint32_t *p = (uint32_t *) (void *) (A.win + off);

	platform_cache_invalidate(p, 4);
	return vio_le32(VIO_LOAD_ACQUIRE32(p));
}

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

/* ---- the bus ---- */

static void bus_log(void *ctx, const char *msg, int err)
{
	(void) ctx;
	if (err != 0)
		platform_printf("amp: %s (error %d)\n", msg, err);
	else
		platform_printf("amp: %s\n", msg);
}

/*
 * Queues a message for the driver; a full FIFO is waited out for a bounded
 * time. Each try also looks for a driver reset or re-format (-VIO_ECONNRESET):
 * the message belongs to a session that is over and is dropped at once.
 */
static int bus_send(void *ctx, const void *msg, uint32_t len)
{
	int r = -VIO_EIO;

	(void) ctx;
	if (A.state == ST_ATTACHED) {
		/* After a loss, one try each until a send gets through: the driver is not draining.
		 */
		for (uint32_t tries = 0;; tries++) {
			r = vio_vmsg_shm_send(&A.shm, msg, len);
			if (r != -VIO_ENOSPC || tries >= FULL_TRIES || A.full)
				break;
			if (tries == 0)
				vio_vmsg_shm_ring(
				    &A.shm); /* the driver drains what it is told of */
			platform_delay_us(FULL_PAUSE_US);
		}
	}
	if (r == 0) {
		A.sent++;
		A.pending_ring = true;
		A.full = false;
		return 0;
	}
	if (r == -VIO_ECONNRESET) {
		A.dropped_old++;
		return r;
	}
	A.full = r == -VIO_ENOSPC;
	if (A.lost++ == 0 || r != -VIO_ENOSPC)
		platform_printf("amp: a message to the driver was lost (error %d)\n", r);
	return r;
}

static const struct vio_vmsg_dev_bus_ops bus_ops = {.send = bus_send, .log = bus_log};

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
	int rc;

	A.win = platform_shm_base();
	A.win_size = (uint32_t) platform_shm_size();
	/* Not serving yet: a driver waiting for an earlier run of this image goes on. */
	A.shm.cache = &window_cache;
	rc = vio_vmsg_shm_device_init(&A.shm, A.win, A.win_size);
	if (rc < 0)
		return rc;
	vio_winmap_init(&A.map, A.map_win, 1);
	rc = vio_vmsg_dev_bus_init(&A.bus, &bus_ops, NULL, &A.map, VIO_VMSG_SHM_MAX_MSG);
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
		int n = vio_vmsg_dev_bus_add(&A.bus, devs[i]);

		rc = n < 0 ? n : 0;
	}
	return rc;
}

/* ---- serving ---- */

/* Leaves the window: every device reset; STOPPED marks a corrupt window. */
static void leave(int next, bool corrupt)
{
	vio_vmsg_dev_bus_reset(&A.bus);
	vio_winmap_clear(&A.map);
	if (corrupt)
		vio_vmsg_shm_stop(&A.shm);
	else
		vio_vmsg_shm_detach(&A.shm);
	A.stopped_gen = A.shm.peer_generation;
	A.state = next;
}

static void try_attach(void)
{
	uint32_t gen = window_word(VIO_VMSG_SHM_OFF_DRV_GEN);
	int r;

	A.shm.bell = (struct vio_vmsg_doorbell){doorbell_ring, NULL};
	A.shm.cache = &window_cache;
	r = vio_vmsg_shm_attach(&A.shm, A.win, A.win_size);
	if (r == -VIO_EAGAIN)
		return;
	if (r == 0 && vio_winmap_add(&A.map, A.shm.area_off, A.shm.area_size,
				     A.win + A.shm.area_off, VIO_ACCESS_RW) < 0)
		r = -VIO_EINVAL; /* the attach checks rule it out; stay safe if they change */
	if (r < 0) {
		A.refused++;
		platform_printf("amp: the window header is invalid (driver generation %lu): "
				"waiting for a re-format\n",
				(unsigned long) gen);
		vio_vmsg_shm_stop(&A.shm);
		A.stopped_gen = gen;
		A.state = ST_STOPPED;
		return;
	}
	A.attaches++;
	A.state = ST_ATTACHED;
	A.full = false;
	platform_printf("amp: attached (driver generation %lu, area %lu bytes at %lu)\n",
			(unsigned long) A.shm.peer_generation, (unsigned long) A.shm.area_size,
			(unsigned long) A.shm.area_off);
}

/* The wire between two lines of the simulated chip: an output change reaches the input. */
static void jumper(void)
{
	int out = vio_sim_gpio_get_output(&D.chip, JUMPER_OUT);

	if (out >= 0 && (uint8_t) out != D.jumper) {
		D.jumper = (uint8_t) out;
		vio_sim_gpio_set_input(&D.chip, JUMPER_IN, D.jumper);
	}
}

/*
 * When the driver ended the session (its state left READY, or a new
 * generation): devices reset and this side's state RESET, which a
 * re-formatting driver waits for; then attaches to the new generation or
 * waits for one. Whether it happened.
 */
static bool driver_gone(void)
{
	if (!vio_vmsg_shm_session_over(&A.shm))
		return false;
	A.restarts++;
	if (vio_vmsg_shm_peer_restarted(&A.shm)) {
		platform_printf("amp: the driver restarted: devices reset\n");
		leave(ST_DETACHED, false);
		try_attach();
		return true;
	}
	/* Re-formatting (RESET first), gone or stopped: off the FIFOs until a new generation. */
	platform_printf("amp: the driver left the window: devices reset\n");
	leave(ST_STOPPED, false);
	return true;
}

/* Handles up to a batch of messages; returns how many there were. */
static int serve_batch(void)
{
	uint8_t msg[VIO_VMSG_SHM_SLOT_SIZE];
	int n = 0, r;

	if (driver_gone())
		return 1;
	while (n < SERVE_BATCH && A.state == ST_ATTACHED) {
		r = vio_vmsg_shm_recv(&A.shm, msg, sizeof(msg));
		if (r == 0 || r == -VIO_ECONNRESET)
			break;
		n++;
		if (r > 0) {
			A.received++;
			vio_vmsg_dev_bus_handle(&A.bus, msg, (uint32_t) r);
			jumper();
			/* A message whose answer found the session over ends the batch. */
			if (vio_vmsg_shm_session_over(&A.shm))
				break;
		} else if (!vio_vmsg_shm_stopped(&A.shm)) {
			A.bad_messages++;
		}
		if (vio_vmsg_shm_stopped(&A.shm)) {
			A.stops++;
			platform_printf("amp: corrupt FIFO index in the window: stopped, devices "
					"reset; waiting for the driver to re-format\n");
			leave(ST_STOPPED, true);
		}
	}
	/* Leaves at once, so a driver waiting to re-format is not kept waiting. */
	if (A.state == ST_ATTACHED && driver_gone())
		n++;
	return n;
}

/* Prints what was served, once, before the exit. */
static void report(int status)
{
	platform_printf("amp: served %lu messages, sent %lu (%lu lost, %lu of ended sessions "
			"dropped), %lu malformed dropped (%lu by the bus)\n",
			(unsigned long) A.received, (unsigned long) A.sent, (unsigned long) A.lost,
			(unsigned long) A.dropped_old, (unsigned long) A.bad_messages,
			(unsigned long) A.bus.dropped);
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
			(unsigned long) A.attaches, (unsigned long) A.restarts,
			(unsigned long) A.stops, (unsigned long) A.refused, status);
}

/*
 * One pass of the main loop: the control words, then the state machine, then
 * the idle backoff. Always 0, so the loop never ends by itself: the exit
 * request leaves through platform_exit.
 */
static int poll_once(void *ctx)
{
	int work = 0;

	(void) ctx;
	if (window_word(VIO_VMSG_SHM_OFF_CTL_REQ) == VIO_VMSG_CTL_EXIT) {
		int status = (int) (window_word(VIO_VMSG_SHM_OFF_CTL_ARG) & 0xffu);

		platform_printf("amp: the driver asked for an exit with status %d\n", status);
		if (A.state == ST_ATTACHED)
			leave(ST_DETACHED, false);
		report(status);
		platform_exit(status);
	}
	if (A.state == ST_STOPPED && window_word(VIO_VMSG_SHM_OFF_DRV_GEN) != A.stopped_gen)
		A.state = ST_DETACHED;
	if (A.state == ST_DETACHED) {
		try_attach();
		work = A.state == ST_ATTACHED;
	}
	if (A.state == ST_ATTACHED)
		work += serve_batch();
	if (A.pending_ring) {
		/* One ring per pass, after every answer of the batch is in the FIFO. */
		A.pending_ring = false;
		if (A.state == ST_ATTACHED)
			vio_vmsg_shm_ring(&A.shm);
	}
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
			GPIO_LINES, (void *) A.win, (unsigned long) A.win_size);
#else
	platform_printf("amp: serving blk (%u sectors), rng (%s), gpio (%u lines), i2c (24c02 at "
			"0x%02x, LM75 at 0x%02x) on a virtio-msg bus in the window at %p, %lu "
			"bytes\n",
			AMP_DISK_SECTORS,
			D.trng ? "hardware TRNG" : "deterministic simulation, NOT random",
			GPIO_LINES, VIO_SIM_24C02_ADDR, VIO_SIM_LM75_ADDR, (void *) A.win,
			(unsigned long) A.win_size);
#endif
	platform_poll_until(poll_once, NULL, 0);
	return 1;
}
