/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-msg device side, driven through raw messages: an entropy device
 * (dev 0) and a RAM-disk block device (dev 1) behind one bus whose area is a
 * buffer here; the driver's queues are built with the core's driver-side queue.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vioport/blk.h"
#include "vioport/byteorder.h"
#include "vioport/drvq.h"
#include "vioport/errno.h"
#include "vioport/rng.h"
#include "vioport/sim_entropy.h"
#include "vioport/sim_ramdisk.h"
#include "vioport/vmsg.h"
#include "vioport/vmsg_dev.h"

#define WIN_SIZE     0x10000u
#define AREA_OFF     0x1000u
#define AREA_SIZE    (WIN_SIZE - AREA_OFF)
#define QSIZE	     8u
#define DISK_SECTORS 16u
#define MAXOUT	     16u
#define RNG	     0
#define BLK	     1

#define S_ACK VIO_STATUS_ACKNOWLEDGE
#define S_DRV VIO_STATUS_DRIVER
#define S_FOK VIO_STATUS_FEATURES_OK
#define S_DOK VIO_STATUS_DRIVER_OK
#define S_UP  (S_ACK | S_DRV | S_FOK)

struct outmsg {
	uint8_t b[VIO_VMSG_MAX_SIZE];
	uint32_t len;
};

static struct {
	_Alignas(16) uint8_t win[WIN_SIZE];
	struct vio_window w;
	struct vio_winmap map;
	struct vio_vmsg_dev_bus bus;
	struct vio_vmsg_dev_bus_ops ops;
	struct outmsg out[MAXOUT];
	unsigned nout;
	int send_rc;
	unsigned logs;
	uint32_t brk; /* next free area offset */
	uint16_t token;
	/* rng */
	struct vio_sim_entropy ent;
	struct vio_rng_ops rng_ops;
	struct vio_rng rng;
	struct vio_queue rng_q;
	/* blk */
	uint8_t disk[DISK_SECTORS * VIO_BLK_SECTOR_SIZE];
	struct vio_sim_ramdisk rd;
	struct vio_blk_ops blk_ops;
	struct vio_blk_params p;
	struct vio_blk blk;
	struct vio_queue blk_q[2];
	struct vio_blk_req blk_slots[4];
	/* driver side */
	struct vio_drvq dq;
	struct vio_drvq_slot dslots[QSIZE];
} F;

static int t_send(void *ctx, const void *msg, uint32_t len)
{
	(void) ctx;
	assert_true(len <= VIO_VMSG_MAX_SIZE);
	if (F.send_rc < 0)
		return F.send_rc;
	assert_true(F.nout < MAXOUT);
	memcpy(F.out[F.nout].b, msg, len);
	F.out[F.nout].len = len;
	F.nout++;
	return 0;
}

static void t_log(void *ctx, const char *msg, int err)
{
	(void) ctx;
	(void) msg;
	(void) err;
	F.logs++;
}

static int setup(void **state)
{
	(void) state;
	memset(&F, 0, sizeof(F));
	F.ops.send = t_send;
	F.ops.log = t_log;
	vio_winmap_init(&F.map, &F.w, 1);
	assert_int_equal(
	    vio_winmap_add(&F.map, AREA_OFF, AREA_SIZE, F.win + AREA_OFF, VIO_ACCESS_RW), 0);
	assert_int_equal(vio_vmsg_dev_bus_init(&F.bus, &F.ops, NULL, &F.map, VIO_VMSG_MAX_SIZE), 0);

	F.rng_ops = vio_sim_entropy_ops;
	vio_sim_entropy_init(&F.ent, 42);
	assert_int_equal(vio_rng_init(&F.rng, &F.rng_ops, &F.ent, &F.rng_q, QSIZE, 0), 0);
	assert_int_equal(vio_vmsg_dev_bus_add(&F.bus, &F.rng.dev), RNG);

	for (size_t i = 0; i < sizeof(F.disk); i++)
		F.disk[i] = (uint8_t) (i * 7u + 3u);
	vio_sim_ramdisk_init(&F.rd, F.disk, sizeof(F.disk));
	F.blk_ops = vio_sim_ramdisk_ops;
	F.p.capacity = DISK_SECTORS;
	F.p.features = VIO_BIT(VIO_BLK_F_FLUSH) | VIO_BIT(VIO_BLK_F_CONFIG_WCE) |
		       VIO_BIT(VIO_BLK_F_MQ) | VIO_BIT(VIO_F_RING_RESET);
	F.p.num_queues = 2;
	F.p.queue_size = QSIZE;
	F.p.writeback = true;
	assert_int_equal(vio_blk_init(&F.blk, &F.p, &F.blk_ops, &F.rd, F.blk_q, F.blk_slots, 4), 0);
	assert_int_equal(vio_vmsg_dev_bus_add(&F.bus, &F.blk.dev), BLK);
	F.brk = AREA_OFF;
	return 0;
}

/* Area memory for the driver: returns its bus address (an offset in the window). */
static uint32_t area_alloc(uint32_t len)
{
	uint32_t at = (F.brk + 15u) & ~15u;

	assert_true(at + len <= WIN_SIZE);
	F.brk = at + len;
	return at;
}

static void deliver(const void *msg, uint32_t len)
{
	F.nout = 0;
	vio_vmsg_dev_bus_handle(&F.bus, msg, len);
}

static struct vio_vmsg_hdr hdr(uint16_t dev, uint8_t id)
{
	struct vio_vmsg_hdr h = {.type = 0, .id = id, .dev_num = dev, .token = ++F.token};

	return h;
}

/* The last message sent, decoded; checks it answers request h. */
static struct vio_vmsg_hdr reply_of(const struct vio_vmsg_hdr *req, unsigned i)
{
	struct vio_vmsg_hdr r;

