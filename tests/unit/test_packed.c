/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device-side packed ring: the request API, wrap counters, notification
 * suppression and one test per validation rule. The tests play the driver by
 * hand on a ring in a buffer that a read-write window maps at BUS; a second,
 * read-only window at RO_BUS holds data the device may only read.
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
#include "vioport/virtq.h"

#define BUS	  0x40000ull
#define RO_BUS	  0x80000ull
#define QS	  4
#define QS_MAX	  8
#define DESC_OFF  0x0000u
#define DRV_OFF	  0x1000u /* driver event suppression area */
#define DEV_OFF	  0x1010u /* device event suppression area */
#define TABLE_OFF 0x2000u
#define DATA_OFF  0x8000u
#define MEM_SIZE  0x10000u
#define RO_SIZE	  0x1000u

/* One descriptor a test asks the driver to write; offer() adds NEXT and the wrap bits. */
struct seg {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
};

struct fx {
	_Alignas(4096) uint8_t mem[MEM_SIZE];
	_Alignas(16) uint8_t ro[RO_SIZE];
	uint8_t snap_mem[MEM_SIZE];
	uint8_t snap_ro[RO_SIZE];
	struct vio_window w[2];
	struct vio_winmap m;
	struct vio_vq vq;
	struct vio_iov iov[16];
	struct vio_req req;
	uint16_t qs;
	/* The driver's side of the ring. */
	uint16_t avail_pos, used_pos;
	bool avail_wrap, used_wrap;
	uint16_t chain[QS_MAX]; /* descriptors each buffer id took, to skip on used */
};

static struct fx F;

static struct vio_pdesc *pdesc(unsigned i)
{
	return (struct vio_pdesc *) (F.mem + DESC_OFF) + i;
}

static struct vio_pdesc *table(unsigned i)
{
	return (struct vio_pdesc *) (F.mem + TABLE_OFF) + i;
}

static uint16_t *drv_event(void)
{
	return (uint16_t *) (F.mem + DRV_OFF);
}

static uint16_t *dev_event(void)
{
	return (uint16_t *) (F.mem + DEV_OFF);
}

static uint64_t data(unsigned off)
{
	return BUS + DATA_OFF + off;
}

static struct seg rd(unsigned off, uint32_t len)
{
	return (struct seg){data(off), len, 0};
}

static struct seg wr(unsigned off, uint32_t len)
{
	return (struct seg){data(off), len, VIO_DESC_F_WRITE};
}

static void put_body(struct vio_pdesc *d, uint64_t addr, uint32_t len, uint16_t id)
{
	vio_put_le64(&d->addr, addr);
	vio_put_le32(&d->len, len);
	vio_put_le16(&d->id, id);
}

/* An indirect table entry: packed tables use the packed descriptor layout. */
static void put_table(unsigned i, uint64_t addr, uint32_t len, uint16_t flags)
{
	put_body(table(i), addr, len, 0);
	vio_put_le16(&table(i)->flags, flags);
}

static uint16_t flags_at(unsigned i)
{
	return vio_get_le16(&pdesc(i)->flags);
}

static void advance(uint16_t *pos, bool *wrap, uint16_t n)
{
	*pos = (uint16_t) (*pos + n);
	if (*pos >= F.qs) {
		*pos = (uint16_t) (*pos - F.qs);
		*wrap = !*wrap;
	}
}

/*
 * Makes segs available as one buffer with the given id. Each descriptor gets
 * the wrap bits of its own position; the head's flags are written last, as a
 * driver must, and only the last descriptor carries the real id.
 */
static void offer(const struct seg *s, unsigned n, uint16_t id)
{
	uint16_t head = F.avail_pos, head_flags = 0;

	for (unsigned k = 0; k < n; k++) {
		uint16_t flags = s[k].flags | (F.avail_wrap ? VIO_DESC_F_AVAIL : VIO_DESC_F_USED);

		if (k + 1 < n)
			flags |= VIO_DESC_F_NEXT;
		put_body(pdesc(F.avail_pos), s[k].addr, s[k].len, k + 1 == n ? id : 0xbeef);
		if (k == 0)
			head_flags = flags;
		else
			vio_put_le16(&pdesc(F.avail_pos)->flags, flags);
		advance(&F.avail_pos, &F.avail_wrap, 1);
	}
	vio_put_le16(&pdesc(head)->flags, head_flags);
	F.chain[id % QS_MAX] = (uint16_t) n;
}

