/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio-msg driver side against a hostile device. The input is a script
 * the device side follows each time the driver waits: inject a crafted
 * message (optionally shaped like the answer to the driver's last request, so
 * the fuzzer gets past the header checks), scribble over the shared area
 * (rings and bounce buffers included), let an honest device bus (rng and blk)
 * answer what is pending, or swallow it. The driver runs a fixed sequence of
 * bus and device operations; every call must return, and the allocator must
 * stay consistent. The window is its own heap block so ASan traps any access
 * outside it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "vioport/blk.h"
#include "vioport/errno.h"
#include "vioport/rng.h"
#include "vioport/sim_entropy.h"
#include "vioport/sim_ramdisk.h"
#include "vioport/vmsg.h"
#include "vioport/vmsg_dev.h"
#include "vioport/vmsg_drv.h"
#include "vioport/vmsg_drv_dev.h"

#define WIN_SIZE  0x8000u
#define AREA_OFF  0x1000u
#define AREA_SIZE (WIN_SIZE - AREA_OFF)
#define PIPE_MSGS 16u
#define QSIZE	  8u
#define SECTORS	  8u

struct pipe {
	uint8_t m[PIPE_MSGS][VIO_VMSG_MAX_SIZE];
	uint32_t len[PIPE_MSGS];
	unsigned head, count;
};

static struct {
	struct fz_in in;
	uint8_t *win;
	uint64_t clock;
	struct pipe to_dev, to_drv;
	uint8_t last_req[VIO_VMSG_HDR_SIZE];
	/* honest device side */
	struct vio_window w;
	struct vio_winmap map;
	struct vio_vmsg_dev_bus bus;
	struct vio_vmsg_dev_bus_ops bops;
	struct vio_sim_entropy ent;
	struct vio_rng rng;
	struct vio_queue rng_q;
	uint8_t disk[SECTORS * VIO_BLK_SECTOR_SIZE];
	struct vio_sim_ramdisk rd;
	struct vio_blk_params p;
	struct vio_blk blk;
	struct vio_queue blk_q;
	struct vio_blk_req blk_slots[2];
	/* driver */
	struct vio_vmsg_drv drv;
	uint32_t amap[(AREA_SIZE / VIO_VMSG_DRV_CHUNK + 31u) / 32u];
	struct vio_vmsg_drv_dev d[2];
	struct vio_vmsg_drv_vq vq[2][1];
} S;

static int pipe_put(struct pipe *p, const void *msg, uint32_t len)
{
	unsigned at;

	if (p->count == PIPE_MSGS)
		return -VIO_ENOSPC;
	at = (p->head + p->count) % PIPE_MSGS;
	memcpy(p->m[at], msg, len);
	p->len[at] = len;
	p->count++;
	return 0;
}

static int pipe_get(struct pipe *p, void *buf)
{
	uint32_t len;

	if (p->count == 0)
		return 0;
	len = p->len[p->head];
	memcpy(buf, p->m[p->head], len);
	p->head = (p->head + 1u) % PIPE_MSGS;
	p->count--;
	return (int) len;
}

static int dev_send(void *ctx, const void *msg, uint32_t len)
{
	(void) ctx;
	return pipe_put(&S.to_drv, msg, len);
}

static int drv_send(void *ctx, const void *msg, uint32_t len)
{
	(void) ctx;
	FZ_CHECK(len >= VIO_VMSG_HDR_SIZE && len <= VIO_VMSG_MAX_SIZE);
	if (pipe_put(&S.to_dev, msg, len) < 0)
		return -VIO_ENOSPC;
	memcpy(S.last_req, msg, VIO_VMSG_HDR_SIZE);
	return 0;
}

static int drv_recv(void *ctx, void *buf, uint32_t cap)
{
	(void) ctx;
	FZ_CHECK(cap >= VIO_VMSG_MAX_SIZE);
	return pipe_get(&S.to_drv, buf);
}

static void honest(void)
{
	uint8_t msg[VIO_VMSG_MAX_SIZE];
	int n;

	while ((n = pipe_get(&S.to_dev, msg)) > 0)
		vio_vmsg_dev_bus_handle(&S.bus, msg, (uint32_t) n);
}

/* A crafted message: a length, flags, then the bytes. */
static void inject(void)
{
	uint8_t flags = fz_u8(&S.in), msg[VIO_VMSG_MAX_SIZE];
	uint32_t len = fz_u8(&S.in) % (VIO_VMSG_MAX_SIZE + 1u);

	for (uint32_t i = 0; i < len; i++)
		msg[i] = fz_u8(&S.in);
	if (len >= VIO_VMSG_HDR_SIZE) {
		if (flags & 1u) {
			/* Shaped like the answer to the last request: the body is the input's. */
			msg[0] = (uint8_t) (S.last_req[0] | VIO_VMSG_TYPE_RESPONSE);
			memcpy(msg + 1, S.last_req + 1, 5);
		}
		if (flags & 2u)
			vio_put_le16(msg + 6, (uint16_t) len);
	}
	pipe_put(&S.to_drv, msg, len);
}

