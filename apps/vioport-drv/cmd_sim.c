/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport-drv sim: the standard simulated board (blk 0, rng 1, gpio 2, i2c 3;
 * vioport/sim_board.h) served on the device side of the window, for the
 * driver commands and the benchmark.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "vioport-drv.h"
#include "vioport/log.h"
#include "vioport/sim_board.h"
#include "vioport/virtio.h"

#define SIM_QSIZE      64u
#define SIM_DISK_BYTES (1u << 20)

struct sim {
	struct vio_vmsg_endpoint ep;
	struct vio_sim_board board;
	bool quiet;
};

static void sim_log(void *ctx, int level, const char *msg)
{
	struct sim *s = ctx;

	if (!s->quiet || level <= VIO_LOG_WARN)
		fprintf(stderr, "vioport-drv sim: %s\n", msg);
}

/* The standard simulated board (sim_board.h), its devices in their numbering. */
static int sim_devices(struct sim *s, void *disk)
{
	struct vio_blk_params p = {.capacity = SIM_DISK_BYTES / VIO_BLK_SECTOR_SIZE,
				   .num_queues = 1,
				   .queue_size = SIM_QSIZE,
				   .seg_max = 4,
				   .serial = "vioport-sim"};
	struct vio_sim_board_config bc = {.disk = disk,
					  .disk_bytes = SIM_DISK_BYTES,
					  .blk = &p,
					  .queue_size = SIM_QSIZE,
					  .entropy_seed =
					      (uint64_t) getpid() * 0x9E3779B97F4A7C15ull};

	if (vio_sim_board_init(&s->board, &bc) < 0)
		return -EINVAL;
	for (unsigned i = 0; i < VIO_SIM_BOARD_NDEV; i++)
		if (vio_vmsg_endpoint_add(&s->ep, s->board.devs[i]) < 0)
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
			"vioport-drv sim: serving blk (%u), rng (%u), gpio (%u), i2c (%u) on %s, "
			"doorbell %s\n",
			VIO_SIM_BOARD_BLK, VIO_SIM_BOARD_RNG, VIO_SIM_BOARD_GPIO, VIO_SIM_BOARD_I2C,
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
