/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-blk client over the vhost-user frontend: request layout, limits and status checks. */
#include "vioport/vhost_user_blk_client.h"

#include <errno.h>
#include <string.h>

#include "vioport/byteorder.h"

#define PAGE 4096u
/* Status sentinel: no device writes it, so finding it after completion means none was written. */
#define NO_STATUS 0xffu
/* Data segments one request may carry here, whatever SEG_MAX allows. */
#define MAX_DATA_SEGS 128u

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

static void parse_config(struct vio_vu_blk *b)
{
	const uint8_t *c = b->fe.config;
	struct vio_vu_fe *fe = &b->fe;

	b->capacity = 0;
	b->blk_size = VIO_BLK_SECTOR_SIZE;
	b->size_max = 0;
	b->seg_max = 0;
	if (fe->config_size >= VIO_BLK_CFG_CAPACITY + 8)
		b->capacity = vio_get_le64(c + VIO_BLK_CFG_CAPACITY);
	if (vio_vu_fe_has(fe, VIO_BLK_F_SIZE_MAX) && fe->config_size >= VIO_BLK_CFG_SIZE_MAX + 4)
		b->size_max = vio_get_le32(c + VIO_BLK_CFG_SIZE_MAX);
	if (vio_vu_fe_has(fe, VIO_BLK_F_SEG_MAX) && fe->config_size >= VIO_BLK_CFG_SEG_MAX + 4)
		b->seg_max = vio_get_le32(c + VIO_BLK_CFG_SEG_MAX);
	if (vio_vu_fe_has(fe, VIO_BLK_F_BLK_SIZE) && fe->config_size >= VIO_BLK_CFG_BLK_SIZE + 4) {
		uint32_t bs = vio_get_le32(c + VIO_BLK_CFG_BLK_SIZE);

		/* A nonsense block size is ignored, as Linux falls back to 512. */
		if (bs >= VIO_BLK_SECTOR_SIZE && (bs & (bs - 1)) == 0)
			b->blk_size = bs;
	}
	b->read_only = vio_vu_fe_has(fe, VIO_BLK_F_RO);
}

int vio_vu_blk_open(struct vio_vu_blk *b, const char *path, const struct vio_vu_fe_params *p)
{
	struct vio_vu_fe_params d = {0};
	int r;

	if (p != NULL)
		d = *p;
	if (d.features == 0)
		d.features = VIO_VU_BLK_FEATURES;
	if (d.config_size == 0)
		d.config_size = VIO_VU_BLK_CONFIG_READ;
	memset(b, 0, sizeof(*b));
	r = vio_vu_fe_start(&b->fe, path, &d);
	if (r < 0)
		return r;
	b->timeout_ms = b->fe.timeout_ms;
	b->num_queues = b->fe.num_queues;
	parse_config(b);
	return 0;
}

int vio_vu_blk_refresh(struct vio_vu_blk *b)
{
	uint32_t n = b->fe.config_size ? b->fe.config_size : VIO_VU_BLK_CONFIG_READ;
	int r = vio_vu_fe_get_config(&b->fe, 0, b->fe.config, n);

	if (r < 0)
		return r;
	b->fe.config_size = n;
	parse_config(b);
	return 0;
}

void vio_vu_blk_close(struct vio_vu_blk *b)
{
	vio_vu_fe_close(&b->fe);
}

/* Splits [gpa, gpa + len) into segments of at most size_max bytes, appended at v[*n]. */
static int add_segs(const struct vio_vu_blk *b, struct vio_buf *v, unsigned *n, uint64_t gpa,
		    uint32_t len)
{
	uint32_t max = b->size_max ? b->size_max : len;
	unsigned data = 0;

	while (len > 0) {
		uint32_t k = len < max ? len : max;

		if (*n >= MAX_DATA_SEGS)
			return -E2BIG;
		v[(*n)++] = (struct vio_buf){.addr = gpa, .len = k};
		gpa += k;
		len -= k;
		data++;
	}
	return (int) data;
}

