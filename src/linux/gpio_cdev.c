/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-gpio provider over a Linux gpiochip character device, uAPI v2. */
#include "vioport/internal/errmsg.h"
#include "vioport/linux_gpio.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/gpio.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEV_PREFIX     "/dev/"
#define CHIP_PREFIX    "gpiochip"
#define CHIP_MAX_DIGIT 9 /* any chip number an int holds */
#define EVENT_BATCH    16
#define DRAIN_READS    64 /* reads that clear a kernel event queue (16 per line by default) */
#define EPOLL_BATCH    64
#define EPOLL_ROUNDS   64 /* epoll_wait calls per dispatch; the event budget ends it first */

/* s is 1 .. CHIP_MAX_DIGIT decimal digits without a leading zero (but "0" itself). */
static bool hg_chip_number(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CHIP_MAX_DIGIT || (s[0] == '0' && n > 1))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

int vio_host_gpio_chip_path(const char *chip, char *path, size_t cap)
{
	const char *num;
	int n;

	if (chip == NULL || path == NULL || cap == 0)
		return -EINVAL;
	if (chip[0] == '/') {
		if (strlen(chip) >= cap)
			return -ENAMETOOLONG;
		memcpy(path, chip, strlen(chip) + 1);
		return 0;
	}
	num = strncmp(chip, CHIP_PREFIX, strlen(CHIP_PREFIX)) == 0 ? chip + strlen(CHIP_PREFIX)
								   : chip;
	if (!hg_chip_number(num))
		return -EINVAL;
	n = snprintf(path, cap, DEV_PREFIX CHIP_PREFIX "%s", num);
	return n < 0 || (size_t) n >= cap ? -ENAMETOOLONG : 0;
}

uint64_t vio_host_gpio_config_flags(uint8_t dir, uint8_t irq_type)
{
	if (dir == VIO_GPIO_DIRECTION_OUT)
		return GPIO_V2_LINE_FLAG_OUTPUT;
	if (dir != VIO_GPIO_DIRECTION_IN)
		return 0;
	switch (irq_type) {
	case VIO_GPIO_IRQ_TYPE_EDGE_RISING:
		return GPIO_V2_LINE_FLAG_INPUT | GPIO_V2_LINE_FLAG_EDGE_RISING;
	case VIO_GPIO_IRQ_TYPE_EDGE_FALLING:
		return GPIO_V2_LINE_FLAG_INPUT | GPIO_V2_LINE_FLAG_EDGE_FALLING;
	case VIO_GPIO_IRQ_TYPE_EDGE_BOTH:
	case VIO_GPIO_IRQ_TYPE_LEVEL_HIGH: /* levels are followed through both edges */
	case VIO_GPIO_IRQ_TYPE_LEVEL_LOW:
		return GPIO_V2_LINE_FLAG_INPUT | GPIO_V2_LINE_FLAG_EDGE_RISING |
		       GPIO_V2_LINE_FLAG_EDGE_FALLING;
	default:
		return GPIO_V2_LINE_FLAG_INPUT;
	}
}

uint8_t vio_host_gpio_event_bits(uint32_t id)
{
	if (id == GPIO_V2_LINE_EVENT_RISING_EDGE)
		return VIO_GPIO_EV_RISING | VIO_GPIO_EV_HIGH;
	if (id == GPIO_V2_LINE_EVENT_FALLING_EDGE)
		return VIO_GPIO_EV_FALLING | VIO_GPIO_EV_LOW;
	return 0;
}

uint8_t vio_host_gpio_info_direction(uint64_t flags)
{
	if (flags & GPIO_V2_LINE_FLAG_OUTPUT)
		return VIO_GPIO_DIRECTION_OUT;
	if (flags & GPIO_V2_LINE_FLAG_INPUT)
		return VIO_GPIO_DIRECTION_IN;
	return VIO_GPIO_DIRECTION_NONE;
}

static bool hg_is_valid_irq_type(uint8_t t)
{
	return t == VIO_GPIO_IRQ_TYPE_NONE || t == VIO_GPIO_IRQ_TYPE_EDGE_RISING ||
	       t == VIO_GPIO_IRQ_TYPE_EDGE_FALLING || t == VIO_GPIO_IRQ_TYPE_EDGE_BOTH ||
	       t == VIO_GPIO_IRQ_TYPE_LEVEL_HIGH || t == VIO_GPIO_IRQ_TYPE_LEVEL_LOW;
}

