/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-msg shared-memory bus: format and attach, header checks, FIFO order, full,
 * corrupt indices, bad message sizes, restarts, the end of a session on a driver reset
 * or re-format, doorbells and cache hooks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vioport/byteorder.h"
#include "vioport/errno.h"
#include "vioport/vmsg_shm.h"

#define WIN_SIZE 16384u
#define NSLOTS	 62u /* default 4 KiB FIFO */

static _Alignas(64) uint8_t win[WIN_SIZE];

struct pair {
	struct vio_vmsg_shm drv, dev;
};

static void make_pair(struct pair *p)
{
	memset(win, 0xEE, sizeof(win));
	memset(p, 0, sizeof(*p));
	assert_int_equal(vio_vmsg_shm_format(&p->drv, win, WIN_SIZE, 0, 7), 0);
	assert_int_equal(vio_vmsg_shm_attach(&p->dev, win, WIN_SIZE), 0);
}

/* A message of len bytes whose header carries len and whose payload is seeded by seq. */
static void make_msg(uint8_t *m, uint32_t len, uint32_t seq)
{
	memset(m, 0, 64);
	m[0] = 0;
	m[1] = (uint8_t) seq;
	vio_put_le16(m + 6, (uint16_t) len);
	for (uint32_t i = 8; i < len; i++)
		m[i] = (uint8_t) (seq * 31u + i);
}

static void send_ok(struct vio_vmsg_shm *s, uint32_t len, uint32_t seq)
{
	uint8_t m[64];

	make_msg(m, len, seq);
	assert_int_equal(vio_vmsg_shm_send(s, m, len), 0);
}

static void recv_ok(struct vio_vmsg_shm *s, uint32_t len, uint32_t seq)
{
	uint8_t m[64], got[64];

	make_msg(m, len, seq);
	memset(got, 0xAA, sizeof(got));
	assert_int_equal(vio_vmsg_shm_recv(s, got, sizeof(got)), (int) len);
	assert_memory_equal(got, m, len);
}

static void put32(uint32_t off, uint32_t v)
{
	vio_put_le32(win + off, v);
}

static void format_attach_round_trip(void **state)
{
	struct pair p;

	(void) state;
	make_pair(&p);
	assert_memory_equal(win, "VIOM", 4);
	assert_int_equal(vio_get_le32(win + VIO_VMSG_SHM_OFF_MAGIC), VIO_VMSG_SHM_MAGIC);
	assert_int_equal(vio_get_le16(win + VIO_VMSG_SHM_OFF_VERSION), 1);
	assert_int_equal(vio_get_le16(win + VIO_VMSG_SHM_OFF_HDR_SIZE), 128);
	assert_int_equal(vio_get_le32(win + VIO_VMSG_SHM_OFF_WIN_SIZE), WIN_SIZE);
	assert_int_equal(vio_get_le32(win + VIO_VMSG_SHM_OFF_FIFO_SIZE), 4096);
	assert_int_equal(vio_get_le32(win + VIO_VMSG_SHM_OFF_D2DEV), 128);
	assert_int_equal(vio_get_le32(win + VIO_VMSG_SHM_OFF_DEV2D), 128 + 4096);
	assert_int_equal(vio_get_le32(win + VIO_VMSG_SHM_OFF_AREA), 128 + 8192);
	assert_int_equal(vio_get_le32(win + VIO_VMSG_SHM_OFF_AREA_SIZE), WIN_SIZE - 128 - 8192);
	assert_int_equal(vio_get_le32(win + VIO_VMSG_SHM_OFF_MAX_MSG), 64);
	assert_int_equal(vio_get_le32(win + VIO_VMSG_SHM_OFF_DRV_GEN), 7);
	assert_int_equal(vio_get_le32(win + VIO_VMSG_SHM_OFF_DEV_GEN), 1);
	for (uint32_t i = 52; i < 128; i++)
		assert_int_equal(win[i], 0);
	/* Both FIFOs start empty. */
	for (uint32_t off = 128; off < 128 + 8192; off += 4096) {
		assert_int_equal(vio_get_le32(win + off), 0);
		assert_int_equal(vio_get_le32(win + off + 64), 0);
	}

	assert_false(p.drv.is_device);
	assert_true(p.dev.is_device);
	assert_ptr_equal(p.drv.tx.base, win + 128);
	assert_ptr_equal(p.dev.rx.base, win + 128);
	assert_ptr_equal(p.drv.rx.base, win + 128 + 4096);
	assert_ptr_equal(p.dev.tx.base, win + 128 + 4096);
	assert_int_equal(p.dev.tx.nslots, NSLOTS);
	assert_int_equal(p.dev.rx.max_msg, 64);
	assert_int_equal(p.dev.area_off, p.drv.area_off);
	assert_int_equal(p.dev.area_size, p.drv.area_size);
	assert_int_equal(p.dev.peer_generation, 7);
	assert_int_equal(vio_vmsg_shm_peer_state(&p.dev), VIO_VMSG_SHM_STATE_READY);
	assert_int_equal(vio_vmsg_shm_peer_state(&p.drv), VIO_VMSG_SHM_STATE_READY);
	assert_false(vio_vmsg_shm_stopped(&p.drv));
	assert_false(vio_vmsg_shm_stopped(&p.dev));
}