/*
 * Builds and queues the chain header, out data, in data, status. Data at
 * out_gpa / in_gpa may be absent (length 0).
 */
static int queue_chain(struct vio_vu_blk *b, uint16_t queue, uint64_t hdr_gpa, uint64_t out_gpa,
		       uint32_t out_len, uint64_t in_gpa, uint32_t in_len, uint64_t status_gpa,
		       void *token)
{
	struct vio_buf out[MAX_DATA_SEGS + 1], in[MAX_DATA_SEGS + 1];
	unsigned nout = 0, nin = 0;
	int d_out, d_in;

	out[nout++] = (struct vio_buf){.addr = hdr_gpa, .len = VIO_BLK_REQ_HDR};
	d_out = add_segs(b, out, &nout, out_gpa, out_len);
	d_in = add_segs(b, in, &nin, in_gpa, in_len);
	if (d_out < 0 || d_in < 0 || (b->seg_max && (uint32_t) (d_out + d_in) > b->seg_max))
		return -E2BIG;
	in[nin++] = (struct vio_buf){.addr = status_gpa, .len = 1};
	return vio_vu_fe_add(&b->fe, queue, out, nout, in, nin, token);
}

static void put_hdr(uint8_t *hdr, uint32_t type, uint64_t sector)
{
	vio_put_le32(hdr, type);
	vio_put_le32(hdr + 4, 0);
	vio_put_le64(hdr + 8, sector);
}

int vio_vu_blk_request(struct vio_vu_blk *b, uint16_t queue, uint32_t type, uint64_t sector,
		       const void *out, uint32_t out_len, void *in, uint32_t in_len,
		       uint32_t *used_len)
{
	uint64_t in_off = round_up(out_len, PAGE);
	uint64_t hdr_off = round_up(in_off + in_len, VIO_VU_FE_GRANULE);
	uint64_t total = hdr_off + 2 * VIO_VU_FE_GRANULE, gpa;
	uint8_t *p = vio_vu_fe_alloc(&b->fe, total, PAGE, &gpa);
	uint8_t *hdr, *status;
	uint32_t len = 0;
	void *token;
	int r;

	if (p == NULL)
		return -ENOMEM;
	hdr = p + hdr_off;
	status = hdr + VIO_VU_FE_GRANULE;
	put_hdr(hdr, type, sector);
	if (out_len > 0)
		memcpy(p, out, out_len);
	*status = NO_STATUS;
	r = queue_chain(b, queue, gpa + hdr_off, gpa, out_len, gpa + in_off, in_len,
			gpa + hdr_off + VIO_VU_FE_GRANULE, p);
	if (r == 0)
		r = vio_vu_fe_kick(&b->fe, queue);
	if (r < 0) {
		vio_vu_fe_free(&b->fe, gpa, total);
		return r;
	}
	/*
	 * A completion for another token is an earlier request that timed out:
	 * its memory stays allocated (the device may still write it) and is
	 * released here.
	 */
	for (;;) {
		r = vio_vu_fe_wait_used(&b->fe, queue, &token, &len, b->timeout_ms);
		if (r < 0)
			return r;
		if (r == 0)
			return -ETIMEDOUT; /* p stays allocated: the device may still write it */
		if (token == p)
			break;
	}
	if (used_len != NULL)
		*used_len = len;
	if (in_len > 0)
		memcpy(in, p + in_off, in_len);
	r = *status == NO_STATUS ? -EPROTO : *status;
	vio_vu_fe_free(&b->fe, gpa, total);
	return r;
}

int vio_vu_blk_read(struct vio_vu_blk *b, uint64_t sector, void *buf, uint32_t len)
{
	if (len % VIO_BLK_SECTOR_SIZE != 0)
		return -EINVAL;
	return vio_vu_blk_request(b, 0, VIO_BLK_T_IN, sector, NULL, 0, buf, len, NULL);
}

int vio_vu_blk_write(struct vio_vu_blk *b, uint64_t sector, const void *buf, uint32_t len)
{
	if (len % VIO_BLK_SECTOR_SIZE != 0)
		return -EINVAL;
	return vio_vu_blk_request(b, 0, VIO_BLK_T_OUT, sector, buf, len, NULL, 0, NULL);
}

