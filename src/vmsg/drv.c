/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-msg driver side: enumeration, bring-up and bounced requests over one bus. */
#include "vioport/byteorder.h"
#include "vioport/compiler.h"
#include "vioport/errno.h"
#include "vioport/virtio.h"
#include "vioport/vmsg_drv.h"

#include <string.h>

/* Messages handled by one pump call at most: a flooding device cannot hold the caller. */
#define PUMP_BUDGET 256u
/* Poll interval while the bus is full or nothing arrived. */
#define RETRY_US 100u
/* GET_DEVICES pages followed at most (65536 device numbers, one bit each). */
#define DEVICE_PAGES 1024u

/* --- clock and raw transfer --------------------------------------------- */

static uint64_t now(struct vio_vmsg_drv *drv)
{
	return drv->ops->now_us(drv->ctx);
}

/* Waits until deadline at most; false when it has passed already. */
static bool wait_until(struct vio_vmsg_drv *drv, uint64_t deadline)
{
	uint64_t t = now(drv), left;

	if (t >= deadline)
		return false;
	left = deadline - t;
	if (drv->ops->wait != NULL)
		drv->ops->wait(drv->ctx, left > UINT32_MAX ? UINT32_MAX : (uint32_t) left);
	return true;
}

static uint64_t deadline_of(struct vio_vmsg_drv *drv, uint32_t timeout_us)
{
	return now(drv) + timeout_us;
}

/* --- events -------------------------------------------------------------- */

static struct vio_vmsg_drv_dev *find_dev(struct vio_vmsg_drv *drv, uint16_t dev_num)
{
	for (unsigned i = 0; i < VIO_VMSG_DRV_MAX_DEVS; i++)
		if (drv->devs[i] != NULL && drv->devs[i]->dev_num == dev_num)
			return drv->devs[i];
	return NULL;
}

static void handle_bus_event(struct vio_vmsg_drv *drv, const struct vio_vmsg_hdr *h,
			     const void *msg)
{
	struct vio_vmsg_event_device ev;

	if (h->id != VIO_VMSG_BUS_EVENT_DEVICE || vio_vmsg_decode_event_device(h, msg, &ev) < 0) {
		drv->dropped++;
		return;
	}
	drv->device_events++;
	drv->last_event_dev = ev.dev_num;
	drv->last_event_state = ev.state;
}

static void handle_event(struct vio_vmsg_drv *drv, const struct vio_vmsg_hdr *h, const void *msg)
{
	struct vio_vmsg_drv_dev *d;
	struct vio_vmsg_event_config ec;
	uint32_t q;

	if (h->type & VIO_VMSG_TYPE_BUS) {
		handle_bus_event(drv, h, msg);
		return;
	}
	d = find_dev(drv, h->dev_num);
	if (d == NULL) {
		drv->dropped++;
		return;
	}
	if (h->id == VIO_VMSG_EVENT_USED && vio_vmsg_decode_u32(h, msg, &q) == 0 && q < d->nvqs) {
		d->vqs[q].used_event = true;
	} else if (h->id == VIO_VMSG_EVENT_CONFIG &&
		   vio_vmsg_decode_event_config(h, msg, &ec) == 0) {
		d->status = (uint8_t) ec.status;
		d->generation = ec.generation;
		d->config_events++;
		if (ec.status & VIO_STATUS_NEEDS_RESET)
			d->needs_reset = true;
		if (drv->config_cb != NULL)
			drv->config_cb(drv->config_ctx, d);
	} else {
		drv->dropped++;
	}
}

/*
 * Sorts one received message: 1 when it is the response want describes, 0
 * when it was an event or a stray (handled or counted). A response that is
 * not the answer to the request outstanding (another token: left over from an
 * earlier session of the window, late, duplicated; or the right token on
 * another ID, device number or bus, which no request of ours asked for) is a
 * stray: the draft has the driver discard it, and the request goes on waiting
 * for its own answer. A malformed answer is the caller's to judge.
 */
static int classify(struct vio_vmsg_drv *drv, const void *msg, uint32_t len,
		    const struct vio_vmsg_hdr *want, struct vio_vmsg_hdr *h)
{
	if (vio_vmsg_hdr_decode(h, msg, len, drv->max_msg) < 0) {
		drv->dropped++;
		return 0;
	}
	if (!(h->type & VIO_VMSG_TYPE_RESPONSE)) {
		handle_event(drv, h, msg);
		return 0;
	}
	if (drv->stale && h->token == drv->stale_token) {
		/* The late answer of a request that timed out. */
		drv->stale = false;
		drv->dropped++;
		return 0;
	}
	if (want == NULL || h->token != want->token || h->id != want->id ||
	    h->dev_num != want->dev_num ||
	    (h->type & VIO_VMSG_TYPE_BUS) != (want->type & VIO_VMSG_TYPE_BUS)) {
		drv->dropped++;
		return 0;
	}
	return 1;
}

int vio_vmsg_drv_pump(struct vio_vmsg_drv *drv)
{
	uint8_t msg[VIO_VMSG_MAX_SIZE];
	struct vio_vmsg_hdr h;

	for (unsigned i = 0; i < PUMP_BUDGET; i++) {
		int n = drv->ops->recv(drv->ctx, msg, sizeof(msg));

		if (n <= 0)
			return n;
		classify(drv, msg, (uint32_t) n, NULL, &h);
	}
	return 0;
}

/* Sends one message, waiting while the bus is full (events are handled meanwhile). */
static int send_msg(struct vio_vmsg_drv *drv, const void *msg, uint32_t len)
{
	uint64_t deadline = deadline_of(drv, drv->timeout_us);

	for (;;) {
		int rc = drv->ops->send(drv->ctx, msg, len);

		if (rc != -VIO_ENOSPC)
			return rc;
		rc = vio_vmsg_drv_pump(drv);
		if (rc < 0)
			return rc;
		if (!wait_until(drv, deadline))
			return -VIO_ETIMEDOUT;
	}
}

