/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inflight recording of the device-side split ring (vhost-user INFLIGHT_SHMFD
 * layout): a device pops, completes out of order and "dies" (its queue state
 * is thrown away) at each point of the protocol; a successor set up on the
 * same rings and region must hand out again exactly the requests the driver
 * has not seen completed, oldest first, and nothing else.
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
#define DATA_OFF  0x8000u
#define MEM_SIZE  0x10000u
#define IFL_BYTES VIO_IFL_QUEUE_BYTES(QS)

struct fx {
	_Alignas(4096) uint8_t mem[MEM_SIZE];
	_Alignas(64) uint8_t region[IFL_BYTES + 64];
	struct vio_window w[1];
	struct vio_winmap m;
	struct vio_vq vq;
	struct vio_iov iov[4];
	struct vio_req req;
	uint16_t avail_idx;
	uint16_t used_seen; /* used entries the "driver" read */
	unsigned completed[QS];
};

static struct fx F;

static struct vio_ifl_queue *ifl(void)
{
	return (struct vio_ifl_queue *) F.region;
}

static uint16_t *avail(void)
{
	return (uint16_t *) (F.mem + AVAIL_OFF);
}

static uint16_t *used(void)
{
	return (uint16_t *) (F.mem + USED_OFF);
}

/* Descriptor head gets one readable buffer of 16 bytes that says head. */
static void offer(uint16_t head)
{
	struct vio_desc *d = (struct vio_desc *) (F.mem + DESC_OFF) + head;

	vio_put_le64(&d->addr, BUS + DATA_OFF + 16u * head);
	vio_put_le32(&d->len, 16);
	vio_put_le16(&d->flags, 0);
	memset(F.mem + DATA_OFF + 16u * head, head, 16);
	vio_put_le16(&avail()[2 + (F.avail_idx % QS)], head);
	F.avail_idx++;
	vio_put_le16(&avail()[1], F.avail_idx);
}

/* A device's queue, set up as a transport does it: rings, base, then the region. */
static int start_device(uint16_t base)
{
	memset(&F.vq, 0, sizeof(F.vq));
	assert_int_equal(
	    vio_vq_setup_split(&F.vq, &F.m, QS, BUS + DESC_OFF, BUS + AVAIL_OFF, BUS + USED_OFF, 0),
	    0);
	assert_int_equal(vio_vq_set_base(&F.vq, base), 0);
	return vio_vq_inflight_attach(&F.vq, F.region, IFL_BYTES);
}

static void setup_all(void)
{
	memset(&F, 0, sizeof(F));
	vio_winmap_init(&F.m, F.w, 1);
	assert_int_equal(vio_winmap_add(&F.m, BUS, MEM_SIZE, F.mem, VIO_ACCESS_RW), 0);
	F.req.iov = F.iov;
	F.req.cap = 4;
	assert_int_equal(start_device(0), 0);
}

/* Pops one request and checks it is head's, buffer and all. */
static void pop_expect(uint16_t head)
{
	assert_int_equal(vio_vq_pop(&F.vq, &F.req), 1);
	assert_int_equal(F.req.id, head);
	assert_int_equal(F.req.nread, 1);
	assert_int_equal(F.req.read_len, 16);
	assert_int_equal(F.req.iov[0].base[0], head);
}

/* The driver reads what the device published, counting completions per head. */
static void driver_reap(void)
{
	uint16_t idx = vio_le16(used()[1]);
	const struct vio_used_elem *ring = (const struct vio_used_elem *) (used() + 2);

	for (; F.used_seen != idx; F.used_seen++) {
		uint32_t id = vio_le32(ring[F.used_seen % QS].id);

		assert_true(id < QS);
		F.completed[id]++;
	}
}

static void complete(uint16_t head)
{
	vio_vq_push(&F.vq, head, 1, 0);
}

/* What QEMU does when the backend died: the next one starts at the used index. */
static int restart_after_crash(void)
{
	driver_reap();
	return start_device(vio_le16(used()[1]));
}

static void fresh_region_is_formatted(void **state)
{
	(void) state;
	setup_all();
	assert_int_equal(ifl()->version, VIO_IFL_VERSION);
	assert_int_equal(ifl()->desc_num, QS);
	offer(5);
	pop_expect(5);
	assert_int_equal(ifl()->desc[5].inflight, 1);
	complete(5);
	/* pushed, not published: still in flight for a successor */
	assert_int_equal(ifl()->desc[5].inflight, 1);
	assert_int_equal(ifl()->last_batch_head, 5);
	vio_vq_flush(&F.vq);
	assert_int_equal(ifl()->desc[5].inflight, 0);
	assert_int_equal(ifl()->used_idx, 1);
}

