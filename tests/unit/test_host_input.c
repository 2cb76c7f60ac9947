/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Linux evdev provider of virtio-input without an input device: its
 * event pump fed struct input_event records through a pipe into a real
 * virtio-input device over the loopback transport (whole reports at
 * SYN_REPORT, records split across reads, SYN_DROPPED resync, reports too
 * long or with no room dropped whole, no driver, end of file), the ops
 * answering from an identity filled in by hand, status written back, a grab
 * the descriptor refuses, and the refusal of descriptors that are not evdev
 * devices. Passing a real evdev
 * device through needs /dev/input, which this test does not assume.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h> /* after the headers it needs */

#include "vioport/byteorder.h"
#include "vioport/errno.h"
#include "vioport/input.h"
#include "vioport/linux_input.h"
#include "vioport/loopback.h"
#include "vioport/sim_input.h"

#define ARENA_SIZE (256u * 1024u)
#define BUS_BASE   0x10000ull
#define QSIZE	   64u
#define BACKLOG	   256u

static struct {
	_Alignas(16) uint8_t arena[ARENA_SIZE];
	struct vio_sim_input sim; /* only the device's identity: input comes from the pump */
	struct vio_input input;
	struct vio_input_event backlog[BACKLOG];
	struct vio_queue queues[2];
	struct vio_loopback lb;
	struct vio_drvq eq, sq;
	struct vio_drvq_slot eslots[QSIZE], sslots[QSIZE];
	uint8_t *bufs[QSIZE];
	unsigned nbufs;
	struct vio_host_input h;
	int wfd;
} F;

static int setup(void **state)
{
	int p[2];

	(void) state;
	memset(&F, 0, sizeof(F));
	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	vio_host_input_init_stream(&F.h, p[0]);
	F.wfd = p[1];
	vio_sim_input_init_keyboard(&F.sim);
	return 0;
}

static int teardown(void **state)
{
	(void) state;
	vio_host_input_close(&F.h);
	if (F.wfd >= 0)
		close(F.wfd);
	return 0;
}

/* The device with a backlog of backlog events, driven up to DRIVER_OK when driver. */
static void bring_up_with(const struct vio_input_ops *ops, void *ctx, uint32_t backlog, bool driver)
{
	assert_int_equal(vio_input_init(&F.input, ops, ctx, F.backlog, backlog, F.queues, QSIZE, 0),
			 0);
	vio_host_input_attach(&F.h, &F.input);
	assert_int_equal(vio_loopback_init(&F.lb, &F.input.dev, F.arena, sizeof(F.arena), BUS_BASE),
			 0);
	assert_int_equal(vio_loopback_negotiate(&F.lb, ~0ull), 0);
	assert_int_equal(vio_loopback_queue(&F.lb, VIO_INPUT_EVENTQ, QSIZE, &F.eq, F.eslots), 0);
	assert_int_equal(vio_loopback_queue(&F.lb, VIO_INPUT_STATUSQ, QSIZE, &F.sq, F.sslots), 0);
	if (driver)
		assert_int_equal(vio_loopback_driver_ok(&F.lb), 0);
}

static void bring_up(uint32_t backlog, bool driver)
{
	bring_up_with(&vio_sim_input_ops, &F.sim, backlog, driver);
}

/* Posts n one-event eventq buffers. */
static void post(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t *p = vio_loopback_alloc(&F.lb, VIO_INPUT_EVENT_SIZE, NULL);
		struct vio_buf b = {vio_loopback_bus(&F.lb, p), VIO_INPUT_EVENT_SIZE};

		assert_non_null(p);
		assert_true(vio_drvq_add(&F.eq, NULL, 0, &b, 1, p) >= 0);
	}
	vio_loopback_kick(&F.lb, VIO_INPUT_EVENTQ);
}

