/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Driver-side split queue: round trips against the device-side queue over one
 * window, descriptor accounting, indirect tables, notification suppression in
 * both directions, and a hostile device forging used entries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vioport/byteorder.h"
#include "vioport/drvq.h"
#include "vioport/errno.h"
#include "vioport/virtq.h"

#define BUS	  0x200000ull
#define QS	  8
#define TABLE_OFF 0x1000u
#define DATA_OFF  0x2000u
#define MEM_SIZE  0x4000u
#define BIG_QS	  256u

struct fx {
	_Alignas(4096) uint8_t mem[MEM_SIZE];
	struct vio_window w[1];
	struct vio_winmap m;
	struct vio_drvq q;
	struct vio_drvq_slot slots[BIG_QS];
	struct vio_vq vq;
	struct vio_iov iov[8];
	struct vio_req req;
	int tok[QS];
};

static struct fx F;

static struct vio_buf buf(unsigned off, uint32_t len)
{
	return (struct vio_buf){BUS + DATA_OFF + off, len};
}

/* Lays out a queue of QS entries at BUS and sets the device side up over the same rings. */
static void setup(bool event_idx, uint64_t features)
{
	uint64_t desc, avail, used;

	memset(&F, 0, sizeof(F));
	vio_winmap_init(&F.m, F.w, 1);
	assert_int_equal(vio_winmap_add(&F.m, BUS, MEM_SIZE, F.mem, VIO_ACCESS_RW), 0);
	assert_true(vio_drvq_ring_bytes(QS) <= TABLE_OFF);
	assert_int_equal(
	    vio_drvq_init(&F.q, QS, F.mem, BUS, F.slots, event_idx, &desc, &avail, &used), 0);
	if (event_idx)
		features |= VIO_BIT(VIO_F_EVENT_IDX);
	assert_int_equal(vio_vq_setup_split(&F.vq, &F.m, QS, desc, avail, used, features), 0);
	F.req.iov = F.iov;
	F.req.cap = 8;
}

/* Adds a request with one readable and one writable buffer of len bytes each. */
static int add1(int *token, uint32_t len)
{
	struct vio_buf o = buf(0, len), i = buf(0x100, len);

	return vio_drvq_add(&F.q, &o, 1, &i, 1, token);
}

/* The device pops one request and returns it with len bytes written; returns its id. */
static uint16_t serve(uint32_t len)
{
	assert_int_equal(vio_vq_pop(&F.vq, &F.req), 1);
	vio_vq_push(&F.vq, F.req.id, F.req.ndesc, len);
	return F.req.id;
}

static int get(void **token, uint32_t *len)
{
	return vio_drvq_get_used(&F.q, token, len);
}

static uint16_t *used_event(void)
{
	return &F.q.avail[2 + QS];
}

static uint16_t *avail_event(void)
{
	return (uint16_t *) &F.q.used_ring[QS];
}

/* ---- basics ---- */

static void init_refuses_bad_sizes(void **state)
{
	static const uint16_t bad[] = {0, 3, 6, 100, 255, 32767, 65535};
	uint64_t d = 0, a = 0, u = 0;

	(void) state;
	memset(F.mem, 0x5a, sizeof(F.mem));
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
		    vio_drvq_init(&F.q, bad[i], F.mem, BUS, F.slots, false, &d, &a, &u),
		    -VIO_EINVAL);
		assert_int_equal(d + a + u, 0);
	}
	/* A refused size leaves the ring memory alone. */
	assert_int_equal(F.mem[0], 0x5a);
	for (uint16_t s = 1; s <= BIG_QS; s = (uint16_t) (s * 2)) {
		assert_true(vio_drvq_ring_bytes(s) <= MEM_SIZE);
		assert_int_equal(vio_drvq_init(&F.q, s, F.mem, BUS, F.slots, false, &d, &a, &u), 0);
		assert_int_equal(vio_drvq_num_free(&F.q), s);
		assert_int_equal(d, BUS);
		assert_int_equal(a, BUS + VIO_SPLIT_DESC_SIZE(s));
		assert_int_equal(u % 4, 0);
		assert_true(u >= a + VIO_SPLIT_AVAIL_SIZE(s));
	}
}

