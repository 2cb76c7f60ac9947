/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Linux GPIO character-device provider: chip-name parsing, opening things that
 * are not GPIO chips, closing in every state, the uAPI v2 flag and event
 * mapping, the operations' rules on lines held and not held, and event
 * dispatch. Machines without a gpiochip get a stand-in chip: /dev/null as the
 * chip (every ioctl fails as on a chip that refuses) and pipes as line request
 * fds, which carry struct gpio_v2_line_event records the way the kernel does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <fcntl.h>
#include <linux/gpio.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "vioport/linux_gpio.h"

#define PATH_CAP 64
#define ERR_CAP	 256
#define NREC	 2048

static struct {
	uint16_t line[NREC];
	uint8_t ev[NREC];
	unsigned n;
	struct vio_host_gpio *g;
	int release_line;  /* >= 0: the first event releases this line */
	int release_other; /* the first event releases the other of lines 1 and 2 */
} R;

static void on_event(void *ctx, uint16_t line, uint8_t events)
{
	assert_ptr_equal(ctx, &R);
	if (R.n < NREC) {
		R.line[R.n] = line;
		R.ev[R.n] = events;
	}
	R.n++;
	if (R.n == 1 && R.release_line >= 0)
		assert_int_equal(vio_host_gpio_ops.set_direction(R.g, (uint16_t) R.release_line,
								 VIO_GPIO_DIRECTION_NONE),
				 0);
	if (R.n == 1 && R.release_other)
		assert_int_equal(vio_host_gpio_ops.set_direction(R.g, line == 1 ? 2 : 1,
								 VIO_GPIO_DIRECTION_NONE),
				 0);
}

/* A chip of n lines with /dev/null in place of the gpiochip and no line held. */
static void fake_chip(struct vio_host_gpio *g, uint16_t n)
{
	memset(g, 0, sizeof(*g));
	memset(&R, 0, sizeof(R));
	R.release_line = -1;
	R.g = g;
	g->chip_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_true(g->chip_fd >= 0);
	g->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	assert_true(g->epoll_fd >= 0);
	g->nlines = n;
	g->lines = calloc(n, sizeof(*g->lines));
	g->names = calloc(n, sizeof(*g->names));
	assert_non_null(g->lines);
	assert_non_null(g->names);
	for (uint16_t i = 0; i < n; i++)
		g->lines[i].fd = -1;
	snprintf(g->path, sizeof(g->path), "/dev/null");
	vio_host_gpio_set_event_cb(g, on_event, &R);
}

/* Holds line as dir armed for irq over a pipe, as a line request; returns the write end. */
static int hold(struct vio_host_gpio *g, uint16_t line, uint8_t dir, uint8_t irq)
{
	struct epoll_event e = {.events = EPOLLIN, .data.u32 = line};
	int p[2];

	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	g->lines[line].fd = p[0];
	g->lines[line].dir = dir;
	g->lines[line].irq_type = irq;
	if (irq != VIO_GPIO_IRQ_TYPE_NONE)
		assert_int_equal(epoll_ctl(g->epoll_fd, EPOLL_CTL_ADD, p[0], &e), 0);
	return p[1];
}

/* Queues one event record with the kernel's layout on a line's pipe. */
static void push(int wfd, uint32_t id, uint32_t offset)
{
	static uint32_t seqno;
	struct gpio_v2_line_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.id = id;
	ev.offset = offset;
	ev.seqno = ++seqno;
	assert_int_equal(write(wfd, &ev, sizeof(ev)), (ssize_t) sizeof(ev));
}

static int epoll_ready(const struct vio_host_gpio *g)
{
	struct epoll_event e[8];

	return epoll_wait(g->epoll_fd, e, 8, 0);
}

static void assert_closed(const struct vio_host_gpio *g)
{
	assert_int_equal(g->chip_fd, -1);
	assert_int_equal(g->epoll_fd, -1);
	assert_null(g->lines);
	assert_null(g->names);
	assert_int_equal(g->nlines, 0);
	assert_int_equal(vio_host_gpio_event_fd(g), -1);
}

