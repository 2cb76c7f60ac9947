// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * One virtio_device per device on the bus: the virtio_config_ops that turn
 * Linux's configuration calls into virtio-msg requests, the virtqueues'
 * notifications (EVENT_AVAIL), and the device's events (EVENT_USED calls
 * vring_interrupt, EVENT_CONFIG virtio_config_changed).
 *
 * Linux is told the device has VIRTIO_F_ACCESS_PLATFORM, so that virtio_ring
 * goes through the DMA API and so through the window (vmsg_dma.c); the bit is
 * taken out again before SET_DRIVER_FEATURES unless the device offered it.
 * Every answer is checked for its exact size and for echoing what was asked;
 * one that does not breaks the device (vmsg_break) with a log line.
 */
#include <linux/delay.h>
#include <linux/slab.h>
#include <linux/version.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "vioport/errno.h"
#include "vmsg_priv.h"

#define to_vd(v) container_of((v), struct vmsg_vdev, vdev)

/* Config space larger than this is not believed. */
#define CONFIG_SIZE_MAX 4096u
/* Times a config read restarts because the generation moved under it. */
#define CONFIG_RETRIES 8

static u32 max_msg(const struct vmsg_vdev *vd)
{
	return vd->bus->shm.tx.max_msg;
}

/* Sends a request for this device whose encoder produced len bytes; see vmsg_transact. */
static int dev_request(struct vmsg_vdev *vd, const struct vio_vmsg_hdr *h, u8 *out, int len, u8 *in,
		       struct vio_vmsg_hdr *rh)
{
	return vmsg_transact(vd->bus, vd, out, len, h, in, rh);
}

static int device_info(struct vmsg_vdev *vd)
{
	struct vio_vmsg_hdr h = vmsg_req_hdr(vd->bus, false, vd->dev_num, VIO_VMSG_GET_DEVICE_INFO),
			    rh;
	u8 out[VIO_VMSG_MAX_SIZE], in[VIO_VMSG_MAX_SIZE];
	int rc;

	rc = dev_request(vd, &h, out, vio_vmsg_encode_empty(out, max_msg(vd), &h), in, &rh);
	if (rc < 0)
		return rc;
	if (vio_vmsg_decode_device_info(&rh, in, &vd->info) < 0) {
		vmsg_break(vd, "GET_DEVICE_INFO answer of the wrong size");
		return -EPROTO;
	}
	return 0;
}

/* The GET_CONFIG round trip of vio_vmsg_config_read (src/vmsg/cfg.c), for one device. */
struct cfg_get {
	struct vmsg_vdev *vd;
	u8 in[VIO_VMSG_MAX_SIZE];
};

static int cfg_get(void *ctx, const struct vio_vmsg_config *c, struct vio_vmsg_config *r)
{
	struct cfg_get *g = ctx;
	struct vmsg_vdev *vd = g->vd;
	struct vio_vmsg_hdr h = vmsg_req_hdr(vd->bus, false, vd->dev_num, VIO_VMSG_GET_CONFIG), rh;
	u8 out[VIO_VMSG_MAX_SIZE];
	int rc;

	rc = dev_request(vd, &h, out, vio_vmsg_encode_config_req(out, max_msg(vd), &h, c), g->in,
			 &rh);
	if (rc < 0)
		return rc;
	if (vio_vmsg_decode_config(&rh, g->in, r) < 0)
		return -EPROTO;
	return 0;
}

static void vmsg_get(struct virtio_device *vdev, unsigned int offset, void *buf, unsigned int len)
{
	struct vmsg_vdev *vd = to_vd(vdev);
	struct cfg_get g = {.vd = vd};
	struct vio_vmsg_config_rt rt = {.get = cfg_get, .ctx = &g};
	int rc;

	memset(buf, 0, len);
	if ((u64) offset + len > vd->info.config_size) {
		dev_warn_ratelimited(&vdev->dev,
				     "config read of %u bytes at %u past its %u bytes\n", len,
				     offset, vd->info.config_size);
		return;
	}
	rc = vio_vmsg_config_read(&rt, max_msg(vd) - VIO_VMSG_SIZE_CONFIG(0), offset, buf, len,
				  CONFIG_RETRIES, &vd->generation, NULL);
	/* vmsg_transact broke the device already if it failed; an answer for another range did not.
	 */
	if (rc == -VIO_EPROTO)
		vmsg_break(vd, "GET_CONFIG answer for another range or of the wrong size");
	else if (rc == -VIO_EAGAIN)
		dev_warn_ratelimited(&vdev->dev, "config kept changing while it was read\n");
}