/* The driver's view of the used side: the next used buffer, or false. */
static bool reap(uint16_t *id, uint32_t *len)
{
	uint16_t flags = flags_at(F.used_pos);
	bool a = (flags & VIO_DESC_F_AVAIL) != 0, u = (flags & VIO_DESC_F_USED) != 0;

	if (a != F.used_wrap || u != F.used_wrap)
		return false;
	*id = vio_get_le16(&pdesc(F.used_pos)->id);
	*len = vio_get_le32(&pdesc(F.used_pos)->len);
	advance(&F.used_pos, &F.used_wrap, F.chain[*id % QS_MAX]);
	return true;
}

static int setup_at(uint16_t qs, uint64_t desc, uint64_t drv, uint64_t dev, uint64_t features)
{
	memset(&F, 0, sizeof(F));
	vio_winmap_init(&F.m, F.w, 2);
	assert_int_equal(vio_winmap_add(&F.m, BUS, MEM_SIZE, F.mem, VIO_ACCESS_RW), 0);
	assert_int_equal(vio_winmap_add(&F.m, RO_BUS, RO_SIZE, F.ro, VIO_ACCESS_READ), 0);
	F.req.iov = F.iov;
	F.req.cap = 16;
	F.qs = qs;
	F.avail_wrap = true;
	F.used_wrap = true;
	return vio_vq_setup_packed(&F.vq, &F.m, qs, desc, drv, dev, features);
}

static void setup_sized(uint16_t qs, uint64_t features)
{
	assert_int_equal(setup_at(qs, BUS + DESC_OFF, BUS + DRV_OFF, BUS + DEV_OFF, features), 0);
}

static void setup(uint64_t features)
{
	setup_sized(QS, features);
}

static int pop(void)
{
	return vio_vq_pop(&F.vq, &F.req);
}

/* Pops the next buffer, which must exist, and returns it at once with len. */
static void pop_push(uint32_t len)
{
	assert_int_equal(pop(), 1);
	vio_vq_push(&F.vq, F.req.id, F.req.ndesc, len);
}

/*
 * A violation: pop returns err, writes nothing, and the queue stays broken:
 * later pops return err without reading the ring again (a ring emptied
 * afterwards would otherwise read as "nothing to do"), and push and flush do
 * nothing.
 */
static void expect_broken(int err)
{
	memcpy(F.snap_mem, F.mem, MEM_SIZE);
	memcpy(F.snap_ro, F.ro, RO_SIZE);
	assert_int_equal(pop(), err);
	assert_int_equal(pop(), err);
	vio_vq_push(&F.vq, 0, 1, 16);
	assert_false(vio_vq_flush(&F.vq));
	assert_false(vio_vq_notify_enable(&F.vq));
	assert_false(vio_vq_has_avail(&F.vq));
	assert_memory_equal(F.snap_mem, F.mem, MEM_SIZE);
	assert_memory_equal(F.snap_ro, F.ro, RO_SIZE);
	memset(F.mem + DESC_OFF, 0, VIO_PACKED_DESC_SIZE(QS_MAX));
	assert_int_equal(pop(), err);
}

/* ---- the request API ---- */

static void empty_ring(void **state)
{
	(void) state;
	setup(0);
	assert_int_equal(pop(), 0);
	assert_false(vio_vq_has_avail(&F.vq));
	/* Available for the other wrap counter, or already used: not ours to take. */
	put_body(pdesc(0), data(0), 16, 0);
	vio_put_le16(&pdesc(0)->flags, VIO_DESC_F_USED);
	assert_int_equal(pop(), 0);
	vio_put_le16(&pdesc(0)->flags, VIO_DESC_F_AVAIL | VIO_DESC_F_USED);
	assert_int_equal(pop(), 0);
	assert_false(vio_vq_has_avail(&F.vq));
	vio_put_le16(&pdesc(0)->flags, VIO_DESC_F_AVAIL);
	assert_true(vio_vq_has_avail(&F.vq));
	assert_int_equal(pop(), 1);
}