static void test_chip_path_good(void **state)
{
	char p[PATH_CAP];

	(void) state;
	assert_int_equal(vio_host_gpio_chip_path("/dev/gpiochip0", p, sizeof(p)), 0);
	assert_string_equal(p, "/dev/gpiochip0");
	assert_int_equal(vio_host_gpio_chip_path("gpiochip3", p, sizeof(p)), 0);
	assert_string_equal(p, "/dev/gpiochip3");
	assert_int_equal(vio_host_gpio_chip_path("0", p, sizeof(p)), 0);
	assert_string_equal(p, "/dev/gpiochip0");
	assert_int_equal(vio_host_gpio_chip_path("12", p, sizeof(p)), 0);
	assert_string_equal(p, "/dev/gpiochip12");
	assert_int_equal(vio_host_gpio_chip_path("gpiochip999999999", p, sizeof(p)), 0);
	assert_string_equal(p, "/dev/gpiochip999999999");
	/* another directory, through an absolute path only */
	assert_int_equal(vio_host_gpio_chip_path("/run/chips/gpiochip1", p, sizeof(p)), 0);
	assert_string_equal(p, "/run/chips/gpiochip1");
	/* exactly fits: "/dev/gpiochip7" is 14 characters */
	assert_int_equal(vio_host_gpio_chip_path("7", p, 15), 0);
	assert_string_equal(p, "/dev/gpiochip7");
}

static void test_chip_path_bad(void **state)
{
	static const char *const bad[] = {
	    "",
	    "gpiochip",
	    "gpiochipx",
	    "gpiochip-1",
	    "-1",
	    "+1",
	    " 1",
	    "1 ",
	    "1a",
	    "0x1",
	    "01",
	    "gpiochip01",
	    "1234567890",
	    "gpiochip1234567890",
	    "dev/gpiochip0",
	    "./gpiochip0",
	    "gpiochip0/",
	    "GPIOCHIP0",
	    "gpiochip 0",
	    "chip0",
	};
	char p[PATH_CAP];

	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(vio_host_gpio_chip_path(bad[i], p, sizeof(p)), -EINVAL);
	assert_int_equal(vio_host_gpio_chip_path(NULL, p, sizeof(p)), -EINVAL);
	assert_int_equal(vio_host_gpio_chip_path("0", NULL, sizeof(p)), -EINVAL);
	assert_int_equal(vio_host_gpio_chip_path("0", p, 0), -EINVAL);
}

static void test_chip_path_too_long(void **state)
{
	char p[PATH_CAP];
	char longpath[PATH_CAP + 8];

	(void) state;
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(vio_host_gpio_chip_path(longpath, p, sizeof(p)), -ENAMETOOLONG);
	longpath[PATH_CAP - 1] = '\0'; /* 63 characters: fits with its NUL */
	assert_int_equal(vio_host_gpio_chip_path(longpath, p, sizeof(p)), 0);
	assert_string_equal(p, longpath);
	assert_int_equal(vio_host_gpio_chip_path("7", p, 14), -ENAMETOOLONG);
	assert_int_equal(vio_host_gpio_chip_path("gpiochip12", p, 10), -ENAMETOOLONG);
}