	assert_true(i < F.nout);
	assert_int_equal(vio_vmsg_hdr_decode(&r, F.out[i].b, F.out[i].len, VIO_VMSG_MAX_SIZE), 0);
	assert_int_equal(r.type, (req->type & VIO_VMSG_TYPE_BUS) | VIO_VMSG_TYPE_RESPONSE);
	assert_int_equal(r.id, req->id);
	assert_int_equal(r.dev_num, req->dev_num);
	assert_int_equal(r.token, req->token);
	return r;
}

static void send_empty(uint16_t dev, uint8_t id, struct vio_vmsg_hdr *h)
{
	uint8_t m[VIO_VMSG_MAX_SIZE];

	*h = hdr(dev, id);
	deliver(m, (uint32_t) vio_vmsg_encode_empty(m, sizeof(m), h));
}

static void send_u32(uint16_t dev, uint8_t id, uint32_t v, struct vio_vmsg_hdr *h)
{
	uint8_t m[VIO_VMSG_MAX_SIZE];

	*h = hdr(dev, id);
	deliver(m, (uint32_t) vio_vmsg_encode_u32(m, sizeof(m), h, v));
}

/* A request answered with one le32 (status, ping). */
static uint32_t call_u32(uint16_t dev, uint8_t id, uint32_t v)
{
	struct vio_vmsg_hdr h, r;
	uint32_t out;

	send_u32(dev, id, v, &h);
	assert_int_equal(F.nout, 1);
	r = reply_of(&h, 0);
	assert_int_equal(vio_vmsg_decode_u32(&r, F.out[0].b, &out), 0);
	return out;
}

static uint32_t set_status(uint16_t dev, uint32_t s)
{
	return call_u32(dev, VIO_VMSG_SET_DEVICE_STATUS, s);
}

static uint32_t get_status(uint16_t dev)
{
	struct vio_vmsg_hdr h, r;
	uint32_t out;

	send_empty(dev, VIO_VMSG_GET_DEVICE_STATUS, &h);
	assert_int_equal(F.nout, 1);
	r = reply_of(&h, 0);
	assert_int_equal(vio_vmsg_decode_u32(&r, F.out[0].b, &out), 0);
	return out;
}

static struct vio_vmsg_features get_features(uint16_t dev, uint32_t index, uint32_t count)
{
	uint8_t m[VIO_VMSG_MAX_SIZE];
	struct vio_vmsg_features f = {.index = index, .count = count};
	struct vio_vmsg_hdr h = hdr(dev, VIO_VMSG_GET_DEVICE_FEATURES), r;

	deliver(m, (uint32_t) vio_vmsg_encode_features_req(m, sizeof(m), &h, &f));
	assert_int_equal(F.nout, 1);
	r = reply_of(&h, 0);
	memset(&f, 0, sizeof(f));
	assert_int_equal(vio_vmsg_decode_features(&r, F.out[0].b, &f), 0);
	assert_int_equal(f.index, index);
	assert_int_equal(f.count, count);
	return f;
}

static void set_features(uint16_t dev, uint32_t index, uint32_t count, const uint32_t *blocks)
{
	uint8_t m[VIO_VMSG_MAX_SIZE];
	struct vio_vmsg_features f = {.index = index, .count = count};
	struct vio_vmsg_hdr h = hdr(dev, VIO_VMSG_SET_DRIVER_FEATURES), r;

	memcpy(f.blocks, blocks, count * sizeof(uint32_t));
	deliver(m, (uint32_t) vio_vmsg_encode_features(m, sizeof(m), &h, &f));
	assert_int_equal(F.nout, 1);
	r = reply_of(&h, 0);
	assert_int_equal(vio_vmsg_decode_empty(&r, F.out[0].b), 0);
}

/* Reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK; returns the status answered. */
static uint32_t negotiate(uint16_t dev, uint64_t features)
{
	uint32_t blocks[2] = {(uint32_t) features, (uint32_t) (features >> 32)};

	assert_int_equal(set_status(dev, 0), 0);
	assert_int_equal(set_status(dev, S_ACK), S_ACK);
	assert_int_equal(set_status(dev, S_ACK | S_DRV), S_ACK | S_DRV);
	set_features(dev, 0, 2, blocks);
	return set_status(dev, S_UP);
}

static void set_vqueue(uint16_t dev, uint32_t index, uint32_t flags, uint32_t size, uint64_t desc,
		       uint64_t driver, uint64_t device)
{
	uint8_t m[VIO_VMSG_MAX_SIZE];
	struct vio_vmsg_vqueue v = {.index = index,
				    .flags = flags,
				    .size = size,
				    .desc = desc,
				    .driver = driver,
				    .device = device};
	struct vio_vmsg_hdr h = hdr(dev, VIO_VMSG_SET_VQUEUE), r;

	deliver(m, (uint32_t) vio_vmsg_encode_set_vqueue(m, sizeof(m), &h, &v));
	assert_true(F.nout >= 1);
	/* Events (a broken device) may come first; the answer is last. */
	r = reply_of(&h, F.nout - 1);
	assert_int_equal(vio_vmsg_decode_empty(&r, F.out[F.nout - 1].b), 0);
}

static struct vio_vmsg_vqueue get_vqueue(uint16_t dev, uint32_t index)
{
	struct vio_vmsg_hdr h, r;
	struct vio_vmsg_vqueue v;

	send_u32(dev, VIO_VMSG_GET_VQUEUE, index, &h);
	assert_int_equal(F.nout, 1);
	r = reply_of(&h, 0);
	assert_int_equal(vio_vmsg_decode_vqueue_info(&r, F.out[0].b, &v), 0);
	assert_int_equal(v.index, index);
	return v;
}

/* Lays out a driver queue of QSIZE in the area and hands it to queue q. */
static void setup_queue(uint16_t dev, uint16_t q, uint32_t flags)
{
	uint32_t ring = area_alloc((uint32_t) vio_drvq_ring_bytes(QSIZE));
	uint64_t desc, avail, used;

	assert_int_equal(
	    vio_drvq_init(&F.dq, QSIZE, F.win + ring, ring, F.dslots, false, &desc, &avail, &used),
	    0);
	set_vqueue(dev, q, flags, QSIZE, desc, avail, used);
}

