/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport's Linux providers against real kernel chips: the daemon serves a
 * GPIO character device (`vioport gpio --device-list CHIP`) and i2c-dev
 * adapters (`vioport i2c --device-list BUS:ADDR,...`), and this program
 * drives it through the vhost-user frontend while watching the chip from the
 * other side (gpio-sim's sysfs attributes) and knowing what sits on each bus.
 *
 * The guest tier's `providers` variant runs it inside a Linux guest, where
 * the chips exist: a gpio-sim chip configured through configfs, the guest's
 * own virtio-i2c adapter (a real I2C_FUNC_I2C adapter, reaching the host's
 * simulated 24c02 and LM75) and i2c-stub (an SMBus-only adapter with a
 * register-file chip), and uinput for the evdev provider. Each argument group
 * enables one set of cases:
 *
 *   --gpio-chip DEV --gpio-sysfs DIR --gpio-names NAME,NAME,...
 *       DEV as the daemon's --device-list takes it (N, gpiochipN or
 *       /dev/gpiochipN), DIR the chip's gpio-sim directory (the one holding
 *       sim_gpio0 ..), the line names configured, in line order (at least 4)
 *   --i2c-rdwr BUS [--lm75-mc MILLICELSIUS]
 *       an I2C_FUNC_I2C adapter with a 24c02 at 0x50 and an LM75 at 0x48
 *       reading MILLICELSIUS (default 25000)
 *   --i2c-smbus BUS
 *       an SMBus-only adapter with a register-file chip at 0x50 (i2c-stub)
 *   --uinput PATH
 *       uinput's device (/dev/uinput): the program makes an input device of
 *       known identity there and passes its event node through
 *       (`vioport input --evdev /dev/input/eventN`). The cases: the config
 *       selectors answer its name, ids, property and code bitmaps and axis
 *       ranges; reports written to uinput arrive on the eventq in order; the
 *       daemon holds the device grabbed (EVIOCGRAB) from the driver's start,
 *       before its first report, so a second reader sees nothing; an LED set on the
 *       statusq reaches the uinput device; the grab is released when the
 *       driver disconnects
 *
 * Each case prints one line, "RESULT <name> PASS|FAIL|SKIP <detail>", on
 * standard output; the exit status is 1 when one failed. Without any group
 * (as in the host's integration tier, which has no such chips) it prints why
 * and exits 77, which meson reports as skipped. The daemon is $VIOPORT_BIN.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/gpio.h>
#include <linux/input.h>
#include <linux/uinput.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"
#include "vioport/gpio.h"
#include "vioport/i2c.h"
#include "vioport/input.h"
#include "vioport/vhost_user_frontend.h"
#include "vioport/virtio.h"

#define EXIT_SKIP   77
#define WAIT_MS	    5000
#define START_MS    30000 /* a sanitized daemon starting in an emulated guest */
#define QUIET_MS    300	  /* how long "nothing arrives" is watched */
#define MAX_LINES   64
#define DETAIL	    300
#define EEPROM	    0x50
#define LM75	    0x48
#define ABSENT	    0x51 /* an address the daemon is not given */
#define STUB	    0x50
#define EEPROM_PAGE 8
#define GPIO_FEAT   (VIO_BIT(VIO_F_VERSION_1) | VIO_BIT(VIO_F_EVENT_IDX) | VIO_BIT(VIO_GPIO_F_IRQ))
#define I2C_FEAT                                                                                   \
	(VIO_BIT(VIO_F_VERSION_1) | VIO_BIT(VIO_F_EVENT_IDX) |                                     \
	 VIO_BIT(VIO_I2C_F_ZERO_LENGTH_REQUEST))
#define LINE_OUT  0 /* driven by the daemon, read in sysfs */
#define LINE_IN	  1 /* pulled in sysfs, read by the daemon */
#define LINE_IRQ  2 /* edges made in sysfs, events on the eventq */
#define LINE_BUSY 3 /* held by this program through the uAPI */
#define MIN_LINES 4

struct opts {
	const char *gpio_chip, *gpio_sysfs, *gpio_names;
	const char *i2c_rdwr, *i2c_smbus;
	const char *uinput;
	long lm75_mc;
};

/* One group: its daemon, its connection, the verdicts it printed. */
struct group {
	char dir[IT_PATH];
	struct it_proc proc;
	struct vio_vu_fe fe;
	bool up;	   /* daemon started and connected */
	char down[DETAIL]; /* why not, for every case of the group */
};

static int nfail;

/* Prints one verdict line; rc 0 PASS, 1 SKIP, anything else FAIL. */
static void verdict(const char *name, int rc, const char *detail)
{
	const char *st = rc == 0 ? "PASS" : rc == 1 ? "SKIP" : "FAIL";

	if (rc != 0 && rc != 1)
		nfail++;
	printf("RESULT %s %s %s\n", name, st, detail);
	fflush(stdout);
}

/* snprintf into a DETAIL buffer, returning -1 so that a case can `return fail(...)`. */
static int fail(char *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(char *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d, DETAIL, fmt, ap);
	va_end(ap);
	return -1;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The last non-empty line of a log, for a one-line reason. */
static void last_log_line(const char *log, char *out, size_t cap)
{
	char line[512];
	FILE *f = fopen(log, "r");

	snprintf(out, cap, "(empty log)");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] != '\0') {
			size_t n = strlen(line) < cap ? strlen(line) : cap - 1;

			memcpy(out, line, n);
			out[n] = '\0';
		}
	}
	fclose(f);
}

/*
 * Starts `vioport DEV --socket-path S OPT LIST` (OPT --device-list, or
 * --evdev for input) and connects with nq queues and the features asked
 * for; on failure g->down says why.
 */
static void group_start(struct group *g, const char *tag, const char *dev, const char *opt,
			const char *list, uint64_t features, uint16_t nq, uint32_t config_size)
{
	const char *b = it_vioport_bin();
	char bin[IT_PATH], devc[16], optc[32], listc[256], last[200];
	char *argv[] = {bin, devc, "--socket-path", g->proc.sock, optc, listc, NULL};
	struct vio_vu_fe_params p = {
	    .features = features, .num_queues = nq, .config_size = config_size};
	int r;

	if (b == NULL) {
		snprintf(g->down, sizeof(g->down), "no vioport daemon at $VIOPORT_BIN");
		return;
	}
	snprintf(bin, sizeof(bin), "%s", b);
	snprintf(devc, sizeof(devc), "%s", dev);
	snprintf(optc, sizeof(optc), "%s", opt);
	snprintf(listc, sizeof(listc), "%s", list);
	if (it_tmpdir(g->dir, tag) < 0 || it_path(g->proc.sock, g->dir, "vu.sock") < 0 ||
	    it_path(g->proc.log, g->dir, "vioport.log") < 0) {
		snprintf(g->down, sizeof(g->down), "cannot make a temporary directory");
		return;
	}
	if (it_start(&g->proc, argv, START_MS) < 0) {
		last_log_line(g->proc.log, last, sizeof(last));
		snprintf(g->down, sizeof(g->down), "vioport %s %s %s did not start: %s", dev, opt,
			 list, last);
		return;
	}
	r = vio_vu_fe_start(&g->fe, g->proc.sock, &p);
	if (r != 0) {
		snprintf(g->down, sizeof(g->down), "frontend start: %d (%s)", r,
			 vio_vu_fe_error(&g->fe));
		return;
	}
	g->up = true;
}

/* Closes the connection and stops the daemon: it must exit 0 on SIGTERM, sanitizer-clean. */
static int group_stop(struct group *g, char *d)
{
	bool san = false;
	int st, rc = 0;

	vio_vu_fe_close(&g->fe);
	if (!g->up) {
		snprintf(d, DETAIL, "%s", g->down);
		it_finish(&g->proc, g->dir);
		return -1;
	}
	if (!it_alive(&g->proc)) {
		st = it_stop(&g->proc, 5000, &san);
		rc = fail(d, "the daemon died while serving (wait status %#x%s)", (unsigned) st,
			  san ? ", sanitizer report" : "");
	} else {
		st = it_stop(&g->proc, 5000, &san);
		if (san)
			rc = fail(d, "sanitizer report in the daemon's log");
		else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			rc = fail(d, "wait status %#x after SIGTERM", (unsigned) st);
		else
			snprintf(d, DETAIL, "served every case, exited 0 on SIGTERM");
	}
	if (rc != 0)
		it_print_log(g->proc.log, 30);
	it_finish(&g->proc, g->dir);
	return rc;
}