static void vmsg_set(struct virtio_device *vdev, unsigned int offset, const void *buf,
		     unsigned int len)
{
	struct vmsg_vdev *vd = to_vd(vdev);
	u32 chunk_max = max_msg(vd) - VIO_VMSG_SIZE_CONFIG(0);
	const u8 *src = buf;
	u32 done = 0;

	if ((u64) offset + len > vd->info.config_size) {
		dev_warn_ratelimited(&vdev->dev,
				     "config write of %u bytes at %u past its %u bytes\n", len,
				     offset, vd->info.config_size);
		return;
	}
	while (done < len) {
		struct vio_vmsg_hdr h = vmsg_req_hdr(vd->bus, false, vd->dev_num,
						     VIO_VMSG_SET_CONFIG),
				    rh;
		u32 n = min(len - done, chunk_max);
		struct vio_vmsg_config c = {.generation = vd->generation,
					    .offset = offset + done,
					    .length = n,
					    .data = src + done},
				       r;
		u8 out[VIO_VMSG_MAX_SIZE], in[VIO_VMSG_MAX_SIZE];

		if (dev_request(vd, &h, out, vio_vmsg_encode_config(out, max_msg(vd), &h, &c), in,
				&rh) < 0)
			return;
		if (vio_vmsg_decode_config(&rh, in, &r) < 0 || r.offset != c.offset ||
		    (r.length != 0 && r.length != n)) {
			vmsg_break(vd, "SET_CONFIG answer for another range or of the wrong size");
			return;
		}
		vd->generation = r.generation;
		if (r.length == 0) {
			dev_warn_ratelimited(&vdev->dev,
					     "the device refused a config write at %u\n", c.offset);
			return;
		}
		done += n;
	}
}

/* SET_DEVICE_STATUS; the device's resulting status is kept. */
static int set_status(struct vmsg_vdev *vd, u8 status)
{
	struct vio_vmsg_hdr h = vmsg_req_hdr(vd->bus, false, vd->dev_num,
					     VIO_VMSG_SET_DEVICE_STATUS),
			    rh;
	u8 out[VIO_VMSG_MAX_SIZE], in[VIO_VMSG_MAX_SIZE];
	u32 st;
	int rc;

	rc = dev_request(vd, &h, out, vio_vmsg_encode_u32(out, max_msg(vd), &h, status), in, &rh);
	if (rc < 0)
		return rc;
	if (vio_vmsg_decode_u32(&rh, in, &st) < 0 || st > U8_MAX) {
		vmsg_break(vd, "SET_DEVICE_STATUS answer out of range");
		return -EPROTO;
	}
	vd->status = (u8) st;
	return 0;
}

static u8 vmsg_get_status(struct virtio_device *vdev)
{
	struct vmsg_vdev *vd = to_vd(vdev);
	struct vio_vmsg_hdr h = vmsg_req_hdr(vd->bus, false, vd->dev_num,
					     VIO_VMSG_GET_DEVICE_STATUS),
			    rh;
	u8 out[VIO_VMSG_MAX_SIZE], in[VIO_VMSG_MAX_SIZE];
	u32 st;

	if (dev_request(vd, &h, out, vio_vmsg_encode_empty(out, max_msg(vd), &h), in, &rh) < 0)
		return vd->status;
	if (vio_vmsg_decode_u32(&rh, in, &st) < 0 || st > U8_MAX) {
		vmsg_break(vd, "GET_DEVICE_STATUS answer out of range");
		return vd->status;
	}
	vd->status = (u8) st;
	return vd->status;
}

static void vmsg_set_status(struct virtio_device *vdev, u8 status)
{
	/* virtio_add_status and the core's probe steps: never 0 (that is reset). */
	WARN_ON(status == 0);
	set_status(to_vd(vdev), status);
}

static void vmsg_reset(struct virtio_device *vdev)
{
	struct vmsg_vdev *vd = to_vd(vdev);

	/* The device answers a reset with the resulting status; 0 once it is done. */
	if (set_status(vd, 0) == 0 && vd->status != 0) {
		unsigned int i;

		for (i = 0; i < 100 && vmsg_get_status(vdev) != 0 && !vd->broken; i++)
			usleep_range(1000, 2000);
		if (vd->status != 0)
			vmsg_break(vd, "the device did not finish its reset");
	}
	/*
	 * A broken device is never reached again: for Linux it is reset now
	 * (virtio_dev_remove checks that the status reads 0 after the driver's
	 * remove).
	 */
	if (vd->broken)
		vd->status = 0;
	bitmap_zero(vd->kick_pending, VMSG_MAX_VQS);
}

