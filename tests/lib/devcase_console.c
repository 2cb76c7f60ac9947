/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-console cases on port 0 of the simulation's echo port (what the
 * driver writes on the transmitq comes back on the receiveq): bytes come back
 * whole and in order across segments and buffers, transmit buffers go back
 * with length 0, and malformed buffers are given back unused without their
 * bytes reaching the port (src/dev/console.c). Each case reads back all it
 * wrote, so the port is empty for the next one on a daemon.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include "devcase.h"
#include "vioport/console.h"
#include "vioport/virtio.h"

#define RXQ VIO_CONSOLE_RXQ0
#define TXQ VIO_CONSOLE_TXQ0

static const struct dc_step echo[] = {
    {.what = "write hello",
     .queue = TXQ,
     .out = {DC_B('h', 'e', 'l', 'l', 'o')},
     .nout = 1,
     .used = 0},
    {.what = "read it back",
     .queue = RXQ,
     .in = {16},
     .nin = 1,
     .used = 5,
     .expect = DC_B('h', 'e', 'l', 'l', 'o', 0)},
};

/* Segments on both sides: the bytes run on from one to the next. */
static const struct dc_step echo_segments[] = {
    {.what = "write ab + cde",
     .queue = TXQ,
     .out = {DC_B('a', 'b'), DC_B('c', 'd', 'e')},
     .nout = 2,
     .used = 0},
    {.what = "read into 3 + 8",
     .queue = RXQ,
     .in = {3, 8},
     .nin = 2,
     .used = 5,
     .expect = DC_B('a', 'b', 'c', 'd', 'e', 0)},
};

/* A receive buffer smaller than what waits: filled whole, the rest goes to the next. */
static const struct dc_step echo_split[] = {
    {.what = "write 0..9",
     .queue = TXQ,
     .out = {DC_B('0', '1', '2', '3', '4', '5', '6', '7', '8', '9')},
     .nout = 1,
     .used = 0},
    {.what = "read 4",
     .queue = RXQ,
     .in = {4},
     .nin = 1,
     .used = 4,
     .expect = DC_B('0', '1', '2', '3')},
    {.what = "read the other 6",
     .queue = RXQ,
     .in = {16},
     .nin = 1,
     .used = 6,
     .expect = DC_B('4', '5', '6', '7', '8', '9', 0)},
};

/* A transmit buffer with a writable part: given back unused, its bytes never sent. */
static const struct dc_step tx_writable_refused[] = {
    {.what = "write xx with 4 writable",
     .queue = TXQ,
     .out = {DC_B('x', 'x')},
     .nout = 1,
     .in = {4},
     .nin = 1,
     .used = 0,
     .expect = DC_B(0, 0, 0, 0)},
    {.what = "write ok", .queue = TXQ, .out = {DC_B('o', 'k')}, .nout = 1, .used = 0},
    /* only ok comes back */
    {.what = "read",
     .queue = RXQ,
     .in = {8},
     .nin = 1,
     .used = 2,
     .expect = DC_B('o', 'k', 0, 0, 0, 0, 0, 0)},
};

/* A receive buffer with a readable part: given back unused at once. */
static const struct dc_step rx_readable_refused[] = {
    {.what = "1 readable + 8 writable",
     .queue = RXQ,
     .out = {DC_B(0xaa)},
     .nout = 1,
     .in = {8},
     .nin = 1,
     .used = 0,
     .expect = DC_B(0, 0, 0, 0, 0, 0, 0, 0)},
    /* and the port still works */
    {.what = "write z", .queue = TXQ, .out = {DC_B('z')}, .nout = 1, .used = 0},
    {.what = "read z", .queue = RXQ, .in = {8}, .nin = 1, .used = 1, .expect = DC_B('z', 0)},
};

static const struct dc_case console_cases[] = {
    DC_CASE("console-echo", DC_CONSOLE, VIO_BIT(VIO_F_EVENT_IDX), echo),
    DC_CASE("console-echo-segments", DC_CONSOLE, 0, echo_segments),
    DC_CASE("console-echo-split", DC_CONSOLE, 0, echo_split),
    DC_CASE("console-tx-writable-refused", DC_CONSOLE, 0, tx_writable_refused),
    DC_CASE("console-rx-readable-refused", DC_CONSOLE, 0, rx_readable_refused),
};

const struct dc_set dc_console_set = {DC_CONSOLE, "console", console_cases,
				      DC_NSTEPS(console_cases)};
