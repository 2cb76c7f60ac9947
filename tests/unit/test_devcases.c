/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device cases of tests/lib (rng, gpio, i2c, blk; devcase.h) over the
 * loopback transport: each case on a fresh device on the simulated providers,
 * driver and device in this process. The same cases run over vhost-user
 * (tests/integration/test_devcases_vu.c) and virtio-msg (test_devcases_vmsg.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include "devcase.h"
#include "devcase_loopback.h"

static int close_device(void **state)
{
	(void) state;
	dc_loopback.close(dc_loopback.ctx);
	return 0;
}

int main(void)
{
	return dc_run_sets(&dc_loopback, "devcases_loopback", NULL, NULL, close_device, NULL);
}