static void round_trip(void **state)
{
	struct vio_buf out[2] = {buf(0, 16), buf(16, 4)}, in = buf(0x100, 32);
	void *token = NULL;
	uint32_t len = 0;
	int head;

	(void) state;
	setup(false, 0);
	head = vio_drvq_add(&F.q, out, 2, &in, 1, &F.tok[0]);
	assert_true(head >= 0 && head < QS);
	assert_int_equal(vio_drvq_num_free(&F.q), QS - 3);
	/* Not visible to the device before the kick decision publishes it. */
	assert_false(vio_vq_has_avail(&F.vq));
	assert_true(vio_drvq_kick_prepare(&F.q));
	assert_false(vio_drvq_kick_prepare(&F.q)); /* nothing new */

	assert_int_equal(vio_vq_pop(&F.vq, &F.req), 1);
	assert_int_equal(F.req.id, head);
	assert_int_equal(F.req.nread, 2);
	assert_int_equal(F.req.nwrite, 1);
	assert_int_equal(F.req.read_len, 20);
	assert_int_equal(F.req.write_len, 32);
	assert_ptr_equal(F.iov[0].base, F.mem + DATA_OFF);
	assert_ptr_equal(F.iov[1].base, F.mem + DATA_OFF + 16);
	assert_ptr_equal(F.iov[2].base, F.mem + DATA_OFF + 0x100);

	assert_int_equal(get(&token, &len), 0); /* pushed but not yet published */
	vio_vq_push(&F.vq, F.req.id, F.req.ndesc, 7);
	assert_true(vio_vq_flush(&F.vq));
	assert_int_equal(get(&token, &len), 1);
	assert_ptr_equal(token, &F.tok[0]);
	assert_int_equal(len, 7);
	assert_int_equal(vio_drvq_num_free(&F.q), QS);
	assert_int_equal(get(&token, &len), 0);
}

static void out_of_order_round_trip(void **state)
{
	void *token = NULL;
	uint32_t len = 0;
	uint16_t id[3];

	(void) state;
	setup(false, 0);
	for (unsigned i = 0; i < 3; i++)
		assert_true(add1(&F.tok[i], 8) >= 0);
	vio_drvq_kick_prepare(&F.q);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(vio_vq_pop(&F.vq, &F.req), 1);
		id[i] = F.req.id;
	}
	vio_vq_push(&F.vq, id[2], 1, 2);
	vio_vq_push(&F.vq, id[0], 1, 0);
	vio_vq_push(&F.vq, id[1], 1, 1);
	vio_vq_flush(&F.vq);
	for (unsigned want = 2, k = 0; k < 3; k++, want = (want + 1) % 3) {
		assert_int_equal(get(&token, &len), 1);
		assert_ptr_equal(token, &F.tok[want]);
		assert_int_equal(len, want);
	}
	assert_int_equal(vio_drvq_num_free(&F.q), QS);
}

static void add_refuses_bad_arguments(void **state)
{
	struct vio_buf b = buf(0, 8);

	(void) state;
	setup(false, 0);
	assert_int_equal(vio_drvq_add(&F.q, &b, 1, NULL, 0, NULL), -VIO_EINVAL);
	assert_int_equal(vio_drvq_add(&F.q, NULL, 0, NULL, 0, &F.tok[0]), -VIO_EINVAL);
	assert_int_equal(vio_drvq_num_free(&F.q), QS);
	assert_false(vio_drvq_kick_prepare(&F.q));
}

static void out_of_descriptors(void **state)
{
	struct vio_buf b[3] = {buf(0, 8), buf(8, 8), buf(16, 8)};
	void *token = NULL;
	uint32_t len = 0;

	(void) state;
	setup(false, 0);
	for (unsigned i = 0; i < QS / 2; i++)
		assert_true(add1(&F.tok[i], 8) >= 0);
	assert_int_equal(vio_drvq_num_free(&F.q), 0);
	assert_int_equal(add1(&F.tok[5], 8), -VIO_ENOSPC);
	assert_int_equal(vio_drvq_add(&F.q, b, 1, NULL, 0, &F.tok[5]), -VIO_ENOSPC);
	vio_drvq_kick_prepare(&F.q);

	/* One request back frees its two descriptors: two fit, three do not. */
	serve(8);
	vio_vq_flush(&F.vq);
	assert_int_equal(get(&token, &len), 1);
	assert_int_equal(vio_drvq_num_free(&F.q), 2);
	assert_int_equal(vio_drvq_add(&F.q, b, 3, NULL, 0, &F.tok[5]), -VIO_ENOSPC);
	assert_int_equal(vio_drvq_num_free(&F.q), 2);
	assert_true(vio_drvq_add(&F.q, b, 2, NULL, 0, &F.tok[5]) >= 0);
	assert_int_equal(vio_drvq_num_free(&F.q), 0);

	/* Everything drains and the free list is whole again. */
	vio_drvq_kick_prepare(&F.q);
	for (unsigned i = 0; i < QS / 2; i++)
		serve(0);
	vio_vq_flush(&F.vq);
	for (unsigned i = 0; i < QS / 2; i++)
		assert_int_equal(get(&token, &len), 1);
	assert_int_equal(vio_drvq_num_free(&F.q), QS);
	for (unsigned i = 0; i < QS; i++)
		assert_true(vio_drvq_add(&F.q, b, 1, NULL, 0, &F.tok[i]) >= 0);
}

