/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The freestanding virtio-msg device endpoint (src/vmsg/endpoint.c), driven
 * step by step from one thread: a window in a buffer here, the driver side
 * through vmsg_shm.h, an entropy device on the bus. It covers the attach to a
 * formatted window, serving bus pings with one ring per flush, a clean leave,
 * a driver that leaves and re-formats under the endpoint, a driver restart
 * (a new generation without leaving), a corrupt FIFO index, a refused header
 * and a device-to-driver FIFO the driver does not drain.
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
#include "vioport/rng.h"
#include "vioport/sim_entropy.h"
#include "vioport/vmsg.h"
#include "vioport/vmsg_endpoint.h"

#define WIN_SIZE   0x8000u
#define QSIZE	   8u
#define FULL_TRIES 3u
#define NEVENTS	   16u

static struct {
	_Alignas(64) uint8_t win[WIN_SIZE];
	struct vio_vmsg_ep ep;
	struct vio_vmsg_shm drv; /* the driver side of the window */
	struct vio_sim_entropy ent;
	struct vio_rng rng;
	struct vio_queue rng_queue;
	/* What the endpoint did through its ops and its doorbell. */
	int events[NEVENTS];
	int32_t args[NEVENTS];
	unsigned nevents;
	unsigned delays, quiesces, rings;
} T;

static void on_delay(void *ctx, uint32_t us)
{
	(void) ctx;
	(void) us;
	T.delays++;
}

static void on_event(void *ctx, int ev, int32_t arg)
{
	(void) ctx;
	if (T.nevents < NEVENTS) {
		T.events[T.nevents] = ev;
		T.args[T.nevents] = arg;
	}
	T.nevents++;
}

static void on_quiesce(void *ctx)
{
	(void) ctx;
	T.quiesces++;
}

static void on_ring(void *ctx)
{
	(void) ctx;
	T.rings++;
}

static const struct vio_vmsg_ep_ops ops = {
    .delay_us = on_delay,
    .event = on_event,
    .quiesce = on_quiesce,
};

static uint32_t word(uint32_t off)
{
	return vio_get_le32(T.win + off);
}

static int setup(void **state)
{
	struct vio_vmsg_ep_config c = {.base = T.win,
				       .size = WIN_SIZE,
				       .ops = &ops,
				       .bell = {on_ring, NULL},
				       .full_tries = FULL_TRIES,
				       .full_pause_us = 10};

	(void) state;
	memset(&T, 0, sizeof(T));
	/* An earlier device died serving this window: init marks it RESET. */
	vio_put_le32(T.win + VIO_VMSG_SHM_OFF_DEV_STATE, VIO_VMSG_SHM_STATE_READY);
	assert_int_equal(vio_vmsg_ep_init(&T.ep, &c), 0);
	assert_int_equal(word(VIO_VMSG_SHM_OFF_DEV_STATE), VIO_VMSG_SHM_STATE_RESET);
	vio_sim_entropy_init(&T.ent, 7);
	assert_int_equal(vio_rng_init(&T.rng, &vio_sim_entropy_ops, &T.ent, &T.rng_queue, QSIZE, 0),
			 0);
	assert_int_equal(vio_vmsg_ep_add(&T.ep, &T.rng.dev), 0);
	return 0;
}

static void format(uint32_t gen)
{
	assert_int_equal(vio_vmsg_shm_format(&T.drv, T.win, WIN_SIZE, 0, gen), 0);
}

static void ping(uint16_t token)
{
	struct vio_vmsg_hdr h = {
	    .type = VIO_VMSG_TYPE_BUS, .id = VIO_VMSG_BUS_PING, .token = token};
	uint8_t msg[VIO_VMSG_MAX_SIZE];
	int len = vio_vmsg_encode_u32(msg, sizeof(msg), &h, token);

	assert_true(len > 0);
	assert_int_equal(vio_vmsg_shm_send(&T.drv, msg, (uint32_t) len), 0);
}

/* The driver's next answer: its token, or -1 when there is none. */
static int answer(void)
{
	uint8_t msg[VIO_VMSG_SHM_SLOT_SIZE];
	struct vio_vmsg_hdr h;
	int r = vio_vmsg_shm_recv(&T.drv, msg, sizeof(msg));

	if (r <= 0)
		return -1;
	assert_int_equal(vio_vmsg_hdr_decode(&h, msg, (uint32_t) r, sizeof(msg)), 0);
	assert_int_equal(h.id, VIO_VMSG_BUS_PING);
	return h.token;
}

