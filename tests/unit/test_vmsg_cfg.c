/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vio_vmsg_config_read (src/vmsg/cfg.c), the config read that vioport-drv
 * and the Linux module share, against a scripted GET_CONFIG round trip:
 * chunking, the generation check and its bounded restarts, and device
 * answers that lie (another offset, a longer or shorter length, missing
 * data), transport errors, and ranges that wrap 32 bits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vioport/errno.h"
#include "vioport/vmsg.h"

#define CFG_SIZE 200u

/* The scripted device: config bytes, a generation, and what to get wrong. */
static struct {
	uint8_t cfg[CFG_SIZE];
	uint8_t data[256]; /* the answer's data */
	uint32_t generation;
	unsigned calls;
	unsigned bump_every; /* the generation moves after every n-th answer (0: never) */
	unsigned bump_at;    /* and after this answer (1-based; 0: never) */
	unsigned fail_at;    /* this call (1-based) returns fail_rc */
	int fail_rc;
	unsigned lie_at; /* this call's answer lies as lie says */
	enum { LIE_OFFSET, LIE_LONGER, LIE_SHORTER, LIE_NO_DATA } lie;
	uint32_t max_chunk_seen;
} S;

static int get(void *ctx, const struct vio_vmsg_config *c, struct vio_vmsg_config *r)
{
	assert_ptr_equal(ctx, &S);
	S.calls++;
	if (c->length > S.max_chunk_seen)
		S.max_chunk_seen = c->length;
	assert_int_equal(c->generation, 0);
	if (S.calls == S.fail_at)
		return S.fail_rc;
	assert_true((uint64_t) c->offset + c->length <= CFG_SIZE);
	memcpy(S.data, S.cfg + c->offset, c->length);
	*r = (struct vio_vmsg_config){
	    .generation = S.generation, .offset = c->offset, .length = c->length, .data = S.data};
	if (S.calls == S.lie_at) {
		if (S.lie == LIE_OFFSET)
			r->offset += 1;
		else if (S.lie == LIE_LONGER)
			r->length += 1;
		else if (S.lie == LIE_SHORTER)
			r->length -= 1;
		else
			r->data = NULL;
	}
	if ((S.bump_every != 0 && S.calls % S.bump_every == 0) || S.calls == S.bump_at)
		S.generation++;
	return 0;
}

static const struct vio_vmsg_config_rt rt = {.get = get, .ctx = &S};

static int setup(void **state)
{
	(void) state;
	memset(&S, 0, sizeof(S));
	for (unsigned i = 0; i < CFG_SIZE; i++)
		S.cfg[i] = (uint8_t) (i * 7 + 3);
	S.generation = 5;
	return 0;
}

static void chunks(void **state)
{
	uint8_t buf[CFG_SIZE];
	uint32_t gen = 0, restarts = 0;

	(void) state;
	assert_int_equal(vio_vmsg_config_read(&rt, 44, 10, buf, 150, 8, &gen, &restarts), 0);
	assert_memory_equal(buf, S.cfg + 10, 150);
	assert_int_equal(S.calls, 4); /* 44 + 44 + 44 + 18 */
	assert_int_equal(S.max_chunk_seen, 44);
	assert_int_equal(gen, 5);
	assert_int_equal(restarts, 0);
	/* One chunk, the whole space. */
	S.calls = 0;
	assert_int_equal(vio_vmsg_config_read(&rt, 4096, 0, buf, CFG_SIZE, 8, &gen, NULL), 0);
	assert_memory_equal(buf, S.cfg, CFG_SIZE);
	assert_int_equal(S.calls, 1);
	/* Nothing to read: no request, the generation untouched. */
	S.calls = 0;
	gen = 77;
	assert_int_equal(vio_vmsg_config_read(&rt, 44, 0, NULL, 0, 8, &gen, NULL), 0);
	assert_int_equal(S.calls, 0);
	assert_int_equal(gen, 77);
}

static void one_chunk_has_one_generation(void **state)
{
	uint8_t buf[CFG_SIZE];
	uint32_t gen = 0, restarts = 0;

	(void) state;
	/* Every answer moves the generation: a read of one chunk still has nothing to compare. */
	S.bump_every = 1;
	assert_int_equal(vio_vmsg_config_read(&rt, 100, 0, buf, 100, 8, &gen, &restarts), 0);
	assert_int_equal(restarts, 0);
	assert_int_equal(S.calls, 1);
	assert_int_equal(gen, 5);
	assert_memory_equal(buf, S.cfg, 100);
}

