// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * One virtio-msg bus over a window: formatting and the handshake, the poller
 * that drains the device-to-driver FIFO, synchronous requests, and
 * enumeration. The FIFO code and the message layouts are vioport's own
 * (src/vmsg/shm.c, src/vmsg/msg.c).
 *
 * The device side is not trusted. Every message is read through the exact
 * size checks of the message decoders; a response is taken only when its
 * token is that of the one request in flight (answers with any other token,
 * late ones included, are counted and dropped); a response that carries that
 * token but another message ID, device number or kind, or that does not
 * decode, breaks the device it was for. A corrupt FIFO index, a device side
 * that stops or restarts, or one that stops answering breaks every device:
 * their I/O fails with errors instead of hanging.
 */
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>

#include "vioport/byteorder.h"
#include "vioport/compiler.h"
#include "vioport/errno.h"
#include "vmsg_priv.h"

/* The freestanding code returns the Linux error numbers: they pass through as they are. */
static_assert(VIO_ENOSPC == ENOSPC && VIO_EIO == EIO && VIO_EINVAL == EINVAL &&
	      VIO_EMSGSIZE == EMSGSIZE && VIO_EAGAIN == EAGAIN);

/* Messages the poller takes in one run before it lets the CPU go. */
#define POLL_BUDGET 64
/* How long bring-up waits for the device side before saying so (it keeps waiting). */
#define WAIT_NOTICE_MS 2000

/* --- sending ------------------------------------------------------------- */

static void mark_active(struct vmsg_bus *bus)
{
	atomic_set(&bus->activity, 1);
}

/* Queues one message without waiting: 0, -ENOSPC (FIFO full) or -EIO (bus stopped). */
int vmsg_send_async(struct vmsg_bus *bus, const void *msg, int len)
{
	unsigned long flags;
	int rc;

	if (len < 0)
		return len;
	spin_lock_irqsave(&bus->fifo_lock, flags);
	rc = vio_vmsg_shm_send(&bus->shm, msg, (u32) len);
	if (rc == 0)
		vio_vmsg_shm_ring(&bus->shm);
	spin_unlock_irqrestore(&bus->fifo_lock, flags);
	if (rc == 0)
		mark_active(bus);
	return rc;
}

/* A request header; vmsg_transact gives it its token. */
struct vio_vmsg_hdr vmsg_req_hdr(struct vmsg_bus *bus, bool busmsg, u16 dev_num, u8 id)
{
	struct vio_vmsg_hdr h = {
	    .type = busmsg ? VIO_VMSG_TYPE_BUS : 0,
	    .id = id,
	    .dev_num = dev_num,
	};

	return h;
}

/* --- breaking ------------------------------------------------------------ */

void vmsg_break(struct vmsg_vdev *vd, const char *why)
{
	if (!vd->broken)
		dev_err(vd->bus->dev,
			"device %u: %s: the device is broken until the bus restarts\n", vd->dev_num,
			why);
	vd->broken = true;
	if (vd->registered)
		virtio_break_device(&vd->vdev);
	/* Its requests in flight will never be answered: drain_work fails them. */
	schedule_work(&vd->bus->drain_work);
}

/* Completes the requests in flight of every broken device (vmsg_vdev_drain). */
static void drain_work(struct work_struct *w)
{
	struct vmsg_bus *bus = container_of(w, struct vmsg_bus, drain_work);
	unsigned int i;

	mutex_lock(&bus->devs_mutex);
	for (i = 0; i < bus->ndevs; i++)
		if (bus->devs[i]->broken)
			vmsg_vdev_drain(bus->devs[i]);
	mutex_unlock(&bus->devs_mutex);
}

