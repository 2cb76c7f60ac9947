/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-msg device side: transport and bus messages for the devices behind one bus. */
#include "vioport/errno.h"
#include "vioport/virtio.h"
#include "vioport/vmsg_dev.h"

#include <stddef.h>

/* Feature bits live in a 64-bit word: blocks 0 and 1. */
#define FEATURE_BLOCKS 2u

#define STATUS_UP (VIO_STATUS_ACKNOWLEDGE | VIO_STATUS_DRIVER | VIO_STATUS_FEATURES_OK)

static void bus_log(struct vio_vmsg_dev_bus *b, const char *msg, int err)
{
	if (b->ops->log != NULL)
		b->ops->log(b->ctx, msg, err);
}

/* Counts a discarded message; logs the 1st, 2nd, 4th, 8th... so a flood cannot flood the log. */
static void drop(struct vio_vmsg_dev_bus *b, const char *why, int err)
{
	b->dropped++;
	if ((b->dropped & (b->dropped - 1u)) == 0)
		bus_log(b, why, err);
}

static void bus_send(struct vio_vmsg_dev_bus *b, const void *msg, int len)
{
	if (len < 0) {
		/* Only a reply larger than max_msg gets here, and every reply is sized to fit. */
		bus_log(b, "reply does not fit the bus message size", len);
		return;
	}
	if (b->ops->send(b->ctx, msg, (uint32_t) len) < 0)
		b->send_errors++;
}

static struct vio_vmsg_hdr reply_hdr(const struct vio_vmsg_hdr *req)
{
	struct vio_vmsg_hdr h = {
	    .type = (uint8_t) ((req->type & VIO_VMSG_TYPE_BUS) | VIO_VMSG_TYPE_RESPONSE),
	    .id = req->id,
	    .dev_num = req->dev_num,
	    .token = req->token,
	};

	return h;
}

static struct vio_vmsg_hdr event_hdr(uint8_t id, uint16_t dev_num)
{
	struct vio_vmsg_hdr h = {.type = 0, .id = id, .dev_num = dev_num, .token = 0};

	return h;
}

/* --- what the devices call --------------------------------------------- */

static struct vio_vmsg_dev_slot *slot_of(struct vio_device *dev)
{
	return dev->transport;
}

static void t_notify_used(struct vio_device *dev, uint16_t q)
{
	struct vio_vmsg_dev_slot *s = slot_of(dev);
	struct vio_vmsg_hdr h = event_hdr(VIO_VMSG_EVENT_USED, s->dev_num);
	uint8_t out[VIO_VMSG_MAX_SIZE];

	bus_send(s->bus, out, vio_vmsg_encode_u32(out, s->bus->max_msg, &h, q));
}

/* Config or status changed: a generic EVENT_CONFIG (no range) with the status. */
static void t_notify_config(struct vio_device *dev)
{
	struct vio_vmsg_dev_slot *s = slot_of(dev);
	struct vio_vmsg_hdr h = event_hdr(VIO_VMSG_EVENT_CONFIG, s->dev_num);
	struct vio_vmsg_event_config ev = {.status = dev->status,
					   .generation = dev->config_generation};
	uint8_t out[VIO_VMSG_MAX_SIZE];

	bus_send(s->bus, out, vio_vmsg_encode_event_config(out, s->bus->max_msg, &h, &ev));
}

static void t_log(struct vio_device *dev, const char *msg, int err)
{
	bus_log(slot_of(dev)->bus, msg, err);
}

static const struct vio_transport_ops vmsg_tops = {
    .notify_used = t_notify_used,
    .notify_config = t_notify_config,
    .log = t_log,
};

/* --- queues ------------------------------------------------------------- */

/* a + len, saturated: a wrapping ring is refused by the window check anyway. */
static uint64_t end_of(uint64_t a, uint64_t len)
{
	return a + len < a ? UINT64_MAX : a + len;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < end_of(b, blen) && b < end_of(a, alen);
}