static void single_descriptor(void **state)
{
	uint16_t id;
	uint32_t len;

	(void) state;
	setup(0);
	offer((struct seg[]){rd(0, 16)}, 1, 2);
	assert_int_equal(pop(), 1);
	assert_int_equal(F.req.id, 2);
	assert_int_equal(F.req.ndesc, 1);
	assert_int_equal(F.req.nread, 1);
	assert_int_equal(F.req.nwrite, 0);
	assert_int_equal(F.req.read_len, 16);
	assert_int_equal(F.req.write_len, 0);
	assert_ptr_equal(F.iov[0].base, F.mem + DATA_OFF);
	assert_int_equal(F.iov[0].len, 16);
	assert_int_equal(pop(), 0);

	/* A packed used descriptor is visible at once, before any flush. */
	vio_vq_push(&F.vq, 2, 1, 0);
	assert_int_equal(flags_at(0), VIO_DESC_F_AVAIL | VIO_DESC_F_USED);
	assert_true(reap(&id, &len));
	assert_int_equal(id, 2);
	assert_int_equal(len, 0);
	assert_int_equal(F.vq.used_idx, 1);
}

static void chain_with_next(void **state)
{
	uint16_t id;
	uint32_t len;

	(void) state;
	setup(0);
	offer((struct seg[]){rd(0, 16), wr(16, 32), wr(48, 8)}, 3, 3);
	assert_int_equal(pop(), 1);
	assert_int_equal(F.req.id, 3); /* from the last descriptor, not the 0xbeef of the others */
	assert_int_equal(F.req.ndesc, 3);
	assert_int_equal(F.req.nread, 1);
	assert_int_equal(F.req.nwrite, 2);
	assert_int_equal(F.req.read_len, 16);
	assert_int_equal(F.req.write_len, 40);
	assert_ptr_equal(F.iov[1].base, F.mem + DATA_OFF + 16);
	assert_ptr_equal(F.iov[2].base, F.mem + DATA_OFF + 48);

	vio_vq_push(&F.vq, 3, 3, 40);
	/* One used descriptor at the used index; the chain's other slots are skipped. */
	assert_int_equal(flags_at(0), VIO_DESC_F_AVAIL | VIO_DESC_F_USED);
	assert_int_equal(vio_get_le16(&pdesc(0)->id), 3);
	assert_int_equal(vio_get_le32(&pdesc(0)->len), 40);
	assert_int_equal(flags_at(1), VIO_DESC_F_AVAIL | VIO_DESC_F_NEXT | VIO_DESC_F_WRITE);
	assert_int_equal(F.vq.used_idx, 3);

	/* The next buffer sits in the last slot; using it wraps the used counter. */
	offer((struct seg[]){wr(0, 4)}, 1, 1);
	pop_push(4);
	assert_int_equal(flags_at(3), VIO_DESC_F_AVAIL | VIO_DESC_F_USED);
	assert_int_equal(F.vq.used_idx, 0);
	assert_false(F.vq.used_wrap);
	assert_true(reap(&id, &len));
	assert_int_equal(id, 3);
	assert_true(reap(&id, &len));
	assert_int_equal(id, 1);
	assert_int_equal(len, 4);
}

/* Runs n buffers of 1..3 descriptors through a ring of qs entries, one at a time. */
static void run_laps(uint16_t qs, unsigned n)
{
	uint16_t id;
	uint32_t len;
	unsigned flips = 0;
	bool last_wrap = true;

	setup_sized(qs, 0);
	for (unsigned i = 0; i < n; i++) {
		uint16_t want = (uint16_t) (i % qs);
		unsigned ndesc = 1 + i % 3;
		struct seg s[3] = {rd(0, 8), wr(8, 8), wr(16, 8)};

		offer(s, ndesc, want);
		assert_int_equal(pop(), 1);
		assert_int_equal(F.req.id, want);
		assert_int_equal(F.req.ndesc, ndesc);
		assert_int_equal(pop(), 0);
		vio_vq_push(&F.vq, F.req.id, F.req.ndesc, (uint32_t) i);
		assert_true(reap(&id, &len));
		assert_int_equal(id, want);
		assert_int_equal(len, i);
		assert_false(reap(&id, &len));
		/* Both sides agree on the position and on both wrap counters. */
		assert_int_equal(F.vq.avail_wrap, F.avail_wrap);
		assert_int_equal(F.vq.used_wrap, F.used_wrap);
		assert_int_equal(vio_vq_get_base(&F.vq),
				 F.avail_pos | (F.avail_wrap ? 0x8000u : 0));
		flips += F.vq.used_wrap != last_wrap;
		last_wrap = F.vq.used_wrap;
	}
	assert_true(flips >= 4);
}

static void wrap_around_several_laps(void **state)
{
	(void) state;
	run_laps(QS, 24);
}

