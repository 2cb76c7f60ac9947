/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device model: status machine, feature negotiation, config space, queue
 * set-up and breaking, through a tiny echo device that counts its hooks and
 * the loopback transport.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vioport/byteorder.h"
#include "vioport/device.h"
#include "vioport/drvq.h"
#include "vioport/errno.h"
#include "vioport/loopback.h"

#define ARENA_SIZE 0x10000u
#define BUS_BASE   0x100000ull
#define NQ	   2
#define QMAX	   8
#define CFG_LEN	   8
#define REQ_LEN	   8
#define ECHO_BYTE  0xa5

#define S_ACK  VIO_STATUS_ACKNOWLEDGE
#define S_DRV  VIO_STATUS_DRIVER
#define S_FOK  VIO_STATUS_FEATURES_OK
#define S_DOK  VIO_STATUS_DRIVER_OK
#define S_UP   (S_ACK | S_DRV | S_FOK)
#define V1     VIO_BIT(VIO_F_VERSION_1)
#define PACKED VIO_BIT(VIO_F_RING_PACKED)

/* The test device, its driver and what each hook saw. */
struct tdev {
	struct vio_device dev;
	struct vio_queue queues[NQ];
	uint8_t config[CFG_LEN];
	struct vio_loopback lb;
	_Alignas(16) uint8_t arena[ARENA_SIZE];
	struct vio_drvq dq[NQ];
	struct vio_drvq_slot slots[NQ][QMAX];
	unsigned starts, resets, validates, config_writes;
	unsigned notifies[NQ];
	unsigned served[NQ];
	int last_pop;
	int veto;     /* what validate_features answers */
	int start_rc; /* what start answers */
};

static struct tdev A, B;

static int t_validate(struct vio_device *dev, uint64_t features)
{
	struct tdev *t = dev->priv;

	t->validates++;
	return t->veto;
}

static int t_write_config(struct vio_device *dev, uint32_t off, const void *buf, uint32_t len)
{
	struct tdev *t = dev->priv;

	t->config_writes++;
	memcpy(t->config + off, buf, len);
	return 0;
}

static int t_start(struct vio_device *dev)
{
	struct tdev *t = dev->priv;

	t->starts++;
	return t->start_rc;
}

static void t_reset(struct vio_device *dev)
{
	struct tdev *t = dev->priv;

	t->resets++;
}

/* Echo: fills every writable byte so the driver can see the device ran. */
static void t_queue_notify(struct vio_device *dev, uint16_t q)
{
	struct tdev *t = dev->priv;
	struct vio_iov iov[4];
	struct vio_req req = {.iov = iov, .cap = 4};
	int rc;

	t->notifies[q]++;
	while ((rc = vio_device_pop(dev, q, &req)) > 0) {
		for (unsigned i = req.nread; i < (unsigned) req.nread + req.nwrite; i++)
			memset(iov[i].base, ECHO_BYTE, iov[i].len);
		vio_vq_push(&dev->queues[q].vq, req.id, req.ndesc, req.write_len);
		t->served[q]++;
	}
	t->last_pop = rc;
	vio_device_flush(dev, q);
}

static const struct vio_device_ops t_ops = {
    .validate_features = t_validate,
    .write_config = t_write_config,
    .start = t_start,
    .reset = t_reset,
    .queue_notify = t_queue_notify,
};

/* The same device without a config write hook. */
static const struct vio_device_ops t_ops_ro = {
    .validate_features = t_validate,
    .start = t_start,
    .reset = t_reset,
    .queue_notify = t_queue_notify,
};

static void init_ops(struct tdev *t, const struct vio_device_ops *ops, uint64_t features)
{
	memset(t, 0, sizeof(*t));
	vio_device_init(&t->dev, ops, t, 99, features, t->queues, NQ, QMAX, t->config, CFG_LEN);
	for (unsigned i = 0; i < CFG_LEN; i++)
		t->config[i] = (uint8_t) (0x10 + i);
	assert_int_equal(vio_loopback_init(&t->lb, &t->dev, t->arena, ARENA_SIZE, BUS_BASE), 0);
}

static void init(struct tdev *t, uint64_t features)
{
	init_ops(t, &t_ops, features);
}

