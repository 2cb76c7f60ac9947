/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport input: virtio-input on a simulated keyboard or touchscreen, driven
 * from the control socket, or on a Linux evdev device passed through (its
 * input watched on the main loop, grabbed while a driver uses it).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "vioport.h"
#include "vioport/errno.h"
#include "vioport/input.h"
#include "vioport/linux_input.h"
#include "vioport/sim_input.h"

/* The backlog holds four eventq rings' worth: a typed line waits there for buffers. */
#define INPUT_BACKLOG (4u * QUEUE_SIZE)
/* The simulated touchscreen: positions, resolution (units/mm), contacts. */
#define TS_WIDTH      1280
#define TS_HEIGHT     800
#define TS_RES	      10
#define TS_SLOTS      VIO_SIM_INPUT_MAX_SLOTS
#define KEY_LEFTSHIFT 42

/* An input group's options (g->conf). */
struct vp_input_conf {
	const char *sim;   /* "keyboard" or "touchscreen" */
	const char *evdev; /* /dev/input/eventN */
};

/* One input instance (in->state). */
struct vp_input {
	struct vp_instance *in;
	struct vio_input input;
	struct vio_queue queues[2];
	struct vio_input_event backlog[INPUT_BACKLOG];
	struct vio_sim_input sim;
	struct vio_host_input host;
	bool host_open;
	struct vio_loop_watch host_w;
	struct vio_device_ops ops; /* the device's, with a start that grabs the evdev device */
	const struct vio_device_ops *input_ops;
};

#define INPUT_FEATURES                                                                             \
	(VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) | VIO_BIT(VIO_F_RING_PACKED))

/* The evdev device has input to read; on the loop, the device locked around it. */
static void host_input_ready(struct vio_loop_watch *w, uint32_t revents)
{
	struct vp_input *d = w->ctx;
	int rc;

	(void) revents;
	vp_lock(d->in);
	rc = vio_host_input_pump(&d->host);
	vp_unlock(d->in);
	if (rc < 0) {
		/* The device went away (unplugged): stop watching it rather than spin. */
		vp_say(VIO_LOG_WARN, d->in->name, "reading %s failed: %s; no more input",
		       d->host.path, strerror(-rc));
		vio_loop_remove(&d->host_w);
	}
}

/*
 * The driver is starting (DRIVER_OK): take the evdev device now, so that even
 * its first report reaches only the driver; grabbing at the first report
 * would let the host's readers see that one too.
 */
static int input_start(struct vio_device *dev)
{
	struct vio_input *input = dev->priv;
	struct vp_input *d =
	    (struct vp_input *) ((char *) input - offsetof(struct vp_input, input));
	int rc = d->input_ops->start != NULL ? d->input_ops->start(dev) : 0;

	if (rc == 0 && d->host_open)
		vio_host_input_grab(&d->host);
	return rc;
}

static int input_setup(struct vp_instance *in, struct vio_loop *loop)
{
	struct vp_input *d = in->state;
	const struct vp_input_conf *o = in->opt->conf;
	const struct vio_input_ops *ops = &vio_sim_input_ops;
	void *ctx = &d->sim;
	char err[192];
	int rc;

	(void) loop;
	d->in = in;
	d->host.fd = -1;
	if (o->evdev != NULL) {
		rc = vio_host_input_open(&d->host, o->evdev, err, sizeof(err));
		if (rc < 0) {
			vp_say(VIO_LOG_ERR, in->name, "%s", err);
			return rc;
		}
		d->host_open = true;
		ops = &vio_host_input_ops;
		ctx = &d->host;
	} else if (strcmp(o->sim, "touchscreen") == 0) {
		if (vio_sim_input_init_touchscreen(&d->sim, TS_WIDTH, TS_HEIGHT, TS_RES, TS_SLOTS) <
		    0)
			return -EINVAL;
	} else {
		vio_sim_input_init_keyboard(&d->sim);
	}
	if (vio_input_init(&d->input, ops, ctx, d->backlog, INPUT_BACKLOG, d->queues, QUEUE_SIZE,
			   INPUT_FEATURES) < 0) {
		vp_say(VIO_LOG_ERR, in->name, "cannot set up the input device");
		return -EINVAL;
	}
	in->dev = &d->input.dev;
	d->input_ops = d->input.dev.ops;
	d->ops = *d->input_ops;
	d->ops.start = input_start;
	d->input.dev.ops = &d->ops;
	if (d->host_open) {
		vio_host_input_attach(&d->host, &d->input);
		vp_say(VIO_LOG_INFO, in->name, "%s (%.*s)%s", d->host.path, (int) d->host.name_len,
		       d->host.name, d->host.writable ? "" : ", read-only: LEDs not passed on");
	} else {
		vio_sim_input_attach(&d->sim, &d->input);
		vp_say(VIO_LOG_INFO, in->name, "simulated %s", o->sim);
	}
	return 0;
}