static void format_rejects_bad_arguments(void **state)
{
	struct vio_vmsg_shm s = {0};

	(void) state;
	assert_int_equal(vio_vmsg_shm_format(&s, win, WIN_SIZE, 0, 0), -VIO_EINVAL);
	assert_int_equal(vio_vmsg_shm_format(&s, NULL, WIN_SIZE, 0, 1), -VIO_EINVAL);
	assert_int_equal(vio_vmsg_shm_format(&s, win + 2, WIN_SIZE - 2, 0, 1), -VIO_EINVAL);
	assert_int_equal(vio_vmsg_shm_format(&s, win, WIN_SIZE, 100, 1), -VIO_EINVAL);
	assert_int_equal(vio_vmsg_shm_format(&s, win, WIN_SIZE, 4097, 1), -VIO_EINVAL);
	assert_int_equal(vio_vmsg_shm_format(&s, win, WIN_SIZE, 192, 1), -VIO_EINVAL);
	/* No room left for the area. */
	assert_int_equal(vio_vmsg_shm_format(&s, win, 128 + 8192, 4096, 1), -VIO_EINVAL);
	assert_int_equal(vio_vmsg_shm_format(&s, win, 128 + 8192 + 1, 4096, 1), 0);
	assert_int_equal(s.area_size, 1);
	/* The smallest FIFO: two slots, one message in flight. */
	assert_int_equal(vio_vmsg_shm_format(&s, win, 1024, 256, 1), 0);
	assert_int_equal(s.tx.nslots, 2);
}

static void attach_waits_for_driver(void **state)
{
	struct pair p;
	struct vio_vmsg_shm d = {0};

	(void) state;
	memset(win, 0, sizeof(win));
	assert_int_equal(vio_vmsg_shm_attach(&d, win, WIN_SIZE), -VIO_EAGAIN);
	assert_true(vio_vmsg_shm_stopped(&d));

	make_pair(&p);
	put32(VIO_VMSG_SHM_OFF_DRV_STATE, VIO_VMSG_SHM_STATE_RESET);
	assert_int_equal(vio_vmsg_shm_attach(&d, win, WIN_SIZE), -VIO_EAGAIN);

	make_pair(&p);
	put32(VIO_VMSG_SHM_OFF_MAGIC, 0);
	assert_int_equal(vio_vmsg_shm_attach(&d, win, WIN_SIZE), -VIO_EAGAIN);

	make_pair(&p);
	put32(VIO_VMSG_SHM_OFF_DRV_GEN, 0);
	assert_int_equal(vio_vmsg_shm_attach(&d, win, WIN_SIZE), -VIO_EAGAIN);

	assert_int_equal(vio_vmsg_shm_attach(&d, NULL, WIN_SIZE), -VIO_EINVAL);
	assert_int_equal(vio_vmsg_shm_attach(&d, win + 1, WIN_SIZE - 1), -VIO_EINVAL);
	assert_int_equal(vio_vmsg_shm_attach(&d, win, 128), -VIO_EINVAL);
}

struct bad_field {
	uint32_t off;
	uint32_t width; /* 2 or 4 */
	uint32_t value;
	const char *what;
};

