/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the virtio-console device (data buffers, control messages,
 * backpressure, emergency write) behind the loopback transport, over the
 * simulated ports, with buffer shapes, control messages and host actions
 * from the input.
 *
 * The driver side is well behaved at ring level (the virtqueue targets cover a
 * hostile ring); what it puts in the ring is not. The device must never break
 * the ring, never report more bytes than a buffer holds, return each buffer
 * at most once, send only well-formed control messages a device may send
 * (one PORT_ADD per port and session), and lose, duplicate or reorder no byte:
 * the driver writes a known sequence per port and the host reads it back in
 * order (line ports) or the driver receives it back (echo ports); the host
 * writes a known sequence that the driver receives in order.
 *
 * Input layout:
 *   0   bit 0 offer MULTIPORT, bit 1 driver takes it, bit 2 F_SIZE,
 *       bit 3 F_EMERG_WRITE, bit 4 INDIRECT_DESC, bit 5 EVENT_IDX
 *   1   bits 0-1 ports - 1 (1 .. 3 with multiport), bits 2-4 echo ports
 *   then operations until the input ends, a byte each (low 3 bits):
 *     0  transmit buffer: port byte, shape byte (bits 0-1 readable segments,
 *        bits 2-3 writable), le16 length (mod 64) per segment
 *     1  receive buffer: port byte, shape byte, lengths as above
 *     2  control message: shape byte (bit 0 raw: length byte mod 12 and raw
 *        bytes; else id byte mod 5 or BAD_ID at 4, event byte mod 9, value
 *        byte mod 3)
 *     3  control receive buffer: length byte (mod 48)
 *     4  host writes to a line port: port byte, length byte (mod 80)
 *     5  host reads a line port: port byte, cap byte; or read_line when bit 7
 *     6  host action: byte mod 4: set size, host open/close, emergency
 *        write, per-call cap
 *     7  reset and bring up again (when byte & 0xf0 is 0xf0, at most 6 times)
 */
#include "fuzz_util.h"

#include "vioport/console.h"
#include "vioport/errno.h"
#include "vioport/loopback.h"
#include "vioport/sim_console.h"

#define ARENA_SIZE (1u << 20)
#define BUS_BASE   0x40000000ull
#define MAXPORTS   3u
#define NQ	   (2u * MAXPORTS + 2u)
#define QSIZE	   32u
#define MAX_BUFS   160u
#define MAX_SEGS   3u

struct fb {
	bool used;
	uint16_t q;
	uint8_t nin;
	uint8_t *in[MAX_SEGS];
	uint32_t in_len[MAX_SEGS];
	bool valid_tx; /* a transmit buffer the device must deliver */
};

static _Alignas(16) uint8_t arena[ARENA_SIZE];
static const char *const names[MAXPORTS] = {NULL, "a.port", ""};

static struct {
	struct vio_sim_console sim;
	struct vio_sim_console_port sim_ports[MAXPORTS];
	struct vio_console con;
	struct vio_console_port ports[MAXPORTS];
	struct vio_queue queues[NQ];
	struct vio_loopback lb;
	struct vio_drvq dq[NQ];
	struct vio_drvq_slot slots[NQ][QSIZE];
	struct fb bufs[MAX_BUFS];
	unsigned nbufs, resets;
	uint32_t nports;
	uint8_t kinds[MAXPORTS];
	bool mp;
	uint64_t want;
	uint32_t drv_sent[MAXPORTS];  /* bytes of the driver's sequence written */
	uint32_t host_got[MAXPORTS];  /* of those, read back by the host (line ports) */
	uint32_t host_sent[MAXPORTS]; /* bytes of the host's sequence accepted */
	uint32_t drv_got[MAXPORTS];   /* bytes the driver received */
	bool added[MAXPORTS];
	bool emerg_mixed; /* emergency characters are in port 0's stream */
	uint32_t emerg_n;
} F;

static uint8_t drv_byte(uint32_t port, uint32_t k)
{
	return (uint8_t) (k * 7u + port * 50u + 1u);
}

static uint8_t host_byte(uint32_t port, uint32_t k)
{
	return (uint8_t) (k * 13u + port * 90u + 3u);
}

static uint16_t nqueues(void)
{
	return vio_console_num_queues(F.nports,
				      F.mp && (F.want & VIO_BIT(VIO_CONSOLE_F_MULTIPORT)));
}