static void generation_keeps_moving(void **state)
{
	uint8_t buf[CFG_SIZE];
	uint32_t gen = 33, restarts = 0;

	(void) state;
	S.bump_every = 1;
	memset(buf, 0xEE, sizeof(buf));
	assert_int_equal(vio_vmsg_config_read(&rt, 100, 0, buf, CFG_SIZE, 3, &gen, &restarts),
			 -VIO_EAGAIN);
	/* The first read and three restarts, two answers each; then it gives up. */
	assert_int_equal(restarts, 4);
	assert_int_equal(S.calls, 8);
	assert_int_equal(gen, 33);
	for (unsigned i = 0; i < CFG_SIZE; i++)
		assert_int_equal(buf[i], 0);
	/* No retries at all: one pass. */
	S.calls = 0;
	restarts = 0;
	assert_int_equal(vio_vmsg_config_read(&rt, 100, 0, buf, CFG_SIZE, 0, &gen, &restarts),
			 -VIO_EAGAIN);
	assert_int_equal(restarts, 1);
	assert_int_equal(S.calls, 2);
}

static void generation_settles(void **state)
{
	uint8_t buf[CFG_SIZE];
	uint32_t gen = 0, restarts = 0;

	(void) state;
	/* Moves once, after the first answer: the first pass sees 5 then 6, the second 6 and 6. */
	S.bump_at = 1;
	assert_int_equal(vio_vmsg_config_read(&rt, 100, 0, buf, CFG_SIZE, 8, &gen, &restarts), 0);
	assert_int_equal(restarts, 1);
	assert_int_equal(gen, 6);
	assert_memory_equal(buf, S.cfg, CFG_SIZE);
}

static void lies(void **state)
{
	static const int kinds[] = {LIE_OFFSET, LIE_LONGER, LIE_SHORTER, LIE_NO_DATA};
	uint8_t buf[CFG_SIZE];

	(void) state;
	for (unsigned k = 0; k < 4; k++) {
		for (unsigned at = 1; at <= 2; at++) {
			uint32_t gen = 9;

			setup(NULL);
			S.lie = kinds[k];
			S.lie_at = at;
			memset(buf, 0xEE, sizeof(buf));
			assert_int_equal(
			    vio_vmsg_config_read(&rt, 100, 0, buf, CFG_SIZE, 8, &gen, NULL),
			    -VIO_EPROTO);
			/* No retry after a lie, nothing of it kept. */
			assert_int_equal(S.calls, at);
			assert_int_equal(gen, 9);
			for (unsigned i = 0; i < CFG_SIZE; i++)
				assert_int_equal(buf[i], 0);
		}
	}
}

static void transport_error(void **state)
{
	uint8_t buf[CFG_SIZE];
	uint32_t gen = 9;

	(void) state;
	S.fail_at = 2;
	S.fail_rc = -VIO_EIO;
	memset(buf, 0xEE, sizeof(buf));
	assert_int_equal(vio_vmsg_config_read(&rt, 100, 0, buf, CFG_SIZE, 8, &gen, NULL), -VIO_EIO);
	assert_int_equal(S.calls, 2);
	assert_int_equal(gen, 9);
	assert_int_equal(buf[0], 0);
	assert_int_equal(buf[CFG_SIZE - 1], 0);
}

static void bad_arguments(void **state)
{
	uint8_t buf[16];
	uint32_t gen = 9;

	(void) state;
	memset(buf, 0xEE, sizeof(buf));
	/* A range past 4 GiB, and no room for data in a message. */
	assert_int_equal(vio_vmsg_config_read(&rt, 100, UINT32_MAX - 8, buf, 16, 8, &gen, NULL),
			 -VIO_EINVAL);
	assert_int_equal(buf[0], 0);
	assert_int_equal(vio_vmsg_config_read(&rt, 0, 0, buf, 16, 8, &gen, NULL), -VIO_EINVAL);
	assert_int_equal(S.calls, 0);
	assert_int_equal(gen, 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(chunks, setup),
	    cmocka_unit_test_setup(one_chunk_has_one_generation, setup),
	    cmocka_unit_test_setup(generation_keeps_moving, setup),
	    cmocka_unit_test_setup(generation_settles, setup),
	    cmocka_unit_test_setup(lies, setup),
	    cmocka_unit_test_setup(transport_error, setup),
	    cmocka_unit_test_setup(bad_arguments, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
