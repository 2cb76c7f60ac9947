/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user engine: the session's life, header checks and the log line.
 *
 * The log line is formatted here rather than by the glue so that messages
 * name the same things on every OS; <stdarg.h> is not one of the headers
 * freestanding code may rely on, so the argument list is the compiler's own.
 */
#include "engine_internal.h"

#include <string.h>

#define VU_LINE_MAX 256

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
		vu_log(e, VIO_VU_LOG_WARN, "bad header: request %u flags 0x%x size %u",
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

const char *vu_errstr(struct vio_vu_engine *e, int err)
{
	const char *s = e->ops->errstr != NULL ? e->ops->errstr(e->ctx, err) : NULL;

	return s != NULL ? s : "error";
}

/* A bounded line being written; the end is always kept for the terminating zero. */
struct line {
	char *buf;
	size_t len;
};

static void put_char(struct line *l, char c)
{
	if (l->len < VU_LINE_MAX - 1)
		l->buf[l->len++] = c;
}

static void put_str(struct line *l, const char *s)
{
	while (*s != '\0')
		put_char(l, *s++);
}

static void put_num(struct line *l, unsigned long long v, unsigned base)
{
	char digits[24];
	unsigned n = 0;

	do {
		digits[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v != 0);
	while (n > 0)
		put_char(l, digits[--n]);
}

/* Formats one conversion after its '%'; returns the rest of fmt. */
static const char *put_conv(struct line *l, const char *fmt, __builtin_va_list *ap)
{
	unsigned lng = 0;
	unsigned long long u;
	long long d;
	const char *s;

	while (*fmt == 'l') {
		lng++;
		fmt++;
	}
	switch (*fmt) {
	case 's':
		s = __builtin_va_arg(*ap, const char *);
		put_str(l, s != NULL ? s : "(null)");
		break;
	case 'c':
		put_char(l, (char) __builtin_va_arg(*ap, int));
		break;
	case 'd':
		d = lng == 0   ? __builtin_va_arg(*ap, int)
		    : lng == 1 ? __builtin_va_arg(*ap, long)
			       : __builtin_va_arg(*ap, long long);
		if (d < 0)
			put_char(l, '-');
		put_num(l, d < 0 ? 0ull - (unsigned long long) d : (unsigned long long) d, 10);
		break;
	case 'u':
	case 'x':
		u = lng == 0   ? __builtin_va_arg(*ap, unsigned)
		    : lng == 1 ? __builtin_va_arg(*ap, unsigned long)
			       : __builtin_va_arg(*ap, unsigned long long);
		put_num(l, u, *fmt == 'x' ? 16u : 10u);
		break;
	case '%':
		put_char(l, '%');
		break;
	default: /* not one of ours: shown as written */
		put_char(l, '%');
		if (*fmt == '\0')
			return fmt;
		put_char(l, *fmt);
		break;
	}
	return fmt + 1;
}

void vio_vu_engine_log(struct vio_vu_engine *e, int level, const char *fmt, ...)
{
	char buf[VU_LINE_MAX];
	struct line l = {buf, 0};
	__builtin_va_list ap;

	if (e->ops->log == NULL)
		return;
	__builtin_va_start(ap, fmt);
	while (*fmt != '\0') {
		if (*fmt != '%')
			put_char(&l, *fmt++);
		else
			fmt = put_conv(&l, fmt + 1, &ap);
	}
	__builtin_va_end(ap);
	buf[l.len] = '\0';
	e->ops->log(e->ctx, level, buf);
}