/* --- synchronous requests ------------------------------------------------ */

static struct vio_vmsg_hdr req_hdr(struct vio_vmsg_drv *drv, bool bus, uint16_t dev_num, uint8_t id)
{
	struct vio_vmsg_hdr h = {.type = bus ? VIO_VMSG_TYPE_BUS : 0, .id = id, .dev_num = dev_num};

	if (++drv->next_token == 0)
		drv->next_token = 1;
	h.token = drv->next_token;
	return h;
}

/* The device answered out of protocol: it stays unusable until reset. */
static int broken(struct vio_vmsg_drv_dev *d)
{
	if (d != NULL)
		d->broken = true;
	return -VIO_EPROTO;
}

/*
 * Sends the encoded request (len bytes, or the encoder's error) and receives
 * until its response arrives in resp (header in *rh).
 */
static int transact(struct vio_vmsg_drv *drv, struct vio_vmsg_drv_dev *d, const void *req, int len,
		    const struct vio_vmsg_hdr *want, uint8_t *resp, struct vio_vmsg_hdr *rh)
{
	uint64_t deadline;
	int rc;

	if (len < 0)
		return len;
	if (d != NULL && d->broken)
		return -VIO_EPROTO;
	rc = send_msg(drv, req, (uint32_t) len);
	if (rc < 0)
		return rc;
	deadline = deadline_of(drv, drv->timeout_us);
	for (;;) {
		int n = drv->ops->recv(drv->ctx, resp, VIO_VMSG_MAX_SIZE);

		if (n < 0)
			return n;
		if (n > 0) {
			if (classify(drv, resp, (uint32_t) n, want, rh) == 1)
				return 0;
			continue;
		}
		if (!wait_until(drv, deadline)) {
			drv->stale = true;
			drv->stale_token = want->token;
			return -VIO_ETIMEDOUT;
		}
	}
}

static int set_status(struct vio_vmsg_drv_dev *d, uint8_t status)
{
	struct vio_vmsg_drv *drv = d->drv;
	struct vio_vmsg_hdr h = req_hdr(drv, false, d->dev_num, VIO_VMSG_SET_DEVICE_STATUS), rh;
	uint8_t out[VIO_VMSG_MAX_SIZE], in[VIO_VMSG_MAX_SIZE];
	uint32_t st;
	int rc;

	rc = transact(drv, d, out, vio_vmsg_encode_u32(out, drv->max_msg, &h, status), &h, in, &rh);
	if (rc < 0)
		return rc;
	if (vio_vmsg_decode_u32(&rh, in, &st) < 0 || st > UINT8_MAX)
		return broken(d);
	d->status = (uint8_t) st;
	return 0;
}

int vio_vmsg_drv_get_status(struct vio_vmsg_drv_dev *d, uint8_t *status)
{
	struct vio_vmsg_drv *drv = d->drv;
	struct vio_vmsg_hdr h = req_hdr(drv, false, d->dev_num, VIO_VMSG_GET_DEVICE_STATUS), rh;
	uint8_t out[VIO_VMSG_MAX_SIZE], in[VIO_VMSG_MAX_SIZE];
	uint32_t st;
	int rc;

	rc = transact(drv, d, out, vio_vmsg_encode_empty(out, drv->max_msg, &h), &h, in, &rh);
	if (rc < 0)
		return rc;
	if (vio_vmsg_decode_u32(&rh, in, &st) < 0 || st > UINT8_MAX)
		return broken(d);
	d->status = (uint8_t) st;
	if (st & VIO_STATUS_NEEDS_RESET)
		d->needs_reset = true;
	*status = d->status;
	return 0;
}

int vio_vmsg_drv_ping(struct vio_vmsg_drv *drv, uint32_t value)
{
	struct vio_vmsg_hdr h = req_hdr(drv, true, 0, VIO_VMSG_BUS_PING), rh;
	uint8_t out[VIO_VMSG_MAX_SIZE], in[VIO_VMSG_MAX_SIZE];
	uint32_t echo;
	int rc;

	rc = transact(drv, NULL, out, vio_vmsg_encode_u32(out, drv->max_msg, &h, value), &h, in,
		      &rh);
	if (rc < 0)
		return rc;
	if (vio_vmsg_decode_u32(&rh, in, &echo) < 0 || echo != value)
		return -VIO_EPROTO;
	return 0;
}

int vio_vmsg_drv_get_devices(struct vio_vmsg_drv *drv, uint8_t *bitmap, uint32_t bytes)
{
	uint32_t fit = (drv->max_msg - VIO_VMSG_SIZE_GET_DEVICES(0)) * 8u;
	uint16_t offset = 0;
	int total = 0;

	memset(bitmap, 0, bytes);
	for (unsigned page = 0; page < DEVICE_PAGES; page++) {
		struct vio_vmsg_hdr h = req_hdr(drv, true, 0, VIO_VMSG_BUS_GET_DEVICES), rh;
		struct vio_vmsg_devices req = {.offset = offset, .count = (uint16_t) fit}, r;
		uint8_t out[VIO_VMSG_MAX_SIZE], in[VIO_VMSG_MAX_SIZE];
		int rc;

		rc =
		    transact(drv, NULL, out,
			     vio_vmsg_encode_devices_req(out, drv->max_msg, &h, &req), &h, in, &rh);
		if (rc < 0)
			return rc;
		if (vio_vmsg_decode_devices(&rh, in, &r) < 0 || r.offset != offset || r.count > fit)
			return -VIO_EPROTO;
		for (uint32_t i = 0; i < r.count; i++) {
			uint32_t n = (uint32_t) offset + i;

			if (!((r.bitmap[i / 8u] >> (i % 8u)) & 1u))
				continue;
			total++;
			if (n < 8u * bytes)
				bitmap[n / 8u] |= (uint8_t) (1u << (n % 8u));
		}
		if (r.next_offset == 0)
			return total;
		/* A page that does not move forward would loop for ever. */
		if (r.next_offset <= offset)
			return -VIO_EPROTO;
		offset = r.next_offset;
	}
	return -VIO_EPROTO;
}

