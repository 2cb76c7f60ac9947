/* SPDX-License-Identifier: BSD-3-Clause */
/* Simulated keyboard and touchscreen: virtio-input providers driven by the host. */
#include "vioport/errno.h"
#include "vioport/sim_input.h"

#include <string.h>

#define KBD_NAME      "vioport keyboard"
#define TOUCH_NAME    "vioport touchscreen"
#define KBD_SERIAL    "vioport-kbd-0"
#define TOUCH_SERIAL  "vioport-touch-0"
#define KBD_PRODUCT   1u
#define TOUCH_PRODUCT 2u
#define POS_LIMIT     (1 << 24)
#define RES_LIMIT     (1 << 16)

/* A report being built: events in order, SYN_REPORT added when it goes. */
struct report {
	struct vio_input_event ev[VIO_SIM_INPUT_REPORT];
	unsigned n;
};

static void rep_add(struct report *r, uint16_t type, uint16_t code, int32_t value)
{
	r->ev[r->n].type = type;
	r->ev[r->n].code = code;
	r->ev[r->n].value = value;
	r->n++;
}

/* Sends a report and its SYN_REPORT; returns 0 or the device's first refusal. */
static int rep_send(struct vio_sim_input *sim, struct report *r)
{
	int first = 0;

	if (sim->dev == NULL)
		return 0;
	rep_add(r, VIO_INPUT_EV_SYN, VIO_INPUT_SYN_REPORT, 0);
	for (unsigned i = 0; i < r->n; i++) {
		int rc = vio_input_send(sim->dev, r->ev[i].type, r->ev[i].code, r->ev[i].value);

		if (rc < 0 && first == 0)
			first = rc;
	}
	if (first < 0)
		sim->lost++;
	else
		sim->reports++;
	return first;
}

void vio_sim_input_init_keyboard(struct vio_sim_input *sim)
{
	memset(sim, 0, sizeof(*sim));
	sim->kind = VIO_SIM_INPUT_KEYBOARD;
	sim->primary = -1;
}

int vio_sim_input_init_touchscreen(struct vio_sim_input *sim, int32_t width, int32_t height,
				   int32_t res, uint8_t nslots)
{
	if (sim == NULL || width < 1 || width > POS_LIMIT || height < 1 || height > POS_LIMIT ||
	    res < 0 || res > RES_LIMIT || nslots == 0 || nslots > VIO_SIM_INPUT_MAX_SLOTS)
		return -VIO_EINVAL;
	memset(sim, 0, sizeof(*sim));
	sim->kind = VIO_SIM_INPUT_TOUCHSCREEN;
	sim->width = width;
	sim->height = height;
	sim->res = res;
	sim->nslots = nslots;
	sim->primary = -1;
	for (unsigned i = 0; i < VIO_SIM_INPUT_MAX_SLOTS; i++)
		sim->slots[i].tracking_id = -1;
	return 0;
}

void vio_sim_input_attach(struct vio_sim_input *sim, struct vio_input *dev)
{
	sim->dev = dev;
}

bool vio_sim_input_key_down(const struct vio_sim_input *sim, uint16_t code)
{
	if (sim == NULL || sim->kind != VIO_SIM_INPUT_KEYBOARD || code > VIO_SIM_INPUT_KEY_MAX)
		return false;
	return (sim->keys[code / 8u] >> (code % 8u)) & 1u;
}

int vio_sim_input_key(struct vio_sim_input *sim, uint16_t code, bool down)
{
	struct report r = {.n = 0};

	if (sim == NULL || sim->kind != VIO_SIM_INPUT_KEYBOARD || code == 0 ||
	    code > VIO_SIM_INPUT_KEY_MAX)
		return -VIO_EINVAL;
	if (vio_sim_input_key_down(sim, code) == down)
		return 0;
	sim->keys[code / 8u] ^= (uint8_t) (1u << (code % 8u));
	rep_add(&r, VIO_INPUT_EV_KEY, code, down ? 1 : 0);
	return rep_send(sim, &r);
}

int vio_sim_input_tap(struct vio_sim_input *sim, uint16_t code)
{
	int rc = vio_sim_input_key(sim, code, true);
	int rc2;

	if (rc == -VIO_EINVAL)
		return rc;
	rc2 = vio_sim_input_key(sim, code, false);
	return rc < 0 ? rc : rc2;
}

/* The slot of the contact down longest, -1 when none is down. */
static int8_t touch_oldest(const struct vio_sim_input *sim)
{
	int8_t best = -1;

	for (uint8_t i = 0; i < sim->nslots; i++) {
		if (sim->slots[i].down &&
		    (best < 0 || sim->slots[i].since < sim->slots[best].since))
			best = (int8_t) i;
	}
	return best;
}

/* Starts a report about slot: ABS_MT_SLOT only when it changes, as evdev does. */
static void touch_begin(struct vio_sim_input *sim, struct report *r, uint8_t slot)
{
	if (slot != sim->cur_slot)
		rep_add(r, VIO_INPUT_EV_ABS, VIO_INPUT_ABS_MT_SLOT, slot);
	sim->cur_slot = slot;
}