static void kick(uint16_t dev, uint16_t q)
{
	uint8_t m[VIO_VMSG_MAX_SIZE];
	struct vio_vmsg_event_avail ev = {.index = q};
	struct vio_vmsg_hdr h = hdr(dev, VIO_VMSG_EVENT_AVAIL);

	vio_drvq_kick_prepare(&F.dq);
	deliver(m, (uint32_t) vio_vmsg_encode_event_avail(m, sizeof(m), &h, &ev));
}

/* Checks that message i is an event id for dev; returns its header. */
static struct vio_vmsg_hdr event_at(unsigned i, uint8_t id, uint16_t dev)
{
	struct vio_vmsg_hdr r;

	assert_true(i < F.nout);
	assert_int_equal(vio_vmsg_hdr_decode(&r, F.out[i].b, F.out[i].len, VIO_VMSG_MAX_SIZE), 0);
	assert_int_equal(r.type, 0);
	assert_int_equal(r.id, id);
	assert_int_equal(r.dev_num, dev);
	return r;
}

static void expect_event_used(unsigned i, uint16_t dev, uint32_t q)
{
	struct vio_vmsg_hdr r = event_at(i, VIO_VMSG_EVENT_USED, dev);
	uint32_t v;

	assert_int_equal(vio_vmsg_decode_u32(&r, F.out[i].b, &v), 0);
	assert_int_equal(v, q);
}

/* Checks message i is EVENT_CONFIG for dev with status bits `has`. */
static void expect_event_config(unsigned i, uint16_t dev, uint32_t has)
{
	struct vio_vmsg_hdr r = event_at(i, VIO_VMSG_EVENT_CONFIG, dev);
	struct vio_vmsg_event_config ev;

	assert_int_equal(vio_vmsg_decode_event_config(&r, F.out[i].b, &ev), 0);
	assert_int_equal(ev.status & has, has);
	assert_int_equal(ev.offset, 0);
	assert_int_equal(ev.length, 0);
}

static void test_init_limits(void **state)
{
	struct vio_vmsg_dev_bus b;

	(void) state;
	assert_int_equal(vio_vmsg_dev_bus_init(&b, &F.ops, NULL, &F.map, VIO_VMSG_MIN_BUS_SIZE - 1),
			 -VIO_EINVAL);
	assert_int_equal(vio_vmsg_dev_bus_init(&b, &F.ops, NULL, &F.map, 4096), 0);
	assert_int_equal(b.max_msg, VIO_VMSG_MAX_SIZE);
	for (unsigned i = 0; i < VIO_VMSG_DEV_MAX; i++)
		assert_int_equal(vio_vmsg_dev_bus_add(&b, &F.rng.dev), (int) i);
	assert_int_equal(vio_vmsg_dev_bus_add(&b, &F.rng.dev), -VIO_ENOSPC);
}

static void test_bus_messages(void **state)
{
	uint8_t m[VIO_VMSG_MAX_SIZE];
	struct vio_vmsg_devices d = {.offset = 0, .count = 16};
	struct vio_vmsg_hdr h = {.type = VIO_VMSG_TYPE_BUS,
				 .id = VIO_VMSG_BUS_GET_DEVICES,
				 .token = 9},
			    r;

	(void) state;
	deliver(m, (uint32_t) vio_vmsg_encode_devices_req(m, sizeof(m), &h, &d));
	assert_int_equal(F.nout, 1);
	r = reply_of(&h, 0);
	assert_int_equal(vio_vmsg_decode_devices(&r, F.out[0].b, &d), 0);
	assert_int_equal(d.offset, 0);
	assert_int_equal(d.count, 2);
	assert_int_equal(d.next_offset, 0);
	assert_int_equal(d.bitmap[0], 0x03);
	/* A window past the devices is empty; one that cuts them suggests where to go on. */
	d = (struct vio_vmsg_devices){.offset = 5, .count = 3};
	deliver(m, (uint32_t) vio_vmsg_encode_devices_req(m, sizeof(m), &h, &d));
	r = reply_of(&h, 0);
	assert_int_equal(vio_vmsg_decode_devices(&r, F.out[0].b, &d), 0);
	assert_int_equal(d.count, 0);
	assert_int_equal(d.next_offset, 0);
	d = (struct vio_vmsg_devices){.offset = 0, .count = 1};
	deliver(m, (uint32_t) vio_vmsg_encode_devices_req(m, sizeof(m), &h, &d));
	r = reply_of(&h, 0);
	assert_int_equal(vio_vmsg_decode_devices(&r, F.out[0].b, &d), 0);
	assert_int_equal(d.count, 1);
	assert_int_equal(d.next_offset, 1);
	assert_int_equal(d.bitmap[0], 0x01);

	h.id = VIO_VMSG_BUS_PING;
	deliver(m, (uint32_t) vio_vmsg_encode_u32(m, sizeof(m), &h, 0xdeadbeef));
	r = reply_of(&h, 0);
	assert_int_equal(vio_get_le32(F.out[0].b + 8), 0xdeadbeef);

	/* A device added once the driver is talking is announced. */
	assert_int_equal(vio_vmsg_dev_bus_add(&F.bus, &F.rng.dev), 2);
	assert_int_equal(F.nout, 2);
	assert_int_equal(vio_vmsg_hdr_decode(&r, F.out[1].b, F.out[1].len, VIO_VMSG_MAX_SIZE), 0);
	{
		struct vio_vmsg_event_device ev;

		assert_int_equal(r.type, VIO_VMSG_TYPE_BUS);
		assert_int_equal(r.id, VIO_VMSG_BUS_EVENT_DEVICE);
		assert_int_equal(vio_vmsg_decode_event_device(&r, F.out[1].b, &ev), 0);
		assert_int_equal(ev.dev_num, 2);
		assert_int_equal(ev.state, VIO_VMSG_DEVICE_ADDED);
	}
}