static void wrap_around_odd_size(void **state)
{
	(void) state;
	/* Packed rings need no power of two: wrapping must not rely on masking. */
	run_laps(3, 20);
}

static void chain_as_long_as_queue(void **state)
{
	(void) state;
	setup(0);
	/* Every slot in one chain is the longest legal chain. */
	offer((struct seg[]){rd(0, 8), rd(8, 8), wr(16, 8), wr(24, 8)}, QS, 2);
	assert_int_equal(pop(), 1);
	assert_int_equal(F.req.id, 2);
	assert_int_equal(F.req.ndesc, QS);
	assert_int_equal(vio_vq_get_base(&F.vq), 0);
	vio_vq_push(&F.vq, 2, QS, 16);
	assert_int_equal(F.vq.used_idx, 0);
	assert_false(F.vq.used_wrap);
}

static void chain_crossing_ring_end(void **state)
{
	(void) state;
	setup(0);
	offer((struct seg[]){rd(0, 8), rd(8, 8), rd(16, 8)}, 3, 0);
	pop_push(0);
	/* Slots 3, 0, 1: the walk wraps inside the chain and flips the avail counter. */
	offer((struct seg[]){rd(0, 8), wr(8, 8), wr(16, 8)}, 3, 1);
	assert_int_equal(pop(), 1);
	assert_int_equal(F.req.id, 1);
	assert_int_equal(F.req.ndesc, 3);
	assert_int_equal(F.req.write_len, 16);
	assert_int_equal(vio_vq_get_base(&F.vq), 2);
	vio_vq_push(&F.vq, 1, 3, 16);
	assert_int_equal(flags_at(3), VIO_DESC_F_AVAIL | VIO_DESC_F_USED);
	assert_int_equal(F.vq.used_idx, 2);
	assert_false(F.vq.used_wrap);
}

static void out_of_order_completion(void **state)
{
	uint16_t id;
	uint32_t len;

	(void) state;
	setup(0);
	offer((struct seg[]){wr(0, 8)}, 1, 0);
	offer((struct seg[]){rd(8, 8), wr(16, 8)}, 2, 1);
	offer((struct seg[]){wr(24, 8)}, 1, 2);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(pop(), 1);
	assert_int_equal(F.vq.inflight, 3);

	/* Used descriptors go in completion order; each advances by its own chain length. */
	vio_vq_push(&F.vq, 2, 1, 2);
	vio_vq_push(&F.vq, 0, 1, 0);
	vio_vq_push(&F.vq, 1, 2, 1);
	assert_int_equal(F.vq.inflight, 0);
	assert_int_equal(F.vq.used_idx, 0);
	assert_false(F.vq.used_wrap);
	for (uint16_t want = 2, k = 0; k < 3; k++, want = (uint16_t) (want + 1) % 3) {
		assert_true(reap(&id, &len));
		assert_int_equal(id, want);
		assert_int_equal(len, want);
	}
	assert_false(reap(&id, &len));
}

static void indirect_table(void **state)
{
	(void) state;
	setup(VIO_BIT(VIO_F_INDIRECT_DESC));
	put_table(0, data(0), 16, 0);
	put_table(1, data(16), 32, VIO_DESC_F_WRITE);
	offer((struct seg[]){{BUS + TABLE_OFF, 32, VIO_DESC_F_INDIRECT}}, 1, 3);
	assert_int_equal(pop(), 1);
	assert_int_equal(F.req.id, 3);
	assert_int_equal(F.req.ndesc, 1);
	assert_int_equal(F.req.nread, 1);
	assert_int_equal(F.req.nwrite, 1);
	assert_int_equal(F.req.read_len, 16);
	assert_int_equal(F.req.write_len, 32);
	assert_ptr_equal(F.iov[1].base, F.mem + DATA_OFF + 16);
}

