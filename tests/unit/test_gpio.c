/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-gpio device over the simulated chip: config, every request type,
 * every error path, and the interrupt rules (unmask by a queued buffer, mask
 * on use, edges latched while masked, levels not). Driven through the
 * loopback transport and the driver-side queue.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h> /* after the headers it needs */

#include "vioport/byteorder.h"
#include "vioport/errno.h"
#include "vioport/gpio.h"
#include "vioport/loopback.h"
#include "vioport/sim_gpio.h"

#define ARENA_SIZE (256u * 1024u)
#define BUS_BASE   0x10000ull
#define QSIZE	   16u
#define NLINES	   4u
#define UNTOUCHED  0xeeu
#define IRQ	   VIO_BIT(VIO_GPIO_F_IRQ)

/* 4 + 1 + 7 + 4 bytes of names block */
static const char *const names[NLINES] = {"led", NULL, "button", "irq"};
static const char names_block[] = "led\0\0button\0irq";
#define NAMES_SIZE 16u

static struct {
	_Alignas(16) uint8_t arena[ARENA_SIZE];
	struct vio_sim_gpio chip;
	struct vio_sim_gpio_line chip_lines[NLINES];
	struct vio_gpio gpio;
	struct vio_gpio_line lines[NLINES];
	struct vio_queue queues[2];
	struct vio_loopback lb;
	struct vio_drvq dq, eq;
	struct vio_drvq_slot dslots[QSIZE], eslots[QSIZE];
	struct vio_gpio_ops ops;
	int tokens[QSIZE];
} F;

static int fixture(void **state)
{
	(void) state;
	memset(&F, 0, sizeof(F));
	F.ops = vio_sim_gpio_ops;
	return 0;
}

/* Brings the device up: offered features, those the driver takes, and the chip's names. */
static void start_with(uint64_t offer, uint64_t want, const char *const *n)
{
	vio_sim_gpio_init(&F.chip, F.chip_lines, NLINES, n);
	assert_int_equal(
	    vio_gpio_init(&F.gpio, &F.ops, &F.chip, NLINES, F.lines, F.queues, QSIZE, offer), 0);
	vio_sim_gpio_attach(&F.chip, &F.gpio);
	assert_int_equal(vio_loopback_init(&F.lb, &F.gpio.dev, F.arena, sizeof(F.arena), BUS_BASE),
			 0);
	assert_int_equal(vio_loopback_negotiate(&F.lb, want), 0);
	assert_int_equal(vio_loopback_queue(&F.lb, 0, QSIZE, &F.dq, F.dslots), 0);
	if (offer & IRQ)
		assert_int_equal(vio_loopback_queue(&F.lb, 1, QSIZE, &F.eq, F.eslots), 0);
	assert_int_equal(vio_loopback_driver_ok(&F.lb), 0);
}

static void start(void)
{
	start_with(IRQ, ~0ull, names);
}

static uint8_t *alloc(uint32_t len)
{
	uint8_t *p = vio_loopback_alloc(&F.lb, len ? len : 1, NULL);

	assert_non_null(p);
	memset(p, UNTOUCHED, len ? len : 1);
	return p;
}

static struct vio_buf buf(const void *p, uint32_t len)
{
	struct vio_buf b = {vio_loopback_bus(&F.lb, p), len};

	return b;
}

/* Queues one request, kicks, and returns the used length of the one entry that comes back. */
static uint32_t roundtrip(const struct vio_buf *out, unsigned nout, const struct vio_buf *in,
			  unsigned nin)
{
	void *token;
	uint32_t len = UINT32_MAX;

	assert_true(vio_drvq_add(&F.dq, out, nout, in, nin, &F.tokens[0]) >= 0);
	vio_loopback_kick(&F.lb, 0);
	assert_int_equal(vio_drvq_get_used(&F.dq, &token, &len), 1);
	assert_ptr_equal(token, &F.tokens[0]);
	assert_int_equal(vio_drvq_get_used(&F.dq, &token, &len), 0);
	return len;
}

static uint8_t *header(uint16_t type, uint16_t line, uint32_t value, uint32_t len)
{
	uint8_t *h = alloc(len);

	memset(h, 0, len);
	vio_put_le16(h, type);
	vio_put_le16(h + 2, line);
	vio_put_le32(h + 4, value);
	return h;
}

