/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport's disks on NBD exports (--image nbd://... or nbd+unix://...): the
 * provider of vioport/linux_nbd.h under the blk device, its socket and its
 * reconnection timer on the main loop. See docs/nbd.md.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "kind_blk.h"

bool vp_nbd_image(const char *image)
{
	/* Not vio_host_nbd_is_uri: a build without libnbd must still recognise the URI. */
	return strncmp(image, "nbd://", 6) == 0 || strncmp(image, "nbd+unix://", 11) == 0 ||
	       strncmp(image, "nbds://", 7) == 0 || strncmp(image, "nbds+unix://", 12) == 0;
}

#ifdef VIO_HAVE_LIBNBD

static void nbd_lock(void *ctx)
{
	struct vp_blk *b = ctx;

	vp_lock(b->in);
}

static void nbd_unlock(void *ctx)
{
	struct vp_blk *b = ctx;

	vp_unlock(b->in);
}

static void nbd_log(void *ctx, int level, const char *msg)
{
	struct vp_blk *b = ctx;

	vp_say(level, b->in->name, "%s", msg);
}

/* After the device took a kick's requests: let the loop send what libnbd could not yet. */
static void nbd_queue_notify(struct vio_device *dev, uint16_t q)
{
	struct vio_blk *blk = dev->priv;
	struct vp_blk *b = (struct vp_blk *) ((char *) blk - offsetof(struct vp_blk, blk));

	b->blk_ops->queue_notify(dev, q);
	vio_host_nbd_kick(&b->nbd);
}

int vp_nbd_setup(struct vp_blk *b, const char *image, struct vio_loop *loop)
{
	struct vp_instance *in = b->in;
	const struct vp_blk_conf *o = in->opt->conf;
	struct vio_host_nbd_options no = {
	    .read_only = o->read_only,
	    .queue_depth = b->nslots,
	    .timeout_ms = !o->nbd_timeout_set	? 0
			  : o->nbd_timeout == 0 ? UINT32_MAX
						: o->nbd_timeout * 1000u,
	};
	struct vio_blk_params p;
	char err[300];
	int rc;

	if (o->direct || o->sync) {
		vp_say(VIO_LOG_ERR, in->name, "--direct and --sync apply to files, not '%s'",
		       image);
		return -EINVAL;
	}
	rc = vio_host_nbd_open(&b->nbd, image, &no, err, sizeof(err));
	if (rc < 0) {
		vp_say(VIO_LOG_ERR, in->name, "cannot open image '%s': %s", image, err);
		return rc;
	}
	b->nbd_open = true;
	vp_blk_base_params(b, &p);
	vio_host_nbd_params(&b->nbd, &p);
	vio_host_nbd_default_serial(&b->nbd, p.serial);
	rc = vp_blk_device(b, &p, &vio_host_nbd_ops, &b->nbd, nbd_queue_notify);
	if (rc < 0)
		return rc;
	rc = vio_host_nbd_attach(&b->nbd, loop, nbd_lock, nbd_unlock, nbd_log, b);
	if (rc < 0) {
		vp_say(VIO_LOG_ERR, in->name, "cannot watch the NBD connection: %s", strerror(-rc));
		return rc;
	}
	vp_say(VIO_LOG_INFO, in->name,
	       "image '%s': NBD export %s, %llu sectors%s, %u queue%s, max request %u bytes%s%s%s",
	       image, b->nbd.addr.desc, (unsigned long long) p.capacity,
	       b->nbd.read_only ? ", read-only" : "", o->num_queues, o->num_queues == 1 ? "" : "s",
	       b->nbd.max_req, b->nbd.can_flush ? ", flush" : "", b->nbd.can_trim ? ", trim" : "",
	       b->nbd.can_zero ? ", write-zeroes" : "");
	return 0;
}

void vp_nbd_quiesce(struct vp_blk *b)
{
	/* Unlike a local file, a server may never answer: bounded, then failed. */
	vio_host_nbd_drain(&b->nbd, 5000);
}

void vp_nbd_stop(struct vp_blk *b)
{
	if (b->nbd_open)
		vio_host_nbd_close(&b->nbd);
	b->nbd_open = false;
}

#else

int vp_nbd_setup(struct vp_blk *b, const char *image, struct vio_loop *loop)
{
	(void) loop;
	vp_say(VIO_LOG_ERR, b->in->name, "cannot open image '%s': built without libnbd", image);
	return -ENOTSUP;
}

void vp_nbd_quiesce(struct vp_blk *b)
{
	(void) in;
}

void vp_nbd_stop(struct vp_instance *in)
{
	(void) in;
}

#endif