static void set_base_and_get_base(void **state)
{
	uint16_t id;
	uint32_t len;

	(void) state;
	setup(0);
	assert_int_equal(vio_vq_set_base(&F.vq, QS), -VIO_EINVAL);
	assert_int_equal(vio_vq_set_base(&F.vq, 0x8000u | QS), -VIO_EINVAL);

	/* Resume at slot 2 in the lap whose wrap counter is 0. */
	assert_int_equal(vio_vq_set_base(&F.vq, 2), 0);
	assert_int_equal(vio_vq_get_base(&F.vq), 2);
	F.avail_pos = F.used_pos = 2;
	F.avail_wrap = F.used_wrap = false;
	offer((struct seg[]){rd(0, 8), wr(8, 8), wr(16, 8)}, 3, 1);
	assert_int_equal(pop(), 1);
	assert_int_equal(F.req.id, 1);
	assert_int_equal(vio_vq_get_base(&F.vq), 0x8001u);
	vio_vq_push(&F.vq, 1, 3, 8);
	/* Used with wrap counter 0: AVAIL and USED both clear. */
	assert_int_equal(flags_at(2) & (VIO_DESC_F_AVAIL | VIO_DESC_F_USED), 0);
	assert_true(reap(&id, &len));
	assert_int_equal(id, 1);
	assert_int_equal(len, 8);

	assert_int_equal(vio_vq_set_base(&F.vq, 0x8003u), 0);
	assert_int_equal(vio_vq_get_base(&F.vq), 0x8003u);
	assert_true(F.vq.avail_wrap);
	assert_true(F.vq.used_wrap);
	assert_int_equal(F.vq.used_idx, 3);
}

/* ---- violations ---- */

static void buffer_id_out_of_range(void **state)
{
	(void) state;
	setup(0);
	offer((struct seg[]){rd(0, 16)}, 1, QS);
	expect_broken(-VIO_ERANGE);
}

static void chain_longer_than_queue(void **state)
{
	(void) state;
	setup(0);
	/* Every slot says NEXT: the walk would go round the ring for ever. */
	for (unsigned i = 0; i < QS; i++) {
		put_body(pdesc(i), data(8 * i), 8, 0);
		vio_put_le16(&pdesc(i)->flags, VIO_DESC_F_AVAIL | VIO_DESC_F_NEXT);
	}
	expect_broken(-VIO_ELOOP);
}

static void indirect_without_feature(void **state)
{
	(void) state;
	setup(0);
	put_table(0, data(0), 16, 0);
	offer((struct seg[]){{BUS + TABLE_OFF, 16, VIO_DESC_F_INDIRECT}}, 1, 0);
	expect_broken(-VIO_EINVAL);
}

static void indirect_with_next(void **state)
{
	(void) state;
	setup(VIO_BIT(VIO_F_INDIRECT_DESC));
	put_table(0, data(0), 16, 0);
	offer((struct seg[]){{BUS + TABLE_OFF, 16, VIO_DESC_F_INDIRECT}, wr(16, 8)}, 2, 0);
	expect_broken(-VIO_EINVAL);
}

static void indirect_not_first(void **state)
{
	(void) state;
	setup(VIO_BIT(VIO_F_INDIRECT_DESC));
	put_table(0, data(0), 16, 0);
	offer((struct seg[]){rd(0, 8), {BUS + TABLE_OFF, 16, VIO_DESC_F_INDIRECT}}, 2, 0);
	expect_broken(-VIO_EINVAL);
}

static void indirect_nested(void **state)
{
	(void) state;
	setup(VIO_BIT(VIO_F_INDIRECT_DESC));
	put_table(0, data(0), 16, 0);
	put_table(1, BUS + TABLE_OFF, 32, VIO_DESC_F_INDIRECT);
	offer((struct seg[]){{BUS + TABLE_OFF, 32, VIO_DESC_F_INDIRECT}}, 1, 0);
	expect_broken(-VIO_EINVAL);
}

static void indirect_zero_length(void **state)
{
	(void) state;
	setup(VIO_BIT(VIO_F_INDIRECT_DESC));
	offer((struct seg[]){{BUS + TABLE_OFF, 0, VIO_DESC_F_INDIRECT}}, 1, 0);
	expect_broken(-VIO_EINVAL);
}

static void indirect_bad_length(void **state)
{
	(void) state;
	setup(VIO_BIT(VIO_F_INDIRECT_DESC));
	put_table(0, data(0), 16, 0);
	put_table(1, data(16), 16, 0);
	offer((struct seg[]){{BUS + TABLE_OFF, 24, VIO_DESC_F_INDIRECT}}, 1, 0);
	expect_broken(-VIO_EINVAL);
}

static void indirect_table_outside_window(void **state)
{
	(void) state;
	setup(VIO_BIT(VIO_F_INDIRECT_DESC));
	/* Starts inside the window, ends 16 bytes past it. */
	offer((struct seg[]){{BUS + MEM_SIZE - 16, 32, VIO_DESC_F_INDIRECT}}, 1, 0);
	expect_broken(-VIO_EFAULT);
}

