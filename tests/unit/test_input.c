/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-input device over the simulated keyboard and touchscreen: every
 * config selector, the write rules of select/subsel, the eventq (whole
 * reports only, the backlog bound, buffers of every shape), the statusq
 * (what reaches the provider, what is ignored, what breaks the device),
 * features and reset. Driven through the loopback transport and the
 * driver-side queue.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h> /* after the headers it needs */

#include "vioport/byteorder.h"
#include "vioport/errno.h"
#include "vioport/input.h"
#include "vioport/loopback.h"
#include "vioport/sim_input.h"

#define ARENA_SIZE (256u * 1024u)
#define BUS_BASE   0x10000ull
#define QSIZE	   16u
#define BACKLOG	   32u
#define UNTOUCHED  0xeeu
#define TS_W	   800
#define TS_H	   480
#define TS_RES	   10
#define TS_SLOTS   2

/* A buffer the test queued, by token. */
struct tok {
	uint8_t *p;
	uint32_t len;
};

static struct {
	_Alignas(16) uint8_t arena[ARENA_SIZE];
	struct vio_sim_input sim;
	struct vio_input input;
	struct vio_input_event backlog[BACKLOG];
	struct vio_queue queues[2];
	struct vio_loopback lb;
	struct vio_drvq eq, sq;
	struct vio_drvq_slot eslots[QSIZE], sslots[QSIZE];
	struct vio_input_ops ops;
	struct tok toks[64];
	unsigned ntok;
	struct vio_desc *table;
	unsigned resends; /* status hook: reports to send from inside it */
} F;

static int fixture(void **state)
{
	(void) state;
	memset(&F, 0, sizeof(F));
	F.ops = vio_sim_input_ops;
	return 0;
}

/* Brings the device up over the simulation already set up, with backlog events. */
static void bring_up(uint64_t offer, uint64_t want, uint32_t backlog)
{
	assert_int_equal(
	    vio_input_init(&F.input, &F.ops, &F.sim, F.backlog, backlog, F.queues, QSIZE, offer),
	    0);
	vio_sim_input_attach(&F.sim, &F.input);
	assert_int_equal(vio_loopback_init(&F.lb, &F.input.dev, F.arena, sizeof(F.arena), BUS_BASE),
			 0);
	assert_int_equal(vio_loopback_negotiate(&F.lb, want), 0);
	assert_int_equal(vio_loopback_queue(&F.lb, VIO_INPUT_EVENTQ, QSIZE, &F.eq, F.eslots), 0);
	assert_int_equal(vio_loopback_queue(&F.lb, VIO_INPUT_STATUSQ, QSIZE, &F.sq, F.sslots), 0);
	assert_int_equal(vio_loopback_driver_ok(&F.lb), 0);
}

static void start_kbd(void)
{
	vio_sim_input_init_keyboard(&F.sim);
	bring_up(0, ~0ull, BACKLOG);
}

static void start_touch(void)
{
	assert_int_equal(vio_sim_input_init_touchscreen(&F.sim, TS_W, TS_H, TS_RES, TS_SLOTS), 0);
	bring_up(0, ~0ull, BACKLOG);
}

static uint8_t *alloc(uint32_t len)
{
	uint8_t *p = vio_loopback_alloc(&F.lb, len ? len : 1, NULL);

	assert_non_null(p);
	memset(p, UNTOUCHED, len ? len : 1);
	return p;
}

static struct vio_buf buf(const void *p, uint32_t len)
{
	struct vio_buf b = {vio_loopback_bus(&F.lb, p), len};

	return b;
}

static bool broken(void)
{
	return (F.input.dev.status & VIO_STATUS_NEEDS_RESET) != 0;
}

/* ---- config ---- */

/* Writes select then subsel, one byte each as Linux does; returns size. */
static uint8_t cfg_select(uint8_t sel, uint8_t sub)
{
	uint8_t size;

	assert_int_equal(vio_device_write_config(&F.input.dev, VIO_INPUT_CFG_SELECT, &sel, 1), 0);
	assert_int_equal(vio_device_write_config(&F.input.dev, VIO_INPUT_CFG_SUBSEL, &sub, 1), 0);
	assert_int_equal(vio_device_read_config(&F.input.dev, VIO_INPUT_CFG_SIZE, &size, 1), 0);
	return size;
}

static void cfg_union(uint8_t *u)
{
	assert_int_equal(
	    vio_device_read_config(&F.input.dev, VIO_INPUT_CFG_U, u, VIO_INPUT_CFG_U_SIZE), 0);
}

/* Expects size for select/subsel and zeroes in the union past it. */
static void expect_size(uint8_t sel, uint8_t sub, uint8_t want, uint8_t *u)
{
	assert_int_equal(cfg_select(sel, sub), want);
	cfg_union(u);
	for (unsigned i = want; i < VIO_INPUT_CFG_U_SIZE; i++)
		assert_int_equal(u[i], 0);
}

static bool bit(const uint8_t *map, unsigned n)
{
	return (map[n / 8u] >> (n % 8u)) & 1u;
}

static void config_identity_keyboard(void **state)
{
	uint8_t u[VIO_INPUT_CFG_U_SIZE];

	(void) state;
	start_kbd();
	assert_int_equal(F.input.dev.device_id, 18);
	assert_int_equal(F.input.dev.num_queues, 2);
	assert_int_equal(F.input.dev.config_len, VIO_INPUT_CONFIG_SIZE);
	expect_size(VIO_INPUT_CFG_ID_NAME, 0, 16, u);
	assert_memory_equal(u, "vioport keyboard", 16);
	expect_size(VIO_INPUT_CFG_ID_SERIAL, 0, 13, u);
	assert_memory_equal(u, "vioport-kbd-0", 13);
	expect_size(VIO_INPUT_CFG_ID_DEVIDS, 0, VIO_INPUT_DEVIDS_SIZE, u);
	assert_int_equal(vio_get_le16(u), VIO_INPUT_BUS_VIRTUAL);
	assert_int_equal(vio_get_le16(u + 2), 0);
	assert_int_equal(vio_get_le16(u + 4), 1);
	assert_int_equal(vio_get_le16(u + 6), 1);
	expect_size(VIO_INPUT_CFG_PROP_BITS, 0, 0, u);
}

static void config_identity_touchscreen(void **state)
{
	uint8_t u[VIO_INPUT_CFG_U_SIZE];

	(void) state;
	start_touch();
	expect_size(VIO_INPUT_CFG_ID_NAME, 0, 19, u);
	assert_memory_equal(u, "vioport touchscreen", 19);
	expect_size(VIO_INPUT_CFG_ID_SERIAL, 0, 15, u);
	assert_memory_equal(u, "vioport-touch-0", 15);
	expect_size(VIO_INPUT_CFG_ID_DEVIDS, 0, VIO_INPUT_DEVIDS_SIZE, u);
	assert_int_equal(vio_get_le16(u + 4), 2);
	expect_size(VIO_INPUT_CFG_PROP_BITS, 0, 1, u);
	assert_int_equal(u[0], 1u << VIO_INPUT_PROP_DIRECT);
}

static void config_ev_bits_keyboard(void **state)
{
	uint8_t u[VIO_INPUT_CFG_U_SIZE];

	(void) state;
	start_kbd();
	expect_size(VIO_INPUT_CFG_EV_BITS, VIO_INPUT_EV_KEY, 32, u);
	assert_false(bit(u, 0));
	for (unsigned k = 1; k <= 255; k++)
		assert_true(bit(u, k));
	expect_size(VIO_INPUT_CFG_EV_BITS, VIO_INPUT_EV_LED, 1, u);
	assert_int_equal(u[0], 0x07);
	expect_size(VIO_INPUT_CFG_EV_BITS, VIO_INPUT_EV_SND, 1, u);
	assert_int_equal(u[0], 1u << VIO_INPUT_SND_BELL);
	/* supported without codes, as QEMU's keyboard has it */
	expect_size(VIO_INPUT_CFG_EV_BITS, VIO_INPUT_EV_REP, 1, u);
	assert_int_equal(u[0], 0);
	expect_size(VIO_INPUT_CFG_EV_BITS, VIO_INPUT_EV_ABS, 0, u);
	expect_size(VIO_INPUT_CFG_EV_BITS, VIO_INPUT_EV_REL, 0, u);
	expect_size(VIO_INPUT_CFG_EV_BITS, VIO_INPUT_EV_SYN, 0, u);
	expect_size(VIO_INPUT_CFG_ABS_INFO, VIO_INPUT_ABS_X, 0, u);
}

