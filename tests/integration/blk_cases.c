/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-blk cases for any vhost-user-blk backend, driven through the frontend. */
#include "blk_cases.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vioport/byteorder.h"

struct bc_target bc_t;
struct vio_vu_blk bc_b, bc_b2;

#define SECTOR	VIO_BLK_SECTOR_SIZE
#define WAIT_MS 5000

void bc_open(struct vio_vu_blk *b, const struct vio_vu_fe_params *p)
{
	int r = vio_vu_blk_open(b, bc_t.proc.sock, p);

	if (r != 0)
		fail_msg("%s: open %s: %d (%s)", bc_t.name, bc_t.proc.sock, r,
			 vio_vu_fe_error(&b->fe));
}

int bc_teardown(void **state)
{
	(void) state;
	vio_vu_blk_close(&bc_b);
	vio_vu_blk_close(&bc_b2);
	if (bc_t.skip == NULL && !it_alive(&bc_t.proc)) {
		print_message("# %s is gone\n", bc_t.name);
		it_print_log(bc_t.proc.log, 30);
		bc_t.skip = "the backend died in an earlier case";
		return -1;
	}
	return 0;
}

static uint64_t capacity(void)
{
	return bc_t.image_bytes / SECTOR;
}

/* Checks a buffer read from a sector range the cases never write. */
static void assert_image_pattern(const uint8_t *buf, uint64_t sector, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != it_pattern(sector * SECTOR + i))
			fail_msg("byte %zu of sector %llu: %#x, image has %#x", i,
				 (unsigned long long) sector, buf[i],
				 it_pattern(sector * SECTOR + i));
}

void bc_handshake(void **state)
{
	uint8_t cfg[8];

	(void) state;
	BC_BEGIN();
	bc_open(&bc_b, NULL);
	assert_true(vio_vu_fe_has(&bc_b.fe, VIO_F_VERSION_1));
	assert_true(bc_b.fe.features_offered & VIO_BIT(VIO_VU_F_PROTOCOL_FEATURES));
	assert_true(vio_vu_fe_has_protocol(&bc_b.fe, VIO_VU_PF_CONFIG));
	assert_true(vio_vu_fe_has_protocol(&bc_b.fe, VIO_VU_PF_REPLY_ACK));
	assert_int_equal(bc_b.capacity, capacity());
	/* A second read of the config agrees with the first. */
	BC_OK(vio_vu_fe_get_config(&bc_b.fe, VIO_BLK_CFG_CAPACITY, cfg, sizeof(cfg)), &bc_b);
	assert_int_equal(vio_get_le64(cfg), capacity());
	if (vio_vu_fe_has_protocol(&bc_b.fe, VIO_VU_PF_MQ))
		assert_true(bc_b.fe.max_queues >= bc_t.queues);
	if (vio_vu_fe_has(&bc_b.fe, VIO_BLK_F_MQ))
		assert_int_equal(vio_get_le16(bc_b.fe.config + VIO_BLK_CFG_NUM_QUEUES),
				 bc_t.queues);
	if (vio_vu_fe_has_protocol(&bc_b.fe, VIO_VU_PF_INFLIGHT_SHMFD))
		assert_non_null(bc_b.fe.inflight);
	if (vio_vu_fe_has_protocol(&bc_b.fe, VIO_VU_PF_STATUS)) {
		uint8_t s;

		BC_OK(vio_vu_fe_get_status(&bc_b.fe, &s), &bc_b);
		assert_true(s & VIO_STATUS_DRIVER_OK);
		assert_true(s & VIO_STATUS_FEATURES_OK);
		assert_false(s & VIO_STATUS_NEEDS_RESET);
	}
	print_message("# %s offers features %#llx, protocol features %#llx\n", bc_t.name,
		      (unsigned long long) bc_b.fe.features_offered,
		      (unsigned long long) bc_b.fe.protocol_offered);
}

void bc_read_image(void **state)
{
	uint8_t buf[4 * SECTOR];
	uint64_t last = capacity() - 4;

	(void) state;
	BC_BEGIN();
	bc_open(&bc_b, NULL);
	/* The image's own content, at the start and at the very end. */
	assert_int_equal(vio_vu_blk_read(&bc_b, 2, buf, sizeof(buf)), VIO_BLK_S_OK);
	assert_image_pattern(buf, 2, sizeof(buf));
	assert_int_equal(vio_vu_blk_read(&bc_b, last, buf, sizeof(buf)), VIO_BLK_S_OK);
	assert_image_pattern(buf, last, sizeof(buf));
}

