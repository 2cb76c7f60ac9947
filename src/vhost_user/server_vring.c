/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user backend: rings. What the frontend set up for each queue is kept
 * here and pushed into the device model when the ring may run (started,
 * enabled, features negotiated); kick descriptors are watched on the queue's
 * loop; the device's notifications become eventfd writes and backend messages.
 *
 * Kick descriptor ownership: kick_fd is what the server wants watched and is
 * closed by whoever replaces it unless it is being watched; kick_watched is
 * the descriptor in the queue loop's epoll set and only that loop's thread
 * removes and closes it. So a descriptor is never closed while a loop still
 * watches it, and its number cannot be reused under the loop's feet.
 */
#include "server_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "vioport/errno.h"

static struct vio_vu_server *srv_of(struct vio_device *dev)
{
	return dev->transport;
}

void vu_signal_fd(int fd)
{
	uint64_t one = 1;

	/* eventfd (or pipe) set non-blocking: a full counter means a signal is pending anyway */
	if (fd >= 0)
		while (write(fd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
}

static void vu_notify_used(struct vio_device *dev, uint16_t q)
{
	struct vio_vu_server *s = srv_of(dev);

	if (q < s->nq)
		vu_signal_fd(s->vrings[q].call_fd);
}

/* Asks the frontend to read the config again (CONFIG_CHANGE_MSG), without waiting for it. */
static void send_config_change(struct vio_vu_server *s)
{
	struct vio_vu_hdr hdr = {VIO_VU_BACKEND_CONFIG_CHANGE_MSG, VIO_VU_VERSION, 0};
	int rc;

	if (s->backend_fd < 0 || !vu_has_pf(s, VIO_VU_PF_CONFIG) ||
	    !vu_has_pf(s, VIO_VU_PF_BACKEND_REQ))
		return;
	/*
	 * No need_reply: the frontend may be blocked waiting for our answer on
	 * the main channel, and waiting for its answer here would deadlock.
	 */
	rc = vu_send_on(s->backend_fd, &hdr, NULL, -1, 0);
	if (rc < 0) {
		vu_log(s, VIO_VU_LOG_WARN, "backend channel: config change not sent: %s",
		       strerror(-rc));
		if (rc != -EAGAIN)
			vu_close_fd(&s->backend_fd);
	}
}

static void vu_notify_config(struct vio_device *dev)
{
	struct vio_vu_server *s = srv_of(dev);

	if (dev->status & VIO_STATUS_NEEDS_RESET)
		for (uint16_t q = 0; q < s->nq; q++)
			vu_signal_fd(s->vrings[q].err_fd);
	send_config_change(s);
}

static void vu_dev_log(struct vio_device *dev, const char *msg, int err)
{
	struct vio_vu_server *s = srv_of(dev);

	if (err != 0)
		vu_log(s, VIO_VU_LOG_WARN, "device: %s: %s", msg, strerror(err < 0 ? -err : err));
	else
		vu_log(s, VIO_VU_LOG_WARN, "device: %s", msg);
}

const struct vio_transport_ops vu_transport_ops = {
    .notify_used = vu_notify_used,
    .notify_config = vu_notify_config,
    .log = vu_dev_log,
};

static void kick_cb(struct vio_loop_watch *w, uint32_t revents)
{
	struct vio_vu_vring *v = w->ctx;
	struct vio_vu_server *s = v->s;
	uint64_t count;
	ssize_t n = read(w->fd, &count, sizeof(count));
	bool dead = n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) ||
		    (n < 0 && (revents & (VIO_LOOP_ERR | VIO_LOOP_HUP)));

	pthread_mutex_lock(&s->lock);
	if (dead) {
		/* a hung-up pipe would fire forever: stop watching, keep the descriptor */
		vu_log(s, VIO_VU_LOG_WARN, "queue %u: kick descriptor failed; no longer watched",
		       v->index);
		vio_loop_remove(w);
	} else if (v->kick_watched == w->fd) {
		vio_device_kick(s->dev, v->index);
	}
	pthread_mutex_unlock(&s->lock);
}

static void poll_cb(struct vio_loop_timer *t)
{
	struct vio_vu_vring *v = t->ctx;
	struct vio_vu_server *s = v->s;

	pthread_mutex_lock(&s->lock);
	vio_device_kick(s->dev, v->index);
	pthread_mutex_unlock(&s->lock);
}

/* Brings the queue loop's watch and poll timer in line with kick_fd; on that loop's thread. */
static void kick_sync_locked(struct vio_vu_server *s, struct vio_vu_vring *v)
{
	bool poll = v->kick_poll && v->started;

	if (v->kick_watched != v->kick_fd) {
		if (v->kick_watched >= 0) {
			vio_loop_remove(&v->kick_w);
			close(v->kick_watched);
			v->kick_watched = -1;
		}
		if (v->kick_fd >= 0) {
			int rc =
			    vio_loop_add(v->loop, &v->kick_w, v->kick_fd, VIO_LOOP_IN, kick_cb, v);

			if (rc == 0) {
				v->kick_watched = v->kick_fd;
			} else {
				vu_log(s, VIO_VU_LOG_WARN, "queue %u: cannot watch kick fd: %s",
				       v->index, strerror(-rc));
				vu_close_fd(&v->kick_fd);
			}
		}
	}
	if (poll && !vio_loop_timer_running(&v->poll_t)) {
		if (vio_loop_timer_start(v->loop, &v->poll_t, VIO_VU_POLL_NS, VIO_VU_POLL_NS,
					 poll_cb, v) < 0)
			vu_log(s, VIO_VU_LOG_WARN, "queue %u: cannot start polling", v->index);
	} else if (!poll && vio_loop_timer_running(&v->poll_t)) {
		vio_loop_timer_stop(&v->poll_t);
	}
}

static void kick_sync_work(void *arg)
{
	struct vio_vu_vring *v = arg;

	pthread_mutex_lock(&v->s->lock);
	kick_sync_locked(v->s, v);
	pthread_mutex_unlock(&v->s->lock);
}

/* Applies kick_fd / kick_poll on the queue's loop: at once, or posted to its thread. */
static void kick_sync(struct vio_vu_server *s, struct vio_vu_vring *v)
{
	if (s->workers != NULL)
		vio_loop_post(v->loop, &v->sync_work, kick_sync_work, v);
	else
		kick_sync_locked(s, v);
}

void vu_vring_init(struct vio_vu_server *s, uint16_t q, struct vio_loop *loop)
{
	struct vio_vu_vring *v = &s->vrings[q];

	memset(v, 0, sizeof(*v));
	v->s = s;
	v->index = q;
	v->loop = loop;
	v->kick_fd = -1;
	v->kick_watched = -1;
	v->call_fd = -1;
	v->err_fd = -1;
	v->kick_w.fd = -1;
	vio_loop_timer_init(&v->poll_t);
}

void vu_vring_set_kick(struct vio_vu_server *s, struct vio_vu_vring *v, int fd)
{
	int old = v->kick_fd;

	v->kick_fd = fd;
	if (old >= 0 && old != v->kick_watched && old != fd)
		close(old);
	kick_sync(s, v);
}

/*
 * Sets queue q up in the device model from what the frontend gave. The ring
 * addresses are the frontend's virtual addresses: they become guest-physical
 * here, and the device model then checks the whole of each ring against the
 * windows. A ring in no region waits for a memory table that holds it.
 */
static int vring_push(struct vio_vu_server *s, struct vio_vu_vring *v)
{
	struct vio_device *dev = s->dev;
	struct vio_queue *dq = &dev->queues[v->index];
	uint64_t desc, avail, used;
	int rc;

	if (!v->addr_set)
		return -EINVAL;
	if (vu_ua_to_gpa(s, v->desc_ua, &desc) < 0 || vu_ua_to_gpa(s, v->avail_ua, &avail) < 0 ||
	    vu_ua_to_gpa(s, v->used_ua, &used) < 0) {
		if (!v->mem_warned)
			vu_log(s, VIO_VU_LOG_WARN,
			       "queue %u: ring is in no memory region; waiting for one", v->index);
		v->mem_warned = true;
		return -EFAULT;
	}
	v->mem_warned = false;
	if (dq->enabled)
		vio_device_queue_enable(dev, v->index, false);
	rc = vio_device_queue_set(dev, v->index, v->num ? v->num : dq->max_size, desc, avail, used);
	if (rc == 0 && v->base_set)
		rc = vio_device_queue_set_base(dev, v->index, v->base);
	if (rc < 0) {
		vu_log(s, VIO_VU_LOG_WARN, "queue %u: cannot set up: %s", v->index, strerror(-rc));
		return rc;
	}
	v->pushed = true;
	v->dirty = false;
	/* a ring outside the windows breaks the device here (NEEDS_RESET, err fd, config msg) */
	return vio_device_queue_enable(dev, v->index, true);
}

void vu_vring_sync(struct vio_vu_server *s, struct vio_vu_vring *v)
{
	struct vio_device *dev = s->dev;
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
	} else if (vring_push(s, v) < 0) {
		return;
	}
	/* kicks that came while the ring could not run were dropped: look once now */
	vio_device_kick(dev, v->index);
}

