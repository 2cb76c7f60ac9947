/* SPDX-License-Identifier: BSD-3-Clause */
/* Loopback transport: driver and device in one address space, synchronous kicks. */
#include "vioport/loopback.h"
#include "vioport/errno.h"

#include <string.h>

static struct vio_loopback *lb_of(struct vio_device *dev)
{
	return dev->transport;
}

static void lb_notify_used(struct vio_device *dev, uint16_t q)
{
	if (q < VIO_LOOPBACK_MAX_QUEUES)
		lb_of(dev)->used_irqs[q]++;
}

static void lb_notify_config(struct vio_device *dev)
{
	lb_of(dev)->config_irqs++;
}

static void lb_log(struct vio_device *dev, const char *msg, int err)
{
	struct vio_loopback *lb = lb_of(dev);

	lb->log_lines++;
	lb->last_log = msg;
	lb->last_log_err = err;
}

static const struct vio_transport_ops lb_ops = {
    .notify_used = lb_notify_used,
    .notify_config = lb_notify_config,
    .log = lb_log,
};

int vio_loopback_init(struct vio_loopback *lb, struct vio_device *dev, void *arena,
		      uint64_t arena_len, uint64_t bus_base)
{
	int rc;

	memset(lb, 0, sizeof(*lb));
	lb->dev = dev;
	lb->arena = arena;
	lb->arena_len = arena_len;
	lb->bus_base = bus_base;
	vio_winmap_init(&lb->map, lb->win, 1);
	rc = vio_winmap_add(&lb->map, bus_base, arena_len, arena, VIO_ACCESS_RW);
	if (rc < 0)
		return rc;
	vio_device_attach(dev, &lb_ops, lb, &lb->map);
	return 0;
}

void *vio_loopback_alloc(struct vio_loopback *lb, uint64_t len, uint64_t *bus)
{
	uint64_t start = (lb->brk + 15u) & ~(uint64_t) 15u;
	void *p;

	if (start > lb->arena_len || len > lb->arena_len - start)
		return NULL;
	lb->brk = start + len;
	p = lb->arena + start;
	memset(p, 0, len);
	if (bus != NULL)
		*bus = lb->bus_base + start;
	return p;
}

uint64_t vio_loopback_bus(const struct vio_loopback *lb, const void *p)
{
	return lb->bus_base + (uint64_t) ((const uint8_t *) p - lb->arena);
}

int vio_loopback_negotiate(struct vio_loopback *lb, uint64_t want)
{
	struct vio_device *dev = lb->dev;
	uint8_t s = VIO_STATUS_ACKNOWLEDGE | VIO_STATUS_DRIVER;

	vio_device_set_status(dev, 0);
	vio_device_set_status(dev, VIO_STATUS_ACKNOWLEDGE);
	vio_device_set_status(dev, s);
	vio_device_set_features(dev, dev->host_features & want);
	vio_device_set_status(dev, s | VIO_STATUS_FEATURES_OK);
	if (!(dev->status & VIO_STATUS_FEATURES_OK))
		return -VIO_EPROTO;
	return 0;
}

int vio_loopback_queue(struct vio_loopback *lb, uint16_t q, uint16_t size, struct vio_drvq *dq,
		       struct vio_drvq_slot *slots)
{
	uint64_t ring_bus, desc, avail, used;
	void *ring;
	int rc;

	if (q >= VIO_LOOPBACK_MAX_QUEUES)
		return -VIO_EINVAL;
	ring = vio_loopback_alloc(lb, vio_drvq_ring_bytes(size), &ring_bus);
	if (ring == NULL)
		return -VIO_ENOMEM;
	rc = vio_drvq_init(dq, size, ring, ring_bus, slots,
			   vio_device_has(lb->dev, VIO_F_EVENT_IDX), &desc, &avail, &used);
	if (rc < 0)
		return rc;
	rc = vio_device_queue_set(lb->dev, q, size, desc, avail, used);
	if (rc < 0)
		return rc;
	lb->dq[q] = dq;
	return vio_device_queue_enable(lb->dev, q, true);
}

int vio_loopback_driver_ok(struct vio_loopback *lb)
{
	return vio_device_set_status(lb->dev, lb->dev->status | VIO_STATUS_DRIVER_OK);
}

void vio_loopback_kick(struct vio_loopback *lb, uint16_t q)
{
	if (q < VIO_LOOPBACK_MAX_QUEUES && lb->dq[q] != NULL)
		vio_drvq_kick_prepare(lb->dq[q]);
	vio_device_kick(lb->dev, q);
}