/* Sends one well-formed request; returns the status, the value in *value. */
static uint8_t request(uint16_t type, uint16_t line, uint32_t value, uint8_t *out_value)
{
	uint8_t *h = header(type, line, value, VIO_GPIO_REQ_SIZE);
	uint8_t *r = alloc(VIO_GPIO_RESP_SIZE);
	struct vio_buf o = buf(h, VIO_GPIO_REQ_SIZE), i = buf(r, VIO_GPIO_RESP_SIZE);

	assert_int_equal(roundtrip(&o, 1, &i, 1), VIO_GPIO_RESP_SIZE);
	if (out_value != NULL)
		*out_value = r[1];
	return r[0];
}

static void expect_err(uint16_t type, uint16_t line, uint32_t value)
{
	uint8_t v = UNTOUCHED;

	assert_int_equal(request(type, line, value, &v), VIO_GPIO_STATUS_ERR);
	assert_int_equal(v, 0);
}

/* Queues an eventq buffer for line and kicks; returns its status byte. */
static uint8_t *ev_queue(uint16_t line, int *token)
{
	uint8_t *g = alloc(VIO_GPIO_IRQ_REQ_SIZE), *s = alloc(VIO_GPIO_IRQ_RESP_SIZE);
	struct vio_buf o = buf(g, VIO_GPIO_IRQ_REQ_SIZE), i = buf(s, VIO_GPIO_IRQ_RESP_SIZE);

	vio_put_le16(g, line);
	assert_true(vio_drvq_add(&F.eq, &o, 1, &i, 1, token) >= 0);
	vio_loopback_kick(&F.lb, 1);
	return s;
}

/* Expects exactly the eventq entry token back (or none when token is NULL). */
static void ev_expect(const int *token)
{
	void *t;
	uint32_t len;

	if (token != NULL) {
		assert_int_equal(vio_drvq_get_used(&F.eq, &t, &len), 1);
		assert_ptr_equal(t, token);
		assert_int_equal(len, 1);
	}
	assert_int_equal(vio_drvq_get_used(&F.eq, &t, &len), 0);
}

static void set_irq(uint16_t line, uint8_t type)
{
	assert_int_equal(request(VIO_GPIO_MSG_SET_IRQ_TYPE, line, type, NULL), VIO_GPIO_STATUS_OK);
}

/* ---- config and identity ---- */

static void config_bytes(void **state)
{
	uint8_t cfg[VIO_GPIO_CONFIG_SIZE];
	const uint8_t want[VIO_GPIO_CONFIG_SIZE] = {NLINES, 0, 0, 0, NAMES_SIZE, 0, 0, 0};

	(void) state;
	start();
	assert_int_equal(F.gpio.dev.device_id, 41);
	assert_int_equal(F.gpio.dev.num_queues, 2);
	assert_true(F.gpio.dev.host_features & IRQ);
	assert_int_equal(vio_device_read_config(&F.gpio.dev, 0, cfg, sizeof(cfg)), 0);
	assert_memory_equal(cfg, want, sizeof(cfg));
	assert_int_equal(vio_device_read_config(&F.gpio.dev, 4, cfg, 5), -VIO_ERANGE);
}

static void config_generated_names(void **state)
{
	uint8_t cfg[VIO_GPIO_CONFIG_SIZE];

	(void) state;
	start_with(IRQ, ~0ull, NULL);
	assert_int_equal(vio_device_read_config(&F.gpio.dev, 0, cfg, sizeof(cfg)), 0);
	assert_int_equal(vio_get_le32(cfg + VIO_GPIO_CFG_NAMES_SIZE), 4u * 11u); /* "sim-gpio-N" */
}

static void config_without_names(void **state)
{
	uint8_t cfg[VIO_GPIO_CONFIG_SIZE];

	(void) state;
	F.ops.line_name = NULL;
	start();
	assert_int_equal(vio_device_read_config(&F.gpio.dev, 0, cfg, sizeof(cfg)), 0);
	assert_int_equal(vio_get_le32(cfg + VIO_GPIO_CFG_NAMES_SIZE), 0);
}