static void readable_after_writable(void **state)
{
	(void) state;
	setup(0);
	offer((struct seg[]){wr(0, 8), rd(8, 8)}, 2, 0);
	expect_broken(-VIO_EPROTO);
}

static void buffer_outside_window(void **state)
{
	(void) state;
	setup(0);
	offer((struct seg[]){{0x1000, 16, 0}}, 1, 0);
	expect_broken(-VIO_EFAULT);
}

static void buffer_straddles_window_end(void **state)
{
	(void) state;
	setup(0);
	offer((struct seg[]){{BUS + MEM_SIZE - 8, 16, VIO_DESC_F_WRITE}}, 1, 0);
	expect_broken(-VIO_EFAULT);
}

static void write_into_read_only_window(void **state)
{
	(void) state;
	setup(0);
	/* Reading the read-only window is fine; writing it is not. */
	offer((struct seg[]){{RO_BUS, 16, 0}}, 1, 0);
	pop_push(0);
	offer((struct seg[]){rd(0, 8), {RO_BUS, 16, VIO_DESC_F_WRITE}}, 2, 1);
	expect_broken(-VIO_EFAULT);
}

static void too_many_in_flight(void **state)
{
	(void) state;
	setup(0);
	for (uint16_t i = 0; i < QS; i++) {
		offer((struct seg[]){rd(0, 8)}, 1, i);
		assert_int_equal(pop(), 1);
	}
	/* Nothing was returned, yet the driver offers slot 0 again in the next lap. */
	offer((struct seg[]){rd(0, 8)}, 1, 0);
	expect_broken(-VIO_ERANGE);
}

static void total_length_overflow(void **state)
{
	(void) state;
	setup(0);
	offer((struct seg[]){rd(0, 16), {data(16), UINT32_MAX - 8, VIO_DESC_F_WRITE}}, 2, 0);
	expect_broken(-VIO_EOVERFLOW);
}

/* ---- notifications ---- */

static void set_driver_event(uint16_t off_wrap, uint16_t flags)
{
	vio_put_le16(&drv_event()[0], off_wrap);
	vio_put_le16(&drv_event()[1], flags);
}

/* Offers, pops and returns one single-descriptor buffer, then flushes. */
static bool one_and_flush(void)
{
	offer((struct seg[]){wr(0, 8)}, 1, (uint16_t) (F.avail_pos % QS));
	pop_push(1);
	return vio_vq_flush(&F.vq);
}

static void flush_driver_flags(void **state)
{
	(void) state;
	setup(0);
	set_driver_event(0, VIO_EVENT_F_DISABLE);
	assert_false(one_and_flush());
	set_driver_event(0, VIO_EVENT_F_ENABLE);
	assert_true(one_and_flush());
	assert_true(one_and_flush());
	/* Nothing new since the last interrupt. */
	assert_false(vio_vq_flush(&F.vq));
	/* DESC means nothing without event idx: the driver still wants interrupts. */
	set_driver_event(0x8000u | 3, VIO_EVENT_F_DESC);
	assert_true(one_and_flush());
}

static void flush_without_push_is_silent(void **state)
{
	(void) state;
	setup(0);
	set_driver_event(0, VIO_EVENT_F_ENABLE);
	assert_false(vio_vq_flush(&F.vq));
	assert_true(one_and_flush());
	assert_false(vio_vq_flush(&F.vq));
}

static void flush_after_two_full_laps(void **state)
{
	(void) state;
	setup(0);
	set_driver_event(0, VIO_EVENT_F_ENABLE);
	assert_true(one_and_flush());
	/* 2 * QS buffers come back between flushes: same slot, same wrap counter. */
	for (unsigned i = 0; i < 2 * QS; i++) {
		offer((struct seg[]){wr(0, 8)}, 1, (uint16_t) (i % QS));
		pop_push(1);
	}
	assert_true(vio_vq_flush(&F.vq));
}

static void flush_event_idx_same_wrap(void **state)
{
	(void) state;
	setup(VIO_BIT(VIO_F_EVENT_IDX));
	/* Interrupt when the descriptor at offset 2 of this lap (wrap 1) is used. */
	set_driver_event(0x8000u | 2, VIO_EVENT_F_DESC);
	assert_true(one_and_flush());  /* the first flush always signals */
	assert_false(one_and_flush()); /* used offset 1 */
	assert_true(one_and_flush());  /* used offset 2 */
}