static void config_ev_bits_touchscreen(void **state)
{
	static const unsigned axes[] = {VIO_INPUT_ABS_X,	VIO_INPUT_ABS_Y,
					VIO_INPUT_ABS_MT_SLOT,	VIO_INPUT_ABS_MT_POS_X,
					VIO_INPUT_ABS_MT_POS_Y, VIO_INPUT_ABS_MT_TRACKID};
	uint8_t u[VIO_INPUT_CFG_U_SIZE];
	unsigned set = 0;

	(void) state;
	start_touch();
	expect_size(VIO_INPUT_CFG_EV_BITS, VIO_INPUT_EV_KEY, 42, u);
	assert_true(bit(u, VIO_INPUT_BTN_TOUCH));
	for (unsigned k = 0; k < 42 * 8; k++)
		set += bit(u, k);
	assert_int_equal(set, 1);
	expect_size(VIO_INPUT_CFG_EV_BITS, VIO_INPUT_EV_ABS, 8, u);
	set = 0;
	for (unsigned k = 0; k < 64; k++)
		set += bit(u, k);
	assert_int_equal(set, 6);
	for (unsigned i = 0; i < 6; i++)
		assert_true(bit(u, axes[i]));
	expect_size(VIO_INPUT_CFG_EV_BITS, VIO_INPUT_EV_LED, 0, u);
	expect_size(VIO_INPUT_CFG_EV_BITS, VIO_INPUT_EV_REP, 0, u);
}

static void expect_abs(uint8_t axis, int32_t min, int32_t max, int32_t res)
{
	uint8_t u[VIO_INPUT_CFG_U_SIZE];

	expect_size(VIO_INPUT_CFG_ABS_INFO, axis, VIO_INPUT_ABSINFO_SIZE, u);
	assert_int_equal((int32_t) vio_get_le32(u), min);
	assert_int_equal((int32_t) vio_get_le32(u + 4), max);
	assert_int_equal(vio_get_le32(u + 8), 0);  /* fuzz */
	assert_int_equal(vio_get_le32(u + 12), 0); /* flat */
	assert_int_equal((int32_t) vio_get_le32(u + 16), res);
}

static void config_abs_info(void **state)
{
	uint8_t u[VIO_INPUT_CFG_U_SIZE];

	(void) state;
	start_touch();
	expect_abs(VIO_INPUT_ABS_X, 0, TS_W - 1, TS_RES);
	expect_abs(VIO_INPUT_ABS_Y, 0, TS_H - 1, TS_RES);
	expect_abs(VIO_INPUT_ABS_MT_POS_X, 0, TS_W - 1, TS_RES);
	expect_abs(VIO_INPUT_ABS_MT_POS_Y, 0, TS_H - 1, TS_RES);
	expect_abs(VIO_INPUT_ABS_MT_SLOT, 0, TS_SLOTS - 1, 0);
	expect_abs(VIO_INPUT_ABS_MT_TRACKID, 0, 65535, 0);
	expect_size(VIO_INPUT_CFG_ABS_INFO, 2 /* ABS_Z */, 0, u);
	expect_size(VIO_INPUT_CFG_ABS_INFO, VIO_INPUT_ABS_MAX + 1, 0, u);
	expect_size(VIO_INPUT_CFG_ABS_INFO, 0xff, 0, u);
}

/* Unknown selectors and subsel values the spec does not define answer size 0 and zeroes. */
static void config_unknown_selectors(void **state)
{
	static const uint8_t sels[] = {VIO_INPUT_CFG_UNSET, 0x04, 0x0f, 0x13, 0x80, 0xff};
	uint8_t u[VIO_INPUT_CFG_U_SIZE];

	(void) state;
	start_touch();
	for (unsigned i = 0; i < sizeof(sels); i++) {
		/* a full answer first, so stale bytes would show */
		assert_int_equal(cfg_select(VIO_INPUT_CFG_ID_NAME, 0), 19);
		expect_size(sels[i], 0, 0, u);
		expect_size(sels[i], 7, 0, u);
	}
	expect_size(VIO_INPUT_CFG_ID_NAME, 1, 0, u);
	expect_size(VIO_INPUT_CFG_ID_SERIAL, 1, 0, u);
	expect_size(VIO_INPUT_CFG_ID_DEVIDS, 1, 0, u);
	expect_size(VIO_INPUT_CFG_PROP_BITS, 1, 0, u);
	expect_size(VIO_INPUT_CFG_EV_BITS, VIO_INPUT_EV_MAX + 1, 0, u);
	expect_size(VIO_INPUT_CFG_EV_BITS, 0xff, 0, u);
	/* a shorter answer after a longer one leaves no stale bytes */
	assert_int_equal(cfg_select(VIO_INPUT_CFG_ID_NAME, 0), 19);
	expect_size(VIO_INPUT_CFG_PROP_BITS, 0, 1, u);
}

/* Only select and subsel are writable; both in one write works too. */
static void config_write_rules(void **state)
{
	uint8_t before[VIO_INPUT_CONFIG_SIZE], after[VIO_INPUT_CONFIG_SIZE];
	uint8_t two[2] = {VIO_INPUT_CFG_EV_BITS, VIO_INPUT_EV_LED};
	uint8_t junk[VIO_INPUT_CONFIG_SIZE];

	(void) state;
	start_kbd();
	memset(junk, 0x5a, sizeof(junk));
	assert_int_equal(cfg_select(VIO_INPUT_CFG_ID_NAME, 0), 16);
	assert_int_equal(vio_device_read_config(&F.input.dev, 0, before, sizeof(before)), 0);
	assert_int_equal(vio_device_write_config(&F.input.dev, VIO_INPUT_CFG_SIZE, junk, 1),
			 -VIO_EPERM);
	assert_int_equal(vio_device_write_config(&F.input.dev, 3, junk, 5), -VIO_EPERM);
	assert_int_equal(vio_device_write_config(&F.input.dev, VIO_INPUT_CFG_U, junk, 4),
			 -VIO_EPERM);
	assert_int_equal(vio_device_write_config(&F.input.dev, 1, junk, 2), -VIO_EPERM);
	assert_int_equal(vio_device_write_config(&F.input.dev, 0, junk, sizeof(junk)), -VIO_EPERM);
	assert_int_equal(vio_device_write_config(&F.input.dev, 130, junk, 7), -VIO_ERANGE);
	assert_int_equal(vio_device_write_config(&F.input.dev, 0xffffffffu, junk, 2), -VIO_ERANGE);
	assert_int_equal(vio_device_read_config(&F.input.dev, 0, after, sizeof(after)), 0);
	assert_memory_equal(before, after, sizeof(before));
	assert_int_equal(vio_device_read_config(&F.input.dev, 130, after, 7), -VIO_ERANGE);
	/* select and subsel in one write */
	assert_int_equal(vio_device_write_config(&F.input.dev, 0, two, 2), 0);
	assert_int_equal(vio_device_read_config(&F.input.dev, 0, after, 9), 0);
	assert_int_equal(after[0], VIO_INPUT_CFG_EV_BITS);
	assert_int_equal(after[1], VIO_INPUT_EV_LED);
	assert_int_equal(after[2], 1);
	assert_int_equal(after[8], 0x07);
	/* reading config never tells the driver it changed */
	assert_int_equal(F.lb.config_irqs, 0);
	assert_int_equal(F.input.dev.config_generation, 0);
}

/* A provider that overstates or scribbles is cut to the union and to what it counted. */
static uint32_t long_name(void *ctx, char *buf, uint32_t cap)
{
	(void) ctx;
	memset(buf, 'n', cap);
	return 300;
}

