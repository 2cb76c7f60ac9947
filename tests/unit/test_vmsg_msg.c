/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-msg message layouts: every body round-trips through its encoder and
 * decoder with the exact wire size, and every size check refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vioport/byteorder.h"
#include "vioport/errno.h"
#include "vioport/vmsg.h"

#define MAX VIO_VMSG_MAX_SIZE

static uint8_t buf[512];

static struct vio_vmsg_hdr mk(uint8_t type, uint8_t id)
{
	struct vio_vmsg_hdr h = {.type = type, .id = id, .dev_num = 0x1234, .token = 0xbeef};

	return h;
}

/* Decodes the header just written and checks what every encoder must write. */
static struct vio_vmsg_hdr reread(int rc, uint32_t want_size, uint8_t type, uint8_t id)
{
	struct vio_vmsg_hdr h;

	assert_int_equal(rc, (int) want_size);
	assert_int_equal(vio_vmsg_hdr_decode(&h, buf, (uint32_t) rc, MAX), 0);
	assert_int_equal(h.type, type);
	assert_int_equal(h.id, id);
	assert_int_equal(h.dev_num, 0x1234);
	assert_int_equal(h.token, 0xbeef);
	assert_int_equal(h.size, want_size);
	return h;
}

/* The same header with a wrong size, for the decoders' exact-size checks. */
#define R(d, delta)                                                                                \
	(&(struct vio_vmsg_hdr){(d).type, (d).id, (d).dev_num, (d).token,                          \
				(uint16_t) ((d).size + (delta))})

static void test_header(void **state)
{
	struct vio_vmsg_hdr h = mk(0xfd, 0x42), d;

	(void) state;
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(vio_vmsg_encode_empty(buf, MAX, &h), 8);
	/* Reserved type bits are never sent. */
	assert_int_equal(buf[0], 0x01);
	assert_int_equal(buf[1], 0x42);
	assert_int_equal(vio_get_le16(buf + 2), 0x1234);
	assert_int_equal(vio_get_le16(buf + 4), 0xbeef);
	assert_int_equal(vio_get_le16(buf + 6), 8);
	/* ... and ignored on receive. */
	buf[0] = 0xfe;
	assert_int_equal(vio_vmsg_hdr_decode(&d, buf, 8, MAX), 0);
	assert_int_equal(d.type, VIO_VMSG_TYPE_BUS);

	assert_int_equal(vio_vmsg_hdr_decode(&d, buf, 7, MAX), -VIO_EMSGSIZE);
	vio_put_le16(buf + 6, 7);
	assert_int_equal(vio_vmsg_hdr_decode(&d, buf, 8, MAX), -VIO_EMSGSIZE);
	/* msg_size beyond the bytes received, or beyond the bus maximum. */
	vio_put_le16(buf + 6, 12);
	assert_int_equal(vio_vmsg_hdr_decode(&d, buf, 11, MAX), -VIO_EMSGSIZE);
	vio_put_le16(buf + 6, MAX + 1);
	assert_int_equal(vio_vmsg_hdr_decode(&d, buf, sizeof(buf), MAX), -VIO_EMSGSIZE);
	/* Bus padding past msg_size is allowed. */
	vio_put_le16(buf + 6, 12);
	assert_int_equal(vio_vmsg_hdr_decode(&d, buf, MAX, MAX), 0);
	assert_int_equal(d.size, 12);
	/* The encoder refuses a message larger than the space it is given. */
	assert_int_equal(vio_vmsg_encode_empty(buf, 7, &h), -VIO_EMSGSIZE);
	assert_int_equal(vio_vmsg_encode_u32(buf, 11, &h, 1), -VIO_EMSGSIZE);
}