static void init_rejects_bad_args(void **state)
{
	struct vio_gpio_ops none = {0};
	struct vio_gpio_ops no_irq = vio_sim_gpio_ops;

	(void) state;
	no_irq.set_irq_type = NULL;
	assert_int_equal(
	    vio_gpio_init(&F.gpio, &none, &F.chip, NLINES, F.lines, F.queues, QSIZE, 0),
	    -VIO_EINVAL);
	assert_int_equal(vio_gpio_init(&F.gpio, &F.ops, &F.chip, 0, F.lines, F.queues, QSIZE, 0),
			 -VIO_EINVAL);
	assert_int_equal(vio_gpio_init(&F.gpio, &F.ops, &F.chip, NLINES, NULL, F.queues, QSIZE, 0),
			 -VIO_EINVAL);
	assert_int_equal(vio_gpio_init(&F.gpio, &F.ops, &F.chip, NLINES, F.lines, F.queues, 0, 0),
			 -VIO_EINVAL);
	assert_int_equal(
	    vio_gpio_init(&F.gpio, &F.ops, &F.chip, NLINES, F.lines, F.queues, QSIZE, VIO_BIT(5)),
	    -VIO_EINVAL);
	assert_int_equal(vio_gpio_init(&F.gpio, &F.ops, &F.chip, NLINES, F.lines, F.queues, QSIZE,
				       VIO_BIT(VIO_F_IN_ORDER)),
			 -VIO_EINVAL);
	assert_int_equal(
	    vio_gpio_init(&F.gpio, &no_irq, &F.chip, NLINES, F.lines, F.queues, QSIZE, IRQ),
	    -VIO_EINVAL);
	assert_int_equal(
	    vio_gpio_init(&F.gpio, &no_irq, &F.chip, NLINES, F.lines, F.queues, QSIZE, 0), 0);
	assert_int_equal(F.gpio.dev.num_queues, 1);
}

/* ---- request types ---- */

static void get_line_names(void **state)
{
	uint8_t *h, *r;
	struct vio_buf o, i;

	(void) state;
	start();
	h = header(VIO_GPIO_MSG_GET_LINE_NAMES, 0, 0, VIO_GPIO_REQ_SIZE);
	r = alloc(NAMES_SIZE + 1);
	o = buf(h, VIO_GPIO_REQ_SIZE);
	i = buf(r, NAMES_SIZE + 1);
	assert_int_equal(roundtrip(&o, 1, &i, 1), NAMES_SIZE + 1);
	assert_int_equal(r[0], VIO_GPIO_STATUS_OK);
	assert_memory_equal(r + 1, names_block, NAMES_SIZE);
}

static void get_line_names_split_and_generated(void **state)
{
	static const char want[] = "sim-gpio-0\0sim-gpio-1\0sim-gpio-2\0sim-gpio-3";
	uint8_t *h, *a, *b;
	struct vio_buf o, i[2];

	(void) state;
	start_with(IRQ, ~0ull, NULL);
	h = header(VIO_GPIO_MSG_GET_LINE_NAMES, 0, 0, VIO_GPIO_REQ_SIZE);
	a = alloc(5);
	b = alloc(40);
	o = buf(h, VIO_GPIO_REQ_SIZE);
	i[0] = buf(a, 5);
	i[1] = buf(b, 40);
	assert_int_equal(roundtrip(&o, 1, i, 2), 45);
	assert_int_equal(a[0], VIO_GPIO_STATUS_OK);
	assert_memory_equal(a + 1, want, 4);
	assert_memory_equal(b, want + 4, 40);
}

static void get_line_names_wrong_size(void **state)
{
	uint8_t *h, *r;
	struct vio_buf o, i;

	(void) state;
	start();
	h = header(VIO_GPIO_MSG_GET_LINE_NAMES, 0, 0, VIO_GPIO_REQ_SIZE);
	r = alloc(NAMES_SIZE);
	o = buf(h, VIO_GPIO_REQ_SIZE);
	i = buf(r, NAMES_SIZE);
	assert_int_equal(roundtrip(&o, 1, &i, 1), 2);
	assert_int_equal(r[0], VIO_GPIO_STATUS_ERR);
	assert_int_equal(r[2], UNTOUCHED);
}

static void get_line_names_when_none(void **state)
{
	uint8_t *h, *r;
	struct vio_buf o, i;

	(void) state;
	F.ops.line_name = NULL;
	start();
	h = header(VIO_GPIO_MSG_GET_LINE_NAMES, 0, 0, VIO_GPIO_REQ_SIZE);
	r = alloc(1);
	o = buf(h, VIO_GPIO_REQ_SIZE);
	i = buf(r, 1);
	assert_int_equal(roundtrip(&o, 1, &i, 1), 1);
	assert_int_equal(r[0], VIO_GPIO_STATUS_ERR);
}

