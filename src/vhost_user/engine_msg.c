/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user engine: message checks and handlers.
 *
 * A table gives, per request, the payload size it must have, how many file
 * descriptors it carries, the protocol feature it needs and whether it has a
 * reply of its own. The dispatcher checks all of that before a handler runs;
 * handlers check the values. Every descriptor a handler does not keep is
 * closed. A request that fails is answered with an error when the frontend
 * asked for a reply; otherwise the connection ends, since the frontend would
 * carry on believing something that is not so.
 */
#include "engine_internal.h"

#include <string.h>

#define SIZE_ANY  0xffffu /* the handler checks the size */
#define FDS_ANY	  0xffu	  /* the handler checks the descriptors */
#define NO_PF	  0xffu	  /* needs no protocol feature */
#define REQ_COUNT (VIO_VU_GET_STATUS + 1)

/* How a request is answered. */
enum vu_answer {
	ANS_ACK,       /* nothing, or the REPLY_ACK u64 when need_reply is set */
	ANS_REPLY,     /* its own reply; an error ends the connection */
	ANS_REPLY_ERR, /* its own reply; an error is a reply with an empty payload */
	ANS_SOFT,      /* like ANS_ACK, but an error without need_reply is only logged */
};

struct vu_req_type {
	const char *name;
	int (*handle)(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r);
	uint16_t size;
	uint8_t fds;
	uint8_t pf;
	uint8_t answer;
};

static struct vio_vu_ering *vring_at(struct vio_vu_engine *e, uint32_t index, const char *what)
{
	if (index >= e->nq) {
		vu_log(e, VIO_LOG_WARN, "%s: queue %u out of range (%u queues)", what,
		       (unsigned) index, (unsigned) e->nq);
		return NULL;
	}
	return &e->rings[index];
}

static void reply_u64(struct vu_reply *r, uint64_t v)
{
	r->p.u64 = v;
	r->size = sizeof(r->p.u64);
}

/* Takes descriptor i of the message for keeping: it is no longer closed after the handler. */
static int take_fd(struct vio_vu_msg *m, unsigned i)
{
	int fd = m->fds[i];

	m->fds[i] = -1;
	return fd;
}

static int h_get_features(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r)
{
	(void) m;
	reply_u64(r, e->dev->host_features | VIO_BIT(VIO_VU_F_PROTOCOL_FEATURES));
	return 0;
}

/* ACKNOWLEDGE, DRIVER, the features, FEATURES_OK: what a driver would do, in one go. */
static int negotiate(struct vio_vu_engine *e, uint64_t features)
{
	struct vio_device *dev = e->dev;

	vio_device_set_status(dev, dev->status | VIO_STATUS_ACKNOWLEDGE);
	vio_device_set_status(dev, dev->status | VIO_STATUS_DRIVER);
	if (vio_device_set_features(dev, features) < 0 ||
	    vio_device_set_status(dev, dev->status | VIO_STATUS_FEATURES_OK) < 0 ||
	    !(dev->status & VIO_STATUS_FEATURES_OK)) {
		vu_log(e, VIO_LOG_WARN, "SET_FEATURES: device refused features 0x%llx",
		       (unsigned long long) features);
		return -VIO_EINVAL;
	}
	return 0;
}

static bool any_started(const struct vio_vu_engine *e)
{
	for (uint16_t q = 0; q < e->nq; q++)
		if (e->rings[q].started)
			return true;
	return false;
}

static int h_set_features(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r)
{
	struct vio_device *dev = e->dev;
	uint64_t f = m->p.u64, pbit = VIO_BIT(VIO_VU_F_PROTOCOL_FEATURES);
	uint64_t virtio = f & ~pbit;
	int rc = 0;

	(void) r;
	if ((f & ~(dev->host_features | pbit)) != 0) {
		vu_log(e, VIO_LOG_WARN, "SET_FEATURES: 0x%llx were not offered",
		       (unsigned long long) (f & ~(dev->host_features | pbit)));
		return -VIO_EINVAL;
	}
	if (dev->status & VIO_STATUS_FEATURES_OK) {
		if (virtio == dev->driver_features && !(dev->status & VIO_STATUS_NEEDS_RESET))
			goto done;
		/* new features (or a broken device) after the rings stopped: a new session */
		if (any_started(e))
			return -VIO_EBUSY;
		vu_dev_reset(e);
	}
	rc = negotiate(e, virtio);
done:
	e->features = f;
	e->features_set = true;
	if (!(f & pbit))
		for (uint16_t q = 0; q < e->nq; q++)
			e->rings[q].enabled = true;
	return rc;
}