static void attach_rejects_each_bad_field(void **state)
{
	static const struct bad_field bad[] = {
	    {VIO_VMSG_SHM_OFF_VERSION, 2, 2, "version"},
	    {VIO_VMSG_SHM_OFF_VERSION, 2, 0, "version 0"},
	    {VIO_VMSG_SHM_OFF_HDR_SIZE, 2, 64, "header size"},
	    {VIO_VMSG_SHM_OFF_HDR_SIZE, 2, 256, "header size"},
	    {VIO_VMSG_SHM_OFF_WIN_SIZE, 4, WIN_SIZE - 1, "window size"},
	    {VIO_VMSG_SHM_OFF_WIN_SIZE, 4, WIN_SIZE * 2, "window size"},
	    {VIO_VMSG_SHM_OFF_FIFO_SIZE, 4, 100, "fifo size below two slots"},
	    {VIO_VMSG_SHM_OFF_FIFO_SIZE, 4, 4097, "fifo size not in slots"},
	    {VIO_VMSG_SHM_OFF_FIFO_SIZE, 4, 0xFFFFFFC0u, "fifo size huge"},
	    {VIO_VMSG_SHM_OFF_FIFO_SIZE, 4, 4160, "fifos overlap"},
	    {VIO_VMSG_SHM_OFF_D2DEV, 4, 64, "fifo over header"},
	    {VIO_VMSG_SHM_OFF_D2DEV, 4, 132, "fifo misaligned"},
	    {VIO_VMSG_SHM_OFF_D2DEV, 4, 128 + 4096, "fifos coincide"},
	    {VIO_VMSG_SHM_OFF_D2DEV, 4, WIN_SIZE - 4096 + 64, "fifo past end"},
	    {VIO_VMSG_SHM_OFF_D2DEV, 4, 0xFFFFF000u, "fifo offset wraps"},
	    {VIO_VMSG_SHM_OFF_DEV2D, 4, 128 + 2048, "fifos overlap"},
	    {VIO_VMSG_SHM_OFF_DEV2D, 4, 128 + 8192, "fifo over area"},
	    {VIO_VMSG_SHM_OFF_AREA, 4, 0, "area over header"},
	    {VIO_VMSG_SHM_OFF_AREA, 4, 128 + 8192 - 64, "area over fifo"},
	    {VIO_VMSG_SHM_OFF_AREA, 4, 128 + 8192 + 64, "area past end"},
	    {VIO_VMSG_SHM_OFF_AREA, 4, 0xFFFFFF00u, "area offset wraps"},
	    {VIO_VMSG_SHM_OFF_AREA_SIZE, 4, 0, "empty area"},
	    {VIO_VMSG_SHM_OFF_AREA_SIZE, 4, WIN_SIZE, "area past end"},
	    {VIO_VMSG_SHM_OFF_AREA_SIZE, 4, 0xFFFFFFFFu, "area size wraps"},
	    {VIO_VMSG_SHM_OFF_MAX_MSG, 4, 51, "max message below the draft minimum"},
	    {VIO_VMSG_SHM_OFF_MAX_MSG, 4, 65, "max message above the slot"},
	    {VIO_VMSG_SHM_OFF_MAX_MSG, 4, 0, "max message 0"},
	    {128 + VIO_VMSG_SHM_FIFO_TAIL, 4, NSLOTS, "tail out of range"},
	    {128 + 4096, 4, NSLOTS, "head out of range"},
	};
	struct pair p;

	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vio_vmsg_shm d = {0};

		make_pair(&p);
		if (bad[i].width == 2)
			vio_put_le16(win + bad[i].off, (uint16_t) bad[i].value);
		else
			put32(bad[i].off, bad[i].value);
		if (vio_vmsg_shm_attach(&d, win, WIN_SIZE) != -VIO_EINVAL)
			fail_msg("attach accepted a bad %s (field at %u = %u)", bad[i].what,
				 bad[i].off, bad[i].value);
		assert_true(vio_vmsg_shm_stopped(&d));
		assert_int_equal(vio_vmsg_shm_send(&d, "\0\0\0\0\0\0\x08\0", 8), -VIO_EIO);
	}
	/* A smaller but valid maximum is taken as given. */
	make_pair(&p);
	put32(VIO_VMSG_SHM_OFF_MAX_MSG, 52);
	assert_int_equal(vio_vmsg_shm_attach(&p.dev, win, WIN_SIZE), 0);
	assert_int_equal(p.dev.tx.max_msg, 52);
}

static void send_recv_in_order(void **state)
{
	struct pair p;
	uint8_t buf[64];

	(void) state;
	make_pair(&p);
	assert_int_equal(vio_vmsg_shm_recv(&p.dev, buf, sizeof(buf)), 0);
	assert_int_equal(vio_vmsg_shm_recv(&p.drv, buf, sizeof(buf)), 0);
	for (uint32_t i = 0; i < 20; i++)
		send_ok(&p.drv, 8 + (i * 7) % 57, i);
	send_ok(&p.dev, 64, 100);
	send_ok(&p.dev, 8, 101);
	for (uint32_t i = 0; i < 20; i++)
		recv_ok(&p.dev, 8 + (i * 7) % 57, i);
	assert_int_equal(vio_vmsg_shm_recv(&p.dev, buf, sizeof(buf)), 0);
	recv_ok(&p.drv, 64, 100);
	recv_ok(&p.drv, 8, 101);
	assert_int_equal(vio_vmsg_shm_recv(&p.drv, buf, sizeof(buf)), 0);
	/* Unused slot bytes are cleared, not left from earlier messages. */
	send_ok(&p.dev, 8, 102);
	for (uint32_t i = 8; i < 64; i++)
		assert_int_equal(p.dev.tx.base[128 + 2 * 64 + i], 0);
}

static void wraps_around(void **state)
{
	struct pair p;
	uint32_t sent = 0, got = 0;

	(void) state;
	make_pair(&p);
	/* Batches of varying size push both indices around the ring many times. */
	for (uint32_t round = 0; round < 500; round++) {
		uint32_t n = 1 + (round * 13) % (NSLOTS - 1);

		for (uint32_t i = 0; i < n; i++, sent++)
			send_ok(&p.drv, 8 + sent % 57, sent);
		for (uint32_t i = 0; i < n; i++, got++)
			recv_ok(&p.dev, 8 + got % 57, got);
	}
	assert_true(sent > 10 * NSLOTS);
	assert_int_equal(got, sent);
}

