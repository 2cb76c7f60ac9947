/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user protocol engine on its own, behind an in-memory glue: the
 * configuration check, the log formatter, framing of a byte stream, memory
 * regions checked against the object behind their handle, replies and
 * handle ownership. The message handlers are covered through the POSIX
 * server (test_vhost_user) and by fuzz_vhost_user.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vioport/blk.h"
#include "vioport/errno.h"
#include "vioport/sim_ramdisk.h"
#include "vioport/vhost_user_engine.h"

#define OBJ_SIZE  (64u * 1024u)
#define OBJ_ALIGN 4096u
#define H_MEM	  3 /* handles 0..15: 3 is guest memory, 5 cannot be mapped */
#define H_BAD	  5
#define H_CONN	  1

static struct {
	struct vio_vu_engine e;
	struct vio_vu_ering rings[1];
	struct vio_blk blk;
	struct vio_queue queues[1];
	struct vio_blk_req slots[2];
	struct vio_sim_ramdisk rd;
	uint8_t disk[4096];
	_Alignas(4096) uint8_t obj[OBJ_SIZE];
	bool open[16];
	int maps;
	char log[512];	/* the last line */
	char all[4096]; /* every line, each ending in a newline */
	struct vio_vu_hdr reply;
	uint8_t reply_payload[VIO_VU_MAX_PAYLOAD];
	int replies;
} T;

static int op_describe(void *ctx, int h, uint64_t *size, uint64_t *align)
{
	(void) ctx;
	if (h != H_MEM)
		return -VIO_EINVAL;
	*size = OBJ_SIZE;
	*align = OBJ_ALIGN;
	return 0;
}

static int op_map(void *ctx, int h, uint64_t offset, uint64_t len, void **map)
{
	(void) ctx;
	assert_int_equal(h, H_MEM);
	assert_int_equal(offset % OBJ_ALIGN, 0);
	assert_true(len <= OBJ_SIZE - offset);
	*map = T.obj + offset;
	T.maps++;
	return 0;
}

static void op_unmap(void *ctx, void *map, size_t len)
{
	(void) ctx;
	(void) map;
	(void) len;
	T.maps--;
}

static int op_alloc_shared(void *ctx, uint64_t bytes, void **map)
{
	(void) ctx;
	(void) bytes;
	(void) map;
	return -VIO_ENOMEM;
}

static void op_own_event(void *ctx, int h)
{
	(void) ctx;
	(void) h;
}

static void op_signal(void *ctx, int h)
{
	(void) ctx;
	assert_true(T.open[h]);
}

static void op_close(void *ctx, int h)
{
	(void) ctx;
	assert_true(h >= 0 && h < 16 && T.open[h]);
	T.open[h] = false;
}

static int op_send(void *ctx, int h, const struct vio_vu_hdr *hdr, const void *payload, int fd,
		   int timeout_ms)
{
	(void) ctx;
	(void) fd;
	(void) timeout_ms;
	assert_int_equal(h, H_CONN);
	T.reply = *hdr;
	memcpy(T.reply_payload, payload, hdr->size);
	T.replies++;
	return 0;
}

static void op_kick(void *ctx, uint16_t q, int old)
{
	(void) ctx;
	(void) q;
	if (old >= 0)
		op_close(NULL, old);
}

static void op_log(void *ctx, int level, const char *msg)
{
	(void) ctx;
	(void) level;
	strncpy(T.log, msg, sizeof(T.log) - 1);
	if (strlen(T.all) + strlen(msg) + 2 < sizeof(T.all)) {
		strcat(T.all, msg);
		strcat(T.all, "\n");
	}
}

static const struct vio_vu_engine_ops ops = {
    .describe = op_describe,
    .map = op_map,
    .unmap = op_unmap,
    .alloc_shared = op_alloc_shared,
    .own_event = op_own_event,
    .signal = op_signal,
    .close = op_close,
    .send = op_send,
    .kick = op_kick,
    .log = op_log,
};

static int setup(void **state)
{
	struct vio_blk_params p = {.capacity = 8, .num_queues = 1, .queue_size = 16};
	struct vio_vu_engine_config cfg = {.dev = &T.blk.dev, .rings = T.rings, .ops = &ops};

	(void) state;
	memset(&T, 0, sizeof(T));
	vio_sim_ramdisk_init(&T.rd, T.disk, sizeof(T.disk));
	assert_int_equal(
	    vio_blk_init(&T.blk, &p, &vio_sim_ramdisk_ops, &T.rd, T.queues, T.slots, 2), 0);
	assert_int_equal(vio_vu_engine_init(&T.e, &cfg), 0);
	vio_vu_engine_connect(&T.e, H_CONN);
	for (int i = 0; i < 16; i++)
		T.open[i] = i != H_CONN;
	return 0;
}