static void scribble(void)
{
	uint32_t off = fz_u16(&S.in) % AREA_SIZE;
	uint32_t len = fz_u8(&S.in) % 33u;

	for (uint32_t i = 0; i < len && off + i < AREA_SIZE; i++)
		S.win[AREA_OFF + off + i] = fz_u8(&S.in);
}

/* The device's turn, each time the driver waits. */
static void os_wait(void *ctx, uint32_t timeout_us)
{
	(void) ctx;
	(void) timeout_us;
	S.clock += 1000u;
	if (S.in.n == 0) {
		honest();
		return;
	}
	switch (fz_u8(&S.in) % 4u) {
	case 0:
		inject();
		break;
	case 1:
		scribble();
		break;
	case 2:
		honest();
		break;
	default:
		S.to_dev.count = 0; /* swallowed */
		break;
	}
}

static uint64_t os_now(void *ctx)
{
	(void) ctx;
	return S.clock;
}

static const struct vio_vmsg_drv_ops drv_ops = {
    .send = drv_send,
    .recv = drv_recv,
    .wait = os_wait,
    .now_us = os_now,
};

static void setup(const uint8_t *data, size_t size)
{
	memset(&S, 0, sizeof(S));
	S.in.p = data;
	S.in.n = size;
	S.win = calloc(1, WIN_SIZE);
	FZ_CHECK(S.win != NULL);
	vio_winmap_init(&S.map, &S.w, 1);
	FZ_CHECK(vio_winmap_add(&S.map, AREA_OFF, AREA_SIZE, S.win + AREA_OFF, VIO_ACCESS_RW) == 0);
	S.bops.send = dev_send;
	FZ_CHECK(vio_vmsg_dev_bus_init(&S.bus, &S.bops, NULL, &S.map, VIO_VMSG_MAX_SIZE) == 0);
	vio_sim_entropy_init(&S.ent, 1);
	FZ_CHECK(vio_rng_init(&S.rng, &vio_sim_entropy_ops, &S.ent, &S.rng_q, QSIZE, 0) == 0);
	FZ_CHECK(vio_vmsg_dev_bus_add(&S.bus, &S.rng.dev) == 0);
	vio_sim_ramdisk_init(&S.rd, S.disk, sizeof(S.disk));
	S.p.capacity = SECTORS;
	S.p.num_queues = 1;
	S.p.queue_size = QSIZE;
	FZ_CHECK(
	    vio_blk_init(&S.blk, &S.p, &vio_sim_ramdisk_ops, &S.rd, &S.blk_q, S.blk_slots, 2) == 0);
	FZ_CHECK(vio_vmsg_dev_bus_add(&S.bus, &S.blk.dev) == 1);
	FZ_CHECK(vio_vmsg_drv_init(&S.drv, &drv_ops, NULL, S.win, WIN_SIZE, AREA_OFF, AREA_SIZE,
				   S.amap, sizeof(S.amap) / sizeof(S.amap[0]),
				   VIO_VMSG_MAX_SIZE) == 0);
	S.drv.timeout_us = 4000u;
}

static void check_area(void)
{
	uint32_t set = 0;

	for (uint32_t i = 0; i < S.drv.area.chunks; i++)
		set += (S.amap[i / 32u] >> (i % 32u)) & 1u;
	FZ_CHECK(set == S.drv.area.used);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[2 * VIO_BLK_SECTOR_SIZE];
	uint8_t bm[2], cfg[VIO_BLK_CONFIG_SIZE];
	struct vio_vmsg_drv_seg seg = {buf, 48};
	void *tok;
	uint32_t len;
	uint64_t cap;

	setup(data, size);
	vio_vmsg_drv_ping(&S.drv, 0x1234u);
	vio_vmsg_drv_get_devices(&S.drv, bm, sizeof(bm));
	for (uint16_t n = 0; n < 2; n++) {
		struct vio_vmsg_drv_dev *d = &S.d[n];

		if (vio_vmsg_drv_dev_init(d, &S.drv, n, S.vq[n], 1) < 0)
			continue;
		if (vio_vmsg_drv_dev_start(d, ~0ull) < 0) {
			check_area();
			vio_vmsg_drv_dev_fini(d);
			continue;
		}
		if (n == 0) {
			int got = vio_vmsg_drv_rng_read(d, buf, 64);

			FZ_CHECK(got < 0 || got <= 64);
			if (vio_vmsg_drv_submit(d, 0, NULL, 0, &seg, 1, &seg) == 0) {
				int rc = vio_vmsg_drv_wait_used(d, 0, &tok, &len, 8000u);

				FZ_CHECK(rc != 1 || (tok == &seg && len <= seg.len));
			}
		} else {
			vio_vmsg_drv_blk_capacity(d, &cap);
			vio_vmsg_drv_read_config(d, 0, cfg, sizeof(cfg));
			vio_vmsg_drv_blk_write(d, 1, buf, 2);
			vio_vmsg_drv_blk_read(d, 1, buf, 2);
		}
		check_area();
		vio_vmsg_drv_dev_fini(d);
		check_area();
	}
	free(S.win);
	return 0;
}
