/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A hostile device side for a virtio-msg window, to test a driver that must
 * survive one: the guest tier's vmsg-hostile variant runs it against Linux's
 * vioport_vmsg.ko (docs/linux-module.md).
 *
 *   hostile_vmsg_dev --shm FILE --size N [--timeout-s S] SCENARIO...
 *
 * It maps the window file and serves one scenario per driver generation, in
 * the order given: it waits for the driver to format the window, attaches,
 * and answers as one virtio-rng device (number 0: ID 4, one queue, no
 * configuration, VERSION_1; config-length: a virtio-blk) until the driver leaves (its state word
 * leaves READY or its generation changes); then the next scenario waits for the next format. Each
 * scenario answers correctly except for one fault:
 *
 *   good           none: the driver registers the device
 *   devices-size   GET_DEVICES answer one byte longer than its count says
 *   bad-token      GET_DEVICE_INFO answered with another token only
 *   wrong-id       GET_DEVICE_INFO answered as if it were GET_DEVICE_FEATURES
 *   config-lie     GET_DEVICE_INFO claims 1000000 bytes of configuration
 *   status-range   SET_DEVICE_STATUS answered with 0x1ff
 *   vqueue-index   GET_VQUEUE answered for another queue
 *   rings-ignored  SET_VQUEUE accepted, the rings not taken (GET_VQUEUE says disabled)
 *   used-queue     EVENT_USED for queue 7 (the device has one) after DRIVER_OK
 *   msg-size       a slot whose msg_size says 200 bytes, right after attaching
 *   fifo-index     the device-to-driver head set to 5000 after GET_DEVICES
 *   stopped        the device state word set to STOPPED after GET_DEVICES
 *   restart        the device generation changed after DRIVER_OK
 *   mute           no message taken from the driver after DRIVER_OK
 *   config-length  a virtio-blk device (ID 2, 60 bytes of configuration) whose
 *                  GET_CONFIG answers carry one byte less than asked
 *   hotplug        not a fault: after the first DRIVER_OK, EVENT_DEVICE says
 *                  device 0 was removed, then added again (devices at run time)
 *
 * Prints "SCENARIO <name> attached generation <g>" and "SCENARIO <name> done"
 * lines; exits 0 once every scenario was served, 1 on a setup error or when
 * --timeout-s (default 300) passes first. It touches nothing but the window.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vioport/byteorder.h"
#include "vioport/compiler.h"
#include "vioport/errno.h"
#include "vioport/virtio.h"
#include "vioport/vmsg.h"
#include "vioport/vmsg_posix.h"
#include "vioport/vmsg_shm.h"

#define QUEUE_MAX 64u

enum fault {
	F_GOOD,
	F_DEVICES_SIZE,
	F_BAD_TOKEN,
	F_WRONG_ID,
	F_CONFIG_LIE,
	F_STATUS_RANGE,
	F_VQUEUE_INDEX,
	F_RINGS_IGNORED,
	F_USED_QUEUE,
	F_MSG_SIZE,
	F_FIFO_INDEX,
	F_STOPPED,
	F_RESTART,
	F_MUTE,
	F_CONFIG_LENGTH,
	F_HOTPLUG,
};

static const char *const fault_names[] = {
    "good",	    "devices-size",  "bad-token",     "wrong-id", "config-lie", "status-range",
    "vqueue-index", "rings-ignored", "used-queue",    "msg-size", "fifo-index", "stopped",
    "restart",	    "mute",	     "config-length", "hotplug",
};

/* The one device's state, as the driver set it. */
struct dev {
	bool mute;     /* F_MUTE after DRIVER_OK: nothing more is taken from the FIFO */
	bool hot_done; /* F_HOTPLUG: the events were sent */
	uint8_t status;
	struct vio_vmsg_vqueue q;
	bool q_enabled;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

static uint32_t load32(const uint8_t *base, uint32_t off)
{
	return vio_le32(VIO_LOAD_ACQUIRE32((const uint32_t *) (base + off)));
}

static void store32(uint8_t *base, uint32_t off, uint32_t v)
{
	VIO_STORE_RELEASE32((uint32_t *) (base + off), vio_le32(v));
}

static void send(struct vio_vmsg_shm *s, const uint8_t *msg, int len)
{
	if (len > 0 && vio_vmsg_shm_send(s, msg, (uint32_t) len) < 0)
		fprintf(stderr, "hostile: send of %d bytes failed\n", len);
}

static struct vio_vmsg_hdr reply_hdr(const struct vio_vmsg_hdr *req)
{
	struct vio_vmsg_hdr r = {
	    .type = (uint8_t) ((req->type & VIO_VMSG_TYPE_BUS) | VIO_VMSG_TYPE_RESPONSE),
	    .id = req->id,
	    .dev_num = req->dev_num,
	    .token = req->token,
	};