static void test_rng_bringup_and_request(void **state)
{
	struct vio_vmsg_hdr h, r;
	struct vio_vmsg_device_info info;
	struct vio_vmsg_features f;
	struct vio_vmsg_vqueue v;
	struct vio_buf in;
	uint32_t buf;
	void *tok;
	uint32_t len;

	(void) state;
	send_empty(RNG, VIO_VMSG_GET_DEVICE_INFO, &h);
	assert_int_equal(F.nout, 1);
	r = reply_of(&h, 0);
	assert_int_equal(vio_vmsg_decode_device_info(&r, F.out[0].b, &info), 0);
	assert_int_equal(info.device_id, VIO_ID_RNG);
	assert_int_equal(info.num_feature_blocks, 2);
	assert_int_equal(info.config_size, 0);
	assert_int_equal(info.max_virtqueues, 1);
	assert_int_equal(info.admin_vq_count, 0);

	f = get_features(RNG, 0, 2);
	assert_int_equal(f.blocks[0], (uint32_t) F.rng.dev.host_features);
	assert_int_equal(f.blocks[1], (uint32_t) (F.rng.dev.host_features >> 32));
	assert_int_equal(negotiate(RNG, VIO_BIT(VIO_F_VERSION_1)), S_UP);

	v = get_vqueue(RNG, 0);
	assert_int_equal(v.max_size, QSIZE);
	assert_int_equal(v.size, 0);
	assert_int_equal(v.flags, 0);
	setup_queue(RNG, 0, VIO_VMSG_VQ_STATE_ENABLE);
	v = get_vqueue(RNG, 0);
	assert_int_equal(v.size, QSIZE);
	assert_int_equal(v.flags, VIO_VMSG_VQ_ENABLED);
	assert_true(v.desc >= AREA_OFF);
	assert_int_equal(set_status(RNG, S_UP | S_DOK), S_UP | S_DOK);

	buf = area_alloc(32);
	in = (struct vio_buf){buf, 32};
	assert_true(vio_drvq_add(&F.dq, NULL, 0, &in, 1, &F) >= 0);
	kick(RNG, 0);
	assert_int_equal(F.nout, 1);
	expect_event_used(0, RNG, 0);
	assert_int_equal(vio_drvq_get_used(&F.dq, &tok, &len), 1);
	assert_ptr_equal(tok, &F);
	assert_int_equal(len, 32);
	/* EVENT_AVAIL for a queue the device lacks is dropped. */
	{
		uint32_t before = F.bus.dropped;
		uint8_t m[VIO_VMSG_MAX_SIZE];
		struct vio_vmsg_event_avail ev = {.index = 1};

		h = hdr(RNG, VIO_VMSG_EVENT_AVAIL);
		deliver(m, (uint32_t) vio_vmsg_encode_event_avail(m, sizeof(m), &h, &ev));
		assert_int_equal(F.nout, 0);
		assert_int_equal(F.bus.dropped, before + 1);
	}
	/* Reset through status 0, and through the bus. */
	assert_int_equal(set_status(RNG, 0), 0);
	assert_int_equal(get_vqueue(RNG, 0).flags, 0);
	assert_int_equal(negotiate(RNG, VIO_BIT(VIO_F_VERSION_1)), S_UP);
	vio_vmsg_dev_bus_reset(&F.bus);
	assert_false(F.bus.driver_seen);
	assert_int_equal(get_status(RNG), 0);
	assert_int_equal(get_vqueue(RNG, 0).size, 0);
}