/* Writes a seeded pattern of len bytes at sector and reads it back. */
static void round_trip(struct vio_vu_blk *b, uint64_t sector, uint32_t len, uint32_t seed)
{
	uint8_t *w = malloc(len), *r = malloc(len);

	assert_non_null(w);
	assert_non_null(r);
	it_fill(w, len, seed);
	memset(r, 0, len);
	assert_int_equal(vio_vu_blk_write(b, sector, w, len), VIO_BLK_S_OK);
	assert_int_equal(vio_vu_blk_read(b, sector, r, len), VIO_BLK_S_OK);
	if (memcmp(w, r, len) != 0) {
		free(w);
		free(r);
		fail_msg("sector %llu, %u bytes: read differs from write",
			 (unsigned long long) sector, len);
	}
	free(w);
	free(r);
}

void bc_write_read(void **state)
{
	(void) state;
	BC_BEGIN();
	bc_open(&bc_b, NULL);
	round_trip(&bc_b, 1000, SECTOR, 1);
	round_trip(&bc_b, 1001, 8 * SECTOR, 2);
	round_trip(&bc_b, 1100, 64 * 1024, 3);
	round_trip(&bc_b, capacity() - 1, SECTOR, 4);
}

/* want, or less when the device's SEG_MAX and SIZE_MAX allow less per request. */
static uint32_t io_limit(const struct vio_vu_blk *b, uint32_t want)
{
	uint64_t max = (uint64_t) b->seg_max * b->size_max;

	if (b->seg_max && b->size_max && max < want)
		return (uint32_t) (max / 4096 * 4096);
	return want;
}

void bc_large_io(void **state)
{
	(void) state;
	BC_BEGIN();
	bc_open(&bc_b, NULL);
	round_trip(&bc_b, 4096, io_limit(&bc_b, 1024 * 1024), 5);
}

void bc_file_contents(void **state)
{
	uint8_t w[4096], r[4096];
	int fd;

	(void) state;
	BC_BEGIN();
	bc_open(&bc_b, NULL);
	it_fill(w, sizeof(w), 6);
	assert_int_equal(vio_vu_blk_write(&bc_b, 2000, w, sizeof(w)), VIO_BLK_S_OK);
	if (vio_vu_fe_has(&bc_b.fe, VIO_BLK_F_FLUSH))
		assert_int_equal(vio_vu_blk_flush(&bc_b), VIO_BLK_S_OK);
	if (bc_t.read_back != NULL) {
		assert_int_equal(bc_t.read_back(2000 * SECTOR, r, sizeof(r)), 0);
		assert_memory_equal(w, r, sizeof(r));
		return;
	}
	/* The bytes are in the image file itself. */
	fd = open(bc_t.image, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, r, sizeof(r), 2000 * SECTOR), sizeof(r));
	close(fd);
	assert_memory_equal(w, r, sizeof(r));
}

void bc_flush(void **state)
{
	(void) state;
	BC_BEGIN();
	bc_open(&bc_b, NULL);
	assert_true(vio_vu_fe_has(&bc_b.fe, VIO_BLK_F_FLUSH));
	assert_int_equal(vio_vu_blk_flush(&bc_b), VIO_BLK_S_OK);
}

void bc_get_id(void **state)
{
	char id[VIO_BLK_ID_BYTES + 1] = {0};
	uint32_t used = 0;

	(void) state;
	BC_BEGIN();
	bc_open(&bc_b, NULL);
	assert_int_equal(
	    vio_vu_blk_request(&bc_b, 0, VIO_BLK_T_GET_ID, 0, NULL, 0, id, VIO_BLK_ID_BYTES, &used),
	    VIO_BLK_S_OK);
	print_message("# %s GET_ID: \"%s\", used length %u\n", bc_t.name, id, used);
	if (bc_t.serial != NULL) {
		char want[VIO_BLK_ID_BYTES] = {0};

		memcpy(want, bc_t.serial, strnlen(bc_t.serial, sizeof(want)));
		assert_memory_equal(id, want, VIO_BLK_ID_BYTES);
		assert_int_equal(used, VIO_BLK_ID_BYTES + 1);
	}
}