static uint32_t scribble_bits(void *ctx, uint8_t *bitmap, uint32_t cap)
{
	(void) ctx;
	memset(bitmap, 0xff, cap);
	return 3;
}

static uint32_t huge_bits(void *ctx, uint8_t type, uint8_t *bitmap, uint32_t cap)
{
	(void) ctx;
	(void) type;
	(void) bitmap;
	(void) cap;
	return UINT32_MAX;
}

static void config_provider_overstates(void **state)
{
	uint8_t u[VIO_INPUT_CFG_U_SIZE];

	(void) state;
	F.ops.name = long_name;
	F.ops.prop_bits = scribble_bits;
	F.ops.ev_bits = huge_bits;
	F.ops.serial = NULL;
	F.ops.devids = NULL;
	F.ops.abs_info = NULL;
	vio_sim_input_init_keyboard(&F.sim);
	bring_up(0, ~0ull, BACKLOG);
	expect_size(VIO_INPUT_CFG_ID_NAME, 0, 128, u);
	assert_int_equal(u[127], 'n');
	expect_size(VIO_INPUT_CFG_PROP_BITS, 0, 3, u);
	assert_int_equal(u[2], 0xff);
	expect_size(VIO_INPUT_CFG_EV_BITS, VIO_INPUT_EV_KEY, 128, u);
	/* optional hooks missing: nothing to say */
	expect_size(VIO_INPUT_CFG_ID_SERIAL, 0, 0, u);
	expect_size(VIO_INPUT_CFG_ID_DEVIDS, 0, 0, u);
	expect_size(VIO_INPUT_CFG_ABS_INFO, 0, 0, u);
}

/* ---- init and features ---- */

static void init_rejects_bad_args(void **state)
{
	struct vio_input_ops none = {0}, no_bits = vio_sim_input_ops;

	(void) state;
	no_bits.ev_bits = NULL;
	vio_sim_input_init_keyboard(&F.sim);
	assert_int_equal(
	    vio_input_init(&F.input, &none, &F.sim, F.backlog, BACKLOG, F.queues, QSIZE, 0),
	    -VIO_EINVAL);
	assert_int_equal(
	    vio_input_init(&F.input, &no_bits, &F.sim, F.backlog, BACKLOG, F.queues, QSIZE, 0),
	    -VIO_EINVAL);
	assert_int_equal(
	    vio_input_init(NULL, &F.ops, &F.sim, F.backlog, BACKLOG, F.queues, QSIZE, 0),
	    -VIO_EINVAL);
	assert_int_equal(
	    vio_input_init(&F.input, NULL, &F.sim, F.backlog, BACKLOG, F.queues, QSIZE, 0),
	    -VIO_EINVAL);
	assert_int_equal(
	    vio_input_init(&F.input, &F.ops, &F.sim, NULL, BACKLOG, F.queues, QSIZE, 0),
	    -VIO_EINVAL);
	assert_int_equal(vio_input_init(&F.input, &F.ops, &F.sim, F.backlog, 0, F.queues, QSIZE, 0),
			 -VIO_EINVAL);
	assert_int_equal(vio_input_init(&F.input, &F.ops, &F.sim, F.backlog,
					VIO_INPUT_BACKLOG_MAX + 1, F.queues, QSIZE, 0),
			 -VIO_EINVAL);
	assert_int_equal(
	    vio_input_init(&F.input, &F.ops, &F.sim, F.backlog, BACKLOG, NULL, QSIZE, 0),
	    -VIO_EINVAL);
	assert_int_equal(
	    vio_input_init(&F.input, &F.ops, &F.sim, F.backlog, BACKLOG, F.queues, 0, 0),
	    -VIO_EINVAL);
	/* the spec defines no feature bits for this device; IN_ORDER is not implemented */
	assert_int_equal(vio_input_init(&F.input, &F.ops, &F.sim, F.backlog, BACKLOG, F.queues,
					QSIZE, VIO_BIT(0)),
			 -VIO_EINVAL);
	assert_int_equal(vio_input_init(&F.input, &F.ops, &F.sim, F.backlog, BACKLOG, F.queues,
					QSIZE, VIO_BIT(VIO_F_IN_ORDER)),
			 -VIO_EINVAL);
	assert_int_equal(
	    vio_input_init(&F.input, &F.ops, &F.sim, F.backlog, BACKLOG, F.queues, QSIZE, 0), 0);
	assert_int_equal(F.input.dev.host_features, VIO_BIT(VIO_F_VERSION_1));
}

/* Offered ring features are negotiated; a driver taking a bit not offered fails FEATURES_OK. */
static void features_negotiation(void **state)
{
	uint64_t ring =
	    VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) | VIO_BIT(VIO_F_RING_PACKED);

	(void) state;
	vio_sim_input_init_keyboard(&F.sim);
	assert_int_equal(
	    vio_input_init(&F.input, &F.ops, &F.sim, F.backlog, BACKLOG, F.queues, QSIZE, ring), 0);
	assert_int_equal(F.input.dev.host_features, ring | VIO_BIT(VIO_F_VERSION_1));
	assert_int_equal(vio_loopback_init(&F.lb, &F.input.dev, F.arena, sizeof(F.arena), BUS_BASE),
			 0);
	assert_int_equal(vio_loopback_negotiate(&F.lb, ~VIO_BIT(VIO_F_RING_PACKED)), 0);
	assert_int_equal(F.input.dev.driver_features,
			 (ring & ~VIO_BIT(VIO_F_RING_PACKED)) | VIO_BIT(VIO_F_VERSION_1));
	/* a bit not offered */
	assert_int_equal(vio_device_set_status(&F.input.dev, 0), 0);
	assert_int_equal(vio_device_set_status(&F.input.dev, VIO_STATUS_ACKNOWLEDGE), 0);
	assert_int_equal(
	    vio_device_set_status(&F.input.dev, VIO_STATUS_ACKNOWLEDGE | VIO_STATUS_DRIVER), 0);
	assert_int_equal(
	    vio_device_set_features(&F.input.dev, VIO_BIT(VIO_F_VERSION_1) | VIO_BIT(0)), 0);
	assert_int_equal(vio_device_set_status(&F.input.dev, VIO_STATUS_ACKNOWLEDGE |
								 VIO_STATUS_DRIVER |
								 VIO_STATUS_FEATURES_OK),
			 0);
	assert_false(F.input.dev.status & VIO_STATUS_FEATURES_OK);
}

/* ---- eventq ---- */

/* Queues n eventq buffers of len bytes and kicks. */
static void ev_bufs(unsigned n, uint32_t len)
{
	for (unsigned i = 0; i < n; i++) {
		struct tok *t = &F.toks[F.ntok++];
		struct vio_buf b;

		t->p = alloc(len);
		t->len = len;
		b = buf(t->p, len);
		assert_true(vio_drvq_add(&F.eq, NULL, 0, &b, 1, t) >= 0);
	}
	vio_loopback_kick(&F.lb, VIO_INPUT_EVENTQ);
}

/* Takes every used eventq entry (each must hold one event) into ev; returns how many. */
static unsigned ev_take(struct vio_input_event *ev, unsigned max)
{
	unsigned n = 0;
	void *token;
	uint32_t len;

	while (vio_drvq_get_used(&F.eq, &token, &len) == 1) {
		struct tok *t = token;

		assert_true(n < max);
		assert_int_equal(len, VIO_INPUT_EVENT_SIZE);
		ev[n].type = vio_get_le16(t->p);
		ev[n].code = vio_get_le16(t->p + 2);
		ev[n].value = (int32_t) vio_get_le32(t->p + 4);
		n++;
	}
	return n;
}

static void expect_ev(const struct vio_input_event *ev, uint16_t type, uint16_t code, int32_t value)
{
	assert_int_equal(ev->type, type);
	assert_int_equal(ev->code, code);
	assert_int_equal(ev->value, value);
}

static void expect_syn(const struct vio_input_event *ev)
{
	expect_ev(ev, VIO_INPUT_EV_SYN, VIO_INPUT_SYN_REPORT, 0);
}