/* The three ring parts of queue q as [addr, addr + len). */
static void ring_parts(const struct vio_device *dev, uint16_t q, uint64_t addr[3], uint64_t len[3])
{
	const struct vio_queue *vq = &dev->queues[q];

	addr[0] = vq->desc;
	addr[1] = vq->driver;
	addr[2] = vq->device;
	if (vio_device_has(dev, VIO_F_RING_PACKED)) {
		len[0] = VIO_PACKED_DESC_SIZE(vq->size);
		len[1] = len[2] = VIO_PACKED_EVENT_SIZE;
	} else {
		len[0] = VIO_SPLIT_DESC_SIZE(vq->size);
		len[1] = VIO_SPLIT_AVAIL_SIZE(vq->size);
		len[2] = VIO_SPLIT_USED_SIZE(vq->size);
	}
}

/*
 * Says whether queue q's rings overlap each other or an enabled queue's: the
 * device would then write its used entries over descriptors it reads.
 */
static bool rings_overlap(const struct vio_device *dev, uint16_t q)
{
	uint64_t a[3], al[3], o[3], ol[3];

	ring_parts(dev, q, a, al);
	for (unsigned i = 0; i < 3; i++)
		for (unsigned j = i + 1; j < 3; j++)
			if (overlaps(a[i], al[i], a[j], al[j]))
				return true;
	for (uint16_t p = 0; p < dev->num_queues; p++) {
		if (p == q || !dev->queues[p].enabled)
			continue;
		ring_parts(dev, p, o, ol);
		for (unsigned i = 0; i < 3; i++)
			for (unsigned j = 0; j < 3; j++)
				if (overlaps(a[i], al[i], o[j], ol[j]))
					return true;
	}
	return false;
}

/* Enables queue q; rings outside the window or overlapping break the device. */
static void enable_queue(struct vio_device *dev, uint16_t q)
{
	if (dev->queues[q].enabled)
		return;
	if (rings_overlap(dev, q)) {
		vio_device_break(dev, -VIO_EINVAL);
		return;
	}
	vio_device_queue_enable(dev, q, true);
}

/* A queue whose rings were set since the last reset. */
static bool queue_configured(const struct vio_queue *vq)
{
	return vq->enabled || vq->changed;
}

/* --- transport messages -------------------------------------------------- */

static void get_device_info(struct vio_vmsg_dev_bus *b, struct vio_vmsg_dev_slot *s,
			    const struct vio_vmsg_hdr *h)
{
	struct vio_device *dev = s->dev;
	struct vio_vmsg_hdr r = reply_hdr(h);
	struct vio_vmsg_device_info info = {
	    .device_id = dev->device_id,
	    .vendor_id = dev->vendor_id,
	    .num_feature_blocks = (dev->host_features >> 32) != 0 ? 2u : 1u,
	    .config_size = dev->config_len,
	    .max_virtqueues = dev->num_queues,
	};
	uint8_t out[VIO_VMSG_MAX_SIZE];

	bus_send(b, out, vio_vmsg_encode_device_info(out, b->max_msg, &r, &info));
}

static uint32_t feature_block(uint64_t features, uint64_t block)
{
	return block < FEATURE_BLOCKS ? (uint32_t) (features >> (32u * block)) : 0;
}

static void get_device_features(struct vio_vmsg_dev_bus *b, struct vio_vmsg_dev_slot *s,
				const struct vio_vmsg_hdr *h, const void *msg)
{
	struct vio_vmsg_hdr r = reply_hdr(h);
	struct vio_vmsg_features f;
	uint8_t out[VIO_VMSG_MAX_SIZE];

	if (vio_vmsg_decode_features_req(h, msg, &f) < 0 ||
	    f.count > (b->max_msg - VIO_VMSG_SIZE_FEATURES(0)) / 4u) {
		drop(b, "GET_DEVICE_FEATURES: bad size or too many blocks", -VIO_EMSGSIZE);
		return;
	}
	for (uint32_t i = 0; i < f.count; i++)
		f.blocks[i] = feature_block(s->dev->host_features, (uint64_t) f.index + i);
	bus_send(b, out, vio_vmsg_encode_features(out, b->max_msg, &r, &f));
}