void bc_discard_write_zeroes(void **state)
{
	uint8_t buf[8 * SECTOR], zero[8 * SECTOR] = {0};
	int n = 0;

	(void) state;
	BC_BEGIN();
	bc_open(&bc_b, NULL);
	if (vio_vu_fe_has(&bc_b.fe, VIO_BLK_F_DISCARD)) {
		it_fill(buf, sizeof(buf), 7);
		assert_int_equal(vio_vu_blk_write(&bc_b, 3000, buf, sizeof(buf)), VIO_BLK_S_OK);
		assert_int_equal(vio_vu_blk_discard(&bc_b, 3000, 8), VIO_BLK_S_OK);
		/* What a discarded range reads as is up to the device; the read must work. */
		assert_int_equal(vio_vu_blk_read(&bc_b, 3000, buf, sizeof(buf)), VIO_BLK_S_OK);
		assert_int_equal(vio_vu_blk_discard(&bc_b, capacity() - 4, 8), VIO_BLK_S_IOERR);
		n++;
	}
	if (vio_vu_fe_has(&bc_b.fe, VIO_BLK_F_WRITE_ZEROES)) {
		for (int unmap = 0; unmap < 2; unmap++) {
			it_fill(buf, sizeof(buf), 8);
			assert_int_equal(vio_vu_blk_write(&bc_b, 3100, buf, sizeof(buf)),
					 VIO_BLK_S_OK);
			assert_int_equal(vio_vu_blk_write_zeroes(&bc_b, 3100, 8, unmap),
					 VIO_BLK_S_OK);
			assert_int_equal(vio_vu_blk_read(&bc_b, 3100, buf, sizeof(buf)),
					 VIO_BLK_S_OK);
			assert_memory_equal(buf, zero, sizeof(buf));
		}
		assert_int_equal(vio_vu_blk_write_zeroes(&bc_b, capacity(), 1, false),
				 VIO_BLK_S_IOERR);
		n++;
	}
	if (n == 0)
		print_message("# %s offers neither DISCARD nor WRITE_ZEROES\n", bc_t.name);
}

void bc_out_of_range(void **state)
{
	uint8_t buf[2 * SECTOR] = {0};

	(void) state;
	BC_BEGIN();
	bc_open(&bc_b, NULL);
	assert_int_equal(vio_vu_blk_read(&bc_b, capacity(), buf, SECTOR), VIO_BLK_S_IOERR);
	assert_int_equal(vio_vu_blk_read(&bc_b, capacity() - 1, buf, 2 * SECTOR), VIO_BLK_S_IOERR);
	assert_int_equal(vio_vu_blk_write(&bc_b, capacity(), buf, SECTOR), VIO_BLK_S_IOERR);
	assert_int_equal(vio_vu_blk_read(&bc_b, UINT64_MAX / 2, buf, SECTOR), VIO_BLK_S_IOERR);
	assert_int_equal(vio_vu_blk_read(&bc_b, UINT64_MAX, buf, SECTOR), VIO_BLK_S_IOERR);
	/* The device still serves good requests. */
	assert_int_equal(vio_vu_blk_read(&bc_b, 0, buf, SECTOR), VIO_BLK_S_OK);
}

void bc_unsupported(void **state)
{
	uint8_t buf[SECTOR];

	(void) state;
	BC_BEGIN();
	bc_open(&bc_b, NULL);
	assert_int_equal(vio_vu_blk_request(&bc_b, 0, 0x5a5a, 0, NULL, 0, buf, sizeof(buf), NULL),
			 VIO_BLK_S_UNSUPP);
	assert_int_equal(vio_vu_blk_read(&bc_b, 0, buf, SECTOR), VIO_BLK_S_OK);
}

#define MAX_NIO 64

/*
 * As many requests in flight at once on queue q as the ring holds (up to
 * MAX_NIO): writes, then reads checking every byte.
 */