static u64 vmsg_get_features(struct virtio_device *vdev)
{
	struct vmsg_vdev *vd = to_vd(vdev);
	struct vio_vmsg_hdr h = vmsg_req_hdr(vd->bus, false, vd->dev_num,
					     VIO_VMSG_GET_DEVICE_FEATURES),
			    rh;
	struct vio_vmsg_features f = {.index = 0, .count = 2}, r;
	u8 out[VIO_VMSG_MAX_SIZE], in[VIO_VMSG_MAX_SIZE];

	if (dev_request(vd, &h, out, vio_vmsg_encode_features_req(out, max_msg(vd), &h, &f), in,
			&rh) < 0)
		return 0;
	if (vio_vmsg_decode_features(&rh, in, &r) < 0 || r.index != 0 || r.count != 2) {
		vmsg_break(vd, "GET_DEVICE_FEATURES answer for other blocks");
		return 0;
	}
	vd->offered = (u64) r.blocks[0] | ((u64) r.blocks[1] << 32);
	/*
	 * Split rings only; no per-queue reset (the config ops for it are not
	 * provided). ACCESS_PLATFORM makes virtio_ring map through the window.
	 */
	return (vd->offered & ~(BIT_ULL(VIRTIO_F_RING_PACKED) | BIT_ULL(VIRTIO_F_RING_RESET))) |
	       BIT_ULL(VIRTIO_F_ACCESS_PLATFORM);
}

static int vmsg_finalize_features(struct virtio_device *vdev)
{
	struct vmsg_vdev *vd = to_vd(vdev);
	struct vio_vmsg_hdr h = vmsg_req_hdr(vd->bus, false, vd->dev_num,
					     VIO_VMSG_SET_DRIVER_FEATURES),
			    rh;
	struct vio_vmsg_features f = {.index = 0, .count = 2};
	u8 out[VIO_VMSG_MAX_SIZE], in[VIO_VMSG_MAX_SIZE];
	u64 feat;
	int rc;

	vring_transport_features(vdev);
	if (!__virtio_test_bit(vdev, VIRTIO_F_VERSION_1)) {
		dev_err(&vdev->dev, "the device does not offer VIRTIO_F_VERSION_1\n");
		return -EINVAL;
	}
	if (!__virtio_test_bit(vdev, VIRTIO_F_ACCESS_PLATFORM)) {
		dev_err(&vdev->dev,
			"VIRTIO_F_ACCESS_PLATFORM was not accepted: buffers would not bounce\n");
		return -EINVAL;
	}
	feat = vdev->features;
	if (!(vd->offered & BIT_ULL(VIRTIO_F_ACCESS_PLATFORM)))
		feat &= ~BIT_ULL(VIRTIO_F_ACCESS_PLATFORM);
	f.blocks[0] = (u32) feat;
	f.blocks[1] = (u32) (feat >> 32);
	rc = dev_request(vd, &h, out, vio_vmsg_encode_features(out, max_msg(vd), &h, &f), in, &rh);
	if (rc < 0)
		return rc;
	if (vio_vmsg_decode_empty(&rh, in) < 0) {
		vmsg_break(vd, "SET_DRIVER_FEATURES answer of the wrong size");
		return -EPROTO;
	}
	return 0;
}

static int get_vqueue(struct vmsg_vdev *vd, u32 index, struct vio_vmsg_vqueue *v)
{
	struct vio_vmsg_hdr h = vmsg_req_hdr(vd->bus, false, vd->dev_num, VIO_VMSG_GET_VQUEUE), rh;
	u8 out[VIO_VMSG_MAX_SIZE], in[VIO_VMSG_MAX_SIZE];
	int rc;

	rc = dev_request(vd, &h, out, vio_vmsg_encode_u32(out, max_msg(vd), &h, index), in, &rh);
	if (rc < 0)
		return rc;
	if (vio_vmsg_decode_vqueue_info(&rh, in, v) < 0 || v->index != index) {
		vmsg_break(vd, "GET_VQUEUE answer for another queue or of the wrong size");
		return -EPROTO;
	}
	return 0;
}

