/* SPDX-License-Identifier: BSD-3-Clause */
/* The device model: negotiation, status machine, config, queues, breaking. */
#include "vioport/device.h"
#include "vioport/byteorder.h"
#include "vioport/errno.h"

#include <string.h>

#define STATUS_ORDERED                                                                             \
	(VIO_STATUS_ACKNOWLEDGE | VIO_STATUS_DRIVER | VIO_STATUS_FEATURES_OK | VIO_STATUS_DRIVER_OK)

void vio_device_init(struct vio_device *dev, const struct vio_device_ops *ops, void *priv,
		     uint32_t device_id, uint64_t features, struct vio_queue *queues,
		     uint16_t num_queues, uint16_t max_size, uint8_t *config, uint32_t config_len)
{
	memset(dev, 0, sizeof(*dev));
	dev->ops = ops;
	dev->priv = priv;
	dev->device_id = device_id;
	dev->host_features = features | VIO_BIT(VIO_F_VERSION_1);
#ifdef VIO_CONFIG_NO_PACKED
	/* Built without packed-ring code (virtq.c): never offer it. */
	dev->host_features &= ~VIO_BIT(VIO_F_RING_PACKED);
#endif
	dev->queues = queues;
	dev->num_queues = num_queues;
	dev->config = config;
	dev->config_len = config_len;
	for (uint16_t q = 0; q < num_queues; q++) {
		memset(&queues[q], 0, sizeof(queues[q]));
		queues[q].max_size = max_size;
		queues[q].size = max_size;
	}
}

void vio_device_attach(struct vio_device *dev, const struct vio_transport_ops *tops,
		       void *transport, const struct vio_winmap *mem)
{
	dev->tops = tops;
	dev->transport = transport;
	dev->mem = mem;
	for (uint16_t q = 0; q < dev->num_queues; q++)
		dev->queues[q].vq.mem = mem;
}

static void dev_log(struct vio_device *dev, const char *msg, int err)
{
	if (dev->tops != NULL && dev->tops->log != NULL)
		dev->tops->log(dev, msg, err);
}

static void notify_config(struct vio_device *dev)
{
	if (dev->tops != NULL && dev->tops->notify_config != NULL)
		dev->tops->notify_config(dev);
}

int vio_device_set_features(struct vio_device *dev, uint64_t features)
{
	if (dev->status & VIO_STATUS_FEATURES_OK)
		return -VIO_EPERM;
	dev->driver_features = features;
	return 0;
}

/* Back to the state after init: disabled, no rings, fresh indices. */
static void clear_queue(struct vio_queue *vq)
{
	vio_vq_reset(&vq->vq);
	vq->enabled = false;
	vq->size = vq->max_size;
	vq->base = 0;
	vq->base_set = false;
	vq->changed = false;
	vq->desc = vq->driver = vq->device = 0;
}

void vio_device_reset(struct vio_device *dev)
{
	if (dev->ops->reset != NULL)
		dev->ops->reset(dev);
	for (uint16_t q = 0; q < dev->num_queues; q++)
		clear_queue(&dev->queues[q]);
	dev->driver_features = 0;
	dev->status = 0;
	dev->logged_break = false;
	dev->break_error = 0;
}

/* Says whether the features the driver chose may be used. */
static bool features_acceptable(struct vio_device *dev)
{
	uint64_t f = dev->driver_features;

	if ((f & ~dev->host_features) != 0) {
		dev_log(dev, "driver accepted features that were not offered", -VIO_EINVAL);
		return false;
	}
	if (!(f & VIO_BIT(VIO_F_VERSION_1))) {
		dev_log(dev, "driver did not accept VIRTIO_F_VERSION_1", -VIO_EINVAL);
		return false;
	}
	if (dev->ops->validate_features != NULL && dev->ops->validate_features(dev, f) < 0) {
		dev_log(dev, "device refused the driver's features", -VIO_EINVAL);
		return false;
	}
	return true;
}

