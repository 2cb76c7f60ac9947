/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device-side split ring: the request API and one test per validation rule.
 * Rings are built by hand in a buffer that a window maps at BUS.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vioport/byteorder.h"
#include "vioport/errno.h"
#include "vioport/virtq.h"

#define BUS	  0x40000ull
#define QS	  8
#define DESC_OFF  0x0000u
#define AVAIL_OFF 0x1000u
#define USED_OFF  0x2000u
#define TABLE_OFF 0x3000u
#define DATA_OFF  0x8000u
#define MEM_SIZE  0x10000u

struct fx {
	_Alignas(4096) uint8_t mem[MEM_SIZE];
	struct vio_window w[3];
	struct vio_winmap m;
	struct vio_vq vq;
	struct vio_iov iov[16];
	struct vio_req req;
	uint16_t avail_idx;
};

static struct fx F;

static struct vio_desc *desc(unsigned i)
{
	return (struct vio_desc *) (F.mem + DESC_OFF) + i;
}

static struct vio_desc *table(unsigned i)
{
	return (struct vio_desc *) (F.mem + TABLE_OFF) + i;
}

static uint16_t *avail(void)
{
	return (uint16_t *) (F.mem + AVAIL_OFF);
}

static uint16_t *used(void)
{
	return (uint16_t *) (F.mem + USED_OFF);
}

static uint64_t data(unsigned off)
{
	return BUS + DATA_OFF + off;
}

static void set(struct vio_desc *d, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	vio_put_le64(&d->addr, addr);
	vio_put_le32(&d->len, len);
	vio_put_le16(&d->flags, flags);
	vio_put_le16(&d->next, next);
}

static void make_avail(uint16_t head)
{
	vio_put_le16(&avail()[2 + (F.avail_idx % QS)], head);
	F.avail_idx++;
	vio_put_le16(&avail()[1], F.avail_idx);
}

static int setup_feat(uint64_t features)
{
	memset(&F, 0, sizeof(F));
	vio_winmap_init(&F.m, F.w, 3);
	assert_int_equal(vio_winmap_add(&F.m, BUS, MEM_SIZE, F.mem, VIO_ACCESS_RW), 0);
	F.req.iov = F.iov;
	F.req.cap = 16;
	return vio_vq_setup_split(&F.vq, &F.m, QS, BUS + DESC_OFF, BUS + AVAIL_OFF, BUS + USED_OFF,
				  features);
}

static void setup(uint64_t features)
{
	assert_int_equal(setup_feat(features), 0);
}

static int pop(void)
{
	return vio_vq_pop(&F.vq, &F.req);
}

/* ---- the request API ---- */

static void empty_ring(void **state)
{
	(void) state;
	setup(0);
	assert_int_equal(pop(), 0);
	assert_false(vio_vq_has_avail(&F.vq));
}

static void one_readable(void **state)
{
	(void) state;
	setup(0);
	set(desc(3), data(0), 16, 0, 0);
	make_avail(3);
	assert_true(vio_vq_has_avail(&F.vq));
	assert_int_equal(pop(), 1);
	assert_int_equal(F.req.id, 3);
	assert_int_equal(F.req.nread, 1);
	assert_int_equal(F.req.nwrite, 0);
	assert_int_equal(F.req.read_len, 16);
	assert_ptr_equal(F.iov[0].base, F.mem + DATA_OFF);
	assert_int_equal(F.iov[0].len, 16);
	assert_int_equal(pop(), 0);
}

static void blk_shape(void **state)
{
	(void) state;
	setup(0);
	set(desc(0), data(0), 16, VIO_DESC_F_NEXT, 5);
	set(desc(5), data(0x100), 4096, VIO_DESC_F_NEXT | VIO_DESC_F_WRITE, 2);
	set(desc(2), data(0x2000), 1, VIO_DESC_F_WRITE, 0);
	make_avail(0);
	assert_int_equal(pop(), 1);
	assert_int_equal(F.req.nread, 1);
	assert_int_equal(F.req.nwrite, 2);
	assert_int_equal(F.req.read_len, 16);
	assert_int_equal(F.req.write_len, 4097);
	assert_ptr_equal(F.iov[1].base, F.mem + DATA_OFF + 0x100);
	assert_ptr_equal(F.iov[2].base, F.mem + DATA_OFF + 0x2000);
	assert_int_equal(F.req.flags, 0);
}