static int device_info(struct vio_vmsg_drv *drv, struct vio_vmsg_drv_dev *d, uint16_t dev_num,
		       struct vio_vmsg_device_info *info)
{
	struct vio_vmsg_hdr h = req_hdr(drv, false, dev_num, VIO_VMSG_GET_DEVICE_INFO), rh;
	uint8_t out[VIO_VMSG_MAX_SIZE], in[VIO_VMSG_MAX_SIZE];
	int rc;

	rc = transact(drv, d, out, vio_vmsg_encode_empty(out, drv->max_msg, &h), &h, in, &rh);
	if (rc < 0)
		return rc;
	if (vio_vmsg_decode_device_info(&rh, in, info) < 0)
		return broken(d);
	return 0;
}

int vio_vmsg_drv_device_info(struct vio_vmsg_drv *drv, uint16_t dev_num,
			     struct vio_vmsg_device_info *info)
{
	return device_info(drv, find_dev(drv, dev_num), dev_num, info);
}

/* --- area allocator ------------------------------------------------------ */

static bool chunk_used(const struct vio_vmsg_drv_area *a, uint32_t i)
{
	return (a->map[i / 32u] >> (i % 32u)) & 1u;
}

static void chunk_mark(struct vio_vmsg_drv_area *a, uint32_t first, uint32_t n, bool used)
{
	for (uint32_t i = first; i < first + n; i++) {
		if (used)
			a->map[i / 32u] |= 1u << (i % 32u);
		else
			a->map[i / 32u] &= ~(1u << (i % 32u));
	}
}

static uint32_t chunks_for(uint32_t len)
{
	return len == 0
		   ? 1u
		   : (uint32_t) (((uint64_t) len + VIO_VMSG_DRV_CHUNK - 1u) / VIO_VMSG_DRV_CHUNK);
}

int64_t vio_vmsg_drv_area_alloc(struct vio_vmsg_drv *drv, uint32_t len)
{
	struct vio_vmsg_drv_area *a = &drv->area;
	uint32_t n = chunks_for(len), run = 0, start = 0;

	for (uint32_t i = 0; i < a->chunks; i++) {
		if (chunk_used(a, i)) {
			run = 0;
			continue;
		}
		if (run++ == 0)
			start = i;
		if (run == n) {
			chunk_mark(a, start, n, true);
			a->used += n;
			return (int64_t) a->off + (int64_t) start * VIO_VMSG_DRV_CHUNK;
		}
	}
	return -VIO_ENOMEM;
}

void vio_vmsg_drv_area_free(struct vio_vmsg_drv *drv, uint32_t off, uint32_t len)
{
	struct vio_vmsg_drv_area *a = &drv->area;
	uint32_t n = chunks_for(len), first;

	if (off < a->off || (off - a->off) % VIO_VMSG_DRV_CHUNK != 0)
		return;
	first = (off - a->off) / VIO_VMSG_DRV_CHUNK;
	if (first >= a->chunks || n > a->chunks - first)
		return;
	chunk_mark(a, first, n, false);
	a->used -= n <= a->used ? n : a->used;
}

/* --- set-up --------------------------------------------------------------- */

int vio_vmsg_drv_init(struct vio_vmsg_drv *drv, const struct vio_vmsg_drv_ops *ops, void *ctx,
		      void *win, uint32_t win_size, uint32_t area_off, uint32_t area_size,
		      uint32_t *map, uint32_t map_words, uint32_t max_msg)
{
	uint64_t start, end, chunks;

	memset(drv, 0, sizeof(*drv));
	if (ops == NULL || ops->send == NULL || ops->recv == NULL || ops->now_us == NULL ||
	    win == NULL || map == NULL || max_msg < VIO_VMSG_MIN_BUS_SIZE ||
	    (uint64_t) area_off + area_size > win_size)
		return -VIO_EINVAL;
	start =
	    ((uint64_t) area_off + VIO_VMSG_DRV_CHUNK - 1u) & ~(uint64_t) (VIO_VMSG_DRV_CHUNK - 1u);
	end = (uint64_t) area_off + area_size;
	chunks = end > start ? (end - start) / VIO_VMSG_DRV_CHUNK : 0;
	if (chunks > (uint64_t) map_words * 32u)
		chunks = (uint64_t) map_words * 32u;
	if (chunks == 0)
		return -VIO_EINVAL;
	drv->ops = ops;
	drv->ctx = ctx;
	drv->win = win;
	drv->win_size = win_size;
	drv->max_msg = max_msg > VIO_VMSG_MAX_SIZE ? VIO_VMSG_MAX_SIZE : max_msg;
	drv->timeout_us = VIO_VMSG_DRV_TIMEOUT_US;
	drv->area.off = (uint32_t) start;
	drv->area.chunks = (uint32_t) chunks;
	drv->area.map = map;
	memset(map, 0, ((chunks + 31u) / 32u) * sizeof(*map));
	return 0;
}

static int shm_send(void *ctx, const void *msg, uint32_t len)
{
	struct vio_vmsg_drv_shm *b = ctx;
	int rc = vio_vmsg_shm_send(b->shm, msg, len);

	if (rc == 0)
		vio_vmsg_shm_ring(b->shm);
	return rc;
}

static int shm_recv(void *ctx, void *buf, uint32_t cap)
{
	struct vio_vmsg_drv_shm *b = ctx;

	/* A message with a bad size field is dropped by shm and the FIFO stays usable. */
	for (unsigned i = 0; i < PUMP_BUDGET; i++) {
		int rc = vio_vmsg_shm_recv(b->shm, buf, cap);

		if (rc != -VIO_EIO || vio_vmsg_shm_stopped(b->shm))
			return rc;
	}
	return 0;
}

static void shm_wait(void *ctx, uint32_t timeout_us)
{
	struct vio_vmsg_drv_shm *b = ctx;

	if (b->wait != NULL)
		b->wait(b->os_ctx, timeout_us);
}

