/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport blk: virtio-blk on a file or block device (io_uring, or synchronous
 * requests), or on an NBD export (nbd.c). With --num-queues > 1 each queue's
 * kicks run on a thread of their own; completions arrive on the main loop.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kind_blk.h"

/* The provider's completions arrive on its event fd. */
static void disk_event(struct vio_loop_watch *w, uint32_t revents)
{
	struct vp_blk *b = w->ctx;

	vp_lock(b->in);
	if (revents & VIO_LOOP_READ)
		vio_host_blk_poll(&b->disk); /* the loop read the event fd on its ring */
	else
		vio_host_blk_reap(&b->disk);
	vp_unlock(b->in);
}

/* Adaptive polling of the completion ring, on the loop that reaps it. */
static bool disk_poll(struct vio_loop_poller *p)
{
	struct vp_blk *b = p->ctx;
	unsigned n;

	if (!vio_host_blk_ready(&b->disk))
		return false;
	vp_lock(b->in);
	n = vio_host_blk_poll(&b->disk);
	vp_unlock(b->in);
	return n > 0;
}

/* A queue's lane took completions on its loop: finish them, the device locked. */
static void lane_flush(void *ctx)
{
	struct vp_blk *b = ctx;

	vp_lock(b->in);
	vio_host_blk_poll(&b->disk);
	vp_unlock(b->in);
}

/*
 * After the device took a kick's requests, send them to the kernel at once,
 * and complete what finished inside the submission (reads the page cache
 * holds) on this thread: no wake-up of the loop that reaps, no read of the
 * event fd.
 */
static void blk_queue_notify(struct vio_device *dev, uint16_t q)
{
	struct vio_blk *blk = dev->priv;
	struct vp_blk *b = (struct vp_blk *) ((char *) blk - offsetof(struct vp_blk, blk));

	/* parts wake a driver on another CPU early; one sharing this CPU would only preempt us */
	b->blk.submit_batch = vio_loop_producer_shares_cpu() ? 0 : (uint16_t) b->in->batch;
	b->blk_ops->queue_notify(dev, q);
	vio_host_blk_submit(&b->disk);
	vio_host_blk_poll(&b->disk);
}

static int open_disk(struct vp_blk *b, const char *image)
{
	struct vp_instance *in = b->in;
	const struct vp_blk_conf *o = in->opt->conf;
	struct vio_host_blk_options ho = {
	    .read_only = o->read_only,
	    .direct = o->direct,
	    .sync = o->sync,
	    .queue_depth = b->nslots,
	};
	int rc = vio_host_blk_open(&b->disk, image, &ho);

	if (rc < 0) {
		vp_say(VIO_LOG_ERR, in->name, "cannot open image '%s': %s%s", image, strerror(-rc),
		       rc == -EROFS ? " (try --read-only)" : "");
		return rc;
	}
	b->disk_open = true;
	if (!o->sync && !vio_host_blk_async(&b->disk))
		vp_say(VIO_LOG_INFO, in->name,
		       "io_uring unavailable (%s); requests run synchronously",
		       strerror(-b->disk.async_err));
	return 0;
}

void vp_blk_base_params(const struct vp_blk *b, struct vio_blk_params *p)
{
	const struct vp_blk_conf *o = b->in->opt->conf;

	memset(p, 0, sizeof(*p));
	p->features = VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) |
		      VIO_BIT(VIO_F_RING_PACKED) | VIO_BIT(VIO_BLK_F_SEG_MAX);
	if (o->num_queues > 1)
		p->features |= VIO_BIT(VIO_BLK_F_MQ);
	p->num_queues = (uint16_t) o->num_queues;
	p->queue_size = QUEUE_SIZE;
	p->seg_max = VIO_BLK_SLOT_SEGS - 2;
}

int vp_blk_device(struct vp_blk *b, struct vio_blk_params *p, const struct vio_blk_ops *ops,
		  void *ctx, void (*notify)(struct vio_device *dev, uint16_t q))
{
	const struct vp_blk_conf *o = b->in->opt->conf;
	int rc;

	if (o->serial != NULL) {
		memset(p->serial, 0, sizeof(p->serial));
		memcpy(p->serial, o->serial, strlen(o->serial)); /* checked to fit */
	}
	rc = vio_blk_init(&b->blk, p, ops, ctx, b->queues, b->slots, b->nslots);
	if (rc < 0) {
		vp_say(VIO_LOG_ERR, b->in->name, "cannot set up the blk device (%d)", rc);
		return -EINVAL;
	}
	/* The device's ops with the provider's own queue_notify around the model's. */
	b->blk_ops = b->blk.dev.ops;
	b->ops = *b->blk_ops;
	b->ops.queue_notify = notify;
	b->blk.dev.ops = &b->ops;
	b->in->dev = &b->blk.dev;
	return 0;
}