static void zero_length_segment_skipped(void **state)
{
	(void) state;
	setup(0);
	set(desc(0), data(0), 0, VIO_DESC_F_NEXT, 1);
	set(desc(1), data(0), 8, 0, 0);
	make_avail(0);
	assert_int_equal(pop(), 1);
	assert_int_equal(F.req.nread, 1);
	assert_int_equal(F.req.read_len, 8);
}

static void push_and_flush(void **state)
{
	(void) state;
	setup(0);
	set(desc(1), data(0), 16, 0, 0);
	set(desc(2), data(16), 16, VIO_DESC_F_WRITE, 0);
	make_avail(1);
	make_avail(2);
	assert_int_equal(pop(), 1);
	assert_int_equal(pop(), 1);
	/* Completion out of order is fine for split rings. */
	vio_vq_push(&F.vq, 2, 1, 16);
	assert_int_equal(vio_get_le16(&used()[1]), 0); /* batched until flush */
	vio_vq_push(&F.vq, 1, 1, 0);
	assert_true(vio_vq_flush(&F.vq));
	assert_int_equal(vio_get_le16(&used()[1]), 2);
	assert_int_equal(vio_get_le32(used() + 2), 2);
	assert_int_equal(vio_get_le32(used() + 4), 16);
	assert_int_equal(vio_get_le32(used() + 6), 1);
	/* Nothing new: no interrupt. */
	assert_false(vio_vq_flush(&F.vq));
}

static void no_interrupt_flag_honoured(void **state)
{
	(void) state;
	setup(0);
	vio_put_le16(&avail()[0], VIO_AVAIL_F_NO_INTERRUPT);
	set(desc(0), data(0), 16, 0, 0);
	make_avail(0);
	assert_int_equal(pop(), 1);
	vio_vq_push(&F.vq, 0, 1, 0);
	assert_false(vio_vq_flush(&F.vq));
	assert_int_equal(vio_get_le16(&used()[1]), 1);
}

static void event_idx_used_event(void **state)
{
	uint16_t *used_event = &avail()[2 + QS];

	(void) state;
	setup(VIO_BIT(VIO_F_EVENT_IDX));
	for (unsigned i = 0; i < 4; i++)
		set(desc(i), data(16 * i), 16, 0, 0);
	for (unsigned i = 0; i < 4; i++)
		make_avail((uint16_t) i);
	vio_put_le16(used_event, 2);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(pop(), 1);
	vio_vq_push(&F.vq, 0, 1, 0);
	assert_true(vio_vq_flush(&F.vq)); /* first signal always goes out */
	vio_vq_push(&F.vq, 1, 1, 0);
	assert_false(vio_vq_flush(&F.vq)); /* used idx 2 has not passed used_event 2 */
	vio_vq_push(&F.vq, 2, 1, 0);
	assert_true(vio_vq_flush(&F.vq)); /* used idx 3 passed it */
	vio_vq_push(&F.vq, 3, 1, 0);
	assert_false(vio_vq_flush(&F.vq));
}

static void event_idx_avail_event(void **state)
{
	uint16_t *avail_event = (uint16_t *) (F.mem + USED_OFF + 4 + 8 * QS);

	(void) state;
	setup(VIO_BIT(VIO_F_EVENT_IDX));
	set(desc(0), data(0), 16, 0, 0);
	make_avail(0);
	assert_int_equal(pop(), 1);
	assert_int_equal(vio_get_le16(avail_event), 1);
	vio_vq_notify_disable(&F.vq);
	vio_vq_push(&F.vq, 0, 1, 0);
	vio_vq_flush(&F.vq);
	make_avail(0);
	assert_int_equal(pop(), 1);
	assert_int_equal(vio_get_le16(avail_event), 1); /* not moved while disabled */
	assert_false(vio_vq_notify_enable(&F.vq));
	assert_int_equal(vio_get_le16(avail_event), 2);
	vio_vq_push(&F.vq, 0, 1, 0);
	make_avail(0);
	assert_true(vio_vq_notify_enable(&F.vq)); /* work arrived: caller must pop */
}

static void notify_flags_without_event_idx(void **state)
{
	(void) state;
	setup(0);
	vio_vq_notify_disable(&F.vq);
	assert_int_equal(vio_get_le16(&used()[0]), VIO_USED_F_NO_NOTIFY);
	assert_false(vio_vq_notify_enable(&F.vq));
	assert_int_equal(vio_get_le16(&used()[0]), 0);
	set(desc(0), data(0), 16, 0, 0);
	make_avail(0);
	vio_vq_notify_disable(&F.vq);
	assert_true(vio_vq_notify_enable(&F.vq));
}