static void test_empty_and_u32(void **state)
{
	struct vio_vmsg_hdr h = mk(0, VIO_VMSG_GET_DEVICE_INFO), d;
	uint32_t v = 0;

	(void) state;
	d = reread(vio_vmsg_encode_empty(buf, MAX, &h), 8, 0, VIO_VMSG_GET_DEVICE_INFO);
	assert_int_equal(vio_vmsg_decode_empty(&d, buf), 0);
	assert_int_equal(vio_vmsg_decode_empty(&(struct vio_vmsg_hdr){.size = 9}, buf),
			 -VIO_EMSGSIZE);

	h = mk(VIO_VMSG_TYPE_RESPONSE, VIO_VMSG_SET_DEVICE_STATUS);
	d = reread(vio_vmsg_encode_u32(buf, MAX, &h, 0xcafe0042u), 12, VIO_VMSG_TYPE_RESPONSE,
		   VIO_VMSG_SET_DEVICE_STATUS);
	assert_int_equal(vio_get_le32(buf + 8), 0xcafe0042u);
	assert_int_equal(vio_vmsg_decode_u32(&d, buf, &v), 0);
	assert_int_equal(v, 0xcafe0042u);
	assert_int_equal(vio_vmsg_decode_u32(&(struct vio_vmsg_hdr){.size = 11}, buf, &v),
			 -VIO_EMSGSIZE);
	assert_int_equal(vio_vmsg_decode_u32(&(struct vio_vmsg_hdr){.size = 13}, buf, &v),
			 -VIO_EMSGSIZE);
}

static void test_device_info(void **state)
{
	struct vio_vmsg_hdr h = mk(VIO_VMSG_TYPE_RESPONSE, VIO_VMSG_GET_DEVICE_INFO), d;
	struct vio_vmsg_device_info in = {.device_id = 2,
					  .vendor_id = 0x56494f50,
					  .num_feature_blocks = 2,
					  .config_size = 60,
					  .max_virtqueues = 3,
					  .admin_vq_start = 1,
					  .admin_vq_count = 2},
				    out;

	(void) state;
	for (unsigned i = 0; i < 16; i++)
		in.uuid[i] = (uint8_t) (i * 17);
	d = reread(vio_vmsg_encode_device_info(buf, MAX, &h, &in), 52, VIO_VMSG_TYPE_RESPONSE,
		   VIO_VMSG_GET_DEVICE_INFO);
	/* Wire offsets as the draft lays them out. */
	assert_int_equal(vio_get_le32(buf + 8), 2);
	assert_int_equal(buf[16 + 5], 5 * 17);
	assert_int_equal(vio_get_le32(buf + 32), 2);
	assert_int_equal(vio_get_le32(buf + 48), 2);
	memset(&out, 0, sizeof(out));
	assert_int_equal(vio_vmsg_decode_device_info(&d, buf, &out), 0);
	assert_memory_equal(&in, &out, sizeof(in));
	assert_int_equal(vio_vmsg_decode_device_info(&(struct vio_vmsg_hdr){.size = 51}, buf, &out),
			 -VIO_EMSGSIZE);
	assert_int_equal(vio_vmsg_decode_device_info(&(struct vio_vmsg_hdr){.size = 53}, buf, &out),
			 -VIO_EMSGSIZE);
	assert_int_equal(vio_vmsg_encode_device_info(buf, 51, &h, &in), -VIO_EMSGSIZE);
}