/* A file or block device. */
static int setup_file(struct vp_blk *b, const char *image)
{
	struct vp_instance *in = b->in;
	const struct vp_blk_conf *o = in->opt->conf;
	struct vio_blk_params p;
	int rc;

	rc = open_disk(b, image);
	if (rc < 0)
		return rc;
	vp_blk_base_params(b, &p);
	p.submit_batch = (uint16_t) in->batch;
	vio_host_blk_params(&b->disk, &p);
	vio_host_blk_default_serial(&b->disk, p.serial);
	rc = vp_blk_device(b, &p, &vio_host_blk_ops, &b->disk, blk_queue_notify);
	if (rc < 0)
		return rc;
	vp_say(VIO_LOG_INFO, in->name, "image '%s': %llu sectors%s%s, %u queue%s, %s", image,
	       (unsigned long long) p.capacity, o->read_only ? ", read-only" : "",
	       o->direct ? ", O_DIRECT" : "", o->num_queues, o->num_queues == 1 ? "" : "s",
	       vio_host_blk_async(&b->disk) ? "io_uring" : "synchronous");
	return 0;
}

/* The image of the instance's socket; its request slots, as many as its queues take. */
static int blk_setup(struct vp_instance *in, struct vio_loop *loop)
{
	struct vp_blk *b = in->state;
	const struct vp_blk_conf *o = in->opt->conf;
	const char *image = o->images[in->slot];

	b->in = in;
	b->nslots = (uint16_t) (o->num_queues * BLK_SLOTS_PER_QUEUE);
	b->slots = calloc(b->nslots, sizeof(*b->slots));
	if (b->slots == NULL) {
		vp_say(VIO_LOG_ERR, in->name, "out of memory");
		return -ENOMEM;
	}
	return vp_nbd_image(image) ? vp_nbd_setup(b, image, loop) : setup_file(b, image);
}

/* Disk completions arrive on the loop whatever the transport. */
static int blk_serve(struct vp_instance *in, struct vio_loop *loop)
{
	struct vp_blk *b = in->state;
	const struct vp_blk_conf *o = in->opt->conf;
	int rc = 0;

	if (b->disk_open)
		rc = vio_loop_add_counter(loop, &b->disk_w, vio_host_blk_event_fd(&b->disk),
					  disk_event, b);
	if (rc == 0 && b->disk_open && in->poll_us > 0 && vio_host_blk_async(&b->disk))
		rc = vio_loop_poller_add(loop, &b->disk_p, disk_poll, NULL, b);
	b->loop = loop;
	/*
	 * vhost-user: each queue's I/O goes through the io_uring its kicks wait
	 * in, so one io_uring_enter both sends a batch and waits for the next
	 * kick, and completions wake the thread that serves the queue. A loop
	 * without a ring (-ENOSYS) leaves the queue on the disk's own ring.
	 */
	for (uint16_t q = 0; rc == 0 && b->disk_open && in->server_ready && q < o->num_queues;
	     q++) {
		int arc = vio_host_blk_attach_loop(
		    &b->disk, q, vio_vu_server_queue_loop(&in->server, q), lane_flush, b);

		if (arc < 0 && arc != -ENOSYS)
			vp_say(VIO_LOG_WARN, in->name, "queue %u keeps the disk's ring: %s", q,
			       strerror(-arc));
	}
	return rc;
}

static bool blk_queue_workers(const struct vp_instance *in)
{
	const struct vp_blk_conf *o = in->opt->conf;

	return o->num_queues > 1;
}

/* Before memory goes away, every request in the kernel (or on the export) must have finished. */
static void blk_quiesce(struct vp_instance *in)
{
	struct vp_blk *b = in->state;

	if (b->nbd_open) {
		vp_nbd_quiesce(b);
		return;
	}
	if (!b->disk_open)
		return;
	vio_host_blk_drain(&b->disk);
	/* queues on other threads' loops: those threads finish them, which takes the lock */
	while (vio_host_blk_elsewhere(&b->disk) > 0) {
		struct timespec ts = {0, 50000};

		vp_unlock(in);
		nanosleep(&ts, NULL);
		vp_lock(in);
		vio_host_blk_drain(&b->disk);
	}
}

/* An NBD export reconnects: sockets of its address's family, TCP to its port only. */
static int blk_sandbox(const struct vp_instance *in, struct vio_sandbox *sb, char *err,
		       size_t errlen)
{
	const struct vp_blk *b = in->state;

	if (!b->nbd_open)
		return 0;
	return vio_sandbox_allow_connect(sb, b->nbd.addr.ss.ss_family, b->nbd.addr.port, err,
					 errlen);
}

static void blk_stop(struct vp_instance *in)
{
	struct vp_blk *b = in->state;

	if (b->disk_w.loop != NULL)
		vio_loop_remove(&b->disk_w);
	vio_loop_poller_remove(&b->disk_p);
	if (b->disk_open && b->loop != NULL)
		vio_host_blk_detach_loop(&b->disk, b->loop); /* queue threads' loops are gone */
	if (b->disk_open)
		vio_host_blk_close(&b->disk);
	b->disk_open = false;
	vp_nbd_stop(b);
	free(b->slots);
	b->slots = NULL;
}

