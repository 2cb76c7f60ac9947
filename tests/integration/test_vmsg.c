/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hypervisor-less virtio-msg between two processes: the vioport daemon serves
 * blk, rng, gpio and i2c on one shared window file (--transport vmsg), and
 * this test is the driver, through the driver library over the same file.
 * Every device is exercised with polling and with eventfd doorbells; the
 * driver restarts (the window is formatted again) and the device side comes
 * back; a hostile driver hands out rings outside the window and overlapping
 * ones, oversize and wrong-sized messages, and corrupts a FIFO index: the
 * device refuses, reports DEVICE_NEEDS_RESET, stops the bus cleanly, and
 * serves the next driver. The daemon is $VIOPORT_BIN.
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
#include "vioport/i2c.h"
#include "vioport/virtio.h"
#include "vioport/vmsg.h"
#include "vioport/vmsg_posix.h"

#define WAIT_MS	   10000
#define DISK_BYTES (1u << 20)
#define WIN_SIZE   (1u << 20)
#define MAP_WORDS  1024 /* allocator bits: 32 * 1024 chunks of 64 bytes, 2 MiB */

/* Device numbers: the configuration file's order. */
enum { DEV_BLK, DEV_RNG, DEV_GPIO, DEV_I2C, NDEV };

static struct {
	char bin[IT_PATH];
	char dir[IT_PATH];
	const char *skip;
} T;

/* One daemon and the driver side of its window. */
static struct {
	struct it_proc proc;
	char win[IT_PATH], img[IT_PATH], ctl[IT_PATH], bell[IT_PATH], doorbell[IT_PATH + 8];
	struct vio_vmsg_posix_drv p;
	bool open;
	struct vio_vmsg_drv drv;
	uint32_t map[MAP_WORDS];
	struct vio_vmsg_drv_dev dev;
	struct vio_vmsg_drv_vq vqs[2];
} S;