static uint64_t shm_now(void *ctx)
{
	struct vio_vmsg_drv_shm *b = ctx;

	return b->now_us(b->os_ctx);
}

const struct vio_vmsg_drv_ops vio_vmsg_drv_shm_ops = {
    .send = shm_send,
    .recv = shm_recv,
    .wait = shm_wait,
    .now_us = shm_now,
};

int vio_vmsg_drv_init_shm(struct vio_vmsg_drv *drv, struct vio_vmsg_drv_shm *binding, uint32_t *map,
			  uint32_t map_words)
{
	struct vio_vmsg_shm *s = binding != NULL ? binding->shm : NULL;

	int rc;

	if (s == NULL || binding->now_us == NULL || s->is_device) {
		memset(drv, 0, sizeof(*drv));
		return -VIO_EINVAL;
	}
	rc = vio_vmsg_drv_init(drv, &vio_vmsg_drv_shm_ops, binding, s->base, s->size, s->area_off,
			       s->area_size, map, map_words, s->tx.max_msg);
	/*
	 * Tokens start far apart in consecutive generations of the window (an odd
	 * multiplier spreads them), so an answer left over from the previous session
	 * rarely carries a token this one uses; it would be discarded anyway.
	 */
	if (rc == 0)
		drv->next_token =
		    (uint16_t) (vio_le32(VIO_LOAD_ACQUIRE32(
				    (uint32_t *) (void *) (s->base + VIO_VMSG_SHM_OFF_DRV_GEN))) *
				0x9E37u);
	return rc;
}

int vio_vmsg_drv_dev_init(struct vio_vmsg_drv_dev *d, struct vio_vmsg_drv *drv, uint16_t dev_num,
			  struct vio_vmsg_drv_vq *vqs, uint16_t nvqs)
{
	unsigned free_slot = VIO_VMSG_DRV_MAX_DEVS;
	int rc;

	memset(d, 0, sizeof(*d));
	if ((nvqs > 0 && vqs == NULL) || find_dev(drv, dev_num) != NULL)
		return -VIO_EINVAL;
	for (unsigned i = 0; i < VIO_VMSG_DRV_MAX_DEVS; i++)
		if (drv->devs[i] == NULL) {
			free_slot = i;
			break;
		}
	if (free_slot == VIO_VMSG_DRV_MAX_DEVS)
		return -VIO_ENOSPC;
	d->drv = drv;
	d->dev_num = dev_num;
	d->vqs = vqs;
	d->nvqs = nvqs;
	if (nvqs > 0)
		memset(vqs, 0, nvqs * sizeof(*vqs));
	drv->devs[free_slot] = d;
	rc = device_info(drv, d, dev_num, &d->info);
	if (rc < 0) {
		drv->devs[free_slot] = NULL;
		return rc;
	}
	return 0;
}

/* Frees what queue vq holds in the area: rings, and bounces of requests in flight. */
static void vq_release(struct vio_vmsg_drv *drv, struct vio_vmsg_drv_vq *vq)
{
	for (unsigned r = 0; r < VIO_VMSG_DRV_QSIZE_MAX; r++) {
		struct vio_vmsg_drv_req *req = &vq->reqs[r];

		if (!req->busy)
			continue;
		for (unsigned i = 0; i < req->nseg; i++)
			vio_vmsg_drv_area_free(drv, req->bounce[i], req->seg[i].len);
		req->busy = false;
	}
	if (vq->ring_len != 0)
		vio_vmsg_drv_area_free(drv, vq->ring_off, vq->ring_len);
	memset(vq, 0, sizeof(*vq));
}

int vio_vmsg_drv_dev_reset(struct vio_vmsg_drv_dev *d)
{
	int rc;

	/* A reset is how a broken device is given another chance. */
	d->broken = false;
	rc = set_status(d, 0);
	/* The device stops touching the rings once reset; only then may they be reused. */
	if (rc == 0 && d->status != 0)
		rc = -VIO_EIO;
	if (rc == 0) {
		for (uint16_t q = 0; q < d->nvqs; q++)
			vq_release(d->drv, &d->vqs[q]);
		d->needs_reset = false;
		d->features = 0;
	}
	return rc;
}

void vio_vmsg_drv_dev_fini(struct vio_vmsg_drv_dev *d)
{
	struct vio_vmsg_drv *drv = d->drv;

	if (drv == NULL)
		return;
	if (vio_vmsg_drv_dev_reset(d) < 0) {
		/*
		 * The device did not confirm the reset: it may still write the rings,
		 * so they stay allocated rather than be handed out again.
		 */
	}
	for (unsigned i = 0; i < VIO_VMSG_DRV_MAX_DEVS; i++)
		if (drv->devs[i] == d)
			drv->devs[i] = NULL;
	d->drv = NULL;
}

static int get_features(struct vio_vmsg_drv_dev *d, uint64_t *offered)
{
	struct vio_vmsg_drv *drv = d->drv;
	struct vio_vmsg_hdr h = req_hdr(drv, false, d->dev_num, VIO_VMSG_GET_DEVICE_FEATURES), rh;
	struct vio_vmsg_features f = {.index = 0, .count = 2}, r;
	uint8_t out[VIO_VMSG_MAX_SIZE], in[VIO_VMSG_MAX_SIZE];
	int rc;

	rc = transact(drv, d, out, vio_vmsg_encode_features_req(out, drv->max_msg, &h, &f), &h, in,
		      &rh);
	if (rc < 0)
		return rc;
	if (vio_vmsg_decode_features(&rh, in, &r) < 0 || r.index != 0 || r.count != 2)
		return broken(d);
	*offered = (uint64_t) r.blocks[0] | ((uint64_t) r.blocks[1] << 32);
	return 0;
}

