/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-msg message layouts: encoders and exact-size decoders for every body. */
#include "vioport/byteorder.h"
#include "vioport/errno.h"
#include "vioport/vmsg.h"

#include <stddef.h>

#define P(buf) ((uint8_t *) (buf) + VIO_VMSG_HDR_SIZE)
#define C(msg) ((const uint8_t *) (msg) + VIO_VMSG_HDR_SIZE)

/* Largest byte count that still fits the 16-bit msg_size. */
#define SIZE_LIMIT 0xFFFFu

int vio_vmsg_hdr_decode(struct vio_vmsg_hdr *h, const void *msg, uint32_t len, uint32_t max)
{
	const uint8_t *m = msg;

	if (len < VIO_VMSG_HDR_SIZE)
		return -VIO_EMSGSIZE;
	h->type = m[0] & VIO_VMSG_TYPE_MASK;
	h->id = m[1];
	h->dev_num = vio_get_le16(m + 2);
	h->token = vio_get_le16(m + 4);
	h->size = vio_get_le16(m + 6);
	if (h->size < VIO_VMSG_HDR_SIZE || h->size > len || h->size > max)
		return -VIO_EMSGSIZE;
	return 0;
}

/* Writes the header for a message of size bytes; returns size or -VIO_EMSGSIZE. */
static int put_hdr(void *buf, uint32_t max, const struct vio_vmsg_hdr *h, uint32_t size)
{
	uint8_t *m = buf;

	if (size > max || size > SIZE_LIMIT)
		return -VIO_EMSGSIZE;
	m[0] = h->type & VIO_VMSG_TYPE_MASK;
	m[1] = h->id;
	vio_put_le16(m + 2, h->dev_num);
	vio_put_le16(m + 4, h->token);
	vio_put_le16(m + 6, (uint16_t) size);
	return (int) size;
}

static int check_size(const struct vio_vmsg_hdr *h, uint32_t want)
{
	return h->size == want ? 0 : -VIO_EMSGSIZE;
}

static void copy_bytes(uint8_t *dst, const uint8_t *src, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		dst[i] = src[i];
}

int vio_vmsg_encode_empty(void *buf, uint32_t max, const struct vio_vmsg_hdr *h)
{
	return put_hdr(buf, max, h, VIO_VMSG_SIZE_EMPTY);
}

int vio_vmsg_decode_empty(const struct vio_vmsg_hdr *h, const void *msg)
{
	(void) msg;
	return check_size(h, VIO_VMSG_SIZE_EMPTY);
}

int vio_vmsg_encode_u32(void *buf, uint32_t max, const struct vio_vmsg_hdr *h, uint32_t v)
{
	int rc = put_hdr(buf, max, h, VIO_VMSG_SIZE_U32);

	if (rc >= 0)
		vio_put_le32(P(buf), v);
	return rc;
}

int vio_vmsg_decode_u32(const struct vio_vmsg_hdr *h, const void *msg, uint32_t *v)
{
	if (check_size(h, VIO_VMSG_SIZE_U32) < 0)
		return -VIO_EMSGSIZE;
	*v = vio_get_le32(C(msg));
	return 0;
}

int vio_vmsg_encode_device_info(void *buf, uint32_t max, const struct vio_vmsg_hdr *h,
				const struct vio_vmsg_device_info *b)
{
	int rc = put_hdr(buf, max, h, VIO_VMSG_SIZE_DEVICE_INFO);
	uint8_t *p = P(buf);

	if (rc < 0)
		return rc;
	vio_put_le32(p, b->device_id);
	vio_put_le32(p + 4, b->vendor_id);
	copy_bytes(p + 8, b->uuid, sizeof(b->uuid));
	vio_put_le32(p + 24, b->num_feature_blocks);
	vio_put_le32(p + 28, b->config_size);
	vio_put_le32(p + 32, b->max_virtqueues);
	vio_put_le32(p + 36, b->admin_vq_start);
	vio_put_le32(p + 40, b->admin_vq_count);
	return rc;
}

