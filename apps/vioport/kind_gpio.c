/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport gpio: virtio-gpio on a Linux GPIO chip (its line events watched on
 * the main loop) or on a simulated chip that the control socket drives.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vioport.h"
#include "vioport/gpio.h"
#include "vioport/linux_gpio.h"
#include "vioport/sim_gpio.h"

#define MAX_SIM_GPIO_LINES 256u
#define GPIO_CHIP_NAME	   64

/* A gpio group's options (g->conf). */
struct vp_gpio_conf {
	const char *device_list;
	/* per socket, from the list: lines of a simulated chip, or 0 and the host chip's name */
	uint16_t lines[MAX_DEVICES];
	char chip[MAX_DEVICES][GPIO_CHIP_NAME];
};

/* One gpio instance (in->state): a simulated chip or a host chip. */
struct vp_gpio {
	struct vp_instance *in;
	struct vio_gpio gpio;
	struct vio_queue queues[2];
	struct vio_gpio_line *lines; /* one per line of the chip */
	struct vio_sim_gpio chip;
	struct vio_sim_gpio_line chip_lines[MAX_SIM_GPIO_LINES];
	struct vio_host_gpio hchip;
	bool hchip_open;
	struct vio_loop_watch hchip_w;
};

/* The features every chip offers; interrupts need a provider that can arm lines. */
#define GPIO_FEATURES                                                                              \
	(VIO_BIT(VIO_GPIO_F_IRQ) | VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) |       \
	 VIO_BIT(VIO_F_RING_PACKED))

/* A host chip's line changed; runs on the loop with the device locked. */
static void host_gpio_event(void *ctx, uint16_t line, uint8_t events)
{
	struct vp_gpio *g = ctx;

	vio_gpio_line_event(&g->gpio, line, events);
}

/* A host chip's line requests have events to read. */
static void host_gpio_ready(struct vio_loop_watch *w, uint32_t revents)
{
	struct vp_gpio *g = w->ctx;
	int rc;

	(void) revents;
	vp_lock(g->in);
	rc = vio_host_gpio_dispatch(&g->hchip);
	vp_unlock(g->in);
	if (rc < 0)
		vp_say(VIO_LOG_WARN, g->in->name, "reading line events of %s failed: %s",
		       g->hchip.path, strerror(-rc));
}

/* A simulated chip of the listed size, or the listed host chip. */
static int gpio_setup(struct vp_instance *in, struct vio_loop *loop)
{
	struct vp_gpio *g = in->state;
	const struct vp_gpio_conf *o = in->opt->conf;
	const struct vio_gpio_ops *ops = &vio_sim_gpio_ops;
	void *ctx = &g->chip;
	uint16_t nlines = o->lines[in->slot];
	char err[160];
	int rc;

	(void) loop;
	g->in = in;
	if (nlines == 0) {
		rc = vio_host_gpio_open(&g->hchip, o->chip[in->slot], err, sizeof(err));
		if (rc < 0) {
			vp_say(VIO_LOG_ERR, in->name, "%s", err);
			return rc;
		}
		g->hchip_open = true;
		vio_host_gpio_set_event_cb(&g->hchip, host_gpio_event, g);
		nlines = g->hchip.nlines;
		ops = &vio_host_gpio_ops;
		ctx = &g->hchip;
	} else {
		vio_sim_gpio_init(&g->chip, g->chip_lines, nlines, NULL);
	}
	g->lines = calloc(nlines, sizeof(*g->lines));
	if (g->lines == NULL) {
		vp_say(VIO_LOG_ERR, in->name, "out of memory");
		return -ENOMEM;
	}
	if (vio_gpio_init(&g->gpio, ops, ctx, nlines, g->lines, g->queues, QUEUE_SIZE,
			  GPIO_FEATURES) < 0) {
		vp_say(VIO_LOG_ERR, in->name, "cannot set up the gpio device");
		return -EINVAL;
	}
	in->dev = &g->gpio.dev;
	if (g->hchip_open) {
		vp_say(VIO_LOG_INFO, in->name, "%s (%s), %u lines", g->hchip.path, g->hchip.label,
		       nlines);
	} else {
		vio_sim_gpio_attach(&g->chip, &g->gpio);
		vp_say(VIO_LOG_INFO, in->name, "simulated chip, %u lines", nlines);
	}
	return 0;
}

/* A host chip's line events arrive on the loop. */
static int gpio_serve(struct vp_instance *in, struct vio_loop *loop)
{
	struct vp_gpio *g = in->state;
	int rc;

	if (!g->hchip_open)
		return 0;
	rc = vio_loop_add(loop, &g->hchip_w, vio_host_gpio_event_fd(&g->hchip), VIO_LOOP_IN,
			  host_gpio_ready, g);
	if (rc < 0)
		vp_say(VIO_LOG_ERR, in->name, "cannot watch the chip's lines: %s", strerror(-rc));
	return rc;
}

static void gpio_stop(struct vp_instance *in)
{
	struct vp_gpio *g = in->state;

	if (g->hchip_w.loop != NULL)
		vio_loop_remove(&g->hchip_w);
	if (g->hchip_open)
		vio_host_gpio_close(&g->hchip);
	g->hchip_open = false;
	free(g->lines);
	g->lines = NULL;
}

static const char *const dir_names[] = {"none", "out", "in"};

/* gpio list: the whole chip on one line, so it stays one reply. */
static void ctl_list(struct vp_gpio *g, FILE *reply)
{
	fprintf(reply, "ok %u", g->chip.nlines);
	for (uint16_t i = 0; i < g->chip.nlines; i++) {
		const struct vio_sim_gpio_line *l = &g->chip.lines[i];
		uint8_t level = l->dir == VIO_GPIO_DIRECTION_OUT ? l->output : l->input;

		fprintf(reply, " sim-gpio-%u=%s:%u", i, dir_names[l->dir <= 2 ? l->dir : 0], level);
	}
}

