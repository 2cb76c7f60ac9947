/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-gpio device model (device ID 41).
 *
 * The device parses and checks requests on the requestq and hands good ones
 * to a provider (struct vio_gpio_ops): a simulated chip, a Linux GPIO
 * character device, a microcontroller's port registers. With VIO_GPIO_F_IRQ
 * the eventq carries interrupts: the driver queues one buffer per line, which
 * unmasks it, and the device masks the line again by returning that buffer.
 * Edges seen while a line is masked are latched and delivered when it is
 * unmasked; levels are not latched but looked at again on unmask.
 *
 * GET_LINE_NAMES answers with the status byte first and the names block
 * (gpio_names_size bytes of NUL-terminated names, one per line) after it, the
 * spec's struct virtio_gpio_response_N, which is what Linux reads.
 *
 * Per-line state lives in caller storage (ngpio entries of struct
 * vio_gpio_line), so a firmware sizes it statically.
 *
 * Threading: none inside. Every call for one device, vio_gpio_line_event
 * included, comes from the same thread or event loop. A provider may call
 * vio_gpio_line_event from inside one of its own operations.
 */
#ifndef VIOPORT_GPIO_H
#define VIOPORT_GPIO_H

#include <stdbool.h>
#include <stdint.h>

#include "vioport/device.h"
#include "vioport/virtq.h"

/* Feature bits. */
#define VIO_GPIO_F_IRQ 0

/* Queues. */
#define VIO_GPIO_REQUESTQ 0
#define VIO_GPIO_EVENTQ	  1

/* Request types. */
#define VIO_GPIO_MSG_GET_LINE_NAMES 1
#define VIO_GPIO_MSG_GET_DIRECTION  2
#define VIO_GPIO_MSG_SET_DIRECTION  3
#define VIO_GPIO_MSG_GET_VALUE	    4
#define VIO_GPIO_MSG_SET_VALUE	    5
#define VIO_GPIO_MSG_SET_IRQ_TYPE   6

/* Response status. */
#define VIO_GPIO_STATUS_OK  0
#define VIO_GPIO_STATUS_ERR 1

/* Directions. */
#define VIO_GPIO_DIRECTION_NONE 0
#define VIO_GPIO_DIRECTION_OUT	1
#define VIO_GPIO_DIRECTION_IN	2

/* Interrupt types; the bits double as event bits for vio_gpio_line_event. */
#define VIO_GPIO_IRQ_TYPE_NONE	       0x00
#define VIO_GPIO_IRQ_TYPE_EDGE_RISING  0x01
#define VIO_GPIO_IRQ_TYPE_EDGE_FALLING 0x02
#define VIO_GPIO_IRQ_TYPE_EDGE_BOTH    0x03
#define VIO_GPIO_IRQ_TYPE_LEVEL_HIGH   0x04
#define VIO_GPIO_IRQ_TYPE_LEVEL_LOW    0x08

/* What a provider reports to vio_gpio_line_event: any mix of these. */
#define VIO_GPIO_EV_RISING  VIO_GPIO_IRQ_TYPE_EDGE_RISING
#define VIO_GPIO_EV_FALLING VIO_GPIO_IRQ_TYPE_EDGE_FALLING
#define VIO_GPIO_EV_HIGH    VIO_GPIO_IRQ_TYPE_LEVEL_HIGH /* the line is high now */
#define VIO_GPIO_EV_LOW	    VIO_GPIO_IRQ_TYPE_LEVEL_LOW	 /* the line is low now */

/* Status of a returned eventq buffer. */
#define VIO_GPIO_IRQ_STATUS_INVALID 0
#define VIO_GPIO_IRQ_STATUS_VALID   1

