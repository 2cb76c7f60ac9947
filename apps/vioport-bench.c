/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport-bench: throughput of vioport's building blocks, printed as figures
 * and ratios, never judged.
 *
 *   vioport-bench virtq [--shape one|blk|both] [--chains N] [--seconds S]
 *                       [--warmup N] [--loop-only] [--device NAME|all]
 *
 * "virtq" runs the device side of a 256-entry split ring with EVENT_IDX
 * against the project's driver side in one thread: the driver adds a batch of
 * 32 chains and publishes them, the device pops 32, pushes each and flushes
 * once, the driver collects 32. Notifications and interrupts are off and no
 * payload byte is touched, so the figures are the ring handling alone, with
 * every validation rule in force.
 *
 * Shapes: "one" is one 16-byte readable descriptor (pushed with length 0);
 * "blk" is the virtio-blk read shape: 16 bytes readable, 4096 and 1 writable
 * (pushed with 4097).
 *
 * --chains N times exactly N chains after a warm-up (--warmup, default
 * 100000); otherwise the loop runs for --seconds (default 1) per shape.
 * --loop-only skips the second, device-side pass (used under callgrind, where
 * only instruction counts matter). Builds that link a peer implementation list
 * it under --device.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vioport-bench.h"
#include "vioport/drvq.h"
#include "vioport/virtq.h"
#include "vioport/window.h"

/* Recorded anchor: QEMU's libvhost-user on the reference machine, same loop. */
#define ANCHOR_ONE_MCPS 31.0
#define ANCHOR_BLK_MCPS 22.0

#define BUS_BASE 0x40000000ull

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "vioport-bench: %s\n", what);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* The shared memory and the driver: identical for every device under test. */
static int ring_init(struct vio_bench_ring *r, const struct vio_bench_shape *shape)
{
	uint64_t ring_bytes = vio_drvq_ring_bytes(VIO_BENCH_QSIZE);
	uint64_t data = (ring_bytes + 4095u) & ~(uint64_t) 4095u;
	uint64_t per_chain = 0;

	for (unsigned k = 0; k < shape->nout + shape->nin; k++)
		per_chain += (shape->len[k] + 63u) & ~63u;
	memset(r, 0, sizeof(*r));
	r->len = data + per_chain * VIO_BENCH_BATCH;
	r->arena = aligned_alloc(4096, (r->len + 4095u) & ~(uint64_t) 4095u);
	if (r->arena == NULL)
		return -ENOMEM;
	memset(r->arena, 0, r->len);
	r->bus = BUS_BASE;
	r->shape = shape;
	if (vio_drvq_init(&r->dq, VIO_BENCH_QSIZE, r->arena, r->bus, r->slots, true, &r->desc_bus,
			  &r->avail_bus, &r->used_bus) < 0)
		return -EINVAL;
	vio_drvq_cb_disable(&r->dq);
	/* Each chain of a batch has buffers of its own, reused batch after batch. */
	for (unsigned c = 0; c < VIO_BENCH_BATCH; c++) {
		for (unsigned k = 0; k < shape->nout + shape->nin; k++) {
			struct vio_buf *b =
			    k < shape->nout ? &r->out[c][k] : &r->in[c][k - shape->nout];

			b->addr = r->bus + data;
			b->len = shape->len[k];
			data += (shape->len[k] + 63u) & ~63u;
		}
	}
	return 0;
}

static void ring_free(struct vio_bench_ring *r)
{
	free(r->arena);
}

/* vioport's own device side. */
struct vp_dev {
	struct vio_window win[1];
	struct vio_winmap map;
	struct vio_vq vq;
	struct vio_iov iov[4];
	struct vio_req req;
};

static void *vp_setup(struct vio_bench_ring *r)
{
	struct vp_dev *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	vio_winmap_init(&d->map, d->win, 1);
	if (vio_winmap_add(&d->map, r->bus, r->len, r->arena, VIO_ACCESS_RW) < 0 ||
	    vio_vq_setup_split(&d->vq, &d->map, VIO_BENCH_QSIZE, r->desc_bus, r->avail_bus,
			       r->used_bus, VIO_BIT(VIO_F_EVENT_IDX)) < 0) {
		free(d);
		return NULL;
	}
	vio_vq_notify_disable(&d->vq);
	d->req.iov = d->iov;
	d->req.cap = 4;
	return d;
}