static void set_driver_features(struct vio_vmsg_dev_bus *b, struct vio_vmsg_dev_slot *s,
				const struct vio_vmsg_hdr *h, const void *msg)
{
	struct vio_device *dev = s->dev;
	struct vio_vmsg_hdr r = reply_hdr(h);
	struct vio_vmsg_features f;
	uint64_t feat = dev->driver_features;
	uint8_t out[VIO_VMSG_MAX_SIZE];

	if (vio_vmsg_decode_features(h, msg, &f) < 0) {
		drop(b, "SET_DRIVER_FEATURES: bad size", -VIO_EMSGSIZE);
		return;
	}
	if (!(dev->status & VIO_STATUS_FEATURES_OK)) {
		for (uint32_t i = 0; i < f.count; i++) {
			uint64_t block = (uint64_t) f.index + i;

			if (block < FEATURE_BLOCKS) {
				unsigned shift = 32u * (unsigned) block;

				feat &= ~((uint64_t) UINT32_MAX << shift);
				feat |= (uint64_t) f.blocks[i] << shift;
			} else if (f.blocks[i] != 0) {
				s->high_features = true;
			}
		}
		vio_device_set_features(dev, feat);
	}
	bus_send(b, out, vio_vmsg_encode_empty(out, b->max_msg, &r));
}

static void get_config(struct vio_vmsg_dev_bus *b, struct vio_vmsg_dev_slot *s,
		       const struct vio_vmsg_hdr *h, const void *msg)
{
	struct vio_vmsg_hdr r = reply_hdr(h);
	struct vio_vmsg_config c;
	uint8_t data[VIO_VMSG_CONFIG_CHUNK_MAX];
	uint8_t out[VIO_VMSG_MAX_SIZE];

	if (vio_vmsg_decode_config_req(h, msg, &c) < 0) {
		drop(b, "GET_CONFIG: bad size", -VIO_EMSGSIZE);
		return;
	}
	/* An empty read touches nothing: a device may have no config storage at all. */
	if (c.length > b->max_msg - VIO_VMSG_SIZE_CONFIG(0) || c.offset > s->dev->config_len ||
	    (c.length > 0 && vio_device_read_config(s->dev, c.offset, data, c.length) < 0)) {
		drop(b, "GET_CONFIG: range outside the config space or the message", -VIO_ERANGE);
		return;
	}
	c.generation = s->dev->config_generation;
	c.data = data;
	bus_send(b, out, vio_vmsg_encode_config(out, b->max_msg, &r, &c));
}

static void set_config(struct vio_vmsg_dev_bus *b, struct vio_vmsg_dev_slot *s,
		       const struct vio_vmsg_hdr *h, const void *msg)
{
	struct vio_device *dev = s->dev;
	struct vio_vmsg_hdr r = reply_hdr(h);
	struct vio_vmsg_config c;
	bool applied = false;
	uint8_t out[VIO_VMSG_MAX_SIZE];

	if (vio_vmsg_decode_config(h, msg, &c) < 0) {
		drop(b, "SET_CONFIG: bad size", -VIO_EMSGSIZE);
		return;
	}
	if (c.length > 0) {
		bool strict = (b->transport_features >> VIO_VMSG_F_STRICT_CONFIG_GENERATION) & 1u;

		if (strict && c.generation != dev->config_generation)
			bus_log(b, "SET_CONFIG with a stale generation refused", -VIO_EAGAIN);
		else
			applied = vio_device_write_config(dev, c.offset, c.data, c.length) == 0;
	}
	/* The reply echoes what was applied, and nothing when it was refused. */
	if (!applied)
		c.length = 0;
	c.generation = dev->config_generation;
	bus_send(b, out, vio_vmsg_encode_config(out, b->max_msg, &r, &c));
}