/* The whole bus is unusable: break every device and fail the request in flight. */
static void bus_fail(struct vmsg_bus *bus, const char *why)
{
	unsigned long flags;
	unsigned int i;

	if (bus->failed)
		return;
	bus->failed = true;
	dev_err(bus->dev, "%s: every device on the window is broken\n", why);
	spin_lock_irqsave(&bus->cb_lock, flags);
	for (i = 0; i < bus->ndevs; i++)
		vmsg_break(bus->devs[i], "the bus failed");
	spin_unlock_irqrestore(&bus->cb_lock, flags);
	spin_lock_irqsave(&bus->pend_lock, flags);
	if (bus->pend.active) {
		bus->pend.active = false;
		bus->pend.status = -EIO;
		complete(&bus->done);
	}
	spin_unlock_irqrestore(&bus->pend_lock, flags);
	/* The bus work removes the devices, formats the window again and re-adds them. */
	if (vmsg_recover && !READ_ONCE(bus->stopping)) {
		WRITE_ONCE(bus->recover, true);
		schedule_work(&bus->work);
	}
}

/* --- synchronous requests ------------------------------------------------ */

/*
 * Sends the encoded request (len bytes, or the encoder's error), whose header
 * want describes, and waits for its response: 0 with the response in resp and
 * its header in *rh; -EPROTO (and vd broken) when the answer does not match;
 * -ETIMEDOUT (and vd broken) when none came; -EIO when the bus or device is
 * broken. Sleeps: process context only.
 */
int vmsg_transact(struct vmsg_bus *bus, struct vmsg_vdev *vd, u8 *req, int len,
		  const struct vio_vmsg_hdr *want, u8 *resp, struct vio_vmsg_hdr *rh)
{
	unsigned long deadline, flags;
	int rc;

	if (len < 0)
		return len;
	might_sleep();
	mutex_lock(&bus->req_mutex);
	if (bus->failed || (vd != NULL && vd->broken)) {
		rc = -EIO;
		goto out;
	}
	/* The token goes into the encoded header: it is the request's identity. */
	if (++bus->next_token == 0)
		bus->next_token = 1;
	vio_put_le16(req + 4, bus->next_token);

	spin_lock_irqsave(&bus->pend_lock, flags);
	bus->pend.want = *want;
	bus->pend.want.token = bus->next_token;
	bus->pend.active = true;
	bus->pend.status = -ETIMEDOUT;
	reinit_completion(&bus->done);
	spin_unlock_irqrestore(&bus->pend_lock, flags);

	deadline = jiffies + msecs_to_jiffies(vmsg_timeout_ms);
	for (;;) {
		rc = vmsg_send_async(bus, req, len);
		if (rc != -ENOSPC)
			break;
		if (time_after(jiffies, deadline))
			break;
		usleep_range(50, 200);
	}
	if (rc == 0) {
		long left = (long) deadline - (long) jiffies;

		wait_for_completion_timeout(&bus->done, left > 0 ? left : 1);
	}

	spin_lock_irqsave(&bus->pend_lock, flags);
	bus->pend.active = false; /* a late answer now has a token nobody waits for */
	if (rc == 0) {
		rc = bus->pend.status;
		if (rc == 0) {
			memcpy(resp, bus->pend.resp, bus->pend.len);
			if (vio_vmsg_hdr_decode(rh, resp, bus->pend.len, bus->shm.rx.max_msg) < 0)
				rc = -EPROTO;
		}
	} else if (rc == -ENOSPC) {
		rc = -ETIMEDOUT;
	} else {
		rc = -EIO;
	}
	spin_unlock_irqrestore(&bus->pend_lock, flags);

	if (rc == -ETIMEDOUT) {
		if (vd != NULL)
			vmsg_break(vd, "no answer to a request");
		else
			bus_fail(bus, "no answer to a bus request");
	} else if (rc == -EPROTO && vd != NULL) {
		vmsg_break(vd, "an answer that does not match its request");
	}
out:
	mutex_unlock(&bus->req_mutex);
	return rc;
}

/* --- the poller ---------------------------------------------------------- */

static struct vmsg_vdev *find_dev(struct vmsg_bus *bus, u16 dev_num)
{
	unsigned int i;

	for (i = 0; i < bus->ndevs; i++)
		if (bus->devs[i]->dev_num == dev_num)
			return bus->devs[i];
	return NULL;
}