/* ------------------------------------------------------------------ GPIO */

struct gpio_ctx {
	struct group g;
	const char *sysfs;
	char names[MAX_LINES][VIO_GPIO_NAME_MAX];
	unsigned nlines;
	int chip_fd;
};

/*
 * One requestq request; resp_len bytes of answer land in resp. Returns 0
 * (the status is resp[0]) or -1 with d set.
 */
static int gpio_req(struct gpio_ctx *c, uint16_t type, uint16_t line, uint32_t value, uint8_t *resp,
		    uint32_t resp_len, char *d)
{
	struct vio_vu_fe *fe = &c->g.fe;
	uint64_t ogpa, igpa;
	uint8_t *o = vio_vu_fe_alloc(fe, VIO_GPIO_REQ_SIZE, 64, &ogpa);
	uint8_t *i = vio_vu_fe_alloc(fe, resp_len, 64, &igpa);
	struct vio_buf ob = {ogpa, VIO_GPIO_REQ_SIZE}, ib = {igpa, resp_len};
	void *tok = NULL;
	uint32_t len = 0;
	int r, rc = 0;

	if (o == NULL || i == NULL)
		return fail(d, "frontend out of guest memory");
	o[0] = (uint8_t) type;
	o[1] = (uint8_t) (type >> 8);
	o[2] = (uint8_t) line;
	o[3] = (uint8_t) (line >> 8);
	for (int k = 0; k < 4; k++)
		o[4 + k] = (uint8_t) (value >> (8 * k));
	memset(i, 0xee, resp_len);
	if (vio_vu_fe_add(fe, VIO_GPIO_REQUESTQ, &ob, 1, &ib, 1, o) != 0 ||
	    vio_vu_fe_kick(fe, VIO_GPIO_REQUESTQ) < 0)
		rc = fail(d, "queueing request %u: %s", type, vio_vu_fe_error(fe));
	else if ((r = vio_vu_fe_wait_used(fe, VIO_GPIO_REQUESTQ, &tok, &len, WAIT_MS)) != 1)
		rc = fail(d, "request %u line %u: no answer (%d)", type, line, r);
	else if (tok != o || len != resp_len)
		rc = fail(d, "request %u line %u: used entry len %u, expected %u", type, line, len,
			  resp_len);
	else
		memcpy(resp, i, resp_len);
	vio_vu_fe_free(fe, ogpa, VIO_GPIO_REQ_SIZE);
	vio_vu_fe_free(fe, igpa, resp_len);
	return rc;
}

/* A request that must answer OK; its value byte goes to *val (may be NULL). */
static int gpio_ok(struct gpio_ctx *c, uint16_t type, uint16_t line, uint32_t value, uint8_t *val,
		   char *d)
{
	uint8_t r[VIO_GPIO_RESP_SIZE];

	if (gpio_req(c, type, line, value, r, sizeof(r), d) != 0)
		return -1;
	if (r[0] != VIO_GPIO_STATUS_OK)
		return fail(d, "request %u line %u value %u: status %u, expected OK", type, line,
			    value, r[0]);
	if (val != NULL)
		*val = r[1];
	return 0;
}