static void reply_u32(struct vio_vmsg_dev_bus *b, const struct vio_vmsg_hdr *h, uint32_t v)
{
	struct vio_vmsg_hdr r = reply_hdr(h);
	uint8_t out[VIO_VMSG_MAX_SIZE];

	bus_send(b, out, vio_vmsg_encode_u32(out, b->max_msg, &r, v));
}

static void reply_empty(struct vio_vmsg_dev_bus *b, const struct vio_vmsg_hdr *h)
{
	struct vio_vmsg_hdr r = reply_hdr(h);
	uint8_t out[VIO_VMSG_MAX_SIZE];

	bus_send(b, out, vio_vmsg_encode_empty(out, b->max_msg, &r));
}

static void set_device_status(struct vio_vmsg_dev_bus *b, struct vio_vmsg_dev_slot *s,
			      const struct vio_vmsg_hdr *h, uint32_t status)
{
	struct vio_device *dev = s->dev;
	uint8_t want = (uint8_t) status;

	if (status > UINT8_MAX) {
		/* No such status bits: the write is refused and the answer shows it. */
		bus_log(b, "SET_DEVICE_STATUS with undefined bits ignored", -VIO_EINVAL);
		reply_u32(b, h, dev->status);
		return;
	}
	if (status == 0)
		s->high_features = false;
	if (s->high_features && (want & VIO_STATUS_FEATURES_OK) &&
	    !(dev->status & VIO_STATUS_FEATURES_OK)) {
		bus_log(b, "driver accepted feature bits beyond 63, which are not offered",
			-VIO_EINVAL);
		want &= (uint8_t) ~(VIO_STATUS_FEATURES_OK | VIO_STATUS_DRIVER_OK);
	}
	/* Queues set without the enable flag start with DRIVER_OK, before the device does. */
	if ((want & VIO_STATUS_DRIVER_OK) && (want & STATUS_UP) == STATUS_UP &&
	    (dev->status & STATUS_UP) == STATUS_UP &&
	    !(dev->status & (VIO_STATUS_DRIVER_OK | VIO_STATUS_NEEDS_RESET | VIO_STATUS_FAILED))) {
		for (uint16_t q = 0; q < dev->num_queues; q++)
			if (queue_configured(&dev->queues[q]) &&
			    !(dev->status & VIO_STATUS_NEEDS_RESET))
				enable_queue(dev, q);
	}
	if (vio_device_set_status(dev, want) < 0)
		bus_log(b, "SET_DEVICE_STATUS out of order ignored", -VIO_EINVAL);
	reply_u32(b, h, dev->status);
}

static void get_vqueue(struct vio_vmsg_dev_bus *b, struct vio_vmsg_dev_slot *s,
		       const struct vio_vmsg_hdr *h, uint32_t index)
{
	struct vio_vmsg_hdr r = reply_hdr(h);
	struct vio_vmsg_vqueue v = {.index = index};
	uint8_t out[VIO_VMSG_MAX_SIZE];

	if (index < s->dev->num_queues) {
		const struct vio_queue *vq = &s->dev->queues[index];

		v.max_size = vq->max_size;
		v.size = queue_configured(vq) ? vq->size : 0;
		v.flags = vq->enabled ? VIO_VMSG_VQ_ENABLED : 0;
		v.desc = vq->desc;
		v.driver = vq->driver;
		v.device = vq->device;
	}
	bus_send(b, out, vio_vmsg_encode_vqueue_info(out, b->max_msg, &r, &v));
}

