/* SPDX-License-Identifier: BSD-3-Clause */
/* Address window table: adding, overlap refusal, translation bounds and access. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vioport/errno.h"
#include "vioport/window.h"

static uint8_t mem_a[4096], mem_b[4096];

static void make_map(struct vio_winmap *m, struct vio_window *w, uint32_t cap)
{
	vio_winmap_init(m, w, cap);
	assert_int_equal(vio_winmap_add(m, 0x1000, sizeof(mem_a), mem_a, VIO_ACCESS_RW), 0);
	assert_int_equal(vio_winmap_add(m, 0x2000, sizeof(mem_b), mem_b, VIO_ACCESS_READ), 0);
}

static void add_rejects_bad_ranges(void **state)
{
	struct vio_window w[4];
	struct vio_winmap m;

	(void) state;
	make_map(&m, w, 4);
	assert_int_equal(vio_winmap_add(&m, 0x9000, 0, mem_a, VIO_ACCESS_RW), -VIO_EINVAL);
	assert_int_equal(vio_winmap_add(&m, UINT64_MAX - 10, 100, mem_a, VIO_ACCESS_RW),
			 -VIO_EINVAL);
	assert_int_equal(vio_winmap_add(&m, 0x9000, 16, mem_a, 0), -VIO_EINVAL);
	assert_int_equal(vio_winmap_add(&m, 0x9000, 16, mem_a, 8), -VIO_EINVAL);
	assert_int_equal(vio_winmap_add(&m, 0x9000, 16, NULL, VIO_ACCESS_RW), -VIO_EINVAL);
}

static void add_rejects_overlap(void **state)
{
	struct vio_window w[4];
	struct vio_winmap m;

	(void) state;
	make_map(&m, w, 4);
	assert_int_equal(vio_winmap_add(&m, 0x0800, 0x801, mem_a, VIO_ACCESS_RW), -VIO_EBUSY);
	assert_int_equal(vio_winmap_add(&m, 0x2fff, 2, mem_a, VIO_ACCESS_RW), -VIO_EBUSY);
	assert_int_equal(vio_winmap_add(&m, 0x0800, 0x800, mem_a, VIO_ACCESS_RW), 0);
	assert_int_equal(m.count, 3);
}

static void add_full_table(void **state)
{
	struct vio_window w[2];
	struct vio_winmap m;

	(void) state;
	make_map(&m, w, 2);
	assert_int_equal(vio_winmap_add(&m, 0x8000, 16, mem_a, VIO_ACCESS_RW), -VIO_ENOSPC);
}

static void xlate_inside(void **state)
{
	struct vio_window w[4];
	struct vio_winmap m;
	uint64_t c = 0;

	(void) state;
	make_map(&m, w, 4);
	assert_ptr_equal(vio_winmap_xlate(&m, 0x1010, 32, VIO_ACCESS_WRITE, &c), mem_a + 0x10);
	assert_int_equal(c, 32);
	assert_ptr_equal(vio_winmap_xlate_whole(&m, 0x2000, 4096, VIO_ACCESS_READ), mem_b);
}

static void xlate_returns_contiguous_part(void **state)
{
	struct vio_window w[4];
	struct vio_winmap m;
	uint64_t c = 0;

	(void) state;
	make_map(&m, w, 4);
	/* Crosses from window a into window b: two segments. */
	assert_ptr_equal(vio_winmap_xlate(&m, 0x1ff0, 32, VIO_ACCESS_READ, &c), mem_a + 0xff0);
	assert_int_equal(c, 16);
	assert_ptr_equal(vio_winmap_xlate(&m, 0x2000, 16, VIO_ACCESS_READ, &c), mem_b);
	assert_null(vio_winmap_xlate_whole(&m, 0x1ff0, 32, VIO_ACCESS_READ));
}

static void xlate_refuses_outside(void **state)
{
	struct vio_window w[4];
	struct vio_winmap m;
	uint64_t c = 0;

	(void) state;
	make_map(&m, w, 4);
	assert_null(vio_winmap_xlate(&m, 0x0fff, 1, VIO_ACCESS_READ, &c));
	assert_null(vio_winmap_xlate(&m, 0x3000, 1, VIO_ACCESS_READ, &c));
	assert_null(vio_winmap_xlate(&m, 0x1000, 0, VIO_ACCESS_READ, &c));
	assert_null(vio_winmap_xlate_whole(&m, 0x2ff0, 17, VIO_ACCESS_READ));
	assert_null(vio_winmap_xlate_whole(&m, UINT64_MAX, 2, VIO_ACCESS_READ));
}

static void xlate_checks_access(void **state)
{
	struct vio_window w[4];
	struct vio_winmap m;
	uint64_t c = 0;

	(void) state;
	make_map(&m, w, 4);
	assert_null(vio_winmap_xlate(&m, 0x2000, 4, VIO_ACCESS_WRITE, &c));
	assert_null(vio_winmap_xlate_whole(&m, 0x2000, 4, VIO_ACCESS_RW));
	assert_non_null(vio_winmap_xlate(&m, 0x2000, 4, VIO_ACCESS_READ, &c));
}

static void remove_and_clear(void **state)
{
	struct vio_window w[4];
	struct vio_winmap m;
	uint64_t c = 0;

	(void) state;
	make_map(&m, w, 4);
	assert_int_equal(vio_winmap_remove(&m, 0x1000, 100), -VIO_ENOENT);
	assert_int_equal(vio_winmap_remove(&m, 0x1000, sizeof(mem_a)), 0);
	assert_null(vio_winmap_xlate(&m, 0x1000, 1, VIO_ACCESS_READ, &c));
	assert_non_null(vio_winmap_xlate(&m, 0x2000, 1, VIO_ACCESS_READ, &c));
	vio_winmap_clear(&m);
	assert_null(vio_winmap_xlate(&m, 0x2000, 1, VIO_ACCESS_READ, &c));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(add_rejects_bad_ranges),
	    cmocka_unit_test(add_rejects_overlap),
	    cmocka_unit_test(add_full_table),
	    cmocka_unit_test(xlate_inside),
	    cmocka_unit_test(xlate_returns_contiguous_part),
	    cmocka_unit_test(xlate_refuses_outside),
	    cmocka_unit_test(xlate_checks_access),
	    cmocka_unit_test(remove_and_clear),
	};

	return cmocka_run_group_tests_name("window", tests, NULL, NULL);
}