static void indirect_add(void **state)
{
	struct vio_buf out[2] = {buf(0, 16), buf(16, 16)}, in[2] = {buf(0x100, 8), buf(0x108, 1)};
	struct vio_desc *table = (struct vio_desc *) (F.mem + TABLE_OFF);
	void *token = NULL;
	uint32_t len = 0;
	int head;

	(void) state;
	setup(false, VIO_BIT(VIO_F_INDIRECT_DESC));
	head = vio_drvq_add_indirect(&F.q, out, 2, in, 2, table, BUS + TABLE_OFF, &F.tok[1]);
	assert_true(head >= 0);
	assert_int_equal(vio_drvq_num_free(&F.q), QS - 1);
	assert_int_equal(vio_get_le16(&F.q.desc[head].flags), VIO_DESC_F_INDIRECT);
	assert_int_equal(vio_get_le32(&F.q.desc[head].len), 4 * sizeof(struct vio_desc));
	vio_drvq_kick_prepare(&F.q);

	assert_int_equal(vio_vq_pop(&F.vq, &F.req), 1);
	assert_int_equal(F.req.id, head);
	assert_int_equal(F.req.nread, 2);
	assert_int_equal(F.req.nwrite, 2);
	assert_int_equal(F.req.write_len, 9);
	assert_ptr_equal(F.iov[3].base, F.mem + DATA_OFF + 0x108);
	vio_vq_push(&F.vq, F.req.id, F.req.ndesc, 9);
	vio_vq_flush(&F.vq);
	assert_int_equal(get(&token, &len), 1);
	assert_ptr_equal(token, &F.tok[1]);
	assert_int_equal(len, 9);
	assert_int_equal(vio_drvq_num_free(&F.q), QS);
}

static void indirect_add_needs_a_descriptor(void **state)
{
	struct vio_buf b = buf(0, 8);
	struct vio_desc *table = (struct vio_desc *) (F.mem + TABLE_OFF);

	(void) state;
	setup(false, VIO_BIT(VIO_F_INDIRECT_DESC));
	for (unsigned i = 0; i < QS; i++)
		assert_true(vio_drvq_add(&F.q, &b, 1, NULL, 0, &F.tok[i]) >= 0);
	assert_int_equal(
	    vio_drvq_add_indirect(&F.q, &b, 1, NULL, 0, table, BUS + TABLE_OFF, &F.tok[0]),
	    -VIO_ENOSPC);
	assert_int_equal(vio_drvq_add_indirect(&F.q, &b, 1, NULL, 0, table, BUS + TABLE_OFF, NULL),
			 -VIO_EINVAL);
}

/* ---- notification suppression ---- */

static void kick_honours_no_notify(void **state)
{
	(void) state;
	setup(false, 0);
	assert_false(vio_drvq_kick_prepare(&F.q));
	assert_true(add1(&F.tok[0], 8) >= 0);
	assert_true(vio_drvq_kick_prepare(&F.q));
	vio_vq_notify_disable(&F.vq);
	assert_true(add1(&F.tok[1], 8) >= 0);
	assert_false(vio_drvq_kick_prepare(&F.q));
	/* Published anyway: the device finds it when it looks. */
	assert_true(vio_vq_notify_enable(&F.vq));
	assert_true(add1(&F.tok[2], 8) >= 0);
	assert_true(vio_drvq_kick_prepare(&F.q));
}

/* Adds a request of one readable descriptor, so a full queue holds QS of them. */
static void add_small(int *token)
{
	struct vio_buf b = buf(0, 8);

	assert_true(vio_drvq_add(&F.q, &b, 1, NULL, 0, token) >= 0);
}