static void direction_roundtrip(void **state)
{
	uint8_t v = UNTOUCHED;

	(void) state;
	start();
	assert_int_equal(request(VIO_GPIO_MSG_GET_DIRECTION, 1, 0, &v), VIO_GPIO_STATUS_OK);
	assert_int_equal(v, VIO_GPIO_DIRECTION_NONE);
	assert_int_equal(request(VIO_GPIO_MSG_SET_DIRECTION, 1, VIO_GPIO_DIRECTION_OUT, &v),
			 VIO_GPIO_STATUS_OK);
	assert_int_equal(v, 0);
	assert_int_equal(F.chip_lines[1].dir, VIO_GPIO_DIRECTION_OUT);
	assert_int_equal(request(VIO_GPIO_MSG_GET_DIRECTION, 1, 0, &v), VIO_GPIO_STATUS_OK);
	assert_int_equal(v, VIO_GPIO_DIRECTION_OUT);
	assert_int_equal(request(VIO_GPIO_MSG_SET_DIRECTION, 1, VIO_GPIO_DIRECTION_IN, NULL),
			 VIO_GPIO_STATUS_OK);
	assert_int_equal(request(VIO_GPIO_MSG_GET_DIRECTION, 1, 0, &v), VIO_GPIO_STATUS_OK);
	assert_int_equal(v, VIO_GPIO_DIRECTION_IN);
}

static void set_value_reaches_output(void **state)
{
	uint8_t v = UNTOUCHED;

	(void) state;
	start();
	/* the Linux driver sets the value before it makes the line an output */
	assert_int_equal(request(VIO_GPIO_MSG_SET_VALUE, 0, 1, &v), VIO_GPIO_STATUS_OK);
	assert_int_equal(v, 0);
	assert_int_equal(vio_sim_gpio_get_output(&F.chip, 0), 1);
	assert_int_equal(request(VIO_GPIO_MSG_SET_DIRECTION, 0, VIO_GPIO_DIRECTION_OUT, NULL),
			 VIO_GPIO_STATUS_OK);
	assert_int_equal(request(VIO_GPIO_MSG_GET_VALUE, 0, 0, &v), VIO_GPIO_STATUS_OK);
	assert_int_equal(v, 1);
	assert_int_equal(request(VIO_GPIO_MSG_SET_VALUE, 0, 0, NULL), VIO_GPIO_STATUS_OK);
	assert_int_equal(vio_sim_gpio_get_output(&F.chip, 0), 0);
}

static void get_value_reads_input(void **state)
{
	uint8_t v = UNTOUCHED;

	(void) state;
	start();
	assert_int_equal(request(VIO_GPIO_MSG_SET_DIRECTION, 2, VIO_GPIO_DIRECTION_IN, NULL),
			 VIO_GPIO_STATUS_OK);
	assert_int_equal(vio_sim_gpio_set_input(&F.chip, 2, 1), 0);
	assert_int_equal(request(VIO_GPIO_MSG_GET_VALUE, 2, 0, &v), VIO_GPIO_STATUS_OK);
	assert_int_equal(v, 1);
	assert_int_equal(vio_sim_gpio_set_input(&F.chip, 2, 0), 0);
	assert_int_equal(request(VIO_GPIO_MSG_GET_VALUE, 2, 0, &v), VIO_GPIO_STATUS_OK);
	assert_int_equal(v, 0);
}

static void set_irq_type_reaches_provider(void **state)
{
	(void) state;
	start();
	set_irq(3, VIO_GPIO_IRQ_TYPE_EDGE_BOTH);
	assert_int_equal(F.chip_lines[3].irq_type, VIO_GPIO_IRQ_TYPE_EDGE_BOTH);
	assert_int_equal(F.lines[3].irq_type, VIO_GPIO_IRQ_TYPE_EDGE_BOTH);
}

/* ---- error paths, one each ---- */

static void err_line_out_of_range(void **state)
{
	(void) state;
	start();
	expect_err(VIO_GPIO_MSG_GET_DIRECTION, NLINES, 0);
	expect_err(VIO_GPIO_MSG_SET_VALUE, 0xffff, 1);
	assert_int_equal(F.chip.ops, 0);
}

static void err_unknown_type(void **state)
{
	(void) state;
	start();
	expect_err(0, 0, 0);
	expect_err(7, 0, 0);
	expect_err(0xffff, 0, 0);
}

static void err_bad_direction(void **state)
{
	(void) state;
	start();
	expect_err(VIO_GPIO_MSG_SET_DIRECTION, 0, 3);
	expect_err(VIO_GPIO_MSG_SET_DIRECTION, 0, 0x100);
	assert_int_equal(F.chip.ops, 0);
}