	return r;
}

/* Puts a raw slot into the device-to-driver FIFO, whatever its size field says. */
static void send_raw_slot(struct vio_vmsg_shm *s, uint16_t size_field)
{
	uint8_t *slot = s->tx.base + VIO_VMSG_SHM_FIFO_SLOTS + s->tx.pos * VIO_VMSG_SHM_SLOT_SIZE;

	memset(slot, 0, VIO_VMSG_SHM_SLOT_SIZE);
	slot[0] = 0;
	slot[1] = VIO_VMSG_EVENT_USED;
	vio_put_le16(slot + VIO_VMSG_SHM_MSG_SIZE_OFF, size_field);
	s->tx.pos = (s->tx.pos + 1u) % s->tx.nslots;
	VIO_STORE_RELEASE32((uint32_t *) s->tx.base, vio_le32(s->tx.pos));
}

static void bus_message(struct vio_vmsg_shm *s, enum fault f, const struct vio_vmsg_hdr *h,
			const uint8_t *msg)
{
	struct vio_vmsg_hdr r = reply_hdr(h);
	uint8_t out[VIO_VMSG_MAX_SIZE];
	struct vio_vmsg_devices req, rep;
	uint8_t bitmap[VIO_VMSG_GET_DEVICES_MAX / 8u] = {1}; /* device 0 only */
	int len;

	if (h->id != VIO_VMSG_BUS_GET_DEVICES || vio_vmsg_decode_devices_req(h, msg, &req) < 0)
		return;
	rep.offset = req.offset;
	rep.next_offset = 0;
	rep.count = req.count > 8u ? 8u : req.count;
	if (req.offset != 0)
		bitmap[0] = 0;
	rep.bitmap = bitmap;
	len = vio_vmsg_encode_devices(out, sizeof(out), &r, &rep);
	if (f == F_DEVICES_SIZE && len > 0 && len < (int) sizeof(out)) {
		out[len] = 0;
		len++;
		vio_put_le16(out + 6, (uint16_t) len);
	}
	send(s, out, len);
	if (f == F_FIFO_INDEX)
		store32(s->tx.base, 0, 5000u);
	if (f == F_STOPPED)
		vio_vmsg_shm_stop(s);
}

static void device_message(struct vio_vmsg_shm *s, enum fault f, struct dev *d,
			   const struct vio_vmsg_hdr *h, const uint8_t *msg)
{
	struct vio_vmsg_hdr r = reply_hdr(h);
	uint8_t out[VIO_VMSG_MAX_SIZE];
	uint32_t v = 0;
	int len = -1;

	if (h->dev_num != 0)
		return;
	switch (h->id) {
	case VIO_VMSG_GET_DEVICE_INFO: {
		struct vio_vmsg_device_info info = {.device_id = VIO_ID_RNG,
						    .num_feature_blocks = 2,
						    .config_size = 0,
						    .max_virtqueues = 1};

		if (f == F_CONFIG_LIE)
			info.config_size = 1000000u;
		if (f == F_CONFIG_LENGTH) {
			info.device_id = VIO_ID_BLK;
			info.config_size = 60u;
		}
		if (f == F_BAD_TOKEN)
			r.token = (uint16_t) (h->token + 1u);
		if (f == F_WRONG_ID)
			r.id = VIO_VMSG_GET_DEVICE_FEATURES;
		len = vio_vmsg_encode_device_info(out, sizeof(out), &r, &info);
		break;
	}
	case VIO_VMSG_GET_DEVICE_FEATURES: {
		struct vio_vmsg_features req, rep = {.index = 0, .count = 2};

		if (vio_vmsg_decode_features_req(h, msg, &req) < 0)
			return;
		rep.index = req.index;
		rep.count = req.count > 2u ? 2u : req.count;
		if (rep.index == 0 && rep.count == 2)
			rep.blocks[1] = 1u; /* VIRTIO_F_VERSION_1, bit 32 */
		len = vio_vmsg_encode_features(out, sizeof(out), &r, &rep);
		break;
	}
	case VIO_VMSG_SET_DRIVER_FEATURES:
		len = vio_vmsg_encode_empty(out, sizeof(out), &r);
		break;
	case VIO_VMSG_GET_DEVICE_STATUS:
		len = vio_vmsg_encode_u32(out, sizeof(out), &r, d->status);
		break;
	case VIO_VMSG_SET_DEVICE_STATUS:
		if (vio_vmsg_decode_u32(h, msg, &v) < 0)
			return;
		d->status = (uint8_t) v;
		if (v == 0)
			d->q_enabled = false;
		len = vio_vmsg_encode_u32(out, sizeof(out), &r,
					  f == F_STATUS_RANGE ? 0x1FFu : d->status);
		send(s, out, len);
		if ((v & VIO_STATUS_DRIVER_OK) && f == F_USED_QUEUE) {
			struct vio_vmsg_hdr e = {.type = 0, .id = VIO_VMSG_EVENT_USED};

			send(s, out, vio_vmsg_encode_u32(out, sizeof(out), &e, 7u));
		}
		if ((v & VIO_STATUS_DRIVER_OK) && f == F_MUTE)
			d->mute = true;
		if ((v & VIO_STATUS_DRIVER_OK) && f == F_HOTPLUG && !d->hot_done) {
			struct vio_vmsg_hdr e = {.type = VIO_VMSG_TYPE_BUS,
						 .id = VIO_VMSG_BUS_EVENT_DEVICE};
			struct vio_vmsg_event_device ev = {.dev_num = 0,
							   .state = VIO_VMSG_DEVICE_REMOVED};

			d->hot_done = true;
			send(s, out, vio_vmsg_encode_event_device(out, sizeof(out), &e, &ev));
			ev.state = VIO_VMSG_DEVICE_ADDED;
			send(s, out, vio_vmsg_encode_event_device(out, sizeof(out), &e, &ev));
		}
		if ((v & VIO_STATUS_DRIVER_OK) && f == F_RESTART)
			store32(s->base, VIO_VMSG_SHM_OFF_DEV_GEN,
				load32(s->base, VIO_VMSG_SHM_OFF_DEV_GEN) + 1u);
		return;
	case VIO_VMSG_GET_VQUEUE: {
		struct vio_vmsg_vqueue q = d->q;

		if (vio_vmsg_decode_u32(h, msg, &v) < 0)
			return;
		q.index = f == F_VQUEUE_INDEX ? v + 1u : v;
		q.max_size = v == 0 ? QUEUE_MAX : 0;
		q.flags = d->q_enabled && f != F_RINGS_IGNORED ? VIO_VMSG_VQ_ENABLED : 0;
		q.reserved = 0;
		len = vio_vmsg_encode_vqueue_info(out, sizeof(out), &r, &q);
		break;
	}
	case VIO_VMSG_SET_VQUEUE: {
		struct vio_vmsg_vqueue q;

		if (vio_vmsg_decode_set_vqueue(h, msg, &q) < 0)
			return;
		if (q.index == 0) {
			d->q = q;
			d->q_enabled =
			    (q.flags & VIO_VMSG_VQ_STATE_MASK) == VIO_VMSG_VQ_STATE_ENABLE;
		}
		len = vio_vmsg_encode_empty(out, sizeof(out), &r);
		break;
	}
	case VIO_VMSG_GET_CONFIG: {
		struct vio_vmsg_config req, rep;
		static const uint8_t zeros[VIO_VMSG_CONFIG_CHUNK_MAX];

		if (vio_vmsg_decode_config_req(h, msg, &req) < 0 ||
		    req.length > VIO_VMSG_CONFIG_CHUNK_MAX)
			return;
		rep = req;
		rep.generation = 0;
		rep.data = zeros;
		if (f == F_CONFIG_LENGTH && rep.length > 0)
			rep.length--;
		len = vio_vmsg_encode_config(out, sizeof(out), &r, &rep);
		break;
	}
	default:
		/* EVENT_AVAIL and anything else: no answer, the rings are never served. */
		return;
	}
	send(s, out, len);
}

/* Serves one scenario until the driver leaves; false if the whole run timed out. */
static bool serve(struct vio_vmsg_shm *s, enum fault f, uint64_t deadline)
{
	uint32_t gen = load32(s->base, VIO_VMSG_SHM_OFF_DRV_GEN);
	struct dev d;

	memset(&d, 0, sizeof(d));
	if (f == F_MSG_SIZE)
		send_raw_slot(s, 200u);
	while (now_ms() < deadline) {
		uint8_t msg[VIO_VMSG_MAX_SIZE];
		struct vio_vmsg_hdr h;
		int n;

		if (load32(s->base, VIO_VMSG_SHM_OFF_DRV_STATE) != VIO_VMSG_SHM_STATE_READY ||
		    load32(s->base, VIO_VMSG_SHM_OFF_DRV_GEN) != gen)
			return true;
		n = vio_vmsg_shm_stopped(s) || d.mute ? 0 : vio_vmsg_shm_recv(s, msg, sizeof(msg));
		if (n <= 0) {
			usleep(200);
			continue;
		}
		if (vio_vmsg_hdr_decode(&h, msg, (uint32_t) n, VIO_VMSG_MAX_SIZE) < 0 ||
		    (h.type & VIO_VMSG_TYPE_RESPONSE))
			continue;
		if (h.type & VIO_VMSG_TYPE_BUS)
			bus_message(s, f, &h, msg);
		else
			device_message(s, f, &d, &h, msg);
	}
	return false;
}

static int fault_of(const char *name)
{
	for (unsigned i = 0; i < sizeof(fault_names) / sizeof(fault_names[0]); i++)
		if (strcmp(name, fault_names[i]) == 0)
			return (int) i;
	return -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"shm", required_argument, NULL, 's'},
					     {"size", required_argument, NULL, 'z'},
					     {"timeout-s", required_argument, NULL, 't'},
					     {NULL, 0, NULL, 0}};
	const char *path = NULL;
	unsigned long size = 0, timeout_s = 300;
	struct vio_vmsg_window w;
	char err[200];
	uint64_t deadline;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'z':
			size = strtoul(optarg, NULL, 0);
			break;
		case 't':
			timeout_s = strtoul(optarg, NULL, 0);
			break;
		default:
			return 2;
		}
	}
	if (path == NULL || size == 0 || size > UINT32_MAX || optind >= argc) {
		fprintf(
		    stderr,
		    "usage: hostile_vmsg_dev --shm FILE --size N [--timeout-s S] SCENARIO...\n");
		return 2;
	}
	for (int i = optind; i < argc; i++)
		if (fault_of(argv[i]) < 0) {
			fprintf(stderr, "hostile: unknown scenario '%s'\n", argv[i]);
			return 2;
		}
	if (vio_vmsg_window_open(&w, path, (uint32_t) size, err, sizeof(err)) < 0) {
		fprintf(stderr, "hostile: %s\n", err);
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("READY %s\n", path);
	deadline = now_ms() + (uint64_t) timeout_s * 1000u;
	for (int i = optind; i < argc; i++) {
		enum fault f = (enum fault) fault_of(argv[i]);
		struct vio_vmsg_shm s;
		int rc;

		memset(&s, 0, sizeof(s));
		while ((rc = vio_vmsg_shm_attach(&s, w.base, w.size)) == -VIO_EAGAIN &&
		       now_ms() < deadline)
			usleep(1000);
		if (rc < 0) {
			fprintf(stderr, "hostile: %s: attach failed (%d)\n", argv[i], rc);
			vio_vmsg_window_close(&w);
			return 1;
		}
		printf("SCENARIO %s attached generation %u\n", argv[i],
		       load32(w.base, VIO_VMSG_SHM_OFF_DRV_GEN));
		if (!serve(&s, f, deadline)) {
			fprintf(stderr, "hostile: %s: the driver did not leave in time\n", argv[i]);
			vio_vmsg_window_close(&w);
			return 1;
		}
		if (!vio_vmsg_shm_stopped(&s))
			vio_vmsg_shm_detach(&s);
		else
			store32(w.base, VIO_VMSG_SHM_OFF_DEV_STATE, VIO_VMSG_SHM_STATE_RESET);
		printf("SCENARIO %s done\n", argv[i]);
	}
	vio_vmsg_window_close(&w);
	return 0;
}