static void flush_event_idx_passed_before_wrap(void **state)
{
	(void) state;
	setup(VIO_BIT(VIO_F_EVENT_IDX));
	set_driver_event(0x8000u | 2, VIO_EVENT_F_DESC);
	assert_true(one_and_flush());
	assert_false(one_and_flush());
	assert_true(one_and_flush());
	/*
	 * Offset 3 is used and the counter wraps: the event at offset 2 was
	 * signalled already, so this flush must stay silent.
	 */
	assert_false(one_and_flush());
	assert_false(F.vq.used_wrap);
}

static void flush_event_idx_next_wrap(void **state)
{
	(void) state;
	setup(VIO_BIT(VIO_F_EVENT_IDX));
	/* Offset 1 of the next lap (wrap 0): used slots 0 .. 3, 0 pass, slot 1 hits. */
	set_driver_event(1, VIO_EVENT_F_DESC);
	assert_true(one_and_flush());
	for (unsigned i = 0; i < 4; i++)
		assert_false(one_and_flush());
	assert_false(F.vq.used_wrap);
	assert_true(one_and_flush());
	assert_false(one_and_flush());
}

static void flush_event_idx_batch(void **state)
{
	(void) state;
	setup(VIO_BIT(VIO_F_EVENT_IDX));
	set_driver_event(0x8000u | 2, VIO_EVENT_F_DESC);
	assert_true(one_and_flush());
	/* Offsets 1 and 2 published by one flush: the event lies inside the batch. */
	for (uint16_t i = 1; i < 3; i++) {
		offer((struct seg[]){wr(0, 8)}, 1, i);
		pop_push(1);
	}
	assert_true(vio_vq_flush(&F.vq));
}

static void notify_disable_enable(void **state)
{
	(void) state;
	setup(0);
	vio_vq_notify_disable(&F.vq);
	assert_int_equal(vio_get_le16(&dev_event()[1]), VIO_EVENT_F_DISABLE);
	assert_false(vio_vq_notify_enable(&F.vq));
	assert_int_equal(vio_get_le16(&dev_event()[1]), VIO_EVENT_F_ENABLE);

	/* A buffer arriving while kicks were off must be reported on enable. */
	vio_vq_notify_disable(&F.vq);
	offer((struct seg[]){rd(0, 8)}, 1, 0);
	assert_true(vio_vq_notify_enable(&F.vq));
	assert_int_equal(vio_get_le16(&dev_event()[1]), VIO_EVENT_F_ENABLE);
	assert_int_equal(pop(), 1);
	assert_false(vio_vq_notify_enable(&F.vq));
}

/* ---- set-up ---- */

static void setup_refuses_bad_size(void **state)
{
	(void) state;
	assert_int_equal(setup_at(0, BUS + DESC_OFF, BUS + DRV_OFF, BUS + DEV_OFF, 0), -VIO_EINVAL);
	assert_false(F.vq.ready);
	assert_int_equal(pop(), 0);
	assert_int_equal(setup_at(VIO_VQ_MAX_SIZE + 1, BUS, BUS + DRV_OFF, BUS + DEV_OFF, 0),
			 -VIO_EINVAL);
	assert_false(F.vq.ready);
	assert_int_equal(setup_at(3, BUS + DESC_OFF, BUS + DRV_OFF, BUS + DEV_OFF, 0), 0);
	assert_true(F.vq.ready);
}

static void setup_refuses_ring_outside_window(void **state)
{
	(void) state;
	assert_int_equal(setup_at(QS, 0x1000, BUS + DRV_OFF, BUS + DEV_OFF, 0), -VIO_EFAULT);
	assert_false(F.vq.ready);
	/* The descriptor ring would end 16 bytes past the window. */
	assert_int_equal(setup_at(QS, BUS + MEM_SIZE - 48, BUS + DRV_OFF, BUS + DEV_OFF, 0),
			 -VIO_EFAULT);
	assert_int_equal(setup_at(QS, BUS, BUS + MEM_SIZE, BUS + DEV_OFF, 0), -VIO_EFAULT);
	assert_int_equal(setup_at(QS, BUS, BUS + DRV_OFF, BUS + MEM_SIZE - 2, 0), -VIO_EFAULT);
	/* The device writes used descriptors and its event area: read-only will not do. */
	assert_int_equal(setup_at(QS, RO_BUS, BUS + DRV_OFF, BUS + DEV_OFF, 0), -VIO_EFAULT);
	assert_int_equal(setup_at(QS, BUS, BUS + DRV_OFF, RO_BUS, 0), -VIO_EFAULT);
	assert_false(F.vq.ready);
	/* The driver area is only read. */
	assert_int_equal(setup_at(QS, BUS, RO_BUS, BUS + DEV_OFF, 0), 0);
}