static bool hg_detects_edges(uint8_t dir, uint8_t irq_type)
{
	return (vio_host_gpio_config_flags(dir, irq_type) &
		(GPIO_V2_LINE_FLAG_EDGE_RISING | GPIO_V2_LINE_FLAG_EDGE_FALLING)) != 0;
}

/* The request configuration of one line: direction, edges, and the level of an output. */
static void hg_config(struct gpio_v2_line_config *c, uint8_t dir, uint8_t irq_type, uint8_t value)
{
	memset(c, 0, sizeof(*c));
	c->flags = vio_host_gpio_config_flags(dir, irq_type);
	if (dir == VIO_GPIO_DIRECTION_OUT) {
		c->num_attrs = 1;
		c->attrs[0].attr.id = GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES;
		c->attrs[0].attr.values = value ? 1u : 0u;
		c->attrs[0].mask = 1u; /* bit 0: the request's only line */
	}
}

/* Throws away the events queued on a line fd; used when its detection goes off. */
static void hg_drain(int fd)
{
	struct gpio_v2_line_event ev[EVENT_BATCH];

	for (int i = 0; i < DRAIN_READS; i++) {
		ssize_t n = read(fd, ev, sizeof(ev));

		if (n < (ssize_t) sizeof(ev))
			break;
	}
}

/* Puts the line's fd in epoll_fd while it detects edges and takes it out otherwise. */
static int hg_watch(struct vio_host_gpio *g, uint16_t line, bool on)
{
	struct epoll_event e = {.events = EPOLLIN, .data.u32 = line};
	int fd = g->lines[line].fd;

	if (on) {
		if (epoll_ctl(g->epoll_fd, EPOLL_CTL_ADD, fd, &e) < 0 && errno != EEXIST)
			return -errno;
		return 0;
	}
	if (epoll_ctl(g->epoll_fd, EPOLL_CTL_DEL, fd, NULL) == 0)
		hg_drain(fd);
	return 0;
}

/* Gives the line back to the kernel and forgets what the driver set on it. */
static void hg_release(struct vio_host_gpio *g, uint16_t line)
{
	struct vio_host_gpio_line *l = &g->lines[line];

	if (l->fd >= 0) {
		(void) epoll_ctl(g->epoll_fd, EPOLL_CTL_DEL, l->fd, NULL);
		close(l->fd);
	}
	l->fd = -1;
	l->dir = VIO_GPIO_DIRECTION_NONE;
	l->value = 0;
	l->irq_type = VIO_GPIO_IRQ_TYPE_NONE;
}