static void test_features(void **state)
{
	struct vio_vmsg_hdr h = mk(0, VIO_VMSG_GET_DEVICE_FEATURES), d;
	struct vio_vmsg_features in = {.index = 1, .count = 3, .blocks = {7, 0x80000001u, 9}}, out;

	(void) state;
	d = reread(vio_vmsg_encode_features_req(buf, MAX, &h, &in), 16, 0,
		   VIO_VMSG_GET_DEVICE_FEATURES);
	memset(&out, 0, sizeof(out));
	assert_int_equal(vio_vmsg_decode_features_req(&d, buf, &out), 0);
	assert_int_equal(out.index, 1);
	assert_int_equal(out.count, 3);
	assert_int_equal(
	    vio_vmsg_decode_features_req(&(struct vio_vmsg_hdr){.size = 20}, buf, &out),
	    -VIO_EMSGSIZE);

	h = mk(0, VIO_VMSG_SET_DRIVER_FEATURES);
	d = reread(vio_vmsg_encode_features(buf, MAX, &h, &in), 28, 0,
		   VIO_VMSG_SET_DRIVER_FEATURES);
	memset(&out, 0, sizeof(out));
	assert_int_equal(vio_vmsg_decode_features(&d, buf, &out), 0);
	assert_int_equal(out.index, 1);
	assert_int_equal(out.count, 3);
	assert_int_equal(out.blocks[1], 0x80000001u);
	assert_int_equal(out.blocks[2], 9);
	/* The block count must match the size exactly. */
	assert_int_equal(vio_vmsg_decode_features(R(d, -4), buf, &out), -VIO_EMSGSIZE);
	assert_int_equal(vio_vmsg_decode_features(R(d, 4), buf, &out), -VIO_EMSGSIZE);
	assert_int_equal(vio_vmsg_decode_features(R(d, 1), buf, &out), -VIO_EMSGSIZE);
	assert_int_equal(vio_vmsg_decode_features(&(struct vio_vmsg_hdr){.size = 15}, buf, &out),
			 -VIO_EMSGSIZE);
	/* A count that wraps the size computation is refused. */
	vio_put_le32(buf + 12, 0x40000003u);
	assert_int_equal(vio_vmsg_decode_features(&d, buf, &out), -VIO_EMSGSIZE);
	/* More blocks than one message holds. */
	in.count = VIO_VMSG_FEATURE_BLOCKS_MAX;
	assert_int_equal(vio_vmsg_encode_features(buf, MAX, &h, &in), (int) MAX);
	assert_int_equal(vio_vmsg_encode_features(buf, MAX - 1, &h, &in), -VIO_EMSGSIZE);
	in.count = VIO_VMSG_FEATURE_BLOCKS_MAX + 1;
	assert_int_equal(vio_vmsg_encode_features(buf, sizeof(buf), &h, &in), -VIO_EMSGSIZE);
	vio_put_le32(buf + 12, VIO_VMSG_FEATURE_BLOCKS_MAX + 1);
	d.size = (uint16_t) VIO_VMSG_SIZE_FEATURES(VIO_VMSG_FEATURE_BLOCKS_MAX + 1);
	assert_int_equal(vio_vmsg_decode_features(&d, buf, &out), -VIO_EMSGSIZE);
}

static void test_config(void **state)
{
	static const uint8_t data[VIO_VMSG_CONFIG_CHUNK_MAX] = {1, 2, 3, 4, 5, [43] = 0x77};
	struct vio_vmsg_hdr h = mk(0, VIO_VMSG_GET_CONFIG), d;
	struct vio_vmsg_config in = {.generation = 5, .offset = 8, .length = 5, .data = data}, out;

	(void) state;
	d = reread(vio_vmsg_encode_config_req(buf, MAX, &h, &in), 16, 0, VIO_VMSG_GET_CONFIG);
	assert_int_equal(vio_vmsg_decode_config_req(&d, buf, &out), 0);
	assert_int_equal(out.offset, 8);
	assert_int_equal(out.length, 5);
	assert_null(out.data);
	assert_int_equal(vio_vmsg_decode_config_req(R(d, 1), buf, &out), -VIO_EMSGSIZE);

	h = mk(0, VIO_VMSG_SET_CONFIG);
	d = reread(vio_vmsg_encode_config(buf, MAX, &h, &in), 25, 0, VIO_VMSG_SET_CONFIG);
	assert_int_equal(vio_vmsg_decode_config(&d, buf, &out), 0);
	assert_int_equal(out.generation, 5);
	assert_int_equal(out.offset, 8);
	assert_int_equal(out.length, 5);
	assert_memory_equal(out.data, data, 5);
	assert_ptr_equal(out.data, buf + 20);
	assert_int_equal(vio_vmsg_decode_config(R(d, -1), buf, &out), -VIO_EMSGSIZE);
	assert_int_equal(vio_vmsg_decode_config(R(d, 1), buf, &out), -VIO_EMSGSIZE);
	assert_int_equal(vio_vmsg_decode_config(&(struct vio_vmsg_hdr){.size = 19}, buf, &out),
			 -VIO_EMSGSIZE);
	/* A length that would wrap. */
	vio_put_le32(buf + 16, 0xfffffff0u);
	assert_int_equal(vio_vmsg_decode_config(&d, buf, &out), -VIO_EMSGSIZE);
	/* Rejected SET_CONFIG answer: length 0, no data. */
	in.length = 0;
	h = mk(VIO_VMSG_TYPE_RESPONSE, VIO_VMSG_SET_CONFIG);
	d = reread(vio_vmsg_encode_config(buf, MAX, &h, &in), 20, VIO_VMSG_TYPE_RESPONSE,
		   VIO_VMSG_SET_CONFIG);
	assert_int_equal(vio_vmsg_decode_config(&d, buf, &out), 0);
	assert_int_equal(out.length, 0);
	/* The largest chunk fits exactly; one more byte does not. */
	in.length = VIO_VMSG_CONFIG_CHUNK_MAX;
	d = reread(vio_vmsg_encode_config(buf, MAX, &h, &in), MAX, VIO_VMSG_TYPE_RESPONSE,
		   VIO_VMSG_SET_CONFIG);
	assert_int_equal(vio_vmsg_decode_config(&d, buf, &out), 0);
	assert_int_equal(out.data[43], 0x77);
	in.length++;
	assert_int_equal(vio_vmsg_encode_config(buf, MAX, &h, &in), -VIO_EMSGSIZE);
	in.data = NULL;
	in.length = 1;
	assert_int_equal(vio_vmsg_encode_config(buf, MAX, &h, &in), -VIO_EMSGSIZE);
}