static int teardown(void **state)
{
	(void) state;
	vio_vu_engine_disconnect(&T.e);
	vio_vu_engine_fini(&T.e);
	assert_int_equal(T.maps, 0);
	return 0;
}

/* Feeds bytes in chunks of at most chunk; returns the last rx_done result. */
static int feed(const void *bytes, size_t len, size_t chunk)
{
	const uint8_t *b = bytes;
	int rc = 0;

	while (len > 0 && rc == 0) {
		size_t want;
		uint8_t *dst = vio_vu_engine_rx_space(&T.e, &want);

		assert_true(want > 0);
		if (want > chunk)
			want = chunk;
		if (want > len)
			want = len;
		memcpy(dst, b, want);
		b += want;
		len -= want;
		rc = vio_vu_engine_rx_done(&T.e, want);
	}
	return rc;
}

/* Sends one request with payload and handles through framing and the handler. */
static int request(uint32_t req, uint32_t flags, const void *payload, uint32_t size, const int *hs,
		   unsigned nh)
{
	uint8_t buf[sizeof(struct vio_vu_hdr) + VIO_VU_MAX_PAYLOAD];
	struct vio_vu_hdr h = {req, VIO_VU_VERSION | flags, size};
	struct vio_vu_msg m;

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), payload, size);
	for (unsigned i = 0; i < nh; i++)
		assert_int_equal(vio_vu_engine_rx_handle(&T.e, hs[i]), 0);
	assert_int_equal(feed(buf, sizeof(h) + size, 5), 1);
	vio_vu_engine_rx_take(&T.e, &m);
	return vio_vu_engine_handle(&T.e, &m);
}

static void init_rejects_bad_config(void **state)
{
	struct vio_vu_engine e;
	struct vio_vu_engine_ops partial = ops;
	struct vio_vu_engine_config cfg = {.dev = &T.blk.dev, .rings = T.rings, .ops = &ops};

	(void) state;
	cfg.num_queues = 2; /* the device has one */
	assert_int_equal(vio_vu_engine_init(&e, &cfg), -VIO_EINVAL);
	cfg.num_queues = 0;
	cfg.rings = NULL;
	assert_int_equal(vio_vu_engine_init(&e, &cfg), -VIO_EINVAL);
	cfg.rings = T.rings;
	partial.send = NULL;
	cfg.ops = &partial;
	assert_int_equal(vio_vu_engine_init(&e, &cfg), -VIO_EINVAL);
	assert_int_equal(vio_vu_engine_queues(&T.blk.dev, 0), 1);
	assert_int_equal(vio_vu_engine_queues(NULL, 0), -VIO_EINVAL);
}

static void log_formats(void **state)
{
	const char *volatile none =
	    NULL; /* unknown to the compiler: a NULL the formatter must take */
	char big[400];

	(void) state;
	vio_vu_engine_log(&T.e, VIO_LOG_INFO, "a %s %d %u 0x%x %llx %lld %ld %c 100%% %s", "str",
			  -42, 7u, 0xbeefu, 0x123456789abcdefull, (long long) INT64_MIN, -5L, 'z',
			  none);
	assert_string_equal(T.log, "a str -42 7 0xbeef 123456789abcdef -9223372036854775808 -5 z "
				   "100% (null)");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	vio_vu_engine_log(&T.e, VIO_LOG_INFO, "%s", big);
	assert_int_equal(strlen(T.log), 255);
}

static void framing_takes_split_messages(void **state)
{
	uint64_t features = 0;

	(void) state;
	/* GET_FEATURES, header fed a byte at a time */
	struct vio_vu_hdr h = {VIO_VU_GET_FEATURES, VIO_VU_VERSION, 0};
	struct vio_vu_msg m;

	assert_int_equal(feed(&h, sizeof(h), 1), 1);
	vio_vu_engine_rx_take(&T.e, &m);
	assert_int_equal(m.hdr.request, VIO_VU_GET_FEATURES);
	assert_int_equal(vio_vu_engine_handle(&T.e, &m), 0);
	assert_int_equal(T.replies, 1);
	assert_int_equal(T.reply.flags, VIO_VU_VERSION | VIO_VU_FLAG_REPLY);
	assert_int_equal(T.reply.size, sizeof(features));
	memcpy(&features, T.reply_payload, sizeof(features));
	assert_true(features & VIO_BIT(VIO_VU_F_PROTOCOL_FEATURES));
}

