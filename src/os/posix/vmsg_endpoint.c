/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-msg on POSIX: the device endpoint, a thread serving one window. */
#include "vioport/errmsg.h"
#include "vioport/vmsg_posix.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vioport/errno.h"
#include "vioport/vhost_user.h"
#include "vmsg_posix_internal.h"

/* Longest single wait of the serving thread, so it notices a re-format without a ring. */
#define SERVE_WAIT_US 20000
/* Messages handled per lock hold, so other threads get the lock between batches. */
#define SERVE_BATCH 32
/* Waiting for room in a full tx FIFO: tries and the pause between them. */
#define FULL_TRIES    2000
#define FULL_PAUSE_US 50

enum { EP_DETACHED, EP_ATTACHED, EP_STOPPED };

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
		ep_log(ep, VIO_VU_LOG_WARN, "%s: %s: %s", ep->win.path, msg,
		       strerror(err < 0 ? -err : err));
	else
		ep_log(ep, VIO_VU_LOG_WARN, "%s: %s", ep->win.path, msg);
}

/*
 * The bus answers through here, always with the lock held. A full FIFO is
 * waited out (the driver is ringed first, so it drains) for a bounded time; a
 * message that still does not fit is lost and said so (once per episode: the
 * loop below explains why the next ones are not waited for). Each try looks for a
 * driver reset or re-format too (vio_vmsg_shm_send fails with -VIO_ECONNRESET
 * then): the message belongs to a session that is over and is dropped at once,
 * as is every later one until the next attach.
 */
static int bus_send_cb(void *ctx, const void *msg, uint32_t len)
{
	struct vio_vmsg_endpoint *ep = ctx;
	int r;

	if (ep->state != EP_ATTACHED) {
		ep->stats.lost++;
		return -VIO_EIO;
	}
	/*
	 * Once a message was lost, the driver evidently does not drain: later ones
	 * get one try each until a send gets through again, so a driver that hangs
	 * or died with the FIFO full costs 100 ms once, not per message.
	 */
	for (int tries = 0;; tries++) {
		r = vio_vmsg_shm_send(&ep->shm, msg, len);
		if (r != -VIO_ENOSPC || tries >= FULL_TRIES || ep->logged_full)
			break;
		if (tries == 0)
			vio_vmsg_shm_ring(&ep->shm);
		vmsg_sleep_us(FULL_PAUSE_US);
	}
	if (r == 0) {
		ep->stats.sent++;
		ep->pending_ring = true;
		ep->logged_full = false;
		return 0;
	}
	ep->stats.lost++;
	if (r == -VIO_ENOSPC) {
		if (!ep->logged_full)
			ep_log(ep, VIO_VU_LOG_ERR,
			       "%s: device-to-driver FIFO full for %d ms: message lost (the driver "
			       "does not drain it)",
			       ep->win.path, FULL_TRIES * FULL_PAUSE_US / 1000);
		ep->logged_full = true;
	}
	return r;
}

int vio_vmsg_endpoint_init(struct vio_vmsg_endpoint *ep, const struct vio_vmsg_endpoint_config *c,
			   char *err, size_t errlen)
{
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
	vio_vmsg_shm_device_init(&ep->shm, ep->win.base, ep->win.size);
	ep->bell.shm_fd = ep->win.fd; /* ivshmem: the client maps the window file */
	r = vio_vmsg_bell_listen(&ep->bell, err, errlen);
	if (r < 0) {
		vio_vmsg_window_close(&ep->win);
		return r;
	}
	vio_winmap_init(&ep->map, ep->map_win, 1);
	ep->bus_ops.send = bus_send_cb;
	ep->bus_ops.log = bus_log_cb;
	r = vio_vmsg_dev_bus_init(&ep->bus, &ep->bus_ops, ep, &ep->map, VIO_VMSG_SHM_MAX_MSG);
	if (r == 0)
		r = -pthread_mutex_init(&ep->lock, NULL);
	if (r < 0) {
		vio_errmsg(err, errlen, "cannot prepare the bus: %s", strerror(-r));
		vio_vmsg_bell_close(&ep->bell);
		vio_vmsg_window_close(&ep->win);
		return r;
	}
	ep->state = EP_DETACHED;
	return 0;
}