static void queues(struct tdev *t)
{
	for (uint16_t q = 0; q < NQ; q++)
		assert_int_equal(vio_loopback_queue(&t->lb, q, QMAX, &t->dq[q], t->slots[q]), 0);
}

/* Negotiates want, sets up every queue, and starts the device. */
static void bring_up(struct tdev *t, uint64_t want)
{
	assert_int_equal(vio_loopback_negotiate(&t->lb, want), 0);
	queues(t);
	assert_int_equal(vio_loopback_driver_ok(&t->lb), 0);
	assert_int_equal(t->dev.status, S_UP | S_DOK);
}

static int status(struct tdev *t, uint8_t s)
{
	return vio_device_set_status(&t->dev, s);
}

/* Adds one request (REQ_LEN bytes each way) without kicking; returns the writable buffer. */
static uint8_t *add(struct tdev *t, uint16_t q, void *token)
{
	uint64_t out_bus, in_bus;
	uint8_t *out = vio_loopback_alloc(&t->lb, REQ_LEN, &out_bus);
	uint8_t *in = vio_loopback_alloc(&t->lb, REQ_LEN, &in_bus);
	struct vio_buf o = {out_bus, REQ_LEN}, i = {in_bus, REQ_LEN};

	assert_non_null(out);
	assert_non_null(in);
	assert_true(vio_drvq_add(&t->dq[q], &o, 1, &i, 1, token) >= 0);
	return in;
}

static uint8_t *send(struct tdev *t, uint16_t q, void *token)
{
	uint8_t *in = add(t, q, token);

	vio_loopback_kick(&t->lb, q);
	return in;
}

/* Sends a request whose buffer lies outside the arena: a ring violation. */
static void send_bad(struct tdev *t, uint16_t q)
{
	struct vio_buf o = {0x10, REQ_LEN};

	assert_true(vio_drvq_add(&t->dq[q], &o, 1, NULL, 0, t) >= 0);
	vio_loopback_kick(&t->lb, q);
}

/* The driver takes one used buffer, which must be token's, echoed in full. */
static void expect_used(struct tdev *t, uint16_t q, void *token, const uint8_t *in)
{
	void *got = NULL;
	uint32_t len = 0;

	assert_int_equal(vio_drvq_get_used(&t->dq[q], &got, &len), 1);
	assert_ptr_equal(got, token);
	assert_int_equal(len, REQ_LEN);
	for (unsigned i = 0; i < REQ_LEN; i++)
		assert_int_equal(in[i], ECHO_BYTE);
}

static void expect_no_used(struct tdev *t, uint16_t q)
{
	void *got = NULL;
	uint32_t len = 0;

	assert_int_equal(vio_drvq_get_used(&t->dq[q], &got, &len), 0);
}

static bool broken(const struct tdev *t)
{
	return (t->dev.status & VIO_STATUS_NEEDS_RESET) != 0;
}

/* ---- status ---- */

static void status_order_enforced(void **state)
{
	(void) state;
	init(&A, 0);
	assert_int_equal(status(&A, S_DRV), -VIO_EINVAL);
	assert_int_equal(A.dev.status, 0);
	assert_int_equal(status(&A, S_ACK), 0);
	assert_int_equal(status(&A, S_ACK | S_FOK), -VIO_EINVAL);
	assert_int_equal(A.dev.status, S_ACK);
	assert_int_equal(status(&A, S_ACK | S_DRV), 0);
	assert_int_equal(vio_device_set_features(&A.dev, V1), 0);
	assert_int_equal(status(&A, S_ACK | S_DRV | S_DOK), -VIO_EINVAL);
	assert_int_equal(A.dev.status, S_ACK | S_DRV);
	assert_int_equal(A.starts, 0);
	assert_int_equal(status(&A, S_UP), 0);
	assert_int_equal(status(&A, S_UP | S_DOK), 0);
	assert_int_equal(A.dev.status, S_UP | S_DOK);
	assert_int_equal(A.starts, 1);
}