int vio_vu_blk_flush(struct vio_vu_blk *b)
{
	return vio_vu_blk_request(b, 0, VIO_BLK_T_FLUSH, 0, NULL, 0, NULL, 0, NULL);
}

static int dwz(struct vio_vu_blk *b, uint32_t type, uint64_t sector, uint32_t n, uint32_t flags)
{
	uint8_t seg[VIO_BLK_DWZ_SEG];

	vio_put_le64(seg, sector);
	vio_put_le32(seg + 8, n);
	vio_put_le32(seg + 12, flags);
	return vio_vu_blk_request(b, 0, type, 0, seg, sizeof(seg), NULL, 0, NULL);
}

int vio_vu_blk_discard(struct vio_vu_blk *b, uint64_t sector, uint32_t nsectors)
{
	return dwz(b, VIO_BLK_T_DISCARD, sector, nsectors, 0);
}

int vio_vu_blk_write_zeroes(struct vio_vu_blk *b, uint64_t sector, uint32_t nsectors, bool unmap)
{
	return dwz(b, VIO_BLK_T_WRITE_ZEROES, sector, nsectors, unmap ? VIO_BLK_WZ_F_UNMAP : 0);
}

int vio_vu_blk_get_id(struct vio_vu_blk *b, char id[VIO_BLK_ID_BYTES])
{
	return vio_vu_blk_request(b, 0, VIO_BLK_T_GET_ID, 0, NULL, 0, id, VIO_BLK_ID_BYTES, NULL);
}

int vio_vu_blk_io_alloc(struct vio_vu_blk *b, struct vio_vu_blk_io *io, uint32_t data_cap)
{
	memset(io, 0, sizeof(*io));
	io->hdr = vio_vu_fe_alloc(&b->fe, 2 * VIO_VU_FE_GRANULE, VIO_VU_FE_GRANULE, &io->hdr_gpa);
	if (io->hdr == NULL)
		return -ENOMEM;
	io->status = io->hdr + VIO_VU_FE_GRANULE;
	io->status_gpa = io->hdr_gpa + VIO_VU_FE_GRANULE;
	if (data_cap > 0) {
		io->data = vio_vu_fe_alloc(&b->fe, data_cap, PAGE, &io->data_gpa);
		if (io->data == NULL) {
			vio_vu_fe_free(&b->fe, io->hdr_gpa, 2 * VIO_VU_FE_GRANULE);
			io->hdr = NULL;
			return -ENOMEM;
		}
	}
	io->data_cap = data_cap;
	return 0;
}

void vio_vu_blk_io_free(struct vio_vu_blk *b, struct vio_vu_blk_io *io)
{
	if (io->hdr != NULL)
		vio_vu_fe_free(&b->fe, io->hdr_gpa, 2 * VIO_VU_FE_GRANULE);
	if (io->data != NULL)
		vio_vu_fe_free(&b->fe, io->data_gpa, io->data_cap);
	memset(io, 0, sizeof(*io));
}

/* Whether the device writes the data of a request type (reads) or reads it. */
static bool data_in(uint32_t type)
{
	return type == VIO_BLK_T_IN || type == VIO_BLK_T_GET_ID || type == VIO_BLK_T_GET_LIFETIME;
}

int vio_vu_blk_io_submit(struct vio_vu_blk *b, uint16_t queue, struct vio_vu_blk_io *io,
			 uint32_t type, uint64_t sector, uint32_t len, void *token)
{
	bool in = data_in(type);

	if (len > io->data_cap)
		return -EINVAL;
	put_hdr(io->hdr, type, sector);
	*io->status = NO_STATUS;
	return queue_chain(b, queue, io->hdr_gpa, io->data_gpa, in ? 0 : len, io->data_gpa,
			   in ? len : 0, io->status_gpa, token);
}

int vio_vu_blk_io_status(const struct vio_vu_blk_io *io)
{
	return *io->status == NO_STATUS ? -EPROTO : *io->status;
}