static void full_fifo(void **state)
{
	struct pair p;
	uint8_t m[64];

	(void) state;
	make_pair(&p);
	for (uint32_t i = 0; i < NSLOTS - 1; i++)
		send_ok(&p.dev, 16, i);
	make_msg(m, 16, 999);
	assert_int_equal(vio_vmsg_shm_send(&p.dev, m, 16), -VIO_ENOSPC);
	assert_false(vio_vmsg_shm_stopped(&p.dev));
	recv_ok(&p.drv, 16, 0);
	send_ok(&p.dev, 16, NSLOTS - 1);
	assert_int_equal(vio_vmsg_shm_send(&p.dev, m, 16), -VIO_ENOSPC);
	for (uint32_t i = 1; i < NSLOTS; i++)
		recv_ok(&p.drv, 16, i);
}

static void send_rejects_bad_messages(void **state)
{
	struct pair p;
	uint8_t m[80];

	(void) state;
	make_pair(&p);
	make_msg(m, 8, 0);
	assert_int_equal(vio_vmsg_shm_send(&p.drv, m, 7), -VIO_EINVAL);
	assert_int_equal(vio_vmsg_shm_send(&p.drv, NULL, 8), -VIO_EINVAL);
	make_msg(m, 20, 0);
	assert_int_equal(vio_vmsg_shm_send(&p.drv, m, 21), -VIO_EINVAL);
	vio_put_le16(m + 6, 65);
	assert_int_equal(vio_vmsg_shm_send(&p.drv, m, 65), -VIO_EINVAL);
	assert_false(vio_vmsg_shm_stopped(&p.drv));
	assert_int_equal(vio_get_le32(p.drv.tx.base), 0);
}

static void recv_rejects_small_buffer(void **state)
{
	struct pair p;
	uint8_t buf[64];

	(void) state;
	make_pair(&p);
	send_ok(&p.drv, 8, 0);
	assert_int_equal(vio_vmsg_shm_recv(&p.dev, buf, 63), -VIO_EINVAL);
	assert_int_equal(vio_vmsg_shm_recv(&p.dev, NULL, 64), -VIO_EINVAL);
	recv_ok(&p.dev, 8, 0);
}

static void head_out_of_range_breaks(void **state)
{
	struct pair p;
	uint8_t buf[64];

	(void) state;
	make_pair(&p);
	send_ok(&p.drv, 24, 1);
	put32(128, NSLOTS); /* the driver-to-device head */
	memset(buf, 0x5A, sizeof(buf));
	assert_int_equal(vio_vmsg_shm_recv(&p.dev, buf, sizeof(buf)), -VIO_EIO);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0x5A);
	assert_true(p.dev.rx.broken);
	assert_true(vio_vmsg_shm_stopped(&p.dev));
	assert_int_equal(vio_get_le32(win + VIO_VMSG_SHM_OFF_DEV_STATE),
			 VIO_VMSG_SHM_STATE_STOPPED);
	assert_int_equal(vio_vmsg_shm_peer_state(&p.drv), VIO_VMSG_SHM_STATE_STOPPED);
	/* The tail did not move and the device touches the FIFOs no more. */
	assert_int_equal(vio_get_le32(win + 128 + 64), 0);
	put32(128, 1);
	assert_int_equal(vio_vmsg_shm_recv(&p.dev, buf, sizeof(buf)), -VIO_EIO);
	assert_int_equal(vio_vmsg_shm_send(&p.dev, buf, 8), -VIO_EIO);
	assert_int_equal(vio_get_le32(win + 128 + 4096), 0);

	/* A re-format brings it back. */
	assert_int_equal(vio_vmsg_shm_format(&p.drv, win, WIN_SIZE, 0, 8), 0);
	assert_true(vio_vmsg_shm_peer_restarted(&p.dev));
	assert_int_equal(vio_vmsg_shm_attach(&p.dev, win, WIN_SIZE), 0);
	send_ok(&p.drv, 30, 2);
	recv_ok(&p.dev, 30, 2);
}

static void tail_out_of_range_breaks(void **state)
{
	struct pair p;
	uint8_t m[64];

	(void) state;
	make_pair(&p);
	put32(128 + 64, 0xFFFFFFFFu); /* the driver-to-device tail, the device's word */
	make_msg(m, 8, 0);
	assert_int_equal(vio_vmsg_shm_send(&p.drv, m, 8), -VIO_EIO);
	assert_true(vio_vmsg_shm_stopped(&p.drv));
	assert_int_equal(vio_get_le32(win + 128), 0);
	assert_int_equal(vio_vmsg_shm_peer_state(&p.dev), VIO_VMSG_SHM_STATE_STOPPED);
	assert_int_equal(vio_vmsg_shm_recv(&p.drv, m, sizeof(m)), -VIO_EIO);
}

