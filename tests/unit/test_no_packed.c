/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The core built with VIO_CONFIG_NO_PACKED (meson compiles its own copy of
 * src/core with the option for this test): a device never offers
 * VIRTIO_F_RING_PACKED, a packed ring is refused at set-up, and split rings
 * are unaffected (test_virtq_split runs against the same build as well).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vioport/device.h"
#include "vioport/errno.h"
#include "vioport/virtio.h"
#include "vioport/virtq.h"
#include "vioport/window.h"

#ifndef VIO_CONFIG_NO_PACKED
#error "test_no_packed is built with -DVIO_CONFIG_NO_PACKED"
#endif

static const struct vio_device_ops no_ops;

static void packed_never_offered(void **state)
{
	struct vio_device dev;
	struct vio_queue q[1];
	uint64_t want = VIO_BIT(VIO_F_RING_PACKED) | VIO_BIT(VIO_F_INDIRECT_DESC);

	(void) state;
	memset(&dev, 0, sizeof(dev));
	memset(q, 0, sizeof(q));
	vio_device_init(&dev, &no_ops, NULL, VIO_ID_RNG, want, q, 1, 16, NULL, 0);
	assert_false(dev.host_features & VIO_BIT(VIO_F_RING_PACKED));
	assert_true(dev.host_features & VIO_BIT(VIO_F_INDIRECT_DESC));
	assert_true(dev.host_features & VIO_BIT(VIO_F_VERSION_1));
}

static void packed_setup_refused_split_works(void **state)
{
	static uint8_t arena[8192] __attribute__((aligned(16)));
	struct vio_window w[1];
	struct vio_winmap m;
	struct vio_vq vq;

	(void) state;
	vio_winmap_init(&m, w, 1);
	assert_int_equal(vio_winmap_add(&m, 0x10000, sizeof(arena), arena, VIO_ACCESS_RW), 0);
	assert_int_equal(vio_vq_setup_packed(&vq, &m, 16, 0x10000, 0x11000, 0x11100, 0),
			 -VIO_ENOTSUP);
	assert_false(vq.ready);
	assert_int_equal(vio_vq_setup_split(&vq, &m, 16, 0x10000, 0x11000, 0x11100, 0), 0);
	assert_true(vq.ready);
	assert_false(vio_vq_has_avail(&vq));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(packed_never_offered),
	    cmocka_unit_test(packed_setup_refused_split_works),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
