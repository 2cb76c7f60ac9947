/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the virtio-input device behind the loopback transport, over the
 * simulated keyboard or touchscreen, with eventq and statusq buffers, config
 * writes, provider events and simulation calls from the input.
 *
 * The driver side is well behaved at ring level (the virtqueue targets cover a
 * hostile ring); what it sends inside the ring is not. A reference model of
 * the backlog checks the device: it delivers exactly the events it accepted,
 * in order, whole reports only, refuses with -VIO_ENOSPC only when the backlog
 * is full or a report is being dropped, and breaks only after the driver
 * offered a buffer the spec forbids. Config reads always show a size of at
 * most 128 with zeroes after it.
 *
 * Input layout:
 *   0   bit 0 INDIRECT_DESC, bit 1 EVENT_IDX, bit 2 touchscreen (else keyboard)
 *   1   backlog length - 1 (mod 16)
 *   then operations until the input ends, each a byte, op % 8:
 *     0  eventq buffer: shape byte (bit 4: one writable segment of 8 + bits
 *        0-2 bytes; else bits 0-1 readable and bits 2-3 writable segments, a
 *        byte of length (mod 12) per segment)
 *     1  statusq buffer: shape byte as above (bit 4: one readable segment of
 *        8 bytes), then 8 event bytes (type, code, value) for its content
 *     2  config write: offset byte (mod 140), length byte (mod 4), the bytes
 *     3  provider event: type byte, le16 code, le32 value
 *     4  simulation: action byte, then slot/key, x, y bytes
 *     5  kick both queues
 *     6  reset and bring up again (when byte & 0xf0 is 0xf0, at most 8 times)
 *     7  SYN_REPORT from the provider
 */
#include "fuzz_util.h"

#include "vioport/errno.h"
#include "vioport/input.h"
#include "vioport/loopback.h"
#include "vioport/sim_input.h"

#define ARENA_SIZE (1u << 20)
#define BUS_BASE   0x40000000ull
#define QSIZE	   32u
#define MAX_BUFS   64u
#define MAX_SEGS   3u
#define MAX_MODEL  8192u

struct rq {
	uint8_t *seg[MAX_SEGS]; /* writable segments, in order */
	uint32_t seglen[MAX_SEGS];
	unsigned nseg;
	uint32_t in_len;
	bool done;
};

static _Alignas(16) uint8_t arena[ARENA_SIZE];

static struct {
	struct vio_sim_input sim;
	struct vio_input input;
	struct vio_input_event backlog[16];
	struct vio_queue queues[2];
	struct vio_loopback lb;
	struct vio_drvq eq, sq;
	struct vio_drvq_slot eslots[QSIZE], sslots[QSIZE];
	struct rq evs[MAX_BUFS], sts[MAX_BUFS];
	unsigned nev, nst, resets;
	uint32_t backlog_len;
	bool bad_offered; /* a buffer the spec forbids was queued since bring-up */
	/* the reference backlog: accepted events, [head, open) complete, [open, tail) not */
	struct vio_input_event model[MAX_MODEL];
	unsigned m_head, m_open, m_tail;
	bool m_dropping;
	bool full;	      /* the model cannot follow any more: stop feeding events */
	struct vio_input rec; /* where the simulation reports */
	struct vio_input_event rec_backlog[2 * VIO_SIM_INPUT_REPORT];
	struct vio_queue rec_queues[2];
} F;

static bool running(void)
{
	uint8_t s = F.input.dev.status;

	return (s & VIO_STATUS_DRIVER_OK) && !(s & (VIO_STATUS_NEEDS_RESET | VIO_STATUS_FAILED));
}

/* Checks one event the driver got against the model's oldest complete one. */
static void model_delivered(const struct rq *r)
{
	uint8_t raw[VIO_INPUT_EVENT_SIZE];
	uint32_t off = 0;
	const struct vio_input_event *want;

	for (unsigned i = 0; i < r->nseg && off < sizeof(raw); i++) {
		uint32_t n = r->seglen[i] < sizeof(raw) - off ? r->seglen[i] : sizeof(raw) - off;

		memcpy(raw + off, r->seg[i], n);
		off += n;
	}
	FZ_CHECK(off == sizeof(raw));
	FZ_CHECK(F.m_head < F.m_open); /* only complete reports go out */
	want = &F.model[F.m_head++];
	FZ_CHECK(vio_get_le16(raw) == want->type);
	FZ_CHECK(vio_get_le16(raw + 2) == want->code);
	FZ_CHECK((int32_t) vio_get_le32(raw + 4) == want->value);
}

