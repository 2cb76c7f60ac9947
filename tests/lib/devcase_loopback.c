/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device cases over the loopback transport: requests are copied into the
 * arena the device sees, the kick runs the device at once, and the used entry
 * is there when the kick returns. The devices are built as apps/vioport
 * builds them on its simulated providers (gpio: vio_sim_gpio with the
 * default names; i2c: the 24c02 and the LM75), rng on the simulated entropy
 * and blk on a ram disk that holds the image's pattern.
 */
#include <string.h>

#include "devcase_loopback.h"
#include "vioport/blk.h"
#include "vioport/console.h"
#include "vioport/errno.h"
#include "vioport/gpio.h"
#include "vioport/i2c.h"
#include "vioport/loopback.h"
#include "vioport/rng.h"
#include "vioport/sim_console.h"
#include "vioport/sim_entropy.h"
#include "vioport/sim_gpio.h"
#include "vioport/sim_i2c.h"
#include "vioport/sim_ramdisk.h"
#include "vioport/virtio.h"

#define ARENA_SIZE (256u * 1024u)
#define BUS_BASE   0x40000ull
#define QSIZE	   16u
#define BLK_SLOTS  8u
/* The generic features apps/vioport offers on every device. */
#define COMMON                                                                                     \
	(VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) | VIO_BIT(VIO_F_RING_PACKED))

static struct {
	_Alignas(16) uint8_t arena[ARENA_SIZE];
	struct vio_loopback lb;
	struct vio_device *dev;
	struct vio_queue queues[2];
	struct vio_drvq dq[2];
	struct vio_drvq_slot slots[2][QSIZE];
	/* the request in flight per queue: where its writable segments go back */
	struct dc_seg in[2][DC_MAX_SEGS];
	uint8_t *in_at[2][DC_MAX_SEGS];
	unsigned nin[2];
	int token;
	uint64_t rings_end; /* the arena up to here holds the rings */
	/* the devices and their providers */
	struct vio_rng rng;
	struct vio_sim_entropy entropy;
	struct vio_gpio gpio;
	struct vio_gpio_line gpio_lines[DC_GPIO_LINES];
	struct vio_sim_gpio chip;
	struct vio_sim_gpio_line chip_lines[DC_GPIO_LINES];
	struct vio_i2c i2c;
	struct vio_sim_i2c_bus bus;
	struct vio_sim_24c02 eeprom;
	struct vio_sim_lm75 lm75;
	uint8_t eeprom_mem[VIO_SIM_24C02_SIZE];
	uint8_t bounce[4096];
	struct vio_blk blk;
	struct vio_blk_req blk_slots[BLK_SLOTS];
	struct vio_sim_ramdisk rd;
	uint8_t disk[DC_BLK_BYTES];
	struct vio_console con;
	struct vio_console_port con_ports[1];
	struct vio_sim_console sim_con;
	struct vio_sim_console_port sim_con_ports[1];
} L;

static int make_device(enum dc_kind kind)
{
	struct vio_blk_params p;
	int rc = -VIO_EINVAL;

	switch (kind) {
	case DC_RNG:
		vio_sim_entropy_init(&L.entropy, 0x5eed);
		rc =
		    vio_rng_init(&L.rng, &vio_sim_entropy_ops, &L.entropy, L.queues, QSIZE, COMMON);
		L.dev = &L.rng.dev;
		break;
	case DC_GPIO:
		vio_sim_gpio_init(&L.chip, L.chip_lines, DC_GPIO_LINES, NULL);
		rc = vio_gpio_init(&L.gpio, &vio_sim_gpio_ops, &L.chip, DC_GPIO_LINES, L.gpio_lines,
				   L.queues, QSIZE, COMMON | VIO_BIT(VIO_GPIO_F_IRQ));
		vio_sim_gpio_attach(&L.chip, &L.gpio);
		L.dev = &L.gpio.dev;
		break;
	case DC_I2C:
		memset(L.eeprom_mem, 0xff, sizeof(L.eeprom_mem));
		vio_sim_i2c_init(&L.bus);
		vio_sim_24c02_init(&L.eeprom, VIO_SIM_24C02_ADDR, L.eeprom_mem);
		vio_sim_lm75_init(&L.lm75, VIO_SIM_LM75_ADDR);
		if (vio_sim_i2c_attach(&L.bus, &L.eeprom.dev) < 0 ||
		    vio_sim_i2c_attach(&L.bus, &L.lm75.dev) < 0)
			return -VIO_EINVAL;
		rc = vio_i2c_init(&L.i2c, &vio_sim_i2c_ops, &L.bus, L.queues, QSIZE, COMMON,
				  L.bounce, sizeof(L.bounce));
		L.dev = &L.i2c.dev;
		break;
	case DC_BLK:
		for (uint32_t i = 0; i < DC_BLK_BYTES; i++)
			L.disk[i] = dc_blk_pattern(i);
		vio_sim_ramdisk_init(&L.rd, L.disk, sizeof(L.disk));
		memset(&p, 0, sizeof(p));
		p.capacity = DC_BLK_BYTES / VIO_BLK_SECTOR_SIZE;
		p.features = COMMON | VIO_BIT(VIO_BLK_F_SEG_MAX) | VIO_BIT(VIO_BLK_F_FLUSH);
		p.num_queues = 1;
		p.queue_size = QSIZE;
		p.seg_max = VIO_BLK_SLOT_SEGS - 2;
		memcpy(p.serial, DC_BLK_SERIAL, sizeof(DC_BLK_SERIAL) - 1);
		rc = vio_blk_init(&L.blk, &p, &vio_sim_ramdisk_ops, &L.rd, L.queues, L.blk_slots,
				  BLK_SLOTS);
		L.dev = &L.blk.dev;
		break;
	case DC_CONSOLE:
		/* as vioport console --sim echo: port 0 echoes, emergency writes offered */
		vio_sim_console_init(&L.sim_con, L.sim_con_ports, 1, NULL, NULL);
		rc = vio_console_init(&L.con, &vio_sim_console_ops, &L.sim_con, 1, L.con_ports,
				      L.queues, QSIZE, COMMON | VIO_BIT(VIO_CONSOLE_F_EMERG_WRITE));
		vio_sim_console_attach(&L.sim_con, &L.con);
		L.dev = &L.con.dev;
		break;
	default:
		break;
	}
	return rc;
}