static int set_features(struct vio_vmsg_drv_dev *d, uint64_t features)
{
	struct vio_vmsg_drv *drv = d->drv;
	struct vio_vmsg_hdr h = req_hdr(drv, false, d->dev_num, VIO_VMSG_SET_DRIVER_FEATURES), rh;
	struct vio_vmsg_features f = {.index = 0, .count = 2};
	uint8_t out[VIO_VMSG_MAX_SIZE], in[VIO_VMSG_MAX_SIZE];
	int rc;

	f.blocks[0] = (uint32_t) features;
	f.blocks[1] = (uint32_t) (features >> 32);
	rc =
	    transact(drv, d, out, vio_vmsg_encode_features(out, drv->max_msg, &h, &f), &h, in, &rh);
	if (rc < 0)
		return rc;
	if (vio_vmsg_decode_empty(&rh, in) < 0)
		return broken(d);
	return 0;
}

/* Marks the bring-up failed on the device; the original error is what the caller hears. */
static int fail_bringup(struct vio_vmsg_drv_dev *d, int err)
{
	if (!d->broken)
		set_status(d, (uint8_t) (d->status | VIO_STATUS_FAILED));
	return err;
}

int vio_vmsg_drv_dev_negotiate(struct vio_vmsg_drv_dev *d, uint64_t want)
{
	const uint8_t up = VIO_STATUS_ACKNOWLEDGE | VIO_STATUS_DRIVER;
	uint64_t offered, feat;
	int rc;

	rc = vio_vmsg_drv_dev_reset(d);
	if (rc < 0)
		return rc;
	rc = set_status(d, VIO_STATUS_ACKNOWLEDGE);
	if (rc == 0)
		rc = set_status(d, up);
	if (rc == 0 && (d->status & up) != up)
		rc = -VIO_EIO;
	if (rc == 0)
		rc = get_features(d, &offered);
	if (rc < 0)
		return fail_bringup(d, rc);
	d->device_features = offered;
	if (!(offered & VIO_BIT(VIO_F_VERSION_1)))
		return fail_bringup(d, -VIO_ENOTSUP);
	/* Only split rings are driven here. */
	feat = (want & offered & ~VIO_BIT(VIO_F_RING_PACKED)) | VIO_BIT(VIO_F_VERSION_1);
	rc = set_features(d, feat);
	if (rc == 0)
		rc = set_status(d, up | VIO_STATUS_FEATURES_OK);
	if (rc < 0)
		return fail_bringup(d, rc);
	if (!(d->status & VIO_STATUS_FEATURES_OK))
		return fail_bringup(d, -VIO_ENOTSUP);
	d->features = feat;
	return 0;
}

static int get_vqueue(struct vio_vmsg_drv_dev *d, uint16_t q, struct vio_vmsg_vqueue *v)
{
	struct vio_vmsg_drv *drv = d->drv;
	struct vio_vmsg_hdr h = req_hdr(drv, false, d->dev_num, VIO_VMSG_GET_VQUEUE), rh;
	uint8_t out[VIO_VMSG_MAX_SIZE], in[VIO_VMSG_MAX_SIZE];
	int rc;

	rc = transact(drv, d, out, vio_vmsg_encode_u32(out, drv->max_msg, &h, q), &h, in, &rh);
	if (rc < 0)
		return rc;
	if (vio_vmsg_decode_vqueue_info(&rh, in, v) < 0 || v->index != q)
		return broken(d);
	return 0;
}

static int set_vqueue(struct vio_vmsg_drv_dev *d, const struct vio_vmsg_vqueue *v)
{
	struct vio_vmsg_drv *drv = d->drv;
	struct vio_vmsg_hdr h = req_hdr(drv, false, d->dev_num, VIO_VMSG_SET_VQUEUE), rh;
	uint8_t out[VIO_VMSG_MAX_SIZE], in[VIO_VMSG_MAX_SIZE];
	int rc;

	rc = transact(drv, d, out, vio_vmsg_encode_set_vqueue(out, drv->max_msg, &h, v), &h, in,
		      &rh);
	if (rc < 0)
		return rc;
	if (vio_vmsg_decode_empty(&rh, in) < 0)
		return broken(d);
	return 0;
}

/* Usable for requests: not broken, not waiting for a reset. */
static int dev_usable(const struct vio_vmsg_drv_dev *d)
{
	if (d->drv == NULL)
		return -VIO_EINVAL;
	if (d->broken)
		return -VIO_EPROTO;
	if (d->needs_reset)
		return -VIO_EIO;
	return 0;
}

int vio_vmsg_drv_vq_setup(struct vio_vmsg_drv_dev *d, uint16_t q, uint16_t size)
{
	struct vio_vmsg_drv *drv = d->drv;
	struct vio_vmsg_drv_vq *vq;
	struct vio_vmsg_vqueue v, set = {0};
	uint32_t limit;
	uint64_t bytes, desc, avail, used;
	int64_t off;
	int rc = dev_usable(d);

	if (rc < 0)
		return rc;
	if (q >= d->nvqs || !(d->status & VIO_STATUS_FEATURES_OK))
		return -VIO_EINVAL;
	vq = &d->vqs[q];
	if (vq->ring_len != 0)
		return -VIO_EBUSY; /* set up already, or a failed attempt: reset first */
	rc = get_vqueue(d, q, &v);
	if (rc < 0)
		return rc;
	limit = v.max_size < VIO_VMSG_DRV_QSIZE_MAX ? v.max_size : VIO_VMSG_DRV_QSIZE_MAX;
	if (limit == 0)
		return -VIO_EINVAL; /* no such queue */
	if (size == 0)
		for (size = 1; (uint32_t) size * 2u <= limit; size = (uint16_t) (size * 2u))
			;
	if (size > limit || (size & (size - 1u)) != 0)
		return -VIO_EINVAL;
	bytes = vio_drvq_ring_bytes(size);
	off = vio_vmsg_drv_area_alloc(drv, (uint32_t) bytes);
	if (off < 0)
		return (int) off;
	rc = vio_drvq_init(&vq->q, size, drv->win + off, (uint64_t) off, vq->slots,
			   (d->features & VIO_BIT(VIO_F_EVENT_IDX)) != 0, &desc, &avail, &used);
	if (rc < 0) {
		vio_vmsg_drv_area_free(drv, (uint32_t) off, (uint32_t) bytes);
		return rc;
	}
	vq->ring_off = (uint32_t) off;
	vq->ring_len = (uint32_t) bytes;
	set.index = q;
	set.size = size;
	set.flags = VIO_VMSG_VQ_STATE_ENABLE;
	set.desc = desc;
	set.driver = avail;
	set.device = used;
	rc = set_vqueue(d, &set);
	/* The draft gives SET_VQUEUE no verdict: reading the queue back tells whether it took. */
	if (rc == 0)
		rc = get_vqueue(d, q, &v);
	if (rc == 0 && (!(v.flags & VIO_VMSG_VQ_ENABLED) || v.size != size || v.desc != desc ||
			v.driver != avail || v.device != used))
		rc = -VIO_EIO;
	if (rc < 0)
		return rc; /* the device may know the rings: they stay allocated until a reset */
	vq->ready = true;
	return 0;
}