/* Takes every used entry of both queues back and checks what the device reported. */
static void collect(void)
{
	void *token;
	uint32_t len;
	int rc;

	while ((rc = vio_drvq_get_used(&F.eq, &token, &len)) == 1) {
		struct rq *r = token;

		FZ_CHECK(!r->done);
		r->done = true;
		FZ_CHECK(len == 0 || len == VIO_INPUT_EVENT_SIZE);
		FZ_CHECK(len <= r->in_len);
		if (len != 0)
			model_delivered(r);
	}
	FZ_CHECK(rc == 0);
	while ((rc = vio_drvq_get_used(&F.sq, &token, &len)) == 1) {
		struct rq *r = token;

		FZ_CHECK(!r->done);
		r->done = true;
		FZ_CHECK(len == 0);
	}
	FZ_CHECK(rc == 0);
	if (F.input.dev.status & VIO_STATUS_NEEDS_RESET)
		FZ_CHECK(F.bad_offered);
	FZ_CHECK(F.input.ncommit == F.m_open - F.m_head || !running());
	FZ_CHECK(vio_input_backlog_room(&F.input) <= F.backlog_len);
}

/* Feeds the model what vio_input_send answered for one event. */
static void model_send(uint16_t type, uint16_t code, int32_t value, int rc)
{
	bool syn = type == VIO_INPUT_EV_SYN && code == VIO_INPUT_SYN_REPORT;

	if (rc == -VIO_EAGAIN) {
		FZ_CHECK(!running());
		return;
	}
	if (rc == -VIO_ENOSPC) {
		FZ_CHECK(F.m_dropping || F.m_tail - F.m_head == F.backlog_len);
		if (!F.m_dropping)
			F.m_tail = F.m_open;
		F.m_dropping = !syn;
		return;
	}
	FZ_CHECK(rc == 0);
	FZ_CHECK(!F.m_dropping && F.m_tail - F.m_head < F.backlog_len);
	F.model[F.m_tail++] = (struct vio_input_event){type, code, value};
	if (syn)
		F.m_open = F.m_tail;
	if (F.m_tail == MAX_MODEL)
		F.full = true;
}

/* Sends one event; what the device delivers at once is checked right after. */
static void send(uint16_t type, uint16_t code, int32_t value)
{
	if (F.full)
		return;
	collect(); /* the model's head up to date before it judges the answer */
	model_send(type, code, value, vio_input_send(&F.input, type, code, value));
	collect();
}

static uint8_t *seg(uint32_t len)
{
	uint8_t *p = vio_loopback_alloc(&F.lb, len ? len : 1, NULL);

	if (p != NULL)
		memset(p, 0xee, len ? len : 1);
	return p;
}