static void drop(struct vmsg_bus *bus, const char *what)
{
	bus->dropped++;
	dev_warn_ratelimited(bus->dev, "dropped %s (%u dropped so far)\n", what, bus->dropped);
}

static void handle_response(struct vmsg_bus *bus, const struct vio_vmsg_hdr *h, const u8 *msg)
{
	struct vmsg_pending *p = &bus->pend;
	unsigned long flags;
	bool taken = false;

	spin_lock_irqsave(&bus->pend_lock, flags);
	if (p->active && h->token == p->want.token) {
		if (h->id == p->want.id && h->dev_num == p->want.dev_num &&
		    (h->type & VIO_VMSG_TYPE_BUS) == (p->want.type & VIO_VMSG_TYPE_BUS)) {
			memcpy(p->resp, msg, h->size);
			p->len = h->size;
			p->status = 0;
		} else {
			p->status = -EPROTO;
		}
		p->active = false;
		complete(&bus->done);
		taken = true;
	}
	spin_unlock_irqrestore(&bus->pend_lock, flags);
	if (!taken)
		drop(bus, "an answer with a token no request in flight has");
}

/*
 * EVENT_DEVICE, from the poller: recorded for the bus work, which removes and
 * adds devices (in process context). A removal cancels an addition not yet
 * made; an addition after a removal makes a new device.
 */
static void device_event(struct vmsg_bus *bus, const struct vio_vmsg_event_device *ev)
{
	unsigned long flags;

	dev_info(bus->dev, "device %u %s by the device side\n", ev->dev_num,
		 ev->state == VIO_VMSG_DEVICE_ADDED ? "added" : "removed");
	spin_lock_irqsave(&bus->ev_lock, flags);
	if (ev->state == VIO_VMSG_DEVICE_ADDED) {
		__set_bit(ev->dev_num, bus->ev_add);
	} else {
		__set_bit(ev->dev_num, bus->ev_remove);
		__clear_bit(ev->dev_num, bus->ev_add);
	}
	spin_unlock_irqrestore(&bus->ev_lock, flags);
	schedule_work(&bus->work);
}

static void handle_message(struct vmsg_bus *bus, const u8 *msg, u32 len)
{
	struct vio_vmsg_hdr h;
	struct vmsg_vdev *vd;
	unsigned long flags;

	if (vio_vmsg_hdr_decode(&h, msg, len, bus->shm.rx.max_msg) < 0) {
		drop(bus, "a message with a bad size");
		return;
	}
	if (h.type & VIO_VMSG_TYPE_RESPONSE) {
		handle_response(bus, &h, msg);
		return;
	}
	if (h.type & VIO_VMSG_TYPE_BUS) {
		struct vio_vmsg_event_device ev;

		if (h.id != VIO_VMSG_BUS_EVENT_DEVICE ||
		    vio_vmsg_decode_event_device(&h, msg, &ev) < 0)
			drop(bus, "an unknown bus message");
		else if (ev.dev_num >= VMSG_DEV_NUMS ||
			 (ev.state != VIO_VMSG_DEVICE_ADDED && ev.state != VIO_VMSG_DEVICE_REMOVED))
			drop(bus, "an EVENT_DEVICE for a device number or state out of range");
		else
			device_event(bus, &ev);
		return;
	}
	spin_lock_irqsave(&bus->cb_lock, flags);
	vd = find_dev(bus, h.dev_num);
	if (vd != NULL)
		vmsg_vdev_event(vd, &h, msg);
	spin_unlock_irqrestore(&bus->cb_lock, flags);
	if (vd == NULL)
		drop(bus, "an event for a device that is not registered");
}

/* Takes every waiting message (up to a budget); true if there was any. */
static bool poll_fifo(struct vmsg_bus *bus)
{
	u8 msg[VIO_VMSG_MAX_SIZE];
	unsigned long flags;
	bool any = false;
	unsigned int i;

	for (i = 0; i < POLL_BUDGET; i++) {
		int n;

		spin_lock_irqsave(&bus->fifo_lock, flags);
		n = vio_vmsg_shm_recv(&bus->shm, msg, sizeof(msg));
		spin_unlock_irqrestore(&bus->fifo_lock, flags);
		if (n == 0)
			break;
		any = true;
		if (n < 0) {
			if (vio_vmsg_shm_stopped(&bus->shm)) {
				bus_fail(bus, "a FIFO index out of range");
				break;
			}
			drop(bus, "a message with a size out of range");
			continue;
		}
		handle_message(bus, msg, (u32) n);
	}
	return any;
}