static void inflight_round(struct vio_vu_blk *b, uint16_t q, uint64_t base)
{
	static struct vio_vu_blk_io io[MAX_NIO];
	unsigned nio = vio_drvq_num_free(vio_vu_fe_drvq(&b->fe, q)) / 3;
	uint8_t want[4096];
	unsigned done = 0;

	if (nio > MAX_NIO)
		nio = MAX_NIO;

	for (uintptr_t i = 0; i < nio; i++) {
		BC_OK(vio_vu_blk_io_alloc(b, &io[i], 4096), b);
		it_fill(io[i].data, 4096, (uint32_t) (base + i));
		BC_OK(vio_vu_blk_io_submit(b, q, &io[i], VIO_BLK_T_OUT, base + i * 8, 4096,
					   (void *) (i + 1)),
		      b);
	}
	assert_true(vio_vu_fe_kick(&b->fe, q) >= 0);
	for (int pass = 0; pass < 2; pass++) {
		done = 0;
		while (done < nio) {
			void *tok;
			uint32_t len;
			int r = vio_vu_fe_wait_used(&b->fe, q, &tok, &len, WAIT_MS);

			if (r != 1)
				fail_msg("queue %u: %u of %u completed (%d: %s)", q, done, nio, r,
					 vio_vu_fe_error(&b->fe));
			assert_int_equal(vio_vu_blk_io_status(&io[(uintptr_t) tok - 1]),
					 VIO_BLK_S_OK);
			done++;
		}
		if (pass == 1)
			break;
		for (uintptr_t i = 0; i < nio; i++) {
			memset(io[i].data, 0, 4096);
			BC_OK(vio_vu_blk_io_submit(b, q, &io[i], VIO_BLK_T_IN, base + i * 8, 4096,
						   (void *) (i + 1)),
			      b);
		}
		assert_true(vio_vu_fe_kick(&b->fe, q) >= 0);
	}
	for (unsigned i = 0; i < nio; i++) {
		it_fill(want, sizeof(want), (uint32_t) (base + i));
		assert_memory_equal(io[i].data, want, sizeof(want));
		vio_vu_blk_io_free(b, &io[i]);
	}
}

void bc_many_inflight(void **state)
{
	struct vio_vu_fe_params p = {.queue_size = 256};

	(void) state;
	BC_BEGIN();
	bc_open(&bc_b, &p);
	inflight_round(&bc_b, 0, 5000);
}

void bc_multiqueue(void **state)
{
	struct vio_vu_fe_params p = {.num_queues = bc_t.queues};

	(void) state;
	BC_BEGIN();
	if (bc_t.queues < 2)
		skip();
	bc_open(&bc_b, &p);
	assert_true(vio_vu_fe_has(&bc_b.fe, VIO_BLK_F_MQ));
	for (uint16_t q = 0; q < bc_t.queues; q++)
		inflight_round(&bc_b, q, 6000 + q * 1024);
}

void bc_reconnect(void **state)
{
	struct vio_vu_blk_io io[16];
	uint8_t buf[4096], w[4096];

	(void) state;
	BC_BEGIN();
	bc_open(&bc_b, NULL);
	it_fill(w, sizeof(w), 9);
	assert_int_equal(vio_vu_blk_write(&bc_b, 7000, w, sizeof(w)), VIO_BLK_S_OK);
	/* Hang up with reads in flight, as a crashing guest would. */
	for (uintptr_t i = 0; i < 16; i++) {
		BC_OK(vio_vu_blk_io_alloc(&bc_b, &io[i], 4096), &bc_b);
		BC_OK(vio_vu_blk_io_submit(&bc_b, 0, &io[i], VIO_BLK_T_IN, i * 8, 4096,
					   (void *) (i + 1)),
		      &bc_b);
	}
	assert_true(vio_vu_fe_kick(&bc_b.fe, 0) >= 0);
	vio_vu_blk_close(&bc_b);

	bc_open(&bc_b2, NULL);
	if (vio_vu_fe_has_protocol(&bc_b2.fe, VIO_VU_PF_STATUS)) {
		uint8_t s = 0xff;

		/* A new connection finds a device that was reset, then started by this client. */
		BC_OK(vio_vu_fe_get_status(&bc_b2.fe, &s), &bc_b2);
		assert_int_equal(s & VIO_STATUS_NEEDS_RESET, 0);
	}
	assert_int_equal(vio_vu_blk_read(&bc_b2, 7000, buf, sizeof(buf)), VIO_BLK_S_OK);
	assert_memory_equal(buf, w, sizeof(w));
	vio_vu_blk_close(&bc_b2);

	/* And once more, cleanly stopped this time. */
	bc_open(&bc_b, NULL);
	assert_int_equal(vio_vu_blk_read(&bc_b, 7000, buf, sizeof(buf)), VIO_BLK_S_OK);
	assert_memory_equal(buf, w, sizeof(w));
	BC_OK(vio_vu_fe_stop(&bc_b.fe), &bc_b);
}