/* Checks a control message the device sent. */
static void check_ctrl(const uint8_t *m, uint32_t len)
{
	uint32_t id = vio_get_le32(m);
	uint16_t ev = vio_get_le16(m + 4), val = vio_get_le16(m + 6);

	FZ_CHECK(len >= VIO_CONSOLE_CTRL_SIZE && id < F.nports);
	switch (ev) {
	case VIO_CONSOLE_PORT_ADD:
		FZ_CHECK(!F.added[id] && len == VIO_CONSOLE_CTRL_SIZE && val == 1);
		F.added[id] = true;
		break;
	case VIO_CONSOLE_CONSOLE_PORT:
		FZ_CHECK(id == 0 && F.added[id] && len == VIO_CONSOLE_CTRL_SIZE);
		break;
	case VIO_CONSOLE_RESIZE:
		FZ_CHECK(id == 0 && len == VIO_CONSOLE_CTRL_SIZE + VIO_CONSOLE_RESIZE_SIZE);
		break;
	case VIO_CONSOLE_PORT_OPEN:
		FZ_CHECK(F.added[id] && len == VIO_CONSOLE_CTRL_SIZE && val <= 1);
		break;
	case VIO_CONSOLE_PORT_NAME:
		FZ_CHECK(F.added[id] && len > VIO_CONSOLE_CTRL_SIZE + 1 &&
			 len <= VIO_CONSOLE_CTRL_SIZE + VIO_CONSOLE_NAME_MAX && m[len - 1] == '\0');
		break;
	default:
		FZ_CHECK(0);
	}
}

/* Gathers len bytes of a buffer's writable segments into out. */
static void gather(const struct fb *b, uint32_t len, uint8_t *out)
{
	uint32_t off = 0;

	for (unsigned s = 0; s < b->nin && off < len; s++) {
		uint32_t n = len - off < b->in_len[s] ? len - off : b->in_len[s];

		memcpy(out + off, b->in[s], n);
		off += n;
	}
}

static void collect(void)
{
	uint8_t data[3 * 64];

	for (uint16_t q = 0; q < nqueues(); q++) {
		void *token;
		uint32_t len;
		int rc;

		while ((rc = vio_drvq_get_used(&F.dq[q], &token, &len)) == 1) {
			struct fb *b = token;
			uint32_t room = 0;

			FZ_CHECK(!b->used && b->q == q);
			b->used = true;
			for (unsigned s = 0; s < b->nin; s++)
				room += b->in_len[s];
			FZ_CHECK(len <= room);
			if (q == VIO_CONSOLE_CTXQ || q % 2u == 1u) {
				FZ_CHECK(len == 0);
				continue;
			}
			if (len == 0)
				continue;
			gather(b, len, data);
			if (q == VIO_CONSOLE_CRXQ) {
				check_ctrl(data, len);
				continue;
			}
			uint32_t port = q < 2 ? 0 : q / 2u - 1u;

			for (uint32_t k = 0; k < len; k++) {
				uint32_t at = F.drv_got[port]++;

				if (F.kinds[port] == VIO_SIM_CONSOLE_ECHO) {
					if (!(port == 0 && F.emerg_mixed))
						FZ_CHECK(data[k] == drv_byte(port, at));
				} else {
					FZ_CHECK(data[k] == host_byte(port, at));
				}
			}
		}
		FZ_CHECK(rc == 0);
	}
	FZ_CHECK(!(F.con.dev.status & VIO_STATUS_NEEDS_RESET));
	for (uint32_t p = 0; p < F.nports; p++) {
		FZ_CHECK(F.drv_got[p] <= (F.kinds[p] == VIO_SIM_CONSOLE_ECHO
					      ? F.drv_sent[p] + F.emerg_n
					      : F.host_sent[p]));
		FZ_CHECK(F.host_got[p] <= F.drv_sent[p] + (p == 0 ? F.emerg_n : 0));
	}
}

static uint8_t *seg(uint32_t len)
{
	return vio_loopback_alloc(&F.lb, len ? len : 1, NULL);
}

static void add_buf(struct fz_in *in, bool transmit)
{
	uint32_t port = fz_u8(in) % F.nports;
	uint8_t shape = fz_u8(in);
	unsigned nout = (shape & 3u) % (MAX_SEGS + 1), nin = ((shape >> 2) & 3u) % (MAX_SEGS + 1);
	uint16_t q = (uint16_t) (transmit ? VIO_CONSOLE_TXQ(port) : VIO_CONSOLE_RXQ(port));
	struct vio_buf out[MAX_SEGS], inb[MAX_SEGS];
	struct fb *b = &F.bufs[F.nbufs];
	uint32_t rlen = 0, wlen = 0, seq = F.drv_sent[port];

	if (q >= nqueues())
		return;
	if (nout + nin == 0)
		nout = 1;
	memset(b, 0, sizeof(*b));
	b->q = q;
	for (unsigned s = 0; s < nout + nin; s++) {
		uint32_t len = fz_u16(in) % 64u;
		uint8_t *p = seg(len);

		if (p == NULL)
			return;
		if (s < nout) {
			for (uint32_t i = 0; i < len; i++)
				p[i] = drv_byte(port, seq + rlen + i);
			out[s] = (struct vio_buf){vio_loopback_bus(&F.lb, p), len};
			rlen += len;
		} else {
			memset(p, 0xee, len ? len : 1);
			inb[s - nout] = (struct vio_buf){vio_loopback_bus(&F.lb, p), len};
			b->in[b->nin] = p;
			b->in_len[b->nin++] = len;
			wlen += len;
		}
	}
	/* zero-length segments are no segments: a chain of them has no writable part */
	b->valid_tx = transmit && wlen == 0 && rlen != 0;
	if (vio_drvq_add(&F.dq[q], out, nout, inb, nin, b) < 0)
		return;
	F.nbufs++;
	/* only a well-formed transmit buffer moves the sequence on */
	if (b->valid_tx)
		F.drv_sent[port] += rlen;
	vio_loopback_kick(&F.lb, q);
}