static int lb_open(void *ctx, enum dc_kind kind, uint64_t want)
{
	int rc;

	(void) ctx;
	memset(&L, 0, sizeof(L));
	rc = make_device(kind);
	if (rc == 0)
		rc = vio_loopback_init(&L.lb, L.dev, L.arena, sizeof(L.arena), BUS_BASE);
	if (rc == 0)
		rc = vio_loopback_negotiate(&L.lb, want | VIO_BIT(VIO_F_VERSION_1));
	for (uint16_t q = 0; rc == 0 && q < dc_kind_queues(kind); q++)
		rc = vio_loopback_queue(&L.lb, q, QSIZE, &L.dq[q], L.slots[q]);
	if (rc == 0)
		rc = vio_loopback_driver_ok(&L.lb);
	L.rings_end = L.lb.brk;
	return rc;
}

static void lb_close(void *ctx)
{
	(void) ctx;
	if (L.dev != NULL)
		vio_device_reset(L.dev);
	L.dev = NULL;
}

static int lb_submit(void *ctx, uint16_t q, const struct dc_seg *out, unsigned nout,
		     const struct dc_seg *in, unsigned nin)
{
	struct vio_buf b[2 * DC_MAX_SEGS];
	unsigned n = 0;

	(void) ctx;
	if (q >= 2 || L.nin[q] != 0 || nout > DC_MAX_SEGS || nin > DC_MAX_SEGS)
		return -VIO_EINVAL;
	for (unsigned i = 0; i < nout; i++, n++) {
		uint8_t *p = vio_loopback_alloc(&L.lb, out[i].len ? out[i].len : 1, &b[n].addr);

		if (p == NULL)
			return -VIO_ENOMEM;
		memcpy(p, out[i].buf, out[i].len);
		b[n].len = out[i].len;
	}
	for (unsigned i = 0; i < nin; i++, n++) {
		/* zeroed by the allocator, like the other transports' writable buffers */
		uint8_t *p = vio_loopback_alloc(&L.lb, in[i].len ? in[i].len : 1, &b[n].addr);

		if (p == NULL)
			return -VIO_ENOMEM;
		b[n].len = in[i].len;
		L.in[q][i] = in[i];
		L.in_at[q][i] = p;
	}
	if (vio_drvq_add(&L.dq[q], b, nout, b + nout, nin, &L.token) < 0)
		return -VIO_ENOSPC;
	L.nin[q] = nin ? nin : DC_MAX_SEGS + 1; /* marks the request in flight */
	return 0;
}

static int lb_notify(void *ctx, uint16_t q)
{
	(void) ctx;
	vio_loopback_kick(&L.lb, q);
	return 0;
}

static int64_t lb_complete(void *ctx, uint16_t q)
{
	void *token;
	uint32_t len;
	int rc;

	(void) ctx;
	rc = vio_drvq_get_used(&L.dq[q], &token, &len);
	if (rc != 1)
		return rc < 0 ? rc : -VIO_EAGAIN; /* the device answers within the kick */
	if (L.nin[q] <= DC_MAX_SEGS)
		for (unsigned i = 0; i < L.nin[q]; i++)
			memcpy(L.in[q][i].buf, L.in_at[q][i], L.in[q][i].len);
	L.nin[q] = 0;
	/* the arena past the rings is reused for the next request: nothing of this one is kept */
	L.lb.brk = L.rings_end;
	return len;
}

static int lb_config_read(void *ctx, uint32_t off, void *buf, uint32_t len)
{
	(void) ctx;
	return vio_device_read_config(L.dev, off, buf, len);
}

const struct dc_transport dc_loopback = {
    .name = "loopback",
    .ctx = NULL,
    .open = lb_open,
    .close = lb_close,
    .submit = lb_submit,
    .notify = lb_notify,
    .complete = lb_complete,
    .config_read = lb_config_read,
};