static int set_vqueue(struct vmsg_vdev *vd, const struct vio_vmsg_vqueue *v)
{
	struct vio_vmsg_hdr h = vmsg_req_hdr(vd->bus, false, vd->dev_num, VIO_VMSG_SET_VQUEUE), rh;
	u8 out[VIO_VMSG_MAX_SIZE], in[VIO_VMSG_MAX_SIZE];
	int rc;

	rc = dev_request(vd, &h, out, vio_vmsg_encode_set_vqueue(out, max_msg(vd), &h, v), in, &rh);
	if (rc < 0)
		return rc;
	if (vio_vmsg_decode_empty(&rh, in) < 0) {
		vmsg_break(vd, "SET_VQUEUE answer of the wrong size");
		return -EPROTO;
	}
	return 0;
}

/* --- buffers in flight ---------------------------------------------------- */

/* Rounds of completing a broken device's buffers while its driver still adds more. */
#define DRAIN_ROUNDS 16

/* Counts the heads made available and used since the last look. Any context. */
static void track_scan(struct vmsg_track *t)
{
	unsigned long flags;

	if (t == NULL)
		return;
	spin_lock_irqsave(&t->lock, flags);
	vmsg_ring_scan(&t->ring);
	spin_unlock_irqrestore(&t->lock, flags);
}

/*
 * Under bus->cb_lock, with the queue broken: puts every head still in flight
 * on the used ring with length 0 and its writable bytes 0xff, as if the
 * device had failed each, and has the driver take them through its callback
 * (the queue is unbroken for just that). Returns how many it completed.
 */
static unsigned int complete_vq(struct vmsg_vdev *vd, struct virtqueue *vq, struct vmsg_track *t)
{
	struct vmsg_bus *bus = vd->bus;
	struct vmsg_area area = {
	    .win = bus->win, .off = bus->shm.area_off, .size = bus->shm.area_size};
	unsigned long flags;
	unsigned int done;

	spin_lock_irqsave(&t->lock, flags);
	vmsg_ring_scan(&t->ring);
	done = vmsg_ring_fail_inflight(&area, &t->ring);
	vmsg_ring_scan(&t->ring); /* counts them back down */
	spin_unlock_irqrestore(&t->lock, flags);
	if (done == 0)
		return 0;
	__virtqueue_unbreak(vq);
	vring_interrupt(0, vq);
	__virtqueue_break(vq);
	return done;
}

/*
 * Completes the requests a broken device had in flight, which its device side
 * will never answer: Linux's drivers see them fail (virtio_blk with an I/O
 * error) instead of waiting for ever, and a driver's removal, which waits for
 * them, goes through. Process context; the queues stay broken afterwards, so
 * nothing new goes in.
 */
void vmsg_vdev_drain(struct vmsg_vdev *vd)
{
	struct vmsg_bus *bus = vd->bus;
	unsigned int round, q, n, total = 0;
	unsigned long flags;

	for (round = 0; round < DRAIN_ROUNDS; round++) {
		n = 0;
		spin_lock_irqsave(&bus->cb_lock, flags);
		for (q = 0; q < VMSG_MAX_VQS; q++)
			if (vd->vqs[q] != NULL)
				__virtqueue_break(vd->vqs[q]);
		for (q = 0; q < VMSG_MAX_VQS; q++)
			if (vd->vqs[q] != NULL && vd->track[q] != NULL)
				n += complete_vq(vd, vd->vqs[q], vd->track[q]);
		spin_unlock_irqrestore(&bus->cb_lock, flags);
		if (n == 0)
			break;
		total += n;
	}
	if (total > 0) {
		vd->drained += total;
		dev_err(bus->dev, "device %u: %u request%s in flight completed with an error\n",
			vd->dev_num, total, total == 1 ? "" : "s");
	}
	if (round == DRAIN_ROUNDS)
		dev_err(bus->dev,
			"device %u: its driver kept adding requests while it was broken\n",
			vd->dev_num);
}

