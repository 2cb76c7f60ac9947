/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Linux module's ring bookkeeping (linux/vmsg_ring.c), compiled in user
 * space through tests/unit/kshim/vmsg_kshim.h: which heads are in flight
 * (made available, used in any order, reused), failing them (used entries
 * of length 0, writable bytes 0xff, read-only bytes untouched, indirect
 * tables followed one level), and a hostile device side's rings (indices
 * out of range, a used index that jumps, descriptor loops, buffers outside
 * the area, nested indirect tables).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "linux/vmsg_ring.c"

#define NUM	  8u
#define WIN	  65536u
#define AREA	  4096u /* the area's offset; the rings sit before it */
#define DESC_OFF  0u
#define AVAIL_OFF 512u
#define USED_OFF  1024u

static _Alignas(64) u8 win[WIN];
static s16 counts[NUM];
static struct vmsg_ring ring;
static const struct vmsg_area area = {.win = win, .off = AREA, .size = WIN - AREA};

static int setup(void **state)
{
	(void) state;
	memset(win, 0, sizeof(win));
	memset(counts, 0, sizeof(counts));
	ring = (struct vmsg_ring){.desc = win + DESC_OFF,
				  .avail = win + AVAIL_OFF,
				  .used = win + USED_OFF,
				  .num = NUM,
				  .count = counts};
	return 0;
}

static void put16(u32 off, u16 v)
{
	memcpy(win + off, &v, 2);
}

static void put32(u32 off, u32 v)
{
	memcpy(win + off, &v, 4);
}

static u16 get16(u32 off)
{
	u16 v;

	memcpy(&v, win + off, 2);
	return v;
}

static u32 get32(u32 off)
{
	u32 v;

	memcpy(&v, win + off, 4);
	return v;
}