static int input_serve(struct vp_instance *in, struct vio_loop *loop)
{
	struct vp_input *d = in->state;
	int rc;

	if (!d->host_open)
		return 0;
	rc = vio_loop_add(loop, &d->host_w, vio_host_input_fd(&d->host), VIO_LOOP_IN,
			  host_input_ready, d);
	if (rc < 0)
		vp_say(VIO_LOG_ERR, in->name, "cannot watch %s: %s", d->host.path, strerror(-rc));
	return rc;
}

/*
 * The driver may be going away (disconnect, reset, its rings stopped): give
 * the host its evdev device back now rather than at the next key, which
 * would otherwise go to nobody. A driver still there grabs it again with its
 * next report.
 */
static void input_quiesce(struct vp_instance *in)
{
	struct vp_input *d = in->state;

	if (d->host_open)
		vio_host_input_ungrab(&d->host);
}

static void input_stop(struct vp_instance *in)
{
	struct vp_input *d = in->state;

	if (d->host_w.loop != NULL)
		vio_loop_remove(&d->host_w);
	if (d->host_open)
		vio_host_input_close(&d->host);
	d->host_open = false;
}

/* The US layout: each row's characters, unshifted and shifted, and its first key code. */
static const struct {
	const char *plain, *shifted;
	uint16_t first;
} layout[] = {
    {"1234567890-=", "!@#$%^&*()_+", 2},   {"qwertyuiop[]", "QWERTYUIOP{}", 16},
    {"asdfghjkl;'`", "ASDFGHJKL:\"~", 30}, {"\\", "|", 43},
    {"zxcvbnm,./", "ZXCVBNM<>?", 44},	   {" ", "", 57},
};

/* The key typing c, and whether it needs shift; 0 when the layout has no such key. */
static uint16_t key_of(char c, bool *shift)
{
	for (size_t r = 0; r < sizeof(layout) / sizeof(layout[0]); r++) {
		const char *p = c != '\0' ? strchr(layout[r].plain, c) : NULL;
		const char *q = c != '\0' ? strchr(layout[r].shifted, c) : NULL;

		if (p != NULL) {
			*shift = false;
			return (uint16_t) (layout[r].first + (p - layout[r].plain));
		}
		if (q != NULL) {
			*shift = true;
			return (uint16_t) (layout[r].first + (q - layout[r].shifted));
		}
	}
	return 0;
}

/* The reply to a refusal of the device: the report was lost. */
static void refused(struct vp_instance *in, int rc, FILE *reply)
{
	if (rc == -VIO_EAGAIN)
		fprintf(reply, "error no driver runs %s: the input was lost", in->name);
	else if (rc == -VIO_ENOSPC)
		fprintf(reply, "error the backlog of %s is full: the input was lost", in->name);
	else
		fprintf(reply, "error %d", rc);
}

