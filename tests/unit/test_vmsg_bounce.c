/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Linux module's bounce records (linux/vmsg_bounce.c), compiled in user
 * space through tests/unit/kshim/vmsg_kshim.h: granule arithmetic, record
 * lookup from a DMA address (granule boundaries, unaligned addresses, before
 * and past the area), map checks (taken records, ranges that leave the area,
 * the mapping limit, sizes past 32 bits and ones that wrap), unmap checks
 * (wrong sizes, double unmap), partial syncs at any offset of a mapping and
 * syncs that cross its end, and which way each direction copies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "linux/vmsg_bounce.c"

#define G     VMSG_POOL_GRANULE
#define AREA  4096u /* the area's offset in the window */
#define NGRAN 64u   /* granules in the area: 4 KiB */
#define LIMIT 1024u /* the largest mapping */

static struct vmsg_bounce rec[NGRAN];
static struct vmsg_bounces bs;

static int setup(void **state)
{
	(void) state;
	memset(rec, 0, sizeof(rec));
	bs = (struct vmsg_bounces){.rec = rec, .n = NGRAN, .off = AREA, .limit = LIMIT};
	return 0;
}

static void granules(void **state)
{
	(void) state;
	assert_int_equal(G, 64);
	assert_int_equal(vmsg_bounce_granules(0), 0);
	assert_int_equal(vmsg_bounce_granules(G - 1), 0);
	assert_int_equal(vmsg_bounce_granules(G), 1);
	assert_int_equal(vmsg_bounce_granules(4096 + G - 1), 64);
	/* An area too large for 32-bit record numbers is clamped, never wrapped. */
	assert_int_equal(vmsg_bounce_granules((u64) U32_MAX << VMSG_POOL_ORDER), U32_MAX);
	assert_int_equal(vmsg_bounce_granules(UINT64_MAX), U32_MAX);
	assert_int_equal(vmsg_bounce_addr(&bs, 0), AREA);
	assert_int_equal(vmsg_bounce_addr(&bs, 5), AREA + 5 * G);
	assert_int_equal(vmsg_bounce_addr(&bs, NGRAN - 1), AREA + (NGRAN - 1) * G);
}

static void lookup(void **state)
{
	(void) state;
	/* Granule boundaries: the first and last granules, each at its first byte. */
	assert_ptr_equal(vmsg_bounce_at(&bs, AREA), &rec[0]);
	assert_ptr_equal(vmsg_bounce_at(&bs, AREA + G), &rec[1]);
	assert_ptr_equal(vmsg_bounce_at(&bs, AREA + (NGRAN - 1) * G), &rec[NGRAN - 1]);
	/* Unaligned: inside a granule, one byte either side of a boundary. */
	assert_null(vmsg_bounce_at(&bs, AREA + 1));
	assert_null(vmsg_bounce_at(&bs, AREA + G - 1));
	assert_null(vmsg_bounce_at(&bs, AREA + G + 1));
	/* Before the area (the rings, the header) and at or past its end. */
	assert_null(vmsg_bounce_at(&bs, 0));
	assert_null(vmsg_bounce_at(&bs, AREA - G));
	assert_null(vmsg_bounce_at(&bs, AREA + NGRAN * G));
	assert_null(vmsg_bounce_at(&bs, AREA + NGRAN * G + G));
	/* Far past: an offset whose granule number would wrap 32 bits. */
	assert_null(vmsg_bounce_at(&bs, AREA + ((u64) 1 << (32 + VMSG_POOL_ORDER))));
	assert_null(vmsg_bounce_at(&bs, UINT64_MAX & ~(u64) (G - 1)));
}