/* Requests a line we do not hold in direction dir; returns 0 or -errno. */
static int hg_request(struct vio_host_gpio *g, uint16_t line, uint8_t dir)
{
	struct vio_host_gpio_line *l = &g->lines[line];
	struct gpio_v2_line_request req;
	int fl;

	memset(&req, 0, sizeof(req));
	req.offsets[0] = line;
	req.num_lines = 1;
	snprintf(req.consumer, sizeof(req.consumer), "%s", VIO_HOST_GPIO_CONSUMER);
	hg_config(&req.config, dir, VIO_GPIO_IRQ_TYPE_NONE, l->value);
	if (ioctl(g->chip_fd, GPIO_V2_GET_LINE_IOCTL, &req) < 0)
		return -errno;
	/* dispatch must never block on a line whose events someone else already read */
	fl = fcntl(req.fd, F_GETFL);
	if (fl < 0 || fcntl(req.fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		int rc = -errno;

		close(req.fd);
		return rc;
	}
	l->fd = req.fd;
	l->dir = dir;
	l->irq_type = VIO_GPIO_IRQ_TYPE_NONE;
	return 0;
}

/* Moves a held line to dir and irq_type in place, then follows with epoll_fd. */
static int hg_reconfigure(struct vio_host_gpio *g, uint16_t line, uint8_t dir, uint8_t irq_type)
{
	struct vio_host_gpio_line *l = &g->lines[line];
	struct gpio_v2_line_config c;
	int rc;

	hg_config(&c, dir, irq_type, l->value);
	if (ioctl(l->fd, GPIO_V2_LINE_SET_CONFIG_IOCTL, &c) < 0)
		return -errno;
	rc = hg_watch(g, line, hg_detects_edges(dir, irq_type));
	if (rc < 0) {
		/* no events could reach the driver: put the line back as it was */
		hg_config(&c, l->dir, l->irq_type, l->value);
		(void) ioctl(l->fd, GPIO_V2_LINE_SET_CONFIG_IOCTL, &c);
		return rc;
	}
	l->dir = dir;
	l->irq_type = irq_type;
	return 0;
}

/* The chip is open and line is one of its lines. */
static int hg_check(const struct vio_host_gpio *g, uint16_t line)
{
	if (g == NULL || g->chip_fd < 0 || g->lines == NULL)
		return -ENODEV;
	return line < g->nlines ? 0 : -EINVAL;
}

static int hg_get_direction(void *ctx, uint16_t line)
{
	struct vio_host_gpio *g = ctx;
	struct gpio_v2_line_info info;
	int rc = hg_check(g, line);

	if (rc < 0)
		return rc;
	if (g->lines[line].fd >= 0)
		return g->lines[line].dir;
	memset(&info, 0, sizeof(info));
	info.offset = line;
	if (ioctl(g->chip_fd, GPIO_V2_GET_LINEINFO_IOCTL, &info) < 0)
		return -errno;
	return vio_host_gpio_info_direction(info.flags);
}

static int hg_set_direction(void *ctx, uint16_t line, uint8_t dir)
{
	struct vio_host_gpio *g = ctx;
	struct vio_host_gpio_line *l;
	int rc = hg_check(g, line);

	if (rc < 0)
		return rc;
	if (dir > VIO_GPIO_DIRECTION_IN)
		return -EINVAL;
	l = &g->lines[line];
	if (dir == VIO_GPIO_DIRECTION_NONE) {
		hg_release(g, line);
		return 0;
	}
	if (l->fd < 0)
		return hg_request(g, line, dir);
	if (l->dir == dir)
		return 0;
	return hg_reconfigure(g, line, dir, l->irq_type);
}

static int hg_get_value(void *ctx, uint16_t line)
{
	struct vio_host_gpio *g = ctx;
	struct gpio_v2_line_values v = {.bits = 0, .mask = 1};
	int rc = hg_check(g, line);

	if (rc < 0)
		return rc;
	if (g->lines[line].fd < 0)
		return -EPERM;
	if (ioctl(g->lines[line].fd, GPIO_V2_LINE_GET_VALUES_IOCTL, &v) < 0)
		return -errno;
	return (v.bits & 1u) ? 1 : 0;
}

static int hg_set_value(void *ctx, uint16_t line, uint8_t value)
{
	struct vio_host_gpio *g = ctx;
	struct vio_host_gpio_line *l;
	struct gpio_v2_line_values v = {.bits = value ? 1u : 0u, .mask = 1};
	int rc = hg_check(g, line);

	if (rc < 0)
		return rc;
	l = &g->lines[line];
	if (l->fd < 0) {
		l->value = value ? 1 : 0; /* the level it starts at when it becomes an output */
		return 0;
	}
	if (l->dir != VIO_GPIO_DIRECTION_OUT)
		return -EPERM;
	if (ioctl(l->fd, GPIO_V2_LINE_SET_VALUES_IOCTL, &v) < 0)
		return -errno;
	l->value = value ? 1 : 0;
	return 0;
}

static int hg_set_irq_type(void *ctx, uint16_t line, uint8_t type)
{
	struct vio_host_gpio *g = ctx;
	struct vio_host_gpio_line *l;
	int rc = hg_check(g, line);

	if (rc < 0)
		return rc;
	if (!hg_is_valid_irq_type(type))
		return -EINVAL;
	l = &g->lines[line];
	if (type == VIO_GPIO_IRQ_TYPE_NONE && l->fd < 0) {
		l->irq_type = VIO_GPIO_IRQ_TYPE_NONE;
		return 0;
	}
	if (type != VIO_GPIO_IRQ_TYPE_NONE && (l->fd < 0 || l->dir != VIO_GPIO_DIRECTION_IN))
		return -EPERM;
	if (type == l->irq_type)
		return 0;
	return hg_reconfigure(g, line, l->dir, type);
}

static uint32_t hg_line_name(void *ctx, uint16_t line, char *buf, uint32_t cap)
{
	const struct vio_host_gpio *g = ctx;
	uint32_t len;

	if (hg_check(g, line) < 0 || g->names == NULL)
		return 0;
	len = (uint32_t) strnlen(g->names[line], VIO_GPIO_NAME_MAX - 1);
	memcpy(buf, g->names[line], len < cap ? len : cap);
	return len;
}

const struct vio_gpio_ops vio_host_gpio_ops = {
    .get_direction = hg_get_direction,
    .set_direction = hg_set_direction,
    .get_value = hg_get_value,
    .set_value = hg_set_value,
    .set_irq_type = hg_set_irq_type,
    .line_name = hg_line_name,
};

/* Stops watching a line whose fd can only report end of file or an error from now on. */
static void hg_lose(struct vio_host_gpio *g, int fd)
{
	(void) epoll_ctl(g->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
	g->lost_lines++;
}

/*
 * Reads the events of one line, reporting each, within *budget. Returns the
 * number reported or -errno. The callback may release or re-request the line,
 * so the fd is looked at again before every read. With hup (epoll saw a hang-up
 * or an error) it reads on to the end of file or the error, so the line can
 * leave epoll_fd now rather than wake the caller again.
 */
static int hg_read_line(struct vio_host_gpio *g, uint16_t line, unsigned *budget, bool hup)
{
	struct gpio_v2_line_event ev[EVENT_BATCH];
	int fd = g->lines[line].fd;
	int done = 0;

	while (*budget > 0 && fd >= 0 && g->lines[line].fd == fd) {
		size_t want = (*budget < EVENT_BATCH ? *budget : EVENT_BATCH) * sizeof(ev[0]);
		ssize_t n = read(fd, ev, want);
		size_t whole;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			int rc = n < 0 ? -errno : 0;

			hg_lose(g, fd);
			return done > 0 || rc == 0 ? done : rc;
		}
		whole = (size_t) n / sizeof(ev[0]);
		if ((size_t) n % sizeof(ev[0]) != 0)
			g->torn_reads++;
		for (size_t i = 0; i < whole; i++) {
			uint8_t bits = vio_host_gpio_event_bits(ev[i].id);

			(*budget)--;
			if (bits == 0)
				continue;
			g->events++;
			done++;
			if (g->on_event != NULL)
				g->on_event(g->event_ctx, line, bits);
			if (g->lines[line].fd != fd)
				break; /* released by the callback: the rest is not ours to report
					*/
		}
		if ((size_t) n < want && !hup)
			break; /* the kernel gave all it had */
	}
	return done;
}

int vio_host_gpio_dispatch(struct vio_host_gpio *g)
{
	struct epoll_event ready[EPOLL_BATCH];
	unsigned budget = VIO_HOST_GPIO_DISPATCH_MAX;
	int done = 0, err = 0, n, rounds = 0;

	if (g == NULL || g->epoll_fd < 0 || g->lines == NULL)
		return -ENODEV;
	do {
		n = epoll_wait(g->epoll_fd, ready, EPOLL_BATCH, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return done > 0 ? done : -errno;
		for (int i = 0; i < n && budget > 0; i++) {
			uint32_t line = ready[i].data.u32;
			int rc;

			/* released after epoll_wait saw it (by the callback of an earlier line) */
			if (line >= g->nlines || g->lines[line].fd < 0)
				continue;
			rc = hg_read_line(g, (uint16_t) line, &budget,
					  (ready[i].events & (EPOLLHUP | EPOLLERR)) != 0);
			if (rc < 0)
				err = rc;
			else
				done += rc;
		}
	} while (n == EPOLL_BATCH && budget > 0 && ++rounds < EPOLL_ROUNDS);
	return done == 0 && err < 0 ? err : done;
}

void vio_host_gpio_set_event_cb(struct vio_host_gpio *g,
				void (*cb)(void *ctx, uint16_t line, uint8_t events), void *ctx)
{
	g->on_event = cb;
	g->event_ctx = ctx;
}

int vio_host_gpio_event_fd(const struct vio_host_gpio *g)
{
	return g == NULL || g->lines == NULL ? -1 : g->epoll_fd;
}

void vio_host_gpio_close(struct vio_host_gpio *g)
{
	if (g == NULL)
		return;
	/* a zeroed struct has fds 0 it never opened: only an opened one owns its fds */
	if (g->lines != NULL) {
		for (uint32_t i = 0; i < g->nlines; i++)
			if (g->lines[i].fd >= 0)
				close(g->lines[i].fd);
		if (g->epoll_fd >= 0)
			close(g->epoll_fd);
		if (g->chip_fd >= 0)
			close(g->chip_fd);
	}
	free(g->lines);
	free(g->names);
	g->lines = NULL;
	g->names = NULL;
	g->nlines = 0;
	g->chip_fd = -1;
	g->epoll_fd = -1;
}

/* Reads the name of every line; returns 0 or -errno with a message. */
static int hg_read_lines(struct vio_host_gpio *g, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < g->nlines; i++) {
		struct gpio_v2_line_info info;

		memset(&info, 0, sizeof(info));
		info.offset = i;
		if (ioctl(g->chip_fd, GPIO_V2_GET_LINEINFO_IOCTL, &info) < 0) {
			int rc = -errno;

			if (i == 0 && (rc == -ENOTTY || rc == -EINVAL))
				vio_errmsg(
				    err, errlen,
				    "%s: the kernel lacks the GPIO uAPI v2 (Linux 5.10 or later "
				    "needed): %s",
				    g->path, strerror(-rc));
			else
				vio_errmsg(err, errlen, "%s: cannot read line %u: %s", g->path, i,
					   strerror(-rc));
			return rc;
		}
		snprintf(g->names[i], VIO_GPIO_NAME_MAX, "%.*s", (int) (VIO_GPIO_NAME_MAX - 1),
			 info.name);
	}
	return 0;
}

/* Opens path and checks it is a GPIO chip; returns 0 or -errno with a message. */
static int hg_open_chip(struct vio_host_gpio *g, struct gpiochip_info *ci, char *err, size_t errlen)
{
	struct stat st;
	int rc;

	g->chip_fd = open(g->path, O_RDWR | O_CLOEXEC);
	if (g->chip_fd < 0) {
		rc = -errno;
		vio_errmsg(err, errlen, "cannot open GPIO chip %s: %s", g->path, strerror(-rc));
		return rc;
	}
	if (fstat(g->chip_fd, &st) < 0) {
		rc = -errno;
		vio_errmsg(err, errlen, "%s: %s", g->path, strerror(-rc));
		return rc;
	}
	if (!S_ISCHR(st.st_mode)) {
		vio_errmsg(err, errlen, "%s is not a GPIO chip: not a character device", g->path);
		return -ENOTTY;
	}
	memset(ci, 0, sizeof(*ci));
	if (ioctl(g->chip_fd, GPIO_GET_CHIPINFO_IOCTL, ci) < 0) {
		rc = -errno;
		vio_errmsg(err, errlen, "%s is not a GPIO chip (GPIO_GET_CHIPINFO_IOCTL: %s)",
			   g->path, strerror(-rc));
		return rc;
	}
	return 0;
}

int vio_host_gpio_open(struct vio_host_gpio *g, const char *chip, char *err, size_t errlen)
{
	struct gpiochip_info ci;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (g == NULL) {
		vio_errmsg(err, errlen, "no GPIO context");
		return -EINVAL;
	}
	memset(g, 0, sizeof(*g));
	g->chip_fd = -1;
	g->epoll_fd = -1;
	rc = vio_host_gpio_chip_path(chip, g->path, sizeof(g->path));
	if (rc < 0) {
		vio_errmsg(
		    err, errlen,
		    "bad GPIO chip '%s': give /dev/gpiochipN, gpiochipN, N or an absolute path "
		    "of at most %zu characters",
		    chip != NULL ? chip : "(null)", sizeof(g->path) - 1);
		return rc;
	}
	rc = hg_open_chip(g, &ci, err, errlen);
	if (rc < 0)
		goto fail;
	if (ci.lines == 0 || ci.lines > UINT16_MAX) {
		vio_errmsg(err, errlen, "%s has %u lines; virtio-gpio serves 1 to %u", g->path,
			   ci.lines, UINT16_MAX);
		rc = ci.lines == 0 ? -ENODEV : -E2BIG;
		goto fail;
	}
	snprintf(g->name, sizeof(g->name), "%.*s", (int) sizeof(g->name) - 1, ci.name);
	snprintf(g->label, sizeof(g->label), "%.*s", (int) sizeof(g->label) - 1, ci.label);
	g->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	g->lines = calloc(ci.lines, sizeof(*g->lines));
	g->names = calloc(ci.lines, sizeof(*g->names));
	if (g->epoll_fd < 0 || g->lines == NULL || g->names == NULL) {
		rc = g->epoll_fd < 0 ? -errno : -ENOMEM;
		vio_errmsg(err, errlen, "%s: cannot set up %u lines: %s", g->path, ci.lines,
			   strerror(-rc));
		goto fail;
	}
	g->nlines = (uint16_t) ci.lines;
	for (uint32_t i = 0; i < g->nlines; i++)
		g->lines[i].fd = -1;
	rc = hg_read_lines(g, err, errlen);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	/* the fds are ours even before lines exists: close them here */
	if (g->lines == NULL) {
		if (g->epoll_fd >= 0)
			close(g->epoll_fd);
		if (g->chip_fd >= 0)
			close(g->chip_fd);
		g->epoll_fd = -1;
		g->chip_fd = -1;
	}
	vio_host_gpio_close(g);
	return rc;
}