/* Every event the driver got since the last call. */
static unsigned take(struct vio_input_event *ev, unsigned max)
{
	unsigned n = 0;
	void *tok;
	uint32_t len;

	while (vio_drvq_get_used(&F.eq, &tok, &len) == 1) {
		const uint8_t *p = tok;

		assert_true(n < max);
		assert_int_equal(len, VIO_INPUT_EVENT_SIZE);
		ev[n].type = vio_get_le16(p);
		ev[n].code = vio_get_le16(p + 2);
		ev[n].value = (int32_t) vio_get_le32(p + 4);
		n++;
	}
	return n;
}

static void expect(const struct vio_input_event *e, uint16_t type, uint16_t code, int32_t value)
{
	if (e->type != type || e->code != code || e->value != value)
		fail_msg("event %u/%u/%d, expected %u/%u/%d", e->type, e->code, (int) e->value,
			 type, code, (int) value);
}

/* Writes one input_event record, or its first part bytes only (0: whole). */
static void put(uint16_t type, uint16_t code, int32_t value, size_t part)
{
	struct input_event ev;
	size_t n = part ? part : sizeof(ev);

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.code = code;
	ev.value = value;
	assert_int_equal(write(F.wfd, &ev, n), (ssize_t) n);
}

/* The rest of a record put with part bytes. */
static void put_rest(uint16_t type, uint16_t code, int32_t value, size_t part)
{
	struct input_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.code = code;
	ev.value = value;
	assert_int_equal(write(F.wfd, (uint8_t *) &ev + part, sizeof(ev) - part),
			 (ssize_t) (sizeof(ev) - part));
}

static void syn(void)
{
	put(EV_SYN, SYN_REPORT, 0, 0);
}

static void pump_whole_reports(void **state)
{
	struct vio_input_event ev[16];

	(void) state;
	bring_up(BACKLOG, true);
	post(16);
	/* Nothing to read: nothing happens. */
	assert_int_equal(vio_host_input_pump(&F.h), 0);
	/* A report without its SYN_REPORT yet is held back, whole. */
	put(EV_KEY, 30, 1, 0);
	put(EV_MSC, MSC_SCAN, 0x1e, 0);
	assert_int_equal(vio_host_input_pump(&F.h), 0);
	assert_int_equal(take(ev, 16), 0);
	assert_int_equal(F.input.ncommit + F.input.nopen, 0);
	syn();
	assert_int_equal(vio_host_input_pump(&F.h), 1);
	assert_int_equal(take(ev, 16), 3);
	expect(&ev[0], EV_KEY, 30, 1);
	expect(&ev[1], EV_MSC, MSC_SCAN, 0x1e);
	expect(&ev[2], EV_SYN, SYN_REPORT, 0);
	/* Two reports in one read. */
	put(EV_KEY, 30, 0, 0);
	syn();
	put(EV_KEY, 48, 1, 0);
	syn();
	assert_int_equal(vio_host_input_pump(&F.h), 2);
	assert_int_equal(take(ev, 16), 4);
	expect(&ev[0], EV_KEY, 30, 0);
	expect(&ev[2], EV_KEY, 48, 1);
	expect(&ev[3], EV_SYN, SYN_REPORT, 0);
	assert_int_equal(F.h.reports, 3);
	assert_int_equal(F.h.dropped_reports, 0);
	/* A stream is not an evdev device: no grab is tried. */
	assert_false(F.h.grabbed);
	assert_int_equal(F.h.grab_error, 0);
}

static void pump_split_records(void **state)
{
	struct vio_input_event ev[8];

	(void) state;
	bring_up(BACKLOG, true);
	post(8);
	/* A record cut in the middle waits for its rest. */
	put(EV_REL, REL_X, -5, 10);
	assert_int_equal(vio_host_input_pump(&F.h), 0);
	assert_int_equal(F.h.npartial, 10);
	put_rest(EV_REL, REL_X, -5, 10);
	put(EV_SYN, SYN_REPORT, 0, 3);
	assert_int_equal(vio_host_input_pump(&F.h), 0);
	put_rest(EV_SYN, SYN_REPORT, 0, 3);
	assert_int_equal(vio_host_input_pump(&F.h), 1);
	assert_int_equal(take(ev, 8), 2);
	expect(&ev[0], EV_REL, REL_X, -5);
	expect(&ev[1], EV_SYN, SYN_REPORT, 0);
}

