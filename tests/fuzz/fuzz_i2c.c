/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the virtio-i2c request parser behind the loopback transport,
 * over the simulated bus, with request shapes and contents from the input.
 *
 * The ring is well behaved (the virtqueue targets cover a hostile one); the
 * requests in it are not: any number, direction and size of segments, any
 * header, any FAIL_NEXT chaining. The device must answer every request in
 * order once its transaction ends, never break the ring, never report more
 * bytes than the driver offered, and write a valid status byte.
 *
 * Input layout:
 *   0   bit 0 INDIRECT_DESC, bit 1 EVENT_IDX
 *   1   bounce buffer length (0 .. 63)
 *   then operations until the input ends, each a byte:
 *     even  add a request: shape byte (bits 0-2 readable segments, bits 3-5
 *           writable segments, bit 6 through an indirect table, bit 7
 *           well-formed header), a byte per segment length (mod 24), then the
 *           header (well-formed: address selector and flags byte; otherwise 8
 *           raw bytes) and the readable bytes after it
 *     odd   kick
 * At the end a probe without FAIL_NEXT closes any open transaction, after
 * which every request must have come back.
 */
#include "fuzz_util.h"

#include "vioport/errno.h"
#include "vioport/i2c.h"
#include "vioport/loopback.h"
#include "vioport/sim_i2c.h"

#define ARENA_SIZE (1u << 20)
#define BUS_BASE   0x40000000ull
#define QSIZE	   128u
#define MAX_REQS   48u
#define MAX_SEGS   7u

struct rq {
	uint8_t *status; /* last writable byte, NULL when there is none */
	uint32_t in_len;
	bool done;
};

static _Alignas(16) uint8_t arena[ARENA_SIZE];

static struct {
	uint8_t store[VIO_SIM_24C02_SIZE];
	uint8_t bounce[64];
	struct vio_sim_i2c_bus bus;
	struct vio_sim_24c02 eeprom;
	struct vio_sim_lm75 lm75;
	struct vio_i2c i2c;
	struct vio_queue queue;
	struct vio_loopback lb;
	struct vio_drvq dq;
	struct vio_drvq_slot dslots[QSIZE];
	struct rq rqs[MAX_REQS + 1];
	unsigned next_done; /* requests come back in order */
} F;

static const uint16_t addrs[4] = {VIO_SIM_24C02_ADDR, VIO_SIM_LM75_ADDR, 0x33, 0x7f};

/* Takes every used entry back and checks what the device reported. */
static unsigned collect(void)
{
	unsigned got = 0;
	void *token;
	uint32_t len;
	int rc;

	while ((rc = vio_drvq_get_used(&F.dq, &token, &len)) == 1) {
		struct rq *r = token;

		FZ_CHECK(r == &F.rqs[F.next_done]);
		F.next_done++;
		FZ_CHECK(!r->done);
		r->done = true;
		got++;
		if (r->status == NULL) {
			FZ_CHECK(len == 0);
			continue;
		}
		FZ_CHECK(*r->status <= VIO_I2C_MSG_ERR);
		FZ_CHECK(len >= 1 && len <= r->in_len);
		if (*r->status != VIO_I2C_MSG_OK)
			FZ_CHECK(len == 1);
	}
	FZ_CHECK(rc == 0);
	FZ_CHECK(!(F.i2c.dev.status & VIO_STATUS_NEEDS_RESET));
	return got;
}