/* Completed out of order, then killed: the rest comes back oldest first, once each. */
static void out_of_order_then_crash(void **state)
{
	(void) state;
	setup_all();
	for (uint16_t h = 0; h < 5; h++)
		offer(h);
	for (uint16_t h = 0; h < 5; h++)
		pop_expect(h);
	complete(3);
	complete(1);
	vio_vq_flush(&F.vq);

	assert_int_equal(restart_after_crash(), 3);
	pop_expect(0);
	pop_expect(2);
	pop_expect(4);
	assert_int_equal(vio_vq_pop(&F.vq, &F.req), 0);
	offer(6);
	pop_expect(6);
	complete(4);
	complete(0);
	complete(6);
	complete(2);
	vio_vq_flush(&F.vq);
	driver_reap();
	for (uint16_t h = 0; h < 7; h++)
		assert_int_equal(F.completed[h], h == 5 ? 0 : 1);
	for (uint16_t h = 0; h < QS; h++)
		assert_int_equal(ifl()->desc[h].inflight, 0);
}

/* Killed between the used index store and the clearing of the batch's marks. */
static void crash_after_used_index(void **state)
{
	(void) state;
	setup_all();
	for (uint16_t h = 0; h < 3; h++)
		offer(h);
	for (uint16_t h = 0; h < 3; h++)
		pop_expect(h);
	complete(2);
	complete(1);
	/* what flush stores first, and then nothing more */
	vio_put_le16(&used()[1], 2);

	assert_int_equal(restart_after_crash(), 1);
	assert_int_equal(ifl()->used_idx, 2);
	pop_expect(0);
	assert_int_equal(vio_vq_pop(&F.vq, &F.req), 0);
	complete(0);
	vio_vq_flush(&F.vq);
	driver_reap();
	assert_int_equal(F.completed[0], 1);
	assert_int_equal(F.completed[1], 1);
	assert_int_equal(F.completed[2], 1);
}

/* Killed after pushing, before publishing: the driver saw nothing, all comes back. */
static void crash_before_publish(void **state)
{
	(void) state;
	setup_all();
	for (uint16_t h = 0; h < 3; h++)
		offer(h);
	for (uint16_t h = 0; h < 3; h++)
		pop_expect(h);
	complete(1);

	assert_int_equal(restart_after_crash(), 3);
	pop_expect(0);
	pop_expect(1);
	pop_expect(2);
	assert_int_equal(vio_vq_pop(&F.vq, &F.req), 0);
}

/* Killed inside a pop, before the mark: the request is taken from the ring again. */
static void crash_inside_pop(void **state)
{
	(void) state;
	setup_all();
	offer(4);
	offer(7);
	pop_expect(4);
	pop_expect(7);
	ifl()->desc[7].inflight = 0; /* its order number was stored, its mark not */

	assert_int_equal(restart_after_crash(), 1);
	pop_expect(4);
	pop_expect(7);
	assert_int_equal(vio_vq_pop(&F.vq, &F.req), 0);
	assert_int_equal(ifl()->desc[7].inflight, 1);
	assert_true(ifl()->desc[7].counter > ifl()->desc[4].counter);
}

/* Two successive crashes: order numbers keep growing across the successors. */
static void crash_twice(void **state)
{
	(void) state;
	setup_all();
	for (uint16_t h = 0; h < 4; h++)
		offer(h);
	for (uint16_t h = 0; h < 4; h++)
		pop_expect(h);
	complete(2);
	vio_vq_flush(&F.vq);
	assert_int_equal(restart_after_crash(), 3);
	pop_expect(0);
	offer(5);
	pop_expect(1);
	pop_expect(3);
	pop_expect(5);
	complete(3);
	vio_vq_flush(&F.vq);
	assert_int_equal(restart_after_crash(), 3);
	pop_expect(0);
	pop_expect(1);
	pop_expect(5);
	for (uint16_t h = 0; h < QS; h++)
		if (ifl()->desc[h].inflight)
			complete(h);
	vio_vq_flush(&F.vq);
	driver_reap();
	for (uint16_t h = 0; h < 6; h++)
		assert_int_equal(F.completed[h], h == 4 ? 0 : 1);
}