static int last_event(void)
{
	assert_true(T.nevents > 0 && T.nevents <= NEVENTS);
	return T.events[T.nevents - 1];
}

static void attach(uint32_t gen)
{
	format(gen);
	assert_int_equal(vio_vmsg_ep_poll(&T.ep), 1);
	assert_true(vio_vmsg_ep_attached(&T.ep));
	assert_int_equal(last_event(), VIO_VMSG_EP_ATTACHED);
	assert_int_equal(T.args[T.nevents - 1], (int32_t) gen);
	assert_int_equal(vio_vmsg_shm_peer_state(&T.drv), VIO_VMSG_SHM_STATE_READY);
	/* The device's first attach after a format is not a restart. */
	vio_vmsg_shm_peer_restarted(&T.drv);
}

static void test_attach_serve_leave(void **state)
{
	(void) state;
	/* Nothing formatted: nothing to do, not attached. */
	assert_int_equal(vio_vmsg_ep_poll(&T.ep), 0);
	assert_false(vio_vmsg_ep_attached(&T.ep));
	assert_int_equal(T.nevents, 0);

	attach(1);
	for (uint16_t i = 0; i < 3; i++)
		ping((uint16_t) (10 + i));
	assert_int_equal(vio_vmsg_ep_poll(&T.ep), 3);
	assert_int_equal(T.ep.stats.received, 3);
	/* Answers are queued at once but rung for once, by the flush. */
	assert_int_equal(T.rings, 0);
	vio_vmsg_ep_flush(&T.ep);
	vio_vmsg_ep_flush(&T.ep);
	assert_int_equal(T.rings, 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(answer(), 10 + i);
	assert_int_equal(answer(), -1);
	assert_int_equal(T.ep.stats.received, 3);
	assert_int_equal(T.ep.stats.sent, 3);
	assert_int_equal(T.ep.stats.attaches, 1);

	/* Idle: no work. */
	assert_int_equal(vio_vmsg_ep_poll(&T.ep), 0);

	vio_vmsg_ep_leave(&T.ep);
	assert_false(vio_vmsg_ep_attached(&T.ep));
	assert_int_equal(T.quiesces, 1);
	assert_int_equal(vio_vmsg_shm_peer_state(&T.drv), VIO_VMSG_SHM_STATE_RESET);
}

/* A batch is bounded, so the caller's loop gets a turn. */
static void test_batch_bound(void **state)
{
	int n;

	(void) state;
	attach(1);
	for (uint16_t i = 0; i < VIO_VMSG_EP_BATCH + 5; i++)
		ping(i);
	n = vio_vmsg_ep_poll(&T.ep);
	assert_int_equal(n, VIO_VMSG_EP_BATCH);
	assert_int_equal(vio_vmsg_ep_poll(&T.ep), 5);
}

/*
 * A driver re-formats under the endpoint: it leaves first (RESET), the
 * endpoint resets its devices and leaves the FIFOs, then attaches to the new
 * generation. Pings of the old session left unanswered never reach the new one.
 */
static void test_reformat(void **state)
{
	(void) state;
	attach(1);
	ping(1);
	assert_int_equal(vio_vmsg_shm_driver_leave(&T.drv, T.win, WIN_SIZE), 0);
	assert_int_equal(vio_vmsg_ep_poll(&T.ep), 1);
	assert_int_equal(last_event(), VIO_VMSG_EP_LEFT);
	assert_false(vio_vmsg_ep_attached(&T.ep));
	assert_int_equal(T.quiesces, 1);
	assert_int_equal(T.ep.stats.received, 0);
	assert_int_equal(vio_vmsg_shm_driver_leave(&T.drv, T.win, WIN_SIZE), 1);
	/* Same generation, still RESET: it stays off. */
	assert_int_equal(vio_vmsg_ep_poll(&T.ep), 0);

	attach(2);
	assert_int_equal(T.ep.stats.attaches, 2);
	assert_int_equal(T.ep.stats.driver_restarts, 1);
	assert_int_equal(answer(), -1);
	ping(2);
	assert_int_equal(vio_vmsg_ep_poll(&T.ep), 1);
	assert_int_equal(answer(), 2);

	/* A restart without leaving first: a new generation in a READY window. */
	ping(3);
	format(3);
	assert_true(vio_vmsg_ep_poll(&T.ep) > 0);
	assert_true(vio_vmsg_ep_attached(&T.ep));
	assert_int_equal(T.events[T.nevents - 2], VIO_VMSG_EP_RESTARTED);
	assert_int_equal(last_event(), VIO_VMSG_EP_ATTACHED);
	assert_int_equal(T.ep.stats.attaches, 3);
	assert_int_equal(T.ep.stats.driver_restarts, 2);
	assert_int_equal(T.quiesces, 2);
	assert_int_equal(answer(), -1);
}

/* A corrupt FIFO index stops the endpoint until a new generation. */
static void test_corrupt_window(void **state)
{
	(void) state;
	attach(1);
	vio_put_le32(T.drv.tx.base, 0xFFFFu); /* the driver-to-device head */
	assert_int_equal(vio_vmsg_ep_poll(&T.ep), 1);
	assert_int_equal(last_event(), VIO_VMSG_EP_CORRUPT);
	assert_false(vio_vmsg_ep_attached(&T.ep));
	assert_int_equal(vio_vmsg_shm_peer_state(&T.drv), VIO_VMSG_SHM_STATE_STOPPED);
	assert_int_equal(T.ep.stats.stops, 1);
	assert_int_equal(T.quiesces, 1);
	/* It stays stopped under the same generation, even though the header is fine. */
	assert_int_equal(vio_vmsg_ep_poll(&T.ep), 0);
	assert_int_equal(T.ep.stats.attaches, 1);

	attach(2);
	ping(5);
	assert_int_equal(vio_vmsg_ep_poll(&T.ep), 1);
	assert_int_equal(answer(), 5);
}

/* A header that does not check out is refused once per generation, STOPPED in the window. */
static void test_refused_header(void **state)
{
	(void) state;
	format(1);
	vio_put_le32(T.win + VIO_VMSG_SHM_OFF_WIN_SIZE, WIN_SIZE * 2);
	assert_int_equal(vio_vmsg_ep_poll(&T.ep), 0);
	assert_false(vio_vmsg_ep_attached(&T.ep));
	assert_int_equal(T.nevents, 1);
	assert_int_equal(last_event(), VIO_VMSG_EP_REFUSED);
	assert_int_equal(T.args[0], 1);
	assert_int_equal(word(VIO_VMSG_SHM_OFF_DEV_STATE), VIO_VMSG_SHM_STATE_STOPPED);
	assert_int_equal(vio_vmsg_ep_poll(&T.ep), 0);
	assert_int_equal(T.nevents, 1);
	assert_int_equal(T.ep.stats.refused, 1);

	attach(2);
}

/*
 * The driver does not drain the device-to-driver FIFO: the first answer that
 * does not fit is waited for (full_tries pauses), lost and reported; the next
 * one gets one try and no report; a re-format drops what the old session had
 * pending without counting it lost.
 */
static void test_full_fifo(void **state)
{
	struct vio_vmsg_fifo *rx = &T.drv.rx;
	uint32_t head;

	(void) state;
	attach(1);
	head = vio_get_le32(rx->base);
	vio_put_le32(rx->base + VIO_VMSG_SHM_FIFO_TAIL, (head + 1) % rx->nslots);
	ping(1);
	ping(2);
	assert_int_equal(vio_vmsg_ep_poll(&T.ep), 2);
	assert_int_equal(T.delays, FULL_TRIES);
	assert_int_equal(T.ep.stats.lost, 2);
	assert_int_equal(last_event(), VIO_VMSG_EP_LOST);
	assert_int_equal(T.args[T.nevents - 1], -VIO_ENOSPC);
	assert_int_equal(T.nevents, 2); /* ATTACHED, LOST */
	assert_true(vio_vmsg_ep_attached(&T.ep));

	/* The driver leaves with a ping pending: it is not answered, nor counted lost. */
	ping(3);
	assert_int_equal(vio_vmsg_shm_driver_leave(&T.drv, T.win, WIN_SIZE), 0);
	assert_int_equal(vio_vmsg_ep_poll(&T.ep), 1);
	assert_int_equal(last_event(), VIO_VMSG_EP_LEFT);
	assert_int_equal(T.ep.stats.lost, 2);
	attach(2);
	ping(4);
	assert_int_equal(vio_vmsg_ep_poll(&T.ep), 1);
	assert_int_equal(answer(), 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_attach_serve_leave, setup),
	    cmocka_unit_test_setup(test_batch_bound, setup),
	    cmocka_unit_test_setup(test_reformat, setup),
	    cmocka_unit_test_setup(test_corrupt_window, setup),
	    cmocka_unit_test_setup(test_refused_header, setup),
	    cmocka_unit_test_setup(test_full_fifo, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
