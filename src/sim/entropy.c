/* SPDX-License-Identifier: BSD-3-Clause */
/* Deterministic splitmix64 byte stream for tests: predictable by design, never for production. */
#include "vioport/sim_entropy.h"

#include <stddef.h>
#include <string.h>

void vio_sim_entropy_init(struct vio_sim_entropy *e, uint64_t seed)
{
	memset(e, 0, sizeof(*e));
	e->state = seed;
}

uint64_t vio_sim_entropy_next(struct vio_sim_entropy *e)
{
	uint64_t z;

	e->state += 0x9e3779b97f4a7c15ull;
	z = e->state;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

int vio_sim_entropy_fill(void *ctx, uint8_t *buf, uint32_t len)
{
	struct vio_sim_entropy *e = ctx;
	uint32_t done = 0;

	e->calls++;
	if (e->fail != 0) {
		int err = e->fail;

		e->fail = 0;
		return err;
	}
	if (e->max_per_call != 0 && len > e->max_per_call)
		len = e->max_per_call;
	if (len > INT32_MAX)
		len = INT32_MAX;
	/* bytes go out least significant first, so the stream is the same on any host */
	while (done < len) {
		uint64_t v = vio_sim_entropy_next(e);

		for (unsigned i = 0; i < 8 && done < len; i++, v >>= 8)
			buf[done++] = (uint8_t) v;
	}
	e->bytes += done;
	return (int) done;
}

const struct vio_rng_ops vio_sim_entropy_ops = {
    .fill = vio_sim_entropy_fill,
};