/* input type TEXT: each character a tap, with shift around it when it needs one. */
static void ctl_type(struct vp_instance *in, struct vp_input *d, const char *text, FILE *reply)
{
	uint32_t need = 0;
	size_t n = strlen(text);
	int rc = 0;

	if (n == 0) {
		fprintf(reply, "error input type TEXT");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		bool shift;

		if (key_of(text[i], &shift) == 0) {
			fprintf(reply, "error no key types '%c' (US layout, printable ASCII)",
				text[i]);
			return;
		}
		need += shift ? 8u : 4u; /* two events per report */
	}
	vp_lock(in);
	/* The whole text or nothing: a line cut short would be worse than none. */
	if (vio_input_backlog_room(&d->input) < need) {
		uint32_t room = vio_input_backlog_room(&d->input);

		vp_unlock(in);
		fprintf(reply, "error the backlog has room for %u events, the text needs %u",
			(unsigned) room, (unsigned) need);
		return;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		bool shift;
		uint16_t code = key_of(text[i], &shift);

		if (shift)
			rc = vio_sim_input_key(&d->sim, KEY_LEFTSHIFT, true);
		if (rc == 0)
			rc = vio_sim_input_tap(&d->sim, code);
		if (shift) {
			int r2 = vio_sim_input_key(&d->sim, KEY_LEFTSHIFT, false);

			rc = rc != 0 ? rc : r2;
		}
	}
	vp_unlock(in);
	if (rc != 0)
		refused(in, rc, reply);
	else
		fprintf(reply, "ok %zu", n);
}

static void ctl_keyboard(struct vp_instance *in, struct vp_input *d, const char *verb, char *args,
			 FILE *reply)
{
	const char *a1, *a2;
	long code, v = 1;
	int rc;

	if (strcmp(verb, "leds") == 0) {
		if (vp_word(&args) != NULL) {
			fprintf(reply, "error input leds");
			return;
		}
		vp_lock(in);
		fprintf(reply, "ok numlock=%u capslock=%u scrolllock=%u bells=%u",
			(d->sim.leds >> VIO_INPUT_LED_NUML) & 1u,
			(d->sim.leds >> VIO_INPUT_LED_CAPSL) & 1u,
			(d->sim.leds >> VIO_INPUT_LED_SCROLLL) & 1u, (unsigned) d->sim.bells);
		vp_unlock(in);
		return;
	}
	if (strcmp(verb, "type") == 0) {
		char *text = args + strspn(args, " \t");
		size_t n = strlen(text);

		/* A client that ends its lines with CRLF means no carriage return. */
		if (n > 0 && text[n - 1] == '\r')
			text[n - 1] = '\0';
		ctl_type(in, d, text, reply);
		return;
	}
	if (strcmp(verb, "key") != 0 && strcmp(verb, "tap") != 0) {
		fprintf(reply, "error a keyboard takes key CODE 0|1, tap CODE, type TEXT or leds");
		return;
	}
	a1 = vp_word(&args);
	a2 = verb[0] == 'k' ? vp_word(&args) : NULL;
	if (!vp_parse_long(a1, 1, VIO_SIM_INPUT_KEY_MAX, &code) ||
	    (verb[0] == 'k' && !vp_parse_long(a2, 0, 1, &v)) || vp_word(&args) != NULL) {
		fprintf(reply, "error input %s", verb[0] == 'k' ? "key CODE 0|1" : "tap CODE");
		return;
	}
	vp_lock(in);
	if (verb[0] == 'k')
		rc = vio_sim_input_key(&d->sim, (uint16_t) code, v != 0);
	else
		rc = vio_sim_input_tap(&d->sim, (uint16_t) code);
	vp_unlock(in);
	if (rc != 0)
		refused(in, rc, reply);
	else
		fprintf(reply, "ok");
}

static void ctl_touchscreen(struct vp_instance *in, struct vp_input *d, const char *verb,
			    char *args, FILE *reply)
{
	const char *a1 = vp_word(&args), *a2 = vp_word(&args), *a3 = vp_word(&args);
	long slot, x = 0, y = 0;
	bool touch = strcmp(verb, "touch") == 0;
	int rc;

	if (!touch && strcmp(verb, "lift") != 0) {
		fprintf(reply, "error a touchscreen takes touch SLOT X Y or lift SLOT");
		return;
	}
	if (!vp_parse_long(a1, 0, d->sim.nslots - 1, &slot) ||
	    (touch && (!vp_parse_long(a2, 0, d->sim.width - 1, &x) ||
		       !vp_parse_long(a3, 0, d->sim.height - 1, &y))) ||
	    (!touch && a2 != NULL) || vp_word(&args) != NULL) {
		fprintf(reply, "error input %s (slots 0 to %u, X 0 to %d, Y 0 to %d)",
			touch ? "touch SLOT X Y" : "lift SLOT", d->sim.nslots - 1u,
			(int) d->sim.width - 1, (int) d->sim.height - 1);
		return;
	}
	vp_lock(in);
	if (touch)
		rc = vio_sim_input_touch(&d->sim, (uint8_t) slot, (int32_t) x, (int32_t) y);
	else
		rc = vio_sim_input_lift(&d->sim, (uint8_t) slot);
	vp_unlock(in);
	if (rc != 0)
		refused(in, rc, reply);
	else
		fprintf(reply, "ok");
}

