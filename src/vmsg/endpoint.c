/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device endpoint of a virtio-msg window: attach, serve, follow the
 * driver's sessions (vmsg_endpoint.h). The daemon's endpoint thread
 * (src/os/posix/vmsg_endpoint.c) and the amp firmware's polling loop both run
 * this one copy.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vioport/byteorder.h"
#include "vioport/compiler.h"
#include "vioport/errno.h"
#include "vioport/vmsg_endpoint.h"

enum { EP_DETACHED, EP_ATTACHED, EP_STOPPED };

static void event(struct vio_vmsg_ep *ep, int ev, int32_t arg)
{
	ep->c.ops->event(ep->c.ctx, ev, arg);
}

uint32_t vio_vmsg_ep_window_word(const struct vio_vmsg_ep *ep, uint32_t off)
{
	uint32_t *p = (uint32_t *) (void *) ((uint8_t *) ep->c.base + off);

	if (ep->c.cache != NULL && ep->c.cache->invalidate != NULL)
		ep->c.cache->invalidate(ep->c.cache->ctx, p, 4);
	return vio_le32(VIO_LOAD_ACQUIRE32(p));
}

static void bus_log(void *ctx, const char *msg, int err)
{
	struct vio_vmsg_ep *ep = ctx;

	if (ep->c.ops->log != NULL)
		ep->c.ops->log(ep->c.ctx, msg, err);
}

/*
 * The bus answers through here. A full FIFO is waited out (the driver is rung
 * first, so it drains) for a bounded time; a message that still does not fit
 * is lost and reported. Each try looks for a driver reset or re-format too
 * (vio_vmsg_shm_send fails with -VIO_ECONNRESET then): the message belongs to
 * a session that is over and is dropped at once, as is every later one until
 * the next attach.
 */
static int bus_send(void *ctx, const void *msg, uint32_t len)
{
	struct vio_vmsg_ep *ep = ctx;
	int r;

	if (ep->state != EP_ATTACHED) {
		/* A late answer (an asynchronous completion) of a session that ended. */
		ep->stats.dropped_old++;
		return -VIO_EIO;
	}
	/*
	 * Once a message was lost, the driver evidently does not drain: later ones
	 * get one try each until a send gets through again, so a driver that hangs
	 * or died with the FIFO full costs the wait once, not per message.
	 */
	for (uint32_t tries = 0;; tries++) {
		r = vio_vmsg_shm_send(&ep->shm, msg, len);
		if (r != -VIO_ENOSPC || tries >= ep->c.full_tries || ep->full)
			break;
		if (tries == 0)
			vio_vmsg_shm_ring(&ep->shm);
		ep->c.ops->delay_us(ep->c.ctx, ep->c.full_pause_us);
	}
	if (r == 0) {
		ep->stats.sent++;
		ep->pending_ring = true;
		ep->full = false;
		return 0;
	}
	if (r == -VIO_ECONNRESET) {
		ep->stats.dropped_old++;
		return r;
	}
	ep->stats.lost++;
	/* A broken FIFO (-VIO_EIO) is reported as the corrupt window it is, by the caller. */
	if (r != -VIO_EIO && !(r == -VIO_ENOSPC && ep->full))
		event(ep, VIO_VMSG_EP_LOST, r);
	ep->full = r == -VIO_ENOSPC;
	return r;
}

static const struct vio_vmsg_dev_bus_ops bus_ops = {.send = bus_send, .log = bus_log};

int vio_vmsg_ep_init(struct vio_vmsg_ep *ep, const struct vio_vmsg_ep_config *c)
{
	int r;

	__builtin_memset(ep, 0, sizeof(*ep));
	ep->c = *c;
	ep->state = EP_DETACHED;
	/* Set once: the attaches leave them alone. */
	ep->shm.bell = c->bell;
	ep->shm.cache = c->cache;
	r = vio_vmsg_shm_device_init(&ep->shm, c->base, c->size);
	if (r < 0)
		return r;
	vio_winmap_init(&ep->map, ep->map_win, 1);
	return vio_vmsg_dev_bus_init(&ep->bus, &bus_ops, ep, &ep->map, VIO_VMSG_SHM_MAX_MSG);
}

int vio_vmsg_ep_add(struct vio_vmsg_ep *ep, struct vio_device *dev)
{
	return vio_vmsg_dev_bus_add(&ep->bus, dev);
}