static void key_report_delivered(void **state)
{
	struct vio_input_event ev[8];

	(void) state;
	start_kbd();
	ev_bufs(4, VIO_INPUT_EVENT_SIZE);
	assert_int_equal(vio_sim_input_key(&F.sim, 30, true), 0);
	assert_int_equal(ev_take(ev, 8), 2);
	expect_ev(&ev[0], VIO_INPUT_EV_KEY, 30, 1);
	expect_syn(&ev[1]);
	assert_int_equal(F.lb.used_irqs[VIO_INPUT_EVENTQ], 1);
	assert_int_equal(vio_sim_input_key(&F.sim, 30, false), 0);
	assert_int_equal(ev_take(ev, 8), 2);
	expect_ev(&ev[0], VIO_INPUT_EV_KEY, 30, 0);
	expect_syn(&ev[1]);
	assert_int_equal(F.input.delivered, 4);
	/* the raw bytes: le16 type, le16 code, le32 value */
	assert_int_equal(F.toks[0].p[0], VIO_INPUT_EV_KEY);
	assert_int_equal(F.toks[0].p[2], 30);
	assert_int_equal(F.toks[0].p[4], 1);
}

/* Events wait for buffers; reports go out as soon as buffers come, in order. */
static void events_wait_for_buffers(void **state)
{
	struct vio_input_event ev[8];

	(void) state;
	start_kbd();
	assert_int_equal(vio_sim_input_tap(&F.sim, 2), 0);
	assert_int_equal(vio_input_backlog_room(&F.input), BACKLOG - 4);
	assert_int_equal(ev_take(ev, 8), 0);
	ev_bufs(3, VIO_INPUT_EVENT_SIZE);
	/* a report may go out in parts: nothing is lost, only later */
	assert_int_equal(ev_take(ev, 8), 3);
	expect_ev(&ev[0], VIO_INPUT_EV_KEY, 2, 1);
	expect_syn(&ev[1]);
	expect_ev(&ev[2], VIO_INPUT_EV_KEY, 2, 0);
	ev_bufs(3, VIO_INPUT_EVENT_SIZE);
	assert_int_equal(ev_take(ev, 8), 1);
	expect_syn(&ev[0]);
	assert_int_equal(vio_input_backlog_room(&F.input), BACKLOG);
}

/* An open report waits for its SYN_REPORT even when buffers are there. */
static void open_report_held(void **state)
{
	struct vio_input_event ev[8];

	(void) state;
	start_kbd();
	ev_bufs(4, VIO_INPUT_EVENT_SIZE);
	assert_int_equal(vio_input_send(&F.input, VIO_INPUT_EV_KEY, 16, 1), 0);
	assert_int_equal(vio_input_send(&F.input, VIO_INPUT_EV_KEY, 17, 1), 0);
	assert_int_equal(ev_take(ev, 8), 0);
	vio_loopback_kick(&F.lb, VIO_INPUT_EVENTQ);
	assert_int_equal(ev_take(ev, 8), 0);
	assert_int_equal(vio_input_send(&F.input, VIO_INPUT_EV_SYN, VIO_INPUT_SYN_REPORT, 0), 0);
	assert_int_equal(ev_take(ev, 8), 3);
	expect_ev(&ev[0], VIO_INPUT_EV_KEY, 16, 1);
	expect_ev(&ev[1], VIO_INPUT_EV_KEY, 17, 1);
	expect_syn(&ev[2]);
}

/*
 * A full backlog drops the report being built, whole: its earlier events,
 * and its later ones up to its SYN_REPORT. The reports around it arrive.
 */
static void backlog_full_drops_whole_report(void **state)
{
	struct vio_input_event ev[16];

	(void) state;
	vio_sim_input_init_keyboard(&F.sim);
	bring_up(0, ~0ull, 4);
	assert_int_equal(vio_sim_input_key(&F.sim, 10, true), 0); /* 2 of 4 */
	assert_int_equal(vio_input_send(&F.input, VIO_INPUT_EV_KEY, 11, 1), 0);
	assert_int_equal(vio_input_send(&F.input, VIO_INPUT_EV_KEY, 12, 1), 0);
	assert_int_equal(vio_input_backlog_room(&F.input), 0);
	assert_int_equal(vio_input_send(&F.input, VIO_INPUT_EV_KEY, 13, 1), -VIO_ENOSPC);
	assert_int_equal(F.input.dropped_reports, 1);
	/* room again, but the rest of the dropped report is dropped too */
	assert_int_equal(vio_input_backlog_room(&F.input), 2);
	assert_int_equal(vio_input_send(&F.input, VIO_INPUT_EV_KEY, 14, 1), -VIO_ENOSPC);
	assert_int_equal(vio_input_send(&F.input, VIO_INPUT_EV_SYN, VIO_INPUT_SYN_REPORT, 0),
			 -VIO_ENOSPC);
	assert_int_equal(F.input.dropped, 5);
	/* the next report goes in */
	assert_int_equal(vio_sim_input_key(&F.sim, 10, false), 0);
	assert_int_equal(vio_sim_input_key(&F.sim, 20, true), -VIO_ENOSPC);
	assert_int_equal(F.sim.lost, 1);
	assert_int_equal(F.input.dropped_reports, 2);
	ev_bufs(8, VIO_INPUT_EVENT_SIZE);
	assert_int_equal(ev_take(ev, 16), 4);
	expect_ev(&ev[0], VIO_INPUT_EV_KEY, 10, 1);
	expect_syn(&ev[1]);
	expect_ev(&ev[2], VIO_INPUT_EV_KEY, 10, 0);
	expect_syn(&ev[3]);
}

/* A report of exactly the backlog's size fits; one event more never does. */
static void backlog_exact_fit(void **state)
{
	struct vio_input_event ev[8];

	(void) state;
	vio_sim_input_init_keyboard(&F.sim);
	bring_up(0, ~0ull, 3);
	assert_int_equal(vio_input_send(&F.input, VIO_INPUT_EV_KEY, 1, 1), 0);
	assert_int_equal(vio_input_send(&F.input, VIO_INPUT_EV_KEY, 2, 1), 0);
	assert_int_equal(vio_input_send(&F.input, VIO_INPUT_EV_SYN, VIO_INPUT_SYN_REPORT, 0), 0);
	ev_bufs(3, VIO_INPUT_EVENT_SIZE);
	assert_int_equal(ev_take(ev, 8), 3);
	/* the ring wraps: another full report */
	for (uint16_t k = 3; k < 5; k++)
		assert_int_equal(vio_input_send(&F.input, VIO_INPUT_EV_KEY, k, 1), 0);
	assert_int_equal(vio_input_send(&F.input, VIO_INPUT_EV_SYN, VIO_INPUT_SYN_REPORT, 0), 0);
	for (uint16_t k = 5; k < 8; k++)
		assert_int_equal(vio_input_send(&F.input, VIO_INPUT_EV_KEY, k, 1),
				 k < 5 ? 0 : -VIO_ENOSPC);
	ev_bufs(4, VIO_INPUT_EVENT_SIZE);
	assert_int_equal(ev_take(ev, 8), 3);
	expect_ev(&ev[0], VIO_INPUT_EV_KEY, 3, 1);
	expect_ev(&ev[1], VIO_INPUT_EV_KEY, 4, 1);
	expect_syn(&ev[2]);
}