/* Reads sysfs attribute sim_gpioLINE/ATTR of the chip into out (newline stripped). */
static int sim_read(struct gpio_ctx *c, unsigned line, const char *attr, char *out, size_t cap,
		    char *d)
{
	char path[IT_PATH + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/sim_gpio%u/%s", c->sysfs, line, attr);
	f = fopen(path, "r");
	if (f == NULL)
		return fail(d, "open %s: %s", path, strerror(errno));
	if (fgets(out, (int) cap, f) == NULL)
		out[0] = '\0';
	fclose(f);
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

/* Writes "pull-up" or "pull-down" to sim_gpioLINE/pull: the level an input line sees. */
static int sim_pull(struct gpio_ctx *c, unsigned line, bool up, char *d)
{
	char path[IT_PATH + 32];
	const char *v = up ? "pull-up" : "pull-down";
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/sim_gpio%u/pull", c->sysfs, line);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return fail(d, "open %s: %s", path, strerror(errno));
	if (write(fd, v, strlen(v)) != (ssize_t) strlen(v))
		rc = fail(d, "write %s to %s: %s", v, path, strerror(errno));
	close(fd);
	return rc;
}

static int gpio_names(struct gpio_ctx *c, char *d)
{
	uint8_t cfg[VIO_GPIO_CONFIG_SIZE], buf[MAX_LINES * VIO_GPIO_NAME_MAX + 1];
	uint32_t size;
	unsigned ngpio;
	const char *p, *end;

	if (vio_vu_fe_get_config(&c->g.fe, 0, cfg, sizeof(cfg)) != 0)
		return fail(d, "GET_CONFIG: %s", vio_vu_fe_error(&c->g.fe));
	ngpio = (unsigned) cfg[0] | (unsigned) cfg[1] << 8;
	size = (uint32_t) cfg[4] | (uint32_t) cfg[5] << 8 | (uint32_t) cfg[6] << 16 |
	       (uint32_t) cfg[7] << 24;
	if (ngpio != c->nlines)
		return fail(d, "config ngpio %u, the chip has %u lines", ngpio, c->nlines);
	if (size == 0 || size > sizeof(buf) - 1)
		return fail(d, "config gpio_names_size %u", size);
	if (gpio_req(c, VIO_GPIO_MSG_GET_LINE_NAMES, 0, 0, buf, size + 1, d) != 0)
		return -1;
	if (buf[0] != VIO_GPIO_STATUS_OK)
		return fail(d, "GET_LINE_NAMES status %u", buf[0]);
	p = (const char *) buf + 1;
	end = p + size;
	for (unsigned l = 0; l < c->nlines; l++) {
		size_t n = strnlen(p, (size_t) (end - p));

		if (p + n >= end)
			return fail(d, "names block ends inside line %u's name", l);
		if (strcmp(p, c->names[l]) != 0)
			return fail(d, "line %u named '%s', configured '%s'", l, p, c->names[l]);
		p += n + 1;
	}
	snprintf(d, DETAIL, "%u lines, GET_LINE_NAMES gives the configured names (%s, %s, ...)",
		 c->nlines, c->names[0], c->names[1]);
	return 0;
}

static int gpio_output(struct gpio_ctx *c, char *d)
{
	char v[32];

	if (gpio_ok(c, VIO_GPIO_MSG_SET_DIRECTION, LINE_OUT, VIO_GPIO_DIRECTION_OUT, NULL, d) != 0)
		return -1;
	for (unsigned want = 1;; want = 0) {
		if (gpio_ok(c, VIO_GPIO_MSG_SET_VALUE, LINE_OUT, want, NULL, d) != 0 ||
		    sim_read(c, LINE_OUT, "value", v, sizeof(v), d) != 0)
			return -1;
		if (strcmp(v, want ? "1" : "0") != 0)
			return fail(d, "SET_VALUE %u on line %u, gpio-sim's value reads '%s'", want,
				    LINE_OUT, v);
		if (want == 0)
			break;
	}
	snprintf(d, DETAIL, "line %u (%s) out: SET_VALUE 1 then 0, gpio-sim's value read 1 then 0",
		 LINE_OUT, c->names[LINE_OUT]);
	return 0;
}

static int gpio_input(struct gpio_ctx *c, char *d)
{
	uint8_t val = 0xee;

	if (gpio_ok(c, VIO_GPIO_MSG_SET_DIRECTION, LINE_IN, VIO_GPIO_DIRECTION_IN, NULL, d) != 0)
		return -1;
	for (int up = 1; up >= 0; up--) {
		if (sim_pull(c, LINE_IN, up, d) != 0 ||
		    gpio_ok(c, VIO_GPIO_MSG_GET_VALUE, LINE_IN, 0, &val, d) != 0)
			return -1;
		if (val != up)
			return fail(d, "line %u pulled %s, GET_VALUE gives %u", LINE_IN,
				    up ? "up" : "down", val);
	}
	snprintf(d, DETAIL, "line %u (%s) in: pull-up reads 1, pull-down reads 0", LINE_IN,
		 c->names[LINE_IN]);
	return 0;
}

/* An eventq buffer for one line, kept between the edge and latch cases. */
struct ev_buf {
	uint8_t *req, *st;
	uint64_t req_gpa, st_gpa;
};

/* Queues an eventq buffer for LINE_IRQ, which unmasks the line. */
static int ev_queue(struct gpio_ctx *c, struct ev_buf *e, char *d)
{
	struct vio_vu_fe *fe = &c->g.fe;
	struct vio_buf ob, ib;

	if (e->req == NULL) {
		e->req = vio_vu_fe_alloc(fe, VIO_GPIO_IRQ_REQ_SIZE, 64, &e->req_gpa);
		e->st = vio_vu_fe_alloc(fe, VIO_GPIO_IRQ_RESP_SIZE, 64, &e->st_gpa);
		if (e->req == NULL || e->st == NULL)
			return fail(d, "frontend out of guest memory");
	}
	e->req[0] = LINE_IRQ;
	e->req[1] = 0;
	*e->st = 0xee;
	ob = (struct vio_buf){e->req_gpa, VIO_GPIO_IRQ_REQ_SIZE};
	ib = (struct vio_buf){e->st_gpa, VIO_GPIO_IRQ_RESP_SIZE};
	if (vio_vu_fe_add(fe, VIO_GPIO_EVENTQ, &ob, 1, &ib, 1, e->req) != 0 ||
	    vio_vu_fe_kick(fe, VIO_GPIO_EVENTQ) < 0)
		return fail(d, "queueing the eventq buffer: %s", vio_vu_fe_error(fe));
	return 0;
}

/* Waits for the eventq buffer: 1 came back VALID, 0 none within ms, -1 anything else. */
static int ev_wait(struct gpio_ctx *c, struct ev_buf *e, int ms, char *d)
{
	void *tok = NULL;
	uint32_t len = 0;
	int r = vio_vu_fe_wait_used(&c->g.fe, VIO_GPIO_EVENTQ, &tok, &len, ms);

	if (r == 0)
		return 0;
	if (r < 0)
		return fail(d, "eventq: %d (%s)", r, vio_vu_fe_error(&c->g.fe));
	if (tok != e->req || len != VIO_GPIO_IRQ_RESP_SIZE)
		return fail(d, "eventq used entry len %u", len);
	if (*e->st != VIO_GPIO_IRQ_STATUS_VALID)
		return fail(d, "eventq buffer back with status %u, expected VALID", *e->st);
	return 1;
}

static int gpio_irq_edge(struct gpio_ctx *c, struct ev_buf *e, char *d)
{
	int r;

	if (!vio_vu_fe_has(&c->g.fe, VIO_GPIO_F_IRQ))
		return fail(
		    d, "the daemon did not offer VIRTIO_GPIO_F_IRQ for a chip with interrupts");
	if (sim_pull(c, LINE_IRQ, false, d) != 0 ||
	    gpio_ok(c, VIO_GPIO_MSG_SET_DIRECTION, LINE_IRQ, VIO_GPIO_DIRECTION_IN, NULL, d) != 0 ||
	    gpio_ok(c, VIO_GPIO_MSG_SET_IRQ_TYPE, LINE_IRQ, VIO_GPIO_IRQ_TYPE_EDGE_BOTH, NULL, d) !=
		0 ||
	    ev_queue(c, e, d) != 0)
		return -1;
	r = ev_wait(c, e, QUIET_MS, d);
	if (r != 0)
		return r < 0 ? -1 : fail(d, "an event before any edge on line %u", LINE_IRQ);
	if (sim_pull(c, LINE_IRQ, true, d) != 0)
		return -1;
	r = ev_wait(c, e, WAIT_MS, d);
	if (r != 1)
		return r < 0 ? -1 : fail(d, "no event within %d ms of the rising edge", WAIT_MS);
	snprintf(d, DETAIL, "line %u edge-both: nothing for %d ms, then pull-up gave a VALID event",
		 LINE_IRQ, QUIET_MS);
	return 0;
}

static int gpio_irq_latched(struct gpio_ctx *c, struct ev_buf *e, char *d)
{
	int r;

	if (e->req == NULL)
		return fail(d, "the edge case did not get as far as an event");
	/* The line is masked (its buffer came back): this edge must be kept. */
	if (sim_pull(c, LINE_IRQ, false, d) != 0)
		return -1;
	sleep_ms(QUIET_MS);
	if (ev_queue(c, e, d) != 0)
		return -1;
	r = ev_wait(c, e, WAIT_MS, d);
	if (r != 1)
		return r < 0 ? -1
			     : fail(d, "the falling edge made while masked was not delivered on "
				       "unmask");
	/* Delivered once: a further buffer waits for a new edge. */
	if (ev_queue(c, e, d) != 0)
		return -1;
	r = ev_wait(c, e, QUIET_MS, d);
	if (r != 0)
		return r < 0 ? -1 : fail(d, "the latched edge was delivered twice");
	/* Turning the interrupt off hands the held buffer back (INVALID). */
	if (gpio_ok(c, VIO_GPIO_MSG_SET_IRQ_TYPE, LINE_IRQ, VIO_GPIO_IRQ_TYPE_NONE, NULL, d) != 0)
		return -1;
	{
		void *tok = NULL;
		uint32_t len = 0;

		if (vio_vu_fe_wait_used(&c->g.fe, VIO_GPIO_EVENTQ, &tok, &len, WAIT_MS) != 1)
			return fail(d, "SET_IRQ_TYPE none did not return the held buffer");
		if (*e->st != VIO_GPIO_IRQ_STATUS_INVALID)
			return fail(d,
				    "held buffer back with status %u after SET_IRQ_TYPE none, "
				    "expected INVALID",
				    *e->st);
	}
	snprintf(d, DETAIL,
		 "pull-down while masked: delivered VALID when the next buffer was queued, once");
	return 0;
}

/* Requests one line through the uAPI v2 as consumer "vp-holder"; returns its fd or -errno. */
static int hold_line(struct gpio_ctx *c, unsigned line)
{
	struct gpio_v2_line_request req;

	memset(&req, 0, sizeof(req));
	req.offsets[0] = line;
	req.num_lines = 1;
	req.config.flags = GPIO_V2_LINE_FLAG_INPUT;
	snprintf(req.consumer, sizeof(req.consumer), "vp-holder");
	if (ioctl(c->chip_fd, GPIO_V2_GET_LINE_IOCTL, &req) < 0)
		return -errno;
	return req.fd;
}

static int gpio_busy(struct gpio_ctx *c, char *d)
{
	uint8_t r[VIO_GPIO_RESP_SIZE];
	int fd = hold_line(c, LINE_BUSY), rc = 0;

	if (fd < 0)
		return fail(d,
			    "holding line %u through the uAPI failed: %s (does the daemon hold "
			    "lines it was not asked for?)",
			    LINE_BUSY, strerror(-fd));
	if (gpio_req(c, VIO_GPIO_MSG_SET_DIRECTION, LINE_BUSY, VIO_GPIO_DIRECTION_OUT, r, 2, d) !=
	    0)
		rc = -1;
	else if (r[0] != VIO_GPIO_STATUS_ERR)
		rc = fail(d,
			  "SET_DIRECTION out on line %u held by another consumer: status %u, "
			  "expected ERR",
			  LINE_BUSY, r[0]);
	close(fd);
	if (rc != 0)
		return rc;
	/* Released, the same request succeeds: the ERR was the other consumer's doing. */
	if (gpio_ok(c, VIO_GPIO_MSG_SET_DIRECTION, LINE_BUSY, VIO_GPIO_DIRECTION_OUT, NULL, d) != 0)
		return -1;
	snprintf(d, DETAIL, "line %u held by 'vp-holder': SET_DIRECTION ERR; released: OK",
		 LINE_BUSY);
	return 0;
}

static int gpio_bad_line(struct gpio_ctx *c, char *d)
{
	static const uint16_t types[] = {VIO_GPIO_MSG_SET_DIRECTION, VIO_GPIO_MSG_GET_VALUE,
					 VIO_GPIO_MSG_SET_VALUE, VIO_GPIO_MSG_GET_DIRECTION};
	uint8_t r[VIO_GPIO_RESP_SIZE];

	for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
		if (gpio_req(c, types[k], (uint16_t) c->nlines, VIO_GPIO_DIRECTION_IN, r, 2, d) !=
		    0)
			return -1;
		if (r[0] != VIO_GPIO_STATUS_ERR)
			return fail(d, "request %u on line %u of %u: status %u, expected ERR",
				    types[k], c->nlines, c->nlines, r[0]);
	}
	snprintf(d, DETAIL, "line %u of a %u-line chip: ERR for get/set direction and value",
		 c->nlines, c->nlines);
	return 0;
}

/* Splits the comma-separated names into c->names; -1 on too many or too long. */
static int parse_names(struct gpio_ctx *c, const char *list)
{
	const char *p = list;

	c->nlines = 0;
	while (*p != '\0') {
		size_t n = strcspn(p, ",");

		if (c->nlines == MAX_LINES || n == 0 || n >= VIO_GPIO_NAME_MAX)
			return -1;
		memcpy(c->names[c->nlines], p, n);
		c->names[c->nlines][n] = '\0';
		c->nlines++;
		p += n;
		if (*p == ',')
			p++;
	}
	return c->nlines >= MIN_LINES ? 0 : -1;
}

static void run_gpio(const struct opts *o)
{
	static const char *const cases[] = {"gpio-names",    "gpio-output",	 "gpio-input",
					    "gpio-irq-edge", "gpio-irq-latched", "gpio-busy",
					    "gpio-bad-line"};
	static struct gpio_ctx c;
	struct ev_buf e = {0};
	char d[DETAIL], dev[IT_PATH];
	const char *num = o->gpio_chip;

	memset(&c, 0, sizeof(c));
	c.sysfs = o->gpio_sysfs;
	c.chip_fd = -1;
	if (strncmp(num, "/dev/", 5) == 0)
		num += 5;
	if (strncmp(num, "gpiochip", 8) == 0)
		num += 8;
	snprintf(dev, sizeof(dev), "/dev/gpiochip%s", num);
	if (parse_names(&c, o->gpio_names) != 0)
		snprintf(c.g.down, sizeof(c.g.down),
			 "--gpio-names: %d to %d names of 1 to %u bytes", MIN_LINES, MAX_LINES,
			 VIO_GPIO_NAME_MAX - 1);
	else if ((c.chip_fd = open(dev, O_RDWR | O_CLOEXEC)) < 0)
		snprintf(c.g.down, sizeof(c.g.down), "open %s: %s", dev, strerror(errno));
	else
		group_start(&c.g, "gpio", "gpio", "--device-list", o->gpio_chip, GPIO_FEAT, 2,
			    VIO_GPIO_CONFIG_SIZE);

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		int rc;

		if (!c.g.up) {
			verdict(cases[k], -1, c.g.down);
			continue;
		}
		switch (k) {
		case 0:
			rc = gpio_names(&c, d);
			break;
		case 1:
			rc = gpio_output(&c, d);
			break;
		case 2:
			rc = gpio_input(&c, d);
			break;
		case 3:
			rc = gpio_irq_edge(&c, &e, d);
			break;
		case 4:
			rc = gpio_irq_latched(&c, &e, d);
			break;
		case 5:
			rc = gpio_busy(&c, d);
			break;
		default:
			rc = gpio_bad_line(&c, d);
			break;
		}
		verdict(cases[k], rc, d);
	}
	verdict("gpio-daemon", group_stop(&c.g, d), d);
	if (c.chip_fd >= 0)
		close(c.chip_fd);
}