int vio_vmsg_decode_device_info(const struct vio_vmsg_hdr *h, const void *msg,
				struct vio_vmsg_device_info *b)
{
	const uint8_t *p = C(msg);

	if (check_size(h, VIO_VMSG_SIZE_DEVICE_INFO) < 0)
		return -VIO_EMSGSIZE;
	b->device_id = vio_get_le32(p);
	b->vendor_id = vio_get_le32(p + 4);
	copy_bytes(b->uuid, p + 8, sizeof(b->uuid));
	b->num_feature_blocks = vio_get_le32(p + 24);
	b->config_size = vio_get_le32(p + 28);
	b->max_virtqueues = vio_get_le32(p + 32);
	b->admin_vq_start = vio_get_le32(p + 36);
	b->admin_vq_count = vio_get_le32(p + 40);
	return 0;
}

/* The two le32 of a range request (features: index, count; config: offset, length). */
static int encode_pair(void *buf, uint32_t max, const struct vio_vmsg_hdr *h, uint32_t a,
		       uint32_t b)
{
	int rc = put_hdr(buf, max, h, VIO_VMSG_SIZE_RANGE);

	if (rc >= 0) {
		vio_put_le32(P(buf), a);
		vio_put_le32(P(buf) + 4, b);
	}
	return rc;
}

int vio_vmsg_encode_features_req(void *buf, uint32_t max, const struct vio_vmsg_hdr *h,
				 const struct vio_vmsg_features *b)
{
	return encode_pair(buf, max, h, b->index, b->count);
}

int vio_vmsg_decode_features_req(const struct vio_vmsg_hdr *h, const void *msg,
				 struct vio_vmsg_features *b)
{
	if (check_size(h, VIO_VMSG_SIZE_RANGE) < 0)
		return -VIO_EMSGSIZE;
	b->index = vio_get_le32(C(msg));
	b->count = vio_get_le32(C(msg) + 4);
	return 0;
}

int vio_vmsg_encode_features(void *buf, uint32_t max, const struct vio_vmsg_hdr *h,
			     const struct vio_vmsg_features *b)
{
	int rc;

	if (b->count > VIO_VMSG_FEATURE_BLOCKS_MAX)
		return -VIO_EMSGSIZE;
	rc = put_hdr(buf, max, h, VIO_VMSG_SIZE_FEATURES(b->count));
	if (rc < 0)
		return rc;
	vio_put_le32(P(buf), b->index);
	vio_put_le32(P(buf) + 4, b->count);
	for (uint32_t i = 0; i < b->count; i++)
		vio_put_le32(P(buf) + 8 + 4 * i, b->blocks[i]);
	return rc;
}

int vio_vmsg_decode_features(const struct vio_vmsg_hdr *h, const void *msg,
			     struct vio_vmsg_features *b)
{
	const uint8_t *p = C(msg);
	uint32_t count;

	if (h->size < VIO_VMSG_SIZE_FEATURES(0))
		return -VIO_EMSGSIZE;
	count = vio_get_le32(p + 4);
	if (count > VIO_VMSG_FEATURE_BLOCKS_MAX || h->size != VIO_VMSG_SIZE_FEATURES(count))
		return -VIO_EMSGSIZE;
	b->index = vio_get_le32(p);
	b->count = count;
	for (uint32_t i = 0; i < count; i++)
		b->blocks[i] = vio_get_le32(p + 8 + 4 * i);
	return 0;
}

int vio_vmsg_encode_config_req(void *buf, uint32_t max, const struct vio_vmsg_hdr *h,
			       const struct vio_vmsg_config *b)
{
	return encode_pair(buf, max, h, b->offset, b->length);
}