static void bad_message_size_dropped(void **state)
{
	static const uint16_t sizes[] = {0, 7, 65, 0xFFFF};
	struct pair p;
	uint8_t buf[64];

	(void) state;
	make_pair(&p);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *slot = p.drv.tx.base + 128 + p.drv.tx.pos * 64;

		send_ok(&p.drv, 16, (uint32_t) i);
		vio_put_le16(slot + 6, sizes[i]);
		send_ok(&p.drv, 12, 50 + (uint32_t) i);
		memset(buf, 0x5A, sizeof(buf));
		assert_int_equal(vio_vmsg_shm_recv(&p.dev, buf, sizeof(buf)), -VIO_EIO);
		assert_int_equal(buf[0], 0x5A);
		assert_false(vio_vmsg_shm_stopped(&p.dev));
		recv_ok(&p.dev, 12, 50 + (uint32_t) i);
	}
	/* With a smaller advertised maximum the limit follows it. */
	put32(VIO_VMSG_SHM_OFF_MAX_MSG, 52);
	assert_int_equal(vio_vmsg_shm_attach(&p.dev, win, WIN_SIZE), 0);
	send_ok(&p.drv, 53, 1);
	send_ok(&p.drv, 52, 2);
	assert_int_equal(vio_vmsg_shm_recv(&p.dev, buf, sizeof(buf)), -VIO_EIO);
	recv_ok(&p.dev, 52, 2);
	uint8_t m[64];
	make_msg(m, 53, 0);
	assert_int_equal(vio_vmsg_shm_send(&p.dev, m, 53), -VIO_EINVAL);
}

static void generation_change_detected(void **state)
{
	struct pair p;

	(void) state;
	make_pair(&p);
	assert_false(vio_vmsg_shm_peer_restarted(&p.dev));
	/* The device's first attach is not a restart for the driver. */
	assert_false(vio_vmsg_shm_peer_restarted(&p.drv));
	assert_int_equal(p.drv.peer_generation, 1);
	assert_false(vio_vmsg_shm_peer_restarted(&p.drv));

	/* Device restart without a re-format: new device generation, indices kept. */
	send_ok(&p.dev, 8, 0);
	send_ok(&p.drv, 8, 1);
	recv_ok(&p.dev, 8, 1);
	memset(&p.dev, 0, sizeof(p.dev));
	assert_int_equal(vio_vmsg_shm_attach(&p.dev, win, WIN_SIZE), 0);
	assert_int_equal(p.dev.tx.pos, 1);
	assert_int_equal(p.dev.rx.pos, 1);
	assert_true(vio_vmsg_shm_peer_restarted(&p.drv));
	assert_false(vio_vmsg_shm_peer_restarted(&p.drv));
	recv_ok(&p.drv, 8, 0);

	/* Driver re-format: the device sees it once. */
	assert_int_equal(vio_vmsg_shm_format(&p.drv, win, WIN_SIZE, 0, 9), 0);
	assert_true(vio_vmsg_shm_peer_restarted(&p.dev));
	assert_false(vio_vmsg_shm_peer_restarted(&p.dev));
	assert_int_equal(p.dev.peer_generation, 9);
	assert_int_equal(vio_vmsg_shm_attach(&p.dev, win, WIN_SIZE), 0);
	assert_int_equal(p.dev.rx.pos, 0);
	/* The device generation word wraps past 0, which means "none". */
	memset(&p.dev, 0, sizeof(p.dev));
	put32(VIO_VMSG_SHM_OFF_DEV_GEN, 0xFFFFFFFFu);
	assert_int_equal(vio_vmsg_shm_attach(&p.dev, win, WIN_SIZE), 0);
	assert_int_equal(vio_get_le32(win + VIO_VMSG_SHM_OFF_DEV_GEN), 1);
}

/* The device-to-driver FIFO (right after the driver-to-device one) and its words. */
#define DEV2D (128u + 4096u)

static uint32_t dev2d_head(void)
{
	return vio_get_le32(win + DEV2D);
}

