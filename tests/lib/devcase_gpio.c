/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-gpio cases on a simulated chip of DC_GPIO_LINES lines with the
 * default names: config and line names, direction, value, and what the device
 * refuses with VIO_GPIO_STATUS_ERR (a line it does not have, a direction that
 * does not exist, a request or response of the wrong size; src/dev/gpio.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h> /* after the headers it needs */

#include "devcase.h"
#include "vioport/byteorder.h"
#include "vioport/gpio.h"

#define OK  VIO_GPIO_STATUS_OK
#define ERR VIO_GPIO_STATUS_ERR
/* One requestq request: type, line, value. */
#define REQ(type, line, value) DC_B(DC_LE16(VIO_GPIO_MSG_##type), DC_LE16(line), DC_LE32(value))
/* A request whose response is status then value. */
#define STEP(w, type, line, value, st, v)                                                          \
	{                                                                                          \
		.what = w, .out = {REQ(type, line, value)}, .nout = 1, .in = {VIO_GPIO_RESP_SIZE}, \
		.nin = 1, .used = VIO_GPIO_RESP_SIZE, .expect = DC_B(st, v)                        \
	}

/* "sim-gpio-0" .. "sim-gpio-7", each with its NUL */
#define NAMES_SIZE (DC_GPIO_LINES * 11u)

/* Config: the line count and the names' size; then the names, with one request. */
static void config_and_names(const struct dc_transport *t, const struct dc_step *s)
{
	static uint8_t names[NAMES_SIZE + 1];
	uint8_t cfg[VIO_GPIO_CONFIG_SIZE];
	uint8_t req[VIO_GPIO_REQ_SIZE] = {VIO_GPIO_MSG_GET_LINE_NAMES};
	struct dc_seg out = {req, sizeof(req)}, in = {names, sizeof(names)};
	const char *p = (const char *) names + 1;

	(void) s;
	assert_int_equal(t->config_read(t->ctx, 0, cfg, sizeof(cfg)), 0);
	assert_int_equal(vio_get_le16(cfg + VIO_GPIO_CFG_NGPIO), DC_GPIO_LINES);
	assert_int_equal(vio_get_le32(cfg + VIO_GPIO_CFG_NAMES_SIZE), NAMES_SIZE);
	assert_int_equal(dc_request(t, VIO_GPIO_REQUESTQ, &out, 1, &in, 1), NAMES_SIZE + 1);
	assert_int_equal(names[0], OK);
	for (unsigned l = 0; l < DC_GPIO_LINES; l++) {
		char want[16];

		snprintf(want, sizeof(want), "sim-gpio-%u", l);
		assert_string_equal(p, want);
		p += strlen(p) + 1;
	}
}

static const struct dc_step names[] = {
    {.what = "config and names", .fn = config_and_names},
    /* a names buffer of the wrong size is refused, with the status where it fits */
    {.what = "names, short buffer",
     .out = {REQ(GET_LINE_NAMES, 0, 0)},
     .nout = 1,
     .in = {VIO_GPIO_RESP_SIZE},
     .nin = 1,
     .used = VIO_GPIO_RESP_SIZE,
     .expect = DC_B(ERR, 0)},
};

static const struct dc_step direction[] = {
    STEP("line 2 out", SET_DIRECTION, 2, VIO_GPIO_DIRECTION_OUT, OK, 0),
    STEP("line 2 is out", GET_DIRECTION, 2, 0, OK, VIO_GPIO_DIRECTION_OUT),
    STEP("line 2 in", SET_DIRECTION, 2, VIO_GPIO_DIRECTION_IN, OK, 0),
    STEP("line 2 is in", GET_DIRECTION, 2, 0, OK, VIO_GPIO_DIRECTION_IN),
    STEP("direction 7 refused", SET_DIRECTION, 2, 7, ERR, 0),
    STEP("line 2 still in", GET_DIRECTION, 2, 0, OK, VIO_GPIO_DIRECTION_IN),
};

static const struct dc_step value[] = {
    STEP("line 3 out", SET_DIRECTION, 3, VIO_GPIO_DIRECTION_OUT, OK, 0),
    STEP("line 3 high", SET_VALUE, 3, 1, OK, 0),
    STEP("line 3 reads high", GET_VALUE, 3, 0, OK, 1),
    STEP("line 3 low", SET_VALUE, 3, 0, OK, 0),
    STEP("line 3 reads low", GET_VALUE, 3, 0, OK, 0),
    STEP("line 7 out", SET_DIRECTION, 7, VIO_GPIO_DIRECTION_OUT, OK, 0),
    STEP("line 7 high", SET_VALUE, 7, 1, OK, 0),
    STEP("line 7 reads high", GET_VALUE, 7, 0, OK, 1),
    STEP("line 3 still low", GET_VALUE, 3, 0, OK, 0),
    STEP("line 7 low again", SET_VALUE, 7, 0, OK, 0),
};

static const struct dc_step bad_line[] = {
    STEP("get line 8", GET_VALUE, DC_GPIO_LINES, 0, ERR, 0),
    STEP("set line 8", SET_VALUE, DC_GPIO_LINES, 1, ERR, 0),
    STEP("direction of line 200", SET_DIRECTION, 200, VIO_GPIO_DIRECTION_OUT, ERR, 0),
    STEP("get line 0xffff", GET_DIRECTION, 0xffff, 0, ERR, 0),
    STEP("unknown request type", SET_IRQ_TYPE + 10, 0, 0, ERR, 0),
};

static const struct dc_step bad_shape[] = {
    {.what = "4-byte request",
     .out = {DC_B(DC_LE16(VIO_GPIO_MSG_GET_VALUE), DC_LE16(0))},
     .nout = 1,
     .in = {VIO_GPIO_RESP_SIZE},
     .nin = 1,
     .used = VIO_GPIO_RESP_SIZE,
     .expect = DC_B(ERR, 0)},
    {.what = "3-byte response",
     .out = {REQ(GET_VALUE, 0, 0)},
     .nout = 1,
     .in = {3},
     .nin = 1,
     .used = VIO_GPIO_RESP_SIZE,
     .expect = DC_B(ERR, 0, 0)},
    STEP("then a good one", SET_DIRECTION, 0, VIO_GPIO_DIRECTION_IN, OK, 0),
};

static const struct dc_case gpio_cases[] = {
    DC_CASE("gpio-names", DC_GPIO, 0, names),
    DC_CASE("gpio-direction", DC_GPIO, 0, direction),
    DC_CASE("gpio-value", DC_GPIO, 0, value),
    DC_CASE("gpio-bad-line", DC_GPIO, 0, bad_line),
    DC_CASE("gpio-bad-shape", DC_GPIO, 0, bad_shape),
};

const struct dc_set dc_gpio_set = {DC_GPIO, "gpio", gpio_cases, DC_NSTEPS(gpio_cases)};
