/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the virtio-msg shared-memory bus (window header checks and the
 * two message FIFOs) against a window whose every byte the input controls.
 *
 * The window is a heap block of exactly its size, so AddressSanitizer traps
 * any access outside it. A driver side and a device side share it; the input
 * also plays a hostile peer that overwrites any bytes between calls. While no
 * such write has happened since the last format, a reference queue per
 * direction predicts every send and recv result exactly; afterwards only the
 * general promises are checked (result codes, message lengths, a stopped side
 * stays stopped).
 *
 * Input layout:
 *   0   bit 0: the device attaches to the raw image (no format first);
 *       otherwise the driver formats and the image then covers the window
 *       from offset 128 on when bit 1 is set (valid header, any indices and slots)
 *   1   window size = 256 + 64 * byte
 *   2   FIFO size = 256 + 64 * (byte % 64)
 *   3   image length / 64 (the image follows; the rest of the window is zero)
 *   then operations until the input ends, each a byte: bit 0 picks the side
 *   (0 driver, 1 device), bits 1-7 modulo 7 the operation:
 *     0 send: a length byte (modulo 72), then that many message bytes; bit 7 of
 *       the length byte writes the length into the message's size field
 *     1 recv: a capacity byte (below 64 is refused)
 *     2 peer write: le16 offset, a count byte (modulo 9), then that many bytes
 *     3 peer_restarted (and session_over)  4 peer_state and ring  5 stop
 *     6 driver: leave, then re-format with a generation byte; device:
 *       re-attach (the same instance, so it knows its last session)
 */
#include "fuzz_util.h"

#include "vioport/errno.h"
#include "vioport/vmsg_shm.h"

#define REF_CAP 64u /* above the largest FIFO's slot count */

struct ref_q {
	uint8_t msg[REF_CAP][64];
	uint32_t len[REF_CAP];
	uint32_t head, count;
};

struct fz_side {
	struct vio_vmsg_shm shm;
	bool up; /* format or attach succeeded */
};

static struct {
	struct fz_side side[2]; /* 0 driver, 1 device */
	struct ref_q q[2];	/* 0 driver-to-device, 1 device-to-driver */
	bool exact;		/* no peer write since both sides came up */
	uint8_t *win;
	uint32_t size;
} F;

static void reset_refs(void)
{
	memset(F.q, 0, sizeof(F.q));
	F.exact = F.side[0].up && F.side[1].up;
}

static void up_driver(uint32_t fifo_size, uint32_t gen)
{
	int r;

	memset(&F.side[0], 0, sizeof(F.side[0]));
	/* As a driver does: RESET first; a device serving untouched FIFOs is READY. */
	r = vio_vmsg_shm_driver_leave(&F.side[0].shm, F.win, F.size);
	FZ_CHECK(r == 0 || r == 1);
	if (F.exact && F.side[1].up)
		FZ_CHECK(r == 0);
	F.side[0].up = vio_vmsg_shm_format(&F.side[0].shm, F.win, F.size, fifo_size, gen) == 0;
	F.side[1].up = false;
	reset_refs();
}

static void up_device(void)
{
	int r;

	r = vio_vmsg_shm_attach(&F.side[1].shm, F.win, F.size);
	FZ_CHECK(r == 0 || r == -VIO_EAGAIN || r == -VIO_EINVAL);
	F.side[1].up = r == 0;
	if (r != 0) {
		FZ_CHECK(vio_vmsg_shm_stopped(&F.side[1].shm));
		F.exact = false;
		return;
	}
	/* Only an attach right after a format starts from empty FIFOs. */
	if (F.exact && (F.q[0].count != 0 || F.q[1].count != 0))
		F.exact = false;
	if (F.exact)
		F.exact = F.side[1].shm.rx.pos == F.side[0].shm.tx.pos &&
			  F.side[1].shm.tx.pos == F.side[0].shm.rx.pos;
	FZ_CHECK(F.side[1].shm.area_off + (uint64_t) F.side[1].shm.area_size <= F.size);
}

static void op_send(struct fz_in *in, unsigned who)
{
	struct fz_side *s = &F.side[who];
	struct ref_q *q = &F.q[who];
	uint8_t lb = fz_u8(in), m[72] = {0};
	uint32_t len = (lb & 0x7Fu) % 72u;
	bool valid;
	int r;

	for (uint32_t i = 0; i < len; i++)
		m[i] = fz_u8(in);
	if ((lb & 0x80u) && len >= 8)
		vio_put_le16(m + 6, (uint16_t) len);
	if (!s->up)
		return;
	r = vio_vmsg_shm_send(&s->shm, m, len);
	FZ_CHECK(r == 0 || r == -VIO_EINVAL || r == -VIO_ENOSPC || r == -VIO_EIO ||
		 (r == -VIO_ECONNRESET && who == 1));
	valid = len >= 8 && len <= s->shm.tx.max_msg && vio_get_le16(m + 6) == len;
	if (r == 0)
		FZ_CHECK(valid);
	if (!F.exact)
		return;
	if (!valid) {
		FZ_CHECK(r == -VIO_EINVAL);
		return;
	}
	if (q->count == s->shm.tx.nslots - 1) {
		FZ_CHECK(r == -VIO_ENOSPC);
		return;
	}
	FZ_CHECK(r == 0 && q->count < REF_CAP);
	uint32_t at = (q->head + q->count) % REF_CAP;
	memcpy(q->msg[at], m, len);
	q->len[at] = len;
	q->count++;
}