void bc_stop_restart(void **state)
{
	uint8_t buf[SECTOR];

	(void) state;
	BC_BEGIN();
	bc_open(&bc_b, NULL);
	for (int i = 0; i < 5; i++)
		assert_int_equal(vio_vu_blk_read(&bc_b, (uint64_t) i, buf, sizeof(buf)),
				 VIO_BLK_S_OK);
	BC_OK(vio_vu_fe_stop(&bc_b.fe), &bc_b);
	assert_int_equal(bc_b.fe.queues[0].stop_base, 5);
	/* Started again on fresh rings, the device works. */
	BC_OK(vio_vu_fe_configure(&bc_b.fe), &bc_b);
	BC_OK(vio_vu_fe_driver_ok(&bc_b.fe), &bc_b);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(vio_vu_blk_read(&bc_b, 10, buf, sizeof(buf)), VIO_BLK_S_OK);
		assert_image_pattern(buf, 10, sizeof(buf));
	}
	BC_OK(vio_vu_fe_stop(&bc_b.fe), &bc_b);
	assert_int_equal(bc_b.fe.queues[0].stop_base, 3);
}

void bc_no_event_idx(void **state)
{
	struct vio_vu_fe_params p = {.features = VIO_VU_BLK_FEATURES & ~VIO_BIT(VIO_F_EVENT_IDX)};

	(void) state;
	BC_BEGIN();
	bc_open(&bc_b, &p);
	assert_false(vio_vu_fe_has(&bc_b.fe, VIO_F_EVENT_IDX));
	inflight_round(&bc_b, 0, 8000);
	round_trip(&bc_b, 8800, 4096, 10);
}

void bc_indirect(void **state)
{
	struct vio_vu_blk_io io;
	struct vio_buf out[1], in[2];
	uint64_t table_gpa;
	struct vio_desc *table;
	void *tok;
	uint32_t len;

	(void) state;
	BC_BEGIN();
	bc_open(&bc_b, NULL);
	if (!vio_vu_fe_has(&bc_b.fe, VIO_F_INDIRECT_DESC)) {
		print_message("# %s does not offer INDIRECT_DESC\n", bc_t.name);
		skip();
	}
	BC_OK(vio_vu_blk_io_alloc(&bc_b, &io, 4096), &bc_b);
	table = vio_vu_fe_alloc(&bc_b.fe, 3 * sizeof(*table), 16, &table_gpa);
	assert_non_null(table);
	vio_put_le32(io.hdr, VIO_BLK_T_IN);
	vio_put_le64(io.hdr + 8, 12);
	*io.status = 0xff;
	out[0] = (struct vio_buf){io.hdr_gpa, VIO_BLK_REQ_HDR};
	in[0] = (struct vio_buf){io.data_gpa, 4096};
	in[1] = (struct vio_buf){io.status_gpa, 1};
	assert_true(vio_drvq_add_indirect(vio_vu_fe_drvq(&bc_b.fe, 0), out, 1, in, 2, table,
					  table_gpa, &io) >= 0);
	assert_true(vio_vu_fe_kick(&bc_b.fe, 0) >= 0);
	assert_int_equal(vio_vu_fe_wait_used(&bc_b.fe, 0, &tok, &len, WAIT_MS), 1);
	assert_ptr_equal(tok, &io);
	assert_int_equal(vio_vu_blk_io_status(&io), VIO_BLK_S_OK);
	assert_image_pattern(io.data, 12, 4096);
}

void bc_regions(void **state)
{
	/* Four 1 MiB regions of one memfd; the large request's buffer spans region boundaries. */
	struct vio_vu_fe_params p = {.mem_size = 4u << 20, .nregions = 4, .gpa_base = 0x100000};

	(void) state;
	BC_BEGIN();
	bc_open(&bc_b, &p);
	round_trip(&bc_b, 9000, io_limit(&bc_b, 1536 * 1024), 11);
	inflight_round(&bc_b, 0, 12000);
}

void bc_add_mem_reg(void **state)
{
	struct vio_vu_fe_params p = {.mem_size = 4u << 20, .nregions = 2, .add_mem_reg = true};

	(void) state;
	BC_BEGIN();
	bc_open(&bc_b, &p);
	if (!vio_vu_fe_has_protocol(&bc_b.fe, VIO_VU_PF_CONFIGURE_MEM_SLOTS)) {
		print_message("# %s does not offer CONFIGURE_MEM_SLOTS\n", bc_t.name);
		skip();
	}
	assert_true(bc_b.fe.regions_added);
	round_trip(&bc_b, 13000, 256 * 1024, 12);
	/* A restart keeps the regions the backend already has, as QEMU assumes. */
	BC_OK(vio_vu_fe_stop(&bc_b.fe), &bc_b);
	BC_OK(vio_vu_fe_configure(&bc_b.fe), &bc_b);
	BC_OK(vio_vu_fe_driver_ok(&bc_b.fe), &bc_b);
	round_trip(&bc_b, 13000, 4096, 13);
}