/* One image per device: per socket, or per device on a virtio-msg bus. */
static int blk_check(struct vp_group *g, const char *where)
{
	struct vp_blk_conf *c = g->conf;

	if (c->num_queues == 0)
		c->num_queues = 1;
	if (g->transport == TRANSPORT_VMSG) {
		if (c->nimages == 0)
			return vp_usage_error(where, "blk needs --image");
		g->socket_count = c->nimages;
	}
	if (c->nimages != g->socket_count)
		return vp_usage_error(where,
				      "blk needs one --image per socket (%u socket%s, %u image%s)",
				      g->socket_count, g->socket_count == 1 ? "" : "s", c->nimages,
				      c->nimages == 1 ? "" : "s");
	return 0;
}

static int apply_image(const struct vp_optctx *c, const char *arg)
{
	struct vp_blk_conf *b = c->target;

	if (b->nimages == MAX_DEVICES)
		return vp_usage_error(c->where, "at most %d images", MAX_DEVICES);
	b->images[b->nimages++] = arg;
	return 0;
}

static int apply_serial(const struct vp_optctx *c, const char *arg)
{
	struct vp_blk_conf *b = c->target;

	if (strlen(arg) > VIO_BLK_ID_BYTES)
		return vp_usage_error(c->where, "--serial is at most %u bytes", VIO_BLK_ID_BYTES);
	b->serial = arg;
	return 0;
}

static int apply_nbd_timeout(const struct vp_optctx *c, const char *arg)
{
	struct vp_blk_conf *b = c->target;

	if (!vp_parse_uint(arg, 0, 3600, &b->nbd_timeout))
		return vp_usage_error(c->where,
				      "--nbd-timeout needs seconds from 0 to 3600, not '%s'", arg);
	b->nbd_timeout_set = true;
	return 0;
}

#define IN_CONF(field) offsetof(struct vp_blk_conf, field)

static const struct vp_option blk_options[] = {
    {.name = "image",
     .alias = "blk-file", /* vhost-user's name for it (QEMU's conventions) */
     .letter = 'i',
     .arg = "FILE",
     .type = VP_OPT_FN,
     .apply = apply_image,
     .help = "the disk image; give it once per socket (also\n"
	     "--blk-file, QEMU's name for it). FILE may be\n"
	     "an NBD export: nbd://HOST[:PORT][/EXPORT] or\n"
	     "nbd+unix:///[EXPORT]?socket=PATH (docs/nbd.md)"},
    {.name = "read-only",
     .letter = 'r',
     .type = VP_OPT_FLAG,
     .offset = IN_CONF(read_only),
     .help = "offer a read-only disk, open the image read-only"},
    {.name = "num-queues",
     .arg = "N",
     .type = VP_OPT_UINT,
     .offset = IN_CONF(num_queues),
     .lo = 1,
     .hi = MAX_BLK_QUEUES,
     .help = "request queues, 1 to %u (default 1); one thread each",
     .help_n = {MAX_BLK_QUEUES}},
    {.name = "serial",
     .arg = "S",
     .type = VP_OPT_FN,
     .apply = apply_serial,
     .help = "GET_ID answer, up to 20 bytes (default: from the image)"},
    {.name = "nbd-timeout",
     .arg = "S",
     .type = VP_OPT_FN,
     .apply = apply_nbd_timeout,
     .help = "NBD image: with requests in flight and no answer for S\n"
	     "seconds, drop the connection and reconnect (default 30,\n"
	     "0: never)"},
    {.name = "direct",
     .type = VP_OPT_FLAG,
     .offset = IN_CONF(direct),
     .help = "O_DIRECT: bypass the host page cache"},
    {.name = "sync",
     .type = VP_OPT_FLAG,
     .offset = IN_CONF(sync),
     .help = "no io_uring: every request completes in the call"},
    {.name = NULL},
};

/* QEMU's name for the type is "block"; its options --read-only and --blk-file. */
const struct vp_kind vp_kind_blk = {
    .name = "blk",
    .alias = "block",
    .summary = "virtio-blk on a file, block device or NBD export (--image)",
    .caps_json = "{\n  \"type\": \"block\",\n  \"features\": [\n"
		 "    \"read-only\",\n    \"blk-file\"\n  ]\n}\n",
    .options = blk_options,
    .conf_size = sizeof(struct vp_blk_conf),
    .state_size = sizeof(struct vp_blk),
    .check = blk_check,
    .setup = blk_setup,
    .serve = blk_serve,
    .queue_workers = blk_queue_workers,
    .quiesce = blk_quiesce,
    .sandbox = blk_sandbox,
    .stop = blk_stop,
};