static void add_ctrl(struct fz_in *in)
{
	uint8_t shape = fz_u8(in), m[12] = {0};
	uint32_t len = VIO_CONSOLE_CTRL_SIZE;
	struct fb *b = &F.bufs[F.nbufs];
	uint8_t *p;
	struct vio_buf o;

	if (VIO_CONSOLE_CTXQ >= nqueues())
		return;
	if (shape & 1u) {
		len = fz_u8(in) % 12u;
		for (uint32_t i = 0; i < len; i++)
			m[i] = fz_u8(in);
	} else {
		uint8_t id = fz_u8(in) % 5u;

		vio_put_le32(m, id == 4 ? VIO_CONSOLE_BAD_ID : id);
		vio_put_le16(m + 4, fz_u8(in) % 9u);
		vio_put_le16(m + 6, fz_u8(in) % 3u);
	}
	p = seg(len);
	if (p == NULL)
		return;
	memcpy(p, m, len);
	memset(b, 0, sizeof(*b));
	b->q = VIO_CONSOLE_CTXQ;
	o = (struct vio_buf){vio_loopback_bus(&F.lb, p), len};
	if (vio_drvq_add(&F.dq[VIO_CONSOLE_CTXQ], &o, 1, NULL, 0, b) < 0)
		return;
	F.nbufs++;
	vio_loopback_kick(&F.lb, VIO_CONSOLE_CTXQ);
	/* control messages are answered at once: Linux spins until they are */
	collect();
	FZ_CHECK(b->used);
}

static void add_ctrl_rx(struct fz_in *in)
{
	uint32_t len = fz_u8(in) % 48u;
	struct fb *b = &F.bufs[F.nbufs];
	uint8_t *p = seg(len);
	struct vio_buf i;

	if (p == NULL || VIO_CONSOLE_CRXQ >= nqueues())
		return;
	memset(b, 0, sizeof(*b));
	b->q = VIO_CONSOLE_CRXQ;
	b->nin = 1;
	b->in[0] = p;
	b->in_len[0] = len;
	i = (struct vio_buf){vio_loopback_bus(&F.lb, p), len};
	if (vio_drvq_add(&F.dq[VIO_CONSOLE_CRXQ], NULL, 0, &i, 1, b) < 0)
		return;
	F.nbufs++;
	vio_loopback_kick(&F.lb, VIO_CONSOLE_CRXQ);
}

static void host_write(struct fz_in *in)
{
	uint32_t port = fz_u8(in) % F.nports, len = fz_u8(in) % 80u;
	uint8_t data[80];
	int n;

	if (F.kinds[port] != VIO_SIM_CONSOLE_LINE)
		return;
	for (uint32_t i = 0; i < len; i++)
		data[i] = host_byte(port, F.host_sent[port] + i);
	/* count what the simulation took before it can reach the driver */
	n = (int) (VIO_SIM_CONSOLE_BUF - F.sim_ports[port].to_driver.len);
	n = n < (int) len ? n : (int) len;
	F.host_sent[port] += (uint32_t) n;
	FZ_CHECK(vio_sim_console_write(&F.sim, port, data, len) == n);
}

static void host_read(struct fz_in *in)
{
	uint32_t port = fz_u8(in) % F.nports;
	uint8_t cap = fz_u8(in), data[VIO_SIM_CONSOLE_BUF];
	int n;

	if (F.kinds[port] != VIO_SIM_CONSOLE_LINE)
		return;
	if (cap & 0x80u)
		n = vio_sim_console_read_line(&F.sim, port, data, sizeof(data));
	else
		n = vio_sim_console_read(&F.sim, port, data, cap);
	FZ_CHECK(n >= 0);
	for (int k = 0; k < n; k++) {
		uint32_t at = F.host_got[port]++;

		if (!(port == 0 && F.emerg_mixed))
			FZ_CHECK(data[k] == drv_byte(port, at));
	}
}

