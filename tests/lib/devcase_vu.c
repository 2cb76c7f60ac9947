/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device cases over vhost-user: each open connects the frontend library to
 * the daemon's socket for the kind, negotiates and sets up the kind's queues;
 * requests are copied into the frontend's guest memory (the writable part
 * zeroed) and the daemon's used entry is waited for on the call eventfd.
 */
#include <errno.h>
#include <string.h>

#include "devcase_posix.h"
#include "vioport/vhost_user_frontend.h"

#define NSEG (2 * DC_MAX_SEGS)

/* The request in flight on a queue: its guest buffers and where the writable ones go back. */
struct vu_req {
	uint64_t gpa[NSEG];
	uint32_t len[NSEG];
	unsigned n, nout;
	struct dc_seg in[DC_MAX_SEGS];
	bool busy;
};

static struct {
	const char *sock[DC_NKINDS];
	struct vio_vu_fe fe;
	bool open;
	struct vu_req req[2];
	int token;
} V;

void dc_vu_socket(enum dc_kind kind, const char *path)
{
	V.sock[kind] = path;
}

/* Gives back the guest memory of queue q's request. */
static void req_free(struct vu_req *r)
{
	for (unsigned i = 0; i < r->n; i++)
		vio_vu_fe_free(&V.fe, r->gpa[i], r->len[i]);
	r->n = 0;
	r->busy = false;
}

static void vu_close(void *ctx)
{
	(void) ctx;
	if (!V.open)
		return;
	for (unsigned q = 0; q < 2; q++)
		req_free(&V.req[q]);
	vio_vu_fe_close(&V.fe);
	V.open = false;
}

static int vu_open(void *ctx, enum dc_kind kind, uint64_t want)
{
	struct vio_vu_fe_params p = {
	    .features = want | VIO_BIT(VIO_F_VERSION_1),
	    .num_queues = dc_kind_queues(kind),
	    .timeout_ms = DC_WAIT_MS,
	};
	int rc;

	vu_close(ctx);
	if (V.sock[kind] == NULL)
		return -ENOENT;
	memset(&V.fe, 0, sizeof(V.fe));
	memset(V.req, 0, sizeof(V.req));
	rc = vio_vu_fe_start(&V.fe, V.sock[kind], &p);
	V.open = true;
	if (rc < 0)
		vu_close(ctx);
	return rc;
}

static int vu_submit(void *ctx, uint16_t q, const struct dc_seg *out, unsigned nout,
		     const struct dc_seg *in, unsigned nin)
{
	struct vio_buf b[NSEG];
	struct vu_req *r;
	int rc;

	(void) ctx;
	if (!V.open || q >= 2 || V.req[q].busy || nout > DC_MAX_SEGS || nin > DC_MAX_SEGS)
		return -EINVAL;
	r = &V.req[q];
	for (unsigned i = 0; i < nout + nin; i++) {
		const struct dc_seg *s = i < nout ? &out[i] : &in[i - nout];
		uint32_t len = s->len ? s->len : 1;
		/* zeroed by the allocator, like the other transports' writable buffers */
		uint8_t *p = vio_vu_fe_alloc(&V.fe, len, VIO_VU_FE_GRANULE, &r->gpa[i]);

		if (p == NULL) {
			req_free(r);
			return -ENOMEM;
		}
		r->len[i] = len;
		r->n = i + 1;
		if (i < nout)
			memcpy(p, s->buf, s->len);
		b[i].addr = r->gpa[i];
		b[i].len = s->len;
	}
	memcpy(r->in, in, nin * sizeof(*in));
	r->nout = nout;
	rc = vio_vu_fe_add(&V.fe, q, b, nout, b + nout, nin, &V.token);
	if (rc < 0) {
		req_free(r);
		return rc;
	}
	r->busy = true;
	return 0;
}

static int vu_notify(void *ctx, uint16_t q)
{
	int rc;

	(void) ctx;
	rc = vio_vu_fe_kick(&V.fe, q);
	return rc < 0 ? rc : 0;
}

static int64_t vu_complete(void *ctx, uint16_t q)
{
	struct vu_req *r = &V.req[q];
	void *token;
	uint32_t len;
	int rc;

	(void) ctx;
	if (!r->busy)
		return -EINVAL;
	rc = vio_vu_fe_wait_used(&V.fe, q, &token, &len, DC_WAIT_MS);
	if (rc != 1)
		return rc < 0 ? rc : -ETIMEDOUT;
	for (unsigned i = r->nout; i < r->n; i++) {
		const struct dc_seg *s = &r->in[i - r->nout];

		memcpy(s->buf, vio_vu_fe_ptr(&V.fe, r->gpa[i], r->len[i]), s->len);
	}
	req_free(r);
	return len;
}

static int vu_config_read(void *ctx, uint32_t off, void *buf, uint32_t len)
{
	(void) ctx;
	return vio_vu_fe_get_config(&V.fe, off, buf, len);
}

const struct dc_transport dc_vu = {
    .name = "vhost-user",
    .open = vu_open,
    .close = vu_close,
    .submit = vu_submit,
    .notify = vu_notify,
    .complete = vu_complete,
    .config_read = vu_config_read,
};