static void vp_batch(void *ctx, unsigned n, uint32_t len)
{
	struct vp_dev *d = ctx;

	for (unsigned k = 0; k < n; k++) {
		if (vio_vq_pop(&d->vq, &d->req) != 1)
			die("vioport: pop did not return a chain");
		vio_vq_push(&d->vq, d->req.id, d->req.ndesc, len);
	}
	vio_vq_flush(&d->vq);
}

static void vp_teardown(void *ctx)
{
	free(ctx);
}

static const struct vio_bench_device vp_device = {
    .name = "vioport",
    .setup = vp_setup,
    .batch = vp_batch,
    .teardown = vp_teardown,
};

static const struct vio_bench_device *const devices[] = {
    &vp_device,
#ifdef VIO_BENCH_PEER
    &vio_bench_peer,
#endif
};

static const struct vio_bench_shape shapes[] = {
    {"one", "1 x 16 B readable, used len 0", 1, 0, {16}, 0},
    {"blk", "16 B readable + 4096 B + 1 B writable, used len 4097", 1, 2, {16, 4096, 1}, 4097},
};

/*
 * Runs chains chains through the loop, in batches. With dev_ns set, the device
 * batches are timed on their own too. Kept out of line so profilers can
 * attribute the whole loop to it.
 */
__attribute__((noinline)) static uint64_t run_batches(struct vio_bench_ring *r,
						      const struct vio_bench_device *dev, void *ctx,
						      uint64_t chains, uint64_t *dev_ns)
{
	const struct vio_bench_shape *s = r->shape;
	uint64_t t0 = now_ns(), inside = 0;

	for (uint64_t done = 0; done < chains; done += VIO_BENCH_BATCH) {
		void *token;
		uint32_t len;

		for (uintptr_t c = 0; c < VIO_BENCH_BATCH; c++) {
			if (vio_drvq_add(&r->dq, r->out[c], s->nout, r->in[c], s->nin,
					 (void *) (c + 1)) < 0)
				die("driver: add failed");
		}
		vio_drvq_kick_prepare(&r->dq);
		if (dev_ns != NULL) {
			uint64_t a = now_ns();

			dev->batch(ctx, VIO_BENCH_BATCH, s->used_len);
			inside += now_ns() - a;
		} else {
			dev->batch(ctx, VIO_BENCH_BATCH, s->used_len);
		}
		for (unsigned c = 0; c < VIO_BENCH_BATCH; c++) {
			if (vio_drvq_get_used(&r->dq, &token, &len) != 1 || len != s->used_len)
				die("driver: wrong used entry");
		}
	}
	if (dev_ns != NULL)
		*dev_ns = inside;
	return now_ns() - t0;
}

struct result {
	uint64_t chains;
	double loop_ns, dev_ns; /* per chain; dev_ns < 0 when not measured */
};

static uint64_t round_batch(uint64_t n)
{
	return (n + VIO_BENCH_BATCH - 1) / VIO_BENCH_BATCH * VIO_BENCH_BATCH;
}

static int measure(const struct vio_bench_device *dev, const struct vio_bench_shape *shape,
		   uint64_t chains, double seconds, uint64_t warmup, bool loop_only,
		   struct result *res)
{
	struct vio_bench_ring r;
	uint64_t ns, dns = 0;
	void *ctx;

	if (ring_init(&r, shape) < 0)
		die("out of memory");
	ctx = dev->setup(&r);
	if (ctx == NULL) {
		ring_free(&r);
		return -1;
	}
	run_batches(&r, dev, ctx, round_batch(warmup), NULL);
	if (chains == 0) {
		/* Grow the run until it lasts long enough to time. */
		chains = 1u << 16;
		while ((ns = run_batches(&r, dev, ctx, chains, NULL)) < seconds * 1e9 / 4)
			chains *= 2;
		chains = (uint64_t) ((double) chains * seconds * 1e9 / (double) ns);
	}
	chains = round_batch(chains);
	ns = run_batches(&r, dev, ctx, chains, NULL);
	res->chains = chains;
	res->loop_ns = (double) ns / (double) chains;
	res->dev_ns = -1;
	if (!loop_only) {
		run_batches(&r, dev, ctx, chains, &dns);
		res->dev_ns = (double) dns / (double) chains;
	}
	dev->teardown(ctx);
	ring_free(&r);
	return 0;
}

