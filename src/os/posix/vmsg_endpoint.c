/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-msg on POSIX: the device endpoint's thread. The state machine is the
 * freestanding one (src/vmsg/endpoint.c); this file opens the window and the
 * doorbell, runs it from a thread under the endpoint lock, waits on the
 * doorbell between steps and words its events as log lines.
 */
#include "vioport/internal/errmsg.h"
#include "vioport/vmsg_posix.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vioport/errno.h"
#include "vioport/log.h"
#include "vmsg_posix_internal.h"

/* Longest single wait of the serving thread, so it notices a re-format without a ring. */
#define SERVE_WAIT_US 20000
/* Waiting for room in a full tx FIFO: tries and the pause between them. */
#define FULL_TRIES    2000
#define FULL_PAUSE_US 50

static void ep_log(struct vio_vmsg_endpoint *ep, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void ep_log(struct vio_vmsg_endpoint *ep, int level, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (ep->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ep->log(ep->log_ctx, level, line);
}

static void bus_log_cb(void *ctx, const char *msg, int err)
{
	struct vio_vmsg_endpoint *ep = ctx;

	if (err != 0)
		ep_log(ep, VIO_LOG_WARN, "%s: %s: %s", ep->win.path, msg,
		       strerror(err < 0 ? -err : err));
	else
		ep_log(ep, VIO_LOG_WARN, "%s: %s", ep->win.path, msg);
}

static void event_cb(void *ctx, int ev, int32_t arg)
{
	struct vio_vmsg_endpoint *ep = ctx;
	const char *path = ep->win.path;

	switch (ev) {
	case VIO_VMSG_EP_ATTACHED:
		ep_log(ep, VIO_LOG_INFO, "%s: attached (driver generation %u, area %u bytes at %u)",
		       path, (unsigned) arg, ep->ep.shm.area_size, ep->ep.shm.area_off);
		break;
	case VIO_VMSG_EP_REFUSED:
		ep_log(ep, VIO_LOG_ERR,
		       "%s: the driver's window header is invalid (driver generation %u): waiting "
		       "for a re-format",
		       path, (unsigned) arg);
		break;
	case VIO_VMSG_EP_RESTARTED:
		ep_log(ep, VIO_LOG_INFO, "%s: the driver restarted: devices reset", path);
		break;
	case VIO_VMSG_EP_LEFT:
		ep_log(ep, VIO_LOG_INFO, "%s: the driver left the window: devices reset", path);
		break;
	case VIO_VMSG_EP_CORRUPT:
		ep_log(ep, VIO_LOG_ERR,
		       "%s: corrupt FIFO index in the window: stopped, devices reset; waiting for "
		       "the driver to re-format",
		       path);
		break;
	case VIO_VMSG_EP_LOST:
		if (arg == -VIO_ENOSPC)
			ep_log(ep, VIO_LOG_ERR,
			       "%s: device-to-driver FIFO full for %d ms: message lost (the driver "
			       "does not drain it)",
			       path, FULL_TRIES * FULL_PAUSE_US / 1000);
		else
			ep_log(ep, VIO_LOG_ERR, "%s: a message to the driver was lost: %s", path,
			       strerror(-arg));
		break;
	}
}

static void delay_cb(void *ctx, uint32_t us)
{
	(void) ctx;
	vmsg_sleep_us(us);
}

static void quiesce_cb(void *ctx)
{
	struct vio_vmsg_endpoint *ep = ctx;

	if (ep->quiesce != NULL)
		ep->quiesce(ep->quiesce_ctx);
}

static const struct vio_vmsg_ep_ops ep_ops = {
    .delay_us = delay_cb,
    .event = event_cb,
    .log = bus_log_cb,
    .quiesce = quiesce_cb,
};

int vio_vmsg_endpoint_init(struct vio_vmsg_endpoint *ep, const struct vio_vmsg_endpoint_config *c,
			   char *err, size_t errlen)
{
	struct vio_vmsg_ep_config ec = {
	    .ops = &ep_ops, .ctx = ep, .full_tries = FULL_TRIES, .full_pause_us = FULL_PAUSE_US};
	int r;

	memset(ep, 0, sizeof(*ep));
	ep->win.fd = -1;
	ep->log = c->log;
	ep->log_ctx = c->log_ctx;
	ep->quiesce = c->quiesce;
	ep->quiesce_ctx = c->quiesce_ctx;
	r = vio_vmsg_bell_parse(&ep->bell, c->doorbell, err, errlen);
	if (r < 0)
		return r;
	r = vio_vmsg_window_open(&ep->win, c->path, c->size, err, errlen);
	if (r < 0)
		return r;
	if (ep->win.size <= VIO_VMSG_SHM_HDR_SIZE + 2u * 256u) {
		vio_errmsg(err, errlen, "%s: %u bytes is too small for a window", c->path,
			   ep->win.size);
		vio_vmsg_window_close(&ep->win);
		return -EINVAL;
	}
	/* Not serving yet: a driver waiting for an earlier device of this window goes on. */
	ec.base = ep->win.base;
	ec.size = ep->win.size;
	ec.bell = vio_vmsg_bell_doorbell(&ep->bell);
	r = vio_vmsg_ep_init(&ep->ep, &ec);
	if (r == 0) {
		ep->bell.shm_fd = ep->win.fd; /* ivshmem: the client maps the window file */
		r = vio_vmsg_bell_listen(&ep->bell, err, errlen);
		if (r < 0) {
			vio_vmsg_window_close(&ep->win);
			return r;
		}
		r = -pthread_mutex_init(&ep->lock, NULL);
	}
	if (r < 0) {
		vio_errmsg(err, errlen, "cannot prepare the bus: %s", strerror(-r));
		vio_vmsg_bell_close(&ep->bell);
		vio_vmsg_window_close(&ep->win);
		return r;
	}
	return 0;
}

int vio_vmsg_endpoint_add(struct vio_vmsg_endpoint *ep, struct vio_device *dev)
{
	int r;

	if (ep->started)
		return -EBUSY;
	r = vio_vmsg_ep_add(&ep->ep, dev);
	return r < 0 ? -ENOSPC : r;
}

void vio_vmsg_endpoint_lock(struct vio_vmsg_endpoint *ep)
{
	pthread_mutex_lock(&ep->lock);
}

void vio_vmsg_endpoint_unlock(struct vio_vmsg_endpoint *ep)
{
	vio_vmsg_ep_flush(&ep->ep);
	pthread_mutex_unlock(&ep->lock);
}

static bool stopping(struct vio_vmsg_endpoint *ep)
{
	return __atomic_load_n(&ep->stop, __ATOMIC_ACQUIRE) != 0;
}

static void *serve(void *arg)
{
	struct vio_vmsg_endpoint *ep = arg;
	bool was_connected = vio_vmsg_bell_connected(&ep->bell);

	while (!stopping(ep)) {
		bool connected;
		int work;

		/* A batch per lock hold, so other threads get the lock in between. */
		vio_vmsg_endpoint_lock(ep);
		work = vio_vmsg_ep_poll(&ep->ep);
		vio_vmsg_endpoint_unlock(ep);
		if (work > 0) {
			vio_vmsg_bell_activity(&ep->bell);
			continue;
		}
		vio_vmsg_bell_wait(&ep->bell, SERVE_WAIT_US);
		connected = vio_vmsg_bell_connected(&ep->bell);
		if (connected != was_connected)
			ep_log(ep, VIO_LOG_INFO, "%s: driver %s (rings: %llu sent, %llu received)",
			       ep->bell.sock, connected ? "connected" : "disconnected",
			       (unsigned long long) ep->bell.rings,
			       (unsigned long long) ep->bell.wakeups);
		was_connected = connected;
	}
	return NULL;
}

int vio_vmsg_endpoint_start(struct vio_vmsg_endpoint *ep)
{
	int r;

	if (ep->started)
		return -EBUSY;
	r = pthread_create(&ep->thread, NULL, serve, ep);
	if (r != 0)
		return -r;
	ep->started = true;
	return 0;
}

bool vio_vmsg_endpoint_attached(struct vio_vmsg_endpoint *ep)
{
	bool a;

	pthread_mutex_lock(&ep->lock);
	a = vio_vmsg_ep_attached(&ep->ep);
	pthread_mutex_unlock(&ep->lock);
	return a;
}

struct vio_vmsg_endpoint_stats vio_vmsg_endpoint_stats(struct vio_vmsg_endpoint *ep)
{
	struct vio_vmsg_endpoint_stats s;

	pthread_mutex_lock(&ep->lock);
	s = ep->ep.stats;
	pthread_mutex_unlock(&ep->lock);
	return s;
}

void vio_vmsg_endpoint_fini(struct vio_vmsg_endpoint *ep)
{
	if (ep->started) {
		uint64_t one = 1;

		__atomic_store_n(&ep->stop, 1, __ATOMIC_RELEASE);
		/* Wakes a thread blocked on its own eventfd; a polling one sees the flag. */
		if (ep->bell.own_efd >= 0 && write(ep->bell.own_efd, &one, sizeof(one)) < 0) {
			/* Saturated counter: it is awake already. */
		}
		pthread_join(ep->thread, NULL);
		ep->started = false;
	}
	pthread_mutex_lock(&ep->lock);
	vio_vmsg_ep_leave(&ep->ep);
	pthread_mutex_unlock(&ep->lock);
	pthread_mutex_destroy(&ep->lock);
	vio_vmsg_bell_close(&ep->bell);
	vio_vmsg_window_close(&ep->win);
}