/* Input nobody runs is not kept for a driver that comes later. */
static void events_without_driver_dropped(void **state)
{
	struct vio_input_event ev[8];

	(void) state;
	vio_sim_input_init_keyboard(&F.sim);
	assert_int_equal(
	    vio_input_init(&F.input, &F.ops, &F.sim, F.backlog, BACKLOG, F.queues, QSIZE, 0), 0);
	vio_sim_input_attach(&F.sim, &F.input);
	assert_int_equal(vio_sim_input_key(&F.sim, 5, true), -VIO_EAGAIN);
	assert_true(vio_sim_input_key_down(&F.sim, 5)); /* the key is down all the same */
	assert_int_equal(F.input.dropped, 2);
	assert_int_equal(vio_loopback_init(&F.lb, &F.input.dev, F.arena, sizeof(F.arena), BUS_BASE),
			 0);
	assert_int_equal(vio_loopback_negotiate(&F.lb, ~0ull), 0);
	assert_int_equal(vio_loopback_queue(&F.lb, VIO_INPUT_EVENTQ, QSIZE, &F.eq, F.eslots), 0);
	assert_int_equal(vio_loopback_queue(&F.lb, VIO_INPUT_STATUSQ, QSIZE, &F.sq, F.sslots), 0);
	assert_int_equal(vio_input_send(&F.input, VIO_INPUT_EV_KEY, 6, 1), -VIO_EAGAIN);
	assert_int_equal(vio_loopback_driver_ok(&F.lb), 0);
	ev_bufs(4, VIO_INPUT_EVENT_SIZE);
	assert_int_equal(ev_take(ev, 8), 0);
	assert_int_equal(vio_sim_input_key(&F.sim, 5, false), 0);
	assert_int_equal(ev_take(ev, 8), 2);
	expect_ev(&ev[0], VIO_INPUT_EV_KEY, 5, 0);
	assert_int_equal(vio_input_send(NULL, 0, 0, 0), -VIO_EINVAL);
}

/* Events queued after DRIVER_OK but before the eventq has buffers wait. */
static void events_before_buffers_wait(void **state)
{
	struct vio_input_event ev[8];

	(void) state;
	start_kbd();
	assert_int_equal(vio_sim_input_key(&F.sim, 57, true), 0);
	assert_int_equal(ev_take(ev, 8), 0);
	ev_bufs(1, VIO_INPUT_EVENT_SIZE);
	ev_bufs(1, VIO_INPUT_EVENT_SIZE);
	assert_int_equal(ev_take(ev, 8), 2);
	expect_ev(&ev[0], VIO_INPUT_EV_KEY, 57, 1);
}

/* A buffer longer than an event gets one event; the rest is not touched. */
static void eventq_long_buffer(void **state)
{
	struct vio_input_event ev[4];

	(void) state;
	start_kbd();
	ev_bufs(2, 32);
	assert_int_equal(vio_sim_input_key(&F.sim, 30, true), 0);
	assert_int_equal(ev_take(ev, 4), 2);
	assert_int_equal(F.toks[0].p[8], UNTOUCHED);
	assert_int_equal(F.toks[0].p[31], UNTOUCHED);
}

/* An event split across segments, one through an indirect table. */
static void eventq_segments_and_indirect(void **state)
{
	uint8_t *a, *b, *c;
	struct vio_buf in[3];
	struct vio_desc *table;
	uint64_t tbus;
	void *token;
	uint32_t len;

	(void) state;
	vio_sim_input_init_keyboard(&F.sim);
	bring_up(VIO_BIT(VIO_F_INDIRECT_DESC), ~0ull, BACKLOG);
	a = alloc(3);
	b = alloc(1);
	c = alloc(4);
	in[0] = buf(a, 3);
	in[1] = buf(b, 1);
	in[2] = buf(c, 4);
	assert_true(vio_drvq_add(&F.eq, NULL, 0, in, 3, &F.toks[0]) >= 0);
	table = vio_loopback_alloc(&F.lb, 3 * sizeof(*table), &tbus);
	assert_non_null(table);
	assert_true(vio_drvq_add_indirect(&F.eq, NULL, 0, in, 3, table, tbus, &F.toks[1]) >= 0);
	vio_loopback_kick(&F.lb, VIO_INPUT_EVENTQ);
	assert_int_equal(vio_input_send(&F.input, VIO_INPUT_EV_ABS, 0x0102, -2), 0);
	assert_int_equal(vio_input_send(&F.input, VIO_INPUT_EV_SYN, VIO_INPUT_SYN_REPORT, 0), 0);
	assert_int_equal(vio_drvq_get_used(&F.eq, &token, &len), 1);
	assert_ptr_equal(token, &F.toks[0]);
	assert_int_equal(len, 8);
	/* the second buffer reuses the same memory: the SYN_REPORT lands there */
	assert_int_equal(vio_drvq_get_used(&F.eq, &token, &len), 1);
	assert_ptr_equal(token, &F.toks[1]);
	assert_int_equal(len, 8);
	assert_int_equal(a[0], 0);
	assert_int_equal(c[3], 0);
	assert_int_equal(F.input.delivered, 2);
	assert_false(broken());
}

/* An eventq buffer the device may read from breaks the device: no status byte to answer. */
static void eventq_readable_buffer_breaks(void **state)
{
	uint8_t *o, *i;
	struct vio_buf ob, ib;
	void *token;
	uint32_t len;

	(void) state;
	start_kbd();
	o = alloc(8);
	i = alloc(8);
	ob = buf(o, 8);
	ib = buf(i, 8);
	assert_true(vio_drvq_add(&F.eq, &ob, 1, &ib, 1, &F.toks[0]) >= 0);
	vio_loopback_kick(&F.lb, VIO_INPUT_EVENTQ);
	assert_false(broken()); /* buffers are looked at only when there is an event */
	assert_int_equal(vio_sim_input_key(&F.sim, 3, true), 0);
	assert_true(broken());
	assert_int_equal(F.input.dev.break_error, -VIO_EPROTO);
	assert_int_equal(F.lb.config_irqs, 1);
	assert_int_equal(vio_drvq_get_used(&F.eq, &token, &len), 0);
	assert_int_equal(i[0], UNTOUCHED);
	/* a broken device takes no more input */
	assert_int_equal(vio_sim_input_key(&F.sim, 4, true), -VIO_EAGAIN);
}

static void eventq_short_buffer_breaks(void **state)
{
	void *token;
	uint32_t len;

	(void) state;
	start_kbd();
	ev_bufs(1, VIO_INPUT_EVENT_SIZE - 1);
	assert_int_equal(vio_sim_input_key(&F.sim, 3, true), 0);
	assert_true(broken());
	assert_int_equal(vio_drvq_get_used(&F.eq, &token, &len), 0);
	assert_int_equal(F.toks[0].p[0], UNTOUCHED);
	/* reset and a fresh start work again */
	F.ntok = 0;
	start_kbd();
	ev_bufs(2, VIO_INPUT_EVENT_SIZE);
	assert_int_equal(vio_sim_input_key(&F.sim, 3, true), 0);
	assert_false(broken());
	assert_int_equal(vio_drvq_get_used(&F.eq, &token, &len), 1);
}

/*
 * A chain of more one-byte segments than the device keeps is legal but has
 * no contiguous room for an event: it goes back empty and the event waits
 * for the next buffer.
 */
static void eventq_too_many_segments(void **state)
{
	struct vio_buf in[10];
	struct vio_input_event ev[4];
	void *token;
	uint32_t len;

	(void) state;
	start_kbd();
	for (unsigned i = 0; i < 10; i++)
		in[i] = buf(alloc(1), 1);
	assert_true(vio_drvq_add(&F.eq, NULL, 0, in, 10, &F.toks[0]) >= 0);
	vio_loopback_kick(&F.lb, VIO_INPUT_EVENTQ);
	assert_int_equal(vio_sim_input_key(&F.sim, 3, true), 0);
	assert_int_equal(vio_drvq_get_used(&F.eq, &token, &len), 1);
	assert_int_equal(len, 0);
	assert_false(broken());
	F.ntok = 1;
	ev_bufs(2, VIO_INPUT_EVENT_SIZE);
	assert_int_equal(ev_take(ev, 4), 2);
	expect_ev(&ev[0], VIO_INPUT_EV_KEY, 3, 1);
}

/* ---- touchscreen reports ---- */