static void status_bits_not_cleared(void **state)
{
	(void) state;
	init(&A, 0);
	assert_int_equal(status(&A, S_ACK | S_DRV), 0);
	assert_int_equal(status(&A, S_ACK), -VIO_EINVAL);
	assert_int_equal(status(&A, S_DRV), -VIO_EINVAL);
	assert_int_equal(A.dev.status, S_ACK | S_DRV);
	assert_int_equal(status(&A, S_ACK | S_DRV | VIO_STATUS_FAILED), 0);
	assert_int_equal(status(&A, S_ACK | S_DRV), -VIO_EINVAL);
	assert_int_equal(A.dev.status, S_ACK | S_DRV | VIO_STATUS_FAILED);
	assert_int_equal(A.resets, 0);
}

static void driver_cannot_set_needs_reset(void **state)
{
	(void) state;
	init(&A, 0);
	assert_int_equal(status(&A, S_ACK | VIO_STATUS_NEEDS_RESET), 0);
	assert_int_equal(A.dev.status, S_ACK);
	assert_int_equal(A.lb.config_irqs, 0);
}

static void features_not_offered_refused(void **state)
{
	(void) state;
	init(&A, VIO_BIT(VIO_F_INDIRECT_DESC));
	assert_int_equal(status(&A, S_ACK | S_DRV), 0);
	assert_int_equal(vio_device_set_features(&A.dev, V1 | VIO_BIT(VIO_F_EVENT_IDX)), 0);
	assert_int_equal(status(&A, S_UP), 0);
	assert_int_equal(A.dev.status, S_ACK | S_DRV);
	assert_int_equal(A.lb.log_lines, 1);
	/* The offered subset is fine. */
	assert_int_equal(vio_device_set_features(&A.dev, V1 | VIO_BIT(VIO_F_INDIRECT_DESC)), 0);
	assert_int_equal(status(&A, S_UP), 0);
	assert_int_equal(A.dev.status, S_UP);
}

static void features_without_version_1_refused(void **state)
{
	(void) state;
	init(&A, VIO_BIT(VIO_F_INDIRECT_DESC));
	assert_int_equal(status(&A, S_ACK | S_DRV), 0);
	assert_int_equal(vio_device_set_features(&A.dev, VIO_BIT(VIO_F_INDIRECT_DESC)), 0);
	/* DRIVER_OK in the same write must not start a device whose features failed. */
	assert_int_equal(status(&A, S_UP | S_DOK), 0);
	assert_int_equal(A.dev.status, S_ACK | S_DRV);
	assert_int_equal(A.starts, 0);
}

static void features_device_veto(void **state)
{
	(void) state;
	init(&A, 0);
	A.veto = -VIO_EINVAL;
	assert_int_equal(status(&A, S_ACK | S_DRV), 0);
	assert_int_equal(vio_device_set_features(&A.dev, V1), 0);
	assert_int_equal(status(&A, S_UP), 0);
	assert_int_equal(A.validates, 1);
	assert_int_equal(A.dev.status, S_ACK | S_DRV);
	A.veto = 0;
	assert_int_equal(status(&A, S_UP), 0);
	assert_int_equal(A.validates, 2);
	assert_int_equal(A.dev.status, S_UP);
}

static void features_frozen_after_features_ok(void **state)
{
	(void) state;
	init(&A, VIO_BIT(VIO_F_INDIRECT_DESC));
	assert_int_equal(vio_loopback_negotiate(&A.lb, V1), 0);
	assert_int_equal(vio_device_set_features(&A.dev, V1 | VIO_BIT(VIO_F_INDIRECT_DESC)),
			 -VIO_EPERM);
	assert_int_equal(A.dev.driver_features, V1);
}

/* ---- running ---- */

static void driver_ok_starts_and_runs_queued(void **state)
{
	int tok;
	uint8_t *in;

	(void) state;
	init(&A, 0);
	assert_int_equal(vio_loopback_negotiate(&A.lb, V1), 0);
	queues(&A);
	in = send(&A, 0, &tok);
	assert_int_equal(A.notifies[0], 0);
	expect_no_used(&A, 0);
	assert_int_equal(vio_loopback_driver_ok(&A.lb), 0);
	assert_int_equal(A.starts, 1);
	assert_int_equal(A.notifies[0], 1);
	assert_int_equal(A.served[0], 1);
	assert_int_equal(A.lb.used_irqs[0], 1);
	expect_used(&A, 0, &tok, in);
}

