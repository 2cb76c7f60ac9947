/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What vioport-bench shares with the peer implementations it can be built
 * with: the ring and driver every device under test is driven through, and the
 * interface a device under test implements.
 */
#ifndef VIOPORT_BENCH_H
#define VIOPORT_BENCH_H

#include <stdint.h>

#include "vioport/drvq.h"

#define VIO_BENCH_QSIZE	   256u
#define VIO_BENCH_BATCH	   32u
#define VIO_BENCH_MAX_SEGS 3u

/* A chain shape: nout readable then nin writable buffers, and the used length. */
struct vio_bench_shape {
	const char *name;
	const char *what;
	unsigned nout, nin;
	uint32_t len[VIO_BENCH_MAX_SEGS];
	uint32_t used_len;
};

/*
 * The driver's memory, seen by the device as one window of len bytes at bus
 * address bus, holding the split ring and every buffer.
 */
struct vio_bench_ring {
	uint8_t *arena;
	uint64_t bus, len;
	const struct vio_bench_shape *shape;
	struct vio_drvq dq;
	struct vio_drvq_slot slots[VIO_BENCH_QSIZE];
	uint64_t desc_bus, avail_bus, used_bus;
	struct vio_buf out[VIO_BENCH_BATCH][VIO_BENCH_MAX_SEGS];
	struct vio_buf in[VIO_BENCH_BATCH][VIO_BENCH_MAX_SEGS];
};

/* A device side under test. */
struct vio_bench_device {
	const char *name;
	/* Attaches to the ring (EVENT_IDX, notifications off); NULL on failure. */
	void *(*setup)(struct vio_bench_ring *r);
	/* Pops n chains, pushes each with len bytes written, publishes them once. */
	void (*batch)(void *ctx, unsigned n, uint32_t len);
	void (*teardown)(void *ctx);
};

/* A peer implementation, in builds that link one (VIO_BENCH_PEER). */
extern const struct vio_bench_device vio_bench_peer;

#endif
