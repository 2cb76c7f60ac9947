/* SPDX-License-Identifier: BSD-3-Clause */
/* vhost-user engine: the session's life and header checks (framing). */
#include "engine_internal.h"

#include <string.h>

int vio_vu_engine_queues(const struct vio_device *dev, uint16_t num_queues)
{
	uint16_t nq;

	if (dev == NULL || dev->num_queues == 0)
		return -VIO_EINVAL;
	nq = num_queues ? num_queues : dev->num_queues;
	return nq > dev->num_queues || nq > VIO_VU_MAX_QUEUES ? -VIO_EINVAL : nq;
}

int vio_vu_engine_init(struct vio_vu_engine *e, const struct vio_vu_engine_config *cfg)
{
	struct vio_device *dev = cfg != NULL ? cfg->dev : NULL;
	const struct vio_vu_engine_ops *ops = cfg != NULL ? cfg->ops : NULL;
	int nq = vio_vu_engine_queues(dev, cfg != NULL ? cfg->num_queues : 0);

	if (nq < 0 || ops == NULL || cfg->rings == NULL || ops->describe == NULL ||
	    ops->map == NULL || ops->unmap == NULL || ops->alloc_shared == NULL ||
	    ops->own_event == NULL || ops->signal == NULL || ops->close == NULL ||
	    ops->send == NULL || ops->kick == NULL)
		return -VIO_EINVAL;
	memset(e, 0, sizeof(*e));
	e->dev = dev;
	e->nq = (uint16_t) nq;
	e->ops = ops;
	e->ctx = cfg->ctx;
	e->rings = cfg->rings;
	e->conn = e->backend = -1;
	vio_winmap_init(&e->map, e->windows, VIO_VU_MAX_MEM_SLOTS);
	for (uint16_t q = 0; q < e->nq; q++) {
		struct vio_vu_ering *v = &e->rings[q];

		memset(v, 0, sizeof(*v));
		v->index = q;
		v->kick = v->call = v->err = -1;
	}
	vio_device_attach(dev, &vu_transport_ops, e, &e->map);
	return 0;
}

void vio_vu_engine_connect(struct vio_vu_engine *e, int conn)
{
	e->conn = conn;
}

#define HDR_SIZE sizeof(struct vio_vu_hdr)

uint8_t *vio_vu_engine_rx_space(struct vio_vu_engine *e, size_t *len)
{
	size_t need = HDR_SIZE;
	struct vio_vu_hdr h;

	if (e->rx_have >= HDR_SIZE) {
		memcpy(&h, e->rx, HDR_SIZE);
		need += h.size;
	}
	*len = need - e->rx_have;
	return e->rx + e->rx_have;
}

int vio_vu_engine_rx_handle(struct vio_vu_engine *e, int h)
{
	if (e->rx_nfds < VIO_VU_MAX_FDS) {
		e->rx_fds[e->rx_nfds++] = h;
		return 0;
	}
	e->ops->close(e->ctx, h);
	return -VIO_EPROTO;
}

/* Checks a complete header: only what framing needs, the rest is the handler's. */
static int check_hdr(struct vio_vu_engine *e)
{
	struct vio_vu_hdr h;

	memcpy(&h, e->rx, HDR_SIZE);
	if ((h.flags & VIO_VU_VERSION_MASK) != VIO_VU_VERSION || (h.flags & VIO_VU_FLAG_REPLY) ||
	    h.size > VIO_VU_MAX_PAYLOAD) {
		vu_log(e, VIO_LOG_WARN, "bad header: request %u flags 0x%x size %u",
		       (unsigned) h.request, (unsigned) h.flags, (unsigned) h.size);
		return -VIO_EPROTO;
	}
	return 0;
}

int vio_vu_engine_rx_done(struct vio_vu_engine *e, size_t n)
{
	size_t left;

	e->rx_have += (uint32_t) n;
	if (e->rx_have == HDR_SIZE && check_hdr(e) < 0)
		return -VIO_EPROTO;
	vio_vu_engine_rx_space(e, &left);
	return left == 0;
}

void vio_vu_engine_rx_take(struct vio_vu_engine *e, struct vio_vu_msg *m)
{
	memset(m, 0, sizeof(*m));
	memcpy(&m->hdr, e->rx, HDR_SIZE);
	memcpy(&m->p, e->rx + HDR_SIZE, m->hdr.size);
	memcpy(m->fds, e->rx_fds, sizeof(int) * e->rx_nfds);
	m->nfds = e->rx_nfds;
	e->rx_nfds = 0;
	e->rx_have = 0;
}

void vio_vu_engine_kick(struct vio_vu_engine *e, uint16_t q)
{
	if (q < e->nq)
		vio_device_kick(e->dev, q);
}

void vio_vu_engine_disconnect(struct vio_vu_engine *e)
{
	for (unsigned i = 0; i < e->rx_nfds; i++)
		e->ops->close(e->ctx, e->rx_fds[i]);
	e->rx_nfds = 0;
	e->rx_have = 0;
	vu_close(e, &e->backend);
	vu_dev_reset(e);
	vu_vring_drop_all(e);
	vu_mem_unmap_all(e);
	vu_inflight_unmap(e);
	e->features = 0;
	e->features_set = false;
	e->protocol_features = 0;
	e->owner = false;
	e->conn = -1;
}

void vio_vu_engine_fini(struct vio_vu_engine *e)
{
	if (e->dev != NULL && e->dev->transport == e) {
		vio_device_reset(e->dev);
		vio_device_attach(e->dev, NULL, NULL, NULL);
	}
	e->dev = NULL;
}