/* ------------------------------------------------------------------ I2C */

/* One message of a transaction. */
struct msg {
	uint16_t addr;
	bool rd;
	uint8_t *buf; /* len bytes: sent for a write, filled for a read */
	uint32_t len;
	uint8_t status; /* filled */
};

/*
 * Sends m[0 .. n) as one transaction (FAIL_NEXT on all but the last, as
 * Linux's virtio-i2c driver sends one i2c_transfer). Returns 0 with every
 * status filled, or -1 with d set.
 */
static int i2c_txn(struct group *g, struct msg *m, unsigned n, char *d)
{
	struct vio_vu_fe *fe = &g->fe;
	uint64_t hgpa[2], dgpa[2], sgpa[2];
	uint8_t *h[2], *b[2], *s[2];
	int rc = 0;

	if (n > 2)
		return fail(d, "at most 2 messages");
	for (unsigned i = 0; i < n; i++) {
		struct vio_buf out[2], in[2];
		unsigned nout = 1, nin = 0;
		uint32_t flags =
		    (i + 1 < n ? VIO_I2C_FLAGS_FAIL_NEXT : 0) | (m[i].rd ? VIO_I2C_FLAGS_M_RD : 0);

		h[i] = vio_vu_fe_alloc(fe, VIO_I2C_OUT_HDR, 64, &hgpa[i]);
		s[i] = vio_vu_fe_alloc(fe, 1, 64, &sgpa[i]);
		b[i] = vio_vu_fe_alloc(fe, m[i].len, 64, &dgpa[i]);
		if (h[i] == NULL || s[i] == NULL || b[i] == NULL)
			return fail(d, "frontend out of guest memory");
		h[i][0] = (uint8_t) (m[i].addr << 1);
		h[i][1] = (uint8_t) (m[i].addr >> 7);
		h[i][4] = (uint8_t) flags;
		*s[i] = 0xee;
		out[0] = (struct vio_buf){hgpa[i], VIO_I2C_OUT_HDR};
		if (m[i].rd) {
			memset(b[i], 0xee, m[i].len);
			in[nin++] = (struct vio_buf){dgpa[i], m[i].len};
		} else {
			memcpy(b[i], m[i].buf, m[i].len);
			out[nout++] = (struct vio_buf){dgpa[i], m[i].len};
		}
		in[nin++] = (struct vio_buf){sgpa[i], 1};
		if (vio_vu_fe_add(fe, 0, out, nout, in, nin, (void *) (uintptr_t) (i + 1)) != 0)
			return fail(d, "queueing message %u: %s", i, vio_vu_fe_error(fe));
	}
	if (vio_vu_fe_kick(fe, 0) < 0)
		return fail(d, "kick: %s", vio_vu_fe_error(fe));
	for (unsigned k = 0; k < n && rc == 0; k++) {
		void *tok;
		uint32_t len;
		int r = vio_vu_fe_wait_used(fe, 0, &tok, &len, WAIT_MS);

		if (r != 1)
			rc = fail(d, "message %u of %u: no answer (%d)", k, n, r);
	}
	for (unsigned i = 0; i < n; i++) {
		m[i].status = *s[i];
		if (m[i].rd)
			memcpy(m[i].buf, b[i], m[i].len);
		vio_vu_fe_free(fe, hgpa[i], VIO_I2C_OUT_HDR);
		vio_vu_fe_free(fe, sgpa[i], 1);
		vio_vu_fe_free(fe, dgpa[i], m[i].len);
	}
	return rc;
}

/* Writes reg followed by len bytes of data to addr in one message; returns its status or -1. */
static int i2c_write(struct group *g, uint16_t addr, uint8_t reg, const uint8_t *data, uint32_t len,
		     char *d)
{
	uint8_t b[64];
	struct msg m = {.addr = addr, .buf = b, .len = len + 1};

	if (len + 1 > sizeof(b))
		return fail(d, "write too long");
	b[0] = reg;
	memcpy(b + 1, data, len);
	if (i2c_txn(g, &m, 1, d) != 0)
		return -1;
	return m.status;
}

/* Write reg, repeated start, read len bytes; both statuses must be OK. */
static int i2c_read_at(struct group *g, uint16_t addr, uint8_t reg, uint8_t *out, uint32_t len,
		       char *d)
{
	struct msg m[2] = {{.addr = addr, .buf = &reg, .len = 1},
			   {.addr = addr, .rd = true, .buf = out, .len = len}};

	if (i2c_txn(g, m, 2, d) != 0)
		return -1;
	if (m[0].status != VIO_I2C_MSG_OK || m[1].status != VIO_I2C_MSG_OK)
		return fail(d, "read of %u bytes at 0x%02x reg 0x%02x: statuses %u %u", len, addr,
			    reg, m[0].status, m[1].status);
	return 0;
}

static void hexdump(char *out, size_t cap, const uint8_t *b, size_t n)
{
	size_t at = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && at + 2 < cap; i++)
		at += (size_t) snprintf(out + at, cap - at, "%02x", b[i]);
}