/* Tells the device about new buffers; runs in any context, never waits. */
static bool vmsg_notify(struct virtqueue *vq)
{
	struct vmsg_vdev *vd = to_vd(vq->vdev);
	struct vio_vmsg_hdr h = {.type = 0, .id = VIO_VMSG_EVENT_AVAIL, .dev_num = vd->dev_num};
	struct vio_vmsg_event_avail ev = {.index = vq->index};
	u8 out[VIO_VMSG_MAX_SIZE];
	int rc;

	if (vq->index < VMSG_MAX_VQS)
		track_scan(vd->track[vq->index]);
	if (vd->broken)
		return false;
	rc = vmsg_send_async(vd->bus, out, vio_vmsg_encode_event_avail(out, max_msg(vd), &h, &ev));
	if (rc == -ENOSPC) {
		/* The FIFO is full: the poller sends it as soon as there is room. */
		set_bit(vq->index, vd->kick_pending);
		atomic_set(&vd->bus->activity, 1);
		return true;
	}
	return rc == 0;
}

/*
 * Under bus->cb_lock, from the poller: counts what every queue has in flight,
 * and sends the notifications that did not fit before.
 */
void vmsg_vdev_flush_kicks(struct vmsg_vdev *vd)
{
	unsigned int q;

	for (q = 0; q < VMSG_MAX_VQS; q++)
		if (vd->track[q] != NULL)
			track_scan(vd->track[q]);

	for_each_set_bit(q, vd->kick_pending, VMSG_MAX_VQS)
	{
		struct vio_vmsg_hdr h = {
		    .type = 0, .id = VIO_VMSG_EVENT_AVAIL, .dev_num = vd->dev_num};
		struct vio_vmsg_event_avail ev = {.index = q};
		u8 out[VIO_VMSG_MAX_SIZE];
		int rc;

		if (vd->vqs[q] == NULL || vd->broken) {
			clear_bit(q, vd->kick_pending);
			continue;
		}
		rc = vmsg_send_async(vd->bus, out,
				     vio_vmsg_encode_event_avail(out, max_msg(vd), &h, &ev));
		if (rc == -ENOSPC)
			return;
		clear_bit(q, vd->kick_pending);
	}
}

static struct virtqueue *setup_vq(struct vmsg_vdev *vd, unsigned int index,
				  void (*callback)(struct virtqueue *vq), const char *name,
				  bool ctx)
{
	struct vio_vmsg_vqueue v, set = {0};
	struct vmsg_track *t;
	struct virtqueue *vq;
	unsigned long flags;
	u32 num;
	int rc;

	if (index >= VMSG_MAX_VQS || index >= vd->info.max_virtqueues)
		return ERR_PTR(-ENOENT);
	rc = get_vqueue(vd, index, &v);
	if (rc < 0)
		return ERR_PTR(rc);
	num = min(v.max_size, vmsg_vq_size_max);
	if (num == 0)
		return ERR_PTR(-ENOENT);
	num = rounddown_pow_of_two(num);
	vq = vring_create_virtqueue(index, num, SMP_CACHE_BYTES, &vd->vdev, true, true, ctx,
				    vmsg_notify, callback, name);
	if (vq == NULL)
		return ERR_PTR(-ENOMEM);

	set.index = index;
	set.size = virtqueue_get_vring_size(vq);
	set.flags = VIO_VMSG_VQ_STATE_ENABLE;
	set.desc = virtqueue_get_desc_addr(vq);
	set.driver = virtqueue_get_avail_addr(vq);
	set.device = virtqueue_get_used_addr(vq);
	rc = set_vqueue(vd, &set);
	/* SET_VQUEUE has no verdict: reading the queue back tells whether it took. */
	if (rc == 0)
		rc = get_vqueue(vd, index, &v);
	if (rc == 0 && (!(v.flags & VIO_VMSG_VQ_ENABLED) || v.size != set.size ||
			v.desc != set.desc || v.driver != set.driver || v.device != set.device)) {
		dev_err(&vd->vdev.dev, "queue %u: the device did not take its rings\n", index);
		rc = -EIO;
	}
	t = rc == 0 ? kzalloc(struct_size(t, count, set.size), GFP_KERNEL) : NULL;
	if (rc == 0 && t == NULL)
		rc = -ENOMEM;
	if (rc < 0) {
		vring_del_virtqueue(vq);
		return ERR_PTR(rc);
	}
	spin_lock_init(&t->lock);
	t->ring.num = (u16) set.size;
	t->ring.desc = vd->bus->win + set.desc;
	t->ring.avail = vd->bus->win + set.driver;
	t->ring.used = vd->bus->win + set.device;
	t->ring.count = t->count;
	spin_lock_irqsave(&vd->bus->cb_lock, flags);
	vd->vqs[index] = vq;
	vd->track[index] = t;
	spin_unlock_irqrestore(&vd->bus->cb_lock, flags);
	return vq;
}