static void test_open_bad_name(void **state)
{
	struct vio_host_gpio g;
	char err[ERR_CAP];

	(void) state;
	assert_int_equal(vio_host_gpio_open(&g, "gpiochipX", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "gpiochipX"));
	assert_non_null(strstr(err, "/dev/gpiochipN"));
	assert_closed(&g);
	assert_int_equal(vio_host_gpio_open(&g, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bad GPIO chip"));
	assert_closed(&g);
	assert_int_equal(vio_host_gpio_open(NULL, "0", err, sizeof(err)), -EINVAL);
	assert_true(err[0] != '\0');
}

static void test_open_missing(void **state)
{
	struct vio_host_gpio g;
	char err[ERR_CAP];

	(void) state;
	assert_int_equal(vio_host_gpio_open(&g, "/dev/gpiochip424242", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/dev/gpiochip424242"));
	assert_non_null(strstr(err, strerror(ENOENT)));
	assert_closed(&g);
	assert_int_equal(vio_host_gpio_open(&g, "424243", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/dev/gpiochip424243"));
	assert_closed(&g);
	/* no room for a message is not an error of its own */
	assert_int_equal(vio_host_gpio_open(&g, "gpiochip424244", NULL, 0), -ENOENT);
	assert_closed(&g);
	err[0] = 'x';
	assert_int_equal(vio_host_gpio_open(&g, "gpiochip424244", err, 1), -ENOENT);
	assert_int_equal(err[0], '\0');
}

static void test_open_regular_file(void **state)
{
	struct vio_host_gpio g;
	char err[ERR_CAP];
	char path[] = "/tmp/vioport-gpio-XXXXXX";
	int fd = mkstemp(path);

	(void) state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(vio_host_gpio_open(&g, path, err, sizeof(err)), -ENOTTY);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "not a character device"));
	assert_closed(&g);
	unlink(path);
}

static void test_open_directory(void **state)
{
	struct vio_host_gpio g;
	char err[ERR_CAP];

	(void) state;
	assert_int_equal(vio_host_gpio_open(&g, "/tmp", err, sizeof(err)), -EISDIR);
	assert_non_null(strstr(err, "/tmp"));
	assert_closed(&g);
}

static void test_open_char_device_not_gpio(void **state)
{
	struct vio_host_gpio g;
	char err[ERR_CAP];

	(void) state;
	assert_int_equal(vio_host_gpio_open(&g, "/dev/null", err, sizeof(err)), -ENOTTY);
	assert_non_null(strstr(err, "/dev/null is not a GPIO chip"));
	assert_non_null(strstr(err, "GPIO_GET_CHIPINFO_IOCTL"));
	assert_closed(&g);
	assert_int_equal(vio_host_gpio_open(&g, "/dev/zero", err, sizeof(err)), -ENOTTY);
	assert_non_null(strstr(err, "/dev/zero"));
	assert_closed(&g);
}

/* A struct that was never opened owns no fd: closing it must leave fd 0 alone. */
static void test_close_never_opened(void **state)
{
	struct vio_host_gpio g;
	int opened = -1;

	(void) state;
	if (fcntl(0, F_GETFD) < 0)
		opened = open("/dev/null", O_RDONLY); /* lands on fd 0 */
	assert_true(fcntl(0, F_GETFD) >= 0);
	memset(&g, 0, sizeof(g));
	vio_host_gpio_close(&g);
	assert_true(fcntl(0, F_GETFD) >= 0);
	assert_closed(&g);
	vio_host_gpio_close(&g);
	assert_closed(&g);
	vio_host_gpio_close(NULL);
	if (opened >= 0)
		close(opened);
}

static void test_closed_chip_ops(void **state)
{
	struct vio_host_gpio g;
	char err[ERR_CAP];
	char name[8];

	(void) state;
	assert_int_equal(vio_host_gpio_open(&g, "/dev/null", err, sizeof(err)), -ENOTTY);
	vio_host_gpio_close(&g); /* after a failed open */
	assert_closed(&g);
	assert_int_equal(vio_host_gpio_ops.get_direction(&g, 0), -ENODEV);
	assert_int_equal(vio_host_gpio_ops.set_direction(&g, 0, VIO_GPIO_DIRECTION_IN), -ENODEV);
	assert_int_equal(vio_host_gpio_ops.get_value(&g, 0), -ENODEV);
	assert_int_equal(vio_host_gpio_ops.set_value(&g, 0, 1), -ENODEV);
	assert_int_equal(vio_host_gpio_ops.set_irq_type(&g, 0, VIO_GPIO_IRQ_TYPE_NONE), -ENODEV);
	assert_int_equal(vio_host_gpio_ops.line_name(&g, 0, name, sizeof(name)), 0);
	assert_int_equal(vio_host_gpio_dispatch(&g), -ENODEV);
	assert_int_equal(vio_host_gpio_dispatch(NULL), -ENODEV);
	assert_int_equal(vio_host_gpio_event_fd(NULL), -1);
}

static void test_config_flags(void **state)
{
	const uint64_t in = GPIO_V2_LINE_FLAG_INPUT;
	const uint64_t r = GPIO_V2_LINE_FLAG_EDGE_RISING;
	const uint64_t f = GPIO_V2_LINE_FLAG_EDGE_FALLING;

	(void) state;
	assert_int_equal(vio_host_gpio_config_flags(VIO_GPIO_DIRECTION_NONE, 0), 0);
	assert_int_equal(
	    vio_host_gpio_config_flags(VIO_GPIO_DIRECTION_NONE, VIO_GPIO_IRQ_TYPE_EDGE_BOTH), 0);
	assert_int_equal(vio_host_gpio_config_flags(VIO_GPIO_DIRECTION_OUT, 0),
			 GPIO_V2_LINE_FLAG_OUTPUT);
	/* the kernel refuses edges on an output: an armed output detects none */
	assert_int_equal(
	    vio_host_gpio_config_flags(VIO_GPIO_DIRECTION_OUT, VIO_GPIO_IRQ_TYPE_EDGE_RISING),
	    GPIO_V2_LINE_FLAG_OUTPUT);
	assert_int_equal(vio_host_gpio_config_flags(VIO_GPIO_DIRECTION_IN, 0), in);
	assert_int_equal(
	    vio_host_gpio_config_flags(VIO_GPIO_DIRECTION_IN, VIO_GPIO_IRQ_TYPE_EDGE_RISING),
	    in | r);
	assert_int_equal(
	    vio_host_gpio_config_flags(VIO_GPIO_DIRECTION_IN, VIO_GPIO_IRQ_TYPE_EDGE_FALLING),
	    in | f);
	assert_int_equal(
	    vio_host_gpio_config_flags(VIO_GPIO_DIRECTION_IN, VIO_GPIO_IRQ_TYPE_EDGE_BOTH),
	    in | r | f);
	assert_int_equal(
	    vio_host_gpio_config_flags(VIO_GPIO_DIRECTION_IN, VIO_GPIO_IRQ_TYPE_LEVEL_HIGH),
	    in | r | f);
	assert_int_equal(
	    vio_host_gpio_config_flags(VIO_GPIO_DIRECTION_IN, VIO_GPIO_IRQ_TYPE_LEVEL_LOW),
	    in | r | f);
	assert_int_equal(vio_host_gpio_config_flags(VIO_GPIO_DIRECTION_IN, 0x10), in);
	assert_int_equal(vio_host_gpio_config_flags(3, 0), 0);
}

static void test_event_bits(void **state)
{
	(void) state;
	assert_int_equal(vio_host_gpio_event_bits(GPIO_V2_LINE_EVENT_RISING_EDGE),
			 VIO_GPIO_EV_RISING | VIO_GPIO_EV_HIGH);
	assert_int_equal(vio_host_gpio_event_bits(GPIO_V2_LINE_EVENT_FALLING_EDGE),
			 VIO_GPIO_EV_FALLING | VIO_GPIO_EV_LOW);
	assert_int_equal(vio_host_gpio_event_bits(0), 0);
	assert_int_equal(vio_host_gpio_event_bits(3), 0);
	assert_int_equal(vio_host_gpio_event_bits(UINT32_MAX), 0);
}

static void test_info_direction(void **state)
{
	(void) state;
	assert_int_equal(vio_host_gpio_info_direction(GPIO_V2_LINE_FLAG_OUTPUT),
			 VIO_GPIO_DIRECTION_OUT);
	assert_int_equal(vio_host_gpio_info_direction(GPIO_V2_LINE_FLAG_INPUT),
			 VIO_GPIO_DIRECTION_IN);
	/* held by another consumer: still its direction */
	assert_int_equal(vio_host_gpio_info_direction(GPIO_V2_LINE_FLAG_USED |
						      GPIO_V2_LINE_FLAG_OUTPUT |
						      GPIO_V2_LINE_FLAG_ACTIVE_LOW),
			 VIO_GPIO_DIRECTION_OUT);
	assert_int_equal(vio_host_gpio_info_direction(GPIO_V2_LINE_FLAG_USED |
						      GPIO_V2_LINE_FLAG_INPUT |
						      GPIO_V2_LINE_FLAG_EDGE_RISING),
			 VIO_GPIO_DIRECTION_IN);
	assert_int_equal(vio_host_gpio_info_direction(0), VIO_GPIO_DIRECTION_NONE);
	assert_int_equal(vio_host_gpio_info_direction(GPIO_V2_LINE_FLAG_USED),
			 VIO_GPIO_DIRECTION_NONE);
}

/* Lines not held: the value is remembered, reads and arming need the line. */
static void test_ops_unheld(void **state)
{
	struct vio_host_gpio g;
	char name[VIO_GPIO_NAME_MAX];

	(void) state;
	fake_chip(&g, 4);
	snprintf(g.names[2], VIO_GPIO_NAME_MAX, "led-green");
	assert_int_equal(vio_host_gpio_ops.set_value(&g, 1, 1), 0);
	assert_int_equal(g.lines[1].value, 1);
	assert_int_equal(g.lines[1].fd, -1);
	assert_int_equal(vio_host_gpio_ops.set_value(&g, 1, 0), 0);
	assert_int_equal(g.lines[1].value, 0);
	assert_int_equal(vio_host_gpio_ops.set_value(&g, 1, 7), 0);
	assert_int_equal(g.lines[1].value, 1);
	/* a chip that refuses the request leaves the line as it was */
	assert_int_equal(vio_host_gpio_ops.set_direction(&g, 1, VIO_GPIO_DIRECTION_OUT), -ENOTTY);
	assert_int_equal(g.lines[1].fd, -1);
	assert_int_equal(g.lines[1].dir, VIO_GPIO_DIRECTION_NONE);
	assert_int_equal(g.lines[1].value, 1);
	assert_int_equal(vio_host_gpio_ops.set_direction(&g, 1, VIO_GPIO_DIRECTION_IN), -ENOTTY);
	assert_int_equal(vio_host_gpio_ops.set_direction(&g, 1, 3), -EINVAL);
	assert_int_equal(vio_host_gpio_ops.set_direction(&g, 1, VIO_GPIO_DIRECTION_NONE), 0);
	assert_int_equal(vio_host_gpio_ops.get_value(&g, 1), -EPERM);
	assert_int_equal(vio_host_gpio_ops.set_irq_type(&g, 1, VIO_GPIO_IRQ_TYPE_EDGE_BOTH),
			 -EPERM);
	assert_int_equal(vio_host_gpio_ops.set_irq_type(&g, 1, VIO_GPIO_IRQ_TYPE_NONE), 0);
	assert_int_equal(vio_host_gpio_ops.set_irq_type(&g, 1, 0x10), -EINVAL);
	assert_int_equal(vio_host_gpio_ops.set_irq_type(&g, 1, 0x05), -EINVAL);
	/* the direction of a line we do not hold comes from the kernel's line info */
	assert_int_equal(vio_host_gpio_ops.get_direction(&g, 1), -ENOTTY);
	/* beyond the chip */
	assert_int_equal(vio_host_gpio_ops.get_direction(&g, 4), -EINVAL);
	assert_int_equal(vio_host_gpio_ops.set_direction(&g, 4, VIO_GPIO_DIRECTION_IN), -EINVAL);
	assert_int_equal(vio_host_gpio_ops.get_value(&g, 4), -EINVAL);
	assert_int_equal(vio_host_gpio_ops.set_value(&g, 4, 1), -EINVAL);
	assert_int_equal(vio_host_gpio_ops.set_irq_type(&g, 4, 0), -EINVAL);
	assert_int_equal(vio_host_gpio_ops.line_name(&g, 4, name, sizeof(name)), 0);
	/* names */
	memset(name, 'x', sizeof(name));
	assert_int_equal(vio_host_gpio_ops.line_name(&g, 2, name, sizeof(name)), 9);
	assert_memory_equal(name, "led-green", 9);
	assert_int_equal(name[9], 'x'); /* no NUL written */
	memset(name, 'x', sizeof(name));
	assert_int_equal(vio_host_gpio_ops.line_name(&g, 2, name, 3), 9);
	assert_memory_equal(name, "ledx", 4);
	assert_int_equal(vio_host_gpio_ops.line_name(&g, 0, name, sizeof(name)), 0);
	vio_host_gpio_close(&g);
	assert_closed(&g);
}

/* A held input: our direction, no output level, a refused reconfiguration changes nothing. */
static void test_ops_held_input(void **state)
{
	struct vio_host_gpio g;
	int w, fd;

	(void) state;
	fake_chip(&g, 4);
	w = hold(&g, 2, VIO_GPIO_DIRECTION_IN, VIO_GPIO_IRQ_TYPE_EDGE_RISING);
	fd = g.lines[2].fd;
	assert_int_equal(vio_host_gpio_ops.get_direction(&g, 2), VIO_GPIO_DIRECTION_IN);
	assert_int_equal(vio_host_gpio_ops.set_value(&g, 2, 1), -EPERM);
	assert_int_equal(g.lines[2].value, 0);
	assert_int_equal(vio_host_gpio_ops.set_direction(&g, 2, VIO_GPIO_DIRECTION_IN), 0);
	assert_int_equal(vio_host_gpio_ops.set_irq_type(&g, 2, VIO_GPIO_IRQ_TYPE_EDGE_RISING), 0);
	assert_int_equal(g.lines[2].fd, fd);
	/* the pipe refuses SET_CONFIG / GET_VALUES as a broken chip would */
	assert_int_equal(vio_host_gpio_ops.set_direction(&g, 2, VIO_GPIO_DIRECTION_OUT), -ENOTTY);
	assert_int_equal(vio_host_gpio_ops.set_irq_type(&g, 2, VIO_GPIO_IRQ_TYPE_EDGE_BOTH),
			 -ENOTTY);
	assert_int_equal(vio_host_gpio_ops.get_value(&g, 2), -ENOTTY);
	assert_int_equal(g.lines[2].fd, fd);
	assert_int_equal(g.lines[2].dir, VIO_GPIO_DIRECTION_IN);
	assert_int_equal(g.lines[2].irq_type, VIO_GPIO_IRQ_TYPE_EDGE_RISING);
	/* still watched: an edge gets through */
	push(w, GPIO_V2_LINE_EVENT_RISING_EDGE, 2);
	assert_int_equal(vio_host_gpio_dispatch(&g), 1);
	/* releasing forgets everything and stops watching */
	assert_int_equal(vio_host_gpio_ops.set_direction(&g, 2, VIO_GPIO_DIRECTION_NONE), 0);
	assert_int_equal(g.lines[2].fd, -1);
	assert_int_equal(g.lines[2].dir, VIO_GPIO_DIRECTION_NONE);
	assert_int_equal(g.lines[2].irq_type, VIO_GPIO_IRQ_TYPE_NONE);
	assert_int_equal(fcntl(fd, F_GETFD), -1); /* the request fd went back */
	assert_int_equal(epoll_ready(&g), 0);
	close(w);
	vio_host_gpio_close(&g);
}

/* A held output: set_value goes to the kernel, arming is refused. */
static void test_ops_held_output(void **state)
{
	struct vio_host_gpio g;
	int w;

	(void) state;
	fake_chip(&g, 2);
	w = hold(&g, 0, VIO_GPIO_DIRECTION_OUT, VIO_GPIO_IRQ_TYPE_NONE);
	g.lines[0].value = 1;
	assert_int_equal(vio_host_gpio_ops.get_direction(&g, 0), VIO_GPIO_DIRECTION_OUT);
	assert_int_equal(vio_host_gpio_ops.set_value(&g, 0, 0), -ENOTTY);
	assert_int_equal(g.lines[0].value, 1); /* not changed by a refused set */
	assert_int_equal(vio_host_gpio_ops.set_irq_type(&g, 0, VIO_GPIO_IRQ_TYPE_EDGE_FALLING),
			 -EPERM);
	assert_int_equal(vio_host_gpio_ops.set_irq_type(&g, 0, VIO_GPIO_IRQ_TYPE_NONE), 0);
	assert_int_equal(vio_host_gpio_ops.set_direction(&g, 0, VIO_GPIO_DIRECTION_OUT), 0);
	/* a released line starts low again when it next becomes an output */
	assert_int_equal(vio_host_gpio_ops.set_direction(&g, 0, VIO_GPIO_DIRECTION_NONE), 0);
	assert_int_equal(g.lines[0].fd, -1);
	assert_int_equal(g.lines[0].value, 0);
	assert_int_equal(vio_host_gpio_ops.get_value(&g, 0), -EPERM);
	close(w);
	w = hold(&g, 1, VIO_GPIO_DIRECTION_OUT, VIO_GPIO_IRQ_TYPE_NONE);
	close(w);
	vio_host_gpio_close(&g); /* closes the held line too (ASan sees leaks) */
	assert_closed(&g);
}

static void test_dispatch_several(void **state)
{
	struct vio_host_gpio g;
	int w1, w3;

	(void) state;
	fake_chip(&g, 4);
	w1 = hold(&g, 1, VIO_GPIO_DIRECTION_IN, VIO_GPIO_IRQ_TYPE_EDGE_BOTH);
	w3 = hold(&g, 3, VIO_GPIO_DIRECTION_IN, VIO_GPIO_IRQ_TYPE_LEVEL_HIGH);
	assert_int_equal(vio_host_gpio_dispatch(&g), 0); /* nothing pending */
	push(w1, GPIO_V2_LINE_EVENT_RISING_EDGE, 1);
	push(w1, GPIO_V2_LINE_EVENT_FALLING_EDGE, 1);
	push(w1, GPIO_V2_LINE_EVENT_RISING_EDGE, 1);
	push(w3, GPIO_V2_LINE_EVENT_FALLING_EDGE, 3);
	push(w3, GPIO_V2_LINE_EVENT_RISING_EDGE, 3);
	assert_int_equal(epoll_ready(&g), 2);
	assert_int_equal(vio_host_gpio_dispatch(&g), 5);
	assert_int_equal(R.n, 5);
	assert_int_equal(g.events, 5);
	{
		/* lines come in any order, but each line's events keep theirs */
		uint8_t l1[3], l3[2];
		unsigned n1 = 0, n3 = 0;

		for (unsigned i = 0; i < R.n; i++) {
			if (R.line[i] == 1)
				l1[n1++] = R.ev[i];
			else if (R.line[i] == 3)
				l3[n3++] = R.ev[i];
			else
				fail();
		}
		assert_int_equal(n1, 3);
		assert_int_equal(n3, 2);
		assert_int_equal(l1[0], VIO_GPIO_EV_RISING | VIO_GPIO_EV_HIGH);
		assert_int_equal(l1[1], VIO_GPIO_EV_FALLING | VIO_GPIO_EV_LOW);
		assert_int_equal(l1[2], VIO_GPIO_EV_RISING | VIO_GPIO_EV_HIGH);
		assert_int_equal(l3[0], VIO_GPIO_EV_FALLING | VIO_GPIO_EV_LOW);
		assert_int_equal(l3[1], VIO_GPIO_EV_RISING | VIO_GPIO_EV_HIGH);
	}
	assert_int_equal(epoll_ready(&g), 0);
	assert_int_equal(vio_host_gpio_dispatch(&g), 0);
	assert_int_equal(R.n, 5);
	close(w1);
	close(w3);
	vio_host_gpio_close(&g);
}

static void test_dispatch_unknown_and_torn(void **state)
{
	struct vio_host_gpio g;
	struct gpio_v2_line_event ev;
	int w;

	(void) state;
	fake_chip(&g, 2);
	w = hold(&g, 0, VIO_GPIO_DIRECTION_IN, VIO_GPIO_IRQ_TYPE_EDGE_BOTH);
	push(w, 9, 0); /* an id this build does not know */
	push(w, GPIO_V2_LINE_EVENT_FALLING_EDGE, 0);
	memset(&ev, 0, sizeof(ev));
	assert_int_equal(write(w, &ev, 10), 10); /* part of a record */
	assert_int_equal(vio_host_gpio_dispatch(&g), 1);
	assert_int_equal(R.n, 1);
	assert_int_equal(R.ev[0], VIO_GPIO_EV_FALLING | VIO_GPIO_EV_LOW);
	assert_int_equal(g.events, 1);
	assert_int_equal(g.torn_reads, 1);
	assert_int_equal(epoll_ready(&g), 0);
	close(w);
	vio_host_gpio_close(&g);
}

static void test_dispatch_no_callback(void **state)
{
	struct vio_host_gpio g;
	int w;

	(void) state;
	fake_chip(&g, 1);
	vio_host_gpio_set_event_cb(&g, NULL, NULL);
	w = hold(&g, 0, VIO_GPIO_DIRECTION_IN, VIO_GPIO_IRQ_TYPE_EDGE_RISING);
	push(w, GPIO_V2_LINE_EVENT_RISING_EDGE, 0);
	push(w, GPIO_V2_LINE_EVENT_RISING_EDGE, 0);
	assert_int_equal(vio_host_gpio_dispatch(&g), 2);
	assert_int_equal(g.events, 2);
	assert_int_equal(R.n, 0);
	assert_int_equal(epoll_ready(&g), 0);
	close(w);
	vio_host_gpio_close(&g);
}

/* The callback releases the line it is told about: the rest of its events are not reported. */
static void test_dispatch_release_in_callback(void **state)
{
	struct vio_host_gpio g;
	int w;

	(void) state;
	fake_chip(&g, 2);
	R.release_line = 1;
	w = hold(&g, 1, VIO_GPIO_DIRECTION_IN, VIO_GPIO_IRQ_TYPE_EDGE_BOTH);
	push(w, GPIO_V2_LINE_EVENT_RISING_EDGE, 1);
	push(w, GPIO_V2_LINE_EVENT_FALLING_EDGE, 1);
	push(w, GPIO_V2_LINE_EVENT_RISING_EDGE, 1);
	assert_int_equal(vio_host_gpio_dispatch(&g), 1);
	assert_int_equal(R.n, 1);
	assert_int_equal(g.lines[1].fd, -1);
	assert_int_equal(epoll_ready(&g), 0);
	assert_int_equal(vio_host_gpio_dispatch(&g), 0);
	close(w);
	vio_host_gpio_close(&g);
}

/* Two lines ready at once; the first one's callback releases the other before it is read. */
static void test_dispatch_released_after_epoll(void **state)
{
	struct vio_host_gpio g;
	int w1, w2;

	(void) state;
	fake_chip(&g, 3);
	R.release_other = 1;
	w1 = hold(&g, 1, VIO_GPIO_DIRECTION_IN, VIO_GPIO_IRQ_TYPE_EDGE_BOTH);
	w2 = hold(&g, 2, VIO_GPIO_DIRECTION_IN, VIO_GPIO_IRQ_TYPE_EDGE_BOTH);
	push(w1, GPIO_V2_LINE_EVENT_RISING_EDGE, 1);
	push(w2, GPIO_V2_LINE_EVENT_RISING_EDGE, 2);
	assert_int_equal(epoll_ready(&g), 2);
	assert_int_equal(vio_host_gpio_dispatch(&g), 1);
	assert_int_equal(R.n, 1);
	assert_int_equal(g.lines[R.line[0] == 1 ? 2 : 1].fd, -1);
	assert_int_equal(g.lines[R.line[0]].fd >= 0, 1);
	assert_int_equal(epoll_ready(&g), 0);
	close(w1);
	close(w2);
	vio_host_gpio_close(&g);
}

/* A line fd at end of file (the chip went away) leaves epoll_fd instead of spinning the loop. */
static void test_dispatch_hangup(void **state)
{
	struct vio_host_gpio g;
	int w;

	(void) state;
	fake_chip(&g, 2);
	w = hold(&g, 1, VIO_GPIO_DIRECTION_IN, VIO_GPIO_IRQ_TYPE_EDGE_FALLING);
	push(w, GPIO_V2_LINE_EVENT_FALLING_EDGE, 1);
	close(w);
	assert_int_equal(vio_host_gpio_dispatch(&g), 1);
	assert_int_equal(R.n, 1);
	assert_int_equal(g.lost_lines, 1);
	assert_int_equal(epoll_ready(&g), 0);
	assert_int_equal(vio_host_gpio_dispatch(&g), 0);
	/* still held: the driver releases it as usual */
	assert_int_equal(vio_host_gpio_ops.set_direction(&g, 1, VIO_GPIO_DIRECTION_NONE), 0);
	vio_host_gpio_close(&g);
}

/* A flood is read in bounded helpings; what is left keeps the event fd readable. */
static void test_dispatch_budget(void **state)
{
	struct vio_host_gpio g;
	const unsigned total = VIO_HOST_GPIO_DISPATCH_MAX + 100;
	int w;

	(void) state;
	fake_chip(&g, 1);
	w = hold(&g, 0, VIO_GPIO_DIRECTION_IN, VIO_GPIO_IRQ_TYPE_EDGE_BOTH);
	for (unsigned i = 0; i < total; i++)
		push(w, i & 1 ? GPIO_V2_LINE_EVENT_FALLING_EDGE : GPIO_V2_LINE_EVENT_RISING_EDGE,
		     0);
	assert_int_equal(vio_host_gpio_dispatch(&g), VIO_HOST_GPIO_DISPATCH_MAX);
	assert_int_equal(epoll_ready(&g), 1);
	assert_int_equal(vio_host_gpio_dispatch(&g), 100);
	assert_int_equal(epoll_ready(&g), 0);
	assert_int_equal(R.n, total);
	assert_int_equal(g.events, total);
	for (unsigned i = 0; i < total; i++)
		assert_int_equal(R.ev[i], i & 1 ? VIO_GPIO_EV_FALLING | VIO_GPIO_EV_LOW
						: VIO_GPIO_EV_RISING | VIO_GPIO_EV_HIGH);
	close(w);
	vio_host_gpio_close(&g);
}

/* The event fd is the epoll fd, usable from the caller's own epoll loop. */
static void test_event_fd_nests(void **state)
{
	struct vio_host_gpio g;
	struct epoll_event e = {.events = EPOLLIN};
	int outer, w;

	(void) state;
	fake_chip(&g, 1);
	assert_int_equal(vio_host_gpio_event_fd(&g), g.epoll_fd);
	outer = epoll_create1(EPOLL_CLOEXEC);
	assert_true(outer >= 0);
	assert_int_equal(epoll_ctl(outer, EPOLL_CTL_ADD, vio_host_gpio_event_fd(&g), &e), 0);
	w = hold(&g, 0, VIO_GPIO_DIRECTION_IN, VIO_GPIO_IRQ_TYPE_EDGE_BOTH);
	assert_int_equal(epoll_wait(outer, &e, 1, 0), 0);
	push(w, GPIO_V2_LINE_EVENT_RISING_EDGE, 0);
	assert_int_equal(epoll_wait(outer, &e, 1, 0), 1);
	assert_int_equal(vio_host_gpio_dispatch(&g), 1);
	assert_int_equal(epoll_wait(outer, &e, 1, 0), 0);
	close(outer);
	close(w);
	vio_host_gpio_close(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chip_path_good),
	    cmocka_unit_test(test_chip_path_bad),
	    cmocka_unit_test(test_chip_path_too_long),
	    cmocka_unit_test(test_open_bad_name),
	    cmocka_unit_test(test_open_missing),
	    cmocka_unit_test(test_open_regular_file),
	    cmocka_unit_test(test_open_directory),
	    cmocka_unit_test(test_open_char_device_not_gpio),
	    cmocka_unit_test(test_close_never_opened),
	    cmocka_unit_test(test_closed_chip_ops),
	    cmocka_unit_test(test_config_flags),
	    cmocka_unit_test(test_event_bits),
	    cmocka_unit_test(test_info_direction),
	    cmocka_unit_test(test_ops_unheld),
	    cmocka_unit_test(test_ops_held_input),
	    cmocka_unit_test(test_ops_held_output),
	    cmocka_unit_test(test_dispatch_several),
	    cmocka_unit_test(test_dispatch_unknown_and_torn),
	    cmocka_unit_test(test_dispatch_no_callback),
	    cmocka_unit_test(test_dispatch_release_in_callback),
	    cmocka_unit_test(test_dispatch_released_after_epoll),
	    cmocka_unit_test(test_dispatch_hangup),
	    cmocka_unit_test(test_dispatch_budget),
	    cmocka_unit_test(test_event_fd_nests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
