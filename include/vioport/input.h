/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-input device model (device ID 18).
 *
 * The device describes itself through the config selectors (name, serial,
 * device IDs, property bits, a bitmap of codes per event type, the range of
 * each absolute axis), all answered by a provider (struct vio_input_ops): a
 * simulated keyboard or touchscreen, a Linux evdev device, a board's buttons.
 * The driver writes select and subsel; the device answers in size and the
 * union at once.
 *
 * Input events go device to driver on the eventq. A provider hands them to
 * vio_input_send; they wait in a backlog (caller storage) until the driver
 * has buffers. Only complete reports (the events up to and including an
 * EV_SYN/SYN_REPORT) are delivered, and when the backlog is full the report
 * being built is dropped whole, so the driver never sees a report split by a
 * gap. Status events (LEDs, sounds, autorepeat) go driver to device on the
 * statusq and reach the provider's status hook when the device advertises
 * them; input types never do.
 *
 * The spec defines no feature bits for this device. A driver breaking the
 * device's own rules (an eventq buffer that is not device-writable or shorter
 * than an event, a statusq buffer shorter than an event) breaks the device as
 * a ring violation does: it has no status byte to answer with.
 *
 * Threading: none inside. Every call for one device, vio_input_send
 * included, comes from the same thread or event loop; a provider may call
 * vio_input_send from inside its status hook.
 */
#ifndef VIOPORT_INPUT_H
#define VIOPORT_INPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "vioport/device.h"
#include "vioport/virtq.h"

#define VIO_ID_INPUT 18

/* Queues. */
#define VIO_INPUT_EVENTQ  0
#define VIO_INPUT_STATUSQ 1

/* Config selectors (struct virtio_input_config.select). */
#define VIO_INPUT_CFG_UNSET	0x00
#define VIO_INPUT_CFG_ID_NAME	0x01
#define VIO_INPUT_CFG_ID_SERIAL 0x02
#define VIO_INPUT_CFG_ID_DEVIDS 0x03
#define VIO_INPUT_CFG_PROP_BITS 0x10
#define VIO_INPUT_CFG_EV_BITS	0x11
#define VIO_INPUT_CFG_ABS_INFO	0x12

/* Byte offsets in struct virtio_input_config; multi-byte fields little-endian. */
#define VIO_INPUT_CFG_SELECT   0
#define VIO_INPUT_CFG_SUBSEL   1
#define VIO_INPUT_CFG_SIZE     2
#define VIO_INPUT_CFG_U	       8   /* the union: string, bitmap, abs or ids */
#define VIO_INPUT_CFG_U_SIZE   128 /* bytes of the union */
#define VIO_INPUT_CONFIG_SIZE  136
#define VIO_INPUT_ABSINFO_SIZE 20 /* le32 min, max, fuzz, flat, res */
#define VIO_INPUT_DEVIDS_SIZE  8  /* le16 bustype, vendor, product, version */
#define VIO_INPUT_EVENT_SIZE   8  /* le16 type, le16 code, le32 value */
#define VIO_INPUT_SEGS	       8u /* segments one buffer may have */
#define VIO_INPUT_BACKLOG_MAX  32768u

/* The evdev codes the model and the simulations use (Linux input-event-codes.h). */
#define VIO_INPUT_EV_SYN	 0x00
#define VIO_INPUT_EV_KEY	 0x01
#define VIO_INPUT_EV_REL	 0x02
#define VIO_INPUT_EV_ABS	 0x03
#define VIO_INPUT_EV_MSC	 0x04
#define VIO_INPUT_EV_LED	 0x11
#define VIO_INPUT_EV_SND	 0x12
#define VIO_INPUT_EV_REP	 0x14
#define VIO_INPUT_EV_MAX	 0x1f
#define VIO_INPUT_SYN_REPORT	 0
#define VIO_INPUT_REP_DELAY	 0x00
#define VIO_INPUT_REP_PERIOD	 0x01
#define VIO_INPUT_ABS_X		 0x00
#define VIO_INPUT_ABS_Y		 0x01
#define VIO_INPUT_ABS_MT_SLOT	 0x2f
#define VIO_INPUT_ABS_MT_POS_X	 0x35
#define VIO_INPUT_ABS_MT_POS_Y	 0x36
#define VIO_INPUT_ABS_MT_TRACKID 0x39
#define VIO_INPUT_ABS_MAX	 0x3f
#define VIO_INPUT_BTN_TOUCH	 0x14a
#define VIO_INPUT_LED_NUML	 0x00
#define VIO_INPUT_LED_CAPSL	 0x01
#define VIO_INPUT_LED_SCROLLL	 0x02
#define VIO_INPUT_LED_MAX	 0x0f
#define VIO_INPUT_SND_CLICK	 0x00
#define VIO_INPUT_SND_BELL	 0x01
#define VIO_INPUT_PROP_DIRECT	 0x01
#define VIO_INPUT_BUS_VIRTUAL	 0x06