static int h_set_owner(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r)
{
	(void) m;
	(void) r;
	e->owner = true;
	return 0;
}

/* RESET_DEVICE, and RESET_OWNER which frontends send instead when RESET_DEVICE is missing. */
static int h_reset_device(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r)
{
	(void) m;
	(void) r;
	vu_dev_reset(e);
	vu_inflight_forget(e);
	for (uint16_t q = 0; q < e->nq; q++)
		vu_vring_forget(e, &e->rings[q]);
	e->features = 0;
	e->features_set = false;
	return 0;
}

/* Maps the new table first, so a table that fails leaves the device running on the old one. */
static int h_set_mem_table(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r)
{
	struct vio_vu_mapping fresh[VIO_VU_MAX_REGIONS];
	int n = vu_mem_map_table(e, m, fresh);

	(void) r;
	if (n < 0)
		return n;
	/* the new table is mapped: now drop the old one, with the device drained */
	vu_vring_unmap_all(e);
	return vu_mem_install(e, fresh, (uint32_t) n);
}

static bool packed(const struct vio_vu_engine *e)
{
	return vio_device_has(e->dev, VIO_F_RING_PACKED);
}

static int h_set_vring_num(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r)
{
	struct vio_vu_ering *v = vring_at(e, m->p.state.index, "SET_VRING_NUM");
	uint32_t num = m->p.state.num;

	(void) r;
	if (v == NULL)
		return -VIO_EINVAL;
	if (num == 0 || num > e->dev->queues[v->index].max_size ||
	    (!packed(e) && (num & (num - 1)) != 0)) {
		vu_log(e, VIO_LOG_WARN, "SET_VRING_NUM: queue %u: size %u not supported (max %u)",
		       (unsigned) v->index, (unsigned) num,
		       (unsigned) e->dev->queues[v->index].max_size);
		return -VIO_EINVAL;
	}
	if (v->started)
		return num == v->num ? 0 : -VIO_EBUSY;
	v->num = (uint16_t) num;
	v->dirty = true;
	return 0;
}

static int h_set_vring_addr(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r)
{
	const struct vio_vu_vring_addr *a = &m->p.addr;
	struct vio_vu_ering *v = vring_at(e, a->index, "SET_VRING_ADDR");
	uint64_t gpa;

	(void) r;
	if (v == NULL)
		return -VIO_EINVAL;
	if (a->flags != 0) {
		vu_log(e, VIO_LOG_WARN, "SET_VRING_ADDR: flags 0x%x (no dirty logging here)",
		       (unsigned) a->flags);
		return a->flags == VIO_VU_VRING_F_LOG ? -VIO_ENOTSUP : -VIO_EINVAL;
	}
	if (vu_ua_to_gpa(e, a->desc_user_addr, &gpa) < 0 ||
	    vu_ua_to_gpa(e, a->avail_user_addr, &gpa) < 0 ||
	    vu_ua_to_gpa(e, a->used_user_addr, &gpa) < 0) {
		vu_log(e, VIO_LOG_WARN, "SET_VRING_ADDR: queue %u: ring outside guest memory",
		       v->index);
		return -VIO_EFAULT;
	}
	if (v->started)
		return (v->addr_set && v->desc_ua == a->desc_user_addr &&
			v->avail_ua == a->avail_user_addr && v->used_ua == a->used_user_addr)
			   ? 0
			   : -VIO_EBUSY;
	v->desc_ua = a->desc_user_addr;
	v->avail_ua = a->avail_user_addr;
	v->used_ua = a->used_user_addr;
	v->addr_set = true;
	v->dirty = true;
	return 0;
}

/*
 * Split rings: the next avail index. Packed rings: avail index and wrap
 * counter in bits 0-15, the used side in bits 16-31; nothing is in flight
 * when a ring stops here, so the used side is the avail side.
 */