static void pump_syn_dropped(void **state)
{
	struct vio_input_event ev[8];

	(void) state;
	bring_up(BACKLOG, true);
	post(8);
	/* The kernel lost events: the open report and the rest up to SYN_REPORT go. */
	put(EV_KEY, 2, 1, 0);
	put(EV_SYN, SYN_DROPPED, 0, 0);
	put(EV_KEY, 3, 1, 0);
	syn();
	put(EV_KEY, 4, 1, 0);
	syn();
	assert_int_equal(vio_host_input_pump(&F.h), 1);
	assert_int_equal(take(ev, 8), 2);
	expect(&ev[0], EV_KEY, 4, 1);
	expect(&ev[1], EV_SYN, SYN_REPORT, 0);
	assert_int_equal(F.h.dropped_reports, 1);
}

static void pump_overlong_dropped(void **state)
{
	struct vio_input_event ev[8];
	int got = 0;

	(void) state;
	bring_up(BACKLOG, true);
	post(8);
	/* A report longer than the provider holds goes whole; the next one comes. */
	for (unsigned i = 0; i < VIO_HOST_INPUT_REPORT; i++)
		put(EV_ABS, ABS_X, (int32_t) i, 0);
	syn();
	put(EV_KEY, 5, 1, 0);
	syn();
	/* More records than one pump reads: a few calls take them all. */
	for (int i = 0; i < 8; i++) {
		int rc = vio_host_input_pump(&F.h);

		assert_true(rc >= 0);
		got += rc;
	}
	assert_int_equal(got, 1);
	assert_int_equal(take(ev, 8), 2);
	expect(&ev[0], EV_KEY, 5, 1);
	assert_int_equal(F.h.dropped_reports, 1);
	assert_int_equal(F.h.reports, 1);
}

static void pump_no_room(void **state)
{
	struct vio_input_event ev[8];

	(void) state;
	/* A backlog of 4 events and no eventq buffers yet. */
	bring_up(4, true);
	put(EV_KEY, 6, 1, 0);
	put(EV_KEY, 7, 1, 0);
	syn();
	put(EV_KEY, 8, 1, 0);
	put(EV_KEY, 9, 1, 0);
	syn();
	/* The second report does not fit: dropped whole, not cut. */
	assert_int_equal(vio_host_input_pump(&F.h), 1);
	assert_int_equal(F.h.dropped_reports, 1);
	post(8);
	assert_int_equal(take(ev, 8), 3);
	expect(&ev[0], EV_KEY, 6, 1);
	expect(&ev[1], EV_KEY, 7, 1);
	expect(&ev[2], EV_SYN, SYN_REPORT, 0);
	/* With room again the next report goes through. */
	put(EV_KEY, 10, 1, 0);
	syn();
	assert_int_equal(vio_host_input_pump(&F.h), 1);
	assert_int_equal(take(ev, 8), 2);
	expect(&ev[0], EV_KEY, 10, 1);
}

static void pump_no_driver(void **state)
{
	(void) state;
	/* No DRIVER_OK: the device refuses input, the pump drops it and goes on. */
	bring_up(BACKLOG, false);
	put(EV_KEY, 30, 1, 0);
	syn();
	put(EV_KEY, 30, 0, 0);
	syn();
	assert_int_equal(vio_host_input_pump(&F.h), 0);
	assert_int_equal(F.h.dropped_reports, 2);
	assert_int_equal(F.h.reports, 0);
	assert_int_equal(F.input.ncommit + F.input.nopen, 0);
	/* Not attached at all: read and dropped. */
	vio_host_input_attach(&F.h, NULL);
	put(EV_KEY, 30, 1, 0);
	syn();
	assert_int_equal(vio_host_input_pump(&F.h), 0);
	assert_int_equal(F.h.dropped_reports, 3);
}

static void pump_end_of_file(void **state)
{
	(void) state;
	bring_up(BACKLOG, true);
	close(F.wfd);
	F.wfd = -1;
	assert_int_equal(vio_host_input_pump(&F.h), -EPIPE);
}