/* Applies a SET_VQUEUE the way the draft asks: all of it, or nothing. */
static void apply_set_vqueue(struct vio_vmsg_dev_bus *b, struct vio_device *dev,
			     const struct vio_vmsg_vqueue *v)
{
	const uint32_t ignore_all = VIO_VMSG_VQ_SIZE_IGNORE | VIO_VMSG_VQ_DESC_IGNORE |
				    VIO_VMSG_VQ_DRIVER_IGNORE | VIO_VMSG_VQ_DEVICE_IGNORE;
	uint32_t state = v->flags & VIO_VMSG_VQ_STATE_MASK;
	struct vio_queue *vq;
	uint32_t size;

	if (v->index >= dev->num_queues)
		return;
	if (v->reserved != 0 || (v->flags & ~VIO_VMSG_VQ_FLAGS_KNOWN) != 0 || state == 3u) {
		bus_log(b, "SET_VQUEUE with reserved bits ignored", -VIO_EINVAL);
		return;
	}
	vq = &dev->queues[v->index];
	if (vq->enabled) {
		/* Neither disabling nor changing a live queue is allowed through SET_VQUEUE. */
		if (state == VIO_VMSG_VQ_STATE_DISABLED || (v->flags & ignore_all) != ignore_all)
			bus_log(b, "SET_VQUEUE on an enabled queue ignored", -VIO_EBUSY);
		return;
	}
	if ((v->flags & ignore_all) != ignore_all) {
		size = (v->flags & VIO_VMSG_VQ_SIZE_IGNORE) ? vq->size : v->size;
		if (size > UINT16_MAX ||
		    vio_device_queue_set(
			dev, (uint16_t) v->index, (uint16_t) size,
			(v->flags & VIO_VMSG_VQ_DESC_IGNORE) ? vq->desc : v->desc,
			(v->flags & VIO_VMSG_VQ_DRIVER_IGNORE) ? vq->driver : v->driver,
			(v->flags & VIO_VMSG_VQ_DEVICE_IGNORE) ? vq->device : v->device) < 0) {
			bus_log(b, "SET_VQUEUE with a bad size ignored", -VIO_EINVAL);
			return;
		}
	}
	/* The ring layout depends on the features: no queue runs before they are settled. */
	if (state == VIO_VMSG_VQ_STATE_ENABLE && (dev->status & VIO_STATUS_FEATURES_OK))
		enable_queue(dev, (uint16_t) v->index);
}

static void set_vqueue(struct vio_vmsg_dev_bus *b, struct vio_vmsg_dev_slot *s,
		       const struct vio_vmsg_hdr *h, const void *msg)
{
	struct vio_vmsg_vqueue v;

	if (vio_vmsg_decode_set_vqueue(h, msg, &v) < 0) {
		drop(b, "SET_VQUEUE: bad size", -VIO_EMSGSIZE);
		return;
	}
	apply_set_vqueue(b, s->dev, &v);
	reply_empty(b, h);
}

static void reset_vqueue(struct vio_vmsg_dev_bus *b, struct vio_vmsg_dev_slot *s,
			 const struct vio_vmsg_hdr *h, uint32_t index)
{
	if (index < s->dev->num_queues && vio_device_has(s->dev, VIO_F_RING_RESET))
		vio_device_queue_reset(s->dev, (uint16_t) index);
	reply_empty(b, h);
}

static void get_shm(struct vio_vmsg_dev_bus *b, const struct vio_vmsg_hdr *h, uint32_t shmid)
{
	struct vio_vmsg_hdr r = reply_hdr(h);
	/* No device here has shared memory regions: length 0 says so for every id. */
	struct vio_vmsg_shm_info shm = {.shmid = shmid};
	uint8_t out[VIO_VMSG_MAX_SIZE];

	bus_send(b, out, vio_vmsg_encode_shm_info(out, b->max_msg, &r, &shm));
}

static void event_avail(struct vio_vmsg_dev_bus *b, struct vio_vmsg_dev_slot *s,
			const struct vio_vmsg_hdr *h, const void *msg)
{
	struct vio_vmsg_event_avail ev;

	if (vio_vmsg_decode_event_avail(h, msg, &ev) < 0 || ev.index >= s->dev->num_queues) {
		drop(b, "EVENT_AVAIL: bad size or queue", -VIO_EINVAL);
		return;
	}
	vio_device_kick(s->dev, (uint16_t) ev.index);
}

