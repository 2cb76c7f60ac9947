/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared pieces of the virtqueue fuzz targets: an input reader, the windows the
 * device sees, a reference chain walker and the request checker.
 *
 * Each window is its own heap block of exactly its length, so AddressSanitizer
 * traps any access the device makes past a window's end. The reference walker
 * applies the ring rules of DESIGN.md in its own way (a visited map instead of a
 * step count, its own translation) and the targets compare what vio_vq_pop
 * returns with what it predicts, segment by segment.
 */
#ifndef VIOPORT_FUZZ_UTIL_H
#define VIOPORT_FUZZ_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vioport/byteorder.h"
#include "vioport/virtq.h"
#include "vioport/window.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with the failed condition: libFuzzer then keeps the input as a crash. */
#define FZ_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Reads the input front to back; past its end every value reads as zero. */
struct fz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fz_u8(struct fz_in *in)
{
	uint8_t v = 0;

	if (in->n > 0) {
		v = *in->p++;
		in->n--;
	}
	return v;
}

static inline uint16_t fz_u16(struct fz_in *in)
{
	uint16_t lo = fz_u8(in);

	return (uint16_t) (lo | (uint16_t) fz_u8(in) << 8);
}

static inline uint32_t fz_u32(struct fz_in *in)
{
	uint32_t lo = fz_u16(in);

	return lo | (uint32_t) fz_u16(in) << 16;
}

/*
 * The memory the device may reach: one or two windows with access modes and
 * bus addresses chosen by the input.
 */
#define FZ_MAX_WIN 2

struct fz_mem {
	struct vio_window storage[FZ_MAX_WIN];
	struct vio_winmap map;
	uint8_t *buf[FZ_MAX_WIN];
	uint64_t len[FZ_MAX_WIN];
	uint64_t bus[FZ_MAX_WIN];
	uint32_t access[FZ_MAX_WIN];
	unsigned n; /* windows the map accepted */
};

/* Maps the input's two access bits to a mode; 0 stands for read-write. */
static inline uint32_t fz_access(unsigned bits)
{
	bits &= 3u;
	return bits == 0 ? VIO_ACCESS_RW : bits;
}

/* Bus address of window 0, from a selector: low, above 4 GiB, at the very top, at 2^63. */
static inline uint64_t fz_base(uint8_t sel, uint64_t len)
{
	switch (sel & 3u) {
	case 1:
		return 0x100000000ull;
	case 2:
		return (UINT64_MAX - len + 1) & ~(uint64_t) 15;
	case 3:
		return 1ull << 63;
	default:
		return 0;
	}
}

/*
 * Allocates the windows (lengths len0 and len1, len1 0 for one window), fills
 * them with the rest of the input and adds them to the map. Window 1 follows
 * window 0 directly when adjacent is set, so a buffer may run across both.
 */
static inline void fz_mem_init(struct fz_mem *m, struct fz_in *in, uint64_t len0, uint64_t len1,
			       uint8_t base_sel, bool adjacent, uint32_t acc0, uint32_t acc1)
{
	uint64_t lens[FZ_MAX_WIN] = {len0, len1};
	uint32_t acc[FZ_MAX_WIN] = {acc0, acc1};
	uint64_t bus = fz_base(base_sel, len0);

	memset(m, 0, sizeof(*m));
	vio_winmap_init(&m->map, m->storage, FZ_MAX_WIN);
	for (unsigned i = 0; i < FZ_MAX_WIN && lens[i] != 0; i++) {
		uint8_t *b = malloc(lens[i]);
		size_t take = in->n < lens[i] ? in->n : (size_t) lens[i];

		FZ_CHECK(b != NULL);
		memcpy(b, in->p, take);
		memset(b + take, 0, lens[i] - take);
		in->p += take;
		in->n -= take;
		if (vio_winmap_add(&m->map, bus, lens[i], b, acc[i]) == 0) {
			m->buf[m->n] = b;
			m->len[m->n] = lens[i];
			m->bus[m->n] = bus;
			m->access[m->n] = acc[i];
			m->n++;
		} else {
			free(b);
		}
		bus += lens[i] + (adjacent ? 0 : 0x10000u);
	}
}

static inline void fz_mem_free(struct fz_mem *m)
{
	for (unsigned i = 0; i < m->n; i++)
		free(m->buf[i]);
}

/* Local pointer of a bus range that lies whole in one window with access, else NULL. */
static inline uint8_t *fz_whole(const struct fz_mem *m, uint64_t addr, uint64_t len,
				uint32_t access)
{
	for (unsigned i = 0; i < m->n; i++) {
		if (addr < m->bus[i] || addr - m->bus[i] >= m->len[i])
			continue;
		if ((m->access[i] & access) != access || len > m->len[i] - (addr - m->bus[i]))
			return NULL;
		return m->buf[i] + (addr - m->bus[i]);
	}
	return NULL;
}

/* Index of the window holding local pointer range [p, p + len), or -1. */
static inline int fz_owner(const struct fz_mem *m, const uint8_t *p, uint64_t len)
{
	for (unsigned i = 0; i < m->n; i++) {
		uintptr_t b = (uintptr_t) m->buf[i], q = (uintptr_t) p;

		if (q >= b && q - b < m->len[i] && len <= m->len[i] - (q - b))
			return (int) i;
	}
	return -1;
}

/* The reference walker's view of one chain. */
#define FZ_MAX_SEGS  16384u
#define FZ_MAX_TABLE 32768u