static void op_recv(struct fz_in *in, unsigned who)
{
	struct fz_side *s = &F.side[who];
	struct ref_q *q = &F.q[who ^ 1u];
	uint32_t cap = fz_u8(in);
	uint8_t *buf;
	bool was_stopped;
	int r;

	if (!s->up)
		return;
	/* A heap buffer of exactly cap bytes: recv must not write past it. */
	buf = malloc(cap == 0 ? 1 : cap);
	FZ_CHECK(buf != NULL);
	was_stopped = vio_vmsg_shm_stopped(&s->shm);
	r = vio_vmsg_shm_recv(&s->shm, buf, cap);
	FZ_CHECK(r >= 0 || r == -VIO_EIO || r == -VIO_EINVAL || (r == -VIO_ECONNRESET && who == 1));
	if (was_stopped)
		FZ_CHECK(r == -VIO_EIO);
	else if (cap < s->shm.rx.max_msg)
		FZ_CHECK(r == -VIO_EINVAL);
	if (r > 0) {
		FZ_CHECK(r >= 8 && (uint32_t) r <= s->shm.rx.max_msg && (uint32_t) r <= cap);
		FZ_CHECK(vio_get_le16(buf + 6) == (uint32_t) r);
	}
	if (F.exact && !was_stopped && cap >= s->shm.rx.max_msg) {
		if (q->count == 0) {
			FZ_CHECK(r == 0);
		} else {
			FZ_CHECK(r == (int) q->len[q->head]);
			FZ_CHECK(memcmp(buf, q->msg[q->head], (size_t) r) == 0);
			q->head = (q->head + 1) % REF_CAP;
			q->count--;
		}
	}
	free(buf);
}

static void op_poke(struct fz_in *in)
{
	uint32_t off = fz_u16(in) % F.size;
	uint32_t n = fz_u8(in) % 9u;

	for (uint32_t i = 0; i < n && off + i < F.size; i++)
		F.win[off + i] = fz_u8(in);
	if (n != 0)
		F.exact = false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	uint8_t flags = fz_u8(&in);
	uint32_t fifo_size;
	size_t image;

	memset(&F, 0, sizeof(F));
	F.size = 256u + 64u * fz_u8(&in);
	fifo_size = 256u + 64u * (fz_u8(&in) % 64u);
	image = 64u * (size_t) fz_u8(&in);
	F.win = calloc(1, F.size);
	FZ_CHECK(F.win != NULL);
	if (image > in.n)
		image = in.n;

	if (flags & 1u) {
		memcpy(F.win, in.p, image < F.size ? image : F.size);
		up_device();
	} else {
		up_driver(fifo_size, 1);
		if (flags & 2u) {
			size_t take = image < F.size - 128u ? image : F.size - 128u;

			memcpy(F.win + 128, in.p, take);
			F.exact = false;
		}
		up_device();
	}
	in.p += image;
	in.n -= image;

	while (in.n > 0) {
		uint8_t op = fz_u8(&in);
		unsigned who = op & 1u;
		struct fz_side *s = &F.side[who];

		switch ((op >> 1) % 7u) {
		case 0:
			op_send(&in, who);
			break;
		case 1:
			op_recv(&in, who);
			break;
		case 2:
			op_poke(&in);
			break;
		case 3:
			if (s->up) {
				bool restarted = vio_vmsg_shm_peer_restarted(&s->shm);

				/*
				 * Only the driver writes its generation, and only by
				 * formatting, which the device sees after re-attaching.
				 */
				if (F.exact && who == 1)
					FZ_CHECK(!restarted);
				/* Only the driver ends a session, and only on the device side. */
				if (F.exact || who == 0)
					FZ_CHECK(!vio_vmsg_shm_session_over(&s->shm));
			}
			break;
		case 4:
			if (s->up) {
				(void) vio_vmsg_shm_peer_state(&s->shm);
				vio_vmsg_shm_ring(&s->shm);
			}
			break;
		case 5:
			if (s->up) {
				vio_vmsg_shm_stop(&s->shm);
				FZ_CHECK(vio_vmsg_shm_stopped(&s->shm));
				F.exact = false;
			}
			break;
		default:
			if (who == 0)
				up_driver(fifo_size, 1u + fz_u8(&in));
			else
				up_device();
			break;
		}
	}
	free(F.win);
	return 0;
}