static void kick_honours_avail_event(void **state)
{
	(void) state;
	setup(true, 0);
	add_small(&F.tok[0]);
	assert_true(vio_drvq_kick_prepare(&F.q)); /* avail_event 0 crossed: 0 -> 1 */
	add_small(&F.tok[1]);
	assert_false(vio_drvq_kick_prepare(&F.q)); /* the device has not caught up */

	/* The device took both and asks to hear about index 2 onwards. */
	serve(0);
	serve(0);
	assert_int_equal(vio_get_le16(avail_event()), 2);
	add_small(&F.tok[2]);
	assert_true(vio_drvq_kick_prepare(&F.q));

	/* An event further ahead: no kick until an add crosses it. */
	vio_put_le16(avail_event(), 4);
	add_small(&F.tok[3]);
	assert_false(vio_drvq_kick_prepare(&F.q)); /* 3 -> 4 */
	add_small(&F.tok[4]);
	assert_true(vio_drvq_kick_prepare(&F.q)); /* 4 -> 5 crosses 4 */

	/* A batch crossing the event kicks once for the lot. */
	vio_put_le16(avail_event(), 5);
	add_small(&F.tok[5]);
	add_small(&F.tok[6]);
	assert_true(vio_drvq_kick_prepare(&F.q)); /* 5 -> 7 */

	/* With event idx the NO_NOTIFY flag is not what decides. */
	vio_put_le16(&F.q.used[0], VIO_USED_F_NO_NOTIFY);
	vio_put_le16(avail_event(), 7);
	add_small(&F.tok[7]);
	assert_true(vio_drvq_kick_prepare(&F.q));
}

static void cb_disable_enable(void **state)
{
	void *token = NULL;
	uint32_t len = 0;

	(void) state;
	setup(false, 0);
	assert_true(add1(&F.tok[0], 8) >= 0);
	assert_true(add1(&F.tok[1], 8) >= 0);
	vio_drvq_kick_prepare(&F.q);
	assert_false(vio_drvq_cb_enable(&F.q)); /* nothing used yet */

	vio_drvq_cb_disable(&F.q);
	assert_int_equal(vio_get_le16(&F.q.avail[0]), VIO_AVAIL_F_NO_INTERRUPT);
	serve(8);
	assert_false(vio_vq_flush(&F.vq));
	/* Enabling again reports what came back meanwhile. */
	assert_true(vio_drvq_cb_enable(&F.q));
	assert_int_equal(vio_get_le16(&F.q.avail[0]), 0);
	assert_int_equal(get(&token, &len), 1);
	assert_false(vio_drvq_cb_enable(&F.q));
	serve(8);
	assert_true(vio_vq_flush(&F.vq));
}

static void cb_disable_enable_event_idx(void **state)
{
	void *token = NULL;
	uint32_t len = 0;

	(void) state;
	setup(true, 0);
	for (unsigned i = 0; i < 3; i++)
		assert_true(add1(&F.tok[i], 8) >= 0);
	vio_drvq_kick_prepare(&F.q);
	serve(8);
	assert_true(vio_vq_flush(&F.vq));
	assert_int_equal(get(&token, &len), 1);
	assert_int_equal(vio_get_le16(used_event()), 1); /* interrupt me for the next one */

	/* Disabled: consuming no longer moves used_event, so the device stays quiet. */
	vio_drvq_cb_disable(&F.q);
	assert_int_equal(vio_get_le16(&F.q.avail[0]), 0); /* flags are not used with event idx */
	serve(8);
	vio_vq_flush(&F.vq);
	assert_int_equal(get(&token, &len), 1);
	assert_int_equal(vio_get_le16(used_event()), 1);
	serve(8);
	assert_false(vio_vq_flush(&F.vq));

	assert_true(vio_drvq_cb_enable(&F.q));
	assert_int_equal(vio_get_le16(used_event()), 2);
	assert_int_equal(get(&token, &len), 1);
	assert_false(vio_drvq_cb_enable(&F.q));
	assert_int_equal(vio_get_le16(used_event()), 3);
}

/* ---- a hostile device ---- */

/* The device (forged here) writes one used entry and moves used.idx by step. */
static void forge_used(uint32_t id, uint32_t len, uint16_t step)
{
	uint16_t idx = vio_get_le16(&F.q.used[1]);

	vio_put_le32(&F.q.used_ring[idx % QS].id, id);
	vio_put_le32(&F.q.used_ring[idx % QS].len, len);
	vio_put_le16(&F.q.used[1], (uint16_t) (idx + step));
}