static void check_peer(struct vmsg_bus *bus)
{
	unsigned long flags;
	bool restarted, stopped;

	if (bus->failed)
		return;
	/* Under the FIFO lock: a new format resets what was seen of the peer. */
	spin_lock_irqsave(&bus->fifo_lock, flags);
	restarted = vio_vmsg_shm_peer_restarted(&bus->shm);
	stopped = vio_vmsg_shm_peer_state(&bus->shm) == VIO_VMSG_SHM_STATE_STOPPED;
	spin_unlock_irqrestore(&bus->fifo_lock, flags);
	if (restarted)
		bus_fail(bus, "the device side restarted");
	else if (stopped)
		bus_fail(bus, "the device side stopped (it saw a corrupt window)");
}

/*
 * A device side that died without a word (killed) leaves its state READY and
 * its generation as they were: it is noticed when it stops taking messages.
 * Messages waiting in the driver-to-device FIFO whose tail has not moved for
 * timeout_ms fail the bus.
 */
static void check_consumer(struct vmsg_bus *bus)
{
	unsigned long flags;
	u32 head, tail;

	if (bus->failed)
		return;
	spin_lock_irqsave(&bus->fifo_lock, flags);
	head = bus->shm.tx.pos;
	tail =
	    vio_le32(VIO_LOAD_ACQUIRE32((const u32 *) (bus->shm.tx.base + VIO_VMSG_SHM_FIFO_TAIL)));
	spin_unlock_irqrestore(&bus->fifo_lock, flags);
	if (tail == head) {
		bus->stall_since = 0;
		return;
	}
	if (bus->stall_since == 0 || tail != bus->stall_tail) {
		bus->stall_tail = tail;
		bus->stall_since = jiffies | 1; /* 0 means "not waiting" */
		return;
	}
	if (time_after(jiffies, bus->stall_since + msecs_to_jiffies(vmsg_timeout_ms))) {
		bus->stall_since = 0;
		bus_fail(bus, "the device side stopped taking messages");
	}
}

static enum hrtimer_restart poll_timer(struct hrtimer *t)
{
	struct vmsg_bus *bus = container_of(t, struct vmsg_bus, timer);
	u64 min_ns = (u64) vmsg_poll_min_us * NSEC_PER_USEC;
	u64 max_ns = (u64) vmsg_poll_max_us * NSEC_PER_USEC;
	unsigned long flags;
	unsigned int i;
	bool busy;

	busy = poll_fifo(bus);
	spin_lock_irqsave(&bus->cb_lock, flags);
	for (i = 0; i < bus->ndevs; i++)
		vmsg_vdev_flush_kicks(bus->devs[i]);
	spin_unlock_irqrestore(&bus->cb_lock, flags);
	check_peer(bus);
	check_consumer(bus);

	/* Fast after activity; the interval doubles while idle, up to the maximum. */
	if (atomic_xchg(&bus->activity, 0) || busy || READ_ONCE(bus->pend.active))
		bus->interval_ns = min_ns;
	else
		bus->interval_ns = min(bus->interval_ns * 2, max_ns);
	if (bus->interval_ns < min_ns)
		bus->interval_ns = min_ns;
	hrtimer_forward_now(t, ns_to_ktime(bus->interval_ns));
	return HRTIMER_RESTART;
}

/*
 * The device side's doorbell (an interrupt): runs the poller now. Any context;
 * the poller's own restart and this one may race, hrtimer keeps one of them.
 */
void vmsg_bus_kick(struct vmsg_bus *bus)
{
	atomic_inc(&bus->irqs);
	mark_active(bus);
	if (READ_ONCE(bus->timer_on))
		hrtimer_start(&bus->timer, 0, HRTIMER_MODE_REL);
}

