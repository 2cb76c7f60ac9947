/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A program built against the installed library alone (pkg-config vioport):
 * a virtio-rng device on the simulated entropy source, driven over the
 * loopback transport. Prints "entropy: N bytes" and exits 0 when the device
 * filled a 32-byte buffer; non-zero on any failure.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <vioport/drvq.h>
#include <vioport/loopback.h>
#include <vioport/rng.h>
#include <vioport/sim_entropy.h>

#define QSIZE 8

static uint8_t arena[64 << 10] __attribute__((aligned(4096)));

int main(void)
{
	static struct vio_sim_entropy ent;
	static struct vio_rng rng;
	static struct vio_queue queue;
	static struct vio_loopback lb;
	static struct vio_drvq dq;
	static struct vio_drvq_slot slots[QSIZE];
	struct vio_buf in;
	uint64_t bus;
	uint8_t *buf, zero[32] = {0};
	void *token = NULL;
	uint32_t len = 0;

	vio_sim_entropy_init(&ent, 42);
	if (vio_rng_init(&rng, &vio_sim_entropy_ops, &ent, &queue, QSIZE, 0) < 0 ||
	    vio_loopback_init(&lb, &rng.dev, arena, sizeof(arena), 0x80000000ull) < 0 ||
	    vio_loopback_negotiate(&lb, ~0ull) < 0 ||
	    vio_loopback_queue(&lb, 0, QSIZE, &dq, slots) < 0 || vio_loopback_driver_ok(&lb) < 0) {
		fprintf(stderr, "example: the rng device did not start\n");
		return 1;
	}
	buf = vio_loopback_alloc(&lb, 32, &bus);
	if (buf == NULL)
		return 1;
	memset(buf, 0, 32);
	in = (struct vio_buf){bus, 32};
	if (vio_drvq_add(&dq, NULL, 0, &in, 1, buf) < 0)
		return 1;
	vio_loopback_kick(&lb, 0);
	if (vio_drvq_get_used(&dq, &token, &len) != 1 || token != buf || len != 32 ||
	    memcmp(buf, zero, 32) == 0) {
		fprintf(stderr, "example: no entropy came back\n");
		return 1;
	}
	printf("entropy: %u bytes\n", len);
	return 0;
}
