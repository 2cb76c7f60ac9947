/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport-drv sim: simulated devices (gpio 0, rng 1, blk 2, i2c 3) served on
 * the device side of the window, for the driver commands and the benchmark.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "vioport-drv.h"
#include "vioport/blk.h"
#include "vioport/gpio.h"
#include "vioport/i2c.h"
#include "vioport/rng.h"
#include "vioport/sim_entropy.h"
#include "vioport/sim_gpio.h"
#include "vioport/sim_i2c.h"
#include "vioport/sim_ramdisk.h"
#include "vioport/vhost_user.h"
#include "vioport/virtio.h"

#define SIM_GPIO_LINES 8u
#define SIM_QSIZE      64u
#define SIM_DISK_BYTES (1u << 20)
#define SIM_BLK_SLOTS  16u

struct sim {
	struct vio_vmsg_endpoint ep;
	struct vio_sim_gpio chip;
	struct vio_sim_gpio_line chip_lines[SIM_GPIO_LINES];
	struct vio_gpio gpio;
	struct vio_gpio_line gpio_lines[SIM_GPIO_LINES];
	struct vio_queue gpio_queues[2];
	struct vio_sim_entropy ent;
	struct vio_rng rng;
	struct vio_queue rng_queue;
	struct vio_sim_ramdisk rd;
	struct vio_blk blk;
	struct vio_queue blk_queue;
	struct vio_blk_req blk_slots[SIM_BLK_SLOTS];
	struct vio_sim_i2c_bus bus;
	struct vio_sim_24c02 eeprom;
	struct vio_sim_lm75 lm75;
	struct vio_i2c i2c;
	struct vio_queue i2c_queue;
	uint8_t i2c_bounce[256];
	bool quiet;
};

static void sim_log(void *ctx, int level, const char *msg)
{
	struct sim *s = ctx;

	if (!s->quiet || level <= VIO_VU_LOG_WARN)
		fprintf(stderr, "vioport-drv sim: %s\n", msg);
}

static int sim_devices(struct sim *s, void *disk)
{
	static const char *const names[SIM_GPIO_LINES] = {"led0", "led1",  "button0", "button1",
							  "irq",  "reset", NULL,      "spare"};
	struct vio_blk_params p = {.capacity = SIM_DISK_BYTES / VIO_BLK_SECTOR_SIZE,
				   .num_queues = 1,
				   .queue_size = SIM_QSIZE,
				   .seg_max = 4,
				   .serial = "vioport-sim"};

	vio_sim_gpio_init(&s->chip, s->chip_lines, SIM_GPIO_LINES, names);
	if (vio_gpio_init(&s->gpio, &vio_sim_gpio_ops, &s->chip, SIM_GPIO_LINES, s->gpio_lines,
			  s->gpio_queues, SIM_QSIZE, VIO_BIT(VIO_GPIO_F_IRQ)) < 0)
		return -EINVAL;
	vio_sim_gpio_attach(&s->chip, &s->gpio);
	vio_sim_entropy_init(&s->ent, (uint64_t) getpid() * 0x9E3779B97F4A7C15ull);
	if (vio_rng_init(&s->rng, &vio_sim_entropy_ops, &s->ent, &s->rng_queue, SIM_QSIZE, 0) < 0)
		return -EINVAL;
	vio_sim_ramdisk_init(&s->rd, disk, SIM_DISK_BYTES);
	if (vio_blk_init(&s->blk, &p, &vio_sim_ramdisk_ops, &s->rd, &s->blk_queue, s->blk_slots,
			 SIM_BLK_SLOTS) < 0)
		return -EINVAL;
	vio_sim_i2c_init(&s->bus);
	vio_sim_24c02_init(&s->eeprom, VIO_SIM_24C02_ADDR, NULL);
	vio_sim_lm75_init(&s->lm75, VIO_SIM_LM75_ADDR);
	if (vio_sim_i2c_attach(&s->bus, &s->eeprom.dev) < 0 ||
	    vio_sim_i2c_attach(&s->bus, &s->lm75.dev) < 0 ||
	    vio_i2c_init(&s->i2c, &vio_sim_i2c_ops, &s->bus, &s->i2c_queue, SIM_QSIZE, 0,
			 s->i2c_bounce, sizeof(s->i2c_bounce)) < 0)
		return -EINVAL;
	if (vio_vmsg_endpoint_add(&s->ep, &s->gpio.dev) < 0 ||
	    vio_vmsg_endpoint_add(&s->ep, &s->rng.dev) < 0 ||
	    vio_vmsg_endpoint_add(&s->ep, &s->blk.dev) < 0 ||
	    vio_vmsg_endpoint_add(&s->ep, &s->i2c.dev) < 0)
		return -ENOSPC;
	return 0;
}

static volatile sig_atomic_t sim_stop;

static void on_signal(int sig)
{
	(void) sig;
	sim_stop = 1;
}

/*
 * Serves the simulated devices until SIGINT/SIGTERM, or until ready_fd's peer
 * closes when ready_fd >= 0 (a byte is written to it once serving).
 */
int run_sim(const struct options *o, int ready_fd, int quit_fd, bool quiet)
{
	struct vio_vmsg_endpoint_config c = {.path = o->shm,
					     .size = o->size != 0 ? o->size : DEFAULT_SIZE,
					     .doorbell = o->doorbell,
					     .log = sim_log};
	struct sigaction sa = {.sa_handler = on_signal};
	struct sim *s = calloc(1, sizeof(*s));
	void *disk = calloc(1, SIM_DISK_BYTES);
	char err[256];
	int r;

	if (s == NULL || disk == NULL) {
		free(s);
		free(disk);
		return fail("sim", -ENOMEM);
	}
	s->quiet = quiet;
	c.log_ctx = s;
	r = vio_vmsg_endpoint_init(&s->ep, &c, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "vioport-drv sim: %s\n", err);
		free(s);
		free(disk);
		return 1;
	}
	r = sim_devices(s, disk);
	if (r == 0)
		r = vio_vmsg_endpoint_start(&s->ep);
	if (r < 0) {
		vio_vmsg_endpoint_fini(&s->ep);
		free(s);
		free(disk);
		return fail("sim", r);
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!quiet)
		fprintf(stderr,
			"vioport-drv sim: serving gpio (0), rng (1), blk (2), i2c (3) on %s, "
			"doorbell %s\n",
			o->shm, o->doorbell != NULL ? o->doorbell : "poll");
	if (ready_fd >= 0) {
		char byte = 'R';

		if (write(ready_fd, &byte, 1) != 1)
			sim_stop = 1;
	}
	while (!sim_stop) {
		char byte;

		if (quit_fd >= 0) {
			/* The parent closes its end (or dies): time to go. */
			if (read(quit_fd, &byte, 1) <= 0)
				break;
		} else {
			pause();
		}
	}
	vio_vmsg_endpoint_fini(&s->ep);
	free(s);
	free(disk);
	return 0;
}

/* sim */
int cmd_sim(struct drv_ctx *c, int argc, char **argv)
{
	return run_sim(c->o, -1, -1, false);
}
