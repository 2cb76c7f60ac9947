/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the virtio-msg device side fed a hostile driver's messages.
 *
 * A bus with an entropy device (0) and a RAM-disk block device (1) over an
 * area of AREA_SIZE bytes at bus address AREA_OFF. Input layout:
 *   0   flags: 1 baseline config profile, 2 max message size 52 instead of 64
 *   1.. records until the input ends:
 *       0xF0 le16 offset, u8 n, n bytes: the driver writes the area (rings, buffers)
 *       0xF1: the bus is reset (peer restarted)
 *       any other u8 L: a message of L % 65 bytes that follow, handed to the bus
 * Every message the bus sends must decode, fit the bus size and be a response
 * to a request or a device-side event; the device must not touch memory
 * outside the area (ASan watches the guard bytes around it).
 */
#include "fuzz_util.h"

#include "vioport/blk.h"
#include "vioport/errno.h"
#include "vioport/rng.h"
#include "vioport/sim_entropy.h"
#include "vioport/sim_ramdisk.h"
#include "vioport/vmsg.h"
#include "vioport/vmsg_dev.h"

#define AREA_OFF     0x1000u
#define AREA_SIZE    0x2000u
#define QSIZE	     8u
#define DISK_SECTORS 8u

static uint32_t max_msg;

static int fz_send(void *ctx, const void *msg, uint32_t len)
{
	struct vio_vmsg_hdr h;

	(void) ctx;
	FZ_CHECK(len <= max_msg);
	FZ_CHECK(vio_vmsg_hdr_decode(&h, msg, len, max_msg) == 0);
	FZ_CHECK(h.size == len);
	FZ_CHECK(((const uint8_t *) msg)[0] == h.type);
	if (h.type & VIO_VMSG_TYPE_RESPONSE)
		FZ_CHECK(!(h.id & VIO_VMSG_ID_EVENT));
	else
		FZ_CHECK(h.id == VIO_VMSG_EVENT_USED || h.id == VIO_VMSG_EVENT_CONFIG ||
			 h.id == VIO_VMSG_BUS_EVENT_DEVICE);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	uint8_t *area = malloc(AREA_SIZE);
	uint8_t *disk = malloc(DISK_SECTORS * VIO_BLK_SECTOR_SIZE);
	static const struct vio_vmsg_dev_bus_ops ops = {.send = fz_send};
	struct vio_window w;
	struct vio_winmap map;
	struct vio_vmsg_dev_bus bus;
	struct vio_sim_entropy ent;
	struct vio_rng_ops rng_ops = vio_sim_entropy_ops;
	struct vio_rng rng;
	struct vio_queue rng_q;
	struct vio_sim_ramdisk rd;
	struct vio_blk_ops blk_ops = vio_sim_ramdisk_ops;
	struct vio_blk_params p = {0};
	struct vio_blk blk;
	struct vio_queue blk_q[2];
	struct vio_blk_req slots[4];
	uint8_t flags = fz_u8(&in);

	FZ_CHECK(area != NULL && disk != NULL);
	memset(area, 0, AREA_SIZE);
	memset(disk, 0x5a, DISK_SECTORS * VIO_BLK_SECTOR_SIZE);
	max_msg = (flags & 2) ? VIO_VMSG_MIN_BUS_SIZE : VIO_VMSG_MAX_SIZE;
	vio_winmap_init(&map, &w, 1);
	FZ_CHECK(vio_winmap_add(&map, AREA_OFF, AREA_SIZE, area, VIO_ACCESS_RW) == 0);
	FZ_CHECK(vio_vmsg_dev_bus_init(&bus, &ops, NULL, &map, max_msg) == 0);
	if (flags & 1)
		bus.transport_features = 0;

	vio_sim_entropy_init(&ent, 7);
	FZ_CHECK(vio_rng_init(&rng, &rng_ops, &ent, &rng_q, QSIZE,
			      VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) |
				  VIO_BIT(VIO_F_RING_PACKED)) == 0);
	FZ_CHECK(vio_vmsg_dev_bus_add(&bus, &rng.dev) == 0);

	vio_sim_ramdisk_init(&rd, disk, DISK_SECTORS * VIO_BLK_SECTOR_SIZE);
	p.capacity = DISK_SECTORS;
	p.features = VIO_BIT(VIO_BLK_F_FLUSH) | VIO_BIT(VIO_BLK_F_CONFIG_WCE) |
		     VIO_BIT(VIO_BLK_F_MQ) | VIO_BIT(VIO_F_RING_RESET) |
		     VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_RING_PACKED);
	p.num_queues = 2;
	p.queue_size = QSIZE;
	p.writeback = true;
	FZ_CHECK(vio_blk_init(&blk, &p, &blk_ops, &rd, blk_q, slots, 4) == 0);
	FZ_CHECK(vio_vmsg_dev_bus_add(&bus, &blk.dev) == 1);

	while (in.n > 0) {
		uint8_t op = fz_u8(&in);

		if (op == 0xF0) {
			uint16_t off = fz_u16(&in);
			uint8_t n = fz_u8(&in);

			for (uint8_t i = 0; i < n; i++)
				area[(uint32_t) (off + i) % AREA_SIZE] = fz_u8(&in);
		} else if (op == 0xF1) {
			vio_vmsg_dev_bus_reset(&bus);
		} else {
			uint8_t msg[VIO_VMSG_MAX_SIZE] = {0};
			uint32_t len = op % (VIO_VMSG_MAX_SIZE + 1u);

			for (uint32_t i = 0; i < len; i++)
				msg[i] = fz_u8(&in);
			vio_vmsg_dev_bus_handle(&bus, msg, len);
		}
	}
	free(area);
	free(disk);
	return 0;
}