/* Builds one request from the input and queues it; false when it could not. */
static bool add_request(struct fz_in *in, unsigned k, bool indirect_ok)
{
	uint8_t shape = fz_u8(in);
	unsigned nout = shape & 7u, nin = (shape >> 3) & 7u;
	struct vio_buf out[MAX_SEGS], inb[MAX_SEGS];
	struct rq *r = &F.rqs[k];
	uint8_t hdr[VIO_I2C_OUT_HDR] = {0};
	uint32_t pos = 0;
	int rc;

	nout = nout > MAX_SEGS ? MAX_SEGS : nout;
	nin = nin > MAX_SEGS ? MAX_SEGS : nin;
	if (nout + nin == 0)
		nout = 1;
	if (shape & 0x80u) {
		uint8_t sel = fz_u8(in);

		vio_put_le16(hdr, (uint16_t) (addrs[sel & 3u] << 1));
		vio_put_le32(hdr + 4, (uint32_t) (sel >> 2) & 3u);
	} else {
		for (unsigned i = 0; i < sizeof(hdr); i++)
			hdr[i] = fz_u8(in);
	}
	memset(r, 0, sizeof(*r));
	for (unsigned s = 0; s < nout + nin; s++) {
		uint32_t len = fz_u8(in) % 24u;
		uint8_t *p = vio_loopback_alloc(&F.lb, len ? len : 1, NULL);
		struct vio_buf *b = s < nout ? &out[s] : &inb[s - nout];

		if (p == NULL)
			return false;
		b->addr = vio_loopback_bus(&F.lb, p);
		b->len = len;
		if (s < nout) {
			for (uint32_t i = 0; i < len; i++, pos++)
				p[i] = pos < sizeof(hdr) ? hdr[pos] : fz_u8(in);
		} else {
			memset(p, 0xee, len);
			r->in_len += len;
			if (len != 0)
				r->status = p + len - 1;
		}
	}
	if ((shape & 0x40u) && indirect_ok) {
		struct vio_desc *t = vio_loopback_alloc(&F.lb, (nout + nin) * sizeof(*t), NULL);

		if (t == NULL)
			return false;
		rc = vio_drvq_add_indirect(&F.dq, out, nout, inb, nin, t,
					   vio_loopback_bus(&F.lb, t), r);
	} else {
		rc = vio_drvq_add(&F.dq, out, nout, inb, nin, r);
	}
	return rc >= 0;
}

/* A zero-length probe with no FAIL_NEXT: ends whatever transaction is open. */
static bool add_closer(unsigned k)
{
	uint8_t *h = vio_loopback_alloc(&F.lb, VIO_I2C_OUT_HDR, NULL);
	uint8_t *st = vio_loopback_alloc(&F.lb, 1, NULL);
	struct vio_buf out, in;
	struct rq *r = &F.rqs[k];

	if (h == NULL || st == NULL)
		return false;
	vio_put_le16(h, VIO_SIM_LM75_ADDR << 1);
	memset(r, 0, sizeof(*r));
	r->status = st;
	r->in_len = 1;
	out = (struct vio_buf){vio_loopback_bus(&F.lb, h), VIO_I2C_OUT_HDR};
	in = (struct vio_buf){vio_loopback_bus(&F.lb, st), 1};
	return vio_drvq_add(&F.dq, &out, 1, &in, 1, r) >= 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	uint8_t feat = fz_u8(&in), blen = fz_u8(&in);
	uint64_t features = 0;
	unsigned nreq = 0, ndone = 0;
	bool indirect;

	memset(&F, 0, sizeof(F));
	if (feat & 1u)
		features |= VIO_BIT(VIO_F_INDIRECT_DESC);
	if (feat & 2u)
		features |= VIO_BIT(VIO_F_EVENT_IDX);
	vio_sim_i2c_init(&F.bus);
	vio_sim_24c02_init(&F.eeprom, VIO_SIM_24C02_ADDR, F.store);
	vio_sim_lm75_init(&F.lm75, VIO_SIM_LM75_ADDR);
	FZ_CHECK(vio_sim_i2c_attach(&F.bus, &F.eeprom.dev) == 0);
	FZ_CHECK(vio_sim_i2c_attach(&F.bus, &F.lm75.dev) == 0);
	FZ_CHECK(vio_i2c_init(&F.i2c, &vio_sim_i2c_ops, &F.bus, &F.queue, QSIZE, features, F.bounce,
			      blen % 64u) == 0);
	FZ_CHECK(vio_loopback_init(&F.lb, &F.i2c.dev, arena, sizeof(arena), BUS_BASE) == 0);
	FZ_CHECK(vio_loopback_negotiate(&F.lb, ~VIO_BIT(VIO_F_RING_PACKED)) == 0);
	FZ_CHECK(vio_loopback_queue(&F.lb, 0, QSIZE, &F.dq, F.dslots) == 0);
	FZ_CHECK(vio_loopback_driver_ok(&F.lb) == 0);
	indirect = vio_device_has(&F.i2c.dev, VIO_F_INDIRECT_DESC);

	while (in.n > 0) {
		uint8_t op = fz_u8(&in);

		if ((op & 1u) == 0) {
			if (nreq < MAX_REQS && add_request(&in, nreq, indirect))
				nreq++;
		} else {
			vio_loopback_kick(&F.lb, 0);
		}
		ndone += collect();
	}
	if (add_closer(nreq)) {
		nreq++;
		vio_loopback_kick(&F.lb, 0);
		ndone += collect();
		FZ_CHECK(ndone == nreq);
		FZ_CHECK(F.i2c.npend == 0);
	}
	return 0;
}