static void print_result(const char *name, const struct result *res)
{
	printf("  %-14s loop %7.2f M chains/s %7.2f ns/chain", name, 1e3 / res->loop_ns,
	       res->loop_ns);
	if (res->dev_ns >= 0)
		printf("   device side %7.2f M chains/s %6.2f ns/chain", 1e3 / res->dev_ns,
		       res->dev_ns);
	printf("   (%llu chains)\n", (unsigned long long) res->chains);
}

static int usage(void)
{
	fprintf(stderr, "usage: vioport-bench virtq [--shape one|blk|both] [--chains N] "
			"[--seconds S] [--warmup N] [--loop-only] [--device NAME|all]\n");
	fprintf(stderr, "devices:");
	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++)
		fprintf(stderr, " %s", devices[i]->name);
	fprintf(stderr, "\n");
	return 2;
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno == 0 && end != s && *end == '\0';
}

static int bench_virtq(int argc, char **argv)
{
	const char *shape_opt = "both", *dev_opt = "all";
	uint64_t chains = 0, warmup = 100000;
	double seconds = 1.0;
	bool loop_only = false;
	size_t ndev = sizeof(devices) / sizeof(devices[0]);

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--loop-only") == 0) {
			loop_only = true;
			continue;
		}
		if (v == NULL)
			return usage();
		i++;
		if (strcmp(a, "--shape") == 0)
			shape_opt = v;
		else if (strcmp(a, "--device") == 0)
			dev_opt = v;
		else if (strcmp(a, "--chains") == 0 && parse_u64(v, &chains) && chains > 0)
			continue;
		else if (strcmp(a, "--warmup") == 0 && parse_u64(v, &warmup))
			continue;
		else if (strcmp(a, "--seconds") == 0 && (seconds = strtod(v, NULL)) > 0)
			continue;
		else
			return usage();
	}
	if (strcmp(shape_opt, "one") != 0 && strcmp(shape_opt, "blk") != 0 &&
	    strcmp(shape_opt, "both") != 0)
		return usage();

	printf("virtq: split ring, %u entries, EVENT_IDX, batches of %u, notifications off\n",
	       VIO_BENCH_QSIZE, VIO_BENCH_BATCH);
	for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
		const struct vio_bench_shape *s = &shapes[si];
		struct result own = {0}, peer = {0};
		const struct vio_bench_device *peer_dev = NULL;

		if (strcmp(shape_opt, "both") != 0 && strcmp(shape_opt, s->name) != 0)
			continue;
		printf("shape %s (%s):\n", s->name, s->what);
		for (size_t d = 0; d < ndev; d++) {
			struct result res;

			if (strcmp(dev_opt, "all") != 0 && strcmp(dev_opt, devices[d]->name) != 0)
				continue;
			if (measure(devices[d], s, chains, seconds, warmup, loop_only, &res) < 0) {
				printf("  %-14s set-up failed\n", devices[d]->name);
				continue;
			}
			print_result(devices[d]->name, &res);
			if (d == 0) {
				own = res;
			} else {
				peer = res;
				peer_dev = devices[d];
			}
		}
		if (own.chains == 0)
			continue;
		if (peer_dev != NULL) {
			printf("  ratio vioport / %s, this run: loop %.2fx", peer_dev->name,
			       peer.loop_ns / own.loop_ns);
			if (own.dev_ns > 0 && peer.dev_ns > 0)
				printf(", device side %.2fx", peer.dev_ns / own.dev_ns);
			printf("\n");
		} else {
			double anchor = si == 0 ? ANCHOR_ONE_MCPS : ANCHOR_BLK_MCPS;

			printf(
			    "  ratio vioport / recorded anchor (libvhost-user %.0f M chains/s, not "
			    "measured here): loop %.2fx",
			    anchor, 1e3 / own.loop_ns / anchor);
			if (own.dev_ns > 0)
				printf(", device side %.2fx", 1e3 / own.dev_ns / anchor);
			printf("\n");
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "virtq") == 0)
		return bench_virtq(argc - 2, argv + 2);
	return usage();
}