static void touch_reports(void **state)
{
	struct vio_input_event ev[32];

	(void) state;
	start_touch();
	/* first contact: tracking id, position, BTN_TOUCH, single-touch position */
	ev_bufs(6, VIO_INPUT_EVENT_SIZE);
	assert_int_equal(vio_sim_input_touch(&F.sim, 0, 100, 200), 0);
	assert_int_equal(ev_take(ev, 32), 6);
	expect_ev(&ev[0], VIO_INPUT_EV_ABS, VIO_INPUT_ABS_MT_TRACKID, 0);
	expect_ev(&ev[1], VIO_INPUT_EV_ABS, VIO_INPUT_ABS_MT_POS_X, 100);
	expect_ev(&ev[2], VIO_INPUT_EV_ABS, VIO_INPUT_ABS_MT_POS_Y, 200);
	expect_ev(&ev[3], VIO_INPUT_EV_KEY, VIO_INPUT_BTN_TOUCH, 1);
	expect_ev(&ev[4], VIO_INPUT_EV_ABS, VIO_INPUT_ABS_X, 100);
	expect_ev(&ev[5], VIO_INPUT_EV_ABS, VIO_INPUT_ABS_Y, 200);
	ev_bufs(1, VIO_INPUT_EVENT_SIZE);
	assert_int_equal(ev_take(ev, 32), 1);
	expect_syn(&ev[0]);
	/* a move of x only */
	ev_bufs(8, VIO_INPUT_EVENT_SIZE);
	assert_int_equal(vio_sim_input_touch(&F.sim, 0, 101, 200), 0);
	assert_int_equal(ev_take(ev, 32), 3);
	expect_ev(&ev[0], VIO_INPUT_EV_ABS, VIO_INPUT_ABS_MT_POS_X, 101);
	expect_ev(&ev[1], VIO_INPUT_EV_ABS, VIO_INPUT_ABS_X, 101);
	expect_syn(&ev[2]);
	/* no move, no report */
	assert_int_equal(vio_sim_input_touch(&F.sim, 0, 101, 200), 0);
	assert_int_equal(ev_take(ev, 32), 0);
	/* a second contact: slot change, no BTN_TOUCH, no single-touch position */
	assert_int_equal(vio_sim_input_touch(&F.sim, 1, 700, 400), 0);
	assert_int_equal(ev_take(ev, 32), 5);
	expect_ev(&ev[0], VIO_INPUT_EV_ABS, VIO_INPUT_ABS_MT_SLOT, 1);
	expect_ev(&ev[1], VIO_INPUT_EV_ABS, VIO_INPUT_ABS_MT_TRACKID, 1);
	expect_ev(&ev[2], VIO_INPUT_EV_ABS, VIO_INPUT_ABS_MT_POS_X, 700);
	expect_ev(&ev[3], VIO_INPUT_EV_ABS, VIO_INPUT_ABS_MT_POS_Y, 400);
	expect_syn(&ev[4]);
	/* the first lifts: the second becomes the single-touch position */
	ev_bufs(8, VIO_INPUT_EVENT_SIZE);
	assert_int_equal(vio_sim_input_lift(&F.sim, 0), 0);
	assert_int_equal(ev_take(ev, 32), 5);
	expect_ev(&ev[0], VIO_INPUT_EV_ABS, VIO_INPUT_ABS_MT_SLOT, 0);
	expect_ev(&ev[1], VIO_INPUT_EV_ABS, VIO_INPUT_ABS_MT_TRACKID, -1);
	expect_ev(&ev[2], VIO_INPUT_EV_ABS, VIO_INPUT_ABS_X, 700);
	expect_ev(&ev[3], VIO_INPUT_EV_ABS, VIO_INPUT_ABS_Y, 400);
	expect_syn(&ev[4]);
	assert_int_equal(vio_sim_input_lift(&F.sim, 0), 0); /* already up */
	assert_int_equal(ev_take(ev, 32), 0);
	/* the last lifts: BTN_TOUCH 0; three buffers left, the SYN_REPORT waits */
	assert_int_equal(vio_sim_input_lift(&F.sim, 1), 0);
	assert_int_equal(ev_take(ev, 32), 3);
	expect_ev(&ev[0], VIO_INPUT_EV_ABS, VIO_INPUT_ABS_MT_SLOT, 1);
	expect_ev(&ev[1], VIO_INPUT_EV_ABS, VIO_INPUT_ABS_MT_TRACKID, -1);
	expect_ev(&ev[2], VIO_INPUT_EV_KEY, VIO_INPUT_BTN_TOUCH, 0);
	ev_bufs(8, VIO_INPUT_EVENT_SIZE);
	assert_int_equal(ev_take(ev, 32), 1);
	expect_syn(&ev[0]);
	assert_int_equal(F.sim.reports, 5);
	assert_int_equal(F.sim.primary, -1);
}

static void touch_tracking_ids_wrap(void **state)
{
	(void) state;
	assert_int_equal(vio_sim_input_init_touchscreen(&F.sim, 10, 10, 0, 1), 0);
	F.sim.next_id = VIO_SIM_INPUT_TRACK_MAX;
	assert_int_equal(vio_sim_input_touch(&F.sim, 0, 1, 1), 0); /* no device: state only */
	assert_int_equal(F.sim.slots[0].tracking_id, VIO_SIM_INPUT_TRACK_MAX);
	assert_int_equal(vio_sim_input_lift(&F.sim, 0), 0);
	assert_int_equal(vio_sim_input_touch(&F.sim, 0, 1, 1), 0);
	assert_int_equal(F.sim.slots[0].tracking_id, 0);
}

static void sim_rejects_bad_args(void **state)
{
	struct vio_sim_input kbd;

	(void) state;
	assert_int_equal(vio_sim_input_init_touchscreen(&F.sim, 0, 10, 0, 1), -VIO_EINVAL);
	assert_int_equal(vio_sim_input_init_touchscreen(&F.sim, 10, -1, 0, 1), -VIO_EINVAL);
	assert_int_equal(vio_sim_input_init_touchscreen(&F.sim, (1 << 24) + 1, 10, 0, 1),
			 -VIO_EINVAL);
	assert_int_equal(vio_sim_input_init_touchscreen(&F.sim, 10, 10, -1, 1), -VIO_EINVAL);
	assert_int_equal(vio_sim_input_init_touchscreen(&F.sim, 10, 10, 0, 0), -VIO_EINVAL);
	assert_int_equal(
	    vio_sim_input_init_touchscreen(&F.sim, 10, 10, 0, VIO_SIM_INPUT_MAX_SLOTS + 1),
	    -VIO_EINVAL);
	assert_int_equal(vio_sim_input_init_touchscreen(NULL, 10, 10, 0, 1), -VIO_EINVAL);
	assert_int_equal(vio_sim_input_init_touchscreen(&F.sim, 10, 20, 0, 2), 0);
	assert_int_equal(vio_sim_input_touch(&F.sim, 2, 0, 0), -VIO_EINVAL);
	assert_int_equal(vio_sim_input_touch(&F.sim, 0, 10, 0), -VIO_EINVAL);
	assert_int_equal(vio_sim_input_touch(&F.sim, 0, 0, 20), -VIO_EINVAL);
	assert_int_equal(vio_sim_input_touch(&F.sim, 0, -1, 0), -VIO_EINVAL);
	assert_int_equal(vio_sim_input_lift(&F.sim, 2), -VIO_EINVAL);
	assert_int_equal(vio_sim_input_key(&F.sim, 30, true), -VIO_EINVAL);
	assert_int_equal(vio_sim_input_tap(&F.sim, 30), -VIO_EINVAL);
	vio_sim_input_init_keyboard(&kbd);
	assert_int_equal(vio_sim_input_key(&kbd, 0, true), -VIO_EINVAL);
	assert_int_equal(vio_sim_input_key(&kbd, VIO_SIM_INPUT_KEY_MAX + 1, true), -VIO_EINVAL);
	assert_int_equal(vio_sim_input_touch(&kbd, 0, 1, 1), -VIO_EINVAL);
	assert_int_equal(vio_sim_input_lift(&kbd, 0), -VIO_EINVAL);
	assert_false(vio_sim_input_key_down(&kbd, 1000));
	/* a key pressed twice is one press */
	assert_int_equal(vio_sim_input_key(&kbd, 30, true), 0);
	assert_int_equal(vio_sim_input_key(&kbd, 30, true), 0);
	assert_true(vio_sim_input_key_down(&kbd, 30));
	assert_int_equal(vio_sim_input_key(&kbd, 30, false), 0);
	assert_false(vio_sim_input_key_down(&kbd, 30));
}