/* Checks that each set bit's predecessor in the init sequence is set too. */
static bool status_ordered(uint8_t s)
{
	if ((s & VIO_STATUS_DRIVER) && !(s & VIO_STATUS_ACKNOWLEDGE))
		return false;
	if ((s & VIO_STATUS_FEATURES_OK) && !(s & VIO_STATUS_DRIVER))
		return false;
	if ((s & VIO_STATUS_DRIVER_OK) && !(s & VIO_STATUS_FEATURES_OK))
		return false;
	return true;
}

static void start_device(struct vio_device *dev)
{
	if (dev->ops->start != NULL && dev->ops->start(dev) < 0) {
		vio_device_break(dev, -VIO_EIO);
		return;
	}
	/* Kicks may have come before DRIVER_OK; look at every queue once. */
	for (uint16_t q = 0; q < dev->num_queues; q++)
		vio_device_kick(dev, q);
}

int vio_device_set_status(struct vio_device *dev, uint8_t status)
{
	uint8_t old = dev->status;
	uint8_t s = status & (uint8_t) ~VIO_STATUS_NEEDS_RESET; /* only the device sets it */
	uint8_t added;

	if (status == 0) {
		vio_device_reset(dev);
		return 0;
	}
	if ((old & STATUS_ORDERED & ~s) != 0 ||
	    ((old & VIO_STATUS_FAILED) && !(s & VIO_STATUS_FAILED)))
		return -VIO_EINVAL;
	if (!status_ordered(s))
		return -VIO_EINVAL;
	added = s & (uint8_t) ~old;
	if ((added & VIO_STATUS_FEATURES_OK) && !features_acceptable(dev)) {
		/* FEATURES_OK does not stick; the driver reads that back and gives up. */
		s &= (uint8_t) ~(VIO_STATUS_FEATURES_OK | VIO_STATUS_DRIVER_OK);
		added &= (uint8_t) ~(VIO_STATUS_FEATURES_OK | VIO_STATUS_DRIVER_OK);
	}
	dev->status = s | (old & VIO_STATUS_NEEDS_RESET);
	if ((added & VIO_STATUS_DRIVER_OK) && !(s & VIO_STATUS_FAILED) &&
	    !(old & VIO_STATUS_NEEDS_RESET))
		start_device(dev);
	return 0;
}

int vio_device_read_config(const struct vio_device *dev, uint32_t off, void *buf, uint32_t len)
{
	if (off > dev->config_len || len > dev->config_len - off)
		return -VIO_ERANGE;
	memcpy(buf, dev->config + off, len);
	return 0;
}

int vio_device_write_config(struct vio_device *dev, uint32_t off, const void *buf, uint32_t len)
{
	if (off > dev->config_len || len > dev->config_len - off)
		return -VIO_ERANGE;
	if (dev->ops->write_config == NULL)
		return -VIO_EPERM;
	return dev->ops->write_config(dev, off, buf, len);
}

void vio_device_config_changed(struct vio_device *dev)
{
	dev->config_generation++;
	notify_config(dev);
}

int vio_device_queue_set(struct vio_device *dev, uint16_t q, uint16_t size, uint64_t desc,
			 uint64_t driver, uint64_t device)
{
	struct vio_queue *vq;

	if (q >= dev->num_queues)
		return -VIO_EINVAL;
	vq = &dev->queues[q];
	if (vq->enabled)
		return -VIO_EBUSY;
	if (size == 0 || size > vq->max_size)
		return -VIO_EINVAL;
	vq->size = size;
	vq->changed = true;
	vq->desc = desc;
	vq->driver = driver;
	vq->device = device;
	return 0;
}

int vio_device_queue_set_base(struct vio_device *dev, uint16_t q, uint16_t base)
{
	if (q >= dev->num_queues || dev->queues[q].enabled)
		return q >= dev->num_queues ? -VIO_EINVAL : -VIO_EBUSY;
	dev->queues[q].base = base;
	dev->queues[q].base_set = true;
	dev->queues[q].changed = true;
	return 0;
}

