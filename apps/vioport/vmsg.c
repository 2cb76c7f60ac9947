/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport's virtio-msg buses: groups with --transport vmsg serve their
 * devices on the bus of a shared window file instead of vhost-user sockets.
 * Groups naming the same --shm share one bus; each bus is served by a thread
 * of its own (vmsg_posix.h), and everything else that touches its devices
 * (disk completions, host GPIO events, the control socket) takes its lock.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "vioport.h"

static void endpoint_log(void *ctx, int level, const char *msg)
{
	(void) ctx;
	vp_say(level, "vmsg", "%s", msg);
}

/* Before the bus resets its devices (the bus locked): each kind's provider finishes what it
 * has in flight. */
static void endpoint_quiesce(void *ctx)
{
	struct vp_endpoint *e = ctx;

	for (unsigned i = 0; i < e->ndevices; i++) {
		struct vp_instance *in = e->inst[i];

		if (in->state != NULL && in->kind->quiesce != NULL)
			in->kind->quiesce(in);
	}
}

/* Opens the bus that group g names first. */
static int endpoint_open(struct vp_endpoint *e, const struct vp_group *g)
{
	struct vio_vmsg_endpoint_config c = {
	    .path = g->shm,
	    .size = g->shm_size,
	    .doorbell = g->doorbell,
	    .log = endpoint_log,
	    .log_ctx = e,
	    .quiesce = endpoint_quiesce,
	    .quiesce_ctx = e,
	};
	struct stat st;
	char err[200];
	int rc;

	e->first = g;
	/* A new file gets the default size; an existing one keeps its own. */
	if (c.size == 0 && stat(g->shm, &st) < 0 && errno == ENOENT)
		c.size = VMSG_DEFAULT_SIZE;
	rc = vio_vmsg_endpoint_init(&e->ep, &c, err, sizeof(err));
	if (rc < 0) {
		vp_say(VIO_LOG_ERR, "vmsg", "%s", err);
		return rc;
	}
	e->ready = true;
	return 0;
}

int vp_vmsg_init(struct vp_endpoint *eps, unsigned *neps, struct vp_instance *inst, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const struct vp_group *g = inst[i].opt;
		struct vp_endpoint *e = NULL;
		int rc;

		if (g->transport != TRANSPORT_VMSG)
			continue;
		for (unsigned j = 0; j < *neps && e == NULL; j++)
			if (strcmp(eps[j].first->shm, g->shm) == 0)
				e = &eps[j];
		if (e == NULL) {
			e = &eps[(*neps)++];
			rc = endpoint_open(e, g);
			if (rc < 0)
				return rc;
		} else if (e->first != g &&
			   ((g->shm_size != 0 && g->shm_size != e->first->shm_size) ||
			    (g->doorbell != NULL &&
			     (e->first->doorbell == NULL ||
			      strcmp(g->doorbell, e->first->doorbell) != 0)))) {
			vp_say(VIO_LOG_ERR, "vmsg",
			       "%s: %s names the window of %s with another size or doorbell",
			       g->shm, g->where, e->first->where);
			return -EINVAL;
		}
		if (e->ndevices == VIO_VMSG_DEV_MAX) {
			vp_say(VIO_LOG_ERR, "vmsg", "%s: at most %d devices on one bus", g->shm,
			       VIO_VMSG_DEV_MAX);
			return -ENOSPC;
		}
		e->inst[e->ndevices++] = &inst[i];
		inst[i].ep = e;
	}
	return 0;
}

int vp_vmsg_add(struct vp_instance *in)
{
	int rc = vio_vmsg_endpoint_add(&in->ep->ep, in->dev);

	if (rc < 0) {
		vp_say(VIO_LOG_ERR, in->name, "cannot add the device to the bus of %s (%d)",
		       in->opt->shm, rc);
		return rc;
	}
	in->dev_num = rc;
	vp_say(VIO_LOG_INFO, in->name, "device %d on the virtio-msg bus of %s", rc, in->opt->shm);
	return 0;
}

int vp_vmsg_start(struct vp_endpoint *eps, unsigned neps)
{
	for (unsigned i = 0; i < neps; i++) {
		struct vp_endpoint *e = &eps[i];
		int rc = vio_vmsg_endpoint_start(&e->ep);

		if (rc < 0) {
			vp_say(VIO_LOG_ERR, "vmsg", "%s: cannot start serving: %s", e->first->shm,
			       strerror(-rc));
			return rc;
		}
		e->started = true;
		vp_say(VIO_LOG_INFO, "vmsg", "%s: serving %u device%s (doorbell %s)", e->first->shm,
		       e->ndevices, e->ndevices == 1 ? "" : "s",
		       e->first->doorbell ? e->first->doorbell : "poll");
	}
	return 0;
}

void vp_vmsg_fini(struct vp_endpoint *eps, unsigned neps)
{
	for (unsigned i = 0; i < neps; i++) {
		if (eps[i].ready)
			vio_vmsg_endpoint_fini(&eps[i].ep);
		eps[i].ready = false;
		eps[i].started = false;
	}
}