bool vu_any_ring_live(const struct vio_vu_server *s)
{
	for (uint16_t q = 0; q < s->nq; q++)
		if (s->dev->queues[q].enabled)
			return true;
	return false;
}

void vu_vring_sync_all(struct vio_vu_server *s)
{
	struct vio_device *dev = s->dev;
	uint8_t st;

	for (uint16_t q = 0; q < s->nq; q++)
		vu_vring_sync(s, &s->vrings[q]);
	/*
	 * The first running ring means DRIVER_OK. Without the STATUS protocol
	 * feature nothing else would say it; with it, QEMU 7.2 sends DRIVER_OK
	 * only for devices that set up a "last queue pair" (blk does, rng does
	 * not), and a frontend enables rings only once the driver is ready.
	 */
	st = dev->status;
	if ((st & VIO_STATUS_FEATURES_OK) &&
	    !(st & (VIO_STATUS_DRIVER_OK | VIO_STATUS_NEEDS_RESET | VIO_STATUS_FAILED)) &&
	    vu_any_ring_live(s))
		vio_device_set_status(dev, st | VIO_STATUS_DRIVER_OK);
}

void vu_quiesce(struct vio_vu_server *s)
{
	if (s->cfg.quiesce == NULL)
		return;
	/* nothing new may start while the device drains; vu_vring_sync_all resumes */
	for (uint16_t q = 0; q < s->nq; q++)
		if (s->dev->queues[q].enabled)
			vio_device_queue_enable(s->dev, q, false);
	pthread_mutex_unlock(&s->lock);
	s->cfg.quiesce(s->cfg.ctx, s->dev);
	pthread_mutex_lock(&s->lock);
}