static int h_set_vring_base(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r)
{
	struct vio_vu_ering *v = vring_at(e, m->p.state.index, "SET_VRING_BASE");
	uint32_t num = m->p.state.num;

	(void) r;
	if (v == NULL)
		return -VIO_EINVAL;
	if (!packed(e) && num > 0xffffu) {
		vu_log(e, VIO_LOG_WARN, "SET_VRING_BASE: queue %u: base %u", (unsigned) v->index,
		       (unsigned) num);
		return -VIO_EINVAL;
	}
	if (v->started)
		return v->base_set && v->base == (uint16_t) num ? 0 : -VIO_EBUSY;
	v->base = (uint16_t) num;
	v->base_set = true;
	v->dirty = true;
	return 0;
}

static int h_get_vring_base(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r)
{
	struct vio_vu_ering *v = vring_at(e, m->p.state.index, "GET_VRING_BASE");
	uint32_t base;

	if (v == NULL)
		return -VIO_EINVAL;
	base = vu_vring_stop(e, v);
	if (packed(e))
		base |= base << 16;
	r->p.state.index = v->index;
	r->p.state.num = base;
	r->size = sizeof(r->p.state);
	return 0;
}

/* Parses the u64 of SET_VRING_KICK/CALL/ERR: queue, and a descriptor unless NOFD. */
static struct vio_vu_ering *vring_fd_arg(struct vio_vu_engine *e, struct vio_vu_msg *m,
					 const char *what, int *fd)
{
	uint64_t u = m->p.u64;
	bool nofd = (u & VIO_VU_VRING_NOFD) != 0;
	struct vio_vu_ering *v;

	if ((u & ~(uint64_t) (VIO_VU_VRING_IDX_MASK | VIO_VU_VRING_NOFD)) != 0 ||
	    m->nfds != (nofd ? 0u : 1u)) {
		vu_log(e, VIO_LOG_WARN, "%s: argument 0x%llx with %u fds", what,
		       (unsigned long long) u, m->nfds);
		return NULL;
	}
	v = vring_at(e, (uint32_t) (u & VIO_VU_VRING_IDX_MASK), what);
	if (v == NULL)
		return NULL;
	*fd = -1;
	if (!nofd) {
		*fd = take_fd(m, 0);
		/* QEMU's eventfds are non-blocking already; a pipe must not block us either */
		e->ops->own_event(e->ctx, *fd);
	}
	return v;
}

static int h_set_vring_kick(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r)
{
	int fd;
	struct vio_vu_ering *v = vring_fd_arg(e, m, "SET_VRING_KICK", &fd);

	(void) r;
	if (v == NULL)
		return -VIO_EINVAL;
	/* the ring starts now; without a descriptor it is polled */
	v->started = true;
	v->kick_poll = fd < 0;
	vu_vring_set_kick(e, v, fd);
	return 0;
}

static int h_set_vring_call(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r)
{
	int fd;
	struct vio_vu_ering *v = vring_fd_arg(e, m, "SET_VRING_CALL", &fd);

	(void) r;
	if (v == NULL)
		return -VIO_EINVAL;
	vu_close(e, &v->call);
	v->call = fd;
	/* an interrupt lost while the frontend swapped descriptors would hang the guest */
	if (v->started && fd >= 0)
		e->ops->signal(e->ctx, fd);
	return 0;
}

static int h_set_vring_err(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r)
{
	int fd;
	struct vio_vu_ering *v = vring_fd_arg(e, m, "SET_VRING_ERR", &fd);

	(void) r;
	if (v == NULL)
		return -VIO_EINVAL;
	vu_close(e, &v->err);
	v->err = fd;
	return 0;
}

/* CONFIG only for a device with a config space: QEMU warns about it otherwise (rng). */
static uint64_t offered_pf(const struct vio_vu_engine *e)
{
	uint64_t pf = VU_PROTOCOL_FEATURES;

	if (e->dev->config_len == 0)
		pf &= ~VIO_BIT(VIO_VU_PF_CONFIG);
	return pf;
}

static int h_get_protocol_features(struct vio_vu_engine *e, struct vio_vu_msg *m,
				   struct vu_reply *r)
{
	(void) m;
	reply_u64(r, offered_pf(e));
	return 0;
}

static int h_set_protocol_features(struct vio_vu_engine *e, struct vio_vu_msg *m,
				   struct vu_reply *r)
{
	uint64_t extra = m->p.u64 & ~offered_pf(e);