int vio_vmsg_decode_config_req(const struct vio_vmsg_hdr *h, const void *msg,
			       struct vio_vmsg_config *b)
{
	if (check_size(h, VIO_VMSG_SIZE_RANGE) < 0)
		return -VIO_EMSGSIZE;
	b->generation = 0;
	b->offset = vio_get_le32(C(msg));
	b->length = vio_get_le32(C(msg) + 4);
	b->data = NULL;
	return 0;
}

int vio_vmsg_encode_config(void *buf, uint32_t max, const struct vio_vmsg_hdr *h,
			   const struct vio_vmsg_config *b)
{
	int rc;

	if (b->length > SIZE_LIMIT || (b->length > 0 && b->data == NULL))
		return -VIO_EMSGSIZE;
	rc = put_hdr(buf, max, h, VIO_VMSG_SIZE_CONFIG(b->length));
	if (rc < 0)
		return rc;
	vio_put_le32(P(buf), b->generation);
	vio_put_le32(P(buf) + 4, b->offset);
	vio_put_le32(P(buf) + 8, b->length);
	copy_bytes(P(buf) + 12, b->data, b->length);
	return rc;
}

int vio_vmsg_decode_config(const struct vio_vmsg_hdr *h, const void *msg, struct vio_vmsg_config *b)
{
	const uint8_t *p = C(msg);
	uint32_t length;

	if (h->size < VIO_VMSG_SIZE_CONFIG(0))
		return -VIO_EMSGSIZE;
	length = vio_get_le32(p + 8);
	if (length > SIZE_LIMIT || h->size != VIO_VMSG_SIZE_CONFIG(length))
		return -VIO_EMSGSIZE;
	b->generation = vio_get_le32(p);
	b->offset = vio_get_le32(p + 4);
	b->length = length;
	b->data = p + 12;
	return 0;
}

int vio_vmsg_encode_event_config(void *buf, uint32_t max, const struct vio_vmsg_hdr *h,
				 const struct vio_vmsg_event_config *b)
{
	int rc;

	if ((b->data_len != 0 && b->data_len != b->length) || b->data_len > SIZE_LIMIT ||
	    (b->data_len > 0 && b->data == NULL))
		return -VIO_EMSGSIZE;
	rc = put_hdr(buf, max, h, VIO_VMSG_SIZE_EVENT_CONFIG(b->data_len));
	if (rc < 0)
		return rc;
	vio_put_le32(P(buf), b->status);
	vio_put_le32(P(buf) + 4, b->generation);
	vio_put_le32(P(buf) + 8, b->offset);
	vio_put_le32(P(buf) + 12, b->length);
	copy_bytes(P(buf) + 16, b->data, b->data_len);
	return rc;
}

int vio_vmsg_decode_event_config(const struct vio_vmsg_hdr *h, const void *msg,
				 struct vio_vmsg_event_config *b)
{
	const uint8_t *p = C(msg);
	uint32_t data_len;

	if (h->size < VIO_VMSG_SIZE_EVENT_CONFIG(0))
		return -VIO_EMSGSIZE;
	data_len = h->size - VIO_VMSG_SIZE_EVENT_CONFIG(0);
	b->length = vio_get_le32(p + 12);
	if (data_len != 0 && data_len != b->length)
		return -VIO_EMSGSIZE;
	b->status = vio_get_le32(p);
	b->generation = vio_get_le32(p + 4);
	b->offset = vio_get_le32(p + 8);
	b->data_len = data_len;
	b->data = data_len > 0 ? p + 16 : NULL;
	return 0;
}

/* The three ring addresses at p. */
static void put_addrs(uint8_t *p, const struct vio_vmsg_vqueue *b)
{
	vio_put_le64(p, b->desc);
	vio_put_le64(p + 8, b->driver);
	vio_put_le64(p + 16, b->device);
}

static void get_addrs(const uint8_t *p, struct vio_vmsg_vqueue *b)
{
	b->desc = vio_get_le64(p);
	b->driver = vio_get_le64(p + 8);
	b->device = vio_get_le64(p + 16);
}

