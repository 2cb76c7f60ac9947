/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * amp: the firmware half of an asymmetric multiprocessing system. One
 * virtio-msg bus on the shared window (the platform's window symbols) serves
 * the devices of the standard simulated board (sim_board.h, which gives their
 * device numbers) to whatever driver formats the window: a RAM disk (blk),
 * entropy (rng: the platform TRNG, or the deterministic simulation when the
 * SoC has none), a simulated GPIO chip with eight named lines (gpio), the
 * simulated I2C bus with a 24c02 EEPROM and an LM75 sensor (i2c) and, when
 * chosen, a virtio-console (console) that carries the image's own console, a
 * simulated keyboard (input), a panel of keys pressed from that console, and a
 * simulated touch panel (touch) touched from it too.
 *
 * Which devices an image serves is chosen at build time with the board's
 * VIO_SIM_BOARD_WITH_* macros, from the image's build description in
 * scripts/firmware.sh: amp is blk, rng, gpio and i2c; vmsg-gpio is gpio
 * alone; amp-console adds the console, the keys and the touch panel. Code
 * for a device left out is neither compiled here nor linked.
 *
 * With the console, what the image prints goes to the platform console (the
 * UART, or semihosting under QEMU) and, whole lines while there is room, to
 * the driver's hvc0; the lines the driver writes on hvc0 reach a small
 * command handler (help, echo, status, press with the keys, touch and lift
 * with the touch panel) that answers there.
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
#include <stdarg.h>
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

/*
 * The lines that list the devices: AMP_SEP_X(s) is the separator s before
 * device X's piece when the image has a device before it, nothing otherwise.
 */
#if VIO_SIM_BOARD_RNG > 0
#define AMP_SEP_RNG(s) s
#else
#define AMP_SEP_RNG(s)
#endif
#if VIO_SIM_BOARD_GPIO > 0
#define AMP_SEP_GPIO(s) s
#else
#define AMP_SEP_GPIO(s)
#endif
#if VIO_SIM_BOARD_I2C > 0
#define AMP_SEP_I2C(s) s
#else
#define AMP_SEP_I2C(s)
#endif
#if VIO_SIM_BOARD_CONSOLE > 0
#define AMP_SEP_CONSOLE(s) s
#else
#define AMP_SEP_CONSOLE(s)
#endif
#if VIO_SIM_BOARD_INPUT > 0
#define AMP_SEP_INPUT(s) s
#else
#define AMP_SEP_INPUT(s)
#endif
#if VIO_SIM_BOARD_TOUCH > 0
#define AMP_SEP_TOUCH(s) s
#else
#define AMP_SEP_TOUCH(s)
#endif

/* The devices: the standard simulated board (sim_board.h), and the disk's bytes. */
static struct {
#if VIO_SIM_BOARD_WITH_BLK
	uint8_t disk[AMP_DISK_SECTORS * VIO_BLK_SECTOR_SIZE];
#endif
#if VIO_SIM_BOARD_WITH_RNG
	bool trng;
	uint64_t rng_bytes;
#endif
#if VIO_SIM_BOARD_WITH_CONSOLE
	uint32_t con_in;      /* lines the driver wrote on hvc0 */
	uint32_t con_out;     /* lines printed there */
	uint32_t con_dropped; /* lines that found no room there */
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

#if VIO_SIM_BOARD_WITH_CONSOLE
/*
 * The image's console: each line goes to the platform console and, whole or
 * not at all, to hvc0. Writing the board's console provider never calls into
 * the device (sim_board.h), so this is safe inside the bus's callbacks; the
 * main loop hands the lines to the driver.
 */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	const struct vio_sim_console_fifo *f = &D.b.con_sim_port.to_driver;
	char line[VIO_SIM_CONSOLE_BUF];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = platform_vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	platform_puts(line);
	if (n <= VIO_SIM_CONSOLE_BUF - f->len) {
		(void) vio_sim_console_write(&D.b.con_sim, 0, line, (uint32_t) n);
		D.con_out++;
	} else {
		D.con_dropped++;
	}
}
#else
#define say platform_printf
#endif

#if VIO_SIM_BOARD_WITH_RNG
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
	say("amp: %s (error %d)\n", msg, err);
}