static void test_event_config(void **state)
{
	static const uint8_t data[8] = {9, 8, 7, 6};
	struct vio_vmsg_hdr h = mk(0, VIO_VMSG_EVENT_CONFIG), d;
	struct vio_vmsg_event_config in = {.status = 0x4f,
					   .generation = 3,
					   .offset = 4,
					   .length = 4,
					   .data = data,
					   .data_len = 4},
				     out;

	(void) state;
	d = reread(vio_vmsg_encode_event_config(buf, MAX, &h, &in), 28, 0, VIO_VMSG_EVENT_CONFIG);
	assert_int_equal(vio_vmsg_decode_event_config(&d, buf, &out), 0);
	assert_int_equal(out.status, 0x4f);
	assert_int_equal(out.generation, 3);
	assert_int_equal(out.offset, 4);
	assert_int_equal(out.length, 4);
	assert_int_equal(out.data_len, 4);
	assert_memory_equal(out.data, data, 4);
	/* Data partly there: neither omitted nor complete. */
	assert_int_equal(vio_vmsg_decode_event_config(R(d, -1), buf, &out), -VIO_EMSGSIZE);
	assert_int_equal(vio_vmsg_decode_event_config(R(d, 1), buf, &out), -VIO_EMSGSIZE);
	assert_int_equal(
	    vio_vmsg_decode_event_config(&(struct vio_vmsg_hdr){.size = 23}, buf, &out),
	    -VIO_EMSGSIZE);
	/* Data omitted: the driver re-reads the range. */
	in.data_len = 0;
	d = reread(vio_vmsg_encode_event_config(buf, MAX, &h, &in), 24, 0, VIO_VMSG_EVENT_CONFIG);
	assert_int_equal(vio_vmsg_decode_event_config(&d, buf, &out), 0);
	assert_int_equal(out.data_len, 0);
	assert_int_equal(out.length, 4);
	assert_null(out.data);
	in.data_len = 3;
	assert_int_equal(vio_vmsg_encode_event_config(buf, MAX, &h, &in), -VIO_EMSGSIZE);
	in.length = in.data_len = VIO_VMSG_EVENT_CONFIG_MAX + 1;
	in.data = buf + 100;
	assert_int_equal(vio_vmsg_encode_event_config(buf, MAX, &h, &in), -VIO_EMSGSIZE);
}

/* Field by field: the struct has padding before the addresses. */
static void vq_equal(const struct vio_vmsg_vqueue *a, const struct vio_vmsg_vqueue *b)
{
	assert_int_equal(a->index, b->index);
	assert_int_equal(a->max_size, b->max_size);
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->reserved, b->reserved);
	assert_true(a->desc == b->desc);
	assert_true(a->driver == b->driver);
	assert_true(a->device == b->device);
}