/* --- bring-up ------------------------------------------------------------ */

/* Bus GET_DEVICES, page by page: sets bit n of map for each device n below nbits. */
static int get_devices(struct vmsg_bus *bus, unsigned long *map, unsigned int nbits)
{
	u32 fit = (bus->shm.rx.max_msg - VIO_VMSG_SIZE_GET_DEVICES(0)) * 8u;
	u16 offset = 0;
	unsigned int page;

	for (page = 0; page < 64; page++) {
		struct vio_vmsg_hdr h = vmsg_req_hdr(bus, true, 0, VIO_VMSG_BUS_GET_DEVICES), rh;
		struct vio_vmsg_devices req = {.offset = offset, .count = (u16) fit}, r;
		u8 out[VIO_VMSG_MAX_SIZE], in[VIO_VMSG_MAX_SIZE];
		u32 i;
		int rc;

		rc = vmsg_transact(bus, NULL, out,
				   vio_vmsg_encode_devices_req(out, bus->shm.tx.max_msg, &h, &req),
				   &h, in, &rh);
		if (rc < 0)
			return rc;
		if (vio_vmsg_decode_devices(&rh, in, &r) < 0 || r.offset != offset || r.count > fit)
			return -EPROTO;
		for (i = 0; i < r.count; i++) {
			u32 n = (u32) offset + i;

			if (((r.bitmap[i / 8u] >> (i % 8u)) & 1u) && n < nbits)
				__set_bit(n, map);
		}
		if (r.next_offset == 0)
			return 0;
		if (r.next_offset <= offset)
			return -EPROTO; /* a page that does not move on would loop for ever */
		offset = r.next_offset;
	}
	return -EPROTO;
}

/*
 * Creates and registers the virtio device for device n: 0, -ENOSPC when the
 * bus has no room for more, or another error (logged; the device is left out).
 */
static int add_device(struct vmsg_bus *bus, unsigned int n)
{
	struct vmsg_vdev *vd;
	unsigned long flags;
	int rc;

	if (bus->ndevs == VMSG_MAX_DEVS) {
		dev_warn(bus->dev, "more than %d devices: device %u and later ignored\n",
			 VMSG_MAX_DEVS, n);
		return -ENOSPC;
	}
	vd = vmsg_vdev_create(bus, (u16) n);
	if (IS_ERR(vd)) {
		dev_err(bus->dev, "device %u: not added (%ld)\n", n, PTR_ERR(vd));
		return PTR_ERR(vd);
	}
	mutex_lock(&bus->devs_mutex);
	spin_lock_irqsave(&bus->cb_lock, flags);
	bus->devs[bus->ndevs++] = vd;
	spin_unlock_irqrestore(&bus->cb_lock, flags);
	mutex_unlock(&bus->devs_mutex);
	rc = register_virtio_device(&vd->vdev);
	if (rc < 0) {
		dev_err(bus->dev, "device %u: register_virtio_device failed (%d)\n", n, rc);
		mutex_lock(&bus->devs_mutex);
		spin_lock_irqsave(&bus->cb_lock, flags);
		bus->ndevs--;
		spin_unlock_irqrestore(&bus->cb_lock, flags);
		mutex_unlock(&bus->devs_mutex);
		vmsg_vdev_put(vd);
		return rc;
	}
	vd->registered = true;
	return 0;
}

