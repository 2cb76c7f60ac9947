/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport blk's state, shared by kind_blk.c (files and block devices) and
 * nbd.c (NBD exports); private to those two files.
 */
#ifndef VIOPORT_KIND_BLK_H
#define VIOPORT_KIND_BLK_H

#include "vioport.h"
#include "vioport/blk.h"
#include "vioport/linux_blk.h"
#include "vioport/linux_nbd.h"

#define MAX_BLK_QUEUES	    16u
#define BLK_SLOTS_PER_QUEUE 128u

/* A blk group's options (g->conf). */
struct vp_blk_conf {
	const char *images[MAX_DEVICES]; /* one per socket, or per device on a bus */
	unsigned nimages;
	bool read_only;
	bool direct;
	bool sync;
	unsigned num_queues; /* 0 until checked: 1 */
	const char *serial;
	unsigned nbd_timeout; /* NBD: seconds without an answer before reconnecting, 0: never */
	bool nbd_timeout_set;
};

/* One blk instance (in->state): the device, its request slots and its disk. */
struct vp_blk {
	struct vp_instance *in;
	struct vio_blk blk;
	struct vio_queue queues[MAX_BLK_QUEUES];
	struct vio_blk_req *slots; /* BLK_SLOTS_PER_QUEUE per queue, allocated at setup */
	uint16_t nslots;
	struct vio_host_blk disk;
	bool disk_open;
	struct vio_device_ops ops; /* the blk ops, with a queue_notify that submits */
	const struct vio_device_ops *blk_ops;
	struct vio_loop_watch disk_w;
	struct vio_loop_poller disk_p; /* adaptive polling of its completions */
	struct vio_loop *loop;	       /* the main loop its watches are on */
	struct vio_host_nbd nbd;       /* the disk when --image names an NBD export */
	bool nbd_open;
};

/* kind_blk.c: p zeroed, then the group's queues and the features every blk disk offers. */
void vp_blk_base_params(const struct vp_blk *b, struct vio_blk_params *p);
/*
 * kind_blk.c: sets b's device up over the provider (ops, ctx) with p (its
 * serial the provider's default unless --serial names one), the device's
 * queue_notify replaced by notify (which calls b->blk_ops's). 0 or -EINVAL,
 * logged.
 */
int vp_blk_device(struct vp_blk *b, struct vio_blk_params *p, const struct vio_blk_ops *ops,
		  void *ctx, void (*notify)(struct vio_device *dev, uint16_t q));
/* nbd.c: whether an --image names an NBD export rather than a file. */
bool vp_nbd_image(const char *image);
/* nbd.c: sets up b on the NBD export image, watched on loop; 0 or -errno. */
int vp_nbd_setup(struct vp_blk *b, const char *image, struct vio_loop *loop);
/* nbd.c: completes every request in flight on the export (bounded), the device locked. */
void vp_nbd_quiesce(struct vp_blk *b);
/* nbd.c: disconnects and releases the export; safe when none is open. */
void vp_nbd_stop(struct vp_blk *b);

#endif