static void err_bad_value(void **state)
{
	(void) state;
	start();
	expect_err(VIO_GPIO_MSG_SET_VALUE, 0, 2);
	expect_err(VIO_GPIO_MSG_SET_VALUE, 0, 0x80000001u);
	assert_int_equal(F.chip.ops, 0);
}

static void err_bad_irq_type(void **state)
{
	(void) state;
	start();
	expect_err(VIO_GPIO_MSG_SET_IRQ_TYPE, 0, 5);
	expect_err(VIO_GPIO_MSG_SET_IRQ_TYPE, 0, 0x10);
	assert_int_equal(F.chip.ops, 0);
}

static void err_provider_fails(void **state)
{
	(void) state;
	start();
	F.chip.fail_next = -VIO_EIO;
	expect_err(VIO_GPIO_MSG_GET_VALUE, 0, 0);
	assert_int_equal(request(VIO_GPIO_MSG_GET_VALUE, 0, 0, NULL), VIO_GPIO_STATUS_OK);
}

static void err_short_request(void **state)
{
	uint8_t *h, *r;
	struct vio_buf o, i;

	(void) state;
	start();
	h = header(VIO_GPIO_MSG_GET_DIRECTION, 0, 0, 8);
	r = alloc(2);
	o = buf(h, 4);
	i = buf(r, 2);
	assert_int_equal(roundtrip(&o, 1, &i, 1), 2);
	assert_int_equal(r[0], VIO_GPIO_STATUS_ERR);
	assert_int_equal(r[1], 0);
}

static void err_long_request(void **state)
{
	uint8_t *h, *r;
	struct vio_buf o, i;

	(void) state;
	start();
	h = header(VIO_GPIO_MSG_GET_DIRECTION, 0, 0, 12);
	r = alloc(2);
	o = buf(h, 12);
	i = buf(r, 2);
	assert_int_equal(roundtrip(&o, 1, &i, 1), 2);
	assert_int_equal(r[0], VIO_GPIO_STATUS_ERR);
}

static void err_response_too_small(void **state)
{
	uint8_t *h, *r;
	struct vio_buf o, i;

	(void) state;
	start();
	h = header(VIO_GPIO_MSG_GET_DIRECTION, 0, 0, 8);
	r = alloc(1);
	o = buf(h, 8);
	i = buf(r, 1);
	assert_int_equal(roundtrip(&o, 1, &i, 1), 1);
	assert_int_equal(r[0], VIO_GPIO_STATUS_ERR);
}

static void err_response_too_big(void **state)
{
	uint8_t *h, *r;
	struct vio_buf o, i;

	(void) state;
	start();
	h = header(VIO_GPIO_MSG_GET_DIRECTION, 0, 0, 8);
	r = alloc(3);
	o = buf(h, 8);
	i = buf(r, 3);
	assert_int_equal(roundtrip(&o, 1, &i, 1), 2);
	assert_int_equal(r[0], VIO_GPIO_STATUS_ERR);
	assert_int_equal(r[2], UNTOUCHED);
}

static void err_no_writable_segment(void **state)
{
	uint8_t *h;
	struct vio_buf o;

	(void) state;
	start();
	h = header(VIO_GPIO_MSG_SET_VALUE, 0, 1, 8);
	o = buf(h, 8);
	assert_int_equal(roundtrip(&o, 1, NULL, 0), 0);
	assert_int_equal(vio_sim_gpio_get_output(&F.chip, 0), 0);
}

static void err_too_many_segments(void **state)
{
	struct vio_buf o[VIO_GPIO_SEGS + 1], i;
	uint8_t *h = NULL, *r;

	(void) state;
	start();
	for (unsigned k = 0; k < VIO_GPIO_SEGS + 1; k++) {
		h = alloc(1);
		o[k] = buf(h, 1);
	}
	r = alloc(2);
	i = buf(r, 2);
	assert_int_equal(roundtrip(o, VIO_GPIO_SEGS + 1, &i, 1), 0);
	assert_int_equal(r[0], UNTOUCHED);
}

static void header_split_across_segments(void **state)
{
	uint8_t *h, *r;
	struct vio_buf o[2], i[2];

	(void) state;
	start();
	h = header(VIO_GPIO_MSG_SET_VALUE, 3, 1, 8);
	r = alloc(2);
	o[0] = buf(h, 3);
	o[1] = buf(h + 3, 5);
	i[0] = buf(r, 1);
	i[1] = buf(r + 1, 1);
	assert_int_equal(roundtrip(o, 2, i, 2), 2);
	assert_int_equal(r[0], VIO_GPIO_STATUS_OK);
	assert_int_equal(vio_sim_gpio_get_output(&F.chip, 3), 1);
}

