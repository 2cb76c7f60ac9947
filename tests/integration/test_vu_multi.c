/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One vioport process serving devices of several kinds: from a configuration
 * file (blk, rng, a simulated gpio chip and the simulated i2c bus, with a
 * control socket) and from groups on the command line separated by '+'. Each
 * device answers on its own socket with its own identity and data, the
 * control socket reaches the right simulation, and bad files and groups are
 * refused with the file's line or the group named. The daemon is
 * $VIOPORT_BIN; without it every case skips, saying so.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "itest.h"
#include "vioport/blk.h"
#include "vioport/byteorder.h"
#include "vioport/gpio.h"
#include "vioport/vhost_user_frontend.h"
#include "vioport/virtio.h"

#define WAIT_MS	   5000
#define DISK_BYTES (1u << 20)

static struct {
	char bin[IT_PATH];
	char dir[IT_PATH];
	const char *skip;
} T;

static struct vio_vu_fe fe;

#define BEGIN() IT_SKIP_IF(T.skip)

static int group_setup(void **state)
{
	const char *b = it_vioport_bin();

	(void) state;
	if (b == NULL) {
		T.skip = "no vioport daemon at $VIOPORT_BIN (build apps/vioport first): "
			 "multi-device cases skipped";
		return 0;
	}
	snprintf(T.bin, sizeof(T.bin), "%s", b);
	return it_tmpdir(T.dir, "multi") < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void) state;
	if (T.dir[0] != '\0')
		it_rmtree(T.dir);
	return 0;
}

static int teardown(void **state)
{
	(void) state;
	vio_vu_fe_close(&fe);
	return 0;
}