/* gpio[N] set LINE 0|1, get LINE, list: on a simulated chip. */
static void gpio_ctl(struct vp_instance *in, char *args, FILE *reply)
{
	struct vp_gpio *g = in->state;
	const char *verb = vp_word(&args), *a1 = vp_word(&args), *a2 = vp_word(&args);
	long line, v;

	if (g->hchip_open) {
		fprintf(reply, "error %s is the host chip %s, not a simulation", in->name,
			g->hchip.path);
		return;
	}
	if (verb != NULL && strcmp(verb, "list") == 0 && a1 == NULL) {
		vp_lock(in);
		ctl_list(g, reply);
		vp_unlock(in);
		return;
	}
	if (verb == NULL || (strcmp(verb, "set") != 0 && strcmp(verb, "get") != 0)) {
		fprintf(reply, "error gpio takes set LINE 0|1, get LINE or list");
		return;
	}
	if (!vp_parse_long(a1, 0, g->chip.nlines - 1, &line)) {
		fprintf(reply, "error no line '%s' (0 to %u)", a1 ? a1 : "", g->chip.nlines - 1u);
		return;
	}
	if (verb[0] == 's') {
		if (!vp_parse_long(a2, 0, 1, &v) || vp_word(&args) != NULL) {
			fprintf(reply, "error gpio set LINE 0|1");
			return;
		}
		vp_lock(in);
		vio_sim_gpio_set_input(&g->chip, (uint16_t) line, (uint8_t) v);
		vp_unlock(in);
		fprintf(reply, "ok");
		return;
	}
	if (a2 != NULL) {
		fprintf(reply, "error gpio get LINE");
		return;
	}
	vp_lock(in);
	{
		const struct vio_sim_gpio_line *l = &g->chip.lines[line];
		uint8_t level = l->dir == VIO_GPIO_DIRECTION_OUT ? l->output : l->input;

		fprintf(reply, "ok %u dir=%s output=%u input=%u changes=%u", level,
			dir_names[l->dir <= 2 ? l->dir : 0], l->output, l->input,
			(unsigned) l->changes);
	}
	vp_unlock(in);
}

/* Whether a list entry names a host chip (/dev/gpiochipN or another path, gpiochipN, N). */
static bool host_chip(const char *e, size_t n)
{
	return (n > 0 && e[0] >= '0' && e[0] <= '9') || (n > 1 && e[0] == '/') ||
	       (n >= 8 && strncmp(e, "gpiochip", 8) == 0);
}

/* The device list: one chip per socket, simulated (sN) or on the host. */
static int gpio_check(struct vp_group *g, const char *where)
{
	struct vp_gpio_conf *c = g->conf;
	const char *p = c->device_list;
	unsigned n = 0;

	if (p == NULL)
		return vp_usage_error(where, "gpio needs --device-list");
	for (;;) {
		size_t len = strcspn(p, ",:");
		char num[8];
		unsigned v;

		if (n == MAX_DEVICES)
			return vp_usage_error(where, "--device-list has more than %d chips",
					      MAX_DEVICES);
		if (len > 1 && len < sizeof(num) + 1 && p[0] == 's') {
			memcpy(num, p + 1, len - 1);
			num[len - 1] = '\0';
			if (!vp_parse_uint(num, 1, MAX_SIM_GPIO_LINES, &v))
				return vp_usage_error(
				    where, "a simulated chip has 1 to %u lines, not '%.*s'",
				    MAX_SIM_GPIO_LINES, (int) len, p);
			c->lines[n] = (uint16_t) v;
		} else if (host_chip(p, len) && len < GPIO_CHIP_NAME) {
			memcpy(c->chip[n], p, len);
			c->chip[n][len] = '\0';
		} else {
			return vp_usage_error(
			    where,
			    "--device-list for gpio takes, per socket, a host chip "
			    "(N, gpiochipN or /dev/gpiochipN) or sN (a simulated "
			    "chip of N lines), not '%.*s'",
			    (int) len, p);
		}
		n++;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	/* On a virtio-msg bus the list alone says how many chips there are. */
	if (g->transport == TRANSPORT_VMSG)
		g->socket_count = n;
	if (n != g->socket_count)
		return vp_usage_error(where, "--device-list names %u chip%s for %u socket%s", n,
				      n == 1 ? "" : "s", g->socket_count,
				      g->socket_count == 1 ? "" : "s");
	return 0;
}

static const struct vp_option gpio_options[] = {
    {.name = "device-list",
     .letter = 'l',
     .arg = "LIST",
     .type = VP_OPT_STRING,
     .offset = offsetof(struct vp_gpio_conf, device_list),
     .help = "one chip per socket, separated by ':' or ',': N,\n"
	     "gpiochipN or /dev/gpiochipN is a Linux GPIO chip; sN\n"
	     "is a simulated chip of N lines (1 to %u)",
     .help_n = {MAX_SIM_GPIO_LINES}},
    {.name = NULL},
};

const struct vp_kind vp_kind_gpio = {
    .name = "gpio",
    .summary = "virtio-gpio on a Linux GPIO chip or a simulated one",
    .caps_json = "{\n  \"type\": \"gpio\",\n  \"features\": []\n}\n",
    .ctl_help = "gpio[N] set LINE 0|1, gpio[N] get LINE, gpio[N] list",
    .options = gpio_options,
    .conf_size = sizeof(struct vp_gpio_conf),
    .state_size = sizeof(struct vp_gpio),
    .check = gpio_check,
    .setup = gpio_setup,
    .serve = gpio_serve,
    .ctl = gpio_ctl,
    .stop = gpio_stop,
};