/* Selects sel/subsel as Linux does; returns size, the union in u. */
static uint8_t cfg(uint8_t sel, uint8_t sub, uint8_t *u)
{
	uint8_t size;

	assert_int_equal(vio_device_write_config(&F.input.dev, VIO_INPUT_CFG_SELECT, &sel, 1), 0);
	assert_int_equal(vio_device_write_config(&F.input.dev, VIO_INPUT_CFG_SUBSEL, &sub, 1), 0);
	assert_int_equal(vio_device_read_config(&F.input.dev, VIO_INPUT_CFG_SIZE, &size, 1), 0);
	assert_int_equal(
	    vio_device_read_config(&F.input.dev, VIO_INPUT_CFG_U, u, VIO_INPUT_CFG_U_SIZE), 0);
	return size;
}

/*
 * The ops answer from the identity an open would have read (filled in by hand
 * here: there is no evdev device to read it from); status goes back to the
 * descriptor as input_event records; a grab the descriptor refuses leaves the
 * input flowing, the error kept.
 */
static void evdev_cache_status_and_grab(void **state)
{
	struct vio_host_input *h = &F.h;
	struct vio_input_event ev[4];
	struct input_event back;
	uint8_t u[VIO_INPUT_CFG_U_SIZE], *st;
	struct vio_buf b;
	void *tok;
	uint32_t len;
	int sv[2];

	(void) state;
	/* A socket pair stands in for the device: events in one way, status out the other. */
	vio_host_input_close(h);
	close(F.wfd);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	vio_host_input_init_stream(h, sv[0]);
	F.wfd = sv[1];
	h->evdev = true;
	h->writable = true;
	memcpy(h->name, "Test Pad", 8);
	h->name_len = 8;
	h->ids = (struct vio_input_devids){BUS_USB, 0x1234, 0x5678, 0x0100};
	h->have_ids = true;
	h->bits[EV_KEY][BTN_SOUTH / 8] = 1u << (BTN_SOUTH % 8);
	h->bits_len[EV_KEY] = BTN_SOUTH / 8 + 1;
	h->bits[EV_ABS][0] = 1u << ABS_X;
	h->bits_len[EV_ABS] = 1;
	h->abs[ABS_X] = (struct vio_input_absinfo){-100, 100, 2, 4, 0};
	h->abs_have = 1ull << ABS_X;
	h->bits[EV_LED][0] = 1u << LED_CAPSL;
	h->bits_len[EV_LED] = 1;
	h->bits_len[EV_REP] = 1; /* supported, no codes */
	bring_up_with(&vio_host_input_ops, h, BACKLOG, true);
	vio_host_input_attach(h, &F.input);

	assert_int_equal(cfg(VIO_INPUT_CFG_ID_NAME, 0, u), 8);
	assert_memory_equal(u, "Test Pad", 8);
	assert_int_equal(cfg(VIO_INPUT_CFG_ID_SERIAL, 0, u), 0);
	assert_int_equal(cfg(VIO_INPUT_CFG_ID_DEVIDS, 0, u), VIO_INPUT_DEVIDS_SIZE);
	assert_int_equal(vio_get_le16(u), BUS_USB);
	assert_int_equal(vio_get_le16(u + 2), 0x1234);
	assert_int_equal(vio_get_le16(u + 6), 0x0100);
	assert_int_equal(cfg(VIO_INPUT_CFG_PROP_BITS, 0, u), 0);
	assert_int_equal(cfg(VIO_INPUT_CFG_EV_BITS, EV_KEY, u), BTN_SOUTH / 8 + 1);
	assert_int_equal(u[BTN_SOUTH / 8], 1u << (BTN_SOUTH % 8));
	assert_int_equal(cfg(VIO_INPUT_CFG_EV_BITS, EV_REP, u), 1);
	assert_int_equal(u[0], 0);
	assert_int_equal(cfg(VIO_INPUT_CFG_EV_BITS, EV_REL, u), 0);
	assert_int_equal(cfg(VIO_INPUT_CFG_ABS_INFO, ABS_X, u), VIO_INPUT_ABSINFO_SIZE);
	assert_int_equal((int32_t) vio_get_le32(u), -100);
	assert_int_equal((int32_t) vio_get_le32(u + 4), 100);
	assert_int_equal((int32_t) vio_get_le32(u + 12), 4);
	assert_int_equal(cfg(VIO_INPUT_CFG_ABS_INFO, ABS_Y, u), 0);

	/* CapsLock from the driver goes back to the device as an input_event. */
	st = vio_loopback_alloc(&F.lb, VIO_INPUT_EVENT_SIZE, NULL);
	assert_non_null(st);
	vio_put_le16(st, EV_LED);
	vio_put_le16(st + 2, LED_CAPSL);
	vio_put_le32(st + 4, 1);
	b = (struct vio_buf){vio_loopback_bus(&F.lb, st), VIO_INPUT_EVENT_SIZE};
	assert_true(vio_drvq_add(&F.sq, &b, 1, NULL, 0, st) >= 0);
	vio_loopback_kick(&F.lb, VIO_INPUT_STATUSQ);
	assert_int_equal(vio_drvq_get_used(&F.sq, &tok, &len), 1);
	assert_int_equal(h->status_written, 1);
	assert_int_equal(read(sv[1], &back, sizeof(back)), (ssize_t) sizeof(back));
	assert_int_equal(back.type, EV_LED);
	assert_int_equal(back.code, LED_CAPSL);
	assert_int_equal(back.value, 1);
	/* and the report's end, so that the host's other readers see it at once */
	assert_int_equal(read(sv[1], &back, sizeof(back)), (ssize_t) sizeof(back));
	assert_int_equal(back.type, EV_SYN);
	assert_int_equal(back.code, SYN_REPORT);

	/* A socket is no evdev device: the grab fails, the input still reaches the driver. */
	post(4);
	put(EV_KEY, BTN_SOUTH, 1, 0);
	syn();
	assert_int_equal(vio_host_input_pump(h), 1);
	assert_int_equal(take(ev, 4), 2);
	expect(&ev[0], EV_KEY, BTN_SOUTH, 1);
	assert_false(h->grabbed);
	assert_int_equal(h->grab_error, -ENOTTY);
}

