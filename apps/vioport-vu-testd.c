/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport-vu-testd: a test helper, not the vioport daemon. Serves a RAM disk
 * (virtio-blk) or the deterministic entropy stream (virtio-rng, NOT random)
 * over vhost-user on one socket, to check the vhost-user server against a
 * frontend such as QEMU by hand:
 *
 *   vioport-vu-testd --socket-path=/tmp/vu.sock [--rng] [--size-mib=N]
 *                    [--queues=N] [--workers] [--verbose]
 *
 * The disk starts zeroed, except sector 0 which holds "vioport-vu-testd",
 * and is lost when the program ends. SIGINT and SIGTERM end it cleanly.
 *
 * With QEMU (guest memory must be shareable):
 *
 *   qemu-system-x86_64 -M q35 -m 256 \
 *     -object memory-backend-memfd,id=mem,size=256M,share=on -numa node,memdev=mem \
 *     -chardev socket,id=c0,path=/tmp/vu.sock[,reconnect=1] \
 *     -device vhost-user-blk-pci,chardev=c0[,packed=on][,num-queues=2] ...
 *
 * (vhost-user-rng-pci with --rng). Even without a guest kernel, SeaBIOS
 * drives the disk through a full vhost-user start and stop.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vioport/blk.h"
#include "vioport/posix_loop.h"
#include "vioport/rng.h"
#include "vioport/sim_entropy.h"
#include "vioport/sim_ramdisk.h"
#include "vioport/vhost_user.h"

#define MAX_QUEUES 8
#define QUEUE_SIZE 256
#define SLOTS	   64

static struct vio_loop loop;
static int verbosity = VIO_LOG_INFO;

static void on_signal(int sig)
{
	(void) sig;
	vio_loop_stop(&loop);
}

static void log_line(void *ctx, int level, const char *msg)
{
	static const char *names[] = {"error", "warning", "info", "debug"};

	(void) ctx;
	if (level <= verbosity)
		fprintf(stderr, "vioport-vu-testd: %s: %s\n", names[level & 3], msg);
}

static void usage(void)
{
	fprintf(stderr, "usage: vioport-vu-testd --socket-path=PATH [--rng] [--size-mib=N] "
			"[--queues=N] [--workers] [--verbose]\n");
	exit(2);
}

struct opts {
	const char *path;
	bool rng, workers;
	unsigned long size_mib, queues;
};

static void parse(int argc, char **argv, struct opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strncmp(a, "--socket-path=", 14) == 0)
			o->path = a + 14;
		else if (strcmp(a, "--rng") == 0)
			o->rng = true;
		else if (strcmp(a, "--workers") == 0)
			o->workers = true;
		else if (strcmp(a, "--verbose") == 0)
			verbosity = VIO_LOG_DEBUG;
		else if (strncmp(a, "--size-mib=", 11) == 0)
			o->size_mib = strtoul(a + 11, NULL, 0);
		else if (strncmp(a, "--queues=", 9) == 0)
			o->queues = strtoul(a + 9, NULL, 0);
		else
			usage();
	}
	if (o->path == NULL || o->size_mib == 0 || o->size_mib > 4096 || o->queues == 0 ||
	    o->queues > MAX_QUEUES)
		usage();
}

static struct vio_device *make_blk(const struct opts *o, struct vio_blk *blk,
				   struct vio_sim_ramdisk *rd, struct vio_queue *queues,
				   struct vio_blk_req *slots)
{
	struct vio_blk_params p;
	uint64_t bytes = (uint64_t) o->size_mib << 20;
	uint8_t *disk = calloc(1, bytes);

	if (disk == NULL)
		return NULL;
	memcpy(disk, "vioport-vu-testd", 16);
	vio_sim_ramdisk_init(rd, disk, bytes);
	memset(&p, 0, sizeof(p));
	p.capacity = bytes / VIO_BLK_SECTOR_SIZE;
	p.features = VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) |
		     VIO_BIT(VIO_F_RING_PACKED) | VIO_BIT(VIO_BLK_F_FLUSH) |
		     VIO_BIT(VIO_BLK_F_SEG_MAX) | VIO_BIT(VIO_BLK_F_BLK_SIZE) |
		     VIO_BIT(VIO_BLK_F_DISCARD) | VIO_BIT(VIO_BLK_F_WRITE_ZEROES) |
		     (o->queues > 1 ? VIO_BIT(VIO_BLK_F_MQ) : 0);
	p.num_queues = (uint16_t) o->queues;
	p.queue_size = QUEUE_SIZE;
	p.seg_max = VIO_BLK_SLOT_SEGS - 2;
	p.blk_size = 512;
	p.max_discard_sectors = 1u << 16;
	p.max_discard_seg = 1;
	p.discard_sector_alignment = 8;
	p.max_write_zeroes_sectors = 1u << 16;
	p.max_write_zeroes_seg = 1;
	memcpy(p.serial, "vu-testd", 8);
	if (vio_blk_init(blk, &p, &vio_sim_ramdisk_ops, rd, queues, slots, SLOTS) < 0)
		return NULL;
	return &blk->dev;
}

int main(int argc, char **argv)
{
	static struct vio_blk blk;
	static struct vio_sim_ramdisk rd;
	static struct vio_queue queues[MAX_QUEUES];
	static struct vio_blk_req slots[SLOTS];
	static struct vio_rng rng;
	static struct vio_sim_entropy ent;
	static struct vio_vu_server srv;
	struct opts o = {.size_mib = 64, .queues = 1};
	struct vio_vu_server_config cfg = {.log = log_line};
	struct sigaction sa = {.sa_handler = on_signal};
	int rc;

	parse(argc, argv, &o);
	if (o.rng) {
		vio_sim_entropy_init(&ent, 0x5eed);
		if (vio_rng_init(&rng, &vio_sim_entropy_ops, &ent, queues, QUEUE_SIZE,
				 VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX)) < 0)
			return 1;
		cfg.dev = &rng.dev;
	} else {
		cfg.dev = make_blk(&o, &blk, &rd, queues, slots);
		if (cfg.dev == NULL)
			return 1;
	}
	if (vio_loop_init(&loop) < 0)
		return 1;
	cfg.loop = &loop;
	cfg.queue_workers = o.workers;
	rc = vio_vu_server_init(&srv, &cfg);
	if (rc == 0)
		rc = vio_vu_server_listen(&srv, o.path);
	if (rc < 0) {
		fprintf(stderr, "vioport-vu-testd: %s: %s\n", o.path, strerror(-rc));
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = vio_loop_run(&loop);
	vio_vu_server_fini(&srv);
	vio_loop_fini(&loop);
	if (!o.rng)
		free(rd.mem);
	return rc < 0 ? 1 : 0;
}