static void setup_refuses_misaligned(void **state)
{
	(void) state;
	assert_int_equal(setup_at(QS, BUS + 8, BUS + DRV_OFF, BUS + DEV_OFF, 0), -VIO_EINVAL);
	assert_false(F.vq.ready);
	assert_int_equal(setup_at(QS, BUS, BUS + DRV_OFF + 2, BUS + DEV_OFF, 0), -VIO_EINVAL);
	assert_int_equal(setup_at(QS, BUS, BUS + DRV_OFF, BUS + DEV_OFF + 2, 0), -VIO_EINVAL);
	assert_false(F.vq.ready);
}

static void setup_refuses_device_area_overlap(void **state)
{
	(void) state;
	assert_int_equal(setup_at(QS, BUS, BUS + DRV_OFF, BUS + 16 * (QS - 1), 0), -VIO_EINVAL);
	assert_false(F.vq.ready);
	assert_int_equal(setup_at(QS, BUS, BUS + DRV_OFF, BUS + DRV_OFF, 0), -VIO_EINVAL);
	/* Adjacent is fine. */
	assert_int_equal(setup_at(QS, BUS, BUS + DRV_OFF, BUS + 16 * QS, 0), 0);
}

static void reset_forgets_queue(void **state)
{
	(void) state;
	setup(0);
	offer((struct seg[]){rd(0, 16)}, 1, QS);
	assert_int_equal(pop(), -VIO_ERANGE);
	vio_vq_reset(&F.vq);
	assert_false(F.vq.ready);
	assert_int_equal(pop(), 0);
	assert_int_equal(vio_vq_get_base(&F.vq), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(empty_ring),
	    cmocka_unit_test(single_descriptor),
	    cmocka_unit_test(chain_with_next),
	    cmocka_unit_test(wrap_around_several_laps),
	    cmocka_unit_test(wrap_around_odd_size),
	    cmocka_unit_test(chain_as_long_as_queue),
	    cmocka_unit_test(chain_crossing_ring_end),
	    cmocka_unit_test(out_of_order_completion),
	    cmocka_unit_test(indirect_table),
	    cmocka_unit_test(set_base_and_get_base),
	    cmocka_unit_test(buffer_id_out_of_range),
	    cmocka_unit_test(chain_longer_than_queue),
	    cmocka_unit_test(indirect_without_feature),
	    cmocka_unit_test(indirect_with_next),
	    cmocka_unit_test(indirect_not_first),
	    cmocka_unit_test(indirect_nested),
	    cmocka_unit_test(indirect_zero_length),
	    cmocka_unit_test(indirect_bad_length),
	    cmocka_unit_test(indirect_table_outside_window),
	    cmocka_unit_test(readable_after_writable),
	    cmocka_unit_test(buffer_outside_window),
	    cmocka_unit_test(buffer_straddles_window_end),
	    cmocka_unit_test(write_into_read_only_window),
	    cmocka_unit_test(too_many_in_flight),
	    cmocka_unit_test(total_length_overflow),
	    cmocka_unit_test(flush_driver_flags),
	    cmocka_unit_test(flush_without_push_is_silent),
	    cmocka_unit_test(flush_after_two_full_laps),
	    cmocka_unit_test(flush_event_idx_same_wrap),
	    cmocka_unit_test(flush_event_idx_passed_before_wrap),
	    cmocka_unit_test(flush_event_idx_next_wrap),
	    cmocka_unit_test(flush_event_idx_batch),
	    cmocka_unit_test(notify_disable_enable),
	    cmocka_unit_test(setup_refuses_bad_size),
	    cmocka_unit_test(setup_refuses_ring_outside_window),
	    cmocka_unit_test(setup_refuses_misaligned),
	    cmocka_unit_test(setup_refuses_device_area_overlap),
	    cmocka_unit_test(reset_forgets_queue),
	};

	return cmocka_run_group_tests_name("packed", tests, NULL, NULL);
}