/* ---- interrupts ---- */

static void irq_unmask_by_queued_buffer(void **state)
{
	uint8_t *s;

	(void) state;
	start();
	set_irq(3, VIO_GPIO_IRQ_TYPE_EDGE_RISING);
	s = ev_queue(3, &F.tokens[1]);
	ev_expect(NULL);
	assert_true(F.lines[3].unmasked);
	assert_int_equal(vio_sim_gpio_set_input(&F.chip, 3, 1), 0);
	ev_expect(&F.tokens[1]);
	assert_int_equal(*s, VIO_GPIO_IRQ_STATUS_VALID);
	assert_int_equal(F.gpio.irqs, 1);
}

static void irq_masked_after_use(void **state)
{
	(void) state;
	start();
	set_irq(3, VIO_GPIO_IRQ_TYPE_EDGE_RISING);
	ev_queue(3, &F.tokens[1]);
	vio_sim_gpio_set_input(&F.chip, 3, 1);
	ev_expect(&F.tokens[1]);
	assert_false(F.lines[3].unmasked);
	vio_sim_gpio_set_input(&F.chip, 3, 0);
	vio_sim_gpio_set_input(&F.chip, 3, 1);
	ev_expect(NULL);
	assert_int_equal(F.gpio.irqs, 1);
}

static void irq_edge_latched_while_masked(void **state)
{
	uint8_t *s;

	(void) state;
	start();
	set_irq(3, VIO_GPIO_IRQ_TYPE_EDGE_FALLING);
	vio_sim_gpio_set_input(&F.chip, 3, 1); /* rising: not the type, not latched */
	assert_false(F.lines[3].latched);
	vio_sim_gpio_set_input(&F.chip, 3, 0);
	assert_true(F.lines[3].latched);
	s = ev_queue(3, &F.tokens[1]);
	ev_expect(&F.tokens[1]);
	assert_int_equal(*s, VIO_GPIO_IRQ_STATUS_VALID);
	assert_false(F.lines[3].latched);
	/* delivered once: the next buffer waits for a new edge */
	ev_queue(3, &F.tokens[2]);
	ev_expect(NULL);
}

static void irq_level_not_latched(void **state)
{
	uint8_t *s;

	(void) state;
	start();
	set_irq(2, VIO_GPIO_IRQ_TYPE_LEVEL_HIGH);
	vio_sim_gpio_set_input(&F.chip, 2, 1);
	vio_sim_gpio_set_input(&F.chip, 2, 0);
	assert_false(F.lines[2].latched);
	s = ev_queue(2, &F.tokens[1]);
	ev_expect(NULL); /* the level went away before the unmask */
	vio_sim_gpio_set_input(&F.chip, 2, 1);
	ev_expect(&F.tokens[1]);
	assert_int_equal(*s, VIO_GPIO_IRQ_STATUS_VALID);
}

static void irq_level_reevaluated_on_unmask(void **state)
{
	(void) state;
	start();
	vio_sim_gpio_set_input(&F.chip, 2, 0);
	set_irq(2, VIO_GPIO_IRQ_TYPE_LEVEL_LOW);
	ev_queue(2, &F.tokens[1]);
	ev_expect(&F.tokens[1]); /* still low: asserted at once */
	ev_queue(2, &F.tokens[2]);
	ev_expect(&F.tokens[2]);
	vio_sim_gpio_set_input(&F.chip, 2, 1);
	ev_queue(2, &F.tokens[3]);
	ev_expect(NULL);
}

static void irq_type_none_returns_pending_invalid(void **state)
{
	uint8_t *s;

	(void) state;
	start();
	set_irq(3, VIO_GPIO_IRQ_TYPE_EDGE_BOTH);
	s = ev_queue(3, &F.tokens[1]);
	ev_expect(NULL);
	set_irq(3, VIO_GPIO_IRQ_TYPE_NONE);
	ev_expect(&F.tokens[1]);
	assert_int_equal(*s, VIO_GPIO_IRQ_STATUS_INVALID);
	assert_false(F.lines[3].unmasked);
	vio_sim_gpio_set_input(&F.chip, 3, 1);
	ev_expect(NULL);
}