/* A driver reset: what it had in flight never comes back on its new rings. */
static void forget_after_reset(void **state)
{
	(void) state;
	setup_all();
	offer(2);
	pop_expect(2);
	vio_vq_inflight_forget(F.region, IFL_BYTES);
	assert_int_equal(start_device(vio_le16(used()[1])), 0);
	pop_expect(2); /* from the ring, as a new request */
	assert_int_equal(vio_vq_pop(&F.vq, &F.req), 0);
}

/* A clean stop and start at the base the device gave leaves nothing to resubmit. */
static void clean_restart(void **state)
{
	uint16_t base;

	(void) state;
	setup_all();
	offer(0);
	offer(1);
	pop_expect(0);
	pop_expect(1);
	complete(1);
	complete(0);
	vio_vq_flush(&F.vq);
	base = vio_vq_get_base(&F.vq);
	assert_int_equal(start_device(base), 0);
	assert_int_equal(vio_vq_get_base(&F.vq), base);
	assert_int_equal(vio_vq_pop(&F.vq, &F.req), 0);
}

/* Regions that cannot serve the queue are refused, and nothing is recorded. */
static void bad_regions(void **state)
{
	(void) state;
	setup_all();
	assert_int_equal(vio_vq_inflight_attach(&F.vq, F.region, VIO_IFL_SPLIT_BYTES(QS) - 1),
			 -VIO_EINVAL);
	assert_null(F.vq.ifl);
	assert_int_equal(vio_vq_inflight_attach(&F.vq, F.region + 4, IFL_BYTES), -VIO_EINVAL);
	assert_int_equal(vio_vq_inflight_attach(&F.vq, NULL, IFL_BYTES), -VIO_EINVAL);
	ifl()->version = 2;
	assert_int_equal(vio_vq_inflight_attach(&F.vq, F.region, IFL_BYTES), -VIO_EINVAL);
	ifl()->version = VIO_IFL_VERSION;
	ifl()->desc_num = QS / 2;
	assert_int_equal(vio_vq_inflight_attach(&F.vq, F.region, IFL_BYTES), -VIO_EINVAL);
	ifl()->desc_num = QS;
	offer(1);
	pop_expect(1);
	assert_int_equal(ifl()->desc[1].inflight, 0); /* not recorded */
}

/* ---- packed rings ---- */

#define PQS 8

static struct {
	uint16_t dpos, upos; /* driver: next slot to offer, next used slot to read */
	bool dwrap, uwrap;
	uint16_t ndesc[PQS]; /* per buffer id */
} D;

static struct vio_pdesc *pd(unsigned i)
{
	return (struct vio_pdesc *) (F.mem + DESC_OFF) + i;
}

static struct vio_ifl_pqueue *pifl(void)
{
	return (struct vio_ifl_pqueue *) F.region;
}

static void padvance(uint16_t *pos, bool *wrap, uint16_t n)
{
	*pos = (uint16_t) (*pos + n);
	if (*pos >= PQS) {
		*pos = (uint16_t) (*pos - PQS);
		*wrap = !*wrap;
	}
}

/* Offers buffer id as a chain of n readable 16-byte descriptors, each saying id * 16 + k. */
static void poffer(uint16_t id, uint16_t n)
{
	uint16_t head = D.dpos, head_flags = 0;

	for (uint16_t k = 0; k < n; k++) {
		struct vio_pdesc *d = pd(D.dpos);
		uint16_t fl = (uint16_t) ((k + 1 < n ? VIO_DESC_F_NEXT : 0) |
					  (D.dwrap ? VIO_DESC_F_AVAIL : VIO_DESC_F_USED));
		unsigned off = DATA_OFF + 16u * (id * 4u + k);

		memset(F.mem + off, id * 16 + k, 16);
		vio_put_le64(&d->addr, BUS + off);
		vio_put_le32(&d->len, 16);
		vio_put_le16(&d->id, id);
		if (k == 0)
			head_flags = fl;
		else
			vio_put_le16(&d->flags, fl);
		padvance(&D.dpos, &D.dwrap, 1);
	}
	vio_put_le16(&pd(head)->flags, head_flags); /* the head last, as a driver does */
	D.ndesc[id] = n;
}

static int start_packed(uint16_t base)
{
	memset(&F.vq, 0, sizeof(F.vq));
	assert_int_equal(vio_vq_setup_packed(&F.vq, &F.m, PQS, BUS + DESC_OFF, BUS + AVAIL_OFF,
					     BUS + USED_OFF, VIO_BIT(VIO_F_RING_PACKED)),
			 0);
	assert_int_equal(vio_vq_set_base(&F.vq, base), 0);
	return vio_vq_inflight_attach(&F.vq, F.region, IFL_BYTES);
}