static void host_action(struct fz_in *in)
{
	uint8_t a = fz_u8(in), arg = fz_u8(in);
	uint8_t w[4] = {arg, 0, 0, 0};

	switch (a % 4u) {
	case 0:
		(void) vio_console_set_size(&F.con, arg, (uint16_t) (arg * 3u));
		break;
	case 1:
		FZ_CHECK(vio_console_host_open(&F.con, arg % F.nports, (arg & 0x80u) != 0) == 0);
		break;
	case 2:
		if (vio_device_write_config(&F.con.dev, VIO_CONSOLE_CFG_EMERG_WR, w, 4) == 0) {
			F.emerg_mixed = true;
			F.emerg_n++;
		}
		break;
	default:
		F.sim_ports[arg % F.nports].max_per_call = arg >> 5;
		FZ_CHECK(vio_console_tx_wake(&F.con, arg % F.nports) == 0);
		FZ_CHECK(vio_console_rx_wake(&F.con, arg % F.nports) >= 0);
		break;
	}
}

static void bring_up(void)
{
	FZ_CHECK(vio_loopback_negotiate(&F.lb, F.want) == 0);
	for (uint16_t q = 0; q < nqueues(); q++)
		FZ_CHECK(vio_loopback_queue(&F.lb, q, QSIZE, &F.dq[q], F.slots[q]) == 0);
	FZ_CHECK(vio_loopback_driver_ok(&F.lb) == 0);
}

/* A fresh simulation and fresh sequences: what was in flight went with the old rings. */
static void fresh_sim(void)
{
	vio_sim_console_init(&F.sim, F.sim_ports, F.nports, F.kinds, names);
	vio_sim_console_attach(&F.sim, &F.con);
	memset(F.drv_sent, 0, sizeof(F.drv_sent));
	memset(F.host_got, 0, sizeof(F.host_got));
	memset(F.host_sent, 0, sizeof(F.host_sent));
	memset(F.drv_got, 0, sizeof(F.drv_got));
	memset(F.added, 0, sizeof(F.added));
	F.emerg_mixed = false;
	F.emerg_n = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	uint8_t feat = fz_u8(&in), shape = fz_u8(&in);
	uint64_t offer = 0;

	memset(&F, 0, sizeof(F));
	F.mp = (feat & 1u) != 0;
	F.nports = F.mp ? (shape & 3u) % MAXPORTS + 1u : 1u;
	for (uint32_t p = 0; p < MAXPORTS; p++)
		F.kinds[p] = (shape >> (2 + p)) & 1u ? VIO_SIM_CONSOLE_ECHO : VIO_SIM_CONSOLE_LINE;
	offer |= F.mp ? VIO_BIT(VIO_CONSOLE_F_MULTIPORT) : 0;
	offer |= (feat & 4u) ? VIO_BIT(VIO_CONSOLE_F_SIZE) : 0;
	offer |= (feat & 8u) ? VIO_BIT(VIO_CONSOLE_F_EMERG_WRITE) : 0;
	offer |= (feat & 16u) ? VIO_BIT(VIO_F_INDIRECT_DESC) : 0;
	offer |= (feat & 32u) ? VIO_BIT(VIO_F_EVENT_IDX) : 0;
	F.want = (feat & 2u) ? ~0ull : ~VIO_BIT(VIO_CONSOLE_F_MULTIPORT);
	FZ_CHECK(vio_console_init(&F.con, &vio_sim_console_ops, &F.sim, F.nports, F.ports, F.queues,
				  QSIZE, offer) == 0);
	fresh_sim();
	FZ_CHECK(vio_loopback_init(&F.lb, &F.con.dev, arena, sizeof(arena), BUS_BASE) == 0);
	bring_up();

	while (in.n > 0 && F.nbufs < MAX_BUFS) {
		uint8_t op = fz_u8(&in);

		switch (op & 7u) {
		case 0:
			add_buf(&in, true);
			break;
		case 1:
			add_buf(&in, false);
			break;
		case 2:
			add_ctrl(&in);
			break;
		case 3:
			add_ctrl_rx(&in);
			break;
		case 4:
			host_write(&in);
			break;
		case 5:
			host_read(&in);
			break;
		case 6:
			host_action(&in);
			break;
		default:
			if ((op & 0xf0u) != 0xf0u || F.resets == 6)
				break;
			F.resets++;
			collect();
			vio_device_reset(&F.con.dev);
			for (uint32_t p = 0; p < F.nports; p++)
				FZ_CHECK(!F.ports[p].rx.held && !F.ports[p].tx.held);
			F.nbufs = 0;
			fresh_sim();
			bring_up();
			break;
		}
		collect();
	}
	return 0;
}