static int rdwr_eeprom(struct group *g, char *d)
{
	uint8_t data[EEPROM_PAGE], back[EEPROM_PAGE];
	const uint8_t off = 0x40;
	char hx[2 * EEPROM_PAGE + 1], hb[2 * EEPROM_PAGE + 1];
	int st;

	it_fill(data, sizeof(data), (uint32_t) getpid());
	st = i2c_write(g, EEPROM, off, data, sizeof(data), d);
	if (st < 0)
		return -1;
	if (st != VIO_I2C_MSG_OK)
		return fail(d, "page write at 0x%02x: status %d", off, st);
	if (i2c_read_at(g, EEPROM, off, back, sizeof(back), d) != 0)
		return -1;
	hexdump(hx, sizeof(hx), data, sizeof(data));
	hexdump(hb, sizeof(hb), back, sizeof(back));
	if (memcmp(data, back, sizeof(data)) != 0)
		return fail(d, "24c02 at 0x%02x offset 0x%02x: wrote %s, read %s", EEPROM, off, hx,
			    hb);
	snprintf(d, DETAIL, "24c02 at 0x%02x offset 0x%02x: wrote %s, read it back", EEPROM, off,
		 hx);
	return 0;
}

static int rdwr_lm75(struct group *g, long mc, char *d)
{
	uint8_t t[2] = {0xee, 0xee};
	/* The register: the temperature in half degrees, left-aligned in 16 bits. */
	uint16_t want = (uint16_t) ((mc / 500) * 128);

	if (i2c_read_at(g, LM75, 0, t, 2, d) != 0)
		return -1;
	if (t[0] != (uint8_t) (want >> 8) || t[1] != (uint8_t) want)
		return fail(d, "LM75 temperature register %02x%02x, expected %04x (%ld m°C)", t[0],
			    t[1], want, mc);
	snprintf(d, DETAIL, "LM75 at 0x%02x reads %02x%02x: %ld m°C", LM75, t[0], t[1], mc);
	return 0;
}

static int rdwr_absent(struct group *g, char *d)
{
	uint8_t b[1];
	struct msg m = {.addr = ABSENT, .rd = true, .buf = b, .len = 1};

	if (i2c_txn(g, &m, 1, d) != 0)
		return -1;
	if (m.status != VIO_I2C_MSG_ERR)
		return fail(d, "read from 0x%02x, not in the device list: status %u, expected ERR",
			    ABSENT, m.status);
	snprintf(d, DETAIL, "read from 0x%02x, not in the device list: ERR", ABSENT);
	return 0;
}

static void run_rdwr(const struct opts *o)
{
	static struct group g;
	char d[DETAIL], list[64];

	memset(&g, 0, sizeof(g));
	snprintf(list, sizeof(list), "%s:0x%02x:0x%02x", o->i2c_rdwr, EEPROM, LM75);
	group_start(&g, "rdwr", "i2c", "--device-list", list, I2C_FEAT, 1, 0);
	verdict("i2c-rdwr-eeprom", g.up ? rdwr_eeprom(&g, d) : -1, g.up ? d : g.down);
	verdict("i2c-rdwr-lm75", g.up ? rdwr_lm75(&g, o->lm75_mc, d) : -1, g.up ? d : g.down);
	verdict("i2c-rdwr-absent", g.up ? rdwr_absent(&g, d) : -1, g.up ? d : g.down);
	verdict("i2c-rdwr-daemon", group_stop(&g, d), d);
}

static int smbus_byte(struct group *g, char *d)
{
	static const uint8_t regs[] = {0x10, 0x11};
	uint8_t v[2], back;
	int st;

	it_fill(v, sizeof(v), (uint32_t) getpid() ^ 0x5a5aU);
	for (size_t k = 0; k < sizeof(regs); k++) {
		st = i2c_write(g, STUB, regs[k], &v[k], 1, d);
		if (st < 0)
			return -1;
		if (st != VIO_I2C_MSG_OK)
			return fail(d, "write byte data reg 0x%02x: status %d", regs[k], st);
	}
	for (size_t k = 0; k < sizeof(regs); k++) {
		back = 0;
		if (i2c_read_at(g, STUB, regs[k], &back, 1, d) != 0)
			return -1;
		if (back != v[k])
			return fail(d, "reg 0x%02x: wrote %02x, read byte data %02x", regs[k], v[k],
				    back);
	}
	snprintf(d, DETAIL, "i2c-stub at 0x%02x: write byte data %02x %02x, read back alike", STUB,
		 v[0], v[1]);
	return 0;
}

static int smbus_unsupported(struct group *g, char *d)
{
	uint8_t data[40];
	int st;

	memset(data, 0x3c, sizeof(data));
	/* 41 bytes: longer than any SMBus write (command + 32 block bytes). */
	st = i2c_write(g, STUB, 0x20, data, sizeof(data), d);
	if (st < 0)
		return -1;
	if (st != VIO_I2C_MSG_ERR)
		return fail(d, "a %zu-byte write on an SMBus-only adapter: status %d, expected ERR",
			    sizeof(data) + 1, st);
	snprintf(d, DETAIL, "a %zu-byte write has no SMBus form: ERR", sizeof(data) + 1);
	return 0;
}

static void run_smbus(const struct opts *o)
{
	static struct group g;
	char d[DETAIL], list[64];

	memset(&g, 0, sizeof(g));
	snprintf(list, sizeof(list), "%s:0x%02x", o->i2c_smbus, STUB);
	group_start(&g, "smbus", "i2c", "--device-list", list, I2C_FEAT, 1, 0);
	verdict("i2c-smbus-byte", g.up ? smbus_byte(&g, d) : -1, g.up ? d : g.down);
	verdict("i2c-smbus-unsupported", g.up ? smbus_unsupported(&g, d) : -1, g.up ? d : g.down);
	verdict("i2c-smbus-daemon", group_stop(&g, d), d);
}

/* ------------------------------------------------------------------ input */

/*
 * A uinput device of known identity: two keys and a touch button, two axes
 * with distinct ranges, two LEDs, the DIRECT property. The daemon passes its
 * event node through; what the driver sees must be exactly this.
 */
#define UI_NAME	   "vioport-uinput"
#define UI_BUS	   0x03 /* BUS_USB */
#define UI_VENDOR  0x1209
#define UI_PRODUCT 0x7670
#define UI_VERSION 0x0102
#define UI_NBUFS   32 /* eventq buffers: more than every case sends */
#define INPUT_FEAT (VIO_BIT(VIO_F_VERSION_1) | VIO_BIT(VIO_F_EVENT_IDX))

static const uint16_t ui_keys[] = {KEY_A, KEY_B, BTN_TOUCH};
static const uint16_t ui_leds[] = {LED_NUML, LED_CAPSL};
static const struct {
	uint16_t code;
	struct vio_input_absinfo ai;
} ui_abs[] = {{ABS_X, {0, 1023, 0, 0, 12}}, {ABS_Y, {-500, 500, 4, 8, 3}}};

struct input_ctx {
	struct group g;
	int ui;	     /* the uinput descriptor: writes make input, reads give LED updates */
	int watcher; /* a second reader of the event node, opened by the grab case */
	char node[IT_PATH];
	uint8_t *ev[UI_NBUFS];
	uint64_t evgpa[UI_NBUFS];
	bool posted;
};

