/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The host as the driver of the firmware's virtio-msg bus. The `amp` image
 * runs under qemu-system-arm with its RAM in a shared memory-backend-file; this
 * program maps the window inside that file (at --offset) and drives the four
 * devices through the driver library: blk, rng, gpio and i2c, a driver
 * restart, and a hostile driver (a ring outside the window, overlapping rings,
 * oversize and undersize messages, a corrupt FIFO index, a re-format while
 * the firmware waits for room in a full FIFO) after which the firmware must
 * serve the next driver. Finally it asks the firmware to exit
 * with --exit-status through the control words (vmsg_ctl.h).
 *
 *   test_fw_vmsg --ram FILE --offset N --size N [--exit-status S] [--timeout-ms MS]
 *
 * Prints one "CASE <name> PASS|FAIL <detail>" line per case (scripts/firmware.sh
 * turns them into FW-RESULT lines) and exits 0 only when every case passed. It
 * never kills anything: the caller owns the emulator and its time limit.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vioport/blk.h"
#include "vioport/byteorder.h"
#include "vioport/gpio.h"
#include "vioport/i2c.h"
#include "vioport/sim_board.h"
#include "vioport/virtio.h"
#include "vioport/vmsg.h"
#include "vioport/vmsg_ctl.h"
#include "vioport/vmsg_drv_dev.h"
#include "vioport/vmsg_posix.h"

#define MAP_WORDS  1024u
#define GPIO_LINES VIO_SIM_BOARD_GPIO_LINES
#define JUMPER_OUT VIO_SIM_BOARD_JUMPER_OUT
#define JUMPER_IN  VIO_SIM_BOARD_JUMPER_IN
#define DISK_SECS  128u
#define LM75_DEG   (VIO_SIM_BOARD_LM75_MC / 1000) /* and a half: 36.5 degrees C */

/* The firmware's device numbers: the standard simulated board's (sim_board.h). */
enum {
	DEV_BLK = VIO_SIM_BOARD_BLK,
	DEV_RNG = VIO_SIM_BOARD_RNG,
	DEV_GPIO = VIO_SIM_BOARD_GPIO,
	DEV_I2C = VIO_SIM_BOARD_I2C,
	NDEV = VIO_SIM_BOARD_NDEV
};

#define gpio_names vio_sim_board_gpio_names

static struct {
	const char *ram;
	uint64_t offset;
	uint32_t size;
	int exit_status;
	int timeout_ms;
	struct vio_vmsg_posix_drv p;
	bool open;
	struct vio_vmsg_drv drv;
	uint32_t map[MAP_WORDS];
	struct vio_vmsg_drv_dev dev;
	bool dev_live;
	struct vio_vmsg_drv_vq vqs[2];
	char detail[512];
	unsigned passed, failed;
} T;