/* Two presses of one key send one report; the sim counts reports the device took. */
static void key_repeat_press_sends_nothing(void **state)
{
	struct vio_input_event ev[8];

	(void) state;
	start_kbd();
	ev_bufs(8, VIO_INPUT_EVENT_SIZE);
	assert_int_equal(vio_sim_input_key(&F.sim, 44, true), 0);
	assert_int_equal(vio_sim_input_key(&F.sim, 44, true), 0);
	assert_int_equal(ev_take(ev, 8), 2);
	assert_int_equal(F.sim.reports, 1);
}

/* ---- statusq ---- */

/* Sends one status buffer of the given segments (readable) and extra writable bytes. */
static void status_raw(const uint32_t *lens, unsigned nseg, uint32_t wlen, const uint8_t *ev8)
{
	struct vio_buf out[12], in;
	uint32_t off = 0;

	for (unsigned i = 0; i < nseg; i++) {
		uint8_t *p = alloc(lens[i]);

		for (uint32_t k = 0; k < lens[i]; k++, off++)
			p[k] = off < 8 ? ev8[off] : 0;
		out[i] = buf(p, lens[i]);
	}
	if (wlen != 0)
		in = buf(alloc(wlen), wlen);
	assert_true(vio_drvq_add(&F.sq, out, nseg, &in, wlen != 0, &F.toks[0]) >= 0);
	vio_loopback_kick(&F.lb, VIO_INPUT_STATUSQ);
}

static void status_event(uint16_t type, uint16_t code, int32_t value, uint8_t *raw)
{
	vio_put_le16(raw, type);
	vio_put_le16(raw + 2, code);
	vio_put_le32(raw + 4, (uint32_t) value);
}

/* Sends one well-formed status event and expects its buffer back with nothing written. */
static void status(uint16_t type, uint16_t code, int32_t value)
{
	const uint32_t len = VIO_INPUT_EVENT_SIZE;
	uint8_t raw[8];
	void *token;
	uint32_t used;

	status_event(type, code, value, raw);
	status_raw(&len, 1, 0, raw);
	assert_int_equal(vio_drvq_get_used(&F.sq, &token, &used), 1);
	assert_int_equal(used, 0);
	assert_int_equal(vio_drvq_get_used(&F.sq, &token, &used), 0);
}

static void status_leds_reach_provider(void **state)
{
	(void) state;
	start_kbd();
	status(VIO_INPUT_EV_LED, VIO_INPUT_LED_CAPSL, 1);
	assert_int_equal(F.sim.leds, 1u << VIO_INPUT_LED_CAPSL);
	status(VIO_INPUT_EV_LED, VIO_INPUT_LED_NUML, 1);
	status(VIO_INPUT_EV_LED, VIO_INPUT_LED_SCROLLL, 1);
	assert_int_equal(F.sim.leds, 0x7);
	status(VIO_INPUT_EV_LED, VIO_INPUT_LED_CAPSL, 0);
	assert_int_equal(F.sim.leds, 0x5);
	assert_int_equal(F.sim.led_events, 4);
	assert_int_equal(F.input.status_events, 4);
	assert_int_equal(F.lb.used_irqs[VIO_INPUT_STATUSQ], 4);
	assert_false(broken());
}

static void status_bell_and_repeat(void **state)
{
	(void) state;
	start_kbd();
	status(VIO_INPUT_EV_SND, VIO_INPUT_SND_BELL, 1);
	status(VIO_INPUT_EV_SND, VIO_INPUT_SND_BELL, 0);
	assert_int_equal(F.sim.bells, 1);
	status(VIO_INPUT_EV_REP, VIO_INPUT_REP_DELAY, 250);
	status(VIO_INPUT_EV_REP, VIO_INPUT_REP_PERIOD, 33);
	assert_int_equal(F.sim.status_other, 2);
	assert_int_equal(F.input.status_events, 4);
	assert_int_equal(F.input.status_ignored, 0);
}

/* What the device does not advertise as output never reaches the provider, input types least. */
static void status_not_advertised_ignored(void **state)
{
	(void) state;
	start_kbd();
	status(VIO_INPUT_EV_LED, 3 /* LED_COMPOSE */, 1);
	status(VIO_INPUT_EV_LED, 0xffff, 1);
	status(VIO_INPUT_EV_SND, VIO_INPUT_SND_CLICK, 1);
	status(VIO_INPUT_EV_REP, 2, 1);
	status(VIO_INPUT_EV_KEY, 30, 1); /* advertised as input: no injection through status */
	status(VIO_INPUT_EV_SYN, VIO_INPUT_SYN_REPORT, 0);
	status(VIO_INPUT_EV_MAX + 1, 0, 0);
	status(0xffff, 0xffff, -1);
	assert_int_equal(F.input.status_ignored, 8);
	assert_int_equal(F.input.status_events, 0);
	assert_int_equal(F.sim.leds, 0);
	assert_int_equal(F.sim.bells + F.sim.status_other + F.sim.led_events, 0);
	assert_false(broken());
	/* a touchscreen has no LEDs */
	F.ntok = 0;
	start_touch();
	status(VIO_INPUT_EV_LED, VIO_INPUT_LED_NUML, 1);
	assert_int_equal(F.input.status_ignored, 1);
}

/* Longer buffers: the first event counts. Split segments are read as one. */
static void status_long_and_split(void **state)
{
	const uint32_t lens[] = {3, 2, 3, 8};
	uint8_t raw[8];
	void *token;
	uint32_t used;

	(void) state;
	start_kbd();
	status_event(VIO_INPUT_EV_LED, VIO_INPUT_LED_NUML, 1, raw);
	status_raw(lens, 4, 4, raw);
	assert_int_equal(vio_drvq_get_used(&F.sq, &token, &used), 1);
	assert_int_equal(used, 0);
	assert_int_equal(F.sim.leds, 1);
	assert_int_equal(F.input.status_events, 1);
	assert_false(broken());
}

static void status_short_breaks(void **state)
{
	const uint32_t len = VIO_INPUT_EVENT_SIZE - 1;
	uint8_t raw[8];
	void *token;
	uint32_t used;

	(void) state;
	start_kbd();
	status_event(VIO_INPUT_EV_LED, VIO_INPUT_LED_NUML, 1, raw);
	status_raw(&len, 1, 8, raw);
	assert_true(broken());
	assert_int_equal(F.input.dev.break_error, -VIO_EPROTO);
	assert_int_equal(vio_drvq_get_used(&F.sq, &token, &used), 0);
	assert_int_equal(F.sim.leds, 0);
}

static void status_writable_only_breaks(void **state)
{
	uint8_t raw[8] = {0};

	(void) state;
	start_kbd();
	status_raw(NULL, 0, 8, raw);
	assert_true(broken());
	assert_int_equal(F.sim.led_events, 0);
}