static void vmsg_del_vqs(struct virtio_device *vdev)
{
	struct vmsg_vdev *vd = to_vd(vdev);
	struct virtqueue *vq, *n;
	unsigned long flags;

	list_for_each_entry_safe(vq, n, &vdev->vqs, list)
	{
		struct vmsg_track *t = NULL;

		spin_lock_irqsave(&vd->bus->cb_lock, flags);
		if (vq->index < VMSG_MAX_VQS) {
			vd->vqs[vq->index] = NULL;
			t = vd->track[vq->index];
			vd->track[vq->index] = NULL;
			clear_bit(vq->index, vd->kick_pending);
		}
		spin_unlock_irqrestore(&vd->bus->cb_lock, flags);
		kfree(t);
		vring_del_virtqueue(vq);
	}
}

/*
 * Sets up queue i of find_vqs: a queue without a name is skipped (NULL) and
 * takes no index; the others take the next index in order.
 */
static int find_vq(struct vmsg_vdev *vd, struct virtqueue *vqs[], unsigned int i,
		   unsigned int *index, const char *name, vq_callback_t *callback, bool ctx)
{
	if (name == NULL) {
		vqs[i] = NULL;
		return 0;
	}
	vqs[i] = setup_vq(vd, (*index)++, callback, name, ctx);
	if (IS_ERR(vqs[i])) {
		int rc = PTR_ERR(vqs[i]);

		vmsg_del_vqs(&vd->vdev);
		return rc;
	}
	return 0;
}

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
/* find_vqs since Linux 6.11: one struct virtqueue_info per queue. */
static int vmsg_find_vqs(struct virtio_device *vdev, unsigned int nvqs, struct virtqueue *vqs[],
			 struct virtqueue_info vqs_info[], struct irq_affinity *desc)
{
	unsigned int i, index = 0;
	int rc = 0;

	for (i = 0; i < nvqs && rc == 0; i++)
		rc = find_vq(to_vd(vdev), vqs, i, &index, vqs_info[i].name, vqs_info[i].callback,
			     vqs_info[i].ctx);
	return rc;
}
#else
/* find_vqs up to Linux 6.10: parallel arrays of callbacks, names and ctx flags. */
static int vmsg_find_vqs(struct virtio_device *vdev, unsigned int nvqs, struct virtqueue *vqs[],
			 vq_callback_t *callbacks[], const char *const names[], const bool *ctx,
			 struct irq_affinity *desc)
{
	unsigned int i, index = 0;
	int rc = 0;

	for (i = 0; i < nvqs && rc == 0; i++)
		rc = find_vq(to_vd(vdev), vqs, i, &index, names[i], callbacks[i],
			     ctx ? ctx[i] : false);
	return rc;
}
#endif

static void vmsg_synchronize_cbs(struct virtio_device *vdev)
{
	struct vmsg_vdev *vd = to_vd(vdev);
	unsigned long flags;

	/* Callbacks run from the poller under cb_lock: once it is free, none runs. */
	spin_lock_irqsave(&vd->bus->cb_lock, flags);
	spin_unlock_irqrestore(&vd->bus->cb_lock, flags);
}

static const char *vmsg_bus_name(struct virtio_device *vdev)
{
	return dev_name(to_vd(vdev)->bus->dev);
}

static const struct virtio_config_ops vmsg_config_ops = {
    .get = vmsg_get,
    .set = vmsg_set,
    .get_status = vmsg_get_status,
    .set_status = vmsg_set_status,
    .reset = vmsg_reset,
    .find_vqs = vmsg_find_vqs,
    .del_vqs = vmsg_del_vqs,
    .synchronize_cbs = vmsg_synchronize_cbs,
    .get_features = vmsg_get_features,
    .finalize_features = vmsg_finalize_features,
    .bus_name = vmsg_bus_name,
};