/* Sets the failure detail (the first one wins) and evaluates to false. */
__attribute__((format(printf, 1, 2))) static bool why(const char *fmt, ...)
{
	va_list ap;

	if (T.detail[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(T.detail, sizeof(T.detail), fmt, ap);
		va_end(ap);
	}
	return false;
}

#define EXPECT(cond, ...)                                                                          \
	do {                                                                                       \
		if (!(cond))                                                                       \
			return why(__VA_ARGS__);                                                   \
	} while (0)

/* A driver-library call that returns 0 on success. */
#define OK(call)                                                                                   \
	do {                                                                                       \
		int r_ = (call);                                                                   \
		if (r_ != 0)                                                                       \
			return why("%s returned %d", #call, r_);                                   \
	} while (0)

static void dev_done(void)
{
	if (T.dev_live)
		vio_vmsg_drv_dev_fini(&T.dev);
	T.dev_live = false;
}

static void run(const char *name, bool (*fn)(void), const char *pass_detail)
{
	bool ok;

	T.detail[0] = '\0';
	ok = fn();
	dev_done();
	printf("CASE %s %s %s\n", name, ok ? "PASS" : "FAIL", ok ? pass_detail : T.detail);
	fflush(stdout);
	if (ok)
		T.passed++;
	else
		T.failed++;
}

static bool device_up(uint16_t num, uint16_t nvqs, uint64_t want)
{
	OK(vio_vmsg_drv_dev_init(&T.dev, &T.drv, num, T.vqs, nvqs));
	T.dev_live = true;
	OK(vio_vmsg_drv_dev_start(&T.dev, want | VIO_BIT(VIO_F_VERSION_1)));
	return true;
}

static bool driver_init(void)
{
	OK(vio_vmsg_drv_init_shm(&T.drv, &T.p.binding, T.map, MAP_WORDS));
	T.drv.timeout_us = (uint32_t) T.timeout_ms * 1000u;
	return true;
}

/* Opens the window in the emulator's RAM file once the emulator has created it. */
static bool attach(void)
{
	uint64_t deadline = vio_vmsg_now_us() + (uint64_t) T.timeout_ms * 1000u;
	char err[256];
	struct stat st;
	int r;

	/* The emulator creates and sizes the file as it starts. */
	while (stat(T.ram, &st) != 0 || (uint64_t) st.st_size < T.offset + T.size) {
		EXPECT(vio_vmsg_now_us() < deadline,
		       "%s did not appear with %llu bytes within %d ms", T.ram,
		       (unsigned long long) (T.offset + T.size), T.timeout_ms);
		usleep(20 * 1000);
	}
	r = vio_vmsg_posix_drv_open_at(&T.p, T.ram, T.offset, T.size, "poll", T.timeout_ms, err,
				       sizeof(err));
	EXPECT(r == 0, "driver open: %s", err);
	T.open = true;
	return driver_init();
}

static bool case_attach(void)
{
	return attach();
}

static bool case_enumerate(void)
{
	static const uint32_t ids[NDEV] = {VIO_ID_BLK, VIO_ID_RNG, VIO_ID_GPIO, VIO_ID_I2C};
	uint8_t bitmap[8] = {0};
	struct vio_vmsg_device_info info;
	int n;

	OK(vio_vmsg_drv_ping(&T.drv, 0x600d));
	n = vio_vmsg_drv_get_devices(&T.drv, bitmap, sizeof(bitmap));
	EXPECT(n == NDEV && bitmap[0] == 0x0f, "GET_DEVICES: %d devices, bitmap 0x%02x", n,
	       bitmap[0]);
	for (uint16_t i = 0; i < NDEV; i++) {
		OK(vio_vmsg_drv_device_info(&T.drv, i, &info));
		EXPECT(info.device_id == ids[i], "device %u is virtio id %u, expected %u", i,
		       info.device_id, ids[i]);
	}
	return true;
}

static bool case_blk(void)
{
	static uint8_t buf[8 * 512], back[8 * 512];
	uint64_t sectors = 0;

	if (!device_up(DEV_BLK, 1, 0))
		return false;
	OK(vio_vmsg_drv_blk_capacity(&T.dev, &sectors));
	EXPECT(sectors == DISK_SECS, "capacity %llu sectors, expected %u",
	       (unsigned long long) sectors, DISK_SECS);
	OK(vio_vmsg_drv_blk_read(&T.dev, 0, back, 1));
	EXPECT(memcmp(back, "vioport amp RAM disk", 20) == 0, "sector 0 lacks the disk's label");
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t) (i * 31u + 7u);
	OK(vio_vmsg_drv_blk_write(&T.dev, 10, buf, 8));
	memset(back, 0, sizeof(back));
	OK(vio_vmsg_drv_blk_read(&T.dev, 10, back, 8));
	EXPECT(memcmp(buf, back, sizeof(buf)) == 0, "sectors 10..17 read back differ");
	/* Past the end: the device's own error status, the device goes on. */
	EXPECT(vio_vmsg_drv_blk_read(&T.dev, DISK_SECS, back, 1) < 0,
	       "a read past the disk's end succeeded");
	OK(vio_vmsg_drv_blk_read(&T.dev, 17, back, 1));
	return true;
}

static bool case_rng(void)
{
	uint8_t a[64] = {0}, b[64] = {0};
	unsigned same = 0;
	int n;

	if (!device_up(DEV_RNG, 1, 0))
		return false;
	n = vio_vmsg_drv_rng_read(&T.dev, a, sizeof(a));
	EXPECT(n > 16, "rng gave %d bytes", n);
	EXPECT(vio_vmsg_drv_rng_read(&T.dev, b, sizeof(b)) > 16, "second rng read");
	for (int i = 1; i < n; i++)
		same += a[i] == a[0];
	EXPECT(same + 1 < (unsigned) n, "rng gave %d equal bytes", n);
	EXPECT(memcmp(a, b, 16) != 0, "two rng reads gave the same bytes");
	return true;
}

static bool case_gpio(void)
{
	char names[256];
	uint16_t line = 0;
	uint8_t status = 0;
	int n, off = 0;

	if (!device_up(DEV_GPIO, 2, VIO_BIT(VIO_GPIO_F_IRQ)))
		return false;
	n = vio_vmsg_drv_gpio_line_names(&T.dev, names, sizeof(names));
	EXPECT(n > 0, "line names: %d", n);
	for (unsigned i = 0; i < GPIO_LINES; i++) {
		EXPECT(off < n && strcmp(names + off, gpio_names[i]) == 0,
		       "line %u is named '%s', expected '%s'", i, off < n ? names + off : "",
		       gpio_names[i]);
		off += (int) strlen(names + off) + 1;
	}
	/* An output keeps what the driver set. */
	OK(vio_vmsg_drv_gpio_set_direction(&T.dev, 0, VIO_GPIO_DIRECTION_OUT));
	OK(vio_vmsg_drv_gpio_set(&T.dev, 0, 1));
	EXPECT(vio_vmsg_drv_gpio_get(&T.dev, 0) == 1, "led0 does not read back 1");
	OK(vio_vmsg_drv_gpio_set(&T.dev, 0, 0));
	EXPECT(vio_vmsg_drv_gpio_get(&T.dev, 0) == 0, "led0 does not read back 0");
	/* The board's wire: jumper-out drives jumper-in, with a rising-edge interrupt. */
	OK(vio_vmsg_drv_gpio_set_direction(&T.dev, JUMPER_OUT, VIO_GPIO_DIRECTION_OUT));
	OK(vio_vmsg_drv_gpio_set(&T.dev, JUMPER_OUT, 0));
	OK(vio_vmsg_drv_gpio_set_direction(&T.dev, JUMPER_IN, VIO_GPIO_DIRECTION_IN));
	EXPECT(vio_vmsg_drv_gpio_get(&T.dev, JUMPER_IN) == 0, "jumper-in is not low");
	OK(vio_vmsg_drv_gpio_set_irq_type(&T.dev, JUMPER_IN, VIO_GPIO_IRQ_TYPE_EDGE_RISING));
	OK(vio_vmsg_drv_gpio_irq_arm(&T.dev, JUMPER_IN));
	OK(vio_vmsg_drv_gpio_set(&T.dev, JUMPER_OUT, 1));
	n = vio_vmsg_drv_gpio_irq_wait(&T.dev, &line, &status, (uint32_t) T.timeout_ms * 1000u);
	EXPECT(n == 1 && line == JUMPER_IN && status == VIO_GPIO_IRQ_STATUS_VALID,
	       "no rising edge on jumper-in (wait %d, line %u, status %u)", n, line, status);
	EXPECT(vio_vmsg_drv_gpio_get(&T.dev, JUMPER_IN) == 1, "jumper-in is not high");
	EXPECT(vio_vmsg_drv_gpio_get(&T.dev, 99) < 0, "line 99 of 8 answered");
	return true;
}

static bool case_i2c(void)
{
	uint8_t w[5] = {0x20, 0xde, 0xad, 0xbe, 0xef}, a = 0x20, r[4] = {0}, t[2] = {0};

	if (!device_up(DEV_I2C, 1, VIO_BIT(VIO_I2C_F_ZERO_LENGTH_REQUEST)))
		return false;
	OK(vio_vmsg_drv_i2c_xfer(&T.dev, 0x50, false, w, sizeof(w)));
	OK(vio_vmsg_drv_i2c_write_read(&T.dev, 0x50, &a, 1, r, sizeof(r)));
	EXPECT(memcmp(r, w + 1, 4) == 0, "EEPROM read back %02x %02x %02x %02x", r[0], r[1], r[2],
	       r[3]);
	a = 0;
	OK(vio_vmsg_drv_i2c_write_read(&T.dev, 0x48, &a, 1, t, sizeof(t)));
	EXPECT(t[0] == LM75_DEG && t[1] == 0x80, "LM75 reads %02x %02x, expected %02x 80", t[0],
	       t[1], LM75_DEG);
	EXPECT(vio_vmsg_drv_i2c_xfer(&T.dev, 0x33, false, NULL, 0) < 0,
	       "nobody at 0x33, but the probe was ACKed");
	return true;
}

/* The driver goes away and comes back: the firmware resets its devices and re-attaches. */
static bool case_restart(void)
{
	uint8_t rnd[32], back[512];

	vio_vmsg_posix_drv_close(&T.p);
	T.open = false;
	usleep(100 * 1000);
	if (!attach())
		return false;
	if (!device_up(DEV_RNG, 1, 0))
		return false;
	EXPECT(vio_vmsg_drv_rng_read(&T.dev, rnd, sizeof(rnd)) > 0, "rng after the restart");
	dev_done();
	/* The disk is the firmware's: what the last driver wrote is still there. */
	if (!device_up(DEV_BLK, 1, 0))
		return false;
	OK(vio_vmsg_drv_blk_read(&T.dev, 10, back, 1));
	EXPECT(back[1] == (uint8_t) (31u + 7u), "sector 10 lost its data across the restart");
	return true;
}

static bool raw(const uint8_t *msg, int len)
{
	EXPECT(len > 0, "encoding a raw message failed (%d)", len);
	OK(vio_vmsg_drv_raw_send(&T.drv, msg, (uint32_t) len));
	return true;
}

/* Negotiates device num, hands it a queue at desc/drv/dev, expects DEVICE_NEEDS_RESET. */
static bool bad_queue(uint16_t num, uint64_t desc, uint64_t drv, uint64_t dev)
{
	struct vio_vmsg_hdr h = {.type = 0, .id = VIO_VMSG_SET_VQUEUE, .dev_num = num, .token = 77};
	struct vio_vmsg_vqueue q = {.index = 0,
				    .size = 16,
				    .flags = VIO_VMSG_VQ_STATE_ENABLE,
				    .desc = desc,
				    .driver = drv,
				    .device = dev};
	uint8_t msg[VIO_VMSG_MAX_SIZE], st = 0;
	bool event = false;

	OK(vio_vmsg_drv_dev_init(&T.dev, &T.drv, num, T.vqs, 1));
	T.dev_live = true;
	OK(vio_vmsg_drv_dev_negotiate(&T.dev, VIO_BIT(VIO_F_VERSION_1) |
						  (num == DEV_I2C ? VIO_BIT(0) : 0) |
						  (num == DEV_GPIO ? VIO_BIT(VIO_GPIO_F_IRQ) : 0)));
	if (!raw(msg, vio_vmsg_encode_set_vqueue(msg, sizeof(msg), &h, &q)))
		return false;
	for (;;) {
		struct vio_vmsg_hdr r;
		int n = vio_vmsg_drv_raw_recv(&T.drv, msg, sizeof(msg),
					      (uint32_t) T.timeout_ms * 1000u);

		EXPECT(n > 0, "no answer to SET_VQUEUE (%d)", n);
		EXPECT(vio_vmsg_hdr_decode(&r, msg, (uint32_t) n, sizeof(msg)) == 0,
		       "undecodable answer");
		if (r.id == VIO_VMSG_EVENT_CONFIG) {
			struct vio_vmsg_event_config ev;

			EXPECT(r.dev_num == num &&
				   vio_vmsg_decode_event_config(&r, msg, &ev) == 0 &&
				   (ev.status & VIO_STATUS_NEEDS_RESET),
			       "EVENT_CONFIG without DEVICE_NEEDS_RESET");
			event = true;
			continue;
		}
		EXPECT(r.id == VIO_VMSG_SET_VQUEUE && r.token == 77, "answer id %u token %u", r.id,
		       r.token);
		break;
	}
	EXPECT(event, "no EVENT_CONFIG reported DEVICE_NEEDS_RESET");
	OK(vio_vmsg_drv_get_status(&T.dev, &st));
	EXPECT(st & VIO_STATUS_NEEDS_RESET, "status 0x%02x lacks DEVICE_NEEDS_RESET", st);
	dev_done();
	/* The rest of the bus goes on, and the broken device comes back after a reset. */
	OK(vio_vmsg_drv_ping(&T.drv, num));
	return true;
}

static bool case_ring_outside(void)
{
	uint32_t area = T.p.shm.area_off, size = T.p.shm.area_size;
	uint8_t rnd[16];

	if (!bad_queue(DEV_RNG, (uint64_t) area + size + 4096, area, area + 1024))
		return false;
	/* Rings in the header and FIFOs, below the area, are outside it too. */
	if (!bad_queue(DEV_BLK, 0, 256, 512))
		return false;
	if (!device_up(DEV_RNG, 1, 0))
		return false;
	EXPECT(vio_vmsg_drv_rng_read(&T.dev, rnd, sizeof(rnd)) > 0, "rng after its reset");
	return true;
}

static bool case_overlap(void)
{
	uint32_t area = T.p.shm.area_off;

	if (!bad_queue(DEV_GPIO, area, area + 8, area + 16))
		return false;
	if (!device_up(DEV_GPIO, 2, VIO_BIT(VIO_GPIO_F_IRQ)))
		return false;
	EXPECT(vio_vmsg_drv_gpio_get(&T.dev, 0) >= 0, "gpio after its reset");
	return true;
}

/* Puts one 64-byte slot into the driver-to-device FIFO as a producer would, unchecked. */
static void inject(const uint8_t slot[VIO_VMSG_SHM_SLOT_SIZE])
{
	struct vio_vmsg_fifo *tx = &T.p.shm.tx;

	memcpy(tx->base + VIO_VMSG_SHM_FIFO_SLOTS + tx->pos * VIO_VMSG_SHM_SLOT_SIZE, slot,
	       VIO_VMSG_SHM_SLOT_SIZE);
	tx->pos = (tx->pos + 1) % tx->nslots;
	__atomic_store_n((uint32_t *) (void *) tx->base, vio_le32(tx->pos), __ATOMIC_RELEASE);
}

static bool case_oversize(void)
{
	uint8_t msg[VIO_VMSG_SHM_SLOT_SIZE] = {0};
	struct vio_vmsg_hdr h = {.id = VIO_VMSG_GET_DEVICE_STATUS, .dev_num = DEV_RNG};

	/* A body where none belongs, and an unknown device: dropped. */
	if (!raw(msg, vio_vmsg_encode_u32(msg, sizeof(msg), &h, 5)))
		return false;
	h.id = VIO_VMSG_GET_DEVICE_INFO;
	h.dev_num = 200;
	if (!raw(msg, vio_vmsg_encode_empty(msg, sizeof(msg), &h)))
		return false;
	/* msg_size past the slot, and below a header: by hand, the library refuses them. */
	vio_put_le16(msg + VIO_VMSG_SHM_MSG_SIZE_OFF, 200);
	inject(msg);
	vio_put_le16(msg + VIO_VMSG_SHM_MSG_SIZE_OFF, 4);
	inject(msg);
	OK(vio_vmsg_drv_ping(&T.drv, 0x512e));
	return true;
}

/* A corrupt FIFO index stops the bus; the next driver (a re-format) is served. */
static bool case_corrupt_fifo(void)
{
	uint32_t d2dev = vio_get_le32(T.p.win.base + VIO_VMSG_SHM_OFF_D2DEV);
	uint64_t deadline = vio_vmsg_now_us() + (uint64_t) T.timeout_ms * 1000u;
	uint8_t rnd[16];
	char err[256];

	vio_put_le32(T.p.win.base + d2dev, 0xfffff);
	while (vio_vmsg_shm_peer_state(&T.p.shm) != VIO_VMSG_SHM_STATE_STOPPED) {
		EXPECT(vio_vmsg_now_us() < deadline, "the firmware did not stop within %d ms",
		       T.timeout_ms);
		usleep(10 * 1000);
	}
	EXPECT(vio_vmsg_posix_drv_reformat(&T.p, T.timeout_ms, err, sizeof(err)) == 0,
	       "re-format: %s", err);
	if (!driver_init())
		return false;
	if (!device_up(DEV_RNG, 1, 0))
		return false;
	EXPECT(vio_vmsg_drv_rng_read(&T.dev, rnd, sizeof(rnd)) > 0, "rng after the re-format");
	return true;
}

/*
 * The driver sets the device-to-driver tail so the FIFO looks full, leaves
 * PINGs unanswered (the firmware waits for room) and re-formats: the firmware
 * leaves at once and the new session gets nothing of the old one.
 */
static bool case_full_reformat(void)
{
	struct vio_vmsg_fifo *rx = &T.p.shm.rx, *tx = &T.p.shm.tx;
	uint64_t deadline = vio_vmsg_now_us() + (uint64_t) T.timeout_ms * 1000u;
	uint8_t msg[VIO_VMSG_MAX_SIZE], bitmap[4];
	uint32_t head = vio_get_le32(rx->base), from = tx->pos;
	char err[256];

	vio_put_le32(rx->base + VIO_VMSG_SHM_FIFO_TAIL, (head + 1) % rx->nslots);
	for (unsigned i = 0; i < 8; i++) {
		struct vio_vmsg_hdr h = {.type = VIO_VMSG_TYPE_BUS,
					 .id = VIO_VMSG_BUS_PING,
					 .token = (uint16_t) (900u + i)};
		int len = vio_vmsg_encode_u32(msg, sizeof(msg), &h, i);

		OK(vio_vmsg_shm_send(&T.p.shm, msg, (uint32_t) len));
	}
	vio_vmsg_shm_ring(&T.p.shm);
	/* Once the firmware took a PING its answer finds no room. */
	while (__atomic_load_n((uint32_t *) (void *) (tx->base + VIO_VMSG_SHM_FIFO_TAIL),
			       __ATOMIC_ACQUIRE) == vio_le32(from)) {
		EXPECT(vio_vmsg_now_us() < deadline, "the firmware took no PING within %d ms",
		       T.timeout_ms);
		usleep(1000);
	}
	EXPECT(vio_vmsg_posix_drv_reformat(&T.p, T.timeout_ms, err, sizeof(err)) == 0,
	       "re-format: %s", err);
	if (!driver_init())
		return false;
	OK(vio_vmsg_drv_ping(&T.drv, 0x0f0f));
	EXPECT(vio_vmsg_drv_get_devices(&T.drv, bitmap, sizeof(bitmap)) == NDEV,
	       "enumeration after the re-format");
	EXPECT(T.drv.dropped == 0, "%u messages of the old session reached the new one",
	       T.drv.dropped);
	return true;
}

/* Every device once more, as the next driver after the hostile ones. */
static bool case_after_hostile(void)
{
	return case_enumerate() && case_blk() && (dev_done(), case_i2c());
}

/* Asks the firmware to exit: status first, then the request, release-ordered. */
static bool case_stop(void)
{
	uint32_t *arg = (uint32_t *) (void *) (T.p.win.base + VIO_VMSG_SHM_OFF_CTL_ARG);
	uint32_t *req = (uint32_t *) (void *) (T.p.win.base + VIO_VMSG_SHM_OFF_CTL_REQ);

	__atomic_store_n(arg, vio_le32((uint32_t) T.exit_status), __ATOMIC_RELAXED);
	__atomic_store_n(req, vio_le32(VIO_VMSG_CTL_EXIT), __ATOMIC_RELEASE);
	return true;
}

static int usage(void)
{
	fprintf(stderr, "usage: test_fw_vmsg --ram FILE --offset N --size N [--exit-status S] "
			"[--timeout-ms MS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"ram", required_argument, NULL, 'r'},
	    {"offset", required_argument, NULL, 'o'},
	    {"size", required_argument, NULL, 's'},
	    {"exit-status", required_argument, NULL, 'e'},
	    {"timeout-ms", required_argument, NULL, 't'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	T.exit_status = 0;
	T.timeout_ms = 20000;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		char *end = NULL;
		unsigned long long v;

		if (c == '?')
			return usage();
		errno = 0;
		v = strtoull(optarg, &end, 0);
		if (c != 'r' && (errno != 0 || end == optarg || *end != '\0')) {
			fprintf(stderr, "test_fw_vmsg: bad number '%s'\n", optarg);
			return 2;
		}
		switch (c) {
		case 'r':
			T.ram = optarg;
			break;
		case 'o':
			T.offset = v;
			break;
		case 's':
			if (v == 0 || v > UINT32_MAX)
				return usage();
			T.size = (uint32_t) v;
			break;
		case 'e':
			if (v > 255)
				return usage();
			T.exit_status = (int) v;
			break;
		case 't':
			if (v == 0 || v > 600000)
				return usage();
			T.timeout_ms = (int) v;
			break;
		}
	}
	if (T.ram == NULL || T.size == 0 || optind != argc)
		return usage();

	run("vmsg-attach", case_attach, "the firmware attached to the formatted window");
	if (!T.open) {
		printf("CASE vmsg-stop FAIL no window, so no stop request\n");
		return 1;
	}
	run("vmsg-enumerate", case_enumerate, "ping, 4 devices: blk rng gpio i2c");
	run("vmsg-blk", case_blk, "capacity, label, 8 sectors written, read back, equal");
	run("vmsg-rng", case_rng, "two reads of varying bytes");
	run("vmsg-gpio", case_gpio,
	    "8 line names, output set/get, direction, jumper edge raised an interrupt");
	run("vmsg-i2c", case_i2c, "EEPROM write then read back, LM75 36.5 C, NACK at 0x33");
	run("vmsg-restart", case_restart, "driver left and came back: served, disk kept");
	run("vmsg-ring-outside", case_ring_outside,
	    "rings outside the area: DEVICE_NEEDS_RESET, bus goes on, device back after reset");
	run("vmsg-overlap", case_overlap,
	    "overlapping rings: DEVICE_NEEDS_RESET, back after reset");
	run("vmsg-oversize", case_oversize,
	    "wrong-size, oversize, undersize, unknown-device messages dropped; bus answers");
	run("vmsg-corrupt-fifo", case_corrupt_fifo,
	    "corrupt FIFO index: firmware STOPPED, re-format served");
	run("vmsg-full-reformat", case_full_reformat,
	    "re-format while the firmware waits for room: nothing of the old session came");
	run("vmsg-next-driver", case_after_hostile, "all devices served after the hostile cases");
	run("vmsg-stop", case_stop, "exit request written to the control words");
	vio_vmsg_posix_drv_close(&T.p);
	printf("test_fw_vmsg: %u passed, %u failed\n", T.passed, T.failed);
	return T.failed == 0 ? 0 : 1;
}