/* Requests whose only payload is one le32 (or none): decoded here, in one place. */
static bool decode_small(struct vio_vmsg_dev_bus *b, const struct vio_vmsg_hdr *h, const void *msg,
			 bool has_u32, uint32_t *v)
{
	int rc = has_u32 ? vio_vmsg_decode_u32(h, msg, v) : vio_vmsg_decode_empty(h, msg);

	if (rc < 0)
		drop(b, "transport request of the wrong size", rc);
	return rc == 0;
}

static void handle_transport(struct vio_vmsg_dev_bus *b, const struct vio_vmsg_hdr *h,
			     const void *msg)
{
	struct vio_vmsg_dev_slot *s;
	uint32_t v = 0;

	if (h->dev_num >= b->count) {
		drop(b, "message for an unknown device number", -VIO_ENODEV);
		return;
	}
	s = &b->slots[h->dev_num];
	switch (h->id) {
	case VIO_VMSG_GET_DEVICE_INFO:
		if (decode_small(b, h, msg, false, &v))
			get_device_info(b, s, h);
		break;
	case VIO_VMSG_GET_DEVICE_FEATURES:
		get_device_features(b, s, h, msg);
		break;
	case VIO_VMSG_SET_DRIVER_FEATURES:
		set_driver_features(b, s, h, msg);
		break;
	case VIO_VMSG_GET_CONFIG:
		get_config(b, s, h, msg);
		break;
	case VIO_VMSG_SET_CONFIG:
		set_config(b, s, h, msg);
		break;
	case VIO_VMSG_GET_DEVICE_STATUS:
		if (decode_small(b, h, msg, false, &v))
			reply_u32(b, h, s->dev->status);
		break;
	case VIO_VMSG_SET_DEVICE_STATUS:
		if (decode_small(b, h, msg, true, &v))
			set_device_status(b, s, h, v);
		break;
	case VIO_VMSG_GET_VQUEUE:
		if (decode_small(b, h, msg, true, &v))
			get_vqueue(b, s, h, v);
		break;
	case VIO_VMSG_SET_VQUEUE:
		set_vqueue(b, s, h, msg);
		break;
	case VIO_VMSG_RESET_VQUEUE:
		if (decode_small(b, h, msg, true, &v))
			reset_vqueue(b, s, h, v);
		break;
	case VIO_VMSG_GET_SHM:
		if (decode_small(b, h, msg, true, &v))
			get_shm(b, h, v);
		break;
	case VIO_VMSG_EVENT_AVAIL:
		event_avail(b, s, h, msg);
		break;
	default:
		/* EVENT_CONFIG and EVENT_USED travel the other way. */
		drop(b, "unsupported transport message", -VIO_ENOTSUP);
		break;
	}
}

/* --- bus messages -------------------------------------------------------- */

static void get_devices(struct vio_vmsg_dev_bus *b, const struct vio_vmsg_hdr *h, const void *msg)
{
	struct vio_vmsg_hdr r = reply_hdr(h);
	struct vio_vmsg_devices d;
	uint8_t bitmap[VIO_VMSG_GET_DEVICES_MAX / 8u] = {0};
	uint32_t fit = (b->max_msg - VIO_VMSG_SIZE_GET_DEVICES(0)) * 8u;
	uint32_t left, count, end;
	uint8_t out[VIO_VMSG_MAX_SIZE];

	if (vio_vmsg_decode_devices_req(h, msg, &d) < 0) {
		drop(b, "GET_DEVICES: bad size", -VIO_EMSGSIZE);
		return;
	}
	/* Trailing numbers past the last device hold nothing: the window stops there. */
	left = d.offset < b->count ? b->count - d.offset : 0;
	count = d.count;
	if (count > fit)
		count = fit;
	if (count > left)
		count = left;
	for (uint32_t i = 0; i < count; i++)
		bitmap[i / 8u] |= (uint8_t) (1u << (i % 8u));
	end = (uint32_t) d.offset + count;
	d.next_offset = (count > 0 && end < b->count) ? (uint16_t) end : 0;
	d.count = (uint16_t) count;
	d.bitmap = bitmap;
	bus_send(b, out, vio_vmsg_encode_devices(out, b->max_msg, &r, &d));
}