static void kicks_ignored_before_driver_ok(void **state)
{
	int tok;

	(void) state;
	init(&A, 0);
	vio_device_kick(&A.dev, 0);
	assert_int_equal(vio_loopback_negotiate(&A.lb, V1), 0);
	queues(&A);
	send(&A, 1, &tok);
	vio_device_kick(&A.dev, 0);
	assert_int_equal(A.notifies[0] + A.notifies[1], 0);
	assert_false(vio_device_queue_live(&A.dev, 0));
}

static void kicks_ignored_on_disabled_queue(void **state)
{
	int tok;

	(void) state;
	init(&A, 0);
	bring_up(&A, V1);
	assert_int_equal(vio_device_queue_enable(&A.dev, 1, false), 0);
	A.notifies[1] = 0; /* DRIVER_OK looked at every queue once */
	send(&A, 1, &tok);
	vio_device_kick(&A.dev, NQ); /* out of range: nothing happens */
	assert_int_equal(A.notifies[1], 0);
	assert_false(vio_device_queue_live(&A.dev, 1));
	/* The other queue runs on. */
	send(&A, 0, &tok);
	assert_int_equal(A.served[0], 1);
}

static void disable_enable_keeps_indices(void **state)
{
	int t1, t2, t3;
	uint8_t *in;

	(void) state;
	init(&A, 0);
	bring_up(&A, V1);
	expect_used(&A, 0, &t1, send(&A, 0, &t1));
	expect_used(&A, 0, &t2, send(&A, 0, &t2));
	assert_int_equal(vio_device_queue_enable(&A.dev, 0, false), 0);
	assert_int_equal(vio_device_queue_enable(&A.dev, 0, true), 0);
	/* Processing resumes after the two requests served: nothing is served twice. */
	in = send(&A, 0, &t3);
	assert_int_equal(A.served[0], 3);
	expect_used(&A, 0, &t3, in);
	expect_no_used(&A, 0);
	assert_int_equal(vio_vq_get_base(&A.queues[0].vq), 3);
	assert_false(broken(&A));
}

static void failed_stops_processing(void **state)
{
	int tok;
	struct vio_iov iov[2];
	struct vio_req req = {.iov = iov, .cap = 2};

	(void) state;
	init(&A, 0);
	bring_up(&A, V1);
	assert_int_equal(status(&A, A.dev.status | VIO_STATUS_FAILED), 0);
	A.notifies[0] = 0;
	send(&A, 0, &tok);
	assert_int_equal(A.notifies[0], 0);
	assert_int_equal(vio_device_pop(&A.dev, 0, &req), 0);
	expect_no_used(&A, 0);
}

static void start_failure_breaks_device(void **state)
{
	int tok;

	(void) state;
	init(&A, 0);
	A.start_rc = -VIO_EIO;
	assert_int_equal(vio_loopback_negotiate(&A.lb, V1), 0);
	queues(&A);
	send(&A, 0, &tok);
	assert_int_equal(vio_loopback_driver_ok(&A.lb), 0);
	assert_int_equal(A.starts, 1);
	assert_true(broken(&A));
	assert_int_equal(A.lb.last_log_err, -VIO_EIO);
	assert_int_equal(A.lb.config_irqs, 1);
	/* A device that could not start must not touch the queued request. */
	assert_int_equal(A.notifies[0], 0);
	expect_no_used(&A, 0);
}

static void reset_clears_everything(void **state)
{
	int tok;

	(void) state;
	init(&A, VIO_BIT(VIO_F_EVENT_IDX));
	bring_up(&A, V1 | VIO_BIT(VIO_F_EVENT_IDX));
	send(&A, 0, &tok);
	assert_int_equal(vio_device_queue_set(&A.dev, 1, QMAX, 0, 0, 0), -VIO_EBUSY);
	A.resets = 0; /* negotiation began with one */
	A.notifies[0] = 0;
	assert_int_equal(status(&A, 0), 0);
	assert_int_equal(A.resets, 1);
	assert_int_equal(A.dev.status, 0);
	assert_int_equal(A.dev.driver_features, 0);
	for (uint16_t q = 0; q < NQ; q++) {
		assert_false(A.queues[q].enabled);
		assert_false(A.queues[q].vq.ready);
		assert_int_equal(A.queues[q].size, QMAX);
		assert_int_equal(A.queues[q].desc, 0);
	}
	send(&A, 0, &tok);
	assert_int_equal(A.notifies[0], 0);
	/* Queues can be set up again at once. */
	assert_int_equal(vio_device_queue_set(&A.dev, 1, 4, 0, 0, 0), 0);
}