static void framing_rejects_bad_headers(void **state)
{
	struct vio_vu_hdr reply = {VIO_VU_GET_FEATURES, VIO_VU_VERSION | VIO_VU_FLAG_REPLY, 0};
	struct vio_vu_hdr v2 = {VIO_VU_GET_FEATURES, 2, 0};
	struct vio_vu_hdr big = {VIO_VU_SET_CONFIG, VIO_VU_VERSION, VIO_VU_MAX_PAYLOAD + 1};

	(void) state;
	assert_int_equal(feed(&reply, sizeof(reply), 64), -VIO_EPROTO);
	vio_vu_engine_disconnect(&T.e);
	assert_int_equal(feed(&v2, sizeof(v2), 64), -VIO_EPROTO);
	vio_vu_engine_disconnect(&T.e);
	assert_int_equal(feed(&big, sizeof(big), 64), -VIO_EPROTO);
	assert_non_null(strstr(T.all, "bad header"));
}

static void framing_limits_handles(void **state)
{
	(void) state;
	for (int i = 8; i < 8 + VIO_VU_MAX_FDS; i++)
		assert_int_equal(vio_vu_engine_rx_handle(&T.e, i), 0);
	/* one more is refused and closed at once; the others go when the session ends */
	assert_int_equal(vio_vu_engine_rx_handle(&T.e, 2), -VIO_EPROTO);
	assert_false(T.open[2]);
	vio_vu_engine_disconnect(&T.e);
	for (int i = 8; i < 16; i++)
		assert_false(T.open[i]);
}

/* A one-region table at offset off and size len of the handle h; returns the REPLY_ACK. */
static uint64_t mem_table(int h, uint64_t off, uint64_t len)
{
	struct vio_vu_mem_table t = {.nregions = 1};
	uint64_t ack;

	t.regions[0].guest_phys_addr = 0x100000;
	t.regions[0].memory_size = len;
	t.regions[0].userspace_addr = 0x7f0000000000ull;
	t.regions[0].mmap_offset = off;
	T.open[h] = true;
	assert_int_equal(request(VIO_VU_SET_MEM_TABLE, VIO_VU_FLAG_NEED_REPLY, &t,
				 8 + sizeof(t.regions[0]), &h, 1),
			 0);
	assert_false(T.open[h]); /* the engine keeps no region handle after mapping */
	memcpy(&ack, T.reply_payload, sizeof(ack));
	return ack;
}

static void regions_checked_against_object(void **state)
{
	(void) state;
	assert_int_equal(mem_table(H_MEM, 0, OBJ_SIZE + 1), VIO_EINVAL);
	assert_non_null(strstr(T.all, "refused: 0x10001 bytes at offset 0x0 run past the end of "
				      "their file (0x10000 bytes)"));
	assert_non_null(strstr(T.all, "SET_MEM_TABLE failed"));
	assert_int_equal(mem_table(H_MEM, OBJ_SIZE - 4096, 8192), VIO_EINVAL);
	assert_int_equal(mem_table(H_BAD, 0, 4096), VIO_EINVAL);
	assert_int_equal(T.e.nregions, 0);
	/* an unaligned offset: mapped from the page before it, local points at the offset */
	assert_int_equal(mem_table(H_MEM, 4096 + 100, 8192), 0);
	assert_int_equal(T.e.nregions, 1);
	assert_ptr_equal(T.e.regions[0].local, T.obj + 4096 + 100);
	assert_ptr_equal(T.e.regions[0].map, T.obj + 4096);
	assert_int_equal(T.e.regions[0].map_len, 3 * 4096);
	assert_int_equal(T.maps, 1);
}

/* Negotiates the protocol features the refusals below need. */
static void negotiate_pf(uint64_t pf)
{
	uint64_t f = VIO_BIT(VIO_VU_F_PROTOCOL_FEATURES) | VIO_BIT(VIO_F_VERSION_1);

	assert_int_equal(request(VIO_VU_SET_FEATURES, 0, &f, sizeof(f), NULL, 0), 0);
	assert_int_equal(request(VIO_VU_SET_PROTOCOL_FEATURES, 0, &pf, sizeof(pf), NULL, 0), 0);
}

static uint64_t ack(void)
{
	uint64_t v;

	assert_int_equal(T.reply.size, sizeof(v));
	memcpy(&v, T.reply_payload, sizeof(v));
	return v;
}