/* Creates the uinput device on path (/dev/uinput) and finds its event node; -1 with d set. */
static int ui_create(struct input_ctx *c, const char *path, char *d)
{
	struct uinput_setup us;
	char sys[64], dir[IT_PATH + 64];
	int64_t until;

	c->ui = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (c->ui < 0)
		return fail(d, "open %s: %s (is uinput loaded?)", path, strerror(errno));
	if (ioctl(c->ui, UI_SET_EVBIT, EV_KEY) < 0 || ioctl(c->ui, UI_SET_EVBIT, EV_ABS) < 0 ||
	    ioctl(c->ui, UI_SET_EVBIT, EV_LED) < 0 ||
	    ioctl(c->ui, UI_SET_PROPBIT, INPUT_PROP_DIRECT) < 0)
		return fail(d, "uinput UI_SET_EVBIT/PROPBIT: %s", strerror(errno));
	for (size_t k = 0; k < sizeof(ui_keys) / sizeof(ui_keys[0]); k++)
		if (ioctl(c->ui, UI_SET_KEYBIT, ui_keys[k]) < 0)
			return fail(d, "uinput UI_SET_KEYBIT %u: %s", ui_keys[k], strerror(errno));
	for (size_t k = 0; k < sizeof(ui_leds) / sizeof(ui_leds[0]); k++)
		if (ioctl(c->ui, UI_SET_LEDBIT, ui_leds[k]) < 0)
			return fail(d, "uinput UI_SET_LEDBIT %u: %s", ui_leds[k], strerror(errno));
	for (size_t k = 0; k < sizeof(ui_abs) / sizeof(ui_abs[0]); k++) {
		struct uinput_abs_setup as;

		memset(&as, 0, sizeof(as));
		as.code = ui_abs[k].code;
		as.absinfo.minimum = ui_abs[k].ai.min;
		as.absinfo.maximum = ui_abs[k].ai.max;
		as.absinfo.fuzz = ui_abs[k].ai.fuzz;
		as.absinfo.flat = ui_abs[k].ai.flat;
		as.absinfo.resolution = ui_abs[k].ai.res;
		if (ioctl(c->ui, UI_ABS_SETUP, &as) < 0)
			return fail(d, "uinput UI_ABS_SETUP %u: %s", as.code, strerror(errno));
	}
	memset(&us, 0, sizeof(us));
	us.id = (struct input_id){UI_BUS, UI_VENDOR, UI_PRODUCT, UI_VERSION};
	snprintf(us.name, sizeof(us.name), "%s", UI_NAME);
	if (ioctl(c->ui, UI_DEV_SETUP, &us) < 0 || ioctl(c->ui, UI_DEV_CREATE) < 0)
		return fail(d, "uinput UI_DEV_SETUP/CREATE: %s", strerror(errno));
	if (ioctl(c->ui, UI_GET_SYSNAME(sizeof(sys)), sys) < 0)
		return fail(d, "uinput UI_GET_SYSNAME: %s", strerror(errno));
	/* The event node comes with evdev's handler, and devtmpfs makes it a moment later. */
	snprintf(dir, sizeof(dir), "/sys/devices/virtual/input/%s", sys);
	until = it_now_ms() + WAIT_MS;
	for (;;) {
		DIR *dp = opendir(dir);
		struct dirent *de;

		c->node[0] = '\0';
		while (dp != NULL && (de = readdir(dp)) != NULL)
			if (strncmp(de->d_name, "event", 5) == 0 && strlen(de->d_name) < 32)
				snprintf(c->node, sizeof(c->node), "/dev/input/%.31s", de->d_name);
		if (dp != NULL)
			closedir(dp);
		if (c->node[0] != '\0' && access(c->node, R_OK | W_OK) == 0)
			return 0;
		if (it_now_ms() > until)
			return fail(d, "%s has no event node in /dev/input (is evdev loaded?)",
				    dir);
		sleep_ms(50);
	}
}

/* Writes one event to uinput. */
static int ui_emit(struct input_ctx *c, uint16_t type, uint16_t code, int32_t value, char *d)
{
	struct input_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.code = code;
	ev.value = value;
	if (write(c->ui, &ev, sizeof(ev)) != (ssize_t) sizeof(ev))
		return fail(d, "write to uinput: %s", strerror(errno));
	return 0;
}

/* Selects sel/subsel one byte at a time, as Linux does; size into *size, the union into u. */
static int in_cfg(struct input_ctx *c, uint8_t sel, uint8_t sub, uint8_t *size, uint8_t *u, char *d)
{
	struct vio_vu_fe *fe = &c->g.fe;

	if (vio_vu_fe_set_config(fe, VIO_INPUT_CFG_SELECT, &sel, 1) != 0 ||
	    vio_vu_fe_set_config(fe, VIO_INPUT_CFG_SUBSEL, &sub, 1) != 0 ||
	    vio_vu_fe_get_config(fe, VIO_INPUT_CFG_SIZE, size, 1) != 0 ||
	    vio_vu_fe_get_config(fe, VIO_INPUT_CFG_U, u, VIO_INPUT_CFG_U_SIZE) != 0)
		return fail(d, "config select %#x/%#x: %s", sel, sub, vio_vu_fe_error(fe));
	return 0;
}

/* The config answer to sel/subsel must be want[0 .. n) exactly, and zeros after. */
static int in_cfg_is(struct input_ctx *c, uint8_t sel, uint8_t sub, const uint8_t *want, uint8_t n,
		     const char *what, char *d)
{
	uint8_t u[VIO_INPUT_CFG_U_SIZE], size = 0xee;
	char hw[2 * VIO_INPUT_CFG_U_SIZE + 1], hg[2 * VIO_INPUT_CFG_U_SIZE + 1];

	if (in_cfg(c, sel, sub, &size, u, d) != 0)
		return -1;
	if (size != n || (n > 0 && memcmp(u, want, n) != 0)) {
		hexdump(hw, sizeof(hw), want, n);
		hexdump(hg, sizeof(hg), u, size <= VIO_INPUT_CFG_U_SIZE ? size : 0);
		return fail(d, "%s (select %#x/%#x): size %u [%s], the device has %u [%s]", what,
			    sel, sub, size, hg, n, hw);
	}
	for (unsigned i = n; i < VIO_INPUT_CFG_U_SIZE; i++)
		if (u[i] != 0)
			return fail(d, "%s: byte %u past the size is %#x, not 0", what, i, u[i]);
	return 0;
}

/* A bitmap with the given bits; returns its bytes up to the last set one. */
static uint8_t bits_of(uint8_t *map, const uint16_t *bits, size_t n)
{
	uint8_t len = 0;

	memset(map, 0, VIO_INPUT_CFG_U_SIZE);
	for (size_t k = 0; k < n; k++) {
		map[bits[k] / 8u] |= (uint8_t) (1u << (bits[k] % 8u));
		if (bits[k] / 8u + 1u > len)
			len = (uint8_t) (bits[k] / 8u + 1u);
	}
	return len;
}

static void put_le32(uint8_t *p, int32_t v)
{
	for (int k = 0; k < 4; k++)
		p[k] = (uint8_t) ((uint32_t) v >> (8 * k));
}

static int input_config(struct input_ctx *c, char *d)
{
	uint8_t want[VIO_INPUT_CFG_U_SIZE], n;
	static const uint16_t props[] = {INPUT_PROP_DIRECT};

	if (in_cfg_is(c, VIO_INPUT_CFG_ID_NAME, 0, (const uint8_t *) UI_NAME,
		      (uint8_t) strlen(UI_NAME), "name", d) != 0 ||
	    in_cfg_is(c, VIO_INPUT_CFG_ID_SERIAL, 0, NULL, 0, "serial (uinput sets none)", d) != 0)
		return -1;
	memset(want, 0, sizeof(want));
	want[0] = UI_BUS;
	want[2] = (uint8_t) UI_VENDOR;
	want[3] = (uint8_t) (UI_VENDOR >> 8);
	want[4] = (uint8_t) UI_PRODUCT;
	want[5] = (uint8_t) (UI_PRODUCT >> 8);
	want[6] = (uint8_t) UI_VERSION;
	want[7] = (uint8_t) (UI_VERSION >> 8);
	if (in_cfg_is(c, VIO_INPUT_CFG_ID_DEVIDS, 0, want, VIO_INPUT_DEVIDS_SIZE, "ids", d) != 0)
		return -1;
	n = bits_of(want, props, 1);
	if (in_cfg_is(c, VIO_INPUT_CFG_PROP_BITS, 0, want, n, "property bits", d) != 0)
		return -1;
	n = bits_of(want, ui_keys, sizeof(ui_keys) / sizeof(ui_keys[0]));
	if (in_cfg_is(c, VIO_INPUT_CFG_EV_BITS, EV_KEY, want, n, "EV_KEY codes", d) != 0)
		return -1;
	n = bits_of(want, ui_leds, sizeof(ui_leds) / sizeof(ui_leds[0]));
	if (in_cfg_is(c, VIO_INPUT_CFG_EV_BITS, EV_LED, want, n, "EV_LED codes", d) != 0)
		return -1;
	{
		uint16_t axes[sizeof(ui_abs) / sizeof(ui_abs[0])];

		for (size_t k = 0; k < sizeof(axes) / sizeof(axes[0]); k++)
			axes[k] = ui_abs[k].code;
		n = bits_of(want, axes, sizeof(axes) / sizeof(axes[0]));
		if (in_cfg_is(c, VIO_INPUT_CFG_EV_BITS, EV_ABS, want, n, "EV_ABS codes", d) != 0)
			return -1;
	}
	/* Types the device does not have: no bitmap at all. */
	if (in_cfg_is(c, VIO_INPUT_CFG_EV_BITS, EV_REL, NULL, 0, "EV_REL codes", d) != 0 ||
	    in_cfg_is(c, VIO_INPUT_CFG_EV_BITS, EV_SND, NULL, 0, "EV_SND codes", d) != 0)
		return -1;
	for (size_t k = 0; k < sizeof(ui_abs) / sizeof(ui_abs[0]); k++) {
		const struct vio_input_absinfo *ai = &ui_abs[k].ai;

		memset(want, 0, sizeof(want));
		put_le32(want, ai->min);
		put_le32(want + 4, ai->max);
		put_le32(want + 8, ai->fuzz);
		put_le32(want + 12, ai->flat);
		put_le32(want + 16, ai->res);
		if (in_cfg_is(c, VIO_INPUT_CFG_ABS_INFO, (uint8_t) ui_abs[k].code, want,
			      VIO_INPUT_ABSINFO_SIZE, "abs info", d) != 0)
			return -1;
	}
	if (in_cfg_is(c, VIO_INPUT_CFG_ABS_INFO, ABS_Z, NULL, 0, "abs info of ABS_Z", d) != 0)
		return -1;
	snprintf(d, DETAIL,
		 "name '%s', no serial, ids %04x:%04x:%04x:%04x, DIRECT, EV_KEY/EV_LED/EV_ABS "
		 "bitmaps and ABS_X/ABS_Y ranges as uinput set them; no EV_REL, EV_SND, ABS_Z",
		 UI_NAME, UI_BUS, UI_VENDOR, UI_PRODUCT, UI_VERSION);
	return 0;
}