static void ep_event(void *ctx, int ev, int32_t arg)
{
	(void) ctx;
	switch (ev) {
	case VIO_VMSG_EP_ATTACHED:
		say("amp: attached (driver generation %lu, area %lu bytes at %lu)\n",
		    (unsigned long) (uint32_t) arg, (unsigned long) A.ep.shm.area_size,
		    (unsigned long) A.ep.shm.area_off);
		break;
	case VIO_VMSG_EP_REFUSED:
		say("amp: invalid window header (driver generation %lu): waiting for "
		    "a re-format\n",
		    (unsigned long) (uint32_t) arg);
		break;
	case VIO_VMSG_EP_RESTARTED:
		say("amp: the driver restarted: devices reset\n");
		break;
	case VIO_VMSG_EP_LEFT:
		say("amp: the driver left the window: devices reset\n");
		break;
	case VIO_VMSG_EP_CORRUPT:
		say("amp: corrupt FIFO index: stopped, devices reset until a "
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
#if VIO_SIM_BOARD_WITH_BLK
	static const char disk_label[] = "vioport amp RAM disk: sector 0\n";
	struct vio_blk_params p = {
	    .capacity = AMP_DISK_SECTORS,
	    .features = VIO_BIT(VIO_BLK_F_SEG_MAX) | VIO_BIT(VIO_BLK_F_FLUSH),
	    .num_queues = 1,
	    .queue_size = VIO_SIM_BOARD_QSIZE,
	    .seg_max = 8,
	};
#endif
	struct vio_sim_board_config bc = {
#if VIO_SIM_BOARD_WITH_BLK
		.disk = D.disk,
		.disk_bytes = sizeof(D.disk),
		.blk = &p,
#endif
		.queue_size = VIO_SIM_BOARD_QSIZE,
#if VIO_SIM_BOARD_WITH_RNG
		.rng_ops = &rng_ops,
		.entropy_seed = ENTROPY_SEED,
#endif
	};

#if VIO_SIM_BOARD_WITH_BLK
	memcpy(D.disk, disk_label, sizeof(disk_label));
#endif
#if VIO_SIM_BOARD_WITH_RNG
	D.trng = platform_trng_present();
#endif
	if (rc == 0)
		rc = vio_sim_board_init(&D.b, &bc);
	/* In device-number order: the numbers are the board's. */
	for (unsigned i = 0; rc == 0 && i < VIO_SIM_BOARD_NDEV; i++) {
		int n = vio_vmsg_ep_add(&A.ep, D.b.devs[i]);

		rc = n < 0 ? n : 0;
	}
	return rc < 0 ? rc : 0;
}

/* ---- serving ---- */

/* Prints what was served, once, before the exit. */
static void report(int status)
{
	const struct vio_vmsg_endpoint_stats *st = &A.ep.stats;

	say("amp: served %lu messages, sent %lu (%lu lost, %lu of ended sessions "
	    "dropped), %lu malformed dropped (%lu by the bus)\n",
	    st->received, st->sent, st->lost, st->dropped_old, st->bad_messages,
	    (unsigned long) A.ep.bus.dropped);
	/* One piece per device the image has, in device-number order. */
	say("amp:"
#if VIO_SIM_BOARD_WITH_BLK
	    " blk %lu reads %lu writes %lu flushes"
#endif
#if VIO_SIM_BOARD_WITH_RNG
	    AMP_SEP_RNG(";") " rng %lu bytes"
#endif
#if VIO_SIM_BOARD_WITH_GPIO
	    AMP_SEP_GPIO(";") " gpio %lu operations %lu interrupts"
#endif
#if VIO_SIM_BOARD_WITH_I2C
	    AMP_SEP_I2C(";") " i2c %lu messages %lu NACKs"
#endif
#if VIO_SIM_BOARD_WITH_CONSOLE
	    AMP_SEP_CONSOLE(";") " console %lu lines in %lu out %lu dropped"
#endif
#if VIO_SIM_BOARD_WITH_INPUT
	    AMP_SEP_INPUT(";") " input %lu reports %lu lost"
#endif
#if VIO_SIM_BOARD_WITH_TOUCH
	    AMP_SEP_TOUCH(";") " touch %lu reports %lu lost"
#endif
			       "\n"
#if VIO_SIM_BOARD_WITH_BLK
	    ,
	    (unsigned long) D.b.rd.reads, (unsigned long) D.b.rd.writes,
	    (unsigned long) D.b.rd.flushes
#endif
#if VIO_SIM_BOARD_WITH_RNG
	    ,
	    (unsigned long) D.rng_bytes
#endif
#if VIO_SIM_BOARD_WITH_GPIO
	    ,
	    (unsigned long) D.b.chip.ops, (unsigned long) D.b.gpio.irqs
#endif
#if VIO_SIM_BOARD_WITH_I2C
	    ,
	    (unsigned long) D.b.i2c_bus.msgs, (unsigned long) D.b.i2c_bus.nacks
#endif
#if VIO_SIM_BOARD_WITH_CONSOLE
	    ,
	    (unsigned long) D.con_in, (unsigned long) D.con_out, (unsigned long) D.con_dropped
#endif
#if VIO_SIM_BOARD_WITH_INPUT
	    ,
	    (unsigned long) D.b.in_sim.reports, (unsigned long) D.b.in_sim.lost
#endif
#if VIO_SIM_BOARD_WITH_TOUCH
	    ,
	    (unsigned long) D.b.tp_sim.reports, (unsigned long) D.b.tp_sim.lost
#endif
	);
	say("amp: %lu attaches, %lu driver restarts, %lu corrupt windows, %lu refused "
	    "headers; exit status %d\n",
	    (unsigned long) st->attaches, (unsigned long) st->driver_restarts,
	    (unsigned long) st->stops, (unsigned long) st->refused, status);
}

#if VIO_SIM_BOARD_WITH_CONSOLE
/* True when line (len bytes) is word, alone or followed by a space. */
static bool is_cmd(const char *line, size_t len, const char *word)
{
	size_t n = strlen(word);

	return len >= n && memcmp(line, word, n) == 0 && (len == n || line[n] == ' ');
}

#if VIO_SIM_BOARD_WITH_INPUT
/* The console's press command: a tap (down, then up) of key code arg, decimal. */
static void press(const char *arg)
{
	unsigned code = 0;
	int rc;

	while (*arg == ' ')
		arg++;
	for (const char *p = arg; *p >= '0' && *p <= '9' && code <= VIO_SIM_INPUT_KEY_MAX; p++)
		code = code * 10u + (unsigned) (*p - '0');
	rc = code == 0 || code > VIO_SIM_INPUT_KEY_MAX
		 ? -VIO_EINVAL
		 : vio_sim_input_tap(&D.b.in_sim, (uint16_t) code);
	if (rc == 0)
		say("amp: pressed key %u\n", code);
	else
		say("amp: press '%s': error %d (a code is 1-255; no driver: lost)\n", arg, rc);
}
#endif

#if VIO_SIM_BOARD_WITH_TOUCH
/*
 * Reads a decimal number below limit from *p, skipping the spaces before it;
 * -1 when there is none or it is too large.
 */
static int32_t number(const char **p, int32_t limit)
{
	const char *s = *p;
	int32_t v = 0;

	while (*s == ' ')
		s++;
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (*s - '0');
		if (v >= limit)
			return -1;
	}
	*p = s;
	return v;
}

/* The console's touch command: the panel's contact down at, or moved to, "X Y" (arg). */
static void touch(const char *arg)
{
	const char *p = arg;
	int32_t x = number(&p, VIO_SIM_BOARD_TOUCH_WIDTH);
	int32_t y = x < 0 ? -1 : number(&p, VIO_SIM_BOARD_TOUCH_HEIGHT);
	int rc;

	while (*p == ' ')
		p++;
	rc = x < 0 || y < 0 || *p != '\0' ? -VIO_EINVAL : vio_sim_input_touch(&D.b.tp_sim, 0, x, y);
	if (rc == 0)
		say("amp: touched %ld %ld\n", (long) x, (long) y);
	else
		say("amp: touch '%s': error %d (X 0-%d, Y 0-%d; no driver: lost)\n", arg, rc,
		    VIO_SIM_BOARD_TOUCH_WIDTH - 1, VIO_SIM_BOARD_TOUCH_HEIGHT - 1);
}

/* The console's lift command: the panel's contact up. */
static void lift(void)
{
	int rc = vio_sim_input_lift(&D.b.tp_sim, 0);

	if (rc == 0)
		say("amp: lifted\n");
	else
		say("amp: lift: error %d (no driver: lost)\n", rc);
}
#endif

/*
 * One line the driver wrote on hvc0 (no line end, NUL-terminated). The
 * answers start with "amp: " like everything the image prints, and lines that
 * start so are not commands: a terminal that echoes what it receives (a tty
 * before it is set raw) sends the image's own lines back, and they must not
 * answer each other.
 */
static void console_command(const char *line, size_t len)
{
	if (len == 0 || (len >= 4 && memcmp(line, "amp:", 4) == 0))
		return;
	D.con_in++;
	if (is_cmd(line, len, "help")) {
		say("amp: commands: help, echo TEXT (answers TEXT), status (what was served)"
#if VIO_SIM_BOARD_WITH_INPUT
		    ", press CODE (taps key CODE, 1-255, on the keyboard)"
#endif
#if VIO_SIM_BOARD_WITH_TOUCH
		    ", touch X Y (the touch panel's contact down at or moved to X Y), lift (it up)"
#endif
		    "\n");
	} else if (is_cmd(line, len, "echo")) {
		say("amp: %s\n", len > 5 ? line + 5 : "");
	} else if (is_cmd(line, len, "status")) {
		say("amp: status: up %lu ms, %lu attaches, %lu messages served, %lu sent; %lu "
		    "console lines in\n",
		    (unsigned long) (platform_now_us() / 1000u),
		    (unsigned long) A.ep.stats.attaches, A.ep.stats.received, A.ep.stats.sent,
		    (unsigned long) D.con_in);
#if VIO_SIM_BOARD_WITH_INPUT
	} else if (is_cmd(line, len, "press")) {
		press(line + 5);
#endif
#if VIO_SIM_BOARD_WITH_TOUCH
	} else if (is_cmd(line, len, "touch")) {
		touch(line + 5);
	} else if (is_cmd(line, len, "lift")) {
		lift();
#endif
	} else {
		say("amp: unknown command '%s' (try help)\n", line);
	}
}

/* Answers the whole lines the driver wrote on hvc0; returns how many there were. */
static int console_lines(void)
{
	char line[VIO_SIM_CONSOLE_BUF + 1];
	int n, lines = 0;

	/* A line buffer as large as the port's FIFO never gets -VIO_ENOSPC. */
	while ((n = vio_sim_console_read_line(&D.b.con_sim, 0, line, VIO_SIM_CONSOLE_BUF)) > 0) {
		size_t len = (size_t) n;

		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		line[len] = '\0';
		console_command(line, len);
		lines++;
	}
	return lines;
}
#endif

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

		say("amp: the driver asked for an exit with status %d\n", status);
		vio_vmsg_ep_leave(&A.ep);
		report(status);
		platform_exit(status);
	}
	work = vio_vmsg_ep_poll(&A.ep);
	/* The board's wire follows the batch, so a driver can raise its own edges. */
	vio_sim_board_wires(&D.b);
