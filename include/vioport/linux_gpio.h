/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Linux GPIO provider for the virtio-gpio device: a gpiochip character device
 * driven through the kernel's GPIO uAPI v2 (Linux 5.10 or later; POSIX layer,
 * not freestanding).
 *
 * Lines: the chip is opened once and every line's name is read then. A line is
 * requested from the kernel (one request per line, consumer "vioport") when
 * the driver gives it a direction, and released when the driver sets
 * VIO_GPIO_DIRECTION_NONE. Changing the direction of a held line reconfigures
 * its request (GPIO_V2_LINE_SET_CONFIG_IOCTL), so the line is never given up
 * in between. A value set while the line is not an output is remembered and
 * becomes the initial level when it turns into one, as virtio-gpio allows the
 * value to come first; releasing a line forgets it (back to low).
 *
 * Operations (errors are negative errno values, which the device answers with
 * VIO_GPIO_STATUS_ERR):
 * - get_direction: the direction we gave a line we hold; for any other line
 *   what the kernel reports (output flag -> OUT, input flag -> IN, else NONE),
 *   also for a line another consumer holds.
 * - set_direction: a line held elsewhere fails with -EBUSY from the kernel,
 *   and a failed change leaves the line as it was.
 * - get_value: the line must be held (-EPERM otherwise).
 * - set_value: an output is set at once; a line we do not hold remembers the
 *   level; an input refuses it with -EPERM.
 * - set_irq_type: the line must be held as an input (-EPERM otherwise), except
 *   for NONE, which always succeeds. EDGE_RISING / EDGE_FALLING / EDGE_BOTH
 *   become the v2 edge flags. The uAPI has no level detection, so LEVEL_HIGH
 *   and LEVEL_LOW detect both edges and every edge reports the level it left
 *   the line at; the device model keeps the ones the driver asked for. An
 *   armed line that is turned into an output keeps its type but detects no
 *   edges (the kernel refuses edges on outputs) until it is an input again.
 * - line_name: the name read at open, "" for an unnamed line.
 *
 * Events: every line with edge detection on has its request fd in epoll_fd
 * (the entry's data.u32 is the line number). The caller watches
 * vio_host_gpio_event_fd in its own loop and calls vio_host_gpio_dispatch
 * when it is readable; dispatch reads struct gpio_v2_line_event records and
 * passes each to the callback as VIO_GPIO_EV_RISING | VIO_GPIO_EV_HIGH or
 * VIO_GPIO_EV_FALLING | VIO_GPIO_EV_LOW. Events still queued when detection is
 * turned off are thrown away, so a line armed again reports only new edges. A
 * line whose fd reports end of file or an error (the chip went away) is taken
 * out of epoll_fd so the caller's loop does not spin on it.
 *
 * Threading: none inside. One instance serves one device; every call, and the
 * callback, happen on the device's thread. The callback may call the ops
 * (release or reconfigure the line it is told about, for example).
 */
#ifndef VIOPORT_HOST_GPIO_H
#define VIOPORT_HOST_GPIO_H

#include <stddef.h>
#include <stdint.h>

#include "vioport/gpio.h"

/* Consumer label of every line request, as gpioinfo shows it. */
#define VIO_HOST_GPIO_CONSUMER "vioport"

/* Events one dispatch call reads at most; the rest keep the event fd readable. */
#define VIO_HOST_GPIO_DISPATCH_MAX 1024u

/* One line of the chip. */
struct vio_host_gpio_line {
	int fd;		  /* line request fd, -1 while we do not hold the line */
	uint8_t dir;	  /* VIO_GPIO_DIRECTION_* we gave it, NONE when not held */
	uint8_t value;	  /* output level, remembered until the line is an output */
	uint8_t irq_type; /* VIO_GPIO_IRQ_TYPE_* the driver armed */
};

struct vio_host_gpio {
	int chip_fd;	/* -1 when closed */
	int epoll_fd;	/* every line request fd with edges on */
	char path[64];	/* /dev/gpiochipN */
	char name[32];	/* the kernel's name of the chip, gpiochipN */
	char label[32]; /* the chip's label */
	uint16_t nlines;
	struct vio_host_gpio_line *lines; /* nlines entries, allocated by open */
	char (*names)[VIO_GPIO_NAME_MAX]; /* line names read at open, "" when unnamed */
	void (*on_event)(void *ctx, uint16_t line, uint8_t events);
	void *event_ctx;
	uint64_t events;     /* edge events read since open */
	uint64_t torn_reads; /* reads that ended inside an event record (dropped) */
	uint64_t lost_lines; /* lines taken out of epoll_fd after end of file or an error */
};

/*
 * Turns a chip given as "/dev/gpiochipN", "gpiochipN" or "N" (decimal, no
 * sign, no leading zero) into its device path in path (cap bytes). Any other
 * absolute path is taken as it is (open checks it is a GPIO chip). Returns 0,
 * -EINVAL for any other form, or -ENAMETOOLONG when the path does not fit.
 */
int vio_host_gpio_chip_path(const char *chip, char *path, size_t cap);

/*
 * Opens a chip given as "/dev/gpiochipN", "gpiochipN" or "N" (decimal) and reads its lines'
 * names and state; returns 0 or -errno and then leaves a message in err (errlen bytes).
 */
int vio_host_gpio_open(struct vio_host_gpio *g, const char *chip, char *err, size_t errlen);

/*
 * Releases every requested line and closes the chip; safe on a closed or failed chip,
 * and on a zero-initialised one that was never opened.
 */
void vio_host_gpio_close(struct vio_host_gpio *g);

/* Sets where line events go (VIO_GPIO_EV_* bits), called from vio_host_gpio_dispatch. */
void vio_host_gpio_set_event_cb(struct vio_host_gpio *g,
				void (*cb)(void *ctx, uint16_t line, uint8_t events), void *ctx);

/* The fd to watch for readability: some line has events to dispatch; -1 when closed. */
int vio_host_gpio_event_fd(const struct vio_host_gpio *g);

/*
 * Reads every pending line event without blocking (up to VIO_HOST_GPIO_DISPATCH_MAX
 * per call) and reports each through the callback; returns how many were reported
 * (read and dropped when no callback is set), or -errno when a line could not be read
 * and nothing was reported.
 */
int vio_host_gpio_dispatch(struct vio_host_gpio *g);

/* The v2 line flags for a line in direction dir armed for irq_type (0 for NONE). */
uint64_t vio_host_gpio_config_flags(uint8_t dir, uint8_t irq_type);

/* The VIO_GPIO_EV_* bits of a gpio_v2_line_event id, 0 for an unknown id. */
uint8_t vio_host_gpio_event_bits(uint32_t id);

/* The VIO_GPIO_DIRECTION_* the kernel's v2 line info flags describe. */
uint8_t vio_host_gpio_info_direction(uint64_t flags);

/* The gpio provider table over a struct vio_host_gpio context. */
extern const struct vio_gpio_ops vio_host_gpio_ops;

#endif