static void test_vqueue(void **state)
{
	struct vio_vmsg_hdr h = mk(VIO_VMSG_TYPE_RESPONSE, VIO_VMSG_GET_VQUEUE), d;
	struct vio_vmsg_vqueue in = {.index = 2,
				     .max_size = 256,
				     .size = 64,
				     .flags = VIO_VMSG_VQ_ENABLED,
				     .desc = 0x1122334455667788ull,
				     .driver = 0x1000,
				     .device = 0xffffffff00000000ull},
			       out;

	(void) state;
	d = reread(vio_vmsg_encode_vqueue_info(buf, MAX, &h, &in), 48, VIO_VMSG_TYPE_RESPONSE,
		   VIO_VMSG_GET_VQUEUE);
	assert_int_equal(vio_get_le32(buf + 12), 256);
	assert_int_equal(vio_get_le64(buf + 24), 0x1122334455667788ull);
	memset(&out, 0xff, sizeof(out));
	assert_int_equal(vio_vmsg_decode_vqueue_info(&d, buf, &out), 0);
	assert_int_equal(out.reserved, 0);
	vq_equal(&in, &out);
	assert_int_equal(vio_vmsg_decode_vqueue_info(R(d, -1), buf, &out), -VIO_EMSGSIZE);

	h = mk(0, VIO_VMSG_SET_VQUEUE);
	in.max_size = 0;
	in.flags = VIO_VMSG_VQ_STATE_ENABLE | VIO_VMSG_VQ_DRIVER_IGNORE;
	in.reserved = 0x55;
	d = reread(vio_vmsg_encode_set_vqueue(buf, MAX, &h, &in), 48, 0, VIO_VMSG_SET_VQUEUE);
	assert_int_equal(vio_get_le32(buf + 12), in.flags);
	assert_int_equal(vio_get_le32(buf + 16), 64);
	memset(&out, 0xff, sizeof(out));
	assert_int_equal(vio_vmsg_decode_set_vqueue(&d, buf, &out), 0);
	vq_equal(&in, &out);
	assert_int_equal(vio_vmsg_decode_set_vqueue(R(d, 1), buf, &out), -VIO_EMSGSIZE);
	assert_int_equal(vio_vmsg_encode_set_vqueue(buf, 47, &h, &in), -VIO_EMSGSIZE);
}

static void test_shm_and_events(void **state)
{
	struct vio_vmsg_hdr h = mk(VIO_VMSG_TYPE_RESPONSE, VIO_VMSG_GET_SHM), d;
	struct vio_vmsg_shm_info s = {.shmid = 7, .length = 1ull << 40, .address = 0x8000}, so;
	struct vio_vmsg_event_avail a = {.index = 3, .next_offset = 0x80000005u}, ao;

	(void) state;
	memset(buf, 0xee, sizeof(buf));
	d = reread(vio_vmsg_encode_shm_info(buf, MAX, &h, &s), 32, VIO_VMSG_TYPE_RESPONSE,
		   VIO_VMSG_GET_SHM);
	assert_int_equal(vio_get_le32(buf + 12), 0); /* reserved */
	assert_int_equal(vio_vmsg_decode_shm_info(&d, buf, &so), 0);
	assert_int_equal(so.shmid, 7);
	assert_true(so.length == 1ull << 40);
	assert_int_equal(so.address, 0x8000);
	assert_int_equal(vio_vmsg_decode_shm_info(R(d, -8), buf, &so), -VIO_EMSGSIZE);

	h = mk(0, VIO_VMSG_EVENT_AVAIL);
	d = reread(vio_vmsg_encode_event_avail(buf, MAX, &h, &a), 16, 0, VIO_VMSG_EVENT_AVAIL);
	assert_int_equal(vio_vmsg_decode_event_avail(&d, buf, &ao), 0);
	assert_int_equal(ao.index, 3);
	assert_int_equal(ao.next_offset, 0x80000005u);
	assert_int_equal(vio_vmsg_decode_event_avail(R(d, -4), buf, &ao), -VIO_EMSGSIZE);
}