/* ---- config ---- */

static void config_read_bounds(void **state)
{
	uint8_t buf[CFG_LEN + 4];

	(void) state;
	init(&A, 0);
	assert_int_equal(vio_device_read_config(&A.dev, 0, buf, CFG_LEN), 0);
	assert_memory_equal(buf, A.config, CFG_LEN);
	assert_int_equal(vio_device_read_config(&A.dev, 6, buf, 2), 0);
	assert_int_equal(buf[0], 0x16);
	assert_int_equal(vio_device_read_config(&A.dev, CFG_LEN, buf, 0), 0);

	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(vio_device_read_config(&A.dev, 0, buf, CFG_LEN + 1), -VIO_ERANGE);
	assert_int_equal(vio_device_read_config(&A.dev, 6, buf, 4), -VIO_ERANGE);
	assert_int_equal(vio_device_read_config(&A.dev, CFG_LEN + 1, buf, 0), -VIO_ERANGE);
	/* off + len wraps to a small number: must still be refused. */
	assert_int_equal(vio_device_read_config(&A.dev, 4, buf, UINT32_MAX - 1), -VIO_ERANGE);
	assert_int_equal(vio_device_read_config(&A.dev, UINT32_MAX, buf, 2), -VIO_ERANGE);
	for (unsigned i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xee);
}

static void config_write_needs_hook(void **state)
{
	const uint8_t v[2] = {0xaa, 0xbb};
	uint8_t before[CFG_LEN];

	(void) state;
	init_ops(&A, &t_ops_ro, 0);
	memcpy(before, A.config, CFG_LEN);
	assert_int_equal(vio_device_write_config(&A.dev, 0, v, 2), -VIO_EPERM);
	assert_memory_equal(before, A.config, CFG_LEN);

	init(&A, 0);
	assert_int_equal(vio_device_write_config(&A.dev, 2, v, 2), 0);
	assert_int_equal(A.config[2], 0xaa);
	assert_int_equal(A.config[3], 0xbb);
	assert_int_equal(vio_device_write_config(&A.dev, CFG_LEN - 1, v, 2), -VIO_ERANGE);
	assert_int_equal(vio_device_write_config(&A.dev, 4, v, UINT32_MAX - 1), -VIO_ERANGE);
	assert_int_equal(A.config_writes, 1);
}

static void config_changed_bumps_generation(void **state)
{
	(void) state;
	init(&A, 0);
	assert_int_equal(A.dev.config_generation, 0);
	vio_device_config_changed(&A.dev);
	vio_device_config_changed(&A.dev);
	assert_int_equal(A.dev.config_generation, 2);
	assert_int_equal(A.lb.config_irqs, 2);
	assert_false(broken(&A));
}

/* ---- queue set-up ---- */

static void queue_set_rules(void **state)
{
	(void) state;
	init(&A, 0);
	assert_int_equal(vio_loopback_negotiate(&A.lb, V1), 0);
	assert_int_equal(vio_device_queue_set(&A.dev, NQ, 4, 0, 0, 0), -VIO_EINVAL);
	assert_int_equal(vio_device_queue_set(&A.dev, 0, 0, 0, 0, 0), -VIO_EINVAL);
	assert_int_equal(vio_device_queue_set(&A.dev, 0, QMAX + 1, 0, 0, 0), -VIO_EINVAL);
	assert_int_equal(A.queues[0].size, QMAX);
	assert_int_equal(vio_device_queue_enable(&A.dev, NQ, true), -VIO_EINVAL);
	assert_int_equal(vio_device_queue_set_base(&A.dev, NQ, 0), -VIO_EINVAL);
	assert_int_equal(vio_device_queue_reset(&A.dev, NQ), -VIO_EINVAL);
	queues(&A);
	assert_int_equal(vio_device_queue_set(&A.dev, 0, 4, 0, 0, 0), -VIO_EBUSY);
	assert_int_equal(vio_device_queue_set_base(&A.dev, 0, 1), -VIO_EBUSY);
	assert_int_equal(A.queues[0].size, QMAX);
	assert_false(broken(&A));
	assert_int_equal(A.lb.log_lines, 0);
}