int vio_vmsg_endpoint_add(struct vio_vmsg_endpoint *ep, struct vio_device *dev)
{
	int r;

	if (ep->started)
		return -EBUSY;
	r = vio_vmsg_dev_bus_add(&ep->bus, dev);
	return r < 0 ? -ENOSPC : r;
}

void vio_vmsg_endpoint_lock(struct vio_vmsg_endpoint *ep)
{
	pthread_mutex_lock(&ep->lock);
}

void vio_vmsg_endpoint_unlock(struct vio_vmsg_endpoint *ep)
{
	if (ep->pending_ring) {
		ep->pending_ring = false;
		vio_vmsg_shm_ring(&ep->shm);
	}
	pthread_mutex_unlock(&ep->lock);
}

static bool stopping(struct vio_vmsg_endpoint *ep)
{
	return __atomic_load_n(&ep->stop, __ATOMIC_ACQUIRE) != 0;
}

/* Tries to attach to the window; moves to ATTACHED, or STOPPED for a refused header. */
static void try_attach(struct vio_vmsg_endpoint *ep)
{
	uint32_t gen = vmsg_window_word(ep->win.base, VIO_VMSG_SHM_OFF_DRV_GEN);
	int r;

	ep->shm.bell = vio_vmsg_bell_doorbell(&ep->bell);
	ep->shm.cache = NULL;
	r = vio_vmsg_shm_attach(&ep->shm, ep->win.base, ep->win.size);
	if (r == -VIO_EAGAIN)
		return;
	if (r < 0) {
		if (gen != ep->refused_gen)
			ep_log(ep, VIO_VU_LOG_ERR,
			       "%s: the driver's window header is invalid (driver generation "
			       "%u): waiting for a re-format",
			       ep->win.path, gen);
		ep->refused_gen = gen;
		ep->stopped_gen = gen;
		ep->state = EP_STOPPED;
		return;
	}
	vio_winmap_clear(&ep->map);
	if (vio_winmap_add(&ep->map, ep->shm.area_off, ep->shm.area_size,
			   ep->win.base + ep->shm.area_off, VIO_ACCESS_RW) < 0) {
		/* The attach checks make this unreachable; stay safe if they change. */
		vio_vmsg_shm_stop(&ep->shm);
		ep->stopped_gen = ep->shm.peer_generation;
		ep->state = EP_STOPPED;
		return;
	}
	ep->stats.attaches++;
	ep->state = EP_ATTACHED;
	ep->logged_full = false;
	ep_log(ep, VIO_VU_LOG_INFO, "%s: attached (driver generation %u, area %u bytes at %u)",
	       ep->win.path, ep->shm.peer_generation, ep->shm.area_size, ep->shm.area_off);
}

/*
 * Leaves the window: devices reset; this side's state STOPPED when it saw a
 * corrupt window, RESET otherwise.
 */
static void leave(struct vio_vmsg_endpoint *ep, int next, bool corrupt)
{
	if (ep->quiesce != NULL)
		ep->quiesce(ep->quiesce_ctx);
	vio_vmsg_dev_bus_reset(&ep->bus);
	vio_winmap_clear(&ep->map);
	if (corrupt)
		vio_vmsg_shm_stop(&ep->shm);
	else
		vio_vmsg_shm_detach(&ep->shm);
	ep->pending_ring = false;
	ep->state = next;
}

/*
 * When the driver ended the session (its state left READY, or a new
 * generation): devices reset, this side's state RESET, which is what a
 * re-formatting driver waits for; then attaches to the new generation, or
 * waits for one. Whether it happened.
 */
static bool driver_gone(struct vio_vmsg_endpoint *ep)
{
	if (!vio_vmsg_shm_session_over(&ep->shm))
		return false;
	ep->stats.driver_restarts++;
	if (vio_vmsg_shm_peer_restarted(&ep->shm)) {
		ep_log(ep, VIO_VU_LOG_INFO, "%s: the driver restarted: devices reset",
		       ep->win.path);
		leave(ep, EP_DETACHED, false);
		try_attach(ep);
		return true;
	}
	/* Re-formatting (RESET first), gone or stopped: off the FIFOs until a new generation. */
	ep_log(ep, VIO_VU_LOG_INFO, "%s: the driver left the window: devices reset", ep->win.path);
	ep->stopped_gen = ep->shm.peer_generation;
	leave(ep, EP_STOPPED, false);
	return true;
}