int vio_vmsg_encode_vqueue_info(void *buf, uint32_t max, const struct vio_vmsg_hdr *h,
				const struct vio_vmsg_vqueue *b)
{
	int rc = put_hdr(buf, max, h, VIO_VMSG_SIZE_VQUEUE);
	uint8_t *p = P(buf);

	if (rc < 0)
		return rc;
	vio_put_le32(p, b->index);
	vio_put_le32(p + 4, b->max_size);
	vio_put_le32(p + 8, b->size);
	vio_put_le32(p + 12, b->flags);
	put_addrs(p + 16, b);
	return rc;
}

int vio_vmsg_decode_vqueue_info(const struct vio_vmsg_hdr *h, const void *msg,
				struct vio_vmsg_vqueue *b)
{
	const uint8_t *p = C(msg);

	if (check_size(h, VIO_VMSG_SIZE_VQUEUE) < 0)
		return -VIO_EMSGSIZE;
	b->index = vio_get_le32(p);
	b->max_size = vio_get_le32(p + 4);
	b->size = vio_get_le32(p + 8);
	b->flags = vio_get_le32(p + 12);
	b->reserved = 0;
	get_addrs(p + 16, b);
	return 0;
}

int vio_vmsg_encode_set_vqueue(void *buf, uint32_t max, const struct vio_vmsg_hdr *h,
			       const struct vio_vmsg_vqueue *b)
{
	int rc = put_hdr(buf, max, h, VIO_VMSG_SIZE_VQUEUE);
	uint8_t *p = P(buf);

	if (rc < 0)
		return rc;
	vio_put_le32(p, b->index);
	vio_put_le32(p + 4, b->flags);
	vio_put_le32(p + 8, b->size);
	vio_put_le32(p + 12, b->reserved);
	put_addrs(p + 16, b);
	return rc;
}

int vio_vmsg_decode_set_vqueue(const struct vio_vmsg_hdr *h, const void *msg,
			       struct vio_vmsg_vqueue *b)
{
	const uint8_t *p = C(msg);

	if (check_size(h, VIO_VMSG_SIZE_VQUEUE) < 0)
		return -VIO_EMSGSIZE;
	b->index = vio_get_le32(p);
	b->flags = vio_get_le32(p + 4);
	b->size = vio_get_le32(p + 8);
	b->reserved = vio_get_le32(p + 12);
	b->max_size = 0;
	get_addrs(p + 16, b);
	return 0;
}

int vio_vmsg_encode_shm_info(void *buf, uint32_t max, const struct vio_vmsg_hdr *h,
			     const struct vio_vmsg_shm_info *b)
{
	int rc = put_hdr(buf, max, h, VIO_VMSG_SIZE_SHM);
	uint8_t *p = P(buf);

	if (rc < 0)
		return rc;
	vio_put_le32(p, b->shmid);
	vio_put_le32(p + 4, 0);
	vio_put_le64(p + 8, b->length);
	vio_put_le64(p + 16, b->address);
	return rc;
}

int vio_vmsg_decode_shm_info(const struct vio_vmsg_hdr *h, const void *msg,
			     struct vio_vmsg_shm_info *b)
{
	const uint8_t *p = C(msg);

	if (check_size(h, VIO_VMSG_SIZE_SHM) < 0)
		return -VIO_EMSGSIZE;
	b->shmid = vio_get_le32(p);
	b->length = vio_get_le64(p + 8);
	b->address = vio_get_le64(p + 16);
	return 0;
}

int vio_vmsg_encode_event_avail(void *buf, uint32_t max, const struct vio_vmsg_hdr *h,
				const struct vio_vmsg_event_avail *b)
{
	int rc = put_hdr(buf, max, h, VIO_VMSG_SIZE_EVENT_AVAIL);

	if (rc >= 0) {
		vio_put_le32(P(buf), b->index);
		vio_put_le32(P(buf) + 4, b->next_offset);
	}
	return rc;
}