struct fz_seg {
	uint8_t *p;
	uint32_t len;
	bool write;
};

struct fz_ref {
	struct fz_seg seg[FZ_MAX_SEGS];
	unsigned nseg;
	uint64_t read_len, write_len;
	bool writing;
	uint8_t seen[FZ_MAX_TABLE]; /* visited map of the table being walked */
};

static inline void fz_ref_begin(struct fz_ref *r)
{
	r->nseg = 0;
	r->read_len = 0;
	r->write_len = 0;
	r->writing = false;
}

/* Adds one buffer: direction order, 32-bit total, each byte inside a window with access. */
static inline bool fz_ref_buf(const struct fz_mem *m, struct fz_ref *r, uint64_t addr, uint32_t len,
			      bool write)
{
	uint32_t access = write ? VIO_ACCESS_WRITE : VIO_ACCESS_READ;

	if (!write && r->writing)
		return false;
	r->writing |= write;
	if (r->read_len + r->write_len + len > UINT32_MAX)
		return false;
	if (write)
		r->write_len += len;
	else
		r->read_len += len;
	while (len != 0) {
		unsigned i;

		for (i = 0; i < m->n; i++) {
			if (addr >= m->bus[i] && addr - m->bus[i] < m->len[i])
				break;
		}
		if (i == m->n || (m->access[i] & access) != access)
			return false;
		uint64_t room = m->len[i] - (addr - m->bus[i]);
		uint32_t piece = room < len ? (uint32_t) room : len;

		FZ_CHECK(r->nseg < FZ_MAX_SEGS);
		r->seg[r->nseg++] = (struct fz_seg){m->buf[i] + (addr - m->bus[i]), piece, write};
		addr += piece;
		len -= piece;
	}
	return true;
}

/*
 * Walks an indirect table: split tables by next links with no entry visited
 * twice, packed tables in order; no nested indirect descriptor.
 */
static inline bool fz_ref_indirect(const struct fz_mem *m, struct fz_ref *r, uint64_t addr,
				   uint32_t len, bool packed)
{
	const uint8_t *t;
	uint32_t n, i = 0;

	if (len == 0 || len % 16 != 0 || len / 16 > FZ_MAX_TABLE)
		return false;
	n = len / 16;
	t = fz_whole(m, addr, len, VIO_ACCESS_READ);
	if (t == NULL)
		return false;
	memset(r->seen, 0, n);
	for (;;) {
		const uint8_t *d = t + 16u * i;
		uint16_t flags = vio_get_le16(d + (packed ? 14 : 12));

		if (flags & VIO_DESC_F_INDIRECT)
			return false;
		if (!fz_ref_buf(m, r, vio_get_le64(d), vio_get_le32(d + 8),
				(flags & VIO_DESC_F_WRITE) != 0))
			return false;
		if (packed) {
			if (++i == n)
				return true;
			continue;
		}
		r->seen[i] = 1;
		if (!(flags & VIO_DESC_F_NEXT))
			return true;
		i = vio_get_le16(d + 14);
		if (i >= n || r->seen[i])
			return false;
	}
}

/*
 * Checks a popped request against the reference chain: same segments in the
 * same order (the first cap - 1 and the last one when they did not fit), same
 * directions and totals; every segment inside a window that allows its
 * direction. Then touches every byte, reading readable segments and writing
 * writable ones, so the sanitizer sees any stray pointer.
 */
static inline void fz_check_req(const struct fz_mem *m, const struct fz_ref *r,
				const struct vio_req *req, uint8_t fill)
{
	unsigned kept = req->nread + req->nwrite;
	uint64_t rsum = 0, wsum = 0;
	volatile uint8_t sink = 0;

	FZ_CHECK(kept <= req->cap);
	FZ_CHECK(req->read_len == r->read_len && req->write_len == r->write_len);
	if (r->nseg <= req->cap) {
		FZ_CHECK(!(req->flags & VIO_REQ_F_OVERFLOW));
		FZ_CHECK(kept == r->nseg);
	} else {
		FZ_CHECK(req->flags & VIO_REQ_F_OVERFLOW);
		FZ_CHECK(kept == req->cap);
	}
	for (unsigned k = 0; k < kept; k++) {
		const struct vio_iov *v = &req->iov[k];
		/* Past the kept prefix the last slot stands for the chain's last segment. */
		const struct fz_seg *s =
		    (k + 1 == kept && r->nseg > kept) ? &r->seg[r->nseg - 1] : &r->seg[k];
		bool write = k >= req->nread;
		int w = fz_owner(m, v->base, v->len);

		FZ_CHECK(v->base == s->p && v->len == s->len && write == s->write);
		FZ_CHECK(v->len != 0 && w >= 0);
		FZ_CHECK(m->access[w] & (write ? VIO_ACCESS_WRITE : VIO_ACCESS_READ));
		if (write)
			wsum += v->len;
		else
			rsum += v->len;
	}
	if (!(req->flags & VIO_REQ_F_OVERFLOW))
		FZ_CHECK(rsum == req->read_len && wsum == req->write_len);
	else
		FZ_CHECK(rsum <= req->read_len && wsum <= req->write_len);
	for (unsigned k = 0; k < kept; k++) {
		const struct vio_iov *v = &req->iov[k];

		for (uint32_t b = 0; b < v->len; b++) {
			if (k < req->nread)
				sink = (uint8_t) (sink + v->base[b]);
			else
				v->base[b] = fill;
		}
	}
	(void) sink;
}

#endif