static void base_round_trip(void **state)
{
	(void) state;
	setup(0);
	assert_int_equal(vio_vq_set_base(&F.vq, 65534), 0);
	F.avail_idx = 65534;
	for (unsigned i = 0; i < 3; i++) {
		set(desc(i), data(0), 16, 0, 0);
		make_avail((uint16_t) i);
	}
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(pop(), 1);
		assert_int_equal(F.req.id, i);
		vio_vq_push(&F.vq, F.req.id, 1, 0);
	}
	assert_int_equal(vio_vq_get_base(&F.vq), 1); /* wrapped past 65535 */
	vio_vq_flush(&F.vq);
	assert_int_equal(vio_get_le16(&used()[1]), 1);
}

static void overflow_keeps_last_segment(void **state)
{
	(void) state;
	setup(0);
	F.req.cap = 2;
	set(desc(0), data(0), 16, VIO_DESC_F_NEXT, 1);
	set(desc(1), data(16), 16, VIO_DESC_F_NEXT, 2);
	set(desc(2), data(32), 16, VIO_DESC_F_NEXT | VIO_DESC_F_WRITE, 3);
	set(desc(3), data(48), 1, VIO_DESC_F_WRITE, 0);
	make_avail(0);
	assert_int_equal(pop(), 1);
	assert_true(F.req.flags & VIO_REQ_F_OVERFLOW);
	assert_int_equal(F.req.nread + F.req.nwrite, 2);
	assert_int_equal(F.req.nwrite, 1);
	assert_ptr_equal(F.iov[1].base, F.mem + DATA_OFF + 48);
	assert_int_equal(F.iov[1].len, 1);
	assert_int_equal(F.req.read_len, 32);
	assert_int_equal(F.req.write_len, 17);
}

static void spans_two_windows(void **state)
{
	static uint8_t other[256];

	(void) state;
	setup(0);
	assert_int_equal(vio_winmap_add(&F.m, BUS + MEM_SIZE, sizeof(other), other, VIO_ACCESS_RW),
			 0);
	set(desc(0), BUS + MEM_SIZE - 8, 24, VIO_DESC_F_WRITE, 0);
	make_avail(0);
	assert_int_equal(pop(), 1);
	assert_int_equal(F.req.nwrite, 2);
	assert_ptr_equal(F.iov[0].base, F.mem + MEM_SIZE - 8);
	assert_int_equal(F.iov[0].len, 8);
	assert_ptr_equal(F.iov[1].base, other);
	assert_int_equal(F.iov[1].len, 16);
	assert_int_equal(F.req.write_len, 24);
}

static void indirect_chain(void **state)
{
	(void) state;
	setup(VIO_BIT(VIO_F_INDIRECT_DESC));
	set(table(0), data(0), 16, VIO_DESC_F_NEXT, 2);
	set(table(2), data(64), 512, VIO_DESC_F_NEXT | VIO_DESC_F_WRITE, 1);
	set(table(1), data(1024), 1, VIO_DESC_F_WRITE, 0);
	set(desc(4), BUS + TABLE_OFF, 3 * 16, VIO_DESC_F_INDIRECT, 0);
	make_avail(4);
	assert_int_equal(pop(), 1);
	assert_int_equal(F.req.id, 4);
	assert_int_equal(F.req.nread, 1);
	assert_int_equal(F.req.nwrite, 2);
	assert_int_equal(F.req.write_len, 513);
}

/* ---- ring rules, one test each ---- */

static void avail_idx_too_far(void **state)
{
	(void) state;
	setup(0);
	vio_put_le16(&avail()[1], QS + 1);
	assert_int_equal(pop(), -VIO_ERANGE);
	assert_int_equal(pop(), -VIO_ERANGE);
	assert_int_equal(vio_get_le16(&used()[1]), 0);
}

static void head_out_of_range(void **state)
{
	(void) state;
	setup(0);
	make_avail(QS);
	assert_int_equal(pop(), -VIO_ERANGE);
	assert_int_equal(pop(), -VIO_ERANGE);
}

static void next_out_of_range(void **state)
{
	(void) state;
	setup(0);
	set(desc(0), data(0), 16, VIO_DESC_F_NEXT, QS);
	make_avail(0);
	assert_int_equal(pop(), -VIO_ERANGE);
}

