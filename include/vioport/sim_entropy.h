/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Deterministic entropy source for tests and simulations.
 *
 * NOT RANDOM. NOT FOR PRODUCTION. The bytes are a splitmix64 stream: anyone
 * who knows or guesses the seed predicts every byte. It exists so that tests
 * and the demo are reproducible. A real device serves a hardware TRNG or the
 * operating system's generator through its own struct vio_rng_ops.
 */
#ifndef VIOPORT_SIM_ENTROPY_H
#define VIOPORT_SIM_ENTROPY_H

#include <stdint.h>

#include "vioport/rng.h"

struct vio_sim_entropy {
	uint64_t state;
	uint32_t max_per_call; /* cap on one fill, to exercise partial fills; 0 = none */
	int fail;	       /* when non-zero, the next fill returns this (negative) once */
	uint32_t calls;
	uint64_t bytes;
};

/* Starts a stream from seed; the same seed gives the same bytes. */
void vio_sim_entropy_init(struct vio_sim_entropy *e, uint64_t seed);

/* Next 64 bits of the stream. */
uint64_t vio_sim_entropy_next(struct vio_sim_entropy *e);

/* Fills buf from the stream (ctx is a struct vio_sim_entropy); see struct vio_rng_ops. */
int vio_sim_entropy_fill(void *ctx, uint8_t *buf, uint32_t len);

/* The rng provider table over a struct vio_sim_entropy context. */
extern const struct vio_rng_ops vio_sim_entropy_ops;

#endif
