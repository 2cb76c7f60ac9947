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
 * register-file chip). Each argument group enables one set of cases:
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
 *
 * Each case prints one line, "RESULT <name> PASS|FAIL|SKIP <detail>", on
 * standard output; the exit status is 1 when one failed. Without any group
 * (as in the host's integration tier, which has no such chips) it prints why
 * and exits 77, which meson reports as skipped. The daemon is $VIOPORT_BIN.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/gpio.h>
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
 * Starts `vioport DEV --socket-path S --device-list LIST` and connects with
 * nq queues and the features asked for; on failure g->down says why.
 */
static void group_start(struct group *g, const char *tag, const char *dev, const char *list,
			uint64_t features, uint16_t nq, uint32_t config_size)
{
	const char *b = it_vioport_bin();
	char bin[IT_PATH], devc[16], listc[256], last[200];
	char *argv[] = {bin, devc, "--socket-path", g->proc.sock, "--device-list", listc, NULL};
	struct vio_vu_fe_params p = {
	    .features = features, .num_queues = nq, .config_size = config_size};
	int r;

	if (b == NULL) {
		snprintf(g->down, sizeof(g->down), "no vioport daemon at $VIOPORT_BIN");
		return;
	}
	snprintf(bin, sizeof(bin), "%s", b);
	snprintf(devc, sizeof(devc), "%s", dev);
	snprintf(listc, sizeof(listc), "%s", list);
	if (it_tmpdir(g->dir, tag) < 0 || it_path(g->proc.sock, g->dir, "vu.sock") < 0 ||
	    it_path(g->proc.log, g->dir, "vioport.log") < 0) {
		snprintf(g->down, sizeof(g->down), "cannot make a temporary directory");
		return;
	}
	if (it_start(&g->proc, argv, START_MS) < 0) {
		last_log_line(g->proc.log, last, sizeof(last));
		snprintf(g->down, sizeof(g->down), "vioport %s --device-list %s did not start: %s",
			 dev, list, last);
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
		group_start(&c.g, "gpio", "gpio", o->gpio_chip, GPIO_FEAT, 2, VIO_GPIO_CONFIG_SIZE);

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
	group_start(&g, "rdwr", "i2c", list, I2C_FEAT, 1, 0);
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
	group_start(&g, "smbus", "i2c", list, I2C_FEAT, 1, 0);
	verdict("i2c-smbus-byte", g.up ? smbus_byte(&g, d) : -1, g.up ? d : g.down);
	verdict("i2c-smbus-unsupported", g.up ? smbus_unsupported(&g, d) : -1, g.up ? d : g.down);
	verdict("i2c-smbus-daemon", group_stop(&g, d), d);
}

/* ------------------------------------------------------------------ main */

static int usage(const char *why)
{
	fprintf(stderr,
		"test_host_providers: %s\n"
		"usage: test_host_providers [--gpio-chip DEV --gpio-sysfs DIR --gpio-names "
		"A,B,C,D...]\n"
		"                           [--i2c-rdwr BUS [--lm75-mc MILLICELSIUS]] "
		"[--i2c-smbus BUS]\n",
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
	if (o.gpio_chip == NULL && o.i2c_rdwr == NULL && o.i2c_smbus == NULL) {
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
	return nfail == 0 ? 0 : 1;
}
