/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Linux evdev provider for virtio-input; see include/vioport/linux_input.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vioport/errno.h"
#include "vioport/linux_input.h"

_Static_assert(sizeof(struct input_event) <= sizeof(((struct vio_host_input *) 0)->partial),
	       "partial holds one record");
_Static_assert(EV_MAX == VIO_INPUT_EV_MAX && ABS_MAX == VIO_INPUT_ABS_MAX,
	       "the model's ranges are the kernel's");

static void say(char *err, size_t len, const char *fmt, const char *path, int e)
{
	if (err != NULL && len > 0)
		snprintf(err, len, fmt, path, strerror(e));
}

/* Bytes of bitmap up to its last non-zero one. */
static uint32_t bitmap_used(const uint8_t *map, uint32_t len)
{
	while (len > 0 && map[len - 1] == 0)
		len--;
	return len;
}

static bool has_bit(const uint8_t *map, uint32_t len, unsigned n)
{
	return n / 8u < len && (map[n / 8u] >> (n % 8u)) & 1u;
}

/* Asks the device for everything the config selectors answer. */
static int read_identity(struct vio_host_input *h, char *err, size_t errlen)
{
	uint8_t types[VIO_HOST_INPUT_BITS];
	struct input_id id;
	int version, n;

	/* Only evdev answers this: anything else (a tty, a pipe, a file) is refused here. */
	if (ioctl(h->fd, EVIOCGVERSION, &version) < 0) {
		int e = errno;

		say(err, errlen, "%s is not an evdev input device (EVIOCGVERSION: %s)", h->path, e);
		return e == EINVAL ? -ENOTTY : -e;
	}
	n = ioctl(h->fd, EVIOCGNAME(sizeof(h->name)), h->name);
	if (n < 0) {
		say(err, errlen, "%s: EVIOCGNAME: %s", h->path, errno);
		return -errno;
	}
	h->name_len = (uint32_t) strnlen(h->name, sizeof(h->name));
	/* A device without a serial answers ENOENT: it has none, which the spec allows. */
	n = ioctl(h->fd, EVIOCGUNIQ(sizeof(h->serial)), h->serial);
	h->serial_len = n < 0 ? 0 : (uint32_t) strnlen(h->serial, sizeof(h->serial));
	if (ioctl(h->fd, EVIOCGID, &id) == 0) {
		h->ids = (struct vio_input_devids){id.bustype, id.vendor, id.product, id.version};
		h->have_ids = true;
	}
	n = ioctl(h->fd, EVIOCGPROP(sizeof(h->props)), h->props);
	h->props_len = n < 0 ? 0 : bitmap_used(h->props, (uint32_t) n);
	memset(types, 0, sizeof(types));
	n = ioctl(h->fd, EVIOCGBIT(0, sizeof(types)), types);
	if (n < 0) {
		say(err, errlen, "%s: EVIOCGBIT: %s", h->path, errno);
		return -errno;
	}
	/* EV_SYN (type 0) is every device's and not a type the driver asks about. */
	for (unsigned t = 1; t <= EV_MAX; t++) {
		if (!has_bit(types, (uint32_t) n, t))
			continue;
		int m = ioctl(h->fd, EVIOCGBIT(t, sizeof(h->bits[t])), h->bits[t]);

		h->bits_len[t] = m < 0 ? 0 : bitmap_used(h->bits[t], (uint32_t) m);
		/* Supported but with no codes listed (EV_REP): one zero byte says so. */
		if (h->bits_len[t] == 0) {
			memset(h->bits[t], 0, sizeof(h->bits[t]));
			h->bits_len[t] = 1;
		}
	}
	for (unsigned a = 0; a <= ABS_MAX; a++) {
		struct input_absinfo ai;

		if (!has_bit(h->bits[EV_ABS], h->bits_len[EV_ABS], a) ||
		    ioctl(h->fd, EVIOCGABS(a), &ai) < 0)
			continue;
		h->abs[a] = (struct vio_input_absinfo){ai.minimum, ai.maximum, ai.fuzz, ai.flat,
						       ai.resolution};
		h->abs_have |= 1ull << a;
	}
	h->evdev = true;
	return 0;
}