	(void) r;
	if (extra != 0) {
		vu_log(e, VIO_LOG_WARN, "SET_PROTOCOL_FEATURES: 0x%llx were not offered",
		       (unsigned long long) extra);
		return -VIO_EINVAL;
	}
	e->protocol_features = m->p.u64;
	return 0;
}

static int h_get_queue_num(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r)
{
	(void) m;
	reply_u64(r, e->nq);
	return 0;
}

static int h_set_vring_enable(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r)
{
	struct vio_vu_ering *v = vring_at(e, m->p.state.index, "SET_VRING_ENABLE");

	(void) r;
	if (v == NULL)
		return -VIO_EINVAL;
	if (!vu_has_protocol(e) || m->p.state.num > 1) {
		vu_log(e, VIO_LOG_WARN, "SET_VRING_ENABLE: %u%s", (unsigned) m->p.state.num,
		       vu_has_protocol(e) ? "" : " without protocol features");
		return -VIO_EINVAL;
	}
	v->enabled = m->p.state.num == 1;
	return 0;
}

static int h_set_backend_req_fd(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r)
{
	(void) r;
	vu_close(e, &e->backend);
	e->backend = take_fd(m, 0);
	return 0;
}

/* Checks a config message: header plus size bytes, inside 256 bytes. */
static int config_args(struct vio_vu_engine *e, const struct vio_vu_msg *m, const char *what)
{
	const struct vio_vu_config *c = &m->p.config;

	if (m->hdr.size < VIO_VU_CONFIG_HDR || c->size > VIO_VU_MAX_CONFIG ||
	    c->offset > VIO_VU_MAX_CONFIG - c->size || m->hdr.size != VIO_VU_CONFIG_HDR + c->size) {
		vu_log(e, VIO_LOG_WARN, "%s: offset %u size %u in a %u-byte message", what,
		       (unsigned) (m->hdr.size >= VIO_VU_CONFIG_HDR ? c->offset : 0),
		       (unsigned) (m->hdr.size >= VIO_VU_CONFIG_HDR ? c->size : 0),
		       (unsigned) m->hdr.size);
		return -VIO_EINVAL;
	}
	return 0;
}

static int h_get_config(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r)
{
	const struct vio_vu_config *c = &m->p.config;
	int rc = config_args(e, m, "GET_CONFIG");

	if (rc < 0)
		return rc;
	rc = vio_device_read_config(e->dev, c->offset, r->p.config.payload, c->size);
	if (rc < 0) {
		vu_log(e, VIO_LOG_WARN, "GET_CONFIG: [%u, +%u) outside the %u-byte config",
		       (unsigned) c->offset, (unsigned) c->size, (unsigned) e->dev->config_len);
		return rc;
	}
	r->p.config.offset = c->offset;
	r->p.config.size = c->size;
	r->p.config.flags = c->flags;
	r->size = VIO_VU_CONFIG_HDR + c->size;
	return 0;
}

/* Flags 0 (a driver write) and 1 (migration): the device decides what is writable either way. */
static int h_set_config(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r)
{
	const struct vio_vu_config *c = &m->p.config;
	int rc = config_args(e, m, "SET_CONFIG");

	(void) r;
	if (rc < 0)
		return rc;
	if (c->flags > 1)
		return -VIO_EINVAL;
	rc = vio_device_write_config(e->dev, c->offset, c->payload, c->size);
	if (rc < 0)
		vu_log(e, VIO_LOG_WARN, "SET_CONFIG: [%u, +%u) refused: %s", (unsigned) c->offset,
		       (unsigned) c->size, vu_errstr(e, -rc));
	return rc;
}

static int h_get_inflight_fd(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r)
{
	return vu_inflight_get(e, m, r);
}

static int h_set_inflight_fd(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r)
{
	(void) r;
	return vu_inflight_set(e, m);
}

/* In-band kicks are not offered: the message does nothing (and says so when asked). */
static int h_vring_kick(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r)
{
	(void) m;
	(void) r;
	vu_log(e, VIO_LOG_DEBUG, "VRING_KICK ignored: in-band notifications not negotiated");
	return -VIO_ENOTSUP;
}

static int h_get_max_mem_slots(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r)
{
	(void) e;
	(void) m;
	reply_u64(r, VIO_VU_MAX_MEM_SLOTS);
	return 0;
}

