/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user engine: rings. What the frontend set up for each queue is kept
 * here and pushed into the device model when the ring may run (started,
 * enabled, features negotiated); the glue watches the kick handles; the
 * device's notifications become signals on the call and err handles and
 * messages on the backend channel.
 */
#include "engine_internal.h"

#include <string.h>

static struct vio_vu_engine *eng_of(struct vio_device *dev)
{
	return dev->transport;
}

static void vu_notify_used(struct vio_device *dev, uint16_t q)
{
	struct vio_vu_engine *e = eng_of(dev);

	if (q < e->nq && e->rings[q].call >= 0)
		e->ops->signal(e->ctx, e->rings[q].call);
}

/* Asks the frontend to read the config again (CONFIG_CHANGE_MSG), without waiting for it. */
static void send_config_change(struct vio_vu_engine *e)
{
	struct vio_vu_hdr hdr = {VIO_VU_BACKEND_CONFIG_CHANGE_MSG, VIO_VU_VERSION, 0};
	int rc;

	if (e->backend < 0 || !vu_has_pf(e, VIO_VU_PF_CONFIG) ||
	    !vu_has_pf(e, VIO_VU_PF_BACKEND_REQ))
		return;
	/*
	 * No need_reply: the frontend may be blocked waiting for our answer on
	 * the main channel, and waiting for its answer here would deadlock.
	 */
	rc = e->ops->send(e->ctx, e->backend, &hdr, NULL, -1, 0);
	if (rc < 0) {
		vu_log(e, VIO_LOG_WARN, "backend channel: config change not sent: %s",
		       vu_errstr(e, -rc));
		if (rc != -VIO_EAGAIN)
			vu_close(e, &e->backend);
	}
}

static void vu_notify_config(struct vio_device *dev)
{
	struct vio_vu_engine *e = eng_of(dev);

	if (dev->status & VIO_STATUS_NEEDS_RESET)
		for (uint16_t q = 0; q < e->nq; q++)
			if (e->rings[q].err >= 0)
				e->ops->signal(e->ctx, e->rings[q].err);
	send_config_change(e);
}

static void vu_dev_log(struct vio_device *dev, const char *msg, int err)
{
	struct vio_vu_engine *e = eng_of(dev);

	if (err != 0)
		vu_log(e, VIO_LOG_WARN, "device: %s: %s", msg, vu_errstr(e, err < 0 ? -err : err));
	else
		vu_log(e, VIO_LOG_WARN, "device: %s", msg);
}

const struct vio_transport_ops vu_transport_ops = {
    .notify_used = vu_notify_used,
    .notify_config = vu_notify_config,
    .log = vu_dev_log,
};

void vu_vring_set_kick(struct vio_vu_engine *e, struct vio_vu_ering *v, int h)
{
	int old = v->kick;

	v->kick = h;
	e->ops->kick(e->ctx, v->index, old);
}

/*
 * Sets queue q up in the device model from what the frontend gave. The ring
 * addresses are the frontend's virtual addresses: they become guest-physical
 * here, and the device model then checks the whole of each ring against the
 * windows. A ring in no region waits for a memory table that holds it.
 */
static int vring_push(struct vio_vu_engine *e, struct vio_vu_ering *v)
{
	struct vio_device *dev = e->dev;
	struct vio_queue *dq = &dev->queues[v->index];
	uint64_t desc, avail, used;
	int rc;

	if (!v->addr_set)
		return -VIO_EINVAL;
	if (vu_ua_to_gpa(e, v->desc_ua, &desc) < 0 || vu_ua_to_gpa(e, v->avail_ua, &avail) < 0 ||
	    vu_ua_to_gpa(e, v->used_ua, &used) < 0) {
		if (!v->mem_warned)
			vu_log(e, VIO_LOG_WARN,
			       "queue %u: ring is in no memory region; waiting for one", v->index);
		v->mem_warned = true;
		return -VIO_EFAULT;
	}
	v->mem_warned = false;
	if (dq->enabled)
		vio_device_queue_enable(dev, v->index, false);
	vu_inflight_give(e, v->index);
	rc = vio_device_queue_set(dev, v->index, v->num ? v->num : dq->max_size, desc, avail, used);
	if (rc == 0 && v->base_set)
		rc = vio_device_queue_set_base(dev, v->index, v->base);
	if (rc < 0) {
		vu_log(e, VIO_LOG_WARN, "queue %u: cannot set up: %s", v->index, vu_errstr(e, -rc));
		return rc;
	}
	v->pushed = true;
	v->dirty = false;
	/* a ring outside the windows breaks the device here (NEEDS_RESET, err fd, config msg) */
	rc = vio_device_queue_enable(dev, v->index, true);
	if (rc == 0 && dq->vq.ifl_resubmit != 0)
		vu_log(e, VIO_LOG_INFO, "queue %u: %u requests in flight before are resubmitted",
		       v->index, dq->vq.ifl_resubmit);
	return rc;
}