/* Queues one buffer on q; readable segments take their bytes from content. */
static void add_buf(struct fz_in *in, uint16_t q, const uint8_t *content)
{
	uint8_t shape = fz_u8(in);
	unsigned nout, nin;
	uint32_t lens[2 * MAX_SEGS];
	struct vio_buf out[MAX_SEGS], inb[MAX_SEGS];
	struct vio_drvq *dq = q == VIO_INPUT_EVENTQ ? &F.eq : &F.sq;
	struct rq *r = q == VIO_INPUT_EVENTQ ? &F.evs[F.nev] : &F.sts[F.nst];
	uint32_t rlen = 0, off = 0;

	memset(r, 0, sizeof(*r));
	if (shape & 0x10u) {
		nout = q == VIO_INPUT_EVENTQ ? 0 : 1;
		nin = 1 - nout;
		lens[0] = VIO_INPUT_EVENT_SIZE + (q == VIO_INPUT_EVENTQ ? (shape & 7u) : 0);
	} else {
		nout = shape & 3u;
		nin = (shape >> 2) & 3u;
		nout = nout > MAX_SEGS ? MAX_SEGS : nout;
		nin = nin > MAX_SEGS ? MAX_SEGS : nin;
		if (nout + nin == 0)
			nin = 1;
		for (unsigned s = 0; s < nout + nin; s++)
			lens[s] = fz_u8(in) % 12u + 1u;
	}
	for (unsigned s = 0; s < nout + nin; s++) {
		uint8_t *p = seg(lens[s]);

		if (p == NULL)
			return;
		if (s < nout) {
			out[s] = (struct vio_buf){vio_loopback_bus(&F.lb, p), lens[s]};
			for (uint32_t i = 0; i < lens[s]; i++, off++)
				p[i] = content != NULL && off < VIO_INPUT_EVENT_SIZE ? content[off]
										     : 0;
			rlen += lens[s];
		} else {
			inb[s - nout] = (struct vio_buf){vio_loopback_bus(&F.lb, p), lens[s]};
			r->seg[r->nseg] = p;
			r->seglen[r->nseg++] = lens[s];
			r->in_len += lens[s];
		}
	}
	if (q == VIO_INPUT_EVENTQ && (nout != 0 || r->in_len < VIO_INPUT_EVENT_SIZE))
		F.bad_offered = true;
	if (q == VIO_INPUT_STATUSQ && rlen < VIO_INPUT_EVENT_SIZE)
		F.bad_offered = true;
	if (vio_drvq_add(dq, out, nout, inb, nin, r) >= 0) {
		if (q == VIO_INPUT_EVENTQ)
			F.nev++;
		else
			F.nst++;
		vio_loopback_kick(&F.lb, q);
	}
}

static void config_write(struct fz_in *in)
{
	uint8_t cfg[VIO_INPUT_CONFIG_SIZE], bytes[4];
	uint32_t off = fz_u8(in) % 140u, len = fz_u8(in) % 4u;
	int rc;

	for (uint32_t i = 0; i < len; i++)
		bytes[i] = fz_u8(in);
	rc = vio_device_write_config(&F.input.dev, off, bytes, len);
	FZ_CHECK(rc == 0 || rc == -VIO_EPERM || rc == -VIO_ERANGE);
	FZ_CHECK(rc != 0 || off + len <= VIO_INPUT_CFG_SIZE);
	FZ_CHECK(vio_device_read_config(&F.input.dev, 0, cfg, sizeof(cfg)) == 0);
	FZ_CHECK(cfg[VIO_INPUT_CFG_SIZE] <= VIO_INPUT_CFG_U_SIZE);
	for (uint32_t i = 3; i < VIO_INPUT_CFG_U; i++)
		FZ_CHECK(cfg[i] == 0);
	for (uint32_t i = VIO_INPUT_CFG_U + cfg[VIO_INPUT_CFG_SIZE]; i < sizeof(cfg); i++)
		FZ_CHECK(cfg[i] == 0);
	FZ_CHECK(F.input.dev.config_generation == 0);
}

/*
 * Runs one simulation call. The simulation reports to a recording device
 * (DRIVER_OK, no queues: it only keeps the events), and its events are then
 * sent to the device under test through the model.
 */
static void sim_action(struct fz_in *in)
{
	uint8_t act = fz_u8(in), a = fz_u8(in), x = fz_u8(in), y = fz_u8(in);
	int rc;

	F.rec.head = 0;
	if (F.sim.kind == VIO_SIM_INPUT_KEYBOARD) {
		if (act & 1u)
			rc = vio_sim_input_key(&F.sim, a, (act & 2u) != 0);
		else
			rc = vio_sim_input_tap(&F.sim, a);
		FZ_CHECK(rc == 0 || (rc == -VIO_EINVAL && a == 0));
	} else if (act & 1u) {
		rc = vio_sim_input_touch(&F.sim, a % 4u, x * 4, y * 2);
		FZ_CHECK(rc == 0);
	} else {
		FZ_CHECK(vio_sim_input_lift(&F.sim, a % 4u) == 0);
	}
	/* the simulation completes every report it starts */
	FZ_CHECK(F.rec.nopen == 0);
	for (uint32_t i = 0; i < F.rec.ncommit; i++)
		send(F.rec_backlog[i].type, F.rec_backlog[i].code, F.rec_backlog[i].value);
	F.rec.ncommit = 0;
}