static int h_add_mem_reg(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r)
{
	(void) r;
	return vu_mem_add(e, m);
}

/* The spec says no descriptor, but accepts one (QEMU sends it) and it must be closed. */
static int h_rem_mem_reg(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r)
{
	int i;

	(void) r;
	if (m->nfds > 1)
		return -VIO_EINVAL;
	i = vu_mem_find(e, m);
	if (i < 0)
		return i;
	/* the rings may point into the region: drain the device and drop them first */
	vu_vring_unmap_all(e);
	vu_mem_drop(e, (uint32_t) i);
	return 0;
}

/*
 * Status from the frontend. FEATURES_OK came with SET_FEATURES (QEMU never
 * sends it as a bit), so it is kept; 0 resets the device but not the ring
 * positions, which GET_VRING_BASE may still ask for after it.
 */
static int h_set_status(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r)
{
	struct vio_device *dev = e->dev;
	uint8_t st;
	int rc;

	(void) r;
	if (m->p.u64 > 0xffu)
		return -VIO_EINVAL;
	if (m->p.u64 == 0) {
		vu_dev_reset(e);
		vu_inflight_forget(e);
		return 0;
	}
	st = (uint8_t) m->p.u64;
	if ((st & VIO_STATUS_DRIVER) && (dev->status & VIO_STATUS_FEATURES_OK))
		st |= VIO_STATUS_FEATURES_OK;
	rc = vio_device_set_status(dev, st);
	if (rc < 0)
		vu_log(e, VIO_LOG_WARN, "SET_STATUS: 0x%x after 0x%x refused", st, dev->status);
	return rc;
}

static int h_get_status(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r)
{
	(void) m;
	reply_u64(r, e->dev->status);
	return 0;
}

#define U64   sizeof(uint64_t)
#define STATE sizeof(struct vio_vu_vring_state)
#define REG   sizeof(struct vio_vu_mem_reg)

