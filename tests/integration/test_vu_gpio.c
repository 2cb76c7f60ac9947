/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport's daemon serving a simulated GPIO chip (`vioport gpio --device-list
 * s8 --control PATH`), driven through the frontend with requests built by
 * hand: config and line names, values the driver sets seen on the control
 * socket, inputs driven there seen by the driver, an edge injected with
 * `gpio set` delivered on the eventq, and a clean exit.
 * The daemon is $VIOPORT_BIN; without it every case skips, saying so.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "itest.h"
#include "vioport/gpio.h"
#include "vioport/vhost_user_frontend.h"
#include "vioport/virtio.h"

#define WAIT_MS	 5000
#define NLINES	 8
#define FEATURES (VIO_BIT(VIO_F_VERSION_1) | VIO_BIT(VIO_F_EVENT_IDX) | VIO_BIT(VIO_GPIO_F_IRQ))

static struct {
	char dir[IT_PATH];
	char ctl[IT_PATH];
	struct it_proc proc;
	const char *skip;
} T;

static struct vio_vu_fe fe;

#define BEGIN() IT_SKIP_IF(T.skip)

static int group_setup(void **state)
{
	const char *b = it_vioport_bin();
	static char bin[IT_PATH];
	char *argv[] = {bin,  "gpio",	   "--socket-path", T.proc.sock, "--device-list",
			"s8", "--control", T.ctl,	    NULL};

	(void) state;
	if (b == NULL) {
		T.skip = "no vioport daemon at $VIOPORT_BIN (build apps/vioport first): vioport "
			 "gpio cases skipped";
		return 0;
	}
	snprintf(bin, sizeof(bin), "%s", b);
	if (it_tmpdir(T.dir, "gpio") < 0 || it_path(T.proc.sock, T.dir, "gpio.sock") < 0 ||
	    it_path(T.ctl, T.dir, "ctl.sock") < 0 || it_path(T.proc.log, T.dir, "vioport.log") < 0)
		return -1;
	if (it_start(&T.proc, argv, 10000) < 0)
		T.skip = "the vioport daemon did not start: vioport gpio cases skipped";
	return 0;
}

static int group_teardown(void **state)
{
	(void) state;
	it_finish(&T.proc, T.dir);
	return 0;
}

static int teardown(void **state)
{
	(void) state;
	vio_vu_fe_close(&fe);
	return it_daemon_lives(&T.proc, &T.skip);
}

/* Connects as a driver with both queues and the config space read. */
static void start(void)
{
	struct vio_vu_fe_params p = {
	    .features = FEATURES, .num_queues = 2, .config_size = VIO_GPIO_CONFIG_SIZE};
	int r = vio_vu_fe_start(&fe, T.proc.sock, &p);

	if (r != 0)
		fail_msg("start: %d (%s)", r, vio_vu_fe_error(&fe));
}

/* One control command that must succeed; its reply, "ok" stripped, goes to out. */
static void control(const char *cmd, char *out, size_t cap)
{
	it_control_ok(T.ctl, cmd, out, cap);
}

/*
 * One requestq request: type, line, value out; resp_len bytes back into resp.
 * Returns the status byte.
 */
static uint8_t gpio_req(uint16_t type, uint16_t line, uint32_t value, uint8_t *resp,
			uint32_t resp_len)
{
	uint64_t ogpa, igpa;
	uint8_t *o = vio_vu_fe_alloc(&fe, VIO_GPIO_REQ_SIZE, 64, &ogpa);
	uint8_t *i = vio_vu_fe_alloc(&fe, resp_len, 64, &igpa);
	struct vio_buf ob = {ogpa, VIO_GPIO_REQ_SIZE}, ib = {igpa, resp_len};
	void *tok;
	uint32_t len;

	assert_non_null(o);
	assert_non_null(i);
	o[0] = (uint8_t) type;
	o[1] = (uint8_t) (type >> 8);
	o[2] = (uint8_t) line;
	o[3] = (uint8_t) (line >> 8);
	for (int k = 0; k < 4; k++)
		o[4 + k] = (uint8_t) (value >> (8 * k));
	memset(i, 0xee, resp_len);
	assert_int_equal(vio_vu_fe_add(&fe, VIO_GPIO_REQUESTQ, &ob, 1, &ib, 1, o), 0);
	assert_true(vio_vu_fe_kick(&fe, VIO_GPIO_REQUESTQ) >= 0);
	assert_int_equal(vio_vu_fe_wait_used(&fe, VIO_GPIO_REQUESTQ, &tok, &len, WAIT_MS), 1);
	assert_ptr_equal(tok, o);
	assert_int_equal(len, resp_len);
	memcpy(resp, i, resp_len);
	vio_vu_fe_free(&fe, ogpa, VIO_GPIO_REQ_SIZE);
	vio_vu_fe_free(&fe, igpa, resp_len);
	return resp[0];
}

static void gpio_config_and_names(void **state)
{
	uint8_t cfg[VIO_GPIO_CONFIG_SIZE], names[256];
	uint32_t names_size;
	const char *p;

	(void) state;
	BEGIN();
	start();
	assert_true(vio_vu_fe_has(&fe, VIO_GPIO_F_IRQ));
	assert_int_equal(vio_vu_fe_get_config(&fe, 0, cfg, sizeof(cfg)), 0);
	assert_int_equal(cfg[0] | cfg[1] << 8, NLINES);
	names_size = (uint32_t) cfg[4] | (uint32_t) cfg[5] << 8;
	/* "sim-gpio-0" .. "sim-gpio-7", each with its NUL */
	assert_int_equal(names_size, NLINES * 11);
	assert_int_equal(gpio_req(VIO_GPIO_MSG_GET_LINE_NAMES, 0, 0, names, names_size + 1),
			 VIO_GPIO_STATUS_OK);
	p = (const char *) names + 1;
	for (int l = 0; l < NLINES; l++) {
		char want[16];

		snprintf(want, sizeof(want), "sim-gpio-%d", l);
		assert_string_equal(p, want);
		p += strlen(p) + 1;
	}
}

static void gpio_values(void **state)
{
	uint8_t r[VIO_GPIO_RESP_SIZE];
	char reply[256];

	(void) state;
	BEGIN();
	start();
	/* The driver drives line 1 high: the host sees it. */
	assert_int_equal(gpio_req(VIO_GPIO_MSG_SET_DIRECTION, 1, VIO_GPIO_DIRECTION_OUT, r, 2),
			 VIO_GPIO_STATUS_OK);
	assert_int_equal(gpio_req(VIO_GPIO_MSG_SET_VALUE, 1, 1, r, 2), VIO_GPIO_STATUS_OK);
	control("gpio get 1", reply, sizeof(reply));
	assert_string_equal(reply, "1 dir=out output=1 input=0 changes=1");
	assert_int_equal(gpio_req(VIO_GPIO_MSG_SET_VALUE, 1, 0, r, 2), VIO_GPIO_STATUS_OK);
	control("gpio get 1", reply, sizeof(reply));
	assert_string_equal(reply, "0 dir=out output=0 input=0 changes=2");
	/* The host drives input line 4: the driver reads it. */
	assert_int_equal(gpio_req(VIO_GPIO_MSG_SET_DIRECTION, 4, VIO_GPIO_DIRECTION_IN, r, 2),
			 VIO_GPIO_STATUS_OK);
	control("gpio set 4 1", NULL, 0);
	assert_int_equal(gpio_req(VIO_GPIO_MSG_GET_VALUE, 4, 0, r, 2), VIO_GPIO_STATUS_OK);
	assert_int_equal(r[1], 1);
	control("gpio set 4 0", NULL, 0);
	assert_int_equal(gpio_req(VIO_GPIO_MSG_GET_VALUE, 4, 0, r, 2), VIO_GPIO_STATUS_OK);
	assert_int_equal(r[1], 0);
	control("gpio list", reply, sizeof(reply));
	assert_non_null(strstr(reply, "sim-gpio-4=in:0"));
	assert_non_null(strstr(reply, "sim-gpio-1=out:0"));
	assert_int_equal(strncmp(reply, "8 ", 2), 0);
	/* A line the chip does not have is an error on both sides. */
	assert_int_equal(gpio_req(VIO_GPIO_MSG_GET_VALUE, NLINES, 0, r, 2), VIO_GPIO_STATUS_ERR);
	assert_int_equal(it_control(T.ctl, "gpio set 8 1", reply, sizeof(reply), WAIT_MS), 0);
	assert_int_equal(strncmp(reply, "error", 5), 0);
	assert_int_equal(it_control(T.ctl, "bogus", reply, sizeof(reply), WAIT_MS), 0);
	assert_int_equal(strncmp(reply, "error", 5), 0);
}

static void gpio_edge_irq(void **state)
{
	uint8_t r[VIO_GPIO_RESP_SIZE], *ev, *st;
	uint64_t ev_gpa, st_gpa;
	struct vio_buf ob, ib;
	void *tok;
	uint32_t len;

	(void) state;
	BEGIN();
	start();
	control("gpio set 2 0", NULL, 0);
	assert_int_equal(gpio_req(VIO_GPIO_MSG_SET_DIRECTION, 2, VIO_GPIO_DIRECTION_IN, r, 2),
			 VIO_GPIO_STATUS_OK);
	assert_int_equal(
	    gpio_req(VIO_GPIO_MSG_SET_IRQ_TYPE, 2, VIO_GPIO_IRQ_TYPE_EDGE_RISING, r, 2),
	    VIO_GPIO_STATUS_OK);
	/* Queuing the line's eventq buffer unmasks it. */
	ev = vio_vu_fe_alloc(&fe, VIO_GPIO_IRQ_REQ_SIZE, 64, &ev_gpa);
	st = vio_vu_fe_alloc(&fe, VIO_GPIO_IRQ_RESP_SIZE, 64, &st_gpa);
	assert_non_null(ev);
	assert_non_null(st);
	ev[0] = 2;
	*st = 0xee;
	ob = (struct vio_buf){ev_gpa, VIO_GPIO_IRQ_REQ_SIZE};
	ib = (struct vio_buf){st_gpa, VIO_GPIO_IRQ_RESP_SIZE};
	assert_int_equal(vio_vu_fe_add(&fe, VIO_GPIO_EVENTQ, &ob, 1, &ib, 1, ev), 0);
	assert_true(vio_vu_fe_kick(&fe, VIO_GPIO_EVENTQ) >= 0);
	/* Nothing happened on the line yet: the buffer stays with the device. */
	assert_int_equal(vio_vu_fe_wait_used(&fe, VIO_GPIO_EVENTQ, &tok, &len, 200), 0);
	/* A falling level is not what the line waits for either. */
	control("gpio set 2 0", NULL, 0);
	assert_int_equal(vio_vu_fe_wait_used(&fe, VIO_GPIO_EVENTQ, &tok, &len, 200), 0);
	control("gpio set 2 1", NULL, 0);
	assert_int_equal(vio_vu_fe_wait_used(&fe, VIO_GPIO_EVENTQ, &tok, &len, WAIT_MS), 1);
	assert_ptr_equal(tok, ev);
	assert_int_equal(len, VIO_GPIO_IRQ_RESP_SIZE);
	assert_int_equal(*st, VIO_GPIO_IRQ_STATUS_VALID);
}

static void gpio_clean_exit(void **state)
{
	(void) state;
	BEGIN();
	start();
	it_expect_clean_stop(&T.proc, &T.skip);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(gpio_config_and_names, teardown),
	    cmocka_unit_test_teardown(gpio_values, teardown),
	    cmocka_unit_test_teardown(gpio_edge_irq, teardown),
	    cmocka_unit_test_teardown(gpio_clean_exit, teardown),
	};

	return cmocka_run_group_tests_name("vhost-user-gpio: vioport daemon", tests, group_setup,
					   group_teardown);
}