/* Descriptor i of the table at table_off. */
static void desc(u32 table_off, u32 i, u64 addr, u32 len, u16 flags, u16 next)
{
	u8 *d = win + table_off + 16u * i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

/* The driver makes head available; the device puts head on the used ring. */
static void make_avail(u16 head)
{
	u16 idx = get16(AVAIL_OFF + 2);

	put16(AVAIL_OFF + 4 + 2u * (idx % NUM), head);
	put16(AVAIL_OFF + 2, (u16) (idx + 1));
}

static void make_used(u32 head)
{
	u16 idx = get16(USED_OFF + 2);

	put32(USED_OFF + 4 + 8u * (idx % NUM), head);
	put32(USED_OFF + 8 + 8u * (idx % NUM), 1);
	put16(USED_OFF + 2, (u16) (idx + 1));
}

static void test_inflight_in_any_order(void **state)
{
	(void) state;
	make_avail(3);
	make_avail(5);
	make_avail(1);
	vmsg_ring_scan(&ring);
	assert_true(vmsg_ring_inflight(&ring, 3));
	assert_true(vmsg_ring_inflight(&ring, 5));
	assert_true(vmsg_ring_inflight(&ring, 1));
	assert_false(vmsg_ring_inflight(&ring, 0));
	/* Completed out of order; 3 is reused before the next scan. */
	make_used(5);
	make_used(3);
	make_avail(3);
	vmsg_ring_scan(&ring);
	assert_false(vmsg_ring_inflight(&ring, 5));
	assert_true(vmsg_ring_inflight(&ring, 3));
	assert_true(vmsg_ring_inflight(&ring, 1));
	/* Used before its avail entry was seen: the counts still meet. */
	make_used(1);
	vmsg_ring_scan(&ring);
	assert_false(vmsg_ring_inflight(&ring, 1));
	make_avail(1);
	make_used(1);
	vmsg_ring_scan(&ring);
	assert_false(vmsg_ring_inflight(&ring, 1));
	assert_false(vmsg_ring_inflight(&ring, NUM + 100));
}

static void test_ring_wraps(void **state)
{
	(void) state;
	/* 16-bit indices wrap; many rounds of add and complete leave nothing in flight. */
	for (u32 i = 0; i < 70000u; i++) {
		make_avail((u16) (i % NUM));
		make_used(i % NUM);
		if (i % 5 == 0)
			vmsg_ring_scan(&ring);
	}
	make_avail(6);
	vmsg_ring_scan(&ring);
	for (u32 h = 0; h < NUM; h++)
		assert_int_equal(vmsg_ring_inflight(&ring, h), h == 6);
}

static void test_fail_inflight(void **state)
{
	(void) state;
	/* Head 2: a request header the device reads, data and a status byte it writes. */
	desc(DESC_OFF, 2, AREA + 0, 16, VMSG_DESC_F_NEXT, 4);
	desc(DESC_OFF, 4, AREA + 64, 512, VMSG_DESC_F_NEXT | VMSG_DESC_F_WRITE, 7);
	desc(DESC_OFF, 7, AREA + 640, 1, VMSG_DESC_F_WRITE, 0);
	/* Head 0: an indirect table of two descriptors, the second one writable. */
	desc(DESC_OFF, 0, AREA + 1024, 32, VMSG_DESC_F_INDIRECT, 0);
	desc(AREA + 1024, 0, AREA + 2048, 8, VMSG_DESC_F_NEXT, 1);
	desc(AREA + 1024, 1, AREA + 2112, 4, VMSG_DESC_F_WRITE, 0);
	memset(win + AREA, 0x11, 16);
	memset(win + AREA + 2048, 0x22, 8);
	make_avail(2);
	make_avail(0);
	make_avail(5);
	make_used(5);
	vmsg_ring_scan(&ring);

	assert_int_equal(vmsg_ring_fail_inflight(&area, &ring), 2);
	/* Two used entries after the device's one, length 0, in head order. */
	assert_int_equal(get16(USED_OFF + 2), 3);
	assert_int_equal(get32(USED_OFF + 4 + 8), 0);
	assert_int_equal(get32(USED_OFF + 8 + 8), 0);
	assert_int_equal(get32(USED_OFF + 4 + 16), 2);
	assert_int_equal(get32(USED_OFF + 8 + 16), 0);
	/* Writable bytes 0xff: the status byte reads as an error; read-only ones untouched. */
	assert_int_equal(win[AREA + 640], 0xff);
	assert_int_equal(win[AREA + 64], 0xff);
	assert_int_equal(win[AREA + 64 + 511], 0xff);
	assert_int_equal(win[AREA + 64 + 512], 0);
	assert_int_equal(win[AREA + 15], 0x11);
	assert_int_equal(win[AREA + 2112 + 3], 0xff);
	assert_int_equal(win[AREA + 2112 + 4], 0);
	assert_int_equal(win[AREA + 2048 + 7], 0x22);
	/* Counted back down: nothing more to fail. */
	vmsg_ring_scan(&ring);
	assert_int_equal(vmsg_ring_fail_inflight(&area, &ring), 0);
	assert_int_equal(get16(USED_OFF + 2), 3);
}

static void test_hostile_rings(void **state)
{
	(void) state;
	/* Out-of-range heads in both rings are not counted. */
	make_avail(NUM + 3);
	make_used(0xffffffffu);
	vmsg_ring_scan(&ring);
	for (u32 h = 0; h < NUM; h++)
		assert_false(vmsg_ring_inflight(&ring, h));
	/*
	 * A used index that jumps by thousands counts one ring's worth at most
	 * (entries naming head 0 here, which bottoms out at -1), and a head it
	 * does not name stays in flight.
	 */
	make_avail(1);
	vmsg_ring_scan(&ring);
	put16(USED_OFF + 2, (u16) (get16(USED_OFF + 2) + 5000));
	vmsg_ring_scan(&ring);
	assert_true(vmsg_ring_inflight(&ring, 1));
	assert_int_equal(counts[0], -1);

	/* A descriptor loop, a buffer past the area, one before it, a nested indirect table. */
	setup(NULL);
	desc(DESC_OFF, 1, AREA + 0, 8, VMSG_DESC_F_NEXT | VMSG_DESC_F_WRITE, 2);
	desc(DESC_OFF, 2, AREA + 8, 8, VMSG_DESC_F_NEXT | VMSG_DESC_F_WRITE, 1);
	desc(DESC_OFF, 3, WIN - 4, 8, VMSG_DESC_F_WRITE, 0);
	desc(DESC_OFF, 4, AVAIL_OFF + 64, 16, VMSG_DESC_F_WRITE, 0);
	desc(DESC_OFF, 5, AREA + 256, 16, VMSG_DESC_F_INDIRECT, 0);
	desc(AREA + 256, 0, AREA + 512, 16, VMSG_DESC_F_INDIRECT, 0);
	desc(DESC_OFF, 6, UINT64_MAX - 2, 8, VMSG_DESC_F_WRITE, 0);
	for (u16 h = 1; h <= 6; h++)
		make_avail(h);
	vmsg_ring_scan(&ring);
	assert_int_equal(vmsg_ring_fail_inflight(&area, &ring), 6);
	assert_int_equal(win[AREA + 7], 0xff);
	assert_int_equal(win[AREA + 15], 0xff);
	assert_int_equal(win[AREA + 16], 0);
	assert_int_equal(win[WIN - 1], 0);	  /* past the area: not written */
	assert_int_equal(win[AVAIL_OFF + 64], 0); /* before the area: not written */
	assert_int_equal(win[AREA + 512], 0);	  /* an indirect table's own indirect entry */
	assert_int_equal(get16(USED_OFF + 2), 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_inflight_in_any_order, setup),
	    cmocka_unit_test_setup(test_ring_wraps, setup),
	    cmocka_unit_test_setup(test_fail_inflight, setup),
	    cmocka_unit_test_setup(test_hostile_rings, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