int vio_device_queue_enable(struct vio_device *dev, uint16_t q, bool enable)
{
	struct vio_queue *vq;
	int rc;

	if (q >= dev->num_queues)
		return -VIO_EINVAL;
	vq = &dev->queues[q];
	if (!enable) {
		vq->enabled = false;
		return 0;
	}
	if (vq->enabled)
		return 0;
	/* Re-enabled with nothing changed: carry on where it stopped, in-flight requests too. */
	if (vq->vq.ready && vq->vq.error == 0 && !vq->changed) {
		vq->enabled = true;
		return 0;
	}
#ifndef VIO_CONFIG_NO_PACKED
	if (vio_device_has(dev, VIO_F_RING_PACKED))
		rc = vio_vq_setup_packed(&vq->vq, dev->mem, vq->size, vq->desc, vq->driver,
					 vq->device, dev->driver_features);
	else
#endif
		rc = vio_vq_setup_split(&vq->vq, dev->mem, vq->size, vq->desc, vq->driver,
					vq->device, dev->driver_features);
	if (rc == 0 && vq->base_set)
		rc = vio_vq_set_base(&vq->vq, vq->base);
	if (rc < 0) {
		vio_vq_reset(&vq->vq);
		vio_device_break(dev, rc);
		return rc;
	}
	if (vq->inflight != NULL) {
		/* Without a usable region the queue runs, unrecorded, as without one. */
		rc = vio_vq_inflight_attach(&vq->vq, vq->inflight, vq->inflight_len);
		if (rc < 0)
			dev_log(dev, "inflight region does not fit the queue", rc);
	}
	vq->changed = false;
	vq->enabled = true;
	return 0;
}

int vio_device_queue_set_inflight(struct vio_device *dev, uint16_t q, void *region, uint64_t len)
{
	struct vio_queue *vq;

	if (q >= dev->num_queues)
		return -VIO_EINVAL;
	vq = &dev->queues[q];
	if (region == NULL) {
		vio_vq_inflight_detach(&vq->vq);
		len = 0;
	} else if (region != vq->inflight || len != vq->inflight_len) {
		vq->changed = true;
	}
	vq->inflight = region;
	vq->inflight_len = len;
	return 0;
}

int vio_device_queue_reset(struct vio_device *dev, uint16_t q)
{
	if (q >= dev->num_queues)
		return -VIO_EINVAL;
	if (dev->ops->queue_reset != NULL)
		dev->ops->queue_reset(dev, q);
	clear_queue(&dev->queues[q]);
	return 0;
}

bool vio_device_queue_live(const struct vio_device *dev, uint16_t q)
{
	uint8_t s = dev->status;

	if (q >= dev->num_queues || !(s & VIO_STATUS_DRIVER_OK) ||
	    (s & (VIO_STATUS_NEEDS_RESET | VIO_STATUS_FAILED)))
		return false;
	return dev->queues[q].enabled && dev->queues[q].vq.ready && dev->queues[q].vq.error == 0;
}

void vio_device_kick(struct vio_device *dev, uint16_t q)
{
	if (vio_device_queue_live(dev, q) && dev->ops->queue_notify != NULL)
		dev->ops->queue_notify(dev, q);
}

void vio_device_flush(struct vio_device *dev, uint16_t q)
{
	if (q >= dev->num_queues)
		return;
	if (vio_vq_flush(&dev->queues[q].vq) && dev->tops != NULL && dev->tops->notify_used != NULL)
		dev->tops->notify_used(dev, q);
}

int vio_device_pop(struct vio_device *dev, uint16_t q, struct vio_req *req)
{
	int rc;

	if (!vio_device_queue_live(dev, q))
		return 0;
	rc = vio_vq_pop(&dev->queues[q].vq, req);
	if (rc < 0)
		vio_device_break(dev, rc);
	return rc;
}

void vio_device_break(struct vio_device *dev, int err)
{
	if (dev->status & VIO_STATUS_NEEDS_RESET)
		return;
	dev->status |= VIO_STATUS_NEEDS_RESET;
	dev->break_error = err;
	if (!dev->logged_break) {
		dev->logged_break = true;
		dev_log(dev, "driver broke a ring rule; device needs reset", err);
	}
	notify_config(dev);
}