#if VIO_SIM_BOARD_WITH_CONSOLE
	/* The driver's lines are answered, then what was printed goes out in this batch. */
	work += console_lines();
	vio_sim_board_console_kick(&D.b);
#endif
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
		say("amp: set-up failed (error %d)\n", rc);
		return 1;
	}
	/*
	 * With the console this is one line of hvc0, at most VIO_SIM_CONSOLE_BUF
	 * bytes with its end (say cuts what is longer): hence the short pieces.
	 */
	say("amp: serving"
#if VIO_SIM_BOARD_WITH_BLK
	    " blk (%u sectors)"
#endif
#if VIO_SIM_BOARD_WITH_RNG
	    AMP_SEP_RNG(",") " rng (%s)"
#endif
#if VIO_SIM_BOARD_WITH_GPIO
	    AMP_SEP_GPIO(",") " gpio (%u lines)"
#endif
#if VIO_SIM_BOARD_WITH_I2C
	    AMP_SEP_I2C(",") " i2c (24c02 at 0x%02x, LM75 at 0x%02x)"
#endif
#if VIO_SIM_BOARD_WITH_CONSOLE
	    AMP_SEP_CONSOLE(",") " console (try help)"
#endif
#if VIO_SIM_BOARD_WITH_INPUT
	    AMP_SEP_INPUT(",") " input (keys 1-255)"
#endif
#if VIO_SIM_BOARD_WITH_TOUCH
	    AMP_SEP_TOUCH(",") " touch (%dx%d)"
#endif
			       " on a virtio-msg bus in the window at %p, %lu bytes\n",
#if VIO_SIM_BOARD_WITH_BLK
	    AMP_DISK_SECTORS,
#endif
#if VIO_SIM_BOARD_WITH_RNG
	    D.trng ? "hardware TRNG" : "deterministic simulation, NOT random",
#endif
#if VIO_SIM_BOARD_WITH_GPIO
	    VIO_SIM_BOARD_GPIO_LINES,
#endif
#if VIO_SIM_BOARD_WITH_I2C
	    VIO_SIM_24C02_ADDR, VIO_SIM_LM75_ADDR,
#endif
#if VIO_SIM_BOARD_WITH_TOUCH
	    VIO_SIM_BOARD_TOUCH_WIDTH, VIO_SIM_BOARD_TOUCH_HEIGHT,
#endif
	    A.ep.c.base, (unsigned long) A.ep.c.size);
	platform_poll_until(poll_once, NULL, 0);
	return 1;
}