int vio_sim_input_touch(struct vio_sim_input *sim, uint8_t slot, int32_t x, int32_t y)
{
	struct vio_sim_input_contact *c;
	struct report r = {.n = 0};
	bool first;

	if (sim == NULL || sim->kind != VIO_SIM_INPUT_TOUCHSCREEN || slot >= sim->nslots || x < 0 ||
	    x >= sim->width || y < 0 || y >= sim->height)
		return -VIO_EINVAL;
	c = &sim->slots[slot];
	if (c->down && c->x == x && c->y == y)
		return 0;
	first = touch_oldest(sim) < 0;
	touch_begin(sim, &r, slot);
	if (!c->down) {
		c->down = true;
		c->since = sim->seq++;
		c->tracking_id = sim->next_id;
		sim->next_id = sim->next_id == VIO_SIM_INPUT_TRACK_MAX ? 0 : sim->next_id + 1;
		rep_add(&r, VIO_INPUT_EV_ABS, VIO_INPUT_ABS_MT_TRACKID, c->tracking_id);
		rep_add(&r, VIO_INPUT_EV_ABS, VIO_INPUT_ABS_MT_POS_X, x);
		rep_add(&r, VIO_INPUT_EV_ABS, VIO_INPUT_ABS_MT_POS_Y, y);
	} else {
		if (c->x != x)
			rep_add(&r, VIO_INPUT_EV_ABS, VIO_INPUT_ABS_MT_POS_X, x);
		if (c->y != y)
			rep_add(&r, VIO_INPUT_EV_ABS, VIO_INPUT_ABS_MT_POS_Y, y);
	}
	if (first) {
		rep_add(&r, VIO_INPUT_EV_KEY, VIO_INPUT_BTN_TOUCH, 1);
		sim->primary = (int8_t) slot;
	}
	if (sim->primary == (int8_t) slot) {
		if (first || c->x != x)
			rep_add(&r, VIO_INPUT_EV_ABS, VIO_INPUT_ABS_X, x);
		if (first || c->y != y)
			rep_add(&r, VIO_INPUT_EV_ABS, VIO_INPUT_ABS_Y, y);
	}
	c->x = x;
	c->y = y;
	return rep_send(sim, &r);
}

int vio_sim_input_lift(struct vio_sim_input *sim, uint8_t slot)
{
	struct vio_sim_input_contact *c;
	struct report r = {.n = 0};

	if (sim == NULL || sim->kind != VIO_SIM_INPUT_TOUCHSCREEN || slot >= sim->nslots)
		return -VIO_EINVAL;
	c = &sim->slots[slot];
	if (!c->down)
		return 0;
	c->down = false;
	c->tracking_id = -1;
	touch_begin(sim, &r, slot);
	rep_add(&r, VIO_INPUT_EV_ABS, VIO_INPUT_ABS_MT_TRACKID, -1);
	if (sim->primary == (int8_t) slot) {
		int8_t p = touch_oldest(sim);

		sim->primary = p;
		if (p < 0) {
			rep_add(&r, VIO_INPUT_EV_KEY, VIO_INPUT_BTN_TOUCH, 0);
		} else {
			/* single-touch readers follow the contact that is now the oldest */
			rep_add(&r, VIO_INPUT_EV_ABS, VIO_INPUT_ABS_X, sim->slots[p].x);
			rep_add(&r, VIO_INPUT_EV_ABS, VIO_INPUT_ABS_Y, sim->slots[p].y);
		}
	}
	return rep_send(sim, &r);
}

/* ---- the provider ---- */

static uint32_t sim_string(const char *s, char *buf, uint32_t cap)
{
	uint32_t len = (uint32_t) strlen(s);

	memcpy(buf, s, len < cap ? len : cap);
	return len;
}

static uint32_t sim_name(void *ctx, char *buf, uint32_t cap)
{
	const struct vio_sim_input *sim = ctx;

	return sim_string(sim->kind == VIO_SIM_INPUT_KEYBOARD ? KBD_NAME : TOUCH_NAME, buf, cap);
}

static uint32_t sim_serial(void *ctx, char *buf, uint32_t cap)
{
	const struct vio_sim_input *sim = ctx;

	return sim_string(sim->kind == VIO_SIM_INPUT_KEYBOARD ? KBD_SERIAL : TOUCH_SERIAL, buf,
			  cap);
}

static int sim_devids(void *ctx, struct vio_input_devids *ids)
{
	const struct vio_sim_input *sim = ctx;

	ids->bustype = VIO_INPUT_BUS_VIRTUAL;
	ids->vendor = 0;
	ids->product = sim->kind == VIO_SIM_INPUT_KEYBOARD ? KBD_PRODUCT : TOUCH_PRODUCT;
	ids->version = 1;
	return 0;
}