int vio_vmsg_decode_event_avail(const struct vio_vmsg_hdr *h, const void *msg,
				struct vio_vmsg_event_avail *b)
{
	if (check_size(h, VIO_VMSG_SIZE_EVENT_AVAIL) < 0)
		return -VIO_EMSGSIZE;
	b->index = vio_get_le32(C(msg));
	b->next_offset = vio_get_le32(C(msg) + 4);
	return 0;
}

int vio_vmsg_encode_devices_req(void *buf, uint32_t max, const struct vio_vmsg_hdr *h,
				const struct vio_vmsg_devices *b)
{
	int rc = put_hdr(buf, max, h, VIO_VMSG_SIZE_GET_DEVICES_REQ);

	if (rc >= 0) {
		vio_put_le16(P(buf), b->offset);
		vio_put_le16(P(buf) + 2, b->count);
	}
	return rc;
}

int vio_vmsg_decode_devices_req(const struct vio_vmsg_hdr *h, const void *msg,
				struct vio_vmsg_devices *b)
{
	if (check_size(h, VIO_VMSG_SIZE_GET_DEVICES_REQ) < 0)
		return -VIO_EMSGSIZE;
	b->offset = vio_get_le16(C(msg));
	b->count = vio_get_le16(C(msg) + 2);
	b->next_offset = 0;
	b->bitmap = NULL;
	return 0;
}

int vio_vmsg_encode_devices(void *buf, uint32_t max, const struct vio_vmsg_hdr *h,
			    const struct vio_vmsg_devices *b)
{
	uint32_t nbytes = ((uint32_t) b->count + 7u) / 8u;
	int rc;

	if (nbytes > 0 && b->bitmap == NULL)
		return -VIO_EMSGSIZE;
	rc = put_hdr(buf, max, h, VIO_VMSG_SIZE_GET_DEVICES(b->count));
	if (rc < 0)
		return rc;
	vio_put_le16(P(buf), b->offset);
	vio_put_le16(P(buf) + 2, b->next_offset);
	vio_put_le16(P(buf) + 4, b->count);
	copy_bytes(P(buf) + 6, b->bitmap, nbytes);
	return rc;
}

int vio_vmsg_decode_devices(const struct vio_vmsg_hdr *h, const void *msg,
			    struct vio_vmsg_devices *b)
{
	const uint8_t *p = C(msg);
	uint16_t count;

	if (h->size < VIO_VMSG_SIZE_GET_DEVICES(0))
		return -VIO_EMSGSIZE;
	count = vio_get_le16(p + 4);
	if (h->size != VIO_VMSG_SIZE_GET_DEVICES(count))
		return -VIO_EMSGSIZE;
	b->offset = vio_get_le16(p);
	b->next_offset = vio_get_le16(p + 2);
	b->count = count;
	b->bitmap = count > 0 ? p + 6 : NULL;
	return 0;
}

int vio_vmsg_encode_event_device(void *buf, uint32_t max, const struct vio_vmsg_hdr *h,
				 const struct vio_vmsg_event_device *b)
{
	int rc = put_hdr(buf, max, h, VIO_VMSG_SIZE_EVENT_DEVICE);

	if (rc >= 0) {
		vio_put_le16(P(buf), b->dev_num);
		vio_put_le16(P(buf) + 2, b->state);
	}
	return rc;
}

int vio_vmsg_decode_event_device(const struct vio_vmsg_hdr *h, const void *msg,
				 struct vio_vmsg_event_device *b)
{
	if (check_size(h, VIO_VMSG_SIZE_EVENT_DEVICE) < 0)
		return -VIO_EMSGSIZE;
	b->dev_num = vio_get_le16(C(msg));
	b->state = vio_get_le16(C(msg) + 2);
	return 0;
}