static void setup_packed(void)
{
	memset(&F, 0, sizeof(F));
	memset(&D, 0, sizeof(D));
	D.dwrap = D.uwrap = true;
	vio_winmap_init(&F.m, F.w, 1);
	assert_int_equal(vio_winmap_add(&F.m, BUS, MEM_SIZE, F.mem, VIO_ACCESS_RW), 0);
	F.req.iov = F.iov;
	F.req.cap = 4;
	assert_int_equal(start_packed(0x8000), 0);
}

static void ppop_expect(uint16_t id)
{
	assert_int_equal(vio_vq_pop(&F.vq, &F.req), 1);
	assert_int_equal(F.req.id, id);
	assert_int_equal(F.req.ndesc, D.ndesc[id]);
	assert_int_equal(F.req.nread, D.ndesc[id]);
	for (uint16_t k = 0; k < D.ndesc[id]; k++)
		assert_int_equal(F.req.iov[k].base[0], id * 16 + k);
}

/* The driver collects used descriptors, counting completions per buffer id. */
static void preap(void)
{
	for (;;) {
		uint16_t fl = vio_le16(pd(D.upos)->flags), id;

		if (((fl & VIO_DESC_F_AVAIL) != 0) != D.uwrap ||
		    ((fl & VIO_DESC_F_USED) != 0) != D.uwrap)
			return;
		id = vio_le16(pd(D.upos)->id);
		assert_true(id < PQS);
		F.completed[id]++;
		padvance(&D.upos, &D.uwrap, D.ndesc[id]);
	}
}

/* The base QEMU gives after a crash is not to be trusted for packed rings: any will do. */
static int prestart(void)
{
	preap();
	return start_packed(0x8000);
}

/* Completed out of order, then killed: the used entries overwrote the chains' slots. */
static void packed_out_of_order_then_crash(void **state)
{
	(void) state;
	setup_packed();
	assert_int_equal(pifl()->version, VIO_IFL_VERSION);
	poffer(0, 2);
	poffer(1, 1);
	poffer(2, 1);
	poffer(3, 2);
	ppop_expect(0);
	ppop_expect(1);
	ppop_expect(2);
	ppop_expect(3);
	vio_vq_push(&F.vq, 2, 1, 0); /* written over buffer 0's first descriptor */
	vio_vq_push(&F.vq, 1, 1, 0);

	assert_int_equal(prestart(), 2);
	ppop_expect(0); /* from the region's copies */
	ppop_expect(3);
	assert_int_equal(vio_vq_pop(&F.vq, &F.req), 0);
	poffer(4, 1);
	ppop_expect(4);
	vio_vq_push(&F.vq, 3, 2, 0);
	vio_vq_push(&F.vq, 4, 1, 0);
	vio_vq_push(&F.vq, 0, 2, 0);
	preap();
	for (uint16_t id = 0; id < 5; id++)
		assert_int_equal(F.completed[id], 1);
	for (uint16_t i = 0; i < PQS; i++)
		assert_int_equal(pifl()->desc[i].inflight, 0);
}

/*
 * Killed inside a push, after the used descriptor went out but before the
 * step was committed: the successor finishes the step. Killed before it went
 * out: the successor undoes it, and the request comes back.
 */
static void packed_crash_inside_push(void **state)
{
	static _Alignas(64) uint8_t before[IFL_BYTES], ring_before[16 * PQS];
	struct vio_ifl_pqueue *b = (struct vio_ifl_pqueue *) before;

	(void) state;
	for (int published = 0; published < 2; published++) {
		setup_packed();
		poffer(0, 1);
		poffer(1, 2);
		ppop_expect(0);
		ppop_expect(1);
		memcpy(before, F.region, IFL_BYTES);
		memcpy(ring_before, F.mem + DESC_OFF, sizeof(ring_before));
		vio_vq_push(&F.vq, 1, 2, 0);
		/* the state the kill left: the step not committed, the mark still set */
		pifl()->old_free_head = b->old_free_head;
		pifl()->old_used_idx = b->old_used_idx;
		pifl()->old_used_wrap_counter = b->old_used_wrap_counter;
		pifl()->desc[F.vq.ifl_slot[1]].inflight = 1;
		if (!published)
			memcpy(F.mem + DESC_OFF, ring_before, sizeof(ring_before));

		assert_int_equal(prestart(), published ? 1 : 2);
		ppop_expect(0);
		if (!published)
			ppop_expect(1);
		assert_int_equal(vio_vq_pop(&F.vq, &F.req), 0);
		vio_vq_push(&F.vq, 0, 1, 0);
		if (!published)
			vio_vq_push(&F.vq, 1, 2, 0);
		preap();
		assert_int_equal(F.completed[0], 1);
		assert_int_equal(F.completed[1], 1);
	}
}