static const struct vu_req_type req_types[REQ_COUNT] = {
    [VIO_VU_GET_FEATURES] = {"GET_FEATURES", h_get_features, 0, 0, NO_PF, ANS_REPLY},
    [VIO_VU_SET_FEATURES] = {"SET_FEATURES", h_set_features, U64, 0, NO_PF, ANS_ACK},
    [VIO_VU_SET_OWNER] = {"SET_OWNER", h_set_owner, 0, 0, NO_PF, ANS_ACK},
    [VIO_VU_RESET_OWNER] = {"RESET_OWNER", h_reset_device, 0, 0, NO_PF, ANS_ACK},
    [VIO_VU_SET_MEM_TABLE] = {"SET_MEM_TABLE", h_set_mem_table, SIZE_ANY, FDS_ANY, NO_PF, ANS_ACK},
    [VIO_VU_SET_LOG_BASE] = {"SET_LOG_BASE", NULL, 0, 0, NO_PF, ANS_ACK},
    [VIO_VU_SET_LOG_FD] = {"SET_LOG_FD", NULL, 0, 0, NO_PF, ANS_ACK},
    [VIO_VU_SET_VRING_NUM] = {"SET_VRING_NUM", h_set_vring_num, STATE, 0, NO_PF, ANS_ACK},
    [VIO_VU_SET_VRING_ADDR] = {"SET_VRING_ADDR", h_set_vring_addr, sizeof(struct vio_vu_vring_addr),
			       0, NO_PF, ANS_ACK},
    [VIO_VU_SET_VRING_BASE] = {"SET_VRING_BASE", h_set_vring_base, STATE, 0, NO_PF, ANS_ACK},
    [VIO_VU_GET_VRING_BASE] = {"GET_VRING_BASE", h_get_vring_base, STATE, 0, NO_PF, ANS_REPLY},
    [VIO_VU_SET_VRING_KICK] = {"SET_VRING_KICK", h_set_vring_kick, U64, FDS_ANY, NO_PF, ANS_ACK},
    [VIO_VU_SET_VRING_CALL] = {"SET_VRING_CALL", h_set_vring_call, U64, FDS_ANY, NO_PF, ANS_ACK},
    [VIO_VU_SET_VRING_ERR] = {"SET_VRING_ERR", h_set_vring_err, U64, FDS_ANY, NO_PF, ANS_ACK},
    [VIO_VU_GET_PROTOCOL_FEATURES] = {"GET_PROTOCOL_FEATURES", h_get_protocol_features, 0, 0, NO_PF,
				      ANS_REPLY},
    [VIO_VU_SET_PROTOCOL_FEATURES] = {"SET_PROTOCOL_FEATURES", h_set_protocol_features, U64, 0,
				      NO_PF, ANS_ACK},
    [VIO_VU_GET_QUEUE_NUM] = {"GET_QUEUE_NUM", h_get_queue_num, 0, 0, VIO_VU_PF_MQ, ANS_REPLY},
    [VIO_VU_SET_VRING_ENABLE] = {"SET_VRING_ENABLE", h_set_vring_enable, STATE, 0, NO_PF, ANS_ACK},
    [VIO_VU_SEND_RARP] = {"SEND_RARP", NULL, 0, 0, NO_PF, ANS_ACK},
    [VIO_VU_NET_SET_MTU] = {"NET_SET_MTU", NULL, 0, 0, NO_PF, ANS_ACK},
    [VIO_VU_SET_BACKEND_REQ_FD] = {"SET_BACKEND_REQ_FD", h_set_backend_req_fd, 0, 1,
				   VIO_VU_PF_BACKEND_REQ, ANS_ACK},
    [VIO_VU_IOTLB_MSG] = {"IOTLB_MSG", NULL, 0, 0, NO_PF, ANS_ACK},
    [VIO_VU_SET_VRING_ENDIAN] = {"SET_VRING_ENDIAN", NULL, 0, 0, NO_PF, ANS_ACK},
    [VIO_VU_GET_CONFIG] = {"GET_CONFIG", h_get_config, SIZE_ANY, 0, VIO_VU_PF_CONFIG,
			   ANS_REPLY_ERR},
    [VIO_VU_SET_CONFIG] = {"SET_CONFIG", h_set_config, SIZE_ANY, 0, VIO_VU_PF_CONFIG, ANS_ACK},
    [VIO_VU_CREATE_CRYPTO_SESSION] = {"CREATE_CRYPTO_SESSION", NULL, 0, 0, NO_PF, ANS_ACK},
    [VIO_VU_CLOSE_CRYPTO_SESSION] = {"CLOSE_CRYPTO_SESSION", NULL, 0, 0, NO_PF, ANS_ACK},
    [VIO_VU_POSTCOPY_ADVISE] = {"POSTCOPY_ADVISE", NULL, 0, 0, NO_PF, ANS_ACK},
    [VIO_VU_POSTCOPY_LISTEN] = {"POSTCOPY_LISTEN", NULL, 0, 0, NO_PF, ANS_ACK},
    [VIO_VU_POSTCOPY_END] = {"POSTCOPY_END", NULL, 0, 0, NO_PF, ANS_ACK},
    [VIO_VU_GET_INFLIGHT_FD] = {"GET_INFLIGHT_FD", h_get_inflight_fd,
				sizeof(struct vio_vu_inflight), 0, VIO_VU_PF_INFLIGHT_SHMFD,
				ANS_REPLY},
    [VIO_VU_SET_INFLIGHT_FD] = {"SET_INFLIGHT_FD", h_set_inflight_fd,
				sizeof(struct vio_vu_inflight), 1, VIO_VU_PF_INFLIGHT_SHMFD,
				ANS_ACK},
    [VIO_VU_GPU_SET_SOCKET] = {"GPU_SET_SOCKET", NULL, 0, 0, NO_PF, ANS_ACK},
    [VIO_VU_RESET_DEVICE] = {"RESET_DEVICE", h_reset_device, 0, 0, VIO_VU_PF_RESET_DEVICE, ANS_ACK},
    [VIO_VU_VRING_KICK] = {"VRING_KICK", h_vring_kick, STATE, 0, NO_PF, ANS_SOFT},
    [VIO_VU_GET_MAX_MEM_SLOTS] = {"GET_MAX_MEM_SLOTS", h_get_max_mem_slots, 0, 0,
				  VIO_VU_PF_CONFIGURE_MEM_SLOTS, ANS_REPLY},
    [VIO_VU_ADD_MEM_REG] = {"ADD_MEM_REG", h_add_mem_reg, REG, 1, VIO_VU_PF_CONFIGURE_MEM_SLOTS,
			    ANS_ACK},
    [VIO_VU_REM_MEM_REG] = {"REM_MEM_REG", h_rem_mem_reg, REG, FDS_ANY,
			    VIO_VU_PF_CONFIGURE_MEM_SLOTS, ANS_ACK},
    [VIO_VU_SET_STATUS] = {"SET_STATUS", h_set_status, U64, 0, VIO_VU_PF_STATUS, ANS_ACK},
    [VIO_VU_GET_STATUS] = {"GET_STATUS", h_get_status, 0, 0, VIO_VU_PF_STATUS, ANS_REPLY},
};