/* Tries to attach; moves to ATTACHED, or to STOPPED for a refused header. */
static void try_attach(struct vio_vmsg_ep *ep)
{
	uint32_t gen = vio_vmsg_ep_window_word(ep, VIO_VMSG_SHM_OFF_DRV_GEN);
	int r;

	r = vio_vmsg_shm_attach(&ep->shm, ep->c.base, ep->c.size);
	if (r == -VIO_EAGAIN)
		return;
	if (r == 0) {
		vio_winmap_clear(&ep->map);
		/* The attach checks rule a failure out; stay safe if they change. */
		if (vio_winmap_add(&ep->map, ep->shm.area_off, ep->shm.area_size,
				   (uint8_t *) ep->c.base + ep->shm.area_off, VIO_ACCESS_RW) < 0)
			r = -VIO_EINVAL;
	}
	if (r < 0) {
		/* STOPPED in the window tells the driver its header was refused. */
		ep->stats.refused++;
		if (gen != ep->refused_gen)
			event(ep, VIO_VMSG_EP_REFUSED, (int32_t) gen);
		ep->refused_gen = gen;
		vio_vmsg_shm_stop(&ep->shm);
		ep->stopped_gen = gen;
		ep->state = EP_STOPPED;
		return;
	}
	ep->stats.attaches++;
	ep->state = EP_ATTACHED;
	ep->full = false;
	event(ep, VIO_VMSG_EP_ATTACHED, (int32_t) ep->shm.peer_generation);
}

/*
 * Leaves the window: devices reset; this side's state STOPPED when it saw a
 * corrupt window, RESET otherwise.
 */
static void leave(struct vio_vmsg_ep *ep, int next, bool corrupt)
{
	if (ep->c.ops->quiesce != NULL)
		ep->c.ops->quiesce(ep->c.ctx);
	vio_vmsg_dev_bus_reset(&ep->bus);
	vio_winmap_clear(&ep->map);
	if (corrupt)
		vio_vmsg_shm_stop(&ep->shm);
	else
		vio_vmsg_shm_detach(&ep->shm);
	ep->stopped_gen = ep->shm.peer_generation;
	ep->pending_ring = false;
	ep->state = next;
}

/*
 * When the driver ended the session (its state left READY, or a new
 * generation): devices reset, this side's state RESET, which is what a
 * re-formatting driver waits for; then attaches to the new generation, or
 * waits for one. Whether it happened.
 */
static bool driver_gone(struct vio_vmsg_ep *ep)
{
	if (!vio_vmsg_shm_session_over(&ep->shm))
		return false;
	ep->stats.driver_restarts++;
	if (vio_vmsg_shm_peer_restarted(&ep->shm)) {
		event(ep, VIO_VMSG_EP_RESTARTED, 0);
		leave(ep, EP_DETACHED, false);
		try_attach(ep);
		return true;
	}
	/* Re-formatting (RESET first), gone or stopped: off the FIFOs until a new generation. */
	event(ep, VIO_VMSG_EP_LEFT, 0);
	leave(ep, EP_STOPPED, false);
	return true;
}

/* Handles up to a batch of messages; how much work there was. */
static int serve_batch(struct vio_vmsg_ep *ep)
{
	uint8_t msg[VIO_VMSG_SHM_SLOT_SIZE];
	int n = 0, r;

	if (driver_gone(ep))
		return 1;
	while (n < VIO_VMSG_EP_BATCH && ep->state == EP_ATTACHED) {
		r = vio_vmsg_shm_recv(&ep->shm, msg, sizeof(msg));
		if (r == 0 || r == -VIO_ECONNRESET)
			break;
		n++;
		if (r > 0) {
			ep->stats.received++;
			vio_vmsg_dev_bus_handle(&ep->bus, msg, (uint32_t) r);
			/* A message whose answer found the session over ends the batch. */
			if (vio_vmsg_shm_session_over(&ep->shm))
				break;
		} else if (!vio_vmsg_shm_stopped(&ep->shm)) {
			ep->stats.bad_messages++;
		}
		/* The receive, or a send of the answer, found a FIFO index out of range. */
		if (vio_vmsg_shm_stopped(&ep->shm)) {
			ep->stats.stops++;
			event(ep, VIO_VMSG_EP_CORRUPT, 0);
			leave(ep, EP_STOPPED, true);
		}
	}
	/* Leaves at once, so a driver waiting to re-format is not kept waiting. */
	if (ep->state == EP_ATTACHED && driver_gone(ep))
		n++;
	return n;
}

int vio_vmsg_ep_poll(struct vio_vmsg_ep *ep)
{
	int work = 0;

	if (ep->state == EP_STOPPED &&
	    vio_vmsg_ep_window_word(ep, VIO_VMSG_SHM_OFF_DRV_GEN) != ep->stopped_gen)
		ep->state = EP_DETACHED;
	if (ep->state == EP_DETACHED) {
		try_attach(ep);
		work = ep->state == EP_ATTACHED;
	}
	if (ep->state == EP_ATTACHED)
		work += serve_batch(ep);
	return work;
}

void vio_vmsg_ep_flush(struct vio_vmsg_ep *ep)
{
	if (!ep->pending_ring)
		return;
	/* One ring for every answer queued since the last flush (a leave clears it). */
	ep->pending_ring = false;
	vio_vmsg_shm_ring(&ep->shm);
}

void vio_vmsg_ep_leave(struct vio_vmsg_ep *ep)
{
	/* RESET whatever the state was: this side no longer serves the window. */
	leave(ep, EP_DETACHED, false);
}

bool vio_vmsg_ep_attached(const struct vio_vmsg_ep *ep)
{
	return ep->state == EP_ATTACHED;
}