static void chain_loop(void **state)
{
	(void) state;
	setup(0);
	set(desc(0), data(0), 16, VIO_DESC_F_NEXT, 1);
	set(desc(1), data(0), 16, VIO_DESC_F_NEXT, 0);
	make_avail(0);
	assert_int_equal(pop(), -VIO_ELOOP);
	assert_int_equal(pop(), -VIO_ELOOP);
}

static void self_loop(void **state)
{
	(void) state;
	setup(0);
	set(desc(6), data(0), 16, VIO_DESC_F_NEXT, 6);
	make_avail(6);
	assert_int_equal(pop(), -VIO_ELOOP);
}

static void too_many_in_flight(void **state)
{
	(void) state;
	setup(0);
	for (unsigned i = 0; i < QS; i++) {
		set(desc(i), data(0), 16, 0, 0);
		make_avail((uint16_t) i);
	}
	for (unsigned i = 0; i < QS; i++)
		assert_int_equal(pop(), 1);
	/* The driver re-offers a head the device still owns. */
	make_avail(0);
	assert_int_equal(pop(), -VIO_ERANGE);
}

static void indirect_without_feature(void **state)
{
	(void) state;
	setup(0);
	set(table(0), data(0), 16, 0, 0);
	set(desc(0), BUS + TABLE_OFF, 16, VIO_DESC_F_INDIRECT, 0);
	make_avail(0);
	assert_int_equal(pop(), -VIO_EINVAL);
}

static void indirect_bad_length(void **state)
{
	(void) state;
	setup(VIO_BIT(VIO_F_INDIRECT_DESC));
	set(desc(0), BUS + TABLE_OFF, 20, VIO_DESC_F_INDIRECT, 0);
	make_avail(0);
	assert_int_equal(pop(), -VIO_EINVAL);
}

static void indirect_zero_length(void **state)
{
	(void) state;
	setup(VIO_BIT(VIO_F_INDIRECT_DESC));
	set(desc(0), BUS + TABLE_OFF, 0, VIO_DESC_F_INDIRECT, 0);
	make_avail(0);
	assert_int_equal(pop(), -VIO_EINVAL);
}

static void indirect_with_next(void **state)
{
	(void) state;
	setup(VIO_BIT(VIO_F_INDIRECT_DESC));
	set(table(0), data(0), 16, 0, 0);
	set(desc(0), BUS + TABLE_OFF, 16, VIO_DESC_F_INDIRECT | VIO_DESC_F_NEXT, 1);
	set(desc(1), data(0), 16, 0, 0);
	make_avail(0);
	assert_int_equal(pop(), -VIO_EINVAL);
}

static void indirect_nested(void **state)
{
	(void) state;
	setup(VIO_BIT(VIO_F_INDIRECT_DESC));
	set(table(0), BUS + TABLE_OFF + 256, 16, VIO_DESC_F_INDIRECT, 0);
	set(desc(0), BUS + TABLE_OFF, 16, VIO_DESC_F_INDIRECT, 0);
	make_avail(0);
	assert_int_equal(pop(), -VIO_EINVAL);
}

static void indirect_table_outside_window(void **state)
{
	(void) state;
	setup(VIO_BIT(VIO_F_INDIRECT_DESC));
	set(desc(0), BUS + MEM_SIZE - 16, 32, VIO_DESC_F_INDIRECT, 0);
	make_avail(0);
	assert_int_equal(pop(), -VIO_EFAULT);
}

static void indirect_next_out_of_range(void **state)
{
	(void) state;
	setup(VIO_BIT(VIO_F_INDIRECT_DESC));
	set(table(0), data(0), 16, VIO_DESC_F_NEXT, 2);
	set(table(1), data(0), 16, 0, 0);
	set(desc(0), BUS + TABLE_OFF, 32, VIO_DESC_F_INDIRECT, 0);
	make_avail(0);
	assert_int_equal(pop(), -VIO_ERANGE);
}

static void indirect_loop(void **state)
{
	(void) state;
	setup(VIO_BIT(VIO_F_INDIRECT_DESC));
	set(table(0), data(0), 16, VIO_DESC_F_NEXT, 1);
	set(table(1), data(0), 16, VIO_DESC_F_NEXT, 0);
	set(desc(0), BUS + TABLE_OFF, 32, VIO_DESC_F_INDIRECT, 0);
	make_avail(0);
	assert_int_equal(pop(), -VIO_ELOOP);
}

