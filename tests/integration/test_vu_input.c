/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport's daemon serving a simulated keyboard and a simulated touchscreen
 * (`vioport --control PATH input --sim keyboard + input --sim touchscreen`),
 * driven through the frontend as Linux's virtio_input driver would: the
 * config selectors written with SET_CONFIG and answered through GET_CONFIG
 * (name, serial, ids, property bits, the codes of each event type, the
 * touchscreen's axes), keys and touches injected on the control socket
 * arriving as whole reports in eventq buffers, an LED set through the
 * statusq seen by the keyboard, refusals of bad commands and command lines,
 * the keyboard over virtio-msg (--transport vmsg, the project's driver
 * library), and a clean exit.
 * The daemon is $VIOPORT_BIN; without it every case skips, saying so.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "itest.h"
#include "vioport/input.h"
#include "vioport/vhost_user_frontend.h"
#include "vioport/virtio.h"
#include "vioport/vmsg_drv.h"
#include "vioport/vmsg_posix.h"

#define WAIT_MS	   5000
#define FEATURES   (VIO_BIT(VIO_F_VERSION_1) | VIO_BIT(VIO_F_EVENT_IDX))
#define NBUFS	   48 /* eventq buffers posted, as Linux posts a ring's worth */
#define KEY_A	   30
#define KEY_B	   48
#define KEY_H	   35
#define KEY_I	   23
#define KEY_LSHIFT 42
#define KEY_SPACE  57

static struct {
	char dir[IT_PATH];
	char ctl[IT_PATH];
	char ts_sock[IT_PATH];
	struct it_proc proc;
	const char *skip;
} T;

static struct vio_vu_fe fe;
static uint8_t *evbuf[NBUFS];
static uint64_t evgpa[NBUFS];

#define BEGIN() IT_SKIP_IF(T.skip)

static int group_setup(void **state)
{
	const char *b = it_vioport_bin();
	static char bin[IT_PATH];
	char *argv[] = {bin,	 "--control",	T.ctl, "input", "--socket-path", T.proc.sock,
			"--sim", "keyboard",	"+",   "input", "--socket-path", T.ts_sock,
			"--sim", "touchscreen", NULL};

	(void) state;
	if (b == NULL) {
		T.skip = "no vioport daemon at $VIOPORT_BIN (build apps/vioport first): vioport "
			 "input cases skipped";
		return 0;
	}
	snprintf(bin, sizeof(bin), "%s", b);
	if (it_tmpdir(T.dir, "input") < 0 || it_path(T.proc.sock, T.dir, "kbd.sock") < 0 ||
	    it_path(T.ts_sock, T.dir, "ts.sock") < 0 || it_path(T.ctl, T.dir, "ctl.sock") < 0 ||
	    it_path(T.proc.log, T.dir, "vioport.log") < 0)
		return -1;
	if (it_start(&T.proc, argv, 10000) < 0)
		T.skip = "the vioport daemon did not start: vioport input cases skipped";
	return 0;
}

static int group_teardown(void **state)
{
	(void) state;
	it_finish(&T.proc, T.dir);
	return 0;
}

static int teardown(void **state)
{
	(void) state;
	vio_vu_fe_close(&fe);
	return it_daemon_lives(&T.proc, &T.skip);
}

/* Connects as a driver to the keyboard (false) or the touchscreen (true). */
static void start(bool touchscreen)
{
	struct vio_vu_fe_params p = {
	    .features = FEATURES, .num_queues = 2, .config_size = VIO_INPUT_CONFIG_SIZE};
	int r;

	r = vio_vu_fe_connect(&fe, touchscreen ? T.ts_sock : T.proc.sock, WAIT_MS);
	if (r == 0)
		r = vio_vu_fe_setup(&fe, &p);
	if (r == 0)
		r = vio_vu_fe_driver_ok(&fe);
	if (r != 0)
		fail_msg("start: %d (%s)", r, vio_vu_fe_error(&fe));
}

/* One control command; its reply, whole, into out. Returns whether it began with "ok". */
static bool control(const char *cmd, char *out, size_t cap)
{
	char reply[1024];
	int r = it_control(T.ctl, cmd, reply, sizeof(reply), WAIT_MS);

	if (r != 0)
		fail_msg("control '%s': %d", cmd, r);
	if (out != NULL && cap > 0) {
		/* cut to the caller's room (snprintf would warn of the cut at -O3) */
		size_t k = strnlen(reply, cap - 1);

		memcpy(out, reply, k);
		out[k] = '\0';
	}
	return strncmp(reply, "ok", 2) == 0;
}

static void control_ok(const char *cmd)
{
	char reply[1024];

	if (!control(cmd, reply, sizeof(reply)))
		fail_msg("control '%s': %s", cmd, reply);
}

/* Selects sel/subsel one byte at a time, as Linux does; returns size, the union in u. */
static uint8_t cfg(uint8_t sel, uint8_t sub, uint8_t u[VIO_INPUT_CFG_U_SIZE])
{
	uint8_t size;

	assert_int_equal(vio_vu_fe_set_config(&fe, VIO_INPUT_CFG_SELECT, &sel, 1), 0);
	assert_int_equal(vio_vu_fe_set_config(&fe, VIO_INPUT_CFG_SUBSEL, &sub, 1), 0);
	assert_int_equal(vio_vu_fe_get_config(&fe, VIO_INPUT_CFG_SIZE, &size, 1), 0);
	assert_int_equal(vio_vu_fe_get_config(&fe, VIO_INPUT_CFG_U, u, VIO_INPUT_CFG_U_SIZE), 0);
	for (unsigned i = size; i < VIO_INPUT_CFG_U_SIZE; i++)
		assert_int_equal(u[i], 0);
	return size;
}

static bool bit(const uint8_t *map, uint8_t size, unsigned n)
{
	return n / 8u < size && (map[n / 8u] >> (n % 8u)) & 1u;
}

static int32_t le32(const uint8_t *p)
{
	return (int32_t) ((uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 |
			  (uint32_t) p[3] << 24);
}

/* Posts NBUFS device-writable eventq buffers of one event each. */
static void post_eventq(void)
{
	for (int i = 0; i < NBUFS; i++) {
		struct vio_buf b;

		evbuf[i] = vio_vu_fe_alloc(&fe, VIO_INPUT_EVENT_SIZE, 8, &evgpa[i]);
		assert_non_null(evbuf[i]);
		memset(evbuf[i], 0xee, VIO_INPUT_EVENT_SIZE);
		b = (struct vio_buf){evgpa[i], VIO_INPUT_EVENT_SIZE};
		assert_int_equal(vio_vu_fe_add(&fe, VIO_INPUT_EVENTQ, NULL, 0, &b, 1, evbuf[i]), 0);
	}
	assert_true(vio_vu_fe_kick(&fe, VIO_INPUT_EVENTQ) >= 0);
}

/* The next event the device put in an eventq buffer. */
static struct vio_input_event next_event(void)
{
	struct vio_input_event e;
	const uint8_t *p;
	void *tok;
	uint32_t len;

	assert_int_equal(vio_vu_fe_wait_used(&fe, VIO_INPUT_EVENTQ, &tok, &len, WAIT_MS), 1);
	assert_int_equal(len, VIO_INPUT_EVENT_SIZE);
	p = tok;
	e.type = (uint16_t) (p[0] | p[1] << 8);
	e.code = (uint16_t) (p[2] | p[3] << 8);
	e.value = le32(p + 4);
	return e;
}

static void expect_event(uint16_t type, uint16_t code, int32_t value)
{
	struct vio_input_event e = next_event();

	if (e.type != type || e.code != code || e.value != value)
		fail_msg("event %u/%u/%d, expected %u/%u/%d", e.type, e.code, (int) e.value, type,
			 code, (int) value);
}

static void expect_key(uint16_t code, int32_t down)
{
	expect_event(VIO_INPUT_EV_KEY, code, down);
	expect_event(VIO_INPUT_EV_SYN, VIO_INPUT_SYN_REPORT, 0);
}

/* No more events come within ms. */
static void expect_quiet(int ms)
{
	void *tok;
	uint32_t len;

	assert_int_equal(vio_vu_fe_wait_used(&fe, VIO_INPUT_EVENTQ, &tok, &len, ms), 0);
}

static void keyboard_config(void **state)
{
	uint8_t u[VIO_INPUT_CFG_U_SIZE];
	uint8_t n;

	(void) state;
	BEGIN();
	start(false);
	n = cfg(VIO_INPUT_CFG_ID_NAME, 0, u);
	assert_int_equal(n, strlen("vioport keyboard"));
	assert_memory_equal(u, "vioport keyboard", n);
	n = cfg(VIO_INPUT_CFG_ID_SERIAL, 0, u);
	assert_int_equal(n, strlen("vioport-kbd-0"));
	assert_memory_equal(u, "vioport-kbd-0", n);
	assert_int_equal(cfg(VIO_INPUT_CFG_ID_DEVIDS, 0, u), VIO_INPUT_DEVIDS_SIZE);
	assert_int_equal(u[0] | u[1] << 8, VIO_INPUT_BUS_VIRTUAL);
	/* Keys 1 .. 255, not 0. */
	n = cfg(VIO_INPUT_CFG_EV_BITS, VIO_INPUT_EV_KEY, u);
	assert_int_equal(n, 32);
	assert_false(bit(u, n, 0));
	assert_true(bit(u, n, 1));
	assert_true(bit(u, n, KEY_A));
	assert_true(bit(u, n, 255));
	n = cfg(VIO_INPUT_CFG_EV_BITS, VIO_INPUT_EV_LED, u);
	assert_true(bit(u, n, VIO_INPUT_LED_NUML));
	assert_true(bit(u, n, VIO_INPUT_LED_CAPSL));
	assert_true(bit(u, n, VIO_INPUT_LED_SCROLLL));
	n = cfg(VIO_INPUT_CFG_EV_BITS, VIO_INPUT_EV_SND, u);
	assert_true(bit(u, n, VIO_INPUT_SND_BELL));
	/* Autorepeat by the driver: supported without codes. */
	assert_true(cfg(VIO_INPUT_CFG_EV_BITS, VIO_INPUT_EV_REP, u) > 0);
	/* A keyboard has no axes. */
	assert_int_equal(cfg(VIO_INPUT_CFG_EV_BITS, VIO_INPUT_EV_ABS, u), 0);
	assert_int_equal(cfg(VIO_INPUT_CFG_ABS_INFO, VIO_INPUT_ABS_X, u), 0);
	assert_int_equal(cfg(VIO_INPUT_CFG_UNSET, 0, u), 0);
}

static void keyboard_events(void **state)
{
	(void) state;
	BEGIN();
	start(false);
	post_eventq();
	expect_quiet(100);
	control_ok("input0 key 30 1");
	expect_key(KEY_A, 1);
	/* A key already down sends nothing. */
	control_ok("input key 30 1");
	control_ok("input0 key 30 0");
	expect_key(KEY_A, 0);
	control_ok("input0 tap 48");
	expect_key(KEY_B, 1);
	expect_key(KEY_B, 0);
	/* Typed text: a tap per character, shift around the capital. */
	control_ok("input0 type Hi");
	expect_key(KEY_LSHIFT, 1);
	expect_key(KEY_H, 1);
	expect_key(KEY_H, 0);
	expect_key(KEY_LSHIFT, 0);
	expect_key(KEY_I, 1);
	expect_key(KEY_I, 0);
	/* Blanks inside the text are the space bar; a CRLF line end is not typed. */
	control_ok("input0 type a b\r");
	expect_key(KEY_A, 1);
	expect_key(KEY_A, 0);
	expect_key(KEY_SPACE, 1);
	expect_key(KEY_SPACE, 0);
	expect_key(KEY_B, 1);
	expect_key(KEY_B, 0);
	expect_quiet(100);
}

static void keyboard_status_led(void **state)
{
	uint8_t *st;
	uint64_t gpa;
	struct vio_buf b;
	void *tok;
	uint32_t len;
	char reply[256];

	(void) state;
	BEGIN();
	start(false);
	st = vio_vu_fe_alloc(&fe, VIO_INPUT_EVENT_SIZE, 8, &gpa);
	assert_non_null(st);
	/* EV_LED, LED_CAPSL, 1: what virtinput_send_status sends when CapsLock lights. */
	memset(st, 0, VIO_INPUT_EVENT_SIZE);
	st[0] = VIO_INPUT_EV_LED;
	st[2] = VIO_INPUT_LED_CAPSL;
	st[4] = 1;
	b = (struct vio_buf){gpa, VIO_INPUT_EVENT_SIZE};
	assert_int_equal(vio_vu_fe_add(&fe, VIO_INPUT_STATUSQ, &b, 1, NULL, 0, st), 0);
	assert_true(vio_vu_fe_kick(&fe, VIO_INPUT_STATUSQ) >= 0);
	assert_int_equal(vio_vu_fe_wait_used(&fe, VIO_INPUT_STATUSQ, &tok, &len, WAIT_MS), 1);
	assert_ptr_equal(tok, st);
	assert_int_equal(len, 0);
	assert_true(control("input0 leds", reply, sizeof(reply)));
	assert_string_equal(reply, "ok numlock=0 capslock=1 scrolllock=0 bells=0");
}

static void touchscreen_config(void **state)
{
	uint8_t u[VIO_INPUT_CFG_U_SIZE];
	uint8_t n;

	(void) state;
	BEGIN();
	start(true);
	n = cfg(VIO_INPUT_CFG_ID_NAME, 0, u);
	assert_int_equal(n, strlen("vioport touchscreen"));
	assert_memory_equal(u, "vioport touchscreen", n);
	n = cfg(VIO_INPUT_CFG_PROP_BITS, 0, u);
	assert_true(bit(u, n, VIO_INPUT_PROP_DIRECT));
	n = cfg(VIO_INPUT_CFG_EV_BITS, VIO_INPUT_EV_KEY, u);
	assert_true(bit(u, n, VIO_INPUT_BTN_TOUCH));
	assert_false(bit(u, n, KEY_A));
	n = cfg(VIO_INPUT_CFG_EV_BITS, VIO_INPUT_EV_ABS, u);
	assert_true(bit(u, n, VIO_INPUT_ABS_X));
	assert_true(bit(u, n, VIO_INPUT_ABS_Y));
	assert_true(bit(u, n, VIO_INPUT_ABS_MT_SLOT));
	assert_true(bit(u, n, VIO_INPUT_ABS_MT_POS_X));
	assert_true(bit(u, n, VIO_INPUT_ABS_MT_TRACKID));
	/* The daemon's screen: 1280 x 800 at 10 units/mm, 10 contacts. */
	assert_int_equal(cfg(VIO_INPUT_CFG_ABS_INFO, VIO_INPUT_ABS_X, u), VIO_INPUT_ABSINFO_SIZE);
	assert_int_equal(le32(u), 0);
	assert_int_equal(le32(u + 4), 1279);
	assert_int_equal(le32(u + 16), 10);
	assert_int_equal(cfg(VIO_INPUT_CFG_ABS_INFO, VIO_INPUT_ABS_MT_POS_Y, u),
			 VIO_INPUT_ABSINFO_SIZE);
	assert_int_equal(le32(u + 4), 799);
	assert_int_equal(cfg(VIO_INPUT_CFG_ABS_INFO, VIO_INPUT_ABS_MT_SLOT, u),
			 VIO_INPUT_ABSINFO_SIZE);
	assert_int_equal(le32(u + 4), 9);
	/* An axis it does not have. */
	assert_int_equal(cfg(VIO_INPUT_CFG_ABS_INFO, 0x08, u), 0);
	assert_int_equal(cfg(VIO_INPUT_CFG_EV_BITS, VIO_INPUT_EV_LED, u), 0);
}

/* Reads one report (up to SYN_REPORT); returns its events in ev, their count. */
static unsigned read_report(struct vio_input_event *ev, unsigned cap)
{
	unsigned n = 0;

	for (;;) {
		assert_true(n < cap);
		ev[n] = next_event();
		if (ev[n].type == VIO_INPUT_EV_SYN) {
			assert_int_equal(ev[n].code, VIO_INPUT_SYN_REPORT);
			return n + 1;
		}
		n++;
	}
}

static bool has_event(const struct vio_input_event *ev, unsigned n, uint16_t type, uint16_t code,
		      int32_t value)
{
	for (unsigned i = 0; i < n; i++)
		if (ev[i].type == type && ev[i].code == code && ev[i].value == value)
			return true;
	return false;
}

static void touchscreen_events(void **state)
{
	struct vio_input_event ev[16];
	unsigned n;

	(void) state;
	BEGIN();
	start(true);
	post_eventq();
	control_ok("input1 touch 0 100 200");
	n = read_report(ev, 16);
	assert_true(has_event(ev, n, VIO_INPUT_EV_ABS, VIO_INPUT_ABS_MT_POS_X, 100));
	assert_true(has_event(ev, n, VIO_INPUT_EV_ABS, VIO_INPUT_ABS_MT_POS_Y, 200));
	assert_true(has_event(ev, n, VIO_INPUT_EV_ABS, VIO_INPUT_ABS_X, 100));
	assert_true(has_event(ev, n, VIO_INPUT_EV_ABS, VIO_INPUT_ABS_Y, 200));
	assert_true(has_event(ev, n, VIO_INPUT_EV_KEY, VIO_INPUT_BTN_TOUCH, 1));
	/* A move sends only the coordinate that changed. */
	control_ok("input1 touch 0 100 300");
	n = read_report(ev, 16);
	assert_true(has_event(ev, n, VIO_INPUT_EV_ABS, VIO_INPUT_ABS_MT_POS_Y, 300));
	assert_false(has_event(ev, n, VIO_INPUT_EV_ABS, VIO_INPUT_ABS_MT_POS_X, 100));
	control_ok("input1 lift 0");
	n = read_report(ev, 16);
	assert_true(has_event(ev, n, VIO_INPUT_EV_ABS, VIO_INPUT_ABS_MT_TRACKID, -1));
	assert_true(has_event(ev, n, VIO_INPUT_EV_KEY, VIO_INPUT_BTN_TOUCH, 0));
	expect_quiet(100);
}

static void control_refusals(void **state)
{
	static const char *const bad[] = {
	    "input0 touch 0 1 1",    /* a keyboard has no contacts */
	    "input1 key 30 1",	     /* a touchscreen has no keys */
	    "input0 key 0 1",	     /* no key 0 */
	    "input0 key 256 1",	     /* nor past 255 */
	    "input0 key 30 2",	     /* 0 or 1 */
	    "input0 tap",	     /* a code */
	    "input0 type",	     /* a text */
	    "input0 type \x01",	     /* no key types it */
	    "input1 touch 10 0 0",   /* slots 0 .. 9 */
	    "input1 touch 0 1280 0", /* off the screen */
	    "input1 touch 0 0 800",  /* off the screen */
	    "input1 lift 0 0",	     /* one argument */
	    "input0 bogus",	     /* no such command */
	    "input2 tap 30",	     /* no such device */
	};
	char reply[256];

	(void) state;
	BEGIN();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (control(bad[i], reply, sizeof(reply)))
			fail_msg("'%s' answered '%s'", bad[i], reply);
		assert_int_equal(strncmp(reply, "error", 5), 0);
	}
}

/* Runs the daemon with args to its end; its exit status, its log in log. */
static int run_to_end(const char *const args[], char *log, size_t cap)
{
	char *argv[16];
	struct it_proc p = {0};
	unsigned n = 0;
	FILE *f;
	size_t got;
	int st;

	argv[n++] = (char *) it_vioport_bin();
	for (; args[n - 1] != NULL; n++)
		argv[n] = (char *) args[n - 1];
	argv[n] = NULL;
	assert_int_equal(it_path(p.log, T.dir, "refused.log"), 0);
	assert_int_equal(it_spawn(&p, argv, -1, -1), 0);
	st = it_wait_exit(&p, WAIT_MS);
	f = fopen(p.log, "r");
	assert_non_null(f);
	got = fread(log, 1, cap - 1, f);
	log[got] = '\0';
	fclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The virtio-msg side: one keyboard on a window, the project's driver library. */
#define WIN_SIZE  (1u << 20)
#define MAP_WORDS 1024
static struct {
	struct it_proc proc;
	char win[IT_PATH];
	struct vio_vmsg_posix_drv p;
	bool open;
	struct vio_vmsg_drv drv;
	uint32_t map[MAP_WORDS];
	struct vio_vmsg_drv_dev dev;
	struct vio_vmsg_drv_vq vqs[2];
	uint8_t ev[8][VIO_INPUT_EVENT_SIZE];
	uint8_t st[VIO_INPUT_EVENT_SIZE];
} V;

static int vmsg_teardown(void **state)
{
	(void) state;
	if (V.open)
		vio_vmsg_posix_drv_close(&V.p);
	V.open = false;
	if (V.proc.pid > 0)
		it_stop(&V.proc, 2000, NULL);
	V.proc.pid = 0;
	return 0;
}

/* The same kind over virtio-msg: keys reach the eventq, an LED comes back. */
static void keyboard_over_vmsg(void **state)
{
	char ctl[IT_PATH], reply[256], err[256], size_arg[16];
	char *argv[] = {(char *) it_vioport_bin(),
			"--control",
			ctl,
			"input",
			"--transport",
			"vmsg",
			"--shm",
			V.win,
			"--shm-size",
			size_arg,
			"--sim",
			"keyboard",
			NULL};
	static const uint16_t want[][3] = {{VIO_INPUT_EV_KEY, KEY_A, 1},
					   {VIO_INPUT_EV_SYN, VIO_INPUT_SYN_REPORT, 0},
					   {VIO_INPUT_EV_KEY, KEY_A, 0},
					   {VIO_INPUT_EV_SYN, VIO_INPUT_SYN_REPORT, 0}};
	struct vio_vmsg_drv_seg seg;
	bool sanitizer = false;
	uint8_t size = 0xee;
	void *tok;
	uint32_t len;
	int st;

	(void) state;
	BEGIN();
	assert_int_equal(it_path(V.win, T.dir, "window"), 0);
	assert_int_equal(it_path(ctl, T.dir, "vmsg-ctl.sock"), 0);
	assert_int_equal(it_path(V.proc.log, T.dir, "vmsg.log"), 0);
	snprintf(size_arg, sizeof(size_arg), "%u", WIN_SIZE);
	/* The control socket is up once the daemon has set everything up. */
	snprintf(V.proc.sock, sizeof(V.proc.sock), "%s", ctl);
	if (it_start(&V.proc, argv, WAIT_MS) < 0)
		fail_msg("the daemon did not start");
	if (vio_vmsg_posix_drv_open(&V.p, V.win, 0, "poll", WAIT_MS, err, sizeof(err)) < 0)
		fail_msg("driver open: %s", err);
	V.open = true;
	assert_int_equal(vio_vmsg_drv_init_shm(&V.drv, &V.p.binding, V.map, MAP_WORDS), 0);
	V.drv.timeout_us = WAIT_MS * 1000u;
	assert_int_equal(vio_vmsg_drv_dev_init(&V.dev, &V.drv, 0, V.vqs, 2), 0);
	assert_int_equal(vio_vmsg_drv_dev_start(&V.dev, VIO_BIT(VIO_F_VERSION_1)), 0);
	/* Nothing selected yet: size 0. */
	assert_int_equal(vio_vmsg_drv_read_config(&V.dev, VIO_INPUT_CFG_SIZE, &size, 1), 0);
	assert_int_equal(size, 0);
	for (int i = 0; i < 8; i++) {
		seg = (struct vio_vmsg_drv_seg){V.ev[i], VIO_INPUT_EVENT_SIZE};
		assert_int_equal(
		    vio_vmsg_drv_submit(&V.dev, VIO_INPUT_EVENTQ, NULL, 0, &seg, 1, V.ev[i]), 0);
	}
	assert_int_equal(it_control(ctl, "input tap 30", reply, sizeof(reply), WAIT_MS), 0);
	assert_string_equal(reply, "ok");
	for (int i = 0; i < 4; i++) {
		const uint8_t *p;

		assert_int_equal(
		    vio_vmsg_drv_wait_used(&V.dev, VIO_INPUT_EVENTQ, &tok, &len, WAIT_MS * 1000u),
		    1);
		assert_int_equal(len, VIO_INPUT_EVENT_SIZE);
		p = tok;
		assert_int_equal(p[0] | p[1] << 8, want[i][0]);
		assert_int_equal(p[2] | p[3] << 8, want[i][1]);
		assert_int_equal(le32(p + 4), want[i][2]);
	}
	/* NumLock from the driver. */
	memset(V.st, 0, sizeof(V.st));
	V.st[0] = VIO_INPUT_EV_LED;
	V.st[2] = VIO_INPUT_LED_NUML;
	V.st[4] = 1;
	seg = (struct vio_vmsg_drv_seg){V.st, VIO_INPUT_EVENT_SIZE};
	assert_int_equal(vio_vmsg_drv_submit(&V.dev, VIO_INPUT_STATUSQ, &seg, 1, NULL, 0, V.st), 0);
	assert_int_equal(
	    vio_vmsg_drv_wait_used(&V.dev, VIO_INPUT_STATUSQ, &tok, &len, WAIT_MS * 1000u), 1);
	assert_ptr_equal(tok, V.st);
	assert_int_equal(it_control(ctl, "input leds", reply, sizeof(reply), WAIT_MS), 0);
	assert_string_equal(reply, "ok numlock=1 capslock=0 scrolllock=0 bells=0");
	vio_vmsg_posix_drv_close(&V.p);
	V.open = false;
	st = it_stop(&V.proc, WAIT_MS, &sanitizer);
	V.proc.pid = 0;
	if (sanitizer || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		it_print_log(V.proc.log, 30);
		fail_msg("the daemon did not end cleanly (status %d)", st);
	}
}

/* Refused on the command line (status 2) or at start (1), saying why. */
static void command_line_refusals(void **state)
{
	static const struct {
		const char *args[12];
		int status;
		const char *says;
	} cases[] = {
	    {{"input", "-s", "/tmp/vioport-input-x.sock", NULL},
	     2,
	     "input needs --sim keyboard|touchscreen or --evdev"},
	    {{"input", "-s", "/tmp/vioport-input-x.sock", "--sim", "keyboard", "--evdev",
	      "/dev/null", NULL},
	     2,
	     "input takes --sim or --evdev, not both"},
	    {{"input", "-s", "/tmp/vioport-input-x.sock", "--sim", "mouse", NULL},
	     2,
	     "--sim takes keyboard or touchscreen, not 'mouse'"},
	    {{"input", "-s", "/tmp/vioport-input-x.sock", "--socket-count", "2", "--evdev",
	      "/dev/null", NULL},
	     2,
	     "--evdev passes one device through: one socket, not 2"},
	    {{"rng", "-s", "/tmp/vioport-input-x.sock", "--sim", "keyboard", NULL},
	     2,
	     "option '--sim' does not apply to rng"},
	    /* Not an evdev device: refused at start, with the reason. */
	    {{"input", "-s", "/tmp/vioport-input-x.sock", "--evdev", "/dev/null", NULL},
	     1,
	     "/dev/null is not an evdev input device"},
	    {{"input", "-s", "/tmp/vioport-input-x.sock", "--evdev-path", "/nonexistent/event0",
	      NULL},
	     1,
	     "cannot open /nonexistent/event0"},
	};
	char log[4096];

	(void) state;
	BEGIN();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st = run_to_end(cases[i].args, log, sizeof(log));

		if (st != cases[i].status || strstr(log, cases[i].says) == NULL)
			fail_msg("case %zu: status %d, log: %s", i, st, log);
	}
}

static void clean_exit(void **state)
{
	(void) state;
	BEGIN();
	start(false);
	it_expect_clean_stop(&T.proc, &T.skip);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(keyboard_config, teardown),
	    cmocka_unit_test_teardown(keyboard_events, teardown),
	    cmocka_unit_test_teardown(keyboard_status_led, teardown),
	    cmocka_unit_test_teardown(touchscreen_config, teardown),
	    cmocka_unit_test_teardown(touchscreen_events, teardown),
	    cmocka_unit_test_teardown(control_refusals, teardown),
	    cmocka_unit_test_teardown(command_line_refusals, teardown),
	    cmocka_unit_test_teardown(keyboard_over_vmsg, vmsg_teardown),
	    cmocka_unit_test_teardown(clean_exit, teardown),
	};

	return cmocka_run_group_tests_name("vhost-user-input: vioport daemon", tests, group_setup,
					   group_teardown);
}