/* Block device, queues set with flags 0: DRIVER_OK enables them. */
static void test_blk_read_and_config(void **state)
{
	uint8_t m[VIO_VMSG_MAX_SIZE];
	struct vio_vmsg_hdr h, r;
	struct vio_vmsg_config c;
	struct vio_buf bufs[3];
	uint32_t hdr_at, data_at, st_at;
	uint8_t wb;
	void *tok;
	uint32_t len, gen;

	(void) state;
	assert_int_equal(negotiate(BLK, VIO_BIT(VIO_F_VERSION_1) | VIO_BIT(VIO_BLK_F_FLUSH) |
					    VIO_BIT(VIO_BLK_F_CONFIG_WCE)),
			 S_UP);
	/* Capacity through GET_CONFIG. */
	c = (struct vio_vmsg_config){.offset = VIO_BLK_CFG_CAPACITY, .length = 8};
	h = hdr(BLK, VIO_VMSG_GET_CONFIG);
	deliver(m, (uint32_t) vio_vmsg_encode_config_req(m, sizeof(m), &h, &c));
	assert_int_equal(F.nout, 1);
	r = reply_of(&h, 0);
	assert_int_equal(vio_vmsg_decode_config(&r, F.out[0].b, &c), 0);
	assert_int_equal(c.length, 8);
	assert_int_equal(vio_get_le64(c.data), DISK_SECTORS);
	gen = c.generation;
	/* Out of the config space, or more than a reply holds: dropped. */
	c = (struct vio_vmsg_config){.offset = F.blk.dev.config_len - 2, .length = 4};
	deliver(m, (uint32_t) vio_vmsg_encode_config_req(m, sizeof(m), &h, &c));
	assert_int_equal(F.nout, 0);
	c = (struct vio_vmsg_config){.offset = 0, .length = VIO_VMSG_CONFIG_CHUNK_MAX + 1};
	deliver(m, (uint32_t) vio_vmsg_encode_config_req(m, sizeof(m), &h, &c));
	assert_int_equal(F.nout, 0);

	/* SET_CONFIG with a stale generation is refused: length 0, nothing written. */
	wb = 0;
	c = (struct vio_vmsg_config){
	    .generation = gen + 1, .offset = VIO_BLK_CFG_WRITEBACK, .length = 1, .data = &wb};
	h = hdr(BLK, VIO_VMSG_SET_CONFIG);
	deliver(m, (uint32_t) vio_vmsg_encode_config(m, sizeof(m), &h, &c));
	assert_int_equal(F.nout, 1);
	r = reply_of(&h, 0);
	assert_int_equal(vio_vmsg_decode_config(&r, F.out[0].b, &c), 0);
	assert_int_equal(c.length, 0);
	assert_int_equal(F.blk.dev.config[VIO_BLK_CFG_WRITEBACK], 1);
	/* With the current generation it is applied and echoed. */
	c = (struct vio_vmsg_config){
	    .generation = gen, .offset = VIO_BLK_CFG_WRITEBACK, .length = 1, .data = &wb};
	deliver(m, (uint32_t) vio_vmsg_encode_config(m, sizeof(m), &h, &c));
	r = reply_of(&h, F.nout - 1);
	assert_int_equal(vio_vmsg_decode_config(&r, F.out[F.nout - 1].b, &c), 0);
	assert_int_equal(c.length, 1);
	assert_int_equal(c.data[0], 0);
	assert_int_equal(F.blk.dev.config[VIO_BLK_CFG_WRITEBACK], 0);
	/* In the baseline profile the generation is ignored. */
	F.bus.transport_features = 0;
	wb = 1;
	c = (struct vio_vmsg_config){
	    .generation = 0x777, .offset = VIO_BLK_CFG_WRITEBACK, .length = 1, .data = &wb};
	deliver(m, (uint32_t) vio_vmsg_encode_config(m, sizeof(m), &h, &c));
	r = reply_of(&h, F.nout - 1);
	assert_int_equal(vio_vmsg_decode_config(&r, F.out[F.nout - 1].b, &c), 0);
	assert_int_equal(c.length, 1);
	assert_int_equal(F.blk.dev.config[VIO_BLK_CFG_WRITEBACK], 1);

	setup_queue(BLK, 0, VIO_VMSG_VQ_STATE_DISABLED);
	assert_int_equal(get_vqueue(BLK, 0).flags, 0);
	assert_int_equal(get_vqueue(BLK, 0).size, QSIZE);
	assert_int_equal(set_status(BLK, S_UP | S_DOK), S_UP | S_DOK);
	assert_int_equal(get_vqueue(BLK, 0).flags, VIO_VMSG_VQ_ENABLED);
	assert_int_equal(get_vqueue(BLK, 1).flags, 0); /* never set: stays off */

	hdr_at = area_alloc(VIO_BLK_REQ_HDR);
	data_at = area_alloc(VIO_BLK_SECTOR_SIZE);
	st_at = area_alloc(1);
	vio_put_le32(F.win + hdr_at, VIO_BLK_T_IN);
	vio_put_le64(F.win + hdr_at + 8, 2);
	F.win[st_at] = 0xff;
	bufs[0] = (struct vio_buf){hdr_at, VIO_BLK_REQ_HDR};
	bufs[1] = (struct vio_buf){data_at, VIO_BLK_SECTOR_SIZE};
	bufs[2] = (struct vio_buf){st_at, 1};
	assert_true(vio_drvq_add(&F.dq, bufs, 1, bufs + 1, 2, &F) >= 0);
	kick(BLK, 0);
	assert_int_equal(F.nout, 1);
	expect_event_used(0, BLK, 0);
	assert_int_equal(vio_drvq_get_used(&F.dq, &tok, &len), 1);
	assert_int_equal(len, VIO_BLK_SECTOR_SIZE + 1);
	assert_int_equal(F.win[st_at], VIO_BLK_S_OK);
	assert_memory_equal(F.win + data_at, F.disk + 2 * VIO_BLK_SECTOR_SIZE, VIO_BLK_SECTOR_SIZE);
}

static void expect_dropped(uint8_t type, uint8_t id, uint16_t dev, uint16_t size)
{
	uint8_t m[VIO_VMSG_MAX_SIZE] = {0};
	uint32_t before = F.bus.dropped;

	m[0] = type;
	m[1] = id;
	vio_put_le16(m + 2, dev);
	vio_put_le16(m + 6, size);
	deliver(m, sizeof(m));
	assert_int_equal(F.nout, 0);
	assert_int_equal(F.bus.dropped, before + 1);
}

static void test_wrong_sizes_dropped(void **state)
{
	static const struct {
		uint8_t type, id;
		uint16_t size; /* the right size with a zero payload */
	} req[] = {
	    {0, VIO_VMSG_GET_DEVICE_INFO, 8},
	    {0, VIO_VMSG_GET_DEVICE_FEATURES, 16},
	    {0, VIO_VMSG_SET_DRIVER_FEATURES, 16},
	    {0, VIO_VMSG_GET_CONFIG, 16},
	    {0, VIO_VMSG_SET_CONFIG, 20},
	    {0, VIO_VMSG_GET_DEVICE_STATUS, 8},
	    {0, VIO_VMSG_SET_DEVICE_STATUS, 12},
	    {0, VIO_VMSG_GET_VQUEUE, 12},
	    {0, VIO_VMSG_SET_VQUEUE, 48},
	    {0, VIO_VMSG_RESET_VQUEUE, 12},
	    {0, VIO_VMSG_GET_SHM, 12},
	    {0, VIO_VMSG_EVENT_AVAIL, 16},
	    {VIO_VMSG_TYPE_BUS, VIO_VMSG_BUS_GET_DEVICES, 12},
	    {VIO_VMSG_TYPE_BUS, VIO_VMSG_BUS_PING, 12},
	};
	uint8_t m[VIO_VMSG_MAX_SIZE] = {0};

	(void) state;
	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		uint16_t dev = (req[i].type & VIO_VMSG_TYPE_BUS) ? 0 : BLK;

		expect_dropped(req[i].type, req[i].id, dev, (uint16_t) (req[i].size + 1));
		if (req[i].size > 8)
			expect_dropped(req[i].type, req[i].id, dev, (uint16_t) (req[i].size - 1));
		/* The right size is answered (events are not). */
		m[0] = req[i].type;
		m[1] = req[i].id;
		vio_put_le16(m + 2, dev);
		vio_put_le16(m + 6, req[i].size);
		deliver(m, sizeof(m));
		assert_int_equal(F.nout, req[i].id == VIO_VMSG_EVENT_AVAIL ? 0 : 1);
	}
	/* Broken headers. */
	deliver(m, 7);
	assert_int_equal(F.nout, 0);
	vio_put_le16(m + 6, 12);
	expect_dropped(0, VIO_VMSG_GET_VQUEUE, BLK, 4);
	expect_dropped(0, VIO_VMSG_GET_VQUEUE, BLK, VIO_VMSG_MAX_SIZE + 1);
	{
		uint32_t before = F.bus.dropped;

		m[0] = 0;
		m[1] = VIO_VMSG_GET_VQUEUE;
		vio_put_le16(m + 6, 12);
		deliver(m, 11); /* msg_size beyond what arrived */
		assert_int_equal(F.nout, 0);
		assert_int_equal(F.bus.dropped, before + 1);
	}
	/* A feature count that does not match the size. */
	memset(m, 0, sizeof(m));
	m[1] = VIO_VMSG_SET_DRIVER_FEATURES;
	vio_put_le16(m + 2, BLK);
	vio_put_le16(m + 6, 20);
	vio_put_le32(m + 12, 2);
	deliver(m, 20);
	assert_int_equal(F.nout, 0);
	assert_true(F.logs > 0);
}