static void readable_after_writable(void **state)
{
	(void) state;
	setup(0);
	set(desc(0), data(0), 16, VIO_DESC_F_NEXT | VIO_DESC_F_WRITE, 1);
	set(desc(1), data(16), 16, 0, 0);
	make_avail(0);
	assert_int_equal(pop(), -VIO_EPROTO);
}

static void total_length_overflow(void **state)
{
	(void) state;
	setup(0);
	/* A window large enough that each descriptor alone translates; pop never touches it. */
	assert_int_equal(vio_winmap_add(&F.m, 0x100000000ull, 0xF0000000ull, F.mem, VIO_ACCESS_RW),
			 0);
	set(desc(0), 0x100000000ull, 0x80000000u, VIO_DESC_F_NEXT, 1);
	set(desc(1), 0x100000000ull, 0x80000000u, VIO_DESC_F_WRITE, 0);
	make_avail(0);
	assert_int_equal(pop(), -VIO_EOVERFLOW);
}

static void buffer_outside_window(void **state)
{
	(void) state;
	setup(0);
	set(desc(0), BUS - 16, 8, 0, 0);
	make_avail(0);
	assert_int_equal(pop(), -VIO_EFAULT);
}

static void buffer_straddles_window_end(void **state)
{
	(void) state;
	setup(0);
	set(desc(0), BUS + MEM_SIZE - 8, 16, 0, 0);
	make_avail(0);
	assert_int_equal(pop(), -VIO_EFAULT);
}

static void buffer_address_wraps(void **state)
{
	(void) state;
	setup(0);
	set(desc(0), UINT64_MAX - 4, 16, 0, 0);
	make_avail(0);
	assert_int_equal(pop(), -VIO_EFAULT);
}

static void write_into_read_only_window(void **state)
{
	static uint8_t ro[64];

	(void) state;
	setup(0);
	assert_int_equal(vio_winmap_add(&F.m, 0x900000, sizeof(ro), ro, VIO_ACCESS_READ), 0);
	set(desc(0), 0x900000, 16, VIO_DESC_F_WRITE, 0);
	make_avail(0);
	assert_int_equal(pop(), -VIO_EFAULT);
}

static void pop_after_break_touches_nothing(void **state)
{
	(void) state;
	setup(0);
	make_avail(QS + 3);
	assert_int_equal(pop(), -VIO_ERANGE);
	vio_vq_push(&F.vq, 0, 1, 0);
	assert_false(vio_vq_flush(&F.vq));
	assert_int_equal(vio_get_le16(&used()[1]), 0);
	assert_false(vio_vq_notify_enable(&F.vq));
	assert_false(vio_vq_has_avail(&F.vq));
}

/* ---- set-up rules ---- */

static void setup_refuses_bad_size(void **state)
{
	(void) state;
	memset(&F, 0, sizeof(F));
	vio_winmap_init(&F.m, F.w, 3);
	vio_winmap_add(&F.m, BUS, MEM_SIZE, F.mem, VIO_ACCESS_RW);
	assert_int_equal(
	    vio_vq_setup_split(&F.vq, &F.m, 6, BUS, BUS + AVAIL_OFF, BUS + USED_OFF, 0),
	    -VIO_EINVAL);
	assert_int_equal(
	    vio_vq_setup_split(&F.vq, &F.m, 0, BUS, BUS + AVAIL_OFF, BUS + USED_OFF, 0),
	    -VIO_EINVAL);
	assert_false(F.vq.ready);
	assert_int_equal(pop(), 0);
}

static void setup_refuses_ring_outside_window(void **state)
{
	(void) state;
	memset(&F, 0, sizeof(F));
	vio_winmap_init(&F.m, F.w, 3);
	vio_winmap_add(&F.m, BUS, MEM_SIZE, F.mem, VIO_ACCESS_RW);
	assert_int_equal(vio_vq_setup_split(&F.vq, &F.m, QS, BUS + MEM_SIZE - 64, BUS + AVAIL_OFF,
					    BUS + USED_OFF, 0),
			 -VIO_EFAULT);
	assert_int_equal(
	    vio_vq_setup_split(&F.vq, &F.m, QS, BUS, BUS + AVAIL_OFF, BUS + MEM_SIZE - 8, 0),
	    -VIO_EFAULT);
	assert_false(F.vq.ready);
}