/* Under bus->cb_lock, from the poller (hard interrupt context). */
void vmsg_vdev_event(struct vmsg_vdev *vd, const struct vio_vmsg_hdr *h, const u8 *msg)
{
	if (h->id == VIO_VMSG_EVENT_USED) {
		u32 q;

		if (vio_vmsg_decode_u32(h, msg, &q) < 0 || q >= vd->info.max_virtqueues) {
			vmsg_break(vd,
				   "EVENT_USED of the wrong size or for a queue it does not have");
			return;
		}
		if (q < VMSG_MAX_VQS && vd->vqs[q] != NULL && !vd->broken) {
			track_scan(vd->track[q]);
			vring_interrupt(0, vd->vqs[q]);
			track_scan(vd->track[q]); /* what the callback added */
		}
	} else if (h->id == VIO_VMSG_EVENT_CONFIG) {
		struct vio_vmsg_event_config ec;

		if (vio_vmsg_decode_event_config(h, msg, &ec) < 0 || ec.status > U8_MAX) {
			vmsg_break(vd, "EVENT_CONFIG of the wrong size");
			return;
		}
		vd->status = (u8) ec.status;
		vd->generation = ec.generation;
		if (ec.status & VIRTIO_CONFIG_S_NEEDS_RESET)
			dev_err_ratelimited(&vd->vdev.dev, "the device needs a reset\n");
		if (vd->registered)
			virtio_config_changed(&vd->vdev);
	} else {
		vmsg_break(vd, "an event this transport does not know");
	}
}

static void vdev_release(struct device *dev)
{
	kfree(to_vd(dev_to_virtio(dev)));
}

struct vmsg_vdev *vmsg_vdev_create(struct vmsg_bus *bus, u16 dev_num)
{
	struct vmsg_vdev *vd = kzalloc(sizeof(*vd), GFP_KERNEL);
	int rc;

	if (vd == NULL)
		return ERR_PTR(-ENOMEM);
	vd->bus = bus;
	vd->dev_num = dev_num;
	rc = device_info(vd);
	if (rc == 0 && vd->info.device_id == 0)
		rc = -ENODEV; /* a placeholder the draft allows: nothing to drive */
	if (rc == 0 && vd->info.config_size > CONFIG_SIZE_MAX) {
		dev_err(bus->dev, "device %u: config space of %u bytes not believed\n", dev_num,
			vd->info.config_size);
		rc = -EPROTO;
	}
	if (rc < 0) {
		kfree(vd);
		return ERR_PTR(rc);
	}
	if (vd->info.max_virtqueues > VMSG_MAX_VQS)
		dev_warn(bus->dev, "device %u: %u queues, only the first %d are usable\n", dev_num,
			 vd->info.max_virtqueues, VMSG_MAX_VQS);
	vd->dma = vmsg_dmadev_create(bus, dev_num);
	if (IS_ERR(vd->dma)) {
		rc = PTR_ERR(vd->dma);
		kfree(vd);
		return ERR_PTR(rc);
	}
	vd->vdev.dev.parent = &vd->dma->dev;
	vd->vdev.dev.release = vdev_release;
	vd->vdev.config = &vmsg_config_ops;
	vd->vdev.id.device = vd->info.device_id;
	vd->vdev.id.vendor = vd->info.vendor_id;
	dev_info(bus->dev, "device %u: virtio device id %u, %u queue%s, %u bytes of config\n",
		 dev_num, vd->info.device_id, vd->info.max_virtqueues,
		 vd->info.max_virtqueues == 1 ? "" : "s", vd->info.config_size);
	return vd;
}

/* Drops a device that was created but never registered (register failed: one put). */
void vmsg_vdev_put(struct vmsg_vdev *vd)
{
	struct vmsg_dmadev *dma = vd->dma;

	put_device(&vd->vdev.dev);
	vmsg_dmadev_destroy(dma);
}

/* Unregisters a registered device, takes it out of the bus's table and frees it. */
void vmsg_vdev_destroy(struct vmsg_vdev *vd)
{
	struct vmsg_bus *bus = vd->bus;
	struct vmsg_dmadev *dma = vd->dma;
	unsigned long flags;
	unsigned int i;

	get_device(&vd->vdev.dev);
	/* The driver's removal may wait for requests in flight: drain_work completes them. */
	unregister_virtio_device(&vd->vdev);
	mutex_lock(&bus->devs_mutex);
	spin_lock_irqsave(&bus->cb_lock, flags);
	for (i = 0; i < bus->ndevs; i++) {
		if (bus->devs[i] == vd) {
			bus->devs[i] = bus->devs[bus->ndevs - 1];
			bus->ndevs--;
			break;
		}
	}
	spin_unlock_irqrestore(&bus->cb_lock, flags);
	mutex_unlock(&bus->devs_mutex);
	put_device(&vd->vdev.dev);
	vmsg_dmadev_destroy(dma);
}