/* Checks what the table says about a request: known, handled, size, descriptors, feature. */
static int check_request(struct vio_vu_engine *e, const struct vu_req_type *t,
			 const struct vio_vu_msg *m)
{
	if (t == NULL || t->name == NULL) {
		vu_log(e, VIO_LOG_WARN, "unknown request %u", (unsigned) m->hdr.request);
		return -VIO_ENOSYS;
	}
	if (t->handle == NULL) {
		vu_log(e, VIO_LOG_WARN, "%s is not supported", t->name);
		return -VIO_ENOTSUP;
	}
	if (t->size != SIZE_ANY && m->hdr.size != t->size) {
		vu_log(e, VIO_LOG_WARN, "%s: payload of %u bytes, expected %u", t->name,
		       (unsigned) m->hdr.size, (unsigned) t->size);
		return -VIO_EINVAL;
	}
	if (t->fds != FDS_ANY && m->nfds != t->fds) {
		vu_log(e, VIO_LOG_WARN, "%s: %u file descriptors, expected %u", t->name, m->nfds,
		       t->fds);
		return -VIO_EINVAL;
	}
	if (t->pf != NO_PF && !vu_has_pf(e, t->pf)) {
		vu_log(e, VIO_LOG_WARN, "%s: protocol feature %u not negotiated", t->name, t->pf);
		return -VIO_EPERM;
	}
	return 0;
}

/* Sends the request's own reply, the REPLY_ACK, or nothing; returns < 0 to end the connection. */
static int answer(struct vio_vu_engine *e, const struct vu_req_type *t, const struct vio_vu_msg *m,
		  struct vu_reply *r, int rc)
{
	struct vio_vu_hdr hdr = {m->hdr.request, VIO_VU_VERSION | VIO_VU_FLAG_REPLY, 0};
	uint8_t answer = t != NULL && t->name != NULL ? t->answer : ANS_ACK;
	uint64_t ack;
	int sent;

	if (answer == ANS_REPLY || answer == ANS_REPLY_ERR) {
		if (rc < 0 && answer == ANS_REPLY)
			return rc;
		hdr.size = rc < 0 ? 0 : r->size;
		sent = e->ops->send(e->ctx, e->conn, &hdr, &r->p, r->fd, VU_REPLY_TIMEOUT_MS);
		vu_close(e, &r->fd);
		return sent;
	}
	if (m->hdr.flags & VIO_VU_FLAG_NEED_REPLY) {
		ack = rc < 0 ? (uint64_t) -rc : 0;
		hdr.size = sizeof(ack);
		return e->ops->send(e->ctx, e->conn, &hdr, &ack, -1, VU_REPLY_TIMEOUT_MS);
	}
	return rc < 0 && answer != ANS_SOFT ? rc : 0;
}

int vio_vu_engine_handle(struct vio_vu_engine *e, struct vio_vu_msg *m)
{
	uint32_t req = m->hdr.request;
	const struct vu_req_type *t = req < REQ_COUNT ? &req_types[req] : NULL;
	struct vu_reply r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.fd = -1;
	rc = check_request(e, t, m);
	if (rc == 0) {
		vu_log(e, VIO_LOG_DEBUG, "%s", t->name);
		rc = t->handle(e, m, &r);
	}
	for (unsigned i = 0; i < m->nfds; i++)
		vu_close(e, &m->fds[i]);
	/* whatever changed, the device model follows */
	vu_vring_sync_all(e);
	if (rc < 0 && t != NULL && t->name != NULL && t->answer != ANS_SOFT)
		vu_log(e, VIO_LOG_WARN, "%s failed: %s", t->name, vu_errstr(e, -rc));
	rc = answer(e, t, m, &r, rc);
	vu_close(e, &r.fd);
	return rc;
}