/* Remembers where the device model's ring stands, in vio_vq_set_base encoding. */
static void save_base(struct vio_vu_server *s, struct vio_vu_vring *v)
{
	struct vio_queue *dq = &s->dev->queues[v->index];

	if (v->pushed && dq->vq.ready) {
		v->base = vio_vq_get_base(&dq->vq);
		v->base_set = true;
	}
}

uint16_t vu_vring_stop(struct vio_vu_server *s, struct vio_vu_vring *v)
{
	v->started = false;
	v->kick_poll = false;
	vu_vring_set_kick(s, v, -1);
	if (v->pushed) {
		vu_vring_sync(s, v);
		vu_quiesce(s);
		save_base(s, v);
	}
	return v->base;
}

void vu_vring_unmap_all(struct vio_vu_server *s)
{
	vu_quiesce(s);
	for (uint16_t q = 0; q < s->nq; q++) {
		struct vio_vu_vring *v = &s->vrings[q];

		if (!v->pushed)
			continue;
		save_base(s, v);
		/* the ring pointers are about to dangle: drop them, set up again after the change
		 */
		vio_device_queue_reset(s->dev, q);
		v->pushed = false;
		v->dirty = true;
	}
}

void vu_dev_reset(struct vio_vu_server *s)
{
	vu_quiesce(s);
	for (uint16_t q = 0; q < s->nq; q++) {
		struct vio_vu_vring *v = &s->vrings[q];

		save_base(s, v);
		if (v->pushed) {
			v->pushed = false;
			v->dirty = true;
		}
	}
	vio_device_reset(s->dev);
}

void vu_vring_forget(struct vio_vu_server *s, struct vio_vu_vring *v)
{
	v->started = false;
	v->enabled = false;
	v->kick_poll = false;
	vu_vring_set_kick(s, v, -1);
	v->num = 0;
	v->addr_set = false;
	v->desc_ua = v->avail_ua = v->used_ua = 0;
	v->base = 0;
	v->base_set = false;
	v->pushed = false;
	v->dirty = false;
	v->mem_warned = false;
}

void vu_vring_drop_all(struct vio_vu_server *s)
{
	for (uint16_t q = 0; q < s->nq; q++) {
		struct vio_vu_vring *v = &s->vrings[q];

		vu_vring_forget(s, v);
		vu_close_fd(&v->call_fd);
		vu_close_fd(&v->err_fd);
	}
}

void vu_vring_release(struct vio_vu_server *s, struct vio_vu_vring *v)
{
	(void) s;
	vio_loop_remove(&v->kick_w);
	if (v->kick_watched >= 0 && v->kick_watched != v->kick_fd)
		close(v->kick_watched);
	v->kick_watched = -1;
	vu_close_fd(&v->kick_fd);
	vio_loop_timer_stop(&v->poll_t);
	vu_close_fd(&v->call_fd);
	vu_close_fd(&v->err_fd);
}