static void queue_enable_outside_window_breaks(void **state)
{
	(void) state;
	init(&A, 0);
	assert_int_equal(vio_loopback_negotiate(&A.lb, V1), 0);
	assert_int_equal(vio_device_queue_set(&A.dev, 0, QMAX, 0x1000, 0x2000, 0x3000), 0);
	assert_int_equal(vio_device_queue_enable(&A.dev, 0, true), -VIO_EFAULT);
	assert_false(A.queues[0].enabled);
	assert_true(broken(&A));
	assert_int_equal(A.lb.config_irqs, 1);
	assert_int_equal(A.lb.log_lines, 1);
	assert_int_equal(A.lb.last_log_err, -VIO_EFAULT);
}

static void broken_device_does_not_start(void **state)
{
	(void) state;
	init(&A, 0);
	assert_int_equal(vio_loopback_negotiate(&A.lb, V1), 0);
	assert_int_equal(vio_device_queue_set(&A.dev, 0, QMAX, 0x1000, 0x2000, 0x3000), 0);
	assert_true(vio_device_queue_enable(&A.dev, 0, true) < 0);
	/* The driver ignores NEEDS_RESET and carries on: the device stays stopped. */
	assert_int_equal(status(&A, S_UP | S_DOK), 0);
	assert_true(broken(&A));
	assert_int_equal(A.starts, 0);
	assert_int_equal(A.lb.log_lines, 1);
	assert_int_equal(A.lb.config_irqs, 1);
}

static void queue_set_base_resumes_there(void **state)
{
	int tok;
	uint8_t *in;
	struct vio_drvq *dq = &A.dq[0];

	(void) state;
	init(&A, 0);
	assert_int_equal(vio_loopback_negotiate(&A.lb, V1), 0);
	assert_int_equal(vio_device_queue_set_base(&A.dev, 0, 3), 0);
	queues(&A);
	assert_int_equal(vio_vq_get_base(&A.queues[0].vq), 3);
	/* The driver resumes at the same index, as after a migration. */
	dq->avail_idx = dq->kicked_avail = dq->last_used = 3;
	vio_put_le16(&dq->avail[1], 3);
	vio_put_le16(&dq->used[1], 3);
	assert_int_equal(vio_loopback_driver_ok(&A.lb), 0);
	in = send(&A, 0, &tok);
	assert_int_equal(A.served[0], 1);
	expect_used(&A, 0, &tok, in);
	assert_int_equal(vio_vq_get_base(&A.queues[0].vq), 4);
	assert_false(broken(&A));
}

static void queue_reset_then_reuse(void **state)
{
	int t1, t2;
	uint8_t *in;

	(void) state;
	init(&A, 0);
	bring_up(&A, V1);
	expect_used(&A, 0, &t1, send(&A, 0, &t1));
	A.resets = 0;
	assert_int_equal(vio_device_queue_set_base(&A.dev, 0, 5), -VIO_EBUSY);
	assert_int_equal(vio_device_queue_reset(&A.dev, 0), 0);
	assert_false(A.queues[0].enabled);
	assert_false(A.queues[0].vq.ready);
	assert_int_equal(A.queues[0].size, QMAX);
	assert_int_equal(A.queues[0].desc, 0);
	assert_false(vio_device_queue_live(&A.dev, 0));
	assert_true(vio_device_queue_live(&A.dev, 1));
	/* A fresh ring from index 0 works; the device itself never broke. */
	assert_int_equal(vio_loopback_queue(&A.lb, 0, 4, &A.dq[0], A.slots[0]), 0);
	in = send(&A, 0, &t2);
	expect_used(&A, 0, &t2, in);
	assert_int_equal(A.served[0], 2);
	assert_false(broken(&A));
	assert_int_equal(A.resets, 0);
}