/* One event, host byte order. */
struct vio_input_event {
	uint16_t type;
	uint16_t code;
	int32_t value;
};

/* struct virtio_input_devids, host byte order. */
struct vio_input_devids {
	uint16_t bustype;
	uint16_t vendor;
	uint16_t product;
	uint16_t version;
};

/* struct virtio_input_absinfo, host byte order. */
struct vio_input_absinfo {
	int32_t min;
	int32_t max;
	int32_t fuzz;
	int32_t flat;
	int32_t res;
};

/*
 * An input device's identity and capabilities, and where status goes. The
 * answers must not change while a driver uses the device. Buffers handed to
 * the hooks are zeroed by the device; lengths beyond cap are cut to cap.
 */
struct vio_input_ops {
	/* Copies up to cap bytes of the device's name (no NUL) into buf; returns its length. */
	uint32_t (*name)(void *ctx, char *buf, uint32_t cap);
	/* Optional: the serial number, as name; 0 for none. */
	uint32_t (*serial)(void *ctx, char *buf, uint32_t cap);
	/* Optional: fills ids; returns 0, or negative when the device has none. */
	int (*devids)(void *ctx, struct vio_input_devids *ids);
	/* Optional: sets the INPUT_PROP_* bits in bitmap; returns the bytes that count, 0: none. */
	uint32_t (*prop_bits)(void *ctx, uint8_t *bitmap, uint32_t cap);
	/*
	 * Sets in bitmap the codes of event type type (0 .. VIO_INPUT_EV_MAX)
	 * the device sends (EV_LED, EV_SND: takes); returns the bytes that
	 * count, 0 when the device has no such events. A type with a size but
	 * no bits set is supported without codes (EV_REP).
	 */
	uint32_t (*ev_bits)(void *ctx, uint8_t type, uint8_t *bitmap, uint32_t cap);
	/* Optional: fills info for axis (0 .. VIO_INPUT_ABS_MAX); 0, or negative for no such axis.
	 */
	int (*abs_info)(void *ctx, uint8_t axis, struct vio_input_absinfo *info);
	/* Optional: a status event from the driver: EV_LED, EV_SND or EV_REP, a code advertised. */
	void (*status)(void *ctx, uint16_t type, uint16_t code, int32_t value);
};

struct vio_input {
	struct vio_device dev;
	uint8_t config[VIO_INPUT_CONFIG_SIZE];
	const struct vio_input_ops *ops;
	void *ctx;
	struct vio_input_event *backlog; /* caller storage, a ring of backlog_len events */
	uint32_t backlog_len;
	uint32_t head;	  /* oldest event not yet delivered */
	uint32_t ncommit; /* events of complete reports from head on */
	uint32_t nopen;	  /* events of the report still open, after those */
	bool dropping;	  /* the open report was dropped: drop the rest of it too */
	struct vio_req req;
	struct vio_iov iov[VIO_INPUT_SEGS];
	uint64_t delivered;	  /* events handed to the driver since init */
	uint64_t dropped;	  /* events dropped: backlog full or no driver */
	uint32_t dropped_reports; /* reports dropped because the backlog was full */
	uint32_t status_events;	  /* status events passed to the provider */
	uint32_t
	    status_ignored; /* status events not passed on: input types, codes not advertised */
};

/*
 * Prepares input over queues (two entries, each up to queue_size buffers)
 * with a backlog of backlog_len events (1 .. VIO_INPUT_BACKLOG_MAX; it must
 * hold the longest report the provider sends). ops->name and ops->ev_bits
 * are required. features may hold INDIRECT_DESC, EVENT_IDX and RING_PACKED;
 * VERSION_1 is always offered. Attach input->dev to a transport afterwards.
 * Returns 0 or -VIO_EINVAL.
 */
int vio_input_init(struct vio_input *input, const struct vio_input_ops *ops, void *ctx,
		   struct vio_input_event *backlog, uint32_t backlog_len, struct vio_queue *queues,
		   uint16_t queue_size, uint64_t features);

/*
 * Queues one event for the driver; an EV_SYN/SYN_REPORT completes a report,
 * which is delivered as soon as the driver has buffers for it. Returns 0;
 * -VIO_ENOSPC when the backlog is full: the report this event belongs to is
 * dropped whole (its earlier events too, its later ones up to the
 * SYN_REPORT as they come); -VIO_EAGAIN when no driver runs the device (no
 * DRIVER_OK, or broken): the event is dropped, as input nobody reads.
 */
int vio_input_send(struct vio_input *input, uint16_t type, uint16_t code, int32_t value);

/* Returns how many more events the backlog takes now. */
uint32_t vio_input_backlog_room(const struct vio_input *input);

#endif