/* A device waiting for room sees the driver's RESET: it stops, nothing is written. */
static void session_ends_on_driver_reset(void **state)
{
	uint8_t m[64], before[64];
	struct pair p;

	(void) state;
	make_pair(&p);
	send_ok(&p.drv, 16, 1);
	send_ok(&p.dev, 16, 2);
	recv_ok(&p.drv, 16, 2);
	for (uint32_t i = 0; i < NSLOTS - 1; i++)
		send_ok(&p.dev, 16, 10 + i);
	make_msg(m, 16, 999);
	assert_int_equal(vio_vmsg_shm_send(&p.dev, m, 16), -VIO_ENOSPC);
	assert_false(vio_vmsg_shm_session_over(&p.dev));

	/* The driver begins a re-format: the device is still READY, so it must wait. */
	assert_int_equal(vio_vmsg_shm_driver_leave(&p.drv, win, WIN_SIZE), 0);
	assert_int_equal(vio_get_le32(win + VIO_VMSG_SHM_OFF_DRV_STATE), VIO_VMSG_SHM_STATE_RESET);
	/* Room appears (a driver may still drain while it leaves): the device publishes nothing. */
	put32(DEV2D + VIO_VMSG_SHM_FIFO_TAIL, 5);
	memcpy(before, win + DEV2D + 128 + p.dev.tx.pos * 64, sizeof(before));
	assert_int_equal(vio_vmsg_shm_send(&p.dev, m, 16), -VIO_ECONNRESET);
	assert_memory_equal(win + DEV2D + 128 + p.dev.tx.pos * 64, before, sizeof(before));
	assert_int_equal(dev2d_head(), p.dev.tx.pos);
	assert_true(vio_vmsg_shm_session_over(&p.dev));
	/* Nor is the request waiting for it taken. */
	assert_int_equal(vio_vmsg_shm_recv(&p.dev, m, sizeof(m)), -VIO_ECONNRESET);
	assert_int_equal(vio_get_le32(win + 128 + VIO_VMSG_SHM_FIFO_TAIL), 0);
	/* The session stays over even if the driver's words look right again. */
	put32(VIO_VMSG_SHM_OFF_DRV_STATE, VIO_VMSG_SHM_STATE_READY);
	assert_true(vio_vmsg_shm_session_over(&p.dev));
	assert_int_equal(vio_vmsg_shm_send(&p.dev, m, 16), -VIO_ECONNRESET);
	assert_false(vio_vmsg_shm_stopped(&p.dev)); /* not a corrupt window */

	/* The device leaves (RESET): the driver may re-format; the device attaches again. */
	vio_vmsg_shm_detach(&p.dev);
	assert_int_equal(vio_vmsg_shm_driver_leave(&p.drv, win, WIN_SIZE), 1);
	assert_int_equal(vio_vmsg_shm_format(&p.drv, win, WIN_SIZE, 0, 8), 0);
	assert_int_equal(vio_vmsg_shm_attach(&p.dev, win, WIN_SIZE), 0);
	assert_false(vio_vmsg_shm_session_over(&p.dev));
	send_ok(&p.dev, 16, 3);
	recv_ok(&p.drv, 16, 3);
	assert_int_equal(vio_vmsg_shm_recv(&p.drv, m, sizeof(m)), 0);
}

/* A re-format without a RESET first (a driver that does not wait): also the end. */
static void session_ends_on_new_generation(void **state)
{
	uint8_t m[64];
	struct pair p;

	(void) state;
	make_pair(&p);
	for (uint32_t i = 0; i < 3; i++)
		send_ok(&p.dev, 16, i);
	assert_int_equal(vio_vmsg_shm_format(&p.drv, win, WIN_SIZE, 0, 8), 0);
	make_msg(m, 16, 5);
	/* The new FIFO has room at the old head (3), but nothing goes there. */
	assert_int_equal(vio_vmsg_shm_send(&p.dev, m, 16), -VIO_ECONNRESET);
	assert_int_equal(dev2d_head(), 0);
	assert_int_equal(vio_vmsg_shm_recv(&p.drv, m, sizeof(m)), 0);
	/* A driver-side view never ends this way: the driver owns the session. */
	assert_false(vio_vmsg_shm_session_over(&p.drv));
}

/*
 * A head store of the old session that lands after the format (a driver that
 * gave up waiting for the device): the next attach starts the indices it owns
 * at 0 again, so the driver never reads the old slots.
 */
static void attach_after_reformat_restarts_indices(void **state)
{
	uint8_t m[64];
	struct pair p;

	(void) state;
	make_pair(&p);
	for (uint32_t i = 0; i < 4; i++)
		send_ok(&p.dev, 16, i);
	send_ok(&p.drv, 16, 9);
	recv_ok(&p.dev, 16, 9);
	assert_int_equal(vio_vmsg_shm_format(&p.drv, win, WIN_SIZE, 0, 8), 0);
	put32(DEV2D, 4);			/* the late head */
	put32(128 + VIO_VMSG_SHM_FIFO_TAIL, 1); /* the late tail */
	assert_int_equal(vio_vmsg_shm_attach(&p.dev, win, WIN_SIZE), 0);
	assert_int_equal(p.dev.tx.pos, 0);
	assert_int_equal(p.dev.rx.pos, 0);
	assert_int_equal(dev2d_head(), 0);
	assert_int_equal(vio_get_le32(win + 128 + VIO_VMSG_SHM_FIFO_TAIL), 0);
	assert_int_equal(vio_vmsg_shm_recv(&p.drv, m, sizeof(m)), 0);
	send_ok(&p.dev, 16, 6);
	recv_ok(&p.drv, 16, 6);
}