static void test_bus(void **state)
{
	static const uint8_t bitmap[3] = {0x25, 0x00, 0x01};
	struct vio_vmsg_hdr h = mk(VIO_VMSG_TYPE_BUS, VIO_VMSG_BUS_GET_DEVICES), d;
	struct vio_vmsg_devices in = {.offset = 16,
				      .next_offset = 40,
				      .count = 17,
				      .bitmap = bitmap},
				out;
	struct vio_vmsg_event_device e = {.dev_num = 5, .state = VIO_VMSG_DEVICE_REMOVED}, eo;

	(void) state;
	d = reread(vio_vmsg_encode_devices_req(buf, MAX, &h, &in), 12, VIO_VMSG_TYPE_BUS,
		   VIO_VMSG_BUS_GET_DEVICES);
	assert_int_equal(vio_vmsg_decode_devices_req(&d, buf, &out), 0);
	assert_int_equal(out.offset, 16);
	assert_int_equal(out.count, 17);
	assert_int_equal(out.next_offset, 0);
	assert_int_equal(vio_vmsg_decode_devices_req(R(d, 2), buf, &out), -VIO_EMSGSIZE);

	h.type |= VIO_VMSG_TYPE_RESPONSE;
	d = reread(vio_vmsg_encode_devices(buf, MAX, &h, &in), 17,
		   VIO_VMSG_TYPE_BUS | VIO_VMSG_TYPE_RESPONSE, VIO_VMSG_BUS_GET_DEVICES);
	assert_int_equal(vio_vmsg_decode_devices(&d, buf, &out), 0);
	assert_int_equal(out.offset, 16);
	assert_int_equal(out.next_offset, 40);
	assert_int_equal(out.count, 17);
	assert_memory_equal(out.bitmap, bitmap, 3);
	/* The bitmap must be exactly (count + 7) / 8 bytes. */
	assert_int_equal(vio_vmsg_decode_devices(R(d, -1), buf, &out), -VIO_EMSGSIZE);
	assert_int_equal(vio_vmsg_decode_devices(R(d, 1), buf, &out), -VIO_EMSGSIZE);
	assert_int_equal(vio_vmsg_decode_devices(&(struct vio_vmsg_hdr){.size = 13}, buf, &out),
			 -VIO_EMSGSIZE);
	in.count = 0;
	d = reread(vio_vmsg_encode_devices(buf, MAX, &h, &in), 14,
		   VIO_VMSG_TYPE_BUS | VIO_VMSG_TYPE_RESPONSE, VIO_VMSG_BUS_GET_DEVICES);
	assert_int_equal(vio_vmsg_decode_devices(&d, buf, &out), 0);
	assert_null(out.bitmap);
	in.count = VIO_VMSG_GET_DEVICES_MAX + 1;
	in.bitmap = buf + 100;
	assert_int_equal(vio_vmsg_encode_devices(buf, MAX, &h, &in), -VIO_EMSGSIZE);

	h = mk(VIO_VMSG_TYPE_BUS, VIO_VMSG_BUS_EVENT_DEVICE);
	d = reread(vio_vmsg_encode_event_device(buf, MAX, &h, &e), 12, VIO_VMSG_TYPE_BUS,
		   VIO_VMSG_BUS_EVENT_DEVICE);
	assert_int_equal(vio_vmsg_decode_event_device(&d, buf, &eo), 0);
	assert_int_equal(eo.dev_num, 5);
	assert_int_equal(eo.state, VIO_VMSG_DEVICE_REMOVED);
	assert_int_equal(vio_vmsg_decode_event_device(R(d, -2), buf, &eo), -VIO_EMSGSIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header),	cmocka_unit_test(test_empty_and_u32),
	    cmocka_unit_test(test_device_info), cmocka_unit_test(test_features),
	    cmocka_unit_test(test_config),	cmocka_unit_test(test_event_config),
	    cmocka_unit_test(test_vqueue),	cmocka_unit_test(test_shm_and_events),
	    cmocka_unit_test(test_bus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
