/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the virtio-gpio request parser and interrupt state behind the
 * loopback transport, over the simulated chip, with request shapes, contents,
 * eventq buffers and input changes from the input.
 *
 * The driver side is well behaved at ring level (the virtqueue targets cover a
 * hostile ring); what it sends inside the ring is not. The device must answer
 * every request at once with a valid status, never report more bytes than the
 * driver offered, never break the ring, return each eventq buffer at most once
 * with a valid status, and keep the chip's state inside its ranges.
 *
 * Input layout:
 *   0   bit 0 offer VIO_GPIO_F_IRQ, bit 1 driver takes it, bit 2 generated
 *       names, bit 3 INDIRECT_DESC, bit 4 EVENT_IDX
 *   1   lines - 1 (1 .. 8)
 *   then operations until the input ends, each a byte:
 *     0 mod 4  request: shape byte (bits 0-1 readable segments, bits 2-3
 *              writable segments, bit 4 well-formed header), le16 per segment
 *              length (mod 40), then the header (well-formed: type, line and
 *              value bytes; otherwise raw bytes for every readable byte)
 *     1 mod 4  eventq buffer: line byte, shape byte (bit 0 two-byte request,
 *              bit 1 one-byte response)
 *     2 mod 4  drive an input: line byte, level byte
 *     3 mod 4  reset the device and bring it up again (when byte & 0xf0 is 0xf0,
 *              at most 8 times)
 */
#include "fuzz_util.h"

#include "vioport/errno.h"
#include "vioport/gpio.h"
#include "vioport/loopback.h"
#include "vioport/sim_gpio.h"

#define ARENA_SIZE (1u << 20)
#define BUS_BASE   0x40000000ull
#define MAX_LINES  8u
#define QSIZE	   64u
#define MAX_REQS   48u
#define MAX_SEGS   3u

struct rq {
	uint8_t *status; /* first writable byte, NULL when there is none */
	uint32_t in_len;
	bool done;
};

static _Alignas(16) uint8_t arena[ARENA_SIZE];

static struct {
	struct vio_sim_gpio chip;
	struct vio_sim_gpio_line chip_lines[MAX_LINES];
	struct vio_gpio gpio;
	struct vio_gpio_line lines[MAX_LINES];
	struct vio_queue queues[2];
	struct vio_loopback lb;
	struct vio_drvq dq, eq;
	struct vio_drvq_slot dslots[QSIZE], eslots[QSIZE];
	struct rq rqs[MAX_REQS], evs[MAX_REQS];
	unsigned nreq, nev, resets;
	bool irq;
} F;

static const char *const names[MAX_LINES] = {"a", NULL, "ccc", "", "line-four", "5", NULL, "x"};

/* Takes every used entry of both queues back and checks what the device reported. */
static void collect(void)
{
	void *token;
	uint32_t len;
	int rc;

	while ((rc = vio_drvq_get_used(&F.dq, &token, &len)) == 1) {
		struct rq *r = token;

		FZ_CHECK(!r->done);
		r->done = true;
		FZ_CHECK(len <= r->in_len);
		if (r->status == NULL) {
			FZ_CHECK(len == 0);
			continue;
		}
		if (len != 0)
			FZ_CHECK(*r->status <= VIO_GPIO_STATUS_ERR);
	}
	FZ_CHECK(rc == 0);
	if (F.irq) {
		while ((rc = vio_drvq_get_used(&F.eq, &token, &len)) == 1) {
			struct rq *r = token;

			FZ_CHECK(!r->done);
			r->done = true;
			FZ_CHECK(len <= 1);
			if (len == 1)
				FZ_CHECK(*r->status <= VIO_GPIO_IRQ_STATUS_VALID);
		}
		FZ_CHECK(rc == 0);
	}
	FZ_CHECK(!(F.gpio.dev.status & VIO_STATUS_NEEDS_RESET));
}

/* Allocates a segment; readable ones are filled from fill, writable ones poisoned. */
static uint8_t *seg(uint32_t len)
{
	uint8_t *p = vio_loopback_alloc(&F.lb, len ? len : 1, NULL);

	if (p != NULL)
		memset(p, 0xee, len ? len : 1);
	return p;
}

static void add_request(struct fz_in *in)
{
	uint8_t shape = fz_u8(in);
	unsigned nout = shape & 3u, nin = (shape >> 2) & 3u;
	struct vio_buf out[MAX_SEGS], inb[MAX_SEGS];
	uint8_t hdr[VIO_GPIO_REQ_SIZE];
	struct rq *r = &F.rqs[F.nreq];
	uint32_t hoff = 0;

	nout = nout > MAX_SEGS ? MAX_SEGS : nout;
	nin = nin > MAX_SEGS ? MAX_SEGS : nin;
	if (nout + nin == 0)
		nout = 1;
	memset(r, 0, sizeof(*r));
	memset(hdr, 0, sizeof(hdr));
	if (shape & 0x10u) {
		vio_put_le16(hdr, fz_u8(in) % 8u);
		vio_put_le16(hdr + 2, fz_u8(in) % 10u);
		vio_put_le32(hdr + 4, fz_u8(in) % 10u);
	}
	for (unsigned s = 0; s < nout + nin; s++) {
		uint32_t len = fz_u16(in) % 40u;
		uint8_t *p = seg(len);

		if (p == NULL)
			return;
		if (s < nout) {
			out[s] = (struct vio_buf){vio_loopback_bus(&F.lb, p), len};
			for (uint32_t i = 0; i < len; i++, hoff++)
				p[i] =
				    (shape & 0x10u) && hoff < sizeof(hdr) ? hdr[hoff] : fz_u8(in);
		} else {
			inb[s - nout] = (struct vio_buf){vio_loopback_bus(&F.lb, p), len};
			if (r->status == NULL && len != 0)
				r->status = p;
			r->in_len += len;
		}
	}
	if (vio_drvq_add(&F.dq, out, nout, inb, nin, r) >= 0) {
		F.nreq++;
		vio_loopback_kick(&F.lb, 0);
	}
}