/* Waits for the device side, enumerates and registers a virtio device for each device. */
static void bring_up(struct vmsg_bus *bus)
{
	DECLARE_BITMAP(map, VMSG_DEV_NUMS);
	unsigned long waited = 0;
	unsigned int n;
	int rc;

	/* The device side attaches when it sees the format: wait as long as it takes. */
	while (vio_vmsg_shm_peer_state(&bus->shm) != VIO_VMSG_SHM_STATE_READY) {
		if (READ_ONCE(bus->stopping) || READ_ONCE(bus->recover))
			return;
		if (waited == WAIT_NOTICE_MS)
			dev_info(bus->dev, "waiting for the device side to attach to the window\n");
		msleep(20);
		waited += 20;
	}
	dev_info(bus->dev, "the device side attached\n");

	bitmap_zero(map, VMSG_DEV_NUMS);
	rc = get_devices(bus, map, VMSG_DEV_NUMS);
	if (rc < 0) {
		dev_err(bus->dev, "GET_DEVICES failed (%d)\n", rc);
		return;
	}
	for_each_set_bit(n, map, VMSG_DEV_NUMS)
	{
		if (READ_ONCE(bus->stopping) || bus->failed)
			return;
		if (add_device(bus, n) == -ENOSPC)
			break;
	}
	bus->up = true;
	dev_info(bus->dev, "%u device%s on the window\n", bus->ndevs, bus->ndevs == 1 ? "" : "s");
}

/* Removes, then adds, the devices EVENT_DEVICE named since the last run. */
static void apply_events(struct vmsg_bus *bus)
{
	DECLARE_BITMAP(rm, VMSG_DEV_NUMS);
	DECLARE_BITMAP(add, VMSG_DEV_NUMS);
	unsigned long flags;
	unsigned int n, i;
	bool any;

	spin_lock_irqsave(&bus->ev_lock, flags);
	bitmap_copy(rm, bus->ev_remove, VMSG_DEV_NUMS);
	bitmap_copy(add, bus->ev_add, VMSG_DEV_NUMS);
	bitmap_zero(bus->ev_remove, VMSG_DEV_NUMS);
	bitmap_zero(bus->ev_add, VMSG_DEV_NUMS);
	spin_unlock_irqrestore(&bus->ev_lock, flags);
	any = !bitmap_empty(rm, VMSG_DEV_NUMS) || !bitmap_empty(add, VMSG_DEV_NUMS);
	for_each_set_bit(n, rm, VMSG_DEV_NUMS)
	{
		struct vmsg_vdev *vd = NULL;

		for (i = 0; i < bus->ndevs; i++)
			if (bus->devs[i]->dev_num == n)
				vd = bus->devs[i];
		if (vd == NULL)
			continue;
		/* Broken first: its requests in flight fail, and nothing new is sent. */
		dev_info(bus->dev, "device %u: removing it\n", n);
		vd->broken = true;
		virtio_break_device(&vd->vdev);
		schedule_work(&bus->drain_work);
		vmsg_vdev_destroy(vd);
	}
	for_each_set_bit(n, add, VMSG_DEV_NUMS)
	{
		bool present = false;

		if (READ_ONCE(bus->stopping) || bus->failed)
			return;
		for (i = 0; i < bus->ndevs; i++)
			present |= bus->devs[i]->dev_num == n;
		if (!present && add_device(bus, n) == -ENOSPC)
			break;
	}
	if (any)
		dev_info(bus->dev, "%u device%s on the window\n", bus->ndevs,
			 bus->ndevs == 1 ? "" : "s");
}

/*
 * Removes every device (their drivers see I/O errors: the devices are
 * broken), then formats the window with a new generation, so that the device
 * side resets its devices and attaches again. False when mappings are still
 * in the area (the window is then left as it is, broken).
 */
static bool reformat(struct vmsg_bus *bus)
{
	unsigned int stale;
	unsigned long flags;
	u32 gen;
	int rc;

	dev_info(bus->dev, "removing the devices and formatting the window again\n");
	while (bus->ndevs > 0)
		vmsg_vdev_destroy(bus->devs[bus->ndevs - 1]);
	stale = vmsg_pool_release_bounces(bus);
	if (stale > 0)
		dev_info(bus->dev, "%u buffer%s the drivers left in their queues released\n", stale,
			 stale == 1 ? "" : "s");
	if (gen_pool_avail(bus->pool) != gen_pool_size(bus->pool)) {
		dev_err(bus->dev, "%zu bytes of the area still mapped: the window stays broken\n",
			gen_pool_size(bus->pool) - gen_pool_avail(bus->pool));
		return false;
	}
	do {
		gen = get_random_u32();
	} while (gen == 0);
	spin_lock_irqsave(&bus->fifo_lock, flags);
	rc = vio_vmsg_shm_format(&bus->shm, bus->win, bus->win_size, vmsg_fifo_size, gen);
	if (rc == 0) {
		bus->failed = false;
		bus->stall_since = 0;
	}
	spin_unlock_irqrestore(&bus->fifo_lock, flags);
	if (rc < 0)
		return false;
	dev_info(bus->dev, "window formatted again (generation %#x)\n", gen);
	return true;
}