/* Lays out a packed ring of size entries in the arena and gives it to queue 0. */
static struct vio_pdesc *packed_queue(struct tdev *t, uint16_t size)
{
	uint64_t desc, drv, dev;
	struct vio_pdesc *ring = vio_loopback_alloc(&t->lb, VIO_PACKED_DESC_SIZE(size), &desc);

	assert_non_null(vio_loopback_alloc(&t->lb, VIO_PACKED_EVENT_SIZE, &drv));
	assert_non_null(vio_loopback_alloc(&t->lb, VIO_PACKED_EVENT_SIZE, &dev));
	assert_int_equal(vio_device_queue_set(&t->dev, 0, size, desc, drv, dev), 0);
	return ring;
}

static void packed_ring_negotiated(void **state)
{
	uint64_t buf_bus;
	uint8_t *buf;
	struct vio_pdesc *ring;

	(void) state;
	init(&A, PACKED);
	assert_int_equal(vio_loopback_negotiate(&A.lb, V1 | PACKED), 0);
	/* Packed rings need no power-of-two size. No base set: a fresh ring, wrap counters 1. */
	ring = packed_queue(&A, 5);
	assert_int_equal(vio_device_queue_enable(&A.dev, 0, true), 0);
	assert_true(A.queues[0].vq.packed);
	assert_ptr_equal(A.queues[0].vq.pdesc, ring);
	assert_int_equal(A.queues[0].vq.size, 5);

	buf = vio_loopback_alloc(&A.lb, REQ_LEN, &buf_bus);
	vio_put_le64(&ring[0].addr, buf_bus);
	vio_put_le32(&ring[0].len, REQ_LEN);
	vio_put_le16(&ring[0].id, 4);
	vio_put_le16(&ring[0].flags, VIO_DESC_F_WRITE | VIO_DESC_F_AVAIL);
	assert_int_equal(vio_loopback_driver_ok(&A.lb), 0);
	assert_int_equal(A.served[0], 1);
	assert_int_equal(buf[0], ECHO_BYTE);
	assert_int_equal(vio_get_le16(&ring[0].flags), VIO_DESC_F_AVAIL | VIO_DESC_F_USED);
	assert_int_equal(vio_get_le16(&ring[0].id), 4);
	assert_int_equal(vio_get_le32(&ring[0].len), REQ_LEN);
	assert_int_equal(A.lb.used_irqs[0], 1);
}

static void packed_base_out_of_range_breaks(void **state)
{
	(void) state;
	init(&A, PACKED);
	assert_int_equal(vio_loopback_negotiate(&A.lb, V1 | PACKED), 0);
	packed_queue(&A, 4);
	assert_int_equal(vio_device_queue_set_base(&A.dev, 0, 0x8000u | 2), 0);
	assert_int_equal(vio_device_queue_enable(&A.dev, 0, true), 0);
	assert_int_equal(vio_vq_get_base(&A.queues[0].vq), 0x8002u);
	assert_int_equal(vio_device_queue_reset(&A.dev, 0), 0);
	packed_queue(&A, 4);
	assert_int_equal(vio_device_queue_set_base(&A.dev, 0, 4), 0);
	assert_int_equal(vio_device_queue_enable(&A.dev, 0, true), -VIO_EINVAL);
	assert_true(broken(&A));
	assert_false(A.queues[0].enabled);
}

/* ---- breaking ---- */