/* More one-byte segments than the device keeps: legal, ignored, no break. */
static void status_too_many_segments(void **state)
{
	const uint32_t lens[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
	uint8_t raw[8];
	void *token;
	uint32_t used;

	(void) state;
	start_kbd();
	status_event(VIO_INPUT_EV_LED, VIO_INPUT_LED_NUML, 1, raw);
	status_raw(lens, 10, 0, raw);
	assert_int_equal(vio_drvq_get_used(&F.sq, &token, &used), 1);
	assert_false(broken());
	assert_int_equal(F.input.status_ignored, 1);
	assert_int_equal(F.sim.leds, 0);
	/* eight one-byte segments fit: the event is read across them */
	status_raw(lens, 8, 0, raw);
	assert_int_equal(vio_drvq_get_used(&F.sq, &token, &used), 1);
	assert_int_equal(F.sim.leds, 1);
}

/* A provider may answer a status event with input from inside its hook. */
static void resend_status(void *ctx, uint16_t type, uint16_t code, int32_t value)
{
	(void) type;
	(void) code;
	(void) ctx;
	F.resends++;
	assert_int_equal(vio_input_send(&F.input, VIO_INPUT_EV_MSC, 4, value), 0);
	assert_int_equal(vio_input_send(&F.input, VIO_INPUT_EV_SYN, VIO_INPUT_SYN_REPORT, 0), 0);
}

static void status_hook_may_send(void **state)
{
	struct vio_input_event ev[8];

	(void) state;
	F.ops.status = resend_status;
	start_kbd();
	ev_bufs(4, VIO_INPUT_EVENT_SIZE);
	status(VIO_INPUT_EV_LED, VIO_INPUT_LED_NUML, 7);
	status(VIO_INPUT_EV_LED, VIO_INPUT_LED_CAPSL, 8);
	assert_int_equal(F.resends, 2);
	assert_int_equal(ev_take(ev, 8), 4);
	expect_ev(&ev[0], VIO_INPUT_EV_MSC, 4, 7);
	expect_ev(&ev[2], VIO_INPUT_EV_MSC, 4, 8);
	/* no status hook at all: counted, nothing else */
	F.ops.status = NULL;
	status(VIO_INPUT_EV_LED, VIO_INPUT_LED_NUML, 1);
	assert_int_equal(F.input.status_events, 3);
}

/* ---- reset ---- */

/* A reset forgets queued input and the selection; the next driver starts clean. */
static void reset_forgets_backlog_and_select(void **state)
{
	uint8_t cfg[VIO_INPUT_CONFIG_SIZE], zero[VIO_INPUT_CONFIG_SIZE];
	struct vio_input_event ev[8];

	(void) state;
	start_kbd();
	assert_int_equal(vio_sim_input_key(&F.sim, 30, true), 0);
	assert_int_equal(vio_input_send(&F.input, VIO_INPUT_EV_KEY, 31, 1), 0); /* open report */
	assert_int_equal(cfg_select(VIO_INPUT_CFG_ID_NAME, 0), 16);
	assert_int_equal(vio_device_set_status(&F.input.dev, 0), 0);
	assert_int_equal(vio_input_backlog_room(&F.input), BACKLOG);
	assert_int_equal(F.input.dropped, 3);
	memset(zero, 0, sizeof(zero));
	assert_int_equal(vio_device_read_config(&F.input.dev, 0, cfg, sizeof(cfg)), 0);
	assert_memory_equal(cfg, zero, sizeof(cfg));
	assert_int_equal(vio_sim_input_key(&F.sim, 32, true), -VIO_EAGAIN);
	/* the driver comes back */
	F.ntok = 0;
	assert_int_equal(vio_loopback_negotiate(&F.lb, ~0ull), 0);
	assert_int_equal(vio_loopback_queue(&F.lb, VIO_INPUT_EVENTQ, QSIZE, &F.eq, F.eslots), 0);
	assert_int_equal(vio_loopback_queue(&F.lb, VIO_INPUT_STATUSQ, QSIZE, &F.sq, F.sslots), 0);
	assert_int_equal(vio_loopback_driver_ok(&F.lb), 0);
	ev_bufs(4, VIO_INPUT_EVENT_SIZE);
	assert_int_equal(ev_take(ev, 8), 0);
	assert_int_equal(vio_sim_input_key(&F.sim, 33, true), 0);
	assert_int_equal(ev_take(ev, 8), 2);
	expect_ev(&ev[0], VIO_INPUT_EV_KEY, 33, 1);
}

/* A reset in the middle of a dropped report does not keep dropping after it. */
static void reset_ends_dropping(void **state)
{
	(void) state;
	vio_sim_input_init_keyboard(&F.sim);
	bring_up(0, ~0ull, 2);
	assert_int_equal(vio_input_send(&F.input, VIO_INPUT_EV_KEY, 1, 1), 0);
	assert_int_equal(vio_input_send(&F.input, VIO_INPUT_EV_KEY, 2, 1), 0);
	assert_int_equal(vio_input_send(&F.input, VIO_INPUT_EV_KEY, 3, 1), -VIO_ENOSPC);
	assert_true(F.input.dropping);
	assert_int_equal(vio_device_set_status(&F.input.dev, 0), 0);
	assert_false(F.input.dropping);
	assert_int_equal(vio_loopback_negotiate(&F.lb, ~0ull), 0);
	assert_int_equal(vio_loopback_queue(&F.lb, VIO_INPUT_EVENTQ, QSIZE, &F.eq, F.eslots), 0);
	assert_int_equal(vio_loopback_queue(&F.lb, VIO_INPUT_STATUSQ, QSIZE, &F.sq, F.sslots), 0);
	assert_int_equal(vio_loopback_driver_ok(&F.lb), 0);
	assert_int_equal(vio_input_send(&F.input, VIO_INPUT_EV_KEY, 4, 1), 0);
}

/* A queue reset keeps what waits in the backlog: it goes to the new ring. */
static void queue_reset_keeps_backlog(void **state)
{
	struct vio_input_event ev[8];

	(void) state;
	start_kbd();
	assert_int_equal(vio_sim_input_key(&F.sim, 30, true), 0);
	assert_int_equal(vio_device_queue_reset(&F.input.dev, VIO_INPUT_EVENTQ), 0);
	assert_int_equal(vio_loopback_queue(&F.lb, VIO_INPUT_EVENTQ, QSIZE, &F.eq, F.eslots), 0);
	ev_bufs(4, VIO_INPUT_EVENT_SIZE);
	assert_int_equal(ev_take(ev, 8), 2);
	expect_ev(&ev[0], VIO_INPUT_EV_KEY, 30, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(config_identity_keyboard, fixture),
	    cmocka_unit_test_setup(config_identity_touchscreen, fixture),
	    cmocka_unit_test_setup(config_ev_bits_keyboard, fixture),
	    cmocka_unit_test_setup(config_ev_bits_touchscreen, fixture),
	    cmocka_unit_test_setup(config_abs_info, fixture),
	    cmocka_unit_test_setup(config_unknown_selectors, fixture),
	    cmocka_unit_test_setup(config_write_rules, fixture),
	    cmocka_unit_test_setup(config_provider_overstates, fixture),
	    cmocka_unit_test_setup(init_rejects_bad_args, fixture),
	    cmocka_unit_test_setup(features_negotiation, fixture),
	    cmocka_unit_test_setup(key_report_delivered, fixture),
	    cmocka_unit_test_setup(events_wait_for_buffers, fixture),
	    cmocka_unit_test_setup(open_report_held, fixture),
	    cmocka_unit_test_setup(backlog_full_drops_whole_report, fixture),
	    cmocka_unit_test_setup(backlog_exact_fit, fixture),
	    cmocka_unit_test_setup(events_without_driver_dropped, fixture),
	    cmocka_unit_test_setup(events_before_buffers_wait, fixture),
	    cmocka_unit_test_setup(eventq_long_buffer, fixture),
	    cmocka_unit_test_setup(eventq_segments_and_indirect, fixture),
	    cmocka_unit_test_setup(eventq_readable_buffer_breaks, fixture),
	    cmocka_unit_test_setup(eventq_short_buffer_breaks, fixture),
	    cmocka_unit_test_setup(eventq_too_many_segments, fixture),
	    cmocka_unit_test_setup(touch_reports, fixture),
	    cmocka_unit_test_setup(touch_tracking_ids_wrap, fixture),
	    cmocka_unit_test_setup(sim_rejects_bad_args, fixture),
	    cmocka_unit_test_setup(key_repeat_press_sends_nothing, fixture),
	    cmocka_unit_test_setup(status_leds_reach_provider, fixture),
	    cmocka_unit_test_setup(status_bell_and_repeat, fixture),
	    cmocka_unit_test_setup(status_not_advertised_ignored, fixture),
	    cmocka_unit_test_setup(status_long_and_split, fixture),
	    cmocka_unit_test_setup(status_short_breaks, fixture),
	    cmocka_unit_test_setup(status_writable_only_breaks, fixture),
	    cmocka_unit_test_setup(status_too_many_segments, fixture),
	    cmocka_unit_test_setup(status_hook_may_send, fixture),
	    cmocka_unit_test_setup(reset_forgets_backlog_and_select, fixture),
	    cmocka_unit_test_setup(reset_ends_dropping, fixture),
	    cmocka_unit_test_setup(queue_reset_keeps_backlog, fixture),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