static void bring_up(uint64_t want)
{
	FZ_CHECK(vio_loopback_negotiate(&F.lb, want) == 0);
	FZ_CHECK(vio_loopback_queue(&F.lb, VIO_INPUT_EVENTQ, QSIZE, &F.eq, F.eslots) == 0);
	FZ_CHECK(vio_loopback_queue(&F.lb, VIO_INPUT_STATUSQ, QSIZE, &F.sq, F.sslots) == 0);
	FZ_CHECK(vio_loopback_driver_ok(&F.lb) == 0);
	F.bad_offered = false;
	F.m_head = F.m_open = F.m_tail = 0;
	F.m_dropping = false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	uint8_t feat = fz_u8(&in);
	uint64_t offer = 0;

	memset(&F, 0, sizeof(F));
	F.backlog_len = fz_u8(&in) % 16u + 1u;
	if (feat & 1u)
		offer |= VIO_BIT(VIO_F_INDIRECT_DESC);
	if (feat & 2u)
		offer |= VIO_BIT(VIO_F_EVENT_IDX);
	if (feat & 4u)
		FZ_CHECK(vio_sim_input_init_touchscreen(&F.sim, 1024, 512, 4, 4) == 0);
	else
		vio_sim_input_init_keyboard(&F.sim);
	FZ_CHECK(vio_input_init(&F.input, &vio_sim_input_ops, &F.sim, F.backlog, F.backlog_len,
				F.queues, QSIZE, offer) == 0);
	FZ_CHECK(vio_input_init(&F.rec, &vio_sim_input_ops, &F.sim, F.rec_backlog,
				2 * VIO_SIM_INPUT_REPORT, F.rec_queues, QSIZE, 0) == 0);
	F.rec.dev.status = VIO_STATUS_DRIVER_OK;
	vio_sim_input_attach(&F.sim, &F.rec);
	FZ_CHECK(vio_loopback_init(&F.lb, &F.input.dev, arena, sizeof(arena), BUS_BASE) == 0);
	bring_up(~0ull);

	while (in.n > 0 && F.nev < MAX_BUFS && F.nst < MAX_BUFS) {
		uint8_t op = fz_u8(&in);

		switch (op & 7u) {
		case 0:
			add_buf(&in, VIO_INPUT_EVENTQ, NULL);
			break;
		case 1: {
			uint8_t content[VIO_INPUT_EVENT_SIZE];

			for (unsigned i = 0; i < sizeof(content); i++)
				content[i] = fz_u8(&in);
			add_buf(&in, VIO_INPUT_STATUSQ, content);
			break;
		}
		case 2:
			config_write(&in);
			break;
		case 3: {
			uint8_t type = fz_u8(&in);
			uint16_t code = fz_u16(&in);

			send(type, code, (int32_t) fz_u32(&in));
			break;
		}
		case 4:
			sim_action(&in);
			break;
		case 5:
			vio_loopback_kick(&F.lb, VIO_INPUT_EVENTQ);
			vio_loopback_kick(&F.lb, VIO_INPUT_STATUSQ);
			break;
		case 6:
			/* each bring-up takes fresh rings from the arena: bound them */
			if ((op & 0xf0u) != 0xf0u || F.resets == 8)
				break;
			F.resets++;
			collect();
			vio_device_reset(&F.input.dev);
			FZ_CHECK(vio_input_backlog_room(&F.input) == F.backlog_len);
			F.nev = F.nst = 0;
			memset(F.evs, 0, sizeof(F.evs));
			memset(F.sts, 0, sizeof(F.sts));
			bring_up(~0ull);
			break;
		default:
			send(VIO_INPUT_EV_SYN, VIO_INPUT_SYN_REPORT, 0);
			break;
		}
		collect();
	}
	return 0;
}