/* Descriptors that are not evdev devices are refused at open, saying so. */
static void open_refuses_non_evdev(void **state)
{
	struct vio_host_input h;
	char err[256], path[] = "/tmp/vioport-input-XXXXXX";
	int p[2], fd;

	(void) state;
	err[0] = '\0';
	assert_int_equal(vio_host_input_open(&h, "/dev/null", err, sizeof(err)), -ENOTTY);
	assert_non_null(strstr(err, "/dev/null is not an evdev input device"));
	vio_host_input_close(&h);
	assert_int_equal(h.fd, -1);

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(vio_host_input_open_fd(&h, p[0], "a pipe", err, sizeof(err)), -ENOTTY);
	assert_non_null(strstr(err, "a pipe is not an evdev input device"));
	assert_false(h.evdev);
	vio_host_input_close(&h);
	close(p[1]);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(vio_host_input_open(&h, path, err, sizeof(err)), -ENOTTY);
	vio_host_input_close(&h);
	close(fd);
	unlink(path);

	assert_int_equal(vio_host_input_open(&h, "/nonexistent/event0", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "cannot open /nonexistent/event0"));
	vio_host_input_close(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(pump_whole_reports, setup, teardown),
	    cmocka_unit_test_setup_teardown(pump_split_records, setup, teardown),
	    cmocka_unit_test_setup_teardown(pump_syn_dropped, setup, teardown),
	    cmocka_unit_test_setup_teardown(pump_overlong_dropped, setup, teardown),
	    cmocka_unit_test_setup_teardown(pump_no_room, setup, teardown),
	    cmocka_unit_test_setup_teardown(pump_no_driver, setup, teardown),
	    cmocka_unit_test_setup_teardown(pump_end_of_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(evdev_cache_status_and_grab, setup, teardown),
	    cmocka_unit_test(open_refuses_non_evdev),
	};

	return cmocka_run_group_tests_name("Linux evdev input provider", tests, NULL, NULL);
}