/* Cache hooks that play a driver re-formatting while the device copies a slot. */
static void reformat_on_slot(void *ctx, const void *ptr, uint32_t len)
{
	struct vio_vmsg_shm *drv = ctx;
	uint32_t next = vio_get_le32(win + VIO_VMSG_SHM_OFF_DRV_GEN) + 1u;

	(void) ptr;
	if (len == VIO_VMSG_SHM_SLOT_SIZE)
		assert_int_equal(vio_vmsg_shm_format(drv, win, WIN_SIZE, 0, next), 0);
}

/* The race the checks around the slot copy close: nothing of it is published or taken. */
static void reformat_during_copy(void **state)
{
	struct vio_vmsg_cache_ops ops = {.ctx = NULL};
	uint8_t m[64];
	struct pair p;

	(void) state;
	make_pair(&p);
	send_ok(&p.dev, 16, 1);
	recv_ok(&p.drv, 16, 1);
	ops.ctx = &p.drv;
	/* Send: the slot is written and cleaned, the driver re-formats, head stays 0. */
	ops.clean = reformat_on_slot;
	p.dev.cache = &ops;
	make_msg(m, 16, 2);
	assert_int_equal(vio_vmsg_shm_send(&p.dev, m, 16), -VIO_ECONNRESET);
	assert_int_equal(dev2d_head(), 0);
	assert_int_equal(vio_vmsg_shm_recv(&p.drv, m, sizeof(m)), 0);

	/* Receive: the driver re-formats while the slot is read; the tail stays 0. */
	p.dev.cache = NULL;
	assert_int_equal(vio_vmsg_shm_attach(&p.dev, win, WIN_SIZE), 0);
	send_ok(&p.drv, 16, 3);
	ops.clean = NULL;
	ops.invalidate = reformat_on_slot;
	p.dev.cache = &ops;
	assert_int_equal(vio_vmsg_shm_recv(&p.dev, m, sizeof(m)), -VIO_ECONNRESET);
	assert_int_equal(vio_get_le32(win + 128 + VIO_VMSG_SHM_FIFO_TAIL), 0);
	assert_int_equal(p.dev.rx.pos, 0);
}

static void driver_leave_and_device_init(void **state)
{
	struct vio_vmsg_shm s, d;
	uint8_t m[64];

	(void) state;
	memset(win, 0xEE, sizeof(win));
	memset(&s, 0, sizeof(s));
	memset(&d, 0, sizeof(d));
	/* A device that died READY, then a new one starts: it marks itself RESET. */
	put32(VIO_VMSG_SHM_OFF_DEV_STATE, VIO_VMSG_SHM_STATE_READY);
	assert_int_equal(vio_vmsg_shm_driver_leave(&s, win, WIN_SIZE), 0);
	assert_int_equal(vio_vmsg_shm_device_init(&d, win, WIN_SIZE), 0);
	assert_int_equal(vio_get_le32(win + VIO_VMSG_SHM_OFF_DEV_STATE), VIO_VMSG_SHM_STATE_RESET);
	assert_int_equal(vio_vmsg_shm_driver_leave(&s, win, WIN_SIZE), 1);
	/* Not attached yet: nothing is sent or taken. */
	make_msg(m, 16, 1);
	assert_int_equal(vio_vmsg_shm_send(&d, m, 16), -VIO_EIO);
	assert_int_equal(vio_vmsg_shm_recv(&d, m, sizeof(m)), -VIO_EIO);
	/* A stopped device has left the FIFOs too. */
	put32(VIO_VMSG_SHM_OFF_DEV_STATE, VIO_VMSG_SHM_STATE_STOPPED);
	assert_int_equal(vio_vmsg_shm_driver_leave(&s, win, WIN_SIZE), 1);
	/* Bad arguments. */
	assert_int_equal(vio_vmsg_shm_driver_leave(NULL, win, WIN_SIZE), -VIO_EINVAL);
	assert_int_equal(vio_vmsg_shm_driver_leave(&s, win + 1, WIN_SIZE), -VIO_EINVAL);
	assert_int_equal(vio_vmsg_shm_driver_leave(&s, win, 64), -VIO_EINVAL);
	assert_int_equal(vio_vmsg_shm_device_init(NULL, win, WIN_SIZE), -VIO_EINVAL);
	assert_int_equal(vio_vmsg_shm_device_init(&d, win + 2, WIN_SIZE), -VIO_EINVAL);
	assert_int_equal(vio_vmsg_shm_device_init(&d, win, 100), -VIO_EINVAL);
	/* After init the device attaches once the driver formats. */
	assert_int_equal(vio_vmsg_shm_format(&s, win, WIN_SIZE, 0, 3), 0);
	assert_int_equal(vio_vmsg_shm_attach(&d, win, WIN_SIZE), 0);
	send_ok(&d, 16, 2);
	recv_ok(&s, 16, 2);
}