/* Killed in the middle of recording a chain: the half-recorded chain is dropped, taken again. */
static void packed_crash_inside_pop(void **state)
{
	(void) state;
	setup_packed();
	poffer(0, 1);
	poffer(1, 2);
	ppop_expect(0);
	ppop_expect(1);
	/* as if killed before the chain's end: old_free_head not moved past it */
	pifl()->old_free_head = F.vq.ifl_slot[1];
	assert_int_equal(prestart(), 1);
	ppop_expect(0);
	ppop_expect(1); /* from the ring, as new */
	assert_int_equal(vio_vq_pop(&F.vq, &F.req), 0);
}

/* Packed shares that cannot serve the ring are refused, broken chains included. */
static void packed_bad_region(void **state)
{
	(void) state;
	setup_packed();
	assert_int_equal(vio_vq_inflight_attach(&F.vq, F.region, VIO_IFL_PACKED_BYTES(PQS) - 1),
			 -VIO_EINVAL);
	pifl()->used_idx = PQS;
	assert_int_equal(vio_vq_inflight_attach(&F.vq, F.region, IFL_BYTES), -VIO_EINVAL);
	pifl()->used_idx = 0;
	pifl()->desc_num = PQS - 1;
	assert_int_equal(vio_vq_inflight_attach(&F.vq, F.region, IFL_BYTES), -VIO_EINVAL);
	pifl()->desc_num = PQS;
	assert_int_equal(vio_vq_inflight_attach(&F.vq, F.region, IFL_BYTES), 0);

	poffer(0, 2);
	poffer(1, 1);
	ppop_expect(0);
	ppop_expect(1);
	/*
	 * Buffer 0's chain claims more entries than it links: where the ring
	 * stands cannot be known, so the region is refused and the queue runs
	 * unrecorded from the base it was given (the ring's start here).
	 */
	pifl()->desc[F.vq.ifl_slot[0]].num = 3;
	pifl()->desc[F.vq.ifl_slot[0]].last = 7;
	assert_int_equal(prestart(), -VIO_EINVAL);
	assert_null(F.vq.pifl);
	ppop_expect(0);
	ppop_expect(1);
	assert_int_equal(vio_vq_pop(&F.vq, &F.req), 0);
}

/* A region written by someone else: marks past the ring, a bad batch list, stay bounded. */
static void hostile_region(void **state)
{
	(void) state;
	setup_all();
	ifl()->desc_num = QS;
	ifl()->desc[QS - 1].inflight = 7; /* not 1: not a head */
	ifl()->last_batch_head = 3;
	ifl()->desc[3].next = 3; /* a loop */
	ifl()->desc[3].inflight = 1;
	ifl()->used_idx = 0x8000; /* far from the ring's 0 */
	assert_int_equal(start_device(0), 0);
	assert_int_equal(ifl()->desc[QS - 1].inflight, 0);
	assert_int_equal(ifl()->desc[3].inflight, 0);
	assert_int_equal(ifl()->used_idx, 0);
}

/* Detached, the queue runs on without recording. */
static void detach_stops_recording(void **state)
{
	(void) state;
	setup_all();
	vio_vq_inflight_detach(&F.vq);
	offer(3);
	pop_expect(3);
	assert_int_equal(ifl()->desc[3].inflight, 0);
	complete(3);
	vio_vq_flush(&F.vq);
	assert_int_equal(ifl()->used_idx, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(fresh_region_is_formatted),
	    cmocka_unit_test(out_of_order_then_crash),
	    cmocka_unit_test(crash_after_used_index),
	    cmocka_unit_test(crash_before_publish),
	    cmocka_unit_test(crash_inside_pop),
	    cmocka_unit_test(crash_twice),
	    cmocka_unit_test(forget_after_reset),
	    cmocka_unit_test(clean_restart),
	    cmocka_unit_test(bad_regions),
	    cmocka_unit_test(packed_out_of_order_then_crash),
	    cmocka_unit_test(packed_crash_inside_push),
	    cmocka_unit_test(packed_crash_inside_pop),
	    cmocka_unit_test(packed_bad_region),
	    cmocka_unit_test(hostile_region),
	    cmocka_unit_test(detach_stops_recording),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