#define BEGIN()                                                                                    \
	do {                                                                                       \
		if (T.skip != NULL) {                                                              \
			print_message("# %s\n", T.skip);                                           \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

static int group_setup(void **state)
{
	const char *b = it_vioport_bin();

	(void) state;
	if (b == NULL) {
		T.skip = "no vioport daemon at $VIOPORT_BIN (build apps/vioport first): virtio-msg "
			 "cases skipped";
		return 0;
	}
	snprintf(T.bin, sizeof(T.bin), "%s", b);
	return it_tmpdir(T.dir, "vmsg") < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void) state;
	if (T.dir[0] != '\0')
		it_rmtree(T.dir);
	return 0;
}

/* Stops the driver side and the daemon, checking it ends cleanly. */
static void stop_all(void)
{
	bool sanitizer = false;
	int st;

	if (S.open)
		vio_vmsg_posix_drv_close(&S.p);
	S.open = false;
	if (S.proc.pid > 0) {
		st = it_stop(&S.proc, WAIT_MS, &sanitizer);
		if (sanitizer || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			it_print_log(S.proc.log, 30);
			fail_msg("the daemon did not end cleanly (status %d%s)", st,
				 sanitizer ? ", sanitizer report" : "");
		}
	}
}

static int teardown(void **state)
{
	(void) state;
	if (S.open)
		vio_vmsg_posix_drv_close(&S.p);
	S.open = false;
	if (S.proc.pid > 0)
		it_stop(&S.proc, 2000, NULL);
	return 0;
}

/* Starts the daemon serving the four devices on a fresh window with doorbell kind bell. */
static void start_daemon(const char *bell)
{
	char conf[IT_PATH], text[2048], ready[IT_PATH];
	FILE *f;

	memset(&S, 0, sizeof(S));
	assert_int_equal(it_path(S.win, T.dir, "window"), 0);
	assert_int_equal(it_path(S.img, T.dir, "disk.img"), 0);
	assert_int_equal(it_path(S.ctl, T.dir, "ctl.sock"), 0);
	assert_int_equal(it_path(S.bell, T.dir, "bell.sock"), 0);
	assert_int_equal(it_path(S.proc.log, T.dir, "vioport.log"), 0);
	assert_int_equal(it_path(conf, T.dir, "vioport.conf"), 0);
	unlink(S.win);
	assert_int_equal(it_make_image(S.img, DISK_BYTES), 0);
	if (strcmp(bell, "eventfd") == 0)
		snprintf(S.doorbell, sizeof(S.doorbell), "eventfd:%s", S.bell);
	else
		snprintf(S.doorbell, sizeof(S.doorbell), "poll");
	snprintf(text, sizeof(text),
		 "log-level = info\ncontrol = %s\n"
		 "[blk]\ntransport = vmsg\nshm = %s\nshm-size = %u\ndoorbell = %s\nimage = %s\n"
		 "[rng]\ntransport = vmsg\nshm = %s\n"
		 "[gpio]\ntransport = vmsg\nshm = %s\ndevice-list = s8\n"
		 "[i2c]\ntransport = vmsg\nshm = %s\ndevice-list = sim\n",
		 S.ctl, S.win, WIN_SIZE, S.doorbell, S.img, S.win, S.win, S.win);
	f = fopen(conf, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	/* The control socket is up once the daemon has set everything up. */
	snprintf(ready, sizeof(ready), "%s", S.ctl);
	snprintf(S.proc.sock, sizeof(S.proc.sock), "%s", ready);
	{
		char *argv[] = {T.bin, "--config", conf, NULL};

		if (it_start(&S.proc, argv, WAIT_MS) < 0)
			fail_msg("the daemon did not start");
	}
}

/* Opens the driver side: formats the window (a new generation) and waits for the device. */
static void open_driver(void)
{
	char err[256];
	int r = vio_vmsg_posix_drv_open(&S.p, S.win, 0, S.doorbell, WAIT_MS, err, sizeof(err));

	if (r < 0)
		fail_msg("driver open: %s", err);
	S.open = true;
	assert_int_equal(vio_vmsg_drv_init_shm(&S.drv, &S.p.binding, S.map, MAP_WORDS), 0);
	S.drv.timeout_us = WAIT_MS * 1000u;
}

/* Brings device num up with want (VERSION_1 added) on nvqs queues. */
static void device_up(uint16_t num, uint16_t nvqs, uint64_t want)
{
	int r;

	assert_int_equal(vio_vmsg_drv_dev_init(&S.dev, &S.drv, num, S.vqs, nvqs), 0);
	r = vio_vmsg_drv_dev_start(&S.dev, want | VIO_BIT(VIO_F_VERSION_1));
	if (r < 0)
		fail_msg("bring-up of device %u: %d", num, r);
}

static void control(const char *cmd, char *reply, size_t cap)
{
	assert_int_equal(it_control(S.ctl, cmd, reply, cap, WAIT_MS), 0);
}

/* Every device once, through the window. */
static void exercise_all(void)
{
	uint8_t bitmap[8] = {0}, buf[4096], back[4096], rnd[256];
	char reply[600];
	FILE *f;
	uint16_t line;
	uint8_t status;
	uint64_t sectors;

	/* Enumeration: four devices, in the configuration's order. */
	assert_int_equal(vio_vmsg_drv_ping(&S.drv, 0x1234), 0);
	assert_true(vio_vmsg_drv_get_devices(&S.drv, bitmap, sizeof(bitmap)) >= 0);
	assert_int_equal(bitmap[0] & 0x1f, 0x0f);

	/* blk: a pattern written through the window lands in the host's image. */
	device_up(DEV_BLK, 1, 0);
	assert_int_equal(S.dev.info.device_id, VIO_ID_BLK);
	assert_int_equal(vio_vmsg_drv_blk_capacity(&S.dev, &sectors), 0);
	assert_int_equal(sectors, DISK_BYTES / 512);
	it_fill(buf, sizeof(buf), 77);
	assert_int_equal(vio_vmsg_drv_blk_write(&S.dev, 100, buf, 8), 0);
	assert_int_equal(vio_vmsg_drv_blk_read(&S.dev, 100, back, 8), 0);
	assert_memory_equal(buf, back, sizeof(buf));
	f = fopen(S.img, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 100 * 512, SEEK_SET), 0);
	assert_int_equal(fread(back, 1, sizeof(back), f), sizeof(back));
	fclose(f);
	assert_memory_equal(buf, back, sizeof(buf));
	/* Reading what the image held before: sector 7's pattern. */
	assert_int_equal(vio_vmsg_drv_blk_read(&S.dev, 7, back, 1), 0);
	for (unsigned i = 0; i < 512; i++)
		if (back[i] != it_pattern(7 * 512 + i))
			fail_msg("sector 7 byte %u", i);
	vio_vmsg_drv_dev_fini(&S.dev);

	/* rng: entropy, not a constant. */
	device_up(DEV_RNG, 1, 0);
	assert_int_equal(S.dev.info.device_id, VIO_ID_RNG);
	memset(rnd, 0, sizeof(rnd));
	assert_true(vio_vmsg_drv_rng_read(&S.dev, rnd, sizeof(rnd)) > 32);
	{
		unsigned same = 0;

		for (unsigned i = 1; i < 32; i++)
			same += rnd[i] == rnd[0];
		assert_true(same < 31);
	}
	vio_vmsg_drv_dev_fini(&S.dev);

	/* gpio: names, the host drives an input, the driver an output, and an edge interrupt. */
	device_up(DEV_GPIO, 2, VIO_BIT(VIO_GPIO_F_IRQ));
	assert_int_equal(S.dev.info.device_id, VIO_ID_GPIO);
	assert_true(vio_vmsg_drv_gpio_line_names(&S.dev, buf, sizeof(buf)) > 0);
	assert_string_equal((char *) buf, "sim-gpio-0");
	control("gpio set 2 1", reply, sizeof(reply));
	assert_int_equal(vio_vmsg_drv_gpio_set_direction(&S.dev, 2, VIO_GPIO_DIRECTION_IN), 0);
	assert_int_equal(vio_vmsg_drv_gpio_get(&S.dev, 2), 1);
	assert_int_equal(vio_vmsg_drv_gpio_set_direction(&S.dev, 4, VIO_GPIO_DIRECTION_OUT), 0);
	assert_int_equal(vio_vmsg_drv_gpio_set(&S.dev, 4, 1), 0);
	control("gpio get 4", reply, sizeof(reply));
	assert_non_null(strstr(reply, "output=1"));
	assert_int_equal(vio_vmsg_drv_gpio_set_direction(&S.dev, 5, VIO_GPIO_DIRECTION_IN), 0);
	assert_int_equal(vio_vmsg_drv_gpio_set_irq_type(&S.dev, 5, VIO_GPIO_IRQ_TYPE_EDGE_RISING),
			 0);
	assert_int_equal(vio_vmsg_drv_gpio_irq_arm(&S.dev, 5), 0);
	control("gpio set 5 1", reply, sizeof(reply));
	assert_int_equal(vio_vmsg_drv_gpio_irq_wait(&S.dev, &line, &status, WAIT_MS * 1000u), 1);
	assert_int_equal(line, 5);
	assert_int_equal(status, VIO_GPIO_IRQ_STATUS_VALID);
	assert_true(vio_vmsg_drv_gpio_get(&S.dev, 99) < 0);
	vio_vmsg_drv_dev_fini(&S.dev);

	/* i2c: the EEPROM keeps what was written; the LM75 reads what the host set. */
	device_up(DEV_I2C, 1, VIO_BIT(VIO_I2C_F_ZERO_LENGTH_REQUEST));
	assert_int_equal(S.dev.info.device_id, VIO_ID_I2C);
	{
		uint8_t w[5] = {0x20, 0xde, 0xad, 0xbe, 0xef}, a = 0x20, r[4], t[2];

		assert_int_equal(vio_vmsg_drv_i2c_xfer(&S.dev, 0x50, false, w, sizeof(w)), 0);
		assert_int_equal(vio_vmsg_drv_i2c_write_read(&S.dev, 0x50, &a, 1, r, 4), 0);
		assert_memory_equal(r, w + 1, 4);
		control("i2c temp 42500", reply, sizeof(reply));
		a = 0;
		assert_int_equal(vio_vmsg_drv_i2c_write_read(&S.dev, 0x48, &a, 1, t, 2), 0);
		assert_int_equal(t[0], 42);
		assert_int_equal(t[1], 0x80);
		assert_true(vio_vmsg_drv_i2c_xfer(&S.dev, 0x33, false, NULL, 0) < 0);
	}
	vio_vmsg_drv_dev_fini(&S.dev);
}

static void vmsg_devices_poll(void **state)
{
	(void) state;
	BEGIN();
	start_daemon("poll");
	open_driver();
	exercise_all();
	stop_all();
}

static void vmsg_devices_eventfd(void **state)
{
	(void) state;
	BEGIN();
	start_daemon("eventfd");
	open_driver();
	exercise_all();
	stop_all();
}

/* The driver goes away and comes back, twice, with each doorbell kind. */
static void restart_with(const char *bell)
{
	uint8_t rnd[64];
	char err[256];

	start_daemon(bell);
	for (int round = 0; round < 3; round++) {
		open_driver();
		device_up(DEV_RNG, 1, 0);
		assert_true(vio_vmsg_drv_rng_read(&S.dev, rnd, sizeof(rnd)) > 0);
		vio_vmsg_drv_dev_fini(&S.dev);
		vio_vmsg_posix_drv_close(&S.p);
		S.open = false;
	}
	/* A re-format in the middle of a session: the old set-up is gone, a new one works. */
	open_driver();
	device_up(DEV_BLK, 1, 0);
	assert_int_equal(vio_vmsg_posix_drv_reformat(&S.p, WAIT_MS, err, sizeof(err)), 0);
	assert_int_equal(vio_vmsg_drv_init_shm(&S.drv, &S.p.binding, S.map, MAP_WORDS), 0);
	device_up(DEV_BLK, 1, 0);
	assert_int_equal(vio_vmsg_drv_blk_read(&S.dev, 0, rnd, 0) <= 0, 1);
	vio_vmsg_drv_dev_fini(&S.dev);
	stop_all();
}

static void vmsg_peer_restart(void **state)
{
	(void) state;
	BEGIN();
	restart_with("poll");
	restart_with("eventfd");
}

/* Sends one raw transport message with body already encoded; returns nothing. */
static void raw(const uint8_t *msg, int len)
{
	assert_true(len > 0);
	assert_int_equal(vio_vmsg_drv_raw_send(&S.drv, msg, (uint32_t) len), 0);
}

/* The status of the device bad_queue set up, as GET_DEVICE_STATUS reports it; done with it. */
static uint8_t status_of(uint16_t num)
{
	uint8_t st = 0;

	assert_int_equal(S.dev.dev_num, num);
	assert_int_equal(vio_vmsg_drv_get_status(&S.dev, &st), 0);
	vio_vmsg_drv_dev_fini(&S.dev);
	return st;
}

/* Negotiates device num and hands it a queue at desc/driver/device (window offsets). */
static void bad_queue(uint16_t num, uint64_t desc, uint64_t drv, uint64_t dev)
{
	struct vio_vmsg_hdr h = {.type = 0, .id = VIO_VMSG_SET_VQUEUE, .dev_num = num, .token = 77};
	struct vio_vmsg_vqueue q = {.index = 0,
				    .size = 16,
				    .flags = VIO_VMSG_VQ_STATE_ENABLE,
				    .desc = desc,
				    .driver = drv,
				    .device = dev};
	uint8_t msg[VIO_VMSG_MAX_SIZE];
	bool event = false;

	assert_int_equal(vio_vmsg_drv_dev_init(&S.dev, &S.drv, num, S.vqs, 1), 0);
	/* i2c refuses a driver without ZERO_LENGTH_REQUEST (bit 0 of i2c's features). */
	assert_int_equal(vio_vmsg_drv_dev_negotiate(&S.dev, VIO_BIT(VIO_F_VERSION_1) |
								(num == DEV_I2C ? VIO_BIT(0) : 0)),
			 0);
	raw(msg, vio_vmsg_encode_set_vqueue(msg, sizeof(msg), &h, &q));
	/* EVENT_CONFIG carrying DEVICE_NEEDS_RESET comes before the answer to SET_VQUEUE. */
	for (;;) {
		struct vio_vmsg_hdr r;
		int n = vio_vmsg_drv_raw_recv(&S.drv, msg, sizeof(msg), WAIT_MS * 1000u);

		assert_true(n > 0);
		assert_int_equal(vio_vmsg_hdr_decode(&r, msg, (uint32_t) n, sizeof(msg)), 0);
		if (r.id == VIO_VMSG_EVENT_CONFIG) {
			struct vio_vmsg_event_config ev;

			assert_int_equal(r.dev_num, num);
			assert_int_equal(vio_vmsg_decode_event_config(&r, msg, &ev), 0);
			assert_true(ev.status & VIO_STATUS_NEEDS_RESET);
			event = true;
			continue;
		}
		assert_int_equal(r.id, VIO_VMSG_SET_VQUEUE);
		assert_int_equal(r.token, 77);
		break;
	}
	assert_true(event);
}

/* Puts one 64-byte slot into the driver-to-device FIFO as a producer would, unchecked. */
static void inject(const uint8_t slot[VIO_VMSG_SHM_SLOT_SIZE])
{
	struct vio_vmsg_fifo *tx = &S.p.shm.tx;

	memcpy(tx->base + VIO_VMSG_SHM_FIFO_SLOTS + tx->pos * VIO_VMSG_SHM_SLOT_SIZE, slot,
	       VIO_VMSG_SHM_SLOT_SIZE);
	tx->pos = (tx->pos + 1) % tx->nslots;
	__atomic_store_n((uint32_t *) tx->base, vio_le32(tx->pos), __ATOMIC_RELEASE);
	vio_vmsg_shm_ring(&S.p.shm);
}

static void vmsg_hostile_driver(void **state)
{
	uint8_t msg[VIO_VMSG_MAX_SIZE], rnd[32];
	uint32_t area = 0, size = 0;
	char err[256];

	(void) state;
	BEGIN();
	start_daemon("poll");
	open_driver();
	area = S.p.shm.area_off;
	size = S.p.shm.area_size;

	/* A ring outside the window: the device breaks, the rest of the bus goes on. */
	bad_queue(DEV_RNG, (uint64_t) area + size + 4096, area, area + 1024);
	assert_true(status_of(DEV_RNG) & VIO_STATUS_NEEDS_RESET);
	assert_int_equal(vio_vmsg_drv_ping(&S.drv, 1), 0);
	/* Rings in the window's header and FIFOs, below the area: refused the same way. */
	bad_queue(DEV_BLK, 0, 256, 512);
	assert_true(status_of(DEV_BLK) & VIO_STATUS_NEEDS_RESET);
	/* Overlapping rings. */
	bad_queue(DEV_GPIO, area, area + 8, area + 16);
	assert_true(status_of(DEV_GPIO) & VIO_STATUS_NEEDS_RESET);
	/* A ring that wraps the address space. */
	bad_queue(DEV_I2C, UINT64_MAX - 64, area, area + 1024);
	assert_true(status_of(DEV_I2C) & VIO_STATUS_NEEDS_RESET);

	/* Messages of the wrong size, an oversize one, an unknown ID and device: dropped. */
	{
		struct vio_vmsg_hdr h = {.id = VIO_VMSG_GET_DEVICE_STATUS, .dev_num = DEV_RNG};
		int n = vio_vmsg_encode_u32(msg, sizeof(msg), &h, 5); /* status takes no body */

		raw(msg, n);
		h.id = 0x3f;
		raw(msg, vio_vmsg_encode_empty(msg, sizeof(msg), &h));
		h.id = VIO_VMSG_GET_DEVICE_INFO;
		h.dev_num = 200;
		raw(msg, vio_vmsg_encode_empty(msg, sizeof(msg), &h));
		/* msg_size past the slot, and shorter than a header: written into the FIFO by
		 * hand (the library refuses to send them), dropped by the device side. */
		vio_put_le16(msg + 6, 200);
		inject(msg);
		vio_put_le16(msg + 6, 4);
		inject(msg);
	}
	assert_int_equal(vio_vmsg_drv_ping(&S.drv, 3), 0);

	/* A device broken by its driver is served again after a reset. */
	device_up(DEV_RNG, 1, 0);
	assert_true(vio_vmsg_drv_rng_read(&S.dev, rnd, sizeof(rnd)) > 0);
	vio_vmsg_drv_dev_fini(&S.dev);

	/* A corrupt FIFO index stops the bus; a re-format brings it back. */
	{
		uint32_t d2dev = vio_get_le32(S.p.win.base + VIO_VMSG_SHM_OFF_D2DEV);

		vio_put_le32(S.p.win.base + d2dev, 0xfffff);
		usleep(200 * 1000);
		assert_int_equal(vio_vmsg_posix_drv_reformat(&S.p, WAIT_MS, err, sizeof(err)), 0);
		assert_int_equal(vio_vmsg_drv_init_shm(&S.drv, &S.p.binding, S.map, MAP_WORDS), 0);
		device_up(DEV_RNG, 1, 0);
		assert_true(vio_vmsg_drv_rng_read(&S.dev, rnd, sizeof(rnd)) > 0);
		vio_vmsg_drv_dev_fini(&S.dev);
	}
	/* The daemon reported what it refused, and ends cleanly. */
	stop_all();
	{
		char log[16384];
		FILE *f = fopen(S.proc.log, "r");
		size_t got;

		assert_non_null(f);
		got = fread(log, 1, sizeof(log) - 1, f);
		log[got] = '\0';
		fclose(f);
		assert_non_null(strstr(log, "attached"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(vmsg_devices_poll, teardown),
	    cmocka_unit_test_teardown(vmsg_devices_eventfd, teardown),
	    cmocka_unit_test_teardown(vmsg_peer_restart, teardown),
	    cmocka_unit_test_teardown(vmsg_hostile_driver, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