static void map_checks(void **state)
{
	(void) state;
	assert_int_equal(vmsg_bounce_map(&bs, AREA + 2 * G, 0x1234, 100, DMA_TO_DEVICE), 0);
	assert_int_equal(rec[2].size, 100);
	assert_int_equal(rec[2].orig, 0x1234);
	assert_int_equal(rec[2].dir, DMA_TO_DEVICE);
	/* The same granule again: taken. */
	assert_int_equal(vmsg_bounce_map(&bs, AREA + 2 * G, 0x9999, 8, DMA_FROM_DEVICE), -EBUSY);
	assert_int_equal(rec[2].orig, 0x1234);
	/* Unaligned, before the area, past it. */
	assert_int_equal(vmsg_bounce_map(&bs, AREA + 3 * G + 8, 0, 8, DMA_TO_DEVICE), -EINVAL);
	assert_int_equal(vmsg_bounce_map(&bs, AREA - G, 0, 8, DMA_TO_DEVICE), -EINVAL);
	assert_int_equal(vmsg_bounce_map(&bs, AREA + NGRAN * G, 0, 8, DMA_TO_DEVICE), -EINVAL);
	/* A range that starts in the area and leaves it. */
	assert_int_equal(vmsg_bounce_map(&bs, AREA + (NGRAN - 1) * G, 0, G + 1, DMA_TO_DEVICE),
			 -EINVAL);
	assert_int_equal(vmsg_bounce_map(&bs, AREA + (NGRAN - 1) * G, 0, G, DMA_TO_DEVICE), 0);
	/* Empty, over the limit, past 32 bits, and a size that wraps the address. */
	assert_int_equal(vmsg_bounce_map(&bs, AREA, 0, 0, DMA_TO_DEVICE), -EINVAL);
	assert_int_equal(vmsg_bounce_map(&bs, AREA, 0, LIMIT + 1, DMA_TO_DEVICE), -EINVAL);
	assert_int_equal(vmsg_bounce_map(&bs, AREA, 0, LIMIT, DMA_TO_DEVICE), 0);
	bs.limit = 0; /* no limit but the area's */
	assert_int_equal(vmsg_bounce_map(&bs, AREA + 4 * G, 0, (u64) U32_MAX + 1, DMA_TO_DEVICE),
			 -EINVAL);
	assert_int_equal(vmsg_bounce_map(&bs, AREA + 4 * G, 0, UINT64_MAX, DMA_TO_DEVICE), -EINVAL);
	assert_int_equal(
	    vmsg_bounce_map(&bs, AREA + 4 * G, 0, UINT64_MAX - AREA - 4 * G + 1, DMA_TO_DEVICE),
	    -EINVAL);
	assert_int_equal(rec[4].size, 0);
	/* Without a limit, a mapping of many granules that stays in the area is fine. */
	assert_int_equal(vmsg_bounce_map(&bs, AREA + 20 * G, 0, 30 * G, DMA_TO_DEVICE), 0);
}

static void unmap_checks(void **state)
{
	struct vmsg_bounce *b;

	(void) state;
	assert_int_equal(vmsg_bounce_map(&bs, AREA + G, 0x5000, 200, DMA_FROM_DEVICE), 0);
	/* Another size, an address inside the mapping, a granule with no mapping. */
	assert_null(vmsg_bounce_unmap(&bs, AREA + G, 199));
	assert_null(vmsg_bounce_unmap(&bs, AREA + G, 201));
	assert_null(vmsg_bounce_unmap(&bs, AREA + G + 64, 136));
	assert_null(vmsg_bounce_unmap(&bs, AREA + G + 1, 200));
	assert_null(vmsg_bounce_unmap(&bs, AREA, 200));
	assert_null(vmsg_bounce_unmap(&bs, AREA + G, (u64) 200 + ((u64) 1 << 32)));
	b = vmsg_bounce_unmap(&bs, AREA + G, 200);
	assert_ptr_equal(b, &rec[1]);
	assert_int_equal(b->orig, 0x5000);
	vmsg_bounce_clear(b);
	/* Double unmap: the record is free now. */
	assert_null(vmsg_bounce_unmap(&bs, AREA + G, 200));
	/* And the granule can be mapped again. */
	assert_int_equal(vmsg_bounce_map(&bs, AREA + G, 0x6000, 64, DMA_TO_DEVICE), 0);
	assert_ptr_equal(vmsg_bounce_unmap(&bs, AREA + G, 64), &rec[1]);
}