int vio_vmsg_drv_dev_driver_ok(struct vio_vmsg_drv_dev *d)
{
	int rc = dev_usable(d);

	if (rc == 0)
		rc = set_status(d, (uint8_t) (d->status | VIO_STATUS_DRIVER_OK));
	if (rc == 0 && !(d->status & VIO_STATUS_DRIVER_OK))
		rc = -VIO_EIO;
	if (rc == 0 && (d->status & VIO_STATUS_NEEDS_RESET)) {
		d->needs_reset = true;
		rc = -VIO_EIO;
	}
	return rc;
}

int vio_vmsg_drv_dev_start(struct vio_vmsg_drv_dev *d, uint64_t want)
{
	uint16_t n = d->nvqs;
	int rc = vio_vmsg_drv_dev_negotiate(d, want);

	if (rc < 0)
		return rc;
	if (d->info.max_virtqueues < n)
		n = (uint16_t) d->info.max_virtqueues;
	for (uint16_t q = 0; q < n; q++) {
		rc = vio_vmsg_drv_vq_setup(d, q, 0);
		if (rc < 0)
			return fail_bringup(d, rc);
	}
	return vio_vmsg_drv_dev_driver_ok(d);
}

/* The GET_CONFIG round trip of vio_vmsg_config_read, for device d (the context). */
struct cfg_get {
	struct vio_vmsg_drv_dev *d;
	uint8_t in[VIO_VMSG_MAX_SIZE];
};

static int cfg_get(void *ctx, const struct vio_vmsg_config *c, struct vio_vmsg_config *r)
{
	struct cfg_get *g = ctx;
	struct vio_vmsg_drv *drv = g->d->drv;
	struct vio_vmsg_hdr h = req_hdr(drv, false, g->d->dev_num, VIO_VMSG_GET_CONFIG), rh;
	uint8_t out[VIO_VMSG_MAX_SIZE];
	int rc;

	rc = transact(drv, g->d, out, vio_vmsg_encode_config_req(out, drv->max_msg, &h, c), &h,
		      g->in, &rh);
	if (rc < 0)
		return rc;
	if (vio_vmsg_decode_config(&rh, g->in, r) < 0)
		return -VIO_EPROTO;
	return 0;
}

int vio_vmsg_drv_read_config(struct vio_vmsg_drv_dev *d, uint32_t off, void *buf, uint32_t len)
{
	struct cfg_get g = {.d = d};
	struct vio_vmsg_config_rt rt = {.get = cfg_get, .ctx = &g};
	int rc;

	rc = vio_vmsg_config_read(&rt, d->drv->max_msg - VIO_VMSG_SIZE_CONFIG(0), off, buf, len,
				  VIO_VMSG_DRV_CONFIG_RETRIES, &d->generation,
				  &d->drv->config_retries);
	/* An answer to another range or of another size: the device is broken. */
	if (rc == -VIO_EPROTO)
		return broken(d);
	return rc;
}

int vio_vmsg_drv_write_config(struct vio_vmsg_drv_dev *d, uint32_t off, const void *buf,
			      uint32_t len)
{
	struct vio_vmsg_drv *drv = d->drv;
	struct vio_vmsg_hdr h = req_hdr(drv, false, d->dev_num, VIO_VMSG_SET_CONFIG), rh;
	struct vio_vmsg_config c = {.generation = d->generation,
				    .offset = off,
				    .length = len,
				    .data = buf},
			       r;
	uint8_t out[VIO_VMSG_MAX_SIZE], in[VIO_VMSG_MAX_SIZE];
	int rc;

	if (len == 0 || len > drv->max_msg - VIO_VMSG_SIZE_CONFIG(0))
		return -VIO_EINVAL;
	rc = transact(drv, d, out, vio_vmsg_encode_config(out, drv->max_msg, &h, &c), &h, in, &rh);
	if (rc < 0)
		return rc;
	if (vio_vmsg_decode_config(&rh, in, &r) < 0 || (r.length != 0 && r.length != len) ||
	    (r.length != 0 && r.offset != off))
		return broken(d);
	/* A write may change what the config holds (a selector): later writes carry the new one. */
	d->generation = r.generation;
	/* The reply echoes nothing when the device refused the write. */
	return r.length == len ? 0 : -VIO_EPERM;
}

/* --- requests ------------------------------------------------------------ */

static struct vio_vmsg_drv_req *req_get(struct vio_vmsg_drv_vq *vq)
{
	for (unsigned i = 0; i < VIO_VMSG_DRV_QSIZE_MAX; i++)
		if (!vq->reqs[i].busy) {
			struct vio_vmsg_drv_req *r = &vq->reqs[i];

			memset(r, 0, sizeof(*r));
			return r;
		}
	return NULL;
}

static void req_free_bounces(struct vio_vmsg_drv *drv, struct vio_vmsg_drv_req *req, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		vio_vmsg_drv_area_free(drv, req->bounce[i], req->seg[i].len);
}