/* Handles up to a batch of messages under the lock; how many there were. */
static int serve_batch(struct vio_vmsg_endpoint *ep)
{
	uint8_t msg[VIO_VMSG_SHM_SLOT_SIZE];
	int n = 0, r;

	vio_vmsg_endpoint_lock(ep);
	if (driver_gone(ep))
		goto out;
	while (n < SERVE_BATCH) {
		r = vio_vmsg_shm_recv(&ep->shm, msg, sizeof(msg));
		if (r == 0 || r == -VIO_ECONNRESET)
			break;
		n++;
		if (r > 0) {
			ep->stats.received++;
			vio_vmsg_dev_bus_handle(&ep->bus, msg, (uint32_t) r);
			/* A message whose answer found the session over ends the batch. */
			if (ep->state != EP_ATTACHED || vio_vmsg_shm_session_over(&ep->shm))
				break;
			continue;
		}
		if (!vio_vmsg_shm_stopped(&ep->shm)) {
			ep->stats.bad_messages++;
			continue;
		}
		ep->stats.stops++;
		ep_log(ep, VIO_VU_LOG_ERR,
		       "%s: corrupt FIFO index in the window: stopped, devices reset; waiting for "
		       "the driver to re-format",
		       ep->win.path);
		ep->stopped_gen = ep->shm.peer_generation;
		leave(ep, EP_STOPPED, true);
		break;
	}
	if (ep->state == EP_ATTACHED && vio_vmsg_shm_stopped(&ep->shm)) {
		/* A send found the FIFO corrupt. */
		ep->stats.stops++;
		ep_log(ep, VIO_VU_LOG_ERR, "%s: corrupt FIFO index in the window: stopped",
		       ep->win.path);
		ep->stopped_gen = ep->shm.peer_generation;
		leave(ep, EP_STOPPED, true);
	}
	/* Leaves at once, so a driver waiting to re-format is not kept waiting. */
	if (ep->state == EP_ATTACHED && driver_gone(ep))
		n++;
out:
	vio_vmsg_endpoint_unlock(ep);
	return n;
}

static void *serve(void *arg)
{
	struct vio_vmsg_endpoint *ep = arg;
	bool was_connected = vio_vmsg_bell_connected(&ep->bell);

	while (!stopping(ep)) {
		bool connected;

		if (ep->state != EP_ATTACHED) {
			vio_vmsg_endpoint_lock(ep);
			if (ep->state == EP_STOPPED &&
			    vmsg_window_word(ep->win.base, VIO_VMSG_SHM_OFF_DRV_GEN) !=
				ep->stopped_gen)
				ep->state = EP_DETACHED;
			if (ep->state == EP_DETACHED)
				try_attach(ep);
			vio_vmsg_endpoint_unlock(ep);
		}
		if (ep->state == EP_ATTACHED && serve_batch(ep) > 0) {
			vio_vmsg_bell_activity(&ep->bell);
			continue;
		}
		vio_vmsg_bell_wait(&ep->bell, SERVE_WAIT_US);
		connected = vio_vmsg_bell_connected(&ep->bell);
		if (connected != was_connected)
			ep_log(ep, VIO_VU_LOG_INFO,
			       "%s: driver %s (rings: %llu sent, %llu received)", ep->bell.sock,
			       connected ? "connected" : "disconnected",
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
	a = ep->state == EP_ATTACHED;
	pthread_mutex_unlock(&ep->lock);
	return a;
}

struct vio_vmsg_endpoint_stats vio_vmsg_endpoint_stats(struct vio_vmsg_endpoint *ep)
{
	struct vio_vmsg_endpoint_stats s;

	pthread_mutex_lock(&ep->lock);
	s = ep->stats;
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
	if (ep->quiesce != NULL)
		ep->quiesce(ep->quiesce_ctx);
	vio_vmsg_dev_bus_reset(&ep->bus);
	if (ep->state == EP_ATTACHED)
		vio_vmsg_shm_detach(&ep->shm);
	ep->state = EP_DETACHED;
	pthread_mutex_unlock(&ep->lock);
	pthread_mutex_destroy(&ep->lock);
	vio_vmsg_bell_close(&ep->bell);
	vio_vmsg_window_close(&ep->win);
}