static void direction_none_discards_irq_state(void **state)
{
	uint8_t *s;

	(void) state;
	start();
	set_irq(3, VIO_GPIO_IRQ_TYPE_EDGE_RISING);
	s = ev_queue(3, &F.tokens[1]);
	assert_int_equal(request(VIO_GPIO_MSG_SET_DIRECTION, 3, VIO_GPIO_DIRECTION_NONE, NULL),
			 VIO_GPIO_STATUS_OK);
	ev_expect(&F.tokens[1]);
	assert_int_equal(*s, VIO_GPIO_IRQ_STATUS_INVALID);
	assert_int_equal(F.lines[3].irq_type, VIO_GPIO_IRQ_TYPE_NONE);
	assert_int_equal(F.chip_lines[3].irq_type, VIO_GPIO_IRQ_TYPE_NONE);
	vio_sim_gpio_set_input(&F.chip, 3, 1);
	ev_expect(NULL);
}

static void irq_buffer_for_unarmed_line_invalid(void **state)
{
	uint8_t *s;

	(void) state;
	start();
	s = ev_queue(1, &F.tokens[1]);
	ev_expect(&F.tokens[1]);
	assert_int_equal(*s, VIO_GPIO_IRQ_STATUS_INVALID);
}

static void irq_buffer_bad_line_invalid(void **state)
{
	uint8_t *s;

	(void) state;
	start();
	s = ev_queue(NLINES, &F.tokens[1]);
	ev_expect(&F.tokens[1]);
	assert_int_equal(*s, VIO_GPIO_IRQ_STATUS_INVALID);
}

static void irq_buffer_bad_shape_invalid(void **state)
{
	uint8_t *g, *s;
	struct vio_buf o, i;
	void *t;
	uint32_t len;

	(void) state;
	start();
	set_irq(3, VIO_GPIO_IRQ_TYPE_EDGE_BOTH);
	g = alloc(4);
	s = alloc(1);
	memset(g, 0, 4);
	vio_put_le16(g, 3);
	o = buf(g, 4);
	i = buf(s, 1);
	assert_true(vio_drvq_add(&F.eq, &o, 1, &i, 1, &F.tokens[1]) >= 0);
	vio_loopback_kick(&F.lb, 1);
	ev_expect(&F.tokens[1]);
	assert_int_equal(*s, VIO_GPIO_IRQ_STATUS_INVALID);
	assert_false(F.lines[3].unmasked);
	/* no writable byte: returned empty */
	assert_true(vio_drvq_add(&F.eq, &o, 1, NULL, 0, &F.tokens[2]) >= 0);
	vio_loopback_kick(&F.lb, 1);
	assert_int_equal(vio_drvq_get_used(&F.eq, &t, &len), 1);
	assert_ptr_equal(t, &F.tokens[2]);
	assert_int_equal(len, 0);
}

static void irq_second_buffer_for_line_invalid(void **state)
{
	uint8_t *a, *b;

	(void) state;
	start();
	set_irq(3, VIO_GPIO_IRQ_TYPE_EDGE_RISING);
	a = ev_queue(3, &F.tokens[1]);
	b = ev_queue(3, &F.tokens[2]);
	ev_expect(&F.tokens[2]);
	assert_int_equal(*b, VIO_GPIO_IRQ_STATUS_INVALID);
	vio_sim_gpio_set_input(&F.chip, 3, 1);
	ev_expect(&F.tokens[1]);
	assert_int_equal(*a, VIO_GPIO_IRQ_STATUS_VALID);
}

static void irq_feature_not_offered(void **state)
{
	struct vio_drvq eq;

	(void) state;
	start_with(0, ~0ull, names);
	assert_int_equal(F.gpio.dev.num_queues, 1);
	assert_false(F.gpio.dev.host_features & IRQ);
	assert_true(vio_loopback_queue(&F.lb, 1, QSIZE, &eq, F.eslots) < 0);
	expect_err(VIO_GPIO_MSG_SET_IRQ_TYPE, 3, VIO_GPIO_IRQ_TYPE_EDGE_RISING);
	assert_int_equal(F.chip.ops, 0);
}

static void irq_feature_not_negotiated(void **state)
{
	(void) state;
	start_with(IRQ, ~IRQ, names);
	expect_err(VIO_GPIO_MSG_SET_IRQ_TYPE, 3, VIO_GPIO_IRQ_TYPE_EDGE_RISING);
	ev_queue(3, &F.tokens[1]);
	ev_expect(NULL); /* the eventq is not served */
	assert_false(F.lines[3].unmasked);
}