int vio_host_input_open_fd(struct vio_host_input *h, int fd, const char *name, char *err,
			   size_t errlen)
{
	int fl;

	memset(h, 0, sizeof(*h));
	h->fd = fd;
	snprintf(h->path, sizeof(h->path), "%s", name != NULL ? name : "the input device");
	fl = fcntl(fd, F_GETFL);
	h->writable = fl >= 0 && (fl & O_ACCMODE) != O_RDONLY;
	if (fl >= 0 && !(fl & O_NONBLOCK))
		(void) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	return read_identity(h, err, errlen);
}

int vio_host_input_open(struct vio_host_input *h, const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

	/* Without write access the device still gives input; only status is lost. */
	if (fd < 0 && (errno == EACCES || errno == EPERM || errno == EROFS))
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int e = errno;

		memset(h, 0, sizeof(*h));
		h->fd = -1;
		say(err, errlen, "cannot open %s: %s", path, e);
		return -e;
	}
	return vio_host_input_open_fd(h, fd, path, err, errlen);
}

void vio_host_input_init_stream(struct vio_host_input *h, int fd)
{
	memset(h, 0, sizeof(*h));
	h->fd = fd;
	snprintf(h->path, sizeof(h->path), "a stream of input events");
}

void vio_host_input_attach(struct vio_host_input *h, struct vio_input *dev)
{
	h->dev = dev;
}

int vio_host_input_fd(const struct vio_host_input *h)
{
	return h->fd;
}

static void set_grab(struct vio_host_input *h, bool on)
{
	if (!h->evdev || h->grabbed == on)
		return;
	if (ioctl(h->fd, EVIOCGRAB, on ? 1 : 0) < 0) {
		/* Another program holds it: the input still comes, the host sees it too. */
		h->grab_error = -errno;
		if (on)
			return;
	}
	h->grabbed = on;
}

/* Hands the report held to the device whole, or drops it whole. */
static int flush_report(struct vio_host_input *h)
{
	uint32_t n = h->nreport;
	bool dropped = false;

	h->nreport = 0;
	if (h->overlong || h->dev == NULL || vio_input_backlog_room(h->dev) < n) {
		h->overlong = false;
		h->dropped_reports++;
		return 0;
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct vio_input_event *e = &h->report[i];
		int rc = vio_input_send(h->dev, e->type, e->code, e->value);

		if (rc == -VIO_EAGAIN) {
			/* No driver: the host gets its device back, the input is not kept. */
			set_grab(h, false);
			h->dropped_reports++;
			return 0;
		}
		if (rc < 0) {
			/* The device drops the report whole; it still takes the rest of it, up
			 * to its SYN_REPORT, so that the next report starts clean. */
			dropped = true;
			continue;
		}
		if (i == 0)
			set_grab(h, true);
	}
	if (dropped) {
		h->dropped_reports++;
		return 0;
	}
	h->reports++;
	return 1;
}

/* One input_event record from the stream. */
static int take_event(struct vio_host_input *h, const struct input_event *ev)
{
	if (ev->type == EV_SYN && ev->code == SYN_DROPPED) {
		/* Events were lost: the report being built and the rest of it are unusable. */
		h->nreport = 0;
		h->overlong = false;
		h->resyncing = true;
		h->dropped_reports++;
		return 0;
	}
	if (h->resyncing) {
		if (ev->type == EV_SYN && ev->code == SYN_REPORT)
			h->resyncing = false;
		return 0;
	}
	if (h->nreport < VIO_HOST_INPUT_REPORT)
		h->report[h->nreport++] =
		    (struct vio_input_event){ev->type, ev->code, (int32_t) ev->value};
	else
		h->overlong = true;
	if (ev->type == EV_SYN && ev->code == SYN_REPORT)
		return flush_report(h);
	return 0;
}

