/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-rng cases: reads of several sizes and shapes are filled whole, and
 * a request with a device-readable part is given back empty (src/dev/rng.c).
 * The entropy differs per transport (simulated on loopback, getrandom on the
 * daemon), so the bytes are checked for not being a constant, not for values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include "devcase.h"
#include "vioport/virtio.h"

/* Reads s->arg bytes in one segment: all of them come back, and they are not all alike. */
static void read_n(const struct dc_transport *t, const struct dc_step *s)
{
	static uint8_t buf[8192];
	struct dc_seg in = {buf, s->arg};
	unsigned same = 0;

	assert_true(s->arg <= sizeof(buf));
	assert_int_equal(dc_request(t, 0, NULL, 0, &in, 1), s->arg);
	for (uint32_t i = 1; i < s->arg; i++)
		same += buf[i] == buf[0];
	if (s->arg >= 16 && same == s->arg - 1)
		fail_msg("%s: %u bytes of entropy all 0x%02x", t->name, (unsigned) s->arg, buf[0]);
}

/* Two segments of 64: both filled, the second not a copy of the first. */
static void two_segments(const struct dc_transport *t, const struct dc_step *s)
{
	static uint8_t a[64], b[64];
	struct dc_seg in[2] = {{a, sizeof(a)}, {b, sizeof(b)}};
	unsigned same = 0;

	(void) s;
	assert_int_equal(dc_request(t, 0, NULL, 0, in, 2), 128);
	for (unsigned i = 0; i < 64; i++)
		same += a[i] == b[i];
	assert_true(same < 64);
}

static const struct dc_step read_sizes[] = {
    {.what = "1 byte", .fn = read_n, .arg = 1},
    {.what = "16 bytes", .fn = read_n, .arg = 16},
    {.what = "512 bytes", .fn = read_n, .arg = 512},
    {.what = "4096 bytes", .fn = read_n, .arg = 4096},
};

static const struct dc_step read_two_segments[] = {
    {.what = "64 + 64 bytes", .fn = two_segments},
};

/* Any readable part makes the request malformed: used 0, nothing written. */
static const struct dc_step readable_refused[] = {
    {.what = "8 readable + 16 writable",
     .out = {DC_B(1, 2, 3, 4, 5, 6, 7, 8)},
     .nout = 1,
     .in = {16},
     .nin = 1,
     .used = 0,
     .expect = DC_B(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)},
    {.what = "readable only", .out = {DC_B(0xaa, 0xbb)}, .nout = 1, .used = 0},
    /* and the queue still serves a good request afterwards */
    {.what = "then 32 bytes", .fn = read_n, .arg = 32},
};

static const struct dc_case rng_cases[] = {
    DC_CASE("rng-read-sizes", DC_RNG, VIO_BIT(VIO_F_EVENT_IDX), read_sizes),
    DC_CASE("rng-two-segments", DC_RNG, 0, read_two_segments),
    DC_CASE("rng-readable-refused", DC_RNG, 0, readable_refused),
};

const struct dc_set dc_rng_set = {DC_RNG, "rng", rng_cases, DC_NSTEPS(rng_cases)};
