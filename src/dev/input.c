/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-input: config selectors, a backlog of whole reports to the eventq, status to a provider.
 */
#include "vioport/input.h"
#include "vioport/byteorder.h"
#include "vioport/errno.h"

#include <string.h>

/* IN_ORDER is left out: the core does not implement it. */
#define INPUT_FEATURES                                                                             \
	(VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) | VIO_BIT(VIO_F_RING_PACKED) |    \
	 VIO_BIT(VIO_F_VERSION_1))

static uint32_t input_cap(uint32_t len)
{
	return len > VIO_INPUT_CFG_U_SIZE ? VIO_INPUT_CFG_U_SIZE : len;
}

/* Answers select/subsel in size and the union; 0 for every combination the device lacks. */
static void input_select(struct vio_input *input)
{
	const struct vio_input_ops *ops = input->ops;
	uint8_t sel = input->config[VIO_INPUT_CFG_SELECT];
	uint8_t sub = input->config[VIO_INPUT_CFG_SUBSEL];
	uint8_t *u = input->config + VIO_INPUT_CFG_U;
	uint32_t size = 0;

	memset(u, 0, VIO_INPUT_CFG_U_SIZE);
	switch (sel) {
	case VIO_INPUT_CFG_ID_NAME:
		if (sub == 0)
			size = ops->name(input->ctx, (char *) u, VIO_INPUT_CFG_U_SIZE);
		break;
	case VIO_INPUT_CFG_ID_SERIAL:
		if (sub == 0 && ops->serial != NULL)
			size = ops->serial(input->ctx, (char *) u, VIO_INPUT_CFG_U_SIZE);
		break;
	case VIO_INPUT_CFG_ID_DEVIDS: {
		struct vio_input_devids ids;

		if (sub != 0 || ops->devids == NULL || ops->devids(input->ctx, &ids) < 0)
			break;
		vio_put_le16(u, ids.bustype);
		vio_put_le16(u + 2, ids.vendor);
		vio_put_le16(u + 4, ids.product);
		vio_put_le16(u + 6, ids.version);
		size = VIO_INPUT_DEVIDS_SIZE;
		break;
	}
	case VIO_INPUT_CFG_PROP_BITS:
		if (sub == 0 && ops->prop_bits != NULL)
			size = ops->prop_bits(input->ctx, u, VIO_INPUT_CFG_U_SIZE);
		break;
	case VIO_INPUT_CFG_EV_BITS:
		if (sub <= VIO_INPUT_EV_MAX)
			size = ops->ev_bits(input->ctx, sub, u, VIO_INPUT_CFG_U_SIZE);
		break;
	case VIO_INPUT_CFG_ABS_INFO: {
		struct vio_input_absinfo a;

		if (sub > VIO_INPUT_ABS_MAX || ops->abs_info == NULL ||
		    ops->abs_info(input->ctx, sub, &a) < 0)
			break;
		vio_put_le32(u, (uint32_t) a.min);
		vio_put_le32(u + 4, (uint32_t) a.max);
		vio_put_le32(u + 8, (uint32_t) a.fuzz);
		vio_put_le32(u + 12, (uint32_t) a.flat);
		vio_put_le32(u + 16, (uint32_t) a.res);
		size = VIO_INPUT_ABSINFO_SIZE;
		break;
	}
	default:
		break;
	}
	size = input_cap(size);
	/* a provider that wrote past what it counted: the driver must read zeroes there */
	memset(u + size, 0, VIO_INPUT_CFG_U_SIZE - size);
	input->config[VIO_INPUT_CFG_SIZE] = (uint8_t) size;
}

/* The driver may write select and subsel only (spec 5.8.5.1); the answer is ready at once. */
static int input_write_config(struct vio_device *dev, uint32_t off, const void *buf, uint32_t len)
{
	struct vio_input *input = dev->priv;

	if (off + len > VIO_INPUT_CFG_SIZE)
		return -VIO_EPERM;
	memcpy(input->config + off, buf, len);
	input_select(input);
	return 0;
}

/* The backlog slot n events after head. */
static struct vio_input_event *input_slot(struct vio_input *input, uint32_t n)
{
	uint32_t i = input->head + n;

	return &input->backlog[i >= input->backlog_len ? i - input->backlog_len : i];
}