int vio_host_input_pump(struct vio_host_input *h)
{
	uint8_t buf[VIO_HOST_INPUT_READ * sizeof(struct input_event)];
	const size_t rec = sizeof(struct input_event);
	size_t have = h->npartial, off = 0;
	ssize_t n;
	int reports = 0;

	memcpy(buf, h->partial, have);
	n = read(h->fd, buf + have, sizeof(buf) - have);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0)
		return -EPIPE;
	have += (size_t) n;
	for (; have - off >= rec; off += rec) {
		struct input_event ev;

		memcpy(&ev, buf + off, rec);
		reports += take_event(h, &ev);
	}
	h->npartial = have - off;
	memcpy(h->partial, buf + off, h->npartial);
	return reports;
}

void vio_host_input_grab(struct vio_host_input *h)
{
	set_grab(h, true);
}

void vio_host_input_ungrab(struct vio_host_input *h)
{
	set_grab(h, false);
}

void vio_host_input_close(struct vio_host_input *h)
{
	if (h->fd >= 0) {
		set_grab(h, false);
		close(h->fd);
	}
	h->fd = -1;
	h->evdev = false;
}

/* ---- the ops, from the identity read at open ---- */

static uint32_t ops_name(void *ctx, char *buf, uint32_t cap)
{
	struct vio_host_input *h = ctx;
	uint32_t n = h->name_len < cap ? h->name_len : cap;

	memcpy(buf, h->name, n);
	return n;
}

static uint32_t ops_serial(void *ctx, char *buf, uint32_t cap)
{
	struct vio_host_input *h = ctx;
	uint32_t n = h->serial_len < cap ? h->serial_len : cap;

	memcpy(buf, h->serial, n);
	return n;
}

static int ops_devids(void *ctx, struct vio_input_devids *ids)
{
	struct vio_host_input *h = ctx;

	if (!h->have_ids)
		return -VIO_ENOENT;
	*ids = h->ids;
	return 0;
}

static uint32_t ops_prop_bits(void *ctx, uint8_t *bitmap, uint32_t cap)
{
	struct vio_host_input *h = ctx;
	uint32_t n = h->props_len < cap ? h->props_len : cap;

	memcpy(bitmap, h->props, n);
	return n;
}

static uint32_t ops_ev_bits(void *ctx, uint8_t type, uint8_t *bitmap, uint32_t cap)
{
	struct vio_host_input *h = ctx;
	uint32_t n;

	if (type > EV_MAX)
		return 0;
	n = h->bits_len[type] < cap ? h->bits_len[type] : cap;
	memcpy(bitmap, h->bits[type], n);
	return n;
}

static int ops_abs_info(void *ctx, uint8_t axis, struct vio_input_absinfo *info)
{
	struct vio_host_input *h = ctx;

	if (axis > ABS_MAX || !(h->abs_have & (1ull << axis)))
		return -VIO_ENOENT;
	*info = h->abs[axis];
	return 0;
}

/* The model passes on only LED, SND and REP codes the device has: write them back. */
static void ops_status(void *ctx, uint16_t type, uint16_t code, int32_t value)
{
	struct vio_host_input *h = ctx;
	struct input_event ev[2];

	if (!h->evdev || !h->writable)
		return;
	/* the update, then SYN_REPORT: the host's other readers see it now, not at the next report
	 */
	memset(ev, 0, sizeof(ev));
	ev[0].type = type;
	ev[0].code = code;
	ev[0].value = value;
	ev[1].type = EV_SYN;
	ev[1].code = SYN_REPORT;
	if (write(h->fd, ev, sizeof(ev)) == (ssize_t) sizeof(ev))
		h->status_written++;
}

const struct vio_input_ops vio_host_input_ops = {
    .name = ops_name,
    .serial = ops_serial,
    .devids = ops_devids,
    .prop_bits = ops_prop_bits,
    .ev_bits = ops_ev_bits,
    .abs_info = ops_abs_info,
    .status = ops_status,
};
