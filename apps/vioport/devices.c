/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport's devices: each instance's kind sets up its device model and
 * provider (kind_*.c), and this file serves it: a vhost-user server on the
 * event loop, or a place on a virtio-msg bus (vmsg.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vioport.h"

void vp_lock(struct vp_instance *in)
{
	if (in->ep != NULL)
		vio_vmsg_endpoint_lock(&in->ep->ep);
	else
		vio_vu_server_lock(&in->server);
}

void vp_unlock(struct vp_instance *in)
{
	if (in->ep != NULL)
		vio_vmsg_endpoint_unlock(&in->ep->ep);
	else
		vio_vu_server_unlock(&in->server);
}

static void server_log(void *ctx, int level, const char *msg)
{
	struct vp_instance *in = ctx;

	vp_say(level, in->name, "%s", msg);
}

/* Before guest memory goes away: the kind's provider finishes what it has in flight. */
static void server_quiesce(void *ctx, struct vio_device *dev)
{
	struct vp_instance *in = ctx;

	(void) dev;
	vp_lock(in);
	in->kind->quiesce(in);
	vp_unlock(in);
}

static int start_server(struct vp_instance *in, struct vio_loop *loop)
{
	const struct vp_group *o = in->opt;
	struct vio_vu_server_config cfg = {
	    .dev = in->dev,
	    .loop = loop,
	    .queue_workers = in->kind->queue_workers != NULL && in->kind->queue_workers(in),
	    .poll = in->poll_us > 0,
	    .poll_us = in->poll_us,
	    .ctx = in,
	    .quiesce = in->kind->quiesce != NULL ? server_quiesce : NULL,
	    .log = server_log,
	};
	int rc = vio_vu_server_init(&in->server, &cfg);

	if (rc < 0) {
		vp_say(VIO_LOG_ERR, in->name, "cannot start the vhost-user server: %s",
		       strerror(-rc));
		return rc;
	}
	in->server_ready = true;
	if (o->fd >= 0) {
		rc = vio_vu_server_adopt_fd(&in->server, o->fd);
		if (rc < 0)
			vp_say(VIO_LOG_ERR, in->name, "cannot serve on fd %d: %s", o->fd,
			       strerror(-rc));
		return rc;
	}
	rc = vio_vu_server_listen(&in->server, in->path);
	/* The server reports a socket in use or a path that is not a socket itself. */
	if (rc < 0 && rc != -EADDRINUSE && rc != -EEXIST)
		vp_say(VIO_LOG_ERR, in->name, "cannot listen on '%s': %s", in->path, strerror(-rc));
	return rc;
}

int vp_start_instance(struct vp_instance *in, struct vio_loop *loop)
{
	const struct vp_kind *k = in->kind;
	int rc;

	in->state = calloc(1, k->state_size > 0 ? k->state_size : 1);
	if (in->state == NULL) {
		vp_say(VIO_LOG_ERR, in->name, "out of memory");
		return -ENOMEM;
	}
	rc = k->setup(in, loop);
	if (rc == 0)
		rc = in->ep != NULL ? vp_vmsg_add(in) : start_server(in, loop);
	if (rc == 0 && k->serve != NULL)
		rc = k->serve(in, loop);
	return rc;
}

void vp_stop_instance(struct vp_instance *in)
{
	if (in->server_ready)
		vio_vu_server_fini(&in->server);
	in->server_ready = false;
	if (in->state != NULL && in->kind->stop != NULL)
		in->kind->stop(in);
	free(in->state);
	in->state = NULL;
}