static void ring_violation_breaks_once(void **state)
{
	int tok;

	(void) state;
	init(&A, 0);
	bring_up(&A, V1);
	send_bad(&A, 0);
	assert_int_equal(A.last_pop, -VIO_EFAULT);
	assert_true(broken(&A));
	assert_int_equal(A.dev.status, S_UP | S_DOK | VIO_STATUS_NEEDS_RESET);
	assert_int_equal(A.lb.config_irqs, 1);
	assert_int_equal(A.lb.log_lines, 1);
	assert_int_equal(A.lb.last_log_err, -VIO_EFAULT);

	/* Every queue stops, not just the one that broke. */
	send(&A, 1, &tok);
	assert_int_equal(A.served[1], 0);
	assert_false(vio_device_queue_live(&A.dev, 1));

	/* More violations: no second log line, no second notification. */
	send_bad(&A, 0);
	assert_int_equal(vio_device_queue_enable(&A.dev, 1, false), 0);
	assert_int_equal(vio_device_queue_set(&A.dev, 1, QMAX, 0x10, 0x1000, 0x2000), 0);
	assert_true(vio_device_queue_enable(&A.dev, 1, true) < 0);
	vio_device_break(&A.dev, -VIO_EPROTO);
	assert_int_equal(A.lb.config_irqs, 1);
	assert_int_equal(A.lb.log_lines, 1);
	assert_int_equal(A.dev.break_error, -VIO_EFAULT);

	/* The driver keeps writing status without the bit: it stays. */
	assert_int_equal(status(&A, S_UP | S_DOK), 0);
	assert_true(broken(&A));
}

static void other_device_unaffected(void **state)
{
	int ta, tb;
	uint8_t *in;

	(void) state;
	init(&A, 0);
	init(&B, 0);
	bring_up(&A, V1);
	bring_up(&B, V1);
	send_bad(&A, 0);
	assert_true(broken(&A));
	send(&A, 0, &ta);
	assert_int_equal(A.served[0], 0);

	in = send(&B, 0, &tb);
	assert_false(broken(&B));
	assert_int_equal(B.served[0], 1);
	expect_used(&B, 0, &tb, in);
	assert_int_equal(B.lb.config_irqs, 0);
	assert_int_equal(B.lb.log_lines, 0);
}

static void reset_and_renegotiate_recovers(void **state)
{
	int tok;
	uint8_t *in;

	(void) state;
	init(&A, 0);
	bring_up(&A, V1);
	send_bad(&A, 0);
	assert_true(broken(&A));
	A.resets = 0;

	bring_up(&A, V1); /* negotiation begins with a reset */
	assert_int_equal(A.resets, 1);
	assert_false(broken(&A));
	assert_int_equal(A.dev.break_error, 0);
	in = send(&A, 0, &tok);
	expect_used(&A, 0, &tok, in);

	/* The next break is reported again: once per break, not once per life. */
	send_bad(&A, 1);
	assert_true(broken(&A));
	assert_int_equal(A.lb.log_lines, 2);
	assert_int_equal(A.lb.config_irqs, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(status_order_enforced),
	    cmocka_unit_test(status_bits_not_cleared),
	    cmocka_unit_test(driver_cannot_set_needs_reset),
	    cmocka_unit_test(features_not_offered_refused),
	    cmocka_unit_test(features_without_version_1_refused),
	    cmocka_unit_test(features_device_veto),
	    cmocka_unit_test(features_frozen_after_features_ok),
	    cmocka_unit_test(driver_ok_starts_and_runs_queued),
	    cmocka_unit_test(kicks_ignored_before_driver_ok),
	    cmocka_unit_test(kicks_ignored_on_disabled_queue),
	    cmocka_unit_test(disable_enable_keeps_indices),
	    cmocka_unit_test(failed_stops_processing),
	    cmocka_unit_test(start_failure_breaks_device),
	    cmocka_unit_test(reset_clears_everything),
	    cmocka_unit_test(config_read_bounds),
	    cmocka_unit_test(config_write_needs_hook),
	    cmocka_unit_test(config_changed_bumps_generation),
	    cmocka_unit_test(queue_set_rules),
	    cmocka_unit_test(queue_enable_outside_window_breaks),
	    cmocka_unit_test(broken_device_does_not_start),
	    cmocka_unit_test(queue_set_base_resumes_there),
	    cmocka_unit_test(queue_reset_then_reuse),
	    cmocka_unit_test(packed_ring_negotiated),
	    cmocka_unit_test(packed_base_out_of_range_breaks),
	    cmocka_unit_test(ring_violation_breaks_once),
	    cmocka_unit_test(other_device_unaffected),
	    cmocka_unit_test(reset_and_renegotiate_recovers),
	};

	return cmocka_run_group_tests_name("device", tests, NULL, NULL);
}
