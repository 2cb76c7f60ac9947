/* SPDX-License-Identifier: BSD-3-Clause */
/* The vhost-user frontend's queues: buffers added, kicks, used entries and waits. */
#include "fe_internal.h"

/* ------------------------------------------------------------ queues */

static struct vio_vu_fe_queue *queue_of(struct vio_vu_fe *fe, uint16_t queue)
{
	if (fe->queues == NULL || queue >= fe->num_queues)
		return NULL;
	return &fe->queues[queue];
}

struct vio_drvq *vio_vu_fe_drvq(struct vio_vu_fe *fe, uint16_t queue)
{
	struct vio_vu_fe_queue *q = queue_of(fe, queue);

	return q != NULL ? &q->dq : NULL;
}

int vio_vu_fe_call_fd(const struct vio_vu_fe *fe, uint16_t queue)
{
	if (fe->queues == NULL || queue >= fe->num_queues)
		return -1;
	return fe->queues[queue].call_fd;
}

int vio_vu_fe_add(struct vio_vu_fe *fe, uint16_t queue, const struct vio_buf *out, unsigned nout,
		  const struct vio_buf *in, unsigned nin, void *token)
{
	struct vio_vu_fe_queue *q = queue_of(fe, queue);
	int r;

	if (q == NULL)
		return -EINVAL;
	r = vio_drvq_add(&q->dq, out, nout, in, nin, token);
	return r < 0 ? r : 0;
}

static int write_kick(struct vio_vu_fe_queue *q)
{
	uint64_t one = 1;

	if (write(q->kick_fd, &one, sizeof(one)) != (ssize_t) sizeof(one) && errno != EAGAIN)
		return -errno;
	return 1;
}

int vio_vu_fe_kick(struct vio_vu_fe *fe, uint16_t queue)
{
	struct vio_vu_fe_queue *q = queue_of(fe, queue);

	if (q == NULL)
		return -EINVAL;
	if (!vio_drvq_kick_prepare(&q->dq))
		return 0;
	return write_kick(q);
}

int vio_vu_fe_notify(struct vio_vu_fe *fe, uint16_t queue)
{
	struct vio_vu_fe_queue *q = queue_of(fe, queue);

	if (q == NULL)
		return -EINVAL;
	vio_drvq_kick_prepare(&q->dq);
	return write_kick(q);
}

int vio_vu_fe_get_used(struct vio_vu_fe *fe, uint16_t queue, void **token, uint32_t *len)
{
	struct vio_vu_fe_queue *q = queue_of(fe, queue);
	int r;

	if (q == NULL)
		return -EINVAL;
	r = vio_drvq_get_used(&q->dq, token, len);
	if (r < 0)
		return fe_fail(fe, -EPROTO, "queue %u: the backend returned a bad used entry",
			       queue);
	return r;
}

int vio_vu_fe_wait(struct vio_vu_fe *fe, uint16_t queue, int timeout_ms)
{
	struct vio_vu_fe_queue *q = queue_of(fe, queue);
	int64_t deadline = fe_now_ms() + timeout_ms;

	if (q == NULL)
		return -EINVAL;
	for (;;) {
		struct pollfd p[3] = {{.fd = q->call_fd, .events = POLLIN},
				      {.fd = fe->sock, .events = POLLRDHUP},
				      {.fd = fe->backend_fd, .events = POLLIN}};
		int r;

		/* Re-arms the interrupt and closes the race with a used entry landing meanwhile. */
		if (vio_drvq_cb_enable(&q->dq))
			return 1;
		r = poll(p, fe->backend_fd >= 0 ? 3 : 2, fe_remaining(deadline));
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r == 0)
			return vio_drvq_cb_enable(&q->dq) ? 1 : 0;
		if (r < 0)
			continue;
		if (p[0].revents & POLLIN)
			fe_drain_eventfd(q->call_fd);
		if (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR))
			return vio_drvq_cb_enable(&q->dq)
				   ? 1
				   : fe_fail(fe, -ECONNRESET, "backend hung up");
		if (p[2].revents != 0 && vio_vu_fe_backend_poll(fe, 0) < 0) {
			close(fe->backend_fd);
			fe->backend_fd = -1;
		}
	}
}

int vio_vu_fe_wait_used(struct vio_vu_fe *fe, uint16_t queue, void **token, uint32_t *len,
			int timeout_ms)
{
	int r = vio_vu_fe_get_used(fe, queue, token, len);

	if (r != 0)
		return r;
	r = vio_vu_fe_wait(fe, queue, timeout_ms);
	if (r <= 0)
		return r;
	return vio_vu_fe_get_used(fe, queue, token, len);
}