/* Sets bit code in bitmap (cap bytes); returns the bytes up to it. */
static uint32_t set_bit(uint8_t *bitmap, uint32_t cap, uint16_t code)
{
	if (code / 8u >= cap)
		return 0;
	bitmap[code / 8u] |= (uint8_t) (1u << (code % 8u));
	return code / 8u + 1u;
}

static uint32_t sim_prop_bits(void *ctx, uint8_t *bitmap, uint32_t cap)
{
	const struct vio_sim_input *sim = ctx;

	if (sim->kind != VIO_SIM_INPUT_TOUCHSCREEN)
		return 0;
	return set_bit(bitmap, cap, VIO_INPUT_PROP_DIRECT);
}

static uint32_t kbd_ev_bits(uint8_t type, uint8_t *bitmap, uint32_t cap)
{
	uint32_t size = 0;

	switch (type) {
	case VIO_INPUT_EV_KEY:
		for (uint16_t k = 1; k <= VIO_SIM_INPUT_KEY_MAX; k++)
			size = set_bit(bitmap, cap, k);
		return size;
	case VIO_INPUT_EV_LED:
		set_bit(bitmap, cap, VIO_INPUT_LED_NUML);
		set_bit(bitmap, cap, VIO_INPUT_LED_CAPSL);
		return set_bit(bitmap, cap, VIO_INPUT_LED_SCROLLL);
	case VIO_INPUT_EV_SND:
		return set_bit(bitmap, cap, VIO_INPUT_SND_BELL);
	case VIO_INPUT_EV_REP:
		return cap != 0 ? 1 : 0; /* supported, no codes: the driver repeats */
	default:
		return 0;
	}
}

static uint32_t touch_ev_bits(uint8_t type, uint8_t *bitmap, uint32_t cap)
{
	static const uint8_t axes[] = {VIO_INPUT_ABS_X,	       VIO_INPUT_ABS_Y,
				       VIO_INPUT_ABS_MT_SLOT,  VIO_INPUT_ABS_MT_POS_X,
				       VIO_INPUT_ABS_MT_POS_Y, VIO_INPUT_ABS_MT_TRACKID};
	uint32_t size = 0;

	switch (type) {
	case VIO_INPUT_EV_KEY:
		return set_bit(bitmap, cap, VIO_INPUT_BTN_TOUCH);
	case VIO_INPUT_EV_ABS:
		for (unsigned i = 0; i < sizeof(axes); i++) {
			uint32_t s = set_bit(bitmap, cap, axes[i]);

			size = s > size ? s : size;
		}
		return size;
	default:
		return 0;
	}
}

static uint32_t sim_ev_bits(void *ctx, uint8_t type, uint8_t *bitmap, uint32_t cap)
{
	const struct vio_sim_input *sim = ctx;

	if (sim->kind == VIO_SIM_INPUT_KEYBOARD)
		return kbd_ev_bits(type, bitmap, cap);
	return touch_ev_bits(type, bitmap, cap);
}

static int sim_abs_info(void *ctx, uint8_t axis, struct vio_input_absinfo *info)
{
	const struct vio_sim_input *sim = ctx;

	if (sim->kind != VIO_SIM_INPUT_TOUCHSCREEN)
		return -VIO_ENOENT;
	memset(info, 0, sizeof(*info));
	switch (axis) {
	case VIO_INPUT_ABS_X:
	case VIO_INPUT_ABS_MT_POS_X:
		info->max = sim->width - 1;
		info->res = sim->res;
		return 0;
	case VIO_INPUT_ABS_Y:
	case VIO_INPUT_ABS_MT_POS_Y:
		info->max = sim->height - 1;
		info->res = sim->res;
		return 0;
	case VIO_INPUT_ABS_MT_SLOT:
		info->max = sim->nslots - 1;
		return 0;
	case VIO_INPUT_ABS_MT_TRACKID:
		info->max = VIO_SIM_INPUT_TRACK_MAX;
		return 0;
	default:
		return -VIO_ENOENT;
	}
}

/* The device passes only status events this keyboard advertises: LEDs and the bell. */
static void sim_status(void *ctx, uint16_t type, uint16_t code, int32_t value)
{
	struct vio_sim_input *sim = ctx;

	if (type == VIO_INPUT_EV_LED && code <= VIO_INPUT_LED_MAX) {
		if (value != 0)
			sim->leds |= (uint16_t) (1u << code);
		else
			sim->leds &= (uint16_t) ~(1u << code);
		sim->led_events++;
	} else if (type == VIO_INPUT_EV_SND && code == VIO_INPUT_SND_BELL) {
		if (value != 0)
			sim->bells++;
	} else {
		sim->status_other++;
	}
}

const struct vio_input_ops vio_sim_input_ops = {
    .name = sim_name,
    .serial = sim_serial,
    .devids = sim_devids,
    .prop_bits = sim_prop_bits,
    .ev_bits = sim_ev_bits,
    .abs_info = sim_abs_info,
    .status = sim_status,
};
