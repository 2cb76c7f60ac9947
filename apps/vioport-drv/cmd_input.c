/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport-drv: the input command, evtest-like. Prints what a virtio-input
 * device says of itself through its config selectors (name, serial, IDs,
 * properties, the codes of each event type, the range of each axis), then
 * the events of its eventq until --count came or none came for --wait.
 */
#include <stdio.h>
#include <string.h>

#include "vioport-drv.h"
#include "vioport/byteorder.h"
#include "vioport/errno.h"
#include "vioport/input.h"
#include "vioport/virtio.h"

#define EVENT_BUFS 8u

/* Both queues: events in, status (LEDs) out. */
const struct drv_kind drv_kind_input = {"input", VIO_ID_INPUT, 2, NULL};

static const char *type_name(unsigned type)
{
	switch (type) {
	case VIO_INPUT_EV_SYN:
		return "EV_SYN";
	case VIO_INPUT_EV_KEY:
		return "EV_KEY";
	case VIO_INPUT_EV_REL:
		return "EV_REL";
	case VIO_INPUT_EV_ABS:
		return "EV_ABS";
	case VIO_INPUT_EV_MSC:
		return "EV_MSC";
	case VIO_INPUT_EV_LED:
		return "EV_LED";
	case VIO_INPUT_EV_SND:
		return "EV_SND";
	case VIO_INPUT_EV_REP:
		return "EV_REP";
	default:
		return "?";
	}
}

/* A string selector (name, serial) as a quoted line; 0 or negative. */
static int print_string(struct vio_vmsg_drv_dev *d, uint8_t select, const char *what)
{
	char s[VIO_INPUT_CFG_U_SIZE];
	int n = vio_vmsg_drv_input_config(d, select, 0, s, sizeof(s));

	if (n < 0)
		return n;
	printf("Input device %s: \"", what);
	for (int i = 0; i < n; i++)
		putchar(s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' ? s[i] : '?');
	printf("\"\n");
	return 0;
}

/* The config, as evtest prints a device; 0 or negative. */
static int print_config(struct vio_vmsg_drv_dev *d)
{
	uint8_t u[VIO_INPUT_CFG_U_SIZE];
	int n, rc;

	if ((rc = print_string(d, VIO_INPUT_CFG_ID_NAME, "name")) < 0 ||
	    (rc = print_string(d, VIO_INPUT_CFG_ID_SERIAL, "serial")) < 0)
		return rc;
	n = vio_vmsg_drv_input_config(d, VIO_INPUT_CFG_ID_DEVIDS, 0, u, sizeof(u));
	if (n < 0)
		return n;
	if (n >= VIO_INPUT_DEVIDS_SIZE)
		printf("Input device ID: bus 0x%x vendor 0x%x product 0x%x version 0x%x\n",
		       vio_get_le16(u), vio_get_le16(u + 2), vio_get_le16(u + 4),
		       vio_get_le16(u + 6));
	printf("Supported events:\n");
	/* Which types there are: a type with a size (even without bits set) is one. */
	for (unsigned type = 0; type <= VIO_INPUT_EV_MAX; type++) {
		if ((n = vio_vmsg_drv_input_config(d, VIO_INPUT_CFG_EV_BITS, (uint8_t) type, u,
						   sizeof(u))) < 0)
			return n;
		if (n == 0)
			continue;
		printf("  Event type %u (%s)\n", type, type_name(type));
		for (int code = 0; code < n * 8; code++) {
			struct vio_input_absinfo ai;
			uint8_t abs[VIO_INPUT_CFG_U_SIZE];
			int m;

			if (!(u[code / 8] & (1u << (code % 8))))
				continue;
			printf("    Event code %d\n", code);
			if (type != VIO_INPUT_EV_ABS)
				continue;
			m = vio_vmsg_drv_input_config(d, VIO_INPUT_CFG_ABS_INFO, (uint8_t) code,
						      abs, sizeof(abs));
			if (m < 0)
				return m;
			if (m < VIO_INPUT_ABSINFO_SIZE)
				continue;
			ai.min = (int32_t) vio_get_le32(abs);
			ai.max = (int32_t) vio_get_le32(abs + 4);
			ai.fuzz = (int32_t) vio_get_le32(abs + 8);
			ai.flat = (int32_t) vio_get_le32(abs + 12);
			ai.res = (int32_t) vio_get_le32(abs + 16);
			printf("      Min %d Max %d Fuzz %d Flat %d Resolution %d\n", ai.min,
			       ai.max, ai.fuzz, ai.flat, ai.res);
		}
	}
	n = vio_vmsg_drv_input_config(d, VIO_INPUT_CFG_PROP_BITS, 0, u, sizeof(u));
	if (n < 0)
		return n;
	printf("Properties:\n");
	for (int p = 0; p < n * 8; p++)
		if (u[p / 8] & (1u << (p % 8)))
			printf("  Property type %d\n", p);
	return 0;
}

/* input DEV [--count N] [--wait MS] [--led CODE=VALUE] */
int cmd_input(struct drv_ctx *c, int argc, char **argv)
{
	struct vio_vmsg_drv_dev *d;
	struct vio_input_event ev;
	struct cmd_opts co;
	uint64_t seen = 0;
	int rc;

	if ((rc = cmd_opts_parse(c, "input", argc - 1, argv + 1, OPT_COUNT | OPT_WAIT | OPT_LED,
				 &co)) != 0)
		return rc;
	if ((rc = device_up(c, argv[0], &drv_kind_input, 0)) != 0)
		return rc;
	d = &c->s->dev;
	if ((rc = print_config(d)) < 0)
		return fail("reading the config", rc);
	if (co.given & OPT_LED) {
		rc = vio_vmsg_drv_input_status(d, VIO_INPUT_EV_LED, co.led_code, co.led_value);
		if (rc < 0)
			return fail("sending the LED status", rc);
		printf("Set LED %u to %d\n", co.led_code, co.led_value);
	}
	if ((co.given & OPT_COUNT) && co.count == 0)
		return 0;
	for (unsigned i = 0; i < EVENT_BUFS; i++)
		if ((rc = vio_vmsg_drv_input_event_post(d)) < 0)
			return fail("event buffers", rc);
	printf("Testing ... (%s)\n", (co.given & OPT_COUNT) ? "until the count" : "until quiet");
	fflush(stdout);
	for (;;) {
		rc = vio_vmsg_drv_input_event_wait(d, &ev, co.wait_ms * 1000u);
		if (rc == -VIO_ETIMEDOUT)
			break;
		if (rc < 0)
			return fail("reading events", rc);
		if (ev.type == VIO_INPUT_EV_SYN && ev.code == VIO_INPUT_SYN_REPORT)
			printf("Event: -------------- SYN_REPORT ------------\n");
		else
			printf("Event: type %u (%s), code %u, value %d\n", ev.type,
			       type_name(ev.type), ev.code, ev.value);
		fflush(stdout);
		if ((rc = vio_vmsg_drv_input_event_post(d)) < 0)
			return fail("event buffers", rc);
		if ((co.given & OPT_COUNT) && ++seen >= co.count)
			return 0;
	}
	if (co.given & OPT_COUNT) {
		fprintf(stderr, "vioport-drv: input: %llu of %llu events within %u ms of quiet\n",
			(unsigned long long) seen, (unsigned long long) co.count, co.wait_ms);
		return 1;
	}
	return 0;
}