static void reset_disarms_lines(void **state)
{
	(void) state;
	start();
	set_irq(3, VIO_GPIO_IRQ_TYPE_EDGE_RISING);
	ev_queue(3, &F.tokens[1]);
	vio_device_reset(&F.gpio.dev);
	assert_int_equal(F.chip_lines[3].irq_type, VIO_GPIO_IRQ_TYPE_NONE);
	assert_int_equal(F.lines[3].irq_type, VIO_GPIO_IRQ_TYPE_NONE);
	assert_false(F.lines[3].unmasked);
	vio_sim_gpio_set_input(&F.chip, 3, 1); /* nothing to deliver, nothing touched */
}

static void sim_rejects_bad_lines(void **state)
{
	(void) state;
	start();
	assert_int_equal(vio_sim_gpio_set_input(&F.chip, NLINES, 1), -VIO_EINVAL);
	assert_int_equal(vio_sim_gpio_set_input(&F.chip, 0, 2), -VIO_EINVAL);
	assert_int_equal(vio_sim_gpio_get_output(&F.chip, NLINES), -VIO_EINVAL);
	/* an event for a line the device does not have is dropped */
	vio_gpio_line_event(&F.gpio, NLINES, VIO_GPIO_EV_RISING);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(config_bytes, fixture),
	    cmocka_unit_test_setup(config_generated_names, fixture),
	    cmocka_unit_test_setup(config_without_names, fixture),
	    cmocka_unit_test_setup(init_rejects_bad_args, fixture),
	    cmocka_unit_test_setup(get_line_names, fixture),
	    cmocka_unit_test_setup(get_line_names_split_and_generated, fixture),
	    cmocka_unit_test_setup(get_line_names_wrong_size, fixture),
	    cmocka_unit_test_setup(get_line_names_when_none, fixture),
	    cmocka_unit_test_setup(direction_roundtrip, fixture),
	    cmocka_unit_test_setup(set_value_reaches_output, fixture),
	    cmocka_unit_test_setup(get_value_reads_input, fixture),
	    cmocka_unit_test_setup(set_irq_type_reaches_provider, fixture),
	    cmocka_unit_test_setup(err_line_out_of_range, fixture),
	    cmocka_unit_test_setup(err_unknown_type, fixture),
	    cmocka_unit_test_setup(err_bad_direction, fixture),
	    cmocka_unit_test_setup(err_bad_value, fixture),
	    cmocka_unit_test_setup(err_bad_irq_type, fixture),
	    cmocka_unit_test_setup(err_provider_fails, fixture),
	    cmocka_unit_test_setup(err_short_request, fixture),
	    cmocka_unit_test_setup(err_long_request, fixture),
	    cmocka_unit_test_setup(err_response_too_small, fixture),
	    cmocka_unit_test_setup(err_response_too_big, fixture),
	    cmocka_unit_test_setup(err_no_writable_segment, fixture),
	    cmocka_unit_test_setup(err_too_many_segments, fixture),
	    cmocka_unit_test_setup(header_split_across_segments, fixture),
	    cmocka_unit_test_setup(irq_unmask_by_queued_buffer, fixture),
	    cmocka_unit_test_setup(irq_masked_after_use, fixture),
	    cmocka_unit_test_setup(irq_edge_latched_while_masked, fixture),
	    cmocka_unit_test_setup(irq_level_not_latched, fixture),
	    cmocka_unit_test_setup(irq_level_reevaluated_on_unmask, fixture),
	    cmocka_unit_test_setup(irq_type_none_returns_pending_invalid, fixture),
	    cmocka_unit_test_setup(direction_none_discards_irq_state, fixture),
	    cmocka_unit_test_setup(irq_buffer_for_unarmed_line_invalid, fixture),
	    cmocka_unit_test_setup(irq_buffer_bad_line_invalid, fixture),
	    cmocka_unit_test_setup(irq_buffer_bad_shape_invalid, fixture),
	    cmocka_unit_test_setup(irq_second_buffer_for_line_invalid, fixture),
	    cmocka_unit_test_setup(irq_feature_not_offered, fixture),
	    cmocka_unit_test_setup(irq_feature_not_negotiated, fixture),
	    cmocka_unit_test_setup(reset_disarms_lines, fixture),
	    cmocka_unit_test_setup(sim_rejects_bad_lines, fixture),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
