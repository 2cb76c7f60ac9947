/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Simulated input devices, a virtio-input provider for tests, simulations and
 * firmware demos: a keyboard or a multi-touch touchscreen, driven by calls a
 * test or a control socket makes. Deterministic: the same calls give the same
 * events.
 *
 * The keyboard has keys 1 .. 255 (KEY_ESC .. ), the NumLock, CapsLock and
 * ScrollLock LEDs and a bell the driver sets through the statusq, and
 * autorepeat done by the driver (EV_REP). Each key change is one report: the
 * key event and SYN_REPORT.
 *
 * The touchscreen (INPUT_PROP_DIRECT) reports contacts in multi-touch slots
 * (protocol B: ABS_MT_SLOT, ABS_MT_TRACKING_ID, ABS_MT_POSITION_X/Y), BTN_TOUCH
 * while any contact is down, and ABS_X/ABS_Y of the oldest contact for
 * single-touch readers. Each call is one report.
 *
 * State changes whether or not the driver takes the report: a report the
 * device could not queue (no driver, backlog full) is lost, as on hardware.
 *
 * Threading: as the device it serves.
 */
#ifndef VIOPORT_SIM_INPUT_H
#define VIOPORT_SIM_INPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "vioport/input.h"

#define VIO_SIM_INPUT_KEYBOARD	  1
#define VIO_SIM_INPUT_TOUCHSCREEN 2

#define VIO_SIM_INPUT_KEY_MAX	255u  /* highest key code of the keyboard */
#define VIO_SIM_INPUT_MAX_SLOTS 10u   /* contacts a touchscreen tracks at once */
#define VIO_SIM_INPUT_TRACK_MAX 65535 /* tracking ids run 0 .. this, then wrap */
#define VIO_SIM_INPUT_REPORT	8u    /* events one report holds at most */

/* One touchscreen contact. */
struct vio_sim_input_contact {
	bool down;
	int32_t x, y;
	int32_t tracking_id;
	uint32_t since; /* order of touch-down, for the oldest contact */
};

struct vio_sim_input {
	uint8_t kind;	       /* VIO_SIM_INPUT_* */
	struct vio_input *dev; /* where reports go; NULL until attached */
	uint32_t reports;      /* reports the device took */
	uint32_t lost;	       /* reports the device refused (no driver, backlog full) */

	/* keyboard */
	uint8_t keys[(VIO_SIM_INPUT_KEY_MAX + 1u) / 8u]; /* keys down, a bit per code */
	uint16_t leds;	       /* LED_* bits as the driver last set them */
	uint32_t led_events;   /* EV_LED status events */
	uint32_t bells;	       /* SND_BELL events that rang (value not 0) */
	uint32_t status_other; /* other status events */

	/* touchscreen */
	int32_t width, height; /* positions run 0 .. width - 1, 0 .. height - 1 */
	int32_t res;	       /* units per millimetre, 0: unknown */
	uint8_t nslots;
	uint8_t cur_slot; /* ABS_MT_SLOT as last reported */
	int32_t next_id;
	uint32_t seq;
	int8_t primary; /* slot reported as ABS_X/ABS_Y, -1: none */
	struct vio_sim_input_contact slots[VIO_SIM_INPUT_MAX_SLOTS];
};

/* Prepares a keyboard: no keys down, LEDs off. */
void vio_sim_input_init_keyboard(struct vio_sim_input *sim);

/*
 * Prepares a touchscreen of width x height positions (each 1 .. 2^24),
 * resolution res units/mm (0 .. 2^16) and nslots contacts (1 ..
 * VIO_SIM_INPUT_MAX_SLOTS). Returns 0 or -VIO_EINVAL.
 */
int vio_sim_input_init_touchscreen(struct vio_sim_input *sim, int32_t width, int32_t height,
				   int32_t res, uint8_t nslots);

/* Sends the simulation's reports to dev from now on (NULL stops them). */
void vio_sim_input_attach(struct vio_sim_input *sim, struct vio_input *dev);

/*
 * Keyboard: presses (down) or releases key code (1 .. VIO_SIM_INPUT_KEY_MAX),
 * one report; a key already in that state sends nothing. Returns 0, the
 * device's refusal (-VIO_EAGAIN, -VIO_ENOSPC: the report is lost) or
 * -VIO_EINVAL for a bad code or a touchscreen.
 */
int vio_sim_input_key(struct vio_sim_input *sim, uint16_t code, bool down);

/* Keyboard: presses and releases code, two reports; returns as vio_sim_input_key. */
int vio_sim_input_tap(struct vio_sim_input *sim, uint16_t code);

/*
 * Touchscreen: puts contact slot down at (x, y), or moves it there when it is
 * down already (nothing when it is there already). Returns as
 * vio_sim_input_key; -VIO_EINVAL for a bad slot, a position off the screen
 * or a keyboard.
 */
int vio_sim_input_touch(struct vio_sim_input *sim, uint8_t slot, int32_t x, int32_t y);

/* Touchscreen: lifts contact slot (nothing when it is up). Returns as vio_sim_input_touch. */
int vio_sim_input_lift(struct vio_sim_input *sim, uint8_t slot);

/* Says whether key code is down (keyboard). */
bool vio_sim_input_key_down(const struct vio_sim_input *sim, uint16_t code);

/* The input provider table over a struct vio_sim_input context. */
extern const struct vio_input_ops vio_sim_input_ops;

#endif