static void handle_bus(struct vio_vmsg_dev_bus *b, const struct vio_vmsg_hdr *h, const void *msg)
{
	uint32_t v;

	if (h->dev_num != 0) {
		drop(b, "bus message with a device number", -VIO_EINVAL);
		return;
	}
	switch (h->id) {
	case VIO_VMSG_BUS_GET_DEVICES:
		get_devices(b, h, msg);
		break;
	case VIO_VMSG_BUS_PING:
		if (vio_vmsg_decode_u32(h, msg, &v) < 0)
			drop(b, "PING: bad size", -VIO_EMSGSIZE);
		else
			reply_u32(b, h, v);
		break;
	default:
		drop(b, "unsupported bus message", -VIO_ENOTSUP);
		break;
	}
}

/* --- the bus ------------------------------------------------------------- */

int vio_vmsg_dev_bus_init(struct vio_vmsg_dev_bus *b, const struct vio_vmsg_dev_bus_ops *ops,
			  void *ctx, const struct vio_winmap *mem, uint32_t max_msg)
{
	*b = (struct vio_vmsg_dev_bus){0};
	if (ops == NULL || ops->send == NULL || max_msg < VIO_VMSG_MIN_BUS_SIZE)
		return -VIO_EINVAL;
	b->ops = ops;
	b->ctx = ctx;
	b->mem = mem;
	b->max_msg = max_msg > VIO_VMSG_MAX_SIZE ? VIO_VMSG_MAX_SIZE : max_msg;
	b->transport_features = 1u << VIO_VMSG_F_STRICT_CONFIG_GENERATION;
	return 0;
}

int vio_vmsg_dev_bus_add(struct vio_vmsg_dev_bus *b, struct vio_device *dev)
{
	struct vio_vmsg_dev_slot *s;

	if (b->count >= VIO_VMSG_DEV_MAX)
		return -VIO_ENOSPC;
	s = &b->slots[b->count];
	s->bus = b;
	s->dev = dev;
	s->dev_num = b->count;
	s->high_features = false;
	vio_device_attach(dev, &vmsg_tops, s, b->mem);
	b->count++;
	if (b->driver_seen) {
		struct vio_vmsg_hdr h = {.type = VIO_VMSG_TYPE_BUS,
					 .id = VIO_VMSG_BUS_EVENT_DEVICE};
		struct vio_vmsg_event_device ev = {.dev_num = s->dev_num,
						   .state = VIO_VMSG_DEVICE_ADDED};
		uint8_t out[VIO_VMSG_MAX_SIZE];

		bus_send(b, out, vio_vmsg_encode_event_device(out, b->max_msg, &h, &ev));
	}
	return s->dev_num;
}

void vio_vmsg_dev_bus_handle(struct vio_vmsg_dev_bus *b, const void *msg, uint32_t len)
{
	struct vio_vmsg_hdr h;

	if (vio_vmsg_hdr_decode(&h, msg, len, b->max_msg) < 0) {
		drop(b, "message with a bad header size", -VIO_EMSGSIZE);
		return;
	}
	b->driver_seen = true;
	if (h.type & VIO_VMSG_TYPE_RESPONSE) {
		/* The device side sends no requests, so no response is expected. */
		drop(b, "unexpected response", -VIO_EPROTO);
		return;
	}
	if (h.type & VIO_VMSG_TYPE_BUS)
		handle_bus(b, &h, msg);
	else
		handle_transport(b, &h, msg);
}

void vio_vmsg_dev_bus_reset(struct vio_vmsg_dev_bus *b)
{
	for (uint16_t i = 0; i < b->count; i++) {
		vio_device_reset(b->slots[i].dev);
		b->slots[i].high_features = false;
	}
	b->driver_seen = false;
}
