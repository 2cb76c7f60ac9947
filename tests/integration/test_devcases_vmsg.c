/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device cases of tests/lib (rng, gpio, i2c, blk; devcase.h) over
 * virtio-msg: one vioport daemon serves the four devices on one window file
 * (--transport vmsg, eventfd doorbell) on their simulated providers (gpio
 * s8, i2c sim, blk on a temporary image of the cases' pattern), and this
 * program is the driver, through the driver library. The same cases run over
 * the loopback (tests/unit/test_devcases.c) and vhost-user
 * (test_devcases_vu.c). The daemon is $VIOPORT_BIN; without it every case
 * skips, saying so. At the end the daemon must stop cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "devcase.h"
#include "devcase_posix.h"
#include "itest.h"

#define WIN_SIZE (4u << 20)

static struct {
	char dir[IT_PATH];
	char bin[IT_PATH];
	char img[IT_PATH], win[IT_PATH], ctl[IT_PATH], bell[IT_PATH], conf[IT_PATH];
	char doorbell[IT_PATH + 8];
	struct it_proc proc;
	const char *skip;
} T;

/* Writes the configuration: the groups in dc_kind order, so device number = kind. */
static int write_conf(void)
{
	FILE *f = fopen(T.conf, "w");

	if (f == NULL)
		return -1;
	fprintf(f,
		"control = %s\n"
		"[rng]\ntransport = vmsg\nshm = %s\nshm-size = %u\ndoorbell = %s\n"
		"[gpio]\ntransport = vmsg\nshm = %s\ndevice-list = s8\n"
		"[i2c]\ntransport = vmsg\nshm = %s\ndevice-list = sim\n"
		"[blk]\ntransport = vmsg\nshm = %s\nimage = %s\nserial = %s\n"
		"[console]\ntransport = vmsg\nshm = %s\nsim = echo\n",
		T.ctl, T.win, WIN_SIZE, T.doorbell, T.win, T.win, T.win, T.img, DC_BLK_SERIAL,
		T.win);
	return fclose(f) == 0 ? 0 : -1;
}

static int group_setup(void **state)
{
	static const uint16_t dev_num[DC_NKINDS] = {
	    [DC_RNG] = 0, [DC_GPIO] = 1, [DC_I2C] = 2, [DC_BLK] = 3, [DC_CONSOLE] = 4};
	const char *b = it_vioport_bin();
	char err[256];

	(void) state;
	if (b == NULL) {
		T.skip = "no vioport daemon at $VIOPORT_BIN (build apps/vioport first): device "
			 "cases over virtio-msg skipped";
		return 0;
	}
	snprintf(T.bin, sizeof(T.bin), "%s", b);
	if (it_tmpdir(T.dir, "devcases-vmsg") < 0 || it_path(T.img, T.dir, "disk.img") < 0 ||
	    it_path(T.win, T.dir, "window") < 0 || it_path(T.ctl, T.dir, "ctl.sock") < 0 ||
	    it_path(T.bell, T.dir, "bell.sock") < 0 || it_path(T.conf, T.dir, "vioport.conf") < 0 ||
	    it_path(T.proc.log, T.dir, "vioport.log") < 0 || it_make_image(T.img, DC_BLK_BYTES) < 0)
		return -1;
	snprintf(T.doorbell, sizeof(T.doorbell), "eventfd:%s", T.bell);
	if (write_conf() < 0)
		return -1;
	/* the control socket is up once the daemon has set everything up */
	snprintf(T.proc.sock, sizeof(T.proc.sock), "%s", T.ctl);
	{
		char *argv[] = {T.bin, "--config", T.conf, NULL};

		if (it_start(&T.proc, argv, DC_WAIT_MS) < 0) {
			T.skip = "the vioport daemon did not start: device cases over virtio-msg "
				 "skipped";
			return 0;
		}
	}
	if (dc_vmsg_attach(T.win, T.doorbell, dev_num, err, sizeof(err)) < 0) {
		print_message("# driver open: %s\n", err);
		it_print_log(T.proc.log, 30);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	bool sanitizer = false;
	int st, rc = 0;

	(void) state;
	dc_vmsg_detach();
	if (T.proc.pid > 0) {
		st = it_stop(&T.proc, DC_WAIT_MS, &sanitizer);
		if (sanitizer || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			it_print_log(T.proc.log, 30);
			print_message("# the daemon did not end cleanly (status %d%s)\n", st,
				      sanitizer ? ", sanitizer report" : "");
			rc = -1;
		}
	}
	if (T.dir[0] != '\0')
		it_rmtree(T.dir);
	return rc;
}

static int case_teardown(void **state)
{
	(void) state;
	dc_vmsg.close(dc_vmsg.ctx);
	return it_daemon_lives(&T.proc, &T.skip);
}

int main(void)
{
	return dc_run_sets(&dc_vmsg, "devcases_virtio_msg", group_setup, group_teardown,
			   case_teardown, &T.skip);
}