/*
 * The forged entry is refused and the queue stays broken: the token is not
 * handed out, no descriptor is freed, nothing more can be added, and a valid
 * entry afterwards does not revive it.
 */
static void expect_broken(void)
{
	void *token = &F;
	uint32_t len = 77;
	uint16_t nfree = vio_drvq_num_free(&F.q);

	assert_int_equal(get(&token, &len), -VIO_EPROTO);
	assert_ptr_equal(token, &F);
	assert_int_equal(len, 77);
	assert_int_equal(get(&token, &len), -VIO_EPROTO);
	assert_int_equal(vio_drvq_num_free(&F.q), nfree);
	assert_int_equal(add1(&F.tok[7], 8), -VIO_ENOSPC);
	vio_put_le16(&F.q.used[1], F.q.last_used);
	forge_used(0, 0, 1);
	assert_int_equal(get(&token, &len), -VIO_EPROTO);
	assert_ptr_equal(token, &F);
}

/* Two requests in flight: heads 0 (descriptors 0, 1) and 2 (2, 3), 8 writable bytes each. */
static void two_in_flight(void)
{
	setup(false, 0);
	assert_int_equal(add1(&F.tok[0], 8), 0);
	assert_int_equal(add1(&F.tok[1], 8), 2);
	vio_drvq_kick_prepare(&F.q);
}

static void used_id_out_of_range(void **state)
{
	(void) state;
	two_in_flight();
	forge_used(QS, 0, 1);
	expect_broken();
}

static void used_id_huge(void **state)
{
	(void) state;
	two_in_flight();
	/* The id is 32 bits on the wire: a 16-bit truncation would land on head 0. */
	forge_used(0x10000u, 0, 1);
	expect_broken();
}

static void used_id_not_in_flight(void **state)
{
	(void) state;
	two_in_flight();
	forge_used(1, 0, 1); /* inside head 0's chain, not a head */
	expect_broken();
}

static void used_id_returned_twice(void **state)
{
	void *token = NULL;
	uint32_t len = 0;

	(void) state;
	two_in_flight();
	forge_used(2, 8, 1);
	assert_int_equal(get(&token, &len), 1);
	assert_ptr_equal(token, &F.tok[1]);
	forge_used(2, 8, 1);
	expect_broken();
}

static void used_len_too_long(void **state)
{
	void *token = NULL;
	uint32_t len = 0;

	(void) state;
	two_in_flight();
	forge_used(0, 8, 1); /* exactly the writable size is fine */
	assert_int_equal(get(&token, &len), 1);
	assert_int_equal(len, 8);
	forge_used(2, 9, 1);
	expect_broken();
}

static void used_len_without_writable(void **state)
{
	struct vio_buf b = buf(0, 8);

	(void) state;
	setup(false, 0);
	assert_int_equal(vio_drvq_add(&F.q, &b, 1, NULL, 0, &F.tok[0]), 0);
	forge_used(0, 1, 1);
	expect_broken();
}

static void used_idx_too_far(void **state)
{
	(void) state;
	two_in_flight();
	forge_used(0, 0, QS + 1);
	expect_broken();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(init_refuses_bad_sizes),
	    cmocka_unit_test(round_trip),
	    cmocka_unit_test(out_of_order_round_trip),
	    cmocka_unit_test(add_refuses_bad_arguments),
	    cmocka_unit_test(out_of_descriptors),
	    cmocka_unit_test(indirect_add),
	    cmocka_unit_test(indirect_add_needs_a_descriptor),
	    cmocka_unit_test(kick_honours_no_notify),
	    cmocka_unit_test(kick_honours_avail_event),
	    cmocka_unit_test(cb_disable_enable),
	    cmocka_unit_test(cb_disable_enable_event_idx),
	    cmocka_unit_test(used_id_out_of_range),
	    cmocka_unit_test(used_id_huge),
	    cmocka_unit_test(used_id_not_in_flight),
	    cmocka_unit_test(used_id_returned_twice),
	    cmocka_unit_test(used_len_too_long),
	    cmocka_unit_test(used_len_without_writable),
	    cmocka_unit_test(used_idx_too_far),
	};

	return cmocka_run_group_tests_name("drvq", tests, NULL, NULL);
}