static void stop_and_detach(void **state)
{
	struct pair p;

	(void) state;
	make_pair(&p);
	vio_vmsg_shm_detach(&p.dev);
	assert_int_equal(vio_vmsg_shm_peer_state(&p.drv), VIO_VMSG_SHM_STATE_RESET);
	assert_true(vio_vmsg_shm_stopped(&p.dev));
	vio_vmsg_shm_stop(&p.drv);
	assert_int_equal(vio_vmsg_shm_peer_state(&p.dev), VIO_VMSG_SHM_STATE_STOPPED);
	assert_int_equal(vio_vmsg_shm_attach(&p.dev, win, WIN_SIZE), -VIO_EAGAIN);
}

static void count_ring(void *ctx)
{
	(*(int *) ctx)++;
}

static void doorbell(void **state)
{
	struct pair p;
	int rings = 0;

	(void) state;
	make_pair(&p);
	vio_vmsg_shm_ring(&p.dev); /* polling: nothing to call */
	p.drv.bell = (struct vio_vmsg_doorbell){count_ring, &rings};
	send_ok(&p.drv, 8, 0);
	assert_int_equal(rings, 0);
	vio_vmsg_shm_ring(&p.drv);
	assert_int_equal(rings, 1);
	/* Format and attach leave the caller's doorbell alone. */
	assert_int_equal(vio_vmsg_shm_format(&p.drv, win, WIN_SIZE, 0, 3), 0);
	vio_vmsg_shm_ring(&p.drv);
	assert_int_equal(rings, 2);
}

struct cache_log {
	unsigned clean, invalidate;
	const uint8_t *last_clean;
};

static void log_clean(void *ctx, const void *ptr, uint32_t len)
{
	struct cache_log *l = ctx;

	assert_true((const uint8_t *) ptr >= win && (const uint8_t *) ptr + len <= win + WIN_SIZE);
	l->clean++;
	l->last_clean = ptr;
}

static void log_invalidate(void *ctx, const void *ptr, uint32_t len)
{
	struct cache_log *l = ctx;

	assert_true((const uint8_t *) ptr >= win && (const uint8_t *) ptr + len <= win + WIN_SIZE);
	l->invalidate++;
}

static void cache_hooks(void **state)
{
	struct cache_log dl = {0}, vl = {0};
	const struct vio_vmsg_cache_ops dops = {log_clean, log_invalidate, &dl};
	const struct vio_vmsg_cache_ops vops = {log_clean, log_invalidate, &vl};
	struct pair p;

	(void) state;
	memset(&p, 0, sizeof(p));
	p.drv.cache = &dops;
	p.dev.cache = &vops;
	assert_int_equal(vio_vmsg_shm_format(&p.drv, win, WIN_SIZE, 0, 4), 0);
	assert_true(dl.clean >= 3);
	/* The state word is published last. */
	assert_ptr_equal(dl.last_clean, win + VIO_VMSG_SHM_OFF_DRV_STATE);
	assert_int_equal(vio_vmsg_shm_attach(&p.dev, win, WIN_SIZE), 0);
	assert_true(vl.invalidate >= 3);
	assert_ptr_equal(vl.last_clean, win + VIO_VMSG_SHM_OFF_DEV_STATE);

	dl = (struct cache_log){0};
	vl = (struct cache_log){0};
	send_ok(&p.drv, 40, 3);
	assert_int_equal(dl.clean, 2); /* the slot, then the head */
	assert_ptr_equal(dl.last_clean, win + 128);
	assert_int_equal(dl.invalidate, 1); /* the tail */
	recv_ok(&p.dev, 40, 3);
	/* The driver's state and generation (one line), the head, the slot, the driver's words
	 * again (a re-format meanwhile: the copy is not taken). */
	assert_int_equal(vl.invalidate, 4);
	assert_int_equal(vl.clean, 1); /* the tail */
	assert_ptr_equal(vl.last_clean, win + 128 + 64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(format_attach_round_trip),
	    cmocka_unit_test(format_rejects_bad_arguments),
	    cmocka_unit_test(attach_waits_for_driver),
	    cmocka_unit_test(attach_rejects_each_bad_field),
	    cmocka_unit_test(send_recv_in_order),
	    cmocka_unit_test(wraps_around),
	    cmocka_unit_test(full_fifo),
	    cmocka_unit_test(send_rejects_bad_messages),
	    cmocka_unit_test(recv_rejects_small_buffer),
	    cmocka_unit_test(head_out_of_range_breaks),
	    cmocka_unit_test(tail_out_of_range_breaks),
	    cmocka_unit_test(bad_message_size_dropped),
	    cmocka_unit_test(generation_change_detected),
	    cmocka_unit_test(session_ends_on_driver_reset),
	    cmocka_unit_test(session_ends_on_new_generation),
	    cmocka_unit_test(attach_after_reformat_restarts_indices),
	    cmocka_unit_test(reformat_during_copy),
	    cmocka_unit_test(driver_leave_and_device_init),
	    cmocka_unit_test(stop_and_detach),
	    cmocka_unit_test(doorbell),
	    cmocka_unit_test(cache_hooks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