static void test_unknown_messages_dropped(void **state)
{
	(void) state;
	expect_dropped(0, VIO_VMSG_GET_DEVICE_INFO, 2, 8);
	expect_dropped(0, VIO_VMSG_GET_DEVICE_INFO, 0xffff, 8);
	expect_dropped(0, 0x00, RNG, 8);
	expect_dropped(0, 0x0d, RNG, 8);
	expect_dropped(0, 0x80, RNG, 8);
	expect_dropped(0, VIO_VMSG_EVENT_USED, RNG, 12);
	expect_dropped(0, VIO_VMSG_EVENT_CONFIG, RNG, 24);
	expect_dropped(VIO_VMSG_TYPE_RESPONSE, VIO_VMSG_GET_DEVICE_INFO, RNG, 8);
	expect_dropped(VIO_VMSG_TYPE_BUS, VIO_VMSG_BUS_PING, 1, 12);
	expect_dropped(VIO_VMSG_TYPE_BUS, VIO_VMSG_BUS_EVENT_DEVICE, 0, 12);
	expect_dropped(VIO_VMSG_TYPE_BUS, 0x07, 0, 8);
	expect_dropped(VIO_VMSG_TYPE_BUS | VIO_VMSG_TYPE_RESPONSE, VIO_VMSG_BUS_PING, 0, 12);
	/* Reserved type bits are ignored: this is a plain GET_DEVICE_STATUS. */
	{
		uint8_t m[8] = {0xfc, VIO_VMSG_GET_DEVICE_STATUS, 0, 0, 0, 0, 8, 0};

		deliver(m, sizeof(m));
		assert_int_equal(F.nout, 1);
	}
}

static void test_queue_outside_area(void **state)
{
	(void) state;
	assert_int_equal(negotiate(RNG, VIO_BIT(VIO_F_VERSION_1)), S_UP);
	/* The header and FIFOs (below the area) are not addressable. */
	set_vqueue(RNG, 0, VIO_VMSG_VQ_STATE_ENABLE, QSIZE, 0x100, AREA_OFF, AREA_OFF + 0x100);
	assert_int_equal(F.nout, 2);
	expect_event_config(0, RNG, VIO_STATUS_NEEDS_RESET);
	assert_true(get_status(RNG) & VIO_STATUS_NEEDS_RESET);
	/* Past the end of the window. */
	assert_int_equal(negotiate(RNG, VIO_BIT(VIO_F_VERSION_1)), S_UP);
	set_vqueue(RNG, 0, VIO_VMSG_VQ_STATE_ENABLE, QSIZE, WIN_SIZE - 64, AREA_OFF,
		   AREA_OFF + 0x100);
	expect_event_config(0, RNG, VIO_STATUS_NEEDS_RESET);
	/* Kept disabled, the bad rings break the device at DRIVER_OK instead. */
	assert_int_equal(negotiate(RNG, VIO_BIT(VIO_F_VERSION_1)), S_UP);
	set_vqueue(RNG, 0, 0, QSIZE, UINT64_MAX - 8, AREA_OFF, AREA_OFF + 0x100);
	assert_int_equal(F.nout, 1);
	{
		struct vio_vmsg_hdr h, r;
		uint32_t st;

		send_u32(RNG, VIO_VMSG_SET_DEVICE_STATUS, S_UP | S_DOK, &h);
		assert_int_equal(F.nout, 2);
		expect_event_config(0, RNG, VIO_STATUS_NEEDS_RESET);
		r = reply_of(&h, 1);
		assert_int_equal(vio_vmsg_decode_u32(&r, F.out[1].b, &st), 0);
		assert_int_equal(st, S_UP | S_DOK | VIO_STATUS_NEEDS_RESET);
	}
	assert_int_equal(get_vqueue(RNG, 0).flags, 0);
}

static void test_overlapping_queues(void **state)
{
	uint64_t a = AREA_OFF + 0x1000;

	(void) state;
	/* Within one queue: the used ring over the descriptors. */
	assert_int_equal(negotiate(RNG, VIO_BIT(VIO_F_VERSION_1)), S_UP);
	set_vqueue(RNG, 0, VIO_VMSG_VQ_STATE_ENABLE, QSIZE, a, a + 0x200, a + 0x10);
	assert_int_equal(F.nout, 2);
	expect_event_config(0, RNG, VIO_STATUS_NEEDS_RESET);

	/* Across queues: queue 1's descriptors over queue 0's used ring. */
	assert_int_equal(negotiate(BLK, VIO_BIT(VIO_F_VERSION_1) | VIO_BIT(VIO_BLK_F_MQ)), S_UP);
	set_vqueue(BLK, 0, VIO_VMSG_VQ_STATE_ENABLE, QSIZE, a, a + 0x100, a + 0x200);
	assert_int_equal(F.nout, 1);
	assert_int_equal(get_vqueue(BLK, 0).flags, VIO_VMSG_VQ_ENABLED);
	set_vqueue(BLK, 1, VIO_VMSG_VQ_STATE_ENABLE, QSIZE, a + 0x220, a + 0x400, a + 0x500);
	assert_int_equal(F.nout, 2);
	expect_event_config(0, BLK, VIO_STATUS_NEEDS_RESET);
	assert_int_equal(get_vqueue(BLK, 1).flags, 0);
	/* Adjacent but separate rings are fine. */
	assert_int_equal(negotiate(BLK, VIO_BIT(VIO_F_VERSION_1) | VIO_BIT(VIO_BLK_F_MQ)), S_UP);
	set_vqueue(BLK, 0, VIO_VMSG_VQ_STATE_ENABLE, QSIZE, a, a + 0x80, a + 0x100);
	/* used ends at a + 0x146 */
	set_vqueue(BLK, 1, VIO_VMSG_VQ_STATE_ENABLE, QSIZE, a + 0x150, a + 0x400, a + 0x500);
	assert_int_equal(F.nout, 1);
	assert_int_equal(get_vqueue(BLK, 1).flags, VIO_VMSG_VQ_ENABLED);
	assert_false(get_status(BLK) & VIO_STATUS_NEEDS_RESET);
}

