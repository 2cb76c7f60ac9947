/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Linux evdev provider for the virtio-input device: passes a host input
 * device (/dev/input/eventN) through to the driver (POSIX layer, not
 * freestanding).
 *
 * Identity: at open the device is asked once for everything the config
 * selectors answer (EVIOCGNAME, EVIOCGUNIQ, EVIOCGID, EVIOCGPROP, EVIOCGBIT
 * for the event types and each type's codes, EVIOCGABS for each axis it
 * has), and the ops answer from that cache: the answers must not change while
 * a driver uses the device, and the driver reads them at probe. A descriptor
 * that does not answer EVIOCGVERSION is not an evdev device and is refused.
 * A type the device has but whose codes the kernel does not list (EV_REP) is
 * answered with one zero byte: supported without codes.
 *
 * Events: the caller watches vio_host_input_fd in its loop and calls
 * vio_host_input_pump when it is readable, with the device locked. The pump
 * reads struct input_event records and keeps each report until its
 * SYN_REPORT, then hands it to vio_input_send whole, so a report is never
 * split; a report the backlog has no room for, or longer than
 * VIO_HOST_INPUT_REPORT events, is dropped whole and counted. SYN_DROPPED
 * (the kernel's buffer overflowed) throws away the report being built and
 * everything up to the next SYN_REPORT, as evdev's documentation asks.
 *
 * Grab: while a driver takes the reports (vio_input_send returns 0) the
 * device is grabbed (EVIOCGRAB), so the host's own consumers do not see the
 * input too; once the device answers -VIO_EAGAIN (no driver) the grab is
 * released and the report dropped, so the host gets its device back. The
 * caller grabs it when a driver starts (vio_host_input_grab, from the
 * device's start), so that the first report too reaches only the driver, and
 * may release it when the driver may be going away (vio_host_input_ungrab);
 * the next report a driver takes grabs it again.
 *
 * Status: LED, sound and autorepeat updates from the driver (the device model
 * passes on only those the device advertises) are written back to the evdev
 * descriptor as input_event records.
 *
 * Threading: none inside; every call on the device's thread (or with it
 * locked).
 */
#ifndef VIOPORT_HOST_INPUT_H
#define VIOPORT_HOST_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vioport/input.h"

#define VIO_HOST_INPUT_REPORT 128u /* events one report may hold, SYN_REPORT included */
#define VIO_HOST_INPUT_READ   64u  /* input_event records one pump call reads at most */
#define VIO_HOST_INPUT_BITS   128u /* bytes of a bitmap, as the config union holds */

struct vio_host_input {
	int fd;
	bool evdev;	/* opened as an evdev device: grab and status writes apply */
	bool writable;	/* opened for writing: status goes back to the device */
	bool grabbed;	/* EVIOCGRAB held */
	char path[108]; /* for messages */
	struct vio_input *dev;

	/* the identity, asked for once at open */
	char name[VIO_INPUT_CFG_U_SIZE];
	uint32_t name_len;
	char serial[VIO_INPUT_CFG_U_SIZE];
	uint32_t serial_len;
	struct vio_input_devids ids;
	bool have_ids;
	uint8_t props[VIO_HOST_INPUT_BITS];
	uint32_t props_len;
	uint8_t bits[VIO_INPUT_EV_MAX + 1][VIO_HOST_INPUT_BITS];
	uint32_t bits_len[VIO_INPUT_EV_MAX + 1];
	struct vio_input_absinfo abs[VIO_INPUT_ABS_MAX + 1];
	uint64_t abs_have; /* a bit per axis with its info */

	/* the pump */
	struct vio_input_event report[VIO_HOST_INPUT_REPORT];
	uint32_t nreport;
	bool overlong;	     /* the report being built went past VIO_HOST_INPUT_REPORT */
	bool resyncing;	     /* after SYN_DROPPED: drop up to the next SYN_REPORT */
	uint8_t partial[24]; /* an input_event record read only in part */
	size_t npartial;
	uint64_t reports;	  /* reports handed to the device whole */
	uint64_t dropped_reports; /* reports dropped: no driver, no room, too long, resync */
	uint64_t status_written;  /* status events written back */
	int grab_error;		  /* the last failed EVIOCGRAB, -errno; 0: none */
};

/*
 * Opens the evdev device at path (read-write, else read-only: then status is
 * not written back) and reads its identity. Returns 0, or -errno with a
 * message in err: -ENOTTY when path is not an evdev device.
 */
int vio_host_input_open(struct vio_host_input *h, const char *path, char *err, size_t errlen);

/*
 * As vio_host_input_open over a descriptor already open (taken over: closed
 * by vio_host_input_close, also when this fails); name is for messages.
 */
int vio_host_input_open_fd(struct vio_host_input *h, int fd, const char *name, char *err,
			   size_t errlen);

/*
 * The event pump alone over fd, a stream of struct input_event records (a
 * pipe, a recording): no identity, no grab, no status. For tests and replays;
 * the fd is taken over.
 */
void vio_host_input_init_stream(struct vio_host_input *h, int fd);

/* Sends reports to dev from now on (NULL: none, input is read and dropped). */
void vio_host_input_attach(struct vio_host_input *h, struct vio_input *dev);

/* The descriptor to watch for input. */
int vio_host_input_fd(const struct vio_host_input *h);

/*
 * Reads what input there is (at most VIO_HOST_INPUT_READ records) and hands
 * each complete report to the device. Returns the reports handed over (0
 * included), -EPIPE at end of file (the device went away, or the writer of a
 * stream closed), or -errno of the read.
 */
int vio_host_input_pump(struct vio_host_input *h);

/*
 * Grabs the device for a driver that is starting (DRIVER_OK), before its
 * first report: input from then on reaches only the driver. A grab another
 * program holds is left to it (grab_error says so).
 */
void vio_host_input_grab(struct vio_host_input *h);

/* Releases the grab, if held; the next report a driver takes grabs the device again. */
void vio_host_input_ungrab(struct vio_host_input *h);

/* Releases the grab and closes the device. */
void vio_host_input_close(struct vio_host_input *h);

/* The input provider table over a struct vio_host_input context. */
extern const struct vio_input_ops vio_host_input_ops;

#endif