/*
 * Writes one event into an eventq buffer; false when the buffer breaks the
 * spec's rule (device-writable only, room for one event), which breaks the
 * device: there is no status to answer with.
 */
static bool input_put_event(const struct vio_req *r, const struct vio_input_event *ev,
			    uint32_t *len)
{
	uint8_t raw[VIO_INPUT_EVENT_SIZE];
	uint16_t n = r->nwrite;

	if (r->nread != 0 || r->write_len < VIO_INPUT_EVENT_SIZE)
		return false;
	/* after an overflow only the first cap - 1 segments are contiguous */
	if (r->flags & VIO_REQ_F_OVERFLOW)
		n--;
	vio_put_le16(raw, ev->type);
	vio_put_le16(raw + 2, ev->code);
	vio_put_le32(raw + 4, (uint32_t) ev->value);
	/* a legal chain of one-byte segments longer than cap: given back empty, event kept */
	*len = vio_iov_from_buf(r->iov, n, 0, raw, sizeof(raw)) == sizeof(raw) ? sizeof(raw) : 0;
	return true;
}

/* Hands complete reports to the driver while it has buffers. */
static void input_deliver(struct vio_input *input)
{
	struct vio_device *dev = &input->dev;
	bool pushed = false;

	while (input->ncommit != 0 && vio_device_queue_live(dev, VIO_INPUT_EVENTQ)) {
		uint32_t len = 0;

		input->req.iov = input->iov;
		input->req.cap = VIO_INPUT_SEGS;
		if (vio_device_pop(dev, VIO_INPUT_EVENTQ, &input->req) != 1)
			break;
		if (!input_put_event(&input->req, input_slot(input, 0), &len)) {
			vio_device_break(dev, -VIO_EPROTO);
			break;
		}
		vio_vq_push(&dev->queues[VIO_INPUT_EVENTQ].vq, input->req.id, input->req.ndesc,
			    len);
		pushed = true;
		if (len == 0)
			continue;
		input->delivered++;
		input->head = input->head + 1 == input->backlog_len ? 0 : input->head + 1;
		input->ncommit--;
	}
	if (pushed)
		vio_device_flush(dev, VIO_INPUT_EVENTQ);
}

/* A driver runs the device: events now reach it, sooner or later. */
static bool input_running(const struct vio_input *input)
{
	uint8_t s = input->dev.status;

	return (s & VIO_STATUS_DRIVER_OK) && !(s & (VIO_STATUS_NEEDS_RESET | VIO_STATUS_FAILED));
}

int vio_input_send(struct vio_input *input, uint16_t type, uint16_t code, int32_t value)
{
	bool syn = type == VIO_INPUT_EV_SYN && code == VIO_INPUT_SYN_REPORT;
	struct vio_input_event *ev;

	if (input == NULL)
		return -VIO_EINVAL;
	if (!input_running(input)) {
		input->dropped++;
		return -VIO_EAGAIN;
	}
	if (input->dropping || input->ncommit + input->nopen == input->backlog_len) {
		if (!input->dropping) {
			input->dropped_reports++;
			input->dropped += input->nopen;
			input->nopen = 0;
		}
		input->dropped++;
		input->dropping = !syn;
		return -VIO_ENOSPC;
	}
	ev = input_slot(input, input->ncommit + input->nopen);
	ev->type = type;
	ev->code = code;
	ev->value = value;
	input->nopen++;
	if (syn) {
		input->ncommit += input->nopen;
		input->nopen = 0;
		input_deliver(input);
	}
	return 0;
}

uint32_t vio_input_backlog_room(const struct vio_input *input)
{
	return input->backlog_len - input->ncommit - input->nopen;
}

/*
 * Says whether a status event may go to the provider: an output type (LEDs,
 * sounds, autorepeat) with a code the device advertises. Input types never
 * do: a provider that writes status to a real device must not let a driver
 * inject key presses or motion there.
 */