static void test_feature_blocks(void **state)
{
	struct vio_vmsg_features f;
	uint32_t hi = 1;
	uint8_t m[VIO_VMSG_MAX_SIZE];
	struct vio_vmsg_hdr h;

	(void) state;
	f = get_features(BLK, 1, 3);
	assert_int_equal(f.blocks[0], (uint32_t) (F.blk.dev.host_features >> 32));
	assert_int_equal(f.blocks[1], 0);
	assert_int_equal(f.blocks[2], 0);
	f = get_features(BLK, UINT32_MAX, 2);
	assert_int_equal(f.blocks[0], 0);
	assert_int_equal(f.blocks[1], 0);
	f = get_features(BLK, 0, VIO_VMSG_FEATURE_BLOCKS_MAX);
	assert_int_equal(f.blocks[0], (uint32_t) F.blk.dev.host_features);
	/* More blocks than a reply holds: dropped. */
	f = (struct vio_vmsg_features){.index = 0, .count = VIO_VMSG_FEATURE_BLOCKS_MAX + 1};
	h = hdr(BLK, VIO_VMSG_GET_DEVICE_FEATURES);
	deliver(m, (uint32_t) vio_vmsg_encode_features_req(m, sizeof(m), &h, &f));
	assert_int_equal(F.nout, 0);

	/* A bit beyond 63 was never offered: FEATURES_OK does not stick. */
	assert_int_equal(set_status(BLK, 0), 0);
	assert_int_equal(set_status(BLK, S_ACK | S_DRV), S_ACK | S_DRV);
	set_features(BLK, 1, 1, &hi);
	set_features(BLK, 2, 1, &hi);
	assert_int_equal(F.blk.dev.driver_features, VIO_BIT(VIO_F_VERSION_1));
	assert_int_equal(set_status(BLK, S_UP), S_ACK | S_DRV);
	/* Block-scoped: setting block 0 keeps block 1. */
	assert_int_equal(negotiate(BLK, VIO_BIT(VIO_F_VERSION_1)), S_UP);
	assert_int_equal(set_status(BLK, 0), 0);
	assert_int_equal(set_status(BLK, S_ACK | S_DRV), S_ACK | S_DRV);
	set_features(BLK, 1, 1, &hi);
	hi = 1u << VIO_BLK_F_FLUSH;
	set_features(BLK, 0, 1, &hi);
	assert_true(F.blk.dev.driver_features ==
		    (VIO_BIT(VIO_F_VERSION_1) | VIO_BIT(VIO_BLK_F_FLUSH)));
	assert_int_equal(set_status(BLK, S_UP), S_UP);
	/* After FEATURES_OK the features no longer change. */
	hi = 0;
	set_features(BLK, 0, 1, &hi);
	assert_true(F.blk.dev.driver_features & VIO_BIT(VIO_BLK_F_FLUSH));
	/* Status bits beyond 8 are refused, the answer shows the status unchanged. */
	assert_int_equal(set_status(BLK, 0x100 | S_UP | S_DOK), S_UP);
}