/* Byte offsets in struct virtio_gpio_config (little-endian). */
#define VIO_GPIO_CFG_NGPIO	0 /* le16 */
#define VIO_GPIO_CFG_NAMES_SIZE 4 /* le32 */
#define VIO_GPIO_CONFIG_SIZE	8
#define VIO_GPIO_REQ_SIZE	8   /* le16 type, le16 gpio, le32 value */
#define VIO_GPIO_RESP_SIZE	2   /* u8 status, u8 value */
#define VIO_GPIO_IRQ_REQ_SIZE	2   /* le16 gpio */
#define VIO_GPIO_IRQ_RESP_SIZE	1   /* u8 status */
#define VIO_GPIO_NAME_MAX	32u /* longest name kept, NUL included */
#define VIO_GPIO_SEGS		8u  /* segments one request may have */

/*
 * A GPIO controller. Lines are numbered 0 .. ngpio - 1 and the device checks
 * the number and the argument's range before each call. Each returns 0 (or
 * the value asked for) on success and a negative VIO_E* on failure, which the
 * driver sees as VIO_GPIO_STATUS_ERR.
 */
struct vio_gpio_ops {
	/* Returns the line's VIO_GPIO_DIRECTION_*. */
	int (*get_direction)(void *ctx, uint16_t line);
	/* Sets VIO_GPIO_DIRECTION_*; NONE releases the line. */
	int (*set_direction)(void *ctx, uint16_t line, uint8_t dir);
	/* Returns the line's level, 0 or 1. */
	int (*get_value)(void *ctx, uint16_t line);
	/* Sets the output level, 0 or 1 (also before the line becomes an output). */
	int (*set_value)(void *ctx, uint16_t line, uint8_t value);
	/* Arms the line for VIO_GPIO_IRQ_TYPE_*; needed only to offer VIO_GPIO_F_IRQ. */
	int (*set_irq_type)(void *ctx, uint16_t line, uint8_t type);
	/*
	 * Optional: copies up to cap bytes of the line's name (no NUL) into buf
	 * and returns the name's full length; 0 for an unnamed line. Names must
	 * not change while the device exists: their total size is in config.
	 */
	uint32_t (*line_name)(void *ctx, uint16_t line, char *buf, uint32_t cap);
};

/* Interrupt state of one line; the device owns it. */
struct vio_gpio_line {
	uint8_t irq_type; /* VIO_GPIO_IRQ_TYPE_* as the driver set it */
	bool unmasked;	  /* an eventq buffer is held for this line */
	bool latched;	  /* an edge arrived while masked */
	uint16_t ev_id;	  /* the held buffer, for push */
	uint16_t ev_ndesc;
	uint8_t *ev_status; /* its status byte in driver memory */
};

struct vio_gpio {
	struct vio_device dev;
	uint8_t config[VIO_GPIO_CONFIG_SIZE];
	const struct vio_gpio_ops *ops;
	void *ctx;
	struct vio_gpio_line *lines;
	uint16_t ngpio;
	uint32_t names_size;
	struct vio_req req;
	struct vio_iov iov[VIO_GPIO_SEGS];
	uint32_t irqs; /* eventq buffers returned VALID since init */
};

/*
 * Prepares gpio for ngpio lines (1 .. 65535) with per-line state in lines
 * (ngpio entries) over queues: two entries when features holds
 * VIO_BIT(VIO_GPIO_F_IRQ) (ops->set_irq_type then required), one otherwise,
 * each up to queue_size buffers. features may also hold INDIRECT_DESC,
 * EVENT_IDX and RING_PACKED; VERSION_1 is always offered. Attach gpio->dev to
 * a transport afterwards. Returns 0 or -VIO_EINVAL.
 */
int vio_gpio_init(struct vio_gpio *gpio, const struct vio_gpio_ops *ops, void *ctx, uint16_t ngpio,
		  struct vio_gpio_line *lines, struct vio_queue *queues, uint16_t queue_size,
		  uint64_t features);

/*
 * Reports what happened on a line (VIO_GPIO_EV_* bits: an edge and the level
 * it left the line at, or only the current level). Delivers an interrupt when
 * it matches the line's irq type and the line is unmasked, latches a matching
 * edge while it is masked, and drops the rest. Same thread as the device.
 */
void vio_gpio_line_event(struct vio_gpio *gpio, uint16_t line, uint8_t events);

#endif