static void sync_checks(void **state)
{
	u64 skip = 99;

	(void) state;
	/* A mapping of 300 bytes over granules 8 to 12, another at granule 13. */
	assert_int_equal(vmsg_bounce_map(&bs, AREA + 8 * G, 0x7000, 300, DMA_BIDIRECTIONAL), 0);
	assert_int_equal(vmsg_bounce_map(&bs, AREA + 13 * G, 0x8000, 64, DMA_TO_DEVICE), 0);
	/* Whole, and its start. */
	assert_ptr_equal(vmsg_bounce_sync(&bs, AREA + 8 * G, 300, &skip), &rec[8]);
	assert_int_equal(skip, 0);
	assert_ptr_equal(vmsg_bounce_sync(&bs, AREA + 8 * G, 1, &skip), &rec[8]);
	/* Partial, at offsets: inside the first granule, on a later boundary, the last byte. */
	assert_ptr_equal(vmsg_bounce_sync(&bs, AREA + 8 * G + 10, 20, &skip), &rec[8]);
	assert_int_equal(skip, 10);
	assert_ptr_equal(vmsg_bounce_sync(&bs, AREA + 10 * G, 100, &skip), &rec[8]);
	assert_int_equal(skip, 128);
	assert_ptr_equal(vmsg_bounce_sync(&bs, AREA + 8 * G + 299, 1, &skip), &rec[8]);
	assert_int_equal(skip, 299);
	/* Past its end: one byte too many, or starting in its last granule's slack. */
	skip = 99;
	assert_null(vmsg_bounce_sync(&bs, AREA + 8 * G, 301, &skip));
	assert_null(vmsg_bounce_sync(&bs, AREA + 8 * G + 200, 101, &skip));
	assert_null(vmsg_bounce_sync(&bs, AREA + 8 * G + 300, 1, &skip));
	assert_null(vmsg_bounce_sync(&bs, AREA + 12 * G + 63, 1, &skip));
	assert_int_equal(skip, 99);
	/* The next mapping is found from its own granules, never the one before. */
	assert_ptr_equal(vmsg_bounce_sync(&bs, AREA + 13 * G + 4, 60, &skip), &rec[13]);
	assert_int_equal(skip, 4);
	assert_null(vmsg_bounce_sync(&bs, AREA + 13 * G + 4, 61, &skip));
	/* Before any mapping, outside the area, empty, and sizes that wrap. */
	assert_null(vmsg_bounce_sync(&bs, AREA + 2 * G, 8, &skip));
	assert_null(vmsg_bounce_sync(&bs, AREA - 1, 2, &skip));
	assert_null(vmsg_bounce_sync(&bs, AREA + NGRAN * G, 1, &skip));
	assert_null(vmsg_bounce_sync(&bs, AREA + 8 * G, 0, &skip));
	assert_null(vmsg_bounce_sync(&bs, AREA + 8 * G + 10, UINT64_MAX, &skip));
	assert_null(vmsg_bounce_sync(&bs, AREA + 8 * G + 10, UINT64_MAX - 5, &skip));
	/* After an unmap the range is no mapping's any more. */
	vmsg_bounce_clear(vmsg_bounce_unmap(&bs, AREA + 8 * G, 300));
	assert_null(vmsg_bounce_sync(&bs, AREA + 8 * G + 10, 20, &skip));
	assert_null(vmsg_bounce_sync(&bs, AREA + 8 * G, 300, &skip));
}

/* The look back stops after a limit's worth of granules. */
static void sync_look_back_bounded(void **state)
{
	u64 skip;

	(void) state;
	/* A mapping far before dma whose stale size would claim it: never reached. */
	rec[0] = (struct vmsg_bounce){.orig = 1, .size = U32_MAX, .dir = DMA_BIDIRECTIONAL};
	assert_ptr_equal(vmsg_bounce_sync(&bs, AREA + 10, 8, &skip), &rec[0]);
	assert_null(vmsg_bounce_sync(&bs, AREA + (LIMIT / G + 1) * G, 8, &skip));
	assert_null(vmsg_bounce_sync(&bs, AREA + (NGRAN - 1) * G, 8, &skip));
	/* Without a limit, the whole area is looked at. */
	bs.limit = 0;
	assert_ptr_equal(vmsg_bounce_sync(&bs, AREA + (NGRAN - 1) * G, 8, &skip), &rec[0]);
	assert_int_equal(skip, (NGRAN - 1) * G);
}

static void directions(void **state)
{
	struct vmsg_bounce b = {.size = 1};

	(void) state;
	b.dir = DMA_TO_DEVICE;
	assert_true(vmsg_bounce_to_device(&b));
	assert_false(vmsg_bounce_from_device(&b));
	b.dir = DMA_FROM_DEVICE;
	assert_false(vmsg_bounce_to_device(&b));
	assert_true(vmsg_bounce_from_device(&b));
	b.dir = DMA_BIDIRECTIONAL;
	assert_true(vmsg_bounce_to_device(&b));
	assert_true(vmsg_bounce_from_device(&b));
	b.dir = DMA_NONE;
	assert_false(vmsg_bounce_to_device(&b));
	assert_false(vmsg_bounce_from_device(&b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(granules, setup),
	    cmocka_unit_test_setup(lookup, setup),
	    cmocka_unit_test_setup(map_checks, setup),
	    cmocka_unit_test_setup(unmap_checks, setup),
	    cmocka_unit_test_setup(sync_checks, setup),
	    cmocka_unit_test_setup(sync_look_back_bounded, setup),
	    cmocka_unit_test_setup(directions, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