/* Writes text to dir/name and stores the path in out. */
static void write_file(char out[IT_PATH], const char *name, const char *text)
{
	FILE *f;

	assert_int_equal(it_path(out, T.dir, name), 0);
	f = fopen(out, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Connects to the device at path and brings it up with features (VERSION_1 added). */
static void start(const char *path, uint64_t features, uint16_t queues, uint32_t config_size)
{
	struct vio_vu_fe_params p = {
	    .features = features | VIO_BIT(VIO_F_VERSION_1),
	    .num_queues = queues,
	    .config_size = config_size,
	};
	int r = vio_vu_fe_start(&fe, path, &p);

	if (r != 0)
		fail_msg("start %s: %d (%s)", path, r, vio_vu_fe_error(&fe));
}

/* Sends one request on queue 0 (out bytes, then in bytes) and waits for it. */
static uint32_t request(const void *out, uint32_t out_len, void *in, uint32_t in_len)
{
	struct vio_buf b[2];
	unsigned nout = 0;
	uint64_t gpa_out = 0, gpa_in = 0;
	uint8_t *po = NULL, *pi;
	void *tok;
	uint32_t len;

	if (out_len > 0) {
		po = vio_vu_fe_alloc(&fe, out_len, 64, &gpa_out);
		assert_non_null(po);
		memcpy(po, out, out_len);
		b[nout++] = (struct vio_buf){gpa_out, out_len};
	}
	pi = vio_vu_fe_alloc(&fe, in_len, 64, &gpa_in);
	assert_non_null(pi);
	b[nout] = (struct vio_buf){gpa_in, in_len};
	assert_int_equal(vio_vu_fe_add(&fe, 0, b, nout, &b[nout], 1, (void *) 1), 0);
	assert_true(vio_vu_fe_kick(&fe, 0) >= 0);
	assert_int_equal(vio_vu_fe_wait_used(&fe, 0, &tok, &len, WAIT_MS), 1);
	assert_ptr_equal(tok, (void *) 1);
	memcpy(in, pi, len < in_len ? len : in_len);
	return len;
}

/* virtio-gpio GET_VALUE of line on the device fe is connected to: the response bytes. */
static void gpio_get(uint16_t line, uint8_t resp[2])
{
	uint8_t req[VIO_GPIO_REQ_SIZE] = {0};

	vio_put_le16(req, VIO_GPIO_MSG_GET_VALUE);
	vio_put_le16(req + 2, line);
	assert_int_equal(request(req, sizeof(req), resp, VIO_GPIO_RESP_SIZE), VIO_GPIO_RESP_SIZE);
}

/* Starts the daemon with argv, waiting for sock; fails the case if it does not come up. */
static void run(struct it_proc *p, char *const argv[], const char *sock)
{
	snprintf(p->sock, sizeof(p->sock), "%s", sock);
	assert_int_equal(it_path(p->log, T.dir, "vioport.log"), 0);
	if (it_start(p, argv, 10000) < 0)
		fail_msg("the daemon did not start");
}

/* Runs the daemon with argv to its end and returns its exit status; its log in log. */
static int run_to_end(char *const argv[], char *log, size_t cap)
{
	struct it_proc p = {0};
	FILE *f;
	size_t got;
	int st = -1;

	assert_int_equal(it_path(p.log, T.dir, "refused.log"), 0);
	assert_int_equal(it_spawn(&p, argv, -1, -1), 0);
	st = it_wait_exit(&p, WAIT_MS);
	f = fopen(p.log, "r");
	assert_non_null(f);
	got = fread(log, 1, cap - 1, f);
	log[got] = '\0';
	fclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void multi_config_file(void **state)
{
	char conf[IT_PATH], img[IT_PATH], sblk[IT_PATH], srng[IT_PATH], sgpio[IT_PATH];
	char si2c[IT_PATH], ctl[IT_PATH], text[2048], reply[1024];
	struct it_proc p = {0};
	uint8_t cfg[VIO_BLK_CONFIG_SIZE], resp[2], entropy[64];
	bool sanitizer = false;
	int st;

	(void) state;
	BEGIN();
	assert_int_equal(it_path(img, T.dir, "disk.img"), 0);
	assert_int_equal(it_make_image(img, DISK_BYTES), 0);
	assert_int_equal(it_path(sblk, T.dir, "blk.sock"), 0);
	assert_int_equal(it_path(srng, T.dir, "rng.sock"), 0);
	assert_int_equal(it_path(sgpio, T.dir, "gpio.sock"), 0);
	assert_int_equal(it_path(si2c, T.dir, "i2c.sock"), 0);
	assert_int_equal(it_path(ctl, T.dir, "ctl.sock"), 0);
	snprintf(text, sizeof(text),
		 "# every kind of device in one process\n"
		 "log-level = info\n"
		 "control = %s\n"
		 "\n"
		 "[rng]\n"
		 "socket-path = %s\n"
		 "[gpio]\n"
		 "socket-path = %s   # a simulated chip\n"
		 "device-list = s4\n"
		 "[ i2c ]\n"
		 "socket-path=%s\n"
		 "device-list=sim\n"
		 "[blk]\n"
		 "socket-path = %s\n"
		 "image = %s\n"
		 "read-only\n"
		 "serial = multi-disk\n",
		 ctl, srng, sgpio, si2c, sblk, img);
	write_file(conf, "vioport.conf", text);
	{
		char *argv[] = {T.bin, "--config", conf, NULL};

		run(&p, argv, sblk); /* the last device's socket: every one is up then */
	}

	/* rng answers with entropy. */
	start(srng, 0, 1, 0);
	assert_int_equal(fe.features_offered & 0xffffffull, 0);
	assert_true(request(NULL, 0, entropy, sizeof(entropy)) >= 1);
	vio_vu_fe_close(&fe);

	/* gpio: a 4-line chip whose input the control socket drives. */
	start(sgpio, 0, 1, VIO_GPIO_CONFIG_SIZE);
	assert_int_equal(vio_get_le16(fe.config + VIO_GPIO_CFG_NGPIO), 4);
	assert_int_equal(it_control(ctl, "gpio set 2 1", reply, sizeof(reply), WAIT_MS), 0);
	assert_string_equal(reply, "ok");
	gpio_get(2, resp);
	assert_int_equal(resp[0], VIO_GPIO_STATUS_OK);
	assert_int_equal(resp[1], 1);
	gpio_get(4, resp);
	assert_int_equal(resp[0], VIO_GPIO_STATUS_ERR);
	vio_vu_fe_close(&fe);

	/* i2c: the simulated bus, offering ZERO_LENGTH_REQUEST. */
	start(si2c, VIO_BIT(0), 1, 0);
	assert_true(vio_vu_fe_has(&fe, 0));
	vio_vu_fe_close(&fe);

	/* blk: the read-only image with its serial. */
	start(sblk, VIO_BIT(VIO_BLK_F_RO), 1, VIO_BLK_CONFIG_SIZE);
	assert_true(vio_vu_fe_has(&fe, VIO_BLK_F_RO));
	memcpy(cfg, fe.config, sizeof(cfg));
	assert_int_equal(vio_get_le64(cfg + VIO_BLK_CFG_CAPACITY), DISK_BYTES / 512);
	vio_vu_fe_close(&fe);

	/* The control socket names devices by kind and number. */
	assert_int_equal(it_control(ctl, "i2c temp 31500", reply, sizeof(reply), WAIT_MS), 0);
	assert_string_equal(reply, "ok");
	assert_int_equal(it_control(ctl, "i2c0 eeprom-dump", reply, sizeof(reply), WAIT_MS), 0);
	assert_memory_equal(reply, "ok ffff", 7);
	assert_int_equal(it_control(ctl, "gpio1 get 0", reply, sizeof(reply), WAIT_MS), 0);
	assert_string_equal(reply, "error no gpio1 (0 to 0)");
	assert_int_equal(it_control(ctl, "i2c1 temp 0", reply, sizeof(reply), WAIT_MS), 0);
	assert_string_equal(reply, "error no i2c1 (0 to 0)");

	st = it_stop(&p, WAIT_MS, &sanitizer);
	assert_false(sanitizer);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void multi_command_line_groups(void **state)
{
	char s0[IT_PATH], s1[IT_PATH], ctl[IT_PATH], reply[128];
	struct it_proc p = {0};
	uint8_t resp[2];
	bool sanitizer = false;
	int st;

	(void) state;
	BEGIN();
	assert_int_equal(it_path(s0, T.dir, "g.sock"), 0);
	assert_int_equal(it_path(s1, T.dir, "r.sock"), 0);
	assert_int_equal(it_path(ctl, T.dir, "g.ctl"), 0);
	{
		/* Two gpio chips on g.sock0 and g.sock1, then rng: three devices, two groups. */
		char *argv[] = {T.bin,
				"gpio",
				"--socket-path",
				s0,
				"-c",
				"2",
				"--device-list",
				"s3:s5",
				"--control",
				ctl,
				"+",
				"rng",
				"-s",
				s1,
				NULL};

		run(&p, argv, s1);
	}
	{
		char path[IT_PATH + 2];

		snprintf(path, sizeof(path), "%s1", s0);
		start(path, 0, 1, VIO_GPIO_CONFIG_SIZE);
		assert_int_equal(vio_get_le16(fe.config + VIO_GPIO_CFG_NGPIO), 5);
		assert_int_equal(it_control(ctl, "gpio1 set 4 1", reply, sizeof(reply), WAIT_MS),
				 0);
		assert_string_equal(reply, "ok");
		gpio_get(4, resp);
		assert_int_equal(resp[1], 1);
		vio_vu_fe_close(&fe);
		snprintf(path, sizeof(path), "%s0", s0);
		start(path, 0, 1, VIO_GPIO_CONFIG_SIZE);
		assert_int_equal(vio_get_le16(fe.config + VIO_GPIO_CFG_NGPIO), 3);
		vio_vu_fe_close(&fe);
	}
	start(s1, 0, 1, 0);
	vio_vu_fe_close(&fe);
	st = it_stop(&p, WAIT_MS, &sanitizer);
	assert_false(sanitizer);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void multi_refusals(void **state)
{
	char conf[IT_PATH], log[4096];
	char *argv[] = {T.bin, "--config", conf, NULL};

	(void) state;
	BEGIN();
	/* An unknown option names the file and line. */
	write_file(conf, "bad1.conf", "[rng]\nsocket-path = /tmp/x\nbogus = 1\n");
	assert_int_equal(run_to_end(argv, log, sizeof(log)), 2);
	assert_non_null(strstr(log, "bad1.conf:3: unknown option 'bogus'"));
	/* An option outside any section that belongs to a device. */
	write_file(conf, "bad2.conf", "socket-path = /tmp/x\n[rng]\n");
	assert_int_equal(run_to_end(argv, log, sizeof(log)), 2);
	assert_non_null(strstr(log, "bad2.conf:1: this option belongs to a device"));
	/* A section of an unknown device. */
	write_file(conf, "bad3.conf", "\n[toaster]\n");
	assert_int_equal(run_to_end(argv, log, sizeof(log)), 2);
	assert_non_null(strstr(log, "bad3.conf:2: unknown device 'toaster'"));
	/* Two groups on one socket: the second names the first. */
	write_file(conf, "bad4.conf",
		   "[rng]\nsocket-path = /tmp/s\n[gpio]\nsocket-path = /tmp/s\n"
		   "device-list = s2\n");
	assert_int_equal(run_to_end(argv, log, sizeof(log)), 2);
	assert_non_null(strstr(log, "bad4.conf:3: socket path '/tmp/s' is used by"));
	/* A flag given a value, a value missing. */
	write_file(conf, "bad5.conf", "[blk]\nread-only = yes\n");
	assert_int_equal(run_to_end(argv, log, sizeof(log)), 2);
	assert_non_null(strstr(log, "bad5.conf:2: 'read-only' takes no value"));
	write_file(conf, "bad6.conf", "[blk]\nimage =\n");
	assert_int_equal(run_to_end(argv, log, sizeof(log)), 2);
	assert_non_null(strstr(log, "bad6.conf:2: 'image' needs a value"));
	/* A missing file. */
	assert_int_equal(it_path(conf, T.dir, "missing.conf"), 0);
	assert_int_equal(run_to_end(argv, log, sizeof(log)), 1);
	assert_non_null(strstr(log, "cannot read the configuration file"));
	/* An option of another kind of device, in a section and on the command line, even
	 * when it comes before the device's name. */
	write_file(conf, "bad7.conf", "[gpio]\nsocket-path = /tmp/x\neeprom-file = /tmp/e\n");
	assert_int_equal(run_to_end(argv, log, sizeof(log)), 2);
	assert_non_null(strstr(log, "bad7.conf:3: option 'eeprom-file' does not apply to gpio"));
	{
		char *a1[] = {T.bin, "rng", "-s", "/tmp/x", "--image", "/tmp/i", NULL};
		char *a2[] = {T.bin, "-l", "s2", "-s", "/tmp/x", "rng", NULL};

		assert_int_equal(run_to_end(a1, log, sizeof(log)), 2);
		assert_non_null(strstr(log, "option '--image' does not apply to rng"));
		assert_int_equal(run_to_end(a2, log, sizeof(log)), 2);
		assert_non_null(strstr(log, "option '--device-list' does not apply to rng"));
	}
	/* Command-line groups: a dangling '+', a second device without '+'. */
	{
		char *a1[] = {T.bin, "rng", "-s", "/tmp/x", "+", NULL};
		char *a2[] = {T.bin, "rng", "-s", "/tmp/x", "gpio", NULL};

		assert_int_equal(run_to_end(a1, log, sizeof(log)), 2);
		assert_non_null(strstr(log, "'+' must be followed by another device"));
		assert_int_equal(run_to_end(a2, log, sizeof(log)), 2);
		assert_non_null(strstr(log, "one device per group"));
	}
}

/* The daemon reports the project's version, the one meson.build declares. */
static void multi_version(void **state)
{
	char log[4096];
	char *argv[] = {T.bin, "--version", NULL};

	(void) state;
	BEGIN();
	assert_int_equal(run_to_end(argv, log, sizeof(log)), 0);
	assert_string_equal(log, "vioport " VIOPORT_PROJECT_VERSION "\n");
}

/* --help after a device shows that kind's options only; alone, every kind's. */
static void multi_kind_help(void **state)
{
	static char log[16384];
	char *all[] = {T.bin, "--help", NULL};
	char *blk[] = {T.bin, "blk", "--help", NULL};
	char *gpio[] = {T.bin, "gpio", "-h", NULL};
	char *i2c[] = {T.bin, "--eeprom-file", "/tmp/e", "i2c", "--help", NULL};

	(void) state;
	BEGIN();
	assert_int_equal(run_to_end(all, log, sizeof(log)), 0);
	assert_non_null(strstr(log, "blk options:"));
	assert_non_null(strstr(log, "gpio options:"));
	assert_non_null(strstr(log, "i2c options:"));
	assert_non_null(strstr(log, "Exit status:"));
	assert_int_equal(run_to_end(blk, log, sizeof(log)), 0);
	assert_non_null(strstr(log, "usage: vioport blk "));
	assert_non_null(strstr(log, "--num-queues N"));
	assert_non_null(strstr(log, "--socket-path PATH"));
	assert_null(strstr(log, "gpio options:"));
	assert_null(strstr(log, "i2c options:"));
	assert_null(strstr(log, "Control socket commands"));
	assert_int_equal(run_to_end(gpio, log, sizeof(log)), 0);
	assert_non_null(strstr(log, "gpio options:"));
	assert_non_null(strstr(log, "Control socket commands"));
	assert_non_null(strstr(log, "gpio[N] set LINE 0|1"));
	assert_null(strstr(log, "i2c[N]"));
	assert_null(strstr(log, "blk options:"));
	assert_null(strstr(log, "i2c options:"));
	/* An option before the device's name does not hide the device's help. */
	assert_int_equal(run_to_end(i2c, log, sizeof(log)), 0);
	assert_non_null(strstr(log, "usage: vioport i2c "));
	assert_non_null(strstr(log, "--eeprom-file FILE"));
	assert_non_null(strstr(log, "i2c[N] temp MILLICELSIUS"));
	assert_null(strstr(log, "gpio[N]"));
	assert_null(strstr(log, "gpio options:"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(multi_config_file, teardown),
	    cmocka_unit_test_teardown(multi_command_line_groups, teardown),
	    cmocka_unit_test_teardown(multi_refusals, teardown),
	    cmocka_unit_test(multi_version),
	    cmocka_unit_test(multi_kind_help),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