static bool input_status_ok(struct vio_input *input, uint16_t type, uint16_t code)
{
	uint8_t bits[VIO_INPUT_CFG_U_SIZE];
	uint32_t size;

	if (type != VIO_INPUT_EV_LED && type != VIO_INPUT_EV_SND && type != VIO_INPUT_EV_REP)
		return false;
	memset(bits, 0, sizeof(bits));
	size = input_cap(input->ops->ev_bits(input->ctx, (uint8_t) type, bits, sizeof(bits)));
	if (size == 0)
		return false;
	/* evdev has no code bitmap for autorepeat: its two parameters are the codes */
	if (type == VIO_INPUT_EV_REP)
		return code <= VIO_INPUT_REP_PERIOD;
	return code / 8u < size && (bits[code / 8u] >> (code % 8u)) & 1u;
}

/* Takes the driver's status events: the first event of each buffer goes to the provider. */
static void input_run_statusq(struct vio_input *input)
{
	struct vio_device *dev = &input->dev;
	bool pushed = false;

	while (vio_device_queue_live(dev, VIO_INPUT_STATUSQ)) {
		uint8_t raw[VIO_INPUT_EVENT_SIZE];
		uint16_t n;
		uint16_t type, code;
		int32_t value;

		input->req.iov = input->iov;
		input->req.cap = VIO_INPUT_SEGS;
		if (vio_device_pop(dev, VIO_INPUT_STATUSQ, &input->req) != 1)
			break;
		n = input->req.nread;
		if ((input->req.flags & VIO_REQ_F_OVERFLOW) && n == VIO_INPUT_SEGS)
			n--; /* the last slot holds the chain's last segment, not the next one */
		if (input->req.read_len < VIO_INPUT_EVENT_SIZE) {
			vio_device_break(dev, -VIO_EPROTO);
			break;
		}
		vio_vq_push(&dev->queues[VIO_INPUT_STATUSQ].vq, input->req.id, input->req.ndesc, 0);
		pushed = true;
		if (vio_iov_to_buf(input->iov, n, 0, raw, sizeof(raw)) != sizeof(raw)) {
			input->status_ignored++; /* a legal chain of one-byte segments longer than
						    cap */
			continue;
		}
		type = vio_get_le16(raw);
		code = vio_get_le16(raw + 2);
		value = (int32_t) vio_get_le32(raw + 4);
		if (!input_status_ok(input, type, code)) {
			input->status_ignored++;
			continue;
		}
		input->status_events++;
		if (input->ops->status != NULL)
			input->ops->status(input->ctx, type, code, value);
	}
	if (pushed)
		vio_device_flush(dev, VIO_INPUT_STATUSQ);
}

static void input_queue_notify(struct vio_device *dev, uint16_t q)
{
	struct vio_input *input = dev->priv;

	if (q == VIO_INPUT_EVENTQ)
		input_deliver(input);
	else if (q == VIO_INPUT_STATUSQ)
		input_run_statusq(input);
}

/* Events queued for the last driver are stale for the next one; select starts unset. */
static void input_reset(struct vio_device *dev)
{
	struct vio_input *input = dev->priv;

	input->dropped += input->ncommit + input->nopen;
	input->head = 0;
	input->ncommit = 0;
	input->nopen = 0;
	input->dropping = false;
	memset(input->config, 0, sizeof(input->config));
}

static const struct vio_device_ops input_dev_ops = {
    .write_config = input_write_config,
    .reset = input_reset,
    .queue_notify = input_queue_notify,
};

int vio_input_init(struct vio_input *input, const struct vio_input_ops *ops, void *ctx,
		   struct vio_input_event *backlog, uint32_t backlog_len, struct vio_queue *queues,
		   uint16_t queue_size, uint64_t features)
{
	if (input == NULL || ops == NULL || ops->name == NULL || ops->ev_bits == NULL ||
	    backlog == NULL || backlog_len == 0 || backlog_len > VIO_INPUT_BACKLOG_MAX ||
	    queues == NULL || queue_size == 0 || queue_size > VIO_VQ_MAX_SIZE ||
	    (features & ~INPUT_FEATURES) != 0)
		return -VIO_EINVAL;
	memset(input, 0, sizeof(*input));
	input->ops = ops;
	input->ctx = ctx;
	input->backlog = backlog;
	input->backlog_len = backlog_len;
	vio_device_init(&input->dev, &input_dev_ops, input, VIO_ID_INPUT, features, queues, 2,
			queue_size, input->config, sizeof(input->config));
	return 0;
}