/* Posts the eventq buffers, once. */
static int in_post(struct input_ctx *c, char *d)
{
	struct vio_vu_fe *fe = &c->g.fe;

	if (c->posted)
		return 0;
	for (int i = 0; i < UI_NBUFS; i++) {
		struct vio_buf b;

		c->ev[i] = vio_vu_fe_alloc(fe, VIO_INPUT_EVENT_SIZE, 8, &c->evgpa[i]);
		if (c->ev[i] == NULL)
			return fail(d, "frontend out of guest memory");
		memset(c->ev[i], 0xee, VIO_INPUT_EVENT_SIZE);
		b = (struct vio_buf){c->evgpa[i], VIO_INPUT_EVENT_SIZE};
		if (vio_vu_fe_add(fe, VIO_INPUT_EVENTQ, NULL, 0, &b, 1, c->ev[i]) != 0)
			return fail(d, "queueing eventq buffer %d: %s", i, vio_vu_fe_error(fe));
	}
	if (vio_vu_fe_kick(fe, VIO_INPUT_EVENTQ) < 0)
		return fail(d, "eventq kick: %s", vio_vu_fe_error(fe));
	c->posted = true;
	return 0;
}

/* The next event on the eventq within ms: 1 with *e, 0 none, -1 broken (d set). */
static int in_next(struct input_ctx *c, struct vio_input_event *e, int ms, char *d)
{
	void *tok = NULL;
	uint32_t len = 0;
	const uint8_t *p;
	int r = vio_vu_fe_wait_used(&c->g.fe, VIO_INPUT_EVENTQ, &tok, &len, ms);

	if (r == 0)
		return 0;
	if (r < 0)
		return fail(d, "eventq: %d (%s)", r, vio_vu_fe_error(&c->g.fe));
	if (len != VIO_INPUT_EVENT_SIZE)
		return fail(d, "eventq used entry len %u", len);
	p = tok;
	e->type = (uint16_t) (p[0] | p[1] << 8);
	e->code = (uint16_t) (p[2] | p[3] << 8);
	e->value = (int32_t) ((uint32_t) p[4] | (uint32_t) p[5] << 8 | (uint32_t) p[6] << 16 |
			      (uint32_t) p[7] << 24);
	return 1;
}

/*
 * Writes the n events (the last a SYN_REPORT) to uinput and expects the
 * same on the eventq, in order.
 */
static int in_report(struct input_ctx *c, const struct vio_input_event *want, unsigned n, char *d)
{
	for (unsigned k = 0; k < n; k++)
		if (ui_emit(c, want[k].type, want[k].code, want[k].value, d) != 0)
			return -1;
	for (unsigned k = 0; k < n; k++) {
		struct vio_input_event e;
		int r = in_next(c, &e, WAIT_MS, d);

		if (r < 0)
			return -1;
		if (r == 0)
			return fail(d, "event %u of %u (%u/%u/%d) did not arrive", k + 1, n,
				    want[k].type, want[k].code, (int) want[k].value);
		if (e.type != want[k].type || e.code != want[k].code || e.value != want[k].value)
			return fail(d, "event %u of %u: %u/%u/%d, uinput sent %u/%u/%d", k + 1, n,
				    e.type, e.code, (int) e.value, want[k].type, want[k].code,
				    (int) want[k].value);
	}
	return 0;
}