void bc_kick_before_enable(void **state)
{
	struct vio_vu_blk_io io;
	uint64_t f;
	void *tok;
	uint32_t len;
	int r;

	(void) state;
	BC_BEGIN();
	BC_OK(vio_vu_fe_connect(&bc_b.fe, bc_t.proc.sock, WAIT_MS), &bc_b);
	BC_OK(
	    vio_vu_fe_setup(&bc_b.fe, &(struct vio_vu_fe_params){.features = VIO_VU_BLK_FEATURES}),
	    &bc_b);
	if (!vio_vu_fe_has(&bc_b.fe, VIO_VU_F_PROTOCOL_FEATURES))
		skip();
	BC_OK(vio_vu_blk_io_alloc(&bc_b, &io, 4096), &bc_b);
	BC_OK(vio_vu_blk_io_submit(&bc_b, 0, &io, VIO_BLK_T_IN, 20, 4096, &io), &bc_b);
	/* The kick lands while the ring is still disabled (rust-vmm vhost#247). */
	assert_int_equal(vio_vu_fe_notify(&bc_b.fe, 0), 1);
	usleep(50000);
	/* The backend did not wedge: it still answers. */
	BC_OK(vio_vu_fe_get_u64(&bc_b.fe, VIO_VU_GET_FEATURES, &f), &bc_b);
	assert_int_equal(f, bc_b.fe.features_offered);
	BC_OK(vio_vu_fe_driver_ok(&bc_b.fe), &bc_b);
	/* Enabling the ring is enough: the request completes without another kick. */
	r = vio_vu_fe_wait_used(&bc_b.fe, 0, &tok, &len, WAIT_MS);
	if (r != 1)
		fail_msg("the request kicked before SET_VRING_ENABLE never completed (%d)", r);
	assert_ptr_equal(tok, &io);
	assert_int_equal(vio_vu_blk_io_status(&io), VIO_BLK_S_OK);
	assert_image_pattern(io.data, 20, 4096);
}

void bc_qemu_status_order(void **state)
{
	struct vio_vu_fe_params p = {.qemu_status_order = true};
	uint8_t buf[4096];

	(void) state;
	BC_BEGIN();
	bc_open(&bc_b, &p);
	assert_int_equal(vio_vu_blk_read(&bc_b, 30, buf, sizeof(buf)), VIO_BLK_S_OK);
	assert_image_pattern(buf, 30, sizeof(buf));
	BC_OK(vio_vu_fe_stop(&bc_b.fe), &bc_b);
	BC_OK(vio_vu_fe_configure(&bc_b.fe), &bc_b);
	BC_OK(vio_vu_fe_driver_ok(&bc_b.fe), &bc_b);
	assert_int_equal(vio_vu_blk_read(&bc_b, 31, buf, sizeof(buf)), VIO_BLK_S_OK);
	assert_image_pattern(buf, 31, sizeof(buf));
}

void bc_reset_device(void **state)
{
	struct vio_vu_blk_io io;
	uint8_t buf[4096];

	(void) state;
	BC_BEGIN();
	bc_open(&bc_b, NULL);
	if (!vio_vu_fe_has_protocol(&bc_b.fe, VIO_VU_PF_RESET_DEVICE)) {
		print_message("# %s does not offer RESET_DEVICE\n", bc_t.name);
		skip();
	}
	/* Reset with a request in flight; the device forgets it. */
	BC_OK(vio_vu_blk_io_alloc(&bc_b, &io, 4096), &bc_b);
	BC_OK(vio_vu_blk_io_submit(&bc_b, 0, &io, VIO_BLK_T_IN, 0, 4096, &io), &bc_b);
	assert_true(vio_vu_fe_kick(&bc_b.fe, 0) >= 0);
	BC_OK(vio_vu_fe_reset_device(&bc_b.fe), &bc_b);
	if (vio_vu_fe_has_protocol(&bc_b.fe, VIO_VU_PF_STATUS)) {
		uint8_t s = 0xff;

		BC_OK(vio_vu_fe_get_status(&bc_b.fe, &s), &bc_b);
		assert_int_equal(s, 0);
	}
	BC_OK(vio_vu_fe_configure(&bc_b.fe), &bc_b);
	BC_OK(vio_vu_fe_driver_ok(&bc_b.fe), &bc_b);
	assert_int_equal(vio_vu_blk_read(&bc_b, 40, buf, sizeof(buf)), VIO_BLK_S_OK);
	assert_image_pattern(buf, 40, sizeof(buf));
}
