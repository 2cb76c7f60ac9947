/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport's daemon serving virtio-rng (`vioport rng`), driven through the
 * frontend: entropy in buffers of every size, many in flight, a chain of
 * several buffers, a hostile read-only buffer, reconnection, and a clean exit.
 * The daemon is $VIOPORT_BIN; without it every case skips, saying so.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "itest.h"
#include "vioport/vhost_user_frontend.h"
#include "vioport/virtio.h"

#define WAIT_MS 5000

static struct {
	char dir[IT_PATH];
	struct it_proc proc;
	const char *skip;
} T;

static struct vio_vu_fe fe;

#define BEGIN() IT_SKIP_IF(T.skip)

#define OK(expr)                                                                                   \
	do {                                                                                       \
		int r_ = (expr);                                                                   \
		if (r_ != 0)                                                                       \
			fail_msg("%s: %d (%s)", #expr, r_, vio_vu_fe_error(&fe));                  \
	} while (0)

static int group_setup(void **state)
{
	const char *b = it_vioport_bin();
	static char bin[IT_PATH];
	char *argv[] = {bin, "rng", "--socket-path", T.proc.sock, NULL};

	(void) state;
	if (b == NULL) {
		T.skip =
		    "no vioport daemon at $VIOPORT_BIN (build apps/vioport first): vioport rng "
		    "cases skipped";
		return 0;
	}
	snprintf(bin, sizeof(bin), "%s", b);
	if (it_tmpdir(T.dir, "rng") < 0 || it_path(T.proc.sock, T.dir, "rng.sock") < 0 ||
	    it_path(T.proc.log, T.dir, "vioport.log") < 0)
		return -1;
	if (it_start(&T.proc, argv, 10000) < 0)
		T.skip = "the vioport daemon did not start: vioport rng cases skipped";
	return 0;
}

static int group_teardown(void **state)
{
	(void) state;
	it_finish(&T.proc, T.dir);
	return 0;
}

static int teardown(void **state)
{
	(void) state;
	vio_vu_fe_close(&fe);
	return it_daemon_lives(&T.proc, &T.skip);
}

static void start(uint64_t features)
{
	struct vio_vu_fe_params p = {.features = features};
	int r = vio_vu_fe_start(&fe, T.proc.sock, &p);

	if (r != 0)
		fail_msg("start: %d (%s)", r, vio_vu_fe_error(&fe));
}

#define DEFAULT_FEATURES                                                                           \
	(VIO_BIT(VIO_F_VERSION_1) | VIO_BIT(VIO_F_EVENT_IDX) | VIO_BIT(VIO_F_INDIRECT_DESC))

/* Whether a buffer is all one byte value: random data of 64 bytes or more never is. */
static bool uniform(const uint8_t *p, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (p[i] != p[0])
			return false;
	return true;
}

static void rng_handshake(void **state)
{
	(void) state;
	BEGIN();
	start(DEFAULT_FEATURES);
	assert_true(vio_vu_fe_has(&fe, VIO_F_VERSION_1));
	/* No device features of its own: only transport bits may be offered. */
	assert_int_equal(fe.features_offered & 0xffffffull, 0);
	if (vio_vu_fe_has_protocol(&fe, VIO_VU_PF_MQ))
		assert_int_equal(fe.max_queues, 1);
	print_message("# rng offers features %#llx, protocol features %#llx\n",
		      (unsigned long long) fe.features_offered,
		      (unsigned long long) fe.protocol_offered);
}

static void rng_fill_sizes(void **state)
{
	static const uint32_t sizes[] = {1, 16, 64, 512, 4096, 65536};
	uint8_t *buf[6];
	uint64_t gpa[6];

	(void) state;
	BEGIN();
	start(DEFAULT_FEATURES);
	for (uintptr_t i = 0; i < 6; i++) {
		struct vio_buf b;

		buf[i] = vio_vu_fe_alloc(&fe, sizes[i], 64, &gpa[i]);
		assert_non_null(buf[i]);
		b = (struct vio_buf){gpa[i], sizes[i]};
		OK(vio_vu_fe_add(&fe, 0, NULL, 0, &b, 1, (void *) (i + 1)));
	}
	assert_true(vio_vu_fe_kick(&fe, 0) >= 0);
	for (int n = 0; n < 6; n++) {
		void *tok;
		uint32_t len;
		uintptr_t i;

		assert_int_equal(vio_vu_fe_wait_used(&fe, 0, &tok, &len, WAIT_MS), 1);
		i = (uintptr_t) tok - 1;
		assert_true(i < 6);
		/* Partial fills are allowed; empty ones would starve the driver. */
		assert_true(len >= 1 && len <= sizes[i]);
		if (len >= 64)
			assert_false(uniform(buf[i], len));
	}
}

static void rng_many_inflight(void **state)
{
	uint64_t gpa;
	uint8_t *base;
	unsigned n = 128;

	(void) state;
	BEGIN();
	start(DEFAULT_FEATURES);
	base = vio_vu_fe_alloc(&fe, n * 256ull, 64, &gpa);
	assert_non_null(base);
	for (uintptr_t i = 0; i < n; i++) {
		struct vio_buf b = {gpa + i * 256, 256};

		OK(vio_vu_fe_add(&fe, 0, NULL, 0, &b, 1, (void *) (i + 1)));
	}
	assert_true(vio_vu_fe_kick(&fe, 0) >= 0);
	for (unsigned k = 0; k < n; k++) {
		void *tok;
		uint32_t len;

		assert_int_equal(vio_vu_fe_wait_used(&fe, 0, &tok, &len, WAIT_MS), 1);
		assert_true(len >= 1 && len <= 256);
	}
	/* Two buffers never hold the same 256 bytes. */
	assert_memory_not_equal(base, base + 256, 256);
}

static void rng_chain(void **state)
{
	struct vio_buf in[3];
	uint64_t gpa;
	uint8_t *p;
	void *tok;
	uint32_t len;

	(void) state;
	BEGIN();
	start(DEFAULT_FEATURES & ~VIO_BIT(VIO_F_EVENT_IDX));
	p = vio_vu_fe_alloc(&fe, 3 * 128, 64, &gpa);
	assert_non_null(p);
	for (int i = 0; i < 3; i++)
		in[i] = (struct vio_buf){gpa + 128u * (unsigned) i, 128};
	OK(vio_vu_fe_add(&fe, 0, NULL, 0, in, 3, p));
	assert_true(vio_vu_fe_kick(&fe, 0) >= 0);
	assert_int_equal(vio_vu_fe_wait_used(&fe, 0, &tok, &len, WAIT_MS), 1);
	assert_ptr_equal(tok, p);
	assert_true(len >= 1 && len <= 384);
}

static void rng_readable_buffer(void **state)
{
	struct vio_buf out;
	uint64_t gpa;
	uint8_t *p, copy[256];
	void *tok;
	uint32_t len = 0;
	int r;

	(void) state;
	BEGIN();
	start(DEFAULT_FEATURES);
	p = vio_vu_fe_alloc(&fe, 256, 64, &gpa);
	assert_non_null(p);
	memset(p, 0x5a, 256);
	memcpy(copy, p, sizeof(copy));
	/* A device-readable buffer is not the device's to write. */
	out = (struct vio_buf){gpa, 256};
	OK(vio_vu_fe_add(&fe, 0, &out, 1, NULL, 0, p));
	assert_true(vio_vu_fe_kick(&fe, 0) >= 0);
	r = vio_vu_fe_wait_used(&fe, 0, &tok, &len, 1000);
	print_message("# readable-only buffer: %s, used length %u\n",
		      r == 1 ? "returned" : "not returned", len);
	if (r == 1)
		assert_int_equal(len, 0);
	assert_memory_equal(p, copy, sizeof(copy));
	vio_vu_fe_close(&fe);
	/* Whatever it decided, the daemon serves the next driver. */
	start(DEFAULT_FEATURES);
}

static void rng_reconnect(void **state)
{
	struct vio_buf b;
	uint64_t gpa;
	void *tok;
	uint32_t len;

	(void) state;
	BEGIN();
	for (int round = 0; round < 3; round++) {
		start(DEFAULT_FEATURES);
		assert_non_null(vio_vu_fe_alloc(&fe, 64, 64, &gpa));
		b = (struct vio_buf){gpa, 64};
		OK(vio_vu_fe_add(&fe, 0, NULL, 0, &b, 1, &fe));
		assert_true(vio_vu_fe_kick(&fe, 0) >= 0);
		assert_int_equal(vio_vu_fe_wait_used(&fe, 0, &tok, &len, WAIT_MS), 1);
		if (round == 1)
			OK(vio_vu_fe_stop(&fe));
		vio_vu_fe_close(&fe);
	}
}

static void rng_clean_exit(void **state)
{
	(void) state;
	BEGIN();
	start(DEFAULT_FEATURES);
	it_expect_clean_stop(&T.proc, &T.skip);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(rng_handshake, teardown),
	    cmocka_unit_test_teardown(rng_fill_sizes, teardown),
	    cmocka_unit_test_teardown(rng_many_inflight, teardown),
	    cmocka_unit_test_teardown(rng_chain, teardown),
	    cmocka_unit_test_teardown(rng_readable_buffer, teardown),
	    cmocka_unit_test_teardown(rng_reconnect, teardown),
	    cmocka_unit_test_teardown(rng_clean_exit, teardown),
	};

	return cmocka_run_group_tests_name("vhost-user-rng: vioport daemon", tests, group_setup,
					   group_teardown);
}