void vu_vring_sync(struct vio_vu_engine *e, struct vio_vu_ering *v)
{
	struct vio_device *dev = e->dev;
	struct vio_queue *dq = &dev->queues[v->index];
	bool want = v->started && v->enabled && (dev->status & VIO_STATUS_FEATURES_OK);

	if (!want) {
		if (dq->enabled)
			vio_device_queue_enable(dev, v->index, false);
		return;
	}
	if (v->pushed && !v->dirty) {
		if (dq->enabled)
			return;
		if (vio_device_queue_enable(dev, v->index, true) < 0)
			return;
	} else if (vring_push(e, v) < 0) {
		return;
	}
	/* kicks that came while the ring could not run were dropped: look once now */
	vio_device_kick(dev, v->index);
}

static bool vu_any_ring_live(const struct vio_vu_engine *e)
{
	for (uint16_t q = 0; q < e->nq; q++)
		if (e->dev->queues[q].enabled)
			return true;
	return false;
}

void vu_vring_sync_all(struct vio_vu_engine *e)
{
	struct vio_device *dev = e->dev;
	uint8_t st;

	for (uint16_t q = 0; q < e->nq; q++)
		vu_vring_sync(e, &e->rings[q]);
	/*
	 * The first running ring means DRIVER_OK. Without the STATUS protocol
	 * feature nothing else would say it; with it, QEMU 7.2 sends DRIVER_OK
	 * only for devices that set up a "last queue pair" (blk does, rng does
	 * not), and a frontend enables rings only once the driver is ready.
	 */
	st = dev->status;
	if ((st & VIO_STATUS_FEATURES_OK) &&
	    !(st & (VIO_STATUS_DRIVER_OK | VIO_STATUS_NEEDS_RESET | VIO_STATUS_FAILED)) &&
	    vu_any_ring_live(e))
		vio_device_set_status(dev, st | VIO_STATUS_DRIVER_OK);
}

/* Stops new requests and has the glue wait until the device no longer touches memory. */
static void vu_quiesce(struct vio_vu_engine *e)
{
	if (e->ops->quiesce == NULL)
		return;
	/* nothing new may start while the device drains; vu_vring_sync_all resumes */
	for (uint16_t q = 0; q < e->nq; q++)
		if (e->dev->queues[q].enabled)
			vio_device_queue_enable(e->dev, q, false);
	e->ops->quiesce(e->ctx);
}

/* Remembers where the device model's ring stands, in vio_vq_set_base encoding. */
static void save_base(struct vio_vu_engine *e, struct vio_vu_ering *v)
{
	struct vio_queue *dq = &e->dev->queues[v->index];

	if (v->pushed && dq->vq.ready) {
		v->base = vio_vq_get_base(&dq->vq);
		v->base_set = true;
	}
}

uint16_t vu_vring_stop(struct vio_vu_engine *e, struct vio_vu_ering *v)
{
	v->started = false;
	v->kick_poll = false;
	vu_vring_set_kick(e, v, -1);
	if (v->pushed) {
		vu_vring_sync(e, v);
		vu_quiesce(e);
		save_base(e, v);
	}
	return v->base;
}

void vu_vring_unmap_all(struct vio_vu_engine *e)
{
	vu_quiesce(e);
	for (uint16_t q = 0; q < e->nq; q++) {
		struct vio_vu_ering *v = &e->rings[q];

		if (!v->pushed)
			continue;
		save_base(e, v);
		/* the ring pointers are about to dangle: drop them, set up again after the change
		 */
		vio_device_queue_reset(e->dev, q);
		v->pushed = false;
		v->dirty = true;
	}
}

void vu_dev_reset(struct vio_vu_engine *e)
{
	vu_quiesce(e);
	for (uint16_t q = 0; q < e->nq; q++) {
		struct vio_vu_ering *v = &e->rings[q];

		save_base(e, v);
		if (v->pushed) {
			v->pushed = false;
			v->dirty = true;
		}
	}
	vio_device_reset(e->dev);
}

void vu_vring_forget(struct vio_vu_engine *e, struct vio_vu_ering *v)
{
	v->started = false;
	v->enabled = false;
	v->kick_poll = false;
	vu_vring_set_kick(e, v, -1);
	v->num = 0;
	v->addr_set = false;
	v->desc_ua = v->avail_ua = v->used_ua = 0;
	v->base = 0;
	v->base_set = false;
	v->pushed = false;
	v->dirty = false;
	v->mem_warned = false;
}

void vu_vring_drop_all(struct vio_vu_engine *e)
{
	for (uint16_t q = 0; q < e->nq; q++) {
		struct vio_vu_ering *v = &e->rings[q];

		vu_vring_forget(e, v);
		vu_close(e, &v->call);
		vu_close(e, &v->err);
	}
}