/* Tells the device about new buffers on queue q, if it asked to hear. */
static int kick(struct vio_vmsg_drv_dev *d, uint16_t q)
{
	struct vio_vmsg_drv *drv = d->drv;
	struct vio_drvq *dq = &d->vqs[q].q;
	struct vio_vmsg_hdr h = {.type = 0, .id = VIO_VMSG_EVENT_AVAIL, .dev_num = d->dev_num};
	struct vio_vmsg_event_avail ev = {.index = q};
	uint8_t out[VIO_VMSG_MAX_SIZE];
	int len;

	if (!vio_drvq_kick_prepare(dq))
		return 0;
	/* With NOTIFICATION_DATA the split ring's next offset is the avail index, wrap in bit 31.
	 */
	if (d->features & VIO_BIT(VIO_F_NOTIFICATION_DATA))
		ev.next_offset =
		    (dq->avail_idx & 0x7FFFu) | ((uint32_t) (dq->avail_idx >> 15) << 31);
	len = vio_vmsg_encode_event_avail(out, drv->max_msg, &h, &ev);
	if (len < 0)
		return len;
	return send_msg(drv, out, (uint32_t) len);
}

/* Bounces req's segments into the area and makes it available on queue q. */
static int req_submit(struct vio_vmsg_drv_dev *d, uint16_t q, struct vio_vmsg_drv_req *req)
{
	struct vio_vmsg_drv *drv = d->drv;
	struct vio_buf bufs[VIO_VMSG_DRV_SEGS];
	int rc;

	for (unsigned i = 0; i < req->nseg; i++) {
		int64_t off = vio_vmsg_drv_area_alloc(drv, req->seg[i].len);

		if (off < 0) {
			req_free_bounces(drv, req, i);
			return (int) off;
		}
		req->bounce[i] = (uint32_t) off;
		/* Writable bounces start zeroed: nothing of an earlier request leaks back. */
		if (i < req->nout)
			memcpy(drv->win + off, req->seg[i].buf, req->seg[i].len);
		else
			memset(drv->win + off, 0, req->seg[i].len);
		bufs[i].addr = (uint64_t) off;
		bufs[i].len = req->seg[i].len;
	}
	rc = vio_drvq_add(&d->vqs[q].q, bufs, req->nout, bufs + req->nout,
			  (unsigned) (req->nseg - req->nout), req);
	if (rc < 0) {
		req_free_bounces(drv, req, req->nseg);
		return rc;
	}
	req->busy = true;
	return kick(d, q);
}

static int queue_usable(const struct vio_vmsg_drv_dev *d, uint16_t q)
{
	int rc = dev_usable(d);

	if (rc == 0 && (q >= d->nvqs || !d->vqs[q].ready))
		rc = -VIO_EINVAL;
	return rc;
}

/* Fills req's segments from out and in; -VIO_EINVAL for a bad shape. */
static int req_fill(struct vio_vmsg_drv_req *req, const struct vio_vmsg_drv_seg *out, unsigned nout,
		    const struct vio_vmsg_drv_seg *in, unsigned nin)
{
	if (nout + nin == 0 || nout + nin > VIO_VMSG_DRV_SEGS)
		return -VIO_EINVAL;
	for (unsigned i = 0; i < nout + nin; i++) {
		const struct vio_vmsg_drv_seg *s = i < nout ? &out[i] : &in[i - nout];

		if (s->buf == NULL || s->len == 0)
			return -VIO_EINVAL;
		req->seg[i] = *s;
	}
	req->nout = (uint8_t) nout;
	req->nseg = (uint8_t) (nout + nin);
	return 0;
}

int vio_vmsg_drv_submit(struct vio_vmsg_drv_dev *d, uint16_t q, const struct vio_vmsg_drv_seg *out,
			unsigned nout, const struct vio_vmsg_drv_seg *in, unsigned nin, void *token)
{
	struct vio_vmsg_drv_req *req;
	int rc = queue_usable(d, q);

	if (rc < 0)
		return rc;
	if (token == NULL)
		return -VIO_EINVAL;
	req = req_get(&d->vqs[q]);
	if (req == NULL)
		return -VIO_ENOSPC;
	rc = req_fill(req, out, nout, in, nin);
	if (rc < 0)
		return rc;
	req->token = token;
	return req_submit(d, q, req);
}

/* Copies a completed request's writable bounces back and frees them all. */
static void req_complete(struct vio_vmsg_drv *drv, struct vio_vmsg_drv_req *req)
{
	for (unsigned i = req->nout; i < req->nseg && !req->abandoned; i++)
		memcpy(req->seg[i].buf, drv->win + req->bounce[i], req->seg[i].len);
	req_free_bounces(drv, req, req->nseg);
	req->busy = false;
}

/* Takes the next used request of q that someone still waits for: 1, 0 or negative. */
static int take_used(struct vio_vmsg_drv_dev *d, uint16_t q, struct vio_vmsg_drv_req **out,
		     uint32_t *len)
{
	struct vio_vmsg_drv_vq *vq = &d->vqs[q];

	for (;;) {
		void *t;
		int rc = vio_drvq_get_used(&vq->q, &t, len);

		if (rc < 0)
			return broken(d);
		if (rc == 0)
			return 0;
		req_complete(d->drv, t);
		if (!((struct vio_vmsg_drv_req *) t)->abandoned) {
			*out = t;
			return 1;
		}
	}
}

int vio_vmsg_drv_get_used(struct vio_vmsg_drv_dev *d, uint16_t q, void **token, uint32_t *len)
{
	struct vio_vmsg_drv_req *req;
	int rc = queue_usable(d, q);

	if (rc == 0)
		rc = vio_vmsg_drv_pump(d->drv);
	if (rc == 0)
		rc = dev_usable(d);
	if (rc < 0)
		return rc;
	d->vqs[q].used_event = false;
	rc = take_used(d, q, &req, len);
	if (rc == 1)
		*token = req->token;
	return rc;
}