static void setup_refuses_used_in_read_only_window(void **state)
{
	static _Alignas(16) uint8_t ro[4096];

	(void) state;
	memset(&F, 0, sizeof(F));
	vio_winmap_init(&F.m, F.w, 3);
	vio_winmap_add(&F.m, BUS, MEM_SIZE, F.mem, VIO_ACCESS_RW);
	vio_winmap_add(&F.m, 0x900000, sizeof(ro), ro, VIO_ACCESS_READ);
	assert_int_equal(vio_vq_setup_split(&F.vq, &F.m, QS, BUS, BUS + AVAIL_OFF, 0x900000, 0),
			 -VIO_EFAULT);
}

static void setup_refuses_misaligned(void **state)
{
	(void) state;
	memset(&F, 0, sizeof(F));
	vio_winmap_init(&F.m, F.w, 3);
	vio_winmap_add(&F.m, BUS, MEM_SIZE, F.mem, VIO_ACCESS_RW);
	assert_int_equal(
	    vio_vq_setup_split(&F.vq, &F.m, QS, BUS + 8, BUS + AVAIL_OFF, BUS + USED_OFF, 0),
	    -VIO_EINVAL);
	assert_int_equal(
	    vio_vq_setup_split(&F.vq, &F.m, QS, BUS, BUS + AVAIL_OFF + 1, BUS + USED_OFF, 0),
	    -VIO_EINVAL);
	assert_int_equal(
	    vio_vq_setup_split(&F.vq, &F.m, QS, BUS, BUS + AVAIL_OFF, BUS + USED_OFF + 2, 0),
	    -VIO_EINVAL);
}

static void setup_refuses_used_overlapping(void **state)
{
	(void) state;
	memset(&F, 0, sizeof(F));
	vio_winmap_init(&F.m, F.w, 3);
	vio_winmap_add(&F.m, BUS, MEM_SIZE, F.mem, VIO_ACCESS_RW);
	assert_int_equal(vio_vq_setup_split(&F.vq, &F.m, QS, BUS, BUS + AVAIL_OFF, BUS + 64, 0),
			 -VIO_EINVAL);
	assert_int_equal(
	    vio_vq_setup_split(&F.vq, &F.m, QS, BUS, BUS + AVAIL_OFF, BUS + AVAIL_OFF + 4, 0),
	    -VIO_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(empty_ring),
	    cmocka_unit_test(one_readable),
	    cmocka_unit_test(blk_shape),
	    cmocka_unit_test(zero_length_segment_skipped),
	    cmocka_unit_test(push_and_flush),
	    cmocka_unit_test(no_interrupt_flag_honoured),
	    cmocka_unit_test(event_idx_used_event),
	    cmocka_unit_test(event_idx_avail_event),
	    cmocka_unit_test(notify_flags_without_event_idx),
	    cmocka_unit_test(base_round_trip),
	    cmocka_unit_test(overflow_keeps_last_segment),
	    cmocka_unit_test(spans_two_windows),
	    cmocka_unit_test(indirect_chain),
	    cmocka_unit_test(avail_idx_too_far),
	    cmocka_unit_test(head_out_of_range),
	    cmocka_unit_test(next_out_of_range),
	    cmocka_unit_test(chain_loop),
	    cmocka_unit_test(self_loop),
	    cmocka_unit_test(too_many_in_flight),
	    cmocka_unit_test(indirect_without_feature),
	    cmocka_unit_test(indirect_bad_length),
	    cmocka_unit_test(indirect_zero_length),
	    cmocka_unit_test(indirect_with_next),
	    cmocka_unit_test(indirect_nested),
	    cmocka_unit_test(indirect_table_outside_window),
	    cmocka_unit_test(indirect_next_out_of_range),
	    cmocka_unit_test(indirect_loop),
	    cmocka_unit_test(readable_after_writable),
	    cmocka_unit_test(total_length_overflow),
	    cmocka_unit_test(buffer_outside_window),
	    cmocka_unit_test(buffer_straddles_window_end),
	    cmocka_unit_test(buffer_address_wraps),
	    cmocka_unit_test(write_into_read_only_window),
	    cmocka_unit_test(pop_after_break_touches_nothing),
	    cmocka_unit_test(setup_refuses_bad_size),
	    cmocka_unit_test(setup_refuses_ring_outside_window),
	    cmocka_unit_test(setup_refuses_used_in_read_only_window),
	    cmocka_unit_test(setup_refuses_misaligned),
	    cmocka_unit_test(setup_refuses_used_overlapping),
	};

	return cmocka_run_group_tests_name("virtq_split", tests, NULL, NULL);
}