static void test_set_vqueue_rules(void **state)
{
	struct vio_vmsg_vqueue v;
	uint64_t a = AREA_OFF + 0x2000;

	(void) state;
	assert_int_equal(negotiate(BLK, VIO_BIT(VIO_F_VERSION_1) | VIO_BIT(VIO_BLK_F_MQ)), S_UP);
	/* Out of range index: no-op with the empty answer; GET_VQUEUE gives the zero sentinel. */
	set_vqueue(BLK, 2, VIO_VMSG_VQ_STATE_ENABLE, QSIZE, a, a + 0x80, a + 0x100);
	v = get_vqueue(BLK, 2);
	assert_int_equal(v.max_size, 0);
	assert_int_equal(v.size, 0);
	assert_true(v.desc == 0);
	/* Reserved flags, state 3, a bad size: nothing changes. */
	set_vqueue(BLK, 0, 1u << 6, QSIZE, a, a + 0x80, a + 0x100);
	set_vqueue(BLK, 0, 3, QSIZE, a, a + 0x80, a + 0x100);
	set_vqueue(BLK, 0, VIO_VMSG_VQ_STATE_ENABLE, QSIZE * 2, a, a + 0x80, a + 0x100);
	set_vqueue(BLK, 0, VIO_VMSG_VQ_STATE_ENABLE, 0x10000, a, a + 0x80, a + 0x100);
	v = get_vqueue(BLK, 0);
	assert_int_equal(v.size, 0);
	assert_int_equal(v.flags, 0);
	assert_true(v.desc == 0);
	/* Fields one at a time, then enable with every field ignored. */
	set_vqueue(BLK, 0, VIO_VMSG_VQ_DRIVER_IGNORE | VIO_VMSG_VQ_DEVICE_IGNORE, 4, a, 0, 0);
	set_vqueue(BLK, 0,
		   VIO_VMSG_VQ_STATE_KEEP | VIO_VMSG_VQ_SIZE_IGNORE | VIO_VMSG_VQ_DESC_IGNORE, 99,
		   0, a + 0x80, a + 0x100);
	v = get_vqueue(BLK, 0);
	assert_int_equal(v.size, 4);
	assert_true(v.desc == a && v.driver == a + 0x80 && v.device == a + 0x100);
	assert_int_equal(v.flags, 0);
	set_vqueue(BLK, 0,
		   VIO_VMSG_VQ_STATE_ENABLE | VIO_VMSG_VQ_SIZE_IGNORE | VIO_VMSG_VQ_DESC_IGNORE |
		       VIO_VMSG_VQ_DRIVER_IGNORE | VIO_VMSG_VQ_DEVICE_IGNORE,
		   0, 0, 0, 0);
	assert_int_equal(get_vqueue(BLK, 0).flags, VIO_VMSG_VQ_ENABLED);
	/* An enabled queue can be neither moved nor disabled. */
	set_vqueue(BLK, 0, VIO_VMSG_VQ_STATE_KEEP, 2, a + 0x800, a + 0x900, a + 0xa00);
	set_vqueue(BLK, 0,
		   VIO_VMSG_VQ_STATE_DISABLED | VIO_VMSG_VQ_SIZE_IGNORE | VIO_VMSG_VQ_DESC_IGNORE |
		       VIO_VMSG_VQ_DRIVER_IGNORE | VIO_VMSG_VQ_DEVICE_IGNORE,
		   0, 0, 0, 0);
	v = get_vqueue(BLK, 0);
	assert_int_equal(v.flags, VIO_VMSG_VQ_ENABLED);
	assert_int_equal(v.size, 4);
	assert_true(v.desc == a);
	/* Before FEATURES_OK a queue is recorded but not enabled. */
	assert_int_equal(set_status(BLK, 0), 0);
	set_vqueue(BLK, 0, VIO_VMSG_VQ_STATE_ENABLE, QSIZE, a, a + 0x80, a + 0x100);
	assert_int_equal(get_vqueue(BLK, 0).flags, 0);
}

static void test_reset_vqueue(void **state)
{
	struct vio_vmsg_hdr h;
	uint64_t a = AREA_OFF + 0x2000;

	(void) state;
	/* Not negotiated: RESET_VQUEUE answers and changes nothing. */
	assert_int_equal(negotiate(BLK, VIO_BIT(VIO_F_VERSION_1)), S_UP);
	set_vqueue(BLK, 0, VIO_VMSG_VQ_STATE_ENABLE, QSIZE, a, a + 0x80, a + 0x100);
	send_u32(BLK, VIO_VMSG_RESET_VQUEUE, 0, &h);
	assert_int_equal(F.nout, 1);
	assert_int_equal(vio_vmsg_decode_empty(
			     &(struct vio_vmsg_hdr){.size = (uint16_t) F.out[0].len}, F.out[0].b),
			 0);
	reply_of(&h, 0);
	assert_int_equal(get_vqueue(BLK, 0).flags, VIO_VMSG_VQ_ENABLED);

	/* Negotiated: the queue is disabled and forgotten, and can be set again. */
	assert_int_equal(negotiate(BLK, VIO_BIT(VIO_F_VERSION_1) | VIO_BIT(VIO_F_RING_RESET)),
			 S_UP);
	set_vqueue(BLK, 0, VIO_VMSG_VQ_STATE_ENABLE, QSIZE, a, a + 0x80, a + 0x100);
	assert_int_equal(set_status(BLK, S_UP | S_DOK), S_UP | S_DOK);
	send_u32(BLK, VIO_VMSG_RESET_VQUEUE, 0, &h);
	reply_of(&h, 0);
	assert_int_equal(get_vqueue(BLK, 0).flags, 0);
	assert_int_equal(get_vqueue(BLK, 0).size, 0);
	send_u32(BLK, VIO_VMSG_RESET_VQUEUE, 7, &h); /* no such queue: still answered */
	reply_of(&h, 0);
	set_vqueue(BLK, 0, VIO_VMSG_VQ_STATE_ENABLE, QSIZE, a + 0x400, a + 0x480, a + 0x500);
	assert_int_equal(get_vqueue(BLK, 0).flags, VIO_VMSG_VQ_ENABLED);
	assert_int_equal(get_status(BLK), S_UP | S_DOK);
}

static void test_get_shm_and_send_errors(void **state)
{
	struct vio_vmsg_hdr h, r;
	struct vio_vmsg_shm_info shm;

	(void) state;
	send_u32(RNG, VIO_VMSG_GET_SHM, 3, &h);
	assert_int_equal(F.nout, 1);
	r = reply_of(&h, 0);
	assert_int_equal(vio_vmsg_decode_shm_info(&r, F.out[0].b, &shm), 0);
	assert_int_equal(shm.shmid, 3);
	assert_true(shm.length == 0);
	/* A full outgoing queue is counted, not fatal. */
	F.send_rc = -VIO_EAGAIN;
	send_u32(RNG, VIO_VMSG_GET_SHM, 3, &h);
	assert_int_equal(F.bus.send_errors, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_init_limits, setup),
	    cmocka_unit_test_setup(test_bus_messages, setup),
	    cmocka_unit_test_setup(test_rng_bringup_and_request, setup),
	    cmocka_unit_test_setup(test_blk_read_and_config, setup),
	    cmocka_unit_test_setup(test_wrong_sizes_dropped, setup),
	    cmocka_unit_test_setup(test_unknown_messages_dropped, setup),
	    cmocka_unit_test_setup(test_queue_outside_area, setup),
	    cmocka_unit_test_setup(test_overlapping_queues, setup),
	    cmocka_unit_test_setup(test_feature_blocks, setup),
	    cmocka_unit_test_setup(test_set_vqueue_rules, setup),
	    cmocka_unit_test_setup(test_reset_vqueue, setup),
	    cmocka_unit_test_setup(test_get_shm_and_send_errors, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