static void add_event(struct fz_in *in)
{
	uint8_t line = fz_u8(in), shape = fz_u8(in);
	uint32_t olen = (shape & 1u) ? 2u : 3u, ilen = (shape & 2u) ? 1u : 2u;
	uint8_t *g = seg(olen), *s = seg(ilen);
	struct rq *r = &F.evs[F.nev];
	struct vio_buf o, i;

	if (!F.irq || g == NULL || s == NULL)
		return;
	memset(r, 0, sizeof(*r));
	vio_put_le16(g, line % 10u);
	o = (struct vio_buf){vio_loopback_bus(&F.lb, g), olen};
	i = (struct vio_buf){vio_loopback_bus(&F.lb, s), ilen};
	r->status = s + ilen - 1;
	r->in_len = ilen;
	if (vio_drvq_add(&F.eq, &o, 1, &i, 1, r) >= 0) {
		F.nev++;
		vio_loopback_kick(&F.lb, 1);
	}
}

/* Negotiates and sets the queues up (again after a reset). */
static void bring_up(uint64_t want)
{
	FZ_CHECK(vio_loopback_negotiate(&F.lb, want) == 0);
	FZ_CHECK(vio_loopback_queue(&F.lb, 0, QSIZE, &F.dq, F.dslots) == 0);
	if (F.irq)
		FZ_CHECK(vio_loopback_queue(&F.lb, 1, QSIZE, &F.eq, F.eslots) == 0);
	FZ_CHECK(vio_loopback_driver_ok(&F.lb) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	uint8_t feat = fz_u8(&in);
	uint16_t nlines = (uint16_t) (fz_u8(&in) % MAX_LINES + 1u);
	uint64_t offer = 0, want = ~0ull;

	memset(&F, 0, sizeof(F));
	if (feat & 1u)
		offer |= VIO_BIT(VIO_GPIO_F_IRQ);
	if (!(feat & 2u))
		want &= ~VIO_BIT(VIO_GPIO_F_IRQ);
	if (feat & 8u)
		offer |= VIO_BIT(VIO_F_INDIRECT_DESC);
	if (feat & 16u)
		offer |= VIO_BIT(VIO_F_EVENT_IDX);
	F.irq = (feat & 1u) != 0;
	vio_sim_gpio_init(&F.chip, F.chip_lines, nlines, (feat & 4u) ? NULL : names);
	FZ_CHECK(vio_gpio_init(&F.gpio, &vio_sim_gpio_ops, &F.chip, nlines, F.lines, F.queues,
			       QSIZE, offer) == 0);
	vio_sim_gpio_attach(&F.chip, &F.gpio);
	FZ_CHECK(vio_loopback_init(&F.lb, &F.gpio.dev, arena, sizeof(arena), BUS_BASE) == 0);
	bring_up(want);

	while (in.n > 0 && F.nreq < MAX_REQS && F.nev < MAX_REQS) {
		uint8_t op = fz_u8(&in);

		switch (op & 3u) {
		case 0:
			add_request(&in);
			break;
		case 1:
			add_event(&in);
			break;
		case 2: {
			uint8_t line = fz_u8(&in), level = fz_u8(&in);

			vio_sim_gpio_set_input(&F.chip, line % 10u, level % 3u);
			break;
		}
		default:
			/* each bring-up takes fresh rings from the arena: bound them */
			if ((op & 0xf0u) != 0xf0u || F.resets == 8)
				break;
			F.resets++;
			collect();
			/* buffers outstanding at the reset are gone with the old rings */
			vio_device_reset(&F.gpio.dev);
			F.nreq = F.nev = 0;
			memset(F.rqs, 0, sizeof(F.rqs));
			memset(F.evs, 0, sizeof(F.evs));
			bring_up(want);
			break;
		}
		collect();
		/* requests are answered at once */
		for (unsigned k = 0; k < F.nreq; k++)
			FZ_CHECK(F.rqs[k].done);
	}
	for (uint16_t i = 0; i < nlines; i++) {
		FZ_CHECK(F.chip_lines[i].dir <= VIO_GPIO_DIRECTION_IN);
		FZ_CHECK(F.chip_lines[i].output <= 1);
		FZ_CHECK(F.lines[i].irq_type <= VIO_GPIO_IRQ_TYPE_LEVEL_LOW);
		if (F.lines[i].irq_type == VIO_GPIO_IRQ_TYPE_NONE)
			FZ_CHECK(!F.lines[i].unmasked);
	}
	return 0;
}