/* A second reader of the event node cannot grab it: the daemon holds the grab. */
static int second_grab_refused(struct input_ctx *c, char *d)
{
	int fd = open(c->node, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return fail(d, "open %s: %s", c->node, strerror(errno));
	if (ioctl(fd, EVIOCGRAB, 1) == 0) {
		(void) ioctl(fd, EVIOCGRAB, 0);
		rc = fail(d, "a second reader could grab %s after the driver started", c->node);
	} else if (errno != EBUSY) {
		rc = fail(d, "EVIOCGRAB by a second reader: %s, expected EBUSY", strerror(errno));
	}
	close(fd);
	return rc;
}

static int input_events(struct input_ctx *c, char *d)
{
	static const struct vio_input_event r1[] = {{EV_KEY, KEY_A, 1}, {EV_SYN, SYN_REPORT, 0}};
	static const struct vio_input_event r2[] = {{EV_ABS, ABS_X, 700},
						    {EV_ABS, ABS_Y, -300},
						    {EV_KEY, BTN_TOUCH, 1},
						    {EV_SYN, SYN_REPORT, 0}};
	static const struct vio_input_event r3[] = {
	    {EV_KEY, KEY_A, 0}, {EV_KEY, BTN_TOUCH, 0}, {EV_SYN, SYN_REPORT, 0}};
	struct vio_input_event e;
	int r;

	if (in_post(c, d) != 0)
		return -1;
	/* held from the driver's start, before any report: the first too is the driver's alone */
	if (second_grab_refused(c, d) != 0)
		return -1;
	r = in_next(c, &e, QUIET_MS, d);
	if (r != 0)
		return r < 0 ? -1
			     : fail(d, "event %u/%u/%d before uinput wrote any", e.type, e.code,
				    (int) e.value);
	if (in_report(c, r1, 2, d) != 0 || in_report(c, r2, 4, d) != 0 ||
	    in_report(c, r3, 3, d) != 0)
		return -1;
	r = in_next(c, &e, QUIET_MS, d);
	if (r != 0)
		return r < 0 ? -1
			     : fail(d, "an extra event %u/%u/%d after the three reports", e.type,
				    e.code, (int) e.value);
	snprintf(d, DETAIL,
		 "grabbed from the driver's start (a second EVIOCGRAB: EBUSY before any report); "
		 "3 reports written to uinput (key; two axes and a button; two releases), 9 "
		 "events on the eventq in order, each report ending in SYN_REPORT, nothing else");
	return 0;
}

/* Whether fd has something to read within ms. */
static bool readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static int input_grab(struct input_ctx *c, char *d)
{
	static const struct vio_input_event down[] = {{EV_KEY, KEY_B, 1}, {EV_SYN, SYN_REPORT, 0}};
	static const struct vio_input_event up[] = {{EV_KEY, KEY_B, 0}, {EV_SYN, SYN_REPORT, 0}};

	/* The daemon holds the grab since the driver started (the events case checked). */
	c->watcher = open(c->node, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (c->watcher < 0)
		return fail(d, "open %s: %s", c->node, strerror(errno));
	if (ioctl(c->watcher, EVIOCGRAB, 1) == 0) {
		(void) ioctl(c->watcher, EVIOCGRAB, 0);
		return fail(d,
			    "a second reader could grab %s: the daemon does not hold it while "
			    "the driver takes its reports",
			    c->node);
	}
	if (errno != EBUSY)
		return fail(d, "EVIOCGRAB by a second reader: %s, expected EBUSY", strerror(errno));
	if (in_report(c, down, 2, d) != 0 || in_report(c, up, 2, d) != 0)
		return -1;
	if (readable(c->watcher, QUIET_MS)) {
		struct input_event ev;
		ssize_t n = read(c->watcher, &ev, sizeof(ev));

		return fail(d,
			    "the second reader of %s saw an event (%u/%u/%d, %zd bytes) while "
			    "the driver had the device",
			    c->node, n > 0 ? ev.type : 0, n > 0 ? ev.code : 0, n > 0 ? ev.value : 0,
			    n);
	}
	snprintf(d, DETAIL,
		 "EVIOCGRAB by a second reader of %s: EBUSY; two reports reached the driver, the "
		 "second reader saw nothing",
		 c->node);
	return 0;
}

static int input_led(struct input_ctx *c, char *d)
{
	struct vio_vu_fe *fe = &c->g.fe;
	struct input_event ev;
	struct vio_buf b;
	uint64_t gpa;
	uint8_t *st = vio_vu_fe_alloc(fe, VIO_INPUT_EVENT_SIZE, 8, &gpa);
	void *tok = NULL;
	uint32_t len = 0;
	int64_t until;

	if (st == NULL)
		return fail(d, "frontend out of guest memory");
	/* EV_LED, LED_CAPSL, 1: what virtinput_send_status sends when CapsLock lights. */
	memset(st, 0, VIO_INPUT_EVENT_SIZE);
	st[0] = EV_LED;
	st[2] = LED_CAPSL;
	st[4] = 1;
	b = (struct vio_buf){gpa, VIO_INPUT_EVENT_SIZE};
	if (vio_vu_fe_add(fe, VIO_INPUT_STATUSQ, &b, 1, NULL, 0, st) != 0 ||
	    vio_vu_fe_kick(fe, VIO_INPUT_STATUSQ) < 0)
		return fail(d, "queueing the statusq buffer: %s", vio_vu_fe_error(fe));
	if (vio_vu_fe_wait_used(fe, VIO_INPUT_STATUSQ, &tok, &len, WAIT_MS) != 1 || tok != st)
		return fail(d, "the statusq buffer did not come back");
	/* uinput hands the device's LED updates to its owner as events on its descriptor. */
	until = it_now_ms() + WAIT_MS;
	for (;;) {
		ssize_t n;

		if (!readable(c->ui, (int) (until - it_now_ms() > 0 ? until - it_now_ms() : 0)))
			return fail(d, "no LED update on the uinput descriptor within %d ms",
				    WAIT_MS);
		n = read(c->ui, &ev, sizeof(ev));
		if (n != (ssize_t) sizeof(ev))
			return fail(d, "read from uinput: %zd (%s)", n, strerror(errno));
		if (ev.type == EV_LED)
			break;
	}
	if (ev.code != LED_CAPSL || ev.value != 1)
		return fail(d, "uinput got EV_LED code %u value %d, the driver set LED_CAPSL to 1",
			    ev.code, ev.value);
	snprintf(d, DETAIL, "statusq EV_LED LED_CAPSL 1 reached the uinput device as EV_LED %u %d",
		 ev.code, ev.value);
	return 0;
}

static int input_release(struct input_ctx *c, char *d)
{
	static const struct vio_input_event r[] = {{EV_KEY, KEY_B, 1}, {EV_SYN, SYN_REPORT, 0}};
	struct input_event ev;
	int64_t until;
	bool key = false;

	if (c->watcher < 0)
		return fail(d, "the grab case opened no second reader");
	/* The driver goes away: the daemon gives the host its device back. */
	vio_vu_fe_close(&c->g.fe);
	until = it_now_ms() + WAIT_MS;
	while (ioctl(c->watcher, EVIOCGRAB, 1) != 0) {
		if (errno != EBUSY)
			return fail(d, "EVIOCGRAB: %s", strerror(errno));
		if (it_now_ms() > until)
			return fail(d, "%s still grabbed %d ms after the driver disconnected",
				    c->node, WAIT_MS);
		sleep_ms(20);
	}
	(void) ioctl(c->watcher, EVIOCGRAB, 0);
	/* Not grabbed, the host's readers get input again. */
	while (readable(c->watcher, 0))
		if (read(c->watcher, &ev, sizeof(ev)) <= 0)
			break;
	for (unsigned k = 0; k < 2; k++)
		if (ui_emit(c, r[k].type, r[k].code, r[k].value, d) != 0)
			return -1;
	until = it_now_ms() + WAIT_MS;
	while (!key &&
	       readable(c->watcher, (int) (until - it_now_ms() > 0 ? until - it_now_ms() : 0))) {
		if (read(c->watcher, &ev, sizeof(ev)) != (ssize_t) sizeof(ev))
			break;
		key = ev.type == EV_KEY && ev.code == KEY_B && ev.value == 1;
	}
	if (!key)
		return fail(d, "released, a key written to uinput did not reach the second reader");
	snprintf(d, DETAIL,
		 "driver disconnected: the second reader could grab %s, and saw the next key",
		 c->node);
	return 0;
}

static void run_input(const struct opts *o)
{
	static const char *const cases[] = {"input-config", "input-events", "input-grab",
					    "input-led", "input-release"};
	static struct input_ctx c;
	char d[DETAIL];

	memset(&c, 0, sizeof(c));
	c.ui = -1;
	c.watcher = -1;
	if (ui_create(&c, o->uinput, d) != 0)
		snprintf(c.g.down, sizeof(c.g.down), "%s", d);
	else
		group_start(&c.g, "input", "input", "--evdev", c.node, INPUT_FEAT, 2,
			    VIO_INPUT_CONFIG_SIZE);
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		int rc;

		if (!c.g.up) {
			verdict(cases[k], -1, c.g.down);
			continue;
		}
		switch (k) {
		case 0:
			rc = input_config(&c, d);
			break;
		case 1:
			rc = input_events(&c, d);
			break;
		case 2:
			rc = input_grab(&c, d);
			break;
		case 3:
			rc = input_led(&c, d);
			break;
		default:
			rc = input_release(&c, d);
			break;
		}
		verdict(cases[k], rc, d);
	}
	verdict("input-daemon", group_stop(&c.g, d), d);
	if (c.watcher >= 0)
		close(c.watcher);
	if (c.ui >= 0) {
		(void) ioctl(c.ui, UI_DEV_DESTROY);
		close(c.ui);
	}
}

/* ------------------------------------------------------------------ main */

static int usage(const char *why)
{
	fprintf(stderr,
		"test_host_providers: %s\n"
		"usage: test_host_providers [--gpio-chip DEV --gpio-sysfs DIR --gpio-names "
		"A,B,C,D...]\n"
		"                           [--i2c-rdwr BUS [--lm75-mc MILLICELSIUS]] "
		"[--i2c-smbus BUS]\n"
		"                           [--uinput /dev/uinput]\n",
		why);
	return 2;
}

int main(int argc, char **argv)
{
	struct opts o = {.lm75_mc = 25000};

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end;

		if (v == NULL)
			return usage("every option takes a value");
		i++;
		if (strcmp(a, "--gpio-chip") == 0)
			o.gpio_chip = v;
		else if (strcmp(a, "--gpio-sysfs") == 0)
			o.gpio_sysfs = v;
		else if (strcmp(a, "--gpio-names") == 0)
			o.gpio_names = v;
		else if (strcmp(a, "--i2c-rdwr") == 0)
			o.i2c_rdwr = v;
		else if (strcmp(a, "--i2c-smbus") == 0)
			o.i2c_smbus = v;
		else if (strcmp(a, "--uinput") == 0)
			o.uinput = v;
		else if (strcmp(a, "--lm75-mc") == 0) {
			errno = 0;
			o.lm75_mc = strtol(v, &end, 10);
			if (errno != 0 || *end != '\0' || o.lm75_mc < -55000 ||
			    o.lm75_mc > 125000 || o.lm75_mc % 500 != 0)
				return usage("--lm75-mc: -55000 .. 125000 in steps of 500");
		} else
			return usage("unknown option");
	}
	if ((o.gpio_chip != NULL) != (o.gpio_sysfs != NULL) ||
	    (o.gpio_chip != NULL) != (o.gpio_names != NULL))
		return usage("--gpio-chip, --gpio-sysfs and --gpio-names go together");
	if (o.gpio_chip == NULL && o.i2c_rdwr == NULL && o.i2c_smbus == NULL && o.uinput == NULL) {
		printf("# no chip or adapter named: nothing to test here (the guest tier's "
		       "providers variant runs this with gpio-sim and i2c adapters)\n");
		return EXIT_SKIP;
	}
	if (o.gpio_chip != NULL)
		run_gpio(&o);
	if (o.i2c_rdwr != NULL)
		run_rdwr(&o);
	if (o.i2c_smbus != NULL)
		run_smbus(&o);
	if (o.uinput != NULL)
		run_input(&o);
	return nfail == 0 ? 0 : 1;
}