/* input[N] key/tap/type/leds on a keyboard, touch/lift on a touchscreen. */
static void input_ctl(struct vp_instance *in, char *args, FILE *reply)
{
	struct vp_input *d = in->state;
	const char *verb;

	if (d->host_open) {
		fprintf(reply, "error %s is the evdev device %s, not a simulation", in->name,
			d->host.path);
		return;
	}
	verb = vp_word(&args);
	if (verb == NULL) {
		fprintf(reply, "error input takes key, tap, type, leds (keyboard) or touch, lift "
			       "(touchscreen)");
		return;
	}
	if (d->sim.kind == VIO_SIM_INPUT_KEYBOARD)
		ctl_keyboard(in, d, verb, args, reply);
	else
		ctl_touchscreen(in, d, verb, args, reply);
}

/* Exactly one of --sim and --evdev; a passed-through device serves one socket. */
static int input_check(struct vp_group *g, const char *where)
{
	struct vp_input_conf *c = g->conf;

	if (c->sim == NULL && c->evdev == NULL)
		return vp_usage_error(where, "input needs --sim keyboard|touchscreen or --evdev "
					     "/dev/input/eventN");
	if (c->sim != NULL && c->evdev != NULL)
		return vp_usage_error(where, "input takes --sim or --evdev, not both");
	if (c->sim != NULL && strcmp(c->sim, "keyboard") != 0 && strcmp(c->sim, "touchscreen") != 0)
		return vp_usage_error(where, "--sim takes keyboard or touchscreen, not '%s'",
				      c->sim);
	if (c->evdev != NULL && c->evdev[0] == '\0')
		return vp_usage_error(where, "--evdev needs a device path (/dev/input/eventN)");
	/* Each device of the group would read the same evdev device: one is all it can be. */
	if (c->evdev != NULL && g->transport == TRANSPORT_VMSG)
		g->socket_count = 1;
	if (c->evdev != NULL && g->socket_count != 1)
		return vp_usage_error(where,
				      "--evdev passes one device through: one socket, not %u",
				      g->socket_count);
	return 0;
}

static const struct vp_option input_options[] = {
    {.name = "sim",
     .arg = "TYPE",
     .type = VP_OPT_STRING,
     .offset = offsetof(struct vp_input_conf, sim),
     .help = "a simulation driven from the control socket: keyboard\n"
	     "(keys, LEDs, bell) or touchscreen (%u x %u, %u contacts)",
     .help_n = {TS_WIDTH, TS_HEIGHT, TS_SLOTS}},
    {.name = "evdev",
     .alias = "evdev-path",
     .arg = "PATH",
     .type = VP_OPT_STRING,
     .offset = offsetof(struct vp_input_conf, evdev),
     .help = "pass the Linux evdev device PATH (/dev/input/eventN)\n"
	     "through, grabbed while a driver uses it"},
    {.name = NULL},
};

const struct vp_kind vp_kind_input = {
    .name = "input",
    .summary = "virtio-input on a Linux evdev device or a simulated one",
    .caps_json = "{\n  \"type\": \"input\",\n  \"features\": [\n    \"evdev-path\"\n  ]\n}\n",
    .ctl_help = "input[N] key CODE 0|1, input[N] tap CODE, input[N] type TEXT, input[N] leds "
		"(keyboard), input[N] touch SLOT X Y, input[N] lift SLOT (touchscreen)",
    .options = input_options,
    .conf_size = sizeof(struct vp_input_conf),
    .state_size = sizeof(struct vp_input),
    .check = input_check,
    .setup = input_setup,
    .serve = input_serve,
    .quiesce = input_quiesce,
    .ctl = input_ctl,
    .stop = input_stop,
};