static void add_mem_reg_checked_against_object(void **state)
{
	struct vio_vu_mem_reg r = {0};
	int h = H_MEM;

	(void) state;
	negotiate_pf(VIO_BIT(VIO_VU_PF_REPLY_ACK) | VIO_BIT(VIO_VU_PF_CONFIGURE_MEM_SLOTS));
	r.region.guest_phys_addr = 0x100000;
	r.region.userspace_addr = 0x7f0000000000ull;
	/* one page past the end, then an offset past it: error replies, nothing mapped */
	r.region.memory_size = OBJ_SIZE;
	r.region.mmap_offset = 4096;
	T.all[0] = '\0';
	assert_int_equal(request(VIO_VU_ADD_MEM_REG, VIO_VU_FLAG_NEED_REPLY, &r, sizeof(r), &h, 1),
			 0);
	assert_int_equal(ack(), VIO_EINVAL);
	assert_non_null(strstr(T.all, "refused: 0x10000 bytes at offset 0x1000 run past the end "
				      "of their file (0x10000 bytes)"));
	assert_non_null(strstr(T.all, "ADD_MEM_REG failed"));
	T.open[h] = true;
	r.region.memory_size = 4096;
	r.region.mmap_offset = OBJ_SIZE;
	assert_int_equal(request(VIO_VU_ADD_MEM_REG, VIO_VU_FLAG_NEED_REPLY, &r, sizeof(r), &h, 1),
			 0);
	assert_int_equal(ack(), VIO_EINVAL);
	assert_int_equal(T.e.nregions, 0);
	assert_int_equal(T.maps, 0);
	/* without REPLY_ACK's flag the refusal ends the session instead */
	T.open[h] = true;
	assert_int_equal(request(VIO_VU_ADD_MEM_REG, 0, &r, sizeof(r), &h, 1), -VIO_EINVAL);
	/* the whole object fits */
	T.open[h] = true;
	r.region.memory_size = OBJ_SIZE;
	r.region.mmap_offset = 0;
	assert_int_equal(request(VIO_VU_ADD_MEM_REG, VIO_VU_FLAG_NEED_REPLY, &r, sizeof(r), &h, 1),
			 0);
	assert_int_equal(ack(), 0);
	assert_int_equal(T.e.nregions, 1);
	assert_false(T.open[h]);
}

static void inflight_checked_against_object(void **state)
{
	struct vio_vu_inflight in = {.num_queues = 1, .queue_size = 16};
	int h = H_MEM;

	(void) state;
	negotiate_pf(VIO_BIT(VIO_VU_PF_REPLY_ACK) | VIO_BIT(VIO_VU_PF_INFLIGHT_SHMFD));
	/* big enough for one queue of 16, but starting one page before the end of the object */
	in.mmap_size = 8192;
	in.mmap_offset = OBJ_SIZE - 4096;
	T.all[0] = '\0';
	assert_int_equal(
	    request(VIO_VU_SET_INFLIGHT_FD, VIO_VU_FLAG_NEED_REPLY, &in, sizeof(in), &h, 1), 0);
	assert_int_equal(ack(), VIO_EINVAL);
	assert_non_null(strstr(T.all, "run past the end of their file"));
	assert_non_null(strstr(T.all, "SET_INFLIGHT_FD failed"));
	assert_null(T.e.inflight);
	assert_int_equal(T.maps, 0);
	assert_false(T.open[h]);
	/* a handle that cannot be mapped at all */
	h = H_BAD;
	in.mmap_offset = 0;
	assert_int_equal(
	    request(VIO_VU_SET_INFLIGHT_FD, VIO_VU_FLAG_NEED_REPLY, &in, sizeof(in), &h, 1), 0);
	assert_int_equal(ack(), VIO_EINVAL);
	assert_null(T.e.inflight);
	/* inside the object: mapped */
	h = H_MEM;
	T.open[h] = true;
	assert_int_equal(
	    request(VIO_VU_SET_INFLIGHT_FD, VIO_VU_FLAG_NEED_REPLY, &in, sizeof(in), &h, 1), 0);
	assert_int_equal(ack(), 0);
	assert_non_null(T.e.inflight);
	assert_int_equal(T.maps, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(init_rejects_bad_config, setup, teardown),
	    cmocka_unit_test_setup_teardown(log_formats, setup, teardown),
	    cmocka_unit_test_setup_teardown(framing_takes_split_messages, setup, teardown),
	    cmocka_unit_test_setup_teardown(framing_rejects_bad_headers, setup, teardown),
	    cmocka_unit_test_setup_teardown(framing_limits_handles, setup, teardown),
	    cmocka_unit_test_setup_teardown(regions_checked_against_object, setup, teardown),
	    cmocka_unit_test_setup_teardown(add_mem_reg_checked_against_object, setup, teardown),
	    cmocka_unit_test_setup_teardown(inflight_checked_against_object, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
