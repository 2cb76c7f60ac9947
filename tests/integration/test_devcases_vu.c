/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device cases of tests/lib (rng, gpio, i2c, blk; devcase.h) over
 * vhost-user: one vioport daemon serves the four devices on their simulated
 * providers (gpio s8, i2c sim, blk on a temporary image of the cases'
 * pattern), and each case connects the frontend to its device's socket.
 * The same cases run over the loopback (tests/unit/test_devcases.c) and
 * virtio-msg (test_devcases_vmsg.c). The daemon is $VIOPORT_BIN; without it
 * every case skips, saying so.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "devcase.h"
#include "devcase_posix.h"
#include "itest.h"

static struct {
	char dir[IT_PATH];
	char bin[IT_PATH];
	char img[IT_PATH];
	char sock[DC_NKINDS][IT_PATH];
	struct it_proc proc;
	const char *skip;
} T;

static int group_setup(void **state)
{
	static const char *const names[DC_NKINDS] = {"rng", "gpio", "i2c", "blk", "console"};
	const char *b = it_vioport_bin();

	(void) state;
	if (b == NULL) {
		T.skip = "no vioport daemon at $VIOPORT_BIN (build apps/vioport first): device "
			 "cases over vhost-user skipped";
		return 0;
	}
	snprintf(T.bin, sizeof(T.bin), "%s", b);
	if (it_tmpdir(T.dir, "devcases-vu") < 0 || it_path(T.img, T.dir, "disk.img") < 0 ||
	    it_path(T.proc.log, T.dir, "vioport.log") < 0 || it_make_image(T.img, DC_BLK_BYTES) < 0)
		return -1;
	for (unsigned k = 0; k < DC_NKINDS; k++) {
		char name[16];

		snprintf(name, sizeof(name), "%s.sock", names[k]);
		if (it_path(T.sock[k], T.dir, name) < 0)
			return -1;
		dc_vu_socket((enum dc_kind) k, T.sock[k]);
	}
	/* the blk group comes last: once its socket is up, all are */
	snprintf(T.proc.sock, sizeof(T.proc.sock), "%s", T.sock[DC_BLK]);
	{
		char *argv[] = {T.bin,
				"rng",
				"--socket-path",
				T.sock[DC_RNG],
				"+",
				"gpio",
				"--socket-path",
				T.sock[DC_GPIO],
				"--device-list",
				"s8",
				"+",
				"i2c",
				"--socket-path",
				T.sock[DC_I2C],
				"--device-list",
				"sim",
				"+",
				"console",
				"--socket-path",
				T.sock[DC_CONSOLE],
				"--sim",
				"echo",
				"+",
				"blk",
				"--socket-path",
				T.sock[DC_BLK],
				"--image",
				T.img,
				"--serial",
				DC_BLK_SERIAL,
				NULL};

		if (it_start(&T.proc, argv, DC_WAIT_MS) < 0)
			T.skip = "the vioport daemon did not start: device cases over vhost-user "
				 "skipped";
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void) state;
	dc_vu.close(dc_vu.ctx);
	it_finish(&T.proc, T.dir);
	return 0;
}

static int case_teardown(void **state)
{
	(void) state;
	dc_vu.close(dc_vu.ctx);
	return it_daemon_lives(&T.proc, &T.skip);
}

int main(void)
{
	return dc_run_sets(&dc_vu, "devcases_vhost_user", group_setup, group_teardown,
			   case_teardown, &T.skip);
}
