/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * getrandom provider for virtio-rng: fills through the real device and the
 * loopback transport, the per-call cap, and direct calls of the provider.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h> /* after the headers it needs */

#include "vioport/linux_rng.h"
#include "vioport/loopback.h"
#include "vioport/rng.h"

#define ARENA_SIZE (1u << 20)
#define BUS_BASE   0x10000ull
#define QSIZE	   16u
#define UNTOUCHED  0xeeu

static struct {
	_Alignas(16) uint8_t arena[ARENA_SIZE];
	struct vio_host_rng hr;
	struct vio_rng rng;
	struct vio_queue queue;
	struct vio_loopback lb;
	struct vio_drvq dq;
	struct vio_drvq_slot dslots[QSIZE];
	int token;
} F;

static int fixture(void **state)
{
	(void) state;
	memset(&F, 0, sizeof(F));
	vio_host_rng_init(&F.hr);
	assert_int_equal(vio_rng_init(&F.rng, &vio_host_rng_ops, &F.hr, &F.queue, QSIZE, 0), 0);
	assert_int_equal(vio_loopback_init(&F.lb, &F.rng.dev, F.arena, sizeof(F.arena), BUS_BASE),
			 0);
	assert_int_equal(vio_loopback_negotiate(&F.lb, ~0ull), 0);
	assert_int_equal(vio_loopback_queue(&F.lb, 0, QSIZE, &F.dq, F.dslots), 0);
	assert_int_equal(vio_loopback_driver_ok(&F.lb), 0);
	return 0;
}

static uint8_t *alloc(uint32_t len)
{
	uint8_t *p = vio_loopback_alloc(&F.lb, len, NULL);

	assert_non_null(p);
	memset(p, UNTOUCHED, len);
	return p;
}

/* Sends one request of nin writable buffers and returns the used length. */
static uint32_t roundtrip(uint8_t *const *bufs, const uint32_t *lens, unsigned nin)
{
	struct vio_buf in[4];
	void *token;
	uint32_t len = UINT32_MAX;

	for (unsigned i = 0; i < nin; i++) {
		in[i].addr = vio_loopback_bus(&F.lb, bufs[i]);
		in[i].len = lens[i];
	}
	assert_true(vio_drvq_add(&F.dq, NULL, 0, in, nin, &F.token) >= 0);
	vio_loopback_kick(&F.lb, 0);
	assert_int_equal(vio_drvq_get_used(&F.dq, &token, &len), 1);
	assert_ptr_equal(token, &F.token);
	return len;
}

/* Counts distinct byte values: random data of this size shows nearly all 256. */
static unsigned distinct(const uint8_t *p, uint32_t len)
{
	bool seen[256] = {false};
	unsigned n = 0;

	for (uint32_t i = 0; i < len; i++)
		if (!seen[p[i]]) {
			seen[p[i]] = true;
			n++;
		}
	return n;
}

static void fills_driver_buffers(void **state)
{
	uint8_t *a = alloc(4096), *b = alloc(4096);
	uint32_t la = 4096, lb = 4096;

	(void) state;
	assert_int_equal(roundtrip(&a, &la, 1), 4096);
	assert_int_equal(roundtrip(&b, &lb, 1), 4096);
	assert_true(distinct(a, 4096) > 200);
	assert_memory_not_equal(a, b, 4096);
	assert_int_equal(F.hr.bytes, 8192);
	assert_int_equal(F.rng.bytes, 8192);
	assert_int_equal(F.hr.last_err, 0);
}

static void several_segments(void **state)
{
	uint8_t *bufs[3] = {alloc(1), alloc(300), alloc(5000)};
	uint32_t lens[3] = {1, 300, 5000};

	(void) state;
	assert_int_equal(roundtrip(bufs, lens, 3), 5301);
	assert_true(distinct(bufs[2], 5000) > 200);
}

/* A huge buffer gets one call's cap; the driver asks again for more. */
static void fill_is_capped(void **state)
{
	uint32_t len = 3 * VIO_HOST_RNG_MAX_FILL;
	uint8_t *p = alloc(len);

	(void) state;
	assert_int_equal(roundtrip(&p, &len, 1), VIO_HOST_RNG_MAX_FILL);
	assert_int_equal(p[VIO_HOST_RNG_MAX_FILL], UNTOUCHED);
	assert_int_equal(p[len - 1], UNTOUCHED);
}

static void provider_direct(void **state)
{
	uint8_t b[64];

	(void) state;
	memset(b, UNTOUCHED, sizeof(b));
	assert_int_equal(vio_host_rng_ops.fill(&F.hr, b, 0), 0);
	assert_int_equal(b[0], UNTOUCHED);
	assert_int_equal(vio_host_rng_ops.fill(&F.hr, b, 1), 1);
	assert_int_equal(vio_host_rng_ops.fill(&F.hr, b, sizeof(b)), (int) sizeof(b));
	assert_int_equal(F.hr.bytes, 65);
	assert_int_equal(F.hr.starved, 0); /* the pool of a running system is ready */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(fills_driver_buffers, fixture),
	    cmocka_unit_test_setup(several_segments, fixture),
	    cmocka_unit_test_setup(fill_is_capped, fixture),
	    cmocka_unit_test_setup(provider_direct, fixture),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