void vio_vmsg_drv_wait(struct vio_vmsg_drv *drv, uint32_t timeout_us)
{
	if (drv->ops->wait != NULL)
		drv->ops->wait(drv->ctx, timeout_us);
}

int vio_vmsg_drv_wait_used(struct vio_vmsg_drv_dev *d, uint16_t q, void **token, uint32_t *len,
			   uint32_t timeout_us)
{
	uint64_t deadline = deadline_of(d->drv, timeout_us);

	for (;;) {
		int rc = vio_vmsg_drv_get_used(d, q, token, len);

		if (rc != 0)
			return rc;
		if (!wait_until(d->drv, deadline))
			return -VIO_ETIMEDOUT;
	}
}

/* Waits for req itself to complete on q; on failure the request is abandoned. */
static int req_wait(struct vio_vmsg_drv_dev *d, uint16_t q, struct vio_vmsg_drv_req *req,
		    uint32_t *len, uint32_t timeout_us)
{
	void *t;
	int rc;

	for (;;) {
		rc = vio_vmsg_drv_wait_used(d, q, &t, len, timeout_us);
		if (rc < 0)
			break;
		if (t == req)
			return 0;
	}
	/* The caller's buffers may be gone when the device finally answers. */
	if (req->busy)
		req->abandoned = true;
	return rc;
}

/*
 * Takes a request record of q, fills it from x and makes it available; *out
 * gets the record once it is queued (abandoned already when the notification
 * failed after that: the caller's frame may be gone by the time it completes).
 */
static int req_queue(struct vio_vmsg_drv_dev *d, uint16_t q, const struct vio_vmsg_drv_xfer *x,
		     struct vio_vmsg_drv_req **out)
{
	struct vio_vmsg_drv_req *req;
	int rc = queue_usable(d, q);

	if (rc < 0)
		return rc;
	req = req_get(&d->vqs[q]);
	if (req == NULL)
		return -VIO_ENOSPC;
	rc = req_fill(req, x->out, x->nout, x->in, x->nin);
	if (rc < 0)
		return rc;
	req->token = req;
	rc = req_submit(d, q, req);
	if (rc < 0 && req->busy)
		req->abandoned = true;
	*out = req;
	return rc;
}

int vio_vmsg_drv_request(struct vio_vmsg_drv_dev *d, uint16_t q, const struct vio_vmsg_drv_seg *out,
			 unsigned nout, const struct vio_vmsg_drv_seg *in, unsigned nin,
			 uint32_t *len)
{
	const struct vio_vmsg_drv_xfer x = {.out = out, .nout = nout, .in = in, .nin = nin};
	struct vio_vmsg_drv_req *req;
	int rc = req_queue(d, q, &x, &req);

	if (rc < 0)
		return rc;
	return req_wait(d, q, req, len, d->drv->timeout_us);
}

int vio_vmsg_drv_request_batch(struct vio_vmsg_drv_dev *d, uint16_t q, struct vio_vmsg_drv_xfer *x,
			       unsigned n)
{
	struct vio_vmsg_drv_req *req[VIO_VMSG_DRV_BATCH_MAX] = {NULL};
	bool done[VIO_VMSG_DRV_BATCH_MAX] = {false};
	uint64_t deadline = deadline_of(d->drv, d->drv->timeout_us);
	unsigned left = n;
	int rc = 0;

	if (n == 0 || n > VIO_VMSG_DRV_BATCH_MAX)
		return -VIO_EINVAL;
	/* All queued before any wait: the device sees them together (an i2c repeated start). */
	for (unsigned i = 0; i < n && rc == 0; i++)
		rc = req_queue(d, q, &x[i], &req[i]);
	while (rc == 0 && left > 0) {
		void *t;
		uint32_t used;

		rc = vio_vmsg_drv_get_used(d, q, &t, &used);
		if (rc == 1) {
			for (unsigned i = 0; i < n; i++)
				if (!done[i] && t == req[i]) {
					done[i] = true;
					x[i].len = used;
					left--;
				}
			rc = 0;
		} else if (rc == 0 && !wait_until(d->drv, deadline)) {
			rc = -VIO_ETIMEDOUT;
		}
	}
	if (rc < 0) {
		/* Every request may outlive this call: none may write into the caller's memory
		 * later. */
		for (unsigned i = 0; i < n; i++)
			if (req[i] != NULL && !done[i] && req[i]->busy)
				req[i]->abandoned = true;
	}
	return rc;
}

int vio_vmsg_drv_submit_inline(struct vio_vmsg_drv_dev *d, uint16_t q, const void *bytes,
			       uint32_t len, uint32_t nout)
{
	struct vio_vmsg_drv_req *req;
	int rc = queue_usable(d, q);

	if (rc < 0)
		return rc;
	if (bytes == NULL || len == 0 || len > sizeof(req->inl) || nout > len)
		return -VIO_EINVAL;
	req = req_get(&d->vqs[q]);
	if (req == NULL)
		return -VIO_ENOSPC;
	/* The request carries its own bytes: it may outlive any caller's frame. */
	memcpy(req->inl, bytes, len);
	if (nout > 0)
		req->seg[req->nseg++] = (struct vio_vmsg_drv_seg){req->inl, nout};
	req->nout = req->nseg;
	if (len > nout)
		req->seg[req->nseg++] = (struct vio_vmsg_drv_seg){req->inl + nout, len - nout};
	req->token = req;
	return req_submit(d, q, req);
}

int vio_vmsg_drv_raw_send(struct vio_vmsg_drv *drv, const void *msg, uint32_t len)
{
	return send_msg(drv, msg, len);
}

int vio_vmsg_drv_raw_recv(struct vio_vmsg_drv *drv, void *buf, uint32_t cap, uint32_t timeout_us)
{
	uint64_t deadline = deadline_of(drv, timeout_us);

	for (;;) {
		int n = drv->ops->recv(drv->ctx, buf, cap);

		if (n != 0)
			return n;
		if (!wait_until(drv, deadline))
			return -VIO_ETIMEDOUT;
	}
}