/*
 * The bus's one work item, so that bring-up and recovery never run at once:
 * bring-up after probe; after a failure, removal, a new format and bring-up
 * again.
 */
static void bus_work(struct work_struct *w)
{
	struct vmsg_bus *bus = container_of(w, struct vmsg_bus, work);

	if (READ_ONCE(bus->stopping))
		return;
	if (READ_ONCE(bus->recover)) {
		WRITE_ONCE(bus->recover, false);
		bus->up = false;
		if (!reformat(bus))
			return;
	}
	if (!bus->up) {
		/* A new enumeration sees what events said: they are spent. */
		spin_lock_irq(&bus->ev_lock);
		bitmap_zero(bus->ev_remove, VMSG_DEV_NUMS);
		bitmap_zero(bus->ev_add, VMSG_DEV_NUMS);
		spin_unlock_irq(&bus->ev_lock);
		bring_up(bus);
		return;
	}
	if (!bus->failed)
		apply_events(bus);
}

int vmsg_bus_init(struct vmsg_bus *bus, struct device *dev, u8 *win, u32 size)
{
	u32 gen;
	int rc;

	bus->dev = dev;
	bus->win = win;
	bus->win_size = size;
	spin_lock_init(&bus->fifo_lock);
	spin_lock_init(&bus->pend_lock);
	spin_lock_init(&bus->cb_lock);
	spin_lock_init(&bus->ev_lock);
	mutex_init(&bus->req_mutex);
	mutex_init(&bus->devs_mutex);
	init_completion(&bus->done);
	INIT_WORK(&bus->work, bus_work);
	INIT_WORK(&bus->drain_work, drain_work);
	hrtimer_init(&bus->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	bus->timer.function = poll_timer;

	memset(&bus->shm, 0, sizeof(bus->shm));
	do {
		gen = get_random_u32();
	} while (gen == 0);
	rc = vio_vmsg_shm_format(&bus->shm, win, size, vmsg_fifo_size, gen);
	if (rc < 0) {
		dev_err(dev, "cannot format a window of %u bytes with FIFOs of %u bytes\n", size,
			vmsg_fifo_size);
		return -EINVAL;
	}
	rc = vmsg_pool_init(bus);
	if (rc < 0) {
		vio_vmsg_shm_detach(&bus->shm);
		return rc;
	}
	dev_info(dev, "window of %u bytes formatted (generation %#x), area %u bytes at %#x\n", size,
		 gen, bus->shm.area_size, bus->shm.area_off);
	return 0;
}

void vmsg_bus_start(struct vmsg_bus *bus)
{
	bus->interval_ns = (u64) vmsg_poll_min_us * NSEC_PER_USEC;
	WRITE_ONCE(bus->timer_on, true);
	hrtimer_start(&bus->timer, ns_to_ktime(bus->interval_ns), HRTIMER_MODE_REL);
	schedule_work(&bus->work);
}

void vmsg_bus_fini(struct vmsg_bus *bus)
{
	WRITE_ONCE(bus->stopping, true);
	cancel_work_sync(&bus->work);
	/*
	 * Each device stays in the event table while its driver goes away (its
	 * last I/O completes through events), and leaves it before it is freed.
	 */
	while (bus->ndevs > 0)
		vmsg_vdev_destroy(bus->devs[bus->ndevs - 1]);
	cancel_work_sync(&bus->drain_work);
	WRITE_ONCE(bus->timer_on, false);
	hrtimer_cancel(&bus->timer);
	vio_vmsg_shm_detach(&bus->shm);
	vmsg_pool_fini(bus);
}
